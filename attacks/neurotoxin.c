/* attacks/neurotoxin.c - Neurotoxin (Zhang, Panda, Song, Yang, Mahoney, Gonzalez, Ramchandran,
 * Mittal, ICML 2022): a durable backdoor that only changes the coordinates benign training
 * changes least.
 *
 * The paper's attacker estimates the benign update, finds its top-k% coordinates by magnitude,
 * and projects its poisoned gradient onto the other coordinates at every local step.  The
 * official code (jhcknzzm/Federated-Learning-Backdoor, train_funcs.py) builds the mask from the
 * gradient of the current global model on clean data and keeps the `gradmask_ratio` smallest
 * coordinates; its computer-vision run scripts use gradmask_ratio = 0.95, i.e. the top 5% are
 * masked (0.99, 0.97 also appear).  Default topk_ratio = 0.05 follows those scripts (the
 * paper's own default was not checked against its text).
 *
 * Rule here (updates are gradient-like):
 *   1. poisoned training as in the scaling attack (round(poison_fraction * B) triggered
 *      examples labelled target);
 *   2. reference r = mean of the known genuine updates (attack.knowledge: full = recent benign
 *      updates, partial = the malicious clients' own genuine ones, which were computed on
 *      poisoned batches); before any is known, the client's own genuine update;
 *   3. zero g on exactly round(topk_ratio * d) coordinates with the largest |r| (ties to the
 *      lower index), keep the rest;
 *   4. g <- scale * g (default 1: Neurotoxin itself does not scale).
 * The mask is applied once to the final update; with train.local_steps = 1 this equals masking
 * the gradient, with E > 1 local steps it is a single final projection.
 */
#include <math.h>
#include <stdlib.h>

#include "attacks/trigger.h"

static const afl_param params[] = {
    AFL_BACKDOOR_PARAMS,
    {"topk_ratio", AFL_P_REAL, "0.05", 0, 1, NULL,
     "fraction of coordinates masked: the largest |mean known update| (official CV scripts: "
     "gradmask_ratio 0.95 -> 0.05)"},
    {"scale", AFL_P_REAL, "1", 0, 1e30, NULL, "multiply the masked poisoned update (1 = none)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    afl_backdoor b;
    double ratio, scale;
    float *ref;          /* (d) reference update */
    uint32_t *keys;      /* (d) selection scratch */
    unsigned char *mask; /* (d) 1 = masked (set to 0) */
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (!st)
        return;
    afl_backdoor_free(&st->b);
    free(st->ref);
    free(st->keys);
    free(st->mask);
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    void *vs;
    int rc = afl_backdoor_alloc(ctx, sizeof(state), 1, destroy, &vs, err);
    if (rc)
        return rc;
    state *st = vs;
    st->ratio = afl_cfg_real(ctx->cfg, "attack", "topk_ratio");
    st->scale = afl_cfg_real(ctx->cfg, "attack", "scale");
    size_t d = ctx->d ? ctx->d : 1;
    st->ref = malloc(d * sizeof *st->ref);
    st->keys = malloc(d * sizeof *st->keys);
    st->mask = malloc(d);
    if (!st->ref || !st->keys || !st->mask) {
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (neurotoxin, %zu parameters)", d);
    }
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    size_t d = st->b.d;
    const float *ref = afl_vec_ref_mean(view, g, d, st->ref);
    size_t k = (size_t)floor(st->ratio * (double)d + 0.5);
    afl_vec_select(ref, d, k, 0, st->keys, st->mask);
    for (size_t i = 0; i < d; i++) /* g (d): zero the top-k coordinates of |ref| */
        if (st->mask[i])
            g[i] = 0.0f;
    if (st->scale != 1.0)
        afl_vec_scale(g, d, st->scale);
}

const afl_attack_ops afl_attack_neurotoxin = {
    {"neurotoxin",
     "Neurotoxin: poisoned update with the top topk_ratio coordinates of the mean known update "
     "(by magnitude) zeroed",
     "Zhang et al., ICML 2022; official code jhcknzzm/Federated-Learning-Backdoor", params},
    create,
    afl_backdoor_poison_all,
    craft,
    destroy,
    afl_backdoor_target,
    afl_backdoor_trigger,
    1,
};
