/* Imperfections for monitoring and ingest to find: vehicles that go silent
 * for days, sensors that drop out (empty values for a while), spikes (some
 * outside the schema's range, which ingest dead-letters), rows written twice,
 * and rows written late (in the next day's file, out of time order).
 *
 * Each row gets at most one of spike / duplicate / late, so the counts stay
 * exact: telemetry_out_of_range == spikes_out_of_range. */
#include "sim/model.h"

#define SILENT_PER_VEHICLE_DAY 0.0006
#define DROPOUT_PER_SIGNAL_ROW 0.00004
#define DROPOUT_MEAN_S 1800.0
#define SPIKE_PER_ROW 0.0003
#define SPIKE_OUT_OF_RANGE 0.3 /* fraction of spikes outside the schema range */
#define DUPLICATE_PER_ROW 0.00015
#define LATE_PER_ROW 0.00015

void tt__imperfect_day(tt__vehicle *v, tt_time day_start) {
  if (v->silent_until > day_start) return;
  if (!tt__rng_chance(&v->rng, SILENT_PER_VEHICLE_DAY)) return;
  double from = tt__rng_range(&v->rng, 0, 86400);
  double len = tt__rng_range(&v->rng, 1, 5) * 86400;
  v->silent_from = day_start + (tt_time)from * TT_USEC_PER_SEC;
  v->silent_until = v->silent_from + (tt_time)len * TT_USEC_PER_SEC;
  if (!v->was_silent) v->counts.silent_vehicles++;
  v->was_silent = 1;
}

int tt__imperfect_apply(tt__vehicle *v, const tt__sim_ctx *c, tt__row *row, int *late) {
  tt__rng *r = &v->rng;
  *late = 0;
  if (row->ts >= v->silent_from && row->ts < v->silent_until) return 0;

  /* dropouts: one draw per row decides whether any signal starts one */
  if (tt__rng_chance(r, DROPOUT_PER_SIGNAL_ROW * TT__NSIG)) {
    unsigned i = tt__rng_below(r, TT__NSIG);
    v->dropout_until[i] =
        row->ts + (tt_time)(10 + tt__rng_exp(r, DROPOUT_MEAN_S)) * TT_USEC_PER_SEC;
  }
  for (int i = 0; i < TT__NSIG; i++)
    if (row->ts < v->dropout_until[i]) row->null_mask |= 1u << i;

  double u = tt__rng_uniform(r);
  if (u < SPIKE_PER_ROW) {
    unsigned i = tt__rng_below(r, TT__NSIG);
    row->null_mask &= ~(1u << i);
    int out = tt__rng_chance(r, SPIKE_OUT_OF_RANGE);
    row->v[i] = out ? tt__signals[i].spike_out : tt__signals[i].spike_in;
    v->counts.spikes++;
    if (out) v->counts.spikes_out_of_range++;
    return 1;
  }
  u -= SPIKE_PER_ROW;
  if (u < DUPLICATE_PER_ROW) {
    v->counts.duplicates++;
    return 2;
  }
  u -= DUPLICATE_PER_ROW;
  if (u < LATE_PER_ROW && !c->last_day) {
    v->counts.late++;
    *late = 1;
    return 0;
  }
  return 1;
}
