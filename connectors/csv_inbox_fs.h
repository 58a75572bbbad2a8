/*
 * csv_inbox_fs.h — the csv_dir inbox's file-system side: creating the inbox
 * and its archive/ and rejected/ folders, listing it, moving a file out of
 * the inbox without ever replacing another, and writing the report beside
 * it.
 *
 * Moves and reports run on the store's writer thread (they follow the commit
 * of the file's job); prepare runs on the loop at start-up and when a rescan
 * finds the inbox gone, and in a job whose move found a folder missing;
 * listing runs on libuv's thread pool (it grows with the inbox). Every
 * function is synchronous and touches only paths under the inbox.
 */
#ifndef OKRD_CSV_INBOX_FS_H
#define OKRD_CSV_INBOX_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/okrd_err.h"
#include "connectors/csv_read.h"

/* Creates INBOX (and missing parents) and INBOX/archive, INBOX/rejected when
 * missing (mode 0770 less the umask), and checks that the three are
 * directories the process may write into; archive/ and rejected/ must be
 * real folders, not symlinks (nothing leaves the inbox). OKRD_EIO with the
 * path and the cause on failure. */
int csv_inbox_prepare(const char *inbox, struct okrd_err *err);

/* Moves INBOX/NAME to INBOX/SUBDIR/NAME, or, when that name is taken, to the
 * first free NAME.1, NAME.2, ...; with with_report, a candidate whose
 * NAME[.N].error.json exists counts as taken too (an old report is never
 * overwritten). Never replaces a file (renameat2 RENAME_NOREPLACE, or
 * link+unlink where the file system lacks it). The name chosen goes to
 * FINAL. OKRD_ENOTFOUND if INBOX/NAME is gone, OKRD_EIO otherwise. */
int csv_inbox_move(const char *inbox, const char *name, const char *subdir, bool with_report,
                   char *final, size_t final_size, struct okrd_err *err);

/* Writes REP as INBOX/SUBDIR/FINAL.error.json (the "file" key is NAME, as
 * dropped; sha256 may be NULL), atomically; the path written goes to PATH. */
int csv_inbox_write_report(const char *inbox, const char *subdir, const char *final,
                           const char *name, const char *sha256, const struct csv_report *rep,
                           char *path, size_t path_size, struct okrd_err *err);

/* The same for a report the ingest log kept (JSON TEXT), its "file" set to
 * NAME. */
int csv_inbox_write_logged_report(const char *inbox, const char *subdir, const char *final,
                                  const char *name, const char *text, char *path,
                                  size_t path_size, struct okrd_err *err);

/* One file a listing found. */
struct csv_inbox_entry {
    int64_t mtime_ms;
    int64_t size;              /* bytes, as the listing saw them */
    char *name;
};

/* Lists INBOX: the regular files (not symlinks) whose names
 * csv_inbox_name_ok takes, with their mtimes, sorted older first, then by
 * name (csv_inbox_order). Blocking (a readdir and an lstat per entry): run
 * it off the loop. *out (malloc'd, free it with csv_inbox_list_free) and *n
 * are set even on failure, as far as the listing got (out of memory stops
 * it early: the next scan gets the rest). 0, or -errno when INBOX cannot be
 * opened. */
int csv_inbox_list(const char *inbox, struct csv_inbox_entry **out, size_t *n);

/* Frees the names of list[from..n) and the list. */
void csv_inbox_list_free(struct csv_inbox_entry *list, size_t from, size_t n);

#endif
