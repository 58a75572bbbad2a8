/*
 * store_schema.c — the database schema as data: one entry per migration.
 *
 * Owns the CREATE statements; store.c owns running them (all pending ones in
 * one transaction, then PRAGMA user_version = the last entry's version).
 * Invariant: entries are never edited once released. A schema change is a
 * NEW entry appended with version = previous + 1, so any older database can
 * be brought forward step by step; store_schema_version() is the last one.
 *
 * Timestamps are INTEGER UTC Unix seconds; undefined numbers are NULL.
 */
#include "sqlite_internal.h"

const struct store_migration store_migrations[] = {
    { 1, "create the schema",
      /* Metric ids are interned: points carry an integer, so the hot table
       * stays narrow and a name is stored once. */
      "CREATE TABLE metrics ("
      "  id   INTEGER PRIMARY KEY,"
      "  name TEXT NOT NULL UNIQUE"
      ");"
      /* WITHOUT ROWID: the (metric_id, ts) key IS the row, so a range read
       * of one metric is one b-tree walk and an upsert touches one tree. */
      "CREATE TABLE points ("
      "  metric_id INTEGER NOT NULL REFERENCES metrics(id),"
      "  ts        INTEGER NOT NULL,"
      "  value     REAL NOT NULL,"
      "  PRIMARY KEY (metric_id, ts)"
      ") WITHOUT ROWID;"
      "CREATE TABLE source_health ("
      "  source               TEXT PRIMARY KEY,"
      "  last_success_at      INTEGER,"          /* NULL = never */
      "  last_error_at        INTEGER,"          /* NULL = never */
      "  last_error           TEXT,"             /* NULL = none */
      "  consecutive_failures INTEGER NOT NULL DEFAULT 0,"
      "  points_total         INTEGER NOT NULL DEFAULT 0"
      ") WITHOUT ROWID;"
      "CREATE TABLE kr_state ("
      "  kr_id           TEXT PRIMARY KEY,"
      "  status          TEXT NOT NULL,"
      "  since           INTEGER NOT NULL,"
      "  evaluated_at    INTEGER NOT NULL,"
      "  value           REAL,"                  /* NULL = undefined */
      "  progress        REAL,"
      "  expected        REAL,"
      "  projected_score REAL,"
      "  score           REAL,"
      "  stale           INTEGER NOT NULL DEFAULT 0"
      ") WITHOUT ROWID;"
      "CREATE TABLE kr_history ("
      "  kr_id    TEXT NOT NULL,"
      "  date     TEXT NOT NULL,"                /* YYYY-MM-DD in daemon.timezone */
      "  status   TEXT NOT NULL,"
      "  progress REAL,"
      "  PRIMARY KEY (kr_id, date)"
      ") WITHOUT ROWID;"
      /* The alerts outbox (DESIGN section 5): a row is written in the same
       * transaction as the status change that raised it. seq AUTOINCREMENT
       * never reuses a number, so creation order survives deletions by
       * retention; id is the stable event id sent as webhook-id. */
      "CREATE TABLE outbox ("
      "  seq          INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  id           TEXT NOT NULL UNIQUE,"
      "  type         TEXT NOT NULL,"
      "  objective_id TEXT,"
      "  kr_id        TEXT,"
      "  occurred_at  INTEGER NOT NULL,"
      "  body         TEXT NOT NULL,"
      "  created_at   INTEGER NOT NULL"
      ");"
      "CREATE TABLE deliveries ("
      "  event_id        TEXT NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,"
      "  webhook_id      TEXT NOT NULL,"
      "  state           TEXT NOT NULL DEFAULT 'pending'"
      "                  CHECK (state IN ('pending', 'delivered', 'dead')),"
      "  attempts        INTEGER NOT NULL DEFAULT 0,"
      "  next_attempt_at INTEGER NOT NULL DEFAULT 0,"
      "  last_error      TEXT,"
      "  last_status     INTEGER,"
      "  delivered_at    INTEGER,"
      "  PRIMARY KEY (event_id, webhook_id)"
      ") WITHOUT ROWID;"
      "CREATE INDEX deliveries_by_webhook ON deliveries(webhook_id, state);"
      "CREATE TABLE ingest_log ("
      "  id      INTEGER PRIMARY KEY,"
      "  source  TEXT NOT NULL,"
      "  name    TEXT NOT NULL,"
      "  sha256  TEXT NOT NULL,"
      "  rows    INTEGER NOT NULL,"
      "  outcome TEXT NOT NULL CHECK (outcome IN ('ingested', 'rejected', 'partial')),"
      "  at      INTEGER NOT NULL"
      ");"
      "CREATE INDEX ingest_log_by_sha256 ON ingest_log(sha256);" },
    { 2, "alert rule state and delivery bookkeeping",
      /* seq on deliveries: "the oldest pending delivery of webhook W" is one
       * index probe instead of a join and a sort. refusals counts answers
       * 400/413/422 (three dead-letter early); parts_done is how many Slack
       * messages of a split digest were already accepted. */
      "ALTER TABLE deliveries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE deliveries ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;"
      "ALTER TABLE deliveries ADD COLUMN parts_done INTEGER NOT NULL DEFAULT 0;"
      "UPDATE deliveries SET seq = (SELECT seq FROM outbox WHERE outbox.id = deliveries.event_id);"
      "CREATE INDEX deliveries_queue ON deliveries(webhook_id, state, seq);"
      "CREATE INDEX deliveries_by_state ON deliveries(state, seq);"
      "CREATE INDEX outbox_by_created ON outbox(created_at);"
      /* What the alert rules remember per key result: the status they
       * settled on, a different one waiting out alerts.for, the repeat
       * clock, and the cycle of the last kr.achieved. */
      "CREATE TABLE alert_kr ("
      "  kr_id           TEXT PRIMARY KEY,"
      "  announced       TEXT NOT NULL,"         /* '' = none yet */
      "  previous        TEXT NOT NULL DEFAULT '',"
      "  candidate       TEXT NOT NULL DEFAULT '',"
      "  candidate_since INTEGER NOT NULL DEFAULT 0,"
      "  last_sent       INTEGER NOT NULL DEFAULT 0,"
      "  achieved_cycle  INTEGER NOT NULL DEFAULT 0,"
      "  stale           INTEGER NOT NULL DEFAULT 0"
      ") WITHOUT ROWID;"
      "CREATE TABLE alert_source ("
      "  source  TEXT PRIMARY KEY,"
      "  failing INTEGER NOT NULL,"
      "  since   INTEGER NOT NULL"
      ") WITHOUT ROWID;"
      "CREATE TABLE alert_meta ("
      "  key   TEXT PRIMARY KEY,"
      "  value INTEGER NOT NULL"
      ") WITHOUT ROWID;" },
    { 3, "max_age recorded with each delivery",
      /* DESIGN section 5: a delivery whose webhook was removed from the
       * config (or renamed) waits, and dies only by the max_age its webhook
       * had when the delivery was created, so that max_age lives with the
       * row. 0 = made before it was recorded: the webhook's max_age now,
       * or the default 72h if the webhook is gone. */
      "ALTER TABLE deliveries ADD COLUMN max_age_ms INTEGER NOT NULL DEFAULT 0;" },
    { 4, "ingest log keyed by (source, sha256), with the skipped-rows report",
      /* DESIGN section 3: the same bytes dropped into another source's inbox
       * are that source's data, so "already ingested" is asked per source.
       * Every row since version 1 names its source (NOT NULL; `okrd ingest`
       * logs under its --source), so an old row already means what a new
       * one means, "source S stored these bytes", and keeps its source
       * as it is. Old rows have no report (NULL): a duplicate of such a
       * file is archived without one, as before. report is the JSON of a
       * file with skipped rows, logged in the file's transaction so a
       * crash between COMMIT and the move cannot lose it. */
      "ALTER TABLE ingest_log ADD COLUMN report TEXT;"
      "DROP INDEX ingest_log_by_sha256;"
      "CREATE INDEX ingest_log_by_source_sha256 ON ingest_log(source, sha256);" },
    { 5, "the sources that fed each metric",
      /* `okrd metrics` (DESIGN section 6) lists the sources that fed a
       * metric; points do not say where they came from (a source tag on
       * each would widen the hot table), so each batch upserts one row per
       * (metric, source) it wrote, in the points' own transaction. Points
       * stored before this migration have no row: nothing recorded it. */
      "CREATE TABLE metric_sources ("
      "  metric_id INTEGER NOT NULL REFERENCES metrics(id),"
      "  source    TEXT NOT NULL,"                /* a source id, or "push" */
      "  PRIMARY KEY (metric_id, source)"
      ") WITHOUT ROWID;" },
    { 6, "check-ins",
      /* DESIGN section 8: people's check-ins, kept for good (a retrospective
       * reads them; nothing deletes them). A rowid table, not WITHOUT ROWID:
       * a comment may be 4,000 bytes, far past the row size at which a
       * clustered key pays. seq numbers the check-ins of one key result and
       * cycle in commit order (the writer assigns latest + 1, so the UNIQUE
       * key is also what makes two racing check-ins fail rather than share
       * a number); its index answers "the latest at or before t" (walk seq
       * down, at_s never goes back) and the export order. Absent values are
       * NULL: no confidence, no status (and then no until_s), no value, no
       * grade, no comment. announced is 0 until the evaluation that writes
       * the check-in's kr.check_in event marks it, in that event's
       * transaction; the partial index holds only those rows, so finding
       * them costs nothing once they are announced. */
      "CREATE TABLE checkins ("
      "  id          TEXT PRIMARY KEY,"           /* chk_ + ULID */
      "  key_result  TEXT NOT NULL,"
      "  cycle_start TEXT NOT NULL,"              /* YYYY-MM-DD */
      "  seq         INTEGER NOT NULL CHECK (seq >= 1),"
      "  at_s        INTEGER NOT NULL,"           /* commit time, UTC seconds */
      "  author      TEXT NOT NULL,"              /* the token's name */
      "  confidence  INTEGER CHECK (confidence BETWEEN 0 AND 10),"
      "  status      TEXT CHECK (status IN ('on_track', 'at_risk', 'off_track')),"
      "  until_s     INTEGER,"                    /* the override's end; NULL without status */
      "  value       REAL,"
      "  grade       REAL CHECK (grade BETWEEN 0 AND 1),"
      "  comment     TEXT,"
      "  announced   INTEGER NOT NULL DEFAULT 0 CHECK (announced IN (0, 1)),"
      "  UNIQUE (key_result, cycle_start, seq)"
      ");"
      /* A key result's check-ins newest first, in a from/to range of at_s
       * (GET .../check-ins, the dashboard), sorted by the index alone. */
      "CREATE INDEX checkins_by_kr_at ON checkins(key_result, at_s, seq, cycle_start);"
      "CREATE INDEX checkins_unannounced ON checkins(key_result, cycle_start, seq)"
      "  WHERE announced = 0;" },
    { 7, "daily history with both statuses, and the definitions archive",
      /* DESIGN section 9. kr_history grows in place (ALTER TABLE keeps
       * every row): status stays the effective status it always held, and
       * computed_status starts equal to it (before check-ins the two were
       * one; a v6 row recorded the effective one and the computed one is
       * lost). cycle_start is NULL for a row written before this version:
       * nothing recorded which cycle it belonged to, and guessing from
       * today's config could be wrong, so it stays unknown (read as "").
       * expected, score and probability are NULL for those rows for the
       * same reason. The index answers "the newest day of a key result's
       * cycle" (where a backfill starts) with one probe. */
      "ALTER TABLE kr_history ADD COLUMN cycle_start TEXT;"
      "ALTER TABLE kr_history ADD COLUMN computed_status TEXT NOT NULL DEFAULT '';"
      "UPDATE kr_history SET computed_status = status;"
      "ALTER TABLE kr_history ADD COLUMN expected REAL;"
      "ALTER TABLE kr_history ADD COLUMN score REAL;"
      "ALTER TABLE kr_history ADD COLUMN probability REAL;"
      "CREATE INDEX kr_history_by_cycle ON kr_history(kr_id, cycle_start, date);"
      /* Every version of every objective's and key result's resolved
       * definition, kept for good (a retrospective reads them after the
       * config dropped the objective). version counts 1, 2, 3, ... per
       * (kind, id, cycle_start); the newest is the one in force. A rowid
       * table: the JSON text runs to a few hundred bytes. */
      "CREATE TABLE definitions ("
      "  kind          TEXT NOT NULL CHECK (kind IN ('objective', 'key_result')),"
      "  id            TEXT NOT NULL,"
      "  cycle_start   TEXT NOT NULL,"             /* YYYY-MM-DD */
      "  cycle_end     TEXT NOT NULL,"             /* YYYY-MM-DD, the end day */
      "  version       INTEGER NOT NULL CHECK (version >= 1),"
      "  json          TEXT NOT NULL,"
      "  recorded_at_s INTEGER NOT NULL,"
      "  UNIQUE (kind, id, cycle_start, version)"
      ");"
      "CREATE INDEX definitions_by_cycle ON definitions(cycle_start, cycle_end);" },
    { 8, "the previous status stored, webhooks disabled by 410 Gone, one ingest log row per file",
      /* DESIGN section 10. kr_state holds the whole object an evaluation
       * computed, the status before the latest change included ('' =
       * unknown: before this version, or never changed), so a follower
       * answers with it and it survives a restart.
       * A 410 disables its webhook until the next reload
       * or restart; the row (numbered by a counter that never goes back:
       * rows are never deleted) lets a node taking over, or leading again
       * after a step-down, keep it disabled, while a node that reloaded or
       * started after it (its mark is at least seq) enables it.
       * The ingest log keeps one row per (source, sha256): of the rows one
       * file got before (logged again by `okrd ingest`), the newest that
       * stored its points wins (it is the one "already ingested" answered
       * with), else the newest. The UNIQUE index replaces the plain one. */
      "ALTER TABLE kr_state ADD COLUMN previous TEXT NOT NULL DEFAULT '';"
      "CREATE TABLE webhooks_disabled ("
      "  webhook_id     TEXT PRIMARY KEY,"
      "  seq            INTEGER NOT NULL UNIQUE,"
      "  disabled_at_ms INTEGER NOT NULL"
      ") WITHOUT ROWID;"
      "DELETE FROM ingest_log WHERE id NOT IN ("
      "  SELECT coalesce(max(CASE WHEN outcome <> 'rejected' THEN id END), max(id))"
      "  FROM ingest_log GROUP BY source, sha256);"
      "DROP INDEX ingest_log_by_source_sha256;"
      "CREATE UNIQUE INDEX ingest_log_by_source_sha256 ON ingest_log(source, sha256);" },
    /* { 9, "...", "ALTER TABLE ...;" }, — append here, never edit above. */
};

const size_t store_n_migrations = sizeof store_migrations / sizeof store_migrations[0];

int store_schema_version(void)
{
    return store_migrations[store_n_migrations - 1].version;
}
