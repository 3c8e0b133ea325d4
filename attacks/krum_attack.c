/* attacks/krum_attack.c - Fang et al.'s Krum attack (against Krum, Multi-Krum, Bulyan),
 * registry name "krum".  Every malicious client sends g' = -lambda * s, s = sign(direction),
 * with the largest lambda (halving from a start value) for which Krum, run over crafted
 * copies plus the known updates, selects a crafted copy.
 *
 * Sources: Fang, Cao, Jia, Gong, "Local Model Poisoning Attacks to Byzantine-Robust
 * Federated Learning", USENIX Security 2020; code vrt1shjwlkr/NDSS21-Model-Poisoning
 * `compute_lambda_fang` / `get_malicious_updates_fang` (full knowledge) and
 * zaixizhang/FLDetector byzantine.py `dir_partial_krum_lambda` (partial knowledge).
 * Krum: Blanchard et al., NeurIPS 2017.  specs/algorithms.md section 3.6.
 *
 * Full knowledge (NDSS), B = the k known benign updates (the newest attack.window),
 * c = attack.copies crafted copies (0: the number of malicious clients), g_bar = mean(B):
 *   s = sign(g_bar) (gradient space: a parameter decreases where s_j > 0, g' pushes it up);
 *   lambda_max = min_i sum_{l in N_i} ||b_l - b_i|| / ((k - c - 1) sqrt(d))
 *                + max_i ||b_i - g_bar|| / sqrt(d),
 *     N_i = the k - 2 - c nearest other benign updates (non-squared distances, as NDSS);
 *   lambda = lambda_max, halved until Krum (f = c, squared distances, n - f - 2 neighbours,
 *   copies first so ties go to a copy as in NDSS's order) over the c copies + B picks a copy,
 *   or lambda <= attack.lambda_stop.  If no lambda succeeds, NDSS's behaviour: the last
 *   vector tried (-lambda s with lambda just above the stop value, i.e. nearly 0).
 * Partial knowledge (FLD), G = the malicious clients' own genuine updates (the newest
 * min(known, number of malicious clients), FLD's c genuine updates), dir = mean(G):
 *   for k = 1 .. |G| - 1 crafted copies: lambda = 1, halved while Krum (f = k) over G + k
 *   copies (genuine first, so ties go to a genuine update as in FLD) picks a genuine update
 *   and lambda > lambda_stop; stop at the first k that succeeds.  Send -lambda sign(dir)
 *   with the last lambda (|G| = 1: lambda = 1, as FLD).
 *
 * Choices where the sources are silent (asynchronous adaptation, degenerate sets):
 *   - "The round" is `known`; the simulated Krum input is copies + known, not the server's
 *     real buffer (which depends on the defense).  Each malicious arrival crafts afresh.
 *   - Krum's neighbour count n - f - 2 and NDSS's k - 2 - c and k - c - 1 are clamped to
 *     at least 1 (FLD does the same by lowering f), so small windows still work.
 *   - NDSS sets every zero distance to 10000 to skip the self-distance; here only the
 *     self-distance is skipped (identical benign updates then count as neighbours at 0).
 *   - FLD adds a tiny random perturbation to copies 2..c; every malicious arrival here
 *     sends exactly -lambda s (one vector per arrival).
 *   - With no known update yet the genuine update is sent.
 * Krum is computed locally (same definition as defenses/rules.h afl_rule_krum: sum of
 * squared distances to the n - f - 2 nearest, ties to the lowest index) over a distance
 * matrix built once per craft (stats.c afl_pair_sqdist, shared with minmax and adaptive); the
 * copies' distances are ||b||^2 + 2 lambda <b, s> + lambda^2 ||s||^2, so each halving step is
 * O(n^2), not O(n d).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "attacks/stats.h"

static const afl_param params[] = {
    {"copies", AFL_P_INT, "0", 0, 1e4, NULL,
     "krum, full knowledge: crafted copies in the simulated Krum input and Krum's f (0 = the "
     "number of malicious clients)"},
    {"lambda_stop", AFL_P_REAL, "1e-5", 1e-30, 1e30, NULL,
     "krum: stop halving lambda below this (NDSS 1e-5; FLD partial 2e-5)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int cap;    /* most known updates used */
    int copies; /* full knowledge: c */
    int n_mal;
    double stop;
    int nmax;         /* cap + copies: the largest simulated Krum input */
    double *mu;       /* (d) mean of the used updates */
    float *s;         /* (d) sign vector */
    double *B;        /* (cap, cap) squared distances among the used updates */
    double *M;        /* (nmax, nmax) simulated Krum input's squared distances */
    double *row;      /* (nmax) scratch */
    double *nb, *dot; /* (cap) ||b_i||^2 and <b_i, s> */
} state;

static void destroy(void *vs)
{
    state *st = vs;
    if (!st)
        return;
    free(st->mu);
    free(st->s);
    free(st->B);
    free(st->M);
    free(st->row);
    free(st->nb);
    free(st->dot);
    free(st);
}

static int create(const afl_attack_ctx *ctx, void **out, afl_err *err)
{
    state *st = calloc(1, sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->n_mal = ctx->n_malicious > 0 ? ctx->n_malicious : 1;
    int64_t w = afl_cfg_int(ctx->cfg, "attack", "window");
    st->cap = (int)(w > 0 ? w : ctx->n_clients);
    if (st->cap < st->n_mal)
        st->cap = st->n_mal;
    int64_t c = afl_cfg_int(ctx->cfg, "attack", "copies");
    if (c > ctx->n_clients) {
        free(st);
        return afl_err_set(err, AFL_EINPUT,
                           "attack.copies = %lld: the simulated Krum input cannot hold more "
                           "crafted copies than there are clients (clients.n = %d)",
                           (long long)c, ctx->n_clients);
    }
    st->copies = (int)(c > 0 ? c : st->n_mal);
    st->stop = afl_cfg_real(ctx->cfg, "attack", "lambda_stop");
    /* partial knowledge simulates at most n_mal genuine + (n_mal - 1) copies <= 2 cap */
    st->nmax = st->cap + (st->copies > st->cap ? st->copies : st->cap);
    size_t nm = (size_t)st->nmax, cp = (size_t)st->cap;
    st->mu = malloc(ctx->d * sizeof *st->mu);
    st->s = malloc(ctx->d * sizeof *st->s);
    st->B = malloc(cp * cp * sizeof *st->B);
    st->M = malloc(nm * nm * sizeof *st->M);
    st->row = malloc(nm * sizeof *st->row);
    st->nb = malloc(cp * sizeof *st->nb);
    st->dot = malloc(cp * sizeof *st->dot);
    if (!st->mu || !st->s || !st->B || !st->M || !st->row || !st->nb || !st->dot) {
        int cap = st->cap, copies = st->copies;
        destroy(st);
        return afl_err_set(err, AFL_ENOMEM,
                           "out of memory for the krum attack (%d known updates, %d copies)", cap,
                           copies);
    }
    *out = st;
    return AFL_OK;
}

/* The sum of the q smallest distances from vector i to the n - 1 others (q clamped to
 * [1, n - 1]), given the (n, n) squared distances M.  root: of the distances (sqrt of M, NaN
 * kept); else of the squared ones with NaN counted as +Inf.  row: (n) scratch. */
static double nearest_sum(const double *M, int n, int i, int q, int root, double *row)
{
    if (q < 1)
        q = 1;
    if (q > n - 1)
        q = n - 1;
    int k = 0;
    for (int l = 0; l < n; l++)
        if (l != i) {
            double v = M[(size_t)i * (size_t)n + (size_t)l];
            row[k++] = root ? sqrt(v) : v == v ? v : INFINITY;
        }
    qsort(row, (size_t)k, sizeof *row, afl_cmp_double);
    double sc = 0;
    for (int l = 0; l < q; l++)
        sc += row[l];
    return sc;
}

/* Krum over n vectors given their (n, n) squared distances M: the index with the smallest
 * sum of squared distances to its q = n - f - 2 nearest others (q clamped to [1, n-1]);
 * ties to the lowest index.  NaN distances count as +Inf. */
static int krum_pick(const double *M, int n, int f, double *row)
{
    if (n <= 1)
        return 0;
    int best = 0;
    double best_score = INFINITY;
    for (int i = 0; i < n; i++) {
        double sc = nearest_sum(M, n, i, n - f - 2, 0, row);
        if (sc < best_score) {
            best_score = sc;
            best = i;
        }
    }
    return best;
}

/* Prepares the r used updates x: mu = mean, s = sign(mu), B = pairwise squared distances,
 * nb = squared norms, dot = <x_i, s>; returns ||s||^2 (the number of non-zero signs). */
static double prepare(state *st, const float *const *x, int r)
{
    size_t d = st->d;
    afl_col_mean(x, r, d, st->mu);
    double ns = 0;
    for (size_t j = 0; j < d; j++) {
        st->s[j] = st->mu[j] > 0 ? 1.0f : st->mu[j] < 0 ? -1.0f : 0.0f;
        ns += st->s[j] != 0;
    }
    for (int i = 0; i < r; i++) {
        double b = 0;
        for (size_t j = 0; j < d; j++)
            b += (double)x[i][j] * st->s[j];
        st->nb[i] = afl_vec_sqnorm(x[i], d);
        st->dot[i] = b;
    }
    afl_pair_sqdist(x, r, d, st->B);
    return ns;
}

/* Fills M for r real vectors and c copies of -lambda s; copies at indices [c0, c0 + c). */
static void fill(state *st, int r, int c, int copies_first, double lambda, double ns)
{
    int n = r + c, c0 = copies_first ? 0 : r, r0 = copies_first ? c : 0;
    double *M = st->M;
    for (int i = 0; i < r; i++)
        for (int l = 0; l < r; l++)
            M[(size_t)(r0 + i) * (size_t)n + (size_t)(r0 + l)] =
                st->B[(size_t)i * (size_t)r + (size_t)l];
    for (int a = 0; a < c; a++) {
        for (int b = 0; b < c; b++)
            M[(size_t)(c0 + a) * (size_t)n + (size_t)(c0 + b)] = 0;
        for (int i = 0; i < r; i++) {
            /* ||x_i + lambda s||^2 */
            double e = st->nb[i] + 2 * lambda * st->dot[i] + lambda * lambda * ns;
            if (e < 0)
                e = 0;
            M[(size_t)(c0 + a) * (size_t)n + (size_t)(r0 + i)] = e;
            M[(size_t)(r0 + i) * (size_t)n + (size_t)(c0 + a)] = e;
        }
    }
}

/* NDSS compute_lambda_fang over the r benign updates (B, mu prepared), c attackers. */
static double lambda_max(state *st, const float *const *x, int r, int c)
{
    size_t d = st->d;
    double min_score = INFINITY;
    for (int i = 0; i < r; i++) {
        double sc = nearest_sum(st->B, r, i, r - 2 - c, 1, st->row);
        min_score = sc < min_score ? sc : min_score;
    }
    if (!(min_score < INFINITY))
        min_score = 0;
    double max_dist = 0;
    for (int i = 0; i < r; i++) {
        double e = 0;
        for (size_t j = 0; j < d; j++) {
            double t = x[i][j] - st->mu[j];
            e += t * t;
        }
        max_dist = e > max_dist ? e : max_dist;
    }
    int den = r - c - 1 > 1 ? r - c - 1 : 1;
    double sd = sqrt((double)d);
    return min_score / (den * sd) + sqrt(max_dist) / sd;
}

/* g (d) <- base - lambda s, saturated (NaN kept); base NULL = 0 */
static void send(const state *st, float *g, const double *base, double lambda)
{
    for (size_t j = 0; j < st->d; j++)
        g[j] = afl_satf(base ? base[j] - lambda * st->s[j] : -lambda * st->s[j]);
}

static void craft(void *vs, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)rng;
    state *st = vs;
    if (view->n_known < 1)
        return; /* nothing known yet: the genuine update */
    if (view->full_knowledge) {
        int r = view->n_known < st->cap ? view->n_known : st->cap;
        int c = st->copies;
        if (r + c > st->nmax)
            c = st->nmax - r;
        double ns = prepare(st, view->known, r);
        double lambda = lambda_max(st, view->known, r, c), tried = -1;
        if (!isfinite(lambda))
            lambda = FLT_MAX;
        while (lambda > st->stop) {
            fill(st, r, c, 1, lambda, ns);
            tried = lambda;
            if (krum_pick(st->M, r + c, c, st->row) < c)
                break;
            lambda *= 0.5;
        }
        if (tried >= 0)
            send(st, g, NULL, tried);
        else /* lambda_max <= stop: NDSS sends g_bar - lambda s */
            send(st, g, st->mu, lambda);
        return;
    }
    /* partial knowledge: FLD dir_partial_krum_lambda over the newest n_mal own updates */
    int r = view->n_known < st->n_mal ? view->n_known : st->n_mal;
    double ns = prepare(st, view->known, r);
    double lambda = 1.0;
    for (int k = 1; k < r; k++) {
        lambda = 1.0;
        fill(st, r, k, 0, lambda, ns);
        int pick = krum_pick(st->M, r + k, k, st->row);
        while (pick < r && lambda > st->stop) {
            lambda *= 0.5;
            fill(st, r, k, 0, lambda, ns);
            pick = krum_pick(st->M, r + k, k, st->row);
        }
        if (pick >= r)
            break;
    }
    send(st, g, NULL, lambda);
}

const afl_attack_ops afl_attack_krum = {
    {"krum",
     "Fang's Krum attack: send -lambda sign(benign mean), lambda halved until Krum selects it "
     "(full: NDSS lambda_max; partial: FLD)",
     "Fang et al., USENIX Security 2020; NDSS21-Model-Poisoning compute_lambda_fang; FLDetector "
     "byzantine.py dir_partial_krum_lambda",
     params},
    create,
    NULL,
    craft,
    destroy,
    NULL,
    NULL,
    1,
};
