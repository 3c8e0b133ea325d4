/* data/partition_iid.c - IID split: a random permutation cut into near-equal pieces.
 *
 * Source: NIID-Bench, Q. Li, Y. Diao, Q. Chen, B. He, "Federated Learning on Non-IID Data Silos:
 * An Experimental Study", ICDE 2022, https://github.com/Xtra-Computing/NIID-Bench, partition
 * "homo": idxs = np.random.permutation(n); np.array_split(idxs, n_parties).
 */
#include "data/partition.h"

#include <stdlib.h>
#include <string.h>

int afl_partition_iid(const afl_dataset *d, int n_clients, afl_rng *rng, afl_partition *out,
                      afl_err *err)
{
    if (!out)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_iid: no output");
    memset(out, 0, sizeof *out);
    if (!d || !rng)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_iid: invalid arguments");
    if (n_clients < 1)
        return afl_err_set(err, AFL_EINPUT, "%d clients; expected at least 1", n_clients);
    if (d->n < n_clients)
        return afl_err_set(err, AFL_EINPUT,
                           "client %d received no training examples; use more data, fewer "
                           "clients, or a milder split (%d examples for %d clients)",
                           d->n, d->n, n_clients);
    int *off = malloc(((size_t)n_clients + 1) * sizeof *off);
    int *idx = malloc((size_t)d->n * sizeof *idx);
    if (!off || !idx) {
        free(off);
        free(idx);
        return afl_err_set(err, AFL_ENOMEM, "out of memory partitioning %d examples", d->n);
    }
    for (int i = 0; i < d->n; i++)
        idx[i] = i;
    afl_rng_shuffle_int(rng, idx, (size_t)d->n);
    int base = d->n / n_clients, extra = d->n % n_clients;
    off[0] = 0;
    for (int c = 0; c < n_clients; c++)
        off[c + 1] = off[c] + base + (c < extra);
    out->n_clients = n_clients;
    out->offsets = off;
    out->idx = idx;
    return AFL_OK;
}
