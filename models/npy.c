/* models/npy.c - NumPy .npy float32 writer and reader (see npy.h).
 * Format (numpy.lib.format, version 1.0): the 6 bytes "\x93NUMPY", major and minor version
 * bytes (1, 0), a little-endian uint16 header length, then an ASCII Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (N,), } padded with spaces and ended by
 * '\n' so that the data start at a multiple of 64 bytes, then the raw little-endian data.
 */
#include "models/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static void swap4(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 4) {
        unsigned char t = p[0];
        p[0] = p[3], p[3] = t;
        t = p[1], p[1] = p[2], p[2] = t;
    }
}

/* prod(shape) into *n; 0 on overflow of the byte count. */
static int count_elems(const size_t *shape, int ndim, size_t *n)
{
    size_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && c > SIZE_MAX / 4 / shape[i])
            return 0;
        c *= shape[i];
    }
    *n = c;
    return 1;
}

/* Writes the data as little-endian float32, in chunks when the host is big-endian. */
static int write_data(FILE *f, const float *data, size_t n)
{
    if (host_is_little_endian())
        return fwrite(data, sizeof(float), n, f) == n;
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
        memcpy(buf, data + i, k * 4);
        swap4(buf, k);
        if (fwrite(buf, 4, k, f) != k)
            return 0;
        i += k;
    }
    return 1;
}

int afl_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim,
                      afl_err *err)
{
    size_t n;
    if (ndim < 0 || ndim > AFL_NPY_MAX_NDIM || !count_elems(shape, ndim, &n))
        return afl_err_set(err, AFL_EINTERNAL, "cannot write '%s': bad array shape (ndim %d)", path,
                           ndim);

    /* The header: magic, version, length, dict, space padding, '\n'. */
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%zu", i ? ", " : "", shape[i]);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", ndim == 1 ? "," : "");
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char head[10 + 512 + 64];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)len);
    memset(head + 10 + len, ' ', padded - total);
    head[padded - 1] = '\n';

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return afl_err_set(err, AFL_ENOMEM, "cannot write '%s': out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        afl_err_set(err, AFL_EIO, "cannot write '%s': cannot create '%s': %s", path, tmp,
                    strerror(e));
        free(tmp);
        return AFL_EIO;
    }
    int ok = fwrite(head, 1, padded, f) == padded && write_data(f, data, n);
    int e = ok ? 0 : errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        remove(tmp);
        afl_err_set(err, AFL_EIO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
        free(tmp);
        return AFL_EIO;
    }
    free(tmp);
    return 0;
}

/* ---- reading ---- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string ('...' or "...") into out (at most cap-1 chars). */
static int parse_str(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char q = *c->p++;
    size_t k = 0;
    while (c->p < c->end && *c->p != q) {
        if (k + 1 >= cap)
            return 0;
        out[k++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    out[k] = '\0';
    return 1;
}

static int parse_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* (d0, d1, ...) with an optional trailing comma. */
static int parse_shape(cursor *c, size_t *shape, int *ndim)
{
    if (!eat(c, '('))
        return 0;
    *ndim = 0;
    for (;;) {
        skip_ws(c);
        if (eat(c, ')'))
            return 1;
        if (*ndim >= AFL_NPY_MAX_NDIM || c->p >= c->end || *c->p < '0' || *c->p > '9')
            return 0;
        size_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            unsigned d = (unsigned)(*c->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return 0;
            v = v * 10 + d;
        }
        shape[(*ndim)++] = v;
        if (!eat(c, ',')) {
            return eat(c, ')');
        }
    }
}

static int bad(afl_err *err, const char *path, const char *why)
{
    return afl_err_set(err, AFL_EINPUT, "'%s' is not a float32 .npy file: %s", path, why);
}

static int parse_header(const char *h, size_t len, size_t *shape, int *ndim, const char *path,
                        afl_err *err)
{
    cursor c = {h, h + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!eat(&c, '{'))
        return bad(err, path, "the header is not a dict");
    for (;;) {
        if (eat(&c, '}'))
            break;
        char key[32], val[32];
        if (!parse_str(&c, key, sizeof key) || !eat(&c, ':'))
            return bad(err, path, "malformed header dict");
        if (strcmp(key, "descr") == 0) {
            if (!parse_str(&c, val, sizeof val))
                return bad(err, path, "malformed 'descr'");
            if (strcmp(val, "<f4") != 0)
                return bad(err, path, "'descr' is not '<f4' (little-endian float32)");
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (parse_word(&c, "True"))
                return bad(err, path, "Fortran order is not supported");
            if (!parse_word(&c, "False"))
                return bad(err, path, "malformed 'fortran_order'");
            have_order = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!parse_shape(&c, shape, ndim))
                return bad(err, path, "malformed 'shape' (or more than 8 dimensions)");
            have_shape = 1;
        } else {
            return bad(err, path, "unknown key in the header dict");
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}'))
                return bad(err, path, "malformed header dict");
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return bad(err, path, "the header lacks 'descr', 'fortran_order' or 'shape'");
    skip_ws(&c);
    if (c.p != c.end - 1 || *c.p != '\n')
        return bad(err, path, "the header does not end with a newline");
    return 0;
}

int afl_npy_read_f32(const char *path, float **data, size_t *shape, int *ndim, afl_err *err)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return afl_err_set(err, AFL_EIO, "cannot read '%s': %s", path, strerror(errno));
    int rc = 0;
    char *hdr = NULL;
    float *buf = NULL;
    unsigned char pre[12];
    size_t hlen = 0;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = bad(err, path, "no \\x93NUMPY magic");
        goto out;
    }
    if (pre[6] == 1 && pre[7] == 0) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 && pre[7] == 0) {
        if (fread(pre + 10, 1, 2, f) != 2) {
            rc = bad(err, path, "truncated header");
            goto out;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        rc = bad(err, path, "unsupported format version (expected 1.0 or 2.0)");
        goto out;
    }
    if (hlen == 0 || hlen > (1u << 20)) {
        rc = bad(err, path, "bad header length");
        goto out;
    }
    hdr = malloc(hlen);
    if (!hdr) {
        rc = afl_err_set(err, AFL_ENOMEM, "cannot read '%s': out of memory", path);
        goto out;
    }
    if (fread(hdr, 1, hlen, f) != hlen) {
        rc = bad(err, path, "truncated header");
        goto out;
    }
    if ((rc = parse_header(hdr, hlen, shape, ndim, path, err)))
        goto out;
    size_t n;
    if (!count_elems(shape, *ndim, &n)) {
        rc = bad(err, path, "the shape is too large");
        goto out;
    }
    buf = malloc(n ? n * sizeof(float) : 1);
    if (!buf) {
        rc =
            afl_err_set(err, AFL_ENOMEM, "cannot read '%s': out of memory for %zu floats", path, n);
        goto out;
    }
    if (fread(buf, sizeof(float), n, f) != n) {
        rc = ferror(f) ? afl_err_set(err, AFL_EIO, "cannot read '%s': %s", path, strerror(errno))
                       : bad(err, path, "the file is shorter than its shape says");
        goto out;
    }
    if (fgetc(f) != EOF) {
        rc = bad(err, path, "the file is longer than its shape says");
        goto out;
    }
    if (!host_is_little_endian())
        swap4((unsigned char *)buf, n);
    *data = buf;
    buf = NULL;
out:
    free(buf);
    free(hdr);
    fclose(f);
    return rc;
}
