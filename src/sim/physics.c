/* Vehicle physics: the trip state machine (parked → idling → driving, with
 * stops) and the signals that follow from it — speed, rpm, coolant warming
 * up and cooling down, oil pressure tied to rpm, battery charging/resting,
 * tyre pressures with temperature, fuel and odometer. Component wear and
 * failures live in components.c; this file only calls into it.
 *
 * Every update is written for an arbitrary step dt (first-order lags with
 * exp(-dt/tau), noise scaled by sqrt(dt)) so that a 1 s and a 60 s interval
 * describe the same vehicle. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim/model.h"

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Fraction of the way a first-order lag with time constant tau moves in dt
 * (also the chance that an event with mean waiting time tau happens in dt).
 * dt is fixed for a run and there are a few dozen distinct tau, so the
 * values are memoised per thread: exp() was a tenth of the run time. */
static double lag(double dt, double tau) {
  static _Thread_local struct { double dt, tau, value; } memo[128];
  uint64_t bits;
  memcpy(&bits, &tau, sizeof bits);
  unsigned h = (unsigned)((bits * UINT64_C(0x9E3779B97F4A7C15)) >> 57);
  if (memo[h].tau == tau && memo[h].dt == dt) return memo[h].value;
  double value = -expm1(-dt / tau);
  memo[h].dt = dt;
  memo[h].tau = tau;
  memo[h].value = value;
  return value;
}

static int pick_road(tt__vehicle *v) {
  double u = tt__rng_uniform(&v->rng), acc = 0;
  for (int i = 0; i < 3; i++) {
    acc += v->spec->road_mix[i];
    if (u < acc) return i;
  }
  return TT__ROAD_URBAN;
}

static int in_shift(const tt__vehicle *v, tt_time t) {
  const tt__region_spec *r = &tt__regions[v->region];
  int wd = tt__climate_local_weekday(r, t);
  if (wd >= 5 && !tt__fleets[v->fleet].weekends) return 0;
  double h = tt__climate_local_hour(r, t);
  return h >= v->shift_start_h && h < v->shift_start_h + v->shift_len_h;
}

static void engine_off(tt__vehicle *v) {
  v->mode = TT__PARKED;
  v->parked_s = 0;
  v->speed = v->target_speed = 0;
  /* refuel at the depot when low (not always: some drivers push on) */
  if (v->fuel_pct < 22 && tt__rng_chance(&v->rng, 0.8))
    v->fuel_pct = tt__rng_range(&v->rng, 90, 100);
}

/* The trip state machine. */
static void step_mode(tt__vehicle *v, tt_time t, double dt) {
  tt__rng *r = &v->rng;
  const tt__model_spec *s = v->spec;
  switch (v->mode) {
  case TT__PARKED: {
    v->parked_s += dt;
    if (v->down) return;
    /* Hazard of starting a trip: a working vehicle waits park_min between
     * trips; outside the shift it is used rarely, at night almost never. */
    double rate;
    if (in_shift(v, t))
      rate = 1.0 / (s->park_min * 60);
    else {
      double h = tt__climate_local_hour(&tt__regions[v->region], t);
      rate = (h < 5 || h >= 22) ? 1.0 / (5 * 86400.0) : 1.0 / (1.5 * 86400.0);
    }
    if (!tt__rng_chance(r, lag(dt, 1.0 / rate))) return;
    double cv = tt__components_crank(v, t);
    if (cv < 0) return; /* the battery failed; components.c took the vehicle down */
    v->crank_v = cv;
    v->mode = TT__IDLE;
    v->next_mode = TT__DRIVING;
    v->mode_left_s = tt__rng_range(r, 30, 150);
    v->trip_left_s = clamp(tt__rng_exp(r, s->trip_min * 60), 300, 4 * 3600);
    v->road = pick_road(v);
    v->road_left_s = tt__rng_exp(r, 900);
    v->target_speed = s->cruise_kmh[v->road];
    return;
  }
  case TT__IDLE:
    v->mode_left_s -= dt;
    if (v->mode_left_s > 0) return;
    if (v->next_mode == TT__DRIVING)
      v->mode = TT__DRIVING;
    else
      engine_off(v);
    return;
  case TT__DRIVING:
    v->trip_left_s -= dt;
    v->road_left_s -= dt;
    if (v->trip_left_s <= 0) {
      v->mode = TT__IDLE;
      v->next_mode = TT__PARKED;
      v->mode_left_s = tt__rng_range(r, 20, 120);
      return;
    }
    if (tt__rng_chance(r, lag(dt, 3600.0 / (s->stops_per_hour[v->road] + 1e-9)))) {
      v->mode = TT__IDLE;
      v->next_mode = TT__DRIVING;
      v->mode_left_s = 10 + tt__rng_exp(r, 40);
      return;
    }
    if (v->road_left_s <= 0) {
      v->road = pick_road(v);
      v->road_left_s = tt__rng_exp(r, 900);
    }
    return;
  }
}

static double gear_rpm(const tt__vehicle *v) {
  /* Speed bands of the gears; within a band rpm climbs from 1100 to 2600. */
  static const double lo[] = {0, 18, 32, 50, 68, 88};
  static const double hi[] = {18, 32, 50, 68, 88, 160};
  int g = 5;
  for (int i = 0; i < 6; i++)
    if (v->speed < hi[i]) {
      g = i;
      break;
    }
  double frac = clamp((v->speed - lo[g]) / (hi[g] - lo[g]), 0, 1);
  double rpm = 1100 + 1500 * frac + 300 * clamp(v->accel, 0, 3);
  return v->spec->rpm_scale * rpm;
}

void tt__vehicle_step(tt__vehicle *v, tt_time t, double dt) {
  tt__rng *r = &v->rng;
  const tt__model_spec *s = v->spec;

  /* weather: an Ornstein–Uhlenbeck deviation, time constant 2 days, sd 3 °C */
  const double wtau = 2 * 86400.0;
  v->weather_c += -v->weather_c * lag(dt, wtau) + 3.0 * sqrt(2 * dt / wtau) * tt__rng_normal(r);
  v->ambient_c = clamp(tt__climate_ambient(&tt__regions[v->region], t) + v->weather_c, -55, 55);

  step_mode(v, t, dt);
  int running = v->mode != TT__PARKED;
  v->running = running;

  /* speed: follows a target that wanders around the road's cruise speed */
  double v0 = v->speed;
  if (v->mode == TT__DRIVING) {
    double cruise = s->cruise_kmh[v->road] * (0.85 + 0.15 * v->aggressiveness);
    v->target_speed += (cruise - v->target_speed) * lag(dt, 300) +
                       4.0 * sqrt(fmin(dt, 600) / 60) * tt__rng_normal(r);
    v->target_speed = clamp(v->target_speed, 5, s->vmax_kmh);
    v->speed += (v->target_speed - v->speed) * lag(dt, 20) +
                3.0 * sqrt(fmin(dt, 60) / 60) * tt__rng_normal(r);
    v->speed = clamp(v->speed, 0, s->vmax_kmh);
  } else {
    v->speed = 0;
  }
  v->accel = (v->speed - v0) / dt; /* km/h per s */
  double km = 0.5 * (v0 + v->speed) * dt / 3600.0;
  v->odometer_km += km;
  v->km_since_service += km;
  tt__components_brake(v, km);

  /* engine speed */
  if (v->mode == TT__DRIVING)
    v->rpm = fmax(s->idle_rpm, gear_rpm(v) + 40 * tt__rng_normal(r));
  else if (running)
    v->rpm = s->idle_rpm + (v->coolant < 40 ? 150 : 0) + 15 * tt__rng_normal(r);
  else
    v->rpm = 0;

  /* coolant: warms towards the thermostat under load; a failing cooling
   * system (cool_deg 0..1) runs hotter the harder the engine works */
  double load = running ? clamp(v->speed / 110 * 0.6 + clamp(v->accel, 0, 3) * 0.1 +
                                    (v->rpm - s->idle_rpm) / 4000 * 0.4,
                                0, 1)
                        : 0;
  if (running) {
    double target = v->thermostat_c + 6 * load + 22 * v->cool_deg * v->cool_deg * (0.3 + load);
    v->coolant += (target - v->coolant) * lag(dt, 300);
    if (v->cool_deg >= 1 && load > 0.3) {
      v->coolant = tt__rng_range(r, 124, 138);
      /* this row still shows the engine running at boiling point; the
       * failure shuts it down, so the next one shows it off */
      tt__components_overheat(v, t);
    }
  } else {
    v->coolant += (v->ambient_c - v->coolant) * lag(dt, 5400);
  }

  /* tyre carcass warms with driving, pressure follows absolute temperature */
  double rise_target = running ? 15 + v->speed / 5 : 0;
  v->tyre_rise_c += (rise_target - v->tyre_rise_c) * lag(dt, running ? 900 : 2700);

  /* fuel */
  if (running) {
    double litres = s->l_per_100km * km / 100 * (0.8 + 0.3 * v->aggressiveness) +
                    (v->mode == TT__IDLE ? s->idle_l_per_h * dt / 3600 : 0);
    v->fuel_pct = fmax(0, v->fuel_pct - litres / s->tank_l * 100);
  }
}

void tt__vehicle_row(tt__vehicle *v, tt_time t, tt__row *row) {
  tt__rng *r = &v->rng;
  const tt__model_spec *s = v->spec;
  int running = v->running;
  row->ts = t;
  row->null_mask = 0;
  row->engine_running = running;
  double *x = row->v;
  x[TT__SIG_ODOMETER] = v->odometer_km;
  x[TT__SIG_RPM] = running ? clamp(v->rpm, 0, 7000) : 0;
  x[TT__SIG_SPEED] = running ? v->speed : 0;
  x[TT__SIG_COOLANT] = clamp(v->coolant + 0.4 * tt__rng_normal(r), -50, 145);
  x[TT__SIG_OIL] = running ? clamp(60 + 0.12 * v->rpm / s->rpm_scale -
                                       0.9 * fmax(0, v->coolant - 92) + 6 * tt__rng_normal(r),
                                   30, 800)
                           : 0;
  if (running) {
    x[TT__SIG_BATTERY] = 14.15 - 0.3 * v->batt_deg + 0.06 * tt__rng_normal(r);
  } else if (v->down && v->fail_repair && v->down_component == TT_SIM_BATTERY) {
    x[TT__SIG_BATTERY] = 11.6 + 0.05 * tt__rng_normal(r);
  } else {
    double rest = 12.7 - 0.2 * v->batt_age_v - 0.5 * v->batt_deg * v->batt_deg -
                  0.03 * fmin(v->parked_s / 86400, 10) + 0.35 * exp(-v->parked_s / 1800) +
                  0.004 * (v->ambient_c - 20);
    x[TT__SIG_BATTERY] = clamp(rest + 0.02 * tt__rng_normal(r), 10.5, 13.3);
  }
  x[TT__SIG_CRANKING] = v->crank_v;
  x[TT__SIG_BRAKE_PAD] = clamp(v->pad_mm, 0, 30);
  double tk = (v->ambient_c + v->tyre_rise_c + 273.15) / 293.15;
  for (int i = 0; i < 4; i++)
    x[TT__SIG_TYRE_FL + i] =
        clamp(v->tyre_set[i] * tk - v->tyre_loss[i] + 1.5 * tt__rng_normal(r), 0, 990);
  x[TT__SIG_AMBIENT] = v->ambient_c + 0.2 * tt__rng_normal(r);
  x[TT__SIG_FUEL] = clamp(v->fuel_pct, 0, 100);
}
