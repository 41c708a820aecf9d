/*
 * Configuration: the JSON document of SPEC section 3 (see config.h).
 *
 * One table, CONFIG_TABLE below, describes every key: its canonical name
 * (what jq_config_set/get and jq_config_keys use), its type, default and
 * allowed range, the jq_config field it lives in, and its path in the JSON
 * document as a list of segments (segments, not a dotted string, because
 * the system property names themselves contain dots). Everything else is
 * generic code driven by that table, with no per-key code:
 *
 *   - parsing walks the cJSON tree object by object. The objects of the
 *     document are implied by the shared path prefixes of the rows, so an
 *     unknown key, a duplicate key, or a non-object where an object belongs
 *     is found at any level; a leaf is checked against its row;
 *   - jq_config_set/get find the row by key and reuse the same leaf check;
 *   - jq_config_to_json rebuilds the document from the rows;
 *   - jq_config_defaults and jq_config_keys are expanded from the table.
 *
 * Nothing is half-applied: values are validated into a local copy and *out
 * is assigned only on success (so out may alias base).
 *
 * Errors are one line, "<key path>: <what is wrong>", truncated to err_cap
 * and always NUL-terminated (err may be NULL). Bytes of caller-supplied
 * text (unknown keys, the path prefix) that are not printable ASCII are
 * written as \xNN, so a key cannot break the message over several lines.
 *
 * cJSON caveats handled here: cJSON_GetErrorPtr() is global state, so error
 * positions come from cJSON_ParseWithLengthOpts' return_parse_end (cJSON
 * still writes its global on failure; we never read it). cJSON accepts
 * trailing text when not asked for a NUL terminator, so we check it, and
 * it is given a NUL-terminated copy of the text because older releases
 * read past the length they are given.
 * cJSON_GetObjectItem() is case-insensitive and ignores duplicates, so
 * objects are walked child by child with exact comparisons. Numbers are
 * doubles: an integer must be whole and within range before conversion
 * (which also rules out NaN and infinities).
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobq/errors.h"

/* ------------------------------------------------------------ the table */

enum key_type { KT_BOOL, KT_INT };

#define MAX_SEGS 5

typedef struct key_desc {
    const char *name;              /* canonical key for set/get */
    enum key_type type;
    int64_t def, min, max;         /* default and inclusive range */
    size_t offset;                 /* of the field in jq_config */
    const char *seg[MAX_SEGS + 1]; /* path in the document, NULL-terminated */
} key_desc;

#define SETTINGS "services", "jobOrchestrator", "settings"
#define P_SHARE "job-orchestrator.queue.high.scheduling-share-percentage"
#define P_TIMEOUT "job-orchestrator.queue.head-timeout-seconds"
#define P_RETRY "job-orchestrator.queue.head-retry-count"

/* X(canonical key, type, default, min, max, jq_config field, path...) */
#define CONFIG_TABLE(X)                                                        \
    X("features.jobOrchestrator.enabled", BOOL, 1, 0, 1, enabled,             \
      "features", "jobOrchestrator", "enabled")                                \
    X("services.jobOrchestrator.settings.batchSize", INT, 20, 1, 1000000,     \
      batch_size, SETTINGS, "batchSize")                                       \
    X("services.jobOrchestrator.settings.jobRunCleanup.enabled", BOOL, 1, 0,  \
      1, cleanup_enabled, SETTINGS, "jobRunCleanup", "enabled")                \
    X("services.jobOrchestrator.settings.jobRunCleanup.retentionPeriod", INT, \
      2592000, 0, INT32_MAX, retention_period_s, SETTINGS, "jobRunCleanup",    \
      "retentionPeriod")                                                       \
    X(P_SHARE, INT, 90, 0, 100, high_share_pct, "systemProperties", P_SHARE)  \
    X(P_TIMEOUT, INT, 3600, 1, INT32_MAX, head_timeout_s, "systemProperties", \
      P_TIMEOUT)                                                               \
    X(P_RETRY, INT, 0, 0, 1000000, head_retry_count, "systemProperties",      \
      P_RETRY)

#define KEY_ROW(name, type, def, min, max, field, ...)                         \
    {name, KT_##type, def, min, max, offsetof(jq_config, field),               \
     {__VA_ARGS__, NULL}},
static const key_desc keys[] = {CONFIG_TABLE(KEY_ROW)};
#define NKEYS (sizeof keys / sizeof keys[0])

#define KEY_NAME(name, ...) name,
const char *const jq_config_keys[] = {CONFIG_TABLE(KEY_NAME) NULL};

/* The type column must match the field's C type. */
#define KEY_TYPE_CHECK(name, type, def, min, max, field, ...)                  \
    _Static_assert(_Generic(((jq_config *)0)->field,                           \
                            bool: KT_##type == KT_BOOL,                        \
                            int64_t: KT_##type == KT_INT,                      \
                            default: 0),                                       \
                   "CONFIG_TABLE: wrong type for jq_config." #field);
CONFIG_TABLE(KEY_TYPE_CHECK)
_Static_assert(sizeof keys / sizeof keys[0] <= 32, "seen masks are 32 bits");

static void store(jq_config *c, const key_desc *kd, int64_t v)
{
    char *field = (char *)c + kd->offset;
    if (kd->type == KT_BOOL)
        *(bool *)field = v != 0;
    else
        *(int64_t *)field = v;
}

static int64_t load(const jq_config *c, const key_desc *kd)
{
    const char *field = (const char *)c + kd->offset;
    return kd->type == KT_BOOL ? *(const bool *)field
                               : *(const int64_t *)field;
}

static size_t nsegs(const key_desc *kd)
{
    size_t n = 0;
    while (kd->seg[n] != NULL)
        n++;
    return n;
}

static bool seg_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Do a and b share their first n path segments? */
static bool same_prefix(const key_desc *a, const key_desc *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!seg_eq(a->seg[i], b->seg[i]))
            return false;
    return true;
}

/* Is key the dotted form of kd's path ("systemProperties.job-...")? */
static bool is_dotted_path(const char *key, const key_desc *kd)
{
    for (size_t i = 0; kd->seg[i] != NULL; i++) {
        size_t n = strlen(kd->seg[i]);
        if (i > 0 && *key++ != '.')
            return false;
        if (strncmp(key, kd->seg[i], n) != 0)
            return false;
        key += n;
    }
    return *key == '\0';
}

static const key_desc *lookup(const char *key)
{
    if (key == NULL)
        return NULL;
    for (size_t k = 0; k < NKEYS; k++)
        if (strcmp(key, keys[k].name) == 0 || is_dotted_path(key, &keys[k]))
            return &keys[k];
    return NULL;
}

/* ------------------------------------------------------------- messages */

typedef struct msg {
    char *buf; /* may be NULL */
    size_t cap;
    size_t len; /* characters written so far, excluding the NUL */
} msg;

static void msg_init(msg *m, char *buf, size_t cap)
{
    m->buf = cap > 0 ? buf : NULL;
    m->cap = buf != NULL ? cap : 0;
    m->len = 0;
    if (m->cap > 0)
        m->buf[0] = '\0';
}

static void msg_putc(msg *m, char c)
{
    if (m->len + 1 < m->cap) {
        m->buf[m->len++] = c;
        m->buf[m->len] = '\0';
    }
}

static void msg_puts(msg *m, const char *s)
{
    while (*s != '\0')
        msg_putc(m, *s++);
}

/* Caller-supplied text: printable ASCII as is, other bytes as \xNN, and
 * at most 80 bytes of it. */
static void msg_put_user(msg *m, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; s[i] != '\0' && i < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            msg_putc(m, (char)c);
        } else {
            msg_puts(m, "\\x");
            msg_putc(m, hex[c >> 4]);
            msg_putc(m, hex[c & 15]);
        }
    }
    if (s[i] != '\0')
        msg_puts(m, "...");
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void msg_vprintf(msg *m, const char *fmt, va_list ap)
{
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n > 0)
        msg_puts(m, tmp);
}

/* ----------------------------------------------------- applying values */

typedef struct ctx {
    jq_config cfg;      /* the value being built */
    msg m;              /* the error message */
    const char *prefix; /* prepended to document paths; NULL or "" for none */
    const char *key;    /* jq_config_set: the key as given, used as path */
} ctx;

static void ctx_init(ctx *c, const jq_config *base, const char *prefix,
                     const char *key, char *err, size_t err_cap)
{
    if (base != NULL)
        c->cfg = *base;
    else
        memset(&c->cfg, 0, sizeof c->cfg);
    msg_init(&c->m, err, err_cap);
    c->prefix = prefix != NULL && prefix[0] != '\0' ? prefix : NULL;
    c->key = key;
}

/* The path of the first `depth` segments of kd, then `extra` if any. */
static void put_path(ctx *c, const key_desc *kd, size_t depth,
                     const char *extra)
{
    bool empty = true;
    if (c->key != NULL) {
        msg_put_user(&c->m, c->key);
        return;
    }
    if (c->prefix != NULL) {
        msg_put_user(&c->m, c->prefix);
        empty = false;
    }
    for (size_t i = 0; i < depth; i++, empty = false) {
        if (!empty)
            msg_putc(&c->m, '.');
        msg_puts(&c->m, kd->seg[i]);
    }
    if (extra != NULL) {
        if (!empty)
            msg_putc(&c->m, '.');
        msg_put_user(&c->m, extra);
        empty = false;
    }
    if (empty)
        msg_puts(&c->m, "(document)");
}

/* Write "<path>: <fmt...>" and return rc. */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
static int fail(ctx *c, int rc, const key_desc *kd, size_t depth,
                const char *extra, const char *fmt, ...)
{
    va_list ap;
    c->m.len = 0;
    if (c->m.cap > 0)
        c->m.buf[0] = '\0';
    put_path(c, kd, depth, extra);
    msg_puts(&c->m, ": ");
    va_start(ap, fmt);
    msg_vprintf(&c->m, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *type_name(const cJSON *it)
{
    if (cJSON_IsBool(it))
        return "a boolean";
    if (cJSON_IsNull(it))
        return "null";
    if (cJSON_IsNumber(it))
        return "a number";
    if (cJSON_IsString(it))
        return "a string";
    if (cJSON_IsArray(it))
        return "an array";
    if (cJSON_IsObject(it))
        return "an object";
    return "an unsupported value";
}

/* Whole, not NaN; every double of magnitude >= 2^53 (and infinity) is. */
static bool is_whole(double v)
{
    if (v != v)
        return false;
    if (v >= 9007199254740992.0 || v <= -9007199254740992.0)
        return true;
    return v == (double)(int64_t)v;
}

/* %.15g, or %.17g when that would not read back as v (cJSON's rule), so
 * that 1000000.0000000001 is not shown as a misleading "1000000". */
static const char *number_text(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
    return buf;
}

static int apply_bool(ctx *c, const key_desc *kd, const cJSON *it)
{
    if (!cJSON_IsBool(it))
        return fail(c, JOBQ_EINVAL, kd, nsegs(kd), NULL,
                    "expected a boolean (true or false), got %s",
                    type_name(it));
    store(&c->cfg, kd, cJSON_IsTrue(it));
    return 0;
}

static int apply_int(ctx *c, const key_desc *kd, const cJSON *it)
{
    size_t d = nsegs(kd);
    char num[48];
    if (!cJSON_IsNumber(it))
        return fail(c, JOBQ_EINVAL, kd, d, NULL,
                    "expected an integer in %" PRId64 "..%" PRId64 ", got %s",
                    kd->min, kd->max, type_name(it));
    double v = it->valuedouble;
    if (!is_whole(v))
        return fail(c, JOBQ_EINVAL, kd, d, NULL,
                    "expected an integer in %" PRId64 "..%" PRId64 ", got %s",
                    kd->min, kd->max, number_text(num, sizeof num, v));
    if (v < (double)kd->min || v > (double)kd->max)
        return fail(c, JOBQ_ERANGE, kd, d, NULL,
                    "%s is out of range (%" PRId64 "..%" PRId64 ")",
                    number_text(num, sizeof num, v), kd->min, kd->max);
    store(&c->cfg, kd, (int64_t)v);
    return 0;
}

static int apply_leaf(ctx *c, const key_desc *kd, const cJSON *it)
{
    return kd->type == KT_BOOL ? apply_bool(c, kd, it) : apply_int(c, kd, it);
}

/* The row whose segment `depth` is `name`, under the object that `at`'s
 * first `depth` segments name; NULL if none. */
static const key_desc *find_child(const key_desc *at, size_t depth,
                                  const char *name)
{
    for (size_t k = 0; k < NKEYS; k++)
        if (same_prefix(&keys[k], at, depth) &&
            seg_eq(keys[k].seg[depth], name))
            return &keys[k];
    return NULL;
}

/* The rows under kd's first n segments, as a bit mask. */
static uint32_t rows_under(const key_desc *kd, size_t n)
{
    uint32_t mask = 0;
    for (size_t k = 0; k < NKEYS; k++)
        if (same_prefix(&keys[k], kd, n))
            mask |= UINT32_C(1) << k;
    return mask;
}

/* "unknown key (expected: a, b)": the distinct names allowed there. */
static int fail_unknown(ctx *c, const key_desc *at, size_t depth,
                        const char *name)
{
    fail(c, JOBQ_EINVAL, at, depth, name != NULL ? name : "(null)",
         "unknown key (expected: ");
    bool first = true;
    for (size_t k = 0; k < NKEYS; k++) {
        if (!same_prefix(&keys[k], at, depth) ||
            find_child(at, depth, keys[k].seg[depth]) != &keys[k])
            continue; /* not there, or named already by an earlier row */
        if (!first)
            msg_puts(&c->m, ", ");
        msg_puts(&c->m, keys[k].seg[depth]);
        first = false;
    }
    msg_putc(&c->m, ')');
    return JOBQ_EINVAL;
}

/* Apply the members of obj, the object at `at`'s first `depth` segments. */
static int apply_object(ctx *c, const cJSON *obj, const key_desc *at,
                        size_t depth)
{
    uint32_t seen = 0;
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        const key_desc *kd = find_child(at, depth, it->string);
        if (kd == NULL)
            return fail_unknown(c, at, depth, it->string);
        uint32_t rows = rows_under(kd, depth + 1);
        if (seen & rows)
            return fail(c, JOBQ_EINVAL, kd, depth + 1, NULL,
                        "duplicate key");
        seen |= rows;
        int rc;
        if (kd->seg[depth + 1] == NULL)
            rc = apply_leaf(c, kd, it);
        else if (!cJSON_IsObject(it))
            rc = fail(c, JOBQ_EINVAL, kd, depth + 1, NULL,
                      "expected an object, got %s", type_name(it));
        else
            rc = apply_object(c, it, kd, depth + 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ JSON text */

static bool is_json_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Parse exactly one JSON value from text[0..len), allowing surrounding
 * whitespace. On failure, NULL and *errpos is the byte offset (len when
 * out of memory). cJSON is given a NUL-terminated copy: cJSON releases
 * before 1.7.18 can read past the given length (CVE-2023-53154). */
static cJSON *parse_text(const char *text, size_t len, size_t *errpos)
{
    char *copy = len < SIZE_MAX ? malloc(len + 1) : NULL;
    const char *end = NULL;
    *errpos = len;
    if (copy == NULL)
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    cJSON *doc = cJSON_ParseWithLengthOpts(copy, len, &end, false);
    size_t pos = end != NULL && end >= copy ? (size_t)(end - copy) : 0;
    free(copy);
    if (doc == NULL) {
        *errpos = pos < len ? pos : len;
        return NULL;
    }
    while (pos < len && is_json_space(text[pos]))
        pos++;
    if (pos < len) {
        cJSON_Delete(doc);
        *errpos = pos;
        return NULL;
    }
    return doc;
}

/* "invalid JSON at line L, column C (byte B)" for offset pos of text. */
static void format_position(char *buf, size_t cap, const char *text,
                            size_t len, size_t pos)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < len; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    snprintf(buf, cap, "invalid JSON at line %zu, column %zu (byte %zu)", line,
             col, pos);
}

/* ------------------------------------------------------------ the API */

void jq_config_defaults(jq_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t k = 0; k < NKEYS; k++)
        store(c, &keys[k], keys[k].def);
}

int jq_config_apply_json(jq_config *out, const jq_config *base,
                         const cJSON *doc, const char *path_prefix,
                         char *err, size_t err_cap)
{
    ctx c;
    ctx_init(&c, base, path_prefix, NULL, err, err_cap);
    if (out == NULL || base == NULL)
        return fail(&c, JOBQ_EINVAL, keys, 0, NULL, "no output or base");
    if (!cJSON_IsObject(doc))
        return fail(&c, JOBQ_EINVAL, keys, 0, NULL,
                    "expected an object, got %s",
                    doc != NULL ? type_name(doc) : "nothing");
    int rc = apply_object(&c, doc, keys, 0);
    if (rc == 0)
        *out = c.cfg;
    return rc;
}

int jq_config_parse(jq_config *out, const jq_config *base, const char *json,
                    size_t len, char *err, size_t err_cap)
{
    msg m;
    size_t pos;
    char where[96];
    msg_init(&m, err, err_cap);
    if (json == NULL && len > 0) {
        msg_puts(&m, "no JSON text");
        return JOBQ_EINVAL;
    }
    cJSON *doc = parse_text(json != NULL ? json : "", len, &pos);
    if (doc == NULL) {
        format_position(where, sizeof where, json, len, pos);
        msg_puts(&m, where);
        return JOBQ_EPARSE;
    }
    if (!cJSON_IsObject(doc)) {
        msg_puts(&m, "the document is not a JSON object (got ");
        msg_puts(&m, type_name(doc));
        msg_putc(&m, ')');
        cJSON_Delete(doc);
        return JOBQ_EPARSE;
    }
    int rc = jq_config_apply_json(out, base, doc, NULL, err, err_cap);
    cJSON_Delete(doc);
    return rc;
}

/* "unknown key 'x' (valid keys: ...)". */
static int fail_no_key(msg *m, const char *key)
{
    msg_puts(m, "unknown configuration key '");
    msg_put_user(m, key != NULL ? key : "(null)");
    msg_puts(m, "' (valid keys: ");
    for (size_t k = 0; k < NKEYS; k++) {
        msg_puts(m, k > 0 ? ", " : "");
        msg_puts(m, keys[k].name);
    }
    msg_putc(m, ')');
    return JOBQ_ENOTFOUND;
}

int jq_config_set(jq_config *out, const jq_config *base, const char *key,
                  const char *value, char *err, size_t err_cap)
{
    ctx c;
    size_t pos;
    char where[96];
    const key_desc *kd = lookup(key);
    ctx_init(&c, base, NULL, key, err, err_cap);
    if (kd == NULL)
        return fail_no_key(&c.m, key);
    if (out == NULL || base == NULL || value == NULL)
        return fail(&c, JOBQ_EINVAL, kd, 0, NULL, "no output, base or value");
    size_t len = strlen(value);
    cJSON *it = parse_text(value, len, &pos);
    if (it == NULL) {
        format_position(where, sizeof where, value, len, pos);
        return fail(&c, JOBQ_EPARSE, kd, 0, NULL, "%s", where);
    }
    int rc = apply_leaf(&c, kd, it);
    cJSON_Delete(it);
    if (rc == 0)
        *out = c.cfg;
    return rc;
}

int jq_config_get(const jq_config *c, const char *key, char *buf, size_t cap)
{
    const key_desc *kd = lookup(key);
    if (kd == NULL)
        return JOBQ_ENOTFOUND;
    if (c == NULL || (buf == NULL && cap > 0))
        return JOBQ_EINVAL;
    int64_t v = load(c, kd);
    int n = kd->type == KT_BOOL
                ? snprintf(buf, cap, "%s", v ? "true" : "false")
                : snprintf(buf, cap, "%" PRId64, v);
    return n >= 0 ? n : JOBQ_ERROR;
}

/* The object that holds kd's value in root, created as needed. */
static cJSON *parent_of(cJSON *root, const key_desc *kd)
{
    cJSON *obj = root;
    for (size_t i = 0; obj != NULL && kd->seg[i + 1] != NULL; i++) {
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, kd->seg[i]);
        obj = child != NULL ? child : cJSON_AddObjectToObject(obj, kd->seg[i]);
    }
    return obj;
}

static bool add_value(cJSON *root, const key_desc *kd, const jq_config *c)
{
    cJSON *obj = parent_of(root, kd);
    const char *name = kd->seg[nsegs(kd) - 1];
    int64_t v = load(c, kd);
    if (obj == NULL)
        return false;
    if (kd->type == KT_BOOL)
        return cJSON_AddBoolToObject(obj, name, v != 0) != NULL;
    return cJSON_AddNumberToObject(obj, name, (double)v) != NULL;
}

/* Integers outside +-2^53 would print inexactly; they are never in range. */
char *jq_config_to_json(const jq_config *c)
{
    cJSON *root = c != NULL ? cJSON_CreateObject() : NULL;
    char *text = NULL, *copy = NULL;
    bool ok = root != NULL;
    for (size_t k = 0; ok && k < NKEYS; k++)
        ok = add_value(root, &keys[k], c);
    if (ok)
        text = cJSON_PrintUnformatted(root);
    if (text != NULL) {
        size_t n = strlen(text) + 1;
        copy = malloc(n); /* ours, not cJSON's allocator: caller free()s */
        if (copy != NULL)
            memcpy(copy, text, n);
        cJSON_free(text);
    }
    cJSON_Delete(root);
    return copy;
}
