/*
 * httpd: routes, method and body-size checks and JSON errors on top of
 * libmicrohttpd (see httpd.h). libmicrohttpd calls the access handler
 * several times per request: once with the headers (route, method and
 * Content-Length are checked then, so a refused upload is never read),
 * once per piece of the body, and once more with nothing, when the
 * handler proper runs.
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct httpd_server {
    struct MHD_Daemon *daemon;
    httpd_route *routes;
    size_t count;
    char listen[64];
    unsigned port;
};

/* Per request, between the calls of the access handler. */
typedef struct request_state {
    const httpd_route *route;
    char *body;
    size_t len;
    bool refused; /* a response was queued before the body was read */
} request_state;

/* ---------------------------------------------------------- responses */

void httpd_text(httpd_response *res, unsigned status, const char *text)
{
    httpd_static(res, status, "text/plain; charset=utf-8", text,
                 strlen(text));
}

void httpd_static(httpd_response *res, unsigned status,
                  const char *content_type, const char *body, size_t len)
{
    res->status = status;
    res->content_type = content_type;
    res->body = (char *)body;
    res->len = len;
    res->body_static = true;
}

void httpd_json(httpd_response *res, unsigned status, char *json)
{
    res->status = status;
    res->content_type = "application/json";
    res->body = json;
    res->len = json ? strlen(json) : 0;
    res->body_static = false;
}

void httpd_error(httpd_response *res, unsigned status, const char *field,
                 const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    cJSON_AddNumberToObject(o, "status", status);
    if (field)
        cJSON_AddStringToObject(o, "field", field);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) {
        httpd_text(res, status, "{\"error\":\"out of memory\"}");
        res->content_type = "application/json";
        return;
    }
    httpd_json(res, status, text);
}

static const char *allow_header(unsigned methods)
{
    static const char *const names[16] = {
        "", "GET, HEAD", "POST", "GET, HEAD, POST", "PUT", "GET, HEAD, PUT",
        "POST, PUT", "GET, HEAD, POST, PUT", "DELETE", "GET, HEAD, DELETE",
        "POST, DELETE", "GET, HEAD, POST, DELETE", "PUT, DELETE",
        "GET, HEAD, PUT, DELETE", "POST, PUT, DELETE",
        "GET, HEAD, POST, PUT, DELETE"};
    return names[methods & 15u];
}

static enum MHD_Result send_response(struct MHD_Connection *connection,
                                     httpd_response *res, unsigned methods)
{
    struct MHD_Response *response;
    if (res->body_static || !res->body)
        response = MHD_create_response_from_buffer(
            res->len, res->body ? res->body : (char *)"",
            MHD_RESPMEM_PERSISTENT);
    else
        response = MHD_create_response_from_buffer_with_free_callback(
            res->len, res->body, res->free_body ? res->free_body : free);
    if (!response) {
        if (!res->body_static && res->body)
            (res->free_body ? res->free_body : free)(res->body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            res->content_type ? res->content_type
                                              : "text/plain; charset=utf-8");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            res->cache_control ? res->cache_control
                                               : "no-store");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    /* Pages load only from this server (the console is offline by design)
     * and are never framed by another site (no clickjacking of the
     * console's buttons). */
    MHD_add_response_header(response, "X-Frame-Options", "DENY");
    if (res->content_type && strncmp(res->content_type, "text/html", 9) == 0)
        MHD_add_response_header(
            response, "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
    if (res->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW,
                                allow_header(methods));
    enum MHD_Result rc = MHD_queue_response(connection, res->status,
                                            response);
    MHD_destroy_response(response);
    return rc;
}

/* ------------------------------------------------------------ routing */

static unsigned method_bit(const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
        strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return HTTPD_GET;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return HTTPD_POST;
    if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
        return HTTPD_PUT;
    if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
        return HTTPD_DELETE;
    return 0;
}

static const httpd_route *find_route(const httpd_server *server,
                                     const char *url)
{
    for (size_t i = 0; i < server->count; i++) {
        const httpd_route *r = &server->routes[i];
        if (r->prefix ? strncmp(url, r->path, strlen(r->path)) == 0
                      : strcmp(url, r->path) == 0)
            return r;
    }
    return NULL;
}

const char *httpd_query(const httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection,
                                       MHD_GET_ARGUMENT_KIND, name);
}

const char *httpd_header(const httpd_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND,
                                       name);
}

/* Answer at once, before any body is read. */
static enum MHD_Result refuse(struct MHD_Connection *connection,
                              unsigned methods, unsigned status,
                              const char *message)
{
    httpd_response res = {0};
    httpd_error(&res, status, NULL, "%s", message);
    return send_response(connection, &res, methods);
}

/* The headers: route, method and announced size. */
static enum MHD_Result begin(const httpd_server *server,
                             struct MHD_Connection *connection,
                             const char *url, const char *method,
                             void **state)
{
    const httpd_route *route = find_route(server, url);
    if (!route)
        return refuse(connection, 0, MHD_HTTP_NOT_FOUND, "not found");
    if (!(method_bit(method) & route->methods))
        return refuse(connection, route->methods,
                      MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    const char *length = MHD_lookup_connection_value(
        connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > route->max_body)
        return refuse(connection, route->methods,
                      413, route->max_body
                               ? "request body too large"
                               : "this endpoint takes no request body");
    request_state *rs = calloc(1, sizeof *rs);
    if (!rs)
        return MHD_NO;
    rs->route = route;
    *state = rs;
    return MHD_YES;
}

static enum MHD_Result handle_request(void *cls,
                                      struct MHD_Connection *connection,
                                      const char *url, const char *method,
                                      const char *version,
                                      const char *upload_data,
                                      size_t *upload_data_size, void **state)
{
    (void)version;
    const httpd_server *server = cls;
    request_state *rs = *state;
    if (!rs)
        return begin(server, connection, url, method, state);
    const httpd_route *route = rs->route;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rs->refused)
            return MHD_YES;
        if (n > route->max_body || rs->len > route->max_body - n) {
            /* Chunked, without a Content-Length: libmicrohttpd cannot
             * answer in the middle of an upload, so the rest is read and
             * dropped (the connection timeout bounds it) and the 413 goes
             * out at the end. */
            rs->refused = true;
            return MHD_YES;
        }
        char *grown = realloc(rs->body, rs->len + n + 1);
        if (!grown)
            return MHD_NO;
        memcpy(grown + rs->len, upload_data, n);
        rs->body = grown;
        rs->len += n;
        rs->body[rs->len] = '\0';
        return MHD_YES;
    }
    if (rs->refused)
        return refuse(connection, route->methods, 413,
                      "request body too large");
    httpd_request req = {
        .method = method_bit(method) == HTTPD_GET ? MHD_HTTP_METHOD_GET
                                                  : method,
        .path = url,
        .rest = url + (route->prefix ? strlen(route->path) : strlen(url)),
        .body = rs->body ? rs->body : "",
        .body_len = rs->len,
        .connection = connection,
    };
    httpd_response res = {0};
    route->handler(route->ctx, &req, &res);
    if (!res.status)
        httpd_error(&res, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                    "the handler gave no answer");
    return send_response(connection, &res, route->methods);
}

static void request_done(void *cls, struct MHD_Connection *connection,
                         void **state, enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)connection, (void)code;
    request_state *rs = *state;
    if (rs) {
        free(rs->body);
        free(rs);
        *state = NULL;
    }
}

/* -------------------------------------------------------------- flags */

int httpd_address_flag(httpd_address *addr, const char *program,
                       const char *flag, const char *value, bool allow_off)
{
    if (strcmp(flag, "--listen") == 0) {
        struct in6_addr buf;
        if (inet_pton(AF_INET, value, &buf) != 1 &&
            inet_pton(AF_INET6, value, &buf) != 1) {
            fprintf(stderr, "%s: --listen: \"%s\" is not an IPv4 or IPv6 "
                    "address\n(try %s --help)\n", program, value, program);
            return -1;
        }
        addr->listen = value;
        return 1;
    }
    if (strcmp(flag, "--port") != 0)
        return 0;
    if (allow_off && strcmp(value, "off") == 0) {
        addr->off = true;
        return 1;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end || !isfinite(v) || v < 0 ||
        v > 65535) {
        fprintf(stderr, "%s: --port: \"%s\" is not a number in 0..65535%s\n"
                "(try %s --help)\n", program, value,
                allow_off ? " or off" : "", program);
        return -1;
    }
    if (v != floor(v)) {
        fprintf(stderr, "%s: --port: \"%s\" is not a whole number\n"
                "(try %s --help)\n", program, value, program);
        return -1;
    }
    addr->port = (int)v;
    addr->off = false;
    return 1;
}

/* ------------------------------------------------------------- server */

static bool socket_address(const httpd_address *a,
                           struct sockaddr_storage *addr, bool *ipv6)
{
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, a->listen, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)a->port);
        *ipv6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, a->listen, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)a->port);
        *ipv6 = true;
        return true;
    }
    return false;
}

httpd_server *httpd_start(const httpd_address *a, const char *program,
                          const httpd_route *routes, size_t count)
{
    struct sockaddr_storage addr;
    bool ipv6;
    if (!socket_address(a, &addr, &ipv6)) {
        fprintf(stderr, "%s: cannot listen on %s: not an address\n", program,
                a->listen);
        return NULL;
    }
    httpd_server *server = calloc(1, sizeof *server);
    if (server)
        server->routes = malloc(count * sizeof *routes);
    if (!server || !server->routes) {
        free(server);
        fprintf(stderr, "%s: out of memory\n", program);
        return NULL;
    }
    memcpy(server->routes, routes, count * sizeof *routes);
    server->count = count;
    snprintf(server->listen, sizeof server->listen, "%s", a->listen);
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    errno = 0;
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle_request, server, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, 4u,
        MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
    if (!server->daemon) {
        fprintf(stderr, "%s: cannot listen on %s port %d: %s\n", program,
                a->listen, a->port,
                errno ? strerror(errno) : "libmicrohttpd refused");
        free(server->routes);
        free(server);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : (unsigned)a->port;
    return server;
}

unsigned httpd_port(const httpd_server *server)
{
    return server->port;
}

void httpd_base_url(const httpd_server *server, char *buf, size_t cap)
{
    bool ipv6 = strchr(server->listen, ':') != NULL;
    snprintf(buf, cap, "http://%s%s%s:%u", ipv6 ? "[" : "", server->listen,
             ipv6 ? "]" : "", server->port);
}

void httpd_stop(httpd_server *server)
{
    if (!server)
        return;
    MHD_stop_daemon(server->daemon);
    free(server->routes);
    free(server);
}

bool httpd_secret_equal(const char *given, const char *expected)
{
    size_t n = strlen(given), m = strlen(expected);
    /* Every byte of `expected` is looked at whatever `given` holds. */
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)(expected[i] ^ (i < n ? given[i] : 0));
    return diff == 0;
}
