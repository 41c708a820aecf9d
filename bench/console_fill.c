/*
 * bench-console-fill: a database for the console benchmark: N queued runs
 * (default 1,000,000) in ONE queue (namespace "deep", normal priority),
 * the worst case for a queue page, plus one run in a second namespace.
 * Each run has a name like a real host's, for the search.
 *
 *   bench-console-fill FILE [N]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jobq/jobq.h"

#define BATCH 10000

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: bench-console-fill FILE [N]\n", stderr);
        return 2;
    }
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = argv[1];
    opts.durability = JOBQ_DURABILITY_NORMAL;
    jobq_scheduler *s = NULL;
    char err[512] = "";
    if (jobq_open(&s, &opts, err, sizeof err) != 0) {
        fprintf(stderr, "bench-console-fill: %s\n", err);
        return 1;
    }
    static const char *const names[2] = {"nightly-etl", "adhoc"};
    static const char *const spaces[2] = {"deep", "other"};
    for (int i = 0; i < 2; i++) {
        jobq_job_def def = JOBQ_JOB_DEF_INIT;
        def.name = names[i];
        def.ns = spaces[i];
        def.request.amount[JOBQ_RESOURCE_CPU] = 1000;
        def.request.amount[JOBQ_RESOURCE_PODS] = 1;
        if (jobq_job_define(s, &def) != 0)
            return 1;
    }
    static const char *jobs[BATCH];
    static jobq_submit_opts sopts[BATCH];
    static char run_names[BATCH][40];
    for (uint64_t done = 0; done < n;) {
        size_t count = n - done < BATCH ? (size_t)(n - done) : BATCH;
        for (size_t i = 0; i < count; i++) {
            jobs[i] = names[0];
            jobq_submit_opts o = JOBQ_SUBMIT_OPTS_INIT;
            snprintf(run_names[i], sizeof run_names[i],
                     "nightly-etl-2026-11-29-%07llu",
                     (unsigned long long)(done + i));
            o.run_name = run_names[i];
            sopts[i] = o;
        }
        if (jobq_run_submit_batch(s, NULL, jobs, sopts, count) != 0) {
            jobq_errmsg(s, err, sizeof err);
            fprintf(stderr, "bench-console-fill: %s\n", err);
            return 1;
        }
        done += count;
    }
    if (jobq_run_submit(s, NULL, names[1], NULL) != 0)
        return 1;
    jobq_close(s);
    printf("%llu queued runs in deep/normal, 1 in other/normal: %s\n",
           (unsigned long long)n, argv[1]);
    return 0;
}
