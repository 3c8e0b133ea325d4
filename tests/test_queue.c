/* tests/test_queue.c - the event queue (sim/queue.h) pops in (time, seq) order.
 *
 * Reference order: qsort of the pushed events by (time, seq), where seq is the
 * push index.  Times are drawn from few distinct values in some tests so that
 * ties are frequent and tie-breaking is really exercised.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/queue.h"
#include "sim/rng.h"

static int cmp_event(const void *pa, const void *pb)
{
    const afl_event *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static void assert_same_event(const afl_event *got, const afl_event *want, size_t i)
{
    cr_assert(got->time == want->time && got->seq == want->seq && got->type == want->type &&
                  got->client == want->client && got->data == want->data,
              "pop %zu: got (t=%g seq=%llu type=%d client=%d data=%lld), want (t=%g seq=%llu "
              "type=%d client=%d data=%lld)",
              i, got->time, (unsigned long long)got->seq, got->type, got->client,
              (long long)got->data, want->time, (unsigned long long)want->seq, want->type,
              want->client, (long long)want->data);
}

/* Pushes n events with random times (ties if distinct > 0: times are
 * multiples of 1/8 below distinct/8), keeps a copy of each, pops all and
 * compares with the sorted copy. */
static void check_random_order(size_t n, uint64_t seed, int distinct)
{
    afl_rng *r = afl_rng_create(seed, AFL_RNG_TEST, 0);
    afl_queue *q = afl_queue_create(0);
    afl_event *want = malloc(n * sizeof *want);
    cr_assert(r && q && want);
    for (size_t i = 0; i < n; i++) {
        double t = distinct ? (double)afl_rng_below(r, (uint64_t)distinct) / 8.0
                            : 1000.0 * afl_rng_uniform(r);
        int32_t type = (int32_t)afl_rng_below(r, 5), client = (int32_t)afl_rng_below(r, 100000);
        int64_t data = (int64_t)i * 3 - 7;
        cr_assert_eq(afl_queue_push(q, t, type, client, data), 0);
        want[i] = (afl_event){.time = t, .seq = i, .type = type, .client = client, .data = data};
    }
    cr_assert_eq(afl_queue_size(q), n);
    cr_assert_eq(afl_queue_next_seq(q), n);
    qsort(want, n, sizeof *want, cmp_event);
    for (size_t i = 0; i < n; i++) {
        const afl_event *top = afl_queue_peek(q);
        cr_assert_not_null(top);
        assert_same_event(top, &want[i], i);
        afl_event ev;
        cr_assert_eq(afl_queue_pop(q, &ev), 0);
        assert_same_event(&ev, &want[i], i);
    }
    cr_assert_eq(afl_queue_size(q), 0);
    free(want);
    afl_queue_free(q);
    afl_rng_free(r);
}

Test(queue, pops_in_time_order_on_random_inputs)
{
    for (uint64_t seed = 1; seed <= 20; seed++)
        check_random_order(1 + 97 * seed, seed, 0);
}

Test(queue, equal_times_pop_in_push_order)
{
    /* Only 4 distinct times among 5000 events: almost every comparison is a tie. */
    check_random_order(5000, 77, 4);
    /* All times equal: pure FIFO. */
    afl_queue *q = afl_queue_create(0);
    cr_assert_not_null(q);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(afl_queue_push(q, 2.5, 0, i, i), 0);
    afl_event ev;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(afl_queue_pop(q, &ev), 0);
        cr_assert_eq(ev.client, i, "pop %d gave client %d", i, ev.client);
        cr_assert_eq(ev.seq, (uint64_t)i);
    }
    afl_queue_free(q);
}

Test(queue, interleaved_push_and_pop_follow_a_sorted_reference)
{
    /* A discrete-event pattern: pop the earliest, push one or two later
     * events; checked against a reference kept sorted by insertion. */
    enum { STEPS = 20000, MAXN = 2 * STEPS + 100 };
    afl_rng *r = afl_rng_create(9, AFL_RNG_TEST, 1);
    afl_queue *q = afl_queue_create(4);
    afl_event *ref = malloc(MAXN * sizeof *ref); /* sorted descending: earliest at the end */
    cr_assert(r && q && ref);
    size_t nref = 0;
    uint64_t seq = 0;
    double now = 0;
    for (int step = 0; step < STEPS; step++) {
        int pushes = nref == 0 ? 2 : (int)afl_rng_below(r, 3); /* 0, 1 or 2 */
        for (int k = 0; k < pushes; k++) {
            /* Rounded to 1/4 so that equal times happen. */
            double t = now + (double)afl_rng_below(r, 12) / 4.0;
            cr_assert_eq(afl_queue_push(q, t, k, step, (int64_t)seq), 0);
            afl_event e = {.time = t, .seq = seq++, .type = k, .client = step, .data = 0};
            e.data = (int64_t)e.seq;
            size_t pos = nref;
            while (pos > 0 && cmp_event(&ref[pos - 1], &e) < 0) {
                ref[pos] = ref[pos - 1];
                pos--;
            }
            ref[pos] = e;
            nref++;
        }
        afl_event ev;
        cr_assert_eq(afl_queue_pop(q, &ev), 0);
        nref--;
        assert_same_event(&ev, &ref[nref], (size_t)step);
        cr_assert_geq(ev.time, now, "time went backwards");
        now = ev.time;
        cr_assert_eq(afl_queue_size(q), nref);
    }
    free(ref);
    afl_queue_free(q);
    afl_rng_free(r);
}

Test(queue, holds_a_million_events_in_order, .timeout = 120)
{
    enum { N = 1000000 };
    afl_rng *r = afl_rng_create(3, AFL_RNG_TEST, 2);
    afl_queue *q = afl_queue_create(16);
    cr_assert(r && q);
    for (int i = 0; i < N; i++)
        cr_assert_eq(afl_queue_push(q, 1e6 * afl_rng_uniform(r), 1, i, i), 0);
    cr_assert_eq(afl_queue_size(q), (size_t)N);
    afl_event prev, ev;
    cr_assert_eq(afl_queue_pop(q, &prev), 0);
    for (int i = 1; i < N; i++) {
        cr_assert_eq(afl_queue_pop(q, &ev), 0);
        cr_assert(ev.time > prev.time || (ev.time == prev.time && ev.seq > prev.seq),
                  "pop %d out of order", i);
        prev = ev;
    }
    cr_assert_eq(afl_queue_pop(q, &ev), -1);
    afl_queue_free(q);
    afl_rng_free(r);
}

Test(queue, dump_and_restore_reproduce_the_pop_order)
{
    enum { N = 3000 };
    afl_rng *r = afl_rng_create(21, AFL_RNG_TEST, 3);
    afl_queue *q = afl_queue_create(0);
    cr_assert(r && q);
    /* Some history: pushes and pops, ties included. */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(afl_queue_push(q, (double)afl_rng_below(r, 50), i % 3, i, -i), 0);
        if (i % 4 == 3) {
            afl_event ev;
            cr_assert_eq(afl_queue_pop(q, &ev), 0);
        }
    }
    size_t n = afl_queue_size(q);
    afl_event *saved = malloc(n * sizeof *saved);
    cr_assert_not_null(saved);
    cr_assert_eq(afl_queue_dump(q, saved, n), n);
    uint64_t next = afl_queue_next_seq(q);

    /* Restore from a shuffled copy (dump order must not matter) into a queue
     * that already holds something (restore replaces it). */
    afl_event *shuffled = malloc(n * sizeof *shuffled);
    cr_assert_not_null(shuffled);
    memcpy(shuffled, saved, n * sizeof *saved);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)afl_rng_below(r, i);
        afl_event t = shuffled[i - 1];
        shuffled[i - 1] = shuffled[j];
        shuffled[j] = t;
    }
    afl_queue *q2 = afl_queue_create(0);
    cr_assert_not_null(q2);
    cr_assert_eq(afl_queue_push(q2, 1.0, 9, 9, 9), 0);
    cr_assert_eq(afl_queue_restore(q2, shuffled, n, next), 0);
    cr_assert_eq(afl_queue_size(q2), n);
    cr_assert_eq(afl_queue_next_seq(q2), next);

    /* Both queues then see the same new pushes, including ties with old events. */
    for (int i = 0; i < 100; i++) {
        double t = (double)afl_rng_below(r, 60);
        cr_assert_eq(afl_queue_push(q, t, 7, i, i), 0);
        cr_assert_eq(afl_queue_push(q2, t, 7, i, i), 0);
    }
    afl_event a, b;
    size_t k = 0;
    while (afl_queue_pop(q, &a) == 0) {
        cr_assert_eq(afl_queue_pop(q2, &b), 0, "restored queue ran out at pop %zu", k);
        assert_same_event(&b, &a, k++);
    }
    cr_assert_eq(afl_queue_pop(q2, &b), -1);
    free(saved);
    free(shuffled);
    afl_queue_free(q);
    afl_queue_free(q2);
    afl_rng_free(r);
}

Test(queue, restore_rejects_inconsistent_checkpoints_and_keeps_the_queue)
{
    afl_queue *q = afl_queue_create(0);
    cr_assert_not_null(q);
    cr_assert_eq(afl_queue_push(q, 3.0, 1, 2, 3), 0);
    afl_event bad_seq[] = {{.time = 1.0, .seq = 0}, {.time = 2.0, .seq = 5}};
    cr_expect_eq(afl_queue_restore(q, bad_seq, 2, 5), -2, "seq 5 is not below next_seq 5");
    afl_event bad_time[] = {{.time = -1.0, .seq = 0}};
    cr_expect_eq(afl_queue_restore(q, bad_time, 1, 1), -2);
    afl_event nan_time[] = {{.time = NAN, .seq = 0}};
    cr_expect_eq(afl_queue_restore(q, nan_time, 1, 1), -2);
    cr_assert_eq(afl_queue_size(q), 1);
    cr_assert_eq(afl_queue_next_seq(q), 1);
    cr_assert_eq(afl_queue_peek(q)->time, 3.0);
    /* An empty checkpoint is valid and empties the queue. */
    cr_assert_eq(afl_queue_restore(q, NULL, 0, 42), 0);
    cr_assert_eq(afl_queue_size(q), 0);
    cr_assert_eq(afl_queue_push(q, 0.0, 0, 0, 0), 0);
    cr_assert_eq(afl_queue_peek(q)->seq, 42);
    afl_queue_free(q);
}

Test(queue, dump_copies_at_most_max_events)
{
    afl_queue *q = afl_queue_create(0);
    cr_assert_not_null(q);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(afl_queue_push(q, (double)(10 - i), 0, i, 0), 0);
    afl_event out[10];
    cr_assert_eq(afl_queue_dump(q, out, 4), 4);
    cr_assert_eq(afl_queue_dump(q, out, 10), 10);
    cr_assert_eq(afl_queue_dump(q, NULL, 0), 0);
    int seen[10] = {0};
    for (int i = 0; i < 10; i++)
        seen[out[i].client]++;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(seen[i], 1, "client %d dumped %d times", i, seen[i]);
    afl_queue_free(q);
}

Test(queue, peek_and_size_track_the_earliest_event)
{
    afl_queue *q = afl_queue_create(0);
    cr_assert_not_null(q);
    cr_assert_null(afl_queue_peek(q));
    cr_assert_eq(afl_queue_size(q), 0);
    afl_event ev;
    cr_assert_eq(afl_queue_pop(q, &ev), -1, "pop on an empty queue");
    cr_assert_eq(afl_queue_push(q, 5.0, 1, 10, 100), 0);
    cr_assert_eq(afl_queue_push(q, 2.0, 2, 20, 200), 0);
    cr_assert_eq(afl_queue_push(q, 2.0, 3, 30, 300), 0);
    cr_assert_eq(afl_queue_push(q, 0.0, 4, 40, 400), 0);
    cr_assert_eq(afl_queue_size(q), 4);
    const afl_event *top = afl_queue_peek(q);
    cr_assert(top->time == 0.0 && top->type == 4 && top->client == 40 && top->data == 400 &&
              top->seq == 3);
    cr_assert_eq(afl_queue_size(q), 4, "peek does not remove");
    cr_assert_eq(afl_queue_pop(q, &ev), 0);
    cr_assert_eq(ev.client, 40);
    cr_assert_eq(afl_queue_peek(q)->client, 20, "tie at t=2: first pushed first");
    cr_assert_eq(afl_queue_pop(q, &ev), 0);
    cr_assert_eq(afl_queue_peek(q)->client, 30);
    cr_assert_eq(afl_queue_size(q), 2);
    cr_assert_eq(afl_queue_next_seq(q), 4);
    afl_queue_free(q);
    afl_queue_free(NULL);
}

Test(queue, grows_from_a_tiny_capacity_hint)
{
    afl_queue *q = afl_queue_create(1);
    cr_assert_not_null(q);
    for (int i = 0; i < 100000; i++)
        cr_assert_eq(afl_queue_push(q, (double)(i % 1000), 0, i, 0), 0);
    cr_assert_eq(afl_queue_size(q), 100000);
    afl_event ev;
    cr_assert_eq(afl_queue_pop(q, &ev), 0);
    cr_assert(ev.time == 0.0 && ev.client == 0);
    afl_queue_free(q);
    cr_assert_null(afl_queue_create(SIZE_MAX), "an impossible capacity fails cleanly");
}
