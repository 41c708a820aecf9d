/*
 * jobq-sim: runs libjobq against a simulated cluster on a virtual clock.
 *
 *   jobq-sim [--text] [--db FILE] SCENARIO.json
 *
 * Reads the scenario of SPEC section 4, writes one JSON event per line to
 * standard output and a closing {"summary": ...} line; --text adds a
 * summary for people on standard error. Same input, same output, byte for
 * byte: nothing here reads the real clock.
 *
 * Virtual time advances in steps of tick_seconds. A step in which nothing
 * happened is followed by a jump to the next step at which something can
 * (a submission, a quota change, a run finishing, a head timeout or retry):
 * the steps skipped would have been identical no-ops, so the output is the
 * same as stepping through them, and a trace spanning months takes seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static void usage(FILE *out)
{
    fputs("usage: jobq-sim [--text] [--db FILE] SCENARIO.json\n"
          "\n"
          "Simulates libjobq scheduling SCENARIO.json (SPEC section 4) on a\n"
          "virtual clock and writes one JSON event per line to stdout, then a\n"
          "{\"summary\": ...} line.\n"
          "\n"
          "  --text    also print a summary for people to stderr\n"
          "  --db FILE persist the scheduler's state to the new SQLite file\n"
          "            FILE (inspect it afterwards with jobqctl)\n"
          "  --help    show this help\n",
          out);
}

static char *read_file(const char *path, size_t *len)
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

/* Define one job per distinct (job, namespace, domain, flow) of the
 * scenario; runs carry their own priority and request. The first
 * combination keeps the scenario's job name, later ones get "name~N". */
static int define_jobs(simulation *sim, char **job_names)
{
    for (size_t i = 0; i < sim->sc.run_count; i++) {
        const sim_run *r = &sim->sc.runs[i];
        size_t same = i, variants = 0;
        for (size_t j = 0; j < i && same == i; j++) {
            const sim_run *o = &sim->sc.runs[j];
            if (strcmp(o->job, r->job) != 0)
                continue;
            if (o->ns == r->ns && o->flow == r->flow &&
                strcmp(o->domain, r->domain) == 0)
                same = j;
            else if (strcmp(job_names[j], o->job) == 0 ||
                     strncmp(job_names[j], o->job, strlen(o->job)) == 0)
                variants++;
        }
        if (same != i) {
            job_names[i] = job_names[same];
            continue;
        }
        char name[JOBQ_NAME_MAX + 16];
        if (variants == 0)
            snprintf(name, sizeof name, "%s", r->job);
        else
            snprintf(name, sizeof name, "%s~%zu", r->job, variants + 1);
        job_names[i] = strdup(name);
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = job_names[i];
        def.ns = sim->sc.namespaces[r->ns].name;
        def.domain = r->domain;
        def.priority = r->priority;
        def.flow = r->flow;
        if (jobq_job_define(sim->sched, &def) != 0)
            return -1;
    }
    return 0;
}

static int submit_due(simulation *sim, char **job_names)
{
    while (sim->submitted < sim->sc.run_count) {
        size_t index = sim->sc.submit_order[sim->submitted];
        const sim_run *r = &sim->sc.runs[index];
        if (r->submit_at > sim->now)
            break;
        jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
        opts.run_name = r->id;
        opts.request = &r->request;
        opts.priority = r->priority;
        size_t position = sim->submitted++;
        if (jobq_run_submit(sim->sched, &sim->state[index].id,
                            job_names[index], &opts) != 0)
            return -1;
        if (sim->state[index].id != sim->first_id + position) {
            sim->error = "run ids are not sequential";
            return -1;
        }
    }
    return 0;
}

static void apply_quota_changes(simulation *sim, size_t *next)
{
    while (*next < sim->sc.quota_change_count &&
           sim->sc.quota_changes[*next].at <= sim->now) {
        const sim_quota_change *c = &sim->sc.quota_changes[(*next)++];
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

static jobq_time_ms next_step(simulation *sim, size_t next_change)
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
    if (next_change < sim->sc.quota_change_count &&
        sim->sc.quota_changes[next_change].at < t)
        t = sim->sc.quota_changes[next_change].at;
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
    fprintf(stderr, "jobq-sim: %s: %s\n", what,
            sim->error ? sim->error : msg);
    return 1;
}

static int simulate(simulation *sim)
{
    char **job_names = calloc(sim->sc.run_count + 1, sizeof *job_names);
    if (!job_names)
        return report_library_error(sim, "out of memory");
    int status = 0;
    if (define_jobs(sim, job_names) != 0) {
        status = report_library_error(sim, "defining jobs");
        goto done;
    }
    size_t next_change = 0;
    sim->now = 0;
    for (;;) {
        sim->events_in_step = 0;
        apply_quota_changes(sim, &next_change);
        if (submit_due(sim, job_names) != 0) {
            status = report_library_error(sim, "submitting");
            break;
        }
        if (jobq_tick(sim->sched, sim->now, NULL) != 0 || sim->error) {
            status = report_library_error(sim, "scheduling");
            break;
        }
        if (sim->submitted == sim->sc.run_count &&
            sim->ended_count == sim->sc.run_count)
            break;
        jobq_time_ms next = next_step(sim, next_change);
        if (next == JOBQ_NO_DEADLINE) {
            sim->error = "runs remain but nothing can ever happen to them";
            status = report_library_error(sim, "scheduling");
            break;
        }
        sim->now = next;
    }
done:
    for (size_t i = 0; i < sim->sc.run_count; i++) {
        bool owner = true;
        for (size_t j = 0; j < i && owner; j++)
            owner = job_names[j] != job_names[i];
        if (owner)
            free(job_names[i]);
    }
    free(job_names);
    return status;
}

static int open_scheduler(simulation *sim, const char *db_path)
{
    jobq_clock clock;
    jobq_probe probe;
    jobq_deployer deployer;
    sim_cluster_vtables(sim, &clock, &probe, &deployer);
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = &clock;
    opts.probe = &probe;
    opts.deployer = &deployer;
    opts.on_event = sim_on_event;
    opts.event_payload = sim;
    opts.config_json = sim->sc.config_json;
    opts.db_path = db_path;
    char err[512];
    if (jobq_open(&sim->sched, &opts, err, sizeof err) != 0) {
        bool db_error = db_path && strstr(err, db_path) == err;
        fprintf(stderr, "jobq-sim: %s%s\n", db_error ? "" : "config.", err);
        return 1;
    }
    return 0;
}

static int setup_cluster(simulation *sim)
{
    size_t nns = sim->sc.namespace_count ? sim->sc.namespace_count : 1;
    size_t nruns = sim->sc.run_count ? sim->sc.run_count : 1;
    sim->used = calloc(nns, sizeof *sim->used);
    sim->hard = calloc(nns, sizeof *sim->hard);
    sim->state = calloc(nruns, sizeof *sim->state);
    sim->running = calloc(nruns, sizeof *sim->running);
    if (!sim->used || !sim->hard || !sim->state || !sim->running)
        return -1;
    for (size_t i = 0; i < sim->sc.namespace_count; i++)
        sim->hard[i] = sim->sc.namespaces[i].hard;
    for (size_t i = 0; i < sim->sc.run_count; i++) {
        sim->state[i].deployed_at = -1;
        sim->state[i].stale_left = sim->sc.runs[i].stale_quota_times;
    }
    return 0;
}

static void teardown(simulation *sim)
{
    jobq_close(sim->sched);
    for (size_t i = 0; sim->state && i < sim->sc.run_count; i++)
        free(sim->state[i].end_detail);
    free(sim->used);
    free(sim->hard);
    free(sim->state);
    free(sim->running);
    sim_stats_free(sim);
    sim_scenario_free(&sim->sc);
}

int main(int argc, char **argv)
{
    bool text = false;
    const char *path = NULL, *db_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--text") == 0) {
            text = true;
        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db_path = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "jobq-sim: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "jobq-sim: one scenario at a time (got %s and "
                    "%s)\n", path, argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    if (db_path && access(db_path, F_OK) == 0) {
        fprintf(stderr, "jobq-sim: --db %s: the file exists; give a new "
                "file (a simulation starts from an empty scheduler)\n",
                db_path);
        return 1;
    }
    size_t len = 0;
    char *text_in = read_file(path, &len);
    if (!text_in) {
        fprintf(stderr, "jobq-sim: cannot read %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    simulation sim = {0};
    sim.out = stdout;
    char err[512];
    int rc = sim_scenario_parse(&sim.sc, text_in, len, err, sizeof err);
    free(text_in);
    if (rc != 0) {
        fprintf(stderr, "jobq-sim: %s\n", err);
        return 1;
    }
    int status = setup_cluster(&sim) != 0 ? 1 : open_scheduler(&sim, db_path);
    if (status == 0)
        status = simulate(&sim);
    if (status == 0) {
        sim_write_summary(&sim);
        if (text)
            sim_write_text_summary(&sim, stderr);
    }
    if (fflush(stdout) != 0 && status == 0) {
        fprintf(stderr, "jobq-sim: writing the output failed\n");
        status = 1;
    }
    teardown(&sim);
    return status;
}
