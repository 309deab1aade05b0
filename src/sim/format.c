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
// clang-format off
const tt__signal_def tt__signals[TT__NSIG] = {
    {"odometer_km",          1,   0, 5000000,    0, 16777215},
    {"engine_rpm",           0,   0,    8000, 7900,    16383},
    {"speed_kmh",            1,   0,     250,  249,   655.35},
    {"coolant_temp_c",       1, -50,     150,  -40,      215},
    {"oil_pressure_kpa",     0,   0,    1000,    0,     2550},
    {"battery_voltage_v",    2,   0,      32,    0,     65.5},
    {"cranking_voltage_v",   2,   0,      32,    0,     65.5},
    {"brake_pad_mm",         2,   0,      30,   30,      255},
    {"tyre_pressure_fl_kpa", 1,   0,    1000,    0,     2550},
    {"tyre_pressure_fr_kpa", 1,   0,    1000,    0,     2550},
    {"tyre_pressure_rl_kpa", 1,   0,    1000,    0,     2550},
    {"tyre_pressure_rr_kpa", 1,   0,    1000,    0,     2550},
    {"ambient_temp_c",       1, -60,      60,  -40,      127},
    {"fuel_level_pct",       1,   0,     100,    0,    127.5},
};
// clang-format on

static const double scale10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

static int64_t round_fixed(double x, int decimals) {
  double s = x * scale10[decimals];
  if (!(s > -9e18 && s < 9e18)) s = 0; /* NaN or absurd: never reached by the physics */
  return (int64_t)(s < 0 ? s - 0.5 : s + 0.5);
}

/* Writers into a line being built: each returns the new end. The caller
 * guarantees room (a line is far shorter than LINE_MAX_BYTES). */
#define LINE_MAX_BYTES 1024

static inline char *w_bytes(char *p, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = s[i];
  return p + n;
}

static inline char *w_str(char *p, const char *s) {
  while (*s)
    *p++ = *s++;
  return p;
}

/* n / 10^decimals in fixed point: "-12.30". Digits are counted first and
 * written in place from the end (a copy through a scratch buffer turned
 * into a memmove call per number). */
static char *w_fixed(char *p, int64_t n, int decimals) {
  // clang-format off
  static const uint64_t p10[] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
      10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
      1000000000000ULL, 10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
      10000000000000000ULL, 100000000000000000ULL, 1000000000000000000ULL};
  // clang-format on
  uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
  if (n < 0) *p++ = '-';
  int digits = 1;
  while (digits < 19 && u >= p10[digits])
    digits++;
  if (digits < decimals + 1) digits = decimals + 1; /* 0.05 */
  char *end = p + digits + (decimals ? 1 : 0), *q = end;
  for (int i = 0; i < decimals; i++) {
    *--q = (char)('0' + u % 10);
    u /= 10;
  }
  if (decimals) *--q = '.';
  while (q > p) {
    *--q = (char)('0' + u % 10);
    u /= 10;
  }
  return end;
}

static void two(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
}

static char *w_time(char *p, tt_time t) {
  /* The date part changes once a day: keep the last one per thread. */
  static _Thread_local int64_t cached_day = INT64_MIN;
  static _Thread_local char date[16];
  static _Thread_local size_t date_len;
  int64_t day = tt_time_day(t);
  if (day != cached_day) {
    tt_time_format_date(t, date, sizeof date);
    date_len = strlen(date);
    cached_day = day;
  }
  int64_t secs = (t - day * TT_USEC_PER_DAY) / TT_USEC_PER_SEC;
  if (date_len == 10) {
    memcpy(p, date, 10); /* constant size: inlined */
    p += 10;
  } else {
    p = w_bytes(p, date, date_len);
  }
  p[0] = 'T';
  two(p + 1, (int)(secs / 3600));
  p[3] = ':';
  two(p + 4, (int)(secs / 60 % 60));
  p[6] = ':';
  two(p + 7, (int)(secs % 60));
  p[9] = 'Z';
  return p + 10;
}

void tt__fmt_fixed(tt__buf *b, double x, int decimals) {
  char tmp[40];
  char *e = w_fixed(tmp, round_fixed(x, decimals), decimals);
  tt__buf_append(b, tmp, (size_t)(e - tmp));
}

static void put_fixed(tt__buf *b, int64_t n, int decimals) {
  char tmp[40];
  char *e = w_fixed(tmp, n, decimals);
  tt__buf_append(b, tmp, (size_t)(e - tmp));
}

void tt__fmt_time(tt__buf *b, tt_time t) {
  char tmp[40];
  char *e = w_time(tmp, t);
  tt__buf_append(b, tmp, (size_t)(e - tmp));
}

void tt__row_quantize(tt__row *row) {
  for (int i = 0; i < TT__NSIG; i++)
    row->q[i] = round_fixed(row->v[i], tt__signals[i].decimals);
}

int tt__row_out_of_range(const tt__row *row) {
  for (int i = 0; i < TT__NSIG; i++) {
    if (row->null_mask & (1u << i)) continue;
    const tt__signal_def *s = &tt__signals[i];
    double scale = scale10[s->decimals];
    /* the ranges are whole numbers, so comparing the scaled integers is exact */
    if ((double)row->q[i] < s->min * scale || (double)row->q[i] > s->max * scale) return 1;
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

/* ,"name": */
static char *w_key(char *p, const char *name) {
  p[0] = ',';
  p[1] = '"';
  p = w_str(p + 2, name);
  p[0] = '"';
  p[1] = ':';
  return p + 2;
}

static void json_key(tt__buf *b, const char *name) {
  char tmp[80];
  char *e = w_key(tmp, name);
  tt__buf_append(b, tmp, (size_t)(e - tmp));
}

static char *w_value(char *p, tt_sim_format f, const tt__row *row, int i) {
  if (row->null_mask & (1u << i)) return f == TT_SIM_JSONL ? w_bytes(p, "null", 4) : p;
  return w_fixed(p, row->q[i], tt__signals[i].decimals);
}

void tt__fmt_row(tt__buf *b, tt_sim_format f, const char *vehicle_id, const tt__row *row) {
  if (tt__buf_reserve(b, LINE_MAX_BYTES)) return;
  char *start = b->p + b->len, *p = start;
  const char *engine = row->engine_running ? "true" : "false";
  if (f == TT_SIM_CSV) {
    p = w_str(p, vehicle_id);
    *p++ = ',';
    p = w_time(p, row->ts);
    *p++ = ',';
    p = w_value(p, f, row, TT__SIG_ODOMETER);
    *p++ = ',';
    p = w_str(p, engine);
    for (int i = 1; i < TT__NSIG; i++) {
      *p++ = ',';
      p = w_value(p, f, row, i);
    }
  } else {
    p = w_str(p, "{\"vehicle_id\":\"");
    p = w_str(p, vehicle_id); /* "V" and digits: nothing to escape */
    p = w_str(p, "\",\"ts\":\"");
    p = w_time(p, row->ts);
    *p++ = '"';
    p = w_key(p, tt__signals[TT__SIG_ODOMETER].name);
    p = w_value(p, f, row, TT__SIG_ODOMETER);
    p = w_key(p, "engine_running");
    p = w_str(p, engine);
    for (int i = 1; i < TT__NSIG; i++) {
      p = w_key(p, tt__signals[i].name);
      p = w_value(p, f, row, i);
    }
    *p++ = '}';
  }
  *p++ = '\n';
  b->len += (size_t)(p - start);
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
  if (v->format == TT_SIM_JSONL)
    json_key(&v->dtc, "severity");
  else
    tt__buf_putc(&v->dtc, ',');
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
