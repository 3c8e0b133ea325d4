/* defenses/asyncsgd.c - AsyncSGD: apply every arriving update as it is.
 *
 * Source: S. Zheng et al., "Asynchronous Stochastic Gradient Descent with
 * Delay Compensation", ICML 2017 (the AsyncSGD baseline); SecureAFL paper
 * (Gao et al., AsiaCCS 2026) Eq. (1) / Algorithm 1: w^{t+1} = w^t - eta g_i^{t-tau_i}.
 *
 * No defense at all: a non-finite update is applied too (the run then stops
 * with a diagnostic naming the event), which is what the paper's baseline does.
 */
#include <math.h>
#include <string.h>

#include "defenses/defense.h"

static const afl_param params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};

static int create(const afl_defense_ctx *ctx, void **state, afl_err *err)
{
    (void)err;
    *state = (void *)(uintptr_t)ctx->d; /* the only state: the dimension */
    return AFL_OK;
}

static int on_update(void *state, const afl_update *u, float *step, afl_decision *dec,
                     afl_err *err)
{
    (void)err;
    size_t d = (size_t)(uintptr_t)state;
    memcpy(step, u->g, d * sizeof *step);
    dec->verdict = AFL_VERDICT_ACCEPTED;
    dec->score = NAN;
    dec->weight = 1.0;
    dec->apply = 1;
    return AFL_OK;
}

static void destroy(void *state)
{
    (void)state;
}

const afl_defense_ops afl_defense_asyncsgd = {
    {"asyncsgd", "no defense: every arriving update is applied immediately (w <- w - lr g)",
     "Zheng et al., ICML 2017; SecureAFL (Gao et al., AsiaCCS 2026) Eq. (1), Algorithm 1", params},
    0,
    NULL,
    create,
    on_update,
    destroy,
};
