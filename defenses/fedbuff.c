/* defenses/fedbuff.c - FedBuff: buffered asynchronous aggregation.
 *
 * Source: J. Nguyen, K. Malik, H. Zhan, A. Yousefpour, M. Rabbat, M. Malek, D. Huba,
 * "Federated Learning with Buffered Asynchronous Aggregation", AISTATS 2022; code
 * facebookresearch/FLSim @ 7311f2d, FedBuffAggregator and async_staleness_weights.py
 * (specs/algorithms.md section 4.9).
 *
 *   on each arrival:  D += w(tau) g,   w(tau) = 1 / sqrt(1 + tau),   k += 1
 *   when k == K:      step = server_lr * D / K   (reduce = mean)
 *                     step = server_lr * D       (reduce = sum)
 *                     w <- w - lr step;  D = 0, k = 0
 *
 * Interpretation: the paper's staleness scaling 1/sqrt(1+tau) is used as is (FLSim
 * additionally normalises it so that the weight at avg_staleness is 1, which only rescales
 * the learning rate); the server optimizer is plain SGD (FedAvgWithLR without momentum)
 * with learning rate lr * server_lr.  Whether the buffer is divided by K is explicit
 * (`reduce`).  The engine has no end-of-run hook, so a partial buffer at the end of a run
 * is not flushed.  Updates are gradient-like (aflsim's convention), FLSim's deltas with
 * the sign flipped.  An update with a NaN/Inf entry is rejected and not buffered (a
 * server refuses a message that is not a number); FedBuff has no other defense.
 *
 * Decision: held (weight empty) until the K-th arrival, which is weighted (weight = its
 * w(tau)) and applies the step.  aux: w(tau) of the arriving update.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/rules.h"

static const afl_param params[] = {
    {"buffer", AFL_P_INT, "10", 1, 1e9, NULL,
     "fedbuff: number K of arrivals per server step (the K-th arrival flushes)"},
    {"server_lr", AFL_P_REAL, "1", 0, 1e6, NULL,
     "fedbuff: server learning-rate multiplier eta_g (step = server_lr * reduce(weighted updates))"},
    {"reduce", AFL_P_ENUM, "mean", 0, 0, "mean|sum",
     "fedbuff: mean divides the staleness-weighted sum by K; sum does not"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int K, count, mean;
    double server_lr;
    double *acc; /* (d) weighted sum of the buffered updates */
} state;

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    free(s->acc);
    free(s);
}

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    s->d = ctx->d;
    s->K = (int)afl_cfg_int(ctx->cfg, "defense", "buffer");
    s->server_lr = afl_cfg_real(ctx->cfg, "defense", "server_lr");
    s->mean = strcmp(afl_cfg_str(ctx->cfg, "defense", "reduce"), "mean") == 0;
    s->acc = calloc(s->d, sizeof *s->acc);
    if (!s->acc) {
        destroy(s);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    *out = s;
    return AFL_OK;
}

static int on_update(void *st, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    (void)err;
    state *s = st;
    dec->score = NAN;
    dec->aux = NAN;
    dec->apply = 0;
    if (!afl_rules_all_finite(u->g, s->d)) {
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    double tau = u->staleness > 0 ? (double)u->staleness : 0.0;
    double wt = 1.0 / sqrt(1.0 + tau);
    for (size_t j = 0; j < s->d; j++)
        s->acc[j] += wt * u->g[j];
    s->count++;
    dec->aux = wt;
    if (s->count < s->K) {
        dec->verdict = AFL_VERDICT_HELD;
        dec->weight = NAN;
        return AFL_OK;
    }
    double scale = s->server_lr / (s->mean ? s->K : 1);
    for (size_t j = 0; j < s->d; j++) {
        step[j] = (float)(scale * s->acc[j]);
        s->acc[j] = 0.0;
    }
    s->count = 0;
    dec->verdict = AFL_VERDICT_WEIGHTED;
    dec->weight = wt;
    dec->apply = 1;
    return AFL_OK;
}

/* The number of buffered arrivals and their staleness-weighted sum. */
static int fedbuff_ckpt(void *st, afl_ckpt *ck)
{
    state *s = st;
    if (afl_ckpt_int(ck, "fedbuff.count", &s->count))
        return afl_ckpt_status(ck);
    if (s->count < 0 || s->count >= s->K)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "fedbuff: the checkpoint holds %d buffered arrivals, more than "
                             "defense.buffer = %d allows",
                             s->count, s->K);
    afl_ckpt_doubles(ck, "fedbuff.sum", s->acc, s->d);
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_fedbuff = {
    {"fedbuff",
     "FedBuff: staleness-weighted (1/sqrt(1+tau)) buffer of K arrivals, one server step per "
     "full buffer",
     "Nguyen et al., AISTATS 2022; code facebookresearch/FLSim (FedBuffAggregator)", params},
    0,
    "staleness weight 1/sqrt(1+staleness) of the arriving update",
    create,
    on_update,
    destroy,
    NULL,
    fedbuff_ckpt,
};
