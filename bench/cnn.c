/* bench/cnn.c - sections 2 and 3: the paper's CNN (139,960 parameters) on one thread.
 *
 * Section 2: one training step, afl_net_loss_grad at batch 32 (forward, loss, backward; the
 * server's w -= lr g is not part of it), median of many; its GEMM throughput (the flops of the
 * forward and backward sgemm calls, as recorded) against the sgemm peak; and how much of the
 * step is spent inside sgemm at all.
 * Section 3: evaluation of the 10,000 test images through afl_evaluator with 1 and N threads.
 * Both use Fashion-MNIST (standardised) when it is installed, random images otherwise (the
 * work does not depend on the values).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/clock.h"
#include "bench/table.h"
#include "models/net.h"
#include "sim/evaluate.h"

typedef struct {
    afl_net *net;
    float *w;
    size_t P;
} model;

static void model_init(model *m)
{
    afl_err err = {0};
    m->net = afl_net_cnn(1, 28, 28, 10, &err);
    m->P = m->net ? afl_net_nparams(m->net) : 0;
    m->w = m->net ? malloc(m->P * sizeof *m->w) : NULL;
    afl_rng *r = afl_rng_create(1, AFL_RNG_INIT, 0);
    if (!m->w || !r) {
        fprintf(stderr, "aflsim-bench: out of memory building the CNN\n");
        exit(1);
    }
    afl_net_init(m->net, m->w, r);
    afl_rng_free(r);
}

static void model_free(model *m)
{
    free(m->w);
    afl_net_free(m->net);
}

/* n examples: the first n of `from` when there is data, random N(0,1) images otherwise. */
static void examples(const bench_ctx *c, const afl_dataset *from, int n, float *x, int32_t *y)
{
    const size_t dim = 28 * 28;
    if (c->have_data && from->n >= n) {
        memcpy(x, from->x, (size_t)n * dim * sizeof *x);
        memcpy(y, from->y, (size_t)n * sizeof *y);
        return;
    }
    afl_rng *r = afl_rng_create(2, AFL_RNG_TEST, 0);
    for (size_t i = 0; i < (size_t)n * dim; i++)
        x[i] = r ? (float)afl_rng_normal(r) : 0.0f;
    for (int i = 0; i < n; i++)
        y[i] = i % 10;
    afl_rng_free(r);
}

void bench_train(bench_ctx *c, int report)
{
    const int B = 32, warm = 20, N = c->quick ? 150 : 600;
    model m;
    model_init(&m);
    afl_ws *ws = afl_ws_create(m.net, B);
    float *g = malloc(m.P * sizeof *g), *x = malloc((size_t)B * 784 * sizeof *x);
    int32_t y[32];
    double *t = malloc((size_t)N * sizeof *t);
    if (!ws || !g || !x || !t) {
        fprintf(stderr, "aflsim-bench: out of memory\n");
        exit(1);
    }
    examples(c, &c->train, B, x, y);
    afl_blas_set_threads(1);
    bench_progress(c, "train: %d CNN steps", N);
    for (int i = 0; i < warm; i++)
        afl_net_loss_grad(m.net, ws, m.w, x, y, B, g);
    for (int i = 0; i < N; i++) {
        double t0 = bench_now();
        afl_net_loss_grad(m.net, ws, m.w, x, y, B, g);
        t[i] = bench_now() - t0;
    }
    double fastest = bench_min(t, N);
    c->step_s = bench_median(t, N);

    /* the same steps again, adding up the time inside sgemm */
    int N2 = N / 2;
    gemm_timing_start();
    double t0 = bench_now();
    for (int i = 0; i < N2; i++)
        afl_net_loss_grad(m.net, ws, m.w, x, y, B, g);
    double total = (bench_now() - t0) / N2;
    double inside = gemm_timing_stop() / N2;

    if (report) {
        table_section("2. CNN training step (afl_net_loss_grad), batch 32, one thread");
        table_row("CNN step batch 32", 1e3 * c->step_s, "ms", "<= 2.5", 1e3 * c->step_gemm_s[0],
                  LOWER_BETTER,
                  "median of %d (fastest %.3f ms); limit = its %d sgemm calls alone at their "
                  "measured 1-thread rate; %zu parameters, %s data",
                  N, 1e3 * fastest, c->n_step_calls, m.P,
                  c->have_data ? "Fashion-MNIST" : "random");
        table_row("CNN step GEMM throughput", c->step_flops / c->step_s / 1e9, "GFLOP/s", "",
                  c->sgemm_1024[0], HIGHER_BETTER,
                  "%.1f MFLOP of forward+backward sgemm per step; ratio = fraction of the "
                  "1-thread sgemm peak (1024^3)",
                  c->step_flops / 1e6);
        table_row("CNN step time inside sgemm", 1e3 * inside, "ms", "", 1e3 * c->step_gemm_s[0],
                  LOWER_BETTER, "%.0f%% of the step (mean of %d instrumented steps)",
                  100 * inside / total, N2);
        table_row("CNN step time outside sgemm", 1e3 * (total - inside), "ms", "", NAN,
                  LOWER_BETTER,
                  "%.0f%%: input transpose, im2col, bias fill, ReLU, max-pool, loss, col2im, "
                  "bias sums",
                  100 * (total - inside) / total);
    }
    free(t);
    free(g);
    free(x);
    afl_ws_free(ws);
    model_free(&m);
}

void bench_eval(bench_ctx *c, int report)
{
    const int n = 10000, reps = c->quick ? 3 : 7;
    model m;
    model_init(&m);
    float *x = malloc((size_t)n * 784 * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "aflsim-bench: out of memory\n");
        exit(1);
    }
    examples(c, &c->test, n, x, y);
    if (report)
        table_section("3. evaluation of the 10,000 test images (afl_evaluator)");
    int threads[2] = {1, c->threads};
    for (int k = 0; k < 2; k++) {
        int T = threads[k];
        if (k == 1 && T == 1) {
            c->eval_s[1] = c->eval_s[0];
            break;
        }
        afl_evaluator *e = afl_evaluator_create(m.net, T, n);
        if (!e) {
            fprintf(stderr, "aflsim-bench: out of memory\n");
            exit(1);
        }
        bench_progress(c, "eval: 10k images, %d thread(s)", T);
        long correct = 0;
        double loss = 0, t[16];
        afl_evaluator_run(e, m.w, x, y, n, &correct, &loss); /* warm-up */
        for (int r = 0; r < reps; r++) {
            double t0 = bench_now();
            afl_evaluator_run(e, m.w, x, y, n, &correct, &loss);
            t[r] = bench_now() - t0;
        }
        c->eval_s[k] = bench_median(t, reps);
        afl_evaluator_free(e);
        if (report) {
            char name[96];
            snprintf(name, sizeof name, "evaluate 10k images %d thread%s", T, T > 1 ? "s" : "");
            /* the forward sgemm calls of every 64-image chunk, at their 1-thread rate, shared
             * by T threads */
            double limit = c->eval_gemm_s[0] * ((double)n / AFL_EVAL_CHUNK) / T;
            table_row(name, c->eval_s[k], "s", "<= 0.3", limit, LOWER_BETTER,
                      "median of %d; limit = the forward sgemm calls alone (%.1f GFLOP) at their "
                      "1-thread rate over %d thread%s",
                      reps, c->eval_chunk_flops * ((double)n / AFL_EVAL_CHUNK) / 1e9, T,
                      T > 1 ? "s" : "");
        }
    }
    free(x);
    free(y);
    model_free(&m);
}
