/*
 * Shared entry point for the Check unit tests. Each test file defines
 * suite_under_test(); this runs it with TAP output so that meson shows every
 * Check test as a subtest (`meson test -v`). Set CK_FORK=no to debug a
 * failing test in gdb.
 */
#include <check.h>
#include <stdlib.h>

#include "test_util.h"

int main(void)
{
    SRunner *sr = srunner_create(suite_under_test());
    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
