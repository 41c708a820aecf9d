/*
 * The SparkApplication deployer: jobq_deployer over the Kubernetes API,
 * and the per-namespace view of the cluster the probe reads through it.
 *
 * Identity. Every application is named "<instance>-<owner6>-<run>-<job>"
 * and labelled jobq.io/instance, jobq.io/db-id (the owner: the database's
 * id, or a random id for this process's life when there is no database),
 * jobq.io/run-id and jobq.io/job. An application is this run's only if
 * its name, db id, run id and job all match: anything else carrying our
 * name is a conflict, reported and never adopted or taken as an outcome.
 * A create repeated after a crash gets 409 AlreadyExists, finds its own
 * object and counts it as created: never two applications for one run.
 *
 * Late usage. A namespace's ResourceQuota `used` shows a run's pods only
 * once they exist (the driver seconds after the create, executors later).
 * Until then the deployer keeps their demand reserved: once per cycle and
 * namespace it lists the pods with its db-id label and adds to `used` what
 * each live application's pods do not show yet.
 */
#ifndef K8S_DEPLOYER_H
#define K8S_DEPLOYER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jobq/jobq.h"
#include "jobs_file.h"
#include "kube_client.h"
#include "names.h"
#include "quota.h"

#define K8S_SPARK_API "/apis/sparkoperator.k8s.io/v1beta2"
#define K8S_LABEL_RUN_ID "jobq.io/run-id"
#define K8S_LABEL_INSTANCE "jobq.io/instance"
#define K8S_LABEL_OWNER "jobq.io/db-id"
#define K8S_LABEL_JOB "jobq.io/job"
#define K8S_ANNOTATION_RUN_NAME "jobq.io/run-name"
#define K8S_OWNER_MAX 32

/* What happens to the application of a run that ended, once the outcome
 * is recorded. */
typedef enum k8s_cleanup {
    K8S_CLEANUP_DELETE = 0, /* delete it (default) */
    K8S_CLEANUP_TTL,        /* set spec.timeToLiveSeconds at create */
    K8S_CLEANUP_KEEP,       /* leave it */
} k8s_cleanup;

typedef struct k8s_tracked {
    jobq_run_id id;
    char ns[JOBQ_NS_MAX + 1];
    char name[K8S_NAME_MAX + 1];
    char job[K8S_NAME_MAX + 1];
    bool driver_seen;        /* its driver pod has shown at least once */
    int64_t executors_seen;  /* most executor pods seen at once */
} k8s_tracked;

/* One managed namespace, as seen in the current cycle. */
typedef struct k8s_namespace {
    char ns[JOBQ_NS_MAX + 1];
    bool no_quota_ok;  /* may be managed without a ResourceQuota */
    bool no_quota_logged;
    cJSON *apps;       /* our applications, listed once per cycle */
    bool apps_failed;
    cJSON *pods;       /* our pods, listed once per cycle */
    bool pods_failed;
    cJSON *quotas;     /* the ResourceQuotaList read this cycle */
    bool unreachable;  /* a request timed out this cycle: ask no more */
    pod_group *deployed; /* created this cycle, not in `apps` yet */
    size_t deployed_count;
    spark_pod *job_pods; /* the pods of the jobs of this namespace */
    size_t job_pod_count;
} k8s_namespace;

typedef struct k8s_deployer {
    kube_client *client; /* borrowed */
    char instance[41];
    char owner[K8S_OWNER_MAX + 1];
    k8s_cleanup cleanup;
    long ttl_seconds;
    const jobs_config *jobs; /* borrowed, may be NULL */
    k8s_tracked *tracked;
    size_t tracked_count, tracked_cap;
    k8s_namespace *spaces;
    size_t space_count;
    char **warned_jobs; /* Warning headers are logged once per job */
    size_t warned_count;
    char **conflicts;   /* conflicting names already reported */
    size_t conflict_count;
} k8s_deployer;

/* Set up a deployer. `instance`: a DNS label starting with a letter, at
 * most 40 bytes; `owner`: 6..32 lower-case hex digits. Returns 0 or
 * JOBQ_EINVAL. */
int k8s_deployer_init(k8s_deployer *d, kube_client *client,
                      const char *instance, const char *owner);
void k8s_deployer_destroy(k8s_deployer *d);

/* Manage one more namespace (no-op if already managed). 0 or JOBQ_ENOMEM. */
int k8s_deployer_add_namespace(k8s_deployer *d, const char *ns,
                               bool no_quota_ok);

/* The jobs (for their pods' shapes, per namespace). Call after the
 * namespaces are added. */
int k8s_deployer_set_jobs(k8s_deployer *d, const jobs_config *jobs);

/* Call before every jobq_tick(): forgets the previous cycle's lists. */
void k8s_deployer_begin_cycle(k8s_deployer *d);

/* Call after a jobq_tick() that succeeded (its outcomes are committed):
 * deletes the applications of runs that ended (per the cleanup mode) and
 * of runs sent back to their queue by an asynchronous quota refusal. */
void k8s_deployer_end_cycle(k8s_deployer *d, jobq_scheduler *s);

/* Check at start that every managed namespace has a ResourceQuota (unless
 * allowed without) and that no job lacks a limit a quota demands.
 * Returns 0, or -1 with the problem logged. */
int k8s_deployer_check_quotas(k8s_deployer *d);

/* The probe's read: quota of `ns` folded for the scheduler, with the
 * demand of our applications whose pods have not shown yet added to
 * `used`. 0 or a negative status. */
int k8s_deployer_read_quota(k8s_deployer *d, const char *ns,
                            jobq_resources *hard, jobq_resources *used);

/* Fill a jobq_deployer vtable whose context is d. */
void k8s_deployer_vtable(jobq_deployer *vtable, k8s_deployer *d);

/* The SparkApplication object for a deploy request (exposed for tests):
 * the payload is a whole manifest (an object with "spec") or just the spec.
 * Returns NULL with a message in err when the payload is not usable. */
cJSON *k8s_build_application(const k8s_deployer *d,
                             const jobq_deploy_request *req, const char *name,
                             char *err, size_t err_cap);

/* The name of run `id` of `job`. 0 or JOBQ_EINVAL. */
int k8s_deployer_app_name(const k8s_deployer *d, char *out, size_t cap,
                          jobq_run_id id, const char *job);

/* True if a Kubernetes message reports a quota refusal: ResourceQuota
 * admission ("exceeded quota") or the Spark operator's webhook ("failed to
 * validate resource quota"). */
bool k8s_message_is_quota(const char *message);

#endif
