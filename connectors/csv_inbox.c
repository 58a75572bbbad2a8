/*
 * csv_inbox.c — see csv_inbox.h. Pure: no system calls, no clock.
 */
#include "csv_inbox.h"

#include <stdio.h>
#include <string.h>

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

bool csv_inbox_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || name[0] == '.' || strchr(name, '/'))
        return false;
    /* Producers that write in place under a temporary name rename to the
     * final one; the temporary names are never ours to read. */
    if (ends_with(name, n, ".tmp") || ends_with(name, n, ".part"))
        return false;
    return strcmp(name, CSV_INBOX_ARCHIVE) && strcmp(name, CSV_INBOX_REJECTED);
}

void csv_inbox_observe(struct csv_inbox_file *f, int64_t mtime_ms, int64_t size, int64_t now_ms)
{
    if (f->seen_ms == 0 || f->mtime_ms != mtime_ms || f->size != size)
        f->seen_ms = now_ms;
    f->mtime_ms = mtime_ms;
    f->size = size;
}

int64_t csv_inbox_wait_ms(const struct csv_inbox_file *f, int64_t now_ms, int64_t settle_ms)
{
    if (f->by_event || settle_ms <= 0)
        return 0;
    /* A file still being written has a fresh mtime, so its age counts from
     * mtime. An mtime in the future would never age: then the time since
     * its (size, mtime) last changed counts instead. */
    int64_t since = f->mtime_ms <= now_ms ? f->mtime_ms : f->seen_ms;
    int64_t age = now_ms - since;
    if (age >= settle_ms)
        return 0;
    return settle_ms - (age > 0 ? age : 0);
}

int64_t csv_inbox_wait_looks_ms(const struct csv_inbox_file *f, int64_t now_ms,
                                int64_t settle_ms)
{
    if (f->by_event || settle_ms <= 0)
        return 0;
    int64_t age = now_ms - f->seen_ms;
    if (age >= settle_ms)
        return 0;
    return settle_ms - (age > 0 ? age : 0);
}

int csv_inbox_order(int64_t mtime_a_ms, const char *name_a, int64_t mtime_b_ms,
                    const char *name_b)
{
    if (mtime_a_ms != mtime_b_ms)
        return mtime_a_ms < mtime_b_ms ? -1 : 1;
    return strcmp(name_a, name_b);
}

int csv_inbox_target_name(char *buf, size_t size, const char *name, unsigned n)
{
    int len = n == 0 ? snprintf(buf, size, "%s", name) : snprintf(buf, size, "%s.%u", name, n);
    return len < 0 || (size_t)len >= size ? -1 : 0;
}
