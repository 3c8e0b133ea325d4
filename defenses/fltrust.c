/* defenses/fltrust.c - FLTrust in asynchronous buffered form.
 *
 * Source: X. Cao, M. Fang, J. Liu, N. Z. Gong, "FLTrust: Byzantine-robust Federated
 * Learning via Trust Bootstrapping", NDSS 2021, section IV, Algorithms 1-2
 * (specs/algorithms.md section 4.7).
 *
 *   TS_i = ReLU(cos(g_i, g0)),  g = sum_i TS_i (||g0|| / ||g_i||) g_i / sum_j TS_j,
 *   w <- w - lr * g
 *
 * Sign convention: FLTrust's updates are model deltas (w <- w + alpha g); aflsim's are
 * gradient-like (w <- w - lr g), so both the clients' g_i and the server's g0 are gradients
 * here.  Cosines, the ReLU and the rescaling to ||g0|| are unchanged when every vector
 * flips sign, so the rule is the same; only the final step's sign follows the convention.
 *
 * Asynchronous adaptation (aflsim's; the paper is synchronous over all clients):
 *   - the server buffers K finite arrivals (verdict held); the K-th flushes;
 *   - at the flush the server computes g0 = the mean cross-entropy gradient of one
 *     minibatch of `root_batch` trusted examples at the *current* model (what a client
 *     does with train.local_steps = 1; the paper's R_l = 1 local iteration), then applies
 *     the FLTrust aggregate of the K buffered updates, which were computed on older models;
 *   - if every trust score is 0 (or g0 = 0) the model is left unchanged (the 0/0 guard)
 *     and the buffer is emptied;
 *   - an update with a NaN/Inf entry is rejected and not buffered.
 * The trusted set (defense.trusted_size examples, uniform over the clients' data) is the
 * paper's Case I root dataset, except that it is not removed from the clients.
 *
 * Decision at the flush: score = the flushing update's cosine with g0, weight = its share
 * TS_i / sum TS, verdict accepted (rejected if its TS_i = 0); aux = how many of the K
 * buffered updates got trust 0.  Held arrivals: score, weight and aux empty.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/rules.h"

static const afl_param params[] = {
    {"buffer", AFL_P_INT, "10", 1, 100000, NULL,
     "fltrust: number K of arrivals aggregated per step (the K-th arrival flushes)"},
    {"root_batch", AFL_P_INT, "0", 0, 1e9, NULL,
     "fltrust: trusted examples in the server's minibatch for g0 (0 = train.batch, as clients "
     "do; >= defense.trusted_size = the whole trusted set)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int K, count, batch;
    float *buf;         /* (K, d) buffered updates */
    const float **rows; /* (K) */
    float *g0;          /* (d) server update */
    double *trust, *cosine; /* (K) */
    afl_rules_ws *ws;
    float (*grad)(void *env, const float *w, int batch, float *grad);
    void *env;
} state;

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    free(s->buf);
    free(s->rows);
    free(s->g0);
    free(s->trust);
    free(s->cosine);
    afl_rules_ws_free(s->ws);
    free(s);
}

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    if (!ctx->trusted_grad)
        return afl_err_set(err, AFL_EINTERNAL, "defense fltrust needs trusted server data");
    state *s = calloc(1, sizeof *s);
    if (!s)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    s->d = ctx->d;
    s->K = (int)afl_cfg_int(ctx->cfg, "defense", "buffer");
    int64_t rb = afl_cfg_int(ctx->cfg, "defense", "root_batch");
    s->batch = rb > 0 ? (int)rb : ctx->batch;
    s->grad = ctx->trusted_grad;
    s->env = ctx->env;
    s->buf = malloc((size_t)s->K * s->d * sizeof *s->buf);
    s->rows = malloc((size_t)s->K * sizeof *s->rows);
    s->g0 = malloc(s->d * sizeof *s->g0);
    s->trust = malloc((size_t)s->K * sizeof *s->trust);
    s->cosine = malloc((size_t)s->K * sizeof *s->cosine);
    s->ws = afl_rules_ws_create(s->K);
    if (!s->buf || !s->rows || !s->g0 || !s->trust || !s->cosine || !s->ws) {
        int K = s->K;
        destroy(s);
        return afl_err_set(err, AFL_ENOMEM, "out of memory for a buffer of %d updates", K);
    }
    for (int i = 0; i < s->K; i++)
        s->rows[i] = s->buf + (size_t)i * s->d;
    *out = s;
    return AFL_OK;
}

static int on_update(void *st, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    state *s = st;
    dec->score = NAN;
    dec->aux = NAN;
    dec->apply = 0;
    if (!afl_rules_all_finite(u->g, s->d)) {
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    memcpy(s->buf + (size_t)s->count * s->d, u->g, s->d * sizeof *s->buf);
    s->count++;
    if (s->count < s->K) {
        dec->verdict = AFL_VERDICT_HELD;
        dec->weight = NAN;
        return AFL_OK;
    }
    s->count = 0;
    s->grad(s->env, u->w_cur, s->batch, s->g0);
    double total = 0.0;
    int rc = afl_rule_fltrust(s->ws, s->rows, s->K, s->d, s->g0, s->trust, s->cosine, &total,
                              step, err);
    if (rc == AFL_ENUMERIC) {
        /* g0 not finite (the model itself diverged) or the aggregate overflowed: no step */
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    if (rc)
        return rc;
    int zero = 0;
    for (int i = 0; i < s->K; i++)
        zero += s->trust[i] == 0.0;
    int me = s->K - 1;
    dec->score = s->cosine[me];
    dec->aux = zero;
    dec->weight = total > 0.0 ? s->trust[me] / total : 0.0;
    dec->verdict = s->trust[me] > 0.0 ? AFL_VERDICT_ACCEPTED : AFL_VERDICT_REJECTED;
    dec->apply = total > 0.0;
    return AFL_OK;
}

/* The buffered updates (the first `count` rows); g0, trust and cosine are recomputed at
 * every flush. */
static int fltrust_ckpt(void *st, afl_ckpt *ck)
{
    state *s = st;
    if (afl_ckpt_int(ck, "fltrust.count", &s->count))
        return afl_ckpt_status(ck);
    if (s->count < 0 || s->count >= s->K)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "fltrust: the checkpoint holds %d buffered updates, more than "
                             "defense.buffer = %d allows",
                             s->count, s->K);
    afl_ckpt_floats(ck, "fltrust.buf", s->buf, (size_t)s->count * s->d);
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_fltrust = {
    {"fltrust",
     "FLTrust: ReLU-cosine trust against a server update on trusted data, norms rescaled to it, "
     "over buffers of K arrivals",
     "Cao, Fang, Liu, Gong, NDSS 2021, Algorithms 1-2 (asynchronous buffered adaptation)",
     params},
    1,
    "at a flush: number of buffered updates with trust score 0 (ReLU of a non-positive cosine); "
    "empty on held or rejected arrivals",
    create,
    on_update,
    destroy,
    NULL,
    fltrust_ckpt,
};
