/* Internal: the simulator's vehicle model — specifications (models, fleets,
 * regions), the per-vehicle state, and the functions that advance it.
 * See src/sim/README.md for the physics and every parameter's meaning. */
#ifndef TT_SIM_MODEL_H
#define TT_SIM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "sim/buf.h"
#include "sim/rng.h"
#include "telltale/sim.h"
#include "telltale/time.h"

/* Telemetry signals in the column order of the example schema (after
 * vehicle_id, ts; engine_running is kept apart because it is a bool and
 * sits between odometer_km and engine_rpm). */
enum {
  TT__SIG_ODOMETER,
  TT__SIG_RPM,
  TT__SIG_SPEED,
  TT__SIG_COOLANT,
  TT__SIG_OIL,
  TT__SIG_BATTERY,
  TT__SIG_CRANKING,
  TT__SIG_BRAKE_PAD,
  TT__SIG_TYRE_FL,
  TT__SIG_TYRE_FR,
  TT__SIG_TYRE_RL,
  TT__SIG_TYRE_RR,
  TT__SIG_AMBIENT,
  TT__SIG_FUEL,
  TT__NSIG
};

typedef struct tt__signal_def {
  const char *name;
  int decimals;    /* fixed-point digits written */
  double min, max; /* the example schema's valid range (inclusive) */
  /* spikes: an implausible value still inside [min,max], and one outside */
  double spike_in, spike_out;
} tt__signal_def;

extern const tt__signal_def tt__signals[TT__NSIG];

/* One telemetry record before formatting. */
typedef struct tt__row {
  tt_time ts;
  double v[TT__NSIG];
  int64_t q[TT__NSIG]; /* v rounded to the signal's decimals, times 10^decimals */
  uint32_t null_mask;  /* bit i: signal i is empty (sensor dropout) */
  int engine_running;
} tt__row;

typedef struct tt__model_spec {
  const char *name;
  const char *engine_types[2]; /* drawn 50/50 (same twice for one type) */
  double vmax_kmh;
  double cruise_kmh[3];     /* urban, rural, highway */
  double road_mix[3];       /* probability of each road type per trip segment */
  double stops_per_hour[3]; /* traffic/delivery stops by road type */
  double trip_min;          /* mean trip length, minutes */
  double park_min;          /* mean stop between trips within a shift, minutes */
  double idle_rpm;
  double rpm_scale; /* diesel trucks rev lower */
  double mass;      /* brake wear factor */
  double l_per_100km, idle_l_per_h, tank_l;
  double tyre_kpa;   /* cold set pressure at 20 °C */
  double service_km; /* scheduled service interval */
} tt__model_spec;

typedef struct tt__region_spec {
  const char *name;
  double utc_offset_h;
  double mean_c, seasonal_c, diurnal_c; /* seasonal < 0: southern hemisphere */
} tt__region_spec;

typedef struct tt__fleet_spec {
  const char *name;
  int region;
  double model_mix[5];
  double shift_start_h, shift_len_h; /* local time */
  int weekends;                      /* works on Saturday and Sunday */
  double respond_p;                  /* chance a warning DTC is acted on */
} tt__fleet_spec;

extern const tt__model_spec tt__models[5];
extern const tt__region_spec tt__regions[5];
extern const tt__fleet_spec tt__fleets[5];
#define TT__NMODELS 5
#define TT__NREGIONS 5
#define TT__NFLEETS 5

enum { TT__PARKED, TT__IDLE, TT__DRIVING };
enum { TT__ROAD_URBAN, TT__ROAD_RURAL, TT__ROAD_HIGHWAY };

/* Why the vehicle is off the road until down_until. */
enum { TT__DOWN_NONE, TT__DOWN_REPAIR, TT__DOWN_SERVICE };

typedef struct tt__vehicle {
  int64_t index;
  char id[24];
  tt__rng rng;
  tt_sim_format format;

  /* attributes */
  int model, fleet, region, build_year, age_years;
  const char *engine_type;
  const tt__model_spec *spec;
  double aggressiveness; /* driver: brake wear and acceleration */
  double thermostat_c;
  double shift_start_h, shift_len_h;

  /* driving state */
  int mode, next_mode, road, running;
  double mode_left_s, trip_left_s, road_left_s;
  double speed, target_speed, rpm, accel;
  double coolant, fuel_pct, odometer_km, weather_c, tyre_rise_c;
  double parked_s; /* since engine off */
  double crank_v;  /* lowest voltage of the last start */
  double ambient_c;

  /* components */
  double pad_mm, pad_fail_mm;
  double batt_age_v;          /* healthy cranking offset from age, volts */
  double batt_deg, batt_rate; /* degradation 0..1 and its growth per second */
  double cool_deg, cool_rate;
  double tyre_set[4], tyre_loss[4], tyre_leak[4]; /* kPa, kPa, kPa/s */
  double km_since_service, days_since_service, batt_fail_v;
  int down, down_component, fail_repair;
  tt_time down_until;
  tt_time pad_warned_day, tyre_warned_day[4], pending_fix_at[TT_SIM_NCOMPONENTS];
  tt_time last_p0217, last_p0562;
  int service_due;
  int fix_decided[TT_SIM_NCOMPONENTS]; /* the fleet has decided whether to act on a warning */

  /* imperfections */
  tt_time silent_from, silent_until;
  int was_silent;
  tt_time dropout_until[TT__NSIG];
  int64_t last_parked_slot;

  /* output held by the vehicle: rows made late (written next day), events */
  tt__buf late;
  int64_t late_rows;
  tt__buf dtc, maintenance, failures;
  tt_sim_counts counts; /* this vehicle's share */
} tt__vehicle;

/* Everything a day's simulation of one vehicle needs. */
typedef struct tt__sim_ctx {
  const tt_sim_options *opt;
  int64_t interval_s;
  int last_day; /* no rows are made late on the last day */
} tt__sim_ctx;

/* fleet.c: draw a vehicle's attributes and initial state. */
void tt__vehicle_init(tt__vehicle *v, const tt_sim_options *o, int64_t index);
void tt__vehicle_free(tt__vehicle *v);

/* climate.c: ambient temperature (°C) of region at UTC time t, before the
 * vehicle's own weather noise. */
double tt__climate_ambient(const tt__region_spec *r, tt_time t);
/* Local hour of day (0..24) in region. */
double tt__climate_local_hour(const tt__region_spec *r, tt_time t);
/* Local day of week, 0 = Monday. */
int tt__climate_local_weekday(const tt__region_spec *r, tt_time t);

/* physics.c: advance the vehicle by dt seconds to time t. */
void tt__vehicle_step(tt__vehicle *v, tt_time t, double dt);
/* The row at time t after tt__vehicle_step, with measurement noise and
 * without imperfections. Only called for rows that are written, so parked
 * ticks that are not reported cost no noise draws. */
void tt__vehicle_row(tt__vehicle *v, tt_time t, tt__row *row);

/* components.c: degradation, warnings, failures, repairs and services. */
void tt__components_init(tt__vehicle *v);
/* Advance degradation by dt; raises DTCs; may fail a component (then the
 * vehicle is down) or finish a repair. Called before the physics step. */
void tt__components_step(tt__vehicle *v, tt_time t, double dt);
/* An engine start at t: returns the cranking voltage, or a value < 0 when the
 * battery fails to start the engine (a failure is recorded). */
double tt__components_crank(tt__vehicle *v, tt_time t);
/* Brake pad wear over km driven on the current road type. */
void tt__components_brake(tt__vehicle *v, double km);
/* Called when the engine runs hot enough to boil over: fails cooling. */
void tt__components_overheat(tt__vehicle *v, tt_time t);
/* Events, formatted into the vehicle's buffers in v->format. */
void tt__event_dtc(tt__vehicle *v, tt_time t, const char *code, int severity);
void tt__event_maintenance(tt__vehicle *v, tt_time t, const char *component, const char *action);
void tt__event_failure(tt__vehicle *v, tt_time t, int component);

/* imperfect.c: decide a row's imperfections; returns how many times the row
 * is written now (0: silent or made late, 1, or 2 for a duplicate). *late is
 * set when the row goes to the next day's file instead. Whether a spike left
 * the schema's range is judged from the written values (tt__row_out_of_range). */
int tt__imperfect_apply(tt__vehicle *v, const tt__sim_ctx *c, tt__row *row, int *late);
/* Start of a day: may start a silent period. */
void tt__imperfect_day(tt__vehicle *v, tt_time day_start);

/* format.c */
/* Append x with `decimals` fixed digits ("-12.30"); never "-0". */
void tt__fmt_fixed(tt__buf *b, double x, int decimals);
/* Append "2026-01-01T00:01:00Z" (whole seconds). */
void tt__fmt_time(tt__buf *b, tt_time t);
/* Append one telemetry line (CSV or JSON) ending in '\n', from row->q. */
void tt__fmt_row(tt__buf *b, tt_sim_format f, const char *vehicle_id, const tt__row *row);
/* CSV header line of the telemetry table. */
void tt__fmt_telemetry_header(tt__buf *b);
/* Round v into q: what is written and what the range check sees. */
void tt__row_quantize(tt__row *row);
/* 1 if any non-null value, as written (q), is outside its range. */
int tt__row_out_of_range(const tt__row *row);

/* day.c: simulate vehicle v over [day_start, day_start + 1 day), append
 * its telemetry lines to out and add their number to *rows. Returns 0, or
 * -1 when a buffer could not grow (out of memory). */
int tt__vehicle_day(tt__vehicle *v, const tt__sim_ctx *c, tt_time day_start, tt__buf *out,
                    int64_t *rows);

#endif
