/* Internal: the simulator's pseudo-random numbers.
 *
 * xoshiro256** (Blackman & Vigna), seeded through splitmix64 from the user's
 * seed and a stream number. Every vehicle owns one stream, so what a vehicle
 * does never depends on how many vehicles there are, in which order they are
 * simulated, or on which thread. Written here (a dozen lines) rather than
 * taken from libc: rand()/random() differ between C libraries and are not
 * splittable into independent streams. */
#ifndef TT_SIM_RNG_H
#define TT_SIM_RNG_H
#include <stdint.h>

typedef struct tt__rng {
  uint64_t s[4];
} tt__rng;

/* Seed stream `stream` of `seed`. Different (seed, stream) pairs give
 * statistically independent sequences. */
void tt__rng_seed(tt__rng *r, uint64_t seed, uint64_t stream);
uint64_t tt__rng_next(tt__rng *r);
/* Uniform in [0, 1). */
double tt__rng_uniform(tt__rng *r);
/* Uniform in [lo, hi). */
double tt__rng_range(tt__rng *r, double lo, double hi);
/* Uniform integer in [0, n); n > 0. */
uint32_t tt__rng_below(tt__rng *r, uint32_t n);
/* Approximately standard normal (Irwin–Hall of four uniforms), in ±3.46. */
double tt__rng_normal(tt__rng *r);
/* Exponential with the given mean. */
double tt__rng_exp(tt__rng *r, double mean);
/* 1 with probability p. */
int tt__rng_chance(tt__rng *r, double p);
#endif
