/*
 * conn_csv_dir.c — the csv_dir source (DESIGN section 3): a watched inbox.
 *
 * Owns watching and ordering, on the loop: inotify (IN_MOVED_TO,
 * IN_CLOSE_WRITE) under a uv_poll (uv_fs_event does not report a writer
 * closing a file), a scan at start-up and every `rescan`, the queue of
 * waiting files in arrival order (csv_queue.c), and the settle wait of files
 * a scan found. Everything that touches a file's content is a writer-thread
 * job (csv_dir_job.c: csv_ingest_file, the same code as `okrd ingest`, then
 * the sync, the move and the report); names and timing are csv_inbox.c's
 * pure decisions.
 *
 * Invariants:
 *  - At most one job is in the store's writer at a time: one file to read
 *    (and commit), with the moves of files read before it. Files go in
 *    queue order (a scan queues older mtimes first): a correction dropped
 *    after the file it corrects is always read after it, so it wins. A
 *    file still settling at the head holds the others back for that
 *    reason. Each commit is told to the daemon before the next file is
 *    read, so its key results are evaluated with it.
 *  - The loop never reads a file, and nothing it does grows with the inbox
 *    in one piece (DESIGN section 1: an inbox may hold 100,000 files): a
 *    scan lists and stats the folder on libuv's thread pool and its list
 *    enters the queue SCAN_STEP names per loop turn; the queue answers "is
 *    this name waiting?" in O(1); a callback handles at most
 *    INOTIFY_READS_PER_TURN reads of events and PUMP_MAX_GONE vanished
 *    files, then lets the loop turn.
 *  - A file leaves the inbox only after its outcome is committed and synced
 *    (the ingest log holds its (source, sha256)), so a crash at any point
 *    leaves it either in the inbox (read again, or archived as a duplicate)
 *    or archived. The sync waits while more files are ready (pending[],
 *    up to CSV_DIR_BATCH_MAX): one fsync per run of files, not per file.
 *  - Every outcome is reported once through env->report; failures of the
 *    inbox itself (store, moves) when they start and when they end.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/conn.h"
#include "connectors/csv_inbox.h"
#include "connectors/csv_dir_job.h"
#include "connectors/csv_inbox_fs.h"
#include "connectors/csv_queue.h"

/* Names a scan moves into the queue per loop turn: ~0.1 ms of hashing and
 * mallocs, so /healthz waits for no scan, whatever the inbox holds. */
#define SCAN_STEP 1024
/* inotify reads (16 KiB, ~400 events each) per callback; the poll is
 * level-triggered, so the rest comes on the next loop turn. */
#define INOTIFY_READS_PER_TURN 16
/* Vanished files dropped from the head of the queue per loop turn (one
 * lstat each). */
#define PUMP_MAX_GONE 256
/* A committed file's move waits for the next file's read only when that
 * file is at most this big (~10 ms to read). */
#define DEFER_MAX_BYTES (256 * 1024)

/* One scan: listed on a thread-pool worker, then merged into the queue in
 * steps on the loop. */
struct scan {
    uv_work_t req;
    struct conn *c;
    char *inbox;               /* the worker's own copy */
    int64_t started_ms;
    /* worker results */
    int err;                   /* errno: the inbox could not be listed; 0 = listed */
    struct csv_inbox_entry *list; /* sorted: older first, then by name */
    size_t n;
    /* loop side */
    bool listed;               /* the worker is done; merging */
    size_t pos;                /* list[pos..n) still to merge */
    int64_t listed_ms;
};

struct conn {
    const struct cfg_source *src;
    const struct conn_env *env;
    const char *inbox;
    int ifd;                   /* inotify */
    int wd;                    /* the inbox's watch; -1 once lost */
    uv_poll_t poll;
    uv_timer_t rescan;         /* the start-up scan, then every `rescan` */
    uv_timer_t settle;         /* the head is settling, or the pump goes on next turn */
    uv_idle_t merge;           /* a listed scan enters the queue, a step per turn */
    struct csv_queue queue;
    struct csv_dir_batch *running; /* the job in the writer, at most one */
    /* Files read and committed, waiting for the sync that lets them leave
     * the inbox (their outcome is reported then); owned. */
    struct csv_dir_job *pending[CSV_DIR_BATCH_MAX];
    size_t n_pending;
    struct scan *scan;         /* the scan under way, or NULL */
    bool scan_again;           /* events were lost during it: scan once more */
    /* Failures of the inbox itself, each logged when it starts and when it
     * ends: files (the store, moving a file) and the folder (listing,
     * watching). Two flags, so a good scan does not hide a failing store. */
    bool files_failing, folder_failing;
    bool closing;
    int handles_open;
    void (*on_closed)(void *arg);
    void *closed_arg;
};

static void report(struct conn *c, enum cfg_log_level level, const char *event,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct conn *c, enum cfg_log_level level, const char *event,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->env->report(c->env->ctx, level, c->src->id, event, msg);
}

static int64_t now_ms(const struct conn *c) { return okrd_clock_now_ms(c->env->clock); }

static void pump(struct conn *c);
static void maybe_finish(struct conn *c);

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* ---- the queue ---- */

/* true when NAME is a file read or being read, not yet moved: in the
 * writer's job or waiting for its sync. */
static bool is_taken(const struct conn *c, const char *name)
{
    const struct csv_dir_batch *b = c->running;
    if (b && b->read && !strcmp(b->read->name, name))
        return true;
    for (size_t i = 0; b && i < b->n_moves; i++)
        if (!strcmp(b->moves[i]->name, name))
            return true;
    for (size_t i = 0; i < c->n_pending; i++)
        if (!strcmp(c->pending[i]->name, name))
            return true;
    return false;
}

/* Queues NAME (once: a name already waiting keeps its place and learns of
 * the event). Files taken are not in the queue, so an event for one while
 * it is read queues it again, to be looked at once it was moved. */
static void enqueue(struct conn *c, const char *name, bool by_event,
                    const struct csv_inbox_entry *listed, int64_t listed_at_ms)
{
    struct csv_queue_entry *e = csv_queue_find(&c->queue, name);
    if (e) {
        e->f.by_event |= by_event;
        return;
    }
    if ((e = csv_queue_entry_new(name))) {
        e->f.by_event = by_event;
        /* The listing is the first look (csv_inbox_wait_looks_ms): a backlog
         * found by one scan need not wait settle per file at the head. */
        if (listed)
            csv_inbox_observe(&e->f, listed->mtime_ms, listed->size, listed_at_ms);
        if (csv_queue_add(&c->queue, e, false) == 1)
            return;
        free(e);
    }
    report(c, CFG_LOG_ERROR, "inbox_failed", "%s: out of memory; a rescan retries", name);
}

/* A failure of the inbox itself: logged when it starts, quiet while it
 * lasts; recovered() logs its end. */
static void failed(struct conn *c, bool *flag, const char *msg)
{
    report(c, *flag ? CFG_LOG_DEBUG : CFG_LOG_ERROR, "inbox_failed", "%s", msg);
    *flag = true;
}

static void recovered(struct conn *c, bool *flag)
{
    if (*flag)
        report(c, CFG_LOG_INFO, "inbox_recovered", "inbox %s works again", c->inbox);
    *flag = false;
}

/* ---- scanning ---- */

static void scan_free(struct scan *s)
{
    if (!s)
        return;
    csv_inbox_list_free(s->list, s->pos, s->n);
    free(s->inbox);
    free(s);
}

/* The worker (libuv's thread pool). Touches only the struct scan. */
static void scan_list(uv_work_t *req)
{
    struct scan *s = req->data;
    int rc = csv_inbox_list(s->inbox, &s->list, &s->n);
    s->err = rc < 0 ? -rc : 0;
}

static void start_scan(struct conn *c);

static void scan_finished(struct conn *c)
{
    struct scan *s = c->scan;
    uv_idle_stop(&c->merge);
    report(c, CFG_LOG_DEBUG, "inbox_scanned",
           "%zu files listed in %lld ms (off the loop), queued in %lld ms; %zu waiting",
           s->n, (long long)(s->listed_ms - s->started_ms),
           (long long)(now_ms(c) - s->listed_ms), csv_queue_len(&c->queue));
    scan_free(s);
    c->scan = NULL;
    if (c->scan_again && !c->closing) {
        c->scan_again = false;
        start_scan(c);
    }
}

/* A step of the merge: the next SCAN_STEP names of the list into the queue
 * (those not waiting or running already), then the pump. */
static void on_merge(uv_idle_t *h)
{
    struct conn *c = h->data;
    struct scan *s = c->scan;
    size_t end = s->n - s->pos > SCAN_STEP ? s->pos + SCAN_STEP : s->n;
    for (; s->pos < end; s->pos++) {
        char *name = s->list[s->pos].name;
        if (!is_taken(c, name))
            enqueue(c, name, false, &s->list[s->pos], s->listed_ms);
        free(name);
    }
    if (s->pos == s->n)
        scan_finished(c);
    pump(c);
}

static void scan_listed(uv_work_t *req, int status)
{
    struct scan *s = req->data;
    struct conn *c = s->c;
    if (c->closing || status < 0) {
        scan_free(s);
        c->scan = NULL;
        if (c->closing)
            maybe_finish(c);
        return;
    }
    s->listed = true;
    s->listed_ms = now_ms(c);
    if (s->err) {
        char msg[OKRD_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "inbox %s: cannot list: %s", c->inbox, strerror(s->err));
        failed(c, &c->folder_failing, msg);
        scan_finished(c);
        return;
    }
    if (c->wd >= 0)
        recovered(c, &c->folder_failing);
    uv_idle_start(&c->merge, on_merge);
}

/* Lists the inbox off the loop and queues the files not queued yet, older
 * first. One scan at a time: asked for during one (events were lost), it
 * runs again once this one is merged. */
static void start_scan(struct conn *c)
{
    if (c->scan) {
        c->scan_again = true;
        return;
    }
    struct scan *s = calloc(1, sizeof *s);
    if (!s || !(s->inbox = strdup(c->inbox))) {
        free(s);
        report(c, CFG_LOG_ERROR, "inbox_failed", "inbox %s: out of memory for a scan", c->inbox);
        return;
    }
    s->c = c;
    s->req.data = s;
    s->started_ms = now_ms(c);
    int rc = uv_queue_work(c->env->loop, &s->req, scan_list, scan_listed);
    if (rc < 0) {
        report(c, CFG_LOG_ERROR, "inbox_failed", "inbox %s: cannot start a scan: %s", c->inbox,
               uv_strerror(rc));
        scan_free(s);
        return;
    }
    c->scan = s;
}

/* ---- the loop side of a writer job ---- */

/* A file's commit, told to the daemon when it is read: its key results are
 * evaluated before the next file is (the evaluation is queued in the
 * writer ahead of it). */
static void job_committed(struct conn *c, const struct csv_dir_job *j)
{
    if (j->end == CSV_DIR_DONE && j->res.points > 0 && c->env->on_committed)
        c->env->on_committed(c->env->ctx, c->src->id, (const char *const *)j->res.metrics,
                             j->res.n_metrics, j->res.points);
    if (j->health_known && c->env->on_health)
        c->env->on_health(c->env->ctx, c->src->id, j->health_ok, &j->health);
}

/* What became of a file, logged once it is final (moved, or not). */
static void job_reported(struct conn *c, const struct csv_dir_job *j)
{
    if (j->end == CSV_DIR_RETRY) {
        report(c, CFG_LOG_DEBUG, "file_changed", "%s", j->problem);
    } else if (j->end == CSV_DIR_GONE) {
        report(c, CFG_LOG_DEBUG, "file_gone", "%s: no longer a regular file in the inbox",
               j->name);
    } else if (j->end == CSV_DIR_FAILED) {
        failed(c, &c->files_failing, j->problem);
    } else {
        enum cfg_log_level level;
        const char *event;
        char msg[1024];
        csv_dir_job_message(j, c->files_failing, &level, &event, msg, sizeof msg);
        c->env->report(c->env->ctx, level, c->src->id, event, msg);
        if (j->problem[0])
            failed(c, &c->files_failing, j->problem); /* a sync, move or report failed */
        else if (j->subdir)
            recovered(c, &c->files_failing);
    }
}

static void free_pending(struct conn *c)
{
    for (size_t i = 0; i < c->n_pending; i++)
        csv_dir_job_free(c->pending[i]);
    c->n_pending = 0;
}

static bool submit(struct conn *c, struct csv_queue_entry *e, bool flush);

static void batch_done(void *arg, int rc, const struct okrd_err *err)
{
    struct csv_dir_batch *b = arg;
    struct conn *c = b->owner;
    struct csv_dir_job *j = b->read;
    c->running = NULL;
    if (rc < 0) {
        /* The writer closed before the job ran (shutdown, OKRD_ECANCELED)
         * or failed it: nothing of it was done. The files stay in the inbox
         * (those committed before come back as duplicates). */
        if (rc != OKRD_ECANCELED)
            failed(c, &c->files_failing, err->msg);
    } else {
        if (j)
            job_committed(c, j);
        for (size_t i = 0; i < b->n_moves; i++)
            job_reported(c, b->moves[i]);
        if (j && j->end == CSV_DIR_DONE && !b->flush) {
            c->pending[c->n_pending++] = j; /* moved with the next sync */
            b->read = NULL;
        } else if (j) {
            job_reported(c, j);
        }
        /* Read again, after settling again, ahead of later files. */
        struct csv_queue_entry *e;
        if (j && j->end == CSV_DIR_RETRY && !c->closing && !csv_queue_find(&c->queue, j->name) &&
            (e = csv_queue_entry_new(j->name)) && csv_queue_add(&c->queue, e, true) != 1)
            free(e); /* out of memory: a rescan finds it */
    }
    csv_dir_batch_free(b);
    if (!c->closing) {
        pump(c);
        return;
    }
    /* Closing: files read but not moved leave the inbox before we go. */
    if (c->n_pending == 0 || !submit(c, NULL, true))
        free_pending(c);
    maybe_finish(c);
}

/* Hands the writer a job: read E (taken from the queue; NULL = none), and
 * with FLUSH sync and move it and the files pending. false if the writer
 * cannot take it (out of memory, shutting down): E goes back to the front
 * of the queue, pending files stay pending. */
static bool submit(struct conn *c, struct csv_queue_entry *e, bool flush)
{
    struct csv_dir_batch *b = csv_dir_batch_new(c);
    if (b && e &&
        !(b->read = csv_dir_job_new(c, c->src, c->env->tz, okrd_clock_now_s(c->env->clock),
                                    e->name))) {
        free(b);
        b = NULL;
    }
    if (b && flush) {
        memcpy(b->moves, c->pending, c->n_pending * sizeof *c->pending);
        b->n_moves = c->n_pending;
        b->flush = true;
    }
    if (!b || store_writer_submit(c->env->writer, csv_dir_batch_run, batch_done, b) < 0) {
        if (b) {
            b->n_moves = 0; /* still c->pending's */
            csv_dir_batch_free(b);
        }
        if (e && csv_queue_add(&c->queue, e, true) != 1)
            free(e);
        return false;
    }
    if (flush)
        c->n_pending = 0; /* the batch's now */
    c->running = b;
    if (e) {
        report(c, CFG_LOG_DEBUG, "file_started", "%s: reading", e->name);
        free(e);
    }
    return true;
}

static void on_settle(uv_timer_t *t)
{
    pump(t->data);
}

/* Whether the head of the queue (a stat of it) may be read now, and its
 * size; when not, *wait_ms says for how long it settles (0: it is gone). */
static bool head_ready(struct conn *c, int64_t *wait_ms, int64_t *size)
{
    struct csv_queue_entry *e = csv_queue_head(&c->queue);
    struct stat st;
    char path[PATH_MAX];
    *wait_ms = 0;
    *size = 0;
    if (!e || snprintf(path, sizeof path, "%s/%s", c->inbox, e->name) >= (int)sizeof path ||
        lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    int64_t now = now_ms(c);
    csv_inbox_observe(&e->f, mtime_ms(&st), (int64_t)st.st_size, now);
    *wait_ms = c->env->settle_by_looks
                   ? csv_inbox_wait_looks_ms(&e->f, now, c->src->u.csv.settle_ms)
                   : csv_inbox_wait_ms(&e->f, now, c->src->u.csv.settle_ms);
    *size = (int64_t)st.st_size;
    return *wait_ms == 0;
}

/* Hands the head of the queue to the writer when it is ready, with the
 * sync and the moves of the files read before it, unless the next file is
 * ready too, small (DEFER_MAX_BYTES: a file that waits for its move waits
 * for that read) and fewer than CSV_DIR_BATCH_MAX wait: then the moves come
 * with a later file's job. When the head is still settling, flushes what
 * is pending and comes back when it may be read. */
static void pump(struct conn *c)
{
    if (c->closing || c->running)
        return;
    uv_timer_stop(&c->settle);
    for (size_t gone = 0; csv_queue_head(&c->queue); gone++) {
        const char *name = csv_queue_head(&c->queue)->name;
        if (is_taken(c, name)) {
            /* Read before and not moved yet (an event named it again):
             * move it first, then look at the name again. */
            submit(c, NULL, true);
            return;
        }
        int64_t wait, size;
        if (head_ready(c, &wait, &size)) {
            struct csv_queue_entry *e = csv_queue_pop_front(&c->queue);
            bool flush = c->n_pending + 1 >= CSV_DIR_BATCH_MAX ||
                         !head_ready(c, &wait, &size) || size > DEFER_MAX_BYTES;
            submit(c, e, flush);
            return;
        }
        if (wait > 0) {
            if (c->n_pending > 0 && submit(c, NULL, true))
                return; /* the settle timer is armed once they are moved */
            uv_timer_start(&c->settle, on_settle, (uint64_t)wait, 0);
            return;
        }
        free(csv_queue_pop_front(&c->queue)); /* gone, or a symlink/folder renamed in */
        if (gone + 1 == PUMP_MAX_GONE) {
            uv_timer_start(&c->settle, on_settle, 0, 0); /* the rest next turn */
            return;
        }
    }
    if (c->n_pending > 0)
        submit(c, NULL, true); /* nothing else to read: move them */
}

/* ---- watching ---- */

static int add_watch(struct conn *c)
{
    c->wd = inotify_add_watch(c->ifd, c->inbox, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR);
    return c->wd < 0 ? -errno : 0;
}

static void on_inotify(uv_poll_t *p, int status, int events)
{
    struct conn *c = p->data;
    /* Aligned for struct inotify_event, as inotify(7) shows. */
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int reads = 0; reads < INOTIFY_READS_PER_TURN; reads++) {
        ssize_t n = read(c->ifd, buf, sizeof buf);
        if (n <= 0)
            break; /* EAGAIN: drained */
        for (char *q = buf; q < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)q;
            q += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                /* Events were lost: list the folder instead (again, if a
                 * scan under way may have listed it before they were). */
                if (c->scan)
                    c->scan_again = true;
                else
                    start_scan(c);
            }
            if (ev->mask & IN_IGNORED && ev->wd == c->wd) {
                c->wd = -1;
                failed(c, &c->folder_failing,
                       "the inbox folder was removed; a rescan creates it again");
            }
            if (ev->len && !(ev->mask & IN_ISDIR) && ev->wd == c->wd &&
                csv_inbox_name_ok(ev->name))
                enqueue(c, ev->name, true, NULL, 0);
        }
    }
    pump(c);
}

static void on_rescan(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->wd < 0) {
        struct okrd_err err = { 0 };
        int rc = csv_inbox_prepare(c->inbox, &err);
        if (rc == 0 && (rc = add_watch(c)) < 0)
            okrd_err_set(&err, OKRD_EIO, "inbox %s: cannot watch: %s", c->inbox, strerror(-rc));
        if (rc < 0) {
            failed(c, &c->folder_failing, err.msg);
            return;
        }
    }
    /* A scan still under way (a huge inbox, a slow disk) is this tick's. */
    if (!c->scan)
        start_scan(c);
}

/* ---- start and close ---- */

static void free_conn(struct conn *c)
{
    void (*cb)(void *) = c->on_closed;
    void *arg = c->closed_arg;
    csv_queue_clear(&c->queue);
    free_pending(c);
    if (c->ifd >= 0)
        close(c->ifd);
    free(c);
    if (cb)
        cb(arg);
}

/* Freed once its handles are closed, its job is back from the writer and
 * its scan's worker is done (a thread-pool job cannot be stopped). */
static void maybe_finish(struct conn *c)
{
    if (c->handles_open == 0 && !c->running && !c->scan)
        free_conn(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->handles_open--;
    maybe_finish(c);
}

static int csv_dir_start(struct conn **out, const struct cfg_source *src,
                         const struct conn_env *env, struct okrd_err *err)
{
    *out = NULL;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return okrd_err_set(err, OKRD_ENOMEM, "out of memory");
    c->src = src;
    c->env = env;
    c->inbox = src->u.csv.path;
    csv_queue_init(&c->queue);
    c->ifd = -1;
    int rc = csv_inbox_prepare(c->inbox, err);
    if (rc < 0)
        goto fail;
    if ((c->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
        rc = okrd_err_set(err, OKRD_EIO, "inbox %s: cannot start inotify: %s%s", c->inbox,
                          strerror(errno),
                          errno == EMFILE ? " (raise fs.inotify.max_user_instances)" : "");
        goto fail;
    }
    if ((rc = add_watch(c)) < 0) {
        rc = okrd_err_set(err, OKRD_EIO, "inbox %s: cannot watch: %s%s", c->inbox,
                          strerror(-rc),
                          rc == -ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
        goto fail;
    }
    /* uv_poll_init checks the fd before it initialises anything, so a
     * failure here still has nothing to close asynchronously. */
    if ((rc = uv_poll_init(env->loop, &c->poll, c->ifd)) < 0) {
        rc = okrd_err_set(err, OKRD_EIO, "inbox %s: cannot poll inotify: %s", c->inbox,
                          uv_strerror(rc));
        goto fail;
    }
    uv_timer_init(env->loop, &c->rescan);
    uv_timer_init(env->loop, &c->settle);
    uv_idle_init(env->loop, &c->merge);
    c->poll.data = c->rescan.data = c->settle.data = c->merge.data = c;
    c->handles_open = 4;
    uv_poll_start(&c->poll, UV_READABLE, on_inotify);
    /* The start-up scan on the loop's first turn: files that arrived while
     * okrd was down, or that a crash left behind. */
    uint64_t every = c->src->u.csv.rescan_ms > 0 ? (uint64_t)c->src->u.csv.rescan_ms : 30000;
    uv_timer_start(&c->rescan, on_rescan, 0, every);
    *out = c;
    return 0;
fail:
    if (c->ifd >= 0)
        close(c->ifd);
    free(c);
    return rc;
}

static void csv_dir_close(struct conn *c, void (*on_closed)(void *arg), void *arg)
{
    c->closing = true;
    c->on_closed = on_closed;
    c->closed_arg = arg;
    csv_queue_clear(&c->queue); /* queued files stay in the inbox for the next start */
    /* Files read but not moved leave the inbox before we go (when a job is
     * running, its done callback does this). */
    if (!c->running && c->n_pending > 0 && !submit(c, NULL, true))
        free_pending(c);
    if (c->scan && c->scan->listed) {
        scan_free(c->scan); /* merging: stop here */
        c->scan = NULL;
    } else if (c->scan) {
        /* Not started yet: cancelled, and scan_listed hears of it; started:
         * scan_listed frees it when the worker is done. */
        uv_cancel((uv_req_t *)&c->scan->req);
    }
    uv_close((uv_handle_t *)&c->poll, on_handle_closed);
    uv_close((uv_handle_t *)&c->rescan, on_handle_closed);
    uv_close((uv_handle_t *)&c->settle, on_handle_closed);
    uv_close((uv_handle_t *)&c->merge, on_handle_closed);
}

const struct conn_type conn_csv_dir = {
    .name = "csv_dir",
    .type = CFG_SRC_CSV_DIR,
    .start = csv_dir_start,
    .close = csv_dir_close,
};
