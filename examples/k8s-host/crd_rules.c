/*
 * The SparkApplication rules of crd_rules.h, as one table.
 *
 * Source: kubeflow/spark-operator, config/crd/bases/
 * sparkoperator.k8s.io_sparkapplications.yaml, version v1beta2 (the only
 * served version; controller-gen v0.20.1, read at commit 38082f33). When
 * the operator's CRD changes, update the table and the field lists below
 * together (tests/k8s/crd_v1beta2_schema.json is the tests' copy).
 */
#include "crd_rules.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum crd_type {
    CRD_STRING,
    CRD_INTEGER,
    CRD_BOOLEAN,
    CRD_OBJECT,
    CRD_STRING_MAP, /* object whose values are strings (sparkConf...) */
} crd_type;

#define CRD_NO_MINIMUM (-1.0)

typedef struct crd_rule {
    const char *path; /* dotted, from the manifest root */
    crd_type type;
    bool required;    /* when its parent object is present */
    double minimum;   /* integers; CRD_NO_MINIMUM for none */
    const char *const *allowed; /* enum values, NULL-terminated, or NULL */
} crd_rule;

static const char *const app_types[] = {"Java", "Python", "Scala", "R", NULL};
static const char *const modes[] = {"cluster", "client", NULL};

/* Parents come before their children. */
static const crd_rule rules[] = {
    {"spec", CRD_OBJECT, true, CRD_NO_MINIMUM, NULL},
    {"spec.type", CRD_STRING, true, CRD_NO_MINIMUM, app_types},
    {"spec.sparkVersion", CRD_STRING, true, CRD_NO_MINIMUM, NULL},
    {"spec.mainApplicationFile", CRD_STRING, true, CRD_NO_MINIMUM, NULL},
    {"spec.driver", CRD_OBJECT, true, CRD_NO_MINIMUM, NULL},
    {"spec.executor", CRD_OBJECT, true, CRD_NO_MINIMUM, NULL},
    {"spec.mode", CRD_STRING, false, CRD_NO_MINIMUM, modes},
    {"spec.image", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.memoryOverheadFactor", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.timeToLiveSeconds", CRD_INTEGER, false, CRD_NO_MINIMUM, NULL},
    {"spec.sparkConf", CRD_STRING_MAP, false, CRD_NO_MINIMUM, NULL},
    {"spec.dynamicAllocation", CRD_OBJECT, false, CRD_NO_MINIMUM, NULL},
    {"spec.dynamicAllocation.enabled", CRD_BOOLEAN, false, CRD_NO_MINIMUM, NULL},
    {"spec.dynamicAllocation.maxExecutors", CRD_INTEGER, false, CRD_NO_MINIMUM, NULL},
    {"spec.driver.cores", CRD_INTEGER, false, 1, NULL},
    {"spec.driver.coreRequest", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.driver.coreLimit", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.driver.memory", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.driver.memoryOverhead", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.driver.priorityClassName", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.executor.cores", CRD_INTEGER, false, 1, NULL},
    {"spec.executor.instances", CRD_INTEGER, false, 1, NULL},
    {"spec.executor.coreRequest", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.executor.coreLimit", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.executor.memory", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.executor.memoryOverhead", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
    {"spec.executor.priorityClassName", CRD_STRING, false, CRD_NO_MINIMUM, NULL},
};

/* The fields the schema knows, per object the host reads. */
static const char *const root_fields[] = {"apiVersion", "kind", "metadata",
                                          "spec", "status", NULL};
static const char *const spec_fields[] = {
    "arguments", "batchScheduler", "batchSchedulerOptions", "deps", "driver",
    "driverIngressOptions", "driverPodDisruptionBudget", "dynamicAllocation",
    "executor", "failureRetries", "hadoopConf", "hadoopConfigMap", "image",
    "imagePullPolicy", "imagePullSecrets", "mainApplicationFile", "mainClass",
    "memoryOverheadFactor", "mode", "monitoring", "nodeSelector", "proxyUser",
    "pythonVersion", "restartPolicy", "retryInterval", "sparkConf",
    "sparkConfigMap", "sparkUIOptions", "sparkVersion", "suspend",
    "timeToLiveSeconds", "type", "volumes", NULL};
/* SparkPodSpec, common to driver and executor. */
#define POD_FIELDS                                                            \
    "affinity", "annotations", "configMaps", "coreLimit", "coreRequest",      \
        "cores", "dnsConfig", "env", "envFrom", "envSecretKeyRefs",           \
        "envVars", "gpu", "hostAliases", "hostNetwork", "image",              \
        "initContainers", "javaOptions", "labels", "lifecycle", "memory",     \
        "memoryLimit", "memoryOverhead", "nodeSelector",                      \
        "podSecurityContext", "ports", "priorityClassName", "schedulerName",  \
        "secrets", "securityContext", "serviceAccount",                       \
        "shareProcessNamespace", "sidecars", "template",                      \
        "terminationGracePeriodSeconds", "tolerations", "volumeMounts"
static const char *const driver_fields[] = {
    POD_FIELDS, "kubernetesMaster", "podName", "serviceAnnotations",
    "serviceLabels", NULL};
static const char *const executor_fields[] = {
    POD_FIELDS, "deleteOnTermination", "instances", NULL};
static const char *const dynamic_fields[] = {
    "enabled", "initialExecutors", "maxExecutors", "minExecutors",
    "shuffleTrackingEnabled", "shuffleTrackingTimeout", NULL};

static const struct {
    const char *path; /* "" is the root */
    const char *const *fields;
} known_fields[] = {
    {"", root_fields},
    {"spec", spec_fields},
    {"spec.driver", driver_fields},
    {"spec.executor", executor_fields},
    {"spec.dynamicAllocation", dynamic_fields},
};

/* The value at a dotted path, or NULL. */
static const cJSON *lookup(const cJSON *root, const char *path)
{
    const cJSON *node = root;
    char part[64];
    while (*path && node) {
        size_t n = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, path);
        node = cJSON_IsObject(node)
                   ? cJSON_GetObjectItemCaseSensitive(node, part)
                   : NULL;
        path += n + (path[n] == '.');
    }
    return node;
}

static const char *type_name(crd_type type)
{
    static const char *const names[] = {"a string", "an integer", "a boolean",
                                        "an object",
                                        "an object of strings"};
    return names[type];
}

static bool has_type(const cJSON *value, crd_type type)
{
    switch (type) {
    case CRD_STRING:
        return cJSON_IsString(value);
    case CRD_INTEGER:
        return cJSON_IsNumber(value) && isfinite(value->valuedouble) &&
               value->valuedouble == floor(value->valuedouble);
    case CRD_BOOLEAN:
        return cJSON_IsBool(value);
    case CRD_OBJECT:
        return cJSON_IsObject(value);
    case CRD_STRING_MAP: {
        if (!cJSON_IsObject(value))
            return false;
        const cJSON *item;
        cJSON_ArrayForEach(item, value)
        {
            if (!cJSON_IsString(item))
                return false;
        }
        return true;
    }
    }
    return false;
}

static int check_rule(const cJSON *manifest, const crd_rule *rule, char *err,
                      size_t cap)
{
    const char *dot = strrchr(rule->path, '.');
    if (dot) { /* a rule applies only when its parent is there */
        char parent[96];
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - rule->path),
                 rule->path);
        if (!cJSON_IsObject(lookup(manifest, parent)))
            return 0;
    }
    const cJSON *value = lookup(manifest, rule->path);
    if (!value) {
        if (!rule->required)
            return 0;
        snprintf(err, cap, "%s: Required value (the v1beta2 CRD requires it)",
                 rule->path);
        return -1;
    }
    if (!has_type(value, rule->type)) {
        snprintf(err, cap, "%s: must be %s (v1beta2 CRD)", rule->path,
                 type_name(rule->type));
        return -1;
    }
    if (rule->minimum != CRD_NO_MINIMUM && value->valuedouble < rule->minimum) {
        snprintf(err, cap, "%s: %.0f is less than the minimum %.0f (v1beta2 "
                 "CRD)", rule->path, value->valuedouble, rule->minimum);
        return -1;
    }
    if (rule->allowed) {
        for (const char *const *v = rule->allowed; *v; v++)
            if (strcmp(*v, value->valuestring) == 0)
                return 0;
        char list[128] = "";
        for (const char *const *v = rule->allowed; *v; v++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     v == rule->allowed ? "" : ", ", *v);
        snprintf(err, cap, "%s: Unsupported value \"%s\": supported values: "
                 "%s (v1beta2 CRD)", rule->path, value->valuestring, list);
        return -1;
    }
    return 0;
}

static bool listed(const char *const *fields, const char *name)
{
    for (; *fields; fields++)
        if (strcmp(*fields, name) == 0)
            return true;
    return false;
}

int crd_validate(const cJSON *manifest, char *err, size_t err_cap,
                 void (*unknown)(void *ctx, const char *path), void *ctx)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (check_rule(manifest, &rules[i], err, err_cap))
            return -1;
    if (!unknown)
        return 0;
    for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++) {
        const cJSON *object = known_fields[i].path[0]
                                  ? lookup(manifest, known_fields[i].path)
                                  : manifest;
        const cJSON *item;
        if (!cJSON_IsObject(object))
            continue;
        cJSON_ArrayForEach(item, object)
        {
            if (listed(known_fields[i].fields, item->string))
                continue;
            char path[160];
            snprintf(path, sizeof path, "%s%s%s", known_fields[i].path,
                     known_fields[i].path[0] ? "." : "", item->string);
            unknown(ctx, path);
        }
    }
    return 0;
}

bool crd_is_dns1035_label(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63 || name[0] < 'a' || name[0] > 'z' ||
        name[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}
