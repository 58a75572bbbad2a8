/*
 * csv_ingest.c — see csv_ingest.h. Points go to the store in batches of
 * up to BATCH points inside the file's one transaction (store_put_points_bulk, which
 * sorts each batch by metric and time before the B-tree sees it: the
 * bigger the batch, the fewer times each page is visited). The reader hands
 * out one point at a time with a metric string valid only during the call,
 * so each batch interns its metric ids in an arena: one copy and one
 * pointer per distinct id, which the store then recognises by pointer.
 *
 * A file of PIPE_MIN bytes or more is read on a thread of its own while the
 * calling thread (the store's writer: it alone touches the connection)
 * stores the batch before: parsing and validating on one core, inserting on
 * the other. Two batches take turns, so the reader is at most one batch
 * ahead and memory stays bounded. Batches are stored in file order, so the
 * last row of a repeated metric+timestamp still wins.
 */
#include "csv_ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 16384            /* points, a power of two */
#define BATCH_MIN 64
#define ID_MAX 128             /* bytes in a metric id */
#define PIPE_MIN (1 << 20)     /* bytes: below, one thread (a thread costs more than it saves) */

/* Points and the metric ids they point at. */
struct batch {
    size_t cap;              /* points, a power of two: BATCH, less for a small file */
    struct store_point_in *pts;
    /* the batch's distinct metric ids: open addressing over offsets into
     * arena (slot = offset + 1; 2 * cap slots), and their list (cap) for
     * remember_metric */
    uint32_t *slots;
    uint32_t *names;
    size_t n_names;
    char *arena;             /* cap * (ID_MAX + 1) bytes: pages are only
                              * resident once used, so few metrics cost little */
    size_t arena_len;
    size_t n;
};

struct progress {
    csv_ingest_progress_cb cb;
    void *ctx;
    const char *path;
    int64_t total, next; /* the next call is due at offset `next` */
};

/* One file's read and store. Without a reader thread, the reader stores a
 * full batch itself; with one, `mu` guards what the two threads share. */
struct ingest {
    struct store *st;
    const char *source;        /* recorded as the source of each metric stored */
    struct csv_ingest_result *res;
    struct okrd_err *err;      /* the storing side's */
    int64_t stored;
    struct progress *prog;     /* NULL: none */
    struct batch *buf[2];      /* owned; buf[1] only with a reader thread */
    struct batch *cur;         /* the one the reader fills */
    bool threaded;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch *full;        /* handed over, not taken yet */
    struct batch *spare;       /* stored, free for the reader */
    bool read_done, stop;
    int64_t offset;            /* the reader's position, for progress */
    /* the reader thread's input and outcome */
    int fd;
    const struct csv_reader_opts *opts;
    struct csv_report *rep;
    int read_rc;
    struct okrd_err read_err;
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

static void batch_clear(struct batch *b)
{
    b->n = 0;
    b->n_names = 0;
    b->arena_len = 0;
    memset(b->slots, 0, 2 * b->cap * sizeof *b->slots);
}

static void batch_free(struct batch *b)
{
    if (b) {
        free(b->pts);
        free(b->slots);
        free(b->names);
        free(b->arena);
    }
    free(b);
}

/* Room for CAP points. A batch full before the file ends is simply stored,
 * so CAP only trades memory against the store's work per point: a small
 * file (thousands of them in an inbox's backlog) gets a small batch. */
static struct batch *batch_new(size_t cap)
{
    struct batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = cap;
    b->pts = malloc(cap * sizeof *b->pts);
    b->slots = malloc(2 * cap * sizeof *b->slots);
    b->names = malloc(cap * sizeof *b->names);
    b->arena = malloc(cap * (ID_MAX + 1));
    if (!b->pts || !b->slots || !b->names || !b->arena) {
        batch_free(b);
        return NULL;
    }
    batch_clear(b);
    return b;
}

/* A file of SIZE bytes: a row of the long layout takes 6 bytes at least
 * ("m,1,1" and a newline), so size / 8 points is about what it holds. */
static size_t batch_cap_for(int64_t size)
{
    size_t cap = BATCH_MIN;
    while (cap < BATCH && (int64_t)cap < size / 8)
        cap *= 2;
    return cap;
}

/* On the store's thread. */
static int store_batch(struct ingest *g, struct batch *b)
{
    if (b->n == 0)
        return 0;
    /* Shutting down: stop reading; the caller rolls back, and the file
     * (still in the inbox) is read again at the next start. */
    if (store_stop_requested(g->st))
        return okrd_err_set(g->err, OKRD_ECANCELED,
                            "stopping: the file is left as it is and read again at the next start");
    int rc = store_put_points_bulk(g->st, g->source, b->pts, b->n, g->err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < b->n_names; i++)
        if ((rc = remember_metric(g->res, b->arena + b->names[i])) < 0)
            return okrd_err_set(g->err, rc, "out of memory");
    g->stored += (int64_t)b->n;
    batch_clear(b);
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
    size_t mask = 2 * b->cap - 1;
    size_t k = (size_t)h & mask;
    for (; b->slots[k]; k = (k + 1) & mask) {
        const char *m = b->arena + b->slots[k] - 1;
        if (!strncmp(m, metric, len) && m[len] == '\0')
            return m;
    }
    char *m = b->arena + b->arena_len; /* room: at most cap names per batch */
    memcpy(m, metric, len);
    m[len] = '\0';
    b->names[b->n_names++] = (uint32_t)b->arena_len;
    b->slots[k] = (uint32_t)b->arena_len + 1;
    b->arena_len += len + 1;
    return m;
}

/* On the reader's thread: hands the full batch over and takes the spare
 * one once it is stored. OKRD_ECANCELED when the storing side stopped. */
static int hand_over(struct ingest *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->full && !g->stop)
        pthread_cond_wait(&g->cv, &g->mu);
    if (!g->stop) {
        g->full = g->cur;
        g->cur = NULL;
        pthread_cond_broadcast(&g->cv);
        while (!g->spare && !g->stop)
            pthread_cond_wait(&g->cv, &g->mu);
        if (!g->stop) {
            g->cur = g->spare;
            g->spare = NULL;
        }
    }
    int rc = g->stop ? OKRD_ECANCELED : 0;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

static int on_point(void *ctx, const char *metric, int64_t ts, double value)
{
    struct ingest *g = ctx;
    struct batch *b = g->cur;
    const char *m = intern(b, metric, strlen(metric));
    if (!m)
        return OKRD_ENOMEM;
    b->pts[b->n] = (struct store_point_in){ m, ts, value };
    if (++b->n < b->cap)
        return 0;
    return g->threaded ? hand_over(g) : store_batch(g, b);
}

static void on_progress(void *ctx, int64_t offset)
{
    struct progress *p = ctx;
    if (offset < p->next && offset < p->total)
        return;
    p->cb(p->ctx, p->path, offset, p->total);
    int64_t step = p->total / 100 > 0 ? p->total / 100 : 1;
    p->next = offset + step;
}

/* The reader thread's progress: only noted; the storing thread reports it
 * (the caller's callback runs on the caller's thread). */
static void note_offset(void *ctx, int64_t offset)
{
    struct ingest *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->offset = offset;
    pthread_mutex_unlock(&g->mu);
}

static void report_progress(struct ingest *g)
{
    if (!g->prog)
        return;
    pthread_mutex_lock(&g->mu);
    int64_t offset = g->offset;
    pthread_mutex_unlock(&g->mu);
    on_progress(g->prog, offset);
}

static void *reader_main(void *arg)
{
    struct ingest *g = arg;
    g->read_rc = csv_read_fd(g->fd, g->opts, on_point, g, g->rep, &g->read_err);
    pthread_mutex_lock(&g->mu);
    if (g->read_rc == 0 && g->cur && g->cur->n > 0) { /* the last batch, part full */
        while (g->full && !g->stop)
            pthread_cond_wait(&g->cv, &g->mu);
        if (!g->stop) {
            g->full = g->cur;
            g->cur = NULL;
        }
    }
    g->read_done = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Reads the file on a thread and stores its batches here, in file order.
 * Returns the store's error if it failed, else the reader's outcome (with
 * its message in *err); OKRD_ENOMEM (nothing read) if the thread cannot
 * start, so the caller may read the file on one thread instead. */
static int read_and_store_threaded(struct ingest *g, struct csv_reader_opts *o)
{
    if (!g->buf[1] && !(g->buf[1] = batch_new(g->buf[0]->cap)))
        return OKRD_ENOMEM;
    if (pthread_mutex_init(&g->mu, NULL))
        return OKRD_ENOMEM;
    if (pthread_cond_init(&g->cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        return OKRD_ENOMEM;
    }
    struct csv_reader_opts inline_opts = *o;
    g->threaded = true;
    g->spare = g->buf[1];
    g->full = NULL;
    g->read_done = g->stop = false;
    g->offset = 0;
    g->opts = o;
    if (g->prog) {
        o->progress = note_offset;
        o->progress_ctx = g;
    }
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, g)) {
        g->threaded = false;
        g->spare = NULL;
        *o = inline_opts;
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        return OKRD_ENOMEM;
    }
    int rc = 0;
    for (;;) {
        pthread_mutex_lock(&g->mu);
        while (!g->full && !g->read_done)
            pthread_cond_wait(&g->cv, &g->mu);
        struct batch *b = g->full;
        g->full = NULL;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (!b)
            break; /* read to the end (or stopped) and all stored */
        rc = store_batch(g, b);
        batch_clear(b); /* stored, or not needed any more */
        pthread_mutex_lock(&g->mu);
        g->spare = b;
        if (rc)
            g->stop = true; /* the reader stops at its next hand-over */
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        if (rc)
            break;
        report_progress(g);
    }
    pthread_join(reader, NULL);
    if (rc == 0) {
        report_progress(g);
        if ((rc = g->read_rc) != 0)
            *g->err = g->read_err;
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    return rc;
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
    struct ingest *g = NULL;
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
    g = calloc(1, sizeof *g);
    if (!g || !(g->buf[0] = batch_new(batch_cap_for((int64_t)before.st_size)))) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    g->st = w;
    g->source = src->id;
    g->res = res;
    g->err = err;
    g->cur = g->buf[0];
    g->fd = fd;
    g->rep = rep;
    struct progress prog = { progress, progress_ctx, path, (int64_t)before.st_size, 0 };
    struct csv_reader_opts o = { .cfg = &src->u.csv, .tz = tz };
    if (progress) {
        g->prog = &prog;
        o.progress = on_progress;
        o.progress_ctx = &prog;
    }
    /* A big file: its transaction without the per-point foreign-key check. */
    if ((rc = before.st_size >= PIPE_MIN ? store_begin_bulk(w, err) : store_begin(w, err)) < 0)
        goto out;
    if (before.st_size >= PIPE_MIN)
        rc = read_and_store_threaded(g, &o);
    if (!g->threaded) { /* a small file, or no thread to be had */
        rc = csv_read_fd(fd, &o, on_point, g, rep, err);
        if (rc == 0)
            rc = store_batch(g, g->cur);
    }
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
    res->points = g->stored;
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
    if (g) {
        batch_free(g->buf[0]);
        batch_free(g->buf[1]);
    }
    free(g);
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
