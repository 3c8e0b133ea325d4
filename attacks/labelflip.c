/* attacks/labelflip.c - label flipping (data poisoning): a malicious client
 * trains honestly on relabelled data, l -> C - 1 - l.
 *
 * Sources (specs/algorithms.md section 3.1): Tolpegin et al., "Data Poisoning
 * Attacks Against Federated Learning Systems", ESORICS 2020; FLTrust (Cao et
 * al., NDSS 2021) "flip its label l to M - l - 1"; SecureAFL (Gao et al.,
 * AsiaCCS 2026) section 5.1 "y -> z - 1 - y"; code: xcgoner/iclr2020_zeno_async
 * (`classes - 1 - label`), lishenghui/blades LabelFlipAdversary
 * (`num_class - 1 - target`), epfml/byzantine-robust-noniid-optimizer (9 - target).
 *
 * flip_fraction < 1 (the papers' default is 1, every sample): each sample of a
 * batch is flipped independently with that probability, drawn from the client's
 * batch stream passed to poison_batch (the papers do not say how a fraction is
 * chosen; poison_batch does not see example indices, so a fixed subset of the
 * client's data is not available).  With 0 or 1 no random number is drawn, so
 * flip_fraction = 1 leaves every other random stream of the run unchanged.
 */
#include <stdlib.h>

#include "attacks/attack.h"

static const afl_param params[] = {
    {"flip_fraction", AFL_P_REAL, "1", 0, 1, NULL,
     "labelflip: probability that a sample of a malicious batch is relabelled (1 = all, the "
     "papers' setting)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    int n_classes;
    double fraction;
} state;

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    if (ctx->n_classes < 2)
        return afl_err_set(err, AFL_EINPUT, "attack labelflip needs at least 2 classes (got %d)",
                           ctx->n_classes);
    state *st = malloc(sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->n_classes = ctx->n_classes;
    st->fraction = afl_cfg_real(ctx->cfg, "attack", "flip_fraction");
    *out = st;
    return AFL_OK;
}

static void poison_batch(void *vs, int client, float *x, int32_t *y, int B, afl_rng *rng)
{
    (void)client, (void)x;
    const state *st = vs;
    /* y (B): l -> C - 1 - l; labels outside [0, C) are left alone */
    for (int b = 0; b < B; b++) {
        if (y[b] < 0 || y[b] >= st->n_classes)
            continue;
        if (st->fraction < 1 && !(st->fraction > 0 && afl_rng_uniform(rng) < st->fraction))
            continue;
        y[b] = st->n_classes - 1 - y[b];
    }
}

const afl_attack_ops afl_attack_labelflip = {
    {"labelflip", "label flipping: malicious clients train on labels l -> C-1-l",
     "Tolpegin et al., ESORICS 2020; FLTrust (NDSS 2021); SecureAFL (AsiaCCS 2026) section 5.1",
     params},
    create,
    poison_batch,
    NULL,
    free,
};
