/* The dense training set and its fingerprint. */
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/train.h"

/* Cap on rows: 2^31 floats per column keeps XGBoost's dense input sane. */
#define TRAINSET_MAX_ROWS ((size_t)1 << 31)

tt_trainset *tt_trainset_new(size_t nfeatures, const char *const *names) {
  tt_trainset *ts = calloc(1, sizeof *ts);
  if (!ts) return NULL;
  ts->nfeatures = nfeatures;
  ts->feature_names = calloc(nfeatures ? nfeatures : 1, sizeof *ts->feature_names);
  if (!ts->feature_names) goto fail;
  for (size_t j = 0; j < nfeatures; j++)
    if (!(ts->feature_names[j] = strdup(names[j]))) goto fail;
  return ts;
fail:
  tt_trainset_destroy(ts);
  return NULL;
}

void tt_trainset_destroy(tt_trainset *ts) {
  if (!ts) return;
  for (size_t j = 0; ts->feature_names && j < ts->nfeatures; j++) free(ts->feature_names[j]);
  free(ts->feature_names);
  for (size_t i = 0; i < ts->nrows; i++) free(ts->vehicle[i]);
  free(ts->vehicle);
  free(ts->time);
  free(ts->x);
  free(ts->y);
  free(ts->part);
  free(ts);
}

static tt_err grow(tt_trainset *ts) {
  if (ts->nrows < ts->capacity) return TT_OK;
  size_t cap = ts->capacity ? ts->capacity * 2 : 1024;
  if (cap > TRAINSET_MAX_ROWS) return TT_LIMIT;
  char **v = realloc(ts->vehicle, cap * sizeof *v);
  if (!v) return TT_NOMEM;
  ts->vehicle = v;
  int64_t *t = realloc(ts->time, cap * sizeof *t);
  if (!t) return TT_NOMEM;
  ts->time = t;
  float *x = realloc(ts->x, cap * (ts->nfeatures ? ts->nfeatures : 1) * sizeof *x);
  if (!x) return TT_NOMEM;
  ts->x = x;
  float *y = realloc(ts->y, cap * sizeof *y);
  if (!y) return TT_NOMEM;
  ts->y = y;
  uint8_t *p = realloc(ts->part, cap);
  if (!p) return TT_NOMEM;
  ts->part = p;
  ts->capacity = cap;
  return TT_OK;
}

tt_err tt_trainset_add(tt_trainset *ts, const char *vehicle, int64_t t, const float *x, float y,
                       tt_split_part part) {
  tt_err rc = grow(ts);
  if (rc != TT_OK) return rc;
  char *v = strdup(vehicle);
  if (!v) return TT_NOMEM;
  size_t i = ts->nrows++;
  ts->vehicle[i] = v;
  ts->time[i] = t;
  if (ts->nfeatures) memcpy(ts->x + i * ts->nfeatures, x, ts->nfeatures * sizeof *x);
  ts->y[i] = y;
  ts->part[i] = (uint8_t)part;
  return TT_OK;
}

void tt_trainset_fingerprint(const tt_trainset *ts, char out[65]) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_DigestInit_ex(c, EVP_sha256(), NULL);
  uint64_t n = ts->nfeatures;
  EVP_DigestUpdate(c, &n, sizeof n);
  for (size_t j = 0; j < ts->nfeatures; j++)
    EVP_DigestUpdate(c, ts->feature_names[j], strlen(ts->feature_names[j]) + 1);
  for (size_t i = 0; i < ts->nrows; i++) {
    EVP_DigestUpdate(c, ts->vehicle[i], strlen(ts->vehicle[i]) + 1);
    EVP_DigestUpdate(c, &ts->time[i], sizeof ts->time[i]);
    /* All NaNs hash alike whatever their payload bits. */
    for (size_t j = 0; j < ts->nfeatures; j++) {
      float f = ts->x[i * ts->nfeatures + j];
      if (isnan(f)) f = NAN;
      EVP_DigestUpdate(c, &f, sizeof f);
    }
    EVP_DigestUpdate(c, &ts->y[i], sizeof ts->y[i]);
    EVP_DigestUpdate(c, &ts->part[i], 1);
  }
  EVP_DigestFinal_ex(c, md, &len);
  EVP_MD_CTX_free(c);
  for (unsigned k = 0; k < 32; k++) snprintf(out + 2 * k, 3, "%02x", md[k]);
}

void tt_trainset_counts(const tt_trainset *ts, size_t counts[4], size_t positives[4]) {
  for (int p = 0; p < 4; p++) counts[p] = positives[p] = 0;
  for (size_t i = 0; i < ts->nrows; i++) {
    int p = ts->part[i] & 3;
    counts[p]++;
    positives[p] += ts->y[i] > 0.5f;
  }
}
