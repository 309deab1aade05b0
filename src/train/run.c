/* Training runs end to end: spec → training set → fit → registry, and the
 * reproduction of a registered run from what it recorded. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/hash.h"
#include "telltale/models.h"
#include "telltale/time.h"

void tt_train_report_free(tt_train_report *r) {
  if (!r) return;
  free(r->record_json);
  tt_build_info_free(&r->build);
  memset(r, 0, sizeof *r);
}

static char *read_text(const char *path, tt_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    tt_error_set(err, errno == ENOENT ? TT_NOTFOUND : TT_IO, "cannot open: %s", strerror(errno));
    tt_error_at(err, path, 0, NULL);
    return NULL;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      if (cap > (1u << 24)) { /* a spec is small: 16 MiB is a corrupt file */
        free(buf);
        fclose(f);
        tt_error_set(err, TT_LIMIT, "spec file larger than 16 MiB");
        tt_error_at(err, path, 0, NULL);
        return NULL;
      }
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        tt_error_set(err, TT_NOMEM, "out of memory");
        return NULL;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, 4096, f);
    len += n;
    if (n < 4096) break;
  }
  fclose(f);
  buf[len] = '\0';
  return buf;
}

/* Build + fit with a parsed spec; the fit is the caller's. */
static tt_err build_and_fit(const tt_model_spec *spec, const char *yaml, const tt_train_opts *o,
                            const char *const *files, size_t nfiles, tt_fit **fit,
                            tt_train_report *rep, tt_error *err) {
  tt_trainset *ts = NULL;
  tt_build_opts bo = {.mode = TT_BUILD_TRAIN, .project_dir = o->project_dir, .lake = o->lake,
                      .files = files, .nfiles = nfiles, .threads = o->threads};
  tt_err rc = tt_trainset_build(spec, &bo, &ts, &rep->build, err);
  if (rc != TT_OK) return rc;
  rep->build_seconds = rep->build.seconds;
  size_t counts[4], pos[4];
  tt_trainset_counts(ts, counts, pos);
  if (!counts[TT_PART_TRAIN]) {
    tt_error_set(err, TT_INVALID, "the training split is empty (%zu labelled rows in all): check split and spine",
                 ts->nrows);
    tt_error_at(err, spec->source, 0, "split");
    tt_trainset_destroy(ts);
    return TT_INVALID;
  }
  /* nthread is a property of the machine, not of the dataset: the spec
   * may set it, else the caller's default applies. */
  tt_model_spec *tuned = (tt_model_spec *)spec;
  int has = 0;
  for (size_t i = 0; i < spec->xgb.nparams; i++) has |= !strcmp(spec->xgb.param_keys[i], "nthread");
  char **ok = NULL, **ov = NULL;
  if (!has && o->xgb_threads > 0) {
    size_t n = spec->xgb.nparams;
    ok = realloc(NULL, (n + 1) * sizeof *ok);
    ov = realloc(NULL, (n + 1) * sizeof *ov);
    char nt[16];
    snprintf(nt, sizeof nt, "%d", o->xgb_threads);
    if (!ok || !ov || !(ok[n] = strdup("nthread")) || !(ov[n] = strdup(nt))) {
      tt_trainset_destroy(ts);
      return tt_error_set(err, TT_NOMEM, "out of memory");
    }
    memcpy(ok, spec->xgb.param_keys, n * sizeof *ok);
    memcpy(ov, spec->xgb.param_values, n * sizeof *ov);
  }
  tt_xgb_def saved = spec->xgb;
  if (ok) {
    tuned->xgb.param_keys = ok;
    tuned->xgb.param_values = ov;
    tuned->xgb.nparams++;
  }
  if (spec->label.kind == TT_LABEL_CLASSIFICATION && !pos[TT_PART_TRAIN]) {
    tt_error_set(err, TT_INVALID,
                 "the training split has no positive rows (%zu rows, no failure of %s within the horizon): "
                 "move the split's dates or split by vehicle",
                 counts[TT_PART_TRAIN], spec->label.component ? spec->label.component : "any component");
    tt_error_at(err, spec->source, 0, "split");
    tt_trainset_destroy(ts);
    return TT_INVALID;
  }
  tt_fit_context ctx = {.spec_yaml = yaml, .lake_files = (const char *const *)rep->build.files,
                        .nlake_files = rep->build.nfiles,
                        .feature_set_versions = (const char *const *)rep->build.set_versions,
                        .build_seconds = rep->build.seconds, .as_of = rep->build.data_end,
                        .telltale_version = o->telltale_version};
  rc = tt_fit_run(spec, ts, &ctx, o->progress, o->progress_ud, fit, err);
  if (ok) {
    free(ok[saved.nparams]);
    free(ov[saved.nparams]);
    free(ok);
    free(ov);
    tuned->xgb = saved;
  }
  tt_trainset_destroy(ts);
  if (rc != TT_OK) return rc;
  memcpy(rep->fingerprint, (*fit)->fingerprint, 65);
  rep->xgboost_seconds = (*fit)->train.seconds;
  return TT_OK;
}

tt_err tt_train_run(const char *spec_path, const tt_train_opts *o, tt_train_report *rep, tt_error *err) {
  memset(rep, 0, sizeof *rep);
  double t0 = tt_monotonic();
  char *yaml = read_text(spec_path, err);
  if (!yaml) return err ? err->code : TT_IO;
  tt_model_spec *spec = NULL;
  tt_fit *fit = NULL;
  tt_err rc = tt_model_spec_parse_string(yaml, strlen(yaml), spec_path, &spec, err);
  if (rc == TT_OK) rc = build_and_fit(spec, yaml, o, NULL, 0, &fit, rep, err);
  if (rc == TT_OK) rc = tt_model_publish(o->reg, o->artifacts, spec, fit, &rep->version, err);
  if (rc == TT_OK) {
    snprintf(rep->name, sizeof rep->name, "%s", spec->name);
    rep->record_json = strdup(fit->record_json);
    rep->total_seconds = tt_monotonic() - t0;
  }
  tt_fit_destroy(fit);
  tt_model_spec_destroy(spec);
  free(yaml);
  if (rc != TT_OK) tt_train_report_free(rep);
  return rc;
}

tt_err tt_train_reproduce(const char *ref, const tt_train_opts *o, tt_train_report *rep, tt_error *err) {
  memset(rep, 0, sizeof *rep);
  double t0 = tt_monotonic();
  tt_object *obj = NULL;
  tt_model *orig = NULL;
  tt_model_spec *spec = NULL;
  tt_fit *fit = NULL;
  json_t *rec = NULL;
  const char **files = NULL;
  char *newjson = NULL, *oldjson = NULL;
  size_t newlen = 0, oldlen = 0;
  tt_err rc = tt_registry_get(o->reg, TT_KIND_MODEL, ref, &obj, err);
  if (rc != TT_OK) goto out;
  json_error_t je;
  rec = json_loads(obj->content, 0, &je);
  const char *yaml = json_string_value(json_object_get(rec, "spec_yaml"));
  json_t *jf = json_object_get(json_object_get(rec, "fingerprint"), "lake_files");
  const char *fp = json_string_value(json_object_get(json_object_get(rec, "fingerprint"), "rows_sha256"));
  if (!yaml || !json_is_array(jf) || !fp) {
    rc = tt_error_set(err, TT_MODEL, "model %s:%d did not record its spec and lake files", obj->name, obj->version);
    goto out;
  }
  snprintf(rep->original_fingerprint, sizeof rep->original_fingerprint, "%s", fp);
  size_t nf = json_array_size(jf);
  files = calloc(nf ? nf : 1, sizeof *files);
  if (!files) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < nf; i++) files[i] = json_string_value(json_array_get(jf, i));
  char source[256];
  snprintf(source, sizeof source, "%s:%d (recorded spec)", obj->name, obj->version);
  if ((rc = tt_model_spec_parse_string(yaml, strlen(yaml), source, &spec, err)) != TT_OK) goto out;
  /* Pin the feature sets to the versions the run used. */
  json_t *sets = json_object_get(rec, "feature_sets");
  for (size_t i = 0; i < spec->nfeatures && i < json_array_size(sets); i++) {
    const char *v = json_string_value(json_object_get(json_array_get(sets, i), "version"));
    if (v) {
      free(spec->features[i].version);
      spec->features[i].version = strdup(v);
    }
  }
  /* XGBoost's result may depend on its thread count: use the recorded one. */
  tt_train_opts ro = *o;
  const char *nt = json_string_value(json_object_get(
      json_object_get(json_object_get(json_object_get(rec, "spec"), "xgboost"), "params"), "nthread"));
  if (nt) ro.xgb_threads = atoi(nt);
  if ((rc = build_and_fit(spec, yaml, &ro, files, nf, &fit, rep, err)) != TT_OK) goto out;
  rep->rows_identical = !strcmp(rep->fingerprint, rep->original_fingerprint);
  if ((rc = tt_model_load(o->reg, o->artifacts, ref, &orig, err)) != TT_OK) goto out;
  if ((rc = tt_booster_save_json(fit->booster, &newjson, &newlen, err)) != TT_OK ||
      (rc = tt_booster_save_json(orig->booster, &oldjson, &oldlen, err)) != TT_OK)
    goto out;
  rep->model_identical = newlen == oldlen && !memcmp(newjson, oldjson, newlen);
  snprintf(rep->name, sizeof rep->name, "%s", obj->name);
  rep->record_json = strdup(fit->record_json);
  rep->total_seconds = tt_monotonic() - t0;
out:
  free(newjson), free(oldjson);
  free(files);
  json_decref(rec);
  tt_model_destroy(orig);
  tt_fit_destroy(fit);
  tt_model_spec_destroy(spec);
  tt_object_free(obj);
  if (rc != TT_OK) tt_train_report_free(rep);
  return rc;
}
