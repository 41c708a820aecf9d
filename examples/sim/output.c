/*
 * jobq-sim's output: one JSON object per event (SPEC section 4), the
 * closing {"summary": ...} line, and an optional summary for humans. The
 * event handler also keeps the counts the summary, the report and the
 * exporter's loop need.
 *
 * The lines are written by hand rather than through cJSON because cJSON
 * prints large integers (a 1Pi storage amount) through a double and would
 * round them; every number here is an exact integer or a decimal of
 * milliseconds.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* Milliseconds as seconds: "12", "12.5", "0.001". */
static void put_seconds(FILE *out, jobq_time_ms ms)
{
    if (ms < 0) {
        fputc('-', out);
        ms = -ms;
    }
    fprintf(out, "%" PRId64, ms / 1000);
    int frac = (int)(ms % 1000);
    if (frac) {
        char digits[4];
        snprintf(digits, sizeof digits, "%03d", frac);
        for (int i = 2; i > 0 && digits[i] == '0'; i--)
            digits[i] = '\0';
        fprintf(out, ".%s", digits);
    }
}

static void field_string(FILE *out, const char *name, const char *value)
{
    fprintf(out, ",\"%s\":", name);
    put_string(out, value);
}

static void field_int(FILE *out, const char *name, int64_t value)
{
    fprintf(out, ",\"%s\":%" PRId64, name, value);
}

static void field_seconds(FILE *out, const char *name, jobq_time_ms ms)
{
    fprintf(out, ",\"%s\":", name);
    put_seconds(out, ms);
}

static void record_wait(sim_priority_stats *st, jobq_time_ms wait)
{
    if (st->wait_count == st->wait_capacity) {
        size_t capacity = st->wait_capacity ? st->wait_capacity * 2 : 256;
        jobq_time_ms *waits = realloc(st->waits, capacity * sizeof *waits);
        if (!waits)
            return;
        st->waits = waits;
        st->wait_capacity = capacity;
    }
    st->waits[st->wait_count++] = wait;
}

static void count(simulation *sim, const jobq_event *ev, const sim_run *run,
                  jobq_time_ms wait)
{
    sim_priority_stats *st = &sim->stats[run->priority];
    switch (ev->type) {
    case JOBQ_EVENT_SUBMITTED: st->submitted++; break;
    case JOBQ_EVENT_BLOCKED: st->blocked++; break;
    case JOBQ_EVENT_DEPLOYED:
        st->deployed++;
        record_wait(st, wait);
        break;
    case JOBQ_EVENT_RESCHEDULED: st->rescheduled++; break;
    case JOBQ_EVENT_HEAD_TIMEOUT_RETRY: st->head_timeout_retries++; break;
    case JOBQ_EVENT_CANCELLED: st->cancelled++; break;
    case JOBQ_EVENT_FINISHED: st->finished++; break;
    case JOBQ_EVENT_FAILED: st->failed++; break;
    default: break;
    }
    if (ev->type == JOBQ_EVENT_CANCELLED || ev->type == JOBQ_EVENT_FINISHED ||
        ev->type == JOBQ_EVENT_FAILED)
        sim->ended_count++;
}

/* Keep why a run did not finish, for the human summary (the library may
 * forget ended runs after the retention period). */
static void remember_end(simulation *sim, size_t index, const jobq_event *ev)
{
    if (ev->type != JOBQ_EVENT_CANCELLED && ev->type != JOBQ_EVENT_FAILED)
        return;
    char text[600];
    snprintf(text, sizeof text, "%s (%s): %s", jobq_event_name(ev->type),
             ev->reason[0] ? ev->reason : "-", ev->detail);
    free(sim->state[index].end_detail);
    sim->state[index].end_detail = strdup(text);
}

/* Follow how many runs wait in each queue, for the report's chart. A run
 * is queued from its submission (or rescheduling) until it is deployed or
 * ends; a legacy run is deployed in the same step it is submitted. */
static void track_queue(simulation *sim, size_t index, const jobq_event *ev)
{
    sim_run_state *st = &sim->state[index];
    const sim_run *run = &sim->sc.runs[index];
    bool was_queued = st->queued;
    if (ev->type == JOBQ_EVENT_SUBMITTED || ev->type == JOBQ_EVENT_RESCHEDULED)
        st->queued = true;
    else if (ev->type == JOBQ_EVENT_DEPLOYED ||
             ev->type == JOBQ_EVENT_CANCELLED ||
             ev->type == JOBQ_EVENT_FAILED || ev->type == JOBQ_EVENT_FINISHED)
        st->queued = false;
    uint64_t *queued = &sim->queued[run->ns][run->priority];
    if (st->queued && !was_queued)
        (*queued)++;
    else if (!st->queued && was_queued)
        (*queued)--;
}

void sim_on_event(void *payload, const jobq_event *ev)
{
    simulation *sim = payload;
    if (ev->type == JOBQ_EVENT_SUBMITTED && sim->first_id == 0)
        sim->first_id = ev->run;
    size_t index = sim_run_index(sim, ev->run);
    if (index == (size_t)-1) {
        sim->error = "an event for a run the simulator never submitted";
        return;
    }
    const sim_run *run = &sim->sc.runs[index];
    if (ev->type == JOBQ_EVENT_DEPLOY_RETRY)
        return; /* the mock cluster never fails a deploy this way */
    sim->events_in_step++;
    jobq_time_ms wait = ev->time - run->submit_at;
    count(sim, ev, run, wait);
    remember_end(sim, index, ev);
    track_queue(sim, index, ev);

    FILE *out = sim->out;
    if (!out)
        return;
    fputs("{\"t\":", out);
    put_seconds(out, ev->time);
    field_string(out, "event", jobq_event_name(ev->type));
    field_string(out, "run", run->id);
    field_string(out, "job", run->job);
    field_string(out, "namespace", sim->sc.namespaces[run->ns].name);
    field_string(out, "priority",
                 run->priority == JOBQ_PRIORITY_HIGH ? "high" : "normal");
    if (run->domain[0])
        field_string(out, "domain", run->domain);
    switch (ev->type) {
    case JOBQ_EVENT_BLOCKED:
        field_string(out, "reason", jobq_resource_name(ev->resource));
        field_int(out, "requested", ev->requested);
        field_int(out, "available", ev->available);
        break;
    case JOBQ_EVENT_DEPLOYED:
        field_seconds(out, "wait_s", wait);
        field_string(out, "flow",
                     ev->flow == JOBQ_FLOW_LEGACY ? "legacy" : "priority");
        break;
    case JOBQ_EVENT_RESCHEDULED:
        field_string(out, "reason", ev->reason);
        break;
    case JOBQ_EVENT_HEAD_TIMEOUT_RETRY:
        field_int(out, "retry", ev->retry);
        /* What blocks the head: a resource, or the cluster's refusals
         * ("stale_quota", SPEC 2.5). */
        field_string(out, "reason", ev->reason[0]
                                        ? ev->reason
                                        : jobq_resource_name(ev->resource));
        break;
    case JOBQ_EVENT_CANCELLED:
        field_string(out, "reason", ev->reason);
        field_string(out, "detail", ev->detail);
        break;
    case JOBQ_EVENT_FINISHED:
    case JOBQ_EVENT_FAILED:
        if (ev->detail[0])
            field_string(out, "detail", ev->detail);
        break;
    default:
        break;
    }
    fputs("}\n", out);
}

static int compare_ms(const void *a, const void *b)
{
    jobq_time_ms x = *(const jobq_time_ms *)a, y = *(const jobq_time_ms *)b;
    return (x > y) - (x < y);
}

jobq_time_ms sim_wait_percentile(const sim_priority_stats *st, int pct)
{
    if (st->wait_count == 0)
        return -1;
    size_t rank = (st->wait_count * (size_t)pct + 99) / 100;
    return st->waits[(rank ? rank : 1) - 1];
}

void sim_sort_waits(simulation *sim)
{
    for (int p = 0; p < 2; p++)
        if (sim->stats[p].wait_count > 0)
            qsort(sim->stats[p].waits, sim->stats[p].wait_count,
                  sizeof(jobq_time_ms), compare_ms);
}

static void put_wait_stat(FILE *out, const char *name, jobq_time_ms ms,
                          bool first)
{
    fprintf(out, "%s\"%s\":", first ? "" : ",", name);
    if (ms < 0)
        fputs("null", out);
    else
        put_seconds(out, ms);
}

void sim_write_summary(simulation *sim)
{
    sim_sort_waits(sim);
    FILE *out = sim->out;
    fprintf(out, "{\"summary\":{\"runs\":%zu", sim->sc.run_count);
    field_seconds(out, "end_t", sim->now);
    static const char *const names[2] = {"high", "normal"};
    for (int p = 0; p < 2; p++) {
        const sim_priority_stats *st = &sim->stats[p];
        fprintf(out, ",\"%s\":{\"submitted\":%" PRIu64 ",\"deployed\":%" PRIu64
                ",\"finished\":%" PRIu64 ",\"failed\":%" PRIu64
                ",\"cancelled\":%" PRIu64 ",\"rescheduled\":%" PRIu64
                ",\"blocked\":%" PRIu64 ",\"head_timeout_retries\":%" PRIu64
                ",\"wait_s\":{",
                names[p], st->submitted, st->deployed, st->finished,
                st->failed, st->cancelled, st->rescheduled, st->blocked,
                st->head_timeout_retries);
        put_wait_stat(out, "p50", sim_wait_percentile(st, 50), true);
        put_wait_stat(out, "p95", sim_wait_percentile(st, 95), false);
        put_wait_stat(out, "max",
                      sim_wait_percentile(st, 100),
                      false);
        fputs("}}", out);
    }
    fputs("}}\n", out);
}

void sim_human_duration(char *buf, size_t cap, jobq_time_ms ms)
{
    if (ms < 0) {
        snprintf(buf, cap, "-");
        return;
    }
    int64_t s = (ms + 500) / 1000;
    if (s >= 3600)
        snprintf(buf, cap, "%" PRId64 "h%02" PRId64 "m", s / 3600,
                 s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, cap, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else
        snprintf(buf, cap, "%" PRId64 "s", s);
}

void sim_write_text_summary(simulation *sim, FILE *out)
{
    char span[32];
    sim_human_duration(span, sizeof span, sim->now);
    fprintf(out, "\njobq-sim: %zu runs in %zu namespaces, %s of virtual "
            "time, %" PRIu64 " scheduling cycles\n\n", sim->sc.run_count,
            sim->sc.namespace_count, span, sim->cycles);
    fprintf(out, "%-8s %7s %8s %8s %6s %9s %11s %9s %9s %9s\n", "priority",
            "runs", "deployed", "finished", "failed", "cancelled",
            "rescheduled", "wait p50", "wait p95", "wait max");
    static const char *const names[2] = {"high", "normal"};
    for (int p = 0; p < 2; p++) {
        const sim_priority_stats *st = &sim->stats[p];
        char p50[16], p95[16], max[16];
        sim_human_duration(p50, sizeof p50, sim_wait_percentile(st, 50));
        sim_human_duration(p95, sizeof p95, sim_wait_percentile(st, 95));
        sim_human_duration(max, sizeof max,
                       sim_wait_percentile(st, 100));
        fprintf(out, "%-8s %7" PRIu64 " %8" PRIu64 " %8" PRIu64 " %6" PRIu64
                " %9" PRIu64 " %11" PRIu64 " %9s %9s %9s\n",
                names[p], st->submitted, st->deployed, st->finished,
                st->failed, st->cancelled, st->rescheduled, p50, p95, max);
    }
    fputc('\n', out);
    /* Name the first few runs that did not finish, then count the rest:
     * a trace can cancel hundreds. */
    enum { LISTED = 15 };
    size_t unfinished = 0;
    for (size_t i = 0; i < sim->sc.run_count; i++) {
        const sim_run *run = &sim->sc.runs[i];
        if (!sim->state[i].end_detail)
            continue;
        if (unfinished++ == 0)
            fputs("runs that did not finish, and why:\n", out);
        if (unfinished > LISTED)
            continue;
        fprintf(out, "  %s (job %s, %s/%s): %s\n", run->id, run->job,
                sim->sc.namespaces[run->ns].name,
                run->priority == JOBQ_PRIORITY_HIGH ? "high" : "normal",
                sim->state[i].end_detail);
    }
    if (unfinished > LISTED)
        fprintf(out, "  ... and %zu more (see the cancelled and failed "
                "events)\n", unfinished - LISTED);
    bool any = unfinished > 0;
    if (!any)
        fputs("every run finished.\n", out);
}

void sim_stats_free(simulation *sim)
{
    for (int p = 0; p < 2; p++)
        free(sim->stats[p].waits);
}
