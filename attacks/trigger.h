/* attacks/trigger.h - what every backdoor attack shares: the trigger, batch poisoning and a few
 * update-vector helpers (norms, saturating scaling, exact top-k selection).
 *
 * The trigger (SecureAFL, arXiv:2604.03862, section 6.1): a trigger_size x trigger_size square
 * (default 4x4) in the bottom-right corner of the image, on every channel, of random pixel values
 * drawn once per run from the attack's own stream (ctx->rng): one U[0,1) value per (channel, row,
 * column), mapped into the normalised input scale with ctx->pixel, so the trigger survives any
 * data.normalize.  trigger_margin (default 0) moves the square that many rows and columns away
 * from the corner (the paper CNN never sees rows/columns 26-27 of a 28x28 image).  Tabular data
 * has no corner: the fallback pattern sets the last trigger_size features (the last `margin`
 * features left alone) to values drawn the same way (U[0,1) through ctx->pixel with the feature as
 * channel, i.e. raw feature values in [0,1)).
 *
 * DBA (Xie et al., ICLR 2020): the global trigger is split into `parts` local patterns.  Images:
 * the square is cut into a grid of pr x pc blocks with pr * pc = parts, pr the largest divisor
 * of parts <= sqrt(parts) (4 parts = the four quadrants); if that grid does not fit in the
 * square, the pixels are split in raster order into parts equal runs.  Tabular: the pattern's
 * features are split into parts contiguous runs.  Every channel of a pixel belongs to the same
 * part.  Malicious client k uses part k mod parts; ASR is measured with the whole trigger.
 */
#ifndef AFL_TRIGGER_H
#define AFL_TRIGGER_H

#include <stddef.h>
#include <stdint.h>

#include "attacks/attack.h"

/* The backdoor keys every backdoor attack declares (in its [attack] table). */
/* clang-format off */
#define AFL_BACKDOOR_PARAMS                                                                        \
    {"target", AFL_P_INT, "0", 0, 1e6, NULL,                                                       \
     "backdoor target label (SecureAFL does not state it; FLDetector's code uses 0)"},             \
    {"poison_fraction", AFL_P_REAL, "0.5", 0, 1, NULL,                                             \
     "fraction of each malicious minibatch replaced by triggered copies labelled target "          \
     "(round(fraction * B) examples, the first ones of the shuffled batch)"},                      \
    {"trigger_size", AFL_P_INT, "4", 1, 1024, NULL,                                                \
     "side of the square trigger in the bottom-right corner (SecureAFL: 4); tabular data: "        \
     "the last trigger_size features"},                                                            \
    {"trigger_margin", AFL_P_INT, "0", 0, 1024, NULL,                                              \
     "rows and columns between the square and the bottom-right corner (0 = in the corner, "        \
     "SecureAFL; the paper CNN never sees the last 2 rows and columns, see "                       \
     "docs/attacks-backdoor.md); tabular: features left after the pattern"}
/* clang-format on */

typedef struct afl_trigger {
    int dim;    /* length of one example */
    int n;      /* cells: (channel, pixel) pairs, or features */
    int parts;  /* DBA local patterns (1 = no split) */
    int *idx;   /* (n) position of each cell in an example */
    float *val; /* (n) its value, normalised input scale */
    int *part;  /* (n) the local pattern it belongs to, in [0, parts) */
} afl_trigger;

/* Draws the trigger from ctx->rng: a size x size square `margin` rows and columns away from the
 * bottom-right corner (tabular: size features ending `margin` features before the last one);
 * size is clamped to what fits, margin to leave at least one pixel.  parts in [1, pixels of the
 * pattern] (AFL_EINPUT otherwise).  An empty example (dim 0, no dataset) gives an empty trigger. */
int afl_trigger_create(afl_trigger *t, const afl_attack_ctx *ctx, int size, int margin, int parts,
                       afl_err *err);
void afl_trigger_free(afl_trigger *t);
/* Writes the trigger into one example x (dim): local pattern `part`, or all of it if part < 0. */
void afl_trigger_apply(const afl_trigger *t, float *x, int part);
/* DBA: the local pattern of malicious client `client` (client mod parts). */
int afl_trigger_part_of(const afl_trigger *t, int client);

/* round(fraction * B), half up, in [0, B]. */
int afl_poison_count(double fraction, int B);

/* What every backdoor attack keeps: trigger, target label, poisoned fraction. */
typedef struct afl_backdoor {
    afl_trigger trig;
    int target;
    double fraction;
    size_t d;
} afl_backdoor;

/* Reads target, poison_fraction, trigger_size and trigger_margin from [attack]; checks target <
 * n_classes (when the dataset is known). */
int afl_backdoor_init(afl_backdoor *b, const afl_attack_ctx *ctx, int parts, afl_err *err);
void afl_backdoor_free(afl_backdoor *b);
/* x: (B, dim), y: (B).  The first afl_poison_count(fraction, B) examples get the trigger
 * (local pattern `part`, < 0 = whole) and the target label. */
void afl_backdoor_poison(const afl_backdoor *b, int part, float *x, int32_t *y, int B);

/* ---- update-vector helpers ---------------------------------------------------------- */

/* l2 norm of v (d), accumulated in double; +inf if some entry is not finite. */
double afl_vec_norm(const float *v, size_t d);
/* v (d) <- s * v, computed in double and saturated to +-FLT_MAX (no inf from finite input);
 * s = 0 zeroes v (even non-finite entries); a NaN s leaves v as it is. */
void afl_vec_scale(float *v, size_t d, double s);
/* out (d) <- mean of the view's known updates; returns 0 (out untouched) if there are none. */
int afl_vec_known_mean(const afl_attack_view *v, size_t d, float *out);
/* Mean l2 norm of the view's known updates; NAN if there are none. */
double afl_vec_known_norm(const afl_attack_view *v, size_t d);

/* Exact selection by magnitude: mask (d) <- 1 for exactly k coordinates with the largest
 * |score[i]| (or the smallest, if smallest != 0), 0 elsewhere; ties go to the lower index; NaN
 * and inf count as the largest magnitude.  keys: (d) scratch.  k is clamped to [0, d]. */
void afl_vec_select(const float *score, size_t d, size_t k, int smallest, uint32_t *keys,
                    unsigned char *mask);

#endif
