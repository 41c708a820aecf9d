/*
 * Where the cluster is and who we are: read from a kubeconfig file (with
 * libyaml) or from the in-cluster service account.
 */
#ifndef K8S_KUBECONFIG_H
#define K8S_KUBECONFIG_H

#include <stddef.h>

#include "kube_client.h"

/* The service account directory every pod gets. */
#define K8S_SERVICE_ACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Load the context `context` (NULL: current-context) of the kubeconfig at
 * `path`: the cluster's server, certificate-authority(-data) and
 * insecure-skip-tls-verify; the user's token / tokenFile or
 * client-certificate(-data) + client-key(-data); the context's namespace.
 * Relative file names are taken relative to the kubeconfig's directory.
 * exec plugins, auth providers and basic auth are refused with a message.
 * Returns 0 or a negative status with a message in err. */
int kubeconfig_load(kube_config *out, const char *path, const char *context,
                    char *err, size_t err_cap);

/* The in-cluster configuration: https://$KUBERNETES_SERVICE_HOST:
 * $KUBERNETES_SERVICE_PORT, the token (re-read when rotated), ca.crt and
 * namespace from `sa_dir` (NULL: K8S_SERVICE_ACCOUNT_DIR). */
int kubeconfig_in_cluster(kube_config *out, const char *sa_dir, char *err,
                          size_t err_cap);

/* Decode standard base64 (whitespace ignored) into a malloc'd buffer that
 * is also NUL-terminated. Returns 0 or JOBQ_EPARSE. */
int kube_base64_decode(char **out, size_t *out_len, const char *text);

#endif
