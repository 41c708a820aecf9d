/*
 * Spool directory processing: turns request files into jobq_run_submit()
 * and jobq_run_cancel() calls (see spool.h for the file format).
 */
#include "spool.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jobs_file.h"
#include "kube_client.h"

int submit_run(jobq_scheduler *s, const char *job, const char *run_name,
               const char *key, int priority)
{
    jobq_submit_opts opts = JOBQ_SUBMIT_OPTS_INIT;
    opts.run_name = run_name;
    opts.idempotency_key = key;
    opts.priority = priority;
    jobq_run_id id = 0;
    int rc = jobq_run_submit(s, &id, job, &opts);
    if (rc) {
        char message[256];
        jobq_errmsg(s, message, sizeof message);
        kube_log(0, "submitting a run of %s: %s", job, message);
        return rc;
    }
    kube_log(2, "submitted run %" PRIu64 " of job %s", (uint64_t)id, job);
    return 0;
}

static int cancel_run(jobq_scheduler *s, const cJSON *request)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(request, "cancel");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(request, "detail");
    if (!cJSON_IsNumber(id) || id->valuedouble < 1) {
        kube_log(0, "spool: \"cancel\" must be a run id");
        return JOBQ_EINVAL;
    }
    jobq_run_id run = (jobq_run_id)id->valuedouble;
    int rc = jobq_run_cancel(s, run, cJSON_IsString(detail)
                                         ? detail->valuestring
                                         : "cancelled through the spool");
    if (rc) {
        char message[256];
        jobq_errmsg(s, message, sizeof message);
        kube_log(0, "cancelling run %" PRIu64 ": %s", (uint64_t)run, message);
    }
    return rc;
}

static int parse_priority(const cJSON *request)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(request, "priority");
    if (!cJSON_IsString(value))
        return JOBQ_PRIORITY_DEFAULT;
    if (strcmp(value->valuestring, "high") == 0)
        return JOBQ_PRIORITY_HIGH;
    if (strcmp(value->valuestring, "normal") == 0)
        return JOBQ_PRIORITY_NORMAL;
    return -2;
}

/* Act on one request; 0 when it was taken. */
static int handle_request(jobq_scheduler *s, const char *text, const char *key)
{
    cJSON *request = cJSON_Parse(text);
    int rc = JOBQ_EPARSE;
    const cJSON *job = cJSON_GetObjectItemCaseSensitive(request, "job");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(request, "run_name");
    int priority = parse_priority(request);
    if (cJSON_GetObjectItemCaseSensitive(request, "cancel"))
        rc = cancel_run(s, request);
    else if (!cJSON_IsString(job))
        kube_log(0, "spool: a request needs \"job\" (or \"cancel\")");
    else if (priority == -2)
        kube_log(0, "spool: \"priority\" must be \"high\" or \"normal\"");
    else
        rc = submit_run(s, job->valuestring,
                        cJSON_IsString(name) ? name->valuestring : NULL, key,
                        priority);
    cJSON_Delete(request);
    return rc;
}

static int is_request(const struct dirent *entry)
{
    size_t n = strlen(entry->d_name);
    return entry->d_name[0] != '.' && n > 5 &&
           strcmp(entry->d_name + n - 5, ".json") == 0;
}

int spool_process(jobq_scheduler *s, const char *dir, bool durable)
{
    struct dirent **entries;
    int count = scandir(dir, &entries, is_request, alphasort);
    if (count < 0)
        return 0;
    int taken = 0;
    for (int i = 0; i < count; i++) {
        char path[4096], rejected[4200], key[256];
        snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
        snprintf(key, sizeof key, "spool:%.*s",
                 (int)(strlen(entries[i]->d_name) - 5), entries[i]->d_name);
        char *text = read_text_file(path, NULL);
        int rc = text ? handle_request(s, text, durable ? key : NULL)
                      : JOBQ_EIO;
        free(text);
        if (rc == 0) {
            remove(path);
            taken++;
        } else {
            snprintf(rejected, sizeof rejected, "%s.rejected", path);
            rename(path, rejected);
            kube_log(0, "spool: %s refused, renamed to %s.rejected",
                     entries[i]->d_name, entries[i]->d_name);
        }
        free(entries[i]);
    }
    free(entries);
    return taken;
}
