/*
 * httpd: the one HTTP serving module of the example programs
 * (jobq-exporter, jobq-k8s-host, jobq-console), on libmicrohttpd.
 *
 * A server is a table of routes. Each route names a path (exact, or a
 * prefix ending in '/'), the methods it accepts and how large a request
 * body may be; the module answers everything else itself, with JSON
 * bodies so that a client of the JSON API never has to parse two formats:
 *   - no route for the path: 404 {"error": ...}
 *   - a method the route does not accept: 405 with an Allow header
 *   - a body over the route's limit: 413 (also when Content-Length
 *     announces it, before any of it is read)
 * HEAD is answered like GET without the body when the route takes GET.
 * Handlers run on libmicrohttpd's threads (a pool of 4) and must be
 * thread-safe.
 *
 * The --listen ADDR and --port N flags are parsed here too, so every
 * program spells and checks them the same way.
 */
#ifndef JOBQ_EXAMPLES_HTTPD_H
#define JOBQ_EXAMPLES_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

/* One request, as a handler sees it. Everything is borrowed for the
 * duration of the handler call. */
typedef struct httpd_request {
    const char *method; /* "GET" (also for HEAD), "POST", ... */
    const char *path;   /* without the query string */
    const char *rest;   /* for a prefix route: the path after the prefix */
    const char *body;   /* NUL-terminated; "" when none */
    size_t body_len;
    struct MHD_Connection *connection;
} httpd_request;

/* A query-string argument, or NULL. */
const char *httpd_query(const httpd_request *req, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *httpd_header(const httpd_request *req, const char *name);

/* What a handler fills in. `body` is malloc'd and freed by the module
 * (or a static string with `body_static`). */
typedef struct httpd_response {
    unsigned status;
    const char *content_type;
    char *body;
    size_t len;
    bool body_static;
    void (*free_body)(void *); /* NULL: free() */
    const char *cache_control; /* NULL: no-store */
} httpd_response;

/* Response helpers: each sets status, type and body. */
void httpd_text(httpd_response *res, unsigned status, const char *text);
void httpd_static(httpd_response *res, unsigned status,
                  const char *content_type, const char *body, size_t len);
/* Takes ownership of `json` (malloc'd). */
void httpd_json(httpd_response *res, unsigned status, char *json);
/* {"error": message, "status": status[, "field": field]} */
void httpd_error(httpd_response *res, unsigned status, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

typedef void (*httpd_handler)(void *ctx, const httpd_request *req,
                              httpd_response *res);

#define HTTPD_GET 1u
#define HTTPD_POST 2u
#define HTTPD_PUT 4u
#define HTTPD_DELETE 8u

typedef struct httpd_route {
    const char *path;   /* "/metrics", or a prefix "/api/v1/runs/" */
    bool prefix;
    unsigned methods;   /* HTTPD_GET | HTTPD_POST ... */
    size_t max_body;    /* bytes; 0: no body allowed */
    httpd_handler handler;
    void *ctx;
} httpd_route;

/* Where to listen: --listen and --port. */
typedef struct httpd_address {
    const char *listen; /* default 127.0.0.1 */
    int port;           /* default 8000; 0 picks a free port */
    bool off;           /* --port off (only where allowed) */
} httpd_address;

#define HTTPD_ADDRESS_DEFAULT {"127.0.0.1", 8000, false}

/* Parse one flag's value into *addr: returns 1 if `flag` is --listen or
 * --port (and the value was good), 0 if the flag is not ours, -1 after
 * printing "PROGRAM: message" to stderr for a bad value. With allow_off,
 * --port off turns the server off. */
int httpd_address_flag(httpd_address *addr, const char *program,
                       const char *flag, const char *value, bool allow_off);

typedef struct httpd_server httpd_server;

/* Start serving `routes` (copied; `count` entries) on addr. NULL after
 * printing "PROGRAM: cannot listen on ...: reason" to stderr. */
httpd_server *httpd_start(const httpd_address *addr, const char *program,
                          const httpd_route *routes, size_t count);
/* The port actually bound (for --port 0). */
unsigned httpd_port(const httpd_server *server);
/* "http://127.0.0.1:8000" or "http://[::1]:8000" into buf. */
void httpd_base_url(const httpd_server *server, char *buf, size_t cap);
void httpd_stop(httpd_server *server);

/* The constant-time comparison a token check needs: true if equal. The
 * time taken depends on the lengths only. */
bool httpd_secret_equal(const char *given, const char *expected);

#endif
