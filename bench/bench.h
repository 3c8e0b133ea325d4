/* bench/bench.h - what the benchmark's sections share: options, the machine limits measured
 * once, the figures one section hands to another, and the data set.
 *
 * Each section is one file (limits.c, cnn.c, server.c, engine.c, e2e.c, torch.c); bench.c runs
 * them in order. A section that needs another's figure (e.g. the CNN step's fraction of the
 * sgemm peak) reads it from bench_ctx; when that section was not selected with --only, the
 * figure is measured quietly (rows are added only for selected sections).
 */
#ifndef AFL_BENCH_H
#define AFL_BENCH_H

#include <stddef.h>

#include "bench/gemm_trace.h"
#include "data/dataset.h"

enum {
    SEC_LIMITS = 1 << 0,
    SEC_TRAIN = 1 << 1,
    SEC_EVAL = 1 << 2,
    SEC_SERVER = 1 << 3,
    SEC_ENGINE = 1 << 4,
    SEC_E2E = 1 << 5,
    SEC_TORCH = 1 << 6,
    SEC_ALL = (1 << 7) - 1
};

typedef struct bench_ctx {
    /* options */
    int quick;            /* shorter runs, extrapolated where labelled */
    unsigned selected;    /* SEC_* bits */
    int threads;          /* threads for evaluation and end-to-end runs (default: online CPUs) */
    const char *defenses; /* --defenses: comma-separated names to time in section 4 (NULL: all) */
    int tty;              /* stderr is a terminal: progress lines */
    const char *src_dir;  /* the source tree (scenarios/, bench/torch_cnn.py) */
    char self[4096];      /* this executable (for measured child processes) */
    char aflsim[4096];    /* the aflsim command beside it */
    char tmp[4096];       /* scratch folder for run folders, removed at exit */

    /* machine limits (NAN until measured) */
    double sgemm_1024[2];  /* GFLOP/s, 1 and 2 OpenBLAS threads */
    double step_gemm_s[2]; /* seconds for the GEMMs of one batch-32 training step alone */
    double eval_gemm_s[2]; /* seconds for the GEMMs of one 64-image evaluation chunk alone */
    double bw[2];          /* memory read bandwidth, bytes/s, 1 and 2 threads */
    gemm_call step_calls[GEMM_TRACE_MAX];
    int n_step_calls;
    gemm_call eval_calls[GEMM_TRACE_MAX];
    int n_eval_calls;
    double step_flops, eval_chunk_flops;

    /* figures handed on */
    double step_s;    /* median CNN training step, batch 32, one thread */
    double eval_s[2]; /* 10k-image evaluation, 1 and ctx.threads threads */
    double server_asyncsgd_s, server_secureafl_s; /* n = 50, d = 139,960 */

    /* Fashion-MNIST, standardised (n = 0 when not installed: random images are used) */
    afl_dataset train, test;
    int have_data;
} bench_ctx;

/* Progress on stderr when it is a terminal; silent otherwise. */
void bench_progress(const bench_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads Fashion-MNIST once (standardised as in the quickstart); returns have_data. */
int bench_load_data(bench_ctx *c);

/* The sections. `report` = add rows to the table (the section was selected). */
void bench_limits(bench_ctx *c, int report);
void bench_train(bench_ctx *c, int report);
void bench_eval(bench_ctx *c, int report);
void bench_server(bench_ctx *c, int report);
void bench_engine(bench_ctx *c, int report);
void bench_e2e(bench_ctx *c, int report);
void bench_torch(bench_ctx *c, int report);

#endif
