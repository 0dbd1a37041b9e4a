/* Deterministic RNG: xoshiro256** seeded through splitmix64. State is explicit and passed by
 * pointer; nothing global. Same seed -> same stream on every machine. */
#ifndef NEUROP_RNG_H
#define NEUROP_RNG_H
#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *r, uint64_t seed);
/* An independent stream derived from r and a tag (e.g. a split or a seed index); r is unchanged. */
Rng rng_fork(const Rng *r, uint64_t tag);
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);            /* [0, 1) */
int rng_int(Rng *r, int n);            /* uniform in [0, n), unbiased; n >= 1 */
int rng_range(Rng *r, int lo, int hi); /* uniform in [lo, hi] inclusive */
float rng_normal(Rng *r);              /* standard normal */
void rng_shuffle_int(Rng *r, int *a, int n);

#endif
