/*
 * The web console and its JSON API (/api/v1/...), served by jobq-console
 * over a database file and by jobq-k8s-host over its live scheduler. The
 * module only adds routes to an httpd server (examples/common/httpd.h);
 * the program decides where the handles come from.
 *
 * Two handles:
 *   - the read handle, for everything shown: the host's own scheduler, or
 *     jobq-console's current read-only snapshot (acquire/release let the
 *     program swap snapshots under a lock);
 *   - the actions handle, on which cancel, set-property and
 *     migrate-to-legacy are ordinary public calls (jobq_run_cancel,
 *     jobq_property_set, jobq_migrate_to_legacy). NULL makes the console
 *     read-only, and so does the absence of an admin token.
 *
 * Actions need the token in "Authorization: Bearer TOKEN" or
 * "X-Jobq-Token: TOKEN" (compared in constant time). No cookie is ever
 * read, so a page on another site cannot act with the operator's session.
 */
#ifndef JOBQ_EXAMPLES_CONSOLE_H
#define JOBQ_EXAMPLES_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "httpd.h"
#include "jobq/jobq.h"

typedef struct console_config {
    /* The read handle: acquire returns it (never NULL while serving) and
     * holds it until release. */
    jobq_scheduler *(*acquire)(void *ctx);
    void (*release)(void *ctx, jobq_scheduler *s);
    void *ctx;
    /* Where actions go; NULL: read-only (read_only_reason says why). */
    jobq_scheduler *actions;
    const char *read_only_reason;
    /* The admin token (NUL-terminated, no newline); NULL: read-only. */
    const char *token;
    /* Shown in the page header: "jobq-k8s-host (live)", a file name. */
    const char *source;
    /* Health (for the page and /api/v1/overview): NULL means ok. */
    bool (*health)(void *ctx, char *message, size_t cap);
    void *health_ctx;
} console_config;

typedef struct console console;

/* NULL if out of memory. The config is copied (its strings are not: they
 * must outlive the console). */
console *console_new(const console_config *config);
void console_free(console *c);

/* Append the console's routes ("/", the pages, "/static/...",
 * "/api/v1/...") to routes[*count..cap); false if they do not fit. */
bool console_routes(console *c, httpd_route *routes, size_t *count,
                    size_t cap);

/* Read an admin token file: the first line, surrounding whitespace
 * removed. NULL with a message in err if it cannot be read or is empty or
 * shorter than 16 characters. */
char *console_read_token(const char *path, char *err, size_t cap);

#endif
