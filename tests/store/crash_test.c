/*
 * The crash test: start crash-writer against a real database file, kill it
 * with SIGKILL at a random moment, check the database, and do it again,
 * many times over the same file.
 *
 *   crash-test WRITER [--kills N] [--seed S] [--keep DIR]
 *              [--submitter SUBMITTER]
 *   crash-test --check DIR     only the final checks of a kept directory
 *                              (after its writer ran with --drain)
 *
 * With --submitter, two crash-submitter processes submit runs through the
 * database (client handles) the whole time, and after every kill:
 *   6. every acknowledged request (requests-<n>.log) is in the file; if it
 *      was applied, its outcome is recorded (status 0, its runs' ids) and
 *      each of its idempotency keys has exactly one run, the one the
 *      outcome names; if it is still pending, none of its keys has a run
 *      (nothing applied without its outcome, nothing applied twice).
 * At the end the submitters are stopped, the writer runs once with
 * --drain, and every acknowledged request must have its outcome.
 *
 * After every kill (reading the file directly with SQLite, so that nothing
 * is reconciled before it is checked):
 *   1. PRAGMA integrity_check is "ok";
 *   2. every acknowledged submit (acks.log) is present exactly once: one
 *      run carries its idempotency key, and it has the acknowledged id;
 *   3. no run was ever deployed twice (deploys.log over the whole history);
 *   4. every deployed run is recorded past QUEUED (DEPLOYING was durable
 *      before the deployer was called, and nothing put it back);
 *   5. FIFO: within each (namespace, priority) queue, runs were deployed in
 *      increasing id (submission) order across all restarts, and no run
 *      still queued is older than one deployed from its queue.
 * Prints kills, runs, deploys and violations; exits 1 on any violation.
 */
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QUEUES 16 /* namespaces ns-0..ns-7 x 2 priorities, more than used */
#define MAX_ID 1000000

#define SUBMITTERS 2

typedef struct checker {
    char dir[256];
    /* Outside submitters: lines of requests-<n>.log already found applied
     * (final: an applied request's outcome cannot change), and counts. */
    long done_lines[SUBMITTERS + 1];
    unsigned long requests_acked, requests_applied, requests_pending;
    sqlite3 *db;
    unsigned long violations;
    unsigned long deploys;
    long long runs;
    unsigned char *deploy_count; /* per run id */
} checker;

static void violation(checker *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void violation(checker *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->violations++;
    fprintf(stderr, "VIOLATION: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static long long query_int(checker *c, const char *sql, const char *text,
                           long long arg)
{
    sqlite3_stmt *stmt = NULL;
    long long value = -1;
    if (sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return -2;
    if (text)
        sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(stmt, 1, arg);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

static FILE *open_log(checker *c, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    return fopen(path, "r");
}

static void check_integrity(checker *c)
{
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &stmt, NULL);
    const unsigned char *text = NULL;
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        text = sqlite3_column_text(stmt, 0);
    if (!text || strcmp((const char *)text, "ok") != 0)
        violation(c, "integrity_check failed");
    sqlite3_finalize(stmt);
}

static void check_acks(checker *c)
{
    FILE *f = open_log(c, "acks.log");
    char line[128], key[40];
    unsigned long long k, id;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "A %llu %llu", &k, &id) != 2)
            continue; /* a torn last line: never acknowledged */
        snprintf(key, sizeof key, "k%llu", k);
        long long count = query_int(c, "SELECT count(*) FROM runs WHERE "
                                       "idempotency_key = ?1", key, 0);
        long long found = query_int(c, "SELECT id FROM runs WHERE "
                                       "idempotency_key = ?1", key, 0);
        if (count != 1)
            violation(c, "acknowledged key k%lld present %lld times",
                      (long long)k, count);
        else if (found != (long long)id)
            violation(c, "key k%lld acknowledged as run %lld, stored as "
                      "another", (long long)k, (long long)id);
    }
    if (f)
        fclose(f);
}

static int queue_index(const char *ns, int priority)
{
    int n = 0;
    if (sscanf(ns, "ns-%d", &n) != 1 || n < 0 || n >= QUEUES / 2)
        return -1;
    return n * 2 + (priority ? 1 : 0);
}

static void check_deploys(checker *c, long long last_deployed[QUEUES])
{
    FILE *f = open_log(c, "deploys.log");
    char line[128], ns[64];
    unsigned long long id;
    int priority;
    memset(c->deploy_count, 0, MAX_ID);
    c->deploys = 0;
    for (int q = 0; q < QUEUES; q++)
        last_deployed[q] = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "D %llu %63s %d", &id, ns, &priority) != 3 ||
            id >= MAX_ID)
            continue;
        c->deploys++;
        if (++c->deploy_count[id] == 2)
            violation(c, "run %lld deployed twice", (long long)id);
        int q = queue_index(ns, priority);
        if (q >= 0 && (long long)id <= last_deployed[q])
            violation(c, "run %lld deployed after run %lld of its queue "
                      "(FIFO)", (long long)id, last_deployed[q]);
        if (q >= 0 && (long long)id > last_deployed[q])
            last_deployed[q] = (long long)id;
        long long state = query_int(c, "SELECT state FROM runs WHERE id = ?1",
                                    NULL, (long long)id);
        if (state == 0 || state == -1)
            violation(c, "deployed run %lld is recorded as %lld (queued or "
                      "missing)", (long long)id, state);
    }
    if (f)
        fclose(f);
}

/* No queued run is older than a run deployed from its queue. */
static void check_queued(checker *c, const long long last_deployed[QUEUES])
{
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2(c->db, "SELECT r.id, n.name, r.priority FROM runs r "
                       "JOIN namespaces n ON n.id = r.ns_id WHERE r.state = 0",
                       -1, &stmt, NULL);
    while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        long long id = sqlite3_column_int64(stmt, 0);
        int q = queue_index((const char *)sqlite3_column_text(stmt, 1),
                            sqlite3_column_int(stmt, 2));
        if (q >= 0 && id < last_deployed[q])
            violation(c, "queued run %lld was overtaken by run %lld", id,
                      last_deployed[q]);
    }
    sqlite3_finalize(stmt);
}

/* The runs of an applied request's outcome, "1,2,3". */
static int outcome_ids(checker *c, long long request, long long *ids,
                       int cap)
{
    sqlite3_stmt *stmt = NULL;
    int n = 0;
    sqlite3_prepare_v2(c->db, "SELECT run_ids FROM requests WHERE id = ?1",
                       -1, &stmt, NULL);
    sqlite3_bind_int64(stmt, 1, request);
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_text(stmt, 0)) {
        const char *p = (const char *)sqlite3_column_text(stmt, 0);
        while (*p && n < cap) {
            char *end;
            ids[n++] = strtoll(p, &end, 10);
            p = *end == ',' ? end + 1 : end;
            if (end == p && *p != ',')
                break;
        }
    }
    sqlite3_finalize(stmt);
    return n;
}

/* One acknowledged request; returns 1 if it is applied (and checked). */
static int check_request(checker *c, int submitter, long long first,
                         long long count, long long request, bool final)
{
    long long applied = query_int(c, "SELECT applied_at IS NOT NULL FROM "
                                     "requests WHERE id = ?1", NULL, request);
    if (applied < 0) {
        violation(c, "acknowledged request %lld (s%d-%lld) is lost", request,
                  submitter, first);
        return 0;
    }
    long long ids[8];
    int n = applied ? outcome_ids(c, request, ids, 8) : 0;
    if (applied) {
        long long status = query_int(c, "SELECT status FROM requests WHERE "
                                        "id = ?1", NULL, request);
        if (status != 0)
            violation(c, "request %lld was refused (%lld)", request, status);
        if (n != count)
            violation(c, "request %lld: outcome names %d runs, not %lld",
                      request, n, count);
    }
    for (long long i = 0; i < count; i++) {
        char key[48];
        snprintf(key, sizeof key, "s%d-%lld", submitter, first + i);
        long long runs = query_int(c, "SELECT count(*) FROM runs WHERE "
                                      "idempotency_key = ?1", key, 0);
        long long run = query_int(c, "SELECT id FROM runs WHERE "
                                     "idempotency_key = ?1", key, 0);
        if (applied && runs != 1)
            violation(c, "applied request %lld: key %s has %lld runs",
                      request, key, runs);
        else if (applied && i < n && run != ids[i])
            violation(c, "request %lld: key %s is run %lld, the outcome "
                      "says %lld", request, key, run, ids[i]);
        else if (!applied && runs != 0)
            violation(c, "pending request %lld: key %s already has a run "
                      "(applied without its outcome)", request, key);
    }
    if (!applied && final)
        violation(c, "request %lld has no outcome after the drain", request);
    return applied ? 1 : 0;
}

static void check_requests(checker *c, bool final)
{
    c->requests_acked = c->requests_applied = c->requests_pending = 0;
    for (int s = 1; s <= SUBMITTERS; s++) {
        char name[64], line[128];
        snprintf(name, sizeof name, "requests-%d.log", s);
        FILE *f = open_log(c, name);
        long lineno = 0;
        bool prefix_done = true;
        long long first, count, request;
        while (f && fgets(line, sizeof line, f)) {
            if (sscanf(line, "R %lld %lld %lld", &first, &count, &request) !=
                3)
                continue; /* a torn last line: never acknowledged */
            lineno++;
            c->requests_acked++;
            if (lineno <= c->done_lines[s]) {
                c->requests_applied++;
                continue;
            }
            int applied = check_request(c, s, first, count, request, final);
            c->requests_applied += (unsigned long)applied;
            c->requests_pending += (unsigned long)!applied;
            prefix_done = prefix_done && applied;
            if (prefix_done)
                c->done_lines[s] = lineno;
        }
        if (f)
            fclose(f);
    }
}

static void check(checker *c, bool with_requests, bool final)
{
    char path[512];
    snprintf(path, sizeof path, "%s/jobq.db", c->dir);
    if (access(path, F_OK) != 0)
        return; /* killed before it created the file */
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        violation(c, "cannot open the database");
        return;
    }
    sqlite3_busy_timeout(c->db, 5000);
    long long last_deployed[QUEUES];
    check_integrity(c);
    check_acks(c);
    check_deploys(c, last_deployed);
    check_queued(c, last_deployed);
    if (with_requests)
        check_requests(c, final);
    c->runs = query_int(c, "SELECT count(*) FROM runs WHERE id > ?1", NULL, 0);
    sqlite3_close(c->db);
    c->db = NULL;
}

static pid_t start_submitter(const char *submitter, const char *dir, int id)
{
    char id_text[16];
    snprintf(id_text, sizeof id_text, "%d", id);
    pid_t pid = fork();
    if (pid == 0) {
        execl(submitter, submitter, dir, id_text, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The last step with submitters: stop them, let a writer apply whatever
 * they left pending, then hold it to every outcome. */
static int drain(const char *writer, const char *dir, pid_t *submitters)
{
    for (int i = 0; i < SUBMITTERS; i++) {
        kill(submitters[i], SIGKILL);
        waitpid(submitters[i], NULL, 0);
    }
    pid_t pid = fork();
    if (pid == 0) {
        execl(writer, writer, dir, "1", "--drain", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "crash-test: the draining writer failed (%d)\n",
                status);
        return -1;
    }
    return 0;
}

/* Run the writer for a random 5..80 ms (times JOBQ_CRASH_TIME_SCALE) and
 * kill it. Until a writer has
 * created the schema, lives are 300..375 ms: on a loaded machine with slow
 * fsyncs, creating it can take longer than 80 ms, and a test that never
 * gets past it checks nothing. */
static int kill_once(const char *writer, const char *dir, unsigned seed,
                     bool fresh)
{
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%u", seed);
    pid_t pid = fork();
    if (pid == 0) {
        execl(writer, writer, dir, seed_text, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    /* A sanitizer build runs the writer many times slower: stretch the
     * window (JOBQ_CRASH_TIME_SCALE, e.g. 20 under TSan) so that kills
     * still land in the middle of its work. */
    const char *scale_text = getenv("JOBQ_CRASH_TIME_SCALE");
    long scale = scale_text ? atol(scale_text) : 1;
    if (scale < 1)
        scale = 1;
    long ms = ((fresh ? 300 : 5) + rand() % 76) * scale;
    struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
        fprintf(stderr, "crash-test: the writer exited by itself (status "
                "%d)\n", WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: crash-test WRITER [--kills N] [--seed S] "
                "[--keep DIR]\n");
        return 2;
    }
    if (strcmp(argv[1], "--check") == 0 && argc == 3) {
        checker k = {0};
        k.deploy_count = calloc(MAX_ID, 1);
        snprintf(k.dir, sizeof k.dir, "%s", argv[2]);
        check(&k, true, true);
        printf("crash-test --check: runs %lld, deploys %lu, requests %lu "
               "acknowledged and %lu applied, violations %lu\n", k.runs,
               k.deploys, k.requests_acked, k.requests_applied, k.violations);
        free(k.deploy_count);
        return k.violations == 0 ? 0 : 1;
    }
    int kills = 30;
    unsigned seed = (unsigned)time(NULL);
    const char *keep = NULL, *submitter = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--kills") == 0)
            kills = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = argv[i + 1];
        else if (strcmp(argv[i], "--submitter") == 0)
            submitter = argv[i + 1];
    }
    srand(seed);
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they come */
    checker c = {0};
    c.runs = -1; /* no database yet */
    c.deploy_count = calloc(MAX_ID, 1);
    if (keep)
        snprintf(c.dir, sizeof c.dir, "%s", keep);
    else {
        snprintf(c.dir, sizeof c.dir, "/tmp/jobq-crash-XXXXXX");
        if (!mkdtemp(c.dir))
            return 1;
    }
    printf("crash-test: seed %u, %d kills, in %s%s\n", seed, kills, c.dir,
           submitter ? ", 2 outside submitters" : "");
    pid_t submitters[SUBMITTERS];
    bool started = false;
    for (int k = 1; k <= kills; k++) {
        if (kill_once(argv[1], c.dir, seed + (unsigned)k, c.runs < 0) != 0)
            return 1;
        c.runs = -1;
        check(&c, submitter != NULL, false);
        /* The submitters start once a writer has made the database (their
         * polling of a file that is not in WAL mode yet would only delay
         * its creation). */
        for (int i = 0; submitter && !started && c.runs >= 0 &&
                        i < SUBMITTERS; i++)
            submitters[i] = start_submitter(submitter, c.dir, i + 1);
        started = started || (submitter && c.runs >= 0);
        if (k % 100 == 0 || k == kills)
            printf("after %d kills: %lld runs, %lu deploys, %lu acknowledged "
                   "requests (%lu pending), %lu violations\n", k, c.runs,
                   c.deploys, c.requests_acked, c.requests_pending,
                   c.violations);
    }
    if (submitter && !started)
        violation(&c, "no writer created the database");
    else if (submitter) {
        if (drain(argv[1], c.dir, submitters) != 0)
            return 1;
        check(&c, true, true);
        if (c.requests_acked == 0)
            violation(&c, "the submitters got no request acknowledged");
    }
    printf("crash-test: kills %d, runs %lld, deploys %lu, requests %lu "
           "acknowledged and %lu applied, violations %lu\n", kills, c.runs,
           c.deploys, c.requests_acked, c.requests_applied, c.violations);
    if (!keep && c.violations == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c.dir);
        if (system(cmd) != 0)
            return 1;
    }
    free(c.deploy_count);
    return c.violations == 0 && c.runs > 0 ? 0 : 1;
}
