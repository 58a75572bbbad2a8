/*
 * csv_inbox.h — the csv_dir source's decisions about files in its inbox, as
 * pure functions of (file state, now): which names are taken, when a file
 * found by a scan is ready, the order of a scan's files, and the names of
 * archived files on a collision.
 *
 * No uv, no store, no system calls here (STYLE "Split deciding from
 * waiting"): conn_csv_dir.c stats files and arms timers; these functions
 * tell it what to do and when to look again, so tests pick the times.
 */
#ifndef OKRD_CSV_INBOX_H
#define OKRD_CSV_INBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSV_INBOX_ARCHIVE "archive"
#define CSV_INBOX_REJECTED "rejected"
#define CSV_INBOX_REPORT_SUFFIX ".error.json"

/* true when NAME (a directory entry, no '/') may be an inbox file: not "",
 * "." or "..", no leading '.', not ending in ".tmp" or ".part", not one of
 * the inbox's own folders. Whether it is a regular file is checked apart. */
bool csv_inbox_name_ok(const char *name);

/* What the inbox knows of one waiting file. */
struct csv_inbox_file {
    int64_t mtime_ms;  /* wall clock, as stat showed it */
    int64_t size;
    int64_t seen_ms;   /* when this (size, mtime) was first observed */
    bool by_event;     /* inotify said a writer closed it / it was renamed in */
};

/* Records a fresh stat of the file at now_ms: a changed size or mtime
 * restarts seen_ms. A file first seen starts from seen_ms = 0 (call it with
 * a zeroed struct). */
void csv_inbox_observe(struct csv_inbox_file *f, int64_t mtime_ms, int64_t size,
                       int64_t now_ms);

/* Milliseconds until the file may be read: 0 = now. A file an event named
 * is taken at once; one found by a scan once its mtime is settle_ms old.
 * An mtime in the future (a skewed clock, a copy that kept its times) would
 * never get old, so then the time since its state last changed counts. */
int64_t csv_inbox_wait_ms(const struct csv_inbox_file *f, int64_t now_ms, int64_t settle_ms);
/* The same for an inbox on storage other hosts write (an HA pair, DESIGN
 * section 10): their clocks and a network filesystem's mtimes say nothing
 * against ours, so a file found by a scan is taken once its size and mtime
 * did not change between two looks settle_ms apart (the time since
 * csv_inbox_observe last saw them change). */
int64_t csv_inbox_wait_looks_ms(const struct csv_inbox_file *f, int64_t now_ms,
                                int64_t settle_ms);

/* Orders a scan's files: older mtime first, then by name (byte order), so a
 * newer correction found in the same scan is read after the file it
 * corrects. A qsort-style comparison. */
int csv_inbox_order(int64_t mtime_a_ms, const char *name_a, int64_t mtime_b_ms,
                    const char *name_b);

/* The N-th candidate name for NAME in archive/ or rejected/: NAME itself for
 * n == 0, else "NAME.N". Returns 0, or -1 if it does not fit in SIZE. */
int csv_inbox_target_name(char *buf, size_t size, const char *name, unsigned n);

#endif
