/*
 * jobq-exporter: serves libjobq's Prometheus metrics (SPEC section 5) over
 * HTTP, so that an operator's Prometheus and Grafana can watch queue
 * lengths, waits, blocked heads and resource use with zero glue.
 *
 *   jobq-exporter --scenario FILE [--speed N] [--at-end hold|loop]
 *                 [--listen ADDR] [--port N] [--events]
 *   jobq-exporter --store FILE [--refresh-ms N] [--listen ADDR] [--port N]
 *
 * With --scenario it runs a scheduler against the simulator's mock cluster
 * (the scenario format of SPEC section 4, the same code as jobq-sim) paced
 * against the real clock: --speed N virtual seconds per real second. When
 * every run has ended it holds the final state, or with --at-end loop
 * starts the scenario again (counters reset, as after a restart).
 *
 * With --store it serves a libjobq database that a scheduler process (or
 * jobq-sim --db) writes. The file is opened with jobq_open_read_only(),
 * which takes no lock and loads one consistent snapshot, so the writer is
 * never disturbed. A read-only handle is a snapshot and cannot refresh
 * itself, so every --refresh-ms (default 5000) the main thread opens a new
 * one and swaps it in; a scrape renders whichever snapshot is current. If
 * a reopen fails, the last good snapshot stays in service, the failure is
 * logged and /healthz answers 503 until a reopen succeeds again.
 *
 * What a snapshot can show: the gauges the library computes from its state
 * (queue lengths, blocked heads with their reason, allocated resources of
 * deploying and running runs). The counters and histograms
 * (jobq_runs_total, jobq_wait_seconds, jobq_head_timeouts_total,
 * jobq_cycle_duration_seconds) accumulate from the events of a handle's
 * own cycles; a read-only handle runs none, so they stay empty. The quota
 * gauges are the probe's readings, which are not persisted, so they are
 * absent. Scrape the scheduler process itself for those.
 *
 * Threads: libmicrohttpd's threads answer scrapes while the main thread
 * steps the simulation or refreshes the snapshot; the scheduler handle is
 * thread-safe, and the only state shared here, which simulation or
 * snapshot is current, is behind a rwlock.
 *
 * Endpoints: GET /metrics (text format 0.0.4), GET /healthz ("ok");
 * HEAD is answered like GET; any other method is 405, any other path 404.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "httpd.h"
#include "sim.h"

#define PROGRAM "jobq-exporter"
#define DEFAULT_SPEED 60.0
#define DEFAULT_REFRESH_MS 5000

typedef struct options {
    const char *scenario;
    const char *store;
    httpd_address addr; /* --listen, --port */
    double speed;
    bool loop;
    bool events;
    int refresh_ms;
    /* Given on the command line, to refuse what does not apply. */
    const char *scenario_only; /* a --scenario flag, e.g. "--speed" */
    bool refresh_given;
} options;

typedef struct exporter {
    options opts;
    char *scenario_text;
    size_t scenario_len;
    pthread_rwlock_t swap; /* guards `current`, `snapshot`, `stale` */
    simulation *current;   /* --scenario */
    jobq_scheduler *snapshot; /* --store: the current read-only handle */
    bool stale;            /* --store: the last reopen failed */
} exporter;

static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
    stop_requested = 1;
}

/* ------------------------------------------------------------ options */

static void usage(FILE *out)
{
    fputs("usage: jobq-exporter --scenario FILE [options]\n"
          "       jobq-exporter --store FILE [options]\n"
          "\n"
          "Serves libjobq's Prometheus metrics, either of a scheduler run on\n"
          "a simulated cluster (a jobq-sim scenario, SPEC section 4) in real\n"
          "time, or of a libjobq database that another process writes.\n"
          "\n"
          "  --scenario FILE   the scenario to run\n"
          "  --speed N         virtual seconds per real second (default 60)\n"
          "  --at-end MODE     when every run has ended: hold (keep serving\n"
          "                    the final state, the default) or loop (start\n"
          "                    the scenario again)\n"
          "  --events          print the simulation's events to stdout, one\n"
          "                    JSON object per line, as jobq-sim does\n"
          "\n"
          "  --store FILE      serve a libjobq database (jobq_options.db_path,\n"
          "                    jobq-sim --db), opened read-only: it works\n"
          "                    while a scheduler writes the file\n"
          "  --refresh-ms N    re-read the database every N ms (default\n"
          "                    5000; 50 to 600000)\n"
          "                    From a store, only gauges are meaningful:\n"
          "                    queue lengths, blocked heads and allocated\n"
          "                    resources. Counters and histograms (runs,\n"
          "                    waits, head timeouts, cycle durations) are\n"
          "                    kept in the scheduler's memory, not in the\n"
          "                    file, and stay empty; quota gauges (probe\n"
          "                    readings) are absent.\n"
          "\n"
          "  --listen ADDR     IPv4 or IPv6 address to bind (default\n"
          "                    127.0.0.1; 0.0.0.0 or :: for every address)\n"
          "  --port N          TCP port (default 8000; 0 picks a free one)\n"
          "  --help            show this help\n"
          "\n"
          "Endpoints: GET /metrics, GET /healthz (503 while the store cannot\n"
          "be re-read).\n",
          out);
}

static int bad_flag(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* A refused command line: the message, a hint, exit status 2. */
static int bad_flag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROGRAM ": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(try " PROGRAM " --help)\n", stderr);
    return 2;
}

static int parse_number(const char *flag, const char *text, double min,
                        double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
        fprintf(stderr, PROGRAM ": %s: \"%s\" is not a number in %g..%g\n"
                "(try " PROGRAM " --help)\n", flag, text, min, max);
        return 2;
    }
    *out = v;
    return 0;
}

/* The value of the flag at argv[*i], or NULL after a message. */
static const char *flag_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        bad_flag("%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int parse_flag(options *o, int argc, char **argv, int *i)
{
    const char *flag = argv[*i], *value;
    double number;
    if (strcmp(flag, "--events") == 0) {
        o->events = true;
        o->scenario_only = "--events";
        return 0;
    }
    if (strcmp(flag, "--scenario") && strcmp(flag, "--speed") &&
        strcmp(flag, "--at-end") && strcmp(flag, "--listen") &&
        strcmp(flag, "--port") && strcmp(flag, "--store") &&
        strcmp(flag, "--refresh-ms"))
        return bad_flag("unknown option %s", flag);
    if (!(value = flag_value(argc, argv, i)))
        return 2;
    if (strcmp(flag, "--speed") == 0 || strcmp(flag, "--at-end") == 0)
        o->scenario_only = flag;
    int address = httpd_address_flag(&o->addr, PROGRAM, flag, value, false);
    if (address)
        return address < 0 ? 2 : 0;
    if (strcmp(flag, "--scenario") == 0) {
        o->scenario = value;
    } else if (strcmp(flag, "--store") == 0) {
        o->store = value;
    } else if (strcmp(flag, "--refresh-ms") == 0) {
        if (parse_number(flag, value, 50, 600000, &number))
            return 2;
        if (number != floor(number))
            return bad_flag("--refresh-ms: \"%s\" is not a whole number",
                            value);
        o->refresh_ms = (int)number;
        o->refresh_given = true;
    } else if (strcmp(flag, "--at-end") == 0) {
        if (strcmp(value, "hold") && strcmp(value, "loop"))
            return bad_flag("--at-end: \"%s\" is not hold or loop", value);
        o->loop = strcmp(value, "loop") == 0;
    } else {
        if (parse_number(flag, value, 0.001, 1e9, &o->speed))
            return 2;
    }
    return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(options *o, int argc, char **argv)
{
    *o = (options){.addr = HTTPD_ADDRESS_DEFAULT,
                   .speed = DEFAULT_SPEED, .refresh_ms = DEFAULT_REFRESH_MS};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] != '-')
            return bad_flag("unexpected argument \"%s\"", argv[i]);
        int rc = parse_flag(o, argc, argv, &i);
        if (rc)
            return rc;
    }
    if (o->scenario && o->store)
        return bad_flag("--scenario and --store are mutually exclusive: "
                        "serve a simulation or a database, not both");
    if (!o->scenario && !o->store)
        return bad_flag("nothing to serve: give --scenario FILE or "
                        "--store FILE");
    if (o->store && o->scenario_only)
        return bad_flag("%s only applies to --scenario", o->scenario_only);
    if (o->scenario && o->refresh_given)
        return bad_flag("--refresh-ms only applies to --store");
    return -1;
}

/* --------------------------------------------------------------- http */

static void serve_metrics(void *ctx, const httpd_request *req,
                          httpd_response *res)
{
    (void)req;
    exporter *e = ctx;
    char *text = NULL;
    size_t len = 0;
    pthread_rwlock_rdlock(&e->swap);
    int rc = jobq_metrics_render(e->snapshot ? e->snapshot
                                             : e->current->sched,
                                 &text, &len);
    pthread_rwlock_unlock(&e->swap);
    if (rc != 0) {
        httpd_text(res, 500, "the metrics could not be rendered\n");
        return;
    }
    res->status = 200;
    res->free_body = jobq_free;
    res->content_type = JOBQ_METRICS_CONTENT_TYPE;
    res->body = text;
    res->len = len;
}

static void serve_healthz(void *ctx, const httpd_request *req,
                          httpd_response *res)
{
    (void)req;
    exporter *e = ctx;
    pthread_rwlock_rdlock(&e->swap);
    bool stale = e->stale;
    pthread_rwlock_unlock(&e->swap);
    if (stale)
        httpd_text(res, 503, "stale: the store could not be re-read "
                             "(see the exporter's log)\n");
    else
        httpd_text(res, 200, "ok\n");
}

static httpd_server *start_http(exporter *e)
{
    const httpd_route routes[] = {
        {"/metrics", false, HTTPD_GET, 0, serve_metrics, e},
        {"/healthz", false, HTTPD_GET, 0, serve_healthz, e},
    };
    return httpd_start(&e->opts.addr, PROGRAM, routes,
                       sizeof routes / sizeof *routes);
}

/* --------------------------------------------------------- simulation */

static simulation *start_simulation(exporter *e)
{
    simulation *sim = calloc(1, sizeof *sim);
    if (!sim) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return NULL;
    }
    sim->program = PROGRAM;
    sim->out = e->opts.events ? stdout : NULL;
    if (sim_start(sim, e->scenario_text, e->scenario_len) != 0) {
        sim_finish(sim);
        free(sim);
        return NULL;
    }
    return sim;
}

static void end_simulation(simulation *sim)
{
    if (sim) {
        sim_finish(sim);
        free(sim);
    }
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until the monotonic clock reads `when` (or a signal stops us),
 * in slices short enough to notice the signal promptly. */
static void sleep_until(double when)
{
    for (;;) {
        double left = when - monotonic_seconds();
        if (left <= 0 || stop_requested)
            return;
        if (left > 0.1)
            left = 0.1;
        struct timespec ts = {0, (long)(left * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* Swap in a fresh run of the scenario; false if it cannot start. */
static bool restart(exporter *e, double *started)
{
    simulation *fresh = start_simulation(e);
    if (!fresh)
        return false;
    pthread_rwlock_wrlock(&e->swap);
    simulation *old = e->current;
    e->current = fresh;
    pthread_rwlock_unlock(&e->swap);
    end_simulation(old);
    *started = monotonic_seconds();
    return true;
}

/* Step the current simulation in real time until stopped. */
static int run(exporter *e)
{
    double started = monotonic_seconds();
    bool finished = false;
    while (!stop_requested) {
        if (finished) {
            if (!e->opts.loop) {
                sleep_until(monotonic_seconds() + 0.1);
                continue;
            }
            if (!restart(e, &started))
                return 1;
            finished = false;
        }
        simulation *sim = e->current;
        sleep_until(started + (double)sim->now / 1000.0 / e->opts.speed);
        if (stop_requested)
            break;
        int step = sim_step(sim);
        if (e->opts.events)
            fflush(stdout);
        if (step == SIM_FAILED)
            return 1;
        finished = step == SIM_DONE;
    }
    return 0;
}

/* -------------------------------------------------------------- store */

/* A fresh read-only snapshot of the database, or NULL with *status set
 * and the message in err. */
static jobq_scheduler *open_snapshot(const exporter *e, int *status,
                                     char *err, size_t err_cap)
{
    jobq_scheduler *s = NULL;
    /* Two cases the library's messages do not put plainly: a directory
     * (SQLite's "disk I/O error") and an empty file (a database no
     * scheduler has opened yet: "needs migrating"). */
    struct stat sb;
    if (stat(e->opts.store, &sb) == 0 &&
        (!S_ISREG(sb.st_mode) || sb.st_size == 0)) {
        snprintf(err, err_cap, "%s: not a jobq database (%s)", e->opts.store,
                 S_ISREG(sb.st_mode) ? "an empty file" : "not a file");
        *status = JOBQ_EINVAL;
        return NULL;
    }
    *status = jobq_open_read_only(&s, e->opts.store, err, err_cap);
    if (*status != 0 && !err[0])
        snprintf(err, err_cap, "%s: %s", e->opts.store,
                 jobq_strerror(*status));
    return *status == 0 ? s : NULL;
}

/* Every --refresh-ms, swap in a new snapshot. A failed reopen keeps the
 * last good one in service; it is logged when it starts failing (and when
 * the message changes), and once more when it recovers. */
static int refresh_store(exporter *e)
{
    char last_error[600] = "";
    double next = monotonic_seconds() + e->opts.refresh_ms / 1000.0;
    while (!stop_requested) {
        sleep_until(next);
        if (stop_requested)
            break;
        next += e->opts.refresh_ms / 1000.0;
        double now = monotonic_seconds();
        if (next < now) /* a reopen slower than the period: don't pile up */
            next = now + e->opts.refresh_ms / 1000.0;
        char err[600] = "";
        int status;
        jobq_scheduler *fresh = open_snapshot(e, &status, err, sizeof err);
        pthread_rwlock_wrlock(&e->swap);
        jobq_scheduler *old = fresh ? e->snapshot : NULL;
        if (fresh)
            e->snapshot = fresh;
        e->stale = !fresh;
        pthread_rwlock_unlock(&e->swap);
        jobq_close(old);
        if (!fresh && strcmp(err, last_error) != 0) {
            fprintf(stderr, PROGRAM ": cannot re-read the store (%s): %s; "
                    "serving the last snapshot\n", jobq_errname(status), err);
            snprintf(last_error, sizeof last_error, "%s", err);
        } else if (fresh && last_error[0]) {
            fprintf(stderr, PROGRAM ": the store is readable again\n");
            last_error[0] = '\0';
        }
    }
    return 0;
}

static void announce(const exporter *e, const httpd_server *server)
{
    char base[128], source[128];
    httpd_base_url(server, base, sizeof base);
    if (e->opts.store)
        snprintf(source, sizeof source, "re-read every %d ms",
                 e->opts.refresh_ms);
    else
        snprintf(source, sizeof source, "at %gx, %s at the end",
                 e->opts.speed, e->opts.loop ? "looping" : "holding");
    fprintf(stderr, PROGRAM ": serving %s/metrics (%s %s, %s)\n", base,
            e->opts.store ? "store" : "scenario",
            e->opts.store ? e->opts.store : e->opts.scenario, source);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int serve_store(exporter *e)
{
    char err[600] = "";
    int rc;
    if (!(e->snapshot = open_snapshot(e, &rc, err, sizeof err))) {
        fprintf(stderr, PROGRAM ": cannot serve the store: %s\n", err);
        return 1;
    }
    pthread_rwlock_init(&e->swap, NULL);
    int status = 1;
    httpd_server *daemon = start_http(e);
    if (daemon) {
        install_signals();
        announce(e, daemon);
        status = refresh_store(e);
        httpd_stop(daemon);
    }
    jobq_close(e->snapshot);
    pthread_rwlock_destroy(&e->swap);
    return status;
}

int main(int argc, char **argv)
{
    exporter e = {0};
    int status = parse_options(&e.opts, argc, argv);
    if (status >= 0)
        return status;
    if (e.opts.store)
        return serve_store(&e);
    e.scenario_text = sim_read_file(e.opts.scenario, &e.scenario_len);
    if (!e.scenario_text) {
        fprintf(stderr, PROGRAM ": cannot read %s: %s\n", e.opts.scenario,
                strerror(errno));
        return 1;
    }
    pthread_rwlock_init(&e.swap, NULL);
    status = 1;
    httpd_server *daemon = NULL;
    if ((e.current = start_simulation(&e)) && (daemon = start_http(&e))) {
        install_signals();
        announce(&e, daemon);
        status = run(&e);
    }
    if (daemon)
        httpd_stop(daemon);
    end_simulation(e.current);
    pthread_rwlock_destroy(&e.swap);
    free(e.scenario_text);
    return status;
}
