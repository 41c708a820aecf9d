/*
 * jobq-console: the web console over a libjobq database file, for any
 * host (jobq-k8s-host serves the same console itself).
 *
 *   jobq-console --db FILE [--refresh-ms N] [--listen ADDR] [--port N]
 *                [--token-file FILE]
 *
 * It reads like jobq-exporter --store: jobq_open_read_only() takes no lock
 * and loads one consistent snapshot; every --refresh-ms the main thread
 * opens a new one and swaps it in (behind a rwlock, which a request holds
 * while it reads). A failed reopen keeps the last snapshot and /healthz
 * (and the page header) say so.
 *
 * Actions (cancel, set a property, migrate to legacy) go to an actions
 * handle; see actions_handle() for what this build can open.
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

#include "console.h"
#include "httpd.h"

#define PROGRAM "jobq-console"

typedef struct options {
    const char *db;
    const char *token_file;
    int refresh_ms;
    httpd_address addr;
} options;

typedef struct state {
    options opts;
    pthread_rwlock_t swap;
    jobq_scheduler *snapshot;
    bool stale;
    char stale_message[600];
} state;

static volatile sig_atomic_t stop_requested;

static void on_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fputs("usage: jobq-console --db FILE [options]\n"
          "\n"
          "The libjobq web console over a database file that a scheduler\n"
          "process writes (opened read-only: it never disturbs the writer).\n"
          "\n"
          "  --db FILE          the libjobq database\n"
          "  --refresh-ms N     re-read it every N ms (default 5000; 50 to\n"
          "                     600000)\n"
          "  --token-file FILE  the admin token (first line); without it the\n"
          "                     console is read-only\n"
          "  --listen ADDR      IPv4 or IPv6 address to bind (default\n"
          "                     127.0.0.1; 0.0.0.0 or :: for every address)\n"
          "  --port N           TCP port (default 8080; 0 picks a free one)\n"
          "  --help             show this help\n"
          "\n"
          "Pages: / (overview), /queue, /run/ID, /search, /events,\n"
          "/settings; the JSON API under /api/v1/ (see the README);\n"
          "GET /healthz.\n",
          out);
}

static int bad_flag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

static int parse_options(options *o, int argc, char **argv)
{
    *o = (options){.refresh_ms = 5000, .addr = HTTPD_ADDRESS_DEFAULT};
    o->addr.port = 8080;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(flag, "--db") && strcmp(flag, "--refresh-ms") &&
            strcmp(flag, "--token-file") && strcmp(flag, "--listen") &&
            strcmp(flag, "--port"))
            return bad_flag(flag[0] == '-' ? "unknown option %s"
                                           : "unexpected argument \"%s\"",
                            flag);
        if (i + 1 >= argc)
            return bad_flag("%s needs a value", flag);
        const char *value = argv[++i];
        int address = httpd_address_flag(&o->addr, PROGRAM, flag, value,
                                          false);
        if (address < 0)
            return 2;
        if (address)
            continue;
        if (strcmp(flag, "--db") == 0) {
            o->db = value;
        } else if (strcmp(flag, "--token-file") == 0) {
            o->token_file = value;
        } else {
            char *end = NULL;
            double v = strtod(value, &end);
            if (end == value || *end || !isfinite(v) || v < 50 ||
                v > 600000 || v != floor(v))
                return bad_flag("--refresh-ms: \"%s\" is not a whole number "
                                "in 50..600000", value);
            o->refresh_ms = (int)v;
        }
    }
    if (!o->db)
        return bad_flag("give the database: --db FILE");
    return -1;
}

/* ----------------------------------------------------------- snapshot */

static jobq_scheduler *open_snapshot(const char *db, char *err, size_t cap)
{
    struct stat sb;
    if (stat(db, &sb) == 0 && (!S_ISREG(sb.st_mode) || sb.st_size == 0)) {
        snprintf(err, cap, "%s: not a jobq database (%s)", db,
                 S_ISREG(sb.st_mode) ? "an empty file" : "not a file");
        return NULL;
    }
    jobq_scheduler *s = NULL;
    int rc = jobq_open_read_only(&s, db, err, cap);
    if (rc && !err[0])
        snprintf(err, cap, "%s: %s", db, jobq_strerror(rc));
    return rc ? NULL : s;
}

static jobq_scheduler *acquire(void *ctx)
{
    state *st = ctx;
    pthread_rwlock_rdlock(&st->swap);
    return st->snapshot;
}

static void release(void *ctx, jobq_scheduler *s)
{
    (void)s;
    state *st = ctx;
    pthread_rwlock_unlock(&st->swap);
}

static bool health(void *ctx, char *message, size_t cap)
{
    state *st = ctx;
    pthread_rwlock_rdlock(&st->swap);
    bool ok = !st->stale;
    if (!ok)
        snprintf(message, cap, "stale: the database could not be re-read "
                 "(%s); showing the last snapshot", st->stale_message);
    pthread_rwlock_unlock(&st->swap);
    return ok;
}

static void serve_healthz(void *ctx, const httpd_request *req,
                          httpd_response *res)
{
    (void)req;
    char message[700] = "ok";
    if (health(ctx, message, sizeof message))
        return httpd_text(res, 200, "ok\n");
    size_t n = strlen(message);
    char *text = malloc(n + 2);
    if (!text)
        return httpd_text(res, 503, "stale\n");
    memcpy(text, message, n);
    memcpy(text + n, "\n", 2);
    res->status = 503;
    res->content_type = "text/plain; charset=utf-8";
    res->body = text;
    res->len = n + 1;
}

static void sleep_ms(int ms)
{
    for (int left = ms; left > 0 && !stop_requested; left -= 100) {
        int slice = left < 100 ? left : 100;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void refresh_loop(state *st)
{
    while (!stop_requested) {
        sleep_ms(st->opts.refresh_ms);
        if (stop_requested)
            break;
        char err[600] = "";
        jobq_scheduler *fresh = open_snapshot(st->opts.db, err, sizeof err);
        pthread_rwlock_wrlock(&st->swap);
        jobq_scheduler *old = fresh ? st->snapshot : NULL;
        if (fresh)
            st->snapshot = fresh;
        if (!fresh && !st->stale)
            fprintf(stderr, PROGRAM ": cannot re-read the database: %s; "
                    "serving the last snapshot\n", err);
        else if (fresh && st->stale)
            fprintf(stderr, PROGRAM ": the database is readable again\n");
        st->stale = !fresh;
        snprintf(st->stale_message, sizeof st->stale_message, "%s", err);
        pthread_rwlock_unlock(&st->swap);
        jobq_close(old);
    }
}

/* ------------------------------------------------------------ actions */

/* The handle actions go to: a client handle of the live-control request
 * path (jobq_open_client), whose jobq_run_cancel, jobq_property_set and
 * jobq_migrate_to_legacy write durable requests that the scheduling
 * process applies at its next cycle, and wait for the outcome. A
 * read-only snapshot cannot act, and a read-write open would take the
 * scheduler's lock. If no client handle opens, the console is read-only
 * and says why. */
static jobq_scheduler *actions_handle(const options *o, char *why,
                                      size_t cap)
{
    jobq_client_opts copts = JOBQ_CLIENT_OPTS_INIT;
    copts.wait_timeout_ms = 10000;
    jobq_scheduler *client = NULL;
    char err[600] = "";
    int rc = jobq_open_client(&client, o->db, &copts, err, sizeof err);
    if (rc == 0)
        return client;
    snprintf(why, cap, "no client handle could be opened on %s (%s), so "
             "actions cannot reach the scheduler", o->db,
             err[0] ? err : jobq_strerror(rc));
    return NULL;
}

int main(int argc, char **argv)
{
    state st = {0};
    int status = parse_options(&st.opts, argc, argv);
    if (status >= 0)
        return status;
    char err[600] = "";
    char *token = NULL;
    if (st.opts.token_file &&
        !(token = console_read_token(st.opts.token_file, err, sizeof err))) {
        fprintf(stderr, PROGRAM ": %s\n", err);
        return 1;
    }
    if (!(st.snapshot = open_snapshot(st.opts.db, err, sizeof err))) {
        fprintf(stderr, PROGRAM ": cannot open the database: %s\n", err);
        free(token);
        return 1;
    }
    pthread_rwlock_init(&st.swap, NULL);
    char why[800] = "";
    jobq_scheduler *client = actions_handle(&st.opts, why, sizeof why);
    console_config cfg = {
        .acquire = acquire, .release = release, .ctx = &st,
        .actions = client, .read_only_reason = why,
        .token = token, .source = st.opts.db, .health = health,
        .health_ctx = &st};
    console *c = console_new(&cfg);
    httpd_route routes[40];
    size_t count = 0;
    routes[count++] = (httpd_route){"/healthz", false, HTTPD_GET, 0,
                                    serve_healthz, &st};
    httpd_server *server = NULL;
    status = 1;
    if (c && console_routes(c, routes, &count, 40) &&
        (server = httpd_start(&st.opts.addr, PROGRAM, routes, count))) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        char base[128];
        httpd_base_url(server, base, sizeof base);
        fprintf(stderr, PROGRAM ": serving %s/ (database %s, re-read every "
                "%d ms, %s)\n", base, st.opts.db, st.opts.refresh_ms,
                cfg.actions && token ? "actions need the admin token"
                                     : "read-only");
        refresh_loop(&st);
        status = 0;
    }
    httpd_stop(server);
    console_free(c);
    jobq_close(client);
    jobq_close(st.snapshot);
    pthread_rwlock_destroy(&st.swap);
    free(token);
    return status;
}
