/* defenses/fedasync.c - FedAsync: staleness-weighted mixing of the client's model.
 *
 * Source: C. Xie, S. Koyejo, I. Gupta, "Asynchronous Federated Optimization",
 * arXiv:1903.03934, 2019 (OPT workshop, NeurIPS 2020); code xcgoner/async_fl @ 4730eeb
 * (specs/algorithms.md section 4.8).
 *
 *   alpha_t = alpha * s(t - tau),   x_t = (1 - alpha_t) x_{t-1} + alpha_t x_new
 *   s: constant 1 | polynomial (D + 1)^(-a) | hinge 1 if D <= b else 1 / (a (D - b) + 1)
 *
 * with D = staleness (server versions between the client's base model and now).  The hinge
 * keeps the paper's "+1" (FLGo's variant drops it; not copied).
 *
 * aflsim's convention: the client sends a gradient-like g, not a model.  Its model is taken
 * as x_new = w_base - lr g with lr = train.lr (exact when train.local_steps = 1 and the
 * server and client learning rates agree; otherwise it is the model the server's own lr
 * would give).  The mixing step is then
 *   x_t = w_cur - alpha_t (w_cur - x_new)  =>  step = alpha_t ((w_cur - w_base)/lr + g),
 * which the engine applies as w <- w - lr step.  With staleness 0 (w_base = w_cur) this
 * is AsyncSGD with the learning rate scaled by alpha_t.  The worker-side proximal term
 * (rho) is a client-training change and is not modelled.
 *
 * An update with a NaN/Inf entry is rejected (the server refuses a message that is not a
 * number); every other update is applied with verdict weighted, weight = alpha_t.
 * aux: s(staleness).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/rules.h"

static const afl_param params[] = {
    {"alpha", AFL_P_REAL, "0.6", 0, 1, NULL,
     "fedasync: mixing weight alpha (the paper tests 0.6 and 0.9; the official script uses 0.8)"},
    {"staleness_fn", AFL_P_ENUM, "polynomial", 0, 0, "constant|polynomial|hinge",
     "fedasync: staleness function s: constant 1, polynomial (D+1)^-a, hinge 1 if D <= b else "
     "1/(a(D-b)+1)"},
    {"poly_a", AFL_P_REAL, "0.5", 0, 1e6, NULL,
     "fedasync, staleness_fn=polynomial: exponent a"},
    {"hinge_a", AFL_P_REAL, "10", 0, 1e6, NULL, "fedasync, staleness_fn=hinge: slope a"},
    {"hinge_b", AFL_P_REAL, "4", 0, 1e12, NULL,
     "fedasync, staleness_fn=hinge: staleness b up to which s = 1"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

enum { S_CONST, S_POLY, S_HINGE };

typedef struct {
    size_t d;
    int fn;
    double alpha, poly_a, hinge_a, hinge_b, lr;
} state;

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    const afl_config *c = ctx->cfg;
    if (!(ctx->lr > 0.0))
        return afl_err_set(err, AFL_EINPUT, "defense fedasync needs train.lr > 0");
    state *s = calloc(1, sizeof *s);
    if (!s)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    s->d = ctx->d;
    s->lr = ctx->lr;
    s->alpha = afl_cfg_real(c, "defense", "alpha");
    s->poly_a = afl_cfg_real(c, "defense", "poly_a");
    s->hinge_a = afl_cfg_real(c, "defense", "hinge_a");
    s->hinge_b = afl_cfg_real(c, "defense", "hinge_b");
    const char *fn = afl_cfg_str(c, "defense", "staleness_fn");
    s->fn = strcmp(fn, "constant") == 0 ? S_CONST : strcmp(fn, "hinge") == 0 ? S_HINGE : S_POLY;
    *out = s;
    return AFL_OK;
}

static double staleness_weight(const state *s, int64_t tau)
{
    double D = tau > 0 ? (double)tau : 0.0;
    switch (s->fn) {
    case S_POLY: return pow(D + 1.0, -s->poly_a);
    case S_HINGE: return D <= s->hinge_b ? 1.0 : 1.0 / (s->hinge_a * (D - s->hinge_b) + 1.0);
    default: return 1.0;
    }
}

static int on_update(void *st, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    (void)err;
    state *s = st;
    dec->score = NAN;
    dec->aux = NAN;
    dec->apply = 0;
    if (!afl_rules_all_finite(u->g, s->d)) {
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    double sw = staleness_weight(s, u->staleness), at = s->alpha * sw, inv = 1.0 / s->lr;
    for (size_t j = 0; j < s->d; j++)
        step[j] = (float)(at * (((double)u->w_cur[j] - (double)u->w_base[j]) * inv + u->g[j]));
    dec->verdict = AFL_VERDICT_WEIGHTED;
    dec->weight = at;
    dec->aux = sw;
    dec->apply = 1;
    return AFL_OK;
}

static void destroy(void *st)
{
    free(st);
}

const afl_defense_ops afl_defense_fedasync = {
    {"fedasync",
     "FedAsync: mix the client's model x_new = w_base - lr g into the global model with weight "
     "alpha * s(staleness)",
     "Xie, Koyejo, Gupta, arXiv:1903.03934 (2019); code xcgoner/async_fl", params},
    0,
    "staleness weight s(staleness) (the update's weight is alpha * s)",
    create,
    on_update,
    destroy,
};
