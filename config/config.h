/*
 * config.h — okrd's configuration as validated, immutable C structs.
 *
 * config/ is the only module that knows the JSON layout (DESIGN section 2).
 * cfg_load() reads okrd.json, then conf.d/ *.json beside it in name order,
 * validates the whole schema, and returns a struct cfg that nobody modifies
 * afterwards (a reload loads a new one and swaps pointers). Everything in it
 * — strings, arrays, the time zone — is owned by the struct cfg and freed by
 * cfg_free().
 *
 * Conventions: durations are int64_t milliseconds (*_ms), instants are UTC
 * Unix seconds (*_s), optional strings are NULL when absent, and every
 * configured item remembers where it was written (struct cfg_pos) so that
 * later stages (lints, connectors) can report FILE:LINE:COL too.
 */
#ifndef OKRD_CONFIG_H
#define OKRD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../common/okrd_err.h"
#include "../common/parse.h"
#include "../common/tz.h"

/* Where an item was written: the file (owned by the struct cfg) and the
 * 1-based line and column of its value. */
struct cfg_pos {
    const char *file;
    int line;
    int col;
};

enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARNING, CFG_LOG_ERROR };

/* What a token may do (DESIGN section 8): GET endpoints, POST
 * /api/v1/points, posting check-ins. */
enum cfg_scope { CFG_SCOPE_READ = 1u << 0, CFG_SCOPE_PUSH = 1u << 1, CFG_SCOPE_CHECKIN = 1u << 2 };
#define CFG_SCOPES_ALL (CFG_SCOPE_READ | CFG_SCOPE_PUSH | CFG_SCOPE_CHECKIN)

struct cfg_api_token {
    char *name;               /* [A-Za-z0-9_.:-]{1,64}; "api" = daemon.api_token */
    char *token;              /* secret; NULL when not resolved (CFG_NO_SECRETS) */
    unsigned scopes;          /* CFG_SCOPE_* bits, at least one */
    struct cfg_pos pos;
};

struct cfg_daemon {
    char *state_dir;          /* absolute after load (relative = to the main file's dir) */
    char *listen;             /* "host:port", "unix:PATH" or "" (API off) */
    char *api_token;          /* secret; NULL = none (or not resolved, see CFG_NO_SECRETS) */
    /* Every token the API accepts: daemon.api_token first (as "api", every
     * scope) when set, then daemon.api_tokens in file order. Names and
     * values are unique. */
    struct cfg_api_token *api_tokens;
    size_t n_api_tokens;
    char *timezone;           /* IANA name, default "UTC" */
    struct okrd_tz *tz;       /* opened from timezone */
    enum cfg_log_level log_level;
    int http_max_connections; /* default 64 */
    int64_t evaluate_every_ms;/* default 1m */
};

enum cfg_source_type { CFG_SRC_CSV_DIR, CFG_SRC_HTTP_JSON, CFG_SRC_PROMETHEUS };
enum cfg_layout { CFG_LAYOUT_LONG, CFG_LAYOUT_WIDE };
enum cfg_on_error { CFG_ON_ERROR_REJECT_FILE, CFG_ON_ERROR_SKIP_ROW };

struct cfg_wide_column {
    char *header;             /* CSV header */
    char *metric;             /* metric id it feeds */
};

struct cfg_csv_dir {
    char *path;               /* absolute after load */
    enum cfg_layout layout;
    /* long layout: header names; NULL = the defaults of DESIGN section 3.
     * col_timestamp is also the wide layout's "columns.timestamp". */
    char *col_metric, *col_timestamp, *col_value;
    /* wide layout: optional header -> metric map; n_wide == 0 = every column */
    struct cfg_wide_column *wide;
    size_t n_wide;
    char delimiter;           /* 0 = auto, else ',' ';' '\t' */
    char decimal;             /* '.' or ',' */
    char *strip;              /* "" = none */
    char **skip_rows;         /* first-cell values that skip a row */
    size_t n_skip_rows;
    char *timestamp_format;   /* NULL = auto, else strftime format */
    enum cfg_on_error on_error;
    int64_t rescan_ms;        /* default 30s */
    int64_t settle_ms;        /* default 100ms */
};

struct cfg_header {
    char *name;
    char *value;              /* secret */
};

struct cfg_extract {
    char *metric;
    char *value;              /* JSON Pointer; "" = the element itself */
    char *each;               /* JSON Pointer or NULL */
    char *timestamp;          /* JSON Pointer, or NULL = poll time */
    bool timestamp_is_key;    /* "timestamp": "@key" */
    enum okrd_ts_unit timestamp_unit;
    bool skip_today;
    struct cfg_pos pos;
};

enum cfg_http_method { CFG_HTTP_GET, CFG_HTTP_POST };

struct cfg_http_json {
    char *url;                /* secret */
    enum cfg_http_method method;
    struct cfg_header *headers;
    size_t n_headers;
    char *body;               /* secret; NULL = none */
    int64_t interval_ms;      /* >= 1s */
    int64_t timeout_ms;       /* default 10s */
    int64_t max_bytes;        /* default 8388608 */
    bool insecure;
    int failing_after;        /* default 3 */
    struct cfg_extract *extract;
    size_t n_extract;
};

struct cfg_prom_query {
    char *metric;
    char *query;
    struct cfg_pos pos;
};

struct cfg_prometheus {
    char *url;                /* secret */
    int64_t interval_ms;
    int64_t timeout_ms;
    char *basic_username;     /* NULL = no basic auth */
    char *basic_password;     /* secret */
    bool insecure;
    int failing_after;
    struct cfg_prom_query *queries;
    size_t n_queries;
};

struct cfg_source {
    char *id;
    enum cfg_source_type type;
    union {
        struct cfg_csv_dir csv;
        struct cfg_http_json http;
        struct cfg_prometheus prom;
    } u;
    struct cfg_pos pos;
};

struct cfg_metric {
    char *id;
    char *unit;               /* NULL = none */
    char *ratio_num, *ratio_den; /* both NULL = not a ratio metric */
    double scale;             /* default 1 */
    int64_t stale_after_ms;   /* 0 = default (DESIGN section 4) */
    struct cfg_pos pos;
};

struct cfg_cycle {
    int64_t start_s;          /* midnight of the start day, in daemon.timezone */
    int64_t end_s;            /* midnight AFTER the end day (exclusive) */
    char start_date[11];      /* "2026-10-01" */
    char end_date[11];        /* "2026-12-31" (the end day, inclusive) */
};

enum cfg_direction { CFG_DIR_INCREASE, CFG_DIR_DECREASE, CFG_DIR_AT_LEAST, CFG_DIR_AT_MOST };

enum cfg_target_kind {
    CFG_TARGET_ABSOLUTE,      /* "target": 1200 */
    CFG_TARGET_PERCENT,       /* "+20%" -> value 20, "-10%" -> value -10 */
    CFG_TARGET_DELTA,         /* "+500" -> value 500, "-3" -> value -3 */
};

struct cfg_target {
    enum cfg_target_kind kind;
    double value;
    char text[32];            /* as configured, for display ("+20%", "1200") */
};

enum cfg_agg_fn { CFG_AGG_LAST, CFG_AGG_SUM, CFG_AGG_AVG, CFG_AGG_MIN, CFG_AGG_MAX };

struct cfg_aggregate {
    enum cfg_agg_fn fn;
    bool window_cycle;        /* "window": "cycle" */
    int64_t window_ms;        /* else a rolling duration; 0 for "last" */
};

struct cfg_milestone {
    int64_t at_s;             /* the end of its day (midnight after it), UTC */
    char date[11];
    double progress;          /* 0..1, non-decreasing */
};

enum cfg_projection { CFG_PROJ_AVERAGE, CFG_PROJ_TREND };

struct cfg_objective;

struct cfg_key_result {
    char *id;
    char *title;
    char *owner;              /* NULL = none; default: the objective's owner */
    char *metric;
    enum cfg_direction direction;
    struct cfg_target target;
    bool baseline_auto;       /* default true */
    double baseline;          /* when !baseline_auto */
    struct cfg_aggregate aggregate;
    double weight;            /* default 1 */
    struct cfg_milestone *milestones; /* n_milestones == 0: linear pace */
    size_t n_milestones;
    enum cfg_projection projection;
    int64_t trend_window_ms;  /* default 14d */
    double grace;             /* default 0.1 */
    double at_risk;           /* default 0.9 */
    double off_track;         /* default 0.7 */
    double margin;            /* default 0.05 */
    const struct cfg_objective *objective; /* the objective that holds it */
    struct cfg_pos pos;
};

struct cfg_objective {
    char *id;
    char *title;
    char *owner;              /* NULL = none */
    char *parent_id;          /* NULL = top level */
    const struct cfg_objective *parent; /* resolved; parents form no cycle */
    double weight;            /* default 1 */
    struct cfg_cycle cycle;
    struct cfg_key_result *key_results;
    size_t n_key_results;
    struct cfg_pos pos;
};

enum cfg_webhook_format { CFG_WEBHOOK_JSON, CFG_WEBHOOK_SLACK };

struct cfg_webhook {
    char *id;
    char *url;                /* secret: never log it */
    enum cfg_webhook_format format;
    char *secret;             /* "whsec_..." secret, NULL = unsigned */
    char **events;            /* n_events == 0: all */
    size_t n_events;
    char **objectives;        /* n_objectives == 0: all */
    size_t n_objectives;
    int64_t timeout_ms;       /* default 10s */
    int64_t max_age_ms;       /* default 72h */
    struct cfg_pos pos;
};

struct cfg_alerts {
    int64_t for_ms;           /* default 1h */
    int64_t repeat_ms;        /* default 7d */
    int64_t grade_after_ms;   /* default 1d */
    int64_t retention_ms;     /* default 90d */
    bool has_digest;
    int digest_weekday;       /* 0 = Sunday .. 6 = Saturday */
    int digest_minute;        /* minutes after local midnight, 0..1439 */
    char **digest_webhooks;
    size_t n_digest_webhooks;
};

/* The checkins section (DESIGN section 8). */
struct cfg_checkins {
    int64_t every_ms;         /* default 7d: a check-in older than this is due */
    bool has_remind;          /* checkins.remind set: checkin.due events */
    int remind_weekday;       /* 0 = Sunday .. 6 = Saturday */
    int remind_minute;        /* minutes after local midnight, 0..1439 */
    char **webhooks;          /* n_webhooks == 0: every webhook */
    size_t n_webhooks;
    int64_t override_for_ms;  /* default 14d: how long a status override holds */
};

/* The store section (DESIGN section 10). */
enum cfg_store_backend { CFG_STORE_SQLITE, CFG_STORE_POSTGRESQL };

struct cfg_store {
    enum cfg_store_backend backend; /* default sqlite (STATE_DIR/okrd.db) */
    /* postgresql: a libpq connection string or URI, a secret: never log or
     * print it. Resolved even under CFG_NO_SECRETS (read-only commands
     * need it to reach the store); NULL with sqlite (not resolved there). */
    char *url;
    int64_t takeover_check_ms;      /* ha.takeover_check, >= 1s, default 2s */
};

struct cfg_lookup; /* cfg_util.c */

struct cfg {
    char *path;               /* the main file, as given */
    char **files;             /* every file read, main first */
    size_t n_files;
    struct cfg_daemon daemon;
    struct cfg_source *sources;
    size_t n_sources;
    struct cfg_metric *metrics;
    size_t n_metrics;
    struct cfg_objective *objectives;
    size_t n_objectives;
    struct cfg_webhook *webhooks;
    size_t n_webhooks;
    struct cfg_alerts alerts;
    struct cfg_checkins checkins;
    struct cfg_store store;
    bool secrets_resolved;    /* false when loaded with CFG_NO_SECRETS */
    /* Sources and metrics sorted by id, for cfg_find_source/cfg_find_metric;
     * set by a successful load. NULL (a struct cfg built by hand), or built
     * for other arrays than the ones now in the struct: lookups search. */
    const struct cfg_lookup *lookup;
};

/* ---- diagnostics ---- */

enum cfg_severity { CFG_SEV_ERROR, CFG_SEV_WARNING };

struct cfg_diag {
    enum cfg_severity severity;
    char *text;               /* "FILE:LINE:COL: message" (or "FILE: message") */
};

/* Collected problems. cfg_load reports up to CFG_MAX_ERRORS_PER_FILE errors per
 * file and then one line saying how many more were left out. */
struct cfg_diags {
    struct cfg_diag *items;
    size_t n;
    size_t n_errors;          /* every error found, also those the cap left out */
};

#define CFG_MAX_ERRORS_PER_FILE 20

void cfg_diags_free(struct cfg_diags *d);

/* ---- loading ---- */

enum {
    /* Resolve no secret: fields that hold secrets (api_token, source urls,
     * headers, body, basic_auth password, webhook url and secret) keep their
     * "${...}" reference text unresolved (or NULL for api_token/secret) and
     * no error is raised for a missing one. For `status` and `export`, which
     * an operator runs beside the service without its credentials. */
    CFG_NO_SECRETS = 1u << 0,
    /* Accept a store.backend this build has no implementation of instead
     * of failing at that key (today every backend is built: store/sqlite/
     * and store/pg/, so it changes nothing). For `okrd backup` and `okrd
     * migrate`, which only need to know the backend. */
    CFG_ANY_BACKEND = 1u << 1,
};

/* Loads PATH and its conf.d/ drop-ins. On success returns 0 and *out (owned
 * by the caller, free with cfg_free). On failure returns OKRD_EINVAL (or
 * OKRD_EIO when PATH cannot be read) and *out is NULL; diags (never NULL)
 * holds every problem found, errors and warnings, in file order. Warnings may
 * be present on success too. *diags is overwritten, not appended to: pass a
 * fresh one (or one already given to cfg_diags_free) and free it with
 * cfg_diags_free whatever the result. */
int cfg_load(const char *path, unsigned flags, struct cfg **out, struct cfg_diags *diags);

/* Same, from text in memory (for tests and fuzzing): NAME is used in messages
 * and relative paths resolve against the current directory; no drop-ins. */
int cfg_load_string(const char *text, size_t len, const char *name, unsigned flags,
                    struct cfg **out, struct cfg_diags *diags);

void cfg_free(struct cfg *cfg);

/* ---- lookups ---- */

/* The first source / metric with this id, or NULL. O(log n) on a loaded
 * config (they run per poll and per key result: 1,000 sources must not
 * cost a million compares a round); the others are linear. */
const struct cfg_source *cfg_find_source(const struct cfg *cfg, const char *id);
const struct cfg_metric *cfg_find_metric(const struct cfg *cfg, const char *id);
const struct cfg_objective *cfg_find_objective(const struct cfg *cfg, const char *id);
const struct cfg_key_result *cfg_find_key_result(const struct cfg *cfg, const char *id);
const struct cfg_webhook *cfg_find_webhook(const struct cfg *cfg, const char *id);
/* The interval of the polled source (http_json, prometheus) that extracts
 * METRIC, the first one when several do; 0 when none does (a csv_dir or push
 * metric, a ratio metric, or an unknown id). */
int64_t cfg_metric_poll_interval_ms(const struct cfg *cfg, const char *metric);

/* Whether A and B configure the same source (every field but positions):
 * a reload keeps an equal source running and restarts a changed one. */
bool cfg_source_equal(const struct cfg_source *a, const struct cfg_source *b);

/* Names for enums, as written in the config ("increase", "csv_dir", ...). */
const char *cfg_direction_name(enum cfg_direction d);
const char *cfg_source_type_name(enum cfg_source_type t);
const char *cfg_agg_fn_name(enum cfg_agg_fn f);
const char *cfg_log_level_name(enum cfg_log_level l);
const char *cfg_store_backend_name(enum cfg_store_backend b);

/* The event types of DESIGN section 5, for validating webhook filters. */
extern const char *const cfg_event_types[];
extern const size_t cfg_n_event_types;

#endif
