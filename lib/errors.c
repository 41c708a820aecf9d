/*
 * Version queries and the names of status codes, states and events. The
 * status code strings come from the same X-macro list as the enum
 * (errors.h), so the two cannot disagree.
 */
#include "jobq/jobq.h"

JOBQ_API const char *jobq_version(void)
{
    return JOBQ_VERSION_STRING;
}

JOBQ_API int jobq_version_number(void)
{
    return JOBQ_VERSION_NUMBER;
}

JOBQ_API const char *jobq_strerror(int status)
{
    switch (status) {
#define JOBQ_STRERROR_CASE_(name, value, desc)                                 \
    case (value):                                                              \
        return desc;
        JOBQ_ERRNO_MAP(JOBQ_STRERROR_CASE_)
#undef JOBQ_STRERROR_CASE_
    default:
        return "unknown status code";
    }
}

JOBQ_API const char *jobq_errname(int status)
{
    switch (status) {
#define JOBQ_ERRNAME_CASE_(name, value, desc)                                  \
    case (value):                                                              \
        return "JOBQ_" #name;
        JOBQ_ERRNO_MAP(JOBQ_ERRNAME_CASE_)
#undef JOBQ_ERRNAME_CASE_
    default:
        return "JOBQ_UNKNOWN";
    }
}

JOBQ_API const char *jobq_run_state_name(jobq_run_state state)
{
    static const char *const names[] = {"queued",   "deploying", "running",
                                        "finished", "failed",    "cancelled"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state]
                                                            : "unknown";
}

JOBQ_API const char *jobq_event_name(jobq_event_type type)
{
    static const char *const names[] = {
        "submitted", "blocked",  "deployed", "rescheduled", "head_timeout_retry",
        "cancelled", "finished", "failed",   "deploy_retry"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : NULL;
}
