/* data/idx.c - IDX (MNIST / Fashion-MNIST) reader, plain or gzip-compressed.
 *
 * Format: Y. LeCun, C. Cortes, C. Burges, "The MNIST database of handwritten digits",
 * http://yann.lecun.com/exdb/mnist/, section "FILE FORMATS FOR THE MNIST DATABASE" and
 * "THE IDX FILE FORMAT": a 4-byte magic number (two zero bytes, a type byte, the number of
 * dimensions), then one big-endian 32-bit size per dimension, then the data, row-major.
 * Images: 0x00000803 (unsigned byte, 3 dimensions: n, rows, cols); labels: 0x00000801 (unsigned
 * byte, 1 dimension: n).  Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) uses the same files.
 *
 * The files are read with zlib's gzopen/gzread, which decompress gzip and pass plain files through
 * unchanged, so compression is detected by content, not by the file name.  The pixel buffer grows
 * as data actually arrives, so a header promising gigabytes on a short file allocates little.
 */
#include "data/dataset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_CHUNK (1u << 18)
#define IDX_TYPE_UBYTE 0x08

typedef struct {
    gzFile f;
    const char *path;
    const char *what; /* "image" or "label" */
    int ndims;
    uint32_t dims[3];
    long long header_bytes;
} idx_file;

static const char *idx_type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "not an IDX type";
    }
}

/* zlib's message without the "path: " prefix that gzerror adds. */
static const char *zlib_msg(gzFile f, const char *path, int *errnum)
{
    const char *m = gzerror(f, errnum);
    size_t len = strlen(path);
    if (m && strncmp(m, path, len) == 0 && m[len] == ':' && m[len + 1] == ' ')
        m += len + 2;
    return m ? m : "unknown zlib error";
}

/* Non-zero (with err set) when zlib reports a real error (not a short/unfinished stream). */
static int idx_hard_error(idx_file *in, afl_err *err)
{
    int errnum = Z_OK;
    const char *m = zlib_msg(in->f, in->path, &errnum);
    if (errnum == Z_OK || errnum == Z_BUF_ERROR)
        return AFL_OK;
    if (errnum == Z_ERRNO)
        return afl_err_set(err, AFL_EIO, "cannot read IDX %s file %s: %s", in->what, in->path,
                           strerror(errno));
    if (errnum == Z_MEM_ERROR)
        return afl_err_set(err, AFL_ENOMEM, "out of memory decompressing IDX %s file %s", in->what,
                           in->path);
    return afl_err_set(err, AFL_EINPUT,
                       "%s: corrupt gzip data in the IDX %s file (zlib: %s); expected a valid "
                       "gzip stream or an uncompressed IDX file",
                       in->path, in->what, m);
}

/* Reads up to len bytes; *got is the number read.  Errors only for zlib hard errors. */
static int idx_read(idx_file *in, unsigned char *buf, size_t len, size_t *got, afl_err *err)
{
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > IDX_CHUNK)
            want = IDX_CHUNK;
        int r = gzread(in->f, buf + *got, (unsigned)want);
        if (r < 0) {
            int rc = idx_hard_error(in, err);
            return rc ? rc
                      : afl_err_set(err, AFL_EIO, "cannot read IDX %s file %s", in->what, in->path);
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return idx_hard_error(in, err);
}

/* 1 when the gzip stream ended early (zlib: "unexpected end of file"). */
static int idx_gzip_truncated(idx_file *in)
{
    int errnum = Z_OK;
    zlib_msg(in->f, in->path, &errnum);
    return errnum == Z_BUF_ERROR;
}

static int idx_open(idx_file *in, const char *path, const char *what, afl_err *err)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    in->what = what;
    errno = 0;
    in->f = gzopen(path, "rb");
    if (!in->f)
        return afl_err_set(err, AFL_EIO, "cannot open IDX %s file %s: %s", what, path,
                           errno ? strerror(errno) : "out of memory");
    gzbuffer(in->f, 1u << 17);
    return AFL_OK;
}

static void idx_close(idx_file *in)
{
    if (in->f)
        gzclose(in->f);
    in->f = NULL;
}

/* Reads and checks the magic number and the dimensions. */
static int idx_header(idx_file *in, int want_ndims, uint32_t magic, afl_err *err)
{
    unsigned char b[16];
    size_t got;
    int rc = idx_read(in, b, 4, &got, err);
    if (rc)
        return rc;
    if (got == 0)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: the IDX %s file is empty; expected a header starting with the "
                           "magic number 0x%08X",
                           in->path, in->what, (unsigned)magic);
    if (got < 4)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: truncated IDX %s file: %zu bytes found, fewer than the 4-byte "
                           "magic number 0x%08X",
                           in->path, in->what, got, (unsigned)magic);
    uint32_t m = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (b[0] != 0 || b[1] != 0)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: not an IDX %s file: magic number 0x%08X, expected 0x%08X "
                           "(IDX %s, %d dimension%s)",
                           in->path, in->what, (unsigned)m, (unsigned)magic,
                           want_ndims == 3 ? "unsigned-byte images" : "unsigned-byte labels",
                           want_ndims, want_ndims == 1 ? "" : "s");
    if (b[2] != IDX_TYPE_UBYTE)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: IDX %s file has data type byte 0x%02X (%s), expected 0x08 "
                           "(unsigned byte; magic 0x%08X)",
                           in->path, in->what, b[2], idx_type_name(b[2]), (unsigned)magic);
    if (b[3] != want_ndims) {
        const char *hint = "";
        if (want_ndims == 3 && b[3] == 1)
            hint = " (is this the label file?)";
        else if (want_ndims == 1 && b[3] == 3)
            hint = " (is this the image file?)";
        return afl_err_set(
            err, AFL_EINPUT, "%s: IDX %s file has %d dimension%s, expected %d (magic 0x%08X)%s",
            in->path, in->what, b[3], b[3] == 1 ? "" : "s", want_ndims, (unsigned)magic, hint);
    }
    in->ndims = want_ndims;
    size_t need = 4 * (size_t)want_ndims;
    rc = idx_read(in, b, need, &got, err);
    if (rc)
        return rc;
    if (got < need)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: truncated IDX %s header: the header promises %zu bytes "
                           "(magic and %d dimension%s) but only %zu were found",
                           in->path, in->what, 4 + need, want_ndims, want_ndims == 1 ? "" : "s",
                           4 + got);
    static const char *names3[3] = {"number of images", "rows", "columns"};
    for (int i = 0; i < want_ndims; i++) {
        const unsigned char *p = b + 4 * i;
        in->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        const char *name = want_ndims == 3 ? names3[i] : "number of labels";
        if (in->dims[i] == 0)
            return afl_err_set(err, AFL_EINPUT,
                               "%s: IDX %s header gives %s = 0; expected a positive size", in->path,
                               in->what, name);
        if (in->dims[i] > 0x7fffffffu)
            return afl_err_set(err, AFL_EINPUT,
                               "%s: IDX %s header gives %s = %u; expected at most 2^31 - 1",
                               in->path, in->what, name, (unsigned)in->dims[i]);
    }
    in->header_bytes = 4 + (long long)need;
    return AFL_OK;
}

/* Message for a payload that is shorter or longer than the header promises. */
static int idx_size_error(idx_file *in, const char *desc, long long promised, long long found,
                          afl_err *err)
{
    const char *gz = idx_gzip_truncated(in) ? " (the gzip stream also ends early)" : "";
    if (found < promised)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: truncated IDX %s file: the header (%s) promises %lld bytes but "
                           "only %lld were found%s",
                           in->path, in->what, desc, promised, found, gz);
    return afl_err_set(err, AFL_EINPUT,
                       "%s: IDX %s file has %lld extra trailing bytes: the header (%s) promises "
                       "%lld bytes but %lld were found",
                       in->path, in->what, found - promised, desc, promised, found);
}

/* Reads exactly `expected` payload bytes, converting each with the caller's sink, then checks
 * that nothing follows.  sink(dst, src, count, offset). */
typedef int (*idx_sink)(void *ctx, const unsigned char *src, size_t count, size_t offset,
                        afl_err *err);

static int idx_payload(idx_file *in, long long expected, const char *desc, idx_sink sink, void *ctx,
                       afl_err *err)
{
    unsigned char *buf = malloc(IDX_CHUNK);
    if (!buf)
        return afl_err_set(err, AFL_ENOMEM, "out of memory reading %s", in->path);
    long long got = 0, extra = 0;
    int rc = AFL_OK;
    for (;;) {
        int r = gzread(in->f, buf, IDX_CHUNK);
        if (r < 0) {
            rc = idx_hard_error(in, err);
            if (!rc)
                rc = afl_err_set(err, AFL_EIO, "cannot read IDX %s file %s", in->what, in->path);
            break;
        }
        if (r == 0)
            break;
        long long keep = expected - got;
        if (keep > r)
            keep = r;
        if (keep > 0) {
            rc = sink(ctx, buf, (size_t)keep, (size_t)got, err);
            if (rc)
                break;
            got += keep;
        }
        extra += r - (keep > 0 ? keep : 0);
    }
    free(buf);
    if (rc)
        return rc;
    rc = idx_hard_error(in, err);
    if (rc)
        return rc;
    if (got < expected || extra > 0)
        return idx_size_error(in, desc, in->header_bytes + expected, in->header_bytes + got + extra,
                              err);
    if (idx_gzip_truncated(in))
        return afl_err_set(err, AFL_EINPUT,
                           "%s: the gzip stream of the IDX %s file is truncated (zlib: "
                           "unexpected end of file); expected a complete gzip file",
                           in->path, in->what);
    return AFL_OK;
}

/* Pixels: a float buffer that grows as bytes arrive (capacity capped at the promised size). */
typedef struct {
    float *x;
    size_t cap, total;
    const char *path;
} pixel_sink;

static int pixels_put(void *vctx, const unsigned char *src, size_t count, size_t offset,
                      afl_err *err)
{
    pixel_sink *s = vctx;
    if (offset + count > s->cap) {
        size_t cap = s->cap ? s->cap : ((size_t)1 << 20);
        while (cap < offset + count)
            cap *= 2;
        if (cap > s->total)
            cap = s->total;
        float *nx = realloc(s->x, cap * sizeof(float));
        if (!nx)
            return afl_err_set(err, AFL_ENOMEM, "out of memory reading the images in %s", s->path);
        s->x = nx;
        s->cap = cap;
    }
    for (size_t i = 0; i < count; i++)
        s->x[offset + i] = (float)src[i];
    return AFL_OK;
}

static int labels_put(void *vctx, const unsigned char *src, size_t count, size_t offset,
                      afl_err *err)
{
    (void)err;
    int32_t *y = vctx;
    for (size_t i = 0; i < count; i++)
        y[offset + i] = (int32_t)src[i];
    return AFL_OK;
}

int afl_idx_load(const char *images_path, const char *labels_path, afl_dataset *out, afl_err *err)
{
    if (!out)
        return afl_err_set(err, AFL_EINTERNAL, "afl_idx_load: no output dataset");
    memset(out, 0, sizeof *out);
    if (!images_path || !labels_path)
        return afl_err_set(err, AFL_EINPUT,
                           "IDX dataset: both an image and a label file are "
                           "needed");
    idx_file im, lb;
    memset(&lb, 0, sizeof lb);
    pixel_sink ps = {NULL, 0, 0, images_path};
    int32_t *y = NULL;
    int rc = idx_open(&im, images_path, "image", err);
    if (rc)
        return rc;
    rc = idx_header(&im, 3, 0x00000803u, err);
    if (rc)
        goto done;
    rc = idx_open(&lb, labels_path, "label", err);
    if (rc)
        goto done;
    rc = idx_header(&lb, 1, 0x00000801u, err);
    if (rc)
        goto done;

    uint32_t n = im.dims[0], rows = im.dims[1], cols = im.dims[2];
    if (lb.dims[0] != n) {
        rc = afl_err_set(err, AFL_EINPUT,
                         "IDX files disagree: %s has %u images but %s has %u labels; expected "
                         "one label per image",
                         images_path, (unsigned)n, labels_path, (unsigned)lb.dims[0]);
        goto done;
    }
    /* Each dim <= 2^31 - 1, so rows*cols < 2^62 and the checks below cannot overflow. */
    unsigned long long per = (unsigned long long)rows * cols;
    if (per > (unsigned long long)AFL_DATASET_MAX_BYTES ||
        per * n > (unsigned long long)AFL_DATASET_MAX_BYTES) {
        rc = afl_err_set(err, AFL_EINPUT,
                         "%s: IDX header gives %u images of %ux%u pixels, more than the 2^31 "
                         "bytes aflsim accepts",
                         images_path, (unsigned)n, (unsigned)rows, (unsigned)cols);
        goto done;
    }
    char desc[128];
    snprintf(desc, sizeof desc, "%u images of %ux%u", (unsigned)n, (unsigned)rows, (unsigned)cols);
    ps.total = (size_t)(per * n);
    rc = idx_payload(&im, (long long)(per * n), desc, pixels_put, &ps, err);
    if (rc)
        goto done;

    y = malloc((size_t)n * sizeof *y);
    if (!y) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory reading the labels in %s", labels_path);
        goto done;
    }
    snprintf(desc, sizeof desc, "%u labels", (unsigned)n);
    rc = idx_payload(&lb, (long long)n, desc, labels_put, y, err);
    if (rc)
        goto done;

    int maxl = 0;
    for (uint32_t i = 0; i < n; i++)
        if (y[i] > maxl)
            maxl = y[i];
    out->n = (int)n;
    out->c = 1;
    out->h = (int)rows;
    out->w = (int)cols;
    out->dim = (int)per;
    out->n_classes = maxl + 1;
    out->is_image = 1;
    out->x = ps.x;
    out->y = y;
    ps.x = NULL;
    y = NULL;

done:
    idx_close(&im);
    idx_close(&lb);
    free(ps.x);
    free(y);
    return rc;
}
