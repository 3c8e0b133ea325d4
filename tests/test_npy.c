/* tests/test_npy.c - the .npy float32 writer and reader (models/npy.h). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/npy.h"

/* A fresh directory under /tmp; the caller removes it. */
static void make_tmpdir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/aflsim-npy-XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp failed");
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* A version 1.0 file with the given header dict (padded to 64 bytes) and n zero data bytes. */
static void write_raw(const char *path, const char *dict, size_t n)
{
    size_t d = strlen(dict), total = (10 + d + 1 + 63) / 64 * 64, hlen = total - 10;
    unsigned char *b = calloc(total + n, 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)hlen;
    b[9] = (unsigned char)(hlen >> 8);
    memcpy(b + 10, dict, d);
    memset(b + 10 + d, ' ', total - 10 - d - 1);
    b[total - 1] = '\n';
    spit(path, b, total + n);
    free(b);
}

Test(npy, write_then_read_round_trips_shape_and_values)
{
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.npy", dir);
    float data[12];
    for (int i = 0; i < 12; i++)
        data[i] = (float)i * 0.5f - 3.0f;
    data[5] = -0.0f;
    size_t shape[2] = {3, 4}, got_shape[AFL_NPY_MAX_NDIM];
    int ndim = 0;
    float *back = NULL;
    afl_err err = {0};
    cr_assert_eq(afl_npy_write_f32(path, data, shape, 2, &err), 0, "%s", err.msg);
    cr_assert_eq(afl_npy_read_f32(path, &back, got_shape, &ndim, &err), 0, "%s", err.msg);
    cr_assert_eq(ndim, 2);
    cr_assert(got_shape[0] == 3 && got_shape[1] == 4);
    cr_assert(memcmp(back, data, sizeof data) == 0);
    free(back);
    /* no temporary file is left behind */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert(access(tmp, F_OK) != 0);
    remove(path);
    rmdir(dir);
}

Test(npy, header_is_valid_npy_1_0_with_data_aligned_to_64)
{
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/v.npy", dir);
    float data[5] = {1, 2, 3, 4, 5};
    size_t shape[1] = {5};
    cr_assert_eq(afl_npy_write_f32(path, data, shape, 1, NULL), 0);
    size_t len;
    unsigned char *b = slurp(path, &len);
    cr_assert(memcmp(b, "\x93NUMPY", 6) == 0, "magic");
    cr_assert(b[6] == 1 && b[7] == 0, "version %d.%d", b[6], b[7]);
    size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0, "data start at %zu", 10 + hlen);
    cr_assert_eq(len, 10 + hlen + sizeof data);
    char *h = (char *)b + 10;
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    cr_assert(strncmp(h, dict, strlen(dict)) == 0, "header: %.*s", (int)hlen, h);
    for (size_t i = strlen(dict); i < hlen - 1; i++)
        cr_assert_eq(h[i], ' ', "padding byte %zu is %d", i, h[i]);
    cr_assert_eq(h[hlen - 1], '\n');
    /* little-endian float32 1.0f = 00 00 80 3f */
    const unsigned char one[4] = {0x00, 0x00, 0x80, 0x3f};
    cr_assert(memcmp(b + 10 + hlen, one, 4) == 0);
    free(b);
    remove(path);
    rmdir(dir);
}

Test(npy, shapes_are_written_as_python_tuples)
{
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/s.npy", dir);
    float data[24] = {0};
    size_t shape3[3] = {2, 3, 4}, len;
    cr_assert_eq(afl_npy_write_f32(path, data, shape3, 3, NULL), 0);
    unsigned char *b = slurp(path, &len);
    cr_assert(strstr((char *)b + 10, "'shape': (2, 3, 4), }"), "%s", b + 10);
    free(b);
    cr_assert_eq(afl_npy_write_f32(path, data, NULL, 0, NULL), 0); /* a scalar */
    b = slurp(path, &len);
    cr_assert(strstr((char *)b + 10, "'shape': (), }"), "%s", b + 10);
    free(b);
    remove(path);
    rmdir(dir);
}

Test(npy, write_into_a_missing_directory_is_an_io_error_naming_the_path)
{
    const char *path = "/tmp/aflsim-no-such-dir-4242/sub/w.npy";
    float data[1] = {1};
    size_t shape[1] = {1};
    afl_err err = {0};
    cr_assert_eq(afl_npy_write_f32(path, data, shape, 1, &err), AFL_EIO);
    cr_assert_eq(err.code, AFL_EIO);
    cr_assert(strstr(err.msg, path), "message lacks the path: %s", err.msg);
    cr_assert(strstr(err.msg, "No such file or directory"), "message lacks strerror: %s", err.msg);
}

Test(npy, overwrite_replaces_the_old_file_whole)
{
    char dir[64], path[128];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/o.npy", dir);
    float big[100] = {0}, small[2] = {7, 8}, *back;
    size_t s100[1] = {100}, s2[1] = {2}, shape[AFL_NPY_MAX_NDIM];
    int ndim;
    cr_assert_eq(afl_npy_write_f32(path, big, s100, 1, NULL), 0);
    cr_assert_eq(afl_npy_write_f32(path, small, s2, 1, NULL), 0);
    cr_assert_eq(afl_npy_read_f32(path, &back, shape, &ndim, NULL), 0);
    cr_assert(ndim == 1 && shape[0] == 2 && back[0] == 7 && back[1] == 8);
    free(back);
    remove(path);
    rmdir(dir);
}

Test(npy, reader_rejects_wrong_dtype_fortran_order_and_truncation)
{
    char dir[64], path[128], msg_path[160];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    snprintf(msg_path, sizeof msg_path, "'%s'", path);
    float *data;
    size_t shape[AFL_NPY_MAX_NDIM];
    int ndim;
    afl_err err;

    /* a float64 array */
    write_raw(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8);
    cr_assert_eq(afl_npy_read_f32(path, &data, shape, &ndim, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "<f4") && strstr(err.msg, msg_path), "%s", err.msg);

    /* Fortran order */
    write_raw(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4);
    cr_assert_eq(afl_npy_read_f32(path, &data, shape, &ndim, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "Fortran"), "%s", err.msg);

    /* a header written by hand the numpy way reads back */
    write_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", 8);
    cr_assert_eq(afl_npy_read_f32(path, &data, shape, &ndim, &err), 0, "%s", err.msg);
    cr_assert(ndim == 2 && shape[0] == 2 && shape[1] == 1 && data[0] == 0 && data[1] == 0);
    free(data);

    /* a valid header but one float short */
    float v[3] = {1, 2, 3};
    size_t s3[1] = {3};
    cr_assert_eq(afl_npy_write_f32(path, v, s3, 1, NULL), 0);
    size_t len;
    unsigned char *b = slurp(path, &len);
    spit(path, b, len - 4);
    free(b);
    cr_assert_eq(afl_npy_read_f32(path, &data, shape, &ndim, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "shorter"), "%s", err.msg);

    /* not an npy file at all */
    spit(path, "hello, world", 12);
    cr_assert_eq(afl_npy_read_f32(path, &data, shape, &ndim, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "magic"), "%s", err.msg);
    remove(path);
    rmdir(dir);
}

Test(npy, reading_a_missing_file_is_an_io_error)
{
    float *data;
    size_t shape[AFL_NPY_MAX_NDIM];
    int ndim;
    afl_err err;
    cr_assert_eq(afl_npy_read_f32("/tmp/aflsim-no-such-file.npy", &data, shape, &ndim, &err),
                 AFL_EIO);
    cr_assert(strstr(err.msg, "/tmp/aflsim-no-such-file.npy"), "%s", err.msg);
    cr_assert_null(data);
}
