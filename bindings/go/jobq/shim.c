/*
 * The C shim between the Go package and libjobq: vtables that forward to
 * the Go trampolines of callbacks.go, and a wrapper around every library
 * call. Why it exists is explained in shim.go.
 */
#include "shim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "_cgo_export.h"

struct gojobq {
    jobq_scheduler *s;  /* NULL once closed */
    pthread_mutex_t mu; /* held across a call and the reading of its message */
    gojobq *outer;      /* gojobq_inside when the current call began */
    uint64_t call;      /* the Go call in progress (its callbacks' id) */
};

/* The handle whose call is running on this thread (innermost). cgo runs a
 * Go callback, and any cgo call it makes, on the thread of the outer call,
 * so this sees re-entry from a callback. */
static _Thread_local gojobq *gojobq_inside;

/* ------------------------------------------------------------ vtables */

/* The Go call a callback runs under: the innermost call on this thread is
 * the one the library is calling back for. */
static uint64_t current_call(void)
{
    return gojobq_inside ? gojobq_inside->call : 0;
}

static jobq_time_ms shim_now(void *ctx)
{
    return goJobqNow((uintptr_t)ctx, current_call());
}

static int shim_read_quota(void *ctx, const char *ns, jobq_resources *hard,
                           jobq_resources *used)
{
    return goJobqReadQuota((uintptr_t)ctx, current_call(), (char *)ns, hard, used);
}

static int shim_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                       size_t cap)
{
    return goJobqDeploy((uintptr_t)ctx, current_call(),
                        (jobq_deploy_request *)req, msg, cap);
}

static int shim_cancel(void *ctx, jobq_run_id id, char *msg, size_t cap)
{
    return goJobqCancel((uintptr_t)ctx, current_call(), id, msg, cap);
}

static int shim_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                     char *msg, size_t cap)
{
    return goJobqPoll((uintptr_t)ctx, current_call(), id, status, msg, cap);
}

static void shim_event(void *ctx, const jobq_event *event)
{
    goJobqEvent((uintptr_t)ctx, current_call(), (jobq_event *)event);
}

/* ------------------------------------------------------------- calls */

static int fail(char *err, size_t cap, int rc, const char *msg)
{
    snprintf(err, cap, "%s", msg);
    return rc;
}

/* Returns 0 with g->mu held, or a status with its message in err. */
static int enter(gojobq *g, uint64_t call, char *err, size_t cap)
{
    for (const gojobq *h = gojobq_inside; h; h = h->outer)
        if (h == g)
            return fail(err, cap, JOBQ_EBUSY,
                        "re-entrant call: a callback called back into the "
                        "scheduler that is calling it");
    pthread_mutex_lock(&g->mu);
    if (!g->s) {
        pthread_mutex_unlock(&g->mu);
        return fail(err, cap, JOBQ_ESTATE, "the scheduler is closed");
    }
    g->outer = gojobq_inside;
    g->call = call;
    gojobq_inside = g;
    return 0;
}

static int leave(gojobq *g, int rc, char *err, size_t cap)
{
    if (rc < 0)
        jobq_errmsg(g->s, err, cap);
    gojobq_inside = g->outer;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

#define GOJOBQ_DEFINE(name, params, args)                                      \
    int go_##name(gojobq *g, uint64_t call, char *err, size_t cap params)      \
    {                                                                          \
        int rc = enter(g, call, err, cap);                                     \
        if (rc)                                                                \
            return rc;                                                         \
        return leave(g, name(g->s args), err, cap);                            \
    }
GOJOBQ_CALLS(GOJOBQ_DEFINE)

/* ------------------------------------------------------------ lifetime */

int gojobq_open(gojobq **out, uintptr_t token, int hosts, const char *config,
                const char *db, int durability, char *err, size_t cap)
{
    *out = NULL;
    void *ctx = (void *)token;
    jobq_clock clock = {JOBQ_CLOCK_VERSION, ctx, shim_now};
    jobq_probe probe = {JOBQ_PROBE_VERSION, ctx, shim_read_quota};
    jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, ctx, shim_deploy,
                              (hosts & GOJOBQ_CANCEL) ? shim_cancel : NULL,
                              (hosts & GOJOBQ_POLL) ? shim_poll : NULL};
    /* The library copies the vtables at open: locals are enough. */
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.clock = (hosts & GOJOBQ_CLOCK) ? &clock : NULL;
    opts.probe = (hosts & GOJOBQ_PROBE) ? &probe : NULL;
    opts.deployer = (hosts & GOJOBQ_DEPLOYER) ? &deployer : NULL;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, ctx, shim_event};
    opts.events = (hosts & GOJOBQ_EVENTS) ? &events : NULL;
    opts.config_json = config;
    opts.db_path = db;
    opts.durability = (jobq_durability)durability;

    gojobq *g = calloc(1, sizeof *g);
    if (!g)
        return fail(err, cap, JOBQ_ENOMEM, "out of memory");
    int rc = jobq_open(&g->s, &opts, err, cap);
    if (rc) {
        free(g);
        return rc;
    }
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return 0;
}

int gojobq_open_read_only(gojobq **out, const char *db, char *err, size_t cap)
{
    *out = NULL;
    gojobq *g = calloc(1, sizeof *g);
    if (!g)
        return fail(err, cap, JOBQ_ENOMEM, "out of memory");
    int rc = jobq_open_read_only(&g->s, db, err, cap);
    if (rc) {
        free(g);
        return rc;
    }
    pthread_mutex_init(&g->mu, NULL);
    *out = g;
    return 0;
}

int gojobq_close(gojobq *g, char *err, size_t cap)
{
    int rc = enter(g, 0, err, cap);
    if (rc == JOBQ_ESTATE)
        return 0; /* already closed: Close is idempotent */
    if (rc)
        return rc;
    /* Calls waiting for the mutex will find the handle closed. */
    jobq_scheduler *s = g->s;
    g->s = NULL;
    gojobq_inside = g->outer;
    pthread_mutex_unlock(&g->mu);
    jobq_close(s);
    return 0;
}

void gojobq_free(gojobq *g)
{
    pthread_mutex_destroy(&g->mu);
    free(g);
}
