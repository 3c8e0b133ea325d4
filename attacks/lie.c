/* attacks/lie.c - "A Little Is Enough" (LIE): every malicious client sends
 *     g'_j = mu_j - z sigma_j
 * with mu, sigma the coordinate-wise mean and population std of the known updates.
 *
 * Sources: Baruch, Baruch, Goldberg, "A Little Is Enough: Circumventing Defenses For
 * Distributed Learning", NeurIPS 2019; code moranant/attacking_distributed_learning
 * `malicious.py` DriftAttack (`grads_mean - num_std * grads_stdev`, population std,
 * default num_std = 1.5); z formulas: the paper's Algorithm 1 and
 * epfml/byzantine-robust-noniid-optimizer `alittle.py` (= lishenghui/blades
 * `alie_adversary.py`).  specs/algorithms.md section 3.7.
 *
 * z (attack.z_formula), with n = clients.n, m = the number of malicious clients and
 * s = floor(n/2 + 1) - m the supporters needed for a majority:
 *   paper   z = Phi^-1((n - s) / n)                 (n=50, m=10: 0.468)
 *   epfl    z = Phi^-1((n - m - s) / (n - m))       (n=50, m=10: 0.253)
 *   fixed   z = attack.z                             (the official code's --num_std 1.5)
 * "max z with Phi(z) < p" is taken as Phi^-1(p).  p is clamped to [1e-6, 1 - 1e-6]
 * (|z| <= 4.75): p >= 1 happens when the attackers are a majority (s <= 0).
 *
 * Sign: "-" as in the official code (BLADES and ByzFL use "+"; for coordinate-wise rules
 * it matters little).  In gradient space mu - z sigma lowers every coordinate's gradient.
 *
 * Knowledge: partial (the paper's) = the malicious clients' own genuine updates (the last
 * attack.window of them, including the one just computed); full = the last attack.window
 * benign genuine updates (what many re-implementations use).  With no known update yet the
 * genuine update is sent; with one, sigma = 0 and mu is sent.  Results beyond +-FLT_MAX are
 * clamped.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"z_formula", AFL_P_ENUM, "paper", 0, 0, "paper|epfl|fixed",
     "lie: z_max from the paper (Phi(z) = (n-s)/n), the EPFL/Blades code (Phi(z) = "
     "(n-m-s)/(n-m)), or attack.z"},
    {"z", AFL_P_REAL, "1.5", -1e30, 1e30, NULL,
     "lie, z_formula=fixed: z in g' = mu - z sigma (1.5: the official code's default)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    double z;
    double *mu, *var; /* (d) scratch */
} state;

/* z_max for n clients of which m malicious (formula: 0 paper, 1 epfl). */
static double lie_z(int n, int m, int epfl)
{
    double s = floor(n / 2.0 + 1.0) - m;
    double p = epfl ? (n - m > 0 ? (n - m - s) / (double)(n - m) : 1.0) : (n - s) / (double)n;
    if (!(p >= 1e-6))
        p = 1e-6;
    if (p > 1 - 1e-6)
        p = 1 - 1e-6;
    return gsl_cdf_ugaussian_Pinv(p);
}

static void destroy(void *vs)
{
    state *st = vs;
    if (st) {
        free(st->mu);
        free(st->var);
    }
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = calloc(1, sizeof *st);
    if (st) {
        st->mu = malloc(ctx->d * sizeof *st->mu);
        st->var = malloc(ctx->d * sizeof *st->var);
    }
    if (!st || !st->mu || !st->var) {
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    st->d = ctx->d;
    const char *f = afl_cfg_str(ctx->cfg, "attack", "z_formula");
    if (strcmp(f, "fixed") == 0)
        st->z = afl_cfg_real(ctx->cfg, "attack", "z");
    else
        st->z = lie_z(ctx->n_clients, ctx->n_malicious, strcmp(f, "epfl") == 0);
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    size_t d = st->d;
    int n = view->n_known;
    if (n < 1)
        return; /* nothing known yet: the genuine update */
    /* mu, var (d): coordinate-wise mean and population variance of known (n, d) */
    afl_col_mean(view->known, n, d, st->mu);
    afl_col_var(view->known, n, d, st->mu, 0, st->var);
    /* g (d) <- mu - z sigma */
    for (size_t j = 0; j < d; j++)
        g[j] = afl_clampf(st->mu[j] - st->z * sqrt(st->var[j]));
}

const afl_attack_ops afl_attack_lie = {
    {"lie", "A Little Is Enough: send mu - z sigma of the known updates (z from n and m)",
     "Baruch et al., NeurIPS 2019; moranant/attacking_distributed_learning DriftAttack; "
     "epfml/byzantine-robust-noniid-optimizer alittle.py",
     params},
    create,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};
