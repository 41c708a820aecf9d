/*
 * Kubeconfig and in-cluster configuration. A kubeconfig is YAML, so it is
 * read with libyaml's document API (never a hand-written parser), then the
 * few fields a client needs are picked out of the current context's
 * cluster and user entries.
 */
#include "kubeconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "jobq/jobq.h"

/* ------------------------------------------------------------ base64 */

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int kube_base64_decode(char **out, size_t *out_len, const char *text)
{
    size_t cap = strlen(text) / 4 * 3 + 4;
    char *buffer = malloc(cap);
    if (!buffer)
        return JOBQ_ENOMEM;
    size_t used = 0;
    unsigned bits = 0, pending = 0;
    bool padding = false;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            continue;
        if (*p == '=') {
            padding = true;
            continue;
        }
        int value = base64_value(*p);
        if (value < 0 || padding) {
            free(buffer);
            return JOBQ_EPARSE;
        }
        bits = (bits << 6) | (unsigned)value;
        pending += 6;
        if (pending >= 8) {
            pending -= 8;
            buffer[used++] = (char)((bits >> pending) & 0xff);
        }
    }
    buffer[used] = '\0';
    *out = buffer;
    *out_len = used;
    return 0;
}

/* --------------------------------------------------------- yaml walk */

static yaml_node_t *node_at(yaml_document_t *doc, int index)
{
    return index ? yaml_document_get_node(doc, index) : NULL;
}

static bool scalar_is(const yaml_node_t *node, const char *text)
{
    return node && node->type == YAML_SCALAR_NODE &&
           node->data.scalar.length == strlen(text) &&
           memcmp(node->data.scalar.value, text, node->data.scalar.length) == 0;
}

/* The value of `key` in a mapping node, or NULL. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map,
                            const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++)
        if (scalar_is(node_at(doc, pair->key), key))
            return node_at(doc, pair->value);
    return NULL;
}

static const char *scalar(yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE
               ? (const char *)node->data.scalar.value
               : NULL;
}

/* In a list of {name: N, <kind>: {...}} entries, the <kind> map of N. */
static yaml_node_t *named_entry(yaml_document_t *doc, const char *list,
                                const char *kind, const char *name)
{
    yaml_node_t *items = map_get(doc, yaml_document_get_root_node(doc), list);
    if (!items || items->type != YAML_SEQUENCE_NODE || !name)
        return NULL;
    for (yaml_node_item_t *item = items->data.sequence.items.start;
         item < items->data.sequence.items.top; item++) {
        yaml_node_t *entry = node_at(doc, *item);
        if (scalar_is(map_get(doc, entry, "name"), name))
            return map_get(doc, entry, kind);
    }
    return NULL;
}

/* ------------------------------------------------------------ loading */

typedef struct loader {
    yaml_document_t *doc;
    const char *directory; /* of the kubeconfig, for relative paths */
    char *err;
    size_t err_cap;
} loader;

static int refuse(loader *l, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(loader *l, int rc, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(l->err, l->err_cap, fmt, args);
    va_end(args);
    return rc;
}

static char *resolve_path(const loader *l, const char *path)
{
    if (path[0] == '/' || !l->directory)
        return strdup(path);
    size_t n = strlen(l->directory) + strlen(path) + 2;
    char *full = malloc(n);
    if (full)
        snprintf(full, n, "%s/%s", l->directory, path);
    return full;
}

/* A PEM that is given inline (base64 *-data) or as a file name. */
static int load_pem(loader *l, yaml_node_t *map, const char *data_key,
                    const char *file_key, char **data, size_t *length,
                    char **file)
{
    const char *inline_data = scalar(map_get(l->doc, map, data_key));
    const char *file_name = scalar(map_get(l->doc, map, file_key));
    if (inline_data && inline_data[0]) {
        if (kube_base64_decode(data, length, inline_data) != 0)
            return refuse(l, JOBQ_EPARSE, "kubeconfig: %s is not base64",
                          data_key);
    } else if (file_name && file_name[0]) {
        *file = resolve_path(l, file_name);
    }
    return 0;
}

static int load_cluster(loader *l, yaml_node_t *cluster, kube_config *out)
{
    const char *server = scalar(map_get(l->doc, cluster, "server"));
    if (!server)
        return refuse(l, JOBQ_EINVAL, "kubeconfig: the cluster has no server");
    out->server = strdup(server);
    size_t n = strlen(out->server);
    while (n > 0 && out->server[n - 1] == '/')
        out->server[--n] = '\0';
    out->insecure_skip_tls_verify = scalar_is(
        map_get(l->doc, cluster, "insecure-skip-tls-verify"), "true");
    return load_pem(l, cluster, "certificate-authority-data",
                    "certificate-authority", &out->ca_data, &out->ca_len,
                    &out->ca_file);
}

static int load_user(loader *l, yaml_node_t *user, kube_config *out)
{
    static const char *const unsupported[] = {"exec", "auth-provider",
                                              "username", NULL};
    for (const char *const *key = unsupported; *key; key++)
        if (map_get(l->doc, user, *key))
            return refuse(l, JOBQ_EINVAL,
                          "kubeconfig: the user's \"%s\" authentication is not "
                          "supported; use a token, tokenFile or a client "
                          "certificate",
                          *key);
    const char *token = scalar(map_get(l->doc, user, "token"));
    const char *token_file = scalar(map_get(l->doc, user, "tokenFile"));
    if (token && token[0])
        out->token = strdup(token);
    else if (token_file && token_file[0])
        out->token_file = resolve_path(l, token_file);
    int rc = load_pem(l, user, "client-certificate-data", "client-certificate",
                      &out->cert_data, &out->cert_len, &out->cert_file);
    if (!rc)
        rc = load_pem(l, user, "client-key-data", "client-key", &out->key_data,
                      &out->key_len, &out->key_file);
    return rc;
}

static int load_context(loader *l, const char *wanted, kube_config *out)
{
    yaml_node_t *root = yaml_document_get_root_node(l->doc);
    const char *name = wanted ? wanted
                              : scalar(map_get(l->doc, root, "current-context"));
    if (!name || !name[0])
        return refuse(l, JOBQ_EINVAL,
                      "kubeconfig: no current-context; pass --context");
    yaml_node_t *context = named_entry(l->doc, "contexts", "context", name);
    if (!context)
        return refuse(l, JOBQ_ENOTFOUND, "kubeconfig: no context named \"%s\"",
                      name);
    const char *cluster_name = scalar(map_get(l->doc, context, "cluster"));
    const char *user_name = scalar(map_get(l->doc, context, "user"));
    const char *ns = scalar(map_get(l->doc, context, "namespace"));
    yaml_node_t *cluster = named_entry(l->doc, "clusters", "cluster",
                                       cluster_name);
    if (!cluster)
        return refuse(l, JOBQ_ENOTFOUND, "kubeconfig: no cluster named \"%s\"",
                      cluster_name ? cluster_name : "");
    if (ns && ns[0])
        out->ns = strdup(ns);
    int rc = load_cluster(l, cluster, out);
    yaml_node_t *user = named_entry(l->doc, "users", "user", user_name);
    if (!rc && user)
        rc = load_user(l, user, out);
    return rc;
}

static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, (size_t)(slash - path)) : NULL;
}

int kubeconfig_load(kube_config *out, const char *path, const char *context,
                    char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(err, err_cap, "cannot open kubeconfig %s: %s", path,
                 strerror(errno));
        return JOBQ_ENOTFOUND;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, file);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, err_cap, "kubeconfig %s: %s at line %zu", path,
                 parser.problem ? parser.problem : "not YAML",
                 parser.problem_mark.line + 1);
        rc = JOBQ_EPARSE;
    } else {
        if (!yaml_document_get_root_node(&doc)) {
            snprintf(err, err_cap, "kubeconfig %s is empty", path);
            rc = JOBQ_EPARSE;
        } else {
            char *directory = directory_of(path);
            loader l = {&doc, directory, err, err_cap};
            rc = load_context(&l, context, out);
            free(directory);
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(file);
    if (rc)
        kube_config_clear(out);
    return rc;
}

/* --------------------------------------------------------- in-cluster */

static char *read_small_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char buffer[4096];
    size_t n = fread(buffer, 1, sizeof buffer - 1, file);
    fclose(file);
    while (n > 0 && (buffer[n - 1] == '\n' || buffer[n - 1] == ' '))
        n--;
    buffer[n] = '\0';
    return strdup(buffer);
}

int kubeconfig_in_cluster(kube_config *out, const char *sa_dir, char *err,
                          size_t err_cap)
{
    memset(out, 0, sizeof *out);
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !host[0] || !port || !port[0]) {
        snprintf(err, err_cap, "not running in a cluster: "
                               "KUBERNETES_SERVICE_HOST/PORT are not set");
        return JOBQ_ENOTFOUND;
    }
    const char *dir = sa_dir ? sa_dir : K8S_SERVICE_ACCOUNT_DIR;
    char path[1024];
    size_t n = strlen(host) + strlen(port) + 16;
    out->server = malloc(n);
    bool ipv6 = strchr(host, ':') != NULL;
    snprintf(out->server, n, ipv6 ? "https://[%s]:%s" : "https://%s:%s", host,
             port);
    snprintf(path, sizeof path, "%s/token", dir);
    out->token_file = strdup(path);
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    out->ca_file = strdup(path);
    snprintf(path, sizeof path, "%s/namespace", dir);
    out->ns = read_small_file(path);
    snprintf(path, sizeof path, "%s/token", dir);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(err, err_cap, "cannot read the service account token %s: %s",
                 path, strerror(errno));
        kube_config_clear(out);
        return JOBQ_ENOTFOUND;
    }
    fclose(probe);
    return 0;
}
