/*
 * Lookup tables for the policy core: runs by durable id, and jobs and
 * namespaces by name. Both are open-addressing hash tables of pointers
 * (8 bytes a slot, at most 70% full), so indexing a million runs costs
 * about 12 bytes a run on top of the run itself.
 */
#ifndef JQ_RUNTABLE_H
#define JQ_RUNTABLE_H

#include <stddef.h>
#include <stdint.h>

struct jq_run;

/* Runs by id. Deletion uses backward-shift, so there are no tombstones. */
typedef struct jq_idmap {
    struct jq_run **slots;
    size_t capacity; /* a power of two, or 0 */
    size_t count;
} jq_idmap;

void jq_idmap_free(jq_idmap *map);
/* 0, or JOBQ_ENOMEM. The run's id must not be in the map yet. */
int jq_idmap_put(jq_idmap *map, struct jq_run *run);
struct jq_run *jq_idmap_get(const jq_idmap *map, uint64_t id);
/* Make room for `count` runs in all, so that loading them does not rehash
 * on the way (reopening a database). 0, or JOBQ_ENOMEM. */
int jq_idmap_reserve(jq_idmap *map, size_t count);
void jq_idmap_remove(jq_idmap *map, uint64_t id);

/* Values by NUL-terminated name; `key_of` returns the name stored in a
 * value, so the table holds only value pointers. */
typedef const char *(*jq_key_fn)(const void *value);

typedef struct jq_strmap {
    void **slots;
    size_t capacity;
    size_t count;
    jq_key_fn key_of;
} jq_strmap;

void jq_strmap_init(jq_strmap *map, jq_key_fn key_of);
void jq_strmap_free(jq_strmap *map);
int jq_strmap_put(jq_strmap *map, void *value);
void *jq_strmap_get(const jq_strmap *map, const char *key);
/* Remove the value stored under `key`, if any (the value is not freed). */
void jq_strmap_remove(jq_strmap *map, const char *key);

#endif
