/* sim/queue.h - the event queue, ordered by (time, seq).
 *
 * One engine drives both clocks (DESIGN.md section 3).  Events are ordered by
 * time, and events with equal times by a sequence number the queue hands out
 * itself from a counter that only increases, so ties pop in push order and a
 * run never depends on how the queue happened to be laid out (the idea of
 * libuv's timer heap, src/heap-inl.h: `timeout` then `start_id`).  Storage is
 * 32-byte events in chunks (no per-event allocation).
 *
 * The implementation (sim/queue.c) is a monotone radix heap: it is fastest when
 * no push is earlier than the last event popped, which is how a discrete-event
 * simulation schedules.  Earlier pushes are allowed and pop in the right order,
 * they are just slower (a binary heap).
 *
 * Times are finite doubles >= 0; the caller guarantees it (asserted in debug
 * builds).  Not thread-safe, not even peek: one queue belongs to one
 * simulation.
 */
#ifndef AFL_QUEUE_H
#define AFL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double time;    /* simulated time at which the event fires */
    uint64_t seq;   /* push order; assigned by the queue */
    int32_t type;   /* event kind, defined by the loop */
    int32_t client; /* client id, or -1 */
    int64_t data;   /* payload (job id, version, ...) */
} afl_event;        /* 32 bytes */

typedef struct afl_queue afl_queue;

/* A new empty queue with room for capacity_hint events (0: a small default);
 * it grows as needed.  NULL when out of memory. */
afl_queue *afl_queue_create(size_t capacity_hint);
void afl_queue_free(afl_queue *q);

/* Adds an event; its seq is the queue's next sequence number.  0 on success,
 * -1 when out of memory (the queue is unchanged). */
int afl_queue_push(afl_queue *q, double time, int32_t type, int32_t client, int64_t data);

/* Removes the earliest event (smallest time, then smallest seq) into *out.
 * 0 when an event was popped, -1 when the queue is empty. */
int afl_queue_pop(afl_queue *q, afl_event *out);

/* The earliest event without removing it; NULL when empty.  The pointer is
 * valid until the next push, pop or restore.  Peek may reorganise the queue's
 * internals to find the earliest event (never its contents or pop order); a
 * push after a peek that is earlier than the peeked event takes the slower
 * path described above. */
const afl_event *afl_queue_peek(const afl_queue *q);

size_t afl_queue_size(const afl_queue *q);

/* The seq the next push will get (saved in checkpoints). */
uint64_t afl_queue_next_seq(const afl_queue *q);

/* Replaces the contents with events[0..n) and sets the next seq (checkpoint
 * restore); pops then come out in exactly the order they would have in the
 * saved queue.  0 on success; -1 when out of memory; -2 when the saved data are
 * inconsistent (a time not finite or < 0, or a seq >= next_seq).  On failure
 * the queue is unchanged. */
int afl_queue_restore(afl_queue *q, const afl_event *events, size_t n, uint64_t next_seq);

/* Copies min(size, max) events, in no particular order, into out; returns the
 * number copied (compare with afl_queue_size to detect a short buffer). */
size_t afl_queue_dump(const afl_queue *q, afl_event *out, size_t max);

#endif
