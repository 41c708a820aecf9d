/*
 * Loads the job definitions file (see jobs_file.h) strictly: the file is
 * read and checked as a whole before anything is defined, and every
 * problem names the file, the job and the path of the offending key.
 */
#include "jobs_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crd_rules.h"
#include "kube_client.h"
#include "names.h"

int namespace_list_add(namespace_list *list, const char *ns)
{
    if (namespace_list_find(list, ns) >= 0)
        return 0;
    char **grown = realloc(list->names, (list->count + 1) * sizeof *grown);
    if (!grown)
        return JOBQ_ENOMEM;
    list->names = grown;
    bool *flags = realloc(list->no_quota_ok, (list->count + 1) * sizeof *flags);
    if (!flags)
        return JOBQ_ENOMEM;
    list->no_quota_ok = flags;
    if (!(list->names[list->count] = strdup(ns)))
        return JOBQ_ENOMEM;
    list->no_quota_ok[list->count] = false;
    list->count++;
    return 0;
}

long namespace_list_find(const namespace_list *list, const char *ns)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->names[i], ns) == 0)
            return (long)i;
    return -1;
}

void namespace_list_clear(namespace_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    free(list->no_quota_ok);
    memset(list, 0, sizeof *list);
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

/* What one job's checks need to say where a problem is. */
typedef struct where {
    const char *file;
    const char *job; /* NULL until the name is known */
    int index;
    char *err;
    size_t cap;
} where;

static int fail(const where *w, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const where *w, int rc, const char *fmt, ...)
{
    char detail[400];
    va_list args;
    va_start(args, fmt);
    vsnprintf(detail, sizeof detail, fmt, args);
    va_end(args);
    if (w->job)
        snprintf(w->err, w->cap, "%s: job \"%s\" (jobs[%d]): %s", w->file,
                 w->job, w->index, detail);
    else if (w->index >= 0)
        snprintf(w->err, w->cap, "%s: jobs[%d]: %s", w->file, w->index, detail);
    else
        snprintf(w->err, w->cap, "%s: %s", w->file, detail);
    return rc;
}

/* Every member of `object` must be one of `allowed`. */
static int only_keys(const where *w, const cJSON *object, const char *path,
                     const char *const *allowed)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, object)
    {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, item->string) == 0;
        if (known)
            continue;
        char list[256] = "";
        for (const char *const *a = allowed; *a; a++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     a == allowed ? "" : ", ", *a);
        return fail(w, JOBQ_EINVAL, "%s%s%s: unknown key (known: %s)", path,
                    path[0] ? "." : "", item->string, list);
    }
    return 0;
}

/* An optional string member; present but not a string is an error. */
static int optional_string(const where *w, const cJSON *object,
                           const char *key, const char **out)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(object, key);
    *out = NULL;
    if (!value)
        return 0;
    if (!cJSON_IsString(value))
        return fail(w, JOBQ_EINVAL, "%s: must be a string", key);
    *out = value->valuestring;
    return 0;
}

/* An explicit request: four Kubernetes quantities (pods may be a number). */
static int parse_request(const where *w, jobq_resources *out,
                         const cJSON *request)
{
    static const char *const keys[] = {"cpu", "memory", "pods", "storage",
                                       NULL};
    if (!cJSON_IsObject(request))
        return fail(w, JOBQ_EINVAL, "request: must be an object");
    int rc = only_keys(w, request, "request", keys);
    for (int kind = 0; !rc && kind < JOBQ_RESOURCE_COUNT; kind++) {
        const char *name = jobq_resource_name((jobq_resource_kind)kind);
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(request, name);
        char text[64], detail[160];
        out->amount[kind] = 0;
        if (!value)
            continue;
        if (cJSON_IsNumber(value))
            snprintf(text, sizeof text, "%.17g", value->valuedouble);
        else if (cJSON_IsString(value))
            snprintf(text, sizeof text, "%s", value->valuestring);
        else
            return fail(w, JOBQ_EINVAL, "request.%s: not a quantity", name);
        rc = jobq_quantity_parse(&out->amount[kind], text,
                                 (jobq_resource_kind)kind, detail,
                                 sizeof detail);
        if (rc)
            return fail(w, rc, "request.%s: %s", name, detail);
    }
    return rc;
}

static int parse_enum(const where *w, int *out, const cJSON *job,
                      const char *key, const char *first, const char *second)
{
    const char *value;
    int rc = optional_string(w, job, key, &value);
    if (rc)
        return rc;
    if (!value || strcmp(value, first) == 0)
        *out = 0;
    else if (strcmp(value, second) == 0)
        *out = 1;
    else
        return fail(w, JOBQ_EINVAL, "%s: \"%s\" is not \"%s\" or \"%s\"", key,
                    value, first, second);
    return 0;
}

typedef struct unknown_ctx {
    const where *w;
    unsigned count;
} unknown_ctx;

static void report_unknown(void *ctx, const char *path)
{
    unknown_ctx *u = ctx;
    u->count++;
    kube_log(1, "%s: job \"%s\": manifest.%s is not a field of the Spark "
                "operator's v1beta2 CRD: the API server would prune it "
                "(silently drop it)", u->w->file, u->w->job, path);
}

/* The manifest of a job: checked against the CRD, wrapped as an object
 * with "spec" (the form the deployer sends). */
static int parse_manifest(const where *w, const cJSON *job, cJSON **out)
{
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(job, "manifest");
    if (!cJSON_IsObject(given))
        return fail(w, JOBQ_EINVAL, "manifest: missing or not an object");
    cJSON *manifest = cJSON_Duplicate(given, true);
    if (!cJSON_GetObjectItemCaseSensitive(manifest, "spec") &&
        !cJSON_GetObjectItemCaseSensitive(manifest, "apiVersion")) {
        cJSON *wrapped = cJSON_CreateObject();
        cJSON_AddItemToObject(wrapped, "spec", manifest);
        manifest = wrapped;
    }
    char detail[300];
    unknown_ctx unknown = {w, 0};
    if (crd_validate(manifest, detail, sizeof detail, report_unknown,
                     &unknown) != 0) {
        cJSON_Delete(manifest);
        return fail(w, JOBQ_EINVAL, "manifest.%s", detail);
    }
    *out = manifest;
    return 0;
}

/* The namespace of a job: its own, the manifest's, else the default. */
static int job_namespace(const where *w, const cJSON *job,
                         const cJSON *manifest, const char *default_ns,
                         const char **ns)
{
    int rc = optional_string(w, job, "namespace", ns);
    if (rc)
        return rc;
    const cJSON *meta_ns = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(manifest, "metadata"), "namespace");
    if (meta_ns && !cJSON_IsString(meta_ns))
        return fail(w, JOBQ_EINVAL, "manifest.metadata.namespace: must be a "
                    "string");
    if (*ns && meta_ns && strcmp(*ns, meta_ns->valuestring) != 0)
        return fail(w, JOBQ_EINVAL, "namespace \"%s\" and manifest.metadata."
                    "namespace \"%s\" differ", *ns, meta_ns->valuestring);
    if (!*ns && meta_ns)
        *ns = meta_ns->valuestring;
    if (!*ns)
        *ns = default_ns;
    if (!*ns)
        return fail(w, JOBQ_EINVAL, "namespace: none given and no default "
                    "namespace (--namespace or the kubeconfig context's)");
    if (!k8s_is_dns_label(*ns))
        return fail(w, JOBQ_EINVAL, "namespace: \"%s\" is not a valid "
                    "namespace name (a DNS-1123 label: lower-case letters, "
                    "digits and '-', at most 63)", *ns);
    return 0;
}

static int parse_job(const where *w, host_job *out, const cJSON *job,
                     const char *default_ns)
{
    static const char *const keys[] = {"name", "namespace", "domain",
                                       "priority", "flow", "request",
                                       "manifest", NULL};
    if (!cJSON_IsObject(job))
        return fail(w, JOBQ_EINVAL, "must be an object");
    const char *name, *ns, *domain;
    int rc = optional_string(w, job, "name", &name);
    if (!rc && !name)
        rc = fail(w, JOBQ_EINVAL, "name: missing");
    if (rc)
        return rc;
    where named = *w;
    named.job = name;
    w = &named;
    if (!k8s_is_label_value(name))
        return fail(w, JOBQ_EINVAL, "name: not a valid label value (letters, "
                    "digits, '-', '_', '.', starting and ending with a letter "
                    "or digit, at most 63): it is the jobq.io/job label of "
                    "its SparkApplications");
    cJSON *manifest = NULL;
    int priority = 0, flow = 0;
    rc = only_keys(w, job, "", keys);
    if (!rc)
        rc = parse_manifest(w, job, &manifest);
    if (!rc)
        rc = job_namespace(w, job, manifest, default_ns, &ns);
    if (!rc)
        rc = optional_string(w, job, "domain", &domain);
    if (!rc)
        rc = parse_enum(w, &priority, job, "priority", "normal", "high");
    if (!rc)
        rc = parse_enum(w, &flow, job, "flow", "priority", "legacy");
    char detail[300];
    if (!rc && spark_shape_of(&out->shape, manifest, detail, sizeof detail))
        rc = fail(w, JOBQ_EINVAL, "manifest: %s", detail);
    const cJSON *request = cJSON_GetObjectItemCaseSensitive(job, "request");
    if (!rc && request)
        rc = parse_request(w, &out->request, request);
    else if (!rc)
        spark_shape_requests(&out->shape, &out->request);
    if (!rc) {
        out->name = strdup(name);
        out->ns = strdup(ns);
        out->domain = domain ? strdup(domain) : NULL;
        out->priority = priority ? JOBQ_PRIORITY_HIGH : JOBQ_PRIORITY_NORMAL;
        out->flow = flow ? JOBQ_FLOW_LEGACY : JOBQ_FLOW_PRIORITY;
        out->payload = cJSON_PrintUnformatted(manifest);
        if (!out->name || !out->ns || (domain && !out->domain) || !out->payload)
            rc = JOBQ_ENOMEM;
    }
    cJSON_Delete(manifest);
    return rc;
}

/* "namespaces": { "NS": { "allowWithoutQuota": bool } } */
static int parse_namespaces(const where *w, const cJSON *section,
                            namespace_list *namespaces)
{
    static const char *const keys[] = {"allowWithoutQuota", NULL};
    if (!section)
        return 0;
    if (!cJSON_IsObject(section))
        return fail(w, JOBQ_EINVAL, "namespaces: must be an object");
    const cJSON *entry;
    cJSON_ArrayForEach(entry, section)
    {
        char path[128];
        snprintf(path, sizeof path, "namespaces.%s", entry->string);
        if (!k8s_is_dns_label(entry->string))
            return fail(w, JOBQ_EINVAL, "%s: not a valid namespace name (a "
                        "DNS-1123 label)", path);
        if (!cJSON_IsObject(entry))
            return fail(w, JOBQ_EINVAL, "%s: must be an object", path);
        int rc = only_keys(w, entry, path, keys);
        if (rc)
            return rc;
        const cJSON *allow =
            cJSON_GetObjectItemCaseSensitive(entry, "allowWithoutQuota");
        if (allow && !cJSON_IsBool(allow))
            return fail(w, JOBQ_EINVAL, "%s.allowWithoutQuota: must be true "
                        "or false", path);
        if ((rc = namespace_list_add(namespaces, entry->string)))
            return rc;
        namespaces->no_quota_ok[namespace_list_find(namespaces,
                                                    entry->string)] =
            cJSON_IsTrue(allow);
    }
    return 0;
}

static int parse_document(const where *w, const cJSON *doc, jobs_config *out,
                          const char *default_ns, namespace_list *namespaces)
{
    static const char *const keys[] = {"jobs", "namespaces", NULL};
    const cJSON *jobs = doc;
    int rc = 0;
    if (cJSON_IsObject(doc)) {
        if ((rc = only_keys(w, doc, "", keys)) ||
            (rc = parse_namespaces(
                 w, cJSON_GetObjectItemCaseSensitive(doc, "namespaces"),
                 namespaces)))
            return rc;
        jobs = cJSON_GetObjectItemCaseSensitive(doc, "jobs");
    }
    if (!cJSON_IsArray(jobs))
        return fail(w, JOBQ_EPARSE, "not a JSON array of jobs (or an object "
                    "with \"jobs\")");
    int n = cJSON_GetArraySize(jobs);
    out->jobs = calloc(n ? (size_t)n : 1, sizeof *out->jobs);
    if (!out->jobs)
        return JOBQ_ENOMEM;
    for (int i = 0; i < n && !rc; i++) {
        where at = *w;
        at.index = i;
        rc = parse_job(&at, &out->jobs[i], cJSON_GetArrayItem(jobs, i),
                       default_ns);
        if (!rc)
            out->count++;
        for (size_t j = 0; !rc && j + 1 < out->count; j++)
            if (strcmp(out->jobs[j].name, out->jobs[i].name) == 0) {
                at.job = out->jobs[i].name;
                rc = fail(&at, JOBQ_EINVAL, "name: duplicate (also jobs[%zu])",
                          j);
            }
        if (!rc)
            rc = namespace_list_add(namespaces, out->jobs[i].ns);
    }
    return rc;
}

int jobs_file_parse(jobs_config *out, const char *path, const char *default_ns,
                    namespace_list *namespaces, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    where w = {path, NULL, -1, err, err_cap};
    char *text = read_text_file(path, NULL);
    if (!text)
        return fail(&w, JOBQ_ENOTFOUND, "cannot read: %s", strerror(errno));
    const char *error_at = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &error_at, true);
    int rc = 0;
    if (!doc)
        rc = fail(&w, JOBQ_EPARSE, "not valid JSON (near byte %ld)",
                  error_at ? (long)(error_at - text) : 0L);
    else
        rc = parse_document(&w, doc, out, default_ns, namespaces);
    free(text);
    cJSON_Delete(doc);
    if (rc)
        jobs_config_clear(out);
    return rc;
}

int jobs_config_define(jobq_scheduler *s, const jobs_config *config,
                       char *err, size_t err_cap)
{
    for (size_t i = 0; i < config->count; i++) {
        const host_job *job = &config->jobs[i];
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = job->name;
        def.ns = job->ns;
        def.domain = job->domain;
        def.priority = job->priority;
        def.flow = job->flow;
        def.request = job->request;
        def.payload = job->payload;
        def.payload_len = strlen(job->payload);
        int rc = jobq_job_define(s, &def);
        if (rc) {
            char detail[256];
            jobq_errmsg(s, detail, sizeof detail);
            snprintf(err, err_cap, "job \"%s\": %s", job->name, detail);
            return rc;
        }
    }
    return 0;
}

const host_job *jobs_config_find(const jobs_config *config, const char *name)
{
    for (size_t i = 0; config && i < config->count; i++)
        if (strcmp(config->jobs[i].name, name) == 0)
            return &config->jobs[i];
    return NULL;
}

void jobs_config_clear(jobs_config *config)
{
    for (size_t i = 0; i < config->count; i++) {
        free(config->jobs[i].name);
        free(config->jobs[i].ns);
        free(config->jobs[i].domain);
        free(config->jobs[i].payload);
    }
    free(config->jobs);
    memset(config, 0, sizeof *config);
}
