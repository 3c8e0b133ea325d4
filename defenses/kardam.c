/* defenses/kardam.c - Kardam: empirical-Lipschitz filter, frequency filter, anti-stall
 * and staleness dampening.
 *
 * Source: G. Damaskinos, E. M. El Mhamdi, R. Guerraoui, R. Patra, M. Taziki,
 * "Asynchronous Byzantine Machine Learning (the case of SGD)", ICML 2018.
 * Code followed (specs/algorithms.md section 4.13): the Kardam template
 * gdamaskinos/kardam @ 84aa32e (Filtering.java, Dampening.java) for the defaults, and
 * the Python Kardam baseline of xcgoner/iclr2020_zeno_async @ 83d5c27
 * (train_cifar10.py, --byz-test kardam) for the `global` / `history` options.
 *
 * Rule (gradient-like updates, the server applies w <- w - lr * step):
 *   coefficient = global (default; specs/algorithms.md 4.13, ZENO baseline):
 *     k = ||g - g_prev|| / ||x - x_prev||, where (g, x) is this update and the model it was
 *     computed on (u->w_base) and (g_prev, x_prev) the last ACCEPTED update and its model;
 *   coefficient = worker (template): the same with (g_prev, x_prev) = the same worker's
 *     previous request (every finite request, accepted or not).  A worker's first request
 *     then has no k and passes untested: with the paper scenarios' two local steps, the
 *     first x100 requests of 5 attackers destroy the model (docs/defenses-filters.md).
 *   threshold = worker_max (template): each worker keeps its last `window` (25)
 *     coefficients, the current one included; K = q-quantile over workers of their max;
 *   threshold = history (ZENO): K = q-quantile of the last `window` (2n) coefficients of
 *     accepted updates, applied once n of them exist (ZENO's warm-up).
 *   q = (n - f) / n = 1 - f_frac (template: 2/3), or `quantile` when set.
 *   Lipschitz filter: accept iff k <= K; no k (first request of a worker, or of anyone
 *     for `global` before an acceptance) or no K yet: no test.  x = x_prev gives
 *     k = +inf (k = 0 if also g = g_prev): the coefficient is unbounded, and accepting
 *     such updates untested would let a worker that trains twice on one model through.
 *     Only finite coefficients are recorded (an infinite one would disable the quantile).
 *   Frequency filter (optional): reject a worker that already has f of the last 2f
 *     accepted updates (f = max(1, floor(f_frac n))).
 *   Anti-stall: after `stall` consecutive rejections (default n) the next finite update
 *     is accepted.
 *   Dampening: step = Lambda(tau) g, Lambda = 1/(1+tau) (inverse), e^{-alpha tau}
 *     (exponential) or 1 (none).
 * Non-finite updates are rejected and leave no trace in the state.
 * Quantiles are linear interpolation between order statistics (numpy's default, as in
 * the ZENO baseline).  score = k (NAN if none); aux = K (NAN if none).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"

static const afl_param params[] = {
    {"coefficient", AFL_P_ENUM, "global", 0, 0, "global|worker",
     "Lipschitz coefficient against the last accepted update and its model (specs/algorithms.md "
     "4.13; ZENO's Kardam baseline) or against the same worker's previous request (Kardam "
     "template: a worker's first request is accepted untested)"},
    {"threshold", AFL_P_ENUM, "worker_max", 0, 0, "worker_max|history",
     "worker_max: quantile over workers of each worker's largest recent coefficient "
     "(template); history: quantile of the last `window` accepted coefficients (ZENO)"},
    {"f_frac", AFL_P_REAL, "0.3333333333", 0, 0.999, NULL,
     "assumed Byzantine fraction f/n: the threshold is the (n-f)/n quantile (template: f = n/3)"},
    {"quantile", AFL_P_REAL, "0", 0, 1, NULL,
     "quantile of the threshold; 0 = (n-f)/n = 1 - f_frac"},
    {"window", AFL_P_INT, "0", 0, 1e6, NULL,
     "coefficients kept: per worker for worker_max (0 = 25, the template), in all for history "
     "(0 = 2n, ZENO)"},
    {"frequency_filter", AFL_P_BOOL, "false", 0, 0, NULL,
     "reject a worker that already has f of the last 2f accepted updates"},
    {"stall", AFL_P_INT, "0", 0, 1e9, NULL,
     "anti-stall: accept the next finite update after this many consecutive rejections "
     "(0 = clients.n)"},
    {"dampening", AFL_P_ENUM, "none", 0, 0, "none|inverse|exponential",
     "staleness dampening Lambda(tau) of accepted updates: 1, 1/(1+tau), exp(-alpha tau)"},
    {"alpha", AFL_P_REAL, "0.2", 0, 1e6, NULL, "dampening=exponential: alpha (template: 0.2)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

enum { DAMP_NONE, DAMP_INVERSE, DAMP_EXP };

typedef struct {
    size_t d;
    int n;
    int per_worker; /* coefficient = worker */
    int worker_max; /* threshold = worker_max */
    double q;
    int window;
    int freq, f;
    int stall;
    int damp;
    double alpha;
    /* coefficient = worker: each worker's previous request, allocated on first use */
    float **g_prev, **x_prev; /* (n) pointers to (d) */
    /* coefficient = global: the last accepted update and its model */
    float *g_last, *x_last; /* (d), (d) */
    int have_last;
    /* threshold = worker_max: (n, window) rings */
    double *wcoef;
    int *wlen, *whead;
    /* threshold = history: (window) ring */
    double *hist;
    int hist_len, hist_head;
    double *sortbuf; /* (max(n, window)) */
    /* frequency filter: ring of the last 2f accepted worker ids */
    int *acc;
    int acc_len, acc_head;
    int rejections; /* consecutive */
} kardam;

/* ---- kernels (fixed summation order, double accumulators) --------------------------- */

static int finite_vec(const float *x, size_t d)
{
    for (size_t i = 0; i < d; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* a, b: (d); returns ||a - b||_2 */
static double dist2(const float *a, const float *b, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++) {
        double t = (double)a[i] - (double)b[i];
        s += t * t;
    }
    return sqrt(s);
}

/* Rings of capacity cap: entries are r[0..len-1]; once full, `head` is the oldest entry,
 * the one the next push overwrites. */
static void ring_push(double *r, int *len, int *head, int cap, double v)
{
    if (*len < cap) {
        r[(*len)++] = v;
    } else {
        r[*head] = v;
        *head = (*head + 1) % cap;
    }
}

static void ring_push_int(int *r, int *len, int *head, int cap, int v)
{
    if (*len < cap) {
        r[(*len)++] = v;
    } else {
        r[*head] = v;
        *head = (*head + 1) % cap;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of v (m >= 1 values, reordered), linear interpolation (numpy default) */
static double quantile(double *v, int m, double q)
{
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    double pos = q * (double)(m - 1);
    int lo = (int)floor(pos);
    if (lo >= m - 1)
        return v[m - 1];
    double fr = pos - lo;
    if (fr <= 0 || isinf(v[lo + 1]))
        return fr <= 0 ? v[lo] : v[lo + 1]; /* no 0 * inf */
    return v[lo] + fr * (v[lo + 1] - v[lo]);
}

/* ---- the rule ------------------------------------------------------------------------- */

/* Lipschitz coefficient of u against the reference pair, NAN if there is none. */
static double coefficient(const kardam *K, const afl_update *u)
{
    const float *gp = NULL, *xp = NULL;
    if (K->per_worker) {
        gp = K->g_prev[u->client];
        xp = K->x_prev[u->client];
    } else if (K->have_last) {
        gp = K->g_last;
        xp = K->x_last;
    }
    if (!gp)
        return NAN;
    double dx = dist2(u->w_base, xp, K->d), dg = dist2(u->g, gp, K->d);
    if (!isfinite(dx))
        return NAN;
    if (dx == 0) /* same model: the empirical coefficient is unbounded unless g = g_prev */
        return dg == 0 ? 0 : INFINITY;
    double k = dg / dx;
    return isfinite(k) ? k : INFINITY;
}

/* The threshold K with the candidate's coefficient k of worker c counted as if it were
 * recorded (worker_max) -- without changing the state.  NAN if there is none yet. */
static double threshold(kardam *K, int c, double k)
{
    int m = 0;
    if (K->worker_max) {
        for (int w = 0; w < K->n; w++) {
            double mx = -INFINITY;
            const double *r = K->wcoef + (size_t)w * K->window;
            for (int j = 0; j < K->wlen[w]; j++)
                if (r[j] > mx)
                    mx = r[j];
            if (w == c && isfinite(k)) {
                /* k replaces the oldest entry (r[whead]) when the ring is full */
                if (K->wlen[w] == K->window) {
                    mx = k;
                    for (int j = 0; j < K->window; j++)
                        if (j != K->whead[w] && r[j] > mx)
                            mx = r[j];
                } else if (k > mx) {
                    mx = k;
                }
            }
            if (mx > -INFINITY)
                K->sortbuf[m++] = mx;
        }
        if (m == 0)
            return NAN;
    } else {
        int warm = K->n < K->window ? K->n : K->window;
        if (K->hist_len < warm || K->hist_len == 0)
            return NAN;
        for (int j = 0; j < K->hist_len; j++)
            K->sortbuf[m++] = K->hist[j];
    }
    return quantile(K->sortbuf, m, K->q);
}

static int frequency_ok(const kardam *K, int c)
{
    if (!K->freq)
        return 1;
    int cnt = 0;
    for (int j = 0; j < K->acc_len; j++)
        cnt += K->acc[j] == c;
    return cnt < K->f;
}

static double dampening(const kardam *K, int64_t tau)
{
    if (tau < 0)
        tau = 0;
    switch (K->damp) {
    case DAMP_INVERSE: return 1.0 / (1.0 + (double)tau);
    case DAMP_EXP: return exp(-K->alpha * (double)tau);
    default: return 1.0;
    }
}

static int keep_copy(float **slot, const float *src, size_t d)
{
    if (!*slot && !(*slot = malloc(d * sizeof **slot)))
        return -1;
    memcpy(*slot, src, d * sizeof **slot);
    return 0;
}

static int on_update(void *state, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    kardam *K = state;
    size_t d = K->d;
    int c = u->client;
    dec->apply = 0;
    dec->weight = 0;
    dec->score = NAN;
    dec->aux = NAN;
    dec->verdict = AFL_VERDICT_REJECTED;
    if (c < 0 || c >= K->n)
        return afl_err_set(err, AFL_EINTERNAL, "kardam: client %d out of range", c);
    if (!finite_vec(u->g, d))
        return AFL_OK; /* rejected, no trace */

    double k = coefficient(K, u);
    double thr = threshold(K, c, k);
    if (K->worker_max && isfinite(k)) /* record k in the worker's ring */
        ring_push(K->wcoef + (size_t)c * K->window, &K->wlen[c], &K->whead[c], K->window, k);
    int accept = (isnan(k) || isnan(thr) || k <= thr) && frequency_ok(K, c);
    if (!accept && K->rejections >= K->stall)
        accept = 1; /* anti-stall */
    dec->score = k;
    dec->aux = thr;

    if (accept) {
        K->rejections = 0;
        if (K->freq) {
            ring_push_int(K->acc, &K->acc_len, &K->acc_head, 2 * K->f, c);
        }
        if (!K->worker_max && isfinite(k))
            ring_push(K->hist, &K->hist_len, &K->hist_head, K->window, k);
        if (!K->per_worker) {
            memcpy(K->g_last, u->g, d * sizeof *u->g);
            memcpy(K->x_last, u->w_base, d * sizeof *u->w_base);
            K->have_last = 1;
        }
        double lam = dampening(K, u->staleness);
        /* step (d) = Lambda(tau) g (d) */
        if (K->damp == DAMP_NONE) {
            memcpy(step, u->g, d * sizeof *step);
        } else {
            float lf = (float)lam;
            for (size_t i = 0; i < d; i++)
                step[i] = lf * u->g[i];
        }
        dec->verdict = K->damp == DAMP_NONE ? AFL_VERDICT_ACCEPTED : AFL_VERDICT_WEIGHTED;
        dec->weight = lam;
        dec->apply = 1;
    } else {
        K->rejections++;
    }
    if (K->per_worker &&
        (keep_copy(&K->g_prev[c], u->g, d) || keep_copy(&K->x_prev[c], u->w_base, d)))
        return afl_err_set(err, AFL_ENOMEM, "kardam: out of memory (per-worker history)");
    return AFL_OK;
}

/* Would on_update accept u now (anti-stall and frequency filter included)?  No state change. */
static int probe(void *state, const afl_update *u, double *score)
{
    kardam *K = state;
    *score = NAN;
    if (u->client < 0 || u->client >= K->n || !finite_vec(u->g, K->d))
        return 0;
    double k = coefficient(K, u);
    double thr = threshold(K, u->client, k);
    *score = k;
    int accept = (isnan(k) || isnan(thr) || k <= thr) && frequency_ok(K, u->client);
    return accept || K->rejections >= K->stall;
}

static void destroy(void *state)
{
    kardam *K = state;
    if (!K)
        return;
    if (K->g_prev)
        for (int c = 0; c < K->n; c++) {
            free(K->g_prev[c]);
            free(K->x_prev[c]);
        }
    free(K->g_prev);
    free(K->x_prev);
    free(K->g_last);
    free(K->x_last);
    free(K->wcoef);
    free(K->wlen);
    free(K->whead);
    free(K->hist);
    free(K->sortbuf);
    free(K->acc);
    free(K);
}

static int create(const afl_defense_ctx *ctx, void **state, afl_err *err)
{
    const afl_config *cfg = ctx->cfg;
    kardam *K = calloc(1, sizeof *K);
    if (!K)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    K->d = ctx->d;
    K->n = ctx->n_clients;
    K->per_worker = strcmp(afl_cfg_str(cfg, "defense", "coefficient"), "worker") == 0;
    K->worker_max = strcmp(afl_cfg_str(cfg, "defense", "threshold"), "worker_max") == 0;
    double f_frac = afl_cfg_real(cfg, "defense", "f_frac");
    double q = afl_cfg_real(cfg, "defense", "quantile");
    K->q = q > 0 ? q : 1.0 - f_frac;
    K->f = (int)floor(f_frac * K->n);
    if (K->f < 1)
        K->f = 1;
    K->window = (int)afl_cfg_int(cfg, "defense", "window");
    if (K->window == 0)
        K->window = K->worker_max ? 25 : 2 * K->n;
    K->freq = afl_cfg_bool(cfg, "defense", "frequency_filter");
    K->stall = (int)afl_cfg_int(cfg, "defense", "stall");
    if (K->stall == 0)
        K->stall = K->n;
    const char *dm = afl_cfg_str(cfg, "defense", "dampening");
    K->damp = strcmp(dm, "inverse") == 0       ? DAMP_INVERSE
              : strcmp(dm, "exponential") == 0 ? DAMP_EXP
                                               : DAMP_NONE;
    K->alpha = afl_cfg_real(cfg, "defense", "alpha");
    size_t nb = (size_t)(K->n > K->window ? K->n : K->window);
    K->sortbuf = malloc(nb * sizeof *K->sortbuf);
    K->acc = malloc(2 * (size_t)K->f * sizeof *K->acc);
    int ok = K->sortbuf && K->acc;
    if (K->per_worker) {
        K->g_prev = calloc((size_t)K->n, sizeof *K->g_prev);
        K->x_prev = calloc((size_t)K->n, sizeof *K->x_prev);
        ok = ok && K->g_prev && K->x_prev;
    } else {
        K->g_last = malloc(K->d * sizeof *K->g_last);
        K->x_last = malloc(K->d * sizeof *K->x_last);
        ok = ok && K->g_last && K->x_last;
    }
    if (K->worker_max) {
        K->wcoef = malloc((size_t)K->n * (size_t)K->window * sizeof *K->wcoef);
        K->wlen = calloc((size_t)K->n, sizeof *K->wlen);
        K->whead = calloc((size_t)K->n, sizeof *K->whead);
        ok = ok && K->wcoef && K->wlen && K->whead;
    } else {
        K->hist = malloc((size_t)K->window * sizeof *K->hist);
        ok = ok && K->hist;
    }
    if (!ok) {
        destroy(K);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (kardam state)");
    }
    *state = K;
    return AFL_OK;
}

/* A ring's length and head read from a checkpoint must fit its capacity. */
static int ring_ok(afl_ckpt *ck, const char *what, int len, int head, int cap)
{
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (len < 0 || len > cap || head < 0 || (cap > 0 && head >= cap))
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "kardam: %s holds %d entries from slot %d, its capacity here is %d",
                             what, len, head, cap);
    return AFL_OK;
}

/* Every reference pair (per worker or the last accepted one), the coefficient rings
 * (only their filled entries), the frequency filter's ring and the rejection streak. */
static int kardam_ckpt(void *state, afl_ckpt *ck)
{
    kardam *K = state;
    size_t d = K->d;
    int loading = afl_ckpt_loading(ck);
    afl_ckpt_int(ck, "kardam.rejections", &K->rejections);
    if (K->per_worker) {
        for (int c = 0; c < K->n && !afl_ckpt_status(ck); c++) {
            int has = K->g_prev[c] && K->x_prev[c];
            if (afl_ckpt_int(ck, "kardam.worker.has_prev", &has))
                break;
            if (loading && !has) {
                free(K->g_prev[c]);
                free(K->x_prev[c]);
                K->g_prev[c] = K->x_prev[c] = NULL;
                continue;
            }
            if (!has)
                continue;
            if (loading && ((!K->g_prev[c] && !(K->g_prev[c] = malloc(d * sizeof(float)))) ||
                            (!K->x_prev[c] && !(K->x_prev[c] = malloc(d * sizeof(float))))))
                return afl_ckpt_fail(ck, AFL_ENOMEM, "kardam: out of memory (per-worker history)");
            afl_ckpt_floats(ck, "kardam.worker.g_prev", K->g_prev[c], d);
            afl_ckpt_floats(ck, "kardam.worker.x_prev", K->x_prev[c], d);
        }
    } else {
        afl_ckpt_int(ck, "kardam.have_last", &K->have_last);
        if (K->have_last) {
            afl_ckpt_floats(ck, "kardam.g_last", K->g_last, d);
            afl_ckpt_floats(ck, "kardam.x_last", K->x_last, d);
        }
    }
    if (K->worker_max) {
        afl_ckpt_ints(ck, "kardam.worker.coef_len", K->wlen, (size_t)K->n);
        afl_ckpt_ints(ck, "kardam.worker.coef_head", K->whead, (size_t)K->n);
        for (int w = 0; w < K->n; w++)
            if (ring_ok(ck, "a worker's coefficient ring", K->wlen[w], K->whead[w], K->window))
                return afl_ckpt_status(ck);
        for (int w = 0; w < K->n; w++)
            afl_ckpt_doubles(ck, "kardam.worker.coef", K->wcoef + (size_t)w * K->window,
                             (size_t)K->wlen[w]);
    } else {
        afl_ckpt_int(ck, "kardam.history_len", &K->hist_len);
        afl_ckpt_int(ck, "kardam.history_head", &K->hist_head);
        if (ring_ok(ck, "the coefficient history", K->hist_len, K->hist_head, K->window))
            return afl_ckpt_status(ck);
        afl_ckpt_doubles(ck, "kardam.history", K->hist, (size_t)K->hist_len);
    }
    if (K->freq) {
        afl_ckpt_int(ck, "kardam.accepted_len", &K->acc_len);
        afl_ckpt_int(ck, "kardam.accepted_head", &K->acc_head);
        if (ring_ok(ck, "the ring of accepted workers", K->acc_len, K->acc_head, 2 * K->f))
            return afl_ckpt_status(ck);
        afl_ckpt_ints(ck, "kardam.accepted", K->acc, (size_t)K->acc_len);
    }
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_kardam = {
    .info = {"kardam",
             "empirical-Lipschitz filter (coefficient <= (n-f)/n quantile), optional frequency "
             "filter, anti-stall, staleness dampening",
             "Damaskinos et al., ICML 2018; template gdamaskinos/kardam@84aa32e; ZENO baseline "
             "xcgoner/iclr2020_zeno_async@83d5c27",
             params},
    .needs_trusted_data = 0,
    .aux_doc = "the Lipschitz threshold K (quantile) the coefficient was compared with (NA "
               "before there is one)",
    .create = create,
    .on_update = on_update,
    .destroy = destroy,
    .probe = probe,
    .ckpt = kardam_ckpt,
};
