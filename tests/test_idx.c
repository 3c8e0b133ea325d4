/* tests/test_idx.c - the IDX / IDX.gz reader, and the real Fashion-MNIST files when installed. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/afl_idx_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
    DIR *dir = opendir(tmpdir);
    if (!dir)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
    closedir(dir);
    rmdir(tmpdir);
}

TestSuite(idx, .init = setup, .fini = teardown);

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const unsigned char *b, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f);
        if (len)
            cr_assert_eq(gzwrite(f, b, (unsigned)len), (int)len);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        if (len)
            cr_assert_eq(fwrite(b, 1, len, f), len);
        fclose(f);
    }
}

static size_t put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/* 5 images of 3x2: pixel k of image i = 10*i + k (image 4 pixel 5 = 255); labels 0 1 2 1 0. */
enum { NI = 5, ROWS = 3, COLS = 2 };
static const int32_t LABELS[NI] = {0, 1, 2, 1, 0};

static unsigned char pixel(int i, int k)
{
    return (i == 4 && k == 5) ? 255 : (unsigned char)(10 * i + k);
}

/* Image file bytes: header (n, rows, cols) then n_data pixels then `extra` bytes. */
static size_t image_bytes(unsigned char *b, uint32_t magic, uint32_t n, uint32_t rows,
                          uint32_t cols, int n_data, int extra)
{
    size_t p = put_be32(b, magic);
    p += put_be32(b + p, n);
    p += put_be32(b + p, rows);
    p += put_be32(b + p, cols);
    for (int t = 0; t < n_data; t++)
        b[p++] = pixel(t / (ROWS * COLS), t % (ROWS * COLS));
    for (int t = 0; t < extra; t++)
        b[p++] = 7;
    return p;
}

static size_t label_bytes(unsigned char *b, uint32_t magic, uint32_t n, int n_data)
{
    size_t p = put_be32(b, magic);
    p += put_be32(b + p, n);
    for (int t = 0; t < n_data; t++)
        b[p++] = (unsigned char)LABELS[t % NI];
    return p;
}

static void write_good_pair(const char *im, const char *lb, int gz)
{
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x803, NI, ROWS, COLS, NI * ROWS * COLS, 0), gz);
    write_bytes(lb, b, label_bytes(b, 0x801, NI, NI), gz);
}

static void check_good_dataset(const afl_dataset *d)
{
    cr_assert_eq(d->n, NI);
    cr_assert_eq(d->c, 1);
    cr_assert_eq(d->h, ROWS);
    cr_assert_eq(d->w, COLS);
    cr_assert_eq(d->dim, ROWS * COLS);
    cr_assert_eq(d->n_classes, 3);
    cr_assert_eq(d->is_image, 1);
    for (int i = 0; i < NI; i++) {
        cr_assert_eq(d->y[i], LABELS[i]);
        for (int k = 0; k < ROWS * COLS; k++)
            cr_assert_eq(d->x[i * ROWS * COLS + k], (float)pixel(i, k), "image %d pixel %d", i, k);
    }
}

/* Loads and expects failure with `code`; checks the message names `file` and each needle. */
static void expect_error(const char *im, const char *lb, int code, const char *file, const char *n1,
                         const char *n2)
{
    afl_dataset d;
    afl_err err = {0};
    int rc = afl_idx_load(im, lb, &d, &err);
    cr_assert_eq(rc, code, "rc %d, message: %s", rc, err.msg);
    cr_assert_eq(err.code, code);
    cr_assert_null(d.x);
    cr_assert_null(d.y);
    cr_assert_eq(d.n, 0);
    cr_assert(strstr(err.msg, file), "message does not name %s: %s", file, err.msg);
    if (n1)
        cr_assert(strstr(err.msg, n1), "message lacks '%s': %s", n1, err.msg);
    if (n2)
        cr_assert(strstr(err.msg, n2), "message lacks '%s': %s", n2, err.msg);
}

Test(idx, plain_round_trip_gives_the_pixels_and_labels_written)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    afl_dataset d;
    afl_err err = {0};
    cr_assert_eq(afl_idx_load(im, lb, &d, &err), AFL_OK, "%s", err.msg);
    check_good_dataset(&d);
    afl_dataset_free(&d);
    cr_assert_null(d.x);
    cr_assert_eq(d.n, 0);
}

Test(idx, gzip_round_trip_is_detected_by_content_not_by_name)
{
    const char *im = path_of("images.idx"), *lb = path_of("labels.gz");
    write_good_pair(im, lb, 1);
    FILE *f = fopen(im, "rb");
    cr_assert_eq(fgetc(f), 0x1f); /* really gzip */
    fclose(f);
    afl_dataset d;
    afl_err err = {0};
    cr_assert_eq(afl_idx_load(im, lb, &d, &err), AFL_OK, "%s", err.msg);
    check_good_dataset(&d);
    afl_dataset_free(&d);
}

Test(idx, truncated_image_file_says_bytes_promised_and_found)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x803, NI, ROWS, COLS, NI * ROWS * COLS - 4, 0), 0);
    expect_error(im, lb, AFL_EINPUT, im, "promises 46 bytes", "only 42 were found");
}

Test(idx, truncated_gzip_image_file_is_an_error_naming_the_file)
{
    const char *im = path_of("im.gz"), *lb = path_of("lb.gz");
    write_good_pair(im, lb, 1);
    FILE *f = fopen(im, "rb");
    unsigned char b[512];
    size_t len = fread(b, 1, sizeof b, f);
    fclose(f);
    write_bytes(im, b, len - 12, 0); /* cut the trailer and part of the data */
    expect_error(im, lb, AFL_EINPUT, im, "image", NULL);
}

Test(idx, truncated_label_file_says_bytes_promised_and_found)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[64];
    write_bytes(lb, b, label_bytes(b, 0x801, NI, NI - 2), 0);
    expect_error(im, lb, AFL_EINPUT, lb, "promises 13 bytes", "only 11 were found");
}

Test(idx, trailing_bytes_are_an_error_with_both_counts)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 1);
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x803, NI, ROWS, COLS, NI * ROWS * COLS, 3), 1);
    expect_error(im, lb, AFL_EINPUT, im, "3 extra trailing bytes", "promises 46 bytes but 49");
}

Test(idx, header_shorter_than_its_dimensions_is_truncated)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[256];
    image_bytes(b, 0x803, NI, ROWS, COLS, 0, 0);
    write_bytes(im, b, 10, 0);
    expect_error(im, lb, AFL_EINPUT, im, "truncated", "promises 16 bytes");
}

Test(idx, empty_file_is_an_error)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    write_bytes(im, NULL, 0, 0);
    expect_error(im, lb, AFL_EINPUT, im, "empty", "0x00000803");
}

Test(idx, bad_magic_names_the_expected_magic)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x12345678, NI, ROWS, COLS, 30, 0), 0);
    expect_error(im, lb, AFL_EINPUT, im, "0x12345678", "expected 0x00000803");
}

Test(idx, non_byte_data_type_is_refused)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x0D03, NI, ROWS, COLS, 30, 0), 0);
    expect_error(im, lb, AFL_EINPUT, im, "0x0D (float)", "expected 0x08");
}

Test(idx, label_file_given_as_images_is_recognised)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    expect_error(lb, im, AFL_EINPUT, lb, "1 dimension, expected 3", "label file?");
}

Test(idx, label_and_image_counts_must_match)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[64];
    write_bytes(lb, b, label_bytes(b, 0x801, NI - 1, NI - 1), 0);
    expect_error(im, lb, AFL_EINPUT, im, lb, "5 images but");
    afl_err err = {0};
    afl_dataset d;
    afl_idx_load(im, lb, &d, &err);
    cr_assert(strstr(err.msg, "has 4 labels"), "%s", err.msg);
}

Test(idx, zero_dimension_is_refused)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    write_good_pair(im, lb, 0);
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x803, NI, 0, COLS, 0, 0), 0);
    expect_error(im, lb, AFL_EINPUT, im, "rows = 0", "positive");
}

Test(idx, huge_header_dims_are_refused_without_allocating)
{
    const char *im = path_of("im"), *lb = path_of("lb");
    unsigned char b[256];
    write_bytes(im, b, image_bytes(b, 0x803, 0x7fffffff, 0x7fffffff, 0x7fffffff, 0, 0), 0);
    write_bytes(lb, b, label_bytes(b, 0x801, 0x7fffffff, 0), 0);
    expect_error(im, lb, AFL_EINPUT, im, "more than the 2^31 bytes", NULL);
    /* A big but acceptable header on a tiny file is reported as truncated. */
    write_bytes(im, b, image_bytes(b, 0x803, 2000000, 32, 32, 5, 0), 0);
    write_bytes(lb, b, label_bytes(b, 0x801, 2000000, 0), 0);
    expect_error(im, lb, AFL_EINPUT, im, "promises 2048000016 bytes", "only 21 were found");
}

Test(idx, corrupt_gzip_checksum_reports_zlib_message)
{
    const char *im = path_of("im.gz"), *lb = path_of("lb.gz");
    write_good_pair(im, lb, 1);
    FILE *f = fopen(im, "rb");
    unsigned char b[512];
    size_t len = fread(b, 1, sizeof b, f);
    fclose(f);
    b[len - 8] ^= 0xff; /* CRC-32 in the gzip trailer */
    write_bytes(im, b, len, 0);
    expect_error(im, lb, AFL_EINPUT, im, "corrupt gzip", "incorrect data check");
}

Test(idx, corrupt_gzip_block_reports_zlib_message)
{
    const char *im = path_of("im.gz"), *lb = path_of("lb.gz");
    write_good_pair(im, lb, 1);
    FILE *f = fopen(lb, "rb");
    unsigned char b[512];
    size_t len = fread(b, 1, sizeof b, f);
    fclose(f);
    b[10] = 0xff; /* first deflate block header: BTYPE = 11 (reserved) */
    write_bytes(lb, b, len, 0);
    expect_error(im, lb, AFL_EINPUT, lb, "corrupt gzip", "invalid block type");
}

Test(idx, missing_file_is_an_io_error_naming_it)
{
    const char *im = path_of("im"), *lb = path_of("does-not-exist");
    write_good_pair(im, path_of("lb"), 0);
    expect_error(im, lb, AFL_EIO, lb, "cannot open", "No such file");
}

#define FMNIST "/usr/share/datasets/fashion-mnist/"

Test(idx, real_fashion_mnist_loads_with_torchvision_statistics, .timeout = 120)
{
    if (access(FMNIST "train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("Fashion-MNIST not installed in " FMNIST);
    afl_dataset tr, te;
    afl_err err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(afl_idx_load(FMNIST "train-images-idx3-ubyte.gz",
                              FMNIST "train-labels-idx1-ubyte.gz", &tr, &err),
                 AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_idx_load(FMNIST "t10k-images-idx3-ubyte.gz",
                              FMNIST "t10k-labels-idx1-ubyte.gz", &te, &err),
                 AFL_OK, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_log_info("Fashion-MNIST train+test load: %.3f s",
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    cr_assert_eq(tr.n, 60000);
    cr_assert_eq(te.n, 10000);
    cr_assert_eq(tr.h, 28);
    cr_assert_eq(tr.w, 28);
    cr_assert_eq(tr.c, 1);
    cr_assert_eq(tr.n_classes, 10);
    cr_assert_eq(te.n_classes, 10);
    cr_assert_eq(afl_dataset_check_pair(&tr, &te, "train", "test", &err), AFL_OK);
    long per_class[10] = {0};
    for (int i = 0; i < tr.n; i++)
        per_class[tr.y[i]]++;
    for (int k = 0; k < 10; k++)
        cr_assert_eq(per_class[k], 6000);
    afl_norm_stats st;
    cr_assert_eq(afl_normalize(AFL_NORM_STANDARDIZE, &tr, &te, &st, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(st.n, 1);
    cr_assert_float_eq(st.mean[0], 0.2860, 5e-4, "mean %f", st.mean[0]);
    cr_assert_float_eq(st.scale[0], 0.3530, 5e-4, "std %f", st.scale[0]);
    afl_norm_stats_free(&st);
    afl_dataset_free(&tr);
    afl_dataset_free(&te);
}
