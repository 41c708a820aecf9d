/*
 * Turns every scheduler event into one JSON line, held until the call that
 * produced it has returned (events.h says why), then written and flushed
 * at once so a log collector (or a test) sees it.
 */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static struct {
    pthread_mutex_t lock;
    char **lines;
    size_t count, cap;
} pending = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void hold(char *text)
{
    pthread_mutex_lock(&pending.lock);
    if (pending.count == pending.cap) {
        size_t cap = pending.cap ? pending.cap * 2 : 64;
        char **grown = realloc(pending.lines, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&pending.lock);
            free(text);
            return;
        }
        pending.lines = grown;
        pending.cap = cap;
    }
    pending.lines[pending.count++] = text;
    pthread_mutex_unlock(&pending.lock);
}

static void add_resource_fields(cJSON *line, const jobq_event *event)
{
    char amount[64];
    cJSON_AddStringToObject(line, "reason", jobq_resource_name(event->resource));
    jobq_quantity_format(amount, sizeof amount, event->requested,
                         event->resource);
    cJSON_AddStringToObject(line, "requested", amount);
    if (event->available < 0)
        cJSON_AddStringToObject(line, "available", "0");
    else {
        jobq_quantity_format(amount, sizeof amount, event->available,
                             event->resource);
        cJSON_AddStringToObject(line, "available", amount);
    }
}

void events_print(void *payload, const jobq_event *event)
{
    cJSON *line = cJSON_CreateObject();
    if (!line)
        return;
    cJSON_AddNumberToObject(line, "time_ms", (double)event->time);
    cJSON_AddStringToObject(line, "event", jobq_event_name(event->type));
    cJSON_AddNumberToObject(line, "run", (double)event->run);
    cJSON_AddStringToObject(line, "run_name", event->run_name);
    cJSON_AddStringToObject(line, "job", event->job);
    cJSON_AddStringToObject(line, "namespace", event->ns);
    cJSON_AddStringToObject(line, "priority", event->priority ==
                                                      JOBQ_PRIORITY_HIGH
                                                  ? "high"
                                                  : "normal");
    cJSON_AddStringToObject(line, "flow", event->flow == JOBQ_FLOW_LEGACY
                                              ? "legacy"
                                              : "priority");
    if (event->type == JOBQ_EVENT_BLOCKED)
        add_resource_fields(line, event);
    else if (event->reason && event->reason[0])
        cJSON_AddStringToObject(line, "reason", event->reason);
    if (event->type == JOBQ_EVENT_DEPLOYED)
        cJSON_AddNumberToObject(line, "wait_ms", (double)event->wait_ms);
    if (event->type == JOBQ_EVENT_HEAD_TIMEOUT_RETRY ||
        event->type == JOBQ_EVENT_DEPLOY_RETRY)
        cJSON_AddNumberToObject(line, "retry", event->retry);
    if (event->detail && event->detail[0])
        cJSON_AddStringToObject(line, "detail", event->detail);
    char *text = cJSON_PrintUnformatted(line);
    if (text)
        hold(text);
    cJSON_Delete(line);
}

void events_flush(void)
{
    pthread_mutex_lock(&pending.lock);
    for (size_t i = 0; i < pending.count; i++) {
        fputs(pending.lines[i], stdout);
        fputc('\n', stdout);
        free(pending.lines[i]);
    }
    pending.count = 0;
    fflush(stdout);
    pthread_mutex_unlock(&pending.lock);
}

void events_discard(void)
{
    pthread_mutex_lock(&pending.lock);
    for (size_t i = 0; i < pending.count; i++)
        free(pending.lines[i]);
    pending.count = 0;
    pthread_mutex_unlock(&pending.lock);
}
