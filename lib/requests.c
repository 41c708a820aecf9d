/*
 * Live control (include/jobq/client.h): client handles that write requests
 * to the database, and the scheduling side that applies them.
 * (Declarations first; the implementation follows in the next commits.)
 */
#include "scheduler.h"

JOBQ_API int jobq_client_opts_init(jobq_client_opts *opts, unsigned version)
{
    if (!opts)
        return JOBQ_EINVAL;
    if (version < 1 || version > JOBQ_CLIENT_OPTS_VERSION)
        return JOBQ_EVERSION;
    jobq_client_opts init = JOBQ_CLIENT_OPTS_INIT;
    *opts = init;
    opts->version = version;
    return 0;
}

JOBQ_API int jobq_open_client(jobq_scheduler **out, const char *db_path,
                              const jobq_client_opts *opts, char *err,
                              size_t err_cap)
{
    (void)db_path; (void)opts; (void)err; (void)err_cap;
    if (out)
        *out = NULL;
    return JOBQ_ESTATE;
}
JOBQ_API int jobq_is_client(jobq_scheduler *s, bool *out) { (void)s; if (out) *out = false; return 0; }
JOBQ_API const char *jobq_request_kind_name(jobq_request_kind kind) { (void)kind; return NULL; }
JOBQ_API const char *jobq_request_state_name(jobq_request_state state) { (void)state; return NULL; }
JOBQ_API int jobq_request_info_init(jobq_request_info *info, unsigned version) { (void)info; (void)version; return JOBQ_ESTATE; }
JOBQ_API int jobq_request_last(jobq_scheduler *s, jobq_request_id *out) { (void)s; (void)out; return JOBQ_ESTATE; }
JOBQ_API int jobq_request_get(jobq_scheduler *s, jobq_request_info *info, jobq_request_id id) { (void)s; (void)info; (void)id; return JOBQ_ESTATE; }
JOBQ_API int jobq_request_wait(jobq_scheduler *s, jobq_request_info *info, jobq_request_id id, int64_t t) { (void)s; (void)info; (void)id; (void)t; return JOBQ_ESTATE; }
JOBQ_API int jobq_request_runs(jobq_scheduler *s, jobq_run_id **o, size_t *c, jobq_request_id id) { (void)s; (void)o; (void)c; (void)id; return JOBQ_ESTATE; }
JOBQ_API int jobq_request_list(jobq_scheduler *s, jobq_request_id **o, size_t *c, size_t r) { (void)s; (void)o; (void)c; (void)r; return JOBQ_ESTATE; }
JOBQ_API int jobq_requests_pending(jobq_scheduler *s, bool *out) { (void)s; if (out) *out = false; return 0; }
