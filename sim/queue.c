/* sim/queue.c - the event queue: a monotone multi-level radix heap over (time, seq).
 *
 * Sources: R. K. Ahuja, K. Mehlhorn, J. B. Orlin, R. E. Tarjan, "Faster
 * algorithms for the shortest path problem", JACM 37(2), 1990 (the radix heap:
 * a monotone priority queue whose buckets are defined relative to the last
 * extracted key); B. V. Cherkassky, A. V. Goldberg, C. Silverstein, "Buckets,
 * heaps, lists, and monotone priority queues", SIAM J. Comput. 28(4), 1999
 * (multi-level buckets); tlx, tlx/container/radix_heap.hpp (M. Penschuck,
 * 2018: rows of 2^k buckets per digit, a minimum kept per bucket, a bitmap to
 * find the lowest filled bucket); iwiwi/radix-heap (bucket = highest bit of
 * key XOR last, found with count-leading-zeros); IEEE 754-2008 section 3.4
 * (the encodings of non-negative binary64 numbers order like unsigned
 * integers); the fallback heap is the binary heap this file used to be
 * (libuv src/heap-inl.h; Williams, CACM 7(6), 1964).
 *
 * Key.  An event's key is the 128-bit number (time bits << 64) | seq, the
 * time's IEEE-754 bits with the sign cleared (so -0.0 gets 0.0's key).  For
 * times >= 0 this orders exactly like (time, seq), and keys are unique (seqs
 * are).  The simulator never schedules into the past and seqs only grow, so
 * every pushed key is larger than the last popped one: the queue is monotone.
 *
 * Buckets.  `last` is the key of the most recent minimum (popped, or found by
 * peek).  Bucket 0 holds the key equal to last; any other key k > last goes to
 * bucket (level, digit): level = the highest 8-bit digit of k in which k and
 * last differ (0..15), digit = k's value there (it is larger than last's).
 * Keys in bucket (l, d) are all smaller than those in (l, d') for d < d' and
 * than those of any higher level, so the minimum is bucket 0 or the minimum of
 * the lowest non-empty bucket.  Pop takes bucket 0; when it is empty, settle()
 * makes the lowest bucket's minimum (kept per bucket) the new last and
 * redistributes that bucket: every event moves to a strictly lower level
 * (every bucket below is empty), so an event moves at most 16 times, in
 * practice 2.5-4 times (measured: 3.9 per pop with 10^6 pending exponential
 * durations; 2.5-3 in 5,000-client scenarios).  The moves are sequential
 * reads and appends, not dependent cache misses as in a binary heap.
 *
 * Storage.  Events are stored as they were pushed (32 bytes, the time's bits
 * unchanged) in 1 KiB chunks of 31 events from slabs; a bucket is a list of
 * chunks whose first is being filled.  So the memory is about 33 bytes per
 * pending event plus at most one partly filled chunk per bucket in use.
 * settle() must not fail, so pushes reserve, as address space, the worst case
 * (chunks_needed: one partial chunk per bucket); slab chunks are handed out in
 * order and only those used are ever touched.  4,097 buckets cost 128 KiB of
 * bookkeeping per queue (touched as used).
 *
 * Not monotone.  The API accepts any finite time >= 0 at any moment: a push
 * below last (a time earlier than an event already popped, or than the
 * minimum a peek found) goes into a binary min-heap that pop and peek serve
 * first; its events all precede every bucket's.  The engine never does this
 * (counted: 0 such pushes in the engine and trace/burst scenarios); it is
 * correct, and O(log n) per such event.
 *
 * Measured (-O2, 2 shared cores with other jobs running; medians of 7 runs
 * alternating with the binary heap; /tmp benchmark, not in the tree): pop +
 * push of a later event, 10^6 pending, 3*10^6 pairs: binary heap 3.4 / 3.3 /
 * 3.7 M pairs/s, this queue 19.9 / 19.6 / 21.1 M pairs/s (exponential,
 * lognormal(0,1), exponential with 20 % stragglers x10 durations), same pop
 * order.  Smaller queues, lognormal: 10^5 pending 7.8 -> 25, 10^4 12 -> 30,
 * 10^3 17 -> 32, 100 25 -> 31; only a tiny queue (10 pending: 45 -> 31 M
 * pairs/s) favours the heap.  The engine alone (timing-only scenario, 10^6
 * clients all in flight, events/s = 3*10^6 / (wall 6*10^6 events - wall
 * 3*10^6 events)): 1.74 -> 2.36 M events/s, peak RSS +1.4 MB; what is left
 * there is mostly sim/versions.c (afl_versions_get: ~44 % of the samples,
 * the queue ~13 %).
 */
#include "sim/queue.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bits per digit (a divisor of 64).  8: 16 levels of 256 buckets; 4-bit
 * digits (32 levels of 16) measured 25 % slower at 10^6 pending events. */
#ifndef QUEUE_DIGIT_BITS
#define QUEUE_DIGIT_BITS 8
#endif

enum {
    DIGIT_BITS = QUEUE_DIGIT_BITS,
    RADIX = 1 << DIGIT_BITS,
    LEVELS = 128 / DIGIT_BITS,
    NBUCKETS = 1 + LEVELS * RADIX, /* bucket 0 holds the key equal to `last` */
    OCC_WORDS = (RADIX + 63) / 64,
    CHUNK_EVENTS = 31,
    LOW_MIN_CAP = 16,
};

_Static_assert(sizeof(afl_event) == 32, "afl_event must stay 32 bytes (two per cache line)");
_Static_assert(64 % DIGIT_BITS == 0, "a digit must not straddle the two key halves");
_Static_assert(LEVELS <= 64, "one bit per level in a uint64_t");

/* Events live in 1 KiB chunks: a bucket is a singly linked list whose first
 * chunk (head) is being filled and whose other chunks are full, so a bucket of
 * n events holds ((n - 1) % CHUNK_EVENTS) + 1 of them in its head. */
typedef struct chunk {
    struct chunk *next;
    uint64_t pad_[3]; /* keeps ev[] 32-byte aligned: two events per cache line */
    afl_event ev[CHUNK_EVENTS];
} chunk;

_Static_assert(sizeof(chunk) == 1024, "a chunk is 1 KiB");

typedef struct {
    chunk *head;
    size_t n;
    uint64_t minh, minl; /* the smallest key in the bucket (valid when n > 0) */
} bucket;

typedef struct {
    chunk *base;
    size_t n, used; /* chunks in the slab, chunks ever handed out from it */
} slab;

struct afl_queue {
    bucket *b;                       /* NBUCKETS buckets */
    uint64_t lasth, lastl;           /* `last`: the key of the most recently settled minimum */
    size_t nr;                       /* events in the buckets */
    uint64_t next_seq;               /* seq of the next push */
    uint64_t level_mask;             /* bit l: some bucket of level l is not empty */
    uint64_t occ[LEVELS][OCC_WORDS]; /* bit d of level l: bucket (l, d) not empty */
    /* chunk allocator */
    chunk *free; /* chunks given back */
    slab *slabs;
    size_t nslabs, capslabs, cur_slab; /* slabs before cur_slab are used up */
    size_t nchunks;                    /* chunks in all slabs */
    /* fallback for pushes below `last` (not monotone): a binary min-heap */
    afl_event *low;
    size_t nlow, caplow;
};

/* ---- keys ---------------------------------------------------------------------------- */

/* The high half of an event's key: the bits of a double >= 0 order like the
 * double itself as unsigned integers.  The sign bit is cleared so that -0.0
 * (which compares equal to 0.0 and is the only negative-signed time allowed)
 * gets the key of 0.0. */
static inline uint64_t time_key(double t)
{
    uint64_t u;
    memcpy(&u, &t, sizeof u);
    return u & ~(UINT64_C(1) << 63);
}

static inline int key_less(uint64_t ah, uint64_t al, uint64_t bh, uint64_t bl)
{
    return ah < bh || (ah == bh && al < bl);
}

/* The bucket of key (kh, kl) relative to last (lh, ll), key >= last: 0 when
 * equal, otherwise 1 + level * RADIX + digit, where level is the position of
 * the highest digit in which key and last differ and digit is the key's digit
 * there. */
static inline size_t slot_of(uint64_t kh, uint64_t kl, uint64_t lh, uint64_t ll)
{
    uint64_t x = kh ^ lh, part = kh;
    unsigned bit;
    if (x) {
        bit = 127u - (unsigned)__builtin_clzll(x);
    } else {
        x = kl ^ ll;
        if (!x)
            return 0;
        bit = 63u - (unsigned)__builtin_clzll(x);
        part = kl;
    }
    unsigned level = bit / DIGIT_BITS;
    unsigned shift = (bit & 63u) / DIGIT_BITS * DIGIT_BITS;
    return 1 + (size_t)level * RADIX + (size_t)((part >> shift) & (RADIX - 1));
}

/* ---- chunks -------------------------------------------------------------------------- */

/* Chunks the buckets may need while holding s events, including the worst
 * case in the middle of a redistribution (settle): every bucket that is not
 * empty has one partly filled chunk, plus the chunk being read. */
static inline size_t chunks_needed(size_t s)
{
    return s / CHUNK_EVENTS + (s < NBUCKETS ? s : NBUCKETS) + 3;
}

/* Makes sure the slabs hold at least want chunks.  A new slab is only
 * address space until its chunks are used (they are handed out in order). */
static int reserve_chunks(afl_queue *q, size_t want)
{
    if (want <= q->nchunks)
        return 0;
    size_t add = want - q->nchunks;
    if (add < q->nchunks / 2)
        add = q->nchunks / 2; /* geometric growth: few slabs */
    if (add < 16)
        add = 16;
    if (add > SIZE_MAX / sizeof(chunk)) {
        add = want - q->nchunks;
        if (add > SIZE_MAX / sizeof(chunk))
            return -1;
    }
    if (q->nslabs == q->capslabs) {
        size_t cap = q->capslabs ? 2 * q->capslabs : 8;
        slab *s = realloc(q->slabs, cap * sizeof *s);
        if (!s)
            return -1;
        q->slabs = s;
        q->capslabs = cap;
    }
    chunk *base = malloc(add * sizeof(chunk));
    if (!base)
        return -1;
    q->slabs[q->nslabs++] = (slab){.base = base, .n = add, .used = 0};
    q->nchunks += add;
    return 0;
}

static inline chunk *take_chunk(afl_queue *q)
{
    chunk *c = q->free;
    if (c) {
        q->free = c->next;
        return c;
    }
    while (q->slabs[q->cur_slab].used == q->slabs[q->cur_slab].n) {
        q->cur_slab++;
        assert(q->cur_slab < q->nslabs && "chunks_needed() was reserved");
    }
    slab *s = &q->slabs[q->cur_slab];
    return &s->base[s->used++];
}

static inline void give_chunk(afl_queue *q, chunk *c)
{
    c->next = q->free;
    q->free = c;
}

/* ---- buckets ------------------------------------------------------------------------- */

static inline void append(afl_queue *q, size_t s, const afl_event *ev, uint64_t kh, uint64_t kl)
{
    bucket *b = &q->b[s];
    size_t fill = b->n % CHUNK_EVENTS;
    if (fill == 0) {
        chunk *c = take_chunk(q);
        c->next = b->head;
        b->head = c;
    }
    b->head->ev[fill] = *ev;
    if (b->n == 0) {
        b->minh = kh, b->minl = kl;
        if (s) {
            size_t l = (s - 1) / RADIX, d = (s - 1) % RADIX;
            q->occ[l][d / 64] |= UINT64_C(1) << (d % 64);
            q->level_mask |= UINT64_C(1) << l;
        }
    } else if (key_less(kh, kl, b->minh, b->minl)) {
        b->minh = kh, b->minl = kl;
    }
    b->n++;
}

/* Moves the smallest key into bucket 0 (which is empty, nr > 0): last becomes
 * the minimum of the lowest non-empty bucket, whose events all go to lower
 * buckets (the lowest one to bucket 0).  Every bucket below it is empty, and
 * an event only ever moves to a lower level, so each event moves at most
 * LEVELS times. */
static void settle(afl_queue *q)
{
    assert(q->b[0].n == 0 && q->nr > 0 && q->level_mask);
    size_t l = (size_t)__builtin_ctzll(q->level_mask);
    size_t w = 0;
    while (!q->occ[l][w])
        w++;
    size_t d = w * 64 + (size_t)__builtin_ctzll(q->occ[l][w]);
    q->occ[l][w] &= q->occ[l][w] - 1;
    if (!q->occ[l][w]) {
        int empty = 1;
        for (size_t k = 0; k < OCC_WORDS; k++)
            empty &= q->occ[l][k] == 0;
        if (empty)
            q->level_mask &= ~(UINT64_C(1) << l);
    }
    bucket *src = &q->b[1 + l * RADIX + d];
    chunk *c = src->head;
    size_t n = src->n;
    uint64_t lh = src->minh, ll = src->minl;
    q->lasth = lh, q->lastl = ll;
    src->head = NULL, src->n = 0;
    if (n == 1) {
        /* The common case once the keys are spread out: the chunk moves. */
        q->b[0].head = c;
        q->b[0].n = 1;
        return;
    }
    size_t fill = (n - 1) % CHUNK_EVENTS + 1;
    while (c) {
        if (c->next)
            __builtin_prefetch(c->next);
        for (size_t i = 0; i < fill; i++) {
            const afl_event *ev = &c->ev[i];
            uint64_t kh = time_key(ev->time), kl = ev->seq;
            append(q, slot_of(kh, kl, lh, ll), ev, kh, kl);
        }
        chunk *next = c->next;
        give_chunk(q, c);
        c = next;
        fill = CHUNK_EVENTS;
    }
}

/* The earliest event of the buckets: the last event of bucket 0's head chunk
 * (bucket 0 holds one event unless a restored checkpoint repeated a key). */
static inline afl_event *bucket0_top(afl_queue *q)
{
    bucket *b = &q->b[0];
    return &b->head->ev[(b->n - 1) % CHUNK_EVENTS];
}

static void release_all_buckets(afl_queue *q)
{
    for (size_t s = 0; s < NBUCKETS; s++) {
        chunk *c = q->b[s].head;
        while (c) {
            chunk *next = c->next;
            give_chunk(q, c);
            c = next;
        }
        q->b[s].head = NULL;
        q->b[s].n = 0;
    }
    memset(q->occ, 0, sizeof q->occ);
    q->level_mask = 0;
    q->nr = 0;
}

/* ---- the fallback heap for non-monotone pushes ---------------------------------------- */

static inline int ev_before(const afl_event *a, const afl_event *b)
{
    return key_less(time_key(a->time), a->seq, time_key(b->time), b->seq);
}

static void low_push(afl_event *h, size_t i, afl_event ev)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_before(&ev, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = ev;
}

static void low_pop(afl_queue *q, afl_event *out)
{
    afl_event *h = q->low;
    *out = h[0];
    size_t n = --q->nlow, i = 0;
    if (n == 0)
        return;
    afl_event ev = h[n];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(&h[c + 1], &h[c]))
            c++;
        if (!ev_before(&h[c], &ev))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = ev;
}

/* ---- the API ------------------------------------------------------------------------- */

afl_queue *afl_queue_create(size_t capacity_hint)
{
    afl_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->b = calloc(NBUCKETS, sizeof *q->b);
    if (!q->b || reserve_chunks(q, chunks_needed(capacity_hint)) != 0) {
        afl_queue_free(q);
        return NULL;
    }
    return q;
}

void afl_queue_free(afl_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nslabs; i++)
        free(q->slabs[i].base);
    free(q->slabs);
    free(q->b);
    free(q->low);
    free(q);
}

int afl_queue_push(afl_queue *q, double time, int32_t type, int32_t client, int64_t data)
{
    assert(isfinite(time) && time >= 0);
    afl_event ev = {.time = time, .seq = q->next_seq, .type = type, .client = client, .data = data};
    uint64_t kh = time_key(time), kl = ev.seq;
    if (key_less(kh, kl, q->lasth, q->lastl)) {
        /* Earlier than an event already popped (or peeked): not monotone.
         * Such events all precede every event in the buckets. */
        if (q->nlow == q->caplow) {
            size_t cap = q->caplow ? 2 * q->caplow : LOW_MIN_CAP;
            if (cap > SIZE_MAX / sizeof(afl_event))
                return -1;
            afl_event *h = realloc(q->low, cap * sizeof *h);
            if (!h)
                return -1;
            q->low = h;
            q->caplow = cap;
        }
        low_push(q->low, q->nlow++, ev);
    } else {
        if (chunks_needed(q->nr + 1) > q->nchunks &&
            reserve_chunks(q, chunks_needed(q->nr + 1)) != 0)
            return -1;
        append(q, slot_of(kh, kl, q->lasth, q->lastl), &ev, kh, kl);
        q->nr++;
    }
    q->next_seq++;
    return 0;
}

int afl_queue_pop(afl_queue *q, afl_event *out)
{
    if (q->nlow) {
        low_pop(q, out);
        return 0;
    }
    if (q->nr == 0)
        return -1;
    bucket *b = &q->b[0];
    if (b->n == 0)
        settle(q);
    size_t fill = (b->n - 1) % CHUNK_EVENTS + 1;
    chunk *c = b->head;
    *out = c->ev[fill - 1];
    if (fill == 1) {
        b->head = c->next;
        give_chunk(q, c);
    }
    b->n--;
    q->nr--;
    return 0;
}

const afl_event *afl_queue_peek(const afl_queue *cq)
{
    /* Finding the minimum may reorganise the buckets (not the set of events
     * or their order).  Every queue comes from afl_queue_create, never from a
     * const object, so casting the const away is well defined. */
    afl_queue *q = (afl_queue *)cq;
    if (q->nlow)
        return &q->low[0];
    if (q->nr == 0)
        return NULL;
    if (q->b[0].n == 0)
        settle(q);
    return bucket0_top(q);
}

size_t afl_queue_size(const afl_queue *q)
{
    return q->nr + q->nlow;
}

uint64_t afl_queue_next_seq(const afl_queue *q)
{
    return q->next_seq;
}

int afl_queue_restore(afl_queue *q, const afl_event *events, size_t n, uint64_t next_seq)
{
    for (size_t i = 0; i < n; i++) {
        if (!(isfinite(events[i].time) && events[i].time >= 0) || events[i].seq >= next_seq)
            return -2;
    }
    if (reserve_chunks(q, chunks_needed(n)) != 0)
        return -1;
    release_all_buckets(q);
    q->nlow = 0;
    /* last = the smallest possible key: every restored event and every later
     * push is monotone. */
    q->lasth = 0, q->lastl = 0;
    q->next_seq = next_seq;
    for (size_t i = 0; i < n; i++) {
        uint64_t kh = time_key(events[i].time), kl = events[i].seq;
        append(q, slot_of(kh, kl, 0, 0), &events[i], kh, kl);
    }
    q->nr = n;
    return 0;
}

size_t afl_queue_dump(const afl_queue *q, afl_event *out, size_t max)
{
    size_t k = q->nlow < max ? q->nlow : max;
    if (k)
        memcpy(out, q->low, k * sizeof(afl_event));
    for (size_t s = 0; s < NBUCKETS && k < max; s++) {
        const bucket *b = &q->b[s];
        if (!b->n)
            continue;
        size_t fill = (b->n - 1) % CHUNK_EVENTS + 1;
        for (const chunk *c = b->head; c && k < max; c = c->next, fill = CHUNK_EVENTS) {
            size_t m = fill < max - k ? fill : max - k;
            memcpy(out + k, c->ev, m * sizeof(afl_event));
            k += m;
        }
    }
    return k;
}
