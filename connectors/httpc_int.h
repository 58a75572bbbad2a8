/*
 * httpc_int.h — shared between httpc.c and httpc_text.c only: turning a
 * finished transfer's curl result into a failure class and words.
 */
#ifndef OKRD_HTTPC_INT_H
#define OKRD_HTTPC_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpc.h"

/* too_big: the write callback refused the body (max_bytes). */
enum httpc_result httpc_classify(CURLcode code, bool too_big);

/* A failure in words, into buf: from curl's code and the OS errno, and for
 * TLS from errbuf (curl's error buffer, which for TLS never quotes the URL). */
void httpc_describe(CURL *easy, CURLcode code, enum httpc_result res, const char *errbuf,
                    int64_t timeout_ms, int64_t max_bytes, char *buf, size_t size);

#endif
