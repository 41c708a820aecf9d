/*
 * jobq_run_explain()'s JSON, built from the core's memory and (when there
 * is one) the store; see explain.c and the format in jobq.h.
 */
#ifndef JQ_EXPLAIN_H
#define JQ_EXPLAIN_H

#include "core.h"
#include "store.h"

/* *out: malloc'd JSON text. `st` may be NULL (no database). `info` is the
 * run as jobq_run_get() would report it. */
int jq_explain(char **out, jq_core *c, jq_store *st,
               const jobq_run_info *info, jobq_time_ms now);

#endif
