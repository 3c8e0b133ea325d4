/* tests/test_queue.c - the event queue (sim/queue.h) pops in (time, seq) order.
 *
 * Reference order: qsort of the pushed events by (time, seq), where seq is the
 * push index.  Times are drawn from few distinct values in some tests so that
 * ties are frequent and tie-breaking is really exercised.
 *
 * The differential tests at the end drive the queue and a reference with the
 * same millions of operations and compare every pop and peek: the reference is
 * the binary min-heap the queue used to be (sim/queue.c before the radix
 * heap), copied here unchanged apart from names.
 */
#include <criterion/criterion.h>

#include <float.h>
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

/* ---- differential tests against the old binary heap -------------------------------------- */

typedef struct {
    afl_event *h;
    size_t n, cap;
    uint64_t next_seq;
} ref_queue;

static int ref_before(const afl_event *a, const afl_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void ref_sift_up(afl_event *h, size_t i, afl_event ev)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ref_before(&ev, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = ev;
}

static void ref_sift_down(afl_event *h, size_t n, size_t i, afl_event ev)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ref_before(&h[c + 1], &h[c]))
            c++;
        if (!ref_before(&h[c], &ev))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = ev;
}

static void ref_reserve(ref_queue *r, size_t want)
{
    if (want <= r->cap)
        return;
    size_t cap = r->cap ? r->cap : 64;
    while (cap < want)
        cap *= 2;
    r->h = realloc(r->h, cap * sizeof *r->h);
    cr_assert_not_null(r->h);
    r->cap = cap;
}

static void ref_push(ref_queue *r, double time, int32_t type, int32_t client, int64_t data)
{
    ref_reserve(r, r->n + 1);
    afl_event ev = {
        .time = time, .seq = r->next_seq++, .type = type, .client = client, .data = data};
    ref_sift_up(r->h, r->n++, ev);
}

static int ref_pop(ref_queue *r, afl_event *out)
{
    if (r->n == 0)
        return -1;
    *out = r->h[0];
    if (--r->n)
        ref_sift_down(r->h, r->n, 0, r->h[r->n]);
    return 0;
}

static void ref_restore(ref_queue *r, const afl_event *ev, size_t n, uint64_t next_seq)
{
    ref_reserve(r, n);
    if (n)
        memcpy(r->h, ev, n * sizeof *ev);
    r->n = n;
    r->next_seq = next_seq;
    for (size_t i = n / 2; i-- > 0;)
        ref_sift_down(r->h, n, i, r->h[i]);
}

static int same_event(const afl_event *a, const afl_event *b)
{
    /* memcmp: the time's bit pattern too (-0.0 must come back as -0.0) */
    return memcmp(&a->time, &b->time, sizeof a->time) == 0 && a->seq == b->seq &&
           a->type == b->type && a->client == b->client && a->data == b->data;
}

enum {
    D_EXP,       /* exponential durations, mean 1 */
    D_LOGNORMAL, /* lognormal(0, 2.5): heavy tails, durations from 1e-6 to 1e6 */
    D_TIES,      /* durations k/4, k in 0..7: many exact ties, many at the current minimum */
    D_STRAGGLER, /* lognormal speed, 20 % stragglers 10x slower (the time-mode model) */
    D_EXTREME,   /* 0, -0, the smallest subnormal, 1e300, DBL_MAX, tiny and huge durations */
    D_BACKWARDS, /* like D_TIES and D_EXP, but 5 % of pushes go below the last pop */
    D_BITS,      /* bit patterns uniform between the last pop's and DBL_MAX's: every
                    exponent, so events spread over all the buckets of a radix heap */
};

/* The time of a new event when the last pop was at now. */
static double draw_time(afl_rng *r, int dist, double now)
{
    double u = afl_rng_uniform(r);
    switch (dist) {
    case D_EXP: return now + -log1p(-u);
    case D_LOGNORMAL: return now + exp(2.5 * afl_rng_normal(r));
    case D_TIES: return now + (double)afl_rng_below(r, 8) / 4.0;
    case D_STRAGGLER:
        return now + -log1p(-u) / exp(afl_rng_normal(r)) * (afl_rng_uniform(r) < 0.2 ? 10.0 : 1.0);
    case D_EXTREME: {
        static const double fixed[] = {0.0, -0.0, 5e-324, 1e-300, 1.0, 1e300, DBL_MAX};
        double t;
        switch (afl_rng_below(r, 6)) {
        case 0: /* a fixed value, when it is not in the past */
            t = fixed[afl_rng_below(r, sizeof fixed / sizeof *fixed)];
            return t >= now ? t : now;
        case 1: return now; /* exactly the last popped time */
        case 2: return nextafter(now, INFINITY) <= DBL_MAX ? nextafter(now, INFINITY) : now;
        case 3: t = now + 1e-300 * u; return t;
        case 4: t = now * (1.0 + 1e-15 * (double)afl_rng_below(r, 4)); return isfinite(t) ? t : now;
        default: t = now + 1e290 * u; return isfinite(t) ? t : now;
        }
    }
    case D_BITS: {
        uint64_t lo, hi, x;
        double top = DBL_MAX;
        memcpy(&lo, &now, sizeof lo);
        memcpy(&hi, &top, sizeof hi);
        x = lo + afl_rng_below(r, hi - lo + 1);
        double t;
        memcpy(&t, &x, sizeof t);
        return t;
    }
    default: /* D_BACKWARDS */
        if (u < 0.05) {
            double back = (double)afl_rng_below(r, 12) / 4.0;
            return now > back ? now - back : 0.0;
        }
        return u < 0.5 ? now + (double)afl_rng_below(r, 8) / 4.0 : now + -log1p(-u);
    }
}

/* Sorts by (time, seq): dumps are compared as sets. */
static int cmp_event_bits(const void *pa, const void *pb)
{
    int c = cmp_event(pa, pb);
    if (c)
        return c;
    const afl_event *a = pa, *b = pb;
    return memcmp(a, b, sizeof *a);
}

/* ops random operations on the queue and the reference: pushes (time from dist,
 * relative to the last pop), pops, peeks, and, when restore_every > 0, every
 * about restore_every operations a dump of the queue (checked against the
 * reference's contents) restored, shuffled, into the queue and into the
 * reference.  The pending count wanders between 0 and maxn. */
static void differential(uint64_t seed, int dist, size_t ops, size_t maxn, size_t restore_every)
{
    afl_rng *r = afl_rng_create(seed, AFL_RNG_TEST, 100 + (uint64_t)dist);
    afl_queue *q = afl_queue_create(seed % 2 ? maxn : 0);
    ref_queue ref = {0};
    cr_assert(r && q);
    double now = 0;
    size_t target = maxn / 2, pops = 0;
    afl_event a, b, *dq = NULL, *dr = NULL;
    size_t dcap = 0;
    for (size_t op = 0; op < ops; op++) {
        if (op % 50000 == 0) /* a new size to wander towards: fills and drains */
            target = (size_t)afl_rng_below(r, maxn + 1);
        size_t n = ref.n;
        cr_assert_eq(afl_queue_size(q), n, "op %zu: size", op);
        double p_push = n == 0 ? 1.0 : n < target ? 0.7 : 0.3;
        double u = afl_rng_uniform(r);
        if (u < p_push) {
            double t = draw_time(r, dist, now);
            int32_t type = (int32_t)afl_rng_below(r, 4), client = (int32_t)op;
            int64_t data = (int64_t)afl_rng_below(r, 1000) - 500;
            cr_assert_eq(afl_queue_push(q, t, type, client, data), 0, "op %zu: push", op);
            ref_push(&ref, t, type, client, data);
        } else {
            int rq = afl_queue_pop(q, &a), rr = ref_pop(&ref, &b);
            cr_assert_eq(rq, rr, "op %zu: pop returned %d, reference %d", op, rq, rr);
            if (!same_event(&a, &b))
                assert_same_event(&a, &b, pops);
            pops++;
            now = b.time;
        }
        if (afl_rng_below(r, 8) == 0) {
            const afl_event *top = afl_queue_peek(q);
            cr_assert_eq(top == NULL, ref.n == 0, "op %zu: peek", op);
            if (top && !same_event(top, &ref.h[0]))
                assert_same_event(top, &ref.h[0], pops);
        }
        if (restore_every && afl_rng_below(r, restore_every) == 0) {
            n = ref.n;
            if (n + 1 > dcap) {
                dcap = 2 * n + 1;
                dq = realloc(dq, dcap * sizeof *dq);
                dr = realloc(dr, dcap * sizeof *dr);
                cr_assert(dq && dr);
            }
            cr_assert_eq(afl_queue_dump(q, dq, n + 1), n, "op %zu: dump size", op);
            memcpy(dr, ref.h, n * sizeof *dr);
            qsort(dr, n, sizeof *dr, cmp_event_bits);
            for (size_t i = n; i > 1; i--) { /* shuffle: restore must not depend on order */
                size_t j = (size_t)afl_rng_below(r, i);
                afl_event t = dq[i - 1];
                dq[i - 1] = dq[j];
                dq[j] = t;
            }
            uint64_t next = afl_queue_next_seq(q);
            cr_assert_eq(next, ref.next_seq);
            if (afl_rng_below(r, 2)) { /* into a new queue, as on resume */
                afl_queue_free(q);
                q = afl_queue_create(0);
                cr_assert_not_null(q);
            }
            cr_assert_eq(afl_queue_restore(q, dq, n, next), 0);
            ref_restore(&ref, dq, n, next);
            qsort(dq, n, sizeof *dq, cmp_event_bits);
            cr_assert(n == 0 || memcmp(dq, dr, n * sizeof *dq) == 0,
                      "op %zu: the dump is not the reference's contents", op);
        }
    }
    while (ref_pop(&ref, &b) == 0) {
        cr_assert_eq(afl_queue_pop(q, &a), 0, "queue ran out at pop %zu", pops);
        if (!same_event(&a, &b))
            assert_same_event(&a, &b, pops);
        pops++;
    }
    cr_assert_eq(afl_queue_pop(q, &a), -1);
    cr_assert_eq(afl_queue_size(q), 0);
    free(dq);
    free(dr);
    free(ref.h);
    afl_queue_free(q);
    afl_rng_free(r);
}

Test(queue, differential_exponential_durations, .timeout = 120)
{
    differential(1, D_EXP, 1000000, 200000, 0);
    differential(2, D_EXP, 300000, 50, 0); /* small queues: few buckets in use */
}

Test(queue, differential_lognormal_heavy_tails, .timeout = 120)
{
    differential(3, D_LOGNORMAL, 1000000, 200000, 0);
}

Test(queue, differential_many_exact_ties, .timeout = 120)
{
    differential(4, D_TIES, 1000000, 100000, 0);
    differential(5, D_TIES, 200000, 3000, 0);
}

Test(queue, differential_straggler_mix, .timeout = 120)
{
    differential(6, D_STRAGGLER, 1000000, 200000, 0);
}

Test(queue, differential_extreme_times, .timeout = 120)
{
    differential(7, D_EXTREME, 500000, 20000, 0);
    differential(8, D_EXTREME, 200000, 100, 0);
    differential(16, D_BITS, 500000, 20000, 0);
    differential(17, D_BITS, 300000, 5000, 0);
}

Test(queue, differential_with_interleaved_dump_and_restore, .timeout = 120)
{
    differential(9, D_EXP, 300000, 20000, 20000);
    differential(10, D_TIES, 300000, 5000, 5000);
    differential(11, D_STRAGGLER, 200000, 2000, 1000);
    differential(12, D_EXTREME, 100000, 500, 500);
    differential(13, D_BACKWARDS, 100000, 500, 700);
    differential(18, D_BITS, 100000, 3000, 2000);
}

Test(queue, differential_pushes_below_the_last_pop, .timeout = 120)
{
    differential(14, D_BACKWARDS, 1000000, 50000, 0);
    differential(15, D_BACKWARDS, 200000, 20, 0);
}

Test(queue, pushes_into_the_past_still_pop_in_order)
{
    /* The engine never schedules into the past, but the API accepts any
     * finite time >= 0 at any moment. */
    afl_queue *q = afl_queue_create(0);
    cr_assert_not_null(q);
    afl_event ev;
    cr_assert_eq(afl_queue_push(q, 10.0, 0, 0, 0), 0);
    cr_assert_eq(afl_queue_push(q, 20.0, 0, 1, 0), 0);
    cr_assert_eq(afl_queue_push(q, 30.0, 0, 2, 0), 0);
    cr_assert_eq(afl_queue_pop(q, &ev), 0);
    cr_assert_eq(ev.client, 0);
    /* below the last pop (10), at it, between pending ones, and at time 0 */
    cr_assert_eq(afl_queue_push(q, 5.0, 0, 3, 0), 0);
    cr_assert_eq(afl_queue_push(q, 10.0, 0, 4, 0), 0);
    cr_assert_eq(afl_queue_push(q, 5.0, 0, 5, 0), 0);
    cr_assert_eq(afl_queue_push(q, 15.0, 0, 6, 0), 0);
    cr_assert_eq(afl_queue_push(q, 0.0, 0, 7, 0), 0);
    cr_assert_eq(afl_queue_size(q), 7);
    cr_assert_eq(afl_queue_peek(q)->client, 7);
    afl_event out[8];
    cr_assert_eq(afl_queue_dump(q, out, 8), 7);
    /* 8 is pushed at 5.0 right after 5 (t=5) pops; 9 at 1.0 right after 8 pops */
    static const int order[] = {7, 3, 5, 8, 9, 4, 6, 1, 2};
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(afl_queue_pop(q, &ev), 0);
        cr_assert_eq(ev.client, order[i], "pop %d: client %d, want %d", i, ev.client, order[i]);
        if (i == 2)
            cr_assert_eq(afl_queue_push(q, 5.0, 0, 8, 0), 0);
        if (i == 3)
            cr_assert_eq(afl_queue_push(q, 1.0, 0, 9, 0), 0);
    }
    cr_assert_eq(afl_queue_pop(q, &ev), -1);

    /* A peek finds the minimum; an earlier push after it still comes first. */
    cr_assert_eq(afl_queue_push(q, 100.0, 0, 10, 0), 0);
    cr_assert_eq(afl_queue_push(q, 200.0, 0, 11, 0), 0);
    cr_assert_eq(afl_queue_peek(q)->client, 10);
    cr_assert_eq(afl_queue_push(q, 50.0, 0, 12, 0), 0);
    cr_assert_eq(afl_queue_peek(q)->client, 12);
    cr_assert_eq(afl_queue_pop(q, &ev), 0);
    cr_assert_eq(ev.client, 12);
    cr_assert_eq(afl_queue_pop(q, &ev), 0);
    cr_assert_eq(ev.client, 10);
    afl_queue_free(q);
}

Test(queue, extreme_times_and_negative_zero)
{
    afl_queue *q = afl_queue_create(0);
    cr_assert_not_null(q);
    cr_assert_eq(afl_queue_push(q, DBL_MAX, 0, 0, 0), 0);
    cr_assert_eq(afl_queue_push(q, 1e300, 0, 1, 0), 0);
    cr_assert_eq(afl_queue_push(q, 0.0, 0, 2, 0), 0);
    cr_assert_eq(afl_queue_push(q, -0.0, 0, 3, 0), 0); /* equal to 0.0: after it */
    cr_assert_eq(afl_queue_push(q, 5e-324, 0, 4, 0), 0);
    cr_assert_eq(afl_queue_push(q, 0.0, 0, 5, 0), 0);
    static const int order[] = {2, 3, 5, 4, 1, 0};
    afl_event ev;
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(afl_queue_pop(q, &ev), 0);
        cr_assert_eq(ev.client, order[i], "pop %d: client %d, want %d", i, ev.client, order[i]);
        if (ev.client == 3)
            cr_assert(signbit(ev.time), "-0.0 comes back as -0.0");
    }
    afl_queue_free(q);
}
