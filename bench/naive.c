/*
 * bench-naive: the queue a user could write in an afternoon, as the
 * baseline libjobq must beat (issue 11). One SQLite table of runs, polled
 * at every scheduling pass, one transaction per pass; the same policy as
 * libjobq (SPEC section 2: per-namespace FIFO queues whose head decides,
 * smooth weighted round robin between high and normal, namespaces in turn,
 * at most batchSize deployments per pass, the `blocked` event only when a
 * head newly blocks) on the same scenario file, stepping the virtual clock
 * as jobq-sim does (skipping steps in which nothing can happen).
 *
 *   bench-naive [--text] --db FILE [--durability full|normal] SCENARIO.json
 *
 * It prints one line of totals (cycles, deployed, finished, blocked, the
 * sum of waits) that bench_throughput.sh checks against jobq-sim's event
 * stream: same policy, same outcome. Not supported (refused): legacy runs,
 * stale quota, quota changes, head timeouts that fire.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

enum { QUEUED = 0, RUNNING = 1, DONE = 2 };

typedef struct queue_state {
    int64_t wrr; /* smooth WRR current value */
    bool blocked;
    int resource;
} queue_state;

typedef struct naive {
    sim_scenario sc;
    sqlite3 *db;
    sqlite3_stmt *insert, *running, *finish, *head, *used, *deploy, *next_end;
    size_t *order;   /* namespaces in the order runs first name them */
    size_t ns_count; /* namespaces with runs */
    queue_state (*q)[2];
    bool *probed; /* per namespace, this pass: */
    int64_t (*room)[JOBQ_RESOURCE_COUNT];
    bool (*ineligible)[2];
    size_t turn;
    int64_t batch, share;
    uint64_t cycles, deployed, finished, blocked;
    int64_t wait_sum_ms;
    uint64_t events_in_step;
} naive;

static void die(naive *n, const char *what)
{
    fprintf(stderr, "bench-naive: %s: %s\n", what,
            n->db ? sqlite3_errmsg(n->db) : "?");
    exit(1);
}

static void exec(naive *n, const char *sql)
{
    if (sqlite3_exec(n->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(n, sql);
}

static sqlite3_stmt *prepare(naive *n, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) != SQLITE_OK)
        die(n, sql);
    return st;
}

static void step_done(naive *n, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        die(n, "step");
    sqlite3_reset(st);
}

static void open_db(naive *n, const char *path, bool full)
{
    if (sqlite3_open(path, &n->db) != SQLITE_OK)
        die(n, "open");
    exec(n, "PRAGMA journal_mode = WAL");
    exec(n, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    exec(n, "CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT, job TEXT,"
            " ns INTEGER, priority INTEGER, state INTEGER, cpu INTEGER,"
            " memory INTEGER, pods INTEGER, storage INTEGER,"
            " submit_at INTEGER, duration INTEGER, deployed_at INTEGER,"
            " ended_at INTEGER);"
            "CREATE INDEX runs_state ON runs (state);"
            "CREATE INDEX runs_queue ON runs (ns, priority, state, id);");
    n->insert = prepare(n, "INSERT INTO runs (id, name, job, ns, priority,"
                           " state, cpu, memory, pods, storage, submit_at,"
                           " duration) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7,"
                           " ?8, ?9, ?10, ?11)");
    n->running = prepare(n, "SELECT id, deployed_at + duration FROM runs"
                            " WHERE state = 1 ORDER BY deployed_at, id");
    n->finish = prepare(n, "UPDATE runs SET state = 2, ended_at = ?2"
                           " WHERE id = ?1");
    n->head = prepare(n, "SELECT id, cpu, memory, pods, storage, submit_at"
                         " FROM runs WHERE ns = ?1 AND priority = ?2"
                         " AND state = 0 ORDER BY id LIMIT 1");
    n->used = prepare(n, "SELECT total(cpu), total(memory), total(pods),"
                         " total(storage) FROM runs WHERE ns = ?1"
                         " AND state = 1");
    n->deploy = prepare(n, "UPDATE runs SET state = 1, deployed_at = ?2"
                           " WHERE id = ?1");
    n->next_end = prepare(n, "SELECT min(deployed_at + duration) FROM runs"
                             " WHERE state = 1");
}

/* The settings the policy needs, from the scenario's config document. */
static void read_config(naive *n)
{
    n->batch = 20;
    n->share = 90;
    cJSON *doc = n->sc.config_json ? cJSON_Parse(n->sc.config_json) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(doc, "services"),
                "jobOrchestrator"),
            "settings"),
        "batchSize");
    if (cJSON_IsNumber(v))
        n->batch = (int64_t)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "systemProperties"),
        "job-orchestrator.queue.high.scheduling-share-percentage");
    if (cJSON_IsNumber(v))
        n->share = (int64_t)v->valuedouble;
    cJSON_Delete(doc);
}

static void check_supported(naive *n)
{
    if (n->sc.quota_change_count) {
        fprintf(stderr, "bench-naive: quota changes are not supported\n");
        exit(2);
    }
    for (size_t i = 0; i < n->sc.run_count; i++)
        if (n->sc.runs[i].flow == JOBQ_FLOW_LEGACY ||
            n->sc.runs[i].stale_quota_times) {
            fprintf(stderr, "bench-naive: legacy runs and stale quota are "
                            "not supported\n");
            exit(2);
        }
    /* Namespaces in the order libjobq meets them: declaration order,
     * those without runs left out. */
    bool *has = calloc(n->sc.namespace_count + 1, sizeof *has);
    n->order = calloc(n->sc.namespace_count + 1, sizeof *n->order);
    n->q = calloc(n->sc.namespace_count + 1, sizeof *n->q);
    n->probed = calloc(n->sc.namespace_count + 1, sizeof *n->probed);
    n->room = calloc(n->sc.namespace_count + 1, sizeof *n->room);
    n->ineligible = calloc(n->sc.namespace_count + 1, sizeof *n->ineligible);
    for (size_t i = 0; i < n->sc.run_count; i++)
        has[n->sc.runs[i].ns] = true;
    for (size_t i = 0; i < n->sc.namespace_count; i++)
        if (has[i])
            n->order[n->ns_count++] = i;
    free(has);
}

static size_t submitted;

static void submit_due(naive *n, jobq_time_ms now)
{
    while (submitted < n->sc.run_count) {
        size_t i = n->sc.submit_order[submitted];
        const sim_run *r = &n->sc.runs[i];
        if (r->submit_at > now)
            break;
        sqlite3_stmt *st = n->insert;
        sqlite3_bind_int64(st, 1, (int64_t)++submitted);
        sqlite3_bind_text(st, 2, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->job, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (int64_t)r->ns);
        sqlite3_bind_int(st, 5, r->priority);
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            sqlite3_bind_int64(st, 6 + d, r->request.amount[d]);
        sqlite3_bind_int64(st, 10, r->submit_at);
        sqlite3_bind_int64(st, 11, r->duration);
        step_done(n, st);
        n->events_in_step++;
    }
}

/* Poll every running run: the naive reconcile. */
static void reconcile(naive *n, jobq_time_ms now)
{
    int64_t ids[4096];
    size_t count = 0;
    for (;;) {
        count = 0;
        while (count < 4096 && sqlite3_step(n->running) == SQLITE_ROW) {
            if (sqlite3_column_int64(n->running, 1) <= now)
                ids[count++] = sqlite3_column_int64(n->running, 0);
        }
        sqlite3_reset(n->running);
        for (size_t i = 0; i < count; i++) {
            sqlite3_bind_int64(n->finish, 1, ids[i]);
            sqlite3_bind_int64(n->finish, 2, now);
            step_done(n, n->finish);
        }
        n->finished += count;
        n->events_in_step += count;
        if (count < 4096)
            return;
    }
}

typedef struct head {
    int64_t id, req[JOBQ_RESOURCE_COUNT], submit_at;
} head;

static bool read_head(naive *n, size_t ns, int prio, head *h)
{
    sqlite3_bind_int64(n->head, 1, (int64_t)ns);
    sqlite3_bind_int(n->head, 2, prio);
    bool found = sqlite3_step(n->head) == SQLITE_ROW;
    if (found) {
        h->id = sqlite3_column_int64(n->head, 0);
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            h->req[d] = sqlite3_column_int64(n->head, 1 + d);
        h->submit_at = sqlite3_column_int64(n->head, 5);
    }
    sqlite3_reset(n->head);
    return found;
}

static void read_used(naive *n, size_t ns, int64_t used[JOBQ_RESOURCE_COUNT])
{
    sqlite3_bind_int64(n->used, 1, (int64_t)ns);
    if (sqlite3_step(n->used) != SQLITE_ROW)
        die(n, "used");
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        used[d] = (int64_t)sqlite3_column_double(n->used, d);
    sqlite3_reset(n->used);
}

/* One namespace's turn (libjobq's serve_namespace). */
static bool serve(naive *n, size_t ns, jobq_time_ms now, bool *probed,
                  int64_t used[JOBQ_RESOURCE_COUNT], bool ineligible[2])
{
    int64_t weight[2] = {n->share, 100 - n->share};
    for (;;) {
        bool eligible[2];
        head heads[2];
        for (int p = 0; p < 2; p++)
            eligible[p] = !ineligible[p] && read_head(n, ns, p, &heads[p]);
        int chosen = -1;
        int64_t best = 0;
        for (int p = 0; p < 2; p++)
            if (eligible[p] &&
                (chosen < 0 || n->q[ns][p].wrr + weight[p] > best)) {
                chosen = p;
                best = n->q[ns][p].wrr + weight[p];
            }
        if (chosen < 0)
            return false;
        if (!*probed) {
            read_used(n, ns, used);
            *probed = true;
        }
        const head *h = &heads[chosen];
        queue_state *q = &n->q[ns][chosen];
        int shortfall = -1;
        for (int d = 0; d < JOBQ_RESOURCE_COUNT && shortfall < 0; d++) {
            int64_t hard = n->sc.namespaces[ns].hard.amount[d];
            if (hard != JOBQ_UNLIMITED && h->req[d] > hard - used[d])
                shortfall = d;
        }
        if (shortfall >= 0) {
            ineligible[chosen] = true;
            if (!(q->blocked && q->resource == shortfall)) {
                n->blocked++;
                n->events_in_step++;
            }
            q->blocked = true;
            q->resource = shortfall;
            continue;
        }
        q->blocked = false;
        sqlite3_bind_int64(n->deploy, 1, h->id);
        sqlite3_bind_int64(n->deploy, 2, now);
        step_done(n, n->deploy);
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            used[d] += h->req[d];
        n->deployed++;
        n->events_in_step++;
        n->wait_sum_ms += now - h->submit_at;
        int64_t total = 0;
        for (int p = 0; p < 2; p++)
            if (eligible[p]) {
                n->q[ns][p].wrr += weight[p];
                total += weight[p];
            }
        q->wrr -= total;
        return true;
    }
}

static void admit(naive *n, jobq_time_ms now)
{
    if (n->ns_count == 0)
        return;
    memset(n->probed, 0, n->ns_count * sizeof *n->probed);
    memset(n->ineligible, 0, n->ns_count * sizeof *n->ineligible);
    int64_t budget = n->batch;
    size_t idle = 0, turn = n->turn % n->ns_count;
    while (budget > 0 && idle < n->ns_count) {
        size_t k = turn;
        turn = (turn + 1) % n->ns_count;
        if (!serve(n, n->order[k], now, &n->probed[k], n->room[k],
                   n->ineligible[k])) {
            idle++;
            continue;
        }
        budget--;
        idle = 0;
        n->turn = turn;
    }
}

static jobq_time_ms next_step(naive *n, jobq_time_ms now)
{
    jobq_time_ms tick = n->sc.tick;
    if (n->events_in_step > 0)
        return now + tick;
    jobq_time_ms t = INT64_MAX;
    if (sqlite3_step(n->next_end) == SQLITE_ROW &&
        sqlite3_column_type(n->next_end, 0) != SQLITE_NULL)
        t = sqlite3_column_int64(n->next_end, 0);
    sqlite3_reset(n->next_end);
    if (submitted < n->sc.run_count) {
        jobq_time_ms s = n->sc.runs[n->sc.submit_order[submitted]].submit_at;
        if (s < t)
            t = s;
    }
    if (t == INT64_MAX)
        return t;
    if (t <= now + tick)
        return now + tick;
    return now + (t - now + tick - 1) / tick * tick;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)size : 0;
    return buf;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *path = NULL;
    bool full = true, text = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--durability") == 0 && i + 1 < argc)
            full = strcmp(argv[++i], "normal") != 0;
        else if (strcmp(argv[i], "--text") == 0)
            text = true;
        else
            path = argv[i];
    }
    if (!db || !path) {
        fprintf(stderr, "usage: bench-naive [--text] --db FILE "
                        "[--durability full|normal] SCENARIO.json\n");
        return 2;
    }
    naive n = {0};
    size_t len;
    char *text_in = read_file(path, &len);
    char err[512];
    if (!text_in || sim_scenario_parse(&n.sc, text_in, len, err, sizeof err)) {
        fprintf(stderr, "bench-naive: %s\n", text_in ? err : "cannot read");
        return 1;
    }
    free(text_in);
    read_config(&n);
    check_supported(&n);
    open_db(&n, db, full);
    jobq_time_ms now = 0;
    while (submitted < n.sc.run_count || n.finished < n.sc.run_count) {
        n.events_in_step = 0;
        n.cycles++;
        exec(&n, "BEGIN IMMEDIATE");
        submit_due(&n, now);
        reconcile(&n, now);
        admit(&n, now);
        exec(&n, "COMMIT");
        if (n.finished == n.sc.run_count)
            break;
        now = next_step(&n, now);
        if (now == INT64_MAX) {
            fprintf(stderr, "bench-naive: runs remain but nothing can "
                            "happen to them\n");
            return 1;
        }
    }
    printf("{\"naive\":{\"deployed\":%" PRIu64 ",\"finished\":%" PRIu64
           ",\"blocked\":%" PRIu64 ",\"wait_ms_sum\":%" PRId64 "}}\n",
           n.deployed, n.finished, n.blocked, n.wait_sum_ms);
    if (text)
        fprintf(stderr, "bench-naive: %" PRIu64 " scheduling cycles\n",
                n.cycles);
    sqlite3_stmt *all[] = {n.insert, n.running, n.finish,  n.head,
                           n.used,   n.deploy,  n.next_end};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(n.db);
    sim_scenario_free(&n.sc);
    free(n.order);
    free(n.q);
    free(n.probed);
    free(n.room);
    free(n.ineligible);
    return 0;
}
