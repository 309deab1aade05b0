/* One vehicle, one day: step the model on the sampling grid and write the
 * rows. While the engine runs every tick is written; while parked the
 * telematics unit reports every 15 minutes for two hours after engine off,
 * then hourly (sparse rows with rpm 0 and speed 0), as real units do to
 * save the battery. */
#include "sim/model.h"

#define PARKED_EARLY_S 900 /* cadence in the first two hours after engine off */
#define PARKED_LATE_S 3600 /* cadence after that */
#define PARKED_EARLY_FOR_S 7200

static void count_row(tt__vehicle *v, const tt__row *row, int times) {
  v->counts.telemetry += times;
  if (tt__row_out_of_range(row))
    v->counts.telemetry_out_of_range += times;
  else
    v->counts.telemetry_valid += times;
  v->counts.dropout_values += (int64_t)times * __builtin_popcount(row->null_mask);
}

int tt__vehicle_day(tt__vehicle *v, const tt__sim_ctx *c, tt_time day_start, tt__buf *out,
                    int64_t *rows) {
  const tt_sim_options *o = c->opt;
  tt_time interval = c->interval_s * TT_USEC_PER_SEC;
  tt_time day_end = day_start + TT_USEC_PER_DAY;
  /* the global grid start + k*interval, from the first tick of this day */
  int64_t k = (day_start - o->start + interval - 1) / interval;
  double dt = (double)c->interval_s;
  int64_t written = 0; /* rows of this day, here or held back for tomorrow */
  int silent_today = 0;

  /* rows held back yesterday come first: out of time order in this file */
  if (v->late.len) {
    tt__buf_append(out, v->late.p, v->late.len);
    tt__buf_reset(&v->late);
    *rows += v->late_rows;
    v->late_rows = 0;
  }
  tt__imperfect_day(v, day_start);

  for (tt_time t = o->start + k * interval; t < day_end; t += interval) {
    tt__row row;
    tt__components_step(v, t, dt);
    tt__vehicle_step(v, t, dt);
    if (!v->running) {
      int64_t cadence =
          (v->parked_s < PARKED_EARLY_FOR_S ? PARKED_EARLY_S : PARKED_LATE_S) * TT_USEC_PER_SEC;
      int64_t slot = (t - o->start) / cadence;
      /* slots of the two cadences are told apart by the key's sign */
      int64_t key = cadence == PARKED_EARLY_S * TT_USEC_PER_SEC ? slot : -slot - 1;
      if (key == v->last_parked_slot) continue;
      v->last_parked_slot = key;
    } else {
      v->last_parked_slot = INT64_MIN;
    }
    tt__vehicle_row(v, t, &row);
    int late;
    int times = tt__imperfect_apply(v, c, &row, &late);
    tt__row_quantize(&row);
    if (late) {
      tt__fmt_row(&v->late, o->format, v->id, &row);
      count_row(v, &row, 1);
      v->late_rows++;
      written++;
      continue;
    }
    if (times == 0) {
      silent_today = 1;
      continue;
    }
    for (int i = 0; i < times; i++)
      tt__fmt_row(out, o->format, v->id, &row);
    count_row(v, &row, times);
    written += times;
    *rows += times;
  }
  if (silent_today && written == 0) v->counts.silent_vehicle_days++;
  return out->failed || v->late.failed || v->dtc.failed || v->maintenance.failed ||
                 v->failures.failed
             ? -1
             : 0;
}
