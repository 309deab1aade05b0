/* telltale — training: model specs, labels, splits, metrics, thresholds,
 * XGBoost boosting and reference profiles.
 *
 * A model spec (models/NAME.yaml, see docs/training.md) says what to
 * predict. The pieces below turn event tables into labelled observation
 * rows (pure C over sorted arrays, so they are testable by hand), assign
 * the rows to train/validation/test without leaking the future, train
 * XGBoost with early stopping, choose the decision threshold and describe
 * each feature for drift monitoring.
 *
 * Time values are int64 in the dataset's time axis: microseconds UTC for a
 * timestamp axis, the counter's unit (cycles, hours, km) for a counter axis.
 */
#ifndef TELLTALE_TRAIN_H
#define TELLTALE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"
#include "telltale/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- spec -- */

typedef enum tt_label_kind {
  TT_LABEL_CLASSIFICATION = 0, /* failure of component C within horizon H */
  TT_LABEL_REGRESSION = 1,     /* remaining useful life until the next failure */
} tt_label_kind;

/* Observations after a failure and before its repair (the component is
 * broken; see docs/training.md "Outages"). */
typedef enum tt_outage_policy {
  TT_OUTAGE_EXCLUDE = 0, /* drop those rows (default) */
  TT_OUTAGE_KEEP = 1,    /* keep them, labelled by the next failure as usual */
} tt_outage_policy;

typedef enum tt_split_kind {
  TT_SPLIT_TIME = 0,    /* cut-offs in time with a gap >= horizon */
  TT_SPLIT_VEHICLE = 1, /* whole vehicles, by a seeded hash of their id */
  TT_SPLIT_HOLDOUT = 2, /* named test vehicles (list or glob pattern) */
} tt_split_kind;

typedef enum tt_threshold_policy {
  TT_THRESHOLD_MAX_F1 = 0,
  TT_THRESHOLD_TARGET_RECALL = 1,
  TT_THRESHOLD_MIN_COST = 2,
  TT_THRESHOLD_FIXED = 3,
} tt_threshold_policy;

typedef enum tt_axis_kind { TT_AXIS_KIND_TIMESTAMP = 0, TT_AXIS_KIND_COUNTER = 1 } tt_axis_kind;

typedef struct tt_feature_ref {
  char *set;     /* feature set name (features/NAME.yaml) */
  char *version; /* expected version id (a prefix of its sha256), or NULL: the
                    definition as it is at training time */
} tt_feature_ref;

typedef struct tt_label_def {
  tt_label_kind kind;
  char *events_table;     /* table holding the failures, e.g. "failures" */
  char *component_column; /* column naming the component; NULL: every event counts */
  char *component;        /* which component; NULL when component_column is NULL */
  int64_t horizon;        /* classification: (t, t + horizon] */
  int64_t cap;            /* regression: cap on the remaining life; 0 = none */
  int64_t unit;           /* regression: y = (failure - t) / unit (1 day on timestamp axes) */
  char *repair_table;     /* events that end an outage; NULL: repaired at once */
  char *repair_component_column;
  size_t nrepair_actions; /* optional filter on repair_action_column */
  char **repair_actions;
  char *repair_action_column;
  tt_outage_policy outage;
} tt_label_def;

typedef struct tt_spine_def {
  char *table;   /* rows of this table define "reported data" (e.g. telemetry) */
  int64_t every; /* bucket width; one observation per vehicle per bucket with data */
  double negative_rate; /* keep this fraction of negative training rows (1 = all) */
  uint64_t seed;
} tt_spine_def;

typedef struct tt_split_def {
  tt_split_kind kind;
  /* time: train < validation_from - gap <= … validation < test_from - gap; test >= test_from */
  int64_t validation_from, test_from, gap;
  /* vehicle / holdout: fractions of vehicles for validation (and test for vehicle) */
  double validation_fraction, test_fraction;
  uint64_t seed;
  size_t ntest_vehicles;
  char **test_vehicles;
  char *test_pattern; /* fnmatch(3) glob, or NULL */
} tt_split_def;

typedef struct tt_xgb_def {
  int rounds;         /* maximum boosting rounds */
  int early_stopping; /* stop after this many rounds without validation gain; 0 = off */
  size_t nparams;     /* XGBoost parameters passed as they are */
  char **param_keys, **param_values;
} tt_xgb_def;

typedef struct tt_threshold_def {
  tt_threshold_policy policy;
  double target_recall;
  double cost_false_alarm, cost_missed_failure;
  double fixed;
} tt_threshold_def;

typedef struct tt_model_spec {
  char *name;
  char *description;
  char *source;         /* file the spec was read from */
  tt_axis_kind axis;    /* the dataset's time axis */
  size_t nfeatures;
  tt_feature_ref *features;
  tt_label_def label;
  tt_spine_def spine;
  tt_split_def split;
  tt_xgb_def xgb;
  tt_threshold_def threshold;
  size_t nmetrics; /* metrics to report; names as in tt_metrics_name */
  char **metrics;
} tt_model_spec;

/* Parse a model spec. Strict: unknown keys, wrong types, missing required
 * keys and inconsistent settings (e.g. a time-split gap shorter than the
 * horizon) are errors naming the file, line and key. The spec is the
 * caller's to destroy. */
tt_err tt_model_spec_parse_file(const char *path, tt_model_spec **out, tt_error *err) TT_WARN_UNUSED;
tt_err tt_model_spec_parse_string(const char *yaml, size_t len, const char *source_name,
                                  tt_model_spec **out, tt_error *err) TT_WARN_UNUSED;
void tt_model_spec_destroy(tt_model_spec *spec);
/* The spec as canonical JSON (what the registry records as the label,
 * split and parameter definitions). malloc'd; caller frees. NULL on OOM. */
char *tt_model_spec_to_json(const tt_model_spec *spec);

/* ------------------------------------------------------ spine & labels -- */

/* Row status after labelling. */
typedef enum tt_row_status {
  TT_ROW_OK = 0,
  TT_ROW_OUTAGE = 1,   /* after a failure, before its repair (policy exclude) */
  TT_ROW_CENSORED = 2, /* the label window reaches past the data: outcome unknown */
} tt_row_status;

/* One vehicle's observation times: one per bucket of width `every` that
 * holds at least one reported time, at the bucket's last instant
 * (floor(t / every) * every + every - 1), so that features "as of" it see
 * the whole bucket. times must be sorted ascending; out needs room for n.
 * Returns the number of observations. */
size_t tt_spine_build(const int64_t *times, size_t n, int64_t every, int64_t *out);

/* Label one vehicle's observations.
 *   obs[nobs]        observation times, ascending
 *   failures[nf]     failure times of the component, ascending
 *   repairs[nr]      repair times of the component, ascending (may be 0 long)
 *   data_end         last time the vehicle's outcomes are known (e.g. its
 *                    last reported time): label windows past it are censored
 * Classification: y = 1 if a failure f has t < f <= t + horizon, else 0 —
 * censored when t + horizon > data_end and no failure was found.
 * Regression: y = (f - t) / unit for the next failure f > t, capped at cap;
 * with no failure ahead, y = cap if data_end - t >= cap, else censored.
 * Outage: a failure f is repaired by the first repair r >= f (no repair
 * table: r = f); rows with f <= t < r get TT_ROW_OUTAGE when the policy is
 * exclude. y[i] and status[i] are written for every row. */
void tt_label_compute(const tt_label_def *def, const int64_t *obs, size_t nobs,
                      const int64_t *failures, size_t nf, const int64_t *repairs, size_t nr,
                      int64_t data_end, double *y, uint8_t *status);

/* -------------------------------------------------------------- split -- */

typedef enum tt_split_part {
  TT_PART_TRAIN = 0,
  TT_PART_VALIDATION = 1,
  TT_PART_TEST = 2,
  TT_PART_DROPPED = 3, /* in a time split's gap */
} tt_split_part;

const char *tt_split_part_name(tt_split_part p);

/* Which part row (vehicle, t) belongs to. Vehicle and holdout splits depend
 * on the vehicle only, so a vehicle's rows never straddle parts. */
tt_split_part tt_split_assign(const tt_split_def *def, const char *vehicle, int64_t t);

/* Deterministic keep/drop for down-sampling negatives: 1 keeps the row.
 * A seeded hash of (vehicle, t), so re-running keeps the same rows. */
int tt_spine_keep_negative(const tt_spine_def *def, const char *vehicle, int64_t t);

/* ------------------------------------------------------------ metrics -- */

/* Classification metrics on scores in [0,1] with labels 0/1, at a
 * threshold (score >= threshold means "alarm"). */
typedef struct tt_class_metrics {
  size_t n, positives;
  double roc_auc;  /* NaN when only one class is present */
  double pr_auc;   /* average precision; NaN without positives */
  double threshold;
  size_t tp, fp, tn, fn;
  double precision, recall, f1; /* 0 when undefined (no alarms / no positives) */
  double cost;                  /* cost_false_alarm * fp + cost_missed_failure * fn */
  double logloss;
} tt_class_metrics;

typedef struct tt_reg_metrics {
  size_t n;
  double rmse, mae, mean_y;
} tt_reg_metrics;

/* Compute classification metrics. Allocates a sorted copy; TT_NOMEM on
 * failure. */
tt_err tt_metrics_classification(const float *score, const float *label, size_t n,
                                 double threshold, double cost_false_alarm,
                                 double cost_missed_failure, tt_class_metrics *out) TT_WARN_UNUSED;
void tt_metrics_regression(const float *pred, const float *label, size_t n, tt_reg_metrics *out);

/* Choose a threshold by the policy on (score, label) — normally the
 * validation rows. Candidates are the distinct scores. max_f1: the highest
 * F1 (ties: the higher threshold); target_recall: the highest threshold
 * whose recall reaches the target; min_cost: the lowest expected cost
 * (ties: the higher threshold); fixed: def->fixed. Without positives the
 * result is 0.5. */
tt_err tt_threshold_choose(const tt_threshold_def *def, const float *score, const float *label,
                           size_t n, double *threshold) TT_WARN_UNUSED;
const char *tt_threshold_policy_name(tt_threshold_policy p);

/* --------------------------------------------------------- training set -- */

/* A dense training set: one row per observation, features row-major as
 * float with NaN for missing (XGBoost's layout). Owned by the caller via
 * tt_trainset_destroy; the setters copy. */
typedef struct tt_trainset {
  size_t nrows, nfeatures, capacity;
  char **feature_names; /* nfeatures */
  char **vehicle;       /* nrows */
  int64_t *time;        /* observation time */
  float *x;             /* nrows * nfeatures */
  float *y;             /* label */
  uint8_t *part;        /* tt_split_part */
} tt_trainset;

tt_trainset *tt_trainset_new(size_t nfeatures, const char *const *feature_names);
void tt_trainset_destroy(tt_trainset *ts);
/* Append a row; x has nfeatures values (NaN = missing). */
tt_err tt_trainset_add(tt_trainset *ts, const char *vehicle, int64_t t, const float *x, float y,
                       tt_split_part part) TT_WARN_UNUSED;
/* sha256 (hex, 65 bytes with NUL) over the rows in order: feature names,
 * then per row vehicle, time, the float bits of x and y, and the part.
 * Two sets hash equal iff their rows are bit-identical. */
void tt_trainset_fingerprint(const tt_trainset *ts, char out[65]);
/* Rows per part (counts[4]) and positives per part (labels > 0.5). */
void tt_trainset_counts(const tt_trainset *ts, size_t counts[4], size_t positives[4]);

/* ------------------------------------------- building from the lake -- */

/* as_of values besides a time on the axis. */
#define TT_AS_OF_LAST (INT64_MIN + 1) /* each vehicle at its own last observation */

typedef enum tt_build_mode {
  TT_BUILD_TRAIN = 0,    /* the whole spine, labelled, split, negatives down-sampled */
  TT_BUILD_EVALUATE = 1, /* one row per vehicle as of a time, labelled; part = test */
  TT_BUILD_PREDICT = 2,  /* one row per vehicle as of a time, no labels */
} tt_build_mode;

typedef struct tt_build_opts {
  tt_build_mode mode;
  const char *project_dir; /* features/NAME.yaml are read from here */
  const char *lake;        /* lake root: LAKE/TABLE/.../part-N.parquet */
  const tt_schema *schema; /* the dataset's tables; NULL: the one in PROJECT/schemas/ that
                              declares the spine table */
  int64_t as_of;           /* EVALUATE/PREDICT: a time on the axis or TT_AS_OF_LAST */
  const char *const *vehicles; /* only these vehicles (NULL: all) */
  size_t nvehicles;
  unsigned shard, nshards; /* nshards > 0: only vehicles with tt_shard_of(id) == shard */
  const char *const *files; /* reproduce: read exactly these lake files (NULL: every file) */
  size_t nfiles;
  int threads;             /* DuckDB threads; 0 = every core */
} tt_build_opts;

typedef struct tt_build_info {
  char **files; /* lake files read, sorted (paths as found under the lake root) */
  size_t nfiles;
  char **set_versions; /* version id of each feature set used, as in spec->features */
  size_t nsets;
  size_t vehicles, spine_rows, outage_rows, censored_rows, downsampled_rows, gap_rows;
  int64_t data_end; /* latest time in the spine table */
  double seconds;
} tt_build_info;
void tt_build_info_free(tt_build_info *info);

/* Build the rows a spec asks for from the lake: the spine from
 * spec->spine.table, labels from the event tables, features computed point
 * in time by the feature engine (events with time <= the observation time
 * only), the split. The training set is the caller's (tt_trainset_destroy);
 * info (may be NULL) is filled and then the caller's (tt_build_info_free).
 * A feature set whose current definition does not match the version the
 * spec names is refused (TT_INCOMPATIBLE). */
tt_err tt_trainset_build(const tt_model_spec *spec, const tt_build_opts *opts, tt_trainset **out,
                         tt_build_info *info, tt_error *err) TT_WARN_UNUSED;

/* ----------------------------------------------------------- profile -- */

#define TT_PROFILE_NQ 9
extern const double tt_profile_quantiles[TT_PROFILE_NQ]; /* 0 .01 .05 .25 .5 .75 .95 .99 1 */

typedef struct tt_feature_profile {
  size_t n, missing;
  double missing_rate, mean, std;
  double q[TT_PROFILE_NQ]; /* NaN when every value is missing */
} tt_feature_profile;

/* Profile column j over the rows of `part` (or every row when part < 0).
 * TT_NOMEM on failure. */
tt_err tt_profile_feature(const tt_trainset *ts, size_t j, int part, tt_feature_profile *out) TT_WARN_UNUSED;
/* The reference profile of every feature over the training rows, as JSON
 * {"feature":{"n":…,"missing_rate":…,"mean":…,"std":…,"quantiles":{"0.5":…}}}.
 * malloc'd; NULL on OOM. */
char *tt_profile_json(const tt_trainset *ts);

/* ------------------------------------------------------------ booster -- */

typedef struct tt_booster tt_booster;

/* Per-round progress, e.g. for a progress bar. Return non-zero to stop. */
typedef int (*tt_train_progress_fn)(void *ud, int round, int max_rounds, double train_metric,
                                    double valid_metric);

typedef struct tt_train_result {
  int rounds_run;     /* rounds boosted before stopping */
  int best_iteration; /* 0-based; the model keeps rounds 0..best_iteration */
  char eval_metric[32];
  double *train_curve, *valid_curve; /* rounds_run values each (valid NaN without validation rows) */
  double best_train, best_valid;
  double baseline_valid; /* the metric of a constant prediction (the training mean) */
  char verdict[16];      /* "good", "overfit", "underfit" */
  char verdict_reason[200];
  double seconds; /* XGBoost's own time (DMatrix + boosting), monotonic */
} tt_train_result;
void tt_train_result_free(tt_train_result *r);

/* Train on the TRAIN rows of ts with early stopping on the VALIDATION rows
 * (none: no early stopping; the best iteration is the last). The booster
 * is the caller's to destroy. XGBoost's error text is copied into err. */
tt_err tt_booster_train(const tt_model_spec *spec, const tt_trainset *ts, tt_train_progress_fn cb,
                        void *ud, tt_booster **out, tt_train_result *result,
                        tt_error *err) TT_WARN_UNUSED;
void tt_booster_destroy(tt_booster *b);

/* The model as XGBoost JSON (malloc'd into *json, length *len). */
tt_err tt_booster_save_json(tt_booster *b, char **json, size_t *len, tt_error *err) TT_WARN_UNUSED;
tt_err tt_booster_load_json(const char *json, size_t len, tt_booster **out, tt_error *err) TT_WARN_UNUSED;

/* Predict nrows rows of x (row-major, nfeatures each, NaN = missing):
 * probabilities for classification, values for regression. */
tt_err tt_booster_predict(tt_booster *b, const float *x, size_t nrows, size_t nfeatures,
                          float *out, tt_error *err) TT_WARN_UNUSED;
/* Per-row contributions (SHAP values): out has nrows * (nfeatures + 1)
 * floats, the last of each row the bias; a row's values sum to its margin. */
tt_err tt_booster_contribs(tt_booster *b, const float *x, size_t nrows, size_t nfeatures,
                           float *out, tt_error *err) TT_WARN_UNUSED;
/* Total gain per feature (0 for unused features); out has nfeatures. */
tt_err tt_booster_importance(tt_booster *b, size_t nfeatures, const char *const *names,
                             double *out, tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
