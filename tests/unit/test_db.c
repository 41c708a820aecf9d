/* Database files and run records for the unit tests that open a scheduler
 * (test_util.h). */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_util.h"

void tu_db_path(char *path, size_t cap, const char *prefix)
{
    snprintf(path, cap, "/tmp/jobq-%s-XXXXXX", prefix);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path); /* a name nobody uses: jobq_open creates the file */
}

void tu_db_remove(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-lock"};
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        char file[128];
        snprintf(file, sizeof file, "%s%s", path, suffix[i]);
        unlink(file);
    }
}

int tu_db_count_state(const char *path, int state)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM runs "
                                        "WHERE state = ?1",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(stmt, 1, state);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    int n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

jobq_run_info tu_run_info(jobq_scheduler *s, jobq_run_id id)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(s, &info, id), 0);
    return info;
}
