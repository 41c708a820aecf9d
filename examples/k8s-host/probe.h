/*
 * The ResourceQuota probe: jobq_probe.read_quota over the Kubernetes API.
 * For a namespace it reads every ResourceQuota and reports, per dimension,
 * the quota whose remaining amount (hard - used) is smallest.
 */
#ifndef K8S_PROBE_H
#define K8S_PROBE_H

#include <cjson/cJSON.h>

#include "jobq/jobq.h"
#include "kube_client.h"

/* Aggregate a ResourceQuotaList (the parsed body of GET
 * /api/v1/namespaces/{ns}/resourcequotas). Per dimension the keys are:
 *   cpu: requests.cpu, cpu;  memory: requests.memory, memory;
 *   pods: pods;  storage: requests.storage.
 * Every (quota, key) pair is one constraint with hard = status.hard (or
 * spec.hard while the quota controller has not filled the status yet) and
 * used = status.used (0 when absent). The constraint with the smallest
 * remaining amount wins and its hard/used are reported; a dimension no
 * quota limits gets hard = JOBQ_UNLIMITED, used = 0. Returns 0, or
 * JOBQ_EPARSE with a message naming the quota and key. */
int quota_aggregate(const cJSON *list, jobq_resources *hard,
                    jobq_resources *used, char *err, size_t err_cap);

typedef struct k8s_probe {
    kube_client *client; /* borrowed */
} k8s_probe;

/* Fill a jobq_probe vtable whose context is `probe`. */
void k8s_probe_vtable(jobq_probe *vtable, k8s_probe *probe);

#endif
