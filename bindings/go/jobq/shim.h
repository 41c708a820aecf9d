/*
 * The C shim between the Go package and libjobq (see shim.go for why it
 * exists). Declarations only: every Go file of the package includes this,
 * and a cgo file with //export may not define C functions in its preamble.
 */
#ifndef GOJOBQ_SHIM_H
#define GOJOBQ_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <jobq/jobq.h>

/* Which host interfaces the Go side supplies (bit flags for gojobq_open). */
enum {
    GOJOBQ_CLOCK = 1,
    GOJOBQ_PROBE = 2,
    GOJOBQ_DEPLOYER = 4,
    GOJOBQ_CANCEL = 8,
    GOJOBQ_POLL = 16,
    GOJOBQ_EVENTS = 32
};

typedef struct gojobq gojobq;

/* Open a handle whose vtables call the Go host behind `token` (a
 * cgo.Handle). Only the interfaces named in `hosts` are installed.
 * Callbacks receive, besides the token, the id of the Go call they run
 * under (0 during open), so that a panic is returned by that very call even
 * while other goroutines use the handle. */
int gojobq_open(gojobq **out, uintptr_t token, int hosts, const char *config,
                const char *db, int durability, char *err, size_t cap);
/* Open `db` read-only (jobq_open_read_only): no host interfaces. */
int gojobq_open_read_only(gojobq **out, const char *db, char *err, size_t cap);
/* Free the library handle; idempotent; JOBQ_EBUSY from its own callback. */
int gojobq_close(gojobq *g, char *err, size_t cap);
/* Free the shim itself, once no Go code can reach it (the finalizer). */
void gojobq_free(gojobq *g);

/*
 * The wrapped library calls: go_<name>(g, call, err, cap, args...) calls
 * <name>(handle, args...) under the shim's rules and, on failure, copies
 * the message of *this* call into err. `call` identifies the Go call for
 * the callbacks it triggers. P() groups a parameter list so that
 * it passes through the macro as one argument.
 *
 * To bind a new library function, add one line here; shim.c defines it
 * from the same line.
 */
#define P(...) , __VA_ARGS__
#define GOJOBQ_CALLS(X)                                                        \
    X(jobq_job_define, P(const jobq_job_def *def), P(def))                     \
    X(jobq_job_set_flow, P(const char *job, jobq_flow flow), P(job, flow))     \
    X(jobq_run_submit,                                                         \
      P(jobq_run_id *out, const char *job, const jobq_submit_opts *opts),      \
      P(out, job, opts))                                                       \
    X(jobq_run_cancel, P(jobq_run_id id, const char *detail), P(id, detail))   \
    X(jobq_run_report,                                                         \
      P(jobq_run_id id, jobq_run_state state, const char *detail),             \
      P(id, state, detail))                                                    \
    X(jobq_run_submit_batch,                                                   \
      P(jobq_run_id *out_ids, const char *const *jobs,                         \
        const jobq_submit_opts *opts, size_t count),                           \
      P(out_ids, jobs, opts, count))                                           \
    X(jobq_run_get, P(jobq_run_info *info, jobq_run_id id), P(info, id))       \
    X(jobq_run_list,                                                           \
      P(jobq_run_id **out_ids, size_t *out_count,                              \
        const jobq_run_filter *filter),                                        \
      P(out_ids, out_count, filter))                                           \
    X(jobq_run_search,                                                         \
      P(jobq_run_id **out_ids, size_t *out_count, const char *text,            \
        size_t limit),                                                         \
      P(out_ids, out_count, text, limit))                                      \
    X(jobq_run_explain, P(char **out_json, jobq_run_id id), P(out_json, id))   \
    X(jobq_cleanup, P(uint64_t max_runs, uint64_t *out_deleted),               \
      P(max_runs, out_deleted))                                                \
    X(jobq_tick, P(jobq_time_ms now, jobq_tick_stats *stats), P(now, stats))   \
    X(jobq_tick_batch,                                                         \
      P(jobq_time_ms now, const jobq_tick_input *input,                        \
        jobq_tick_stats *stats),                                               \
      P(now, input, stats))                                                    \
    X(jobq_run_report_batch,                                                   \
      P(const jobq_run_id *ids, const jobq_run_state *states,                  \
        const char *const *details, size_t count),                             \
      P(ids, states, details, count))                                          \
    X(jobq_next_deadline, P(jobq_time_ms *out), P(out))                        \
    X(jobq_configure, P(const char *json), P(json))                            \
    X(jobq_property_set, P(const char *key, const char *value), P(key, value)) \
    X(jobq_property_get, P(const char *key, char *buf, size_t buf_cap),        \
      P(key, buf, buf_cap))                                                    \
    X(jobq_config_dump, P(char **out_json), P(out_json))                       \
    X(jobq_migrate_to_legacy, P(uint64_t *out_moved), P(out_moved))            \
    X(jobq_metrics_render, P(char **out_text, size_t *out_len),                \
      P(out_text, out_len))

#define GOJOBQ_DECLARE(name, params, args)                                     \
    int go_##name(gojobq *g, uint64_t call, char *err, size_t cap params);
GOJOBQ_CALLS(GOJOBQ_DECLARE)

#endif
