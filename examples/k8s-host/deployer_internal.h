/*
 * What the deployer's files share (deployer.c: deploy, poll, cancel,
 * cleanup; application.c: the object and who owns it; cluster_view.c: the
 * per-namespace lists, late usage and quotas). Not for other modules.
 */
#ifndef K8S_DEPLOYER_INTERNAL_H
#define K8S_DEPLOYER_INTERNAL_H

#include <stdio.h>
#include <string.h>

#include "deployer.h"

static inline const cJSON *field(const cJSON *object, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(object, name);
}

static inline const char *string_field(const cJSON *object, const char *name)
{
    const cJSON *value = field(object, name);
    return cJSON_IsString(value) ? value->valuestring : NULL;
}

static inline const char *label(const cJSON *object, const char *name)
{
    return string_field(field(field(object, "metadata"), "labels"), name);
}


static inline void app_path(char *out, size_t cap, const char *ns, const char *name)
{
    char escaped[3 * JOBQ_NS_MAX + 1];
    kube_url_escape(escaped, sizeof escaped, ns);
    snprintf(out, cap, K8S_SPARK_API "/namespaces/%s/sparkapplications%s%s",
             escaped, name ? "/" : "", name ? name : "");
}

static inline bool is_terminal(const char *state)
{
    return state && (strcmp(state, "COMPLETED") == 0 ||
                     strcmp(state, "FAILED") == 0 ||
                     strcmp(state, "SUBMISSION_FAILED") == 0);
}

static inline const char *app_state(const cJSON *app)
{
    return string_field(field(field(app, "status"), "applicationState"),
                        "state");
}

/* application.c */
bool k8s_remember(char ***list, size_t *count, const char *text);
void k8s_forget_all(char **list, size_t count);
bool k8s_is_ours(const k8s_deployer *d, const cJSON *app, jobq_run_id id,
                 const char *job, char *why, size_t why_cap);
void k8s_report_conflict(k8s_deployer *d, const char *ns, const char *name,
                         const char *why);

/* deployer.c */
k8s_namespace *k8s_space_for(k8s_deployer *d, const char *ns);
k8s_tracked *k8s_find_tracked(k8s_deployer *d, jobq_run_id id);
k8s_tracked *k8s_track(k8s_deployer *d, jobq_run_id id, const char *ns,
                       const char *name, const char *job);

/* cluster_view.c */
const cJSON *k8s_listed_apps(k8s_deployer *d, k8s_namespace *space);
int k8s_locate(k8s_deployer *d, jobq_run_id id, const cJSON **found,
               const char **ns);
int k8s_pending_pods(k8s_deployer *d, k8s_namespace *space, pod_group **out,
                     size_t *count);
cJSON *k8s_read_quotas(k8s_deployer *d, k8s_namespace *space);

#endif
