/* bench/stream.h - a synthetic stream of arriving updates for timing server rules.
 *
 * Round mode as in the paper: each round one client reports an update computed on the model
 * of `staleness` versions ago, staleness ~ U{0..min(10, version)}; the server then moves the
 * model by w <- w - lr step. Clients report in shuffled round-robin order (each block of n
 * rounds is a permutation), so after k n rounds every client has sent exactly k updates and a
 * defense's per-client history is as full as it would be late in a long run.
 *
 * An update has the structure of a minibatch gradient: a slowly drifting mean shared by all
 * clients (rotating in a 2-d subspace), a persistent per-client offset (non-IID data) and
 * per-update noise, each a unit-norm direction from a pool of random vectors, so that making
 * one costs O(d) and nothing at all inside the timed defense call.
 */
#ifndef AFL_BENCH_STREAM_H
#define AFL_BENCH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "defenses/defense.h"

#define STREAM_TAU 10
#define STREAM_POOL 16

typedef struct bench_stream {
    size_t d;
    int n;
    double lr;
    float *pool;   /* STREAM_POOL x d, unit-norm random directions */
    float *models; /* (STREAM_TAU + 1) x d, model of version v at v mod (TAU + 1) */
    float *g;      /* the current update */
    int64_t version, round;
    int *perm; /* (n) this block's order of clients */
    uint64_t rng;
} bench_stream;

/* 0, or -1 when out of memory. */
int stream_init(bench_stream *s, int n, size_t d, double lr, uint64_t seed);
void stream_free(bench_stream *s);
/* Back to round 0 with the same random directions (each defense sees the same stream). */
void stream_reset(bench_stream *s, uint64_t seed);
/* The next arrival: fills s->g and *u (which points into s). */
void stream_next(bench_stream *s, afl_update *u);
/* Publishes the next version w - lr step. */
void stream_apply(bench_stream *s, const float *step);
/* What a trusted client would send now (the drifting mean plus noise), into out (d). */
void stream_trusted(bench_stream *s, float *out);

#endif
