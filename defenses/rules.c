/* defenses/rules.c - robust aggregation rules (see rules.h for the layout and the policy
 * on non-finite inputs).
 *
 * Sources: Yin et al. ICML 2018 (median, trimmed mean); Blanchard et al. NeurIPS 2017
 * (Krum, Multi-Krum); El Mhamdi et al. ICML 2018 (Bulyan); Karimireddy et al. ICML 2021
 * (centered clipping); Cao et al. NDSS 2021 (FLTrust); specs/algorithms.md sections 4.1-4.7.
 *
 * Coordinate-wise rules work on blocks of columns: a block of `bw` columns of the n inputs
 * is copied into buf (n x B, row i at buf + i*B, NaN replaced by +Inf), then every column
 * of the block is sorted at once by a sorting network (Batcher's odd-even merge sort for
 * the next power of two >= n, comparators touching padding removed, and comparators whose
 * outputs are not needed pruned).  One comparator is a min/max over B contiguous floats,
 * which the compiler vectorises.  For n > NET_MAX a per-column quickselect / qsort is used
 * instead.  Krum's distances use the same blocks, so each input is read from memory once.
 */
#include "defenses/rules.h"

#include "sim/config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NET_MAX 256       /* largest n sorted by a network */
#define BLOCK_FLOATS 4096 /* n x B block target: 16 KiB, inside L1 */
#define BLOCK_MAX 256     /* most columns per block */

typedef struct {
    double s;
    int i;
} score_idx;

struct afl_rules_ws {
    int n_max;
    size_t buf_len; /* floats in buf */
    float *buf;     /* (n, B) column block */
    double *acc;    /* (BLOCK_MAX) per-column accumulators */
    double *dist;   /* (n_max, n_max) squared distances */
    double *tmpd;   /* (n_max) scratch */
    double *dscr;   /* (n_max) per-vector scratch (clip factors, weights) */
    score_idx *si;  /* (n_max) */
    int *idx;       /* (n_max) */
    unsigned char *alive;
    const float **ptrs; /* (n_max) */
    float *col;         /* (n_max) one column (fallback) */
    /* sorting network for net_n inputs, outputs net_lo..net_hi needed */
    int net_n, net_lo, net_hi, net_len, net_cap;
    int (*net)[2];
    unsigned char *need; /* (NET_MAX) */
};

/* ---- work space ----------------------------------------------------------------------- */

static int next_pow2(int n)
{
    int p = 1;
    while (p < n)
        p *= 2;
    return p;
}

/* Comparators of Batcher's odd-even merge sort for p = 2^k inputs:
 * (p/4) log2(p) (log2(p) - 1) + p - 1. */
static int batcher_count(int p)
{
    int lg = 0;
    while ((1 << lg) < p)
        lg++;
    return p / 4 * lg * (lg - 1) + p - 1;
}

afl_rules_ws *afl_rules_ws_create(int n_max)
{
    if (n_max < 1)
        return NULL;
    afl_rules_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    size_t n = (size_t)n_max;
    ws->n_max = n_max;
    size_t b = BLOCK_FLOATS / n;
    b = b < 8 ? 8 : b > BLOCK_MAX ? BLOCK_MAX : b - b % 8;
    ws->buf_len = n * b;
    ws->buf = malloc(ws->buf_len * sizeof *ws->buf);
    ws->acc = malloc(BLOCK_MAX * sizeof *ws->acc);
    ws->dist = malloc(n * n * sizeof *ws->dist);
    ws->tmpd = malloc(n * sizeof *ws->tmpd);
    ws->dscr = malloc(n * sizeof *ws->dscr);
    ws->si = malloc(n * sizeof *ws->si);
    ws->idx = malloc(n * sizeof *ws->idx);
    ws->alive = malloc(n);
    ws->ptrs = malloc(n * sizeof *ws->ptrs);
    ws->col = malloc(n * sizeof *ws->col);
    int pm = next_pow2(n_max < NET_MAX ? n_max : NET_MAX);
    ws->net_cap = batcher_count(pm < 2 ? 2 : pm);
    ws->net = malloc((size_t)ws->net_cap * sizeof *ws->net);
    ws->need = malloc(NET_MAX);
    ws->net_n = -1;
    if (!ws->buf || !ws->acc || !ws->dist || !ws->tmpd || !ws->dscr || !ws->si || !ws->idx ||
        !ws->alive || !ws->ptrs || !ws->col || !ws->net || !ws->need) {
        afl_rules_ws_free(ws);
        return NULL;
    }
    return ws;
}

void afl_rules_ws_free(afl_rules_ws *ws)
{
    if (!ws)
        return;
    free(ws->buf);
    free(ws->acc);
    free(ws->dist);
    free(ws->tmpd);
    free(ws->dscr);
    free(ws->si);
    free(ws->idx);
    free(ws->alive);
    free(ws->ptrs);
    free(ws->col);
    free(ws->net);
    free(ws->need);
    free(ws);
}

/* Columns per block for n rows: as many as fit in buf, a multiple of 8, at most BLOCK_MAX. */
static size_t block_cols(const afl_rules_ws *ws, int n)
{
    size_t b = ws->buf_len / (size_t)n;
    if (b > BLOCK_MAX)
        b = BLOCK_MAX;
    if (b > 8)
        b -= b % 8;
    return b;
}

int afl_rules_all_finite(const float *x, size_t d)
{
    /* x - x is 0 for finite x and NaN for NaN/Inf: one branch-free pass, 8 lanes */
    float acc[8] = {0};
    size_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int q = 0; q < 8; q++)
            acc[q] += x[j + q] - x[j + q];
    for (; j < d; j++)
        acc[0] += x[j] - x[j];
    float s = 0.0f;
    for (int q = 0; q < 8; q++)
        s += acc[q];
    return s == 0.0f;
}

static int check_n(const afl_rules_ws *ws, int n, size_t d, const char *rule, afl_err *err)
{
    if (n < 1)
        return afl_err_set(err, AFL_EINPUT, "rule %s needs at least one input vector", rule);
    if (n > ws->n_max)
        return afl_err_set(err, AFL_EINTERNAL,
                           "rule %s got %d input vectors but its work space holds %d", rule, n,
                           ws->n_max);
    if (d == 0)
        return afl_err_set(err, AFL_EINPUT, "rule %s needs vectors of length >= 1", rule);
    return AFL_OK;
}

/* Zeroes out and reports AFL_ENUMERIC if out is not finite. */
static int finish(float *out, size_t d, const char *rule, afl_err *err)
{
    if (afl_rules_all_finite(out, d))
        return AFL_OK;
    memset(out, 0, d * sizeof *out);
    return afl_err_set(err, AFL_ENUMERIC,
                       "the %s aggregate is not finite (too many non-finite or huge inputs); "
                       "drop non-finite updates before aggregating",
                       rule);
}

/* ---- sorting network ------------------------------------------------------------------ */

/* Builds (or reuses) the network sorting n <= NET_MAX values whose outputs lo..hi are
 * needed. */
static void network(afl_rules_ws *ws, int n, int lo, int hi)
{
    if (ws->net_n == n && ws->net_lo == lo && ws->net_hi == hi)
        return;
    int p = next_pow2(n), len = 0;
    for (int q = 1; q < p; q *= 2)
        for (int k = q; k >= 1; k /= 2)
            for (int j = k % q; j + k < p; j += 2 * k)
                for (int i = 0; i < k && i + j + k < p; i++)
                    if ((i + j) / (2 * q) == (i + j + k) / (2 * q) && i + j + k < n) {
                        ws->net[len][0] = i + j;
                        ws->net[len][1] = i + j + k;
                        len++;
                    }
    /* Prune: walking backwards, keep a comparator only if one of its outputs is needed;
     * then both of its inputs are. Padding rows (>= n) hold +Inf and never move. */
    memset(ws->need, 0, NET_MAX);
    for (int r = lo; r <= hi; r++)
        ws->need[r] = 1;
    int kept = len;
    for (int c = len - 1; c >= 0; c--) {
        int a = ws->net[c][0], b = ws->net[c][1];
        if (ws->need[a] || ws->need[b]) {
            ws->need[a] = ws->need[b] = 1;
            kept--;
            ws->net[kept][0] = a;
            ws->net[kept][1] = b;
        }
    }
    memmove(ws->net, ws->net + kept, (size_t)(len - kept) * sizeof *ws->net);
    ws->net_len = len - kept;
    ws->net_n = n;
    ws->net_lo = lo;
    ws->net_hi = hi;
}

/* Sorts every column of buf (n rows, stride B, bw columns) ascending: one comparator is
 * a lane-wise min/max of two rows.  Compilers do not if-convert a scalar float min/max
 * under the default -ftrapping-math, so on x86-64 the lanes use SSE (4) or, when the CPU
 * has it, AVX2 (8) min/max instructions.  buf holds no NaN (load_block), so every path
 * computes the same values (only the sign of a zero may differ). */
static void cmp_scalar(float *restrict a, float *restrict b, size_t k0, size_t bw)
{
    for (size_t k = k0; k < bw; k++) {
        float u = a[k], v = b[k];
        a[k] = u < v ? u : v;
        b[k] = u < v ? v : u;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1

static void network_sse(const int (*net)[2], int len, float *buf, size_t B, size_t bw)
{
    for (int c = 0; c < len; c++) {
        float *a = buf + (size_t)net[c][0] * B, *b = buf + (size_t)net[c][1] * B;
        size_t k = 0;
        for (; k + 4 <= bw; k += 4) {
            __m128 u = _mm_loadu_ps(a + k), v = _mm_loadu_ps(b + k);
            _mm_storeu_ps(a + k, _mm_min_ps(u, v));
            _mm_storeu_ps(b + k, _mm_max_ps(u, v));
        }
        cmp_scalar(a, b, k, bw);
    }
}

__attribute__((target("avx2"))) static void network_avx2(const int (*net)[2], int len, float *buf,
                                                         size_t B, size_t bw)
{
    for (int c = 0; c < len; c++) {
        float *a = buf + (size_t)net[c][0] * B, *b = buf + (size_t)net[c][1] * B;
        size_t k = 0;
        for (; k + 8 <= bw; k += 8) {
            __m256 u = _mm256_loadu_ps(a + k), v = _mm256_loadu_ps(b + k);
            _mm256_storeu_ps(a + k, _mm256_min_ps(u, v));
            _mm256_storeu_ps(b + k, _mm256_max_ps(u, v));
        }
        cmp_scalar(a, b, k, bw);
    }
}
#endif

static void run_network(const afl_rules_ws *ws, float *buf, size_t B, size_t bw)
{
#ifdef HAVE_X86
    if (__builtin_cpu_supports("avx2"))
        network_avx2((const int(*)[2])ws->net, ws->net_len, buf, B, bw);
    else
        network_sse((const int(*)[2])ws->net, ws->net_len, buf, B, bw);
#else
    for (int c = 0; c < ws->net_len; c++)
        cmp_scalar(buf + (size_t)ws->net[c][0] * B, buf + (size_t)ws->net[c][1] * B, 0, bw);
#endif
}

/* Copies columns j0..j0+bw of the n rows into buf (n, B), NaN -> +Inf. */
static void load_block(float *buf, size_t B, const float *const *x, int n, size_t j0, size_t bw)
{
    for (int i = 0; i < n; i++) {
        const float *restrict s = x[i] + j0;
        float *restrict t = buf + (size_t)i * B;
        for (size_t k = 0; k < bw; k++)
            t[k] = s[k] != s[k] ? INFINITY : s[k];
    }
}

/* nth_element: a[k] is the k-th smallest, a[0..k) <= a[k] <= a(k..n).  No NaN in a. */
static void select_k(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        float t;
        if (a[mid] < a[lo])
            t = a[mid], a[mid] = a[lo], a[lo] = t;
        if (a[hi] < a[lo])
            t = a[hi], a[hi] = a[lo], a[lo] = t;
        if (a[hi] < a[mid])
            t = a[hi], a[hi] = a[mid], a[mid] = t;
        float p = a[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p)
                i++;
            while (a[j] > p)
                j--;
            if (i <= j) {
                t = a[i], a[i] = a[j], a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

static int cmp_float(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

/* Fallback for n > NET_MAX: sorts column k of buf (n rows, stride B) fully, in place. */
static void sort_column(afl_rules_ws *ws, float *buf, size_t B, int n, size_t k)
{
    for (int i = 0; i < n; i++)
        ws->col[i] = buf[(size_t)i * B + k];
    qsort(ws->col, (size_t)n, sizeof *ws->col, cmp_float);
    for (int i = 0; i < n; i++)
        buf[(size_t)i * B + k] = ws->col[i];
}

/* ---- mean ------------------------------------------------------------------------------ */

/* out = (1/n) sum_i x[i], summed in index order in double, blockwise. */
static void mean_rows(afl_rules_ws *ws, const float *const *x, int n, size_t d, float *out)
{
    double *acc = ws->acc;
    for (size_t j0 = 0; j0 < d; j0 += BLOCK_MAX) {
        size_t bw = d - j0 < BLOCK_MAX ? d - j0 : BLOCK_MAX;
        for (size_t k = 0; k < bw; k++)
            acc[k] = 0.0;
        for (int i = 0; i < n; i++) {
            const float *s = x[i] + j0;
            for (size_t k = 0; k < bw; k++)
                acc[k] += s[k];
        }
        for (size_t k = 0; k < bw; k++)
            out[j0 + k] = (float)(acc[k] / n);
    }
}

int afl_rule_mean(afl_rules_ws *ws, const float *const *x, int n, size_t d, float *out,
                  afl_err *err)
{
    int rc = check_n(ws, n, d, "mean", err);
    if (rc)
        return rc;
    mean_rows(ws, x, n, d, out);
    return finish(out, d, "mean", err);
}

/* ---- median and trimmed mean ------------------------------------------------------------ */

int afl_rule_median(afl_rules_ws *ws, const float *const *x, int n, size_t d, float *out,
                    afl_err *err)
{
    int rc = check_n(ws, n, d, "median", err);
    if (rc)
        return rc;
    int lo = (n - 1) / 2, hi = n / 2;
    size_t B = block_cols(ws, n);
    if (n <= NET_MAX)
        network(ws, n, lo, hi);
    for (size_t j0 = 0; j0 < d; j0 += B) {
        size_t bw = d - j0 < B ? d - j0 : B;
        load_block(ws->buf, B, x, n, j0, bw);
        if (n <= NET_MAX) {
            run_network(ws, ws->buf, B, bw);
            const float *a = ws->buf + (size_t)lo * B, *b = ws->buf + (size_t)hi * B;
            for (size_t k = 0; k < bw; k++)
                out[j0 + k] = (float)(((double)a[k] + (double)b[k]) * 0.5);
        } else {
            for (size_t k = 0; k < bw; k++) {
                for (int i = 0; i < n; i++)
                    ws->col[i] = ws->buf[(size_t)i * B + k];
                select_k(ws->col, n, hi);
                double m = ws->col[hi];
                if (lo != hi) {
                    float mx = ws->col[0];
                    for (int i = 1; i < hi; i++)
                        mx = ws->col[i] > mx ? ws->col[i] : mx;
                    m = (m + mx) * 0.5;
                }
                out[j0 + k] = (float)m;
            }
        }
    }
    return finish(out, d, "median", err);
}

static int check_trim(int n, int b, afl_err *err)
{
    if (b < 0 || 2 * b >= n)
        return afl_err_set(err, AFL_EINPUT,
                           "trimmed_mean drops trim = %d values from each end of n = %d inputs; "
                           "it needs 0 <= 2 x trim < n",
                           b, n);
    return AFL_OK;
}

int afl_rule_trimmed_mean(afl_rules_ws *ws, const float *const *x, int n, size_t d, int b,
                          float *out, afl_err *err)
{
    int rc = check_n(ws, n, d, "trimmed_mean", err);
    if (!rc)
        rc = check_trim(n, b, err);
    if (rc)
        return rc;
    size_t B = block_cols(ws, n);
    int keep = n - 2 * b;
    if (n <= NET_MAX)
        network(ws, n, b, n - 1 - b);
    double *acc = ws->acc;
    for (size_t j0 = 0; j0 < d; j0 += B) {
        size_t bw = d - j0 < B ? d - j0 : B;
        load_block(ws->buf, B, x, n, j0, bw);
        if (n <= NET_MAX) {
            run_network(ws, ws->buf, B, bw);
        } else {
            for (size_t k = 0; k < bw; k++)
                sort_column(ws, ws->buf, B, n, k);
        }
        for (size_t k = 0; k < bw; k++)
            acc[k] = 0.0;
        for (int r = b; r < n - b; r++) {
            const float *s = ws->buf + (size_t)r * B;
            for (size_t k = 0; k < bw; k++)
                acc[k] += s[k];
        }
        for (size_t k = 0; k < bw; k++)
            out[j0 + k] = (float)(acc[k] / keep);
    }
    return finish(out, d, "trimmed_mean", err);
}

/* ---- Krum, Multi-Krum, Bulyan ---------------------------------------------------------- */

static int check_krum(const char *rule, int n, int f, int need_4f, afl_err *err)
{
    if (f < 0)
        return afl_err_set(err, AFL_EINPUT, "%s needs f >= 0 (f = %d)", rule, f);
    if (need_4f ? n < 4 * f + 3 : n < 2 * f + 3) {
        if (n < 3)
            return afl_err_set(err, AFL_EINPUT, "%s needs n >= %s >= 3 inputs, but n = %d", rule,
                               need_4f ? "4f + 3" : "2f + 3", n);
        return afl_err_set(err, AFL_EINPUT,
                           "%s needs n >= %s inputs, but n = %d with f = %d (at most %d "
                           "Byzantine inputs can be tolerated with n = %d)",
                           rule, need_4f ? "4f + 3" : "2f + 3", n, f,
                           need_4f ? (n - 3) / 4 : (n - 3) / 2, n);
    }
    return AFL_OK;
}

/* ws->dist (n, n) = squared Euclidean distances, in double; NaN -> +Inf. */
static void pairwise(afl_rules_ws *ws, const float *const *x, int n, size_t d)
{
    double *D = ws->dist;
    for (int i = 0; i < n * n; i++)
        D[i] = 0.0;
    size_t B = block_cols(ws, n);
    for (size_t j0 = 0; j0 < d; j0 += B) {
        size_t bw = d - j0 < B ? d - j0 : B;
        load_block(ws->buf, B, x, n, j0, bw);
        for (int i = 0; i < n; i++) {
            const float *a = ws->buf + (size_t)i * B;
            for (int j = i + 1; j < n; j++) {
                const float *b = ws->buf + (size_t)j * B;
                double s[4] = {0, 0, 0, 0};
                size_t k = 0;
                for (; k + 4 <= bw; k += 4)
                    for (int q = 0; q < 4; q++) {
                        double t = (double)a[k + q] - (double)b[k + q];
                        s[q] += t * t;
                    }
                for (; k < bw; k++) {
                    double t = (double)a[k] - (double)b[k];
                    s[0] += t * t;
                }
                D[i * n + j] += (s[0] + s[1]) + (s[2] + s[3]);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        D[i * n + i] = 0.0;
        for (int j = i + 1; j < n; j++) {
            double v = D[i * n + j];
            if (v != v)
                v = INFINITY;
            D[i * n + j] = D[j * n + i] = v;
        }
    }
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int cmp_score_idx(const void *pa, const void *pb)
{
    const score_idx *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s < b->s ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Krum score of i among the alive vectors: sum of its k smallest distances to others,
 * summed smallest first. */
static double krum_score(afl_rules_ws *ws, int n, int i, int k)
{
    int m = 0;
    for (int j = 0; j < n; j++)
        if (j != i && ws->alive[j])
            ws->tmpd[m++] = ws->dist[i * n + j];
    qsort(ws->tmpd, (size_t)m, sizeof *ws->tmpd, cmp_double);
    double s = 0.0;
    for (int q = 0; q < k && q < m; q++)
        s += ws->tmpd[q];
    return s;
}

/* Fills ws->si with (score, index) for all n and sorts it best first. */
static void krum_scores(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f)
{
    pairwise(ws, x, n, d);
    memset(ws->alive, 1, (size_t)n);
    for (int i = 0; i < n; i++) {
        ws->si[i].s = krum_score(ws, n, i, n - f - 2);
        ws->si[i].i = i;
    }
}

int afl_rule_krum(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f, int *chosen,
                  double *scores, float *out, afl_err *err)
{
    int rc = check_n(ws, n, d, "krum", err);
    if (!rc)
        rc = check_krum("krum", n, f, 0, err);
    if (rc)
        return rc;
    krum_scores(ws, x, n, d, f);
    int best = 0;
    for (int i = 0; i < n; i++) {
        if (scores)
            scores[i] = ws->si[i].s;
        if (ws->si[i].s < ws->si[best].s)
            best = i;
    }
    if (chosen)
        *chosen = best;
    memcpy(out, x[best], d * sizeof *out);
    return finish(out, d, "krum", err);
}

int afl_rule_multikrum(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f, int m,
                       int *selected, float *out, afl_err *err)
{
    int rc = check_n(ws, n, d, "multikrum", err);
    if (!rc)
        rc = check_krum("multikrum", n, f, 0, err);
    if (rc)
        return rc;
    if (m < 1 || m > n)
        return afl_err_set(err, AFL_EINPUT,
                           "multikrum averages m = %d of n = %d inputs; it needs 1 <= m <= n", m,
                           n);
    krum_scores(ws, x, n, d, f);
    qsort(ws->si, (size_t)n, sizeof *ws->si, cmp_score_idx);
    for (int r = 0; r < m; r++) {
        ws->ptrs[r] = x[ws->si[r].i];
        if (selected)
            selected[r] = ws->si[r].i;
    }
    mean_rows(ws, ws->ptrs, m, d, out);
    return finish(out, d, "multikrum", err);
}

int afl_rule_bulyan(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f, int *selected,
                    float *out, afl_err *err)
{
    int rc = check_n(ws, n, d, "bulyan", err);
    if (!rc)
        rc = check_krum("bulyan", n, f, 1, err);
    if (rc)
        return rc;
    int theta = n - 2 * f, beta = theta - 2 * f;
    /* 1. theta picks by iterated Krum on the remaining set R */
    pairwise(ws, x, n, d);
    memset(ws->alive, 1, (size_t)n);
    for (int t = 0; t < theta; t++) {
        int r = n - t, k = r - f - 2;
        if (k < 1)
            k = 1;
        int best = -1;
        double bs = 0.0;
        for (int i = 0; i < n; i++) {
            if (!ws->alive[i])
                continue;
            double s = krum_score(ws, n, i, k);
            if (best < 0 || s < bs)
                best = i, bs = s;
        }
        ws->alive[best] = 0;
        ws->idx[t] = best;
        if (selected)
            selected[t] = best;
    }
    /* 2. per coordinate, mean of the beta selected values closest to their median */
    for (int t = 0; t < theta; t++)
        ws->ptrs[t] = x[ws->idx[t]];
    size_t B = block_cols(ws, theta);
    if (theta <= NET_MAX)
        network(ws, theta, 0, theta - 1);
    for (size_t j0 = 0; j0 < d; j0 += B) {
        size_t bw = d - j0 < B ? d - j0 : B;
        load_block(ws->buf, B, ws->ptrs, theta, j0, bw);
        if (theta <= NET_MAX)
            run_network(ws, ws->buf, B, bw);
        else
            for (size_t k = 0; k < bw; k++)
                sort_column(ws, ws->buf, B, theta, k);
        const float *s = ws->buf;
        for (size_t k = 0; k < bw; k++) {
#define S(r) ((double)s[(size_t)(r)*B + k])
            double med = (S((theta - 1) / 2) + S(theta / 2)) * 0.5;
            /* grow the window [l, h) outwards from the middle, closest value first
             * (ties: the lower one); the values are sorted, so this takes the beta
             * values closest to med */
            int l = theta / 2, h = theta / 2;
            while (h - l < beta) {
                if (h >= theta || (l > 0 && fabs(S(l - 1) - med) <= fabs(S(h) - med)))
                    l--;
                else
                    h++;
            }
            double acc = 0.0;
            for (int r = l; r < h; r++)
                acc += S(r);
#undef S
            out[j0 + k] = (float)(acc / beta);
        }
    }
    return finish(out, d, "bulyan", err);
}

/* ---- centered clipping ----------------------------------------------------------------- */

int afl_rule_centered_clipping(afl_rules_ws *ws, const float *const *x, int n, size_t d, double tau,
                               int iters, float *v, afl_err *err)
{
    int rc = check_n(ws, n, d, "centered_clipping", err);
    if (rc)
        return rc;
    if (!(tau > 0.0) || !isfinite(tau))
        return afl_err_set(err, AFL_EINPUT, "centered_clipping needs a finite tau > 0 (tau = %g)",
                           tau);
    if (iters < 1)
        return afl_err_set(err, AFL_EINPUT, "centered_clipping needs iters >= 1 (iters = %d)",
                           iters);
    if (!afl_rules_all_finite(v, d))
        memset(v, 0, d * sizeof *v); /* a non-finite centre would poison every iteration */
    double *c = ws->dscr, *acc = ws->acc;
    for (int l = 0; l < iters; l++) {
        /* c_i = min(1, tau / ||x_i - v||); 0 when the distance is not finite */
        for (int i = 0; i < n; i++) {
            const float *a = x[i];
            double s[4] = {0, 0, 0, 0};
            size_t j = 0;
            for (; j + 4 <= d; j += 4)
                for (int q = 0; q < 4; q++) {
                    double t = (double)a[j + q] - (double)v[j + q];
                    s[q] += t * t;
                }
            for (; j < d; j++) {
                double t = (double)a[j] - (double)v[j];
                s[0] += t * t;
            }
            double nrm = sqrt((s[0] + s[1]) + (s[2] + s[3]));
            c[i] = !isfinite(nrm) ? 0.0 : nrm > tau ? tau / nrm : 1.0;
        }
        for (size_t j0 = 0; j0 < d; j0 += BLOCK_MAX) {
            size_t bw = d - j0 < BLOCK_MAX ? d - j0 : BLOCK_MAX;
            const float *vv = v + j0;
            for (size_t k = 0; k < bw; k++)
                acc[k] = 0.0;
            for (int i = 0; i < n; i++) {
                if (c[i] == 0.0)
                    continue;
                const float *a = x[i] + j0;
                double ci = c[i];
                for (size_t k = 0; k < bw; k++)
                    acc[k] += ci * ((double)a[k] - (double)vv[k]);
            }
            for (size_t k = 0; k < bw; k++)
                v[j0 + k] = (float)((double)v[j0 + k] + acc[k] / n);
        }
    }
    return finish(v, d, "centered_clipping", err);
}

/* ---- FLTrust ---------------------------------------------------------------------------- */

int afl_rule_fltrust(afl_rules_ws *ws, const float *const *x, int n, size_t d, const float *g0,
                     double *trust, double *cosine, double *total_trust, float *out, afl_err *err)
{
    int rc = check_n(ws, n, d, "fltrust", err);
    if (rc)
        return rc;
    double g2 = 0.0;
    for (size_t j = 0; j < d; j++)
        g2 += (double)g0[j] * g0[j];
    double gn = sqrt(g2);
    if (!isfinite(gn))
        return afl_err_set(err, AFL_ENUMERIC, "the FLTrust server update g0 is not finite");
    double *w = ws->dscr, total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *a = x[i];
        double s[4] = {0, 0, 0, 0}, p[4] = {0, 0, 0, 0};
        size_t j = 0;
        for (; j + 4 <= d; j += 4)
            for (int q = 0; q < 4; q++) {
                double t = a[j + q];
                s[q] += t * t;
                p[q] += t * (double)g0[j + q];
            }
        for (; j < d; j++) {
            double t = a[j];
            s[0] += t * t;
            p[0] += t * (double)g0[j];
        }
        double nrm = sqrt((s[0] + s[1]) + (s[2] + s[3])), dot = (p[0] + p[1]) + (p[2] + p[3]);
        double cs = NAN;
        if (nrm > 0.0 && isfinite(nrm) && gn > 0.0 && isfinite(dot)) {
            cs = dot / (nrm * gn);
            cs = cs > 1.0 ? 1.0 : cs < -1.0 ? -1.0 : cs;
        }
        double ts = cs > 0.0 ? cs : 0.0; /* ReLU; NaN -> 0 */
        if (cosine)
            cosine[i] = cs;
        if (trust)
            trust[i] = ts;
        w[i] = ts > 0.0 ? ts * gn / nrm : 0.0; /* TS_i rescaled to ||g0|| */
        total += ts;
    }
    if (total_trust)
        *total_trust = total;
    if (!(total > 0.0)) {
        memset(out, 0, d * sizeof *out);
        return AFL_OK;
    }
    double *acc = ws->acc;
    for (size_t j0 = 0; j0 < d; j0 += BLOCK_MAX) {
        size_t bw = d - j0 < BLOCK_MAX ? d - j0 : BLOCK_MAX;
        for (size_t k = 0; k < bw; k++)
            acc[k] = 0.0;
        for (int i = 0; i < n; i++) {
            if (w[i] == 0.0)
                continue;
            const float *a = x[i] + j0;
            double wi = w[i];
            for (size_t k = 0; k < bw; k++)
                acc[k] += wi * a[k];
        }
        for (size_t k = 0; k < bw; k++)
            out[j0 + k] = (float)(acc[k] / total);
    }
    return finish(out, d, "fltrust", err);
}

/* ---- dispatch by name ------------------------------------------------------------------- */

static const char *const rule_names[] = {"mean",      "median", "trimmed_mean",     "krum",
                                         "multikrum", "bulyan", "centered_clipping"};

int afl_rule_parse(const char *s)
{
    for (int k = 0; k < (int)(sizeof rule_names / sizeof rule_names[0]); k++)
        if (strcmp(s, rule_names[k]) == 0)
            return k;
    return -1;
}

int afl_rule_from_cfg(const struct afl_config *cfg, int *K, afl_rule_kind *kind, afl_rule_params *p,
                      afl_err *err)
{
    const char *name = afl_cfg_str(cfg, "defense", "rule");
    int rule = afl_rule_parse(name);
    if (rule < 0)
        return afl_err_set(err, AFL_EINTERNAL, "unknown rule '%s'", name);
    *kind = (afl_rule_kind)rule;
    *K = (int)afl_cfg_int(cfg, "defense", "buffer");
    memset(p, 0, sizeof *p);
    p->trim = (int)afl_cfg_int(cfg, "defense", "trim");
    p->f = (int)afl_cfg_int(cfg, "defense", "f");
    p->m = (int)afl_cfg_int(cfg, "defense", "multikrum_m");
    p->tau = afl_cfg_real(cfg, "defense", "cc_tau");
    p->iters = (int)afl_cfg_int(cfg, "defense", "cc_iters");
    return AFL_OK;
}

const char *afl_rule_name(afl_rule_kind k)
{
    return (unsigned)k < sizeof rule_names / sizeof rule_names[0] ? rule_names[k] : "?";
}

int afl_rule_check(afl_rule_kind k, const afl_rule_params *p, int n, const char *key_prefix,
                   afl_err *err)
{
    const char *pre = key_prefix ? key_prefix : "";
    if (n < 1)
        return afl_err_set(err, AFL_EINPUT, "rule %s needs at least one input", afl_rule_name(k));
    switch (k) {
    case AFL_RULE_MEAN:
    case AFL_RULE_MEDIAN: return AFL_OK;
    case AFL_RULE_TRIMMED_MEAN:
        if (p->trim < 0 || 2 * p->trim >= n)
            return afl_err_set(err, AFL_EINPUT,
                               "rule trimmed_mean drops %strim = %d values from each end of %d "
                               "inputs; it needs 2 x trim < %d",
                               pre, p->trim, n, n);
        return AFL_OK;
    case AFL_RULE_KRUM:
    case AFL_RULE_MULTIKRUM:
    case AFL_RULE_BULYAN: {
        int four = k == AFL_RULE_BULYAN;
        if (n < 3)
            return afl_err_set(err, AFL_EINPUT,
                               "rule %s needs at least 3 inputs (2f + 3 with f = 0), but it "
                               "aggregates %d",
                               afl_rule_name(k), n);
        if (p->f < 0 || (four ? n < 4 * p->f + 3 : n < 2 * p->f + 3))
            return afl_err_set(err, AFL_EINPUT,
                               "rule %s with %sf = %d needs at least %s = %d inputs, but it "
                               "aggregates %d; lower %sf (at most %d) or aggregate more inputs",
                               afl_rule_name(k), pre, p->f, four ? "4f + 3" : "2f + 3",
                               four ? 4 * p->f + 3 : 2 * p->f + 3, n, pre,
                               four ? (n - 3) / 4 : (n - 3) / 2);
        if (k == AFL_RULE_MULTIKRUM && (p->m < 0 || p->m > n))
            return afl_err_set(err, AFL_EINPUT,
                               "rule multikrum averages m = %d of %d inputs; it needs 0 <= m <= "
                               "%d (0 = n - f)",
                               p->m, n, n);
        return AFL_OK;
    }
    case AFL_RULE_CENTERED_CLIPPING:
        if (!(p->tau > 0.0) || p->iters < 1)
            return afl_err_set(err, AFL_EINPUT,
                               "rule centered_clipping needs tau > 0 and iters >= 1 (tau = %g, "
                               "iters = %d)",
                               p->tau, p->iters);
        if (!p->cc_v)
            return afl_err_set(err, AFL_EINTERNAL, "centered_clipping needs a centre vector");
        return AFL_OK;
    }
    return afl_err_set(err, AFL_EINTERNAL, "unknown rule %d", (int)k);
}

int afl_rule_apply(afl_rules_ws *ws, afl_rule_kind k, const afl_rule_params *p,
                   const float *const *x, int n, size_t d, float *out, afl_err *err)
{
    switch (k) {
    case AFL_RULE_MEAN: return afl_rule_mean(ws, x, n, d, out, err);
    case AFL_RULE_MEDIAN: return afl_rule_median(ws, x, n, d, out, err);
    case AFL_RULE_TRIMMED_MEAN: return afl_rule_trimmed_mean(ws, x, n, d, p->trim, out, err);
    case AFL_RULE_KRUM: return afl_rule_krum(ws, x, n, d, p->f, NULL, NULL, out, err);
    case AFL_RULE_MULTIKRUM:
        return afl_rule_multikrum(ws, x, n, d, p->f, p->m > 0 ? p->m : n - p->f, NULL, out, err);
    case AFL_RULE_BULYAN: return afl_rule_bulyan(ws, x, n, d, p->f, NULL, out, err);
    case AFL_RULE_CENTERED_CLIPPING: {
        if (!p->cc_v)
            return afl_err_set(err, AFL_EINTERNAL, "centered_clipping needs a centre vector");
        int rc = afl_rule_centered_clipping(ws, x, n, d, p->tau, p->iters, p->cc_v, err);
        memcpy(out, p->cc_v, d * sizeof *out);
        return rc;
    }
    }
    return afl_err_set(err, AFL_EINTERNAL, "unknown rule %d", (int)k);
}
