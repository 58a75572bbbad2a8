/*
 * store_copy.c — copying a whole store into an empty one, whatever the two
 * backends (`okrd migrate`, DESIGN section 10): the tables of the schema as
 * data, and the copy itself, table after table in batches, through the
 * backends' copy entries (store_backend.h, "copy (okrd migrate)").
 *
 * Why the tables are listed here and not asked of the database: both
 * backends hold the same tables and columns (DESIGN section 10), and the
 * copy must move every one of them and nothing a backend keeps for itself
 * (schema versions, PostgreSQL's store_meta with its store id and
 * change_seq): a new table of the schema is a new entry below. The list
 * follows the schema's latest version (sqlite_schema.c); a source store of
 * an older version is brought forward when it is opened read-write.
 *
 * Keys are copied as they are (metric ids, outbox seq, ingest log ids), so
 * points keep their metric, deliveries their event and the outbox its
 * order; the target moves its own counters past them (copy_in), and its
 * outbox counter to where the source's stands (events pruned by retention
 * took seq numbers that are never given again).
 */
#include "store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

#define C_INT(n) { n, STORE_COPY_INT }
#define C_REAL(n) { n, STORE_COPY_REAL }
#define C_TEXT(n) { n, STORE_COPY_TEXT }
#define TABLE(name, cols, order, serial) \
    { name, cols, sizeof cols / sizeof cols[0], order, serial }

static const struct store_copy_column metrics_cols[] = { C_INT("id"), C_TEXT("name") };
static const struct store_copy_column points_cols[] = {
    C_INT("metric_id"), C_INT("ts"), C_REAL("value"),
};
static const struct store_copy_column metric_sources_cols[] = {
    C_INT("metric_id"), C_TEXT("source"),
};
static const struct store_copy_column source_health_cols[] = {
    C_TEXT("source"),     C_INT("last_success_at"),      C_INT("last_error_at"),
    C_TEXT("last_error"), C_INT("consecutive_failures"), C_INT("points_total"),
};
static const struct store_copy_column ingest_log_cols[] = {
    C_INT("id"),  C_TEXT("source"),  C_TEXT("name"), C_TEXT("sha256"),
    C_INT("rows"), C_TEXT("outcome"), C_INT("at"),   C_TEXT("report"),
};
static const struct store_copy_column kr_state_cols[] = {
    C_TEXT("kr_id"),    C_TEXT("status"),   C_INT("since"),
    C_INT("evaluated_at"), C_REAL("value"), C_REAL("progress"),
    C_REAL("expected"), C_REAL("projected_score"), C_REAL("score"),
    C_INT("stale"),      C_TEXT("previous"),
};
static const struct store_copy_column kr_history_cols[] = {
    C_TEXT("kr_id"),       C_TEXT("date"),            C_TEXT("status"),
    C_REAL("progress"),    C_TEXT("cycle_start"),     C_TEXT("computed_status"),
    C_REAL("expected"),    C_REAL("score"),           C_REAL("probability"),
};
static const struct store_copy_column definitions_cols[] = {
    C_TEXT("kind"),   C_TEXT("id"),   C_TEXT("cycle_start"), C_TEXT("cycle_end"),
    C_INT("version"), C_TEXT("json"), C_INT("recorded_at_s"),
};
static const struct store_copy_column alert_kr_cols[] = {
    C_TEXT("kr_id"),         C_TEXT("announced"), C_TEXT("previous"),
    C_TEXT("candidate"),     C_INT("candidate_since"), C_INT("last_sent"),
    C_INT("achieved_cycle"), C_INT("stale"),
};
static const struct store_copy_column alert_source_cols[] = {
    C_TEXT("source"), C_INT("failing"), C_INT("since"),
};
static const struct store_copy_column alert_meta_cols[] = { C_TEXT("key"), C_INT("value") };
static const struct store_copy_column outbox_cols[] = {
    C_INT("seq"),         C_TEXT("id"),  C_TEXT("type"), C_TEXT("objective_id"),
    C_TEXT("kr_id"),      C_INT("occurred_at"), C_TEXT("body"), C_INT("created_at"),
};
static const struct store_copy_column deliveries_cols[] = {
    C_TEXT("event_id"),   C_TEXT("webhook_id"), C_TEXT("state"),    C_INT("attempts"),
    C_INT("next_attempt_at"), C_TEXT("last_error"), C_INT("last_status"),
    C_INT("delivered_at"), C_INT("seq"),        C_INT("refusals"),  C_INT("parts_done"),
    C_INT("max_age_ms"),
};
static const struct store_copy_column checkins_cols[] = {
    C_TEXT("id"),     C_TEXT("key_result"), C_TEXT("cycle_start"), C_INT("seq"),
    C_INT("at_s"),    C_TEXT("author"),     C_INT("confidence"),   C_TEXT("status"),
    C_INT("until_s"), C_REAL("value"),      C_REAL("grade"),       C_TEXT("comment"),
    C_INT("announced"),
};

static const struct store_copy_column webhooks_disabled_cols[] = {
    C_TEXT("webhook_id"), C_INT("seq"), C_INT("disabled_at_ms"),
};

/* In an order that keeps foreign keys satisfied row by row: metrics before
 * points and metric_sources, the outbox before its deliveries. */
static const struct store_copy_table tables[STORE_COPY_TABLES] = {
    TABLE("metrics", metrics_cols, "id", "id"),
    TABLE("points", points_cols, "metric_id, ts", NULL),
    TABLE("metric_sources", metric_sources_cols, "metric_id, source", NULL),
    TABLE("source_health", source_health_cols, "source", NULL),
    TABLE("ingest_log", ingest_log_cols, "id", "id"),
    TABLE("kr_state", kr_state_cols, "kr_id", NULL),
    TABLE("kr_history", kr_history_cols, "kr_id, date", NULL),
    TABLE("definitions", definitions_cols, "kind, id, cycle_start, version", NULL),
    TABLE("alert_kr", alert_kr_cols, "kr_id", NULL),
    TABLE("alert_source", alert_source_cols, "source", NULL),
    TABLE("alert_meta", alert_meta_cols, "key", NULL),
    TABLE("outbox", outbox_cols, "seq", "seq"),
    TABLE("deliveries", deliveries_cols, "seq, event_id, webhook_id", NULL),
    TABLE("checkins", checkins_cols, "key_result, cycle_start, seq", NULL),
    TABLE("webhooks_disabled", webhooks_disabled_cols, "webhook_id", NULL),
};

/* Rows per copy_in call: large enough that a PostgreSQL COPY's round trip
 * is paid rarely, small enough that a batch of long texts (outbox bodies)
 * stays a few MiB. */
#define BATCH_ROWS 4096

static int need_entries(const struct store *s, bool out, struct okrd_err *err)
{
    const struct store_backend *be = s->be;
    if (!be->copy_count || (out ? !be->copy_out : !be->copy_in))
        return okrd_err_set(err, OKRD_EINVAL, "store: copy: the %s backend cannot be copied %s",
                            be->name, out ? "from" : "into");
    return 0;
}

int store_copy_nonempty_table(struct store *s, const char **table, struct okrd_err *err)
{
    *table = NULL;
    int rc = need_entries(s, false, err);
    for (size_t i = 0; rc == 0 && i < STORE_COPY_TABLES; i++) {
        int64_t n = 0;
        rc = s->be->copy_count(s, &tables[i], &n, err);
        if (rc == 0 && n > 0) {
            *table = tables[i].name;
            break;
        }
    }
    return rc;
}

/* Rows collected for one copy_in call. Text is copied (sanitized) into one
 * growing buffer; while the batch fills, a text value's .i holds its offset
 * there (the buffer moves as it grows) and flush turns it into .t. */
struct batch {
    struct store *to;
    const struct store_copy_table *t;
    struct store_copy_value *vals;   /* BATCH_ROWS * t->n_cols */
    size_t n_rows;
    char *text;
    size_t text_len, text_cap;
    int64_t done, total;
    store_copy_progress_fn progress;
    void *progress_ctx;
    struct okrd_err *err;
    bool failed;                     /* err holds this batch's own failure */
};

static int text_reserve(struct batch *b, size_t more)
{
    if (b->text_len + more <= b->text_cap)
        return 0;
    size_t cap = b->text_cap ? b->text_cap : 65536;
    while (cap < b->text_len + more)
        cap *= 2;
    char *p = realloc(b->text, cap);
    if (!p)
        return okrd_err_set(b->err, OKRD_ENOMEM, "store: copy: out of memory");
    b->text = p;
    b->text_cap = cap;
    return 0;
}

/* Appends S[0..n) as valid UTF-8 without NUL (DESIGN section 10: what a
 * store holds): a byte that starts no valid character, or a NUL, becomes
 * U+FFFD. A store okrd wrote holds none; one written by an older okrd (an
 * HTTP error body before text was sanitized) may, and PostgreSQL refuses
 * such text where SQLite kept it. */
static int text_append(struct batch *b, const char *s, size_t n)
{
    int rc = text_reserve(b, n * 3 + 1);
    if (rc)
        return rc;
    char *o = b->text + b->text_len;
    for (size_t i = 0; i < n;) {
        size_t k = s[i] ? okrd_utf8_len(s + i, n - i) : 0;
        if (k == 0) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(o, s + i, k);
            o += k;
            i += k;
        }
    }
    *o++ = '\0';
    b->text_len = (size_t)(o - b->text);
    return 0;
}

static int flush(struct batch *b)
{
    if (b->n_rows == 0)
        return 0;
    size_t nv = b->n_rows * b->t->n_cols;
    for (size_t i = 0; i < nv; i++) {
        struct store_copy_value *v = &b->vals[i];
        if (b->t->cols[i % b->t->n_cols].type == STORE_COPY_TEXT && !v->null)
            v->t = b->text + v->i;
    }
    int rc = b->to->be->copy_in(b->to, b->t, b->vals, b->n_rows, b->err);
    if (rc)
        return store_err_context(b->err, "the target");
    b->done += (int64_t)b->n_rows;
    b->n_rows = 0;
    b->text_len = 0;
    if (b->progress && b->progress(b->progress_ctx, b->t->name, b->done, b->total))
        return okrd_err_set(b->err, OKRD_ECANCELED, "store: copy: stopped at table %s (%lld of "
                            "%lld rows)", b->t->name, (long long)b->done, (long long)b->total);
    return 0;
}

static int on_row(void *ctx, const struct store_copy_value *row)
{
    struct batch *b = ctx;
    size_t nc = b->t->n_cols;
    struct store_copy_value *dst = &b->vals[b->n_rows * nc];
    for (size_t c = 0; c < nc; c++) {
        dst[c] = row[c];
        if (b->t->cols[c].type != STORE_COPY_TEXT || row[c].null)
            continue;
        size_t at = b->text_len;
        int rc = text_append(b, row[c].t, row[c].len);
        if (rc)
            return rc;
        dst[c].i = (int64_t)at;
        dst[c].t = NULL;
        dst[c].len = b->text_len - at - 1;
    }
    if (++b->n_rows == BATCH_ROWS)
        return flush(b);
    return 0;
}

/* on_row for copy_out: a failure of the batch is marked as such, so that
 * copy_table does not dress it up as a failure to read. */
static int on_row_marked(void *ctx, const struct store_copy_value *row)
{
    struct batch *b = ctx;
    int rc = on_row(b, row);
    if (rc)
        b->failed = true;
    return rc;
}

static int copy_table(struct store *from, struct store *to, const struct store_copy_table *t,
                      struct store_copy_count *count, store_copy_progress_fn progress,
                      void *ctx, struct okrd_err *err)
{
    count->table = t->name;
    count->from = count->to = -1;
    int rc = from->be->copy_count(from, t, &count->from, err);
    if (rc)
        return store_err_context(err, "the source");
    struct batch b = {
        .to = to, .t = t, .total = count->from, .progress = progress, .progress_ctx = ctx,
        .err = err,
    };
    b.vals = calloc(BATCH_ROWS * t->n_cols, sizeof *b.vals);
    if (!b.vals)
        return okrd_err_set(err, OKRD_ENOMEM, "store: copy: out of memory");
    rc = from->be->copy_out(from, t, on_row_marked, &b, err);
    if (rc == 0)
        rc = flush(&b);
    else if (!b.failed)
        store_err_context(err, "the source");
    free(b.vals);
    free(b.text);
    if (rc)
        return rc;
    rc = to->be->copy_count(to, t, &count->to, err);
    if (rc)
        return store_err_context(err, "the target");
    if (count->to != count->from)
        return okrd_err_set(err, OKRD_ESTORE, "store: copy: table %s holds %lld rows in the "
                            "source but %lld in the target after the copy", t->name,
                            (long long)count->from, (long long)count->to);
    return 0;
}

int store_copy_all(struct store *from, struct store *to, store_copy_progress_fn progress,
                   void *ctx, struct store_copy_count counts[STORE_COPY_TABLES],
                   struct okrd_err *err)
{
    for (size_t i = 0; i < STORE_COPY_TABLES; i++)
        counts[i] = (struct store_copy_count){ tables[i].name, -1, -1 };
    if (from == to)
        return okrd_err_set(err, OKRD_EINVAL, "store: copy: the source and the target are "
                            "one store");
    int rc = need_entries(from, true, err);
    if (rc == 0)
        rc = need_entries(to, false, err);
    if (rc)
        return rc;
    /* The source's write transaction is only a lock: writers (an `okrd
     * ingest`) wait until the copy is over, so every table is read as of
     * one moment. It is rolled back: the copy writes nothing there. */
    if ((rc = store_begin(from, err)) < 0)
        return store_err_context(err, "lock the source for the copy");
    if ((rc = store_begin(to, err)) < 0) {
        store_rollback(from);
        return store_err_context(err, "begin the copy's transaction in the target");
    }
    const char *full = NULL;
    rc = store_copy_nonempty_table(to, &full, err);
    if (rc == 0 && full)
        rc = okrd_err_set(err, OKRD_ECONFLICT, "store: copy: the target is not empty: table "
                          "%s holds rows; a copy goes into an empty store only", full);
    for (size_t i = 0; rc == 0 && i < STORE_COPY_TABLES; i++)
        rc = copy_table(from, to, &tables[i], &counts[i], progress, ctx, err);
    /* Seq numbers of pruned events are never given again: the target's
     * counter starts where the source's stands, not at its largest row. */
    int64_t counter = 0;
    if (rc == 0 && from->be->outbox_counter && to->be->outbox_counter_raise &&
        (rc = from->be->outbox_counter(from, &counter, err)) == 0)
        rc = to->be->outbox_counter_raise(to, counter, err);
    if (rc == 0)
        rc = store_commit(to, err);
    else
        store_rollback(to);
    store_rollback(from);
    return rc;
}
