/* The telltale CLI: a thin layer that parses arguments, calls libtelltale
 * and prints. No behaviour lives here that a service or test would need. */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <stdio.h>

#include "telltale/config.h"
#include "telltale/error.h"

/* Exit codes (documented in docs/telltale.1 and `telltale --help`). They
 * follow sysexits.h where one fits. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAIL = 1,     /* the operation failed */
  CLI_EXIT_USAGE = 64,   /* bad command line */
  CLI_EXIT_DATA = 65,    /* input data invalid (e.g. schema refused) */
  CLI_EXIT_NOINPUT = 66, /* an input could not be read */
  CLI_EXIT_UNAVAILABLE = 69, /* a service (Kafka, Redis, PostgreSQL) is unreachable */
  CLI_EXIT_SOFTWARE = 70,    /* internal error */
  CLI_EXIT_IO = 74,          /* writing output failed */
  CLI_EXIT_CONFIG = 78,      /* configuration error */
};

typedef enum { CLI_OUT_TABLE = 0, CLI_OUT_JSON = 1, CLI_OUT_CSV = 2 } cli_output;

typedef struct cli {
  const char *project_dir; /* -C DIR, default "." */
  tt_config *cfg;          /* effective configuration */
  int stdout_tty, stderr_tty;
} cli;

typedef struct cli_command {
  const char *name;
  int (*run)(cli *ctx, int argc, char **argv); /* argv[0] is the command name */
  const char *summary;
} cli_command;

/* Print "telltale: <formatted error>" to stderr. Returns the exit code that
 * fits the error. */
int cli_fail(const tt_error *err);
int cli_exit_code(tt_err code);
/* Print "telltale: msg" and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse --output VALUE; returns -1 if unknown. */
int cli_output_parse(const char *s);
/* True if argv holds -h/--help before any "--". */
int cli_wants_help(int argc, char **argv);

/* Commands, one file each (cli/cmd_<name>.c). */
int cmd_config(cli *ctx, int argc, char **argv);
int cmd_init(cli *ctx, int argc, char **argv);
int cmd_dev(cli *ctx, int argc, char **argv);
int cmd_replay(cli *ctx, int argc, char **argv);
/* `ingest kafka://…` (cli/cmd_ingest_kafka.c); `ingest` dispatches to it. */
int cmd_ingest_kafka(cli *ctx, int argc, char **argv);
void cmd_ingest_kafka_help(FILE *f);
int cmd_train(cli *ctx, int argc, char **argv);
int cmd_models(cli *ctx, int argc, char **argv);
int cmd_predict(cli *ctx, int argc, char **argv);
int cmd_evaluate(cli *ctx, int argc, char **argv);
/* Open the configured registry (cli/main.c); returns an exit code. */
struct tt_registry;
struct tt_schema;
/* --schema FILE or registry REF, else the registry's latest schema that has
 * the table (cli/cmd_ingest.c). The schema is the caller's to destroy. */
tt_err cli_load_schema(cli *ctx, const char *arg, const char *table, struct tt_schema **out,
                       tt_error *err);
int cli_open_registry(cli *ctx, struct tt_registry **reg);
int cmd_simulate(cli *ctx, int argc, char **argv);
int cmd_schema(cli *ctx, int argc, char **argv);
int cmd_registry(cli *ctx, int argc, char **argv);
int cmd_ingest(cli *ctx, int argc, char **argv);
int cmd_lake(cli *ctx, int argc, char **argv);
int cmd_features(cli *ctx, int argc, char **argv);

#endif
