/*
 * ResourceQuota probe. read_quota() lists the namespace's quotas and
 * quota_aggregate() folds them into the single hard/used pair per dimension
 * that the scheduler compares requests against: with several quotas the
 * most restrictive remaining amount wins.
 */
#include "probe.h"

#include <stdio.h>
#include <string.h>

/* The quota keys that constrain each dimension, in jobq_resource_kind
 * order. */
static const char *const dimension_keys[JOBQ_RESOURCE_COUNT][3] = {
    {"requests.cpu", "cpu", NULL},
    {"requests.memory", "memory", NULL},
    {"pods", NULL, NULL},
    {"requests.storage", NULL, NULL},
};

static const cJSON *field(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

static const char *quota_name(const cJSON *quota)
{
    const cJSON *name = field(field(quota, "metadata"), "name");
    return cJSON_IsString(name) ? name->valuestring : "?";
}

/* Parse one quantity of a quota map. */
static int parse_amount(int64_t *out, const cJSON *value,
                        jobq_resource_kind kind, const char *where,
                        const char *key, char *err, size_t cap)
{
    char detail[160];
    if (!cJSON_IsString(value)) {
        snprintf(err, cap, "ResourceQuota %s: %s is not a quantity string",
                 where, key);
        return JOBQ_EPARSE;
    }
    int rc = jobq_quantity_parse(out, value->valuestring, kind, detail,
                                 sizeof detail);
    if (rc)
        snprintf(err, cap, "ResourceQuota %s: %s: %s", where, key, detail);
    return rc;
}

/* Fold one (quota, key) constraint into the running minimum. */
static int consider(const cJSON *quota, jobq_resource_kind kind,
                    const char *key, jobq_resources *hard, jobq_resources *used,
                    char *err, size_t cap)
{
    const cJSON *status = field(quota, "status");
    const cJSON *hard_map = field(status, "hard");
    if (!hard_map)
        hard_map = field(field(quota, "spec"), "hard");
    const cJSON *hard_value = field(hard_map, key);
    if (!hard_value)
        return 0;
    int64_t limit, consumed = 0;
    const cJSON *used_value = field(field(status, "used"), key);
    int rc = parse_amount(&limit, hard_value, kind, quota_name(quota), key,
                          err, cap);
    if (!rc && used_value)
        rc = parse_amount(&consumed, used_value, kind, quota_name(quota), key,
                          err, cap);
    if (rc)
        return rc;
    int64_t remaining = limit - consumed;
    int64_t best = hard->amount[kind] == JOBQ_UNLIMITED
                       ? INT64_MAX
                       : hard->amount[kind] - used->amount[kind];
    if (hard->amount[kind] == JOBQ_UNLIMITED || remaining < best) {
        hard->amount[kind] = limit;
        used->amount[kind] = consumed;
    }
    return 0;
}

int quota_aggregate(const cJSON *list, jobq_resources *hard,
                    jobq_resources *used, char *err, size_t err_cap)
{
    for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++) {
        hard->amount[kind] = JOBQ_UNLIMITED;
        used->amount[kind] = 0;
    }
    const cJSON *items = field(list, "items");
    if (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items) {
        snprintf(err, err_cap, "ResourceQuotaList: items is not an array");
        return JOBQ_EPARSE;
    }
    const cJSON *quota;
    cJSON_ArrayForEach(quota, items)
    {
        for (int kind = 0; kind < JOBQ_RESOURCE_COUNT; kind++)
            for (const char *const *key = dimension_keys[kind]; *key; key++) {
                int rc = consider(quota, (jobq_resource_kind)kind, *key, hard,
                                  used, err, err_cap);
                if (rc)
                    return rc;
            }
    }
    return 0;
}

static int read_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    k8s_probe *probe = ctx;
    char escaped[256], path[512], message[512];
    kube_url_escape(escaped, sizeof escaped, ns);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas",
             escaped);
    kube_response response;
    int rc = kube_request(probe->client, "GET", path, NULL, &response);
    if (rc != 0 || response.status != 200) {
        kube_status_message(message, sizeof message, &response);
        kube_log(0, "reading the quotas of namespace %s: %s", ns, message);
        kube_response_free(&response);
        return JOBQ_EIO;
    }
    cJSON *list = cJSON_Parse(response.body);
    kube_response_free(&response);
    rc = list ? quota_aggregate(list, hard, used, message, sizeof message)
              : JOBQ_EPARSE;
    if (!list)
        snprintf(message, sizeof message, "the response is not JSON");
    if (rc)
        kube_log(0, "reading the quotas of namespace %s: %s", ns, message);
    cJSON_Delete(list);
    return rc;
}

void k8s_probe_vtable(jobq_probe *vtable, k8s_probe *probe)
{
    memset(vtable, 0, sizeof *vtable);
    vtable->version = JOBQ_PROBE_VERSION;
    vtable->ctx = probe;
    vtable->read_quota = read_quota;
}
