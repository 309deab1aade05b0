/* Evaluation metrics. ROC-AUC is the Mann-Whitney statistic with ties
 * counted half; PR-AUC is average precision (the step-wise area, as
 * scikit-learn's average_precision_score), both over scores sorted once. */
#include <math.h>
#include <stdlib.h>

#include "telltale/train.h"

typedef struct scored {
  float s, y;
} scored;

static int by_score_desc(const void *a, const void *b) {
  float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
  return (x < y) - (x > y);
}

tt_err tt_metrics_classification(const float *score, const float *label, size_t n, double thr,
                                 double cfa, double cmf, tt_class_metrics *m) {
  *m = (tt_class_metrics){.n = n, .threshold = thr, .roc_auc = NAN, .pr_auc = NAN, .logloss = NAN};
  if (n == 0) return TT_OK;
  scored *v = malloc(n * sizeof *v);
  if (!v) return TT_NOMEM;
  double ll = 0;
  for (size_t i = 0; i < n; i++) {
    v[i].s = score[i];
    v[i].y = label[i] > 0.5f ? 1.0f : 0.0f;
    m->positives += v[i].y > 0;
    int alarm = score[i] >= thr;
    if (v[i].y > 0) alarm ? m->tp++ : m->fn++;
    else alarm ? m->fp++ : m->tn++;
    double p = fmin(fmax((double)score[i], 1e-15), 1 - 1e-15);
    ll -= v[i].y > 0 ? log(p) : log(1 - p);
  }
  m->logloss = ll / (double)n;
  qsort(v, n, sizeof *v, by_score_desc);
  size_t P = m->positives, N = n - P;
  /* Walk groups of tied scores from the top. */
  double auc = 0, ap = 0;
  size_t tp = 0, fp = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i, gp = 0, gn = 0;
    while (j < n && v[j].s == v[i].s) {
      v[j].y > 0 ? gp++ : gn++;
      j++;
    }
    /* Negatives in this group rank below the tp positives above them and
     * tie with the group's positives. */
    auc += (double)gn * ((double)tp + 0.5 * (double)gp);
    tp += gp;
    fp += gn;
    if (gp) ap += ((double)gp / (double)(P ? P : 1)) * ((double)tp / (double)(tp + fp));
    i = j;
  }
  free(v);
  if (P && N) m->roc_auc = auc / ((double)P * (double)N);
  if (P) m->pr_auc = ap;
  m->precision = m->tp + m->fp ? (double)m->tp / (double)(m->tp + m->fp) : 0;
  m->recall = P ? (double)m->tp / (double)P : 0;
  m->f1 = m->precision + m->recall > 0 ? 2 * m->precision * m->recall / (m->precision + m->recall) : 0;
  m->cost = cfa * (double)m->fp + cmf * (double)m->fn;
  return TT_OK;
}

void tt_metrics_regression(const float *pred, const float *label, size_t n, tt_reg_metrics *m) {
  *m = (tt_reg_metrics){.n = n, .rmse = NAN, .mae = NAN, .mean_y = NAN};
  if (!n) return;
  double se = 0, ae = 0, sy = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)pred[i] - (double)label[i];
    se += d * d;
    ae += fabs(d);
    sy += label[i];
  }
  m->rmse = sqrt(se / (double)n);
  m->mae = ae / (double)n;
  m->mean_y = sy / (double)n;
}
