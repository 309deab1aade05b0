/* telltale schema validate|register|show|list|diff — dataset schemas and
 * their versions in the registry. Parsing, validation, diffing and storage
 * are the library's (schema.h, registry.h); this file parses arguments and
 * prints. */
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "telltale/registry.h"
#include "telltale/schema.h"
#include "telltale/time.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: telltale schema <verb> [options]\n"
          "\n"
          "Dataset schemas (YAML, see docs/schema.md) and their versions in the registry.\n"
          "\n"
          "Verbs:\n"
          "  validate [FILE...]             check schema files; print nothing but errors\n"
          "  register [--force] [FILE...]   register schema files as new versions\n"
          "  show NAME[:VERSION|@ALIAS] [--output table|json]\n"
          "                                 a registered schema (latest version by default)\n"
          "  list [--output table|json]     every registered schema, latest version of each\n"
          "  diff NAME[:VERSION] [FILE|NAME:VERSION]\n"
          "                                 changes from a registered version to a file (default\n"
          "                                 schemas/NAME.yaml) or another version\n"
          "\n"
          "FILE defaults to every schemas/*.yaml of the project (-C DIR).\n"
          "\n"
          "register: a file identical to a stored version prints that version and adds\n"
          "nothing. Adding a table or an optional column makes a new version; removing,\n"
          "retyping a column or changing its unit, making one required, or changing a table's\n"
          "kind, entity or time axis is refused (exit 65) with the diff, unless --force.\n"
          "\n"
          "Exit codes: 0 ok (diff: compatible), 1 failed, 64 usage, 65 invalid schema or\n"
          "incompatible change, 66 file or schema not found, 69 registry unreachable,\n"
          "78 configuration.\n"
          "The registry is the `registry` property (default sqlite:telltale.db).\n");
}

/* FILE arguments, or every schemas/NAME.yaml of the project (sorted). The list is
 * the caller's (free each and the array). */
static int schema_files(cli *ctx, int argc, char **argv, char ***files, size_t *n) {
  *files = NULL;
  *n = 0;
  if (argc > 0) {
    *files = calloc((size_t)argc, sizeof **files);
    if (!*files) return CLI_EXIT_SOFTWARE;
    for (int i = 0; i < argc; i++)
      (*files)[(*n)++] = strdup(argv[i]);
    return CLI_EXIT_OK;
  }
  char pattern[4096];
  const char *dir = tt_config_project_dir(ctx->cfg);
  if (!strcmp(dir, "."))
    snprintf(pattern, sizeof pattern, "schemas/*.yaml");
  else
    snprintf(pattern, sizeof pattern, "%s/schemas/*.yaml", dir);
  glob_t g;
  int r = glob(pattern, 0, NULL, &g);
  if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
    fprintf(stderr, "telltale: no schema files: nothing matches %s\n", pattern);
    globfree(&g);
    return CLI_EXIT_NOINPUT;
  }
  if (r != 0) return CLI_EXIT_NOINPUT;
  *files = calloc(g.gl_pathc, sizeof **files);
  if (!*files) {
    globfree(&g);
    return CLI_EXIT_SOFTWARE;
  }
  for (size_t i = 0; i < g.gl_pathc; i++)
    (*files)[(*n)++] = strdup(g.gl_pathv[i]);
  globfree(&g);
  return CLI_EXIT_OK;
}

static void free_files(char **files, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(files[i]);
  free(files);
}

/* Print a diff report, each line indented. */
static void print_report(FILE *f, const char *report) {
  for (const char *p = report; *p;) {
    size_t n = strcspn(p, "\n");
    fprintf(f, "  %.*s\n", (int)n, p);
    p += n + (p[n] == '\n');
  }
}

static int worse(int a, int b) { return a ? a : b; }

static int cmd_validate(cli *ctx, int argc, char **argv) {
  char **files;
  size_t n;
  int rc = schema_files(ctx, argc - 1, argv + 1, &files, &n);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) {
    tt_schema *s = NULL;
    tt_error err;
    tt_error_clear(&err);
    if (tt_schema_parse_file(files[i], &s, &err) != TT_OK) rc = worse(rc, cli_fail(&err));
    tt_schema_destroy(s);
  }
  free_files(files, n);
  return rc;
}

static int cmd_register(cli *ctx, int argc, char **argv) {
  int force = 0, c;
  static const struct option opts[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
    if (c == 'f')
      force = 1;
    else
      return CLI_EXIT_USAGE;
  }
  char **files;
  size_t n;
  int rc = schema_files(ctx, argc - optind, argv + optind, &files, &n);
  if (rc) return rc;
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) {
    free_files(files, n);
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    tt_schema *s = NULL;
    tt_error err;
    tt_error_clear(&err);
    if (tt_schema_parse_file(files[i], &s, &err) != TT_OK) {
      rc = worse(rc, cli_fail(&err));
      continue;
    }
    int created = 0;
    char *report = NULL;
    tt_err r = tt_registry_schema_register(reg, s, force, &created, &report, &err);
    if (r == TT_OK) {
      printf("%s: %s version %d (%s)\n", files[i], tt_schema_name(s), tt_schema_version(s),
             created ? "registered" : "unchanged");
      if (report) print_report(stdout, report);
    } else {
      if (err.file[0] == '\0') tt_error_at(&err, files[i], 0, NULL);
      rc = worse(rc, cli_fail(&err));
      if (report) print_report(stderr, report);
    }
    free(report);
    tt_schema_destroy(s);
  }
  tt_registry_close(reg);
  free_files(files, n);
  return rc;
}

/* To the second: the microseconds are in --output json's created_at. */
static const char *fmt_time(int64_t t, char *buf, size_t size) {
  tt_time_format(t - t % 1000000, buf, size);
  return buf;
}

static int parse_output(int argc, char **argv, int *output, int *first_arg) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  int c;
  *output = CLI_OUT_TABLE;
  while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
    if (c != 'o') return CLI_EXIT_USAGE;
    *output = cli_output_parse(optarg);
    if (*output != CLI_OUT_TABLE && *output != CLI_OUT_JSON)
      return cli_usage_error("--output: table or json, not '%s'", optarg);
  }
  *first_arg = optind;
  return CLI_EXIT_OK;
}

static void show_table(const tt_schema *s, const tt_object *o) {
  char when[40];
  printf("schema %s version %d\n", o->name, o->version);
  printf("registered %s by %s, sha256 %s\n", fmt_time(o->created_at, when, sizeof when),
         o->created_by, o->sha256);
  if (tt_schema_description(s)[0]) printf("%s\n", tt_schema_description(s));
  for (size_t i = 0; i < tt_schema_table_count(s); i++) {
    const tt_table_def *t = tt_schema_table_at(s, i);
    printf("\ntable %s (%s): entity %s, time %s (%s, %s)\n", t->name, tt_table_kind_name(t->kind),
           t->entity_column, t->time_column, tt_time_axis_name(t->axis), t->axis_unit);
    if (t->description[0]) printf("  %s\n", t->description);
    printf("  %-24s %-10s %-8s %-9s %-12s %-12s %s\n", "COLUMN", "TYPE", "UNIT", "REQUIRED", "MIN",
           "MAX", "DESCRIPTION");
    for (size_t c = 0; c < t->ncolumns; c++) {
      const tt_column_def *col = &t->columns[c];
      char lo[32] = "", hi[32] = "";
      if (col->has_min) snprintf(lo, sizeof lo, "%g", col->min);
      if (col->has_max) snprintf(hi, sizeof hi, "%g", col->max);
      printf("  %-24s %-10s %-8s %-9s %-12s %-12s %s\n", col->name, tt_type_name(col->type),
             col->unit, col->required ? "yes" : "no", lo, hi, col->description);
    }
  }
}

/* {"name","version","sha256","created_at","created_by","description",...}
 * plus extra (stolen). */
static json_t *object_json(const tt_object *o, json_t *extra_key_value, const char *extra_key) {
  char when[40];
  json_t *j = json_object();
  json_object_set_new(j, "name", json_string(o->name));
  json_object_set_new(j, "version", json_integer(o->version));
  json_object_set_new(j, "sha256", json_string(o->sha256));
  json_object_set_new(j, "created_at",
                      json_string(tt_time_format(o->created_at, when, sizeof when)));
  json_object_set_new(j, "created_by", json_string(o->created_by));
  json_object_set_new(j, "description", json_string(o->description));
  if (extra_key) json_object_set_new(j, extra_key, extra_key_value);
  return j;
}

static int print_json(json_t *j) {
  int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 ? CLI_EXIT_OK : CLI_EXIT_IO;
  putchar('\n');
  json_decref(j);
  return rc;
}

static int cmd_show(cli *ctx, int argc, char **argv) {
  int output, first;
  int rc = parse_output(argc, argv, &output, &first);
  if (rc) return rc;
  if (argc - first != 1) return cli_usage_error("schema show wants one NAME[:VERSION]");
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) return rc;
  tt_error err;
  tt_error_clear(&err);
  tt_object *o = NULL;
  tt_schema *s = NULL;
  if (tt_registry_get(reg, TT_KIND_SCHEMA, argv[first], &o, &err) != TT_OK ||
      tt_schema_from_json(o->content, &s, &err) != TT_OK) {
    rc = cli_fail(&err);
  } else if (output == CLI_OUT_JSON) {
    rc = print_json(object_json(o, json_loads(o->content, 0, NULL), "schema"));
  } else {
    show_table(s, o);
  }
  tt_schema_destroy(s);
  tt_object_free(o);
  tt_registry_close(reg);
  return rc;
}

static int cmd_list(cli *ctx, int argc, char **argv) {
  int output, first;
  int rc = parse_output(argc, argv, &output, &first);
  if (rc) return rc;
  if (argc != first) return cli_usage_error("schema list takes no arguments");
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) return rc;
  tt_error err;
  tt_error_clear(&err);
  tt_object *objs = NULL;
  size_t n = 0;
  if (tt_registry_list(reg, TT_KIND_SCHEMA, NULL, &objs, &n, &err) != TT_OK) {
    rc = cli_fail(&err);
  } else if (output == CLI_OUT_JSON) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
      json_t *tables = json_array();
      for (size_t t = 0; t < objs[i].ntags; t++)
        json_array_append_new(tables, json_string(objs[i].tags[t]));
      json_array_append_new(arr, object_json(&objs[i], tables, "tables"));
    }
    rc = print_json(arr);
  } else {
    printf("%-24s %-7s %-20s %-12s %s\n", "NAME", "VERSION", "REGISTERED", "BY", "TABLES");
    for (size_t i = 0; i < n; i++) {
      char when[40], tables[512] = "";
      for (size_t t = 0; t < objs[i].ntags; t++)
        snprintf(tables + strlen(tables), sizeof tables - strlen(tables), "%s%s", t ? "," : "",
                 objs[i].tags[t]);
      printf("%-24s %-7d %-20s %-12s %s\n", objs[i].name, objs[i].version,
             fmt_time(objs[i].created_at, when, sizeof when), objs[i].created_by, tables);
    }
  }
  tt_objects_free(objs, n);
  tt_registry_close(reg);
  return rc;
}

/* A file if it exists or looks like one, otherwise a registry reference. */
static int looks_like_file(const char *s) {
  struct stat st;
  size_t n = strlen(s);
  return stat(s, &st) == 0 || strchr(s, '/') ||
         (n > 5 && (!strcmp(s + n - 5, ".yaml") || !strcmp(s + n - 4, ".yml")));
}

static int cmd_diff(cli *ctx, int argc, char **argv) {
  if (argc < 2 || argc > 3)
    return cli_usage_error("schema diff wants NAME[:VERSION] [FILE|NAME:VERSION]");
  tt_registry *reg = NULL;
  int rc = cli_open_registry(ctx, &reg);
  if (rc) return rc;
  tt_error err;
  tt_error_clear(&err);
  tt_schema *a = NULL, *b = NULL;
  char *report = NULL;
  char path[4096];
  int compatible = 0;
  if (tt_registry_schema_get(reg, argv[1], &a, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  if (argc == 2) {
    snprintf(path, sizeof path, "%s/schemas/%s.yaml", tt_config_project_dir(ctx->cfg),
             tt_schema_name(a));
  } else {
    snprintf(path, sizeof path, "%s", argv[2]);
  }
  tt_err r = argc == 3 && !looks_like_file(argv[2]) ? tt_registry_schema_get(reg, argv[2], &b, &err)
                                                    : tt_schema_parse_file(path, &b, &err);
  if (r != TT_OK || tt_schema_diff(a, b, &compatible, &report, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  if (!*report)
    printf("no changes\n");
  else
    fputs(report, stdout);
  rc = compatible ? CLI_EXIT_OK : CLI_EXIT_DATA;
out:
  free(report);
  tt_schema_destroy(a);
  tt_schema_destroy(b);
  tt_registry_close(reg);
  return rc;
}

int cmd_schema(cli *ctx, int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
  }
  if (cli_wants_help(argc - 1, argv + 1)) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  const char *verb = argv[1];
  argc--;
  argv++;
  if (!strcmp(verb, "validate")) return cmd_validate(ctx, argc, argv);
  if (!strcmp(verb, "register")) return cmd_register(ctx, argc, argv);
  if (!strcmp(verb, "show")) return cmd_show(ctx, argc, argv);
  if (!strcmp(verb, "list")) return cmd_list(ctx, argc, argv);
  if (!strcmp(verb, "diff")) return cmd_diff(ctx, argc, argv);
  return cli_usage_error("unknown schema verb '%s' (see `telltale schema --help`)", verb);
}
