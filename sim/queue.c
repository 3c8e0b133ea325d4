/* sim/queue.c - binary min-heap of events ordered by (time, seq).
 *
 * Sources: libuv src/heap-inl.h (a self-contained timer heap; ties broken by
 * an insertion counter, `start_id`); J. W. J. Williams, "Algorithm 232:
 * Heapsort", CACM 7(6), 1964 (array heap, sift up/down); R. W. Floyd,
 * "Algorithm 245: Treesort 3", CACM 7(12), 1964 (linear-time heap
 * construction, used by restore).
 *
 * Layout: heap[0] is the earliest event; the children of i are 2i+1 and 2i+2.
 * Every move keeps a hole instead of swapping: the moving event is held in a
 * local and parents/children slide into the hole, one 32-byte copy per level.
 *
 * Measured (10^6 pending events, pop + push of a later event, -O2): about
 * 3 million pairs/s, bound by cache misses; Wegener's bottom-up pop (walk the
 * hole to a leaf, then sift up) saved comparisons but no time there, so the
 * textbook sift-down is kept.
 */
#include "sim/queue.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct afl_queue {
    afl_event *heap;
    size_t n;          /* events in the heap */
    size_t cap;        /* allocated slots */
    uint64_t next_seq; /* seq of the next push */
};

enum { QUEUE_MIN_CAP = 64 };

_Static_assert(sizeof(afl_event) == 32, "afl_event must stay 32 bytes (two per cache line)");

/* Strict order: (time, seq) lexicographic.  seqs are unique, so no two
 * events compare equal and the pop order is fully determined. */
static inline int ev_before(const afl_event *a, const afl_event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* Moves ev up from the hole at i and writes it into its place. */
static inline void sift_up(afl_event *h, size_t i, afl_event ev)
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

/* Moves ev down from the hole at i in h[0..n) and writes it into its place. */
static inline void sift_down(afl_event *h, size_t n, size_t i, afl_event ev)
{
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

static int grow_to(afl_queue *q, size_t want)
{
    if (want <= q->cap)
        return 0;
    size_t cap = q->cap ? q->cap : QUEUE_MIN_CAP;
    while (cap < want) {
        if (cap > SIZE_MAX / 2 / sizeof(afl_event))
            return -1;
        cap *= 2;
    }
    afl_event *h = realloc(q->heap, cap * sizeof(afl_event));
    if (!h)
        return -1;
    q->heap = h;
    q->cap = cap;
    return 0;
}

afl_queue *afl_queue_create(size_t capacity_hint)
{
    afl_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    size_t cap = capacity_hint < QUEUE_MIN_CAP ? QUEUE_MIN_CAP : capacity_hint;
    if (cap > SIZE_MAX / sizeof(afl_event)) {
        free(q);
        return NULL;
    }
    q->heap = malloc(cap * sizeof(afl_event));
    if (!q->heap) {
        free(q);
        return NULL;
    }
    q->cap = cap;
    return q;
}

void afl_queue_free(afl_queue *q)
{
    if (!q)
        return;
    free(q->heap);
    free(q);
}

int afl_queue_push(afl_queue *q, double time, int32_t type, int32_t client, int64_t data)
{
    assert(isfinite(time) && time >= 0);
    if (q->n == q->cap && grow_to(q, q->n + 1) != 0)
        return -1;
    afl_event ev = {
        .time = time, .seq = q->next_seq++, .type = type, .client = client, .data = data};
    sift_up(q->heap, q->n++, ev);
    return 0;
}

int afl_queue_pop(afl_queue *q, afl_event *out)
{
    if (q->n == 0)
        return -1;
    afl_event *h = q->heap;
    *out = h[0];
    size_t n = --q->n;
    if (n == 0)
        return 0;
    sift_down(h, n, 0, h[n]); /* the last event fills the root's hole */
    return 0;
}

const afl_event *afl_queue_peek(const afl_queue *q)
{
    return q->n ? &q->heap[0] : NULL;
}

size_t afl_queue_size(const afl_queue *q)
{
    return q->n;
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
    if (grow_to(q, n) != 0)
        return -1;
    if (n)
        memcpy(q->heap, events, n * sizeof(afl_event));
    q->n = n;
    q->next_seq = next_seq;
    /* Floyd's heap construction: sift down every internal node, last first.
     * (time, seq) is a strict total order, so the pop order does not depend on
     * the order the events were saved in. */
    for (size_t i = n / 2; i-- > 0;)
        sift_down(q->heap, n, i, q->heap[i]);
    return 0;
}

size_t afl_queue_dump(const afl_queue *q, afl_event *out, size_t max)
{
    size_t k = q->n < max ? q->n : max;
    if (k)
        memcpy(out, q->heap, k * sizeof(afl_event));
    return k;
}
