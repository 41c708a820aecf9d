/*
 * libFuzzer target for jobq-sim's scenario parser (examples/sim/scenario.c):
 * arbitrary bytes must either parse into a consistent scenario or be
 * refused with a one-line message that names a field; never crash, never
 * leak.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_consistent(const sim_scenario *s)
{
    assert(s->tick >= 1);
    for (size_t i = 0; i < s->run_count; i++) {
        const sim_run *r = &s->runs[i];
        assert(r->ns < s->namespace_count);
        assert(r->submit_at >= 0 && r->duration >= 0);
        for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
            assert(r->request.amount[d] >= 0);
    }
    /* submit_order is a permutation sorted by submit time. */
    for (size_t i = 1; i < s->run_count; i++)
        assert(s->runs[s->submit_order[i - 1]].submit_at <=
               s->runs[s->submit_order[i]].submit_at);
    for (size_t i = 1; i < s->quota_change_count; i++)
        assert(s->quota_changes[i - 1].at <= s->quota_changes[i].at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_scenario s;
    char err[512];
    if (sim_scenario_parse(&s, (const char *)data, size, err, sizeof err) ==
        0) {
        check_consistent(&s);
        sim_scenario_free(&s);
    } else {
        assert(err[0] != '\0');
        assert(strchr(err, '\n') == NULL);
        assert(strchr(err, ':') != NULL); /* "field: message" */
    }
    return 0;
}
