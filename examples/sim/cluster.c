/*
 * The mock cluster behind jobq-sim: a virtual clock, a probe that reports
 * each namespace's quota and the requests of its live runs (legacy ones
 * included), and a deployer that starts runs instantly, finishes them after
 * their duration, and refuses a run's first N deploy attempts on quota when
 * the scenario says so (stale_quota): at once, or, with "async": true,
 * after accepting the deployment, when it is next polled (as a Spark
 * operator does when the driver pod is refused; no usage is charged).
 *
 * Push, not poll: the deployer has no poll method. The cluster keeps its
 * own timeline of when live runs end (timeline.h) and, at each step,
 * reports the runs whose time is up with the step's cycle
 * (jobq_tick_batch(): in the cycle's transaction), as a host with a watch
 * on its cluster would. The library then never asks about
 * every running run each cycle. Only a scenario with asynchronous
 * refusals gets a poll method, and it reports nothing but those.
 */
#include <stdlib.h>
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
    size_t i;
    if (sim_scenario_find_namespace(&sim->sc, ns, &i) != 0)
        return -1;
    *hard = sim->hard[i];
    *used = sim->used[i];
    return 0;
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
    const sim_run *r = &sim->sc.runs[run];
    if (st->stale_left > 0) {
        st->stale_left--;
        snprintf(msg, cap, "exceeded quota in namespace %s (simulated stale "
                 "quota)", sim->sc.namespaces[r->ns].name);
        return JOBQ_DEPLOY_QUOTA_REJECTED;
    }
    if (st->async_left > 0) {
        st->async_left--;
        st->async_refused = true;
        return 0;
    }
    sim_timeline_entry e = {sim->now + r->duration, ++sim->deployments, run};
    if (!sim_timeline_push(&sim->timeline, e)) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    st->deployed_at = sim->now;
    st->deployment = e.deployment;
    sim->running_count++;
    charge(sim, run, +1);
    return 0;
}

/* A run leaves the cluster (its timeline entry goes stale). */
static void stop(simulation *sim, size_t run)
{
    sim->state[run].deployed_at = -1;
    sim->running_count--;
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

/* For scenarios with asynchronous refusals, and with a database: finished
 * runs are pushed (sim_cluster_finish_due), so poll reports nothing but a
 * refusal, or that a run the cluster never saw is gone (after a crash). */
static int poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                char *msg, size_t cap)
{
    simulation *sim = ctx;
    size_t run = sim_run_index(sim, id);
    *status = JOBQ_POLL_RUNNING;
    if (run != (size_t)-1 && sim->state[run].async_refused) {
        sim->state[run].async_refused = false;
        snprintf(msg, cap, "exceeded quota in namespace %s (simulated stale "
                 "quota, reported after the deployment)",
                 sim->sc.namespaces[sim->sc.runs[run].ns].name);
        *status = JOBQ_POLL_QUOTA_REJECTED;
    } else if (run == (size_t)-1 || sim->state[run].deployed_at < 0) {
        *status = JOBQ_POLL_GONE;
    }
    return 0;
}

/* The entry at the top of the timeline if it is live; stale ones (runs
 * stopped before their end) are dropped on the way. */
static const sim_timeline_entry *next_live(simulation *sim)
{
    const sim_timeline_entry *top;
    while ((top = sim_timeline_top(&sim->timeline))) {
        const sim_run_state *st = &sim->state[top->run];
        if (st->deployed_at >= 0 && st->deployment == top->deployment)
            return top;
        sim_timeline_pop(&sim->timeline);
    }
    return NULL;
}

jobq_time_ms sim_cluster_next_finish(simulation *sim)
{
    const sim_timeline_entry *top = next_live(sim);
    return top ? top->end : JOBQ_NO_DEADLINE;
}

static int by_deployment(const void *a, const void *b)
{
    uint64_t x = ((const sim_timeline_entry *)a)->deployment;
    uint64_t y = ((const sim_timeline_entry *)b)->deployment;
    return x < y ? -1 : x > y;
}

int sim_cluster_finish_due(simulation *sim, size_t *out_count)
{
    *out_count = 0;
    size_t n = 0;
    const sim_timeline_entry *top;
    while ((top = next_live(sim)) && top->end <= sim->now) {
        if (n == sim->due_capacity) {
            size_t cap = n ? n * 2 : 256;
            sim_timeline_entry *bigger = realloc(sim->due, cap * sizeof *bigger);
            if (!bigger) {
                sim->error = "out of memory";
                return -1;
            }
            sim->due = bigger;
            sim->due_capacity = cap;
        }
        sim->due[n++] = *top;
        sim_timeline_pop(&sim->timeline);
    }
    if (n == 0)
        return 0;
    qsort(sim->due, n, sizeof *sim->due, by_deployment);
    if (n > sim->report_capacity) {
        free(sim->report_ids);
        free(sim->report_states);
        sim->report_ids = malloc(n * sizeof *sim->report_ids);
        sim->report_states = malloc(n * sizeof *sim->report_states);
        sim->report_capacity = n;
        if (!sim->report_ids || !sim->report_states) {
            sim->report_capacity = 0;
            sim->error = "out of memory";
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t run = sim->due[i].run;
        stop(sim, run);
        sim->report_ids[i] = sim->state[run].id;
        sim->report_states[i] = JOBQ_RUN_FINISHED;
    }
    /* Reported with the step's cycle (engine.c, sim_step). */
    *out_count = n;
    return 0;
}

void sim_cluster_vtables(simulation *sim, jobq_clock *clock, jobq_probe *probe,
                         jobq_deployer *deployer)
{
    *clock = (jobq_clock){JOBQ_CLOCK_VERSION, sim, clock_now};
    *probe = (jobq_probe){JOBQ_PROBE_VERSION, sim, probe_quota};
    /* No poll: finished runs are reported (sim_cluster_finish_due); a
     * scenario with asynchronous refusals needs one for those. */
    bool async = false;
    for (size_t i = 0; i < sim->sc.run_count && !async; i++)
        async = sim->sc.runs[i].stale_quota_async_times > 0;
    /* With a database too: the library then writes a cycle's deployments
     * ahead in one commit (it plans one run at a time for a deployer that
     * cannot answer for a run after a crash). */
    *deployer = (jobq_deployer){JOBQ_DEPLOYER_VERSION, sim, deploy, cancel,
                                async || sim->db_path ? poll : NULL};
}
