/* attacks/none.c - no attack: malicious clients (if any) behave honestly.
 * Useful as the baseline row of every comparison. */
#include "attacks/attack.h"

static const afl_param params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};

static int create(const afl_attack_ctx *ctx, void **state, afl_err *err)
{
    (void)ctx, (void)err;
    *state = NULL;
    return AFL_OK;
}

static void destroy(void *state)
{
    (void)state;
}

const afl_attack_ops afl_attack_none = {
    {"none", "no attack: malicious clients send their honest updates", "-", params},
    create,
    NULL,
    NULL,
    destroy,
};
