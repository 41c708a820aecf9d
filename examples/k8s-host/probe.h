/*
 * The ResourceQuota probe: jobq_probe.read_quota over the deployer's view
 * of each namespace (deployer.h): the quotas as Kubernetes applies them to
 * the namespace's Spark pods (quota.h), with the demand of applications
 * whose pods have not shown yet counted as used.
 */
#ifndef K8S_PROBE_H
#define K8S_PROBE_H

#include "deployer.h"
#include "jobq/jobq.h"
#include "quota.h"

typedef struct k8s_probe {
    k8s_deployer *deployer; /* borrowed */
} k8s_probe;

/* Fill a jobq_probe vtable whose context is `probe`. */
void k8s_probe_vtable(jobq_probe *vtable, k8s_probe *probe);

#endif
