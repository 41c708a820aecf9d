/*
 * The API tour from the README, compiled and run as a test so that it
 * cannot rot: define a job, submit runs, run scheduling cycles against a
 * (tiny, fake) cluster, and read back why a run is waiting.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jobq/jobq.h>

/* The probe: the namespace has 10 cores, and `used` counts what we run. */
static int64_t cores_in_use;

static int read_quota(void *ctx, const char *ns, jobq_resources *hard,
                      jobq_resources *used)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        hard->amount[d] = JOBQ_UNLIMITED;
        used->amount[d] = 0;
    }
    hard->amount[JOBQ_RESOURCE_CPU] = 10000; /* millicores */
    used->amount[JOBQ_RESOURCE_CPU] = cores_in_use;
    return 0;
}

/* The deployer: a real host would create a SparkApplication here, named
 * after req->run_id so that a retry after a crash finds it. */
static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    cores_in_use += req->request.amount[JOBQ_RESOURCE_CPU];
    printf("deploying run %" PRIu64 " of %s\n", req->run_id, req->job);
    return 0;
}

static void on_event(void *payload, const jobq_event *ev)
{
    printf("event %-9s run %" PRIu64 "\n", jobq_event_name(ev->type), ev->run);
}

int main(void)
{
    jobq_probe probe = {JOBQ_PROBE_VERSION, NULL, read_quota};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL, deploy, NULL, NULL};
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.probe = &probe;
    opts.deployer = &deployer;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, NULL, on_event};
    opts.events = &events;
    opts.config_json = "{\"systemProperties\": {"
                       "\"job-orchestrator.queue.head-timeout-seconds\": 600}}";

    jobq_scheduler *s;
    char err[256];
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "jobq_open: %s\n", err);
        return 1;
    }

    jobq_job_def job = JOBQ_JOB_DEF_INIT;
    job.name = "nightly-etl";
    job.ns = "analytics";
    job.priority = JOBQ_PRIORITY_HIGH;
    jobq_quantity_parse(&job.request.amount[JOBQ_RESOURCE_CPU], "6",
                        JOBQ_RESOURCE_CPU, NULL, 0);
    jobq_quantity_parse(&job.request.amount[JOBQ_RESOURCE_MEMORY], "24Gi",
                        JOBQ_RESOURCE_MEMORY, NULL, 0);
    if (jobq_job_define(s, &job) != 0)
        return 1;

    jobq_run_id first, second;
    jobq_run_submit(s, &first, "nightly-etl", NULL);
    jobq_run_submit(s, &second, "nightly-etl", NULL);

    jobq_tick_stats stats = JOBQ_TICK_STATS_INIT;
    if (jobq_tick(s, JOBQ_TIME_NOW, &stats) != 0) {
        jobq_errmsg(s, err, sizeof err);
        fprintf(stderr, "jobq_tick: %s\n", err);
        return 1;
    }

    /* The second run does not fit: ask why. */
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    jobq_run_get(s, &info, second);
    char requested[32], available[32];
    jobq_quantity_format(requested, sizeof requested, info.blocked_requested,
                         info.blocked_resource);
    jobq_quantity_format(available, sizeof available, info.blocked_available,
                         info.blocked_resource);
    printf("run %" PRIu64 " is %s at position %" PRIu64 ", blocked on %s "
           "(requested %s, available %s)\n",
           second, jobq_run_state_name(info.state), info.queue_position,
           jobq_resource_name(info.blocked_resource), requested, available);

    jobq_time_ms deadline;
    jobq_next_deadline(s, &deadline);
    printf("next deadline in %" PRId64 " s\n",
           (deadline - info.blocked_since) / 1000);
    jobq_close(s);
    return info.blocked && info.blocked_resource == JOBQ_RESOURCE_CPU ? 0 : 1;
}
