/*
 * A string -> index hash table for the simulator's lookups (run ids, job
 * variants), so that a scenario built from a trace of hundreds of
 * thousands of runs parses in linear time.
 */
#ifndef SIM_INDEX_H
#define SIM_INDEX_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sim_index {
    char **keys;    /* owned copies; NULL = empty slot */
    size_t *values;
    size_t capacity; /* a power of two */
    size_t count;
} sim_index;

void sim_index_free(sim_index *index);
/* The value stored under key, or false if there is none. */
bool sim_index_get(const sim_index *index, const char *key, size_t *value);
/* Store key -> value (key is copied). False on allocation failure. */
bool sim_index_put(sim_index *index, const char *key, size_t value);

#endif
