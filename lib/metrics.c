/*
 * Prometheus metrics (SPEC section 5): counters and histograms kept from
 * the event stream, gauges read from the policy core, rendered in the text
 * exposition format 0.0.4. See include/jobq/metrics.h for what each metric
 * means and lib/metrics.h for how the handle drives this file.
 *
 * Every number is kept as an exact integer (millicores, bytes, wait
 * milliseconds, cycle nanoseconds) and printed as an exact decimal, so the
 * same state always renders to the same bytes.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "scheduler.h"
#include "store/store.h"

/* ------------------------------------------------------------ vocabulary */

enum { OUTCOME_DEPLOYED, OUTCOME_FINISHED, OUTCOME_FAILED, OUTCOME_CANCELLED,
       OUTCOME_RESCHEDULED, OUTCOME_COUNT };
static const char *const outcome_names[OUTCOME_COUNT] = {
    "deployed", "finished", "failed", "cancelled", "rescheduled"};

enum { ACTION_RETRY, ACTION_CANCEL, ACTION_COUNT };
static const char *const action_names[ACTION_COUNT] = {"retry", "cancel"};

static const char *const priority_names[JQ_PRIORITIES] = {"high", "normal"};

/* Histogram buckets as integers in the unit the value is kept in, with the
 * `le` text Prometheus sees. */
typedef struct bucket_layout {
    const int64_t *bounds;
    const char *const *labels;
    size_t count;
    int decimals; /* the kept unit is 10^-decimals seconds */
} bucket_layout;

/* Batch queueing: from a second to a week, in milliseconds. */
static const int64_t wait_bounds_ms[] = {
    1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 900000,
    1800000, 3600000, 7200000, 14400000, 28800000, 43200000, 86400000,
    172800000, 604800000};
static const char *const wait_labels[] = {
    "1", "5", "15", "30", "60", "120", "300", "600", "900", "1800", "3600",
    "7200", "14400", "28800", "43200", "86400", "172800", "604800"};
#define WAIT_BUCKETS (sizeof wait_bounds_ms / sizeof wait_bounds_ms[0])

/* A cycle: from 100 microseconds to 10 seconds, in nanoseconds. */
static const int64_t cycle_bounds_ns[] = {
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000,
    5000000000, 10000000000};
static const char *const cycle_labels[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};
#define CYCLE_BUCKETS (sizeof cycle_bounds_ns / sizeof cycle_bounds_ns[0])

_Static_assert(WAIT_BUCKETS == sizeof wait_labels / sizeof wait_labels[0],
               "one label per wait bucket");
_Static_assert(CYCLE_BUCKETS == sizeof cycle_labels / sizeof cycle_labels[0],
               "one label per cycle bucket");

static const bucket_layout wait_layout = {wait_bounds_ms, wait_labels,
                                          WAIT_BUCKETS, 3};
static const bucket_layout cycle_layout = {cycle_bounds_ns, cycle_labels,
                                           CYCLE_BUCKETS, 9};

/* ------------------------------------------------------------------ state */

#define MAX_BUCKETS 18

/* Per-bucket (not cumulative) counts; the last slot is above every bound. */
typedef struct histogram {
    uint64_t counts[MAX_BUCKETS + 1];
    uint64_t count;
    uint64_t sum; /* in the layout's unit */
} histogram;

typedef struct domain_counters {
    char *name;
    uint64_t runs[JQ_PRIORITIES][OUTCOME_COUNT];
} domain_counters;

typedef struct namespace_counters {
    char *name;
    histogram wait[JQ_PRIORITIES];
    uint64_t head_timeouts[JQ_PRIORITIES][ACTION_COUNT];
    domain_counters *domains; /* sorted by name */
    size_t domain_count, domain_capacity;
} namespace_counters;

struct jq_metrics {
    jq_strmap namespaces; /* namespace_counters by name */
    histogram cycle;
};

static const char *namespace_counters_key(const void *value)
{
    return ((const namespace_counters *)value)->name;
}

struct jq_metrics *jq_metrics_new(void)
{
    struct jq_metrics *m = calloc(1, sizeof *m);
    if (m)
        jq_strmap_init(&m->namespaces, namespace_counters_key);
    return m;
}

static void free_namespace_counters(namespace_counters *ns)
{
    for (size_t i = 0; i < ns->domain_count; i++)
        free(ns->domains[i].name);
    free(ns->domains);
    free(ns->name);
    free(ns);
}

void jq_metrics_free(struct jq_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->namespaces.capacity; i++)
        if (m->namespaces.slots[i])
            free_namespace_counters(m->namespaces.slots[i]);
    jq_strmap_free(&m->namespaces);
    free(m);
}

/* -------------------------------------------------------------- observing */

static void histogram_observe(histogram *h, const bucket_layout *layout,
                              uint64_t value)
{
    size_t slot = 0;
    while (slot < layout->count && (int64_t)value > layout->bounds[slot])
        slot++;
    h->counts[slot]++;
    h->count++;
    h->sum += value;
}

static namespace_counters *namespace_entry(struct jq_metrics *m,
                                           const char *name)
{
    namespace_counters *ns = jq_strmap_get(&m->namespaces, name);
    if (ns)
        return ns;
    ns = calloc(1, sizeof *ns);
    if (!ns || !(ns->name = strdup(name)) ||
        jq_strmap_put(&m->namespaces, ns) != 0) {
        if (ns)
            free(ns->name);
        free(ns);
        return NULL;
    }
    return ns;
}

/* The domain's counters, inserted in name order if new. */
static domain_counters *domain_entry(namespace_counters *ns, const char *name)
{
    size_t at = 0;
    while (at < ns->domain_count && strcmp(ns->domains[at].name, name) < 0)
        at++;
    if (at < ns->domain_count && strcmp(ns->domains[at].name, name) == 0)
        return &ns->domains[at];
    if (ns->domain_count == ns->domain_capacity) {
        size_t capacity = ns->domain_capacity ? ns->domain_capacity * 2 : 4;
        domain_counters *grown =
            realloc(ns->domains, capacity * sizeof *grown);
        if (!grown)
            return NULL;
        ns->domains = grown;
        ns->domain_capacity = capacity;
    }
    char *copy = strdup(name);
    if (!copy)
        return NULL;
    memmove(&ns->domains[at + 1], &ns->domains[at],
            (ns->domain_count - at) * sizeof *ns->domains);
    memset(&ns->domains[at], 0, sizeof *ns->domains);
    ns->domains[at].name = copy;
    ns->domain_count++;
    return &ns->domains[at];
}

static int event_outcome(jobq_event_type type)
{
    switch (type) {
    case JOBQ_EVENT_DEPLOYED: return OUTCOME_DEPLOYED;
    case JOBQ_EVENT_FINISHED: return OUTCOME_FINISHED;
    case JOBQ_EVENT_FAILED: return OUTCOME_FAILED;
    case JOBQ_EVENT_CANCELLED: return OUTCOME_CANCELLED;
    case JOBQ_EVENT_RESCHEDULED: return OUTCOME_RESCHEDULED;
    default: return -1;
    }
}

void jq_metrics_observe_event(struct jq_metrics *m, const jobq_event *event)
{
    if (!m || (unsigned)event->priority >= JQ_PRIORITIES)
        return;
    namespace_counters *ns = namespace_entry(m, event->ns);
    domain_counters *domain =
        ns ? domain_entry(ns, event->domain ? event->domain : "") : NULL;
    if (!domain)
        return;
    int p = (int)event->priority;
    int outcome = event_outcome(event->type);
    if (outcome >= 0)
        domain->runs[p][outcome]++;
    if (event->type == JOBQ_EVENT_DEPLOYED)
        histogram_observe(&ns->wait[p], &wait_layout,
                          event->wait_ms > 0 ? (uint64_t)event->wait_ms : 0);
    if (event->type == JOBQ_EVENT_HEAD_TIMEOUT_RETRY)
        ns->head_timeouts[p][ACTION_RETRY]++;
    if (event->type == JOBQ_EVENT_CANCELLED && event->reason &&
        strcmp(event->reason, jq_reason_name(JQ_REASON_HEAD_TIMEOUT)) == 0)
        ns->head_timeouts[p][ACTION_CANCEL]++;
}

void jq_metrics_observe_cycle(struct jq_metrics *m, uint64_t nanoseconds)
{
    if (m)
        histogram_observe(&m->cycle, &cycle_layout, nanoseconds);
}

/* ------------------------------------------------------------ text output */

typedef struct text {
    char *data;
    size_t len, cap;
    bool failed;
} text;

static bool text_reserve(text *t, size_t more)
{
    if (t->failed)
        return false;
    if (t->len + more + 1 <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1)
        cap *= 2;
    char *grown = realloc(t->data, cap);
    if (!grown) {
        t->failed = true;
        return false;
    }
    t->data = grown;
    t->cap = cap;
    return true;
}

static void text_put(text *t, const char *s, size_t n)
{
    if (!text_reserve(t, n))
        return;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void text_puts(text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

static void text_printf(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text_printf(text *t, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        text_put(t, small, (size_t)n);
        return;
    }
    if (!text_reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A decimal integer, without the cost of printf (a scrape of a big
 * installation writes tens of thousands of them). */
static void text_uint(text *t, uint64_t value)
{
    char digits[24];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    text_put(t, digits + n, sizeof digits - n);
}

static void text_int(text *t, int64_t value)
{
    if (value < 0) {
        text_puts(t, "-");
        text_uint(t, value == INT64_MIN ? (uint64_t)INT64_MAX + 1
                                        : (uint64_t)-value);
    } else {
        text_uint(t, (uint64_t)value);
    }
}

/* A label value, per the exposition format: backslash, double quote and
 * newline are escaped. The format also requires valid UTF-8, and names in
 * a database written before names were validated (names.c) may not be:
 * every byte that is not valid UTF-8, and every other control character,
 * becomes U+FFFD, so one bad name never breaks the whole scrape. */
static void text_label_value(text *t, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    size_t n = strlen(value);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = jq_utf8_decode(p + i, n - i, &cp);
        if (len == 0 || (jq_is_control(cp) && cp != '\n')) {
            text_puts(t, "\xef\xbf\xbd");
            i += len ? len : 1;
        } else if (cp == '\\' || cp == '"' || cp == '\n') {
            text_puts(t, cp == '\\' ? "\\\\" : cp == '"' ? "\\\"" : "\\n");
            i++;
        } else {
            text_put(t, (const char *)p + i, len);
            i += len;
        }
    }
}

static void text_label(text *t, bool comma, const char *name,
                       const char *value)
{
    if (comma)
        text_puts(t, ",");
    text_puts(t, name);
    text_puts(t, "=\"");
    text_label_value(t, value);
    text_puts(t, "\"");
}

/* A series name and its labels: `names` and `values` have `count` entries;
 * `extra_name`/`extra_value` (may be NULL) is appended (a histogram's le). */
typedef struct labels {
    const char *names[4];
    const char *values[4];
    size_t count;
} labels;

static void text_series(text *t, const char *metric, const char *suffix,
                        const labels *l, const char *extra_name,
                        const char *extra_value)
{
    text_puts(t, metric);
    text_puts(t, suffix);
    if (l->count == 0 && !extra_name)
        return;
    text_puts(t, "{");
    for (size_t i = 0; i < l->count; i++)
        text_label(t, i > 0, l->names[i], l->values[i]);
    if (extra_name)
        text_label(t, l->count > 0, extra_name, extra_value);
    text_puts(t, "}");
}

/* An exact decimal of value * 10^-decimals: 1500 with 3 decimals is
 * "1.5", 2000 is "2". */
static void text_decimal(text *t, int64_t value, int decimals)
{
    if (value < 0) {
        text_puts(t, "-");
        value = value == INT64_MIN ? INT64_MAX : -value;
    }
    int64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    text_int(t, value / scale);
    int64_t fraction = value % scale;
    if (fraction == 0)
        return;
    char digits[24];
    int n = decimals < 20 ? decimals : 20;
    for (int i = n - 1; i >= 0; i--, fraction /= 10)
        digits[i] = (char)('0' + fraction % 10);
    while (n > 0 && digits[n - 1] == '0')
        n--;
    text_puts(t, ".");
    text_put(t, digits, (size_t)n);
}

static void text_family(text *t, const char *metric, const char *type,
                        const char *help)
{
    text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric,
                type);
}

static void text_sample_int(text *t, const char *metric, const labels *l,
                            int64_t value)
{
    text_series(t, metric, "", l, NULL, NULL);
    text_puts(t, " ");
    text_int(t, value);
    text_puts(t, "\n");
}

static void text_sample_decimal(text *t, const char *metric, const labels *l,
                                int64_t value, int decimals)
{
    text_series(t, metric, "", l, NULL, NULL);
    text_puts(t, " ");
    text_decimal(t, value, decimals);
    text_puts(t, "\n");
}

static void text_histogram(text *t, const char *metric, const labels *l,
                           const histogram *h, const bucket_layout *layout)
{
    uint64_t cumulative = 0;
    for (size_t i = 0; i < layout->count; i++) {
        cumulative += h->counts[i];
        text_series(t, metric, "_bucket", l, "le", layout->labels[i]);
        text_puts(t, " ");
        text_uint(t, cumulative);
        text_puts(t, "\n");
    }
    text_series(t, metric, "_bucket", l, "le", "+Inf");
    text_puts(t, " ");
    text_uint(t, h->count);
    text_puts(t, "\n");
    text_series(t, metric, "_sum", l, NULL, NULL);
    text_puts(t, " ");
    text_decimal(t, (int64_t)(h->sum > INT64_MAX ? INT64_MAX : h->sum),
                 layout->decimals);
    text_puts(t, "\n");
    text_series(t, metric, "_count", l, NULL, NULL);
    text_puts(t, " ");
    text_uint(t, h->count);
    text_puts(t, "\n");
}

/* ---------------------------------------------------- sorted namespaces */

static int compare_names(const void *a, const void *b)
{
    return strcmp(**(const char *const *const *)a,
                  **(const char *const *const *)b);
}

/* The entries of a name-keyed table, sorted by name. Both namespace kinds
 * start with their `char *name`, which is what the comparison reads. */
static void **sorted_entries(void *const *slots, size_t capacity,
                             size_t count)
{
    void **entries = malloc((count ? count : 1) * sizeof *entries);
    if (!entries)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < capacity; i++)
        if (slots[i])
            entries[n++] = slots[i];
    qsort(entries, n, sizeof *entries, compare_names);
    return entries;
}

_Static_assert(offsetof(namespace_counters, name) == 0,
               "sorted_entries reads the name first");
_Static_assert(offsetof(jq_namespace, name) == 0,
               "sorted_entries reads the name first");

/* ------------------------------------------------------ queue gauges */

static void render_queue_length(text *t, jq_namespace *const *ns, size_t n)
{
    static const char metric[] = "jobq_queue_length";
    text_family(t, metric, "gauge",
                "Runs waiting in the queue of a namespace and priority.");
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            labels l = {{"namespace", "priority"},
                        {ns[i]->name, priority_names[p]}, 2};
            text_sample_int(t, metric, &l,
                            (int64_t)ns[i]->queue[p].runs.length);
        }
}

static void render_head_blocked(text *t, jq_namespace *const *ns, size_t n)
{
    static const char metric[] = "jobq_queue_head_blocked";
    text_family(t, metric, "gauge",
                "1 when the queue head did not fit the quota the last time "
                "it was considered, on the first insufficient resource "
                "(reason), or fitted but was refused by the cluster "
                "(reason stale_quota); 0 otherwise.");
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            const jq_queue *q = &ns[i]->queue[p];
            for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
                labels l = {{"namespace", "priority", "reason"},
                            {ns[i]->name, priority_names[p],
                             jobq_resource_name((jobq_resource_kind)d)},
                            3};
                bool blocked = q->runs.first && q->head_blocked &&
                               q->head_resource == d;
                text_sample_int(t, metric, &l, blocked ? 1 : 0);
            }
            /* SPEC 2.5: a refused head counts as blocked too. */
            labels l = {{"namespace", "priority", "reason"},
                        {ns[i]->name, priority_names[p], "stale_quota"},
                        3};
            bool refused = !q->head_blocked && jq_head_refused(q);
            text_sample_int(t, metric, &l, refused ? 1 : 0);
        }
}

/* ------------------------------------------------ counters, histograms */

static void render_runs_total(text *t, namespace_counters *const *ns,
                              size_t n)
{
    static const char metric[] = "jobq_runs_total";
    text_family(t, metric, "counter",
                "Runs that reached an outcome: deployed, finished, failed, "
                "cancelled, rescheduled (sent back to the queue head).");
    for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < ns[i]->domain_count; d++)
            for (int p = 0; p < JQ_PRIORITIES; p++)
                for (int o = 0; o < OUTCOME_COUNT; o++) {
                    labels l = {{"namespace", "domain", "priority", "outcome"},
                                {ns[i]->name, ns[i]->domains[d].name,
                                 priority_names[p], outcome_names[o]},
                                4};
                    text_sample_int(t, metric, &l,
                                    (int64_t)ns[i]->domains[d].runs[p][o]);
                }
}

static void render_wait_seconds(text *t, namespace_counters *const *ns,
                                size_t n)
{
    static const char metric[] = "jobq_wait_seconds";
    text_family(t, metric, "histogram",
                "Time from submission to deployment of each deployed run.");
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < JQ_PRIORITIES; p++) {
            labels l = {{"namespace", "priority"},
                        {ns[i]->name, priority_names[p]}, 2};
            text_histogram(t, metric, &l, &ns[i]->wait[p], &wait_layout);
        }
}

static void render_head_timeouts(text *t, namespace_counters *const *ns,
                                 size_t n)
{
    static const char metric[] = "jobq_head_timeouts_total";
    text_family(t, metric, "counter",
                "Queue heads blocked past the head timeout: action=retry "
                "restarted the timer, action=cancel cancelled the run.");
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < JQ_PRIORITIES; p++)
            for (int a = 0; a < ACTION_COUNT; a++) {
                labels l = {{"namespace", "priority", "action"},
                            {ns[i]->name, priority_names[p], action_names[a]},
                            3};
                text_sample_int(t, metric, &l,
                                (int64_t)ns[i]->head_timeouts[p][a]);
            }
}

/* --------------------------------------------------- allocated gauges */

/* What one (namespace, domain, priority, job) has deployed. The pointers
 * identify the key while collecting; the names are what is rendered. */
typedef struct allocation {
    const jq_job *job_key;
    const jq_namespace *ns_key;
    const char *ns, *domain, *job;
    int priority;
    jobq_resources amount;
} allocation;

static int compare_allocations(const void *a, const void *b)
{
    const allocation *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);
    if (!c)
        c = strcmp(x->domain, y->domain);
    if (!c)
        c = (x->priority > y->priority) - (x->priority < y->priority);
    if (!c)
        c = strcmp(x->job, y->job);
    return c;
}

/* Allocations being summed: entries plus an open-addressing index on
 * (job, namespace, priority), so that summing is linear in deployed runs
 * and only the (few) distinct keys are sorted. */
typedef struct allocation_table {
    allocation *entries;
    size_t count;
    size_t *slots; /* entry index + 1; 0 = empty */
    size_t mask;
} allocation_table;

static size_t allocation_hash(const jq_job *job, const jq_namespace *ns,
                              int priority)
{
    uint64_t h = (uint64_t)(uintptr_t)job * UINT64_C(11400714819323198485);
    h ^= (uint64_t)(uintptr_t)ns * UINT64_C(14029467366897019727);
    return (size_t)((h >> 17) ^ (uint64_t)priority);
}

/* The entry for the key, added with a zero amount if new. */
static allocation *allocation_entry(allocation_table *t, const jq_job *job,
                                    const jq_namespace *ns, int priority)
{
    size_t i = allocation_hash(job, ns, priority) & t->mask;
    for (; t->slots[i]; i = (i + 1) & t->mask) {
        allocation *a = &t->entries[t->slots[i] - 1];
        if (a->job_key == job && a->ns_key == ns && a->priority == priority)
            return a;
    }
    allocation *a = &t->entries[t->count++];
    *a = (allocation){job, ns, ns->name, job->domain, job->name, priority,
                      {{0}}};
    t->slots[i] = t->count;
    return a;
}

/* One entry per defined job at its default priority (0 when nothing of it
 * runs), plus whatever deployed runs add; sorted by the rendered labels.
 * Returns the number of entries, or (size_t)-1 when out of memory. */
static size_t collect_allocations(const jq_core *c, allocation **out)
{
    size_t most = c->jobs.count + (size_t)c->running.length + 1;
    size_t capacity = 2;
    while (capacity < most * 2)
        capacity *= 2;
    allocation_table t = {calloc(most, sizeof *t.entries), 0,
                          calloc(capacity, sizeof *t.slots), capacity - 1};
    if (!t.entries || !t.slots) {
        free(t.entries);
        free(t.slots);
        return (size_t)-1;
    }
    for (size_t i = 0; i < c->jobs.capacity; i++) {
        const jq_job *job = c->jobs.slots[i];
        if (job)
            allocation_entry(&t, job, job->ns, job->priority);
    }
    for (const jq_run *r = c->running.first; r; r = r->next) {
        allocation *a = allocation_entry(&t, r->job, r->ns, r->priority);
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            a->amount.amount[d] += r->request.amount[d];
    }
    free(t.slots);
    qsort(t.entries, t.count, sizeof *t.entries, compare_allocations);
    *out = t.entries;
    return t.count;
}

/* The four resource gauges of a family: metric names, help, and the number
 * of decimals that turns the kept unit into the metric's unit. */
typedef struct resource_family {
    const char *metric;
    const char *help;
    int decimals;
} resource_family;

static const resource_family allocated_families[JOBQ_RESOURCE_COUNT] = {
    {"jobq_allocated_cpu_cores", "CPU requested by deployed runs, in cores.",
     3},
    {"jobq_allocated_memory_bytes",
     "Memory requested by deployed runs, in bytes.", 0},
    {"jobq_allocated_pods", "Pods requested by deployed runs.", 0},
    {"jobq_allocated_storage_bytes",
     "Storage requested by deployed runs, in bytes.", 0},
};

static const resource_family quota_families[JOBQ_RESOURCE_COUNT] = {
    {"jobq_quota_cpu_cores",
     "Namespace CPU quota in cores: kind=hard is the limit (absent when "
     "unlimited), kind=used what is in use at the last probe plus what was "
     "deployed since.", 3},
    {"jobq_quota_memory_bytes",
     "Namespace memory quota in bytes: kind=hard is the limit (absent when "
     "unlimited), kind=used what is in use at the last probe plus what was "
     "deployed since.", 0},
    {"jobq_quota_pods",
     "Namespace pod quota: kind=hard is the limit (absent when unlimited), "
     "kind=used what is in use at the last probe plus what was deployed "
     "since.", 0},
    {"jobq_quota_storage_bytes",
     "Namespace storage quota in bytes: kind=hard is the limit (absent when "
     "unlimited), kind=used what is in use at the last probe plus what was "
     "deployed since.", 0},
};

static int render_allocated(text *t, const jq_core *c)
{
    allocation *a = NULL;
    size_t n = collect_allocations(c, &a);
    if (n == (size_t)-1)
        return JOBQ_ENOMEM;
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        const resource_family *f = &allocated_families[d];
        text_family(t, f->metric, "gauge", f->help);
        for (size_t i = 0; i < n; i++) {
            labels l = {{"namespace", "domain", "priority", "job"},
                        {a[i].ns, a[i].domain, priority_names[a[i].priority],
                         a[i].job},
                        4};
            text_sample_decimal(t, f->metric, &l, a[i].amount.amount[d],
                                f->decimals);
        }
    }
    free(a);
    return 0;
}

/* ------------------------------------------------------- quota gauges */

static int64_t saturating_add(int64_t a, int64_t b)
{
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

static void render_quota(text *t, jq_namespace *const *ns, size_t n)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        const resource_family *f = &quota_families[d];
        text_family(t, f->metric, "gauge", f->help);
        for (size_t i = 0; i < n; i++) {
            if (ns[i]->probed_cycle == 0 || ns[i]->probe_status != 0)
                continue;
            int64_t hard = ns[i]->hard.amount[d];
            if (hard != JOBQ_UNLIMITED) {
                labels l = {{"namespace", "kind"}, {ns[i]->name, "hard"}, 2};
                text_sample_decimal(t, f->metric, &l, hard, f->decimals);
            }
            labels l = {{"namespace", "kind"}, {ns[i]->name, "used"}, 2};
            text_sample_decimal(t, f->metric, &l,
                                saturating_add(ns[i]->used.amount[d],
                                               ns[i]->reserved.amount[d]),
                                f->decimals);
        }
    }
}

/* ------------------------------------------------------------- render */

static void render_cycle(text *t, const histogram *cycle)
{
    static const char metric[] = "jobq_cycle_duration_seconds";
    text_family(t, metric, "histogram",
                "Wall time of each scheduling cycle (jobq_tick).");
    labels none = {{NULL}, {NULL}, 0};
    text_histogram(t, metric, &none, cycle, &cycle_layout);
}

/* Rows of the database the open could not load (lib/store/quarantine.c):
 * one series per table, 0 when all is well, only with a database. */
static void render_quarantine(text *t, const struct jq_store *store)
{
    static const char *const tables[] = {"schema", "scheduler", "namespaces",
                                         "queues", "jobs", "runs"};
    if (!store)
        return;
    const char *metric = "jobq_store_quarantined_rows";
    text_family(t, metric, "gauge",
                "Database rows that could not be loaded when the database "
                "was opened: kept in the file, left out of memory (see "
                "jobqctl quarantine).");
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        labels l = {{"table"}, {tables[i]}, 1};
        text_sample_int(t, metric, &l,
                        (int64_t)jq_store_quarantine_count_in(store,
                                                              tables[i]));
    }
}

static int render_all(text *t, const struct jq_metrics *m, const jq_core *c,
                      const struct jq_store *store)
{
    jq_namespace **core_ns = (jq_namespace **)sorted_entries(
        c->namespaces.slots, c->namespaces.capacity, c->namespaces.count);
    namespace_counters **counted = (namespace_counters **)sorted_entries(
        m->namespaces.slots, m->namespaces.capacity, m->namespaces.count);
    int rc = JOBQ_ENOMEM;
    if (core_ns && counted) {
        render_queue_length(t, core_ns, c->namespaces.count);
        render_head_blocked(t, core_ns, c->namespaces.count);
        render_runs_total(t, counted, m->namespaces.count);
        render_wait_seconds(t, counted, m->namespaces.count);
        render_head_timeouts(t, counted, m->namespaces.count);
        rc = render_allocated(t, c);
        render_quota(t, core_ns, c->namespaces.count);
        render_cycle(t, &m->cycle);
        render_quarantine(t, store);
    }
    free(core_ns);
    free(counted);
    return rc;
}

int jq_metrics_render_text(const struct jq_metrics *m, const jq_core *core,
                           const struct jq_store *store, char **out_text,
                           size_t *out_len)
{
    text t = {0};
    int rc = m ? render_all(&t, m, core, store) : JOBQ_ENOMEM;
    if (rc == 0 && (t.failed || !text_reserve(&t, 0)))
        rc = JOBQ_ENOMEM;
    if (rc != 0) {
        free(t.data);
        return rc;
    }
    *out_text = t.data;
    if (out_len)
        *out_len = t.len;
    return 0;
}

JOBQ_API int jobq_metrics_render(jobq_scheduler *s, char **out_text,
                                 size_t *out_len)
{
    if (!s)
        return JOBQ_EINVAL;
    const jobq_scheduler *saved;
    int rc = jq_sched_enter(s, &saved);
    if (rc)
        return rc;
    if (!out_text)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "out_text must not be NULL");
    else if ((rc = jq_metrics_render_text(s->metrics, &s->core, s->store, out_text,
                                          out_len)) != 0)
        jq_core_fail(&s->core, rc, "out of memory rendering the metrics");
    return jq_sched_leave(s, saved, rc);
}
