/*
 * Loads the job definitions file (see jobs_file.h) and defines each job on
 * the scheduler. A job without an explicit request is sized from its
 * SparkApplication manifest.
 */
#include "jobs_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "spark_demand.h"

int namespace_list_add(namespace_list *list, const char *ns)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->names[i], ns) == 0)
            return 0;
    char **grown = realloc(list->names, (list->count + 1) * sizeof *grown);
    if (!grown)
        return JOBQ_ENOMEM;
    list->names = grown;
    if (!(list->names[list->count] = strdup(ns)))
        return JOBQ_ENOMEM;
    list->count++;
    return 0;
}

void namespace_list_clear(namespace_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    list->names = NULL;
    list->count = 0;
}

char *read_text_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    size_t cap = 4096, used = 0;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + used, 1, cap - used - 1, file)) > 0) {
        used += n;
        if (used + 1 == cap) {
            char *grown = realloc(text, cap *= 2);
            if (!grown)
                free(text);
            text = grown;
        }
    }
    fclose(file);
    if (text)
        text[used] = '\0';
    if (length)
        *length = used;
    return text;
}

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(err, cap, fmt, args);
    va_end(args);
    return rc;
}

static const char *string_field(const cJSON *object, const char *name)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(object, name);
    return cJSON_IsString(value) ? value->valuestring : NULL;
}

/* An explicit request: four Kubernetes quantities (pods may be a number). */
static int parse_request(jobq_resources *out, const cJSON *request,
                         const char *job, char *err, size_t cap)
{
    for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++) {
        const char *name = jobq_resource_name((jobq_resource_kind)kind);
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(request, name);
        char text[64], detail[160];
        out->amount[kind] = 0;
        if (!value)
            continue;
        if (cJSON_IsNumber(value))
            snprintf(text, sizeof text, "%.0f", value->valuedouble);
        else if (cJSON_IsString(value))
            snprintf(text, sizeof text, "%s", value->valuestring);
        else
            return fail(err, cap, JOBQ_EINVAL, "jobs[%s].request.%s: not a "
                        "quantity", job, name);
        int rc = jobq_quantity_parse(&out->amount[kind], text,
                                     (jobq_resource_kind)kind, detail,
                                     sizeof detail);
        if (rc)
            return fail(err, cap, rc, "jobs[%s].request.%s: %s", job, name,
                        detail);
    }
    return 0;
}

static int parse_enum(int *out, const cJSON *job, const char *key,
                      const char *first, const char *second, const char *name,
                      char *err, size_t cap)
{
    const char *value = string_field(job, key);
    if (!value || strcmp(value, first) == 0)
        *out = 0;
    else if (strcmp(value, second) == 0)
        *out = 1;
    else
        return fail(err, cap, JOBQ_EINVAL, "jobs[%s].%s: \"%s\" is not \"%s\" "
                    "or \"%s\"", name, key, value, first, second);
    return 0;
}

/* Build and define one job. */
static int define_job(jobq_scheduler *s, const cJSON *job,
                      const char *default_ns, namespace_list *namespaces,
                      char *err, size_t cap)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = string_field(job, "name");
    if (!def.name)
        return fail(err, cap, JOBQ_EINVAL, "jobs: an entry has no \"name\"");
    const cJSON *manifest = cJSON_GetObjectItemCaseSensitive(job, "manifest");
    if (!manifest)
        manifest = cJSON_GetObjectItemCaseSensitive(job, "payload");
    if (!cJSON_IsObject(manifest))
        return fail(err, cap, JOBQ_EINVAL, "jobs[%s].manifest: missing or not "
                    "an object", def.name);
    const cJSON *metadata = cJSON_GetObjectItemCaseSensitive(manifest,
                                                             "metadata");
    def.ns = string_field(job, "namespace");
    if (!def.ns)
        def.ns = string_field(metadata, "namespace");
    if (!def.ns)
        def.ns = default_ns;
    if (!def.ns)
        return fail(err, cap, JOBQ_EINVAL, "jobs[%s].namespace: none given "
                    "and no default namespace", def.name);
    def.domain = string_field(job, "domain");
    int priority, flow;
    int rc = parse_enum(&priority, job, "priority", "normal", "high", def.name,
                        err, cap);
    if (!rc)
        rc = parse_enum(&flow, job, "flow", "priority", "legacy", def.name,
                        err, cap);
    if (rc)
        return rc;
    def.priority = priority ? JOBQ_PRIORITY_HIGH : JOBQ_PRIORITY_NORMAL;
    def.flow = flow ? JOBQ_FLOW_LEGACY : JOBQ_FLOW_PRIORITY;
    const cJSON *request = cJSON_GetObjectItemCaseSensitive(job, "request");
    char detail[256];
    rc = request ? parse_request(&def.request, request, def.name, err, cap)
                 : spark_demand(&def.request, manifest, detail, sizeof detail);
    if (rc && !request)
        return fail(err, cap, rc, "jobs[%s].manifest: %s", def.name, detail);
    if (rc)
        return rc;
    char *payload = cJSON_PrintUnformatted(manifest);
    def.payload = payload;
    def.payload_len = payload ? strlen(payload) : 0;
    rc = jobq_job_define(s, &def);
    free(payload);
    if (rc) {
        jobq_errmsg(s, detail, sizeof detail);
        return fail(err, cap, rc, "jobs[%s]: %s", def.name, detail);
    }
    return namespace_list_add(namespaces, def.ns);
}

int jobs_file_load(jobq_scheduler *s, const char *path, const char *default_ns,
                   namespace_list *namespaces, char *err, size_t err_cap)
{
    char *text = read_text_file(path, NULL);
    if (!text)
        return fail(err, err_cap, JOBQ_ENOTFOUND, "cannot read %s: %s", path,
                    strerror(errno));
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *jobs = cJSON_IsObject(doc)
                            ? cJSON_GetObjectItemCaseSensitive(doc, "jobs")
                            : doc;
    if (!cJSON_IsArray(jobs)) {
        cJSON_Delete(doc);
        return fail(err, err_cap, JOBQ_EPARSE, "%s: not a JSON array of jobs",
                    path);
    }
    int rc = 0;
    const cJSON *job;
    cJSON_ArrayForEach(job, jobs)
    {
        if ((rc = define_job(s, job, default_ns, namespaces, err, err_cap)))
            break;
    }
    cJSON_Delete(doc);
    return rc;
}
