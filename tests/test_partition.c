/* tests/test_partition.c - IID, Fang bias-probability and Dirichlet splits. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/partition.h"

/* A label-only dataset: n examples, labels i mod C (balanced), then shuffled with `seed`. */
static void labels(afl_dataset *d, int n, int C, uint64_t seed)
{
    afl_err err = {0};
    cr_assert_eq(afl_dataset_alloc(d, n, 1, 1, 1, &err), AFL_OK);
    d->n_classes = C;
    int *t = malloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = i % C;
    afl_rng *r = afl_rng_create(seed, AFL_RNG_TEST, 1);
    afl_rng_shuffle_int(r, t, (size_t)n);
    afl_rng_free(r);
    for (int i = 0; i < n; i++)
        d->y[i] = t[i];
    free(t);
}

typedef enum { IID, BIAS, DIR } scheme;

static int split(scheme s, const afl_dataset *d, int clients, double param, uint64_t seed,
                 afl_partition *p, afl_err *err)
{
    afl_rng *r = afl_rng_create(seed, AFL_RNG_PARTITION, 0);
    int rc = s == IID    ? afl_partition_iid(d, clients, r, p, err)
             : s == BIAS ? afl_partition_bias(d, clients, param, r, p, err)
                         : afl_partition_dirichlet(d, clients, param, 10, r, p, err);
    afl_rng_free(r);
    return rc;
}

static void split_ok(scheme s, const afl_dataset *d, int clients, double param, uint64_t seed,
                     afl_partition *p)
{
    afl_err err = {0};
    cr_assert_eq(split(s, d, clients, param, seed, p, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(p->n_clients, clients);
    cr_assert_eq(afl_partition_check(p, d->n, &err), AFL_OK, "%s", err.msg);
}

/* counts (clients x C), caller frees. */
static long *counts_of(const afl_partition *p, const afl_dataset *d)
{
    long *c = malloc((size_t)p->n_clients * (size_t)d->n_classes * sizeof *c);
    afl_partition_label_counts(p, d, c);
    return c;
}

static double max_share(const long *row, int C)
{
    long tot = 0, mx = 0;
    for (int k = 0; k < C; k++) {
        tot += row[k];
        if (row[k] > mx)
            mx = row[k];
    }
    return (double)mx / (double)tot;
}

Test(partition, every_scheme_uses_every_index_exactly_once)
{
    afl_dataset d;
    labels(&d, 5003, 10, 1);
    scheme schemes[3] = {IID, BIAS, DIR};
    double params[3] = {0, 0.5, 0.5};
    for (int s = 0; s < 3; s++) {
        afl_partition p;
        split_ok(schemes[s], &d, 37, params[s], 7, &p);
        long total = 0;
        for (int c = 0; c < p.n_clients; c++) {
            cr_assert_gt(afl_partition_size(&p, c), 0);
            total += afl_partition_size(&p, c);
        }
        cr_assert_eq(total, d.n);
        long *cnt = counts_of(&p, &d);
        long sum = 0;
        for (int i = 0; i < 37 * 10; i++)
            sum += cnt[i];
        cr_assert_eq(sum, d.n);
        free(cnt);
        afl_partition_free(&p);
        cr_assert_null(p.idx);
    }
    afl_dataset_free(&d);
}

Test(partition, iid_sizes_differ_by_at_most_one)
{
    afl_dataset d;
    labels(&d, 1003, 10, 2);
    afl_partition p;
    split_ok(IID, &d, 10, 0, 1, &p);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(afl_partition_size(&p, c), c < 3 ? 101 : 100);
    afl_partition_free(&p);
    afl_dataset_free(&d);
}

Test(partition, same_seed_same_partition_and_another_seed_differs)
{
    afl_dataset d;
    labels(&d, 3000, 10, 3);
    scheme schemes[3] = {IID, BIAS, DIR};
    double params[3] = {0, 0.5, 0.3};
    for (int s = 0; s < 3; s++) {
        afl_partition a, b, c;
        split_ok(schemes[s], &d, 20, params[s], 11, &a);
        split_ok(schemes[s], &d, 20, params[s], 11, &b);
        split_ok(schemes[s], &d, 20, params[s], 12, &c);
        cr_assert(memcmp(a.offsets, b.offsets, 21 * sizeof(int)) == 0);
        cr_assert(memcmp(a.idx, b.idx, (size_t)d.n * sizeof(int)) == 0);
        cr_assert(memcmp(a.idx, c.idx, (size_t)d.n * sizeof(int)) != 0, "scheme %d", s);
        afl_partition_free(&a);
        afl_partition_free(&b);
        afl_partition_free(&c);
    }
    afl_dataset_free(&d);
}

Test(partition, bias_q1_gives_single_class_clients_and_each_class_its_group)
{
    afl_dataset d;
    labels(&d, 10000, 10, 4);
    afl_partition p;
    split_ok(BIAS, &d, 25, 1.0, 5, &p); /* groups of 3 or 2 clients */
    long *cnt = counts_of(&p, &d);
    int clients_of_class[10] = {0};
    for (int c = 0; c < 25; c++) {
        int classes = 0, which = -1;
        for (int k = 0; k < 10; k++)
            if (cnt[c * 10 + k]) {
                classes++;
                which = k;
            }
        cr_assert_eq(classes, 1, "client %d holds %d classes", c, classes);
        clients_of_class[which]++;
    }
    for (int k = 0; k < 10; k++)
        cr_assert_eq(clients_of_class[k], k < 5 ? 3 : 2, "class %d", k);
    free(cnt);
    afl_partition_free(&p);
    afl_dataset_free(&d);
}

Test(partition, bias_q_one_over_c_is_iid_in_expectation)
{
    /* 100000 balanced labels, 10 classes, 10 clients (about 10000 examples each): every
     * client's share of every label is within 0.015 of 1/10 (5 binomial sd of 0.003). */
    afl_dataset d;
    labels(&d, 100000, 10, 5);
    afl_partition p;
    split_ok(BIAS, &d, 10, 0.1, 6, &p);
    long *cnt = counts_of(&p, &d);
    for (int c = 0; c < 10; c++) {
        double tot = afl_partition_size(&p, c);
        for (int k = 0; k < 10; k++) {
            double share = (double)cnt[c * 10 + k] / tot;
            cr_assert(fabs(share - 0.1) < 0.015, "client %d label %d share %f", c, k, share);
        }
    }
    free(cnt);
    afl_partition_free(&p);
    afl_dataset_free(&d);
}

Test(partition, bias_q_half_gives_half_of_each_client_its_group_label)
{
    /* With balanced labels, group g gets q*N/C examples of label g and (C-1)*(1-q)/(C-1)*N/C
     * of the others, so the group label's share is q = 0.5.  20 clients of ~5000 examples:
     * sd 0.007, bound 0.05.  The dominant label of each group is held by its 2 clients. */
    afl_dataset d;
    labels(&d, 100000, 10, 6);
    afl_partition p;
    split_ok(BIAS, &d, 20, 0.5, 7, &p);
    long *cnt = counts_of(&p, &d);
    int dominant[10] = {0};
    for (int c = 0; c < 20; c++) {
        int best = 0;
        for (int k = 1; k < 10; k++)
            if (cnt[c * 10 + k] > cnt[c * 10 + best])
                best = k;
        dominant[best]++;
        double share = (double)cnt[c * 10 + best] / afl_partition_size(&p, c);
        cr_assert(fabs(share - 0.5) < 0.05, "client %d group-label share %f", c, share);
        for (int k = 0; k < 10; k++)
            if (k != best) {
                double s = (double)cnt[c * 10 + k] / afl_partition_size(&p, c);
                cr_assert(fabs(s - 0.5 / 9) < 0.02, "client %d label %d share %f", c, k, s);
            }
    }
    for (int k = 0; k < 10; k++)
        cr_assert_eq(dominant[k], 2, "label %d dominates %d clients", k, dominant[k]);
    free(cnt);
    afl_partition_free(&p);
    afl_dataset_free(&d);
}

Test(partition, bias_with_fewer_clients_than_classes_is_an_input_error)
{
    afl_dataset d;
    labels(&d, 1000, 10, 7);
    afl_partition p;
    afl_err err = {0};
    cr_assert_eq(split(BIAS, &d, 9, 0.5, 1, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "9 clients but 10 classes"), "%s", err.msg);
    cr_assert_null(p.idx);
    cr_assert_eq(split(BIAS, &d, 10, 1.5, 1, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "q = 1.5"), "%s", err.msg);
    afl_dataset_free(&d);
}

Test(partition, client_without_examples_is_an_input_error)
{
    afl_dataset d;
    labels(&d, 7, 2, 8);
    afl_partition p;
    afl_err err = {0};
    cr_assert_eq(split(IID, &d, 10, 0, 1, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "client 7 received no training examples; use more data, fewer "
                              "clients, or a milder split"),
              "%s", err.msg);
    afl_dataset_free(&d);
    labels(&d, 12, 2, 8);
    cr_assert_eq(split(BIAS, &d, 10, 1.0, 1, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "received no training examples"), "%s", err.msg);
    cr_assert_null(p.offsets);
    afl_dataset_free(&d);
}

Test(partition, dirichlet_large_alpha_is_close_to_iid)
{
    /* alpha = 1000: each client's label share has sd ~0.01; bound 0.05. */
    afl_dataset d;
    labels(&d, 20000, 10, 9);
    afl_partition p;
    split_ok(DIR, &d, 10, 1000.0, 10, &p);
    long *cnt = counts_of(&p, &d);
    for (int c = 0; c < 10; c++) {
        double tot = afl_partition_size(&p, c);
        cr_assert(fabs(tot - 2000) < 200, "client %d has %g examples", c, tot);
        for (int k = 0; k < 10; k++) {
            double share = (double)cnt[c * 10 + k] / tot;
            cr_assert(fabs(share - 0.1) < 0.05, "client %d label %d share %f", c, k, share);
        }
    }
    free(cnt);
    afl_partition_free(&p);
    afl_dataset_free(&d);
}

Test(partition, dirichlet_small_alpha_is_skewed)
{
    /* alpha = 0.1: the mean (over clients) share of a client's largest label is above 0.5;
     * with alpha = 1000 it is below 0.15. */
    afl_dataset d;
    labels(&d, 20000, 10, 11);
    afl_partition p;
    double mean_max[2];
    double alphas[2] = {0.1, 1000.0};
    for (int a = 0; a < 2; a++) {
        split_ok(DIR, &d, 10, alphas[a], 12, &p);
        long *cnt = counts_of(&p, &d);
        double s = 0;
        for (int c = 0; c < 10; c++) {
            cr_assert_geq(afl_partition_size(&p, c), 10, "min_size");
            s += max_share(cnt + c * 10, 10);
        }
        mean_max[a] = s / 10;
        free(cnt);
        afl_partition_free(&p);
    }
    cr_assert_gt(mean_max[0], 0.5, "alpha 0.1 mean max share %f", mean_max[0]);
    cr_assert_lt(mean_max[1], 0.15, "alpha 1000 mean max share %f", mean_max[1]);
    afl_dataset_free(&d);
}

Test(partition, dirichlet_respects_min_size_or_says_it_cannot)
{
    afl_dataset d;
    labels(&d, 1000, 10, 13);
    afl_rng *r = afl_rng_create(1, AFL_RNG_PARTITION, 0);
    afl_partition p;
    afl_err err = {0};
    cr_assert_eq(afl_partition_dirichlet(&d, 20, 0.5, 25, r, &p, &err), AFL_OK, "%s", err.msg);
    for (int c = 0; c < 20; c++)
        cr_assert_geq(afl_partition_size(&p, c), 25);
    afl_partition_free(&p);
    cr_assert_eq(afl_partition_dirichlet(&d, 20, 0.1, 60, r, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "at least 60"), "%s", err.msg);
    cr_assert_eq(afl_partition_dirichlet(&d, 20, 0.001, 50, r, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "1000 attempts"), "%s", err.msg);
    cr_assert_eq(afl_partition_dirichlet(&d, 20, 0.0, 10, r, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "alpha"), "%s", err.msg);
    afl_rng_free(r);
    afl_dataset_free(&d);
}

Test(partition, from_assignment_keeps_index_order_within_clients)
{
    int client_of[6] = {2, 0, 1, 0, 2, 1};
    afl_partition p;
    afl_err err = {0};
    cr_assert_eq(afl_partition_from_assignment(client_of, 6, 3, &p, &err), AFL_OK);
    int want_idx[6] = {1, 3, 2, 5, 0, 4}, want_off[4] = {0, 2, 4, 6};
    cr_assert(memcmp(p.idx, want_idx, sizeof want_idx) == 0);
    cr_assert(memcmp(p.offsets, want_off, sizeof want_off) == 0);
    afl_partition_free(&p);
    cr_assert_eq(afl_partition_from_assignment(client_of, 6, 4, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "client 3 received no training examples"), "%s", err.msg);
}

Test(partition, out_of_range_labels_are_input_errors)
{
    afl_dataset d;
    labels(&d, 100, 5, 14);
    d.y[17] = 5;
    afl_partition p;
    afl_err err = {0};
    cr_assert_eq(split(DIR, &d, 5, 1.0, 1, &p, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "example 17 has label 5"), "%s", err.msg);
    afl_dataset_free(&d);
}
