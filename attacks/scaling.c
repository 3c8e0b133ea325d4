/* attacks/scaling.c - Scaling backdoor: poisoned training, then the update amplified by lambda.
 *
 * Rule (FLTrust's description of the scaling attack, Cao et al. NDSS 2021 section VI-A.2, after
 * Bagdasaryan et al. AISTATS 2020 "model replacement"; specs/algorithms.md section 3.4):
 *   1. a malicious client replaces round(poison_fraction * B) examples of its minibatch by
 *      triggered copies labelled `target` (trigger.h: the SecureAFL 4x4 bottom-right square);
 *   2. it trains normally on that batch (one gradient, or local_steps SGD steps);
 *   3. it sends lambda * g.  Updates are gradient-like (w <- w - lr * g), so scaling g by lambda
 *      is model replacement's L = G + lambda (X - G) in model-delta terms.
 * The hooks and the scaling rule are shared with dba.c (trigger.c afl_scaled_backdoor_*).
 * Defaults: lambda = n = clients.n (FLTrust; FLDetector's scaling_attack multiplies by the number
 * of clients), written scale = 0.  poison_fraction 0.5: FLTrust adds copies of a fraction of
 * the local data; FLDetector's CIFAR code triggers the first half of each batch, its MNIST code
 * half of a 600-sample set.  The batch size stays B (copies replace examples, they are not
 * appended).  target 0: SecureAFL does not state it; FLDetector uses 0.
 */
#include "attacks/trigger.h"

static const afl_param params[] = {
    AFL_BACKDOOR_PARAMS,
    {"scale", AFL_P_REAL, "0", 0, 1e30, NULL,
     "lambda: the poisoned update is multiplied by it (0 = clients.n, FLTrust/FLDetector)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    return afl_scaled_backdoor_create(ctx, 1, out, err);
}

const afl_attack_ops afl_attack_scaling = {
    {"scaling",
     "Scaling backdoor: trigger + target label on poison_fraction of each batch, update x scale "
     "(default clients.n)",
     "Bagdasaryan et al., AISTATS 2020 (model replacement); FLTrust (Cao et al., NDSS 2021) "
     "section VI-A.2; trigger: SecureAFL section 6.1",
     params},
    create,
    afl_backdoor_poison_all,
    afl_scaled_backdoor_craft,
    afl_backdoor_destroy,
    afl_backdoor_target,
    afl_backdoor_trigger,
    0,
};
