/*
 * The job definitions file: parsed and checked strictly before the
 * scheduler opens (unknown keys, duplicate and invalid names, manifests
 * the Spark operator's CRD would refuse are errors naming file, job and
 * path), so that the namespaces are known before a reopened database's
 * DEPLOYING runs are settled; then turned into jobq_job_define() calls.
 */
#ifndef K8S_JOBS_FILE_H
#define K8S_JOBS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "jobq/jobq.h"
#include "spark_demand.h"

/* A list of namespaces, growing; names are copied. `no_quota_ok[i]` says
 * whether namespace i may be managed without a ResourceQuota. */
typedef struct namespace_list {
    char **names;
    bool *no_quota_ok;
    size_t count;
} namespace_list;

int namespace_list_add(namespace_list *list, const char *ns);
/* Index of ns, or -1. */
long namespace_list_find(const namespace_list *list, const char *ns);
void namespace_list_clear(namespace_list *list);

/* One job as read from the file. */
typedef struct host_job {
    char *name;
    char *ns;
    char *domain; /* may be NULL */
    jobq_priority priority;
    jobq_flow flow;
    jobq_resources request;
    char *payload;     /* the manifest, JSON */
    spark_shape shape; /* its pods */
} host_job;

typedef struct jobs_config {
    host_job *jobs;
    size_t count;
} jobs_config;

/* Read and check `path`:
 *
 *   [ job... ]  or  { "jobs": [ job... ],
 *                     "namespaces": { "NS": { "allowWithoutQuota": true } } }
 *
 *   job: { "name": "nightly-etl",          required, unique; a label value
 *                                          ([A-Za-z0-9._-], at most 63)
 *          "namespace": "analytics",       else manifest metadata.namespace,
 *                                          else default_ns; a DNS label
 *          "domain": "finance",            optional
 *          "priority": "high" | "normal",  default "normal"
 *          "flow": "priority" | "legacy",  default "priority"
 *          "request": { "cpu": "8", "memory": "32Gi", "pods": 3,
 *                       "storage": "0" },  optional: default is the demand
 *                                          of the manifest (spark_demand.h)
 *          "manifest": { SparkApplication or its spec } }
 *
 * Every key not listed is an error. Every job's namespace and the
 * "namespaces" entries are added to `namespaces` (with their
 * allowWithoutQuota). Fields of a manifest the CRD does not know are
 * reported through kube_log as warnings (the API server would prune
 * them). Returns 0 or a negative status with "FILE: job \"NAME\": PATH:
 * message" in err. */
int jobs_file_parse(jobs_config *out, const char *path, const char *default_ns,
                    namespace_list *namespaces, char *err, size_t err_cap);

/* Define every job on the scheduler. 0 or a negative status with a
 * message. */
int jobs_config_define(jobq_scheduler *s, const jobs_config *config,
                       char *err, size_t err_cap);

/* The job called `name`, or NULL. */
const host_job *jobs_config_find(const jobs_config *config, const char *name);

void jobs_config_clear(jobs_config *config);

/* Read a whole file into a malloc'd NUL-terminated string, or NULL. */
char *read_text_file(const char *path, size_t *length);

#endif
