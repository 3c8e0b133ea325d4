/* data/synth.c - synthetic Gaussian-mixture classification data.
 *
 * C classes with means m_k = separation * z_k, z_k ~ N(0, I_dim); an example of class y is
 * x = m_y + N(0, I_dim).  Draw order (fixed, so a seed gives the same data everywhere):
 *   1. the means, class 0..C-1, coordinate 0..dim-1;
 *   2. train labels i mod C (balanced), Fisher-Yates shuffled, then train features, example by
 *      example, coordinate by coordinate;
 *   3. test labels and features the same way.
 */
#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

static int synth_set(int n, int n_classes, int dim, const double *means, afl_rng *rng,
                     afl_dataset *d, afl_err *err)
{
    int rc = afl_dataset_alloc(d, n, 1, 1, dim, err);
    if (rc)
        return rc;
    d->n_classes = n_classes;
    d->is_image = 0;
    if (n == 0)
        return AFL_OK;
    int *lab = malloc((size_t)n * sizeof *lab);
    if (!lab) {
        afl_dataset_free(d);
        return afl_err_set(err, AFL_ENOMEM, "out of memory generating %d synthetic examples", n);
    }
    for (int i = 0; i < n; i++)
        lab[i] = i % n_classes;
    afl_rng_shuffle_int(rng, lab, (size_t)n);
    for (int i = 0; i < n; i++) {
        d->y[i] = lab[i];
        const double *m = means + (size_t)lab[i] * (size_t)dim;
        float *x = d->x + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++)
            x[j] = (float)(m[j] + afl_rng_normal(rng));
    }
    free(lab);
    return AFL_OK;
}

int afl_synth_generate(int n_classes, int dim, int n_train, int n_test, double separation,
                       afl_rng *rng, afl_dataset *train, afl_dataset *test, afl_err *err)
{
    if (!train || !test || !rng)
        return afl_err_set(err, AFL_EINTERNAL, "afl_synth_generate: invalid arguments");
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (n_classes < 1 || n_classes > AFL_DATASET_MAX_CLASSES)
        return afl_err_set(err, AFL_EINPUT, "synthetic data: %d classes; expected between 1 and %d",
                           n_classes, AFL_DATASET_MAX_CLASSES);
    if (dim < 1)
        return afl_err_set(err, AFL_EINPUT, "synthetic data: dimension %d; expected at least 1",
                           dim);
    if (n_train < 1 || n_test < 0)
        return afl_err_set(err, AFL_EINPUT,
                           "synthetic data: %d training and %d test examples; expected at "
                           "least 1 training and 0 test examples",
                           n_train, n_test);
    if (!(separation >= 0.0) || separation > 1e30)
        return afl_err_set(err, AFL_EINPUT,
                           "synthetic data: class separation %g; expected a finite number >= 0",
                           separation);
    long long values = ((long long)n_train + n_test) * dim;
    if ((long long)n_classes * dim > AFL_DATASET_MAX_BYTES || values > AFL_DATASET_MAX_BYTES)
        return afl_err_set(err, AFL_EINPUT,
                           "synthetic data: %d+%d examples of dimension %d is more than 2^31 "
                           "values; expected a smaller dataset",
                           n_train, n_test, dim);
    double *means = malloc((size_t)n_classes * (size_t)dim * sizeof *means);
    if (!means)
        return afl_err_set(err, AFL_ENOMEM, "out of memory generating synthetic class means");
    for (size_t i = 0; i < (size_t)n_classes * (size_t)dim; i++)
        means[i] = separation * afl_rng_normal(rng);
    int rc = synth_set(n_train, n_classes, dim, means, rng, train, err);
    if (!rc)
        rc = synth_set(n_test, n_classes, dim, means, rng, test, err);
    free(means);
    if (rc) {
        afl_dataset_free(train);
        afl_dataset_free(test);
    }
    return rc;
}
