/* Formatting: fixed-point numbers, timestamps, telemetry rows (CSV or JSON
 * lines) and event rows. printf is far too slow for ten million rows of
 * fifteen numbers, so numbers are written digit by digit from a rounded
 * integer; the out-of-range check uses the same rounding, so that what the
 * counts say is what the files hold. */
#include <math.h>
#include <stdint.h>

#include "sim/model.h"

/* name, decimals, schema min, schema max, in-range spike, out-of-range spike.
 * The ranges are those of src/project/example_schema.yaml (tests/test_sim.c
 * checks the files against that file). Spikes are typical sensor faults: an
 * open circuit reading -40 °C, a 0 from a dead sensor, all-ones raw values
 * (16383 rpm, 655.35 km/h, 215 °C). */
const tt__signal_def tt__signals[TT__NSIG] = {
    {"odometer_km", 1, 0, 5000000, 0, 16777215},
    {"engine_rpm", 0, 0, 8000, 7900, 16383},
    {"speed_kmh", 1, 0, 250, 249, 655.35},
    {"coolant_temp_c", 1, -50, 150, -40, 215},
    {"oil_pressure_kpa", 0, 0, 1000, 0, 2550},
    {"battery_voltage_v", 2, 0, 32, 0, 65.5},
    {"cranking_voltage_v", 2, 0, 32, 0, 65.5},
    {"brake_pad_mm", 2, 0, 30, 30, 255},
    {"tyre_pressure_fl_kpa", 1, 0, 1000, 0, 2550},
    {"tyre_pressure_fr_kpa", 1, 0, 1000, 0, 2550},
    {"tyre_pressure_rl_kpa", 1, 0, 1000, 0, 2550},
    {"tyre_pressure_rr_kpa", 1, 0, 1000, 0, 2550},
    {"ambient_temp_c", 1, -60, 60, -40, 127},
    {"fuel_level_pct", 1, 0, 100, 0, 127.5},
};

static const double scale10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

static int64_t round_fixed(double x, int decimals) {
  double s = x * scale10[decimals];
  if (!(s > -9e18 && s < 9e18)) s = 0; /* NaN or absurd: never reached by the physics */
  return (int64_t)(s < 0 ? s - 0.5 : s + 0.5);
}

static void put_fixed(tt__buf *b, int64_t n, int decimals) {
  char tmp[32], *end = tmp + sizeof tmp, *p = end;
  uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
  for (int i = 0; i < decimals; i++) {
    *--p = (char)('0' + u % 10);
    u /= 10;
  }
  if (decimals) *--p = '.';
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (n < 0) *--p = '-';
  tt__buf_append(b, p, (size_t)(end - p));
}

void tt__fmt_fixed(tt__buf *b, double x, int decimals) {
  put_fixed(b, round_fixed(x, decimals), decimals);
}

static void two(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
}

void tt__fmt_time(tt__buf *b, tt_time t) {
  /* The date part changes once a day: keep the last one per thread. */
  static _Thread_local int64_t cached_day = INT64_MIN;
  static _Thread_local char date[16];
  int64_t day = tt_time_day(t);
  if (day != cached_day) {
    tt_time_format_date(t, date, sizeof date);
    cached_day = day;
  }
  int64_t secs = (t - day * TT_USEC_PER_DAY) / TT_USEC_PER_SEC;
  char s[32];
  size_t n = strlen(date);
  memcpy(s, date, n);
  s[n] = 'T';
  two(s + n + 1, (int)(secs / 3600));
  s[n + 3] = ':';
  two(s + n + 4, (int)(secs / 60 % 60));
  s[n + 6] = ':';
  two(s + n + 7, (int)(secs % 60));
  s[n + 9] = 'Z';
  tt__buf_append(b, s, n + 10);
}

int tt__row_out_of_range(const tt__row *row) {
  for (int i = 0; i < TT__NSIG; i++) {
    if (row->null_mask & (1u << i)) continue;
    const tt__signal_def *s = &tt__signals[i];
    double x = (double)round_fixed(row->v[i], s->decimals) / scale10[s->decimals];
    if (x < s->min || x > s->max) return 1;
  }
  return 0;
}

void tt__fmt_telemetry_header(tt__buf *b) {
  tt__buf_puts(b, "vehicle_id,ts,odometer_km,engine_running");
  for (int i = 1; i < TT__NSIG; i++) {
    tt__buf_putc(b, ',');
    tt__buf_puts(b, tt__signals[i].name);
  }
  tt__buf_putc(b, '\n');
}

/* JSON keys with their punctuation, precomputed: ,"engine_rpm": */
static void json_key(tt__buf *b, const char *name) {
  tt__buf_append(b, ",\"", 2);
  tt__buf_puts(b, name);
  tt__buf_append(b, "\":", 2);
}

static void put_value(tt__buf *b, tt_sim_format f, const tt__row *row, int i) {
  if (row->null_mask & (1u << i)) {
    if (f == TT_SIM_JSONL) tt__buf_append(b, "null", 4);
    return;
  }
  tt__fmt_fixed(b, row->v[i], tt__signals[i].decimals);
}

void tt__fmt_row(tt__buf *b, tt_sim_format f, const char *vehicle_id, const tt__row *row) {
  /* reserve once for the whole line so the appends below rarely grow */
  if (tt__buf_reserve(b, 512)) return;
  const char *engine = row->engine_running ? "true" : "false";
  if (f == TT_SIM_CSV) {
    tt__buf_puts(b, vehicle_id);
    tt__buf_putc(b, ',');
    tt__fmt_time(b, row->ts);
    tt__buf_putc(b, ',');
    put_value(b, f, row, TT__SIG_ODOMETER);
    tt__buf_putc(b, ',');
    tt__buf_puts(b, engine);
    for (int i = 1; i < TT__NSIG; i++) {
      tt__buf_putc(b, ',');
      put_value(b, f, row, i);
    }
  } else {
    tt__buf_append(b, "{\"vehicle_id\":\"", 15);
    tt__buf_puts(b, vehicle_id); /* "V" and digits: nothing to escape */
    tt__buf_append(b, "\",\"ts\":\"", 8);
    tt__fmt_time(b, row->ts);
    tt__buf_putc(b, '"');
    json_key(b, tt__signals[TT__SIG_ODOMETER].name);
    put_value(b, f, row, TT__SIG_ODOMETER);
    json_key(b, "engine_running");
    tt__buf_puts(b, engine);
    for (int i = 1; i < TT__NSIG; i++) {
      json_key(b, tt__signals[i].name);
      put_value(b, f, row, i);
    }
    tt__buf_putc(b, '}');
  }
  tt__buf_putc(b, '\n');
}

/* Events: strings here are our own fixed codes and names, never user data,
 * so they need no CSV quoting or JSON escaping. */

static void event_begin(tt__buf *b, const tt__vehicle *v, tt_time t) {
  if (v->format == TT_SIM_CSV) {
    tt__buf_puts(b, v->id);
    tt__buf_putc(b, ',');
    tt__fmt_time(b, t);
  } else {
    tt__buf_append(b, "{\"vehicle_id\":\"", 15);
    tt__buf_puts(b, v->id);
    tt__buf_append(b, "\",\"ts\":\"", 8);
    tt__fmt_time(b, t);
    tt__buf_putc(b, '"');
  }
}

static void event_string(tt__buf *b, tt_sim_format f, const char *key, const char *value) {
  if (f == TT_SIM_CSV) {
    tt__buf_putc(b, ',');
    tt__buf_puts(b, value);
  } else {
    json_key(b, key);
    tt__buf_putc(b, '"');
    tt__buf_puts(b, value);
    tt__buf_putc(b, '"');
  }
}

static void event_end(tt__buf *b, tt_sim_format f) {
  if (f == TT_SIM_JSONL) tt__buf_putc(b, '}');
  tt__buf_putc(b, '\n');
}

void tt__event_dtc(tt__vehicle *v, tt_time t, const char *code, int severity) {
  event_begin(&v->dtc, v, t);
  event_string(&v->dtc, v->format, "code", code);
  if (v->format == TT_SIM_JSONL) json_key(&v->dtc, "severity");
  else tt__buf_putc(&v->dtc, ',');
  put_fixed(&v->dtc, severity, 0);
  event_end(&v->dtc, v->format);
  v->counts.dtc++;
}

void tt__event_maintenance(tt__vehicle *v, tt_time t, const char *component, const char *action) {
  event_begin(&v->maintenance, v, t);
  event_string(&v->maintenance, v->format, "component", component);
  event_string(&v->maintenance, v->format, "action", action);
  event_end(&v->maintenance, v->format);
  v->counts.maintenance++;
}

void tt__event_failure(tt__vehicle *v, tt_time t, int component) {
  event_begin(&v->failures, v, t);
  event_string(&v->failures, v->format, "component", tt_sim_component_name(component));
  event_end(&v->failures, v->format);
  v->counts.failures++;
}
