/*
 * The Kubernetes API client: one libcurl easy handle, TLS always verified
 * unless the configuration says insecure_skip_tls_verify, bearer token or
 * client certificate, and a bounded retry loop with exponential backoff
 * that sleeps between tries (never spins). The token is sent in a header
 * and never written to any log.
 */
#include "kube_client.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int kube_log_level = 2;

void kube_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    if (level > kube_log_level)
        return;
    char line[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    fprintf(stderr, "k8s-host: %s: %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level],
            line);
}

struct kube_client {
    CURL *curl;
    kube_config config;
    kube_retry_policy policy;
    char *token;            /* current bearer token (from config or file) */
    struct timespec token_mtime;
};

/* ------------------------------------------------------------- config */

void kube_config_clear(kube_config *c)
{
    free(c->server);
    free(c->token);
    free(c->token_file);
    free(c->ca_data);
    free(c->ca_file);
    free(c->cert_data);
    free(c->cert_file);
    free(c->key_data);
    free(c->key_file);
    free(c->ns);
    memset(c, 0, sizeof *c);
}

static char *copy_string(const char *text)
{
    return text ? strdup(text) : NULL;
}

static char *copy_bytes(const char *data, size_t length)
{
    if (!data)
        return NULL;
    char *copy = malloc(length + 1);
    if (copy) {
        memcpy(copy, data, length);
        copy[length] = '\0';
    }
    return copy;
}

static void copy_config(kube_config *to, const kube_config *from)
{
    to->server = copy_string(from->server);
    to->token = copy_string(from->token);
    to->token_file = copy_string(from->token_file);
    to->ca_data = copy_bytes(from->ca_data, from->ca_len);
    to->ca_len = from->ca_len;
    to->ca_file = copy_string(from->ca_file);
    to->cert_data = copy_bytes(from->cert_data, from->cert_len);
    to->cert_len = from->cert_len;
    to->cert_file = copy_string(from->cert_file);
    to->key_data = copy_bytes(from->key_data, from->key_len);
    to->key_len = from->key_len;
    to->key_file = copy_string(from->key_file);
    to->ns = copy_string(from->ns);
    to->insecure_skip_tls_verify = from->insecure_skip_tls_verify;
}

/* -------------------------------------------------------------- token */

/* Strip trailing whitespace (token files end with a newline). */
static void trim_right(char *text)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
                     text[n - 1] == ' ' || text[n - 1] == '\t'))
        text[--n] = '\0';
}

/* Re-read the token file when its modification time changed: projected
 * service account tokens are rotated by the kubelet. */
static void refresh_token(kube_client *client)
{
    struct stat info;
    if (!client->config.token_file ||
        stat(client->config.token_file, &info) != 0)
        return;
    if (client->token && info.st_mtim.tv_sec == client->token_mtime.tv_sec &&
        info.st_mtim.tv_nsec == client->token_mtime.tv_nsec)
        return;
    FILE *file = fopen(client->config.token_file, "r");
    if (!file) {
        kube_log(1, "cannot read the token file %s: %s",
                 client->config.token_file, strerror(errno));
        return;
    }
    char buffer[16384];
    size_t n = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    buffer[n] = '\0';
    trim_right(buffer);
    free(client->token);
    client->token = strdup(buffer);
    client->token_mtime = info.st_mtim;
    memset(buffer, 0, sizeof buffer);
}

/* ------------------------------------------------------------- client */

kube_client *kube_client_new(const kube_config *config,
                             const kube_retry_policy *policy, char *err,
                             size_t err_cap)
{
    if (!config->server || strncmp(config->server, "https://", 8) != 0) {
        snprintf(err, err_cap, "the API server must be an https:// URL (got %s)",
                 config->server ? config->server : "none");
        return NULL;
    }
    kube_client *client = calloc(1, sizeof *client);
    if (!client || !(client->curl = curl_easy_init())) {
        snprintf(err, err_cap, "cannot initialise libcurl");
        free(client);
        return NULL;
    }
    copy_config(&client->config, config);
    client->policy = *policy;
    if (client->policy.max_attempts == 0)
        client->policy.max_attempts = 1;
    client->token = copy_string(config->token);
    refresh_token(client);
    return client;
}

void kube_client_free(kube_client *client)
{
    if (!client)
        return;
    curl_easy_cleanup(client->curl);
    if (client->token)
        memset(client->token, 0, strlen(client->token));
    free(client->token);
    kube_config_clear(&client->config);
    free(client);
}

void kube_response_free(kube_response *response)
{
    free(response->body);
    response->body = NULL;
    response->length = 0;
}

static size_t collect_body(char *data, size_t size, size_t count, void *ctx)
{
    kube_response *response = ctx;
    size_t n = size * count;
    char *grown = realloc(response->body, response->length + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + response->length, data, n);
    response->length += n;
    grown[response->length] = '\0';
    response->body = grown;
    return n;
}

static void set_blob(CURL *curl, CURLoption option, char *data, size_t length)
{
    struct curl_blob blob = {data, length, CURL_BLOB_COPY};
    curl_easy_setopt(curl, option, &blob);
}

static void set_tls_options(kube_client *client)
{
    CURL *curl = client->curl;
    const kube_config *c = &client->config;
    if (c->insecure_skip_tls_verify) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->ca_data)
        set_blob(curl, CURLOPT_CAINFO_BLOB, c->ca_data, c->ca_len);
    else if (c->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_data)
        set_blob(curl, CURLOPT_SSLCERT_BLOB, c->cert_data, c->cert_len);
    else if (c->cert_file)
        curl_easy_setopt(curl, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_data)
        set_blob(curl, CURLOPT_SSLKEY_BLOB, c->key_data, c->key_len);
    else if (c->key_file)
        curl_easy_setopt(curl, CURLOPT_SSLKEY, c->key_file);
}

/* The header list of one request; the caller frees it. */
static struct curl_slist *request_headers(kube_client *client, bool has_body)
{
    struct curl_slist *headers =
        curl_slist_append(NULL, "Accept: application/json");
    if (has_body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    refresh_token(client);
    if (client->token && client->token[0]) {
        size_t n = strlen(client->token) + 32;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", client->token);
            headers = curl_slist_append(headers, line);
            memset(line, 0, n);
            free(line);
        }
    }
    return headers;
}

/* The Warning headers ("299 - \"unknown field ...\""): the text only. */
static void collect_warnings(CURL *curl, kube_response *response)
{
    struct curl_header *header;
    size_t used = 0;
    for (size_t i = 0;
         curl_easy_header(curl, "Warning", i, CURLH_HEADER, -1, &header) ==
         CURLHE_OK;
         i++) {
        const char *text = strchr(header->value, '"');
        text = text ? text + 1 : header->value;
        size_t n = strcspn(text, "\"");
        int wrote = snprintf(response->warnings + used,
                             sizeof response->warnings - used, "%s%.*s",
                             used ? "; " : "", (int)n, text);
        if (wrote < 0 || (size_t)wrote >= sizeof response->warnings - used)
            break;
        used += (size_t)wrote;
        if (i + 1 >= header->amount)
            break;
    }
}

/* --------------------------------------------------------- health */

/* The last answer to reads of each kind of resource, so that a 401/403 is
 * logged when it starts and when it ends, not on every cycle. */
#define HEALTH_SLOTS 64
static struct {
    pthread_mutex_t lock;
    char kind[HEALTH_SLOTS][96];
    long status[HEALTH_SLOTS];
    char message[HEALTH_SLOTS][200];
    size_t count;
} health = {PTHREAD_MUTEX_INITIALIZER, {{0}}, {0}, {{0}}, 0};

/* "GET resourcequotas in team-a" from the path. */
static void read_kind(char *out, size_t cap, const char *path)
{
    const char *ns = strstr(path, "/namespaces/");
    char name[64] = "?", resource[64] = "?";
    if (ns)
        sscanf(ns, "/namespaces/%63[^/]/%63[^/?]", name, resource);
    snprintf(out, cap, "%s in namespace %s", resource, name);
}

static void note_read(const char *path, const kube_response *response)
{
    if (response->status == 0)
        return;
    bool denied = response->status == 401 || response->status == 403;
    char kind[96];
    read_kind(kind, sizeof kind, path);
    pthread_mutex_lock(&health.lock);
    size_t i = 0;
    while (i < health.count && strcmp(health.kind[i], kind) != 0)
        i++;
    if (i == health.count && (!denied || health.count == HEALTH_SLOTS)) {
        pthread_mutex_unlock(&health.lock);
        return; /* never denied: nothing to remember */
    }
    if (i == health.count) {
        snprintf(health.kind[i], sizeof health.kind[i], "%s", kind);
        health.status[i] = 200;
        health.count++;
    }
    bool was_denied = health.status[i] == 401 || health.status[i] == 403;
    long before = health.status[i];
    health.status[i] = denied ? response->status : 200;
    if (denied) {
        char message[200];
        kube_status_message(message, sizeof message, response);
        snprintf(health.message[i], sizeof health.message[i], "%s", message);
    }
    pthread_mutex_unlock(&health.lock);
    if (denied && before != response->status)
        kube_log(0, "reading %s: HTTP %ld (%s): check %s", kind,
                 response->status, health.message[i],
                 response->status == 401
                     ? "the credentials (token, client certificate, or the "
                       "service account token file)"
                     : "the Role and RoleBinding: the host needs get/list on "
                       "resourcequotas and pods and create/get/list/delete on "
                       "sparkapplications in every managed namespace");
    else if (!denied && was_denied)
        kube_log(1, "reading %s works again", kind);
}

bool kube_client_healthy(char *msg, size_t cap)
{
    pthread_mutex_lock(&health.lock);
    bool ok = true;
    for (size_t i = 0; i < health.count && ok; i++)
        if (health.status[i] == 401 || health.status[i] == 403) {
            ok = false;
            if (msg && cap)
                snprintf(msg, cap, "reading %s: HTTP %ld: %s", health.kind[i],
                         health.status[i], health.message[i]);
        }
    if (ok && msg && cap)
        snprintf(msg, cap, "ok");
    pthread_mutex_unlock(&health.lock);
    return ok;
}

/* One try. Returns the curl result; the response is filled. */
static CURLcode attempt(kube_client *client, const char *method,
                        const char *url, const char *body,
                        kube_response *response)
{
    CURL *curl = client->curl;
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     client->policy.connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, client->policy.request_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    set_tls_options(client);
    struct curl_slist *headers = request_headers(client, body != NULL);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    kube_response_free(response);
    response->status = 0;
    CURLcode rc = curl_easy_perform(curl);
    /* Drop the header list (and with it the token) at once. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    response->warnings[0] = '\0';
    response->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
        collect_warnings(curl, response);
    } else {
        snprintf(response->error, sizeof response->error, "%s",
                 curl_easy_strerror(rc));
    }
    return rc;
}

/* Transport errors worth another try: the server or the network may come
 * back. Certificate and configuration errors will not fix themselves. */
static bool transport_error_is_transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static bool status_is_transient(long status)
{
    return status == 429 || (status >= 500 && status <= 599);
}

/* Retry-After in milliseconds (seconds form only), or -1. */
static long retry_after_ms(CURL *curl)
{
    struct curl_header *header;
    if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &header) !=
        CURLHE_OK)
        return -1;
    char *end;
    long seconds = strtol(header->value, &end, 10);
    return (end != header->value && *end == '\0' && seconds >= 0)
               ? seconds * 1000
               : -1;
}

static void sleep_ms(long ms)
{
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

int kube_request(kube_client *client, const char *method, const char *path,
                 const char *body, kube_response *response)
{
    char url[2048];
    snprintf(url, sizeof url, "%s%s", client->config.server, path);
    memset(response, 0, sizeof *response);
    long backoff = client->policy.first_backoff_ms;
    for (unsigned n = 1;; n++) {
        response->attempts = n;
        CURLcode rc = attempt(client, method, url, body, response);
        bool transient = rc == CURLE_OK ? status_is_transient(response->status)
                                        : transport_error_is_transient(rc);
        if (!transient || n >= client->policy.max_attempts) {
            if (strcmp(method, "GET") == 0)
                note_read(path, response);
            return rc == CURLE_OK ? 0 : -1;
        }
        long wait = backoff;
        long suggested = rc == CURLE_OK ? retry_after_ms(client->curl) : -1;
        if (suggested > wait)
            wait = suggested;
        if (wait > client->policy.max_backoff_ms)
            wait = client->policy.max_backoff_ms;
        kube_log(1, "%s %s: %s (%ld); try %u of %u in %ld ms", method, path,
                 rc == CURLE_OK ? "server busy or failing" : response->error,
                 response->status, n + 1, client->policy.max_attempts, wait);
        sleep_ms(wait);
        backoff = backoff * 2 > client->policy.max_backoff_ms
                      ? client->policy.max_backoff_ms
                      : backoff * 2;
    }
}

void kube_url_escape(char *out, size_t cap, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                     *p == '_' || *p == '~';
        if (used + (plain ? 1 : 3) >= cap)
            break;
        if (plain) {
            out[used++] = (char)*p;
        } else {
            out[used++] = '%';
            out[used++] = hex[*p >> 4];
            out[used++] = hex[*p & 15];
        }
    }
    out[used] = '\0';
}

void kube_status_message(char *out, size_t cap, const kube_response *response)
{
    if (response->status == 0) {
        snprintf(out, cap, "no response from the API server: %s",
                 response->error);
        return;
    }
    cJSON *status = response->body ? cJSON_Parse(response->body) : NULL;
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(status, "message");
    if (cJSON_IsString(message))
        snprintf(out, cap, "%s", message->valuestring);
    else
        snprintf(out, cap, "the API server answered HTTP %ld", response->status);
    cJSON_Delete(status);
}
