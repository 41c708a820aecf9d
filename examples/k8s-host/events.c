/*
 * Prints every scheduler event as one JSON object per line on stdout and
 * flushes it at once, so a log collector (or a test) sees events as they
 * happen.
 */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

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
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(text);
    }
    cJSON_Delete(line);
}
