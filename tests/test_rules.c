/* tests/test_rules.c - robust aggregation rules (defenses/rules.h) on hand-checkable inputs,
 * against a brute-force reference, and on hostile (NaN / Inf / 1e30) inputs.
 * Sources of the rules: Yin et al. ICML 2018; Blanchard et al. NeurIPS 2017; El Mhamdi et
 * al. ICML 2018; Karimireddy et al. ICML 2021; Cao et al. NDSS 2021. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/rules.h"
#include "sim/rng.h"

static afl_rules_ws *ws;
static afl_err err;

static void setup(void)
{
    ws = afl_rules_ws_create(320);
    cr_assert_not_null(ws);
    memset(&err, 0, sizeof err);
}

static void teardown(void)
{
    afl_rules_ws_free(ws);
    ws = NULL;
}

TestSuite(rules, .init = setup, .fini = teardown);

/* rows of a row-major (n, d) matrix as pointers */
static const float **rows_of(const float *m, int n, size_t d)
{
    static const float *r[512];
    for (int i = 0; i < n; i++)
        r[i] = m + (size_t)i * d;
    return r;
}

static int cmpf(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* reference: sorted column j */
static void column_sorted(const float *m, int n, size_t d, size_t j, float *col)
{
    for (int i = 0; i < n; i++)
        col[i] = m[(size_t)i * d + j];
    qsort(col, (size_t)n, sizeof *col, cmpf);
}

/* ---- mean, median, trimmed mean ---------------------------------------------------------- */

Test(rules, mean_is_the_coordinatewise_average)
{
    float m[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float out[3];
    cr_assert_eq(afl_rule_mean(ws, rows_of(m, 3, 3), 3, 3, out, &err), AFL_OK, "%s", err.msg);
    cr_assert_float_eq(out[0], 4.0f, 1e-6);
    cr_assert_float_eq(out[1], 5.0f, 1e-6);
    cr_assert_float_eq(out[2], 6.0f, 1e-6);
}

Test(rules, median_of_1_2_100_is_2_in_every_coordinate)
{
    float m[] = {1, 100, 2, 2, 1, 100, 100, 2, 1};
    float out[3];
    cr_assert_eq(afl_rule_median(ws, rows_of(m, 3, 3), 3, 3, out, &err), AFL_OK, "%s", err.msg);
    for (int j = 0; j < 3; j++)
        cr_assert_eq(out[j], 2.0f, "coordinate %d: %g", j, out[j]);
}

Test(rules, median_of_even_n_averages_the_two_middle_values)
{
    float m[] = {1, 10, 4, -2, 3, 7, 100, 0};
    float out[2];
    cr_assert_eq(afl_rule_median(ws, rows_of(m, 4, 2), 4, 2, out, &err), AFL_OK);
    cr_assert_float_eq(out[0], 3.5f, 1e-6); /* {1,3,4,100} */
    cr_assert_float_eq(out[1], 3.5f, 1e-6); /* {-2,0,7,10} */
}

Test(rules, trimmed_mean_drops_b_values_from_each_end)
{
    float m[] = {1, 2, 3, 4, 100};
    float out[1];
    cr_assert_eq(afl_rule_trimmed_mean(ws, rows_of(m, 5, 1), 5, 1, 1, out, &err), AFL_OK);
    cr_assert_float_eq(out[0], 3.0f, 1e-6);
    cr_assert_eq(afl_rule_trimmed_mean(ws, rows_of(m, 5, 1), 5, 1, 2, out, &err), AFL_OK);
    cr_assert_float_eq(out[0], 3.0f, 1e-6);
    cr_assert_eq(afl_rule_trimmed_mean(ws, rows_of(m, 5, 1), 5, 1, 0, out, &err), AFL_OK);
    cr_assert_float_eq(out[0], 22.0f, 1e-5);
}

Test(rules, trimmed_mean_needs_2b_below_n)
{
    float m[] = {1, 2, 3, 4};
    float out[1];
    cr_assert_eq(afl_rule_trimmed_mean(ws, rows_of(m, 4, 1), 4, 1, 2, out, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "trim"), "%s", err.msg);
}

/* Every n from 1 to 70 (sorting networks) and a few above 256 (quickselect / qsort path),
 * with a column count that leaves a partial block: median and trimmed mean equal the
 * brute-force sorted-column reference exactly. */
Test(rules, median_and_trimmed_mean_match_a_sorted_reference_for_every_n)
{
    const size_t d = 203;
    int ns[80], nn = 0;
    for (int n = 1; n <= 70; n++)
        ns[nn++] = n;
    ns[nn++] = 257;
    ns[nn++] = 300;
    afl_rng *r = afl_rng_create(5, AFL_RNG_TEST, 0);
    float *m = malloc(300 * d * sizeof *m), *out = malloc(d * sizeof *out), col[300];
    for (int t = 0; t < nn; t++) {
        int n = ns[t], b = n / 3 < (n - 1) / 2 ? n / 3 : (n - 1) / 2;
        for (size_t q = 0; q < (size_t)n * d; q++) /* small integers: many ties */
            m[q] = (float)afl_rng_below(r, 7) - 3.0f + (q % 5 == 0 ? 0.25f : 0.0f);
        const float **x = rows_of(m, n, d);
        cr_assert_eq(afl_rule_median(ws, x, n, d, out, &err), AFL_OK, "%s", err.msg);
        for (size_t j = 0; j < d; j++) {
            column_sorted(m, n, d, j, col);
            float want = (float)(((double)col[(n - 1) / 2] + col[n / 2]) * 0.5);
            cr_assert_eq(out[j], want, "median n=%d j=%zu: %g vs %g", n, j, out[j], want);
        }
        cr_assert_eq(afl_rule_trimmed_mean(ws, x, n, d, b, out, &err), AFL_OK, "%s", err.msg);
        for (size_t j = 0; j < d; j++) {
            column_sorted(m, n, d, j, col);
            double s = 0;
            for (int i = b; i < n - b; i++)
                s += col[i];
            cr_assert_float_eq(out[j], (float)(s / (n - 2 * b)), 1e-5, "trimmed n=%d b=%d", n, b);
        }
    }
    free(m);
    free(out);
    afl_rng_free(r);
}

Test(rules, median_and_trimmed_mean_ignore_f_huge_outliers)
{
    enum { N = 11, F = 5, D = 64 };
    static float m[N * D];
    afl_rng *r = afl_rng_create(1, AFL_RNG_TEST, 1);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            m[i * D + j] = i < F ? ((i + j) % 2 ? 1e20f : -1e20f) * (float)(i + 1)
                                 : (float)afl_rng_uniform(r);
    afl_rng_free(r);
    float out[D];
    cr_assert_eq(afl_rule_median(ws, rows_of(m, N, D), N, D, out, &err), AFL_OK);
    for (int j = 0; j < D; j++)
        cr_assert(out[j] >= 0.0f && out[j] <= 1.0f, "median coordinate %d = %g", j, out[j]);
    cr_assert_eq(afl_rule_trimmed_mean(ws, rows_of(m, N, D), N, D, F, out, &err), AFL_OK);
    for (int j = 0; j < D; j++)
        cr_assert(out[j] >= 0.0f && out[j] <= 1.0f, "trimmed coordinate %d = %g", j, out[j]);
}

Test(rules, median_does_not_depend_on_the_order_of_the_inputs)
{
    enum { N = 9, D = 40 };
    static float m[N * D];
    afl_rng *r = afl_rng_create(2, AFL_RNG_TEST, 0);
    for (int q = 0; q < N * D; q++)
        m[q] = (float)afl_rng_normal(r);
    afl_rng_free(r);
    const float *fwd[N], *rev[N];
    for (int i = 0; i < N; i++)
        fwd[i] = m + i * D, rev[i] = m + (N - 1 - i) * D;
    float a[D], b[D];
    cr_assert_eq(afl_rule_trimmed_mean(ws, fwd, N, D, 2, a, &err), AFL_OK);
    cr_assert_eq(afl_rule_trimmed_mean(ws, rev, N, D, 2, b, &err), AFL_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    cr_assert_eq(afl_rule_median(ws, fwd, N, D, a, &err), AFL_OK);
    cr_assert_eq(afl_rule_median(ws, rev, N, D, b, &err), AFL_OK);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
}

/* ---- Krum, Multi-Krum, Bulyan -------------------------------------------------------------- */

Test(rules, krum_picks_the_vector_at_the_centre_of_the_cluster)
{
    /* 2-d: a cluster around (0,0), its centre (0,0) at index 2, and one far point */
    float m[] = {1, 0, -1, 0, 0, 0, 0, 1, 0, -1, 50, 50};
    float out[2];
    int k = -1;
    double sc[6];
    cr_assert_eq(afl_rule_krum(ws, rows_of(m, 6, 2), 6, 2, 1, &k, sc, out, &err), AFL_OK, "%s",
                 err.msg);
    cr_assert_eq(k, 2);
    cr_assert_eq(out[0], 0.0f);
    cr_assert_eq(out[1], 0.0f);
    /* n - f - 2 = 3 nearest: the centre is at distance 1 from four points */
    cr_assert_float_eq(sc[2], 3.0, 1e-12);
    cr_assert_float_eq(sc[0], 1.0 + 2.0 + 2.0, 1e-12);
}

Test(rules, krum_needs_n_at_least_2f_plus_3)
{
    float m[] = {0, 1, 2, 3, 4, 5};
    float out[1];
    cr_assert_eq(afl_rule_krum(ws, rows_of(m, 6, 1), 6, 1, 2, NULL, NULL, out, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "2f + 3"), "%s", err.msg);
    cr_assert_eq(afl_rule_krum(ws, rows_of(m, 5, 1), 5, 1, 1, NULL, NULL, out, &err), AFL_OK);
}

Test(rules, krum_never_picks_an_outlier_when_n_exceeds_2f_plus_2)
{
    enum { D = 20 };
    afl_rng *r = afl_rng_create(3, AFL_RNG_TEST, 0);
    static float m[40 * D];
    float out[D];
    for (int trial = 0; trial < 200; trial++) {
        int f = 1 + (int)afl_rng_below(r, 8), n = 2 * f + 3 + (int)afl_rng_below(r, 6);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < D; j++)
                m[i * D + j] = (float)afl_rng_normal(r) +
                               (i < f ? 30.0f * (float)(1 + trial % 4) * (j % 2 ? 1 : -1) : 0);
        int k = -1;
        cr_assert_eq(afl_rule_krum(ws, rows_of(m, n, D), n, D, f, &k, NULL, out, &err), AFL_OK);
        cr_assert_geq(k, f, "trial %d (n = %d, f = %d) picked outlier %d", trial, n, f, k);
    }
    afl_rng_free(r);
}

Test(rules, multikrum_averages_the_m_best_scored_vectors)
{
    /* 1-d values 0, 1, 2, 3, 100 with f = 1 (2 nearest others):
     * scores 0:1+4=5, 1:1+1=2, 2:1+1=2, 3:1+4=5, 100:97^2+98^2 */
    float m[] = {0, 1, 2, 3, 100};
    float out[1];
    int sel[3];
    cr_assert_eq(afl_rule_multikrum(ws, rows_of(m, 5, 1), 5, 1, 1, 3, sel, out, &err), AFL_OK,
                 "%s", err.msg);
    cr_assert_eq(sel[0], 1);
    cr_assert_eq(sel[1], 2);
    cr_assert_eq(sel[2], 0); /* tie 0 / 3 broken by the lower index */
    cr_assert_float_eq(out[0], 1.0f, 1e-6);
    cr_assert_eq(afl_rule_multikrum(ws, rows_of(m, 5, 1), 5, 1, 1, 4, NULL, out, &err), AFL_OK);
    cr_assert_float_eq(out[0], 1.5f, 1e-6);
}

Test(rules, bulyan_selects_by_iterated_krum_then_averages_beta_values_nearest_the_median)
{
    /* 1-d {0,1,2,3,4,5,100}, f = 1: theta = 5 picks, worked out by hand in
     * docs/defenses-rules.md: 2, 3, 1, 4, 0 -> values {0..4}, median 2, beta = 3: {1,2,3} */
    float m[] = {0, 1, 2, 3, 4, 5, 100};
    float out[1];
    int sel[5];
    cr_assert_eq(afl_rule_bulyan(ws, rows_of(m, 7, 1), 7, 1, 1, sel, out, &err), AFL_OK, "%s",
                 err.msg);
    int want[5] = {2, 3, 1, 4, 0};
    for (int t = 0; t < 5; t++)
        cr_assert_eq(sel[t], want[t], "pick %d: %d", t, sel[t]);
    cr_assert_float_eq(out[0], 2.0f, 1e-6);
}

Test(rules, bulyan_coordinate_step_averages_values_closest_to_the_median)
{
    /* n = 7, f = 1, all vectors close so that the picks do not matter for coordinate 1:
     * coordinate 1 of the 5 picks decides; check against the rule applied to the picks */
    float m[] = {0, 0.0f, 0.1f, 9.0f, 0.2f, -3.0f, 0.3f, 1.0f, 0.4f, 1.5f, 0.5f, 2.0f, 40, 0};
    float out[2];
    int sel[5];
    cr_assert_eq(afl_rule_bulyan(ws, rows_of(m, 7, 2), 7, 2, 1, sel, out, &err), AFL_OK);
    float v[5];
    for (int t = 0; t < 5; t++) {
        cr_assert_neq(sel[t], 6, "the outlier was picked");
        v[t] = m[sel[t] * 2 + 1];
    }
    qsort(v, 5, sizeof *v, cmpf);
    /* beta = 3 values closest to the median v[2]: a window of 3 around it */
    double med = v[2], best = INFINITY, want = 0;
    for (int l = 0; l + 3 <= 5; l++) {
        double spread = fmax(fabs(v[l] - med), fabs(v[l + 2] - med));
        if (l <= 2 && l + 2 >= 2 && spread < best)
            best = spread, want = (v[l] + v[l + 1] + v[l + 2]) / 3.0;
    }
    cr_assert_float_eq(out[1], (float)want, 1e-6);
}

Test(rules, bulyan_needs_n_at_least_4f_plus_3)
{
    float m[10] = {0};
    float out[1];
    cr_assert_eq(afl_rule_bulyan(ws, rows_of(m, 10, 1), 10, 1, 2, NULL, out, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "4f + 3"), "%s", err.msg);
    cr_assert_eq(afl_rule_bulyan(ws, rows_of(m, 7, 1), 7, 1, 1, NULL, out, &err), AFL_OK);
}

/* ---- centered clipping ----------------------------------------------------------------------- */

Test(rules, centered_clipping_clips_each_difference_to_tau)
{
    float m[] = {3, 4, 0, 0.5f};
    float v[2] = {0, 0};
    cr_assert_eq(afl_rule_centered_clipping(ws, rows_of(m, 2, 2), 2, 2, 1.0, 1, v, &err),
                 AFL_OK);
    /* (3,4) has norm 5 -> (0.6, 0.8); (0, 0.5) is inside the ball */
    cr_assert_float_eq(v[0], 0.3f, 1e-6);
    cr_assert_float_eq(v[1], 0.65f, 1e-6);
    /* a second iteration from there: z1 = (2.7, 3.35), z2 = (-0.3, -0.15) */
    cr_assert_eq(afl_rule_centered_clipping(ws, rows_of(m, 2, 2), 2, 2, 1.0, 1, v, &err),
                 AFL_OK);
    double n1 = sqrt(2.7 * 2.7 + 3.35 * 3.35);
    cr_assert_float_eq(v[0], (float)(0.3 + (2.7 / n1 - 0.3) / 2), 1e-6);
    cr_assert_float_eq(v[1], (float)(0.65 + (3.35 / n1 - 0.15) / 2), 1e-6);
}

Test(rules, centered_clipping_with_large_tau_is_the_mean)
{
    float m[] = {1, 2, 3, 4, 5, 6};
    float v[2] = {7, -7};
    cr_assert_eq(afl_rule_centered_clipping(ws, rows_of(m, 3, 2), 3, 2, 100.0, 1, v, &err),
                 AFL_OK);
    cr_assert_float_eq(v[0], 3.0f, 1e-5);
    cr_assert_float_eq(v[1], 4.0f, 1e-5);
}

/* ---- FLTrust ---------------------------------------------------------------------------------- */

Test(rules, fltrust_weights_by_relu_cosine_and_rescales_to_the_server_norm)
{
    float g0[] = {1, 0};
    float m[] = {2, 0, 0, 3, -1, 0, 1, 1};
    float out[2];
    double ts[4], cs[4], tot = -1;
    cr_assert_eq(afl_rule_fltrust(ws, rows_of(m, 4, 2), 4, 2, g0, ts, cs, &tot, out, &err),
                 AFL_OK);
    double h = sqrt(0.5);
    cr_assert_float_eq(ts[0], 1.0, 1e-12);
    cr_assert_float_eq(ts[1], 0.0, 1e-12);
    cr_assert_float_eq(ts[2], 0.0, 1e-12);
    cr_assert_float_eq(cs[2], -1.0, 1e-12);
    cr_assert_float_eq(ts[3], h, 1e-12);
    cr_assert_float_eq(tot, 1.0 + h, 1e-12);
    /* (1*(1,0) + h*(h,h)) / (1 + h) */
    cr_assert_float_eq(out[0], (float)(1.5 / (1 + h)), 1e-6);
    cr_assert_float_eq(out[1], (float)(0.5 / (1 + h)), 1e-6);
}

Test(rules, fltrust_with_all_trust_zero_gives_a_zero_update)
{
    float g0[] = {1, 0};
    float m[] = {-2, 0, 0, 3, 0, 0};
    float out[2] = {9, 9};
    double tot = -1;
    cr_assert_eq(afl_rule_fltrust(ws, rows_of(m, 3, 2), 3, 2, g0, NULL, NULL, &tot, out, &err),
                 AFL_OK);
    cr_assert_eq(tot, 0.0);
    cr_assert_eq(out[0], 0.0f);
    cr_assert_eq(out[1], 0.0f);
    float z[] = {0, 0}; /* a zero server update: no direction to trust */
    cr_assert_eq(afl_rule_fltrust(ws, rows_of(m, 3, 2), 3, 2, z, NULL, NULL, &tot, out, &err),
                 AFL_OK);
    cr_assert_eq(tot, 0.0);
    cr_assert_eq(out[0], 0.0f);
}

/* ---- hostile inputs ----------------------------------------------------------------------------- */

Test(rules, all_finite_flags_nan_and_inf_but_not_huge_values)
{
    float a[19] = {0};
    cr_assert(afl_rules_all_finite(a, 19));
    a[17] = 1e30f;
    a[3] = -3e38f;
    cr_assert(afl_rules_all_finite(a, 19));
    a[18] = NAN;
    cr_assert_not(afl_rules_all_finite(a, 19));
    a[18] = -INFINITY;
    cr_assert_not(afl_rules_all_finite(a, 19));
}

Test(rules, median_treats_nan_as_plus_infinity_and_ignores_a_minority_of_them)
{
    float m[] = {1, NAN, 2, INFINITY, 5, 3, -INFINITY, 4, 0};
    float out[3];
    cr_assert_eq(afl_rule_median(ws, rows_of(m, 3, 3), 3, 3, out, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(out[0], 1.0f); /* {1, Inf, -Inf} */
    cr_assert_eq(out[1], 5.0f); /* {NaN, 5, 4}: NaN sorts last */
    cr_assert_eq(out[2], 2.0f); /* {2, 3, 0} */
    float h[] = {NAN, INFINITY, 7};
    cr_assert_eq(afl_rule_median(ws, rows_of(h, 3, 1), 3, 1, out, &err), AFL_ENUMERIC);
    cr_assert_eq(out[0], 0.0f); /* a majority of non-finite values: an error, not a NaN */
}

Test(rules, mean_of_a_nan_input_is_an_error_and_a_zero_output)
{
    float m[] = {1, 2, NAN, 4};
    float out[2] = {5, 5};
    cr_assert_eq(afl_rule_mean(ws, rows_of(m, 2, 2), 2, 2, out, &err), AFL_ENUMERIC);
    cr_assert_eq(out[0], 0.0f);
    cr_assert_eq(out[1], 0.0f);
    cr_assert(strstr(err.msg, "not finite"), "%s", err.msg);
}

/* Every rule, fed NaN, +-Inf and 1e30 vectors among benign ones: no crash, and either a
 * finite output or AFL_ENUMERIC with a zero output; never a NaN. */
Test(rules, every_rule_survives_nan_inf_and_huge_inputs)
{
    enum { N = 11, D = 33 };
    static float m[N * D];
    float out[D], v[D], g0[D];
    afl_rng *r = afl_rng_create(4, AFL_RNG_TEST, 0);
    for (int pattern = 0; pattern < 4; pattern++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < D; j++) {
                float x = (float)afl_rng_normal(r);
                if (i == 0)
                    x = pattern == 0 ? NAN : pattern == 1 ? INFINITY : pattern == 2 ? 1e30f : -3e38f;
                if (i == 1 && (j % 3 == 0))
                    x = pattern == 0 ? -INFINITY : NAN;
                if (i == 2)
                    x = 3e38f;
                m[i * D + j] = x;
            }
        for (int j = 0; j < D; j++)
            g0[j] = (float)afl_rng_normal(r);
        const float **x = rows_of(m, N, D);
        for (int rule = 0; rule < 8; rule++) {
            int rc;
            memset(v, 0, sizeof v);
            switch (rule) {
            case 0: rc = afl_rule_mean(ws, x, N, D, out, &err); break;
            case 1: rc = afl_rule_median(ws, x, N, D, out, &err); break;
            case 2: rc = afl_rule_trimmed_mean(ws, x, N, D, 3, out, &err); break;
            case 3: rc = afl_rule_krum(ws, x, N, D, 3, NULL, NULL, out, &err); break;
            case 4: rc = afl_rule_multikrum(ws, x, N, D, 3, 5, NULL, out, &err); break;
            case 5: rc = afl_rule_bulyan(ws, x, N, D, 2, NULL, out, &err); break;
            case 6:
                rc = afl_rule_centered_clipping(ws, x, N, D, 10.0, 3, v, &err);
                memcpy(out, v, sizeof v);
                break;
            default: rc = afl_rule_fltrust(ws, x, N, D, g0, NULL, NULL, NULL, out, &err); break;
            }
            cr_assert(rc == AFL_OK || rc == AFL_ENUMERIC, "rule %d pattern %d: rc %d", rule,
                      pattern, rc);
            for (int j = 0; j < D; j++) {
                cr_assert(isfinite(out[j]), "rule %d pattern %d: out[%d] = %g", rule, pattern, j,
                          out[j]);
                if (rc == AFL_ENUMERIC)
                    cr_assert_eq(out[j], 0.0f);
            }
            /* the robust rules must not be fooled by three bad inputs out of eleven */
            if (rule >= 1 && rule <= 5)
                cr_assert_eq(rc, AFL_OK, "robust rule %d pattern %d: %s", rule, pattern, err.msg);
        }
    }
    afl_rng_free(r);
}

Test(rules, krum_gives_a_nan_vector_an_infinite_score)
{
    float m[] = {0, 0, 1, 0, 0, 1, NAN, 0, 1, 1};
    double sc[5];
    float out[2];
    int k;
    cr_assert_eq(afl_rule_krum(ws, rows_of(m, 5, 2), 5, 2, 1, &k, sc, out, &err), AFL_OK);
    cr_assert(isinf(sc[3]) && sc[3] > 0);
    cr_assert_neq(k, 3);
}

Test(rules, too_many_inputs_for_the_work_space_is_an_error)
{
    afl_rules_ws *small = afl_rules_ws_create(3);
    float m[4] = {1, 2, 3, 4}, out[1];
    cr_assert_eq(afl_rule_median(small, rows_of(m, 4, 1), 4, 1, out, &err), AFL_EINTERNAL);
    afl_rules_ws_free(small);
}

Test(rules, rule_names_round_trip_and_check_names_the_key)
{
    for (int k = AFL_RULE_MEAN; k <= AFL_RULE_CENTERED_CLIPPING; k++)
        cr_assert_eq(afl_rule_parse(afl_rule_name((afl_rule_kind)k)), k);
    cr_assert_eq(afl_rule_parse("krumm"), -1);
    afl_rule_params p = {1, 4, 0, 100, 1, NULL};
    cr_assert_eq(afl_rule_check(AFL_RULE_KRUM, &p, 10, "defense.", &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "defense.f = 4"), "%s", err.msg);
    p.f = 3;
    cr_assert_eq(afl_rule_check(AFL_RULE_KRUM, &p, 10, "defense.", &err), AFL_OK);
    cr_assert_eq(afl_rule_check(AFL_RULE_BULYAN, &p, 10, "defense.", &err), AFL_EINPUT);
    p.trim = 5;
    cr_assert_eq(afl_rule_check(AFL_RULE_TRIMMED_MEAN, &p, 10, "defense.", &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "defense.trim"), "%s", err.msg);
}
