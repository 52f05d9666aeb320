/* Spool lines -> canonical columns in one pass, for ingest's bulk path (libc only).
 *
 * hl_scan() reads a range of complete spool lines and, per line, either fills the columns the
 * canonical row needs (Arrow string_view entries: the payload's pointing into the spool bytes,
 * the other text's into a side buffer of copied and decoded strings; plus numbers and validity
 * bytes) or marks the line "slow": the exact Python path (ingest.normalize) then decides it. A
 * line is slow when it is not strict JSON / UTF-8, when its envelope or a typed payload field
 * does not have the declared type, when something is unusual (duplicate keys, escaped keys, a
 * value shape the columns would render differently, ...), and when redaction could change it: a
 * key whose normalised name is a secret name at any depth, or a string value that one of the
 * value patterns of ingest/redact.py could match. Every test here over-approximates the Python
 * rule it stands for, so a line is only ever kept off the exact path when that path would leave
 * it unchanged.
 *
 * The tables that come from the Python contract (payload field names, event names and their
 * categories, pydantic type checks, secret key names, status words) are passed in by the caller.
 */
#include <math.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

/* payload slots: the first N_EXTRACT names passed in must be these, in this order */
enum {
    F_HOOK_EVENT_NAME, F_SESSION_ID, F_PROMPT_ID, F_CORRELATION_ID, F_ROOT_ID, F_PARENT_ID,
    F_EXECUTION_ID, F_AGENT_ID, F_AGENT_TYPE, F_TOOL_NAME, F_TOOL_USE_ID, F_SERVICE, F_ENDPOINT,
    F_DURATION_MS, F_STATUS, F_ERROR, F_IS_INTERRUPT, F_EXIT_CODE, F_SUCCESS, F_PROMPT, F_CWD,
    F_TRANSCRIPT_PATH, F_PERMISSION_MODE, F_MODEL, F_INPUT_TOKENS, F_OUTPUT_TOKENS, F_USAGE,
    F_COST_USD, F_TIMESTAMP, N_EXTRACT
};
#define MAX_FIELDS 64

/* string output columns */
enum {
    S_EVENT_ID, S_SOURCE, S_HOST, S_EVENT_NAME, S_SESSION_ID, S_PROMPT_ID, S_CORRELATION_ID,
    S_ROOT_ID, S_PARENT_ID, S_EXECUTION_ID, S_AGENT_ID, S_AGENT_TYPE, S_TOOL_NAME, S_TOOL_USE_ID,
    S_MCP_SERVER, S_MCP_TOOL, S_STATUS, S_ERROR, S_PROMPT_TEXT, S_CWD, S_TRANSCRIPT_PATH,
    S_PERMISSION_MODE, S_MODEL, S_PAYLOAD, N_STR
};
/* numeric output columns (validity rows follow the string ones) */
enum { I_CAPTURED_US, I_EVENT_US, I_INPUT_TOKENS, I_OUTPUT_TOKENS, N_INT };
enum { D_DURATION_MS, D_COST_USD, N_DBL };
#define N_VALID (N_STR + N_INT + N_DBL)

/* event categories (how status / prompt_text are derived) */
enum { C_PLAIN = 0, C_OK = 1, C_TOOL_FAILURE = 2, C_STOP_FAILURE = 3, C_SDK = 4, C_PROMPT = 5 };
/* JSON kinds of the pydantic checks */
enum { K_STRING = 1, K_NUMBER = 2, K_INTEGER = 3, K_BOOLEAN = 4, K_OTHER = 5 };
/* value types */
enum { T_NONE = 0, T_NULL, T_FALSE, T_TRUE, T_INT, T_FLOAT, T_STR, T_OBJ, T_ARR };

#define MAX_DEPTH 200
#define MAX_EVENT_US 253402300799999999LL

typedef struct {
    int32_t n_fields;
    const char *const *field_names;
    const int32_t *field_lens;
    int32_t n_events;
    const char *const *event_names;
    const int32_t *event_lens;
    const int32_t *event_cats;
    const int8_t *checks; /* [n_events + 1][n_fields]: JSON kind the event's model declares, row 0 = any other event */
    int32_t n_suffix;
    const char *const *suffix_names;
    int32_t n_prefix;
    const char *const *prefix_names;
    int32_t n_extra;
    const char *const *extra_names;
    int32_t n_status;
    const char *const *status_words;
    const char *const *status_values;
    int32_t redact; /* 0: redaction is off, no line is sent to the exact path for it */
} Config;

typedef struct {
    uint8_t type, esc, empty;
    const uint8_t *s, *e; /* raw value span; strings include their quotes */
} Slot;

/* Payload keys repeat from line to line: what a key means (secret name? which payload field?)
 * is remembered per scan call in a small open-addressing table. */
#define KEY_CACHE 4096
#define KEY_CACHE_LEN 40
typedef struct {
    uint32_t hash;
    int16_t len; /* 0: empty entry */
    int8_t field_plus1;
    int8_t secret;
    uint8_t key[KEY_CACHE_LEN];
} KeyEntry;

typedef struct {
    const Config *cfg;
    const uint8_t *p, *end;
    uint8_t *scratch; /* decode area for pattern checks (never advanced) */
    KeyEntry *keys;   /* KEY_CACHE entries, or NULL */
    Slot slots[MAX_FIELDS];
} Ctx;

/* ------------------------------------------------------------------ view output */

typedef struct {
    const uint8_t *data; /* buffer 0: the spool bytes */
    uint8_t *side;       /* buffer 1: decoded strings */
    int64_t side_pos, side_cap;
    uint8_t *views;  /* [N_STR][n_rows][16] */
    uint8_t *valid;  /* [N_VALID][n_rows] */
    int64_t n_rows;
} Out;

static void put_view(Out *o, int col, int64_t row, const uint8_t *s, int64_t len, int32_t buf, int64_t off)
{
    uint8_t *v = o->views + ((int64_t)col * o->n_rows + row) * 16;
    int32_t l = (int32_t)len;
    memset(v, 0, 16);
    memcpy(v, &l, 4);
    if (len <= 12) {
        memcpy(v + 4, s, (size_t)len);
    } else {
        int32_t o32 = (int32_t)off;
        memcpy(v + 4, s, 4);
        memcpy(v + 8, &buf, 4);
        memcpy(v + 12, &o32, 4);
    }
    o->valid[(int64_t)col * o->n_rows + row] = 1;
}

/* a string that lives in the data buffer or the side buffer */
typedef struct {
    const uint8_t *s;
    int64_t len;
    int32_t buf;
    int64_t off;
} Str;

static void put_str(Out *o, int col, int64_t row, Str str)
{
    put_view(o, col, row, str.s, str.len, str.buf, str.off);
}

static void put_const(Out *o, int col, int64_t row, const char *text)
{
    put_view(o, col, row, (const uint8_t *)text, (int64_t)strlen(text), 0, 0); /* <= 12 bytes: inline */
}

/* ------------------------------------------------------------------ JSON scanning */

static inline int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static inline int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
static void skip_ws(Ctx *c)
{
    while (c->p < c->end && is_ws(*c->p)) c->p++;
}

/* Scan a string at c->p (on the opening quote). Validates escapes, control characters and
 * UTF-8 (strict: no overlongs, no surrogates, <= U+10FFFF). Returns 0 when the line must take
 * the exact path. *esc tells whether it holds backslash escapes. Characters that Python's
 * case-insensitive matching folds onto ASCII letters (U+0130, U+0131, U+017F, U+212A) also
 * send the line to the exact path: the ASCII-only pattern tests below would not see them. */
static int scan_string(Ctx *c, int *esc, int *nonascii)
{
    const uint8_t *p = c->p + 1, *end = c->end;
    *esc = 0;
    *nonascii = 0;
    for (;;) {
        /* fast run over plain ASCII */
#ifdef __SSE2__
        while (end - p >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)p);
            __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                                     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                                        _mm_cmplt_epi8(x, _mm_set1_epi8(0x20))); /* < 0x20 or >= 0x80 */
            int mask = _mm_movemask_epi8(stop);
            if (mask) {
                p += __builtin_ctz((unsigned)mask);
                break;
            }
            p += 16;
        }
#endif
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p >= end) return 0;
        uint8_t ch = *p;
        if (ch == '"') {
            c->p = p + 1;
            return 1;
        }
        if (ch == '\\') {
            *esc = 1;
            if (p + 1 >= end) return 0;
            uint8_t e = p[1];
            if (e == 'u') {
                if (p + 6 > end) return 0;
                for (int k = 2; k < 6; k++)
                    if (hexval(p[k]) < 0) return 0;
                p += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                p += 2;
            } else {
                return 0;
            }
            continue;
        }
        if (ch < 0x20) return 0;
        /* multi-byte UTF-8 */
        *nonascii = 1;
        if (ch >= 0xC2 && ch <= 0xDF) {
            if (p + 1 >= end || (p[1] & 0xC0) != 0x80) return 0;
            if ((ch == 0xC4 && (p[1] == 0xB0 || p[1] == 0xB1)) || (ch == 0xC5 && p[1] == 0xBF)) return 0;
            p += 2;
        } else if (ch >= 0xE0 && ch <= 0xEF) {
            if (p + 2 >= end || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
            if (ch == 0xE0 && p[1] < 0xA0) return 0;
            if (ch == 0xED && p[1] >= 0xA0) return 0;
            if (ch == 0xE2 && p[1] == 0x84 && p[2] == 0xAA) return 0;
            p += 3;
        } else if (ch >= 0xF0 && ch <= 0xF4) {
            if (p + 3 >= end || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
            if (ch == 0xF0 && p[1] < 0x90) return 0;
            if (ch == 0xF4 && p[1] >= 0x90) return 0;
            p += 4;
        } else {
            return 0;
        }
    }
}

/* Decode the JSON string s..e (with quotes) into out; returns the length or -1 for a lone
 * surrogate (Python keeps it; the exact path cleans it). */
static int64_t decode_string(const uint8_t *s, const uint8_t *e, uint8_t *out)
{
    const uint8_t *p = s + 1, *end = e - 1;
    uint8_t *o = out;
    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        uint8_t x = p[1];
        if (x != 'u') {
            switch (x) {
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            default: *o++ = x; break;
            }
            p += 2;
            continue;
        }
        uint32_t cp = (uint32_t)((hexval(p[2]) << 12) | (hexval(p[3]) << 8) | (hexval(p[4]) << 4) | hexval(p[5]));
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p + 6 <= end && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo = (uint32_t)((hexval(p[2]) << 12) | (hexval(p[3]) << 8) | (hexval(p[4]) << 4) | hexval(p[5]));
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else {
                    return -1;
                }
            } else {
                return -1;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return -1;
        }
        if (cp < 0x80) {
            *o++ = (uint8_t)cp;
        } else if (cp < 0x800) {
            *o++ = (uint8_t)(0xC0 | (cp >> 6));
            *o++ = (uint8_t)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            *o++ = (uint8_t)(0xE0 | (cp >> 12));
            *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (uint8_t)(0xF0 | (cp >> 18));
            *o++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    return o - out;
}

/* Escaped characters that fold onto ASCII letters under Python's case-insensitive matching
 * (or are such letters' look-alikes) cannot hide from the tests: decoded text is checked. A
 * decoded string holding one of the folding characters goes to the exact path. */
static int has_folding_char(const uint8_t *s, int64_t n)
{
    for (int64_t i = 0; i + 1 < n; i++) {
        if ((s[i] == 0xC4 && (s[i + 1] == 0xB0 || s[i + 1] == 0xB1)) || (s[i] == 0xC5 && s[i + 1] == 0xBF)) return 1;
        if (i + 2 < n && s[i] == 0xE2 && s[i + 1] == 0x84 && s[i + 2] == 0xAA) return 1;
    }
    return 0;
}

static int scan_number(Ctx *c, int *is_int)
{
    const uint8_t *p = c->p, *end = c->end;
    *is_int = 1;
    if (p < end && *p == '-') p++;
    if (p >= end) return 0;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && is_digit(*p)) p++;
    } else {
        return 0;
    }
    if (p < end && *p == '.') {
        *is_int = 0;
        p++;
        if (p >= end || !is_digit(*p)) return 0;
        while (p < end && is_digit(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *is_int = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit(*p)) return 0;
        while (p < end && is_digit(*p)) p++;
    }
    c->p = p;
    return 1;
}

static int lit(Ctx *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* ------------------------------------------------------------------ redaction tests */

static inline uint8_t lower(uint8_t ch) { return (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch | 0x20) : ch; }

static int ci_at(const uint8_t *s, int64_t n, int64_t i, const char *word)
{
    int64_t k = 0;
    for (; word[k]; k++)
        if (i + k >= n || lower(s[i + k]) != (uint8_t)word[k]) return 0;
    return 1;
}

static int cs_at(const uint8_t *s, int64_t n, int64_t i, const char *word)
{
    size_t k = strlen(word);
    return i + (int64_t)k <= n && memcmp(s + i, word, k) == 0;
}

static inline int openai_class(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '_' || ch == '-';
}

static inline int url_user_stop(uint8_t ch)
{
    return ch == '/' || ch == ':' || ch == '@' || ch == '"' || ch == '\'' || ch == '<' || ch == '>' || is_ws(ch) ||
           ch == '\v' || ch == '\f';
}

/* "://" + user + ":" + password + "@" (the url_password pattern without its scheme) */
static int url_password_at(const uint8_t *s, int64_t n, int64_t i)
{
    int64_t j = i + 3, start = j;
    while (j < n && !url_user_stop(s[j])) j++;
    if (j == start || j >= n || s[j] != ':') return 0;
    j++;
    start = j;
    while (j < n && (s[j] == ':' || !url_user_stop(s[j]))) j++;
    return j > start && j < n && s[j] == '@';
}

/* Bytes at which value_may_hold_secret looks around: every pattern has one of them at a fixed
 * place ("-" of sk- / xox?- / -----BEGIN, "_" of gh?_ / github_pat_ / ?k_live_ /
 * aws_secret_access_key, "A" of AIza / AKIA / ASIA, "J" of eyJ, ":" of ://, "=" of NAME=value,
 * the whitespace after "bearer"). Non-ASCII bytes are included: Python's \s is Unicode-aware. */
static uint8_t TRIGGER[256];
static int trigger_ready;

static void init_triggers(void)
{
    const char *chars = "-_AJ:= \t\n\r\v\f\x1c\x1d\x1e\x1f";
    for (const char *p = chars; *p; p++) TRIGGER[(uint8_t)*p] = 1;
    for (int ch = 0x80; ch < 0x100; ch++) TRIGGER[ch] = 1;
    trigger_ready = 1;
}

static inline int is_space_like(uint8_t ch)
{
    return is_ws(ch) || ch == '\v' || ch == '\f' || (ch >= 0x1C && ch <= 0x1F) || ch >= 0x80;
}

static int ci_before(const uint8_t *s, int64_t end, const char *word)
{
    int64_t k = (int64_t)strlen(word);
    return end >= k && ci_at(s, end, end - k, word);
}

/* Could a value pattern of ingest/redact.py match this decoded text? (superset test) */
static int value_may_hold_secret(const uint8_t *s, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
#ifdef __SSE2__
        /* skip 16 bytes at a time to the next byte worth a look: a rare trigger character, or
         * whitespace right after an "r" (the end of "bearer") */
        if (i >= 1) {
            while (n - i >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
                __m128i prev = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + i - 1)), _mm_set1_epi8(0x20));
                __m128i rare = _mm_or_si128(
                    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('-')), _mm_cmpeq_epi8(x, _mm_set1_epi8('_'))),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('A')), _mm_cmpeq_epi8(x, _mm_set1_epi8('J')))),
                    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')), _mm_cmpeq_epi8(x, _mm_set1_epi8('='))));
                /* whitespace-like: space, \t..\r, 0x1c..0x1f, >= 0x80 (negative as signed) */
                __m128i ws = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')), _mm_cmplt_epi8(x, _mm_set1_epi8(0))),
                    _mm_or_si128(_mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(0x08)), _mm_cmplt_epi8(x, _mm_set1_epi8(0x0E))),
                                 _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(0x1B)), _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)))));
                __m128i after_r = _mm_and_si128(ws, _mm_cmpeq_epi8(prev, _mm_set1_epi8('r')));
                int mask = _mm_movemask_epi8(_mm_or_si128(rare, after_r));
                if (mask) {
                    i += __builtin_ctz((unsigned)mask);
                    break;
                }
                i += 16;
            }
            if (i >= n) break;
        }
#endif
        uint8_t ch = s[i];
        if (!TRIGGER[ch]) continue;
        switch (ch) {
        case '-':
            if (cs_at(s, n, i, "-----BEGIN")) return 1;
            if (i >= 2 && s[i - 2] == 's' && s[i - 1] == 'k') { /* sk-: openai and anthropic */
                int64_t j = i + 1;
                while (j < n && j - (i + 1) < 20 && openai_class(s[j])) j++;
                if (j - (i + 1) >= 20) return 1;
            }
            if (i >= 4 && s[i - 4] == 'x' && s[i - 3] == 'o' && s[i - 2] == 'x') return 1;
            break;
        case '_':
            if (i >= 3 && s[i - 3] == 'g' && s[i - 2] == 'h' && strchr("pousr", s[i - 1]) && s[i - 1]) return 1;
            if (i >= 6 && memcmp(s + i - 6, "github", 6) == 0 && cs_at(s, n, i, "_pat_")) return 1;
            if (i >= 2 && s[i - 1] == 'k' && (s[i - 2] == 's' || s[i - 2] == 'r') &&
                (cs_at(s, n, i, "_live_") || cs_at(s, n, i, "_test_")))
                return 1;
            if (ci_before(s, i, "aws") && ci_at(s, n, i, "_secret_access_key")) return 1;
            break;
        case 'A':
            if (cs_at(s, n, i, "AIza") || cs_at(s, n, i, "AKIA") || cs_at(s, n, i, "ASIA")) return 1;
            break;
        case 'J':
            if (i >= 2 && s[i - 2] == 'e' && s[i - 1] == 'y') return 1;
            break;
        case ':':
            if (cs_at(s, n, i, "://") && url_password_at(s, n, i)) return 1;
            break;
        case '=': {
            int64_t j = i;
            while (j > 0 && is_space_like(s[j - 1])) j--;
            if (ci_before(s, j, "password") || ci_before(s, j, "passwd") || ci_before(s, j, "secret") ||
                ci_before(s, j, "token") || ci_before(s, j, "api_key") || ci_before(s, j, "apikey") ||
                ci_before(s, j, "access_key"))
                return 1;
            break;
        }
        default: /* whitespace-like: after "bearer"? */
            if (i >= 6 && lower(s[i - 1]) == 'r' && ci_at(s, n, i - 6, "bearer")) return 1;
            break;
        }
    }
    return 0;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return k <= n && memcmp(s + n - k, suffix, k) == 0;
}

/* Is this (ASCII, unescaped) key a secret name? Mirrors Redactor.is_secret_key. */
static int key_is_secret(const Config *cfg, const uint8_t *s, int64_t n)
{
    char norm[512];
    size_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        uint8_t ch = lower(s[i]);
        if ((ch >= 'a' && ch <= 'z') || is_digit(ch)) {
            if (k >= sizeof(norm) - 1) return 1; /* absurdly long key: let the exact path decide */
            norm[k++] = (char)ch;
        }
    }
    norm[k] = 0;
    if (k == 0) return 0;
    for (int32_t i = 0; i < cfg->n_suffix; i++)
        if (ends_with(norm, k, cfg->suffix_names[i])) return 1;
    for (int32_t i = 0; i < cfg->n_prefix; i++)
        if (strncmp(norm, cfg->prefix_names[i], strlen(cfg->prefix_names[i])) == 0) return 1;
    for (int32_t i = 0; i < cfg->n_extra; i++)
        if (strstr(norm, cfg->extra_names[i]) != NULL) return 1;
    return 0;
}

static int field_of(const Config *cfg, const uint8_t *s, int64_t n)
{
    for (int32_t f = 0; f < cfg->n_fields; f++)
        if (cfg->field_lens[f] == n && memcmp(cfg->field_names[f], s, (size_t)n) == 0) return f;
    return -1;
}

/* For the (ASCII, unescaped) payload key s[0, n): is it a secret name (when redaction is on),
 * and which payload field is it (-1: none); remembered in c->keys. */
static int key_lookup(Ctx *c, const uint8_t *s, int64_t n, int *field)
{
    const Config *cfg = c->cfg;
    if (n <= 0 || n > KEY_CACHE_LEN || c->keys == NULL) {
        *field = field_of(cfg, s, n);
        return cfg->redact && key_is_secret(cfg, s, n);
    }
    uint32_t h = 2166136261u;
    for (int64_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    for (uint32_t probe = 0; probe < 16; probe++) {
        KeyEntry *e = &c->keys[(h + probe) & (KEY_CACHE - 1)];
        if (e->len == 0) {
            int f = field_of(cfg, s, n);
            int secret = cfg->redact && key_is_secret(cfg, s, n);
            if (f < 127) {
                e->hash = h;
                e->len = (int16_t)n;
                e->field_plus1 = (int8_t)(f + 1);
                e->secret = (int8_t)secret;
                memcpy(e->key, s, (size_t)n);
            }
            *field = f;
            return secret;
        }
        if (e->hash == h && e->len == n && memcmp(e->key, s, (size_t)n) == 0) {
            *field = e->field_plus1 - 1;
            return e->secret;
        }
    }
    *field = field_of(cfg, s, n);
    return cfg->redact && key_is_secret(cfg, s, n);
}

/* ------------------------------------------------------------------ the recursive parse */

static int parse_value(Ctx *c, int depth, int in_payload, Slot *slot);

/* Parse an object at c->p. top: the payload's own object (fills c->slots). */
static int parse_object(Ctx *c, int depth, int in_payload, int top)
{
    if (depth > MAX_DEPTH) return 0;
    c->p++; /* { */
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 2; /* empty */
    }
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p != '"') return 0;
        const uint8_t *ks = c->p;
        int esc, nonascii;
        if (!scan_string(c, &esc, &nonascii)) return 0;
        const uint8_t *ke = c->p;
        int field = -1;
        if (in_payload) {
            if (esc || nonascii) return 0; /* unusual key: the exact path normalises it */
            int f;
            if (key_lookup(c, ks + 1, ke - ks - 2, &f)) return 0;
            if (top) field = f;
        }
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return 0;
        c->p++;
        skip_ws(c);
        Slot tmp;
        Slot *target = &tmp;
        if (field >= 0) {
            if (c->slots[field].type != T_NONE) return 0; /* duplicate key */
            target = &c->slots[field];
        }
        if (!parse_value(c, depth + 1, in_payload, target)) return 0;
        skip_ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return 1;
        }
        return 0;
    }
}

static int parse_array(Ctx *c, int depth, int in_payload)
{
    if (depth > MAX_DEPTH) return 0;
    c->p++; /* [ */
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return 2;
    }
    for (;;) {
        skip_ws(c);
        Slot tmp;
        if (!parse_value(c, depth + 1, in_payload, &tmp)) return 0;
        skip_ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            return 1;
        }
        return 0;
    }
}

static int parse_value(Ctx *c, int depth, int in_payload, Slot *slot)
{
    if (c->p >= c->end) return 0;
    const uint8_t *start = c->p;
    uint8_t ch = *c->p;
    int r;
    slot->esc = 0;
    slot->empty = 0;
    switch (ch) {
    case '{':
        r = parse_object(c, depth, in_payload, 0);
        if (!r) return 0;
        slot->type = T_OBJ;
        slot->empty = r == 2;
        break;
    case '[':
        r = parse_array(c, depth, in_payload);
        if (!r) return 0;
        slot->type = T_ARR;
        slot->empty = r == 2;
        break;
    case '"': {
        int esc, nonascii;
        if (!scan_string(c, &esc, &nonascii)) return 0;
        slot->type = T_STR;
        slot->esc = (uint8_t)esc;
        if (in_payload && c->cfg->redact) {
            if (esc) {
                int64_t len = decode_string(start, c->p, c->scratch);
                if (len < 0 || has_folding_char(c->scratch, len)) return 0;
                if (value_may_hold_secret(c->scratch, len)) return 0;
            } else if (value_may_hold_secret(start + 1, c->p - start - 2)) {
                return 0;
            }
        }
        break;
    }
    case 't':
        if (!lit(c, "true", 4)) return 0;
        slot->type = T_TRUE;
        break;
    case 'f':
        if (!lit(c, "false", 5)) return 0;
        slot->type = T_FALSE;
        break;
    case 'n':
        if (!lit(c, "null", 4)) return 0;
        slot->type = T_NULL;
        break;
    default: {
        int is_int;
        if (!scan_number(c, &is_int)) return 0;
        slot->type = is_int ? T_INT : T_FLOAT;
        break;
    }
    }
    slot->s = start;
    slot->e = c->p;
    return 1;
}

/* ------------------------------------------------------------------ field readers */

static int read_int64(const Slot *s, int64_t *out)
{
    const uint8_t *p = s->s, *e = s->e;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (e - p > 19) return 0; /* does not fit: the exact path decides */
    uint64_t v = 0;
    for (; p < e; p++) v = v * 10 + (uint64_t)(*p - '0');
    if (v > (uint64_t)INT64_MAX) return 0;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 1;
}

static int read_double(const Slot *s, double *out)
{
    char buf[72];
    int64_t n = s->e - s->s;
    if (n >= (int64_t)sizeof(buf)) return 0;
    memcpy(buf, s->s, (size_t)n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return 1;
}

/* The decoded text of a string slot, in the side buffer (strings of at most 12 bytes are kept
 * inline in their view and may stay in the data). Copying the short column values out of the
 * spool while the line is in cache packs them together: the Parquet writer then reads (hashes,
 * compares, compresses) each column from a few dense megabytes instead of from one string per
 * line scattered over the whole batch. Only the verbatim payload is left in place. The strings
 * copied for one line are disjoint parts of it, so the side buffer (as large as the lines)
 * cannot overflow. */
static int slot_text(Out *o, const Slot *s, Str *out)
{
    if (!s->esc) {
        int64_t len = s->e - s->s - 2;
        if (len <= 12) {
            out->s = s->s + 1;
            out->len = len;
            out->buf = 0;
            out->off = out->s - o->data;
            return 1;
        }
        uint8_t *dst = o->side + o->side_pos;
        memcpy(dst, s->s + 1, (size_t)len);
        out->s = dst;
        out->len = len;
        out->buf = 1;
        out->off = o->side_pos;
        o->side_pos += len;
        return 1;
    }
    uint8_t *dst = o->side + o->side_pos;
    int64_t len = decode_string(s->s, s->e, dst);
    if (len < 0) return 0;
    out->s = dst;
    out->len = len;
    out->buf = 1;
    out->off = o->side_pos;
    o->side_pos += len;
    return 1;
}

static Str sub(Str s, int64_t from, int64_t len)
{
    Str r = {s.s + from, len, s.buf, s.off + from};
    return r;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int num2(const uint8_t *p) { return is_digit(p[0]) && is_digit(p[1]) ? (p[0] - '0') * 10 + (p[1] - '0') : -1; }

/* ISO 8601 as ingest.normalize.timestamp_us accepts it; 0 = let the exact path decide. */
static int iso_us(Str t, int64_t *out)
{
    const uint8_t *p = t.s;
    int64_t n = t.len;
    if (n < 10 || p[4] != '-' || p[7] != '-') return 0;
    int y1 = num2(p), y2 = num2(p + 2), mo = num2(p + 5), d = num2(p + 8);
    if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1) return 0;
    int64_t year = y1 * 100 + y2;
    if (year < 1) return 0;
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (d > dim[mo - 1] + (mo == 2 && leap)) return 0;
    int64_t us = days_from_civil(year, mo, d) * 86400LL * 1000000LL;
    if (n == 10) {
        *out = us;
        return 1;
    }
    /* date + [T ] + HH:MM:SS[.f{1,6}] [Z | +HH:MM | +HHMM] */
    if (n < 19 || (p[10] != 'T' && p[10] != ' ') || p[13] != ':' || p[16] != ':') return 0;
    int hh = num2(p + 11), mi = num2(p + 14), ss = num2(p + 17);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59) return 0;
    us += ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000LL;
    int64_t i = 19;
    if (i < n && p[i] == '.') {
        i++;
        int64_t frac = 0, digits = 0;
        while (i < n && is_digit(p[i]) && digits < 7) {
            frac = frac * 10 + (p[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 6) return 0;
        while (digits < 6) {
            frac *= 10;
            digits++;
        }
        us += frac;
    }
    if (i == n) {
        *out = us;
        return 1;
    }
    if (p[i] == 'Z' && i + 1 == n) {
        *out = us;
        return 1;
    }
    if (p[i] != '+' && p[i] != '-') return 0;
    int sign = p[i] == '-' ? -1 : 1;
    int oh, om;
    if (n - i == 6 && p[i + 3] == ':') {
        oh = num2(p + i + 1);
        om = num2(p + i + 4);
    } else if (n - i == 5) {
        oh = num2(p + i + 1);
        om = num2(p + i + 3);
    } else {
        return 0;
    }
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return 0;
    us -= sign * ((int64_t)oh * 3600 + om * 60) * 1000000LL;
    *out = us;
    return 1;
}

/* ------------------------------------------------------------------ one line */

enum { E_V, E_EVENT_ID, E_CAPTURED_NS, E_SOURCE, E_HOST, E_PAYLOAD, E_RAW_B64, E_DEFECT, N_ENV };
static const char *const ENV_NAMES[N_ENV] = {"v", "event_id", "captured_ns", "source", "host", "payload", "raw_b64", "defect"};
static const int64_t ENV_LENS[N_ENV] = {1, 8, 11, 6, 4, 7, 7, 6};

static int kind_ok(const Slot *s, int kind)
{
    if (s->type == T_NONE || s->type == T_NULL) return 1;
    switch (kind) {
    case K_STRING: return s->type == T_STR;
    case K_NUMBER: return s->type == T_INT || s->type == T_FLOAT;
    case K_INTEGER: return s->type == T_INT;
    case K_BOOLEAN: return s->type == T_TRUE || s->type == T_FALSE;
    default: return 0;
    }
}

/* as_text(): a string as it is, nothing for null/absent; anything else -> exact path */
static int opt_text(Out *o, int col, int64_t row, const Slot *s)
{
    if (s->type == T_NONE || s->type == T_NULL) return 1;
    if (s->type != T_STR) return 0;
    Str t;
    if (!slot_text(o, s, &t)) return 0;
    put_str(o, col, row, t);
    return 1;
}

/* text(): a string, else null */
static int str_only(Out *o, int col, int64_t row, const Slot *s, Str *keep)
{
    if (s->type != T_STR) return 1;
    Str t;
    if (!slot_text(o, s, &t)) return 0;
    put_str(o, col, row, t);
    if (keep) *keep = t;
    return 1;
}

static int number_col(Out *o, double *col_values, int vcol, int64_t row, const Slot *s)
{
    if (s->type != T_INT && s->type != T_FLOAT) return 1;
    double v;
    if (!read_double(s, &v)) return 0;
    col_values[row] = v;
    o->valid[(int64_t)(N_STR + N_INT + vcol) * o->n_rows + row] = 1;
    return 1;
}

static int int_col(Out *o, int64_t *col_values, int vcol, int64_t row, int64_t v)
{
    col_values[row] = v;
    o->valid[(int64_t)(N_STR + vcol) * o->n_rows + row] = 1;
    return 1;
}

static int sdk_status(const Config *cfg, Out *o, int64_t row, Ctx *c)
{
    const Slot *err = &c->slots[F_ERROR], *st = &c->slots[F_STATUS], *ec = &c->slots[F_EXIT_CODE],
               *ok = &c->slots[F_SUCCESS];
    int no_error = err->type == T_NONE || err->type == T_NULL || err->type == T_FALSE ||
                   (err->type == T_STR && err->e - err->s == 2) || ((err->type == T_OBJ || err->type == T_ARR) && err->empty);
    if (!no_error) {
        put_const(o, S_STATUS, row, "error");
        return 1;
    }
    if (st->type == T_INT || st->type == T_FLOAT) {
        double v;
        if (!read_double(st, &v)) return 0;
        put_const(o, S_STATUS, row, v >= 400 ? "error" : "ok");
        return 1;
    }
    if (st->type == T_STR) {
        Str t;
        int64_t mark = o->side_pos;
        if (!slot_text(o, st, &t)) return 0;
        int64_t a = 0, b = t.len;
        while (a < b && (t.s[a] == ' ' || t.s[a] == '\t' || t.s[a] == '\n' || t.s[a] == '\r')) a++;
        while (b > a && (t.s[b - 1] == ' ' || t.s[b - 1] == '\t' || t.s[b - 1] == '\n' || t.s[b - 1] == '\r')) b--;
        if (b > a) {
            for (int64_t i = a; i < b; i++)
                if (t.s[i] >= 0x80) return 0; /* Unicode lower-casing: exact path */
            for (int32_t w = 0; w < cfg->n_status; w++) {
                const char *word = cfg->status_words[w];
                size_t wl = strlen(word);
                if ((int64_t)wl == b - a && ci_at(t.s, b, a, word)) {
                    o->side_pos = mark;
                    put_const(o, S_STATUS, row, cfg->status_values[w]);
                    return 1;
                }
            }
            /* the word itself, lower-cased, in the side buffer */
            o->side_pos = mark;
            uint8_t *dst = o->side + o->side_pos;
            for (int64_t i = a; i < b; i++) dst[i - a] = lower(t.s[i]);
            put_view(o, S_STATUS, row, dst, b - a, 1, o->side_pos);
            o->side_pos += b - a;
            return 1;
        }
        o->side_pos = mark;
    }
    if (ec->type == T_INT) {
        int zero = 1;
        for (const uint8_t *p = ec->s; p < ec->e; p++)
            if (*p != '0' && *p != '-') zero = 0;
        put_const(o, S_STATUS, row, zero ? "ok" : "error");
        return 1;
    }
    if (ok->type == T_TRUE) {
        put_const(o, S_STATUS, row, "ok");
        return 1;
    }
    if (ok->type == T_FALSE) {
        put_const(o, S_STATUS, row, "error");
        return 1;
    }
    return 1;
}

static int event_us_of(const Slot *ts, int64_t captured_us, int64_t *out)
{
    *out = captured_us;
    if (ts->type == T_INT) {
        int64_t v;
        if (!read_int64(ts, &v)) return 0;
        if (v < 0) return 1;
        int64_t m = v, r;
        if (m >= 100000000000000000LL) r = v / 1000;
        else if (m >= 100000000000000LL) r = v;
        else if (m >= 100000000000LL) r = v * 1000;
        else r = v * 1000000LL;
        if (r >= 0 && r <= MAX_EVENT_US) *out = r;
        return 1;
    }
    if (ts->type == T_FLOAT) {
        double v, r;
        if (!read_double(ts, &v)) return 0;
        if (!isfinite(v)) return 1;
        double m = fabs(v);
        if (m >= 1e17) r = floor(v / 1000);
        else if (m >= 1e14) r = floor(v);
        else if (m >= 1e11) r = floor(v * 1000);
        else r = floor(v * 1e6);
        if (r < 0) return 1;
        if (r > 2.5e17) return 0; /* near the upper bound: exact integer comparison in Python */
        *out = (int64_t)r;
        return 1;
    }
    return 1;
}

/* returns 1 when the row was filled, 0 when the line takes the exact path */
static int do_line(Ctx *c, Out *o, int64_t row, int64_t *ints, double *dbls, int32_t *kind_index)
{
    const Config *cfg = c->cfg;
    Slot env[N_ENV];
    memset(env, 0, sizeof(env));
    memset(c->slots, 0, sizeof(Slot) * (size_t)cfg->n_fields);
    skip_ws(c);
    if (c->p >= c->end || *c->p != '{') return 0;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') return 0;
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p != '"') return 0;
        const uint8_t *ks = c->p;
        int esc, nonascii;
        if (!scan_string(c, &esc, &nonascii)) return 0;
        if (esc) return 0;
        int64_t kl = c->p - ks - 2;
        int which = -1;
        for (int k = 0; k < N_ENV; k++)
            if (ENV_LENS[k] == kl && memcmp(ENV_NAMES[k], ks + 1, (size_t)kl) == 0) which = k;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return 0;
        c->p++;
        skip_ws(c);
        Slot tmp, *target = &tmp;
        if (which >= 0) {
            if (env[which].type != T_NONE) return 0;
            target = &env[which];
        }
        if (which == E_PAYLOAD && c->p < c->end && *c->p == '{') {
            const uint8_t *s = c->p;
            int r = parse_object(c, 1, 1, 1);
            if (!r) return 0;
            target->type = T_OBJ;
            target->empty = r == 2;
            target->s = s;
            target->e = c->p;
        } else if (!parse_value(c, 1, 0, target)) {
            return 0;
        }
        skip_ws(c);
        if (c->p >= c->end) return 0;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            break;
        }
        return 0;
    }
    skip_ws(c);
    if (c->p != c->end) return 0;

    /* envelope: schema.Envelope in strict mode, as parse_envelope checks it */
    if (env[E_V].type != T_INT || env[E_V].e - env[E_V].s != 1 || env[E_V].s[0] != '1') return 0;
    if (env[E_EVENT_ID].type != T_STR || env[E_EVENT_ID].e - env[E_EVENT_ID].s <= 2) return 0;
    if (env[E_CAPTURED_NS].type != T_INT || env[E_CAPTURED_NS].s[0] == '-') return 0;
    if (env[E_SOURCE].type != T_STR || env[E_HOST].type != T_STR) return 0;
    if (env[E_PAYLOAD].type != T_OBJ) return 0;
    if (!(env[E_RAW_B64].type == T_NONE || env[E_RAW_B64].type == T_NULL)) return 0;
    if (!(env[E_DEFECT].type == T_NONE || env[E_DEFECT].type == T_NULL)) return 0;
    int64_t captured_ns;
    if (!read_int64(&env[E_CAPTURED_NS], &captured_ns)) return 0;

    /* event name -> category and the pydantic checks of its model */
    const Slot *name = &c->slots[F_HOOK_EVENT_NAME];
    int32_t ev = -1;
    Str name_text;
    if (name->type == T_STR) {
        if (!slot_text(o, name, &name_text)) return 0;
        for (int32_t i = 0; i < cfg->n_events; i++) {
            if (cfg->event_lens[i] == name_text.len && memcmp(cfg->event_names[i], name_text.s, (size_t)name_text.len) == 0) {
                ev = i;
                break;
            }
        }
        put_str(o, S_EVENT_NAME, row, name_text);
    } else if (name->type != T_NONE && name->type != T_NULL) {
        return 0;
    }
    *kind_index = ev;
    const int8_t *declared = cfg->checks + (int64_t)(ev + 1) * cfg->n_fields;
    for (int32_t f = 0; f < cfg->n_fields; f++) {
        if (declared[f] && !kind_ok(&c->slots[f], declared[f])) return 0;
    }
    int cat = ev >= 0 ? cfg->event_cats[ev] : C_PLAIN;

    /* envelope columns */
    Str t;
    if (!slot_text(o, &env[E_EVENT_ID], &t)) return 0;
    put_str(o, S_EVENT_ID, row, t);
    if (!slot_text(o, &env[E_SOURCE], &t)) return 0;
    put_str(o, S_SOURCE, row, t);
    if (!slot_text(o, &env[E_HOST], &t)) return 0;
    put_str(o, S_HOST, row, t);
    int64_t captured_us = captured_ns / 1000;
    int_col(o, ints + I_CAPTURED_US * o->n_rows, I_CAPTURED_US, row, captured_us);
    int64_t event_us;
    const Slot *ts = &c->slots[F_TIMESTAMP];
    if (ts->type == T_STR) {
        Str tt;
        int64_t mark = o->side_pos;
        if (!slot_text(o, ts, &tt)) return 0;
        int64_t us;
        if (!iso_us(tt, &us)) return 0;
        o->side_pos = mark;
        event_us = (us >= 0 && us <= MAX_EVENT_US) ? us : captured_us;
    } else if (!event_us_of(ts, captured_us, &event_us)) {
        return 0;
    }
    int_col(o, ints + I_EVENT_US * o->n_rows, I_EVENT_US, row, event_us);

    /* payload text fields */
    Slot *s = c->slots;
    if (!str_only(o, S_SESSION_ID, row, &s[F_SESSION_ID], NULL)) return 0;
    if (!str_only(o, S_PROMPT_ID, row, &s[F_PROMPT_ID], NULL)) return 0;
    if (!opt_text(o, S_CORRELATION_ID, row, &s[F_CORRELATION_ID])) return 0;
    if (!opt_text(o, S_ROOT_ID, row, &s[F_ROOT_ID])) return 0;
    if (!opt_text(o, S_PARENT_ID, row, &s[F_PARENT_ID])) return 0;
    if (!opt_text(o, S_EXECUTION_ID, row, &s[F_EXECUTION_ID])) return 0;
    if (!str_only(o, S_AGENT_ID, row, &s[F_AGENT_ID], NULL)) return 0;
    if (!str_only(o, S_AGENT_TYPE, row, &s[F_AGENT_TYPE], NULL)) return 0;
    Str tool = {NULL, -1, 0, 0};
    if (!str_only(o, S_TOOL_NAME, row, &s[F_TOOL_NAME], &tool)) return 0;
    if (!str_only(o, S_TOOL_USE_ID, row, &s[F_TOOL_USE_ID], NULL)) return 0;
    int mcp = 0;
    if (tool.len > 5 && memcmp(tool.s, "mcp__", 5) == 0) {
        int64_t rest = 5, sep = -1;
        for (int64_t i = rest; i + 1 < tool.len; i++)
            if (tool.s[i] == '_' && tool.s[i + 1] == '_') {
                sep = i;
                break;
            }
        if (sep > rest && sep + 2 < tool.len) {
            put_str(o, S_MCP_SERVER, row, sub(tool, rest, sep - rest));
            put_str(o, S_MCP_TOOL, row, sub(tool, sep + 2, tool.len - sep - 2));
            mcp = 1;
        }
    }
    if (!mcp) {
        if (!opt_text(o, S_MCP_SERVER, row, &s[F_SERVICE])) return 0;
        if (!opt_text(o, S_MCP_TOOL, row, &s[F_ENDPOINT])) return 0;
    }
    if (!number_col(o, dbls + D_DURATION_MS * o->n_rows, D_DURATION_MS, row, &s[F_DURATION_MS])) return 0;
    switch (cat) {
    case C_OK: put_const(o, S_STATUS, row, "ok"); break;
    case C_TOOL_FAILURE: put_const(o, S_STATUS, row, s[F_IS_INTERRUPT].type == T_TRUE ? "interrupted" : "error"); break;
    case C_STOP_FAILURE: put_const(o, S_STATUS, row, "error"); break;
    case C_SDK:
        if (!sdk_status(cfg, o, row, c)) return 0;
        break;
    default: break;
    }
    if (!opt_text(o, S_ERROR, row, &s[F_ERROR])) return 0; /* an object error: exact path */
    if (cat == C_PROMPT && !str_only(o, S_PROMPT_TEXT, row, &s[F_PROMPT], NULL)) return 0;
    if (!str_only(o, S_CWD, row, &s[F_CWD], NULL)) return 0;
    if (!str_only(o, S_TRANSCRIPT_PATH, row, &s[F_TRANSCRIPT_PATH], NULL)) return 0;
    if (!str_only(o, S_PERMISSION_MODE, row, &s[F_PERMISSION_MODE], NULL)) return 0;
    if (!opt_text(o, S_MODEL, row, &s[F_MODEL])) return 0;
    if (s[F_USAGE].type == T_OBJ) return 0; /* usage.*_tokens: exact path */
    int64_t tok;
    if (s[F_INPUT_TOKENS].type == T_INT) {
        if (!read_int64(&s[F_INPUT_TOKENS], &tok)) return 0;
        int_col(o, ints + I_INPUT_TOKENS * o->n_rows, I_INPUT_TOKENS, row, tok);
    }
    if (s[F_OUTPUT_TOKENS].type == T_INT) {
        if (!read_int64(&s[F_OUTPUT_TOKENS], &tok)) return 0;
        int_col(o, ints + I_OUTPUT_TOKENS * o->n_rows, I_OUTPUT_TOKENS, row, tok);
    }
    if (!number_col(o, dbls + D_COST_USD * o->n_rows, D_COST_USD, row, &s[F_COST_USD])) return 0;
    /* the payload, verbatim */
    const Slot *pl = &env[E_PAYLOAD];
    put_view(o, S_PAYLOAD, row, pl->s, pl->e - pl->s, 0, pl->s - o->data);
    return 1;
}

/* Scan lines [first, last) of data (offsets[i]..offsets[i+1], each ending with '\n').
 * Output rows are line indexes; flags[i] = 1 for lines that take the exact path; id_hash[i] is
 * the duplicate key of the event id of every other line.
 * side[side_start, side_start + side_cap) is this call's part of the decoded-string buffer.
 * Returns the side bytes used. */
static uint64_t md5_prefix(const uint8_t *s, int64_t n);

int64_t hl_scan(const Config *cfg, const uint8_t *data, const int64_t *offsets, int64_t first, int64_t last,
                int64_t n_rows, uint8_t *views, uint8_t *valid, int64_t *ints, double *dbls, int32_t *kinds,
                uint8_t *flags, uint8_t *side, int64_t side_start, int64_t side_cap, uint8_t *scratch,
                uint64_t *id_hash)
{
    Ctx c;
    Out o;
    if (!trigger_ready) init_triggers();
    c.cfg = cfg;
    c.scratch = scratch;
    c.keys = (KeyEntry *)calloc(KEY_CACHE, sizeof(KeyEntry));
    o.data = data;
    o.side = side;
    o.side_pos = side_start;
    o.side_cap = side_start + side_cap;
    o.views = views;
    o.valid = valid;
    o.n_rows = n_rows;
    for (int64_t i = first; i < last; i++) {
        const uint8_t *s = data + offsets[i], *e = data + offsets[i + 1];
        if (e > s && e[-1] == '\n') e--;
        c.p = s;
        c.end = e;
        int64_t mark = o.side_pos;
        kinds[i] = -1;
        if (!do_line(&c, &o, i, ints, dbls, &kinds[i])) {
            flags[i] = 1;
            o.side_pos = mark;
            for (int k = 0; k < N_VALID; k++) valid[(int64_t)k * n_rows + i] = 0;
        } else {
            /* the duplicate key of the event id (see hl_md5_views), while the line is in cache */
            const uint8_t *v = views + ((int64_t)S_EVENT_ID * n_rows + i) * 16;
            int32_t len, buf, off;
            memcpy(&len, v, 4);
            if (len <= 12) {
                id_hash[i] = md5_prefix(v + 4, len > 0 ? len : 0);
            } else {
                memcpy(&buf, v + 8, 4);
                memcpy(&off, v + 12, 4);
                id_hash[i] = md5_prefix((buf == 0 ? data : side) + off, len);
            }
        }
    }
    free(c.keys);
    return o.side_pos - side_start;
}

int32_t hl_abi(void)
{
    init_triggers();
    for (int k = 0; k < N_ENV; k++)
        if ((int64_t)strlen(ENV_NAMES[k]) != ENV_LENS[k]) return -1;
    return 1000 * N_STR + 10 * N_INT + N_DBL;
}

/* Line ends of data[0, n): offsets[0] = 0, offsets[k] = one past the k-th newline.
 * Returns the number of complete lines (at most cap). */
int64_t hl_lines(const uint8_t *data, int64_t n, int64_t *offsets, int64_t cap)
{
    int64_t count = 0, pos = 0;
    offsets[0] = 0;
    while (pos < n && count < cap) {
        const uint8_t *nl = memchr(data + pos, '\n', (size_t)(n - pos));
        if (nl == NULL) break;
        pos = nl - data + 1;
        offsets[++count] = pos;
    }
    return count;
}

/* Arrow string_view entries -> the bytes of a plain string column: row i is copied to
 * out + offsets[i] (offsets computed by the caller from the view lengths). */
void hl_gather(const uint8_t *views, int64_t n, const uint8_t *const *buffers, const int64_t *offsets, uint8_t *out)
{
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *v = views + i * 16;
        int32_t len;
        memcpy(&len, v, 4);
        if (len <= 0) continue;
        if (len <= 12) {
            memcpy(out + offsets[i], v + 4, (size_t)len);
        } else {
            int32_t buf, off;
            memcpy(&buf, v + 8, 4);
            memcpy(&off, v + 12, 4);
            memcpy(out + offsets[i], buffers[buf] + off, (size_t)len);
        }
    }
}

/* ------------------------------------------------------------------ duplicate keys */

static const uint32_t MD5_K[64] = {
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu, 0x4787c62au, 0xa8304613u, 0xfd469501u,
    0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u, 0xa679438eu, 0x49b40821u,
    0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau, 0xd62f105du, 0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u,
    0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu, 0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au,
    0xfffa3942u, 0x8771f681u, 0x6d9d6122u, 0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u,
    0x289b7ec6u, 0xeaa127fau, 0xd4ef3085u, 0x04881d05u, 0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u,
    0xf4292244u, 0x432aff97u, 0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u, 0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu, 0xeb86d391u,
};
static const uint8_t MD5_R[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_block(uint32_t h[4], const uint8_t *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) & 15; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) & 15; }
        else { f = c ^ (b | ~d); g = (7 * i) & 15; }
        uint32_t t = d, x = a + f + MD5_K[i] + w[g];
        d = c;
        c = b;
        b = b + ((x << MD5_R[i]) | (x >> (32 - MD5_R[i])));
        a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
}

static inline uint32_t bswap32(uint32_t x)
{
    return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}

/* The first 8 bytes of MD5(s[0, n)) read big-endian. */
static uint64_t md5_prefix(const uint8_t *s, int64_t n)
{
    uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) md5_block(h, s + i);
    uint8_t tail[128];
    int64_t rest = n - i;
    memcpy(tail, s + i, (size_t)rest);
    tail[rest] = 0x80;
    int64_t size = rest + 1 + 8 <= 64 ? 64 : 128;
    memset(tail + rest + 1, 0, (size_t)(size - rest - 1));
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) tail[size - 8 + k] = (uint8_t)(bits >> (8 * k));
    md5_block(h, tail);
    if (size == 128) md5_block(h, tail + 64);
    return ((uint64_t)bswap32(h[0]) << 32) | bswap32(h[1]);
}

/* Per Arrow string_view entry (rows [first, last) of views): out[i] = the first 8 bytes of the
 * string's MD5 read big-endian, which is DuckDB's CAST('0x' || md5(s)[1:16] AS UBIGINT), the
 * duplicate key that both ingest paths keep in the history. */
void hl_md5_views(const uint8_t *views, int64_t first, int64_t last, const uint8_t *const *buffers, uint64_t *out)
{
    for (int64_t i = first; i < last; i++) {
        const uint8_t *v = views + i * 16;
        int32_t len;
        memcpy(&len, v, 4);
        if (len <= 12) {
            out[i] = md5_prefix(v + 4, len > 0 ? len : 0);
        } else {
            int32_t buf, off;
            memcpy(&buf, v + 8, 4);
            memcpy(&off, v + 12, 4);
            out[i] = md5_prefix(buffers[buf] + off, len);
        }
    }
}

/* Number of newlines in data[0, n). */
int64_t hl_count_lines(const uint8_t *data, int64_t n)
{
    int64_t count = 0, pos = 0;
    while (pos < n) {
        const uint8_t *nl = memchr(data + pos, '\n', (size_t)(n - pos));
        if (nl == NULL) break;
        pos = nl - data + 1;
        count++;
    }
    return count;
}

/* ------------------------------------------------------------------ key sets */

static inline uint64_t key_slot(uint64_t k, int bits) { return (k * 0x9E3779B97F4A7C15ull) >> (64 - bits); }

static int table_bits(int64_t n)
{
    int bits = 4;
    while (((int64_t)1 << bits) < 2 * n + 1) bits++;
    return bits;
}

/* out[i] = 1 when keys[i] is one of set[0, n_set). Returns 0, or -1 when out of memory. */
int32_t hl_in_set(const uint64_t *set, int64_t n_set, const uint64_t *keys, int64_t n_keys, uint8_t *out)
{
    int bits = table_bits(n_set);
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    uint64_t *slots = (uint64_t *)malloc(sizeof(uint64_t) << bits);
    uint8_t *used = (uint8_t *)calloc((size_t)1 << bits, 1);
    if (slots == NULL || used == NULL) {
        free(slots);
        free(used);
        return -1;
    }
    for (int64_t i = 0; i < n_set; i++) {
        uint64_t j = key_slot(set[i], bits);
        while (used[j] && slots[j] != set[i]) j = (j + 1) & mask;
        used[j] = 1;
        slots[j] = set[i];
    }
    for (int64_t i = 0; i < n_keys; i++) {
        uint64_t j = key_slot(keys[i], bits);
        uint8_t hit = 0;
        while (used[j]) {
            if (slots[j] == keys[i]) {
                hit = 1;
                break;
            }
            j = (j + 1) & mask;
        }
        out[i] = hit;
    }
    free(slots);
    free(used);
    return 0;
}

/* out[i] = 1 when keys[i] occurs more than once in keys[0, n). Returns 0, or -1 when out of memory. */
int32_t hl_repeated(const uint64_t *keys, int64_t n, uint8_t *out)
{
    int bits = table_bits(n);
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    int64_t *first = (int64_t *)malloc(sizeof(int64_t) << bits);
    if (first == NULL) return -1;
    memset(first, 0xff, sizeof(int64_t) << bits); /* -1: empty */
    for (int64_t i = 0; i < n; i++) {
        uint64_t j = key_slot(keys[i], bits);
        out[i] = 0;
        while (first[j] >= 0 && keys[first[j]] != keys[i]) j = (j + 1) & mask;
        if (first[j] < 0) {
            first[j] = i;
        } else {
            out[first[j]] = 1;
            out[i] = 1;
        }
    }
    free(first);
    return 0;
}

/* ------------------------------------------------------------------ string groups */

static inline uint64_t view_hash(const uint8_t *s, int32_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)len;
    int32_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, s + i, (size_t)(len - i));
        h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    }
    return h ^ (h >> 29);
}

static inline const uint8_t *view_bytes(const uint8_t *v, const uint8_t *const *buffers, int32_t *len)
{
    memcpy(len, v, 4);
    if (*len <= 12) return v + 4;
    int32_t buf, off;
    memcpy(&buf, v + 8, 4);
    memcpy(&off, v + 12, 4);
    return buffers[buf] + off;
}

/* Arrow string_view entries rows [0, n) of views -> group numbers in order of first appearance
 * (what Arrow's dictionary_encode gives as indices): out[i] = the group of row i, -1 where
 * valid[i] is 0; first[g] = the first row of group g. Returns the number of groups, or -1 when
 * out of memory. */
int64_t hl_group_views(const uint8_t *views, const uint8_t *valid, int64_t n, const uint8_t *const *buffers,
                       int64_t *out, int64_t *first)
{
    int bits = table_bits(n);
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    int64_t *slots = (int64_t *)malloc(sizeof(int64_t) << bits);
    if (slots == NULL) return -1;
    memset(slots, 0xff, sizeof(int64_t) << bits); /* -1: empty; else a group number */
    int64_t groups = 0, prev_group = -1;
    int32_t prev_len = -1;
    const uint8_t *prev = NULL;
    for (int64_t i = 0; i < n; i++) {
        if (!valid[i]) {
            out[i] = -1;
            continue;
        }
        int32_t len;
        const uint8_t *s = view_bytes(views + i * 16, buffers, &len);
        if (len == prev_len && memcmp(s, prev, (size_t)len) == 0) { /* runs of one session: no lookup */
            out[i] = prev_group;
            continue;
        }
        prev = s;
        prev_len = len;
        uint64_t j = view_hash(s, len) & mask;
        for (;;) {
            int64_t g = slots[j];
            if (g < 0) {
                slots[j] = groups;
                first[groups] = i;
                out[i] = prev_group = groups++;
                break;
            }
            int32_t glen;
            const uint8_t *gs = view_bytes(views + first[g] * 16, buffers, &glen);
            if (glen == len && memcmp(gs, s, (size_t)len) == 0) {
                out[i] = prev_group = g;
                break;
            }
            j = (j + 1) & mask;
        }
    }
    free(slots);
    return groups;
}
