/*
 * The job definitions file: a JSON array of jobs, each with its name,
 * namespace, priority, flow and SparkApplication manifest, turned into
 * jobq_job_define() calls.
 */
#ifndef K8S_JOBS_FILE_H
#define K8S_JOBS_FILE_H

#include <stddef.h>

#include "jobq/jobq.h"

/* A list of namespaces, growing; names are copied. */
typedef struct namespace_list {
    char **names;
    size_t count;
} namespace_list;

int namespace_list_add(namespace_list *list, const char *ns);
void namespace_list_clear(namespace_list *list);

/* Read `path` and define every job in it on `s`:
 *
 *   [ { "name": "nightly-etl",          required, unique
 *       "namespace": "analytics",       else manifest metadata.namespace,
 *                                       else default_ns
 *       "domain": "finance",            optional
 *       "priority": "high" | "normal",  default "normal"
 *       "flow": "priority" | "legacy",  default "priority"
 *       "request": { "cpu": "8", "memory": "32Gi", "pods": 3,
 *                    "storage": "0" },  optional: default is the demand of
 *                                       the manifest (spark_demand.h)
 *       "manifest": { SparkApplication or its spec } } ]
 *
 * Each job's namespace is added to `namespaces`. Returns 0 or a negative
 * status with a message naming the job and field in err. */
int jobs_file_load(jobq_scheduler *s, const char *path, const char *default_ns,
                   namespace_list *namespaces, char *err, size_t err_cap);

/* Read a whole file into a malloc'd NUL-terminated string, or NULL. */
char *read_text_file(const char *path, size_t *length);

#endif
