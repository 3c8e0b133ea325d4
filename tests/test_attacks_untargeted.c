/* tests/test_attacks_untargeted.c - the untargeted attacks (docs/attacks-untargeted.md) on
 * small hand-checkable inputs: each op is called directly with a hand-built context (a
 * resolved config) and a hand-built view of what the attacker knows.
 * Sources: specs/algorithms.md sections 3.1-3.3, 3.5-3.9; specs/secureafl.md section 2.1. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack.h"
#include "defenses/rules.h"
#include "sim/config.h"
#include "sim/rng.h"

enum { DMAX = 20000, KMAX = 64 };

typedef struct {
    afl_config *cfg;
    afl_attack_ctx ctx;
    const afl_attack_ops *ops;
    void *st;
    afl_rng *rng;
} fixture;

static float zeros[DMAX];

/* Creates attack `type` with overrides (NULL-terminated), n clients of which m malicious,
 * dimension d. */
static void open_attack(fixture *f, const char *type, const char *const *sets, int n, int m,
                        size_t d)
{
    afl_err err = {0};
    char buf[160];
    f->cfg = afl_config_new();
    snprintf(buf, sizeof buf, "attack.type=%s", type);
    cr_assert_eq(afl_config_override(f->cfg, buf, &err), AFL_OK, "%s", err.msg);
    snprintf(buf, sizeof buf, "clients.n=%d", n);
    cr_assert_eq(afl_config_override(f->cfg, buf, &err), AFL_OK, "%s", err.msg);
    for (int i = 0; sets && sets[i]; i++)
        cr_assert_eq(afl_config_override(f->cfg, sets[i], &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(f->cfg, &err), AFL_OK, "%s: %s", type, err.msg);
    f->rng = afl_rng_create(7, AFL_RNG_TEST, 0);
    f->ctx = (afl_attack_ctx){f->cfg, n,    m,  10, 1, 1,      (int)d, 0,    d,
                              0.01,   0.01, 32, 10, 7, f->rng, NULL,   NULL, NULL};
    f->ops = afl_attack_find(type);
    cr_assert_not_null(f->ops, "attack %s is not registered", type);
    cr_assert_eq(f->ops->create(&f->ctx, &f->st, &err), AFL_OK, "%s: %s", type, err.msg);
}

static void close_attack(fixture *f)
{
    f->ops->destroy(f->st);
    afl_rng_free(f->rng);
    afl_config_free(f->cfg);
}

/* A view with known updates (k rows of the row-major x (k, d)), newest first. */
static afl_attack_view view_of(const float *x, int k, size_t d, int full, const float **rows)
{
    for (int i = 0; i < k; i++)
        rows[i] = x + (size_t)i * d;
    afl_attack_view v = {0, 100, 100, 95, zeros, zeros, NULL, k, rows, full, 50, 10, NULL, NULL};
    return v;
}

static void craft(fixture *f, afl_attack_view *v, float *g, size_t d)
{
    static float gen[DMAX];
    memcpy(gen, g, d * sizeof *g);
    v->genuine = gen;
    f->ops->craft(f->st, v, g, f->rng);
}

static void fill_normal(float *x, size_t n, double mean, double sd, afl_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mean + sd * afl_rng_normal(r));
}

static int all_finite(const float *x, size_t d)
{
    for (size_t j = 0; j < d; j++)
        if (!isfinite(x[j]))
            return 0;
    return 1;
}

/* coordinate-wise mean and std (divisor n - ddof) of x (k, d) */
static void col_stats(const float *x, int k, size_t d, int ddof, double *mu, double *sd)
{
    for (size_t j = 0; j < d; j++) {
        double s = 0, q = 0;
        for (int i = 0; i < k; i++)
            s += x[(size_t)i * d + j];
        s /= k;
        for (int i = 0; i < k; i++) {
            double e = x[(size_t)i * d + j] - s;
            q += e * e;
        }
        mu[j] = s;
        sd[j] = k - ddof > 0 ? sqrt(q / (k - ddof)) : 0;
    }
}

/* ---- label flip ---------------------------------------------------------------------- */

Test(attacks_untargeted, labelflip_maps_every_label_l_to_C_minus_1_minus_l)
{
    fixture f;
    open_attack(&f, "labelflip", NULL, 50, 10, 4);
    int32_t y[100];
    float x[100];
    for (int i = 0; i < 100; i++)
        y[i] = i % 10, x[i] = (float)i;
    f.ops->poison_batch(f.st, 0, x, y, 100, f.rng);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(y[i], 9 - i % 10, "label %d became %d", i % 10, y[i]);
        cr_assert_eq(x[i], (float)i, "inputs are not touched");
    }
    cr_assert_null(f.ops->craft, "label flip is pure data poisoning");
    close_attack(&f);
}

Test(attacks_untargeted, labelflip_fraction_flips_about_that_share_and_zero_flips_none)
{
    static int32_t y[20000];
    fixture f;
    const char *sets[] = {"attack.flip_fraction=0.3", NULL};
    open_attack(&f, "labelflip", sets, 50, 10, 4);
    for (int i = 0; i < 20000; i++)
        y[i] = i % 10;
    f.ops->poison_batch(f.st, 0, NULL, y, 20000, f.rng);
    int flipped = 0;
    for (int i = 0; i < 20000; i++)
        flipped += y[i] != i % 10;
    cr_assert(flipped > 0.28 * 20000 && flipped < 0.32 * 20000, "flipped %d of 20000", flipped);
    close_attack(&f);

    const char *none[] = {"attack.flip_fraction=0", NULL};
    open_attack(&f, "labelflip", none, 50, 10, 4);
    for (int i = 0; i < 20000; i++)
        y[i] = i % 10;
    f.ops->poison_batch(f.st, 0, NULL, y, 20000, f.rng);
    for (int i = 0; i < 20000; i++)
        cr_assert_eq(y[i], i % 10);
    close_attack(&f);
}

/* ---- IPM, LIE ------------------------------------------------------------------------ */

Test(attacks_untargeted, ipm_sends_minus_epsilon_times_the_known_mean)
{
    fixture f;
    const char *sets[] = {"attack.epsilon=0.5", NULL};
    open_attack(&f, "ipm", sets, 50, 10, 4);
    float x[3 * 4] = {1, 2, 3, 4, 3, 2, 1, 0, 2, 2, 2, -1};
    const float *rows[3];
    afl_attack_view v = view_of(x, 3, 4, 1, rows);
    float g[4] = {9, 9, 9, 9};
    craft(&f, &v, g, 4);
    float want[4] = {-1, -1, -1, -0.5f};
    for (int j = 0; j < 4; j++)
        cr_assert_float_eq(g[j], want[j], 1e-6);
    /* nothing known yet: -epsilon * own update */
    v.n_known = 0;
    float h[4] = {2, -4, 0, 1};
    craft(&f, &v, h, 4);
    cr_assert_float_eq(h[0], -1, 1e-6);
    cr_assert_float_eq(h[1], 2, 1e-6);
    cr_assert_float_eq(h[3], -0.5f, 1e-6);
    close_attack(&f);
}

Test(attacks_untargeted, lie_sends_mu_minus_z_sigma_with_population_std)
{
    fixture f;
    const char *sets[] = {"attack.z_formula=fixed", "attack.z=1.5", NULL};
    open_attack(&f, "lie", sets, 50, 10, 3);
    float x[4 * 3] = {1, 0, 5, 3, 0, 5, 1, 4, 5, 3, 4, 5};
    const float *rows[4];
    afl_attack_view v = view_of(x, 4, 3, 0, rows);
    float g[3] = {0, 0, 0};
    craft(&f, &v, g, 3);
    /* column 0: mu 2, sigma 1; column 1: mu 2, sigma 2; column 2: mu 5, sigma 0 */
    cr_assert_float_eq(g[0], 2 - 1.5 * 1, 1e-6);
    cr_assert_float_eq(g[1], 2 - 1.5 * 2, 1e-6);
    cr_assert_float_eq(g[2], 5, 1e-6);
    close_attack(&f);
}

/* z recovered from the output on known {0, 2} per coordinate (mu = 1, sigma = 1) */
static double lie_z_of(const char *formula, int n, int m)
{
    fixture f;
    char set[64];
    snprintf(set, sizeof set, "attack.z_formula=%s", formula);
    const char *sets[] = {set, NULL};
    open_attack(&f, "lie", sets, n, m, 2);
    float x[2 * 2] = {0, 0, 2, 2};
    const float *rows[2];
    afl_attack_view v = view_of(x, 2, 2, 1, rows);
    float g[2] = {0, 0};
    craft(&f, &v, g, 2);
    close_attack(&f);
    return 1.0 - g[0];
}

Test(attacks_untargeted, lie_z_formulas_match_the_paper_and_epfl_tables)
{
    /* specs/algorithms.md section 3.7 table */
    cr_assert_float_eq(lie_z_of("paper", 50, 10), 0.468, 1e-3);
    cr_assert_float_eq(lie_z_of("epfl", 50, 10), 0.253, 1e-3);
    cr_assert_float_eq(lie_z_of("paper", 51, 12), 0.599, 1e-3);
    cr_assert_float_eq(lie_z_of("epfl", 51, 12), 0.361, 1e-3);
    cr_assert_float_eq(lie_z_of("paper", 100, 28), 0.739, 1e-3);
    cr_assert_float_eq(lie_z_of("epfl", 100, 28), 0.469, 1e-3);
    /* attackers in the majority: p clamped, z finite */
    double z = lie_z_of("paper", 10, 8);
    cr_assert(isfinite(z) && z > 4 && z < 5, "z = %g", z);
}

/* ---- Trim ---------------------------------------------------------------------------- */

Test(attacks_untargeted, trim_full_values_lie_in_fangs_intervals_opposite_to_the_benign_direction)
{
    enum { K = 8, D = 400 };
    static float x[K * D], g[D];
    static double mu[D], sd[D];
    fixture f;
    open_attack(&f, "trim", NULL, 50, 10, D);
    /* coordinate means spread over both signs, some columns all-positive / all-negative */
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((j % 7 - 3) * 0.8 + afl_rng_normal(f.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    craft(&f, &v, g, D);
    col_stats(x, K, D, 0, mu, sd);
    for (int j = 0; j < D; j++) {
        double mn = INFINITY, mx = -INFINITY;
        for (int i = 0; i < K; i++) {
            mn = fmin(mn, x[i * D + j]);
            mx = fmax(mx, x[i * D + j]);
        }
        double lo, hi;
        if (mu[j] > 0) { /* parameter decreases: push g_j down, below every benign value */
            lo = mn > 0 ? mn / 2 : 2 * mn;
            hi = mn;
        } else { /* push g_j up, above every benign value */
            lo = mx;
            hi = mx > 0 ? 2 * mx : mx / 2;
        }
        cr_assert(g[j] >= lo - 1e-5 && g[j] <= hi + 1e-5,
                  "coordinate %d: %g not in [%g, %g] (mean %g)", j, g[j], lo, hi, mu[j]);
    }
    close_attack(&f);
}

Test(attacks_untargeted, trim_fld_variant_is_fldetectors_deterministic_full_trim)
{
    fixture f;
    const char *sets[] = {"attack.variant=fld", NULL};
    open_attack(&f, "trim", sets, 50, 10, 4);
    /* columns: mean > 0 & min > 0; mean > 0 & min < 0; mean < 0 & max < 0; mean < 0 & max > 0 */
    float x[3 * 4] = {1, 5, -1, -5, 2, -1, -2, 1, 3, 5, -3, -5};
    const float *rows[3];
    afl_attack_view v = view_of(x, 3, 4, 1, rows);
    float g[4];
    craft(&f, &v, g, 4);
    cr_assert_float_eq(g[0], 0.5, 1e-6);  /* min 1 / 2 */
    cr_assert_float_eq(g[1], -2, 1e-6);   /* min -1 * 2 */
    cr_assert_float_eq(g[2], -0.5, 1e-6); /* max -1 / 2 */
    cr_assert_float_eq(g[3], 2, 1e-6);    /* max 1 * 2 */
    close_attack(&f);
}

Test(attacks_untargeted, trim_partial_values_lie_3_to_4_sigma_beyond_the_own_mean)
{
    enum { K = 5, D = 300 };
    static float x[K * D], g[D];
    static double mu[D], sd[D];
    fixture f;
    open_attack(&f, "trim", NULL, 50, 10, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((j % 5 - 2) * 0.5 + afl_rng_normal(f.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 0, rows);
    craft(&f, &v, g, D);
    col_stats(x, K, D, 0, mu, sd);
    for (int j = 0; j < D; j++) {
        double lo = mu[j] > 0 ? mu[j] - 4 * sd[j] : mu[j] + 3 * sd[j];
        double hi = mu[j] > 0 ? mu[j] - 3 * sd[j] : mu[j] + 4 * sd[j];
        cr_assert(g[j] >= lo - 1e-4 && g[j] <= hi + 1e-4, "coordinate %d: %g not in [%g, %g]", j,
                  g[j], lo, hi);
    }
    close_attack(&f);
}

/* ---- Krum attack --------------------------------------------------------------------- */

Test(attacks_untargeted, krum_attack_full_sends_minus_lambda_sign_and_krum_selects_it)
{
    enum { K = 12, C = 3, D = 50 };
    static float x[K * D], g[D], all[(K + C) * D], out[D];
    fixture f;
    open_attack(&f, "krum", NULL, 50, C, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.5 + afl_rng_normal(f.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    craft(&f, &v, g, D);
    double mu[D], sd[D];
    col_stats(x, K, D, 0, mu, sd);
    double lambda = fabs(g[0]);
    cr_assert(lambda > 1e-5, "lambda %g", lambda);
    for (int j = 0; j < D; j++)
        cr_assert_float_eq(g[j], mu[j] > 0 ? -lambda : lambda, 1e-6 * lambda);
    /* Krum (defenses/rules.h) over C copies + the known updates picks a copy */
    for (int i = 0; i < C; i++)
        memcpy(all + i * D, g, sizeof g);
    memcpy(all + C * D, x, sizeof x);
    const float *pr[K + C];
    for (int i = 0; i < K + C; i++)
        pr[i] = all + i * D;
    afl_rules_ws *ws = afl_rules_ws_create(K + C);
    afl_err err = {0};
    int chosen = -1;
    cr_assert_eq(afl_rule_krum(ws, pr, K + C, D, C, &chosen, NULL, out, &err), AFL_OK, "%s",
                 err.msg);
    cr_assert_lt(chosen, C, "Krum chose a benign update (%d)", chosen);
    afl_rules_ws_free(ws);
    close_attack(&f);
}

/* brute-force Krum over x (n, d): the lowest sum of squared distances to the n - f - 2
 * (at least 1) nearest others, ties to the lowest index (FLDetector's krum()) */
static int ref_krum(const float *x, int n, size_t d, int f)
{
    int q = n - f - 2 < 1 ? 1 : n - f - 2, best = 0;
    double best_sc = INFINITY;
    for (int i = 0; i < n; i++) {
        double dd[2 * KMAX];
        int m = 0;
        for (int l = 0; l < n; l++) {
            if (l == i)
                continue;
            double e = 0;
            for (size_t j = 0; j < d; j++) {
                double t = (double)x[(size_t)i * d + j] - x[(size_t)l * d + j];
                e += t * t;
            }
            /* insertion sort */
            int p = m++;
            while (p > 0 && dd[p - 1] > e) {
                dd[p] = dd[p - 1];
                p--;
            }
            dd[p] = e;
        }
        double sc = 0;
        for (int l = 0; l < q; l++)
            sc += dd[l];
        if (sc < best_sc)
            best_sc = sc, best = i;
    }
    return best;
}

Test(attacks_untargeted, krum_attack_partial_follows_fld_and_is_selected_for_some_copy_count)
{
    enum { K = 5, D = 40 };
    static float x[K * D], g[D], all[(2 * K) * D];
    fixture f;
    open_attack(&f, "krum", NULL, 50, K, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.3 * (j % 3 - 1) + 0.2 * afl_rng_normal(f.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 0, rows);
    craft(&f, &v, g, D);
    double mu[D], sd[D];
    col_stats(x, K, D, 0, mu, sd);
    double lambda = fabs(g[0]);
    cr_assert(lambda > 0 && lambda <= 1, "lambda %g", lambda);
    for (int j = 0; j < D; j++)
        cr_assert_float_eq(g[j], mu[j] > 0 ? -lambda : mu[j] < 0 ? lambda : 0, 1e-6);
    int selected = 0;
    for (int k = 1; k < K && !selected; k++) {
        memcpy(all, x, sizeof x);
        for (int i = 0; i < k; i++)
            memcpy(all + (K + i) * D, g, sizeof g);
        selected = ref_krum(all, K + k, D, k) >= K;
    }
    cr_assert(selected, "no copy count makes Krum select the crafted update");
    close_attack(&f);
}

/* ---- Min-Max, Min-Sum ---------------------------------------------------------------- */

/* max_i ||y - x_i||^2 (minmax) or sum_i (minsum) and the threshold */
static void oracle_sides(const float *x, int k, size_t d, const double *y, int minsum, double *lhs,
                         double *thr)
{
    double worst = 0, sum = 0;
    for (int i = 0; i < k; i++) {
        double e = 0;
        for (size_t j = 0; j < d; j++) {
            double t = y[j] - x[(size_t)i * d + j];
            e += t * t;
        }
        worst = fmax(worst, e);
        sum += e;
    }
    double mx = 0, mins = INFINITY;
    for (int i = 0; i < k; i++) {
        double s = 0;
        for (int l = 0; l < k; l++) {
            double e = 0;
            for (size_t j = 0; j < d; j++) {
                double t = (double)x[(size_t)i * d + j] - x[(size_t)l * d + j];
                e += t * t;
            }
            mx = fmax(mx, e);
            s += e;
        }
        mins = fmin(mins, s);
    }
    *lhs = minsum ? sum : worst;
    *thr = minsum ? mins : mx;
}

/* grad_p as the spec: unit -mu/||mu||, sign -sign(mu), std -std (unbiased) */
static void pert_of(const char *kind, const double *mu, const double *sd, size_t d, double *p)
{
    double nm = 0;
    for (size_t j = 0; j < d; j++)
        nm += mu[j] * mu[j];
    nm = sqrt(nm);
    for (size_t j = 0; j < d; j++)
        p[j] = strcmp(kind, "unit") == 0   ? -mu[j] / nm
               : strcmp(kind, "sign") == 0 ? (mu[j] > 0   ? -1.0
                                              : mu[j] < 0 ? 1.0
                                                          : 0.0)
                                           : -sd[j];
}

static void check_ndss_attack(const char *type, const char *kind)
{
    enum { K = 6, D = 30 };
    static float x[K * D], g[D];
    double mu[D], sd[D], p[D], y[D];
    fixture f;
    char set[64];
    snprintf(set, sizeof set, "attack.perturbation=%s", kind);
    const char *sets[] = {set, NULL};
    open_attack(&f, type, sets, 50, 10, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.5 + afl_rng_normal(f.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    craft(&f, &v, g, D);
    col_stats(x, K, D, 1, mu, sd);
    pert_of(kind, mu, sd, D, p);
    /* g = mu + gamma p: recover gamma and check the form */
    double num = 0, den = 0;
    for (int j = 0; j < D; j++)
        num += (g[j] - mu[j]) * p[j], den += p[j] * p[j];
    double gamma = num / den;
    cr_assert(gamma > 0 && gamma < 20, "%s/%s: gamma %g", type, kind, gamma);
    for (int j = 0; j < D; j++)
        cr_assert_float_eq(g[j], mu[j] + gamma * p[j], 1e-4, "%s/%s: g is not mu + gamma p", type,
                           kind);
    int minsum = strcmp(type, "minsum") == 0;
    double lhs, thr;
    for (int j = 0; j < D; j++)
        y[j] = g[j];
    oracle_sides(x, K, D, y, minsum, &lhs, &thr);
    cr_assert(lhs <= thr * (1 + 1e-5), "%s/%s: oracle fails: %g > %g", type, kind, lhs, thr);
    double bigger = gamma + 1e-3 * fmax(1, gamma);
    for (int j = 0; j < D; j++)
        y[j] = mu[j] + bigger * p[j];
    oracle_sides(x, K, D, y, minsum, &lhs, &thr);
    cr_assert(lhs > thr, "%s/%s: a larger gamma (%g) still passes: %g <= %g", type, kind, bigger,
              lhs, thr);
    close_attack(&f);
}

Test(attacks_untargeted, minmax_output_satisfies_its_oracle_and_a_slightly_larger_gamma_does_not)
{
    check_ndss_attack("minmax", "std");
    check_ndss_attack("minmax", "unit");
    check_ndss_attack("minmax", "sign");
}

Test(attacks_untargeted, minsum_output_satisfies_its_oracle_and_a_slightly_larger_gamma_does_not)
{
    check_ndss_attack("minsum", "std");
    check_ndss_attack("minsum", "unit");
    check_ndss_attack("minsum", "sign");
}

/* ---- Gaussian ------------------------------------------------------------------------ */

static void sample_stats(const float *x, size_t n, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    s /= (double)n;
    for (size_t i = 0; i < n; i++)
        q += (x[i] - s) * (x[i] - s);
    *mean = s;
    *sd = sqrt(q / (double)n);
}

Test(attacks_untargeted, gaussian_krum_variant_draws_mean_0_std_200_ignoring_the_honest_update)
{
    static float g[DMAX];
    fixture f;
    open_attack(&f, "gaussian", NULL, 50, 10, DMAX);
    for (int j = 0; j < DMAX; j++)
        g[j] = 5;
    afl_attack_view v = view_of(NULL, 0, DMAX, 1, NULL);
    craft(&f, &v, g, DMAX);
    double m, sd;
    sample_stats(g, DMAX, &m, &sd);
    cr_assert(fabs(m) < 4 * 200 / sqrt(DMAX), "mean %g", m);
    cr_assert(fabs(sd - 200) < 0.03 * 200, "std %g", sd);
    close_attack(&f);
}

Test(attacks_untargeted, gaussian_fldetector_variant_keeps_the_own_norm_and_the_known_mean_shape)
{
    enum { K = 40, D = 2000 };
    static float x[K * D], g[D];
    fixture f;
    const char *sets[] = {"attack.variant=fldetector", NULL};
    open_attack(&f, "gaussian", sets, 50, 10, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)((j % 2 ? 3.0 : -3.0) + 0.5 * afl_rng_normal(f.rng));
    double own = 0;
    for (int j = 0; j < D; j++)
        g[j] = (float)(0.1 * afl_rng_normal(f.rng)), own += (double)g[j] * g[j];
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    craft(&f, &v, g, D);
    double nrm = 0, agree = 0;
    for (int j = 0; j < D; j++) {
        nrm += (double)g[j] * g[j];
        agree += (g[j] > 0) == (j % 2 == 1);
    }
    cr_assert_float_eq(sqrt(nrm), sqrt(own), 1e-4 * sqrt(own));
    cr_assert(agree > 0.99 * D, "the sample follows N(mu, sigma) of the known: %g", agree);
    close_attack(&f);
}

Test(attacks_untargeted, gaussian_basgd_variant_adds_noise_of_std_sigma_atk_times_the_norm)
{
    static float g[DMAX];
    fixture f;
    const char *sets[] = {"attack.variant=basgd", NULL};
    open_attack(&f, "gaussian", sets, 50, 10, DMAX);
    for (int j = 0; j < DMAX; j++)
        g[j] = 0.01f;
    double norm = 0.01 * sqrt(DMAX);
    afl_attack_view v = view_of(NULL, 0, DMAX, 1, NULL);
    craft(&f, &v, g, DMAX);
    double m, sd;
    sample_stats(g, DMAX, &m, &sd);
    cr_assert(fabs(m - 0.01) < 4 * 0.2 * norm / sqrt(DMAX), "mean %g", m);
    cr_assert(fabs(sd - 0.2 * norm) < 0.03 * 0.2 * norm, "std %g, want %g", sd, 0.2 * norm);
    close_attack(&f);
}

/* ---- adaptive ------------------------------------------------------------------------ */

typedef struct {
    double thr;
    size_t d;
    int calls;
} norm_oracle;

/* a fake defense: accepts g iff ||g|| <= thr */
static int accepts_small_norm(void *env, const float *g, double *score)
{
    norm_oracle *o = env;
    double s = 0;
    for (size_t j = 0; j < o->d; j++)
        s += (double)g[j] * g[j];
    o->calls++;
    if (score)
        *score = sqrt(s);
    return sqrt(s) <= o->thr;
}

Test(attacks_untargeted, adaptive_passes_the_defense_oracle_and_maximises_the_deviation)
{
    enum { K = 5, D = 10 };
    float x[K * D], g[D];
    fixture f;
    const char *sets[] = {"attack.perturbation=unit", NULL};
    open_attack(&f, "adaptive", sets, 50, 10, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.3 + 0.05 * afl_rng_normal(f.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    norm_oracle o = {3.0, D, 0};
    v.accepts = accepts_small_norm;
    v.accepts_env = &o;
    memset(g, 0, sizeof g);
    craft(&f, &v, g, D);
    cr_assert_gt(o.calls, 5, "the defense's probe is the oracle");
    double mu[D], sd[D], n = 0, dot = 0;
    col_stats(x, K, D, 0, mu, sd);
    for (int j = 0; j < D; j++)
        n += (double)g[j] * g[j], dot += g[j] * mu[j];
    /* mu (1 - gamma/||mu||) with the largest accepted gamma: the reversed mean of norm 3 */
    cr_assert(accepts_small_norm(&o, g, NULL), "the output is rejected");
    cr_assert_float_eq(sqrt(n), 3.0, 1e-3);
    cr_assert_lt(dot, 0, "the mean is reversed");
    close_attack(&f);
}

Test(attacks_untargeted, adaptive_without_a_probe_falls_back_to_the_minmax_oracle)
{
    enum { K = 6, D = 30 };
    static float x[K * D], g1[D], g2[D];
    fixture fa, fm;
    open_attack(&fa, "adaptive", NULL, 50, 10, D);
    open_attack(&fm, "minmax", NULL, 50, 10, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.5 + afl_rng_normal(fa.rng));
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    craft(&fa, &v, g1, D);
    craft(&fm, &v, g2, D);
    for (int j = 0; j < D; j++)
        cr_assert_float_eq(g1[j], g2[j], 1e-6);
    close_attack(&fa);
    close_attack(&fm);
}

typedef struct {
    const float *prev;
    const float *w_prev, *w_base;
    double q;
    size_t d;
} lipschitz_oracle;

static double factor(const float *g, const float *prev, const float *wb, const float *wp, size_t d)
{
    double a = 0, b = 0;
    for (size_t j = 0; j < d; j++) {
        a += ((double)g[j] - prev[j]) * ((double)g[j] - prev[j]);
        b += ((double)wb[j] - wp[j]) * ((double)wb[j] - wp[j]);
    }
    return sqrt(a) / sqrt(b);
}

/* a fake SecureAFL filter: accepts iff the Lipschitz factor is <= q */
static int accepts_lipschitz(void *env, const float *g, double *score)
{
    lipschitz_oracle *o = env;
    double l = factor(g, o->prev, o->w_base, o->w_prev, o->d);
    if (score)
        *score = l;
    return l <= o->q;
}

Test(attacks_untargeted, adaptive_secureafl_warms_up_then_sits_at_margin_times_the_threshold)
{
    enum { K = 6, D = 20 };
    float x[K * D], w0[D], w1[D], g1[D], g2[D], sent1[D], out[D];
    fixture f;
    open_attack(&f, "adaptive_secureafl", NULL, 10, 2, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.4 + 0.1 * afl_rng_normal(f.rng));
    fill_normal(w0, D, 0, 1, f.rng);
    for (int j = 0; j < D; j++)
        w1[j] = w0[j] + 0.05f * (float)afl_rng_normal(f.rng);
    fill_normal(g1, D, 0.4, 0.1, f.rng);
    fill_normal(g2, D, 0.4, 0.1, f.rng);
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    /* first attacked arrival: the genuine update */
    v.w_base = w0;
    memcpy(sent1, g1, sizeof g1);
    craft(&f, &v, sent1, D);
    for (int j = 0; j < D; j++)
        cr_assert_eq(sent1[j], g1[j]);
    /* second: factor = 0.9 * (the only genuine factor) */
    v.w_base = w1;
    memcpy(out, g2, sizeof g2);
    craft(&f, &v, out, D);
    double T = factor(g2, g1, w1, w0, D);
    cr_assert_float_eq(factor(out, sent1, w1, w0, D), 0.9 * T, 1e-4 * T);
    /* and it moved away from the known mean, against it */
    double mu[D], sd[D], dot = 0;
    col_stats(x, K, D, 0, mu, sd);
    for (int j = 0; j < D; j++)
        dot += (out[j] - mu[j]) * mu[j];
    cr_assert_lt(dot, 0);
    close_attack(&f);
}

Test(attacks_untargeted, adaptive_secureafl_with_a_probe_finds_the_filters_threshold)
{
    enum { K = 6, D = 20 };
    float x[K * D], w0[D], w1[D], g1[D], g2[D], out[D];
    fixture f;
    const char *sets[] = {"attack.margin=1", NULL};
    open_attack(&f, "adaptive_secureafl", sets, 10, 2, D);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < D; j++)
            x[i * D + j] = (float)(0.4 + 0.1 * afl_rng_normal(f.rng));
    fill_normal(w0, D, 0, 1, f.rng);
    for (int j = 0; j < D; j++)
        w1[j] = w0[j] + 0.05f * (float)afl_rng_normal(f.rng);
    fill_normal(g1, D, 0.4, 0.1, f.rng);
    fill_normal(g2, D, 0.4, 0.1, f.rng);
    const float *rows[K];
    afl_attack_view v = view_of(x, K, D, 1, rows);
    v.w_base = w0;
    memcpy(out, g1, sizeof g1);
    craft(&f, &v, out, D);
    double T = factor(g2, g1, w1, w0, D);
    lipschitz_oracle o = {g1, w0, w1, 1.7 * T, D};
    v.w_base = w1;
    v.accepts = accepts_lipschitz;
    v.accepts_env = &o;
    memcpy(out, g2, sizeof g2);
    craft(&f, &v, out, D);
    cr_assert(accepts_lipschitz(&o, out, NULL), "rejected");
    cr_assert_float_eq(factor(out, g1, w1, w0, D), 1.7 * T, 1e-3 * T);
    close_attack(&f);
}

/* ---- every attack: degenerate and extreme inputs ------------------------------------- */

static const char *const untargeted[] = {
    "labelflip", "gaussian", "ipm",    "lie",      "trim",
    "krum",      "minmax",   "minsum", "adaptive", "adaptive_secureafl"};
#define N_UNTARGETED (sizeof untargeted / sizeof untargeted[0])

static int always(void *env, const float *g, double *score)
{
    (void)g;
    if (score)
        *score = NAN;
    return *(int *)env;
}

Test(attacks_untargeted, every_attack_is_registered_and_declares_knowledge_it_uses)
{
    for (size_t a = 0; a < N_UNTARGETED; a++) {
        const afl_attack_ops *ops = afl_attack_find(untargeted[a]);
        cr_assert_not_null(ops, "%s", untargeted[a]);
        cr_assert_str_eq(ops->info.name, untargeted[a]);
        cr_assert(ops->craft || ops->poison_batch, "%s does nothing", untargeted[a]);
        if (ops->craft)
            cr_assert(ops->needs_knowledge, "%s crafts from known updates", untargeted[a]);
    }
}

Test(attacks_untargeted, degenerate_and_extreme_inputs_never_crash_nor_give_nan)
{
    enum { K = 5, D = 16 };
    float x[K * D], g[D], wb[D];
    /* {only this attack (NULL: any that declares the keys), overrides...} */
    const char *extra[][4] = {{NULL, NULL},
                              {"gaussian", "attack.sigma=1e30", NULL},
                              {"gaussian", "attack.variant=basgd", "attack.basgd_sigma=1e30", NULL},
                              {"gaussian", "attack.variant=fldetector", NULL},
                              {"trim", "attack.variant=fld", NULL},
                              {"lie", "attack.z_formula=fixed", "attack.z=1e6", NULL},
                              {NULL, "attack.epsilon=1e30", NULL},
                              {NULL, "attack.gamma_init=1e30", NULL},
                              {NULL, "attack.tol=1e-30", NULL},
                              {NULL, "attack.perturbation=unit", NULL},
                              {NULL, "attack.perturbation=sign", NULL},
                              {"adaptive", "attack.base=genuine", NULL}};
    for (size_t a = 0; a < N_UNTARGETED; a++)
        for (size_t e = 0; e < sizeof extra / sizeof extra[0]; e++) {
            if (extra[e][0] && strcmp(extra[e][0], untargeted[a]) != 0)
                continue;
            /* keep only the overrides this attack declares */
            const afl_attack_ops *ops = afl_attack_find(untargeted[a]);
            const char *sets[4] = {NULL};
            int ns = 0;
            for (int s = 1; extra[e][s]; s++) {
                const char *key = strchr(extra[e][s], '.') + 1;
                for (const afl_param *p = ops->info.params; p->key; p++)
                    if (strncmp(p->key, key, strlen(p->key)) == 0 && key[strlen(p->key)] == '=')
                        sets[ns++] = extra[e][s];
            }
            if (e > 0 && ns == 0)
                continue;
            fixture f;
            open_attack(&f, untargeted[a], sets, 10, 3, D);
            if (!ops->craft) {
                close_attack(&f);
                continue;
            }
            for (int kind = 0; kind < 7; kind++)
                for (int full = 0; full < 2; full++)
                    for (int probe = 0; probe < 3; probe++) {
                        int k = K;
                        for (int i = 0; i < K * D; i++) {
                            switch (kind) {
                            case 0:
                                k = 0;
                                x[i] = 0;
                                break;                                   /* nothing known */
                            case 1: x[i] = 0; break;                     /* zero vectors */
                            case 2: x[i] = (float)(i % D) * 0.1f; break; /* identical */
                            case 3:
                                k = 1;
                                x[i] = (float)(i % 3);
                                break;                                      /* one known */
                            case 4: x[i] = (i % 2 ? 1e30f : -1e30f); break; /* huge */
                            case 5: x[i] = (i % 3 ? 3e38f : -3e38f); break; /* near FLT_MAX */
                            default: x[i] = (float)afl_rng_normal(f.rng); break;
                            }
                        }
                        for (int j = 0; j < D; j++)
                            g[j] = kind == 1 ? 0 : (float)afl_rng_normal(f.rng),
                            wb[j] = (float)(kind % 2);
                        const float *rows[K];
                        afl_attack_view v = view_of(x, k, D, full, rows);
                        int yes = probe == 1;
                        if (probe) {
                            v.accepts = always;
                            v.accepts_env = &yes;
                        }
                        /* twice with different bases: adaptive_secureafl warms up first */
                        for (int rep = 0; rep < 2; rep++) {
                            v.w_base = rep ? wb : zeros;
                            craft(&f, &v, g, D);
                            cr_assert(all_finite(g, D),
                                      "%s (%s) on input kind %d, full %d: "
                                      "non-finite output",
                                      untargeted[a], sets[0] ? sets[0] : "", kind, full);
                        }
                    }
            close_attack(&f);
        }
}

Test(attacks_untargeted, randomised_attacks_are_deterministic_given_the_stream)
{
    enum { K = 4, D = 64 };
    float x[K * D], a[D], b[D];
    const char *names[] = {"trim", "gaussian"};
    for (int t = 0; t < 2; t++) {
        float *outs[2] = {a, b};
        for (int r = 0; r < 2; r++) {
            fixture f;
            open_attack(&f, names[t], NULL, 50, 10, D);
            afl_rng *data = afl_rng_create(3, AFL_RNG_TEST, 1);
            fill_normal(x, K * D, 0, 1, data);
            fill_normal(outs[r], D, 0, 1, data);
            afl_rng_free(data);
            const float *rows[K];
            afl_attack_view v = view_of(x, K, D, 1, rows);
            craft(&f, &v, outs[r], D);
            close_attack(&f);
        }
        cr_assert_arr_eq(a, b, sizeof a, "%s is not deterministic", names[t]);
    }
}
