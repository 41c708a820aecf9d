/*
 * Scheduler events as JSON lines on standard output, one object per event
 * and line, for log collectors (and for the end-to-end tests).
 */
#ifndef K8S_EVENTS_H
#define K8S_EVENTS_H

#include "jobq/jobq.h"

/* A jobq_event_sink.on_event: prints {"time_ms":..,"event":"deployed","run":3,...}. */
void events_print(void *payload, const jobq_event *event);

#endif
