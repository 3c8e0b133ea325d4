/* tests/fuzz/fuzz_csv.c - libFuzzer harness: a CSV dataset file.
 *
 * Input: the label column's name up to the first newline (at most 64 bytes; an input without a
 * newline uses "label" and is all file), then the CSV file's bytes, written to a temp file and
 * read with afl_csv_dataset_load.  A loaded dataset must pass afl_dataset_check_labels, and is
 * then normalised (standardize, then a second copy with unit) with finite results.
 * Run through tests/fuzz/run.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"

#include "fuzz_tmp.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_path(path, sizeof path, "data.csv");
    return 0;
}

static void check_finite(const afl_dataset *d, const char *what)
{
    for (size_t i = 0; i < (size_t)d->n * (size_t)d->dim; i++)
        if (!isfinite(d->x[i])) {
            fprintf(stderr, "%s: value %zu is %g\n", what, i, (double)d->x[i]);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char label[65] = "label";
    const uint8_t *nl = memchr(data, '\n', size < 65 ? size : 65);
    if (nl) {
        size_t l = (size_t)(nl - data);
        memcpy(label, data, l);
        label[l] = 0;
        size -= l + 1;
        data = nl + 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();

    afl_dataset d;
    afl_err err = {0};
    int rc = afl_csv_dataset_load(path, label, &d, &err);
    if (rc) {
        if (err.code != rc || !err.msg[0] || strchr(err.msg, '\n') || d.x || d.y || d.n) {
            fprintf(stderr, "bad error: rc %d code %d msg '%s'\n", rc, err.code, err.msg);
            abort();
        }
        return 0;
    }
    if (d.n < 1 || d.dim < 1 || !d.x || !d.y)
        abort();
    check_finite(&d, "loaded");
    if (afl_dataset_check_labels(&d, &err) != AFL_OK) {
        fprintf(stderr, "loaded CSV labels fail the check: %s\n", err.msg);
        abort();
    }
    afl_dataset u;
    afl_norm_stats st = {0};
    if (afl_dataset_alloc(&u, d.n, 1, 1, d.dim, &err) == AFL_OK) {
        memcpy(u.x, d.x, (size_t)d.n * (size_t)d.dim * sizeof(float));
        memcpy(u.y, d.y, (size_t)d.n * sizeof(int32_t));
        u.n_classes = d.n_classes;
        if (afl_normalize(AFL_NORM_UNIT, &u, NULL, &st, &err) == AFL_OK)
            check_finite(&u, "unit-normalised");
        afl_norm_stats_free(&st);
        afl_dataset_free(&u);
    }
    if (afl_normalize(AFL_NORM_STANDARDIZE, &d, NULL, &st, &err) == AFL_OK)
        check_finite(&d, "standardised");
    afl_norm_stats_free(&st);
    afl_dataset_free(&d);
    return 0;
}
