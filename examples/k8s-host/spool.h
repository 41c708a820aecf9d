/*
 * The spool directory: how runs are requested from outside the host. A
 * client drops a JSON file into the directory (write it under another
 * name, then rename it to *.json, so it is never read half-written):
 *
 *   {"job": "nightly-etl", "run_name": "etl-2026-11-29", "priority": "high"}
 *       submits a run ("run_name" and "priority" are optional);
 *   {"cancel": 42, "detail": "superseded"}
 *       cancels run 42 (queued or running).
 *
 * Files are taken in name order; a processed file is deleted, a refused
 * one is renamed to *.rejected with the reason in the log.
 */
#ifndef K8S_SPOOL_H
#define K8S_SPOOL_H

#include <stdbool.h>

#include "jobq/jobq.h"

/* Process every request in `dir`. With `durable` (a database is open) the
 * file name is the run's idempotency key, so a file submitted just before a
 * crash is not submitted twice. Returns how many requests were taken. */
int spool_process(jobq_scheduler *s, const char *dir, bool durable);

/* Submit one run of `job` now (the --submit flag). 0 or a negative status;
 * the reason is logged. */
int submit_run(jobq_scheduler *s, const char *job, const char *run_name,
               const char *key, int priority);

#endif
