/* bench/limits.c - section 1: the machine's limits, measured here rather than trusted.
 *
 *  - sgemm GFLOP/s at 1024^3 and at exactly the shapes of the CNN's training step and of one
 *    evaluation chunk (recorded from the library's own cblas_sgemm calls, see gemm_trace.h),
 *    with OpenBLAS on 1 and on 2 threads;
 *  - memory read bandwidth: the sum of a 256 MiB float array (far beyond the caches), by one
 *    thread and by two threads each summing one half; best of several passes.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench/bench.h"
#include "bench/clock.h"
#include "bench/table.h"
#include "models/net.h"
#include "sim/evaluate.h"

/* ---- recording the CNN's GEMM calls ---- */

static void record_cnn_calls(bench_ctx *c)
{
    afl_err err = {0};
    afl_net *net = afl_net_cnn(1, 28, 28, 10, &err);
    afl_ws *ws32 = net ? afl_ws_create(net, 32) : NULL;
    afl_ws *ws64 = net ? afl_ws_create(net, AFL_EVAL_CHUNK) : NULL;
    size_t P = net ? afl_net_nparams(net) : 0, dim = 28 * 28;
    float *w = malloc(P * sizeof *w), *g = malloc(P * sizeof *g);
    float *x = malloc(AFL_EVAL_CHUNK * dim * sizeof *x);
    int32_t y[AFL_EVAL_CHUNK];
    afl_rng *r = afl_rng_create(1, AFL_RNG_TEST, 0);
    if (!ws32 || !ws64 || !w || !g || !x || !r) {
        fprintf(stderr, "aflsim-bench: out of memory building the CNN\n");
        exit(1);
    }
    afl_net_init(net, w, r);
    for (size_t i = 0; i < AFL_EVAL_CHUNK * dim; i++)
        x[i] = (float)afl_rng_normal(r);
    for (int i = 0; i < AFL_EVAL_CHUNK; i++)
        y[i] = i % 10;
    gemm_trace_start(c->step_calls, GEMM_TRACE_MAX);
    afl_net_loss_grad(net, ws32, w, x, y, 32, g);
    c->n_step_calls = gemm_trace_stop();
    long correct = 0;
    double loss = 0;
    gemm_trace_start(c->eval_calls, GEMM_TRACE_MAX);
    afl_net_evaluate(net, ws64, w, x, y, AFL_EVAL_CHUNK, &correct, &loss);
    c->n_eval_calls = gemm_trace_stop();
    if (c->n_step_calls > GEMM_TRACE_MAX)
        c->n_step_calls = GEMM_TRACE_MAX;
    if (c->n_eval_calls > GEMM_TRACE_MAX)
        c->n_eval_calls = GEMM_TRACE_MAX;
    c->step_flops = gemm_flops_sum(c->step_calls, c->n_step_calls);
    c->eval_chunk_flops = gemm_flops_sum(c->eval_calls, c->n_eval_calls);
    afl_rng_free(r);
    free(w);
    free(g);
    free(x);
    afl_ws_free(ws32);
    afl_ws_free(ws64);
    afl_net_free(net);
}

/* ---- memory bandwidth ---- */

typedef struct {
    const float *x;
    size_t n;
    double sum;
} sum_job;

static void *sum_floats(void *arg)
{
    sum_job *j = arg;
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= j->n; i += 16)
        for (int k = 0; k < 16; k++)
            acc[k] += j->x[i + k];
    double s = 0;
    for (int k = 0; k < 16; k++)
        s += acc[k];
    for (; i < j->n; i++)
        s += j->x[i];
    j->sum = s;
    return NULL;
}

/* Bytes per second reading n floats with `threads` threads (1 or 2): best of `reps`. */
static double read_bandwidth(const float *x, size_t n, int threads, int reps)
{
    double best = 0;
    volatile double sink = 0;
    for (int r = 0; r < reps; r++) {
        sum_job jobs[2] = {{x, n / (size_t)threads, 0}, {x + n / 2, n - n / 2, 0}};
        pthread_t t;
        double t0 = bench_now();
        int two = threads == 2 && pthread_create(&t, NULL, sum_floats, &jobs[1]) == 0;
        sum_floats(&jobs[0]);
        if (two)
            pthread_join(t, NULL);
        double dt = bench_now() - t0;
        size_t bytes = (two ? n : jobs[0].n) * sizeof(float);
        sink = sink + jobs[0].sum + jobs[1].sum;
        if (bytes / dt > best)
            best = (double)bytes / dt;
    }
    (void)sink;
    return best;
}

/* ---- the section ---- */

static double gflops(double flops, double s)
{
    return flops / s / 1e9;
}

void bench_limits(bench_ctx *c, int report)
{
    double min_t = c->quick ? 0.02 : 0.05;
    int rounds = c->quick ? 3 : 5;
    if (report)
        table_section("1. machine limits");
    bench_progress(c, "limits: recording the CNN's sgemm calls");
    record_cnn_calls(c);

    /* sgemm 1024^3 */
    gemm_call big = {CblasRowMajor, CblasNoTrans, CblasNoTrans, 1024, 1024,
                     1024,          1024,         1024,         1024, 0.0f};
    for (int t = 0; t < 2; t++) {
        bench_progress(c, "limits: sgemm 1024^3, %d thread(s)", t + 1);
        afl_blas_set_threads(t + 1);
        double s = gemm_replay_seconds(&big, 1, c->quick ? 0.1 : 0.3, rounds);
        c->sgemm_1024[t] = gflops(gemm_flops(&big), s);
    }
    afl_blas_set_threads(1);
    if (report) {
        table_row("sgemm 1024^3 1 thread", c->sgemm_1024[0], "GFLOP/s", "", NAN, HIGHER_BETTER,
                  "the compute limit of one core (best of %d)", rounds);
        table_row("sgemm 1024^3 2 threads", c->sgemm_1024[1], "GFLOP/s", "", NAN, HIGHER_BETTER,
                  "OpenBLAS splitting one GEMM over both cores");
    }

    /* every GEMM of the training step and of one evaluation chunk, alone */
    for (int i = 0; i < c->n_step_calls && report; i++) {
        const gemm_call *g = &c->step_calls[i];
        char shape[64], name[96];
        gemm_describe(g, shape, sizeof shape);
        bench_progress(c, "limits: sgemm %s", shape);
        double s1 = gemm_replay_seconds(g, 1, min_t, rounds);
        afl_blas_set_threads(2);
        double s2 = gemm_replay_seconds(g, 1, min_t, rounds);
        afl_blas_set_threads(1);
        snprintf(name, sizeof name, "sgemm step #%d %s", i + 1, shape);
        table_row(name, gflops(gemm_flops(g), s1), "GFLOP/s", "", c->sgemm_1024[0], HIGHER_BETTER,
                  "1 thread (ratio to 1024^3); 2 threads: %.1f GFLOP/s; %.1f%% of the step's flops",
                  gflops(gemm_flops(g), s2), 100 * gemm_flops(g) / c->step_flops);
    }
    for (int t = 0; t < 2; t++) {
        bench_progress(c, "limits: the step's and the evaluation's sgemm sets, %d thread(s)",
                       t + 1);
        afl_blas_set_threads(t + 1);
        c->step_gemm_s[t] = gemm_replay_seconds(c->step_calls, c->n_step_calls, min_t, rounds);
        c->eval_gemm_s[t] = gemm_replay_seconds(c->eval_calls, c->n_eval_calls, min_t, rounds);
    }
    afl_blas_set_threads(1);
    if (report) {
        for (int t = 0; t < 2; t++) {
            char name[96];
            snprintf(name, sizeof name, "sgemm CNN step set %d thread%s", t + 1, t ? "s" : "");
            table_row(name, gflops(c->step_flops, c->step_gemm_s[t]), "GFLOP/s", "",
                      c->sgemm_1024[t], HIGHER_BETTER,
                      "the %d sgemm calls of one batch-32 step back to back: %.3f ms, %.1f MFLOP",
                      c->n_step_calls, 1e3 * c->step_gemm_s[t], c->step_flops / 1e6);
        }
        for (int t = 0; t < 2; t++) {
            char name[96];
            snprintf(name, sizeof name, "sgemm CNN eval set %d thread%s", t + 1, t ? "s" : "");
            table_row(name, gflops(c->eval_chunk_flops, c->eval_gemm_s[t]), "GFLOP/s", "",
                      c->sgemm_1024[t], HIGHER_BETTER,
                      "the %d forward sgemm calls of one %d-image evaluation chunk",
                      c->n_eval_calls, AFL_EVAL_CHUNK);
        }
    }

    /* memory read bandwidth */
    size_t n = (size_t)256 << 20 >> 2; /* 256 MiB of floats */
    float *x = malloc(n * sizeof *x);
    if (!x) {
        c->bw[0] = c->bw[1] = NAN;
    } else {
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(i & 1023) * 1e-3f;
        bench_progress(c, "limits: memory read bandwidth");
        c->bw[0] = read_bandwidth(x, n, 1, c->quick ? 4 : 8);
        c->bw[1] = read_bandwidth(x, n, 2, c->quick ? 4 : 8);
        free(x);
    }
    if (report) {
        table_row("memory read 1 thread", c->bw[0] / 1e9, "GB/s", "", NAN, HIGHER_BETTER,
                  "sum of a 256 MiB float array; best of %d", c->quick ? 4 : 8);
        table_row("memory read 2 threads", c->bw[1] / 1e9, "GB/s", "", NAN, HIGHER_BETTER,
                  "each thread sums one half");
    }
}
