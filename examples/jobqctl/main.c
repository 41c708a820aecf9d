/*
 * jobqctl: inspect and operate a libjobq database file.
 *
 *   jobqctl [--db FILE] [--json] COMMAND [ARGS...]
 *
 * Read commands (list, show, explain, search, get-property, stats,
 * requests, quarantine) open the database read-only, so they work while a scheduler is
 * running on it. Write commands (submit, cancel, set-property,
 * migrate-to-legacy) go through the database as requests when a scheduler
 * holds it (requests.c), and change the file directly when none does.
 * jobqctl has no cluster access, so it never deploys or stops anything
 * itself (see --help).
 *
 * Exit status: 0 ok, 1 error (the message says what), 2 usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobqctl.h"

static void usage(FILE *out)
{
    fputs(
        "usage: jobqctl [--db FILE] [--json] COMMAND [ARGS...]\n"
        "\n"
        "Inspect and operate a libjobq database (FILE, or $JOBQ_DB).\n"
        "\n"
        "Read commands (work while a scheduler runs on the file):\n"
        "  list [--namespace NS] [--priority high|normal] [--state STATE]\n"
        "       [--limit N | --all]  runs, oldest first; the newest 1000\n"
        "                            unless --limit or --all\n"
        "  show RUN                  one run and its event log\n"
        "  explain RUN               why it is where it is: queue position,\n"
        "                            what blocks it, retries, head timeout,\n"
        "                            estimated start\n"
        "  search TEXT [--limit N]   runs whose name or job name contains\n"
        "                            TEXT (case-insensitive)\n"
        "  get-property [KEY]        one property, or the whole configuration\n"
        "  stats                     runs per state, queues per namespace,\n"
        "                            quarantined rows\n"
        "  quarantine                rows of the database that could not be\n"
        "                            loaded (kept in the file, left out)\n"
        "\n"
        "Write commands (while a scheduler runs on the file they are sent to\n"
        "it as requests and wait for the outcome; otherwise they change the\n"
        "file directly):\n"
        "  submit [FILE|-]           submit runs from a JSON spec: an object\n"
        "                            or an array of objects with \"job\" and\n"
        "                            optional \"name\", \"priority\",\n"
        "                            \"idempotency_key\", \"cpu\", \"memory\",\n"
        "                            \"pods\", \"storage\"\n"
        "  cancel RUN [--reason TEXT]  cancel a queued or running run\n"
        "  set-property KEY VALUE    e.g. job-orchestrator.queue.head-timeout-\n"
        "                            seconds 600 (VALUE is JSON: 90, true)\n"
        "  migrate-to-legacy         switch every job to the legacy flow\n"
        "  cleanup [--limit N]       delete runs past the retention period\n"
        "                            (no scheduler running)\n"
        "  requests [--limit N] [--all]  pending requests and the N most\n"
        "                            recent ones (default 20) with outcomes\n"
        "\n"
        "Options:\n"
        "  --db FILE   the database (default: $JOBQ_DB)\n"
        "  --json      machine-readable output (one JSON document)\n"
        "  --no-wait   write commands: only queue the request for the running\n"
        "              scheduler and print its id (see: jobqctl requests)\n"
        "  --timeout SECONDS  write commands: how long to wait for the\n"
        "              scheduler to apply the request (default 60)\n"
        "  --help      this help\n"
        "\n"
        "jobqctl itself has no cluster access: with a scheduler running, the\n"
        "scheduler deploys and stops runs (cancel of a running run, legacy\n"
        "runs, migrate-to-legacy with runs queued). With none running,\n"
        "cancel refuses running runs, a run submitted for a legacy-flow job\n"
        "fails with that reason, and migrate-to-legacy refuses while runs\n"
        "are queued.\n"
        "\n"
        "Exit status: 0 ok, 1 error, 2 usage error.\n",
        out);
}

int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("jobqctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(jobqctl --help for usage)\n", stderr);
    return EXIT_USAGE;
}

int ctl_library_error(ctl *c, const char *what)
{
    char msg[512] = "";
    if (c->sched)
        jobq_errmsg(c->sched, msg, sizeof msg);
    fprintf(stderr, "jobqctl: %s: %s\n", what, out_safe(msg));
    return EXIT_ERROR;
}

bool ctl_parse_run_id(const char *text, jobq_run_id *out)
{
    if (!text || !*text || strspn(text, "0123456789") != strlen(text))
        return false;
    errno = 0;
    unsigned long long value = strtoull(text, NULL, 10);
    if (errno || value == 0)
        return false;
    *out = (jobq_run_id)value;
    return true;
}

/* jobqctl's deployer: it has no cluster. deploy and cancel fail with a
 * reason; poll answers "unknown", so a run a crash left DEPLOYING stays
 * that way for the host to settle. */
static int no_deploy(void *ctx, const jobq_deploy_request *req, char *msg,
                     size_t cap)
{
    snprintf(msg, cap, "jobqctl has no cluster access: submit runs of "
             "legacy-flow jobs through the host");
    return -1;
}

static int no_cancel(void *ctx, jobq_run_id id, char *msg, size_t cap)
{
    snprintf(msg, cap, "jobqctl has no cluster access and cannot stop a "
             "running deployment: cancel it through the host");
    return -1;
}

static int no_poll(void *ctx, jobq_run_id id, jobq_poll_status *status,
                   char *msg, size_t cap)
{
    return -1;
}

int ctl_open(ctl *c, bool writable)
{
    static const jobq_deployer deployer = {JOBQ_DEPLOYER_VERSION, NULL,
                                           no_deploy, no_cancel, no_poll};
    if (!c->db_path || !*c->db_path)
        return ctl_usage_error("no database: give --db FILE or set "
                               "JOBQ_DB");
    if (access(c->db_path, F_OK) != 0) { /* never create one by accident */
        fprintf(stderr, "jobqctl: %s: %s\n", c->db_path, strerror(errno));
        return EXIT_ERROR;
    }
    jobq_options opts = JOBQ_OPTIONS_INIT;
    opts.db_path = c->db_path;
    opts.deployer = &deployer;
    char err[512] = "";
    int rc = writable ? jobq_open(&c->sched, &opts, err, sizeof err)
                      : jobq_open_read_only(&c->sched, c->db_path, err,
                                            sizeof err);
    c->open_status = rc;
    if (rc != 0) {
        if (!(rc == JOBQ_EBUSY && c->busy_quiet))
            fprintf(stderr, "jobqctl: %s\n",
                    out_safe(err[0] ? err : jobq_strerror(rc)));
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

typedef struct command {
    const char *name;
    int (*run)(ctl *c);
    bool writes;
    int min_args, max_args;
} command;

static const command commands[] = {
    {"list", cmd_list, false, 0, 0},
    {"show", cmd_show, false, 1, 1},
    {"explain", cmd_explain, false, 1, 1},
    {"search", cmd_search, false, 1, 1},
    {"get-property", cmd_get_property, false, 0, 1},
    {"stats", cmd_stats, false, 0, 0},
    {"quarantine", cmd_quarantine, false, 0, 0},
    {"submit", cmd_submit, true, 0, 1},
    {"cancel", cmd_cancel, true, 1, 1},
    {"set-property", cmd_set_property, true, 2, 2},
    {"migrate-to-legacy", cmd_migrate, true, 0, 0},
    {"cleanup", cmd_cleanup, true, 0, 0},
    {"requests", cmd_requests, false, 0, 0},
};

static int parse_choice(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -1;
}

/* One option with a value; returns 1 if consumed, 0 if not an option we
 * know, -1 (after printing) on a bad value. */
static int parse_option(ctl *c, const char *name, const char *value)
{
    static const char *const priorities[] = {"high", "normal"};
    static const char *const states[] = {"queued", "deploying", "running",
                                         "finished", "failed", "cancelled"};
    if (strcmp(name, "--db") == 0)
        c->db_path = value;
    else if (strcmp(name, "--namespace") == 0)
        c->ns = value;
    else if (strcmp(name, "--reason") == 0)
        c->reason = value;
    else if (strcmp(name, "--priority") == 0) {
        if ((c->priority = parse_choice(value, priorities, 2)) < 0)
            return ctl_usage_error("--priority must be high or normal, not "
                                   "'%s'", value), -1;
    } else if (strcmp(name, "--state") == 0) {
        if ((c->state = parse_choice(value, states, 6)) < 0)
            return ctl_usage_error("--state must be queued, deploying, "
                                   "running, finished, failed or cancelled, "
                                   "not '%s'", value), -1;
    } else if (strcmp(name, "--timeout") == 0) {
        char *end;
        errno = 0;
        double seconds = strtod(value, &end);
        if (errno || *end || end == value || seconds <= 0 || seconds > 1e9)
            return ctl_usage_error("--timeout must be a positive number of "
                                   "seconds, not '%s'", value), -1;
        c->timeout_ms = (int64_t)(seconds * 1000);
    } else if (strcmp(name, "--limit") == 0) {
        jobq_run_id n;
        if (!ctl_parse_run_id(value, &n))
            return ctl_usage_error("--limit must be a positive integer, not "
                                   "'%s'", value), -1;
        c->limit = (size_t)n;
    } else
        return 0;
    return 1;
}

/* Options may come anywhere; what is left are the command and its
 * positional arguments, compacted into argv. Returns an exit code or -1. */
static int parse_arguments(ctl *c, int argc, char **argv, int *positional)
{
    *positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--no-wait") == 0) {
            c->no_wait = true;
            continue;
        }
        if (strcmp(arg, "--json") == 0 || strcmp(arg, "--all") == 0) {
            *(arg[2] == 'j' ? &c->json : &c->all) = true;
            continue;
        }
        if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
            if (i + 1 >= argc)
                return ctl_usage_error("%s needs a value", arg);
            int used = parse_option(c, arg, argv[i + 1]);
            if (used < 0)
                return EXIT_USAGE;
            if (used == 0)
                return ctl_usage_error("unknown option %s", arg);
            i++;
            continue;
        }
        argv[(*positional)++] = argv[i];
    }
    return -1;
}

int main(int argc, char **argv)
{
    ctl c = {.priority = JOBQ_ANY, .state = JOBQ_ANY};
    c.db_path = getenv("JOBQ_DB");
    int positional = 0;
    int rc = parse_arguments(&c, argc, argv, &positional);
    if (rc >= 0)
        return rc;
    if (positional == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[0], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd)
        return ctl_usage_error("unknown command '%s'", argv[0]);
    c.argc = positional - 1;
    c.argv = argv + 1;
    if (c.argc < cmd->min_args || c.argc > cmd->max_args)
        return ctl_usage_error("wrong number of arguments for %s", cmd->name);
    bool live = cmd->writes && cmd->run != cmd_cleanup;
    if ((rc = live ? ctl_open_writer(&c) : ctl_open(&c, cmd->writes)) !=
        EXIT_OK)
        return rc;
    rc = cmd->run(&c);
    jobq_close(c.sched);
    if (fflush(stdout) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "jobqctl: writing the output failed\n");
        rc = EXIT_ERROR;
    }
    return rc;
}
