/* The store tests' fixture; see store_fixture.h. */
#include "store_fixture.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

fixture fx;

static jobq_time_ms fx_now(void *ctx)
{
    return ((fixture *)ctx)->now;
}

static int fx_read_quota(void *ctx, const char *ns, jobq_resources *hard,
                         jobq_resources *used)
{
    *hard = ((fixture *)ctx)->hard;
    memset(used, 0, sizeof *used);
    return 0;
}

static int fx_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                     size_t cap)
{
    fixture *f = ctx;
    if (f->refuse_quota > 0) {
        f->refuse_quota--;
        snprintf(msg, cap, "exceeded quota: compute-resources");
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    if (f->deploy_count < FX_MAX_DEPLOYS) {
        f->deployed[f->deploy_count] = req->run_id;
        f->deployed_priority[f->deploy_count] = req->priority;
        snprintf(f->deployed_ns[f->deploy_count], sizeof f->deployed_ns[0],
                 "%s", req->ns);
        f->deploy_count++;
    }
    f->payload_len = req->payload_len < sizeof f->payload ? req->payload_len
                                                          : 0;
    if (f->payload_len)
        memcpy(f->payload, req->payload, f->payload_len);
    return 0;
}

static int fx_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                   char *msg, size_t cap)
{
    *status = ((fixture *)ctx)->poll_answer;
    return 0;
}

void fx_setup(void)
{
    memset(&fx, 0, sizeof fx);
    snprintf(fx.dir, sizeof fx.dir, "/tmp/jobq-store-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx.dir));
    snprintf(fx.path, sizeof fx.path, "%s/jobq.db", fx.dir);
    fx.now = 1000;
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        fx.hard.amount[d] = JOBQ_UNLIMITED;
    fx.poll_answer = JOBQ_POLL_RUNNING;
    fx.clock = (jobq_clock){JOBQ_CLOCK_VERSION, &fx, fx_now};
    fx.probe = (jobq_probe){JOBQ_PROBE_VERSION, &fx, fx_read_quota};
}

void fx_teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx.dir);
    ck_assert_int_eq(system(cmd), 0);
}

int fx_try_open(jobq_scheduler **out, const char *config_json, bool read_only,
                bool with_deployer, char *err, size_t cap)
{
    if (read_only)
        return jobq_open_read_only(out, fx.path, err, cap);
    fx.deployer = (jobq_deployer){JOBQ_DEPLOYER_VERSION, &fx, fx_deploy, NULL,
                                  fx.has_poll ? fx_poll : NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &fx.clock;
    opts.probe = &fx.probe;
    opts.deployer = with_deployer ? &fx.deployer : NULL;
    opts.db_path = fx.path;
    opts.config_json = config_json;
    opts.durability = fx.durability;
    return jobq_open(out, &opts, err, cap);
}

jobq_scheduler *fx_open(const char *config_json)
{
    jobq_scheduler *s = NULL;
    char err[512] = "";
    int rc = fx_try_open(&s, config_json, false, true, err, sizeof err);
    ck_assert_msg(rc == 0, "jobq_open: %s (%s)", jobq_errname(rc), err);
    return s;
}

void fx_define(jobq_scheduler *s, const char *name, const char *ns,
               jobq_priority priority, int64_t cpu_milli)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = name;
    def.ns = ns;
    def.priority = priority;
    def.request.amount[JOBQ_RESOURCE_CPU] = cpu_milli;
    ck_assert_int_eq(jobq_job_define(s, &def), 0);
}

jobq_run_id fx_submit(jobq_scheduler *s, const char *job, const char *name)
{
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    opts.run_name = name;
    jobq_run_id id = 0;
    ck_assert_int_eq(jobq_run_submit(s, &id, job, &opts), 0);
    ck_assert_uint_gt(id, 0);
    return id;
}

void fx_sql(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(fx.path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_close(db);
}

long fx_sql_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_open(fx.path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    long value = (long)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}
