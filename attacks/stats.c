/* attacks/stats.c - the numeric helpers the attacks share (see stats.h).  Every function is the
 * code it replaced, with the same types and order of operations; its origin is noted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/stats.h"

/* from krum_attack.c and adaptive.c */
int afl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- update vectors (from trigger.c unless noted) -------------------------------------------- */

/* the sum of afl_vec_norm; also krum_attack.c's ||b_i||^2 */
double afl_vec_sqnorm(const float *v, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += (double)v[i] * (double)v[i];
    return s;
}

double afl_vec_norm(const float *v, size_t d)
{
    double s = afl_vec_sqnorm(v, d);
    return isfinite(s) ? sqrt(s) : INFINITY;
}

void afl_vec_scale(float *v, size_t d, double s)
{
    if (isnan(s))
        return;
    if (s == 0) {
        memset(v, 0, d * sizeof *v); /* also clears inf and NaN entries */
        return;
    }
    for (size_t i = 0; i < d; i++) {
        if (v[i] == 0.0f)
            continue; /* 0 * inf stays 0 */
        v[i] = afl_satf(s * (double)v[i]);
    }
}

int afl_vec_known_mean(const afl_attack_view *v, size_t d, float *out)
{
    if (!v || v->n_known <= 0)
        return 0;
    double inv = 1.0 / (double)v->n_known;
    for (size_t i = 0; i < d; i++) {
        double s = 0;
        for (int k = 0; k < v->n_known; k++)
            s += (double)v->known[k][i];
        out[i] = (float)(s * inv);
    }
    return 1;
}

double afl_vec_known_norm(const afl_attack_view *v, size_t d)
{
    if (!v || v->n_known <= 0)
        return NAN;
    double s = 0;
    for (int k = 0; k < v->n_known; k++)
        s += afl_vec_norm(v->known[k], d);
    return s / (double)v->n_known;
}

/* from pgd.c (radius) and dfed3.c (norm bound) */
double afl_vec_ref_norm(const afl_attack_view *v, const float *g, size_t d)
{
    double r = afl_vec_known_norm(v, d);
    if (!isfinite(r))
        r = afl_vec_norm(v && v->genuine ? v->genuine : g, d);
    return r;
}

/* from neurotoxin.c and dfed3.c (dfed3 copied g, which it changes before using the reference;
 * neurotoxin read g before changing it, so the copy gives it the same values) */
const float *afl_vec_ref_mean(const afl_attack_view *v, const float *g, size_t d, float *scratch)
{
    if (afl_vec_known_mean(v, d, scratch))
        return scratch;
    if (v && v->genuine)
        return v->genuine;
    memcpy(scratch, g, d * sizeof *g);
    return scratch;
}

void afl_vec_select(const float *score, size_t d, size_t k, int smallest, uint32_t *keys,
                    unsigned char *mask)
{
    memset(mask, 0, d);
    if (k > d)
        k = d;
    if (k == 0)
        return;
    /* the bit pattern of a non-negative float orders like its value (inf and NaN on top) */
    for (size_t i = 0; i < d; i++) {
        float a = fabsf(score[i]);
        uint32_t u;
        memcpy(&u, &a, sizeof u);
        keys[i] = smallest ? ~u : u;
    }
    /* radix select, most significant byte first: the k-th largest key T and how many of the
     * keys equal to T still have to be taken (need) */
    uint32_t prefix = 0, pmask = 0;
    size_t need = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        size_t hist[256] = {0};
        for (size_t i = 0; i < d; i++)
            if ((keys[i] & pmask) == prefix)
                hist[(keys[i] >> shift) & 255u]++;
        int b = 255;
        for (; b > 0; b--) {
            if (hist[b] >= need)
                break;
            need -= hist[b];
        }
        prefix |= (uint32_t)b << shift;
        pmask |= 255u << shift;
    }
    for (size_t i = 0; i < d; i++) {
        if (keys[i] > prefix)
            mask[i] = 1;
        else if (keys[i] == prefix && need > 0) {
            mask[i] = 1;
            need--;
        }
    }
}

/* ---- coordinate-wise statistics -------------------------------------------------------------- */

void afl_col_mean(const float *const *x, int n, size_t d, double *mu)
{
    memset(mu, 0, d * sizeof *mu);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mu[j] += x[i][j];
    for (size_t j = 0; j < d; j++)
        mu[j] /= n;
}

void afl_col_var(const float *const *x, int n, size_t d, const double *mu, int ddof, double *var)
{
    memset(var, 0, d * sizeof *var);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double e = x[i][j] - mu[j];
            var[j] += e * e;
        }
    for (size_t j = 0; j < d; j++)
        var[j] /= n - ddof;
}

void afl_pair_sqdist(const float *const *x, int n, size_t d, double *D)
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

/* ---- NDSS ---------------------------------------------------------------------------------- */

/* from adaptive.c parse_pert (minmax.c had the same) */
int afl_pert_parse(const afl_config *cfg)
{
    const char *p = afl_cfg_str(cfg, "attack", "perturbation");
    return strcmp(p, "unit") == 0   ? AFL_PERT_UNIT
           : strcmp(p, "sign") == 0 ? AFL_PERT_SIGN
                                    : AFL_PERT_STD;
}

/* from adaptive.c perturbation (minmax.c had the same branches inline) */
void afl_pert_fill(int kind, const double *b, const double *mu, const float *const *x, int n,
                   size_t d, double *p)
{
    if (kind == AFL_PERT_STD) {
        if (n < 2) {
            memset(p, 0, d * sizeof *p);
            return;
        }
        afl_col_var(x, n, d, mu, 1, p); /* p holds the variance first, then -std */
        for (size_t j = 0; j < d; j++)
            p[j] = -sqrt(p[j]);
    } else if (kind == AFL_PERT_SIGN) {
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

/* from adaptive.c ndss_search */
double afl_ndss_search(double init, double tol, int (*ok)(void *env, double gamma), void *env)
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

/* from minmax.c reserve (adaptive.c minmax_setup grew its buffers the same way) */
int afl_quad_reserve(afl_quad_oracle *o, int n)
{
    if (n <= o->cap)
        return 1;
    double *a = realloc(o->a, (size_t)n * sizeof *a);
    if (!a)
        return 0;
    o->a = a;
    double *b = realloc(o->b, (size_t)n * sizeof *b);
    if (!b)
        return 0;
    o->b = b;
    double *D = realloc(o->D, (size_t)n * (size_t)n * sizeof *D);
    if (!D)
        return 0;
    o->D = D;
    o->cap = n;
    return 1;
}

void afl_quad_free(afl_quad_oracle *o)
{
    free(o->a);
    free(o->b);
    free(o->D);
    memset(o, 0, sizeof *o);
}

/* from minmax.c craft and adaptive.c minmax_setup */
int afl_quad_setup(afl_quad_oracle *o, const double *base, const double *p, const float *const *x,
                   int n, size_t d, int minsum)
{
    if (!afl_quad_reserve(o, n))
        return 0;
    /* a_i = ||base - x_i||^2, b_i = <p, base - x_i>, c = ||p||^2 */
    double c = 0;
    for (size_t j = 0; j < d; j++)
        c += p[j] * p[j];
    double sum_a = 0;
    for (int i = 0; i < n; i++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
            double e = base[j] - x[i][j];
            a += e * e;
            b += p[j] * e;
        }
        o->a[i] = a;
        o->b[i] = b;
        sum_a += a;
    }
    double thr;
    if (minsum) { /* min_i sum_j ||x_i - x_j||^2 = min_i (n a_i + sum_j a_j) */
        thr = INFINITY;
        for (int i = 0; i < n; i++) {
            double s = n * o->a[i] + sum_a;
            thr = s < thr ? s : thr;
        }
    } else { /* max_{i,j} ||x_i - x_j||^2 */
        afl_pair_sqdist(x, n, d, o->D);
        thr = 0;
        for (size_t i = 0; i < (size_t)n * (size_t)n; i++)
            thr = o->D[i] > thr ? o->D[i] : thr;
    }
    o->c = c;
    o->thr = thr;
    o->n = n;
    o->minsum = minsum;
    return 1;
}

/* from minmax.c accepts (adaptive.c minmax_ok was its Min-Max half) */
int afl_quad_ok(void *env, double gamma)
{
    const afl_quad_oracle *o = env;
    double worst = 0, sum = 0;
    for (int i = 0; i < o->n; i++) {
        double q = o->a[i] + 2 * gamma * o->b[i] + gamma * gamma * o->c;
        worst = q > worst ? q : worst;
        sum += q;
    }
    return (o->minsum ? sum : worst) <= o->thr;
}

/* ---- g <- f g (from signflip.c and amplify.c) ------------------------------------------------ */

typedef struct {
    size_t d;
    float f;
} factor_state;

int afl_factor_create(const afl_attack_ctx *ctx, float f, void **out, afl_err *err)
{
    factor_state *st = malloc(sizeof *st);
    if (!st)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    st->d = ctx->d;
    st->f = f;
    *out = st;
    return AFL_OK;
}

void afl_factor_craft(void *state, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)view, (void)rng;
    const factor_state *st = state;
    /* g (d) <- f g */
    for (size_t i = 0; i < st->d; i++)
        g[i] = st->f * g[i];
}
