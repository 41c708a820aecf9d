/*
 * SparkApplication deployer (see deployer.h). Creation is idempotent per
 * run (the deterministic name plus 409 -> verify identity -> created);
 * status comes from one LIST per namespace per cycle, with a label
 * selector for what this host manages; quota refusals, synchronous (403
 * from ResourceQuota admission or the operator's webhook) or asynchronous
 * (the operator's errorMessage), are reported as stale-quota rejections;
 * permanent refusals (422 and other 4xx) fail the run at once.
 */
#include "deployer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crd_rules.h" /* the name rule */

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

k8s_namespace *k8s_space_for(k8s_deployer *d, const char *ns)
{
    for (size_t i = 0; i < d->space_count; i++)
        if (strcmp(d->spaces[i].ns, ns) == 0)
            return &d->spaces[i];
    return NULL;
}

int k8s_deployer_add_namespace(k8s_deployer *d, const char *ns,
                               bool no_quota_ok)
{
    k8s_namespace *known = k8s_space_for(d, ns);
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
        k8s_namespace *space = k8s_space_for(d, jobs->jobs[i].ns);
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
    k8s_forget_all(d->warned_jobs, d->warned_count);
    k8s_forget_all(d->conflicts, d->conflict_count);
    memset(d, 0, sizeof *d);
}

/* ----------------------------------------------------- tracked runs */

k8s_tracked *k8s_find_tracked(k8s_deployer *d, jobq_run_id id)
{
    for (size_t i = 0; i < d->tracked_count; i++)
        if (d->tracked[i].id == id)
            return &d->tracked[i];
    return NULL;
}

k8s_tracked *k8s_track(k8s_deployer *d, jobq_run_id id, const char *ns,
                          const char *name, const char *job)
{
    k8s_tracked *entry = k8s_find_tracked(d, id);
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
    k8s_tracked *entry = k8s_find_tracked(d, id);
    if (entry)
        *entry = d->tracked[--d->tracked_count];
}

/* ------------------------------------------------------------- deploy */

/* Log the Warning headers of a create once per job (they repeat). */
static void warn_once(k8s_deployer *d, const char *job, const char *warnings)
{
    if (warnings[0] && k8s_remember(&d->warned_jobs, &d->warned_count, job))
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
static int refuse(const jobq_deploy_request *req, const char *name,
                  const char *message, char *msg, size_t cap)
{
    kube_log(0, "run %" PRIu64 ": %s/%s refused for good: %s",
             (uint64_t)req->run_id, req->ns, name, message);
    snprintf(msg, cap, "%s", message);
    return JOBQ_DEPLOY_REFUSED;
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
    bool ours = k8s_is_ours(d, app, req->run_id, req->job, why, sizeof why);
    const char *state = app_state(app);
    bool failed_attempt = ours && is_terminal(state) &&
                          strcmp(state, "COMPLETED") != 0;
    cJSON_Delete(app);
    if (!ours) {
        /* Someone else's object under our name: it will not go away by
         * retrying, and must never be taken for this run's. */
        k8s_report_conflict(d, req->ns, name, why);
        char detail[400];
        snprintf(detail, sizeof detail, "conflict: SparkApplication %s/%s "
                 "exists and is not this run's (%s)", req->ns, name, why);
        return refuse(req, name, detail, msg, cap);
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
    k8s_track(d, req->run_id, req->ns, name, req->job);
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
    if (k8s_pending_pods(d, space, &pending, &count) != 0)
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
        *answer = refuse(req, name, message, msg, cap);
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
    return refuse(req, name, detail, msg, cap);
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    k8s_deployer *d = ctx;
    char name[K8S_NAME_MAX + 1], path[512], message[512];
    if (k8s_deployer_app_name(d, name, sizeof name, req->run_id, req->job) ||
        !crd_is_dns1035_label(name)) { /* what the operator's webhook wants */
        snprintf(msg, cap, "\"%s\" is not a DNS-1035 label", name);
        return JOBQ_EINVAL;
    }
    k8s_namespace *space = k8s_space_for(d, req->ns);
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
        return refuse(req, name, err, msg, cap);
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
        k8s_track(d, req->run_id, req->ns, name, req->job);
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
    k8s_tracked *entry = k8s_find_tracked(d, id);
    const cJSON *app;
    const char *ns = NULL;
    int rc = k8s_locate(d, id, &app, &ns);
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
        k8s_track(d, id, ns, name ? name : "", label(app, K8S_LABEL_JOB));
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
                !k8s_is_ours(d, app, info.id, info.job, why, sizeof why)) {
                k8s_report_conflict(d, space->ns, name, why);
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
    k8s_tracked *entry = k8s_find_tracked(d, id);
    char ns[JOBQ_NS_MAX + 1], name[K8S_NAME_MAX + 1];
    if (entry) {
        snprintf(ns, sizeof ns, "%s", entry->ns);
        snprintf(name, sizeof name, "%s", entry->name);
    } else {
        const cJSON *app;
        const char *found_ns = NULL;
        int rc = k8s_locate(d, id, &app, &found_ns);
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
