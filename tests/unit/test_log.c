/*
 * test_log.c — daemon/log.c's escaping of logged values (log_quote,
 * log_scrub) and the guarantee of log_event that a line carries no raw
 * control byte and no invalid UTF-8, whatever it was given.
 *
 * daemon/ is not a library (it is the okrd executable), so this test
 * compiles log.c into itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.c"
#include "testutil.h"

/* True when s holds no byte < 0x20, no DEL, and only valid UTF-8 without C1
 * controls: what may reach a terminal or a log parser. */
static bool printable_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F)
                return false;
            i++;
            continue;
        }
        size_t cl = okrd_utf8_len(s + i, n - i);
        if (cl < 2 || (c == 0xC2 && (unsigned char)s[i + 1] < 0xA0))
            return false;
        i += cl;
    }
    return true;
}

static void test_quote_table(void **state)
{
    (void)state;
    static const struct {
        const char *name, *in, *want;
    } cases[] = {
        { "bare id", "dau-up_2026.q1", "dau-up_2026.q1" },
        { "bare path", "/var/lib/okrd/okrd.db", "/var/lib/okrd/okrd.db" },
        { "empty", "", "\"\"" },
        { "space", "a b", "\"a b\"" },
        { "quote and backslash", "say \"hi\" C:\\x", "\"say \\\"hi\\\" C:\\\\x\"" },
        { "newline", "a\nb", "\"a\\nb\"" },
        { "CR forges a line", "x.csv\rts=2026 level=error event=forged",
          "\"x.csv\\x0dts=2026 level=error event=forged\"" },
        { "tab", "a\tb", "\"a\\x09b\"" },
        { "ESC colour sequence", "\x1b[31mred\x1b[0m", "\"\\x1b[31mred\\x1b[0m\"" },
        { "BEL, BS, VT, FF", "\a\b\v\f", "\"\\x07\\x08\\x0b\\x0c\"" },
        { "0x01 and 0x1f", "\x01\x1f", "\"\\x01\\x1f\"" },
        { "DEL", "a\x7f", "\"a\\x7f\"" },
        { "C1 CSI U+009B", "a\xc2\x9b" "31m", "\"a\\xc2\\x9b" "31m\"" },
        { "C1 NEL U+0085", "\xc2\x85", "\"\\xc2\\x85\"" },
        { "NBSP U+00A0 kept", "a\xc2\xa0" "b", "\"a\xc2\xa0" "b\"" },
        { "2-byte kept", "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
        { "3-byte kept", "\xe6\x97\xa5\xe6\x9c\xac", "\"\xe6\x97\xa5\xe6\x9c\xac\"" },
        { "4-byte kept", "ok \xf0\x9f\x98\x80", "\"ok \xf0\x9f\x98\x80\"" },
        { "U+10FFFF kept", "\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"" },
        { "stray continuation", "a\x80" "b", "\"a\\x80b\"" },
        { "overlong /", "\xc0\xaf", "\"\\xc0\\xaf\"" },
        { "overlong 3-byte", "\xe0\x80\xaf", "\"\\xe0\\x80\\xaf\"" },
        { "overlong 4-byte", "\xf0\x80\x80\xaf", "\"\\xf0\\x80\\x80\\xaf\"" },
        { "surrogate U+D800", "\xed\xa0\x80", "\"\\xed\\xa0\\x80\"" },
        { "beyond U+10FFFF", "\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\"" },
        { "0xFE 0xFF", "\xfe\xff", "\"\\xfe\\xff\"" },
        { "truncated at the end", "caf\xc3", "\"caf\\xc3\"" },
        { "truncated, then ASCII", "\xe6\x97x", "\"\\xe6\\x97x\"" },
        { "truncated, then a good char", "\xe6\xc3\xa9", "\"\\xe6\xc3\xa9\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        const char *got = log_quote(buf, sizeof buf, cases[i].in);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got [%s], want [%s]", cases[i].name, got, cases[i].want);
        if (!printable_utf8(got, strlen(got)))
            fail_msg("%s: raw control byte or invalid UTF-8 in [%s]", cases[i].name, got);
    }
    char buf[16];
    assert_string_equal(log_quote(buf, sizeof buf, NULL), "\"\"");
}

/* Cut to any size, a quoted value is whole characters and whole escapes
 * with its closing quote, never more than size - 1 bytes. */
static void test_quote_truncation(void **state)
{
    (void)state;
    const char *in = "\xe6\x97\xa5\x1b\xc3\xa9\"\xff" "abc\xf0\x9f\x98\x80\r";
    char full[128];
    log_quote(full, sizeof full, in);
    assert_string_equal(full, "\"\xe6\x97\xa5\\x1b\xc3\xa9\\\"\\xff" "abc\xf0\x9f\x98\x80\\x0d\"");
    for (size_t size = 1; size <= strlen(full) + 1; size++) {
        char buf[128];
        memset(buf, 'Z', sizeof buf);
        log_quote(buf, size, in);
        size_t n = strlen(buf);
        if (n >= size)
            fail_msg("size %zu: %zu bytes written", size, n);
        if (size < 3) {
            assert_int_equal(n, 0);
            continue;
        }
        if (n < 2 || buf[0] != '"' || buf[n - 1] != '"')
            fail_msg("size %zu: [%s] not a closed quoted value", size, buf);
        /* a prefix of the full form, cut between units */
        if (strncmp(buf, full, n - 1) != 0)
            fail_msg("size %zu: [%s] is not a prefix of [%s]", size, buf, full);
        if (!printable_utf8(buf, n))
            fail_msg("size %zu: [%s] cut inside a character", size, buf);
        char c = full[n - 1]; /* the byte after the kept prefix */
        if (n - 1 < strlen(full) - 1 && ((unsigned char)c & 0xC0) == 0x80)
            fail_msg("size %zu: cut inside a character", size);
        const char *bs = strrchr(buf, '\\');
        if (bs && bs[1] == 'x' && strlen(bs) < 5) /* "\xNN" + the quote */
            fail_msg("size %zu: [%s] ends in half an escape", size, buf);
    }
}

static void test_scrub(void **state)
{
    (void)state;
    const char line[] = "file=a\x1b[2Jb.csv msg=\"q\\\"\" \xc3\xa9\xc3\n";
    char out[256];
    size_t n = log_scrub(out, sizeof out, line, strlen(line));
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "file=a\\x1b[2Jb.csv msg=\"q\\\"\" \xc3\xa9\\xc3\\x0a");
    /* whole units only when out is short */
    n = log_scrub(out, 9, line, strlen(line));
    assert_string_equal(out, "file=a");
    assert_int_equal(n, 6);
}

/* log_event: a value passed raw (no log_quote) still reaches stderr escaped. */
static void test_event_line_is_clean(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/stderr", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    unsetenv("JOURNAL_STREAM");
    log_setup(CFG_LOG_DEBUG);
    log_info("file_seen", "name=%s", "x\r\x1b[1A\xc2\x9b\xff.csv\nts=0 level=error event=forged");
    char q[256];
    log_info("file_seen", "name=%s", log_quote(q, sizeof q, "tab\there\x7f"));
    dup2(saved, STDERR_FILENO);
    close(saved);
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    /* exactly two lines, each ending in the only raw newlines */
    assert_int_equal(len > 0 && text[len - 1] == '\n', 1);
    char *nl = memchr(text, '\n', len);
    assert_non_null(nl);
    assert_ptr_equal(memchr(nl + 1, '\n', len - (size_t)(nl + 1 - text)), text + len - 1);
    if (!printable_utf8(text, (size_t)(nl - text)) ||
        !printable_utf8(nl + 1, len - (size_t)(nl + 1 - text) - 1))
        fail_msg("raw bytes in the log: %s", text);
    if (!strstr(text, "name=x\\x0d\\x1b[1A\\xc2\\x9b\\xff.csv\\x0ats=0 level=error event=forged\n"))
        fail_msg("line 1: %s", text);
    if (!strstr(text, "name=\"tab\\x09here\\x7f\"\n"))
        fail_msg("line 2: %s", text);
    free(text);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_table),
        cmocka_unit_test(test_quote_truncation),
        cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_event_line_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
