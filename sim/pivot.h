/* sim/pivot.h - `aflsim table`: pivot a sweep's table.csv into the paper's
 * table shape.  Writes DIR/table.md and DIR/paper_table.csv. */
#ifndef AFL_PIVOT_H
#define AFL_PIVOT_H

#include "sim/err.h"

/* metric: a column of table.csv without its _mean suffix (default final_test_error); the
 * ASR is paired with the test error only. */
int afl_pivot(const char *dir, const char *rows_key, const char *cols_key, const char *metric,
              afl_err *err);

#endif
