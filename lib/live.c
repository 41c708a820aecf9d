/*
 * Live control (include/jobq/client.h, lib/live.h): the client side writes
 * each mutating call as a request (its arguments as a JSON document built
 * with cJSON, stored as data by store/requests.c) and waits for its
 * outcome; the scheduling side applies pending requests at the start of a
 * cycle, in the cycle's transaction, and records each outcome.
 *
 * Crash safety of the scheduling side: the outcome is written in the same
 * transaction as the effects, so a crash before the commit leaves the
 * request pending and it is applied again (from scratch) by the next
 * process. The one case where effects can be committed without their
 * outcome is a deploy inside the request (a legacy-flow submit, a
 * migration): the write-ahead barrier commits before calling the deployer.
 * Submits therefore always carry an idempotency key (the caller's, or
 * "jobq-request:<id>[:<index>]"), so applying one again returns the run
 * it created instead of creating another.
 */
#include "live.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "versioned.h"
#include "scheduler.h"
#include "store/requests.h"
#include "store/store.h"

/* Requests applied per cycle at most: bounds a cycle's cost; the rest are
 * applied by the next cycles, in order. */
#define REQUESTS_PER_CYCLE 200
/* How often a waiting client looks for its outcome (the change mark
 * first: the row is read again only when something was committed). */
#define WAIT_POLL_MIN_MS 1
#define WAIT_POLL_MAX_MS 10

struct jq_live {
    bool client;
    jq_reqdb *db; /* client: its own connection; else the store's */
    char *path;
    jobq_client_opts opts;
    /* Scheduler: the change mark (jq_reqdb_change_mark) after the last
     * look at pending requests. Client: the mark its view of the state
     * was loaded at. */
    int64_t version;
    bool version_known;
    jobq_request_id last; /* client: the last request written */
};

/* Asked before the lock is taken (JQ_LIVE_DISPATCH), while a scheduling
 * handle's first cycle may be creating s->live (live_db): an atomic
 * pointer, published once it is filled in. */
bool jq_live_is_client(const jobq_scheduler *s)
{
    const struct jq_live *live =
        s ? __atomic_load_n(&s->live, __ATOMIC_ACQUIRE) : NULL;
    return live && live->client;
}

static jobq_time_ms wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (jobq_time_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static jobq_time_ms mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (jobq_time_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The requests connection of a handle with a database (created on first
 * use for scheduling and read-only handles); NULL with a message if none. */
static jq_reqdb *live_db(jobq_scheduler *s)
{
    if (s->live)
        return s->live->db;
    if (!s->store) {
        jq_core_fail(&s->core, JOBQ_ESTATE,
                     "requests need a database (db_path)");
        return NULL;
    }
    struct jq_live *live = calloc(1, sizeof *live);
    if (!live || jq_reqdb_borrow(&live->db, s->store) != 0) {
        free(live);
        jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
        return NULL;
    }
    __atomic_store_n(&s->live, live, __ATOMIC_RELEASE);
    return live->db;
}

static int db_failed(jobq_scheduler *s, int rc)
{
    return jq_core_fail(&s->core, rc, "%s", jq_reqdb_errmsg(s->live->db));
}

void jq_live_close(jobq_scheduler *s)
{
    if (!s->live)
        return;
    jq_reqdb_close(s->live->db);
    free(s->live->path);
    free(s->live);
    s->live = NULL;
}

/* ================================================================ client */

JOBQ_API int jobq_client_opts_init(jobq_client_opts *opts, unsigned version)
{
    const jobq_client_opts init = JOBQ_CLIENT_OPTS_INIT;
    return jq_versioned_init(opts, &init, sizeof init, version,
                             JOBQ_CLIENT_OPTS_VERSION);
}

static int client_error(char *err, size_t cap, int rc, const char *msg)
{
    if (err && cap)
        snprintf(err, cap, "%s", msg);
    return rc;
}

JOBQ_API int jobq_open_client(jobq_scheduler **out, const char *db_path,
                              const jobq_client_opts *opts, char *err,
                              size_t err_cap)
{
    if (err && err_cap)
        err[0] = '\0';
    if (!out)
        return client_error(err, err_cap, JOBQ_EINVAL,
                            "jobq_open_client: out must not be NULL");
    *out = NULL;
    jobq_client_opts o = JOBQ_CLIENT_OPTS_INIT;
    if (opts) {
        if (opts->version < 1 || opts->version > JOBQ_CLIENT_OPTS_VERSION)
            return client_error(err, err_cap, JOBQ_EVERSION,
                                "jobq_client_opts version is not supported");
        o = *opts;
        o.version = JOBQ_CLIENT_OPTS_VERSION;
    }
    if (!db_path || !*db_path || strcmp(db_path, ":memory:") == 0)
        return client_error(err, err_cap, JOBQ_EINVAL,
                            "jobq_open_client: db_path must name a database "
                            "file");
    if (o.durability != JOBQ_DURABILITY_FULL &&
        o.durability != JOBQ_DURABILITY_NORMAL)
        return client_error(err, err_cap, JOBQ_EINVAL,
                            "jobq_client_opts.durability is not FULL (0) or "
                            "NORMAL (1)");
    if (o.wait_timeout_ms < JOBQ_WAIT_FOREVER || o.busy_timeout_ms < 0)
        return client_error(err, err_cap, JOBQ_EINVAL,
                            "jobq_client_opts: negative timeout");
    struct jq_live *live = calloc(1, sizeof *live);
    if (!live || !(live->path = strdup(db_path))) {
        free(live);
        return JOBQ_ENOMEM;
    }
    live->client = true;
    live->opts = o;
    int rc = jq_reqdb_open(&live->db, db_path, o.durability,
                           o.busy_timeout_ms, err, err_cap);
    jobq_scheduler *s = NULL;
    if (rc == 0)
        rc = jobq_open_read_only(&s, db_path, err, err_cap);
    if (rc == 0)
        rc = jq_reqdb_change_mark(live->db, &live->version);
    if (rc != 0) {
        if (live->db && err && err_cap && !err[0])
            snprintf(err, err_cap, "%s", jq_reqdb_errmsg(live->db));
        jq_reqdb_close(live->db);
        free(live->path);
        free(live);
        jobq_close(s);
        return rc;
    }
    live->version_known = true;
    s->live = live;
    *out = s;
    return 0;
}

JOBQ_API int jobq_is_client(jobq_scheduler *s, bool *out)
{
    if (!s || !out)
        return JOBQ_EINVAL;
    *out = jq_live_is_client(s);
    return 0;
}

/* A client's reads see what the database holds: reload the read-only view
 * when another connection committed since it was loaded. */
void jq_live_refresh(jobq_scheduler *s)
{
    if (!jq_live_is_client(s))
        return;
    struct jq_live *live = s->live;
    int64_t version = 0;
    if (jq_reqdb_change_mark(live->db, &version) != 0)
        return;
    if (live->version_known && version == live->version && s->store)
        return;
    jq_emit_fn emit = s->core.emit;
    void *emit_ctx = s->core.emit_ctx;
    jq_sched_detach_store(s);
    jq_core_destroy(&s->core);
    jq_core_init(&s->core, NULL, NULL, emit, emit_ctx);
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = live->path;
    char err[256];
    /* On failure the view is empty until a later call reloads it. */
    live->version_known =
        jq_sched_attach_store(s, &opts, true, err, sizeof err) == 0;
    live->version = version;
    s->core.errmsg[0] = '\0';
}

/* ---------------------------------------------------- writing a request */

/* The lock without ENTER's view refresh: a client's write does not need
 * its view of the state. Client handles have no callbacks to re-enter. */
static void client_lock(jobq_scheduler *s)
{
    pthread_mutex_lock(&s->lock);
    s->core.errmsg[0] = '\0';
}

static int client_unlock(jobq_scheduler *s, int rc)
{
    if (rc != 0)
        snprintf(s->errmsg, sizeof s->errmsg, "%s",
                 s->core.errmsg[0] ? s->core.errmsg : jobq_strerror(rc));
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Wait (lock held) until request `id` has an outcome or timeout_ms passed.
 * 0 with the outcome in *info, JOBQ_ETIMEDOUT, or an error. */
static int wait_outcome(jobq_scheduler *s, jobq_request_info *info,
                        jobq_request_id id, int64_t timeout_ms)
{
    jq_reqdb *db = s->live->db;
    jobq_time_ms deadline = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;
    int64_t seen = 0;
    bool looked = false;
    int pause = WAIT_POLL_MIN_MS;
    for (;;) {
        int64_t version = 0;
        int rc = jq_reqdb_change_mark(db, &version);
        if (rc == 0 && (!looked || version != seen)) {
            rc = jq_reqdb_get(db, info, id);
            looked = true;
            seen = version;
            if (rc == 0 && info->state != JOBQ_REQUEST_PENDING)
                return 0;
        }
        if (rc != 0)
            return db_failed(s, rc);
        if (mono_ms() >= deadline || !s->live->client)
            return JOBQ_ETIMEDOUT;
        sleep_ms(pause);
        if (pause < WAIT_POLL_MAX_MS)
            pause *= 2;
    }
}

static int timed_out(jobq_scheduler *s, jobq_request_id id)
{
    return jq_core_fail(&s->core, JOBQ_ETIMEDOUT, "request %" PRId64 " is "
                        "still pending (no scheduler applied it in time); it "
                        "stays queued: jobq_request_wait() it later", id);
}

/* Write the request and, unless the client only enqueues, wait for it.
 * Takes ownership of body. Returns the outcome's status (with its message
 * in the core's errmsg) or the error of writing or waiting; *waited says
 * whether info holds an outcome. */
static int send_request(jobq_scheduler *s, jobq_request_kind kind,
                        cJSON *body, const char *summary, const void *payload,
                        size_t payload_len, jobq_request_info *info,
                        bool *waited)
{
    *waited = false;
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text)
        return jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    jobq_request_id id = 0;
    int rc = jq_reqdb_insert(s->live->db, &id, kind, wall_ms(), summary, text,
                             payload, payload_len);
    free(text);
    if (rc != 0)
        return db_failed(s, rc);
    s->live->last = id;
    int64_t timeout = s->live->opts.wait_timeout_ms;
    if (timeout == 0)
        return 0;
    rc = wait_outcome(s, info, id, timeout);
    if (rc == JOBQ_ETIMEDOUT)
        return timed_out(s, id);
    if (rc != 0)
        return rc;
    *waited = true;
    if (info->status != 0)
        return jq_core_fail(&s->core, info->status, "%s", info->message);
    return 0;
}

/* int64 amounts go as decimal strings: JSON numbers are doubles. */
static cJSON *add_int64(cJSON *obj, const char *key, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_AddStringToObject(obj, key, buf);
}

static bool get_int64(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(item->valuestring, &end, 10);
    if (errno || *end || end == item->valuestring)
        return false;
    *out = v;
    return true;
}

static const char *get_text(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void add_text(cJSON *obj, const char *key, const char *text)
{
    if (text)
        cJSON_AddStringToObject(obj, key, text);
}

static void add_resources(cJSON *obj, const char *key,
                          const jobq_resources *r)
{
    cJSON *res = cJSON_AddObjectToObject(obj, key);
    if (!res)
        return;
    for (int k = 0; k < JOBQ_RESOURCE_COUNT; k++)
        add_int64(res, jobq_resource_name((jobq_resource_kind)k),
                  r->amount[k]);
}

static bool get_resources(const cJSON *obj, const char *key,
                          jobq_resources *r)
{
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!res)
        return false;
    for (int k = 0; k < JOBQ_RESOURCE_COUNT; k++)
        if (!get_int64(res, jobq_resource_name((jobq_resource_kind)k),
                       &r->amount[k]))
            return false;
    return true;
}

static cJSON *submit_body(const char *job, const jobq_submit_opts *opts)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_text(o, "job", job);
    if (opts) {
        add_text(o, "name", opts->run_name);
        add_text(o, "key", opts->idempotency_key);
        cJSON_AddNumberToObject(o, "priority", opts->priority);
        if (opts->request)
            add_resources(o, "request", opts->request);
    }
    return o;
}

static int check_opts_version(jobq_scheduler *s, const jobq_submit_opts *o,
                              const char *where)
{
    if (!o || (o->version >= 1 && o->version <= JOBQ_SUBMIT_OPTS_VERSION))
        return 0;
    return jq_core_fail(&s->core, JOBQ_EVERSION, "%sjobq_submit_opts version "
                        "%u is not supported (1..%d)", where, o->version,
                        JOBQ_SUBMIT_OPTS_VERSION);
}

int jq_client_submit(jobq_scheduler *s, jobq_run_id *out_id, const char *job,
                     const jobq_submit_opts *opts)
{
    client_lock(s);
    if (out_id)
        *out_id = 0;
    int rc = check_opts_version(s, opts, "");
    if (rc == 0) {
        char summary[256];
        snprintf(summary, sizeof summary, "%s%s%s", job ? job : "(null)",
                 opts && opts->idempotency_key ? " key=" : "",
                 opts && opts->idempotency_key ? opts->idempotency_key : "");
        jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
        bool waited;
        rc = send_request(s, JOBQ_REQUEST_SUBMIT, submit_body(job, opts),
                          summary, NULL, 0, &info, &waited);
        if (waited && out_id)
            *out_id = info.run_id;
    }
    return client_unlock(s, rc);
}

/* "1,2,3" -> ids[0..cap) (zeros after the last one); returns how many. */
static size_t parse_ids(const char *text, jobq_run_id *ids, size_t cap)
{
    size_t n = 0;
    while (text && *text && n < cap) {
        char *end;
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text)
            break;
        ids[n++] = v;
        text = *end == ',' ? end + 1 : end;
    }
    for (size_t i = n; i < cap; i++)
        ids[i] = 0;
    return n;
}

int jq_client_submit_batch(jobq_scheduler *s, jobq_run_id *out_ids,
                           const char *const *jobs,
                           const jobq_submit_opts *opts, size_t count)
{
    client_lock(s);
    for (size_t i = 0; out_ids && i < count; i++)
        out_ids[i] = 0;
    int rc = 0;
    if (count > 0 && !jobs)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "jobs must not be NULL");
    cJSON *body = rc ? NULL : cJSON_CreateObject();
    cJSON *runs = body ? cJSON_AddArrayToObject(body, "runs") : NULL;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        char where[32];
        snprintf(where, sizeof where, "runs[%zu]: ", i);
        const jobq_submit_opts *o = opts ? &opts[i] : NULL;
        if ((rc = check_opts_version(s, o, where)) == 0 &&
            !cJSON_AddItemToArray(runs, submit_body(jobs[i], o)))
            rc = jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    }
    if (rc == 0 && !runs)
        rc = jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    if (rc != 0) {
        cJSON_Delete(body);
        return client_unlock(s, rc);
    }
    char summary[256];
    snprintf(summary, sizeof summary, "%zu runs%s%s", count,
             count ? ": " : "", count && jobs[0] ? jobs[0] : "");
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    bool waited;
    rc = send_request(s, JOBQ_REQUEST_SUBMIT_BATCH, body, summary, NULL, 0,
                      &info, &waited);
    if (waited && out_ids && count) {
        char *text = NULL;
        char saved[sizeof s->core.errmsg];
        snprintf(saved, sizeof saved, "%s", s->core.errmsg);
        if (jq_reqdb_run_ids(s->live->db, s->live->last, &text) == 0)
            parse_ids(text, out_ids, count);
        free(text);
        snprintf(s->core.errmsg, sizeof s->core.errmsg, "%s", saved);
    }
    return client_unlock(s, rc);
}

int jq_client_cancel(jobq_scheduler *s, jobq_run_id id, const char *detail)
{
    client_lock(s);
    cJSON *body = cJSON_CreateObject();
    if (body) {
        add_int64(body, "run", (int64_t)id);
        add_text(body, "detail", detail);
    }
    char summary[64];
    snprintf(summary, sizeof summary, "run %" PRIu64, id);
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    bool waited;
    int rc = send_request(s, JOBQ_REQUEST_CANCEL, body, summary, NULL, 0,
                          &info, &waited);
    return client_unlock(s, rc);
}

int jq_client_property_set(jobq_scheduler *s, const char *key,
                           const char *value)
{
    client_lock(s);
    int rc = 0;
    if (!key || !value)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "key and value must not be NULL");
    if (rc == 0) {
        cJSON *body = cJSON_CreateObject();
        if (body) {
            add_text(body, "key", key);
            add_text(body, "value", value);
        }
        char summary[256];
        snprintf(summary, sizeof summary, "%s=%s", key, value);
        jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
        bool waited;
        rc = send_request(s, JOBQ_REQUEST_PROPERTY_SET, body, summary, NULL,
                          0, &info, &waited);
    }
    return client_unlock(s, rc);
}

int jq_client_configure(jobq_scheduler *s, const char *json)
{
    client_lock(s);
    int rc = 0;
    if (!json)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "json must not be NULL");
    if (rc == 0) {
        cJSON *body = cJSON_CreateObject();
        add_text(body, "json", json);
        char summary[256];
        snprintf(summary, sizeof summary, "%.200s", json);
        jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
        bool waited;
        rc = send_request(s, JOBQ_REQUEST_CONFIGURE, body, summary, NULL, 0,
                          &info, &waited);
    }
    return client_unlock(s, rc);
}

int jq_client_job_define(jobq_scheduler *s, const jobq_job_def *def)
{
    client_lock(s);
    int rc = 0;
    if (!def)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "def must not be NULL");
    else if (def->version < 1 || def->version > JOBQ_JOB_DEF_VERSION)
        rc = jq_core_fail(&s->core, JOBQ_EVERSION, "jobq_job_def version %u "
                          "is not supported (1..%d)", def->version,
                          JOBQ_JOB_DEF_VERSION);
    if (rc == 0) {
        cJSON *body = cJSON_CreateObject();
        if (body) {
            add_text(body, "name", def->name);
            add_text(body, "domain", def->domain);
            add_text(body, "ns", def->ns);
            cJSON_AddNumberToObject(body, "priority", def->priority);
            cJSON_AddNumberToObject(body, "flow", def->flow);
            add_resources(body, "request", &def->request);
        }
        jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
        bool waited;
        rc = send_request(s, JOBQ_REQUEST_JOB_DEFINE, body,
                          def->name ? def->name : "(null)", def->payload,
                          def->payload ? def->payload_len : 0, &info,
                          &waited);
    }
    return client_unlock(s, rc);
}

int jq_client_job_set_flow(jobq_scheduler *s, const char *job, jobq_flow flow)
{
    client_lock(s);
    cJSON *body = cJSON_CreateObject();
    if (body) {
        add_text(body, "job", job);
        cJSON_AddNumberToObject(body, "flow", flow);
    }
    char summary[300];
    snprintf(summary, sizeof summary, "%s flow=%s", job ? job : "(null)",
             flow == JOBQ_FLOW_LEGACY ? "legacy" : "priority");
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    bool waited;
    int rc = send_request(s, JOBQ_REQUEST_JOB_SET_FLOW, body, summary, NULL, 0,
                          &info, &waited);
    return client_unlock(s, rc);
}

int jq_client_migrate_to_legacy(jobq_scheduler *s, uint64_t *out_moved)
{
    client_lock(s);
    if (out_moved)
        *out_moved = 0;
    jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
    bool waited;
    int rc = send_request(s, JOBQ_REQUEST_MIGRATE_TO_LEGACY,
                          cJSON_CreateObject(), "", NULL, 0, &info, &waited);
    if (waited && out_moved)
        *out_moved = info.count;
    return client_unlock(s, rc);
}

/* ============================================================ scheduler */

static int store_failed(jobq_scheduler *s, int rc)
{
    return jq_core_fail(&s->core, rc, "%s", jq_store_errmsg(s->store));
}

/* One submit in the open transaction, always under an idempotency key
 * (the caller's, or one derived from the request) so that applying a
 * request again after a crash finds the run instead of making another. */
static int apply_submit_one(jobq_scheduler *s, jobq_time_ms now,
                            const cJSON *o, const char *implicit_key,
                            jobq_run_id *out_id)
{
    *out_id = 0;
    if (!cJSON_IsObject(o))
        return jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request");
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    jobq_resources request;
    const char *job = get_text(o, "job");
    if (!job)
        return jq_core_fail(&s->core, JOBQ_EINVAL, "job must not be NULL");
    opts.run_name = get_text(o, "name");
    opts.idempotency_key = get_text(o, "key");
    const cJSON *priority = cJSON_GetObjectItemCaseSensitive(o, "priority");
    if (cJSON_IsNumber(priority))
        opts.priority = priority->valueint;
    if (cJSON_GetObjectItemCaseSensitive(o, "request")) {
        if (!get_resources(o, "request", &request))
            return jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request");
        opts.request = &request;
    }
    const char *key = opts.idempotency_key && *opts.idempotency_key
                          ? opts.idempotency_key
                          : implicit_key;
    jobq_run_id existing = 0;
    int rc = jq_store_find_key(s->store, key, &existing);
    if (rc == 0) {
        *out_id = existing;
        return 0;
    }
    if (rc != JOBQ_ENOTFOUND)
        return store_failed(s, rc);
    opts.idempotency_key = NULL; /* the store takes it from here */
    jq_store_set_submit_key(s->store, key);
    rc = jq_core_submit(&s->core, now, out_id, job, &opts);
    jq_store_set_submit_key(s->store, NULL);
    return rc;
}

/* Growable "1,2,3". */
typedef struct id_text {
    char *buf;
    size_t len, cap;
} id_text;

static void id_text_add(id_text *t, jobq_run_id id)
{
    if (t->cap - t->len < 24) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        char *grown = realloc(t->buf, cap);
        if (!grown)
            return; /* the list is informative; the run ids are durable */
        t->buf = grown;
        t->cap = cap;
    }
    t->len += (size_t)snprintf(t->buf + t->len, t->cap - t->len, "%s%" PRIu64,
                               t->len ? "," : "", id);
}

static int apply_batch(jobq_scheduler *s, jobq_time_ms now,
                       const jq_request_row *row, const cJSON *body,
                       jq_request_outcome *out, id_text *ids)
{
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(body, "runs");
    if (!cJSON_IsArray(runs))
        return jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request");
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, runs)
    {
        char key[64];
        snprintf(key, sizeof key, "jobq-request:%" PRId64 ":%zu", row->id, i);
        jobq_run_id id = 0;
        int rc = apply_submit_one(s, now, o, key, &id);
        if (rc != 0) {
            char msg[sizeof s->core.errmsg];
            snprintf(msg, sizeof msg, "%s", s->core.errmsg);
            return jq_core_fail(&s->core, rc, "runs[%zu]: %s", i, msg);
        }
        if (i == 0)
            out->run_id = id;
        id_text_add(ids, id);
        out->count = ++i;
    }
    return 0;
}

static int apply_config_change(jobq_scheduler *s, const jq_config *config)
{
    int rc = jq_core_set_config(&s->core, config);
    return rc ? rc : jq_sched_save_config(s);
}

static int apply_job_define(jobq_scheduler *s, jobq_time_ms now,
                            const jq_request_row *row, const cJSON *body)
{
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = get_text(body, "name");
    def.domain = get_text(body, "domain");
    def.ns = get_text(body, "ns");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(body, "priority");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "flow");
    if (!cJSON_IsNumber(p) || !cJSON_IsNumber(f) ||
        !get_resources(body, "request", &def.request))
        return jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request");
    def.priority = (jobq_priority)p->valueint;
    def.flow = (jobq_flow)f->valueint;
    def.payload = row->payload;
    def.payload_len = row->payload_len;
    return jq_core_define_job(&s->core, now, &def);
}

/* Apply one request in the open transaction; its outcome goes to *out. */
static int apply_one(jobq_scheduler *s, jobq_time_ms now,
                     const jq_request_row *row, jq_request_outcome *out,
                     id_text *ids)
{
    cJSON *body = row->body ? cJSON_Parse(row->body) : NULL;
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        return jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request");
    }
    jq_config config;
    int rc = 0;
    int64_t run = 0;
    switch ((jobq_request_kind)row->kind) {
    case JOBQ_REQUEST_SUBMIT: {
        char key[64];
        snprintf(key, sizeof key, "jobq-request:%" PRId64, row->id);
        rc = apply_submit_one(s, now, body, key, &out->run_id);
        if (rc == 0)
            id_text_add(ids, out->run_id);
        break;
    }
    case JOBQ_REQUEST_SUBMIT_BATCH:
        rc = apply_batch(s, now, row, body, out, ids);
        break;
    case JOBQ_REQUEST_CANCEL:
        if (!get_int64(body, "run", &run)) {
            rc = jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request");
            break;
        }
        out->run_id = (jobq_run_id)run;
        rc = jq_sched_check_ended(
            s, (jobq_run_id)run,
            jq_core_cancel(&s->core, now, (jobq_run_id)run,
                           get_text(body, "detail")));
        break;
    case JOBQ_REQUEST_PROPERTY_SET: {
        const char *key = get_text(body, "key"), *value = get_text(body,
                                                                   "value");
        rc = !key || !value
                 ? jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request")
                 : jq_config_set(&config, &s->core.config, key, value,
                                 s->core.errmsg, sizeof s->core.errmsg);
        if (rc == 0)
            rc = apply_config_change(s, &config);
        break;
    }
    case JOBQ_REQUEST_CONFIGURE: {
        const char *json = get_text(body, "json");
        rc = !json ? jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request")
                   : jq_config_parse(&config, &s->core.config, json,
                                     strlen(json), s->core.errmsg,
                                     sizeof s->core.errmsg);
        if (rc == 0)
            rc = apply_config_change(s, &config);
        break;
    }
    case JOBQ_REQUEST_JOB_DEFINE:
        rc = apply_job_define(s, now, row, body);
        break;
    case JOBQ_REQUEST_JOB_SET_FLOW: {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "flow");
        rc = !cJSON_IsNumber(f)
                 ? jq_core_fail(&s->core, JOBQ_EPARSE, "malformed request")
                 : jq_core_set_job_flow(&s->core, now, get_text(body, "job"),
                                        (jobq_flow)f->valueint);
        break;
    }
    case JOBQ_REQUEST_MIGRATE_TO_LEGACY:
        rc = jq_core_migrate_to_legacy(&s->core, now, &out->count);
        break;
    default:
        rc = jq_core_fail(&s->core, JOBQ_EPARSE, "unknown request kind %d",
                          row->kind);
    }
    cJSON_Delete(body);
    return rc;
}

/* Apply the pending requests, in order, in the open transaction. */
static int apply_pending(jobq_scheduler *s, jobq_time_ms now, size_t *applied)
{
    jq_request_row *rows = NULL;
    size_t count = 0;
    int rc = jq_reqdb_pending(s->live->db, &rows, &count, REQUESTS_PER_CYCLE);
    if (rc != 0)
        return db_failed(s, rc);
    for (size_t i = 0; i < count && rc == 0; i++) {
        jq_request_outcome out = {.applied_at = now};
        id_text ids = {0};
        s->core.errmsg[0] = '\0';
        out.status = apply_one(s, now, &rows[i], &out, &ids);
        if (s->core.journal_status != 0) {
            /* The database failed under the request: the cycle rolls
             * back and the request stays pending. */
            rc = s->core.journal_status;
            free(ids.buf);
            break;
        }
        if (out.status != 0 && !s->core.errmsg[0])
            snprintf(s->core.errmsg, sizeof s->core.errmsg, "%s",
                     jobq_strerror(out.status));
        out.message = out.status ? s->core.errmsg : "";
        out.run_ids = ids.buf;
        rc = jq_reqdb_record(s->live->db, rows[i].id, &out);
        free(ids.buf);
        if (rc != 0) {
            db_failed(s, rc);
            s->core.journal_status = rc; /* roll the cycle back */
        }
        s->core.errmsg[0] = rc ? s->core.errmsg[0] : '\0';
    }
    jq_reqdb_rows_free(rows, count);
    *applied = count;
    return rc;
}

int jq_live_tick(jobq_scheduler *s, jobq_time_ms now)
{
    if (jq_live_is_client(s))
        return jq_core_fail(&s->core, JOBQ_ESTATE, "a client handle "
                            "(jobq_open_client) does not schedule: only the "
                            "process that opened the database with jobq_open "
                            "ticks; requests are applied there");
    /* Time going backwards is the cycle's error (the core refuses it):
     * apply nothing at a time before the last cycle's. */
    if (!s->store || jq_store_read_only(s->store) || now < s->core.last_tick)
        return 0;
    if (!live_db(s))
        return JOBQ_ENOMEM;
    struct jq_live *live = s->live;
    int64_t version = 0;
    int rc = jq_reqdb_change_mark(live->db, &version);
    if (rc != 0)
        return db_failed(s, rc);
    /* The idle path: nobody else committed since the last look. */
    if (live->version_known && version == live->version)
        return 0;
    size_t applied = 0;
    rc = apply_pending(s, now, &applied);
    /* Retention of outcomes, as for runs: only in a cycle that writes
     * anyway (never in an idle one). */
    if (rc == 0 && applied > 0 && s->core.config.cleanup_enabled &&
        (rc = jq_reqdb_cleanup(live->db,
                               now - s->core.config.retention_period_s * 1000,
                               REQUESTS_PER_CYCLE)) != 0) {
        db_failed(s, rc);
        s->core.journal_status = rc;
    }
    /* A full batch may have left more: look again next cycle. */
    live->version_known = rc == 0 && applied < REQUESTS_PER_CYCLE;
    live->version = version;
    return rc;
}

/* ========================================================= public calls */

JOBQ_API const char *jobq_request_kind_name(jobq_request_kind kind)
{
    static const char *const names[] = {
        "submit",    "submit_batch", "cancel",       "property_set",
        "configure", "job_define",   "job_set_flow", "migrate_to_legacy"};
    return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : NULL;
}

JOBQ_API const char *jobq_request_state_name(jobq_request_state state)
{
    static const char *const names[] = {"pending", "applied", "refused"};
    return (unsigned)state < 3 ? names[state] : NULL;
}

JOBQ_API int jobq_request_info_init(jobq_request_info *info, unsigned version)
{
    const jobq_request_info init = JOBQ_REQUEST_INFO_INIT;
    return jq_versioned_init(info, &init, sizeof init, version,
                             JOBQ_REQUEST_INFO_VERSION);
}

JOBQ_API int jobq_request_last(jobq_scheduler *s, jobq_request_id *out)
{
    ENTER(s);
    int rc = 0;
    if (!out)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "out must not be NULL");
    else if (!s->live || !s->live->last)
        rc = jq_core_fail(&s->core, JOBQ_ENOTFOUND, "this handle wrote no "
                          "request yet");
    else
        *out = s->live->last;
    return LEAVE(s, rc);
}

static int check_info(jobq_scheduler *s, const jobq_request_info *info)
{
    if (!info)
        return jq_core_fail(&s->core, JOBQ_EINVAL, "info must not be NULL");
    if (info->version < 1 || info->version > JOBQ_REQUEST_INFO_VERSION)
        return jq_core_fail(&s->core, JOBQ_EVERSION, "jobq_request_info "
                            "version %u is not supported (1..%d)",
                            info->version, JOBQ_REQUEST_INFO_VERSION);
    return live_db(s) ? 0 : JOBQ_ESTATE;
}

/* Fill *info keeping the caller's version. */
static int get_request(jobq_scheduler *s, jobq_request_info *info,
                       jobq_request_id id)
{
    unsigned version = info->version;
    int rc = jq_reqdb_get(s->live->db, info, id);
    info->version = version;
    return rc ? db_failed(s, rc) : 0;
}

JOBQ_API int jobq_request_get(jobq_scheduler *s, jobq_request_info *info,
                              jobq_request_id id)
{
    ENTER(s);
    int rc = check_info(s, info);
    if (rc == 0)
        rc = get_request(s, info, id);
    return LEAVE(s, rc);
}

JOBQ_API int jobq_request_wait(jobq_scheduler *s, jobq_request_info *info,
                               jobq_request_id id, int64_t timeout_ms)
{
    ENTER(s);
    int rc = check_info(s, info);
    if (rc == 0 && timeout_ms < JOBQ_WAIT_FOREVER)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "negative timeout");
    if (rc == 0) {
        unsigned version = info->version;
        /* Only a client waits: a scheduling handle applies requests
         * itself, in jobq_tick, which this wait would block. */
        rc = wait_outcome(s, info, id, s->live->client ? timeout_ms : 0);
        info->version = version;
        if (rc == JOBQ_ETIMEDOUT)
            timed_out(s, id);
    }
    return LEAVE(s, rc);
}

JOBQ_API int jobq_request_runs(jobq_scheduler *s, jobq_run_id **out_ids,
                               size_t *out_count, jobq_request_id id)
{
    ENTER(s);
    int rc = 0;
    char *text = NULL;
    if (!out_ids || !out_count)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "out_ids and out_count must not be NULL");
    else if (!live_db(s))
        rc = JOBQ_ESTATE;
    else if ((rc = jq_reqdb_run_ids(s->live->db, id, &text)) != 0)
        db_failed(s, rc);
    if (rc == 0) {
        size_t n = 0;
        for (const char *p = text; p && *p; p++)
            n += *p == ',';
        n += text && *text ? 1 : 0;
        *out_ids = n ? malloc(n * sizeof **out_ids) : NULL;
        *out_count = 0;
        if (n && !*out_ids)
            rc = jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
        else
            *out_count = parse_ids(text, *out_ids, n);
    }
    free(text);
    return LEAVE(s, rc);
}

JOBQ_API int jobq_request_list(jobq_scheduler *s, jobq_request_id **out_ids,
                               size_t *out_count, size_t recent)
{
    ENTER(s);
    int rc = 0;
    if (!out_ids || !out_count)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL,
                          "out_ids and out_count must not be NULL");
    else if (!live_db(s))
        rc = JOBQ_ESTATE;
    else if ((rc = jq_reqdb_list(s->live->db, recent, out_ids, out_count)))
        db_failed(s, rc);
    return LEAVE(s, rc);
}

JOBQ_API int jobq_requests_pending(jobq_scheduler *s, bool *out)
{
    ENTER(s);
    int rc = 0;
    if (!out)
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "out must not be NULL");
    else if (!s->store)
        *out = false;
    else if (!live_db(s))
        rc = JOBQ_ENOMEM;
    else if (s->live->client || jq_store_read_only(s->store)) {
        if ((rc = jq_reqdb_any_pending(s->live->db, out)))
            db_failed(s, rc);
    } else {
        int64_t version = 0;
        if ((rc = jq_reqdb_change_mark(s->live->db, &version)))
            db_failed(s, rc);
        else
            *out = !s->live->version_known || version != s->live->version;
    }
    return LEAVE(s, rc);
}
