/*
 * What the Spark operator's CustomResourceDefinition accepts, checked when
 * the jobs file is loaded instead of as a 422 from the API server later.
 * The rules are the subset of the sparkoperator.k8s.io/v1beta2
 * SparkApplication schema the host depends on (required fields, types,
 * enums, minimums) plus the names of the fields the schema knows at the
 * levels the host reads: anything else would be pruned silently by the API
 * server, so it is reported.
 */
#ifndef K8S_CRD_RULES_H
#define K8S_CRD_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Check a manifest (an object with "spec": the form the deployer sends)
 * against the rules. Returns 0, or -1 with the first violation in err as
 * "spec.executor.instances: 0 is less than the minimum 1". For every field
 * the schema does not know, calls unknown(ctx, "spec.priorityClassName")
 * when unknown is not NULL. */
int crd_validate(const cJSON *manifest, char *err, size_t err_cap,
                 void (*unknown)(void *ctx, const char *path), void *ctx);

/* True if `name` is a DNS-1035 label (what the operator demands of a
 * SparkApplication name: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63). */
bool crd_is_dns1035_label(const char *name);

#endif
