/*
 * jobq-k8s-host: libjobq driving Spark jobs on Kubernetes.
 *
 * The thin host a platform team deploys: it reads the job definitions,
 * connects to the API server (in-cluster service account or a kubeconfig),
 * wires the ResourceQuota probe and the SparkApplication deployer into a
 * scheduler, and ticks it. Runs are requested through a spool directory
 * (spool.h) or --submit; events go to stdout as JSON lines, logs to stderr.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobq/jobq.h"

#include "deployer.h"
#include "events.h"
#include "host_http.h"
#include "jobs_file.h"
#include "kube_client.h"
#include "kubeconfig.h"
#include "probe.h"
#include "spool.h"

typedef struct host_options {
    const char *kubeconfig;
    const char *context;
    bool in_cluster;
    const char *service_account_dir;
    namespace_list namespaces;
    const char *jobs;
    const char *config;
    const char *db;
    const char *spool;
    const char **submits;
    size_t submit_count;
    const char *instance;
    long tick_ms;
    bool exit_when_idle;
    bool insecure;
    kube_retry_policy retry;
    k8s_cleanup cleanup;
    long ttl_seconds;
    host_http_options http; /* --listen, --port, --token-file */
} host_options;

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fputs(
        "Usage: jobq-k8s-host [OPTION]...\n"
        "Schedule Spark jobs (SparkApplications) on Kubernetes with libjobq:\n"
        "runs queue per namespace and priority and are created only when they\n"
        "fit the namespace's ResourceQuota.\n"
        "\n"
        "Connection (one of):\n"
        "  --kubeconfig FILE       kubeconfig to use (default: $KUBECONFIG, then\n"
        "                          ~/.kube/config)\n"
        "  --context NAME          kubeconfig context (default: current-context)\n"
        "  --in-cluster            use the pod's service account and\n"
        "                          KUBERNETES_SERVICE_HOST/PORT\n"
        "  --service-account-dir DIR  where the service account files are\n"
        "                          (default " K8S_SERVICE_ACCOUNT_DIR ")\n"
        "  --insecure-skip-tls-verify  do not verify the server certificate\n"
        "                          (prints a warning; never in production)\n"
        "  --request-timeout-ms N  timeout of one API request (default 15000)\n"
        "  --retries N             tries per API request on 429, 5xx and\n"
        "                          connection errors (default 4, backoff from\n"
        "                          200 ms doubling up to 3 s)\n"
        "\n"
        "Scheduling:\n"
        "  --namespace NS          a managed namespace (repeatable); job\n"
        "                          namespaces are added automatically\n"
        "  --jobs FILE             job definitions (JSON; see the README)\n"
        "  --config FILE           libjobq configuration document (SPEC\n"
        "                          section 3: batchSize, share, head timeout)\n"
        "  --db FILE               SQLite database for durable state; needed\n"
        "                          to survive a restart without losing runs\n"
        "  --instance NAME         name prefix and jobq.io/instance label of the\n"
        "                          SparkApplications (default \"jobq\"); the\n"
        "                          database's id (random per start without\n"
        "                          --db) follows it in every name\n"
        "  --tick-ms N             scheduling cycle interval (default 2000)\n"
        "  --cleanup MODE          applications of ended runs, once their\n"
        "                          outcome is recorded: delete (default),\n"
        "                          keep, or ttl=SECONDS (sets the operator's\n"
        "                          spec.timeToLiveSeconds when creating)\n"
        "\n"
        "Runs:\n"
        "  --spool DIR             take run requests from *.json files in DIR\n"
        "  --submit JOB            submit one run of JOB at start (repeatable)\n"
        "  --exit-when-idle        exit once nothing is queued or running and\n"
        "                          the spool is empty\n"
        "\n"
        HOST_HTTP_USAGE
        "Output:\n"
        "  --verbose               log every API decision (stderr)\n"
        "  --quiet                 log errors only\n"
        "  --help                  this text\n"
        "  --version               print the versions and exit\n"
        "\n"
        "Events are written to stdout as JSON lines; logs go to stderr. Bearer\n"
        "tokens are never logged. Exit status: 0 ok, 1 runtime error, 2 usage.\n",
        out);
}

enum {
    OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_IN_CLUSTER, OPT_SA_DIR,
    OPT_INSECURE, OPT_TIMEOUT, OPT_RETRIES, OPT_NAMESPACE, OPT_JOBS,
    OPT_CONFIG, OPT_DB, OPT_INSTANCE, OPT_TICK, OPT_SPOOL, OPT_SUBMIT,
    OPT_IDLE, OPT_VERBOSE, OPT_QUIET, OPT_HELP, OPT_VERSION, OPT_CLEANUP,
    OPT_LISTEN, OPT_PORT, OPT_TOKEN_FILE
};

static const struct option long_options[] = {
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"context", required_argument, NULL, OPT_CONTEXT},
    {"in-cluster", no_argument, NULL, OPT_IN_CLUSTER},
    {"service-account-dir", required_argument, NULL, OPT_SA_DIR},
    {"insecure-skip-tls-verify", no_argument, NULL, OPT_INSECURE},
    {"request-timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"db", required_argument, NULL, OPT_DB},
    {"instance", required_argument, NULL, OPT_INSTANCE},
    {"tick-ms", required_argument, NULL, OPT_TICK},
    {"cleanup", required_argument, NULL, OPT_CLEANUP},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"submit", required_argument, NULL, OPT_SUBMIT},
    {"exit-when-idle", no_argument, NULL, OPT_IDLE},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"port", required_argument, NULL, OPT_PORT},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {NULL, 0, NULL, 0},
};

static bool parse_long(long *out, const char *text, long min, long max,
                       const char *flag)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || end == text || value < min || value > max) {
        fprintf(stderr, "jobq-k8s-host: %s: \"%s\" is not a number in "
                        "%ld..%ld\n", flag, text, min, max);
        return false;
    }
    *out = value;
    return true;
}

static bool add_submit(host_options *o, const char *job)
{
    const char **grown = realloc(o->submits,
                                 (o->submit_count + 1) * sizeof *grown);
    if (!grown)
        return false;
    o->submits = grown;
    o->submits[o->submit_count++] = job;
    return true;
}

/* --cleanup delete | keep | ttl=SECONDS */
static bool parse_cleanup(host_options *o, const char *arg)
{
    if (strcmp(arg, "delete") == 0)
        o->cleanup = K8S_CLEANUP_DELETE;
    else if (strcmp(arg, "keep") == 0)
        o->cleanup = K8S_CLEANUP_KEEP;
    else if (strncmp(arg, "ttl=", 4) == 0) {
        o->cleanup = K8S_CLEANUP_TTL;
        return parse_long(&o->ttl_seconds, arg + 4, 0, 365L * 86400,
                          "--cleanup ttl=SECONDS");
    } else {
        fprintf(stderr, "jobq-k8s-host: --cleanup: \"%s\" is not delete, "
                        "keep or ttl=SECONDS\n", arg);
        return false;
    }
    return true;
}

/* Apply one flag; false on a usage error. */
static bool apply_flag(host_options *o, int flag, const char *arg)
{
    long number;
    switch (flag) {
    case OPT_KUBECONFIG: o->kubeconfig = arg; return true;
    case OPT_CONTEXT: o->context = arg; return true;
    case OPT_IN_CLUSTER: o->in_cluster = true; return true;
    case OPT_SA_DIR: o->service_account_dir = arg; return true;
    case OPT_INSECURE: o->insecure = true; return true;
    case OPT_NAMESPACE:
        if (!k8s_is_dns_label(arg)) {
            fprintf(stderr, "jobq-k8s-host: --namespace: \"%s\" is not a "
                            "valid namespace name (a DNS-1123 label)\n", arg);
            return false;
        }
        return namespace_list_add(&o->namespaces, arg) == 0;
    case OPT_CLEANUP: return parse_cleanup(o, arg);
    case OPT_JOBS: o->jobs = arg; return true;
    case OPT_CONFIG: o->config = arg; return true;
    case OPT_DB: o->db = arg; return true;
    case OPT_INSTANCE: o->instance = arg; return true;
    case OPT_SPOOL: o->spool = arg; return true;
    case OPT_SUBMIT: return add_submit(o, arg);
    case OPT_IDLE: o->exit_when_idle = true; return true;
    case OPT_VERBOSE: kube_log_level = 3; return true;
    case OPT_QUIET: kube_log_level = 0; return true;
    case OPT_TIMEOUT:
        if (!parse_long(&number, arg, 100, 600000, "--request-timeout-ms"))
            return false;
        o->retry.request_timeout_ms = number;
        return true;
    case OPT_RETRIES:
        if (!parse_long(&number, arg, 1, 20, "--retries"))
            return false;
        o->retry.max_attempts = (unsigned)number;
        return true;
    case OPT_LISTEN: return host_http_flag(&o->http, "listen", arg);
    case OPT_PORT: return host_http_flag(&o->http, "port", arg);
    case OPT_TOKEN_FILE: return host_http_flag(&o->http, "token-file", arg);
    case OPT_TICK:
        return parse_long(&o->tick_ms, arg, 10, 3600000, "--tick-ms");
    default:
        return false;
    }
}

/* Parse argv; returns -1 to go on, else the exit status. */
static int parse_flags(host_options *o, int argc, char **argv)
{
    int flag;
    while ((flag = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (flag == OPT_HELP) {
            usage(stdout);
            return 0;
        }
        if (flag == OPT_VERSION) {
            printf("jobq-k8s-host (libjobq %s, %s)\n", jobq_version(),
                   curl_version());
            return 0;
        }
        if (!apply_flag(o, flag, optarg)) {
            fputs("Try 'jobq-k8s-host --help'.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "jobq-k8s-host: unexpected argument \"%s\"\n",
                argv[optind]);
        return 2;
    }
    if (o->in_cluster && (o->kubeconfig || o->context)) {
        fputs("jobq-k8s-host: --in-cluster and --kubeconfig/--context "
              "exclude each other\n", stderr);
        return 2;
    }
    if (!o->jobs) {
        fputs("jobq-k8s-host: --jobs FILE is required\n", stderr);
        return 2;
    }
    return -1;
}

/* ------------------------------------------------------------- clock */

typedef struct host_clock {
    jobq_time_ms wall_at_start;
    jobq_time_ms monotonic_at_start;
} host_clock;

static jobq_time_ms clock_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (jobq_time_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unix-epoch milliseconds that never go backwards: the wall clock at start
 * advanced by the monotonic clock. */
static jobq_time_ms host_clock_now(void *ctx)
{
    const host_clock *c = ctx;
    return c->wall_at_start + clock_read(CLOCK_MONOTONIC) -
           c->monotonic_at_start;
}

/* -------------------------------------------------------- connection */

static int load_connection(const host_options *o, kube_config *config,
                           char *err, size_t cap)
{
    if (o->in_cluster)
        return kubeconfig_in_cluster(config, o->service_account_dir, err, cap);
    char fallback[4096];
    const char *path = o->kubeconfig;
    const char *env = getenv("KUBECONFIG");
    if (!path && env && env[0]) {
        snprintf(fallback, sizeof fallback, "%.*s",
                 (int)strcspn(env, ":"), env);
        path = fallback;
    } else if (!path) {
        const char *home = getenv("HOME");
        snprintf(fallback, sizeof fallback, "%s/.kube/config",
                 home ? home : ".");
        path = fallback;
    }
    return kubeconfig_load(config, path, o->context, err, cap);
}

static kube_client *connect_cluster(const host_options *o, char **default_ns)
{
    kube_config config;
    char err[512];
    if (load_connection(o, &config, err, sizeof err) != 0) {
        kube_log(0, "%s", err);
        return NULL;
    }
    if (o->insecure)
        config.insecure_skip_tls_verify = true;
    if (config.insecure_skip_tls_verify)
        kube_log(1, "TLS verification of %s is DISABLED "
                    "(insecure-skip-tls-verify): anyone on the network path can "
                    "impersonate the API server and read the token",
                 config.server);
    kube_client *client = kube_client_new(&config, &o->retry, err, sizeof err);
    if (!client)
        kube_log(0, "%s", err);
    else
        kube_log(2, "API server %s (%s)", config.server,
                 o->in_cluster ? "in-cluster service account" : "kubeconfig");
    *default_ns = config.ns ? strdup(config.ns) : NULL;
    kube_config_clear(&config);
    return client;
}

/* --------------------------------------------------------- identity */

static bool random_hex(char *out, size_t digits)
{
    unsigned char bytes[16];
    FILE *urandom = fopen("/dev/urandom", "rb");
    bool ok = urandom && fread(bytes, 1, digits / 2, urandom) == digits / 2;
    if (urandom)
        fclose(urandom);
    if (!ok) {
        kube_log(0, "cannot read /dev/urandom for a unique id");
        return false;
    }
    for (size_t i = 0; i < digits / 2; i++)
        sprintf(out + 2 * i, "%02x", bytes[i]);
    return true;
}

/* Write the id next to the database: a temporary file, fsync'd, renamed. */
static bool write_owner_file(const char *path, const char *owner)
{
    char temporary[4300];
    snprintf(temporary, sizeof temporary, "%s.tmp", path);
    FILE *out = fopen(temporary, "w");
    bool ok = out && fprintf(out, "%s\n", owner) > 0 && fflush(out) == 0 &&
              fsync(fileno(out)) == 0;
    if (out)
        ok &= fclose(out) == 0;
    ok = ok && rename(temporary, path) == 0;
    if (!ok)
        kube_log(0, "cannot write %s: %s", path, strerror(errno));
    return ok;
}

/* The owner id every application carries (jobq.io/db-id). With --db it
 * is the database's: made when the database is made and kept in
 * "<db>.k8s-owner" beside it (the store belongs to the library, and the
 * deployer needs the id before jobq_open() settles DEPLOYING runs). A
 * database that is new (lost, or never there) gets a new id even if an
 * old id file is left over, so applications of a lost database are never
 * taken for the new one's. Without --db the id is new for every start. */
static bool choose_owner(const host_options *o, char *owner, size_t cap)
{
    if (!o->db) {
        if (!random_hex(owner, 16))
            return false;
        kube_log(1, "no --db: state is in memory only and a restart forgets "
                    "queued runs; this process's applications carry "
                    K8S_LABEL_OWNER "=%s", owner);
        return true;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s.k8s-owner", o->db);
    struct stat info;
    bool db_exists = stat(o->db, &info) == 0 && info.st_size > 0;
    char *text = db_exists ? read_text_file(path, NULL) : NULL;
    if (text) {
        snprintf(owner, cap, "%.*s", (int)strcspn(text, " \r\n"), text);
        free(text);
        if (strlen(owner) == 16 && strspn(owner, "0123456789abcdef") == 16)
            return true;
        kube_log(0, "%s does not hold a database id: restore it, or move "
                    "the database away to start afresh", path);
        return false;
    }
    if (db_exists)
        kube_log(1, "%s has no id file (%s): it gets a new id; applications "
                    "created under an earlier id are not recognised as its "
                    "own", o->db, path);
    if (!random_hex(owner, 16) || !write_owner_file(path, owner))
        return false;
    kube_log(2, "database %s: id %s", o->db, owner);
    return true;
}

/* ----------------------------------------------------------- the loop */

static void sleep_until_next_cycle(jobq_scheduler *s, const host_clock *clock,
                                   long tick_ms)
{
    jobq_time_ms deadline = JOBQ_NO_DEADLINE;
    jobq_time_ms wait = tick_ms;
    /* Wake early for time-driven work that is still ahead. A deadline that
     * is already past just after a cycle is work that cycle could not do
     * (say, its namespace's quota could not be read): waiting a whole tick
     * then is what keeps a failing cluster from being polled in a loop. */
    if (jobq_next_deadline(s, &deadline) == 0 && deadline != JOBQ_NO_DEADLINE) {
        jobq_time_ms until = deadline - host_clock_now((void *)clock);
        if (until > 0 && until < wait)
            wait = until;
    }
    struct timespec left = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
    /* A signal interrupts the sleep: the loop then sees stop_requested. */
    nanosleep(&left, NULL);
}

static void run_loop(jobq_scheduler *s, k8s_deployer *deployer,
                     const host_clock *clock, const host_options *o)
{
    bool durable = o->db != NULL;
    while (!stop_requested) {
        int taken = o->spool ? spool_process(s, o->spool, durable) : 0;
        events_flush();
        k8s_deployer_begin_cycle(deployer);
        jobq_tick_stats stats = JOBQ_TICK_STATS_INIT;
        int rc = jobq_tick(s, JOBQ_TIME_NOW, &stats);
        if (rc) {
            char message[256];
            jobq_errmsg(s, message, sizeof message);
            kube_log(0, "scheduling cycle: %s", message);
            events_discard(); /* a failed cycle changed nothing */
        } else {
            events_flush(); /* committed: now they may be told */
            k8s_deployer_end_cycle(deployer, s);
        }
        kube_log(3, "cycle: %u deployed, %u blocked, %" PRIu64 " queued, %"
                    PRIu64 " running", stats.deployed, stats.blocked,
                 stats.queued, stats.running);
        if (o->exit_when_idle && rc == 0 && taken == 0 && stats.queued == 0 &&
            stats.running == 0)
            break;
        sleep_until_next_cycle(s, clock, o->tick_ms);
    }
}

/* -------------------------------------------------------------- main */

static jobq_scheduler *open_scheduler(const host_options *o, host_clock *clock,
                                      const jobq_probe *probe,
                                      const jobq_deployer *deployer)
{
    jobq_clock clock_vtable = {JOBQ_CLOCK_VERSION, clock, host_clock_now};
    jobq_options options = JOBQ_OPTIONS_INIT;
    options.clock = &clock_vtable;
    options.probe = probe;
    options.deployer = deployer;
    jobq_event_sink events = {JOBQ_EVENT_SINK_VERSION, NULL, events_print};
    options.events = &events;
    options.db_path = o->db;
    char *config_text = NULL;
    if (o->config && !(config_text = read_text_file(o->config, NULL))) {
        kube_log(0, "cannot read --config %s: %s", o->config, strerror(errno));
        return NULL;
    }
    options.config_json = config_text;
    jobq_scheduler *s = NULL;
    char err[512] = "";
    int rc = jobq_open(&s, &options, err, sizeof err);
    free(config_text);
    if (rc)
        kube_log(0, "cannot start the scheduler: %s%s", err,
                 o->db ? " (--db needs a libjobq built with its store)" : "");
    return s;
}

static bool submit_initial_runs(jobq_scheduler *s, const host_options *o)
{
    for (size_t i = 0; i < o->submit_count; i++)
        if (submit_run(s, o->submits[i], NULL, NULL, JOBQ_PRIORITY_DEFAULT))
            return false;
    return true;
}

/* The library makes a run's DEPLOYING state durable, committing all the
 * cycle has done so far, before it calls deploy; the events buffered until
 * then are committed, so they are printed before the (maybe slow) create:
 * a kill during it must not lose them. */
static int (*real_deploy)(void *, const jobq_deploy_request *, char *, size_t);

static int deploy_after_flush(void *ctx, const jobq_deploy_request *req,
                              char *msg, size_t cap)
{
    events_flush();
    return real_deploy(ctx, req, msg, cap);
}

/* The deployer, with every namespace and job known before the scheduler
 * opens: a reopened database's DEPLOYING runs are settled inside
 * jobq_open() by polling the deployer, which must then be able to find
 * their applications in any namespace the jobs use. */
static int prepare_deployer(k8s_deployer *deployer, kube_client *client,
                            const host_options *o, const jobs_config *jobs)
{
    char owner[K8S_OWNER_MAX + 1];
    const char *instance = o->instance ? o->instance : "jobq";
    if (!choose_owner(o, owner, sizeof owner))
        return -1;
    if (k8s_deployer_init(deployer, client, instance, owner) != 0) {
        kube_log(0, "--instance \"%s\" must be a DNS label starting with a "
                    "letter, at most 40 characters", instance);
        return -1;
    }
    deployer->cleanup = o->cleanup;
    deployer->ttl_seconds = o->ttl_seconds;
    for (size_t i = 0; i < o->namespaces.count; i++)
        if (k8s_deployer_add_namespace(deployer, o->namespaces.names[i],
                                       o->namespaces.no_quota_ok[i]))
            return -1;
    if (k8s_deployer_set_jobs(deployer, jobs))
        return -1;
    return k8s_deployer_check_quotas(deployer);
}

/* Everything after flag parsing; returns the exit status. */
/* /healthz: the API server answers our reads (kube_client.c tracks 401
 * and 403; callable from the HTTP thread). */
static bool cluster_healthy(void *ctx, char *message, size_t cap)
{
    (void)ctx;
    return kube_client_healthy(message, cap);
}

static int run_host(host_options *o)
{
    char *default_ns = NULL, err[512];
    kube_client *client = connect_cluster(o, &default_ns);
    if (!client)
        return 1;
    host_clock clock = {clock_read(CLOCK_REALTIME),
                        clock_read(CLOCK_MONOTONIC)};
    k8s_deployer deployer;
    memset(&deployer, 0, sizeof deployer);
    k8s_probe probe = {&deployer};
    jobq_probe probe_vtable;
    jobq_deployer deployer_vtable;
    jobs_config jobs = {NULL, 0};
    int status = 1;
    jobq_scheduler *s = NULL;
    host_http *http = NULL;
    const char *fallback_ns = o->namespaces.count ? o->namespaces.names[0]
                                                  : default_ns;
    if (jobs_file_parse(&jobs, o->jobs, fallback_ns, &o->namespaces, err,
                        sizeof err) != 0) {
        kube_log(0, "%s", err);
        goto done;
    }
    if (prepare_deployer(&deployer, client, o, &jobs) != 0)
        goto done;
    k8s_probe_vtable(&probe_vtable, &probe);
    k8s_deployer_vtable(&deployer_vtable, &deployer);
    real_deploy = deployer_vtable.deploy;
    deployer_vtable.deploy = deploy_after_flush;
    s = open_scheduler(o, &clock, &probe_vtable, &deployer_vtable);
    if (!s)
        goto done;
    events_flush(); /* what opening settled is committed */
    if (jobs_config_define(s, &jobs, err, sizeof err) != 0) {
        kube_log(0, "%s", err);
        goto done;
    }
    if (!submit_initial_runs(s, o))
        goto done;
    events_flush();
    bool http_failed;
    o->http.health = cluster_healthy; /* 401/403 on reads: /healthz fails */
    http = host_http_start(&o->http, s, o->db, &http_failed);
    if (http_failed)
        goto done;
    run_loop(s, &deployer, &clock, o);
    status = 0;
done:
    host_http_stop(http);
    jobq_close(s);
    events_flush();
    k8s_deployer_destroy(&deployer);
    jobs_config_clear(&jobs);
    kube_client_free(client);
    free(default_ns);
    return status;
}

int main(int argc, char **argv)
{
    host_options options = {.tick_ms = 2000,
                            .retry = KUBE_RETRY_POLICY_DEFAULT,
                            .http = HOST_HTTP_OPTIONS_DEFAULT};
    int status = parse_flags(&options, argc, argv);
    if (status < 0) {
        struct sigaction action = {.sa_handler = on_signal};
        sigemptyset(&action.sa_mask);
        sigaction(SIGTERM, &action, NULL);
        sigaction(SIGINT, &action, NULL);
        setvbuf(stdout, NULL, _IOLBF, 0);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        status = run_host(&options);
        curl_global_cleanup();
    }
    namespace_list_clear(&options.namespaces);
    free(options.submits);
    return status;
}
