/*
 * status_deliveries.c — the end of `okrd status`'s table: webhook
 * deliveries still pending and those dead-lettered (DESIGN section 5: "kept,
 * visible in okrd status, the API and the log"). Only the table output
 * shows them; `status --json` stays the document of GET /api/v1/objectives,
 * and GET /api/v1/deliveries serves the rows as JSON.
 *
 * Nothing is printed when there is no pending or dead delivery, so a
 * healthy setup's status stays short. At most LIST_MAX rows per state are
 * listed (oldest first), then a count of the rest. Pending deliveries of a
 * webhook no longer in the config are orphaned (DESIGN section 5): counted
 * and marked, since they go out only if a webhook with that id returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "okrd.h"
#include "store/store_outbox.h"

#define LIST_MAX 10

struct list_ctx {
    size_t shown, total;
    const struct cfg *cfg;
};

static int print_row(void *arg, const struct store_delivery *d)
{
    struct list_ctx *c = arg;
    if (c->total++ >= LIST_MAX)
        return 0;
    c->shown++;
    char at[32], next[32] = "";
    okrd_format_utc(d->created_at_s, at, sizeof at);
    if (!strcmp(d->state, "pending") && d->next_attempt_s)
        okrd_format_utc(d->next_attempt_s, next, sizeof next);
    bool orphan = !strcmp(d->state, "pending") && !cfg_find_webhook(c->cfg, d->webhook_id);
    printf("  %-7s %s  %-16s webhook=%s%s  %s  attempts=%d%s%s%s%s\n", d->state, d->event_id,
           d->type, d->webhook_id, orphan ? " (orphaned: not in the config)" : "", at,
           d->attempts, next[0] ? "  next=" : "", next, d->last_error[0] ? "  last error: " : "",
           d->last_error);
    return 0;
}

void status_print_deliveries(struct store *st, const struct cfg *cfg)
{
    struct store_delivery_counts c;
    struct okrd_err err = { 0 };
    if (store_delivery_counts(st, NULL, &c, &err) < 0) {
        fprintf(stderr, "okrd status: %s\n", err.msg);
        return;
    }
    if (c.pending == 0 && c.dead == 0)
        return;
    const char **ids = calloc(cfg->n_webhooks + 1, sizeof *ids);
    int64_t orphaned = 0;
    for (size_t i = 0; ids && i < cfg->n_webhooks; i++)
        ids[i] = cfg->webhooks[i].id;
    int rc = ids ? store_count_orphans(st, ids, cfg->n_webhooks, &orphaned, &err)
                 : okrd_err_set(&err, OKRD_ENOMEM, "count orphaned deliveries: out of memory");
    free(ids);
    if (rc < 0) {
        fprintf(stderr, "okrd status: %s\n", err.msg);
        return;
    }
    printf("\nwebhook deliveries: %lld pending, %lld dead-lettered, %lld orphaned\n",
           (long long)c.pending, (long long)c.dead, (long long)orphaned);
    if (orphaned)
        printf("  (orphaned: pending for a webhook id no longer in the config; sent if a webhook "
               "with that id returns, else dead-lettered at their max_age)\n");
    static const char *const states[] = { "pending", "dead" };
    for (size_t i = 0; i < 2; i++) {
        struct list_ctx ctx = { .cfg = cfg };
        if (store_each_delivery(st, states[i], print_row, &ctx, &err) < 0) {
            fprintf(stderr, "okrd status: %s\n", err.msg);
            return;
        }
        if (ctx.total > ctx.shown)
            printf("  ... and %zu more %s\n", ctx.total - ctx.shown, states[i]);
    }
}
