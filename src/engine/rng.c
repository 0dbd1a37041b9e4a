#include "engine/rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rng_seed(Rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

Rng rng_fork(const Rng *r, uint64_t tag) {
    Rng f;
    uint64_t x = r->s[0] ^ (r->s[1] * 31) ^ (r->s[2] * 131) ^ (r->s[3] * 1031) ^ (tag * 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < 4; i++) f.s[i] = splitmix64(&x);
    return f;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_u64(Rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *r) { return (rng_u64(r) >> 11) * 0x1.0p-53; }

int rng_int(Rng *r, int n) {
    /* Lemire-style rejection keeps it exactly uniform. */
    uint64_t bound = (uint64_t)n, lim = UINT64_MAX - UINT64_MAX % bound, x;
    do x = rng_u64(r);
    while (x >= lim);
    return (int)(x % bound);
}

int rng_range(Rng *r, int lo, int hi) { return lo + rng_int(r, hi - lo + 1); }

float rng_normal(Rng *r) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_shuffle_int(Rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = rng_int(r, i + 1), tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}
