/* sim/progress.h - a one-line progress report with rate and ETA on stderr,
 * shown only on a terminal (or when forced); silent otherwise. */
#ifndef AFL_PROGRESS_H
#define AFL_PROGRESS_H

#include <stdint.h>

typedef struct afl_progress {
    int on;
    int64_t total;
    double start, last;
} afl_progress;

/* mode: 1 on, 0 off, -1 only when stderr is a terminal */
void afl_progress_init(afl_progress *p, int64_t total, int mode);
void afl_progress_update(afl_progress *p, int64_t done, double test_error);
void afl_progress_finish(afl_progress *p);

#endif
