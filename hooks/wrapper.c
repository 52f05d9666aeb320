/*
 * hooklake-run: the native twin of hooks/wrapper.py (same options, same behaviour, same event).
 *
 *   hooklake-run [--timeout SECONDS] [--name NAME] [--sh] -- CMD [ARGS...]
 *
 * Runs a user's hook command for Claude Code without changing what it does: stdin passed through
 * byte for byte, stdout/stderr relayed as they come, the exit code returned unchanged (2 still
 * blocks), a child still running after the timeout killed (exit 124). The correlation ids go to
 * the child as HOOKLAKE_* environment variables, and one hook_execution event is appended to the
 * spool as ONE write() on an O_APPEND descriptor, in the envelope format of hooks/envelope.py.
 * A failure to record never changes what the hook did.
 *
 * Built by hooks.wrapper.build_native(): cc -O2 -std=c99 -D_GNU_SOURCE -o hooklake-run wrapper.c
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_TIMEOUT 124
#define EXIT_USAGE 64
#define STDOUT_KEEP (64 * 1024)
#define ERROR_KEEP 2000
#define REPORT_MAX (4 * 1024 * 1024)
#define DEFAULT_TIMEOUT_S 600.0

extern char **environ;
static volatile pid_t g_child = 0;

/* ---------------------------------------------------------------- string builder */
typedef struct {
    char *buf;
    size_t len, cap;
} sb_t;

static void sb_grow(sb_t *s, size_t extra) {
    if (s->len + extra + 1 <= s->cap) return;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < s->len + extra + 1) cap *= 2;
    char *p = realloc(s->buf, cap);
    if (!p) abort();
    s->buf = p;
    s->cap = cap;
}
static void sb_putn(sb_t *s, const char *p, size_t n) {
    sb_grow(s, n);
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = 0;
}
static void sb_puts(sb_t *s, const char *p) { sb_putn(s, p, strlen(p)); }
static void sb_printf(sb_t *s, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_putn(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static int utf8_len(const unsigned char *p, size_t n) {
    if (p[0] < 0x80) return 1;
    int len = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || (size_t)len > n) return 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if (len == 2 && p[0] < 0xC2) return 0;
    return len;
}

/* A JSON string literal; invalid UTF-8 becomes U+FFFD so the line always parses. */
static void sb_json_str(sb_t *s, const char *str, size_t n) {
    const unsigned char *p = (const unsigned char *)str;
    sb_putn(s, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c == '"') { sb_puts(s, "\\\""); i++; }
        else if (c == '\\') { sb_puts(s, "\\\\"); i++; }
        else if (c == '\n') { sb_puts(s, "\\n"); i++; }
        else if (c == '\r') { sb_puts(s, "\\r"); i++; }
        else if (c == '\t') { sb_puts(s, "\\t"); i++; }
        else if (c < 0x20) { sb_printf(s, "\\u%04x", c); i++; }
        else if (c < 0x80) { sb_putn(s, (const char *)p + i, 1); i++; }
        else {
            int len = utf8_len(p + i, n - i);
            if (len) { sb_putn(s, (const char *)p + i, (size_t)len); i += (size_t)len; }
            else { sb_puts(s, "\xEF\xBF\xBD"); i++; }
        }
    }
    sb_putn(s, "\"", 1);
}
static void sb_field_str(sb_t *s, const char *key, const char *value) {
    if (!value) return;
    sb_printf(s, ",\"%s\":", key);
    sb_json_str(s, value, strlen(value));
}

/* ---------------------------------------------------------------- minimal JSON reader */
static const char *ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}
static const char *skip_string(const char *p, const char *e) { /* p at '"' */
    for (p++; p < e; p++) {
        if (*p == '\\') { p++; continue; }
        if (*p == '"') return p + 1;
    }
    return NULL;
}
static const char *skip_value(const char *p, const char *e) {
    p = ws(p, e);
    if (p >= e) return NULL;
    if (*p == '"') return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') { p = skip_string(p, e); if (!p) return NULL; continue; }
            if (*p == '{' || *p == '[') depth++;
            else if (*p == '}' || *p == ']') { depth--; if (depth == 0) return p + 1; }
            p++;
        }
        return NULL;
    }
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
    return p;
}
/* Value of top-level key in the object starting at p ('{'), or NULL. */
static const char *obj_get(const char *p, const char *e, const char *key, const char **vend) {
    p = ws(p, e);
    if (p >= e || *p != '{') return NULL;
    p++;
    size_t klen = strlen(key);
    while (1) {
        p = ws(p, e);
        if (p >= e || *p != '"') return NULL;
        const char *ks = p + 1, *ke = skip_string(p, e);
        if (!ke) return NULL;
        p = ws(ke, e);
        if (p >= e || *p != ':') return NULL;
        const char *vs = ws(p + 1, e), *ve = skip_value(vs, e);
        if (!ve) return NULL;
        if ((size_t)(ke - 1 - ks) == klen && memcmp(ks, key, klen) == 0) {
            if (vend) *vend = ve;
            return vs;
        }
        p = ws(ve, e);
        if (p < e && *p == ',') { p++; continue; }
        return NULL;
    }
}
static void put_utf8(sb_t *s, unsigned cp) {
    char b[4];
    if (cp < 0x80) { b[0] = (char)cp; sb_putn(s, b, 1); }
    else if (cp < 0x800) { b[0] = (char)(0xC0 | cp >> 6); b[1] = (char)(0x80 | (cp & 0x3F)); sb_putn(s, b, 2); }
    else if (cp < 0x10000) { b[0] = (char)(0xE0 | cp >> 12); b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[2] = (char)(0x80 | (cp & 0x3F)); sb_putn(s, b, 3); }
    else { b[0] = (char)(0xF0 | cp >> 18); b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (char)(0x80 | (cp & 0x3F)); sb_putn(s, b, 4); }
}
static int hexval(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}
/* Decoded string value of a top-level key; NULL when absent or not a string; "" kept as "". */
static char *get_str(const char *p, const char *e, const char *key) {
    const char *ve;
    const char *v = obj_get(p, e, key, &ve);
    if (!v || *v != '"') return NULL;
    sb_t s = {0};
    sb_grow(&s, (size_t)(ve - v));
    for (const char *q = v + 1; q < ve - 1; q++) {
        if (*q != '\\') { sb_putn(&s, q, 1); continue; }
        q++;
        switch (*q) {
            case 'n': sb_putn(&s, "\n", 1); break;
            case 't': sb_putn(&s, "\t", 1); break;
            case 'r': sb_putn(&s, "\r", 1); break;
            case 'b': sb_putn(&s, "\b", 1); break;
            case 'f': sb_putn(&s, "\f", 1); break;
            case 'u': {
                if (ve - 1 - q < 5) break;
                int cp = hexval(q + 1);
                q += 4;
                if (cp < 0) break;
                if (cp >= 0xD800 && cp < 0xDC00 && ve - 1 - q >= 7 && q[1] == '\\' && q[2] == 'u') {
                    int lo = hexval(q + 3);
                    if (lo >= 0xDC00 && lo < 0xE000) { cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00); q += 6; }
                }
                put_utf8(&s, (unsigned)cp);
                break;
            }
            default: sb_putn(&s, q, 1);
        }
    }
    if (!s.buf) { s.buf = strdup(""); }
    return s.buf;
}
static char *nonempty(char *s) {
    if (s && !*s) { free(s); return NULL; }
    return s;
}

/* ---------------------------------------------------------------- helpers */
static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static void rand_hex(char *out, size_t nbytes) {
    unsigned char b[32];
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        srand((unsigned)(ts.tv_nsec ^ getpid()));
        for (size_t i = 0; i < nbytes; i++) b[i] = (unsigned char)rand();
    }
    for (size_t i = 0; i < nbytes; i++) sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * nbytes] = 0;
}
static void uuid4(char *out) {
    unsigned char b[16];
    char h[33];
    if (getrandom(b, 16, 0) != 16) memset(b, 7, 16);
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    for (int i = 0; i < 16; i++) sprintf(h + 2 * i, "%02x", b[i]);
    sprintf(out, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}
static const char *env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}
static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return; }
        p += w;
        n -= (size_t)w;
    }
}
static void kill_group(pid_t pid, int sig) {
    if (killpg(pid, sig) != 0) kill(pid, sig);
}
static void on_signal(int sig) {
    if (g_child > 0) kill_group(g_child, sig);
}
static int safe_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("@%+=:,./-_", c);
}
static void shell_quote(sb_t *s, const char *a) { /* same as Python's shlex.quote */
    if (!*a) { sb_puts(s, "''"); return; }
    int safe = 1;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++) if (!safe_char(*p)) { safe = 0; break; }
    if (safe) { sb_puts(s, a); return; }
    sb_putn(s, "'", 1);
    for (const char *p = a; *p; p++) {
        if (*p == '\'') sb_puts(s, "'\"'\"'");
        else sb_putn(s, p, 1);
    }
    sb_putn(s, "'", 1);
}
static const char *base_name(const char *p, size_t n, size_t *outlen) {
    const char *b = p;
    for (size_t i = 0; i < n; i++) if (p[i] == '/') b = p + i + 1;
    *outlen = (size_t)(p + n - b);
    return b;
}
/* Same rule as wrapper._hook_name: the script an interpreter runs, else the program. */
static char *hook_name(int shell, char **cmd, int ncmd) {
    const char *words[64];
    size_t lens[64];
    int nw = 0;
    if (shell) {
        const char *p = cmd[0];
        while (*p && nw < 64) {
            while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') p++;
            if (!*p) break;
            const char *st = p;
            while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')) p++;
            words[nw] = st; lens[nw] = (size_t)(p - st); nw++;
        }
        if (nw == 0) { words[0] = cmd[0]; lens[0] = strlen(cmd[0]); nw = 1; }
    } else {
        for (int i = 0; i < ncmd && nw < 64; i++) { words[nw] = cmd[i]; lens[nw] = strlen(cmd[i]); nw++; }
    }
    size_t bl;
    const char *b = base_name(words[0], lens[0], &bl);
    static const char *interp[] = {"node", "bash", "sh", "uv", "npx", "bun", "deno", "ruby", "perl", NULL};
    int is_interp = bl >= 6 && memcmp(b, "python", 6) == 0;
    for (int i = 0; interp[i] && !is_interp; i++) if (strlen(interp[i]) == bl && memcmp(b, interp[i], bl) == 0) is_interp = 1;
    if (is_interp) {
        for (int i = 1; i < nw; i++) {
            if (lens[i] && words[i][0] != '-') {
                size_t wl = 0; /* a script string (sh -c '...'): its first word */
                while (wl < lens[i] && !(words[i][wl] == ' ' || words[i][wl] == '\t' || words[i][wl] == '\n')) wl++;
                b = base_name(words[i], wl, &bl);
                break;
            }
        }
    }
    return strndup(b, bl);
}

/* ---------------------------------------------------------------- spool */
static int mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') { *p = 0; mkdir(tmp, 0700); *p = '/'; }
    }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -1;
}
static void home_dir(char *out, size_t n) {
    const char *h = env_nonempty("HOOKLAKE_HOME");
    if (h) { snprintf(out, n, "%s", h); return; }
    const char *x = env_nonempty("XDG_DATA_HOME");
    if (x && strspn(x, " \t\n\r") != strlen(x)) { snprintf(out, n, "%s/hooklake", x); return; }
    const char *home = env_nonempty("HOME");
    snprintf(out, n, "%s/.local/share/hooklake", home ? home : "/tmp");
}
static int capture_disabled(const char *home) {
    /* same rule as hooks/spool.py: set to anything but "", 0, false, no, off (any case, trimmed) */
    const char *d = getenv("HOOKLAKE_DISABLED");
    if (d) {
        while (*d == ' ' || *d == '\t' || *d == '\n' || *d == '\r') d++;
        size_t n = strlen(d);
        while (n && (d[n - 1] == ' ' || d[n - 1] == '\t' || d[n - 1] == '\n' || d[n - 1] == '\r')) n--;
        static const char *off[] = {"0", "false", "no", "off", NULL};
        int is_off = n == 0;
        for (int i = 0; off[i] && !is_off; i++) if (strlen(off[i]) == n && strncasecmp(d, off[i], n) == 0) is_off = 1;
        if (!is_off) return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/capture-off", home);
    return access(path, F_OK) == 0;
}
static void log_error(const char *home, const char *what) {
    /* "<UTC time>\t<component>\t<message>", the capture error log format of hooks/spool.py */
    int err = errno;
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/logs", home);
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/capture-errors.log", dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%s.%06ldZ\twrapper[native]\t%s: %s\n", stamp, ts.tv_nsec / 1000L, what, strerror(err));
    if (n > 0) write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    close(fd);
}
static void append_event(const char *payload, size_t plen) {
    char home[4096];
    home_dir(home, sizeof home);
    if (capture_disabled(home)) return;
    /* host name as hooks/spool.py sanitises it: [A-Za-z0-9._-] kept, others '_', 128 bytes max */
    char host[129];
    if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
    host[128] = 0;
    for (char *p = host; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) *p = '_';
    }
    if (!host[0]) strcpy(host, "unknown");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[16];
    strftime(stamp, sizeof stamp, "%Y%m%d%H", &tm);
    char spool[4200], path[4600];
    snprintf(spool, sizeof spool, "%s/spool", home);
    snprintf(path, sizeof path, "%s/%s.%s.jsonl", spool, stamp, host);
    char eid[33];
    rand_hex(eid, 16);
    sb_t line = {0};
    sb_printf(&line, "{\"v\":1,\"event_id\":\"%s\",\"captured_ns\":%lld,\"source\":\"wrapper\",\"host\":", eid,
              (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    sb_json_str(&line, host, strlen(host));
    sb_puts(&line, ",\"payload\":");
    sb_putn(&line, payload, plen);
    sb_puts(&line, "}\n");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && mkdirs(spool) == 0) fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { log_error(home, "cannot open spool file"); free(line.buf); return; }
    ssize_t w = write(fd, line.buf, line.len); /* one write: lines never interleave */
    if (w != (ssize_t)line.len) log_error(home, "short write to spool file");
    close(fd);
    free(line.buf);
}

/* ---------------------------------------------------------------- reports */
static const char *REPORT_TYPES[3][2] = {
    {"intelligence_function", "intelligence_functions"},
    {"rag_query", "rag_queries"},
    {"quality_gate", "quality_gates"},
};
static void add_reports(sb_t *ev, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    sb_t data = {0};
    char buf[65536];
    ssize_t r;
    while (data.len < REPORT_MAX && (r = read(fd, buf, sizeof buf)) > 0) sb_putn(&data, buf, (size_t)r);
    close(fd);
    unlink(path);
    if (!data.buf) return;
    for (int t = 0; t < 3; t++) {
        char prefix[64];
        int pl = snprintf(prefix, sizeof prefix, "{\"type\":\"%s\",\"data\":", REPORT_TYPES[t][0]);
        int count = 0;
        char *p = data.buf, *end = data.buf + data.len;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            char *le = nl ? nl : end;
            size_t ll = (size_t)(le - p);
            if (ll > (size_t)pl + 2 && memcmp(p, prefix, (size_t)pl) == 0 && p[ll - 1] == '}' && p[pl] == '{') {
                const char *de = skip_value(p + pl, le);
                if (de == le - 1) {
                    sb_puts(ev, count ? "," : ",\"");
                    if (!count) { sb_puts(ev, REPORT_TYPES[t][1]); sb_puts(ev, "\":["); }
                    sb_putn(ev, p + pl, ll - (size_t)pl - 1);
                    count++;
                }
            }
            p = le + 1;
        }
        if (count) sb_puts(ev, "]");
    }
    free(data.buf);
}

/* ---------------------------------------------------------------- main */
static int usage(const char *msg) {
    fprintf(stderr, "hooklake run: %s\nusage: hooklake run [--timeout SECONDS] [--name NAME] [--sh] -- CMD [ARGS...]\n", msg);
    return EXIT_USAGE;
}
static int parse_timeout(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0)) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    double timeout = -1;
    const char *name = NULL;
    int shell = 0, i = 1;
    char **cmd = NULL;
    int ncmd = 0;
    char msg[512];
    while (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { cmd = argv + i + 1; ncmd = argc - i - 1; break; }
        if ((!strcmp(a, "--timeout") || !strcmp(a, "-t")) && i + 1 < argc) {
            if (parse_timeout(argv[i + 1], &timeout)) { snprintf(msg, sizeof msg, "timeout must be a number of seconds > 0, got '%s'", argv[i + 1]); return usage(msg); }
            i += 2; continue;
        }
        if (!strncmp(a, "--timeout=", 10)) {
            if (parse_timeout(a + 10, &timeout)) { snprintf(msg, sizeof msg, "timeout must be a number of seconds > 0, got '%s'", a + 10); return usage(msg); }
        } else if (!strcmp(a, "--name") && i + 1 < argc) { name = argv[i + 1]; i += 2; continue; }
        else if (!strncmp(a, "--name=", 7)) name = a + 7;
        else if (!strcmp(a, "--sh")) shell = 1;
        else if (a[0] == '-') { snprintf(msg, sizeof msg, "unknown option '%s'", a); return usage(msg); }
        else { cmd = argv + i; ncmd = argc - i; break; }
        i++;
    }
    if (ncmd <= 0) return usage("no command given");
    if (shell && ncmd != 1) return usage("--sh takes exactly one shell string after --");
    if (timeout < 0) {
        const char *e = env_nonempty("HOOKLAKE_RUN_TIMEOUT");
        if (!e) timeout = DEFAULT_TIMEOUT_S;
        else if (parse_timeout(e, &timeout)) { snprintf(msg, sizeof msg, "timeout must be a number of seconds > 0, got '%s'", e); return usage(msg); }
    }

    /* stdin payload, whole (Claude Code writes it and closes the pipe) */
    sb_t in = {0};
    if (!isatty(0)) {
        char buf[65536];
        ssize_t r;
        while ((r = read(0, buf, sizeof buf)) != 0) {
            if (r < 0) { if (errno == EINTR) continue; break; }
            sb_putn(&in, buf, (size_t)r);
        }
    }
    const char *pb = in.buf ? in.buf : "", *pe = pb + in.len;
    const char *obj = ws(pb, pe);
    int is_obj = obj < pe && *obj == '{' && skip_value(obj, pe) != NULL;
    char *session_id = is_obj ? nonempty(get_str(obj, pe, "session_id")) : NULL;
    char *prompt_id = is_obj ? nonempty(get_str(obj, pe, "prompt_id")) : NULL;
    char *event = is_obj ? nonempty(get_str(obj, pe, "hook_event_name")) : NULL;
    char *tool_name = is_obj ? nonempty(get_str(obj, pe, "tool_name")) : NULL;
    char *tool_use_id = is_obj ? nonempty(get_str(obj, pe, "tool_use_id")) : NULL;
    char *agent_id = is_obj ? nonempty(get_str(obj, pe, "agent_id")) : NULL;
    char *agent_type = is_obj ? get_str(obj, pe, "agent_type") : NULL;
    char *cwd = is_obj ? nonempty(get_str(obj, pe, "cwd")) : NULL;

    /* correlation ids (same rules as wrapper.correlation) */
    char fresh[40], exec_id[17];
    const char *env_cid = env_nonempty("HOOKLAKE_CORRELATION_ID");
    const char *cid = prompt_id ? prompt_id : env_cid;
    if (!cid) { uuid4(fresh); cid = fresh; }
    int nested = env_cid && !strcmp(env_cid, cid);
    const char *root = nested ? env_nonempty("HOOKLAKE_ROOT_ID") : NULL;
    if (!root) root = cid;
    const char *parent = nested ? env_nonempty("HOOKLAKE_EXECUTION_ID") : NULL;
    if (!parent) parent = tool_use_id;
    const char *session = session_id ? session_id : env_nonempty("HOOKLAKE_SESSION_ID");
    do { rand_hex(exec_id, 8); } while (!strcmp(exec_id, "0000000000000000"));
    char *cid_c = strdup(cid), *root_c = strdup(root), *parent_c = parent ? strdup(parent) : NULL;
    char *session_c = session ? strdup(session) : NULL;
    setenv("HOOKLAKE_CORRELATION_ID", cid_c, 1);
    setenv("HOOKLAKE_ROOT_ID", root_c, 1);
    if (parent_c) setenv("HOOKLAKE_PARENT_ID", parent_c, 1); else unsetenv("HOOKLAKE_PARENT_ID");
    setenv("HOOKLAKE_EXECUTION_ID", exec_id, 1);
    if (session_c) setenv("HOOKLAKE_SESSION_ID", session_c, 1); else unsetenv("HOOKLAKE_SESSION_ID");
    const char *tmpdir = env_nonempty("TMPDIR");
    char report_path[4200];
    snprintf(report_path, sizeof report_path, "%s/hooklake-report-%d-%s.jsonl", tmpdir ? tmpdir : "/tmp", (int)getpid(), exec_id);
    setenv("HOOKLAKE_REPORT_FILE", report_path, 1);

    /* child stdin: a memfd holding the payload (no pipe, so no deadlock on big payloads) */
    int in_fd = memfd_create("hooklake-stdin", MFD_CLOEXEC);
    if (in_fd < 0) {
        char tpl[] = "/tmp/hooklake-stdin-XXXXXX";
        in_fd = mkstemp(tpl);
        if (in_fd >= 0) unlink(tpl);
    }
    if (in_fd >= 0) { write_all(in_fd, pb, in.len); lseek(in_fd, 0, SEEK_SET); }

    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double t0 = now_mono();
    int outp[2], errp[2];
    if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) { perror("hooklake run: pipe"); return 1; }
    signal(SIGPIPE, SIG_IGN);
    /* posix_spawn (vfork-based in glibc): cheaper than fork+exec, and reports exec failures */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    if (in_fd >= 0) posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    int rc;
    if (shell) {
        char *sh_argv[] = {"sh", "-c", cmd[0], NULL};
        rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, sh_argv, environ);
    } else {
        rc = posix_spawnp(&pid, cmd[0], &fa, &attr, cmd, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        /* exec failed: say so like a shell would, and record the run with exit code 127 */
        char line[1200];
        int l = snprintf(line, sizeof line, "hooklake run: cannot run '%s': %s\n", shell ? "/bin/sh" : cmd[0], strerror(rc));
        write_all(2, line, (size_t)l < sizeof line ? (size_t)l : sizeof line - 1);
        pid = -1;
    }
    g_child = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    close(outp[1]); close(errp[1]);
    if (in_fd >= 0) close(in_fd);

    struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    int open_fds = 2;
    long long counts[2] = {0, 0};
    sb_t out_head = {0};
    char err_tail[ERROR_KEEP];
    size_t err_len = 0;
    double deadline = t0 + timeout, killed_at = -1;
    int timed_out = 0, killed_hard = 0;
    char buf[65536];
    while (open_fds) {
        double now = now_mono();
        if (pid > 0 && !timed_out && now >= deadline) { timed_out = 1; killed_at = now; kill_group(pid, SIGTERM); }
        if (pid > 0 && timed_out && !killed_hard && now - killed_at > 0.2) { kill_group(pid, SIGKILL); killed_hard = 1; }
        if (killed_hard) break;
        int wait_ms = timed_out ? 50 : (int)((deadline - now) * 1000.0) + 1;
        int pr = poll(fds, 2, wait_ms);
        if (pr < 0) { if (errno == EINTR) continue; break; }
        for (int k = 0; k < 2; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t r = read(fds[k].fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) { close(fds[k].fd); fds[k].fd = -1; open_fds--; continue; }
            counts[k] += r;
            write_all(k + 1, buf, (size_t)r);
            if (k == 0 && out_head.len < STDOUT_KEEP) {
                size_t room = STDOUT_KEEP - out_head.len;
                sb_putn(&out_head, buf, (size_t)r < room ? (size_t)r : room);
            } else if (k == 1) {
                if ((size_t)r >= ERROR_KEEP) { memcpy(err_tail, buf + r - ERROR_KEEP, ERROR_KEEP); err_len = ERROR_KEEP; }
                else {
                    if (err_len + (size_t)r > ERROR_KEEP) {
                        size_t drop = err_len + (size_t)r - ERROR_KEEP;
                        memmove(err_tail, err_tail + drop, err_len - drop);
                        err_len -= drop;
                    }
                    memcpy(err_tail + err_len, buf, (size_t)r);
                    err_len += (size_t)r;
                }
            }
        }
    }
    int status = 127 << 8; /* spawn failed: as a shell reports "command not found" */
    if (pid > 0) while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    double duration_ms = (now_mono() - t0) * 1000.0;
    int exit_code;
    if (timed_out) exit_code = EXIT_TIMEOUT;
    else if (WIFEXITED(status)) exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) exit_code = 128 + WTERMSIG(status);
    else exit_code = 1;
    if (timed_out) {
        char line[200];
        int l = snprintf(line, sizeof line, "hooklake run: hook timed out after %gs and was killed\n", timeout);
        write_all(2, line, (size_t)l);
    }

    /* decision: explicit JSON on stdout, else from the exit code */
    const char *decision = NULL;
    char *decision_buf = NULL;
    if (timed_out) decision = "timeout";
    else {
        const char *ob = out_head.buf ? out_head.buf : "", *oe = ob + out_head.len;
        const char *o = ws(ob, oe);
        if (o < oe && *o == '{' && skip_value(o, oe) && ws(skip_value(o, oe), oe) == oe) {
            const char *se;
            const char *spec = obj_get(o, oe, "hookSpecificOutput", &se);
            if (spec && *spec == '{') decision_buf = get_str(spec, se, "permissionDecision");
            if (!decision_buf) decision_buf = get_str(o, oe, "decision");
            if (decision_buf) decision = decision_buf;
            else {
                const char *ce;
                const char *c = obj_get(o, oe, "continue", &ce);
                if (c && ce - c == 5 && !memcmp(c, "false", 5)) decision = "stop";
            }
        }
        if (!decision) decision = exit_code == 0 ? "allow" : exit_code == 2 ? "block" : "error";
    }
    int failed = timed_out || (exit_code != 0 && exit_code != 2);
    /* stderr tail, stripped */
    size_t es = 0, ee = err_len;
    while (es < ee && (err_tail[es] == ' ' || err_tail[es] == '\n' || err_tail[es] == '\t' || err_tail[es] == '\r')) es++;
    while (ee > es && (err_tail[ee - 1] == ' ' || err_tail[ee - 1] == '\n' || err_tail[ee - 1] == '\t' || err_tail[ee - 1] == '\r')) ee--;

    sb_t ev = {0};
    sb_puts(&ev, "{\"hook_event_name\":\"hook_execution\"");
    sb_field_str(&ev, "correlation_id", cid_c);
    sb_field_str(&ev, "root_id", root_c);
    sb_field_str(&ev, "parent_id", parent_c);
    sb_field_str(&ev, "execution_id", exec_id);
    sb_field_str(&ev, "session_id", session_c);
    sb_field_str(&ev, "prompt_id", prompt_id);
    {
        struct tm tm;
        gmtime_r(&wall.tv_sec, &tm);
        char ts[40];
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        sb_printf(&ev, ",\"timestamp\":\"%s.%03ldZ\"", ts, wall.tv_nsec / 1000000L);
    }
    char *hname = name && *name ? strdup(name) : hook_name(shell, cmd, ncmd);
    sb_field_str(&ev, "hook_name", hname);
    sb_t command = {0};
    if (shell) sb_puts(&command, cmd[0]);
    else for (int k = 0; k < ncmd; k++) { if (k) sb_puts(&command, " "); shell_quote(&command, cmd[k]); }
    sb_field_str(&ev, "command", command.buf ? command.buf : "");
    sb_field_str(&ev, "hook_event", event);
    sb_field_str(&ev, "tool_name", tool_name);
    sb_field_str(&ev, "tool_use_id", tool_use_id);
    sb_field_str(&ev, "agent_id", agent_id);
    sb_field_str(&ev, "agent_type", agent_type);
    sb_field_str(&ev, "cwd", cwd);
    sb_printf(&ev, ",\"exit_code\":%d", exit_code);
    sb_field_str(&ev, "decision", decision);
    sb_field_str(&ev, "status", failed ? "error" : "ok");
    sb_printf(&ev, ",\"duration_ms\":%.3f", duration_ms);
    sb_printf(&ev, ",\"stdout_bytes\":%lld,\"stderr_bytes\":%lld", counts[0], counts[1]);
    sb_printf(&ev, ",\"timed_out\":%s,\"timeout_s\":%.15g", timed_out ? "true" : "false", timeout);
    if (timed_out) {
        char m[100];
        snprintf(m, sizeof m, "timed out after %gs", timeout);
        sb_field_str(&ev, "error", m);
        sb_field_str(&ev, "error_type", "timeout");
    } else if (failed) {
        if (ee > es) { sb_puts(&ev, ",\"error\":"); sb_json_str(&ev, err_tail + es, ee - es); }
        else sb_printf(&ev, ",\"error\":\"exit code %d\"", exit_code);
        sb_printf(&ev, ",\"error_type\":\"exit_%d\"", exit_code);
    }
    if (exit_code == 2 && !timed_out) { sb_puts(&ev, ",\"reason\":"); sb_json_str(&ev, err_tail + es, ee - es); }
    add_reports(&ev, report_path);
    sb_puts(&ev, "}");
    append_event(ev.buf, ev.len);
    return exit_code;
}
