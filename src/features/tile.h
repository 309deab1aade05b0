/* Internal: tiles (per-tile partial aggregates), the sorted sparse ring of
 * a vehicle's tiles per input, and the window accumulator. */
#ifndef TT_FEATURES_TILE_H
#define TT_FEATURES_TILE_H

#include "features/internal.h"

/* The tile with index idx, created empty (in sorted position) if missing.
 * NULL on out-of-memory. */
tt__tile *tt__ring_get(tt__ring *r, int64_t idx);

/* Fold one value into a tile: dt = time - tile start, t = time. */
void tt__tile_add(tt__tile *tl, int64_t dt, int64_t t, double x);

/* Merge two tiles of the same index (used when loading saved state). */
void tt__tile_merge(tt__tile *into, const tt__tile *from);

/* A window's running merge of tiles. Integer fields are exact; times of
 * slope sums are relative to the origin of the evaluation tile. */
typedef struct tt__acc {
  int64_t n;
  tt_i128 sum, sq, st, stt, stx;
  double min, max;
  int64_t ft, lt;
  double fx, lx;
} tt__acc;

void tt__acc_init(tt__acc *a);
/* d = tile origin - window origin (<= 0); slope: also merge the slope sums
 * (only inputs with a slope feature need them). */
void tt__acc_merge(tt__acc *a, const tt__tile *tl, int64_t d, int slope);
/* The value of feature f from the accumulated window as of t. */
double tt__acc_value(const tt__acc *a, const tt_feature_def *f, int64_t t, int64_t origin);

#endif
