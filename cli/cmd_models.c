/* telltale models list|show|alias|history|compare — the model registry.
 * See docs/models.md. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "telltale/models.h"
#include "telltale/registry.h"
#include "telltale/time.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: telltale models list [--output json]\n"
          "       telltale models show REF [--output json]\n"
          "       telltale models alias NAME ALIAS VERSION\n"
          "       telltale models alias --delete NAME ALIAS\n"
          "       telltale models history NAME [ALIAS] [--output json]\n"
          "       telltale models compare REF REF [--output json]\n"
          "\n"
          "The registered model versions (see docs/models.md). REF is NAME (the latest\n"
          "version), NAME:VERSION or NAME@ALIAS.\n"
          "\n"
          "  list      every model: latest version, when, test metrics, aliases\n"
          "  show      one version: metrics per split part, fit verdict, threshold, features\n"
          "            and importance, feature-set versions, fingerprint, artefact\n"
          "  alias     point ALIAS (production, staging, any name) at VERSION, or --delete it;\n"
          "            every change is recorded with time and user\n"
          "  history   the changes of a model's aliases (or of one alias), oldest first\n"
          "  compare   two versions side by side: metrics on validation and test, parameters\n"
          "\n"
          "Options:\n"
          "  --output FMT   text (default) or json\n"
          "  --delete       (alias) remove the alias\n"
          "  -h, --help     this help\n");
}

static json_t *record(const tt_object *o) {
  json_error_t je;
  return json_loads(o->content, 0, &je);
}

static double metric(json_t *rec, const char *part, const char *key) {
  json_t *v = json_object_get(json_object_get(json_object_get(rec, "metrics"), part), key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *headline(json_t *rec) {
  const char *k = json_string_value(json_object_get(rec, "kind"));
  return k && !strcmp(k, "regression") ? "rmse" : "roc_auc";
}

static int do_list(tt_registry *reg, int json) {
  tt_error err = {0};
  tt_object *objs = NULL;
  size_t n = 0;
  if (tt_registry_list(reg, TT_KIND_MODEL, NULL, &objs, &n, &err) != TT_OK) return cli_fail(&err);
  json_t *arr = json_array();
  if (!json) printf("%-24s %7s  %-20s %-14s %8s  %s\n", "NAME", "VERSION", "CREATED", "KIND", "TEST", "ALIASES");
  for (size_t i = 0; i < n; i++) {
    json_t *rec = record(&objs[i]);
    tt_alias *al = NULL;
    size_t na = 0;
    if (tt_registry_alias_list(reg, TT_KIND_MODEL, objs[i].name, &al, &na, &err) != TT_OK) {
      json_decref(rec);
      json_decref(arr);
      tt_objects_free(objs, n);
      return cli_fail(&err);
    }
    char when[40], aliases[512] = "";
    tt_time_format(objs[i].created_at, when, sizeof when);
    when[10] = ' '; /* "2026-11-25 02:04:34" */
    when[19] = '\0';
    json_t *ja = json_object();
    for (size_t a = 0; a < na; a++) {
      size_t l = strlen(aliases);
      snprintf(aliases + l, sizeof aliases - l, "%s%s=%d", a ? " " : "", al[a].alias, al[a].version);
      json_object_set_new(ja, al[a].alias, json_integer(al[a].version));
    }
    const char *h = headline(rec);
    if (json) {
      json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:s?,s:O?,s:o}", "name", objs[i].name, "version",
                                           objs[i].version, "created_at", when, "kind",
                                           json_string_value(json_object_get(rec, "kind")), "test",
                                           json_object_get(json_object_get(rec, "metrics"), "test"),
                                           "aliases", ja));
    } else {
      json_decref(ja);
      printf("%-24s %7d  %-20s %-14s %s=%.4f  %s\n", objs[i].name, objs[i].version, when,
             json_string_value(json_object_get(rec, "kind")), h, metric(rec, "test", h), aliases);
    }
    tt_aliases_free(al, na);
    json_decref(rec);
  }
  if (json) {
    char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
  }
  json_decref(arr);
  tt_objects_free(objs, n);
  return CLI_EXIT_OK;
}

static int do_show(tt_registry *reg, const char *ref, int json) {
  tt_error err = {0};
  tt_object *o = NULL;
  if (tt_registry_get(reg, TT_KIND_MODEL, ref, &o, &err) != TT_OK) return cli_fail(&err);
  json_t *rec = record(o);
  if (json) {
    json_object_set_new(rec, "version", json_integer(o->version));
    json_object_set_new(rec, "created_by", json_string(o->created_by));
    char *s = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
  } else {
    char when[40];
    tt_time_format(o->created_at, when, sizeof when);
    printf("model %s version %d (%s), registered %s by %s\n", o->name, o->version,
           json_string_value(json_object_get(rec, "kind")), when, o->created_by);
    if (*o->description) printf("  %s\n", o->description);
    tt_alias *al = NULL;
    size_t na = 0;
    if (tt_registry_alias_list(reg, TT_KIND_MODEL, o->name, &al, &na, &err) == TT_OK) {
      int any = 0;
      for (size_t a = 0; a < na; a++)
        if (al[a].version == o->version) printf("%s%s", any++ ? ", " : "aliases: ", al[a].alias);
      if (any) printf("\n");
      tt_aliases_free(al, na);
    }
    json_t *tr = json_object_get(rec, "training");
    printf("trained on %s in %.2f s (build %.2f s, xgboost %.2f s), telltale %s, xgboost %s\n",
           json_string_value(json_object_get(rec, "host")),
           json_number_value(json_object_get(rec, "duration_seconds")),
           json_number_value(json_object_get(rec, "build_seconds")),
           json_number_value(json_object_get(tr, "xgboost_seconds")),
           json_string_value(json_object_get(rec, "telltale_version")),
           json_string_value(json_object_get(rec, "xgboost_version")));
    printf("fit: %s — %s\n", json_string_value(json_object_get(tr, "verdict")),
           json_string_value(json_object_get(tr, "verdict_reason")));
    json_t *th = json_object_get(rec, "threshold");
    if (json_is_number(json_object_get(th, "value")))
      printf("threshold: %.4f (%s)\n", json_number_value(json_object_get(th, "value")),
             json_string_value(json_object_get(th, "policy")));
    printf("metrics:");
    const char *parts[] = {"train", "validation", "test"};
    for (int p = 0; p < 3; p++) {
      json_t *m = json_object_get(json_object_get(rec, "metrics"), parts[p]);
      printf("\n  %-10s", parts[p]);
      const char *k;
      json_t *v;
      json_object_foreach(m, k, v) {
        if (json_is_real(v)) printf(" %s=%.4f", k, json_real_value(v));
        else if (json_is_integer(v)) printf(" %s=%lld", k, (long long)json_integer_value(v));
      }
    }
    printf("\nfeature sets:");
    json_t *fs;
    size_t i;
    json_array_foreach(json_object_get(rec, "feature_sets"), i, fs)
      printf(" %s@%.12s", json_string_value(json_object_get(fs, "set")),
             json_string_value(json_object_get(fs, "version")) ? json_string_value(json_object_get(fs, "version")) : "?");
    printf("\nimportance (total gain):\n");
    json_array_foreach(json_object_get(rec, "importance"), i, fs) {
      if (i >= 10) break;
      printf("  %-32s %.4g\n", json_string_value(json_object_get(fs, "feature")),
             json_number_value(json_object_get(fs, "gain")));
    }
    json_t *fp = json_object_get(rec, "fingerprint");
    printf("training rows sha256 %s from %zu lake files\n", json_string_value(json_object_get(fp, "rows_sha256")),
           json_array_size(json_object_get(fp, "lake_files")));
    json_t *art = json_object_get(rec, "artifact");
    printf("artefact %s (sha256 %s)\n", json_string_value(json_object_get(art, "path")),
           json_string_value(json_object_get(art, "sha256")));
  }
  json_decref(rec);
  tt_object_free(o);
  return CLI_EXIT_OK;
}

static int do_alias(tt_registry *reg, int del, int argc, char **argv) {
  tt_error err = {0};
  tt_error_clear(&err);
  if (del) {
    if (argc != 2) return cli_usage_error("usage: telltale models alias --delete NAME ALIAS");
    if (tt_registry_alias_delete(reg, TT_KIND_MODEL, argv[0], argv[1], &err) != TT_OK) return cli_fail(&err);
    printf("deleted alias %s of %s\n", argv[1], argv[0]);
    return CLI_EXIT_OK;
  }
  if (argc != 3) return cli_usage_error("usage: telltale models alias NAME ALIAS VERSION");
  char *end;
  long v = strtol(argv[2], &end, 10);
  if (*end || v < 1) return cli_usage_error("VERSION must be a positive integer, got '%s'", argv[2]);
  /* The version must exist: resolve it first for a clear error. */
  char ref[300];
  snprintf(ref, sizeof ref, "%s:%ld", argv[0], v);
  tt_object *o = NULL;
  if (tt_registry_get(reg, TT_KIND_MODEL, ref, &o, &err) != TT_OK) return cli_fail(&err);
  tt_object_free(o);
  if (tt_registry_alias_set(reg, TT_KIND_MODEL, argv[0], argv[1], (int)v, &err) != TT_OK) return cli_fail(&err);
  printf("%s@%s -> version %ld\n", argv[0], argv[1], v);
  return CLI_EXIT_OK;
}

static int do_history(tt_registry *reg, const char *name, const char *alias, int json) {
  tt_error err = {0};
  tt_alias_change *h = NULL;
  size_t n = 0;
  if (tt_registry_alias_history(reg, TT_KIND_MODEL, name, alias, &h, &n, &err) != TT_OK) return cli_fail(&err);
  json_t *arr = json_array();
  if (!json) printf("%-20s %-14s %5s %5s  %s\n", "WHEN", "ALIAS", "FROM", "TO", "BY");
  for (size_t i = 0; i < n; i++) {
    char when[40];
    tt_time_format(h[i].changed_at, when, sizeof when);
    if (json)
      json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:i,s:s}", "changed_at", when, "alias", h[i].alias,
                                           "from", h[i].old_version, "to", h[i].new_version, "by", h[i].changed_by));
    else {
      char from[16] = "-", to[16] = "-"; /* 0: the alias did not exist / was deleted */
      if (h[i].old_version) snprintf(from, sizeof from, "%d", h[i].old_version);
      if (h[i].new_version) snprintf(to, sizeof to, "%d", h[i].new_version);
      printf("%-20s %-14s %5s %5s  %s\n", when, h[i].alias, from, to, h[i].changed_by);
    }
  }
  if (json) {
    char *s = json_dumps(arr, JSON_INDENT(2));
    printf("%s\n", s);
    free(s);
  }
  json_decref(arr);
  tt_alias_changes_free(h, n);
  return CLI_EXIT_OK;
}

static int do_compare(tt_registry *reg, const char *a, const char *b, int json) {
  tt_error err = {0};
  tt_object *oa = NULL, *ob = NULL;
  if (tt_registry_get(reg, TT_KIND_MODEL, a, &oa, &err) != TT_OK) return cli_fail(&err);
  if (tt_registry_get(reg, TT_KIND_MODEL, b, &ob, &err) != TT_OK) {
    tt_object_free(oa);
    return cli_fail(&err);
  }
  json_t *ra = record(oa), *rb = record(ob);
  if (json) {
    json_t *out = json_pack("{s:{s:s,s:i,s:O,s:O,s:O},s:{s:s,s:i,s:O,s:O,s:O}}", "a", "name", oa->name,
                            "version", oa->version, "metrics", json_object_get(ra, "metrics"), "spec",
                            json_object_get(ra, "spec"), "training", json_object_get(ra, "training"), "b",
                            "name", ob->name, "version", ob->version, "metrics", json_object_get(rb, "metrics"),
                            "spec", json_object_get(rb, "spec"), "training", json_object_get(rb, "training"));
    char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(out);
  } else {
    char ha[200], hb[200];
    snprintf(ha, sizeof ha, "%s:%d", oa->name, oa->version);
    snprintf(hb, sizeof hb, "%s:%d", ob->name, ob->version);
    printf("%-24s %18s %18s\n", "", ha, hb);
    const char *keys[] = {"roc_auc", "pr_auc", "precision", "recall", "f1", "cost", "rmse", "mae"};
    const char *parts[] = {"validation", "test"};
    for (int p = 0; p < 2; p++)
      for (int k = 0; k < 8; k++) {
        double x = metric(ra, parts[p], keys[k]), y = metric(rb, parts[p], keys[k]);
        if (isnan(x) && isnan(y)) continue;
        char label[64];
        snprintf(label, sizeof label, "%s %s", parts[p], keys[k]);
        printf("%-24s %18.4f %18.4f\n", label, x, y);
      }
    json_t *ta = json_object_get(ra, "training"), *tb = json_object_get(rb, "training");
    printf("%-24s %18lld %18lld\n", "best iteration", (long long)json_integer_value(json_object_get(ta, "best_iteration")),
           (long long)json_integer_value(json_object_get(tb, "best_iteration")));
    printf("%-24s %18s %18s\n", "fit", json_string_value(json_object_get(ta, "verdict")),
           json_string_value(json_object_get(tb, "verdict")));
    printf("%-24s %18.4f %18.4f\n", "threshold", json_number_value(json_object_get(json_object_get(ra, "threshold"), "value")),
           json_number_value(json_object_get(json_object_get(rb, "threshold"), "value")));
    json_t *pa = json_object_get(json_object_get(json_object_get(ra, "spec"), "xgboost"), "params");
    json_t *pb = json_object_get(json_object_get(json_object_get(rb, "spec"), "xgboost"), "params");
    const char *k;
    json_t *v;
    json_object_foreach(pa, k, v) {
      const char *w = json_string_value(json_object_get(pb, k));
      printf("%-24s %18s %18s\n", k, json_string_value(v), w ? w : "-");
    }
    json_object_foreach(pb, k, v) if (!json_object_get(pa, k)) printf("%-24s %18s %18s\n", k, "-", json_string_value(v));
    const char *fa = json_string_value(json_object_get(json_object_get(ra, "fingerprint"), "rows_sha256"));
    const char *fb = json_string_value(json_object_get(json_object_get(rb, "fingerprint"), "rows_sha256"));
    printf("%-24s %18s\n", "training rows", fa && fb && !strcmp(fa, fb) ? "identical" : "differ");
  }
  json_decref(ra);
  json_decref(rb);
  tt_object_free(oa);
  tt_object_free(ob);
  return CLI_EXIT_OK;
}

int cmd_models(cli *ctx, int argc, char **argv) {
  int json = 0, del = 0, c;
  enum { OPT_OUTPUT = 256, OPT_DELETE };
  static const struct option opts[] = {{"output", required_argument, 0, OPT_OUTPUT},
                                       {"delete", no_argument, 0, OPT_DELETE},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_OUTPUT: {
      int o = cli_output_parse(optarg);
      if (o != CLI_OUT_TABLE && o != CLI_OUT_JSON) return cli_usage_error("--output wants text or json");
      json = o == CLI_OUT_JSON;
      break;
    }
    case OPT_DELETE: del = 1; break;
    case 'h': usage(stdout); return CLI_EXIT_OK;
    default: usage(stderr); return CLI_EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *verb = argv[optind];
  char **rest = argv + optind + 1;
  int nrest = argc - optind - 1;
  tt_registry *reg = NULL;
  int rc;
  if (strcmp(verb, "list") && strcmp(verb, "show") && strcmp(verb, "alias") && strcmp(verb, "history") &&
      strcmp(verb, "compare"))
    return cli_usage_error("unknown models command '%s' (list, show, alias, history, compare)", verb);
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) return rc;
  if (!strcmp(verb, "list") && nrest == 0) rc = do_list(reg, json);
  else if (!strcmp(verb, "show") && nrest == 1) rc = do_show(reg, rest[0], json);
  else if (!strcmp(verb, "alias")) rc = do_alias(reg, del, nrest, rest);
  else if (!strcmp(verb, "history") && (nrest == 1 || nrest == 2)) rc = do_history(reg, rest[0], nrest == 2 ? rest[1] : NULL, json);
  else if (!strcmp(verb, "compare") && nrest == 2) rc = do_compare(reg, rest[0], rest[1], json);
  else {
    usage(stderr);
    rc = CLI_EXIT_USAGE;
  }
  tt_registry_close(reg);
  return rc;
}
