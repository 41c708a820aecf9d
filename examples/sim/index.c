/* String -> index hash table (open addressing, FNV-1a); see index.h. */
#include "index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return (size_t)h;
}

void sim_index_free(sim_index *index)
{
    for (size_t i = 0; i < index->capacity; i++)
        free(index->keys[i]);
    free(index->keys);
    free(index->values);
    memset(index, 0, sizeof *index);
}

static size_t slot_of(const sim_index *index, const char *key)
{
    size_t mask = index->capacity - 1;
    size_t i = hash(key) & mask;
    while (index->keys[i] && strcmp(index->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

bool sim_index_get(const sim_index *index, const char *key, size_t *value)
{
    if (index->capacity == 0)
        return false;
    size_t i = slot_of(index, key);
    if (!index->keys[i])
        return false;
    *value = index->values[i];
    return true;
}

static bool grow(sim_index *index)
{
    sim_index bigger = {0};
    bigger.capacity = index->capacity ? index->capacity * 2 : 64;
    bigger.keys = calloc(bigger.capacity, sizeof *bigger.keys);
    bigger.values = calloc(bigger.capacity, sizeof *bigger.values);
    if (!bigger.keys || !bigger.values) {
        free(bigger.keys);
        free(bigger.values);
        return false;
    }
    for (size_t i = 0; i < index->capacity; i++) {
        if (!index->keys[i])
            continue;
        size_t j = slot_of(&bigger, index->keys[i]);
        bigger.keys[j] = index->keys[i];
        bigger.values[j] = index->values[i];
    }
    bigger.count = index->count;
    free(index->keys);
    free(index->values);
    *index = bigger;
    return true;
}

bool sim_index_put(sim_index *index, const char *key, size_t value)
{
    if ((index->count + 1) * 10 > index->capacity * 7 && !grow(index))
        return false;
    size_t i = slot_of(index, key);
    if (!index->keys[i]) {
        size_t n = strlen(key) + 1;
        if (!(index->keys[i] = malloc(n)))
            return false;
        memcpy(index->keys[i], key, n);
        index->count++;
    }
    index->values[i] = value;
    return true;
}
