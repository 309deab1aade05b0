/* Splits and negative down-sampling. Both are seeded hashes rather than
 * random draws so that a re-run (train --reproduce) assigns every row to
 * the same part and keeps the same negatives. There is deliberately no
 * random row split: rows of one vehicle on neighbouring days are nearly
 * identical, so a row split leaks. */
#include <fnmatch.h>
#include <string.h>

#include "telltale/train.h"

static uint64_t mix(uint64_t z) { /* splitmix64 finaliser */
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t hash_str(const char *s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ mix(seed);
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return mix(h);
}

/* A uniform value in [0, 1) from a hash. */
static double unit(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }

const char *tt_split_part_name(tt_split_part p) {
  switch (p) {
  case TT_PART_TRAIN: return "train";
  case TT_PART_VALIDATION: return "validation";
  case TT_PART_TEST: return "test";
  case TT_PART_DROPPED: return "gap";
  }
  return "?";
}

tt_split_part tt_split_assign(const tt_split_def *d, const char *vehicle, int64_t t) {
  switch (d->kind) {
  case TT_SPLIT_TIME:
    if (t >= d->test_from) return TT_PART_TEST;
    if (t >= d->test_from - d->gap) return TT_PART_DROPPED;
    if (t >= d->validation_from) return TT_PART_VALIDATION;
    if (t >= d->validation_from - d->gap) return TT_PART_DROPPED;
    return TT_PART_TRAIN;
  case TT_SPLIT_VEHICLE: {
    double u = unit(hash_str(vehicle, d->seed));
    if (u < d->test_fraction) return TT_PART_TEST;
    if (u < d->test_fraction + d->validation_fraction) return TT_PART_VALIDATION;
    return TT_PART_TRAIN;
  }
  case TT_SPLIT_HOLDOUT:
    for (size_t i = 0; i < d->ntest_vehicles; i++)
      if (!strcmp(d->test_vehicles[i], vehicle)) return TT_PART_TEST;
    if (d->test_pattern && fnmatch(d->test_pattern, vehicle, 0) == 0) return TT_PART_TEST;
    return unit(hash_str(vehicle, d->seed)) < d->validation_fraction ? TT_PART_VALIDATION : TT_PART_TRAIN;
  }
  return TT_PART_DROPPED;
}

int tt_spine_keep_negative(const tt_spine_def *d, const char *vehicle, int64_t t) {
  if (d->negative_rate >= 1.0) return 1;
  return unit(mix(hash_str(vehicle, d->seed) ^ (uint64_t)t)) < d->negative_rate;
}
