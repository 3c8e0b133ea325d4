/* defenses/lbfgs.h - compact limited-memory BFGS Hessian-vector products.
 *
 * Sources: R. H. Byrd, J. Nocedal, R. B. Schnabel, "Representations of
 * quasi-Newton matrices and their use in limited memory methods", Math.
 * Programming 63 (1994), Theorem 2.3 (the compact form of the direct BFGS
 * matrix B); SecureAFL (Gao et al., AsiaCCS 2026) Algorithm 2; FLDetector
 * (Zhang et al., KDD 2022) `lbfgs()` in zaixizhang/FLDetector train_mnist.py.
 *
 * With m curvature pairs (s_j, y_j), oldest first, S = [s_0..s_{m-1}] and
 * Y = [y_0..y_{m-1}] (d x m), A = S^T Y, D = diag(A), L = strictly lower part of A
 * (L_ij = s_i^T y_j for i > j) and mu = y_{m-1}^T s_{m-1} / s_{m-1}^T s_{m-1}:
 *
 *     B v = mu v - [Y, mu S] l,   M l = [Y^T v ; mu S^T v],
 *     M = [[ -D, L^T ], [ L, mu S^T S ]]                        (2m x 2m)
 *
 * which is SecureAFL's Algorithm 2 (J = L, B_k = D) and FLDetector's
 * [[sigma S^T S, L], [L^T, -D]] with the blocks swapped.  B approximates the
 * Hessian (not its inverse): B s_{m-1} = y_{m-1} (secant equation).
 *
 * Cost model (what makes this usable at d = 140k for 50 clients per round):
 * the Gram matrices S^T S, S^T Y, Y^T Y (m x m, double) are updated when a
 * pair is pushed (4m+3 dot products of length d) and M is factorised then
 * (SVD of 2m x 2m); a product B v afterwards costs the 2m dot products
 * S^T v, Y^T v, one 2m x 2m back-substitution, and one pass
 * mu v - Y a - S b.  Callers that already hold S^T v and Y^T v (e.g. tracked
 * incrementally) use afl_lbfgs_coef and fuse the last pass with their own.
 *
 * Numbers: vectors are float, every dot product is accumulated in double in a
 * fixed order (deterministic on any machine); the small system is solved in
 * double with GSL.
 */
#ifndef AFL_LBFGS_H
#define AFL_LBFGS_H

#include <stddef.h>

#include "sim/ckpt.h"

typedef struct afl_lbfgs {
    int cap;      /* buffer size (most pairs kept); the oldest pair is dropped */
    int m;        /* pairs held, 0..cap */
    int head;     /* ring slot of the oldest pair */
    size_t d;
    float *S, *Y; /* (cap, d) each, by ring slot */
    double *StS, *StY, *YtY; /* (cap, cap) by ring slot: StY[r*cap+q] = s_r^T y_q */
    /* safeguards (set by the owner; see afl_lbfgs_init for the defaults) */
    double curv_c; /* accept a pair iff s^T y > curv_c |s| |y|; curv_c < -1: accept any finite pair */
    double mu_max; /* mu is capped at mu_max (<= 0: no cap) */
    int tril_inclusive; /* 1: L includes the diagonal (a misreading of "Tril" kept only to
                           test it; the compact form needs the strict part, the default 0) */
    /* factorisation of M for the current pairs */
    double mu;     /* after the cap */
    double mu_raw; /* before the cap */
    int ok;        /* 1 when B is usable (m >= 1, mu > 0 finite, M not singular) */
    double *U, *V, *sv; /* SVD of M: M = U diag(sv) V^T, (2cap x 2cap), (2cap x 2cap), (2cap) */
    double *work;       /* 6 cap doubles */
} afl_lbfgs;

/* Dot product of two float vectors of length n, accumulated in double in a
 * fixed order (blocks of 8 lanes).  Exposed because every caller of this
 * module needs the same deterministic kernel. */
double afl_dot(const float *a, const float *b, size_t n);

/* Allocates the buffers for at most cap pairs of length d.  Defaults:
 * curv_c = -2 (no curvature test), mu_max = 0 (no cap).  Returns 0, or -1 when
 * out of memory (lb is then left freeable). */
int afl_lbfgs_init(afl_lbfgs *lb, int cap, size_t d);
void afl_lbfgs_free(afl_lbfgs *lb);
/* Forgets every pair. */
void afl_lbfgs_clear(afl_lbfgs *lb);

/* Checkpoints (sim/ckpt.h) the pairs, the Gram matrices and the factorisation (mu,
 * mu_raw, ok, the SVD of M) into or from an lb made by afl_lbfgs_init with the same cap
 * and d; tags start with `prefix` (e.g. "fldetector.lbfgs").  The safeguards curv_c,
 * mu_max and tril_inclusive are the owner's (set from its configuration) and are not
 * saved.  Returns afl_ckpt_status(ck). */
int afl_lbfgs_ckpt(afl_lbfgs *lb, afl_ckpt *ck, const char *prefix);

/* Offers the pair (s, y) (length d each; not kept by reference).  A pair is
 * refused when s or y is not finite, s = 0, or it fails the curvature test.
 * Returns 1 if the pair was added (the oldest one is dropped when full), 0 if
 * refused.  The factorisation is refreshed either way. */
int afl_lbfgs_push(afl_lbfgs *lb, const float *s, const float *y);

/* The FLDetector-style global pair of consecutive server steps (FLDetector; SecureAFL's
 * pairs = global): when *have_prev, pushes s = w_cur - prev_w, y = step - prev_step (built
 * in the scratch vectors s_tmp, y_tmp); then prev_w <- w_cur, prev_step <- step and
 * *have_prev = 1.  All vectors (lb->d). */
void afl_lbfgs_push_global(afl_lbfgs *lb, const float *w_cur, const float *step, float *prev_w,
                           float *prev_step, int *have_prev, float *s_tmp, float *y_tmp);
/* Refreshes mu and the factorisation (after changing curv_c or mu_max). */
void afl_lbfgs_refactor(afl_lbfgs *lb);

/* The j-th oldest pair's vectors (0 <= j < m). */
const float *afl_lbfgs_s(const afl_lbfgs *lb, int j);
const float *afl_lbfgs_y(const afl_lbfgs *lb, int j);

/* s_j^T s_j and y_j^T y_j of the j-th oldest pair (from the Gram matrices). */
double afl_lbfgs_ss(const afl_lbfgs *lb, int j);
double afl_lbfgs_yy(const afl_lbfgs *lb, int j);

/* Stv[j] = s_j^T v, Ytv[j] = y_j^T v for j = 0..m-1 (oldest first); v is (d). */
void afl_lbfgs_dots(const afl_lbfgs *lb, const float *v, double *Stv, double *Ytv);
/* The same for v = x - z (x, z: d each), formed on the fly in float (so the
 * result equals afl_lbfgs_dots of the float difference) without storing v;
 * vv (may be NULL) receives v^T v.  One pass over x, z, S and Y. */
void afl_lbfgs_dots_diff(const afl_lbfgs *lb, const float *x, const float *z, double *Stv,
                         double *Ytv, double *vv);
/* Given Stv, Ytv (m each), the coefficients with
 *     B v = mu v - sum_j a[j] y_j - sum_j b[j] s_j      (a, b: m each).
 * Returns 0, or -1 when B is not usable (a, b then zero). */
int afl_lbfgs_coef(const afl_lbfgs *lb, const double *Stv, const double *Ytv, double *a,
                   double *b);
/* |B v|^2 from vv = v^T v, the dots and the coefficients (no pass over d). */
double afl_lbfgs_norm2(const afl_lbfgs *lb, double vv, const double *Stv, const double *Ytv,
                       const double *a, const double *b);
/* out (d) <- B v (out may not alias v).  Returns 0, or -1 when B is not
 * usable (out is then zero). */
int afl_lbfgs_hvp(const afl_lbfgs *lb, const float *v, float *out);

#endif
