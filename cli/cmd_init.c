/* telltale init DIR — create a project. The files it writes come from the
 * library (tt_project_init) so that tests and services can make projects
 * too. */
#include <stdio.h>

#include "cli.h"
#include "telltale/project.h"

int cmd_init(cli *ctx, int argc, char **argv) {
  (void)ctx;
  if (cli_wants_help(argc, argv) || argc != 2) {
    fprintf(argc == 2 ? stdout : stderr,
            "usage: telltale init DIR\n"
            "\n"
            "Create a project in DIR: telltale.yaml (lake path, registry URL, online store\n"
            "URL, Kafka brokers), an example schema (schemas/fleet.yaml) and the example\n"
            "feature and model files of the stages that define them. Existing files are\n"
            "kept, never overwritten.\n");
    return argc == 2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
  }
  tt_error err;
  tt_error_clear(&err);
  if (tt_project_init(argv[1], &err) != TT_OK) return cli_fail(&err);
  printf("created project in %s\n", argv[1]);
  return CLI_EXIT_OK;
}
