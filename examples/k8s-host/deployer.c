/*
 * SparkApplication deployer. Creation is idempotent per run id (the
 * deterministic name plus 409 → verify ownership → created); status comes
 * from one LIST per namespace per scheduling cycle; a quota refusal,
 * synchronous (403 "exceeded quota:") or asynchronous (the operator's
 * errorMessage), is reported to the library as a stale-quota rejection.
 */
#include "deployer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool k8s_message_is_quota(const char *message)
{
    return message && strstr(message, "exceeded quota") != NULL;
}

static void app_path(char *out, size_t cap, const char *ns, const char *name)
{
    char escaped[3 * JOBQ_NS_MAX + 1];
    kube_url_escape(escaped, sizeof escaped, ns);
    snprintf(out, cap, K8S_SPARK_API "/namespaces/%s/sparkapplications%s%s",
             escaped, name ? "/" : "", name ? name : "");
}

/* ------------------------------------------------------------- set-up */

int k8s_deployer_init(k8s_deployer *d, kube_client *client,
                      const char *instance, const char *const *namespaces,
                      size_t namespace_count)
{
    memset(d, 0, sizeof *d);
    if (!instance || strlen(instance) >= sizeof d->instance ||
        !k8s_is_dns_label(instance) || instance[0] < 'a' || instance[0] > 'z')
        return JOBQ_EINVAL;
    d->client = client;
    snprintf(d->instance, sizeof d->instance, "%s", instance);
    for (size_t i = 0; i < namespace_count; i++)
        if (k8s_deployer_add_namespace(d, namespaces[i]))
            return JOBQ_ENOMEM;
    return 0;
}

int k8s_deployer_add_namespace(k8s_deployer *d, const char *ns)
{
    for (size_t i = 0; i < d->listing_count; i++)
        if (strcmp(d->listings[i].ns, ns) == 0)
            return 0;
    k8s_listing *grown = realloc(d->listings,
                                 (d->listing_count + 1) * sizeof *grown);
    if (!grown)
        return JOBQ_ENOMEM;
    d->listings = grown;
    memset(&grown[d->listing_count], 0, sizeof *grown);
    snprintf(grown[d->listing_count].ns, sizeof grown->ns, "%s", ns);
    d->listing_count++;
    return 0;
}

void k8s_deployer_begin_cycle(k8s_deployer *d)
{
    for (size_t i = 0; i < d->listing_count; i++) {
        cJSON_Delete(d->listings[i].list);
        d->listings[i].list = NULL;
        d->listings[i].failed = false;
    }
}

void k8s_deployer_destroy(k8s_deployer *d)
{
    k8s_deployer_begin_cycle(d);
    free(d->listings);
    free(d->tracked);
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

static void track(k8s_deployer *d, jobq_run_id id, const char *ns,
                  const char *name)
{
    k8s_tracked *entry = find_tracked(d, id);
    if (!entry) {
        if (d->tracked_count == d->tracked_cap) {
            size_t cap = d->tracked_cap ? d->tracked_cap * 2 : 16;
            k8s_tracked *grown = realloc(d->tracked, cap * sizeof *grown);
            if (!grown)
                return; /* poll falls back to a lookup by label */
            d->tracked = grown;
            d->tracked_cap = cap;
        }
        entry = &d->tracked[d->tracked_count++];
    }
    entry->id = id;
    snprintf(entry->ns, sizeof entry->ns, "%s", ns);
    snprintf(entry->name, sizeof entry->name, "%s", name);
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
    set_string(labels, "app.kubernetes.io/managed-by", "libjobq");
    cJSON *annotations = object_member(metadata, "annotations");
    set_string(annotations, K8S_ANNOTATION_JOB, req->job);
    if (req->run_name && req->run_name[0])
        set_string(annotations, K8S_ANNOTATION_RUN_NAME, req->run_name);
    return app;
}

/* True if the object is the one this scheduler created for run `id`. */
static bool is_ours(const k8s_deployer *d, const cJSON *app, jobq_run_id id,
                    const char *job)
{
    const cJSON *metadata = field(app, "metadata");
    const char *run = string_field(field(metadata, "labels"), K8S_LABEL_RUN_ID);
    const char *instance =
        string_field(field(metadata, "labels"), K8S_LABEL_INSTANCE);
    const char *owner_job =
        string_field(field(metadata, "annotations"), K8S_ANNOTATION_JOB);
    char expected[32];
    snprintf(expected, sizeof expected, "%" PRIu64, (uint64_t)id);
    return run && instance && strcmp(run, expected) == 0 &&
           strcmp(instance, d->instance) == 0 &&
           (!job || (owner_job && strcmp(owner_job, job) == 0));
}

/* ------------------------------------------------------------- deploy */

/* 409 on create: the object exists. Ours (a create repeated after a crash
 * or a dropped response) counts as created; anything else is an error. */
static int adopt_existing(k8s_deployer *d, const jobq_deploy_request *req,
                          const char *name, char *msg, size_t cap)
{
    char path[512];
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
    bool ours = is_ours(d, app, req->run_id, req->job);
    cJSON_Delete(app);
    if (!ours) {
        snprintf(msg, cap, "SparkApplication %s/%s exists and is not this "
                           "run's (labels differ)", req->ns, name);
        return JOBQ_EEXISTS;
    }
    kube_log(2, "run %" PRIu64 ": %s/%s already exists and is ours: adopted",
             (uint64_t)req->run_id, req->ns, name);
    track(d, req->run_id, req->ns, name);
    return 0;
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    k8s_deployer *d = ctx;
    char name[K8S_NAME_MAX + 1], path[512], message[512];
    if (k8s_app_name(name, sizeof name, d->instance, req->run_id, req->job))
        return JOBQ_EINVAL;
    cJSON *app = k8s_build_application(d, req, name, msg, cap);
    if (!app)
        return JOBQ_EINVAL;
    char *body = cJSON_PrintUnformatted(app);
    cJSON_Delete(app);
    if (!body) {
        snprintf(msg, cap, "out of memory");
        return JOBQ_ENOMEM;
    }
    app_path(path, sizeof path, req->ns, NULL);
    kube_response response;
    int rc = kube_request(d->client, "POST", path, body, &response);
    free(body);
    long status = rc == 0 ? response.status : 0;
    kube_status_message(message, sizeof message, &response);
    kube_response_free(&response);
    if (status >= 200 && status < 300) {
        track(d, req->run_id, req->ns, name);
        kube_log(2, "run %" PRIu64 ": created %s/%s", (uint64_t)req->run_id,
                 req->ns, name);
        return 0;
    }
    if (status == 409)
        return adopt_existing(d, req, name, msg, cap);
    snprintf(msg, cap, "%s", message);
    if (status == 403 && k8s_message_is_quota(message)) {
        kube_log(2, "run %" PRIu64 ": %s/%s refused on quota", 
                 (uint64_t)req->run_id, req->ns, name);
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    kube_log(0, "run %" PRIu64 ": creating %s/%s failed: %s",
             (uint64_t)req->run_id, req->ns, name, message);
    return status == 0 ? JOBQ_EIO : JOBQ_ERROR;
}

/* ------------------------------------------------------------ listing */

static k8s_listing *listing_for(k8s_deployer *d, const char *ns)
{
    for (size_t i = 0; i < d->listing_count; i++)
        if (strcmp(d->listings[i].ns, ns) == 0)
            return &d->listings[i];
    return NULL;
}

/* This cycle's list of our applications in one namespace, fetched on first
 * use; NULL if it could not be read. */
static const cJSON *listed(k8s_deployer *d, k8s_listing *listing)
{
    if (listing->list || listing->failed)
        return listing->list;
    char path[512], selector[128], escaped[256], message[256];
    snprintf(selector, sizeof selector, K8S_LABEL_INSTANCE "=%s", d->instance);
    kube_url_escape(escaped, sizeof escaped, selector);
    app_path(path, sizeof path, listing->ns, NULL);
    size_t used = strlen(path);
    snprintf(path + used, sizeof path - used, "?labelSelector=%s", escaped);
    kube_response response;
    int rc = kube_request(d->client, "GET", path, NULL, &response);
    if (rc == 0 && response.status == 200)
        listing->list = cJSON_Parse(response.body);
    if (!listing->list) {
        listing->failed = true;
        kube_status_message(message, sizeof message, &response);
        kube_log(0, "listing SparkApplications in %s: %s", listing->ns,
                 message);
    }
    kube_response_free(&response);
    return listing->list;
}

/* The application of run `id` in a list, or NULL. */
static const cJSON *find_in_list(const k8s_deployer *d, const cJSON *list,
                                 jobq_run_id id)
{
    const cJSON *app;
    cJSON_ArrayForEach(app, field(list, "items"))
    {
        if (is_ours(d, app, id, NULL))
            return app;
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
    for (size_t i = 0; i < d->listing_count && !*found; i++) {
        k8s_listing *listing = &d->listings[i];
        if (entry && strcmp(entry->ns, listing->ns) != 0)
            continue;
        const cJSON *list = listed(d, listing);
        unknown |= list == NULL;
        *found = list ? find_in_list(d, list, id) : NULL;
        *ns = listing->ns;
    }
    if (entry && !listing_for(d, entry->ns)) {
        kube_log(0, "run %" PRIu64 ": namespace %s is not managed",
                 (uint64_t)id, entry->ns);
        unknown = true;
    }
    return *found || !unknown ? 0 : JOBQ_EIO;
}

/* --------------------------------------------------------------- poll */

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

/* An application the operator failed: a quota refusal is cleaned up and
 * handed back to the scheduler; anything else is a failed run. */
static int failed_app(k8s_deployer *d, jobq_run_id id, const char *ns,
                      const char *name, const char *state, const char *error,
                      jobq_poll_status *status, char *msg, size_t cap)
{
    if (!k8s_message_is_quota(error)) {
        snprintf(msg, cap, "%s: %s", state, error ? error : "no errorMessage");
        *status = JOBQ_POLL_FAILED;
        forget(d, id);
        return 0;
    }
    int rc = delete_app(d, ns, name, msg, cap);
    if (rc)
        return rc; /* still there: try again next cycle */
    kube_log(2, "run %" PRIu64 ": %s/%s failed on quota; deleted, back to "
                "its queue", (uint64_t)id, ns, name);
    snprintf(msg, cap, "%s", error);
    *status = JOBQ_POLL_QUOTA_REJECTED;
    forget(d, id);
    return 0;
}

static int poll(void *ctx, jobq_run_id id, jobq_poll_status *status, char *msg,
                size_t cap)
{
    k8s_deployer *d = ctx;
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
    track(d, id, ns, name ? name : "");
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
        return failed_app(d, id, ns, name, state, error, status, msg, cap);
    }
    return 0;
}

/* ------------------------------------------------------------- cancel */

static int cancel(void *ctx, jobq_run_id id, char *msg, size_t cap)
{
    k8s_deployer *d = ctx;
    k8s_tracked *entry = find_tracked(d, id);
    char ns[JOBQ_NS_MAX + 1], name[K8S_NAME_MAX + 1];
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
