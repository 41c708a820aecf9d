/*
 * The console: its routes, the pages and static files (embedded at build
 * time, see embed_assets.py), the admin-token check and the actions.
 * The read API is in console_api.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_internal.h"

#define ACTION_BODY_MAX 4096

/* ------------------------------------------------------------ helpers */

double console_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int64_t console_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A run id: 1 to 2^63-1, plain decimal digits, nothing else. */
bool console_parse_id(const char *text, jobq_run_id *out)
{
    size_t n = strlen(text);
    if (n == 0 || n > 19 || text[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)text[i]))
            return false;
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno || v > INT64_MAX)
        return false;
    *out = (jobq_run_id)v;
    return true;
}

void console_reply(httpd_response *res, unsigned status, cJSON *doc)
{
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return httpd_error(res, 503, NULL, "out of memory");
    httpd_json(res, status, text);
    res->free_body = cJSON_free;
}

/* A library failure as an HTTP answer: what the caller got wrong is 4xx
 * (with the library's message, which names the key path), what went wrong
 * here is 503 (the database could not be read: try again). */
void console_fail(httpd_response *res, jobq_scheduler *s, int rc,
                  const char *field, const char *what)
{
    char message[600] = "";
    if (s)
        jobq_errmsg(s, message, sizeof message);
    if (!message[0])
        snprintf(message, sizeof message, "%s", jobq_strerror(rc));
    if (rc == JOBQ_ETIMEDOUT) {
        /* A client handle's request is durable but no scheduler applied
         * it within the wait: accepted, not done. */
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddBoolToObject(doc, "pending", true);
        cJSON_AddStringToObject(doc, "message", message);
        console_reply(res, 202, doc);
        return;
    }
    unsigned status;
    switch (rc) {
    case JOBQ_EINVAL:
    case JOBQ_ERANGE:
    case JOBQ_EPARSE: status = 400; break;
    case JOBQ_ENOTFOUND: status = 404; break;
    case JOBQ_ESTATE:
    case JOBQ_EEXISTS: status = 409; break;
    default: status = 503; break;
    }
    if (status == 400 || status == 404)
        httpd_error(res, status, field, "%s", message); /* names the key */
    else
        httpd_error(res, status, field, "%s: %s", what, message);
}

/* ------------------------------------------------------- token, bodies */

/* false after answering: no actions handle (403), no token configured
 * (403), none or a wrong one sent (401). */
static bool authorized(console *c, const httpd_request *req,
                       httpd_response *res)
{
    if (!c->cfg.actions || !c->cfg.token) {
        httpd_error(res, 403, NULL, "this console is read-only: %s",
                    !c->cfg.actions
                        ? (c->cfg.read_only_reason ? c->cfg.read_only_reason
                                                   : "no actions handle")
                        : "no admin token is configured (--token-file)");
        return false;
    }
    const char *given = httpd_header(req, "X-Jobq-Token");
    const char *auth = httpd_header(req, "Authorization");
    if (!given && auth && strncmp(auth, "Bearer ", 7) == 0)
        given = auth + 7;
    if (!given || !given[0]) {
        httpd_error(res, 401, NULL, "an admin token is required: send it as "
                    "\"Authorization: Bearer TOKEN\" or \"X-Jobq-Token: "
                    "TOKEN\"");
        return false;
    }
    if (!httpd_secret_equal(given, c->cfg.token)) {
        httpd_error(res, 401, NULL, "the admin token is wrong");
        return false;
    }
    return true;
}

/* The request body as a JSON object whose members are all in `known`;
 * an empty body is {}. NULL after a 400 naming the problem. */
static cJSON *body_object(const httpd_request *req, httpd_response *res,
                          const char *const *known)
{
    const char *p = req->body;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p)
        return cJSON_CreateObject();
    if (strlen(req->body) != req->body_len) {
        httpd_error(res, 400, NULL, "the request body contains a NUL byte");
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(req->body, &end, true);
    if (!doc) {
        httpd_error(res, 400, NULL, "the request body is not valid JSON "
                    "(near byte %td)", end ? end - req->body : (ptrdiff_t)0);
        return NULL;
    }
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        httpd_error(res, 400, NULL, "the request body must be a JSON object");
        return NULL;
    }
    const cJSON *member;
    cJSON_ArrayForEach(member, doc)
    {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, member->string) == 0;
        if (!ok) {
            httpd_error(res, 400, member->string, "unknown field \"%.80s\"",
                        member->string);
            cJSON_Delete(doc);
            return NULL;
        }
    }
    return doc;
}

/* ------------------------------------------------------------- actions */

/* POST /api/v1/runs/ID/cancel {"detail": "why"} */
static void cancel_run(console *c, jobq_run_id id, const httpd_request *req,
                       httpd_response *res)
{
    static const char *const known[] = {"detail", NULL};
    if (!authorized(c, req, res))
        return;
    cJSON *body = body_object(req, res, known);
    if (!body)
        return;
    const cJSON *detail = cJSON_GetObjectItem(body, "detail");
    if (detail && !cJSON_IsString(detail)) {
        cJSON_Delete(body);
        return httpd_error(res, 400, "detail", "detail: must be a string");
    }
    if (detail && strlen(detail->valuestring) > 500) {
        cJSON_Delete(body);
        return httpd_error(res, 400, "detail", "detail: at most 500 bytes");
    }
    const char *why = detail && detail->valuestring[0]
                          ? detail->valuestring
                          : "cancelled from the web console";
    int rc = jobq_run_cancel(c->cfg.actions, id, why);
    cJSON_Delete(body);
    if (rc)
        return console_fail(res, c->cfg.actions, rc, "id", "cancel");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "run", (double)id);
    cJSON_AddStringToObject(doc, "state", "cancelled");
    console_reply(res, 200, doc);
}

/* /api/v1/runs/ID (GET, handled by console_api_run) and
 * /api/v1/runs/ID/cancel (POST). */
static void runs_prefix(void *ctx, const httpd_request *req,
                        httpd_response *res)
{
    console *c = ctx;
    const char *slash = strchr(req->rest, '/');
    if (!slash) {
        if (strcmp(req->method, "GET") != 0)
            return httpd_error(res, 405, NULL, "method not allowed: GET "
                               "a run, POST to /api/v1/runs/ID/cancel");
        return console_api_run(ctx, req, res);
    }
    char text[32];
    size_t n = (size_t)(slash - req->rest);
    jobq_run_id id;
    if (n >= sizeof text)
        n = sizeof text - 1;
    memcpy(text, req->rest, n);
    text[n] = '\0';
    if (strcmp(slash, "/cancel") != 0)
        return httpd_error(res, 404, NULL, "not found: the only run action "
                           "is /api/v1/runs/ID/cancel");
    if (strcmp(req->method, "POST") != 0)
        return httpd_error(res, 405, NULL, "method not allowed: POST to "
                           "cancel");
    if (!console_parse_id(text, &id))
        return httpd_error(res, 400, "id", "\"%s\" is not a run id (a whole "
                           "number from 1)", text);
    cancel_run(c, id, req, res);
}

/* PUT (or POST) /api/v1/properties/KEY {"value": JSON} */
static void set_property(void *ctx, const httpd_request *req,
                         httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {"value", NULL};
    const char *key = req->rest;
    if (!key[0] || strlen(key) > 200)
        return httpd_error(res, 400, "key", "give the property's key: "
                           "/api/v1/properties/KEY");
    if (strcmp(req->method, "GET") == 0) {
        jobq_scheduler *s = c->cfg.acquire(c->cfg.ctx);
        char value[4096];
        int rc = jobq_property_get(s, key, value, sizeof value);
        if (rc) {
            console_fail(res, s, rc, key, "property");
            if (c->cfg.release)
                c->cfg.release(c->cfg.ctx, s);
            return;
        }
        if (c->cfg.release)
            c->cfg.release(c->cfg.ctx, s);
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "key", key);
        cJSON *v = cJSON_Parse(value);
        cJSON_AddItemToObject(doc, "value", v ? v : cJSON_CreateNull());
        return console_reply(res, 200, doc);
    }
    if (!authorized(c, req, res))
        return;
    cJSON *body = body_object(req, res, known);
    if (!body)
        return;
    cJSON *value = cJSON_GetObjectItem(body, "value");
    if (!value) {
        cJSON_Delete(body);
        return httpd_error(res, 400, "value", "value: missing (send "
                           "{\"value\": 90})");
    }
    char *text = cJSON_PrintUnformatted(value);
    cJSON_Delete(body);
    if (!text)
        return httpd_error(res, 503, NULL, "out of memory");
    int rc = jobq_property_set(c->cfg.actions, key, text);
    if (rc) {
        cJSON_free(text);
        return console_fail(res, c->cfg.actions, rc, key, "property");
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "key", key);
    cJSON_AddItemToObject(doc, "value", cJSON_Parse(text));
    cJSON_free(text);
    console_reply(res, 200, doc);
}

/* POST /api/v1/migrate-to-legacy {"confirm": true} */
static void migrate(void *ctx, const httpd_request *req, httpd_response *res)
{
    console *c = ctx;
    static const char *const known[] = {"confirm", NULL};
    if (!authorized(c, req, res))
        return;
    cJSON *body = body_object(req, res, known);
    if (!body)
        return;
    bool confirmed = cJSON_IsTrue(cJSON_GetObjectItem(body, "confirm"));
    cJSON_Delete(body);
    if (!confirmed)
        return httpd_error(res, 400, "confirm", "confirm: send "
                           "{\"confirm\": true}: every job switches to the "
                           "legacy flow and every queued run is deployed");
    uint64_t moved = 0;
    int rc = jobq_migrate_to_legacy(c->cfg.actions, &moved);
    if (rc)
        return console_fail(res, c->cfg.actions, rc, NULL, "migrate");
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "moved", (double)moved);
    console_reply(res, 200, doc);
}

/* -------------------------------------------------------------- pages */

static const console_asset *asset(const char *path)
{
    for (size_t i = 0; i < console_asset_count; i++)
        if (strcmp(console_assets[i].path, path) == 0)
            return &console_assets[i];
    return NULL;
}

static void static_file(void *ctx, const httpd_request *req,
                        httpd_response *res)
{
    (void)ctx;
    const console_asset *a = asset(req->path);
    if (!a)
        return httpd_error(res, 404, NULL, "not found");
    httpd_static(res, 200, a->content_type, (const char *)a->data, a->len);
    res->cache_control = "no-cache";
}

/* Every page is the same document; app.js renders the one the path
 * names. A run page for a run that does not exist is a 404 (the page
 * still renders, saying so). */
static void page(void *ctx, const httpd_request *req, httpd_response *res)
{
    console *c = ctx;
    const console_asset *index = asset("index.html");
    unsigned status = 200;
    if (strncmp(req->path, "/run/", 5) == 0) {
        jobq_run_id id;
        jobq_run_info info;
        jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
        if (!console_parse_id(req->path + 5, &id)) {
            status = 404;
        } else {
            jobq_scheduler *s = c->cfg.acquire(c->cfg.ctx);
            if (jobq_run_get(s, &info, id) == JOBQ_ENOTFOUND)
                status = 404;
            if (c->cfg.release)
                c->cfg.release(c->cfg.ctx, s);
        }
    }
    httpd_static(res, status, "text/html; charset=utf-8",
                 (const char *)index->data, index->len);
}

/* ---------------------------------------------------------- the module */

console *console_new(const console_config *config)
{
    console *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = *config;
    return c;
}

void console_free(console *c)
{
    if (!c)
        return;
    free(c);
}

bool console_routes(console *c, httpd_route *routes, size_t *count,
                    size_t cap)
{
    const httpd_route mine[] = {
        {"/", false, HTTPD_GET, 0, page, c},
        {"/queue", false, HTTPD_GET, 0, page, c},
        {"/run/", true, HTTPD_GET, 0, page, c},
        {"/search", false, HTTPD_GET, 0, page, c},
        {"/events", false, HTTPD_GET, 0, page, c},
        {"/settings", false, HTTPD_GET, 0, page, c},
        {"/static/", true, HTTPD_GET, 0, static_file, c},
        {"/api/v1/overview", false, HTTPD_GET, 0, console_api_overview, c},
        {"/api/v1/queues", false, HTTPD_GET, 0, console_api_overview, c},
        {"/api/v1/runs", false, HTTPD_GET, 0, console_api_runs, c},
        {"/api/v1/runs/", true, HTTPD_GET | HTTPD_POST, ACTION_BODY_MAX,
         runs_prefix, c},
        {"/api/v1/search", false, HTTPD_GET, 0, console_api_search, c},
        {"/api/v1/events", false, HTTPD_GET, 0, console_api_events, c},
        {"/api/v1/properties", false, HTTPD_GET, 0, console_api_properties,
         c},
        {"/api/v1/properties/", true, HTTPD_GET | HTTPD_PUT | HTTPD_POST,
         ACTION_BODY_MAX, set_property, c},
        {"/api/v1/migrate-to-legacy", false, HTTPD_POST, ACTION_BODY_MAX,
         migrate, c},
        {"/api/v1/session", false, HTTPD_GET, 0, console_api_session, c},
    };
    size_t n = sizeof mine / sizeof *mine;
    if (*count + n > cap)
        return false;
    memcpy(routes + *count, mine, sizeof mine);
    *count += n;
    return true;
}

char *console_read_token(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "cannot read the token file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    char line[1024];
    char *token = NULL;
    if (fgets(line, sizeof line, f)) {
        char *start = line;
        while (*start && isspace((unsigned char)*start))
            start++;
        size_t n = strlen(start);
        while (n && isspace((unsigned char)start[n - 1]))
            start[--n] = '\0';
        if (n >= 16)
            token = strdup(start);
        else
            snprintf(err, cap, "the token in %s is %s: use at least 16 "
                     "characters (e.g. head -c 24 /dev/urandom | base64)",
                     path, n ? "too short" : "empty");
    } else {
        snprintf(err, cap, "the token file %s is empty", path);
    }
    fclose(f);
    return token;
}
