/* sim/csvout.h - tidy CSV output written in whole rows.
 *
 * Rows are formatted into a memory buffer and handed to write(2) only as
 * complete rows, so a run killed at any moment leaves a CSV whose every row is
 * whole.  Numbers use "%.9g" (floats) / "%.17g" (doubles); a missing value is
 * written as NA.
 */
#ifndef AFL_CSVOUT_H
#define AFL_CSVOUT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/err.h"
#include "sim/fsutil.h"

typedef struct afl_csv {
    int fd;
    char *path;
    afl_buf buf;
    size_t row_start; /* offset of the row being built */
    int nfield;       /* fields in the row being built */
    int ncols;
    int failed;       /* a write error happened; the message is in err */
    long long written; /* bytes of whole rows in the file */
    afl_err err;
} afl_csv;

/* Creates (truncates) path and writes the header "a,b,c". */
int afl_csv_open(afl_csv *c, const char *path, const char *header, afl_err *err);
/* Resuming (`aflsim run --resume`): reopens path, which must start with exactly this header
 * and hold at least `length` bytes, cuts it back to `length` bytes (the whole rows written
 * before the checkpoint) and appends after them. */
int afl_csv_reopen(afl_csv *c, const char *path, const char *header, long long length,
                   afl_err *err);
void afl_csv_str(afl_csv *c, const char *s);
void afl_csv_int(afl_csv *c, int64_t v);
void afl_csv_real(afl_csv *c, double v); /* %.17g; NA if NAN */
void afl_csv_realf(afl_csv *c, double v, int digits);
void afl_csv_na(afl_csv *c);
/* Ends a row; flushes whole rows when the buffer is large. */
int afl_csv_end_row(afl_csv *c, afl_err *err);
int afl_csv_flush(afl_csv *c, afl_err *err);
int afl_csv_close(afl_csv *c, afl_err *err);

#endif
