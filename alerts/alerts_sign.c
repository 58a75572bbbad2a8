/*
 * alerts_sign.c — Standard Webhooks signatures (DESIGN section 5):
 * webhook-signature = "v1," + base64(HMAC-SHA256(key, id "." timestamp "."
 * body)), the key being the base64 part of a "whsec_" secret. OpenSSL's
 * EVP_MAC does the HMAC; the base64 here is the standard alphabet with
 * padding, as the spec's reference libraries use.
 *
 * Checked against the spec's published test vector in test_alerts.c, and
 * end to end against the npm `standardwebhooks` package (test_webhooks.py).
 */
#include "alerts.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int alerts_secret_key(const char *secret, unsigned char key[ALERTS_KEY_MAX], size_t *len)
{
    if (!secret)
        return OKRD_EINVAL;
    if (!strncmp(secret, "whsec_", 6))
        secret += 6;
    size_t n = strlen(secret);
    while (n > 0 && secret[n - 1] == '=')
        n--;
    if (n == 0 || n % 4 == 1)
        return OKRD_EINVAL;
    size_t out = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(secret[i]);
        if (v < 0)
            return OKRD_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out >= ALERTS_KEY_MAX)
                return OKRD_EINVAL;
            key[out++] = (unsigned char)(acc >> bits);
        }
    }
    *len = out;
    return 0;
}

int alerts_sign(const unsigned char *key, size_t key_len, const char *id, int64_t timestamp_s,
                const char *body, size_t body_len, char out[ALERTS_SIGNATURE_MAX])
{
    char ts[32];
    int tn = snprintf(ts, sizeof ts, ".%lld.", (long long)timestamp_s);
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    int rc = OKRD_ENOMEM;
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx && EVP_MAC_init(ctx, key, key_len, params) &&
        EVP_MAC_update(ctx, (const unsigned char *)id, strlen(id)) &&
        EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)tn) &&
        EVP_MAC_update(ctx, (const unsigned char *)body, body_len) &&
        EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) && mac_len == 32) {
        memcpy(out, "v1,", 3);
        /* 32 bytes -> 44 base64 characters + NUL */
        EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    return rc;
}
