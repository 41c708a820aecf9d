/*
 * Scheduler events as JSON lines on standard output, one object per event
 * and line, for log collectors (and for the end-to-end tests).
 *
 * Events are printed only once the call that produced them has returned
 * successfully, that is after its transaction is committed: the sink
 * buffers them and the host flushes after each scheduler call (or discards
 * them when the call failed: a failed call changes nothing). A restart
 * therefore never prints an event twice; an event committed but not yet
 * printed when the process is killed is not printed (at most once).
 */
#ifndef K8S_EVENTS_H
#define K8S_EVENTS_H

#include "jobq/jobq.h"

/* A jobq_event_sink.on_event: buffers {"time_ms":..,"event":"deployed",...}. */
void events_print(void *payload, const jobq_event *event);

/* Write the buffered lines to stdout and flush; or drop them. Safe from
 * any thread. */
void events_flush(void);
void events_discard(void);

#endif
