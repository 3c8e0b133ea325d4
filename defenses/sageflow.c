/* defenses/sageflow.c - Sageflow: staleness-aware grouping, entropy-based filtering and
 * loss-weighted averaging, adapted to one arriving update at a time.
 *
 * Source: J. Park, D.-J. Han, M. Choi, J. Moon, "Sageflow: Robust Federated Learning
 * against Both Stragglers and Adversaries", NeurIPS 2021.  Code followed
 * (specs/algorithms.md section 4.15): savertm/Sageflow @ e2b4204,
 * Sageflow_code/utils1.py (Eflow, Sag) and Sageflow.py.
 *
 * Sageflow per global round t (the code): the received models are grouped by the round
 * whose global model they were trained on; in each group every model x_k is evaluated on
 * the server's public data (mean loss l_k, mean prediction entropy E_k), weighted
 * alpha_k = 1[E_k < E_th] / l_k^delta, normalised (a group whose sum is <= 0.001 is
 * dropped), v_g = sum alpha_k x_k, m_g = number of unfiltered models; then
 *   w_semi = sum_g omega_g v_g,  omega_g prop. to m_g (t - t_g + 1)^{-lambda},
 *   w_{t+1} = gamma_t w_semi + (1 - gamma_t) w_t,  gamma_t = 0.5^{floor(t / T_d)}.
 *
 * Adaptation to aflsim's per-arrival engine (every choice below is ours):
 *   - a Sageflow round is `round_size` K consecutive arrivals (default 0.2 n: Sageflow
 *     samples frac = 0.2 of the clients per round); the model changes once per round, so
 *     one server version = one Sageflow round and staleness counts rounds;
 *   - the model received from update g_k is x_k = w_base - lr g_k (lr = train.lr): the
 *     model the server would get by applying g_k alone to the model the client trained
 *     on.  It is evaluated when it ARRIVES (trusted_eval on the whole trusted set), so its
 *     verdict is known at once: rejected if filtered, held otherwise;
 *   - group = arrivals of the round with the same base version; tau_g = version - base,
 *     so (t - t_g + 1) = tau_g + 1 and the current group (tau = 0) gets weight m_0;
 *   - entropy threshold: Sageflow's E_th (eth = 1) presumes received models that are
 *     already confident (5 local epochs).  With one-step updates from a freshly
 *     initialised model every x_k has entropy near ln C > 1, so the absolute rule filters
 *     everything and training never starts (measured on the quickstart: every update
 *     filtered).  Comparing E_k with the entropy of the client's base model instead
 *     flags about half of the honest one-step updates (their entropy changes by +-0.005
 *     nats at random).  eth_ref = base (default) therefore applies Sageflow's absolute
 *     test only to updates whose base model is itself confident, E(w_base) < E_th; while
 *     it is not, the entropy cannot separate poisoned from honest models and only the
 *     loss weighting acts.  eth_ref = none is Sageflow's rule for every update;
 *   - at the K-th arrival: w_semi and w_new = gamma_t w_semi + (1-gamma_t) w_cur with t the
 *     number of rounds done; the engine gets step = (w_cur - w_new) / lr.  If every model
 *     of the round was filtered the model does not change (the code has no rule for it).
 *   - gamma schedule: the code halves gamma every T_d rounds (T_d = 20 for FMNIST), tuned
 *     for rounds of 20 clients x 5 local epochs.  With K one-step arrivals per round it
 *     freezes the model within a few hundred arrivals (quickstart, 1000 arrivals: test
 *     error 0.82 with T_d = 20 against 0.71 with gamma = 1), so the default is gamma = 1
 *     (gamma_period = 0); gamma_period = 20 reproduces the code;
 *   Since v_g = w_base_g - lr gbar_g (gbar_g = the alpha-weighted mean update of the group):
 *     step = gamma_t sum_g omega_g [gbar_g + (w_cur - w_base_g) / lr]
 *   which is computed in that form (no cancellation between nearly equal models).
 * Non-finite updates, models and evaluations are filtered (rejected).
 * score = E_k (mean prediction entropy of x_k on the trusted set, nats); aux = l_k.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"

static const afl_param params[] = {
    {"round_size", AFL_P_INT, "0", 0, 1e9, NULL,
     "arrivals per Sageflow round (one aggregation each); 0 = max(1, round(0.2 clients.n)), "
     "Sageflow's frac = 0.2"},
    {"eth", AFL_P_REAL, "1", 0, 1e30, NULL,
     "entropy threshold E_th (nats): models with E_k >= E_th are filtered (--eth 1)"},
    {"eth_ref", AFL_P_ENUM, "base", 0, 0, "base|none",
     "base: filter only updates whose base model is confident (entropy < E_th), aflsim's "
     "adaptation for one-step updates; none: Sageflow's absolute E_th for every update"},
    {"delta", AFL_P_REAL, "1", 0, 1e6, NULL, "loss exponent: alpha_k = 1 / l_k^delta (--delta 1)"},
    {"lambda", AFL_P_REAL, "0.5", 0, 1e6, NULL,
     "staleness exponent: group weight m_g (tau_g + 1)^(-lambda) (--lam 0.5)"},
    {"gamma_period", AFL_P_INT, "0", 0, 1e12, NULL,
     "T_d: gamma_t = 0.5^floor(t / T_d) with t in rounds (code: 15 MNIST, 20 FMNIST, 300 "
     "CIFAR); 0 = gamma always 1 (default: one-step rounds would stop training early)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

enum { ENT_CACHE = 16 };

typedef struct {
    int64_t base;  /* base version */
    float *w_base; /* (d) copy of the group's base model */
    float *gsum;   /* (d) sum_k alpha_k g_k over unfiltered members */
    double asum;   /* sum_k alpha_k */
    int m;         /* unfiltered members */
} group;

typedef struct {
    size_t d;
    double lr, eth, delta, lambda;
    int eth_base, K, T_d;
    group *grp; /* (K) */
    int n_grp, arrivals;
    int64_t rounds;
    float *x;                   /* (d) scratch: x_k */
    double *om;                 /* (K) scratch: group weights */
    int64_t ent_ver[ENT_CACHE]; /* versions whose entropy is cached (-1: empty) */
    double ent[ENT_CACHE];
    int ent_next;
    void (*teval)(void *env, const float *w, double *loss, double *entropy);
    void *env;
} sageflow;

static int finite_vec(const float *x, size_t d)
{
    for (size_t i = 0; i < d; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Evaluates x_k = w_base - lr g into S->x and on the trusted set.  Returns 1 if the model
 * and both numbers are finite. */
static int evaluate(sageflow *S, const afl_update *u, double *loss, double *ent)
{
    size_t d = S->d;
    float lr = (float)S->lr;
    /* x (d) = w_base (d) - lr g (d) */
    for (size_t i = 0; i < d; i++)
        S->x[i] = u->w_base[i] - lr * u->g[i];
    if (!finite_vec(S->x, d))
        return 0;
    S->teval(S->env, S->x, loss, ent);
    return isfinite(*loss) && isfinite(*ent) && *loss >= 0;
}

/* Entropy of the model of version v (model w) on the trusted set, through a small cache
 * keyed by version (store = 0: look up / compute without changing the cache). */
static double model_entropy(sageflow *S, int64_t v, const float *w, int store)
{
    for (int j = 0; j < ENT_CACHE; j++)
        if (S->ent_ver[j] == v)
            return S->ent[j];
    double l, e;
    S->teval(S->env, w, &l, &e);
    if (store) {
        S->ent_ver[S->ent_next] = v;
        S->ent[S->ent_next] = e;
        S->ent_next = (S->ent_next + 1) % ENT_CACHE;
    }
    return e;
}

/* The entropy threshold for u: E_th, or +inf (no filtering) while the model the client
 * trained on is itself at least that uncertain (eth_ref = base). */
static double threshold(sageflow *S, const afl_update *u, int store)
{
    if (!S->eth_base)
        return S->eth;
    double e = model_entropy(S, u->base_version, u->w_base, store);
    return isfinite(e) && e >= S->eth ? INFINITY : S->eth;
}

/* The group of u's base version, created (copying w_base) if needed; NULL when out of
 * memory. */
static group *group_for(sageflow *S, const afl_update *u)
{
    for (int j = 0; j < S->n_grp; j++)
        if (S->grp[j].base == u->base_version)
            return &S->grp[j];
    group *g = &S->grp[S->n_grp];
    if (!g->w_base) { /* buffers are allocated on first use and kept */
        g->w_base = malloc(S->d * sizeof *g->w_base);
        g->gsum = malloc(S->d * sizeof *g->gsum);
        if (!g->w_base || !g->gsum)
            return NULL;
    }
    S->n_grp++;
    g->base = u->base_version;
    memcpy(g->w_base, u->w_base, S->d * sizeof *g->w_base);
    memset(g->gsum, 0, S->d * sizeof *g->gsum);
    g->asum = 0;
    g->m = 0;
    return g;
}

/* End of a round: step (d) from the groups and w_cur (d); returns 1 if the model changes.
 * *share gets the coefficient of one unit of alpha of group `mine` in the step. */
static int aggregate(sageflow *S, const float *w_cur, int64_t version, float *step,
                     const group *mine, double *share)
{
    size_t d = S->d;
    double wsum = 0, *om = S->om;
    for (int j = 0; j < S->n_grp; j++) {
        const group *g = &S->grp[j];
        om[j] = 0;
        if (g->asum > 0.001 && g->m > 0) { /* Eflow: a group with sum alpha <= 0.001 is None */
            double tau = (double)(version - g->base);
            om[j] = (double)g->m * pow(tau + 1.0, -S->lambda);
        }
        wsum += om[j];
    }
    *share = 0;
    if (!(wsum > 0))
        return 0;
    double gamma = S->T_d > 0 ? pow(0.5, (double)(S->rounds / S->T_d)) : 1.0;
    for (int j = 0; j < S->n_grp; j++)
        om[j] /= wsum;
    /* step_i = gamma sum_g om_g [gsum_gi / asum_g + (w_cur_i - w_base_gi) / lr],
     * groups in order of creation */
    for (size_t i = 0; i < d; i++) {
        double s = 0;
        for (int j = 0; j < S->n_grp; j++) {
            if (om[j] == 0)
                continue;
            const group *g = &S->grp[j];
            s += om[j] *
                 ((double)g->gsum[i] / g->asum + ((double)w_cur[i] - (double)g->w_base[i]) / S->lr);
        }
        step[i] = (float)(gamma * s);
    }
    for (int j = 0; j < S->n_grp; j++)
        if (&S->grp[j] == mine)
            *share = gamma * om[j] / S->grp[j].asum;
    return finite_vec(step, d);
}

static int on_update(void *state, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    sageflow *S = state;
    dec->verdict = AFL_VERDICT_REJECTED;
    dec->apply = 0;
    dec->weight = 0;
    dec->score = NAN;
    dec->aux = NAN;
    double loss = NAN, ent = NAN, alpha = 0;
    group *mine = NULL;
    if (finite_vec(u->g, S->d) && evaluate(S, u, &loss, &ent)) {
        dec->score = ent;
        dec->aux = loss;
        if (ent < threshold(S, u, 1)) {
            double l = loss > 1e-12 ? loss : 1e-12;
            alpha = 1.0 / pow(l, S->delta);
            if (isfinite(alpha) && alpha > 0) {
                mine = group_for(S, u);
                if (!mine)
                    return afl_err_set(err, AFL_ENOMEM, "sageflow: out of memory (groups)");
                /* gsum (d) += alpha g (d) */
                float af = (float)alpha;
                for (size_t i = 0; i < S->d; i++)
                    mine->gsum[i] += af * u->g[i];
                mine->asum += alpha;
                mine->m++;
                dec->verdict = AFL_VERDICT_HELD;
                dec->weight = NAN;
            }
        }
    }
    if (++S->arrivals < S->K)
        return AFL_OK;
    /* end of the round */
    double share = 0;
    int changed = aggregate(S, u->w_cur, u->version, step, mine, &share);
    S->rounds++;
    S->arrivals = 0;
    S->n_grp = 0;
    if (changed) {
        dec->apply = 1;
        if (mine) {
            dec->verdict = AFL_VERDICT_ACCEPTED;
            dec->weight = share * alpha;
        }
    } else if (mine) {
        /* nothing applied (non-finite aggregate): this update is dropped too */
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0;
    }
    return AFL_OK;
}

/* Would the entropy filter keep u now?  Uses trusted_eval only (deterministic), no
 * state change. */
static int probe(void *state, const afl_update *u, double *score)
{
    sageflow *S = state;
    double loss, ent;
    *score = NAN;
    if (!finite_vec(u->g, S->d) || !evaluate(S, u, &loss, &ent))
        return 0;
    *score = ent;
    return ent < threshold(S, u, 0);
}

static void destroy(void *state)
{
    sageflow *S = state;
    if (!S)
        return;
    if (S->grp)
        for (int j = 0; j < S->K; j++) {
            free(S->grp[j].w_base);
            free(S->grp[j].gsum);
        }
    free(S->grp);
    free(S->x);
    free(S->om);
    free(S);
}

static int create(const afl_defense_ctx *ctx, void **state, afl_err *err)
{
    if (!ctx->trusted_eval)
        return afl_err_set(err, AFL_EINTERNAL, "sageflow needs trusted data");
    const afl_config *cfg = ctx->cfg;
    sageflow *S = calloc(1, sizeof *S);
    if (!S)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    S->d = ctx->d;
    S->lr = ctx->lr > 0 ? ctx->lr : 1.0;
    S->eth = afl_cfg_real(cfg, "defense", "eth");
    S->eth_base = strcmp(afl_cfg_str(cfg, "defense", "eth_ref"), "base") == 0;
    S->delta = afl_cfg_real(cfg, "defense", "delta");
    S->lambda = afl_cfg_real(cfg, "defense", "lambda");
    S->T_d = (int)afl_cfg_int(cfg, "defense", "gamma_period");
    S->K = (int)afl_cfg_int(cfg, "defense", "round_size");
    if (S->K == 0) {
        S->K = (int)lround(0.2 * ctx->n_clients);
        if (S->K < 1)
            S->K = 1;
    }
    for (int j = 0; j < ENT_CACHE; j++)
        S->ent_ver[j] = -1;
    S->teval = ctx->trusted_eval;
    S->env = ctx->env;
    S->grp = calloc((size_t)S->K, sizeof *S->grp);
    S->x = malloc(S->d * sizeof *S->x);
    S->om = malloc((size_t)S->K * sizeof *S->om);
    if (!S->grp || !S->x || !S->om) {
        destroy(S);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (sageflow, %d groups)", S->K);
    }
    *state = S;
    return AFL_OK;
}

/* The round in progress (arrivals, its staleness groups with their base models and
 * alpha-weighted sums), the number of rounds done (gamma schedule) and the base-model
 * entropy cache. */
static int sageflow_ckpt(void *state, afl_ckpt *ck)
{
    sageflow *S = state;
    int loading = afl_ckpt_loading(ck);
    afl_ckpt_i64(ck, "sageflow.rounds", &S->rounds);
    afl_ckpt_int(ck, "sageflow.arrivals", &S->arrivals);
    afl_ckpt_int(ck, "sageflow.groups", &S->n_grp);
    afl_ckpt_i64s(ck, "sageflow.entropy_version", S->ent_ver, ENT_CACHE);
    afl_ckpt_doubles(ck, "sageflow.entropy", S->ent, ENT_CACHE);
    afl_ckpt_int(ck, "sageflow.entropy_next", &S->ent_next);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (S->arrivals < 0 || S->arrivals >= S->K || S->n_grp < 0 || S->n_grp > S->arrivals ||
        S->ent_next < 0 || S->ent_next >= ENT_CACHE)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "sageflow: a round of %d arrivals in %d groups does not fit "
                             "round_size = %d (or bad entropy cache slot %d)",
                             S->arrivals, S->n_grp, S->K, S->ent_next);
    for (int j = 0; j < S->n_grp; j++) {
        group *g = &S->grp[j];
        if (loading && (!g->w_base || !g->gsum)) { /* as group_for: allocated once, kept */
            if (!g->w_base)
                g->w_base = malloc(S->d * sizeof *g->w_base);
            if (!g->gsum)
                g->gsum = malloc(S->d * sizeof *g->gsum);
            if (!g->w_base || !g->gsum)
                return afl_ckpt_fail(ck, AFL_ENOMEM, "sageflow: out of memory (groups)");
        }
        afl_ckpt_i64(ck, "sageflow.group.base", &g->base);
        afl_ckpt_floats(ck, "sageflow.group.w_base", g->w_base, S->d);
        afl_ckpt_floats(ck, "sageflow.group.gsum", g->gsum, S->d);
        afl_ckpt_f64(ck, "sageflow.group.asum", &g->asum);
        afl_ckpt_int(ck, "sageflow.group.m", &g->m);
    }
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_sageflow = {
    .info = {"sageflow",
             "Sageflow per round of K arrivals: entropy filter and loss-weighted averaging per "
             "staleness group, staleness-weighted groups, w <- gamma w_semi + (1-gamma) w",
             "Park, Han, Choi, Moon, NeurIPS 2021; code savertm/Sageflow@e2b4204", params},
    .needs_trusted_data = 1,
    .aux_doc = "mean cross-entropy loss l_k of the received model x_k = w_base - lr g on the "
               "trusted set",
    .create = create,
    .on_update = on_update,
    .destroy = destroy,
    .probe = probe,
    .ckpt = sageflow_ckpt,
};
