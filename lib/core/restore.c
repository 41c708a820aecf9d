/*
 * Reopening: the store rebuilds the core from the database through these
 * functions, and runs that were DEPLOYING when the process died are settled
 * through the deployer before any new admission.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "quantity.h"

/* ------------------------------------------------------------ reopening */

int jq_core_restore_run(jq_core *c, jq_run *run)
{
    if (jq_idmap_put(&c->runs, run) != 0)
        return JOBQ_ENOMEM;
    if (run->id >= c->next_id)
        c->next_id = run->id + 1;
    jq_core_mark_live(c, run->ns->index);
    switch ((jobq_run_state)run->state) {
    case JOBQ_RUN_QUEUED: {
        jq_list *list = &jq_queue_of(run)->runs;
        if (!list->last || list->last->id < run->id)
            jq_list_push_back(list, run);
        else
            jq_list_insert_by_seq(list, run);
        c->queued++;
        break;
    }
    case JOBQ_RUN_DEPLOYING:
    case JOBQ_RUN_RUNNING:
        jq_list_push_back(&c->running, run);
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            run->ns->allocated.amount[d] += run->request.amount[d];
        break;
    default:
        jq_list_push_back(&c->ended, run);
        break;
    }
    return 0;
}

/* A DEPLOYING run the deployer has no record of: it was never launched.
 * A queued run goes back to its original place in its queue; a legacy run
 * is deployed again (the legacy path has no queue). `refusal`: the
 * cluster refused it on quota (it counts in its refusal streak, SPEC 2.5),
 * or NULL. */
static void requeue_undeployed(jq_core *c, jq_run *run, jobq_time_ms now,
                               const char *reason, const char *refusal)
{
    jq_undo_run(c, run);
    jq_undo_ns(c, run->ns);
    jq_tx_remove(c, &c->running, run);
    jq_release(run);
    run->state = JOBQ_RUN_QUEUED;
    if (run->flow == JOBQ_FLOW_LEGACY) {
        jq_deploy_legacy(c, run, now);
        return;
    }
    jq_queue *q = jq_queue_of(run);
    jq_tx_insert_by_seq(c, &q->runs, run);
    c->queued++;
    if (q->runs.first == run)
        jq_reset_head_state(q);
    if (refusal)
        jq_note_refusal(c, q, run, now, false, refusal);
    jq_save_run(c, run);
    jobq_event ev;
    jq_event_for_run(&ev, JOBQ_EVENT_RESCHEDULED, now, run);
    ev.reason = reason;
    ev.detail = "found deploying after a restart; the deployer has no "
                "record of it";
    jq_publish(c, &ev);
}

/* The deploy happened: record it as the normal path would have. */
static void settle_deployed(jq_core *c, jq_run *run, jobq_time_ms now)
{
    jq_undo_run(c, run);
    run->state = JOBQ_RUN_RUNNING;
    run->deployed_at = now;
    jq_save_run(c, run);
    jobq_event ev;
    jq_event_for_run(&ev, JOBQ_EVENT_DEPLOYED, now, run);
    ev.wait_ms = now - run->submitted_at;
    jq_publish(c, &ev);
}

void jq_settle_deploying_run(jq_core *c, jq_run *run, jobq_time_ms now)
{
    if (!c->has_deployer)
        return;
    jobq_poll_status status = JOBQ_POLL_RUNNING;
    char msg[256] = "";
    if (c->deployer.poll) {
        int rc = c->deployer.poll(c->deployer.ctx, run->id, &status, msg,
                                  sizeof msg);
        msg[sizeof msg - 1] = '\0';
        if (rc < 0)
            return; /* unknown: ask again next cycle */
    }
    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return; /* out of memory: the call fails, nothing half-done */
    switch (status) {
    case JOBQ_POLL_GONE:
        requeue_undeployed(c, run, now, "recovered", NULL);
        break;
    case JOBQ_POLL_QUOTA_REJECTED:
        if (run->flow != JOBQ_FLOW_LEGACY) {
            requeue_undeployed(c, run, now,
                               jq_reason_name(JQ_REASON_STALE_QUOTA),
                               msg[0] ? msg : "exceeded quota");
            break;
        }
        settle_deployed(c, run, now);
        jq_end_deployed_run(c, run, now, JOBQ_RUN_FAILED,
                         JQ_REASON_QUOTA_REJECTED,
                         msg[0] ? msg : "exceeded quota");
        break;
    case JOBQ_POLL_FINISHED:
    case JOBQ_POLL_FAILED:
        settle_deployed(c, run, now);
        jq_end_deployed_run(c, run, now,
                         status == JOBQ_POLL_FINISHED ? JOBQ_RUN_FINISHED
                                                      : JOBQ_RUN_FAILED,
                         status == JOBQ_POLL_FINISHED ? JQ_REASON_NONE
                                                      : JQ_REASON_RUN_FAILED,
                         msg[0] ? msg
                         : status == JOBQ_POLL_FINISHED
                             ? ""
                             : "the deployment failed");
        break;
    default:
        settle_deployed(c, run, now);
        break;
    }
}

void jq_core_settle_deploying(jq_core *c, jobq_time_ms now)
{
    jq_run *run = c->running.first;
    while (run) {
        jq_run *next = run->next;
        if (run->state == JOBQ_RUN_DEPLOYING)
            jq_settle_deploying_run(c, run, now);
        run = next;
    }
}

/* After a commit, outside any transaction: not recorded. */
void jq_core_evict_ended(jq_core *c)
{
    while (c->ended.first) {
        jq_run *run = c->ended.first;
        jq_list_remove(&c->ended, run);
        jq_idmap_remove(&c->runs, run->id);
        jq_free_run(run);
    }
}
