/* sim/versions.c - reference-counted store of global model versions (versions.h). */
#include "sim/versions.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t version; /* -1 = free slot */
    int64_t refs;
    float *w;
} slot;

struct afl_versions {
    size_t d;
    slot *slots;
    size_t nslots, used, peak;
};

afl_versions *afl_versions_create(size_t d)
{
    afl_versions *vs = calloc(1, sizeof *vs);
    if (vs)
        vs->d = d;
    return vs;
}

void afl_versions_free(afl_versions *vs)
{
    if (!vs)
        return;
    for (size_t i = 0; i < vs->nslots; i++)
        free(vs->slots[i].w);
    free(vs->slots);
    free(vs);
}

static slot *find(const afl_versions *vs, int64_t version)
{
    /* newest versions are looked up most; slots are few (<= concurrency + tau_max + 1) */
    for (size_t i = vs->nslots; i-- > 0;)
        if (vs->slots[i].version == version)
            return &vs->slots[i];
    return NULL;
}

int afl_versions_publish(afl_versions *vs, int64_t version, const float *w)
{
    slot *s = find(vs, -1);
    if (!s) {
        slot *ns = realloc(vs->slots, (vs->nslots + 1) * sizeof *ns);
        if (!ns)
            return -1;
        vs->slots = ns;
        s = &vs->slots[vs->nslots];
        s->w = malloc(vs->d * sizeof(float));
        if (!s->w)
            return -1;
        vs->nslots++;
    }
    memcpy(s->w, w, vs->d * sizeof(float));
    s->version = version;
    s->refs = 1;
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
    if (s && --s->refs == 0) {
        s->version = -1;
        vs->used--;
    }
}

size_t afl_versions_count(const afl_versions *vs)
{
    return vs->used;
}

size_t afl_versions_peak(const afl_versions *vs)
{
    return vs->peak;
}
