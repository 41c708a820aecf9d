/*
 * The damaged-database fuzz harness (fuzz_database.c), shared by its
 * libFuzzer entry point, the corpus replay and the seeded damage test.
 */
#ifndef FUZZ_DATABASE_H
#define FUZZ_DATABASE_H

#include <stddef.h>
#include <stdint.h>

/* Outcomes so far, for the damage test's summary. */
typedef struct fuzz_db_stats {
    unsigned long inputs;
    unsigned long opened;      /* opens that gave a usable handle */
    unsigned long refused;     /* opens refused, the path in the message */
    unsigned long quarantined; /* handles that reported quarantined rows */
} fuzz_db_stats;

extern fuzz_db_stats fuzz_db_counts;

/* One input (format: see fuzz_database.c). Aborts when a check fails. */
int fuzz_database(const uint8_t *data, size_t size);
/* Remove the scratch directory. */
void fuzz_database_cleanup(void);

#endif
