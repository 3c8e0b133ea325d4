/* sim/versions.h - the global models that are still needed.
 *
 * Each published model version is stored once, with a reference count.  The
 * server holds the newest version; in round mode the last tau_max+1 versions
 * are held (a stale model is drawn from them); in time mode every in-flight
 * job holds the version it started from.  A version whose count drops to zero
 * is recycled, so memory is (distinct versions still needed) x d floats.
 */
#ifndef AFL_VERSIONS_H
#define AFL_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

typedef struct afl_versions afl_versions;

afl_versions *afl_versions_create(size_t d);
void afl_versions_free(afl_versions *vs);
/* Stores a copy of w as version `version` with reference count 1.  -1 on OOM. */
int afl_versions_publish(afl_versions *vs, int64_t version, const float *w);
/* The stored model of a version, or NULL if it is not held. */
const float *afl_versions_get(const afl_versions *vs, int64_t version);
void afl_versions_acquire(afl_versions *vs, int64_t version);
void afl_versions_release(afl_versions *vs, int64_t version);
/* Number of versions currently stored (for tests and memory reports). */
size_t afl_versions_count(const afl_versions *vs);
size_t afl_versions_peak(const afl_versions *vs);
/* Saves or loads (sim/ckpt.h) every held version with its reference count; loading
 * replaces the contents of vs, which must have the same d. */
struct afl_ckpt;
int afl_versions_ckpt(afl_versions *vs, struct afl_ckpt *ck);

#endif
