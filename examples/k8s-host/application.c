/*
 * The SparkApplication object a run becomes (name, labels, the cleanup
 * TTL) and the one test of whether an object is a run's own: name, db id,
 * run id and job must all match (deployer.h). Anything else with our name
 * is a conflict, reported once.
 */
#include "deployer_internal.h"

#include <inttypes.h>
#include <stdlib.h>

bool k8s_message_is_quota(const char *message)
{
    return message && (strstr(message, "exceeded quota") != NULL ||
                       strstr(message, "failed to validate resource quota") !=
                           NULL);
}

/* Remember a string once; true if it was new. */
bool k8s_remember(char ***list, size_t *count, const char *text)
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

void k8s_forget_all(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
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
bool k8s_is_ours(const k8s_deployer *d, const cJSON *app, jobq_run_id id,
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

void k8s_report_conflict(k8s_deployer *d, const char *ns, const char *name,
                            const char *why)
{
    char key[160];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    if (k8s_remember(&d->conflicts, &d->conflict_count, key))
        kube_log(0, "conflict: SparkApplication %s is not this host's (%s): "
                    "never adopted, never taken as a run's outcome", key, why);
}

