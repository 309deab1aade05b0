/* Which JSON library parses telemetry JSON lines faster: jansson (builds a
 * tree per line) or yajl (SAX callbacks)? Both visit every value of every
 * line, summing numbers and string lengths so nothing is optimised away.
 * Run: build/bench/bench_json_parsers [LINES]. Figures: src/ingest/README.md. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
  double sum;
  size_t chars;
} acc;

static int y_null(void *ctx) { (void)ctx; return 1; }
static int y_bool(void *ctx, int b) { ((acc *)ctx)->sum += b; return 1; }
static int y_num(void *ctx, const char *s, size_t l) {
  char buf[64];
  if (l >= sizeof buf) return 0;
  memcpy(buf, s, l);
  buf[l] = 0;
  ((acc *)ctx)->sum += strtod(buf, NULL);
  return 1;
}
static int y_str(void *ctx, const unsigned char *s, size_t l) { (void)s; ((acc *)ctx)->chars += l; return 1; }
static int y_key(void *ctx, const unsigned char *s, size_t l) { (void)s; ((acc *)ctx)->chars += l; return 1; }
static int y_start(void *ctx) { (void)ctx; return 1; }
static const yajl_callbacks cbs = {y_null, y_bool, NULL, NULL, y_num, y_str, y_start, y_key, y_start, y_start, y_start};

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 300000;
  char **lines = malloc(n * sizeof *lines);
  size_t *lens = malloc(n * sizeof *lens);
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    char buf[1024];
    int len = snprintf(buf, sizeof buf,
        "{\"vehicle_id\":\"V%05zu\",\"ts\":\"2026-01-%02zuT%02zu:%02zu:00Z\",\"odometer_km\":%.1f,"
        "\"engine_running\":%s,\"engine_rpm\":%.1f,\"speed_kmh\":%.2f,\"coolant_temp_c\":%.2f,"
        "\"oil_pressure_kpa\":%.1f,\"battery_voltage_v\":%.3f,\"cranking_voltage_v\":%.3f,"
        "\"brake_pad_mm\":%.2f,\"tyre_pressure_fl_kpa\":%.1f,\"tyre_pressure_fr_kpa\":%.1f,"
        "\"tyre_pressure_rl_kpa\":%.1f,\"tyre_pressure_rr_kpa\":%.1f,\"ambient_temp_c\":%.1f,"
        "\"fuel_level_pct\":%.1f}",
        i % 1000, 1 + i % 28, i / 60 % 24, i % 60, 10000 + i * 0.5, i % 3 ? "true" : "false",
        800 + (i % 3000) * 1.0, (i % 130) * 1.01, 85 + (i % 10) * 0.3, 300 + (i % 50) * 1.0,
        12.6 + (i % 7) * 0.01, 10.1 + (i % 9) * 0.01, 9.5 - (i % 100) * 0.01, 230.0 + i % 5,
        231.0 + i % 5, 229.0 + i % 5, 232.0 + i % 5, -5 + (i % 30) * 1.0, 50 + i % 50 * 1.0);
    lines[i] = strdup(buf);
    lens[i] = (size_t)len;
    bytes += (size_t)len + 1;
  }
  /* jansson */
  acc a = {0, 0};
  double t0 = now();
  for (size_t i = 0; i < n; i++) {
    json_error_t e;
    json_t *o = json_loadb(lines[i], lens[i], 0, &e);
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
      a.chars += strlen(k);
      if (json_is_number(v)) a.sum += json_number_value(v);
      else if (json_is_string(v)) a.chars += json_string_length(v);
      else if (json_is_boolean(v)) a.sum += json_is_true(v);
    }
    json_decref(o);
  }
  double tj = now() - t0;
  /* yajl: one handle reused per line (yajl_complete_parse, then reset by
   * re-allocating is what a per-record API needs; we measure that). */
  acc b = {0, 0};
  t0 = now();
  for (size_t i = 0; i < n; i++) {
    yajl_handle h = yajl_alloc(&cbs, NULL, &b);
    yajl_parse(h, (const unsigned char *)lines[i], lens[i]);
    yajl_complete_parse(h);
    yajl_free(h);
  }
  double ty = now() - t0;
  printf("lines %zu, %.1f MB; check %.0f/%.0f %zu/%zu\n", n, bytes / 1e6, a.sum, b.sum, a.chars, b.chars);
  printf("jansson  %.3f s  %.0f lines/s  %.0f MB/s\n", tj, n / tj, bytes / 1e6 / tj);
  printf("yajl     %.3f s  %.0f lines/s  %.0f MB/s\n", ty, n / ty, bytes / 1e6 / ty);
  printf("yajl/jansson speed ratio %.2f\n", tj / ty);
  for (size_t i = 0; i < n; i++) free(lines[i]);
  free(lines);
  free(lens);
  return 0;
}
