/* data/partition.h - splitting a training set among clients.
 *
 * Schemes (sources in each file):
 *   iid        - a random permutation cut into near-equal pieces (NIID-Bench "homo").
 *   bias       - Fang et al., USENIX Security 2020 (bias probability q), as coded in FLDetector.
 *   dirichlet  - NIID-Bench "noniid-labeldir", Li et al., ICDE 2022.
 * Every scheme uses only the rng passed in, so a partition is reproducible from the seed, and
 * every scheme fails with AFL_EINPUT when some client would get no examples.  On failure the
 * output partition is left zeroed (safe to free).
 */
#ifndef AFL_PARTITION_H
#define AFL_PARTITION_H

#include "data/dataset.h"

typedef struct {
    int n_clients;
    int *offsets; /* (n_clients + 1): client i owns idx[offsets[i] .. offsets[i+1]) */
    int *idx;     /* (n) example indices into the training set */
} afl_partition;

void afl_partition_free(afl_partition *p);

/* Number of examples of client i (0 for an out-of-range i). */
int afl_partition_size(const afl_partition *p, int i);

/* A shuffled permutation of the examples cut into n_clients pieces whose sizes differ by at most
 * one (the first n mod n_clients clients get one more), like numpy.array_split. */
int afl_partition_iid(const afl_dataset *d, int n_clients, afl_rng *rng, afl_partition *out,
                      afl_err *err);

/* Fang et al. bias-probability split (algorithms.md section 1.1).  Clients are shuffled and dealt
 * into C groups (group g gets the clients at positions g, g+C, ...); an example of label l goes to
 * group l with probability q, else to one of the other C-1 groups uniformly; then to a uniformly
 * random member of that group.  q in [0,1]; q = 1/C is IID; n_clients < C is an error. */
int afl_partition_bias(const afl_dataset *d, int n_clients, double q, afl_rng *rng,
                       afl_partition *out, afl_err *err);

/* NIID-Bench "noniid-labeldir" Dirichlet(alpha) split with the balance rule and the min_size retry
 * loop of algorithms.md section 1.2 (min_size = 10 in NIID-Bench; gives up after 1000 attempts). */
int afl_partition_dirichlet(const afl_dataset *d, int n_clients, double alpha, int min_size,
                            afl_rng *rng, afl_partition *out, afl_err *err);

/* Builds a partition from client_of[i] in [0, n_clients) for each example i; within a client the
 * examples are in index order.  AFL_EINPUT when some client gets no example. */
int afl_partition_from_assignment(const int *client_of, int n, int n_clients, afl_partition *out,
                                  afl_err *err);

/* Checks p against a training set of n examples: offsets start at 0, never decrease and end at n;
 * every index in [0, n) occurs exactly once; every client has at least one example.  AFL_EINPUT
 * ("client 7 received no training examples; ...") or AFL_EINTERNAL for a malformed partition. */
int afl_partition_check(const afl_partition *p, int n, afl_err *err);

/* counts: (n_clients, n_classes) row-major label counts per client (overwritten). */
void afl_partition_label_counts(const afl_partition *p, const afl_dataset *d, long *counts);

#endif
