/*
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity):
 * "500m", "2", "1.5", "512Mi", "2Gi", "1e3", "1T".
 *
 * Job requests and namespace quotas arrive as quantity strings; the
 * scheduler counts in integers: cpu in millicores, memory and storage in
 * bytes, pods as a count. This file turns one into the other and back.
 *
 * The grammar (the Kubernetes one, minus its oddities that accept a bare
 * sign, a bare point or a lone unit as zero):
 *
 *   quantity  = [ "+" | "-" ] mantissa [ suffix ]
 *   mantissa  = digits [ "." [ digits ] ] | "." digits
 *   suffix    = "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"         (powers of 2)
 *             | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
 *             | ( "e" | "E" ) [ "+" | "-" ] digits              (10^digits)
 *
 * The conversion is exact and uses no floating point. The amount is
 * mantissa * 2^shift * 10^exponent. The mantissa digits are multiplied by
 * 2^shift one decimal digit at a time (right to left, with a carry), and
 * each resulting digit lands at a known power of ten: below the units it
 * makes a fraction, above 10^18 it overflows, in between it is added to the
 * result. So any length of input and any exponent cost one pass, with no
 * big-number arithmetic and no loop over the exponent.
 *
 * cpu amounts below a millicore round up, as the Kubernetes API server
 * does; memory, storage and pods must come out whole, or they are refused:
 * a Spark-style "512m" (MiB to Spark, 0.512 bytes to Kubernetes) is an
 * error, never a silent 0.
 */
#include "quantity.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Decimal exponents are clamped to this size. No string in memory is that
 * long, so beyond it every non-zero amount is either far too large or far
 * below one unit, exactly as with the real exponent. */
#define EXPONENT_LIMIT INT64_C(1000000000000000)

/* How much of a value an error message shows, in bytes of input. */
#define SHOWN_MAX 48
/* Room for SHOWN_MAX bytes escaped as \xHH, the quotes' escapes, "...". */
#define SHOWN_BUFFER (SHOWN_MAX * 4 + 8)

#define UNITS_HELP "n u m k M G T P E Ki Mi Gi Ti Pi Ei, or an exponent such as e3"

#if defined(__GNUC__)
#define PRINTF_LIKE(format_index, first_argument)                              \
    __attribute__((format(printf, format_index, first_argument)))
#else
#define PRINTF_LIKE(format_index, first_argument)
#endif

typedef struct unit {
    const char *name;
    int binary_shift;     /* the amount is multiplied by 2^binary_shift */
    int decimal_exponent; /* ... and by 10^decimal_exponent */
} unit;

static const unit units[] = {
    {"", 0, 0},    {"n", 0, -9},  {"u", 0, -6},  {"m", 0, -3},
    {"k", 0, 3},   {"M", 0, 6},   {"G", 0, 9},   {"T", 0, 12},
    {"P", 0, 15},  {"E", 0, 18},  {"Ki", 10, 0}, {"Mi", 20, 0},
    {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0}, {"Ei", 60, 0},
};

static const uint64_t powers_of_ten[19] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
};

/* A quantity split into its parts; all pointers point into the text. */
typedef struct number {
    bool negative;
    const char *mantissa;   /* the first digit or point, after the sign */
    size_t whole_length;    /* digits before the point */
    const char *fraction;   /* the digits after the point */
    size_t fraction_length;
    const char *suffix;     /* everything after the mantissa */
    int binary_shift;
    int64_t exponent;       /* the suffix's power of ten */
} number;

/* The amount, built one decimal digit at a time. */
typedef struct accumulator {
    uint64_t whole;  /* the integer part; never above INT64_MAX */
    bool fraction;   /* some digit fell below the units */
    bool overflow;   /* the integer part went above INT64_MAX */
} accumulator;

/* ------------------------------------------------------------- messages */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r';
}

/* Append one input byte to out (which has room) as it is shown in a
 * message: printable ASCII as itself, anything else escaped. */
static size_t show_byte(char *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (c >= 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 0xf];
    return 4;
}

/* Render the first `length` bytes of text (at most SHOWN_MAX of them) for
 * a message, into out (SHOWN_BUFFER bytes). */
static void show(char *out, const char *text, size_t length)
{
    size_t used = 0;
    size_t i;
    for (i = 0; i < length && i < SHOWN_MAX; i++)
        used += show_byte(out + used, (unsigned char)text[i]);
    if (i < length) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
}

/* Put a message in err: the value in quotes (when text is not NULL), a
 * space, then the formatted reason. Returns status. */
PRINTF_LIKE(5, 6)
static int fail(char *err, size_t cap, int status, const char *text,
                const char *format, ...)
{
    if (err == NULL || cap == 0)
        return status;
    size_t used = 0;
    if (text != NULL) {
        char shown[SHOWN_BUFFER];
        show(shown, text, strlen(text));
        int length = snprintf(err, cap, "\"%s\" ", shown);
        if (length < 0 || (size_t)length >= cap)
            return status;
        used = (size_t)length;
    }
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(err + used, cap - used, format, arguments);
    va_end(arguments);
    return status;
}

static void clear_error(char *err, size_t cap)
{
    if (err != NULL && cap > 0)
        err[0] = '\0';
}

/* What the base unit of a dimension is called in messages. */
static const char *base_unit_name(jobq_resource_kind kind)
{
    return kind == JOBQ_RESOURCE_CPU    ? "millicores"
           : kind == JOBQ_RESOURCE_PODS ? "pods"
                                        : "bytes";
}

/* -------------------------------------------------------------- reading */

static size_t count_digits(const char *s)
{
    size_t count = 0;
    while (is_digit(s[count]))
        count++;
    return count;
}

static const unit *find_unit(const char *name)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(units[i].name, name) == 0)
            return &units[i];
    return NULL;
}

/* The digits of e3, e-6, e+12 (after the e). The value is clamped to about
 * EXPONENT_LIMIT, which changes no result (see there). */
static bool read_exponent(const char *s, int64_t *out)
{
    bool negative = (*s == '-');
    if (*s == '+' || *s == '-')
        s++;
    if (!is_digit(*s))
        return false;
    int64_t value = 0;
    for (; is_digit(*s); s++)
        if (value < EXPONENT_LIMIT)
            value = value * 10 + (*s - '0');
    if (*s != '\0')
        return false;
    *out = negative ? -value : value;
    return true;
}

/* A memory suffix in the wrong spelling ("g", "gb", "GB", "mi", "K") gets
 * a hint with the binary unit it probably meant. */
static bool guess_unit(const char *suffix, char guess[3])
{
    static const char prefixes[] = "kmgtpe";
    size_t length = strlen(suffix);
    if (length == 0 || length > 2)
        return false;
    char first = (char)(suffix[0] | 0x20); /* ASCII lower case */
    if (!is_letter(suffix[0]) || strchr(prefixes, first) == NULL)
        return false;
    if (length == 2 && strchr("bBiI", suffix[1]) == NULL)
        return false;
    guess[0] = (char)(first & ~0x20);
    guess[1] = 'i';
    guess[2] = '\0';
    return true;
}

/* The suffix is all letters but no unit ("x", "Gb", "e"). */
static int unknown_unit(const number *n, const char *text,
                        jobq_resource_kind kind, char *err, size_t cap)
{
    const char *s = n->suffix;
    if (strcmp(s, "e") == 0)
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a quantity: the exponent has no digits "
                    "(e.g. 1e3)");
    char shown[SHOWN_BUFFER];
    show(shown, s, strlen(s));
    char guess[3];
    size_t mantissa_length = (size_t)(s - n->mantissa);
    bool bytes = kind == JOBQ_RESOURCE_MEMORY || kind == JOBQ_RESOURCE_STORAGE;
    if (bytes && guess_unit(s, guess) && mantissa_length <= SHOWN_MAX)
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a quantity: unknown unit \"%s\" "
                    "(did you mean %.*s%s?)",
                    shown, (int)mantissa_length, n->mantissa, guess);
    return fail(err, cap, JOBQ_EPARSE, text,
                "is not a quantity: unknown unit \"%s\" (units: " UNITS_HELP
                ")",
                shown);
}

/* The suffix is not a unit: say what is wrong with it. */
static int bad_suffix(const number *n, const char *text,
                      jobq_resource_kind kind, char *err, size_t cap)
{
    const char *s = n->suffix;
    size_t letters = 0;
    while (is_letter(s[letters]))
        letters++;
    if (s[letters] == '\0')
        return unknown_unit(n, text, kind, err, cap);
    if (s[letters] == '.' && letters == 0)
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a quantity: it has more than one decimal point");
    char shown[SHOWN_BUFFER];
    show(shown, s + letters, 1);
    return fail(err, cap, JOBQ_EPARSE, text,
                "is not a quantity: unexpected '%s' at character %zu", shown,
                (size_t)(s + letters - text) + 1);
}

/* Kubernetes would take "1000m" of memory as one byte. Nobody means that:
 * it is a Spark-style "1000 MiB" (or a typo), so milli, micro and nano are
 * refused outright for bytes and pods instead of being silently accepted
 * whenever they happen to add up to a whole number. */
static int sub_unit_suffix(const number *n, const char *text,
                           jobq_resource_kind kind, char *err, size_t cap)
{
    const char *unit_name = base_unit_name(kind);
    size_t mantissa_length = (size_t)(n->suffix - n->mantissa);
    if (strcmp(n->suffix, "m") == 0 && kind != JOBQ_RESOURCE_PODS &&
        mantissa_length <= SHOWN_MAX)
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a whole number of %s (did you mean %.*sMi?)",
                    unit_name, (int)mantissa_length, n->mantissa);
    return fail(err, cap, JOBQ_EPARSE, text,
                "is not a whole number of %s: the '%s' suffix counts "
                "fractions of one", unit_name, n->suffix);
}

static int read_suffix(number *n, const char *text, jobq_resource_kind kind,
                       char *err, size_t cap)
{
    const char *s = n->suffix;
    n->binary_shift = 0;
    n->exponent = 0;
    if ((s[0] == 'e' || s[0] == 'E') &&
        (is_digit(s[1]) || s[1] == '+' || s[1] == '-')) {
        if (read_exponent(s + 1, &n->exponent))
            return JOBQ_OK;
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a quantity: malformed exponent (expected "
                    "e.g. 1e3 or 1e-6)");
    }
    const unit *found = find_unit(s);
    if (found == NULL)
        return bad_suffix(n, text, kind, err, cap);
    n->binary_shift = found->binary_shift;
    n->exponent = found->decimal_exponent;
    if (kind != JOBQ_RESOURCE_CPU && found->decimal_exponent < 0)
        return sub_unit_suffix(n, text, kind, err, cap);
    return JOBQ_OK;
}

/* There are no digits before the suffix (or nothing at all). */
static int missing_mantissa(const char *text, const char *suffix, char *err,
                            size_t cap)
{
    if (*suffix != '\0' && find_unit(suffix) != NULL)
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a quantity: a number must come before the unit");
    return fail(err, cap, JOBQ_EPARSE, text,
                "is not a quantity: expected a number such as 500m, 2, 1.5 "
                "or 512Mi");
}

/* Split text into sign, mantissa and suffix, and interpret the suffix. */
static int read_number(number *n, const char *text, jobq_resource_kind kind,
                       char *err, size_t cap)
{
    if (*text == '\0')
        return fail(err, cap, JOBQ_EPARSE, text,
                    "is not a quantity: it is empty");
    for (const char *c = text; *c != '\0'; c++)
        if (is_space(*c))
            return fail(err, cap, JOBQ_EPARSE, text,
                        "is not a quantity: it contains white space");
    const char *s = text;
    n->negative = (*s == '-');
    if (*s == '+' || *s == '-')
        s++;
    n->mantissa = s;
    n->whole_length = count_digits(s);
    s += n->whole_length;
    n->fraction = s;
    n->fraction_length = 0;
    if (*s == '.') {
        n->fraction = ++s;
        n->fraction_length = count_digits(s);
        s += n->fraction_length;
    }
    n->suffix = s;
    if (n->whole_length + n->fraction_length == 0)
        return missing_mantissa(text, s, err, cap);
    return read_suffix(n, text, kind, err, cap);
}

/* ----------------------------------------------------------- converting */

/* Add digit * 10^power to the amount. */
static void add_digit(accumulator *amount, unsigned digit, int64_t power)
{
    if (digit == 0)
        return;
    if (power < 0) {
        amount->fraction = true;
        return;
    }
    if (power > 18) {
        amount->overflow = true;
        return;
    }
    uint64_t term = digit * powers_of_ten[power];
    if (term > (uint64_t)INT64_MAX - amount->whole)
        amount->overflow = true;
    else
        amount->whole += term;
}

static unsigned digit_at(const number *n, size_t index)
{
    char c = index < n->whole_length
                 ? n->mantissa[index]
                 : n->fraction[index - n->whole_length];
    return (unsigned)(c - '0');
}

/* amount = mantissa digits * 2^binary_shift * 10^exponent. The product of
 * the digits and 2^shift is formed right to left; every digit of it goes
 * to add_digit with its power of ten. The carry stays below 2^shift, so
 * digit * 2^shift + carry < 10 * 2^60 fits in 64 bits. */
static void scale(const number *n, int64_t exponent, accumulator *amount)
{
    uint64_t multiplier = UINT64_C(1) << n->binary_shift;
    uint64_t carry = 0;
    int64_t power = exponent;
    for (size_t i = n->whole_length + n->fraction_length; i-- > 0;) {
        uint64_t product = digit_at(n, i) * multiplier + carry;
        add_digit(amount, (unsigned)(product % 10), power++);
        carry = product / 10;
    }
    for (; carry != 0; carry /= 10)
        add_digit(amount, (unsigned)(carry % 10), power++);
}

/* The amount has a fraction of the base unit: cpu rounds up, the other
 * dimensions refuse it. */
static int round_fraction(const number *n, const char *text,
                          jobq_resource_kind kind, accumulator *amount,
                          char *err, size_t cap)
{
    const char *unit_name = base_unit_name(kind);
    if (kind == JOBQ_RESOURCE_CPU) {
        if (amount->whole == (uint64_t)INT64_MAX)
            return fail(err, cap, JOBQ_ERANGE, text,
                        "is too large (more than %" PRId64 " %s)",
                        INT64_MAX, unit_name);
        amount->whole++;
        return JOBQ_OK;
    }
    /* (A sub-unit suffix never gets here: read_suffix refused it.) */
    return fail(err, cap, JOBQ_EPARSE, text, "is not a whole number of %s",
                unit_name);
}

static int convert(int64_t *out, const number *n, const char *text,
                   jobq_resource_kind kind, char *err, size_t cap)
{
    int64_t exponent = n->exponent - (int64_t)n->fraction_length;
    if (kind == JOBQ_RESOURCE_CPU)
        exponent += 3; /* cores to millicores */
    accumulator amount = {0, false, false};
    scale(n, exponent, &amount);
    bool zero = amount.whole == 0 && !amount.fraction && !amount.overflow;
    if (n->negative && !zero)
        return fail(err, cap, JOBQ_EPARSE, text, "must not be negative");
    if (amount.overflow)
        return fail(err, cap, JOBQ_ERANGE, text,
                    "is too large (more than %" PRId64 " %s)", INT64_MAX,
                    base_unit_name(kind));
    if (amount.fraction) {
        int status = round_fraction(n, text, kind, &amount, err, cap);
        if (status != JOBQ_OK)
            return status;
    }
    *out = (int64_t)amount.whole;
    return JOBQ_OK;
}

static bool valid_kind(jobq_resource_kind kind)
{
    return (int)kind >= 0 && (int)kind < JOBQ_RESOURCE_COUNT;
}

/* "unlimited" is what jq_quantity_format writes for JOBQ_UNLIMITED, so it
 * reads back as that; otherwise only Kubernetes quantities are accepted.
 * *out is written only on success. */
int jq_quantity_parse(int64_t *out, const char *text, jobq_resource_kind kind,
                      char *err, size_t err_cap)
{
    clear_error(err, err_cap);
    if (out == NULL || text == NULL)
        return fail(err, err_cap, JOBQ_EINVAL, NULL,
                    "no quantity given (NULL %s)",
                    text == NULL ? "text" : "output");
    if (!valid_kind(kind))
        return fail(err, err_cap, JOBQ_EINVAL, NULL,
                    "unknown resource kind %d", (int)kind);
    if (strcmp(text, "unlimited") == 0) {
        *out = JOBQ_UNLIMITED;
        return JOBQ_OK;
    }
    number n = {0};
    int status = read_number(&n, text, kind, err, err_cap);
    if (status != JOBQ_OK)
        return status;
    return convert(out, &n, text, kind, err, err_cap);
}

JOBQ_API int jobq_quantity_parse(int64_t *out, const char *text,
                                 jobq_resource_kind kind, char *err,
                                 size_t err_cap)
{
    return jq_quantity_parse(out, text, kind, err, err_cap);
}

/* ------------------------------------------------------------ formatting */

/* Whole cores when the amount is a whole number of them, else millicores. */
static int format_cpu(char *buf, size_t cap, int64_t millicores)
{
    if (millicores % 1000 == 0)
        return snprintf(buf, cap, "%" PRId64, millicores / 1000);
    return snprintf(buf, cap, "%" PRId64 "m", millicores);
}

/* The largest binary unit that divides the amount exactly. */
static int format_bytes(char *buf, size_t cap, int64_t bytes)
{
    for (size_t i = sizeof units / sizeof units[0]; i-- > 0;) {
        int shift = units[i].binary_shift;
        if (shift == 0)
            break;
        int64_t size = INT64_C(1) << shift;
        if (bytes != 0 && bytes % size == 0)
            return snprintf(buf, cap, "%" PRId64 "%s", bytes / size,
                            units[i].name);
    }
    return snprintf(buf, cap, "%" PRId64, bytes);
}

int jq_quantity_format(char *buf, size_t cap, int64_t amount,
                       jobq_resource_kind kind)
{
    if ((buf == NULL && cap > 0) || !valid_kind(kind))
        return JOBQ_EINVAL;
    if (amount == JOBQ_UNLIMITED)
        return snprintf(buf, cap, "unlimited");
    switch (kind) {
    case JOBQ_RESOURCE_CPU:
        return format_cpu(buf, cap, amount);
    case JOBQ_RESOURCE_MEMORY:
    case JOBQ_RESOURCE_STORAGE:
        return format_bytes(buf, cap, amount);
    default:
        return snprintf(buf, cap, "%" PRId64, amount);
    }
}

JOBQ_API int jobq_quantity_format(char *buf, size_t cap, int64_t amount,
                                  jobq_resource_kind kind)
{
    return jq_quantity_format(buf, cap, amount, kind);
}

JOBQ_API const char *jobq_resource_name(jobq_resource_kind kind)
{
    switch (kind) {
    case JOBQ_RESOURCE_CPU:
        return "cpu";
    case JOBQ_RESOURCE_MEMORY:
        return "memory";
    case JOBQ_RESOURCE_PODS:
        return "pods";
    case JOBQ_RESOURCE_STORAGE:
        return "storage";
    default:
        return NULL;
    }
}
