/*
 * Shared fixture for the store tests: a temporary database path, a virtual
 * clock, a probe with a settable quota and a deployer that records what it
 * was asked to do and answers poll() as told.
 */
#ifndef JQ_STORE_FIXTURE_H
#define JQ_STORE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "jobq/jobq.h"

#define FX_MAX_DEPLOYS 256

typedef struct fixture {
    char dir[64];
    char path[128];
    jobq_time_ms now;
    jobq_resources hard; /* JOBQ_UNLIMITED everywhere by default */
    jobq_run_id deployed[FX_MAX_DEPLOYS];
    int deployed_priority[FX_MAX_DEPLOYS];
    char deployed_ns[FX_MAX_DEPLOYS][16];
    size_t deploy_count;
    char payload[64]; /* payload of the last deploy */
    size_t payload_len;
    jobq_durability durability; /* FULL unless a test wants speed */
    bool has_poll;
    jobq_poll_status poll_answer;
    int refuse_quota; /* the next N deploys are refused on quota */
    jobq_clock clock;
    jobq_probe probe;
    jobq_deployer deployer;
} fixture;

extern fixture fx;

void fx_setup(void);
void fx_teardown(void);
/* Open fx.path with the fixture's host interfaces; asserts success. */
jobq_scheduler *fx_open(const char *config_json);
/* Same, returning the status; *out NULL on failure. */
int fx_try_open(jobq_scheduler **out, const char *config_json, bool read_only,
                bool with_deployer, char *err, size_t cap);
void fx_define(jobq_scheduler *s, const char *name, const char *ns,
               jobq_priority priority, int64_t cpu_milli);
jobq_run_id fx_submit(jobq_scheduler *s, const char *job, const char *name);
/* Run a SQL statement on fx.path directly (for tests that doctor the file). */
void fx_sql(const char *sql);
long fx_sql_int(const char *sql);

#endif
