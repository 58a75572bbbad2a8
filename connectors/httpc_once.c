/*
 * httpc_once.c — see httpc_once.h: one blocking request through a curl
 * easy handle, with the same defaults as the daemon's client (http and
 * https only, no redirects, no signals) and its words for failures.
 */
#include "httpc_once.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "httpc_int.h"

struct sink {
    char *p;
    size_t n, cap;
    int64_t max;
    bool too_big, failed;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t len = size * nmemb;
    if (s->max > 0 && (int64_t)(s->n + len) > s->max) {
        s->too_big = true;
        return 0;
    }
    if (s->n + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + len + 1)
            cap *= 2;
        char *p = realloc(s->p, cap);
        if (!p) {
            s->failed = true;
            return 0;
        }
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->n, data, len);
    s->n += len;
    s->p[s->n] = '\0';
    return len;
}

int httpc_once(const struct httpc_once_request *req, struct httpc_once_response *out,
               struct okrd_err *err)
{
    memset(out, 0, sizeof *out);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return okrd_err_set(err, OKRD_EIO, "http: libcurl failed to initialise");
    CURL *easy = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct sink sink = { .max = req->max_bytes };
    int rc = 0;
    if (!easy) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "http: out of memory");
        goto done;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *h = curl_slist_append(hdrs, req->headers[i]);
        if (!h) {
            rc = okrd_err_set(err, OKRD_ENOMEM, "http: out of memory");
            goto done;
        }
        hdrs = h;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(easy, CURLOPT_URL, req->url);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
#if CURL_AT_LEAST_VERSION(7, 85, 0)
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (req->unix_path)
        curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, req->unix_path);
    if (req->method && strcmp(req->method, "GET"))
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    if (req->body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    if (req->timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode code = curl_easy_perform(easy);
    if (sink.failed) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "http: out of memory for the answer");
        goto done;
    }
    out->result = httpc_classify(code, sink.too_big);
    if (out->result != HTTPC_OK)
        httpc_describe(easy, code, out->result, errbuf, req->timeout_ms, req->max_bytes,
                       out->error, sizeof out->error);
    else
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &out->status);
done:
    out->body = sink.p ? sink.p : calloc(1, 1);
    out->body_len = sink.n;
    if (!out->body && !rc)
        rc = okrd_err_set(err, OKRD_ENOMEM, "http: out of memory");
    curl_slist_free_all(hdrs);
    if (easy)
        curl_easy_cleanup(easy);
    curl_global_cleanup();
    return rc;
}

void httpc_once_free(struct httpc_once_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
