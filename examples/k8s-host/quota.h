/*
 * ResourceQuotas as Kubernetes evaluates them for the pods of a
 * SparkApplication: a quota applies to a pod only if its scopes and
 * scopeSelector match the pod (Spark pods are NotBestEffort and
 * NotTerminating; PriorityClass follows spec.{driver,executor}.
 * priorityClassName), and every quota that applies must admit every pod.
 *
 * Honoured keys: requests.cpu and cpu (pod cpu requests), limits.cpu (pod
 * cpu limits: a pod without one is refused where such a quota applies),
 * requests.memory and memory, limits.memory (Spark sets the memory limit
 * equal to the request), pods and count/pods, requests.storage (Spark pods
 * claim none). Other keys are ignored.
 */
#ifndef K8S_QUOTA_H
#define K8S_QUOTA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jobq/jobq.h"
#include "spark_demand.h"

/* `count` pods of one shape: what an application still has to start (the
 * host reserves it until the pods show) or is about to create. */
typedef struct pod_group {
    spark_pod pod;
    int64_t count;
} pod_group;

/* True if `quota` (a ResourceQuota object) applies to `pod`. */
bool quota_applies(const cJSON *quota, const spark_pod *pod);

/* Fold a ResourceQuotaList into the one hard/used pair per dimension the
 * scheduler compares requests against. A quota counts when it applies to
 * every pod in `job_pods` (the pods of the namespace's jobs; with none,
 * to a plain Spark pod): quotas that apply to only some jobs' pods are
 * left to quota_admit() at deploy time. Per (quota, key) the remaining
 * amount is hard - used - the pending pods it applies to; the smallest
 * remaining per dimension wins (limits.cpu folds into cpu: a pod's limit
 * is at least its request). A dimension no quota limits gets hard =
 * JOBQ_UNLIMITED, used = 0. Returns 0, or JOBQ_EPARSE with a message
 * naming the quota and key. */
int quota_fold(const cJSON *list, const spark_pod *job_pods, size_t job_pod_count,
               const pod_group *pending, size_t pending_count,
               jobq_resources *hard, jobq_resources *used, char *err,
               size_t err_cap);

/* quota_fold() with no pods: every quota without scopes, and the
 * NotBestEffort/NotTerminating ones, counted as they are. */
int quota_aggregate(const cJSON *list, jobq_resources *hard,
                    jobq_resources *used, char *err, size_t err_cap);

/* Would Kubernetes admit every pod of `shape` now, given what the pending
 * pods will still take? 0 yes; 1 no (msg: "exceeded quota: NAME,
 * requested: ..., used: ..., limited: ..."); -1 never (a pod lacks a
 * limit a quota demands: msg says which). */
int quota_admit(const cJSON *list, const spark_shape *shape,
                const pod_group *pending, size_t pending_count, char *msg,
                size_t msg_cap);

/* Does any quota of the list demand a limit (limits.cpu / limits.memory)
 * that one of these pods lacks? Returns true with a message. */
bool quota_needs_limit(const cJSON *list, const spark_shape *shape, char *msg,
                       size_t msg_cap);

#endif
