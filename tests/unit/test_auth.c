/*
 * test_auth.c — api/api_auth.c: who may call what (DESIGN section 8). One
 * table of every endpoint class x token situation x listener kind, each case
 * named in its failure; then the endpoint classes by method and path, the
 * Host rule of loopback listeners, the CSP's hashes and the JSON escaping
 * for pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_auth.h"
#include "api/api_internal.h"

/* Token sets. */
enum set { NONE, ALL_API, READ_ONLY, PUSH_AND_READ, CHECKIN_ONLY, N_SETS };

static const struct cfg_api_token set_all[] = {
    { "api", "every-scope", CFG_SCOPES_ALL, { 0 } },
};
static const struct cfg_api_token set_read[] = {
    { "viewer", "r-token", CFG_SCOPE_READ, { 0 } },
};
static const struct cfg_api_token set_push_read[] = {
    { "viewer", "r-token", CFG_SCOPE_READ, { 0 } },
    { "ci", "p-token", CFG_SCOPE_PUSH, { 0 } },
};
static const struct cfg_api_token set_checkin[] = {
    { "people", "c-token", CFG_SCOPE_CHECKIN, { 0 } },
};

static void load_set(struct api_auth *a, enum set s)
{
    struct okrd_err err = { 0 };
    const struct cfg_api_token *t = NULL;
    size_t n = 0;
    switch (s) {
    case ALL_API: t = set_all; n = 1; break;
    case READ_ONLY: t = set_read; n = 1; break;
    case PUSH_AND_READ: t = set_push_read; n = 2; break;
    case CHECKIN_ONLY: t = set_checkin; n = 1; break;
    default: break;
    }
    assert_int_equal(api_auth_init(a, t, n, &err), 0);
}

struct auth_case {
    const char *name;
    enum set set;
    enum api_listener l;
    enum api_endpoint ep;
    const char *authz;           /* the Authorization header, NULL = none */
    enum api_verdict want;
    const char *token;           /* the token name that matched, NULL = none */
};

#define LO API_LISTENER_LOOPBACK
#define UX API_LISTENER_UNIX
#define NET API_LISTENER_OTHER
#define SERVE API_AUTH_SERVE
#define NOCONF API_AUTH_NOT_CONFIGURED
#define MISSING API_AUTH_MISSING
#define UNKNOWN API_AUTH_UNKNOWN
#define NOSCOPE API_AUTH_NO_SCOPE

static const struct auth_case cases[] = {
    /* /healthz: exempt on every listener, whatever is sent */
    { "healthz loopback, nothing", NONE, LO, API_EP_HEALTHZ, NULL, SERVE, NULL },
    { "healthz net, no tokens at all", NONE, NET, API_EP_HEALTHZ, NULL, SERVE, NULL },
    { "healthz net, wrong token", READ_ONLY, NET, API_EP_HEALTHZ, "Bearer nope", SERVE, NULL },
    { "healthz unix, garbage header", ALL_API, UX, API_EP_HEALTHZ, "Basic xyz", SERVE, NULL },
    /* the dashboard page holds no data: served on every listener, token or not */
    { "page net, none sent", READ_ONLY, NET, API_EP_PAGE, NULL, SERVE, NULL },
    { "page net, wrong token", READ_ONLY, NET, API_EP_PAGE, "Bearer nope", SERVE, NULL },
    { "page net, no token has read", CHECKIN_ONLY, NET, API_EP_PAGE, NULL, SERVE, NULL },
    { "page net, push token", PUSH_AND_READ, NET, API_EP_PAGE, "Bearer p-token", SERVE, NULL },
    { "page loopback, nothing", NONE, LO, API_EP_PAGE, NULL, SERVE, NULL },
    { "page unix, garbage header", ALL_API, UX, API_EP_PAGE, "Basic xyz", SERVE, NULL },
    /* reads: exempt on loopback and unix (any token ignored), scoped elsewhere */
    { "read loopback, no tokens", NONE, LO, API_EP_READ, NULL, SERVE, NULL },
    { "read loopback, wrong token ignored", READ_ONLY, LO, API_EP_READ, "Bearer nope", SERVE, NULL },
    { "read loopback, push-only token ignored", PUSH_AND_READ, LO, API_EP_READ, "Bearer p-token", SERVE, NULL },
    { "read unix, no tokens", NONE, UX, API_EP_READ, NULL, SERVE, NULL },
    { "read unix, wrong token ignored", ALL_API, UX, API_EP_READ, "Bearer x", SERVE, NULL },
    { "read net, no token has read", CHECKIN_ONLY, NET, API_EP_READ, "Bearer c-token", NOCONF, NULL },
    { "read net, no token has read, none sent", CHECKIN_ONLY, NET, API_EP_READ, NULL, NOCONF, NULL },
    { "read net, none sent", READ_ONLY, NET, API_EP_READ, NULL, MISSING, NULL },
    { "read net, other scheme", READ_ONLY, NET, API_EP_READ, "Basic r-token", MISSING, NULL },
    { "read net, empty bearer", READ_ONLY, NET, API_EP_READ, "Bearer   ", MISSING, NULL },
    { "read net, Bearer without space", READ_ONLY, NET, API_EP_READ, "Bearerr-token", MISSING, NULL },
    { "read net, unknown", READ_ONLY, NET, API_EP_READ, "Bearer r-tokeN", UNKNOWN, NULL },
    { "read net, prefix", READ_ONLY, NET, API_EP_READ, "Bearer r-toke", UNKNOWN, NULL },
    { "read net, longer", READ_ONLY, NET, API_EP_READ, "Bearer r-tokenr-token", UNKNOWN, NULL },
    { "read net, right", READ_ONLY, NET, API_EP_READ, "Bearer r-token", SERVE, "viewer" },
    { "read net, scheme in any case, spaces", READ_ONLY, NET, API_EP_READ, "bEARER   r-token  ", SERVE, "viewer" },
    { "read net, api token", ALL_API, NET, API_EP_READ, "Bearer every-scope", SERVE, "api" },
    { "read net, push token lacks read", PUSH_AND_READ, NET, API_EP_READ, "Bearer p-token", NOSCOPE, "ci" },
    { "read net, second of two", PUSH_AND_READ, NET, API_EP_READ, "Bearer r-token", SERVE, "viewer" },
    /* push: scoped on every listener, loopback included */
    { "push loopback, no tokens at all", NONE, LO, API_EP_PUSH, "Bearer x", NOCONF, NULL },
    { "push loopback, no token has push", READ_ONLY, LO, API_EP_PUSH, "Bearer r-token", NOCONF, NULL },
    { "push unix, no token has push", CHECKIN_ONLY, UX, API_EP_PUSH, NULL, NOCONF, NULL },
    { "push net, no token has push", READ_ONLY, NET, API_EP_PUSH, NULL, NOCONF, NULL },
    { "push loopback, none sent", PUSH_AND_READ, LO, API_EP_PUSH, NULL, MISSING, NULL },
    { "push unix, none sent", ALL_API, UX, API_EP_PUSH, NULL, MISSING, NULL },
    { "push net, none sent", PUSH_AND_READ, NET, API_EP_PUSH, NULL, MISSING, NULL },
    { "push loopback, wrong", PUSH_AND_READ, LO, API_EP_PUSH, "Bearer wrong", UNKNOWN, NULL },
    { "push unix, wrong", ALL_API, UX, API_EP_PUSH, "Bearer every-scopE", UNKNOWN, NULL },
    { "push net, wrong", PUSH_AND_READ, NET, API_EP_PUSH, "Bearer wrong", UNKNOWN, NULL },
    { "push loopback, read token", PUSH_AND_READ, LO, API_EP_PUSH, "Bearer r-token", NOSCOPE, "viewer" },
    { "push unix, read token", PUSH_AND_READ, UX, API_EP_PUSH, "Bearer r-token", NOSCOPE, "viewer" },
    { "push net, read token", PUSH_AND_READ, NET, API_EP_PUSH, "Bearer r-token", NOSCOPE, "viewer" },
    { "push loopback, push token", PUSH_AND_READ, LO, API_EP_PUSH, "Bearer p-token", SERVE, "ci" },
    { "push unix, api token", ALL_API, UX, API_EP_PUSH, "Bearer every-scope", SERVE, "api" },
    { "push net, push token", PUSH_AND_READ, NET, API_EP_PUSH, "Bearer p-token", SERVE, "ci" },
    /* check-ins: scoped on every listener */
    { "checkin loopback, no tokens", NONE, LO, API_EP_CHECKIN, NULL, NOCONF, NULL },
    { "checkin loopback, no token has checkin", PUSH_AND_READ, LO, API_EP_CHECKIN, "Bearer p-token", NOCONF, NULL },
    { "checkin unix, none sent", CHECKIN_ONLY, UX, API_EP_CHECKIN, NULL, MISSING, NULL },
    { "checkin net, wrong", CHECKIN_ONLY, NET, API_EP_CHECKIN, "Bearer r-token", UNKNOWN, NULL },
    { "checkin loopback, right", CHECKIN_ONLY, LO, API_EP_CHECKIN, "Bearer c-token", SERVE, "people" },
    { "checkin net, api token", ALL_API, NET, API_EP_CHECKIN, "Bearer every-scope", SERVE, "api" },
    { "checkin unix, api token", ALL_API, UX, API_EP_CHECKIN, "Bearer every-scope", SERVE, "api" },
    /* not an endpoint that acts (the router answers 404/405) */
    { "open loopback", NONE, LO, API_EP_OPEN, NULL, SERVE, NULL },
    { "open net", READ_ONLY, NET, API_EP_OPEN, NULL, SERVE, NULL },
};

static void test_decision_table(void **state)
{
    (void)state;
    struct api_auth sets[N_SETS];
    for (int i = 0; i < N_SETS; i++)
        load_set(&sets[i], (enum set)i);
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct auth_case *c = &cases[i];
        const struct api_auth *a = &sets[c->set];
        struct api_auth_result r = api_auth_decide(a, c->ep, c->l, c->authz);
        const char *got_name = r.token >= 0 ? a->tokens[r.token].name : NULL;
        bool ok = r.verdict == c->want &&
                  (c->token ? got_name && !strcmp(got_name, c->token) : c->want != SERVE || !got_name);
        if (!ok) {
            fprintf(stderr, "FAIL case \"%s\": verdict %d (want %d), token %s (want %s)\n", c->name,
                    r.verdict, c->want, got_name ? got_name : "none", c->token ? c->token : "none");
            failed++;
        }
    }
    fprintf(stderr, "    %zu auth cases checked\n", sizeof cases / sizeof *cases);
    for (int i = 0; i < N_SETS; i++)
        api_auth_free(&sets[i]);
    assert_int_equal(failed, 0);
}

/* Every set x listener x endpoint x header the table's rule says; checks
 * the order of DESIGN section 8 as a formula, so no combination is left out. */
static void test_decision_exhaustive(void **state)
{
    (void)state;
    const char *headers[] = { NULL, "Bearer nope", "Bearer every-scope", "Bearer r-token",
                              "Bearer p-token", "Bearer c-token", "Basic r-token" };
    enum api_endpoint eps[] = { API_EP_OPEN, API_EP_HEALTHZ, API_EP_PAGE, API_EP_READ, API_EP_PUSH,
                                API_EP_CHECKIN };
    enum api_listener ls[] = { LO, UX, NET };
    size_t n = 0;
    for (int s = 0; s < N_SETS; s++) {
        struct api_auth a;
        load_set(&a, (enum set)s);
        for (size_t e = 0; e < 6; e++)
            for (size_t l = 0; l < 3; l++)
                for (size_t h = 0; h < 7; h++, n++) {
                    struct api_auth_result r = api_auth_decide(&a, eps[e], ls[l], headers[h]);
                    unsigned need = api_auth_scope(eps[e]);
                    long match = -1;
                    for (size_t k = 0; k < a.n && headers[h] && !strncmp(headers[h], "Bearer ", 7); k++) {
                        const struct cfg_api_token *src =
                            s == ALL_API ? set_all : s == READ_ONLY ? set_read
                          : s == PUSH_AND_READ ? set_push_read : set_checkin;
                        if (!strcmp(src[k].token, headers[h] + 7))
                            match = (long)k;
                    }
                    enum api_verdict want;
                    if (!need || (eps[e] == API_EP_READ && ls[l] != NET))
                        want = SERVE;
                    else if (!(a.scopes & need))
                        want = NOCONF;
                    else if (!headers[h] || strncmp(headers[h], "Bearer ", 7))
                        want = MISSING;
                    else if (match < 0)
                        want = UNKNOWN;
                    else
                        want = (a.tokens[match].scopes & need) ? SERVE : NOSCOPE;
                    if (r.verdict != want)
                        fprintf(stderr, "FAIL set %d ep %d listener %d header %s: %d, want %d\n", s,
                                eps[e], ls[l], headers[h] ? headers[h] : "none", r.verdict, want);
                    assert_int_equal(r.verdict, want);
                }
        api_auth_free(&a);
    }
    assert_int_equal(n, (size_t)N_SETS * 6 * 3 * 7);
}

static void test_endpoint_classes(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        enum api_endpoint want;
    } t[] = {
        { "GET", "/healthz", API_EP_HEALTHZ },
        { "HEAD", "/healthz", API_EP_HEALTHZ },
        { "GET", "/", API_EP_PAGE },
        { "HEAD", "/", API_EP_PAGE },
        { "GET", "//", API_EP_READ },
        { "GET", "/retro", API_EP_PAGE },
        { "GET", "/metrics", API_EP_READ },
        { "HEAD", "/api/v1/objectives", API_EP_READ },
        { "GET", "/api/v1/key-results/dau-up/series", API_EP_READ },
        { "GET", "/api/v1/key-results/dau-up/check-ins", API_EP_READ },
        { "GET", "/api/v1/points", API_EP_READ },
        { "GET", "/no/such/path", API_EP_READ },
        { "POST", "/api/v1/points", API_EP_PUSH },
        { "POST", "/api/v1/key-results/dau-up/check-ins", API_EP_CHECKIN },
        { "POST", "/api/v1/key-results/a.b:c-d_e/check-ins", API_EP_CHECKIN },
        { "POST", "/api/v1/key-results//check-ins", API_EP_OPEN },
        { "POST", "/api/v1/key-results/bad id/check-ins", API_EP_OPEN },
        { "POST", "/api/v1/key-results/dau-up/check-ins/x", API_EP_OPEN },
        { "POST", "/api/v1/key-results/dau-up", API_EP_OPEN },
        { "POST", "/healthz", API_EP_OPEN },
        { "PUT", "/api/v1/points", API_EP_OPEN },
        { "DELETE", "/", API_EP_OPEN },
        { "get", "/", API_EP_OPEN },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        enum api_endpoint got = api_auth_endpoint(t[i].method, t[i].path);
        if (got != t[i].want)
            fprintf(stderr, "FAIL %s %s: %d, want %d\n", t[i].method, t[i].path, got, t[i].want);
        assert_int_equal(got, t[i].want);
    }
    assert_int_equal(api_auth_scope(API_EP_READ), CFG_SCOPE_READ);
    assert_int_equal(api_auth_scope(API_EP_PUSH), CFG_SCOPE_PUSH);
    assert_int_equal(api_auth_scope(API_EP_CHECKIN), CFG_SCOPE_CHECKIN);
    assert_int_equal(api_auth_scope(API_EP_HEALTHZ), 0);
    assert_int_equal(api_auth_scope(API_EP_PAGE), 0);
    char buf[64];
    api_auth_scope_list(CFG_SCOPE_READ | CFG_SCOPE_CHECKIN, buf, sizeof buf);
    assert_string_equal(buf, "read, checkin");
    api_auth_scope_list(0, buf, sizeof buf);
    assert_string_equal(buf, "none");
}

/* Tokens without a value (a config loaded without secrets) are skipped;
 * the digests, not the tokens, are kept. */
static void test_init_skips_unresolved(void **state)
{
    (void)state;
    struct cfg_api_token t[] = {
        { "a", NULL, CFG_SCOPE_PUSH, { 0 } },
        { "b", "bee", CFG_SCOPE_READ, { 0 } },
    };
    struct api_auth a;
    struct okrd_err err = { 0 };
    assert_int_equal(api_auth_init(&a, t, 2, &err), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.tokens[0].name, "b");
    assert_int_equal(a.scopes, CFG_SCOPE_READ);
    unsigned char d[32];
    unsigned n = 0;
    EVP_Digest("bee", 3, d, &n, EVP_sha256(), NULL);
    assert_memory_equal(a.tokens[0].digest, d, 32);
    api_auth_free(&a);
    assert_null(a.tokens);
    api_auth_free(&a); /* twice is fine */
}

static void test_host_rule(void **state)
{
    (void)state;
    char own[64];
    api_auth_listen_host("127.0.0.2:9470", own, sizeof own);
    assert_string_equal(own, "127.0.0.2");
    api_auth_listen_host("[::1]:9470", own, sizeof own);
    assert_string_equal(own, "[::1]");
    api_auth_listen_host("unix:/run/okrd/api.sock", own, sizeof own);
    assert_string_equal(own, "");
    api_auth_listen_host("localhost:1", own, sizeof own);
    assert_string_equal(own, "localhost");
    static const struct {
        const char *host, *own;
        bool ok;
    } t[] = {
        { NULL, "127.0.0.1", true },
        { "localhost", "127.0.0.1", true },
        { "LOCALHOST:9470", "127.0.0.1", true },
        { "127.0.0.1:9470", "127.0.0.1", true },
        { "127.0.0.1", "", true },
        { "[::1]:9470", "127.0.0.1", true },
        { "[::1]", "127.0.0.1", true },
        { "127.0.0.2:80", "127.0.0.2", true },
        { "127.0.0.2:80", "127.0.0.1", false },
        { "evil.example", "127.0.0.1", false },
        { "evil.example:9470", "127.0.0.1", false },
        { "localhost.", "127.0.0.1", false },
        { "localhost.evil.example", "127.0.0.1", false },
        { "127.0.0.1.evil.example", "127.0.0.1", false },
        { "localhost:evil", "127.0.0.1", false },
        { "localhost:", "127.0.0.1", false },
        { "[::1", "127.0.0.1", false },
        { "[::1]x", "127.0.0.1", false },
        { "", "127.0.0.1", false },
        { "", "", false },
        { "x", "", false },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        bool got = api_auth_host_ok(t[i].host, t[i].own);
        if (got != t[i].ok)
            fprintf(stderr, "FAIL Host %s (own %s): %d\n", t[i].host ? t[i].host : "(none)",
                    t[i].own, got);
        assert_int_equal(got, t[i].ok);
    }
}

static void sha256_b64(const char *s, char *out)
{
    unsigned char d[32];
    unsigned n = 0;
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    EVP_EncodeBlock((unsigned char *)out, d, 32);
}

static void test_csp(void **state)
{
    (void)state;
    char csp[API_CSP_MAX];
    struct okrd_err err = { 0 };
    assert_int_equal(api_dashboard_csp(csp, sizeof csp, &err), 0);
    char js[64], css[64], want[API_CSP_MAX];
    sha256_b64(api_dashboard_script, js);
    sha256_b64(api_dashboard_css, css);
    snprintf(want, sizeof want,
             "default-src 'none'; script-src 'sha256-%s'; style-src 'sha256-%s'; "
             "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'", js, css);
    assert_string_equal(csp, want);
    assert_null(strstr(csp, "unsafe"));
    assert_int_equal(api_dashboard_csp(csp, 40, &err), OKRD_ERANGE);
}

/* The page served is exactly the hashed script and style (one of each, no
 * other inline script or style attribute), and its script builds text with
 * textContent only. */
static void test_page_matches_csp(void **state)
{
    (void)state;
    struct api_buf b = { 0 };
    api_dashboard_write(&b);
    assert_false(b.failed);
    const char *p = b.p;
    const char *sc = strstr(p, "<script>"), *se = sc ? strstr(sc, "</script>") : NULL;
    const char *st = strstr(p, "<style>"), *ste = st ? strstr(st, "</style>") : NULL;
    assert_non_null(se);
    assert_non_null(ste);
    assert_int_equal((size_t)(se - sc - 8), strlen(api_dashboard_script));
    assert_memory_equal(sc + 8, api_dashboard_script, strlen(api_dashboard_script));
    assert_int_equal((size_t)(ste - st - 7), strlen(api_dashboard_css));
    assert_memory_equal(st + 7, api_dashboard_css, strlen(api_dashboard_css));
    assert_null(strstr(se + 1, "<script"));
    assert_null(strstr(ste + 1, "<style"));
    assert_null(strstr(p, " style="));
    assert_null(strstr(api_dashboard_script, "innerHTML"));
    assert_null(strstr(api_dashboard_script, "outerHTML"));
    assert_null(strstr(api_dashboard_script, "insertAdjacentHTML"));
    assert_null(strstr(api_dashboard_script, "document.write"));
    assert_null(strstr(api_dashboard_script, "eval("));
    /* no cookie, only the tab's sessionStorage and a bearer header */
    assert_null(strstr(api_dashboard_script, "cookie"));
    assert_null(strstr(api_dashboard_script, "localStorage"));
    assert_non_null(strstr(api_dashboard_script, "sessionStorage"));
    assert_non_null(strstr(api_dashboard_script, "'Bearer '"));
    api_buf_free(&b);
}

static void test_json_for_pages(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:s}", "comment", "</script><!-- & <b>x</b>");
    struct api_buf b = { 0 };
    api_buf_json_html(&b, doc);
    assert_false(b.failed);
    assert_string_equal(b.p, "{\"comment\":\"\\u003c/script\\u003e\\u003c!-- \\u0026 "
                             "\\u003cb\\u003ex\\u003c/b\\u003e\"}");
    assert_null(strchr(b.p, '<'));
    /* and it still reads back as the same JSON */
    json_t *back = json_loads(b.p, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, doc));
    json_decref(back);
    json_decref(doc);
    api_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_decision_exhaustive),
        cmocka_unit_test(test_endpoint_classes),
        cmocka_unit_test(test_init_skips_unresolved),
        cmocka_unit_test(test_host_rule),
        cmocka_unit_test(test_csp),
        cmocka_unit_test(test_page_matches_csp),
        cmocka_unit_test(test_json_for_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
