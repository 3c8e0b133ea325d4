/* data/dataset.c - dataset allocation, freeing, gathering, random subsets, train/test checks.
 *
 * Random subset: selection sampling, D. E. Knuth, TAOCP vol. 2, 3.4.2 Algorithm S (each example
 * is kept with probability (still needed)/(still left), which gives every n-subset the same
 * probability and keeps the original order).
 */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

void afl_dataset_free(afl_dataset *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->y);
    free(d->code);
    free(d->table);
    memset(d, 0, sizeof *d);
}

int afl_dataset_compact(afl_dataset *d)
{
    if (!d->x || d->n <= 0 || d->c < 1 || d->dim % d->c != 0)
        return 0;
    size_t n = (size_t)d->n, dim = (size_t)d->dim, plane = dim / (size_t)d->c;
    uint8_t *code = malloc(n * dim);
    float *table = calloc((size_t)d->c * 256, sizeof *table);
    if (!code || !table) {
        free(code), free(table);
        return 0;
    }
    /* per channel: an open-addressing hash of the distinct values' bit patterns (1024 slots
     * for at most 256 values), codes given in order of first appearance */
    enum { SLOTS = 1024 };
    uint32_t key[SLOTS];
    int16_t val[SLOTS];
    for (int ch = 0; ch < d->c; ch++) {
        int nd = 0;
        for (int k = 0; k < SLOTS; k++)
            val[k] = -1;
        float *t = table + (size_t)ch * 256;
        for (size_t i = 0; i < n; i++) {
            const float *row = d->x + i * dim + (size_t)ch * plane;
            uint8_t *out = code + i * dim + (size_t)ch * plane;
            for (size_t k = 0; k < plane; k++) {
                uint32_t b;
                memcpy(&b, &row[k], 4);
                uint32_t h = (b * 2654435761u) >> 22; /* 10 bits */
                while (val[h] >= 0 && key[h] != b)
                    h = (h + 1) & (SLOTS - 1);
                if (val[h] < 0) {
                    if (nd == 256) {
                        free(code), free(table);
                        return 0;
                    }
                    key[h] = b;
                    val[h] = (int16_t)nd;
                    t[nd++] = row[k];
                }
                out[k] = (uint8_t)val[h];
            }
        }
    }
    free(d->x);
    d->x = NULL;
    d->code = code;
    d->table = table;
    return 1;
}

int afl_dataset_alloc(afl_dataset *d, int n, int c, int h, int w, afl_err *err)
{
    memset(d, 0, sizeof *d);
    if (n < 0 || c < 1 || h < 1 || w < 1)
        return afl_err_set(err, AFL_EINPUT,
                           "invalid dataset shape n=%d c=%d h=%d w=%d (expected n >= 0 and "
                           "c, h, w >= 1)",
                           n, c, h, w);
    long long dim = (long long)c * h;
    if (dim > 0x7fffffffLL || (dim *= w) > 0x7fffffffLL)
        return afl_err_set(err, AFL_EINPUT, "example shape %dx%dx%d has more than 2^31 values", c,
                           h, w);
    /* (n, dim) floats: both factors < 2^31, so the product fits in 64 bits. */
    unsigned long long total = (unsigned long long)n * (unsigned long long)dim;
    if (total > (unsigned long long)SIZE_MAX / sizeof(float))
        return afl_err_set(err, AFL_EINPUT, "dataset of %d examples of %lld values is too large", n,
                           dim);
    d->x = calloc(total ? (size_t)total : 1, sizeof(float));
    d->y = calloc(n ? (size_t)n : 1, sizeof(int32_t));
    if (!d->x || !d->y) {
        afl_dataset_free(d);
        return afl_err_set(err, AFL_ENOMEM,
                           "out of memory allocating a dataset of %d examples of %lld values", n,
                           dim);
    }
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    d->dim = (int)dim;
    return AFL_OK;
}

int afl_dataset_gather(const afl_dataset *src, const int *idx, int n, afl_dataset *out,
                       afl_err *err)
{
    if (!out || out == src)
        return afl_err_set(err, AFL_EINTERNAL, "afl_dataset_gather: invalid output");
    memset(out, 0, sizeof *out);
    if (!src || (n > 0 && !idx) || n < 0)
        return afl_err_set(err, AFL_EINTERNAL, "afl_dataset_gather: invalid arguments");
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= src->n)
            return afl_err_set(err, AFL_EINTERNAL,
                               "afl_dataset_gather: index %d is %d, outside [0, %d)", i, idx[i],
                               src->n);
    afl_dataset d;
    int rc = afl_dataset_alloc(&d, n, src->c, src->h, src->w, err);
    if (rc)
        return rc;
    size_t dim = (size_t)src->dim;
    for (int i = 0; i < n; i++) {
        float *row = d.x + (size_t)i * dim;
        const float *r = afl_dataset_row(src, idx[i], row);
        if (r != row)
            memcpy(row, r, dim * sizeof(float));
        d.y[i] = src->y[idx[i]];
    }
    d.n_classes = src->n_classes;
    d.is_image = src->is_image;
    *out = d;
    return AFL_OK;
}

int afl_dataset_subset(const afl_dataset *src, int n, afl_rng *rng, afl_dataset *out, afl_err *err)
{
    if (!src || !out || out == src)
        return afl_err_set(err, AFL_EINTERNAL, "afl_dataset_subset: invalid arguments");
    memset(out, 0, sizeof *out);
    if (n < 1)
        return afl_err_set(err, AFL_EINPUT, "subset size is %d; expected at least 1", n);
    if (n > src->n)
        n = src->n;
    if (n < src->n && !rng)
        return afl_err_set(err, AFL_EINTERNAL, "afl_dataset_subset: no random stream");
    int *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx)
        return afl_err_set(err, AFL_ENOMEM, "out of memory choosing a subset of %d examples", n);
    if (n == src->n) {
        for (int i = 0; i < n; i++)
            idx[i] = i;
    } else {
        int k = 0;
        for (int i = 0; i < src->n && k < n; i++)
            if (afl_rng_below(rng, (uint64_t)(src->n - i)) < (uint64_t)(n - k))
                idx[k++] = i;
    }
    int rc = afl_dataset_gather(src, idx, n, out, err);
    free(idx);
    return rc;
}

int afl_dataset_check_pair(afl_dataset *train, afl_dataset *test, const char *train_name,
                           const char *test_name, afl_err *err)
{
    if (!train || !test)
        return afl_err_set(err, AFL_EINTERNAL, "afl_dataset_check_pair: invalid arguments");
    const char *tn = train_name ? train_name : "training set";
    const char *sn = test_name ? test_name : "test set";
    if (train->is_image != test->is_image)
        return afl_err_set(
            err, AFL_EINPUT, "%s is %s data but %s is %s data; expected both of the same kind", tn,
            train->is_image ? "image" : "tabular", sn, test->is_image ? "image" : "tabular");
    if (train->c != test->c || train->h != test->h || train->w != test->w) {
        if (train->is_image)
            return afl_err_set(err, AFL_EINPUT,
                               "%s has %dx%dx%d examples but %s has %dx%dx%d; expected the same "
                               "shape",
                               tn, train->c, train->h, train->w, sn, test->c, test->h, test->w);
        return afl_err_set(err, AFL_EINPUT,
                           "%s has %d features but %s has %d; expected the same features", tn,
                           train->dim, sn, test->dim);
    }
    int k = train->n_classes > test->n_classes ? train->n_classes : test->n_classes;
    train->n_classes = k;
    test->n_classes = k;
    return AFL_OK;
}

int afl_dataset_check_labels(const afl_dataset *d, afl_err *err)
{
    if (!d)
        return afl_err_set(err, AFL_EINTERNAL, "afl_dataset_check_labels: no dataset");
    if (d->n_classes < 1 || d->n_classes > AFL_DATASET_MAX_CLASSES)
        return afl_err_set(err, AFL_EINPUT, "dataset has %d classes; expected between 1 and %d",
                           d->n_classes, AFL_DATASET_MAX_CLASSES);
    for (int i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->n_classes)
            return afl_err_set(err, AFL_EINPUT,
                               "example %d has label %d; expected a label in [0, %d)", i,
                               (int)d->y[i], d->n_classes);
    return AFL_OK;
}
