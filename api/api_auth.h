/*
 * api_auth.h — who may call what (DESIGN section 8, "Tokens and scopes" and
 * "Browsers"), as pure functions of (endpoint, listener, tokens, headers) so
 * a table test covers every case without a socket.
 *
 * Order of the decision: an exempt endpoint (/healthz and the dashboard
 * page GET /, which holds no data, on every listener; any other GET and
 * HEAD on a loopback or unix: listener) is served and any token ignored; no
 * configured token has the endpoint's scope -> 403; a missing or unknown
 * bearer token -> 401; a known token without the scope -> 403.
 *
 * Tokens are kept only as SHA-256 digests; a presented token is hashed and
 * compared with every configured digest (CRYPTO_memcmp, no early exit), so
 * the time taken depends neither on which token matched nor on any length.
 */
#ifndef OKRD_API_AUTH_H
#define OKRD_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/okrd_err.h"
#include "config/config.h"

enum api_listener {
    API_LISTENER_LOOPBACK,   /* TCP on 127.0.0.0/8 or ::1 */
    API_LISTENER_UNIX,       /* unix:PATH (the socket's mode is the access control) */
    API_LISTENER_OTHER,      /* anything else: needs a token for all but /healthz */
};

/* What an endpoint needs, by method and path. */
enum api_endpoint {
    API_EP_OPEN,     /* not an endpoint that acts (unknown path, wrong method): the
                        router answers 404 or 405, nothing is served */
    API_EP_HEALTHZ,  /* GET /healthz: exempt everywhere */
    API_EP_PAGE,     /* GET / and GET /retro, the two pages: exempt everywhere, as
                        they carry no data (their scripts read the API with the
                        person's token) */
    API_EP_READ,     /* GET or HEAD of any other path */
    API_EP_PUSH,     /* POST /api/v1/points */
    API_EP_CHECKIN,  /* POST /api/v1/key-results/{id}/check-ins */
};

enum api_verdict {
    API_AUTH_SERVE,
    API_AUTH_NOT_CONFIGURED, /* 403: no configured token has the scope */
    API_AUTH_MISSING,        /* 401: no bearer token (or another scheme) */
    API_AUTH_UNKNOWN,        /* 401: a bearer token no configured token matches */
    API_AUTH_NO_SCOPE,       /* 403: a known token without the scope */
};

#define API_AUTH_DIGEST_BYTES 32
#define API_AUTH_NAME_MAX 64

struct api_auth_token {
    char name[API_AUTH_NAME_MAX + 1];
    unsigned char digest[API_AUTH_DIGEST_BYTES];
    unsigned scopes;                 /* CFG_SCOPE_* */
};

struct api_auth {
    struct api_auth_token *tokens;   /* malloc'd; n entries */
    size_t n;
    unsigned scopes;                 /* the union of every token's scopes */
};

struct api_auth_result {
    enum api_verdict verdict;
    long token;                      /* index of the matching token, or -1 */
    unsigned scope;                  /* the scope the endpoint needs (0: none) */
};

/* Digests of TOKENS (entries whose token is NULL are skipped) into *a,
 * which the caller frees with api_auth_free. OKRD_ENOMEM / OKRD_EIO. */
int api_auth_init(struct api_auth *a, const struct cfg_api_token *tokens, size_t n,
                  struct okrd_err *err);
/* Wipes and frees; a zeroed or freed *a is fine. */
void api_auth_free(struct api_auth *a);

/* The class of METHOD on PATH (no query string). */
enum api_endpoint api_auth_endpoint(const char *method, const char *path);
/* The scope an endpoint needs (CFG_SCOPE_*), 0 for OPEN, HEALTHZ and PAGE. */
unsigned api_auth_scope(enum api_endpoint ep);
/* The decision for one request; AUTHORIZATION is the header's value or NULL. */
struct api_auth_result api_auth_decide(const struct api_auth *a, enum api_endpoint ep,
                                       enum api_listener l, const char *authorization);
/* "read", "push", "checkin" for one scope bit; "read, push" for several into BUF. */
const char *api_auth_scope_name(unsigned scope);
void api_auth_scope_list(unsigned scopes, char *buf, size_t size);

/* The host part of a listen address ("127.0.0.1:9470" -> "127.0.0.1",
 * "[::1]:9470" -> "[::1]"), into BUF; "" for unix: or a bad address. */
void api_auth_listen_host(const char *listen, char *buf, size_t size);
/* Whether a Host header (port aside) is one a loopback listener answers:
 * localhost, 127.0.0.1, [::1] or OWN_HOST (the listener's own host), in any
 * case. No Host header (HTTP/1.0): true, as no browser sends that. */
bool api_auth_host_ok(const char *host_header, const char *own_host);

#endif
