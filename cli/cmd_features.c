/* telltale features VERB — the feature store. Parses arguments and prints;
 * everything else is libtelltale (include/telltale/features.h). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/json_escape.h"
#include "telltale/features.h"
#include "telltale/ingest.h"
#include "telltale/kafka.h"
#include "telltale/log.h"
#include "telltale/registry.h"

static const char *USAGE =
    "usage: telltale features VERB [options]\n"
    "\n"
    "Feature sets are declared in PROJECT/features/NAME.yaml (docs/features.md).\n"
    "\n"
    "Verbs:\n"
    "  apply [--output json]         register every feature set of the project\n"
    "  list [--output json]          registered feature sets (latest versions)\n"
    "  search TEXT [--output json]   registered sets mentioning TEXT\n"
    "  show REF | --set S [--output json]\n"
    "                                a registered version (NAME[:V|@ALIAS]) or a file\n"
    "  diff REF [REF2]               changes between versions (or REF and the file)\n"
    "  build --set S (--spine FILE | --every SPAN) [--from T] [--to T]\n"
    "        [--shard I/N] [--threads N] [--out FILE]\n"
    "                                point-in-time values into the lake (Parquet)\n"
    "  stream --set S --source FILE|kafka://BROKERS/TOPIC [--group G] [--follow]\n"
    "        [--table T] [--ttl SECONDS] [--retries N]\n"
    "                                fold telemetry (CSV, Parquet or a Kafka topic)\n"
    "                                into the online store\n"
    "  materialize --set S [--file PARQUET] [--ttl SECONDS]\n"
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
  if (tt_time_parse(s, strlen(s), out) != 0)
    return cli_usage_error("%s: '%s' is not a time", opt, s);
  return 0;
}

enum {
  O_SET = 256,
  O_SPINE,
  O_EVERY,
  O_FROM,
  O_TO,
  O_SHARD,
  O_THREADS,
  O_OUT,
  O_OUTPUT,
  O_SOURCE,
  O_TABLE,
  O_TTL,
  O_VEHICLE,
  O_FILE,
  O_RETRIES
};

static int cmd_build(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"set", required_argument, 0, O_SET},
                                       {"spine", required_argument, 0, O_SPINE},
                                       {"every", required_argument, 0, O_EVERY},
                                       {"from", required_argument, 0, O_FROM},
                                       {"to", required_argument, 0, O_TO},
                                       {"shard", required_argument, 0, O_SHARD},
                                       {"threads", required_argument, 0, O_THREADS},
                                       {"out", required_argument, 0, O_OUT},
                                       {"output", required_argument, 0, O_OUTPUT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *set = NULL, *every = NULL, *from = NULL, *to = NULL, *shard = NULL;
  tt_features_build_opts o = {.from = INT64_MIN, .to = INT64_MAX};
  int output = CLI_OUT_TABLE, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET:
      set = optarg;
      break;
    case O_SPINE:
      o.spine_file = optarg;
      break;
    case O_EVERY:
      every = optarg;
      break;
    case O_FROM:
      from = optarg;
      break;
    case O_TO:
      to = optarg;
      break;
    case O_SHARD:
      shard = optarg;
      break;
    case O_THREADS:
      o.threads = atoi(optarg);
      break;
    case O_OUT:
      o.out_path = optarg;
      break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0)
        return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h':
      fputs(BUILD_HELP, stdout);
      return CLI_EXIT_OK;
    default:
      fputs(BUILD_HELP, stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (!!o.spine_file == !!every)
    return cli_usage_error("give exactly one of --spine FILE and --every SPAN");
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
    printf("{\"set\":\"%s\",\"version\":\"%s\",\"vehicles\":%llu,\"rows_read\":%llu,\"files_read\":"
           "%llu,"
           "\"spine_rows\":%llu,\"seconds\":%.3f,\"output\":\"%s\",\"manifest\":\"%s\"}\n",
           tt_feature_set_name(fs), tt_feature_set_version(fs), (unsigned long long)st.vehicles,
           (unsigned long long)st.rows_read, (unsigned long long)st.files_read,
           (unsigned long long)st.spine_rows, tt_monotonic() - t0, st.out_path, st.manifest_path);
  } else {
    printf("%s@%s: %llu vehicles, %llu spine rows, %llu lake rows from %llu files in %.2fs\n%s\n",
           tt_feature_set_name(fs), tt_feature_set_short_version(fs),
           (unsigned long long)st.vehicles, (unsigned long long)st.spine_rows,
           (unsigned long long)st.rows_read, (unsigned long long)st.files_read, tt_monotonic() - t0,
           st.out_path);
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
    case O_SET:
      set = optarg;
      break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0)
        return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h':
      puts("usage: telltale features show (NAME[:VERSION|@ALIAS] | --set S) [--output json]\n\n"
           "Print a registered feature-set version (or, with --set, the project's file S):\n"
           "its version id (sha256 of the canonical JSON) and features; with --output json\n"
           "the canonical JSON itself.");
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  tt_feature_set *fs = NULL;
  int rc;
  if (!set && optind < argc) {
    /* A registered version: print its stored canonical definition. */
    tt_registry *reg = NULL;
    if ((rc = cli_open_registry(ctx, &reg))) return rc;
    tt_object *o = NULL;
    tt_error err;
    tt_error_clear(&err);
    if (tt_registry_get(reg, TT_KIND_FEATURE_SET, argv[optind], &o, &err) != TT_OK) {
      rc = cli_fail(&err);
    } else if (output == CLI_OUT_JSON) {
      printf("{\"name\":\"%s\",\"version\":%d,\"sha256\":\"%s\",\"definition\":%s}\n", o->name,
             o->version, o->sha256, o->content);
    } else {
      char *report = NULL;
      printf("%s version %d  sha256 %s\n%s\n", o->name, o->version, o->sha256, o->description);
      if (tt_feature_set_diff("{\"features\":[]}", o->content, &report, &err) == TT_OK)
        fputs(report, stdout);
      free(report);
    }
    tt_object_free(o);
    tt_registry_close(reg);
    return rc;
  }
  rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  if (output == CLI_OUT_JSON) {
    printf("{\"version\":\"%s\",\"definition\":%s}\n", tt_feature_set_version(fs),
           tt_feature_set_json(fs));
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
      if (f->attribute) {
        static const char *const enc[] = {"", "number", "category", "age"};
        printf("%-28s %-10s %-24s %-8s as of %s\n", f->name, enc[f->attribute], tc, "-",
               f->time_column);
        continue;
      }
      printf("%-28s %-10s %-24s %-8s %lld\n", f->name, tt_agg_name(f->agg), tc,
             *f->code ? f->code : "-", (long long)f->window);
    }
  }
  tt_feature_set_destroy(fs);
  return CLI_EXIT_OK;
}

/* Parse "[--output json]" and at most `npos` positionals. */
static int simple_args(int argc, char **argv, const char *help, int *output, const char **pos,
                       int npos) {
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--output") && i + 1 < argc) {
      if ((*output = cli_output_parse(argv[++i])) < 0)
        return cli_usage_error("unknown --output '%s'", argv[i]);
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(help, stdout);
      return -1;
    } else if (argv[i][0] == '-' || n >= npos) {
      return cli_usage_error("unexpected argument '%s'", argv[i]);
    } else {
      pos[n++] = argv[i];
    }
  }
  return 0;
}

static void print_objects(const tt_object *o, size_t n, int output) {
  if (output == CLI_OUT_JSON) putchar('[');
  for (size_t i = 0; i < n; i++) {
    if (output == CLI_OUT_JSON) {
      printf("%s{\"name\":\"%s\",\"version\":%d,\"sha256\":\"%s\",\"description\":", i ? "," : "",
             o[i].name, o[i].version, o[i].sha256);
      tt_json_write_string(stdout, o[i].description);
      putchar('}');
    } else {
      printf("%-24s %3d  %.12s  %s\n", o[i].name, o[i].version, o[i].sha256, o[i].description);
    }
  }
  if (output == CLI_OUT_JSON) puts("]");
}

static int cmd_apply(cli *ctx, int argc, char **argv) {
  int output = CLI_OUT_TABLE;
  int rc = simple_args(
      argc, argv,
      "usage: telltale features apply [--output json]\n\n"
      "Register every feature set of the project (PROJECT/features/NAME.yaml), checked\n"
      "against the project's schema, in the registry (config registry). Each distinct\n"
      "definition becomes a new immutable version; an unchanged one is left as it is.\n",
      &output, NULL, 0);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/features", tt_config_project_dir(ctx->cfg));
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "telltale: %s: no features directory\n", dir);
    return CLI_EXIT_NOINPUT;
  }
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg))) {
    closedir(d);
    return rc;
  }
  struct dirent *de;
  int first = 1;
  if (output == CLI_OUT_JSON) putchar('[');
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".yaml") || de->d_name[0] == '.') continue;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(n - 5), de->d_name);
    tt_feature_set *fs = NULL;
    tt_error err;
    tt_error_clear(&err);
    int version = 0, created = 0;
    if (tt_feature_set_load(tt_config_project_dir(ctx->cfg), name, &fs, &err) != TT_OK ||
        tt_feature_set_register(reg, fs, &version, &created, &err) != TT_OK) {
      rc = cli_fail(&err);
      tt_feature_set_destroy(fs);
      continue;
    }
    if (output == CLI_OUT_JSON)
      printf("%s{\"name\":\"%s\",\"version\":%d,\"sha256\":\"%s\",\"created\":%s}",
             first ? "" : ",", tt_feature_set_name(fs), version, tt_feature_set_version(fs),
             created ? "true" : "false");
    else
      printf("%-24s version %d  %s  %s\n", tt_feature_set_name(fs), version,
             tt_feature_set_short_version(fs), created ? "registered" : "unchanged");
    first = 0;
    tt_feature_set_destroy(fs);
  }
  if (output == CLI_OUT_JSON) puts("]");
  closedir(d);
  tt_registry_close(reg);
  return rc;
}

/* The latest version of every feature set (text NULL), or the versions
 * matching text, printed as a table or JSON. */
static int list_or_search(cli *ctx, const char *text, int output) {
  tt_registry *reg = NULL;
  int rc = cli_open_registry(ctx, &reg);
  if (rc) return rc;
  tt_object *o = NULL;
  size_t n = 0;
  tt_error err;
  tt_error_clear(&err);
  tt_err e = text ? tt_registry_search(reg, TT_KIND_FEATURE_SET, text, &o, &n, &err)
                  : tt_registry_list(reg, TT_KIND_FEATURE_SET, NULL, &o, &n, &err);
  if (e != TT_OK) rc = cli_fail(&err);
  else print_objects(o, n, output);
  tt_objects_free(o, n);
  tt_registry_close(reg);
  return rc;
}

static int cmd_list(cli *ctx, int argc, char **argv) {
  int output = CLI_OUT_TABLE;
  int rc = simple_args(argc, argv,
                       "usage: telltale features list [--output json]\n\n"
                       "List the registered feature sets (latest version of each): name, version,\n"
                       "sha256 (the definition's version id) and description.\n",
                       &output, NULL, 0);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  return list_or_search(ctx, NULL, output);
}

static int cmd_search(cli *ctx, int argc, char **argv) {
  int output = CLI_OUT_TABLE;
  const char *text = NULL;
  int rc =
      simple_args(argc, argv,
                  "usage: telltale features search TEXT [--output json]\n\n"
                  "Registered feature-set versions whose name, description, tags or definition\n"
                  "(feature names, source tables and columns, event codes) contain TEXT,\n"
                  "case-insensitively.\n",
                  &output, &text, 1);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!text) return cli_usage_error("features search wants TEXT");
  return list_or_search(ctx, text, output);
}

static int cmd_diff(cli *ctx, int argc, char **argv) {
  int output = CLI_OUT_TABLE;
  const char *refs[2] = {NULL, NULL};
  int rc =
      simple_args(argc, argv,
                  "usage: telltale features diff REF [REF2]\n\n"
                  "Differences between two registered versions (REF: NAME, NAME:VERSION or\n"
                  "NAME@ALIAS), or between REF and the project's file of that name when REF2 is\n"
                  "not given: changed settings (~), added (+) and removed (-) features.\n"
                  "Exit 0 when they are the same, 1 when they differ.\n",
                  &output, refs, 2);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!refs[0]) return cli_usage_error("features diff wants REF [REF2]");
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg))) return rc;
  tt_object *a = NULL, *b = NULL;
  tt_feature_set *fs = NULL;
  char *report = NULL;
  tt_error err;
  tt_error_clear(&err);
  const char *new_json = NULL;
  if (tt_registry_get(reg, TT_KIND_FEATURE_SET, refs[0], &a, &err) != TT_OK) goto fail;
  if (refs[1]) {
    if (tt_registry_get(reg, TT_KIND_FEATURE_SET, refs[1], &b, &err) != TT_OK) goto fail;
    new_json = b->content;
  } else {
    if (tt_feature_set_load(tt_config_project_dir(ctx->cfg), a->name, &fs, &err) != TT_OK)
      goto fail;
    new_json = tt_feature_set_json(fs);
  }
  if (tt_feature_set_diff(a->content, new_json, &report, &err) != TT_OK) goto fail;
  fputs(*report ? report : "no differences\n", stdout);
  rc = *report ? CLI_EXIT_FAIL : CLI_EXIT_OK;
  goto out;
fail:
  rc = cli_fail(&err);
out:
  free(report);
  tt_object_free(a);
  tt_object_free(b);
  tt_feature_set_destroy(fs);
  tt_registry_close(reg);
  return rc;
}

static int open_online(cli *ctx, const tt_feature_set *fs, tt_fengine **eng, tt_online **on,
                       int ttl) {
  tt_error err;
  tt_error_clear(&err);
  if (tt_fengine_new(fs, eng, &err) != TT_OK) return cli_fail(&err);
  if (tt_online_open(tt_config_get(ctx->cfg, "online_store"), *eng, fs, ttl, on, &err) != TT_OK) {
    tt_fengine_destroy(*eng);
    *eng = NULL;
    return cli_fail(&err);
  }
  return CLI_EXIT_OK;
}

static const char *STREAM_HELP =
    "usage: telltale features stream --set S --source FILE [--table T] [options]\n"
    "       telltale features stream --set S --source kafka://BROKERS/TOPIC [--group G]\n"
    "                                [--follow] [--table T] [options]\n"
    "\n"
    "Fold events into the online store (config online_store: memory: or\n"
    "redis://host:port[/db]) and keep every vehicle's values current. Each batch is\n"
    "written atomically with the source position (Redis: one MULTI/EXEC), so a\n"
    "restarted stream resumes after the last applied batch, and a failing store is\n"
    "retried with backoff without losing or double-counting events. With the memory\n"
    "store the values live only as long as the process.\n"
    "\n"
    "FILE: CSV or Parquet with one table's columns (default table: the set's\n"
    "source), read in file order.\n"
    "\n"
    "kafka://BROKERS/TOPIC: JSON records, one per message (as `telltale replay`\n"
    "publishes them), validated against the table's schema (the latest registered\n"
    "schema with the table, else the file kafka.schema); invalid messages are\n"
    "counted and logged. The stream is a member of consumer group G (default\n"
    "telltale-features-S-V, V the set's short version): several processes share\n"
    "the partitions, and a new definition starts at the beginning. Offsets are\n"
    "committed only after the store holds the batch with its per-partition\n"
    "position, and a restart starts each partition at the stored position (the\n"
    "beginning when the store holds none, whatever the group committed), so a\n"
    "kill -9 at any moment never folds an event twice nor loses one. An empty\n"
    "broker list (kafka:///TOPIC) uses kafka.brokers.\n"
    "\n"
    "  --group G         Kafka consumer group (default telltale-features-S-V)\n"
    "  --follow          Kafka: keep consuming until SIGTERM/SIGINT, then apply the\n"
    "                    last batch, commit and exit 0; without it: drain the\n"
    "                    partitions to their current end and exit\n"
    "  --table T         the events' table (default: the set's source)\n"
    "  --ttl SECONDS     expire a vehicle's key after this long without updates\n"
    "  --retries N       retries of a failed store write, with backoff up to 3.2 s\n"
    "                    (default 20, about a minute; with --follow: until the\n"
    "                    store is back or SIGTERM/SIGINT, exit 69)\n"
    "  --output json     print the figures as JSON\n";

static volatile int g_stream_stop;
static void on_stream_signal(int sig) {
  (void)sig;
  g_stream_stop = 1;
}

/* The Kafka source of `features stream`: brokers, schema, session timeout
 * and message size limit come from the same configuration as `ingest
 * kafka://`. *schema is the caller's to destroy (after the source). */
static tt_err open_kafka_source(cli *ctx, const tt_feature_set *fs, const char *source,
                                const char *table, const char *group, int follow,
                                tt_schema **schema, tt_feature_source *src, tt_error *err) {
  tt_kafka_ingest_opts ko;
  tt_kafka_url url;
  char gbuf[300];
  tt_err rc = tt_kafka_ingest_opts_from_config(&ko, ctx->cfg, err);
  if (!rc) rc = tt_kafka_url_parse(source, &url, err);
  if (rc) goto out;
  if (!table) table = tt_feature_set_source(fs);
  rc = tt_ingest_schema_lookup(tt_config_get(ctx->cfg, "registry"), tt_config_project_dir(ctx->cfg),
                               table, schema, err);
  if (rc == TT_NOTFOUND) {
    tt_error_clear(err);
    rc = tt_schema_parse_file(ko.schema_path, schema, err);
  }
  if (rc) goto out;
  const tt_table_def *t = tt_schema_table(*schema, table);
  if (!t) {
    rc = tt_error_set(err, TT_SCHEMA, "the schema has no table '%s'", table);
    tt_error_at(err, NULL, 0, "table");
    goto out;
  }
  if (!group) {
    /* Per definition version, like the stored state: a new version starts
     * from the beginning of the topic rather than from the old one's offsets. */
    snprintf(gbuf, sizeof gbuf, "telltale-features-%s-%s", tt_feature_set_name(fs),
             tt_feature_set_short_version(fs));
    group = gbuf;
  }
  tt_kafka_feature_source_opts o = {.brokers = url.brokers[0] ? url.brokers : ko.brokers,
                                    .topic = url.topic,
                                    .group = group,
                                    .table = t,
                                    .follow = follow,
                                    .session_timeout_ms = ko.session_timeout_ms,
                                    .max_message_bytes = ko.max_message_bytes,
                                    .stop = &g_stream_stop};
  rc = tt_kafka_feature_source(&o, src, err);
out:
  tt_kafka_ingest_opts_release(&ko);
  return rc;
}

enum { O_GROUP = 512, O_FOLLOW };

static int cmd_stream(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"set", required_argument, 0, O_SET},
                                       {"source", required_argument, 0, O_SOURCE},
                                       {"table", required_argument, 0, O_TABLE},
                                       {"ttl", required_argument, 0, O_TTL},
                                       {"retries", required_argument, 0, O_RETRIES},
                                       {"group", required_argument, 0, O_GROUP},
                                       {"follow", no_argument, 0, O_FOLLOW},
                                       {"output", required_argument, 0, O_OUTPUT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *set = NULL, *source = NULL, *table = NULL, *group = NULL;
  int ttl = 0, retries = -1, output = CLI_OUT_TABLE, follow = 0, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET:
      set = optarg;
      break;
    case O_SOURCE:
      source = optarg;
      break;
    case O_TABLE:
      table = optarg;
      break;
    case O_TTL:
      ttl = atoi(optarg);
      break;
    case O_RETRIES:
      retries = atoi(optarg);
      break;
    case O_GROUP:
      group = optarg;
      break;
    case O_FOLLOW:
      follow = 1;
      break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0)
        return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h':
      fputs(STREAM_HELP, stdout);
      return CLI_EXIT_OK;
    default:
      fputs(STREAM_HELP, stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  if (!source) return cli_usage_error("--source FILE|kafka://BROKERS/TOPIC is required");
  int kafka = !strncmp(source, "kafka://", 8);
  if (!kafka && (group || follow))
    return cli_usage_error("--group and --follow apply to kafka:// sources only");
  /* A service (--follow) outlasts a store outage: it retries until the
   * store is back or a signal stops it. */
  if (retries < 0) retries = follow ? INT_MAX : 20;
  tt_feature_set *fs = NULL;
  tt_fengine *eng = NULL;
  tt_online *on = NULL;
  tt_schema *schema = NULL;
  tt_feature_source src = {0};
  int rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  if ((rc = open_online(ctx, fs, &eng, &on, ttl))) goto out;
  tt_error err;
  tt_error_clear(&err);
  if (kafka) {
    struct sigaction sa = {.sa_handler = on_stream_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (open_kafka_source(ctx, fs, source, table, group, follow, &schema, &src, &err) != TT_OK) {
      rc = cli_fail(&err);
      goto out;
    }
  } else if (tt_feature_source_file(fs, source, table, &src, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  tt_features_stream_stats st;
  double t0 = tt_monotonic();
  if (tt_features_stream(on, &src, retries, &st, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  double secs = tt_monotonic() - t0;
  uint64_t nv = 0, bytes = 0;
  if (tt_online_stats(on, &nv, &bytes, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  if (output == CLI_OUT_JSON)
    printf(
        "{\"events\":%llu,\"batches\":%llu,\"retries\":%llu,\"resumed_at\":%llu,\"invalid\":%llu,"
        "\"skipped\":%llu,\"seconds\":%.3f,\"events_per_second\":%.0f,\"vehicles\":%llu,"
        "\"bytes\":%llu}\n",
        (unsigned long long)st.events, (unsigned long long)st.batches,
        (unsigned long long)st.retries, (unsigned long long)st.resumed_at,
        (unsigned long long)st.invalid, (unsigned long long)st.skipped, secs,
        secs > 0 ? st.events / secs : 0.0, (unsigned long long)nv, (unsigned long long)bytes);
  else if (kafka)
    printf("%llu events in %llu batches (%llu invalid, %llu redelivered skipped, %llu retries) "
           "in %.2fs; %llu vehicles, %llu bytes\n",
           (unsigned long long)st.events, (unsigned long long)st.batches,
           (unsigned long long)st.invalid, (unsigned long long)st.skipped,
           (unsigned long long)st.retries, secs, (unsigned long long)nv, (unsigned long long)bytes);
  else
    printf("%llu events in %llu batches (resumed at %llu, %llu retries) in %.2fs; %llu vehicles, "
           "%llu bytes\n",
           (unsigned long long)st.events, (unsigned long long)st.batches,
           (unsigned long long)st.resumed_at, (unsigned long long)st.retries, secs,
           (unsigned long long)nv, (unsigned long long)bytes);
out:
  if (src.close) src.close(src.ctx);
  tt_schema_destroy(schema);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
  return rc;
}

static void print_value(double v) {
  if (isnan(v))
    fputs("null", stdout);
  else
    printf("%.17g", v);
}

static int cmd_get(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"set", required_argument, 0, O_SET},
                                       {"vehicle", required_argument, 0, O_VEHICLE},
                                       {"output", required_argument, 0, O_OUTPUT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *set = NULL, *veh = NULL;
  int output = CLI_OUT_TABLE, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET:
      set = optarg;
      break;
    case O_VEHICLE:
      veh = optarg;
      break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0)
        return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h':
      puts("usage: telltale features get --set S --vehicle V [--output json]\n\n"
           "Print a vehicle's online feature values (config online_store) and the time\n"
           "they are as of. Missing values print as null. Exit 66 if the vehicle has none.");
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  if (!veh) return cli_usage_error("--vehicle V is required");
  tt_feature_set *fs = NULL;
  tt_fengine *eng = NULL;
  tt_online *on = NULL;
  double *vals = NULL;
  int rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  if ((rc = open_online(ctx, fs, &eng, &on, 0))) goto out;
  vals = malloc((tt_feature_set_count(fs) + 1) * sizeof *vals);
  tt_time as_of;
  tt_error err;
  tt_error_clear(&err);
  if (!vals || tt_online_get(on, veh, vals, &as_of, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  char tb[40];
  if (tt_feature_set_axis(fs) == TT_AXIS_COUNTER)
    snprintf(tb, sizeof tb, "%lld", (long long)as_of);
  else
    tt_time_format(as_of, tb, sizeof tb);
  if (output == CLI_OUT_JSON) {
    printf("{\"vehicle_id\":\"%s\",\"as_of\":\"%s\",\"version\":\"%s\",\"features\":{", veh, tb,
           tt_feature_set_version(fs));
    for (size_t i = 0; i < tt_feature_set_count(fs); i++) {
      printf("%s\"%s\":", i ? "," : "", tt_feature_set_at(fs, i)->name);
      print_value(vals[i]);
    }
    puts("}}");
  } else {
    printf("vehicle %s as of %s\n", veh, tb);
    for (size_t i = 0; i < tt_feature_set_count(fs); i++) {
      printf("%-32s ", tt_feature_set_at(fs, i)->name);
      print_value(vals[i]);
      putchar('\n');
    }
  }
out:
  free(vals);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
  return rc;
}

static int cmd_verify(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      {"set", required_argument, 0, O_SET}, {"from", required_argument, 0, O_FROM},
      {"to", required_argument, 0, O_TO},   {"output", required_argument, 0, O_OUTPUT},
      {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
  const char *set = NULL, *from = NULL, *to = NULL;
  int output = CLI_OUT_TABLE, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET:
      set = optarg;
      break;
    case O_FROM:
      from = optarg;
      break;
    case O_TO:
      to = optarg;
      break;
    case O_OUTPUT:
      if ((output = cli_output_parse(optarg)) < 0)
        return cli_usage_error("unknown --output '%s'", optarg);
      break;
    case 'h':
      puts("usage: telltale features verify --set S [--from T] [--to T] [--output json]\n\n"
           "Replay the lake's events in their stored (arrival) order through the online\n"
           "store (config online_store; a separate key namespace) and compare every online\n"
           "value with the offline builder's value at the same (vehicle, time), bit for bit.\n"
           "Times compared: each point after which no earlier event arrives (one per tile).\n"
           "Prints mismatches per feature; exit 0 only when there are none. Holds the\n"
           "replayed range in memory: bound it with --from/--to.");
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  tt_feature_set *fs = NULL;
  int rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  tt_time tf = INT64_MIN, tt = INT64_MAX;
  if ((from && (rc = parse_time_arg(fs, "--from", from, &tf))) ||
      (to && (rc = parse_time_arg(fs, "--to", to, &tt)))) {
    tt_feature_set_destroy(fs);
    return rc;
  }
  char *lake = tt_config_get_path(ctx->cfg, "lake");
  tt_features_verify_report rep;
  tt_error err;
  tt_error_clear(&err);
  if (tt_features_verify(fs, lake, tt_config_get(ctx->cfg, "online_store"), tf, tt, &rep, &err) !=
      TT_OK) {
    rc = cli_fail(&err);
  } else {
    if (output == CLI_OUT_JSON) {
      printf("{\"vehicles\":%llu,\"events\":%llu,\"checkpoints\":%llu,\"values\":%llu,"
             "\"mismatches\":%llu,\"by_feature\":{",
             (unsigned long long)rep.vehicles, (unsigned long long)rep.events,
             (unsigned long long)rep.checkpoints, (unsigned long long)rep.values_compared,
             (unsigned long long)rep.mismatches);
      for (size_t i = 0; i < rep.nfeatures; i++)
        printf("%s\"%s\":%llu", i ? "," : "", tt_feature_set_at(fs, i)->name,
               (unsigned long long)rep.mismatches_by_feature[i]);
      puts("}}");
    } else {
      printf(
          "%llu vehicles, %llu events, %llu checkpoints, %llu values compared: %llu mismatches\n",
          (unsigned long long)rep.vehicles, (unsigned long long)rep.events,
          (unsigned long long)rep.checkpoints, (unsigned long long)rep.values_compared,
          (unsigned long long)rep.mismatches);
      for (size_t i = 0; i < rep.nfeatures; i++)
        if (rep.mismatches_by_feature[i])
          printf("  %-32s %llu\n", tt_feature_set_at(fs, i)->name,
                 (unsigned long long)rep.mismatches_by_feature[i]);
    }
    if (rep.mismatches) rc = CLI_EXIT_FAIL;
  }
  tt_features_verify_report_free(&rep);
  free(lake);
  tt_feature_set_destroy(fs);
  return rc;
}

static int cmd_materialize(cli *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"set", required_argument, 0, O_SET},
                                       {"file", required_argument, 0, O_FILE},
                                       {"ttl", required_argument, 0, O_TTL},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *set = NULL, *file = NULL;
  int ttl = 0, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_SET:
      set = optarg;
      break;
    case O_FILE:
      file = optarg;
      break;
    case O_TTL:
      ttl = atoi(optarg);
      break;
    case 'h':
      puts("usage: telltale features materialize --set S [--file PARQUET] [--ttl SECONDS]\n\n"
           "Load each vehicle's latest offline values (default: every part of the set's\n"
           "current version under LAKE/features/S/) into the online store in bulk.\n"
           "No engine state is loaded: a later stream starts that vehicle's tiles afresh\n"
           "unless the store already holds them.");
      return CLI_EXIT_OK;
    default:
      return CLI_EXIT_USAGE;
    }
  }
  tt_feature_set *fs = NULL;
  tt_fengine *eng = NULL;
  tt_online *on = NULL;
  int rc = load_set(ctx, set, &fs);
  if (rc) return rc;
  if ((rc = open_online(ctx, fs, &eng, &on, ttl))) goto out;
  char *lake = tt_config_get_path(ctx->cfg, "lake");
  tt_error err;
  tt_error_clear(&err);
  uint64_t n = 0;
  if (tt_features_materialize(on, fs, lake, file, &n, &err) != TT_OK)
    rc = cli_fail(&err);
  else
    printf("materialized %llu vehicles\n", (unsigned long long)n);
  free(lake);
out:
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
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
  if (!strcmp(verb, "apply")) return cmd_apply(ctx, argc, argv);
  if (!strcmp(verb, "search")) return cmd_search(ctx, argc, argv);
  if (!strcmp(verb, "diff")) return cmd_diff(ctx, argc, argv);
  if (!strcmp(verb, "stream")) return cmd_stream(ctx, argc, argv);
  if (!strcmp(verb, "get")) return cmd_get(ctx, argc, argv);
  if (!strcmp(verb, "verify")) return cmd_verify(ctx, argc, argv);
  if (!strcmp(verb, "materialize")) return cmd_materialize(ctx, argc, argv);
  return cli_usage_error("unknown verb 'features %s' (see `telltale features --help`)", verb);
}
