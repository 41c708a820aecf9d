/*
 * The SparkApplication deployer: jobq_deployer over the Kubernetes API.
 *
 * deploy creates a sparkoperator.k8s.io/v1beta2 SparkApplication named
 * from the run's durable id ("<instance>-<id>-<job>"), labelled with the
 * run id, so that a create repeated after a crash gets 409 AlreadyExists,
 * finds its own object and counts it as created: never two applications
 * for one run. poll maps status.applicationState to jobq_poll_status;
 * cancel deletes the application.
 */
#ifndef K8S_DEPLOYER_H
#define K8S_DEPLOYER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jobq/jobq.h"
#include "kube_client.h"
#include "names.h"

#define K8S_SPARK_API "/apis/sparkoperator.k8s.io/v1beta2"
#define K8S_LABEL_RUN_ID "jobq.io/run-id"
#define K8S_LABEL_INSTANCE "jobq.io/instance"
#define K8S_ANNOTATION_JOB "jobq.io/job"
#define K8S_ANNOTATION_RUN_NAME "jobq.io/run-name"

typedef struct k8s_tracked {
    jobq_run_id id;
    char ns[JOBQ_NS_MAX + 1];
    char name[K8S_NAME_MAX + 1];
} k8s_tracked;

/* One namespace's applications as listed at the start of a cycle. */
typedef struct k8s_listing {
    char ns[JOBQ_NS_MAX + 1];
    cJSON *list; /* NULL until fetched in this cycle */
    bool failed;
} k8s_listing;

typedef struct k8s_deployer {
    kube_client *client; /* borrowed */
    /* Name prefix and the value of the jobq.io/instance label: tells this
     * scheduler's applications from anyone else's. */
    char instance[41];
    k8s_tracked *tracked; /* runs this process knows the object of */
    size_t tracked_count, tracked_cap;
    k8s_listing *listings; /* the managed namespaces */
    size_t listing_count;
} k8s_deployer;

/* Set up a deployer for the managed namespaces (copied). Returns 0 or
 * JOBQ_EINVAL for an instance that is not a DNS label starting with a
 * letter (at most 40 bytes), JOBQ_ENOMEM. */
int k8s_deployer_init(k8s_deployer *d, kube_client *client,
                      const char *instance, const char *const *namespaces,
                      size_t namespace_count);
void k8s_deployer_destroy(k8s_deployer *d);

/* Manage one more namespace (no-op if already managed). 0 or JOBQ_ENOMEM. */
int k8s_deployer_add_namespace(k8s_deployer *d, const char *ns);

/* Call before every jobq_tick(): the first poll of a namespace in the cycle
 * then lists its applications once (one LIST per namespace per cycle
 * instead of one GET per run). */
void k8s_deployer_begin_cycle(k8s_deployer *d);

/* Fill a jobq_deployer vtable whose context is d. */
void k8s_deployer_vtable(jobq_deployer *vtable, k8s_deployer *d);

/* The SparkApplication object for a deploy request (exposed for tests):
 * the payload is a whole manifest (an object with "spec") or just the spec.
 * Returns NULL with a message in err when the payload is not usable. */
cJSON *k8s_build_application(const k8s_deployer *d,
                             const jobq_deploy_request *req, const char *name,
                             char *err, size_t err_cap);

/* True if a Kubernetes message reports a quota refusal. */
bool k8s_message_is_quota(const char *message);

#endif
