/*
 * The resource demand of a SparkApplication (sparkoperator.k8s.io/v1beta2):
 * what its driver and executor pods will request (and be limited to), so
 * that the scheduler can decide whether the run fits before creating it,
 * and the quota check can evaluate every pod as Kubernetes would.
 */
#ifndef K8S_SPARK_DEMAND_H
#define K8S_SPARK_DEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "jobq/jobq.h"

/* Parse a Spark memory string ("512m", "2g", "1536k", "4gb", "1024") into
 * bytes. Spark's units are binary and case-insensitive: k/kb = KiB, m/mb =
 * MiB, g/gb = GiB, t/tb = TiB, p/pb = PiB, b = bytes; a bare number is MiB,
 * as for spark.driver.memory. This is deliberately not the Kubernetes
 * parser: to Kubernetes "512m" means 0.512. Returns 0 or JOBQ_EPARSE /
 * JOBQ_ERANGE with a message in err. */
int spark_memory_parse(int64_t *bytes, const char *text, char *err,
                       size_t err_cap);

#define SPARK_NO_LIMIT (-1)
#define SPARK_PRIORITY_CLASS_MAX 253

/* One kind of pod of an application, as Spark builds it. */
typedef struct spark_pod {
    int64_t cpu_request;    /* millicores */
    int64_t cpu_limit;      /* millicores, or SPARK_NO_LIMIT */
    int64_t memory;         /* bytes: request and limit (Spark sets both) */
    char priority_class[SPARK_PRIORITY_CLASS_MAX + 1]; /* "" for none */
} spark_pod;

typedef struct spark_shape {
    spark_pod driver;
    spark_pod executor;
    int64_t executors; /* how many executor pods, at most */
} spark_shape;

/* The pods of a SparkApplication. `app` is either the whole manifest (an
 * object with "spec") or the spec itself. Spark's rules, with the spec
 * fields the operator turns into --conf arguments winning over the same
 * keys in spec.sparkConf (spec.memoryOverheadFactor excepted: sparkConf's
 * spark.kubernetes.memoryOverheadFactor comes later and wins):
 *   memory      = spark.{driver,executor}.memory (default 1g)
 *   overhead    = spark.{driver,executor}.memoryOverhead, else
 *                 max(factor x memory MiB (whole MiB), min) with min =
 *                 spark.{driver,executor}.minMemoryOverhead or 384 MiB and
 *                 factor = spark.{driver,executor}.memoryOverheadFactor,
 *                 else spark.kubernetes.memoryOverheadFactor, else 0.4 for
 *                 Python/R and 0.1 for Java/Scala
 *   cpu request = spark.kubernetes.{driver,executor}.request.cores, else
 *                 spark.{driver,executor}.cores (default 1)
 *   cpu limit   = spark.kubernetes.{driver,executor}.limit.cores, or none
 *   executors   = spark.executor.instances (default 2, Spark's), or
 *                 maxExecutors under dynamic allocation (required then)
 *   priority class = spec.{driver,executor}.priorityClassName
 * Returns 0 or a negative status with a message naming the field. */
int spark_shape_of(spark_shape *out, const cJSON *app, char *err,
                   size_t err_cap);

/* The requests of a shape summed: driver + executors x executor. */
void spark_shape_requests(const spark_shape *shape, jobq_resources *out);

/* The demand of a SparkApplication: spark_shape_of + requests. */
int spark_demand(jobq_resources *out, const cJSON *app, char *err,
                 size_t err_cap);

#endif
