/* Open-addressing lookup tables; see runtable.h. */
#include "runtable.h"

#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "jobq/errors.h"

static size_t hash_id(uint64_t id)
{
    /* Fibonacci hashing spreads sequential ids across the table. */
    return (size_t)((id * UINT64_C(11400714819323198485)) >> 17);
}

static size_t hash_string(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return (size_t)h;
}

static bool needs_growth(size_t count, size_t capacity)
{
    return capacity == 0 || (count + 1) * 10 > capacity * 7;
}

void jq_idmap_free(jq_idmap *map)
{
    free(map->slots);
    memset(map, 0, sizeof *map);
}

static void idmap_insert_slot(jq_run **slots, size_t capacity, jq_run *run)
{
    size_t mask = capacity - 1;
    size_t i = hash_id(run->id) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = run;
}

static int idmap_grow(jq_idmap *map)
{
    size_t capacity = map->capacity ? map->capacity * 2 : 64;
    jq_run **slots = jq_core_calloc(capacity, sizeof *slots);
    if (!slots)
        return JOBQ_ENOMEM;
    for (size_t i = 0; i < map->capacity; i++)
        if (map->slots[i])
            idmap_insert_slot(slots, capacity, map->slots[i]);
    free(map->slots);
    map->slots = slots;
    map->capacity = capacity;
    return 0;
}

int jq_idmap_reserve(jq_idmap *map, size_t count)
{
    while (needs_growth(count, map->capacity))
        if (idmap_grow(map) != 0)
            return JOBQ_ENOMEM;
    return 0;
}

int jq_idmap_put(jq_idmap *map, jq_run *run)
{
    if (needs_growth(map->count, map->capacity) && idmap_grow(map) != 0)
        return JOBQ_ENOMEM;
    idmap_insert_slot(map->slots, map->capacity, run);
    map->count++;
    return 0;
}

jq_run *jq_idmap_get(const jq_idmap *map, uint64_t id)
{
    if (map->capacity == 0)
        return NULL;
    size_t mask = map->capacity - 1;
    for (size_t i = hash_id(id) & mask; map->slots[i]; i = (i + 1) & mask)
        if (map->slots[i]->id == id)
            return map->slots[i];
    return NULL;
}

void jq_idmap_remove(jq_idmap *map, uint64_t id)
{
    if (map->capacity == 0)
        return;
    size_t mask = map->capacity - 1;
    size_t i = hash_id(id) & mask;
    while (map->slots[i] && map->slots[i]->id != id)
        i = (i + 1) & mask;
    if (!map->slots[i])
        return;
    /* Backward-shift deletion: move later members of the probe chain into
     * the hole when their home slot allows it. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; map->slots[j]; j = (j + 1) & mask) {
        size_t home = hash_id(map->slots[j]->id) & mask;
        bool movable = (j > hole) ? (home <= hole || home > j)
                                  : (home <= hole && home > j);
        if (movable) {
            map->slots[hole] = map->slots[j];
            hole = j;
        }
    }
    map->slots[hole] = NULL;
    map->count--;
}

void jq_strmap_init(jq_strmap *map, jq_key_fn key_of)
{
    memset(map, 0, sizeof *map);
    map->key_of = key_of;
}

void jq_strmap_free(jq_strmap *map)
{
    free(map->slots);
    map->slots = NULL;
    map->capacity = map->count = 0;
}

static void strmap_insert_slot(const jq_strmap *map, void **slots,
                               size_t capacity, void *value)
{
    size_t mask = capacity - 1;
    size_t i = hash_string(map->key_of(value)) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = value;
}

int jq_strmap_put(jq_strmap *map, void *value)
{
    if (needs_growth(map->count, map->capacity)) {
        size_t capacity = map->capacity ? map->capacity * 2 : 16;
        void **slots = jq_core_calloc(capacity, sizeof *slots);
        if (!slots)
            return JOBQ_ENOMEM;
        for (size_t i = 0; i < map->capacity; i++)
            if (map->slots[i])
                strmap_insert_slot(map, slots, capacity, map->slots[i]);
        free(map->slots);
        map->slots = slots;
        map->capacity = capacity;
    }
    strmap_insert_slot(map, map->slots, map->capacity, value);
    map->count++;
    return 0;
}

void *jq_strmap_get(const jq_strmap *map, const char *key)
{
    if (map->capacity == 0)
        return NULL;
    size_t mask = map->capacity - 1;
    for (size_t i = hash_string(key) & mask; map->slots[i]; i = (i + 1) & mask)
        if (strcmp(map->key_of(map->slots[i]), key) == 0)
            return map->slots[i];
    return NULL;
}

void jq_strmap_remove(jq_strmap *map, const char *key)
{
    if (map->capacity == 0)
        return;
    size_t mask = map->capacity - 1;
    size_t i = hash_string(key) & mask;
    while (map->slots[i] && strcmp(map->key_of(map->slots[i]), key) != 0)
        i = (i + 1) & mask;
    if (!map->slots[i])
        return;
    /* Backward-shift deletion, as for the id map. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; map->slots[j]; j = (j + 1) & mask) {
        size_t home = hash_string(map->key_of(map->slots[j])) & mask;
        bool movable = (j > hole) ? (home <= hole || home > j)
                                  : (home <= hole && home > j);
        if (movable) {
            map->slots[hole] = map->slots[j];
            hole = j;
        }
    }
    map->slots[hole] = NULL;
    map->count--;
}
