/* Threshold policies. Every distinct score is a candidate threshold
 * ("alarm when score >= threshold"); one pass over the scores sorted from
 * the top gives the confusion counts of every candidate. */
#include <math.h>
#include <stdlib.h>

#include "telltale/train.h"

const char *tt_threshold_policy_name(tt_threshold_policy p) {
  switch (p) {
  case TT_THRESHOLD_MAX_F1: return "max_f1";
  case TT_THRESHOLD_TARGET_RECALL: return "target_recall";
  case TT_THRESHOLD_MIN_COST: return "min_cost";
  case TT_THRESHOLD_FIXED: return "fixed";
  }
  return "?";
}

static int desc(const void *a, const void *b) {
  float x = ((const float *)a)[0], y = ((const float *)b)[0];
  return (x < y) - (x > y);
}

tt_err tt_threshold_choose(const tt_threshold_def *d, const float *score, const float *label,
                           size_t n, double *thr) {
  *thr = 0.5;
  if (d->policy == TT_THRESHOLD_FIXED) {
    *thr = d->fixed;
    return TT_OK;
  }
  float *v = malloc((n ? n : 1) * 2 * sizeof *v); /* pairs (score, label) */
  if (!v) return TT_NOMEM;
  size_t P = 0;
  for (size_t i = 0; i < n; i++) {
    v[2 * i] = score[i];
    v[2 * i + 1] = label[i] > 0.5f;
    P += label[i] > 0.5f;
  }
  if (!P) {
    free(v);
    return TT_OK;
  }
  qsort(v, n, 2 * sizeof *v, desc);
  size_t tp = 0, fp = 0;
  double best = -INFINITY;
  int found = 0;
  /* The cost of alarming on nothing (threshold above every score). */
  if (d->policy == TT_THRESHOLD_MIN_COST) {
    best = -d->cost_missed_failure * (double)P;
    *thr = nextafter(v[0], INFINITY);
    found = 1;
  }
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && v[2 * j] == v[2 * i]) {
      v[2 * j + 1] > 0 ? tp++ : fp++;
      j++;
    }
    double s = v[2 * i];
    double prec = (double)tp / (double)(tp + fp), rec = (double)tp / (double)P;
    double val;
    switch (d->policy) {
    case TT_THRESHOLD_MAX_F1: val = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0; break;
    case TT_THRESHOLD_MIN_COST:
      val = -(d->cost_false_alarm * (double)fp + d->cost_missed_failure * (double)(P - tp));
      break;
    default: /* target recall: the first (highest) threshold that reaches it */
      if (rec >= d->target_recall - 1e-12) {
        *thr = s;
        free(v);
        return TT_OK;
      }
      val = -INFINITY;
    }
    /* Strictly better only: ties keep the higher threshold (fewer alarms). */
    if (val > best) {
      best = val;
      *thr = s;
      found = 1;
    }
    i = j;
  }
  (void)found;
  free(v);
  return TT_OK;
}
