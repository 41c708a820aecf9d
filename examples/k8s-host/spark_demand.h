/*
 * The resource demand of a SparkApplication (sparkoperator.k8s.io/v1beta2):
 * what its driver and executor pods will request from the namespace quota,
 * so that the scheduler can decide whether the run fits before creating it.
 */
#ifndef K8S_SPARK_DEMAND_H
#define K8S_SPARK_DEMAND_H

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

/* The demand of a SparkApplication. `app` is either the whole manifest (an
 * object with "spec") or the spec itself. driver + instances x executor:
 *   memory per pod = memory + overhead, overhead = memoryOverhead if given,
 *     else max(factor x memory, 384 MiB), factor = spec.memoryOverheadFactor
 *     if given, else 0.1 for Java/Scala and 0.4 for Python/R (spec.type);
 *   cpu per pod = coreRequest (a Kubernetes quantity) if given, else cores;
 *   pods = 1 + instances (dynamic allocation: maxExecutors);
 *   storage = 0.
 * Missing fields take the operator's defaults (cores 1, memory "1g",
 * instances 1). Returns 0 or a negative status with a message naming the
 * field. */
int spark_demand(jobq_resources *out, const cJSON *app, char *err,
                 size_t err_cap);

#endif
