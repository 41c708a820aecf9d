/*
 * A scheduler handle used from several threads at once (Go calls come from
 * any OS thread): concurrent submitters and a ticking thread must neither
 * lose nor duplicate a run. Run under `meson test --setup valgrind` or
 * helgrind to look for races as well.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"
#include "test_util.h"

enum { SUBMITTERS = 4, PER_THREAD = 3000 };

typedef struct shared {
    jobq_scheduler *s;
    unsigned char deployed[SUBMITTERS * PER_THREAD + 1];
    int deploy_events, duplicates;
    volatile int submitters_done;
} shared;

static void on_event(void *payload, const jobq_event *ev)
{
    shared *sh = payload; /* called with the handle's lock held */
    if (ev->type != JOBQ_EVENT_DEPLOYED)
        return;
    sh->deploy_events++;
    if (ev->run > SUBMITTERS * PER_THREAD || sh->deployed[ev->run]++)
        sh->duplicates++;
}

static void *submitter(void *arg)
{
    shared *sh = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        jobq_run_id id;
        ck_assert_int_eq(jobq_run_submit(sh->s, &id, "j", NULL), 0);
    }
    return NULL;
}

static void *ticker(void *arg)
{
    shared *sh = arg;
    while (!__atomic_load_n(&sh->submitters_done, __ATOMIC_ACQUIRE))
        ck_assert_int_eq(jobq_tick(sh->s, JOBQ_TIME_NOW, NULL), 0);
    return NULL;
}

START_TEST(concurrent_submit_and_tick)
{
    static shared sh;
    memset(&sh, 0, sizeof sh);
    jobq_options opts = JOBQ_OPTIONS_INIT;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, &sh, on_event};
    opts.events = &events;
    opts.config_json = "{\"services\":{\"jobOrchestrator\":{\"settings\":"
                       "{\"batchSize\":50}}}}";
    ck_assert_int_eq(jobq_open(&sh.s, &opts, NULL, 0), 0);
    jobq_job_def def = JOBQ_JOB_DEF_INIT;
    def.name = "j";
    def.ns = "ns";
    ck_assert_int_eq(jobq_job_define(sh.s, &def), 0);

    pthread_t threads[SUBMITTERS], tick_thread;
    pthread_create(&tick_thread, NULL, ticker, &sh);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_create(&threads[i], NULL, submitter, &sh);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(threads[i], NULL);
    __atomic_store_n(&sh.submitters_done, 1, __ATOMIC_RELEASE);
    pthread_join(tick_thread, NULL);

    jobq_tick_stats st = JOBQ_TICK_STATS_INIT;
    do
        ck_assert_int_eq(jobq_tick(sh.s, JOBQ_TIME_NOW, &st), 0);
    while (st.queued > 0);
    ck_assert_int_eq(sh.deploy_events, SUBMITTERS * PER_THREAD);
    ck_assert_int_eq(sh.duplicates, 0);
    for (int id = 1; id <= SUBMITTERS * PER_THREAD; id++)
        ck_assert_int_eq(sh.deployed[id], 1);
    jobq_close(sh.s);
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, concurrent_submit_and_tick);
    suite_add_tcase(s, tc);
    return s;
}
