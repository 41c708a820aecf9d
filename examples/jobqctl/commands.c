/*
 * jobqctl's commands, one function each. They use the public libjobq API
 * only, on a handle main.c opened (read-only for the read commands).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jobqctl.h"

/* ------------------------------------------------------------- helpers */

static int run_argument(ctl *c, int index, jobq_run_id *id)
{
    if (ctl_parse_run_id(c->argv[index], id))
        return EXIT_OK;
    return ctl_usage_error("RUN must be a run id (a positive integer), not "
                           "'%s'", c->argv[index]);
}

static int get_run(ctl *c, jobq_run_id id, jobq_run_info *info)
{
    jobq_run_info_init(info, JOBQ_RUN_INFO_VERSION);
    int rc = jobq_run_get(c->sched, info, id);
    if (rc == JOBQ_ENOTFOUND) {
        fprintf(stderr, "jobqctl: no run with id %" PRIu64 "\n", id);
        return EXIT_ERROR;
    }
    return rc == 0 ? EXIT_OK : ctl_library_error(c, "reading the run");
}

static int explain_json(ctl *c, jobq_run_id id, cJSON **out)
{
    char *text = NULL;
    int rc = jobq_run_explain(c->sched, &text, id);
    if (rc == JOBQ_ENOTFOUND) {
        fprintf(stderr, "jobqctl: no run with id %" PRIu64 "\n", id);
        return EXIT_ERROR;
    }
    if (rc != 0)
        return ctl_library_error(c, "explaining the run");
    *out = cJSON_Parse(text);
    jobq_free(text);
    return *out ? EXIT_OK : EXIT_ERROR;
}

/* Print runs by id: a table, or a JSON array. */
static int print_runs(ctl *c, const jobq_run_id *ids, size_t count)
{
    cJSON *array = c->json ? cJSON_CreateArray() : NULL;
    if (!c->json && count > 0)
        out_run_table_header();
    for (size_t i = 0; i < count; i++) {
        jobq_run_info info;
        jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
        int rc = jobq_run_get(c->sched, &info, ids[i]);
        if (rc == JOBQ_ENOTFOUND) /* deleted since the listing */
            continue;
        if (rc == JOBQ_EIO) { /* a damaged row: say so, show the others */
            char msg[512] = "";
            jobq_errmsg(c->sched, msg, sizeof msg);
            fprintf(stderr, "jobqctl: run %" PRIu64 " skipped: %s\n", ids[i],
                    out_safe(msg));
            continue;
        }
        if (rc != 0) {
            cJSON_Delete(array);
            return ctl_library_error(c, "reading the run");
        }
        if (array)
            cJSON_AddItemToArray(array, out_run_json(&info));
        else
            out_run_table_row(&info);
    }
    if (array)
        return out_json(array);
    if (count == 0)
        puts("no runs");
    return EXIT_OK;
}

/* ------------------------------------------------------------ reading */

/* What list shows without --limit or --all. */
#define LIST_DEFAULT_LIMIT 1000

int cmd_list(ctl *c)
{
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.ns = c->ns;
    f.priority = c->priority;
    f.state = c->state;
    f.limit = c->limit;
    jobq_run_id *ids = NULL;
    size_t count = 0;
    if (jobq_run_list(c->sched, &ids, &count, &f) != 0)
        return ctl_library_error(c, "listing runs");
    size_t skip = 0;
    if (!c->limit && !c->all && count > LIST_DEFAULT_LIMIT) {
        skip = count - LIST_DEFAULT_LIMIT;
        fprintf(stderr, "jobqctl: showing the newest %d of %zu runs "
                "(--limit N or --all for more)\n", LIST_DEFAULT_LIMIT, count);
    }
    int rc = print_runs(c, ids + skip, count - skip);
    jobq_free(ids);
    return rc;
}

int cmd_show(ctl *c)
{
    jobq_run_id id;
    jobq_run_info info;
    cJSON *explain = NULL;
    int rc = run_argument(c, 0, &id);
    if (rc == EXIT_OK)
        rc = get_run(c, id, &info);
    if (rc == EXIT_OK)
        rc = explain_json(c, id, &explain);
    if (rc != EXIT_OK)
        return rc;
    cJSON *events = cJSON_DetachItemFromObject(explain, "events");
    cJSON_Delete(explain);
    if (c->json) {
        cJSON *run = out_run_json(&info);
        cJSON_AddItemToObject(run, "events",
                              events ? events : cJSON_CreateArray());
        return out_json(run);
    }
    out_run_details(&info);
    out_events(events);
    cJSON_Delete(events);
    return EXIT_OK;
}

int cmd_explain(ctl *c)
{
    jobq_run_id id;
    cJSON *explain = NULL;
    int rc = run_argument(c, 0, &id);
    if (rc == EXIT_OK)
        rc = explain_json(c, id, &explain);
    if (rc != EXIT_OK)
        return rc;
    if (c->json)
        return out_json(explain);
    out_explain(explain);
    cJSON_Delete(explain);
    return EXIT_OK;
}

int cmd_search(ctl *c)
{
    jobq_run_id *ids = NULL;
    size_t count = 0;
    if (!*c->argv[0])
        return ctl_usage_error("search TEXT must not be empty");
    if (jobq_run_search(c->sched, &ids, &count, c->argv[0], c->limit) != 0)
        return ctl_library_error(c, "searching");
    int rc = print_runs(c, ids, count);
    jobq_free(ids);
    return rc;
}

int cmd_get_property(ctl *c)
{
    if (c->argc == 0) {
        char *json = NULL;
        if (jobq_config_dump(c->sched, &json) != 0)
            return ctl_library_error(c, "reading the configuration");
        cJSON *doc = cJSON_Parse(json);
        jobq_free(json);
        if (c->json)
            return out_json(doc);
        char *pretty = cJSON_Print(doc);
        puts(pretty ? pretty : "");
        free(pretty);
        cJSON_Delete(doc);
        return EXIT_OK;
    }
    char value[256];
    int rc = jobq_property_get(c->sched, c->argv[0], value, sizeof value);
    if (rc != 0)
        return ctl_library_error(c, "get-property");
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, c->argv[0], cJSON_Parse(value));
        return out_json(o);
    }
    puts(value);
    return EXIT_OK;
}

static uint64_t count_runs(ctl *c, const char *ns, int priority, int state)
{
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.ns = ns;
    f.priority = priority;
    f.state = state;
    jobq_run_id *ids = NULL;
    size_t count = 0;
    if (jobq_run_list(c->sched, &ids, &count, &f) != 0)
        count = 0;
    jobq_free(ids);
    return count;
}

static int compare_ids(const void *a, const void *b)
{
    jobq_run_id x = *(const jobq_run_id *)a, y = *(const jobq_run_id *)b;
    return x < y ? -1 : x > y;
}

/* Mark the ids of `ns`'s queued runs as counted; returns how many. */
static uint64_t count_namespace(ctl *c, const char *ns, int priority,
                                const jobq_run_id *queued, bool *counted,
                                size_t total)
{
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.ns = ns;
    f.priority = priority;
    f.state = JOBQ_RUN_QUEUED;
    jobq_run_id *ids = NULL;
    size_t count = 0;
    if (jobq_run_list(c->sched, &ids, &count, &f) != 0)
        return 0;
    for (size_t i = 0; i < count; i++) {
        const jobq_run_id *hit =
            bsearch(&ids[i], queued, total, sizeof *queued, compare_ids);
        if (hit)
            counted[hit - queued] = true;
    }
    jobq_free(ids);
    return count;
}

/* Queued runs per namespace and priority. The namespaces are discovered
 * from the queued runs (one lookup per namespace, not per run: a lookup
 * computes a queue position, which costs up to half the queue). */
static cJSON *queue_lengths(ctl *c)
{
    cJSON *queues = cJSON_CreateObject();
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    f.state = JOBQ_RUN_QUEUED;
    jobq_run_id *queued = NULL;
    size_t total = 0;
    if (jobq_run_list(c->sched, &queued, &total, &f) != 0)
        return queues;
    bool *counted = calloc(total ? total : 1, sizeof *counted);
    for (size_t i = 0; counted && i < total; i++) {
        jobq_run_info info;
        jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
        if (counted[i] || jobq_run_get(c->sched, &info, queued[i]) != 0)
            continue;
        cJSON *ns = cJSON_AddObjectToObject(queues, info.ns);
        for (int p = JOBQ_PRIORITY_HIGH; p <= JOBQ_PRIORITY_NORMAL; p++)
            cJSON_AddNumberToObject(
                ns, out_priority((jobq_priority)p),
                (double)count_namespace(c, info.ns, p, queued, counted,
                                        total));
    }
    free(counted);
    jobq_free(queued);
    return queues;
}

/* The quarantine list as a cJSON document, or NULL (error printed). */
static cJSON *quarantine_doc(ctl *c)
{
    char *text = NULL;
    if (jobq_quarantine_list(c->sched, &text) != 0) {
        ctl_library_error(c, "listing quarantined rows");
        return NULL;
    }
    cJSON *doc = cJSON_Parse(text);
    jobq_free(text);
    if (!doc)
        fprintf(stderr, "jobqctl: out of memory\n");
    return doc;
}

int cmd_stats(ctl *c)
{
    static const char *const states[] = {"queued", "deploying", "running",
                                         "finished", "failed", "cancelled"};
    cJSON *doc = cJSON_CreateObject();
    cJSON *by_state = cJSON_AddObjectToObject(doc, "runs");
    uint64_t total = 0;
    for (int s = 0; s < 6; s++) {
        uint64_t n = count_runs(c, NULL, JOBQ_ANY, s);
        total += n;
        cJSON_AddNumberToObject(by_state, states[s], (double)n);
    }
    cJSON_AddNumberToObject(by_state, "total", (double)total);
    cJSON *queues = queue_lengths(c);
    cJSON_AddItemToObject(doc, "queued", queues);
    cJSON *quarantine = quarantine_doc(c);
    if (!quarantine) {
        cJSON_Delete(doc);
        return EXIT_ERROR;
    }
    double quarantined = cJSON_GetNumberValue(
        cJSON_GetObjectItem(quarantine, "count"));
    cJSON_Delete(quarantine);
    cJSON_AddNumberToObject(doc, "quarantined", quarantined);
    if (c->json)
        return out_json(doc);
    printf("%-10s %10s\n", "STATE", "RUNS");
    for (int s = 0; s < 6; s++)
        printf("%-10s %10.0f\n", states[s],
               cJSON_GetObjectItem(by_state, states[s])->valuedouble);
    printf("%-10s %10" PRIu64 "\n\n", "total", total);
    printf("%-24s %10s %10s\n", "QUEUED IN NAMESPACE", "HIGH", "NORMAL");
    const cJSON *ns;
    cJSON_ArrayForEach(ns, queues)
        printf("%-24s %10.0f %10.0f\n", out_safe(ns->string),
               cJSON_GetObjectItem(ns, "high")->valuedouble,
               cJSON_GetObjectItem(ns, "normal")->valuedouble);
    if (!queues->child)
        puts("(nothing queued)");
    printf("\n%-10s %10.0f%s\n", "quarantined", quarantined,
           quarantined > 0 ? "  rows that could not be loaded: jobqctl "
                             "quarantine"
                           : "");
    cJSON_Delete(doc);
    return EXIT_OK;
}

int cmd_quarantine(ctl *c)
{
    cJSON *doc = quarantine_doc(c);
    if (!doc)
        return EXIT_ERROR;
    if (c->json)
        return out_json(doc);
    const cJSON *rows = cJSON_GetObjectItem(doc, "rows"), *row;
    double count = cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "count"));
    if (count == 0)
        puts("no quarantined rows: every row of the database was loaded");
    else
        printf("%-12s %10s  %s\n", "TABLE", "ROW", "REASON");
    cJSON_ArrayForEach(row, rows)
        printf("%-12s %10.0f  %s\n",
               out_safe(cJSON_GetStringValue(cJSON_GetObjectItem(row,
                                                                 "table"))),
               cJSON_GetNumberValue(cJSON_GetObjectItem(row, "row")),
               out_safe(cJSON_GetStringValue(cJSON_GetObjectItem(row,
                                                                 "reason"))));
    if (count > cJSON_GetArraySize(rows))
        printf("... and %.0f more\n", count - cJSON_GetArraySize(rows));
    cJSON_Delete(doc);
    return EXIT_OK;
}

/* ------------------------------------------------------------ writing */

int cmd_cancel(ctl *c)
{
    jobq_run_id id;
    jobq_run_info info;
    int rc = run_argument(c, 0, &id);
    if (rc == EXIT_OK)
        rc = get_run(c, id, &info);
    if (rc != EXIT_OK)
        return rc;
    const char *reason = c->reason ? c->reason : "cancelled with jobqctl";
    if (jobq_run_cancel(c->sched, id, reason) != 0)
        return ctl_library_error(c, "cancel");
    if (c->no_wait)
        return ctl_print_request(c);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "cancelled", (double)id);
        return out_json(o);
    }
    printf("cancelled run %" PRIu64 "\n", id);
    return EXIT_OK;
}

int cmd_set_property(ctl *c)
{
    if (jobq_property_set(c->sched, c->argv[0], c->argv[1]) != 0)
        return ctl_library_error(c, "set-property");
    if (c->no_wait)
        return ctl_print_request(c);
    char value[256] = "";
    jobq_property_get(c->sched, c->argv[0], value, sizeof value);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, c->argv[0], cJSON_Parse(value));
        return out_json(o);
    }
    printf("%s = %s\n", c->argv[0], value);
    return EXIT_OK;
}

int cmd_migrate(ctl *c)
{
    bool live = false; /* a running scheduler deploys them */
    jobq_is_client(c->sched, &live);
    uint64_t queued = count_runs(c, NULL, JOBQ_ANY, JOBQ_RUN_QUEUED);
    if (queued > 0 && !live) {
        fprintf(stderr, "jobqctl: %" PRIu64 " runs are queued; migrating "
                "deploys them through the legacy flow, and jobqctl has no "
                "cluster access: call jobq_migrate_to_legacy() from the host "
                "instead\n", queued);
        return EXIT_ERROR;
    }
    uint64_t moved = 0;
    if (jobq_migrate_to_legacy(c->sched, &moved) != 0)
        return ctl_library_error(c, "migrate-to-legacy");
    if (c->no_wait)
        return ctl_print_request(c);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "moved", (double)moved);
        return out_json(o);
    }
    printf("every job is on the legacy flow now; %" PRIu64 " runs moved\n",
           moved);
    return EXIT_OK;
}

int cmd_cleanup(ctl *c)
{
    uint64_t deleted = 0;
    if (jobq_cleanup(c->sched, c->limit, &deleted) != 0)
        return ctl_library_error(c, "cleanup");
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "deleted", (double)deleted);
        return out_json(o);
    }
    printf("deleted %" PRIu64 " runs past the retention period\n", deleted);
    return EXIT_OK;
}

/* ------------------------------------------------------------- submit */

static char *read_all(const char *path)
{
    FILE *f = !path || strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf)
        buf[n] = '\0';
    if (f != stdin)
        fclose(f);
    return buf;
}

static const char *string_field(const cJSON *spec, const char *key,
                                bool *bad)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, key);
    if (!item)
        return NULL;
    if (!cJSON_IsString(item)) {
        *bad = true;
        return NULL;
    }
    return item->valuestring;
}

/* A resource amount: a quantity string ("2Gi") or a whole number. */
static int parse_amount(const cJSON *item, jobq_resource_kind kind,
                        int64_t *out, char *err, size_t cap)
{
    if (cJSON_IsNumber(item)) {
        char text[64];
        snprintf(text, sizeof text, "%.17g", item->valuedouble);
        return jobq_quantity_parse(out, text, kind, err, cap);
    }
    if (cJSON_IsString(item))
        return jobq_quantity_parse(out, item->valuestring, kind, err, cap);
    snprintf(err, cap, "must be a quantity such as \"2\" or \"4Gi\"");
    return JOBQ_EINVAL;
}

typedef struct submit_spec {
    const char *job;
    jobq_submit_opts opts;
    jobq_resources request;
} submit_spec;

static int spec_request(const cJSON *spec, size_t index, submit_spec *out)
{
    bool any = false;
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        const char *name = jobq_resource_name((jobq_resource_kind)d);
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, name);
        if (!item)
            continue;
        char err[256] = "";
        if (parse_amount(item, (jobq_resource_kind)d, &out->request.amount[d],
                         err, sizeof err) != 0) {
            fprintf(stderr, "jobqctl: runs[%zu].%s: %s\n", index, name, err);
            return EXIT_ERROR;
        }
        any = true;
    }
    if (any)
        out->opts.request = &out->request;
    return EXIT_OK;
}

/* One spec object. A partial request (say, only cpu) leaves the other
 * dimensions 0, not the job's: give all four or none. */
static int parse_spec(const cJSON *spec, size_t index, submit_spec *out)
{
    bool bad = false;
    jobq_submit_opts_init(&out->opts, JOBQ_SUBMIT_OPTS_VERSION);
    memset(&out->request, 0, sizeof out->request);
    if (!cJSON_IsObject(spec)) {
        fprintf(stderr, "jobqctl: runs[%zu]: must be an object\n", index);
        return EXIT_ERROR;
    }
    out->job = string_field(spec, "job", &bad);
    out->opts.run_name = string_field(spec, "name", &bad);
    out->opts.idempotency_key = string_field(spec, "idempotency_key", &bad);
    const char *priority = string_field(spec, "priority", &bad);
    if (bad || !out->job) {
        fprintf(stderr, "jobqctl: runs[%zu]: \"job\" (a string) is required;"
                " \"name\", \"idempotency_key\" and \"priority\" are "
                "strings\n", index);
        return EXIT_ERROR;
    }
    if (priority && strcmp(priority, "high") && strcmp(priority, "normal")) {
        fprintf(stderr, "jobqctl: runs[%zu].priority: must be \"high\" or "
                "\"normal\", not \"%s\"\n", index, priority);
        return EXIT_ERROR;
    }
    if (priority)
        out->opts.priority = strcmp(priority, "high") == 0
                                 ? JOBQ_PRIORITY_HIGH
                                 : JOBQ_PRIORITY_NORMAL;
    return spec_request(spec, index, out);
}

static int submit_specs(ctl *c, const cJSON *doc)
{
    size_t count = cJSON_IsArray(doc) ? (size_t)cJSON_GetArraySize(doc) : 1;
    submit_spec *specs = calloc(count ? count : 1, sizeof *specs);
    const char **jobs = calloc(count ? count : 1, sizeof *jobs);
    jobq_submit_opts *opts = calloc(count ? count : 1, sizeof *opts);
    jobq_run_id *ids = calloc(count ? count : 1, sizeof *ids);
    int rc = specs && jobs && opts && ids ? EXIT_OK : EXIT_ERROR;
    for (size_t i = 0; rc == EXIT_OK && i < count; i++) {
        const cJSON *spec = cJSON_IsArray(doc) ? cJSON_GetArrayItem(doc, (int)i)
                                               : doc;
        rc = parse_spec(spec, i, &specs[i]);
        jobs[i] = specs[i].job;
        opts[i] = specs[i].opts;
        if (opts[i].request)
            opts[i].request = &specs[i].request;
    }
    if (rc == EXIT_OK &&
        jobq_run_submit_batch(c->sched, ids, jobs, opts, count) != 0)
        rc = ctl_library_error(c, "submit");
    if (rc == EXIT_OK && c->no_wait)
        rc = ctl_print_request(c);
    else if (rc == EXIT_OK && c->json) {
        cJSON *array = cJSON_CreateArray();
        for (size_t i = 0; i < count; i++)
            cJSON_AddItemToArray(array, cJSON_CreateNumber((double)ids[i]));
        out_json(array);
    } else if (rc == EXIT_OK) {
        for (size_t i = 0; i < count; i++)
            printf("submitted run %" PRIu64 " (job %s)\n", ids[i],
                   out_safe(jobs[i]));
    }
    free(specs);
    free(jobs);
    free(opts);
    free(ids);
    return rc;
}

int cmd_submit(ctl *c)
{
    const char *path = c->argc ? c->argv[0] : "-";
    char *text = read_all(path);
    if (!text) {
        fprintf(stderr, "jobqctl: cannot read %s: %s\n",
                strcmp(path, "-") == 0 ? "standard input" : path,
                strerror(errno));
        return EXIT_ERROR;
    }
    cJSON *doc = cJSON_Parse(text);
    free(text);
    if (!doc) {
        fprintf(stderr, "jobqctl: %s: not valid JSON\n",
                strcmp(path, "-") == 0 ? "standard input" : path);
        return EXIT_ERROR;
    }
    int rc = EXIT_OK;
    if (cJSON_IsArray(doc) && cJSON_GetArraySize(doc) == 0) {
        fprintf(stderr, "jobqctl: the run spec array is empty\n");
        rc = EXIT_ERROR;
    } else
        rc = submit_specs(c, doc);
    cJSON_Delete(doc);
    return rc;
}
