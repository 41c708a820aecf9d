/*
 * The mock cluster behind jobq-sim: a virtual clock, a probe that reports
 * each namespace's quota and the requests of its live runs (legacy ones
 * included), and a deployer that starts runs instantly, finishes them after
 * their duration, and refuses a run's first N deploy attempts on quota when
 * the scenario says so (stale_quota): at once, or, with "async": true,
 * after accepting the deployment, when it is next polled (as a Spark
 * operator does when the driver pod is refused; no usage is charged).
 */
#include <string.h>

#include "sim.h"

size_t sim_run_index(const simulation *sim, jobq_run_id id)
{
    if (id < sim->first_id || id - sim->first_id >= sim->submitted)
        return (size_t)-1;
    return sim->sc.submit_order[id - sim->first_id];
}

static jobq_time_ms clock_now(void *ctx)
{
    return ((const simulation *)ctx)->now;
}

static int probe_quota(void *ctx, const char *ns, jobq_resources *hard,
                       jobq_resources *used)
{
    simulation *sim = ctx;
    for (size_t i = 0; i < sim->sc.namespace_count; i++) {
        if (strcmp(sim->sc.namespaces[i].name, ns) == 0) {
            *hard = sim->hard[i];
            *used = sim->used[i];
            return 0;
        }
    }
    return -1;
}

/* Live usage is summed exactly (legacy runs skip the resource check, so
 * their sum can pass INT64_MAX) and reported clamped to the probe's
 * int64 range. */
static void charge(simulation *sim, size_t run, int sign)
{
    const sim_run *r = &sim->sc.runs[run];
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        __int128 *exact = &sim->exact_used[r->ns * JOBQ_RESOURCE_COUNT + d];
        *exact += sign * (__int128)r->request.amount[d];
        sim->used[r->ns].amount[d] =
            *exact > INT64_MAX ? INT64_MAX : (int64_t)*exact;
    }
}

static int deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                  size_t cap)
{
    simulation *sim = ctx;
    size_t run = sim_run_index(sim, req->run_id);
    if (run == (size_t)-1) {
        sim->error = "deploy of a run the simulator never submitted";
        return -1;
    }
    sim_run_state *st = &sim->state[run];
    if (st->deployed_at >= 0 || st->async_refused) {
        sim->error = "a run was deployed twice";
        return -1;
    }
    if (st->stale_left > 0) {
        st->stale_left--;
        const sim_run *r = &sim->sc.runs[run];
        snprintf(msg, cap, "exceeded quota in namespace %s (simulated stale "
                 "quota)", sim->sc.namespaces[r->ns].name);
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    if (st->async_left > 0) {
        st->async_left--;
        st->async_refused = true;
        return 0;
    }
    st->deployed_at = sim->now;
    st->running_slot = sim->running_count;
    sim->running[sim->running_count++] = run;
    charge(sim, run, +1);
    return 0;
}

static void stop(simulation *sim, size_t run)
{
    sim_run_state *st = &sim->state[run];
    size_t last = sim->running[--sim->running_count];
    sim->running[st->running_slot] = last;
    sim->state[last].running_slot = st->running_slot;
    st->deployed_at = -1;
    charge(sim, run, -1);
}

static int cancel(void *ctx, jobq_run_id id, char *msg, size_t cap)
{
    simulation *sim = ctx;
    size_t run = sim_run_index(sim, id);
    if (run != (size_t)-1)
        sim->state[run].async_refused = false;
    if (run != (size_t)-1 && sim->state[run].deployed_at >= 0)
        stop(sim, run);
    return 0;
}

static int poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                char *msg, size_t cap)
{
    simulation *sim = ctx;
    size_t run = sim_run_index(sim, id);
    if (run != (size_t)-1 && sim->state[run].async_refused) {
        sim->state[run].async_refused = false;
        snprintf(msg, cap, "exceeded quota in namespace %s (simulated stale "
                 "quota, reported after the deployment)",
                 sim->sc.namespaces[sim->sc.runs[run].ns].name);
        *status = JOBQ_POLL_QUOTA_REJECTED;
        return 0;
    }
    if (run == (size_t)-1 || sim->state[run].deployed_at < 0) {
        *status = JOBQ_POLL_GONE;
        return 0;
    }
    jobq_time_ms end = sim->state[run].deployed_at + sim->sc.runs[run].duration;
    if (end <= sim->now) {
        stop(sim, run);
        *status = JOBQ_POLL_FINISHED;
    } else {
        *status = JOBQ_POLL_RUNNING;
    }
    return 0;
}

jobq_time_ms sim_cluster_next_finish(const simulation *sim)
{
    jobq_time_ms next = JOBQ_NO_DEADLINE;
    for (size_t i = 0; i < sim->running_count; i++) {
        size_t run = sim->running[i];
        jobq_time_ms end =
            sim->state[run].deployed_at + sim->sc.runs[run].duration;
        if (end < next)
            next = end;
    }
    return next;
}

void sim_cluster_vtables(simulation *sim, jobq_clock *clock, jobq_probe *probe,
                         jobq_deployer *deployer)
{
    *clock = (jobq_clock){JOBQ_CLOCK_VERSION, sim, clock_now};
    *probe = (jobq_probe){JOBQ_PROBE_VERSION, sim, probe_quota};
    *deployer = (jobq_deployer){JOBQ_DEPLOYER_VERSION, sim, deploy, cancel,
                                poll};
}
