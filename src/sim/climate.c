/* Ambient temperature: a region's annual mean, a seasonal cosine peaking in
 * mid-July (mid-January in the southern hemisphere, by a negative
 * amplitude), a diurnal cosine peaking at 15:00 local time. Each vehicle adds
 * its own slowly varying weather (physics.c). */
#include <math.h>

#include "sim/model.h"

static const double two_pi = 6.283185307179586;

double tt__climate_local_hour(const tt__region_spec *r, tt_time t) {
  double s = (double)(t / TT_USEC_PER_SEC) + r->utc_offset_h * 3600.0;
  double h = fmod(s, 86400.0) / 3600.0;
  return h < 0 ? h + 24 : h;
}

int tt__climate_local_weekday(const tt__region_spec *r, tt_time t) {
  tt_time local = t + (tt_time)(r->utc_offset_h * 3600) * TT_USEC_PER_SEC;
  int64_t day = tt_time_day(local);
  /* 1970-01-01 was a Thursday (3 with Monday = 0) */
  int64_t wd = (day + 3) % 7;
  return (int)(wd < 0 ? wd + 7 : wd);
}

double tt__climate_ambient(const tt__region_spec *r, tt_time t) {
  double day = (double)t / (double)TT_USEC_PER_DAY; /* days since 1970 */
  /* day of year of 1970-based days, good enough for a seasonal cycle */
  double doy = fmod(day, 365.2425);
  double seasonal = r->seasonal_c * cos(two_pi * (doy - 196.0) / 365.2425);
  double diurnal = r->diurnal_c * cos(two_pi * (tt__climate_local_hour(r, t) - 15.0) / 24.0);
  return r->mean_c + seasonal + diurnal;
}
