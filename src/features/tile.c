/* Tiles: exactly mergeable partial aggregates. See README.md.
 *
 * Why integers: floating-point addition is not associative, so a stream
 * that sees events in another order than the batch job would sum to
 * different bits. Values enter sums as xq = round(x * 2^24) in int64 and
 * every sum is an __int128, which makes each tile's fold commutative and
 * associative: any arrival order, any merge order gives the same integers.
 * min, max, first and last are order-free by their tie-breaks. Only the
 * final division/square root is floating point, computed from the same
 * integers in the same way on both paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/tile.h"

tt__tile *tt__ring_get(tt__ring *r, int64_t idx) {
  /* Events mostly arrive in time order: check the newest tile first. */
  size_t pos;
  if (r->n && r->t[r->n - 1].idx == idx) return &r->t[r->n - 1];
  if (!r->n || r->t[r->n - 1].idx < idx) {
    pos = r->n;
  } else {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (r->t[mid].idx < idx)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < r->n && r->t[lo].idx == idx) return &r->t[lo];
    pos = lo;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 8;
    tt__tile *nt = realloc(r->t, cap * sizeof *nt);
    if (!nt) return NULL;
    r->t = nt;
    r->cap = cap;
  }
  memmove(r->t + pos + 1, r->t + pos, (r->n - pos) * sizeof *r->t);
  r->n++;
  tt__tile *tl = &r->t[pos];
  memset(tl, 0, sizeof *tl);
  tl->idx = idx;
  return tl;
}

void tt__tile_add(tt__tile *tl, int64_t dt, int64_t t, double x) {
  x += 0.0; /* -0.0 becomes +0.0, so min/max/first/last cannot depend on order */
  int64_t xq = llround(ldexp(x, TT_FX_BITS));
  if (tl->n == 0) {
    tl->min = tl->max = tl->fx = tl->lx = x;
    tl->ft = tl->lt = t;
  } else {
    if (x < tl->min) tl->min = x;
    if (x > tl->max) tl->max = x;
    if (t < tl->ft || (t == tl->ft && x < tl->fx)) tl->ft = t, tl->fx = x;
    if (t > tl->lt || (t == tl->lt && x > tl->lx)) tl->lt = t, tl->lx = x;
  }
  tl->n++;
  tl->sum += xq;
  tl->sq += (tt_i128)xq * xq;
  tl->st += dt;
  tl->stt += (tt_i128)dt * dt;
  tl->stx += (tt_i128)dt * xq;
}

void tt__tile_merge(tt__tile *a, const tt__tile *b) {
  if (!b->n) return;
  if (!a->n) {
    *a = *b;
    return;
  }
  if (b->min < a->min) a->min = b->min;
  if (b->max > a->max) a->max = b->max;
  if (b->ft < a->ft || (b->ft == a->ft && b->fx < a->fx)) a->ft = b->ft, a->fx = b->fx;
  if (b->lt > a->lt || (b->lt == a->lt && b->lx > a->lx)) a->lt = b->lt, a->lx = b->lx;
  a->n += b->n;
  a->sum += b->sum;
  a->sq += b->sq;
  a->st += b->st;
  a->stt += b->stt;
  a->stx += b->stx;
}

void tt__acc_init(tt__acc *a) { memset(a, 0, sizeof *a); }

void tt__acc_merge(tt__acc *a, const tt__tile *tl, int64_t d, int slope) {
  if (!tl->n) return;
  if (!a->n) {
    a->min = tl->min, a->max = tl->max;
    a->ft = tl->ft, a->fx = tl->fx, a->lt = tl->lt, a->lx = tl->lx;
  } else {
    if (tl->min < a->min) a->min = tl->min;
    if (tl->max > a->max) a->max = tl->max;
    if (tl->ft < a->ft || (tl->ft == a->ft && tl->fx < a->fx)) a->ft = tl->ft, a->fx = tl->fx;
    if (tl->lt > a->lt || (tl->lt == a->lt && tl->lx > a->lx)) a->lt = tl->lt, a->lx = tl->lx;
  }
  a->n += tl->n;
  a->sum += tl->sum;
  a->sq += tl->sq;
  if (slope) {
    /* Re-base the tile's times from its own end to the window origin:
     * exact integer shifts, so the merge order cannot matter. */
    tt_i128 n = tl->n, dd = d;
    a->st += tl->st + n * dd;
    a->stt += tl->stt + 2 * dd * tl->st + n * dd * dd;
    a->stx += tl->stx + dd * tl->sum;
  }
}

/* n*a - b*c exactly when it fits in __int128, else in long double. */
static long double det(tt_i128 n, tt_i128 a, tt_i128 b, tt_i128 c) {
  tt_i128 x, y, z;
  if (!__builtin_mul_overflow(n, a, &x) && !__builtin_mul_overflow(b, c, &y) &&
      !__builtin_sub_overflow(x, y, &z))
    return (long double)z;
  return (long double)n * (long double)a - (long double)b * (long double)c;
}

double tt__acc_value(const tt__acc *a, const tt_feature_def *f, int64_t t, int64_t origin) {
  (void)origin;
  const long double scale = ldexpl(1.0L, TT_FX_BITS);
  long double n = (long double)a->n;
  switch (f->agg) {
  case TT_AGG_COUNT:
    return (double)a->n;
  case TT_AGG_SUM:
    return a->n ? (double)((long double)a->sum / scale) : 0.0;
  case TT_AGG_MEAN:
    return a->n ? (double)((long double)a->sum / scale / n) : NAN;
  case TT_AGG_MIN:
    return a->n ? a->min : NAN;
  case TT_AGG_MAX:
    return a->n ? a->max : NAN;
  case TT_AGG_STD: {
    if (!a->n) return NAN;
    long double num = det(a->n, a->sq, a->sum, a->sum);
    if (num < 0) num = 0;
    return (double)(sqrtl(num) / (n * scale));
  }
  case TT_AGG_FIRST:
    return a->n ? a->fx : NAN;
  case TT_AGG_LAST:
    return a->n ? a->lx : NAN;
  case TT_AGG_DELTA:
    return a->n ? a->lx - a->fx : NAN;
  case TT_AGG_SLOPE: {
    if (a->n < 2) return NAN;
    long double den = det(a->n, a->stt, a->st, a->st);
    if (den <= 0) return NAN; /* all events at one time: no trend */
    long double num = det(a->n, a->stx, a->st, a->sum);
    return (double)(num / den / scale * (long double)f->per);
  }
  case TT_AGG_RATE:
    return (double)a->n * (double)f->per / (double)f->window;
  case TT_AGG_TIME_SINCE:
    return a->n ? (double)(t - a->lt) / (double)f->per : NAN;
  default:
    return NAN;
  }
}
