/* sim/evaluate.c - see evaluate.h */
#include "sim/evaluate.h"

#include <pthread.h>
#include <stdlib.h>

struct afl_evaluator {
    const afl_net *net;
    int threads;
    afl_ws **ws;       /* one workspace per thread */
    double *chunk_loss; /* (n_chunks) */
    long *chunk_correct;
    int max_chunks;
};

typedef struct {
    afl_evaluator *e;
    int tid;
    const float *w, *x;
    const int32_t *y;
    int n;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    afl_evaluator *e = j->e;
    int dim = afl_net_input_dim(e->net);
    int nch = (j->n + AFL_EVAL_CHUNK - 1) / AFL_EVAL_CHUNK;
    for (int c = j->tid; c < nch; c += e->threads) {
        int s = c * AFL_EVAL_CHUNK;
        int b = j->n - s < AFL_EVAL_CHUNK ? j->n - s : AFL_EVAL_CHUNK;
        long corr = 0;
        double loss = 0;
        afl_net_evaluate(e->net, e->ws[j->tid], j->w, j->x + (size_t)s * (size_t)dim, j->y + s, b,
                         &corr, &loss);
        e->chunk_correct[c] = corr;
        e->chunk_loss[c] = loss;
    }
    return NULL;
}

afl_evaluator *afl_evaluator_create(const afl_net *net, int threads, int n_examples)
{
    afl_evaluator *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->net = net;
    e->threads = threads < 1 ? 1 : threads;
    e->max_chunks = (n_examples + AFL_EVAL_CHUNK - 1) / AFL_EVAL_CHUNK;
    e->ws = calloc((size_t)e->threads, sizeof *e->ws);
    e->chunk_loss = malloc((size_t)(e->max_chunks + 1) * sizeof *e->chunk_loss);
    e->chunk_correct = malloc((size_t)(e->max_chunks + 1) * sizeof *e->chunk_correct);
    if (!e->ws || !e->chunk_loss || !e->chunk_correct) {
        afl_evaluator_free(e);
        return NULL;
    }
    for (int t = 0; t < e->threads; t++)
        if (!(e->ws[t] = afl_ws_create(net, AFL_EVAL_CHUNK))) {
            afl_evaluator_free(e);
            return NULL;
        }
    return e;
}

void afl_evaluator_free(afl_evaluator *e)
{
    if (!e)
        return;
    for (int t = 0; e->ws && t < e->threads; t++)
        afl_ws_free(e->ws[t]);
    free(e->ws);
    free(e->chunk_loss);
    free(e->chunk_correct);
    free(e);
}

int afl_evaluator_run(afl_evaluator *e, const float *w, const float *x, const int32_t *y, int n,
                      long *correct, double *loss_sum)
{
    int nch = (n + AFL_EVAL_CHUNK - 1) / AFL_EVAL_CHUNK;
    if (nch > e->max_chunks)
        return -1;
    int T = e->threads < nch ? e->threads : (nch > 0 ? nch : 1);
    job jobs[64];
    pthread_t tids[64];
    if (T > 64)
        T = 64;
    int saved = e->threads;
    e->threads = T;
    int started = 0;
    for (int t = 0; t < T; t++)
        jobs[t] = (job){e, t, w, x, y, n};
    for (int t = 1; t < T; t++) {
        if (pthread_create(&tids[t], NULL, worker, &jobs[t]) != 0)
            break;
        started = t;
    }
    if (started < T - 1) {
        /* could not start every thread: do the work of the missing ones here */
        for (int t = 1; t <= started; t++)
            pthread_join(tids[t], NULL);
        e->threads = 1;
        jobs[0].tid = 0;
        worker(&jobs[0]);
    } else {
        worker(&jobs[0]);
        for (int t = 1; t < T; t++)
            pthread_join(tids[t], NULL);
    }
    e->threads = saved;
    long corr = 0;
    double loss = 0;
    for (int c = 0; c < nch; c++) {
        corr += e->chunk_correct[c];
        loss += e->chunk_loss[c];
    }
    *correct = corr;
    *loss_sum = loss;
    return 0;
}
