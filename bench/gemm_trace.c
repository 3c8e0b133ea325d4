/* bench/gemm_trace.c - see gemm_trace.h. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT */
#include "bench/gemm_trace.h"

#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/clock.h"

/* The real cblas_sgemm (ld --wrap). */
void __real_cblas_sgemm(const enum CBLAS_ORDER Order, const enum CBLAS_TRANSPOSE TransA,
                        const enum CBLAS_TRANSPOSE TransB, const blasint M, const blasint N,
                        const blasint K, const float alpha, const float *A, const blasint lda,
                        const float *B, const blasint ldb, const float beta, float *C,
                        const blasint ldc);
void __wrap_cblas_sgemm(const enum CBLAS_ORDER Order, const enum CBLAS_TRANSPOSE TransA,
                        const enum CBLAS_TRANSPOSE TransB, const blasint M, const blasint N,
                        const blasint K, const float alpha, const float *A, const blasint lda,
                        const float *B, const blasint ldb, const float beta, float *C,
                        const blasint ldc);

static struct {
    gemm_call *out;
    int max, n, on;
    int timing;
    double inside, started;
} T;

void __wrap_cblas_sgemm(const enum CBLAS_ORDER Order, const enum CBLAS_TRANSPOSE TransA,
                        const enum CBLAS_TRANSPOSE TransB, const blasint M, const blasint N,
                        const blasint K, const float alpha, const float *A, const blasint lda,
                        const float *B, const blasint ldb, const float beta, float *C,
                        const blasint ldc)
{
    if (T.on) {
        if (T.n < T.max)
            T.out[T.n] =
                (gemm_call){(int)Order, (int)TransA, (int)TransB, M, N, K, lda, ldb, ldc, beta};
        T.n++;
    }
    if (!T.timing) {
        __real_cblas_sgemm(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    double t0 = bench_now();
    __real_cblas_sgemm(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    T.inside += bench_now() - t0;
}

void gemm_trace_start(gemm_call *out, int max)
{
    T.out = out;
    T.max = max;
    T.n = 0;
    T.on = 1;
}

int gemm_trace_stop(void)
{
    T.on = 0;
    return T.n;
}

void gemm_timing_start(void)
{
    T.inside = 0;
    T.timing = 1;
}

double gemm_timing_stop(void)
{
    T.timing = 0;
    return T.inside;
}

double gemm_flops(const gemm_call *c)
{
    return 2.0 * c->M * (double)c->N * c->K;
}

double gemm_flops_sum(const gemm_call *c, int n)
{
    double f = 0;
    for (int i = 0; i < n; i++)
        f += gemm_flops(&c[i]);
    return f;
}

void gemm_describe(const gemm_call *c, char *buf, int len)
{
    snprintf(buf, (size_t)len, "%dx%dx%d %c%c", c->M, c->N, c->K, c->ta == CblasTrans ? 'T' : 'N',
             c->tb == CblasTrans ? 'T' : 'N');
}

/* Floats a row-major or column-major operand of `rows` x `cols` (as stored) needs. */
static size_t stored(int order, int rows, int cols, int ld)
{
    return order == CblasRowMajor ? (size_t)rows * ld : (size_t)cols * ld;
}

double gemm_replay_seconds(const gemm_call *calls, int n, double min_time, int rounds)
{
    float **buf = calloc((size_t)n * 3, sizeof *buf);
    if (!buf)
        return NAN;
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const gemm_call *c = &calls[i];
        /* op(A) is M x K, op(B) is K x N, C is M x N */
        int ar = c->ta == CblasTrans ? c->K : c->M, ac = c->ta == CblasTrans ? c->M : c->K;
        int br = c->tb == CblasTrans ? c->N : c->K, bc = c->tb == CblasTrans ? c->K : c->N;
        size_t sz[3] = {stored(c->order, ar, ac, c->lda), stored(c->order, br, bc, c->ldb),
                        stored(c->order, c->M, c->N, c->ldc)};
        for (int k = 0; k < 3 && ok; k++) {
            buf[3 * i + k] = malloc(sz[k] * sizeof(float));
            if (!buf[3 * i + k]) {
                ok = 0;
                break;
            }
            for (size_t j = 0; j < sz[k]; j++) /* small values: no overflow, no denormals */
                buf[3 * i + k][j] = (float)((j * 2654435761u % 1000) / 1000.0 - 0.5);
        }
    }
    double best = NAN;
    for (int r = 0; r < rounds && ok; r++) {
        long reps = 0;
        double t0 = bench_now(), t;
        do {
            for (int i = 0; i < n; i++) {
                const gemm_call *c = &calls[i];
                cblas_sgemm((enum CBLAS_ORDER)c->order, (enum CBLAS_TRANSPOSE)c->ta,
                            (enum CBLAS_TRANSPOSE)c->tb, c->M, c->N, c->K, 1.0f, buf[3 * i], c->lda,
                            buf[3 * i + 1], c->ldb, c->beta, buf[3 * i + 2], c->ldc);
            }
            reps++;
            t = bench_now() - t0;
        } while (t < min_time);
        double per = t / (double)reps;
        if (!(per >= best))
            best = per;
    }
    for (int i = 0; i < 3 * n; i++)
        free(buf[i]);
    free(buf);
    return ok ? best : NAN;
}

const char *gemm_provider(void)
{
    static char path[4096];
    void *sym = dlsym(RTLD_DEFAULT, "cblas_sgemm");
    Dl_info info;
    if (!sym || !dladdr(sym, &info) || !info.dli_fname)
        return "?";
    snprintf(path, sizeof path, "%s", info.dli_fname);
    return path;
}
