/*
 * csv_queue.c — see csv_queue.h.
 *
 * Why a hand-written set: nothing in okrd's stack fits. libuv has no hash
 * table; jansson's is private (a json_object would do, but its keys must be
 * UTF-8 and file names are bytes); glibc's hsearch_r cannot delete and has
 * a fixed size; tsearch is O(log n) with a malloc per node; SQLite would be
 * a round trip per name. Open addressing with linear probing, at most half
 * full, and backward-shift deletion (no tombstones, so a queue that churns
 * through millions of names never needs a cleanup pass): ~80 lines.
 *
 * The hash is 64-bit FNV-1a. Names come from producers who may write into
 * the inbox; one who wants to slow okrd down by colliding names can as well
 * fill the disk, so no keyed hash.
 */
#include "csv_queue.h"

#include <stdlib.h>
#include <string.h>

#include "common/okrd_err.h"

#define MIN_CAP 64

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void csv_queue_init(struct csv_queue *q)
{
    memset(q, 0, sizeof *q);
    q->tail = &q->head;
}

void csv_queue_clear(struct csv_queue *q)
{
    struct csv_queue_entry *e = q->head;
    while (e) {
        struct csv_queue_entry *next = e->next;
        free(e);
        e = next;
    }
    free(q->slots);
    csv_queue_init(q);
}

struct csv_queue_entry *csv_queue_entry_new(const char *name)
{
    size_t n = strlen(name) + 1;
    struct csv_queue_entry *e = calloc(1, sizeof *e + n);
    if (e) {
        memcpy(e->name, name, n);
        e->hash = name_hash(name);
    }
    return e;
}

/* The slot holding NAME, or the free slot where it would go. */
static size_t probe(const struct csv_queue *q, const char *name, uint64_t hash)
{
    size_t mask = q->cap - 1, i = (size_t)hash & mask;
    for (; q->slots[i]; i = (i + 1) & mask)
        if (q->slots[i]->hash == hash && !strcmp(q->slots[i]->name, name))
            break;
    return i;
}

struct csv_queue_entry *csv_queue_find(const struct csv_queue *q, const char *name)
{
    if (q->cap == 0)
        return NULL;
    return q->slots[probe(q, name, name_hash(name))];
}

static int grow(struct csv_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : MIN_CAP;
    struct csv_queue_entry **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return OKRD_ENOMEM;
    for (size_t i = 0; i < q->cap; i++) {
        struct csv_queue_entry *e = q->slots[i];
        if (!e)
            continue;
        size_t k = (size_t)e->hash & (cap - 1);
        while (slots[k])
            k = (k + 1) & (cap - 1);
        slots[k] = e;
    }
    free(q->slots);
    q->slots = slots;
    q->cap = cap;
    return 0;
}

int csv_queue_add(struct csv_queue *q, struct csv_queue_entry *e, bool front)
{
    if (csv_queue_find(q, e->name))
        return 0;
    if ((q->n + 1) * 2 > q->cap && grow(q) < 0)
        return OKRD_ENOMEM;
    q->slots[probe(q, e->name, e->hash)] = e;
    q->n++;
    if (front) {
        if (!(e->next = q->head))
            q->tail = &e->next;
        q->head = e;
    } else {
        e->next = NULL;
        *q->tail = e;
        q->tail = &e->next;
    }
    return 1;
}

/* Removes E from the set. Backward shift: every entry after the hole in its
 * probe run that may live in the hole moves back, so lookups never need to
 * step over a deleted slot. */
static void set_remove(struct csv_queue *q, const struct csv_queue_entry *e)
{
    size_t mask = q->cap - 1, hole = probe(q, e->name, e->hash);
    q->slots[hole] = NULL;
    for (size_t i = (hole + 1) & mask; q->slots[i]; i = (i + 1) & mask) {
        size_t home = (size_t)q->slots[i]->hash & mask;
        /* Moves back unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            q->slots[hole] = q->slots[i];
            q->slots[i] = NULL;
            hole = i;
        }
    }
}

struct csv_queue_entry *csv_queue_pop_front(struct csv_queue *q)
{
    struct csv_queue_entry *e = q->head;
    if (!e)
        return NULL;
    if (!(q->head = e->next))
        q->tail = &q->head;
    e->next = NULL;
    set_remove(q, e);
    q->n--;
    return e;
}
