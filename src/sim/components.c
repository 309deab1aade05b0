/* Components: how battery, cooling system, brake pads and tyres degrade,
 * warn (DTCs), fail (the labels), and are repaired or serviced.
 *
 * Battery and cooling fail through a hidden degradation d that starts at a
 * random onset (a hazard per day) and grows linearly from 0 to 1 over a
 * lead time drawn per case; the signals move with d (cranking voltage sags,
 * coolant creeps up under load) long before the failure. Brake pads wear
 * with braking and fail below a per-set thickness; tyres lose pressure
 * slowly, or fast after a puncture. A warning DTC is acted on with the
 * fleet's response probability, so some degradations end in a repair and
 * no failure, as in a real fleet. */
#include <math.h>

#include "sim/model.h"

/* Onset hazards per vehicle-day (before age and climate factors). */
#define BATTERY_ONSET_PER_DAY 0.0012
#define COOLING_ONSET_PER_DAY 0.0010
#define PUNCTURE_PER_TYRE_DAY 0.00025
#define NOISE_DTC_PER_DAY 0.03 /* DTCs that predict nothing */

/* Brake pad wear: mm per km of driving, and per stop from cruise speed per
 * unit of energy ((cruise/100 km/h)^2), times the model's mass and the
 * driver. About 0.15 mm per 1000 km for a van, 0.4 for a city bus. */
#define PAD_WEAR_PER_KM 0.00004
#define PAD_WEAR_PER_STOP 0.0012
#define PAD_WARN_MM 3.0
#define PAD_NEW_MM 12.0
#define TYRE_WARN 0.80 /* of set pressure, cold */
#define TYRE_FAIL 0.60
#define NATURAL_LEAK_KPA_DAY 0.3

static const char *const component_names[TT_SIM_NCOMPONENTS] = {"battery", "cooling", "brakes",
                                                                "tyres"};

const char *tt_sim_component_name(int c) {
  return c >= 0 && c < TT_SIM_NCOMPONENTS ? component_names[c] : NULL;
}

static int64_t day_of(tt_time t) { return tt_time_day(t); }

static void new_pads(tt__vehicle *v, double mm) {
  v->pad_mm = mm;
  v->pad_fail_mm = tt__rng_range(&v->rng, 1.0, 1.8);
  v->pad_warned_day = -1;
}

static void new_battery(tt__vehicle *v) {
  v->batt_age_v = tt__rng_range(&v->rng, 0, 0.2);
  v->batt_deg = 0;
  v->batt_rate = 0;
}

static void start_battery_fault(tt__vehicle *v) {
  v->batt_rate = 1.0 / (tt__rng_range(&v->rng, 5, 30) * 86400);
  v->batt_fail_v = tt__rng_range(&v->rng, 6.9, 7.6);
}

static void start_cooling_fault(tt__vehicle *v) {
  v->cool_rate = 1.0 / (tt__rng_range(&v->rng, 7, 40) * 86400);
}

static double natural_leak(void) { return NATURAL_LEAK_KPA_DAY / 86400; }

void tt__components_init(tt__vehicle *v) {
  tt__rng *r = &v->rng;
  /* pads part-way through their life; a few near the limit already */
  new_pads(v, PAD_NEW_MM - tt__rng_range(r, 0, 8.0));
  /* the battery is as old as the vehicle, up to its fourth year */
  v->batt_age_v = 0.08 * fmin(v->age_years, 4) + tt__rng_range(r, 0, 0.3);
  v->batt_fail_v = 7.2;
  /* some faults are already developing when the simulation starts */
  if (tt__rng_chance(r, 0.04)) {
    start_battery_fault(v);
    v->batt_deg = tt__rng_range(r, 0, 0.5);
  }
  if (tt__rng_chance(r, 0.02)) {
    start_cooling_fault(v);
    v->cool_deg = tt__rng_range(r, 0, 0.5);
  }
  for (int i = 0; i < 4; i++) {
    v->tyre_set[i] = v->spec->tyre_kpa * tt__rng_range(r, 0.96, 1.03);
    v->tyre_loss[i] = tt__rng_range(r, 0, 0.05) * v->tyre_set[i];
    v->tyre_leak[i] = natural_leak();
    v->tyre_warned_day[i] = -1;
  }
  v->km_since_service = tt__rng_range(r, 0, v->spec->service_km);
  v->days_since_service = tt__rng_range(r, 0, 365);
  v->last_p0217 = v->last_p0562 = INT64_MIN / 2;
  v->crank_v = 10.5 - v->batt_age_v - (v->engine_type[0] == 'd' ? 0.3 : 0); /* as if started yesterday */
}

/* Take the vehicle off the road until `until`; the repair or service is
 * recorded when it ends (finish_down). */
static void go_down(tt__vehicle *v, int why, int component, tt_time until) {
  v->down = why;
  v->down_component = component;
  v->down_until = until;
  if (v->mode != TT__PARKED) {
    v->mode = TT__PARKED;
    v->parked_s = 0;
  }
  v->speed = v->target_speed = 0;
}

static void fail(tt__vehicle *v, tt_time t, int c) {
  static const double repair_h[TT_SIM_NCOMPONENTS][2] = {{3, 30}, {24, 72}, {12, 48}, {2, 10}};
  tt__event_failure(v, t, c);
  v->counts.failures_by_component[c]++;
  v->pending_fix_at[c] = 0;
  double h = tt__rng_range(&v->rng, repair_h[c][0], repair_h[c][1]);
  go_down(v, TT__DOWN_REPAIR, c, t + (tt_time)(h * 3600) * TT_USEC_PER_SEC);
  v->down_component = c;
  v->fail_repair = 1;
}

/* Fix component c (after a failure or on a warning) and record it. */
static void repair(tt__vehicle *v, tt_time t, int c, int after_failure) {
  tt__rng *r = &v->rng;
  v->fix_decided[c] = 0;
  v->pending_fix_at[c] = 0;
  switch (c) {
  case TT_SIM_BATTERY:
    new_battery(v);
    tt__event_maintenance(v, t, "battery", "replace");
    break;
  case TT_SIM_COOLING:
    v->cool_deg = 0;
    v->cool_rate = 0;
    tt__event_maintenance(v, t, "cooling", after_failure ? "replace radiator and pump" : "repair");
    break;
  case TT_SIM_BRAKES:
    new_pads(v, tt__rng_range(r, 11, 12.5));
    tt__event_maintenance(v, t, "brakes",
                          after_failure ? "replace pads and discs" : "replace pads");
    break;
  case TT_SIM_TYRES:
    for (int i = 0; i < 4; i++)
      if (v->tyre_leak[i] > natural_leak() || v->tyre_loss[i] > 0.1 * v->tyre_set[i]) {
        v->tyre_leak[i] = natural_leak();
        v->tyre_loss[i] = 0;
      }
    tt__event_maintenance(v, t, "tyres", after_failure ? "replace tyre" : "repair puncture");
    break;
  }
}

/* Scheduled service: oil and filters, and whatever the inspection finds. */
static void service(tt__vehicle *v, tt_time t) {
  tt__rng *r = &v->rng;
  tt__event_maintenance(v, t, "engine", "service");
  v->counts.scheduled_services++;
  if (v->pad_mm < 5.0) repair(v, t, TT_SIM_BRAKES, 0);
  int leaking = 0;
  for (int i = 0; i < 4; i++)
    leaking |= v->tyre_leak[i] > natural_leak();
  if (leaking)
    repair(v, t, TT_SIM_TYRES, 0);
  else {
    for (int i = 0; i < 4; i++)
      v->tyre_loss[i] = 0;
    tt__event_maintenance(v, t, "tyres", "inflate");
  }
  /* a battery test or a pressure test catches half of the advanced faults */
  if (v->batt_deg > 0.5 && tt__rng_chance(r, 0.5)) repair(v, t, TT_SIM_BATTERY, 0);
  if (v->cool_deg > 0.5 && tt__rng_chance(r, 0.5)) repair(v, t, TT_SIM_COOLING, 0);
  v->km_since_service = 0;
  v->days_since_service = 0;
  v->service_due = 0;
}

/* A warning DTC: the fleet books a workshop visit with its response
 * probability. */
static void warn(tt__vehicle *v, tt_time t, int c, const char *code, int severity, double min_days,
                 double max_days) {
  tt__event_dtc(v, t, code, severity);
  /* the fleet decides once per fault whether it acts: a fleet that ignores
   * a warning keeps ignoring its repetitions until the part is fixed */
  if (v->fix_decided[c]) return;
  v->fix_decided[c] = 1;
  if (!tt__rng_chance(&v->rng, tt__fleets[v->fleet].respond_p)) return;
  double d = tt__rng_range(&v->rng, min_days, max_days);
  v->pending_fix_at[c] = t + (tt_time)(d * 86400) * TT_USEC_PER_SEC;
}

void tt__components_step(tt__vehicle *v, tt_time t, double dt) {
  tt__rng *r = &v->rng;
  double days = dt / 86400;
  int running = v->mode != TT__PARKED;

  if (v->down && t >= v->down_until) {
    if (v->down == TT__DOWN_SERVICE)
      service(v, t);
    else
      repair(v, t, v->down_component, v->fail_repair);
    v->down = TT__DOWN_NONE;
    v->fail_repair = 0;
  }

  /* battery: onset more likely with age and in the cold */
  double age = v->age_years;
  if (v->batt_rate == 0) {
    double cold = v->ambient_c < 0 ? 1.0 - v->ambient_c / 15 : 1.0;
    if (tt__rng_chance(r, BATTERY_ONSET_PER_DAY * (0.5 + age / 8) * cold * days))
      start_battery_fault(v);
  }
  v->batt_deg = fmin(1.3, v->batt_deg + v->batt_rate * dt);

  /* cooling: onset more likely in the heat and for heavy vehicles */
  if (v->cool_rate == 0) {
    double heat = 1 + fmax(0, v->ambient_c - 25) / 10;
    if (tt__rng_chance(r, COOLING_ONSET_PER_DAY * heat * (0.6 + 0.2 * v->spec->mass) * days))
      start_cooling_fault(v);
  }
  v->cool_deg = fmin(1.0, v->cool_deg + v->cool_rate * dt);
  if (running && v->coolant > 108 && t - v->last_p0217 > 4 * TT_USEC_PER_HOUR) {
    v->last_p0217 = t;
    warn(v, t, TT_SIM_COOLING, "P0217", 2, 0.2, 4);
  }

  /* tyres: slow natural loss; a puncture leaks 3–15 kPa a day */
  double tk = (v->ambient_c + 273.15) / 293.15;
  int64_t today = day_of(t);
  for (int i = 0; i < 4; i++) {
    if (v->tyre_leak[i] <= natural_leak() && tt__rng_chance(r, PUNCTURE_PER_TYRE_DAY * days))
      v->tyre_leak[i] = tt__rng_range(r, 3, 15) / 86400;
    v->tyre_loss[i] += v->tyre_leak[i] * dt;
    if (v->tyre_loss[i] > v->tyre_set[i] * tk) v->tyre_loss[i] = v->tyre_set[i] * tk;
    double cold = v->tyre_set[i] * tk - v->tyre_loss[i];
    if (!running || v->down) continue;
    if (cold < TYRE_FAIL * v->tyre_set[i] && v->mode == TT__DRIVING) {
      fail(v, t, TT_SIM_TYRES);
      return;
    }
    if (cold < TYRE_WARN * v->tyre_set[i] && v->tyre_warned_day[i] != today) {
      v->tyre_warned_day[i] = today;
      warn(v, t, TT_SIM_TYRES, "C0750", 1, 0.1, 3);
    }
  }

  /* brakes */
  if (running && !v->down) {
    if (v->pad_mm < v->pad_fail_mm && v->mode == TT__DRIVING) {
      fail(v, t, TT_SIM_BRAKES);
      return;
    }
    if (v->pad_mm < PAD_WARN_MM && v->pad_warned_day != today) {
      v->pad_warned_day = today;
      warn(v, t, TT_SIM_BRAKES, "C1B00", 1, 1, 7);
    }
  }

  /* DTCs that predict nothing, so that "any DTC" is not a label */
  if (running && tt__rng_chance(r, NOISE_DTC_PER_DAY * days * 3)) {
    static const char *const codes[] = {"P0420", "P0300", "U0100", "P0171", "P0442", "B1318"};
    static const int sev[] = {1, 2, 0, 1, 0, 1};
    unsigned k = tt__rng_below(r, 6);
    tt__event_dtc(v, t, codes[k], sev[k]);
  }

  /* scheduled service, and workshop visits booked after a warning: both
   * start when the vehicle is parked at the start of its shift */
  v->days_since_service += days;
  if (v->km_since_service >= v->spec->service_km || v->days_since_service >= 365)
    v->service_due = 1;
  if (v->down || running) return;
  double h = tt__climate_local_hour(&tt__regions[v->region], t);
  int at_depot = h >= v->shift_start_h - 1 && h < v->shift_start_h;
  if (!at_depot) return;
  for (int c = 0; c < TT_SIM_NCOMPONENTS; c++) {
    if (v->pending_fix_at[c] && t >= v->pending_fix_at[c]) {
      v->pending_fix_at[c] = 0;
      double hours = tt__rng_range(r, 1, 4);
      go_down(v, TT__DOWN_REPAIR, c, t + (tt_time)(hours * 3600) * TT_USEC_PER_SEC);
      return;
    }
  }
  if (v->service_due) {
    double hours = tt__rng_range(r, 3, 6);
    go_down(v, TT__DOWN_SERVICE, -1, t + (tt_time)(hours * 3600) * TT_USEC_PER_SEC);
  }
}

double tt__components_crank(tt__vehicle *v, tt_time t) {
  tt__rng *r = &v->rng;
  double amb = v->ambient_c;
  /* a healthy battery dips to ~10.5 V; cold (thicker oil, slower chemistry),
   * age and diesel compression pull it lower; a failing battery sags by up
   * to ~3.6 V, worse in the cold */
  double cv = 10.5 - v->batt_age_v + 0.02 * (fmin(amb, 20) - 20) -
              (v->engine_type[0] == 'd' ? 0.3 : 0) -
              3.6 * pow(fmin(v->batt_deg, 1.3), 1.4) * (1 + fmax(0, 10 - amb) / 40) +
              0.15 * tt__rng_normal(r);
  if (cv < 3) cv = 3;
  if (cv < v->batt_fail_v || v->batt_deg >= 1.2) {
    v->crank_v = cv;
    fail(v, t, TT_SIM_BATTERY);
    return -1;
  }
  if (cv < 8.5 && t - v->last_p0562 > TT_USEC_PER_DAY) {
    v->last_p0562 = t;
    warn(v, t, TT_SIM_BATTERY, "P0562", 1, 0.5, 5);
  }
  return cv;
}

void tt__components_brake(tt__vehicle *v, double km) {
  /* Wear from the braking energy to be expected on this road: stops per km
   * times the kinetic energy shed per stop ((cruise/100)^2), plus a little
   * per km. Computed from the road rather than from the sampled speed so
   * that the pads wear the same at a 1 s and a 300 s interval. */
  const tt__model_spec *s = v->spec;
  double cruise = s->cruise_kmh[v->road];
  double stops_per_km = s->stops_per_hour[v->road] / cruise;
  double energy = (cruise / 100) * (cruise / 100);
  v->pad_mm -= s->mass * v->aggressiveness * km *
               (PAD_WEAR_PER_KM + PAD_WEAR_PER_STOP * stops_per_km * energy);
  if (v->pad_mm < 0) v->pad_mm = 0;
}

void tt__components_overheat(tt__vehicle *v, tt_time t) { fail(v, t, TT_SIM_COOLING); }
