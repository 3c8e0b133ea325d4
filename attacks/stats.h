/* attacks/stats.h - the numeric helpers the attacks share: saturation to float, norms and
 * scaling of update vectors, the attacker's reference norm / update, coordinate-wise statistics
 * of the known updates, pairwise squared distances, the NDSS perturbations, gamma search and
 * Min-Max / Min-Sum oracle, and the g <- f g attacks (signflip, amplify).
 *
 * Each helper is the code it replaced, moved here unchanged (same float/double types, same
 * order of every summation), so the attacks' outputs are bit-for-bit what they were; each says
 * which attacks it came from.
 */
#ifndef AFL_ATTACK_STATS_H
#define AFL_ATTACK_STATS_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "attacks/attack.h"

/* ---- saturation to float --------------------------------------------------------------- */

/* v as a float: NaN -> 0, beyond +-FLT_MAX -> +-FLT_MAX (from gaussian, ipm, lie, trim, minmax,
 * adaptive). */
static inline float afl_clampf(double v)
{
    if (v != v)
        return 0.0f;
    if (v > FLT_MAX)
        return FLT_MAX;
    if (v < -FLT_MAX)
        return -FLT_MAX;
    return (float)v;
}

/* v as a float saturated to +-FLT_MAX; NaN stays NaN (from krum_attack, 3dfed, afl_vec_scale). */
static inline float afl_satf(double v)
{
    return (float)(v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v);
}

/* qsort comparator for doubles, ascending (NaN compares equal to everything). */
int afl_cmp_double(const void *a, const void *b);

/* ---- update vectors (moved from trigger.c) -------------------------------------------------- */

/* sum of v[i]^2 over v (d), accumulated in double in index order. */
double afl_vec_sqnorm(const float *v, size_t d);
/* l2 norm of v (d), accumulated in double; +inf if some entry is not finite. */
double afl_vec_norm(const float *v, size_t d);
/* v (d) <- s * v, computed in double and saturated to +-FLT_MAX (no inf from finite input);
 * s = 0 zeroes v (even non-finite entries); a NaN s leaves v as it is. */
void afl_vec_scale(float *v, size_t d, double s);
/* out (d) <- mean of the view's known updates (sum * (1 / n), to float); returns 0 (out
 * untouched) if there are none. */
int afl_vec_known_mean(const afl_attack_view *v, size_t d, float *out);
/* Mean l2 norm of the view's known updates; NAN if there are none. */
double afl_vec_known_norm(const afl_attack_view *v, size_t d);
/* The attacker's reference norm (pgd, 3dfed): the mean norm of the known updates, or, when
 * there are none or it is not finite, the norm of the genuine update (g (d), the update being
 * crafted, if the view carries none).  Can be +inf. */
double afl_vec_ref_norm(const afl_attack_view *v, const float *g, size_t d);
/* The attacker's reference update (neurotoxin, 3dfed): scratch (d) <- the mean of the known
 * updates (afl_vec_known_mean) and returns scratch; with none, returns the view's genuine
 * update, or (no view or genuine) a copy of g (d) in scratch. */
const float *afl_vec_ref_mean(const afl_attack_view *v, const float *g, size_t d, float *scratch);

/* Exact selection by magnitude: mask (d) <- 1 for exactly k coordinates with the largest
 * |score[i]| (or the smallest, if smallest != 0), 0 elsewhere; ties go to the lower index; NaN
 * and inf count as the largest magnitude.  keys: (d) scratch.  k is clamped to [0, d]. */
void afl_vec_select(const float *score, size_t d, size_t k, int smallest, uint32_t *keys,
                    unsigned char *mask);

/* ---- coordinate-wise statistics of n updates x (n, d) ---------------------------------------- */

/* mu (d) <- mean of x_1..x_n (n >= 1): summed in double over i = 0..n-1, then divided by n
 * (from adaptive mean_of; gaussian, ipm, lie, trim, minmax, krum_attack had the same loops). */
void afl_col_mean(const float *const *x, int n, size_t d, double *mu);
/* var (d) <- sum_i (x_i - mu)^2 / (n - ddof), mu (d) from afl_col_mean; n - ddof >= 1.
 * ddof 0: population variance (lie, trim, gaussian fldetector); 1: unbiased (torch.std;
 * minmax/adaptive std perturbation).  var may not alias mu. */
void afl_col_var(const float *const *x, int n, size_t d, const double *mu, int ddof, double *var);

/* D (n, n) <- ||x_i - x_l||^2 for every pair.  Within column blocks of 256 the squares are
 * summed in eight float lanes (vectorisable; relative error ~1e-8), the block sums in double;
 * the blocks keep the n vectors' slices in cache.  The order of the additions is fixed, so
 * the result never depends on timing.  (From krum_attack, minmax and adaptive.) */
void afl_pair_sqdist(const float *const *x, int n, size_t d, double *D);

/* ---- NDSS 2021 (Shejwalkar & Houmansadr): perturbations, gamma search, Min-Max/Min-Sum ---- */

/* attack.perturbation (vrt1shjwlkr/NDSS21-Model-Poisoning dev_type) */
enum { AFL_PERT_UNIT, AFL_PERT_SIGN, AFL_PERT_STD };
/* attack.perturbation of cfg: "unit", "sign", else std. */
int afl_pert_parse(const afl_config *cfg);
/* p (d) <- the perturbation for base b (d) and the known updates x (n, d): unit -b / ||b|| (0
 * if ||b|| is 0 or not finite), sign -sign(b), std -std(x) (unbiased like torch.std; 0 if
 * n < 2).  mu (d): the mean of x (afl_col_mean), read by std only.  (From minmax and adaptive.) */
void afl_pert_fill(int kind, const double *b, const double *mu, const float *const *x, int n,
                   size_t d, double *p);

/* NDSS Algorithm 1 (= the code): the largest gamma in [0, 2 init) that ok(env, gamma) accepts,
 * 0 if none:
 *   gamma = init; step = init; succ = 0
 *   while |succ - gamma| > tol (at most 200 times):
 *       if ok(gamma): succ = gamma; gamma += step / 2  else: gamma -= step / 2
 *       step /= 2
 * (from adaptive ndss_search; minmax had it inline). */
double afl_ndss_search(double init, double tol, int (*ok)(void *env, double gamma), void *env);

/* The Min-Max / Min-Sum oracle for candidates base + gamma p against n updates x:
 * ||base + gamma p - x_i||^2 = a_i + 2 gamma b_i + gamma^2 c (a quadratic in gamma, O(n) per
 * call after the O(n d) setup; Min-Max's threshold needs the O(n^2 d) pairwise distances).
 *   minmax: max_i ||g' - x_i||^2 <= max_{i,j} ||x_i - x_j||^2
 *   minsum: sum_i ||g' - x_i||^2 <= min_i sum_j ||x_i - x_j||^2 = min_i (n a_i + sum_j a_j)
 * (from minmax; adaptive's Min-Max fallback was the same code). */
typedef struct afl_quad_oracle {
    double *a, *b; /* (cap) per update: ||base - x_i||^2, <p, base - x_i> */
    double *D;     /* (cap, cap) pairwise squared distances */
    int cap;
    double c, thr; /* ||p||^2, the threshold */
    int n, minsum;
} afl_quad_oracle;

/* Grows the buffers to n updates; 0 when out of memory (the oracle stays usable). */
int afl_quad_reserve(afl_quad_oracle *o, int n);
void afl_quad_free(afl_quad_oracle *o);
/* Sets the oracle up for candidates base + gamma p (base, p: (d)) against x (n, d), n >= 1;
 * 0 if out of memory. */
int afl_quad_setup(afl_quad_oracle *o, const double *base, const double *p, const float *const *x,
                   int n, size_t d, int minsum);
/* Does base + gamma p pass?  env: the afl_quad_oracle (an afl_ndss_search oracle). */
int afl_quad_ok(void *env, double gamma);

/* ---- g <- f g: signflip (f = -scale) and amplify (f = factor) -------------------------------- */

/* A state {d, f}; f is kept as a float and g[i] <- f * g[i] is a float product. */
int afl_factor_create(const afl_attack_ctx *ctx, float f, void **out, afl_err *err);
void afl_factor_craft(void *state, const afl_attack_view *view, float *g, afl_rng *rng);

#endif
