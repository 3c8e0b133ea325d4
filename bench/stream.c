/* bench/stream.c - see stream.h. */
#include "bench/stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *x)
{
    return (double)(splitmix(x) >> 11) * 0x1.0p-53;
}

static double normal(uint64_t *x)
{
    double u = uniform(x), v = uniform(x);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

static void shuffle(bench_stream *s)
{
    for (int i = s->n - 1; i > 0; i--) {
        int j = (int)(splitmix(&s->rng) % (uint64_t)(i + 1)), t = s->perm[i];
        s->perm[i] = s->perm[j];
        s->perm[j] = t;
    }
}

int stream_init(bench_stream *s, int n, size_t d, double lr, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->n = n;
    s->lr = lr;
    s->rng = seed;
    s->pool = malloc((size_t)STREAM_POOL * d * sizeof(float));
    s->models = malloc((size_t)(STREAM_TAU + 1) * d * sizeof(float));
    s->g = malloc(d * sizeof(float));
    s->perm = malloc((size_t)n * sizeof(int));
    if (!s->pool || !s->models || !s->g || !s->perm) {
        stream_free(s);
        return -1;
    }
    const double scale = 1.0 / sqrt((double)d);
    for (size_t i = 0; i < (size_t)STREAM_POOL * d; i++)
        s->pool[i] = (float)(normal(&s->rng) * scale);
    stream_reset(s, seed);
    return 0;
}

void stream_reset(bench_stream *s, uint64_t seed)
{
    s->rng = seed ^ 0x5EEDull;
    s->version = s->round = 0;
    for (size_t i = 0; i < s->d; i++) /* w0: a model of norm about 3 */
        s->models[i] = 3.0f * s->pool[(size_t)(STREAM_POOL - 1) * s->d + i];
    for (int i = 0; i < s->n; i++)
        s->perm[i] = i;
    shuffle(s);
}

void stream_free(bench_stream *s)
{
    free(s->pool);
    free(s->models);
    free(s->g);
    free(s->perm);
    memset(s, 0, sizeof *s);
}

static const float *model(const bench_stream *s, int64_t v)
{
    return s->models + (size_t)(v % (STREAM_TAU + 1)) * s->d;
}

/* out = mean + c * own + a * noise_a + b * noise_b (pool rows 0, 1: the mean's plane) */
static void compose(bench_stream *s, float *out, int own, float c)
{
    const size_t d = s->d;
    double phase = 6.283185307179586 * (double)s->round / 20000.0;
    float m0 = (float)cos(phase), m1 = (float)sin(phase);
    int p = 2 + (int)(splitmix(&s->rng) % (STREAM_POOL - 3));
    int q = 2 + (p - 2 + 1 + (int)(splitmix(&s->rng) % (STREAM_POOL - 4))) % (STREAM_POOL - 3);
    float a = (float)(0.7 * normal(&s->rng)), b = (float)(0.7 * normal(&s->rng));
    const float *d0 = s->pool, *d1 = s->pool + d, *o = s->pool + (size_t)own * d;
    const float *na = s->pool + (size_t)p * d, *nb = s->pool + (size_t)q * d;
    for (size_t i = 0; i < d; i++)
        out[i] = m0 * d0[i] + m1 * d1[i] + c * o[i] + a * na[i] + b * nb[i];
}

void stream_next(bench_stream *s, afl_update *u)
{
    int k = (int)(s->round % s->n);
    if (k == 0 && s->round > 0)
        shuffle(s);
    int client = s->perm[k];
    int64_t tmax = s->version < STREAM_TAU ? s->version : STREAM_TAU;
    int64_t tau = (int64_t)(splitmix(&s->rng) % (uint64_t)(tmax + 1));
    compose(s, s->g, 2 + client % (STREAM_POOL - 3), 0.5f);
    u->client = client;
    u->base_version = s->version - tau;
    u->version = s->version;
    u->staleness = tau;
    u->time = (double)s->round;
    u->g = s->g;
    u->w_base = model(s, s->version - tau);
    u->w_cur = model(s, s->version);
    s->round++;
}

void stream_apply(bench_stream *s, const float *step)
{
    const float *cur = model(s, s->version);
    float *next = s->models + (size_t)((s->version + 1) % (STREAM_TAU + 1)) * s->d;
    const float lr = (float)s->lr;
    for (size_t i = 0; i < s->d; i++)
        next[i] = cur[i] - lr * step[i];
    s->version++;
}

void stream_trusted(bench_stream *s, float *out)
{
    compose(s, out, STREAM_POOL - 2, 0.0f);
}
