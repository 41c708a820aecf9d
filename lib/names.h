/*
 * Names at the boundary: what a job, run or domain name and a namespace
 * may be, checked where names enter the library (jobq_job_define,
 * jobq_run_submit and the batch), plus the UTF-8 decoding the output side
 * (metrics, jobqctl) shares to escape names that older databases may hold.
 *
 *  - job, run and domain names: valid UTF-8 (no overlong forms, no
 *    surrogates), no control characters (C0, DEL, C1), at most
 *    JOBQ_NAME_MAX bytes;
 *  - namespaces: DNS labels as Kubernetes requires (RFC 1123): 1 to
 *    JOBQ_NS_MAX (63) bytes of lowercase letters, digits and '-', starting
 *    and ending with a letter or digit.
 *
 * Errors name the field and the offending byte: its offset and value.
 * Pure functions: no I/O (jq_utf8_repair allocates its result).
 */
#ifndef JQ_NAMES_H
#define JQ_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode one UTF-8 sequence at s (n bytes available): its length (1..4)
 * and *cp, or 0 if the bytes there are not valid UTF-8. */
size_t jq_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* A malloc'd copy of `text` (NUL-terminated) in which every byte that is
 * not part of valid UTF-8 is replaced by U+FFFD, so that JSON built from
 * names an old database holds stays valid; NULL when out of memory. Takes
 * ownership of nothing. */
char *jq_utf8_repair(const char *text);

/* A control character: C0, DEL or C1. */
bool jq_is_control(uint32_t cp);

/* Check a job, run or domain name. NULL and "" pass unless `required`.
 * Returns 0, or JOBQ_EINVAL with a message in err ("job name: byte 3
 * (0x1b) is a control character"). */
int jq_name_check(const char *field, const char *name, size_t max,
                  bool required, char *err, size_t cap);

/* Check a namespace name (a DNS label). Returns 0 or JOBQ_EINVAL. */
int jq_namespace_check(const char *field, const char *name, char *err,
                       size_t cap);

#endif
