/*
 * Every public call and every cycle is a transaction over memory and disk
 * (SPEC section 2: "a call or cycle that fails changes nothing, in memory
 * or on disk, and an event is delivered only once the change it reports is
 * committed"). This file is the memory half: an undo log.
 *
 * Why an undo log and not a shadow copy: a call touches a handful of runs
 * among possibly millions, so copying state up front would cost more than
 * the call. The log records, before each change, how to reverse it, and a
 * rollback replays it backwards. It holds:
 *
 *   - saved bytes: whole structs copied before their first change in the
 *     call (a run, a job), list headers and link fields before a list
 *     operation. Whole structs, so that a field someone adds later is
 *     covered without touching this file;
 *   - at every savepoint (jq_txn_mark_now: the start of each public call
 *     and every commit) the core's scalars (configuration, turn pointer,
 *     next id, counters) and EVERY namespace whole, queues and WRR state
 *     included. That costs O(namespaces) per call and means the cycle's
 *     many small changes to queue heads, WRR, probe readings and
 *     reservations (cycle.c) need no recording of their own;
 *   - logical entries for what bytes cannot express: objects created (freed
 *     on rollback), lookup-table inserts and removals (reversed), memory
 *     released (freed only at commit, so a rollback can put it back, and
 *     so pending events may point into it);
 *   - a marker when the deployer is called for a run (below).
 *
 * Savepoints: a mark is a position in the log; rolling back to it undoes
 * only what came after. The scheduler takes one at the start of each call,
 * so that a call that fails inside a transaction it shares with group-
 * commit waiters undoes only its own changes (the store does the same with
 * an SQL SAVEPOINT). The same mechanism can undo the rest of a planned
 * batch.
 *
 * Commit points. The store commits at the end of each public call and at
 * the write-ahead barrier before deploying; after each commit the log
 * starts afresh (a rollback never goes behind a commit). A cycle's barrier
 * covers all the runs it plans to deploy (cycle.c: it plans with a
 * savepoint and a rollback to it, then marks the planned runs DEPLOYING
 * and commits once); a legacy deploy and a settled restore keep one
 * barrier per run. The deployer is called only after its run's DEPLOYING
 * record is committed; if a later commit of the same call fails, memory
 * goes back to that committed state, and every run the barrier committed
 * DEPLOYING (jq_undo_deploying right after it), whether its deployer was
 * called yet or not, is put where reopening the file would put it
 * (DEPLOYING, on the deployed list: the next cycle settles it through the
 * deployer's poll exactly like after a restart). A call that fails
 * therefore changes nothing beyond its last commit point, and a commit
 * point precedes every deploy. A cycle calls the deployer for its plan
 * with the handle's lock released (cycle.c, "Deploying outside the
 * lock"); it records the planned runs for such a rollback only once it
 * has the lock again, behind a fresh savepoint, so that while other
 * threads use the log, nothing of the cycle is in it.
 *
 * When a commit fails its outcome may be unknown (a failed fsync: the
 * write may still surface when the file is next opened). Memory is rolled
 * back all the same and nothing that commit contained is deployed or
 * reported; the file, when next opened, decides. Ids handed out by a
 * rolled-back submit are handed out again.
 *
 * Events are queued here and delivered, in order, by jq_txn_commit; a
 * rollback drops those published after its mark.
 *
 * Allocation failures while recording mark the call failed (JOBQ_ENOMEM);
 * each savepoint reserves room first, so a call that cannot reserve fails
 * before it changes anything.
 */
#include "undo.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

enum {
    UNDO_BYTES,        /* restore saved bytes at ptr */
    UNDO_SCALARS,      /* restore the core's scalars */
    UNDO_CREATED_RUN,  /* rollback: free the run */
    UNDO_CREATED_JOB,  /* rollback: drop from the job table, free */
    UNDO_CREATED_NS,   /* rollback: drop from the namespace table, free */
    UNDO_IDMAP_PUT,    /* rollback: remove the run's id */
    UNDO_IDMAP_REMOVE, /* rollback: put the run back */
    UNDO_ALLOC,        /* rollback: free(ptr) */
    UNDO_FREE,         /* commit: free(ptr) */
    UNDO_FREE_RUN,     /* commit: free the run */
    UNDO_DEPLOYING,    /* rollback: the run's deployer was called */
    UNDO_NAMESPACES,   /* restore every namespace a savepoint copied */
    UNDO_VERIFY,       /* tests: every namespace whole, to check against */
};

/* The core's fields that are not inside a namespace, run or job. */
typedef struct core_scalars {
    jq_config config;
    size_t ns_count, ns_turn;
    uint64_t queued, next_id, cycle;
    jobq_time_ms last_tick;
} core_scalars;

/* ------------------------------------------------------- test allocator */

static uint64_t fail_after; /* tests: the Nth allocation fails */

void jq_core_fail_alloc_after(uint64_t n)
{
    fail_after = n;
}

static bool injected_failure(void)
{
    if (fail_after == 0)
        return false;
    return --fail_after == 0;
}

void *jq_core_malloc(size_t n)
{
    return injected_failure() ? NULL : malloc(n);
}

void *jq_core_calloc(size_t count, size_t n)
{
    return injected_failure() ? NULL : calloc(count, n);
}

/* ------------------------------------------------------------ recording */

static void txn_failed(jq_core *c)
{
    jq_journal_result(c, JOBQ_ENOMEM);
    jq_core_fail(c, JOBQ_ENOMEM, "out of memory recording a change");
}

static bool reserve_entries(jq_txn *t, size_t more)
{
    more += t->spare_entries;
    if (t->len + more <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->len + more)
        cap *= 2;
    jq_undo_entry *log =
        injected_failure() ? NULL : realloc(t->log, cap * sizeof *log);
    if (!log)
        return false;
    t->log = log;
    t->cap = cap;
    return true;
}

static bool reserve_bytes(jq_txn *t, size_t more)
{
    more += t->spare_bytes;
    if (t->used + more <= t->bytes_cap)
        return true;
    size_t cap = t->bytes_cap ? t->bytes_cap : 4096;
    while (cap < t->used + more)
        cap *= 2;
    unsigned char *bytes = injected_failure() ? NULL : realloc(t->bytes, cap);
    if (!bytes)
        return false;
    t->bytes = bytes;
    t->bytes_cap = cap;
    return true;
}

bool jq_txn_reserve(jq_core *c, size_t entries, size_t bytes)
{
    jq_txn *t = &c->txn;
    if (reserve_entries(t, entries) && reserve_bytes(t, bytes))
        return true;
    txn_failed(c);
    return false;
}

static void push(jq_core *c, int kind, void *ptr)
{
    jq_txn *t = &c->txn;
    if (!reserve_entries(t, 1)) {
        txn_failed(c);
        return;
    }
    t->log[t->len++] = (jq_undo_entry){.kind = (uint8_t)kind, .ptr = ptr};
}

static void *push_bytes(jq_core *c, int kind, void *addr, size_t len)
{
    jq_txn *t = &c->txn;
    size_t aligned = (len + 7) & ~(size_t)7;
    if (!reserve_entries(t, 1) || !reserve_bytes(t, aligned)) {
        txn_failed(c);
        return NULL;
    }
    void *copy = t->bytes + t->used;
    t->log[t->len++] = (jq_undo_entry){.kind = (uint8_t)kind,
                                       .len = (uint32_t)len,
                                       .ptr = addr,
                                       .offset = t->used};
    t->used += aligned;
    return copy;
}

void jq_undo_bytes(jq_core *c, void *addr, size_t len)
{
    void *copy = push_bytes(c, UNDO_BYTES, addr, len);
    if (copy)
        memcpy(copy, addr, len);
}

void jq_undo_run(jq_core *c, jq_run *run)
{
    jq_undo_bytes(c, run, sizeof *run);
}

void jq_undo_job(jq_core *c, jq_job *job)
{
    jq_undo_bytes(c, job, sizeof *job);
}

void jq_undo_created_run(jq_core *c, jq_run *run)
{
    push(c, UNDO_CREATED_RUN, run);
}

void jq_undo_created_job(jq_core *c, jq_job *job)
{
    push(c, UNDO_CREATED_JOB, job);
}

void jq_undo_created_ns(jq_core *c, jq_namespace *ns)
{
    push(c, UNDO_CREATED_NS, ns);
}

void jq_undo_idmap_put(jq_core *c, jq_run *run)
{
    push(c, UNDO_IDMAP_PUT, run);
}

void jq_undo_idmap_removed(jq_core *c, jq_run *run)
{
    push(c, UNDO_IDMAP_REMOVE, run);
}

void jq_undo_alloc(jq_core *c, void *ptr)
{
    if (ptr)
        push(c, UNDO_ALLOC, ptr);
}

void jq_defer_free(jq_core *c, void *ptr)
{
    /* If it cannot be recorded, it leaks: better than freeing memory a
     * rollback may need. */
    if (ptr)
        push(c, UNDO_FREE, ptr);
}

void jq_defer_free_run(jq_core *c, jq_run *run)
{
    push(c, UNDO_FREE_RUN, run);
}

void jq_undo_deploying(jq_core *c, jq_run *run)
{
    push(c, UNDO_DEPLOYING, run);
}

/* ---------------------------------------------------------------- lists */

static void save_links(jq_core *c, jq_run *run)
{
    if (run)
        jq_undo_bytes(c, &run->prev, 2 * sizeof run->prev);
}

void jq_tx_push_back(jq_core *c, jq_list *list, jq_run *run)
{
    jq_undo_bytes(c, list, sizeof *list);
    save_links(c, run);
    save_links(c, list->last);
    jq_list_push_back(list, run);
}

void jq_tx_remove(jq_core *c, jq_list *list, jq_run *run)
{
    jq_undo_bytes(c, list, sizeof *list);
    save_links(c, run);
    save_links(c, run->prev);
    save_links(c, run->next);
    jq_list_remove(list, run);
}

void jq_tx_insert_by_seq(jq_core *c, jq_list *list, jq_run *run)
{
    jq_run *before = list->first;
    while (before && before->id < run->id)
        before = before->next;
    jq_undo_bytes(c, list, sizeof *list);
    save_links(c, run);
    save_links(c, before);
    save_links(c, before ? before->prev : list->last);
    jq_list_insert_by_seq(list, run);
}

/* --------------------------------------------------------------- events */

void jq_txn_event(jq_core *c, const jobq_event *ev)
{
    jq_txn *t = &c->txn;
    if (t->events_len == t->events_cap) {
        size_t cap = t->events_cap ? t->events_cap * 2 : 16;
        jq_pending_event *events =
            injected_failure() ? NULL
                               : realloc(t->events, cap * sizeof *events);
        if (!events) {
            txn_failed(c);
            return;
        }
        t->events = events;
        t->events_cap = cap;
    }
    jq_pending_event *p = &t->events[t->events_len];
    p->event = *ev;
    p->detail = NULL;
    if (ev->detail && *ev->detail) {
        if (!(p->detail = jq_copy_string(ev->detail))) {
            txn_failed(c);
            return;
        }
        p->event.detail = p->detail;
    }
    t->events_len++;
}

static void drop_events(jq_txn *t, size_t keep)
{
    for (size_t i = keep; i < t->events_len; i++)
        free(t->events[i].detail);
    t->events_len = keep < t->events_len ? keep : t->events_len;
}

/* ------------------------------------------------------------ savepoint */

/* A savepoint copies every busy namespace, as it is then, in one entry:
 * its address and its bytes but for its queues' refusal texts (512 bytes,
 * almost always empty, that only set_refusal_text() in transitions.c
 * changes, recording them then). A namespace at rest is left out: a
 * replay of a real log (bench/bench_sim.sh) has hundreds of namespaces
 * of which a handful have work at any time, and savepoints come at least
 * twice a cycle. Nothing a call does changes a namespace at rest without
 * first making it busy (a run queued in it, or deployed through the
 * legacy flow), or changing it whole (the WRR reset of a new share):
 * those paths call jq_undo_ns(), which copies it then. JOBQ_UNDO_VERIFY
 * (the test suites set it) checks that every rollback restored every
 * namespace byte for byte. */
#define NS_TEXT_SIZE sizeof(((jq_queue *)0)->head_refusal)
#define NS_SNAPSHOT_SIZE \
    (sizeof(jq_namespace *) + sizeof(jq_namespace) - JQ_PRIORITIES * NS_TEXT_SIZE)
#define NS_SNAPSHOT_ROOM ((NS_SNAPSHOT_SIZE + 7) & ~(size_t)7)

/* The namespace's bytes outside the refusal texts: before the first text,
 * between the two, after the second. Constants, so that the copies below
 * compile to a few moves each. */
_Static_assert(JQ_PRIORITIES == 2, "one refusal text per priority");
#define NS_TEXT0 offsetof(jq_namespace, queue[0].head_refusal)
#define NS_TEXT1 offsetof(jq_namespace, queue[1].head_refusal)
#define NS_PART0 NS_TEXT0
#define NS_PART1 (NS_TEXT1 - NS_TEXT0 - NS_TEXT_SIZE)
#define NS_PART2 (sizeof(jq_namespace) - NS_TEXT1 - NS_TEXT_SIZE)

static bool ns_at_rest(const jq_namespace *ns)
{
    for (int p = 0; p < JQ_PRIORITIES; p++) {
        const jq_queue *q = &ns->queue[p];
        if (q->runs.first || q->head_blocked || q->head_refusals ||
            q->head_refused_run || q->head_retry_at)
            return false;
    }
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        if (ns->allocated.amount[d] != 0)
            return false;
    return true;
}

static unsigned char *copy_namespace(unsigned char *out, jq_namespace *ns)
{
    const unsigned char *at = (const unsigned char *)ns;
    memcpy(out, &ns, sizeof ns);
    out += sizeof ns;
    memcpy(out, at, NS_PART0);
    out += NS_PART0;
    memcpy(out, at + NS_TEXT0 + NS_TEXT_SIZE, NS_PART1);
    out += NS_PART1;
    memcpy(out, at + NS_TEXT1 + NS_TEXT_SIZE, NS_PART2);
    return out + NS_PART2;
}

/* Copies the busy namespaces (all have their ns_live bit set); returns
 * how many were left out. */
static size_t snapshot_namespaces(jq_core *c)
{
    jq_txn *t = &c->txn;
    /* Copied first, counted after: the entry is sized once the busy ones
     * are known (the room for all was reserved by the caller). */
    size_t at = t->used, busy = 0;
    unsigned char *out = t->bytes + at;
    for (size_t i = jq_core_next_live(c, 0); i < c->ns_count;
         i = jq_core_next_live(c, i + 1)) {
        jq_namespace *ns = c->ns_order[i];
        if (ns_at_rest(ns))
            continue;
        out = copy_namespace(out, ns);
        ns->undo_saved = t->savepoints;
        busy++;
    }
    if (busy) {
        unsigned char *entry = push_bytes(c, UNDO_NAMESPACES, NULL,
                                          busy * NS_SNAPSHOT_SIZE);
        (void)entry; /* == t->bytes + at: room was reserved */
    }
    return c->ns_count - busy;
}

/* At a commit: the namespaces now at rest leave the live set (no rollback
 * reaches behind a commit; jq_undo_ns puts them back when they get work). */
static void prune_live(jq_core *c)
{
    for (size_t i = jq_core_next_live(c, 0); i < c->ns_count;
         i = jq_core_next_live(c, i + 1))
        if (ns_at_rest(c->ns_order[i]))
            c->ns_live[i / 64] &= ~((uint64_t)1 << (i % 64));
}

void jq_undo_ns(jq_core *c, jq_namespace *ns)
{
    jq_txn *t = &c->txn;
    if (!ns_at_rest(ns))
        return; /* copied by the savepoint, or since it got work */
    jq_core_mark_live(c, ns->index);
    if (ns->undo_saved == t->savepoints)
        return;
    /* Room kept for it by the savepoint: give it back to this copy. */
    if (t->spare_entries > 0 && t->spare_bytes >= NS_SNAPSHOT_ROOM) {
        t->spare_entries--;
        t->spare_bytes -= NS_SNAPSHOT_ROOM;
    }
    unsigned char *out = push_bytes(c, UNDO_NAMESPACES, NULL,
                                    NS_SNAPSHOT_SIZE);
    if (!out)
        return;
    copy_namespace(out, ns);
    ns->undo_saved = t->savepoints;
}

static void restore_namespaces(const unsigned char *in, size_t bytes)
{
    for (size_t n = bytes / NS_SNAPSHOT_SIZE; n > 0; n--) {
        jq_namespace *ns;
        memcpy(&ns, in, sizeof ns);
        in += sizeof ns;
        unsigned char *at = (unsigned char *)ns;
        memcpy(at, in, NS_PART0);
        in += NS_PART0;
        memcpy(at + NS_TEXT0 + NS_TEXT_SIZE, in, NS_PART1);
        in += NS_PART1;
        memcpy(at + NS_TEXT1 + NS_TEXT_SIZE, in, NS_PART2);
        in += NS_PART2;
    }
}

/* JOBQ_UNDO_VERIFY: every namespace whole at each savepoint; a rollback
 * to it must give back exactly these bytes. */
#define NS_VERIFY_SIZE (sizeof(jq_namespace *) + sizeof(jq_namespace))

static void verify_copy(jq_core *c)
{
    for (size_t i = 0; i < c->ns_count; i++)
        if (!ns_at_rest(c->ns_order[i]) &&
            !(c->ns_live[i / 64] & ((uint64_t)1 << (i % 64)))) {
            fprintf(stderr, "libjobq: JOBQ_UNDO_VERIFY: namespace %s has "
                    "work but is not in the live set\n",
                    c->ns_order[i]->name);
            abort();
        }
    unsigned char *out = push_bytes(c, UNDO_VERIFY, NULL,
                                    c->ns_count * NS_VERIFY_SIZE);
    for (size_t i = 0; out && i < c->ns_count; i++) {
        jq_namespace *ns = c->ns_order[i];
        memcpy(out, &ns, sizeof ns);
        memcpy(out + sizeof ns, ns, sizeof *ns);
        out += NS_VERIFY_SIZE;
    }
}

static void verify_restored(const jq_txn *t, size_t from)
{
    size_t i = from;
    while (i < t->len && t->log[i].kind != UNDO_VERIFY)
        i++;
    if (i == t->len)
        return;
    const unsigned char *in = t->bytes + t->log[i].offset;
    for (size_t n = t->log[i].len / NS_VERIFY_SIZE; n > 0; n--) {
        const jq_namespace *ns;
        memcpy(&ns, in, sizeof ns);
        const unsigned char *was = in + sizeof ns;
        const unsigned char *is = (const unsigned char *)ns;
        for (size_t b = 0; b < sizeof *ns; b++)
            if (was[b] != is[b]) {
                fprintf(stderr, "libjobq: JOBQ_UNDO_VERIFY: a rollback "
                        "left namespace %s changed at byte %zu of %zu\n",
                        ns->name, b, sizeof *ns);
                abort();
            }
        in += NS_VERIFY_SIZE;
    }
}

void jq_txn_init(jq_core *c)
{
    const char *v = getenv("JOBQ_UNDO_VERIFY");
    c->txn.verify = v && *v && strcmp(v, "0") != 0;
}

/* Keep room for copying every namespace a savepoint left out (at most
 * `count` copies), as far as the buffers already allow. */
static void keep_spare(jq_txn *t, size_t count)
{
    size_t entries = t->cap - t->len, bytes = t->bytes_cap - t->used;
    t->spare_entries = count < entries ? count : entries;
    size_t room = t->spare_entries * NS_SNAPSHOT_ROOM;
    t->spare_bytes = room < bytes ? room : bytes - bytes % NS_SNAPSHOT_ROOM;
    if (t->spare_bytes / NS_SNAPSHOT_ROOM < t->spare_entries)
        t->spare_entries = t->spare_bytes / NS_SNAPSHOT_ROOM;
}

jq_txn_mark jq_txn_mark_now(jq_core *c)
{
    jq_txn *t = &c->txn;
    t->savepoints++;
    t->spare_entries = 0;
    t->spare_bytes = 0;
    jq_txn_mark mark = {.generation = t->generation,
                        .len = t->len,
                        .used = t->used,
                        .events = t->events_len};
    /* Room for the snapshot below (every namespace, busy or not: those
     * left out may be copied later), and a call's usual changes, so that
     * a call that cannot get it fails before changing anything. */
    size_t bytes = sizeof(core_scalars) + c->ns_count * NS_SNAPSHOT_ROOM +
                   2048;
    if (t->verify)
        bytes += c->ns_count * NS_VERIFY_SIZE + 8;
    if (!reserve_entries(t, 64 + c->ns_count) || !reserve_bytes(t, bytes)) {
        txn_failed(c);
        return mark;
    }
    core_scalars *s = push_bytes(c, UNDO_SCALARS, NULL, sizeof *s);
    if (s) {
        memset(s, 0, sizeof *s);
        s->config = c->config;
        s->ns_count = c->ns_count;
        s->ns_turn = c->ns_turn;
        s->queued = c->queued;
        s->next_id = c->next_id;
        s->cycle = c->cycle;
        s->last_tick = c->last_tick;
    }
    if (t->verify)
        verify_copy(c);
    keep_spare(t, snapshot_namespaces(c));
    return mark;
}

static void truncate_log(jq_txn *t)
{
    t->len = 0;
    t->used = 0;
    t->spare_entries = 0;
    t->spare_bytes = 0;
    t->generation++;
}

void jq_txn_commit(jq_core *c)
{
    jq_txn *t = &c->txn;
    /* Deliver first: pending events may point into memory freed below. */
    for (size_t i = 0; i < t->events_len; i++) {
        if (c->emit)
            c->emit(c->emit_ctx, &t->events[i].event);
        free(t->events[i].detail);
    }
    t->events_len = 0;
    for (size_t i = 0; i < t->len; i++) {
        jq_undo_entry *e = &t->log[i];
        if (e->kind == UNDO_FREE)
            free(e->ptr);
        else if (e->kind == UNDO_FREE_RUN)
            jq_free_run(e->ptr);
    }
    truncate_log(t);
    t->commits++;
    t->savepoints++; /* what a savepoint copied is no longer recorded */
    prune_live(c);
}

void jq_txn_destroy(jq_core *c)
{
    jq_txn *t = &c->txn;
    drop_events(t, 0);
    for (size_t i = 0; i < t->len; i++) {
        jq_undo_entry *e = &t->log[i];
        if (e->kind == UNDO_FREE)
            free(e->ptr);
        else if (e->kind == UNDO_FREE_RUN)
            jq_free_run(e->ptr);
    }
    free(t->log);
    free(t->bytes);
    free(t->events);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------- rollback */

static void free_job(jq_job *job)
{
    free(job->name);
    free(job->domain);
    free(job->payload);
    free(job);
}

static void free_namespace(jq_namespace *ns)
{
    free(ns->name);
    free(ns);
}

static void restore_scalars(jq_core *c, const core_scalars *s)
{
    c->config = s->config;
    c->ns_count = s->ns_count;
    c->ns_turn = s->ns_turn;
    c->queued = s->queued;
    c->next_id = s->next_id;
    c->cycle = s->cycle;
    c->last_tick = s->last_tick;
}

/* A run whose deployer was called after its DEPLOYING record committed:
 * put it where reopening the file would (restore.c), deployed and
 * unsettled. */
static void settle_later(jq_core *c, jq_run *run)
{
    if (run->state != JOBQ_RUN_DEPLOYING)
        return;
    /* A queued run is deployed from the head of its queue, where it still
     * is; a legacy run is in no list while it is being deployed. */
    jq_queue *q = jq_queue_of(run);
    if (run->flow == JOBQ_FLOW_PRIORITY &&
        (q->runs.first == run || run->prev)) {
        bool was_head = q->runs.first == run;
        jq_list_remove(&q->runs, run);
        c->queued--;
        if (was_head)
            jq_reset_head_state(q);
    }
    jq_list_push_back(&c->running, run);
    jq_allocate(run);
}

void jq_txn_rollback(jq_core *c, const jq_txn_mark *mark)
{
    jq_txn *t = &c->txn;
    bool whole = !mark || mark->generation != t->generation;
    size_t to = whole ? 0 : mark->len;
    /* The copies a savepoint leaves out are counted against the spare
     * room; undone, they may be needed again. */
    t->spare_entries = 0;
    t->spare_bytes = 0;
    for (size_t i = t->len; i-- > to;) {
        jq_undo_entry *e = &t->log[i];
        switch (e->kind) {
        case UNDO_BYTES:
            memcpy(e->ptr, t->bytes + e->offset, e->len);
            break;
        case UNDO_SCALARS:
            restore_scalars(c, (const core_scalars *)(t->bytes + e->offset));
            break;
        case UNDO_NAMESPACES:
            restore_namespaces(t->bytes + e->offset, e->len);
            break;
        case UNDO_CREATED_RUN:
            jq_free_run(e->ptr);
            break;
        case UNDO_CREATED_JOB:
            jq_strmap_remove(&c->jobs, ((jq_job *)e->ptr)->name);
            free_job(e->ptr);
            break;
        case UNDO_CREATED_NS:
            jq_strmap_remove(&c->namespaces, ((jq_namespace *)e->ptr)->name);
            free_namespace(e->ptr);
            break;
        case UNDO_IDMAP_PUT:
            jq_idmap_remove(&c->runs, ((jq_run *)e->ptr)->id);
            break;
        case UNDO_IDMAP_REMOVE:
            /* Cannot fail: removing never shrinks the table. */
            (void)jq_idmap_put(&c->runs, e->ptr);
            break;
        case UNDO_ALLOC:
            free(e->ptr);
            break;
        default: /* UNDO_FREE, UNDO_FREE_RUN, UNDO_DEPLOYING: below */
            break;
        }
    }
    if (t->verify)
        verify_restored(t, to);
    /* Once everything after the commit is undone: the runs whose deployer
     * was called. (An UNDO_DEPLOYING entry always follows a commit, or the
     * savepoint a cycle takes when it relocks after its deploy calls:
     * cycle.c, record_deploying; a rollback to that savepoint or a whole
     * one meets it.) */
    for (size_t i = to; i < t->len; i++)
        if (t->log[i].kind == UNDO_DEPLOYING)
            settle_later(c, t->log[i].ptr);
    if (whole) {
        drop_events(t, 0);
        truncate_log(t);
    } else {
        drop_events(t, mark->events);
        t->len = mark->len;
        t->used = mark->used;
        keep_spare(t, c->ns_count);
    }
}
