/* Reference profiles: per feature, the quantiles and missing rate of the
 * training rows, recorded with the model so that monitoring can compare
 * what the model sees in production with what it was trained on. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "telltale/train.h"

const double tt_profile_quantiles[TT_PROFILE_NQ] = {0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1};

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

tt_err tt_profile_feature(const tt_trainset *ts, size_t j, int part, tt_feature_profile *out) {
  *out = (tt_feature_profile){0};
  float *v = malloc((ts->nrows ? ts->nrows : 1) * sizeof *v);
  if (!v) return TT_NOMEM;
  size_t k = 0;
  double sum = 0;
  for (size_t i = 0; i < ts->nrows; i++) {
    if (part >= 0 && ts->part[i] != part) continue;
    out->n++;
    float f = ts->x[i * ts->nfeatures + j];
    if (isnan(f)) {
      out->missing++;
      continue;
    }
    v[k++] = f;
    sum += f;
  }
  out->missing_rate = out->n ? (double)out->missing / (double)out->n : 0;
  if (!k) {
    out->mean = out->std = NAN;
    for (int q = 0; q < TT_PROFILE_NQ; q++) out->q[q] = NAN;
    free(v);
    return TT_OK;
  }
  qsort(v, k, sizeof *v, cmp_float);
  out->mean = sum / (double)k;
  double ss = 0;
  for (size_t i = 0; i < k; i++) ss += ((double)v[i] - out->mean) * ((double)v[i] - out->mean);
  out->std = sqrt(ss / (double)k);
  /* Linear interpolation between closest ranks (numpy's default). */
  for (int q = 0; q < TT_PROFILE_NQ; q++) {
    double pos = tt_profile_quantiles[q] * (double)(k - 1);
    size_t lo = (size_t)floor(pos), hi = lo + 1 < k ? lo + 1 : lo;
    out->q[q] = (double)v[lo] + (pos - (double)lo) * ((double)v[hi] - (double)v[lo]);
  }
  free(v);
  return TT_OK;
}

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

char *tt_profile_json(const tt_trainset *ts) {
  json_t *root = json_object();
  if (!root) return NULL;
  for (size_t j = 0; j < ts->nfeatures; j++) {
    tt_feature_profile p;
    if (tt_profile_feature(ts, j, TT_PART_TRAIN, &p) != TT_OK) {
      json_decref(root);
      return NULL;
    }
    json_t *q = json_object();
    for (int k = 0; k < TT_PROFILE_NQ; k++) {
      char key[16];
      snprintf(key, sizeof key, "%g", tt_profile_quantiles[k]);
      json_object_set_new(q, key, num(p.q[k]));
    }
    json_object_set_new(root, ts->feature_names[j],
                        json_pack("{s:I,s:I,s:o,s:o,s:o,s:o}", "n", (json_int_t)p.n, "missing",
                                  (json_int_t)p.missing, "missing_rate", num(p.missing_rate), "mean",
                                  num(p.mean), "std", num(p.std), "quantiles", q));
  }
  char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
  json_decref(root);
  return s;
}
