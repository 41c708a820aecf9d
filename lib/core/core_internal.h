/*
 * What the policy core's files share and nobody else needs: the helpers
 * that move a run from one state to another, announce the change to the
 * journal and publish its event. The core is split by what happens:
 *
 *   core.c         handles: life cycle, jobs, submit/cancel/report, config,
 *                  migrate to legacy, retention, run snapshots
 *   transitions.c  the helpers below
 *   cycle.c        one scheduling cycle: reconcile, head timeouts, admission
 *   restore.c      rebuilding state from the store and settling DEPLOYING
 *                  runs after a restart
 *   undo.c         every call is a transaction over this memory: the undo
 *                  log, savepoints, events held until the commit
 *
 * Every change to a run, job, list or lookup table is recorded in the undo
 * log first (jq_undo_run, jq_tx_push_back...); namespaces, queues and the
 * core's scalars are saved whole at each savepoint, so cycle.c's changes to
 * them need no recording.
 */
#ifndef JQ_CORE_INTERNAL_H
#define JQ_CORE_INTERNAL_H

#include "core.h"

/* The journal: announce durable changes to the store (a failure is
 * remembered and reported by the public call). */
void jq_journal_result(jq_core *c, int rc);
void jq_save_run(jq_core *c, const jq_run *run);
void jq_save_namespace(jq_core *c, const jq_namespace *ns);
void jq_save_job(jq_core *c, const jq_job *job);

/* Events: fill one for a run, and hand it to the journal and the host. */
void jq_event_for_run(jobq_event *ev, jobq_event_type type, jobq_time_ms now,
                      const jq_run *run);
void jq_publish(jq_core *c, const jobq_event *ev);
void jq_emit_simple(jq_core *c, jobq_event_type type, jobq_time_ms now,
                    const jq_run *run);

/* Run transitions shared by the entry points, the cycle and reopening. */
jq_queue *jq_queue_of(const jq_run *run);
void jq_reset_head_state(jq_queue *q);
/* Stale quota (SPEC 2.5): record a refusal of `run` back at (or still at)
 * the head of q: one more in its streak, the queue's backoff, the timer
 * (started at the first refusal, or kept from an earlier block when
 * was_blocked). A run that is not the head starts no streak. */
void jq_note_refusal(jq_core *c, jq_queue *q, const jq_run *run,
                     jobq_time_ms now, bool was_blocked, const char *msg);
void jq_dequeue(jq_core *c, jq_run *run);
void jq_release(jq_run *run);
/* Count the run's request as allocated in its namespace (jq_release's
 * inverse). */
void jq_allocate(jq_run *run);
void jq_end_run(jq_core *c, jq_run *run, jobq_time_ms now,
                jobq_run_state state, jq_reason reason, const char *detail);
void jq_end_deployed_run(jq_core *c, jq_run *run, jobq_time_ms now,
                         jobq_run_state state, jq_reason reason,
                         const char *detail);
void jq_mark_running(jq_core *c, jq_run *run, jobq_time_ms now);
bool jq_persist_before_deploy(jq_core *c);
int jq_call_deploy(jq_core *c, jq_run *run, char *msg, size_t cap);
/* The same for a run of the cycle's plan: its write-ahead commit already
 * recorded it for a rollback (cycle.c), so nothing is recorded here. */
int jq_call_planned_deploy(jq_core *c, jq_run *run, char *msg, size_t cap);
/* The two halves of a deploy call, for cycle.c, which calls the deployer
 * with the handle's lock released: the request for a run (its payload read
 * back from the store into *loaded, which the caller frees: needs the
 * lock), and the call itself (does not touch the core's state). */
int jq_deploy_request_for(jq_core *c, const jq_run *run,
                          jobq_deploy_request *req, void **loaded, char *msg,
                          size_t cap);
int jq_deploy_call(jq_core *c, const jobq_deploy_request *req, char *msg,
                   size_t cap);
void jq_deploy_legacy(jq_core *c, jq_run *run, jobq_time_ms now);

/* A poll answer taken before the cycle (cycle.c, jq_core_poll_running). */
typedef struct jq_polled {
    jobq_run_id id;
    int rc;
    jobq_poll_status status;
    char *msg; /* NULL when empty */
} jq_polled;
void jq_core_drop_polled(jq_core *c);

/* Memory. */
char *jq_copy_string(const char *s);
void jq_free_run(jq_run *run);

/* Reopening (restore.c): settle one run found DEPLOYING after a restart
 * through the deployer's poll (the cycle does it for runs restored while no
 * poll method was available yet). */
void jq_settle_deploying_run(jq_core *c, jq_run *run, jobq_time_ms now);

#endif
