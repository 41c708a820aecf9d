/*
 * The body of every public *_init(jobq_x *out, unsigned version): each
 * versioned struct begins with its `unsigned version` (SPEC section 6),
 * and its init gives the struct's INIT value with the version the caller
 * asked for.
 */
#ifndef JQ_VERSIONED_H
#define JQ_VERSIONED_H

#include <stddef.h>
#include <string.h>

#include "jobq/jobq.h"

/* Copies `size` bytes of `init` to `out` and sets its version: JOBQ_EINVAL
 * for a NULL out, JOBQ_EVERSION for a version outside 1..latest. Every
 * struct is at version 1 so far; when one grows, an older caller's struct
 * is smaller, and this is where its size must follow the version asked
 * for. */
static inline int jq_versioned_init(void *out, const void *init, size_t size,
                                    unsigned version, unsigned latest)
{
    if (!out)
        return JOBQ_EINVAL;
    if (version < 1 || version > latest)
        return JOBQ_EVERSION;
    memcpy(out, init, size);
    memcpy(out, &version, sizeof version); /* the leading field */
    return 0;
}

#endif
