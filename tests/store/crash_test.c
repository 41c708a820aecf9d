/*
 * The crash test: start crash-writer against a real database file, kill it
 * with SIGKILL at a random moment, check the database, and do it again,
 * many times over the same file.
 *
 *   crash-test WRITER [--kills N] [--seed S] [--keep DIR]
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

typedef struct checker {
    char dir[256];
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

static void check(checker *c)
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
    c->runs = query_int(c, "SELECT count(*) FROM runs WHERE id > ?1", NULL, 0);
    sqlite3_close(c->db);
    c->db = NULL;
}

/* Run the writer for a random 5..80 ms (times JOBQ_CRASH_TIME_SCALE) and
 * kill it. */
static int kill_once(const char *writer, const char *dir, unsigned seed)
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
    long ms = (5 + rand() % 76) * scale;
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
    int kills = 30;
    unsigned seed = (unsigned)time(NULL);
    const char *keep = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--kills") == 0)
            kills = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = argv[i + 1];
    }
    srand(seed);
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they come */
    checker c = {0};
    c.deploy_count = calloc(MAX_ID, 1);
    if (keep)
        snprintf(c.dir, sizeof c.dir, "%s", keep);
    else {
        snprintf(c.dir, sizeof c.dir, "/tmp/jobq-crash-XXXXXX");
        if (!mkdtemp(c.dir))
            return 1;
    }
    printf("crash-test: seed %u, %d kills, in %s\n", seed, kills, c.dir);
    for (int k = 1; k <= kills; k++) {
        if (kill_once(argv[1], c.dir, seed + (unsigned)k) != 0)
            return 1;
        check(&c);
        if (k % 100 == 0 || k == kills)
            printf("after %d kills: %lld runs, %lu deploys, %lu violations\n",
                   k, c.runs, c.deploys, c.violations);
    }
    printf("crash-test: kills %d, runs %lld, deploys %lu, violations %lu\n",
           kills, c.runs, c.deploys, c.violations);
    if (!keep && c.violations == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", c.dir);
        if (system(cmd) != 0)
            return 1;
    }
    free(c.deploy_count);
    return c.violations == 0 && c.runs > 0 ? 0 : 1;
}
