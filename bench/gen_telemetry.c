/* Deterministic telemetry CSV for the ingest benchmark, in the example
 * fleet schema's column order (src/project/example_schema.yaml):
 *   bench_gen_telemetry ROWS VEHICLES > telemetry.csv
 * One row per vehicle per minute, vehicles interleaved, starting
 * 2026-01-01T00:00:00Z. Used only when `telltale simulate` is unavailable. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ULL;
static double unit(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
  uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
  unsigned vehicles = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 500;
  if (!vehicles) vehicles = 1;
  static char buf[1 << 16];
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  puts("vehicle_id,ts,odometer_km,engine_running,engine_rpm,speed_kmh,coolant_temp_c,"
       "oil_pressure_kpa,battery_voltage_v,cranking_voltage_v,brake_pad_mm,tyre_pressure_fl_kpa,"
       "tyre_pressure_fr_kpa,tyre_pressure_rl_kpa,tyre_pressure_rr_kpa,ambient_temp_c,"
       "fuel_level_pct");
  const int64_t t0 = INT64_C(1767225600); /* 2026-01-01 */
  for (uint64_t i = 0; i < rows; i++) {
    unsigned v = (unsigned)(i % vehicles);
    int64_t t = t0 + (int64_t)(i / vehicles) * 60;
    int64_t day = t / 86400, sec = t % 86400;
    /* civil date from days (2026 only needs a small table walk) */
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t d = day - 20454; /* days since 2026-01-01 */
    int y = 2026, m = 0;
    for (;;) {
      int ylen = (y % 4 == 0 && (y % 100 || y % 400 == 0)) ? 366 : 365;
      if (d < ylen) break;
      d -= ylen;
      y++;
    }
    for (;; m++) {
      int len = dm[m] + (m == 1 && y % 4 == 0 && (y % 100 || y % 400 == 0));
      if (d < len) break;
      d -= len;
    }
    int running = unit() < 0.6;
    double speed = running ? unit() * 120 : 0;
    printf("V%05u,%04d-%02d-%02dT%02d:%02d:%02dZ,%.1f,%s,%.0f,%.1f,%.1f,%.0f,%.2f,%.2f,%.2f,%.0f,"
           "%.0f,%.0f,%.0f,%.1f,%.1f\n",
           v, y, m + 1, (int)d + 1, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60),
           10000 + (double)i / vehicles * 0.8, running ? "true" : "false",
           running ? 800 + unit() * 3000 : 0, speed, 20 + unit() * 75, 200 + unit() * 200,
           12.0 + unit() * 2, 9.5 + unit() * 1.5, 3 + unit() * 9, 220 + unit() * 20,
           220 + unit() * 20, 220 + unit() * 20, 220 + unit() * 20, -10 + unit() * 35,
           unit() * 100);
  }
  return fflush(stdout) != 0;
}
