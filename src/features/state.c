/* Saving and restoring a vehicle's engine state, so that a restarted or
 * rebalanced online process resumes exactly where the last one stopped.
 *
 * Format (host byte order; every supported platform is little-endian):
 *   "TTF1"                       magic and format version
 *   char[64]                     feature-set version (sha256 hex)
 *   i64 latest, u64 folded, u64 dropped, u64 skipped
 *   u32 ninputs, then per input: u32 ntiles, ntiles * tt__tile
 * Only non-empty tiles inside the windows are stored (pruned on fold). */
#include <stdlib.h>
#include <string.h>

#include "features/internal.h"
#include "features/tile.h"

#define HDR (4 + 64 + 8 * 4 + 4)

tt_err tt_fstate_save(const tt_fengine *e, const tt_fstate *st, unsigned char **buf, size_t *len,
                      tt_error *err) {
  size_t n = HDR;
  for (size_t k = 0; k < st->ninputs; k++)
    n += 4 + st->rings[k].n * sizeof(tt__tile);
  unsigned char *p = malloc(n), *q = p;
  if (!p) return tt_error_set(err, TT_NOMEM, "out of memory");
  memcpy(q, "TTF1", 4), q += 4;
  memcpy(q, e->fs->version, 64), q += 64;
  memcpy(q, &st->latest, 8), q += 8;
  memcpy(q, &st->folded, 8), q += 8;
  memcpy(q, &st->dropped, 8), q += 8;
  memcpy(q, &st->skipped, 8), q += 8;
  uint32_t ni = (uint32_t)st->ninputs;
  memcpy(q, &ni, 4), q += 4;
  for (size_t k = 0; k < st->ninputs; k++) {
    uint32_t nt = (uint32_t)st->rings[k].n;
    memcpy(q, &nt, 4), q += 4;
    if (nt) memcpy(q, st->rings[k].t, nt * sizeof(tt__tile));
    q += nt * sizeof(tt__tile);
  }
  *buf = p;
  *len = n;
  return TT_OK;
}

tt_err tt_fstate_load(const tt_fengine *e, tt_fstate *st, const unsigned char *p, size_t len,
                      tt_error *err) {
  if (len < HDR || memcmp(p, "TTF1", 4))
    return tt_error_set(err, TT_PARSE, "not a saved feature state (bad header)");
  if (memcmp(p + 4, e->fs->version, 64))
    return tt_error_set(err, TT_INCOMPATIBLE, "saved state belongs to another feature-set version");
  tt_fstate_reset(st);
  const unsigned char *q = p + 68, *end = p + len;
  memcpy(&st->latest, q, 8), q += 8;
  if (st->latest != INT64_MIN) st->latest_tile = tt__tile_of(st->latest, e->fs->tile);
  memcpy(&st->folded, q, 8), q += 8;
  memcpy(&st->dropped, q, 8), q += 8;
  memcpy(&st->skipped, q, 8), q += 8;
  uint32_t ni;
  memcpy(&ni, q, 4), q += 4;
  if (ni != st->ninputs)
    return tt_error_set(err, TT_PARSE, "saved state has %u inputs, engine %zu", ni, st->ninputs);
  for (size_t k = 0; k < ni; k++) {
    uint32_t nt;
    if ((size_t)(end - q) < 4) goto trunc;
    memcpy(&nt, q, 4), q += 4;
    if ((size_t)(end - q) / sizeof(tt__tile) < nt) goto trunc;
    for (uint32_t i = 0; i < nt; i++) {
      tt__tile t;
      memcpy(&t, q, sizeof t), q += sizeof t;
      tt__tile *dst = tt__ring_get(&st->rings[k], t.idx);
      if (!dst) return tt_error_set(err, TT_NOMEM, "out of memory");
      int64_t idx = dst->idx;
      tt__tile_merge(dst, &t);
      dst->idx = idx;
    }
  }
  if (q != end) goto trunc;
  return TT_OK;
trunc:
  tt_fstate_reset(st);
  return tt_error_set(err, TT_PARSE, "saved feature state is truncated or corrupt");
}
