/* data/partition_bias.c - Fang et al. "bias probability" non-IID split.
 *
 * Sources:
 *   M. Fang, X. Cao, J. Jia, N. Gong, "Local Model Poisoning Attacks to Byzantine-Robust
 *   Federated Learning", USENIX Security 2020 (the split, followed by FLTrust, AFLGuard and
 *   SecureAFL with q = 0.5).
 *   FLDetector code, zaixizhang/FLDetector, train_mnist.py ("biased assignment" block): one
 *   uniform rd in [0,1) per example; with l the label and s = (1-q)/(C-1),
 *     rd in [l*s, l*s + q]  -> group l,
 *     rd <  l*s             -> group floor(rd / s)                (groups 0..l-1),
 *     rd >  l*s + q         -> group floor((rd - l*s - q) / s) + l + 1   (groups l+1..C-1);
 *   then a second uniform picks the member of the group.
 *   aflsim spec: algorithms.md section 1.1.
 *
 * Differences from the FLDetector code [derived]: FLDetector needs n_clients divisible by C and
 * puts clients g*n/C .. (g+1)*n/C - 1 in group g, then permutes the client order.  Here the
 * client ids are shuffled first and group g gets the ids at shuffled positions g, g+C, g+2C, ...,
 * so any n_clients >= C works (group sizes differ by at most one) and the group of a client is
 * random, as after FLDetector's permutation.  The member is drawn with an unbiased integer draw.
 * C = 1 puts everything in the one group.  Within a client, examples are in index order.
 */
#include "data/partition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The group of an example with label l (FLDetector's segment mapping). */
static int bias_group(double rd, int l, int C, double q)
{
    if (C == 1)
        return 0;
    double s = (1.0 - q) / (double)(C - 1);
    double lower = (double)l * s, upper = lower + q;
    if (rd < lower) {
        int g = (int)floor(rd / s);
        return g < 0 ? 0 : g > l - 1 ? l - 1 : g; /* rounding guard */
    }
    if (rd <= upper || s <= 0.0)
        return l;
    int g = (int)floor((rd - upper) / s) + l + 1;
    return g < l + 1 ? l + 1 : g > C - 1 ? (l == C - 1 ? l : C - 1) : g;
}

int afl_partition_bias(const afl_dataset *d, int n_clients, double q, afl_rng *rng,
                       afl_partition *out, afl_err *err)
{
    if (!out)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_bias: no output");
    memset(out, 0, sizeof *out);
    if (!d || !rng)
        return afl_err_set(err, AFL_EINTERNAL, "afl_partition_bias: invalid arguments");
    int rc = afl_dataset_check_labels(d, err);
    if (rc)
        return rc;
    int C = d->n_classes;
    if (!(q >= 0.0 && q <= 1.0))
        return afl_err_set(err, AFL_EINPUT,
                           "bias probability q = %g; expected a number in [0, 1] (1/%d = IID)", q,
                           C);
    if (n_clients < 1)
        return afl_err_set(err, AFL_EINPUT, "%d clients; expected at least 1", n_clients);
    if (n_clients < C)
        return afl_err_set(err, AFL_EINPUT,
                           "the bias split needs at least one client per class: %d clients but "
                           "%d classes (use n_clients >= %d, or the dirichlet split)",
                           n_clients, C, C);
    int *perm = malloc((size_t)n_clients * sizeof *perm);
    int *gstart = malloc(((size_t)C + 1) * sizeof *gstart);
    int *members = malloc((size_t)n_clients * sizeof *members);
    int *client_of = malloc((size_t)(d->n ? d->n : 1) * sizeof *client_of);
    if (!perm || !gstart || !members || !client_of) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory partitioning %d examples", d->n);
        goto done;
    }
    for (int i = 0; i < n_clients; i++)
        perm[i] = i;
    afl_rng_shuffle_int(rng, perm, (size_t)n_clients);
    /* Group g = the clients at shuffled positions g, g+C, ...; stored contiguously. */
    int k = 0;
    for (int g = 0; g < C; g++) {
        gstart[g] = k;
        for (int pos = g; pos < n_clients; pos += C)
            members[k++] = perm[pos];
    }
    gstart[C] = k;
    for (int i = 0; i < d->n; i++) {
        int g = bias_group(afl_rng_uniform(rng), d->y[i], C, q);
        int size = gstart[g + 1] - gstart[g];
        client_of[i] = members[gstart[g] + (int)afl_rng_below(rng, (uint64_t)size)];
    }
    rc = afl_partition_from_assignment(client_of, d->n, n_clients, out, err);
done:
    free(perm);
    free(gstart);
    free(members);
    free(client_of);
    return rc;
}
