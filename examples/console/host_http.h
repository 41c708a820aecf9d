/*
 * The HTTP side of jobq-k8s-host: /metrics (every SPEC section 5 family,
 * rendered from the live scheduler), /healthz and the web console, on
 * 127.0.0.1:8000 by default. main.c only parses the flags through
 * host_http_flag(), starts it after the scheduler is open and stops it
 * before closing the scheduler.
 */
#ifndef JOBQ_EXAMPLES_HOST_HTTP_H
#define JOBQ_EXAMPLES_HOST_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "httpd.h"
#include "jobq/jobq.h"

/* The flags' part of --help. */
#define HOST_HTTP_USAGE                                                        \
    "HTTP (metrics, health and the web console):\n"                            \
    "  --listen ADDR           address to bind (default 127.0.0.1; 0.0.0.0\n"  \
    "                          or :: for every address)\n"                     \
    "  --port N|off            TCP port of /metrics, /healthz and the\n"       \
    "                          console (default 8000; 0 picks a free one;\n"   \
    "                          off serves nothing)\n"                          \
    "  --token-file FILE       admin token for the console's actions\n"        \
    "                          (cancel, set property, migrate); without it\n"  \
    "                          the console is read-only\n"                     \
    "\n"

/* Health of the host for /healthz and the console: true when healthy,
 * else false with a message. The hook the host's own health state plugs
 * into; without one the host reports ok. */
typedef bool (*host_http_health_fn)(void *ctx, char *message, size_t cap);

typedef struct host_http_options {
    httpd_address addr;
    bool addr_given; /* --listen or --port given: failing to bind is fatal */
    const char *token_file;
    host_http_health_fn health; /* NULL: always ok */
    void *health_ctx;
} host_http_options;

#define HOST_HTTP_OPTIONS_DEFAULT {HTTPD_ADDRESS_DEFAULT, false, NULL, NULL, NULL}

/* One of --listen, --port, --token-file (flag without the dashes or
 * with); false after a message on stderr. */
bool host_http_flag(host_http_options *o, const char *flag,
                    const char *value);

typedef struct host_http host_http;

/* Start serving (NULL with --port off, which is not an error: *failed
 * tells). If the default address cannot be bound (another process has
 * port 8000), the host schedules anyway with a warning: scheduling does
 * not depend on being watched. With --listen or --port given, it is an
 * error. `s` is the scheduler the host ticks; `db` its database (NULL
 * without one). Logs the address to stderr. */
host_http *host_http_start(const host_http_options *o, jobq_scheduler *s,
                           const char *db, bool *failed);
void host_http_stop(host_http *h);

#endif
