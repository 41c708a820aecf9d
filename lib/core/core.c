/*
 * The policy core's entry points other than the cycle: life cycle, jobs,
 * submit, cancel and report, configuration, migrate to legacy, retention
 * and run snapshots. See core.h for its place in the library, SPEC section
 * 2 for the rules, and core_internal.h for how the core is split.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"
#include "names.h"

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

char *jq_copy_string(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = jq_core_malloc(n);
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

/* ------------------------------------------------------------- namespaces */

jq_namespace *jq_core_namespace(jq_core *c, const char *name, bool create)
{
    jq_namespace *ns = jq_strmap_get(&c->namespaces, name);
    if (ns || !create)
        return ns;
    if (c->ns_count == c->ns_capacity) {
        size_t capacity = c->ns_capacity ? c->ns_capacity * 2 : 64;
        jq_namespace **order = realloc(c->ns_order, capacity * sizeof *order);
        if (!order)
            return NULL;
        c->ns_order = order;
        uint64_t *live = realloc(c->ns_live, capacity / 64 * sizeof *live);
        if (!live)
            return NULL;
        memset(live + c->ns_capacity / 64, 0,
               (capacity - c->ns_capacity) / 64 * sizeof *live);
        c->ns_live = live;
        c->ns_capacity = capacity;
    }
    ns = jq_core_calloc(1, sizeof *ns);
    if (!ns || !(ns->name = jq_copy_string(name)))
        goto fail;
    if (jq_strmap_put(&c->namespaces, ns) != 0)
        goto fail;
    ns->index = c->ns_count;
    c->ns_order[c->ns_count++] = ns; /* ns_count: restored by the mark */
    jq_core_mark_live(c, ns->index);
    jq_undo_created_ns(c, ns);
    return ns;
fail:
    if (ns)
        free(ns->name);
    free(ns);
    return NULL;
}

void jq_core_mark_live(jq_core *c, size_t index)
{
    c->ns_live[index / 64] |= (uint64_t)1 << (index % 64);
}

size_t jq_core_next_live(const jq_core *c, size_t from)
{
    if (from >= c->ns_count)
        return c->ns_count;
    size_t word = from / 64;
    uint64_t bits = c->ns_live[word] & (~(uint64_t)0 << (from % 64));
    while (!bits) {
        if (++word * 64 >= c->ns_count)
            return c->ns_count;
        bits = c->ns_live[word];
    }
    size_t index = word * 64 + (size_t)__builtin_ctzll(bits);
    return index < c->ns_count ? index : c->ns_count;
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
    c->admit_watermark = UINT64_MAX;
    c->last_tick = INT64_MIN;
    jq_txn_init(c);
    return 0;
}

jq_run *jq_run_alloc(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    jq_run *run = jq_core_calloc(1, sizeof *run + length + 1);
    if (run && length)
        memcpy(run->name, name, length + 1);
    return run;
}

void jq_free_run(jq_run *run)
{
    free(run->detail);
    free(run);
}

static void free_list(jq_list *list)
{
    jq_run *run = list->first;
    while (run) {
        jq_run *next = run->next;
        jq_free_run(run);
        run = next;
    }
    memset(list, 0, sizeof *list);
}

void jq_core_destroy(jq_core *c)
{
    jq_txn_destroy(c);
    free(c->plan);
    free(c->plan_readings);
    jq_core_drop_polled(c);
    free(c->polled);
    for (size_t i = 0; i < c->ns_count; i++) {
        jq_namespace *ns = c->ns_order[i];
        for (int p = 0; p < JQ_PRIORITIES; p++)
            free_list(&ns->queue[p].runs);
        free(ns->name);
        free(ns);
    }
    free(c->ns_live);
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

/* ------------------------------------------------------------------ jobs */

/* The rules (UTF-8 without control characters; namespaces are DNS
 * labels) live in names.c. */
static int validate_name(jq_core *c, const char *what, const char *name,
                         size_t max, bool required)
{
    char err[256];
    int rc = max == JOBQ_NS_MAX
                 ? jq_namespace_check(what, name, err, sizeof err)
                 : jq_name_check(what, name, max, required, err, sizeof err);
    return rc ? jq_core_fail(c, rc, "%s", err) : 0;
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
static uint64_t jq_move_job_runs_to_legacy(jq_core *c, const jq_job *job,
                                        jobq_time_ms now)
{
    uint64_t moved = 0;
    for (size_t i = 0; i < c->ns_count; i++) {
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            jq_run *run = c->ns_order[i]->queue[p].runs.first;
            while (run) {
                jq_run *next = run->next;
                if (!job || run->job == job) {
                    jq_dequeue(c, run);
                    jq_deploy_legacy(c, run, now);
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

    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return JOBQ_ENOMEM;
    /* A namespace created here is undone with the rest if the call fails. */
    jq_namespace *ns = jq_core_namespace(c, def->ns, true);
    char *domain = jq_copy_string(def->domain ? def->domain : "");
    void *payload = def->payload_len ? jq_core_malloc(def->payload_len) : NULL;
    jq_job *job = jq_core_job(c, def->name);
    bool created = job == NULL;
    if (created)
        job = jq_core_calloc(1, sizeof *job);
    if (!ns || !domain || (def->payload_len && !payload) || !job)
        goto oom;
    if (created) {
        if (!(job->name = jq_copy_string(def->name)))
            goto oom;
        if (jq_strmap_put(&c->jobs, job) != 0) {
            free(job->name);
            goto oom;
        }
        jq_undo_created_job(c, job);
    }
    if (payload)
        memcpy(payload, def->payload, def->payload_len);
    jq_undo_job(c, job);
    jq_defer_free(c, job->domain);
    jq_defer_free(c, job->payload);
    jq_undo_alloc(c, domain);
    jq_undo_alloc(c, payload);
    job->domain = domain;
    job->payload = payload;
    job->payload_len = def->payload_len;
    job->ns = ns;
    job->request = def->request;
    job->priority = (uint8_t)def->priority;
    bool to_legacy = job->flow != JOBQ_FLOW_LEGACY &&
                     def->flow == JOBQ_FLOW_LEGACY;
    job->flow = (uint8_t)def->flow;
    jq_save_job(c, job);
    if (c->journal.load_payload) { /* on disk now; read back at deploy */
        jq_defer_free(c, job->payload);
        job->payload = NULL;
    }
    if (to_legacy && !created)
        jq_move_job_runs_to_legacy(c, job, now);
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
    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return JOBQ_ENOMEM;
    jq_undo_job(c, job);
    job->flow = (uint8_t)flow;
    jq_save_job(c, job);
    if (to_legacy)
        jq_move_job_runs_to_legacy(c, job, now);
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

    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return JOBQ_ENOMEM;
    jq_run *run = jq_run_alloc(run_name);
    if (!run)
        return jq_core_fail(c, JOBQ_ENOMEM, "out of memory submitting a run");
    run->id = c->next_id;
    if (jq_idmap_put(&c->runs, run) != 0) {
        jq_free_run(run);
        return jq_core_fail(c, JOBQ_ENOMEM, "out of memory submitting a run");
    }
    jq_undo_created_run(c, run);
    jq_undo_idmap_put(c, run);
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
        jq_undo_ns(c, run->ns);
        jq_tx_push_back(c, &jq_queue_of(run)->runs, run);
        c->queued++;
    }
    jq_save_run(c, run);
    jq_emit_simple(c, JOBQ_EVENT_SUBMITTED, now, run);
    if (legacy)
        jq_deploy_legacy(c, run, now);
    return 0;
}

static jq_run *jq_find_run(jq_core *c, jobq_run_id id)
{
    jq_run *run = jq_idmap_get(&c->runs, id);
    if (!run)
        jq_core_fail(c, JOBQ_ENOTFOUND, "no run with id %" PRIu64, id);
    return run;
}

int jq_core_cancel(jq_core *c, jobq_time_ms now, jobq_run_id id,
                   const char *detail)
{
    jq_run *run = jq_find_run(c, id);
    if (!run)
        return JOBQ_ENOTFOUND;
    const char *text = (detail && *detail) ? detail : "cancelled by request";
    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return JOBQ_ENOMEM;
    switch ((jobq_run_state)run->state) {
    case JOBQ_RUN_QUEUED:
        jq_dequeue(c, run);
        jq_end_run(c, run, now, JOBQ_RUN_CANCELLED, JQ_REASON_USER, text);
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
        jq_end_deployed_run(c, run, now, JOBQ_RUN_CANCELLED, JQ_REASON_USER,
                            text);
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

bool jq_core_cancel_waits_for_cycle(const jq_core *c, jobq_run_id id)
{
    const jq_run *run = jq_idmap_get(&c->runs, id);
    if (!run || run->state != JOBQ_RUN_QUEUED || run->id >= c->admit_watermark)
        return false;
    /* The runs ahead of it that the cycle is deploying, then it? */
    const jq_run *first = jq_queue_of(run)->runs.first;
    while (first && first->state == JOBQ_RUN_DEPLOYING)
        first = first->next;
    return first == run;
}

bool jq_core_submit_waits_for_cycle(const jq_core *c, const char *name)
{
    const jq_job *job = name ? jq_core_job(c, name) : NULL;
    return job && (job->flow == JOBQ_FLOW_LEGACY || !c->config.enabled);
}

int jq_core_report(jq_core *c, jobq_time_ms now, jobq_run_id id,
                   jobq_run_state state, const char *detail)
{
    jq_run *run = jq_find_run(c, id);
    if (!run)
        return JOBQ_ENOTFOUND;
    if (state != JOBQ_RUN_FINISHED && state != JOBQ_RUN_FAILED)
        return jq_core_fail(c, JOBQ_EINVAL, "a run can be reported finished "
                            "or failed, not %s", jobq_run_state_name(state));
    if (run->state != JOBQ_RUN_RUNNING)
        return jq_core_fail(c, JOBQ_ESTATE, "run %" PRIu64 " is %s, not "
                            "running", id,
                            jobq_run_state_name((jobq_run_state)run->state));
    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES))
        return JOBQ_ENOMEM;
    jq_end_deployed_run(c, run, now, state,
                     state == JOBQ_RUN_FAILED ? JQ_REASON_RUN_FAILED
                                              : JQ_REASON_NONE,
                     detail);
    return 0;
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
            jq_undo_ns(c, c->ns_order[i]);
            memset(&c->ns_order[i]->wrr, 0, sizeof c->ns_order[i]->wrr);
            jq_save_namespace(c, c->ns_order[i]);
        }
    }
    c->config = *config;
    return 0;
}

int jq_core_migrate_to_legacy(jq_core *c, jobq_time_ms now,
                              uint64_t *out_moved)
{
    if (!jq_txn_reserve(c, JQ_TXN_OP_ENTRIES + c->jobs.count,
                        JQ_TXN_OP_BYTES + c->jobs.count * sizeof(jq_job)))
        return JOBQ_ENOMEM;
    for (size_t i = 0; i < c->jobs.capacity; i++) {
        jq_job *job = c->jobs.slots[i];
        if (job && job->flow != JOBQ_FLOW_LEGACY) {
            jq_undo_job(c, job);
            job->flow = JOBQ_FLOW_LEGACY;
            jq_save_job(c, job);
        }
    }
    uint64_t moved = jq_move_job_runs_to_legacy(c, NULL, now);
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
           c->ended.first->ended_at < cutoff &&
           jq_txn_reserve(c, JQ_TXN_OP_ENTRIES, JQ_TXN_OP_BYTES)) {
        jq_run *run = c->ended.first;
        jq_tx_remove(c, &c->ended, run);
        jq_idmap_remove(&c->runs, run->id);
        jq_undo_idmap_removed(c, run);
        if (c->journal.run_deleted)
            jq_journal_result(c, c->journal.run_deleted(c->journal.ctx, run));
        jq_defer_free_run(c, run);
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
    jq_core_run_info_at(c, info, run, JQ_POSITION_UNKNOWN);
    return 0;
}

void jq_core_run_info_at(const jq_core *c, jobq_run_info *info,
                         const jq_run *run, uint64_t position)
{
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
        const jq_queue *q = jq_queue_of(run);
        info->queue_position = position != JQ_POSITION_UNKNOWN
                                   ? position
                                   : jq_list_position(&q->runs, run);
        if (q->runs.first == run && q->head_blocked) {
            info->blocked = true;
            info->blocked_resource = (jobq_resource_kind)q->head_resource;
            info->blocked_requested = q->head_requested;
            info->blocked_available = q->head_available;
            info->blocked_since = q->head_blocked_since;
        }
        /* Blocked, or refused by the cluster (SPEC 2.5). */
        jobq_time_ms since;
        if (q->runs.first == run && jq_head_timer(q, &since))
            info->head_timeout_at = since + c->config.head_timeout_s * 1000;
    }
}
