/*
 * csv_inbox_fs.c — see csv_inbox_fs.h.
 *
 * Moves never replace: a name in archive/ is someone's earlier file, and a
 * plain rename(2) would silently drop it. RENAME_NOREPLACE makes "is the
 * name free?" and "take it" one step, so two okrd processes (or an operator)
 * cannot race us into an overwrite.
 */
#include "csv_inbox_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/csv_inbox.h"

#define MAX_SUFFIX 9999 /* a.csv.1 ... a.csv.9999; past that something is wrong */

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int check_dir(const char *path, bool follow, struct okrd_err *err)
{
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
        return okrd_err_set(err, OKRD_EIO, "inbox %s: cannot stat: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return okrd_err_set(err, OKRD_EIO, "inbox %s: not a directory%s", path,
                            S_ISLNK(st.st_mode) ? " (a symlink; files must stay in the inbox)"
                                                : "");
    if (access(path, W_OK | X_OK) < 0)
        return okrd_err_set(err, OKRD_EIO, "inbox %s: not writable by this process: %s", path,
                            strerror(errno));
    return 0;
}

int csv_inbox_prepare(const char *inbox, struct okrd_err *err)
{
    char sub[4096];
    if (mkdir_p(inbox, 0770) < 0)
        return okrd_err_set(err, OKRD_EIO, "inbox %s: cannot create: %s", inbox, strerror(errno));
    /* The inbox itself may be a symlink to a folder: that is the operator's
     * choice in the config. Its subfolders are ours and must be real. */
    int rc = check_dir(inbox, true, err);
    if (rc < 0)
        return rc;
    const char *subs[] = { CSV_INBOX_ARCHIVE, CSV_INBOX_REJECTED };
    for (size_t i = 0; i < 2; i++) {
        if (snprintf(sub, sizeof sub, "%s/%s", inbox, subs[i]) >= (int)sizeof sub)
            return okrd_err_set(err, OKRD_EIO, "inbox %s: path too long", inbox);
        if (mkdir(sub, 0770) < 0 && errno != EEXIST)
            return okrd_err_set(err, OKRD_EIO, "inbox %s: cannot create: %s", sub,
                                strerror(errno));
        if ((rc = check_dir(sub, false, err)) < 0)
            return rc;
    }
    return 0;
}

/* rename without replacing: 0, or -1 with errno (EEXIST when taken). */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    /* A file system without RENAME_NOREPLACE: link() refuses an existing
     * name just as well; the inbox entry goes only once the link exists. */
    if (link(from, to) == 0)
        return unlink(from) < 0 && errno != ENOENT ? -1 : 0;
    if (errno == EEXIST || errno == ENOENT)
        return -1;
    /* No hard links either (vfat and the like): check, then rename. */
    struct stat st;
    if (lstat(to, &st) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

int csv_inbox_move(const char *inbox, const char *name, const char *subdir, bool with_report,
                   char *final, size_t final_size, struct okrd_err *err)
{
    char from[4096], to[4096], cand[1024];
    if (snprintf(from, sizeof from, "%s/%s", inbox, name) >= (int)sizeof from)
        return okrd_err_set(err, OKRD_EIO, "inbox %s: path too long for %s", inbox, name);
    for (unsigned n = 0; n <= MAX_SUFFIX; n++) {
        if (csv_inbox_target_name(cand, sizeof cand, name, n) < 0 ||
            snprintf(to, sizeof to, "%s/%s/%s%s", inbox, subdir, cand,
                     CSV_INBOX_REPORT_SUFFIX) >= (int)sizeof to)
            return okrd_err_set(err, OKRD_EIO, "inbox %s: path too long for %s", inbox, name);
        struct stat st;
        if (with_report && lstat(to, &st) == 0)
            continue; /* keep an old report: take the next name */
        if (snprintf(to, sizeof to, "%s/%s/%s", inbox, subdir, cand) >= (int)sizeof to)
            continue; /* cannot happen: shorter than the report's path */
        if (rename_noreplace(from, to) == 0) {
            if (snprintf(final, final_size, "%s", cand) >= (int)final_size)
                return okrd_err_set(err, OKRD_EIO, "inbox %s: name too long: %s", inbox, cand);
            return 0;
        }
        if (errno == ENOENT && lstat(from, &st) < 0)
            return okrd_err_set(err, OKRD_ENOTFOUND, "inbox %s: %s is gone", inbox, name);
        if (errno != EEXIST)
            return okrd_err_set(err, OKRD_EIO, "inbox %s: cannot move %s to %s/: %s", inbox,
                                name, subdir, strerror(errno));
    }
    return okrd_err_set(err, OKRD_EIO, "inbox %s: cannot move %s to %s/: %d names taken", inbox,
                        name, subdir, MAX_SUFFIX + 1);
}

int csv_inbox_write_report(const char *inbox, const char *subdir, const char *final,
                           const char *name, const char *sha256, const struct csv_report *rep,
                           char *path, size_t path_size, struct okrd_err *err)
{
    if (snprintf(path, path_size, "%s/%s/%s%s", inbox, subdir, final, CSV_INBOX_REPORT_SUFFIX) >=
        (int)path_size)
        return okrd_err_set(err, OKRD_EIO, "inbox %s: path too long for %s's report", inbox,
                            name);
    return csv_report_write_json(rep, name, sha256, path, err);
}

int csv_inbox_write_logged_report(const char *inbox, const char *subdir, const char *final,
                                  const char *name, const char *text, char *path,
                                  size_t path_size, struct okrd_err *err)
{
    if (snprintf(path, path_size, "%s/%s/%s%s", inbox, subdir, final, CSV_INBOX_REPORT_SUFFIX) >=
        (int)path_size)
        return okrd_err_set(err, OKRD_EIO, "inbox %s: path too long for %s's report", inbox,
                            name);
    return csv_report_write_logged(text, name, path, err);
}

static int entry_cmp(const void *a, const void *b)
{
    const struct csv_inbox_entry *x = a, *y = b;
    return csv_inbox_order(x->mtime_ms, x->name, y->mtime_ms, y->name);
}

int csv_inbox_list(const char *inbox, struct csv_inbox_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(inbox);
    if (!d)
        return errno ? -errno : -EIO;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (!csv_inbox_name_ok(de->d_name))
            continue;
        /* lstat semantics: a symlink is not a regular file, so it is never
         * followed out of the inbox. */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct csv_inbox_entry *g = realloc(*out, ncap * sizeof *g);
            if (!g)
                break;
            *out = g;
            cap = ncap;
        }
        if (!((*out)[*n].name = strdup(de->d_name)))
            break;
        (*out)[*n].size = (int64_t)st.st_size;
        (*out)[(*n)++].mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    closedir(d);
    if (*n > 1)
        qsort(*out, *n, sizeof **out, entry_cmp);
    return 0;
}

void csv_inbox_list_free(struct csv_inbox_entry *list, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        free(list[i].name);
    free(list);
}
