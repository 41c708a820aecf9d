/*
 * The simulator's virtual-time loop (SPEC section 4), one step at a time,
 * so that jobq-sim can run a scenario as fast as it can and jobq-exporter
 * can run it paced against the real clock.
 *
 * At each step `now`: quota changes with `at <= now` take effect, runs with
 * `submit_at <= now` are submitted, then one scheduling cycle runs. A step
 * in which nothing happened is followed by a jump to the next step at which
 * something can (a submission, a quota change, a run finishing, a head
 * timeout or retry): the steps skipped would have been identical no-ops,
 * so the output is the same as stepping through them, and a trace spanning
 * months takes seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "sim.h"

/* Run indexes ordered by their namespace's place under "namespaces", then
 * input order (a counting sort). Jobs are defined in this order, so the
 * library meets the namespaces, and takes their turns, in the order the
 * scenario declares them. */
static size_t *runs_by_namespace(const sim_scenario *sc)
{
    size_t *start = calloc(sc->namespace_count + 1, sizeof *start);
    size_t *order = calloc(sc->run_count + 1, sizeof *order);
    if (!start || !order) {
        free(start);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < sc->run_count; i++)
        start[sc->runs[i].ns + 1]++;
    for (size_t n = 1; n <= sc->namespace_count; n++)
        start[n] += start[n - 1];
    for (size_t i = 0; i < sc->run_count; i++)
        order[start[sc->runs[i].ns]++] = i;
    free(start);
    return order;
}

/* Define one job per distinct (job, namespace, domain, flow) of the
 * scenario; runs carry their own priority and request. The first
 * combination keeps the scenario's job name, later ones get "name~N"
 * (a name no other job has). sim->job_names[i] is run i's job; variants
 * share one string, and sim->owned_job_names lists each string once. */
static int define_jobs(simulation *sim)
{
    sim_index variants = {0}, names = {0};
    size_t *order = runs_by_namespace(&sim->sc);
    int status = order ? 0 : -1;
    for (size_t k = 0; order && k < sim->sc.run_count && status == 0; k++) {
        size_t i = order[k];
        const sim_run *r = &sim->sc.runs[i];
        char key[3 * JOBQ_NAME_MAX + 64];
        snprintf(key, sizeof key, "%s\x1f%zu\x1f%s\x1f%d", r->job, r->ns,
                 r->domain, (int)r->flow);
        size_t known;
        if (sim_index_get(&variants, key, &known)) {
            sim->job_names[i] = sim->owned_job_names[known];
            continue;
        }
        char name[JOBQ_NAME_MAX + 24];
        snprintf(name, sizeof name, "%s", r->job);
        for (int n = 2; sim_index_get(&names, name, &known); n++)
            snprintf(name, sizeof name, "%s~%d", r->job, n);
        char *copy = strdup(name);
        if (!copy || !sim_index_put(&variants, key, sim->owned_count) ||
            !sim_index_put(&names, name, sim->owned_count)) {
            free(copy);
            status = -1;
            break;
        }
        sim->owned_job_names[sim->owned_count++] = copy;
        sim->job_names[i] = copy;
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = copy;
        def.ns = sim->sc.namespaces[r->ns].name;
        def.domain = r->domain;
        def.priority = r->priority;
        def.flow = r->flow;
        if (jobq_job_define(sim->sched, &def) != 0)
            status = -1;
    }
    sim_index_free(&variants);
    sim_index_free(&names);
    free(order);
    return status;
}

static void free_job_names(simulation *sim)
{
    for (size_t i = 0; sim->owned_job_names && i < sim->owned_count; i++)
        free(sim->owned_job_names[i]);
    free(sim->owned_job_names);
    free(sim->job_names);
    sim->owned_job_names = NULL;
    sim->job_names = NULL;
    sim->owned_count = 0;
}

/* The runs due at this step, into sim->batch_jobs/batch_opts, for the
 * step's jobq_tick_batch() to submit (in the cycle's transaction, so with
 * a database no commit of their own), as a host that receives many
 * requests at once would. The library submits them in array order, so the
 * events are those of submitting them one by one. */
static int prepare_due(simulation *sim, size_t *out_count, bool *instant)
{
    *out_count = 0;
    *instant = false;
    size_t first = sim->submitted, end = first;
    while (end < sim->sc.run_count &&
           sim->sc.runs[sim->sc.submit_order[end]].submit_at <= sim->now)
        end++;
    size_t count = end - first;
    if (count == 0)
        return 0;
    if (count > sim->batch_capacity) {
        free(sim->batch_jobs);
        free(sim->batch_opts);
        free(sim->batch_ids);
        sim->batch_jobs = malloc(count * sizeof *sim->batch_jobs);
        sim->batch_opts = malloc(count * sizeof *sim->batch_opts);
        sim->batch_ids = malloc(count * sizeof *sim->batch_ids);
        sim->batch_capacity = count;
        if (!sim->batch_jobs || !sim->batch_opts || !sim->batch_ids) {
            sim->batch_capacity = 0;
            sim->error = "out of memory";
            return -1;
        }
    }
    for (size_t k = 0; k < count; k++) {
        size_t index = sim->sc.submit_order[first + k];
        const sim_run *r = &sim->sc.runs[index];
        jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
        opts.run_name = r->id;
        opts.request = &r->request;
        opts.priority = r->priority;
        sim->batch_opts[k] = opts;
        sim->batch_jobs[k] = sim->job_names[index];
        *instant = *instant || r->duration <= 0;
    }
    /* Known before the call: events (and legacy deploys) of the batch
     * name these runs while it runs. */
    sim->submitted = end;
    *out_count = count;
    return 0;
}

/* After the step's call: the ids of the runs it submitted. */
static int note_submitted(simulation *sim, size_t count)
{
    size_t first = sim->submitted - count;
    for (size_t k = 0; k < count; k++) {
        size_t index = sim->sc.submit_order[first + k];
        sim->state[index].id = sim->batch_ids[k];
        if (sim->batch_ids[k] != sim->first_id + first + k) {
            sim->error = "run ids are not sequential";
            return -1;
        }
    }
    return 0;
}

static void apply_quota_changes(simulation *sim)
{
    while (sim->next_change < sim->sc.quota_change_count &&
           sim->sc.quota_changes[sim->next_change].at <= sim->now) {
        const sim_quota_change *c = &sim->sc.quota_changes[sim->next_change++];
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            if (c->has[d])
                sim->hard[c->ns].amount[d] = c->amount[d];
    }
}

/* The first step time at or after `t` on the tick grid, but at least one
 * step after now. */
static jobq_time_ms step_at_or_after(const simulation *sim, jobq_time_ms t)
{
    jobq_time_ms next = sim->now + sim->sc.tick;
    if (t <= next)
        return next;
    jobq_time_ms steps = (t - sim->now + sim->sc.tick - 1) / sim->sc.tick;
    return sim->now + steps * sim->sc.tick;
}

static jobq_time_ms next_step(simulation *sim)
{
    if (sim->events_in_step > 0)
        return sim->now + sim->sc.tick;
    jobq_time_ms t = sim_cluster_next_finish(sim);
    if (sim->submitted < sim->sc.run_count) {
        jobq_time_ms submit =
            sim->sc.runs[sim->sc.submit_order[sim->submitted]].submit_at;
        if (submit < t)
            t = submit;
    }
    if (sim->next_change < sim->sc.quota_change_count &&
        sim->sc.quota_changes[sim->next_change].at < t)
        t = sim->sc.quota_changes[sim->next_change].at;
    jobq_time_ms deadline = JOBQ_NO_DEADLINE;
    if (jobq_next_deadline(sim->sched, &deadline) == 0 && deadline < t)
        t = deadline;
    if (t == JOBQ_NO_DEADLINE)
        return JOBQ_NO_DEADLINE;
    return step_at_or_after(sim, t);
}

static int report_library_error(simulation *sim, const char *what)
{
    char msg[512] = "";
    if (sim->sched)
        jobq_errmsg(sim->sched, msg, sizeof msg);
    fprintf(stderr, "%s: %s: %s\n", sim->program, what,
            sim->error ? sim->error : msg);
    return 1;
}

int sim_step(simulation *sim)
{
    sim->events_in_step = 0;
    apply_quota_changes(sim);
    size_t arrivals = 0, ended = 0;
    bool instant = false;
    if (prepare_due(sim, &arrivals, &instant) != 0) {
        report_library_error(sim, "preparing the step");
        return SIM_FAILED;
    }
    /* A run of no duration that is deployed as it is submitted (legacy
     * flow) finishes in this very step, after its submission: then the
     * arrivals go in first, on their own, as they always did. */
    if (instant && arrivals > 0) {
        if (jobq_run_submit_batch(sim->sched, sim->batch_ids, sim->batch_jobs,
                                  sim->batch_opts, arrivals) != 0 ||
            note_submitted(sim, arrivals) != 0) {
            report_library_error(sim, "submitting");
            return SIM_FAILED;
        }
        arrivals = 0;
    }
    if (sim_cluster_finish_due(sim, &ended) != 0) {
        report_library_error(sim, "preparing the step");
        return SIM_FAILED;
    }
    /* Arrivals, finished runs and the cycle in one call: one transaction,
     * committed once before any deploy call and once after. */
    jobq_tick_input input = JOBQ_TICK_INPUT_INIT;
    input.submit_count = arrivals;
    input.submit_jobs = sim->batch_jobs;
    input.submit_opts = sim->batch_opts;
    input.submit_ids = sim->batch_ids;
    input.report_count = ended;
    input.report_ids = sim->report_ids;
    input.report_states = sim->report_states;
    sim->cycles++;
    if (jobq_tick_batch(sim->sched, sim->now, &input, NULL) != 0 ||
        sim->error) {
        report_library_error(sim, "scheduling");
        return SIM_FAILED;
    }
    if (note_submitted(sim, arrivals) != 0) {
        report_library_error(sim, "submitting");
        return SIM_FAILED;
    }
    if (sim->after_step)
        sim->after_step(sim, sim->after_step_payload);
    if (sim->submitted == sim->sc.run_count &&
        sim->ended_count == sim->sc.run_count)
        return SIM_DONE;
    jobq_time_ms next = next_step(sim);
    if (next == JOBQ_NO_DEADLINE) {
        sim->error = "runs remain but nothing can ever happen to them";
        report_library_error(sim, "scheduling");
        return SIM_FAILED;
    }
    sim->now = next;
    return SIM_MORE;
}

static int open_scheduler(simulation *sim)
{
    jobq_clock clock;
    jobq_probe probe;
    jobq_deployer deployer;
    sim_cluster_vtables(sim, &clock, &probe, &deployer);
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, sim, sim_on_event};
    opts.events = &events;
    opts.config_json = sim->sc.config_json;
    opts.db_path = sim->db_path;
    opts.durability = sim->durability;
    char err[512];
    if (jobq_open(&sim->sched, &opts, err, sizeof err) != 0) {
        bool db_error = sim->db_path && strstr(err, sim->db_path) == err;
        fprintf(stderr, "%s: %s%s\n", sim->program, db_error ? "" : "config.",
                err);
        return 1;
    }
    return 0;
}

static int setup_cluster(simulation *sim)
{
    size_t nns = sim->sc.namespace_count ? sim->sc.namespace_count : 1;
    size_t nruns = sim->sc.run_count ? sim->sc.run_count : 1;
    sim->used = calloc(nns, sizeof *sim->used);
    sim->exact_used =
        calloc(nns * JOBQ_RESOURCE_COUNT, sizeof *sim->exact_used);
    sim->hard = calloc(nns, sizeof *sim->hard);
    sim->queued = calloc(nns, sizeof *sim->queued);
    sim->state = calloc(nruns, sizeof *sim->state);
    sim->job_names = calloc(nruns + 1, sizeof *sim->job_names);
    sim->owned_job_names = calloc(nruns + 1, sizeof *sim->owned_job_names);
    if (!sim->used || !sim->exact_used || !sim->hard || !sim->queued || !sim->state ||
        !sim->job_names || !sim->owned_job_names)
        return -1;
    for (size_t i = 0; i < sim->sc.namespace_count; i++)
        sim->hard[i] = sim->sc.namespaces[i].hard;
    for (size_t i = 0; i < sim->sc.run_count; i++) {
        sim->state[i].deployed_at = -1;
        sim->state[i].stale_left = sim->sc.runs[i].stale_quota_times;
        sim->state[i].async_left = sim->sc.runs[i].stale_quota_async_times;
    }
    return 0;
}

char *sim_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    bool failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int sim_start(simulation *sim, const char *scenario, size_t len)
{
    char err[512];
    if (sim_scenario_parse(&sim->sc, scenario, len, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", sim->program, err);
        return 1;
    }
    if (setup_cluster(sim) != 0) {
        fprintf(stderr, "%s: out of memory\n", sim->program);
        return 1;
    }
    if (open_scheduler(sim) != 0)
        return 1;
    if (define_jobs(sim) != 0)
        return report_library_error(sim, "defining jobs");
    sim->now = 0;
    return 0;
}

void sim_finish(simulation *sim)
{
    jobq_close(sim->sched);
    sim->sched = NULL;
    free_job_names(sim);
    for (size_t i = 0; sim->state && i < sim->sc.run_count; i++)
        free(sim->state[i].end_detail);
    free(sim->used);
    free(sim->exact_used);
    free(sim->hard);
    free(sim->queued);
    free(sim->state);
    sim_timeline_free(&sim->timeline);
    free(sim->due);
    free(sim->report_ids);
    free(sim->report_states);
    free(sim->batch_jobs);
    free(sim->batch_opts);
    free(sim->batch_ids);
    sim_stats_free(sim);
    sim_scenario_free(&sim->sc);
}
