/* telltale features VERB — the feature store. Parses arguments and prints;
 * everything else is libtelltale (include/telltale/features.h). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "telltale/features.h"
#include "telltale/log.h"

static const char *USAGE =
    "usage: telltale features VERB [options]\n"
    "\n"
    "Feature sets are declared in PROJECT/features/NAME.yaml (docs/features.md).\n"
    "\n"
    "Verbs:\n"
    "  list [--output json]          feature sets in the project, with versions\n"
    "  show --set S [--output json]  a set's canonical definition and version\n"
    "  build --set S (--spine FILE | --every SPAN) [--from T] [--to T]\n"
    "        [--shard I/N] [--threads N] [--out FILE]\n"
    "                                point-in-time values into the lake (Parquet)\n"
    "  stream --set S --source FILE [--table T] [--ttl SECONDS]\n"
    "                                fold telemetry (CSV or Parquet) into the online store\n"
    "  materialize --set S [--file PARQUET]\n"
    "                                load the latest offline values into the online store\n"
    "  get --set S --vehicle V [--output json]\n"
    "                                a vehicle's online values\n"
    "  verify --set S [--from T] [--to T]\n"
    "                                replay the lake through the streaming path and\n"
    "                                compare with the offline values, bit for bit\n"
    "\n"
    "Run `telltale features VERB --help` for a verb's options.\n";

static const char *BUILD_HELP =
    "usage: telltale features build --set S (--spine FILE | --every SPAN) [options]\n"
    "\n"
    "Compute the feature set's values as of each (vehicle, time) of a spine, using\n"
    "only events with time <= that time, and write them as Parquet to\n"
    "LAKE/features/S/version=V/part-I-of-N.parquet with a manifest (.json) that\n"
    "records the definition version and the exact lake files read.\n"
    "\n"
    "  --set S           feature set PROJECT/features/S.yaml\n"
    "  --spine FILE      CSV or Parquet with columns vehicle_id and ts\n"
    "  --every SPAN      a spine point at every multiple of SPAN (e.g. 1d) for every\n"
    "                    vehicle with data; counter axes: an integer\n"
    "  --from T, --to T  spine range (ISO 8601 or epoch; default: the data's range)\n"
    "  --shard I/N       only vehicles whose id hashes (FNV-1a 64 mod N) to I; the\n"
    "                    union of the N shards is the unsharded build\n"
    "  --threads N       worker threads (default: one per core)\n"
    "  --out FILE        write here instead of the lake's features/ area\n"
    "  --output json     print the build's figures as JSON\n";

static int load_set(cli *ctx, const char *name, tt_feature_set **fs) {
  tt_error err;
  tt_error_clear(&err);
  if (!name) return cli_usage_error("--set S is required");
  if (tt_feature_set_load(tt_config_project_dir(ctx->cfg), name, fs, &err) != TT_OK)
    return cli_fail(&err);
  return CLI_EXIT_OK;
}

static int parse_time_arg(const tt_feature_set *fs, const char *opt, const char *s, tt_time *out) {
  if (tt_feature_set_axis(fs) == TT_AXIS_COUNTER) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s) return cli_usage_error("%s: '%s' is not an integer", opt, s);
    *out = v;
    return 0;
  }
  if (tt_time_parse(s, strlen(s), out) != 0) return cli_usage_error("%s: '%s' is not a time", opt, s);
  return 0;
}

enum {
  O_SET = 256, O_SPINE, O_EVERY, O_FROM, O_TO, O_SHARD, O_THREADS, O_OUT, O_OUTPUT, O_SOURCE,
  O_TABLE, O_TTL, O_VEHICLE, O_FILE
};

static int cmd_build(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      {"set", required_argument, 0, O_SET},       {"spine", required_argument, 0, O_SPINE},
      {"every", required_argument, 0, O_EVERY},   {"from", required_argument, 0, O_FROM},
      {"to", required_argument, 0, O_TO},         {"shard", required_argument, 0, O_SHARD},
      {"threads", required_argument, 0, O_THREADS}, {"out", required_argument, 0, O_OUT},
      {"output", required_argument, 0, O_OUTPUT}, {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *set = NULL, *every = NULL, *from = NULL, *to = NULL, *shard = NULL;
  tt_features_build_opts o = {.from = INT64_MIN, .to = INT64_MAX};
  int output = CLI_OUT_TABLE, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET: set = optarg; break;
    case O_SPINE: o.spine_file = optarg; break;
    case O_EVERY: every = optarg; break;
    case O_FROM: from = optarg; break;
    case O_TO: to = optarg; break;
    case O_SHARD: shard = optarg; break;
    case O_THREADS: o.threads = atoi(optarg); break;
    case O_OUT: o.out_path = optarg; break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0) return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h': fputs(BUILD_HELP, stdout); return CLI_EXIT_OK;
    default: fputs(BUILD_HELP, stderr); return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (!!o.spine_file == !!every) return cli_usage_error("give exactly one of --spine FILE and --every SPAN");
  if (shard) {
    unsigned i, n;
    char extra;
    if (sscanf(shard, "%u/%u%c", &i, &n, &extra) != 2 || n == 0 || i >= n)
      return cli_usage_error("--shard wants I/N with 0 <= I < N, got '%s'", shard);
    o.shard = i;
    o.nshards = n;
  }
  tt_feature_set *fs = NULL;
  int rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  if (every && tt_features_parse_span(tt_feature_set_axis(fs), every, &o.every) != 0) {
    rc = cli_usage_error("--every: bad span '%s'", every);
    goto out;
  }
  if (every && o.every <= 0) {
    rc = cli_usage_error("--every must be positive");
    goto out;
  }
  if ((from && (rc = parse_time_arg(fs, "--from", from, &o.from))) ||
      (to && (rc = parse_time_arg(fs, "--to", to, &o.to))))
    goto out;
  char *lake = tt_config_get_path(ctx->cfg, "lake");
  o.lake = lake;
  tt_features_build_stats st;
  tt_error err;
  tt_error_clear(&err);
  double t0 = tt_monotonic();
  if (tt_features_build(fs, &o, &st, &err) != TT_OK) {
    rc = cli_fail(&err);
  } else if (output == CLI_OUT_JSON) {
    printf("{\"set\":\"%s\",\"version\":\"%s\",\"vehicles\":%llu,\"rows_read\":%llu,\"files_read\":%llu,"
           "\"spine_rows\":%llu,\"seconds\":%.3f,\"output\":\"%s\",\"manifest\":\"%s\"}\n",
           tt_feature_set_name(fs), tt_feature_set_version(fs), (unsigned long long)st.vehicles,
           (unsigned long long)st.rows_read, (unsigned long long)st.files_read,
           (unsigned long long)st.spine_rows, tt_monotonic() - t0, st.out_path, st.manifest_path);
  } else {
    printf("%s@%s: %llu vehicles, %llu spine rows, %llu lake rows from %llu files in %.2fs\n%s\n",
           tt_feature_set_name(fs), tt_feature_set_short_version(fs), (unsigned long long)st.vehicles,
           (unsigned long long)st.spine_rows, (unsigned long long)st.rows_read,
           (unsigned long long)st.files_read, tt_monotonic() - t0, st.out_path);
  }
  free(lake);
out:
  tt_feature_set_destroy(fs);
  return rc;
}

static int cmd_show(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"set", required_argument, 0, O_SET},
                                       {"output", required_argument, 0, O_OUTPUT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *set = NULL;
  int output = CLI_OUT_TABLE, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET: set = optarg; break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0) return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h':
      puts("usage: telltale features show --set S [--output json]\n\n"
           "Print a feature set's version (sha256 of its canonical JSON) and features;\n"
           "with --output json the canonical JSON itself.");
      return CLI_EXIT_OK;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (!set && optind < argc) set = argv[optind];
  tt_feature_set *fs = NULL;
  int rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  if (output == CLI_OUT_JSON) {
    printf("{\"version\":\"%s\",\"definition\":%s}\n", tt_feature_set_version(fs), tt_feature_set_json(fs));
  } else {
    printf("%s  version %s\n%s\nsource %s  tile %lld  filter %s\n\n", tt_feature_set_name(fs),
           tt_feature_set_version(fs), tt_feature_set_description(fs), tt_feature_set_source(fs),
           (long long)tt_feature_set_tile(fs),
           tt_feature_set_filter(fs) ? tt_feature_set_filter(fs)->text : "-");
    printf("%-28s %-10s %-24s %-8s %s\n", "FEATURE", "AGG", "TABLE.COLUMN", "CODE", "WINDOW");
    for (size_t i = 0; i < tt_feature_set_count(fs); i++) {
      const tt_feature_def *f = tt_feature_set_at(fs, i);
      char tc[256];
      snprintf(tc, sizeof tc, "%s.%s", f->table, *f->column ? f->column : "*");
      printf("%-28s %-10s %-24s %-8s %lld\n", f->name, tt_agg_name(f->agg), tc, *f->code ? f->code : "-",
             (long long)f->window);
    }
  }
  tt_feature_set_destroy(fs);
  return CLI_EXIT_OK;
}

static int cmd_list(cli *ctx, int argc, char **argv) {
  int output = CLI_OUT_TABLE;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--output") && i + 1 < argc) {
      if ((output = cli_output_parse(argv[++i])) < 0) return cli_usage_error("unknown --output");
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      puts("usage: telltale features list [--output json]\n\n"
           "List the feature sets of the project (PROJECT/features/NAME.yaml) with\n"
           "their versions and feature counts. Files that do not parse are reported.");
      return CLI_EXIT_OK;
    } else {
      return cli_usage_error("unexpected argument '%s'", argv[i]);
    }
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/features", tt_config_project_dir(ctx->cfg));
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "telltale: %s: no features directory\n", dir);
    return CLI_EXIT_NOINPUT;
  }
  struct dirent *de;
  int rc = CLI_EXIT_OK, first = 1;
  if (output == CLI_OUT_JSON) putchar('[');
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".yaml")) continue;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(n - 5), de->d_name);
    tt_feature_set *fs = NULL;
    tt_error err;
    tt_error_clear(&err);
    if (tt_feature_set_load(tt_config_project_dir(ctx->cfg), name, &fs, &err) != TT_OK) {
      rc = cli_fail(&err);
      continue;
    }
    if (output == CLI_OUT_JSON)
      printf("%s{\"name\":\"%s\",\"version\":\"%s\",\"features\":%zu}", first ? "" : ",",
             tt_feature_set_name(fs), tt_feature_set_version(fs), tt_feature_set_count(fs));
    else
      printf("%-24s %s  %3zu features  %s\n", tt_feature_set_name(fs), tt_feature_set_short_version(fs),
             tt_feature_set_count(fs), tt_feature_set_description(fs));
    first = 0;
    tt_feature_set_destroy(fs);
  }
  closedir(d);
  if (output == CLI_OUT_JSON) puts("]");
  return rc;
}

int cmd_features(cli *ctx, int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(USAGE, argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  const char *verb = argv[1];
  argc--, argv++;
  if (!strcmp(verb, "build")) return cmd_build(ctx, argc, argv);
  if (!strcmp(verb, "show")) return cmd_show(ctx, argc, argv);
  if (!strcmp(verb, "list")) return cmd_list(ctx, argc, argv);
  return cli_usage_error("unknown verb 'features %s' (see `telltale features --help`)", verb);
}
