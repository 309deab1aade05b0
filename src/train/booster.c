/* XGBoost through its C API: boosting with early stopping, learning
 * curves, the fit verdict, prediction, contributions and importance.
 *
 * XGBoost keeps its last error message in thread-local storage that the
 * next call overwrites, so every failing call is turned into a tt_error at
 * once (xgb_fail). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "telltale/time.h"
#include "telltale/train.h"

struct tt_booster {
  BoosterHandle h;
};

static tt_err xgb_fail(tt_error *err, const char *what) {
  return tt_error_set(err, TT_MODEL, "XGBoost %s: %s", what, XGBGetLastError());
}

#define XGB(call, what)                                                                            \
  do {                                                                                             \
    if ((call) != 0) {                                                                             \
      rc = xgb_fail(err, what);                                                                    \
      goto out;                                                                                    \
    }                                                                                              \
  } while (0)

void tt_train_result_free(tt_train_result *r) {
  if (!r) return;
  free(r->train_curve);
  free(r->valid_curve);
  r->train_curve = r->valid_curve = NULL;
}

void tt_booster_destroy(tt_booster *b) {
  if (!b) return;
  if (b->h) XGBoosterFree(b->h);
  free(b);
}

/* A DMatrix of the rows of `part` (features and labels copied). *n gets
 * the row count; *out stays NULL when there are no rows. */
static tt_err dmatrix_of_part(const tt_trainset *ts, int part, DMatrixHandle *out, size_t *n,
                              tt_error *err) {
  tt_err rc = TT_OK;
  *out = NULL;
  size_t k = 0, nf = ts->nfeatures;
  for (size_t i = 0; i < ts->nrows; i++) k += ts->part[i] == part;
  *n = k;
  if (!k) return TT_OK;
  float *x = malloc(k * (nf ? nf : 1) * sizeof *x), *y = malloc(k * sizeof *y);
  if (!x || !y) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  k = 0;
  for (size_t i = 0; i < ts->nrows; i++) {
    if (ts->part[i] != part) continue;
    memcpy(x + k * nf, ts->x + i * nf, nf * sizeof *x);
    y[k++] = ts->y[i];
  }
  XGB(XGDMatrixCreateFromMat(x, (bst_ulong)k, (bst_ulong)nf, NAN, out), "DMatrix");
  XGB(XGDMatrixSetFloatInfo(*out, "label", y, (bst_ulong)k), "labels");
  XGB(XGDMatrixSetStrFeatureInfo(*out, "feature_name", (const char **)ts->feature_names, (bst_ulong)nf),
      "feature names");
out:
  if (rc != TT_OK && *out) {
    XGDMatrixFree(*out);
    *out = NULL;
  }
  free(x);
  free(y);
  return rc;
}

static int higher_is_better(const char *metric) {
  return !strncmp(metric, "auc", 3) || !strncmp(metric, "aucpr", 5) || !strncmp(metric, "map", 3) ||
         !strncmp(metric, "ndcg", 4) || !strncmp(metric, "pre", 3);
}

/* "[3]\ttrain-logloss:0.41\tvalid-logloss:0.52": the last value reported
 * for each set (the last eval_metric is the one early stopping follows,
 * as in XGBoost's own callbacks). */
static void parse_eval(const char *s, double *train, double *valid, char *metric, size_t msize) {
  *train = *valid = NAN;
  for (const char *p = strchr(s, '\t'); p; p = strchr(p + 1, '\t')) {
    const char *name = p + 1, *dash = strchr(name, '-'), *colon = strchr(name, ':');
    if (!dash || !colon || colon < dash) continue;
    double v = strtod(colon + 1, NULL);
    if (!strncmp(name, "train-", 6)) *train = v;
    else if (!strncmp(name, "valid-", 6)) *valid = v;
    size_t ml = (size_t)(colon - dash - 1);
    if (ml >= msize) ml = msize - 1;
    memcpy(metric, dash + 1, ml);
    metric[ml] = '\0';
  }
}

static int has_param(const tt_xgb_def *x, const char *key) {
  for (size_t i = 0; i < x->nparams; i++)
    if (!strcmp(x->param_keys[i], key)) return 1;
  return 0;
}

/* The metric of predicting the training mean everywhere, on the
 * validation rows: the bar a model must clear not to be underfit. */
static double baseline(const char *metric, const tt_trainset *ts) {
  double sum = 0, n = 0;
  for (size_t i = 0; i < ts->nrows; i++)
    if (ts->part[i] == TT_PART_TRAIN) sum += ts->y[i], n++;
  if (!n) return NAN;
  double m = sum / n, acc = 0, cnt = 0;
  for (size_t i = 0; i < ts->nrows; i++) {
    if (ts->part[i] != TT_PART_VALIDATION) continue;
    double y = ts->y[i], d = m - y;
    if (!strcmp(metric, "logloss")) {
      double p = fmin(fmax(m, 1e-15), 1 - 1e-15);
      acc -= y > 0.5 ? log(p) : log(1 - p);
    } else if (!strcmp(metric, "rmse")) {
      acc += d * d;
    } else if (!strcmp(metric, "mae")) {
      acc += fabs(d);
    } else if (!strncmp(metric, "auc", 3)) {
      return 0.5;
    } else {
      return NAN;
    }
    cnt++;
  }
  if (!cnt) return NAN;
  return !strcmp(metric, "rmse") ? sqrt(acc / cnt) : acc / cnt;
}

static void verdict(tt_train_result *r, int max_rounds, int has_valid) {
  int hib = higher_is_better(r->eval_metric);
  if (!has_valid) {
    snprintf(r->verdict, sizeof r->verdict, "unchecked");
    snprintf(r->verdict_reason, sizeof r->verdict_reason, "no validation rows");
    return;
  }
  double gain = hib ? r->best_valid - r->baseline_valid : r->baseline_valid - r->best_valid;
  double scale = hib ? 1.0 : fabs(r->baseline_valid);
  /* Underfit: barely better than predicting the mean (< 2 % of the
   * baseline loss, or AUC within 0.02 of 0.5), or still improving when the
   * rounds ran out. */
  if (isfinite(gain) && gain < 0.02 * (scale > 0 ? scale : 1)) {
    snprintf(r->verdict, sizeof r->verdict, "underfit");
    snprintf(r->verdict_reason, sizeof r->verdict_reason,
             "validation %s %.4g is hardly better than a constant prediction (%.4g)", r->eval_metric,
             r->best_valid, r->baseline_valid);
    return;
  }
  if (r->best_iteration == max_rounds - 1) {
    snprintf(r->verdict, sizeof r->verdict, "underfit");
    snprintf(r->verdict_reason, sizeof r->verdict_reason,
             "validation %s still improving at the last round (%d): raise xgboost.rounds or eta",
             r->eval_metric, max_rounds);
    return;
  }
  /* Overfit: the training score is far better than validation — a gap of
   * more than 30 % of the validation loss (0.1 of AUC). */
  double gap = hib ? r->best_train - r->best_valid : r->best_valid - r->best_train;
  double limit = hib ? 0.1 : 0.3 * fabs(r->best_valid);
  if (gap > limit) {
    snprintf(r->verdict, sizeof r->verdict, "overfit");
    snprintf(r->verdict_reason, sizeof r->verdict_reason,
             "train %s %.4g vs validation %.4g at the best iteration %d: regularise (max_depth, "
             "min_child_weight, subsample) or add data",
             r->eval_metric, r->best_train, r->best_valid, r->best_iteration);
    return;
  }
  snprintf(r->verdict, sizeof r->verdict, "good");
  snprintf(r->verdict_reason, sizeof r->verdict_reason,
           "train %s %.4g, validation %.4g, best iteration %d of %d", r->eval_metric, r->best_train,
           r->best_valid, r->best_iteration, r->rounds_run);
}

tt_err tt_booster_train(const tt_model_spec *spec, const tt_trainset *ts, tt_train_progress_fn cb,
                        void *ud, tt_booster **outb, tt_train_result *res, tt_error *err) {
  tt_err rc = TT_OK;
  DMatrixHandle dtrain = NULL, dvalid = NULL;
  BoosterHandle h = NULL, sliced = NULL;
  size_t ntrain = 0, nvalid = 0;
  const tt_xgb_def *x = &spec->xgb;
  int cls = spec->label.kind == TT_LABEL_CLASSIFICATION;
  *outb = NULL;
  memset(res, 0, sizeof *res);
  double t0 = tt_monotonic();
  if ((rc = dmatrix_of_part(ts, TT_PART_TRAIN, &dtrain, &ntrain, err)) != TT_OK) goto out;
  if (!ntrain) {
    rc = tt_error_set(err, TT_INVALID, "the training split has no rows");
    goto out;
  }
  if ((rc = dmatrix_of_part(ts, TT_PART_VALIDATION, &dvalid, &nvalid, err)) != TT_OK) goto out;
  DMatrixHandle mats[2] = {dtrain, dvalid};
  const char *names[2] = {"train", "valid"};
  bst_ulong nmats = dvalid ? 2 : 1;
  XGB(XGBoosterCreate(mats, nmats, &h), "booster");
  XGB(XGBoosterSetParam(h, "verbosity", "0"), "verbosity");
  if (!has_param(x, "objective"))
    XGB(XGBoosterSetParam(h, "objective", cls ? "binary:logistic" : "reg:squarederror"), "objective");
  if (!has_param(x, "eval_metric"))
    XGB(XGBoosterSetParam(h, "eval_metric", cls ? "logloss" : "rmse"), "eval_metric");
  /* Deterministic unless the spec says otherwise: reproduce needs it. */
  if (!has_param(x, "seed")) XGB(XGBoosterSetParam(h, "seed", "0"), "seed");
  for (size_t i = 0; i < x->nparams; i++)
    if (XGBoosterSetParam(h, x->param_keys[i], x->param_values[i]) != 0) {
      rc = tt_error_set(err, TT_CONFIG, "XGBoost parameter %s=%s: %s", x->param_keys[i],
                        x->param_values[i], XGBGetLastError());
      tt_error_at(err, spec->source, 0, x->param_keys[i]);
      goto out;
    }
  res->train_curve = calloc((size_t)x->rounds, sizeof *res->train_curve);
  res->valid_curve = calloc((size_t)x->rounds, sizeof *res->valid_curve);
  if (!res->train_curve || !res->valid_curve) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  int best = 0, hib = 0;
  double best_v = NAN;
  for (int it = 0; it < x->rounds; it++) {
    /* A bad parameter value surfaces at the first update. */
    if (XGBoosterUpdateOneIter(h, it, dtrain) != 0) {
      rc = tt_error_set(err, TT_MODEL, "XGBoost boosting round %d: %s", it, XGBGetLastError());
      tt_error_at(err, spec->source, 0, "xgboost.params");
      goto out;
    }
    const char *ev = NULL;
    XGB(XGBoosterEvalOneIter(h, it, mats, names, nmats, &ev), "evaluation");
    double tr, va;
    parse_eval(ev, &tr, &va, res->eval_metric, sizeof res->eval_metric);
    hib = higher_is_better(res->eval_metric);
    res->train_curve[it] = tr;
    res->valid_curve[it] = va;
    res->rounds_run = it + 1;
    double follow = dvalid ? va : tr;
    if (it == 0 || (hib ? follow > best_v : follow < best_v)) {
      best_v = follow;
      best = it;
    }
    if (cb && cb(ud, it + 1, x->rounds, tr, va)) break;
    if (dvalid && x->early_stopping > 0 && it - best >= x->early_stopping) break;
  }
  res->best_iteration = best;
  res->best_train = res->train_curve[best];
  res->best_valid = dvalid ? res->valid_curve[best] : NAN;
  res->baseline_valid = baseline(res->eval_metric, ts);
  /* Keep the trees up to the best iteration only. */
  if (best + 1 < res->rounds_run) {
    if (XGBoosterSlice(h, 0, best + 1, 1, &sliced) != 0) {
      rc = xgb_fail(err, "slice");
      goto out;
    }
    XGBoosterFree(h);
    h = sliced;
    sliced = NULL;
  }
  res->seconds = tt_monotonic() - t0;
  verdict(res, x->rounds, dvalid != NULL);
  tt_booster *b = calloc(1, sizeof *b);
  if (!b) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  b->h = h;
  h = NULL;
  *outb = b;
out:
  if (h) XGBoosterFree(h);
  if (dtrain) XGDMatrixFree(dtrain);
  if (dvalid) XGDMatrixFree(dvalid);
  if (rc != TT_OK) tt_train_result_free(res);
  return rc;
}

tt_err tt_booster_save_json(tt_booster *b, char **json, size_t *len, tt_error *err) {
  tt_err rc = TT_OK;
  bst_ulong n = 0;
  const char *buf = NULL;
  *json = NULL;
  XGB(XGBoosterSaveModelToBuffer(b->h, "{\"format\":\"json\"}", &n, &buf), "save");
  if (!(*json = malloc((size_t)n + 1))) return tt_error_set(err, TT_NOMEM, "out of memory");
  memcpy(*json, buf, (size_t)n);
  (*json)[n] = '\0';
  *len = (size_t)n;
out:
  return rc;
}

tt_err tt_booster_load_json(const char *json, size_t len, tt_booster **out, tt_error *err) {
  tt_err rc = TT_OK;
  BoosterHandle h = NULL;
  *out = NULL;
  XGB(XGBoosterCreate(NULL, 0, &h), "booster");
  XGB(XGBoosterLoadModelFromBuffer(h, json, (bst_ulong)len), "load model");
  tt_booster *b = calloc(1, sizeof *b);
  if (!b) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  b->h = h;
  h = NULL;
  *out = b;
out:
  if (h) XGBoosterFree(h);
  return rc;
}

/* type 0: value, 2: contributions (see XGBoosterPredictFromDMatrix). */
static tt_err predict(tt_booster *b, const float *x, size_t nrows, size_t nf, int type, float *out,
                      size_t per_row, tt_error *err) {
  tt_err rc = TT_OK;
  DMatrixHandle d = NULL;
  if (!nrows) return TT_OK;
  bst_ulong nfb = 0;
  XGB(XGBoosterGetNumFeature(b->h, &nfb), "feature count");
  if ((size_t)nfb != nf) {
    rc = tt_error_set(err, TT_MODEL, "the model has %zu features, the input %zu", (size_t)nfb, nf);
    goto out;
  }
  XGB(XGDMatrixCreateFromMat(x, (bst_ulong)nrows, (bst_ulong)nf, NAN, &d), "DMatrix");
  char cfg[160];
  snprintf(cfg, sizeof cfg,
           "{\"type\":%d,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
           "\"strict_shape\":false}",
           type);
  const bst_ulong *shape = NULL;
  bst_ulong dim = 0;
  const float *res = NULL;
  XGB(XGBoosterPredictFromDMatrix(b->h, d, cfg, &shape, &dim, &res), "predict");
  size_t total = 1;
  for (bst_ulong k = 0; k < dim; k++) total *= (size_t)shape[k];
  if (total != nrows * per_row) {
    rc = tt_error_set(err, TT_MODEL, "XGBoost returned %zu values for %zu rows", total, nrows);
    goto out;
  }
  memcpy(out, res, total * sizeof *out);
out:
  if (d) XGDMatrixFree(d);
  return rc;
}

tt_err tt_booster_predict(tt_booster *b, const float *x, size_t nrows, size_t nf, float *out,
                          tt_error *err) {
  return predict(b, x, nrows, nf, 0, out, 1, err);
}

tt_err tt_booster_contribs(tt_booster *b, const float *x, size_t nrows, size_t nf, float *out,
                           tt_error *err) {
  return predict(b, x, nrows, nf, 2, out, nf + 1, err);
}

tt_err tt_booster_importance(tt_booster *b, size_t nf, const char *const *names, double *out,
                             tt_error *err) {
  tt_err rc = TT_OK;
  for (size_t j = 0; j < nf; j++) out[j] = 0;
  bst_ulong n = 0, dim = 0;
  const char **fn = NULL;
  const bst_ulong *shape = NULL;
  const float *scores = NULL;
  /* Pass the names: a model loaded from JSON may not carry them. */
  json_t *cfg = json_pack("{s:s}", "importance_type", "total_gain");
  json_t *arr = json_array();
  for (size_t j = 0; j < nf; j++) json_array_append_new(arr, json_string(names[j]));
  json_object_set_new(cfg, "feature_names", arr);
  char *cfgs = json_dumps(cfg, JSON_COMPACT);
  json_decref(cfg);
  if (!cfgs) return tt_error_set(err, TT_NOMEM, "out of memory");
  int xrc = XGBoosterFeatureScore(b->h, cfgs, &n, &fn, &dim, &shape, &scores);
  free(cfgs);
  XGB(xrc, "feature importance");
  for (bst_ulong k = 0; k < n; k++)
    for (size_t j = 0; j < nf; j++)
      if (!strcmp(fn[k], names[j])) out[j] = scores[k];
out:
  return rc;
}
