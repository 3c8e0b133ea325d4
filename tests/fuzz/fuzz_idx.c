/* tests/fuzz/fuzz_idx.c - libFuzzer harness: IDX image + label files, plain and gzip.
 *
 * Input: one flag byte, a 2-byte big-endian length L, the image file's L bytes (fewer if the
 * input is shorter), then the label file's bytes.  Flag bit 0: gzip the image bytes before
 * writing them, bit 1: gzip the labels (the reader detects gzip by content, so raw inputs
 * also reach the gzip path with whatever bytes the fuzzer makes).  Both go to temp files read
 * by afl_idx_load; a loaded dataset must pass afl_dataset_check_labels, then is normalised
 * (mode from flag bits 2-3).  Run through tests/fuzz/run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"

#include "fuzz_tmp.h"

static char img[128], lab[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_path(img, sizeof img, "images-idx3-ubyte");
    fuzz_tmp_path(lab, sizeof lab, "labels-idx1-ubyte");
    return 0;
}

static void put_file(const char *p, const uint8_t *data, size_t n, int gzip)
{
    if (gzip) {
        gzFile g = gzopen(p, "wb");
        if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
            abort();
        return;
    }
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int flags = data[0];
    size_t L = (size_t)data[1] << 8 | data[2];
    data += 3, size -= 3;
    if (L > size)
        L = size;
    put_file(img, data, L, flags & 1);
    put_file(lab, data + L, size - L, flags & 2);

    afl_dataset d;
    afl_err err = {0};
    int rc = afl_idx_load(img, lab, &d, &err);
    if (rc) {
        if (err.code != rc || !err.msg[0] || strchr(err.msg, '\n') || d.x || d.y || d.n) {
            fprintf(stderr, "bad error: rc %d code %d msg '%s'\n", rc, err.code, err.msg);
            abort();
        }
        return 0;
    }
    if (d.n < 1 || d.dim != d.h * d.w || !d.x || !d.y)
        abort();
    if (afl_dataset_check_labels(&d, &err) != AFL_OK) {
        fprintf(stderr, "loaded IDX labels fail the check: %s\n", err.msg);
        abort();
    }
    afl_norm modes[3] = {AFL_NORM_NONE, AFL_NORM_UNIT, AFL_NORM_STANDARDIZE};
    afl_norm_stats st = {0};
    if (afl_normalize(modes[(flags >> 2) % 3], &d, NULL, &st, &err) == AFL_OK) {
        for (size_t i = 0; i < (size_t)d.n * (size_t)d.dim; i++)
            if (!(d.x[i] == d.x[i]) || d.x[i] > 1e30f || d.x[i] < -1e30f) {
                fprintf(stderr, "normalised pixel %zu is %g\n", i, (double)d.x[i]);
                abort();
            }
    }
    afl_norm_stats_free(&st);
    afl_dataset_free(&d);
    return 0;
}
