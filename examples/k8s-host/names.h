/*
 * Kubernetes names for the objects the host creates: the SparkApplication
 * name, derived deterministically from the run's durable id so that a
 * create retried after a crash finds the object it already made.
 */
#ifndef K8S_NAMES_H
#define K8S_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "jobq/jobq.h"

/* A DNS-1123 label (and a DNS-1035 one: it starts with a letter) is at most
 * this long; Kubernetes names of the objects Spark derives from an
 * application must fit in it. */
#define K8S_NAME_MAX 63

/* Write "<prefix>-<id>-<job>" into out (at least K8S_NAME_MAX + 1 bytes):
 * the job name is lower-cased, every run of characters outside [a-z0-9]
 * becomes one '-', and it is cut so that the whole name fits in
 * K8S_NAME_MAX bytes with no trailing '-'. When nothing of the job name
 * survives the name is "<prefix>-<id>". `prefix` must itself be a valid
 * label starting with a letter, at most 48 bytes. Returns 0 or JOBQ_EINVAL
 * for a bad prefix. */
int k8s_app_name(char *out, size_t cap, const char *prefix, jobq_run_id id,
                 const char *job);

/* True if `name` is a DNS-1123 label: 1..63 bytes of [a-z0-9-], starting
 * and ending with an alphanumeric character. */
bool k8s_is_dns_label(const char *name);

/* True if `value` is a valid label value that is not empty: at most 63
 * bytes of [A-Za-z0-9._-], starting and ending with a letter or digit. */
bool k8s_is_label_value(const char *value);

#endif
