/* sim/versions.c - reference-counted store of global model versions (versions.h).
 *
 * Versions are published in increasing order, so a version's slot is found by
 * indexing a ring of slot numbers with (version - oldest): O(1) lookups even
 * with a million jobs in flight.  Freed model buffers are pooled and reused.
 */
#include "sim/versions.h"

#include <stdlib.h>

#include "sim/ckpt.h"
#include <string.h>

typedef struct {
    int64_t refs;
    float *w;
} slot;

struct afl_versions {
    size_t d;
    /* index: ring of (newest - oldest + 1) slot numbers, -1 when that version is gone */
    int64_t oldest; /* oldest version still indexed */
    int64_t newest; /* newest published version, oldest - 1 if none */
    int32_t *index; /* ring buffer, capacity icap (a power of two) */
    size_t icap;
    slot *slots; /* slot pool */
    size_t nslots, scap; /* slots in use by the pool, allocated (grown geometrically) */
    int32_t *free_list;
    size_t nfree;
    size_t used, peak;
};

afl_versions *afl_versions_create(size_t d)
{
    afl_versions *vs = calloc(1, sizeof *vs);
    if (!vs)
        return NULL;
    vs->d = d;
    vs->icap = 16;
    vs->index = malloc(vs->icap * sizeof *vs->index);
    if (!vs->index) {
        free(vs);
        return NULL;
    }
    vs->oldest = 0;
    vs->newest = -1;
    return vs;
}

void afl_versions_free(afl_versions *vs)
{
    if (!vs)
        return;
    for (size_t i = 0; i < vs->nslots; i++)
        free(vs->slots[i].w);
    free(vs->slots);
    free(vs->free_list);
    free(vs->index);
    free(vs);
}

static int32_t *index_at(const afl_versions *vs, int64_t version)
{
    return &vs->index[(size_t)version & (vs->icap - 1)];
}

static slot *find(const afl_versions *vs, int64_t version)
{
    if (version < vs->oldest || version > vs->newest)
        return NULL;
    int32_t k = *index_at(vs, version);
    return k < 0 ? NULL : &vs->slots[k];
}

static int grow_index(afl_versions *vs)
{
    size_t ncap = vs->icap * 2;
    int32_t *ni = malloc(ncap * sizeof *ni);
    if (!ni)
        return -1;
    for (int64_t v = vs->oldest; v <= vs->newest; v++)
        ni[(size_t)v & (ncap - 1)] = *index_at(vs, v);
    free(vs->index);
    vs->index = ni;
    vs->icap = ncap;
    return 0;
}

/* A free slot (reused, or a new one with its model buffer); -1 when out of memory. */
static int32_t take_slot(afl_versions *vs)
{
    if (vs->nfree > 0)
        return vs->free_list[--vs->nfree];
    if (vs->nslots == vs->scap) {
        size_t cap = vs->scap ? 2 * vs->scap : 16;
        slot *ns = realloc(vs->slots, cap * sizeof *ns);
        if (!ns)
            return -1;
        vs->slots = ns;
        int32_t *nf = realloc(vs->free_list, cap * sizeof *nf);
        if (!nf)
            return -1;
        vs->free_list = nf;
        vs->scap = cap;
    }
    vs->slots[vs->nslots].w = malloc(vs->d * sizeof(float));
    if (!vs->slots[vs->nslots].w)
        return -1;
    return (int32_t)vs->nslots++;
}

int afl_versions_publish(afl_versions *vs, int64_t version, const float *w)
{
    if (vs->newest >= vs->oldest && version != vs->newest + 1)
        return -1;                 /* versions are published in order */
    if (vs->newest < vs->oldest) { /* empty: restart the index here */
        vs->oldest = version;
        vs->newest = version - 1;
    }
    if ((size_t)(version - vs->oldest + 1) > vs->icap && grow_index(vs) != 0)
        return -1;
    int32_t k = take_slot(vs);
    if (k < 0)
        return -1;
    memcpy(vs->slots[k].w, w, vs->d * sizeof(float));
    vs->slots[k].refs = 1;
    vs->newest = version;
    *index_at(vs, version) = k;
    vs->used++;
    if (vs->used > vs->peak)
        vs->peak = vs->used;
    return 0;
}

const float *afl_versions_get(const afl_versions *vs, int64_t version)
{
    slot *s = find(vs, version);
    return s ? s->w : NULL;
}

void afl_versions_acquire(afl_versions *vs, int64_t version)
{
    slot *s = find(vs, version);
    if (s)
        s->refs++;
}

void afl_versions_release(afl_versions *vs, int64_t version)
{
    slot *s = find(vs, version);
    if (!s || --s->refs > 0)
        return;
    int32_t *ix = index_at(vs, version);
    vs->free_list[vs->nfree++] = *ix;
    *ix = -1;
    vs->used--;
    while (vs->oldest <= vs->newest && *index_at(vs, vs->oldest) < 0)
        vs->oldest++;
}

size_t afl_versions_count(const afl_versions *vs)
{
    return vs->used;
}

size_t afl_versions_peak(const afl_versions *vs)
{
    return vs->peak;
}

int afl_versions_ckpt(afl_versions *vs, afl_ckpt *ck)
{
    size_t d = vs->d, n = vs->used;
    int64_t oldest = vs->oldest, newest = vs->newest;
    afl_ckpt_size(ck, "versions.d", &d);
    afl_ckpt_size(ck, "versions.count", &n);
    afl_ckpt_i64(ck, "versions.oldest", &oldest);
    afl_ckpt_i64(ck, "versions.newest", &newest);
    size_t peak = vs->peak;
    afl_ckpt_size(ck, "versions.peak", &peak);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (!afl_ckpt_loading(ck)) {
        for (int64_t v = oldest; v <= newest; v++) {
            slot *s = find(vs, v);
            if (!s)
                continue;
            int64_t ver = v, refs = s->refs;
            afl_ckpt_i64(ck, "version", &ver);
            afl_ckpt_i64(ck, "version.refs", &refs);
            afl_ckpt_floats(ck, "version.w", s->w, d);
        }
        return afl_ckpt_status(ck);
    }
    if (d != vs->d || newest < oldest - 1 ||
        (newest >= oldest && n > (size_t)(newest - oldest + 1)))
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "the stored model versions do not fit this model "
                             "(%zu parameters, this model has %zu)",
                             d, vs->d);
    /* drop whatever vs held, then rebuild the index over [oldest, newest] */
    for (int64_t v = vs->oldest; v <= vs->newest; v++) {
        slot *s = find(vs, v);
        if (s)
            vs->free_list[vs->nfree++] = *index_at(vs, v);
    }
    vs->used = 0;
    size_t span = newest >= oldest ? (size_t)(newest - oldest + 1) : 1, cap = 16;
    while (cap < span)
        cap *= 2;
    if (cap > vs->icap) {
        int32_t *ni = malloc(cap * sizeof *ni);
        if (!ni)
            return afl_ckpt_fail(ck, AFL_ENOMEM, "out of memory");
        free(vs->index);
        vs->index = ni;
        vs->icap = cap;
    }
    for (size_t i = 0; i < vs->icap; i++)
        vs->index[i] = -1;
    vs->oldest = oldest;
    vs->newest = newest;
    for (size_t i = 0; i < n; i++) {
        int64_t ver = 0, refs = 0;
        afl_ckpt_i64(ck, "version", &ver);
        afl_ckpt_i64(ck, "version.refs", &refs);
        if (afl_ckpt_status(ck))
            return afl_ckpt_status(ck);
        if (ver < oldest || ver > newest || refs < 1 || *index_at(vs, ver) >= 0)
            return afl_ckpt_fail(ck, AFL_EINPUT, "model version %lld is stored inconsistently",
                                 (long long)ver);
        int32_t k = take_slot(vs);
        if (k < 0)
            return afl_ckpt_fail(ck, AFL_ENOMEM, "out of memory");
        vs->slots[k].refs = refs;
        *index_at(vs, ver) = k;
        vs->used++;
        afl_ckpt_floats(ck, "version.w", vs->slots[k].w, d);
    }
    if (n > 0 && (*index_at(vs, oldest) < 0))
        return afl_ckpt_fail(ck, AFL_EINPUT, "model version %lld is stored inconsistently",
                             (long long)oldest);
    vs->peak = peak > vs->used ? peak : vs->used;
    return afl_ckpt_status(ck);
}
