/*
 * Reading durable state back: substring search (trigram and the short-text
 * LIKE path), listing with filters, the event log and explain, batch
 * submits, and retention (per tick and on request).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "scheduler.h"
#include "store/store_internal.h"
#include "store_fixture.h"
#include "test_util.h"

static jobq_scheduler *s;

static void setup(void)
{
    fx_setup();
    s = fx_open(NULL);
    fx_define(s, "Nightly-ETL", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    fx_define(s, "report_builder", "analytics", JOBQ_PRIORITY_NORMAL, 1000);
    fx_define(s, "model-train", "ml", JOBQ_PRIORITY_NORMAL, 1000);
}

static void teardown(void)
{
    jobq_close(s);
    fx_teardown();
}

static size_t search(const char *text, size_t limit, jobq_run_id **ids)
{
    size_t count = 99;
    ck_assert_int_eq(jobq_run_search(s, ids, &count, text, limit), 0);
    return count;
}

START_TEST(search_matches_substrings_case_insensitively)
{
    jobq_run_id a = fx_submit(s, "Nightly-ETL", "etl-2026-11-29");
    jobq_run_id b = fx_submit(s, "report_builder", "Finance Weekly");
    jobq_run_id c = fx_submit(s, "model-train", "resnet-ETL-features");
    jobq_run_id *ids = NULL;
    /* "etl" is in a's job and name and in c's name; newest first. */
    ck_assert_uint_eq(search("etl", 0, &ids), 2);
    ck_assert_uint_eq(ids[0], c);
    ck_assert_uint_eq(ids[1], a);
    jobq_free(ids);
    ck_assert_uint_eq(search("WEEK", 0, &ids), 1);
    ck_assert_uint_eq(ids[0], b);
    jobq_free(ids);
    ck_assert_uint_eq(search("ightly-e", 0, &ids), 1);
    jobq_free(ids);
    ck_assert_uint_eq(search("etl", 1, &ids), 1);
    ck_assert_uint_eq(ids[0], c);
    jobq_free(ids);
    ck_assert_uint_eq(search("no such thing", 0, &ids), 0);
    ck_assert_ptr_null(ids);
    /* FTS syntax in the text is taken literally. */
    ck_assert_uint_eq(search("\"etl OR", 0, &ids), 0);
    ck_assert_uint_eq(search("NEAR(", 0, &ids), 0);
}
END_TEST

START_TEST(search_short_texts_use_like)
{
    jobq_run_id a = fx_submit(s, "report_builder", "q4");
    fx_submit(s, "model-train", "xyz");
    jobq_run_id *ids = NULL;
    ck_assert_uint_eq(search("Q4", 0, &ids), 1);
    ck_assert_uint_eq(ids[0], a);
    jobq_free(ids);
    /* "_" and "%" are literal characters, not LIKE wildcards. */
    ck_assert_uint_eq(search("t_", 0, &ids), 1); /* report_builder */
    ck_assert_uint_eq(ids[0], a);
    jobq_free(ids);
    ck_assert_uint_eq(search("%", 0, &ids), 0);
    ck_assert_uint_eq(search("Y", 0, &ids), 1); /* xyz */
    jobq_free(ids);
    size_t count = 0;
    ck_assert_int_eq(jobq_run_search(s, &ids, &count, "", 0), JOBQ_EINVAL);
}
END_TEST

START_TEST(search_without_database_scans_memory)
{
    jobq_options opts = JOBQ_OPTIONS_INIT;
    jobq_scheduler *m = NULL;
    ck_assert_int_eq(jobq_open(&m, &opts, NULL, 0), 0);
    fx_define(m, "Nightly-ETL", "analytics", JOBQ_PRIORITY_HIGH, 1000);
    jobq_run_id a = fx_submit(m, "Nightly-ETL", "first");
    jobq_run_id b = fx_submit(m, "Nightly-ETL", "second");
    jobq_run_id *ids = NULL;
    size_t count = 0;
    ck_assert_int_eq(jobq_run_search(m, &ids, &count, "etl", 0), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(ids[0], b);
    ck_assert_uint_eq(ids[1], a);
    jobq_free(ids);
    ck_assert_int_eq(jobq_run_search(m, &ids, &count, "SEC", 0), 0);
    ck_assert_uint_eq(count, 1);
    jobq_free(ids);
    jobq_close(m);
}
END_TEST

START_TEST(list_filters)
{
    jobq_run_id a = fx_submit(s, "Nightly-ETL", NULL);
    jobq_run_id b = fx_submit(s, "report_builder", NULL);
    jobq_run_id c = fx_submit(s, "model-train", NULL);
    ck_assert_int_eq(jobq_run_cancel(s, b, NULL), 0);
    jobq_run_filter f = JOBQ_RUN_FILTER_INIT;
    jobq_run_id *ids = NULL;
    size_t count = 0;
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, NULL), 0);
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_eq(ids[0], a);
    ck_assert_uint_eq(ids[2], c);
    jobq_free(ids);
    f.ns = "analytics";
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, &f), 0);
    ck_assert_uint_eq(count, 2);
    jobq_free(ids);
    f.state = JOBQ_RUN_CANCELLED;
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, &f), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(ids[0], b);
    jobq_free(ids);
    f.ns = NULL;
    f.state = JOBQ_ANY;
    f.priority = JOBQ_PRIORITY_HIGH;
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, &f), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_eq(ids[0], a);
    jobq_free(ids);
    f.priority = JOBQ_ANY;
    f.limit = 2; /* the newest two, still ascending */
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, &f), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_uint_eq(ids[0], b);
    ck_assert_uint_eq(ids[1], c);
    jobq_free(ids);
    f.version = 0;
    ck_assert_int_eq(jobq_run_list(s, &ids, &count, &f), JOBQ_EVERSION);
}
END_TEST

START_TEST(explain_blocked_run)
{
    jobq_close(s);
    fx.hard.amount[JOBQ_RESOURCE_CPU] = 500;
    s = fx_open(NULL);
    /* (systemProperties in config_json would not override stored ones) */
    ck_assert_int_eq(jobq_configure(s, "{\"systemProperties\":{"
                                       "\"job-orchestrator.queue.head-timeout-"
                                       "seconds\":60,\"job-orchestrator."
                                       "queue.head-retry-count\":2}}"), 0);
    jobq_run_id head = fx_submit(s, "report_builder", NULL);
    jobq_run_id behind = fx_submit(s, "report_builder", NULL);
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    char *json = NULL;
    ck_assert_int_eq(jobq_run_explain(s, &json, behind), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"state\":\"queued\""));
    ck_assert_ptr_nonnull(strstr(json, "\"position\":1"));
    ck_assert_ptr_nonnull(strstr(json, "\"resource\":\"cpu\""));
    ck_assert_ptr_nonnull(strstr(json, "\"requested\":1000"));
    ck_assert_ptr_nonnull(strstr(json, "\"available\":500"));
    ck_assert_msg(strstr(json, "\"left\":2") != NULL, "%s", json);
    ck_assert_ptr_nonnull(strstr(json, "\"head_timeout_at\":61000"));
    /* Blocked with nothing running: no estimate, and it says why. */
    ck_assert_ptr_nonnull(strstr(json, "\"estimated_start\":null"));
    ck_assert_ptr_nonnull(strstr(json, "nothing is running"));
    jobq_free(json);
    ck_assert_int_eq(jobq_run_explain(s, &json, head), 0);
    ck_assert_ptr_nonnull(strstr(json, "{\"event\":\"blocked\""));
    ck_assert_ptr_nonnull(strstr(json, "\"event\":\"submitted\""));
    jobq_free(json);
    ck_assert_int_eq(jobq_run_explain(s, &json, 999), JOBQ_ENOTFOUND);
}
END_TEST

START_TEST(explain_estimates_from_recent_rate)
{
    jobq_close(s);
    s = fx_open("{\"services\":{\"jobOrchestrator\":{\"settings\":{"
                "\"batchSize\":1}}}}");
    jobq_run_id ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = fx_submit(s, "report_builder", NULL);
    for (int i = 0; i < 2; i++) { /* one deployment per minute */
        fx.now += 60000;
        ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    }
    char *json = NULL;
    ck_assert_int_eq(jobq_run_explain(s, &json, ids[4]), 0);
    /* 2 deployments in the last hour, position 2: 3 * 30 min from now. */
    char expected[64];
    snprintf(expected, sizeof expected, "\"at\":%lld",
             (long long)(fx.now + 3 * 1800000));
    ck_assert_msg(strstr(json, expected), "%s", json);
    jobq_free(json);
    ck_assert_int_eq(jobq_run_explain(s, &json, ids[0]), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"basis\":\"deployed\""));
    jobq_free(json);
}
END_TEST

START_TEST(batch_submit_is_ordered_and_all_or_nothing)
{
    const char *jobs[4] = {"Nightly-ETL", "model-train", "no-such-job",
                           "Nightly-ETL"};
    jobq_run_id ids[4] = {0};
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, NULL, 2), 0);
    ck_assert_uint_eq(ids[1], ids[0] + 1);
    jobq_run_id first = ids[0];
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, NULL, 4),
                     JOBQ_ENOTFOUND);
    /* All or none: runs 0 and 1 of the failed batch are not submitted. */
    ck_assert_uint_eq(ids[0], 0);
    ck_assert_uint_eq(ids[1], 0);
    ck_assert_uint_eq(ids[2], 0);
    ck_assert_uint_eq(ids[3], 0);
    char msg[256];
    jobq_errmsg(s, msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "runs[2]"));
    ck_assert_ptr_nonnull(strstr(msg, "no-such-job"));
    jobq_close(s);
    s = fx_open(NULL);
    jobq_run_id *all = NULL;
    size_t count = 0;
    ck_assert_int_eq(jobq_run_list(s, &all, &count, NULL), 0);
    ck_assert_uint_eq(count, 2);
    jobq_free(all);
    /* The ids the failed batch used are handed out again. */
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, NULL, 1), 0);
    ck_assert_uint_eq(ids[0], first + 2);
}
END_TEST

START_TEST(batch_submit_with_keys)
{
    jobq_submit_opts opts[3];
    const char *jobs[3] = {"Nightly-ETL", "Nightly-ETL", "Nightly-ETL"};
    const char *keys[3] = {"a", "b", "a"};
    for (int i = 0; i < 3; i++) {
        jobq_submit_opts_init(&opts[i], JOBQ_SUBMIT_OPTS_VERSION);
        opts[i].idempotency_key = keys[i];
    }
    jobq_run_id ids[3];
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, opts, 3), 0);
    ck_assert_uint_ne(ids[0], ids[1]);
    ck_assert_uint_eq(ids[0], ids[2]);
    opts[1].version = 77;
    ck_assert_int_eq(jobq_run_submit_batch(s, ids, jobs, opts, 3),
                     JOBQ_EVERSION);
}
END_TEST

/* Retention on, runs kept 60 s after they end. */
#define RETENTION_60_S                                                     \
    "{\"services\":{\"jobOrchestrator\":{\"settings\":{\"jobRunCleanup\":" \
    "{\"enabled\":true,\"retentionPeriod\":60}}}}}"

/* A run of Nightly-ETL that ended now (cancelled at once). */
static jobq_run_id ended_run(const char *name)
{
    jobq_run_id id = fx_submit(s, "Nightly-ETL", name);
    ck_assert_int_eq(jobq_run_cancel(s, id, NULL), 0);
    return id;
}

static void end_runs(int count)
{
    for (int i = 0; i < count; i++)
        ended_run(NULL);
}

/* Time passes by `step` and a cycle runs: is run `id` still there? */
static int tick_and_get(jobq_time_ms step, jobq_run_id id)
{
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    fx.now += step;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    return jobq_run_get(s, &info, id);
}

START_TEST(retention_deletes_old_terminal_runs_per_tick)
{
    jobq_close(s);
    s = fx_open(RETENTION_60_S);
    jobq_run_id old = ended_run("ancient-run");
    jobq_run_id queued = fx_submit(s, "model-train", NULL);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    ck_assert_int_eq(tick_and_get(59000, old), 0);
    ck_assert_int_eq(tick_and_get(2000, old), JOBQ_ENOTFOUND);
    ck_assert_int_eq(jobq_run_get(s, &info, queued), 0);
    jobq_close(s);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM events WHERE run_id = 1"),
                     0);
    fx_sql("INSERT INTO run_text (run_text) VALUES ('integrity-check')");
    s = fx_open(NULL);
    jobq_run_id *ids = NULL;
    ck_assert_uint_eq(search("ancient", 0, &ids), 0);
}
END_TEST

/* Retention across a reopen: runs that had ended when the file was opened
 * and runs that end afterwards are each deleted when their time comes,
 * however far apart, and not before. */
START_TEST(retention_deletes_runs_ended_before_the_open)
{
    jobq_close(s);
    s = fx_open(RETENTION_60_S);
    jobq_run_id a = ended_run(NULL);
    fx.now += 30000;
    jobq_run_id b = ended_run(NULL);
    jobq_close(s);
    s = fx_open(RETENTION_60_S);
    jobq_run_info info = {.version = JOBQ_RUN_INFO_VERSION};
    /* a ended 61 s ago, b 31 s ago */
    ck_assert_int_eq(tick_and_get(31000, a), JOBQ_ENOTFOUND);
    ck_assert_int_eq(jobq_run_get(s, &info, b), 0);
    jobq_run_id c = ended_run(NULL);
    for (int i = 0; i < 4; i++) /* nothing more due for 29 s */
        ck_assert_int_eq(tick_and_get(7000, b), 0);
    ck_assert_int_eq(tick_and_get(2000, b), JOBQ_ENOTFOUND);
    ck_assert_int_eq(jobq_run_get(s, &info, c), 0);
    ck_assert_int_eq(tick_and_get(31000, c), JOBQ_ENOTFOUND);
    jobq_close(s);
    s = NULL;
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs WHERE state >= 3"),
                     0);
    s = fx_open(NULL);
}
END_TEST

/* A cycle asks the file for runs due only when one may be: after a cleanup
 * it knows the earliest end left, and each run that ends lowers it. */
START_TEST(retention_after_a_cycle_that_found_nothing_ended)
{
    jobq_close(s);
    s = fx_open(RETENTION_60_S);
    fx.now += 1000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0); /* nothing ended */
    jobq_run_id x = ended_run(NULL);
    ck_assert_int_eq(tick_and_get(59000, x), 0);
    ck_assert_int_eq(tick_and_get(2000, x), JOBQ_ENOTFOUND);
}
END_TEST

START_TEST(cleanup_is_bounded_by_max_runs)
{
    jobq_close(s);
    fx.durability = JOBQ_DURABILITY_NORMAL; /* 5000 commits */
    s = fx_open(NULL);
    ck_assert_int_eq(jobq_property_set(s, "services.jobOrchestrator.settings."
                                          "jobRunCleanup.retentionPeriod",
                                       "1"), 0);
    end_runs(2500);
    fx.now += 5000;
    uint64_t deleted = 0;
    ck_assert_int_eq(jobq_cleanup(s, 1200, &deleted), 0);
    ck_assert_uint_eq(deleted, 1200);
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), 0);
    ck_assert_uint_eq(deleted, 1300);
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), 0);
    ck_assert_uint_eq(deleted, 0);
}
END_TEST

/* A cleanup that cannot read which runs are due says so: it used to
 * report "0 deleted" as if nothing were due. The table is renamed under
 * the open handle (another connection), so the cached statement fails
 * when it is stepped; renamed back, the same handle deletes them. A
 * cycle's retention reads the same way. */
START_TEST(cleanup_reports_a_failed_read)
{
    jobq_close(s);
    s = fx_open(RETENTION_60_S);
    end_runs(3);
    fx.now += 61000;
    uint64_t deleted = 0;
    ck_assert_int_eq(jobq_cleanup(s, 1, &deleted), 0);
    ck_assert_uint_eq(deleted, 1);
    fx_sql("ALTER TABLE runs RENAME TO runs_away");
    deleted = 99;
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), JOBQ_EIO);
    ck_assert_uint_eq(deleted, 0);
    char msg[512];
    ck_assert_int_gt(jobq_errmsg(s, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "retention") && strstr(msg, "no such table"),
                  "%s", msg);
    /* A cycle's retention fails the same way, and changes nothing. */
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), JOBQ_EIO);
    ck_assert_int_gt(jobq_errmsg(s, msg, sizeof msg), 0);
    ck_assert_msg(strstr(msg, "retention"), "%s", msg);
    fx_sql("ALTER TABLE runs_away RENAME TO runs");
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"), 2);
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"), 0);
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), 0);
    ck_assert_uint_eq(deleted, 0);
}
END_TEST

/* Lets the first `allowed` commits through, then turns commits into
 * rollbacks (SQLite's commit hook). */
static int commits_allowed;

static int fail_commits_after(void *unused)
{
    (void)unused;
    return commits_allowed-- > 0 ? 0 : 1;
}

/* jobq_cleanup() commits batch by batch: when a later batch fails, the
 * batches before it stay deleted, and the count says so. */
START_TEST(cleanup_counts_the_batches_it_committed_before_failing)
{
    jobq_close(s);
    fx.durability = JOBQ_DURABILITY_NORMAL; /* 2500 x 2 commits */
    s = fx_open(RETENTION_60_S);
    end_runs(2500);
    fx.now += 61000;
    commits_allowed = 1;
    sqlite3_commit_hook(s->store->db, fail_commits_after, NULL);
    uint64_t deleted = 99;
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), JOBQ_EIO);
    sqlite3_commit_hook(s->store->db, NULL, NULL);
    ck_assert_uint_eq(deleted, 1000);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM runs"), 1500);
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), 0);
    ck_assert_uint_eq(deleted, 1500);
}
END_TEST

/* Run names reach the trigram index in bulk, by the commit that finds 2048
 * unindexed runs (store.c, migration 4 -> 5): search finds runs on both
 * sides of the mark, and deleting runs the index never saw leaves it
 * intact (FTS5 reports a 'delete' of an unknown row as corruption). */
START_TEST(name_index_is_written_in_bulk)
{
    jobq_close(s);
    fx.durability = JOBQ_DURABILITY_NORMAL; /* 3000 commits */
    s = fx_open(NULL);
    jobq_run_id early = fx_submit(s, "model-train", "needle-early");
    char name[32];
    for (int i = 1; i < 2999; i++) {
        snprintf(name, sizeof name, "hay-%05d", i);
        fx_submit(s, "model-train", name);
    }
    jobq_run_id late = fx_submit(s, "model-train", "needle-late");
    jobq_run_id *ids = NULL;
    ck_assert_uint_eq(search("needle", 0, &ids), 2);
    ck_assert_uint_eq(ids[0], late);
    ck_assert_uint_eq(ids[1], early);
    jobq_free(ids);
    ck_assert_uint_eq(search("hay-0299", 0, &ids), 9); /* unindexed */
    jobq_free(ids);
    ck_assert_uint_eq(search("hay-0100", 0, &ids), 10); /* indexed */
    jobq_free(ids);
    /* The job's name, on both sides of the mark. */
    ck_assert_uint_eq(search("ODEL-TRAI", 0, &ids), 3000);
    jobq_free(ids);
    jobq_close(s);
    s = NULL;
    /* Indexed up to the commit that reached 2048 runs above the mark. */
    ck_assert_int_eq(fx_sql_int("SELECT names_indexed FROM scheduler"), 2048);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM run_text WHERE "
                                "run_text MATCH '\"needle\"'"), 1);
    s = fx_open(NULL);
    ck_assert_int_eq(jobq_property_set(s, "services.jobOrchestrator.settings."
                                          "jobRunCleanup.retentionPeriod",
                                       "1"), 0);
    for (jobq_run_id id = early; id <= late; id++)
        ck_assert_int_eq(jobq_run_cancel(s, id, NULL), 0);
    fx.now += 5000;
    uint64_t deleted = 0;
    ck_assert_int_eq(jobq_cleanup(s, 0, &deleted), 0);
    ck_assert_uint_eq(deleted, 3000);
    ck_assert_uint_eq(search("needle", 0, &ids), 0);
    jobq_close(s);
    s = NULL;
    fx_sql("INSERT INTO run_text (run_text) VALUES ('integrity-check')");
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM run_text WHERE "
                                "run_text MATCH 'hay'"), 0);
    s = fx_open(NULL);
}
END_TEST

static int occurrences(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* A run's submission and its end are not event rows (the run row says
 * them); the log read back still has them, in place, with the reason and
 * detail, and a file that has them as rows (written before) shows them
 * once. */
START_TEST(event_log_reads_what_the_run_row_says)
{
    jobq_run_id a = fx_submit(s, "model-train", "to-cancel");
    jobq_time_ms submitted = fx.now;
    fx.now += 1500;
    ck_assert_int_eq(jobq_run_cancel(s, a, "no longer needed"), 0);
    jobq_close(s);
    s = NULL;
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM events"), 0);
    s = fx_open(NULL);
    char *json = NULL;
    char want[256];
    ck_assert_int_eq(jobq_run_explain(s, &json, a), 0);
    snprintf(want, sizeof want, "[{\"event\":\"submitted\",\"time\":%lld},"
             "{\"event\":\"cancelled\",\"time\":%lld,\"reason\":\"user\","
             "\"detail\":\"no longer needed\"}]", (long long)submitted,
             (long long)submitted + 1500);
    ck_assert_msg(strstr(json, want), "%s lacks %s", json, want);
    jobq_free(json);
    jobq_close(s);
    s = NULL;
    /* As an older version wrote them. */
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO events (run_id, seq, type, time) "
             "VALUES (%llu, 0, 0, %lld), (%llu, 1, 5, %lld)",
             (unsigned long long)a, (long long)submitted,
             (unsigned long long)a, (long long)submitted + 1500);
    fx_sql(sql);
    s = fx_open(NULL);
    ck_assert_int_eq(jobq_run_explain(s, &json, a), 0);
    ck_assert_int_eq(occurrences(json, "\"event\":\"submitted\""), 1);
    ck_assert_int_eq(occurrences(json, "\"event\":\"cancelled\""), 1);
    jobq_free(json);
}
END_TEST

/* A deployment is read from the run row too, until it is undone: a run the
 * cluster refuses after the deploy call succeeded goes back to its queue,
 * and the first deployment's event must survive as a row, in its place,
 * when the second one is written over deployed_at. The deploy rate counts
 * both. */
START_TEST(an_undone_deployment_keeps_its_event)
{
    jobq_close(s);
    fx.has_poll = true;
    fx.poll_answer = JOBQ_POLL_RUNNING;
    s = fx_open(NULL);
    jobq_run_id a = fx_submit(s, "model-train", "refused-later");
    jobq_time_ms submitted = fx.now;
    fx.now += 1000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    jobq_time_ms first = fx.now;
    ck_assert_uint_eq(fx.deploy_count, 1);
    fx.poll_answer = JOBQ_POLL_QUOTA_REJECTED;
    fx.now += 1000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    jobq_time_ms refused = fx.now;
    fx.poll_answer = JOBQ_POLL_RUNNING;
    for (int i = 0; i < 100 && fx.deploy_count < 2; i++) {
        fx.now += 1000;
        ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    }
    ck_assert_uint_eq(fx.deploy_count, 2);
    jobq_time_ms second = fx.now;
    jobq_close(s);
    s = NULL;
    /* One row: the undone deployment; the current one is the run row's. */
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM events WHERE type = 2"),
                     1);
    ck_assert_int_eq(fx_sql_int("SELECT count(*) FROM event_log "
                                "WHERE type = 2"), 2);
    s = fx_open(NULL);
    char *json = NULL;
    char want[512];
    ck_assert_int_eq(jobq_run_explain(s, &json, a), 0);
    snprintf(want, sizeof want, "{\"event\":\"deployed\",\"time\":%lld,"
             "\"wait_ms\":%lld}", (long long)first,
             (long long)(first - submitted));
    char *at_first = strstr(json, want);
    ck_assert_msg(at_first, "%s lacks %s", json, want);
    snprintf(want, sizeof want, "{\"event\":\"rescheduled\",\"time\":%lld",
             (long long)refused);
    char *at_refused = strstr(json, want);
    ck_assert_msg(at_refused > at_first, "%s lacks %s after the first "
                  "deployment", json, want);
    snprintf(want, sizeof want, "{\"event\":\"deployed\",\"time\":%lld,"
             "\"wait_ms\":%lld}", (long long)second,
             (long long)(second - submitted));
    ck_assert_msg(strstr(json, want) > at_refused, "%s lacks %s last", json,
                  want);
    jobq_free(json);
    /* The deploy rate of the queue counts both deployments. */
    jobq_run_id b = fx_submit(s, "model-train", NULL);
    fx.refuse_quota = 1000;
    fx.now += 1000;
    ck_assert_int_eq(jobq_tick(s, fx.now, NULL), 0);
    ck_assert_int_eq(jobq_run_explain(s, &json, b), 0);
    ck_assert_msg(strstr(json, "\"2 deployments from this queue"), "%s",
                  json);
    jobq_free(json);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("store_query");
    TCase *tc = tcase_create("query");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, search_matches_substrings_case_insensitively);
    tcase_add_test(tc, search_short_texts_use_like);
    tcase_add_test(tc, search_without_database_scans_memory);
    tcase_add_test(tc, list_filters);
    tcase_add_test(tc, explain_blocked_run);
    tcase_add_test(tc, explain_estimates_from_recent_rate);
    tcase_add_test(tc, batch_submit_is_ordered_and_all_or_nothing);
    tcase_add_test(tc, batch_submit_with_keys);
    tcase_add_test(tc, retention_deletes_old_terminal_runs_per_tick);
    tcase_add_test(tc, retention_deletes_runs_ended_before_the_open);
    tcase_add_test(tc, retention_after_a_cycle_that_found_nothing_ended);
    tcase_add_test(tc, cleanup_is_bounded_by_max_runs);
    tcase_add_test(tc, cleanup_reports_a_failed_read);
    tcase_add_test(tc, cleanup_counts_the_batches_it_committed_before_failing);
    tcase_add_test(tc, name_index_is_written_in_bulk);
    tcase_add_test(tc, event_log_reads_what_the_run_row_says);
    tcase_add_test(tc, an_undone_deployment_keeps_its_event);
    suite_add_tcase(suite, tc);
    return suite;
}
