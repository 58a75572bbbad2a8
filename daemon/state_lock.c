/*
 * state_lock.c — the flock on STATE_DIR/okrd.lock (see state_lock.h).
 *
 * flock(2), not fcntl locks: a flock belongs to the open file description,
 * so nothing else in this process that opens and closes the file could drop
 * it by accident (fcntl locks vanish on any close of the file), and the
 * kernel releases it when the process dies, also on SIGKILL, so a crash
 * never leaves a stale lock behind. The pid in the file is only a hint for
 * the refusal message; the lock itself is the truth.
 */
#include "state_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define STATE_LOCK_NAME "okrd.lock"

struct state_lock {
    int fd;
};

/* The pid the holder wrote, or 0 when the file holds none (a holder that
 * has not written it yet, or an empty file). */
static long read_pid(int fd)
{
    char buf[32];
    ssize_t n;
    do
        n = pread(fd, buf, sizeof buf - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

static void write_pid(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
        /* Ignored: the pid is only a hint for a refused second daemon and
         * the lock holds without it, so a full disk does not stop us. */
    }
}

int state_lock_acquire(struct state_lock **out, const char *state_dir, struct okrd_err *err)
{
    *out = NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", state_dir, STATE_LOCK_NAME) >= (int)sizeof path)
        return okrd_err_set(err, OKRD_EINVAL, "state lock: the path %s/%s is too long", state_dir,
                            STATE_LOCK_NAME);
    /* O_NOFOLLOW: a symlink planted in state_dir must not make us create
     * or truncate a file elsewhere. */
    int fd;
    do
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return okrd_err_set(err, OKRD_EIO, "state lock: cannot open %s: %s", path,
                            strerror(errno));
    int r;
    do
        r = flock(fd, LOCK_EX | LOCK_NB);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            long pid = read_pid(fd);
            close(fd);
            if (pid > 0)
                return okrd_err_set(err, OKRD_EBUSY,
                                    "another okrd run (pid %ld) holds %s: one daemon per "
                                    "state_dir; stop it first", pid, path);
            return okrd_err_set(err, OKRD_EBUSY,
                                "another okrd run holds %s (its pid is not known yet): one "
                                "daemon per state_dir; stop it first", path);
        }
        close(fd);
        return okrd_err_set(err, OKRD_EIO, "state lock: cannot lock %s: %s", path, strerror(e));
    }
    struct state_lock *l = malloc(sizeof *l);
    if (!l) {
        close(fd); /* closing the only descriptor releases the lock */
        return okrd_err_set(err, OKRD_ENOMEM, "state lock: out of memory");
    }
    l->fd = fd;
    write_pid(fd);
    *out = l;
    return 0;
}

void state_lock_release(struct state_lock *l)
{
    if (!l)
        return;
    /* The file stays: removing it would race with a daemon starting now
     * (it could lock the unlinked inode while the next one locks a new
     * file). The stale pid inside is harmless: only a held lock refuses. */
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l);
}
