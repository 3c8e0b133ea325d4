/* sim/csvout.c - see csvout.h */
#include "sim/csvout.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int afl_csv_open(afl_csv *c, const char *path, const char *header, afl_err *err)
{
    memset(c, 0, sizeof *c);
    c->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (c->fd < 0)
        return afl_err_set(err, AFL_EIO, "cannot create %s: %s", path, strerror(errno));
    c->path = strdup(path);
    c->ncols = 1;
    for (const char *p = header; *p; p++)
        c->ncols += *p == ',';
    afl_buf_printf(&c->buf, "%s\n", header);
    c->row_start = c->buf.len;
    return afl_csv_flush(c, err);
}

int afl_csv_reopen(afl_csv *c, const char *path, const char *header, long long length, afl_err *err)
{
    memset(c, 0, sizeof *c);
    c->fd = open(path, O_RDWR);
    if (c->fd < 0)
        return afl_err_set(err, AFL_EIO, "cannot reopen %s to resume: %s", path, strerror(errno));
    size_t hl = strlen(header);
    char *head = malloc(hl + 1);
    off_t size = lseek(c->fd, 0, SEEK_END);
    int ok = head && size >= (off_t)length && length >= (long long)hl + 1 &&
             pread(c->fd, head, hl + 1, 0) == (ssize_t)(hl + 1) && memcmp(head, header, hl) == 0 &&
             head[hl] == '\n';
    free(head);
    if (!ok) {
        close(c->fd);
        c->fd = -1;
        return afl_err_set(err, AFL_EINPUT,
                           "cannot resume: %s is not the file the checkpoint was taken with "
                           "(expected its header and at least %lld bytes)",
                           path, length);
    }
    if (ftruncate(c->fd, (off_t)length) != 0 || lseek(c->fd, (off_t)length, SEEK_SET) < 0) {
        int e = errno;
        close(c->fd);
        c->fd = -1;
        return afl_err_set(err, AFL_EIO, "cannot resume %s: %s", path, strerror(e));
    }
    c->path = strdup(path);
    c->ncols = 1;
    for (const char *p = header; *p; p++)
        c->ncols += *p == ',';
    c->written = length;
    return c->path ? AFL_OK : afl_err_set(err, AFL_ENOMEM, "out of memory");
}

static void sep(afl_csv *c)
{
    if (c->nfield++)
        afl_buf_printf(&c->buf, ",");
}

void afl_csv_str(afl_csv *c, const char *s)
{
    sep(c);
    if (strpbrk(s, ",\"\n")) {
        afl_buf_printf(&c->buf, "\"");
        for (const char *p = s; *p; p++)
            afl_buf_printf(&c->buf, *p == '"' ? "\"\"" : "%c", *p);
        afl_buf_printf(&c->buf, "\"");
    } else {
        afl_buf_printf(&c->buf, "%s", s);
    }
}

void afl_csv_int(afl_csv *c, int64_t v)
{
    sep(c);
    afl_buf_printf(&c->buf, "%lld", (long long)v);
}

void afl_csv_realf(afl_csv *c, double v, int digits)
{
    sep(c);
    if (isnan(v))
        afl_buf_printf(&c->buf, "NA");
    else if (isinf(v))
        afl_buf_printf(&c->buf, v > 0 ? "Inf" : "-Inf");
    else
        afl_buf_printf(&c->buf, "%.*g", digits, v);
}

void afl_csv_real(afl_csv *c, double v)
{
    afl_csv_realf(c, v, 17);
}

void afl_csv_na(afl_csv *c)
{
    sep(c);
    afl_buf_printf(&c->buf, "NA");
}

int afl_csv_flush(afl_csv *c, afl_err *err)
{
    if (c->failed) {
        if (err)
            *err = c->err;
        return c->err.code;
    }
    if (c->buf.oom)
        return afl_err_set(err, AFL_ENOMEM, "out of memory writing %s", c->path);
    size_t whole = c->row_start; /* only complete rows */
    if (whole == 0)
        return AFL_OK;
    if (afl_write_all(c->fd, c->buf.data, whole) != 0) {
        int e = errno;
        c->failed = 1;
        /* a full disk may have taken part of the rows: cut the file back to whole rows */
        if (ftruncate(c->fd, (off_t)c->written) == 0)
            lseek(c->fd, (off_t)c->written, SEEK_SET);
        afl_err_set(&c->err, AFL_EIO, "cannot write %s: %s", c->path, strerror(e));
        if (err)
            *err = c->err;
        return AFL_EIO;
    }
    c->written += (long long)whole;
    memmove(c->buf.data, c->buf.data + whole, c->buf.len - whole);
    c->buf.len -= whole;
    c->row_start = 0;
    return AFL_OK;
}

int afl_csv_end_row(afl_csv *c, afl_err *err)
{
    afl_buf_printf(&c->buf, "\n");
    c->nfield = 0;
    c->row_start = c->buf.len;
    if (c->buf.len >= 1 << 16)
        return afl_csv_flush(c, err);
    return c->failed ? afl_csv_flush(c, err) : AFL_OK;
}

int afl_csv_close(afl_csv *c, afl_err *err)
{
    int rc = AFL_OK;
    if (c->fd >= 0) {
        rc = afl_csv_flush(c, err);
        if (close(c->fd) != 0 && !rc)
            rc = afl_err_set(err, AFL_EIO, "cannot write %s: %s", c->path, strerror(errno));
    }
    c->fd = -1;
    free(c->path);
    c->path = NULL;
    afl_buf_free(&c->buf);
    return rc;
}
