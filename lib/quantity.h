/*
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity),
 * parsed into the integer base units the scheduler counts in.
 *
 * The public entry points are jobq_quantity_parse/format (jobq.h); this
 * header only names the internal helpers the rest of the library shares.
 */
#ifndef JQ_QUANTITY_H
#define JQ_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

#include "jobq/jobq.h"

/* Parse `text` for dimension `kind` (see jobq_quantity_parse). The message
 * in err never names a field, only the value: callers prefix the field path,
 * e.g. "runs[r7].memory: \"512m\" is not a whole number of bytes". */
int jq_quantity_parse(int64_t *out, const char *text, jobq_resource_kind kind,
                      char *err, size_t err_cap);

/* Human text for an amount: cpu as whole cores or millicores ("8",
 * "1500m"), bytes in the largest exact binary unit ("32Gi", "1536Mi",
 * "1000"), pods as a count; JOBQ_UNLIMITED as "unlimited". */
int jq_quantity_format(char *buf, size_t cap, int64_t amount,
                       jobq_resource_kind kind);

#endif /* JQ_QUANTITY_H */
