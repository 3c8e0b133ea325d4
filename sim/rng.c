/* sim/rng.c - xoshiro256** as a gsl_rng_type, and stream derivation.
 * Source: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 2021 (xoshiro256**, splitmix64 seeding).
 */
#include "sim/rng.h"

#include <gsl/gsl_randist.h>

typedef struct {
    uint64_t s[4];
} xoshiro_state;

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t xoshiro_next(xoshiro_state *st)
{
    uint64_t *s = st->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void xo_set(void *vstate, unsigned long seed)
{
    xoshiro_state *st = vstate;
    uint64_t x = (uint64_t)seed;
    for (int i = 0; i < 4; i++)
        st->s[i] = splitmix64(&x);
    if (!(st->s[0] | st->s[1] | st->s[2] | st->s[3]))
        st->s[0] = 1;
}

static unsigned long xo_get(void *vstate)
{
    return (unsigned long)(xoshiro_next(vstate) >> 32);
}

static double xo_get_double(void *vstate)
{
    return (double)(xoshiro_next(vstate) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type xoshiro_type = {
    "xoshiro256**", 0xffffffffUL, 0, sizeof(xoshiro_state), &xo_set, &xo_get, &xo_get_double,
};

const gsl_rng_type *afl_rng_xoshiro = &xoshiro_type;

uint64_t afl_seed_mix(uint64_t master, uint64_t purpose, uint64_t index)
{
    uint64_t x = master;
    uint64_t a = splitmix64(&x);
    x = a ^ (purpose * 0xd1b54a32d192ed03ULL);
    uint64_t b = splitmix64(&x);
    x = b ^ (index * 0x8cb92ba72f3d8dd7ULL);
    return splitmix64(&x);
}

afl_rng *afl_rng_create(uint64_t master, uint64_t purpose, uint64_t index)
{
    gsl_rng *r = gsl_rng_alloc(afl_rng_xoshiro);
    if (r)
        gsl_rng_set(r, (unsigned long)afl_seed_mix(master, purpose, index));
    return r;
}

void afl_rng_free(afl_rng *r)
{
    if (r)
        gsl_rng_free(r);
}

double afl_rng_uniform(afl_rng *r)
{
    return xo_get_double(r->state);
}

uint64_t afl_rng_below(afl_rng *r, uint64_t n)
{
    /* Lemire, "Fast random integer generation in an interval", TOMACS 2019. */
    xoshiro_state *st = r->state;
    uint64_t x = xoshiro_next(st);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = xoshiro_next(st);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double afl_rng_normal(afl_rng *r)
{
    return gsl_ran_gaussian_ziggurat(r, 1.0);
}

void afl_rng_shuffle_int(afl_rng *r, int *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)afl_rng_below(r, i);
        int t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
