/*
 * Damage a real database N ways (issue 8), in the default test suite: a
 * seeded random sequence of damage operations (flipped bytes, truncation,
 * odd rows, header bytes, pages overwritten) per case, each case run
 * through the fuzz harness (tests/fuzz/fuzz_database.c): open read-only
 * and read-write and every read call jobqctl makes. No crash, no sanitizer
 * report; every open gives a usable handle or a clean error naming the
 * path. The input of the case in progress is kept in damage-last.bin (in
 * the current directory) so that a failure can be replayed:
 *     replay_database damage-last.bin
 *
 *   damage_test [--seed S] [--count N]     (defaults: 8, 150)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_database.h"

static uint64_t state;

static uint32_t next(void)
{
    /* splitmix64: the same seed gives the same cases on every machine. */
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

int main(int argc, char **argv)
{
    unsigned long seed = 8, count = 150;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            seed = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--count") == 0)
            count = strtoul(argv[i + 1], NULL, 10);
    }
    state = seed;
    unsigned long per_kind[5] = {0};
    for (unsigned long n = 0; n < count; n++) {
        uint8_t input[1 + 4 * 8];
        size_t ops = 1 + next() % 6;
        input[0] = 0; /* damage the real database */
        for (size_t k = 0; k < ops; k++) {
            uint32_t r = next();
            /* Mostly odd rows and flips; a truncation now and then. */
            static const uint8_t kinds[] = {2, 2, 2, 0, 0, 4, 3, 1};
            uint8_t kind = kinds[r % 8];
            input[1 + 4 * k] = (uint8_t)(kind + 5 * ((r >> 8) % 50));
            input[2 + 4 * k] = (uint8_t)(r >> 16);
            input[3 + 4 * k] = (uint8_t)(r >> 24);
            input[4 + 4 * k] = (uint8_t)next();
            per_kind[kind]++;
        }
        FILE *f = fopen("damage-last.bin", "wb");
        if (f) {
            fwrite(input, 1, 1 + 4 * ops, f);
            fclose(f);
        }
        fuzz_database(input, 1 + 4 * ops);
    }
    remove("damage-last.bin");
    printf("damaged %lu databases (seed %lu): %lu flips, %lu truncations, "
           "%lu odd rows, %lu header bytes, %lu page bytes\n",
           fuzz_db_counts.inputs, seed, per_kind[0], per_kind[1], per_kind[2],
           per_kind[3], per_kind[4]);
    printf("opens: %lu usable handles (%lu reporting quarantined rows), "
           "%lu refused with the path named\n",
           fuzz_db_counts.opened, fuzz_db_counts.quarantined,
           fuzz_db_counts.refused);
    return 0;
}
