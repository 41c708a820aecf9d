/*
 * Unit tests for kubeconfig.c (kubeconfig files read with libyaml, the
 * in-cluster service account) and for the SparkApplication object the
 * deployer builds from a run's payload.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deployer.h"
#include "kubeconfig.h"
#include "test_util.h"

static char directory[] = "/tmp/jobq-kubeconfig-XXXXXX";

static void make_directory(void)
{
    ck_assert_ptr_nonnull(mkdtemp(directory));
}

static void remove_directory(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    ck_assert_int_eq(system(command), 0);
    strcpy(directory, "/tmp/jobq-kubeconfig-XXXXXX");
}

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
    return path;
}

static const char *const sample =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: dev-cluster\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority: ca.pem\n"
    "- name: prod-cluster\n"
    "  cluster:\n"
    "    server: https://prod.example:443\n"
    "    certificate-authority-data: LS0tLS1CRUdJTg==\n"
    "    insecure-skip-tls-verify: true\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: dev-cluster, user: dev-user, namespace: analytics}\n"
    "- name: prod\n"
    "  context:\n"
    "    cluster: prod-cluster\n"
    "    user: prod-user\n"
    "users:\n"
    "- name: dev-user\n"
    "  user:\n"
    "    token: \"s3cr3t-token\"\n"
    "- name: prod-user\n"
    "  user:\n"
    "    client-certificate-data: Y2VydA==\n"
    "    client-key: /etc/keys/key.pem\n";

START_TEST(current_context_with_a_token)
{
    make_directory();
    const char *path = write_file("config", sample);
    kube_config config;
    char err[256] = "";
    ck_assert_msg(kubeconfig_load(&config, path, NULL, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(config.server, "https://127.0.0.1:6443");
    ck_assert_str_eq(config.token, "s3cr3t-token");
    ck_assert_str_eq(config.ns, "analytics");
    char expected[300];
    snprintf(expected, sizeof expected, "%s/ca.pem", directory);
    ck_assert_str_eq(config.ca_file, expected);
    ck_assert(!config.insecure_skip_tls_verify);
    kube_config_clear(&config);
    remove_directory();
}
END_TEST

START_TEST(named_context_with_client_certificate_data)
{
    make_directory();
    const char *path = write_file("config", sample);
    kube_config config;
    char err[256] = "";
    ck_assert_msg(kubeconfig_load(&config, path, "prod", err, sizeof err) == 0,
                  "%s", err);
    ck_assert_str_eq(config.server, "https://prod.example:443");
    ck_assert_uint_eq(config.ca_len, 10);
    ck_assert_str_eq(config.ca_data, "-----BEGIN");
    ck_assert_str_eq(config.cert_data, "cert");
    ck_assert_str_eq(config.key_file, "/etc/keys/key.pem");
    ck_assert_ptr_null(config.token);
    ck_assert_ptr_null(config.ns);
    ck_assert(config.insecure_skip_tls_verify);
    kube_config_clear(&config);
    remove_directory();
}
END_TEST

START_TEST(refusals_have_messages)
{
    make_directory();
    kube_config config;
    char err[256] = "";
    const char *path = write_file("config", sample);
    ck_assert_int_eq(kubeconfig_load(&config, path, "nope", err, sizeof err),
                     JOBQ_ENOTFOUND);
    ck_assert_msg(strstr(err, "nope") != NULL, "%s", err);
    path = write_file("exec",
                      "current-context: c\n"
                      "clusters: [{name: k, cluster: {server: 'https://x'}}]\n"
                      "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                      "users: [{name: u, user: {exec: {command: aws}}}]\n");
    ck_assert_int_eq(kubeconfig_load(&config, path, NULL, err, sizeof err),
                     JOBQ_EINVAL);
    ck_assert_msg(strstr(err, "exec") != NULL, "%s", err);
    path = write_file("broken", "clusters: [unclosed\n");
    ck_assert_int_eq(kubeconfig_load(&config, path, NULL, err, sizeof err),
                     JOBQ_EPARSE);
    path = write_file("empty", "");
    ck_assert_int_eq(kubeconfig_load(&config, path, NULL, err, sizeof err),
                     JOBQ_EPARSE);
    ck_assert_int_eq(kubeconfig_load(&config, "/nonexistent/kubeconfig", NULL,
                                     err, sizeof err), JOBQ_ENOTFOUND);
    remove_directory();
}
END_TEST

START_TEST(in_cluster_service_account)
{
    make_directory();
    write_file("token", "tok\n");
    write_file("namespace", "spark-jobs\n");
    write_file("ca.crt", "pem");
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    kube_config config;
    char err[256] = "";
    ck_assert_msg(kubeconfig_in_cluster(&config, directory, err, sizeof err) ==
                      0, "%s", err);
    ck_assert_str_eq(config.server, "https://10.0.0.1:443");
    ck_assert_str_eq(config.ns, "spark-jobs");
    ck_assert_ptr_null(config.token); /* read (and re-read) from the file */
    ck_assert_ptr_nonnull(strstr(config.token_file, "/token"));
    ck_assert_ptr_nonnull(strstr(config.ca_file, "/ca.crt"));
    kube_config_clear(&config);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    ck_assert_int_eq(kubeconfig_in_cluster(&config, directory, err, sizeof err),
                     0);
    ck_assert_str_eq(config.server, "https://[fd00::1]:443");
    kube_config_clear(&config);
    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_int_eq(kubeconfig_in_cluster(&config, directory, err, sizeof err),
                     JOBQ_ENOTFOUND);
    remove_directory();
}
END_TEST

START_TEST(base64)
{
    char *out;
    size_t length;
    ck_assert_int_eq(kube_base64_decode(&out, &length, "aGVsbG8gd29ybGQ="), 0);
    ck_assert_uint_eq(length, 11);
    ck_assert_str_eq(out, "hello world");
    free(out);
    ck_assert_int_eq(kube_base64_decode(&out, &length, "YW\nJj"), 0);
    ck_assert_str_eq(out, "abc");
    free(out);
    ck_assert_int_eq(kube_base64_decode(&out, &length, "a*b"), JOBQ_EPARSE);
}
END_TEST

/* ------------------------------------------------- the built object */

static cJSON *build(const char *payload, char *err, size_t cap)
{
    k8s_deployer deployer;
    ck_assert_int_eq(k8s_deployer_init(&deployer, NULL, "jobq",
                                       "0123456789abcdef"), 0);
    ck_assert_int_eq(k8s_deployer_add_namespace(&deployer, "analytics", false),
                     0);
    jobq_deploy_request req = {.version = 1, .run_id = 17, .run_name = "r17",
                               .job = "Nightly.ETL", .ns = "analytics",
                               .payload = payload,
                               .payload_len = payload ? strlen(payload) : 0,
                               .attempt = 1};
    cJSON *app = k8s_build_application(&deployer, &req, "jobq-17-nightly-etl",
                                       err, cap);
    k8s_deployer_destroy(&deployer);
    return app;
}

static const char *text_at(const cJSON *app, const char *a, const char *b,
                           const char *c)
{
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(app, a);
    if (b)
        node = cJSON_GetObjectItemCaseSensitive(node, b);
    if (c)
        node = cJSON_GetObjectItemCaseSensitive(node, c);
    return cJSON_IsString(node) ? node->valuestring : "";
}

START_TEST(application_from_a_manifest_keeps_user_metadata)
{
    char err[256] = "";
    cJSON *app = build("{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"x\","
                       "\"namespace\":\"other\",\"resourceVersion\":\"9\","
                       "\"labels\":{\"team\":\"data\"},\"annotations\":{\"a\":"
                       "\"b\"}},\"spec\":{\"type\":\"Scala\"},\"status\":{}}",
                       err, sizeof err);
    ck_assert_msg(app != NULL, "%s", err);
    ck_assert_str_eq(text_at(app, "apiVersion", NULL, NULL),
                     "sparkoperator.k8s.io/v1beta2");
    ck_assert_str_eq(text_at(app, "kind", NULL, NULL), "SparkApplication");
    ck_assert_str_eq(text_at(app, "metadata", "name", NULL),
                     "jobq-17-nightly-etl");
    ck_assert_str_eq(text_at(app, "metadata", "namespace", NULL), "analytics");
    const cJSON *metadata = cJSON_GetObjectItemCaseSensitive(app, "metadata");
    ck_assert_str_eq(text_at(metadata, "labels", "team", NULL), "data");
    ck_assert_str_eq(text_at(metadata, "labels", K8S_LABEL_RUN_ID, NULL), "17");
    ck_assert_str_eq(text_at(metadata, "labels", K8S_LABEL_INSTANCE, NULL),
                     "jobq");
    ck_assert_str_eq(text_at(metadata, "annotations", "a", NULL), "b");
    ck_assert_str_eq(text_at(metadata, "labels", K8S_LABEL_JOB, NULL),
                     "Nightly.ETL");
    ck_assert_str_eq(text_at(metadata, "labels", K8S_LABEL_OWNER, NULL),
                     "0123456789abcdef");
    ck_assert_str_eq(text_at(metadata, "annotations", K8S_ANNOTATION_RUN_NAME,
                             NULL), "r17");
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(metadata,
                                                        "resourceVersion"));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(app, "status"));
    ck_assert_str_eq(text_at(app, "spec", "type", NULL), "Scala");
    cJSON_Delete(app);
}
END_TEST

START_TEST(application_from_a_bare_spec)
{
    char err[256] = "";
    cJSON *app = build("{\"type\":\"Python\",\"driver\":{}}", err, sizeof err);
    ck_assert_msg(app != NULL, "%s", err);
    ck_assert_str_eq(text_at(app, "spec", "type", NULL), "Python");
    ck_assert_str_eq(text_at(app, "metadata", "name", NULL),
                     "jobq-17-nightly-etl");
    cJSON_Delete(app);
    ck_assert_ptr_null(build("not json", err, sizeof err));
    ck_assert_msg(strstr(err, "Nightly.ETL") != NULL, "%s", err);
    ck_assert_ptr_null(build(NULL, err, sizeof err));
}
END_TEST

START_TEST(quota_messages)
{
    ck_assert(k8s_message_is_quota("sparkapplications \"a\" is forbidden: "
                                   "exceeded quota: compute, requested: "
                                   "requests.cpu=2, used: requests.cpu=7, "
                                   "limited: requests.cpu=8"));
    ck_assert(k8s_message_is_quota("failed to run spark-submit: pods "
                                   "\"a-driver\" is forbidden: exceeded quota: q"));
    /* The Spark operator's webhook with quota enforcement on. */
    ck_assert(k8s_message_is_quota(
        "admission webhook \"validate-sparkoperator-k8s-io-v1beta2-"
        "sparkapplication.sparkoperator.k8s.io\" denied the request: failed "
        "to validate resource quota \"team-a/compute\""));
    ck_assert(!k8s_message_is_quota("forbidden: User cannot create"));
    ck_assert(!k8s_message_is_quota(NULL));
}
END_TEST

Suite *suite_under_test(void)
{
    Suite *suite = suite_create("kubeconfig");
    TCase *tc = tcase_create("kubeconfig");
    tcase_add_test(tc, current_context_with_a_token);
    tcase_add_test(tc, named_context_with_client_certificate_data);
    tcase_add_test(tc, refusals_have_messages);
    tcase_add_test(tc, in_cluster_service_account);
    tcase_add_test(tc, base64);
    suite_add_tcase(suite, tc);
    tc = tcase_create("application");
    tcase_add_test(tc, application_from_a_manifest_keeps_user_metadata);
    tcase_add_test(tc, application_from_a_bare_spec);
    tcase_add_test(tc, quota_messages);
    suite_add_tcase(suite, tc);
    return suite;
}
