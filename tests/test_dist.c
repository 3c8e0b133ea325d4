/* tests/test_dist.c - delay and speed distributions (sim/dist.h).
 *
 * Moment checks: N = 200,000 draws with a fixed seed; the sample mean must lie
 * within 5 standard errors of afl_dist_mean (SE = s / sqrt(N)) and the sample
 * variance within 5 standard errors of afl_dist_variance, with the SE of a
 * variance estimate sqrt((m4 - s^4) / N) from the sample fourth central moment
 * m4.  That SE is itself trustworthy only when the eighth moment is finite, so
 * Pareto is tested with alpha = 10 (and alpha = 6, the usual example, for its
 * mean and variance too).  The truncated normal's moments are also checked
 * against the textbook closed forms where those are well conditioned.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "sim/dist.h"
#include "sim/err.h"
#include "sim/rng.h"

enum { N_DRAWS = 200000 };

static afl_dist must_parse(const char *text)
{
    afl_dist d;
    char why[256] = "";
    int rc = afl_dist_parse(text, &d, why, sizeof why);
    cr_assert_eq(rc, 0, "parse('%s') failed: %s", text, why);
    return d;
}

/* Draws N_DRAWS values of text and checks range and the first two moments. */
static void check_moments(const char *text, uint64_t seed)
{
    afl_dist d = must_parse(text);
    afl_rng *r = afl_rng_create(seed, AFL_RNG_TEST, 0);
    double *x = malloc(N_DRAWS * sizeof *x);
    cr_assert(r && x);
    double sum = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        x[i] = afl_dist_sample(&d, r);
        cr_assert(isfinite(x[i]) && x[i] >= 0 && x[i] <= AFL_DIST_MAX, "%s drew %g", text, x[i]);
        sum += x[i];
    }
    double mean = sum / N_DRAWS, m2 = 0, m4 = 0;
    for (int i = 0; i < N_DRAWS; i++) {
        double e = x[i] - mean;
        m2 += e * e;
        m4 += e * e * e * e;
    }
    m2 /= N_DRAWS;
    m4 /= N_DRAWS;
    double var = m2 * N_DRAWS / (N_DRAWS - 1.0);
    double want_mean = afl_dist_mean(&d), want_var = afl_dist_variance(&d);
    double se_mean = sqrt(m2 / N_DRAWS), se_var = sqrt((m4 - m2 * m2) / N_DRAWS);
    cr_expect(fabs(mean - want_mean) <= 5 * se_mean,
              "%s: sample mean %.10g, expected %.10g (5 SE = %.3g)", text, mean, want_mean,
              5 * se_mean);
    cr_expect(fabs(var - want_var) <= 5 * se_var,
              "%s: sample variance %.10g, expected %.10g (5 SE = %.3g)", text, var, want_var,
              5 * se_var);
    free(x);
    afl_rng_free(r);
}

Test(dist, uniform_moments_match_theory)
{
    check_moments("uniform(0.5, 3)", 1);
}

Test(dist, exponential_moments_match_theory)
{
    check_moments("exponential(2.5)", 2);
    check_moments("exponential(1)", 3); /* BASGD WikiText k_del */
}

Test(dist, lognormal_moments_match_theory)
{
    check_moments("lognormal(0, 0.5)", 4);
    check_moments("lognormal(1, 0.25)", 5);
}

Test(dist, pareto_moments_match_theory)
{
    check_moments("pareto(2, 10)", 6);
    check_moments("pareto(1, 6)", 7);
}

Test(dist, gamma_moments_match_theory)
{
    check_moments("gamma(2, 0.5)", 8);
    check_moments("gamma(0.3, 2)", 9); /* shape < 1 takes GSL's other branch */
}

Test(dist, truncnormal_moments_match_theory_in_every_sampler_branch)
{
    const char *cases[] = {
        "truncnormal(0, 1)",           /* BASGD: N(0,1) on [0, inf); tail, exponential proposal */
        "truncnormal(0, 1, 0.2)",      /* tail just above the mode */
        "truncnormal(0, 1, 8)",        /* far tail: Z = 6e-16 */
        "truncnormal(0, 1, 40)",       /* beyond where Phi underflows */
        "truncnormal(0, 1, 1, 1.5)",   /* short tail interval: uniform proposal */
        "truncnormal(0, 1, 3, 3.001)", /* very short interval in the tail */
        "truncnormal(5, 2, 1, 6)",     /* mode inside, short: uniform proposal */
        "truncnormal(5, 2, 0, 12)",    /* mode inside, wide: normal rejection */
        "truncnormal(10, 1, 0, 8.5)",  /* mode above hi: mirrored tail */
        "truncnormal(100, 10, 0, 50)", /* mirrored, further out */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_moments(cases[i], 100 + i);
}

/* Closed forms (Johnson, Kotz, Balakrishnan ch. 13). */
static void closed_form(double mu, double sigma, double lo, double hi, double *mean, double *var)
{
    double a = (lo - mu) / sigma, b = (hi - mu) / sigma;
    double pa = gsl_ran_ugaussian_pdf(a), pb = isinf(b) ? 0 : gsl_ran_ugaussian_pdf(b);
    double z = a > 0 ? gsl_cdf_ugaussian_Q(a) - gsl_cdf_ugaussian_Q(b)
                     : gsl_cdf_ugaussian_P(b) - gsl_cdf_ugaussian_P(a);
    double bpb = isinf(b) ? 0 : b * pb, lam = (pa - pb) / z;
    *mean = mu + sigma * lam;
    *var = sigma * sigma * (1 + (a * pa - bpb) / z - lam * lam);
}

Test(dist, truncnormal_moments_agree_with_the_closed_forms)
{
    const double cases[][4] = {
        {0, 1, 0, INFINITY}, {0, 1, 0.2, INFINITY}, {0, 1, 3, INFINITY}, {0, 1, 1, 1.5},
        {5, 2, 1, 6},        {5, 2, 0, 12},         {10, 1, 0, 8.5},     {1, 1, 0, INFINITY},
        {2, 0.5, 1, 2.2},    {0.5, 3, 0, 1e3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const double *c = cases[i];
        afl_dist d = {.kind = AFL_DIST_TRUNCNORMAL, .p = {c[0], c[1], c[2], c[3]}, .np = 4};
        if (isinf(c[3]))
            d.np = 3;
        char why[200];
        cr_assert_eq(afl_dist_validate(&d, why, sizeof why), 0, "%s", why);
        double m, v;
        closed_form(c[0], c[1], c[2], c[3], &m, &v);
        cr_expect(fabs(afl_dist_mean(&d) - m) <= 1e-10 * fabs(m) + 1e-13,
                  "case %zu: mean %.17g, closed form %.17g", i, afl_dist_mean(&d), m);
        cr_expect(fabs(afl_dist_variance(&d) - v) <= 1e-9 * v, "case %zu: var %.17g, closed %.17g",
                  i, afl_dist_variance(&d), v);
    }
}

Test(dist, truncnormal_far_tail_moments_follow_the_asymptotic_series)
{
    /* Z given Z >= a for large a: mean a + 1/a - 2/a^3 + 10/a^5,
     * variance 1/a^2 - 6/a^4 + 50/a^6 (from the Mills-ratio expansion). */
    const double as[] = {50, 1000, 1e6};
    for (size_t i = 0; i < 3; i++) {
        double a = as[i];
        afl_dist d = {.kind = AFL_DIST_TRUNCNORMAL, .p = {0, 1, a, INFINITY}, .np = 3};
        double m = a + 1 / a - 2 / pow(a, 3) + 10 / pow(a, 5);
        double v = 1 / (a * a) - 6 / pow(a, 4) + 50 / pow(a, 6);
        /* Tolerance: the first omitted terms (-74/a^7 and about -500/a^8), and
         * rounding. */
        cr_expect(fabs(afl_dist_mean(&d) - m) <= 100 / pow(a, 7) + 4e-16 * a,
                  "a = %g: mean %.17g, want %.17g", a, afl_dist_mean(&d), m);
        cr_expect(fabs(afl_dist_variance(&d) - v) <= 1000 / pow(a, 8) + 1e-12 * v,
                  "a = %g: var %.17g, want %.17g", a, afl_dist_variance(&d), v);
    }
}

Test(dist, constant_and_degenerate_distributions_draw_one_value)
{
    afl_rng *r = afl_rng_create(1, AFL_RNG_TEST, 1);
    cr_assert_not_null(r);
    struct {
        const char *text;
        double value;
    } cases[] = {{"constant(0.1)", 0.1},
                 {"constant(0)", 0.0},
                 {"uniform(2, 2)", 2.0},
                 {"lognormal(0, 0)", 1.0},
                 {"lognormal(-2, 0)", exp(-2)}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        afl_dist d = must_parse(cases[i].text);
        for (int k = 0; k < 1000; k++)
            cr_assert_eq(afl_dist_sample(&d, r), cases[i].value, "%s", cases[i].text);
        cr_expect_eq(afl_dist_mean(&d), cases[i].value, "%s", cases[i].text);
        cr_expect_eq(afl_dist_variance(&d), 0.0, "%s", cases[i].text);
    }
    afl_rng_free(r);
}

Test(dist, moments_are_infinite_where_undefined)
{
    cr_expect(isinf(afl_dist_mean(&(afl_dist){AFL_DIST_PARETO, {1, 1, 0, 0}, 2})));
    cr_expect(isinf(afl_dist_mean(&(afl_dist){AFL_DIST_PARETO, {1, 0.5, 0, 0}, 2})));
    cr_expect(isfinite(afl_dist_mean(&(afl_dist){AFL_DIST_PARETO, {1, 1.5, 0, 0}, 2})));
    cr_expect(isinf(afl_dist_variance(&(afl_dist){AFL_DIST_PARETO, {1, 1.5, 0, 0}, 2})));
    cr_expect(isinf(afl_dist_variance(&(afl_dist){AFL_DIST_PARETO, {1, 2, 0, 0}, 2})));
    cr_expect_eq(afl_dist_mean(&(afl_dist){AFL_DIST_PARETO, {2, 3, 0, 0}, 2}), 3.0);
}

Test(dist, samples_are_finite_and_nonnegative_even_for_extreme_parameters)
{
    const char *cases[] = {
        "pareto(1, 0.05)",                 /* overflows a double without the cap */
        "lognormal(0, 60)",                /* likewise */
        "lognormal(-700, 1)",              /* underflows to 0 */
        "gamma(0.001, 1)",                 /* underflows to 0 */
        "exponential(1e15)",               /* largest mean */
        "uniform(0, 1e15)",                /* largest range */
        "truncnormal(1e15, 1e15, 0)",      /* mode far above lo */
        "truncnormal(0, 1e-300, 1)",       /* lo 1e300 sigmas out */
        "truncnormal(0, 5e-324, 1)",       /* (lo - mu) / sigma overflows */
        "truncnormal(1e15, 1e-300, 0, 1)", /* mirrored, overflowing */
        "truncnormal(0, 1, 0, 1e-300)",    /* tiny interval */
    };
    afl_rng *r = afl_rng_create(2, AFL_RNG_TEST, 2);
    cr_assert_not_null(r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        afl_dist d = must_parse(cases[i]);
        double lo = d.kind == AFL_DIST_TRUNCNORMAL ? d.p[2] : 0;
        double hi = d.kind == AFL_DIST_TRUNCNORMAL ? d.p[3] : INFINITY;
        for (int k = 0; k < 20000; k++) {
            double x = afl_dist_sample(&d, r);
            cr_assert(isfinite(x) && x >= 0 && x <= AFL_DIST_MAX && x >= lo && x <= hi,
                      "%s drew %.17g", cases[i], x);
        }
        double m = afl_dist_mean(&d), v = afl_dist_variance(&d);
        cr_expect(!isnan(m) && m >= 0 && !isnan(v) && v >= 0, "%s: mean %g var %g", cases[i], m, v);
    }
    afl_rng_free(r);
}

Test(dist, truncnormal_respects_its_interval_including_a_far_tail, .timeout = 30)
{
    struct {
        const char *text;
        double lo, hi;
    } cases[] = {{"truncnormal(0, 1, 8)", 8, INFINITY},
                 {"truncnormal(0, 1, 8, 8.0001)", 8, 8.0001},
                 {"truncnormal(0, 1, 38)", 38, INFINITY},
                 {"truncnormal(3, 0.5, 0, 0.1)", 0, 0.1},
                 {"truncnormal(0, 1)", 0, INFINITY}};
    afl_rng *r = afl_rng_create(3, AFL_RNG_TEST, 3);
    cr_assert_not_null(r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        afl_dist d = must_parse(cases[i].text);
        double min = INFINITY, max = -INFINITY;
        for (int k = 0; k < 100000; k++) {
            double x = afl_dist_sample(&d, r);
            cr_assert(x >= cases[i].lo && x <= cases[i].hi, "%s drew %.17g", cases[i].text, x);
            min = x < min ? x : min;
            max = x > max ? x : max;
        }
        cr_expect(max > min, "%s: every draw was %.17g", cases[i].text, min);
    }
    afl_rng_free(r);
}

Test(dist, same_seed_gives_the_same_draws_and_another_seed_others)
{
    const char *texts[] = {
        "uniform(0, 1)", "exponential(2)",    "lognormal(0, 0.5)",  "pareto(1, 2)",
        "gamma(2, 1)",   "truncnormal(0, 1)", "truncnormal(0,1,8)", "truncnormal(5, 2, 1, 6)"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        afl_dist d = must_parse(texts[i]);
        afl_rng *a = afl_rng_create(7, AFL_RNG_DELAY, i);
        afl_rng *b = afl_rng_create(7, AFL_RNG_DELAY, i);
        afl_rng *c = afl_rng_create(8, AFL_RNG_DELAY, i);
        cr_assert(a && b && c);
        int differ = 0;
        for (int k = 0; k < 5000; k++) {
            double x = afl_dist_sample(&d, a);
            cr_assert(x == afl_dist_sample(&d, b), "%s: draw %d differs between runs", texts[i], k);
            differ += x != afl_dist_sample(&d, c);
        }
        cr_expect_gt(differ, 4900, "%s: another seed gave the same draws", texts[i]);
        afl_rng_free(a);
        afl_rng_free(b);
        afl_rng_free(c);
    }
}

Test(dist, parse_accepts_valid_texts)
{
    struct {
        const char *text;
        afl_dist_kind kind;
        int np;
        double p[4];
    } cases[] = {
        {"lognormal(0, 0.5)", AFL_DIST_LOGNORMAL, 2, {0, 0.5}},
        {"constant(1)", AFL_DIST_CONSTANT, 1, {1}},
        {"  constant ( 2.5e-1 )  ", AFL_DIST_CONSTANT, 1, {0.25}},
        {"exponential(2.5)", AFL_DIST_EXPONENTIAL, 1, {2.5}},
        {"uniform(0,0)", AFL_DIST_UNIFORM, 2, {0, 0}},
        {"pareto(1e-3, 2.5)", AFL_DIST_PARETO, 2, {1e-3, 2.5}},
        {"gamma(2,\t0.5)", AFL_DIST_GAMMA, 2, {2, 0.5}},
        {"truncnormal(1,1,0)", AFL_DIST_TRUNCNORMAL, 3, {1, 1, 0, INFINITY}},
        {"truncnormal(0, 1)", AFL_DIST_TRUNCNORMAL, 2, {0, 1, 0, INFINITY}},
        {"truncnormal(2, 3, 0.5, 4)", AFL_DIST_TRUNCNORMAL, 4, {2, 3, 0.5, 4}},
        {"lognormal(-1, +2)", AFL_DIST_LOGNORMAL, 2, {-1, 2}},
        {"constant(-0)", AFL_DIST_CONSTANT, 1, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        afl_dist d = must_parse(cases[i].text);
        cr_expect_eq(d.kind, cases[i].kind, "%s", cases[i].text);
        cr_expect_eq(d.np, cases[i].np, "%s", cases[i].text);
        int n = d.kind == AFL_DIST_TRUNCNORMAL ? 4 : cases[i].np;
        for (int k = 0; k < n; k++)
            cr_expect_eq(d.p[k], cases[i].p[k], "%s: p[%d] = %g", cases[i].text, k, d.p[k]);
    }
    afl_dist d = must_parse("constant(-0)");
    cr_expect(!signbit(d.p[0]), "-0 is stored as +0");
}

Test(dist, parse_rejects_malformed_texts_saying_what_was_expected)
{
    struct {
        const char *text, *fragment;
    } cases[] = {
        {"lognorm(0, 1)", "unknown distribution 'lognorm'; expected one of constant, uniform, "
                          "exponential, lognormal, pareto, gamma, truncnormal"},
        {"Lognormal(0, 1)", "names are lower case"},
        {"pareto(1)", "pareto takes 2 parameters (xm, alpha), got 1"},
        {"constant()", "constant takes 1 parameter (c), got 0"},
        {"lognormal(0, 1, 2)", "lognormal takes 2 parameters (mu, sigma), got 3"},
        {"truncnormal(0)", "truncnormal takes 2 to 4 parameters (mu, sigma[, lo[, hi]]), got 1"},
        {"truncnormal(0,1,0,1,2)", "truncnormal takes 2 to 4 parameters"},
        {"lognormal(0, -1)", "lognormal: sigma must be >= 0, got -1"},
        {"", "expected NAME(p1, ...) such as lognormal(0, 0.5)"},
        {"   ", "expected NAME(p1, ...) such as lognormal(0, 0.5)"},
        {"(1, 2)", "expected NAME(p1, ...) such as lognormal(0, 0.5)"},
        {"lognormal", "missing '(' after 'lognormal'"},
        {"lognormal 0 0.5", "expected NAME(p1, ...) such as lognormal(0, 0.5)"},
        {"lognormal(0, 0.5", "missing ')'"},
        {"lognormal(0, 0.5) x", "unexpected text 'x' after ')'"},
        {"lognormal(0, 0.5))", "unexpected text ')' after ')'"},
        {"constant(1 2)", "unexpected '2' after parameter 1 of constant"},
        {"constant(1x)", "unexpected 'x' after parameter 1 of constant"},
        {"constant(abc)", "constant: parameter 1 (c) must be a number, got 'abc'"},
        {"lognormal(0,)", "lognormal: parameter 2 (sigma) is missing"},
        {"lognormal(,1)", "lognormal: parameter 1 (mu) is missing"},
        {"lognormal(0, nan)", "lognormal: parameter 2 (sigma) must be a finite number, got 'nan'"},
        {"constant(inf)", "must be a finite number, got 'inf'"},
        {"constant(-infinity)", "must be a finite number"},
        {"constant(1e999)", "must be a finite number, got '1e999'"},
        {"constant(1e16)", "constant: c must be between -1e+15 and 1e+15, got 1e+16"},
        {"constant(-1)", "constant: c must be >= 0, got -1"},
        {"uniform(-1, 1)", "uniform: a must be >= 0, got -1"},
        {"uniform(2, 1)", "uniform: b must be >= a, got a = 2, b = 1"},
        {"exponential(0)", "exponential: mean must be > 0, got 0"},
        {"pareto(0, 1)", "pareto: xm must be > 0, got 0"},
        {"pareto(1, -2)", "pareto: alpha must be > 0, got -2"},
        {"gamma(0, 1)", "gamma: k must be > 0, got 0"},
        {"gamma(1, 0)", "gamma: theta must be > 0, got 0"},
        {"truncnormal(0, 0)", "truncnormal: sigma must be > 0, got 0"},
        {"truncnormal(0, 1, -1)", "truncnormal: lo must be >= 0, got -1"},
        {"truncnormal(0, 1, 2, 1)", "truncnormal: lo must be < hi, got lo = 2, hi = 1"},
        {"truncnormal(0, 1, 2, 2)", "truncnormal: lo must be < hi"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        afl_dist d = {.kind = AFL_DIST_GAMMA, .p = {7, 7, 7, 7}, .np = 2};
        afl_dist before = d;
        char why[512] = "";
        int rc = afl_dist_parse(cases[i].text, &d, why, sizeof why);
        cr_expect_eq(rc, AFL_EINPUT, "'%s' was accepted", cases[i].text);
        cr_expect_not_null(strstr(why, cases[i].fragment), "'%s': message '%s' lacks '%s'",
                           cases[i].text, why, cases[i].fragment);
        cr_expect(memcmp(&d, &before, sizeof d) == 0, "'%s': out was modified", cases[i].text);
    }
    /* NULL text and a NULL or tiny message buffer are safe. */
    afl_dist d;
    char tiny[8];
    cr_expect_eq(afl_dist_parse(NULL, &d, tiny, sizeof tiny), AFL_EINPUT);
    cr_expect_eq(strlen(tiny), sizeof tiny - 1);
    cr_expect_eq(afl_dist_parse("bogus(1)", &d, NULL, 0), AFL_EINPUT);
}

Test(dist, format_then_parse_gives_the_same_distribution_bit_for_bit)
{
    const char *texts[] = {"constant(1)",
                           "uniform(0.1, 0.30000000000000004)",
                           "exponential(2.5)",
                           "lognormal(-0.3, 0.7)",
                           "pareto(1e-3, 2.5)",
                           "gamma(0.3, 1e15)",
                           "truncnormal(0, 1)",
                           "truncnormal(1, 1, 0)",
                           "truncnormal(2, 3, 0.5, 4)"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        afl_dist d = must_parse(texts[i]);
        char buf[256];
        afl_dist_format(&d, buf, sizeof buf);
        afl_dist e = must_parse(buf);
        cr_expect(afl_dist_equal(&d, &e) && memcmp(d.p, e.p, sizeof d.p) == 0, "%s -> %s changed",
                  texts[i], buf);
    }
    /* Random parameters with all 53 bits in use. */
    afl_rng *r = afl_rng_create(4, AFL_RNG_TEST, 4);
    cr_assert_not_null(r);
    for (int k = 0; k < 2000; k++) {
        double u = afl_rng_uniform(r) * pow(10, (double)afl_rng_below(r, 20) - 10);
        double v = u + afl_rng_uniform(r) * 3;
        afl_dist cand[] = {
            {AFL_DIST_UNIFORM, {u, v, 0, 0}, 2},
            {AFL_DIST_LOGNORMAL, {u - 0.5, v, 0, 0}, 2},
            {AFL_DIST_TRUNCNORMAL, {u - 0.5, v + 1e-3, u, INFINITY}, 3},
            {AFL_DIST_TRUNCNORMAL, {-u, v + 1e-3, u, u + v + 1e-3}, 4},
        };
        for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++) {
            char why[200], buf[256];
            cr_assert_eq(afl_dist_validate(&cand[c], why, sizeof why), 0, "%s", why);
            afl_dist_format(&cand[c], buf, sizeof buf);
            afl_dist e = must_parse(buf);
            cr_assert(afl_dist_equal(&cand[c], &e) && memcmp(cand[c].p, e.p, sizeof e.p) == 0,
                      "%s did not round-trip", buf);
        }
    }
    afl_rng_free(r);
}

Test(dist, format_is_canonical_and_truncates_safely)
{
    afl_dist d = must_parse("  truncnormal( 0 , 1 )");
    char buf[64];
    afl_dist_format(&d, buf, sizeof buf);
    cr_expect_str_eq(buf, "truncnormal(0,1)");
    d = must_parse("lognormal(0, 0.1)");
    afl_dist_format(&d, buf, sizeof buf);
    cr_expect_str_eq(buf, "lognormal(0,0.10000000000000001)");
    char small[6];
    afl_dist_format(&d, small, sizeof small);
    cr_expect_str_eq(small, "logno");
}

Test(dist, family_table_lists_every_kind_with_docs)
{
    size_t n = 0;
    const afl_dist_family *f = afl_dist_families(&n);
    cr_assert_eq(n, 7);
    const char *names[] = {"constant", "uniform", "exponential", "lognormal",
                           "pareto",   "gamma",   "truncnormal"};
    for (size_t i = 0; i < n; i++) {
        cr_expect_str_eq(f[i].name, names[i], "family %zu matches afl_dist_kind order", i);
        cr_expect(f[i].min_params >= 1 && f[i].min_params <= f[i].max_params &&
                  f[i].max_params <= 4);
        cr_expect(strncmp(f[i].signature, f[i].name, strlen(f[i].name)) == 0);
        cr_expect(strlen(f[i].doc) > 20 && strlen(f[i].source) > 5, "%s lacks docs", f[i].name);
        cr_expect_eq(afl_dist_family_find(names[i]), &f[i]);
    }
    cr_expect_null(afl_dist_family_find("lognorm"));
    cr_expect_null(afl_dist_family_find(NULL));
}
