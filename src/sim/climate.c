/* Ambient temperature: a region's annual mean, a seasonal cosine peaking in
 * mid-July (mid-January in the southern hemisphere, by a negative
 * amplitude), a diurnal cosine peaking at 15:00 local time. Each vehicle adds
 * its own slowly varying weather (physics.c). */
#include <math.h>
#include <stdint.h>

#include "sim/model.h"

static const double two_pi = 6.283185307179586;

static int64_t local_seconds(const tt__region_spec *r, tt_time t) {
  int64_t s = t / TT_USEC_PER_SEC + (int64_t)(r->utc_offset_h * 3600);
  int64_t m = s % 86400;
  return m < 0 ? m + 86400 : m;
}

double tt__climate_local_hour(const tt__region_spec *r, tt_time t) {
  return (double)local_seconds(r, t) / 3600.0;
}

int tt__climate_local_weekday(const tt__region_spec *r, tt_time t) {
  tt_time local = t + (tt_time)(r->utc_offset_h * 3600) * TT_USEC_PER_SEC;
  int64_t day = tt_time_day(local);
  /* 1970-01-01 was a Thursday (3 with Monday = 0) */
  int64_t wd = (day + 3) % 7;
  return (int)(wd < 0 ? wd + 7 : wd);
}

double tt__climate_ambient(const tt__region_spec *r, tt_time t) {
  /* The seasonal term changes once a day; keep it per region and thread. */
  static _Thread_local struct {
    const tt__region_spec *region;
    int64_t day;
    double value;
  } memo[TT__NREGIONS];
  int64_t day = tt_time_day(t);
  int k = (int)(r - tt__regions);
  if (k < 0 || k >= TT__NREGIONS) k = 0;
  if (memo[k].region != r || memo[k].day != day) {
    /* day of year on a 365.2425-day cycle: good enough for a season */
    double doy = fmod((double)day, 365.2425);
    memo[k].region = r;
    memo[k].day = day;
    memo[k].value = r->seasonal_c * cos(two_pi * (doy - 196.0) / 365.2425);
  }
  /* The diurnal cosine from a per-thread table by local minute, linearly
   * interpolated: cos() per tick was a tenth of the run time. */
  static _Thread_local double table[1441];
  static _Thread_local int table_ready;
  if (!table_ready) {
    for (int m = 0; m <= 1440; m++)
      table[m] = cos(two_pi * (m / 60.0 - 15.0) / 24.0);
    table_ready = 1;
  }
  int64_t ls = local_seconds(r, t);
  int64_t m = ls / 60;
  double frac = (double)(ls % 60) / 60.0;
  double diurnal = table[m] + (table[m + 1] - table[m]) * frac;
  return r->mean_c + memo[k].value + r->diurnal_c * diurnal;
}
