/* attacks/minmax.c - Min-Max and Min-Sum (Shejwalkar & Houmansadr, NDSS 2021), the
 * AGR-agnostic attacks: every malicious client sends
 *     g' = grad_b + gamma * grad_p,   grad_b = mean of the known (benign) updates,
 * with the largest gamma the NDSS search finds for which the oracle holds:
 *   minmax: max_i ||g' - g_i||^2 <= max_{i,j} ||g_i - g_j||^2
 *   minsum: sum_i ||g' - g_i||^2 <= min_i sum_j ||g_i - g_j||^2
 * (squared L2 distances, as the code; Min-Sum's right side uses min over i as the official
 * code `our_attack_score` does -- the paper's equation may state max: flagged in
 * docs/attacks-untargeted.md).
 *
 * Perturbations (attack.perturbation), as the code's dev_type:
 *   unit  grad_p = -grad_b / ||grad_b||      (inverse unit vector, `unit_vec`)
 *   sign  grad_p = -sign(grad_b)             (inverse sign)
 *   std   grad_p = -std(known)               (inverse std, unbiased like torch.std; the
 *                                             release notebooks' choice, the default)
 *
 * gamma search (NDSS Algorithm 1 = the code):
 *   gamma = gamma_init; step = gamma_init; gamma_succ = 0
 *   while |gamma_succ - gamma| > tau:
 *       if oracle(grad_b + gamma grad_p): gamma_succ = gamma; gamma += step / 2
 *       else:                             gamma -= step / 2
 *       step /= 2
 * gamma_init = 10, tau = 1e-5.  The search explores gamma in [0, 2 gamma_init); it also
 * stops after 200 halvings (only reachable with tau below double precision).
 *
 * Source: vrt1shjwlkr/NDSS21-Model-Poisoning `our_attack_dist` (Min-Max) and
 * `our_attack_score` (Min-Sum); specs/algorithms.md section 3.8.  The perturbations, the search
 * and the oracle are in stats.c (afl_pert_fill, afl_ndss_search, afl_quad_*), shared with
 * adaptive.c.
 *
 * Asynchronous adaptation: the benign set is `known` (full knowledge: the last
 * attack.window benign genuine updates; partial: the malicious clients' own genuine updates,
 * the NDSS "unknown benign gradients" setting).  Each malicious arrival crafts from what it
 * knows then.  With no known update yet the genuine update is sent; with one known update
 * the std perturbation is 0 (so g' = grad_b).  A zero grad_b gives a zero unit vector.
 *
 * Cost: ||grad_b + gamma grad_p - g_i||^2 = a_i + 2 gamma b_i + gamma^2 c is a quadratic in
 * gamma, so each oracle call is O(k) after an O(k d) setup; Min-Max's threshold needs the
 * O(k^2 d) pairwise distances, Min-Sum's uses sum_j ||g_i - g_j||^2 = k a_i + sum_j a_j.
 */
#include <stdlib.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"perturbation", AFL_P_ENUM, "std", 0, 0, "unit|sign|std",
     "minmax/minsum: grad_p = -grad_b/||grad_b|| (unit), -sign(grad_b) (sign) or -std(known) "
     "(std, NDSS's release notebooks)"},
    {"gamma_init", AFL_P_REAL, "10", 1e-30, 1e30, NULL,
     "minmax/minsum: initial gamma and step of the NDSS search (explores [0, 2 gamma_init))"},
    {"tol", AFL_P_REAL, "1e-5", 1e-30, 1e30, NULL,
     "minmax/minsum: tau, stop when |gamma_succ - gamma| <= tau"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int minsum;
    int pert; /* AFL_PERT_* */
    double gamma_init, tol;
    double *mu, *p;    /* (d) grad_b and grad_p */
    afl_quad_oracle q; /* the Min-Max / Min-Sum oracle over the known updates */
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (!st)
        return;
    free(st->mu);
    free(st->p);
    afl_quad_free(&st->q);
    free(st);
}

static int create_common(const afl_attack_ctx *ctx, void **out, afl_err *err, int minsum)
{
    state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->minsum = minsum;
    st->pert = afl_pert_parse(ctx->cfg);
    st->gamma_init = afl_cfg_real(ctx->cfg, "attack", "gamma_init");
    st->tol = afl_cfg_real(ctx->cfg, "attack", "tol");
    st->mu = malloc(ctx->d * sizeof *st->mu);
    st->p = malloc(ctx->d * sizeof *st->p);
    if (!st->mu || !st->p) {
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    *out = st;
    return AFL_OK;
}

static int create_minmax(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    return create_common(ctx, out, err, 0);
}

static int create_minsum(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    return create_common(ctx, out, err, 1);
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    size_t d = st->d;
    int n = view->n_known;
    if (n < 1 || !afl_quad_reserve(&st->q, n))
        return; /* nothing known yet (or no memory): the genuine update */
    const float *const *x = view->known;
    double *mu = st->mu, *p = st->p;
    afl_col_mean(x, n, d, mu);                   /* mu (d) = grad_b = mean of known */
    afl_pert_fill(st->pert, mu, mu, x, n, d, p); /* p (d) = grad_p */
    afl_quad_setup(&st->q, mu, p, x, n, d, st->minsum);
    double succ = afl_ndss_search(st->gamma_init, st->tol, afl_quad_ok, &st->q);
    for (size_t j = 0; j < d; j++)
        g[j] = afl_clampf(mu[j] + succ * p[j]);
}

const afl_attack_ops afl_attack_minmax = {
    {"minmax",
     "Min-Max: mean + gamma * perturbation, the largest gamma whose max distance to the known "
     "updates stays within their max pairwise distance",
     "Shejwalkar & Houmansadr, NDSS 2021; vrt1shjwlkr/NDSS21-Model-Poisoning our_attack_dist",
     params},
    create_minmax,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};

const afl_attack_ops afl_attack_minsum = {
    {"minsum",
     "Min-Sum: mean + gamma * perturbation, the largest gamma whose summed squared distance to "
     "the known updates stays within the smallest such sum of a known update",
     "Shejwalkar & Houmansadr, NDSS 2021; vrt1shjwlkr/NDSS21-Model-Poisoning our_attack_score",
     params},
    create_minsum,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};
