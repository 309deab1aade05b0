/* Metrics and threshold policies against values computed by hand. */
#include "telltale/train.h"
#include "tt_test.h"

/* P = 4, N = 4. Positive-above-negative pairs: 4 + 4 + 3 + 1 = 12 → AUC
 * 12/16. AP: positives at ranks 1, 2, 4, 7 → (1 + 1 + 3/4 + 4/7) / 4. */
static const float S[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.55f, 0.4f, 0.3f, 0.2f};
static const float Y[] = {1, 1, 0, 1, 0, 0, 1, 0};

TT_TEST(classification_metrics_by_hand) {
  tt_class_metrics m;
  CHECK_OK(tt_metrics_classification(S, Y, 8, 0.5, 1, 10, &m));
  CHECK_EQ_INT(m.positives, 4);
  CHECK_NEAR(m.roc_auc, 0.75, 1e-12);
  CHECK_NEAR(m.pr_auc, (1 + 1 + 0.75 + 4.0 / 7) / 4, 1e-9);
  CHECK_EQ_INT(m.tp, 3);
  CHECK_EQ_INT(m.fp, 2);
  CHECK_EQ_INT(m.tn, 2);
  CHECK_EQ_INT(m.fn, 1);
  CHECK_NEAR(m.precision, 0.6, 1e-12);
  CHECK_NEAR(m.recall, 0.75, 1e-12);
  CHECK_NEAR(m.f1, 2 * 0.6 * 0.75 / 1.35, 1e-12);
  CHECK_NEAR(m.cost, 2 * 1 + 1 * 10, 1e-12);
}

TT_TEST(classification_metrics_ties_and_one_class) {
  const float s[] = {0.5f, 0.5f, 0.5f, 0.1f}, y[] = {1, 0, 0, 0};
  tt_class_metrics m;
  CHECK_OK(tt_metrics_classification(s, y, 4, 0.5, 1, 1, &m));
  /* The positive ties with two negatives (half each) and beats one: 2/3. */
  CHECK_NEAR(m.roc_auc, 2.0 / 3, 1e-12);
  CHECK_NEAR(m.pr_auc, 1.0 / 3, 1e-12);
  const float y0[] = {0, 0, 0, 0};
  CHECK_OK(tt_metrics_classification(s, y0, 4, 0.5, 1, 1, &m));
  CHECK(isnan(m.roc_auc));
  CHECK(isnan(m.pr_auc));
  CHECK_NEAR(m.recall, 0, 0);
  CHECK_OK(tt_metrics_classification(s, y0, 0, 0.5, 1, 1, &m));
  CHECK_EQ_INT(m.n, 0);
}

TT_TEST(regression_metrics_by_hand) {
  const float p[] = {1, 2, 3}, y[] = {1, 3, 5};
  tt_reg_metrics m;
  tt_metrics_regression(p, y, 3, &m);
  CHECK_NEAR(m.rmse, sqrt(5.0 / 3), 1e-12);
  CHECK_NEAR(m.mae, 1, 1e-12);
  CHECK_NEAR(m.mean_y, 3, 1e-12);
}

TT_TEST(threshold_policies_by_hand) {
  double t;
  tt_threshold_def d = {.policy = TT_THRESHOLD_MAX_F1};
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.6f, 0); /* F1 0.75 */
  d = (tt_threshold_def){.policy = TT_THRESHOLD_TARGET_RECALL, .target_recall = 1.0};
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.3f, 0);
  d.target_recall = 0.6;
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.6f, 0);
  d.target_recall = 0.5;
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.8f, 0);
  /* Missed failures expensive: alarm down to 0.3 (3 false alarms, cost 3). */
  d = (tt_threshold_def){.policy = TT_THRESHOLD_MIN_COST, .cost_false_alarm = 1, .cost_missed_failure = 10};
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.3f, 0);
  /* False alarms expensive: alarm only on the top two (cost 2). */
  d.cost_false_alarm = 10;
  d.cost_missed_failure = 1;
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.8f, 0);
  /* Alarms never pay: the threshold sits above every score. */
  const float s2[] = {0.9f, 0.1f}, y2[] = {0, 1};
  d.cost_false_alarm = 100;
  CHECK_OK(tt_threshold_choose(&d, s2, y2, 2, &t));
  CHECK(t > 0.9f);
  d = (tt_threshold_def){.policy = TT_THRESHOLD_FIXED, .fixed = 0.42};
  CHECK_OK(tt_threshold_choose(&d, S, Y, 8, &t));
  CHECK_NEAR(t, 0.42, 0);
}
