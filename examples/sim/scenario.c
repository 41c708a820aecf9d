/*
 * Scenario parsing for jobq-sim. Strict on purpose: an unknown field, a
 * wrong type or an impossible value is an error that names the field, so a
 * typo in a what-if scenario cannot silently change its answer.
 */
#include "scenario.h"

#include "index.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    char *err;
    size_t err_cap;
    sim_index run_ids; /* run id -> index, for duplicates and stale_quota */
} parser;

static int fail(parser *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy text, writing control characters as \xNN: names and values come
 * from the scenario, and an error message must stay on one line. */
static void copy_printable(char *out, size_t cap, const char *text)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text;
         *c && n + 5 < cap; c++) {
        if (*c < 0x20 || *c == 0x7f)
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", *c);
        else
            out[n++] = (char)*c;
    }
    out[n] = '\0';
}

static int fail(parser *p, const char *path, const char *fmt, ...)
{
    char msg[400], shown_msg[400], shown_path[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A field name can be as long as the scenario likes: keep the path
     * short enough that "path: message" always fits. */
    copy_printable(shown_path, sizeof shown_path, path);
    copy_printable(shown_msg, sizeof shown_msg, msg);
    snprintf(p->err, p->err_cap, "%s%s: %s", shown_path,
             strlen(shown_path) < strlen(path) ? "..." : "", shown_msg);
    return -1;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* Refuse members of `obj` not listed in `allowed` (NULL-terminated). */
static int only_known_keys(parser *p, const cJSON *obj, const char *path,
                           const char *const *allowed)
{
    const cJSON *member;
    cJSON_ArrayForEach(member, obj)
    {
        bool known = false;
        for (const char *const *k = allowed; *k && !known; k++)
            known = strcmp(member->string, *k) == 0;
        /* cJSON keeps duplicate keys and lookups find the first: refuse
         * them rather than silently ignore the later value. */
        bool twice = false;
        for (const cJSON *earlier = obj->child; known && !twice &&
                                                earlier != member;
             earlier = earlier->next)
            twice = strcmp(earlier->string, member->string) == 0;
        if (known && !twice)
            continue; /* the common case: no message to format */
        char where[300];
        snprintf(where, sizeof where, "%s.%s", path, member->string);
        return fail(p, where, known ? "appears twice" : "unknown field");
    }
    return 0;
}

/* A time or duration in seconds (>= 0) as milliseconds. */
static int seconds_field(parser *p, const cJSON *obj, const char *path,
                         const char *name, bool required, jobq_time_ms *out)
{
    char where[300];
    snprintf(where, sizeof where, "%s%s%s", path, path[0] ? "." : "", name);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) {
        if (required)
            return fail(p, where, "is required");
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return fail(p, where, "must be a number of seconds");
    double seconds = v->valuedouble;
    if (!isfinite(seconds) || seconds < 0 || seconds > 1e12)
        return fail(p, where, "%g is out of range (0..1e12 seconds)", seconds);
    double ms = seconds * 1000.0;
    if (fabs(ms - nearbyint(ms)) > 1e-6 * (1.0 + fabs(ms)))
        return fail(p, where, "%g is finer than the simulator's "
                    "millisecond resolution", seconds);
    *out = (jobq_time_ms)llround(ms);
    return 0;
}

static int string_field(parser *p, const cJSON *obj, const char *path,
                        const char *name, bool required, const char **out)
{
    char where[300];
    snprintf(where, sizeof where, "%s.%s", path, name);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v) {
        if (required)
            return fail(p, where, "is required");
        return 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return fail(p, where, "must be a non-empty string");
    *out = v->valuestring;
    return 0;
}

/* A quantity given as a string ("8", "512Mi") or a number (100). */
static int quantity_value(parser *p, const cJSON *v, const char *where,
                          jobq_resource_kind kind, int64_t *out)
{
    char text[64];
    if (cJSON_IsString(v)) {
        snprintf(text, sizeof text, "%s", v->valuestring);
        if (strlen(v->valuestring) >= sizeof text)
            return fail(p, where, "\"%.20s...\" is too long", v->valuestring);
    } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9e15)
            snprintf(text, sizeof text, "%.0f", d);
        else
            snprintf(text, sizeof text, "%.17g", d);
    } else {
        return fail(p, where, "must be a quantity string or a number");
    }
    char msg[256];
    if (jobq_quantity_parse(out, text, kind, msg, sizeof msg) != 0)
        return fail(p, where, "%s", msg);
    return 0;
}

static int resources_fields(parser *p, const cJSON *obj, const char *path,
                            bool *has, int64_t *amount)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        const char *name = jobq_resource_name((jobq_resource_kind)d);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
        has[d] = v != NULL;
        if (!v)
            continue;
        char where[300];
        snprintf(where, sizeof where, "%s.%s", path, name);
        if (quantity_value(p, v, where, (jobq_resource_kind)d, &amount[d]))
            return -1;
    }
    return 0;
}

int sim_scenario_find_namespace(const sim_scenario *s, const char *name,
                                size_t *out)
{
    return sim_index_get(&s->namespace_index, name, out) ? 0 : -1;
}

static int parse_namespaces(parser *p, sim_scenario *s, const cJSON *root)
{
    const cJSON *nss = cJSON_GetObjectItemCaseSensitive(root, "namespaces");
    if (!nss)
        return fail(p, "namespaces", "is required");
    if (!cJSON_IsObject(nss))
        return fail(p, "namespaces", "must be an object of namespace quotas");
    size_t n = (size_t)cJSON_GetArraySize(nss);
    s->namespaces = calloc(n ? n : 1, sizeof *s->namespaces);
    if (!s->namespaces)
        return fail(p, "namespaces", "out of memory");
    static const char *const keys[] = {"cpu", "memory", "pods", "storage",
                                       NULL};
    const cJSON *ns;
    cJSON_ArrayForEach(ns, nss)
    {
        char path[300];
        snprintf(path, sizeof path, "namespaces.%s", ns->string);
        size_t existing;
        if (sim_scenario_find_namespace(s, ns->string, &existing) == 0)
            return fail(p, path, "is declared twice");
        if (!ns->string[0] || strlen(ns->string) > JOBQ_NS_MAX)
            return fail(p, path, "a namespace name has 1..%d bytes",
                        JOBQ_NS_MAX);
        if (!cJSON_IsObject(ns))
            return fail(p, path, "must be an object");
        if (only_known_keys(p, ns, path, keys))
            return -1;
        sim_namespace *out = &s->namespaces[s->namespace_count];
        bool has[JOBQ_RESOURCE_COUNT];
        if (resources_fields(p, ns, path, has, out->hard.amount))
            return -1;
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            if (!has[d])
                out->hard.amount[d] = JOBQ_UNLIMITED;
        out->name = dup_string(ns->string);
        if (!out->name || !sim_index_put(&s->namespace_index, out->name,
                                         s->namespace_count))
            return fail(p, path, "out of memory");
        s->namespace_count++;
    }
    return 0;
}

static int parse_run(parser *p, sim_scenario *s, const cJSON *r, size_t index)
{
    static const char *const keys[] = {
        "id",       "job",      "namespace", "priority", "flow", "submit_at",
        "duration", "cpu",      "memory",    "pods",     "storage",
        "domain",   NULL};
    char path[320];
    snprintf(path, sizeof path, "runs[%zu]", index);
    if (!cJSON_IsObject(r))
        return fail(p, path, "must be an object");
    const char *id = NULL, *job = NULL, *ns = NULL, *domain = "";
    const char *priority = "normal", *flow = "priority";
    if (string_field(p, r, path, "id", true, &id))
        return -1;
    /* From here on, messages name the run by its id. */
    snprintf(path, sizeof path, "runs[%s]", id);
    size_t earlier;
    if (sim_index_get(&p->run_ids, id, &earlier))
        return fail(p, path, "duplicate run id");
    if (only_known_keys(p, r, path, keys) ||
        string_field(p, r, path, "job", true, &job) ||
        string_field(p, r, path, "namespace", true, &ns) ||
        string_field(p, r, path, "priority", false, &priority) ||
        string_field(p, r, path, "flow", false, &flow) ||
        string_field(p, r, path, "domain", false, &domain))
        return -1;
    sim_run *run = &s->runs[index];
    char where[400];
    if (strlen(job) > JOBQ_NAME_MAX || strlen(id) > JOBQ_NAME_MAX ||
        strlen(domain) > JOBQ_NAME_MAX)
        return fail(p, path, "id, job and domain have at most %d bytes",
                    JOBQ_NAME_MAX);
    if (sim_scenario_find_namespace(s, ns, &run->ns) != 0) {
        snprintf(where, sizeof where, "%s.namespace", path);
        return fail(p, where, "\"%s\" is not declared under namespaces", ns);
    }
    if (strcmp(priority, "high") == 0)
        run->priority = JOBQ_PRIORITY_HIGH;
    else if (strcmp(priority, "normal") == 0)
        run->priority = JOBQ_PRIORITY_NORMAL;
    else {
        snprintf(where, sizeof where, "%s.priority", path);
        return fail(p, where, "\"%s\" is not high or normal", priority);
    }
    if (strcmp(flow, "priority") == 0)
        run->flow = JOBQ_FLOW_PRIORITY;
    else if (strcmp(flow, "legacy") == 0)
        run->flow = JOBQ_FLOW_LEGACY;
    else {
        snprintf(where, sizeof where, "%s.flow", path);
        return fail(p, where, "\"%s\" is not priority or legacy", flow);
    }
    bool has[JOBQ_RESOURCE_COUNT];
    if (seconds_field(p, r, path, "submit_at", false, &run->submit_at) ||
        seconds_field(p, r, path, "duration", true, &run->duration) ||
        resources_fields(p, r, path, has, run->request.amount))
        return -1;
    run->id = dup_string(id);
    run->job = dup_string(job);
    run->domain = dup_string(domain);
    if (!run->id || !run->job || !run->domain ||
        !sim_index_put(&p->run_ids, id, index))
        return fail(p, path, "out of memory");
    return 0;
}

static int parse_runs(parser *p, sim_scenario *s, const cJSON *root)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
    if (!runs)
        return fail(p, "runs", "is required");
    if (!cJSON_IsArray(runs))
        return fail(p, "runs", "must be an array");
    size_t n = (size_t)cJSON_GetArraySize(runs);
    s->runs = calloc(n ? n : 1, sizeof *s->runs);
    s->submit_order = calloc(n ? n : 1, sizeof *s->submit_order);
    if (!s->runs || !s->submit_order)
        return fail(p, "runs", "out of memory");
    const cJSON *r;
    cJSON_ArrayForEach(r, runs)
    {
        if (parse_run(p, s, r, s->run_count))
            return -1;
        s->run_count++;
    }
    return 0;
}

static int parse_quota_changes(parser *p, sim_scenario *s, const cJSON *root)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "quota_changes");
    if (!list)
        return 0;
    if (!cJSON_IsArray(list))
        return fail(p, "quota_changes", "must be an array");
    size_t n = (size_t)cJSON_GetArraySize(list);
    s->quota_changes = calloc(n ? n : 1, sizeof *s->quota_changes);
    if (!s->quota_changes)
        return fail(p, "quota_changes", "out of memory");
    static const char *const keys[] = {"at",   "namespace", "cpu", "memory",
                                       "pods", "storage",   NULL};
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        char path[64];
        snprintf(path, sizeof path, "quota_changes[%zu]", s->quota_change_count);
        if (!cJSON_IsObject(c))
            return fail(p, path, "must be an object");
        sim_quota_change *out = &s->quota_changes[s->quota_change_count];
        const char *ns = NULL;
        if (only_known_keys(p, c, path, keys) ||
            seconds_field(p, c, path, "at", true, &out->at) ||
            string_field(p, c, path, "namespace", true, &ns))
            return -1;
        if (sim_scenario_find_namespace(s, ns, &out->ns) != 0) {
            char where[96];
            snprintf(where, sizeof where, "%s.namespace", path);
            return fail(p, where, "\"%s\" is not declared under namespaces",
                        ns);
        }
        if (resources_fields(p, c, path, out->has, out->amount))
            return -1;
        s->quota_change_count++;
    }
    return 0;
}

static int parse_stale_quota(parser *p, sim_scenario *s, const cJSON *root)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "stale_quota");
    if (!list)
        return 0;
    if (!cJSON_IsArray(list))
        return fail(p, "stale_quota", "must be an array");
    static const char *const keys[] = {"run", "times", "async", NULL};
    size_t index = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        char path[64];
        snprintf(path, sizeof path, "stale_quota[%zu]", index++);
        if (!cJSON_IsObject(e))
            return fail(p, path, "must be an object");
        const char *run = NULL;
        if (only_known_keys(p, e, path, keys) ||
            string_field(p, e, path, "run", true, &run))
            return -1;
        const cJSON *times = cJSON_GetObjectItemCaseSensitive(e, "times");
        char where[96];
        snprintf(where, sizeof where, "%s.times", path);
        if (!times || !cJSON_IsNumber(times) ||
            times->valuedouble != floor(times->valuedouble) ||
            times->valuedouble < 0 || times->valuedouble > 1000000)
            return fail(p, where, "must be a whole number 0..1000000");
        size_t i;
        if (!sim_index_get(&p->run_ids, run, &i)) {
            snprintf(where, sizeof where, "%s.run", path);
            return fail(p, where, "\"%s\" is not a run of this scenario", run);
        }
        const cJSON *async = cJSON_GetObjectItemCaseSensitive(e, "async");
        if (async && !cJSON_IsBool(async)) {
            snprintf(where, sizeof where, "%s.async", path);
            return fail(p, where, "must be true or false");
        }
        if (cJSON_IsTrue(async))
            s->runs[i].stale_quota_async_times += (int)times->valuedouble;
        else
            s->runs[i].stale_quota_times += (int)times->valuedouble;
    }
    return 0;
}

static int parse_top(parser *p, sim_scenario *s, const cJSON *root)
{
    static const char *const keys[] = {"config",        "tick_seconds",
                                       "namespaces",    "runs",
                                       "quota_changes", "stale_quota",
                                       NULL};
    if (!cJSON_IsObject(root))
        return fail(p, "scenario", "must be a JSON object");
    if (only_known_keys(p, root, "scenario", keys))
        return -1;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (config) {
        if (!cJSON_IsObject(config))
            return fail(p, "config", "must be an object");
        s->config_json = cJSON_PrintUnformatted(config);
    }
    s->tick = 1000;
    const cJSON *tick = cJSON_GetObjectItemCaseSensitive(root, "tick_seconds");
    if (tick && (!cJSON_IsNumber(tick) || !(tick->valuedouble >= 0.001) ||
                 tick->valuedouble > 86400))
        return fail(p, "tick_seconds", "must be a number of seconds in "
                                       "0.001..86400");
    if (tick && seconds_field(p, root, "", "tick_seconds", false, &s->tick))
        return -1;
    return parse_namespaces(p, s, root) || parse_runs(p, s, root) ||
                   parse_quota_changes(p, s, root) ||
                   parse_stale_quota(p, s, root)
               ? -1
               : 0;
}

/* Submission order: by submit_at, ties in input order. qsort is not
 * stable, so the comparator breaks ties on the input index. */
static const sim_scenario *sort_scenario;

static int by_submit_time(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    jobq_time_ms ta = sort_scenario->runs[ia].submit_at;
    jobq_time_ms tb = sort_scenario->runs[ib].submit_at;
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

static void order_events(sim_scenario *s)
{
    for (size_t i = 0; i < s->run_count; i++)
        s->submit_order[i] = i;
    /* The index tiebreak makes qsort's order total, hence stable. */
    sort_scenario = s;
    qsort(s->submit_order, s->run_count, sizeof *s->submit_order,
          by_submit_time);
    /* Quota changes: a stable insertion sort keeps ties in input order
     * (these lists are short). */
    for (size_t i = 1; i < s->quota_change_count; i++) {
        sim_quota_change key = s->quota_changes[i];
        size_t j = i;
        while (j > 0 && s->quota_changes[j - 1].at > key.at) {
            s->quota_changes[j] = s->quota_changes[j - 1];
            j--;
        }
        s->quota_changes[j] = key;
    }
}

int sim_scenario_parse(sim_scenario *out, const char *text, size_t len,
                       char *err, size_t err_cap)
{
    parser p = {err, err_cap, {0}};
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t offset = end ? (size_t)(end - text) : 0;
        size_t line = 1;
        for (size_t i = 0; i < offset && i < len; i++)
            line += text[i] == '\n';
        fail(&p, "scenario", "not valid JSON (near byte %zu, line %zu)",
             offset, line);
        return -1;
    }
    size_t consumed = (size_t)(end - text);
    while (consumed < len && (text[consumed] == ' ' || text[consumed] == '\t' ||
                              text[consumed] == '\n' || text[consumed] == '\r'))
        consumed++;
    if (consumed < len) {
        cJSON_Delete(root);
        fail(&p, "scenario", "unexpected data after the JSON document (byte "
             "%zu)", consumed);
        return -1;
    }
    int rc = parse_top(&p, out, root);
    cJSON_Delete(root);
    sim_index_free(&p.run_ids);
    if (rc) {
        sim_scenario_free(out);
        return -1;
    }
    order_events(out);
    return 0;
}

void sim_scenario_free(sim_scenario *s)
{
    for (size_t i = 0; i < s->namespace_count; i++)
        free(s->namespaces[i].name);
    for (size_t i = 0; i < s->run_count; i++) {
        free(s->runs[i].id);
        free(s->runs[i].job);
        free(s->runs[i].domain);
    }
    sim_index_free(&s->namespace_index);
    free(s->namespaces);
    free(s->runs);
    free(s->submit_order);
    free(s->quota_changes);
    free(s->config_json);
    memset(s, 0, sizeof *s);
}
