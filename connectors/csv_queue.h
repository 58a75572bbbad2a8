/*
 * csv_queue.h — the csv_dir inbox's queue of waiting files: first in, first
 * out, each name at most once, found by name in O(1).
 *
 * An inbox may hold 100,000 files (DESIGN section 1): a scan asks "is this
 * name queued already?" once per directory entry, an inotify event once per
 * file, so a lookup that walks the queue makes a scan quadratic on the loop
 * (issue 12 item 8: 40,000 files held it 10 s). The queue is a singly linked
 * FIFO plus an open-addressing hash set over the same entries.
 *
 * Loop thread only; no system calls.
 */
#ifndef OKRD_CSV_QUEUE_H
#define OKRD_CSV_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connectors/csv_inbox.h"

struct csv_queue_entry {
    struct csv_queue_entry *next;  /* towards the tail */
    uint64_t hash;                 /* of name */
    struct csv_inbox_file f;       /* what the inbox knows of the file */
    char name[];
};

struct csv_queue {
    struct csv_queue_entry *head, **tail;
    struct csv_queue_entry **slots; /* the set: NULL = free; cap is 0 or a power of 2 */
    size_t cap, n;
};

void csv_queue_init(struct csv_queue *q);
/* Frees every entry and the set; the queue is empty (and usable) after. */
void csv_queue_clear(struct csv_queue *q);

/* A new entry for NAME (zeroed file state), not in any queue; NULL when out
 * of memory. Free it with free() unless a queue took it. */
struct csv_queue_entry *csv_queue_entry_new(const char *name);

/* The queued entry named NAME, or NULL. */
struct csv_queue_entry *csv_queue_find(const struct csv_queue *q, const char *name);

/* Queues E at the tail (or the head, FRONT) unless its name is queued
 * already. 1: E is the queue's now; 0: the name was queued, E is still the
 * caller's; OKRD_ENOMEM: the set could not grow, E is still the caller's. */
int csv_queue_add(struct csv_queue *q, struct csv_queue_entry *e, bool front);

/* Unlinks the head (the caller owns it now, free() it), or NULL. */
struct csv_queue_entry *csv_queue_pop_front(struct csv_queue *q);

static inline struct csv_queue_entry *csv_queue_head(const struct csv_queue *q)
{
    return q->head;
}

static inline size_t csv_queue_len(const struct csv_queue *q)
{
    return q->n;
}

#endif
