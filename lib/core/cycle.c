/*
 * One scheduling cycle (SPEC section 2), jq_core_tick(): reconcile the
 * deployed runs (their poll answers taken just before, without the lock:
 * jq_core_poll_running), apply head timeouts, then admit queue heads
 * namespace by namespace, the priority queue chosen by smooth weighted
 * round robin.
 * Admission writes ahead once per cycle, not once per deployed run, and
 * calls the deployer with the handle's lock released: see "Write-ahead per
 * cycle" and "Deploying outside the lock" below.
 * Cost per cycle: the deployed runs, the queue heads and the runs it
 * deploys (twice: a planning pass, then the real one), whatever the depth
 * of the queues.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "quantity.h"

/* ---------------------------------------------------------- 1. reconcile */

/* An asynchronous quota rejection: the run returns to its original place at
 * the head of its queue and that queue sits out the rest of the cycle. It
 * counts in the run's refusal streak like a synchronous one (SPEC 2.5): the
 * deploy call had succeeded, but the cluster refused the run after all, so
 * the deployment was not a successful one and the streak goes on. */
static void jq_reschedule_deployed(jq_core *c, jq_run *run, jobq_time_ms now,
                                   const char *msg)
{
    jq_undo_run(c, run);
    jq_undo_ns(c, run->ns);
    jq_tx_remove(c, &c->running, run);
    jq_release(run);
    jq_queue *q = jq_queue_of(run);
    jq_tx_insert_by_seq(c, &q->runs, run);
    c->queued++;
    if (q->runs.first == run)
        jq_reset_head_state(q);
    q->ineligible_cycle = c->cycle;
    jq_note_refusal(c, q, run, now, false, msg[0] ? msg : "exceeded quota");
    run->state = JOBQ_RUN_QUEUED;
    run->deployed_at = -1;
    jq_save_run(c, run);
    jobq_event ev;
    jq_event_for_run(&ev, JOBQ_EVENT_RESCHEDULED, now, run);
    ev.reason = jq_reason_name(JQ_REASON_STALE_QUOTA);
    ev.detail = msg;
    if (jq_head_refused(q) && q->runs.first == run)
        ev.retry = q->head_refusals;
    jq_publish(c, &ev);
}

/* Poll outside the lock. reconcile needs the deployer's word on every
 * deployed run; asking it (an API call per run, for some hosts) is done
 * before the cycle changes anything, with the lock released, the answers
 * kept in c->polled in running-list order. While the lock is released a
 * deployed run may end (cancel, report): its answer is not used; no run
 * is deployed meanwhile (legacy submits wait for the cycle). A run
 * deployed later in the cycle but before reconcile (a live request's
 * legacy deploy) has no answer: it counts as running and is asked from
 * the next cycle on. So every poll of a cycle comes before every deploy
 * of it (a host may take one listing of its cluster for all of a cycle's
 * polls, as jobq-k8s-host does). */
void jq_core_drop_polled(jq_core *c)
{
    for (size_t i = 0; i < c->polled_len; i++)
        free(c->polled[i].msg);
    c->polled_len = 0;
    c->polled_taken = false;
}

void jq_core_poll_running(jq_core *c)
{
    jq_core_drop_polled(c);
    if (!c->has_deployer || !c->deployer.poll || !c->window.unlock ||
        !c->running.first)
        return;
    size_t n = 0;
    for (jq_run *run = c->running.first; run; run = run->next)
        n += run->state == JOBQ_RUN_RUNNING;
    if (n == 0)
        return;
    if (n > c->polled_cap) {
        jq_polled *p = realloc(c->polled, n * sizeof *p);
        if (!p)
            return; /* reconcile polls them itself */
        c->polled = p;
        c->polled_cap = n;
    }
    for (jq_run *run = c->running.first; run; run = run->next)
        if (run->state == JOBQ_RUN_RUNNING)
            c->polled[c->polled_len++] = (jq_polled){.id = run->id};
    c->polled_taken = true;
    c->window.unlock(c->window.ctx);
    for (size_t i = 0; i < c->polled_len; i++) {
        jq_polled *p = &c->polled[i];
        char msg[256] = "";
        p->status = JOBQ_POLL_RUNNING;
        p->rc = c->deployer.poll(c->deployer.ctx, p->id, &p->status, msg,
                                 sizeof msg);
        msg[sizeof msg - 1] = '\0';
        p->msg = msg[0] ? jq_copy_string(msg) : NULL;
        if (msg[0] && !p->msg) /* no room for the message: asked next cycle */
            p->id = 0;
    }
    c->window.relock(c->window.ctx);
}

/* The answer taken before the cycle for `run`, if any (*cursor walks
 * c->polled along the running list). */
static const jq_polled *polled_answer(jq_core *c, const jq_run *run,
                                      size_t *cursor)
{
    for (size_t i = *cursor; i < c->polled_len; i++)
        if (c->polled[i].id == run->id) {
            *cursor = i + 1;
            return &c->polled[i];
        }
    return NULL;
}

static void reconcile(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    if (!c->has_deployer || !c->deployer.poll)
        return;
    jq_run *run = c->running.first;
    size_t cursor = 0;
    while (run) {
        jq_run *next = run->next;
        if (run->state == JOBQ_RUN_DEPLOYING) { /* restored, not settled */
            jq_settle_deploying_run(c, run, now);
            run = next;
            continue;
        }
        jobq_poll_status status = JOBQ_POLL_RUNNING;
        char msg[256] = "";
        const jq_polled *answer = polled_answer(c, run, &cursor);
        int rc;
        if (!answer && c->polled_taken) {
            run = next; /* deployed since the polls: asked next cycle */
            continue;
        } else if (answer) {
            rc = answer->rc;
            status = answer->status;
            snprintf(msg, sizeof msg, "%s", answer->msg ? answer->msg : "");
        } else {
            rc = c->deployer.poll(c->deployer.ctx, run->id, &status, msg,
                                  sizeof msg);
            msg[sizeof msg - 1] = '\0';
        }
        if (rc < 0)
            status = JOBQ_POLL_RUNNING; /* unknown: ask again next cycle */
        if (status != JOBQ_POLL_RUNNING &&
            !jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
            return; /* out of memory: the cycle fails, nothing half-done */
        switch (status) {
        case JOBQ_POLL_FINISHED:
            jq_end_deployed_run(c, run, now, JOBQ_RUN_FINISHED, JQ_REASON_NONE,
                             msg);
            st->finished++;
            break;
        case JOBQ_POLL_FAILED:
            jq_end_deployed_run(c, run, now, JOBQ_RUN_FAILED,
                                JQ_REASON_RUN_FAILED,
                                msg[0] ? msg : "the deployment failed");
            st->failed++;
            break;
        case JOBQ_POLL_GONE:
            jq_end_deployed_run(
                c, run, now, JOBQ_RUN_FAILED, JQ_REASON_VANISHED,
                msg[0] ? msg : "its deployment no longer exists");
            st->failed++;
            break;
        case JOBQ_POLL_QUOTA_REJECTED:
            if (run->flow == JOBQ_FLOW_LEGACY) {
                jq_end_deployed_run(c, run, now, JOBQ_RUN_FAILED,
                                 JQ_REASON_QUOTA_REJECTED,
                                 msg[0] ? msg : "exceeded quota");
                st->failed++;
            } else {
                jq_reschedule_deployed(c, run, now, msg);
                st->rescheduled++;
            }
            break;
        default:
            break;
        }
        run = next;
    }
}

/* ------------------------------------------------------ 2. head timeouts */

/* An amount for a sentence: Kubernetes notation, negative ones too (a
 * namespace overcommitted by legacy runs has negative room). */
static void format_amount(char *buf, size_t cap, int64_t amount,
                          jobq_resource_kind kind)
{
    if (amount >= 0 && amount < JOBQ_UNLIMITED)
        jq_quantity_format(buf, cap, amount, kind);
    else if (amount < 0 && amount > -JOBQ_UNLIMITED) {
        buf[0] = '-';
        jq_quantity_format(buf + 1, cap - 1, -amount, kind);
    } else
        snprintf(buf, cap, "%" PRId64, amount);
}

static void head_timeout_detail(char *buf, size_t cap, const jq_core *c,
                                const jq_queue *q, const jq_run *head,
                                jobq_time_ms since, jobq_time_ms now)
{
    jobq_resource_kind kind = (jobq_resource_kind)q->head_resource;
    char requested[32], available[32];
    format_amount(requested, sizeof requested, q->head_requested, kind);
    format_amount(available, sizeof available, q->head_available, kind);
    snprintf(buf, cap,
             "blocked at the head of the %s queue of namespace %s on %s "
             "(requested %s, available %s) for %" PRId64 " s; head timeout "
             "%" PRId64 " s, %u of %" PRId64 " retries used",
             head->priority == JOBQ_PRIORITY_HIGH ? "high" : "normal",
             head->ns->name, jobq_resource_name(kind), requested, available,
             (now - since) / 1000 +
                 (int64_t)head->retries_used * c->config.head_timeout_s,
             c->config.head_timeout_s, (unsigned)head->retries_used,
             c->config.head_retry_count);
}

/* SPEC 2.5: a head the cluster refused is cancelled with the cluster's last
 * refusal quoted; if it is also short of a resource now, that comes first. */
static void refused_head_detail(char *buf, size_t cap, const jq_core *c,
                                const jq_queue *q, const jq_run *head,
                                jobq_time_ms now)
{
    jobq_time_ms since = q->head_refused_since;
    if (q->head_blocked) {
        char blocked[400];
        head_timeout_detail(blocked, sizeof blocked, c, q, head, since, now);
        snprintf(buf, cap, "%s; refused by the cluster %u times in a row, "
                 "last: %s", blocked, (unsigned)q->head_refusals,
                 q->head_refusal);
    } else
        snprintf(buf, cap,
                 "refused by the cluster %u times in a row at the head of "
                 "the %s queue of namespace %s, last: %s; waited %" PRId64
                 " s; head timeout %" PRId64 " s, %u of %" PRId64
                 " retries used",
                 (unsigned)q->head_refusals,
                 head->priority == JOBQ_PRIORITY_HIGH ? "high" : "normal",
                 head->ns->name, q->head_refusal,
                 (now - since) / 1000 +
                     (int64_t)head->retries_used * c->config.head_timeout_s,
                 c->config.head_timeout_s, (unsigned)head->retries_used,
                 c->config.head_retry_count);
}

/* Step 2 for one queue. A head counts as blocked when it was found not to
 * fit or when the cluster refused it (SPEC 2.5; jq_head_timer). A retry
 * restarts the timer and nothing else, as in step 2: a refused head keeps
 * its streak and its backoff, so its next attempt is still at
 * head_retry_at, and a later refusal backs off further. */
static void expire_head(jq_core *c, jq_queue *q, jobq_time_ms now,
                        jobq_tick_stats *st)
{
    jq_run *head = q->runs.first;
    jobq_time_ms since;
    if (!head || !jq_head_timer(q, &since))
        return;
    if (now - since < c->config.head_timeout_s * 1000)
        return;
    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return; /* out of memory: the cycle fails, nothing half-done */
    bool refused = jq_head_refused(q);
    if (head->retries_used < c->config.head_retry_count) {
        jq_undo_run(c, head);
        head->retries_used++;
        q->head_blocked_since = now;
        if (refused)
            q->head_refused_since = now;
        jq_save_run(c, head);
        jobq_event ev;
        jq_event_for_run(&ev, JOBQ_EVENT_HEAD_TIMEOUT_RETRY, now, head);
        ev.retry = head->retries_used;
        if (q->head_blocked) {
            ev.resource = (jobq_resource_kind)q->head_resource;
            ev.requested = q->head_requested;
            ev.available = q->head_available;
        } else {
            ev.reason = jq_reason_name(JQ_REASON_STALE_QUOTA);
            ev.detail = q->head_refusal;
        }
        jq_publish(c, &ev);
        st->timeouts_retried++;
        return;
    }
    char detail[800];
    if (refused)
        refused_head_detail(detail, sizeof detail, c, q, head, now);
    else
        head_timeout_detail(detail, sizeof detail, c, q, head, since, now);
    jq_dequeue(c, head);
    jq_end_run(c, head, now, JOBQ_RUN_CANCELLED, JQ_REASON_HEAD_TIMEOUT,
               detail);
    st->timeouts_cancelled++;
}

/* The loops of a cycle visit the live namespaces only (c->ns_live): one
 * at rest has nothing queued, so nothing to expire, admit or plan. */
#define FOR_LIVE(c, i)                                                   \
    for (size_t i = jq_core_next_live(c, 0); i < (c)->ns_count;           \
         i = jq_core_next_live(c, i + 1))

static void expire_heads(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    FOR_LIVE(c, i)
        for (int p = 0; p < JQ_PRIORITIES; p++)
            expire_head(c, &c->ns_order[i]->queue[p], now, st);
}

/* ----------------------------------------------------------- 3. admission */

static void read_quota(jq_core *c, jq_namespace *ns)
{
    if (ns->probed_cycle == c->cycle)
        return;
    ns->probed_cycle = c->cycle;
    memset(&ns->reserved, 0, sizeof ns->reserved);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        ns->hard.amount[d] = JOBQ_UNLIMITED;
        ns->used.amount[d] = 0;
    }
    ns->probe_status = 0;
    if (c->has_probe && c->probe.read_quota)
        ns->probe_status = c->probe.read_quota(c->probe.ctx, ns->name,
                                               &ns->hard, &ns->used);
}

static int64_t available_amount(const jq_namespace *ns, int d)
{
    int64_t hard = ns->hard.amount[d];
    if (hard == JOBQ_UNLIMITED)
        return JOBQ_UNLIMITED;
    /* Saturating: a probe may report used above hard after a quota cut. */
    int64_t avail;
    if (__builtin_sub_overflow(hard, ns->used.amount[d], &avail) ||
        __builtin_sub_overflow(avail, ns->reserved.amount[d], &avail))
        avail = INT64_MIN;
    return avail;
}

/* The first dimension, in the order cpu, memory, pods, storage, in which
 * the run does not fit; -1 if it fits. */
static int first_shortfall(const jq_namespace *ns, const jq_run *run,
                           int64_t *available)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        int64_t avail = available_amount(ns, d);
        if (run->request.amount[d] > avail) {
            *available = avail;
            return d;
        }
    }
    return -1;
}

static void mark_blocked(jq_core *c, jq_queue *q, jq_run *head, int resource,
                         int64_t available, jobq_time_ms now,
                         jobq_tick_stats *st)
{
    st->blocked++;
    bool same = q->head_blocked && q->head_resource == resource;
    if (!q->head_blocked)
        q->head_blocked_since = now;
    q->head_blocked = true;
    q->head_resource = (uint8_t)resource;
    q->head_requested = head->request.amount[resource];
    q->head_available = available;
    if (same)
        return;
    jobq_event ev;
    jq_event_for_run(&ev, JOBQ_EVENT_BLOCKED, now, head);
    ev.resource = (jobq_resource_kind)resource;
    ev.requested = q->head_requested;
    ev.available = available;
    jq_publish(c, &ev);
}

static jobq_time_ms backoff_ms(unsigned attempt)
{
    jobq_time_ms delay = JQ_DEPLOY_BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < attempt && delay < JQ_DEPLOY_BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay < JQ_DEPLOY_BACKOFF_MAX_MS ? delay : JQ_DEPLOY_BACKOFF_MAX_MS;
}

/*
 * Write-ahead per cycle. SPEC 2.4 deploys one head at a time, each after
 * its DEPLOYING record is durable: one commit (one fsync) per deployed run.
 * Instead, admission runs in rounds of three steps:
 *
 *   1. Plan: run the admission loop below as if every deploy call
 *      succeeded, with the journal switched off, and note the heads it
 *      deploys, in order; then roll memory back to the savepoint taken
 *      before it (undo.c), keeping only the probe readings (a probe is
 *      asked once per namespace and cycle, plan or not).
 *   2. Write ahead: mark every planned run DEPLOYING (memory and journal)
 *      and commit once. From here on a rollback puts each of them where a
 *      reopen would (undo.c, settle_later): the commit precedes every
 *      deploy, as before.
 *   3. Execute: (a) call the deployer for the planned runs in plan order,
 *      up to the first refusal or failure, noting the answers; then (b)
 *      run the same admission loop for real, from the same state, applying
 *      those answers. The loop is deterministic, so while every call
 *      succeeds it picks exactly the planned heads in the planned order,
 *      with the same events, WRR charges and turn as one-at-a-time
 *      deployment. At the first refused or failed deployment (stale quota,
 *      any deploy error) the failure is handled exactly as SPEC 2.5 says,
 *      the rest of the plan is void, and a new round plans again from
 *      there: the runs planned after the refused one are still in place in
 *      their queues (they were never taken out: the real loop had not come
 *      to them), WRR, turn and head state are what the real loop made them
 *      up to and including the refused pick.
 *
 * The void part of a plan is rewritten (QUEUED, its attempt not counted)
 * in the next commit: the next round's write-ahead commit, or the cycle's
 * own. A crash before that commit leaves those runs DEPLOYING on disk,
 * which reopening already settles (restore.c): the deployer has no record
 * of them, so they go back to their place in their queues ("rescheduled",
 * reason "recovered"), the same outcome as a crash right after a
 * one-at-a-time write-ahead commit. (A deployer without `poll` cannot say
 * so, and reopening then takes DEPLOYING runs as deployed, as it always
 * has: with a plan, more runs could be in that state at a crash, so a
 * deployer without poll gets plans of one run: one commit per deploy, as
 * before.)
 *
 * Commits per cycle: the write-ahead commit and the cycle's own, plus one
 * per refused or failed deployment (its round's re-plan), whatever the
 * number of runs deployed; a cycle that plans nothing writes nothing more
 * than before. The price is a second pass of the admission loop in memory.
 * If the real loop ever picked a head the plan did not (it cannot, short
 * of a bug), the plan is void from there and that head takes the old
 * per-run write-ahead commit; a run of the void part the deployer already
 * launched is then recorded running all the same (void_plan).
 *
 * Deploying outside the lock (issue 11). A deploy call may take tens of
 * milliseconds (an API server's create); a cycle of 20 used to hold the
 * handle's lock for a second. Step 3a runs with the lock released (the
 * scheduler's c->window hooks, scheduler.c), on the ticking thread:
 *
 *   - Before: the plan is committed DEPLOYING (step 2), which also commits
 *     everything the cycle did so far (reconcile, head timeouts) and
 *     delivers its events. So nothing of this cycle is in the undo log:
 *     other threads' calls commit and roll back their own changes only.
 *     The requests are built under the lock (a payload may have to be
 *     read from the store), DEPLOY_CHUNK runs at a time.
 *   - During: the ticking thread touches no core state; it calls deploy
 *     and keeps the answers (plan_called, plan_rc, plan_msg). Other
 *     threads may run any call; those that could change what step 3b
 *     decides wait for the cycle to end (scheduler.c lists them). The
 *     others cannot change it: a run submitted now has an id at or above
 *     admit_watermark (next_id when the cycle began), which admission
 *     treats as absent (queue_eligible), so a new head of an empty queue
 *     or a run behind the plan's last is left to the next cycle; planned
 *     runs are DEPLOYING, which cancel refuses; ending a deployed run
 *     changes nothing admission reads (it reads heads, head state, WRR,
 *     the probe readings, the reserved room and the configuration).
 *   - After: the lock is taken again in a new transaction (a savepoint
 *     behind whatever other threads left for a group commit), the planned
 *     runs are recorded for a rollback (record_deploying: DEPLOYING and
 *     unsettled, as a reopen would put them), and step 3b replays
 *     admission with the answers. A refusal re-plans from there: another
 *     round of commit, unlock, deploy, relock.
 *
 * A plan cut short (a deployer without poll plans one run at a time) ends
 * its round after its last run and plans again rather than deploying the
 * next heads inline, so that those calls are made outside the lock too,
 * with the same one commit per run as before.
 *
 * `poll` is asked outside the lock too, before the cycle begins (see
 * "Poll outside the lock" above reconcile). The probe is still called
 * with the lock held: its readings are the plan's input, taken while
 * planning, once per namespace and cycle; reading them ahead would need a
 * round of its own. A legacy deploy (submit, migrate, a live request),
 * settling a restored DEPLOYING run (its poll) and a restart's settling
 * at open also stay under the lock.
 */

/* A head that fits, as the admission loop chose it, with what its
 * deployment charges: its namespace's WRR over the queues that were
 * eligible when it was chosen. */
typedef struct jq_pick {
    jq_namespace *ns;
    jq_queue *q;
    jq_run *head;
    int chosen;
    bool eligible[JQ_PRIORITIES];
    bool was_blocked; /* found blocked before it fitted (a refusal keeps
                         that timer) */
} jq_pick;

/* Where the admission loop stands between two picks. */
typedef struct admit_pos {
    int64_t budget;        /* deployments left in this cycle's batch */
    size_t idle;           /* consecutive namespaces that deployed nothing */
    size_t turn;           /* the namespace whose turn comes next */
    jq_namespace *serving; /* the namespace being served, or NULL */
} admit_pos;

/* A probe reading the planning pass took (kept across its rollback). */
typedef struct jq_plan_reading {
    bool probed;
    int status;
    jobq_resources hard, used;
} jq_plan_reading;

/* What the deployer answered for the plan's run at `index` (call_deployer
 * below); one it was not asked about (cannot happen: the loop stops at the
 * first failure) is asked now. */
static int planned_outcome(jq_core *c, size_t index, jq_run *run, char *msg,
                           size_t cap)
{
    msg[0] = '\0';
    if (index + 1 < c->plan_called)
        return 0;
    if (index + 1 == c->plan_called) {
        snprintf(msg, cap, "%s", c->plan_msg);
        return c->plan_rc;
    }
    return jq_call_planned_deploy(c, run, msg, cap);
}

#define NOT_PLANNED SIZE_MAX

/* Apply the deployer's answer for a picked head (after the write-ahead
 * commit of its DEPLOYING record: the plan's, whose deploy call was made
 * already, or its own if it was not planned, deployed here) and
 * handle a failure as SPEC 2.5 says. Returns true if it was deployed (the
 * caller records it: deployed()). */
static bool deploy_head(jq_core *c, const jq_pick *pick, size_t planned,
                        jobq_time_ms now, jobq_tick_stats *st)
{
    char msg[256];
    jq_queue *q = pick->q;
    jq_run *head = pick->head;
    int rc;
    if (planned != NOT_PLANNED) {
        rc = planned_outcome(c, planned, head, msg, sizeof msg);
    } else {
        jq_undo_run(c, head);
        head->state = JOBQ_RUN_DEPLOYING;
        head->deploy_attempts++;
        jq_save_run(c, head);
        if (!jq_persist_before_deploy(c)) {
            head->state = JOBQ_RUN_QUEUED;
            head->deploy_attempts--;
            q->ineligible_cycle = c->cycle;
            return false;
        }
        rc = jq_call_deploy(c, head, msg, sizeof msg);
    }
    if (rc == 0)
        return true;
    head->state = JOBQ_RUN_QUEUED;
    q->ineligible_cycle = c->cycle;
    if (rc == JOBQ_DEPLOY_QUOTA_REJECTED) {
        /* Not an attempt that counts toward the error budget, but one of
         * the head's refusal streak: its queue backs off (SPEC 2.5). */
        head->deploy_attempts--;
        jq_note_refusal(c, q, head, now, pick->was_blocked,
                        msg[0] ? msg : "exceeded quota");
        jq_save_run(c, head);
        jobq_event ev;
        jq_event_for_run(&ev, JOBQ_EVENT_RESCHEDULED, now, head);
        ev.reason = jq_reason_name(JQ_REASON_STALE_QUOTA);
        ev.detail = msg;
        ev.retry = q->head_refusals;
        jq_publish(c, &ev);
        st->rescheduled++;
        return false;
    }
    if (rc == JOBQ_DEPLOY_REFUSED ||
        head->deploy_attempts >= JQ_DEPLOY_MAX_ATTEMPTS) {
        char detail[400];
        if (rc == JOBQ_DEPLOY_REFUSED) /* permanent: retrying cannot help */
            snprintf(detail, sizeof detail, "refused by the cluster: %s",
                     msg[0] ? msg : "no reason");
        else
            snprintf(detail, sizeof detail, "deploy failed %u times: %s",
                     (unsigned)head->deploy_attempts,
                     msg[0] ? msg : "no reason");
        jq_dequeue(c, head);
        jq_end_run(c, head, now, JOBQ_RUN_FAILED, JQ_REASON_DEPLOY_ERROR,
                   detail);
        st->failed++;
        return false;
    }
    q->head_retry_at = now + backoff_ms(head->deploy_attempts);
    jq_save_run(c, head);
    jobq_event ev;
    jq_event_for_run(&ev, JOBQ_EVENT_DEPLOY_RETRY, now, head);
    ev.retry = head->deploy_attempts;
    ev.reason = jq_reason_name(JQ_REASON_DEPLOY_ERROR);
    ev.detail = msg;
    jq_publish(c, &ev);
    return false;
}

/* A head submitted after the cycle began (on another thread, while the
 * deployer was called) waits for the next cycle: to this one its queue is
 * empty, as it was when the plan was made. */
static bool queue_eligible(const jq_core *c, const jq_queue *q,
                           jobq_time_ms now)
{
    return q->runs.first && q->runs.first->id < c->admit_watermark &&
           q->ineligible_cycle != c->cycle && q->head_retry_at <= now;
}

static void share_weights(const jq_core *c, int64_t weight[JQ_PRIORITIES])
{
    weight[JOBQ_PRIORITY_HIGH] = c->config.high_share_pct;
    weight[JOBQ_PRIORITY_NORMAL] = 100 - c->config.high_share_pct;
}

/* Inside one namespace's turn: consider heads until one fits (true, in
 * *pick) or no queue of the namespace is eligible. */
static bool choose_head(jq_core *c, jq_namespace *ns, jobq_time_ms now,
                        jobq_tick_stats *st, jq_pick *pick)
{
    int64_t weight[JQ_PRIORITIES];
    share_weights(c, weight);
    for (;;) {
        for (int p = 0; p < JQ_PRIORITIES; p++)
            pick->eligible[p] = queue_eligible(c, &ns->queue[p], now);
        int chosen = jq_wrr_choose(&ns->wrr, weight, pick->eligible);
        if (chosen < 0)
            return false;
        jq_queue *q = &ns->queue[chosen];
        jq_run *head = q->runs.first;
        read_quota(c, ns);
        if (ns->probe_status != 0) {
            st->probe_errors++;
            for (int p = 0; p < JQ_PRIORITIES; p++)
                ns->queue[p].ineligible_cycle = c->cycle;
            return false;
        }
        int64_t available = 0;
        int shortfall = first_shortfall(ns, head, &available);
        if (shortfall >= 0) {
            q->ineligible_cycle = c->cycle;
            mark_blocked(c, q, head, shortfall, available, now, st);
            continue;
        }
        /* It fits, so it is no longer short of anything (its next block
         * is news again). After a deploy error its head timer starts
         * afresh when it is next found not to fit; a refusal of the
         * cluster keeps it running instead (SPEC 2.5, jq_head_timer). */
        pick->was_blocked = q->head_blocked;
        q->head_blocked = false;
        pick->ns = ns;
        pick->q = q;
        pick->head = head;
        pick->chosen = chosen;
        return true;
    }
}

static bool namespace_eligible(const jq_core *c, const jq_namespace *ns,
                               jobq_time_ms now)
{
    for (int p = 0; p < JQ_PRIORITIES; p++)
        if (queue_eligible(c, &ns->queue[p], now))
            return true;
    return false;
}

/* The admission loop up to its next head that fits: namespaces take
 * turns, each served until it deploys one run or has no eligible queue.
 * False when admission is over for this cycle. */
static bool next_pick(jq_core *c, admit_pos *pos, jobq_time_ms now,
                      jobq_tick_stats *st, jq_pick *pick)
{
    for (;;) {
        if (!pos->serving) {
            if (pos->budget <= 0 || pos->idle >= c->ns_count ||
                c->journal_status != 0)
                return false;
            /* Straight to the next live namespace: those passed are at
             * rest, never eligible, and count as visited. */
            size_t live = jq_core_next_live(c, pos->turn);
            if (live == c->ns_count)
                live = jq_core_next_live(c, 0);
            size_t passed = live == c->ns_count
                                ? c->ns_count
                                : (live + c->ns_count - pos->turn) %
                                      c->ns_count;
            if (pos->idle + passed >= c->ns_count)
                return false;
            pos->idle += passed;
            pos->turn = live;
            jq_namespace *ns = c->ns_order[pos->turn];
            pos->turn = (pos->turn + 1) % c->ns_count;
            if (!namespace_eligible(c, ns, now)) {
                pos->idle++;
                continue;
            }
            pos->serving = ns;
        }
        if (choose_head(c, pos->serving, now, st, pick))
            return true;
        pos->serving = NULL;
        pos->idle++;
    }
}

/* The picked head was deployed: record it, charge the WRR, pass the
 * turn. */
static void deployed(jq_core *c, admit_pos *pos, const jq_pick *pick,
                     jobq_time_ms now, jobq_tick_stats *st)
{
    int64_t weight[JQ_PRIORITIES];
    share_weights(c, weight);
    jq_dequeue(c, pick->head);
    jq_mark_running(c, pick->head, now);
    st->deployed++;
    jq_wrr_charge(&pick->ns->wrr, weight, pick->eligible, pick->chosen);
    jq_save_namespace(c, pick->ns);
    pos->budget--;
    pos->idle = 0;
    c->ns_turn = pos->turn;
    pos->serving = NULL;
}

static bool out_of_memory(jq_core *c)
{
    jq_journal_result(c, JOBQ_ENOMEM);
    jq_core_fail(c, JOBQ_ENOMEM, "out of memory planning a cycle");
    return false;
}

static bool plan_push(jq_core *c, jq_run *run)
{
    if (c->plan_len == c->plan_cap) {
        size_t cap = c->plan_cap ? 2 * c->plan_cap : 64;
        jq_run **plan = realloc(c->plan, cap * sizeof *plan);
        if (!plan)
            return out_of_memory(c);
        c->plan = plan;
        c->plan_cap = cap;
    }
    c->plan[c->plan_len++] = run;
    return true;
}

/* Step 1: the heads the admission loop would deploy from *pos if every
 * deploy call succeeded, into c->plan. Changes nothing but the probe
 * readings (and c->plan). */
static size_t plan_deployments(jq_core *c, const admit_pos *pos,
                               jobq_time_ms now, const jobq_tick_stats *st)
{
    c->plan_len = 0;
    c->plan_called = 0;
    if (c->plan_readings_cap < c->ns_count) {
        jq_plan_reading *r = realloc(c->plan_readings, c->ns_count * sizeof *r);
        if (!r)
            return out_of_memory(c);
        c->plan_readings = r;
        c->plan_readings_cap = c->ns_count;
    }
    jq_txn_mark mark = jq_txn_mark_now(c);
    if (c->journal_status != 0)
        return 0;
    jq_journal journal = c->journal;
    memset(&c->journal, 0, sizeof c->journal); /* nothing reaches disk */
    admit_pos at = *pos;
    jobq_tick_stats stats = *st;
    jq_pick pick;
    /* Without poll, reopening cannot tell a planned run whose deployer was
     * never called from a deployed one (it takes DEPLOYING as deployed):
     * plan one run at a time then, so that at most the run in flight is
     * in that state at a crash, as before write-ahead per cycle. Without
     * a database (no barrier) there is no reopening, and a round costs a
     * savepoint (a copy of every namespace): plan them all. */
    size_t most = c->deployer.poll || !journal.barrier ? SIZE_MAX : 1;
    while (c->plan_len < most && next_pick(c, &at, now, &stats, &pick) &&
           plan_push(c, pick.head)) {
        jq_undo_run(c, pick.head);
        pick.head->state = JOBQ_RUN_DEPLOYING;
        deployed(c, &at, &pick, now, &stats);
    }
    c->plan_cut = c->plan_len == most;
    c->journal = journal;
    FOR_LIVE(c, i) {
        const jq_namespace *ns = c->ns_order[i];
        jq_plan_reading *r = &c->plan_readings[i];
        r->probed = ns->probed_cycle == c->cycle;
        r->status = ns->probe_status;
        r->hard = ns->hard;
        r->used = ns->used;
    }
    jq_txn_rollback(c, &mark);
    /* As read_quota leaves a namespace it reads for the first time in the
     * cycle. Not recorded: the cycle's first savepoint restores the
     * namespaces whole (undo.c). */
    FOR_LIVE(c, i) {
        jq_namespace *ns = c->ns_order[i];
        const jq_plan_reading *r = &c->plan_readings[i];
        if (!r->probed || ns->probed_cycle == c->cycle)
            continue;
        ns->probed_cycle = c->cycle;
        ns->probe_status = r->status;
        ns->hard = r->hard;
        ns->used = r->used;
        memset(&ns->reserved, 0, sizeof ns->reserved);
    }
    if (c->journal_status != 0)
        c->plan_len = 0;
    return c->plan_len;
}

/* The turn pointer as the journal last has it: written when it moved, at
 * each write-ahead commit and at the end of admission. */
static void save_turn(jq_core *c, uint64_t *saved)
{
    if (c->journal.turn_saved && c->ns_turn != *saved) {
        jq_journal_result(c, c->journal.turn_saved(c->journal.ctx, c->ns_turn));
        *saved = c->ns_turn;
    }
}

/* Step 2: every planned run DEPLOYING, durable in one commit. False if the
 * journal failed (nothing is deployed, the cycle fails). */
static bool write_ahead(jq_core *c, uint64_t *turn_saved)
{
    size_t n = c->plan_len;
    for (size_t i = 0; i < n; i++) {
        jq_run *run = c->plan[i];
        jq_undo_run(c, run);
        run->state = JOBQ_RUN_DEPLOYING;
        run->deploy_attempts++;
        jq_save_run(c, run);
    }
    save_turn(c, turn_saved);
    /* Room for the savepoint the commit takes and the records below: a
     * commit keeps the log's capacity, so that neither can fail after it
     * (a run committed DEPLOYING without its record would be left in its
     * queue by a rollback, where no reopen would put it). */
    if (c->journal_status != 0 ||
        !jq_txn_reserve(c, 2 * n + c->ns_count + 128,
                        n * (sizeof(jq_run) + 8) +
                            c->ns_count * (sizeof(jq_namespace) + 16) +
                            sizeof(jq_config) + 4096))
        return false;
    return jq_persist_before_deploy(c);
}

/* Step 3a: call the deployer for the planned runs, in plan order, until
 * one refuses or fails, with the handle's lock released (c->window), and
 * note the answers for step 3b. Changes nothing else in the core: other
 * threads may be using it meanwhile. Requests are prepared (payloads read
 * from the store) under the lock, a chunk at a time, which bounds the
 * memory the payloads take. */
enum { DEPLOY_CHUNK = 64 };

static void call_deployer(jq_core *c)
{
    c->plan_called = 0;
    c->plan_rc = 0;
    c->plan_msg[0] = '\0';
    if (!c->has_deployer || !c->deployer.deploy) {
        c->plan_called = c->plan_len; /* dry run: all deployed */
        return;
    }
    while (c->plan_called < c->plan_len && c->plan_rc == 0) {
        jobq_deploy_request req[DEPLOY_CHUNK];
        void *loaded[DEPLOY_CHUNK];
        size_t n = 0;
        int prepared = 0;
        while (n < DEPLOY_CHUNK && c->plan_called + n < c->plan_len &&
               (prepared = jq_deploy_request_for(
                    c, c->plan[c->plan_called + n], &req[n], &loaded[n],
                    c->plan_msg, sizeof c->plan_msg)) == 0)
            n++;
        size_t done = 0;
        int rc = 0;
        if (n > 0 && c->window.unlock)
            c->window.unlock(c->window.ctx);
        while (done < n && rc == 0)
            rc = jq_deploy_call(c, &req[done++], c->plan_msg,
                                sizeof c->plan_msg);
        if (n > 0 && c->window.relock)
            c->window.relock(c->window.ctx);
        for (size_t i = 0; i < n; i++)
            free(loaded[i]);
        c->plan_called += done;
        c->plan_rc = rc;
        if (rc == 0 && prepared != 0) { /* the next run's payload: its
                                           deploy failed */
            c->plan_called++;
            c->plan_rc = prepared;
        }
    }
}

/* After the write-ahead commit and the deploy calls, in the transaction
 * the relock began: a rollback from here on puts each planned run where a
 * reopen would (DEPLOYING, unsettled), deployer called or not (undo.c).
 * Recorded only now, so that nothing of this cycle is in the undo log
 * while other threads commit and roll back their own calls. */
static bool record_deploying(jq_core *c)
{
    size_t n = c->plan_len;
    if (!jq_txn_reserve(c, 2 * n + 64, n * (sizeof(jq_run) + 8) + 4096))
        return false;
    for (size_t i = 0; i < n; i++) {
        jq_undo_run(c, c->plan[i]);
        jq_undo_deploying(c, c->plan[i]);
    }
    return c->journal_status == 0;
}

/* The void part of a plan, from `from` on: back to QUEUED, where they
 * still are; the next commit rewrites their records. A run the deployer
 * already launched (only if the real loop ever left the plan, which it
 * cannot: see the top) is not void: it runs, outside the batch. */
static void void_plan(jq_core *c, size_t from, jobq_time_ms now,
                      jobq_tick_stats *st)
{
    for (size_t i = from; i < c->plan_len; i++) {
        jq_run *run = c->plan[i];
        if (run->state != JOBQ_RUN_DEPLOYING)
            continue;
        if (i + 1 < c->plan_called ||
            (i + 1 == c->plan_called && c->plan_rc == 0)) {
            jq_dequeue(c, run);
            jq_mark_running(c, run, now);
            st->deployed++;
            continue;
        }
        jq_undo_run(c, run);
        run->state = JOBQ_RUN_QUEUED;
        run->deploy_attempts--;
        jq_save_run(c, run);
    }
    c->plan_len = from < c->plan_len ? from : c->plan_len;
}

/* Step 3b: the admission loop for real, up to its end, its first failed
 * deployment or the end of a plan cut short (true: plan again from
 * there). */
static bool execute_plan(jq_core *c, admit_pos *pos, jobq_time_ms now,
                         jobq_tick_stats *st)
{
    size_t next = 0;
    jq_pick pick;
    bool failed = false;
    while (!failed && !(c->plan_cut && next == c->plan_len) &&
           next_pick(c, pos, now, st, &pick)) {
        size_t planned = NOT_PLANNED;
        if (next < c->plan_len && c->plan[next] == pick.head)
            planned = next++;
        else { /* cannot happen: see the top */
            void_plan(c, next, now, st);
            c->plan_cut = false; /* the rest as before plans: one by one */
        }
        if (deploy_head(c, &pick, planned, now, st))
            deployed(c, pos, &pick, now, st);
        else
            failed = true;
    }
    bool cut = c->plan_cut && next == c->plan_len && next > 0;
    void_plan(c, next, now, st);
    c->plan_len = 0;
    return failed || cut;
}

static void admit(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    if (c->ns_count == 0 || c->queued == 0)
        return;
    admit_pos pos = {.budget = c->config.batch_size,
                     .turn = c->ns_turn % c->ns_count};
    uint64_t turn_saved = c->ns_turn;
    bool again = true;
    while (again && c->journal_status == 0) {
        if (plan_deployments(c, &pos, now, st) > 0) {
            if (!write_ahead(c, &turn_saved))
                break;
            call_deployer(c);
            if (!record_deploying(c))
                break;
        }
        again = execute_plan(c, &pos, now, st);
    }
    c->plan_len = 0;
    save_turn(c, &turn_saved);
}

/* ------------------------------------------------------------------ tick */

int jq_core_tick(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    if (now < c->last_tick) {
        jq_core_drop_polled(c);
        return jq_core_fail(c, JOBQ_EINVAL, "time went backwards: %" PRId64
                            " ms is before the last cycle at %" PRId64 " ms",
                            now, c->last_tick);
    }
    /* Room to record the cycle's changes up to its first commit point (a
     * commit keeps the room for the next), so that recording cannot fail
     * half-way. */
    size_t ops = 2 * c->ns_count * JQ_PRIORITIES + 4;
    if (!jq_txn_reserve(c, ops * 8, ops * (2 * sizeof(jq_run) + 64)))
        return JOBQ_ENOMEM;
    c->last_tick = now;
    c->cycle++;
    c->admit_watermark = c->next_id;
    reconcile(c, now, st);
    jq_core_drop_polled(c);
    expire_heads(c, now, st);
    admit(c, now, st);
    if (c->config.cleanup_enabled)
        jq_core_forget_ended(c, now - c->config.retention_period_s * 1000,
                             1000);
    st->queued = c->queued;
    st->running = c->running.length;
    return 0;
}

jobq_time_ms jq_core_next_deadline(const jq_core *c)
{
    jobq_time_ms next = JOBQ_NO_DEADLINE;
    FOR_LIVE(c, i) {
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            const jq_queue *q = &c->ns_order[i]->queue[p];
            jobq_time_ms since;
            if (!q->runs.first)
                continue;
            if (jq_head_timer(q, &since)) {
                jobq_time_ms due = since + c->config.head_timeout_s * 1000;
                if (due < next)
                    next = due;
            }
            /* The end of a deploy-error or refusal backoff, while it is
             * still ahead of the last cycle: the queue is eligible again
             * then (once a cycle has passed it, it is no longer pending). */
            if (q->head_retry_at > c->last_tick && q->head_retry_at < next)
                next = q->head_retry_at;
        }
    }
    return next;
}
