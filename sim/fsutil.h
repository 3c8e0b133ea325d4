/* sim/fsutil.h - small file helpers: growable text buffer, whole-file atomic
 * writes (temp file + rename, so a killed run never leaves a half-written file),
 * directory creation. */
#ifndef AFL_FSUTIL_H
#define AFL_FSUTIL_H

#include <stddef.h>

#include "sim/err.h"

typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} afl_buf;

void afl_buf_printf(afl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void afl_buf_free(afl_buf *b);

/* Writes data to path.tmp.PID, fsyncs, renames over path. */
int afl_write_file_atomic(const char *path, const void *data, size_t len, afl_err *err);
/* mkdir -p */
int afl_mkdir_p(const char *path, afl_err *err);
/* Writes all of buf to fd, retrying on EINTR / short writes. 0 or -1 (errno set). */
int afl_write_all(int fd, const void *buf, size_t len);

/* The whole file as a NUL-terminated string (caller frees); NULL if it cannot be read. */
char *afl_read_file(const char *path);
/* Splits one CSV line in place into at most max fields (quoted fields with "" escapes
 * handled, the line ends at NUL or newline); returns the field count. */
int afl_csv_split(char *line, char **f, int max);

#endif
