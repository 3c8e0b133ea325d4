/* attacks/amplify.c - amplified update: a malicious client sends lambda * g,
 * its honest update boosted.  The model-poisoning half of the scaling /
 * model-replacement attack without a backdoor (Bagdasaryan et al., AISTATS
 * 2020, "boosting"; Bhagoji et al., ICML 2019 "explicit boosting"), and the
 * canonical test of Kardam's Lipschitz filter (a 100x update).
 */
#include <stdlib.h>

#include "attacks/attack.h"

static const afl_param params[] = {
    {"factor", AFL_P_REAL, "100", -1e30, 1e30, NULL, "lambda in g' = lambda * g"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    float f;
} state;

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = malloc(sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->f = (float)afl_cfg_real(ctx->cfg, "attack", "factor");
    *out = st;
    return AFL_OK;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)view, (void)rng;
    state *st = vs;
    /* g (d) <- lambda g */
    for (size_t i = 0; i < st->d; i++)
        g[i] = st->f * g[i];
}

const afl_attack_ops afl_attack_amplify = {
    {"amplify", "amplified honest update: send factor * (honest update), e.g. 100x",
     "Bhagoji et al., ICML 2019 (explicit boosting); Bagdasaryan et al., AISTATS 2020", params},
    create,
    NULL,
    craft,
    free,
};
