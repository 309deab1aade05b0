/* telltale lake query|stats — SQL over the lake and what it holds. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/json_escape.h"
#include "telltale/ingest.h"
#include "telltale/lake.h"
#include "telltale/time.h"

static void help(FILE *f) {
  fprintf(f,
          "usage: telltale lake query [--output table|csv|json] SQL\n"
          "       telltale lake stats [--output table|json]\n"
          "\n"
          "query  Run SQL (DuckDB dialect) over the lake. Each table directory is a view of\n"
          "       the same name reading its Parquet files with Hive partitioning (so\n"
          "       `date` is a column of timestamped tables); the dead-letter table is\n"
          "       \"_deadletter\" (columns reason, detail, field, source, line, raw,\n"
          "       ingested_at, table_name).\n"
          "stats  Per table: rows, files, bytes, partitions, time range, vehicles.\n"
          "\n"
          "The lake directory is the `lake` property (telltale.yaml, TELLTALE_LAKE, --set).\n");
}

static tt_err open_lake(cli *ctx, tt_lake **lake, tt_error *err) {
  char *root = tt_config_get_path(ctx->cfg, "lake");
  if (!root) return tt_error_set(err, TT_NOMEM, "out of memory");
  tt_err rc = tt_lake_open(root, 0, lake, err);
  free(root);
  return rc;
}

static int lake_query(cli *ctx, int argc, char **argv) {
  int out = CLI_OUT_TABLE, c;
  static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
    if (c == 'o' && (out = cli_output_parse(optarg)) < 0)
      return cli_usage_error("lake query: unknown --output '%s'", optarg);
    if (c == '?') return CLI_EXIT_USAGE;
  }
  if (optind != argc - 1) return cli_usage_error("lake query: want exactly one SQL argument");
  tt_error err;
  tt_error_clear(&err);
  tt_lake *lake;
  if (open_lake(ctx, &lake, &err)) return cli_fail(&err);
  tt_lake_format fmt = out == CLI_OUT_JSON ? TT_LAKE_JSON : out == CLI_OUT_CSV ? TT_LAKE_CSV : TT_LAKE_TABLE;
  tt_err rc = tt_lake_query(lake, argv[optind], fmt, stdout, NULL, &err);
  tt_lake_close(lake);
  if (rc) return rc == TT_IO ? (cli_fail(&err), CLI_EXIT_IO) : cli_fail(&err);
  return CLI_EXIT_OK;
}

static void fmt_time(const tt_lake_table_stats *s, int64_t v, char *buf, size_t size) {
  if (!s->has_time) snprintf(buf, size, "-");
  else if (s->time_is_timestamp) tt_time_format(v, buf, size);
  else snprintf(buf, size, "%lld", (long long)v);
}

static int lake_stats(cli *ctx, int argc, char **argv) {
  int out = CLI_OUT_TABLE, c;
  static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
    if (c == 'o' && ((out = cli_output_parse(optarg)) < 0 || out == CLI_OUT_CSV))
      return cli_usage_error("lake stats: unknown --output '%s' (table, json)", optarg);
    if (c == '?') return CLI_EXIT_USAGE;
  }
  tt_error err;
  tt_error_clear(&err);
  tt_lake *lake;
  if (open_lake(ctx, &lake, &err)) return cli_fail(&err);
  /* The registry's schema names the time and entity columns; without one
   * the usual names are guessed. */
  tt_schema *schema = NULL;
  if (tt_ingest_schema_lookup(tt_config_get(ctx->cfg, "registry"), tt_config_project_dir(ctx->cfg),
                              NULL, &schema, NULL) != TT_OK)
    schema = NULL;
  tt_lake_table_stats *s;
  size_t n;
  tt_err rc = tt_lake_stats(lake, schema, &s, &n, &err);
  tt_schema_destroy(schema);
  tt_lake_close(lake);
  if (rc) return cli_fail(&err);
  char a[40], b[40];
  if (out == CLI_OUT_JSON) {
    printf("{\"lake\":");
    char *root = tt_config_get_path(ctx->cfg, "lake");
    tt_json_write_string(stdout, root ? root : "");
    free(root);
    printf(",\"tables\":[");
    for (size_t i = 0; i < n; i++) {
      printf("%s{\"name\":", i ? "," : "");
      tt_json_write_string(stdout, s[i].name);
      printf(",\"rows\":%llu,\"files\":%llu,\"bytes\":%llu,\"partitions\":%llu",
             (unsigned long long)s[i].rows, (unsigned long long)s[i].files,
             (unsigned long long)s[i].bytes, (unsigned long long)s[i].partitions);
      if (s[i].has_time) {
        fmt_time(&s[i], s[i].time_min, a, sizeof a);
        fmt_time(&s[i], s[i].time_max, b, sizeof b);
        printf(",\"time_column\":");
        tt_json_write_string(stdout, s[i].time_column);
        if (s[i].time_is_timestamp) printf(",\"time_min\":\"%s\",\"time_max\":\"%s\"", a, b);
        else printf(",\"time_min\":%s,\"time_max\":%s", a, b);
      }
      if (s[i].entity_column[0]) printf(",\"vehicles\":%llu", (unsigned long long)s[i].vehicles);
      printf("}");
    }
    printf("]}\n");
  } else {
    printf("%-16s %12s %7s %12s %10s  %-20s  %-20s %9s\n", "table", "rows", "files", "bytes",
           "partitions", "from", "to", "vehicles");
    for (size_t i = 0; i < n; i++) {
      fmt_time(&s[i], s[i].time_min, a, sizeof a);
      fmt_time(&s[i], s[i].time_max, b, sizeof b);
      char v[24];
      if (s[i].entity_column[0]) snprintf(v, sizeof v, "%llu", (unsigned long long)s[i].vehicles);
      else snprintf(v, sizeof v, "-");
      printf("%-16s %12llu %7llu %12llu %10llu  %-20s  %-20s %9s\n", s[i].name,
             (unsigned long long)s[i].rows, (unsigned long long)s[i].files,
             (unsigned long long)s[i].bytes, (unsigned long long)s[i].partitions, a, b, v);
    }
    if (n == 0) printf("(the lake is empty)\n");
  }
  free(s);
  return CLI_EXIT_OK;
}

int cmd_lake(cli *ctx, int argc, char **argv) {
  if (argc < 2 || (cli_wants_help(argc, argv) && argc >= 2)) {
    help(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  if (!strcmp(argv[1], "query")) return lake_query(ctx, argc - 1, argv + 1);
  if (!strcmp(argv[1], "stats")) return lake_stats(ctx, argc - 1, argv + 1);
  return cli_usage_error("lake: unknown verb '%s' (query, stats)", argv[1]);
}
