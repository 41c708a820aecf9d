/*
 * Resource demand of a SparkApplication: how much cpu, memory and how many
 * pods its driver and executors request, computed the way Spark on
 * Kubernetes sizes its pods (memory + overhead, overhead with a 384 MiB
 * floor). See spark_demand.h for the rules.
 */
#include "spark_demand.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIB (INT64_C(1) << 20)
#define OVERHEAD_MIN_BYTES (384 * MIB)
#define FACTOR_JVM 0.1
#define FACTOR_NON_JVM 0.4

typedef struct pod_demand {
    int64_t cpu_millis;
    int64_t memory_bytes;
} pod_demand;

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

/* Spark's overhead factor for this application. */
static int overhead_factor(double *factor, const cJSON *spec, char *err,
                           size_t cap)
{
    const cJSON *given = field(spec, "memoryOverheadFactor");
    if (cJSON_IsString(given) || cJSON_IsNumber(given)) {
        char *end = NULL;
        *factor = cJSON_IsNumber(given) ? given->valuedouble
                                        : strtod(given->valuestring, &end);
        if ((end && *end) || !(*factor >= 0 && *factor <= 10))
            return fail(err, cap, JOBQ_EPARSE,
                        "spec.memoryOverheadFactor: not a number in 0..10");
        return 0;
    }
    const cJSON *type = field(spec, "type");
    bool non_jvm = cJSON_IsString(type) &&
                   (strcasecmp(type->valuestring, "Python") == 0 ||
                    strcasecmp(type->valuestring, "R") == 0);
    *factor = non_jvm ? FACTOR_NON_JVM : FACTOR_JVM;
    return 0;
}

/* A memory field of a pod spec ("memory", "memoryOverhead"), or `fallback`
 * (in bytes) when absent; a negative fallback means "absent is fine, -1". */
static int pod_memory(int64_t *bytes, const cJSON *pod, const char *role,
                      const char *name, int64_t fallback, char *err, size_t cap)
{
    const cJSON *value = field(pod, name);
    if (!value) {
        *bytes = fallback;
        return 0;
    }
    char detail[160];
    int rc = cJSON_IsString(value)
                 ? spark_memory_parse(bytes, value->valuestring, detail,
                                      sizeof detail)
                 : JOBQ_EPARSE;
    if (rc)
        return fail(err, cap, rc, "%s: %s", role,
                    cJSON_IsString(value) ? detail : "not a string");
    return 0;
}

/* cpu of one pod in millicores: coreRequest (a Kubernetes quantity) wins
 * over cores (a number of cores, default 1). */
static int pod_cpu(int64_t *millis, const cJSON *pod, const char *role,
                   char *err, size_t cap)
{
    const cJSON *request = field(pod, "coreRequest");
    if (cJSON_IsString(request)) {
        char detail[160];
        int rc = jobq_quantity_parse(millis, request->valuestring,
                                     JOBQ_RESOURCE_CPU, detail, sizeof detail);
        if (rc)
            return fail(err, cap, rc, "%s.coreRequest: %s", role, detail);
        return 0;
    }
    const cJSON *cores = field(pod, "cores");
    if (!cores) {
        *millis = 1000;
        return 0;
    }
    if (!cJSON_IsNumber(cores) || cores->valuedouble <= 0 ||
        cores->valuedouble > 1e6)
        return fail(err, cap, JOBQ_EPARSE, "%s.cores: not a positive number", role);
    *millis = (int64_t)ceil(cores->valuedouble * 1000.0 - 1e-9);
    return 0;
}

/* The requests of one pod (driver or executor). */
static int pod_demand_of(pod_demand *out, const cJSON *pod, const char *role,
                         double factor, char *err, size_t cap)
{
    char where[64];
    int64_t memory, overhead;
    int rc = pod_cpu(&out->cpu_millis, pod, role, err, cap);
    snprintf(where, sizeof where, "%s.memory", role);
    if (!rc)
        rc = pod_memory(&memory, pod, where, "memory", 1024 * MIB, err, cap);
    snprintf(where, sizeof where, "%s.memoryOverhead", role);
    if (!rc)
        rc = pod_memory(&overhead, pod, where, "memoryOverhead", -1, err, cap);
    if (rc)
        return rc;
    if (overhead < 0) {
        /* Spark works in whole MiB: (factor * memoryMiB).toInt, floor 384. */
        int64_t scaled = (int64_t)(factor * (double)(memory / MIB)) * MIB;
        overhead = scaled > OVERHEAD_MIN_BYTES ? scaled : OVERHEAD_MIN_BYTES;
    }
    if (memory > INT64_MAX - overhead)
        return fail(err, cap, JOBQ_ERANGE, "%s: memory is too large", role);
    out->memory_bytes = memory + overhead;
    return 0;
}

/* Number of executors: instances, or maxExecutors under dynamic
 * allocation (the most the application may grow to). */
static int executor_count(int64_t *count, const cJSON *spec, char *err,
                          size_t cap)
{
    const cJSON *dynamic = field(spec, "dynamicAllocation");
    const cJSON *value = field(field(spec, "executor"), "instances");
    const char *name = "spec.executor.instances";
    if (cJSON_IsTrue(field(dynamic, "enabled"))) {
        value = field(dynamic, "maxExecutors");
        name = "spec.dynamicAllocation.maxExecutors";
        if (!value)
            return fail(err, cap, JOBQ_EINVAL,
                        "%s is required with dynamic allocation", name);
    }
    if (!value) {
        *count = 1;
        return 0;
    }
    if (!cJSON_IsNumber(value) || value->valuedouble < 0 ||
        value->valuedouble > 100000 ||
        value->valuedouble != (double)(int64_t)value->valuedouble)
        return fail(err, cap, JOBQ_EPARSE, "%s: not a whole number >= 0", name);
    *count = (int64_t)value->valuedouble;
    return 0;
}

int spark_demand(jobq_resources *out, const cJSON *app, char *err,
                 size_t err_cap)
{
    const cJSON *spec = field(app, "spec") ? field(app, "spec") : app;
    if (!cJSON_IsObject(spec))
        return fail(err, err_cap, JOBQ_EINVAL,
                    "the SparkApplication has no spec object");
    double factor = FACTOR_JVM;
    int64_t executors = 0;
    pod_demand driver, executor;
    int rc = overhead_factor(&factor, spec, err, err_cap);
    if (!rc)
        rc = executor_count(&executors, spec, err, err_cap);
    if (!rc)
        rc = pod_demand_of(&driver, field(spec, "driver"), "spec.driver",
                           factor, err, err_cap);
    if (!rc)
        rc = pod_demand_of(&executor, field(spec, "executor"),
                           "spec.executor", factor, err, err_cap);
    if (rc)
        return rc;
    if (executor.memory_bytes > (INT64_MAX - driver.memory_bytes) /
                                    (executors ? executors : 1))
        return fail(err, err_cap, JOBQ_ERANGE, "memory demand too large");
    out->amount[JOBQ_RESOURCE_CPU] =
        driver.cpu_millis + executors * executor.cpu_millis;
    out->amount[JOBQ_RESOURCE_MEMORY] =
        driver.memory_bytes + executors * executor.memory_bytes;
    out->amount[JOBQ_RESOURCE_PODS] = 1 + executors;
    out->amount[JOBQ_RESOURCE_STORAGE] = 0;
    return 0;
}
