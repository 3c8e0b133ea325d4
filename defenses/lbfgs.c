/* defenses/lbfgs.c - compact L-BFGS Hessian-vector products (see lbfgs.h).
 *
 * Sources: Byrd, Nocedal, Schnabel, Math. Programming 63 (1994) 129-156,
 * Theorem 2.3 (compact representation of the BFGS matrix); SecureAFL (Gao et
 * al., AsiaCCS 2026) Algorithm 2; FLDetector (Zhang et al., KDD 2022)
 * `lbfgs()` (zaixizhang/FLDetector @ 7e6a414, train_mnist.py).
 */
#include "defenses/lbfgs.h"

#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relative cutoff below which M counts as singular. */
#define RCOND_MIN 1e-12

/* Products are summed in 16 float lanes within blocks of DOT_BLOCK elements
 * (lane l takes the elements j = l mod 16 in order), each block's lanes are
 * added in a fixed tree in double, and the blocks in order in double.  No
 * reassociation is left to the compiler, so every instruction-set clone
 * returns the same bits; the float part sums at most DOT_BLOCK/16 = 64 terms. */
#define DOT_BLOCK 1024

static inline double lanes16(const float *acc)
{
    double h[8];
    for (int l = 0; l < 8; l++)
        h[l] = (double)acc[l] + (double)acc[l + 8];
    return ((h[0] + h[4]) + (h[2] + h[6])) + ((h[1] + h[5]) + (h[3] + h[7]));
}

/* a, b (n), n <= DOT_BLOCK */
static inline double dot_block(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[16] = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += a[j + l] * b[j + l];
    for (int l = 0; j < n; j++, l++)
        acc[l] += a[j] * b[j];
    return lanes16(acc);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) double
afl_dot(const float *a, const float *b, size_t n)
{
    /* a, b (n) */
    double tot = 0;
    for (size_t j0 = 0; j0 < n; j0 += DOT_BLOCK)
        tot += dot_block(a + j0, b + j0, j0 + DOT_BLOCK <= n ? DOT_BLOCK : n - j0);
    return tot;
}

static int all_finite(const float *v, size_t n)
{
    /* v (n); x - x is 0 for finite x and NaN otherwise */
    float acc = 0;
    for (size_t j = 0; j < n; j++)
        acc += v[j] - v[j];
    return acc == 0;
}

int afl_lbfgs_init(afl_lbfgs *lb, int cap, size_t d)
{
    memset(lb, 0, sizeof *lb);
    lb->cap = cap;
    lb->d = d;
    if (cap < 1 || cap > 64)
        return -1;
    lb->curv_c = -2;
    lb->mu_max = 0;
    size_t c = (size_t)cap, c2 = 2 * c;
    lb->S = malloc(c * d * sizeof(float));
    lb->Y = malloc(c * d * sizeof(float));
    lb->StS = calloc(c * c, sizeof(double));
    lb->StY = calloc(c * c, sizeof(double));
    lb->YtY = calloc(c * c, sizeof(double));
    lb->U = calloc(c2 * c2, sizeof(double));
    lb->V = calloc(c2 * c2, sizeof(double));
    lb->sv = calloc(c2, sizeof(double));
    lb->work = calloc(3 * c2, sizeof(double));
    if ((d && (!lb->S || !lb->Y)) || !lb->StS || !lb->StY || !lb->YtY || !lb->U || !lb->V ||
        !lb->sv || !lb->work)
        return -1;
    return 0;
}

void afl_lbfgs_free(afl_lbfgs *lb)
{
    free(lb->S);
    free(lb->Y);
    free(lb->StS);
    free(lb->StY);
    free(lb->YtY);
    free(lb->U);
    free(lb->V);
    free(lb->sv);
    free(lb->work);
    memset(lb, 0, sizeof *lb);
}

void afl_lbfgs_clear(afl_lbfgs *lb)
{
    lb->m = 0;
    lb->head = 0;
    lb->ok = 0;
    lb->mu = lb->mu_raw = 0;
}

static int slot(const afl_lbfgs *lb, int j)
{
    return (lb->head + j) % lb->cap;
}

const float *afl_lbfgs_s(const afl_lbfgs *lb, int j)
{
    return lb->S + (size_t)slot(lb, j) * lb->d;
}

const float *afl_lbfgs_y(const afl_lbfgs *lb, int j)
{
    return lb->Y + (size_t)slot(lb, j) * lb->d;
}

double afl_lbfgs_ss(const afl_lbfgs *lb, int j)
{
    int r = slot(lb, j);
    return lb->StS[r * lb->cap + r];
}

double afl_lbfgs_yy(const afl_lbfgs *lb, int j)
{
    int r = slot(lb, j);
    return lb->YtY[r * lb->cap + r];
}

void afl_lbfgs_refactor(afl_lbfgs *lb)
{
    int m = lb->m, c = lb->cap, m2 = 2 * m;
    lb->ok = 0;
    if (m == 0)
        return;
    int last = slot(lb, m - 1);
    double sy = lb->StY[last * c + last], ss = lb->StS[last * c + last];
    lb->mu_raw = sy / ss;
    lb->mu = lb->mu_raw;
    if (lb->mu_max > 0 && lb->mu > lb->mu_max)
        lb->mu = lb->mu_max;
    if (!(lb->mu > 0) || !isfinite(lb->mu))
        return;
    /* M (2m x 2m) = [[-D, L^T], [L, mu S^T S]], chronological order */
    gsl_matrix_view U = gsl_matrix_view_array(lb->U, (size_t)m2, (size_t)m2);
    gsl_matrix_view V = gsl_matrix_view_array(lb->V, (size_t)m2, (size_t)m2);
    gsl_vector_view sv = gsl_vector_view_array(lb->sv, (size_t)m2);
    gsl_vector_view work = gsl_vector_view_array(lb->work, (size_t)m2);
    for (int i = 0; i < m; i++) {
        int ri = slot(lb, i);
        for (int j = 0; j < m; j++) {
            int rj = slot(lb, j);
            double a_ij = lb->StY[ri * c + rj]; /* s_i^T y_j */
            double a_ji = lb->StY[rj * c + ri]; /* s_j^T y_i */
            /* top-left: -D */
            gsl_matrix_set(&U.matrix, (size_t)i, (size_t)j, i == j ? -a_ij : 0.0);
            /* top-right: L^T, (L^T)_ij = L_ji = s_j^T y_i for j > i */
            int up = lb->tril_inclusive ? j >= i : j > i, low = lb->tril_inclusive ? i >= j : i > j;
            gsl_matrix_set(&U.matrix, (size_t)i, (size_t)(m + j), up ? a_ji : 0.0);
            /* bottom-left: L_ij = s_i^T y_j for i > j */
            gsl_matrix_set(&U.matrix, (size_t)(m + i), (size_t)j, low ? a_ij : 0.0);
            /* bottom-right: mu S^T S */
            gsl_matrix_set(&U.matrix, (size_t)(m + i), (size_t)(m + j),
                           lb->mu * lb->StS[ri * c + rj]);
        }
    }
    for (int i = 0; i < m2; i++)
        for (int j = 0; j < m2; j++)
            if (!isfinite(gsl_matrix_get(&U.matrix, (size_t)i, (size_t)j)))
                return;
    if (gsl_linalg_SV_decomp(&U.matrix, &V.matrix, &sv.vector, &work.vector) != 0)
        return;
    double smax = lb->sv[0], smin = lb->sv[m2 - 1];
    if (!(smax > 0) || !(smin > RCOND_MIN * smax))
        return;
    lb->ok = 1;
}

int afl_lbfgs_push(afl_lbfgs *lb, const float *s, const float *y)
{
    size_t d = lb->d;
    int c = lb->cap;
    if (c <= 0 || !all_finite(s, d) || !all_finite(y, d))
        return 0;
    double ss = afl_dot(s, s, d), yy = afl_dot(y, y, d), sy = afl_dot(s, y, d);
    if (!(ss > 0) || !isfinite(ss) || !isfinite(yy) || !isfinite(sy))
        return 0;
    if (lb->curv_c >= -1 && !(sy > lb->curv_c * sqrt(ss) * sqrt(yy)))
        return 0;
    int r; /* the slot that receives the pair */
    if (lb->m < c) {
        r = slot(lb, lb->m);
        lb->m++;
    } else {
        r = lb->head;
        lb->head = (lb->head + 1) % c;
    }
    memcpy(lb->S + (size_t)r * d, s, d * sizeof(float));
    memcpy(lb->Y + (size_t)r * d, y, d * sizeof(float));
    /* Gram entries of the new slot against every held pair (4m dots) */
    for (int j = 0; j < lb->m; j++) {
        int q = slot(lb, j);
        if (q == r)
            continue;
        const float *sq = lb->S + (size_t)q * d, *yq = lb->Y + (size_t)q * d;
        double s_sq = afl_dot(s, sq, d), s_yq = afl_dot(s, yq, d);
        double sq_y = afl_dot(sq, y, d), y_yq = afl_dot(y, yq, d);
        lb->StS[r * c + q] = lb->StS[q * c + r] = s_sq;
        lb->StY[r * c + q] = s_yq;
        lb->StY[q * c + r] = sq_y;
        lb->YtY[r * c + q] = lb->YtY[q * c + r] = y_yq;
    }
    lb->StS[r * c + r] = ss;
    lb->StY[r * c + r] = sy;
    lb->YtY[r * c + r] = yy;
    afl_lbfgs_refactor(lb);
    return 1;
}

void afl_lbfgs_dots(const afl_lbfgs *lb, const float *v, double *Stv, double *Ytv)
{
    for (int j = 0; j < lb->m; j++) {
        Stv[j] = afl_dot(afl_lbfgs_s(lb, j), v, lb->d);
        Ytv[j] = afl_dot(afl_lbfgs_y(lb, j), v, lb->d);
    }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void
afl_lbfgs_dots_diff(const afl_lbfgs *lb, const float *x, const float *z, double *Stv, double *Ytv,
                    double *vv)
{
    /* x, z (d); v = x - z one DOT_BLOCK at a time, each block dotted with every
     * s_j, y_j and itself exactly as afl_dot blocks it, so the results equal
     * afl_dot(., v) bit for bit. */
    size_t d = lb->d;
    int m = lb->m;
    double r[2 * 64 + 1] = {0};
    float v[DOT_BLOCK];
    for (size_t j0 = 0; j0 < d; j0 += DOT_BLOCK) {
        size_t n = j0 + DOT_BLOCK <= d ? DOT_BLOCK : d - j0;
        for (size_t j = 0; j < n; j++)
            v[j] = x[j0 + j] - z[j0 + j];
        for (int q = 0; q < m; q++) {
            r[q] += dot_block(afl_lbfgs_s(lb, q) + j0, v, n);
            r[m + q] += dot_block(afl_lbfgs_y(lb, q) + j0, v, n);
        }
        r[2 * m] += dot_block(v, v, n);
    }
    for (int j = 0; j < m; j++) {
        Stv[j] = r[j];
        Ytv[j] = r[m + j];
    }
    if (vv)
        *vv = r[2 * m];
}

int afl_lbfgs_coef(const afl_lbfgs *lb, const double *Stv, const double *Ytv, double *a, double *b)
{
    int m = lb->m, m2 = 2 * m;
    for (int j = 0; j < m; j++)
        a[j] = b[j] = 0;
    if (!lb->ok)
        return -1;
    /* rhs (2m) = [Y^T v ; mu S^T v]; l = V diag(1/sv) U^T rhs */
    double rhs[2 * 64], tmp[2 * 64];
    if (m > 64)
        return -1;
    for (int j = 0; j < m; j++) {
        rhs[j] = Ytv[j];
        rhs[m + j] = lb->mu * Stv[j];
    }
    for (int i = 0; i < m2; i++) {
        double acc = 0;
        for (int k = 0; k < m2; k++)
            acc += lb->U[k * m2 + i] * rhs[k];
        tmp[i] = acc / lb->sv[i];
    }
    for (int i = 0; i < m2; i++) {
        double acc = 0;
        for (int k = 0; k < m2; k++)
            acc += lb->V[i * m2 + k] * tmp[k];
        rhs[i] = acc; /* l_i */
    }
    /* B v = mu v - Y l[0:m] - mu S l[m:2m] */
    for (int j = 0; j < m; j++) {
        a[j] = rhs[j];
        b[j] = lb->mu * rhs[m + j];
    }
    return 0;
}

double afl_lbfgs_norm2(const afl_lbfgs *lb, double vv, const double *Stv, const double *Ytv,
                       const double *a, const double *b)
{
    /* |mu v - Y a - S b|^2 = mu^2 vv - 2 mu (a.Ytv + b.Stv) + a'YtY a + 2 a'YtS b + b'StS b */
    int m = lb->m, c = lb->cap;
    double mu = lb->mu, r = mu * mu * vv;
    for (int i = 0; i < m; i++) {
        int ri = slot(lb, i);
        r -= 2 * mu * (a[i] * Ytv[i] + b[i] * Stv[i]);
        for (int j = 0; j < m; j++) {
            int rj = slot(lb, j);
            r += a[i] * a[j] * lb->YtY[ri * c + rj] + b[i] * b[j] * lb->StS[ri * c + rj] +
                 2 * a[i] * b[j] * lb->StY[rj * c + ri]; /* y_i^T s_j */
        }
    }
    return r > 0 ? r : 0;
}

int afl_lbfgs_hvp(const afl_lbfgs *lb, const float *v, float *out)
{
    size_t d = lb->d;
    int m = lb->m;
    double Stv[64], Ytv[64], a[64], b[64];
    if (!lb->ok || m > 64) {
        memset(out, 0, d * sizeof *out);
        return -1;
    }
    afl_lbfgs_dots(lb, v, Stv, Ytv);
    afl_lbfgs_coef(lb, Stv, Ytv, a, b);
    /* out (d) = mu v - sum_j a_j y_j - sum_j b_j s_j */
    float mu = (float)lb->mu;
    for (size_t k = 0; k < d; k++)
        out[k] = mu * v[k];
    for (int j = 0; j < m; j++) {
        const float *sj = afl_lbfgs_s(lb, j), *yj = afl_lbfgs_y(lb, j);
        float aj = (float)a[j], bj = (float)b[j];
        for (size_t k = 0; k < d; k++)
            out[k] -= aj * yj[k] + bj * sj[k];
    }
    return 0;
}

int afl_lbfgs_ckpt(afl_lbfgs *lb, afl_ckpt *ck, const char *prefix)
{
    char tag[256];
#define TAG(name) (snprintf(tag, sizeof tag, "%s.%s", prefix, name), tag)
    int cap = lb->cap, m = lb->m, head = lb->head;
    size_t d = lb->d;
    afl_ckpt_int(ck, TAG("cap"), &cap);
    afl_ckpt_size(ck, TAG("d"), &d);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (cap != lb->cap || d != lb->d)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "%s: the checkpoint holds L-BFGS buffers of %d pairs of length %zu, "
                             "this configuration has %d pairs of length %zu",
                             prefix, cap, d, lb->cap, lb->d);
    afl_ckpt_int(ck, TAG("m"), &m);
    afl_ckpt_int(ck, TAG("head"), &head);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (m < 0 || m > lb->cap || head < 0 || head >= lb->cap)
        return afl_ckpt_fail(ck, AFL_EINPUT, "%s: %d pairs from ring slot %d do not fit %d slots",
                             prefix, m, head, lb->cap);
    lb->m = m;
    lb->head = head;
    /* the held pairs, oldest first, each in its ring slot (the other slots are unused) */
    for (int j = 0; j < m; j++) {
        size_t r = (size_t)slot(lb, j);
        afl_ckpt_floats(ck, TAG("s"), lb->S + r * d, d);
        afl_ckpt_floats(ck, TAG("y"), lb->Y + r * d, d);
    }
    size_t cc = (size_t)lb->cap * (size_t)lb->cap, m2 = 2 * (size_t)m;
    afl_ckpt_doubles(ck, TAG("StS"), lb->StS, cc);
    afl_ckpt_doubles(ck, TAG("StY"), lb->StY, cc);
    afl_ckpt_doubles(ck, TAG("YtY"), lb->YtY, cc);
    /* the factorisation as it is (not recomputed: bit for bit what was in use) */
    afl_ckpt_f64(ck, TAG("mu"), &lb->mu);
    afl_ckpt_f64(ck, TAG("mu_raw"), &lb->mu_raw);
    afl_ckpt_int(ck, TAG("ok"), &lb->ok);
    afl_ckpt_doubles(ck, TAG("U"), lb->U, m2 * m2);
    afl_ckpt_doubles(ck, TAG("V"), lb->V, m2 * m2);
    afl_ckpt_doubles(ck, TAG("sv"), lb->sv, m2);
#undef TAG
    return afl_ckpt_status(ck);
}

void afl_lbfgs_push_global(afl_lbfgs *lb, const float *w_cur, const float *step, float *prev_w,
                           float *prev_step, int *have_prev, float *s_tmp, float *y_tmp)
{
    size_t d = lb->d;
    if (*have_prev) {
        for (size_t j = 0; j < d; j++) {
            s_tmp[j] = w_cur[j] - prev_w[j];
            y_tmp[j] = step[j] - prev_step[j];
        }
        afl_lbfgs_push(lb, s_tmp, y_tmp);
    }
    memcpy(prev_w, w_cur, d * sizeof(float));
    memcpy(prev_step, step, d * sizeof(float));
    *have_prev = 1;
}
