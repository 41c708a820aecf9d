/* Helpers shared by the Check unit tests. */
#ifndef JQ_TEST_UTIL_H
#define JQ_TEST_UTIL_H

#include <check.h>

/* Every test_*.c file defines this: the suite main.c runs. */
Suite *suite_under_test(void);

#endif
