/*
 * The console's read API: overview, runs (a queue in order, or any filter),
 * one run, search, the event feed, properties. Everything comes from the
 * public API (jobq_queues and jobq_queue_runs for the queues and their
 * pages, jobq_metrics_render for the quota readings,
 * jobq_run_list/get/explain/search, jobq_config_dump); no SQL here.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_internal.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500
#define FEED_RUNS 300

/* ------------------------------------------------------------ helpers */

static jobq_scheduler *acquire(console *c)
{
    return c->cfg.acquire(c->cfg.ctx);
}

static void release(console *c, jobq_scheduler *s)
{
    if (c->cfg.release)
        c->cfg.release(c->cfg.ctx, s);
}

static const char *priority_name(int p)
{
    return p == JOBQ_PRIORITY_HIGH ? "high" : "normal";
}

/* -1 if not "high"/"normal". */
static int parse_priority(const char *text)
{
    if (strcmp(text, "high") == 0)
        return JOBQ_PRIORITY_HIGH;
    if (strcmp(text, "normal") == 0)
        return JOBQ_PRIORITY_NORMAL;
    return -1;
}

static int parse_state(const char *text)
{
    for (int st = JOBQ_RUN_QUEUED; st <= JOBQ_RUN_CANCELLED; st++)
        if (strcmp(text, jobq_run_state_name((jobq_run_state)st)) == 0)
            return st;
    return -1;
}

/* A whole number in [min, max] from a query argument; false if bad. */
static bool parse_count(const char *text, size_t min, size_t max,
                        size_t *out)
{
    if (!text[0] || strlen(text) > 12)
        return false;
    for (const char *p = text; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    unsigned long long v = strtoull(text, NULL, 10);
    if (v < min || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

/* offset and limit from the query; false after a 400. */
static bool paging(const httpd_request *req, httpd_response *res,
                   size_t *offset, size_t *limit)
{
    const char *o = httpd_query(req, "offset"), *l = httpd_query(req, "limit");
    *offset = 0;
    *limit = PAGE_DEFAULT;
    if (o && !parse_count(o, 0, 1000000000000ULL, offset)) {
        httpd_error(res, 400, "offset", "offset: \"%.40s\" is not a whole "
                    "number >= 0", o);
        return false;
    }
    if (l && !parse_count(l, 1, PAGE_MAX, limit)) {
        httpd_error(res, 400, "limit", "limit: \"%.40s\" is not a whole "
                    "number in 1..%d", l, PAGE_MAX);
        return false;
    }
    return true;
}

/* Query arguments other than `known` are refused, so a typo in a filter
 * is not silently "everything". */
typedef struct arg_check {
    const char *const *known;
    const char *unknown;
} arg_check;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                     const char *value)
{
    (void)kind, (void)value;
    arg_check *ac = cls;
    for (const char *const *k = ac->known; *k; k++)
        if (strcmp(*k, key) == 0)
            return MHD_YES;
    if (!ac->unknown)
        ac->unknown = key;
    return MHD_YES;
}

static bool only_args(const httpd_request *req, httpd_response *res,
                      const char *const *known)
{
    arg_check ac = {known, NULL};
    MHD_get_connection_values(req->connection, MHD_GET_ARGUMENT_KIND,
                              check_arg, &ac);
    if (ac.unknown) {
        httpd_error(res, 400, ac.unknown, "unknown query parameter \"%.60s\"",
                    ac.unknown);
        return false;
    }
    return true;
}

static void add_time(cJSON *o, const char *key, jobq_time_ms t)
{
    if (t < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)t);
}

static void add_amount(cJSON *o, const char *key, int64_t amount,
                       jobq_resource_kind kind)
{
    char text[64];
    cJSON *a = cJSON_AddObjectToObject(o, key);
    if (amount == JOBQ_UNLIMITED)
        cJSON_AddNullToObject(a, "value");
    else
        cJSON_AddNumberToObject(a, "value", (double)amount);
    if (jobq_quantity_format(text, sizeof text, amount, kind) < 0)
        snprintf(text, sizeof text, "%" PRId64, amount);
    cJSON_AddStringToObject(a, "text", text);
}

/* One run as the pages show it (a jobq_run_info, amounts with text). */
static cJSON *run_json(const jobq_run_info *info)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)info->id);
    cJSON_AddStringToObject(o, "name", info->run_name);
    cJSON_AddStringToObject(o, "job", info->job);
    cJSON_AddStringToObject(o, "domain", info->domain);
    cJSON_AddStringToObject(o, "namespace", info->ns);
    cJSON_AddStringToObject(o, "priority", priority_name(info->priority));
    cJSON_AddStringToObject(o, "flow", info->flow == JOBQ_FLOW_LEGACY
                                           ? "legacy" : "priority");
    cJSON_AddStringToObject(o, "state", jobq_run_state_name(info->state));
    cJSON *req = cJSON_AddObjectToObject(o, "request");
    for (int k = 0; k < JOBQ_RESOURCE_COUNT; k++)
        add_amount(req, jobq_resource_name((jobq_resource_kind)k),
                   info->request.amount[k], (jobq_resource_kind)k);
    add_time(o, "submitted_at", info->submitted_at);
    add_time(o, "deployed_at", info->deployed_at);
    add_time(o, "ended_at", info->ended_at);
    if (info->state == JOBQ_RUN_QUEUED)
        cJSON_AddNumberToObject(o, "position", (double)info->queue_position);
    else
        cJSON_AddNullToObject(o, "position");
    if (info->blocked) {
        cJSON *b = cJSON_AddObjectToObject(o, "blocked");
        jobq_resource_kind k = info->blocked_resource;
        cJSON_AddStringToObject(b, "resource", jobq_resource_name(k));
        add_amount(b, "requested", info->blocked_requested, k);
        add_amount(b, "available", info->blocked_available, k);
        add_time(b, "since", info->blocked_since);
    } else {
        cJSON_AddNullToObject(o, "blocked");
    }
    add_time(o, "head_timeout_at", info->head_timeout_at);
    cJSON *r = cJSON_AddObjectToObject(o, "retries");
    cJSON_AddNumberToObject(r, "used", info->retries_used);
    cJSON_AddNumberToObject(r, "left", info->retries_left);
    cJSON_AddNumberToObject(o, "deploy_attempts", info->deploy_attempts);
    cJSON_AddStringToObject(o, "reason", info->reason);
    cJSON_AddStringToObject(o, "detail", info->detail);
    return o;
}

static int get_run(jobq_scheduler *s, jobq_run_id id, jobq_run_info *info)
{
    jobq_run_info_init(info, JOBQ_RUN_INFO_VERSION);
    return jobq_run_get(s, info, id);
}

/* An array of run objects for ids (runs that vanished meanwhile, deleted
 * by retention, are left out). */
static cJSON *runs_json(jobq_scheduler *s, const jobq_run_id *ids, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    jobq_run_info info;
    for (size_t i = 0; i < n; i++)
        if (get_run(s, ids[i], &info) == 0)
            cJSON_AddItemToArray(a, run_json(&info));
    return a;
}

/* ------------------------------------------------- metrics: the queues */

/* The value of label `name` in a sample line's {...}, into buf. */
static bool label(const char *line, const char *name, char *buf, size_t cap)
{
    char key[48];
    snprintf(key, sizeof key, "%s=\"", name);
    const char *p = strstr(line, key);
    const char *brace = strchr(line, '}');
    if (!p || !brace || p > brace)
        return false;
    p += strlen(key);
    size_t n = strcspn(p, "\"");
    if (n >= cap)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return true;
}

static double sample_value(const char *line)
{
    const char *p = strchr(line, '}');
    return p ? strtod(p + 1, NULL) : 0;
}

static const struct {
    const char *metric;
    jobq_resource_kind kind;
    double scale; /* metric unit -> library unit */
} quota_metrics[] = {
    {"jobq_quota_cpu_cores{", JOBQ_RESOURCE_CPU, 1000},
    {"jobq_quota_memory_bytes{", JOBQ_RESOURCE_MEMORY, 1},
    {"jobq_quota_pods{", JOBQ_RESOURCE_PODS, 1},
    {"jobq_quota_storage_bytes{", JOBQ_RESOURCE_STORAGE, 1},
};

static cJSON *find_or_add_ns(cJSON *quota, const char *ns)
{
    cJSON *item;
    cJSON_ArrayForEach(item, quota)
    {
        const cJSON *name = cJSON_GetObjectItem(item, "namespace");
        if (cJSON_IsString(name) && strcmp(name->valuestring, ns) == 0)
            return cJSON_GetObjectItem(item, "resources");
    }
    item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "namespace", ns);
    cJSON_AddItemToArray(quota, item);
    return cJSON_AddObjectToObject(item, "resources");
}

/* From the metrics text: the quota readings (the queues come from
 * jobq_queues). */
static void scan_metrics(const char *text, cJSON *quota)
{
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        char ns[JOBQ_NS_MAX + 1], kind[16];
        for (size_t i = 0; i < sizeof quota_metrics / sizeof *quota_metrics;
             i++) {
            size_t n = strlen(quota_metrics[i].metric);
            if (strncmp(line, quota_metrics[i].metric, n) != 0 ||
                !label(line, "namespace", ns, sizeof ns) ||
                !label(line, "kind", kind, sizeof kind))
                continue;
            cJSON *res = find_or_add_ns(quota, ns);
            const char *rname = jobq_resource_name(quota_metrics[i].kind);
            cJSON *r = cJSON_GetObjectItem(res, rname);
            if (!r)
                r = cJSON_AddObjectToObject(res, rname);
            add_amount(r, kind,
                       (int64_t)(sample_value(line) * quota_metrics[i].scale +
                                 0.5),
                       quota_metrics[i].kind);
        }
        line = eol ? eol + 1 : NULL;
    }
}

/* ------------------------------------------------------------ overview */

/* Every queue with its length and head, from the library (no queue is
 * walked); *out NULL on failure. */
static size_t list_queues(jobq_scheduler *s, jobq_queue_info **out)
{
    size_t n = 0;
    if (jobq_queues(s, JOBQ_QUEUE_INFO_VERSION, out, &n) != 0)
        *out = NULL;
    return *out ? n : 0;
}

static void add_health(console *c, cJSON *doc)
{
    char message[256] = "ok";
    bool ok = c->cfg.health ? c->cfg.health(c->cfg.health_ctx, message,
                                            sizeof message)
                            : true;
    cJSON *h = cJSON_AddObjectToObject(doc, "health");
    cJSON_AddBoolToObject(h, "ok", ok);
    cJSON_AddStringToObject(h, "message", message);
}

static void add_session(console *c, cJSON *doc)
{
    bool writable = c->cfg.actions && c->cfg.token;
    cJSON_AddBoolToObject(doc, "read_only", !writable);
    const char *why = !c->cfg.actions
                          ? (c->cfg.read_only_reason
                                 ? c->cfg.read_only_reason
                                 : "this console has no actions handle")
                          : !c->cfg.token
                                ? "no admin token is configured (start it "
                                  "with --token-file FILE)"
                                : "";
    cJSON_AddStringToObject(doc, "read_only_reason", why);
    cJSON_AddStringToObject(doc, "source", c->cfg.source ? c->cfg.source : "");
    cJSON_AddNumberToObject(doc, "now", (double)console_wall_ms());
}

void console_api_overview(void *ctx, const httpd_request *req,
                          httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {NULL};
    if (!only_args(req, res, known))
        return;
    double started = console_monotonic_ms();
    jobq_scheduler *s = acquire(c);
    char *text = NULL;
    int rc = jobq_metrics_render(s, &text, NULL);
    if (rc) {
        console_fail(res, s, rc, NULL, "rendering the metrics");
        release(c, s);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    add_session(c, doc);
    add_health(c, doc);
    cJSON *queues = cJSON_AddArrayToObject(doc, "queues");
    cJSON *quota = cJSON_AddArrayToObject(doc, "quota");
    scan_metrics(text, quota);
    jobq_free(text);
    jobq_queue_info *list = NULL;
    size_t n = list_queues(s, &list);
    for (size_t i = 0; i < n; i++) {
        const jobq_queue_info *qi = &list[i];
        cJSON *q = cJSON_CreateObject();
        cJSON_AddStringToObject(q, "namespace", qi->ns);
        cJSON_AddStringToObject(q, "priority", priority_name(qi->priority));
        cJSON_AddNumberToObject(q, "length", (double)qi->length);
        cJSON_AddItemToArray(queues, q);
        jobq_run_info info;
        if (qi->head && get_run(s, qi->head, &info) == 0 &&
            info.state == JOBQ_RUN_QUEUED) {
            cJSON_AddStringToObject(q, "head_state",
                                    info.blocked ? "blocked" : "fits");
            cJSON_AddItemToObject(q, "head", run_json(&info));
        } else {
            cJSON_AddStringToObject(q, "head_state",
                                    qi->length ? "fits" : "empty");
            cJSON_AddNullToObject(q, "head");
        }
    }
    jobq_free(list);
    release(c, s);
    cJSON_AddNumberToObject(doc, "server_ms",
                            console_monotonic_ms() - started);
    console_reply(res, 200, doc);
}

/* ---------------------------------------------------------------- runs */

/* One page of a queue, in order, with positions and estimated starts:
 * one jobq_queue_runs() call, which reaches the page from the nearer end
 * of the queue and knows each run's position from that walk. */
static void queue_page(jobq_scheduler *s, const char *ns, int p,
                       size_t offset, size_t limit, cJSON *doc)
{
    jobq_run_info *infos = malloc(limit * sizeof *infos);
    size_t got = 0;
    uint64_t total = 0;
    for (size_t i = 0; infos && i < limit; i++)
        jobq_run_info_init(&infos[i], JOBQ_RUN_INFO_VERSION);
    if (!infos || jobq_queue_runs(s, ns, (jobq_priority)p, offset, infos,
                                  limit, &got, &total) != 0) {
        /* No queue in that namespace (yet): an empty page. */
        free(infos);
        cJSON_AddNumberToObject(doc, "total", 0);
        cJSON_AddArrayToObject(doc, "runs");
        return;
    }
    cJSON_AddNumberToObject(doc, "total", (double)total);
    cJSON *runs = cJSON_AddArrayToObject(doc, "runs");
    /* The library estimates a start per run from the queue's recent
     * deploy rate; asking it for every run on the page would read the
     * event log each time, so it is asked once, for the page's first run,
     * and the same rate is extended down the page. */
    double rate = 0; /* runs per ms */
    int64_t now = console_wall_ms();
    char *explained = NULL;
    if (got && jobq_run_explain(s, &explained, infos[0].id) == 0) {
        cJSON *e = cJSON_Parse(explained);
        const cJSON *at = cJSON_GetObjectItem(
            cJSON_GetObjectItem(e, "estimated_start"), "at");
        if (cJSON_IsNumber(at) && at->valuedouble > (double)now)
            rate = (double)(offset + 1) / (at->valuedouble - (double)now);
        const cJSON *note = cJSON_GetObjectItem(e, "estimate_note");
        if (cJSON_IsString(note))
            cJSON_AddStringToObject(doc, "estimate_note", note->valuestring);
        cJSON_Delete(e);
        jobq_free(explained);
    }
    for (size_t i = 0; i < got; i++) {
        cJSON *r = run_json(&infos[i]);
        if (rate > 0)
            cJSON_AddNumberToObject(
                r, "estimated_start",
                (double)now + (double)(infos[i].queue_position + 1) / rate);
        else
            cJSON_AddNullToObject(r, "estimated_start");
        cJSON_AddItemToArray(runs, r);
    }
    free(infos);
}

void console_api_runs(void *ctx, const httpd_request *req,
                      httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {"namespace", "priority", "state",
                                        "offset", "limit", NULL};
    if (!only_args(req, res, known))
        return;
    const char *ns = httpd_query(req, "namespace");
    const char *prio = httpd_query(req, "priority");
    const char *state = httpd_query(req, "state");
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    size_t offset, limit;
    if (!paging(req, res, &offset, &limit))
        return;
    if (ns && (!ns[0] || strlen(ns) > JOBQ_NS_MAX))
        return httpd_error(res, 400, "namespace", "namespace: not a "
                           "namespace name (1..%d characters)", JOBQ_NS_MAX);
    if (prio && (f.priority = parse_priority(prio)) < 0)
        return httpd_error(res, 400, "priority", "priority: \"%.40s\" is not "
                           "high or normal", prio);
    if (state && (f.state = parse_state(state)) < 0)
        return httpd_error(res, 400, "state", "state: \"%.40s\" is not one "
                           "of queued, deploying, running, finished, failed, "
                           "cancelled", state);
    f.ns = ns;
    double started = console_monotonic_ms();
    jobq_scheduler *s = acquire(c);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "offset", (double)offset);
    cJSON_AddNumberToObject(doc, "limit", (double)limit);
    if (ns && f.priority >= 0 && f.state == JOBQ_RUN_QUEUED) {
        cJSON_AddStringToObject(doc, "order", "queue");
        queue_page(s, ns, f.priority, offset, limit, doc);
    } else {
        /* Any other filter: newest first. Only the newest offset + limit
         * + 1 are asked for (the store's newest-first query stops there),
         * so the total is known only on the last page; "more" says whether
         * there is another. */
        jobq_run_id *ids = NULL;
        size_t count = 0;
        f.limit = offset + limit + 1;
        int rc = jobq_run_list(s, &ids, &count, &f);
        if (rc) {
            cJSON_Delete(doc);
            console_fail(res, s, rc, NULL, "listing runs");
            release(c, s);
            return;
        }
        cJSON_AddStringToObject(doc, "order", "newest first");
        bool more = count > offset + limit;
        if (more)
            cJSON_AddNullToObject(doc, "total");
        else
            cJSON_AddNumberToObject(doc, "total", (double)count);
        cJSON_AddBoolToObject(doc, "more", more);
        size_t n = offset < count ? count - offset : 0;
        if (n > limit)
            n = limit;
        jobq_run_id *page = malloc((n ? n : 1) * sizeof *page);
        for (size_t i = 0; page && i < n; i++)
            page[i] = ids[count - 1 - offset - i];
        cJSON_AddItemToObject(doc, "runs", runs_json(s, page, page ? n : 0));
        free(page);
        jobq_free(ids);
    }
    release(c, s);
    cJSON_AddNumberToObject(doc, "server_ms",
                            console_monotonic_ms() - started);
    console_reply(res, 200, doc);
}

/* GET /api/v1/runs/ID */
void console_api_run(void *ctx, const httpd_request *req,
                     httpd_response *res)
{
    console *c = ctx;
    jobq_run_id id;
    static const char *const known[] = {NULL};
    if (!console_parse_id(req->rest, &id))
        return httpd_error(res, 400, "id", "\"%.40s\" is not a run id (a "
                           "whole number from 1)", req->rest);
    if (!only_args(req, res, known))
        return;
    jobq_scheduler *s = acquire(c);
    jobq_run_info info;
    char *explained = NULL;
    int rc = get_run(s, id, &info);
    if (rc == 0)
        rc = jobq_run_explain(s, &explained, id);
    if (rc) {
        if (rc == JOBQ_ENOTFOUND)
            httpd_error(res, 404, "id", "no run %" PRIu64 " (never "
                        "submitted, or deleted by retention)", id);
        else
            console_fail(res, s, rc, NULL, "reading the run");
        release(c, s);
        return;
    }
    release(c, s);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "run", run_json(&info));
    cJSON *e = cJSON_Parse(explained);
    jobq_free(explained);
    cJSON_AddItemToObject(doc, "explain", e ? e : cJSON_CreateNull());
    console_reply(res, 200, doc);
}

/* GET /api/v1/search?q=TEXT[&limit=N] */
void console_api_search(void *ctx, const httpd_request *req,
                        httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {"q", "limit", NULL};
    if (!only_args(req, res, known))
        return;
    const char *q = httpd_query(req, "q");
    const char *l = httpd_query(req, "limit");
    size_t limit = PAGE_DEFAULT;
    if (!q || !q[0])
        return httpd_error(res, 400, "q", "q: give the text to search for");
    if (strlen(q) > JOBQ_NAME_MAX)
        return httpd_error(res, 400, "q", "q: longer than %d bytes",
                           JOBQ_NAME_MAX);
    if (l && !parse_count(l, 1, PAGE_MAX, &limit))
        return httpd_error(res, 400, "limit", "limit: \"%.40s\" is not a "
                           "whole number in 1..%d", l, PAGE_MAX);
    jobq_scheduler *s = acquire(c);
    jobq_run_id *ids = NULL;
    size_t count = 0;
    int rc = jobq_run_search(s, &ids, &count, q, limit);
    if (rc) {
        console_fail(res, s, rc, "q", "searching");
        release(c, s);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "q", q);
    cJSON_AddItemToObject(doc, "runs", runs_json(s, ids, count));
    jobq_free(ids);
    release(c, s);
    console_reply(res, 200, doc);
}

/* ---------------------------------------------------------- event feed */

static bool feed_type(const char *event)
{
    return strcmp(event, "rescheduled") == 0 ||
           strcmp(event, "head_timeout_retry") == 0 ||
           strcmp(event, "cancelled") == 0 || strcmp(event, "failed") == 0 ||
           strcmp(event, "deploy_retry") == 0;
}

static int by_time_desc(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    double tx = cJSON_GetObjectItem(x, "time")->valuedouble;
    double ty = cJSON_GetObjectItem(y, "time")->valuedouble;
    return tx < ty ? 1 : tx > ty ? -1 : 0;
}

/* The feed's events of one run, appended to *items. */
static void collect_events(jobq_scheduler *s, jobq_run_id id, cJSON ***items,
                           size_t *n, size_t *cap)
{
    char *text = NULL;
    if (jobq_run_explain(s, &text, id) != 0)
        return;
    cJSON *e = cJSON_Parse(text);
    jobq_free(text);
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(e, "events"))
    {
        const cJSON *type = cJSON_GetObjectItem(ev, "event");
        if (!cJSON_IsString(type) || !feed_type(type->valuestring) ||
            !cJSON_IsNumber(cJSON_GetObjectItem(ev, "time")))
            continue;
        if (*n == *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 64;
            cJSON **grown = realloc(*items, grown_cap * sizeof *grown);
            if (!grown)
                break;
            *items = grown;
            *cap = grown_cap;
        }
        cJSON *item = cJSON_Duplicate(ev, true);
        cJSON_AddNumberToObject(item, "run", (double)id);
        static const char *const copied[] = {"job", "namespace", "priority",
                                             "name"};
        for (size_t i = 0; i < 4; i++) {
            const cJSON *v = cJSON_GetObjectItem(e, copied[i]);
            if (cJSON_IsString(v))
                cJSON_AddStringToObject(item, copied[i], v->valuestring);
        }
        (*items)[(*n)++] = item;
    }
    cJSON_Delete(e);
}

/* GET /api/v1/events[?limit=N]: recent reschedules, head timeouts,
 * deploy retries, cancellations and failures, newest first. The library
 * has no "events since" query; the feed reads the event logs of the runs
 * those events can belong to: among the newest FEED_RUNS runs, those that
 * are not simply queued, and the head of every queue. */
void console_api_events(void *ctx, const httpd_request *req,
                        httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {"limit", NULL};
    if (!only_args(req, res, known))
        return;
    const char *l = httpd_query(req, "limit");
    size_t limit = 100;
    if (l && !parse_count(l, 1, PAGE_MAX, &limit))
        return httpd_error(res, 400, "limit", "limit: \"%.40s\" is not a "
                           "whole number in 1..%d", l, PAGE_MAX);
    double started = console_monotonic_ms();
    jobq_scheduler *s = acquire(c);
    cJSON **items = NULL;
    size_t n = 0, cap = 0;
    /* The newest FEED_RUNS runs, any state: one newest-first query that
     * stops after FEED_RUNS rows however deep the queues are (a list by
     * state would scan every run of a million-run store). Queued runs
     * among them are skipped unless something happened to them. */
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.limit = FEED_RUNS;
    jobq_run_id *ids = NULL;
    size_t count = 0;
    if (jobq_run_list(s, &ids, &count, &f) == 0) {
        jobq_run_info info;
        for (size_t i = count; i-- > 0;)
            if (get_run(s, ids[i], &info) == 0 &&
                (info.state != JOBQ_RUN_QUEUED || info.retries_used ||
                 info.deploy_attempts))
                collect_events(s, ids[i], &items, &n, &cap);
        jobq_free(ids);
    }
    /* And every queue's head: where the reschedules and head timeouts of
     * runs still queued are. */
    jobq_run_id heads[CONSOLE_MAX_QUEUES];
    size_t heads_n = 0;
    jobq_queue_info *list = NULL;
    size_t queues_n = list_queues(s, &list);
    for (size_t i = 0; i < queues_n && heads_n < CONSOLE_MAX_QUEUES; i++)
        if (list[i].head)
            heads[heads_n++] = list[i].head;
    jobq_free(list);
    for (size_t i = 0; i < heads_n; i++) {
        bool seen = false; /* a head may be among the newest runs too */
        for (size_t k = 0; k < n && !seen; k++)
            seen = cJSON_GetObjectItem(items[k], "run")->valuedouble ==
                   (double)heads[i];
        if (!seen)
            collect_events(s, heads[i], &items, &n, &cap);
    }
    release(c, s);
    if (n)
        qsort(items, n, sizeof *items, by_time_desc);
    cJSON *doc = cJSON_CreateObject();
    cJSON *events = cJSON_AddArrayToObject(doc, "events");
    for (size_t i = 0; i < n; i++) {
        if (i < limit)
            cJSON_AddItemToArray(events, items[i]);
        else
            cJSON_Delete(items[i]);
    }
    free(items);
    cJSON_AddNumberToObject(doc, "server_ms",
                            console_monotonic_ms() - started);
    console_reply(res, 200, doc);
}

/* ---------------------------------------------------------- properties */

/* Every leaf of the configuration as {key, value}: system properties by
 * their own key, the rest by dotted path (what jobq_property_set takes). */
static void flatten(const cJSON *node, const char *path, cJSON *out)
{
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        char key[512];
        if (strcmp(path, "systemProperties") == 0)
            snprintf(key, sizeof key, "%s", child->string);
        else if (path[0])
            snprintf(key, sizeof key, "%s.%s", path, child->string);
        else
            snprintf(key, sizeof key, "%s", child->string);
        if (cJSON_IsObject(child)) {
            flatten(child, key, out);
            continue;
        }
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "key", key);
        cJSON_AddItemToObject(p, "value", cJSON_Duplicate(child, true));
        cJSON_AddStringToObject(p, "group", path[0] ? path : child->string);
        cJSON_AddItemToArray(out, p);
    }
}

void console_api_properties(void *ctx, const httpd_request *req,
                            httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {NULL};
    if (!only_args(req, res, known))
        return;
    jobq_scheduler *s = acquire(c);
    char *text = NULL;
    int rc = jobq_config_dump(s, &text);
    if (rc) {
        console_fail(res, s, rc, NULL, "reading the configuration");
        release(c, s);
        return;
    }
    release(c, s);
    cJSON *config = cJSON_Parse(text);
    jobq_free(text);
    cJSON *doc = cJSON_CreateObject();
    add_session(c, doc);
    cJSON *list = cJSON_AddArrayToObject(doc, "properties");
    if (config)
        flatten(config, "", list);
    cJSON_AddItemToObject(doc, "config", config ? config : cJSON_CreateNull());
    console_reply(res, 200, doc);
}

void console_api_session(void *ctx, const httpd_request *req,
                         httpd_response *res)
{
    console *c = ctx;
    cJSON *doc = cJSON_CreateObject();
    add_session(c, doc);
    add_health(c, doc);
    console_reply(res, 200, doc);
}
