/*
 * Deterministic, valid Kubernetes names for SparkApplications and their
 * label values. The run id makes the name unique and stable across
 * restarts; the job name is only there to make `kubectl get` readable.
 */
#include "names.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PREFIX_MAX 48

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool k8s_is_dns_label(const char *name)
{
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > K8S_NAME_MAX)
        return false;
    if (!is_lower_alnum(name[0]) || !is_lower_alnum(name[length - 1]))
        return false;
    for (size_t i = 0; i < length; i++)
        if (!is_lower_alnum(name[i]) && name[i] != '-')
            return false;
    return true;
}

bool k8s_is_label_value(const char *value)
{
    size_t length = value ? strlen(value) : 0;
    if (length == 0 || length > K8S_NAME_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = value[i];
        bool alnum = is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
        if (!alnum && ((i == 0 || i == length - 1) ||
                       (c != '-' && c != '_' && c != '.')))
            return false;
    }
    return true;
}

/* Append the sanitised job name to out (which holds `used` bytes), never
 * past `limit` bytes in total. */
static size_t append_job(char *out, size_t used, size_t limit, const char *job)
{
    size_t start = used;
    bool pending_dash = true; /* separates the id from the job */
    for (const char *p = job; *p && used < limit; p++) {
        char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
        if (!is_lower_alnum(c)) {
            pending_dash = true;
            continue;
        }
        if (pending_dash) {
            if (used + 2 > limit)
                break;
            out[used++] = '-';
            pending_dash = false;
        }
        out[used++] = c;
    }
    while (used > start && out[used - 1] == '-')
        used--;
    out[used] = '\0';
    return used;
}

int k8s_app_name(char *out, size_t cap, const char *prefix, jobq_run_id id,
                 const char *job)
{
    if (cap < K8S_NAME_MAX + 1 || !prefix || strlen(prefix) > PREFIX_MAX ||
        !k8s_is_dns_label(prefix) || prefix[0] < 'a' || prefix[0] > 'z')
        return JOBQ_EINVAL;
    int used = snprintf(out, cap, "%s-%" PRIu64, prefix, (uint64_t)id);
    append_job(out, (size_t)used, K8S_NAME_MAX, job ? job : "");
    return 0;
}
