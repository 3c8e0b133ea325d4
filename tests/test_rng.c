/* tests/test_rng.c - properties of the random streams (sim/rng.h).
 *
 * Statistical checks use fixed seeds, so they are deterministic; their bounds
 * are set so that a correct generator would fail them with probability about
 * 1e-6 (chi-square quantile from GSL, or 5 standard errors).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>

#include "sim/rng.h"

static afl_rng *must_create(uint64_t master, uint64_t purpose, uint64_t index)
{
    afl_rng *r = afl_rng_create(master, purpose, index);
    cr_assert_not_null(r);
    return r;
}

/* Number of positions among the first n draws where two streams agree. */
static int agreements(afl_rng *a, afl_rng *b, int n)
{
    int same = 0;
    for (int i = 0; i < n; i++)
        same += gsl_rng_get(a) == gsl_rng_get(b);
    return same;
}

Test(rng, same_master_purpose_index_gives_identical_sequences)
{
    afl_rng *a = must_create(42, AFL_RNG_DELAY, 7);
    afl_rng *b = must_create(42, AFL_RNG_DELAY, 7);
    for (int i = 0; i < 10000; i++) {
        cr_assert_eq(afl_rng_below(a, 1000003), afl_rng_below(b, 1000003));
        cr_assert_eq(afl_rng_uniform(a), afl_rng_uniform(b));
        cr_assert_eq(afl_rng_normal(a), afl_rng_normal(b));
    }
    afl_rng_free(a);
    afl_rng_free(b);
}

Test(rng, different_purpose_index_or_master_gives_different_sequences)
{
    afl_rng *base = must_create(42, AFL_RNG_DELAY, 7);
    afl_rng *others[] = {must_create(42, AFL_RNG_BATCH, 7), must_create(42, AFL_RNG_DELAY, 8),
                         must_create(43, AFL_RNG_DELAY, 7), must_create(42, AFL_RNG_DELAY, 0)};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++) {
        gsl_rng_set(base, (unsigned long)afl_seed_mix(42, AFL_RNG_DELAY, 7));
        /* 32-bit outputs of independent streams agree by chance about once in
         * 4e9 draws: any agreement in 1000 draws means shared state. */
        cr_expect_eq(agreements(base, others[k], 1000), 0, "stream %zu overlaps the base", k);
        afl_rng_free(others[k]);
    }
    afl_rng_free(base);
}

Test(rng, seed_mix_separates_neighbouring_triples)
{
    /* All (master, purpose, index) in a small grid give distinct seeds. */
    enum { M = 4, P = 11, I = 50 };
    static uint64_t seeds[M * P * I];
    size_t n = 0;
    for (uint64_t m = 0; m < M; m++)
        for (uint64_t p = 0; p < P; p++)
            for (uint64_t i = 0; i < I; i++)
                seeds[n++] = afl_seed_mix(m, p, i);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            cr_assert_neq(seeds[i], seeds[j], "seed collision at %zu and %zu", i, j);
}

Test(rng, neighbouring_client_streams_are_uncorrelated)
{
    /* Correlation of uniforms from streams of clients i and i+1; under
     * independence its standard error is 1/sqrt(n). */
    enum { N = 100000 };
    afl_rng *a = must_create(1, AFL_RNG_BATCH, 3);
    afl_rng *b = must_create(1, AFL_RNG_BATCH, 4);
    double sab = 0, sa = 0, sb = 0, saa = 0, sbb = 0;
    for (int i = 0; i < N; i++) {
        double x = afl_rng_uniform(a), y = afl_rng_uniform(b);
        sa += x;
        sb += y;
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    double cov = sab / N - (sa / N) * (sb / N);
    double corr = cov / sqrt((saa / N - (sa / N) * (sa / N)) * (sbb / N - (sb / N) * (sb / N)));
    cr_expect(fabs(corr) < 5.0 / sqrt(N), "correlation %g", corr);
    afl_rng_free(a);
    afl_rng_free(b);
}

Test(rng, below_stays_in_range)
{
    afl_rng *r = must_create(5, AFL_RNG_TEST, 0);
    const uint64_t ns[] = {1,         2, 3, 7, 10, 1000, (1ULL << 32) + 1, (1ULL << 63) + 12345,
                           UINT64_MAX};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        for (int i = 0; i < 20000; i++) {
            uint64_t x = afl_rng_below(r, ns[k]);
            cr_assert_lt(x, ns[k], "below(%llu) gave %llu", (unsigned long long)ns[k],
                         (unsigned long long)x);
        }
    }
    for (int i = 0; i < 100; i++)
        cr_assert_eq(afl_rng_below(r, 1), 0);
    afl_rng_free(r);
}

/* Chi-square statistic of n draws of below(k) against the uniform law. */
static double chi_square_below(afl_rng *r, uint64_t k, int n)
{
    long *count = calloc(k, sizeof *count);
    cr_assert_not_null(count);
    for (int i = 0; i < n; i++)
        count[afl_rng_below(r, k)]++;
    double expect = (double)n / (double)k, chi2 = 0;
    for (uint64_t j = 0; j < k; j++)
        chi2 += (count[j] - expect) * (count[j] - expect) / expect;
    free(count);
    return chi2;
}

Test(rng, below_is_uniform_by_chi_square)
{
    /* Bound: the chi-square quantile with k-1 degrees of freedom exceeded with
     * probability 1e-6 (6 cells: 35.9; 10 cells: 44.8; 1000 cells: 1226). */
    afl_rng *r = must_create(11, AFL_RNG_TEST, 1);
    const uint64_t ks[] = {6, 10, 1000};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        double bound = gsl_cdf_chisq_Qinv(1e-6, (double)(ks[i] - 1));
        double chi2 = chi_square_below(r, ks[i], 200000);
        cr_expect_lt(chi2, bound, "k = %llu: chi2 = %g, bound %g", (unsigned long long)ks[i], chi2,
                     bound);
    }
    afl_rng_free(r);
}

Test(rng, below_is_unbiased_for_a_range_that_does_not_divide_two_to_the_64)
{
    /* n = 3 * 2^62: a modulo reduction would make the lowest third of the
     * range twice as likely as the rest (a classic bias Lemire's method
     * avoids). Test the share of draws below 2^63 (exactly 2/3 if unbiased). */
    enum { N = 300000 };
    afl_rng *r = must_create(12, AFL_RNG_TEST, 2);
    uint64_t n = 3ULL << 62;
    int low = 0;
    for (int i = 0; i < N; i++)
        low += afl_rng_below(r, n) < (1ULL << 63);
    double p = 2.0 / 3.0, se = sqrt(p * (1 - p) / N);
    cr_expect(fabs((double)low / N - p) < 5 * se, "share below 2^63: %g", (double)low / N);
    afl_rng_free(r);
}

Test(rng, uniform_lies_in_zero_one_and_has_mean_one_half)
{
    enum { N = 1000000 };
    afl_rng *r = must_create(13, AFL_RNG_TEST, 3);
    double sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        double u = afl_rng_uniform(r);
        cr_assert(u >= 0.0 && u < 1.0, "uniform gave %.17g", u);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    double se = sqrt(1.0 / 12.0 / N);
    cr_expect(fabs(sum / N - 0.5) < 5 * se, "mean %g", sum / N);
    cr_expect(lo < 1e-5 && hi > 1 - 1e-5, "range [%g, %g] does not fill [0,1)", lo, hi);
    afl_rng_free(r);
}

Test(rng, normal_has_mean_zero_and_variance_one)
{
    enum { N = 400000 };
    afl_rng *r = must_create(14, AFL_RNG_TEST, 4);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double z = afl_rng_normal(r);
        s1 += z;
        s2 += z * z;
    }
    double mean = s1 / N, var = s2 / N - mean * mean;
    cr_expect(fabs(mean) < 5 * sqrt(1.0 / N), "mean %g", mean);
    cr_expect(fabs(var - 1) < 5 * sqrt(2.0 / N), "variance %g", var); /* Var(s^2) = 2 */
    afl_rng_free(r);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

Test(rng, shuffle_is_a_permutation)
{
    enum { N = 1000 };
    afl_rng *r = must_create(15, AFL_RNG_TEST, 5);
    int a[N];
    for (int i = 0; i < N; i++)
        a[i] = i;
    afl_rng_shuffle_int(r, a, N);
    int moved = 0;
    for (int i = 0; i < N; i++)
        moved += a[i] != i;
    cr_expect_gt(moved, N / 2, "only %d of %d elements moved", moved, N);
    qsort(a, N, sizeof a[0], cmp_int);
    for (int i = 0; i < N; i++)
        cr_assert_eq(a[i], i, "element %d lost or duplicated", i);
    afl_rng_shuffle_int(r, a, 0); /* empty and single arrays are fine */
    afl_rng_shuffle_int(r, a, 1);
    cr_assert_eq(a[0], 0);
    afl_rng_free(r);
}

Test(rng, shuffle_puts_each_element_at_each_position_equally_often)
{
    /* 4 elements, 240000 shuffles: the position of element 0 is uniform on
     * 0..3 (chi-square, 3 degrees of freedom, bound at p = 1e-6). */
    enum { N = 240000 };
    afl_rng *r = must_create(16, AFL_RNG_TEST, 6);
    long count[4] = {0};
    for (int t = 0; t < N; t++) {
        int a[4] = {0, 1, 2, 3};
        afl_rng_shuffle_int(r, a, 4);
        for (int i = 0; i < 4; i++)
            if (a[i] == 0)
                count[i]++;
    }
    double chi2 = 0, e = N / 4.0;
    for (int i = 0; i < 4; i++)
        chi2 += (count[i] - e) * (count[i] - e) / e;
    cr_expect_lt(chi2, gsl_cdf_chisq_Qinv(1e-6, 3), "chi2 = %g", chi2);
    afl_rng_free(r);
}
