/* Observation spine and labels: pure functions over one vehicle's sorted
 * times, so each rule can be checked on hand-made cases
 * (tests/test_labels.c). The rules are spelled out in train.h and
 * docs/training.md. */
#include <math.h>

#include "telltale/train.h"

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

size_t tt_spine_build(const int64_t *times, size_t n, int64_t every, int64_t *out) {
  size_t k = 0;
  if (every <= 0) every = 1;
  for (size_t i = 0; i < n; i++) {
    int64_t end = floor_div(times[i], every) * every + every - 1;
    if (k == 0 || out[k - 1] != end) out[k++] = end;
  }
  return k;
}

void tt_label_compute(const tt_label_def *def, const int64_t *obs, size_t nobs,
                      const int64_t *failures, size_t nf, const int64_t *repairs, size_t nr,
                      int64_t data_end, double *y, uint8_t *status) {
  size_t fi = 0; /* first failure > t */
  size_t ri = 0; /* first repair >= the latest failure */
  for (size_t i = 0; i < nobs; i++) {
    int64_t t = obs[i];
    while (fi < nf && failures[fi] <= t) fi++;
    status[i] = TT_ROW_OK;
    y[i] = 0;
    /* Outage: the latest failure f <= t stays unrepaired while t < r, r
     * the first repair at or after f. Without a repair table a failure is
     * taken as repaired at once, so nothing is an outage. */
    if (fi > 0 && def->outage == TT_OUTAGE_EXCLUDE && def->repair_table) {
      int64_t f = failures[fi - 1];
      while (ri < nr && repairs[ri] < f) ri++;
      int64_t r = ri < nr ? repairs[ri] : INT64_MAX;
      if (t < r) {
        status[i] = TT_ROW_OUTAGE;
        continue;
      }
    }
    int has_next = fi < nf;
    int64_t next = has_next ? failures[fi] : 0;
    if (def->kind == TT_LABEL_CLASSIFICATION) {
      if (has_next && next - t <= def->horizon) {
        y[i] = 1;
      } else if (t > data_end - def->horizon) {
        status[i] = TT_ROW_CENSORED; /* (t, t+H] not fully observed and no failure in it */
      }
    } else {
      double unit = def->unit > 0 ? (double)def->unit : 1.0;
      if (has_next) {
        int64_t life = next - t;
        if (def->cap > 0 && life > def->cap) life = def->cap;
        y[i] = (double)life / unit;
      } else if (def->cap > 0 && data_end - t >= def->cap) {
        y[i] = (double)def->cap / unit; /* survived at least cap beyond t */
      } else {
        status[i] = TT_ROW_CENSORED;
      }
    }
  }
}
