/*
 * jobq-exporter: serves libjobq's Prometheus metrics (SPEC section 5) over
 * HTTP, so that an operator's Prometheus and Grafana can watch queue
 * lengths, waits, blocked heads and resource use with zero glue.
 *
 *   jobq-exporter --scenario FILE [--speed N] [--at-end hold|loop]
 *                 [--listen ADDR] [--port N] [--events]
 *
 * It runs a scheduler against the simulator's mock cluster (the scenario
 * format of SPEC section 4, the same code as jobq-sim) paced against the
 * real clock: --speed N virtual seconds per real second. When every run has
 * ended it holds the final state, or with --at-end loop starts the scenario
 * again (counters reset, as after a restart). Reading a store file written
 * by a real deployment is planned (--store) but not in this build yet.
 *
 * Threads: libmicrohttpd's threads answer scrapes while the main thread
 * steps the simulation; the scheduler handle is thread-safe, and the only
 * state shared here, which simulation is current, is behind a rwlock.
 *
 * Endpoints: GET /metrics (text format 0.0.4), GET /healthz ("ok");
 * HEAD is answered like GET; any other method is 405, any other path 404.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define PROGRAM "jobq-exporter"
#define DEFAULT_PORT 8000
#define DEFAULT_SPEED 60.0

typedef struct options {
    const char *scenario;
    const char *listen;
    int port;
    double speed;
    bool loop;
    bool events;
} options;

typedef struct exporter {
    options opts;
    char *scenario_text;
    size_t scenario_len;
    pthread_rwlock_t swap; /* guards `current` against a scrape */
    simulation *current;
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
          "\n"
          "Runs libjobq on a simulated cluster (a jobq-sim scenario, SPEC\n"
          "section 4) in real time and serves its Prometheus metrics.\n"
          "\n"
          "  --scenario FILE   the scenario to run\n"
          "  --speed N         virtual seconds per real second (default 60)\n"
          "  --at-end MODE     when every run has ended: hold (keep serving\n"
          "                    the final state, the default) or loop (start\n"
          "                    the scenario again)\n"
          "  --listen ADDR     IPv4 or IPv6 address to bind (default\n"
          "                    127.0.0.1; 0.0.0.0 or :: for every address)\n"
          "  --port N          TCP port (default 8000; 0 picks a free one)\n"
          "  --events          print the simulation's events to stdout, one\n"
          "                    JSON object per line, as jobq-sim does\n"
          "  --store FILE      serve a libjobq database: not supported yet\n"
          "  --help            show this help\n"
          "\n"
          "Endpoints: GET /metrics, GET /healthz.\n",
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

static bool valid_address(const char *text)
{
    struct in6_addr buf;
    return inet_pton(AF_INET, text, &buf) == 1 ||
           inet_pton(AF_INET6, text, &buf) == 1;
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
        return 0;
    }
    if (strcmp(flag, "--scenario") && strcmp(flag, "--speed") &&
        strcmp(flag, "--at-end") && strcmp(flag, "--listen") &&
        strcmp(flag, "--port") && strcmp(flag, "--store"))
        return bad_flag("unknown option %s", flag);
    if (!(value = flag_value(argc, argv, i)))
        return 2;
    if (strcmp(flag, "--scenario") == 0) {
        o->scenario = value;
    } else if (strcmp(flag, "--listen") == 0) {
        if (!valid_address(value))
            return bad_flag("--listen: \"%s\" is not an IPv4 or IPv6 "
                            "address", value);
        o->listen = value;
    } else if (strcmp(flag, "--store") == 0) {
        /* TODO(store): once the SQLite store lands, open the file with
         * jobq_open(db_path) and serve its metrics (gauges from the stored
         * queues; counters start at 0, as after any restart). */
        return bad_flag("--store %s: serving a libjobq database is not "
                        "supported yet (the SQLite store is not in this "
                        "build); use --scenario", value);
    } else if (strcmp(flag, "--at-end") == 0) {
        if (strcmp(value, "hold") && strcmp(value, "loop"))
            return bad_flag("--at-end: \"%s\" is not hold or loop", value);
        o->loop = strcmp(value, "loop") == 0;
    } else if (strcmp(flag, "--speed") == 0) {
        if (parse_number(flag, value, 0.001, 1e9, &o->speed))
            return 2;
    } else {
        if (parse_number(flag, value, 0, 65535, &number))
            return 2;
        if (number != floor(number))
            return bad_flag("--port: \"%s\" is not a whole number", value);
        o->port = (int)number;
    }
    return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(options *o, int argc, char **argv)
{
    *o = (options){NULL, "127.0.0.1", DEFAULT_PORT, DEFAULT_SPEED, false,
                   false};
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
    if (!o->scenario)
        return bad_flag("nothing to serve: give --scenario FILE");
    return -1;
}

/* --------------------------------------------------------------- http */

static enum MHD_Result respond(struct MHD_Connection *connection,
                               unsigned status, const char *content_type,
                               char *body, size_t len, bool owned)
{
    struct MHD_Response *response =
        owned ? MHD_create_response_from_buffer_with_free_callback(
                    len, body, jobq_free)
              : MHD_create_response_from_buffer(len, body,
                                                MHD_RESPMEM_PERSISTENT);
    if (!response) {
        if (owned)
            jobq_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return rc;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection,
                                    unsigned status, const char *text)
{
    return respond(connection, status, "text/plain; charset=utf-8",
                   (char *)text, strlen(text), false);
}

static enum MHD_Result serve_metrics(exporter *e,
                                     struct MHD_Connection *connection)
{
    char *text = NULL;
    size_t len = 0;
    pthread_rwlock_rdlock(&e->swap);
    int rc = jobq_metrics_render(e->current->sched, &text, &len);
    pthread_rwlock_unlock(&e->swap);
    if (rc != 0)
        return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                            "the metrics could not be rendered\n");
    return respond(connection, MHD_HTTP_OK, JOBQ_METRICS_CONTENT_TYPE, text,
                   len, true);
}

static enum MHD_Result handle_request(void *cls,
                                      struct MHD_Connection *connection,
                                      const char *url, const char *method,
                                      const char *version,
                                      const char *upload_data,
                                      size_t *upload_data_size, void **state)
{
    exporter *e = cls;
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0;
    if (!known)
        return respond_text(connection, MHD_HTTP_NOT_FOUND,
                            "not found: try /metrics or /healthz\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "method not allowed: use GET\n");
    if (strcmp(url, "/healthz") == 0)
        return respond_text(connection, MHD_HTTP_OK, "ok\n");
    return serve_metrics(e, connection);
}

/* An MHD_OPTION_SOCK_ADDR for --listen and --port; false if ADDR is not
 * an IPv4 or IPv6 address. */
static bool socket_address(const options *o, struct sockaddr_storage *addr,
                           bool *ipv6)
{
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, o->listen, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)o->port);
        *ipv6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, o->listen, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)o->port);
        *ipv6 = true;
        return true;
    }
    return false;
}

static struct MHD_Daemon *start_http(exporter *e)
{
    struct sockaddr_storage addr;
    bool ipv6;
    if (!socket_address(&e->opts, &addr, &ipv6))
        return NULL; /* parse_flag checked it */
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, e, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, 4u,
        MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_END);
    if (!d)
        fprintf(stderr, PROGRAM ": cannot listen on %s port %d: %s\n",
                e->opts.listen, e->opts.port,
                errno ? strerror(errno) : "libmicrohttpd refused");
    return d;
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

static void announce(const exporter *e, struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : (unsigned)e->opts.port;
    bool ipv6 = strchr(e->opts.listen, ':') != NULL;
    fprintf(stderr, PROGRAM ": serving http://%s%s%s:%u/metrics (scenario %s "
            "at %gx, %s at the end)\n", ipv6 ? "[" : "", e->opts.listen,
            ipv6 ? "]" : "", port, e->opts.scenario, e->opts.speed,
            e->opts.loop ? "looping" : "holding");
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

int main(int argc, char **argv)
{
    exporter e = {0};
    int status = parse_options(&e.opts, argc, argv);
    if (status >= 0)
        return status;
    e.scenario_text = sim_read_file(e.opts.scenario, &e.scenario_len);
    if (!e.scenario_text) {
        fprintf(stderr, PROGRAM ": cannot read %s: %s\n", e.opts.scenario,
                strerror(errno));
        return 1;
    }
    pthread_rwlock_init(&e.swap, NULL);
    status = 1;
    struct MHD_Daemon *daemon = NULL;
    if ((e.current = start_simulation(&e)) && (daemon = start_http(&e))) {
        install_signals();
        announce(&e, daemon);
        status = run(&e);
    }
    if (daemon)
        MHD_stop_daemon(daemon);
    end_simulation(e.current);
    pthread_rwlock_destroy(&e.swap);
    free(e.scenario_text);
    return status;
}
