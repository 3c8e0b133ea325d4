/* attacks/pgd.c - PGD backdoor: poisoned training, then projection onto an l2 ball.
 *
 * Sun, Kairouz, Suresh, McMahan, "Can You Really Backdoor Federated Learning?" (2019): the
 * attacker knows the server's norm bound and keeps its update inside it; Wang et al. (NeurIPS
 * 2020, "Attack of the Tails") name the variant that projects onto an l2 ball of radius delta
 * around the global model "PGD", and the one that first scales the update "PGD with model
 * replacement".  SecureAFL (section 6.1): "the backdoor model is projected onto an l2 ball
 * around the previous round's model"; the radius is not given.
 *
 * Rule (updates are gradient-like, the server applies w <- w - lr * g with lr = train.lr):
 *   1. poisoned training as in the scaling attack (round(poison_fraction * B) triggered examples
 *      labelled target);
 *   2. g <- scale * g (scale = 1: plain PGD; > 1: PGD with model replacement);
 *   3. the model the update implies, w_base - lr * g, must stay within `radius` of the model the
 *      client trained from (w_base): ||lr * g|| <= radius, i.e.
 *      g <- g * min(1, radius / (lr * ||g||)).
 * radius = 0 (default) picks it from the attacker's knowledge: lr times the mean l2 norm of the
 * known genuine updates (attack.knowledge / attack.window; full knowledge = recent benign
 * updates), or of the client's own genuine update before any is known; i.e. the update is kept
 * no longer than a typical benign one, which is what a norm-bounding server would enforce.
 * The original projects after every local SGD step; with train.local_steps = 1 (one gradient)
 * projecting once at the end is the same, with E > 1 steps it is a single final projection.
 * With train.lr = 0 the server ignores every update and no projection is needed.
 */
#include <math.h>

#include "attacks/trigger.h"

static const afl_param params[] = {
    AFL_BACKDOOR_PARAMS,
    {"radius", AFL_P_REAL, "0", 0, 1e30, NULL,
     "l2 radius of the ball around the client's base model: ||train.lr * g|| <= radius (0 = "
     "train.lr x the mean norm of the known genuine updates)"},
    {"scale", AFL_P_REAL, "1", 0, 1e30, NULL,
     "multiply the poisoned update before projecting (1 = PGD; > 1 = PGD with model "
     "replacement)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    afl_backdoor b;
    double radius, scale, lr;
} state;

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    void *vs;
    int rc = afl_backdoor_alloc(ctx, sizeof(state), 1, afl_backdoor_destroy, &vs, err);
    if (rc)
        return rc;
    state *st = vs;
    st->radius = afl_cfg_real(ctx->cfg, "attack", "radius");
    st->scale = afl_cfg_real(ctx->cfg, "attack", "scale");
    st->lr = ctx->lr;
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    size_t d = st->b.d;
    double r = st->radius;
    if (r <= 0)
        r = st->lr * afl_vec_ref_norm(view, g, d);
    afl_vec_scale(g, d, st->scale);            /* g (d) <- scale g */
    double step = st->lr * afl_vec_norm(g, d); /* ||w_base - (w_base - lr g)|| */
    if (step > r && step > 0)
        afl_vec_scale(g, d, isfinite(step) && r > 0 ? r / step : 0.0);
}

const afl_attack_ops afl_attack_pgd = {
    {"pgd",
     "PGD backdoor: poisoned training, update projected so ||lr g|| <= radius (default: the "
     "known benign norm)",
     "Sun et al., arXiv:1911.07963 (2019); Wang et al., NeurIPS 2020 (PGD, PGD with model "
     "replacement)",
     params},
    create,
    afl_backdoor_poison_all,
    craft,
    afl_backdoor_destroy,
    afl_backdoor_target,
    afl_backdoor_trigger,
    1,
};
