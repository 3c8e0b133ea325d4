/* sim/rng.h - deterministic random streams.
 *
 * Every purpose (partition, delays, minibatches of client i, attack noise, ...)
 * gets its own stream derived from the master seed with splitmix64, so adding a
 * draw in one place never shifts the numbers another place sees, and streams
 * never have to be shared across threads.  The generator is xoshiro256**
 * (Blackman & Vigna 2018) wrapped as a gsl_rng_type, so every gsl_ran_*
 * distribution can draw from it.  State: 32 bytes per stream.
 */
#ifndef AFL_RNG_H
#define AFL_RNG_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

typedef gsl_rng afl_rng;

/* Purposes: one stream family each.  Never renumber (it changes results). */
enum afl_rng_purpose {
    AFL_RNG_PARTITION = 1, /* client groups and sample assignment */
    AFL_RNG_INIT = 2,      /* model initialisation */
    AFL_RNG_SCHED = 3,     /* round mode: client choice and staleness */
    AFL_RNG_DELAY = 4,     /* time mode: per-job compute/network times (index = client) */
    AFL_RNG_BATCH = 5,     /* minibatch sampling (index = client) */
    AFL_RNG_ATTACK = 6,    /* attack noise (index = client) */
    AFL_RNG_DEFENSE = 7,   /* defense randomness (trusted data sampling, ...) */
    AFL_RNG_DATA = 8,      /* synthetic data, subsets */
    AFL_RNG_EVAL = 9,      /* evaluation subset */
    AFL_RNG_SPEED = 10,    /* time mode: per-client speed and straggler draw */
    AFL_RNG_TEST = 99      /* tests */
};

extern const gsl_rng_type *afl_rng_xoshiro;

/* splitmix64 finaliser of (master, purpose, index): the seed of one stream. */
uint64_t afl_seed_mix(uint64_t master, uint64_t purpose, uint64_t index);

/* A new stream for (master, purpose, index); NULL when out of memory. */
afl_rng *afl_rng_create(uint64_t master, uint64_t purpose, uint64_t index);
void afl_rng_free(afl_rng *r);

/* Uniform double in [0,1) with 53 random bits. */
double afl_rng_uniform(afl_rng *r);
/* Unbiased integer in [0, n); n >= 1 (Lemire's method). */
uint64_t afl_rng_below(afl_rng *r, uint64_t n);
/* Standard normal N(0,1) (GSL's ziggurat). */
double afl_rng_normal(afl_rng *r);
/* Fisher-Yates shuffle of a[0..n). */
void afl_rng_shuffle_int(afl_rng *r, int *a, size_t n);

#endif
