/* sim/trusted.c - see trusted.h */
#include "sim/trusted.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int afl_trusted_init(afl_trusted *t, const afl_net *net, const afl_dataset *train, int n,
                     int max_batch, uint64_t seed, afl_err *err)
{
    memset(t, 0, sizeof *t);
    t->net = net;
    if (n > train->n)
        return afl_err_set(err, AFL_EINPUT,
                           "defense.trusted_size = %d is larger than the training set (%d examples)",
                           n, train->n);
    afl_rng *pick = afl_rng_create(seed, AFL_RNG_DEFENSE, 1);
    if (!pick)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    int rc = afl_dataset_subset(train, n, pick, &t->data, err);
    afl_rng_free(pick);
    if (rc)
        return rc;
    t->max_batch = max_batch < n ? max_batch : n;
    if (t->max_batch < 1)
        t->max_batch = 1;
    int nc = afl_net_n_classes(net);
    t->ws = afl_ws_create(net, t->max_batch);
    t->rng = afl_rng_create(seed, AFL_RNG_DEFENSE, 2);
    t->xb = malloc((size_t)t->max_batch * (size_t)t->data.dim * sizeof(float));
    t->yb = malloc((size_t)t->max_batch * sizeof(int32_t));
    t->logits = malloc((size_t)t->max_batch * (size_t)nc * sizeof(float));
    if (!t->ws || !t->rng || !t->xb || !t->yb || !t->logits) {
        afl_trusted_free(t);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (trusted data)");
    }
    return AFL_OK;
}

void afl_trusted_free(afl_trusted *t)
{
    afl_dataset_free(&t->data);
    afl_ws_free(t->ws);
    afl_rng_free(t->rng);
    free(t->xb);
    free(t->yb);
    free(t->logits);
    memset(t, 0, sizeof *t);
}

float afl_trusted_grad(void *env, const float *w, int batch, float *grad)
{
    afl_trusted *t = env;
    int n = t->data.n, dim = t->data.dim;
    if (batch <= 0 || batch >= n) {
        /* whole set, in chunks of max_batch; the mean gradient is the size-weighted mean */
        size_t d = afl_net_nparams(t->net);
        float *g = NULL;
        double loss = 0;
        if (n <= t->max_batch)
            return afl_net_loss_grad(t->net, t->ws, w, t->data.x, t->data.y, n, grad);
        g = malloc(d * sizeof *g);
        if (!g)
            return NAN;
        memset(grad, 0, d * sizeof *grad);
        for (int s = 0; s < n; s += t->max_batch) {
            int b = n - s < t->max_batch ? n - s : t->max_batch;
            loss += (double)b * afl_net_loss_grad(t->net, t->ws, w, t->data.x + (size_t)s * dim,
                                                  t->data.y + s, b, g);
            for (size_t k = 0; k < d; k++)
                grad[k] += (float)b * g[k];
        }
        for (size_t k = 0; k < d; k++)
            grad[k] /= (float)n;
        free(g);
        return (float)(loss / n);
    }
    if (batch > t->max_batch)
        batch = t->max_batch;
    /* selection sampling (Knuth's Algorithm S): batch distinct examples, in index order */
    int chosen = 0;
    for (int i = 0; i < n && chosen < batch; i++) {
        if (afl_rng_below(t->rng, (uint64_t)(n - i)) < (uint64_t)(batch - chosen)) {
            memcpy(t->xb + (size_t)chosen * dim, t->data.x + (size_t)i * dim, dim * sizeof(float));
            t->yb[chosen++] = t->data.y[i];
        }
    }
    return afl_net_loss_grad(t->net, t->ws, w, t->xb, t->yb, batch, grad);
}

void afl_trusted_eval(void *env, const float *w, double *loss, double *entropy)
{
    afl_trusted *t = env;
    int n = t->data.n, dim = t->data.dim, nc = afl_net_n_classes(t->net);
    double L = 0, H = 0;
    for (int s = 0; s < n; s += t->max_batch) {
        int b = n - s < t->max_batch ? n - s : t->max_batch;
        afl_net_forward(t->net, t->ws, w, t->data.x + (size_t)s * dim, b, t->logits);
        for (int i = 0; i < b; i++) {
            const float *z = t->logits + (size_t)i * nc;
            double mx = z[0];
            for (int c = 1; c < nc; c++)
                if (z[c] > mx)
                    mx = z[c];
            double se = 0;
            for (int c = 0; c < nc; c++)
                se += exp((double)z[c] - mx);
            double lse = mx + log(se);
            L += lse - (double)z[t->data.y[s + i]];
            for (int c = 0; c < nc; c++) {
                double lp = (double)z[c] - lse, p = exp(lp);
                if (p > 0)
                    H -= p * lp;
            }
        }
    }
    *loss = L / n;
    *entropy = H / n;
}
