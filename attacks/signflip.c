/* attacks/signflip.c - sign flipping: a malicious client sends -s * g, its
 * honest update reversed (and scaled by s).
 *
 * Sources: Fang et al., "Local Model Poisoning Attacks to Byzantine-Robust
 * Federated Learning", USENIX Security 2020; SecureAFL (Gao et al., AsiaCCS
 * 2026) section 6.1 "Signflip" (s = 1); BASGD's NG attack and Zeno++'s
 * "signflip" use s = 10 (specs/algorithms.md section 3.3).
 */
#include <stdlib.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"scale", AFL_P_REAL, "1", 0, 1e30, NULL,
     "s in g' = -s * g (1: SecureAFL/Fang sign flip; 10: BASGD NG / Zeno++ signflip)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

/* g (d) <- -s g: amplify's g <- f g with f = -s (the float s negated, so each product is the
 * float (-s) * g[i] it always was) */
static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    return afl_factor_create(ctx, -(float)afl_cfg_real(ctx->cfg, "attack", "scale"), out, err);
}

const afl_attack_ops afl_attack_signflip = {
    {"signflip", "sign flipping: send -scale * (honest update)",
     "Fang et al., USENIX Security 2020; SecureAFL (Gao et al., AsiaCCS 2026) section 6.1", params},
    create,
    NULL,
    afl_factor_craft,
    free,
};
