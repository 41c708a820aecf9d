/*
 * Smooth weighted round robin between a namespace's two priority queues:
 * the algorithm nginx uses for upstream weights. Each candidate keeps a
 * `current` value; a selection adds every eligible candidate's weight to its
 * current and picks the largest (ties go to the earlier candidate, i.e.
 * high); charging the pick subtracts the eligible weights' total from it.
 *
 * Choosing and charging are separate because SPEC section 2 charges the
 * state only for an actual deployment: a head that turns out not to fit
 * leaves the state untouched. Over any stretch where both queues stay
 * eligible, candidate i is picked weight_i / total of the time, spread as
 * evenly as possible.
 */
#ifndef JQ_WRR_H
#define JQ_WRR_H

#include <stdbool.h>
#include <stdint.h>

#define JQ_WRR_SLOTS 2 /* high, normal */

typedef struct jq_wrr {
    int64_t current[JQ_WRR_SLOTS];
} jq_wrr;

/* The slot a selection among `eligible` would pick, or -1 if none is
 * eligible. Does not modify the state. */
int jq_wrr_choose(const jq_wrr *wrr, const int64_t weight[JQ_WRR_SLOTS],
                  const bool eligible[JQ_WRR_SLOTS]);

/* Record that `chosen` (as returned by jq_wrr_choose with the same weights
 * and eligibility) was served. */
void jq_wrr_charge(jq_wrr *wrr, const int64_t weight[JQ_WRR_SLOTS],
                   const bool eligible[JQ_WRR_SLOTS], int chosen);

#endif
