/* tests/test_secureafl.c - compact L-BFGS products (defenses/lbfgs.c), SecureAFL
 * (defenses/secureafl.c) and FLDetector (defenses/fldetector.c) on small
 * hand-checkable inputs. */
#include <math.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/lbfgs.h"
#include "testutil.h"

/* Exported by defenses/fldetector.c and defenses/secureafl.c for these tests. */
int afl_fldetector_gap_k(const double *x, int n, int kmax, int nrefs, afl_rng *rng);
double afl_secureafl_percentile(const double *x, size_t n, double alpha, int method);

static afl_err err;

/* ---- helpers ---------------------------------------------------------------------------- */

/* y (d) = H x with H (d, d) row-major */
static void matvec(const double *H, const float *x, float *y, int d)
{
    for (int i = 0; i < d; i++) {
        double acc = 0;
        for (int j = 0; j < d; j++)
            acc += H[i * d + j] * x[j];
        y[i] = (float)acc;
    }
}

/* A random SPD matrix H = A A^T + d I (d, d). */
static void random_spd(double *H, int d, afl_rng *r)
{
    double *A = malloc(sizeof(double) * (size_t)(d * d));
    for (int i = 0; i < d * d; i++)
        A[i] = afl_rng_normal(r);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = i == j ? d : 0;
            for (int k = 0; k < d; k++)
                acc += A[i * d + k] * A[j * d + k];
            H[i * d + j] = acc;
        }
    free(A);
}

static afl_config *config_with(const char *const *sets)
{
    afl_config *cfg = afl_config_new();
    for (int i = 0; sets[i]; i++)
        cr_assert_eq(afl_config_override(cfg, sets[i], &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(cfg, &err), AFL_OK, "%s", err.msg);
    return cfg;
}

typedef struct {
    const afl_defense_ops *ops;
    afl_config *cfg;
    afl_rng *rng;
    void *st;
    size_t d;
} harness;

/* threads: ctx.threads, the worker threads the defense may use */
static void harness_open_threads(harness *h, const char *name, int n, size_t d, double lr,
                                 const char *const *sets, int threads)
{
    h->ops = afl_defense_find(name);
    cr_assert_not_null(h->ops, "%s is not registered", name);
    h->cfg = config_with(sets);
    h->rng = afl_rng_create(3, AFL_RNG_DEFENSE, 0);
    h->d = d;
    afl_defense_ctx ctx = {h->cfg, n, 10, d, lr, 8, 3, h->rng, 0, NULL, NULL, NULL, threads};
    cr_assert_eq(h->ops->create(&ctx, &h->st, &err), AFL_OK, "%s", err.msg);
}

static void harness_open(harness *h, const char *name, int n, size_t d, double lr,
                         const char *const *sets)
{
    harness_open_threads(h, name, n, d, lr, sets, 0);
}

static void harness_close(harness *h)
{
    h->ops->destroy(h->st);
    afl_rng_free(h->rng);
    afl_config_free(h->cfg);
}

static afl_decision arrive(harness *h, int client, const float *g, const float *w_base,
                           const float *w_cur, float *step)
{
    afl_update u = {client, 0, 0, 0, 0, g, w_base, w_cur};
    afl_decision dec = {AFL_VERDICT_ACCEPTED, NAN, NAN, 0, NAN};
    cr_assert_eq(h->ops->on_update(h->st, &u, step, &dec, &err), AFL_OK, "%s", err.msg);
    return dec;
}

/* ---- L-BFGS ----------------------------------------------------------------------------- */

Test(secureafl, lbfgs_hvp_equals_the_exact_hessian_product_on_a_quadratic_once_eps_pairs_exist)
{
    /* f(w) = w'Hw/2, gradient Hw: steps s_j along H-conjugate directions (as a
     * conjugate-direction method takes them) give y_j = g_{j+1} - g_j = H s_j.
     * With eps = d such pairs the compact BFGS matrix is H itself. */
    enum { D = 6 };
    afl_rng *r = afl_rng_create(11, AFL_RNG_TEST, 0);
    double H[D * D];
    random_spd(H, D, r);
    float s[D][D], y[D], v[D], hv[D], bv[D];
    for (int j = 0; j < D; j++) {
        for (int k = 0; k < D; k++)
            s[j][k] = (float)afl_rng_normal(r);
        for (int i = 0; i < j; i++) { /* H-conjugate against the earlier directions */
            float hs[D];
            matvec(H, s[i], hs, D);
            double num = 0, den = 0;
            for (int k = 0; k < D; k++) {
                num += (double)s[j][k] * hs[k];
                den += (double)s[i][k] * hs[k];
            }
            for (int k = 0; k < D; k++)
                s[j][k] -= (float)(num / den) * s[i][k];
        }
    }
    afl_lbfgs lb;
    cr_assert_eq(afl_lbfgs_init(&lb, D, D), 0);
    for (int j = 0; j < D; j++) {
        matvec(H, s[j], y, D);
        cr_assert_eq(afl_lbfgs_push(&lb, s[j], y), 1);
        /* the secant equation holds for the newest pair at every stage */
        cr_assert_eq(afl_lbfgs_hvp(&lb, s[j], bv), 0);
        for (int k = 0; k < D; k++)
            cr_assert_float_eq(bv[k], y[k], 1e-3 * (1 + fabsf(y[k])), "pair %d coord %d", j, k);
    }
    cr_assert(lb.ok);
    for (int trial = 0; trial < 5; trial++) {
        for (int k = 0; k < D; k++)
            v[k] = (float)afl_rng_normal(r);
        matvec(H, v, hv, D);
        cr_assert_eq(afl_lbfgs_hvp(&lb, v, bv), 0);
        double scale = 0;
        for (int k = 0; k < D; k++)
            scale = fmax(scale, fabs(hv[k]));
        for (int k = 0; k < D; k++)
            cr_assert_float_eq(bv[k], hv[k], 1e-3 * scale, "trial %d coord %d: %g vs %g", trial, k,
                               bv[k], hv[k]);
        /* the analytic norm matches the vector */
        double vv = afl_dot(v, v, D), Stv[D], Ytv[D], a[D], b[D], n2 = 0;
        afl_lbfgs_dots(&lb, v, Stv, Ytv);
        afl_lbfgs_coef(&lb, Stv, Ytv, a, b);
        for (int k = 0; k < D; k++)
            n2 += (double)bv[k] * bv[k];
        cr_assert_float_eq(afl_lbfgs_norm2(&lb, vv, Stv, Ytv, a, b), n2, 1e-3 * n2);
    }
    afl_lbfgs_free(&lb);
    afl_rng_free(r);
}

Test(secureafl, lbfgs_keeps_the_newest_eps_pairs_and_scales_the_rest_of_the_space_by_mu)
{
    /* d = 40, eps = 3, five pairs pushed: the result equals a buffer holding only
     * the last three, B s_last = y_last, and B v = mu v for v orthogonal to S and Y. */
    enum { D = 40, E = 3, P = 5 };
    afl_rng *r = afl_rng_create(12, AFL_RNG_TEST, 0);
    double H[D * D];
    random_spd(H, D, r);
    float s[P][D], y[P][D];
    afl_lbfgs all, last;
    cr_assert_eq(afl_lbfgs_init(&all, E, D), 0);
    cr_assert_eq(afl_lbfgs_init(&last, E, D), 0);
    for (int p = 0; p < P; p++) {
        for (int k = 0; k < D; k++)
            s[p][k] = (float)afl_rng_normal(r);
        matvec(H, s[p], y[p], D);
        cr_assert_eq(afl_lbfgs_push(&all, s[p], y[p]), 1);
        if (p >= P - E)
            cr_assert_eq(afl_lbfgs_push(&last, s[p], y[p]), 1);
    }
    cr_assert_eq(all.m, E);
    float v[D], b1[D], b2[D];
    for (int k = 0; k < D; k++)
        v[k] = (float)afl_rng_normal(r);
    afl_lbfgs_hvp(&all, v, b1);
    afl_lbfgs_hvp(&last, v, b2);
    for (int k = 0; k < D; k++)
        cr_assert_float_eq(b1[k], b2[k], 1e-4 * (1 + fabsf(b2[k])));
    afl_lbfgs_hvp(&all, s[P - 1], b1);
    for (int k = 0; k < D; k++)
        cr_assert_float_eq(b1[k], y[P - 1][k], 1e-3 * (1 + fabsf(y[P - 1][k])));
    /* v orthogonal to s_2..s_4 and y_2..y_4 (Gram-Schmidt in double) */
    double q[2 * E][D], vd[D];
    for (int j = 0; j < 2 * E; j++) {
        const float *src = j < E ? s[P - E + j] : y[P - E + j - E];
        for (int k = 0; k < D; k++)
            q[j][k] = src[k];
        for (int i = 0; i < j; i++) {
            double dot = 0;
            for (int k = 0; k < D; k++)
                dot += q[i][k] * q[j][k];
            for (int k = 0; k < D; k++)
                q[j][k] -= dot * q[i][k];
        }
        double nn = 0;
        for (int k = 0; k < D; k++)
            nn += q[j][k] * q[j][k];
        for (int k = 0; k < D; k++)
            q[j][k] /= sqrt(nn);
    }
    for (int k = 0; k < D; k++)
        vd[k] = afl_rng_normal(r);
    for (int i = 0; i < 2 * E; i++) {
        double dot = 0;
        for (int k = 0; k < D; k++)
            dot += q[i][k] * vd[k];
        for (int k = 0; k < D; k++)
            vd[k] -= dot * q[i][k];
    }
    for (int k = 0; k < D; k++)
        v[k] = (float)vd[k];
    afl_lbfgs_hvp(&all, v, b1);
    for (int k = 0; k < D; k++)
        cr_assert_float_eq(b1[k], all.mu * v[k], 1e-3 * (1 + fabs(all.mu * v[k])));
    afl_lbfgs_free(&all);
    afl_lbfgs_free(&last);
    afl_rng_free(r);
}

Test(secureafl, lbfgs_refuses_pairs_failing_the_curvature_test_and_caps_mu)
{
    enum { D = 4 };
    afl_lbfgs lb;
    cr_assert_eq(afl_lbfgs_init(&lb, 3, D), 0);
    float s[D] = {1, 0, 0, 0}, yneg[D] = {-1, 1, 0, 0}, ynoise[D] = {0.1f, 5, 0, 0},
          y[D] = {4, 0, 0, 0}, zero[D] = {0};
    float nan_y[D] = {NAN, 0, 0, 0};
    cr_assert_eq(afl_lbfgs_push(&lb, s, nan_y), 0, "non-finite pair refused");
    cr_assert_eq(afl_lbfgs_push(&lb, zero, y), 0, "s = 0 refused");
    lb.curv_c = 0; /* s'y > 0 */
    cr_assert_eq(afl_lbfgs_push(&lb, s, yneg), 0, "negative curvature refused");
    lb.curv_c = 0.1; /* cos(s, y) > 0.1: a noise-dominated y fails */
    cr_assert_eq(afl_lbfgs_push(&lb, s, ynoise), 0);
    cr_assert_eq(afl_lbfgs_push(&lb, s, y), 1);
    cr_assert_float_eq(lb.mu, 4.0, 1e-12);
    lb.mu_max = 2;
    afl_lbfgs_refactor(&lb);
    cr_assert_float_eq(lb.mu, 2.0, 1e-12);
    cr_assert_float_eq(lb.mu_raw, 4.0, 1e-12);
    afl_lbfgs_free(&lb);
}

/* ---- SecureAFL -------------------------------------------------------------------------- */

Test(secureafl, percentile_is_numpy_linear_by_default)
{
    double x[] = {1, 2, 3, 10};
    cr_assert_float_eq(afl_secureafl_percentile(x, 4, 0.8, 0), 5.8, 1e-12);  /* h = 2.4 */
    cr_assert_float_eq(afl_secureafl_percentile(x, 4, 0.8, 1), 3.0, 1e-12);  /* lower */
    cr_assert_float_eq(afl_secureafl_percentile(x, 4, 0.8, 2), 10.0, 1e-12); /* higher */
    cr_assert_float_eq(afl_secureafl_percentile(x, 4, 0.8, 3), 10.0, 1e-12); /* ceil(3.2) = 4th */
    cr_assert_float_eq(afl_secureafl_percentile(x, 1, 0.8, 0), 1.0, 1e-12);
}

Test(secureafl, percentile_filter_accepts_exactly_the_expected_arrivals)
{
    /* Two clients in d = 2.  Client k's j-th update g = (c_j, k) on the model
     * w = (j, k): consecutive updates give lambda = |c_j - c_{j-1}| exactly. */
    harness h;
    const char *sets[] = {"defense.type=secureafl", "defense.pairs=none", NULL};
    harness_open(&h, "secureafl", 2, 2, 0.1, sets);
    struct {
        int client;
        float c, wx;
        int accepted;
        double lambda; /* NAN: none */
    } script[] = {
        {0, 1, 0, 1, NAN},   /* t = 0: applied alone */
        {1, 0, 0, 1, NAN},   /* client 1's first update: no factor, accepted */
        {0, 2, 1, 1, 1},     /* Q = {1}: Q_.8 = 1 -> accept */
        {1, 3, 1, 0, 3},     /* Q = {1,3}: 1 + .8 * 2 = 2.6 -> reject */
        {0, 4, 2, 1, 2},     /* Q = {1,2,3}: h = 1.6 -> 2.6 -> accept */
        {1, 13, 2, 0, 10},   /* Q = {1,2,3,10}: h = 2.4 -> 5.8 -> reject (vs the rejected update) */
        {0, 4.5f, 3, 1, .5}, /* Q = {.5,1,2,3,10}: h = 3.2 -> 4.4 -> accept */
        {1, 17, 3, 1, 4},    /* Q = {.5,1,2,3,4,10}: h = 4 -> 4 -> accept (equal) */
    };
    float step[2];
    for (size_t e = 0; e < sizeof script / sizeof script[0]; e++) {
        int k = script[e].client;
        float g[2] = {script[e].c, (float)k}, w[2] = {script[e].wx, (float)k};
        afl_update pu = {k, 0, 0, 0, 0, g, w, w};
        double pscore;
        int would = h.ops->probe(h.st, &pu, &pscore);
        afl_decision dec = arrive(&h, k, g, w, w, step);
        cr_assert_eq(would, dec.verdict == AFL_VERDICT_ACCEPTED, "event %zu: probe", e);
        cr_assert(isnan(pscore) ? isnan(dec.score) : pscore == dec.score, "event %zu", e);
        cr_assert_eq(dec.verdict == AFL_VERDICT_ACCEPTED, script[e].accepted, "event %zu", e);
        cr_assert_eq(dec.apply, 1, "event %zu: the model always moves", e);
        if (isnan(script[e].lambda))
            cr_assert(isnan(dec.score), "event %zu", e);
        else
            cr_assert_float_eq(dec.score, script[e].lambda, 1e-6, "event %zu: %g", e, dec.score);
    }
    harness_close(&h);
}

Test(secureafl, first_update_is_clipped_to_G_and_only_it_by_default)
{
    float w[2] = {0, 0}, step[2];
    {
        harness h;
        const char *sets[] = {"defense.type=secureafl", "defense.clip_norm=5", NULL};
        harness_open(&h, "secureafl", 3, 2, 0.1, sets);
        float g0[2] = {30, 40}, g1[2] = {60, 80};
        afl_decision dec = arrive(&h, 0, g0, w, w, step);
        cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED);
        cr_assert_float_eq(step[0], 3.0f, 1e-6);
        cr_assert_float_eq(step[1], 4.0f, 1e-6);
        /* client 1's first update at t = 1 is not clipped (clip = t0): median of
         * {g1, ghat_0 = g0} = their mean */
        arrive(&h, 1, g1, w, w, step);
        cr_assert_float_eq(step[0], 45.0f, 1e-5);
        cr_assert_float_eq(step[1], 60.0f, 1e-5);
        harness_close(&h);
    }
    {
        harness h;
        const char *sets[] = {"defense.type=secureafl", "defense.clip_norm=5", "defense.clip=first",
                              NULL};
        harness_open(&h, "secureafl", 3, 2, 0.1, sets);
        float g0[2] = {30, 40}, g1[2] = {60, 80};
        arrive(&h, 0, g0, w, w, step);
        arrive(&h, 1, g1, w, w, step); /* median {clip(g1) = (3,4), ghat_0 = (30,40)} */
        cr_assert_float_eq(step[0], 16.5f, 1e-5);
        cr_assert_float_eq(step[1], 22.0f, 1e-5);
        harness_close(&h);
    }
    {
        harness h; /* variant IV: no clipping at all */
        const char *sets[] = {"defense.type=secureafl", "defense.clip_norm=5", "defense.variant=IV",
                              NULL};
        harness_open(&h, "secureafl", 3, 2, 0.1, sets);
        float g0[2] = {30, 40};
        arrive(&h, 0, g0, w, w, step);
        cr_assert_float_eq(step[0], 30.0f, 1e-6);
        cr_assert_float_eq(step[1], 40.0f, 1e-6);
        harness_close(&h);
    }
}

Test(secureafl, median_over_the_accepted_update_and_the_estimates)
{
    /* Four clients in d = 3 without correction (estimate = last update). */
    harness h;
    const char *sets[] = {"defense.type=secureafl", "defense.pairs=none", NULL};
    harness_open(&h, "secureafl", 4, 3, 0.1, sets);
    float w[3] = {0, 0, 0}, step[3];
    float g1[3] = {1, 10, -1}, g2[3] = {2, 20, -2}, g3[3] = {9, -5, -3}, g0[3] = {4, 0, 100};
    arrive(&h, 1, g1, w, w, step); /* t = 0 */
    arrive(&h, 2, g2, w, w, step); /* median {g2, g1} */
    cr_assert_float_eq(step[0], 1.5f, 1e-6);
    arrive(&h, 3, g3, w, w, step); /* median {g3, g1, g2} */
    cr_assert_float_eq(step[0], 2.0f, 1e-6);
    cr_assert_float_eq(step[1], 10.0f, 1e-6);
    cr_assert_float_eq(step[2], -2.0f, 1e-6);
    afl_decision dec = arrive(&h, 0, g0, w, w, step); /* first update accepted: 4 rows */
    cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert_float_eq(step[0], 3.0f, 1e-6);  /* {1,2,4,9} -> (2+4)/2 */
    cr_assert_float_eq(step[1], 5.0f, 1e-6);  /* {-5,0,10,20} -> 5 */
    cr_assert_float_eq(step[2], -1.5f, 1e-6); /* {-3,-2,-1,100} -> -1.5 */
    harness_close(&h);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

Test(secureafl, median_equals_a_sorted_reference_for_every_row_count_up_to_70)
{
    /* 70 clients send their first update in turn (each accepted, pairs = none):
     * the step at arrival r is the median of r + 1 vectors (network for 3..70
     * rows, mean for 1 and 2), checked against qsort on every coordinate. */
    enum { N = 70, D = 37 };
    harness h;
    const char *sets[] = {"defense.type=secureafl", "defense.pairs=none", NULL};
    harness_open(&h, "secureafl", N, D, 0.1, sets);
    afl_rng *r = afl_rng_create(8, AFL_RNG_TEST, 0);
    static float G[N][D];
    float w[D] = {0}, step[D], col[N];
    for (int k = 0; k < N; k++) {
        for (int j = 0; j < D; j++) /* ties on purpose: values on a coarse grid */
            G[k][j] = (float)((int)(8 * afl_rng_normal(r))) / 4;
        G[k][0] += 100; /* no zero vectors */
        arrive(&h, k, G[k], w, w, step);
        if (k == 0)
            continue; /* t = 0: applied alone */
        for (int j = 0; j < D; j++) {
            for (int q = 0; q <= k; q++)
                col[q] = G[q][j];
            qsort(col, (size_t)k + 1, sizeof *col, cmp_float);
            int m = k + 1;
            float want = (m & 1) ? col[m / 2] : 0.5f * (col[m / 2 - 1] + col[m / 2]);
            cr_assert_float_eq(step[j], want, 1e-6, "rows %d coord %d: %g vs %g", m, j, step[j],
                               want);
        }
    }
    afl_rng_free(r);
    harness_close(&h);
}

Test(secureafl, rejected_update_leaves_the_median_of_the_estimates)
{
    harness h;
    const char *sets[] = {"defense.type=secureafl", "defense.pairs=none", "defense.alpha=0", NULL};
    harness_open(&h, "secureafl", 4, 1, 0.1, sets);
    float step[1];
    float w0[1] = {0}, w1[1] = {1}, w2[1] = {2};
    float a[1] = {1}, b[1] = {2}, c[1] = {3}, c2[1] = {4}, c3[1] = {100};
    arrive(&h, 0, a, w0, w0, step);
    arrive(&h, 1, b, w0, w0, step);
    arrive(&h, 2, c, w0, w0, step);
    afl_decision d1 = arrive(&h, 2, c2, w1, w1, step); /* lambda 1, Q = {1}: accepted */
    cr_assert_eq(d1.verdict, AFL_VERDICT_ACCEPTED);
    afl_decision d2 = arrive(&h, 2, c3, w2, w2, step); /* lambda 96 > Q_0 = 1: rejected */
    cr_assert_eq(d2.verdict, AFL_VERDICT_REJECTED);
    cr_assert_float_eq(step[0], 1.5f, 1e-6, "median of {1, 2} only: %g", step[0]);
    harness_close(&h);
}

Test(secureafl, estimate_adds_the_lbfgs_correction_to_the_last_update)
{
    /* Client 1 sends g = (1,1) on w = (0,0), then g = (3,1) on w = (1,0):
     * one pair s = (1,0), y = (2,0), so B = 2I and its estimate at w^t = (1,2)
     * is (3,1) + 2 (w^t - (1,0)) = (3,5).  Client 0's update is rejected (alpha = 0
     * and a huge factor), so the step is that estimate alone. */
    harness h; /* the literal reading: no cap on mu, no bound on the correction */
    const char *sets[] = {"defense.type=secureafl", "defense.alpha=0", "defense.mu_cap=0",
                          "defense.kappa=0", NULL};
    harness_open(&h, "secureafl", 2, 2, 0.1, sets);
    float step[2], z[2] = {0, 0}, w1[2] = {1, 0}, wt[2] = {1, 2};
    float a[2] = {1, 1}, b[2] = {3, 1}, c0[2] = {0, 0.5f}, c1[2] = {50, -50};
    arrive(&h, 1, a, z, z, step);
    arrive(&h, 1, b, w1, w1, step);
    arrive(&h, 0, c0, z, z, step);
    afl_decision dec = arrive(&h, 0, c1, w1, wt, step);
    cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED);
    cr_assert_float_eq(step[0], 3.0f, 1e-5, "%g", step[0]);
    cr_assert_float_eq(step[1], 5.0f, 1e-5, "%g", step[1]);
    harness_close(&h);
}

Test(secureafl, default_safeguards_cap_mu_and_bound_the_correction_by_kappa)
{
    /* The same history as above with the defaults (mu <= 0.001/lr, |B dw| <= 1 |g|):
     * B = mu_cap/lr I + (y y'/y's - mu s s'/s's) with mu = 0.01 (lr = 0.1), so
     * B (0,2) = (0, 0.02) and the estimate is (3, 1.02); with kappa = 0.001 the
     * correction is cut to 0.001 |(3,1)|. */
    float step[2], z[2] = {0, 0}, w1[2] = {1, 0}, wt[2] = {1, 2};
    float a[2] = {1, 1}, b[2] = {3, 1}, c0[2] = {0, 0.5f}, c1[2] = {50, -50};
    for (int v = 0; v < 2; v++) {
        harness h;
        const char *sets[] = {"defense.type=secureafl", "defense.alpha=0",
                              v ? "defense.kappa=0.001" : "defense.kappa=1", NULL};
        harness_open(&h, "secureafl", 2, 2, 0.1, sets);
        arrive(&h, 1, a, z, z, step);
        arrive(&h, 1, b, w1, w1, step);
        arrive(&h, 0, c0, z, z, step);
        arrive(&h, 0, c1, w1, wt, step);
        cr_assert_float_eq(step[0], 3.0f, 1e-5, "%g", step[0]);
        float want = v ? 1.0f + 0.001f * sqrtf(10.0f) : 1.02f;
        cr_assert_float_eq(step[1], want, 1e-5, "variant %d: %g vs %g", v, step[1], want);
        harness_close(&h);
    }
}

Test(secureafl, hostile_updates_are_rejected_and_never_reach_Q_the_buffers_or_the_median)
{
    enum { D = 8, N = 4 };
    harness h;
    const char *sets[] = {"defense.type=secureafl", NULL};
    harness_open(&h, "secureafl", N, D, 0.1, sets);
    float w[D] = {0}, step[D], g[D];
    for (int j = 0; j < D; j++)
        g[j] = NAN;
    afl_decision dec = arrive(&h, 0, g, w, w, step);
    cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED);
    cr_assert_eq(dec.apply, 0, "nothing to apply at t = 0");
    afl_rng *r = afl_rng_create(4, AFL_RNG_TEST, 0);
    for (int t = 0; t < 60; t++) {
        int k = t % N;
        for (int j = 0; j < D; j++) {
            g[j] = 1.0f + 0.1f * (float)afl_rng_normal(r);
            w[j] += 0.01f;
        }
        int kind = t % 6;
        if (t >= 8 && kind < 4) {
            if (kind == 0)
                g[2] = NAN;
            else if (kind == 1)
                g[5] = -INFINITY;
            else if (kind == 2)
                for (int j = 0; j < D; j++)
                    g[j] = 1e30f;
            else
                for (int j = 0; j < D; j++)
                    g[j] = 0;
        }
        dec = arrive(&h, k, g, w, w, step);
        if (t >= 8 && kind < 4) {
            cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED, "t %d kind %d", t, kind);
            cr_assert(isnan(dec.score), "t %d: no factor for a hostile update", t);
        }
        if (dec.apply)
            for (int j = 0; j < D; j++)
                cr_assert(isfinite(step[j]) && fabsf(step[j]) < 10, "t %d: step %g", t, step[j]);
    }
    afl_rng_free(r);
    harness_close(&h);
}

Test(secureafl, every_variant_and_reading_runs_and_keeps_steps_finite)
{
    /* On |w - 1|^2 / 2 with noisy gradients every stable reading approaches 1.
     * FLDetector-style global pairs are run for finiteness only: their
     * y = step^t - step^{t-1} is noise, mu ~ 1/lr, and they diverge here too
     * (docs/defenses-secureafl.md). */
    struct {
        const char *a, *b;
        int stable;
    } readings[] = {
        {"defense.variant=I", "defense.pairs=client", 1},
        {"defense.variant=II", "defense.pairs=client", 1},
        {"defense.variant=III", "defense.pairs=pooled", 1},
        {"defense.variant=IV", "defense.kappa=1", 1},
        {"defense.pairs=global", "defense.mu_cap=0.1", 0},
        {"defense.mu_cap=1", "defense.q_window=5", 1},
        {"defense.absent=zero", "defense.store=accepted", 1},
        {"defense.pairs=none", "defense.percentile=nearest_rank", 1},
        {"defense.tril=inclusive", "defense.bad_curvature=drop", 0},
        {"defense.curv_c=0", "defense.min_pairs=3", 1},
    };
    enum { D = 33, N = 5 };
    for (size_t v = 0; v < sizeof readings / sizeof readings[0]; v++) {
        harness h;
        const char *sets[] = {"defense.type=secureafl", readings[v].a, readings[v].b, NULL};
        harness_open(&h, "secureafl", N, D, 0.05, sets);
        afl_rng *r = afl_rng_create(5, AFL_RNG_TEST, v);
        float w[D] = {0}, g[D], step[D];
        for (int t = 0; t < 80; t++) {
            int k = (int)afl_rng_below(r, N);
            for (int j = 0; j < D; j++)
                g[j] = w[j] - 1.0f + 0.3f * (float)afl_rng_normal(r); /* gradient of |w - 1|^2/2 */
            afl_decision dec = arrive(&h, k, g, w, w, step);
            if (dec.apply)
                for (int j = 0; j < D; j++) {
                    cr_assert(isfinite(step[j]), "reading %zu t %d", v, t);
                    w[j] -= 0.05f * step[j];
                }
        }
        for (int j = 0; j < D && readings[v].stable; j++)
            cr_assert(fabsf(w[j] - 1.0f) < 0.9f, "reading %zu: w[%d] = %g", v, j, w[j]);
        afl_rng_free(r);
        harness_close(&h);
    }
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* The defense's checkpoint (every piece of its state, the carried dots included) as
 * bytes; *len receives the length. */
static unsigned char *state_bytes(harness *h, const char *path, size_t *len)
{
    afl_ckpt *ck = NULL;
    cr_assert_eq(afl_ckpt_create(path, &ck, &err), AFL_OK, "%s", err.msg);
    h->ops->ckpt(h->st, ck);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_OK, "%s", err.msg);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    cr_assert_not_null(b);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    remove(path);
    return b;
}

/* The same arrivals through SecureAFL with ctx.threads = 1, 2 and 3 side by side: every
 * decision (verdict, apply, score, weight, aux) and every step must be the same bits, and
 * every 20 arrivals so must the whole state (its checkpoint: the carried dots of
 * pairs = client are summed in double and reach the steps only through a rounding to
 * float, so a different order of summation would seldom show in the steps).  Versions
 * advance as the engine's do (w <- w - lr step), so the carried dots are used from round to
 * round; d is not a multiple of the chunk (1024 coordinates), so the chunks split
 * unevenly among the threads. */
static void threads_case(const char *const *sets, int n, size_t d, int rounds)
{
    enum { T = 3, HIST = 12 };
    const double lr = 0.05;
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/state.ckpt", dir);
    harness h[T];
    for (int t = 0; t < T; t++)
        harness_open_threads(&h[t], "secureafl", n, d, lr, sets, t + 1);
    afl_rng *r = afl_rng_create(21, AFL_RNG_TEST, 0);
    float *hist = calloc((size_t)HIST * d, sizeof(float)), *g = malloc(d * sizeof(float));
    float *off = malloc((size_t)n * d * sizeof(float)), *step[T];
    for (int t = 0; t < T; t++)
        step[t] = malloc(d * sizeof(float));
    cr_assert(hist && g && off && step[0] && step[1] && step[2]);
    for (size_t j = 0; j < (size_t)n * d; j++) /* non-IID: a fixed offset per client */
        off[j] = 0.2f * (float)afl_rng_normal(r);
    int64_t version = 0;
    int applied = 0, rejected = 0;
    for (int e = 0; e < rounds; e++) {
        int k = e < n ? e : (int)afl_rng_below(r, (uint64_t)n);
        int64_t tau = (int64_t)afl_rng_below(r, 6);
        tau = tau > version ? version : tau;
        int64_t base = version - tau;
        const float *wb = hist + (size_t)(base % HIST) * d;
        const float *wc = hist + (size_t)(version % HIST) * d;
        /* gradient of sum_j (1 + j % 7) (w_j - 1)^2 / 2 plus noise; client 1 sends
         * reversed, scaled updates now and then */
        for (size_t j = 0; j < d; j++)
            g[j] = (float)(1 + j % 7) * (wb[j] - 1.0f) + off[(size_t)k * d + j] +
                   0.1f * (float)afl_rng_normal(r);
        if (k == 1 && e % 3 == 0)
            for (size_t j = 0; j < d; j++)
                g[j] *= -4.0f;
        afl_update u = {k, base, version, tau, (double)e, g, wb, wc};
        afl_decision dec[T];
        for (int t = 0; t < T; t++) {
            dec[t] = (afl_decision){AFL_VERDICT_ACCEPTED, NAN, NAN, 0, NAN};
            memset(step[t], 0, d * sizeof(float));
            cr_assert_eq(h[t].ops->on_update(h[t].st, &u, step[t], &dec[t], &err), AFL_OK, "%s",
                         err.msg);
        }
        for (int t = 1; t < T; t++) {
            cr_assert_eq(dec[t].verdict, dec[0].verdict, "arrival %d, %d threads", e, t + 1);
            cr_assert_eq(dec[t].apply, dec[0].apply, "arrival %d, %d threads", e, t + 1);
            cr_assert(same_bits(dec[t].score, dec[0].score), "arrival %d, %d threads: %.17g %.17g",
                      e, t + 1, dec[t].score, dec[0].score);
            cr_assert(same_bits(dec[t].weight, dec[0].weight), "arrival %d, %d threads", e, t + 1);
            cr_assert(same_bits(dec[t].aux, dec[0].aux), "arrival %d, %d threads: %.17g %.17g", e,
                      t + 1, dec[t].aux, dec[0].aux);
            cr_assert(memcmp(step[t], step[0], d * sizeof(float)) == 0,
                      "arrival %d, %d threads: steps differ", e, t + 1);
        }
        if (e % 20 == 19 || e == rounds - 1) {
            size_t len0, len;
            unsigned char *b0 = state_bytes(&h[0], path, &len0);
            for (int t = 1; t < T; t++) {
                unsigned char *b = state_bytes(&h[t], path, &len);
                cr_assert(len == len0 && memcmp(b, b0, len) == 0,
                          "arrival %d, %d threads: the states differ", e, t + 1);
                free(b);
            }
            free(b0);
        }
        rejected += dec[0].verdict == AFL_VERDICT_REJECTED;
        if (dec[0].apply) {
            float *next = hist + (size_t)((version + 1) % HIST) * d;
            for (size_t j = 0; j < d; j++) {
                cr_assert(isfinite(step[0][j]), "arrival %d coord %zu", e, j);
                next[j] = wc[j] - (float)lr * step[0][j];
            }
            version++;
            applied++;
        }
    }
    cr_assert_gt(applied, rounds / 2);
    cr_assert_gt(rejected, 0, "the filter rejected nothing: the script tests too little");
    for (int t = 0; t < T; t++) {
        harness_close(&h[t]);
        free(step[t]);
    }
    free(hist);
    free(g);
    free(off);
    afl_rng_free(r);
    rmdir(dir);
    free(dir);
}

Test(secureafl, results_are_the_same_bits_with_1_2_and_3_threads)
{
    const char *full[] = {"defense.type=secureafl", "defense.pairs=client", NULL};
    threads_case(full, 20, 5000 + 13, 160);
    const char *mean[] = {"defense.type=secureafl", "defense.pairs=client", "defense.variant=III",
                          NULL};
    threads_case(mean, 20, 5000 + 13, 100);
    /* more rows than the median network takes: quickselect with each thread's column */
    const char *many[] = {"defense.type=secureafl", "defense.pairs=none", NULL};
    threads_case(many, 270, 2048 + 5, 300);
}

/* ---- FLDetector ------------------------------------------------------------------------- */

Test(secureafl, gap_statistic_picks_one_cluster_and_two_separated_clusters)
{
    afl_rng *r = afl_rng_create(9, AFL_RNG_TEST, 0);
    double x[40];
    for (int i = 0; i < 40; i++)
        x[i] = 1.0 + 0.1 * afl_rng_normal(r);
    afl_rng *g1 = afl_rng_create(9, AFL_RNG_DEFENSE, 0);
    cr_assert_eq(afl_fldetector_gap_k(x, 40, 7, 10, g1), 1);
    for (int i = 0; i < 40; i++)
        x[i] = (i < 34 ? 1.0 : 5.0) + 0.05 * afl_rng_normal(r);
    afl_rng *g2 = afl_rng_create(9, AFL_RNG_DEFENSE, 0);
    int k = afl_fldetector_gap_k(x, 40, 7, 10, g2);
    cr_assert_eq(k, 2, "k = %d", k);
    /* all equal: nothing to separate */
    for (int i = 0; i < 40; i++)
        x[i] = 3;
    cr_assert_eq(afl_fldetector_gap_k(x, 40, 7, 10, g2), 1);
    afl_rng_free(g1);
    afl_rng_free(g2);
    afl_rng_free(r);
}

Test(secureafl, fldetector_removes_a_client_whose_updates_are_far_off_its_prediction)
{
    /* Ten clients minimise |w - 1|^2 / 2 in d = 20 with small noise; client 3
     * sends random vectors.  FLDetector (warm-up 200 updates, past the initial
     * transient; scores over 10 arrivals; detection every 10 scored arrivals)
     * must remove client 3 and nobody else. */
    enum { D = 20, N = 10, BAD = 3 };
    harness h;
    const char *sets[] = {"defense.type=fldetector", "defense.warmup=200",      "defense.window=10",
                          "defense.min_arrivals=10", "defense.detect_every=10", NULL};
    harness_open(&h, "fldetector", N, D, 0.05, sets);
    afl_rng *r = afl_rng_create(6, AFL_RNG_TEST, 0);
    float w[D] = {0}, g[D], step[D];
    int bad_rejected_late = 0, bad_late = 0, good_rejected = 0;
    for (int t = 0; t < 1500; t++) {
        int k = (int)afl_rng_below(r, N);
        for (int j = 0; j < D; j++)
            g[j] = k == BAD ? 3.0f * (float)afl_rng_normal(r)
                            : w[j] - 1.0f + 0.05f * (float)afl_rng_normal(r);
        afl_decision dec = arrive(&h, k, g, w, w, step);
        if (k == BAD && t >= 1000) {
            bad_late++;
            bad_rejected_late += dec.verdict == AFL_VERDICT_REJECTED;
        }
        if (k != BAD)
            good_rejected += dec.verdict == AFL_VERDICT_REJECTED;
        if (dec.apply)
            for (int j = 0; j < D; j++)
                w[j] -= 0.05f * step[j];
    }
    cr_assert_gt(bad_late, 5);
    cr_assert_eq(bad_rejected_late, bad_late, "client %d removed (%d of %d late updates rejected)",
                 BAD, bad_rejected_late, bad_late);
    cr_assert_eq(good_rejected, 0, "no benign client removed");
    afl_rng_free(r);
    harness_close(&h);
}

/* ---- FLDetector with aggregate = buffered ----------------------------------------------- */

Test(secureafl, fldetector_buffered_median_applies_the_coordinate_wise_median_of_3_held_updates)
{
    /* Before the warm-up nothing is scored, so every finite update is accepted: the first
     * two of each group of 3 are held (no step, weight NAN), the third applies one step,
     * the coordinate-wise median of the three, and empties the buffer. */
    enum { D = 4, N = 5 };
    harness h;
    const char *sets[] = {"defense.type=fldetector", "defense.aggregate=buffered",
                          "defense.rule=median", "defense.buffer=3", NULL};
    harness_open(&h, "fldetector", N, D, 0.1, sets);
    static const float g[6][D] = {
        {1, 5, -2, 0}, {3, 4, 0, 7},   {2, -1, 9, 1},     /* median {2, 4, 0, 1} */
        {-1, 0, 0, 8}, {-3, 2, 6, -8}, {10, 1, -6, 2.5f}, /* median {-1, 1, 0, 2.5} */
    };
    static const float med[2][D] = {{2, 4, 0, 1}, {-1, 1, 0, 2.5f}};
    static const int who[6] = {0, 1, 2, 3, 0, 4};
    float w[D] = {0.5f, -0.5f, 1, 0}, step[D];
    for (int t = 0; t < 6; t++) {
        for (int j = 0; j < D; j++)
            step[j] = 1234.0f; /* must stay untouched by a held arrival's caller */
        afl_decision dec = arrive(&h, who[t], g[t], w, w, step);
        if (t % 3 < 2) {
            cr_assert_eq(dec.verdict, AFL_VERDICT_HELD, "arrival %d", t);
            cr_assert_eq(dec.apply, 0, "arrival %d", t);
            cr_assert(isnan(dec.weight), "arrival %d: weight %g", t, dec.weight);
            continue;
        }
        cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED, "arrival %d", t);
        cr_assert_eq(dec.apply, 1, "arrival %d", t);
        cr_assert_eq(dec.weight, 1.0, "arrival %d", t);
        for (int j = 0; j < D; j++) {
            cr_assert_eq(step[j], med[t / 3][j], "flush %d coord %d: %g, expected %g", t / 3, j,
                         step[j], med[t / 3][j]);
            w[j] -= 0.1f * step[j];
        }
    }
    harness_close(&h);
}

Test(secureafl, fldetector_buffered_rule_is_checked_against_the_buffer)
{
    /* krum needs buffer >= 2f + 3: 5 < 2 * 2 + 3; the message names the defense */
    const char *sets[] = {"defense.type=fldetector",
                          "defense.aggregate=buffered",
                          "defense.rule=krum",
                          "defense.buffer=5",
                          "defense.f=2",
                          NULL};
    afl_config *cfg = config_with(sets);
    afl_rng *rng = afl_rng_create(3, AFL_RNG_DEFENSE, 0);
    afl_defense_ctx ctx = {cfg, 10, 10, 8, 0.1, 8, 3, rng, 0, NULL, NULL, NULL, 0};
    void *st = NULL;
    const afl_defense_ops *ops = afl_defense_find("fldetector");
    cr_assert_eq(ops->create(&ctx, &st, &err), AFL_EINPUT);
    cr_assert_not_null(strstr(err.msg, "defense fldetector, aggregate = buffered (buffer = 5)"),
                       "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "defense.f = 2"), "%s", err.msg);
    /* the same keys are not checked with the default aggregate = asyncsgd */
    const char *async[] = {"defense.type=fldetector", "defense.rule=krum", "defense.buffer=5",
                           "defense.f=2", NULL};
    afl_config *cfg2 = config_with(async);
    ctx.cfg = cfg2;
    cr_assert_eq(ops->create(&ctx, &st, &err), AFL_OK, "%s", err.msg);
    ops->destroy(st);
    afl_rng_free(rng);
    afl_config_free(cfg);
    afl_config_free(cfg2);
}

/* Would the defense still accept an update of client k (i.e. is k not removed)? */
static int fld_active(harness *h, int k)
{
    float z[64] = {0};
    cr_assert_leq(h->d, 64);
    afl_update u = {k, 0, 0, 0, 0, z, z, z};
    double score;
    return h->ops->probe(h->st, &u, &score);
}

Test(secureafl, fldetector_buffered_drops_a_removed_clients_held_updates_from_the_step)
{
    /* The setting of fldetector_removes_a_client_whose_updates_are_far_off_its_prediction
     * with a buffer of 5 and rule = mean (any held row shows in the step), and client 3,
     * the one sending random vectors, on every third arrival so that its updates are
     * nearly always in the buffer.  The test mirrors the buffer: after each arrival, held
     * updates of clients the defense has removed are dropped; each flush must be the mean
     * of exactly the mirrored rows plus the flushing one (K = 5 of them), and at least
     * once client 3 is removed while one of its updates is held. */
    enum { D = 20, N = 10, BAD = 3, K = 5 };
    harness h;
    const char *sets[] = {
        "defense.type=fldetector", "defense.aggregate=buffered", "defense.rule=mean",
        "defense.buffer=5",        "defense.warmup=40",          "defense.window=10",
        "defense.min_arrivals=10", "defense.detect_every=10",    NULL};
    harness_open(&h, "fldetector", N, D, 0.05, sets);
    afl_rng *r = afl_rng_create(6, AFL_RNG_TEST, 0);
    float w[D] = {0}, g[D], step[D], held[K][D];
    int held_from[K], nheld = 0, flushes = 0, dropped_bad = 0, bad_late = 0, bad_rejected = 0;
    int good_rejected = 0;
    for (int t = 0; t < 3000; t++) {
        int k = t % 3 == 0 ? BAD : (int)afl_rng_below(r, N - 1);
        k += k >= BAD && t % 3 != 0; /* benign: 0..9 without 3 */
        for (int j = 0; j < D; j++)
            g[j] = k == BAD ? 3.0f * (float)afl_rng_normal(r)
                            : w[j] - 1.0f + 0.05f * (float)afl_rng_normal(r);
        afl_decision dec = arrive(&h, k, g, w, w, step);
        /* the mirror: a detection during this arrival removes clients before it is held */
        int keep = 0;
        for (int m = 0; m < nheld; m++) {
            if (!fld_active(&h, held_from[m])) {
                dropped_bad += held_from[m] == BAD;
                continue;
            }
            memcpy(held[keep], held[m], sizeof held[m]);
            held_from[keep++] = held_from[m];
        }
        nheld = keep;
        if (k == BAD && t >= 2000) {
            bad_late++;
            bad_rejected += dec.verdict == AFL_VERDICT_REJECTED;
        }
        if (k != BAD)
            good_rejected += dec.verdict == AFL_VERDICT_REJECTED;
        if (dec.verdict == AFL_VERDICT_REJECTED)
            continue;
        cr_assert_lt(nheld, K, "arrival %d: the mirror holds %d", t, nheld);
        memcpy(held[nheld], g, sizeof g);
        held_from[nheld++] = k;
        if (dec.verdict == AFL_VERDICT_HELD) {
            cr_assert_eq(dec.apply, 0);
            continue;
        }
        cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED, "arrival %d", t);
        cr_assert_eq(dec.apply, 1);
        cr_assert_eq(nheld, K, "arrival %d flushed %d mirrored rows, not %d", t, nheld, K);
        for (int j = 0; j < D; j++) {
            double acc = 0;
            for (int m = 0; m < K; m++)
                acc += held[m][j];
            cr_assert(fabs(step[j] - acc / K) <= 1e-5 * (1 + fabs(acc / K)),
                      "arrival %d coord %d: step %g, mean of the held rows %g", t, j, step[j],
                      acc / K);
            w[j] -= 0.05f * step[j];
        }
        nheld = 0;
        flushes++;
    }
    cr_assert_gt(flushes, 100);
    cr_assert_gt(bad_late, 5);
    cr_assert_eq(bad_rejected, bad_late, "client %d removed (%d of %d late updates rejected)", BAD,
                 bad_rejected, bad_late);
    cr_assert_eq(good_rejected, 0, "no benign client removed");
    cr_assert_gt(dropped_bad, 0,
                 "client %d was never removed while an update of it was held: the script tests "
                 "too little",
                 BAD);
    afl_rng_free(r);
    harness_close(&h);
}

Test(secureafl, fldetector_buffered_with_a_buffer_of_1_and_the_mean_is_asyncsgd)
{
    /* K = 1, rule = mean: every accepted update flushes alone, so the decisions (scores,
     * distances, removals) and steps must be those of aggregate = asyncsgd, bit for bit:
     * the pairs, the warm-up and the predictions are per model update in both. */
    enum { D = 20, N = 10, BAD = 3 };
    harness a, b;
    const char *sa[] = {"defense.type=fldetector", "defense.warmup=200",      "defense.window=10",
                        "defense.min_arrivals=10", "defense.detect_every=10", NULL};
    const char *sb[] = {
        "defense.type=fldetector", "defense.warmup=200",      "defense.window=10",
        "defense.min_arrivals=10", "defense.detect_every=10", "defense.aggregate=buffered",
        "defense.buffer=1",        "defense.rule=mean",       NULL};
    harness_open(&a, "fldetector", N, D, 0.05, sa);
    harness_open(&b, "fldetector", N, D, 0.05, sb);
    afl_rng *r = afl_rng_create(6, AFL_RNG_TEST, 0);
    float w[D] = {0}, g[D], step_a[D], step_b[D];
    int rejected = 0;
    for (int t = 0; t < 1500; t++) {
        int k = (int)afl_rng_below(r, N);
        for (int j = 0; j < D; j++)
            g[j] = k == BAD ? 3.0f * (float)afl_rng_normal(r)
                            : w[j] - 1.0f + 0.05f * (float)afl_rng_normal(r);
        afl_decision da = arrive(&a, k, g, w, w, step_a), db = arrive(&b, k, g, w, w, step_b);
        cr_assert_eq(da.verdict, db.verdict, "arrival %d", t);
        cr_assert_eq(da.apply, db.apply, "arrival %d", t);
        cr_assert(same_bits(da.score, db.score) || (isnan(da.score) && isnan(db.score)),
                  "arrival %d: score %.17g %.17g", t, da.score, db.score);
        cr_assert(same_bits(da.aux, db.aux) || (isnan(da.aux) && isnan(db.aux)),
                  "arrival %d: aux %.17g %.17g", t, da.aux, db.aux);
        rejected += da.verdict == AFL_VERDICT_REJECTED;
        if (da.apply) {
            cr_assert(memcmp(step_a, step_b, sizeof step_a) == 0, "arrival %d: steps differ", t);
            for (int j = 0; j < D; j++)
                w[j] -= 0.05f * step_a[j];
        }
    }
    cr_assert_gt(rejected, 0, "nobody removed: the script tests too little");
    afl_rng_free(r);
    harness_close(&a);
    harness_close(&b);
}
