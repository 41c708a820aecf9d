/*
 * libjobq status codes.
 *
 * Every public function returns an int: 0 on success, a negative JOBQ_E*
 * code on failure. The list below is the single source of truth: the enum,
 * jobq_strerror() and jobq_errname() are all generated from it (the libuv
 * X-macro technique), so they cannot drift apart. Codes are never renumbered;
 * new ones are appended.
 *
 * A human-readable message for the most recent failure on a scheduler handle
 * is available from jobq_errmsg() (see jobq.h).
 */
#ifndef JOBQ_ERRORS_H
#define JOBQ_ERRORS_H

/* X(name, value, description) */
#define JOBQ_ERRNO_MAP(X)                                                      \
    X(OK, 0, "success")                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(ENOTFOUND, -3, "not found")                                              \
    X(EEXISTS, -4, "already exists")                                           \
    X(ESTATE, -5, "not allowed in the current state")                          \
    X(ERANGE, -6, "value out of range")                                        \
    X(EPARSE, -7, "malformed input")                                           \
    X(EIO, -8, "storage error")                                                \
    X(EVERSION, -9, "unsupported struct or schema version")                    \
    X(EBUSY, -10, "re-entrant call from a callback")                           \
    X(EUSER, -11, "a host callback asked to stop")                             \
    X(ERROR, -12, "unexpected error")                                          \
    X(ETIMEDOUT, -13, "timed out waiting for the outcome")

typedef enum jobq_status {
#define JOBQ_ERRNO_ENUM_(name, value, desc) JOBQ_##name = (value),
    JOBQ_ERRNO_MAP(JOBQ_ERRNO_ENUM_)
#undef JOBQ_ERRNO_ENUM_
} jobq_status;

#endif /* JOBQ_ERRORS_H */
