/* attacks/scaling.c - Scaling backdoor: poisoned training, then the update amplified by lambda.
 *
 * Rule (FLTrust's description of the scaling attack, Cao et al. NDSS 2021 section VI-A.2, after
 * Bagdasaryan et al. AISTATS 2020 "model replacement"; specs/algorithms.md section 3.4):
 *   1. a malicious client replaces round(poison_fraction * B) examples of its minibatch by
 *      triggered copies labelled `target` (trigger.h: the SecureAFL 4x4 bottom-right square);
 *   2. it trains normally on that batch (one gradient, or local_steps SGD steps);
 *   3. it sends lambda * g.  Updates are gradient-like (w <- w - lr * g), so scaling g by lambda
 *      is model replacement's L = G + lambda (X - G) in model-delta terms.
 * Defaults: lambda = n = clients.n (FLTrust; FLDetector's scaling_attack multiplies by the number
 * of clients), written scale = 0.  poison_fraction 0.5: FLTrust adds copies of a fraction of
 * the local data; FLDetector's CIFAR code triggers the first half of each batch, its MNIST code
 * half of a 600-sample set.  The batch size stays B (copies replace examples, they are not
 * appended).  target 0: SecureAFL does not state it; FLDetector uses 0.
 */
#include <stdlib.h>

#include "attacks/trigger.h"

static const afl_param params[] = {
    AFL_BACKDOOR_PARAMS,
    {"scale", AFL_P_REAL, "0", 0, 1e30, NULL,
     "lambda: the poisoned update is multiplied by it (0 = clients.n, FLTrust/FLDetector)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    afl_backdoor b;
    double lambda;
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (!st)
        return;
    afl_backdoor_free(&st->b);
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    int rc = afl_backdoor_init(&st->b, ctx, 1, err);
    if (rc) {
        destroy(st);
        return rc;
    }
    double s = afl_cfg_real(ctx->cfg, "attack", "scale");
    st->lambda = s > 0 ? s : (double)ctx->n_clients;
    *out = st;
    return AFL_OK;
}

static void poison_batch(void *vs, int client, float *x, int32_t *y, int B, afl_rng *rng)
{
    (void)client, (void)rng;
    state *st = vs;
    afl_backdoor_poison(&st->b, -1, x, y, B);
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)view, (void)rng;
    state *st = vs;
    afl_vec_scale(g, st->b.d, st->lambda); /* g (d) <- lambda g */
}

static int target(void *vs)
{
    return ((state *)vs)->b.target;
}

static void trigger(void *vs, float *x)
{
    afl_trigger_apply(&((state *)vs)->b.trig, x, -1);
}

const afl_attack_ops afl_attack_scaling = {
    {"scaling",
     "Scaling backdoor: trigger + target label on poison_fraction of each batch, update x scale "
     "(default clients.n)",
     "Bagdasaryan et al., AISTATS 2020 (model replacement); FLTrust (Cao et al., NDSS 2021) "
     "section VI-A.2; trigger: SecureAFL section 6.1",
     params},
    create,
    poison_batch,
    craft,
    destroy,
    target,
    trigger,
    0,
};
