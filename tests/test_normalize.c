/* tests/test_normalize.c - normalisation on hand-checkable sets; test data use train's stats. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "data/dataset.h"

#define EPS 1e-6

/* Tabular set: n rows of `dim` features from vals. */
static void tab(afl_dataset *d, int n, int dim, const float *vals)
{
    afl_err err = {0};
    cr_assert_eq(afl_dataset_alloc(d, n, 1, 1, dim, &err), AFL_OK);
    memcpy(d->x, vals, (size_t)n * (size_t)dim * sizeof(float));
    d->n_classes = 1;
}

/* Image set: n images of c channels of 1x2 pixels. */
static void img(afl_dataset *d, int n, int c, const float *vals)
{
    afl_err err = {0};
    cr_assert_eq(afl_dataset_alloc(d, n, c, 1, 2, &err), AFL_OK);
    memcpy(d->x, vals, (size_t)n * (size_t)c * 2 * sizeof(float));
    d->n_classes = 1;
    d->is_image = 1;
}

static void expect_values(const afl_dataset *d, const double *want)
{
    for (int i = 0; i < d->n * d->dim; i++)
        cr_assert_float_eq(d->x[i], want[i], EPS, "value %d is %f, expected %f", i, d->x[i],
                           want[i]);
}

/* Train: feature 0 = 0,2,4; feature 1 = 10,20,30; feature 2 constant 5. Test: 6, 0, 7. */
static const float TRAIN[9] = {0, 10, 5, 2, 20, 5, 4, 30, 5};
static const float TEST[3] = {6, 0, 7};

Test(normalize, tabular_unit_maps_train_min_max_to_0_1_and_constants_to_0)
{
    afl_dataset tr, te;
    tab(&tr, 3, 3, TRAIN);
    tab(&te, 1, 3, TEST);
    afl_norm_stats st;
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_UNIT, &tr, &te, &st, &err), AFL_OK, "%s", err.msg);
    expect_values(&tr, (const double[]){0, 0, 0, 0.5, 0.5, 0, 1, 1, 0});
    /* test uses train's min and range: (6-0)/4, (0-10)/20, (7-5)/1 */
    expect_values(&te, (const double[]){1.5, -0.5, 2.0});
    cr_assert_eq(st.n, 3);
    cr_assert_float_eq(st.mean[1], 10.0, EPS);
    cr_assert_float_eq(st.scale[1], 20.0, EPS);
    cr_assert_float_eq(st.scale[2], 1.0, EPS);
    afl_norm_stats_free(&st);
    cr_assert_null(st.mean);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(normalize, tabular_standardize_uses_population_std_and_only_centres_constants)
{
    afl_dataset tr, te;
    tab(&tr, 3, 3, TRAIN);
    tab(&te, 1, 3, TEST);
    afl_norm_stats st;
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_STANDARDIZE, &tr, &te, &st, &err), AFL_OK, "%s", err.msg);
    double s0 = sqrt(8.0 / 3.0), s1 = sqrt(200.0 / 3.0);
    expect_values(&tr, (const double[]){-2 / s0, -10 / s1, 0, 0, 0, 0, 2 / s0, 10 / s1, 0});
    expect_values(&te, (const double[]){4 / s0, -20 / s1, 2.0});
    cr_assert_float_eq(st.mean[0], 2.0, EPS);
    cr_assert_float_eq(st.scale[0], s0, EPS);
    cr_assert_float_eq(st.mean[2], 5.0, EPS);
    cr_assert_float_eq(st.scale[2], 1.0, EPS);
    afl_norm_stats_free(&st);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

/* Two 2-channel 1x2 images: channel 0 pixels 0,255 | 255,0; channel 1 pixels 51,51 | 102,102. */
static const float ITRAIN[8] = {0, 255, 51, 51, 255, 0, 102, 102};
static const float ITEST[4] = {51, 255, 153, 0};

Test(normalize, image_unit_divides_by_255)
{
    afl_dataset tr, te;
    img(&tr, 2, 2, ITRAIN);
    img(&te, 1, 2, ITEST);
    afl_norm_stats st;
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_UNIT, &tr, &te, &st, &err), AFL_OK);
    expect_values(&tr, (const double[]){0, 1, 0.2, 0.2, 1, 0, 0.4, 0.4});
    expect_values(&te, (const double[]){0.2, 1, 0.6, 0});
    cr_assert_eq(st.n, 2);
    cr_assert_float_eq(st.mean[0], 0.0, EPS);
    cr_assert_float_eq(st.scale[0], 1.0, EPS);
    afl_norm_stats_free(&st);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(normalize, image_standardize_is_per_channel_with_train_statistics)
{
    /* channel 0: x/255 = 0,1,1,0 -> mean 0.5, std 0.5; channel 1: 0.2,0.2,0.4,0.4 -> 0.3, 0.1 */
    afl_dataset tr, te;
    img(&tr, 2, 2, ITRAIN);
    img(&te, 1, 2, ITEST);
    afl_norm_stats st;
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_STANDARDIZE, &tr, &te, &st, &err), AFL_OK);
    cr_assert_float_eq(st.mean[0], 0.5, EPS);
    cr_assert_float_eq(st.scale[0], 0.5, EPS);
    cr_assert_float_eq(st.mean[1], 0.3, EPS);
    cr_assert_float_eq(st.scale[1], 0.1, EPS);
    expect_values(&tr, (const double[]){-1, 1, -1, -1, 1, -1, 1, 1});
    expect_values(&te, (const double[]){-0.6, 1, 3, -3});
    afl_norm_stats_free(&st);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

Test(normalize, none_leaves_data_alone_and_reports_no_statistics)
{
    afl_dataset tr;
    tab(&tr, 3, 3, TRAIN);
    afl_norm_stats st;
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_NONE, &tr, NULL, &st, &err), AFL_OK);
    cr_assert_eq(st.n, 0);
    cr_assert_null(st.mean);
    cr_assert(memcmp(tr.x, TRAIN, sizeof TRAIN) == 0);
    afl_dataset_free(&tr);
}

Test(normalize, stats_can_be_applied_to_a_third_set)
{
    afl_dataset tr, other;
    tab(&tr, 3, 3, TRAIN);
    tab(&other, 1, 3, TEST);
    afl_norm_stats st;
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_UNIT, &tr, NULL, &st, &err), AFL_OK);
    cr_assert_eq(afl_norm_apply(&st, &other, &err), AFL_OK);
    expect_values(&other, (const double[]){1.5, -0.5, 2.0});
    afl_dataset bad;
    tab(&bad, 1, 1, TEST);
    cr_assert_eq(afl_norm_apply(&st, &bad, &err), AFL_EINPUT);
    afl_norm_stats_free(&st);
    afl_dataset_free(&tr);
    afl_dataset_free(&other);
    afl_dataset_free(&bad);
}

Test(normalize, mismatched_test_shape_is_an_input_error)
{
    afl_dataset tr, te;
    tab(&tr, 3, 3, TRAIN);
    tab(&te, 3, 1, TRAIN);
    afl_err err = {0};
    cr_assert_eq(afl_normalize(AFL_NORM_UNIT, &tr, &te, NULL, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "differ"), "%s", err.msg);
    cr_assert(memcmp(tr.x, TRAIN, sizeof TRAIN) == 0, "train changed on error");
    cr_assert_eq(afl_normalize((afl_norm)7, &tr, NULL, NULL, &err), AFL_EINPUT);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}

/* afl_dataset_compact: one byte per value with the exact floats in a per-channel table; rows
 * and gathers read back bit for bit; a channel with more than 256 values stays float. */
Test(normalize, compact_storage_reads_back_bit_for_bit)
{
    afl_dataset d, ref, g;
    afl_err err = {0};
    cr_assert_eq(afl_dataset_alloc(&d, 50, 2, 3, 4, &err), AFL_OK);
    cr_assert_eq(afl_dataset_alloc(&ref, 50, 2, 3, 4, &err), AFL_OK);
    for (int i = 0; i < 50 * 24; i++) {
        int ch = (i % 24) / 12;
        /* channel 0: 256 levels standardised; channel 1: 7 levels incl. -0.0 and NaN */
        float v = ch == 0 ? ((float)((i * 37) % 256) / 255.0f - 0.2860f) / 0.3530f
                          : (float[]){0.0f, -0.0f, 1.5f, NAN, -3.25f, 1e-30f, 7.0f}[i % 7];
        d.x[i] = ref.x[i] = v;
    }
    for (int i = 0; i < 50; i++)
        d.y[i] = ref.y[i] = i % 3;
    d.n_classes = ref.n_classes = 3;
    cr_assert_eq(afl_dataset_compact(&d), 1);
    cr_assert_null(d.x);
    float buf[24];
    for (int i = 0; i < 50; i++)
        cr_assert(memcmp(afl_dataset_row(&d, i, buf), ref.x + i * 24, sizeof buf) == 0,
                  "row %d differs", i);
    int idx[3] = {49, 0, 17};
    cr_assert_eq(afl_dataset_gather(&d, idx, 3, &g, &err), AFL_OK, "%s", err.msg);
    cr_assert(memcmp(g.x + 24, ref.x, 24 * sizeof(float)) == 0);
    cr_assert(memcmp(g.x + 48, ref.x + 17 * 24, 24 * sizeof(float)) == 0);
    cr_assert_eq(g.y[0], ref.y[49]);
    afl_dataset_free(&g);
    afl_dataset_free(&d);
    /* 257 distinct values in one channel: left as float */
    cr_assert_eq(afl_dataset_alloc(&d, 300, 1, 1, 1, &err), AFL_OK);
    for (int i = 0; i < 300; i++)
        d.x[i] = (float)i;
    cr_assert_eq(afl_dataset_compact(&d), 0);
    cr_assert_not_null(d.x);
    cr_assert_eq(d.x[299], 299.0f);
    afl_dataset_free(&d);
    afl_dataset_free(&ref);
}
