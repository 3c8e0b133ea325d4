/* sim/ckpt.c - checkpoint files (see ckpt.h for the format). */
#include "sim/ckpt.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "AFLCKPT\n"
#define CKPT_FORMAT 1u
#define CKPT_END_BYTES (1 + 3 + 8 + 4)

struct afl_ckpt {
    FILE *f;
    int loading;
    char path[PATH_MAX];
    char tmp[PATH_MAX + 8];
    uLong crc;
    long long remaining; /* loading: bytes before the end record still unread */
    afl_err err;
};

int afl_ckpt_loading(const afl_ckpt *ck)
{
    return ck->loading;
}

int afl_ckpt_status(const afl_ckpt *ck)
{
    return ck->err.code;
}

const afl_err *afl_ckpt_error(const afl_ckpt *ck)
{
    return &ck->err;
}

int afl_ckpt_fail(afl_ckpt *ck, int code, const char *fmt, ...)
{
    if (ck->err.code)
        return ck->err.code;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return afl_err_set(&ck->err, code, "checkpoint %s: %s", ck->path, msg);
}

static int put(afl_ckpt *ck, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, ck->f) != n)
        return afl_ckpt_fail(ck, AFL_EIO, "cannot write: %s", strerror(errno));
    /* crc32 takes uInt lengths: feed large blocks in pieces */
    const unsigned char *b = p;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        ck->crc = crc32(ck->crc, b, k);
        b += k;
        n -= k;
    }
    return AFL_OK;
}

static int get(afl_ckpt *ck, void *p, size_t n)
{
    if ((long long)n > ck->remaining)
        return afl_ckpt_fail(ck, AFL_EINPUT, "truncated (a record runs past the end)");
    if (n && fread(p, 1, n, ck->f) != n)
        return afl_ckpt_fail(ck, AFL_EIO, "cannot read: %s",
                             ferror(ck->f) ? strerror(errno) : "unexpected end of file");
    ck->remaining -= (long long)n;
    return AFL_OK;
}

int afl_ckpt_create(const char *path, afl_ckpt **out, afl_err *err)
{
    afl_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    if (snprintf(ck->path, sizeof ck->path, "%s", path) >= (int)sizeof ck->path) {
        free(ck);
        return afl_err_set(err, AFL_EIO, "path too long: %s", path);
    }
    snprintf(ck->tmp, sizeof ck->tmp, "%s.tmp", path);
    ck->f = fopen(ck->tmp, "wb");
    if (!ck->f) {
        int e = errno;
        free(ck);
        return afl_err_set(err, AFL_EIO, "cannot write checkpoint %s: %s", path, strerror(e));
    }
    setvbuf(ck->f, NULL, _IOFBF, 1 << 20);
    ck->crc = crc32(0L, Z_NULL, 0);
    uint32_t fmt = CKPT_FORMAT;
    put(ck, CKPT_MAGIC, 8);
    put(ck, &fmt, 4);
    *out = ck;
    return AFL_OK;
}

int afl_ckpt_open(const char *path, afl_ckpt **out, afl_err *err)
{
    afl_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    ck->loading = 1;
    snprintf(ck->path, sizeof ck->path, "%s", path);
    ck->f = fopen(path, "rb");
    if (!ck->f) {
        int e = errno;
        free(ck);
        return afl_err_set(err, AFL_EIO, "cannot read checkpoint %s: %s", path, strerror(e));
    }
    setvbuf(ck->f, NULL, _IOFBF, 1 << 20);
    /* pass 1: CRC of everything before the end record */
    long long size = -1;
    if (fseeko(ck->f, 0, SEEK_END) == 0)
        size = (long long)ftello(ck->f);
    int rc = AFL_OK;
    if (size < 12 + CKPT_END_BYTES) {
        rc = afl_err_set(err, AFL_EINPUT, "checkpoint %s: not a checkpoint (too short)", path);
    } else {
        rewind(ck->f);
        uLong crc = crc32(0L, Z_NULL, 0);
        static unsigned char buf[1 << 16];
        long long left = size - CKPT_END_BYTES;
        while (left > 0 && !rc) {
            size_t k = left > (long long)sizeof buf ? sizeof buf : (size_t)left;
            if (fread(buf, 1, k, ck->f) != k)
                rc = afl_err_set(err, AFL_EIO, "cannot read checkpoint %s", path);
            crc = crc32(crc, buf, (uInt)k);
            left -= (long long)k;
        }
        unsigned char end[CKPT_END_BYTES];
        if (!rc && fread(end, 1, sizeof end, ck->f) != sizeof end)
            rc = afl_err_set(err, AFL_EIO, "cannot read checkpoint %s", path);
        uint64_t len = 0;
        uint32_t stored = 0;
        if (!rc) {
            memcpy(&len, end + 4, 8);
            memcpy(&stored, end + 12, 4);
            if (end[0] != 3 || memcmp(end + 1, "end", 3) != 0 || len != 4)
                rc = afl_err_set(err, AFL_EINPUT,
                                 "checkpoint %s: incomplete (no end record; the writer was "
                                 "interrupted)",
                                 path);
            else if (stored != (uint32_t)crc)
                rc = afl_err_set(err, AFL_EINPUT, "checkpoint %s: corrupt (CRC mismatch)", path);
        }
    }
    if (!rc) {
        rewind(ck->f);
        ck->remaining = size - CKPT_END_BYTES;
        char magic[8];
        uint32_t fmt = 0;
        if (get(ck, magic, 8) || get(ck, &fmt, 4) || memcmp(magic, CKPT_MAGIC, 8) != 0)
            rc = afl_err_set(err, AFL_EINPUT, "checkpoint %s: not a checkpoint (bad magic)", path);
        else if (fmt != CKPT_FORMAT)
            rc = afl_err_set(err, AFL_EINPUT,
                             "checkpoint %s: format %u, this aflsim reads format %u", path,
                             (unsigned)fmt, CKPT_FORMAT);
    }
    if (rc) {
        fclose(ck->f);
        free(ck);
        return rc;
    }
    *out = ck;
    return AFL_OK;
}

void afl_ckpt_abort(afl_ckpt *ck)
{
    if (!ck)
        return;
    if (ck->f)
        fclose(ck->f);
    if (!ck->loading)
        unlink(ck->tmp);
    free(ck);
}

int afl_ckpt_finish(afl_ckpt *ck, afl_err *err)
{
    int rc = ck->err.code;
    if (!rc && ck->loading && ck->remaining != 0)
        afl_ckpt_fail(ck, AFL_EINPUT,
                      "%lld bytes of records were not read (written by a "
                      "different configuration or aflsim version)",
                      ck->remaining);
    if (!ck->err.code && !ck->loading) {
        unsigned char end[CKPT_END_BYTES];
        uint64_t len = 4;
        uint32_t crc = (uint32_t)ck->crc;
        end[0] = 3;
        memcpy(end + 1, "end", 3);
        memcpy(end + 4, &len, 8);
        memcpy(end + 12, &crc, 4);
        if (fwrite(end, 1, sizeof end, ck->f) != sizeof end || fflush(ck->f) != 0 ||
            fsync(fileno(ck->f)) != 0)
            afl_ckpt_fail(ck, AFL_EIO, "cannot write: %s", strerror(errno));
        int c = fclose(ck->f);
        ck->f = NULL;
        if (!ck->err.code && c != 0)
            afl_ckpt_fail(ck, AFL_EIO, "cannot write: %s", strerror(errno));
        if (!ck->err.code && rename(ck->tmp, ck->path) != 0)
            afl_ckpt_fail(ck, AFL_EIO, "cannot rename %s: %s", ck->tmp, strerror(errno));
    }
    rc = ck->err.code;
    if (rc && err)
        *err = ck->err;
    afl_ckpt_abort(ck);
    return rc;
}

int afl_ckpt_bytes(afl_ckpt *ck, const char *tag, void *data, size_t bytes)
{
    if (ck->err.code)
        return ck->err.code;
    size_t tl = strlen(tag);
    if (tl == 0 || tl > 255)
        return afl_ckpt_fail(ck, AFL_EINTERNAL, "bad record tag '%s'", tag);
    if (!ck->loading) {
        unsigned char t = (unsigned char)tl;
        uint64_t n = bytes;
        put(ck, &t, 1);
        put(ck, tag, tl);
        put(ck, &n, 8);
        put(ck, data, bytes);
        return ck->err.code;
    }
    unsigned char t = 0;
    char ftag[256];
    uint64_t n = 0;
    if (get(ck, &t, 1) || get(ck, ftag, t) || get(ck, &n, 8))
        return ck->err.code;
    ftag[t] = 0;
    if (strcmp(ftag, tag) != 0)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "expected record '%s' but found '%s' (written by a different "
                             "configuration or aflsim version)",
                             tag, ftag);
    if (n != bytes)
        return afl_ckpt_fail(ck, AFL_EINPUT, "record '%s' holds %llu bytes, expected %zu", tag,
                             (unsigned long long)n, bytes);
    get(ck, data, bytes);
    return ck->err.code;
}

int afl_ckpt_int(afl_ckpt *ck, const char *tag, int *v)
{
    return afl_ckpt_bytes(ck, tag, v, sizeof *v);
}
int afl_ckpt_i64(afl_ckpt *ck, const char *tag, int64_t *v)
{
    return afl_ckpt_bytes(ck, tag, v, sizeof *v);
}
int afl_ckpt_u64(afl_ckpt *ck, const char *tag, uint64_t *v)
{
    return afl_ckpt_bytes(ck, tag, v, sizeof *v);
}
int afl_ckpt_size(afl_ckpt *ck, const char *tag, size_t *v)
{
    uint64_t x = *v;
    int rc = afl_ckpt_bytes(ck, tag, &x, sizeof x);
    if (!rc && ck->loading) {
        if (x > SIZE_MAX / 16)
            return afl_ckpt_fail(ck, AFL_EINPUT, "record '%s': length %llu out of range", tag,
                                 (unsigned long long)x);
        *v = (size_t)x;
    }
    return rc;
}
int afl_ckpt_f64(afl_ckpt *ck, const char *tag, double *v)
{
    return afl_ckpt_bytes(ck, tag, v, sizeof *v);
}
int afl_ckpt_floats(afl_ckpt *ck, const char *tag, float *v, size_t n)
{
    return afl_ckpt_bytes(ck, tag, v, n * sizeof *v);
}
int afl_ckpt_doubles(afl_ckpt *ck, const char *tag, double *v, size_t n)
{
    return afl_ckpt_bytes(ck, tag, v, n * sizeof *v);
}
int afl_ckpt_ints(afl_ckpt *ck, const char *tag, int *v, size_t n)
{
    return afl_ckpt_bytes(ck, tag, v, n * sizeof *v);
}
int afl_ckpt_i64s(afl_ckpt *ck, const char *tag, int64_t *v, size_t n)
{
    return afl_ckpt_bytes(ck, tag, v, n * sizeof *v);
}
int afl_ckpt_uchars(afl_ckpt *ck, const char *tag, unsigned char *v, size_t n)
{
    return afl_ckpt_bytes(ck, tag, v, n);
}

int afl_ckpt_rng(afl_ckpt *ck, const char *tag, afl_rng *r)
{
    if (!r)
        return afl_ckpt_fail(ck, AFL_EINTERNAL, "record '%s': no random stream", tag);
    return afl_ckpt_bytes(ck, tag, gsl_rng_state(r), gsl_rng_size(r));
}

int afl_ckpt_rng_opt(afl_ckpt *ck, const char *tag, afl_rng **r)
{
    int have = *r != NULL;
    char t[280];
    snprintf(t, sizeof t, "%s?", tag);
    if (afl_ckpt_int(ck, t, &have))
        return ck->err.code;
    if (ck->loading) {
        if (!have) {
            afl_rng_free(*r);
            *r = NULL;
            return AFL_OK;
        }
        if (!*r && !(*r = afl_rng_create(0, 0, 0)))
            return afl_ckpt_fail(ck, AFL_ENOMEM, "out of memory");
    }
    return have ? afl_ckpt_rng(ck, tag, *r) : AFL_OK;
}
