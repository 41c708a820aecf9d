/*
 * ResourceQuota evaluation for Spark pods (see quota.h), following
 * Kubernetes' quota admission: scopes and scopeSelector decide which
 * quotas a pod is charged to; each charged quota must have room.
 */
#include "quota.h"

#include <stdio.h>
#include <string.h>

typedef enum key_kind {
    KEY_CPU_REQUEST,
    KEY_CPU_LIMIT,
    KEY_MEMORY,
    KEY_PODS,
    KEY_STORAGE,
    KEY_IGNORED,
} key_kind;

static const struct {
    const char *key;
    key_kind kind;
    jobq_resource_kind dimension;
} keys[] = {
    {"requests.cpu", KEY_CPU_REQUEST, JOBQ_RESOURCE_CPU},
    {"cpu", KEY_CPU_REQUEST, JOBQ_RESOURCE_CPU},
    {"limits.cpu", KEY_CPU_LIMIT, JOBQ_RESOURCE_CPU},
    {"requests.memory", KEY_MEMORY, JOBQ_RESOURCE_MEMORY},
    {"memory", KEY_MEMORY, JOBQ_RESOURCE_MEMORY},
    {"limits.memory", KEY_MEMORY, JOBQ_RESOURCE_MEMORY},
    {"pods", KEY_PODS, JOBQ_RESOURCE_PODS},
    {"count/pods", KEY_PODS, JOBQ_RESOURCE_PODS},
    {"requests.storage", KEY_STORAGE, JOBQ_RESOURCE_STORAGE},
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])

static const cJSON *field(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

static const char *quota_name(const cJSON *quota)
{
    const cJSON *name = field(field(quota, "metadata"), "name");
    return cJSON_IsString(name) ? name->valuestring : "?";
}

/* ------------------------------------------------------------ scopes */

/* Does one scope (with operator and values for a selector) match? */
static bool scope_matches(const char *scope, const char *op,
                          const cJSON *values, const spark_pod *pod)
{
    /* Spark pods always request cpu and memory (not BestEffort) and set
     * no activeDeadlineSeconds (not Terminating). */
    bool exists;
    if (strcmp(scope, "BestEffort") == 0 || strcmp(scope, "Terminating") == 0 ||
        strcmp(scope, "CrossNamespacePodAffinity") == 0)
        exists = false;
    else if (strcmp(scope, "NotBestEffort") == 0 ||
             strcmp(scope, "NotTerminating") == 0)
        exists = true;
    else if (strcmp(scope, "PriorityClass") == 0) {
        if (!op || strcmp(op, "Exists") == 0)
            return pod->priority_class[0] != '\0';
        if (strcmp(op, "DoesNotExist") == 0)
            return false; /* the label set always has the key */
        bool listed = false;
        const cJSON *value;
        cJSON_ArrayForEach(value, values)
        {
            if (cJSON_IsString(value) &&
                strcmp(value->valuestring, pod->priority_class) == 0)
                listed = true;
        }
        return strcmp(op, "In") == 0 ? listed : !listed;
    } else
        return true; /* a scope this host does not know: assume it applies */
    if (op && strcmp(op, "DoesNotExist") == 0)
        return !exists;
    return exists;
}

bool quota_applies(const cJSON *quota, const spark_pod *pod)
{
    const cJSON *spec = field(quota, "spec");
    const cJSON *scope;
    cJSON_ArrayForEach(scope, field(spec, "scopes"))
    {
        if (cJSON_IsString(scope) &&
            !scope_matches(scope->valuestring, NULL, NULL, pod))
            return false;
    }
    const cJSON *expression;
    cJSON_ArrayForEach(expression,
                       field(field(spec, "scopeSelector"), "matchExpressions"))
    {
        const cJSON *name = field(expression, "scopeName");
        const cJSON *op = field(expression, "operator");
        if (cJSON_IsString(name) &&
            !scope_matches(name->valuestring,
                           cJSON_IsString(op) ? op->valuestring : NULL,
                           field(expression, "values"), pod))
            return false;
    }
    return true;
}

/* ----------------------------------------------------------- amounts */

/* What `count` pods of this shape charge to a key; -1 for a missing
 * limit. */
static int64_t pod_amount(key_kind kind, const spark_pod *pod, int64_t count)
{
    switch (kind) {
    case KEY_CPU_REQUEST:
        return pod->cpu_request * count;
    case KEY_CPU_LIMIT:
        return pod->cpu_limit == SPARK_NO_LIMIT ? -1 : pod->cpu_limit * count;
    case KEY_MEMORY:
        return pod->memory * count;
    case KEY_PODS:
        return count;
    default:
        return 0;
    }
}

static int parse_amount(int64_t *out, const cJSON *value,
                        jobq_resource_kind kind, const cJSON *quota,
                        const char *key, char *err, size_t cap)
{
    char detail[160];
    if (!cJSON_IsString(value)) {
        snprintf(err, cap, "ResourceQuota %s: %s is not a quantity string",
                 quota_name(quota), key);
        return JOBQ_EPARSE;
    }
    int rc = jobq_quantity_parse(out, value->valuestring, kind, detail,
                                 sizeof detail);
    if (rc)
        snprintf(err, cap, "ResourceQuota %s: %s: %s", quota_name(quota), key,
                 detail);
    return rc;
}

/* hard and used of one key of one quota; 1 when the quota has no such
 * key. status.hard, or spec.hard while the controller has not filled the
 * status. */
static int hard_used(const cJSON *quota, size_t k, int64_t *hard,
                     int64_t *used, char *err, size_t cap)
{
    const cJSON *status = field(quota, "status");
    const cJSON *hard_map = field(status, "hard");
    if (!hard_map)
        hard_map = field(field(quota, "spec"), "hard");
    const cJSON *hard_value = field(hard_map, keys[k].key);
    if (!hard_value)
        return 1;
    const cJSON *used_value = field(field(status, "used"), keys[k].key);
    *used = 0;
    int rc = parse_amount(hard, hard_value, keys[k].dimension, quota,
                          keys[k].key, err, cap);
    if (!rc && used_value)
        rc = parse_amount(used, used_value, keys[k].dimension, quota,
                          keys[k].key, err, cap);
    return rc;
}

/* What the pending pods this quota applies to will still charge to key k. */
static int64_t pending_amount(const cJSON *quota, size_t k,
                              const pod_group *pending, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!quota_applies(quota, &pending[i].pod))
            continue;
        int64_t amount = pod_amount(keys[k].kind, &pending[i].pod,
                                    pending[i].count);
        if (amount < 0) /* no limit: it was requested as the cpu */
            amount = pod_amount(KEY_CPU_REQUEST, &pending[i].pod,
                                pending[i].count);
        total += amount;
    }
    return total;
}

static bool applies_to_all(const cJSON *quota, const spark_pod *pods, size_t n)
{
    if (n == 0) {
        spark_pod plain = {1000, SPARK_NO_LIMIT, 1, ""};
        return quota_applies(quota, &plain);
    }
    for (size_t i = 0; i < n; i++)
        if (!quota_applies(quota, &pods[i]))
            return false;
    return true;
}

int quota_fold(const cJSON *list, const spark_pod *job_pods, size_t job_pod_count,
               const pod_group *pending, size_t pending_count,
               jobq_resources *hard, jobq_resources *used, char *err,
               size_t err_cap)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        hard->amount[d] = JOBQ_UNLIMITED;
        used->amount[d] = 0;
    }
    const cJSON *items = field(list, "items");
    if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items)) {
        snprintf(err, err_cap, "ResourceQuotaList: items is not an array");
        return JOBQ_EPARSE;
    }
    const cJSON *quota;
    cJSON_ArrayForEach(quota, items)
    {
        if (!applies_to_all(quota, job_pods, job_pod_count))
            continue;
        for (size_t k = 0; k < KEY_COUNT; k++) {
            int64_t limit, consumed;
            int rc = hard_used(quota, k, &limit, &consumed, err, err_cap);
            if (rc == 1)
                continue;
            if (rc)
                return rc;
            consumed += pending_amount(quota, k, pending, pending_count);
            int d = keys[k].dimension;
            int64_t best = hard->amount[d] == JOBQ_UNLIMITED
                               ? INT64_MAX
                               : hard->amount[d] - used->amount[d];
            if (hard->amount[d] == JOBQ_UNLIMITED || limit - consumed < best) {
                hard->amount[d] = limit;
                used->amount[d] = consumed;
            }
        }
    }
    return 0;
}

int quota_aggregate(const cJSON *list, jobq_resources *hard,
                    jobq_resources *used, char *err, size_t err_cap)
{
    return quota_fold(list, NULL, 0, NULL, 0, hard, used, err, err_cap);
}

static void format_amount(char *out, size_t cap, size_t k, int64_t amount)
{
    jobq_quantity_format(out, cap, amount, keys[k].dimension);
}

int quota_admit(const cJSON *list, const spark_shape *shape,
                const pod_group *pending, size_t pending_count, char *msg,
                size_t msg_cap)
{
    const pod_group pods[2] = {{shape->driver, 1},
                               {shape->executor, shape->executors}};
    const cJSON *quota;
    cJSON_ArrayForEach(quota, field(list, "items"))
    {
        for (size_t k = 0; k < KEY_COUNT; k++) {
            int64_t limit, consumed, requested = 0;
            char err[200];
            if (hard_used(quota, k, &limit, &consumed, err, sizeof err))
                continue; /* absent, or unreadable: the fold reported it */
            for (int p = 0; p < 2; p++) {
                if (pods[p].count == 0 || !quota_applies(quota, &pods[p].pod))
                    continue;
                int64_t amount = pod_amount(keys[k].kind, &pods[p].pod,
                                            pods[p].count);
                if (amount < 0) {
                    snprintf(msg, msg_cap, "pods \"%s\" have no cpu limit and "
                             "ResourceQuota %s limits %s: Kubernetes refuses "
                             "them (\"must specify limits.cpu\"); declare "
                             "spec.%s.coreLimit", p ? "executor" : "driver",
                             quota_name(quota), keys[k].key,
                             p ? "executor" : "driver");
                    return -1;
                }
                requested += amount;
            }
            if (requested == 0)
                continue;
            consumed += pending_amount(quota, k, pending, pending_count);
            if (consumed + requested <= limit)
                continue;
            char a[48], b[48], c[48];
            format_amount(a, sizeof a, k, requested);
            format_amount(b, sizeof b, k, consumed);
            format_amount(c, sizeof c, k, limit);
            snprintf(msg, msg_cap, "exceeded quota: %s, requested: %s=%s, "
                     "used: %s=%s, limited: %s=%s (checked by the host before "
                     "creating: scopes and limits as Kubernetes applies them)",
                     quota_name(quota), keys[k].key, a, keys[k].key, b,
                     keys[k].key, c);
            return 1;
        }
    }
    return 0;
}

bool quota_needs_limit(const cJSON *list, const spark_shape *shape, char *msg,
                       size_t msg_cap)
{
    return quota_admit(list, shape, NULL, 0, msg, msg_cap) < 0;
}
