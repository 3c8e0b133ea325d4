/* attacks/ipm.c - inner product manipulation (IPM): every malicious client sends
 * g' = -epsilon * mean(known), the reversed, scaled mean of the benign updates.
 *
 * Sources: Xie, Koyejo, Gupta, "Fall of Empires: Breaking Byzantine-tolerant SGD by
 * Inner Product Manipulation", UAI 2019; code: epfml/byzantine-robust-noniid-optimizer
 * `xie.py`, LPD-EPFL/byzfl (specs/algorithms.md section 3.3).  epsilon = 0.1 (small:
 * stays inside the benign cloud, breaks median-type rules) or 100 (large: reverses the
 * mean) are the papers' values.
 *
 * Knowledge: full = the mean of the last attack.window benign genuine updates (the
 * papers' setting); partial = the mean of the malicious clients' own genuine updates.
 * With no known update yet, the client's own genuine update stands in for the mean
 * (g' = -epsilon g).  Results beyond +-FLT_MAX are clamped.
 */
#include <stdlib.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"epsilon", AFL_P_REAL, "0.1", 0, 1e30, NULL,
     "ipm: g' = -epsilon * mean(known updates) (0.1 or 100 in the papers)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    double eps;
    double *mu; /* (d) */
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (st)
        free(st->mu);
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = calloc(1, sizeof *st);
    if (st)
        st->mu = malloc(ctx->d * sizeof *st->mu);
    if (!st || !st->mu) {
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    st->d = ctx->d;
    st->eps = afl_cfg_real(ctx->cfg, "attack", "epsilon");
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    size_t d = st->d;
    int n = view->n_known;
    if (n < 1) {
        for (size_t j = 0; j < d; j++)
            g[j] = afl_clampf(-st->eps * g[j]);
        return;
    }
    /* mu (d) <- mean of known; g (d) <- -eps mu */
    afl_col_mean(view->known, n, d, st->mu);
    for (size_t j = 0; j < d; j++)
        g[j] = afl_clampf(-st->eps * st->mu[j]);
}

const afl_attack_ops afl_attack_ipm = {
    {"ipm", "inner product manipulation: send -epsilon * mean(known updates)",
     "Xie, Koyejo, Gupta, UAI 2019; epfml/byzantine-robust-noniid-optimizer xie.py", params},
    create,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};
