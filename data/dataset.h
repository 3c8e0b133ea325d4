/* data/dataset.h - in-memory datasets: loaders (IDX, CSV, synthetic), subsets, normalisation.
 *
 * A dataset is two flat arrays: x is (n, dim) row-major with each example stored NCHW, y is (n).
 * Every loader fills an `afl_dataset` that the caller frees with afl_dataset_free.  On failure a
 * loader leaves its output zeroed (safe to free) and returns an AFL_E* code with a message in err.
 *
 * Sources: IDX format, Y. LeCun, C. Cortes, C. Burges, "The MNIST database of handwritten digits",
 * http://yann.lecun.com/exdb/mnist/ (section "FILE FORMATS FOR THE MNIST DATABASE").
 */
#ifndef AFL_DATASET_H
#define AFL_DATASET_H

#include <stdint.h>

#include "sim/err.h"
#include "sim/rng.h"

/* Loaders refuse more classes than this (a label of 4e9 would otherwise size every per-class
 * table in the simulator). */
#define AFL_DATASET_MAX_CLASSES 65536
/* Loaders refuse data whose raw size exceeds this many bytes (IDX) or values (CSV). */
#define AFL_DATASET_MAX_BYTES (1LL << 31)

typedef struct {
    int n;       /* number of examples */
    int c, h, w; /* shape of one example; tabular data: c = 1, h = 1, w = n_features */
    int dim;     /* c*h*w */
    int n_classes;
    int is_image; /* 1 for IDX/image data (raw values 0..255), 0 for tabular */
    float *x;     /* (n, dim) row-major, each example NCHW; NULL when compacted */
    int32_t *y;   /* (n), labels in [0, n_classes) */
    /* compact storage (afl_dataset_compact): code (n, dim) indexes table (c, 256), the exact
     * float value of each code in each channel; x is then NULL.  Read rows with
     * afl_dataset_row. */
    uint8_t *code;
    float *table;
} afl_dataset;

/* Replaces x by one byte per value when every channel takes at most 256 distinct float values
 * (images: 256 pixel levels, whatever the normalisation), keeping the exact values in a table:
 * rows read back bit for bit.  A training set of Fashion-MNIST shrinks from 188 MB to 47 MB.
 * Returns 1 if compacted, 0 if left as it was (too many distinct values, or no memory). */
int afl_dataset_compact(afl_dataset *d);

/* Example i (dim floats): a pointer into x, or decoded into buf (dim) when compacted. */
static inline const float *afl_dataset_row(const afl_dataset *d, int i, float *buf)
{
    size_t dim = (size_t)d->dim;
    if (d->x)
        return d->x + (size_t)i * dim;
    const uint8_t *c = d->code + (size_t)i * dim;
    size_t plane = dim / (size_t)d->c;
    for (int ch = 0; ch < d->c; ch++) {
        const float *t = d->table + (size_t)ch * 256;
        for (size_t k = 0; k < plane; k++)
            buf[(size_t)ch * plane + k] = t[c[(size_t)ch * plane + k]];
    }
    return buf;
}

/* Frees x, y; zeroes the struct; NULL-safe. */
void afl_dataset_free(afl_dataset *d);

/* Allocates x (n, c*h*w) and y (n), zero-filled, and sets the shape; n_classes = 0, is_image = 0.
 * n >= 0, c, h, w >= 1.  AFL_EINPUT when the sizes overflow, AFL_ENOMEM when out of memory. */
int afl_dataset_alloc(afl_dataset *d, int n, int c, int h, int w, afl_err *err);

/* out = the examples src[idx[0]], ..., src[idx[n-1]] in that order (same shape, n_classes and
 * is_image as src).  Every idx[i] must be in [0, src->n). */
int afl_dataset_gather(const afl_dataset *src, const int *idx, int n, afl_dataset *out,
                       afl_err *err);

/* AFL_EINPUT unless n_classes is in [1, AFL_DATASET_MAX_CLASSES] and every label in
 * [0, n_classes); the message names the first bad example. */
int afl_dataset_check_labels(const afl_dataset *d, afl_err *err);

/* A uniformly random subset of n examples (without replacement, order of the original kept);
 * n >= src->n copies all (and draws nothing from rng).  n must be >= 1.  out must not be src. */
int afl_dataset_subset(const afl_dataset *src, int n, afl_rng *rng, afl_dataset *out, afl_err *err);

/* IDX images (magic 0x00000803, ubyte, dims n,rows,cols) + labels (0x00000801, ubyte, n).  Gzip is
 * detected by content.  Pixels stored as float 0..255, c = 1, is_image = 1, n_classes = max
 * label+1. Every error: AFL_EINPUT (AFL_EIO when a file cannot be opened or read), naming the file
 * and what was expected. */
int afl_idx_load(const char *images_path, const char *labels_path, afl_dataset *out, afl_err *err);

/* CSV with a header row (RFC 4180 quoting, read with libcsv).  label_column: the header name of the
 * label column.  All other columns are numeric features; labels are non-negative integers
 * (written as "3" or "3.0").  Shape c = 1, h = 1, w = n_features, is_image = 0,
 * n_classes = max label + 1.  Errors name file:line (and the column) and what was expected. */
int afl_csv_dataset_load(const char *path, const char *label_column, afl_dataset *out,
                         afl_err *err);

/* Train and test must agree in shape and kind (image or tabular); n_classes of both is set to the
 * max of the two.  AFL_EINPUT naming both files otherwise. */
int afl_dataset_check_pair(afl_dataset *train, afl_dataset *test, const char *train_name,
                           const char *test_name, afl_err *err);

/* Gaussian mixture: class means m_k ~ N(0, I_dim) * separation (drawn first, k = 0..C-1, each mean
 * coordinate by coordinate), then train examples (labels balanced: i mod C, then shuffled, then the
 * features of example 0, 1, ...), then test examples the same way; x = m_y + N(0, I_dim).  All from
 * the one rng given.  c = 1, h = 1, w = dim, is_image = 0, n_classes = C.
 * n_classes >= 1, dim >= 1, n_train >= 1, n_test >= 0 (n_test = 0 gives an empty test set). */
int afl_synth_generate(int n_classes, int dim, int n_train, int n_test, double separation,
                       afl_rng *rng, afl_dataset *train, afl_dataset *test, afl_err *err);

typedef enum { AFL_NORM_NONE = 0, AFL_NORM_UNIT = 1, AFL_NORM_STANDARDIZE = 2 } afl_norm;

/* The affine map applied, per channel (images) or feature (tabular) i:
 *     x_out = (x_in * pre - mean[i]) / scale[i],   pre = 1/255 for image data, 1 for tabular.
 * So for images mean/scale are in the 0..1 pixel scale (Fashion-MNIST standardize: about 0.2860
 * and 0.3530, torchvision's Normalize constants); for tabular unit mode mean = min and
 * scale = max - min.  n = 0 (and NULL arrays) for AFL_NORM_NONE. */
typedef struct {
    int n;         /* channels (images) or features (tabular) */
    double *mean;  /* (n) */
    double *scale; /* (n), never 0 */
} afl_norm_stats;

/* Statistics always come from the TRAINING set and are applied to both (test may be NULL).
 * Images: unit = x/255; standardize = x/255 then per-channel (x-mean)/std over all pixels of that
 * channel in train.  Tabular: unit = per-feature min-max to [0,1] (constant features -> 0);
 * standardize = per-feature (x-mean)/std (population std; std 0 -> only centre).  Accumulated in
 * double in a fixed order (deterministic).  stats (may be NULL) receives the map used; free it
 * with afl_norm_stats_free.  Call once: normalising twice divides images by 255 twice. */
int afl_normalize(afl_norm mode, afl_dataset *train, afl_dataset *test, afl_norm_stats *stats,
                  afl_err *err);

/* Applies a map computed by afl_normalize to another dataset of the same layout (a held-out or
 * trusted set); pre follows d->is_image.  AFL_EINPUT when the shape does not match. */
int afl_norm_apply(const afl_norm_stats *s, afl_dataset *d, afl_err *err);

/* Frees mean and scale and zeroes the struct; NULL-safe. */
void afl_norm_stats_free(afl_norm_stats *s);

/* "none", "unit", "standardize" (NULL for an unknown value). */
const char *afl_norm_name(afl_norm mode);

#endif
