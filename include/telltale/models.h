/* telltale — trained models: fitting a spec on a training set, model
 * artefacts with checksums, and model versions in the registry.
 *
 * A fit (tt_fit) is everything one training run produced: the booster, the
 * decision threshold, metrics per split part, learning curves and verdict,
 * feature importance, the reference profile and the training-data
 * fingerprint. Publishing it writes the artefact (the XGBoost model plus
 * telltale's metadata, one file, see src/train/README.md "Artefact format")
 * into the artefact directory under its sha256, and registers a version of
 * kind "model" whose content (JSON) records all of it. Loading a model
 * recomputes the artefact's sha256 and refuses a file that does not match
 * the registry.
 */
#ifndef TELLTALE_MODELS_H
#define TELLTALE_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"
#include "telltale/registry.h"
#include "telltale/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- fit -- */

typedef struct tt_fit {
  tt_booster *booster;
  tt_train_result train;
  double threshold;         /* classification: chosen on validation (else train) rows */
  char *record_json;        /* the registry content, see tt_fit_record */
  char fingerprint[65];     /* sha256 of the training rows (tt_trainset_fingerprint) */
  double seconds_total;     /* wall time of the whole fit */
} tt_fit;

/* Extra facts the caller knows about the run, recorded with it. */
typedef struct tt_fit_context {
  const char *spec_yaml;      /* the spec file's text (may be NULL) */
  const char *const *lake_files; /* the lake files the training set was read from */
  size_t nlake_files;
  const char *const *feature_set_versions; /* resolved version ids, one per spec->features (may be NULL) */
  double build_seconds;       /* time spent building the training set */
  int64_t as_of;              /* end of the data used (0 unknown) */
  const char *telltale_version; /* recorded as is (may be NULL) */
} tt_fit_context;

/* Train spec on ts, choose the threshold, compute metrics for every part,
 * importance, profile and fingerprint, and compose the record JSON. The fit
 * is the caller's (tt_fit_destroy). */
tt_err tt_fit_run(const tt_model_spec *spec, const tt_trainset *ts, const tt_fit_context *ctx,
                  tt_train_progress_fn cb, void *ud, tt_fit **out, tt_error *err) TT_WARN_UNUSED;
void tt_fit_destroy(tt_fit *fit);

/* ---------------------------------------------------------- artefacts -- */

/* Write an artefact (meta JSON + XGBoost model JSON) to
 * DIR/NAME/SHA256.model, crash-safely (tmp, fsync, rename). *relpath
 * (malloc'd) is the path relative to DIR, sha256 its hex digest. Identical
 * content lands on the same file. */
tt_err tt_artifact_write(const char *dir, const char *name, const char *meta_json,
                         const char *model_json, size_t model_len, char **relpath,
                         char sha256[65], tt_error *err) TT_WARN_UNUSED;
/* Read an artefact, verifying its sha256 against `expect` (NULL: no check).
 * A mismatch is TT_CHECKSUM naming the file. *meta and *model are
 * malloc'd. */
tt_err tt_artifact_read(const char *path, const char *expect, char **meta, char **model,
                        size_t *model_len, tt_error *err) TT_WARN_UNUSED;

/* ------------------------------------------------------------- models -- */

/* Publish a fit: write its artefact into artifacts_dir, register a new
 * version of kind "model" named spec->name. *version gets the number. Two
 * concurrent publishes of one name get distinct versions. */
tt_err tt_model_publish(tt_registry *reg, const char *artifacts_dir, const tt_model_spec *spec,
                        tt_fit *fit, int *version, tt_error *err) TT_WARN_UNUSED;

/* A loaded model: what scoring needs. */
typedef struct tt_model {
  char *name;
  int version;
  tt_label_kind kind;
  tt_axis_kind axis;
  double threshold;
  size_t nfeatures;
  char **feature_names;
  size_t nsets;
  tt_feature_ref *feature_sets; /* with the versions used in training */
  char *record_json;            /* the registry content */
  tt_booster *booster;
} tt_model;

/* Resolve ref ("NAME", "NAME:VERSION", "NAME@ALIAS"), read and verify the
 * artefact, load the booster. The model is the caller's (tt_model_destroy).
 * A tampered or missing artefact is refused (TT_CHECKSUM / TT_NOTFOUND). */
tt_err tt_model_load(tt_registry *reg, const char *artifacts_dir, const char *ref, tt_model **out,
                     tt_error *err) TT_WARN_UNUSED;
void tt_model_destroy(tt_model *m);

/* ------------------------------------------------------ training runs -- */

typedef struct tt_train_opts {
  const char *project_dir;
  const char *lake;      /* lake root */
  const char *artifacts; /* artefact directory */
  tt_registry *reg;
  const char *telltale_version;
  tt_train_progress_fn progress; /* per boosting round (may be NULL) */
  void *progress_ud;
  int threads;      /* DuckDB threads for the build; 0 = every core */
  int xgb_threads;  /* XGBoost nthread when the spec sets none; 0 = XGBoost's default */
} tt_train_opts;

typedef struct tt_train_report {
  char name[128];
  int version;       /* registered version (0 for a reproduction) */
  char *record_json; /* the run's record (malloc'd) */
  tt_build_info build;
  char fingerprint[65];
  double build_seconds, xgboost_seconds, total_seconds;
  /* reproduce only: */
  int rows_identical, model_identical;
  char original_fingerprint[65];
} tt_train_report;
void tt_train_report_free(tt_train_report *r);

/* Parse the spec file, build its training set from the lake, fit, publish
 * a new model version. */
tt_err tt_train_run(const char *spec_path, const tt_train_opts *o, tt_train_report *rep,
                    tt_error *err) TT_WARN_UNUSED;

/* Rebuild the training set of a registered version from its recorded spec
 * and lake files, retrain, and report whether the rows (fingerprint) and
 * the model (XGBoost JSON, byte for byte) are identical. Registers nothing. */
tt_err tt_train_reproduce(const char *ref, const tt_train_opts *o, tt_train_report *rep,
                          tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
