/* telltale — predictive maintenance for vehicle fleets.
 *
 * `telltale [global options] <command> [options]`: the global options choose
 * the project and logging; each command lives in cli/cmd_<name>.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "telltale/log.h"
#include "telltale/registry.h"

#ifndef TT_VERSION
#define TT_VERSION "0.1.0"
#endif

static const cli_command commands[] = {
    {"init", cmd_init, "create a project directory"},
    {"config", cmd_config, "show the effective configuration"},
    {"train", cmd_train, "train a model spec and register the model"},
    {"models", cmd_models, "list, show, alias and compare registered models"},
    {"predict", cmd_predict, "score the fleet with a registered model (predict batch)"},
    {"evaluate", cmd_evaluate, "evaluate a model on vehicles with known outcomes"},
    {"simulate", cmd_simulate, "write a simulated fleet's telemetry and event files"},
    {"schema", cmd_schema, "validate, register, show, list and diff dataset schemas"},
    {"registry", cmd_registry, "registry (metadata store) info and search across kinds"},
    {"ingest", cmd_ingest, "validate files and write them to the lake"},
    {"lake", cmd_lake, "query the lake with SQL, show its statistics"},
    {"features", cmd_features, "feature sets: build offline, stream online, verify"},
    {"dev", cmd_dev, "development services (dev kafka: a local Kafka broker)"},
    {"replay", cmd_replay, "publish telemetry files to Kafka, one message per record"},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *f) {
  fprintf(f,
          "usage: telltale [global options] <command> [options]\n"
          "\n"
          "telltale turns vehicle telemetry into fault predictions.\n"
          "\n"
          "Global options:\n"
          "  -C DIR               run in project directory DIR (default: .)\n"
          "  --set KEY=VALUE      override a configuration property (repeatable)\n"
          "  --log-format FMT     text (default) or json\n"
          "  --log-level LEVEL    debug, info (default), warn, error, quiet\n"
          "  -h, --help           this help; `telltale <command> --help` for a command\n"
          "  --version            print the version\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(f, "  %-20s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "Configuration: PROJECT/telltale.yaml, overridden by TELLTALE_* environment\n"
          "variables, overridden by --set. See `telltale config show`.\n"
          "\n"
          "Exit codes: 0 ok, 1 failed, 64 usage, 65 invalid data, 66 input unreadable,\n"
          "69 service unavailable, 70 internal error, 74 output error, 78 configuration.\n");
}

int cli_exit_code(tt_err code) {
  switch (code) {
  case TT_OK: return CLI_EXIT_OK;
  case TT_INVALID: return CLI_EXIT_USAGE;
  case TT_PARSE:
  case TT_SCHEMA:
  case TT_INCOMPATIBLE: return CLI_EXIT_DATA;
  case TT_NOTFOUND: return CLI_EXIT_NOINPUT;
  case TT_KAFKA:
  case TT_REDIS: return CLI_EXIT_UNAVAILABLE;
  case TT_CONFIG: return CLI_EXIT_CONFIG;
  case TT_INTERNAL:
  case TT_NOMEM: return CLI_EXIT_SOFTWARE;
  default: return CLI_EXIT_FAIL;
  }
}

int cli_fail(const tt_error *err) {
  char buf[1200];
  fprintf(stderr, "telltale: %s\n", tt_error_format(err, buf, sizeof buf));
  /* A database server (PostgreSQL registry) that does not answer is a
   * service being down, not a failed operation. */
  if (err->code == TT_DB && strstr(err->msg, "cannot connect")) return CLI_EXIT_UNAVAILABLE;
  return cli_exit_code(err->code);
}

int cli_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("telltale: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_EXIT_USAGE;
}

int cli_open_registry(cli *ctx, tt_registry **reg) {
  tt_error err;
  tt_error_clear(&err);
  if (tt_registry_open(tt_config_get(ctx->cfg, "registry"), tt_config_project_dir(ctx->cfg), reg,
                       &err) == TT_OK)
    return CLI_EXIT_OK;
  return cli_fail(&err);
}

int cli_output_parse(const char *s) {
  if (!strcmp(s, "table") || !strcmp(s, "text")) return CLI_OUT_TABLE;
  if (!strcmp(s, "json")) return CLI_OUT_JSON;
  if (!strcmp(s, "csv")) return CLI_OUT_CSV;
  return -1;
}

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) return 0;
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  cli ctx = {.project_dir = ".", .stdout_tty = isatty(1), .stderr_tty = isatty(2)};
  const char *log_format = NULL, *log_level = NULL;
  enum { OPT_SET = 256, OPT_LOG_FORMAT, OPT_LOG_LEVEL, OPT_VERSION };
  static const struct option opts[] = {
      {"set", required_argument, 0, OPT_SET},
      {"log-format", required_argument, 0, OPT_LOG_FORMAT},
      {"log-level", required_argument, 0, OPT_LOG_LEVEL},
      {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, OPT_VERSION},
      {0, 0, 0, 0},
  };
  /* Collect --set pairs first; they apply after the config file is read. */
  char **sets = calloc((size_t)argc, sizeof *sets);
  int nsets = 0, c;
  if (!sets) return CLI_EXIT_SOFTWARE;
  /* '+': stop at the first non-option, which is the command. */
  while ((c = getopt_long(argc, argv, "+C:h", opts, NULL)) != -1) {
    switch (c) {
    case 'C': ctx.project_dir = optarg; break;
    case OPT_SET: sets[nsets++] = optarg; break;
    case OPT_LOG_FORMAT: log_format = optarg; break;
    case OPT_LOG_LEVEL: log_level = optarg; break;
    case 'h': usage(stdout); free(sets); return CLI_EXIT_OK;
    case OPT_VERSION: printf("telltale %s\n", TT_VERSION); free(sets); return CLI_EXIT_OK;
    default: usage(stderr); free(sets); return CLI_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    free(sets);
    return CLI_EXIT_USAGE;
  }
  int cmd_index = optind;
  const char *name = argv[cmd_index];
  const cli_command *cmd = NULL;
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (!strcmp(commands[i].name, name)) cmd = &commands[i];
  if (!cmd) {
    free(sets);
    return cli_usage_error("unknown command '%s' (see `telltale --help`)", name);
  }

  tt_error err;
  tt_error_clear(&err);
  int rc = CLI_EXIT_OK;
  /* `init` creates the project, so it must not fail on its config. */
  if (tt_config_load(&ctx.cfg, ctx.project_dir, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  for (int i = 0; i < nsets; i++) {
    char *eq = strchr(sets[i], '=');
    if (!eq) {
      rc = cli_usage_error("--set wants KEY=VALUE, got '%s'", sets[i]);
      goto out;
    }
    *eq = '\0';
    if (tt_config_set(ctx.cfg, sets[i], eq + 1, TT_CONFIG_FLAG, &err) != TT_OK) {
      rc = cli_fail(&err);
      goto out;
    }
  }
  if (log_format && tt_config_set(ctx.cfg, "log.format", log_format, TT_CONFIG_FLAG, &err)) {
    rc = cli_fail(&err);
    goto out;
  }
  if (log_level && tt_config_set(ctx.cfg, "log.level", log_level, TT_CONFIG_FLAG, &err)) {
    rc = cli_fail(&err);
    goto out;
  }
  tt_log_configure((tt_log_format)tt_log_format_parse(tt_config_get(ctx.cfg, "log.format")),
                   (tt_log_level)tt_log_level_parse(tt_config_get(ctx.cfg, "log.level")));

  optind = 0; /* commands run their own getopt_long over their argv; 0 resets it */
  rc = cmd->run(&ctx, argc - cmd_index, argv + cmd_index);
out:
  tt_config_destroy(ctx.cfg);
  free(sets);
  return rc;
}
