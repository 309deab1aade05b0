/* telltale — fleet simulator.
 *
 * tt_sim_run writes the telemetry and event files of a simulated vehicle
 * fleet into a directory, in the tables and columns of the example schema
 * (src/project/example_schema.yaml):
 *
 *   DIR/telemetry/telemetry-YYYY-MM-DD.csv   one file per simulated day
 *   DIR/dtc.csv DIR/maintenance.csv DIR/failures.csv DIR/vehicles.csv
 *   DIR/simulation.json                      arguments and counts
 *
 * (.jsonl instead of .csv with TT_SIM_JSONL). The output is a pure function
 * of the options except `threads`: same options, byte-identical files. Each
 * vehicle draws from its own random stream, so vehicle 7 behaves the same in
 * a fleet of 10 and of 10 000.
 *
 * The physics, the failure model and the deliberate imperfections (silent
 * vehicles, sensor dropouts, spikes, duplicates, late records) are described
 * in src/sim/README.md and docs/simulator.md.
 */
#ifndef TELLTALE_SIM_H
#define TELLTALE_SIM_H

#include <stdint.h>

#include "telltale/error.h"
#include "telltale/time.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_sim_format { TT_SIM_CSV = 0, TT_SIM_JSONL = 1 } tt_sim_format;

/* Components that fail, in the order of tt_sim_counts.failures_by_component. */
typedef enum tt_sim_component {
  TT_SIM_BATTERY = 0,
  TT_SIM_COOLING = 1,
  TT_SIM_BRAKES = 2,
  TT_SIM_TYRES = 3,
  TT_SIM_NCOMPONENTS = 4
} tt_sim_component;

/* "battery", "cooling", "brakes", "tyres" — the `component` values written
 * to failures and maintenance; NULL for an unknown index. */
const char *tt_sim_component_name(int component);

typedef struct tt_sim_options {
  int64_t vehicles; /* >= 1 */
  int64_t days;     /* >= 1 */
  uint64_t seed;
  int64_t interval_us; /* sampling interval while the engine runs; whole seconds, 1 s .. 1 h */
  tt_time start;       /* midnight UTC of the first day */
  tt_sim_format format;
  const char *out_dir; /* created if missing; an earlier simulation's files in it are replaced */
  int threads;         /* 0: one per core. Does not change the output. */
  /* Called after each simulated day from the calling thread (may be NULL). */
  void (*progress)(void *ud, int64_t days_done, int64_t days_total);
  void *progress_ud;
} tt_sim_options;

/* Defaults: 10 vehicles, 7 days, seed 1, 60 s, 2026-01-01, CSV, out_dir NULL
 * (must be set), threads 0. */
void tt_sim_options_init(tt_sim_options *o);

/* All fields are int64_t (the simulator sums them as an array). */
typedef struct tt_sim_counts {
  /* rows written per table (data lines, without the CSV header) */
  int64_t telemetry, dtc, maintenance, failures, vehicles;
  /* telemetry = telemetry_valid + telemetry_out_of_range; out-of-range rows
   * carry a value outside the schema's range and are dead-lettered by ingest */
  int64_t telemetry_valid, telemetry_out_of_range;
  int64_t telemetry_files;
  int64_t failures_by_component[TT_SIM_NCOMPONENTS];
  int64_t scheduled_services;
  /* imperfections */
  int64_t silent_vehicles;     /* vehicles that went silent at least once */
  int64_t silent_vehicle_days; /* (vehicle, day) pairs without any telemetry row due to silence */
  int64_t dropout_values;      /* values left empty by a sensor dropout */
  int64_t spikes;              /* rows with a spiked value, in range or not */
  int64_t spikes_out_of_range; /* == telemetry_out_of_range */
  int64_t duplicates;          /* rows written twice (counted once here, twice in telemetry) */
  int64_t late;                /* rows written in the next day's file, out of time order */
} tt_sim_counts;

/* Simulate and write the files. On success *counts (may be NULL) holds what
 * was written. On failure err names the file or option; files already
 * written are left behind, the manifest is written last. */
tt_err tt_sim_run(const tt_sim_options *o, tt_sim_counts *counts, tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
