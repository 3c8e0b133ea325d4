/* defenses/zenopp.c - Zeno++: score each arriving update against a gradient of the
 * server's trusted (validation) data at the current model.
 *
 * Source: C. Xie, S. Koyejo, I. Gupta, "Zeno++: Robust Fully Asynchronous SGD", ICML 2020.
 * Code followed (specs/algorithms.md section 4.14): xcgoner/iclr2020_zeno_async @ 83d5c27,
 * train_cifar10.py (--byz-test zeno++) and experiment_script_*.sh for the defaults.
 *
 * Rule:
 *   every k_r arrivals (the code's loop counter counts every received gradient, accepted
 *   or not; the first arrival computes one):
 *       v = grad f_r(x) on n_r trusted examples at the CURRENT model x (u->w_cur)
 *   for each arriving g:  c = ||v|| / ||g||,  g~ = c g
 *       score = gamma <v, g~> - rho Q + gamma eps,
 *       Q = ||g~||^2 = ||v||^2 (q = paper, default: normalisation inside the score, as
 *       the paper is recalled [mem]; the rule is then cos(v, g) >= rho/gamma - eps/||v||^2)
 *       or Q = ||g||^2 (q = code: the un-normalised norm, as the code computes it)
 *   accept iff score >= 0; the server then applies x <- x - gamma g~, i.e. step = g~.
 * gamma is the server learning rate train.lr (the code uses its initial args.lr).
 * Why q = paper by default: the scripts pair rho = 0.001 with gamma = 0.1 and equal
 * batches (128) for v and g, where ||g|| ~ ||v|| and both variants agree.  At the
 * SecureAFL setting (gamma = 0.01, client batch 32, v on the 100 trusted examples,
 * median ||g||/||v|| = 3.1 at initialisation) the code variant needs
 * cos(v, g) >= 0.1 ||g||^2/||v||^2, about 1, and rejected 98% of honest updates on the
 * quickstart (the model never trains); the paper variant needs cos(v, g) >= 0.1.
 * A zero or non-finite g, or a non-finite v, is rejected (score NA).
 * score = the Zeno++ score; aux = cos(v, g).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"

static const afl_param params[] = {
    {"rho", AFL_P_REAL, "0.001", 0, 1e30, NULL, "rho, weight of the norm penalty (scripts: 0.001)"},
    {"epsilon", AFL_P_REAL, "0", -1e30, 1e30, NULL, "epsilon, the score's slack (scripts: 0)"},
    {"refresh", AFL_P_INT, "10", 1, 1e12, NULL,
     "k_r: recompute the trusted gradient v every this many arrivals (--zeno-delay, scripts: 10)"},
    {"batch", AFL_P_INT, "128", 0, 1e9, NULL,
     "n_r: trusted examples per v (--zeno-batchsize 128); >= defense.trusted_size or 0 = all"},
    {"q", AFL_P_ENUM, "paper", 0, 0, "paper|code",
     "norm penalty Q: ||g~||^2 of the rescaled update (paper [mem]: accept iff cos(v, g) >= "
     "rho/gamma - eps/||v||^2) or ||g||^2 of the received one (the code)"},
    {"gamma", AFL_P_REAL, "0", 0, 1e30, NULL, "gamma in the score; 0 = train.lr"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    double rho, eps, gamma;
    int refresh, batch, q_paper;
    float *v; /* (d) trusted gradient */
    double vnorm;
    int v_ok; /* v computed and finite */
    int64_t arrivals;
    float (*tgrad)(void *env, const float *w, int batch, float *grad);
    void *env;
} zenopp;

/* The score of g (d) against v (d).  Returns 0 when g cannot be scored (zero or
 * non-finite, or no finite v); otherwise 1 with *score, *c = ||v||/||g||, *cos. */
static int score_of(const zenopp *Z, const float *g, double *score, double *c, double *cos)
{
    double gg = 0, vg = 0;
    /* g, v: (d); gg = <g, g>, vg = <v, g>, in index order */
    for (size_t i = 0; i < Z->d; i++) {
        double gi = g[i];
        gg += gi * gi;
        vg += (double)Z->v[i] * gi;
    }
    if (!Z->v_ok || !isfinite(gg) || !isfinite(vg) || gg <= 0)
        return 0;
    double gnorm = sqrt(gg);
    *c = Z->vnorm / gnorm;
    *cos = Z->vnorm > 0 ? vg / (Z->vnorm * gnorm) : 0;
    double inner = *c * vg; /* <v, g~> */
    double Q = Z->q_paper ? Z->vnorm * Z->vnorm : gg;
    *score = Z->gamma * inner - Z->rho * Q + Z->gamma * Z->eps;
    return isfinite(*score) && isfinite(*c);
}

static int finite_vec(const float *x, size_t d)
{
    for (size_t i = 0; i < d; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static int on_update(void *state, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    (void)err;
    zenopp *Z = state;
    dec->verdict = AFL_VERDICT_REJECTED;
    dec->apply = 0;
    dec->weight = 0;
    dec->score = NAN;
    dec->aux = NAN;
    if (Z->arrivals++ % Z->refresh == 0) {
        /* v (d) = mean trusted gradient at the current model */
        float loss = Z->tgrad(Z->env, u->w_cur, Z->batch, Z->v);
        (void)loss;
        double s = 0;
        for (size_t i = 0; i < Z->d; i++)
            s += (double)Z->v[i] * Z->v[i];
        Z->v_ok = isfinite(s) && finite_vec(Z->v, Z->d);
        Z->vnorm = Z->v_ok ? sqrt(s) : NAN;
    }
    double score, c, cos;
    if (!finite_vec(u->g, Z->d) || !score_of(Z, u->g, &score, &c, &cos))
        return AFL_OK;
    dec->score = score;
    dec->aux = cos;
    if (score >= 0) {
        /* step (d) = g~ = c g */
        float cf = (float)c;
        for (size_t i = 0; i < Z->d; i++)
            step[i] = cf * u->g[i];
        if (!finite_vec(step, Z->d))
            return AFL_OK; /* c overflowed float: reject */
        dec->verdict = AFL_VERDICT_ACCEPTED;
        dec->weight = 1.0;
        dec->apply = 1;
    }
    return AFL_OK;
}

/* Acceptance with the v the server holds now (a refresh due at this arrival is not
 * anticipated: computing it would draw trusted minibatches).  No state change. */
static int probe(void *state, const afl_update *u, double *score)
{
    zenopp *Z = state;
    double c, cos;
    *score = NAN;
    if (!Z->v_ok)
        return 1; /* the server has no v yet: the first arrival computes it */
    if (!finite_vec(u->g, Z->d) || !score_of(Z, u->g, score, &c, &cos))
        return 0;
    return *score >= 0;
}

static void destroy(void *state)
{
    zenopp *Z = state;
    if (Z)
        free(Z->v);
    free(Z);
}

static int create(const afl_defense_ctx *ctx, void **state, afl_err *err)
{
    if (!ctx->trusted_grad)
        return afl_err_set(err, AFL_EINTERNAL, "zenopp needs trusted data");
    const afl_config *cfg = ctx->cfg;
    zenopp *Z = calloc(1, sizeof *Z);
    if (!Z)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    Z->d = ctx->d;
    Z->rho = afl_cfg_real(cfg, "defense", "rho");
    Z->eps = afl_cfg_real(cfg, "defense", "epsilon");
    Z->gamma = afl_cfg_real(cfg, "defense", "gamma");
    if (Z->gamma <= 0)
        Z->gamma = ctx->lr;
    Z->refresh = (int)afl_cfg_int(cfg, "defense", "refresh");
    Z->batch = (int)afl_cfg_int(cfg, "defense", "batch");
    if (Z->batch <= 0 || Z->batch >= ctx->trusted_n)
        Z->batch = 0; /* the whole trusted set */
    Z->q_paper = strcmp(afl_cfg_str(cfg, "defense", "q"), "paper") == 0;
    Z->tgrad = ctx->trusted_grad;
    Z->env = ctx->env;
    Z->v = calloc(Z->d, sizeof *Z->v);
    if (!Z->v) {
        destroy(Z);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (zenopp)");
    }
    *state = Z;
    return AFL_OK;
}

/* The trusted gradient v in use (with its norm and validity) and the arrival counter
 * that schedules its refreshes. */
static int zenopp_ckpt(void *state, afl_ckpt *ck)
{
    zenopp *Z = state;
    afl_ckpt_i64(ck, "zenopp.arrivals", &Z->arrivals);
    afl_ckpt_int(ck, "zenopp.v_ok", &Z->v_ok);
    afl_ckpt_f64(ck, "zenopp.vnorm", &Z->vnorm);
    afl_ckpt_floats(ck, "zenopp.v", Z->v, Z->d);
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_zenopp = {
    .info = {"zenopp",
             "Zeno++: accept iff gamma<v, g~> - rho Q + gamma eps >= 0 with v a trusted-data "
             "gradient at the current model and g~ = (||v||/||g||) g; applies g~",
             "Xie, Koyejo, Gupta, ICML 2020; code xcgoner/iclr2020_zeno_async@83d5c27", params},
    .needs_trusted_data = 1,
    .aux_doc = "cosine similarity between the update and the trusted-data gradient v",
    .create = create,
    .on_update = on_update,
    .destroy = destroy,
    .probe = probe,
    .ckpt = zenopp_ckpt,
};
