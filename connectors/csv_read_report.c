/*
 * csv_read_report.c — the CSV reader's report: collecting errors, writing the
 * JSON file beside a rejected file (or one the ingest log kept), and the
 * file's SHA-256 for the ingest log.
 *
 * Every string that goes into a report is valid UTF-8 by construction
 * (csv_utf8_copy), because files are bytes in any encoding and jansson
 * refuses invalid UTF-8.
 */
#include "csv_read_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void csv_utf8_copy(char *dst, size_t size, const char *s, size_t n)
{
    size_t o = 0;
    if (size == 0)
        return;
    for (size_t i = 0; i < n;) {
        size_t k = s[i] ? okrd_utf8_len(s + i, n - i) : 0;
        if (k == 0) {
            if (o + 1 >= size)
                break;
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= size)
            break;
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
}

void csv_report_add(struct csv_report *rep, int64_t row, int column,
                    const char *value, size_t value_len, const char *reason)
{
    rep->n_errors_total++;
    if (rep->n_errors >= CSV_MAX_LISTED_ERRORS)
        return;
    struct csv_row_error *e = &rep->errors[rep->n_errors++];
    e->row = row;
    e->column = column;
    csv_utf8_copy(e->value, sizeof e->value, value, value_len);
    csv_utf8_copy(e->reason, sizeof e->reason, reason, strlen(reason));
}

static void file_verror(struct csv_reader *r, int64_t row, int column, const char *value,
                        const char *fmt, va_list ap)
{
    char reason[256], text[512];
    vsnprintf(reason, sizeof reason, fmt, ap);
    csv_report_add(r->rep, row, column, value, strlen(value), reason);
    if (*value)
        snprintf(text, sizeof text, "line %lld: %s (%s)", (long long)row, reason, value);
    else
        snprintf(text, sizeof text, "line %lld: %s", (long long)row, reason);
    csv_utf8_copy(r->rep->file_error, sizeof r->rep->file_error, text, strlen(text));
    r->status = okrd_err_set(&r->err, OKRD_EINVAL, "%s", r->rep->file_error);
}

void csv_file_error(struct csv_reader *r, int64_t row, const char *value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    file_verror(r, row, CSV_WHOLE_ROW, value, fmt, ap);
    va_end(ap);
}

void csv_file_error_at(struct csv_reader *r, int64_t row, int column, const char *value,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    file_verror(r, row, column, value, fmt, ap);
    va_end(ap);
}

/* ---- the JSON report ---- */

static json_t *utf8_string(const char *s)
{
    size_t n = strlen(s);
    char *buf = malloc(n + 1);
    if (!buf)
        return NULL;
    csv_utf8_copy(buf, n + 1, s, n);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

static json_t *report_json(const struct csv_report *rep, const char *file_name,
                           const char *sha256)
{
    json_t *root = json_object(), *errors = json_array();
    int bad = !root || !errors;
    bad |= json_object_set_new(root, "file", utf8_string(file_name ? file_name : ""));
    bad |= json_object_set_new(root, "sha256", sha256 ? utf8_string(sha256) : json_null());
    bad |= json_object_set(root, "errors", errors);
    for (size_t i = 0; !bad && i < rep->n_errors; i++) {
        const struct csv_row_error *e = &rep->errors[i];
        json_t *o = json_object();
        bad |= !o;
        bad |= json_object_set_new(o, "row", json_integer(e->row));
        bad |= json_object_set_new(o, "column", e->column == CSV_WHOLE_ROW
                                   ? json_null() : json_integer(e->column));
        bad |= json_object_set_new(o, "value", utf8_string(e->value));
        bad |= json_object_set_new(o, "reason", utf8_string(e->reason));
        bad |= json_array_append_new(errors, o);
    }
    bad |= json_object_set_new(root, "rows_read", json_integer(rep->rows_read));
    bad |= json_object_set_new(root, "rows_ok", json_integer(rep->rows_ok));
    json_decref(errors);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Writes ROOT, indented, to PATH atomically. */
static int write_json_atomic(json_t *root, const char *path, struct okrd_err *err)
{
    char *text = json_dumps(root, JSON_INDENT(2));
    if (!text)
        return okrd_err_set(err, OKRD_ENOMEM, "report %s: out of memory", path);

    /* ".NAME.XXXXXX" beside PATH: hidden, so an inbox scan never takes it */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(text);
        return okrd_err_set(err, OKRD_ENOMEM, "report %s: out of memory", path);
    }
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(tmp, plen + 16, "%.*s.%s.XXXXXX", (int)dlen, path, path + dlen);

    int rc = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = okrd_err_set(err, OKRD_EIO, "report %s: create %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(text), off = 0;
    text[len] = '\n'; /* json_dumps leaves no newline; the NUL is ours to overwrite */
    len++;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = okrd_err_set(err, OKRD_EIO, "report %s: write: %s", path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (!rc && fchmod(fd, 0644) != 0)
        rc = okrd_err_set(err, OKRD_EIO, "report %s: chmod: %s", path, strerror(errno));
    if (!rc && fsync(fd) != 0)
        rc = okrd_err_set(err, OKRD_EIO, "report %s: fsync: %s", path, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = okrd_err_set(err, OKRD_EIO, "report %s: close: %s", path, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = okrd_err_set(err, OKRD_EIO, "report %s: rename: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
out:
    free(tmp);
    free(text);
    return rc;
}

int csv_report_write_json(const struct csv_report *rep, const char *file_name,
                          const char *sha256, const char *path, struct okrd_err *err)
{
    json_t *root = report_json(rep, file_name, sha256);
    if (!root)
        return okrd_err_set(err, OKRD_ENOMEM, "report %s: out of memory", path);
    int rc = write_json_atomic(root, path, err);
    json_decref(root);
    return rc;
}

char *csv_report_json_text(const struct csv_report *rep, const char *file_name,
                           const char *sha256)
{
    json_t *root = report_json(rep, file_name, sha256);
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

int csv_report_write_logged(const char *text, const char *file_name, const char *path,
                            struct okrd_err *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return okrd_err_set(err, OKRD_EINVAL,
                            "report %s: the report in the ingest log is not a JSON object "
                            "(%s)", path, root ? "another JSON value" : jerr.text);
    }
    int rc = 0;
    if (json_object_set_new(root, "file", utf8_string(file_name ? file_name : "")) != 0)
        rc = okrd_err_set(err, OKRD_ENOMEM, "report %s: out of memory", path);
    else
        rc = write_json_atomic(root, path, err);
    json_decref(root);
    return rc;
}

/* ---- SHA-256 ---- */

int csv_sha256_fd(int fd, char hex[65], struct okrd_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = 0;
    char *buf = malloc(64 * 1024);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "sha256: cannot start a digest");
        goto out;
    }
    for (off_t off = 0;;) {
        ssize_t n = pread(fd, buf, 64 * 1024, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = okrd_err_set(err, OKRD_EIO, "sha256: read: %s", strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        off += n;
    }
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        rc = okrd_err_set(err, OKRD_EIO, "sha256: digest failed");
        goto out;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    return rc;
}
