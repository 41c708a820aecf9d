/*
 * SparkApplication deployer (see deployer.h). Creation is idempotent per
 * run (the deterministic name plus 409 -> verify identity -> created);
 * status comes from one LIST per namespace per cycle, with a label
 * selector for what this host manages; quota refusals, synchronous (403
 * from ResourceQuota admission or the operator's webhook) or asynchronous
 * (the operator's errorMessage), are reported as stale-quota rejections;
 * permanent refusals (422 and other 4xx) fail the run at once.
 */
#include "deployer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crd_rules.h"

/* ------------------------------------------------------------ helpers */

static const cJSON *field(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

static const char *string_field(const cJSON *object, const char *name)
{
    const cJSON *value = field(object, name);
    return cJSON_IsString(value) ? value->valuestring : NULL;
}

static const char *label(const cJSON *object, const char *name)
{
    return string_field(field(field(object, "metadata"), "labels"), name);
}

bool k8s_message_is_quota(const char *message)
{
    return message && (strstr(message, "exceeded quota") != NULL ||
                       strstr(message, "failed to validate resource quota") !=
                           NULL);
}

static void app_path(char *out, size_t cap, const char *ns, const char *name)
{
    char escaped[3 * JOBQ_NS_MAX + 1];
    kube_url_escape(escaped, sizeof escaped, ns);
    snprintf(out, cap, K8S_SPARK_API "/namespaces/%s/sparkapplications%s%s",
             escaped, name ? "/" : "", name ? name : "");
}

static bool is_terminal(const char *state)
{
    return state && (strcmp(state, "COMPLETED") == 0 ||
                     strcmp(state, "FAILED") == 0 ||
                     strcmp(state, "SUBMISSION_FAILED") == 0);
}

static const char *app_state(const cJSON *app)
{
    return string_field(field(field(app, "status"), "applicationState"),
                        "state");
}

/* Remember a string once; true if it was new. */
static bool remember(char ***list, size_t *count, const char *text)
{
    for (size_t i = 0; i < *count; i++)
        if (strcmp((*list)[i], text) == 0)
            return false;
    char **grown = realloc(*list, (*count + 1) * sizeof *grown);
    if (!grown)
        return true;
    *list = grown;
    if ((grown[*count] = strdup(text)))
        (*count)++;
    return true;
}

static void forget_all(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

/* ------------------------------------------------------------- set-up */

static bool is_owner_id(const char *owner)
{
    size_t n = owner ? strlen(owner) : 0;
    if (n < 6 || n > K8S_OWNER_MAX)
        return false;
    return strspn(owner, "0123456789abcdef") == n;
}

int k8s_deployer_init(k8s_deployer *d, kube_client *client,
                      const char *instance, const char *owner)
{
    memset(d, 0, sizeof *d);
    if (!instance || strlen(instance) >= sizeof d->instance ||
        !k8s_is_dns_label(instance) || instance[0] < 'a' || instance[0] > 'z' ||
        !is_owner_id(owner))
        return JOBQ_EINVAL;
    d->client = client;
    snprintf(d->instance, sizeof d->instance, "%s", instance);
    snprintf(d->owner, sizeof d->owner, "%s", owner);
    return 0;
}

static k8s_namespace *space_for(k8s_deployer *d, const char *ns)
{
    for (size_t i = 0; i < d->space_count; i++)
        if (strcmp(d->spaces[i].ns, ns) == 0)
            return &d->spaces[i];
    return NULL;
}

int k8s_deployer_add_namespace(k8s_deployer *d, const char *ns,
                               bool no_quota_ok)
{
    k8s_namespace *known = space_for(d, ns);
    if (known) {
        known->no_quota_ok |= no_quota_ok;
        return 0;
    }
    k8s_namespace *grown = realloc(d->spaces,
                                   (d->space_count + 1) * sizeof *grown);
    if (!grown)
        return JOBQ_ENOMEM;
    d->spaces = grown;
    memset(&grown[d->space_count], 0, sizeof *grown);
    snprintf(grown[d->space_count].ns, sizeof grown->ns, "%s", ns);
    grown[d->space_count].no_quota_ok = no_quota_ok;
    d->space_count++;
    return 0;
}

int k8s_deployer_set_jobs(k8s_deployer *d, const jobs_config *jobs)
{
    d->jobs = jobs;
    for (size_t i = 0; jobs && i < jobs->count; i++) {
        k8s_namespace *space = space_for(d, jobs->jobs[i].ns);
        if (!space)
            continue;
        spark_pod *grown = realloc(space->job_pods, (space->job_pod_count + 2) *
                                                        sizeof *grown);
        if (!grown)
            return JOBQ_ENOMEM;
        space->job_pods = grown;
        grown[space->job_pod_count++] = jobs->jobs[i].shape.driver;
        grown[space->job_pod_count++] = jobs->jobs[i].shape.executor;
    }
    return 0;
}

void k8s_deployer_begin_cycle(k8s_deployer *d)
{
    for (size_t i = 0; i < d->space_count; i++) {
        k8s_namespace *space = &d->spaces[i];
        cJSON_Delete(space->apps);
        cJSON_Delete(space->pods);
        cJSON_Delete(space->quotas);
        free(space->deployed);
        space->apps = space->pods = space->quotas = NULL;
        space->deployed = NULL;
        space->deployed_count = 0;
        space->apps_failed = space->pods_failed = space->unreachable = false;
    }
}

void k8s_deployer_destroy(k8s_deployer *d)
{
    k8s_deployer_begin_cycle(d);
    for (size_t i = 0; i < d->space_count; i++)
        free(d->spaces[i].job_pods);
    free(d->spaces);
    free(d->tracked);
    forget_all(d->warned_jobs, d->warned_count);
    forget_all(d->conflicts, d->conflict_count);
    memset(d, 0, sizeof *d);
}

/* ----------------------------------------------------- tracked runs */

static k8s_tracked *find_tracked(k8s_deployer *d, jobq_run_id id)
{
    for (size_t i = 0; i < d->tracked_count; i++)
        if (d->tracked[i].id == id)
            return &d->tracked[i];
    return NULL;
}

static k8s_tracked *track(k8s_deployer *d, jobq_run_id id, const char *ns,
                          const char *name, const char *job)
{
    k8s_tracked *entry = find_tracked(d, id);
    if (!entry) {
        if (d->tracked_count == d->tracked_cap) {
            size_t cap = d->tracked_cap ? d->tracked_cap * 2 : 16;
            k8s_tracked *grown = realloc(d->tracked, cap * sizeof *grown);
            if (!grown)
                return NULL; /* poll falls back to the listing */
            d->tracked = grown;
            d->tracked_cap = cap;
        }
        entry = &d->tracked[d->tracked_count++];
        memset(entry, 0, sizeof *entry);
    }
    entry->id = id;
    snprintf(entry->ns, sizeof entry->ns, "%s", ns);
    snprintf(entry->name, sizeof entry->name, "%s", name);
    snprintf(entry->job, sizeof entry->job, "%s", job);
    return entry;
}

static void forget(k8s_deployer *d, jobq_run_id id)
{
    k8s_tracked *entry = find_tracked(d, id);
    if (entry)
        *entry = d->tracked[--d->tracked_count];
}

/* --------------------------------------------------------- the object */

static cJSON *object_member(cJSON *parent, const char *name)
{
    cJSON *child = cJSON_GetObjectItemCaseSensitive(parent, name);
    if (cJSON_IsObject(child))
        return child;
    cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
    return cJSON_AddObjectToObject(parent, name);
}

static void set_string(cJSON *object, const char *name, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(object, name);
    cJSON_AddStringToObject(object, name, value);
}

/* The manifest from the payload: an object with "spec", or a bare spec. */
static cJSON *manifest_from_payload(const jobq_deploy_request *req, char *err,
                                    size_t cap)
{
    cJSON *payload = req->payload ? cJSON_ParseWithLength(req->payload,
                                                          req->payload_len)
                                  : NULL;
    if (!cJSON_IsObject(payload)) {
        snprintf(err, cap, "job %s: the payload is not a SparkApplication "
                           "manifest or spec (JSON object)", req->job);
        cJSON_Delete(payload);
        return NULL;
    }
    if (cJSON_IsObject(field(payload, "spec")))
        return payload;
    cJSON *manifest = cJSON_CreateObject();
    cJSON_AddItemToObject(manifest, "spec", payload);
    return manifest;
}

int k8s_deployer_app_name(const k8s_deployer *d, char *out, size_t cap,
                          jobq_run_id id, const char *job)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s-%.6s", d->instance, d->owner);
    return k8s_app_name(out, cap, prefix, id, job);
}

cJSON *k8s_build_application(const k8s_deployer *d,
                             const jobq_deploy_request *req, const char *name,
                             char *err, size_t err_cap)
{
    cJSON *app = manifest_from_payload(req, err, err_cap);
    if (!app)
        return NULL;
    static const char *const server_owned[] = {
        "resourceVersion", "uid", "creationTimestamp", "generateName",
        "selfLink", "managedFields", "deletionTimestamp", "ownerReferences"};
    set_string(app, "apiVersion", "sparkoperator.k8s.io/v1beta2");
    set_string(app, "kind", "SparkApplication");
    cJSON_DeleteItemFromObjectCaseSensitive(app, "status");
    cJSON *metadata = object_member(app, "metadata");
    for (size_t i = 0; i < sizeof server_owned / sizeof server_owned[0]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(metadata, server_owned[i]);
    set_string(metadata, "name", name);
    set_string(metadata, "namespace", req->ns);
    char id[32];
    snprintf(id, sizeof id, "%" PRIu64, (uint64_t)req->run_id);
    cJSON *labels = object_member(metadata, "labels");
    set_string(labels, K8S_LABEL_RUN_ID, id);
    set_string(labels, K8S_LABEL_INSTANCE, d->instance);
    set_string(labels, K8S_LABEL_OWNER, d->owner);
    set_string(labels, K8S_LABEL_JOB, req->job);
    set_string(labels, "app.kubernetes.io/managed-by", "libjobq");
    cJSON *annotations = object_member(metadata, "annotations");
    if (req->run_name && req->run_name[0])
        set_string(annotations, K8S_ANNOTATION_RUN_NAME, req->run_name);
    cJSON *spec = object_member(app, "spec");
    if (d->cleanup == K8S_CLEANUP_TTL && !field(spec, "timeToLiveSeconds"))
        cJSON_AddNumberToObject(spec, "timeToLiveSeconds",
                                (double)d->ttl_seconds);
    return app;
}

/* Is `app` the application of run `id` (of `job` when known)? Name, db
 * id, run id and job must all match; "why" says what differs. */
static bool is_ours(const k8s_deployer *d, const cJSON *app, jobq_run_id id,
                    const char *job, char *why, size_t why_cap)
{
    const char *run = label(app, K8S_LABEL_RUN_ID);
    const char *owner = label(app, K8S_LABEL_OWNER);
    const char *app_job = label(app, K8S_LABEL_JOB);
    const char *name = string_field(field(app, "metadata"), "name");
    char expected_id[32], expected_name[K8S_NAME_MAX + 1];
    snprintf(expected_id, sizeof expected_id, "%" PRIu64, (uint64_t)id);
    if (!owner || strcmp(owner, d->owner) != 0)
        snprintf(why, why_cap, "its " K8S_LABEL_OWNER " is %s, ours is %s",
                 owner ? owner : "missing", d->owner);
    else if (!run || strcmp(run, expected_id) != 0)
        snprintf(why, why_cap, "its " K8S_LABEL_RUN_ID " is %s, not %s",
                 run ? run : "missing", expected_id);
    else if (!app_job || (job && strcmp(app_job, job) != 0))
        snprintf(why, why_cap, "its " K8S_LABEL_JOB " is %s, not %s",
                 app_job ? app_job : "missing", job ? job : "set");
    else if (k8s_deployer_app_name(d, expected_name, sizeof expected_name, id,
                                   app_job) != 0 ||
             !name || strcmp(name, expected_name) != 0)
        snprintf(why, why_cap, "its name %s is not %s", name ? name : "?",
                 expected_name);
    else
        return true;
    return false;
}

static void report_conflict(k8s_deployer *d, const char *ns, const char *name,
                            const char *why)
{
    char key[160];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (remember(&d->conflicts, &d->conflict_count, key))
        kube_log(0, "conflict: SparkApplication %s is not this host's (%s): "
                    "never adopted, never taken as a run's outcome", key, why);
}

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

static const cJSON *listed_apps(k8s_deployer *d, k8s_namespace *space)
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
        if (is_ours(d, app, id, job, why, sizeof why))
            return app;
        const char *name = string_field(field(app, "metadata"), "name");
        report_conflict(d, ns, name ? name : "?", why);
    }
    return NULL;
}

/* Find run id's application in this cycle's lists: the namespace it was
 * deployed to when known, else every managed namespace (after a restart).
 * Returns 0 with *found (may be NULL: it does not exist), or JOBQ_EIO when
 * a list could not be read, so absence cannot be proven. */
static int locate(k8s_deployer *d, jobq_run_id id, const cJSON **found,
                  const char **ns)
{
    k8s_tracked *entry = find_tracked(d, id);
    bool unknown = false;
    *found = NULL;
    for (size_t i = 0; i < d->space_count && !*found; i++) {
        k8s_namespace *space = &d->spaces[i];
        if (entry && strcmp(entry->ns, space->ns) != 0)
            continue;
        const cJSON *list = listed_apps(d, space);
        unknown |= list == NULL;
        *found = list ? find_in_list(d, space->ns, list, id,
                                     entry ? entry->job : NULL)
                      : NULL;
        *ns = space->ns;
    }
    if (entry && !space_for(d, entry->ns)) {
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
static int pending_pods(k8s_deployer *d, k8s_namespace *space,
                        pod_group **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < space->deployed_count; i++)
        if (add_group(out, count, &space->deployed[i].pod,
                      space->deployed[i].count))
            return JOBQ_ENOMEM;
    const cJSON *apps = listed_apps(d, space);
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
        k8s_tracked *entry = find_tracked(d, strtoull(run, NULL, 10));
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

static cJSON *read_quotas(k8s_deployer *d, k8s_namespace *space)
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
    k8s_namespace *space = space_for(d, ns);
    if (!space)
        return JOBQ_ENOTFOUND;
    const cJSON *quotas = read_quotas(d, space);
    if (!quotas || quota_missing(space, quotas))
        return JOBQ_EIO;
    pod_group *pending;
    size_t pending_count;
    int rc = pending_pods(d, space, &pending, &pending_count);
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
        const cJSON *quotas = read_quotas(d, space);
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

/* ------------------------------------------------------------- deploy */

/* Log the Warning headers of a create once per job (they repeat). */
static void warn_once(k8s_deployer *d, const char *job, const char *warnings)
{
    if (warnings[0] && remember(&d->warned_jobs, &d->warned_count, job))
        kube_log(1, "job %s: the API server warned: %s (fields it does not "
                    "know are dropped: fix the job's manifest)", job, warnings);
}

static int delete_app(k8s_deployer *d, const char *ns, const char *name,
                      char *msg, size_t cap)
{
    char path[512], message[256];
    app_path(path, sizeof path, ns, name);
    kube_response response;
    int rc = kube_request(d->client, "DELETE", path, NULL, &response);
    long status = rc == 0 ? response.status : 0;
    kube_status_message(message, sizeof message, &response);
    kube_response_free(&response);
    if ((status >= 200 && status < 300) || status == 404)
        return 0;
    snprintf(msg, cap, "deleting %s/%s: %s", ns, name, message);
    return status == 0 ? JOBQ_EIO : JOBQ_ERROR;
}

/* A refusal that no retry can change: the run fails at once. */
static int refuse(k8s_deployer *d, const jobq_deploy_request *req,
                  const char *name, const char *message, char *msg, size_t cap)
{
    kube_log(0, "run %" PRIu64 ": %s/%s refused for good: %s",
             (uint64_t)req->run_id, req->ns, name, message);
    snprintf(msg, cap, "%s", message);
#ifdef JOBQ_DEPLOY_REFUSED
    (void)d;
    return JOBQ_DEPLOY_REFUSED;
#else
    /* The deployer ABI has no "permanent" answer yet: report it launched
     * and let the next poll fail it with the message, so the run is not
     * retried and its queue does not wait behind it. */
    k8s_tracked *entry = track(d, req->run_id, req->ns, name, req->job);
    if (!entry)
        return JOBQ_ENOMEM;
    entry->refused = true;
    snprintf(entry->refusal, sizeof entry->refusal, "%s", message);
    return 0;
#endif
}

/* 409 on create: the object exists. Ours (a create repeated after a crash
 * or a dropped response) counts as created, unless it is a failed attempt
 * not yet cleaned up; anything else is a conflict. */
static int adopt_existing(k8s_deployer *d, const jobq_deploy_request *req,
                          const char *name, char *msg, size_t cap)
{
    char path[512], why[200];
    app_path(path, sizeof path, req->ns, name);
    kube_response response;
    int rc = kube_request(d->client, "GET", path, NULL, &response);
    if (rc != 0 || response.status != 200) {
        char message[200];
        kube_status_message(message, sizeof message, &response);
        snprintf(msg, cap, "%s exists but cannot be read: %s", name, message);
        kube_response_free(&response);
        return JOBQ_EIO;
    }
    cJSON *app = cJSON_Parse(response.body);
    kube_response_free(&response);
    bool ours = is_ours(d, app, req->run_id, req->job, why, sizeof why);
    const char *state = app_state(app);
    bool failed_attempt = ours && is_terminal(state) &&
                          strcmp(state, "COMPLETED") != 0;
    cJSON_Delete(app);
    if (!ours) {
        report_conflict(d, req->ns, name, why);
        snprintf(msg, cap, "conflict: SparkApplication %s/%s exists and is "
                           "not this run's (%s)", req->ns, name, why);
        return JOBQ_EEXISTS;
    }
    if (failed_attempt) { /* an earlier refused attempt: clear the way */
        rc = delete_app(d, req->ns, name, msg, cap);
        if (!rc)
            snprintf(msg, cap, "an earlier failed attempt of %s/%s was still "
                               "there: deleted, created again next time",
                     req->ns, name);
        return JOBQ_EIO;
    }
    kube_log(2, "run %" PRIu64 ": %s/%s already exists and is ours: adopted",
             (uint64_t)req->run_id, req->ns, name);
    track(d, req->run_id, req->ns, name, req->job);
    return 0;
}

/* Would every quota admit every pod? True if so; else false with the
 * deploy's answer in *answer. */
static bool check_admission(k8s_deployer *d, k8s_namespace *space,
                            const jobq_deploy_request *req, const char *name,
                            const spark_shape *shape, int *answer, char *msg,
                            size_t cap)
{
    if (!space->quotas)
        return true;
    pod_group *pending;
    size_t count;
    if (pending_pods(d, space, &pending, &count) != 0)
        return true;
    char message[400];
    int verdict = quota_admit(space->quotas, shape, pending, count, message,
                              sizeof message);
    free(pending);
    if (verdict > 0) {
        snprintf(msg, cap, "%s", message);
        kube_log(2, "run %" PRIu64 ": %s", (uint64_t)req->run_id, message);
        *answer = JOBQ_DEPLOY_QUOTA_REJECTED;
        return false;
    }
    if (verdict < 0) {
        *answer = refuse(d, req, name, message, msg, cap);
        return false;
    }
    return true;
}

/* What an answer to a create means. */
static int classify_create(k8s_deployer *d, const jobq_deploy_request *req,
                           const char *name, long status, const char *message,
                           char *msg, size_t cap)
{
    char detail[512];
    if (status == 409)
        return adopt_existing(d, req, name, msg, cap);
    if (status == 403 && k8s_message_is_quota(message)) {
        snprintf(msg, cap, "%s", message);
        kube_log(2, "run %" PRIu64 ": %s/%s refused on quota",
                 (uint64_t)req->run_id, req->ns, name);
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    if (status == 0 || status == 429 || status == 401 || status >= 500) {
        snprintf(msg, cap, "%s", message);
        kube_log(0, "run %" PRIu64 ": creating %s/%s failed: %s",
                 (uint64_t)req->run_id, req->ns, name, message);
        return status == 0 ? JOBQ_EIO : JOBQ_ERROR;
    }
    /* 400, 403 (not quota), 404, 422...: the same request will get the
     * same answer. */
    snprintf(detail, sizeof detail, "the API server refused the "
             "SparkApplication (HTTP %ld): %.420s", status, message);
    return refuse(d, req, name, detail, msg, cap);
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    k8s_deployer *d = ctx;
    char name[K8S_NAME_MAX + 1], path[512], message[512];
    if (k8s_deployer_app_name(d, name, sizeof name, req->run_id, req->job))
        return JOBQ_EINVAL;
    k8s_namespace *space = space_for(d, req->ns);
    if (!space) {
        snprintf(msg, cap, "namespace %s is not managed", req->ns);
        return JOBQ_EINVAL;
    }
    if (space->unreachable) {
        snprintf(msg, cap, "namespace %s: the API server did not answer in "
                 "time this cycle", req->ns);
        return JOBQ_EIO;
    }
    cJSON *app = k8s_build_application(d, req, name, msg, cap);
    if (!app)
        return JOBQ_EINVAL;
    spark_shape shape;
    char err[256];
    if (spark_shape_of(&shape, app, err, sizeof err) != 0) {
        cJSON_Delete(app);
        return refuse(d, req, name, err, msg, cap);
    }
    int answer = 0;
    bool admitted = check_admission(d, space, req, name, &shape, &answer, msg,
                                    cap);
    char *body = admitted ? cJSON_PrintUnformatted(app) : NULL;
    cJSON_Delete(app);
    if (!admitted)
        return answer;
    if (!body) {
        snprintf(msg, cap, "out of memory");
        return JOBQ_ENOMEM;
    }
    app_path(path, sizeof path, req->ns, NULL);
    kube_response response;
    int rc = kube_request(d->client, "POST", path, body, &response);
    free(body);
    long status = rc == 0 ? response.status : 0;
    space->unreachable |= response.timed_out;
    kube_status_message(message, sizeof message, &response);
    if (status >= 200 && status < 300)
        warn_once(d, req->job, response.warnings);
    kube_response_free(&response);
    if (status >= 200 && status < 300) {
        track(d, req->run_id, req->ns, name, req->job);
        pod_group *grown = realloc(space->deployed, (space->deployed_count + 2) *
                                                        sizeof *grown);
        if (grown) {
            space->deployed = grown;
            grown[space->deployed_count++] = (pod_group){shape.driver, 1};
            grown[space->deployed_count++] =
                (pod_group){shape.executor, shape.executors};
        }
        kube_log(2, "run %" PRIu64 ": created %s/%s", (uint64_t)req->run_id,
                 req->ns, name);
        return 0;
    }
    return classify_create(d, req, name, status, message, msg, cap);
}

/* --------------------------------------------------------------- poll */

static int poll(void *ctx, jobq_run_id id, jobq_poll_status *status, char *msg,
                size_t cap)
{
    k8s_deployer *d = ctx;
    k8s_tracked *entry = find_tracked(d, id);
    if (entry && entry->refused) {
        snprintf(msg, cap, "%s", entry->refusal);
        *status = JOBQ_POLL_FAILED;
        forget(d, id);
        return 0;
    }
    const cJSON *app;
    const char *ns = NULL;
    int rc = locate(d, id, &app, &ns);
    if (rc)
        return rc;
    if (!app) {
        snprintf(msg, cap, "its SparkApplication no longer exists");
        *status = JOBQ_POLL_GONE;
        forget(d, id);
        return 0;
    }
    const char *name = string_field(field(app, "metadata"), "name");
    if (!entry)
        track(d, id, ns, name ? name : "", label(app, K8S_LABEL_JOB));
    const cJSON *state_object = field(field(app, "status"), "applicationState");
    const char *state = string_field(state_object, "state");
    const char *error = string_field(state_object, "errorMessage");
    *status = JOBQ_POLL_RUNNING;
    if (state && strcmp(state, "COMPLETED") == 0) {
        snprintf(msg, cap, "SparkApplication %s/%s completed", ns, name);
        *status = JOBQ_POLL_FINISHED;
        forget(d, id);
    } else if (state && (strcmp(state, "FAILED") == 0 ||
                         strcmp(state, "SUBMISSION_FAILED") == 0)) {
        /* A quota refusal goes back to the queue; the failed object is
         * deleted after the cycle's outcome is committed (end_cycle). */
        bool quota = k8s_message_is_quota(error);
        snprintf(msg, cap, "%s%s%s", quota ? "" : state, quota ? "" : ": ",
                 error ? error : "no errorMessage");
        *status = quota ? JOBQ_POLL_QUOTA_REJECTED : JOBQ_POLL_FAILED;
        forget(d, id);
    }
    return 0;
}

/* ------------------------------------------------------------ cleanup */

void k8s_deployer_end_cycle(k8s_deployer *d, jobq_scheduler *s)
{
    for (size_t i = 0; i < d->space_count; i++) {
        k8s_namespace *space = &d->spaces[i];
        const cJSON *app;
        cJSON_ArrayForEach(app, field(space->apps, "items"))
        {
            const char *state = app_state(app);
            const char *run = label(app, K8S_LABEL_RUN_ID);
            const char *name = string_field(field(app, "metadata"), "name");
            if (!is_terminal(state) || !run || !name)
                continue;
            bool refused_on_quota =
                strcmp(state, "COMPLETED") != 0 &&
                k8s_message_is_quota(string_field(
                    field(field(app, "status"), "applicationState"),
                    "errorMessage"));
            if (d->cleanup != K8S_CLEANUP_DELETE && !refused_on_quota)
                continue;
            jobq_run_info info;
            jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
            int rc = jobq_run_get(s, &info, strtoull(run, NULL, 10));
            if (rc == 0 && (info.state == JOBQ_RUN_RUNNING ||
                            info.state == JOBQ_RUN_DEPLOYING))
                continue; /* its outcome is not recorded yet */
            char why[200], msg[300];
            if (rc == 0 &&
                !is_ours(d, app, info.id, info.job, why, sizeof why)) {
                report_conflict(d, space->ns, name, why);
                continue;
            }
            if (delete_app(d, space->ns, name, msg, sizeof msg) == 0)
                kube_log(3, "deleted %s/%s (%s, its outcome is recorded)",
                         space->ns, name, state);
            else
                kube_log(1, "%s", msg);
        }
    }
}

/* ------------------------------------------------------------- cancel */

static int cancel(void *ctx, jobq_run_id id, char *msg, size_t cap)
{
    k8s_deployer *d = ctx;
    k8s_tracked *entry = find_tracked(d, id);
    char ns[JOBQ_NS_MAX + 1], name[K8S_NAME_MAX + 1];
    if (entry && entry->refused) {
        forget(d, id);
        return 0;
    }
    if (entry) {
        snprintf(ns, sizeof ns, "%s", entry->ns);
        snprintf(name, sizeof name, "%s", entry->name);
    } else {
        const cJSON *app;
        const char *found_ns = NULL;
        int rc = locate(d, id, &app, &found_ns);
        if (rc || !app) {
            snprintf(msg, cap, rc ? "cannot list SparkApplications"
                                  : "no SparkApplication to delete");
            return rc ? rc : 0;
        }
        snprintf(ns, sizeof ns, "%s", found_ns);
        snprintf(name, sizeof name, "%s",
                 string_field(field(app, "metadata"), "name"));
    }
    int rc = delete_app(d, ns, name, msg, cap);
    if (!rc) {
        kube_log(2, "run %" PRIu64 ": cancelled, deleted %s/%s", (uint64_t)id,
                 ns, name);
        forget(d, id);
    }
    return rc;
}

void k8s_deployer_vtable(jobq_deployer *vtable, k8s_deployer *d)
{
    memset(vtable, 0, sizeof *vtable);
    vtable->version = JOBQ_DEPLOYER_VERSION;
    vtable->ctx = d;
    vtable->deploy = deploy;
    vtable->cancel = cancel;
    vtable->poll = poll;
}
