/* Batch prediction and evaluation over the training set builder: the
 * model's own recorded spec says which spine table, axis, features and
 * labels to use, and its feature-set versions are pinned, so scoring sees
 * exactly the features the model was trained on. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/models.h"
#include "telltale/predict.h"

void tt_predictions_destroy(tt_predictions *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) free(p->rows[i].vehicle);
  free(p->rows);
  for (size_t j = 0; j < p->nfeatures; j++) free(p->feature_names[j]);
  free(p->feature_names);
  free(p->model);
  free(p);
}

/* The model's spec, from its record, with feature sets pinned. */
static tt_err model_spec(const tt_model *m, tt_model_spec **spec, tt_error *err) {
  json_error_t je;
  json_t *rec = json_loads(m->record_json, 0, &je);
  const char *yaml = json_string_value(json_object_get(rec, "spec_yaml"));
  tt_err rc;
  if (!yaml) {
    rc = tt_error_set(err, TT_MODEL, "model %s:%d did not record its spec", m->name, m->version);
  } else {
    char source[200];
    snprintf(source, sizeof source, "%s:%d (recorded spec)", m->name, m->version);
    rc = tt_model_spec_parse_string(yaml, strlen(yaml), source, spec, err);
  }
  json_decref(rec);
  if (rc != TT_OK) return rc;
  for (size_t i = 0; i < (*spec)->nfeatures && i < m->nsets; i++)
    if (m->feature_sets[i].version) {
      free((*spec)->features[i].version);
      if (!((*spec)->features[i].version = strdup(m->feature_sets[i].version)))
        return tt_error_set(err, TT_NOMEM, "out of memory");
    }
  return TT_OK;
}

/* Scoring rows for o, checked against the model's features. */
static tt_err score_set(const tt_predict_opts *o, tt_build_mode mode, tt_model **mp,
                        tt_model_spec **sp, tt_trainset **tsp, tt_build_info *info, float **pred,
                        tt_error *err) {
  tt_err rc = tt_model_load(o->reg, o->artifacts, o->model, mp, err);
  if (rc != TT_OK) return rc;
  if ((rc = model_spec(*mp, sp, err)) != TT_OK) return rc;
  tt_build_opts bo = {.mode = mode, .project_dir = o->project_dir, .lake = o->lake,
                      .as_of = o->as_of, .vehicles = o->vehicles, .nvehicles = o->nvehicles,
                      .shard = o->shard, .nshards = o->nshards, .threads = o->threads};
  if ((rc = tt_trainset_build(*sp, &bo, tsp, info, err)) != TT_OK) return rc;
  tt_trainset *ts = *tsp;
  if (ts->nfeatures != (*mp)->nfeatures) goto mismatch;
  for (size_t j = 0; j < ts->nfeatures; j++)
    if (strcmp(ts->feature_names[j], (*mp)->feature_names[j])) goto mismatch;
  *pred = malloc((ts->nrows ? ts->nrows : 1) * sizeof **pred);
  if (!*pred) return tt_error_set(err, TT_NOMEM, "out of memory");
  return tt_booster_predict((*mp)->booster, ts->x, ts->nrows, ts->nfeatures, *pred, err);
mismatch:
  return tt_error_set(err, TT_INCOMPATIBLE, "the features built now differ from those model %s:%d was trained on",
                      (*mp)->name, (*mp)->version);
}

typedef struct ord {
  float key;
  size_t i;
} ord;
static int ord_cmp(const void *a, const void *b) {
  const ord *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

tt_err tt_predict_batch(const tt_predict_opts *o, tt_predictions **out, tt_error *err) {
  tt_model *m = NULL;
  tt_model_spec *spec = NULL;
  tt_trainset *ts = NULL;
  tt_build_info info = {0};
  float *pred = NULL, *contrib = NULL;
  ord *order = NULL;
  *out = NULL;
  tt_predictions *p = calloc(1, sizeof *p);
  if (!p) return tt_error_set(err, TT_NOMEM, "out of memory");
  tt_err rc = score_set(o, TT_BUILD_PREDICT, &m, &spec, &ts, &info, &pred, err);
  if (rc != TT_OK) goto out;
  size_t n = ts->nrows, nf = ts->nfeatures;
  int k = o->top_k > 0 ? o->top_k : 3;
  if (k > TT_PREDICT_MAX_REASONS) k = TT_PREDICT_MAX_REASONS;
  if ((size_t)k > nf) k = (int)nf;
  contrib = malloc((n ? n : 1) * (nf + 1) * sizeof *contrib);
  order = malloc((n ? n : 1) * sizeof *order);
  p->rows = calloc(n ? n : 1, sizeof *p->rows);
  p->feature_names = calloc(nf ? nf : 1, sizeof *p->feature_names);
  p->model = strdup(m->name);
  if (!contrib || !order || !p->rows || !p->feature_names || !p->model) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  for (size_t j = 0; j < nf; j++, p->nfeatures++)
    if (!(p->feature_names[j] = strdup(ts->feature_names[j]))) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
  if ((rc = tt_booster_contribs(m->booster, ts->x, n, nf, contrib, err)) != TT_OK) goto out;
  p->version = m->version;
  p->kind = m->kind;
  p->axis = m->axis;
  p->threshold = m->threshold;
  p->as_of = o->as_of;
  int cls = m->kind == TT_LABEL_CLASSIFICATION;
  /* Riskiest first: highest probability, or least remaining life. */
  for (size_t i = 0; i < n; i++) order[i] = (ord){cls ? -pred[i] : pred[i], i};
  qsort(order, n, sizeof *order, ord_cmp);
  for (size_t r = 0; r < n; r++) {
    size_t i = order[r].i;
    tt_prediction *pr = &p->rows[r];
    if (!(pr->vehicle = strdup(ts->vehicle[i]))) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    p->n = r + 1;
    pr->time = ts->time[i];
    pr->score = pred[i];
    pr->alarm = cls ? pred[i] >= m->threshold : -1;
    /* Reasons: the features pushing the risk up most (classification), or
     * moving the prediction most either way (regression). */
    const float *c = contrib + i * (nf + 1);
    for (int q = 0; q < k; q++) {
      int best = -1;
      float bv = 0;
      for (size_t j = 0; j < nf; j++) {
        int used = 0;
        for (int u = 0; u < q; u++) used |= pr->reason[u] == p->feature_names[j];
        float v = cls ? c[j] : fabsf(c[j]);
        if (!used && (best < 0 || v > bv)) best = (int)j, bv = v;
      }
      if (best < 0 || (cls && c[best] <= 0)) break;
      pr->reason[q] = p->feature_names[best];
      pr->contribution[q] = c[best];
      pr->value[q] = ts->x[i * nf + (size_t)best];
      pr->nreasons = q + 1;
    }
  }
  *out = p;
  p = NULL;
out:
  tt_predictions_destroy(p);
  free(pred), free(contrib), free(order);
  tt_trainset_destroy(ts);
  tt_build_info_free(&info);
  tt_model_spec_destroy(spec);
  tt_model_destroy(m);
  return rc;
}

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

tt_err tt_evaluate(const tt_predict_opts *o, char **report, tt_error *err) {
  tt_model *m = NULL;
  tt_model_spec *spec = NULL;
  tt_trainset *ts = NULL;
  tt_build_info info = {0};
  float *pred = NULL;
  json_t *j = NULL;
  *report = NULL;
  tt_err rc = score_set(o, TT_BUILD_EVALUATE, &m, &spec, &ts, &info, &pred, err);
  if (rc != TT_OK) goto out;
  json_t *metrics;
  if (m->kind == TT_LABEL_REGRESSION) {
    tt_reg_metrics r;
    tt_metrics_regression(pred, ts->y, ts->nrows, &r);
    metrics = json_pack("{s:o,s:o,s:o}", "rmse", num(r.rmse), "mae", num(r.mae), "mean_y", num(r.mean_y));
  } else {
    tt_class_metrics c;
    if ((rc = tt_metrics_classification(pred, ts->y, ts->nrows, m->threshold, spec->threshold.cost_false_alarm,
                                        spec->threshold.cost_missed_failure, &c)) != TT_OK) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    metrics = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I}", "positives",
                        (json_int_t)c.positives, "roc_auc", num(c.roc_auc), "pr_auc", num(c.pr_auc),
                        "precision", num(c.precision), "recall", num(c.recall), "f1", num(c.f1), "cost",
                        num(c.cost), "threshold", num(m->threshold), "tp", (json_int_t)c.tp, "fp",
                        (json_int_t)c.fp, "tn", (json_int_t)c.tn, "fn", (json_int_t)c.fn);
  }
  j = json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:o}", "model", m->name, "version", m->version, "kind",
                m->kind == TT_LABEL_REGRESSION ? "regression" : "classification", "vehicles",
                (json_int_t)info.vehicles, "rows", (json_int_t)ts->nrows, "censored",
                (json_int_t)info.censored_rows, "outage", (json_int_t)info.outage_rows, "metrics", metrics);
  if (!j || !(*report = json_dumps(j, JSON_PRESERVE_ORDER | JSON_INDENT(2))))
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
out:
  json_decref(j);
  free(pred);
  tt_trainset_destroy(ts);
  tt_build_info_free(&info);
  tt_model_spec_destroy(spec);
  tt_model_destroy(m);
  return rc;
}
