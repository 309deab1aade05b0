/* telltale train SPEC | --reproduce NAME:VERSION — see docs/training.md. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "telltale/models.h"
#include "telltale/progress.h"

#ifndef TT_VERSION
#define TT_VERSION "0.1.0"
#endif

static void usage(FILE *f) {
  fprintf(f,
          "usage: telltale train [options] SPEC\n"
          "       telltale train --reproduce NAME:VERSION [options]\n"
          "\n"
          "Build the training set a model spec (models/NAME.yaml) asks for from the lake\n"
          "(observation spine, labels from the event tables, point-in-time features from the\n"
          "feature store), split it, train XGBoost with early stopping, choose the decision\n"
          "threshold on the validation rows and register a new model version with its\n"
          "metrics, learning curves, fit verdict, feature importance, reference profile,\n"
          "training-data fingerprint and artefact (see docs/training.md, docs/models.md).\n"
          "A progress bar shows boosting rounds on a terminal.\n"
          "\n"
          "Options:\n"
          "  --reproduce REF    rebuild the training set of a registered version (NAME:VERSION)\n"
          "                     from its recorded spec and lake files, retrain, and report\n"
          "                     whether the rows and the model are identical; registers nothing.\n"
          "                     Exit status 1 when either differs.\n"
          "  --threads N        DuckDB threads while building (default: every core)\n"
          "  --output FMT       text (default) or json (the run's registry record)\n"
          "  -h, --help         this help\n");
}

/* The bar is made at the first round, when the maximum is known. */
typedef struct bar_state {
  const char *label;
  tt_progress *bar;
} bar_state;

static int on_round(void *ud, int round, int max, double tr, double va) {
  (void)tr, (void)va;
  bar_state *b = ud;
  if (!b->bar) b->bar = tt_progress_new(b->label, (uint64_t)max, "rounds");
  tt_progress_set(b->bar, (uint64_t)round);
  return 0;
}

static void print_metric_row(json_t *metrics, const char *key) {
  printf("  %-10s", key);
  const char *parts[] = {"train", "validation", "test"};
  for (int p = 0; p < 3; p++) {
    json_t *v = json_object_get(json_object_get(metrics, parts[p]), key);
    if (json_is_number(v)) printf(" %12.4f", json_number_value(v));
    else printf(" %12s", "-");
  }
  printf("\n");
}

static void print_summary(const tt_train_report *r) {
  json_error_t je;
  json_t *rec = json_loads(r->record_json, 0, &je);
  if (!rec) return;
  json_t *rows = json_object_get(rec, "rows"), *pos = json_object_get(rec, "positives");
  json_t *tr = json_object_get(rec, "training");
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  int cls = kind && !strcmp(kind, "classification");
  printf("training set: %lld rows from %zu vehicles (train %lld, validation %lld, test %lld",
         (long long)json_integer_value(json_object_get(rows, "train")) +
             json_integer_value(json_object_get(rows, "validation")) +
             json_integer_value(json_object_get(rows, "test")),
         r->build.vehicles, (long long)json_integer_value(json_object_get(rows, "train")),
         (long long)json_integer_value(json_object_get(rows, "validation")),
         (long long)json_integer_value(json_object_get(rows, "test")));
  if (cls)
    printf("; positives %lld / %lld / %lld", (long long)json_integer_value(json_object_get(pos, "train")),
           (long long)json_integer_value(json_object_get(pos, "validation")),
           (long long)json_integer_value(json_object_get(pos, "test")));
  printf(")\n");
  printf("  dropped: %zu in the split gap, %zu during outages, %zu censored, %zu negatives down-sampled\n",
         r->build.gap_rows, r->build.outage_rows,
         r->build.censored_rows, r->build.downsampled_rows);
  printf("  read %zu lake files; fingerprint %.16s…; built in %.2f s\n", r->build.nfiles, r->fingerprint,
         r->build_seconds);
  printf("xgboost: %lld rounds, best iteration %lld; %s train %.4f, validation %.4f; %.2f s\n",
         (long long)json_integer_value(json_object_get(tr, "rounds_run")),
         (long long)json_integer_value(json_object_get(tr, "best_iteration")),
         json_string_value(json_object_get(tr, "eval_metric")),
         json_number_value(json_object_get(tr, "best_train")),
         json_number_value(json_object_get(tr, "best_validation")), r->xgboost_seconds);
  printf("fit: %s — %s\n", json_string_value(json_object_get(tr, "verdict")),
         json_string_value(json_object_get(tr, "verdict_reason")));
  json_t *th = json_object_get(rec, "threshold");
  if (cls)
    printf("threshold: %.4f (%s, chosen on %s rows)\n", json_number_value(json_object_get(th, "value")),
           json_string_value(json_object_get(th, "policy")), json_string_value(json_object_get(th, "chosen_on")));
  json_t *metrics = json_object_get(rec, "metrics");
  printf("metrics:            train   validation         test\n");
  /* The metrics the spec asks to report, in its order. */
  json_t *wanted = json_object_get(json_object_get(rec, "spec"), "metrics"), *mname;
  size_t mi;
  json_array_foreach(wanted, mi, mname) print_metric_row(metrics, json_string_value(mname));
  json_t *imp = json_object_get(rec, "importance");
  printf("top features (total gain):");
  for (size_t i = 0; i < json_array_size(imp) && i < 5; i++)
    printf("%s %s", i ? "," : "", json_string_value(json_object_get(json_array_get(imp, i), "feature")));
  printf("\n");
  json_decref(rec);
}

int cmd_train(cli *ctx, int argc, char **argv) {
  const char *reproduce = NULL;
  int threads = 0, json = 0;
  enum { OPT_REPRODUCE = 256, OPT_THREADS, OPT_OUTPUT };
  static const struct option opts[] = {{"reproduce", required_argument, 0, OPT_REPRODUCE},
                                       {"threads", required_argument, 0, OPT_THREADS},
                                       {"output", required_argument, 0, OPT_OUTPUT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_REPRODUCE: reproduce = optarg; break;
    case OPT_THREADS: threads = atoi(optarg); break;
    case OPT_OUTPUT: {
      int o = cli_output_parse(optarg);
      if (o != CLI_OUT_TABLE && o != CLI_OUT_JSON) return cli_usage_error("--output wants text or json");
      json = o == CLI_OUT_JSON;
      break;
    }
    case 'h': usage(stdout); return CLI_EXIT_OK;
    default: usage(stderr); return CLI_EXIT_USAGE;
    }
  }
  if ((reproduce != NULL) == (optind < argc) || argc - optind > 1) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  tt_error err = {0};
  tt_error_clear(&err);
  tt_registry *reg = NULL;
  int rc = cli_open_registry(ctx, &reg);
  if (rc != CLI_EXIT_OK) return rc;
  char *lake = tt_config_get_path(ctx->cfg, "lake"), *arts = tt_config_get_path(ctx->cfg, "artifacts");
  bar_state bar = {reproduce ? "reproduce" : "train", NULL};
  tt_train_opts o = {.project_dir = ctx->project_dir, .lake = lake, .artifacts = arts, .reg = reg,
                     .telltale_version = TT_VERSION, .progress = on_round, .progress_ud = &bar,
                     .threads = threads,
                     .xgb_threads = (int)tt_config_get_int(ctx->cfg, "train.threads")};
  tt_train_report rep;
  tt_err e = reproduce ? tt_train_reproduce(reproduce, &o, &rep, &err)
                       : tt_train_run(argv[optind], &o, &rep, &err);
  tt_progress_finish(bar.bar);
  if (e != TT_OK) {
    rc = cli_fail(&err);
  } else if (json) {
    printf("%s\n", rep.record_json);
  } else if (reproduce) {
    printf("reproduced %s: training rows %s (%.16s… vs recorded %.16s…), model %s\n", reproduce,
           rep.rows_identical ? "identical" : "DIFFERENT", rep.fingerprint, rep.original_fingerprint,
           rep.model_identical ? "identical" : "DIFFERENT");
    rc = rep.rows_identical && rep.model_identical ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  } else {
    printf("model %s version %d registered\n", rep.name, rep.version);
    print_summary(&rep);
  }
  if (e == TT_OK && reproduce && json) rc = rep.rows_identical && rep.model_identical ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  if (e == TT_OK) tt_train_report_free(&rep);
  tt_registry_close(reg);
  free(lake);
  free(arts);
  return rc;
}
