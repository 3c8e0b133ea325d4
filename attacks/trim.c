/* attacks/trim.c - Fang et al.'s Trim attack (against trimmed mean and median),
 * in gradient space (the server applies w <- w - lr g).
 *
 * Sources: Fang, Cao, Jia, Gong, "Local Model Poisoning Attacks to Byzantine-Robust
 * Federated Learning", USENIX Security 2020; code lishenghui/blades
 * `adaptive_adversary.py` (interval form, uniform draws, b = 2),
 * zaixizhang/FLDetector byzantine.py `full_trim` / `partial_trim` (deterministic forms),
 * vrt1shjwlkr/NDSS21-Model-Poisoning `fang_attack_trmean_partial`.
 * specs/algorithms.md section 3.5.
 *
 * dir_j = sign(mean_j of the known updates): dir_j > 0 means parameter j decreases under
 * no attack, so the attack pushes g_j down (below the benign values); otherwise (dir_j <= 0,
 * the mean exactly 0 included, as FLD does) it pushes g_j up.
 *
 * attack.knowledge = full (known = the last attack.window benign genuine updates), with
 * max_j, min_j over them:
 *   variant = interval (default; Fang's paper form = BLADES, mapped to gradient space):
 *     dir_j > 0:  g'_j ~ U[min_j / b, min_j]   if min_j > 0,   U[b min_j, min_j]   otherwise
 *     dir_j <= 0: g'_j ~ U[max_j, b max_j]     if max_j > 0,   U[max_j / b, max_j] otherwise
 *     drawn independently per coordinate and per malicious arrival.
 *   variant = fld (FLD full_trim): e_j = min_j if dir_j > 0 else max_j;
 *     g'_j = e_j / b if dir_j e_j > 0 else b e_j (deterministic).
 * attack.knowledge = partial (known = the malicious clients' own genuine updates), with
 * mu_j, sigma_j their mean and population std:
 *   variant = interval (Fang's paper form; NDSS): dir_j > 0: U[mu_j - 4 sigma_j, mu_j - 3 sigma_j],
 *     dir_j <= 0: U[mu_j + 3 sigma_j, mu_j + 4 sigma_j].
 *   variant = fld (FLD partial_trim): g' = mu - 3.5 sigma * sign(mu).
 *
 * The NDSS notebook combines the two ranges with the mask (deviation > 0) on both terms,
 * which looks like a bug; here each coordinate takes exactly one range, chosen by dir_j.
 *
 * Asynchronous adaptation (the papers are synchronous): `known` plays "the round's updates".
 * Each malicious arrival crafts its own vector from what it knows at that moment.  With no
 * known update yet the genuine update is sent.  Randomness: the rng passed to craft.
 * Values beyond +-FLT_MAX are clamped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"variant", AFL_P_ENUM, "interval", 0, 0, "interval|fld",
     "trim: interval = Fang's uniform draws (full: [min/b, min] or [max, b max] style; partial: "
     "3-4 sigma), fld = FLDetector's deterministic full_trim / partial_trim"},
    {"b", AFL_P_REAL, "2", 1, 1e30, NULL,
     "trim, full knowledge: the interval factor b > 1 (Fang: 2)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int fld;
    double b;
    double *mu, *lo, *hi; /* (d) scratch: mean, then min / max or the std */
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (st) {
        free(st->mu);
        free(st->lo);
        free(st->hi);
    }
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = calloc(1, sizeof *st);
    if (st) {
        st->mu = malloc(ctx->d * sizeof *st->mu);
        st->lo = malloc(ctx->d * sizeof *st->lo);
        st->hi = malloc(ctx->d * sizeof *st->hi);
    }
    if (!st || !st->mu || !st->lo || !st->hi) {
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    st->d = ctx->d;
    st->fld = strcmp(afl_cfg_str(ctx->cfg, "attack", "variant"), "fld") == 0;
    st->b = afl_cfg_real(ctx->cfg, "attack", "b");
    *out = st;
    return AFL_OK;
}

/* uniform draw between a and b (either order) */
static double unif(afl_rng *rng, double a, double b)
{
    return a + (b - a) * afl_rng_uniform(rng);
}

static void craft_full(state *st, const afl_attack_view *view, float *g, afl_rng *rng)
{
    size_t d = st->d;
    int n = view->n_known;
    double b = st->b, *mu = st->mu, *mn = st->lo, *mx = st->hi;
    for (size_t j = 0; j < d; j++)
        mu[j] = 0, mn[j] = INFINITY, mx[j] = -INFINITY;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double v = view->known[i][j];
            mu[j] += v;
            mn[j] = v < mn[j] ? v : mn[j];
            mx[j] = v > mx[j] ? v : mx[j];
        }
    for (size_t j = 0; j < d; j++) {
        double v;
        if (st->fld) {
            double dir = mu[j] > 0 ? 1 : mu[j] < 0 ? -1 : 0;
            double e = dir > 0 ? mn[j] : mx[j];
            v = dir * e > 0 ? e / b : e * b;
        } else if (mu[j] > 0) { /* push down: at or below the smallest benign value */
            v = mn[j] > 0 ? unif(rng, mn[j] / b, mn[j]) : unif(rng, b * mn[j], mn[j]);
        } else { /* push up: at or above the largest benign value */
            v = mx[j] > 0 ? unif(rng, mx[j], b * mx[j]) : unif(rng, mx[j] / b, mx[j]);
        }
        g[j] = afl_clampf(v);
    }
}

static void craft_partial(state *st, const afl_attack_view *view, float *g, afl_rng *rng)
{
    size_t d = st->d;
    int n = view->n_known;
    double *mu = st->mu, *var = st->lo;
    /* mu, var (d): coordinate-wise mean and population variance of known (n, d) */
    afl_col_mean(view->known, n, d, mu);
    afl_col_var(view->known, n, d, mu, 0, var);
    for (size_t j = 0; j < d; j++) {
        double s = sqrt(var[j]), v;
        if (st->fld)
            v = mu[j] - 3.5 * s * (mu[j] > 0 ? 1 : mu[j] < 0 ? -1 : 0);
        else if (mu[j] > 0)
            v = unif(rng, mu[j] - 4 * s, mu[j] - 3 * s);
        else
            v = unif(rng, mu[j] + 3 * s, mu[j] + 4 * s);
        g[j] = afl_clampf(v);
    }
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    if (view->n_known < 1)
        return; /* nothing known yet: the genuine update */
    if (view->full_knowledge)
        craft_full(vs, view, g, rng);
    else
        craft_partial(vs, view, g, rng);
}

const afl_attack_ops afl_attack_trim = {
    {"trim",
     "Fang's Trim attack: each coordinate just beyond the benign range, against the benign "
     "direction (full: min/max intervals; partial: 3-4 sigma)",
     "Fang et al., USENIX Security 2020; lishenghui/blades adaptive_adversary.py; FLDetector "
     "byzantine.py full_trim/partial_trim",
     params},
    create,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};
