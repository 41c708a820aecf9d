/*
 * Configuration: the JSON document of SPEC section 3, parsed with cJSON.
 *
 * A jq_config is a plain value. Parsing applies a document (any subset of
 * the keys) on top of a base value and either produces a complete new value
 * or an error naming the key path and the allowed range; the base is never
 * half-modified. The scheduler owns the current value and swaps it whole.
 */
#ifndef JQ_CONFIG_H
#define JQ_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

typedef struct jq_config {
    bool enabled;                /* features.jobOrchestrator.enabled */
    int64_t batch_size;          /* services.jobOrchestrator.settings.batchSize */
    bool cleanup_enabled;        /* ...settings.jobRunCleanup.enabled */
    int64_t retention_period_s;  /* ...settings.jobRunCleanup.retentionPeriod */
    int64_t high_share_pct;      /* job-orchestrator.queue.high.scheduling-share-percentage */
    int64_t head_timeout_s;      /* job-orchestrator.queue.head-timeout-seconds */
    int64_t head_retry_count;    /* job-orchestrator.queue.head-retry-count */
} jq_config;

/* The defaults of SPEC section 3. */
void jq_config_defaults(jq_config *c);

/* Apply the JSON text `json` (len bytes, need not be NUL-terminated) on top
 * of *base into *out. Returns 0, or JOBQ_EPARSE (not JSON, not an object),
 * JOBQ_EINVAL (unknown key, wrong type) or JOBQ_ERANGE (out of range) with a
 * message in err such as
 *   "systemProperties.job-orchestrator.queue.high.scheduling-share-percentage:
 *    150 is out of range (0..100)".
 * *out is written only on success; out may equal base. */
int jq_config_parse(jq_config *out, const jq_config *base, const char *json,
                    size_t len, char *err, size_t err_cap);

/* The same for a document already parsed by cJSON (the simulator embeds the
 * config in its scenario); `path_prefix` (e.g. "config") is prepended to key
 * paths in messages, may be NULL. */
int jq_config_apply_json(jq_config *out, const jq_config *base,
                         const struct cJSON *doc, const char *path_prefix,
                         char *err, size_t err_cap);

/* Set one property by key: one of the three system property keys, or a
 * dotted settings path ("services.jobOrchestrator.settings.batchSize",
 * "features.jobOrchestrator.enabled", ...). `value` is JSON text. Same error
 * rules as parsing; JOBQ_ENOTFOUND for an unknown key. */
int jq_config_set(jq_config *out, const jq_config *base, const char *key,
                  const char *value, char *err, size_t err_cap);

/* Write a property's value as JSON text ("90", "true"). Returns the length
 * written like snprintf, JOBQ_ENOTFOUND for an unknown key. */
int jq_config_get(const jq_config *c, const char *key, char *buf, size_t cap);

/* The full document of SPEC section 3 for *c; malloc'd, caller frees. NULL on
 * allocation failure. */
char *jq_config_to_json(const jq_config *c);

/* Every key accepted by jq_config_set/get, NULL-terminated. */
extern const char *const jq_config_keys[];

#endif /* JQ_CONFIG_H */
