/* xoshiro256** with splitmix64 seeding; see rng.h for why. */
#include "sim/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void tt__rng_seed(tt__rng *r, uint64_t seed, uint64_t stream) {
  /* Mix the stream in through its own splitmix step so that neighbouring
   * streams (vehicle 1, vehicle 2) start far apart. */
  uint64_t x = seed;
  uint64_t y = stream ^ UINT64_C(0xD1B54A32D192ED03);
  uint64_t k = splitmix64(&x) ^ splitmix64(&y);
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&k);
}

uint64_t tt__rng_next(tt__rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double tt__rng_uniform(tt__rng *r) { return (double)(tt__rng_next(r) >> 11) * 0x1.0p-53; }

double tt__rng_range(tt__rng *r, double lo, double hi) {
  return lo + (hi - lo) * tt__rng_uniform(r);
}

uint32_t tt__rng_below(tt__rng *r, uint32_t n) {
  /* Lemire's multiply-shift; the tiny bias for huge n is irrelevant here. */
  return (uint32_t)(((tt__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double tt__rng_normal(tt__rng *r) {
  /* Irwin–Hall: the sum of four uniforms (the four 16-bit quarters of one
   * draw), centred and scaled to unit variance. Close to normal for noise
   * and far cheaper than Box–Muller's log; bounded at ±3.46, which keeps
   * noisy signals inside their physical ranges. */
  uint64_t x = tt__rng_next(r);
  uint32_t sum = (uint32_t)(x & 0xFFFF) + (uint32_t)((x >> 16) & 0xFFFF) +
                 (uint32_t)((x >> 32) & 0xFFFF) + (uint32_t)(x >> 48);
  /* each quarter is uniform on [0, 65535]: mean 32767.5, variance (65536^2-1)/12 */
  return ((double)sum - 4 * 32767.5) * (1.7320508075688772 / 65536.0);
}

double tt__rng_exp(tt__rng *r, double mean) { return -mean * log1p(-tt__rng_uniform(r)); }

int tt__rng_chance(tt__rng *r, double p) { return tt__rng_uniform(r) < p; }
