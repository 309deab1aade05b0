/* telltale predict batch and telltale evaluate — see docs/models.md. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "telltale/hash.h"
#include "telltale/predict.h"
#include "telltale/time.h"

static void predict_usage(FILE *f) {
  fprintf(f,
          "usage: telltale predict batch --model REF [options]\n"
          "\n"
          "Score the fleet with a registered model (REF: NAME@ALIAS, NAME:VERSION or NAME):\n"
          "features as of a time from the offline store (the feature-set version the model\n"
          "was trained with), the probability (or predicted remaining life), the decision at\n"
          "the model's threshold, and the features that contributed most (XGBoost's\n"
          "per-row contributions). Riskiest vehicles first.\n"
          "\n"
          "Options:\n"
          "  --model REF          the model (required)\n"
          "  --as-of T|last       score as of T (ISO 8601 time, or a counter value on counter\n"
          "                       axes), or each vehicle at its own last observation (default)\n"
          "  --vehicles A,B,...   only these vehicles\n"
          "  --shard I/N          only the vehicles of shard I of N (the same sharding as\n"
          "                       feature builds)\n"
          "  --top K              reasons per vehicle (default 3, at most 5)\n"
          "  --limit N            text output: print the N riskiest only\n"
          "  --output DEST        - (stdout, default), FILE (.json: JSON lines, else CSV), or\n"
          "                       lake (LAKE/predictions/…/part-MODEL-vVERSION-ASOF.parquet)\n"
          "  --format FMT         stdout format: text (default), csv or json\n"
          "  -h, --help           this help\n");
}

static void evaluate_usage(FILE *f) {
  fprintf(f,
          "usage: telltale evaluate --model REF [options]\n"
          "\n"
          "Score vehicles whose outcomes are known from the event tables and report the\n"
          "metrics of training (ROC-AUC, PR-AUC, precision/recall/F1 and cost at the model's\n"
          "threshold; RMSE/MAE for remaining life), as JSON. Rows whose outcome is not known\n"
          "(the label window passes the data's end) or that fall in an outage are counted,\n"
          "not scored.\n"
          "\n"
          "Options:\n"
          "  --model REF          the model (required)\n"
          "  --as-of T|last       evaluate as of T, or each vehicle at its own last observation\n"
          "                       (default; the usual protocol for units cut off before failure)\n"
          "  --vehicles A,B,...   only these vehicles\n"
          "  --shard I/N          only shard I of N\n"
          "  -h, --help           this help\n");
}

/* "last", an ISO time, or an integer counter value. */
static int parse_as_of(const char *s, int64_t *out) {
  if (!strcmp(s, "last")) {
    *out = TT_AS_OF_LAST;
    return 0;
  }
  if (tt_time_parse_iso(s, strlen(s), out) == 0) return 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*s && !*end) {
    *out = v;
    return 0;
  }
  return -1;
}

/* Split "a,b,c" in place. */
static size_t split_list(char *s, const char ***out) {
  size_t n = 1;
  for (char *c = s; *c; c++) n += *c == ',';
  const char **l = calloc(n, sizeof *l);
  if (!l) return 0;
  size_t k = 0;
  for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) l[k++] = tok;
  *out = l;
  return k;
}

static int common_opts(int argc, char **argv, int is_eval, tt_predict_opts *o, const char **output,
                       int *format, int *limit, const char ***vehicles) {
  enum { OPT_MODEL = 256, OPT_ASOF, OPT_VEH, OPT_SHARD, OPT_TOP, OPT_OUTPUT, OPT_FORMAT, OPT_LIMIT };
  static const struct option opts[] = {{"model", required_argument, 0, OPT_MODEL},
                                       {"as-of", required_argument, 0, OPT_ASOF},
                                       {"vehicles", required_argument, 0, OPT_VEH},
                                       {"shard", required_argument, 0, OPT_SHARD},
                                       {"top", required_argument, 0, OPT_TOP},
                                       {"output", required_argument, 0, OPT_OUTPUT},
                                       {"format", required_argument, 0, OPT_FORMAT},
                                       {"limit", required_argument, 0, OPT_LIMIT},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (is_eval && (c == OPT_TOP || c == OPT_OUTPUT || c == OPT_FORMAT || c == OPT_LIMIT))
      return cli_usage_error("evaluate has no option --%s", opts[c - OPT_MODEL].name);
    switch (c) {
    case OPT_MODEL: o->model = optarg; break;
    case OPT_ASOF:
      if (parse_as_of(optarg, &o->as_of)) return cli_usage_error("--as-of wants last, an ISO time or a counter value, got '%s'", optarg);
      break;
    case OPT_VEH:
      o->nvehicles = split_list(optarg, vehicles);
      o->vehicles = *vehicles;
      if (!o->nvehicles) return cli_usage_error("--vehicles wants A,B,...");
      break;
    case OPT_SHARD:
      if (tt_shard_parse(optarg, &o->shard, &o->nshards)) return cli_usage_error("--shard wants I/N with 0 <= I < N, got '%s'", optarg);
      break;
    case OPT_TOP:
      o->top_k = atoi(optarg);
      if (o->top_k < 1 || o->top_k > TT_PREDICT_MAX_REASONS) return cli_usage_error("--top wants 1..%d", TT_PREDICT_MAX_REASONS);
      break;
    case OPT_OUTPUT: *output = optarg; break;
    case OPT_FORMAT:
      *format = cli_output_parse(optarg);
      if (*format < 0) return cli_usage_error("--format wants text, csv or json");
      break;
    case OPT_LIMIT: *limit = atoi(optarg); break;
    case 'h': (is_eval ? evaluate_usage : predict_usage)(stdout); return -1;
    default: (is_eval ? evaluate_usage : predict_usage)(stderr); return CLI_EXIT_USAGE;
    }
  }
  if (!o->model) return cli_usage_error("--model REF is required");
  if (optind != argc) return cli_usage_error("unexpected argument '%s'", argv[optind]);
  return CLI_EXIT_OK;
}

static void print_table(const tt_predictions *p, int limit) {
  printf("%-16s %-22s %9s %5s  %s\n", "VEHICLE", "AS OF", p->kind == TT_LABEL_REGRESSION ? "PREDICTED" : "RISK",
         p->kind == TT_LABEL_REGRESSION ? "" : "ALARM", "REASONS");
  for (size_t i = 0; i < p->n && (limit <= 0 || (int)i < limit); i++) {
    const tt_prediction *r = &p->rows[i];
    char t[40];
    if (p->axis == TT_AXIS_KIND_COUNTER) snprintf(t, sizeof t, "%lld", (long long)r->time);
    else tt_time_format(r->time, t, sizeof t);
    printf("%-16s %-22s %9.4f %5s ", r->vehicle, t, (double)r->score, r->alarm < 0 ? "" : r->alarm ? "yes" : "no");
    for (int q = 0; q < r->nreasons; q++) {
      char v[32] = "missing";
      if (!isnan(r->value[q])) snprintf(v, sizeof v, "%.4g", (double)r->value[q]);
      printf("%s %s=%s (%+.2f)", q ? "," : "", r->reason[q], v, (double)r->contribution[q]);
    }
    printf("\n");
  }
}

int cmd_predict(cli *ctx, int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "batch")) {
    if (cli_wants_help(argc, argv)) {
      predict_usage(stdout);
      return CLI_EXIT_OK;
    }
    predict_usage(stderr);
    return CLI_EXIT_USAGE;
  }
  tt_predict_opts o = {.as_of = TT_AS_OF_LAST, .project_dir = ctx->project_dir};
  const char *output = "-";
  const char **vehicles = NULL;
  int format = CLI_OUT_TABLE, limit = 0;
  int rc = common_opts(argc - 1, argv + 1, 0, &o, &output, &format, &limit, &vehicles);
  if (rc) {
    free(vehicles);
    return rc < 0 ? CLI_EXIT_OK : rc;
  }
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) {
    free(vehicles);
    return rc;
  }
  char *lake = tt_config_get_path(ctx->cfg, "lake"), *arts = tt_config_get_path(ctx->cfg, "artifacts");
  o.lake = lake;
  o.artifacts = arts;
  o.reg = reg;
  tt_error err = {0};
  tt_error_clear(&err);
  tt_predictions *p = NULL;
  if (tt_predict_batch(&o, &p, &err) != TT_OK) {
    rc = cli_fail(&err);
    goto out;
  }
  if (!strcmp(output, "lake")) {
    char *path = NULL;
    if (tt_predictions_write_lake(p, lake, o.shard, o.nshards, &path, &err) != TT_OK) {
      rc = cli_fail(&err);
      goto out;
    }
    fprintf(stderr, "wrote %zu predictions of %s:%d to %s\n", p->n, p->model, p->version, path);
    free(path);
  } else if (!strcmp(output, "-")) {
    if (format == CLI_OUT_JSON) rc = tt_predictions_write_json(p, stdout, &err) ? cli_fail(&err) : 0;
    else if (format == CLI_OUT_CSV) rc = tt_predictions_write_csv(p, stdout, &err) ? cli_fail(&err) : 0;
    else print_table(p, limit);
  } else {
    FILE *f = fopen(output, "w");
    if (!f) {
      tt_error_set(&err, TT_IO, "cannot create: %m");
      tt_error_at(&err, output, 0, "--output");
      rc = CLI_EXIT_IO;
      cli_fail(&err);
      goto out;
    }
    size_t len = strlen(output);
    int asjson = len > 5 && !strcmp(output + len - 5, ".json");
    tt_err e = asjson ? tt_predictions_write_json(p, f, &err) : tt_predictions_write_csv(p, f, &err);
    if (fclose(f) != 0 && e == TT_OK) e = tt_error_set(&err, TT_IO, "cannot write: %m");
    if (e != TT_OK) {
      tt_error_at(&err, output, 0, NULL);
      cli_fail(&err);
      rc = CLI_EXIT_IO;
      goto out;
    }
    fprintf(stderr, "wrote %zu predictions of %s:%d to %s\n", p->n, p->model, p->version, output);
  }
out:
  tt_predictions_destroy(p);
  tt_registry_close(reg);
  free(lake), free(arts), free(vehicles);
  return rc;
}

int cmd_evaluate(cli *ctx, int argc, char **argv) {
  tt_predict_opts o = {.as_of = TT_AS_OF_LAST, .project_dir = ctx->project_dir};
  const char *output = NULL;
  const char **vehicles = NULL;
  int format = 0, limit = 0;
  int rc = common_opts(argc, argv, 1, &o, &output, &format, &limit, &vehicles);
  if (rc) {
    free(vehicles);
    return rc < 0 ? CLI_EXIT_OK : rc;
  }
  tt_registry *reg = NULL;
  if ((rc = cli_open_registry(ctx, &reg)) != CLI_EXIT_OK) {
    free(vehicles);
    return rc;
  }
  char *lake = tt_config_get_path(ctx->cfg, "lake"), *arts = tt_config_get_path(ctx->cfg, "artifacts");
  o.lake = lake;
  o.artifacts = arts;
  o.reg = reg;
  tt_error err = {0};
  tt_error_clear(&err);
  char *report = NULL;
  if (tt_evaluate(&o, &report, &err) != TT_OK) rc = cli_fail(&err);
  else printf("%s\n", report);
  free(report);
  tt_registry_close(reg);
  free(lake), free(arts), free(vehicles);
  return rc;
}
