/*
 * jobqctl's live control (include/jobq/client.h): write commands against
 * a running scheduler become requests in the database, and `jobqctl
 * requests` lists them with their outcomes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jobqctl.h"

#define DEFAULT_TIMEOUT_MS 60000
#define DEFAULT_RECENT 20

static int open_client(ctl *c)
{
    jobq_client_opts opts = JOBQ_CLIENT_OPTS_INIT;
    opts.wait_timeout_ms =
        c->no_wait ? 0 : c->timeout_ms ? c->timeout_ms : DEFAULT_TIMEOUT_MS;
    char err[512] = "";
    int rc = jobq_open_client(&c->sched, c->db_path, &opts, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "jobqctl: %s\n", err[0] ? err : jobq_strerror(rc));
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int ctl_open_writer(ctl *c)
{
    if (c->no_wait) {
        if (!c->db_path || !*c->db_path)
            return ctl_usage_error("no database: give --db FILE or set "
                                   "JOBQ_DB");
        return open_client(c);
    }
    /* No scheduler running: change the file directly, as before. A
     * running one holds the writer lock (EBUSY): send it requests. */
    c->busy_quiet = true;
    int rc = ctl_open(c, true);
    c->busy_quiet = false;
    if (rc == EXIT_ERROR && c->open_status == JOBQ_EBUSY)
        return open_client(c);
    return rc;
}

int ctl_print_request(ctl *c)
{
    jobq_request_id id = 0;
    if (jobq_request_last(c->sched, &id) != 0)
        return ctl_library_error(c, "request");
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "request", (double)id);
        cJSON_AddStringToObject(o, "state", "pending");
        return out_json(o);
    }
    printf("queued request %" PRId64 " (jobqctl requests shows its outcome)\n",
           id);
    return EXIT_OK;
}

static cJSON *request_json(const jobq_request_info *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "kind", jobq_request_kind_name(r->kind));
    cJSON_AddStringToObject(o, "state", jobq_request_state_name(r->state));
    cJSON_AddStringToObject(o, "summary", r->summary);
    cJSON_AddNumberToObject(o, "created_at", (double)r->created_at);
    if (r->state == JOBQ_REQUEST_PENDING) {
        cJSON_AddNullToObject(o, "applied_at");
        return o;
    }
    cJSON_AddNumberToObject(o, "applied_at", (double)r->applied_at);
    cJSON_AddStringToObject(o, "status", jobq_errname(r->status));
    if (r->run_id)
        cJSON_AddNumberToObject(o, "run", (double)r->run_id);
    if (r->kind == JOBQ_REQUEST_SUBMIT_BATCH ||
        r->kind == JOBQ_REQUEST_MIGRATE_TO_LEGACY)
        cJSON_AddNumberToObject(o, "count", (double)r->count);
    cJSON_AddStringToObject(o, "message", r->message);
    return o;
}

static void request_row(const jobq_request_info *r)
{
    char created[40], applied[40], result[64] = "";
    out_time(created, sizeof created, r->created_at);
    out_time(applied, sizeof applied, r->applied_at);
    if (r->state == JOBQ_REQUEST_REFUSED)
        snprintf(result, sizeof result, "%s", jobq_errname(r->status));
    else if (r->state == JOBQ_REQUEST_APPLIED && r->run_id &&
             r->kind != JOBQ_REQUEST_SUBMIT_BATCH)
        snprintf(result, sizeof result, "run %" PRIu64, r->run_id);
    else if (r->state == JOBQ_REQUEST_APPLIED &&
             (r->kind == JOBQ_REQUEST_SUBMIT_BATCH ||
              r->kind == JOBQ_REQUEST_MIGRATE_TO_LEGACY))
        snprintf(result, sizeof result, "%" PRIu64 " runs", r->count);
    else if (r->state == JOBQ_REQUEST_APPLIED)
        snprintf(result, sizeof result, "ok");
    printf("%-8" PRId64 " %-17s %-8s %-20s %-20s %-16s %s%s%s\n", r->id,
           jobq_request_kind_name(r->kind),
           jobq_request_state_name(r->state), created, applied, result,
           r->summary, r->message[0] ? ": " : "", r->message);
}

int cmd_requests(ctl *c)
{
    jobq_request_id *ids = NULL;
    size_t count = 0;
    size_t recent = c->all ? 0 : c->limit ? c->limit : DEFAULT_RECENT;
    if (jobq_request_list(c->sched, &ids, &count, recent) != 0)
        return ctl_library_error(c, "requests");
    cJSON *array = c->json ? cJSON_CreateArray() : NULL;
    if (!c->json)
        printf("%-8s %-17s %-8s %-20s %-20s %-16s %s\n", "ID", "KIND",
               "STATE", "CREATED", "APPLIED", "RESULT", "WHAT");
    int rc = EXIT_OK;
    for (size_t i = 0; i < count && rc == EXIT_OK; i++) {
        jobq_request_info info = JOBQ_REQUEST_INFO_INIT;
        if (jobq_request_get(c->sched, &info, ids[i]) != 0)
            rc = ctl_library_error(c, "requests");
        else if (array)
            cJSON_AddItemToArray(array, request_json(&info));
        else
            request_row(&info);
    }
    jobq_free(ids);
    if (array) {
        if (rc == EXIT_OK)
            return out_json(array);
        cJSON_Delete(array);
    }
    return rc;
}
