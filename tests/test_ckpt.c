/* tests/test_ckpt.c - checkpoint files (sim/ckpt.h): round trips, and every way a
 * checkpoint can be wrong is refused with a message naming the file and the record. */
#include <math.h>

#include "sim/ckpt.h"
#include "testutil.h"

typedef struct {
    int a;
    int64_t b;
    double c;
    float v[5];
    size_t n;
    int *list;
} state;

static int describe(state *s, afl_ckpt *ck)
{
    afl_ckpt_int(ck, "a", &s->a);
    afl_ckpt_i64(ck, "b", &s->b);
    afl_ckpt_f64(ck, "c", &s->c);
    afl_ckpt_floats(ck, "v", s->v, 5);
    size_t n = s->n;
    if (afl_ckpt_size(ck, "list.n", &n))
        return afl_ckpt_status(ck);
    if (afl_ckpt_loading(ck) && n != s->n) {
        free(s->list);
        s->list = calloc(n ? n : 1, sizeof *s->list);
        s->n = n;
    }
    afl_ckpt_ints(ck, "list", s->list, s->n);
    return afl_ckpt_status(ck);
}

static void save(const char *path, state *s)
{
    afl_ckpt *ck;
    afl_err err = {0};
    cr_assert_eq(afl_ckpt_create(path, &ck, &err), AFL_OK, "%s", err.msg);
    describe(s, ck);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_OK, "%s", err.msg);
}

static int load(const char *path, state *s, afl_err *err)
{
    afl_ckpt *ck;
    int rc = afl_ckpt_open(path, &ck, err);
    if (rc)
        return rc;
    describe(s, ck);
    return afl_ckpt_finish(ck, err);
}

static state sample(void)
{
    state s = {7, -123456789012LL, NAN, {1, -2, 3.5f, INFINITY, 0}, 3, calloc(3, sizeof(int))};
    s.list[0] = 4, s.list[1] = 5, s.list[2] = 6;
    return s;
}

Test(ckpt, round_trip_restores_every_value_and_variable_lengths)
{
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    state s = sample();
    save(path, &s);
    state t = {0};
    afl_err err = {0};
    cr_assert_eq(load(path, &t, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(t.a, 7);
    cr_assert_eq(t.b, -123456789012LL);
    cr_assert(isnan(t.c));
    cr_assert(memcmp(s.v, t.v, sizeof s.v) == 0);
    cr_assert_eq(t.n, 3);
    cr_assert_eq(t.list[2], 6);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "the temporary file was left behind");
    free(s.list), free(t.list), free(dir);
}

Test(ckpt, rng_state_continues_the_same_stream)
{
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/r.ckpt", dir);
    afl_rng *a = afl_rng_create(3, AFL_RNG_TEST, 1), *lazy = NULL, *b = afl_rng_create(9, 9, 9);
    afl_rng *lazy_b = afl_rng_create(1, 1, 1);
    for (int i = 0; i < 10; i++)
        afl_rng_uniform(a);
    afl_ckpt *ck;
    afl_err err = {0};
    cr_assert_eq(afl_ckpt_create(path, &ck, &err), AFL_OK);
    afl_ckpt_rng(ck, "a", a);
    afl_ckpt_rng_opt(ck, "lazy", &lazy);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_OK, "%s", err.msg);
    afl_ckpt_rng(ck, "a", b);
    afl_ckpt_rng_opt(ck, "lazy", &lazy_b);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_OK, "%s", err.msg);
    cr_assert_null(lazy_b, "a stream that did not exist at the checkpoint must not exist after");
    for (int i = 0; i < 100; i++)
        cr_assert_eq(afl_rng_below(a, 1000000), afl_rng_below(b, 1000000));
    afl_rng_free(a), afl_rng_free(b), free(dir);
}

Test(ckpt, wrong_tag_size_truncation_corruption_and_leftovers_are_refused)
{
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    state s = sample();
    save(path, &s);
    afl_err err = {0};
    afl_ckpt *ck;
    int x = 0;

    /* a different record sequence */
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_OK);
    afl_ckpt_int(ck, "zz", &x);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "expected record 'zz' but found 'a'") && strstr(err.msg, path),
              "%s", err.msg);

    /* a different size */
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_OK);
    int64_t wide = 0;
    afl_ckpt_i64(ck, "a", &wide);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "record 'a' holds 4 bytes, expected 8"), "%s", err.msg);

    /* records left unread */
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_OK);
    afl_ckpt_int(ck, "a", &x);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "were not read"), "%s", err.msg);

    /* a flipped byte */
    char *text = tu_read(path);
    FILE *f = fopen(path, "r+b");
    fseek(f, 20, SEEK_SET);
    fputc(text[20] ^ 0x40, f);
    fclose(f);
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "corrupt"), "%s", err.msg);
    free(text);

    /* an interrupted writer: no end record */
    save(path, &s);
    f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    cr_assert_eq(truncate(path, size - 5), 0);
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "incomplete") || strstr(err.msg, "corrupt"), "%s", err.msg);

    /* not a checkpoint at all */
    tu_write(path, "[sim]\nseed = 1\nrounds = 100\nand more text to be long enough\n");
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_EINPUT);
    free(s.list), free(dir);
}

Test(ckpt, an_aborted_writer_keeps_the_previous_checkpoint)
{
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    state s = sample();
    save(path, &s);
    afl_ckpt *ck;
    afl_err err = {0};
    cr_assert_eq(afl_ckpt_create(path, &ck, &err), AFL_OK);
    int x = 99;
    afl_ckpt_int(ck, "a", &x);
    afl_ckpt_abort(ck); /* as if killed before the rename */
    state t = {0};
    cr_assert_eq(load(path, &t, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(t.a, 7);
    free(s.list), free(t.list), free(dir);
}

Test(ckpt, an_unwritable_folder_is_a_clear_error)
{
    afl_ckpt *ck;
    afl_err err = {0};
    cr_assert_eq(afl_ckpt_create("/nonexistent-dir/x.ckpt", &ck, &err), AFL_EIO);
    cr_assert(strstr(err.msg, "/nonexistent-dir/x.ckpt"), "%s", err.msg);
}
