/* bench/gemm_trace.h - the sgemm calls the library really makes, and what they cost alone.
 *
 * aflsim-bench is linked with -Wl,--wrap=cblas_sgemm, so every cblas_sgemm call from libaflsim
 * (and from the benchmark) goes through __wrap_cblas_sgemm, which can record the call's shape
 * and add up the time spent inside OpenBLAS. The recorded shapes are replayed on scratch
 * buffers to measure the sgemm rate at exactly the CNN's shapes, so the benchmark follows any
 * change of layout in models/ without being edited.
 */
#ifndef AFL_BENCH_GEMM_TRACE_H
#define AFL_BENCH_GEMM_TRACE_H

#define GEMM_TRACE_MAX 64

typedef struct gemm_call {
    int order, ta, tb; /* CBLAS enums */
    int M, N, K, lda, ldb, ldc;
    float beta;
} gemm_call;

/* Records the shapes of the next cblas_sgemm calls into out[0..max) until gemm_trace_stop,
 * which returns how many were made (calls past max are counted, not stored). */
void gemm_trace_start(gemm_call *out, int max);
int gemm_trace_stop(void);

/* Adds up the wall time spent inside cblas_sgemm while on (a clock read around each call). */
void gemm_timing_start(void);
double gemm_timing_stop(void); /* seconds since gemm_timing_start */

/* 2 M N K. */
double gemm_flops(const gemm_call *c);
double gemm_flops_sum(const gemm_call *c, int n);
/* "M x N x K NT" */
void gemm_describe(const gemm_call *c, char *buf, int len);

/* Seconds for one pass over calls[0..n) in order on scratch buffers (each call its own A, B,
 * C): the best, over `rounds` rounds, of the mean pass time of a round that repeats the pass
 * until it has run for min_time seconds. NAN when out of memory. */
double gemm_replay_seconds(const gemm_call *calls, int n, double min_time, int rounds);

/* The shared object that cblas_sgemm resolves to for this process (dladdr of the symbol the
 * dynamic linker binds), e.g. "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0";
 * "?" if unknown. */
const char *gemm_provider(void);

#endif
