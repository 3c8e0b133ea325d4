/* defenses/buffered.c - a synchronous robust rule run asynchronously over a buffer.
 *
 * Sources: the rules of defenses/rules.h (Yin et al. ICML 2018; Blanchard et al. NeurIPS
 * 2017; El Mhamdi et al. ICML 2018; Karimireddy et al. ICML 2021), used in buffered form
 * as in FedBuff (Nguyen et al., AISTATS 2022) and the robust-FedBuff variant of
 * specs/algorithms.md section 4.9: "replace the buffer sum by a robust aggregator over the
 * K buffered updates".
 *
 * The server keeps the first K finite arrivals (verdict held), and on the K-th runs
 * defense.rule over the K buffered updates and applies one step w <- w - lr * rule(...);
 * the buffer is then emptied.  Updates were computed on older models (staleness is
 * ignored, as synchronous rules do); the step is applied to the model current at the
 * flush.  An update with a NaN/Inf entry is rejected and not buffered.
 * Centered clipping's centre v_0 is the previous applied step (0 before the first).
 *
 * aux: the update's slot in the buffer (1..K; K = the arrival that flushed), NAN if rejected.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/rules.h"

static const afl_param params[] = {AFL_RULE_BUFFER_PARAMS("buffered"),
                                   {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int K, count;
    afl_rule_kind rule;
    afl_rule_params p;
    float *buf;         /* (K, d) buffered updates */
    const float **rows; /* (K) */
    float *center;      /* (d) centered clipping: previous step */
    afl_rules_ws *ws;
} state;

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    free(s->buf);
    free(s->rows);
    free(s->center);
    afl_rules_ws_free(s->ws);
    free(s);
}

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    state *s = calloc(1, sizeof *s);
    if (!s)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    s->d = ctx->d;
    int rc = afl_rule_from_cfg(ctx->cfg, &s->K, &s->rule, &s->p, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->buf = malloc((size_t)s->K * s->d * sizeof *s->buf);
    s->rows = malloc((size_t)s->K * sizeof *s->rows);
    s->center = calloc(s->d, sizeof *s->center);
    s->ws = afl_rules_ws_create(s->K);
    if (!s->buf || !s->rows || !s->center || !s->ws) {
        int K = s->K;
        destroy(s);
        return afl_err_set(err, AFL_ENOMEM, "out of memory for a buffer of %d updates", K);
    }
    s->p.cc_v = s->center;
    for (int i = 0; i < s->K; i++)
        s->rows[i] = s->buf + (size_t)i * s->d;
    rc = afl_rule_check(s->rule, &s->p, s->K, "defense.", err);
    if (rc) {
        afl_err_prefix(err, "defense buffered (buffer = %d)", s->K);
        destroy(s);
        return rc;
    }
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
    dec->aux = s->count;
    if (s->count < s->K) {
        dec->verdict = AFL_VERDICT_HELD;
        dec->weight = NAN;
        return AFL_OK;
    }
    s->count = 0;
    int rc = afl_rule_apply(s->ws, s->rule, &s->p, s->rows, s->K, s->d, step, err);
    if (rc == AFL_ENUMERIC) {
        /* cannot happen with finite inputs unless they overflow float: skip the step */
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    if (rc)
        return rc;
    dec->verdict = AFL_VERDICT_ACCEPTED;
    dec->weight = 1.0;
    dec->apply = 1;
    return AFL_OK;
}

/* The buffered updates (the first `count` rows) and, for centered clipping, the centre
 * (the previous step). */
static int buffered_ckpt(void *st, afl_ckpt *ck)
{
    state *s = st;
    if (afl_ckpt_int(ck, "buffered.count", &s->count))
        return afl_ckpt_status(ck);
    if (s->count < 0 || s->count >= s->K)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "buffered: the checkpoint holds %d buffered updates, more than "
                             "defense.buffer = %d allows",
                             s->count, s->K);
    afl_ckpt_floats(ck, "buffered.buf", s->buf, (size_t)s->count * s->d);
    if (s->rule == AFL_RULE_CENTERED_CLIPPING)
        afl_ckpt_floats(ck, "buffered.center", s->center, s->d);
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_buffered = {
    {"buffered",
     "a synchronous robust rule (mean, median, trimmed mean, Krum, Multi-Krum, Bulyan, centered "
     "clipping) applied to every K arrivals",
     "Yin et al. ICML 2018; Blanchard et al. NeurIPS 2017; El Mhamdi et al. ICML 2018; "
     "Karimireddy et al. ICML 2021; buffered as in FedBuff (Nguyen et al. AISTATS 2022)",
     params},
    0,
    "slot of the update in the buffer (1..buffer; buffer = the arrival that triggered the step); "
    "empty if rejected",
    create,
    on_update,
    destroy,
    NULL,
    buffered_ckpt,
};
