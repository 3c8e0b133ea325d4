/* sim/evaluate.h - evaluation of the global model on the test set, split over
 * threads.  The test set is cut into fixed chunks of AFL_EVAL_CHUNK examples
 * whatever the thread count; per-chunk loss sums are added in chunk order, so
 * the result is bit-identical for any number of threads (DESIGN.md section 7). */
#ifndef AFL_EVALUATE_H
#define AFL_EVALUATE_H

#include <stdint.h>

#include "models/net.h"

#define AFL_EVAL_CHUNK 64

typedef struct afl_evaluator afl_evaluator;

afl_evaluator *afl_evaluator_create(const afl_net *net, int threads, int n_examples);
void afl_evaluator_free(afl_evaluator *e);
/* x: (n, dim), y: (n); n must be <= the n_examples given at creation.
 * *correct = number of correct argmax predictions, *loss_sum = sum of cross-entropies. */
int afl_evaluator_run(afl_evaluator *e, const float *w, const float *x, const int32_t *y, int n,
                      long *correct, double *loss_sum);

#endif
