/*
 * Name validation and UTF-8 decoding; see names.h for the rules and why.
 */
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/jobq.h"

size_t jq_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char b = s[0];
    size_t len;
    uint32_t min, value;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        len = 2, min = 0x80, value = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3, min = 0x800, value = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4, min = 0x10000, value = b & 0x07;
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 or 0xf5.. */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        value = (value << 6) | (s[i] & 0x3f);
    }
    if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return 0;
    *cp = value;
    return len;
}

char *jq_utf8_repair(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(3 * n + 1), *p = out;
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = jq_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            memcpy(p, "\xef\xbf\xbd", 3);
            p += 3;
            i++;
        } else {
            memcpy(p, s + i, len);
            p += len;
            i += len;
        }
    }
    *p = '\0';
    return out;
}

bool jq_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

static int fail(char *err, size_t cap, const char *field, size_t offset,
                unsigned char byte, const char *what)
{
    if (err && cap) {
        if (byte >= 0x21 && byte < 0x7f && byte != '\'')
            snprintf(err, cap, "%s: byte %zu ('%c', 0x%02x) %s", field, offset,
                     byte, byte, what);
        else
            snprintf(err, cap, "%s: byte %zu (0x%02x) %s", field, offset, byte,
                     what);
    }
    return JOBQ_EINVAL;
}

int jq_name_check(const char *field, const char *name, size_t max,
                  bool required, char *err, size_t cap)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        if (!required)
            return 0;
        if (err && cap)
            snprintf(err, cap, "%s must not be empty", field);
        return JOBQ_EINVAL;
    }
    if (n > max) {
        if (err && cap)
            snprintf(err, cap, "%s is %zu bytes long (at most %zu)", field, n,
                     max);
        return JOBQ_EINVAL;
    }
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = jq_utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return fail(err, cap, field, i, s[i], "is not valid UTF-8");
        if (jq_is_control(cp))
            return fail(err, cap, field, i, s[i], "is a control character");
        i += len;
    }
    return 0;
}

static bool label_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int jq_namespace_check(const char *field, const char *name, char *err,
                       size_t cap)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0) {
        if (err && cap)
            snprintf(err, cap, "%s must not be empty", field);
        return JOBQ_EINVAL;
    }
    if (n > JOBQ_NS_MAX) {
        if (err && cap)
            snprintf(err, cap,
                     "%s is %zu bytes long (at most %d: a DNS "
                     "label)",
                     field, n, JOBQ_NS_MAX);
        return JOBQ_EINVAL;
    }
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < n; i++) {
        if (label_alnum(s[i]))
            continue;
        if (s[i] != '-')
            return fail(err, cap, field, i, s[i],
                        "is not allowed in a namespace (a DNS label: "
                        "lowercase letters, digits and '-')");
        if (i == 0 || i == n - 1)
            return fail(err, cap, field, i, s[i],
                        "is not allowed here: a namespace (a DNS label) "
                        "starts and ends with a letter or digit");
    }
    return 0;
}
