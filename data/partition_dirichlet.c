/* data/partition_dirichlet.c - Dirichlet(alpha) label-skew split.
 *
 * Source: NIID-Bench, Q. Li, Y. Diao, Q. Chen, B. He, "Federated Learning on Non-IID Data Silos:
 * An Experimental Study", ICDE 2022, https://github.com/Xtra-Computing/NIID-Bench,
 * partition_data(), partition "noniid-labeldir"; aflsim spec: algorithms.md section 1.2.
 *
 *   repeat (at most AFL_DIRICHLET_ATTEMPTS times)
 *       for each class k = 0..C-1:
 *           idx_k = indices of class k (ascending), shuffled
 *           p ~ Dirichlet(alpha * 1_n)
 *           p_j = 0 for every client already holding >= N/n examples     ("balance")
 *           p = p / sum(p)
 *           cut idx_k at floor(cumsum(p) * |idx_k|) and append piece j to client j
 *   until every client holds >= min_size examples
 *   shuffle each client's list (client 0 first)
 *
 * One addition [derived]: if the balance rule leaves all remaining mass at zero (the Dirichlet
 * draw put all of it on clients already full, possible for tiny alpha), NIID-Bench divides 0/0;
 * here the class is then split uniformly over the clients that are not yet full.
 * Dirichlet draws use gsl_ran_dirichlet on the rng passed in.
 */
#include "data/partition.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AFL_DIRICHLET_ATTEMPTS 1000

int afl_partition_dirichlet(const afl_dataset *d, int n_clients, double alpha, int min_size,
                            afl_rng *rng, afl_partition *out, afl_err *err)
{
    if (!out)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_dirichlet: no output");
    memset(out, 0, sizeof *out);
    if (!d || !rng)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_dirichlet: invalid arguments");
    int rc = afl_dataset_check_labels(d, err);
    if (rc)
        return rc;
    if (n_clients < 1)
        return afl_err_set(err, AFL_EINPUT, "%d clients; expected at least 1", n_clients);
    if (!(alpha > 0.0) || !isfinite(alpha))
        return afl_err_set(err, AFL_EINPUT,
                           "Dirichlet concentration alpha = %g; expected a finite number > 0 "
                           "(0.1 skewed, 0.5 usual, large = IID)",
                           alpha);
    if (min_size < 0)
        return afl_err_set(err, AFL_EINPUT, "Dirichlet min_size = %d; expected >= 0", min_size);
    if (d->n < n_clients)
        return afl_err_set(err, AFL_EINPUT,
                           "client %d received no training examples; use more data, fewer "
                           "clients, or a milder split (%d examples for %d clients)",
                           d->n, d->n, n_clients);
    if ((long long)min_size * n_clients > d->n)
        return afl_err_set(err, AFL_EINPUT,
                           "the Dirichlet split cannot give each of %d clients at least %d "
                           "examples (min_size) from %d examples; use fewer clients or a "
                           "smaller min_size",
                           n_clients, min_size, d->n);

    int N = d->n, K = d->n_classes, n = n_clients;
    size_t nc1 = (size_t)n + 1;
    int *cstart = calloc((size_t)K + 1, sizeof *cstart);
    int *base = malloc((size_t)N * sizeof *base);
    int *work = malloc((size_t)N * sizeof *work);
    int *cuts = malloc((size_t)K * nc1 * sizeof *cuts);
    long long *sizes = malloc((size_t)n * sizeof *sizes);
    double *alphas = malloc((size_t)n * sizeof *alphas);
    double *theta = malloc((size_t)n * sizeof *theta);
    int *off = malloc(nc1 * sizeof *off);
    int *idx = malloc((size_t)N * sizeof *idx);
    if (!cstart || !base || !work || !cuts || !sizes || !alphas || !theta || !off || !idx) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory partitioning %d examples", N);
        goto fail;
    }
    /* base: example indices grouped by class, ascending within a class (np.where order). */
    for (int i = 0; i < N; i++)
        cstart[d->y[i] + 1]++;
    for (int k = 0; k < K; k++)
        cstart[k + 1] += cstart[k];
    {
        int *pos = malloc((size_t)K * sizeof *pos);
        if (!pos) {
            rc = afl_err_set(err, AFL_ENOMEM, "out of memory partitioning %d examples", N);
            goto fail;
        }
        memcpy(pos, cstart, (size_t)K * sizeof *pos);
        for (int i = 0; i < N; i++)
            base[pos[d->y[i]]++] = i;
        free(pos);
    }
    for (int j = 0; j < n; j++)
        alphas[j] = alpha;

    int ok = 0;
    long long got_min = 0;
    for (int attempt = 0; attempt < AFL_DIRICHLET_ATTEMPTS && !ok; attempt++) {
        memcpy(work, base, (size_t)N * sizeof *work);
        memset(sizes, 0, (size_t)n * sizeof *sizes);
        for (int k = 0; k < K; k++) {
            int len = cstart[k + 1] - cstart[k];
            afl_rng_shuffle_int(rng, work + cstart[k], (size_t)len);
            gsl_ran_dirichlet(rng, (size_t)n, alphas, theta);
            double sum = 0.0;
            int eligible = 0;
            for (int j = 0; j < n; j++) {
                if (sizes[j] * n >= (long long)N) /* not len(idx_j) < N / n */
                    theta[j] = 0.0;
                else
                    eligible++;
                sum += theta[j];
            }
            if (!(sum > 0.0) || !isfinite(sum)) { /* see the file comment */
                sum = 0.0;
                for (int j = 0; j < n; j++) {
                    theta[j] = (sizes[j] * n < (long long)N || eligible == 0) ? 1.0 : 0.0;
                    sum += theta[j];
                }
            }
            int *ck = cuts + (size_t)k * nc1;
            double c = 0.0;
            ck[0] = 0;
            for (int j = 0; j < n - 1; j++) {
                c += theta[j] / sum;
                double v = c * (double)len;
                int cut = v >= (double)len ? len : (int)v;
                ck[j + 1] = cut < ck[j] ? ck[j] : cut;
            }
            ck[n] = len;
            for (int j = 0; j < n; j++)
                sizes[j] += ck[j + 1] - ck[j];
        }
        got_min = sizes[0];
        for (int j = 1; j < n; j++)
            if (sizes[j] < got_min)
                got_min = sizes[j];
        ok = got_min >= min_size;
    }
    if (!ok) {
        rc = afl_err_set(err, AFL_EINPUT,
                         "the Dirichlet split (alpha = %g, %d clients, %d classes) did not give "
                         "every client at least %d examples in %d attempts; use a larger alpha, "
                         "fewer clients or a smaller min_size",
                         alpha, n, K, min_size, AFL_DIRICHLET_ATTEMPTS);
        goto fail;
    }
    /* Client j's list: its piece of class 0, then of class 1, ...; then shuffled. */
    off[0] = 0;
    int m = 0;
    for (int j = 0; j < n; j++) {
        for (int k = 0; k < K; k++) {
            const int *ck = cuts + (size_t)k * nc1;
            for (int t = ck[j]; t < ck[j + 1]; t++)
                idx[m++] = work[cstart[k] + t];
        }
        off[j + 1] = m;
        afl_rng_shuffle_int(rng, idx + off[j], (size_t)(off[j + 1] - off[j]));
    }
    free(cstart);
    free(base);
    free(work);
    free(cuts);
    free(sizes);
    free(alphas);
    free(theta);
    out->n_clients = n;
    out->offsets = off;
    out->idx = idx;
    for (int j = 0; j < n; j++)
        if (off[j + 1] == off[j]) {
            afl_partition_free(out);
            return afl_err_set(err, AFL_EINPUT,
                               "client %d received no training examples; use more data, fewer "
                               "clients, or a milder split (a larger Dirichlet alpha or "
                               "min_size >= 1)",
                               j);
        }
    return AFL_OK;

fail:
    free(cstart);
    free(base);
    free(work);
    free(cuts);
    free(sizes);
    free(alphas);
    free(theta);
    free(off);
    free(idx);
    return rc;
}
