/*
 * The policy core; see core.h for its place in the library and SPEC
 * section 2 for the rules it implements. The cycle is jq_core_tick():
 * reconcile, head timeouts, admission, retention, in that order.
 */
#include "core.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

static const char *const reason_names[JQ_REASON_COUNT] = {
    [JQ_REASON_NONE] = "",
    [JQ_REASON_USER] = "user",
    [JQ_REASON_HEAD_TIMEOUT] = "head_timeout",
    [JQ_REASON_STALE_QUOTA] = "stale_quota",
    [JQ_REASON_DEPLOY_ERROR] = "deploy_error",
    [JQ_REASON_VANISHED] = "vanished",
    [JQ_REASON_RUN_FAILED] = "run_failed",
    [JQ_REASON_QUOTA_REJECTED] = "quota_rejected",
};

const char *jq_reason_name(jq_reason reason)
{
    return (unsigned)reason < JQ_REASON_COUNT ? reason_names[reason] : "";
}

int jq_core_fail(jq_core *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    return code;
}

static char *copy_string(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

static const char *job_key(const void *value)
{
    return ((const jq_job *)value)->name;
}

static const char *namespace_key(const void *value)
{
    return ((const jq_namespace *)value)->name;
}

/* ---------------------------------------------------------------- journal */

static void journal_result(jq_core *c, int rc)
{
    if (rc != 0 && c->journal_status == 0)
        c->journal_status = rc < 0 ? rc : JOBQ_EIO;
}

static void save_run(jq_core *c, const jq_run *run)
{
    if (c->journal.run_saved)
        journal_result(c, c->journal.run_saved(c->journal.ctx, run));
}

static void save_namespace(jq_core *c, const jq_namespace *ns)
{
    if (c->journal.ns_saved)
        journal_result(c, c->journal.ns_saved(c->journal.ctx, ns));
}

static void save_job(jq_core *c, const jq_job *job)
{
    if (c->journal.job_saved)
        journal_result(c, c->journal.job_saved(c->journal.ctx, job));
}

/* ----------------------------------------------------------------- events */

static void event_for_run(jobq_event *ev, jobq_event_type type,
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

static void publish(jq_core *c, const jobq_event *ev)
{
    if (c->journal.event)
        journal_result(c, c->journal.event(c->journal.ctx, ev));
    if (c->emit)
        c->emit(c->emit_ctx, ev);
}

static void emit_simple(jq_core *c, jobq_event_type type, jobq_time_ms now,
                        const jq_run *run)
{
    jobq_event ev;
    event_for_run(&ev, type, now, run);
    if (run->reason != JQ_REASON_NONE)
        ev.reason = jq_reason_name((jq_reason)run->reason);
    if (run->detail && (type == JOBQ_EVENT_CANCELLED ||
                        type == JOBQ_EVENT_FAILED ||
                        type == JOBQ_EVENT_FINISHED))
        ev.detail = run->detail;
    publish(c, &ev);
}

/* ------------------------------------------------------------- namespaces */

jq_namespace *jq_core_namespace(jq_core *c, const char *name, bool create)
{
    jq_namespace *ns = jq_strmap_get(&c->namespaces, name);
    if (ns || !create)
        return ns;
    if (c->ns_count == c->ns_capacity) {
        size_t capacity = c->ns_capacity ? c->ns_capacity * 2 : 8;
        jq_namespace **order = realloc(c->ns_order, capacity * sizeof *order);
        if (!order)
            return NULL;
        c->ns_order = order;
        c->ns_capacity = capacity;
    }
    ns = calloc(1, sizeof *ns);
    if (!ns || !(ns->name = copy_string(name)))
        goto fail;
    if (jq_strmap_put(&c->namespaces, ns) != 0)
        goto fail;
    ns->index = c->ns_count;
    c->ns_order[c->ns_count++] = ns;
    return ns;
fail:
    if (ns)
        free(ns->name);
    free(ns);
    return NULL;
}

jq_job *jq_core_job(const jq_core *c, const char *name)
{
    return jq_strmap_get(&c->jobs, name);
}

/* ------------------------------------------------------------ life cycle */

int jq_core_init(jq_core *c, const jobq_probe *probe,
                 const jobq_deployer *deployer, jq_emit_fn emit,
                 void *emit_ctx)
{
    memset(c, 0, sizeof *c);
    jq_config_defaults(&c->config);
    if (probe) {
        c->probe = *probe;
        c->has_probe = true;
    }
    if (deployer) {
        c->deployer = *deployer;
        c->has_deployer = true;
    }
    c->emit = emit;
    c->emit_ctx = emit_ctx;
    jq_strmap_init(&c->jobs, job_key);
    jq_strmap_init(&c->namespaces, namespace_key);
    c->next_id = 1;
    c->last_tick = INT64_MIN;
    return 0;
}

jq_run *jq_run_alloc(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    jq_run *run = calloc(1, sizeof *run + length + 1);
    if (run && length)
        memcpy(run->name, name, length + 1);
    return run;
}

static void free_run(jq_run *run)
{
    free(run->detail);
    free(run);
}

static void free_list(jq_list *list)
{
    jq_run *run = list->first;
    while (run) {
        jq_run *next = run->next;
        free_run(run);
        run = next;
    }
    memset(list, 0, sizeof *list);
}

void jq_core_destroy(jq_core *c)
{
    for (size_t i = 0; i < c->ns_count; i++) {
        jq_namespace *ns = c->ns_order[i];
        for (int p = 0; p < JQ_PRIORITIES; p++)
            free_list(&ns->queue[p].runs);
        free(ns->name);
        free(ns);
    }
    free_list(&c->running);
    free_list(&c->ended);
    for (size_t i = 0; i < c->jobs.capacity; i++) {
        jq_job *job = c->jobs.slots[i];
        if (!job)
            continue;
        free(job->name);
        free(job->domain);
        free(job->payload);
        free(job);
    }
    jq_strmap_free(&c->jobs);
    jq_strmap_free(&c->namespaces);
    jq_idmap_free(&c->runs);
    free(c->ns_order);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------- run transitions */

static jq_queue *queue_of(const jq_run *run)
{
    return &run->ns->queue[run->priority];
}

static void reset_head_state(jq_queue *q)
{
    q->head_blocked = false;
    q->head_blocked_since = 0;
    q->head_retry_at = 0;
}

/* Take a queued run out of its queue. If it was the head, the next run
 * becomes head with a fresh state (its timer starts only when it is itself
 * found blocked). */
static void dequeue(jq_core *c, jq_run *run)
{
    jq_queue *q = queue_of(run);
    bool was_head = q->runs.first == run;
    jq_list_remove(&q->runs, run);
    c->queued--;
    if (was_head)
        reset_head_state(q);
}

static void set_detail(jq_run *run, const char *detail)
{
    free(run->detail);
    run->detail = (detail && *detail) ? copy_string(detail) : NULL;
}

/* Sums of requests (what a namespace has allocated, what this cycle
 * reserved) clamp instead of overflowing: legacy runs are never checked
 * against a quota, so nothing else bounds them. */
static int64_t add_clamped(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

static void release(jq_run *run)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        run->ns->allocated.amount[d] =
            add_clamped(run->ns->allocated.amount[d], -run->request.amount[d]);
}

/* Move a run that is in no list (just dequeued, or taken off the running
 * list) into a terminal state and announce it. */
static void end_run(jq_core *c, jq_run *run, jobq_time_ms now,
                    jobq_run_state state, jq_reason reason,
                    const char *detail)
{
    run->state = (uint8_t)state;
    run->reason = (uint8_t)reason;
    run->ended_at = now;
    set_detail(run, detail);
    jq_list_push_back(&c->ended, run);
    save_run(c, run);
    jobq_event_type type = state == JOBQ_RUN_FINISHED ? JOBQ_EVENT_FINISHED
                           : state == JOBQ_RUN_FAILED ? JOBQ_EVENT_FAILED
                                                      : JOBQ_EVENT_CANCELLED;
    emit_simple(c, type, now, run);
}

static void end_deployed_run(jq_core *c, jq_run *run, jobq_time_ms now,
                             jobq_run_state state, jq_reason reason,
                             const char *detail)
{
    jq_list_remove(&c->running, run);
    release(run);
    end_run(c, run, now, state, reason, detail);
}

static void mark_running(jq_core *c, jq_run *run, jobq_time_ms now)
{
    run->state = JOBQ_RUN_RUNNING;
    run->deployed_at = now;
    jq_list_push_back(&c->running, run);
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        run->ns->allocated.amount[d] =
            add_clamped(run->ns->allocated.amount[d], run->request.amount[d]);
        if (run->ns->probed_cycle == c->cycle)
            run->ns->reserved.amount[d] =
                add_clamped(run->ns->reserved.amount[d], run->request.amount[d]);
    }
    save_run(c, run);
    jobq_event ev;
    event_for_run(&ev, JOBQ_EVENT_DEPLOYED, now, run);
    ev.wait_ms = now - run->submitted_at;
    publish(c, &ev);
}

/* Write-ahead: make the DEPLOYING state durable before the deployer is
 * called, so that a crash in between is reconciled on reopen instead of
 * deploying twice. False if the journal failed (nothing is deployed). */
static bool persist_before_deploy(jq_core *c)
{
    if (!c->journal.barrier)
        return c->journal_status == 0;
    journal_result(c, c->journal.barrier(c->journal.ctx));
    return c->journal_status == 0;
}

/* Call the deployer for a run already persisted as DEPLOYING. Returns 0,
 * JOBQ_DEPLOY_QUOTA_REJECTED or a negative error, message in msg. */
static int call_deploy(jq_core *c, jq_run *run, char *msg, size_t cap)
{
    msg[0] = '\0';
    if (!c->has_deployer || !c->deployer.deploy)
        return 0;
    const void *payload = run->job->payload;
    size_t payload_len = run->job->payload_len;
    void *loaded = NULL;
    if (!payload && payload_len > 0 && c->journal.load_payload) {
        if (c->journal.load_payload(c->journal.ctx, run->job, &loaded,
                                    &payload_len) != 0) {
            snprintf(msg, cap, "the job's payload could not be read from "
                     "the database");
            return JOBQ_ERROR;
        }
        payload = loaded;
    }
    jobq_deploy_request req = {
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
    int rc = c->deployer.deploy(c->deployer.ctx, &req, msg, cap);
    free(loaded);
    msg[cap - 1] = '\0';
    if (rc > 0 && rc != JOBQ_DEPLOY_QUOTA_REJECTED)
        rc = JOBQ_ERROR;
    return rc;
}

/* The legacy path: deploy at once, no queue, no resource check. A refusal
 * fails the run, as the direct (pre-orchestrator) flow does. */
static void deploy_legacy(jq_core *c, jq_run *run, jobq_time_ms now)
{
    char msg[256];
    run->flow = JOBQ_FLOW_LEGACY;
    run->state = JOBQ_RUN_DEPLOYING;
    run->deploy_attempts++;
    save_run(c, run);
    if (!persist_before_deploy(c)) {
        end_run(c, run, now, JOBQ_RUN_FAILED, JQ_REASON_DEPLOY_ERROR,
                "not deployed: its state could not be persisted");
        return;
    }
    int rc = call_deploy(c, run, msg, sizeof msg);
    if (rc == 0) {
        mark_running(c, run, now);
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
    end_run(c, run, now, JOBQ_RUN_FAILED, reason, detail);
}

/* ------------------------------------------------------------------ jobs */

static int validate_name(jq_core *c, const char *what, const char *name,
                         size_t max, bool required)
{
    size_t n = name ? strlen(name) : 0;
    if (required && n == 0)
        return jq_core_fail(c, JOBQ_EINVAL, "%s must not be empty", what);
    if (n > max)
        return jq_core_fail(c, JOBQ_EINVAL, "%s is %zu bytes long (at most %zu)",
                            what, n, max);
    return 0;
}

static int validate_request(jq_core *c, const jobq_resources *r)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        if (r->amount[d] < 0 || r->amount[d] == JOBQ_UNLIMITED)
            return jq_core_fail(c, JOBQ_EINVAL,
                                "request.%s: %" PRId64 " is out of range "
                                "(0..%" PRId64 ")",
                                jobq_resource_name((jobq_resource_kind)d),
                                r->amount[d], INT64_MAX - 1);
    return 0;
}

/* Deploy every queued run of `job` through the legacy path (its flow was
 * switched to legacy). Returns how many moved. */
static uint64_t move_job_runs_to_legacy(jq_core *c, const jq_job *job,
                                        jobq_time_ms now)
{
    uint64_t moved = 0;
    for (size_t i = 0; i < c->ns_count; i++) {
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            jq_run *run = c->ns_order[i]->queue[p].runs.first;
            while (run) {
                jq_run *next = run->next;
                if (!job || run->job == job) {
                    dequeue(c, run);
                    deploy_legacy(c, run, now);
                    moved++;
                }
                run = next;
            }
        }
    }
    return moved;
}

int jq_core_define_job(jq_core *c, jobq_time_ms now, const jobq_job_def *def)
{
    int rc;
    if ((rc = validate_name(c, "job name", def->name, JOBQ_NAME_MAX, true)) ||
        (rc = validate_name(c, "namespace", def->ns, JOBQ_NS_MAX, true)) ||
        (rc = validate_name(c, "domain", def->domain, JOBQ_NAME_MAX, false)) ||
        (rc = validate_request(c, &def->request)))
        return rc;
    if ((unsigned)def->priority > JOBQ_PRIORITY_NORMAL)
        return jq_core_fail(c, JOBQ_EINVAL, "priority: %d is not high (0) or "
                            "normal (1)", (int)def->priority);
    if ((unsigned)def->flow > JOBQ_FLOW_LEGACY)
        return jq_core_fail(c, JOBQ_EINVAL, "flow: %d is not priority (0) or "
                            "legacy (1)", (int)def->flow);
    if (def->payload_len > 0 && !def->payload)
        return jq_core_fail(c, JOBQ_EINVAL, "payload is NULL but payload_len "
                            "is %zu", def->payload_len);

    jq_namespace *ns = jq_core_namespace(c, def->ns, true);
    char *domain = copy_string(def->domain ? def->domain : "");
    void *payload = def->payload_len ? malloc(def->payload_len) : NULL;
    jq_job *job = jq_core_job(c, def->name);
    bool created = job == NULL;
    if (created)
        job = calloc(1, sizeof *job);
    if (!ns || !domain || (def->payload_len && !payload) || !job)
        goto oom;
    if (created) {
        if (!(job->name = copy_string(def->name)))
            goto oom;
        if (jq_strmap_put(&c->jobs, job) != 0) {
            free(job->name);
            goto oom;
        }
    }
    if (payload)
        memcpy(payload, def->payload, def->payload_len);
    free(job->domain);
    free(job->payload);
    job->domain = domain;
    job->payload = payload;
    job->payload_len = def->payload_len;
    job->ns = ns;
    job->request = def->request;
    job->priority = (uint8_t)def->priority;
    bool to_legacy = job->flow != JOBQ_FLOW_LEGACY &&
                     def->flow == JOBQ_FLOW_LEGACY;
    job->flow = (uint8_t)def->flow;
    save_job(c, job);
    if (c->journal.load_payload) { /* on disk now; read back at deploy */
        free(job->payload);
        job->payload = NULL;
    }
    if (to_legacy && !created)
        move_job_runs_to_legacy(c, job, now);
    return 0;
oom:
    free(domain);
    free(payload);
    if (created)
        free(job);
    return jq_core_fail(c, JOBQ_ENOMEM, "out of memory defining job");
}

int jq_core_set_job_flow(jq_core *c, jobq_time_ms now, const char *name,
                         jobq_flow flow)
{
    jq_job *job = name ? jq_core_job(c, name) : NULL;
    if (!job)
        return jq_core_fail(c, JOBQ_ENOTFOUND, "no job named \"%s\"",
                            name ? name : "(null)");
    if ((unsigned)flow > JOBQ_FLOW_LEGACY)
        return jq_core_fail(c, JOBQ_EINVAL, "flow: %d is not priority (0) or "
                            "legacy (1)", (int)flow);
    bool to_legacy = job->flow != JOBQ_FLOW_LEGACY && flow == JOBQ_FLOW_LEGACY;
    job->flow = (uint8_t)flow;
    save_job(c, job);
    if (to_legacy)
        move_job_runs_to_legacy(c, job, now);
    return 0;
}

/* ------------------------------------------------------------------ runs */

int jq_core_submit(jq_core *c, jobq_time_ms now, jobq_run_id *out_id,
                   const char *job_name, const jobq_submit_opts *opts)
{
    jq_job *job = job_name ? jq_core_job(c, job_name) : NULL;
    if (!job)
        return jq_core_fail(c, JOBQ_ENOTFOUND, "no job named \"%s\"",
                            job_name ? job_name : "(null)");
    int rc;
    const char *run_name = opts ? opts->run_name : NULL;
    if ((rc = validate_name(c, "run name", run_name, JOBQ_NAME_MAX, false)))
        return rc;
    if (opts && opts->request && (rc = validate_request(c, opts->request)))
        return rc;
    int priority = opts ? opts->priority : JOBQ_PRIORITY_DEFAULT;
    if (priority == JOBQ_PRIORITY_DEFAULT)
        priority = job->priority;
    else if (priority != JOBQ_PRIORITY_HIGH && priority != JOBQ_PRIORITY_NORMAL)
        return jq_core_fail(c, JOBQ_EINVAL, "priority: %d is not high (0), "
                            "normal (1) or default (-1)", priority);

    jq_run *run = jq_run_alloc(run_name);
    if (!run)
        return jq_core_fail(c, JOBQ_ENOMEM, "out of memory submitting a run");
    run->id = c->next_id;
    if (jq_idmap_put(&c->runs, run) != 0) {
        free_run(run);
        return jq_core_fail(c, JOBQ_ENOMEM, "out of memory submitting a run");
    }
    c->next_id++;
    run->job = job;
    run->ns = job->ns;
    run->request = (opts && opts->request) ? *opts->request : job->request;
    run->submitted_at = now;
    run->deployed_at = -1;
    run->ended_at = -1;
    run->priority = (uint8_t)priority;
    bool legacy = job->flow == JOBQ_FLOW_LEGACY || !c->config.enabled;
    run->flow = legacy ? JOBQ_FLOW_LEGACY : JOBQ_FLOW_PRIORITY;
    run->state = JOBQ_RUN_QUEUED;
    if (out_id)
        *out_id = run->id;

    if (!legacy) {
        jq_list_push_back(&queue_of(run)->runs, run);
        c->queued++;
    }
    save_run(c, run);
    emit_simple(c, JOBQ_EVENT_SUBMITTED, now, run);
    if (legacy)
        deploy_legacy(c, run, now);
    return 0;
}

static jq_run *find_run(jq_core *c, jobq_run_id id)
{
    jq_run *run = jq_idmap_get(&c->runs, id);
    if (!run)
        jq_core_fail(c, JOBQ_ENOTFOUND, "no run with id %" PRIu64, id);
    return run;
}

int jq_core_cancel(jq_core *c, jobq_time_ms now, jobq_run_id id,
                   const char *detail)
{
    jq_run *run = find_run(c, id);
    if (!run)
        return JOBQ_ENOTFOUND;
    const char *text = (detail && *detail) ? detail : "cancelled by request";
    switch ((jobq_run_state)run->state) {
    case JOBQ_RUN_QUEUED:
        dequeue(c, run);
        end_run(c, run, now, JOBQ_RUN_CANCELLED, JQ_REASON_USER, text);
        return 0;
    case JOBQ_RUN_RUNNING:
        if (c->has_deployer && c->deployer.cancel) {
            char msg[256] = "";
            int rc = c->deployer.cancel(c->deployer.ctx, run->id, msg,
                                        sizeof msg);
            msg[sizeof msg - 1] = '\0';
            if (rc < 0)
                return jq_core_fail(c, JOBQ_ERROR, "the deployer could not "
                                    "cancel run %" PRIu64 ": %s", id,
                                    msg[0] ? msg : "no reason given");
        }
        end_deployed_run(c, run, now, JOBQ_RUN_CANCELLED, JQ_REASON_USER, text);
        return 0;
    case JOBQ_RUN_DEPLOYING:
        return jq_core_fail(c, JOBQ_ESTATE, "run %" PRIu64 " is being "
                            "deployed; cancel it once it runs", id);
    default:
        return jq_core_fail(c, JOBQ_ESTATE, "run %" PRIu64 " already ended "
                            "(%s)", id,
                            jobq_run_state_name((jobq_run_state)run->state));
    }
}

int jq_core_report(jq_core *c, jobq_time_ms now, jobq_run_id id,
                   jobq_run_state state, const char *detail)
{
    jq_run *run = find_run(c, id);
    if (!run)
        return JOBQ_ENOTFOUND;
    if (state != JOBQ_RUN_FINISHED && state != JOBQ_RUN_FAILED)
        return jq_core_fail(c, JOBQ_EINVAL, "a run can be reported finished "
                            "or failed, not %s", jobq_run_state_name(state));
    if (run->state != JOBQ_RUN_RUNNING)
        return jq_core_fail(c, JOBQ_ESTATE, "run %" PRIu64 " is %s, not "
                            "running", id,
                            jobq_run_state_name((jobq_run_state)run->state));
    end_deployed_run(c, run, now, state,
                     state == JOBQ_RUN_FAILED ? JQ_REASON_RUN_FAILED
                                              : JQ_REASON_NONE,
                     detail);
    return 0;
}

/* ------------------------------------------------------------ reopening */

int jq_core_restore_run(jq_core *c, jq_run *run)
{
    if (jq_idmap_put(&c->runs, run) != 0)
        return JOBQ_ENOMEM;
    if (run->id >= c->next_id)
        c->next_id = run->id + 1;
    switch ((jobq_run_state)run->state) {
    case JOBQ_RUN_QUEUED: {
        jq_list *list = &queue_of(run)->runs;
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
 * is deployed again (the legacy path has no queue). */
static void requeue_undeployed(jq_core *c, jq_run *run, jobq_time_ms now,
                               const char *reason)
{
    jq_list_remove(&c->running, run);
    release(run);
    run->state = JOBQ_RUN_QUEUED;
    if (run->flow == JOBQ_FLOW_LEGACY) {
        deploy_legacy(c, run, now);
        return;
    }
    jq_queue *q = queue_of(run);
    jq_list_insert_by_seq(&q->runs, run);
    c->queued++;
    if (q->runs.first == run)
        reset_head_state(q);
    save_run(c, run);
    jobq_event ev;
    event_for_run(&ev, JOBQ_EVENT_RESCHEDULED, now, run);
    ev.reason = reason;
    ev.detail = "found deploying after a restart; the deployer has no "
                "record of it";
    publish(c, &ev);
}

/* The deploy happened: record it as the normal path would have. */
static void settle_deployed(jq_core *c, jq_run *run, jobq_time_ms now)
{
    run->state = JOBQ_RUN_RUNNING;
    run->deployed_at = now;
    save_run(c, run);
    jobq_event ev;
    event_for_run(&ev, JOBQ_EVENT_DEPLOYED, now, run);
    ev.wait_ms = now - run->submitted_at;
    publish(c, &ev);
}

static void settle_one(jq_core *c, jq_run *run, jobq_time_ms now)
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
    switch (status) {
    case JOBQ_POLL_GONE:
        requeue_undeployed(c, run, now, "recovered");
        break;
    case JOBQ_POLL_QUOTA_REJECTED:
        if (run->flow != JOBQ_FLOW_LEGACY) {
            requeue_undeployed(c, run, now,
                               jq_reason_name(JQ_REASON_STALE_QUOTA));
            break;
        }
        settle_deployed(c, run, now);
        end_deployed_run(c, run, now, JOBQ_RUN_FAILED,
                         JQ_REASON_QUOTA_REJECTED,
                         msg[0] ? msg : "exceeded quota");
        break;
    case JOBQ_POLL_FINISHED:
    case JOBQ_POLL_FAILED:
        settle_deployed(c, run, now);
        end_deployed_run(c, run, now,
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
            settle_one(c, run, now);
        run = next;
    }
}

void jq_core_evict_ended(jq_core *c)
{
    while (c->ended.first) {
        jq_run *run = c->ended.first;
        jq_list_remove(&c->ended, run);
        jq_idmap_remove(&c->runs, run->id);
        free_run(run);
    }
}

/* ---------------------------------------------------------- 1. reconcile */

/* An asynchronous quota rejection: the run returns to its original place at
 * the head of its queue and that queue sits out the rest of the cycle. */
static void reschedule_deployed(jq_core *c, jq_run *run, jobq_time_ms now)
{
    jq_list_remove(&c->running, run);
    release(run);
    jq_queue *q = queue_of(run);
    jq_list_insert_by_seq(&q->runs, run);
    c->queued++;
    if (q->runs.first == run)
        reset_head_state(q);
    q->ineligible_cycle = c->cycle;
    run->state = JOBQ_RUN_QUEUED;
    run->deployed_at = -1;
    save_run(c, run);
    jobq_event ev;
    event_for_run(&ev, JOBQ_EVENT_RESCHEDULED, now, run);
    ev.reason = jq_reason_name(JQ_REASON_STALE_QUOTA);
    publish(c, &ev);
}

static void reconcile(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    if (!c->has_deployer || !c->deployer.poll)
        return;
    jq_run *run = c->running.first;
    while (run) {
        jq_run *next = run->next;
        if (run->state == JOBQ_RUN_DEPLOYING) { /* restored, not settled */
            settle_one(c, run, now);
            run = next;
            continue;
        }
        jobq_poll_status status = JOBQ_POLL_RUNNING;
        char msg[256] = "";
        int rc = c->deployer.poll(c->deployer.ctx, run->id, &status, msg,
                                  sizeof msg);
        msg[sizeof msg - 1] = '\0';
        if (rc < 0)
            status = JOBQ_POLL_RUNNING; /* unknown: ask again next cycle */
        switch (status) {
        case JOBQ_POLL_FINISHED:
            end_deployed_run(c, run, now, JOBQ_RUN_FINISHED, JQ_REASON_NONE,
                             msg);
            st->finished++;
            break;
        case JOBQ_POLL_FAILED:
            end_deployed_run(c, run, now, JOBQ_RUN_FAILED, JQ_REASON_RUN_FAILED,
                             msg[0] ? msg : "the deployment failed");
            st->failed++;
            break;
        case JOBQ_POLL_GONE:
            end_deployed_run(c, run, now, JOBQ_RUN_FAILED, JQ_REASON_VANISHED,
                             msg[0] ? msg
                                    : "its deployment no longer exists");
            st->failed++;
            break;
        case JOBQ_POLL_QUOTA_REJECTED:
            if (run->flow == JOBQ_FLOW_LEGACY) {
                end_deployed_run(c, run, now, JOBQ_RUN_FAILED,
                                 JQ_REASON_QUOTA_REJECTED,
                                 msg[0] ? msg : "exceeded quota");
                st->failed++;
            } else {
                reschedule_deployed(c, run, now);
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
                                jobq_time_ms now)
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
             (now - q->head_blocked_since) / 1000 +
                 (int64_t)head->retries_used * c->config.head_timeout_s,
             c->config.head_timeout_s, (unsigned)head->retries_used,
             c->config.head_retry_count);
}

static void expire_head(jq_core *c, jq_queue *q, jobq_time_ms now,
                        jobq_tick_stats *st)
{
    jq_run *head = q->runs.first;
    if (!head || !q->head_blocked)
        return;
    if (now - q->head_blocked_since < c->config.head_timeout_s * 1000)
        return;
    if (head->retries_used < c->config.head_retry_count) {
        head->retries_used++;
        q->head_blocked_since = now;
        save_run(c, head);
        jobq_event ev;
        event_for_run(&ev, JOBQ_EVENT_HEAD_TIMEOUT_RETRY, now, head);
        ev.retry = head->retries_used;
        ev.resource = (jobq_resource_kind)q->head_resource;
        ev.requested = q->head_requested;
        ev.available = q->head_available;
        publish(c, &ev);
        st->timeouts_retried++;
        return;
    }
    char detail[400];
    head_timeout_detail(detail, sizeof detail, c, q, head, now);
    dequeue(c, head);
    end_run(c, head, now, JOBQ_RUN_CANCELLED, JQ_REASON_HEAD_TIMEOUT, detail);
    st->timeouts_cancelled++;
}

static void expire_heads(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    for (size_t i = 0; i < c->ns_count; i++)
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
    event_for_run(&ev, JOBQ_EVENT_BLOCKED, now, head);
    ev.resource = (jobq_resource_kind)resource;
    ev.requested = q->head_requested;
    ev.available = available;
    publish(c, &ev);
}

static jobq_time_ms backoff_ms(unsigned attempt)
{
    jobq_time_ms delay = JQ_DEPLOY_BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < attempt && delay < JQ_DEPLOY_BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay < JQ_DEPLOY_BACKOFF_MAX_MS ? delay : JQ_DEPLOY_BACKOFF_MAX_MS;
}

/* Deploy the head of q. Returns true if it was deployed. */
static bool deploy_head(jq_core *c, jq_queue *q, jq_run *head,
                        jobq_time_ms now, jobq_tick_stats *st)
{
    char msg[256];
    head->state = JOBQ_RUN_DEPLOYING;
    head->deploy_attempts++;
    save_run(c, head);
    if (!persist_before_deploy(c)) {
        head->state = JOBQ_RUN_QUEUED;
        head->deploy_attempts--;
        q->ineligible_cycle = c->cycle;
        return false;
    }
    int rc = call_deploy(c, head, msg, sizeof msg);
    if (rc == 0) {
        dequeue(c, head);
        mark_running(c, head, now);
        st->deployed++;
        return true;
    }
    head->state = JOBQ_RUN_QUEUED;
    q->ineligible_cycle = c->cycle;
    if (rc == JOBQ_DEPLOY_QUOTA_REJECTED) {
        /* Not an attempt that counts toward the error budget. */
        head->deploy_attempts--;
        save_run(c, head);
        jobq_event ev;
        event_for_run(&ev, JOBQ_EVENT_RESCHEDULED, now, head);
        ev.reason = jq_reason_name(JQ_REASON_STALE_QUOTA);
        ev.detail = msg;
        publish(c, &ev);
        st->rescheduled++;
        return false;
    }
    if (head->deploy_attempts >= JQ_DEPLOY_MAX_ATTEMPTS) {
        char detail[400];
        snprintf(detail, sizeof detail, "deploy failed %u times: %s",
                 (unsigned)head->deploy_attempts, msg[0] ? msg : "no reason");
        dequeue(c, head);
        end_run(c, head, now, JOBQ_RUN_FAILED, JQ_REASON_DEPLOY_ERROR, detail);
        st->failed++;
        return false;
    }
    q->head_retry_at = now + backoff_ms(head->deploy_attempts);
    save_run(c, head);
    jobq_event ev;
    event_for_run(&ev, JOBQ_EVENT_DEPLOY_RETRY, now, head);
    ev.retry = head->deploy_attempts;
    ev.reason = jq_reason_name(JQ_REASON_DEPLOY_ERROR);
    ev.detail = msg;
    publish(c, &ev);
    return false;
}

static bool queue_eligible(const jq_core *c, const jq_queue *q,
                           jobq_time_ms now)
{
    return q->runs.first && q->ineligible_cycle != c->cycle &&
           q->head_retry_at <= now;
}

static void share_weights(const jq_core *c, int64_t weight[JQ_PRIORITIES])
{
    weight[JOBQ_PRIORITY_HIGH] = c->config.high_share_pct;
    weight[JOBQ_PRIORITY_NORMAL] = 100 - c->config.high_share_pct;
}

/* One namespace's turn: consider heads until one is deployed or no queue
 * of the namespace is eligible. Returns true if something was deployed. */
static bool serve_namespace(jq_core *c, jq_namespace *ns, jobq_time_ms now,
                            jobq_tick_stats *st)
{
    int64_t weight[JQ_PRIORITIES];
    share_weights(c, weight);
    for (;;) {
        bool eligible[JQ_PRIORITIES];
        for (int p = 0; p < JQ_PRIORITIES; p++)
            eligible[p] = queue_eligible(c, &ns->queue[p], now);
        int chosen = jq_wrr_choose(&ns->wrr, weight, eligible);
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
        /* It fits, so it is no longer blocked: if the deploy is refused
         * (stale quota, an error), its head timer starts afresh when it is
         * next found not to fit. */
        q->head_blocked = false;
        if (deploy_head(c, q, head, now, st)) {
            jq_wrr_charge(&ns->wrr, weight, eligible, chosen);
            save_namespace(c, ns);
            return true;
        }
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

static void admit(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    if (c->ns_count == 0 || c->queued == 0)
        return;
    int64_t budget = c->config.batch_size;
    size_t idle = 0; /* consecutive namespaces that deployed nothing */
    size_t turn = c->ns_turn % c->ns_count;
    while (budget > 0 && idle < c->ns_count && c->journal_status == 0) {
        jq_namespace *ns = c->ns_order[turn];
        turn = (turn + 1) % c->ns_count;
        if (!namespace_eligible(c, ns, now) ||
            !serve_namespace(c, ns, now, st)) {
            idle++;
            continue;
        }
        budget--;
        idle = 0;
        c->ns_turn = turn;
    }
    if (c->journal.turn_saved)
        journal_result(c, c->journal.turn_saved(c->journal.ctx, c->ns_turn));
}

/* ------------------------------------------------------------------ tick */

int jq_core_tick(jq_core *c, jobq_time_ms now, jobq_tick_stats *st)
{
    if (now < c->last_tick)
        return jq_core_fail(c, JOBQ_EINVAL, "time went backwards: %" PRId64
                            " ms is before the last cycle at %" PRId64 " ms",
                            now, c->last_tick);
    c->last_tick = now;
    c->cycle++;
    reconcile(c, now, st);
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
    for (size_t i = 0; i < c->ns_count; i++) {
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            const jq_queue *q = &c->ns_order[i]->queue[p];
            if (!q->runs.first)
                continue;
            if (q->head_blocked) {
                jobq_time_ms due =
                    q->head_blocked_since + c->config.head_timeout_s * 1000;
                if (due < next)
                    next = due;
            }
            if (q->head_retry_at > 0 && q->head_retry_at < next)
                next = q->head_retry_at;
        }
    }
    return next;
}

/* ------------------------------------------------- configuration & legacy */

int jq_core_set_config(jq_core *c, const jq_config *config)
{
    if (c->config.enabled && !config->enabled && c->queued > 0)
        return jq_core_fail(c, JOBQ_ESTATE,
                            "cannot disable features.jobOrchestrator.enabled "
                            "while %" PRIu64 " runs are queued: migrate them "
                            "to the legacy flow first (migrate-to-legacy)",
                            c->queued);
    if (config->high_share_pct != c->config.high_share_pct) {
        for (size_t i = 0; i < c->ns_count; i++) {
            memset(&c->ns_order[i]->wrr, 0, sizeof c->ns_order[i]->wrr);
            save_namespace(c, c->ns_order[i]);
        }
    }
    c->config = *config;
    return 0;
}

int jq_core_migrate_to_legacy(jq_core *c, jobq_time_ms now,
                              uint64_t *out_moved)
{
    for (size_t i = 0; i < c->jobs.capacity; i++) {
        jq_job *job = c->jobs.slots[i];
        if (job && job->flow != JOBQ_FLOW_LEGACY) {
            job->flow = JOBQ_FLOW_LEGACY;
            save_job(c, job);
        }
    }
    uint64_t moved = move_job_runs_to_legacy(c, NULL, now);
    if (out_moved)
        *out_moved = moved;
    return 0;
}

/* ------------------------------------------------------------- retention */

uint64_t jq_core_forget_ended(jq_core *c, jobq_time_ms cutoff,
                              uint64_t max_runs)
{
    uint64_t removed = 0;
    while (removed < max_runs && c->ended.first &&
           c->ended.first->ended_at < cutoff) {
        jq_run *run = c->ended.first;
        jq_list_remove(&c->ended, run);
        jq_idmap_remove(&c->runs, run->id);
        if (c->journal.run_deleted)
            journal_result(c, c->journal.run_deleted(c->journal.ctx, run));
        free_run(run);
        removed++;
    }
    return removed;
}

/* ------------------------------------------------------------- run info */

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int jq_core_run_info(const jq_core *c, jobq_run_info *info, jobq_run_id id)
{
    const jq_run *run = jq_idmap_get(&c->runs, id);
    if (!run)
        return JOBQ_ENOTFOUND;
    unsigned version = info->version;
    memset(info, 0, sizeof *info);
    info->version = version;
    info->id = run->id;
    info->state = (jobq_run_state)run->state;
    copy_text(info->run_name, sizeof info->run_name, run->name);
    copy_text(info->job, sizeof info->job, run->job->name);
    copy_text(info->domain, sizeof info->domain, run->job->domain);
    copy_text(info->ns, sizeof info->ns, run->ns->name);
    info->priority = (jobq_priority)run->priority;
    info->flow = (jobq_flow)run->flow;
    info->request = run->request;
    info->submitted_at = run->submitted_at;
    info->deployed_at = run->deployed_at;
    info->ended_at = run->ended_at;
    info->head_timeout_at = -1;
    info->retries_used = run->retries_used;
    int64_t left = c->config.head_retry_count - run->retries_used;
    info->retries_left = left > 0 ? (unsigned)left : 0;
    info->deploy_attempts = run->deploy_attempts;
    copy_text(info->reason, sizeof info->reason,
              jq_reason_name((jq_reason)run->reason));
    copy_text(info->detail, sizeof info->detail, run->detail);
    if (run->state == JOBQ_RUN_QUEUED) {
        const jq_queue *q = queue_of(run);
        info->queue_position = jq_list_position(&q->runs, run);
        if (q->runs.first == run && q->head_blocked) {
            info->blocked = true;
            info->blocked_resource = (jobq_resource_kind)q->head_resource;
            info->blocked_requested = q->head_requested;
            info->blocked_available = q->head_available;
            info->blocked_since = q->head_blocked_since;
            info->head_timeout_at =
                q->head_blocked_since + c->config.head_timeout_s * 1000;
        }
    }
    return 0;
}
