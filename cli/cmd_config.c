/* telltale config show — the effective configuration and where each value
 * came from. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/json_escape.h"

static void help(FILE *f) {
  fprintf(f,
          "usage: telltale config show [--output table|json] [--all]\n"
          "\n"
          "Print the effective configuration: each property, its value and where the\n"
          "value came from (default, file, env, flag). --all adds each property's\n"
          "description. Precedence: defaults < telltale.yaml < TELLTALE_* < --set.\n");
}

int cmd_config(cli *ctx, int argc, char **argv) {
  if (cli_wants_help(argc, argv) || argc < 2) {
    help(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  if (strcmp(argv[1], "show")) return cli_usage_error("config: unknown verb '%s'", argv[1]);
  int out = CLI_OUT_TABLE, all = 0, c;
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'}, {"all", no_argument, 0, 'a'}, {0, 0, 0, 0}};
  while ((c = getopt_long(argc - 1, argv + 1, "o:", opts, NULL)) != -1) {
    if (c == 'o' && (out = cli_output_parse(optarg)) < 0)
      return cli_usage_error("unknown --output '%s'", optarg);
    if (c == 'a') all = 1;
    if (c == '?') return CLI_EXIT_USAGE;
  }
  size_t n = tt_config_property_count();
  if (out == CLI_OUT_JSON) {
    printf("{\"project\":");
    tt_json_write_string(stdout, tt_config_project_dir(ctx->cfg));
    printf(",\"file\":");
    if (tt_config_file(ctx->cfg)) tt_json_write_string(stdout, tt_config_file(ctx->cfg));
    else printf("null");
    printf(",\"properties\":[");
    for (size_t i = 0; i < n; i++) {
      const tt_config_property *p = tt_config_property_at(i);
      printf("%s{\"name\":", i ? "," : "");
      tt_json_write_string(stdout, p->name);
      printf(",\"value\":");
      tt_json_write_string(stdout, tt_config_get(ctx->cfg, p->name));
      printf(",\"source\":\"%s\"", tt_config_source_name(tt_config_get_source(ctx->cfg, p->name)));
      if (all) {
        printf(",\"default\":");
        tt_json_write_string(stdout, p->default_value);
        printf(",\"description\":");
        tt_json_write_string(stdout, p->description);
      }
      printf("}");
    }
    printf("]}\n");
    return CLI_EXIT_OK;
  }
  printf("# project %s, file %s\n", tt_config_project_dir(ctx->cfg),
         tt_config_file(ctx->cfg) ? tt_config_file(ctx->cfg) : "(none)");
  for (size_t i = 0; i < n; i++) {
    const tt_config_property *p = tt_config_property_at(i);
    printf("%-24s %-32s %s\n", p->name, tt_config_get(ctx->cfg, p->name),
           tt_config_source_name(tt_config_get_source(ctx->cfg, p->name)));
    if (all) printf("    %s (default: %s)\n", p->description, p->default_value);
  }
  return CLI_EXIT_OK;
}
