/*
 * cfg_secret.c — ${env:NAME}, ${file:/path} and ${cred:NAME} references.
 *
 * A reference may stand alone or inside a longer string ("Bearer
 * ${env:TOKEN}"); only these three kinds are references, any other "${" is
 * kept as written (a URL or a PromQL query may contain one). File and
 * credential contents lose ONE trailing newline ("\n" or "\r\n"), because
 * `echo secret > file` adds one and an Authorization header must not end in
 * it. Messages name the reference, never a value — not even a prefix of it.
 */
#include "cfg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX_BYTES (1 << 20)

struct sbuf {
    char *p;
    size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = cfg_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static const char *const kinds[] = { "${env:", "${file:", "${cred:", NULL };

bool cfg_has_reference(const char *s)
{
    for (const char *p = s ? strstr(s, "${") : NULL; p; p = strstr(p + 2, "${"))
        for (int k = 0; kinds[k]; k++)
            if (strncmp(p, kinds[k], strlen(kinds[k])) == 0)
                return true;
    return false;
}

/* Appends the content of file PATH, less one trailing newline. REF names it
 * (and PATH too, when the reference does not spell it out). */
static int read_secret_file(const char *path, const char *ref, struct sbuf *b,
                            struct okrd_err *err)
{
    const char *shown = strstr(ref, path) ? "" : path;
    const char *sp = *shown ? " " : "";
    /* O_NONBLOCK: a FIFO named by mistake must not hang the load */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s: cannot read%s%s: %s", ref, sp, shown,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return okrd_err_set(err, OKRD_EINVAL, "%s: not a regular file%s%s", ref, sp, shown);
    }
    char *buf = cfg_xrealloc(NULL, SECRET_MAX_BYTES + 1);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, SECRET_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return okrd_err_set(err, OKRD_EINVAL, "%s: cannot read%s%s: %s", ref, sp, shown,
                                strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > SECRET_MAX_BYTES)
            break;
    }
    close(fd);
    int rc = 0;
    if (n > SECRET_MAX_BYTES) {
        rc = okrd_err_set(err, OKRD_EINVAL, "%s: larger than 1 MiB", ref);
    } else if (memchr(buf, '\0', n)) {
        rc = okrd_err_set(err, OKRD_EINVAL, "%s: contains a NUL byte", ref);
    } else {
        if (n > 0 && buf[n - 1] == '\n') {
            n--;
            if (n > 0 && buf[n - 1] == '\r')
                n--;
        }
        sb_add(b, buf, n);
    }
    free(buf);
    return rc;
}

static bool env_name_ok(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
              (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

static int expand_one(const char *kind, const char *name, const char *ref, const char *base_dir,
                      struct sbuf *b, struct okrd_err *err)
{
    size_t n = strlen(name);
    if (strcmp(kind, "env") == 0) {
        if (!env_name_ok(name, n))
            return okrd_err_set(err, OKRD_EINVAL, "%s: not a valid environment variable name",
                                ref);
        const char *v = getenv(name);
        if (!v)
            return okrd_err_set(err, OKRD_EINVAL, "%s is not set", ref);
        sb_add(b, v, strlen(v));
        return 0;
    }
    if (strcmp(kind, "file") == 0) {
        if (n == 0)
            return okrd_err_set(err, OKRD_EINVAL, "%s: empty path", ref);
        if (name[0] == '/')
            return read_secret_file(name, ref, b, err);
        /* relative to the main config file's directory, like state_dir */
        size_t m = strlen(base_dir ? base_dir : ".") + n + 2;
        char *p = cfg_xrealloc(NULL, m);
        snprintf(p, m, "%s/%s", base_dir ? base_dir : ".", name);
        int rc = read_secret_file(p, ref, b, err);
        free(p);
        return rc;
    }
    /* cred: a systemd credential; a name is one path component */
    if (n == 0 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s: not a valid credential name", ref);
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir)
        return okrd_err_set(err, OKRD_EINVAL,
                            "%s: $CREDENTIALS_DIRECTORY is not set (no systemd credentials; "
                            "use LoadCredential= in the unit)", ref);
    size_t m = strlen(dir) + n + 2;
    char *p = cfg_xrealloc(NULL, m);
    snprintf(p, m, "%s/%s", dir, name);
    int rc = read_secret_file(p, ref, b, err);
    free(p);
    return rc;
}

int cfg_secret_expand(const char *raw, const char *base_dir, char **out, struct okrd_err *err)
{
    struct sbuf b = { 0 };
    sb_add(&b, "", 0);
    const char *p = raw;
    for (;;) {
        const char *d = strstr(p, "${");
        int k = -1;
        while (d) {
            for (int i = 0; kinds[i]; i++)
                if (strncmp(d, kinds[i], strlen(kinds[i])) == 0)
                    k = i;
            if (k >= 0)
                break;
            d = strstr(d + 2, "${");
        }
        if (!d) {
            sb_add(&b, p, strlen(p));
            break;
        }
        sb_add(&b, p, (size_t)(d - p));
        const char *name = d + strlen(kinds[k]);
        const char *close = strchr(name, '}');
        char kind[8];
        size_t kl = strlen(kinds[k]) - 3;
        memcpy(kind, kinds[k] + 2, kl);
        kind[kl] = '\0';
        if (!close) {
            free(b.p);
            return okrd_err_set(err, OKRD_EINVAL, "unterminated ${%s...} reference (no '}')",
                                kind);
        }
        size_t nl = (size_t)(close - name);
        char *nm = cfg_xrealloc(NULL, nl + 1);
        memcpy(nm, name, nl);
        nm[nl] = '\0';
        char ref[160];
        snprintf(ref, sizeof ref, "${%s:%.*s%s}", kind, nl > 120 ? 120 : (int)nl, nm,
                 nl > 120 ? "..." : "");
        int rc = expand_one(kind, nm, ref, base_dir, &b, err);
        free(nm);
        if (rc < 0) {
            /* the part already expanded may hold another secret */
            explicit_bzero(b.p, b.n);
            free(b.p);
            return rc;
        }
        p = close + 1;
    }
    *out = b.p;
    return 0;
}

bool cfg_webhook_secret_ok(const char *s, const char **why)
{
    if (strncmp(s, "whsec_", 6) != 0) {
        *why = "must start with \"whsec_\" (a Standard Webhooks secret)";
        return false;
    }
    const char *k = s + 6;
    size_t n = strlen(k), pad = 0;
    if (n == 0 || n % 4 != 0) {
        *why = "the part after \"whsec_\" must be base64 (a multiple of 4 characters)";
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        bool b64 = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
        if (ch == '=' && i >= n - 2) {
            pad++;
            continue;
        }
        if (!b64 || pad) {
            *why = "the part after \"whsec_\" is not valid base64";
            return false;
        }
    }
    return true;
}
