/* telltale registry info|search — the metadata store as a whole, across
 * kinds (schemas, feature sets, models). Kind-specific verbs live with
 * their nouns (`schema`, `models`, …). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "telltale/registry.h"
#include "telltale/time.h"

static void usage(FILE *f) {
  fprintf(f, "usage: telltale registry info [--output table|json]\n"
             "       telltale registry search TEXT [--kind KIND] [--output table|json]\n"
             "\n"
             "The registry (metadata store) chosen by the `registry` property:\n"
             "sqlite:PATH (default sqlite:telltale.db, relative to the project) or\n"
             "postgresql://USER@HOST:PORT/DB. See docs/registry.md.\n"
             "\n"
             "  info      backend, URL (passwords hidden), layout version, and how many\n"
             "            names and versions of each kind it holds\n"
             "  search    versions whose name, description, tags or content contain TEXT\n"
             "            (case-insensitive), by kind, name, version\n"
             "\n"
             "Options:\n"
             "  --kind KIND       only this kind (schema, feature_set, model, …)\n"
             "  --output FORMAT   table (default) or json\n"
             "\n"
             "Exit codes: 0 ok, 1 failed, 64 usage, 69 registry unreachable, 78 configuration.\n");
}

/* Options shared by the verbs; positional arguments are left from *first. */
static int parse_opts(int argc, char **argv, int *output, const char **kind, int *first) {
  static const struct option opts[] = {
      {"output", required_argument, 0, 'o'}, {"kind", required_argument, 0, 'k'}, {0, 0, 0, 0}};
  int c;
  *output = CLI_OUT_TABLE;
  *kind = NULL;
  while ((c = getopt_long(argc, argv, "o:k:", opts, NULL)) != -1) {
    if (c == 'k') {
      *kind = optarg;
    } else if (c == 'o') {
      *output = cli_output_parse(optarg);
      if (*output != CLI_OUT_TABLE && *output != CLI_OUT_JSON)
        return cli_usage_error("--output: table or json, not '%s'", optarg);
    } else {
      return CLI_EXIT_USAGE;
    }
  }
  *first = optind;
  return CLI_EXIT_OK;
}

static int print_json(json_t *j) {
  int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
  putchar('\n');
  json_decref(j);
  return rc;
}

static int do_info(cli *ctx, tt_registry *reg, int output) {
  tt_error err;
  tt_error_clear(&err);
  int layout = 0;
  tt_registry_kind_stats *st = NULL;
  size_t n = 0;
  if (tt_registry_stats(reg, &layout, &st, &n, &err) != TT_OK) return cli_fail(&err);
  char *url = tt_registry_url_redact(tt_config_get(ctx->cfg, "registry"));
  int rc = CLI_EXIT_OK;
  if (output == CLI_OUT_JSON) {
    json_t *j = json_object(), *kinds = json_object();
    json_object_set_new(j, "url", json_string(url ? url : ""));
    json_object_set_new(j, "backend", json_string(tt_registry_backend(reg)));
    json_object_set_new(j, "layout_version", json_integer(layout));
    for (size_t i = 0; i < n; i++)
      json_object_set_new(kinds, st[i].kind,
                          json_pack("{s:I,s:I}", "names", (json_int_t)st[i].names, "versions",
                                    (json_int_t)st[i].versions));
    json_object_set_new(j, "kinds", kinds);
    rc = print_json(j);
  } else {
    printf("url              %s\n", url ? url : "");
    printf("backend          %s\n", tt_registry_backend(reg));
    printf("layout version   %d\n", layout);
    printf("\n%-16s %8s %9s\n", "KIND", "NAMES", "VERSIONS");
    for (size_t i = 0; i < n; i++)
      printf("%-16s %8zu %9zu\n", st[i].kind, st[i].names, st[i].versions);
  }
  free(url);
  tt_registry_stats_free(st, n);
  return rc;
}

static int do_search(tt_registry *reg, const char *text, const char *kind, int output) {
  tt_error err;
  tt_error_clear(&err);
  tt_object *objs = NULL;
  size_t n = 0;
  if (tt_registry_search(reg, kind, text, &objs, &n, &err) != TT_OK) return cli_fail(&err);
  int rc = CLI_EXIT_OK;
  if (output == CLI_OUT_JSON) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      char when[40];
      json_t *tags = json_array();
      for (size_t t = 0; t < objs[i].ntags; t++)
        json_array_append_new(tags, json_string(objs[i].tags[t]));
      json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o}", "kind",
                                           objs[i].kind, "name", objs[i].name, "version",
                                           objs[i].version, "sha256", objs[i].sha256, "created_at",
                                           tt_time_format(objs[i].created_at, when, sizeof when),
                                           "created_by", objs[i].created_by, "description",
                                           objs[i].description, "tags", tags));
    }
    rc = print_json(arr);
  } else {
    printf("%-12s %-24s %-7s %-20s %-12s %s\n", "KIND", "NAME", "VERSION", "REGISTERED", "BY",
           "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
      char when[40];
      tt_time_format(objs[i].created_at - objs[i].created_at % 1000000, when, sizeof when);
      printf("%-12s %-24s %-7d %-20s %-12s %s\n", objs[i].kind, objs[i].name, objs[i].version, when,
             objs[i].created_by, objs[i].description);
    }
  }
  tt_objects_free(objs, n);
  return rc;
}

int cmd_registry(cli *ctx, int argc, char **argv) {
  if (argc < 2 || cli_wants_help(argc, argv)) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  const char *verb = argv[1];
  if (strcmp(verb, "info") && strcmp(verb, "search"))
    return cli_usage_error("unknown registry verb '%s' (see `telltale registry --help`)", verb);
  int output, first = 0;
  const char *kind;
  int rc = parse_opts(argc - 1, argv + 1, &output, &kind, &first);
  if (rc) return rc;
  first += 1; /* parse_opts saw argv + 1 */
  int npos = argc - first;
  if (!strcmp(verb, "info") && (npos != 0 || kind))
    return cli_usage_error("registry info takes no arguments");
  if (!strcmp(verb, "search") && npos != 1)
    return cli_usage_error("registry search wants one TEXT");
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) return rc;
  rc =
      !strcmp(verb, "info") ? do_info(ctx, reg, output) : do_search(reg, argv[first], kind, output);
  tt_registry_close(reg);
  return rc;
}
