/* sim/ckpt.h - checkpoint files: one call sequence that both saves and loads.
 *
 * A checkpoint is a sequence of tagged records.  Every component describes its
 * mutable state once, with the same calls in the same order for both
 * directions:
 *
 *     static int fedbuff_ckpt(void *state, afl_ckpt *ck)
 *     {
 *         fedbuff *s = state;
 *         afl_ckpt_int(ck, "fedbuff.count", &s->count);
 *         afl_ckpt_floats(ck, "fedbuff.sum", s->sum, s->d);
 *         return afl_ckpt_status(ck);
 *     }
 *
 * When saving, the calls write the values; when loading, they overwrite them.
 * A record whose tag or size differs from what the file holds makes the
 * checkpoint fail with a message naming the record (errors are sticky: after
 * the first one every call does nothing, and afl_ckpt_status returns it).
 * Variable-length state stores its length first with afl_ckpt_size and, when
 * afl_ckpt_loading(ck), reallocates before the data call.
 *
 * File layout: "AFLCKPT\n", u32 format version, records (u8 tag length, tag,
 * u64 payload bytes, payload), then the record "end" whose payload is the
 * CRC-32 (zlib) of everything before it.  Little-endian, native float layout;
 * a checkpoint is read back on the machine type that wrote it.  Files are
 * written to PATH.tmp, fsync'ed and renamed, so a killed writer leaves the
 * previous checkpoint intact.
 */
#ifndef AFL_CKPT_H
#define AFL_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/err.h"
#include "sim/rng.h"

typedef struct afl_ckpt afl_ckpt;

/* Starts writing the checkpoint `path` (into path.tmp). */
int afl_ckpt_create(const char *path, afl_ckpt **out, afl_err *err);
/* Opens `path` for loading after checking its magic, format and CRC. */
int afl_ckpt_open(const char *path, afl_ckpt **out, afl_err *err);
/* Writing: appends the end record, fsyncs and renames path.tmp to path.
 * Loading: checks that every record was consumed.  Both free ck; on an earlier
 * error (or a failure here) the error is copied to err, a half-written
 * path.tmp is removed and the previous file at path is left untouched. */
int afl_ckpt_finish(afl_ckpt *ck, afl_err *err);
/* Frees ck without committing (a half-written path.tmp is removed). */
void afl_ckpt_abort(afl_ckpt *ck);

int afl_ckpt_loading(const afl_ckpt *ck);
/* AFL_OK, or the first error. */
int afl_ckpt_status(const afl_ckpt *ck);
const afl_err *afl_ckpt_error(const afl_ckpt *ck);
/* Records a component's own validation failure (e.g. a stored length that does
 * not fit); returns the code. */
int afl_ckpt_fail(afl_ckpt *ck, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records.  Each returns afl_ckpt_status(ck) after the call. */
int afl_ckpt_bytes(afl_ckpt *ck, const char *tag, void *data, size_t bytes);
int afl_ckpt_int(afl_ckpt *ck, const char *tag, int *v);
int afl_ckpt_i64(afl_ckpt *ck, const char *tag, int64_t *v);
int afl_ckpt_u64(afl_ckpt *ck, const char *tag, uint64_t *v);
int afl_ckpt_size(afl_ckpt *ck, const char *tag, size_t *v);
int afl_ckpt_f64(afl_ckpt *ck, const char *tag, double *v);
int afl_ckpt_floats(afl_ckpt *ck, const char *tag, float *v, size_t n);
int afl_ckpt_doubles(afl_ckpt *ck, const char *tag, double *v, size_t n);
int afl_ckpt_ints(afl_ckpt *ck, const char *tag, int *v, size_t n);
int afl_ckpt_i64s(afl_ckpt *ck, const char *tag, int64_t *v, size_t n);
int afl_ckpt_uchars(afl_ckpt *ck, const char *tag, unsigned char *v, size_t n);
/* The full state of a random stream (r must exist in both directions). */
int afl_ckpt_rng(afl_ckpt *ck, const char *tag, afl_rng *r);
/* An optional stream *r that may not exist yet (lazily created streams): stores
 * whether it exists; when loading, creates it with afl_rng_create(0, 0, 0) first
 * if needed (the state then overwrites the seed) or frees it if the saved one
 * did not exist. */
int afl_ckpt_rng_opt(afl_ckpt *ck, const char *tag, afl_rng **r);

#endif
