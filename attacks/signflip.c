/* attacks/signflip.c - sign flipping: a malicious client sends -s * g, its
 * honest update reversed (and scaled by s).
 *
 * Sources: Fang et al., "Local Model Poisoning Attacks to Byzantine-Robust
 * Federated Learning", USENIX Security 2020; SecureAFL (Gao et al., AsiaCCS
 * 2026) section 6.1 "Signflip" (s = 1); BASGD's NG attack and Zeno++'s
 * "signflip" use s = 10 (specs/algorithms.md section 3.3).
 */
#include <stdlib.h>

#include "attacks/attack.h"

static const afl_param params[] = {
    {"scale", AFL_P_REAL, "1", 0, 1e30, NULL,
     "s in g' = -s * g (1: SecureAFL/Fang sign flip; 10: BASGD NG / Zeno++ signflip)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    float s;
} state;

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = malloc(sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->s = (float)afl_cfg_real(ctx->cfg, "attack", "scale");
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)view, (void)rng;
    state *st = vs;
    /* g (d) <- -s g */
    for (size_t i = 0; i < st->d; i++)
        g[i] = -st->s * g[i];
}

const afl_attack_ops afl_attack_signflip = {
    {"signflip", "sign flipping: send -scale * (honest update)",
     "Fang et al., USENIX Security 2020; SecureAFL (Gao et al., AsiaCCS 2026) section 6.1",
     params},
    create,
    NULL,
    craft,
    free,
};
