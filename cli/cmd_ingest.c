/* telltale ingest — files into the lake, validated, with dead letters. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "telltale/ingest.h"
#include "telltale/lake.h"
#include "telltale/progress.h"
#include "telltale/registry.h"
#include "telltale/time.h"

static void help(FILE *f) {
  fprintf(f,
          "usage: telltale ingest [options] PATH...\n"
          "       telltale ingest kafka://BROKERS/TOPIC [options]   (streaming, see below)\n"
          "\n"
          "Validate CSV and JSON-lines files against the table's schema and write them to\n"
          "the lake as zstd Parquet, partitioned by date. PATH is a file, a directory\n"
          "(read recursively, hidden entries skipped) or '-' for stdin. Invalid records go\n"
          "to the dead-letter table (_deadletter) with their reason; nothing is dropped.\n"
          "Re-running is safe: chunks already ingested are skipped, so a file is never\n"
          "ingested twice, and an interrupted run (even kill -9) completes on re-run.\n"
          "\n"
          "Options:\n"
          "  --table T            table of every input (default: from each file name,\n"
          "                       telemetry-2026-01-01.csv -> telemetry; required for '-')\n"
          "  --schema FILE|REF    schema file (YAML/JSON) or registry reference NAME[:VERSION];\n"
          "                       default: the latest registered schema with the table\n"
          "  --format F           auto (default: by extension, else first byte), csv, jsonl\n"
          "  --threads N          worker threads (ingest.threads; 0 = one per core)\n"
          "  --output FMT         summary as table (default) or json\n"
          "  --no-progress        no progress bar (it is shown only on a terminal anyway)\n"
          "  -h, --help           this help\n"
          "\n"
          "CSV: comma, semicolon, tab or whitespace-separated, with or without a header row\n"
          "(without one, the fields are the schema's columns in order), one record per\n"
          "line. Timestamps: ISO 8601 or epoch s/ms/us. Booleans: true/false, 1/0, yes/no.\n"
          "\n"
          "Configuration: ingest.chunk_bytes, ingest.threads, ingest.max_record_bytes, lake,\n"
          "registry. Reasons in the summary: parse, too_long, invalid_utf8, field_count,\n"
          "unknown_column, missing_required, wrong_type, out_of_range.\n"
          "\n"
          "Exit: 0 all inputs read (even with dead letters), 66 an input could not be read,\n"
          "65 no schema/table for an input, 1 writing the lake failed.\n");
}

/* The library reports bytes done/total; the shared bar draws them. */
static void on_progress(void *ud, uint64_t done, uint64_t total) {
  tt_progress **bar = ud;
  if (!*bar) *bar = tt_progress_new("ingest", total, "B");
  tt_progress_set(*bar, done);
}

static void print_summary(const tt_ingest_stats *st, int json, double secs) {
  if (json) {
    printf("{\"files\":%llu,\"files_failed\":%llu,\"files_skipped\":%llu,\"bytes\":%llu,\"read\":%llu,\"written\":%llu,"
           "\"deadlettered\":%llu,\"already_ingested\":%llu,\"chunks\":%llu,"
           "\"chunks_skipped\":%llu,\"seconds\":%.3f,\"by_reason\":{",
           (unsigned long long)st->files, (unsigned long long)st->files_failed,
           (unsigned long long)st->files_skipped, (unsigned long long)st->bytes, (unsigned long long)st->read,
           (unsigned long long)st->written, (unsigned long long)st->deadlettered,
           (unsigned long long)st->skipped, (unsigned long long)st->chunks,
           (unsigned long long)st->chunks_skipped, secs);
    for (int i = 0; i < TT_REJECT_COUNT; i++)
      printf("%s\"%s\":%llu", i ? "," : "", tt_reject_name((tt_reject_reason)i),
             (unsigned long long)st->by_reason[i]);
    printf("}}\n");
    return;
  }
  printf("files          %llu (%.1f MB)%s\n", (unsigned long long)st->files, st->bytes / 1e6,
         st->files_failed ? ", some unreadable" : "");
  if (st->files_skipped)
    printf("skipped files  %llu (no table of that name)\n", (unsigned long long)st->files_skipped);
  printf("read           %llu\n", (unsigned long long)st->read);
  printf("written        %llu\n", (unsigned long long)st->written);
  printf("dead-lettered  %llu\n", (unsigned long long)st->deadlettered);
  for (int i = 0; i < TT_REJECT_COUNT; i++)
    if (st->by_reason[i])
      printf("  %-16s %llu\n", tt_reject_name((tt_reject_reason)i),
             (unsigned long long)st->by_reason[i]);
  if (st->chunks_skipped)
    printf("already in lake %llu records (%llu chunks skipped)\n", (unsigned long long)st->skipped,
           (unsigned long long)st->chunks_skipped);
  if (secs > 0 && st->read > st->skipped)
    printf("rate           %.0f records/s\n", (double)(st->read - st->skipped) / secs);
}

/* --schema FILE or REF, else the registry's latest schema with the table.
 * Shared with `ingest kafka://…` (cli/cmd_ingest_kafka.c). */
tt_err cli_load_schema(cli *ctx, const char *arg, const char *table, tt_schema **out,
                       tt_error *err) {
  if (arg && access(arg, F_OK) == 0) return tt_schema_parse_file(arg, out, err);
  if (arg) {
    tt_registry *reg;
    tt_err rc = tt_registry_open(tt_config_get(ctx->cfg, "registry"),
                                 tt_config_project_dir(ctx->cfg), &reg, err);
    if (rc) return rc;
    rc = tt_registry_schema_get(reg, arg, out, err);
    tt_registry_close(reg);
    return rc;
  }
  return tt_ingest_schema_lookup(tt_config_get(ctx->cfg, "registry"),
                                 tt_config_project_dir(ctx->cfg), table, out, err);
}

int cmd_ingest(cli *ctx, int argc, char **argv) {
  /* A kafka:// source is the streaming consumer (cli/cmd_ingest_kafka.c). */
  for (int i = 1; i < argc; i++)
    if (!strncmp(argv[i], "kafka://", 8)) return cmd_ingest_kafka(ctx, argc, argv);
  if (cli_wants_help(argc, argv)) {
    help(stdout);
    fputs("\n", stdout);
    cmd_ingest_kafka_help(stdout);
    return CLI_EXIT_OK;
  }
  const char *table = NULL, *schema_arg = NULL;
  int out = CLI_OUT_TABLE, no_progress = 0, c;
  tt_ingest_options opt = {0};
  static const struct option opts[] = {
      {"table", required_argument, 0, 't'},  {"schema", required_argument, 0, 's'},
      {"format", required_argument, 0, 'f'}, {"threads", required_argument, 0, 'j'},
      {"output", required_argument, 0, 'o'}, {"no-progress", no_argument, 0, 'P'},
      {0, 0, 0, 0}};
  tt_error err;
  tt_error_clear(&err);
  while ((c = getopt_long(argc, argv, "t:s:f:j:o:", opts, NULL)) != -1) {
    switch (c) {
    case 't': table = optarg; break;
    case 's': schema_arg = optarg; break;
    case 'f':
      if (!strcmp(optarg, "csv")) opt.format = TT_FORMAT_CSV;
      else if (!strcmp(optarg, "jsonl") || !strcmp(optarg, "json")) opt.format = TT_FORMAT_JSONL;
      else if (!strcmp(optarg, "auto")) opt.format = TT_FORMAT_AUTO;
      else return cli_usage_error("ingest: unknown --format '%s' (auto, csv, jsonl)", optarg);
      break;
    case 'j':
      if (tt_config_set(ctx->cfg, "ingest.threads", optarg, TT_CONFIG_FLAG, &err))
        return cli_fail(&err);
      break;
    case 'o':
      if ((out = cli_output_parse(optarg)) < 0 || out == CLI_OUT_CSV)
        return cli_usage_error("ingest: unknown --output '%s' (table, json)", optarg);
      break;
    case 'P': no_progress = 1; break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (optind >= argc) return cli_usage_error("ingest: no input (see `telltale ingest --help`)");
  for (int i = optind; i < argc; i++)
    if (!strcmp(argv[i], "-") && !table)
      return cli_usage_error("ingest: reading stdin needs --table");

  tt_schema *schema = NULL;
  tt_lake *lake = NULL;
  int rc = CLI_EXIT_OK;
  if (cli_load_schema(ctx, schema_arg, table, &schema, &err)) {
    rc = cli_fail(&err);
    goto out;
  }
  char *root = tt_config_get_path(ctx->cfg, "lake");
  /* One DuckDB thread: parallelism comes from the ingest workers, each
   * running its own COPY; more DuckDB threads only spin against them. */
  tt_err e = root ? tt_lake_open(root, 1, &lake, &err) : tt_error_set(&err, TT_NOMEM, "oom");
  free(root);
  if (e) {
    rc = cli_fail(&err);
    goto out;
  }
  tt_progress *bar = NULL;
  opt.table = table;
  opt.schema = schema;
  opt.chunk_bytes = (size_t)tt_config_get_int(ctx->cfg, "ingest.chunk_bytes");
  opt.threads = (int)tt_config_get_int(ctx->cfg, "ingest.threads");
  opt.max_record_bytes = (size_t)tt_config_get_int(ctx->cfg, "ingest.max_record_bytes");
  if (!no_progress) {
    opt.progress = on_progress;
    opt.progress_ud = &bar;
  }
  tt_ingest_stats st;
  double t0 = tt_monotonic();
  e = tt_ingest_paths(lake, (const char *const *)argv + optind, (size_t)(argc - optind), &opt,
                      &st, &err);
  double secs = tt_monotonic() - t0;
  tt_progress_finish(bar);
  print_summary(&st, out == CLI_OUT_JSON, secs);
  if (e) {
    rc = cli_fail(&err);
    /* An unreadable input is "no input", whatever the errno was. */
    if (st.files_failed && (e == TT_IO || e == TT_NOTFOUND)) rc = CLI_EXIT_NOINPUT;
  }
out:
  tt_lake_close(lake);
  tt_schema_destroy(schema);
  return rc;
}
