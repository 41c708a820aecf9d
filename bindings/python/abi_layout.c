/*
 * Prints the size of every struct the Python binding declares by hand
 * (bindings/python/jobq/_ffi.py), and the offset of each field, as the C
 * compiler lays them out from the real headers. tests/test_abi.py compares
 * this with cffi's idea of the same structs, so a header change that the
 * binding's declarations did not follow fails a test instead of corrupting
 * memory at run time.
 */
#include <stddef.h>
#include <stdio.h>

#include <jobq/jobq.h>

static int first_struct = 1;
static int first_field;

static void begin(const char *name, size_t size)
{
    printf("%s\"%s\": {\"size\": %zu, \"fields\": {", first_struct ? "" : ", ",
           name, size);
    first_struct = 0;
    first_field = 1;
}

static void field(const char *name, size_t offset)
{
    printf("%s\"%s\": %zu", first_field ? "" : ", ", name, offset);
    first_field = 0;
}

static void end(void)
{
    printf("}}");
}

#define BEGIN(type) begin(#type, sizeof(type))
#define FIELD(type, member) field(#member, offsetof(type, member))

int main(void)
{
    printf("{");
    BEGIN(jobq_resources);
    FIELD(jobq_resources, amount);
    end();

    BEGIN(jobq_clock);
    FIELD(jobq_clock, version); FIELD(jobq_clock, ctx); FIELD(jobq_clock, now_ms);
    end();

    BEGIN(jobq_probe);
    FIELD(jobq_probe, version); FIELD(jobq_probe, ctx);
    FIELD(jobq_probe, read_quota);
    end();

    BEGIN(jobq_event_sink);
    FIELD(jobq_event_sink, version); FIELD(jobq_event_sink, ctx);
    FIELD(jobq_event_sink, on_event);
    end();

    BEGIN(jobq_deploy_request);
    FIELD(jobq_deploy_request, version); FIELD(jobq_deploy_request, run_id);
    FIELD(jobq_deploy_request, run_name); FIELD(jobq_deploy_request, job);
    FIELD(jobq_deploy_request, domain); FIELD(jobq_deploy_request, ns);
    FIELD(jobq_deploy_request, priority); FIELD(jobq_deploy_request, flow);
    FIELD(jobq_deploy_request, request); FIELD(jobq_deploy_request, payload);
    FIELD(jobq_deploy_request, payload_len);
    FIELD(jobq_deploy_request, attempt);
    end();

    BEGIN(jobq_deployer);
    FIELD(jobq_deployer, version); FIELD(jobq_deployer, ctx);
    FIELD(jobq_deployer, deploy); FIELD(jobq_deployer, cancel);
    FIELD(jobq_deployer, poll);
    end();

    BEGIN(jobq_event);
    FIELD(jobq_event, version); FIELD(jobq_event, type); FIELD(jobq_event, time);
    FIELD(jobq_event, run); FIELD(jobq_event, run_name); FIELD(jobq_event, job);
    FIELD(jobq_event, domain); FIELD(jobq_event, ns);
    FIELD(jobq_event, priority); FIELD(jobq_event, flow);
    FIELD(jobq_event, resource); FIELD(jobq_event, requested);
    FIELD(jobq_event, available); FIELD(jobq_event, wait_ms);
    FIELD(jobq_event, retry); FIELD(jobq_event, reason);
    FIELD(jobq_event, detail);
    end();

    BEGIN(jobq_options);
    FIELD(jobq_options, version); FIELD(jobq_options, clock);
    FIELD(jobq_options, probe); FIELD(jobq_options, deployer);
    FIELD(jobq_options, events);
    FIELD(jobq_options, config_json); FIELD(jobq_options, db_path);
    FIELD(jobq_options, durability);
    end();

    BEGIN(jobq_job_def);
    FIELD(jobq_job_def, version); FIELD(jobq_job_def, name);
    FIELD(jobq_job_def, domain); FIELD(jobq_job_def, ns);
    FIELD(jobq_job_def, priority); FIELD(jobq_job_def, flow);
    FIELD(jobq_job_def, request); FIELD(jobq_job_def, payload);
    FIELD(jobq_job_def, payload_len);
    end();

    BEGIN(jobq_submit_opts);
    FIELD(jobq_submit_opts, version); FIELD(jobq_submit_opts, run_name);
    FIELD(jobq_submit_opts, idempotency_key);
    FIELD(jobq_submit_opts, request); FIELD(jobq_submit_opts, priority);
    end();

    BEGIN(jobq_run_info);
    FIELD(jobq_run_info, version); FIELD(jobq_run_info, id);
    FIELD(jobq_run_info, state); FIELD(jobq_run_info, run_name);
    FIELD(jobq_run_info, job); FIELD(jobq_run_info, domain);
    FIELD(jobq_run_info, ns); FIELD(jobq_run_info, priority);
    FIELD(jobq_run_info, flow); FIELD(jobq_run_info, request);
    FIELD(jobq_run_info, submitted_at); FIELD(jobq_run_info, deployed_at);
    FIELD(jobq_run_info, ended_at); FIELD(jobq_run_info, queue_position);
    FIELD(jobq_run_info, blocked); FIELD(jobq_run_info, blocked_resource);
    FIELD(jobq_run_info, blocked_requested);
    FIELD(jobq_run_info, blocked_available);
    FIELD(jobq_run_info, blocked_since); FIELD(jobq_run_info, head_timeout_at);
    FIELD(jobq_run_info, retries_used); FIELD(jobq_run_info, retries_left);
    FIELD(jobq_run_info, deploy_attempts); FIELD(jobq_run_info, reason);
    FIELD(jobq_run_info, detail);
    end();

    BEGIN(jobq_run_filter);
    FIELD(jobq_run_filter, version); FIELD(jobq_run_filter, ns);
    FIELD(jobq_run_filter, priority); FIELD(jobq_run_filter, state);
    FIELD(jobq_run_filter, limit);
    end();

    BEGIN(jobq_tick_stats);
    FIELD(jobq_tick_stats, version); FIELD(jobq_tick_stats, finished);
    FIELD(jobq_tick_stats, failed); FIELD(jobq_tick_stats, deployed);
    FIELD(jobq_tick_stats, blocked); FIELD(jobq_tick_stats, rescheduled);
    FIELD(jobq_tick_stats, timeouts_retried);
    FIELD(jobq_tick_stats, timeouts_cancelled);
    FIELD(jobq_tick_stats, probe_errors); FIELD(jobq_tick_stats, queued);
    FIELD(jobq_tick_stats, running);
    end();
    BEGIN(jobq_tick_input);
    FIELD(jobq_tick_input, version); FIELD(jobq_tick_input, submit_count);
    FIELD(jobq_tick_input, submit_jobs); FIELD(jobq_tick_input, submit_opts);
    FIELD(jobq_tick_input, submit_ids); FIELD(jobq_tick_input, report_count);
    FIELD(jobq_tick_input, report_ids);
    FIELD(jobq_tick_input, report_states);
    FIELD(jobq_tick_input, report_details);
    end();

    /* The macros ABI mode cannot read, checked by value. */
    printf(", \"constants\": {\"JOBQ_UNLIMITED\": %lld, \"JOBQ_TIME_NOW\": %lld, "
           "\"JOBQ_NO_DEADLINE\": %lld, \"JOBQ_PRIORITY_DEFAULT\": %d, "
           "\"JOBQ_DEPLOY_QUOTA_REJECTED\": %d, \"JOBQ_OPTIONS_VERSION\": %d, "
           "\"JOBQ_CLOCK_VERSION\": %d, \"JOBQ_PROBE_VERSION\": %d, "
           "\"JOBQ_DEPLOYER_VERSION\": %d, \"JOBQ_EVENT_SINK_VERSION\": %d, "
           "\"JOBQ_JOB_DEF_VERSION\": %d, "
           "\"JOBQ_SUBMIT_OPTS_VERSION\": %d, \"JOBQ_RUN_INFO_VERSION\": %d, "
           "\"JOBQ_TICK_STATS_VERSION\": %d, \"JOBQ_RUN_FILTER_VERSION\": %d, "
           "\"JOBQ_TICK_INPUT_VERSION\": %d, "
           "\"JOBQ_ANY\": %d, \"JOBQ_NAME_MAX\": %d, "
           "\"JOBQ_NS_MAX\": %d, "
           "\"JOBQ_METRICS_CONTENT_TYPE\": \"%s\"}",
           (long long)JOBQ_UNLIMITED, (long long)JOBQ_TIME_NOW,
           (long long)JOBQ_NO_DEADLINE, JOBQ_PRIORITY_DEFAULT,
           JOBQ_DEPLOY_QUOTA_REJECTED, JOBQ_OPTIONS_VERSION, JOBQ_CLOCK_VERSION,
           JOBQ_PROBE_VERSION, JOBQ_DEPLOYER_VERSION, JOBQ_EVENT_SINK_VERSION,
           JOBQ_JOB_DEF_VERSION,
           JOBQ_SUBMIT_OPTS_VERSION, JOBQ_RUN_INFO_VERSION,
           JOBQ_TICK_STATS_VERSION, JOBQ_RUN_FILTER_VERSION,
           JOBQ_TICK_INPUT_VERSION, JOBQ_ANY,
           JOBQ_NAME_MAX, JOBQ_NS_MAX, JOBQ_METRICS_CONTENT_TYPE);
    printf("}\n");
    return 0;
}
