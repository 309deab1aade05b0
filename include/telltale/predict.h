/* telltale — batch prediction and evaluation.
 *
 * Score a fleet with a registered model as of a time (or each vehicle at
 * its own last observation): features come from the same builder as
 * training (point in time, the feature-set version the model was trained
 * with), the decision uses the model's threshold, and every prediction
 * carries its top contributing features (XGBoost's per-row SHAP values).
 * Evaluation scores vehicles whose outcomes the event tables know and
 * reports the training metrics.
 */
#ifndef TELLTALE_PREDICT_H
#define TELLTALE_PREDICT_H

#include <stdint.h>
#include <stdio.h>

#include "telltale/error.h"
#include "telltale/registry.h"
#include "telltale/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TT_PREDICT_MAX_REASONS 5

typedef struct tt_prediction {
  char *vehicle;
  int64_t time;  /* the observation time scored */
  float score;   /* probability (classification) or predicted value (regression) */
  int alarm;     /* score >= threshold; -1 for regression */
  int nreasons;
  const char *reason[TT_PREDICT_MAX_REASONS]; /* feature names, owned by the set */
  float contribution[TT_PREDICT_MAX_REASONS]; /* SHAP value (margin units) */
  float value[TT_PREDICT_MAX_REASONS];        /* the feature's value (NaN = missing) */
} tt_prediction;

typedef struct tt_predictions {
  char *model;
  int version;
  tt_label_kind kind;
  tt_axis_kind axis;
  double threshold;
  int64_t as_of; /* as requested (TT_AS_OF_LAST allowed) */
  size_t n;
  tt_prediction *rows; /* riskiest first: highest probability / lowest value */
  size_t nfeatures;
  char **feature_names;
} tt_predictions;

typedef struct tt_predict_opts {
  const char *project_dir, *lake, *artifacts;
  tt_registry *reg;
  const char *model; /* NAME, NAME:VERSION or NAME@ALIAS */
  int64_t as_of;     /* a time on the axis or TT_AS_OF_LAST */
  const char *const *vehicles;
  size_t nvehicles;
  unsigned shard, nshards;
  int top_k; /* reasons per vehicle, <= TT_PREDICT_MAX_REASONS; 0 = 3 */
  int threads;
} tt_predict_opts;

/* Score. The predictions are the caller's (tt_predictions_destroy). */
tt_err tt_predict_batch(const tt_predict_opts *o, tt_predictions **out, tt_error *err) TT_WARN_UNUSED;
void tt_predictions_destroy(tt_predictions *p);

/* Write as CSV (vehicle_id, ts, score, alarm, reasons) or JSON lines. */
tt_err tt_predictions_write_csv(const tt_predictions *p, FILE *f, tt_error *err) TT_WARN_UNUSED;
tt_err tt_predictions_write_json(const tt_predictions *p, FILE *f, tt_error *err) TT_WARN_UNUSED;
/* Write into the lake's predictions table:
 * LAKE/predictions/date=D/part-MODEL-vVERSION-ASOF[-sI-N].parquet (no date
 * level on counter axes), crash-safely; the same run writes the same file
 * name, so a retry replaces rather than duplicates. *path gets the file
 * (malloc'd, may be NULL). */
tt_err tt_predictions_write_lake(const tt_predictions *p, const char *lake, unsigned shard,
                                 unsigned nshards, char **path, tt_error *err) TT_WARN_UNUSED;

/* Evaluate a model on vehicles with known outcomes as of a time (or each
 * vehicle's last observation). *report_json (malloc'd) holds the model,
 * the row counts and the metrics of training (at the model's threshold). */
tt_err tt_evaluate(const tt_predict_opts *o, char **report_json, tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
