/* data/normalize.c - input normalisation with statistics from the training set only.
 *
 * Images follow torchvision's ToTensor (x/255) and Normalize(mean, std) per channel, the usual
 * Fashion-MNIST constants being mean 0.2860, std 0.3530 (population statistics over all training
 * pixels).  Tabular data follow scikit-learn's MinMaxScaler (constant features map to 0) and
 * StandardScaler (population std; a zero std only centres).  All sums are in double, example by
 * example in index order, so the result does not depend on threads or platform.
 */
#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void afl_norm_stats_free(afl_norm_stats *s)
{
    if (!s)
        return;
    free(s->mean);
    free(s->scale);
    memset(s, 0, sizeof *s);
}

const char *afl_norm_name(afl_norm mode)
{
    switch (mode) {
    case AFL_NORM_NONE: return "none";
    case AFL_NORM_UNIT: return "unit";
    case AFL_NORM_STANDARDIZE: return "standardize";
    default: return NULL;
    }
}

/* Groups: channels for images (each h*w contiguous values per example), features for tabular. */
static int n_groups(const afl_dataset *d)
{
    return d->is_image ? d->c : d->dim;
}

static int stats_alloc(afl_norm_stats *s, int n, afl_err *err)
{
    s->n = n;
    s->mean = calloc((size_t)n, sizeof(double));
    s->scale = calloc((size_t)n, sizeof(double));
    if (!s->mean || !s->scale) {
        afl_norm_stats_free(s);
        return afl_err_set(err, AFL_ENOMEM, "out of memory for normalisation statistics");
    }
    return AFL_OK;
}

/* Images: per-channel statistics of x/255. */
static void image_stats(afl_norm mode, const afl_dataset *d, afl_norm_stats *s)
{
    size_t hw = (size_t)d->h * (size_t)d->w;
    double count = (double)d->n * (double)hw;
    for (int ch = 0; ch < d->c; ch++) {
        s->mean[ch] = 0.0;
        s->scale[ch] = 1.0;
        if (mode != AFL_NORM_STANDARDIZE)
            continue;
        double sum = 0.0;
        for (int i = 0; i < d->n; i++) {
            const float *p = d->x + (size_t)i * (size_t)d->dim + (size_t)ch * hw;
            for (size_t k = 0; k < hw; k++)
                sum += (double)p[k];
        }
        double mean = sum / count / 255.0;
        double ss = 0.0;
        for (int i = 0; i < d->n; i++) {
            const float *p = d->x + (size_t)i * (size_t)d->dim + (size_t)ch * hw;
            for (size_t k = 0; k < hw; k++) {
                double v = (double)p[k] / 255.0 - mean;
                ss += v * v;
            }
        }
        double sd = sqrt(ss / count);
        s->mean[ch] = mean;
        s->scale[ch] = sd > 0.0 ? sd : 1.0;
    }
}

/* Tabular: per-feature min-max or mean/std. */
static int tabular_stats(afl_norm mode, const afl_dataset *d, afl_norm_stats *s, afl_err *err)
{
    int dim = d->dim;
    if (mode == AFL_NORM_UNIT) {
        double *hi = malloc((size_t)dim * sizeof *hi);
        if (!hi)
            return afl_err_set(err, AFL_ENOMEM, "out of memory for normalisation statistics");
        for (int j = 0; j < dim; j++)
            s->mean[j] = hi[j] = (double)d->x[j];
        for (int i = 1; i < d->n; i++) {
            const float *p = d->x + (size_t)i * (size_t)dim;
            for (int j = 0; j < dim; j++) {
                if (p[j] < s->mean[j])
                    s->mean[j] = p[j];
                if (p[j] > hi[j])
                    hi[j] = p[j];
            }
        }
        for (int j = 0; j < dim; j++) {
            double r = hi[j] - s->mean[j];
            s->scale[j] = r > 0.0 ? r : 1.0;
        }
        free(hi);
        return AFL_OK;
    }
    for (int i = 0; i < d->n; i++) {
        const float *p = d->x + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++)
            s->mean[j] += (double)p[j];
    }
    for (int j = 0; j < dim; j++)
        s->mean[j] /= (double)d->n;
    for (int i = 0; i < d->n; i++) {
        const float *p = d->x + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++) {
            double v = (double)p[j] - s->mean[j];
            s->scale[j] += v * v;
        }
    }
    for (int j = 0; j < dim; j++) {
        double sd = sqrt(s->scale[j] / (double)d->n);
        s->scale[j] = sd > 0.0 ? sd : 1.0;
    }
    return AFL_OK;
}

int afl_norm_apply(const afl_norm_stats *s, afl_dataset *d, afl_err *err)
{
    if (!s || !d)
        return afl_err_set(err, AFL_EINTERNAL, "afl_norm_apply: invalid arguments");
    if (s->n == 0)
        return AFL_OK; /* AFL_NORM_NONE */
    if (n_groups(d) != s->n)
        return afl_err_set(err, AFL_EINPUT,
                           "normalisation statistics are for %d %s but the dataset has %d; "
                           "expected the same layout as the training set",
                           s->n, d->is_image ? "channels" : "features", n_groups(d));
    double pre = d->is_image ? 1.0 / 255.0 : 1.0;
    size_t hw = d->is_image ? (size_t)d->h * (size_t)d->w : 1;
    for (int i = 0; i < d->n; i++) {
        float *p = d->x + (size_t)i * (size_t)d->dim;
        for (int g = 0; g < s->n; g++) {
            double m = s->mean[g], sc = s->scale[g];
            float *q = p + (size_t)g * hw;
            for (size_t k = 0; k < hw; k++)
                q[k] = (float)(((double)q[k] * pre - m) / sc);
        }
    }
    return AFL_OK;
}

int afl_normalize(afl_norm mode, afl_dataset *train, afl_dataset *test, afl_norm_stats *stats,
                  afl_err *err)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!train)
        return afl_err_set(err, AFL_EINTERNAL, "afl_normalize: no training set");
    if (!afl_norm_name(mode))
        return afl_err_set(err, AFL_EINPUT,
                           "normalisation mode %d; expected none, unit or standardize", (int)mode);
    if (test && (test->is_image != train->is_image || test->c != train->c || test->h != train->h ||
                 test->w != train->w))
        return afl_err_set(err, AFL_EINPUT,
                           "cannot normalise: the test set's examples (%dx%dx%d, %s) differ from "
                           "the training set's (%dx%dx%d, %s)",
                           test->c, test->h, test->w, test->is_image ? "image" : "tabular",
                           train->c, train->h, train->w, train->is_image ? "image" : "tabular");
    if (mode == AFL_NORM_NONE)
        return AFL_OK;
    if (train->n < 1)
        return afl_err_set(err, AFL_EINPUT,
                           "cannot normalise: the training set is empty; expected at least one "
                           "example to compute statistics from");
    afl_norm_stats s;
    memset(&s, 0, sizeof s);
    int rc = stats_alloc(&s, n_groups(train), err);
    if (rc)
        return rc;
    if (train->is_image)
        image_stats(mode, train, &s);
    else
        rc = tabular_stats(mode, train, &s, err);
    if (!rc)
        rc = afl_norm_apply(&s, train, err);
    if (!rc && test)
        rc = afl_norm_apply(&s, test, err);
    if (rc || !stats)
        afl_norm_stats_free(&s);
    else
        *stats = s;
    return rc;
}
