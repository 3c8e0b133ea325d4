/* attacks/gaussian.c - Gaussian (random-noise) attack, three variants
 * (specs/algorithms.md section 3.2):
 *
 *   variant = krum        g' ~ N(mean, sigma^2 I), independent of the honest update;
 *                         mean 0, sigma 200.  Blanchard et al., "Machine Learning with
 *                         Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017;
 *                         SecureAFL (Gao et al., AsiaCCS 2026) section 6.1 "N(0, 200^2)".
 *                         mean = 0.1, sigma = 0.1 gives Blades' NoiseAdversary
 *                         (lishenghui/blades), sigma = 1 ByzFL's Gaussian (LPD-EPFL/byzfl).
 *   variant = fldetector  v_j ~ N(mu_j, sigma_j) with mu, sigma the coordinate-wise mean and
 *                         std of the known updates, then v <- v ||g|| / ||v|| (rescaled to the
 *                         client's own honest norm).  zaixizhang/FLDetector byzantine.py
 *                         `gaussian_attack` (Zhang et al., KDD 2022).
 *   variant = basgd       g' = g + e, e ~ N(0, ||basgd_sigma g||^2 I): every coordinate gets
 *                         noise of std basgd_sigma * ||g||.  BASGD "random disturbance"
 *                         (Yang & Li, ICML 2021 / ICLR'21 submission section 5.1), 0.2 for
 *                         CIFAR, 0.1 for NLP.
 *
 * Choices where the sources are silent or differ:
 *   - fldetector: FLD takes mu and sigma over all n updates of the round and divides the
 *     variance by f (the number of attackers, a code quirk).  Here the set is `known`
 *     (full knowledge: the last attack.window benign genuine updates; partial: the malicious
 *     clients' own) and sigma is the population std (divisor = number of known updates).
 *     With no known update yet the genuine update is sent.  A zero v is sent as is.
 *   - Randomness: the rng passed to craft (the client's stream), so each malicious client
 *     draws its own noise, deterministically.
 *   - Values beyond +-FLT_MAX (sigma = 1e30 draws) are clamped to +-FLT_MAX, never Inf.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"variant", AFL_P_ENUM, "krum", 0, 0, "krum|fldetector|basgd",
     "gaussian: krum = N(mean, sigma^2) ignoring the honest update (SecureAFL's); fldetector = "
     "N(mu, sigma) of the known updates rescaled to the own norm; basgd = g + N(0, "
     "||basgd_sigma g||^2)"},
    {"mean", AFL_P_REAL, "0", -1e30, 1e30, NULL,
     "gaussian, variant=krum: mean of every coordinate"},
    {"sigma", AFL_P_REAL, "200", 0, 1e30, NULL,
     "gaussian, variant=krum: standard deviation of every coordinate (200: Blanchard et al., "
     "SecureAFL)"},
    {"basgd_sigma", AFL_P_REAL, "0.2", 0, 1e30, NULL,
     "gaussian, variant=basgd: sigma_atk, noise std per coordinate = sigma_atk * ||g|| (0.2 "
     "CIFAR, 0.1 NLP in BASGD)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

enum { V_KRUM, V_FLD, V_BASGD };

typedef struct {
    size_t d;
    int variant;
    double mean, sigma, basgd_sigma;
    double *mu, *var; /* (d) scratch for variant fldetector */
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (!st)
        return;
    free(st->mu);
    free(st->var);
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    const char *v = afl_cfg_str(ctx->cfg, "attack", "variant");
    st->variant = strcmp(v, "fldetector") == 0 ? V_FLD : strcmp(v, "basgd") == 0 ? V_BASGD : V_KRUM;
    st->mean = afl_cfg_real(ctx->cfg, "attack", "mean");
    st->sigma = afl_cfg_real(ctx->cfg, "attack", "sigma");
    st->basgd_sigma = afl_cfg_real(ctx->cfg, "attack", "basgd_sigma");
    if (st->variant == V_FLD) {
        st->mu = malloc(ctx->d * sizeof *st->mu);
        st->var = malloc(ctx->d * sizeof *st->var);
        if (!st->mu || !st->var) {
            destroy(st);
            return afl_err_set(err, AFL_ENOMEM, "out of memory");
        }
    }
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    state *st = vs;
    size_t d = st->d;
    switch (st->variant) {
    case V_KRUM:
        /* g (d) <- mean + sigma N(0, I) */
        for (size_t j = 0; j < d; j++)
            g[j] = afl_clampf(st->mean + st->sigma * afl_rng_normal(rng));
        break;
    case V_BASGD: {
        /* g (d) <- g + (basgd_sigma ||g||) N(0, I) */
        double s = st->basgd_sigma * afl_vec_norm(g, d);
        if (!isfinite(s))
            s = FLT_MAX;
        for (size_t j = 0; j < d; j++)
            g[j] = afl_clampf(g[j] + s * afl_rng_normal(rng));
        break;
    }
    case V_FLD: {
        if (view->n_known < 1)
            return; /* nothing known yet: the genuine update */
        double own = afl_vec_norm(g, d);
        /* mu, var (d): coordinate-wise mean and population variance of the known updates */
        afl_col_mean(view->known, view->n_known, d, st->mu);
        afl_col_var(view->known, view->n_known, d, st->mu, 0, st->var);
        for (size_t j = 0; j < d; j++)
            g[j] = afl_clampf(st->mu[j] + sqrt(st->var[j]) * afl_rng_normal(rng));
        double nv = afl_vec_norm(g, d);
        if (nv > 0 && isfinite(nv) && isfinite(own)) {
            double s = own / nv;
            for (size_t j = 0; j < d; j++)
                g[j] = afl_clampf(g[j] * s);
        }
        break;
    }
    }
}

const afl_attack_ops afl_attack_gaussian = {
    {"gaussian",
     "Gaussian noise: N(0, 200^2) per coordinate (variant krum, SecureAFL's), or the FLDetector / "
     "BASGD variants",
     "Blanchard et al., NeurIPS 2017; SecureAFL (AsiaCCS 2026) section 6.1; FLDetector "
     "byzantine.py gaussian_attack; BASGD (ICML 2021) random disturbance",
     params},
    create,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};
