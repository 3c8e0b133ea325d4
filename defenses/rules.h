/* defenses/rules.h - robust aggregation rules over n vectors of length d.
 *
 * Sources (specs/algorithms.md section 4):
 *   mean                FedAvg with equal weights (McMahan et al., AISTATS 2017)
 *   median, trimmed     Yin, Chen, Ramchandran, Bartlett, "Byzantine-Robust Distributed
 *                       Learning: Towards Optimal Statistical Rates", ICML 2018
 *   krum, multi-krum    Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine Learning with
 *                       Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017
 *   bulyan              El Mhamdi, Guerraoui, Rouault, "The Hidden Vulnerability of
 *                       Distributed Learning in Byzantium", ICML 2018
 *   centered clipping   Karimireddy, He, Jaggi, "Learning from History for Byzantine Robust
 *                       Optimization", ICML 2021
 *   fltrust             Cao, Fang, Liu, Gong, "FLTrust: Byzantine-robust Federated Learning
 *                       via Trust Bootstrapping", NDSS 2021
 *
 * Layout.  The inputs are n vectors given as an array of n pointers, x[i] pointing at d
 * floats (x is "(n, d)" row by row; the rows need not be contiguous, so a caller can drop
 * a vector without copying).  The output `out` is (d) and must not overlap any x[i].
 *
 * Work space.  Every rule takes an afl_rules_ws created for at most n_max vectors; it
 * holds a column block buffer (n_max x block), an n_max x n_max distance matrix, scores,
 * indices and a cached sorting network, and does not depend on d.  A rule never allocates.
 * A workspace is not thread-safe: one per thread.
 *
 * Determinism.  Every sum is accumulated in double in a fixed order (vector index
 * ascending, or sorted order for the coordinate-wise rules), so a result depends only on
 * the inputs, never on timing.  The coordinate-wise rules (median, trimmed mean, Bulyan's
 * last step) are also invariant to permuting the inputs.
 *
 * Non-finite and huge inputs (policy).  Callers should drop vectors with non-finite
 * entries before aggregating (afl_rules_all_finite); the buffered defenses do.  The rules
 * themselves never crash and never return NaN silently:
 *   - order-based rules (median, trimmed mean, Bulyan's coordinate step) sort with a total
 *     order in which NaN counts as +Inf, so a minority of NaN/Inf entries is ignored like
 *     any other outlier;
 *   - distance-based rules (Krum, Multi-Krum, Bulyan's selection) compute squared distances
 *     in double (1e30 entries do not overflow) and treat a NaN distance as +Inf, so a
 *     non-finite vector gets score +Inf and is picked only if nothing else is left;
 *   - centered clipping and FLTrust give zero weight to a vector whose norm (or whose
 *     distance to the centre) is not finite;
 *   - finally every rule checks its output: if any coordinate is not finite (e.g. the mean
 *     of a NaN, or a median when most inputs are Inf) `out` is set to zero and AFL_ENUMERIC
 *     is returned.
 * Impossible parameters (Krum with n <= 2f+2, Bulyan with n < 4f+3, trimming 2b >= n,
 * n > n_max, ...) return AFL_EINPUT with a message naming the parameter.
 */
#ifndef AFL_RULES_H
#define AFL_RULES_H

#include <stddef.h>

#include "sim/err.h"

typedef struct afl_rules_ws afl_rules_ws;

/* A work space for up to n_max vectors (of any length); NULL when out of memory. */
afl_rules_ws *afl_rules_ws_create(int n_max);
void afl_rules_ws_free(afl_rules_ws *ws);

/* 1 if all d entries of x are finite. */
int afl_rules_all_finite(const float *x, size_t d);

/* x is (n, d) as n row pointers; out is (d).  out_j = (1/n) sum_i x_ij. */
int afl_rule_mean(afl_rules_ws *ws, const float *const *x, int n, size_t d, float *out,
                  afl_err *err);

/* out_j = median_i x_ij; even n: mean of the two middle values. */
int afl_rule_median(afl_rules_ws *ws, const float *const *x, int n, size_t d, float *out,
                    afl_err *err);

/* out_j = mean of the n - 2b values left after dropping the b smallest and b largest of
 * x_1j..x_nj; needs 0 <= 2b < n. */
int afl_rule_trimmed_mean(afl_rules_ws *ws, const float *const *x, int n, size_t d, int b,
                          float *out, afl_err *err);

/* Krum: score_i = sum of the squared distances from x_i to its n - f - 2 nearest other
 * vectors; out = x_k with k = argmin score (ties: lowest index).  Needs n >= 2f + 3.
 * chosen (may be NULL) receives k; scores (n, may be NULL) receives every score. */
int afl_rule_krum(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f, int *chosen,
                  double *scores, float *out, afl_err *err);

/* Multi-Krum: the Krum scores computed once, out = mean of the m vectors with the lowest
 * scores (ties: lowest index).  Needs n >= 2f + 3 and 1 <= m <= n.  selected (m, may be
 * NULL) receives their indices, best first. */
int afl_rule_multikrum(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f, int m,
                       int *selected, float *out, afl_err *err);

/* Bulyan: theta = n - 2f vectors selected by iterated Krum (each pick removed from the
 * set; the neighbour count |R| - f - 2 is kept >= 1 in the last picks), then per
 * coordinate the mean of the beta = theta - 2f selected values closest to their median.
 * Needs n >= 4f + 3.  selected (theta, may be NULL) receives the picks in order. */
int afl_rule_bulyan(afl_rules_ws *ws, const float *const *x, int n, size_t d, int f, int *selected,
                    float *out, afl_err *err);

/* Centered clipping: v is (d), in: v_0 (e.g. the previous aggregate), out: v_L after
 *   v_l = v_{l-1} + (1/n) sum_i clip_tau(x_i - v_{l-1}),  clip_tau(z) = z min(1, tau/||z||)
 * for l = 1..iters.  Needs tau > 0, iters >= 1.  On AFL_ENUMERIC v is set to zero. */
int afl_rule_centered_clipping(afl_rules_ws *ws, const float *const *x, int n, size_t d, double tau,
                               int iters, float *v, afl_err *err);

/* FLTrust aggregate with reference g0 (d):
 *   TS_i = max(0, cos(x_i, g0)),  out = sum_i TS_i (||g0||/||x_i||) x_i / sum_i TS_i.
 * A vector with zero or non-finite norm gets TS_i = 0.  If every TS_i is 0 (or g0 is zero)
 * out = 0 and *total_trust = 0 (the 0/0 guard).  trust (n, may be NULL) receives TS_i,
 * cosine (n, may be NULL) the raw cosines (NAN where undefined), total_trust (may be NULL)
 * sum_i TS_i.  A non-finite g0 is AFL_ENUMERIC. */
int afl_rule_fltrust(afl_rules_ws *ws, const float *const *x, int n, size_t d, const float *g0,
                     double *trust, double *cosine, double *total_trust, float *out, afl_err *err);

/* ---- one rule chosen by name (for defenses with a `rule` key) ----------------------- */

typedef enum {
    AFL_RULE_MEAN,
    AFL_RULE_MEDIAN,
    AFL_RULE_TRIMMED_MEAN,
    AFL_RULE_KRUM,
    AFL_RULE_MULTIKRUM,
    AFL_RULE_BULYAN,
    AFL_RULE_CENTERED_CLIPPING
} afl_rule_kind;

/* "mean|median|trimmed_mean|krum|multikrum|bulyan|centered_clipping" (the ENUM choices). */
#define AFL_RULE_CHOICES "mean|median|trimmed_mean|krum|multikrum|bulyan|centered_clipping"

typedef struct afl_rule_params {
    int trim;    /* trimmed_mean: b dropped from each end */
    int f;       /* krum, multikrum, bulyan: assumed number of Byzantine inputs */
    int m;       /* multikrum: number averaged; 0 = n - f */
    double tau;  /* centered_clipping: clipping radius */
    int iters;   /* centered_clipping: iterations L */
    float *cc_v; /* centered_clipping: (d) centre, in v_0, out v_L (the caller keeps it) */
} afl_rule_params;

/* The parameter-table entries (sim/param.h) of a rule run over a buffer of K updates, the
 * [defense] keys buffer, rule, trim, f, multikrum_m, cc_tau, cc_iters; WHEN names the
 * setting in every help text ("buffered", "aggregate = buffered").  Shared by
 * defenses/buffered.c and defenses/fldetector.c, read back by afl_rule_from_cfg. */
/* clang-format off */
#define AFL_RULE_BUFFER_PARAMS(WHEN)                                                              \
    {"buffer", AFL_P_INT, "10", 1, 100000, NULL,                                                 \
     WHEN ": number K of arrivals aggregated per step (the K-th arrival flushes)"},               \
    {"rule", AFL_P_ENUM, "median", 0, 0, AFL_RULE_CHOICES,                                       \
     WHEN ": robust rule applied to the K buffered updates"},                                     \
    {"trim", AFL_P_INT, "1", 0, 100000, NULL,                                                    \
     WHEN ", rule=trimmed_mean: values dropped from each end per coordinate (needs 2 trim < "     \
     "buffer)"},                                                                                  \
    {"f", AFL_P_INT, "1", 0, 100000, NULL,                                                       \
     WHEN ", rule=krum/multikrum/bulyan: assumed number of Byzantine updates in a buffer "        \
     "(krum needs buffer >= 2f+3, bulyan buffer >= 4f+3)"},                                       \
    {"multikrum_m", AFL_P_INT, "0", 0, 100000, NULL,                                             \
     WHEN ", rule=multikrum: number of best-scored updates averaged (0 = buffer - f)"},           \
    {"cc_tau", AFL_P_REAL, "100", 1e-12, 1e30, NULL,                                             \
     WHEN ", rule=centered_clipping: clipping radius tau"},                                       \
    {"cc_iters", AFL_P_INT, "1", 1, 1000, NULL,                                                  \
     WHEN ", rule=centered_clipping: clipping iterations L"}
/* clang-format on */

/* Reads the keys of AFL_RULE_BUFFER_PARAMS from the [defense] section of cfg (an
 * afl_config, sim/config.h): *K = buffer, *kind = rule, *p = the rest (p->cc_v = NULL). */
struct afl_config;
int afl_rule_from_cfg(const struct afl_config *cfg, int *K, afl_rule_kind *kind, afl_rule_params *p,
                      afl_err *err);

/* The kind named s (one of AFL_RULE_CHOICES); -1 if none. */
int afl_rule_parse(const char *s);
const char *afl_rule_name(afl_rule_kind k);
/* Checks that rule k with parameters p can aggregate n vectors (AFL_EINPUT otherwise,
 * naming key_prefix+parameter in the message, e.g. "defense."). */
int afl_rule_check(afl_rule_kind k, const afl_rule_params *p, int n, const char *key_prefix,
                   afl_err *err);
/* Runs rule k; for centered clipping out receives a copy of the new centre. */
int afl_rule_apply(afl_rules_ws *ws, afl_rule_kind k, const afl_rule_params *p,
                   const float *const *x, int n, size_t d, float *out, afl_err *err);

#endif
