/* defenses/fldetector.c - FLDetector adapted to asynchronous FL: L-BFGS
 * predicted updates, suspicious scores, gap statistic + k-means, removal.
 *
 * Sources: Z. Zhang, X. Cao, J. Jia, N. Z. Gong, "FLDetector: Defending
 * Federated Learning Against Model Poisoning Attacks via Detecting Malicious
 * Clients", KDD 2022; official code zaixizhang/FLDetector @ 7e6a414
 * (train_mnist.py: lbfgs(), detection(), detection1()); specs/algorithms.md
 * section 4.12 including its "Async adaptation" [derived]; R. Tibshirani,
 * G. Walther, T. Hastie, "Estimating the number of clusters in a data set via
 * the gap statistic", JRSS-B 63 (2001).
 *
 * Per arrival of g from client i at version t (after `warmup` model updates):
 *   ghat_i = g_i^prev + H (w^t - w^{v_i})   H: compact L-BFGS on global pairs
 *            s = w^t - w^{t-1}, y = step^t - step^{t-1} (window N), lbfgs.c
 *   d_i = |ghat_i - g| / mean of the last n distances (any client)   ("normalised")
 *   score_i = mean of client i's last N normalised distances
 * Every `detect_every` arrivals: the gap statistic on the min-max normalised
 * scores of the active clients (k = 1..k_max, B uniform reference sets) picks
 * k; if k > 1, 2-means splits the scores and the upper cluster is removed
 * (its later updates are rejected).
 *
 * The aggregation underneath (`aggregate`; FLDetector runs on top of mean, trim, median
 * or Krum, specs/algorithms.md 4.12):
 *   asyncsgd (default)  an accepted update is applied as is;
 *   buffered            an accepted update is held (verdict held, weight NAN); the K-th
 *                       held one applies one step rule(the K held updates), exactly as
 *                       defenses/buffered.c (defenses/rules.h; centered clipping's centre
 *                       is the previous step).  When a detection removes clients, their
 *                       held updates are dropped from the buffer at once (the later
 *                       arrivals refill it), so none of them reaches a step.
 * Everything model-related is per model update, so with a buffer it is per flush: the
 * aggregate pair is s = w^k - w^{k-1} (one flush, = -lr step^{k-1}), y = step^k -
 * step^{k-1} (two consecutive rule outputs); w^t - w^{v_i} sums the flushes since the
 * client's base; `warmup` counts flushes (K accepted arrivals each).  Scores, distances
 * and `detect_every` stay per arrival (held ones included).
 *
 * k-means on one-dimensional data is solved exactly by dynamic programming
 * over the sorted values (Wang & Song, "Ckmeans.1d.dp", R Journal 2011), so the
 * only randomness is the gap statistic's reference sets, drawn from the
 * defense's stream.  FLDetector's code uses sklearn's KMeans (k-means++ with
 * restarts), which reaches the same optimum on such small 1-D sets.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/lbfgs.h"
#include "defenses/rules.h"

static const afl_param params[] = {
    {"window", AFL_P_INT, "10", 1, 64, NULL,
     "N: L-BFGS pairs kept and arrivals per client in its suspicious score (FLDetector: 10)"},
    {"warmup", AFL_P_INT, "50", 0, 1e12, NULL,
     "model updates before predictions and scores start (FLDetector: 50 on MNIST); with "
     "aggregate = buffered, flushes"},
    {"gap_refs", AFL_P_INT, "10", 1, 1000, NULL, "B: uniform reference sets of the gap statistic"},
    {"k_max", AFL_P_INT, "7", 2, 50, NULL, "largest k tried by the gap statistic (FLDetector: 7)"},
    {"detect_every", AFL_P_INT, "0", 0, 1e12, NULL,
     "run the detection every this many arrivals after the warm-up (0 = the number of clients)"},
    {"min_arrivals", AFL_P_INT, "5", 1, 64, NULL,
     "a client takes part in the detection once it has this many scored arrivals"},
    {"predict_at", AFL_P_ENUM, "current", 0, 0, "current|base",
     "prediction point: current = ghat at w^t (specs/algorithms.md 4.12); base = at the model "
     "the client trained on"},
    {"normalize", AFL_P_ENUM, "window", 0, 0, "window|none",
     "distance normalisation: divide by the mean of the last n distances (the async analogue "
     "of FLDetector's d / |d|_1 over the round's clients), or none"},
    {"remove", AFL_P_BOOL, "true", 0, 0, NULL,
     "reject every later update of a detected client (false: detect and log only)"},
    {"detect_until", AFL_P_ENUM, "first", 0, 0, "first|always",
     "first = stop detecting after the first detection, as FLDetector's code does (it stops "
     "there); always = keep detecting among the remaining clients"},
    {"mu_cap", AFL_P_REAL, "0", 0, 1e30, NULL,
     "cap the L-BFGS scale mu <= mu_cap / lr (0 = no cap, as in FLDetector's code)"},
    {"pairs", AFL_P_ENUM, "aggregate", 0, 0, "aggregate|pooled",
     "L-BFGS pairs: aggregate = FLDetector's s = w^t - w^{t-1}, y = step^t - step^{t-1} (the "
     "applied updates); pooled = each arrival's secant pair with its client's previous update, "
     "s = w_base - w^prev_i, y = g - g^prev_i, the last `window` arrivals shared"},
    {"curv_c", AFL_P_REAL, "-2", -2, 1, NULL,
     "curvature test on the global pairs: use a pair only if s'y > curv_c |s| |y| (-2 = none, "
     "as in FLDetector's code)"},
    {"aggregate", AFL_P_ENUM, "asyncsgd", 0, 0, "asyncsgd|buffered",
     "aggregation underneath the detector: asyncsgd = apply each accepted update alone; "
     "buffered = hold accepted updates and, on the K-th, apply rule(the K buffered updates), as "
     "defense buffered does (FLDetector runs on top of mean, trim, median or Krum)"},
    AFL_RULE_BUFFER_PARAMS("aggregate = buffered"),
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

/* ---- exact 1-D k-means and the gap statistic -------------------------------------------- */

/* W[k-1] (k = 1..kmax) = the smallest within-cluster sum of squares of the
 * sorted values x[0..m) in k clusters; split (may be NULL, kmax*m ints)
 * receives the DP's argmins: cluster k's first index for a prefix ending at j
 * is split[(k-1)*m + j].  Returns 0, -1 when out of memory. */
static int kmeans1d(const double *x, int m, int kmax, double *W, int *split)
{
    double *ps = malloc((size_t)(m + 1) * sizeof *ps), *ps2 = malloc((size_t)(m + 1) * sizeof *ps2);
    double *D = malloc((size_t)kmax * (size_t)m * sizeof *D);
    if (!ps || !ps2 || !D) {
        free(ps), free(ps2), free(D);
        return -1;
    }
    ps[0] = ps2[0] = 0;
    for (int j = 0; j < m; j++) {
        ps[j + 1] = ps[j] + x[j];
        ps2[j + 1] = ps2[j] + x[j] * x[j];
    }
#define SSE(i, j) /* x[i..j] inclusive */                                                          \
    (ps2[(j) + 1] - ps2[i] -                                                                       \
     (ps[(j) + 1] - ps[i]) * (ps[(j) + 1] - ps[i]) / (double)((j) - (i) + 1))
    for (int j = 0; j < m; j++) {
        double c = SSE(0, j);
        D[j] = c > 0 ? c : 0;
        if (split)
            split[j] = 0;
    }
    for (int k = 2; k <= kmax; k++)
        for (int j = 0; j < m; j++) {
            double best = INFINITY;
            int arg = j;
            /* the last cluster is x[i..j], i >= k-1 */
            for (int i = j; i >= k - 1; i--) {
                double c = SSE(i, j);
                double v = D[(size_t)(k - 2) * m + (i - 1)] + (c > 0 ? c : 0);
                if (v < best) {
                    best = v;
                    arg = i;
                }
            }
            if (j < k - 1)
                best = 0, arg = j; /* fewer points than clusters */
            D[(size_t)(k - 1) * m + j] = best;
            if (split)
                split[(size_t)(k - 1) * m + j] = arg;
        }
#undef SSE
    for (int k = 1; k <= kmax; k++)
        W[k - 1] = D[(size_t)(k - 1) * m + (m - 1)];
    free(ps), free(ps2), free(D);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The gap statistic's choice of k for the n values x (FLDetector's detection1):
 * scores min-max normalised; Gap(k) = log(mean_b W_kb^ref) - log W_k;
 * sd_k = sqrt(1 + 1/B) std_b(log W_kb^ref); the smallest k with
 * Gap(k) - Gap(k+1) + sd_{k+1} >= 0, or kmax if none.  Returns 1 when all
 * values are equal (nothing to separate), -1 when out of memory. */
int afl_fldetector_gap_k(const double *x, int n, int kmax, int nrefs, afl_rng *rng)
{
    if (n < 2)
        return 1;
    if (kmax > n)
        kmax = n;
    double lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if (!(hi - lo > 0))
        return 1;
    double *v = malloc((size_t)n * sizeof *v), *W = malloc((size_t)kmax * sizeof *W);
    double *Wr = malloc((size_t)kmax * sizeof *Wr),
           *logref = malloc((size_t)kmax * (size_t)nrefs * sizeof *logref);
    double *gap = malloc((size_t)kmax * sizeof *gap), *sd = malloc((size_t)kmax * sizeof *sd);
    int rc = -1;
    if (!v || !W || !Wr || !logref || !gap || !sd)
        goto out;
    for (int i = 0; i < n; i++)
        v[i] = (x[i] - lo) / (hi - lo);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    if (kmeans1d(v, n, kmax, W, NULL) != 0)
        goto out;
    double *refsum = gap; /* reuse: mean of W^ref per k */
    for (int k = 0; k < kmax; k++)
        refsum[k] = 0;
    for (int b = 0; b < nrefs; b++) {
        for (int i = 0; i < n; i++)
            v[i] = afl_rng_uniform(rng);
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        if (kmeans1d(v, n, kmax, Wr, NULL) != 0)
            goto out;
        for (int k = 0; k < kmax; k++) {
            refsum[k] += Wr[k];
            logref[(size_t)k * nrefs + b] = log(Wr[k] > 1e-300 ? Wr[k] : 1e-300);
        }
    }
    for (int k = 0; k < kmax; k++) {
        double mean_log = 0;
        for (int b = 0; b < nrefs; b++)
            mean_log += logref[(size_t)k * nrefs + b];
        mean_log /= nrefs;
        double var = 0;
        for (int b = 0; b < nrefs; b++) {
            double e = logref[(size_t)k * nrefs + b] - mean_log;
            var += e * e;
        }
        sd[k] = sqrt(1.0 + 1.0 / nrefs) * sqrt(var / nrefs);
        double wr = refsum[k] / nrefs;
        gap[k] = log(wr > 1e-300 ? wr : 1e-300) - log(W[k] > 1e-300 ? W[k] : 1e-300);
    }
    rc = kmax;
    for (int k = 0; k + 1 < kmax; k++)
        if (gap[k] - gap[k + 1] + sd[k + 1] >= 0) {
            rc = k + 1;
            break;
        }
out:
    free(v), free(W), free(Wr), free(logref), free(gap), free(sd);
    return rc;
}

/* ---- state ------------------------------------------------------------------------------ */

typedef struct {
    int has, removed;
    float *g, *w; /* (d) last update and its base model */
    double *dist; /* (N) ring of normalised distances */
    int nd, head; /* distances held, ring head */
} client;

typedef struct {
    size_t d;
    int n, N, nrefs, kmax, min_arrivals, at_base, norm_window, remove, once, detected, pooled;
    int64_t warmup, detect_every;
    afl_rng *rng;
    client *cl;
    afl_lbfgs lb;
    float *prev_w, *prev_step, *dw, *pred;
    int have_prev;
    double *recent; /* (n) ring of the last n raw distances */
    int nrecent, recent_head;
    int64_t applied, scored; /* model updates (flushes when buffered), scored arrivals */
    double *scores;
    int *who;
    /* aggregate = buffered */
    int buffered, K, count; /* count: updates held, 0..K-1 between arrivals */
    afl_rule_kind rule;
    afl_rule_params rp;
    float *buf;         /* (K, d) held updates, in arrival order */
    int *buf_client;    /* (K) the client each held update came from */
    const float **rows; /* (K) rows[j] = buf + j d */
    float *center;      /* (d) centered clipping's centre (the previous step); else NULL */
    afl_rules_ws *ws;
} state;

static void state_free(state *S)
{
    if (!S)
        return;
    if (S->cl)
        for (int k = 0; k < S->n; k++) {
            free(S->cl[k].g);
            free(S->cl[k].w);
            free(S->cl[k].dist);
        }
    free(S->cl);
    afl_lbfgs_free(&S->lb);
    free(S->prev_w);
    free(S->prev_step);
    free(S->dw);
    free(S->pred);
    free(S->recent);
    free(S->scores);
    free(S->who);
    free(S->buf);
    free(S->buf_client);
    free(S->rows);
    free(S->center);
    afl_rules_ws_free(S->ws);
    free(S);
}

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    const afl_config *cfg = ctx->cfg;
    state *S = calloc(1, sizeof *S);
    if (!S)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    S->d = ctx->d;
    S->n = ctx->n_clients;
    S->rng = ctx->rng;
    S->N = (int)afl_cfg_int(cfg, "defense", "window");
    S->warmup = afl_cfg_int(cfg, "defense", "warmup");
    S->nrefs = (int)afl_cfg_int(cfg, "defense", "gap_refs");
    S->kmax = (int)afl_cfg_int(cfg, "defense", "k_max");
    S->detect_every = afl_cfg_int(cfg, "defense", "detect_every");
    if (S->detect_every == 0)
        S->detect_every = S->n;
    S->min_arrivals = (int)afl_cfg_int(cfg, "defense", "min_arrivals");
    if (S->min_arrivals > S->N)
        S->min_arrivals = S->N;
    S->at_base = strcmp(afl_cfg_str(cfg, "defense", "predict_at"), "base") == 0;
    S->norm_window = strcmp(afl_cfg_str(cfg, "defense", "normalize"), "window") == 0;
    S->remove = afl_cfg_bool(cfg, "defense", "remove");
    S->pooled = strcmp(afl_cfg_str(cfg, "defense", "pairs"), "pooled") == 0;
    S->once = strcmp(afl_cfg_str(cfg, "defense", "detect_until"), "first") == 0;
    double mu_cap = afl_cfg_real(cfg, "defense", "mu_cap");
    size_t d = S->d;
    S->cl = calloc((size_t)S->n, sizeof *S->cl);
    S->prev_w = malloc(d * sizeof(float));
    S->prev_step = malloc(d * sizeof(float));
    S->dw = malloc(d * sizeof(float));
    S->pred = malloc(d * sizeof(float));
    S->recent = calloc((size_t)S->n, sizeof(double));
    S->scores = malloc((size_t)S->n * sizeof(double));
    S->who = malloc((size_t)S->n * sizeof(int));
    if (!S->cl || !S->prev_w || !S->prev_step || !S->dw || !S->pred || !S->recent || !S->scores ||
        !S->who || afl_lbfgs_init(&S->lb, S->N, d) != 0) {
        state_free(S);
        return afl_err_set(err, AFL_ENOMEM, "out of memory for FLDetector's state");
    }
    S->lb.curv_c = afl_cfg_real(cfg, "defense", "curv_c");
    S->lb.mu_max = mu_cap > 0 ? mu_cap / ctx->lr : 0;
    S->buffered = strcmp(afl_cfg_str(cfg, "defense", "aggregate"), "buffered") == 0;
    if (S->buffered) {
        int rc = afl_rule_from_cfg(cfg, &S->K, &S->rule, &S->rp, err);
        if (rc) {
            state_free(S);
            return rc;
        }
        S->buf = malloc((size_t)S->K * d * sizeof *S->buf);
        S->buf_client = malloc((size_t)S->K * sizeof *S->buf_client);
        S->rows = malloc((size_t)S->K * sizeof *S->rows);
        if (S->rule == AFL_RULE_CENTERED_CLIPPING)
            S->center = calloc(d, sizeof *S->center);
        S->ws = afl_rules_ws_create(S->K);
        if (!S->buf || !S->buf_client || !S->rows || !S->ws ||
            (S->rule == AFL_RULE_CENTERED_CLIPPING && !S->center)) {
            int K = S->K;
            state_free(S);
            return afl_err_set(err, AFL_ENOMEM,
                               "out of memory for FLDetector's buffer of %d updates", K);
        }
        for (int j = 0; j < S->K; j++)
            S->rows[j] = S->buf + (size_t)j * d;
        S->rp.cc_v = S->center;
        rc = afl_rule_check(S->rule, &S->rp, S->K, "defense.", err);
        if (rc) {
            afl_err_prefix(err, "defense fldetector, aggregate = buffered (buffer = %d)", S->K);
            state_free(S);
            return rc;
        }
    }
    *out = S;
    return AFL_OK;
}

static double client_score(const client *C)
{
    double s = 0;
    for (int j = 0; j < C->nd; j++)
        s += C->dist[j];
    return C->nd ? s / C->nd : NAN;
}

/* Gap statistic over the active clients' scores; removes the upper 2-means cluster. */
static int detect(state *S)
{
    int m = 0, active = 0;
    for (int k = 0; k < S->n; k++) {
        const client *C = &S->cl[k];
        active += !C->removed;
        if (!C->removed && C->nd >= S->min_arrivals) {
            S->scores[m] = client_score(C);
            S->who[m] = k;
            m++;
        }
    }
    /* as in the synchronous original, the scores of (most of) the population are
     * compared: at least half of the active clients must qualify */
    if (m < 4 || 2 * m < active)
        return 0;
    int k = afl_fldetector_gap_k(S->scores, m, S->kmax < m - 1 ? S->kmax : m - 1, S->nrefs, S->rng);
    if (k < 0)
        return -1;
    if (k == 1)
        return 0;
    S->detected = 1;
    if (!S->remove)
        return 0;
    /* 2-means on the sorted scores: the split point of the exact 1-D solution */
    double *v = malloc((size_t)m * sizeof *v);
    int *split = malloc((size_t)2 * (size_t)m * sizeof *split);
    double W[2];
    if (!v || !split) {
        free(v), free(split);
        return -1;
    }
    memcpy(v, S->scores, (size_t)m * sizeof *v);
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    if (kmeans1d(v, m, 2, W, split) != 0) {
        free(v), free(split);
        return -1;
    }
    double thr = v[split[(size_t)m + (m - 1)]]; /* first value of the upper cluster */
    for (int j = 0; j < m; j++)
        if (S->scores[j] >= thr)
            S->cl[S->who[j]].removed = 1;
    free(v), free(split);
    return 0;
}

/* aggregate = buffered: drops the held updates of removed clients (they must not reach the
 * next step), keeping the others in arrival order. */
static void purge_buffer(state *S)
{
    int k = 0;
    for (int j = 0; j < S->count; j++) {
        if (S->cl[S->buf_client[j]].removed)
            continue;
        if (k != j) {
            memcpy(S->buf + (size_t)k * S->d, S->buf + (size_t)j * S->d, S->d * sizeof(float));
            S->buf_client[k] = S->buf_client[j];
        }
        k++;
    }
    S->count = k;
}

static int finite_vec(const float *v, size_t n)
{
    float acc = 0;
    for (size_t j = 0; j < n; j++)
        acc += v[j] - v[j];
    return acc == 0;
}

static int on_update(void *vs, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    state *S = vs;
    size_t d = S->d;
    int i = u->client;
    if (i < 0 || i >= S->n)
        return afl_err_set(err, AFL_EINTERNAL, "FLDetector: client %d out of range", i);
    client *C = &S->cl[i];
    dec->score = NAN;
    dec->aux = NAN;
    dec->apply = 0;
    dec->weight = 0;
    dec->verdict = AFL_VERDICT_REJECTED;
    if (!finite_vec(u->g, d))
        return AFL_OK; /* hostile: neither stored nor applied */
    double gg = afl_dot(u->g, u->g, d);
    if (!isfinite(gg))
        return AFL_OK;

    /* predicted update and normalised distance (after the warm-up, once H exists) */
    if (C->has && S->applied >= S->warmup && S->lb.ok) {
        const float *w_at = S->at_base ? u->w_base : u->w_cur;
        for (size_t j = 0; j < d; j++)
            S->dw[j] = w_at[j] - C->w[j];
        afl_lbfgs_hvp(&S->lb, S->dw, S->pred);
        double e2 = 0;
        for (size_t j = 0; j < d; j++) {
            double e = (double)C->g[j] + S->pred[j] - u->g[j];
            e2 += e * e;
        }
        double dist = sqrt(e2);
        if (isfinite(dist)) {
            S->recent[S->recent_head] = dist;
            S->recent_head = (S->recent_head + 1) % S->n;
            if (S->nrecent < S->n)
                S->nrecent++;
            double mean = 0;
            for (int j = 0; j < S->nrecent; j++)
                mean += S->recent[j];
            mean /= S->nrecent;
            double nd = S->norm_window ? (mean > 0 ? dist / mean : 0) : dist;
            if (!C->dist && !(C->dist = calloc((size_t)S->N, sizeof(double))))
                return afl_err_set(err, AFL_ENOMEM, "out of memory");
            C->dist[C->head] = nd;
            C->head = (C->head + 1) % S->N;
            if (C->nd < S->N)
                C->nd++;
            dec->aux = nd;
            S->scored++;
            if (S->scored % S->detect_every == 0 && !(S->once && S->detected)) {
                if (detect(S) != 0)
                    return afl_err_set(err, AFL_ENOMEM, "out of memory (FLDetector detection)");
                if (S->buffered)
                    purge_buffer(S);
            }
        }
    }
    dec->score = client_score(C);

    /* pooled pairs: this arrival's secant pair with the client's previous update */
    if (S->pooled && C->has) {
        for (size_t j = 0; j < d; j++) {
            S->dw[j] = u->w_base[j] - C->w[j];
            S->pred[j] = u->g[j] - C->g[j];
        }
        afl_lbfgs_push(&S->lb, S->dw, S->pred);
    }
    /* remember the update (also from removed clients: it costs nothing to keep scoring) */
    if (!C->g) {
        C->g = malloc(d * sizeof(float));
        C->w = malloc(d * sizeof(float));
        if (!C->g || !C->w)
            return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    memcpy(C->g, u->g, d * sizeof(float));
    memcpy(C->w, u->w_base, d * sizeof(float));
    C->has = 1;

    if (C->removed)
        return AFL_OK;
    if (S->buffered) {
        /* buffered rule underneath: hold the update; the K-th applies rule(buffer) */
        memcpy(S->buf + (size_t)S->count * d, u->g, d * sizeof(float));
        S->buf_client[S->count++] = i;
        if (S->count < S->K) {
            dec->verdict = AFL_VERDICT_HELD;
            dec->weight = NAN;
            return AFL_OK;
        }
        S->count = 0;
        int rc = afl_rule_apply(S->ws, S->rule, &S->rp, S->rows, S->K, d, step, err);
        if (rc == AFL_ENUMERIC)
            return AFL_OK; /* finite inputs overflowing float: the step is skipped (rejected) */
        if (rc)
            return rc;
    } else {
        /* AsyncSGD underneath: the accepted update is applied as is */
        memcpy(step, u->g, d * sizeof(float));
    }
    dec->verdict = AFL_VERDICT_ACCEPTED;
    dec->weight = 1;
    dec->apply = 1;
    /* aggregate pair: s = w^t - w^{t-1}, y = step^t - step^{t-1} */
    if (!S->pooled) {
        afl_lbfgs_push_global(&S->lb, u->w_cur, step, S->prev_w, S->prev_step, &S->have_prev, S->dw,
                              S->pred);
    } else {
        memcpy(S->prev_w, u->w_cur, d * sizeof(float));
        memcpy(S->prev_step, step, d * sizeof(float));
        S->have_prev = 1;
    }
    S->applied++;
    return AFL_OK;
}

/* Would on_update accept u now?  Only a removed client's (or a non-finite)
 * update is rejected (with aggregate = buffered, "accepted" includes held); the score is
 * the client's current suspicious score. */
static int probe(void *vs, const afl_update *u, double *score)
{
    const state *S = vs;
    *score = NAN;
    if (u->client < 0 || u->client >= S->n)
        return 0;
    const client *C = &S->cl[u->client];
    *score = client_score(C);
    return !C->removed && finite_vec(u->g, S->d);
}

static void destroy(void *vs)
{
    state_free(vs);
}

/* Counters and the detection flag, the ring of recent raw distances, the previous
 * applied step and model (aggregate pairs), the L-BFGS pairs, and per client its last
 * update and base model, its removal and its ring of normalised distances; with
 * aggregate = buffered also the held updates, their clients and centered clipping's
 * centre (asyncsgd checkpoints have no such records). */
static int fldetector_ckpt(void *vs, afl_ckpt *ck)
{
    state *S = vs;
    size_t d = S->d;
    int loading = afl_ckpt_loading(ck);
    afl_ckpt_int(ck, "fldetector.detected", &S->detected);
    afl_ckpt_i64(ck, "fldetector.applied", &S->applied);
    afl_ckpt_i64(ck, "fldetector.scored", &S->scored);
    afl_ckpt_int(ck, "fldetector.recent_len", &S->nrecent);
    afl_ckpt_int(ck, "fldetector.recent_head", &S->recent_head);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (S->nrecent < 0 || S->nrecent > S->n || S->recent_head < 0 || S->recent_head >= S->n)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "fldetector: the ring of recent distances holds %d from slot %d, "
                             "its capacity here is %d (clients.n)",
                             S->nrecent, S->recent_head, S->n);
    afl_ckpt_doubles(ck, "fldetector.recent", S->recent, (size_t)S->n);
    afl_ckpt_int(ck, "fldetector.have_prev", &S->have_prev);
    if (S->have_prev) {
        afl_ckpt_floats(ck, "fldetector.prev_w", S->prev_w, d);
        afl_ckpt_floats(ck, "fldetector.prev_step", S->prev_step, d);
    }
    afl_lbfgs_ckpt(&S->lb, ck, "fldetector.lbfgs");
    for (int k = 0; k < S->n; k++) {
        client *C = &S->cl[k];
        int has_dist = C->dist != NULL;
        afl_ckpt_int(ck, "fldetector.client.has", &C->has);
        afl_ckpt_int(ck, "fldetector.client.removed", &C->removed);
        afl_ckpt_int(ck, "fldetector.client.nd", &C->nd);
        afl_ckpt_int(ck, "fldetector.client.head", &C->head);
        afl_ckpt_int(ck, "fldetector.client.has_dist", &has_dist);
        if (afl_ckpt_status(ck))
            return afl_ckpt_status(ck);
        if (C->nd < 0 || C->nd > S->N || C->head < 0 || C->head >= S->N || (C->nd && !has_dist))
            return afl_ckpt_fail(ck, AFL_EINPUT,
                                 "fldetector: client %d's ring of distances holds %d from slot "
                                 "%d, its capacity here is %d (defense.window)",
                                 k, C->nd, C->head, S->N);
        if (loading) {
            if (C->has && ((!C->g && !(C->g = malloc(d * sizeof(float)))) ||
                           (!C->w && !(C->w = malloc(d * sizeof(float))))))
                return afl_ckpt_fail(ck, AFL_ENOMEM, "fldetector: out of memory");
            if (has_dist && !C->dist && !(C->dist = calloc((size_t)S->N, sizeof(double))))
                return afl_ckpt_fail(ck, AFL_ENOMEM, "fldetector: out of memory");
            if (!has_dist) {
                free(C->dist);
                C->dist = NULL;
            }
        }
        if (C->has) {
            afl_ckpt_floats(ck, "fldetector.client.g", C->g, d);
            afl_ckpt_floats(ck, "fldetector.client.w", C->w, d);
        }
        if (has_dist)
            afl_ckpt_doubles(ck, "fldetector.client.dist", C->dist, (size_t)S->N);
    }
    if (S->buffered) {
        if (afl_ckpt_int(ck, "fldetector.buf_count", &S->count))
            return afl_ckpt_status(ck);
        if (S->count < 0 || S->count >= S->K)
            return afl_ckpt_fail(ck, AFL_EINPUT,
                                 "fldetector: the checkpoint holds %d buffered updates, more "
                                 "than defense.buffer = %d allows",
                                 S->count, S->K);
        afl_ckpt_ints(ck, "fldetector.buf_client", S->buf_client, (size_t)S->count);
        afl_ckpt_floats(ck, "fldetector.buf", S->buf, (size_t)S->count * d);
        if (afl_ckpt_status(ck))
            return afl_ckpt_status(ck);
        for (int j = 0; j < S->count; j++)
            if (S->buf_client[j] < 0 || S->buf_client[j] >= S->n)
                return afl_ckpt_fail(ck, AFL_EINPUT,
                                     "fldetector: buffered update %d comes from client %d, "
                                     "outside 0..%d",
                                     j, S->buf_client[j], S->n - 1);
        if (S->rule == AFL_RULE_CENTERED_CLIPPING)
            afl_ckpt_floats(ck, "fldetector.center", S->center, d);
    }
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_fldetector = {
    {"fldetector",
     "FLDetector (async): L-BFGS predicted updates, suspicious scores, gap statistic + 2-means, "
     "removal of detected clients; AsyncSGD or a buffered robust rule underneath",
     "Zhang et al., FLDetector, KDD 2022 (zaixizhang/FLDetector); specs/algorithms.md 4.12",
     params},
    0,
    "normalised distance between the arriving update and its L-BFGS prediction",
    create,
    on_update,
    destroy,
    probe,
    fldetector_ckpt,
};
