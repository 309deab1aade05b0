/* telltale simulate — write a simulated fleet's telemetry and event files.
 * Parses the options, calls tt_sim_run, prints the counts. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/json_escape.h"
#include "telltale/progress.h"
#include "telltale/sim.h"
#include "telltale/time.h"

static void help(FILE *f) {
  fprintf(f, "usage: telltale simulate --vehicles N --days D --seed S --out DIR\n"
             "                         [--interval 60s] [--start 2026-01-01] [--format csv|jsonl]\n"
             "                         [--threads N] [--output table|json] [--no-progress]\n"
             "\n"
             "Write the telemetry and event files of a simulated vehicle fleet, in the tables\n"
             "of the example schema (telemetry, dtc, maintenance, failures, vehicles):\n"
             "\n"
             "  DIR/telemetry/telemetry-YYYY-MM-DD.csv   one file per simulated day\n"
             "  DIR/dtc.csv DIR/maintenance.csv DIR/failures.csv DIR/vehicles.csv\n"
             "  DIR/simulation.json                      arguments and counts\n"
             "\n"
             "Vehicles drive trips, idle and park; batteries, cooling systems, brake pads and\n"
             "tyres degrade and fail with a lead time, are repaired and serviced. The data has\n"
             "deliberate imperfections: silent vehicles, sensor dropouts, spikes (some outside\n"
             "the schema's range), duplicated and late rows. Same arguments, byte-identical\n"
             "files, whatever the number of threads. See docs/simulator.md.\n"
             "\n"
             "Options:\n"
             "  --vehicles N     fleet size (1..1000000)\n"
             "  --days D         simulated days (1..3660)\n"
             "  --seed S         random seed (unsigned 64-bit integer)\n"
             "  --out DIR        output directory (created; earlier simulator files replaced)\n"
             "  --interval DUR   sampling interval while the engine runs, whole seconds from\n"
             "                   1s to 1h (default 60s); parked vehicles report every 15 min,\n"
             "                   then hourly\n"
             "  --start DATE     first simulated day, UTC, 1995-01-01..2090-01-01 (default\n"
             "                   2026-01-01)\n"
             "  --format F       csv (default, with a header row) or jsonl (JSON lines)\n"
             "  --threads N      worker threads, 0 = one per core (default); the output does\n"
             "                   not depend on it\n"
             "  --output FMT     summary as table (default) or json\n"
             "  --no-progress    no progress bar (it is shown only on a terminal anyway)\n"
             "\n"
             "Exit: 0 done, 64 bad option (named in the message), 1 a file could not be\n"
             "written (named in the message).\n");
}

static int parse_i64(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno) return -1;
  *out = v;
  return 0;
}

static void on_progress(void *ud, int64_t done, int64_t total) {
  tt_progress **bar = ud;
  if (!*bar) *bar = tt_progress_new("simulate", (uint64_t)total, "days");
  tt_progress_set(*bar, (uint64_t)done);
}

int cmd_simulate(cli *ctx, int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    help(stdout);
    return CLI_EXIT_OK;
  }
  tt_sim_options o;
  tt_sim_options_init(&o);
  int out = CLI_OUT_TABLE, c, have_v = 0, have_d = 0, have_s = 0, no_progress = 0;
  static const struct option opts[] = {{"vehicles", required_argument, 0, 'v'},
                                       {"days", required_argument, 0, 'd'},
                                       {"seed", required_argument, 0, 's'},
                                       {"out", required_argument, 0, 'O'},
                                       {"interval", required_argument, 0, 'i'},
                                       {"start", required_argument, 0, 'S'},
                                       {"format", required_argument, 0, 'f'},
                                       {"threads", required_argument, 0, 't'},
                                       {"output", required_argument, 0, 'o'},
                                       {"no-progress", no_argument, 0, 'P'},
                                       {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int64_t n;
    switch (c) {
    case 'v':
      if (parse_i64(optarg, &n) || n < 1)
        return cli_usage_error("--vehicles wants a positive integer, got '%s'", optarg);
      o.vehicles = n;
      have_v = 1;
      break;
    case 'd':
      if (parse_i64(optarg, &n) || n < 1)
        return cli_usage_error("--days wants a positive integer, got '%s'", optarg);
      o.days = n;
      have_d = 1;
      break;
    case 's': {
      char *end;
      errno = 0;
      unsigned long long s = strtoull(optarg, &end, 10);
      if (!*optarg || *end || errno || optarg[0] == '-')
        return cli_usage_error("--seed wants an unsigned integer, got '%s'", optarg);
      o.seed = s;
      have_s = 1;
      break;
    }
    case 'O':
      o.out_dir = optarg;
      break;
    case 'P':
      no_progress = 1;
      break;
    case 'i':
      if (tt_duration_parse(optarg, &o.interval_us))
        return cli_usage_error("--interval wants a duration such as 60s, got '%s'", optarg);
      break;
    case 'S':
      if (tt_time_parse_iso(optarg, strlen(optarg), &o.start))
        return cli_usage_error("--start wants a date such as 2026-01-01, got '%s'", optarg);
      break;
    case 'f':
      if (!strcmp(optarg, "csv"))
        o.format = TT_SIM_CSV;
      else if (!strcmp(optarg, "jsonl"))
        o.format = TT_SIM_JSONL;
      else
        return cli_usage_error("--format wants csv or jsonl, got '%s'", optarg);
      break;
    case 't':
      if (parse_i64(optarg, &n) || n < 0 || n > 256)
        return cli_usage_error("--threads wants 0..256, got '%s'", optarg);
      o.threads = (int)n;
      break;
    case 'o':
      if ((out = cli_output_parse(optarg)) < 0 || out == CLI_OUT_CSV)
        return cli_usage_error("--output wants table or json, got '%s'", optarg);
      break;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) return cli_usage_error("simulate: unexpected argument '%s'", argv[optind]);
  if (!have_v || !have_d || !have_s || !o.out_dir)
    return cli_usage_error("simulate needs --vehicles, --days, --seed and --out (see --help)");
  tt_progress *bar = NULL;
  if (!no_progress) {
    o.progress = on_progress;
    o.progress_ud = &bar;
  }

  tt_error err;
  tt_error_clear(&err);
  tt_sim_counts n;
  double t0 = tt_monotonic();
  tt_err rc = tt_sim_run(&o, &n, &err);
  tt_progress_finish(bar);
  if (rc != TT_OK) return cli_fail(&err);
  double secs = tt_monotonic() - t0;
  double rate = secs > 0 ? (double)n.telemetry / secs : 0;

  if (out == CLI_OUT_JSON) {
    printf("{\"out\":");
    tt_json_write_string(stdout, o.out_dir);
    printf(",\"telemetry\":%" PRId64 ",\"telemetry_valid\":%" PRId64
           ",\"telemetry_out_of_range\":%" PRId64 ",\"dtc\":%" PRId64 ",\"maintenance\":%" PRId64
           ",\"failures\":%" PRId64 ",\"vehicles\":%" PRId64 ",\"telemetry_files\":%" PRId64,
           n.telemetry, n.telemetry_valid, n.telemetry_out_of_range, n.dtc, n.maintenance,
           n.failures, n.vehicles, n.telemetry_files);
    printf(",\"failures_by_component\":{");
    for (int i = 0; i < TT_SIM_NCOMPONENTS; i++)
      printf("%s\"%s\":%" PRId64, i ? "," : "", tt_sim_component_name(i),
             n.failures_by_component[i]);
    printf("},\"scheduled_services\":%" PRId64, n.scheduled_services);
    printf(",\"imperfections\":{\"silent_vehicles\":%" PRId64 ",\"silent_vehicle_days\":%" PRId64
           ",\"dropout_values\":%" PRId64 ",\"spikes\":%" PRId64 ",\"spikes_out_of_range\":%" PRId64
           ",\"duplicates\":%" PRId64 ",\"late\":%" PRId64 "}",
           n.silent_vehicles, n.silent_vehicle_days, n.dropout_values, n.spikes,
           n.spikes_out_of_range, n.duplicates, n.late);
    printf(",\"seconds\":%.3f,\"rows_per_second\":%.0f}\n", secs, rate);
    return CLI_EXIT_OK;
  }
  printf("simulated %" PRId64 " vehicles over %" PRId64 " days into %s\n", n.vehicles,
         n.telemetry_files, o.out_dir);
  printf("  %-24s %12" PRId64 "  (%" PRId64 " valid, %" PRId64 " out of range)\n", "telemetry rows",
         n.telemetry, n.telemetry_valid, n.telemetry_out_of_range);
  printf("  %-24s %12" PRId64 "\n", "dtc rows", n.dtc);
  printf("  %-24s %12" PRId64 "  (%" PRId64 " scheduled services)\n", "maintenance rows",
         n.maintenance, n.scheduled_services);
  printf("  %-24s %12" PRId64 "  (", "failures rows", n.failures);
  for (int i = 0; i < TT_SIM_NCOMPONENTS; i++)
    printf("%s%s %" PRId64, i ? ", " : "", tt_sim_component_name(i), n.failures_by_component[i]);
  printf(")\n");
  printf("  %-24s %12" PRId64 "\n", "vehicles rows", n.vehicles);
  printf("imperfections: %" PRId64 " silent vehicles (%" PRId64 " silent vehicle-days), %" PRId64
         " dropout values, %" PRId64 " spikes (%" PRId64 " out of range), %" PRId64
         " duplicates, %" PRId64 " late rows\n",
         n.silent_vehicles, n.silent_vehicle_days, n.dropout_values, n.spikes,
         n.spikes_out_of_range, n.duplicates, n.late);
  printf("%.2f s, %.0f telemetry rows/s\n", secs, rate);
  return CLI_EXIT_OK;
}
