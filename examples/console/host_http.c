/*
 * jobq-k8s-host's HTTP endpoints (host_http.h): the metrics come from the
 * very handle that schedules, so the counters and histograms that a
 * read-only store cannot show (runs by outcome, waits, head timeouts,
 * cycle durations) are all there, and the quota gauges too.
 */
#include "host_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"

struct host_http {
    jobq_scheduler *sched;
    host_http_options opts;
    char *token;
    jobq_scheduler *client; /* the actions handle, when one could open */
    console *console;
    httpd_server *server;
};

bool host_http_flag(host_http_options *o, const char *flag,
                    const char *value)
{
    char dashed[32];
    if (strncmp(flag, "--", 2) != 0) {
        snprintf(dashed, sizeof dashed, "--%s", flag);
        flag = dashed;
    }
    if (strcmp(flag, "--token-file") == 0) {
        o->token_file = value;
        return true;
    }
    o->addr_given = true;
    return httpd_address_flag(&o->addr, "jobq-k8s-host", flag, value, true) ==
           1;
}

static jobq_scheduler *acquire(void *ctx)
{
    return ((host_http *)ctx)->sched;
}

static bool health(void *ctx, char *message, size_t cap)
{
    host_http *h = ctx;
    if (!h->opts.health) {
        snprintf(message, cap, "ok");
        return true;
    }
    return h->opts.health(h->opts.health_ctx, message, cap);
}

static void serve_metrics(void *ctx, const httpd_request *req,
                          httpd_response *res)
{
    (void)req;
    host_http *h = ctx;
    char *text = NULL;
    size_t len = 0;
    if (jobq_metrics_render(h->sched, &text, &len) != 0)
        return httpd_text(res, 503, "the metrics could not be rendered\n");
    res->status = 200;
    res->content_type = JOBQ_METRICS_CONTENT_TYPE;
    res->body = text;
    res->len = len;
    res->free_body = jobq_free;
}

static void serve_healthz(void *ctx, const httpd_request *req,
                          httpd_response *res)
{
    (void)req;
    char message[512] = "ok";
    bool ok = health(ctx, message, sizeof message);
    size_t n = strlen(message);
    char *text = malloc(n + 2);
    if (!text)
        return httpd_text(res, ok ? 200 : 503, ok ? "ok\n" : "unhealthy\n");
    memcpy(text, message, n);
    memcpy(text + n, "\n", 2);
    res->status = ok ? 200 : 503;
    res->content_type = "text/plain; charset=utf-8";
    res->body = text;
    res->len = n + 1;
}

host_http *host_http_start(const host_http_options *o, jobq_scheduler *s,
                           const char *db, bool *failed)
{
    *failed = false;
    if (o->addr.off)
        return NULL;
    *failed = true;
    host_http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->sched = s;
    h->opts = *o;
    char err[600] = "";
    if (o->token_file && !(h->token = console_read_token(o->token_file, err,
                                                         sizeof err))) {
        fprintf(stderr, "jobq-k8s-host: %s\n", err);
        free(h);
        return NULL;
    }
    /* Actions go through the live-control request path: a client handle
     * on the host's database writes each one as a request that the next
     * cycle applies, the same path jobqctl and other processes take.
     * Without a database (nothing to meet in), or if this libjobq cannot
     * open a client, they go to the host's own handle: the same public
     * calls, applied at once under the scheduler's lock. */
    jobq_scheduler *actions = s;
    if (db) {
        jobq_client_opts copts = JOBQ_CLIENT_OPTS_INIT;
        copts.wait_timeout_ms = 10000;
        int rc = jobq_open_client(&h->client, db, &copts, err, sizeof err);
        if (rc == 0)
            actions = h->client;
        else
            fprintf(stderr, "jobq-k8s-host: console actions use the "
                    "scheduler's own handle (no client handle on %s: %s)\n",
                    db, err[0] ? err : jobq_strerror(rc));
    }
    console_config cfg = {.acquire = acquire, .ctx = h, .actions = actions,
                          .token = h->token,
                          .source = db ? db : "jobq-k8s-host (in memory)",
                          .health = health, .health_ctx = h};
    httpd_route routes[40];
    size_t count = 0;
    routes[count++] = (httpd_route){"/metrics", false, HTTPD_GET, 0,
                                    serve_metrics, h};
    routes[count++] = (httpd_route){"/healthz", false, HTTPD_GET, 0,
                                    serve_healthz, h};
    if (!(h->console = console_new(&cfg)) ||
        !console_routes(h->console, routes, &count, 40) ||
        !(h->server = httpd_start(&o->addr, "jobq-k8s-host", routes,
                                  count))) {
        host_http_stop(h);
        if (!o->addr_given) {
            fprintf(stderr, "jobq-k8s-host: warning: no /metrics, /healthz "
                    "or console: %s port %d cannot be bound (see above); "
                    "scheduling anyway (give --port N, or --port off)\n",
                    o->addr.listen, o->addr.port);
            *failed = false;
        }
        return NULL;
    }
    char base[128];
    httpd_base_url(h->server, base, sizeof base);
    fprintf(stderr, "jobq-k8s-host: serving %s/metrics, /healthz and the "
            "console at %s/ (%s)\n", base, base,
            h->token ? "actions need the admin token" : "read-only");
    *failed = false;
    return h;
}

void host_http_stop(host_http *h)
{
    if (!h)
        return;
    httpd_stop(h->server);
    console_free(h->console);
    jobq_close(h->client);
    free(h->token);
    free(h);
}
