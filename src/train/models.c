/* Model versions in the registry: publishing a fit and loading a model
 * back with its artefact verified. The registry record (kind "model") is
 * the fit's record JSON plus {"artifact": {"path", "sha256"}}; the
 * artefact's own metadata repeats what scoring needs (features, threshold)
 * so that a loaded model can be checked against its record. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/models.h"

tt_err tt_model_publish(tt_registry *reg, const char *dir, const tt_model_spec *spec, tt_fit *fit,
                        int *version, tt_error *err) {
  tt_err rc = TT_OK;
  char *model = NULL, *meta = NULL, *rel = NULL, *content = NULL;
  size_t mlen = 0;
  json_t *rec = NULL, *m = NULL;
  tt_object *obj = NULL;
  json_error_t jerr;
  if ((rc = tt_booster_save_json(fit->booster, &model, &mlen, err)) != TT_OK) goto out;
  rec = json_loads(fit->record_json, 0, &jerr);
  if (!rec) {
    rc = tt_error_set(err, TT_INTERNAL, "fit record: %s", jerr.text);
    goto out;
  }
  m = json_pack("{s:i,s:O,s:O,s:O,s:O,s:O,s:O,s:s}", "format", 1, "name", json_object_get(rec, "name"),
                "kind", json_object_get(rec, "kind"), "axis",
                json_object_get(json_object_get(rec, "spec"), "axis"), "threshold",
                json_object_get(json_object_get(rec, "threshold"), "value"), "feature_names",
                json_object_get(rec, "feature_names"), "feature_sets",
                json_object_get(rec, "feature_sets"), "rows_sha256", fit->fingerprint);
  if (!m || !(meta = json_dumps(m, JSON_PRESERVE_ORDER | JSON_COMPACT))) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  char sha[65];
  if ((rc = tt_artifact_write(dir, spec->name, meta, model, mlen, &rel, sha, err)) != TT_OK) goto out;
  json_object_set_new(rec, "artifact", json_pack("{s:s,s:s,s:I}", "path", rel, "sha256", sha,
                                                 "bytes", (json_int_t)mlen));
  content = json_dumps(rec, JSON_PRESERVE_ORDER | JSON_COMPACT);
  if (!content) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  tt_object_spec os = {.kind = TT_KIND_MODEL, .name = spec->name, .content = content,
                       .description = spec->description};
  /* No dedup: every training run is its own version, even when it
   * reproduces an earlier one exactly (reproduce reports that). */
  if ((rc = tt_registry_put(reg, &os, 0, NULL, NULL, &obj, NULL, err)) != TT_OK) goto out;
  if (version) *version = obj->version;
out:
  tt_object_free(obj);
  json_decref(rec);
  json_decref(m);
  free(model), free(meta), free(rel), free(content);
  return rc;
}

void tt_model_destroy(tt_model *m) {
  if (!m) return;
  free(m->name);
  for (size_t j = 0; m->feature_names && j < m->nfeatures; j++) free(m->feature_names[j]);
  free(m->feature_names);
  for (size_t i = 0; m->feature_sets && i < m->nsets; i++) {
    free(m->feature_sets[i].set);
    free(m->feature_sets[i].version);
  }
  free(m->feature_sets);
  free(m->record_json);
  tt_booster_destroy(m->booster);
  free(m);
}

tt_err tt_model_load(tt_registry *reg, const char *dir, const char *ref, tt_model **out, tt_error *err) {
  tt_err rc = TT_OK;
  tt_object *obj = NULL;
  json_t *rec = NULL, *meta = NULL;
  char *path = NULL, *metas = NULL, *model = NULL;
  size_t mlen = 0;
  json_error_t jerr;
  *out = NULL;
  tt_model *m = calloc(1, sizeof *m);
  if (!m) return tt_error_set(err, TT_NOMEM, "out of memory");
  if ((rc = tt_registry_get(reg, TT_KIND_MODEL, ref, &obj, err)) != TT_OK) goto out;
  rec = json_loads(obj->content, 0, &jerr);
  json_t *art = rec ? json_object_get(rec, "artifact") : NULL;
  const char *rel = json_string_value(json_object_get(art, "path"));
  const char *sha = json_string_value(json_object_get(art, "sha256"));
  if (!rel || !sha) {
    rc = tt_error_set(err, TT_MODEL, "registry record of model %s:%d has no artefact", obj->name, obj->version);
    goto out;
  }
  if (asprintf(&path, "%s/%s", dir, rel) < 0) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = tt_artifact_read(path, sha, &metas, &model, &mlen, err)) != TT_OK) goto out;
  meta = json_loads(metas, 0, &jerr);
  json_t *names = json_object_get(meta, "feature_names");
  if (!meta || !json_is_array(names) || !json_equal(names, json_object_get(rec, "feature_names"))) {
    rc = tt_error_set(err, TT_MODEL, "artefact metadata does not match the registry record");
    tt_error_at(err, path, 0, NULL);
    goto out;
  }
  m->name = strdup(obj->name);
  m->version = obj->version;
  m->record_json = strdup(obj->content);
  const char *kind = json_string_value(json_object_get(meta, "kind"));
  m->kind = kind && !strcmp(kind, "regression") ? TT_LABEL_REGRESSION : TT_LABEL_CLASSIFICATION;
  const char *axis = json_string_value(json_object_get(meta, "axis"));
  m->axis = axis && !strcmp(axis, "counter") ? TT_AXIS_KIND_COUNTER : TT_AXIS_KIND_TIMESTAMP;
  json_t *thr = json_object_get(meta, "threshold");
  m->threshold = json_is_number(thr) ? json_number_value(thr) : NAN;
  m->nfeatures = json_array_size(names);
  m->feature_names = calloc(m->nfeatures ? m->nfeatures : 1, sizeof *m->feature_names);
  json_t *sets = json_object_get(meta, "feature_sets");
  m->nsets = json_array_size(sets);
  m->feature_sets = calloc(m->nsets ? m->nsets : 1, sizeof *m->feature_sets);
  if (!m->name || !m->record_json || !m->feature_names || !m->feature_sets) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  for (size_t j = 0; j < m->nfeatures; j++) {
    const char *s = json_string_value(json_array_get(names, j));
    if (!s || !(m->feature_names[j] = strdup(s))) {
      rc = tt_error_set(err, TT_MODEL, "bad feature name in artefact");
      goto out;
    }
  }
  for (size_t i = 0; i < m->nsets; i++) {
    json_t *fs = json_array_get(sets, i);
    const char *s = json_string_value(json_object_get(fs, "set"));
    const char *v = json_string_value(json_object_get(fs, "version"));
    if (v && !(m->feature_sets[i].version = strdup(v))) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    if (!s || !(m->feature_sets[i].set = strdup(s))) {
      rc = tt_error_set(err, TT_MODEL, "bad feature set in artefact");
      goto out;
    }
  }
  if ((rc = tt_booster_load_json(model, mlen, &m->booster, err)) != TT_OK) {
    tt_error_at(err, path, 0, NULL);
    goto out;
  }
out:
  tt_object_free(obj);
  json_decref(rec);
  json_decref(meta);
  free(path), free(metas), free(model);
  if (rc != TT_OK) tt_model_destroy(m);
  else *out = m;
  return rc;
}
