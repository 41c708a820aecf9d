/* A fault-injecting SQLite VFS (test only); see fault_vfs.c. */
#ifndef FAULT_VFS_H
#define FAULT_VFS_H

#include <sqlite3.h>
#include <stdbool.h>

typedef enum fault_mode {
    FAULT_COUNT,  /* count operations, never fail */
    FAULT_ONCE,   /* the Nth operation fails (EIO), later ones succeed */
    FAULT_STICKY, /* the Nth and every later operation fails (EIO) */
    FAULT_FULL,   /* like FAULT_ONCE, and a write fails with SQLITE_FULL */
} fault_mode;

typedef enum fault_kind { FAULT_WRITE, FAULT_SYNC, FAULT_TRUNCATE } fault_kind;

typedef struct fault_state {
    bool armed;
    fault_mode mode;
    long long n;           /* which operation fails (1-based) */
    long long counter;     /* writes, syncs and truncates since armed */
    bool fired;            /* the fault has been injected */
    fault_kind first_kind; /* what the first injected fault hit */
    long long injected;    /* faults injected since the program started */
} fault_state;

extern fault_state fault;

/* Wrap the default VFS and make the wrapper the default. SQLITE_OK or an
 * SQLite error code. */
int fault_vfs_install(void);
void fault_arm(long long n, fault_mode mode);
void fault_disarm(void);

#endif
