/*
 * A small Kubernetes API client over libcurl: HTTPS with TLS verification,
 * bearer-token or client-certificate authentication, timeouts, and bounded
 * retries with exponential backoff on 429, 5xx and connection errors.
 *
 * One client owns one curl handle (connections are reused) and is used from
 * one thread at a time. Credentials are never logged.
 */
#ifndef K8S_KUBE_CLIENT_H
#define K8S_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* Where the API server is and how to authenticate: filled from a kubeconfig
 * or the in-cluster service account (kubeconfig.h). Every pointer is owned
 * (malloc'd) by the struct; kube_config_clear() frees them. PEM data and
 * file names are alternatives: data wins when both are set. */
typedef struct kube_config {
    char *server;       /* "https://host:port", no trailing slash */
    char *token;        /* bearer token, or NULL */
    char *token_file;   /* re-read when it changes (rotated tokens) */
    char *ca_data;      /* PEM bundle */
    size_t ca_len;
    char *ca_file;
    char *cert_data;    /* client certificate, PEM */
    size_t cert_len;
    char *cert_file;
    char *key_data;     /* client key, PEM */
    size_t key_len;
    char *key_file;
    char *ns;           /* the context's (or pod's) namespace, or NULL */
    bool insecure_skip_tls_verify;
} kube_config;

void kube_config_clear(kube_config *config);

/* Timeouts and the retry budget of every request. */
typedef struct kube_retry_policy {
    unsigned max_attempts;   /* tries per request, including the first */
    long first_backoff_ms;   /* doubled after every retry... */
    long max_backoff_ms;     /* ...up to this; also caps Retry-After */
    long connect_timeout_ms;
    long request_timeout_ms; /* the whole exchange */
} kube_retry_policy;

#define KUBE_RETRY_POLICY_DEFAULT {4, 200, 3000, 5000, 15000}

typedef struct kube_response {
    long status;      /* HTTP status, 0 when no response arrived */
    char *body;       /* NUL-terminated, may be empty; owned */
    size_t length;
    unsigned attempts; /* how many tries it took */
    char error[256];  /* transport error when status == 0 */
    bool timed_out;   /* no answer within the request timeout */
    char warnings[512]; /* the Warning headers' texts, "; "-separated */
} kube_response;

void kube_response_free(kube_response *response);

typedef struct kube_client kube_client;

/* Create a client; the config is copied. Returns NULL with a message in
 * err on failure. */
kube_client *kube_client_new(const kube_config *config,
                             const kube_retry_policy *policy, char *err,
                             size_t err_cap);
void kube_client_free(kube_client *client);

/* Send one request (body may be NULL; it is sent as application/json) and
 * wait for its response, retrying on 429, 5xx and transport errors within
 * the retry policy; a timeout is not retried (a hung server would stall
 * the caller for every try: the next cycle asks again). Returns 0 when a response arrived (any status: look at
 * response->status), or -1 when none did after the last attempt (the cause
 * is in response->error). The caller frees the response either way. */
int kube_request(kube_client *client, const char *method, const char *path,
                 const char *body, kube_response *response);

/* The health of the connection as far as reads tell: false while the
 * last read of some resource was answered 401 or 403 (credentials or RBAC
 * to fix), with what to check in msg. Safe from any thread (the web
 * console's /healthz asks). Every change is logged once. */
bool kube_client_healthy(char *msg, size_t cap);

/* Percent-encode `text` for a URL path segment or query value. */
void kube_url_escape(char *out, size_t cap, const char *text);

/* The "message" of a Kubernetes Status body, or a short description of the
 * response when it has none, copied into out. */
void kube_status_message(char *out, size_t cap, const kube_response *response);

/* Logging: every module writes through this (stderr, one line per call,
 * prefixed "k8s-host: "). Level 0 errors, 1 warnings, 2 info, 3 debug;
 * lines above kube_log_level are dropped. */
extern int kube_log_level;
void kube_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
