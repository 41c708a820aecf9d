/*
 * Resource demand of a SparkApplication: the pods its driver and executors
 * become, computed the way Spark on Kubernetes sizes them (memory +
 * overhead with a 384 MiB floor, cpu request and limit) from the spec and
 * its sparkConf. See spark_demand.h for the rules.
 */
#include "spark_demand.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIB (INT64_C(1) << 20)
#define OVERHEAD_MIN_BYTES (384 * MIB)
#define FACTOR_JVM 0.1
#define FACTOR_NON_JVM 0.4
#define SPARK_DEFAULT_EXECUTORS 2

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int rc, const char *fmt, ...)
{
    if (err && cap) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err, cap, fmt, args);
        va_end(args);
    }
    return rc;
}

/* The multiplier of a Spark size suffix, 0 if it is not one. */
static int64_t suffix_multiplier(const char *suffix)
{
    static const struct {
        const char *name;
        int64_t bytes;
    } units[] = {
        {"", MIB},          {"b", 1},          {"k", INT64_C(1) << 10},
        {"kb", INT64_C(1) << 10}, {"m", MIB},  {"mb", MIB},
        {"g", INT64_C(1) << 30}, {"gb", INT64_C(1) << 30},
        {"t", INT64_C(1) << 40}, {"tb", INT64_C(1) << 40},
        {"p", INT64_C(1) << 50}, {"pb", INT64_C(1) << 50},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(suffix, units[i].name) == 0)
            return units[i].bytes;
    return 0;
}

int spark_memory_parse(int64_t *bytes, const char *text, char *err,
                       size_t err_cap)
{
    if (!text || !isdigit((unsigned char)text[0]))
        return fail(err, err_cap, JOBQ_EPARSE,
                    "\"%s\" is not a Spark memory size (like 512m or 2g)",
                    text ? text : "");
    errno = 0;
    char *end;
    unsigned long long number = strtoull(text, &end, 10);
    int64_t multiplier = suffix_multiplier(end);
    if (multiplier == 0)
        return fail(err, err_cap, JOBQ_EPARSE,
                    "\"%s\": unknown unit \"%s\" (b, k, m, g, t, p)", text,
                    end);
    if (errno == ERANGE || number > (unsigned long long)(INT64_MAX / multiplier))
        return fail(err, err_cap, JOBQ_ERANGE, "\"%s\" is too large", text);
    *bytes = (int64_t)number * multiplier;
    return 0;
}

static const cJSON *field(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

/* Where a setting comes from: a spec field (wins) or a sparkConf key. */
typedef struct setting {
    const cJSON *value;
    char where[96]; /* for messages */
} setting;

/* The spec field `pod_field` of `pod` if present, else sparkConf[key]. */
static setting lookup(const cJSON *spec, const char *role, const char *pod_field,
                      const char *key)
{
    setting s = {NULL, ""};
    if (pod_field && (s.value = field(field(spec, role), pod_field))) {
        snprintf(s.where, sizeof s.where, "spec.%s.%s", role, pod_field);
        return s;
    }
    if (key && (s.value = field(field(spec, "sparkConf"), key)))
        snprintf(s.where, sizeof s.where, "spec.sparkConf[%s]", key);
    return s;
}

static int as_memory(int64_t *bytes, const setting *s, int64_t fallback,
                     char *err, size_t cap)
{
    if (!s->value) {
        *bytes = fallback;
        return 0;
    }
    char detail[160];
    int rc = cJSON_IsString(s->value)
                 ? spark_memory_parse(bytes, s->value->valuestring, detail,
                                      sizeof detail)
                 : JOBQ_EPARSE;
    if (rc)
        return fail(err, cap, rc, "%s: %s", s->where,
                    cJSON_IsString(s->value) ? detail : "not a string");
    return 0;
}

/* A number given as a JSON number or a numeric string. */
static int as_number(double *out, const setting *s, double lo, double hi,
                     char *err, size_t cap)
{
    char *end = NULL;
    if (cJSON_IsNumber(s->value))
        *out = s->value->valuedouble;
    else if (cJSON_IsString(s->value))
        *out = strtod(s->value->valuestring, &end);
    if (!(cJSON_IsNumber(s->value) || cJSON_IsString(s->value)) ||
        (end && (*end || end == s->value->valuestring)) || !(*out >= lo) ||
        !(*out <= hi))
        return fail(err, cap, JOBQ_EPARSE, "%s: not a number in %g..%g",
                    s->where, lo, hi);
    return 0;
}

/* A cpu amount in millicores: a Kubernetes quantity ("500m", "1.5"). */
static int as_cpu_quantity(int64_t *millis, const setting *s, char *err,
                           size_t cap)
{
    char text[64], detail[160];
    if (cJSON_IsNumber(s->value))
        snprintf(text, sizeof text, "%.17g", s->value->valuedouble);
    else if (cJSON_IsString(s->value))
        snprintf(text, sizeof text, "%s", s->value->valuestring);
    else
        return fail(err, cap, JOBQ_EPARSE, "%s: not a quantity", s->where);
    int rc = jobq_quantity_parse(millis, text, JOBQ_RESOURCE_CPU, detail,
                                 sizeof detail);
    if (rc)
        return fail(err, cap, rc, "%s: %s", s->where, detail);
    return 0;
}

static bool is_non_jvm(const cJSON *spec)
{
    const cJSON *type = field(spec, "type");
    return cJSON_IsString(type) && (strcasecmp(type->valuestring, "Python") == 0 ||
                                    strcasecmp(type->valuestring, "R") == 0);
}

/* spark.kubernetes.memoryOverheadFactor as the driver resolves it (and
 * hands on to the executors): sparkConf, else spec.memoryOverheadFactor
 * (which the operator passes as that key), else the default by type. */
static int kubernetes_factor(double *factor, const cJSON *spec, char *err,
                             size_t cap)
{
    setting s = lookup(spec, NULL, NULL, "spark.kubernetes.memoryOverheadFactor");
    if (!s.value && (s.value = field(spec, "memoryOverheadFactor")))
        snprintf(s.where, sizeof s.where, "spec.memoryOverheadFactor");
    if (s.value)
        return as_number(factor, &s, 0, 10, err, cap);
    *factor = is_non_jvm(spec) ? FACTOR_NON_JVM : FACTOR_JVM;
    return 0;
}

static int pod_of(spark_pod *pod, const cJSON *spec, const char *role,
                  double kube_factor, char *err, size_t cap)
{
    char key[96];
    int64_t memory, overhead, minimum;
    double factor = kube_factor, cores = 1;
    snprintf(key, sizeof key, "spark.%s.memory", role);
    setting s = lookup(spec, role, "memory", key);
    int rc = as_memory(&memory, &s, 1024 * MIB, err, cap);
    snprintf(key, sizeof key, "spark.%s.minMemoryOverhead", role);
    s = lookup(spec, role, NULL, key);
    if (!rc)
        rc = as_memory(&minimum, &s, OVERHEAD_MIN_BYTES, err, cap);
    snprintf(key, sizeof key, "spark.%s.memoryOverheadFactor", role);
    s = lookup(spec, role, NULL, key);
    if (!rc && s.value)
        rc = as_number(&factor, &s, 0, 10, err, cap);
    snprintf(key, sizeof key, "spark.%s.memoryOverhead", role);
    s = lookup(spec, role, "memoryOverhead", key);
    if (!rc)
        rc = as_memory(&overhead, &s, -1, err, cap);
    if (rc)
        return rc;
    if (overhead < 0) {
        /* Spark works in whole MiB: (factor * memoryMiB).toInt. */
        int64_t scaled = (int64_t)(factor * (double)(memory / MIB)) * MIB;
        overhead = scaled > minimum ? scaled : minimum;
    }
    if (memory > INT64_MAX / 4 || overhead > INT64_MAX / 4)
        return fail(err, cap, JOBQ_ERANGE, "spec.%s: memory is too large", role);
    pod->memory = memory + overhead;

    snprintf(key, sizeof key, "spark.kubernetes.%s.request.cores", role);
    s = lookup(spec, role, "coreRequest", key);
    if (s.value) {
        rc = as_cpu_quantity(&pod->cpu_request, &s, err, cap);
    } else {
        snprintf(key, sizeof key, "spark.%s.cores", role);
        s = lookup(spec, role, "cores", key);
        if (s.value)
            rc = as_number(&cores, &s, 0.001, 1e6, err, cap);
        pod->cpu_request = (int64_t)ceil(cores * 1000.0 - 1e-9);
    }
    snprintf(key, sizeof key, "spark.kubernetes.%s.limit.cores", role);
    s = lookup(spec, role, "coreLimit", key);
    pod->cpu_limit = SPARK_NO_LIMIT;
    if (!rc && s.value)
        rc = as_cpu_quantity(&pod->cpu_limit, &s, err, cap);
    const cJSON *class_name = field(field(spec, role), "priorityClassName");
    snprintf(pod->priority_class, sizeof pod->priority_class, "%s",
             cJSON_IsString(class_name) ? class_name->valuestring : "");
    return rc;
}

static bool truthy(const cJSON *value)
{
    return cJSON_IsTrue(value) ||
           (cJSON_IsString(value) && strcasecmp(value->valuestring, "true") == 0);
}

/* Executor pods: instances, or maxExecutors under dynamic allocation (the
 * most the application may grow to). */
static int executor_count(int64_t *count, const cJSON *spec, char *err,
                          size_t cap)
{
    const cJSON *dynamic = field(spec, "dynamicAllocation");
    setting s;
    if (truthy(field(dynamic, "enabled")) ||
        (!dynamic && truthy(lookup(spec, NULL, NULL,
                                   "spark.dynamicAllocation.enabled").value))) {
        s.value = field(dynamic, "maxExecutors");
        snprintf(s.where, sizeof s.where, "spec.dynamicAllocation.maxExecutors");
        if (!s.value)
            s = lookup(spec, NULL, NULL, "spark.dynamicAllocation.maxExecutors");
        if (!s.value)
            return fail(err, cap, JOBQ_EINVAL,
                        "spec.dynamicAllocation.maxExecutors is required with "
                        "dynamic allocation (the host must know the most "
                        "pods it may take)");
    } else {
        s = lookup(spec, "executor", "instances", "spark.executor.instances");
        if (!s.value) {
            *count = SPARK_DEFAULT_EXECUTORS;
            return 0;
        }
    }
    double value;
    int rc = as_number(&value, &s, 0, 100000, err, cap);
    if (!rc && value != floor(value))
        rc = fail(err, cap, JOBQ_EPARSE, "%s: not a whole number", s.where);
    if (!rc)
        *count = (int64_t)value;
    return rc;
}

int spark_shape_of(spark_shape *out, const cJSON *app, char *err,
                   size_t err_cap)
{
    const cJSON *spec = field(app, "spec") ? field(app, "spec") : app;
    if (!cJSON_IsObject(spec))
        return fail(err, err_cap, JOBQ_EINVAL,
                    "the SparkApplication has no spec object");
    memset(out, 0, sizeof *out);
    double factor;
    int rc = kubernetes_factor(&factor, spec, err, err_cap);
    if (!rc)
        rc = executor_count(&out->executors, spec, err, err_cap);
    if (!rc)
        rc = pod_of(&out->driver, spec, "driver", factor, err, err_cap);
    if (!rc)
        rc = pod_of(&out->executor, spec, "executor", factor, err, err_cap);
    return rc;
}

void spark_shape_requests(const spark_shape *shape, jobq_resources *out)
{
    out->amount[JOBQ_RESOURCE_CPU] =
        shape->driver.cpu_request + shape->executors * shape->executor.cpu_request;
    out->amount[JOBQ_RESOURCE_MEMORY] =
        shape->driver.memory + shape->executors * shape->executor.memory;
    out->amount[JOBQ_RESOURCE_PODS] = 1 + shape->executors;
    out->amount[JOBQ_RESOURCE_STORAGE] = 0;
}

int spark_demand(jobq_resources *out, const cJSON *app, char *err,
                 size_t err_cap)
{
    spark_shape shape;
    int rc = spark_shape_of(&shape, app, err, err_cap);
    if (!rc)
        spark_shape_requests(&shape, out);
    return rc;
}
