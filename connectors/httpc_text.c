/*
 * httpc_text.c — the words of the HTTP client: how a curl result becomes a
 * failure class and a message (never with the URL), Retry-After, and
 * percent-encoding. Pure functions, apart from reading a finished easy
 * handle's OS errno.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "httpc_int.h"

enum httpc_result httpc_classify(CURLcode code, bool too_big)
{
    switch (code) {
    case CURLE_OK: return HTTPC_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return HTTPC_E_DNS;
    case CURLE_COULDNT_CONNECT: return HTTPC_E_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return HTTPC_E_TIMEOUT;
    case CURLE_FILESIZE_EXCEEDED: return HTTPC_E_TOO_BIG;
    case CURLE_WRITE_ERROR: return too_big ? HTTPC_E_TOO_BIG : HTTPC_E_NETWORK;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED: return HTTPC_E_TLS;
    default: return HTTPC_E_NETWORK;
    }
}

/* Words for a failure. Built from curl's error code and the OS errno only:
 * curl's error buffer may quote the URL, which may hold a key. TLS messages
 * ("SSL certificate problem: ...") are the exception: they are the only
 * useful detail and never contain the URL. */
void httpc_describe(CURL *easy, CURLcode code, enum httpc_result res, const char *errbuf,
                    int64_t timeout_ms, int64_t max_bytes, char *buf, size_t size)
{
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    const char *why = curl_easy_strerror(code);
    switch (res) {
    case HTTPC_E_TIMEOUT:
        snprintf(buf, size, "timed out after %lld ms (timeout covers connect to last byte)",
                 (long long)timeout_ms);
        return;
    case HTTPC_E_TOO_BIG:
        snprintf(buf, size, "response body over max_bytes (%lld bytes); transfer aborted",
                 (long long)max_bytes);
        return;
    case HTTPC_E_DNS:
        snprintf(buf, size, "DNS: %s", why);
        return;
    case HTTPC_E_TLS:
        snprintf(buf, size, "TLS: %s", errbuf[0] ? errbuf : why);
        return;
    case HTTPC_E_CONNECT:
        snprintf(buf, size, "connect: %s", os_errno ? strerror((int)os_errno) : why);
        return;
    default:
        if (os_errno)
            snprintf(buf, size, "%s: %s", why, strerror((int)os_errno));
        else
            snprintf(buf, size, "%s", why);
        return;
    }
}

/* ---- helpers ---- */

int httpc_parse_retry_after(const char *value, int64_t now_s, int64_t *delay_ms)
{
    if (!value)
        return OKRD_EINVAL;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value >= '0' && *value <= '9') {
        int64_t s = 0;
        const char *p = value;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (s > INT64_MAX / 10000)
                s = INT64_MAX / 10000; /* absurd: saturate, callers cap it anyway */
            else
                s = s * 10 + (*p - '0');
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p)
            return OKRD_EINVAL;
        *delay_ms = s * 1000;
        return 0;
    }
    /* An HTTP-date. curl_getdate is a pure parser of exactly these formats
     * (IMF-fixdate and the two obsolete ones). */
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return OKRD_EINVAL;
    int64_t d = (int64_t)t - now_s;
    *delay_ms = d > 0 ? d * 1000 : 0;
    return 0;
}

char *httpc_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *httpc_result_name(enum httpc_result r)
{
    switch (r) {
    case HTTPC_OK: return "ok";
    case HTTPC_E_DNS: return "dns";
    case HTTPC_E_CONNECT: return "connect";
    case HTTPC_E_TLS: return "tls";
    case HTTPC_E_TIMEOUT: return "timeout";
    case HTTPC_E_TOO_BIG: return "too_big";
    case HTTPC_E_NETWORK: return "network";
    case HTTPC_E_CANCELLED: return "cancelled";
    }
    return "?";
}
