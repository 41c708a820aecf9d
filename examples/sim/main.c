/*
 * jobq-sim: runs libjobq against a simulated cluster on a virtual clock.
 *
 *   jobq-sim [--text] [--report FILE.html] [--db FILE
 *            [--durability full|normal]] SCENARIO.json
 *
 * Reads the scenario of SPEC section 4, writes one JSON event per line to
 * standard output and a closing {"summary": ...} line; --text adds a
 * summary for people on standard error, --report an HTML page of charts
 * (report.c). Same input, same output, byte for byte: nothing here reads
 * the real clock, and --report changes nothing on standard output. The
 * loop itself is engine.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static void usage(FILE *out)
{
    fputs("usage: jobq-sim [--text] [--report FILE.html] [--db FILE "
          "[--durability full|normal]]\n"
          "                SCENARIO.json\n"
          "\n"
          "Simulates libjobq scheduling SCENARIO.json (SPEC section 4) on a\n"
          "virtual clock and writes one JSON event per line to stdout, then a\n"
          "{\"summary\": ...} line.\n"
          "\n"
          "  --text           also print a summary for people to stderr\n"
          "  --report FILE    also write an HTML report with charts of queue\n"
          "                   lengths, resource use against quota and wait\n"
          "                   times (one self-contained page, no network)\n"
          "  --db FILE        persist the scheduler's state to the new SQLite\n"
          "                   file FILE (inspect it afterwards with jobqctl);\n"
          "                   changes nothing on standard output\n"
          "  --durability M   with --db: full (the default) fsyncs every\n"
          "                   commit, so nothing acknowledged is lost even on\n"
          "                   power loss; normal fsyncs at checkpoints only and\n"
          "                   survives a process crash (jobq_durability)\n"
          "  --help           show this help\n",
          out);
}

/* Run every step, as fast as possible. */
static int simulate(simulation *sim)
{
    int step;
    while ((step = sim_step(sim)) == SIM_MORE)
        ;
    return step == SIM_DONE ? 0 : 1;
}

typedef struct options {
    bool text;
    const char *report; /* HTML report path, or NULL */
    const char *db;     /* --db: a new database file, or NULL */
    const char *durability; /* --durability, or NULL */
    const char *path;
} options;

/* Returns -1 to go on, or the exit status. */
static int parse_options(options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--text") == 0) {
            o->text = true;
        } else if (strcmp(argv[i], "--report") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "jobq-sim: --report needs a file name\n");
                return 2;
            }
            o->report = argv[++i];
        } else if (strcmp(argv[i], "--db") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "jobq-sim: --db needs a file name\n");
                return 2;
            }
            o->db = argv[++i];
        } else if (strcmp(argv[i], "--durability") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "jobq-sim: --durability needs full or "
                        "normal\n");
                return 2;
            }
            o->durability = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "jobq-sim: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (o->path) {
            fprintf(stderr, "jobq-sim: one scenario at a time (got %s and "
                    "%s)\n", o->path, argv[i]);
            return 2;
        } else {
            o->path = argv[i];
        }
    }
    if (!o->path) {
        usage(stderr);
        return 2;
    }
    if (o->durability && strcmp(o->durability, "full") != 0 &&
        strcmp(o->durability, "normal") != 0) {
        fprintf(stderr, "jobq-sim: --durability %s: expected full or "
                "normal\n", o->durability);
        return 2;
    }
    if (o->durability && !o->db) {
        fprintf(stderr, "jobq-sim: --durability needs --db (without a "
                "database nothing is written)\n");
        return 2;
    }
    if (o->db && access(o->db, F_OK) == 0) {
        fprintf(stderr, "jobq-sim: --db %s: the file exists; give a new file "
                "(a simulation starts from an empty scheduler)\n", o->db);
        return 1;
    }
    return -1;
}

/* Open the report file before simulating, so that a path that cannot be
 * written fails at once rather than after the whole event stream. */
static int open_report(const options *o, FILE **out)
{
    *out = NULL;
    if (!o->report)
        return 0;
    if (!(*out = fopen(o->report, "w"))) {
        fprintf(stderr, "jobq-sim: cannot write %s: %s\n", o->report,
                strerror(errno));
        return 1;
    }
    return 0;
}

static int write_report(simulation *sim, sim_report *report, FILE *file,
                        const char *path)
{
    int rc = sim_report_write(report, sim, file);
    if (fflush(file) != 0 || rc != 0) {
        fprintf(stderr, "jobq-sim: writing the report %s failed\n", path);
        return 1;
    }
    return 0;
}

/* Run the scenario; the event stream and summary go to stdout. */
static int run(simulation *sim, const options *o, const char *scenario,
               size_t len, FILE *report_file)
{
    sim_report *report = NULL;
    int status = sim_start(sim, scenario, len);
    if (status == 0 && report_file) {
        if (!(report = sim_report_new(sim))) {
            fprintf(stderr, "jobq-sim: out of memory\n");
            status = 1;
        }
        sim->after_step = sim_report_sample;
        sim->after_step_payload = report;
    }
    if (status == 0)
        status = simulate(sim);
    if (status == 0) {
        sim_write_summary(sim);
        if (o->text)
            sim_write_text_summary(sim, stderr);
    }
    if (fflush(stdout) != 0 && status == 0) {
        fprintf(stderr, "jobq-sim: writing the output failed\n");
        status = 1;
    }
    if (status == 0 && report)
        status = write_report(sim, report, report_file, o->report);
    sim_report_free(report);
    return status;
}

int main(int argc, char **argv)
{
    options o = {0};
    int status = parse_options(&o, argc, argv);
    if (status >= 0)
        return status;
    size_t len = 0;
    char *scenario = sim_read_file(o.path, &len);
    if (!scenario) {
        fprintf(stderr, "jobq-sim: cannot read %s: %s\n", o.path,
                strerror(errno));
        return 1;
    }
    FILE *report_file = NULL;
    if (open_report(&o, &report_file) != 0) {
        free(scenario);
        return 1;
    }
    simulation sim = {0};
    sim.out = stdout;
    sim.program = "jobq-sim";
    sim.db_path = o.db;
    sim.durability = o.durability && strcmp(o.durability, "normal") == 0
                         ? JOBQ_DURABILITY_NORMAL
                         : JOBQ_DURABILITY_FULL;
    status = run(&sim, &o, scenario, len, report_file);
    free(scenario);
    sim_finish(&sim);
    if (report_file && fclose(report_file) != 0 && status == 0) {
        fprintf(stderr, "jobq-sim: writing the report %s failed\n", o.report);
        status = 1;
    }
    if (report_file && status != 0)
        remove(o.report); /* no partial page claimed as valid */
    return status;
}
