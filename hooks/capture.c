/*
 * hooklake capture hook: the command Claude Code runs for every hook event.
 *
 * It reads the whole hook payload from stdin, wraps it in the spool envelope
 * (hooks/envelope.py) and appends it as ONE line with ONE write() to an O_APPEND
 * spool file <home>/spool/<YYYYMMDDHH UTC>.<host>.jsonl, then exits 0.
 *
 * Rules it keeps, because Claude Code waits for it on every tool call:
 *   - libc only, no allocation beyond the stdin buffer and the output line;
 *   - never prints anything (stdout of some hooks is injected into the model context);
 *   - always exits 0: its own failures go to <home>/logs/capture-errors.log;
 *   - a payload that is not a UTF-8 JSON object is kept as base64 with a "defect"
 *     so ingest can quarantine it with its exact bytes;
 *   - HOOKLAKE_DISABLED=1 or the file <home>/capture-off turns it off.
 *
 * hooks/spool.py implements the same behaviour in Python (the fallback when no C
 * compiler exists); tests check that both write byte-identical lines.
 *
 * Usage: hooklake-capture [--home DIR] [--source NAME]
 */
#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__) || defined(__APPLE__)
#include <sys/random.h>
#define HL_HAVE_GETENTROPY 1
#endif

/* Must match hooks/envelope.py and hooklake/paths.py (a test compares them). */
#define HL_FORMAT_VERSION "1"
#define HL_FIELD_VERSION "v"
#define HL_FIELD_EVENT_ID "event_id"
#define HL_FIELD_CAPTURED_NS "captured_ns"
#define HL_FIELD_SOURCE "source"
#define HL_FIELD_HOST "host"
#define HL_FIELD_PAYLOAD "payload"
#define HL_FIELD_RAW_B64 "raw_b64"
#define HL_FIELD_DEFECT "defect"
#define HL_DEFECT_INVALID_JSON "invalid_json"
#define HL_DEFECT_INVALID_UTF8 "invalid_utf8"
#define HL_DEFECT_NOT_OBJECT "not_object"
#define HL_DEFECT_EMPTY "empty"
#define HL_SOURCE_DEFAULT "claude_code"
#define HL_SPOOL_SUFFIX ".jsonl"
#define HL_SPOOL_DIR "spool"
#define HL_ERRORS_FILE "logs/capture-errors.log"
#define HL_KILL_SWITCH_FILE "capture-off"
#define HL_HOME_ENV "HOOKLAKE_HOME"
#define HL_KILL_SWITCH_ENV "HOOKLAKE_DISABLED"
#define HL_MAX_DEPTH 512

#define HL_PATH_MAX 4096
#define HL_NAME_MAX 128

static char g_home[HL_PATH_MAX];

/* ------------------------------------------------------------------ helpers */

static int join(char *out, size_t cap, const char *a, const char *b)
{
    int n = snprintf(out, cap, "%s/%s", a, b);
    return n > 0 && (size_t)n < cap;
}

static void utc_iso(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000));
}

static int mkdir_p(const char *path)
{
    char tmp[HL_PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Append one line to the capture error log; nothing else can be done if this fails. */
static void log_error(const char *what, const char *detail, int err)
{
    char path[HL_PATH_MAX], dir[HL_PATH_MAX], stamp[96], line[2 * HL_PATH_MAX];
    if (g_home[0] == '\0' || !join(path, sizeof path, g_home, HL_ERRORS_FILE))
        return;
    utc_iso(stamp, sizeof stamp);
    int n = snprintf(line, sizeof line, "%s\tcapture[native]\t%s%s%s%s%s\n", stamp, what,
                     detail ? " " : "", detail ? detail : "", err ? ": " : "", err ? strerror(err) : "");
    if (n <= 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    for (int i = 0; i < n - 1; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && join(dir, sizeof dir, g_home, "logs") && mkdir_p(dir) == 0)
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

static int env_disabled(void)
{
    const char *v = getenv(HL_KILL_SWITCH_ENV);
    if (v == NULL || v[0] == '\0')
        return 0;
    static const char *off[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        if (strcasecmp(v, off[i]) == 0)
            return 0;
    return 1;
}

/* Keep names usable in a file name and in JSON without escaping: [A-Za-z0-9._-], else '_'. */
static void sanitize_name(char *out, size_t cap, const char *in, const char *fallback)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        out[j++] = ok ? (char)c : '_';
    }
    out[j] = '\0';
    if (j == 0)
        snprintf(out, cap, "%s", fallback);
}

/* $HOOKLAKE_HOME, else the platform's user data dir (what platformdirs gives). */
static int resolve_home(const char *arg)
{
    const char *h = arg;
    if (h == NULL || h[0] == '\0') {
        h = getenv(HL_HOME_ENV);
    }
    const char *user_home = getenv("HOME");
    if (h != NULL && h[0] != '\0') {
        if (h[0] == '~' && (h[1] == '/' || h[1] == '\0') && user_home && user_home[0]) {
            int n = snprintf(g_home, sizeof g_home, "%s%s", user_home, h + 1);
            return n > 0 && (size_t)n < sizeof g_home;
        }
        int n = snprintf(g_home, sizeof g_home, "%s", h);
        return n > 0 && (size_t)n < sizeof g_home;
    }
#if defined(__APPLE__)
    if (user_home && user_home[0]) {
        int n = snprintf(g_home, sizeof g_home, "%s/Library/Application Support/hooklake", user_home);
        return n > 0 && (size_t)n < sizeof g_home;
    }
    return 0;
#else
    const char *xdg = getenv("XDG_DATA_HOME");
    int blank = 1;
    for (const char *p = xdg; p && *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\f' && *p != '\v')
            blank = 0;
    int n;
    if (!blank)
        n = snprintf(g_home, sizeof g_home, "%s/hooklake", xdg);
    else if (user_home && user_home[0])
        n = snprintf(g_home, sizeof g_home, "%s/.local/share/hooklake", user_home);
    else
        return 0;
    return n > 0 && (size_t)n < sizeof g_home;
#endif
}

/* ---------------------------------------------------------------- validation */

/* Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) - what Python's decoder accepts. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0) {
            need = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
            need = 2;
        else if (c == 0xED) {
            need = 2;
            hi = 0x9F;
        } else if (c == 0xF0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3)
            need = 3;
        else if (c == 0xF4) {
            need = 3;
            hi = 0x8F;
        } else
            return 0;
        if (n - i <= need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += need + 1;
    }
    return 1;
}

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int scan_string(const unsigned char *s, size_t n, size_t *pi)
{
    size_t i = *pi + 1; /* past the opening quote */
    while (i < n) {
        unsigned char c = s[i];
        if (c == '"') {
            *pi = i + 1;
            return 1;
        }
        if (c == '\\') {
            if (i + 1 >= n)
                return 0;
            unsigned char e = s[i + 1];
            if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                i += 2;
            } else if (e == 'u') {
                if (n - i < 6 || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) || !is_hex(s[i + 4]) || !is_hex(s[i + 5]))
                    return 0;
                i += 6;
            } else {
                return 0;
            }
            continue;
        }
        if (c < 0x20)
            return 0;
        i++;
    }
    return 0;
}

static int scan_number(const unsigned char *s, size_t n, size_t *pi)
{
    size_t i = *pi;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && is_digit(s[i]))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return 0;
        while (i < n && is_digit(s[i]))
            i++;
    }
    *pi = i;
    return 1;
}

static int scan_literal(const unsigned char *s, size_t n, size_t *pi, const char *word)
{
    size_t len = strlen(word);
    if (n - *pi < len || memcmp(s + *pi, word, len) != 0)
        return 0;
    *pi += len;
    return 1;
}

/*
 * RFC 8259 JSON grammar check, iterative, nesting limited to HL_MAX_DEPTH containers.
 * Returns 1 for one valid JSON value (surrounded by optional whitespace), else 0.
 * Assumes the bytes are valid UTF-8 (checked before).
 */
static int json_valid(const unsigned char *s, size_t n, int *top_is_object)
{
    char stack[HL_MAX_DEPTH];
    int depth = 0;
    size_t i = 0;
    while (i < n && is_ws(s[i]))
        i++;
    *top_is_object = i < n && s[i] == '{';

value:
    while (i < n && is_ws(s[i]))
        i++;
    if (i >= n)
        return 0;
    switch (s[i]) {
    case '{':
        if (depth >= HL_MAX_DEPTH)
            return 0;
        stack[depth++] = '{';
        i++;
        while (i < n && is_ws(s[i]))
            i++;
        if (i < n && s[i] == '}') {
            i++;
            depth--;
            goto after;
        }
        goto key;
    case '[':
        if (depth >= HL_MAX_DEPTH)
            return 0;
        stack[depth++] = '[';
        i++;
        while (i < n && is_ws(s[i]))
            i++;
        if (i < n && s[i] == ']') {
            i++;
            depth--;
            goto after;
        }
        goto value;
    case '"':
        if (!scan_string(s, n, &i))
            return 0;
        goto after;
    case 't':
        if (!scan_literal(s, n, &i, "true"))
            return 0;
        goto after;
    case 'f':
        if (!scan_literal(s, n, &i, "false"))
            return 0;
        goto after;
    case 'n':
        if (!scan_literal(s, n, &i, "null"))
            return 0;
        goto after;
    default:
        if (!scan_number(s, n, &i))
            return 0;
        goto after;
    }

key:
    while (i < n && is_ws(s[i]))
        i++;
    if (i >= n || s[i] != '"' || !scan_string(s, n, &i))
        return 0;
    while (i < n && is_ws(s[i]))
        i++;
    if (i >= n || s[i] != ':')
        return 0;
    i++;
    goto value;

after:
    while (i < n && is_ws(s[i]))
        i++;
    if (depth == 0)
        return i == n;
    if (i >= n)
        return 0;
    if (s[i] == ',') {
        i++;
        if (stack[depth - 1] == '{')
            goto key;
        goto value;
    }
    if ((stack[depth - 1] == '{' && s[i] == '}') || (stack[depth - 1] == '[' && s[i] == ']')) {
        i++;
        depth--;
        goto after;
    }
    return 0;
}

/* NULL when the payload is a UTF-8 JSON object, else the defect name (exported for tests). */
const char *hl_classify(const unsigned char *s, size_t n);
const char *hl_classify(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_ws(s[i]))
        i++;
    if (i == n)
        return HL_DEFECT_EMPTY;
    if (!utf8_valid(s, n))
        return HL_DEFECT_INVALID_UTF8;
    int top_is_object = 0;
    if (!json_valid(s, n, &top_is_object))
        return HL_DEFECT_INVALID_JSON;
    if (!top_is_object)
        return HL_DEFECT_NOT_OBJECT;
    return NULL;
}

/* ---------------------------------------------------------------- the event */

static unsigned char *read_all(int fd, size_t *out_len, int *read_errno)
{
    size_t cap = 65536, len = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (size_t)st.st_size + 1;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    *read_errno = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r > 0) {
            len += (size_t)r;
        } else if (r == 0) {
            break;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EBADF)
                *read_errno = errno;
            break;
        }
    }
    *out_len = len;
    return buf;
}

static void random_id(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    int ok = 0;
#ifdef HL_HAVE_GETENTROPY
    ok = getentropy(b, sizeof b) == 0;
#endif
    if (!ok) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ok = read(fd, b, sizeof b) == (ssize_t)sizeof b;
            close(fd);
        }
    }
    if (!ok) {
        /* Last resort: time, pid and stack address mixed; unique enough for one host. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        uint64_t y = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts;
        for (int k = 0; k < 16; k++) {
            x ^= x >> 33;
            x *= 0xff51afd7ed558ccdull;
            x ^= y + (uint64_t)k;
            b[k] = (unsigned char)(x >> 56);
        }
        log_error("no random source; event id derived from time and pid", NULL, 0);
    }
    for (int k = 0; k < 16; k++) {
        out[2 * k] = hex[b[k] >> 4];
        out[2 * k + 1] = hex[b[k] & 15];
    }
    out[32] = '\0';
}

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

int main(int argc, char **argv)
{
    const char *home_arg = NULL, *source_arg = HL_SOURCE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--home") == 0 && i + 1 < argc)
            home_arg = argv[++i];
        else if (strncmp(argv[i], "--home=", 7) == 0)
            home_arg = argv[i] + 7;
        else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc)
            source_arg = argv[++i];
        else if (strncmp(argv[i], "--source=", 9) == 0)
            source_arg = argv[i] + 9;
        /* anything else is ignored: a newer installer may pass flags this build lacks */
    }

    if (env_disabled())
        return 0;
    if (!resolve_home(home_arg))
        return 0; /* no home, nowhere to log either */

    char path[HL_PATH_MAX];
    if (join(path, sizeof path, g_home, HL_KILL_SWITCH_FILE) && access(path, F_OK) == 0)
        return 0;

    size_t raw_len = 0;
    int read_errno = 0;
    unsigned char *raw = read_all(STDIN_FILENO, &raw_len, &read_errno);
    if (raw == NULL) {
        log_error("out of memory reading stdin; event dropped", NULL, 0);
        return 0;
    }
    if (read_errno)
        log_error("reading stdin failed; keeping the bytes read so far", NULL, read_errno);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long captured_ns = (long long)ts.tv_sec * 1000000000LL + (long long)ts.tv_nsec;
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);

    char event_id[33];
    random_id(event_id);

    char rawhost[HL_NAME_MAX + 1], host[HL_NAME_MAX + 1], source[HL_NAME_MAX + 1];
    if (gethostname(rawhost, sizeof rawhost) != 0)
        rawhost[0] = '\0';
    rawhost[HL_NAME_MAX] = '\0';
    sanitize_name(host, sizeof host, rawhost, "unknown");
    sanitize_name(source, sizeof source, source_arg, HL_SOURCE_DEFAULT);

    const char *defect = hl_classify(raw, raw_len);

    char head[512];
    int hn = snprintf(head, sizeof head,
                      "{\"" HL_FIELD_VERSION "\":" HL_FORMAT_VERSION ",\"" HL_FIELD_EVENT_ID "\":\"%s\",\"" HL_FIELD_CAPTURED_NS
                      "\":%lld,\"" HL_FIELD_SOURCE "\":\"%s\",\"" HL_FIELD_HOST "\":\"%s\",",
                      event_id, captured_ns, source, host);
    if (hn <= 0 || (size_t)hn >= sizeof head) {
        log_error("envelope header too long; event dropped", NULL, 0);
        free(raw);
        return 0;
    }

    size_t body_cap = defect ? 4 * ((raw_len + 2) / 3) + 64 : raw_len + 32;
    char *line = malloc((size_t)hn + body_cap);
    if (line == NULL) {
        log_error("out of memory building the line; event dropped", NULL, 0);
        free(raw);
        return 0;
    }
    memcpy(line, head, (size_t)hn);
    size_t len = (size_t)hn;
    if (defect) {
        len += (size_t)sprintf(line + len, "\"" HL_FIELD_DEFECT "\":\"%s\",\"" HL_FIELD_RAW_B64 "\":\"", defect);
        len += b64_encode(raw, raw_len, line + len);
        memcpy(line + len, "\"}\n", 3);
        len += 3;
    } else {
        /* Embed verbatim, trimmed; raw CR/LF can only be whitespace in valid JSON. */
        size_t a = 0, b = raw_len;
        while (a < b && is_ws(raw[a]))
            a++;
        while (b > a && is_ws(raw[b - 1]))
            b--;
        static const char key[] = "\"" HL_FIELD_PAYLOAD "\":";
        memcpy(line + len, key, sizeof key - 1);
        len += sizeof key - 1;
        for (size_t k = a; k < b; k++) {
            unsigned char c = raw[k];
            line[len++] = (c == '\n' || c == '\r') ? ' ' : (char)c;
        }
        memcpy(line + len, "}\n", 2);
        len += 2;
    }
    free(raw);

    char spool[HL_PATH_MAX], name[HL_NAME_MAX + 64];
    snprintf(name, sizeof name, "%04d%02d%02d%02d.%s" HL_SPOOL_SUFFIX, tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, host);
    if (!join(spool, sizeof spool, g_home, HL_SPOOL_DIR) || !join(path, sizeof path, spool, name)) {
        log_error("spool path too long; event dropped", NULL, 0);
        free(line);
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT) {
        if (mkdir_p(spool) != 0) {
            log_error("cannot create spool dir", spool, errno);
            free(line);
            return 0;
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    }
    if (fd < 0) {
        log_error("cannot open spool file", path, errno);
        free(line);
        return 0;
    }
    ssize_t w;
    do {
        w = write(fd, line, len);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        log_error("write to spool file failed; event dropped:", path, errno);
    } else if ((size_t)w != len) {
        char detail[HL_PATH_MAX + 64];
        snprintf(detail, sizeof detail, "%s (%zd of %zu bytes, disk full?); line terminated", path, w, len);
        log_error("short write to spool file; event lost:", detail, 0);
        /* End the partial line so the next writer's line stays intact (ingest quarantines it). */
        ssize_t t = write(fd, "\n", 1);
        (void)t;
    }
    if (close(fd) != 0)
        log_error("closing spool file failed:", path, errno);
    free(line);
    return 0;
}
