/* One training run on a built training set: boost, choose the threshold,
 * measure every split part, and write down everything the registry keeps
 * about the run (the record JSON, see docs/models.md). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xgboost/c_api.h>

#include "telltale/models.h"
#include "telltale/time.h"

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

void tt_fit_destroy(tt_fit *f) {
  if (!f) return;
  tt_booster_destroy(f->booster);
  tt_train_result_free(&f->train);
  free(f->record_json);
  free(f);
}

/* Rows of one part: scores and labels gathered into s and y; returns n. */
static size_t gather(const tt_trainset *ts, const float *pred, int part, float *s, float *y) {
  size_t k = 0;
  for (size_t i = 0; i < ts->nrows; i++)
    if (ts->part[i] == part) {
      s[k] = pred[i];
      y[k++] = ts->y[i];
    }
  return k;
}

static json_t *part_metrics(const tt_model_spec *spec, const float *s, const float *y, size_t n,
                            double thr) {
  if (spec->label.kind == TT_LABEL_REGRESSION) {
    tt_reg_metrics m;
    tt_metrics_regression(s, y, n, &m);
    return json_pack("{s:I,s:o,s:o,s:o}", "n", (json_int_t)n, "rmse", num(m.rmse), "mae", num(m.mae),
                     "mean_y", num(m.mean_y));
  }
  tt_class_metrics m;
  if (tt_metrics_classification(s, y, n, thr, spec->threshold.cost_false_alarm,
                                spec->threshold.cost_missed_failure, &m) != TT_OK)
    return NULL;
  return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:o}", "n", (json_int_t)n,
                   "positives", (json_int_t)m.positives, "roc_auc", num(m.roc_auc), "pr_auc",
                   num(m.pr_auc), "precision", num(m.precision), "recall", num(m.recall), "f1",
                   num(m.f1), "cost", num(m.cost), "logloss", num(m.logloss), "tp", (json_int_t)m.tp,
                   "fp", (json_int_t)m.fp, "tn", (json_int_t)m.tn, "fn", (json_int_t)m.fn,
                   "threshold", num(thr));
}

static json_t *curve(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, num(v[i]));
  return a;
}

typedef struct imp {
  const char *name;
  double gain;
} imp;
static int by_gain(const void *a, const void *b) {
  double x = ((const imp *)a)->gain, y = ((const imp *)b)->gain;
  return (x < y) - (x > y);
}

tt_err tt_fit_run(const tt_model_spec *spec, const tt_trainset *ts, const tt_fit_context *ctx,
                  tt_train_progress_fn cb, void *ud, tt_fit **out, tt_error *err) {
  tt_err rc = TT_OK;
  double t0 = tt_monotonic();
  tt_time started = tt_time_now();
  float *pred = NULL, *s = NULL, *y = NULL;
  double *gain = NULL;
  imp *order = NULL;
  json_t *rec = NULL;
  char *profile = NULL, *specjson = NULL;
  *out = NULL;
  tt_fit *f = calloc(1, sizeof *f);
  if (!f) return tt_error_set(err, TT_NOMEM, "out of memory");
  if ((rc = tt_booster_train(spec, ts, cb, ud, &f->booster, &f->train, err)) != TT_OK) goto out;
  size_t n = ts->nrows, nf = ts->nfeatures;
  pred = malloc((n ? n : 1) * sizeof *pred);
  s = malloc((n ? n : 1) * sizeof *s);
  y = malloc((n ? n : 1) * sizeof *y);
  gain = calloc(nf ? nf : 1, sizeof *gain);
  order = calloc(nf ? nf : 1, sizeof *order);
  if (!pred || !s || !y || !gain || !order) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = tt_booster_predict(f->booster, ts->x, n, nf, pred, err)) != TT_OK) goto out;
  int cls = spec->label.kind == TT_LABEL_CLASSIFICATION;
  const char *thr_from = "none";
  f->threshold = NAN;
  if (cls) {
    /* The threshold is a model choice: pick it on validation rows, never on
     * test rows (fall back to the training rows without validation). */
    size_t k = gather(ts, pred, TT_PART_VALIDATION, s, y);
    thr_from = "validation";
    size_t pos = 0;
    for (size_t i = 0; i < k; i++) pos += y[i] > 0.5f;
    if (!pos) {
      k = gather(ts, pred, TT_PART_TRAIN, s, y);
      thr_from = "train";
    }
    if (tt_threshold_choose(&spec->threshold, s, y, k, &f->threshold) != TT_OK) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
  }
  json_t *metrics = json_object();
  for (int p = TT_PART_TRAIN; p <= TT_PART_TEST; p++) {
    size_t k = gather(ts, pred, p, s, y);
    json_t *m = part_metrics(spec, s, y, k, f->threshold);
    if (!m) {
      json_decref(metrics);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    json_object_set_new(metrics, tt_split_part_name((tt_split_part)p), m);
  }
  if ((rc = tt_booster_importance(f->booster, nf, (const char *const *)ts->feature_names, gain, err)) != TT_OK) {
    json_decref(metrics);
    goto out;
  }
  json_t *importance = json_array();
  for (size_t j = 0; j < nf; j++) order[j] = (imp){ts->feature_names[j], gain[j]};
  qsort(order, nf, sizeof *order, by_gain);
  for (size_t j = 0; j < nf; j++)
    json_array_append_new(importance, json_pack("{s:s,s:o}", "feature", order[j].name, "gain", num(order[j].gain)));
  tt_trainset_fingerprint(ts, f->fingerprint);
  profile = tt_profile_json(ts);
  specjson = tt_model_spec_to_json(spec);
  if (!profile || !specjson) {
    json_decref(metrics);
    json_decref(importance);
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  size_t counts[4], positives[4];
  tt_trainset_counts(ts, counts, positives);
  json_t *rows = json_object();
  json_t *rowpos = json_object();
  for (int p = 0; p < 4; p++) {
    json_object_set_new(rows, tt_split_part_name((tt_split_part)p), json_integer((json_int_t)counts[p]));
    json_object_set_new(rowpos, tt_split_part_name((tt_split_part)p), json_integer((json_int_t)positives[p]));
  }
  json_t *feats = json_array();
  for (size_t j = 0; j < nf; j++) json_array_append_new(feats, json_string(ts->feature_names[j]));
  json_t *sets = json_array();
  for (size_t i = 0; i < spec->nfeatures; i++)
    json_array_append_new(sets, json_pack("{s:s,s:s?}", "set", spec->features[i].set, "version",
                                          ctx && ctx->feature_set_versions ? ctx->feature_set_versions[i]
                                                                          : spec->features[i].version));
  json_t *files = json_array();
  for (size_t i = 0; ctx && i < ctx->nlake_files; i++) json_array_append_new(files, json_string(ctx->lake_files[i]));
  const tt_train_result *tr = &f->train;
  json_t *training = json_pack(
      "{s:s,s:i,s:i,s:o,s:o,s:o,s:o,s:o,s:s,s:s,s:o}", "eval_metric", tr->eval_metric, "rounds_run",
      tr->rounds_run, "best_iteration", tr->best_iteration, "best_train", num(tr->best_train),
      "best_validation", num(tr->best_valid), "baseline_validation", num(tr->baseline_valid),
      "train_curve", curve(tr->train_curve, tr->rounds_run), "validation_curve",
      curve(tr->valid_curve, tr->rounds_run), "verdict", tr->verdict, "verdict_reason",
      tr->verdict_reason, "xgboost_seconds", num(tr->seconds));
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  char when[40], asof[40] = "";
  tt_time_format(started, when, sizeof when);
  if (ctx && ctx->as_of) tt_time_format(ctx->as_of, asof, sizeof asof);
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  char xgbv[32];
  snprintf(xgbv, sizeof xgbv, "%d.%d.%d", major, minor, patch);
  json_error_t jerr;
  rec = json_object();
  json_object_set_new(rec, "name", json_string(spec->name));
  json_object_set_new(rec, "description", json_string(spec->description ? spec->description : ""));
  json_object_set_new(rec, "kind", json_string(cls ? "classification" : "regression"));
  json_object_set_new(rec, "spec", json_loads(specjson, 0, &jerr));
  json_object_set_new(rec, "spec_yaml", ctx && ctx->spec_yaml ? json_string(ctx->spec_yaml) : json_null());
  json_object_set_new(rec, "feature_sets", sets);
  json_object_set_new(rec, "feature_names", feats);
  json_object_set_new(rec, "threshold", json_pack("{s:s,s:o,s:s}", "policy",
                                                  cls ? tt_threshold_policy_name(spec->threshold.policy) : "none",
                                                  "value", num(f->threshold), "chosen_on", thr_from));
  json_object_set_new(rec, "metrics", metrics);
  json_object_set_new(rec, "rows", rows);
  json_object_set_new(rec, "positives", rowpos);
  json_object_set_new(rec, "training", training);
  json_object_set_new(rec, "importance", importance);
  json_object_set_new(rec, "profile", json_loads(profile, 0, &jerr));
  json_object_set_new(rec, "fingerprint", json_pack("{s:s,s:o}", "rows_sha256", f->fingerprint, "lake_files", files));
  json_object_set_new(rec, "as_of", asof[0] ? json_string(asof) : json_null());
  json_object_set_new(rec, "trained_at", json_string(when));
  f->seconds_total = tt_monotonic() - t0;
  json_object_set_new(rec, "build_seconds", num(ctx ? ctx->build_seconds : 0));
  json_object_set_new(rec, "duration_seconds", num(f->seconds_total + (ctx ? ctx->build_seconds : 0)));
  json_object_set_new(rec, "host", json_string(host));
  json_object_set_new(rec, "telltale_version", json_string(ctx && ctx->telltale_version ? ctx->telltale_version : "unknown"));
  json_object_set_new(rec, "xgboost_version", json_string(xgbv));
  f->record_json = json_dumps(rec, JSON_PRESERVE_ORDER | JSON_COMPACT);
  if (!f->record_json) rc = tt_error_set(err, TT_NOMEM, "out of memory");
out:
  json_decref(rec);
  free(pred), free(s), free(y), free(gain), free(order), free(profile), free(specjson);
  if (rc != TT_OK) tt_fit_destroy(f);
  else *out = f;
  return rc;
}
