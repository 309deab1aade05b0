/* libFuzzer target: the simulator over its option space (tt_sim_run).
 *
 * The simulator parses no input, but its physics must hold for any seed,
 * interval, start date and format: never crash, and the counts keep their
 * invariants (telemetry = valid + out of range; out of range = out-of-range
 * spikes; failures = the sum over components). Fleets are kept tiny so that
 * an input runs in milliseconds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "telltale/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void cleanup(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static uint64_t take(const uint8_t **p, size_t *n, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
    v = v << 8 | **p;
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/fuzz-sim-XXXXXX");
    if (!mkdtemp(dir)) abort();
    atexit(cleanup);
  }
  const uint8_t *p = data;
  size_t n = size;
  tt_sim_options o;
  tt_sim_options_init(&o);
  o.vehicles = 1 + (int64_t)(take(&p, &n, 1) % 3);
  o.days = 1 + (int64_t)(take(&p, &n, 1) % 2);
  o.seed = take(&p, &n, 8);
  /* mostly valid intervals (10 s .. 1 h), sometimes arbitrary microseconds */
  uint64_t iv = take(&p, &n, 4);
  o.interval_us = (iv & 1) ? (int64_t)(iv % 5000000000ULL) - 1000
                           : (int64_t)(10 + (iv >> 1) % 3591) * TT_USEC_PER_SEC;
  uint64_t st = take(&p, &n, 4);
  o.start = (st & 1)
                ? (tt_time)(int32_t)st * TT_USEC_PER_SEC
                : tt_time_from_civil(1995, 1, 1) + (tt_time)((st >> 1) % 34000) * TT_USEC_PER_DAY;
  o.format = (take(&p, &n, 1) & 1) ? TT_SIM_JSONL : TT_SIM_CSV;
  o.threads = 1;
  o.out_dir = dir;
  tt_sim_counts c;
  tt_error err;
  tt_error_clear(&err);
  tt_err rc = tt_sim_run(&o, &c, &err);
  if (rc == TT_INVALID) {
    if (!err.field[0]) abort(); /* an invalid option is always named */
    return 0;
  }
  if (rc != TT_OK) {
    fprintf(stderr, "tt_sim_run: %s\n", err.msg);
    abort();
  }
  int64_t sum = 0;
  for (int i = 0; i < TT_SIM_NCOMPONENTS; i++)
    sum += c.failures_by_component[i];
  if (c.telemetry != c.telemetry_valid + c.telemetry_out_of_range ||
      c.telemetry_out_of_range != c.spikes_out_of_range || c.failures != sum ||
      c.vehicles != o.vehicles || c.telemetry_files != o.days)
    abort();
  return 0;
}
