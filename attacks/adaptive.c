/* attacks/adaptive.c - adaptive attacks that know the defense.
 *
 * adaptive (generic oracle attack; specs/algorithms.md section 3.9 (d), [derived]):
 *   g' = grad_b + gamma * grad_p with the NDSS gamma search (Shejwalkar & Houmansadr,
 *   NDSS 2021, Algorithm 1; gamma_init 10, tau 1e-5) and the oracle
 *       "the configured defense would accept g' from this client now"
 *   i.e. view->accepts, the defense's own side-effect-free probe (full knowledge).
 *   grad_b = the mean of the known updates (attack.base = mean; the NDSS reference point)
 *   or the client's own genuine update (attack.base = genuine; useful against per-client
 *   history filters such as Kardam's); grad_p as Min-Max's perturbations (unit: -grad_b /
 *   ||grad_b||, sign: -sign(grad_b), std: -std(known), unbiased).  The perturbations, the
 *   search and the Min-Max oracle are shared with minmax.c (stats.c).
 *   Fallback: when the defense has no probe (view->accepts == NULL) or attack.knowledge =
 *   partial (the defense is then not known), the oracle is Min-Max's over the known
 *   updates (max_i ||g' - g_i||^2 <= max_{i,j} ||g_i - g_j||^2), so the attack degrades to
 *   minmax with the chosen base.  The search never tests gamma = 0 itself: if no gamma is
 *   accepted it sends grad_b, which the defense may still reject.
 *
 * adaptive_secureafl (SecureAFL-specific; SecureAFL, Gao et al., AsiaCCS 2026, section 6.1
 * "Adaptive": "manipulates malicious client updates to maximize deviation from the
 * pre-attack aggregated model" under SecureAFL's Lipschitz filter, section 4.2 Eq. (2)-(3):
 *       lambda_i = ||g_i - g_i^prev|| / ||w_base - w^prev||,  accepted iff lambda_i <= Q_alpha
 * with g_i^prev the client's previous *sent* update and w^prev the model it was computed
 * on).  The paper gives no construction; this one is [derived]:
 *   - state per malicious client: its previous sent update g_prev, that update's base
 *     model w_prev, and its previous genuine update;
 *   - threshold estimate T = the alpha-quantile (linear interpolation, like numpy) of the
 *     Lipschitz factors of the malicious clients' own *genuine* updates (honest training on
 *     their own data: a sample of the benign factors the server sees; the attacker cannot
 *     attribute the known benign updates to clients, so it cannot compute theirs), the last
 *     attack.history of them;
 *   - radius R = s ||w_base - w_prev||: every g with ||g - g_prev|| <= R has factor <= s;
 *   - candidate(s) = grad_b + gamma grad_p with the largest gamma >= 0 inside that ball
 *     (grad_b = mean of known = the pre-attack aggregate, grad_p the perturbation, default
 *     unit = the reversed mean), solved in closed form; if the ray from grad_b misses the
 *     ball, g_prev + R grad_p/||grad_p||, the ball's point furthest along grad_p;
 *   - s = margin * T; or, when the defense's probe is available (full knowledge),
 *     s = margin * (the largest s the probe accepts, NDSS search over [0, 4T)).
 *   Warm-up: a client's first attacked arrival (no g_prev yet), an arrival on the same base
 *   model as its previous one (the factor is undefined), or no known update / no factor yet
 *   sends the genuine update, which also becomes g_prev.  If the attack is switched off in
 *   between (attack.period), the state still holds the last update sent while it was on.
 *
 * Randomness: none.  Results beyond +-FLT_MAX are clamped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/stats.h"

static const afl_param adaptive_params[] = {
    {"perturbation", AFL_P_ENUM, "std", 0, 0, "unit|sign|std",
     "adaptive: grad_p = -grad_b/||grad_b|| (unit), -sign(grad_b) (sign) or -std(known) (std)"},
    {"base", AFL_P_ENUM, "mean", 0, 0, "mean|genuine",
     "adaptive: grad_b = mean of the known updates (NDSS) or the client's own genuine update"},
    {"gamma_init", AFL_P_REAL, "10", 1e-30, 1e30, NULL,
     "adaptive: initial gamma and step of the NDSS search (explores [0, 2 gamma_init))"},
    {"tol", AFL_P_REAL, "1e-5", 1e-30, 1e30, NULL,
     "adaptive: tau, stop when |gamma_succ - gamma| <= tau"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param secafl_params[] = {
    {"perturbation", AFL_P_ENUM, "unit", 0, 0, "unit|sign|std",
     "adaptive_secureafl: direction grad_p = -mean/||mean|| (unit), -sign(mean) or -std(known)"},
    {"alpha", AFL_P_REAL, "0.8", 0, 1, NULL,
     "adaptive_secureafl: the filter's percentile, estimated over the attackers' own genuine "
     "Lipschitz factors (SecureAFL: 0.8)"},
    {"margin", AFL_P_REAL, "0.9", 0, 1e6, NULL,
     "adaptive_secureafl: target factor = margin * the estimated (or probed) threshold"},
    {"history", AFL_P_INT, "10000", 1, 1e6, NULL,
     "adaptive_secureafl: how many of the attackers' own genuine factors are kept"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

/* ---- adaptive (generic) ---------------------------------------------------------------- */

typedef struct {
    size_t d;
    int pert, base_genuine; /* AFL_PERT_*, attack.base */
    double gamma_init, tol;
    double *b, *p, *acc; /* (d) grad_b, grad_p, mean of known (base = genuine, std) */
    float *cand;         /* (d) candidate for the probe */
    afl_quad_oracle mm;  /* Min-Max fallback (stats.c, as minmax.c) */
    /* per craft */
    const afl_attack_view *view;
} gen_state;

static void gen_destroy(void *vs)
{
    gen_state *st = vs;
    if (!st)
        return;
    free(st->b);
    free(st->p);
    free(st->acc);
    free(st->cand);
    afl_quad_free(&st->mm);
    free(st);
}

static int gen_create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    gen_state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->pert = afl_pert_parse(ctx->cfg);
    st->base_genuine = strcmp(afl_cfg_str(ctx->cfg, "attack", "base"), "genuine") == 0;
    st->gamma_init = afl_cfg_real(ctx->cfg, "attack", "gamma_init");
    st->tol = afl_cfg_real(ctx->cfg, "attack", "tol");
    st->b = malloc(ctx->d * sizeof *st->b);
    st->p = malloc(ctx->d * sizeof *st->p);
    st->acc = malloc(ctx->d * sizeof *st->acc);
    st->cand = malloc(ctx->d * sizeof *st->cand);
    if (!st->b || !st->p || !st->acc || !st->cand) {
        gen_destroy(st);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    *out = st;
    return AFL_OK;
}

static int probe_ok(void *env, double gamma)
{
    gen_state *st = env;
    for (size_t j = 0; j < st->d; j++)
        st->cand[j] = afl_clampf(st->b[j] + gamma * st->p[j]);
    return st->view->accepts(st->view->accepts_env, st->cand, NULL) != 0;
}

static void gen_craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    gen_state *st = vs;
    size_t d = st->d;
    int n = view->n_known;
    if (n < 1)
        return; /* nothing known yet: the genuine update */
    /* b (d) <- grad_b; mu (d): the mean of known, which only the std perturbation reads */
    const double *mu = st->b;
    if (st->base_genuine) {
        for (size_t j = 0; j < d; j++)
            st->b[j] = g[j];
        mu = st->acc;
        if (st->pert == AFL_PERT_STD && n >= 2)
            afl_col_mean(view->known, n, d, st->acc);
    } else {
        afl_col_mean(view->known, n, d, st->b);
    }
    afl_pert_fill(st->pert, st->b, mu, view->known, n, d, st->p); /* p (d) <- grad_p */
    st->view = view;
    double gamma;
    if (view->accepts && view->full_knowledge)
        gamma = afl_ndss_search(st->gamma_init, st->tol, probe_ok, st);
    else if (afl_quad_setup(&st->mm, st->b, st->p, view->known, n, d, 0))
        gamma = afl_ndss_search(st->gamma_init, st->tol, afl_quad_ok, &st->mm);
    else
        return; /* out of memory: the genuine update */
    for (size_t j = 0; j < d; j++)
        g[j] = afl_clampf(st->b[j] + gamma * st->p[j]);
}

/* ---- adaptive_secureafl ---------------------------------------------------------------- */

typedef struct {
    int has_prev;
    float *sent, *w, *gen; /* (d) previous sent update, its base model, previous genuine */
} slot;

typedef struct {
    size_t d;
    int n_mal, pert;
    double alpha, margin;
    slot *slots;          /* (n_mal) */
    double *fac, *sorted; /* (history) ring of genuine factors, scratch */
    int hist, n_fac, head;
    double *b, *p; /* (d) mean of known, perturbation */
    float *cand;   /* (d) */
    /* per craft */
    const afl_attack_view *view;
    const float *prev;
    double dw;
} saf_state;

static void saf_destroy(void *vs)
{
    saf_state *st = vs;
    if (!st)
        return;
    if (st->slots)
        for (int i = 0; i < st->n_mal; i++) {
            free(st->slots[i].sent);
            free(st->slots[i].w);
            free(st->slots[i].gen);
        }
    free(st->slots);
    free(st->fac);
    free(st->sorted);
    free(st->b);
    free(st->p);
    free(st->cand);
    free(st);
}

static int saf_create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    saf_state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->n_mal = ctx->n_malicious > 0 ? ctx->n_malicious : 0;
    st->pert = afl_pert_parse(ctx->cfg);
    st->alpha = afl_cfg_real(ctx->cfg, "attack", "alpha");
    st->margin = afl_cfg_real(ctx->cfg, "attack", "margin");
    st->hist = (int)afl_cfg_int(ctx->cfg, "attack", "history");
    st->slots = calloc((size_t)st->n_mal + 1, sizeof *st->slots);
    st->fac = malloc((size_t)st->hist * sizeof *st->fac);
    st->sorted = malloc((size_t)st->hist * sizeof *st->sorted);
    st->b = malloc(ctx->d * sizeof *st->b);
    st->p = malloc(ctx->d * sizeof *st->p);
    st->cand = malloc(ctx->d * sizeof *st->cand);
    int ok = st->slots && st->fac && st->sorted && st->b && st->p && st->cand;
    for (int i = 0; ok && i < st->n_mal; i++) {
        slot *s = &st->slots[i];
        s->sent = malloc(ctx->d * sizeof *s->sent);
        s->w = malloc(ctx->d * sizeof *s->w);
        s->gen = malloc(ctx->d * sizeof *s->gen);
        ok = s->sent && s->w && s->gen;
    }
    if (!ok) {
        saf_destroy(st);
        return afl_err_set(err, AFL_ENOMEM,
                           "out of memory for adaptive_secureafl (3 x %d malicious clients x %zu "
                           "floats)",
                           ctx->n_malicious, ctx->d);
    }
    *out = st;
    return AFL_OK;
}

static double dist(const float *x, const float *y, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = (double)x[j] - y[j];
        s += t * t;
    }
    return sqrt(s);
}

/* alpha-quantile of the stored factors, linear interpolation (numpy's default) */
static double quantile(saf_state *st)
{
    int n = st->n_fac;
    memcpy(st->sorted, st->fac, (size_t)n * sizeof *st->sorted);
    qsort(st->sorted, (size_t)n, sizeof *st->sorted, afl_cmp_double);
    double pos = st->alpha * (n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1)
        return st->sorted[n - 1];
    return st->sorted[lo] + (pos - lo) * (st->sorted[lo + 1] - st->sorted[lo]);
}

/* cand (d) <- the point of factor s: grad_b + gamma p with the largest gamma >= 0 such that
 * ||cand - prev|| <= s dw; if the ray misses that ball, prev + s dw p/||p||. */
static void candidate(saf_state *st, double s)
{
    size_t d = st->d;
    const double *b = st->b, *p = st->p;
    const float *prev = st->prev;
    double R = s * st->dw, A = 0, B = 0, C = 0;
    for (size_t j = 0; j < d; j++) {
        double c = b[j] - prev[j];
        A += p[j] * p[j];
        B += p[j] * c;
        C += c * c;
    }
    C -= R * R;
    if (A > 0 && isfinite(A)) {
        double disc = B * B - A * C;
        double gamma = disc >= 0 ? (-B + sqrt(disc)) / A : -1;
        if (gamma >= 0 && isfinite(gamma)) {
            for (size_t j = 0; j < d; j++)
                st->cand[j] = afl_clampf(b[j] + gamma * p[j]);
        } else {
            double k = R / sqrt(A);
            for (size_t j = 0; j < d; j++)
                st->cand[j] = afl_clampf(prev[j] + k * p[j]);
        }
        return;
    }
    /* no direction: the ball's point closest to grad_b */
    double nc = sqrt(C + R * R), k = nc > R ? R / nc : 1.0;
    for (size_t j = 0; j < d; j++)
        st->cand[j] = afl_clampf(prev[j] + k * (b[j] - prev[j]));
}

static int saf_probe_ok(void *env, double s)
{
    saf_state *st = env;
    candidate(st, s);
    return st->view->accepts(st->view->accepts_env, st->cand, NULL) != 0;
}

static void saf_craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    saf_state *st = vs;
    size_t d = st->d;
    if (view->client < 0 || view->client >= st->n_mal)
        return; /* not a tracked malicious client: the genuine update */
    slot *sl = &st->slots[view->client];
    const float *genuine = g; /* g holds the genuine update on entry */
    double dw = sl->has_prev ? dist(view->w_base, sl->w, d) : 0;
    if (sl->has_prev && dw > 0 && isfinite(dw)) {
        double lam = dist(genuine, sl->gen, d) / dw;
        if (isfinite(lam)) {
            st->fac[st->head] = lam;
            st->head = (st->head + 1) % st->hist;
            if (st->n_fac < st->hist)
                st->n_fac++;
        }
    }
    memcpy(sl->gen, genuine, d * sizeof *genuine);
    if (sl->has_prev && dw > 0 && isfinite(dw) && st->n_fac > 0 && view->n_known > 0) {
        afl_col_mean(view->known, view->n_known, d, st->b);
        afl_pert_fill(st->pert, st->b, st->b, view->known, view->n_known, d, st->p);
        st->view = view;
        st->prev = sl->sent;
        st->dw = dw;
        double T = quantile(st), s;
        if (view->accepts && view->full_knowledge && T > 0)
            s = st->margin * afl_ndss_search(2 * T, 2e-5 * T, saf_probe_ok, st);
        else
            s = st->margin * T;
        candidate(st, s);
        memcpy(g, st->cand, d * sizeof *g);
    }
    /* else: warm-up, the genuine update is sent */
    memcpy(sl->sent, g, d * sizeof *g);
    memcpy(sl->w, view->w_base, d * sizeof *sl->w);
    sl->has_prev = 1;
}

/* The state craft changes: per malicious client its previous sent update, that update's base
 * model and its previous genuine update (only once it has one), and the ring of genuine
 * Lipschitz factors (its n_fac filled entries and the write position).  sorted, b, p and cand
 * are scratch; view, prev and dw are set afresh by every craft. */
static int saf_ckpt(void *vs, afl_ckpt *ck)
{
    saf_state *st = vs;
    int n_mal = st->n_mal;
    size_t d = st->d, n_fac = (size_t)st->n_fac;
    afl_ckpt_int(ck, "adaptive_secureafl.n_malicious", &n_mal);
    afl_ckpt_size(ck, "adaptive_secureafl.d", &d);
    if (afl_ckpt_loading(ck) && !afl_ckpt_status(ck) && (n_mal != st->n_mal || d != st->d))
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "adaptive_secureafl: saved for %d malicious clients and %zu "
                             "parameters, this run has %d and %zu",
                             n_mal, d, st->n_mal, st->d);
    for (int i = 0; i < st->n_mal && !afl_ckpt_status(ck); i++) {
        slot *sl = &st->slots[i];
        afl_ckpt_int(ck, "adaptive_secureafl.has_prev", &sl->has_prev);
        if (sl->has_prev) {
            afl_ckpt_floats(ck, "adaptive_secureafl.sent", sl->sent, st->d);
            afl_ckpt_floats(ck, "adaptive_secureafl.w", sl->w, st->d);
            afl_ckpt_floats(ck, "adaptive_secureafl.gen", sl->gen, st->d);
        }
    }
    afl_ckpt_size(ck, "adaptive_secureafl.n_fac", &n_fac);
    int head = st->head;
    afl_ckpt_int(ck, "adaptive_secureafl.head", &head);
    if (afl_ckpt_loading(ck) && !afl_ckpt_status(ck)) {
        if (n_fac > (size_t)st->hist || head < 0 || head >= st->hist)
            return afl_ckpt_fail(ck, AFL_EINPUT,
                                 "adaptive_secureafl: %zu stored factors (next at %d) do not fit "
                                 "in attack.history = %d",
                                 n_fac, head, st->hist);
        st->n_fac = (int)n_fac;
        st->head = head;
    }
    afl_ckpt_doubles(ck, "adaptive_secureafl.factors", st->fac, n_fac);
    return afl_ckpt_status(ck);
}

const afl_attack_ops afl_attack_adaptive = {
    {"adaptive",
     "generic adaptive attack: NDSS gamma search with the configured defense's own acceptance "
     "test as the oracle (Min-Max oracle when the defense has none)",
     "Shejwalkar & Houmansadr, NDSS 2021 (search); FLTrust/AFLGuard/SecureAFL adaptive-attack "
     "framework; specs/algorithms.md 3.9(d)",
     adaptive_params},
    gen_create,
    NULL,
    gen_craft,
    gen_destroy,
    NULL,
    NULL,
    1,
};

const afl_attack_ops afl_attack_adaptive_secureafl = {
    {"adaptive_secureafl",
     "SecureAFL-adaptive: the furthest point from the known mean (along a perturbation) whose "
     "Lipschitz factor to the client's previous sent update stays at the estimated threshold",
     "SecureAFL (Gao et al., AsiaCCS 2026) sections 4.2 and 6.1; construction derived, see "
     "docs/attacks-untargeted.md",
     secafl_params},
    saf_create,
    NULL,
    saf_craft,
    saf_destroy,
    NULL,
    NULL,
    1,
    saf_ckpt,
};
