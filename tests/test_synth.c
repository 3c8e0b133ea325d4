/* tests/test_synth.c - synthetic Gaussian mixtures, dataset subsets and gathering. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "data/dataset.h"

static void gen(uint64_t seed, int C, int dim, int ntr, int nte, double sep, afl_dataset *tr,
                afl_dataset *te)
{
    afl_rng *r = afl_rng_create(seed, AFL_RNG_DATA, 0);
    afl_err err = {0};
    cr_assert_eq(afl_synth_generate(C, dim, ntr, nte, sep, r, tr, te, &err), AFL_OK, "%s", err.msg);
    afl_rng_free(r);
}

static int same_data(const afl_dataset *a, const afl_dataset *b)
{
    return a->n == b->n && a->dim == b->dim &&
           memcmp(a->x, b->x, (size_t)a->n * (size_t)a->dim * sizeof(float)) == 0 &&
           memcmp(a->y, b->y, (size_t)a->n * sizeof(int32_t)) == 0;
}

Test(synth, shape_and_kind_are_tabular_with_the_requested_sizes)
{
    afl_dataset tr, te;
    gen(1, 4, 7, 100, 30, 2.0, &tr, &te);
    cr_assert_eq(tr.n, 100);
    cr_assert_eq(te.n, 30);
    cr_assert_eq(tr.c, 1);
    cr_assert_eq(tr.h, 1);
    cr_assert_eq(tr.w, 7);
    cr_assert_eq(tr.dim, 7);
    cr_assert_eq(te.dim, 7);
    cr_assert_eq(tr.n_classes, 4);
    cr_assert_eq(te.n_classes, 4);
    cr_assert_eq(tr.is_image, 0);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(synth, training_labels_are_balanced_and_shuffled)
{
    afl_dataset tr, te;
    gen(2, 5, 3, 1000, 10, 1.0, &tr, &te);
    int count[5] = {0}, in_order = 1;
    for (int i = 0; i < tr.n; i++) {
        count[tr.y[i]]++;
        in_order &= tr.y[i] == i % 5;
    }
    for (int k = 0; k < 5; k++)
        cr_assert_eq(count[k], 200);
    cr_assert_not(in_order, "labels were not shuffled");
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(synth, same_seed_gives_identical_data_and_another_seed_differs)
{
    afl_dataset a, at, b, bt, c, ct;
    gen(42, 3, 5, 200, 50, 1.5, &a, &at);
    gen(42, 3, 5, 200, 50, 1.5, &b, &bt);
    gen(43, 3, 5, 200, 50, 1.5, &c, &ct);
    cr_assert(same_data(&a, &b));
    cr_assert(same_data(&at, &bt));
    cr_assert_not(same_data(&a, &c));
    afl_dataset_free(&a);
    afl_dataset_free(&at);
    afl_dataset_free(&b);
    afl_dataset_free(&bt);
    afl_dataset_free(&c);
    afl_dataset_free(&ct);
}

Test(synth, zero_separation_gives_standard_normal_features)
{
    /* 20000 x 2 values of N(0,1): mean within 0.03 (about 4 sd), variance within 0.05. */
    afl_dataset tr, te;
    gen(3, 2, 2, 20000, 0, 0.0, &tr, &te);
    cr_assert_eq(te.n, 0);
    double s = 0, ss = 0;
    long m = (long)tr.n * tr.dim;
    for (long i = 0; i < m; i++) {
        s += tr.x[i];
        ss += (double)tr.x[i] * tr.x[i];
    }
    double mean = s / (double)m, var = ss / (double)m - mean * mean;
    cr_assert(fabs(mean) < 0.03, "mean %f", mean);
    cr_assert(fabs(var - 1.0) < 0.05, "variance %f", var);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(synth, well_separated_classes_are_recoverable_by_nearest_centroid)
{
    afl_dataset tr, te;
    enum { C = 4, D = 10 };
    gen(4, C, D, 2000, 1000, 3.0, &tr, &te);
    double cen[C][D] = {{0}};
    int cnt[C] = {0};
    for (int i = 0; i < tr.n; i++) {
        cnt[tr.y[i]]++;
        for (int j = 0; j < D; j++)
            cen[tr.y[i]][j] += tr.x[i * D + j];
    }
    for (int k = 0; k < C; k++)
        for (int j = 0; j < D; j++)
            cen[k][j] /= cnt[k];
    int right = 0;
    for (int i = 0; i < te.n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int k = 0; k < C; k++) {
            double dd = 0;
            for (int j = 0; j < D; j++) {
                double t = te.x[i * D + j] - cen[k][j];
                dd += t * t;
            }
            if (dd < bd) {
                bd = dd;
                best = k;
            }
        }
        right += best == te.y[i];
    }
    cr_assert(right > 950, "nearest-centroid test accuracy %d/1000", right);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(synth, invalid_arguments_are_input_errors)
{
    afl_rng *r = afl_rng_create(1, AFL_RNG_TEST, 0);
    afl_dataset tr, te;
    afl_err err = {0};
    cr_assert_eq(afl_synth_generate(0, 3, 10, 10, 1, r, &tr, &te, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "classes"), "%s", err.msg);
    cr_assert_eq(afl_synth_generate(2, 0, 10, 10, 1, r, &tr, &te, &err), AFL_EINPUT);
    cr_assert_eq(afl_synth_generate(2, 3, 0, 10, 1, r, &tr, &te, &err), AFL_EINPUT);
    cr_assert_eq(afl_synth_generate(2, 3, 10, 10, NAN, r, &tr, &te, &err), AFL_EINPUT);
    cr_assert_eq(afl_synth_generate(2, 1 << 20, 1 << 20, 10, 1, r, &tr, &te, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "2^31"), "%s", err.msg);
    cr_assert_null(tr.x);
    afl_rng_free(r);
}

Test(subset, keeps_n_distinct_examples_in_original_order)
{
    afl_dataset d, te, s;
    gen(5, 3, 2, 500, 0, 1.0, &d, &te);
    for (int i = 0; i < d.n; i++)
        d.x[i * 2] = (float)i; /* tag each example with its index */
    afl_rng *r = afl_rng_create(9, AFL_RNG_DATA, 1);
    afl_err err = {0};
    cr_assert_eq(afl_dataset_subset(&d, 100, r, &s, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(s.n, 100);
    cr_assert_eq(s.dim, 2);
    cr_assert_eq(s.n_classes, 3);
    for (int k = 0; k < s.n; k++) {
        int i = (int)s.x[k * 2];
        cr_assert(k == 0 || i > (int)s.x[(k - 1) * 2], "order not kept at %d", k);
        cr_assert_eq(s.y[k], d.y[i]);
        cr_assert_eq(s.x[k * 2 + 1], d.x[i * 2 + 1]);
    }
    afl_dataset_free(&s);
    afl_rng_free(r);
    afl_dataset_free(&d);
    afl_dataset_free(&te);
}

Test(subset, picks_every_example_equally_often)
{
    /* 4000 subsets of 5 out of 10: each example expected 2000 times (sd ~32); allow +-200. */
    afl_dataset d;
    afl_err err = {0};
    cr_assert_eq(afl_dataset_alloc(&d, 10, 1, 1, 1, &err), AFL_OK);
    for (int i = 0; i < 10; i++)
        d.x[i] = (float)i;
    d.n_classes = 1;
    afl_rng *r = afl_rng_create(11, AFL_RNG_TEST, 0);
    int hits[10] = {0};
    for (int t = 0; t < 4000; t++) {
        afl_dataset s;
        cr_assert_eq(afl_dataset_subset(&d, 5, r, &s, &err), AFL_OK);
        for (int k = 0; k < 5; k++)
            hits[(int)s.x[k]]++;
        afl_dataset_free(&s);
    }
    for (int i = 0; i < 10; i++)
        cr_assert(hits[i] > 1800 && hits[i] < 2200, "example %d chosen %d times", i, hits[i]);
    afl_rng_free(r);
    afl_dataset_free(&d);
}

Test(subset, size_at_least_n_copies_everything)
{
    afl_dataset d, te, s;
    gen(6, 2, 3, 50, 0, 1.0, &d, &te);
    afl_err err = {0};
    cr_assert_eq(afl_dataset_subset(&d, 1000, NULL, &s, &err), AFL_OK, "%s", err.msg);
    cr_assert(same_data(&d, &s));
    afl_dataset_free(&s);
    cr_assert_eq(afl_dataset_subset(&d, 0, NULL, &s, &err), AFL_EINPUT);
    afl_dataset_free(&d);
    afl_dataset_free(&te);
}

Test(subset, gather_copies_the_listed_examples)
{
    afl_dataset d, te, g;
    gen(7, 2, 3, 20, 0, 1.0, &d, &te);
    int idx[3] = {5, 0, 5};
    afl_err err = {0};
    cr_assert_eq(afl_dataset_gather(&d, idx, 3, &g, &err), AFL_OK);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(g.y[k], d.y[idx[k]]);
        cr_assert(memcmp(g.x + 3 * k, d.x + 3 * idx[k], 3 * sizeof(float)) == 0);
    }
    afl_dataset_free(&g);
    idx[1] = 20;
    cr_assert_neq(afl_dataset_gather(&d, idx, 3, &g, &err), AFL_OK);
    afl_dataset_free(&d);
    afl_dataset_free(&te);
}
