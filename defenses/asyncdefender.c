/* defenses/asyncdefender.c - AsyncDefender, as far as it can be reconstructed: weight each
 * arriving update by its cosine similarity with the global model's gradient.
 *
 * Source: Y. Bai, Y. Wang, X. Xu, Y. Yang, H. Batool, Z. Iqbal, J. Xu, "AsyncDefender:
 * Dynamic trust adaptation and collaborative defense for Byzantine-robust asynchronous
 * federated learning", Computer Networks 269 (2025) 111430, doi:10.1016/j.comnet.2025.111430.
 *
 * THE PAPER'S TEXT WAS NOT FOUND; no code either.  What is known:
 *   - its abstract: "dynamic allocation of aggregation degrees based on the similarity
 *     between client gradients and global model gradients", plus "collaborative filtering
 *     between reviewers and non-reviewers and bidirectional credibility assessments";
 *   - the SecureAFL paper (Gao et al., AsiaCCS 2026, Appendix, Table 11), which uses it as
 *     a baseline: it "weights updates by the cosine similarity between client update and
 *     global model" (specs/secureafl.md section 5.2).
 * Implemented (aflsim's reconstruction, every detail below is ours):
 *   r = the global model's gradient, taken as the aggregate of the clients' gradients: an
 *       exponential moving average of the DIRECTIONS of every finite received update,
 *       r <- beta r + (1 - beta) g / ||g||, updated after each decision (reference =
 *       received, default); or the global model vector itself, r = w_cur (reference =
 *       model: the literal wording of the SecureAFL paper);
 *   weight = max(0, cos(g, r)); step = weight g (normalize = true: weight (||r||/||g||) g,
 *       FLTrust-style magnitude normalisation, not known to be in the paper; for
 *       reference = received r is a mean of unit vectors, so ||r|| <= 1 and the
 *       normalised step is short: use it with care);
 *   weight = 0: rejected; weight > 0: weighted; before any reference exists (r = 0) an
 *       update is accepted with weight 1.
 *   A first version used the moving average of the APPLIED steps as r: it locks in (only
 *   updates aligned with the past movement are applied, so the model runs along r past
 *   the minimum, after which every honest gradient points against r and is rejected:
 *   quickstart test error 0.90, 94% of honest updates rejected), hence the received-
 *   update average, which follows the honest majority.
 * The reviewer / non-reviewer collaborative filtering and the bidirectional credibility
 * assessment are NOT implemented (their definitions are unknown).
 * Non-finite or zero updates are rejected.  score = cos(g, r) (NA before a reference);
 * aux = ||g|| / ||r||.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"

static const afl_param params[] = {
    {"reference", AFL_P_ENUM, "received", 0, 0, "received|model",
     "what g is compared with: the clients' aggregate gradient (moving average of the "
     "directions of the received updates) or the global model vector (literal reading of "
     "the SecureAFL paper)"},
    {"beta", AFL_P_REAL, "0.9", 0, 0.999999, NULL,
     "reference=received: r <- beta r + (1 - beta) g/||g|| (aflsim's choice; 0 = last update)"},
    {"normalize", AFL_P_BOOL, "false", 0, 0, NULL,
     "rescale g to the norm of r before weighting (FLTrust-style; not known to be in the paper)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int use_model, normalize;
    double beta;
    float *r; /* (d) moving average of the received updates' directions */
    int have_r;
} asyncdef;

static int finite_vec(const float *x, size_t d)
{
    for (size_t i = 0; i < d; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* cos(g, r) with g, r (d); 0 if undefined.  *ratio = ||g|| / ||r||.  Returns 0 if there is
 * no usable reference (r zero or not finite), 1 otherwise. */
static int similarity(const float *g, const float *r, size_t d, double *cos, double *ratio)
{
    double gg = 0, rr = 0, gr = 0;
    for (size_t i = 0; i < d; i++) {
        double gi = g[i], ri = r[i];
        gg += gi * gi;
        rr += ri * ri;
        gr += gi * ri;
    }
    if (!(rr > 0) || !isfinite(rr))
        return 0;
    *ratio = sqrt(gg) / sqrt(rr);
    *cos = gg > 0 && isfinite(gg) && isfinite(gr) ? gr / (sqrt(gg) * sqrt(rr)) : 0;
    return 1;
}

static const float *reference(const asyncdef *A, const afl_update *u)
{
    return A->use_model ? u->w_cur : (A->have_r ? A->r : NULL);
}

/* r (d) <- beta r + (1 - beta) g / ||g|| for a finite, non-zero g (d). */
static void track(asyncdef *A, const float *g)
{
    double gg = 0;
    for (size_t i = 0; i < A->d; i++)
        gg += (double)g[i] * g[i];
    if (!(gg > 0) || !isfinite(gg))
        return;
    float b = A->have_r ? (float)A->beta : 0.0f;
    float c = (float)((1.0 - b) / sqrt(gg));
    for (size_t i = 0; i < A->d; i++)
        A->r[i] = b * A->r[i] + c * g[i];
    A->have_r = 1;
}

static int on_update(void *state, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    (void)err;
    asyncdef *A = state;
    size_t d = A->d;
    dec->verdict = AFL_VERDICT_REJECTED;
    dec->apply = 0;
    dec->weight = 0;
    dec->score = NAN;
    dec->aux = NAN;
    if (!finite_vec(u->g, d))
        return AFL_OK;
    const float *r = reference(A, u);
    double cos = NAN, ratio = NAN, w = 1.0, scale = 1.0;
    if (r && similarity(u->g, r, d, &cos, &ratio)) {
        dec->score = cos;
        dec->aux = ratio;
        w = cos > 0 ? cos : 0;
        if (A->normalize && ratio > 0)
            scale = 1.0 / ratio;
    }
    if (!A->use_model)
        track(A, u->g);
    if (!(w > 0))
        return AFL_OK;
    /* step (d) = w scale g (d) */
    float f = (float)(w * scale);
    for (size_t i = 0; i < d; i++)
        step[i] = f * u->g[i];
    if (!finite_vec(step, d))
        return AFL_OK;
    dec->verdict = isnan(cos) ? AFL_VERDICT_ACCEPTED : AFL_VERDICT_WEIGHTED;
    dec->weight = w;
    dec->apply = 1;
    return AFL_OK;
}

static int probe(void *state, const afl_update *u, double *score)
{
    asyncdef *A = state;
    *score = NAN;
    if (!finite_vec(u->g, A->d))
        return 0;
    const float *r = reference(A, u);
    double cos, ratio;
    if (!r || !similarity(u->g, r, A->d, &cos, &ratio))
        return 1;
    *score = cos;
    return cos > 0;
}

static void destroy(void *state)
{
    asyncdef *A = state;
    if (A)
        free(A->r);
    free(A);
}

static int create(const afl_defense_ctx *ctx, void **state, afl_err *err)
{
    const afl_config *cfg = ctx->cfg;
    asyncdef *A = calloc(1, sizeof *A);
    if (!A)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    A->d = ctx->d;
    A->use_model = strcmp(afl_cfg_str(cfg, "defense", "reference"), "model") == 0;
    A->beta = afl_cfg_real(cfg, "defense", "beta");
    A->normalize = afl_cfg_bool(cfg, "defense", "normalize");
    if (!A->use_model && !(A->r = calloc(A->d, sizeof *A->r))) {
        destroy(A);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (asyncdefender)");
    }
    *state = A;
    return AFL_OK;
}

/* reference = received: the moving average r of the received directions (reference =
 * model keeps no state). */
static int asyncdefender_ckpt(void *state, afl_ckpt *ck)
{
    asyncdef *A = state;
    if (!A->use_model) {
        afl_ckpt_int(ck, "asyncdefender.have_r", &A->have_r);
        afl_ckpt_floats(ck, "asyncdefender.r", A->r, A->d);
    }
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_asyncdefender = {
    .info = {"asyncdefender",
             "AsyncDefender as reconstructed (paper text not found): step = max(0, cos(g, r)) g "
             "with r the global model's gradient",
             "Bai et al., Computer Networks 269 (2025) 111430 (abstract only); as described "
             "by SecureAFL (Gao et al., AsiaCCS 2026) Appendix",
             params},
    .needs_trusted_data = 0,
    .aux_doc = "||g|| / ||r||, the update's norm relative to the reference",
    .create = create,
    .on_update = on_update,
    .destroy = destroy,
    .probe = probe,
    .ckpt = asyncdefender_ckpt,
};
