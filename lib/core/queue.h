/*
 * An intrusive FIFO of runs: one per (namespace, priority), plus the list of
 * deployed runs. Runs carry their own links, so push, pop and removal from
 * the middle (a cancel) are O(1) and a queue of a million runs costs no
 * memory beyond the runs themselves.
 */
#ifndef JQ_QUEUE_H
#define JQ_QUEUE_H

#include <stdint.h>

struct jq_run;

typedef struct jq_list {
    struct jq_run *first;
    struct jq_run *last;
    uint64_t length;
} jq_list;

void jq_list_push_back(jq_list *list, struct jq_run *run);
void jq_list_remove(jq_list *list, struct jq_run *run);
/* Insert keeping the list ordered by run->id, which is submission order
 * (used to put a rescheduled run back at its original position). Walks
 * from the head: the run almost always belongs at or near the head. */
void jq_list_insert_by_seq(jq_list *list, struct jq_run *run);
/* 0-based position of run in list (walks from both ends; O(distance to
 * the nearer end)). list->length if the run is not in the list. */
uint64_t jq_list_position(const jq_list *list, const struct jq_run *run);

#endif
