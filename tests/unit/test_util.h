/* Helpers shared by the Check unit tests. */
#ifndef JQ_TEST_UTIL_H
#define JQ_TEST_UTIL_H

#include <check.h>
#include <stddef.h>

#include "jobq/jobq.h"

/* Every test_*.c file defines this: the suite main.c runs. */
Suite *suite_under_test(void);

/* Database files (test_db.c): a fresh name under /tmp for a file that does
 * not exist yet; removing a file with its -wal, -shm and -lock companions;
 * how many runs a file holds in `state`, read with SQLite directly (no
 * reconciling on open). */
void tu_db_path(char *path, size_t cap, const char *prefix);
void tu_db_remove(const char *path);
int tu_db_count_state(const char *path, int state);
/* A run's record, asserting that `s` has it. */
jobq_run_info tu_run_info(jobq_scheduler *s, jobq_run_id id);

#endif
