/* defenses/secureafl.c - SecureAFL: Lipschitz filter, L-BFGS estimates of the
 * missing clients' updates, coordinate-wise median.
 *
 * Source: A. Gao, F. Wang, Z. Wan, Y. Quan, Z. Liu, M. Fang, "SecureAFL:
 * Secure Asynchronous Federated Learning", ASIA CCS 2026, arXiv:2604.03862v1,
 * section 4 (Eqs. 2-6, Algorithms 2 and 3); reconstruction notes
 * specs/secureafl.md section 2.  The compact L-BFGS product is in lbfgs.c.
 * Every reading the paper leaves open (specs/secureafl.md 2.5 a-f, 8) is a
 * [defense] key below; docs/defenses-secureafl.md gives the evidence for the
 * defaults.
 *
 * Per arrival of g (client i, trained on w_base) at version t >= 1:
 *   lambda = |g - g_i^phi| / |w_base - w^phi|          (Eq. 2, the client's previous update)
 *   Q <- Q + {lambda};  accept iff lambda <= Q_alpha    (Eq. 3, alpha-th percentile of Q)
 *   for every other client k that has reported:
 *     ghat_k = g_k^v + B_k (w^t - w^v)                  (Eq. 4, compact L-BFGS B_k)
 *   step = median(g if accepted, {ghat_k})              (Eqs. 5, 6; coordinate-wise)
 *   w <- w - lr step                                    (done by the engine)
 * At t = 0 the first update is clipped to |g| <= G and applied alone.
 *
 * Default reading (docs/defenses-secureafl.md section 4): per-client pairs
 * from the client's consecutive updates, with two safeguards that are not in
 * the paper: mu <= mu_cap/lr (the curvature B assumes outside the pairs' span)
 * and |B dw| <= kappa |g_k^v|.  The literal reading (mu_cap = kappa = 0)
 * diverges on the paper's Fashion-MNIST setting.
 *
 * Cost per arrival at n clients, d parameters, eps pairs: one pass that reads
 * each estimate's (2 + 2 eps) d floats chunk by chunk, writes them into the
 * median's input and sorts n values per coordinate with a pruned Batcher
 * network on 16 coordinates at once (exact and branch-free); the dot products
 * S_k^T (w^t - w^v) are carried from round to round instead of re-read.
 * With ctx->threads = T > 1 the chunks are shared among T threads (each takes the next
 * chunk not yet taken, with its own scratch); a chunk's step and its contribution to the
 * carried dots do not depend on which thread computes it, the contributions are kept
 * per chunk and summed in chunk order afterwards, so the results are the same bits for
 * every T.
 * Memory: per reporting client its last update and base model (2d floats)
 * plus 2 eps d floats of pairs (pairs = client).
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/lbfgs.h"

/* ---- parameters ----------------------------------------------------------------------- */

static const afl_param params[] = {
    {"alpha", AFL_P_REAL, "0.8", 0, 1, NULL,
     "accept an update iff its Lipschitz factor is <= the alpha-th percentile of Q (Eq. 3)"},
    {"percentile", AFL_P_ENUM, "linear", 0, 0, "linear|lower|higher|nearest_rank",
     "percentile of Q: linear = x[h] interpolated at h = (|Q|-1) alpha (numpy default, Hyndman-Fan "
     "7); lower/higher = x[floor h]/x[ceil h]; nearest_rank = x[ceil(alpha |Q|) - 1]"},
    {"q_window", AFL_P_INT, "0", 0, 1e9, NULL,
     "Q keeps only the last q_window factors (0 = every factor so far, as in Algorithm 3)"},
    {"eps", AFL_P_INT, "3", 1, 32, NULL, "L-BFGS buffer size epsilon (pairs kept)"},
    {"clip_norm", AFL_P_REAL, "50", 0, 1e30, NULL,
     "G: an update that is clipped is rescaled to l2 norm <= G (Algorithm 3 line 6)"},
    {"clip", AFL_P_ENUM, "t0", 0, 0, "t0|first|none",
     "which updates are clipped to G: t0 = only the update at t = 0 (Algorithm 3); first = also "
     "every client's first update (no Lipschitz factor yet); none"},
    {"first_update", AFL_P_ENUM, "accept", 0, 0, "accept|reject",
     "a client's first update at t >= 1 has no Lipschitz factor: accept it into the median "
     "(clipped per `clip`) or reject it (it is still stored)"},
    {"absent", AFL_P_ENUM, "skip", 0, 0, "skip|zero",
     "clients that have never reported: left out of the median (skip) or counted as a zero "
     "update (zero)"},
    {"store", AFL_P_ENUM, "sent", 0, 0, "sent|accepted",
     "which updates become a client's last update g^phi (and its curvature pairs): every "
     "finite one it sent (paper: 'last update sent') or only accepted ones"},
    {"pairs", AFL_P_ENUM, "client", 0, 0, "client|pooled|global|none",
     "L-BFGS pairs: client = per client, s = w^new - w^old, y = g^new - g^old of its consecutive "
     "updates; pooled = the same secant pairs from every client in one shared buffer (the last "
     "eps arrivals); global = FLDetector-style, s = w^t - w^{t-1}, y = step^t - step^{t-1}; "
     "none = no correction (ghat_k = g_k^v)"},
    {"pool", AFL_P_INT, "1", 1, 1e6, NULL,
     "pairs = pooled: each L-BFGS pair is the sum of this many consecutive secant pairs "
     "(sum s, sum y), which averages the minibatch noise in y down"},
    {"curv_c", AFL_P_REAL, "-2", -2, 1, NULL,
     "curvature test: a pair is used only if s'y > curv_c |s| |y| (-2 = no test)"},
    {"mu_cap", AFL_P_REAL, "0.001", 0, 1e30, NULL,
     "cap the L-BFGS scale mu <= mu_cap / lr, the curvature B assumes outside the pairs' span "
     "(0 = no cap, the literal reading)"},
    {"kappa", AFL_P_REAL, "1", 0, 1e30, NULL,
     "bound the correction: |B dw| <= kappa |g_k^v|, rescaled if larger (0 = no bound, the "
     "literal reading)"},
    {"tril", AFL_P_ENUM, "strict", 0, 0, "strict|inclusive",
     "J = Tril(Y_k) in Algorithm 2: strict = entries i > j (the compact BFGS form, "
     "specs/secureafl.md 2.2); inclusive = with the diagonal (the paper's words read literally)"},
    {"bad_curvature", AFL_P_ENUM, "stale", 0, 0, "stale|drop",
     "a client whose L-BFGS matrix is unusable (mu <= 0 or not finite, singular system): use "
     "its last update uncorrected (stale) or leave it out of the median (drop)"},
    {"min_pairs", AFL_P_INT, "1", 1, 32, NULL,
     "a correction is used only once the buffer holds at least this many pairs"},
    {"warmup", AFL_P_INT, "0", 0, 1e12, NULL,
     "no correction before this many model updates (FLDetector uses 50 with global pairs)"},
    {"max_norm", AFL_P_REAL, "1e10", 0, 1e18, NULL,
     "numerical guard, not in the paper: an update that is not finite, is exactly zero or has "
     "norm > max_norm is rejected, not stored and not put into Q"},
    {"variant", AFL_P_ENUM, "full", 0, 0, "full|I|II|III|IV",
     "ablation (reconstructed, see docs): full; I = no filter; II = no estimation (apply the "
     "accepted update alone); III = mean instead of median; IV = no clipping"},
    {"aux", AFL_P_ENUM, "est_error", 0, 0, "est_error|est_error_stale|mu|pair_cos|pair_mu",
     "events.csv aux: est_error = |ghat_i - g_i| / |g_i| of the arriving client (estimate at its "
     "base model, from its previous update); est_error_stale = the same without correction; mu = "
     "mu of the L-BFGS buffer used for it; pair_cos, pair_mu = cos(s, y) and s'y/s's of the "
     "secant pair s = w_base - w^phi, y = g - g^phi (diagnostics of the curvature signal)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

enum { PCT_LINEAR, PCT_LOWER, PCT_HIGHER, PCT_NEAREST_RANK };
enum { CLIP_T0, CLIP_FIRST, CLIP_NONE };
enum { PAIRS_CLIENT, PAIRS_POOLED, PAIRS_GLOBAL, PAIRS_NONE };
enum { VAR_FULL, VAR_I, VAR_II, VAR_III, VAR_IV };
enum { AUX_EST, AUX_STALE, AUX_MU, AUX_PAIR_COS, AUX_PAIR_MU };

static int pick(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return 0;
}

/* ---- coordinate-wise median: pruned Batcher network on blocks of MED_B coordinates ---- */

#define MED_B 16         /* coordinates per block (one 64-byte line of floats) */
#define MED_NET_MAX 256  /* more rows than this: quickselect per coordinate */

typedef struct {
    int rows;      /* number of vectors */
    int ncmp;      /* comparators after pruning */
    uint16_t *cmp; /* (ncmp, 2): slot pairs (lo gets min, hi gets max) */
    int lo, hi;    /* slots holding order statistics (rows-1)/2 and rows/2 */
} med_plan;

/* Builds the plan for `rows` values (2 <= rows <= MED_NET_MAX): Batcher's
 * odd-even merge sort on N = 2^ceil(log2 rows) wires with +inf pads in the top
 * N - rows wires, pads propagated as constants (no comparator touches them),
 * then every comparator that cannot reach the two median wires removed. */
static int med_plan_build(med_plan *p, int rows)
{
    int N = 1;
    while (N < rows)
        N <<= 1;
    size_t cap = (size_t)N * 64 + 16;
    uint16_t *raw = malloc(cap * 2 * sizeof *raw);
    int *phys = malloc((size_t)N * sizeof *phys);
    unsigned char *pad = malloc((size_t)N), *need = malloc((size_t)N);
    if (!raw || !phys || !pad || !need) {
        free(raw), free(phys), free(pad), free(need);
        return -1;
    }
    for (int w = 0; w < N; w++) {
        phys[w] = w;
        pad[w] = w >= rows;
    }
    size_t nc = 0;
    for (int q = 1; q < N; q <<= 1)
        for (int k = q; k >= 1; k >>= 1)
            for (int j = k % q; j <= N - 1 - k; j += 2 * k)
                for (int i = 0; i <= k - 1 && i <= N - j - k - 1; i++)
                    if ((i + j) / (q * 2) == (i + j + k) / (q * 2)) {
                        int a = i + j, b = i + j + k; /* a gets min, b gets max */
                        if (pad[a] && pad[b])
                            continue;
                        if (pad[b])
                            continue; /* x_a < +inf: nothing moves */
                        if (pad[a]) { /* the value moves down, the pad up */
                            int t = phys[a];
                            phys[a] = phys[b];
                            phys[b] = t;
                            pad[a] = 0;
                            pad[b] = 1;
                            continue;
                        }
                        raw[2 * nc] = (uint16_t)phys[a];
                        raw[2 * nc + 1] = (uint16_t)phys[b];
                        nc++;
                    }
    p->rows = rows;
    p->lo = phys[(rows - 1) / 2];
    p->hi = phys[rows / 2];
    memset(need, 0, (size_t)N);
    need[p->lo] = need[p->hi] = 1;
    /* backward pruning: keep a comparator iff one of its outputs is needed */
    size_t kept = 0;
    for (size_t c = nc; c-- > 0;) {
        int a = raw[2 * c], b = raw[2 * c + 1];
        if (need[a] || need[b]) {
            need[a] = need[b] = 1;
            raw[2 * c] = (uint16_t)a; /* mark kept by leaving it; compacted below */
            kept++;
        } else {
            raw[2 * c] = raw[2 * c + 1] = UINT16_MAX;
        }
    }
    p->cmp = malloc((kept ? kept : 1) * 2 * sizeof *p->cmp);
    if (!p->cmp) {
        free(raw), free(phys), free(pad), free(need);
        return -1;
    }
    size_t o = 0;
    for (size_t c = 0; c < nc; c++)
        if (raw[2 * c] != UINT16_MAX) {
            p->cmp[2 * o] = raw[2 * c];
            p->cmp[2 * o + 1] = raw[2 * c + 1];
            o++;
        }
    p->ncmp = (int)o;
    free(raw), free(phys), free(pad), free(need);
    return 0;
}

/* Sixteen floats as one GCC vector (lowered to whatever the target has). */
typedef float med_vf __attribute__((vector_size(MED_B * sizeof(float))));
typedef int32_t med_vi __attribute__((vector_size(MED_B * sizeof(float))));

/* x is (rows, MED_B) for one block and is overwritten; out (MED_B).  Each
 * comparator is a branch-free min/max of 16 lanes (exact: no rounding, so
 * every instruction-set clone gives the same bits). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
med_block(float *restrict x, const med_plan *p, float *restrict out)
{
    const uint16_t *c = p->cmp;
    for (int k = 0; k < p->ncmp; k++) {
        float *a = x + (size_t)c[2 * k] * MED_B;
        float *b = x + (size_t)c[2 * k + 1] * MED_B;
        med_vf u, v;
        memcpy(&u, a, sizeof u);
        memcpy(&v, b, sizeof v);
        med_vi m = u < v;
        med_vi lo = (m & (med_vi)u) | (~m & (med_vi)v);
        med_vi hi = (m & (med_vi)v) | (~m & (med_vi)u);
        memcpy(a, &lo, sizeof lo);
        memcpy(b, &hi, sizeof hi);
    }
    const float *lo = x + (size_t)p->lo * MED_B, *hi = x + (size_t)p->hi * MED_B;
    if (p->rows & 1)
        memcpy(out, lo, MED_B * sizeof *out);
    else
        for (int l = 0; l < MED_B; l++)
            out[l] = 0.5f * (lo[l] + hi[l]);
}

/* k-th smallest of a[0..n) (Wirth); a is reordered. */
static float select_kth(float *a, int n, int k)
{
    int l = 0, m = n - 1;
    while (l < m) {
        float x = a[k];
        int i = l, j = m;
        do {
            while (a[i] < x)
                i++;
            while (x < a[j])
                j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < k)
            l = i;
        if (k < i)
            m = j;
    }
    return a[k];
}

/* One input of the median: a vector (the arrival, scaled), zero (absent
 * client), or an estimate g_k + mu (w_at - w_k) - sum_j a_j y_j - sum_j b_j s_j
 * (lb = NULL: g_k alone). */
enum { ROW_VEC, ROW_ZERO, ROW_EST };
typedef struct {
    int kind;
    const float *v;  /* ROW_VEC: the vector; ROW_EST: g_k */
    float scale;     /* ROW_VEC */
    const float *wk; /* ROW_EST: base model of g_k */
    const float *wa; /* ROW_EST: the model the estimate is for */
    const afl_lbfgs *lb;
    float mu, a[32], b[32];
    int trk; /* >= 0: client whose tracked dots this round's step updates */
    int bad; /* a correction was due but B is unusable (see bad_curvature) */
} row;

#define CHUNK_B 64 /* blocks of MED_B coordinates per chunk: rows x 4 KB stay in L2 */
#define MAX_THREADS 64

/* One thread's scratch for the aggregate. */
typedef struct {
    float *E;    /* (CHUNK_B, n + 1, MED_B) median input of one chunk, by block */
    float *line; /* (CHUNK_B MED_B) one row's values on one chunk */
    float *col;  /* (n + 1) quickselect column */
} scratch;

/* ---- state ------------------------------------------------------------------------------ */

typedef struct {
    int has;         /* holds a stored update */
    int64_t version; /* base version of the stored update */
    float *g, *w;    /* (d) stored update g^v and its base model w^v */
    double gnorm;    /* |g^v| */
    afl_lbfgs lb;    /* pairs = client */
    int lb_ready;
    /* pairs = client: S^T v, Y^T v and v^T v for v = w^tver - w^v, carried from
     * round to round (v <- v - lr step) instead of re-read: valid iff tver equals
     * the number of model updates so far */
    double tS[32], tY[32], tvv;
    int64_t tver, tepoch;          /* valid for model update tver of carry epoch tepoch */
    int tage;                      /* rounds carried since the last direct computation */
    double aS[32], aY[32], aW;     /* this round's s_j^T step, y_j^T step, v^T step */
} client;

#ifndef TRACK_REFRESH
#define TRACK_REFRESH 256 /* recompute carried dots directly after this many rounds */
#endif

typedef struct {
    size_t d, nb; /* dimension, blocks of MED_B */
    int n;
    double lr;
    /* parameters */
    double alpha, G, curv_c, mu_cap, kappa, max_norm;
    int pct, clip, first_reject, absent_zero, store_accepted, pairs, variant, aux;
    int eps, min_pairs, pool, pooled_n, tril_inclusive, drop_bad;
    float *acc_s, *acc_y; /* pairs = pooled: running sums of the secant pairs */
    int64_t warmup, q_window;
    /* clients */
    client *cl;
    /* Q: finite factors, sorted ascending; fifo (insertion order) when windowed */
    double *q, *fifo;
    size_t nq, qcap, fifo_head;
    /* global pairs */
    afl_lbfgs glb;
    float *prev_w, *prev_step;
    int have_prev;
    /* scratch */
    int threads;  /* threads the aggregate may use (ctx->threads, at least 1) */
    scratch *scr; /* (threads) [0] uses tmp as its line */
    row *rows;    /* (n + 1) the median's inputs */
    float *dw;    /* (max(d, 2048)) */
    float *tmp;   /* (max(d, CHUNK_B MED_B)) */
    /* pairs = client: per chunk and tracked row, its s_j^T step, y_j^T step (eps each) and
     * v^T step on that chunk, summed in chunk order after the chunks are done */
    size_t nch;      /* chunks of CHUNK_B blocks */
    double *part;    /* (nch, n, 2 eps + 1) */
    int *trk_rows;   /* (n + 1) rows with a tracked client, in row order */
    med_plan *plans; /* (n + 2) by row count, built on first use */
    int64_t applied; /* model updates so far (t) */
    /* carried dots assume the engine publishes w - lr step as the next version;
     * an arrival at any other version than expected starts a new epoch */
    int64_t expect_version, epoch;
} state;

static void state_free(state *S)
{
    if (!S)
        return;
    if (S->cl) {
        for (int k = 0; k < S->n; k++) {
            free(S->cl[k].g);
            free(S->cl[k].w);
            afl_lbfgs_free(&S->cl[k].lb);
        }
        free(S->cl);
    }
    if (S->plans) {
        for (int r = 0; r < S->n + 2; r++)
            free(S->plans[r].cmp);
        free(S->plans);
    }
    afl_lbfgs_free(&S->glb);
    free(S->q);
    free(S->fifo);
    free(S->prev_w);
    free(S->prev_step);
    free(S->acc_s);
    free(S->acc_y);
    if (S->scr)
        for (int t = 0; t < S->threads; t++) {
            free(S->scr[t].E);
            free(S->scr[t].col);
            if (t > 0)
                free(S->scr[t].line);
        }
    free(S->scr);
    free(S->part);
    free(S->trk_rows);
    free(S->rows);
    free(S->dw);
    free(S->tmp);
    free(S);
}

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    static const char *const pct_names[] = {"linear", "lower", "higher", "nearest_rank", NULL};
    static const char *const clip_names[] = {"t0", "first", "none", NULL};
    static const char *const pair_names[] = {"client", "pooled", "global", "none", NULL};
    static const char *const var_names[] = {"full", "I", "II", "III", "IV", NULL};
    static const char *const aux_names[] = {"est_error", "est_error_stale", "mu", "pair_cos",
                                            "pair_mu", NULL};
    const afl_config *cfg = ctx->cfg;
    state *S = calloc(1, sizeof *S);
    if (!S)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    S->d = ctx->d;
    S->nb = (ctx->d + MED_B - 1) / MED_B;
    S->n = ctx->n_clients;
    S->lr = ctx->lr;
    S->alpha = afl_cfg_real(cfg, "defense", "alpha");
    S->pct = pick(afl_cfg_str(cfg, "defense", "percentile"), pct_names);
    S->q_window = afl_cfg_int(cfg, "defense", "q_window");
    S->eps = (int)afl_cfg_int(cfg, "defense", "eps");
    S->pool = (int)afl_cfg_int(cfg, "defense", "pool");
    S->tril_inclusive = strcmp(afl_cfg_str(cfg, "defense", "tril"), "inclusive") == 0;
    S->drop_bad = strcmp(afl_cfg_str(cfg, "defense", "bad_curvature"), "drop") == 0;
    S->G = afl_cfg_real(cfg, "defense", "clip_norm");
    S->clip = pick(afl_cfg_str(cfg, "defense", "clip"), clip_names);
    S->first_reject = strcmp(afl_cfg_str(cfg, "defense", "first_update"), "reject") == 0;
    S->absent_zero = strcmp(afl_cfg_str(cfg, "defense", "absent"), "zero") == 0;
    S->store_accepted = strcmp(afl_cfg_str(cfg, "defense", "store"), "accepted") == 0;
    S->pairs = pick(afl_cfg_str(cfg, "defense", "pairs"), pair_names);
    S->curv_c = afl_cfg_real(cfg, "defense", "curv_c");
    S->mu_cap = afl_cfg_real(cfg, "defense", "mu_cap");
    S->kappa = afl_cfg_real(cfg, "defense", "kappa");
    S->min_pairs = (int)afl_cfg_int(cfg, "defense", "min_pairs");
    S->warmup = afl_cfg_int(cfg, "defense", "warmup");
    S->max_norm = afl_cfg_real(cfg, "defense", "max_norm");
    S->variant = pick(afl_cfg_str(cfg, "defense", "variant"), var_names);
    S->aux = pick(afl_cfg_str(cfg, "defense", "aux"), aux_names);
    if (S->variant == VAR_IV)
        S->clip = CLIP_NONE;
    size_t d = S->d, n = (size_t)S->n;
    S->cl = calloc(n, sizeof *S->cl);
    for (size_t k = 0; S->cl && k < n; k++)
        S->cl[k].tver = -1;
    S->plans = calloc(n + 2, sizeof *S->plans);
    S->rows = malloc((n + 1) * sizeof *S->rows);
    S->dw = malloc((d > 2048 ? d : 2048) * sizeof(float)); /* also secant_sums' 2 x 1024 */
    S->tmp = malloc((d > CHUNK_B * MED_B ? d : CHUNK_B * MED_B) * sizeof(float));
    S->nch = (S->nb + CHUNK_B - 1) / CHUNK_B;
    /* no more threads than chunks: a thread without a chunk would only cost */
    S->threads = ctx->threads > 1 ? ctx->threads : 1;
    if (S->threads > MAX_THREADS)
        S->threads = MAX_THREADS;
    if ((size_t)S->threads > S->nch)
        S->threads = S->nch > 0 ? (int)S->nch : 1;
    S->scr = calloc((size_t)S->threads, sizeof *S->scr);
    int bad = !S->cl || !S->plans || !S->rows || !S->dw || !S->tmp || !S->scr;
    for (int t = 0; !bad && t < S->threads; t++) {
        scratch *sc = &S->scr[t];
        /* 64-byte aligned: every block row is one aligned 16-float vector */
        sc->E = aligned_alloc(64, (size_t)CHUNK_B * (n + 1) * MED_B * sizeof(float));
        sc->line = t == 0 ? S->tmp : malloc((size_t)CHUNK_B * MED_B * sizeof(float));
        sc->col = malloc((n + 1) * sizeof(float));
        bad = !sc->E || !sc->line || !sc->col;
    }
    if (!bad && S->pairs == PAIRS_CLIENT) {
        S->part = malloc((S->nch ? S->nch : 1) * n * (size_t)(2 * S->eps + 1) * sizeof(double));
        S->trk_rows = malloc((n + 1) * sizeof *S->trk_rows);
        bad = !S->part || !S->trk_rows;
    }
    S->qcap = 1024;
    S->q = malloc(S->qcap * sizeof(double));
    if (S->q_window > 0)
        S->fifo = malloc((size_t)S->q_window * sizeof(double));
    bad = bad || !S->q || (S->q_window > 0 && !S->fifo);
    if (!bad && S->pairs == PAIRS_GLOBAL) {
        S->prev_w = malloc(d * sizeof(float));
        S->prev_step = malloc(d * sizeof(float));
        bad = !S->prev_w || !S->prev_step;
    }
    if (!bad && S->pairs == PAIRS_POOLED && S->pool > 1) {
        S->acc_s = calloc(d, sizeof(float));
        S->acc_y = calloc(d, sizeof(float));
        bad = !S->acc_s || !S->acc_y;
    }
    if (!bad && (S->pairs == PAIRS_GLOBAL || S->pairs == PAIRS_POOLED)) {
        bad = afl_lbfgs_init(&S->glb, S->eps, d) != 0;
        S->glb.curv_c = S->curv_c;
        S->glb.tril_inclusive = S->tril_inclusive;
        S->glb.mu_max = S->mu_cap > 0 ? S->mu_cap / S->lr : 0;
    }
    if (bad) {
        state_free(S);
        return afl_err_set(err, AFL_ENOMEM, "out of memory for SecureAFL's state (%d clients, d = %zu)",
                           S->n, d);
    }
    *out = S;
    return AFL_OK;
}

/* ---- Q and its percentile --------------------------------------------------------------- */

static int q_insert(state *S, double x)
{
    if (S->q_window > 0 && S->nq == (size_t)S->q_window) {
        /* drop the oldest value: fifo[fifo_head] */
        double old = S->fifo[S->fifo_head];
        size_t lo = 0, hi = S->nq; /* first index with q[i] >= old */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (S->q[mid] < old)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(S->q + lo, S->q + lo + 1, (S->nq - lo - 1) * sizeof(double));
        S->nq--;
    }
    if (S->nq == S->qcap) {
        double *q = realloc(S->q, 2 * S->qcap * sizeof(double));
        if (!q)
            return -1;
        S->q = q;
        S->qcap *= 2;
    }
    size_t lo = 0, hi = S->nq; /* first index with q[i] > x */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (S->q[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(S->q + lo + 1, S->q + lo, (S->nq - lo) * sizeof(double));
    S->q[lo] = x;
    S->nq++;
    if (S->q_window > 0) {
        S->fifo[S->fifo_head] = x;
        S->fifo_head = (S->fifo_head + 1) % (size_t)S->q_window;
    }
    return 0;
}

/* Which order statistics of n sorted values (n >= 1) the alpha-th percentile
 * uses: x[lo] + frac (x[hi] - x[lo]) (method: see params). */
static void percentile_at(size_t n, double alpha, int method, size_t *lo, size_t *hi,
                          double *frac)
{
    double h = (double)(n - 1) * alpha;
    size_t l = (size_t)floor(h), u = (size_t)ceil(h);
    l = l > n - 1 ? n - 1 : l;
    u = u > n - 1 ? n - 1 : u;
    *frac = 0;
    switch (method) {
    case PCT_LOWER: *lo = *hi = l; break;
    case PCT_HIGHER: *lo = *hi = u; break;
    case PCT_NEAREST_RANK: {
        double r = ceil(alpha * (double)n);
        size_t i = r < 1 ? 0 : (size_t)r - 1;
        *lo = *hi = i > n - 1 ? n - 1 : i;
        break;
    }
    default:
        *lo = l;
        *hi = u;
        *frac = h - (double)l;
    }
}

/* The alpha-th percentile of the sorted x[0..n), n >= 1. */
double afl_secureafl_percentile(const double *x, size_t n, double alpha, int method)
{
    size_t lo, hi;
    double f;
    percentile_at(n, alpha, method, &lo, &hi, &f);
    return x[lo] + f * (x[hi] - x[lo]);
}

/* The percentile of the sorted q[0..nq) with x inserted, without inserting it. */
static double percentile_with(const double *q, size_t nq, double x, double alpha, int method)
{
    size_t n = nq + 1, pos = 0, lo, hi;
    while (pos < nq && q[pos] <= x) /* the slot q_insert would use */
        pos++;
    double f;
    percentile_at(n, alpha, method, &lo, &hi, &f);
    double a = lo < pos ? q[lo] : lo == pos ? x : q[lo - 1];
    double b = hi < pos ? q[hi] : hi == pos ? x : q[hi - 1];
    return a + f * (b - a);
}

/* ---- estimates and the aggregate --------------------------------------------------------- */

/* Fills r as client k's estimate at w_at, with the correction B (w_at - w_k)
 * when one applies (pairs, warm-up, min_pairs, a usable B; kappa bound).
 * cur: w_at is the current model (then, with per-client pairs, the dots are
 * taken from / stored into the client's carried values). */
static void make_estimate(state *S, int k, const float *w_at, int cur, row *r)
{
    client *C = &S->cl[k];
    r->kind = ROW_EST;
    r->v = C->g;
    r->wk = C->w;
    r->wa = w_at;
    r->lb = NULL;
    r->trk = -1;
    r->bad = 0;
    if (S->pairs == PAIRS_NONE)
        return;
    const afl_lbfgs *lb = S->pairs == PAIRS_CLIENT ? (C->lb_ready ? &C->lb : NULL) : &S->glb;
    if (!lb || lb->m < 1)
        return;
    double Stv[32], Ytv[32], a[32], b[32], vv = 0;
    int m = lb->m;
    if (cur && S->pairs == PAIRS_CLIENT) {
        if (C->tver != S->applied || C->tepoch != S->epoch || C->tage >= TRACK_REFRESH) {
            afl_lbfgs_dots_diff(lb, w_at, C->w, C->tS, C->tY, &C->tvv);
            C->tver = S->applied;
            C->tepoch = S->epoch;
            C->tage = 0;
        }
        memcpy(Stv, C->tS, (size_t)m * sizeof(double));
        memcpy(Ytv, C->tY, (size_t)m * sizeof(double));
        vv = C->tvv;
        r->trk = k;
    }
    if (S->applied < S->warmup || m < S->min_pairs)
        return;
    r->bad = 1; /* until the correction is in place */
    if (!lb->ok)
        return;
    if (r->trk < 0)
        afl_lbfgs_dots_diff(lb, w_at, C->w, Stv, Ytv, &vv);
    if (afl_lbfgs_coef(lb, Stv, Ytv, a, b) != 0)
        return;
    double mu = lb->mu, f = 1;
    double hn = sqrt(afl_lbfgs_norm2(lb, vv, Stv, Ytv, a, b));
    if (S->kappa > 0) {
        double lim = S->kappa * C->gnorm;
        if (hn > lim)
            f = hn > 0 ? lim / hn : 0;
    }
    /* numerical guard: every term of the float sum stays below max_norm, so no
     * estimate can overflow (a pair of huge y's could otherwise cancel to a
     * small |B dw| in double but not in float) */
    double lim = S->max_norm;
    if (!(hn * f <= lim) || !(fabs(mu * f) * sqrt(vv) <= lim))
        return;
    for (int j = 0; j < m; j++) {
        double yy = afl_lbfgs_yy(lb, j), ss = afl_lbfgs_ss(lb, j);
        if (!(fabs(a[j] * f) * sqrt(yy) <= lim) || !(fabs(b[j] * f) * sqrt(ss) <= lim))
            return;
    }
    r->mu = (float)(mu * f);
    for (int j = 0; j < m; j++) {
        r->a[j] = (float)(a[j] * f);
        r->b[j] = (float)(b[j] * f);
    }
    r->lb = lb;
    r->bad = 0;
}

/* out[0 .. j1-j0) <- row r on coordinates [j0, j1).  Plain float arithmetic
 * in a fixed order: every instruction-set clone gives the same bits. */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
row_range(const row *r, size_t j0, size_t j1, float *restrict out)
{
    size_t n = j1 - j0;
    if (r->kind == ROW_ZERO) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    const float *v = r->v + j0;
    if (r->kind == ROW_VEC) {
        float sc = r->scale;
        for (size_t j = 0; j < n; j++)
            out[j] = sc * v[j];
        return;
    }
    if (!r->lb) {
        memcpy(out, v, n * sizeof *out);
        return;
    }
    const float *wa = r->wa + j0, *wk = r->wk + j0;
    float mu = r->mu;
    for (size_t j = 0; j < n; j++)
        out[j] = v[j] + mu * (wa[j] - wk[j]);
    for (int p = 0; p < r->lb->m; p++) {
        const float *y = afl_lbfgs_y(r->lb, p) + j0, *s = afl_lbfgs_s(r->lb, p) + j0;
        float a = r->a[p], b = r->b[p];
        for (size_t j = 0; j < n; j++)
            out[j] -= a * y[j] + b * s[j];
    }
}

/* out (n) <- a - b, vectorised for the machine (the caller is not). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
diff_into(const float *restrict a, const float *restrict b, size_t n, float *restrict out)
{
    for (size_t j = 0; j < n; j++)
        out[j] = a[j] - b[j];
}

/* This chunk's share (coordinates [j0, j1)) of the carried dots of the tracked rows
 * rows[trk[0..ntrk)]: part (ntrk, 2 eps + 1) <- s_j^T step in slots 0.., y_j^T step in
 * slots eps.., (w^t - w_k)^T step in slot 2 eps, each one afl_dot over the chunk. */
static void track_chunk(const state *S, const row *rows, const int *trk, int ntrk,
                        const float *step, size_t j0, size_t j1, float *diff, double *part)
{
    size_t n = j1 - j0, stride = 2 * (size_t)S->eps + 1;
    for (int t = 0; t < ntrk; t++) {
        const row *r = &rows[trk[t]];
        const afl_lbfgs *lb = &S->cl[r->trk].lb;
        double *o = part + (size_t)t * stride;
        for (int j = 0; j < lb->m; j++) {
            o[j] = afl_dot(afl_lbfgs_s(lb, j) + j0, step + j0, n);
            o[S->eps + j] = afl_dot(afl_lbfgs_y(lb, j) + j0, step + j0, n);
        }
        diff_into(r->wa + j0, r->wk + j0, n, diff);
        o[2 * S->eps] = afl_dot(diff, step + j0, n);
    }
}

/* One thread's part in the aggregate: it takes chunks (of CHUNK_B blocks) from *next
 * until none is left. */
typedef struct {
    const state *S;
    const row *rows;
    int nr, ntrk;
    const med_plan *p; /* the median network, or NULL */
    float *step;
    scratch *sc;
    atomic_size_t *next; /* the first chunk not yet taken */
} agg_job;

/* step on the chunks the job takes <- median (mean) of the rows; the rows' values for one
 * chunk are laid out by block in sc->E (CHUNK_B, nr, MED_B), then each block is reduced;
 * the chunk's share of the carried dots goes to its slot of S->part. */
static void agg_chunks(const agg_job *J)
{
    const state *S = J->S;
    const row *rows = J->rows;
    const med_plan *p = J->p;
    int nr = J->nr;
    size_t d = S->d, stride = 2 * (size_t)S->eps + 1;
    float *E = J->sc->E, *line = J->sc->line, *col = J->sc->col, *step = J->step;
    for (;;) {
        size_t c = atomic_fetch_add_explicit(J->next, 1, memory_order_relaxed);
        if (c >= S->nch)
            break;
        size_t b0 = c * CHUNK_B, b1 = b0 + CHUNK_B < S->nb ? b0 + CHUNK_B : S->nb;
        size_t j0 = b0 * MED_B, j1 = b1 * MED_B < d ? b1 * MED_B : d;
        for (int r = 0; r < nr; r++) {
            row_range(&rows[r], j0, j1, line);
            for (size_t j = j1 - j0; j < (b1 - b0) * MED_B; j++)
                line[j] = 0;
            for (size_t b = b0; b < b1; b++)
                memcpy(E + ((b - b0) * (size_t)nr + (size_t)r) * MED_B, line + (b - b0) * MED_B,
                       MED_B * sizeof(float));
        }
        for (size_t b = b0; b < b1; b++) {
            float *x = E + (b - b0) * (size_t)nr * MED_B, out[MED_B];
            size_t jb = b * MED_B, m = jb + MED_B <= d ? MED_B : d - jb;
            if (p) {
                med_block(x, p, out);
            } else if (S->variant == VAR_III || nr <= 2) {
                for (int l = 0; l < MED_B; l++) { /* mean (also the median of 1 or 2) */
                    double acc = 0;
                    for (int r = 0; r < nr; r++)
                        acc += x[(size_t)r * MED_B + l];
                    out[l] = (float)(acc / nr);
                }
            } else {
                for (size_t l = 0; l < m; l++) {
                    for (int r = 0; r < nr; r++)
                        col[r] = x[(size_t)r * MED_B + l];
                    float hi = select_kth(col, nr, nr / 2), lo = hi;
                    if (!(nr & 1)) {
                        lo = col[0];
                        for (int r = 1; r < nr / 2; r++)
                            lo = col[r] > lo ? col[r] : lo;
                    }
                    out[l] = 0.5f * (lo + hi);
                }
            }
            memcpy(step + jb, out, m * sizeof(float));
        }
        if (J->ntrk > 0)
            track_chunk(S, rows, S->trk_rows, J->ntrk, step, j0, j1, line,
                        S->part + c * (size_t)S->n * stride);
    }
}

static void *agg_worker(void *arg)
{
    agg_chunks(arg);
    return NULL;
}

/* step (d) <- coordinate-wise median (variant III: mean) of the nr rows, chunk by
 * chunk, the chunks shared among S->threads threads (the calling one and T - 1 started
 * here; a thread that the system does not start or run soon leaves its chunks to the
 * others); then the tracked clients' dots are summed over the chunks in chunk order (the
 * same bits for any number of threads) and carried. */
static int aggregate(state *S, const row *rows, int nr, float *step)
{
    size_t d = S->d, stride = 2 * (size_t)S->eps + 1;
    med_plan *p = NULL;
    int use_net = S->variant != VAR_III && nr > 2 && nr <= MED_NET_MAX;
    if (use_net) {
        p = &S->plans[nr];
        if (!p->cmp && med_plan_build(p, nr) != 0)
            return -1;
    }
    int ntrk = 0;
    for (int r = 0; r < nr; r++)
        if (rows[r].trk >= 0 && S->trk_rows)
            S->trk_rows[ntrk++] = r;
    int T = S->threads;
    agg_job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    atomic_size_t next;
    atomic_init(&next, 0);
    for (int t = 0; t < T; t++)
        jobs[t] = (agg_job){S, rows, nr, ntrk, p, step, &S->scr[t], &next};
    int started = 0; /* threads 1..started run */
    while (started + 1 < T &&
           pthread_create(&tids[started + 1], NULL, agg_worker, &jobs[started + 1]) == 0)
        started++;
    agg_chunks(&jobs[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    /* the dots, summed in chunk order as one sequential pass would */
    for (int t = 0; t < ntrk; t++) {
        client *C = &S->cl[rows[S->trk_rows[t]].trk];
        memset(C->aS, 0, sizeof C->aS);
        memset(C->aY, 0, sizeof C->aY);
        C->aW = 0;
        for (size_t c = 0; c < S->nch; c++) {
            const double *o = S->part + (c * (size_t)S->n + (size_t)t) * stride;
            for (int j = 0; j < C->lb.m; j++) {
                C->aS[j] += o[j];
                C->aY[j] += o[S->eps + j];
            }
            C->aW += o[2 * S->eps];
        }
    }
    /* carry: v <- v - lr step for the model the engine is about to publish */
    double lr = (double)(float)S->lr, ss = afl_dot(step, step, d);
    for (int t = 0; t < ntrk; t++) {
        client *C = &S->cl[rows[S->trk_rows[t]].trk];
        for (int j = 0; j < C->lb.m; j++) {
            C->tS[j] -= lr * C->aS[j];
            C->tY[j] -= lr * C->aY[j];
        }
        C->tvv += lr * lr * ss - 2 * lr * C->aW;
        C->tver = S->applied + 1;
        C->tage++;
    }
    return 0;
}

/* ---- the server step ------------------------------------------------------------------- */

static double norm2(const float *v, size_t n)
{
    return sqrt(afl_dot(v, v, n));
}

static int finite_vec(const float *v, size_t n)
{
    float acc = 0;
    for (size_t j = 0; j < n; j++)
        acc += v[j] - v[j];
    return acc == 0;
}

/* |g - go|^2, |w - wo|^2 and (g - go)^T (w - wo) (all d long), the differences
 * formed in float one block at a time into tmp, the products summed as in
 * afl_dot (16 float lanes per 1024-element block, blocks in double). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
secant_sums(const float *g, const float *go, const float *w, const float *wo, size_t d,
            float *tmp, double *num, double *den, double *sy)
{
    enum { BLK = 1024 };
    float *dg = tmp, *dv = tmp + BLK;
    double a = 0, b = 0, c = 0;
    for (size_t j0 = 0; j0 < d; j0 += BLK) {
        size_t n = j0 + BLK <= d ? BLK : d - j0;
        for (size_t j = 0; j < n; j++) {
            dg[j] = g[j0 + j] - go[j0 + j];
            dv[j] = w[j0 + j] - wo[j0 + j];
        }
        a += afl_dot(dg, dg, n);
        b += afl_dot(dv, dv, n);
        c += afl_dot(dg, dv, n);
    }
    *num = a;
    *den = b;
    *sy = c;
}

/* Allocates client C's L-BFGS buffer (pairs = client) on its first pair. */
static int client_lb_init(const state *S, client *C)
{
    if (afl_lbfgs_init(&C->lb, S->eps, S->d) != 0)
        return -1;
    C->lb.curv_c = S->curv_c;
    C->lb.mu_max = S->mu_cap > 0 ? S->mu_cap / S->lr : 0;
    C->lb.tril_inclusive = S->tril_inclusive;
    C->lb_ready = 1;
    return 0;
}

/* Stores g (trained on w_base, version v) as client k's last update, and
 * (pairs = client) offers the pair formed with the previous one. */
static int store_update(state *S, int k, const float *g, const float *w_base, int64_t v)
{
    client *C = &S->cl[k];
    size_t d = S->d;
    if (!C->g) {
        C->g = malloc(d * sizeof(float));
        C->w = malloc(d * sizeof(float));
        if (!C->g || !C->w)
            return -1;
    }
    if (S->pairs == PAIRS_POOLED && C->has) {
        if (S->pool > 1) { /* sum `pool` secant pairs into one */
            for (size_t j = 0; j < d; j++) {
                S->acc_s[j] += w_base[j] - C->w[j];
                S->acc_y[j] += g[j] - C->g[j];
            }
            if (++S->pooled_n == S->pool) {
                afl_lbfgs_push(&S->glb, S->acc_s, S->acc_y);
                memset(S->acc_s, 0, d * sizeof(float));
                memset(S->acc_y, 0, d * sizeof(float));
                S->pooled_n = 0;
            }
        } else {
            for (size_t j = 0; j < d; j++) {
                S->dw[j] = w_base[j] - C->w[j];
                S->tmp[j] = g[j] - C->g[j];
            }
            afl_lbfgs_push(&S->glb, S->dw, S->tmp);
        }
    }
    if (S->pairs == PAIRS_CLIENT && C->has) {
        if (!C->lb_ready && client_lb_init(S, C) != 0)
            return -1;
        /* s = w_base - w^old into dw, y = g - g^old into tmp */
        for (size_t j = 0; j < d; j++) {
            S->dw[j] = w_base[j] - C->w[j];
            S->tmp[j] = g[j] - C->g[j];
        }
        afl_lbfgs_push(&C->lb, S->dw, S->tmp);
    }
    memcpy(C->g, g, d * sizeof(float));
    memcpy(C->w, w_base, d * sizeof(float));
    C->gnorm = sqrt(afl_dot(g, g, d));
    C->tver = -1; /* w^v and the pairs changed: carried dots are void */
    C->version = v;
    C->has = 1;
    return 0;
}

static int clip_applies(const state *S, int first_of_run, int first_of_client)
{
    if (S->clip == CLIP_NONE)
        return 0;
    if (S->clip == CLIP_T0)
        return first_of_run;
    return first_of_run || first_of_client;
}

static int on_update(void *vs, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    state *S = vs;
    size_t d = S->d;
    int i = u->client;
    client *Ci = &S->cl[i];
    dec->score = NAN;
    dec->aux = NAN;
    dec->apply = 0;
    dec->weight = 0;
    dec->verdict = AFL_VERDICT_REJECTED;
    if (i < 0 || i >= S->n)
        return afl_err_set(err, AFL_EINTERNAL, "SecureAFL: client %d out of range", i);
    if (u->version != S->expect_version)
        S->epoch++; /* the model is not the one the carried dots were moved to */

    /* hostile vectors: never into Q, the buffers or the median */
    double gn = finite_vec(u->g, d) ? norm2(u->g, d) : NAN;
    int hostile = !(gn > 0) || !(gn <= S->max_norm);
    int first_of_run = S->applied == 0;
    int first_of_client = !Ci->has;
    int accept = 0;

    if (!hostile && first_of_run) {
        accept = 1; /* Algorithm 3 lines 5-7 */
    } else if (!hostile && first_of_client) {
        accept = !S->first_reject;
    } else if (!hostile) {
        /* Eq. 2: lambda against the client's previous update */
        double num, den, sy;
        secant_sums(u->g, Ci->g, u->w_base, Ci->w, d, S->dw, &num, &den, &sy);
        double lambda = den > 0 ? sqrt(num) / sqrt(den) : INFINITY;
        dec->score = lambda;
        if (isfinite(lambda)) {
            if (q_insert(S, lambda) != 0)
                return afl_err_set(err, AFL_ENOMEM, "out of memory (SecureAFL's Q)");
            double thr = afl_secureafl_percentile(S->q, S->nq, S->alpha, S->pct);
            accept = lambda <= thr;
        }
        if (S->variant == VAR_I)
            accept = 1;
        /* aux: how well the previous update predicted this one, at its base model */
        if (S->aux == AUX_PAIR_COS) {
            dec->aux = num > 0 && den > 0 ? sy / (sqrt(num) * sqrt(den)) : NAN;
        } else if (S->aux == AUX_PAIR_MU) {
            dec->aux = den > 0 ? sy / den : NAN;
        } else if (S->aux == AUX_MU) {
            const afl_lbfgs *lb = S->pairs == PAIRS_CLIENT ? (Ci->lb_ready ? &Ci->lb : NULL)
                                  : S->pairs == PAIRS_NONE   ? NULL
                                                             : &S->glb;
            dec->aux = lb && lb->m > 0 ? lb->mu_raw : NAN;
        } else {
            row r;
            make_estimate(S, i, u->w_base, 0, &r);
            if (S->aux == AUX_STALE)
                r.lb = NULL;
            double e2 = 0;
            float *buf = S->tmp;
            for (size_t j0 = 0; j0 < d; j0 += CHUNK_B * MED_B) {
                size_t j1 = j0 + CHUNK_B * MED_B < d ? j0 + CHUNK_B * MED_B : d;
                row_range(&r, j0, j1, buf);
                for (size_t j = j0; j < j1; j++) {
                    double e = (double)buf[j - j0] - u->g[j];
                    e2 += e * e;
                }
            }
            dec->aux = sqrt(e2) / gn;
        }
    }

    float scale = 1;
    if (accept && clip_applies(S, first_of_run, first_of_client) && gn > S->G)
        scale = (float)(S->G / gn);

    if (!hostile && (accept || !S->store_accepted))
        if (store_update(S, i, u->g, u->w_base, u->base_version) != 0)
            return afl_err_set(err, AFL_ENOMEM, "out of memory (SecureAFL's client buffers)");

    dec->verdict = accept ? AFL_VERDICT_ACCEPTED : AFL_VERDICT_REJECTED;
    dec->weight = accept ? 1 : 0;

    if (first_of_run || S->variant == VAR_II) {
        /* t = 0 (Algorithm 3 line 7), or no estimation: the update alone */
        if (!accept)
            return AFL_OK;
        for (size_t j = 0; j < d; j++)
            step[j] = scale * u->g[j];
    } else {
        /* Eqs. 5 / 6: median over the accepted arrival and the estimates */
        int nr = 0;
        if (accept)
            S->rows[nr++] = (row){.kind = ROW_VEC, .v = u->g, .scale = scale, .trk = -1};
        for (int k = 0; k < S->n; k++) {
            if (k == i)
                continue;
            if (S->cl[k].has) {
                make_estimate(S, k, u->w_cur, 1, &S->rows[nr]);
                nr += !(S->drop_bad && S->rows[nr].bad);
            }
            else if (S->absent_zero)
                S->rows[nr++] = (row){.kind = ROW_ZERO, .trk = -1};
        }
        if (nr == 0)
            return AFL_OK;
        if (aggregate(S, S->rows, nr, step) != 0)
            return afl_err_set(err, AFL_ENOMEM, "out of memory (SecureAFL's median)");
    }
    dec->apply = 1;
    S->expect_version = u->version + 1;

    if (S->pairs == PAIRS_GLOBAL) {
        /* FLDetector-style pair: s = w^t - w^{t-1}, y = step^t - step^{t-1} */
        afl_lbfgs_push_global(&S->glb, u->w_cur, step, S->prev_w, S->prev_step, &S->have_prev,
                              S->dw, S->tmp);
    }
    S->applied++;
    return AFL_OK;
}

/* Would on_update accept u now (the filter only; no state changes)? */
static int probe(void *vs, const afl_update *u, double *score)
{
    state *S = vs;
    size_t d = S->d;
    *score = NAN;
    if (u->client < 0 || u->client >= S->n)
        return 0;
    const client *Ci = &S->cl[u->client];
    double gn = finite_vec(u->g, d) ? norm2(u->g, d) : NAN;
    if (!(gn > 0) || !(gn <= S->max_norm))
        return 0;
    if (S->applied == 0)
        return 1;
    if (!Ci->has)
        return !S->first_reject;
    double num, den, sy;
    secant_sums(u->g, Ci->g, u->w_base, Ci->w, d, S->dw, &num, &den, &sy); /* dw: scratch */
    double lambda = den > 0 ? sqrt(num) / sqrt(den) : INFINITY;
    *score = lambda;
    if (S->variant == VAR_I)
        return 1;
    if (!isfinite(lambda))
        return 0;
    if (S->q_window > 0 && S->nq == (size_t)S->q_window) {
        /* Q as on_update would see it: the oldest factor dropped first */
        double *tmp = malloc(S->nq * sizeof *tmp), old = S->fifo[S->fifo_head];
        if (!tmp)
            return 0;
        size_t m = 0, dropped = 0;
        for (size_t j = 0; j < S->nq; j++) {
            if (!dropped && S->q[j] >= old) {
                dropped = 1;
                continue;
            }
            tmp[m++] = S->q[j];
        }
        int ok = lambda <= percentile_with(tmp, m, lambda, S->alpha, S->pct);
        free(tmp);
        return ok;
    }
    return lambda <= percentile_with(S->q, S->nq, lambda, S->alpha, S->pct);
}

static void destroy(void *vs)
{
    state_free(vs);
}

/* The counters (model updates, expected version, carry epoch), Q (sorted, and its fifo
 * when windowed), the shared L-BFGS pairs and their inputs (pooled sums, previous model
 * and step), and per client its stored update, base model and norm, its L-BFGS pairs and
 * the carried dots of pairs = client.  The median plans are a cache (rebuilt on use). */
static int secureafl_ckpt(void *vs, afl_ckpt *ck)
{
    state *S = vs;
    size_t d = S->d;
    int loading = afl_ckpt_loading(ck);
    afl_ckpt_i64(ck, "secureafl.applied", &S->applied);
    afl_ckpt_i64(ck, "secureafl.expect_version", &S->expect_version);
    afl_ckpt_i64(ck, "secureafl.epoch", &S->epoch);
    /* Q */
    size_t nq = S->nq, head = S->fifo_head;
    afl_ckpt_size(ck, "secureafl.q_len", &nq);
    afl_ckpt_size(ck, "secureafl.q_fifo_head", &head);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (S->q_window > 0 ? nq > (size_t)S->q_window || head >= (size_t)S->q_window : head != 0)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "secureafl: Q holds %zu factors (fifo slot %zu), which does not fit "
                             "defense.q_window = %lld",
                             nq, head, (long long)S->q_window);
    if (loading && nq > S->qcap) {
        size_t cap = S->qcap; /* as q_insert grows it */
        while (cap < nq)
            cap *= 2;
        double *q = realloc(S->q, cap * sizeof(double));
        if (!q)
            return afl_ckpt_fail(ck, AFL_ENOMEM, "secureafl: out of memory (Q)");
        S->q = q;
        S->qcap = cap;
    }
    S->nq = nq;
    S->fifo_head = head;
    afl_ckpt_doubles(ck, "secureafl.q", S->q, S->nq);
    if (S->q_window > 0) /* filled from slot 0: the first nq slots hold factors */
        afl_ckpt_doubles(ck, "secureafl.q_fifo", S->fifo, S->nq);
    /* shared pairs */
    if (S->pairs == PAIRS_POOLED && S->pool > 1) {
        afl_ckpt_int(ck, "secureafl.pooled_n", &S->pooled_n);
        if (afl_ckpt_status(ck))
            return afl_ckpt_status(ck);
        if (S->pooled_n < 0 || S->pooled_n >= S->pool)
            return afl_ckpt_fail(ck, AFL_EINPUT,
                                 "secureafl: %d secant pairs summed, defense.pool = %d",
                                 S->pooled_n, S->pool);
        afl_ckpt_floats(ck, "secureafl.pooled_s", S->acc_s, d);
        afl_ckpt_floats(ck, "secureafl.pooled_y", S->acc_y, d);
    }
    if (S->pairs == PAIRS_GLOBAL || S->pairs == PAIRS_POOLED)
        afl_lbfgs_ckpt(&S->glb, ck, "secureafl.lbfgs");
    if (S->pairs == PAIRS_GLOBAL) {
        afl_ckpt_int(ck, "secureafl.have_prev", &S->have_prev);
        if (S->have_prev) {
            afl_ckpt_floats(ck, "secureafl.prev_w", S->prev_w, d);
            afl_ckpt_floats(ck, "secureafl.prev_step", S->prev_step, d);
        }
    }
    /* clients */
    for (int k = 0; k < S->n && !afl_ckpt_status(ck); k++) {
        client *C = &S->cl[k];
        afl_ckpt_int(ck, "secureafl.client.has", &C->has);
        if (afl_ckpt_status(ck))
            break;
        if (C->has) {
            if (loading && ((!C->g && !(C->g = malloc(d * sizeof(float)))) ||
                            (!C->w && !(C->w = malloc(d * sizeof(float))))))
                return afl_ckpt_fail(ck, AFL_ENOMEM, "secureafl: out of memory (client buffers)");
            afl_ckpt_i64(ck, "secureafl.client.version", &C->version);
            afl_ckpt_f64(ck, "secureafl.client.gnorm", &C->gnorm);
            afl_ckpt_floats(ck, "secureafl.client.g", C->g, d);
            afl_ckpt_floats(ck, "secureafl.client.w", C->w, d);
        }
        if (S->pairs != PAIRS_CLIENT)
            continue;
        int ready = C->lb_ready;
        if (afl_ckpt_int(ck, "secureafl.client.lbfgs_ready", &ready))
            break;
        if (loading && ready && !C->lb_ready && client_lb_init(S, C) != 0)
            return afl_ckpt_fail(ck, AFL_ENOMEM, "secureafl: out of memory (client pairs)");
        if (loading && !ready && C->lb_ready) {
            afl_lbfgs_free(&C->lb);
            C->lb_ready = 0;
        }
        if (C->lb_ready)
            afl_lbfgs_ckpt(&C->lb, ck, "secureafl.client.lbfgs");
        /* the dots carried from round to round (tver says whether they are valid) */
        afl_ckpt_doubles(ck, "secureafl.client.tS", C->tS, 32);
        afl_ckpt_doubles(ck, "secureafl.client.tY", C->tY, 32);
        afl_ckpt_f64(ck, "secureafl.client.tvv", &C->tvv);
        afl_ckpt_i64(ck, "secureafl.client.tver", &C->tver);
        afl_ckpt_i64(ck, "secureafl.client.tepoch", &C->tepoch);
        afl_ckpt_int(ck, "secureafl.client.tage", &C->tage);
    }
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_secureafl = {
    {"secureafl",
     "SecureAFL: Lipschitz-factor percentile filter, L-BFGS estimates of the other clients' "
     "updates, coordinate-wise median",
     "Gao et al., SecureAFL, ASIA CCS 2026 (arXiv:2604.03862), section 4, Algorithms 2-3", params},
    0,
    "relative estimation error |ghat_i - g_i| / |g_i| of the arriving client (defense.aux)",
    create,
    on_update,
    destroy,
    probe,
    secureafl_ckpt,
};
