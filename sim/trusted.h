/* sim/trusted.h - the server's trusted dataset for the defenses that need one
 * (Zeno++, AFLGuard, Sageflow, FLTrust): defense.trusted_size examples drawn
 * uniformly without replacement from the union of the clients' training data,
 * as in AFLGuard (Fang et al., ACSAC 2022) and the SecureAFL paper's setup.
 * The examples stay with their clients too. */
#ifndef AFL_TRUSTED_H
#define AFL_TRUSTED_H

#include "data/dataset.h"
#include "models/net.h"
#include "sim/err.h"
#include "sim/rng.h"

typedef struct afl_trusted {
    const afl_net *net;
    afl_dataset data;
    afl_ws *ws;
    afl_rng *rng; /* minibatch draws */
    float *xb, *logits;
    int32_t *yb;
    int max_batch;
} afl_trusted;

int afl_trusted_init(afl_trusted *t, const afl_net *net, const afl_dataset *train, int n,
                     int max_batch, uint64_t seed, afl_err *err);
void afl_trusted_free(afl_trusted *t);
/* Gradient (d) of the mean loss over `batch` examples drawn without replacement
 * (batch <= 0 or >= n: all of them, in order); returns the mean loss. */
float afl_trusted_grad(void *env, const float *w, int batch, float *grad);
/* Mean cross-entropy and mean prediction entropy (nats) of w on the whole set. */
void afl_trusted_eval(void *env, const float *w, double *loss, double *entropy);

#endif
