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
 *   ||grad_b||, sign: -sign(grad_b), std: -std(known), unbiased).
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
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/attack.h"

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

enum { P_UNIT, P_SIGN, P_STD };

static float clampf(double v)
{
    if (v != v)
        return 0.0f;
    if (v > FLT_MAX)
        return FLT_MAX;
    if (v < -FLT_MAX)
        return -FLT_MAX;
    return (float)v;
}

static int parse_pert(const afl_config *cfg)
{
    const char *p = afl_cfg_str(cfg, "attack", "perturbation");
    return strcmp(p, "unit") == 0 ? P_UNIT : strcmp(p, "sign") == 0 ? P_SIGN : P_STD;
}

/* mu (d) <- mean of x (n >= 1, d) */
static void mean_of(const float *const *x, int n, size_t d, double *mu)
{
    memset(mu, 0, d * sizeof *mu);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mu[j] += x[i][j];
    for (size_t j = 0; j < d; j++)
        mu[j] /= n;
}

/* p (d) <- the perturbation for base b (d) and the known updates x (n, d); acc (d) scratch */
static void perturbation(int kind, const double *b, const float *const *x, int n, size_t d,
                         double *p, double *acc)
{
    if (kind == P_STD) {
        if (n < 2) {
            memset(p, 0, d * sizeof *p);
            return;
        }
        double *m = p; /* p holds the mean first, then -std (unbiased, like torch.std) */
        mean_of(x, n, d, m);
        memset(acc, 0, d * sizeof *acc);
        for (int i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) {
                double e = x[i][j] - m[j];
                acc[j] += e * e;
            }
        for (size_t j = 0; j < d; j++)
            p[j] = -sqrt(acc[j] / (n - 1));
    } else if (kind == P_SIGN) {
        for (size_t j = 0; j < d; j++)
            p[j] = b[j] > 0 ? -1.0 : b[j] < 0 ? 1.0 : 0.0;
    } else {
        double nm = 0;
        for (size_t j = 0; j < d; j++)
            nm += b[j] * b[j];
        nm = sqrt(nm);
        for (size_t j = 0; j < d; j++)
            p[j] = nm > 0 && isfinite(nm) ? -b[j] / nm : 0.0;
    }
}

/* NDSS Algorithm 1: the largest accepted gamma in [0, 2 init), 0 if none. */
static double ndss_search(double init, double tol, int (*ok)(void *env, double gamma), void *env)
{
    double gamma = init, step = init, succ = 0;
    for (int it = 0; it < 200 && fabs(succ - gamma) > tol; it++) {
        if (ok(env, gamma)) {
            succ = gamma;
            gamma += step / 2;
        } else {
            gamma -= step / 2;
        }
        step /= 2;
    }
    return succ;
}

/* ---- adaptive (generic) ---------------------------------------------------------------- */

typedef struct {
    size_t d;
    int pert, base_genuine;
    double gamma_init, tol;
    double *b, *p, *acc; /* (d) grad_b, grad_p, scratch */
    float *cand;         /* (d) candidate for the probe */
    double *qa, *qb;     /* (cap) Min-Max fallback: a_i, b_i */
    double *qD;          /* (cap, cap) pairwise squared distances */
    int cap;
    /* per craft */
    const afl_attack_view *view;
    double qc, thr;
    int n;
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
    free(st->qa);
    free(st->qb);
    free(st->qD);
    free(st);
}

static int gen_create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    gen_state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->pert = parse_pert(ctx->cfg);
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
        st->cand[j] = clampf(st->b[j] + gamma * st->p[j]);
    return st->view->accepts(st->view->accepts_env, st->cand, NULL) != 0;
}

static int minmax_ok(void *env, double gamma)
{
    gen_state *st = env;
    double worst = 0;
    for (int i = 0; i < st->n; i++) {
        double q = st->qa[i] + 2 * gamma * st->qb[i] + gamma * gamma * st->qc;
        worst = q > worst ? q : worst;
    }
    return worst <= st->thr;
}

/* D (n, n) <- ||x_i - x_l||^2 for every pair.  Within column blocks of 256 the squares are
 * summed in eight float lanes (vectorisable; relative error ~1e-8), the block sums in double;
 * the blocks keep the n vectors' slices in cache.  The order of the additions is fixed, so
 * the result never depends on timing. */
static void pair_sqdist(const float *const *x, int n, size_t d, double *D)
{
    enum { BLK = 256 };
    size_t nn = (size_t)n;
    memset(D, 0, nn * nn * sizeof *D);
    for (size_t j0 = 0; j0 < d; j0 += BLK) {
        size_t j1 = j0 + BLK < d ? j0 + BLK : d;
        for (size_t i = 1; i < nn; i++)
            for (size_t l = 0; l < i; l++) {
                const float *a = x[i], *b = x[l];
                float s[8] = {0};
                size_t j = j0;
                for (; j + 8 <= j1; j += 8)
                    for (int q = 0; q < 8; q++) {
                        float t = a[j + q] - b[j + q];
                        s[q] += t * t;
                    }
                for (; j < j1; j++) {
                    float t = a[j] - b[j];
                    s[0] += t * t;
                }
                D[i * nn + l] +=
                    (double)(((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
            }
    }
    for (size_t i = 1; i < nn; i++)
        for (size_t l = 0; l < i; l++)
            D[l * nn + i] = D[i * nn + l];
}

/* Sets up the Min-Max oracle for candidates b + gamma p against x (n, d); 0 if no memory. */
static int minmax_setup(gen_state *st, const float *const *x, int n)
{
    size_t d = st->d;
    if (n > st->cap) {
        double *a = realloc(st->qa, (size_t)n * sizeof *a);
        if (!a)
            return 0;
        st->qa = a;
        double *b = realloc(st->qb, (size_t)n * sizeof *b);
        if (!b)
            return 0;
        st->qb = b;
        double *D = realloc(st->qD, (size_t)n * (size_t)n * sizeof *D);
        if (!D)
            return 0;
        st->qD = D;
        st->cap = n;
    }
    double c = 0;
    for (size_t j = 0; j < d; j++)
        c += st->p[j] * st->p[j];
    for (int i = 0; i < n; i++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
            double e = st->b[j] - x[i][j];
            a += e * e;
            b += st->p[j] * e;
        }
        st->qa[i] = a;
        st->qb[i] = b;
    }
    pair_sqdist(x, n, d, st->qD);
    double thr = 0;
    for (size_t i = 0; i < (size_t)n * (size_t)n; i++)
        thr = st->qD[i] > thr ? st->qD[i] : thr;
    st->qc = c;
    st->thr = thr;
    st->n = n;
    return 1;
}

static void gen_craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    gen_state *st = vs;
    size_t d = st->d;
    int n = view->n_known;
    if (n < 1)
        return; /* nothing known yet: the genuine update */
    if (st->base_genuine)
        for (size_t j = 0; j < d; j++)
            st->b[j] = g[j];
    else
        mean_of(view->known, n, d, st->b);
    perturbation(st->pert, st->b, view->known, n, d, st->p, st->acc);
    st->view = view;
    double gamma;
    if (view->accepts && view->full_knowledge)
        gamma = ndss_search(st->gamma_init, st->tol, probe_ok, st);
    else if (minmax_setup(st, view->known, n))
        gamma = ndss_search(st->gamma_init, st->tol, minmax_ok, st);
    else
        return; /* out of memory: the genuine update */
    for (size_t j = 0; j < d; j++)
        g[j] = clampf(st->b[j] + gamma * st->p[j]);
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
    double *b, *p, *acc; /* (d) mean of known, perturbation, scratch */
    float *cand;         /* (d) */
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
    free(st->acc);
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
    st->pert = parse_pert(ctx->cfg);
    st->alpha = afl_cfg_real(ctx->cfg, "attack", "alpha");
    st->margin = afl_cfg_real(ctx->cfg, "attack", "margin");
    st->hist = (int)afl_cfg_int(ctx->cfg, "attack", "history");
    st->slots = calloc((size_t)st->n_mal + 1, sizeof *st->slots);
    st->fac = malloc((size_t)st->hist * sizeof *st->fac);
    st->sorted = malloc((size_t)st->hist * sizeof *st->sorted);
    st->b = malloc(ctx->d * sizeof *st->b);
    st->p = malloc(ctx->d * sizeof *st->p);
    st->acc = malloc(ctx->d * sizeof *st->acc);
    st->cand = malloc(ctx->d * sizeof *st->cand);
    int ok = st->slots && st->fac && st->sorted && st->b && st->p && st->acc && st->cand;
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* alpha-quantile of the stored factors, linear interpolation (numpy's default) */
static double quantile(saf_state *st)
{
    int n = st->n_fac;
    memcpy(st->sorted, st->fac, (size_t)n * sizeof *st->sorted);
    qsort(st->sorted, (size_t)n, sizeof *st->sorted, cmp_double);
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
                st->cand[j] = clampf(b[j] + gamma * p[j]);
        } else {
            double k = R / sqrt(A);
            for (size_t j = 0; j < d; j++)
                st->cand[j] = clampf(prev[j] + k * p[j]);
        }
        return;
    }
    /* no direction: the ball's point closest to grad_b */
    double nc = sqrt(C + R * R), k = nc > R ? R / nc : 1.0;
    for (size_t j = 0; j < d; j++)
        st->cand[j] = clampf(prev[j] + k * (b[j] - prev[j]));
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
        mean_of(view->known, view->n_known, d, st->b);
        perturbation(st->pert, st->b, view->known, view->n_known, d, st->p, st->acc);
        st->view = view;
        st->prev = sl->sent;
        st->dw = dw;
        double T = quantile(st), s;
        if (view->accepts && view->full_knowledge && T > 0)
            s = st->margin * ndss_search(2 * T, 2e-5 * T, saf_probe_ok, st);
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
};
