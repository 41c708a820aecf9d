/*
 * What SQLite alone costs for the commits a durable replay makes, with no
 * scheduler around it: the floor under bench/bench_throughput.sh's ratios.
 *
 *   bench-commit-floor full|normal COMMITS PAGES [DIR]
 *   bench-commit-floor full|normal COMMITS -ROWS [DIR]
 *
 * A table of 100,000 rows of about a run row's size (60 bytes: rows far
 * apart are on different pages), then COMMITS transactions in WAL mode
 * with the given synchronous level, each updating PAGES rows at random
 * places: each
 * commit writes about PAGES pages (WAL frames), as a scheduling cycle
 * writes the pages of the runs it deploys and ends. The 100,000-run
 * scenario makes about 20,000 commits (two per cycle that deploys) of
 * about 8 pages (bench/README.md).
 *
 * With a negative second number, each commit instead appends ROWS rows
 * of a run's size at the end of a log table and updates one row of a
 * small state table: the least any layout can write for ROWS state
 * changes (a submit, a deploy, an end) in one commit, all on tail pages.
 *
 * Prints the wall time of the commit loop (not the filling) and the time
 * per commit; with full, each commit is one fdatasync of the WAL.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void must(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "bench-commit-floor: %s: %s\n", what,
                sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "full") && strcmp(argv[1], "normal"))) {
        fprintf(stderr, "usage: bench-commit-floor full|normal COMMITS PAGES "
                        "[DIR]\n");
        return 2;
    }
    long commits = atol(argv[2]), pages = atol(argv[3]);
    const char *dir = argc > 4 ? argv[4] : "/tmp";
    char path[512], wal[520];
    snprintf(path, sizeof path, "%s/commit-floor-%d.db", dir, (int)getpid());
    snprintf(wal, sizeof wal, "%s-wal", path);
    remove(path);
    remove(wal);
    sqlite3 *db;
    must(sqlite3_open(path, &db), db, "open");
    must(sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
                          "CREATE TABLE t (id INTEGER PRIMARY KEY, state INT,"
                          " name TEXT, at INT);"
                          "BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                          " SELECT x + 1 FROM c WHERE x < 100000)"
                          " INSERT INTO t SELECT x, 0, printf('run-%030d', x),"
                          " 0 FROM c; COMMIT;",
                      NULL, NULL, NULL),
         db, "filling");
    must(sqlite3_exec(db, strcmp(argv[1], "full") ? "PRAGMA synchronous = NORMAL"
                                                  : "PRAGMA synchronous = FULL",
                      NULL, NULL, NULL),
         db, "synchronous");
    must(sqlite3_exec(db, "CREATE TABLE log (seq INTEGER PRIMARY KEY,"
                          " run INT, state INT, at INT, name TEXT);"
                          "CREATE TABLE state (id INTEGER PRIMARY KEY,"
                          " turn INT); INSERT INTO state VALUES (1, 0);",
                      NULL, NULL, NULL),
         db, "log tables");
    sqlite3_stmt *begin, *commit, *update, *append, *turn;
    must(sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL), db, "");
    must(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL), db, "");
    must(sqlite3_prepare_v2(db, "UPDATE t SET state = state + 1, at = ?2 "
                                "WHERE id = ?1", -1, &update, NULL),
         db, "");
    must(sqlite3_prepare_v2(db, "INSERT INTO log (run, state, at, name) "
                                "VALUES (?1, 1, ?2, 'run-000000000000000000')",
                            -1, &append, NULL),
         db, "");
    must(sqlite3_prepare_v2(db, "UPDATE state SET turn = ?1 WHERE id = 1", -1,
                            &turn, NULL),
         db, "");
    unsigned long x = 12345;
    double t0 = now_s();
    for (long i = 0; i < commits; i++) {
        must(sqlite3_step(begin), db, "begin");
        sqlite3_reset(begin);
        for (long p = 0; p < pages; p++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            sqlite3_bind_int64(update, 1, (sqlite3_int64)((x >> 33) % 100000) + 1);
            sqlite3_bind_int64(update, 2, i);
            must(sqlite3_step(update), db, "update");
            sqlite3_reset(update);
        }
        for (long r = 0; r < -pages; r++) {
            sqlite3_bind_int64(append, 1, i * 16 + r);
            sqlite3_bind_int64(append, 2, i);
            must(sqlite3_step(append), db, "append");
            sqlite3_reset(append);
        }
        if (pages < 0) {
            sqlite3_bind_int64(turn, 1, i);
            must(sqlite3_step(turn), db, "state");
            sqlite3_reset(turn);
        }
        must(sqlite3_step(commit), db, "commit");
        sqlite3_reset(commit);
    }
    double seconds = now_s() - t0;
    printf("commit-floor: sync=%s commits=%ld %s=%ld seconds=%.3f "
           "us_per_commit=%.1f\n", argv[1], commits,
           pages < 0 ? "appended_rows" : "pages", pages < 0 ? -pages : pages,
           seconds,
           seconds * 1e6 / (double)(commits ? commits : 1));
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_finalize(update);
    sqlite3_finalize(append);
    sqlite3_finalize(turn);
    sqlite3_close(db);
    remove(path);
    remove(wal);
    char shm[520];
    snprintf(shm, sizeof shm, "%s-shm", path);
    remove(shm);
    return 0;
}
