/*
 * Run transitions shared by the policy core's files: the journal calls,
 * event publication, taking a run out of its queue, starting and ending a
 * deployed run, and the write-ahead deploy. See core_internal.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "quantity.h"

/* ---------------------------------------------------------------- journal */

void jq_journal_result(jq_core *c, int rc)
{
    if (rc != 0 && c->journal_status == 0)
        c->journal_status = rc < 0 ? rc : JOBQ_EIO;
}

void jq_save_run(jq_core *c, const jq_run *run)
{
    if (c->journal.run_saved)
        jq_journal_result(c, c->journal.run_saved(c->journal.ctx, run));
}

void jq_save_namespace(jq_core *c, const jq_namespace *ns)
{
    if (c->journal.ns_saved)
        jq_journal_result(c, c->journal.ns_saved(c->journal.ctx, ns));
}

void jq_save_job(jq_core *c, const jq_job *job)
{
    if (c->journal.job_saved)
        jq_journal_result(c, c->journal.job_saved(c->journal.ctx, job));
}

/* ----------------------------------------------------------------- events */

void jq_event_for_run(jobq_event *ev, jobq_event_type type,
                          jobq_time_ms now, const jq_run *run)
{
    memset(ev, 0, sizeof *ev);
    ev->version = 1;
    ev->type = type;
    ev->time = now;
    ev->run = run->id;
    ev->run_name = run->name;
    ev->job = run->job->name;
    ev->domain = run->job->domain;
    ev->ns = run->ns->name;
    ev->priority = (jobq_priority)run->priority;
    ev->flow = (jobq_flow)run->flow;
    ev->reason = "";
    ev->detail = "";
}

/* Journal the event now; deliver it (metrics, the host's sink) when the
 * transaction commits (undo.c). ev->reason must be a static string. */
void jq_publish(jq_core *c, const jobq_event *ev)
{
    if (c->journal.event)
        jq_journal_result(c, c->journal.event(c->journal.ctx, ev));
    jq_txn_event(c, ev);
}

void jq_emit_simple(jq_core *c, jobq_event_type type, jobq_time_ms now,
                        const jq_run *run)
{
    jobq_event ev;
    jq_event_for_run(&ev, type, now, run);
    if (run->reason != JQ_REASON_NONE)
        ev.reason = jq_reason_name((jq_reason)run->reason);
    if (run->detail && (type == JOBQ_EVENT_CANCELLED ||
                        type == JOBQ_EVENT_FAILED ||
                        type == JOBQ_EVENT_FINISHED))
        ev.detail = run->detail;
    jq_publish(c, &ev);
}

/* The refusal text is not in a savepoint's copy of its namespace (undo.c,
 * jq_txn_mark_now): record it here, before it changes. */
static void set_refusal_text(jq_core *c, jq_queue *q, const char *text)
{
    jq_undo_bytes(c, q->head_refusal, sizeof q->head_refusal);
    snprintf(q->head_refusal, sizeof q->head_refusal, "%s", text);
}

/* ------------------------------------------------------- run transitions */

jq_queue *jq_queue_of(const jq_run *run)
{
    return &run->ns->queue[run->priority];
}

void jq_reset_head_state(jq_queue *q)
{
    q->head_blocked = false;
    q->head_blocked_since = 0;
    q->head_retry_at = 0;
}

bool jq_head_refused(const jq_queue *q)
{
    return q->runs.first && q->head_refusals > 0 &&
           q->runs.first->id == q->head_refused_run;
}

bool jq_head_timer(const jq_queue *q, jobq_time_ms *since)
{
    /* A refused head's timer started no later than any block since (it
     * started at the first refusal, or at the block before it). */
    if (jq_head_refused(q)) {
        *since = q->head_refused_since;
        return true;
    }
    if (q->runs.first && q->head_blocked) {
        *since = q->head_blocked_since;
        return true;
    }
    return false;
}

void jq_note_refusal(jq_core *c, jq_queue *q, const jq_run *run,
                     jobq_time_ms now, bool was_blocked, const char *msg)
{
    if (q->runs.first != run)
        return;
    if (jq_head_refused(q)) {
        if (q->head_refusals < UINT32_MAX)
            q->head_refusals++;
    } else {
        q->head_refused_run = run->id;
        q->head_refusals = 1;
        q->head_refused_since = was_blocked ? q->head_blocked_since : now;
    }
    jobq_time_ms delay = JQ_REFUSAL_BACKOFF_FIRST_MS;
    for (uint32_t i = 1;
         i < q->head_refusals && delay < JQ_REFUSAL_BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > JQ_REFUSAL_BACKOFF_MAX_MS)
        delay = JQ_REFUSAL_BACKOFF_MAX_MS;
    q->head_retry_at = now + delay;
    set_refusal_text(c, q, msg && *msg ? msg : "exceeded quota");
    q->ineligible_cycle = c->cycle;
}

/* A run that ends takes its refusal streak with it. */
static void jq_end_streak(jq_core *c, jq_queue *q, const jq_run *run)
{
    if (q->head_refused_run != run->id)
        return;
    q->head_refusals = 0;
    q->head_refused_run = 0;
    q->head_refused_since = 0;
    set_refusal_text(c, q, "");
}

/* Take a queued run out of its queue. If it was the head, the next run
 * becomes head with a fresh state (its timer starts only when it is itself
 * found blocked). */
void jq_dequeue(jq_core *c, jq_run *run)
{
    jq_queue *q = jq_queue_of(run);
    bool was_head = q->runs.first == run;
    jq_tx_remove(c, &q->runs, run);
    c->queued--;
    if (was_head)
        jq_reset_head_state(q);
}

/* The caller recorded the run (jq_undo_run) before changing it. */
static void jq_set_detail(jq_core *c, jq_run *run, const char *detail)
{
    jq_defer_free(c, run->detail);
    run->detail = (detail && *detail) ? jq_copy_string(detail) : NULL;
    jq_undo_alloc(c, run->detail);
}

/* Sums of requests (what a namespace has allocated, what this cycle
 * reserved) clamp instead of overflowing: legacy runs are never checked
 * against a quota, so nothing else bounds them. */
static int64_t jq_add_clamped(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

void jq_release(jq_run *run)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        run->ns->allocated.amount[d] = jq_add_clamped(
            run->ns->allocated.amount[d], -run->request.amount[d]);
}

void jq_allocate(jq_run *run)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        run->ns->allocated.amount[d] = jq_add_clamped(
            run->ns->allocated.amount[d], run->request.amount[d]);
}

/* Move a run that is in no list (just dequeued, or taken off the running
 * list) into a terminal state and announce it. */
void jq_end_run(jq_core *c, jq_run *run, jobq_time_ms now,
                    jobq_run_state state, jq_reason reason,
                    const char *detail)
{
    jq_undo_run(c, run);
    run->state = (uint8_t)state;
    run->reason = (uint8_t)reason;
    run->ended_at = now;
    jq_set_detail(c, run, detail);
    jq_end_streak(c, jq_queue_of(run), run);
    jq_tx_push_back(c, &c->ended, run);
    jq_save_run(c, run);
    jobq_event_type type = state == JOBQ_RUN_FINISHED ? JOBQ_EVENT_FINISHED
                           : state == JOBQ_RUN_FAILED ? JOBQ_EVENT_FAILED
                                                      : JOBQ_EVENT_CANCELLED;
    jq_emit_simple(c, type, now, run);
}

void jq_end_deployed_run(jq_core *c, jq_run *run, jobq_time_ms now,
                             jobq_run_state state, jq_reason reason,
                             const char *detail)
{
    jq_tx_remove(c, &c->running, run);
    jq_release(run);
    jq_end_run(c, run, now, state, reason, detail);
}

void jq_mark_running(jq_core *c, jq_run *run, jobq_time_ms now)
{
    jq_undo_run(c, run);
    jq_undo_ns(c, run->ns);
    run->state = JOBQ_RUN_RUNNING;
    run->deployed_at = now;
    jq_tx_push_back(c, &c->running, run);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        run->ns->allocated.amount[d] = jq_add_clamped(
            run->ns->allocated.amount[d], run->request.amount[d]);
        if (run->ns->probed_cycle == c->cycle)
            run->ns->reserved.amount[d] = jq_add_clamped(
                run->ns->reserved.amount[d], run->request.amount[d]);
    }
    jq_save_run(c, run);
    jobq_event ev;
    jq_event_for_run(&ev, JOBQ_EVENT_DEPLOYED, now, run);
    ev.wait_ms = now - run->submitted_at;
    jq_publish(c, &ev);
}

/* Write-ahead: make the DEPLOYING state durable before the deployer is
 * called, so that a crash in between is reconciled on reopen instead of
 * deploying twice. False if the journal failed (nothing is deployed). */
bool jq_persist_before_deploy(jq_core *c)
{
    if (c->journal_status == 0 && c->journal.barrier)
        jq_journal_result(c, c->journal.barrier(c->journal.ctx));
    if (c->journal_status != 0)
        return false;
    /* A commit point, with or without a database: what came before is
     * kept whatever happens to the rest of the call (undo.c). */
    jq_txn_commit(c);
    jq_txn_mark_now(c);
    return c->journal_status == 0;
}

/* Call the deployer for a run already persisted as DEPLOYING. Returns 0,
 * JOBQ_DEPLOY_QUOTA_REJECTED or a negative error, message in msg. */
int jq_call_deploy(jq_core *c, jq_run *run, char *msg, size_t cap)
{
    msg[0] = '\0';
    if (!c->has_deployer || !c->deployer.deploy)
        return 0;
    /* After the write-ahead commit: a rollback from here on puts the run
     * back as committed, then where a reopen would (undo.c). */
    jq_undo_run(c, run);
    jq_undo_deploying(c, run);
    return jq_call_planned_deploy(c, run, msg, cap);
}

int jq_deploy_request_for(jq_core *c, const jq_run *run,
                          jobq_deploy_request *req, void **loaded, char *msg,
                          size_t cap)
{
    const void *payload = run->job->payload;
    size_t payload_len = run->job->payload_len;
    *loaded = NULL;
    if (!payload && payload_len > 0 && c->journal.load_payload) {
        if (c->journal.load_payload(c->journal.ctx, run->job, loaded,
                                    &payload_len) != 0) {
            *loaded = NULL;
            snprintf(msg, cap, "the job's payload could not be read from "
                     "the database");
            return JOBQ_ERROR;
        }
        payload = *loaded;
    }
    *req = (jobq_deploy_request){
        .version = 1,
        .run_id = run->id,
        .run_name = run->name,
        .job = run->job->name,
        .domain = run->job->domain,
        .ns = run->ns->name,
        .priority = (jobq_priority)run->priority,
        .flow = (jobq_flow)run->flow,
        .request = run->request,
        .payload = payload,
        .payload_len = payload_len,
        .attempt = run->deploy_attempts,
    };
    return 0;
}

int jq_deploy_call(jq_core *c, const jobq_deploy_request *req, char *msg,
                   size_t cap)
{
    msg[0] = '\0';
    int rc = c->deployer.deploy(c->deployer.ctx, req, msg, cap);
    msg[cap - 1] = '\0';
    if (rc > 0 && rc != JOBQ_DEPLOY_QUOTA_REJECTED &&
        rc != JOBQ_DEPLOY_REFUSED)
        rc = JOBQ_ERROR;
    return rc;
}

int jq_call_planned_deploy(jq_core *c, jq_run *run, char *msg, size_t cap)
{
    msg[0] = '\0';
    if (!c->has_deployer || !c->deployer.deploy)
        return 0;
    jobq_deploy_request req;
    void *loaded;
    int rc = jq_deploy_request_for(c, run, &req, &loaded, msg, cap);
    if (rc == 0)
        rc = jq_deploy_call(c, &req, msg, cap);
    free(loaded);
    return rc;
}

/* The legacy path: deploy at once, no queue, no resource check. A refusal
 * fails the run, as the direct (pre-orchestrator) flow does. */
void jq_deploy_legacy(jq_core *c, jq_run *run, jobq_time_ms now)
{
    char msg[256];
    jq_undo_run(c, run);
    run->flow = JOBQ_FLOW_LEGACY;
    run->state = JOBQ_RUN_DEPLOYING;
    run->deploy_attempts++;
    jq_save_run(c, run);
    if (!jq_persist_before_deploy(c)) {
        jq_end_run(c, run, now, JOBQ_RUN_FAILED, JQ_REASON_DEPLOY_ERROR,
                "not deployed: its state could not be persisted");
        return;
    }
    int rc = jq_call_deploy(c, run, msg, sizeof msg);
    if (rc == 0) {
        jq_mark_running(c, run, now);
        return;
    }
    char detail[400];
    jq_reason reason = rc == JOBQ_DEPLOY_QUOTA_REJECTED
                           ? JQ_REASON_QUOTA_REJECTED
                           : JQ_REASON_DEPLOY_ERROR;
    snprintf(detail, sizeof detail, "legacy deployment refused: %s",
             msg[0] ? msg
                    : (reason == JQ_REASON_QUOTA_REJECTED ? "exceeded quota"
                                                          : "deploy failed"));
    jq_end_run(c, run, now, JOBQ_RUN_FAILED, reason, detail);
}
