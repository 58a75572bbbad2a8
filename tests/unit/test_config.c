/*
 * test_config.c — config/: the loader, its error messages and positions,
 * secrets, drop-ins and the structs it builds.
 *
 * Invalid configs are one table. Each text carries a "@@" marker where the
 * error must point; the test removes it and computes the expected LINE:COL
 * from it (columns count UTF-8 characters, like the loader), so a case can
 * be edited without recounting lines. Every case names the key path and a
 * substring of the message it expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config/cfg_internal.h"
#include "config/config.h"
#include "testutil.h"

/* ---- helpers ---- */

static char *strip_marker(const char *in, int *line, int *col)
{
    const char *m = strstr(in, "@@");
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    *line = *col = 0;
    if (!m) {
        memcpy(out, in, n + 1);
        return out;
    }
    int l = 1, c = 1;
    for (const char *p = in; p < m; p++) {
        if (*p == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
    size_t pre = (size_t)(m - in);
    memcpy(out, in, pre);
    memcpy(out + pre, m + 2, n - pre - 2 + 1);
    return out;
}

static int load_str(const char *text, unsigned flags, struct cfg **cfg, struct cfg_diags *d)
{
    return cfg_load_string(text, strlen(text), "okrd.json", flags, cfg, d);
}

static void dump_diags(const struct cfg_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "    diag[%zu] %s: %s\n", i,
                d->items[i].severity == CFG_SEV_ERROR ? "error" : "warning", d->items[i].text);
}

static const char *find_diag(const struct cfg_diags *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->items[i].text, needle))
            return d->items[i].text;
    return NULL;
}

/* A diag with MSG must start with "FILE:LINE:COL: PATH: " (COL 0: any). */
static bool has_diag_at(const struct cfg_diags *d, const char *file, int line, int col,
                        const char *path, const char *msg)
{
    char prefix[8192]; /* file paths in tests can be long */
    for (size_t i = 0; i < d->n; i++) {
        const char *t = d->items[i].text;
        if (!strstr(t, msg))
            continue;
        if (col > 0)
            snprintf(prefix, sizeof prefix, "%s:%d:%d: %s%s", file, line, col, path,
                     *path ? ": " : "");
        else
            snprintf(prefix, sizeof prefix, "%s:%d:", file, line);
        if (strncmp(t, prefix, strlen(prefix)) != 0)
            continue;
        if (col == 0 && *path) {
            char p2[256];
            snprintf(p2, sizeof p2, ": %s: ", path);
            if (!strstr(t, p2))
                continue;
        }
        return true;
    }
    return false;
}

static void assert_no_text(const struct cfg_diags *d, const char *secret)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strstr(d->items[i].text, secret)) {
            dump_diags(d);
            fail_msg("secret value \"%s\" appears in a diagnostic", secret);
        }
    }
}

/* ---- the table of invalid configs ---- */

#define OBJ_HEAD "{\n \"objectives\": [\n  { \"id\": \"o1\", \"title\": \"T\", \"cycle\": \"2026-Q4\", \"key_results\": [\n"
#define OBJ_TAIL "\n  ] }\n ]\n}\n"
/* a key result on line 4; KR_AT marks its opening brace */
#define KR(x) OBJ_HEAD "   { \"id\": \"k1\", \"title\": \"K\", \"metric\": \"dau\", " x " }" OBJ_TAIL
#define KR_AT(x) OBJ_HEAD "   @@{ \"id\": \"k1\", \"title\": \"K\", " x " }" OBJ_TAIL
#define KRP "objectives[0].key_results[0]"
/* a source on line 3 */
#define SRC(x) "{\n \"sources\": [\n  { \"id\": \"s1\", " x " }\n ]\n}\n"
#define SRC_AT(x) "{\n \"sources\": [\n  @@{ \"id\": \"s1\", " x " }\n ]\n}\n"
#define HTTP_BASE "\"type\": \"http_json\", \"url\": \"https://a.example/\", \"interval\": \"1m\",\n    "
#define HTTP(x) SRC(HTTP_BASE "\"extract\": [ { \"metric\": \"m\", \"value\": \"/v\" } ], " x)
#define HTTPX(x) SRC(HTTP_BASE "\"extract\": [ { \"metric\": \"m\", " x " } ]")
#define CSV(x) SRC("\"type\": \"csv_dir\", \"path\": \"/srv/inbox\", " x)
#define SECRET_OK "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WEBHOOK(x) "{\n \"webhooks\": [\n  { \"id\": \"w1\", \"url\": \"https://h.example/\", " x " }\n ]\n}\n"
#define DAEMON(x) "{\n \"daemon\": {\n  " x "\n }\n}\n"
#define PACE(x) KR("\"direction\": \"increase\", \"target\": 10,\n    \"pace\": [ " x " ]")
#define OBJ2(a, b) "{\n \"objectives\": [\n  " a ",\n  " b "\n ]\n}\n"
#define METRICS(a, b) "{\n \"metrics\": [\n  " a ",\n  " b "\n ]\n}\n"

struct bad_case {
    const char *name;
    const char *text;     /* "@@" marks where the error must point */
    const char *path;     /* the key path printed before the message */
    const char *msg;      /* a substring of the message */
    bool col;             /* check the column too (not for jansson's syntax errors) */
};

static const struct bad_case bad_cases[] = {
    /* syntax */
    { "trailing comma", "{\n \"daemon\": { \"listen\": \"\", @@}\n}\n", "",
      "invalid JSON: string or '}' expected near '}' (a trailing comma?)", false },
    { "trailing comma in a list", "{\n \"webhooks\": [\n  {},\n @@]\n}\n", "", "(a trailing comma?)", false },
    { "empty file", "@@", "", "the file is empty", true },
    { "whitespace only", "@@\n  \n", "", "the file is empty", true },
    { "duplicate key", "{\n \"daemon\": { \"listen\": \"\",\n  \"listen\"@@: \"\" }\n}\n", "",
      "duplicate object key", false },
    { "top level is a list", "@@[1, 2]\n", "", "expected a JSON object at the top level", true },
    /* types */
    { "int as string", DAEMON("\"http_max_connections\": @@\"64\""),
      "daemon.http_max_connections", "expected an integer, got a string", true },
    { "bool as string", HTTP("\"insecure\": @@\"yes\""), "sources[0].insecure",
      "expected true or false, got a string", true },
    { "objectives not a list", "{\n \"objectives\": @@{}\n}\n", "objectives",
      "expected a list, got an object", true },
    { "key result not an object", OBJ_HEAD "   @@42" OBJ_TAIL, KRP,
      "expected an object, got an integer", true },
    { "duration as number", "{ \"alerts\": { \"for\": @@3600 } }", "alerts.for",
      "expected a duration string", true },
    /* unknown keys */
    { "unknown key with hint", HTTP("@@\"intervall\": \"5m\""), "sources[0].intervall",
      "unknown key \"intervall\" \xe2\x80\x94 did you mean \"interval\"?", true },
    { "unknown root key", "{\n  @@\"objectivs\": []\n}\n", "objectivs",
      "did you mean \"objectives\"?", true },
    { "unknown key, no hint", DAEMON("@@\"frobnicate\": 1"), "daemon.frobnicate",
      "unknown key \"frobnicate\"", true },
    { "transposed letters", KR("\"direction\": \"increase\", \"target\": 5, @@\"wieght\": 2"),
      KRP ".wieght", "did you mean \"weight\"?", true },
    { "key of another source type", CSV("@@\"interval\": \"1m\""), "sources[0].interval",
      "unknown key \"interval\"", true },
    /* missing required keys point at the enclosing object */
    { "missing metric", KR_AT("\"direction\": \"increase\", \"target\": 1"), KRP,
      "missing required key \"metric\"", true },
    { "missing source type", SRC_AT("\"path\": \"/x\""), "sources[0]",
      "missing required key \"type\"", true },
    { "missing interval", SRC_AT("\"type\": \"prometheus\", \"url\": \"http://p:9090\", "
      "\"queries\": [ { \"metric\": \"m\", \"query\": \"up\" } ]"), "sources[0]",
      "missing required key \"interval\"", true },
    { "missing cycle", "{ \"objectives\": [ @@{ \"id\": \"o\", \"title\": \"t\", \"key_results\": [] } ] }",
      "objectives[0]", "missing required key \"cycle\"", true },
    { "missing extract value", SRC(HTTP_BASE "\"extract\": [ @@{ \"metric\": \"m\", \"each\": \"/r\" } ]"),
      "sources[0].extract[0]", "missing required key \"value\"", true },
    /* durations and dates */
    { "bad duration unit", "{ \"alerts\": { \"repeat\": @@\"5x\" } }", "alerts.repeat",
      "invalid duration", true },
    { "interval below 1s", SRC("\"type\": \"http_json\", \"url\": \"https://a.example/\", "
      "\"interval\": @@\"500ms\", \"extract\": [ { \"metric\": \"m\", \"value\": \"\" } ]"),
      "sources[0].interval", "must be at least 1s", true },
    { "zero evaluate_every", DAEMON("\"evaluate_every\": @@\"0s\""), "daemon.evaluate_every",
      "must be longer than 0s", true },
    { "trend_window below a day", KR("\"direction\": \"increase\", \"target\": 5, "
      "\"trend_window\": @@\"1h\""), KRP ".trend_window", "must be at least 1d", true },
    { "impossible date", "{ \"objectives\": [ { \"id\": \"o\", \"title\": \"t\", \"key_results\": [],\n"
      "   \"cycle\": { \"start\": @@\"2026-02-30\", \"end\": \"2026-03-31\" } } ] }",
      "objectives[0].cycle.start", "no such day", true },
    { "cycle ends before start", "{ \"objectives\": [ { \"id\": \"o\", \"title\": \"t\", \"key_results\": [],\n"
      "   \"cycle\": { \"start\": \"2026-03-01\", \"end\": @@\"2026-02-01\" } } ] }",
      "objectives[0].cycle.end", "before it starts", true },
    { "bad quarter", "{ \"objectives\": [ { \"id\": \"o\", \"title\": \"t\", \"key_results\": [],\n"
      "   \"cycle\": @@\"2026-Q5\" } ] }", "objectives[0].cycle", "is not a quarter", true },
    /* targets and baselines */
    { "target without sign", KR("\"direction\": \"increase\", \"target\": @@\"20%\""),
      KRP ".target", "\"20%\" is not a target", true },
    { "absolute target as string", KR("\"direction\": \"increase\", \"target\": @@\"1200\""),
      KRP ".target", "write an absolute target as a JSON number", true },
    { "negative percent on increase", KR("\"direction\": \"increase\", \"target\": @@\"-10%\""),
      KRP ".target", "\"-10%\" goes the wrong way", true },
    { "positive delta on decrease", KR("\"direction\": \"decrease\", \"target\": @@\"+3\""),
      KRP ".target", "\"+3\" goes the wrong way", true },
    { "increase below explicit baseline", KR("\"direction\": \"increase\", \"baseline\": 1000,\n"
      "    \"target\": @@900"), KRP ".target", "900 is not reachable", true },
    { "decrease above explicit baseline", KR("\"direction\": \"decrease\", \"baseline\": 10,\n"
      "    \"target\": @@12"), KRP ".target", "12 is not reachable", true },
    { "percent from a zero baseline", KR("\"direction\": \"increase\", \"baseline\": 0, "
      "\"target\": @@\"+20%\""), KRP ".target", "\"+20%\" is not reachable", true },
    { "relative target on a sum over the cycle", KR("\"direction\": \"increase\",\n"
      "    \"aggregate\": { \"fn\": \"sum\", \"window\": \"cycle\" }, \"target\": @@\"+500\""),
      KRP ".target", "a sum over the cycle starts from 0", true },
    { "relative target on at_least", KR("\"direction\": \"at_least\", \"target\": @@\"+1\""),
      KRP ".target", "at_least needs an absolute level", true },
    { "bad baseline", KR("\"direction\": \"increase\", \"target\": 5, \"baseline\": @@\"none\""),
      KRP ".baseline", "expected a number or \"auto\"", true },
    { "bad direction", KR("\"direction\": @@\"up\", \"target\": 5"), KRP ".direction",
      "is not one of increase|decrease|at_least|at_most", true },
    { "bad aggregate fn", KR("\"direction\": \"increase\", \"target\": 5,\n"
      "    \"aggregate\": { \"fn\": @@\"median\", \"window\": \"7d\" }"), KRP ".aggregate.fn",
      "\"median\" is not one of last|sum|avg|min|max", true },
    { "aggregate without fn", KR("\"direction\": \"increase\", \"target\": 5,\n"
      "    \"aggregate\": @@{ \"window\": \"cycle\" }"), KRP ".aggregate",
      "missing required key \"fn\"", true },
    /* thresholds */
    { "off_track above at_risk", KR("\"direction\": \"increase\", \"target\": 5, "
      "\"at_risk\": 0.6, \"off_track\": @@0.8"), KRP ".off_track", "must not be above at_risk", true },
    { "grace out of range", KR("\"direction\": \"increase\", \"target\": 5, \"grace\": @@1.5"),
      KRP ".grace", "1.5 is out of range: it must be at least 0 and below 1", true },
    { "zero weight", KR("\"direction\": \"increase\", \"target\": 5, \"weight\": @@0"),
      KRP ".weight", "0 is out of range: it must be above 0", true },
    /* pace milestones */
    { "milestones out of order", PACE("{ \"date\": \"2026-11-15\", \"progress\": 0.5 },\n"
      "      { \"date\": @@\"2026-11-01\", \"progress\": 0.6 }"), KRP ".pace[1].date",
      "not after the previous milestone", true },
    { "milestone outside the cycle", PACE("{ \"date\": @@\"2027-01-15\", \"progress\": 0.5 }"),
      KRP ".pace[0].date", "outside the cycle (2026-10-01 to 2026-12-31)", true },
    { "milestone progress decreasing", PACE("{ \"date\": \"2026-11-01\", \"progress\": 0.5 },\n"
      "      { \"date\": \"2026-12-01\", \"progress\": @@0.4 }"), KRP ".pace[1].progress",
      "below the previous milestone", true },
    { "milestone progress above 1", PACE("{ \"date\": \"2026-11-01\", \"progress\": @@1.2 }"),
      KRP ".pace[0].progress", "outside 0..1", true },
    /* objectives and parents */
    { "unknown parent", OBJ2("{ \"id\": \"company\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [] }",
      "{ \"id\": \"team\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [], \"parent\": @@\"compnay\" }"),
      "objectives[1].parent", "unknown parent objective \"compnay\" \xe2\x80\x94 did you mean \"company\"?", true },
    { "parent cycle", OBJ2("{ \"id\": \"a\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [], \"parent\": @@\"b\" }",
      "{ \"id\": \"b\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [], \"parent\": \"a\" }"),
      "objectives[0].parent", "parent objectives form a cycle: a -> b -> a", true },
    { "own parent", "{ \"objectives\": [ { \"id\": \"a\", \"title\": \"t\", \"cycle\": \"2026-Q4\",\n"
      "  \"key_results\": [], \"parent\": @@\"a\" } ] }", "objectives[0].parent", "form a cycle: a -> a", true },
    { "invalid id", "{ \"objectives\": [ { \"id\": @@\"my goal\", \"title\": \"t\", \"cycle\": \"2026-Q4\", "
      "\"key_results\": [] } ] }", "objectives[0].id", "\"my goal\" is not a valid id", true },
    { "duplicate key result id", OBJ2("{ \"id\": \"a\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [\n"
      "    { \"id\": \"kr\", \"title\": \"x\", \"metric\": \"m\", \"direction\": \"at_least\", \"target\": 1 } ] }",
      "{ \"id\": \"b\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [\n"
      "    { \"id\": @@\"kr\", \"title\": \"x\", \"metric\": \"m\", \"direction\": \"at_least\", \"target\": 1 } ] }"),
      "objectives[1].key_results[0].id", "duplicate key result id \"kr\" (first defined at okrd.json:4:13)", true },
    /* metrics and ratios */
    { "ratio of itself", METRICS("{ \"id\": \"m1\", \"unit\": \"x\" }",
      "{ \"id\": \"r\", \"ratio\": [@@\"r\", \"m1\"] }"), "metrics[1].ratio[0]",
      "a ratio metric cannot use itself", true },
    { "ratio of a ratio", METRICS("{ \"id\": \"r1\", \"ratio\": [\"a\", \"b\"] }",
      "{ \"id\": \"r2\", \"ratio\": [\"c\", @@\"r1\"] }"), "metrics[1].ratio[1]",
      "\"r1\" is itself a ratio metric", true },
    { "ratio input not an id", METRICS("{ \"id\": \"m1\" }",
      "{ \"id\": \"r\", \"ratio\": [\"m1\", @@\"active users\"] }"), "metrics[1].ratio[1]",
      "\"active users\" is not a valid metric id", true },
    { "ratio with one input", METRICS("{ \"id\": \"m1\" }", "{ \"id\": \"r\", \"ratio\": @@[\"m1\"] }"),
      "metrics[1].ratio", "expected [numerator, denominator]", true },
    { "zero scale", METRICS("{ \"id\": \"m1\" }", "{ \"id\": \"r\", \"ratio\": [\"a\", \"b\"], \"scale\": @@0 }"),
      "metrics[1].scale", "must not be 0", true },
    { "duplicate metric id", METRICS("{ \"id\": \"m1\" }", "{ \"id\": @@\"m1\" }"),
      "metrics[1].id", "duplicate metric id \"m1\" (first defined at okrd.json:3:11)", true },
    /* sources */
    { "unknown source type", SRC("\"type\": @@\"kafka\""), "sources[0].type",
      "\"kafka\" is not one of csv_dir|http_json|prometheus", true },
    { "bad method", HTTP("\"method\": @@\"PUT\""), "sources[0].method", "is not one of GET|POST", true },
    { "@key without each", HTTPX("\"value\": \"/v\", \"timestamp\": @@\"@key\""),
      "sources[0].extract[0].timestamp", "\"@key\" needs \"each\"", true },
    { "pointer without slash", HTTPX("\"value\": @@\"visitors\""), "sources[0].extract[0].value",
      "a JSON Pointer is \"\" or starts with \"/\"", true },
    { "bad timestamp_unit", HTTPX("\"value\": \"\", \"timestamp_unit\": @@\"us\""),
      "sources[0].extract[0].timestamp_unit", "is not one of auto|s|ms", true },
    { "zero max_bytes", HTTP("\"max_bytes\": @@0"), "sources[0].max_bytes", "out of range", true },
    { "zero failing_after", HTTP("\"failing_after\": @@0"), "sources[0].failing_after",
      "out of range", true },
    { "empty extract", SRC(HTTP_BASE "\"extract\": @@[]"), "sources[0].extract",
      "must have at least one entry", true },
    { "bad header value type", HTTP("\"headers\": { \"X-Count\": @@5 }"),
      "sources[0].headers.X-Count", "expected a string, got an integer", true },
    { "bad delimiter", CSV("\"delimiter\": @@\"|\""), "sources[0].delimiter", "is not one of", true },
    { "bad decimal", CSV("\"decimal\": @@\";\""), "sources[0].decimal", "is not \".\" or \",\"", true },
    { "long column in wide layout", CSV("\"layout\": \"wide\", \"columns\": { @@\"value\": \"v\" }"),
      "sources[0].columns.value", "unknown key \"value\"", true },
    { "wide map to a bad id", CSV("\"layout\": \"wide\",\n    \"columns\": { \"metrics\": { \"Visitors\": @@\"a b\" } }"),
      "sources[0].columns.metrics.Visitors", "is not a valid id", true },
    { "bad on_error", CSV("\"on_error\": @@\"ignore\""), "sources[0].on_error",
      "is not one of reject_file|skip_row", true },
    { "duplicate source id", "{ \"sources\": [\n { \"id\": \"s\", \"type\": \"csv_dir\", \"path\": \"/a\" },\n"
      " { \"id\": @@\"s\", \"type\": \"csv_dir\", \"path\": \"/b\" } ] }", "sources[1].id",
      "duplicate source id \"s\" (first defined at okrd.json:2:10)", true },
    /* daemon */
    { "listen without port", DAEMON("\"listen\": @@\"localhost\""), "daemon.listen",
      "expected \"HOST:PORT\"", true },
    { "listen port out of range", DAEMON("\"listen\": @@\"127.0.0.1:70000\""), "daemon.listen",
      "the port must be a number from 1 to 65535", true },
    { "listen bare IPv6", DAEMON("\"listen\": @@\"::1:9470\""), "daemon.listen",
      "write an IPv6 address in brackets", true },
    { "listen bad IPv4", DAEMON("\"listen\": @@\"300.1.1.1:80\""), "daemon.listen",
      "not a valid IPv4 address", true },
    { "listen relative unix socket", DAEMON("\"listen\": @@\"unix:run/okrd.sock\""), "daemon.listen",
      "must be absolute", true },
    { "bad timezone", DAEMON("\"timezone\": @@\"Mars/Olympus_Mons\""), "daemon.timezone",
      "unknown zone", true },
    { "bad log level", DAEMON("\"log_level\": @@\"verbose\""), "daemon.log_level",
      "is not one of debug|info|warning|error", true },
    { "zero http_max_connections", DAEMON("\"http_max_connections\": @@0"),
      "daemon.http_max_connections", "out of range", true },
    /* webhooks and alerts */
    { "unknown event type", WEBHOOK("\"events\": [\"kr.achieved\", @@\"kr.offtrack\"]"),
      "webhooks[0].events[1]", "unknown event type \"kr.offtrack\" \xe2\x80\x94 did you mean \"kr.off_track\"?", true },
    { "webhook names unknown objective", WEBHOOK("\"objectives\": [@@\"growth\"]"),
      "webhooks[0].objectives[0]", "unknown objective \"growth\"", true },
    { "index kept after a bad list element", WEBHOOK("\"secret\": \"" SECRET_OK "\", \"objectives\": [5, @@\"nope\"]"),
      "webhooks[0].objectives[1]", "unknown objective \"nope\"", true },
    { "webhook secret without whsec_", WEBHOOK("\"secret\": @@\"abc123\""), "webhooks[0].secret",
      "must start with \"whsec_\"", true },
    { "webhook secret not base64", WEBHOOK("\"secret\": @@\"whsec_abc$\""), "webhooks[0].secret",
      "base64", true },
    { "bad webhook format", WEBHOOK("\"format\": @@\"teams\""), "webhooks[0].format",
      "is not one of json|slack", true },
    { "webhook url not http", WEBHOOK("\"secret\": \"" SECRET_OK "\", \"timeout\": \"1s\" }, { \"id\": \"w2\", \"url\": @@\"ftp://x\""),
      "webhooks[1].url", "must be an http:// or https:// URL", true },
    { "digest names unknown webhook", "{\n \"webhooks\": [ { \"id\": \"w1\", \"url\": \"https://h/\", \"secret\": \"" SECRET_OK "\" } ],\n"
      " \"alerts\": { \"digest\": { \"every\": \"mon 09:00\", \"webhooks\": [\"w1\", @@\"w9\"] } }\n}\n",
      "alerts.digest.webhooks[1]", "unknown webhook \"w9\"", true },
    { "bad digest weekday", "{ \"alerts\": { \"digest\": { \"every\": @@\"funday 09:00\", \"webhooks\": [\"w\"] } } }",
      "alerts.digest.every", "is not \"WEEKDAY HH:MM\"", true },
    { "bad digest time", "{ \"alerts\": { \"digest\": { \"every\": @@\"Monday 24:00\", \"webhooks\": [\"w\"] } } }",
      "alerts.digest.every", "is not \"WEEKDAY HH:MM\"", true },
    { "bad checkins remind", "{ \"checkins\": { \"remind\": @@\"mon 9am\" } }",
      "checkins.remind", "is not \"WEEKDAY HH:MM\"", true },
    { "checkins names unknown webhook", "{\n \"webhooks\": [ { \"id\": \"w1\", \"url\": \"https://h/\", \"secret\": \"" SECRET_OK "\" } ],\n"
      " \"checkins\": { \"remind\": \"mon 09:00\", \"webhooks\": [@@\"w2\"] } }\n",
      "checkins.webhooks[0]", "unknown webhook \"w2\"", true },
    { "checkins empty webhooks", "{ \"checkins\": { \"webhooks\": @@[] } }",
      "checkins.webhooks", "at least one webhook", true },
    { "checkins unknown key", "{ \"checkins\": { @@\"remindr\": \"mon 09:00\" } }",
      "checkins.remindr", "did you mean \"remind\"", true },
    { "checkins bad override_for", "{ \"checkins\": { \"override_for\": @@\"2 weeks\" } }",
      "checkins.override_for", "", true },
    /* store (DESIGN section 10) */
    { "store unknown backend", "{ \"store\": { \"backend\": @@\"postgres\" } }",
      "store.backend", "did you mean \"postgresql\"", true },
    { "store backend not a string", "{ \"store\": { \"backend\": @@1 } }",
      "store.backend", "expected a string", true },
    { "store postgresql without url", "{ \"store\": @@{ \"backend\": \"postgresql\" } }",
      "store", "missing required key \"url\"", true },
    { "store empty url", "{ \"store\": { \"backend\": \"postgresql\", \"url\": @@\"\" } }",
      "store.url", "must not be empty", true },
    { "store url not a conninfo", "{ \"store\": { \"backend\": \"postgresql\", \"url\": @@\"db.example\" } }",
      "store.url", "neither a postgresql:// URI", true },
    { "store url unset env", "{ \"store\": { \"backend\": \"postgresql\",\n"
      "  \"url\": @@\"${env:OKRD_T_UNSET_PG}\" } }",
      "store.url", "${env:OKRD_T_UNSET_PG} is not set", true },
    { "store unknown key", "{ \"store\": { @@\"backnd\": \"sqlite\" } }",
      "store.backnd", "did you mean \"backend\"", true },
    { "store ha not an object", "{ \"store\": { \"ha\": @@\"2s\" } }",
      "store.ha", "expected an object", true },
    { "store takeover_check under 1s", "{ \"store\": { \"ha\": { \"takeover_check\": @@\"500ms\" } } }",
      "store.ha.takeover_check", "must be at least 1s", true },
    { "store ha unknown key", "{ \"store\": { \"ha\": { @@\"takeover_chek\": \"2s\" } } }",
      "store.ha.takeover_chek", "did you mean \"takeover_check\"", true },
    { "store not an object", "{ \"store\": @@\"sqlite\" }",
      "store", "expected an object", true },
    { "stor typo", "{ @@\"stor\": {} }", "stor", "did you mean \"store\"", true },
    /* secrets */
    { "missing env secret", HTTP("\"headers\": { \"Authorization\": @@\"Bearer ${env:OKRD_TEST_SURELY_UNSET}\" }"),
      "sources[0].headers.Authorization", "${env:OKRD_TEST_SURELY_UNSET} is not set", true },
    { "missing file secret", WEBHOOK("\"secret\": @@\"${file:/nonexistent/okrd-secret}\""),
      "webhooks[0].secret", "${file:/nonexistent/okrd-secret}: cannot read: No such file", true },
    { "unterminated reference", DAEMON("\"state_dir\": @@\"${env:HOME\""), "daemon.state_dir",
      "unterminated ${env...} reference", true },
    /* owners and API tokens (DESIGN section 8) */
    { "kr owner not a string", KR("\"direction\": \"increase\", \"target\": 10, \"owner\": @@7"),
      KRP ".owner", "expected a string, got an integer", true },
#define TOK(x) DAEMON("\"api_tokens\": [ " x " ]")
#define TOKP "daemon.api_tokens[0]"
    { "tokens not a list", DAEMON("\"api_tokens\": @@{}"), "daemon.api_tokens",
      "expected a list, got an object", true },
    { "token entry not an object", TOK("@@\"abc\""), TOKP,
      "expected an object {\"name\", \"token\", \"scopes\"}, got a string", true },
    { "token unknown key", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [\"push\"], @@\"scope\": 1 }"),
      TOKP ".scope", "unknown key \"scope\" \xe2\x80\x94 did you mean \"scopes\"?", true },
    { "token name missing", TOK("@@{ \"token\": \"t1\", \"scopes\": [\"push\"] }"), TOKP,
      "missing required key \"name\"", true },
    { "token missing", TOK("@@{ \"name\": \"ci\", \"scopes\": [\"push\"] }"), TOKP,
      "missing required key \"token\"", true },
    { "scopes missing", TOK("@@{ \"name\": \"ci\", \"token\": \"t1\" }"), TOKP,
      "missing required key \"scopes\"", true },
    { "token name bad", TOK("{ \"name\": @@\"c i\", \"token\": \"t1\", \"scopes\": [\"push\"] }"),
      TOKP ".name", "\"c i\" is not a valid token name (letters, digits and _ . : -, 1 to 64", true },
    { "token name too long", TOK("{ \"name\": @@\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\", \"token\": \"t1\", \"scopes\": [\"push\"] }"),
      TOKP ".name", "is not a valid token name", true },
    { "token name empty", TOK("{ \"name\": @@\"\", \"token\": \"t1\", \"scopes\": [\"push\"] }"),
      TOKP ".name", "is not a valid token name", true },
    { "token name reserved", TOK("{ \"name\": @@\"api\", \"token\": \"t1\", \"scopes\": [\"push\"] }"),
      TOKP ".name", "\"api\" is reserved: it names daemon.api_token", true },
    { "token name twice", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [\"push\"] },\n"
      "   { \"name\": @@\"ci\", \"token\": \"t2\", \"scopes\": [\"read\"] }"),
      "daemon.api_tokens[1].name", "token name \"ci\" is used twice (first at okrd.json:3:19)", true },
    { "token value twice", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [\"push\"] },\n"
      "   { \"name\": \"bi\", \"token\": @@\"t1\", \"scopes\": [\"read\"] }"),
      "daemon.api_tokens[1].token", "the same token as \"ci\" (at okrd.json:3:19)", true },
    { "token same as api_token", DAEMON("\"api_token\": \"t1\",\n  \"api_tokens\": [ { \"name\": \"ci\", "
      "\"token\": @@\"t1\", \"scopes\": [\"push\"] } ]"),
      "daemon.api_tokens[0].token", "the same token as \"api\" (at okrd.json:3:16)", true },
    { "token empty", TOK("{ \"name\": \"ci\", \"token\": @@\"\", \"scopes\": [\"push\"] }"),
      TOKP ".token", "must not be empty", true },
    { "token with a space", TOK("{ \"name\": \"ci\", \"token\": @@\"a b\", \"scopes\": [\"push\"] }"),
      TOKP ".token", "must be visible ASCII characters only", true },
    { "token not a string", TOK("{ \"name\": \"ci\", \"token\": @@12, \"scopes\": [\"push\"] }"),
      TOKP ".token", "expected a string, got an integer", true },
    { "token unresolved", TOK("{ \"name\": \"ci\", \"token\": @@\"${file:/nonexistent/okrd-tok}\", \"scopes\": [\"push\"] }"),
      TOKP ".token", "${file:/nonexistent/okrd-tok}: cannot read", true },
    { "scopes empty", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": @@[] }"),
      TOKP ".scopes", "empty list: give at least one of read, push, checkin", true },
    { "scopes not a list", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": @@\"push\" }"),
      TOKP ".scopes", "expected a list, got a string", true },
    { "scope unknown", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [\"read\", @@\"psuh\"] }"),
      TOKP ".scopes[1]", "unknown scope \"psuh\" \xe2\x80\x94 did you mean \"push\"?", true },
    { "scope unknown, no hint", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [@@\"admin\"] }"),
      TOKP ".scopes[0]", "unknown scope \"admin\" (known: read, push, checkin)", true },
    { "scope not a string", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [@@1] }"),
      TOKP ".scopes[0]", "expected a string (read, push or checkin), got an integer", true },
    { "scope twice", TOK("{ \"name\": \"ci\", \"token\": \"t1\", \"scopes\": [\"push\", @@\"push\"] }"),
      TOKP ".scopes[1]", "scope \"push\" is listed twice", true },
    { "daemon key typo api_tokens", DAEMON("@@\"api_tokns\": []"), "daemon.api_tokns",
      "did you mean \"api_tokens\"?", true },
    { "non-loopback listen, no token", DAEMON("\"listen\": @@\"0.0.0.0:9470\""), "daemon.listen",
      "\"0.0.0.0:9470\" is not a loopback address, so every endpoint but /healthz needs a bearer token", true },
    { "host name listen, no token", DAEMON("\"listen\": @@\"okrd.example:9470\""), "daemon.listen",
      "is not a loopback address", true },
    { "ipv6 any listen, no token", DAEMON("\"listen\": @@\"[::]:9470\""), "daemon.listen",
      "is not a loopback address", true },
#undef TOK
#undef TOKP
    /* columns count characters, not bytes */
    { "utf-8 column", "{ \"objectives\": [ { \"id\": \"o\", \"title\": \"Größe überall\", \"weight\": @@\"x\",\n"
      "  \"cycle\": \"2026-Q4\", \"key_results\": [] } ] }", "objectives[0].weight",
      "expected a number, got a string", true },
};

static void test_invalid_table(void **state)
{
    (void)state;
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *bc = &bad_cases[i];
        int line, col;
        char *text = strip_marker(bc->text, &line, &col);
        struct cfg *cfg = NULL;
        struct cfg_diags d;
        int rc = load_str(text, 0, &cfg, &d);
        bool ok = rc == OKRD_EINVAL && cfg == NULL && d.n_errors >= 1 && line > 0 &&
                  has_diag_at(&d, "okrd.json", line, bc->col ? col : 0, bc->path, bc->msg);
        if (getenv("OKRD_TEST_VERBOSE")) {
            fprintf(stderr, "case \"%s\":\n", bc->name);
            dump_diags(&d);
        }
        if (!ok) {
            fprintf(stderr, "FAIL case \"%s\": rc=%d, want okrd.json:%d:%d: %s: ...%s...\n",
                    bc->name, rc, line, col, bc->path, bc->msg);
            dump_diags(&d);
            failed++;
        }
        cfg_free(cfg);
        cfg_diags_free(&d);
        free(text);
    }
    fprintf(stderr, "    %zu invalid configs checked\n", n);
    assert_int_equal(failed, 0);
}

/* ---- many errors in one file ---- */

static void test_all_errors_reported(void **state)
{
    (void)state;
    const char *text =
        "{\n"
        " \"daemon\": { \"log_level\": \"loud\", \"listen\": \"x\" },\n"
        " \"metrics\": [ { \"id\": \"m\", \"scale\": 0 } ],\n"
        " \"alerts\": { \"for\": \"soon\" }\n"
        "}\n";
    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(load_str(text, 0, &cfg, &d), OKRD_EINVAL);
    assert_null(cfg);
    assert_int_equal(d.n_errors, 4);
    assert_int_equal(d.n, 4);
    assert_true(has_diag_at(&d, "okrd.json", 2, 27, "daemon.log_level", "is not one of"));
    assert_true(has_diag_at(&d, "okrd.json", 2, 45, "daemon.listen", "HOST:PORT"));
    assert_true(has_diag_at(&d, "okrd.json", 3, 37, "metrics[0].scale", "must not be 0"));
    assert_true(has_diag_at(&d, "okrd.json", 4, 21, "alerts.for", "invalid duration"));
    /* in file order */
    assert_non_null(strstr(d.items[0].text, "log_level"));
    assert_non_null(strstr(d.items[3].text, "alerts.for"));
    cfg_diags_free(&d);
}

static void test_error_cap(void **state)
{
    (void)state;
    char text[8192] = "{ \"metrics\": [\n";
    for (int i = 0; i < 25; i++) {
        char b[128];
        snprintf(b, sizeof b, "  { \"id\": \"m%d\", \"scale\": 0 }%s\n", i, i < 24 ? "," : "");
        strcat(text, b);
    }
    strcat(text, "] }\n");
    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(load_str(text, 0, &cfg, &d), OKRD_EINVAL);
    assert_int_equal(d.n_errors, 25);
    assert_int_equal(d.n, CFG_MAX_ERRORS_PER_FILE + 1);
    assert_string_equal(d.items[d.n - 1].text, "... and 5 more errors in okrd.json");
    assert_true(has_diag_at(&d, "okrd.json", 2, 26, "metrics[0].scale", "must not be 0"));
    assert_true(has_diag_at(&d, "okrd.json", 21, 27, "metrics[19].scale", "must not be 0"));
    assert_null(find_diag(&d, "metrics[20]"));
    cfg_diags_free(&d);
}

/* ---- valid configs ---- */

static void set_cred_dir(const char *dir)
{
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
}

/* DESIGN section 2's example, verbatim, plus its parent objective in a
 * drop-in (tests/data/config/design/). */
static void test_design_example(void **state)
{
    (void)state;
    char *creds = tu_mkdtemp();
    free(tu_write_file(creds, "api-token", "tok-123\n"));
    free(tu_write_file(creds, "webhook-secret", SECRET_OK "\n"));
    set_cred_dir(creds);
    setenv("PLAUSIBLE_TOKEN", "pl-token-xyz", 1);
    const char *data = getenv("OKRD_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/config/design/okrd.json", data ? data : "tests/data");

    struct cfg *cfg;
    struct cfg_diags d;
    int rc = cfg_load(path, 0, &cfg, &d);
    if (rc != 0)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    assert_non_null(cfg);
    assert_string_equal(cfg->path, path);
    assert_int_equal(cfg->n_files, 2);
    assert_string_equal(cfg->files[0], path);
    assert_non_null(strstr(cfg->files[1], "/conf.d/10-company.json"));
    assert_true(cfg->secrets_resolved);

    /* daemon, with defaults */
    assert_string_equal(cfg->daemon.state_dir, "/var/lib/okrd");
    assert_string_equal(cfg->daemon.listen, "127.0.0.1:9470");
    assert_string_equal(cfg->daemon.api_token, "tok-123");
    assert_string_equal(cfg->daemon.timezone, "UTC");
    assert_non_null(cfg->daemon.tz);
    assert_int_equal(cfg->daemon.log_level, CFG_LOG_INFO);
    assert_int_equal(cfg->daemon.http_max_connections, 64);
    assert_int_equal(cfg->daemon.evaluate_every_ms, 60000);

    /* sources */
    assert_int_equal(cfg->n_sources, 3);
    const struct cfg_source *s = cfg_find_source(cfg, "drops");
    assert_ptr_equal(s, &cfg->sources[0]);
    assert_int_equal(s->type, CFG_SRC_CSV_DIR);
    assert_int_equal(s->pos.line, 5);
    assert_int_equal(s->pos.col, 5);
    assert_string_equal(s->pos.file, path);
    assert_string_equal(s->u.csv.path, "/var/lib/okrd/inbox");
    assert_int_equal(s->u.csv.layout, CFG_LAYOUT_LONG);
    assert_string_equal(s->u.csv.col_metric, "metric");
    assert_string_equal(s->u.csv.col_timestamp, "date");
    assert_string_equal(s->u.csv.col_value, "value");
    assert_int_equal(s->u.csv.n_wide, 0);
    assert_int_equal(s->u.csv.delimiter, 0);
    assert_int_equal(s->u.csv.decimal, '.');
    assert_string_equal(s->u.csv.strip, "");
    assert_int_equal(s->u.csv.n_skip_rows, 0);
    assert_null(s->u.csv.timestamp_format);
    assert_int_equal(s->u.csv.on_error, CFG_ON_ERROR_REJECT_FILE);
    assert_int_equal(s->u.csv.rescan_ms, 30000);
    assert_int_equal(s->u.csv.settle_ms, 100);

    s = cfg_find_source(cfg, "plausible");
    assert_non_null(s);
    const struct cfg_http_json *h = &s->u.http;
    assert_int_equal(s->type, CFG_SRC_HTTP_JSON);
    assert_int_equal(h->interval_ms, 15 * 60000);
    assert_int_equal(h->timeout_ms, 10000);
    assert_string_equal(h->url, "https://plausible.example/api/v1/stats/timeseries?site_id=x&period=30d&metrics=visitors");
    assert_int_equal(h->method, CFG_HTTP_GET);
    assert_int_equal(h->n_headers, 1);
    assert_string_equal(h->headers[0].name, "Authorization");
    assert_string_equal(h->headers[0].value, "Bearer pl-token-xyz");
    assert_null(h->body);
    assert_int_equal(h->max_bytes, 8388608);
    assert_false(h->insecure);
    assert_int_equal(h->failing_after, 3);
    assert_int_equal(h->n_extract, 1);
    assert_string_equal(h->extract[0].metric, "visitors");
    assert_string_equal(h->extract[0].each, "/results");
    assert_string_equal(h->extract[0].value, "/visitors");
    assert_string_equal(h->extract[0].timestamp, "/date");
    assert_false(h->extract[0].timestamp_is_key);
    assert_int_equal(h->extract[0].timestamp_unit, OKRD_TS_AUTO);
    assert_false(h->extract[0].skip_today);
    assert_int_equal(h->extract[0].pos.line, 11);
    assert_int_equal(h->extract[0].pos.col, 20);

    s = cfg_find_source(cfg, "prom");
    assert_non_null(s);
    assert_int_equal(s->type, CFG_SRC_PROMETHEUS);
    assert_string_equal(s->u.prom.url, "http://127.0.0.1:9090");
    assert_int_equal(s->u.prom.interval_ms, 60000);
    assert_int_equal(s->u.prom.timeout_ms, 10000);
    assert_null(s->u.prom.basic_username);
    assert_null(s->u.prom.basic_password);
    assert_false(s->u.prom.insecure);
    assert_int_equal(s->u.prom.failing_after, 3);
    assert_int_equal(s->u.prom.n_queries, 1);
    assert_string_equal(s->u.prom.queries[0].metric, "p95_latency_ms");
    assert_non_null(strstr(s->u.prom.queries[0].query, "histogram_quantile(0.95"));

    /* metrics */
    assert_int_equal(cfg->n_metrics, 2);
    const struct cfg_metric *m = cfg_find_metric(cfg, "adoption_rate");
    assert_non_null(m);
    assert_string_equal(m->ratio_num, "feature_users");
    assert_string_equal(m->ratio_den, "active_users");
    assert_true(m->scale == 100);
    assert_string_equal(m->unit, "%");
    assert_int_equal(m->stale_after_ms, 0);
    m = cfg_find_metric(cfg, "visitors");
    assert_non_null(m);
    assert_null(m->ratio_num);
    assert_true(m->scale == 1);
    assert_int_equal(m->stale_after_ms, 2 * 86400000LL);
    assert_null(cfg_find_metric(cfg, "dau"));

    /* objectives */
    assert_int_equal(cfg->n_objectives, 2);
    const struct cfg_objective *o = cfg_find_objective(cfg, "engagement");
    const struct cfg_objective *parent = cfg_find_objective(cfg, "company-growth");
    assert_non_null(o);
    assert_non_null(parent);
    assert_string_equal(o->title, "Improve user engagement");
    assert_string_equal(o->owner, "growth");
    assert_string_equal(o->parent_id, "company-growth");
    assert_ptr_equal(o->parent, parent);
    assert_null(parent->parent);
    assert_null(parent->parent_id);
    assert_int_equal(parent->n_key_results, 0);
    assert_string_equal(parent->pos.file, cfg->files[1]);
    assert_int_equal(parent->pos.line, 4);
    assert_true(o->weight == 1);
    assert_string_equal(o->cycle.start_date, "2026-10-01");
    assert_string_equal(o->cycle.end_date, "2026-12-31");
    assert_int_equal(o->cycle.start_s, 1790812800);
    assert_int_equal(o->cycle.end_s, 1798761600);
    assert_int_equal(o->n_key_results, 4);

    const struct cfg_key_result *k = cfg_find_key_result(cfg, "dau-up");
    assert_ptr_equal(k, &o->key_results[0]);
    assert_ptr_equal(k->objective, o);
    assert_string_equal(k->title, "Increase daily active users by 20%");
    assert_string_equal(k->metric, "dau");
    assert_int_equal(k->direction, CFG_DIR_INCREASE);
    assert_true(k->baseline_auto);
    assert_int_equal(k->target.kind, CFG_TARGET_PERCENT);
    assert_true(k->target.value == 20);
    assert_string_equal(k->target.text, "+20%");
    assert_int_equal(k->aggregate.fn, CFG_AGG_LAST);
    assert_false(k->aggregate.window_cycle);
    assert_int_equal(k->aggregate.window_ms, 0);
    assert_true(k->weight == 1);
    assert_int_equal(k->n_milestones, 0);
    assert_int_equal(k->projection, CFG_PROJ_AVERAGE);
    assert_int_equal(k->trend_window_ms, 14 * 86400000LL);
    assert_true(k->grace == 0.1);
    assert_true(k->at_risk == 0.9);
    assert_true(k->off_track == 0.7);
    assert_true(k->margin == 0.05);
    assert_int_equal(k->pos.line, 23);
    assert_int_equal(k->pos.col, 9);

    k = cfg_find_key_result(cfg, "churn-down");
    assert_non_null(k);
    assert_int_equal(k->direction, CFG_DIR_DECREASE);
    assert_int_equal(k->target.kind, CFG_TARGET_PERCENT);
    assert_true(k->target.value == -10);
    assert_string_equal(k->target.text, "-10%");
    assert_int_equal(k->aggregate.fn, CFG_AGG_AVG);
    assert_int_equal(k->aggregate.window_ms, 7 * 86400000LL);

    k = cfg_find_key_result(cfg, "reviews");
    assert_non_null(k);
    assert_int_equal(k->aggregate.fn, CFG_AGG_SUM);
    assert_true(k->aggregate.window_cycle);
    assert_int_equal(k->target.kind, CFG_TARGET_ABSOLUTE);
    assert_true(k->target.value == 100);
    assert_string_equal(k->target.text, "100");

    k = cfg_find_key_result(cfg, "csat");
    assert_non_null(k);
    assert_int_equal(k->direction, CFG_DIR_AT_LEAST);
    assert_true(k->target.value == 8.0);
    assert_string_equal(k->target.text, "8");

    /* webhooks */
    assert_int_equal(cfg->n_webhooks, 1);
    const struct cfg_webhook *w = cfg_find_webhook(cfg, "growth-slack");
    assert_non_null(w);
    assert_string_equal(w->url, "https://hooks.slack.example/T000/B000/XXX");
    assert_int_equal(w->format, CFG_WEBHOOK_SLACK);
    assert_string_equal(w->secret, SECRET_OK);
    assert_int_equal(w->n_events, 3);
    assert_string_equal(w->events[0], "kr.off_track");
    assert_string_equal(w->events[1], "kr.back_on_track");
    assert_string_equal(w->events[2], "kr.achieved");
    assert_int_equal(w->n_objectives, 1);
    assert_string_equal(w->objectives[0], "engagement");
    assert_int_equal(w->timeout_ms, 10000);
    assert_int_equal(w->max_age_ms, 72 * 3600000LL);

    /* alerts */
    assert_int_equal(cfg->alerts.for_ms, 3600000);
    assert_int_equal(cfg->alerts.repeat_ms, 7 * 86400000LL);
    assert_int_equal(cfg->alerts.grade_after_ms, 86400000);
    assert_int_equal(cfg->alerts.retention_ms, 90 * 86400000LL);
    assert_true(cfg->alerts.has_digest);
    assert_int_equal(cfg->alerts.digest_weekday, 1);
    assert_int_equal(cfg->alerts.digest_minute, 9 * 60);
    assert_int_equal(cfg->alerts.n_digest_webhooks, 1);
    assert_string_equal(cfg->alerts.digest_webhooks[0], "growth-slack");

    cfg_free(cfg);
    cfg_diags_free(&d);
    unsetenv("PLAUSIBLE_TOKEN");
    unsetenv("CREDENTIALS_DIRECTORY");
    tu_rm_rf(creds);
    free(creds);
}

static void test_defaults(void **state)
{
    (void)state;
    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(load_str("{ \"_comment\": \"nothing yet\" }", 0, &cfg, &d), 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(cfg->daemon.state_dir, "/var/lib/okrd");
    assert_string_equal(cfg->daemon.listen, "127.0.0.1:9470");
    assert_null(cfg->daemon.api_token);
    assert_string_equal(cfg->daemon.timezone, "UTC");
    assert_int_equal(cfg->daemon.log_level, CFG_LOG_INFO);
    assert_int_equal(cfg->daemon.http_max_connections, 64);
    assert_int_equal(cfg->daemon.evaluate_every_ms, 60000);
    assert_int_equal(cfg->n_sources + cfg->n_metrics + cfg->n_objectives + cfg->n_webhooks, 0);
    assert_false(cfg->alerts.has_digest);
    assert_int_equal(cfg->alerts.for_ms, 3600000);
    assert_false(cfg->checkins.has_remind);
    assert_int_equal(cfg->checkins.every_ms, 7 * 86400000LL);
    assert_int_equal(cfg->checkins.override_for_ms, 14 * 86400000LL);
    assert_int_equal(cfg->checkins.n_webhooks, 0);
    assert_int_equal(cfg->store.backend, CFG_STORE_SQLITE);
    assert_null(cfg->store.url);
    assert_int_equal(cfg->store.takeover_check_ms, 2000);
    assert_int_equal(cfg->n_files, 1);
    assert_string_equal(cfg->files[0], "okrd.json");
    cfg_free(cfg);
    cfg_diags_free(&d);
}

/* Every option away from its default, and the other syntaxes. */
static void test_all_options(void **state)
{
    (void)state;
    const char *text =
        "{ \"daemon\": { \"listen\": \"[::1]:8080\", \"log_level\": \"debug\", \"http_max_connections\": 8,\n"
        "    \"evaluate_every\": \"30s\", \"_note\": 1 },\n"
        "  \"sources\": [\n"
        "   { \"id\": \"w\", \"type\": \"csv_dir\", \"path\": \"/in\", \"layout\": \"wide\", \"delimiter\": \"\\t\",\n"
        "     \"decimal\": \",\", \"strip\": \"%$\", \"skip_rows_matching\": [\"Total\", \"Sum\"],\n"
        "     \"timestamp_format\": \"%d/%m/%Y\", \"on_error\": \"skip_row\", \"rescan\": \"5s\", \"settle\": \"0s\",\n"
        "     \"columns\": { \"timestamp\": \"Day\", \"metrics\": { \"Visitors\": \"visitors\", \"Sign-ups\": \"signups\" } } },\n"
        "   { \"id\": \"h\", \"type\": \"http_json\", \"url\": \"http://x/\", \"method\": \"POST\", \"body\": \"{}\",\n"
        "     \"interval\": \"1s\", \"timeout\": \"2s\", \"max_bytes\": 1024, \"insecure\": true, \"failing_after\": 5,\n"
        "     \"extract\": [ { \"metric\": \"m\", \"each\": \"/data\", \"value\": \"\", \"timestamp\": \"@key\",\n"
        "                    \"timestamp_unit\": \"ms\", \"skip_today\": true } ] },\n"
        "   { \"id\": \"p\", \"type\": \"prometheus\", \"url\": \"https://p/\", \"interval\": \"1h30m\",\n"
        "     \"basic_auth\": { \"username\": \"u\", \"password\": \"pw\" }, \"queries\": [ { \"metric\": \"up\", \"query\": \"up\" } ] } ],\n"
        "  \"objectives\": [ { \"id\": \"o\", \"title\": \"t\", \"weight\": 2, \"cycle\": \"2026-Q1\", \"key_results\": [\n"
        "   { \"id\": \"k\", \"title\": \"t\", \"metric\": \"m\", \"direction\": \"decrease\", \"target\": \"-3\",\n"
        "     \"baseline\": 10, \"aggregate\": { \"fn\": \"max\", \"window\": \"6h\" }, \"weight\": 0.5,\n"
        "     \"pace\": [ { \"date\": \"2026-01-31\", \"progress\": 0.1 }, { \"date\": \"2026-03-31\", \"progress\": 1 } ],\n"
        "     \"projection\": \"trend\", \"trend_window\": \"7d\", \"grace\": 0, \"at_risk\": 0.8, \"off_track\": 0.8,\n"
        "     \"margin\": 0.1 },\n"
        "   { \"id\": \"k2\", \"title\": \"t\", \"metric\": \"m\", \"direction\": \"at_most\", \"target\": -1.5 },\n"
        "   { \"id\": \"k3\", \"title\": \"t\", \"metric\": \"m\", \"direction\": \"increase\", \"target\": \"+0.5%\", \"pace\": \"linear\" } ] } ],\n"
        "  \"webhooks\": [ { \"id\": \"wh\", \"url\": \"https://h/\", \"secret\": \"" SECRET_OK "\", \"timeout\": \"3s\",\n"
        "     \"max_age\": \"1d\", \"format\": \"json\" } ],\n"
        "  \"alerts\": { \"for\": \"0s\", \"repeat\": \"1d\", \"grade_after\": \"2d\", \"retention\": \"30d\",\n"
        "     \"digest\": { \"every\": \"FRI 17:30\", \"webhooks\": [\"wh\"] } } }\n";
    struct cfg *cfg;
    struct cfg_diags d;
    int rc = load_str(text, 0, &cfg, &d);
    if (rc)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0);
    assert_string_equal(cfg->daemon.listen, "[::1]:8080");
    assert_int_equal(cfg->daemon.log_level, CFG_LOG_DEBUG);
    assert_int_equal(cfg->daemon.http_max_connections, 8);
    assert_int_equal(cfg->daemon.evaluate_every_ms, 30000);
    const struct cfg_csv_dir *c = &cfg->sources[0].u.csv;
    assert_int_equal(c->layout, CFG_LAYOUT_WIDE);
    assert_int_equal(c->delimiter, '\t');
    assert_int_equal(c->decimal, ',');
    assert_string_equal(c->strip, "%$");
    assert_int_equal(c->n_skip_rows, 2);
    assert_string_equal(c->skip_rows[1], "Sum");
    assert_string_equal(c->timestamp_format, "%d/%m/%Y");
    assert_int_equal(c->on_error, CFG_ON_ERROR_SKIP_ROW);
    assert_int_equal(c->rescan_ms, 5000);
    assert_int_equal(c->settle_ms, 0);
    assert_string_equal(c->col_timestamp, "Day");
    assert_null(c->col_metric);
    assert_int_equal(c->n_wide, 2);
    assert_string_equal(c->wide[1].header, "Sign-ups");
    assert_string_equal(c->wide[1].metric, "signups");
    const struct cfg_http_json *h = &cfg->sources[1].u.http;
    assert_int_equal(h->method, CFG_HTTP_POST);
    assert_string_equal(h->body, "{}");
    assert_int_equal(h->interval_ms, 1000);
    assert_int_equal(h->timeout_ms, 2000);
    assert_int_equal(h->max_bytes, 1024);
    assert_true(h->insecure);
    assert_int_equal(h->failing_after, 5);
    assert_true(h->extract[0].timestamp_is_key);
    assert_null(h->extract[0].timestamp);
    assert_string_equal(h->extract[0].value, "");
    assert_int_equal(h->extract[0].timestamp_unit, OKRD_TS_MILLIS);
    assert_true(h->extract[0].skip_today);
    const struct cfg_prometheus *p = &cfg->sources[2].u.prom;
    assert_int_equal(p->interval_ms, 5400000);
    assert_string_equal(p->basic_username, "u");
    assert_string_equal(p->basic_password, "pw");
    const struct cfg_objective *o = &cfg->objectives[0];
    assert_true(o->weight == 2);
    assert_string_equal(o->cycle.start_date, "2026-01-01");
    assert_string_equal(o->cycle.end_date, "2026-03-31");
    const struct cfg_key_result *k = &o->key_results[0];
    assert_int_equal(k->target.kind, CFG_TARGET_DELTA);
    assert_true(k->target.value == -3);
    assert_false(k->baseline_auto);
    assert_true(k->baseline == 10);
    assert_int_equal(k->aggregate.fn, CFG_AGG_MAX);
    assert_int_equal(k->aggregate.window_ms, 6 * 3600000LL);
    assert_true(k->weight == 0.5);
    assert_int_equal(k->n_milestones, 2);
    assert_string_equal(k->milestones[0].date, "2026-01-31");
    assert_int_equal(k->milestones[0].at_s, 1769904000); /* 2026-02-01T00:00Z */
    assert_true(k->milestones[1].progress == 1);
    assert_int_equal(k->milestones[1].at_s, o->cycle.end_s);
    assert_int_equal(k->projection, CFG_PROJ_TREND);
    assert_int_equal(k->trend_window_ms, 7 * 86400000LL);
    assert_true(k->grace == 0 && k->at_risk == 0.8 && k->off_track == 0.8 && k->margin == 0.1);
    assert_int_equal(o->key_results[1].direction, CFG_DIR_AT_MOST);
    assert_true(o->key_results[1].target.value == -1.5);
    assert_string_equal(o->key_results[1].target.text, "-1.5");
    assert_int_equal(o->key_results[2].target.kind, CFG_TARGET_PERCENT);
    assert_true(o->key_results[2].target.value == 0.5);
    assert_int_equal(o->key_results[2].n_milestones, 0);
    const struct cfg_webhook *w = &cfg->webhooks[0];
    assert_int_equal(w->format, CFG_WEBHOOK_JSON);
    assert_int_equal(w->n_events, 0);
    assert_int_equal(w->n_objectives, 0);
    assert_int_equal(w->timeout_ms, 3000);
    assert_int_equal(w->max_age_ms, 86400000);
    assert_int_equal(cfg->alerts.for_ms, 0);
    assert_int_equal(cfg->alerts.repeat_ms, 86400000);
    assert_int_equal(cfg->alerts.grade_after_ms, 2 * 86400000LL);
    assert_int_equal(cfg->alerts.retention_ms, 30 * 86400000LL);
    assert_int_equal(cfg->alerts.digest_weekday, 5);
    assert_int_equal(cfg->alerts.digest_minute, 17 * 60 + 30);
    cfg_free(cfg);
    cfg_diags_free(&d);
}

/* "2026-Q4" in UTC, and a March cycle in Europe/Berlin across the DST switch. */
static void test_cycles_to_utc(void **state)
{
    (void)state;
    struct cfg *cfg;
    struct cfg_diags d;
    const char *q4 = "{ \"objectives\": [ { \"id\": \"o\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [] } ] }";
    assert_int_equal(load_str(q4, 0, &cfg, &d), 0);
    assert_int_equal(cfg->objectives[0].cycle.start_s, 1790812800); /* 2026-10-01T00:00:00Z */
    assert_int_equal(cfg->objectives[0].cycle.end_s, 1798761600);   /* 2027-01-01T00:00:00Z */
    assert_string_equal(cfg->objectives[0].cycle.end_date, "2026-12-31");
    cfg_free(cfg);
    cfg_diags_free(&d);

    const char *berlin =
        "{ \"daemon\": { \"timezone\": \"Europe/Berlin\" },\n"
        "  \"objectives\": [ { \"id\": \"o\", \"title\": \"t\",\n"
        "    \"cycle\": { \"start\": \"2026-03-01\", \"end\": \"2026-03-31\" }, \"key_results\": [\n"
        "     { \"id\": \"k\", \"title\": \"t\", \"metric\": \"m\", \"direction\": \"increase\", \"target\": 5,\n"
        "       \"pace\": [ { \"date\": \"2026-03-15\", \"progress\": 0.4 } ] } ] } ] }";
    int rc = load_str(berlin, 0, &cfg, &d);
    if (rc)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->daemon.timezone, "Europe/Berlin");
    const struct cfg_cycle *cy = &cfg->objectives[0].cycle;
    assert_int_equal(cy->start_s, 1772319600);  /* 2026-02-28T23:00:00Z = 00:00 CET */
    assert_int_equal(cy->end_s, 1774994400);    /* 2026-03-31T22:00:00Z = 00:00 CEST */
    assert_int_equal(cfg->objectives[0].key_results[0].milestones[0].at_s,
                     1773615600);               /* 2026-03-15T23:00:00Z = 03-16 00:00 CET */
    cfg_free(cfg);
    cfg_diags_free(&d);
}

static void test_lookups_and_names(void **state)
{
    (void)state;
    assert_string_equal(cfg_direction_name(CFG_DIR_AT_MOST), "at_most");
    assert_string_equal(cfg_source_type_name(CFG_SRC_HTTP_JSON), "http_json");
    assert_string_equal(cfg_agg_fn_name(CFG_AGG_AVG), "avg");
    assert_string_equal(cfg_log_level_name(CFG_LOG_WARNING), "warning");
    assert_int_equal(cfg_n_event_types, 12);
    assert_string_equal(cfg_event_types[9], "digest.weekly");
    assert_string_equal(cfg_event_types[11], "checkin.due");
    assert_null(cfg_find_source(NULL, "x"));
    assert_null(cfg_find_key_result(NULL, "x"));
    cfg_free(NULL);
    cfg_diags_free(NULL);
}

/* Which polled source feeds a metric (staleness defaults, DESIGN section 4). */
static void test_metric_poll_interval(void **state)
{
    (void)state;
    const char *text =
        "{ \"daemon\": { \"listen\": \"\" },\n"
        "  \"sources\": [\n"
        "   { \"id\": \"drops\", \"type\": \"csv_dir\", \"path\": \"/in\" },\n"
        "   { \"id\": \"web\", \"type\": \"http_json\", \"url\": \"http://x/\", \"interval\": \"15m\",\n"
        "     \"extract\": [ { \"metric\": \"visits\", \"value\": \"/v\" }, { \"metric\": \"signups\", \"value\": \"/s\" } ] },\n"
        "   { \"id\": \"p\", \"type\": \"prometheus\", \"url\": \"https://p/\", \"interval\": \"1m\",\n"
        "     \"queries\": [ { \"metric\": \"errors\", \"query\": \"up\" } ] } ],\n"
        "  \"metrics\": [ { \"id\": \"conversion\", \"ratio\": [\"signups\", \"visits\"] } ] }\n";
    struct cfg *cfg = NULL;
    struct cfg_diags d = { 0 };
    if (load_str(text, 0, &cfg, &d) < 0)
        dump_diags(&d);
    assert_non_null(cfg);
    assert_int_equal(cfg_metric_poll_interval_ms(cfg, "visits"), 15 * 60000);
    assert_int_equal(cfg_metric_poll_interval_ms(cfg, "signups"), 15 * 60000);
    assert_int_equal(cfg_metric_poll_interval_ms(cfg, "errors"), 60000);
    assert_int_equal(cfg_metric_poll_interval_ms(cfg, "trials"), 0);     /* CSV or push */
    assert_int_equal(cfg_metric_poll_interval_ms(cfg, "conversion"), 0); /* a ratio: its inputs' */
    assert_int_equal(cfg_metric_poll_interval_ms(NULL, "visits"), 0);
    assert_int_equal(cfg_metric_poll_interval_ms(cfg, NULL), 0);
    cfg_free(cfg);
    cfg_diags_free(&d);
}

/* A config of many sources, as bench/poll_fanout writes it: N http_json
 * sources s0..s{N-1}, metric m{i} each, and N metrics x{i}. malloc'd. */
static char *many_sources(size_t n)
{
    size_t cap = 256 + n * 256, len = 0;
    char *t = malloc(cap);
    len += (size_t)snprintf(t + len, cap - len, "{ \"daemon\": { \"listen\": \"\" },\n \"sources\": [\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len,
                                "  { \"id\": \"s%zu\", \"type\": \"http_json\", \"url\": \"http://h/%zu\", "
                                "\"interval\": \"1h\", \"extract\": [ { \"metric\": \"m%zu\", "
                                "\"value\": \"/v\" } ] }%s\n", i, i, i, i + 1 < n ? "," : "");
    len += (size_t)snprintf(t + len, cap - len, " ],\n \"metrics\": [\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(t + len, cap - len, "  { \"id\": \"x%zu\" }%s\n", i,
                                i + 1 < n ? "," : "");
    snprintf(t + len, cap - len, " ]\n}\n");
    return t;
}

/* cfg_find_source / cfg_find_metric search a loaded config through its
 * sorted index (a search per poll must not be linear in the sources), and
 * search linearly when the arrays are not the ones indexed. */
static void test_lookups_many(void **state)
{
    (void)state;
    enum { N = 3000 };
    char *text = many_sources(N);
    struct cfg *cfg = NULL;
    struct cfg_diags d = { 0 };
    if (load_str(text, 0, &cfg, &d) < 0)
        dump_diags(&d);
    assert_non_null(cfg);
    assert_non_null(cfg->lookup);
    char id[32];
    for (size_t i = 0; i < N; i++) {
        snprintf(id, sizeof id, "s%zu", i);
        assert_ptr_equal(cfg_find_source(cfg, id), &cfg->sources[i]);
        snprintf(id, sizeof id, "x%zu", i);
        assert_ptr_equal(cfg_find_metric(cfg, id), &cfg->metrics[i]);
    }
    const char *absent[] = { "", "s", "s3000", "s00", "S1", "x", "x3000", "m1", "zzz", "s1 " };
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
        assert_null(cfg_find_source(cfg, absent[i]));
        assert_null(cfg_find_metric(cfg, absent[i]));
    }
    assert_null(cfg_find_source(cfg, NULL));
    /* A copy whose sources are other arrays (as tests build them): the
     * index is not used, the first definition wins as before. */
    struct cfg_source two[2] = { { .id = "dup" }, { .id = "dup" } };
    struct cfg fake = *cfg;
    fake.sources = two;
    fake.n_sources = 2;
    assert_ptr_equal(cfg_find_source(&fake, "dup"), &two[0]);
    assert_null(cfg_find_source(&fake, "s1"));
    fake.sources = cfg->sources;
    fake.n_sources = N - 1; /* fewer than indexed: searched, s2999 is out */
    assert_null(cfg_find_source(&fake, "s2999"));
    assert_ptr_equal(cfg_find_source(&fake, "s2998"), &cfg->sources[N - 2]);
    struct cfg by_hand = { .sources = two, .n_sources = 2 };
    assert_ptr_equal(cfg_find_source(&by_hand, "dup"), &two[0]);
    cfg_free(cfg);
    cfg_diags_free(&d);
    free(text);
}

/* ---- the position index against a reference ---- */

/* The reference: every value's path and position, recorded in document
 * order, the first record of a path kept (a plain recursive walk, as the
 * index of every value was built before it became a lookup on demand). */
struct ref_pos {
    char *path;
    struct cfg_kp_entry e;
};
struct ref_walk {
    const char *s;
    size_t i;
    int line, col;
    char path[512];
    struct ref_pos *v;
    size_t n;
};

static void ref_adv(struct ref_walk *w)
{
    unsigned char b = (unsigned char)w->s[w->i++];
    if (b == '\n') {
        w->line++;
        w->col = 1;
    } else if ((b & 0xC0) != 0x80) {
        w->col++;
    }
}

static void ref_ws(struct ref_walk *w)
{
    while (w->s[w->i] && strchr(" \t\r\n", w->s[w->i]))
        ref_adv(w);
}

/* A string at its quote; with KEY, appends it decoded to w->path. Decoding
 * handles what the test documents hold: \" \\ \n \u00XX and \uD83D\uDE00. */
static void ref_string(struct ref_walk *w, bool key)
{
    ref_adv(w);
    size_t n = strlen(w->path);
    while (w->s[w->i] != '"') {
        char ch = w->s[w->i];
        if (ch != '\\') {
            if (key)
                w->path[n++] = ch;
            ref_adv(w);
            continue;
        }
        ref_adv(w);
        char e = w->s[w->i];
        ref_adv(w);
        if (e != 'u') {
            if (key)
                w->path[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            continue;
        }
        unsigned cp = (unsigned)strtoul((char[5]){ w->s[w->i], w->s[w->i + 1], w->s[w->i + 2],
                                                   w->s[w->i + 3], 0 }, NULL, 16);
        for (int k = 0; k < 4; k++)
            ref_adv(w);
        if (cp >= 0xD800 && cp < 0xDC00) {
            for (int k = 0; k < 2; k++)
                ref_adv(w);
            unsigned lo = (unsigned)strtoul((char[5]){ w->s[w->i], w->s[w->i + 1], w->s[w->i + 2],
                                                       w->s[w->i + 3], 0 }, NULL, 16);
            for (int k = 0; k < 4; k++)
                ref_adv(w);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (key) {
            if (cp < 0x80) {
                w->path[n++] = (char)cp;
            } else if (cp < 0x800) {
                w->path[n++] = (char)(0xC0 | (cp >> 6));
                w->path[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                w->path[n++] = (char)(0xE0 | (cp >> 12));
                w->path[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                w->path[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                w->path[n++] = (char)(0xF0 | (cp >> 18));
                w->path[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                w->path[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                w->path[n++] = (char)(0x80 | (cp & 0x3F));
            }
        }
    }
    if (key)
        w->path[n] = '\0';
    ref_adv(w);
}

static void ref_value(struct ref_walk *w, int kl, int kc)
{
    ref_ws(w);
    struct cfg_kp_entry e = { kl ? kl : w->line, kl ? kc : w->col, w->line, w->col };
    bool dup = false;
    for (size_t k = 0; k < w->n && !dup; k++)
        dup = strcmp(w->v[k].path, w->path) == 0;
    if (!dup) {
        w->v = realloc(w->v, (w->n + 1) * sizeof *w->v);
        w->v[w->n++] = (struct ref_pos){ strdup(w->path), e };
    }
    size_t base = strlen(w->path);
    char ch = w->s[w->i];
    if (ch == '{' || ch == '[') {
        ref_adv(w);
        for (size_t idx = 0;; idx++) {
            ref_ws(w);
            if (w->s[w->i] == '}' || w->s[w->i] == ']')
                break;
            if (idx > 0) {
                ref_adv(w); /* ',' */
                ref_ws(w);
            }
            int l = 0, c = 0;
            if (ch == '{') {
                l = w->line;
                c = w->col;
                if (base > 0)
                    strcat(w->path, ".");
                ref_string(w, true);
                ref_ws(w);
                ref_adv(w); /* ':' */
            } else {
                snprintf(w->path + base, sizeof w->path - base, "[%zu]", idx);
            }
            ref_value(w, l, c);
            w->path[base] = '\0';
        }
        ref_adv(w);
    } else if (ch == '"') {
        ref_string(w, false);
    } else {
        while (w->s[w->i] && !strchr(",]} \t\r\n", w->s[w->i]))
            ref_adv(w);
    }
}

/* Every path of TEXT is found where the reference has it; paths that lead
 * nowhere are not found. */
static void check_keypos(const char *text)
{
    struct ref_walk w = { .s = text, .line = 1, .col = 1 };
    ref_value(&w, 0, 0);
    struct cfg_keypos *kp = cfg_keypos_build(text, strlen(text));
    assert_non_null(kp);
    for (int pass = 0; pass < 2; pass++) { /* the second from the kept containers */
        for (size_t k = 0; k < w.n; k++) {
            const struct cfg_kp_entry *e = cfg_keypos_find(kp, w.v[k].path);
            if (!e || memcmp(e, &w.v[k].e, sizeof *e) != 0)
                fail_msg("path \"%s\": want %d:%d/%d:%d, got %d:%d/%d:%d", w.v[k].path,
                         w.v[k].e.key_line, w.v[k].e.key_col, w.v[k].e.val_line, w.v[k].e.val_col,
                         e ? e->key_line : 0, e ? e->key_col : 0, e ? e->val_line : 0,
                         e ? e->val_col : 0);
        }
    }
    static const char *nowhere[] = { ".", "x", "a.", "[0]", "a[0", "a[]", "a[-1]", "a[01]",
                                     "a[99]", "b.c.d.e", "a.b.c", "big[40]", "\"a\"",
                                     "a[1].x", "big[0].zz" };
    for (size_t k = 0; k < sizeof nowhere / sizeof *nowhere; k++) {
        bool in_ref = false;
        for (size_t j = 0; j < w.n; j++)
            in_ref |= strcmp(w.v[j].path, nowhere[k]) == 0;
        if (!in_ref && cfg_keypos_find(kp, nowhere[k]))
            fail_msg("path \"%s\" found, but no value is there", nowhere[k]);
    }
    cfg_keypos_free(kp);
    for (size_t k = 0; k < w.n; k++)
        free(w.v[k].path);
    free(w.v);
}

static unsigned rnd(uint64_t *x, unsigned n)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (unsigned)(*x % n);
}

/* A random JSON value into b[*len..]; objects at the top. */
static void random_json(uint64_t *x, char *b, size_t cap, size_t *len, int depth, bool object)
{
    static const char *keys[] = { "a", "b", "a.b", "x", "x[0]", "", "\\u00e9", "\xc3\xa9",
                                  "\\\"q", "k\\\\", "n\\n", "[1]", ".", "c.d.e" };
    static const char *ws[] = { "", " ", "\n", "\t", "\r\n  " };
    int kind = object ? 0 : depth > 4 ? 2 + (int)rnd(x, 3) : (int)rnd(x, 5);
#define PUT(...) (*len += (size_t)snprintf(b + *len, cap > *len ? cap - *len : 0, __VA_ARGS__))
    if (cap - *len < 512)
        kind = 2; /* room for a scalar only */
    if (kind == 0 || kind == 1) {
        unsigned n = rnd(x, 4) == 0 ? 17 + rnd(x, 8) : rnd(x, 5); /* sometimes kept */
        PUT("%c%s", kind == 0 ? '{' : '[', ws[rnd(x, 5)]);
        for (unsigned i = 0; i < n && cap - *len > 512; i++) {
            if (i)
                PUT(",%s", ws[rnd(x, 5)]);
            if (kind == 0)
                PUT("\"%s\"%s:%s", keys[rnd(x, sizeof keys / sizeof *keys)], ws[rnd(x, 5)],
                    ws[rnd(x, 5)]);
            random_json(x, b, cap, len, depth + 1, false);
        }
        PUT("%s%c", ws[rnd(x, 5)], kind == 0 ? '}' : ']');
    } else if (kind == 2) {
        PUT("%d", (int)rnd(x, 1000) - 500);
    } else if (kind == 3) {
        PUT("\"s%s\\\"}]\"", rnd(x, 2) ? "\xe2\x82\xac" : ""); /* a string holding } ] " */
    } else {
        PUT("%s", rnd(x, 2) ? "true" : "null");
    }
#undef PUT
}

static void test_keypos_against_reference(void **state)
{
    (void)state;
    check_keypos("{}");
    check_keypos("  \n [ 1, [2, [3, {}]], {\"a\": []} ]\n");
    check_keypos("{\n \"a\": [1, 2.5e3, true, null, \"s\\\"]\"],\n \"b\": {\"c\": {\"d\": {}}}\n}");
    /* keys that spell other paths: "a.b" vs a.b, "x[0]" vs x[0]; first wins */
    check_keypos("{\"a.b\": 1, \"a\": {\"b\": 2, \"b.c\": 3, \"b\": 4}, \"x[0]\": 5, \"x\": [6]}");
    check_keypos("{\"a\": {\"b\": 2}, \"a.b\": 1, \"x\": [6], \"x[0]\": 5, \"\": {\"\": 7}}");
    /* escapes, UTF-8 (columns count characters), tabs, CRLF */
    check_keypos("{\r\n\t\"\\u00e9t\\u00e9\": {\"\\\"q\\\\\": [\"\xc3\xa9\xc3\xa9\", 1]},\r\n"
                 "\t\"\xe2\x82\xac\": 2, \"e\\nl\": 3, \"\\uD83D\\uDE00\": {\"k\": 4}}");
    /* a large object and a large array (kept after the first scan) */
    char big[16384];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"big\": [");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"k%d\": [%d, \"v\"], \"n\": {\"m\": %d}}\n",
                              i ? ", " : "", i, i, i);
    n += (size_t)snprintf(big + n, sizeof big - n, "], \"obj\": {");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"f%d\": {\"g\": %d}", i ? ",\n " : "", i, i);
    snprintf(big + n, sizeof big - n, "}, \"last\": 1}");
    check_keypos(big);
    /* random documents over keys that collide as paths, escapes, nesting
     * and sizes on both sides of what is kept (fixed seed) */
    uint64_t rng = 42;
    char *doc = malloc(65536);
    for (int k = 0; k < 300; k++) {
        size_t len = 0;
        random_json(&rng, doc, 65536, &len, 0, true);
        doc[len] = '\0';
        json_error_t je;
        json_t *valid = json_loads(doc, JSON_DECODE_ANY, &je);
        if (!valid)
            fail_msg("generated JSON does not parse: %s\n%s", je.text, doc);
        json_decref(valid);
        check_keypos(doc);
    }
    free(doc);
}

/* The position index of a config of 2,000 sources, after every lookup a
 * load makes: small (at start-up every page it touches is a page fault; an
 * index of every value was ~10,000 paths and a megabyte for 1,000 sources). */
static void test_keypos_big(void **state)
{
    (void)state;
    enum { N = 2000 };
    char *text = many_sources(N);
    struct cfg_keypos *kp = cfg_keypos_build(text, strlen(text));
    assert_non_null(kp);
    for (size_t i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof path, "sources[%zu]", i);
        assert_non_null(cfg_keypos_find(kp, path));
        snprintf(path, sizeof path, "sources[%zu].extract[0]", i);
        assert_non_null(cfg_keypos_find(kp, path));
        snprintf(path, sizeof path, "metrics[%zu]", i);
        assert_non_null(cfg_keypos_find(kp, path));
    }
    assert_true(cfg_keypos_bytes(kp) <= 48 * 2 * N); /* the two arrays' children */
    for (size_t i = 0; i < N; i += 97) {
        char path[64];
        snprintf(path, sizeof path, "sources[%zu].extract[0].metric", i);
        const struct cfg_kp_entry *e = cfg_keypos_find(kp, path);
        assert_non_null(e);
        /* line 3 + i; the value "m<i>" follows `"metric": ` */
        assert_int_equal(e->val_line, (int)(3 + i));
        char want[32];
        snprintf(want, sizeof want, "\"m%zu\"", i);
        const char *line = text;
        for (int l = 1; l < e->val_line; l++)
            line = strchr(line, '\n') + 1;
        assert_memory_equal(line + e->val_col - 1, want, strlen(want));
        assert_int_equal(e->key_line, e->val_line);
        assert_memory_equal(line + e->key_col - 1, "\"metric\"", 8);
    }
    assert_null(cfg_keypos_find(kp, "sources[2000]"));
    assert_non_null(cfg_keypos_find(kp, ""));
    cfg_keypos_free(kp);
    free(text);
}

/* ---- secrets ---- */

static void test_secrets_resolved(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *creds = tu_mkdtemp();
    char *f1 = tu_write_file(dir, "plain.txt", "file-secret-1\n");
    char *f2 = tu_write_file(dir, "two.txt", "x\n\n");
    free(tu_write_file(creds, "cred1", "cred-secret\n"));
    set_cred_dir(creds);
    setenv("OKRD_T_ENV", "env-secret", 1);
    char text[4096];
    snprintf(text, sizeof text,
             "{ \"daemon\": { \"api_token\": \"${env:OKRD_T_ENV}\" },\n"
             "  \"sources\": [ { \"id\": \"h\", \"type\": \"http_json\", \"url\": \"https://a/${env:OKRD_T_ENV}/x\",\n"
             "    \"interval\": \"1m\", \"extract\": [ { \"metric\": \"m\", \"value\": \"\" } ], \"body\": \"${file:%s}\",\n"
             "    \"headers\": { \"Authorization\": \"Bearer ${env:OKRD_T_ENV}\", \"X-File\": \"${file:%s}\",\n"
             "                 \"X-Cred\": \"${cred:cred1}\", \"X-Tmpl\": \"${not_a_ref} and $env\" } } ] }",
             f2, f1);
    struct cfg *cfg;
    struct cfg_diags d;
    int rc = load_str(text, 0, &cfg, &d);
    if (rc)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->daemon.api_token, "env-secret");
    const struct cfg_http_json *h = &cfg->sources[0].u.http;
    assert_string_equal(h->url, "https://a/env-secret/x");
    assert_string_equal(h->body, "x\n");  /* ONE trailing newline dropped */
    assert_int_equal(h->n_headers, 4);
    assert_string_equal(h->headers[0].value, "Bearer env-secret");
    assert_string_equal(h->headers[1].value, "file-secret-1");
    assert_string_equal(h->headers[2].value, "cred-secret");
    assert_string_equal(h->headers[3].value, "${not_a_ref} and $env");
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* ${cred:} without $CREDENTIALS_DIRECTORY */
    unsetenv("CREDENTIALS_DIRECTORY");
    const char *t2 = "{ \"daemon\": { \"api_token\": \"${cred:api-token}\" } }";
    assert_int_equal(load_str(t2, 0, &cfg, &d), OKRD_EINVAL);
    assert_true(has_diag_at(&d, "okrd.json", 1, 28, "daemon.api_token",
                            "${cred:api-token}: $CREDENTIALS_DIRECTORY is not set"));
    cfg_diags_free(&d);

    unsetenv("OKRD_T_ENV");
    free(f1);
    free(f2);
    tu_rm_rf(dir);
    tu_rm_rf(creds);
    free(dir);
    free(creds);
}

/* DESIGN section 8: owners (a key result inherits its objective's) and the
 * API tokens, daemon.api_token first as "api" with every scope. */
static void test_owners_and_tokens(void **state)
{
    (void)state;
    setenv("OKRD_T_TOK", "from-env", 1);
    const char *text =
        "{ \"daemon\": { \"listen\": \"0.0.0.0:9470\", \"api_token\": \"all-of-it\",\n"
        "   \"api_tokens\": [ { \"name\": \"ci.push:1\", \"token\": \"${env:OKRD_T_TOK}\", \"scopes\": [\"push\"] },\n"
        "     { \"name\": \"Team_B-2\", \"token\": \"r3ad!\", \"scopes\": [\"checkin\", \"read\"] } ] },\n"
        "  \"objectives\": [ { \"id\": \"o\", \"title\": \"T\", \"owner\": \"<@U024BE7LH>\", \"cycle\": \"2026-Q4\",\n"
        "    \"key_results\": [ { \"id\": \"a\", \"title\": \"A\", \"metric\": \"m\", \"direction\": \"increase\", \"target\": 1 },\n"
        "      { \"id\": \"b\", \"title\": \"B\", \"owner\": \"ana@example.com\", \"metric\": \"m\", \"direction\": \"increase\", \"target\": 1 } ] },\n"
        "    { \"id\": \"p\", \"title\": \"P\", \"cycle\": \"2026-Q4\", \"key_results\": [\n"
        "      { \"id\": \"c\", \"title\": \"C\", \"metric\": \"m\", \"direction\": \"increase\", \"target\": 1 } ] } ] }\n";
    struct cfg *cfg = NULL;
    struct cfg_diags d;
    int rc = load_str(text, 0, &cfg, &d);
    if (rc != 0)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg_find_key_result(cfg, "a")->owner, "<@U024BE7LH>");
    assert_string_equal(cfg_find_key_result(cfg, "b")->owner, "ana@example.com");
    assert_null(cfg_find_key_result(cfg, "c")->owner);
    const struct cfg_daemon *dm = &cfg->daemon;
    assert_int_equal(dm->n_api_tokens, 3);
    assert_string_equal(dm->api_tokens[0].name, "api");
    assert_string_equal(dm->api_tokens[0].token, "all-of-it");
    assert_int_equal(dm->api_tokens[0].scopes, CFG_SCOPES_ALL);
    assert_string_equal(dm->api_tokens[1].name, "ci.push:1");
    assert_string_equal(dm->api_tokens[1].token, "from-env");
    assert_int_equal(dm->api_tokens[1].scopes, CFG_SCOPE_PUSH);
    assert_int_equal(dm->api_tokens[1].pos.line, 2);
    assert_string_equal(dm->api_tokens[2].name, "Team_B-2");
    assert_int_equal(dm->api_tokens[2].scopes, CFG_SCOPE_CHECKIN | CFG_SCOPE_READ);
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* Read-only commands resolve no secret: names and scopes, no values. */
    unsetenv("OKRD_T_TOK");
    assert_int_equal(load_str(text, CFG_NO_SECRETS, &cfg, &d), 0);
    assert_int_equal(cfg->daemon.n_api_tokens, 2);
    assert_null(cfg->daemon.api_tokens[0].token);
    assert_string_equal(cfg->daemon.api_tokens[0].name, "ci.push:1");
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* A non-loopback listen is fine with api_tokens alone, and any
     * loopback or unix: listen needs none. */
    const char *ok[] = {
        "{ \"daemon\": { \"listen\": \"[::]:1\", \"api_tokens\": [ { \"name\": \"r\", \"token\": \"x\", \"scopes\": [\"read\"] } ] } }",
        "{ \"daemon\": { \"listen\": \"127.3.4.5:1\" } }",
        "{ \"daemon\": { \"listen\": \"[::1]:1\" } }",
        "{ \"daemon\": { \"listen\": \"LocalHost:1\" } }",
        "{ \"daemon\": { \"listen\": \"unix:/run/okrd/api.sock\" } }",
        "{ \"daemon\": { \"listen\": \"\" } }",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        rc = load_str(ok[i], 0, &cfg, &d);
        if (rc != 0) {
            fprintf(stderr, "case %zu: %s\n", i, ok[i]);
            dump_diags(&d);
        }
        assert_int_equal(rc, 0);
        cfg_free(cfg);
        cfg_diags_free(&d);
    }
    /* ...and a token value is never printed, not even in a duplicate's error. */
    const char *dup = "{ \"daemon\": { \"api_token\": \"s3cr3t-value\", \"api_tokens\": [ "
                      "{ \"name\": \"x\", \"token\": \"s3cr3t-value\", \"scopes\": [\"read\"] } ] } }";
    assert_int_equal(load_str(dup, 0, &cfg, &d), OKRD_EINVAL);
    assert_true(d.n > 0);
    for (size_t i = 0; i < d.n; i++)
        assert_null(strstr(d.items[i].text, "s3cr3t"));
    cfg_diags_free(&d);
}

static void test_no_secrets_flag(void **state)
{
    (void)state;
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("OKRD_T_UNSET");
    setenv("OKRD_T_STATE", "/srv/okrd-state", 1);
    const char *text =
        "{ \"daemon\": { \"api_token\": \"${cred:api-token}\", \"state_dir\": \"${env:OKRD_T_STATE}\" },\n"
        "  \"sources\": [ { \"id\": \"h\", \"type\": \"http_json\", \"url\": \"${env:OKRD_T_UNSET}\", \"interval\": \"1m\",\n"
        "    \"extract\": [ { \"metric\": \"m\", \"value\": \"\" } ], \"body\": \"${file:/nonexistent/body}\",\n"
        "    \"headers\": { \"Authorization\": \"Bearer ${env:OKRD_T_UNSET}\" } },\n"
        "   { \"id\": \"p\", \"type\": \"prometheus\", \"url\": \"${env:OKRD_T_UNSET}\", \"interval\": \"1m\",\n"
        "     \"basic_auth\": { \"username\": \"u\", \"password\": \"${env:OKRD_T_UNSET}\" },\n"
        "     \"queries\": [ { \"metric\": \"up\", \"query\": \"up\" } ] } ],\n"
        "  \"webhooks\": [ { \"id\": \"w\", \"url\": \"${env:OKRD_T_UNSET}\", \"secret\": \"${cred:hook}\" } ] }";
    struct cfg *cfg;
    struct cfg_diags d;
    int rc = load_str(text, CFG_NO_SECRETS, &cfg, &d);
    if (rc)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(d.n, 0); /* no "unsigned" warning: a secret is configured */
    assert_false(cfg->secrets_resolved);
    assert_null(cfg->daemon.api_token);
    assert_string_equal(cfg->daemon.state_dir, "/srv/okrd-state");
    const struct cfg_http_json *h = &cfg->sources[0].u.http;
    assert_string_equal(h->url, "${env:OKRD_T_UNSET}");
    assert_string_equal(h->body, "${file:/nonexistent/body}");
    assert_string_equal(h->headers[0].value, "Bearer ${env:OKRD_T_UNSET}");
    assert_string_equal(cfg->sources[1].u.prom.url, "${env:OKRD_T_UNSET}");
    assert_string_equal(cfg->sources[1].u.prom.basic_password, "${env:OKRD_T_UNSET}");
    assert_string_equal(cfg->webhooks[0].url, "${env:OKRD_T_UNSET}");
    assert_null(cfg->webhooks[0].secret);
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* Without the flag the same config fails on every missing secret. */
    assert_int_equal(load_str(text, 0, &cfg, &d), OKRD_EINVAL);
    assert_non_null(find_diag(&d, "sources[0].url: ${env:OKRD_T_UNSET} is not set"));
    assert_non_null(find_diag(&d, "webhooks[0].secret: ${cred:hook}: $CREDENTIALS_DIRECTORY"));
    assert_non_null(find_diag(&d, "sources[0].body: ${file:/nonexistent/body}: cannot read"));
    cfg_diags_free(&d);

    /* Non-secret fields resolve even with the flag. */
    const char *t2 = "{ \"daemon\": {\n \"state_dir\": \"${env:OKRD_T_UNSET}\" } }";
    assert_int_equal(load_str(t2, CFG_NO_SECRETS, &cfg, &d), OKRD_EINVAL);
    assert_true(has_diag_at(&d, "okrd.json", 2, 15, "daemon.state_dir",
                            "${env:OKRD_T_UNSET} is not set"));
    cfg_diags_free(&d);
    unsetenv("OKRD_T_STATE");
}

static void test_secret_never_in_diags(void **state)
{
    (void)state;
    char *creds = tu_mkdtemp();
    free(tu_write_file(creds, "bad-hook-secret", "whsec-SECRET-ccc\n"));
    set_cred_dir(creds);
    setenv("OKRD_T_TOK", "tok-SECRET-aaa", 1);
    setenv("OKRD_T_HOOK", "ftp://hooks.example/SECRET-bbb", 1);
    setenv("OKRD_T_CRLF", "a\r\nSECRET-fff", 1);
    const char *text =
        "{ \"sources\": [ { \"id\": \"h\", \"type\": \"http_json\", \"url\": \"${env:OKRD_T_HOOK}\",\n"
        "    \"interval\": \"1m\", \"extract\": [ { \"metric\": \"m\", \"value\": \"\" } ],\n"
        "    \"headers\": { \"Authorization\": \"Bearer ${env:OKRD_T_TOK}\", \"X-Bad\": 5,\n"
        "                 \"X-Crlf\": \"${env:OKRD_T_CRLF}\" } },\n"
        "   { \"id\": \"p\", \"type\": \"prometheus\", \"url\": \"https://p/\", \"interval\": \"1m\",\n"
        "     \"basic_auth\": { \"password\": \"${env:OKRD_T_TOK}\" },\n"
        "     \"queries\": [ { \"metric\": \"up\", \"query\": \"up\" } ] } ],\n"
        "  \"webhooks\": [ { \"id\": \"w1\", \"url\": \"${env:OKRD_T_HOOK}\", \"format\": \"teams\",\n"
        "                  \"secret\": \"${cred:bad-hook-secret}\" },\n"
        "                { \"id\": \"w2\", \"url\": \"gopher://SECRET-ddd\", \"secret\": \"SECRET-ggg\" } ] }";
    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(load_str(text, 0, &cfg, &d), OKRD_EINVAL);
    assert_true(has_diag_at(&d, "okrd.json", 3, 72, "sources[0].headers.X-Bad", "expected a string"));
    assert_true(has_diag_at(&d, "okrd.json", 4, 28, "sources[0].headers.X-Crlf", "line break"));
    assert_true(has_diag_at(&d, "okrd.json", 1, 57, "sources[0].url", "must be an http:// or https:// URL"));
    assert_true(has_diag_at(&d, "okrd.json", 6, 20, "sources[1].basic_auth", "missing required key \"username\""));
    assert_true(has_diag_at(&d, "okrd.json", 8, 38, "webhooks[0].url", "must be an http"));
    assert_true(has_diag_at(&d, "okrd.json", 8, 70, "webhooks[0].format", "is not one of"));
    assert_true(has_diag_at(&d, "okrd.json", 9, 29, "webhooks[0].secret", "must start with \"whsec_\""));
    assert_true(has_diag_at(&d, "okrd.json", 10, 38, "webhooks[1].url", "must be an http"));
    assert_true(has_diag_at(&d, "okrd.json", 10, 71, "webhooks[1].secret", "must start with"));
    assert_int_equal(d.n_errors, 9);
    assert_no_text(&d, "SECRET");
    assert_no_text(&d, "tok-");
    cfg_diags_free(&d);

    /* jansson's syntax error would quote the string token after the error */
    const char *t2 = "{ \"webhooks\": [ { \"url\" \"https://hooks.example/SECRET-eee\" } ] }";
    assert_int_equal(load_str(t2, 0, &cfg, &d), OKRD_EINVAL);
    assert_int_equal(d.n_errors, 1);
    assert_non_null(find_diag(&d, "invalid JSON"));
    assert_no_text(&d, "SECRET");
    cfg_diags_free(&d);

    unsetenv("OKRD_T_TOK");
    unsetenv("OKRD_T_HOOK");
    unsetenv("OKRD_T_CRLF");
    unsetenv("CREDENTIALS_DIRECTORY");
    tu_rm_rf(creds);
    free(creds);
}

static void test_unsigned_webhook_warns(void **state)
{
    (void)state;
    const char *text = "{ \"webhooks\": [\n  { \"id\": \"w\", \"url\": \"https://h.example/\" } ] }";
    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(load_str(text, 0, &cfg, &d), 0);
    assert_non_null(cfg);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.n_errors, 0);
    assert_int_equal(d.items[0].severity, CFG_SEV_WARNING);
    assert_true(has_diag_at(&d, "okrd.json", 2, 3, "webhooks[0]", "deliveries will be unsigned"));
    assert_null(cfg->webhooks[0].secret);
    cfg_free(cfg);
    cfg_diags_free(&d);
}

static void test_underscore_keys_ignored(void **state)
{
    (void)state;
    const char *text =
        "{ \"_comment\": \"x\", \"daemon\": { \"_y\": { \"anything\": [1] } },\n"
        "  \"objectives\": [ { \"_note\": 1, \"id\": \"o\", \"title\": \"t\", \"cycle\": \"2026-Q4\",\n"
        "    \"key_results\": [ { \"_why\": \"\", \"id\": \"k\", \"title\": \"t\", \"metric\": \"m\",\n"
        "      \"direction\": \"increase\", \"target\": 1, \"aggregate\": { \"_a\": 0, \"fn\": \"sum\", \"window\": \"cycle\" } } ] } ] }";
    struct cfg *cfg;
    struct cfg_diags d;
    int rc = load_str(text, 0, &cfg, &d);
    if (rc)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    cfg_free(cfg);
    cfg_diags_free(&d);
}

/* ---- files and drop-ins ---- */

static void test_dropin_errors(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    char *main_path = tu_write_file(dir, "okrd.json",
        "{\n"
        "  \"objectives\": [\n"
        "    { \"id\": \"o1\", \"title\": \"t\", \"cycle\": \"2026-Q4\", \"key_results\": [] }\n"
        "  ]\n"
        "}\n");
    free(tu_write_file(sub, "10-a.json",
        "{\n"
        "  \"objectives\": [\n"
        "    { \"id\": \"o1\", \"title\": \"again\", \"cycle\": \"2026-Q4\", \"key_results\": [] }\n"
        "  ],\n"
        "  \"daemon\": { \"listen\": \"\" }\n"
        "}\n"));
    free(tu_write_file(sub, "20-b.json", "{ \"alerts\": {}, \"webhoks\": [] }\n"));
    free(tu_write_file(sub, "30-c.json", "{ \"metrics\": [ }\n"));
    free(tu_write_file(sub, ".hidden.json", "garbage"));
    free(tu_write_file(sub, "notes.txt", "garbage"));

    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(cfg_load(main_path, 0, &cfg, &d), OKRD_EINVAL);
    assert_null(cfg);
    char f10[4200], f20[4200], f30[4200], where[4400];
    snprintf(f10, sizeof f10, "%s/10-a.json", sub);
    snprintf(f20, sizeof f20, "%s/20-b.json", sub);
    snprintf(f30, sizeof f30, "%s/30-c.json", sub);
    snprintf(where, sizeof where, "duplicate objective id \"o1\" (first defined at %s:3:13)", main_path);
    assert_true(has_diag_at(&d, f10, 3, 13, "objectives[0].id", where));
    assert_true(has_diag_at(&d, f10, 5, 3, "daemon", "\"daemon\" is not allowed in a drop-in"));
    assert_true(has_diag_at(&d, f20, 1, 3, "alerts", "\"alerts\" is not allowed in a drop-in"));
    assert_true(has_diag_at(&d, f20, 1, 17, "webhoks", "did you mean \"webhooks\"?"));
    assert_true(has_diag_at(&d, f30, 1, 0, "", "invalid JSON"));
    assert_null(find_diag(&d, "hidden"));
    assert_null(find_diag(&d, "notes.txt"));
    assert_int_equal(d.n_errors, 5);
    /* file order: 10-a before 20-b before 30-c */
    assert_non_null(strstr(d.items[0].text, "10-a.json"));
    assert_non_null(strstr(d.items[d.n - 1].text, "30-c.json"));
    cfg_diags_free(&d);
    free(main_path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_dropins_merge(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    char *main_path = tu_write_file(dir, "okrd.json",
        "{ \"daemon\": { \"state_dir\": \"state/../okrd-state\" },\n"
        "  \"sources\": [ { \"id\": \"drop\", \"type\": \"csv_dir\", \"path\": \"./inbox/\" } ],\n"
        "  \"objectives\": [ { \"id\": \"team\", \"parent\": \"company\", \"title\": \"t\", \"cycle\": \"2026-Q4\",\n"
        "                    \"key_results\": [] } ],\n"
        "  \"alerts\": { \"digest\": { \"every\": \"Sunday 8:05\", \"webhooks\": [\"hook\"] } },\n"
        "  \"checkins\": { \"every\": \"3d\", \"remind\": \"tuesday 10:30\", \"webhooks\": [\"hook\"],\n"
        "                \"override_for\": \"1d\" } }\n");
    free(tu_write_file(sub, "20-company.json",
        "{ \"objectives\": [ { \"id\": \"company\", \"title\": \"c\", \"cycle\": \"2026-Q4\", \"key_results\": [] } ] }"));
    free(tu_write_file(sub, "10-hooks.json",
        "{ \"webhooks\": [ { \"id\": \"hook\", \"url\": \"https://h/\", \"secret\": \"" SECRET_OK "\",\n"
        "    \"objectives\": [\"company\"], \"events\": [\"digest.weekly\"] } ] }"));

    struct cfg *cfg;
    struct cfg_diags d;
    int rc = cfg_load(main_path, 0, &cfg, &d);
    if (rc)
        dump_diags(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(cfg->n_files, 3);
    assert_non_null(strstr(cfg->files[1], "conf.d/10-hooks.json"));
    assert_non_null(strstr(cfg->files[2], "conf.d/20-company.json"));
    char want[4200];
    snprintf(want, sizeof want, "%s/okrd-state", dir);
    assert_string_equal(cfg->daemon.state_dir, want);
    snprintf(want, sizeof want, "%s/inbox", dir);
    assert_string_equal(cfg->sources[0].u.csv.path, want);
    const struct cfg_objective *team = cfg_find_objective(cfg, "team");
    assert_ptr_equal(team->parent, cfg_find_objective(cfg, "company"));
    assert_string_equal(team->parent->pos.file, cfg->files[2]);
    assert_int_equal(cfg->alerts.digest_weekday, 0);
    assert_int_equal(cfg->alerts.digest_minute, 8 * 60 + 5);
    assert_true(cfg->checkins.has_remind);
    assert_int_equal(cfg->checkins.remind_weekday, 2);
    assert_int_equal(cfg->checkins.remind_minute, 10 * 60 + 30);
    assert_int_equal(cfg->checkins.every_ms, 3 * 86400000LL);
    assert_int_equal(cfg->checkins.override_for_ms, 86400000LL);
    assert_int_equal(cfg->checkins.n_webhooks, 1);
    assert_string_equal(cfg->checkins.webhooks[0], "hook");
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* a relative main path: paths resolve against its directory */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    rc = cfg_load("okrd.json", 0, &cfg, &d);
    char here[4096];
    assert_non_null(getcwd(here, sizeof here));
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->path, "okrd.json");
    assert_string_equal(cfg->files[1], "conf.d/10-hooks.json");
    snprintf(want, sizeof want, "%s/okrd-state", here);
    assert_string_equal(cfg->daemon.state_dir, want);
    cfg_free(cfg);
    cfg_diags_free(&d);

    free(main_path);
    tu_rm_rf(dir);
    free(dir);
}

/* store (DESIGN section 10): values, the url resolved even under
 * CFG_NO_SECRETS but only with postgresql, CFG_ANY_BACKEND for `okrd backup`,
 * never a value in a message, main file only. */
static void test_store_section(void **state)
{
    (void)state;
    struct cfg *cfg;
    struct cfg_diags d;
    assert_int_equal(load_str("{ \"store\": { \"backend\": \"sqlite\", \"ha\": { \"takeover_check\": \"5s\" } } }",
                              0, &cfg, &d), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(cfg->store.backend, CFG_STORE_SQLITE);
    assert_int_equal(cfg->store.takeover_check_ms, 5000);
    assert_string_equal(cfg_store_backend_name(cfg->store.backend), "sqlite");
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* sqlite: a url is not resolved (a missing ${env:} is no error), only warned about */
    unsetenv("OKRD_T_UNSET_PG");
    assert_int_equal(load_str("{ \"store\": { \"url\": \"${env:OKRD_T_UNSET_PG}\" } }", 0, &cfg, &d), 0);
    assert_int_equal(d.n_errors, 0);
    assert_non_null(find_diag(&d, "store.url: ignored with the \"sqlite\" backend"));
    assert_null(cfg->store.url);
    cfg_free(cfg);
    cfg_diags_free(&d);

    /* postgresql with CFG_ANY_BACKEND (okrd backup): loads; the url is a
     * secret yet resolved under CFG_NO_SECRETS (read-only commands need it) */
    setenv("OKRD_T_PG", "postgresql://okrd:pw-hunter2@db.example/okrd", 1);
    const char *pg = "{ \"store\": { \"backend\": \"postgresql\", \"url\": \"${env:OKRD_T_PG}\",\n"
                     "  \"ha\": { \"takeover_check\": \"3s\" } } }";
    assert_int_equal(load_str(pg, CFG_NO_SECRETS | CFG_ANY_BACKEND, &cfg, &d), 0);
    assert_int_equal(cfg->store.backend, CFG_STORE_POSTGRESQL);
    assert_string_equal(cfg->store.url, "postgresql://okrd:pw-hunter2@db.example/okrd");
    assert_int_equal(cfg->store.takeover_check_ms, 3000);
    assert_string_equal(cfg_store_backend_name(cfg->store.backend), "postgresql");
    cfg_free(cfg);
    cfg_diags_free(&d);
    /* a key=value connection string is a url too */
    assert_int_equal(load_str("{ \"store\": { \"backend\": \"postgresql\", \"url\": \"host=/run/pg dbname=okrd\" } }",
                              CFG_ANY_BACKEND, &cfg, &d), 0);
    assert_string_equal(cfg->store.url, "host=/run/pg dbname=okrd");
    cfg_free(cfg);
    cfg_diags_free(&d);
    /* without the flag too (the backend is built), and no message holds the value */
    assert_int_equal(load_str(pg, 0, &cfg, &d), 0);
    assert_int_equal(cfg->store.backend, CFG_STORE_POSTGRESQL);
    assert_int_equal(d.n_errors, 0);
    assert_no_text(&d, "hunter2");
    cfg_free(cfg);
    cfg_diags_free(&d);
    setenv("OKRD_T_PG", "db.example password=hunter2x", 1);
    assert_int_equal(load_str(pg, CFG_ANY_BACKEND, &cfg, &d), 0); /* has '=': libpq judges it */
    cfg_free(cfg);
    cfg_diags_free(&d);
    setenv("OKRD_T_PG", "hunter2-only", 1);
    assert_int_equal(load_str(pg, CFG_ANY_BACKEND, &cfg, &d), OKRD_EINVAL);
    assert_non_null(find_diag(&d, "store.url: is neither"));
    assert_no_text(&d, "hunter2");
    cfg_diags_free(&d);
    unsetenv("OKRD_T_PG");

    /* main file only */
    char *dir = tu_mkdtemp();
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    char *main_path = tu_write_file(dir, "okrd.json", "{}\n");
    free(tu_write_file(sub, "10-a.json", "{ \"store\": { \"backend\": \"sqlite\" } }\n"));
    assert_int_equal(cfg_load(main_path, 0, &cfg, &d), OKRD_EINVAL);
    assert_non_null(find_diag(&d, "\"store\" is not allowed in a drop-in"));
    cfg_diags_free(&d);
    free(main_path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_missing_main_file(void **state)
{
    (void)state;
    struct cfg *cfg = (struct cfg *)1;
    struct cfg_diags d;
    assert_int_equal(cfg_load("/nonexistent/okrd/okrd.json", 0, &cfg, &d), OKRD_EIO);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.items[0].text,
                        "/nonexistent/okrd/okrd.json: cannot read: No such file or directory");
    cfg_diags_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_table),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_design_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_options),
        cmocka_unit_test(test_cycles_to_utc),
        cmocka_unit_test(test_lookups_and_names),
        cmocka_unit_test(test_metric_poll_interval),
        cmocka_unit_test(test_lookups_many),
        cmocka_unit_test(test_keypos_against_reference),
        cmocka_unit_test(test_keypos_big),
        cmocka_unit_test(test_secrets_resolved),
        cmocka_unit_test(test_no_secrets_flag),
        cmocka_unit_test(test_secret_never_in_diags),
        cmocka_unit_test(test_unsigned_webhook_warns),
        cmocka_unit_test(test_underscore_keys_ignored),
        cmocka_unit_test(test_dropin_errors),
        cmocka_unit_test(test_dropins_merge),
        cmocka_unit_test(test_store_section),
        cmocka_unit_test(test_missing_main_file),
        cmocka_unit_test(test_owners_and_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
