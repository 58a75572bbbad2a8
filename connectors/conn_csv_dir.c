/*
 * conn_csv_dir.c — the csv_dir source (DESIGN section 3): a watched inbox.
 *
 * Owns watching and ordering, on the loop: inotify (IN_MOVED_TO,
 * IN_CLOSE_WRITE) under a uv_poll (uv_fs_event does not report a writer
 * closing a file), a scan at start-up and every `rescan`, the queue of
 * waiting files in arrival order, and the settle wait of files a scan found.
 * Everything that touches a file's content is a writer-thread job
 * (csv_dir_job.c: csv_ingest_file, the same code as `okrd ingest`, then the
 * move and the report); names and timing are csv_inbox.c's pure decisions.
 *
 * Invariants:
 *  - At most one file is in the store's writer at a time, and files go in
 *    queue order (a scan queues older mtimes first): a correction dropped
 *    after the file it corrects is always read after it, so it wins. A file
 *    still settling at the head holds the others back for that reason.
 *  - The loop never reads a file: the writer-thread job hashes, reads,
 *    commits, then moves the file and writes its report; the loop only
 *    lists the inbox and stats a file before queueing it.
 *  - A file leaves the inbox only after its outcome is committed (the
 *    ingest log holds its sha256), so a crash at any point leaves it either
 *    in the inbox (read again, or archived as a duplicate) or archived.
 *  - Every outcome is reported once through env->report; failures of the
 *    inbox itself (store, moves) when they start and when they end.
 */
#include <dirent.h>
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

struct entry {                 /* a file waiting in the inbox */
    struct entry *next;
    struct csv_inbox_file f;
    char name[];
};

struct conn {
    const struct cfg_source *src;
    const struct conn_env *env;
    const char *inbox;
    int ifd;                   /* inotify */
    int wd;                    /* the inbox's watch; -1 once lost */
    uv_poll_t poll;
    uv_timer_t rescan;         /* the start-up scan, then every `rescan` */
    uv_timer_t settle;         /* the head of the queue is settling */
    struct entry *head, **tail;
    struct csv_dir_job *running; /* the file in the writer, at most one */
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

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* ---- the queue ---- */

static struct entry *find(struct conn *c, const char *name)
{
    for (struct entry *e = c->head; e; e = e->next)
        if (!strcmp(e->name, name))
            return e;
    return NULL;
}

static struct entry *entry_new(const char *name)
{
    size_t n = strlen(name) + 1;
    struct entry *e = calloc(1, sizeof *e + n);
    if (e)
        memcpy(e->name, name, n);
    return e;
}

static void push_back(struct conn *c, struct entry *e)
{
    e->next = NULL;
    *c->tail = e;
    c->tail = &e->next;
}

static void push_front(struct conn *c, struct entry *e)
{
    if (!(e->next = c->head))
        c->tail = &e->next;
    c->head = e;
}

static struct entry *pop_front(struct conn *c)
{
    struct entry *e = c->head;
    if (e && !(c->head = e->next))
        c->tail = &c->head;
    return e;
}

/* Queues NAME (once: a name already waiting keeps its place and learns of
 * the event). The running file is not in the queue, so an event for it
 * while it is read queues it again, to be looked at once its job is done. */
static void enqueue(struct conn *c, const char *name, bool by_event)
{
    struct entry *e = find(c, name);
    if (e) {
        e->f.by_event |= by_event;
        return;
    }
    if (!(e = entry_new(name))) {
        report(c, CFG_LOG_ERROR, "inbox_failed", "%s: out of memory; a rescan retries", name);
        return;
    }
    e->f.by_event = by_event;
    push_back(c, e);
}

static void free_queue(struct conn *c)
{
    struct entry *e;
    while ((e = pop_front(c)))
        free(e);
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

struct found {
    int64_t mtime_ms;
    char *name;
};

static int found_cmp(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    return csv_inbox_order(x->mtime_ms, x->name, y->mtime_ms, y->name);
}

/* Lists the inbox and queues the files not queued yet, older first. A
 * directory listing and a stat per entry: small metadata reads the loop may
 * do (the files themselves are read on the writer thread). */
static void scan(struct conn *c)
{
    DIR *d = opendir(c->inbox);
    if (!d) {
        char msg[OKRD_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "inbox %s: cannot list: %s", c->inbox, strerror(errno));
        failed(c, &c->folder_failing, msg);
        return;
    }
    if (c->wd >= 0)
        recovered(c, &c->folder_failing);
    struct found *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!csv_inbox_name_ok(de->d_name) || find(c, de->d_name) ||
            (c->running && !strcmp(c->running->name, de->d_name)))
            continue;
        /* lstat semantics: a symlink is not a regular file, so it is never
         * followed out of the inbox. */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct found *g = realloc(list, ncap * sizeof *g);
            if (!g)
                break; /* the next scan gets the rest */
            list = g;
            cap = ncap;
        }
        if (!(list[n].name = strdup(de->d_name)))
            break;
        list[n++].mtime_ms = mtime_ms(&st);
    }
    closedir(d);
    if (n > 1)
        qsort(list, n, sizeof *list, found_cmp);
    for (size_t i = 0; i < n; i++) {
        enqueue(c, list[i].name, false);
        free(list[i].name);
    }
    free(list);
}

/* ---- the loop side of a job ---- */

static void pump(struct conn *c);
static void maybe_finish(struct conn *c);

static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct csv_dir_job *j = arg;
    struct conn *c = j->owner;
    c->running = NULL;
    if (rc == OKRD_ECANCELED) {
        /* The writer closed before the job ran (shutdown): the file stays
         * in the inbox for the next start. */
    } else if (rc < 0) {
        failed(c, &c->files_failing, err->msg);
    } else if (j->end == CSV_DIR_RETRY) {
        report(c, CFG_LOG_DEBUG, "file_changed", "%s", j->problem);
        if (!c->closing && !find(c, j->name)) {
            struct entry *e = entry_new(j->name);
            if (e)
                push_front(c, e); /* settles again, ahead of later files */
        }
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
            failed(c, &c->files_failing, j->problem); /* a move or a report failed */
        else if (j->subdir)
            recovered(c, &c->files_failing);
        if (j->res.points > 0 && c->env->on_committed)
            c->env->on_committed(c->env->ctx, c->src->id, (const char *const *)j->res.metrics,
                                 j->res.n_metrics, j->res.points);
    }
    if (j->health_known && c->env->on_health)
        c->env->on_health(c->env->ctx, c->src->id, j->health_ok, &j->health);
    csv_dir_job_free(j);
    if (c->closing)
        maybe_finish(c);
    else
        pump(c);
}

static void submit(struct conn *c, struct entry *e)
{
    struct csv_dir_job *j = csv_dir_job_new(c, c->src, c->env->tz,
                                            okrd_clock_now_s(c->env->clock), e->name);
    if (!j || store_writer_submit(c->env->writer, csv_dir_job_run, job_done, j) < 0) {
        /* Out of memory, or the daemon is shutting down: the file stays in
         * the queue (and the inbox) for the next try. */
        csv_dir_job_free(j);
        push_front(c, e);
        return;
    }
    c->running = j;
    free(e);
    report(c, CFG_LOG_DEBUG, "file_started", "%s: reading", j->name);
}

static void on_settle(uv_timer_t *t)
{
    pump(t->data);
}

/* Hands the head of the queue to the writer when it is ready; when it is
 * still settling, comes back when it may be. */
static void pump(struct conn *c)
{
    if (c->closing || c->running)
        return;
    uv_timer_stop(&c->settle);
    struct entry *e;
    while ((e = c->head)) {
        struct stat st;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", c->inbox, e->name) >= (int)sizeof path ||
            lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(pop_front(c)); /* gone, or a symlink/folder renamed in: not ours */
            continue;
        }
        int64_t now = now_ms(c);
        csv_inbox_observe(&e->f, mtime_ms(&st), (int64_t)st.st_size, now);
        int64_t wait = csv_inbox_wait_ms(&e->f, now, c->src->u.csv.settle_ms);
        if (wait > 0) {
            uv_timer_start(&c->settle, on_settle, (uint64_t)wait, 0);
            return;
        }
        submit(c, pop_front(c));
        return;
    }
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
    bool rescan = false;
    for (;;) {
        ssize_t n = read(c->ifd, buf, sizeof buf);
        if (n <= 0)
            break; /* EAGAIN: drained */
        for (char *q = buf; q < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)q;
            q += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW)
                rescan = true; /* events were lost: list the folder instead */
            if (ev->mask & IN_IGNORED && ev->wd == c->wd) {
                c->wd = -1;
                failed(c, &c->folder_failing,
                       "the inbox folder was removed; a rescan creates it again");
            }
            if (ev->len && !(ev->mask & IN_ISDIR) && ev->wd == c->wd &&
                csv_inbox_name_ok(ev->name))
                enqueue(c, ev->name, true);
        }
    }
    if (rescan)
        scan(c);
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
    scan(c);
    pump(c);
}

/* ---- start and close ---- */

static void free_conn(struct conn *c)
{
    void (*cb)(void *) = c->on_closed;
    void *arg = c->closed_arg;
    free_queue(c);
    if (c->ifd >= 0)
        close(c->ifd);
    free(c);
    if (cb)
        cb(arg);
}

static void maybe_finish(struct conn *c)
{
    if (c->handles_open == 0 && !c->running)
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
    c->tail = &c->head;
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
    c->poll.data = c->rescan.data = c->settle.data = c;
    c->handles_open = 3;
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
    free_queue(c); /* queued files stay in the inbox for the next start */
    uv_close((uv_handle_t *)&c->poll, on_handle_closed);
    uv_close((uv_handle_t *)&c->rescan, on_handle_closed);
    uv_close((uv_handle_t *)&c->settle, on_handle_closed);
}

const struct conn_type conn_csv_dir = {
    .name = "csv_dir",
    .type = CFG_SRC_CSV_DIR,
    .start = csv_dir_start,
    .close = csv_dir_close,
};
