/*
 * cmd_checkin.c — `okrd checkin`: a check-in (DESIGN section 8) posted to
 * the running daemon's API, POST /api/v1/key-results/{id}/check-ins on the
 * config's daemon.listen (TCP host:port or unix:PATH), so it goes through
 * the same validation, serialization and transaction as any other client's.
 * The token comes from $OKRD_TOKEN or --token-file (one trailing newline
 * dropped, as ${file:} does); the config is read without secrets.
 *
 * Prints the key result's effective status once the daemon has committed,
 * "KR: STATUS", with " (computed: STATUS)" while an override holds. Exit 1
 * when the daemon refuses (its detail printed; 401 and 403 too), 3 when no
 * daemon answers (or it fails), 2 for a bad command line. One blocking
 * request (connectors/httpc_once.h): a command has no loop to keep free.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/parse.h"
#include "connectors/httpc_once.h"

static const char usage[] =
    "usage: okrd checkin [-c FILE] KR [--confidence N] [--comment TEXT]\n"
    "                    [--status S [--until DATE]] [--value X] [--grade G [--cycle Q]]\n"
    "                    [--token-file FILE]\n"
    "\n"
    "Posts a check-in of key result KR to the running daemon (daemon.listen of the\n"
    "config) and prints the key result's effective status, \"KR: STATUS\", with\n"
    "\"(computed: STATUS)\" appended while a status override holds.\n"
    "  --confidence N   0 to 10: how likely the target is reached\n"
    "  --comment TEXT   why (at most 4,000 bytes)\n"
    "  --status S       override the computed status: on_track, at_risk or off_track\n"
    "  --until DATE     when the override ends (a date: the end of that day; or a\n"
    "                   date-time); default 14 days (checkins.override_for), cut at the\n"
    "                   cycle's end\n"
    "  --value X        a value of the key result's metric, stored at the check-in's time\n"
    "  --grade G        0.0 to 1.0: the final grade of a cycle that has ended\n"
    "  --cycle Q        the cycle graded: \"2026-Q3\" or START..END (default the current)\n"
    "  --token-file F   the bearer token (a token with the \"checkin\" scope) from file F;\n"
    "                   default $OKRD_TOKEN\n"
    "exit codes: 0 stored, 1 refused by the daemon (its reason printed), 2 usage,\n"
    "3 no daemon answers\n";

#define TIMEOUT_MS 30000
#define MAX_ANSWER (4 << 20)
#define MAX_TOKEN 4096

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("okrd checkin: ", stderr);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return EXIT_USAGE;
}

/* A whole argument as a number (JSON has no NaN or Inf). */
static bool number_arg(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && errno != ERANGE && isfinite(*out);
}

/* The token of --token-file: the file's bytes with ONE trailing newline
 * ("\n" or "\r\n") dropped. Malloc'd, or NULL with a message printed. */
static char *read_token(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "okrd checkin: --token-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_TOKEN + 2);
    size_t n = buf ? fread(buf, 1, MAX_TOKEN + 1, f) : 0;
    bool err = !buf || ferror(f);
    fclose(f);
    if (err || n > MAX_TOKEN) {
        fprintf(stderr, "okrd checkin: --token-file %s: %s\n", path,
                err ? "cannot read it" : "longer than 4096 bytes: not a token");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (n && buf[n - 1] == '\n') {
        buf[--n] = '\0';
        if (n && buf[n - 1] == '\r')
            buf[--n] = '\0';
    }
    if (!n || strpbrk(buf, "\r\n")) {
        fprintf(stderr, "okrd checkin: --token-file %s: %s\n", path,
                n ? "the token spans lines" : "the file is empty");
        free(buf);
        return NULL;
    }
    return buf;
}

/* Where daemon.listen is reached: a URL base and, for "unix:PATH", the
 * socket. A wildcard address is reached on loopback. */
static int target(const char *listen, char *base, size_t size, const char **unix_path)
{
    *unix_path = NULL;
    if (!strncmp(listen, "unix:", 5)) {
        *unix_path = listen + 5;
        snprintf(base, size, "http://localhost");
        return 0;
    }
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -1;
    size_t hn = (size_t)(colon - listen);
    const char *host = listen;
    if ((hn == 7 && !strncmp(listen, "0.0.0.0", 7)) || (hn == 1 && listen[0] == '*')) {
        host = "127.0.0.1";
        hn = 9;
    } else if (hn == 4 && !strncmp(listen, "[::]", 4)) {
        host = "[::1]";
        hn = 5;
    }
    snprintf(base, size, "http://%.*s%s", (int)hn, host, colon);
    return 0;
}

/* The line of a 201: "KR: STATUS", plus " (computed: ...)" while an
 * override holds. */
static int print_result(const char *body, size_t n)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, n, 0, &jerr);
    json_t *kr = doc ? json_object_get(doc, "key_result") : NULL;
    const char *id = json_string_value(json_object_get(kr, "id"));
    const char *status = json_string_value(json_object_get(kr, "status"));
    if (!id || !status) {
        fprintf(stderr, "okrd checkin: stored, but the daemon's answer has no key result "
                        "status\n");
        json_decref(doc);
        return EXIT_RUNTIME;
    }
    const char *computed = json_string_value(json_object_get(kr, "computed_status"));
    json_t *ci = json_object_get(kr, "check_in");
    bool holds = json_is_string(json_object_get(ci, "override_until")) ||
                 (computed && strcmp(computed, status));
    if (holds && computed)
        printf("%s: %s (computed: %s)\n", id, status, computed);
    else
        printf("%s: %s\n", id, status);
    json_decref(doc);
    return fflush(stdout) ? EXIT_RUNTIME : 0;
}

/* A refusal's detail (or the raw answer when it is not okrd's JSON). */
static void print_refusal(long status, const char *body, size_t n)
{
    json_t *doc = json_loadb(body, n, 0, NULL);
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    if (detail)
        fprintf(stderr, "okrd checkin: refused (HTTP %ld): %s\n", status, detail);
    else
        fprintf(stderr, "okrd checkin: refused (HTTP %ld): %.300s\n", status, body);
    json_decref(doc);
}

int cmd_checkin(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG, *token_file = NULL;
    const char *comment = NULL, *status = NULL, *until = NULL, *cycle = NULL;
    const char *confidence = NULL, *value = NULL, *grade = NULL;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "confidence", required_argument, NULL, 'C' },
        { "comment", required_argument, NULL, 'm' },
        { "status", required_argument, NULL, 's' },
        { "until", required_argument, NULL, 'u' },
        { "value", required_argument, NULL, 'v' },
        { "grade", required_argument, NULL, 'g' },
        { "cycle", required_argument, NULL, 'y' },
        { "token-file", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'C': confidence = optarg; break;
        case 'm': comment = optarg; break;
        case 's': status = optarg; break;
        case 'u': until = optarg; break;
        case 'v': value = optarg; break;
        case 'g': grade = optarg; break;
        case 'y': cycle = optarg; break;
        case 't': token_file = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return bad_usage("which key result? (%s)", "okrd checkin KR ...");
    const char *kr = argv[optind];
    if (optind + 1 < argc)
        return bad_usage("unexpected argument \"%s\"", argv[optind + 1]);
    if (!okrd_valid_id(kr, strlen(kr)))
        return bad_usage("\"%s\" is not a key-result id ([A-Za-z0-9_.:-], 1 to 128 characters)",
                         kr);
    if (until && !status)
        return bad_usage("%s ends a status override: it needs --status", "--until");
    if (cycle && !grade)
        return bad_usage("%s names the cycle a grade is for: it needs --grade", "--cycle");
    if (!confidence && !comment && !status && !value && !grade)
        return bad_usage("nothing to check in: give at least one of %s",
                         "--confidence, --comment, --status, --value, --grade");
    json_t *body = json_object();
    double d;
    if (confidence) {
        if (!number_arg(confidence, &d)) {
            json_decref(body);
            return bad_usage("--confidence \"%s\" is not a number (0 to 10)", confidence);
        }
        /* An integer as an integer; the daemon says what else is wrong. */
        json_object_set_new(body, "confidence", d == floor(d) && fabs(d) < 1e15
                                                    ? json_integer((json_int_t)d) : json_real(d));
    }
    if (comment)
        json_object_set_new(body, "comment", json_string(comment));
    if (status)
        json_object_set_new(body, "status", json_string(status));
    if (until)
        json_object_set_new(body, "until", json_string(until));
    if (value) {
        if (!number_arg(value, &d)) {
            json_decref(body);
            return bad_usage("--value \"%s\" is not a number", value);
        }
        json_object_set_new(body, "value", json_real(d));
    }
    if (grade) {
        if (!number_arg(grade, &d)) {
            json_decref(body);
            return bad_usage("--grade \"%s\" is not a number (0.0 to 1.0)", grade);
        }
        json_object_set_new(body, "grade", json_real(d));
    }
    if (cycle) {
        const char *dots = strstr(cycle, "..");
        if (dots)
            json_object_set_new(body, "cycle", json_pack("{s:s%, s:s}", "start", cycle,
                                                         (size_t)(dots - cycle), "end", dots + 2));
        else
            json_object_set_new(body, "cycle", json_string(cycle));
    }
    /* jansson refuses a string that is not UTF-8: nothing was set. */
    const char *texts[][2] = { { "comment", comment }, { "status", status }, { "until", until } };
    for (size_t i = 0; i < 3; i++)
        if (texts[i][1] && !json_object_get(body, texts[i][0])) {
            fprintf(stderr, "okrd checkin: --%s is not valid UTF-8\n", texts[i][0]);
            json_decref(body);
            return EXIT_BAD_INPUT;
        }
    if (cycle && !json_object_get(body, "cycle")) {
        fprintf(stderr, "okrd checkin: --cycle is not valid UTF-8\n");
        json_decref(body);
        return EXIT_BAD_INPUT;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    int rc = 0;
    struct cfg *cfg = NULL;
    char *token = NULL;
    struct httpc_once_response r = { 0 };
    if (!text) {
        fprintf(stderr, "okrd checkin: out of memory\n");
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (token_file) {
        if (!(token = read_token(token_file))) {
            rc = EXIT_BAD_INPUT;
            goto out;
        }
    } else if (getenv("OKRD_TOKEN") && *getenv("OKRD_TOKEN")) {
        token = strdup(getenv("OKRD_TOKEN"));
    }
    if ((rc = cli_load_config(path, CFG_NO_SECRETS, &cfg)))
        goto out;
    const char *listen = cfg->daemon.listen ? cfg->daemon.listen : "";
    char base[300], url[600];
    const char *unix_path = NULL;
    if (!*listen) {
        fprintf(stderr, "okrd checkin: %s has no API (daemon.listen is \"\"): no daemon to "
                        "post to\n", path);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (target(listen, base, sizeof base, &unix_path) < 0) {
        fprintf(stderr, "okrd checkin: daemon.listen \"%s\" is no address to post to\n", listen);
        rc = EXIT_BAD_INPUT;
        goto out;
    }
    snprintf(url, sizeof url, "%s/api/v1/key-results/%s/check-ins", base, kr);
    size_t alen = token ? strlen(token) + 32 : 1;
    char *authz = malloc(alen);
    if (!authz) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (token)
        snprintf(authz, alen, "Authorization: Bearer %s", token);
    const char *headers[] = { "Content-Type: application/json", "Accept: application/json",
                              "Expect:", authz };
    struct httpc_once_request req = {
        .method = "POST", .url = url, .unix_path = unix_path, .headers = headers,
        .n_headers = token ? 4 : 3, .body = text, .body_len = strlen(text),
        .timeout_ms = TIMEOUT_MS, .max_bytes = MAX_ANSWER,
    };
    struct okrd_err err = { 0 };
    int hrc = httpc_once(&req, &r, &err);
    if (token)
        memset(authz, 0, alen);
    free(authz);
    if (hrc < 0) {
        fprintf(stderr, "okrd checkin: %s\n", err.msg);
        rc = EXIT_RUNTIME;
    } else if (r.result != HTTPC_OK) {
        fprintf(stderr, "okrd checkin: no daemon answers at %s: %s\n", listen, r.error);
        rc = EXIT_RUNTIME;
    } else if (r.status == 201) {
        rc = print_result(r.body, r.body_len);
    } else {
        print_refusal(r.status, r.body, r.body_len);
        rc = r.status >= 400 && r.status < 500 ? EXIT_BAD_INPUT : EXIT_RUNTIME;
    }
out:
    httpc_once_free(&r);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    free(text);
    cfg_free(cfg);
    return rc;
}
