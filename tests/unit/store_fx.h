/*
 * store_fx.h — the fixture the store unit tests share: a fresh temporary
 * state_dir with a read-write store opened in it (setup), removed again
 * after the test (teardown). Header-only, included by the store tests
 * alone, so the other tests need not link store/.
 */
#ifndef OKRD_TEST_STORE_FX_H
#define OKRD_TEST_STORE_FX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "store/store.h"
#include "testutil.h"

struct fx {
    char *dir;
    char path[4096];
    struct store *s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    assert_non_null(f->dir);
    struct okrd_err err;
    assert_int_equal(store_path(f->dir, f->path, sizeof f->path, &err), 0);
    assert_int_equal(store_open(&f->s, f->path, 0, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

#endif
