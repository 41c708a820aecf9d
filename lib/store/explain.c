/*
 * jobq_run_explain(): "why is my run still queued?" as one JSON object,
 * built from the core's memory (queue position, the head's blocked state,
 * retries, the head timeout) and, with a database, from the event log (the
 * run's history and its queue's recent deployment rate, which the start
 * estimate extrapolates). The format is documented in jobq.h.
 */
#include "explain.h"
#include "names.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#define RATE_WINDOW_MS (3600 * 1000)

static const char *priority_name(jobq_priority p)
{
    return p == JOBQ_PRIORITY_HIGH ? "high" : "normal";
}

static void add_time(cJSON *obj, const char *key, jobq_time_ms t)
{
    if (t < 0)
        cJSON_AddNullToObject(obj, key);
    else
        cJSON_AddNumberToObject(obj, key, (double)t);
}

static void add_basics(cJSON *o, const jobq_run_info *info)
{
    cJSON_AddNumberToObject(o, "run", (double)info->id);
    cJSON_AddStringToObject(o, "state", jobq_run_state_name(info->state));
    cJSON_AddStringToObject(o, "name", info->run_name);
    cJSON_AddStringToObject(o, "job", info->job);
    cJSON_AddStringToObject(o, "domain", info->domain);
    cJSON_AddStringToObject(o, "namespace", info->ns);
    cJSON_AddStringToObject(o, "priority", priority_name(info->priority));
    cJSON_AddStringToObject(o, "flow", info->flow == JOBQ_FLOW_LEGACY
                                           ? "legacy" : "priority");
    add_time(o, "submitted_at", info->submitted_at);
    add_time(o, "deployed_at", info->deployed_at);
    add_time(o, "ended_at", info->ended_at);
    if (info->state >= JOBQ_RUN_FINISHED) {
        cJSON_AddStringToObject(o, "reason", info->reason);
        cJSON_AddStringToObject(o, "detail", info->detail);
    }
    cJSON *retries = cJSON_AddObjectToObject(o, "retries");
    cJSON_AddNumberToObject(retries, "used", info->retries_used);
    cJSON_AddNumberToObject(retries, "left", info->retries_left);
}

/* The head timeout of the run's queue: its head found blocked, or refused
 * by the cluster (SPEC 2.5). */
static void add_head_timeout(cJSON *o, const jq_core *c, const jq_queue *q)
{
    jobq_time_ms since;
    if (q && jq_head_timer(q, &since))
        cJSON_AddNumberToObject(o, "head_timeout_at",
                                (double)(since +
                                         c->config.head_timeout_s * 1000));
    else
        cJSON_AddNullToObject(o, "head_timeout_at");
}

/* What stops the head of the run's queue (the run itself when it is the
 * head), or null. */
static void add_blocked(cJSON *o, const jq_core *c, const jq_queue *q)
{
    add_head_timeout(o, c, q);
    if (!q || !q->head_blocked || !q->runs.first) {
        cJSON_AddNullToObject(o, "blocked");
        return;
    }
    cJSON *b = cJSON_AddObjectToObject(o, "blocked");
    cJSON_AddStringToObject(b, "resource", jobq_resource_name(
                                               (jobq_resource_kind)
                                                   q->head_resource));
    cJSON_AddNumberToObject(b, "requested", (double)q->head_requested);
    cJSON_AddNumberToObject(b, "available", (double)q->head_available);
    cJSON_AddNumberToObject(b, "since", (double)q->head_blocked_since);
    cJSON_AddNumberToObject(b, "head_run", (double)q->runs.first->id);
}

/* The head's refusal streak (SPEC 2.5 stale quota), or null: how often the
 * cluster refused it in a row, its last word, and when the queue tries
 * again. */
static void add_refused(cJSON *o, const jq_queue *q, jobq_time_ms now)
{
    if (!q || !jq_head_refused(q)) {
        cJSON_AddNullToObject(o, "refused");
        return;
    }
    cJSON *r = cJSON_AddObjectToObject(o, "refused");
    cJSON_AddNumberToObject(r, "times", (double)q->head_refusals);
    cJSON_AddStringToObject(r, "last", q->head_refusal);
    cJSON_AddNumberToObject(r, "since", (double)q->head_refused_since);
    cJSON_AddNumberToObject(r, "head_run", (double)q->runs.first->id);
    jobq_time_ms next = q->head_retry_at > now ? q->head_retry_at : now;
    cJSON_AddNumberToObject(r, "next_attempt_at", (double)next);
    char text[96];
    int64_t wait_s = (next - now + 999) / 1000;
    if (wait_s > 0)
        snprintf(text, sizeof text, "refused %u time%s by the cluster, "
                 "next attempt in %lld s", (unsigned)q->head_refusals,
                 q->head_refusals == 1 ? "" : "s", (long long)wait_s);
    else
        snprintf(text, sizeof text, "refused %u time%s by the cluster, "
                 "next attempt at the next cycle",
                 (unsigned)q->head_refusals,
                 q->head_refusals == 1 ? "" : "s");
    cJSON_AddStringToObject(r, "text", text);
}

static bool namespace_has_running(const jq_namespace *ns)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        if (ns->allocated.amount[d] > 0)
            return true;
    return false;
}

static void no_estimate(cJSON *o, const char *note)
{
    cJSON_AddNullToObject(o, "estimated_start");
    cJSON_AddStringToObject(o, "estimate_note", note);
}

/* Extrapolate the queue's deployment rate over the last hour. */
static void add_estimate(cJSON *o, const jq_core *c, jq_store *st,
                         const jq_run *run, uint64_t position,
                         jobq_time_ms now)
{
    const jq_queue *q = &run->ns->queue[run->priority];
    if (!st)
        return no_estimate(o, "needs a database: the estimate comes from "
                              "the event log");
    if (q->head_blocked && !namespace_has_running(run->ns))
        return no_estimate(o, "the head of its queue is blocked and nothing "
                              "is running in the namespace that could free "
                              "resources: it starts only if the quota grows "
                              "or the head times out");
    uint64_t count = 0;
    jobq_time_ms first = 0;
    if (jq_store_deploy_rate(st, run->ns->name, run->priority,
                             now - RATE_WINDOW_MS, &count, &first) != 0 ||
        count == 0)
        return no_estimate(o, "its queue deployed nothing in the last hour: "
                              "no rate to extrapolate");
    jobq_time_ms at = now + (jobq_time_ms)((position + 1) *
                                           (double)RATE_WINDOW_MS / count);
    cJSON *e = cJSON_AddObjectToObject(o, "estimated_start");
    cJSON_AddNumberToObject(e, "at", (double)at);
    char basis[160];
    snprintf(basis, sizeof basis, "%llu deployments from this queue in the "
             "last hour; %llu runs to go including this one",
             (unsigned long long)count, (unsigned long long)position + 1);
    cJSON_AddStringToObject(e, "basis", basis);
    cJSON_AddStringToObject(o, "estimate_note", "an extrapolation of the "
                            "recent rate, not a promise");
}

static void add_queue(cJSON *o, const jq_core *c, jq_store *st,
                      const jq_run *run, jobq_time_ms now)
{
    const jq_queue *q = &run->ns->queue[run->priority];
    uint64_t position = jq_list_position(&q->runs, run);
    cJSON *queue = cJSON_AddObjectToObject(o, "queue");
    cJSON_AddNumberToObject(queue, "position", (double)position);
    cJSON_AddNumberToObject(queue, "length", (double)q->runs.length);
    cJSON_AddNumberToObject(queue, "ahead", (double)position);
    add_blocked(o, c, q);
    add_refused(o, q, now);
    add_estimate(o, c, st, run, position, now);
}

static void add_not_queued(cJSON *o, const jobq_run_info *info)
{
    cJSON_AddNullToObject(o, "queue");
    cJSON_AddNullToObject(o, "blocked");
    cJSON_AddNullToObject(o, "head_timeout_at");
    cJSON_AddNullToObject(o, "refused");
    if (info->deployed_at >= 0) {
        cJSON *e = cJSON_AddObjectToObject(o, "estimated_start");
        cJSON_AddNumberToObject(e, "at", (double)info->deployed_at);
        cJSON_AddStringToObject(e, "basis", "deployed");
        cJSON_AddStringToObject(o, "estimate_note", "already started");
    } else {
        char note[64];
        snprintf(note, sizeof note, "the run is %s",
                 jobq_run_state_name(info->state));
        no_estimate(o, note);
    }
}

int jq_explain(char **out, jq_core *c, jq_store *st,
               const jobq_run_info *info, jobq_time_ms now)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return JOBQ_ENOMEM;
    add_basics(o, info);
    const jq_run *run = jq_idmap_get(&c->runs, info->id);
    if (run && run->state == JOBQ_RUN_QUEUED)
        add_queue(o, c, st, run, now);
    else
        add_not_queued(o, info);
    int rc = 0;
    if (st) {
        cJSON *events = cJSON_AddArrayToObject(o, "events");
        rc = events ? jq_store_run_events(st, events, info->id) : JOBQ_ENOMEM;
    }
    *out = rc == 0 ? cJSON_PrintUnformatted(o) : NULL;
    /* Names from an old database may not be UTF-8: keep the JSON valid. */
    if (*out) {
        char *valid = jq_utf8_repair(*out);
        free(*out);
        *out = valid;
    }
    cJSON_Delete(o);
    if (rc == 0 && !*out)
        rc = JOBQ_ENOMEM;
    return rc;
}
