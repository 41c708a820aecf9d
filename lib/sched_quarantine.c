/*
 * jobq_quarantine_list: the rows the open could not load (see
 * lib/store/quarantine.c), for jobqctl and for hosts that want to alert
 * on a damaged database.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "scheduler.h"
#include "store/store.h"

static cJSON *quarantine_json(const struct jq_store *st)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *rows = doc ? cJSON_AddArrayToObject(doc, "rows") : NULL;
    if (!rows || !cJSON_AddNumberToObject(
                     doc, "count", (double)jq_store_quarantine_count(st))) {
        cJSON_Delete(doc);
        return NULL;
    }
    const jq_quarantine_row *q;
    for (size_t i = 0; (q = jq_store_quarantine_get(st, i)) != NULL; i++) {
        cJSON *row = cJSON_CreateObject();
        if (!row || !cJSON_AddItemToArray(rows, row) ||
            !cJSON_AddStringToObject(row, "table", q->table) ||
            !cJSON_AddNumberToObject(row, "row", (double)q->row) ||
            !cJSON_AddStringToObject(row, "reason", q->reason)) {
            cJSON_Delete(doc);
            return NULL;
        }
    }
    return doc;
}

JOBQ_API int jobq_quarantine_list(jobq_scheduler *s, char **out_json)
{
    ENTER(s);
    int rc = 0;
    if (!out_json) {
        rc = jq_core_fail(&s->core, JOBQ_EINVAL, "out_json must not be NULL");
    } else {
        *out_json = NULL;
        cJSON *doc = quarantine_json(s->store);
        if (doc)
            *out_json = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
        if (!*out_json)
            rc = jq_core_fail(&s->core, JOBQ_ENOMEM, "out of memory");
    }
    return LEAVE(s, rc);
}
