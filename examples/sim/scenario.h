/*
 * A simulator scenario (SPEC section 4): the cluster's namespaces and their
 * quotas, the runs to submit, quota changes over time and stale-quota
 * rejections, read from JSON and validated field by field.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jobq/jobq.h>

#include "index.h"

typedef struct sim_namespace {
    char *name;
    jobq_resources hard; /* JOBQ_UNLIMITED where not given */
} sim_namespace;

typedef struct sim_run {
    char *id;
    char *job;
    char *domain; /* "" when not given */
    size_t ns;    /* index into scenario.namespaces */
    jobq_priority priority;
    jobq_flow flow;
    jobq_time_ms submit_at;
    jobq_time_ms duration;
    jobq_resources request;
    int stale_quota_times; /* deploy attempts the cluster refuses */
    /* deployments the cluster accepts, then refuses when next polled (an
     * operator whose driver pod is refused): "async": true */
    int stale_quota_async_times;
} sim_run;

typedef struct sim_quota_change {
    jobq_time_ms at;
    size_t ns;
    bool has[JOBQ_RESOURCE_COUNT];
    int64_t amount[JOBQ_RESOURCE_COUNT];
} sim_quota_change;

typedef struct sim_scenario {
    char *config_json; /* the "config" member re-serialised, or NULL */
    jobq_time_ms tick;
    sim_namespace *namespaces;
    size_t namespace_count;
    sim_index namespace_index; /* name -> index into namespaces */
    sim_run *runs; /* in input order */
    size_t run_count;
    size_t *submit_order; /* run indexes by submit_at, ties in input order */
    sim_quota_change *quota_changes; /* by `at`, ties in input order */
    size_t quota_change_count;
} sim_scenario;

/* Parse and validate. On error returns -1 with a one-line message naming
 * the offending field, e.g. `runs[r7].memory: "512m" is not a whole number
 * of bytes (did you mean 512Mi?)`. */
int sim_scenario_parse(sim_scenario *out, const char *text, size_t len,
                       char *err, size_t err_cap);
void sim_scenario_free(sim_scenario *s);
/* The index of namespace `name` in s->namespaces: 0, or -1 if unknown. */
int sim_scenario_find_namespace(const sim_scenario *s, const char *name,
                                size_t *out);

#endif
