/* attacks/dfed3.c - 3DFed (Li, Ye, Hu, Li, Wang, Fang, Shi, IEEE S&P 2023), simplified for one
 * asynchronous update at a time.  Registry name "3dfed".
 *
 * 3DFed (paper abstract; official code haoyangliASTAPLE/3DFed, attacks/thrdfed.py and
 * attacks/components/) has three evasion modules plus a feedback loop, all designed for
 * synchronous rounds in which several attacker-controlled clients upload together:
 *   (a) backdoor training with a constrained loss: 0.3 * clean loss + 0.3 * backdoor loss +
 *       0.4 * ||w - w_global|| (or a cosine term); afterwards the backdoor update is scaled UP
 *       to the norm of a benign reference update the attacker trains itself, by at most
 *       fl_weight_scale = 5;
 *   (b) noise masks: on the output layer's rows of fl_num_neurons = 8 random non-target
 *       neurons, optimised so the update looks as if many neurons changed (DeepSight's NEUPs)
 *       while the masks of a group of fl_adv_group_size = 2 attackers sum to zero (Lagrangian
 *       constraint), so they cancel in the aggregate;
 *   (c) decoy models: extra benign-accuracy models that deviate by > 10 on one parameter each
 *       (where backdoor and benign updates differ least), to attract clustering defenses;
 *   (d) indicators: a parameter of each upload is multiplied by 1e5 and read back from the next
 *       global model to learn which uploads were accepted; adaptive tuning then changes the noise
 *       trade-off alpha and the number of decoys k (k starts at 0, +1 when nothing got through,
 *       -1 per accepted decoy).
 *
 * What is implemented here, per malicious upload (updates are gradient-like, w <- w - lr g):
 *   1. (a) -> poisoned minibatch: round(poison_fraction * B) triggered examples labelled target
 *      (default 0.5, 3DFed's equal weights of clean and backdoor loss), trained normally; the
 *      distance term is replaced by a norm bound B_ref = mean l2 norm of the known genuine
 *      updates (full knowledge: recent benign updates; the client's own genuine update before
 *      any is known), standing in for 3DFed's self-trained benign reference:
 *        g <- g * min((1 - noise) * B_ref / ||g||, max_scale)
 *      (shrinks a long update, lengthens a short one by at most max_scale = 5).
 *   2. (b) -> a noise mask nu on the output layer (weights and biases of mask_neurons random
 *      non-target rows, Gaussian, ||nu|| = noise * B_ref), cancelled over time instead of within
 *      a round: the attacker sends +nu with one malicious upload and -nu with the next one
 *      (a "group" of two consecutive uploads, 3DFed's default group size).  No optimisation of
 *      the mask (3DFed's 30 dual-ascent steps on the UPs / norm / Lagrange losses).
 *      ||g + nu|| <= B_ref always.  Without an output layer (no model given) no mask is added.
 *   3. (c) -> a decoy replaces a malicious upload (asynchrony has no extra slots): the reference
 *      update (mean of the known genuine updates, else the own genuine one) with its coordinate
 *      where |backdoor - reference| is smallest moved by +-10 B_ref.
 *   4. (d) -> no indicators and no alpha tuning (noise is a fixed share).  With adaptive = true
 *      and a defense that offers the full-knowledge acceptance test (view->accepts), an upload
 *      the defense would reject is sent as a decoy instead (3DFed adds decoys when its uploads
 *      are rejected); decoy_rate additionally sends that fraction of uploads as decoys
 *      (default 0: 3DFed starts with no decoys).
 * Random draws (rows, mask, decoys) come from the attack's own stream, so the client's batch
 * stream is untouched.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/trigger.h"

static const afl_param params[] = {
    AFL_BACKDOOR_PARAMS,
    {"max_scale", AFL_P_REAL, "5", 1, 1e30, NULL,
     "a short backdoor update is lengthened to the norm bound by at most this factor (3DFed: "
     "fl_weight_scale = 5)"},
    {"noise", AFL_P_REAL, "0.1", 0, 1, NULL,
     "share of the norm bound spent on the output-layer noise mask (+nu, then -nu on the next "
     "malicious upload)"},
    {"mask_neurons", AFL_P_INT, "8", 0, 1e6, NULL,
     "output neurons (non-target rows) the noise mask covers (3DFed: fl_num_neurons = 8)"},
    {"decoy_rate", AFL_P_REAL, "0", 0, 1, NULL,
     "fraction of malicious uploads sent as decoy updates (3DFed starts with none)"},
    {"adaptive", AFL_P_BOOL, "true", 0, 0, NULL,
     "send a decoy instead when the defense's acceptance test (full knowledge) would reject the "
     "backdoor update"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    afl_backdoor b;
    double max_scale, eta, decoy_rate;
    int adaptive;
    afl_rng *rng; /* the attack's own stream (engine-owned) */
    float *ref;   /* (d) reference update */
    /* output layer: weight (C, H) at w_off, bias (C) at b_off; C = 0: no mask */
    int C, H;
    size_t w_off, b_off;
    int rows;           /* mask_neurons, clamped to C - 1 */
    int *order;         /* (C) row shuffle scratch */
    float *nu_w, *nu_b; /* (C*H), (C): the outstanding noise mask */
    int phase;          /* 0: next backdoor upload draws and sends +nu; 1: it sends -nu */
    long n_decoys;
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (!st)
        return;
    afl_backdoor_free(&st->b);
    free(st->ref);
    free(st->order);
    free(st->nu_w);
    free(st->nu_b);
    free(st);
}

/* Finds the output layer (the last two tensors: weight (C, H), bias (C)). */
static void find_output_layer(state *st, const afl_attack_ctx *ctx)
{
    st->C = 0;
    if (!ctx->net)
        return;
    size_t nt = afl_net_n_tensors(ctx->net);
    if (nt < 2)
        return;
    int sw[4], sb[4], ndw, ndb;
    size_t ow, ob;
    afl_net_tensor_info(ctx->net, nt - 2, NULL, sw, &ndw, &ow);
    afl_net_tensor_info(ctx->net, nt - 1, NULL, sb, &ndb, &ob);
    if (ndw != 2 || ndb != 1 || sw[0] != sb[0] || sw[0] < 2)
        return;
    if (ow + (size_t)sw[0] * (size_t)sw[1] > ctx->d || ob + (size_t)sb[0] > ctx->d)
        return;
    st->C = sw[0];
    st->H = sw[1];
    st->w_off = ow;
    st->b_off = ob;
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    void *vs;
    int rc = afl_backdoor_alloc(ctx, sizeof(state), 1, destroy, &vs, err);
    if (rc)
        return rc;
    state *st = vs;
    st->max_scale = afl_cfg_real(ctx->cfg, "attack", "max_scale");
    st->eta = afl_cfg_real(ctx->cfg, "attack", "noise");
    st->decoy_rate = afl_cfg_real(ctx->cfg, "attack", "decoy_rate");
    st->adaptive = afl_cfg_bool(ctx->cfg, "attack", "adaptive");
    st->rng = ctx->rng;
    find_output_layer(st, ctx);
    int want = (int)afl_cfg_int(ctx->cfg, "attack", "mask_neurons");
    st->rows = st->C > 1 ? (want < st->C - 1 ? want : st->C - 1) : 0;
    size_t d = ctx->d ? ctx->d : 1;
    st->ref = malloc(d * sizeof *st->ref);
    if (!st->ref) {
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (3dfed, %zu parameters)", d);
    }
    if (st->rows > 0) {
        st->order = malloc((size_t)st->C * sizeof *st->order);
        st->nu_w = calloc((size_t)st->C * (size_t)st->H, sizeof *st->nu_w);
        st->nu_b = calloc((size_t)st->C, sizeof *st->nu_b);
        if (!st->order || !st->nu_w || !st->nu_b) {
            destroy(st);
            return afl_err_set(err, AFL_ENOMEM, "out of memory (3dfed noise mask)");
        }
    }
    *out = st;
    return AFL_OK;
}

/* ||nu||: the l2 norm of the mask's weights and biases together. */
static double mask_norm(const state *st)
{
    double a = afl_vec_norm(st->nu_w, (size_t)st->C * (size_t)st->H);
    double b = afl_vec_norm(st->nu_b, (size_t)st->C);
    return sqrt(a * a + b * b);
}

/* A new noise mask: Gaussian on `rows` random non-target output rows, ||nu|| = len. */
static void draw_mask(state *st, double len)
{
    size_t nw = (size_t)st->C * (size_t)st->H;
    memset(st->nu_w, 0, nw * sizeof *st->nu_w);
    memset(st->nu_b, 0, (size_t)st->C * sizeof *st->nu_b);
    int n = 0;
    for (int c = 0; c < st->C; c++)
        if (c != st->b.target)
            st->order[n++] = c;
    for (int i = 0; i < st->rows && i < n; i++) { /* partial Fisher-Yates */
        int j = i + (int)afl_rng_below(st->rng, (uint64_t)(n - i));
        int t = st->order[i];
        st->order[i] = st->order[j];
        st->order[j] = t;
        int c = st->order[i];
        for (int h = 0; h < st->H; h++)
            st->nu_w[(size_t)c * (size_t)st->H + (size_t)h] = (float)afl_rng_normal(st->rng);
        st->nu_b[c] = (float)afl_rng_normal(st->rng);
    }
    double norm = mask_norm(st);
    double f = norm > 0 && isfinite(len) ? len / norm : 0.0;
    afl_vec_scale(st->nu_w, nw, f);
    afl_vec_scale(st->nu_b, (size_t)st->C, f);
}

/* Adds sign * f * nu to the output layer of g. */
static void add_mask(const state *st, float *g, double f)
{
    size_t nw = (size_t)st->C * (size_t)st->H;
    for (size_t i = 0; i < nw; i++)
        g[st->w_off + i] = (float)((double)g[st->w_off + i] + f * (double)st->nu_w[i]);
    for (int c = 0; c < st->C; c++)
        g[st->b_off + (size_t)c] =
            (float)((double)g[st->b_off + (size_t)c] + f * (double)st->nu_b[c]);
}

/* g (d) <- the decoy: ref, with its coordinate closest to the backdoor update moved by
 * +-10 bound. */
static void make_decoy(state *st, float *g, const float *ref, double bound)
{
    size_t d = st->b.d, best = 0;
    double bestv = INFINITY;
    for (size_t i = 0; i < d; i++) {
        double v = fabs((double)g[i] - (double)ref[i]);
        if (v < bestv) {
            bestv = v;
            best = i;
        }
    }
    memmove(g, ref, d * sizeof *g);
    double sgn = afl_rng_uniform(st->rng) < 0.5 ? -1.0 : 1.0;
    if (d > 0 && isfinite(bound))
        g[best] = afl_satf((double)g[best] + sgn * 10.0 * bound);
    st->n_decoys++;
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    size_t d = st->b.d;
    /* the norm bound and the reference update (copied: g changes before the decoy uses it) */
    double bound = afl_vec_ref_norm(view, g, d);
    if (!isfinite(bound))
        bound = FLT_MAX;
    const float *ref = afl_vec_ref_mean(view, g, d, st->ref);
    /* noise mask of this upload: a fresh +nu, or the -nu that cancels the last one */
    int masked = st->rows > 0 && st->eta > 0;
    if (masked && st->phase == 0)
        draw_mask(st, st->eta * bound);
    double nb = 0, mf = 0;
    if (masked) {
        nb = mask_norm(st);
        mf = nb > bound ? bound / nb : 1.0; /* the mask alone never exceeds the bound */
        nb *= mf;
        if (st->phase == 1)
            mf = -mf;
    }
    /* the backdoor part: scaled to the room the mask leaves, lengthened by <= max_scale */
    double room = bound - nb > 0 ? bound - nb : 0;
    double gn = afl_vec_norm(g, d);
    double s = 1.0;
    if (gn > 0 && isfinite(gn))
        s = fmin(room / gn, st->max_scale);
    else if (!isfinite(gn))
        s = 0; /* a non-finite genuine update is dropped */
    afl_vec_scale(g, d, s);
    if (masked)
        add_mask(st, g, mf);
    /* decoy instead? */
    int decoy = 0;
    if (st->adaptive && view && view->accepts && !view->accepts(view->accepts_env, g, NULL))
        decoy = 1;
    else if (st->decoy_rate > 0 && afl_rng_uniform(st->rng) < st->decoy_rate)
        decoy = 1;
    if (decoy)
        make_decoy(st, g, ref, bound);
    else if (masked)
        st->phase ^= 1;
}

/* The state craft changes: the outstanding noise mask (+nu sent, -nu still due), the phase and
 * the decoy count.  order and ref are scratch; the attack's stream is the engine's. */
static int dfed3_ckpt(void *vs, afl_ckpt *ck)
{
    state *st = vs;
    int shape[3] = {st->C, st->H, st->rows};
    afl_ckpt_ints(ck, "3dfed.mask_shape", shape, 3);
    if (afl_ckpt_loading(ck) && !afl_ckpt_status(ck) &&
        (shape[0] != st->C || shape[1] != st->H || shape[2] != st->rows))
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "3dfed: the noise mask covers %d of %d output rows of %d weights, "
                             "but this run's covers %d of %d rows of %d (different model or "
                             "attack.mask_neurons)",
                             shape[2], shape[0], shape[1], st->rows, st->C, st->H);
    afl_ckpt_int(ck, "3dfed.phase", &st->phase);
    int64_t nd = st->n_decoys;
    afl_ckpt_i64(ck, "3dfed.n_decoys", &nd);
    st->n_decoys = (long)nd;
    if (st->rows > 0) {
        afl_ckpt_floats(ck, "3dfed.nu_w", st->nu_w, (size_t)st->C * (size_t)st->H);
        afl_ckpt_floats(ck, "3dfed.nu_b", st->nu_b, (size_t)st->C);
    }
    return afl_ckpt_status(ck);
}

const afl_attack_ops afl_attack_3dfed = {
    {"3dfed",
     "3DFed, simplified for async: poisoned update held to the known benign norm, cancelling "
     "output-layer noise masks, decoys",
     "Li et al., IEEE S&P 2023 (3DFed); official code haoyangliASTAPLE/3DFed; simplifications "
     "in docs/attacks-backdoor.md",
     params},
    create,
    afl_backdoor_poison_all,
    craft,
    destroy,
    afl_backdoor_target,
    afl_backdoor_trigger,
    1,
    dfed3_ckpt,
};
