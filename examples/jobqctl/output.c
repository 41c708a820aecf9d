/*
 * jobqctl's output: aligned tables and readable times for people, one JSON
 * document for scripts (--json).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobqctl.h"

/* One UTF-8 sequence at s (n bytes): its length and *cp, or 0 when the
 * bytes there are not valid UTF-8 (overlong forms and surrogates too). */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
           : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4
                                              ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t value = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        value = (value << 6) | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < min[len] || value > 0x10ffff ||
        (value >= 0xd800 && value <= 0xdfff))
        return 0;
    *cp = value;
    return len;
}

/* Names and texts from the database, made safe for a terminal: control
 * characters (an escape sequence would drive the terminal) and bytes that
 * are not UTF-8 are shown as \xNN (C1 controls as \u00NN), a backslash as
 * \\. Databases written before names were validated may hold any bytes.
 * The result lives in one of a few rotating buffers: good for the
 * arguments of one printf. */
const char *out_safe(const char *text)
{
    static char buffers[8][4 * 1024 + 8];
    static unsigned next;
    char *out = buffers[next++ % 8], *p = out;
    const char *end = out + sizeof buffers[0] - 8;
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    for (size_t i = 0; i < n && p < end;) {
        uint32_t cp = 0;
        size_t len = utf8_sequence(s + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7f) {
            p += snprintf(p, (size_t)(end - p) + 8, "\\x%02x", s[i]);
            i++;
        } else if (cp >= 0x80 && cp <= 0x9f) {
            p += snprintf(p, (size_t)(end - p) + 8, "\\u%04x", (unsigned)cp);
            i += len;
        } else if (cp == '\\') {
            *p++ = '\\';
            *p++ = '\\';
            i++;
        } else {
            memcpy(p, s + i, len);
            p += len;
            i += len;
        }
    }
    *p = '\0';
    return out;
}

/* text with every byte that is not part of valid UTF-8 replaced by U+FFFD
 * (malloc'd), so that --json output stays valid JSON. */
static char *utf8_repair(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(3 * n + 1), *p = out;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; out && i < n;) {
        uint32_t cp;
        size_t len = utf8_sequence(s + i, n - i, &cp);
        if (len == 0) {
            memcpy(p, "\xef\xbf\xbd", 3);
            p += 3;
            i++;
        } else {
            memcpy(p, s + i, len);
            p += len;
            i += len;
        }
    }
    if (out)
        *p = '\0';
    return out;
}

const char *out_priority(jobq_priority p)
{
    return p == JOBQ_PRIORITY_HIGH ? "high" : "normal";
}

/* Times before 2001 are taken as virtual (a simulation starts at 0). */
#define EPOCH_THRESHOLD_MS INT64_C(1000000000000)

void out_time(char *buf, size_t cap, jobq_time_ms t)
{
    if (t < 0) {
        snprintf(buf, cap, "-");
        return;
    }
    if (t < EPOCH_THRESHOLD_MS) {
        snprintf(buf, cap, "t+%" PRId64 "s", t / 1000);
        return;
    }
    time_t seconds = (time_t)(t / 1000);
    struct tm tm;
    gmtime_r(&seconds, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *o, const char *key, jobq_time_ms t)
{
    if (t < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)t);
}

cJSON *out_run_json(const jobq_run_info *info)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)info->id);
    cJSON_AddStringToObject(o, "state", jobq_run_state_name(info->state));
    cJSON_AddStringToObject(o, "name", info->run_name);
    cJSON_AddStringToObject(o, "job", info->job);
    cJSON_AddStringToObject(o, "domain", info->domain);
    cJSON_AddStringToObject(o, "namespace", info->ns);
    cJSON_AddStringToObject(o, "priority", out_priority(info->priority));
    cJSON_AddStringToObject(o, "flow", info->flow == JOBQ_FLOW_LEGACY
                                           ? "legacy" : "priority");
    cJSON *request = cJSON_AddObjectToObject(o, "request");
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        char text[32];
        jobq_quantity_format(text, sizeof text, info->request.amount[d],
                             (jobq_resource_kind)d);
        cJSON_AddStringToObject(request,
                                jobq_resource_name((jobq_resource_kind)d),
                                text);
    }
    add_time(o, "submitted_at", info->submitted_at);
    add_time(o, "deployed_at", info->deployed_at);
    add_time(o, "ended_at", info->ended_at);
    if (info->state == JOBQ_RUN_QUEUED)
        cJSON_AddNumberToObject(o, "queue_position",
                                (double)info->queue_position);
    cJSON_AddNumberToObject(o, "retries_used", info->retries_used);
    cJSON_AddNumberToObject(o, "deploy_attempts", info->deploy_attempts);
    cJSON_AddStringToObject(o, "reason", info->reason);
    cJSON_AddStringToObject(o, "detail", info->detail);
    return o;
}

void out_run_table_header(void)
{
    printf("%-8s %-10s %-16s %-7s %-20s %-24s %s\n", "ID", "STATE",
           "NAMESPACE", "PRIO", "JOB", "NAME", "SUBMITTED");
}

void out_run_table_row(const jobq_run_info *info)
{
    char submitted[32];
    out_time(submitted, sizeof submitted, info->submitted_at);
    printf("%-8" PRIu64 " %-10s %-16s %-7s %-20s %-24s %s\n", info->id,
           jobq_run_state_name(info->state), out_safe(info->ns),
           out_priority(info->priority), out_safe(info->job),
           info->run_name[0] ? out_safe(info->run_name) : "-", submitted);
}

static void print_field(const char *key, const char *value)
{
    printf("%-16s %s\n", key, value && *value ? out_safe(value) : "-");
}

void out_run_details(const jobq_run_info *info)
{
    char text[64];
    snprintf(text, sizeof text, "%" PRIu64, info->id);
    print_field("run", text);
    print_field("name", info->run_name);
    print_field("state", jobq_run_state_name(info->state));
    print_field("job", info->job);
    print_field("domain", info->domain);
    print_field("namespace", info->ns);
    print_field("priority", out_priority(info->priority));
    print_field("flow", info->flow == JOBQ_FLOW_LEGACY ? "legacy"
                                                       : "priority");
    char request[160] = "";
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++) {
        char amount[32];
        jobq_quantity_format(amount, sizeof amount, info->request.amount[d],
                             (jobq_resource_kind)d);
        size_t n = strlen(request);
        snprintf(request + n, sizeof request - n, "%s%s=%s", d ? " " : "",
                 jobq_resource_name((jobq_resource_kind)d), amount);
    }
    print_field("request", request);
    out_time(text, sizeof text, info->submitted_at);
    print_field("submitted", text);
    out_time(text, sizeof text, info->deployed_at);
    print_field("deployed", text);
    out_time(text, sizeof text, info->ended_at);
    print_field("ended", text);
    if (info->state == JOBQ_RUN_QUEUED) {
        snprintf(text, sizeof text, "%" PRIu64 " (0 = head)",
                 info->queue_position);
        print_field("queue position", text);
    }
    snprintf(text, sizeof text, "%u used, %u left", info->retries_used,
             info->retries_left);
    print_field("head retries", text);
    print_field("reason", info->reason);
    print_field("detail", info->detail);
}

static jobq_resource_kind kind_named(const char *name)
{
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        if (name && strcmp(name, jobq_resource_name((jobq_resource_kind)d)) ==
                        0)
            return (jobq_resource_kind)d;
    return JOBQ_RESOURCE_COUNT;
}

/* Amounts of the event's resource in Kubernetes notation ("64", "8Gi"). */
static void format_number(char *buf, size_t cap, const char *key,
                          double value, jobq_resource_kind kind)
{
    bool amount = strcmp(key, "requested") == 0 ||
                  strcmp(key, "available") == 0;
    if (amount && kind < JOBQ_RESOURCE_COUNT && value >= 0)
        jobq_quantity_format(buf, cap, (int64_t)value, kind);
    else
        snprintf(buf, cap, "%.0f", value);
}

static void event_details(char *buf, size_t cap, const cJSON *ev)
{
    const cJSON *item;
    jobq_resource_kind kind =
        kind_named(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "resource")));
    buf[0] = '\0';
    const char *keys[] = {"resource", "requested", "available", "wait_ms",
                          "retry", "reason", "detail"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!(item = cJSON_GetObjectItemCaseSensitive(ev, keys[i])))
            continue;
        size_t n = strlen(buf);
        if (cJSON_IsString(item))
            snprintf(buf + n, cap - n, "%s%s=%s", n ? " " : "", keys[i],
                     item->valuestring);
        else {
            char number[40];
            format_number(number, sizeof number, keys[i], item->valuedouble,
                          kind);
            snprintf(buf + n, cap - n, "%s%s=%s", n ? " " : "", keys[i],
                     number);
        }
    }
}

void out_events(const cJSON *events)
{
    printf("\n%-22s %-20s %s\n", "TIME", "EVENT", "DETAILS");
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events)
    {
        char when[32], details[768];
        const cJSON *time = cJSON_GetObjectItemCaseSensitive(ev, "time");
        out_time(when, sizeof when,
                 cJSON_IsNumber(time) ? (jobq_time_ms)time->valuedouble : -1);
        event_details(details, sizeof details, ev);
        printf("%-22s %-20s %s\n", when,
               out_safe(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "event"))),
               out_safe(details));
    }
    if (!events || !events->child)
        puts("(no events recorded)");
}

static double number(const cJSON *o, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(item) ? item->valuedouble : -1;
}

static const char *string(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    return out_safe(s ? s : "");
}

static void explain_blocked(const cJSON *blocked)
{
    char since[32];
    out_time(since, sizeof since, (jobq_time_ms)number(blocked, "since"));
    const char *resource = string(blocked, "resource");
    char requested[32], available[32];
    jobq_resource_kind kind = JOBQ_RESOURCE_CPU;
    for (int d = 0; d < JOBQ_RESOURCE_COUNT; d++)
        if (strcmp(resource, jobq_resource_name((jobq_resource_kind)d)) == 0)
            kind = (jobq_resource_kind)d;
    double avail = number(blocked, "available");
    jobq_quantity_format(requested, sizeof requested,
                         (int64_t)number(blocked, "requested"), kind);
    if (avail < 0)
        snprintf(available, sizeof available, "none");
    else
        jobq_quantity_format(available, sizeof available, (int64_t)avail,
                             kind);
    printf("blocked:         the head of the queue (run %.0f) needs %s %s, "
           "%s available (since %s)\n", number(blocked, "head_run"),
           requested, resource, available, since);
}

void out_explain(const cJSON *o)
{
    printf("run %.0f (%s) of job %s in %s, %s priority: %s\n",
           number(o, "run"), *string(o, "name") ? string(o, "name") : "-",
           string(o, "job"), string(o, "namespace"), string(o, "priority"),
           string(o, "state"));
    const cJSON *queue = cJSON_GetObjectItem(o, "queue");
    if (cJSON_IsObject(queue))
        printf("queue:           position %.0f of %.0f (0 = head)\n",
               number(queue, "position"), number(queue, "length"));
    const cJSON *blocked = cJSON_GetObjectItem(o, "blocked");
    if (cJSON_IsObject(blocked))
        explain_blocked(blocked);
    else if (cJSON_IsObject(queue))
        printf("blocked:         no (its queue head was not found short of "
               "resources)\n");
    const cJSON *refused = cJSON_GetObjectItem(o, "refused");
    if (cJSON_IsObject(refused))
        printf("refused:         the head of the queue (run %.0f) was %s; "
               "last: %s\n", number(refused, "head_run"),
               string(refused, "text"), string(refused, "last"));
    const cJSON *retries = cJSON_GetObjectItem(o, "retries");
    printf("head retries:    %.0f used, %.0f left\n", number(retries, "used"),
           number(retries, "left"));
    char when[32];
    double timeout = number(o, "head_timeout_at");
    if (timeout >= 0) {
        out_time(when, sizeof when, (jobq_time_ms)timeout);
        printf("head timeout:    fires at %s\n", when);
    }
    const cJSON *estimate = cJSON_GetObjectItem(o, "estimated_start");
    if (cJSON_IsObject(estimate)) {
        out_time(when, sizeof when, (jobq_time_ms)number(estimate, "at"));
        printf("estimated start: %s (%s)\n", when, string(estimate, "basis"));
    } else
        printf("estimated start: unknown: %s\n", string(o, "estimate_note"));
    if (*string(o, "reason") || *string(o, "detail"))
        printf("ended because:   %s %s\n", string(o, "reason"),
               string(o, "detail"));
}

int out_json(cJSON *value)
{
    char *printed = value ? cJSON_PrintUnformatted(value) : NULL;
    cJSON_Delete(value);
    char *text = printed ? utf8_repair(printed) : NULL;
    free(printed);
    if (!text) {
        fprintf(stderr, "jobqctl: out of memory\n");
        return EXIT_ERROR;
    }
    puts(text);
    free(text);
    return EXIT_OK;
}
