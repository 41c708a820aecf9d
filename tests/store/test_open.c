/*
 * Opening a database: creation and file mode, schema version and
 * application id, refusals (not a database, another application's
 * database, a newer schema), the writer lock, read-only opens and the
 * durability levels.
 */
#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scheduler.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "test_util.h"

static mode_t file_mode(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return sb.st_mode & 0777;
}

START_TEST(new_database_is_private_and_versioned)
{
    mode_t old = umask(0);
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", fx.path);
    ck_assert_int_eq(file_mode(fx.path), 0600);
    ck_assert_int_eq(file_mode(wal), 0600);
    jobq_close(s);
    umask(old);
    ck_assert_int_eq(fx_sql_int("PRAGMA user_version"),
                     JQ_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(fx_sql_int("PRAGMA application_id"),
                     JQ_STORE_APPLICATION_ID);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM jobs"), 1);
}
END_TEST

START_TEST(journal_mode_is_wal)
{
    jobq_scheduler *s = fx_open(NULL);
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(s->store->db, "PRAGMA journal_mode",
                                        -1, &stmt, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    jobq_close(s);
}
END_TEST

static int synchronous_of(jobq_scheduler *s)
{
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(s->store->db, "PRAGMA synchronous",
                                        -1, &stmt, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    int value = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

START_TEST(durability_sets_synchronous)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = fx.path;
    jobq_scheduler *s = NULL;
    ck_assert_int_eq(jobq_open(&s, &opts, NULL, 0), 0);
    ck_assert_int_eq(synchronous_of(s), 2); /* FULL */
    jobq_close(s);
    opts.durability = JOBQ_DURABILITY_NORMAL;
    ck_assert_int_eq(jobq_open(&s, &opts, NULL, 0), 0);
    ck_assert_int_eq(synchronous_of(s), 1); /* NORMAL */
    jobq_close(s);
}
END_TEST

START_TEST(garbage_file_is_refused)
{
    FILE *f = fopen(fx.path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database at all\n", f);
    fclose(f);
    jobq_scheduler *s = NULL;
    char err[512] = "";
    int rc = fx_try_open(&s, NULL, false, true, err, sizeof err);
    ck_assert_int_eq(rc, JOBQ_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err, "not a jobq database"));
    ck_assert_ptr_nonnull(strstr(err, fx.path));
}
END_TEST

START_TEST(other_sqlite_database_is_refused)
{
    fx_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)");
    jobq_scheduler *s = NULL;
    char err[512] = "";
    ck_assert_int_eq(fx_try_open(&s, NULL, false, true, err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "another application"));
    /* And it was not touched: still no jobq tables, not WAL. */
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM sqlite_schema WHERE "
                                "name = 'runs'"), 0);
}
END_TEST

START_TEST(empty_sqlite_database_is_adopted)
{
    fx_sql("PRAGMA user_version = 0");
    jobq_scheduler *s = fx_open(NULL);
    jobq_close(s);
    ck_assert_int_eq(fx_sql_int("PRAGMA application_id"),
                     JQ_STORE_APPLICATION_ID);
}
END_TEST

START_TEST(newer_schema_is_refused)
{
    jobq_close(fx_open(NULL));
    fx_sql("PRAGMA user_version = 99");
    jobq_scheduler *s = NULL;
    char err[512] = "";
    ck_assert_int_eq(fx_try_open(&s, NULL, false, true, err, sizeof err),
                     JOBQ_EVERSION);
    ck_assert_ptr_nonnull(strstr(err, "newer"));
    ck_assert_ptr_nonnull(strstr(err, "99"));
    ck_assert_int_eq(fx_try_open(&s, NULL, true, false, err,
                                 sizeof err), JOBQ_EVERSION);
}
END_TEST

START_TEST(second_writer_is_busy)
{
    jobq_scheduler *a = fx_open(NULL);
    fx_define(a, "etl", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    jobq_run_id id = fx_submit(a, "etl", "first");
    jobq_scheduler *b = NULL;
    char err[512] = "";
    ck_assert_int_eq(fx_try_open(&b, NULL, false, true, err, sizeof err),
                     JOBQ_EBUSY);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    /* The first handle still works after the failed open. */
    fx_submit(a, "etl", "second");
    /* A read-only open sees committed state and refuses changes. */
    ck_assert_int_eq(fx_try_open(&b, NULL, true, false, err,
                                 sizeof err), 0);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(jobq_run_get(b, &info, id), 0);
    ck_assert_str_eq(info.run_name, "first");
    ck_assert_int_eq(jobq_run_cancel(b, id, NULL), JOBQ_ESTATE);
    ck_assert_int_eq(jobq_property_set(b, "job-orchestrator.queue."
                                          "head-retry-count", "2"),
                     JOBQ_ESTATE);
    ck_assert_int_eq(jobq_tick(b, JOBQ_TIME_NOW, NULL), JOBQ_ESTATE);
    char msg[256];
    jobq_errmsg(b, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "read-only"));
    jobq_close(b);
    jobq_close(a);
    /* The lock goes with the handle. */
    jobq_close(fx_open(NULL));
}
END_TEST

START_TEST(read_only_open_of_missing_file_fails)
{
    jobq_scheduler *s = NULL;
    char err[512] = "";
    ck_assert_int_eq(fx_try_open(&s, NULL, true, false, err,
                                 sizeof err), JOBQ_ENOTFOUND);
    ck_assert_int_eq(access(fx.path, F_OK), -1);
}
END_TEST

START_TEST(memory_database_works)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = ":memory:";
    jobq_scheduler *s = NULL;
    ck_assert_int_eq(jobq_open(&s, &opts, NULL, 0), 0);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    jobq_submit_opts so = JOBQ_SUBMIT_OPTS_INIT;
    so.idempotency_key = "k1";
    jobq_run_id a = 0, b = 0;
    ck_assert_int_eq(jobq_run_submit(s, &a, "etl", &so), 0);
    ck_assert_int_eq(jobq_run_submit(s, &b, "etl", &so), 0);
    ck_assert_uint_eq(a, b);
    jobq_close(s);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("store_open");
    TCase *tc = tcase_create("open");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, new_database_is_private_and_versioned);
    tcase_add_test(tc, journal_mode_is_wal);
    tcase_add_test(tc, durability_sets_synchronous);
    tcase_add_test(tc, garbage_file_is_refused);
    tcase_add_test(tc, other_sqlite_database_is_refused);
    tcase_add_test(tc, empty_sqlite_database_is_adopted);
    tcase_add_test(tc, newer_schema_is_refused);
    tcase_add_test(tc, second_writer_is_busy);
    tcase_add_test(tc, read_only_open_of_missing_file_fails);
    tcase_add_test(tc, memory_database_works);
    suite_add_tcase(suite, tc);
    return suite;
}
