/* sim/memory.h - a run's memory estimate, checked before the run allocates.
 *
 * `aflsim run` (and every point of `aflsim sweep`) estimates the memory it will need and
 * refuses to start (AFL_ENOMEM, exit status 2, the estimate and its parts in the message)
 * when the estimate exceeds MemAvailable (/proc/meminfo) or the --max-memory limit.  The
 * check runs twice: from the configuration and the dataset files' headers before anything
 * is allocated, and again, exactly, once the dataset is loaded (the model's size depends on
 * the data's shape and classes).  The formula is in sim/memory.c and docs/errors.md.
 */
#ifndef AFL_MEMORY_H
#define AFL_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/err.h"

/* The data a run will hold: n_train/n_test examples of c*h*w features; n_classes. */
typedef struct afl_mem_shape {
    int64_t n_train, n_test;
    int c, h, w, n_classes;
    int64_t loaded_train; /* examples loaded before subsetting (the peak), >= n_train */
    int known;            /* 0: the dataset's size is not known before loading (CSV) */
} afl_mem_shape;

/* The estimate, in bytes, by part. */
typedef struct afl_mem_estimate {
    double base;      /* the process itself: code, BLAS buffers, stacks */
    double dataset;   /* train + test (+ the peak of subsetting), partition, triggered test set */
    double model;     /* the global model and the per-arrival update vectors */
    double history;   /* model versions still needed (stale bases) */
    double work;      /* training and evaluation workspaces (activations) */
    double clients;   /* per-client state (RNG, shuffled indices, time-mode queues) */
    double attack;    /* the attacker's knowledge window and its own state */
    double defense;   /* the defense's buffers and per-client state, trusted data */
    double total;
    size_t d;         /* model parameters */
} afl_mem_estimate;

/* Parses a size: a number with an optional suffix K, M, G or T (powers of 1024; "KB",
 * "KiB", ... and lower case also accepted), e.g. 2G, 500M, 1.5g, 123456 (bytes).
 * 0 on success, -1 when the text is not a size. */
int afl_mem_parse_size(const char *text, uint64_t *bytes);

/* MemAvailable from /proc/meminfo, in bytes; 0 when unknown. */
uint64_t afl_mem_available(void);

/* "1.5 GiB", "300 MiB", ... */
void afl_mem_format(double bytes, char *buf, size_t n);

/* The data shape from the configuration and the dataset files' headers, without loading
 * (IDX: the headers; synthetic: the keys; CSV: unknown, known = 0; model.type = none:
 * no data). */
int afl_mem_probe(const afl_config *cfg, afl_mem_shape *shape, afl_err *err);

/* The estimate for a resolved configuration and a data shape; threads = worker threads. */
int afl_mem_estimate_run(const afl_config *cfg, const afl_mem_shape *shape, int threads,
                         afl_mem_estimate *est, afl_err *err);

/* AFL_OK, or AFL_ENOMEM with a message giving the estimate and its largest parts when
 * est->total exceeds max_bytes (0 = no limit) or the available memory plus `in_use` (bytes
 * the run already holds, counted in the estimate). */
int afl_mem_check(const afl_mem_estimate *est, uint64_t max_bytes, double in_use, afl_err *err);

/* The number of model-sized vectors a defense keeps, as fixed + per_client * n +
 * per_slot * (its buffer size); 0 when the defense is in the table, -1 when it is not (the
 * estimate then assumes 8 + 2 n). */
int afl_mem_defense_vectors(const char *defense, double *fixed, double *per_client,
                            double *per_slot);

#endif
