/* attacks/dba.c - DBA, distributed backdoor attack (Xie, Huang, Chen, Li, ICLR 2020).
 *
 * The global trigger (trigger.h, the SecureAFL 4x4 square) is split into dba_parts local
 * patterns (default 4 = the four 2x2 quadrants); malicious client k poisons its batches with
 * local pattern k mod dba_parts only (round(poison_fraction * B) examples, labelled target),
 * trains normally and sends scale * g.  At test time the ASR is measured with the whole
 * (global) trigger, as in DBA.
 *
 * Scale: DBA's own code (AI-secure/DBA, utils/mnist_params.yaml and siblings, image_train.py)
 * multiplies the poisoned model delta by scale_weights_poison = 100 in its single-shot experiments
 * and does not scale (gamma = 1) in the multiple-shot ones ("baseline: true").  FLDetector's code,
 * the async-FL line SecureAFL follows, runs its dba attack through scaling_attack (x number of
 * clients).  SecureAFL attacks every round (multiple-shot) but gives no factor; the default
 * here follows FLDetector: scale = 0 = clients.n, like the scaling attack, so that the two
 * differ only in the trigger split.  scale = 1 is DBA's multiple-shot setting.
 * DBA's local patterns in its MNIST config are four 1x4 bars with gaps; here they are blocks of
 * the SecureAFL square (the split is described in trigger.h).
 */
#include "attacks/trigger.h"

static const afl_param params[] = {
    AFL_BACKDOOR_PARAMS,
    {"dba_parts", AFL_P_INT, "4", 1, 4096, NULL,
     "local patterns the trigger is split into (4 = quadrants); client k uses part k mod parts"},
    {"scale", AFL_P_REAL, "0", 0, 1e30, NULL,
     "the poisoned update is multiplied by it (0 = clients.n as FLDetector; 1 = DBA's "
     "multiple-shot setting; DBA single-shot used 100)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    return afl_scaled_backdoor_create(ctx, (int)afl_cfg_int(ctx->cfg, "attack", "dba_parts"), out,
                                      err);
}

/* x (B, dim), y (B): the local pattern of this client (client mod dba_parts) */
static void poison_batch(void *vs, int client, float *x, int32_t *y, int B, afl_rng *rng)
{
    (void)rng;
    afl_backdoor *b = vs;
    afl_backdoor_poison(b, afl_trigger_part_of(&b->trig, client), x, y, B);
}

const afl_attack_ops afl_attack_dba = {
    {"dba",
     "DBA: the trigger split into dba_parts local patterns, one per malicious client; ASR with "
     "the global trigger",
     "Xie et al., ICLR 2020 (DBA); scaling as FLDetector (Zhang et al., KDD 2022) code", params},
    create,
    poison_batch,
    afl_scaled_backdoor_craft, /* g <- scale g, as scaling.c */
    afl_backdoor_destroy,
    afl_backdoor_target,
    afl_backdoor_trigger, /* the global trigger */
    0,
};
