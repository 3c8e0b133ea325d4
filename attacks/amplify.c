/* attacks/amplify.c - amplified update: a malicious client sends lambda * g,
 * its honest update boosted.  The model-poisoning half of the scaling /
 * model-replacement attack without a backdoor (Bagdasaryan et al., AISTATS
 * 2020, "boosting"; Bhagoji et al., ICML 2019 "explicit boosting"), and the
 * canonical test of Kardam's Lipschitz filter (a 100x update).
 */
#include <stdlib.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"factor", AFL_P_REAL, "100", -1e30, 1e30, NULL, "lambda in g' = lambda * g"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

/* g (d) <- lambda g (stats.c afl_factor_*, shared with signflip) */
static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    return afl_factor_create(ctx, (float)afl_cfg_real(ctx->cfg, "attack", "factor"), out, err);
}

const afl_attack_ops afl_attack_amplify = {
    {"amplify", "amplified honest update: send factor * (honest update), e.g. 100x",
     "Bhagoji et al., ICML 2019 (explicit boosting); Bagdasaryan et al., AISTATS 2020", params},
    create,
    NULL,
    afl_factor_craft,
    free,
};
