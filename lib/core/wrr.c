/* Smooth weighted round robin; see wrr.h. */
#include "wrr.h"

int jq_wrr_choose(const jq_wrr *wrr, const int64_t weight[JQ_WRR_SLOTS],
                  const bool eligible[JQ_WRR_SLOTS])
{
    int best = -1;
    int64_t best_value = 0;
    for (int i = 0; i < JQ_WRR_SLOTS; i++) {
        if (!eligible[i])
            continue;
        int64_t value = wrr->current[i] + weight[i];
        if (best < 0 || value > best_value) {
            best = i;
            best_value = value;
        }
    }
    return best;
}

void jq_wrr_charge(jq_wrr *wrr, const int64_t weight[JQ_WRR_SLOTS],
                   const bool eligible[JQ_WRR_SLOTS], int chosen)
{
    int64_t total = 0;
    for (int i = 0; i < JQ_WRR_SLOTS; i++) {
        if (!eligible[i])
            continue;
        wrr->current[i] += weight[i];
        total += weight[i];
    }
    wrr->current[chosen] -= total;
}
