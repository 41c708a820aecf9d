/*
 * jobqctl: the operator CLI over a libjobq database file. Shared between
 * main.c (arguments, opening, dispatch), commands.c (one function per
 * command) and output.c (tables and times for people, JSON for scripts).
 */
#ifndef JOBQCTL_H
#define JOBQCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "jobq/jobq.h"

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_ERROR 1
#define EXIT_USAGE 2

typedef struct ctl {
    const char *db_path;
    bool json;
    /* Command options. */
    const char *ns;
    int priority; /* JOBQ_ANY or a jobq_priority */
    int state;    /* JOBQ_ANY or a jobq_run_state */
    size_t limit; /* 0: none given */
    bool all;     /* list: no default limit */
    const char *reason;
    bool no_wait;       /* write commands: enqueue the request only */
    bool busy_quiet;    /* ctl_open: JOBQ_EBUSY is not an error to print */
    int open_status;    /* ctl_open: the library's status */
    int64_t timeout_ms; /* write commands: how long to wait for it */
    int argc; /* positional arguments after the command */
    char **argv;
    jobq_scheduler *sched;
} ctl;

/* main.c */
int ctl_open(ctl *c, bool writable);
int ctl_library_error(ctl *c, const char *what);
int ctl_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
bool ctl_parse_run_id(const char *text, jobq_run_id *out);

/* commands.c: each returns an exit code. */
int cmd_list(ctl *c);
int cmd_show(ctl *c);
int cmd_explain(ctl *c);
int cmd_search(ctl *c);
int cmd_submit(ctl *c);
int cmd_cancel(ctl *c);
int cmd_set_property(ctl *c);
int cmd_get_property(ctl *c);
int cmd_migrate(ctl *c);
int cmd_cleanup(ctl *c);
int cmd_stats(ctl *c);
int cmd_quarantine(ctl *c);

/* requests.c: live control through the database. */
/* Open the handle for a write command: the database directly when no
 * scheduler holds it, else (or with --no-wait) a client handle whose
 * calls become requests the scheduler applies. */
int ctl_open_writer(ctl *c);
/* After a write call on a client handle with --no-wait: print the id of
 * the request it queued. Returns an exit code. */
int ctl_print_request(ctl *c);
int cmd_requests(ctl *c);

/* output.c */
/* `text` escaped for a terminal (control characters, invalid UTF-8 and
 * backslashes as \xNN / \\); valid for the next few calls only. */
const char *out_safe(const char *text);
const char *out_priority(jobq_priority p);
/* "2026-11-29T08:00:00Z" for epoch times, "t+42s" for virtual ones
 * (simulations start at 0), "-" for none. */
void out_time(char *buf, size_t cap, jobq_time_ms t);
cJSON *out_run_json(const jobq_run_info *info);
void out_run_table_header(void);
void out_run_table_row(const jobq_run_info *info);
void out_run_details(const jobq_run_info *info);
void out_events(const cJSON *events);
void out_explain(const cJSON *explain);
/* Print a cJSON value followed by a newline and delete it. */
int out_json(cJSON *value);

#endif
