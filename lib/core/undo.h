/*
 * Transactions over the policy core's memory: an undo log. See undo.c for
 * the design; core.h embeds a jq_txn in every jq_core.
 */
#ifndef JQ_UNDO_H
#define JQ_UNDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobq/jobq.h"

struct jq_core;
struct jq_run;
struct jq_job;
struct jq_namespace;
struct jq_list;

typedef struct jq_undo_entry {
    uint8_t kind;
    uint32_t len;  /* UNDO_BYTES: how many bytes were saved */
    void *ptr;     /* the address or object the entry is about */
    size_t offset; /* UNDO_BYTES, UNDO_SCALARS: where in `bytes` */
} jq_undo_entry;

/* An event published in the open transaction, delivered at its commit.
 * Strings point into objects that live at least until then (frees are
 * deferred to the commit), except `detail`, which is copied. */
typedef struct jq_pending_event {
    jobq_event event;
    char *detail; /* owned copy of event.detail, NULL if "" */
} jq_pending_event;

typedef struct jq_txn {
    jq_undo_entry *log;
    size_t len, cap;
    unsigned char *bytes; /* saved contents of UNDO_BYTES entries */
    size_t used, bytes_cap;
    jq_pending_event *events;
    size_t events_len, events_cap;
    /* Bumped by every commit and full rollback: a mark taken before one
     * refers to the start of the log. */
    uint64_t generation;
    uint64_t commits; /* commits of memory (tests) */
    /* Savepoints taken (numbers them), and the room kept free for
     * copying the namespaces a savepoint left out as at rest (undo.c):
     * other recordings reserve around it, so such a copy cannot fail. */
    uint64_t savepoints;
    size_t spare_entries, spare_bytes;
    bool verify; /* JOBQ_UNDO_VERIFY set: check every rollback (tests) */
} jq_txn;

/* A point in the open transaction to roll back to (a savepoint). */
typedef struct jq_txn_mark {
    uint64_t generation;
    size_t len, used, events;
} jq_txn_mark;

/* Take a savepoint: records the core's scalars and every namespace as they
 * are now, so that a rollback to the mark restores them. */
jq_txn_mark jq_txn_mark_now(struct jq_core *c);
/* Everything since the last commit is durable: deliver the pending events
 * (in order, through the core's emit callback), free what the transaction
 * released, and start a new transaction. */
void jq_txn_commit(struct jq_core *c);
/* Undo everything after `mark` (NULL: everything since the last commit),
 * drop the events published since, and free what it created. Runs whose
 * deployer was called after a commit (the write-ahead DEPLOYING record is
 * durable) end up where a reopen would put them: DEPLOYING on the deployed
 * list, settled by the next cycle. */
void jq_txn_rollback(struct jq_core *c, const jq_txn_mark *mark);
/* Free what the transaction holds without delivering anything (close). */
void jq_txn_destroy(struct jq_core *c);

/* Make room for `entries` records holding `bytes` saved bytes, before an
 * operation changes anything: false (and the call marked failed with
 * JOBQ_ENOMEM) when there is none. Within the room reserved, recording
 * cannot fail, so a rollback is exact. */
bool jq_txn_reserve(struct jq_core *c, size_t entries, size_t bytes);
/* Room for one run-sized operation (a submit, a cancel, an end). */
#define JQ_TXN_OP_ENTRIES 32
#define JQ_TXN_OP_BYTES 2048

/* Recording, called before each change. A recording that cannot allocate
 * (more than was reserved) marks the transaction failed (the public call
 * then fails with JOBQ_ENOMEM and rolls back). */
void jq_undo_bytes(struct jq_core *c, void *addr, size_t len);
void jq_undo_run(struct jq_core *c, struct jq_run *run);
void jq_undo_job(struct jq_core *c, struct jq_job *job);
void jq_undo_created_run(struct jq_core *c, struct jq_run *run);
void jq_undo_created_job(struct jq_core *c, struct jq_job *job);
void jq_undo_created_ns(struct jq_core *c, struct jq_namespace *ns);
void jq_undo_idmap_put(struct jq_core *c, struct jq_run *run);
void jq_undo_idmap_removed(struct jq_core *c, struct jq_run *run);
/* Before changing a namespace that may be at rest (nothing queued, nothing
 * deployed, no head state): a savepoint does not copy those. Cheap when
 * the namespace is busy or already copied since the savepoint. */
void jq_undo_ns(struct jq_core *c, struct jq_namespace *ns);
/* Tests: check every rollback restores every namespace exactly (on
 * when the environment sets JOBQ_UNDO_VERIFY; aborts on a difference). */
void jq_txn_init(struct jq_core *c);
/* `ptr` was allocated in this transaction: freed if it rolls back. */
void jq_undo_alloc(struct jq_core *c, void *ptr);
/* `ptr` is no longer referenced: freed when the transaction commits. */
void jq_defer_free(struct jq_core *c, void *ptr);
void jq_defer_free_run(struct jq_core *c, struct jq_run *run);
/* The deployer is about to be called for `run` (its DEPLOYING record is
 * committed). */
void jq_undo_deploying(struct jq_core *c, struct jq_run *run);
/* Queue an event for delivery at commit. */
void jq_txn_event(struct jq_core *c, const jobq_event *ev);

/* Intrusive list changes, recorded. */
void jq_tx_push_back(struct jq_core *c, struct jq_list *list,
                     struct jq_run *run);
void jq_tx_remove(struct jq_core *c, struct jq_list *list, struct jq_run *run);
void jq_tx_insert_by_seq(struct jq_core *c, struct jq_list *list,
                         struct jq_run *run);

/* Tests only: make the Nth allocation the core's transaction machinery or
 * entry points make from now fail (0: none). */
void jq_core_fail_alloc_after(uint64_t n);
void *jq_core_malloc(size_t n);
void *jq_core_calloc(size_t count, size_t n);

#endif
