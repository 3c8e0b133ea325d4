/* data/partition.c - the partition structure: building, checking, freeing, label counts.
 * The schemes are in partition_iid.c, partition_bias.c and partition_dirichlet.c.
 */
#include "data/partition.h"

#include <stdlib.h>
#include <string.h>

void afl_partition_free(afl_partition *p)
{
    if (!p)
        return;
    free(p->offsets);
    free(p->idx);
    memset(p, 0, sizeof *p);
}

int afl_partition_size(const afl_partition *p, int i)
{
    if (!p || !p->offsets || i < 0 || i >= p->n_clients)
        return 0;
    return p->offsets[i + 1] - p->offsets[i];
}

static int empty_client(int i, afl_err *err)
{
    return afl_err_set(err, AFL_EINPUT,
                       "client %d received no training examples; use more data, fewer clients, "
                       "or a milder split",
                       i);
}

int afl_partition_from_assignment(const int *client_of, int n, int n_clients, afl_partition *out,
                                  afl_err *err)
{
    if (!out)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_from_assignment: no output");
    memset(out, 0, sizeof *out);
    if (n < 0 || n_clients < 1 || (n > 0 && !client_of))
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_from_assignment: invalid arguments");
    for (int i = 0; i < n; i++)
        if (client_of[i] < 0 || client_of[i] >= n_clients)
            return afl_err_set(err, AFL_EINTERNAL,
                               "afl_partition_from_assignment: example %d assigned to client %d, "
                               "outside [0, %d)",
                               i, client_of[i], n_clients);
    int *off = calloc((size_t)n_clients + 1, sizeof *off);
    int *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    int *pos = malloc((size_t)n_clients * sizeof *pos);
    if (!off || !idx || !pos) {
        free(off);
        free(idx);
        free(pos);
        return afl_err_set(err, AFL_ENOMEM, "out of memory partitioning %d examples", n);
    }
    for (int i = 0; i < n; i++)
        off[client_of[i] + 1]++;
    for (int c = 0; c < n_clients; c++)
        off[c + 1] += off[c];
    memcpy(pos, off, (size_t)n_clients * sizeof *pos);
    for (int i = 0; i < n; i++)
        idx[pos[client_of[i]]++] = i;
    free(pos);
    out->n_clients = n_clients;
    out->offsets = off;
    out->idx = idx;
    for (int c = 0; c < n_clients; c++)
        if (off[c + 1] == off[c]) {
            afl_partition_free(out);
            return empty_client(c, err);
        }
    return AFL_OK;
}

int afl_partition_check(const afl_partition *p, int n, afl_err *err)
{
    if (!p || p->n_clients < 1 || !p->offsets || (n > 0 && !p->idx))
        return afl_err_set(err, AFL_EINTERNAL, "partition is empty or not allocated");
    if (p->offsets[0] != 0 || p->offsets[p->n_clients] != n)
        return afl_err_set(err, AFL_EINTERNAL, "partition covers offsets %d..%d; expected 0..%d",
                           p->offsets[0], p->offsets[p->n_clients], n);
    for (int c = 0; c < p->n_clients; c++) {
        if (p->offsets[c + 1] < p->offsets[c])
            return afl_err_set(err, AFL_EINTERNAL, "partition offsets decrease at client %d", c);
        if (p->offsets[c + 1] == p->offsets[c])
            return empty_client(c, err);
    }
    unsigned char *seen = calloc((size_t)(n ? n : 1), 1);
    if (!seen)
        return afl_err_set(err, AFL_ENOMEM, "out of memory checking a partition");
    int rc = AFL_OK;
    for (int k = 0; k < n && !rc; k++) {
        int i = p->idx[k];
        if (i < 0 || i >= n)
            rc = afl_err_set(err, AFL_EINTERNAL, "partition holds example %d, outside [0, %d)", i,
                             n);
        else if (seen[i]++)
            rc = afl_err_set(err, AFL_EINTERNAL, "partition holds example %d twice", i);
    }
    free(seen);
    return rc;
}

void afl_partition_label_counts(const afl_partition *p, const afl_dataset *d, long *counts)
{
    if (!p || !d || !counts)
        return;
    memset(counts, 0, (size_t)p->n_clients * (size_t)d->n_classes * sizeof *counts);
    for (int c = 0; c < p->n_clients; c++)
        for (int k = p->offsets[c]; k < p->offsets[c + 1]; k++) {
            int i = p->idx[k];
            if (i < 0 || i >= d->n)
                continue;
            int l = d->y[i];
            if (l >= 0 && l < d->n_classes)
                counts[(size_t)c * (size_t)d->n_classes + (size_t)l]++;
        }
}
