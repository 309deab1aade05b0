/* The fleet: vehicle models, regions and fleets, and how a vehicle's
 * attributes and initial state are drawn. All figures are round numbers of
 * the right order of magnitude, not any manufacturer's data; README.md
 * explains them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/model.h"

/* name, engine types, vmax, cruise (urban rural highway), road mix, stops/h,
 * trip min, park min, idle rpm, rpm scale, mass, l/100km, idle l/h, tank l,
 * tyre kPa, service km */
// clang-format off
const tt__model_spec tt__models[TT__NMODELS] = {
    {"cargo-van", {"diesel", "petrol"}, 150, {40, 75, 110}, {0.55, 0.30, 0.15}, {25, 4, 0.5},
     30, 20, 780, 1.0, 1.3, 10, 0.9, 75, 350, 30000},
    {"box-truck", {"diesel", "diesel"}, 110, {35, 70, 85}, {0.40, 0.35, 0.25}, {20, 4, 0.5},
     45, 30, 650, 0.75, 2.0, 22, 2.0, 200, 650, 40000},
    {"city-bus", {"diesel", "hybrid"}, 90, {30, 55, 70}, {0.85, 0.15, 0.0}, {40, 8, 1},
     80, 15, 680, 0.8, 2.2, 35, 2.5, 300, 800, 40000},
    {"pickup", {"petrol", "diesel"}, 170, {45, 80, 115}, {0.30, 0.45, 0.25}, {15, 3, 0.5},
     35, 45, 750, 1.0, 1.1, 11, 0.8, 80, 260, 25000},
    {"compact-car", {"petrol", "hybrid"}, 180, {40, 80, 120}, {0.50, 0.30, 0.20}, {20, 3, 0.5},
     25, 40, 800, 1.05, 0.8, 6, 0.6, 45, 240, 20000},
};

/* name, UTC offset, annual mean, seasonal amplitude (negative: southern
 * hemisphere, warmest in January), diurnal amplitude — all °C */
const tt__region_spec tt__regions[TT__NREGIONS] = {
    {"nordic", 1, 5, 11, 4},
    {"central", 1, 10, 9, 5},
    {"mediterranean", 2, 17, 8, 5},
    {"desert", 3, 27, 9, 8},
    {"southern", 10, 17, -6, 5},
};

/* name, region, model mix, shift start and length (local hours), works
 * weekends, chance a warning DTC is acted on before the part fails */
const tt__fleet_spec tt__fleets[TT__NFLEETS] = {
    {"nordic-freight", 0, {0.3, 0.5, 0, 0.2, 0}, 6, 10, 0, 0.5},
    {"metro-transit", 1, {0, 0, 1, 0, 0}, 5, 16, 1, 0.7},
    {"coastal-delivery", 2, {0.7, 0.1, 0, 0, 0.2}, 7, 9, 0, 0.4},
    {"desert-haulage", 3, {0.1, 0.6, 0, 0.3, 0}, 5, 11, 0, 0.3},
    {"southern-services", 4, {0.2, 0, 0, 0.4, 0.4}, 8, 8, 0, 0.6},
};
// clang-format on

static int pick(tt__rng *r, const double *p, int n) {
  double u = tt__rng_uniform(r), acc = 0;
  for (int i = 0; i < n; i++) {
    acc += p[i];
    if (u < acc) return i;
  }
  for (int i = n - 1; i > 0; i--)
    if (p[i] > 0) return i;
  return 0;
}

void tt__vehicle_init(tt__vehicle *v, const tt_sim_options *o, int64_t index) {
  memset(v, 0, sizeof *v);
  v->index = index;
  snprintf(v->id, sizeof v->id, "V%05lld", (long long)(index + 1));
  v->format = o->format;
  tt__rng_seed(&v->rng, o->seed, (uint64_t)index);
  tt__rng *r = &v->rng;

  v->fleet = (int)tt__rng_below(r, TT__NFLEETS);
  const tt__fleet_spec *f = &tt__fleets[v->fleet];
  v->region = f->region;
  v->model = pick(r, f->model_mix, TT__NMODELS);
  v->spec = &tt__models[v->model];
  v->engine_type = v->spec->engine_types[tt__rng_below(r, 2)];
  int64_t year;
  unsigned m, d;
  tt_time_to_civil(tt_time_day(o->start), &year, &m, &d);
  int age = (int)fmin(15, floor(tt__rng_exp(r, 4)));
  v->build_year = (int)year - age;
  v->age_years = age;
  v->aggressiveness = tt__rng_range(r, 0.7, 1.4);
  v->thermostat_c = tt__rng_range(r, 85, 97);
  v->shift_start_h = f->shift_start_h + 0.5 * tt__rng_normal(r);
  v->shift_len_h = f->shift_len_h + 0.5 * tt__rng_normal(r);
  if (v->shift_start_h < 0.5) v->shift_start_h = 0.5;
  if (v->shift_start_h + v->shift_len_h > 23.5) v->shift_len_h = 23.5 - v->shift_start_h;

  v->mode = TT__PARKED;
  v->parked_s = 8 * 3600;
  v->odometer_km = age * tt__rng_range(r, 15000, 45000) * (0.7 + 0.3 * v->spec->mass) +
                   tt__rng_range(r, 100, 5000);
  v->fuel_pct = tt__rng_range(r, 30, 100);
  v->weather_c = 3 * tt__rng_normal(r);
  v->ambient_c = tt__climate_ambient(&tt__regions[v->region], o->start) + v->weather_c;
  v->coolant = v->ambient_c;
  v->last_parked_slot = INT64_MIN; /* no parked row written yet */
  tt__components_init(v);
}

void tt__vehicle_free(tt__vehicle *v) {
  tt__buf_free(&v->late);
  tt__buf_free(&v->dtc);
  tt__buf_free(&v->maintenance);
  tt__buf_free(&v->failures);
}
