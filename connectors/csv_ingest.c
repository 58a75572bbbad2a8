/*
 * csv_ingest.c — see csv_ingest.h. Points go to the store in batches of
 * BATCH inside the file's one transaction (store_put_points_bulk, which
 * sorts each batch by metric and time before the B-tree sees it: the
 * bigger the batch, the fewer times each page is visited). The reader hands
 * out one point at a time with a metric string valid only during the call,
 * so each batch interns its metric ids in an arena: one copy and one
 * pointer per distinct id, which the store then recognises by pointer.
 */
#include "csv_ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 16384
#define NAME_SLOTS (2 * BATCH) /* a power of two, at least twice the names of a batch */
#define ID_MAX 128             /* bytes in a metric id */

struct batch {
    struct store *st;
    struct store_point_in pts[BATCH];
    /* the batch's distinct metric ids: open addressing over offsets into
     * arena (slot = offset + 1), and their list for remember_metric */
    uint32_t slots[NAME_SLOTS];
    uint32_t names[BATCH];
    size_t n_names;
    char *arena;             /* BATCH * (ID_MAX + 1) bytes: pages are only
                              * resident once used, so few metrics cost little */
    size_t arena_len;
    size_t n;
    int64_t stored;
    struct csv_ingest_result *res;
    struct okrd_err *err;
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Adds METRIC to the distinct metric ids of the file. Called once per point
 * of a changing metric, so a long file interleaving 100 metrics must not
 * scan the list each time: an open-addressing index keeps it O(1). */
static int remember_metric(struct csv_ingest_result *res, const char *metric)
{
    if (res->n_metrics * 2 >= res->n_slots) {
        size_t n = res->n_slots ? res->n_slots * 2 : 64;
        size_t *slots = calloc(n, sizeof *slots);
        if (!slots)
            return OKRD_ENOMEM;
        for (size_t i = 0; i < res->n_metrics; i++) {
            size_t k = name_hash(res->metrics[i]) & (n - 1);
            while (slots[k])
                k = (k + 1) & (n - 1);
            slots[k] = i + 1;
        }
        free(res->slots);
        res->slots = slots;
        res->n_slots = n;
    }
    size_t k = name_hash(metric) & (res->n_slots - 1);
    for (; res->slots[k]; k = (k + 1) & (res->n_slots - 1))
        if (!strcmp(res->metrics[res->slots[k] - 1], metric))
            return 0;
    char **m = realloc(res->metrics, (res->n_metrics + 1) * sizeof *m);
    if (!m)
        return OKRD_ENOMEM;
    res->metrics = m;
    if (!(m[res->n_metrics] = strdup(metric)))
        return OKRD_ENOMEM;
    res->slots[k] = ++res->n_metrics;
    return 0;
}

static int flush(struct batch *b)
{
    if (b->n == 0)
        return 0;
    /* Shutting down: stop reading; the caller rolls back, and the file
     * (still in the inbox) is read again at the next start. */
    if (store_stop_requested(b->st))
        return okrd_err_set(b->err, OKRD_ECANCELED,
                            "stopping: the file is left as it is and read again at the next start");
    int rc = store_put_points_bulk(b->st, b->pts, b->n, b->err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < b->n_names; i++)
        if ((rc = remember_metric(b->res, b->arena + b->names[i])) < 0)
            return okrd_err_set(b->err, rc, "out of memory");
    b->stored += (int64_t)b->n;
    b->n = 0;
    b->n_names = 0;
    b->arena_len = 0;
    memset(b->slots, 0, sizeof b->slots);
    return 0;
}

/* The batch's copy of METRIC (LEN bytes): the same pointer for the same id. */
static const char *intern(struct batch *b, const char *metric, size_t len)
{
    if (len > ID_MAX) /* the reader validated ids; cannot happen */
        return NULL;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)metric[i]) * 1099511628211ull;
    size_t k = (size_t)h & (NAME_SLOTS - 1);
    for (; b->slots[k]; k = (k + 1) & (NAME_SLOTS - 1)) {
        const char *m = b->arena + b->slots[k] - 1;
        if (!strncmp(m, metric, len) && m[len] == '\0')
            return m;
    }
    char *m = b->arena + b->arena_len; /* room: at most BATCH names per batch */
    memcpy(m, metric, len);
    m[len] = '\0';
    b->names[b->n_names++] = (uint32_t)b->arena_len;
    b->slots[k] = (uint32_t)b->arena_len + 1;
    b->arena_len += len + 1;
    return m;
}

static int on_point(void *ctx, const char *metric, int64_t ts, double value)
{
    struct batch *b = ctx;
    const char *m = intern(b, metric, strlen(metric));
    if (!m)
        return okrd_err_set(b->err, OKRD_ENOMEM, "out of memory");
    b->pts[b->n] = (struct store_point_in){ m, ts, value };
    if (++b->n == BATCH)
        return flush(b);
    return 0;
}

struct progress {
    csv_ingest_progress_cb cb;
    void *ctx;
    const char *path;
    int64_t total, next; /* the next call is due at offset `next` */
};

static void on_progress(void *ctx, int64_t offset)
{
    struct progress *p = ctx;
    if (offset < p->next && offset < p->total)
        return;
    p->cb(p->ctx, p->path, offset, p->total);
    int64_t step = p->total / 100 > 0 ? p->total / 100 : 1;
    p->next = offset + step;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int log_ingest(struct store *w, const struct cfg_source *src, const char *path,
                      const struct csv_ingest_result *res, int64_t now_s, struct okrd_err *err)
{
    struct store_ingest in = {
        .source = src->id, .name = base_name(path), .sha256 = res->sha256,
        .rows = res->outcome == CSV_REJECTED ? 0 : res->rep->rows_ok,
        .outcome = csv_outcome_name(res->outcome), .at_s = now_s,
        .report = res->outcome == CSV_PARTIAL ? res->report_json : NULL,
    };
    return store_log_ingest(w, &in, err);
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ino == b->st_ino;
}

int csv_ingest_file(struct store *w, const char *path, const struct cfg_source *src,
                    const struct okrd_tz *tz, int64_t now_s, unsigned flags,
                    struct csv_ingest_result *res, struct okrd_err *err)
{
    struct csv_report *rep = res->rep;
    csv_ingest_progress_cb progress = res->progress;
    void *progress_ctx = res->progress_ctx;
    memset(res, 0, sizeof *res);
    res->rep = rep;
    res->progress = progress;
    res->progress_ctx = progress_ctx;
    memset(rep, 0, sizeof *rep);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return okrd_err_set(err, OKRD_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat before, after;
    struct batch *b = NULL;
    int rc;
    if (fstat(fd, &before) < 0) {
        rc = okrd_err_set(err, OKRD_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(before.st_mode)) {
        rc = okrd_err_set(err, OKRD_EINVAL, "%s: not a regular file", path);
        goto out;
    }
    if ((rc = csv_sha256_fd(fd, res->sha256, err)) < 0)
        goto out;
    if (!(flags & CSV_INGEST_FORCE)) {
        bool seen = false;
        if ((rc = store_ingest_seen(w, src->id, res->sha256, &seen, &res->report_json, err)) < 0)
            goto out;
        if (seen) {
            res->outcome = CSV_DUPLICATE;
            goto out;
        }
    }
    if (!(b = malloc(sizeof *b))) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    memset(b->slots, 0, sizeof b->slots);
    b->n_names = 0;
    b->arena_len = 0;
    if (!(b->arena = malloc((size_t)BATCH * (ID_MAX + 1)))) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    b->st = w;
    b->n = 0;
    b->stored = 0;
    b->res = res;
    b->err = err;
    struct progress prog = { progress, progress_ctx, path, (int64_t)before.st_size, 0 };
    struct csv_reader_opts o = { .cfg = &src->u.csv, .tz = tz };
    if (progress) {
        o.progress = on_progress;
        o.progress_ctx = &prog;
    }
    if ((rc = store_begin(w, err)) < 0)
        goto out;
    rc = csv_read_fd(fd, &o, on_point, b, rep, err);
    if (rc == 0)
        rc = flush(b);
    bool reject = rc == OKRD_EINVAL ||
                  (rc == 0 && rep->n_errors_total > 0 &&
                   src->u.csv.on_error == CFG_ON_ERROR_REJECT_FILE);
    if (rc < 0 && !reject) {
        store_rollback(w);
        goto out;
    }
    if (fstat(fd, &after) < 0 || !same_file_state(&before, &after)) {
        store_rollback(w);
        rc = okrd_err_set(err, OKRD_EBUSY, "%s: changed while it was read; read again later", path);
        goto out;
    }
    if (reject) {
        /* Nothing of a rejected file is kept; its log row stands alone. */
        store_rollback(w);
        csv_ingest_result_free(res);
        res->outcome = CSV_REJECTED;
        okrd_err_clear(err);
        rc = log_ingest(w, src, path, res, now_s, err);
        goto out;
    }
    res->outcome = rep->n_errors_total > 0 ? CSV_PARTIAL : CSV_INGESTED;
    res->points = b->stored;
    if (res->outcome == CSV_PARTIAL &&
        !(res->report_json = csv_report_json_text(rep, base_name(path), res->sha256))) {
        store_rollback(w);
        res->points = 0;
        rc = okrd_err_set(err, OKRD_ENOMEM, "%s: out of memory for its report", path);
        goto out;
    }
    if ((rc = log_ingest(w, src, path, res, now_s, err)) < 0 ||
        (rc = store_commit(w, err)) < 0) {
        store_rollback(w);
        res->points = 0;
    }
out:
    if (b)
        free(b->arena);
    free(b);
    close(fd);
    return rc;
}

void csv_ingest_result_free(struct csv_ingest_result *res)
{
    for (size_t i = 0; i < res->n_metrics; i++)
        free(res->metrics[i]);
    free(res->metrics);
    free(res->slots);
    free(res->report_json);
    res->report_json = NULL;
    res->metrics = NULL;
    res->n_metrics = 0;
    res->slots = NULL;
    res->n_slots = 0;
}

const char *csv_outcome_name(enum csv_outcome o)
{
    switch (o) {
    case CSV_INGESTED: return "ingested";
    case CSV_PARTIAL: return "partial";
    case CSV_REJECTED: return "rejected";
    default: return "duplicate";
    }
}
