/*
 * Scheduler events as JSON lines on standard output, one object per event
 * and line, for log collectors (and for the end-to-end tests).
 *
 * Events are printed only once what they report is committed: the sink
 * buffers them and the host flushes after each scheduler call that
 * succeeded (a failed call changes nothing: its events are dropped), and
 * when the library calls deploy (it has just made everything durable, the
 * run's DEPLOYING state with it). A restart therefore never prints an event
 * twice; one committed but not yet printed when the process is killed (the
 * instant between a commit and the flush after it) is not printed.
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
