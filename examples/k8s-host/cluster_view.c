/*
 * The deployer's view of each managed namespace, built once per cycle: our
 * applications and pods (listed with our label selector), the demand of
 * applications whose pods have not shown yet, and the ResourceQuotas folded
 * for the probe or checked before a create (deployer.h, quota.h).
 */
#include "deployer_internal.h"

#include <inttypes.h>
#include <stdlib.h>

/* ------------------------------------------------------------ listing */

/* GET a list in one namespace with our label selector, once per cycle. */
static cJSON *list_once(k8s_deployer *d, k8s_namespace *space,
                        const char *base, bool *failed, const char *what)
{
    if (*failed || space->unreachable)
        return NULL;
    char path[600], selector[128], escaped[256], message[256];
    snprintf(selector, sizeof selector, K8S_LABEL_OWNER "=%s", d->owner);
    kube_url_escape(escaped, sizeof escaped, selector);
    snprintf(path, sizeof path, "%s?labelSelector=%s", base, escaped);
    kube_response response;
    int rc = kube_request(d->client, "GET", path, NULL, &response);
    cJSON *list = NULL;
    if (rc == 0 && response.status == 200)
        list = cJSON_Parse(response.body);
    if (!list) {
        *failed = true;
        space->unreachable |= response.timed_out;
        kube_status_message(message, sizeof message, &response);
        /* 401/403 are logged once per change by the client. */
        kube_log(response.status == 401 || response.status == 403 ? 3 : 0,
                 "listing %s in %s: %s", what, space->ns, message);
    }
    kube_response_free(&response);
    return list;
}

const cJSON *k8s_listed_apps(k8s_deployer *d, k8s_namespace *space)
{
    if (!space->apps) {
        char base[512];
        app_path(base, sizeof base, space->ns, NULL);
        space->apps = list_once(d, space, base, &space->apps_failed,
                                "SparkApplications");
    }
    return space->apps;
}

static const cJSON *listed_pods(k8s_deployer *d, k8s_namespace *space)
{
    if (!space->pods) {
        char base[512], escaped[3 * JOBQ_NS_MAX + 1];
        kube_url_escape(escaped, sizeof escaped, space->ns);
        snprintf(base, sizeof base, "/api/v1/namespaces/%s/pods", escaped);
        space->pods = list_once(d, space, base, &space->pods_failed, "pods");
    }
    return space->pods;
}

/* The application of run `id` in a list, or NULL; items with the run's
 * id that are not ours in every respect are reported as conflicts. */
static const cJSON *find_in_list(k8s_deployer *d, const char *ns,
                                 const cJSON *list, jobq_run_id id,
                                 const char *job)
{
    char expected[32], why[200];
    snprintf(expected, sizeof expected, "%" PRIu64, (uint64_t)id);
    const cJSON *app;
    cJSON_ArrayForEach(app, field(list, "items"))
    {
        const char *run = label(app, K8S_LABEL_RUN_ID);
        if (!run || strcmp(run, expected) != 0)
            continue;
        if (k8s_is_ours(d, app, id, job, why, sizeof why))
            return app;
        const char *name = string_field(field(app, "metadata"), "name");
        k8s_report_conflict(d, ns, name ? name : "?", why);
    }
    return NULL;
}

/* Find run id's application in this cycle's lists: the namespace it was
 * deployed to when known, else every managed namespace (after a restart).
 * Returns 0 with *found (may be NULL: it does not exist), or JOBQ_EIO when
 * a list could not be read, so absence cannot be proven. */
int k8s_locate(k8s_deployer *d, jobq_run_id id, const cJSON **found,
                  const char **ns)
{
    k8s_tracked *entry = k8s_find_tracked(d, id);
    bool unknown = false;
    *found = NULL;
    for (size_t i = 0; i < d->space_count && !*found; i++) {
        k8s_namespace *space = &d->spaces[i];
        if (entry && strcmp(entry->ns, space->ns) != 0)
            continue;
        const cJSON *list = k8s_listed_apps(d, space);
        unknown |= list == NULL;
        *found = list ? find_in_list(d, space->ns, list, id,
                                     entry ? entry->job : NULL)
                      : NULL;
        *ns = space->ns;
    }
    if (entry && !k8s_space_for(d, entry->ns)) {
        kube_log(0, "run %" PRIu64 ": namespace %s is not managed",
                 (uint64_t)id, entry->ns);
        unknown = true;
    }
    return *found || !unknown ? 0 : JOBQ_EIO;
}

/* ------------------------------------------------------- late usage */

/* Count our live pods of run `run` by role. */
static void count_pods(const cJSON *pods, const char *run, int64_t *drivers,
                       int64_t *executors)
{
    *drivers = *executors = 0;
    const cJSON *pod;
    cJSON_ArrayForEach(pod, field(pods, "items"))
    {
        const char *pod_run = label(pod, K8S_LABEL_RUN_ID);
        const char *phase = string_field(field(pod, "status"), "phase");
        if (!pod_run || strcmp(pod_run, run) != 0 ||
            (phase && (strcmp(phase, "Succeeded") == 0 ||
                       strcmp(phase, "Failed") == 0)))
            continue;
        const char *role = label(pod, "spark-role");
        if (role && strcmp(role, "driver") == 0)
            (*drivers)++;
        else if (role && strcmp(role, "executor") == 0)
            (*executors)++;
    }
}

static int add_group(pod_group **groups, size_t *count, const spark_pod *pod,
                     int64_t n)
{
    if (n <= 0)
        return 0;
    pod_group *grown = realloc(*groups, (*count + 1) * sizeof *grown);
    if (!grown)
        return JOBQ_ENOMEM;
    *groups = grown;
    grown[*count].pod = *pod;
    grown[*count].count = n;
    (*count)++;
    return 0;
}

/* The pods our live applications in `space` have not shown yet, plus
 * those created this cycle. *out is malloc'd. */
int k8s_pending_pods(k8s_deployer *d, k8s_namespace *space,
                        pod_group **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < space->deployed_count; i++)
        if (add_group(out, count, &space->deployed[i].pod,
                      space->deployed[i].count))
            return JOBQ_ENOMEM;
    const cJSON *apps = k8s_listed_apps(d, space);
    if (!apps)
        return space->apps_failed ? JOBQ_EIO : 0;
    const cJSON *pods = listed_pods(d, space); /* NULL: none seen */
    const cJSON *app;
    cJSON_ArrayForEach(app, field(apps, "items"))
    {
        const char *run = label(app, K8S_LABEL_RUN_ID);
        spark_shape shape;
        char err[200];
        if (!run || is_terminal(app_state(app)) ||
            spark_shape_of(&shape, app, err, sizeof err) != 0)
            continue;
        int64_t drivers, executors;
        count_pods(pods, run, &drivers, &executors);
        k8s_tracked *entry = k8s_find_tracked(d, strtoull(run, NULL, 10));
        bool driver_seen = drivers > 0 || (entry && entry->driver_seen);
        int64_t seen = entry && entry->executors_seen > executors
                           ? entry->executors_seen
                           : executors;
        if (entry) {
            entry->driver_seen = driver_seen;
            entry->executors_seen = seen;
        }
        if ((!driver_seen && add_group(out, count, &shape.driver, 1)) ||
            add_group(out, count, &shape.executor, shape.executors - seen))
            return JOBQ_ENOMEM;
    }
    return 0;
}

/* ----------------------------------------------------------- quotas */

cJSON *k8s_read_quotas(k8s_deployer *d, k8s_namespace *space)
{
    if (space->quotas || space->unreachable)
        return space->quotas;
    char escaped[3 * JOBQ_NS_MAX + 1], path[512], message[512];
    kube_url_escape(escaped, sizeof escaped, space->ns);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/resourcequotas",
             escaped);
    kube_response response;
    int rc = kube_request(d->client, "GET", path, NULL, &response);
    if (rc == 0 && response.status == 200)
        space->quotas = cJSON_Parse(response.body);
    if (!space->quotas) {
        space->unreachable |= response.timed_out;
        kube_status_message(message, sizeof message, &response);
        if (rc == 0 && response.status == 200)
            snprintf(message, sizeof message, "the response is not JSON");
        kube_log(response.status == 401 || response.status == 403 ? 3 : 0,
                 "reading the quotas of namespace %s: %s", space->ns, message);
    }
    kube_response_free(&response);
    return space->quotas;
}

/* A namespace without any ResourceQuota: fine only where allowed. */
static bool quota_missing(k8s_namespace *space, const cJSON *quotas)
{
    if (cJSON_GetArraySize(field(quotas, "items")) > 0 || space->no_quota_ok) {
        space->no_quota_logged = false;
        return false;
    }
    if (!space->no_quota_logged)
        kube_log(0, "namespace %s has no ResourceQuota: nothing is deployed "
                    "there until it has one (or set \"namespaces\": {\"%s\": "
                    "{\"allowWithoutQuota\": true}} in the jobs file)",
                 space->ns, space->ns);
    space->no_quota_logged = true;
    return true;
}

int k8s_deployer_read_quota(k8s_deployer *d, const char *ns,
                            jobq_resources *hard, jobq_resources *used)
{
    k8s_namespace *space = k8s_space_for(d, ns);
    if (!space)
        return JOBQ_ENOTFOUND;
    const cJSON *quotas = k8s_read_quotas(d, space);
    if (!quotas || quota_missing(space, quotas))
        return JOBQ_EIO;
    pod_group *pending;
    size_t pending_count;
    int rc = k8s_pending_pods(d, space, &pending, &pending_count);
    char message[300];
    if (!rc)
        rc = quota_fold(quotas, space->job_pods, space->job_pod_count, pending,
                        pending_count, hard, used, message, sizeof message);
    if (rc && rc != JOBQ_EIO)
        kube_log(0, "the quotas of namespace %s: %s", ns, message);
    free(pending);
    return rc;
}

int k8s_deployer_check_quotas(k8s_deployer *d)
{
    int status = 0;
    for (size_t i = 0; i < d->space_count; i++) {
        k8s_namespace *space = &d->spaces[i];
        const cJSON *quotas = k8s_read_quotas(d, space);
        if (!quotas) {
            kube_log(1, "cannot check the quotas of namespace %s at start; "
                        "checked again every cycle", space->ns);
            continue;
        }
        if (quota_missing(space, quotas)) {
            status = -1;
            continue;
        }
        for (size_t j = 0; d->jobs && j < d->jobs->count; j++) {
            const host_job *job = &d->jobs->jobs[j];
            char message[400];
            if (strcmp(job->ns, space->ns) == 0 &&
                quota_needs_limit(quotas, &job->shape, message,
                                  sizeof message)) {
                kube_log(0, "job \"%s\" can never run in %s: %s", job->name,
                         space->ns, message);
                status = -1;
            }
        }
    }
    k8s_deployer_begin_cycle(d);
    return status;
}
