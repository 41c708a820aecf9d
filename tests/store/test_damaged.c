/*
 * Damaged databases (issue 8): opening never fails for good because of a
 * row. Files are doctored by hand with SQL: a run of a job whose
 * definition never committed ("run 8 could not be loaded"), enums and
 * states out of range, a namespace out of sequence, a configuration that
 * does not parse, a schema version of -1 or 0. Each such row is
 * quarantined (kept in the file, left out of memory, reported by
 * jobq_quarantine_list and the jobq_store_quarantined_rows gauge) and the
 * handle stays usable. What must still be refused is refused with the
 * path in the message; a read-write open of a file that cannot be written
 * fails at open, naming the path. Names from an old database come out of
 * the metrics escaped (checked with promtool when it is installed).
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "jobq/metrics.h"
#include "store_fixture.h"
#include "test_util.h"

/* A database with two jobs in two namespaces and three queued runs. */
static void make_database(void)
{
    jobq_scheduler *s = fx_open(NULL);
    fx_define(s, "etl", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    fx_define(s, "train", "ml", JOBQ_PRIORITY_NORMAL, 1000);
    fx_submit(s, "etl", "a");
    fx_submit(s, "etl", "b");
    fx_submit(s, "train", "c");
    jobq_close(s);
}

static char *quarantine_of(jobq_scheduler *s)
{
    char *json = NULL;
    ck_assert_int_eq(jobq_quarantine_list(s, &json), 0);
    ck_assert_ptr_nonnull(json);
    return json;
}

static size_t live_runs(jobq_scheduler *s)
{
    jobq_run_id *ids = NULL;
    size_t count = 0;
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, NULL), 0);
    jobq_free(ids);
    return count;
}

static void assert_contains(const char *text, const char *part)
{
    ck_assert_msg(strstr(text, part) != NULL, "\"%s\" not in: %s", part, text);
}

/* Open read-write and read-only: both succeed, and the quarantine list
 * mentions every part. Returns the read-write handle. */
static jobq_scheduler *open_both(const char *const *parts, size_t n)
{
    jobq_scheduler *ro = NULL;
    char err[512] = "";
    ck_assert_msg(fx_try_open(&ro, NULL, true, false, err, sizeof err) == 0,
                  "read-only open: %s", err);
    char *json = quarantine_of(ro);
    for (size_t i = 0; i < n; i++)
        assert_contains(json, parts[i]);
    jobq_free(json);
    jobq_close(ro);
    jobq_scheduler *s = NULL;
    ck_assert_msg(fx_try_open(&s, NULL, false, true, err, sizeof err) == 0,
                  "read-write open: %s", err);
    json = quarantine_of(s);
    for (size_t i = 0; i < n; i++)
        assert_contains(json, parts[i]);
    jobq_free(json);
    return s;
}

START_TEST(run_of_a_job_that_never_committed_is_quarantined)
{
    make_database();
    /* What a failed commit of a new job definition left behind: run 8
     * refers to a job row that is not there. */
    fx_sql("INSERT INTO runs (id, job_id, ns_id, name, priority, flow, state,"
           " cpu, memory, pods, storage, submitted_at, deployed_at, ended_at,"
           " retries_used, deploy_attempts) VALUES (8, 3, 1, 'orphan', 0, 0,"
           " 0, 1000, 0, 0, 0, 1000, -1, -1, 0, 0)");
    const char *parts[] = {"\"count\":1", "\"table\":\"runs\"", "\"row\":8",
                           "job is unknown"};
    jobq_scheduler *s = open_both(parts, 4);
    /* The other runs are there; the quarantined one is left out of the
     * listing, and asking for it says why. */
    ck_assert_uint_eq(live_runs(s), 3);
    jobq_run_info info;
    jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
    ck_assert_int_eq(jobq_run_get(s, &info, 8), JOBQ_EIO);
    char msg[512];
    jobq_errmsg(s, msg, sizeof msg);
    assert_contains(msg, fx.path);
    assert_contains(msg, "run 8 is quarantined");
    /* The metric says so. */
    char *text = NULL;
    ck_assert_int_eq(jobq_metrics_render(s, &text, NULL), 0);
    assert_contains(text, "jobq_store_quarantined_rows{table=\"runs\"} 1\n");
    assert_contains(text, "jobq_store_quarantined_rows{table=\"jobs\"} 0\n");
    jobq_free(text);
    /* The handle is usable: submit, tick, deploy; new ids go past 8. */
    jobq_run_id id = fx_submit(s, "etl", "d");
    ck_assert_uint_gt(id, 8);
    ck_assert_int_eq(jobq_tick(s, JOBQ_TIME_NOW, NULL), 0);
    ck_assert_uint_eq(fx.deploy_count, 4);
    jobq_close(s);
    /* Never dropped: the row is still in the file, still quarantined. */
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs WHERE id = 8"), 1);
    s = open_both(parts, 4);
    jobq_close(s);
}
END_TEST

START_TEST(a_lost_job_row_quarantines_its_runs)
{
    make_database();
    fx_sql("DELETE FROM jobs WHERE name = 'train'");
    const char *parts[] = {"\"count\":1", "\"row\":3"};
    jobq_scheduler *s = open_both(parts, 2);
    ck_assert_uint_eq(live_runs(s), 2);
    /* Defining the job again works (a new row) and new runs run. */
    fx_define(s, "train", "ml", JOBQ_PRIORITY_NORMAL, 1000);
    fx_submit(s, "train", "e");
    ck_assert_uint_eq(live_runs(s), 3);
    jobq_close(s);
}
END_TEST

START_TEST(values_out_of_range_are_quarantined)
{
    make_database();
    fx_sql("UPDATE runs SET state = -1 WHERE id = 1;"
           "UPDATE runs SET priority = 7 WHERE id = 2;"
           "UPDATE jobs SET flow = 9 WHERE name = 'train';"
           "UPDATE queues SET resource = 99;");
    const char *parts[] = {"state out of range", "priority out of range",
                           "flow out of range", "\"table\":\"jobs\""};
    jobq_scheduler *s = open_both(parts, 4);
    ck_assert_uint_eq(live_runs(s), 0);
    /* Defining the quarantined job again rewrites its row: the next open
     * loads it, and its run with it. */
    fx_define(s, "train", "ml", JOBQ_PRIORITY_NORMAL, 1000);
    jobq_close(s);
    ck_assert_int_eq(fx_sql_int("SELECT flow FROM jobs WHERE name = 'train'"),
                     0);
    s = fx_open(NULL);
    ck_assert_uint_eq(live_runs(s), 1);
    jobq_close(s);
}
END_TEST

START_TEST(a_damaged_terminal_row_is_reported_not_shown)
{
    make_database();
    fx_sql("UPDATE runs SET state = 42, ended_at = 5 WHERE id = 3");
    jobq_scheduler *s = fx_open(NULL);
    jobq_run_info info;
    jobq_run_info_init(&info, JOBQ_RUN_INFO_VERSION);
    ck_assert_int_eq(jobq_run_get(s, &info, 3), JOBQ_EIO);
    char msg[512];
    jobq_errmsg(s, msg, sizeof msg);
    assert_contains(msg, "damaged (state out of range)");
    ck_assert_int_eq(jobq_run_get(s, &info, 1), 0);
    jobq_close(s);
}
END_TEST

START_TEST(a_namespace_out_of_sequence_is_quarantined)
{
    make_database();
    /* Row 5 after rows 1 and 2: a hole. Its jobs and runs follow it. */
    fx_sql("INSERT INTO namespaces (id, name) VALUES (5, 'late');"
           "UPDATE jobs SET ns_id = 5 WHERE name = 'train';");
    const char *parts[] = {"\"table\":\"namespaces\"", "\"row\":5",
                           "out of sequence", "\"table\":\"jobs\""};
    jobq_scheduler *s = open_both(parts, 4);
    /* A namespace defined now gets row 3, not the quarantined row 5. */
    fx_define(s, "new", "fresh", JOBQ_PRIORITY_HIGH, 1);
    fx_submit(s, "new", "n");
    jobq_close(s);
    ck_assert_int_eq(
        fx_sql_int("SELECT id FROM namespaces WHERE name = 'fresh'"), 3);
    ck_assert_int_eq(
        fx_sql_int("SELECT name = 'late' FROM namespaces WHERE id = 5"), 1);
}
END_TEST

START_TEST(a_configuration_that_does_not_parse_is_quarantined)
{
    make_database();
    fx_sql("UPDATE scheduler SET config = '{\"batchSize\": [oops'");
    const char *parts[] = {"\"table\":\"scheduler\"", "configuration"};
    jobq_scheduler *s = open_both(parts, 2);
    char value[32];
    ck_assert_int_eq(jobq_property_get(s,
                                       "services.jobOrchestrator.settings."
                                       "batchSize",
                                       value, sizeof value),
                     0);
    ck_assert_str_eq(value, "20"); /* the default */
    jobq_close(s);
    /* Kept in the file (the host did not configure anything). */
    ck_assert_int_eq(fx_sql_int("SELECT config LIKE '%oops%' FROM scheduler"),
                     1);
}
END_TEST

START_TEST(schema_version_minus_one_or_zero_is_recovered)
{
    static const char *const versions[] = {"-1", "0", "-2147483648"};
    make_database();
    for (size_t i = 0; i < 3; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %s", versions[i]);
        fx_sql(sql);
        const char *parts[] = {"\"table\":\"schema\"", "is not valid"};
        jobq_scheduler *s = open_both(parts, 2);
        ck_assert_uint_eq(live_runs(s), 3);
        jobq_close(s);
        /* The read-write open repaired the header. */
        ck_assert_int_eq(fx_sql_int("PRAGMA user_version"),
                         JQ_STORE_SCHEMA_VERSION);
    }
}
END_TEST

START_TEST(refusals_name_the_path)
{
    jobq_scheduler *s = NULL;
    char err[512];
    /* Not a jobq database: tables of another application, version -1. */
    fx_sql("CREATE TABLE t (x); PRAGMA user_version = -1");
    ck_assert_int_eq(fx_try_open(&s, NULL, false, true, err, sizeof err),
                     JOBQ_EINVAL);
    assert_contains(err, fx.path);
    unlink(fx.path);
    /* A jobq database with tables that are not ours and a bad version. */
    fx_sql("CREATE TABLE t (x); PRAGMA application_id = 1248813649;"
           "PRAGMA user_version = -1");
    ck_assert_int_eq(fx_try_open(&s, NULL, true, false, err, sizeof err),
                     JOBQ_EINVAL);
    assert_contains(err, fx.path);
    assert_contains(err, "schema version -1");
    unlink(fx.path);
    /* Newer schema. */
    make_database();
    char newer[64];
    snprintf(newer, sizeof newer, "PRAGMA user_version = %d",
             JQ_STORE_SCHEMA_VERSION + 1);
    fx_sql(newer);
    ck_assert_int_eq(fx_try_open(&s, NULL, false, true, err, sizeof err),
                     JOBQ_EVERSION);
    assert_contains(err, fx.path);
    /* A table missing: a clean error naming the path. */
    fx_sql("PRAGMA user_version = 1; DROP TABLE runs");
    ck_assert_int_ne(fx_try_open(&s, NULL, true, false, err, sizeof err), 0);
    assert_contains(err, fx.path);
    ck_assert_ptr_null(s);
}
END_TEST

static bool set_immutable(const char *path, bool on)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    int flags = 0;
    bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    if (ok) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        ok = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    }
    close(fd);
    return ok;
}

START_TEST(read_write_open_of_an_unwritable_file_fails_at_open)
{
    make_database();
    if (!set_immutable(fx.path, true)) {
        fprintf(stderr, "# skipped: cannot make %s immutable\n", fx.path);
        return;
    }
    jobq_scheduler *s = NULL;
    char err[512] = "";
    int rc = fx_try_open(&s, NULL, false, true, err, sizeof err);
    /* A read-only open still works. */
    jobq_scheduler *ro = NULL;
    int ro_rc = fx_try_open(&ro, NULL, true, false, NULL, 0);
    jobq_close(ro);
    set_immutable(fx.path, false);
    ck_assert_int_eq(rc, JOBQ_EIO);
    ck_assert_ptr_null(s);
    assert_contains(err, fx.path);
    assert_contains(err, "cannot be written");
    ck_assert_int_eq(ro_rc, 0);
}
END_TEST

START_TEST(read_write_open_on_a_read_only_mount_names_the_path)
{
    char dir[96];
    snprintf(dir, sizeof dir, "%.80s/mnt", fx.dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    if (mount("none", dir, "tmpfs", 0, "size=4m") != 0) {
        fprintf(stderr, "# skipped: cannot mount a tmpfs (not root?)\n");
        return;
    }
    char saved[sizeof fx.path];
    memcpy(saved, fx.path, sizeof saved);
    snprintf(fx.path, sizeof fx.path, "%s/jobq.db", dir);
    make_database();
    bool ro = mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0;
    jobq_scheduler *s = NULL;
    char err[512] = "";
    int rc = ro ? fx_try_open(&s, NULL, false, true, err, sizeof err) : 0;
    char ro_err[512] = "";
    jobq_scheduler *reader = NULL;
    int ro_rc =
        ro ? fx_try_open(&reader, NULL, true, false, ro_err, sizeof ro_err) : 0;
    jobq_close(reader);
    umount2(dir, MNT_DETACH);
    memcpy(fx.path, saved, sizeof saved);
    ck_assert_msg(ro, "remount read-only failed");
    ck_assert_int_ne(rc, 0);
    ck_assert_ptr_null(s);
    assert_contains(err, dir);
    /* Reading a WAL database on a read-only mount may fail too (SQLite
     * needs the -shm file), but never without the path. */
    if (ro_rc != 0)
        assert_contains(ro_err, dir);
}
END_TEST

/* Names written before names were validated: escaped in the metrics. */
START_TEST(old_names_are_escaped_in_the_metrics)
{
    make_database();
    fx_sql("UPDATE jobs SET name = 'bad' || char(27) || '[2J' || "
           "CAST(X'FF' AS TEXT), domain = 'two' || char(10) || 'lines' "
           "WHERE name = 'etl';"
           "UPDATE namespaces SET name = 'Quote\"d\\ns' WHERE id = 1;");
    jobq_scheduler *s = fx_open(NULL);
    ck_assert_int_eq(jobq_tick(s, JOBQ_TIME_NOW, NULL), 0);
    char *text = NULL;
    ck_assert_int_eq(jobq_metrics_render(s, &text, NULL), 0);
    assert_contains(text, "namespace=\"Quote\\\"d\\\\ns\"");
    assert_contains(text, "domain=\"two\\nlines\"");
    assert_contains(text, "job=\"bad\xef\xbf\xbd[2J\xef\xbf\xbd\"");
    ck_assert_ptr_null(strchr(text, 27));
    /* promtool, the format's own checker, accepts it. */
    char path[192], cmd[400];
    snprintf(path, sizeof path, "%s/metrics.txt", fx.dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    jobq_free(text);
    /* The explain JSON of the run is valid UTF-8. */
    char *json = NULL;
    ck_assert_int_eq(jobq_run_explain(s, &json, 1), 0);
    ck_assert_ptr_null(strstr(json, "\xff"));
    jobq_free(json);
    jobq_close(s);
    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fprintf(stderr, "# promtool not installed: format check skipped\n");
        return;
    }
    snprintf(cmd, sizeof cmd,
             "promtool check metrics < '%s' 2>&1 | "
             "grep -v 'counter metrics should have' | grep -q . && exit 1; "
             "exit 0",
             path);
    ck_assert_msg(system(cmd) == 0, "promtool rejected the metrics");
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("store_damaged");
    TCase *tc = tcase_create("damaged");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, run_of_a_job_that_never_committed_is_quarantined);
    tcase_add_test(tc, a_lost_job_row_quarantines_its_runs);
    tcase_add_test(tc, values_out_of_range_are_quarantined);
    tcase_add_test(tc, a_damaged_terminal_row_is_reported_not_shown);
    tcase_add_test(tc, a_namespace_out_of_sequence_is_quarantined);
    tcase_add_test(tc, a_configuration_that_does_not_parse_is_quarantined);
    tcase_add_test(tc, schema_version_minus_one_or_zero_is_recovered);
    tcase_add_test(tc, refusals_name_the_path);
    tcase_add_test(tc, read_write_open_of_an_unwritable_file_fails_at_open);
    tcase_add_test(tc, read_write_open_on_a_read_only_mount_names_the_path);
    tcase_add_test(tc, old_names_are_escaped_in_the_metrics);
    suite_add_tcase(suite, tc);
    return suite;
}
