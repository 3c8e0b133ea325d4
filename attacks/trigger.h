/* attacks/trigger.h - what every backdoor attack shares: the trigger, batch poisoning, the
 * hooks and create/destroy boilerplate, and the scaling rule of scaling/dba.  The update-vector
 * helpers (norms, saturating scaling, exact top-k selection) are in stats.h, included here.
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
#include "attacks/stats.h"

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

/* ---- the backdoor attacks' hooks ------------------------------------------------------------
 * Every backdoor attack's state struct starts with its afl_backdoor, so these serve as its
 * hooks (they were copied in scaling.c, dba.c, pgd.c, neurotoxin.c and dfed3.c). */

/* *out <- a zeroed state of `size` bytes, first member an afl_backdoor, read with
 * afl_backdoor_init (`parts` local patterns).  On error the state is released with destroy
 * and the error code returned (*out untouched). */
int afl_backdoor_alloc(const afl_attack_ctx *ctx, size_t size, int parts,
                       void (*destroy)(void *state), void **out, afl_err *err);
/* destroy for a state that owns nothing besides its afl_backdoor. */
void afl_backdoor_destroy(void *state);
/* poison_batch with the whole trigger (every backdoor but DBA). */
void afl_backdoor_poison_all(void *state, int client, float *x, int32_t *y, int B, afl_rng *rng);
/* target and trigger hooks; the trigger is the whole (global) one, as the ASR is measured. */
int afl_backdoor_target(void *state);
void afl_backdoor_trigger(void *state, float *x);

/* The scaling rule of scaling.c and dba.c: send lambda * g, lambda = attack.scale, 0 meaning
 * clients.n (FLTrust; FLDetector's scaling_attack).  Creates such a state with `parts` local
 * patterns; its destroy is afl_backdoor_destroy. */
typedef struct afl_scaled_backdoor {
    afl_backdoor b;
    double lambda;
} afl_scaled_backdoor;
int afl_scaled_backdoor_create(const afl_attack_ctx *ctx, int parts, void **out, afl_err *err);
/* g (d) <- lambda g, saturated (afl_vec_scale) */
void afl_scaled_backdoor_craft(void *state, const afl_attack_view *view, float *g, afl_rng *rng);

#endif
