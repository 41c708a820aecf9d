/*
 * jobq-sim --report FILE.html: one self-contained page (inline CSS and
 * SVG, no script, nothing fetched) that shows a person what happened in a
 * simulation:
 *
 *   - queue length over time, one chart per namespace, a line per priority;
 *   - resource use against quota over time, one chart per namespace and
 *     dimension that has a quota;
 *   - the distribution of wait times (submission to deployment) per
 *     priority, with the percentiles of the summary line.
 *
 * The simulator calls sim_report_sample() after every step. Each series is
 * kept as a log of changes only (time, new value), so memory grows with
 * what happened, not with the length of the simulation, and a line is
 * drawn as steps: a value holds until the next change. When many changes
 * fall into one pixel column, the column gets one vertical stroke from the
 * lowest to the highest value, so peaks survive any zoom level.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ---------------------------------------------------------- sampling */

typedef struct series {
    jobq_time_ms *t;
    int64_t *v;
    size_t n, cap;
} series;

struct sim_report {
    size_t ns_count;
    series *queue; /* [ns * 2 + priority] */
    series *used;  /* [ns * JOBQ_RESOURCE_COUNT + dimension] */
    series *hard;  /* same layout; JOBQ_UNLIMITED where there is none */
    jobq_time_ms end;
    bool failed; /* out of memory while sampling */
};

sim_report *sim_report_new(const simulation *sim)
{
    sim_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t n = sim->sc.namespace_count ? sim->sc.namespace_count : 1;
    r->ns_count = sim->sc.namespace_count;
    r->queue = calloc(n * 2, sizeof *r->queue);
    r->used = calloc(n * JOBQ_RESOURCE_COUNT, sizeof *r->used);
    r->hard = calloc(n * JOBQ_RESOURCE_COUNT, sizeof *r->hard);
    if (!r->queue || !r->used || !r->hard) {
        sim_report_free(r);
        return NULL;
    }
    return r;
}

static void series_free(series *s, size_t count)
{
    for (size_t i = 0; s && i < count; i++) {
        free(s[i].t);
        free(s[i].v);
    }
    free(s);
}

void sim_report_free(sim_report *r)
{
    if (!r)
        return;
    series_free(r->queue, r->ns_count * 2);
    series_free(r->used, r->ns_count * JOBQ_RESOURCE_COUNT);
    series_free(r->hard, r->ns_count * JOBQ_RESOURCE_COUNT);
    free(r);
}

/* Append (t, v) if v differs from the last value. */
static bool series_note(series *s, jobq_time_ms t, int64_t v)
{
    if (s->n > 0 && s->v[s->n - 1] == v)
        return true;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        jobq_time_ms *times = realloc(s->t, cap * sizeof *times);
        if (times)
            s->t = times;
        int64_t *values = realloc(s->v, cap * sizeof *values);
        if (values)
            s->v = values;
        if (!times || !values)
            return false;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n++] = v;
    return true;
}

void sim_report_sample(simulation *sim, void *payload)
{
    sim_report *r = payload;
    r->end = sim->now;
    for (size_t ns = 0; ns < r->ns_count; ns++) {
        for (int p = 0; p < 2; p++)
            if (!series_note(&r->queue[ns * 2 + p], sim->now,
                             (int64_t)sim->queued[ns][p]))
                r->failed = true;
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
            size_t i = ns * JOBQ_RESOURCE_COUNT + (size_t)d;
            if (!series_note(&r->used[i], sim->now,
                             sim->used[ns].amount[d]) ||
                !series_note(&r->hard[i], sim->now, sim->hard[ns].amount[d]))
                r->failed = true;
        }
    }
}

/* ------------------------------------------------------------ units */

/* How a dimension's amounts are shown: divided by `divisor`, named. */
typedef struct unit {
    double divisor;
    const char *name; /* "cores", "GiB", "pods"... */
} unit;

static unit unit_for(jobq_resource_kind kind, int64_t largest)
{
    if (kind == JOBQ_RESOURCE_CPU)
        return (unit){1000.0, "cores"};
    if (kind == JOBQ_RESOURCE_PODS)
        return (unit){1.0, "pods"};
    static const unit bytes[] = {{1099511627776.0, "TiB"},
                                 {1073741824.0, "GiB"},
                                 {1048576.0, "MiB"},
                                 {1024.0, "KiB"}};
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++)
        if ((double)largest >= bytes[i].divisor)
            return bytes[i];
    return (unit){1.0, "bytes"};
}

/* "1:05" (h:mm), "2d 03h", or "45s", for a time axis spanning `span`. */
static void format_time(char *buf, size_t cap, jobq_time_ms ms,
                        jobq_time_ms span)
{
    int64_t s = ms / 1000;
    if (span < 120000)
        snprintf(buf, cap, "%" PRId64 "s", s);
    else if (span < 2 * 86400000LL)
        snprintf(buf, cap, "%" PRId64 ":%02" PRId64, s / 3600, s % 3600 / 60);
    else
        snprintf(buf, cap, "%" PRId64 "d %02" PRId64 "h", s / 86400,
                 s % 86400 / 3600);
}

static double nice_step(double range, int max_ticks)
{
    double raw = range / max_ticks;
    double magnitude = pow(10.0, floor(log10(raw > 0 ? raw : 1)));
    static const double factors[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++)
        if (factors[i] * magnitude >= raw)
            return factors[i] * magnitude;
    return 10 * magnitude;
}

static jobq_time_ms time_step(jobq_time_ms span)
{
    static const int64_t steps_s[] = {
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
        10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000};
    for (size_t i = 0; i < sizeof steps_s / sizeof steps_s[0]; i++)
        if (span / (steps_s[i] * 1000) <= 8)
            return steps_s[i] * 1000;
    return span / 8 + 1;
}

/* --------------------------------------------------------------- svg */

#define CHART_WIDTH 760
#define CHART_HEIGHT 240
#define PLOT_LEFT 70
#define PLOT_RIGHT 20
#define PLOT_TOP 34
#define PLOT_BOTTOM 46
#define PLOT_WIDTH (CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT)
#define PLOT_HEIGHT (CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM)

/* A chart's coordinate system: time (ms) across, value (in display
 * units) up. */
typedef struct chart {
    FILE *out;
    jobq_time_ms t_end;
    double y_max;
    double divisor; /* raw value / divisor = display value */
    bool whole;     /* counts: no fractional ticks */
} chart;

static double x_of(const chart *c, jobq_time_ms t)
{
    double span = c->t_end > 0 ? (double)c->t_end : 1.0;
    return PLOT_LEFT + PLOT_WIDTH * ((double)t / span);
}

static double y_of(const chart *c, int64_t raw)
{
    double v = (double)raw / c->divisor;
    return PLOT_TOP + PLOT_HEIGHT * (1.0 - v / c->y_max);
}

static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

static void chart_open(chart *c, const char *title, const char *label)
{
    fprintf(c->out, "<figure><svg class=\"chart\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
            CHART_WIDTH, CHART_HEIGHT, CHART_WIDTH, CHART_HEIGHT);
    put_escaped(c->out, title);
    fputs("\">\n<title>", c->out);
    put_escaped(c->out, title);
    fprintf(c->out, "</title>\n<text class=\"title\" x=\"%d\" y=\"18\">",
            PLOT_LEFT);
    put_escaped(c->out, title);
    fprintf(c->out, "</text>\n<text class=\"axis-label\" transform=\"translate"
            "(16,%d) rotate(-90)\" text-anchor=\"middle\">",
            PLOT_TOP + PLOT_HEIGHT / 2);
    put_escaped(c->out, label);
    fputs("</text>\n", c->out);
}

static void y_axis(const chart *c)
{
    double step = nice_step(c->y_max, 5);
    if (c->whole && step < 1)
        step = 1;
    for (double v = 0; v <= c->y_max + step * 1e-9; v += step) {
        double y = PLOT_TOP + PLOT_HEIGHT * (1.0 - v / c->y_max);
        fprintf(c->out, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" "
                "y2=\"%.1f\"/><text class=\"tick\" x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%g</text>\n",
                PLOT_LEFT, PLOT_LEFT + PLOT_WIDTH, y, y, PLOT_LEFT - 6, y + 4,
                v);
    }
}

static void time_axis(const chart *c)
{
    jobq_time_ms step = time_step(c->t_end);
    for (jobq_time_ms t = 0; t <= c->t_end; t += step) {
        char label[32];
        format_time(label, sizeof label, t, c->t_end);
        double x = x_of(c, t);
        fprintf(c->out, "<line class=\"tickmark\" x1=\"%.1f\" x2=\"%.1f\" "
                "y1=\"%d\" y2=\"%d\"/><text class=\"tick\" x=\"%.1f\" "
                "y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x, x, PLOT_TOP + PLOT_HEIGHT, PLOT_TOP + PLOT_HEIGHT + 5, x,
                PLOT_TOP + PLOT_HEIGHT + 18, label);
    }
    fprintf(c->out, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" "
            "y2=\"%d\"/><line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" "
            "y2=\"%d\"/>\n<text class=\"axis-label\" x=\"%d\" y=\"%d\" "
            "text-anchor=\"middle\">virtual time since start (%s)</text>\n",
            PLOT_LEFT, PLOT_LEFT + PLOT_WIDTH, PLOT_TOP + PLOT_HEIGHT,
            PLOT_TOP + PLOT_HEIGHT, PLOT_LEFT, PLOT_LEFT, PLOT_TOP,
            PLOT_TOP + PLOT_HEIGHT, PLOT_LEFT + PLOT_WIDTH / 2,
            CHART_HEIGHT - 8,
            c->t_end < 120000 ? "seconds"
            : c->t_end < 2 * 86400000LL ? "hours:minutes"
                                        : "days hours");
}

/* Legend entries, right-aligned in the title row. */
typedef struct legend_entry {
    const char *name;
    const char *css_class;
} legend_entry;

static void legend(const chart *c, const legend_entry *entries, size_t n)
{
    int x = CHART_WIDTH - PLOT_RIGHT - 130 * (int)n;
    fputs("<g class=\"legend\">", c->out);
    for (size_t i = 0; i < n; i++, x += 130)
        fprintf(c->out, "<line class=\"%s\" x1=\"%d\" x2=\"%d\" y1=\"14\" "
                "y2=\"14\"/><text class=\"tick\" x=\"%d\" y=\"18\">%s</text>",
                entries[i].css_class, x, x + 22, x + 28, entries[i].name);
    fputs("</g>\n", c->out);
}

/* The pixel column of time t (changes in one column are merged). */
static long column_of(const chart *c, jobq_time_ms t)
{
    return lround(x_of(c, t));
}

/* A step line through a change log; values JOBQ_UNLIMITED lift the pen. */
static void step_path(const chart *c, const series *s, const char *css_class)
{
    if (s->n == 0)
        return;
    fprintf(c->out, "<path class=\"%s\" d=\"", css_class);
    bool pen_down = false;
    size_t i = 0;
    while (i < s->n) {
        long column = column_of(c, s->t[i]);
        int64_t lo = s->v[i], hi = s->v[i];
        size_t j = i;
        for (; j < s->n && column_of(c, s->t[j]) == column; j++) {
            if (s->v[j] < lo)
                lo = s->v[j];
            if (s->v[j] > hi)
                hi = s->v[j];
        }
        int64_t last = s->v[j - 1];
        bool unlimited = hi == JOBQ_UNLIMITED;
        if (unlimited) {
            pen_down = false;
        } else if (!pen_down) {
            fprintf(c->out, "M%ld,%.1f", column, y_of(c, lo));
            pen_down = true;
        } else {
            fprintf(c->out, "H%ldV%.1f", column, y_of(c, lo));
        }
        if (!unlimited)
            fprintf(c->out, "V%.1fV%.1f", y_of(c, hi), y_of(c, last));
        i = j;
    }
    if (pen_down)
        fprintf(c->out, "H%.1f", x_of(c, c->t_end));
    fputs("\"/>\n", c->out);
}

static void chart_close(const chart *c)
{
    fputs("</svg></figure>\n", c->out);
}

static int64_t series_max(const series *s, bool skip_unlimited)
{
    int64_t max = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] > max && !(skip_unlimited && s->v[i] == JOBQ_UNLIMITED))
            max = s->v[i];
    return max;
}

static double nice_max(double largest)
{
    if (largest <= 0)
        return 1;
    double step = nice_step(largest * 1.05, 5);
    return ceil(largest * 1.05 / step) * step;
}

/* For counts: a whole number of runs or pods at the top, at least 1. */
static double nice_whole_max(double largest)
{
    double top = ceil(nice_max(largest));
    return top < 1 ? 1 : top;
}

/* --------------------------------------------------------- sections */

static void queue_chart(FILE *out, const sim_report *r, const simulation *sim,
                        size_t ns)
{
    const series *high = &r->queue[ns * 2], *normal = &r->queue[ns * 2 + 1];
    int64_t largest = series_max(high, false);
    if (series_max(normal, false) > largest)
        largest = series_max(normal, false);
    chart c = {out, r->end, nice_whole_max((double)largest), 1.0, true};
    char title[160];
    snprintf(title, sizeof title, "Queue length in namespace %s",
             sim->sc.namespaces[ns].name);
    chart_open(&c, title, "runs waiting");
    y_axis(&c);
    time_axis(&c);
    step_path(&c, normal, "normal");
    step_path(&c, high, "high");
    static const legend_entry entries[] = {{"high priority", "high"},
                                           {"normal priority", "normal"}};
    legend(&c, entries, 2);
    chart_close(&c);
}

static void resource_chart(FILE *out, const sim_report *r,
                           const simulation *sim, size_t ns, int d)
{
    const series *used = &r->used[ns * JOBQ_RESOURCE_COUNT + (size_t)d];
    const series *hard = &r->hard[ns * JOBQ_RESOURCE_COUNT + (size_t)d];
    int64_t largest = series_max(used, false);
    if (series_max(hard, true) > largest)
        largest = series_max(hard, true);
    unit u = unit_for((jobq_resource_kind)d, largest);
    chart c = {out, r->end, nice_max((double)largest / u.divisor), u.divisor,
               d == JOBQ_RESOURCE_PODS};
    char title[160], label[64];
    const char *name = jobq_resource_name((jobq_resource_kind)d);
    snprintf(title, sizeof title, "%s in namespace %s: used and quota", name,
             sim->sc.namespaces[ns].name);
    snprintf(label, sizeof label, "%s (%s)", name, u.name);
    chart_open(&c, title, label);
    y_axis(&c);
    time_axis(&c);
    step_path(&c, used, "used");
    step_path(&c, hard, "hard");
    static const legend_entry entries[] = {{"used", "used"},
                                           {"quota (hard)", "hard"}};
    legend(&c, entries, 2);
    chart_close(&c);
}

static bool has_quota(const sim_report *r, size_t ns, int d)
{
    const series *hard = &r->hard[ns * JOBQ_RESOURCE_COUNT + (size_t)d];
    for (size_t i = 0; i < hard->n; i++)
        if (hard->v[i] != JOBQ_UNLIMITED)
            return true;
    return false;
}

/* Wait-time buckets, the same bounds as the jobq_wait_seconds metric. */
static const int64_t wait_bounds_s[] = {
    1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800,
    43200, 86400, 172800, 604800};
static const char *const wait_names[] = {
    "&#8804;1s", "5s", "15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m",
    "1h", "2h", "4h", "8h", "12h", "1d", "2d", "7d", "&gt;7d"};
#define WAIT_BUCKETS (sizeof wait_bounds_s / sizeof wait_bounds_s[0] + 1)

static void wait_counts(const sim_priority_stats *st, uint64_t *counts)
{
    memset(counts, 0, WAIT_BUCKETS * sizeof *counts);
    for (size_t i = 0; i < st->wait_count; i++) {
        size_t b = 0;
        while (b + 1 < WAIT_BUCKETS && st->waits[i] > wait_bounds_s[b] * 1000)
            b++;
        counts[b]++;
    }
}

/* The bucket range that has any run, so empty tails take no room. */
static void used_bucket_range(uint64_t counts[2][WAIT_BUCKETS], size_t *first,
                              size_t *last)
{
    *first = WAIT_BUCKETS;
    *last = 0;
    for (size_t b = 0; b < WAIT_BUCKETS; b++)
        if (counts[0][b] || counts[1][b]) {
            if (*first == WAIT_BUCKETS)
                *first = b;
            *last = b;
        }
    if (*first == WAIT_BUCKETS)
        *first = *last = 0;
}

static void wait_bars(const chart *c, uint64_t counts[2][WAIT_BUCKETS],
                      size_t first, size_t last)
{
    double slot = (double)PLOT_WIDTH / (double)(last - first + 1);
    double bar = slot * 0.38;
    static const char *const classes[2] = {"high-bar", "normal-bar"};
    for (size_t b = first; b <= last; b++) {
        double x = PLOT_LEFT + slot * (double)(b - first);
        for (int p = 0; p < 2; p++) {
            double y = y_of(c, (int64_t)counts[p][b]);
            fprintf(c->out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                    "width=\"%.1f\" height=\"%.1f\"><title>%s priority, %s: "
                    "%" PRIu64 " runs</title></rect>\n",
                    classes[p], x + slot * 0.1 + bar * p, y, bar,
                    PLOT_TOP + PLOT_HEIGHT - y, p == 0 ? "high" : "normal",
                    wait_names[b], counts[p][b]);
        }
        fprintf(c->out, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\">%s</text>\n", x + slot / 2,
                PLOT_TOP + PLOT_HEIGHT + 18, wait_names[b]);
    }
}

static void wait_chart(FILE *out, const simulation *sim)
{
    uint64_t counts[2][WAIT_BUCKETS];
    wait_counts(&sim->stats[0], counts[0]);
    wait_counts(&sim->stats[1], counts[1]);
    size_t first, last;
    used_bucket_range(counts, &first, &last);
    uint64_t largest = 0;
    for (size_t b = 0; b < WAIT_BUCKETS; b++)
        for (int p = 0; p < 2; p++)
            if (counts[p][b] > largest)
                largest = counts[p][b];
    chart c = {out, 1, nice_whole_max((double)largest), 1.0, true};
    chart_open(&c, "Wait time from submission to deployment", "runs deployed");
    y_axis(&c);
    wait_bars(&c, counts, first, last);
    fprintf(out, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\""
            "/>\n<text class=\"axis-label\" x=\"%d\" y=\"%d\" text-anchor="
            "\"middle\">wait time, up to (bucket upper bound)</text>\n",
            PLOT_LEFT, PLOT_LEFT + PLOT_WIDTH, PLOT_TOP + PLOT_HEIGHT,
            PLOT_TOP + PLOT_HEIGHT, PLOT_LEFT + PLOT_WIDTH / 2,
            CHART_HEIGHT - 8);
    static const legend_entry entries[] = {{"high priority", "high"},
                                           {"normal priority", "normal"}};
    legend(&c, entries, 2);
    chart_close(&c);
}

/* ------------------------------------------------------------ page */

static const char page_style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;"
    "margin:24px;color:#222;max-width:820px}\n"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px}\n"
    "table{border-collapse:collapse;font-size:13px}\n"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "figure{margin:12px 0}\n"
    ".chart{background:#fff;border:1px solid #ddd}\n"
    ".chart text{font-size:12px;fill:#333}\n"
    ".chart .title{font-size:14px;font-weight:bold}\n"
    ".chart .axis-label{font-size:12px;fill:#555}\n"
    ".grid{stroke:#eee}.axis,.tickmark{stroke:#888}\n"
    "path{fill:none;stroke-width:2}\n"
    ".high{stroke:#d62728}.normal{stroke:#1f77b4}\n"
    ".used{stroke:#2ca02c}.hard{stroke:#444;stroke-dasharray:6 4}\n"
    "line.high,line.normal,line.used,line.hard{stroke-width:3}\n"
    ".high-bar{fill:#d62728}.normal-bar{fill:#1f77b4}\n"
    "p.note{font-size:13px;color:#555}\n";

static void summary_table(FILE *out, simulation *sim)
{
    fputs("<table><tr><th>priority</th><th>submitted</th><th>deployed</th>"
          "<th>finished</th><th>failed</th><th>cancelled</th>"
          "<th>rescheduled</th><th>wait p50</th><th>wait p95</th>"
          "<th>wait max</th></tr>\n", out);
    static const char *const names[2] = {"high", "normal"};
    sim_sort_waits(sim);
    for (int p = 0; p < 2; p++) {
        const sim_priority_stats *st = &sim->stats[p];
        char p50[16], p95[16], max[16];
        sim_human_duration(p50, sizeof p50, sim_wait_percentile(st, 50));
        sim_human_duration(p95, sizeof p95, sim_wait_percentile(st, 95));
        sim_human_duration(max, sizeof max, sim_wait_percentile(st, 100));
        fprintf(out, "<tr><td>%s</td><td>%" PRIu64 "</td><td>%" PRIu64
                "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64
                "</td><td>%" PRIu64 "</td><td>%s</td><td>%s</td><td>%s</td>"
                "</tr>\n", names[p], st->submitted, st->deployed,
                st->finished, st->failed, st->cancelled, st->rescheduled,
                p50, p95, max);
    }
    fputs("</table>\n", out);
}

static void page_head(FILE *out, const simulation *sim, jobq_time_ms end)
{
    char span[32];
    sim_human_duration(span, sizeof span, end);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
            "<meta charset=\"utf-8\"><title>jobq-sim report</title>\n"
            "<style>\n%s</style></head><body>\n<h1>jobq-sim report</h1>\n"
            "<p>%zu runs in %zu namespaces over %s of virtual time.</p>\n",
            page_style, sim->sc.run_count, sim->sc.namespace_count, span);
}

int sim_report_write(sim_report *r, simulation *sim, FILE *out)
{
    if (r->failed)
        return -1;
    page_head(out, sim, r->end);
    summary_table(out, sim);
    fputs("<h2>Queue length</h2>\n<p class=\"note\">Runs waiting in each "
          "queue after every scheduling cycle.</p>\n", out);
    for (size_t ns = 0; ns < r->ns_count; ns++)
        queue_chart(out, r, sim, ns);
    fputs("<h2>Resource use against quota</h2>\n<p class=\"note\">What the "
          "simulated cluster's live runs request (legacy runs included), "
          "against the namespace's hard quota, for every dimension that has "
          "one.</p>\n", out);
    for (size_t ns = 0; ns < r->ns_count; ns++)
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            if (has_quota(r, ns, d))
                resource_chart(out, r, sim, ns, d);
    fputs("<h2>Wait time distribution</h2>\n<p class=\"note\">Deployments "
          "per wait-time bucket (the buckets of the jobq_wait_seconds "
          "metric), per priority.</p>\n", out);
    wait_chart(out, sim);
    fputs("</body></html>\n", out);
    return ferror(out) ? -1 : 0;
}
