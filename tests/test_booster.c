/* XGBoost training through tt_booster: learning, early stopping, verdicts,
 * contributions, importance, save/load, determinism, profiles. */
#include <stdint.h>

#include "telltale/train.h"
#include "tt_test.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void) { /* xorshift64 */
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static const char *NAMES[] = {"signal", "helper", "noise"};

/* y = 1 when signal + helper/2 > 1 (5 % flipped), or pure noise labels. */
static tt_trainset *make_set(size_t n, int noise_labels) {
  rng = 88172645463325252ull;
  tt_trainset *ts = tt_trainset_new(3, NAMES);
  char id[16];
  for (size_t i = 0; i < n; i++) {
    float x[3] = {(float)urand(), (float)urand(), (float)urand()};
    if (i % 17 == 0) x[1] = NAN; /* some missing values */
    int y = x[0] + (isnan(x[1]) ? 0.25f : x[1] / 2) > 1.0f;
    if (urand() < 0.05) y = !y;
    if (noise_labels) y = urand() < 0.3;
    snprintf(id, sizeof id, "V%zu", i % 50);
    tt_split_part part = i % 5 < 3 ? TT_PART_TRAIN : i % 5 == 3 ? TT_PART_VALIDATION : TT_PART_TEST;
    CHECK_OK(tt_trainset_add(ts, id, (int64_t)i, x, (float)y, part));
  }
  return ts;
}

static tt_model_spec *spec(const char *xgb) {
  char y[1024];
  snprintf(y, sizeof y,
           "name: m\nfeatures: [fs]\n"
           "label: {kind: classification, events: failures, horizon: 7d}\n"
           "spine: {table: t}\nsplit: {by: vehicle}\n%s",
           xgb);
  tt_model_spec *s = NULL;
  tt_error e;
  CHECK_OK(tt_model_spec_parse_string(y, strlen(y), "m.yaml", &s, &e));
  return s;
}

static int rounds_seen;
static int progress(void *ud, int round, int max, double tr, double va) {
  (void)ud;
  (void)tr;
  (void)va;
  CHECK(round == rounds_seen + 1 && max == 300);
  rounds_seen = round;
  return 0;
}

TT_TEST(booster_learns_stops_early_and_explains) {
  tt_trainset *ts = make_set(3000, 0);
  tt_model_spec *s = spec("xgboost: {rounds: 300, early_stopping_rounds: 10, "
                          "params: {max_depth: 3, eta: 0.3, nthread: 1}}\n");
  tt_booster *b = NULL;
  tt_train_result r;
  tt_error e;
  CHECK_OK(tt_booster_train(s, ts, progress, NULL, &b, &r, &e));
  CHECK_EQ_INT(rounds_seen, r.rounds_run);
  CHECK_EQ_STR(r.eval_metric, "logloss");
  /* With eta 0.3 this easy problem is learnt long before 300 rounds. */
  CHECK_MSG(r.rounds_run < 300, "ran %d rounds", r.rounds_run);
  CHECK_EQ_INT(r.rounds_run, r.best_iteration + 11);
  CHECK(r.best_valid < r.baseline_valid);
  for (int i = 0; i < r.rounds_run; i++) CHECK(r.valid_curve[i] >= r.best_valid);
  CHECK_MSG(!strcmp(r.verdict, "good"), "%s: %s", r.verdict, r.verdict_reason);

  /* Test rows: AUC well above chance. */
  size_t nt = 0;
  float *x = malloc(ts->nrows * 3 * sizeof *x), *y = malloc(ts->nrows * sizeof *y);
  for (size_t i = 0; i < ts->nrows; i++)
    if (ts->part[i] == TT_PART_TEST) {
      memcpy(x + nt * 3, ts->x + i * 3, 3 * sizeof *x);
      y[nt++] = ts->y[i];
    }
  float *p = malloc(nt * sizeof *p), *c = malloc(nt * 4 * sizeof *c);
  CHECK_OK(tt_booster_predict(b, x, nt, 3, p, &e));
  tt_class_metrics m;
  CHECK_OK(tt_metrics_classification(p, y, nt, 0.5, 1, 1, &m));
  CHECK_MSG(m.roc_auc > 0.9, "AUC %g", m.roc_auc);

  /* Contributions sum to the margin, logit(p). */
  CHECK_OK(tt_booster_contribs(b, x, nt, 3, c, &e));
  for (size_t i = 0; i < nt; i++) {
    double sum = c[i * 4] + c[i * 4 + 1] + c[i * 4 + 2] + c[i * 4 + 3];
    CHECK_NEAR(sum, log(p[i] / (1 - p[i])), 2e-3);
  }
  double imp[3];
  CHECK_OK(tt_booster_importance(b, 3, NAMES, imp, &e));
  CHECK(imp[0] > imp[2] && imp[1] > imp[2]);

  /* Save, load: identical predictions. Feature count is checked. */
  char *json;
  size_t len;
  CHECK_OK(tt_booster_save_json(b, &json, &len, &e));
  CHECK(len > 100 && json[0] == '{');
  tt_booster *b2;
  CHECK_OK(tt_booster_load_json(json, len, &b2, &e));
  float *p2 = malloc(nt * sizeof *p2);
  CHECK_OK(tt_booster_predict(b2, x, nt, 3, p2, &e));
  CHECK(memcmp(p, p2, nt * sizeof *p) == 0);
  CHECK(tt_booster_predict(b2, x, 1, 2, p2, &e) == TT_MODEL);
  CHECK_STR_CONTAINS(e.msg, "3 features");
  CHECK(tt_booster_load_json("{\"learner\":", 11, &b2, &e) == TT_MODEL);
  CHECK_STR_CONTAINS(e.msg, "XGBoost");

  /* Training again gives the same model, byte for byte. */
  tt_booster *b3;
  tt_train_result r3;
  CHECK_OK(tt_booster_train(s, ts, NULL, NULL, &b3, &r3, &e));
  char *json3;
  size_t len3;
  CHECK_OK(tt_booster_save_json(b3, &json3, &len3, &e));
  CHECK(len3 == len && memcmp(json, json3, len) == 0);

  free(json);
  free(json3);
  free(x), free(y), free(p), free(p2), free(c);
  tt_booster_destroy(b);
  tt_booster_destroy(b3);
  tt_train_result_free(&r);
  tt_train_result_free(&r3);
  tt_model_spec_destroy(s);
  tt_trainset_destroy(ts);
}

TT_TEST(booster_verdicts) {
  tt_error e;
  tt_booster *b;
  tt_train_result r;
  /* Labels that are pure noise: nothing to learn. */
  tt_trainset *noise = make_set(2000, 1);
  tt_model_spec *s = spec("xgboost: {rounds: 50, early_stopping_rounds: 5, params: {nthread: 1}}\n");
  CHECK_OK(tt_booster_train(s, noise, NULL, NULL, &b, &r, &e));
  CHECK_MSG(!strcmp(r.verdict, "underfit"), "%s: %s", r.verdict, r.verdict_reason);
  tt_booster_destroy(b);
  tt_train_result_free(&r);
  tt_model_spec_destroy(s);
  /* Deep trees, no early stopping, tiny eta steps on few rows: overfit. */
  tt_trainset *small = make_set(400, 0);
  s = spec("xgboost: {rounds: 200, early_stopping_rounds: 0, "
           "params: {max_depth: 10, eta: 0.5, min_child_weight: 0, lambda: 0, nthread: 1}}\n");
  CHECK_OK(tt_booster_train(s, small, NULL, NULL, &b, &r, &e));
  CHECK_EQ_INT(r.rounds_run, 200);
  CHECK_MSG(!strcmp(r.verdict, "overfit"), "%s: %s", r.verdict, r.verdict_reason);
  tt_booster_destroy(b);
  tt_train_result_free(&r);
  tt_model_spec_destroy(s);
  /* A bad parameter: XGBoost's message, the spec file and the key. */
  s = spec("xgboost: {rounds: 5, params: {max_depth: deep}}\n");
  CHECK(tt_booster_train(s, small, NULL, NULL, &b, &r, &e) != TT_OK);
  CHECK(b == NULL);
  CHECK_EQ_STR(e.file, "m.yaml");
  CHECK_EQ_STR(e.field, "xgboost.params");
  CHECK_STR_CONTAINS(e.msg, "max_depth");
  tt_model_spec_destroy(s);
  tt_trainset_destroy(noise);
  tt_trainset_destroy(small);
}

TT_TEST(trainset_fingerprint_and_profile) {
  tt_trainset *a = make_set(500, 0), *b = make_set(500, 0);
  char fa[65], fb[65];
  tt_trainset_fingerprint(a, fa);
  tt_trainset_fingerprint(b, fb);
  CHECK_EQ_STR(fa, fb);
  CHECK_EQ_INT(strlen(fa), 64);
  b->x[7] = nextafterf(b->x[7], 2.0f); /* one ulp */
  tt_trainset_fingerprint(b, fb);
  CHECK(strcmp(fa, fb) != 0);
  size_t cnt[4], pos[4];
  tt_trainset_counts(a, cnt, pos);
  CHECK_EQ_INT(cnt[TT_PART_TRAIN] + cnt[TT_PART_VALIDATION] + cnt[TT_PART_TEST], 500);
  CHECK_EQ_INT(cnt[TT_PART_TRAIN], 300);

  /* Hand-made column: 1..5 and one missing. */
  const char *nm[] = {"f"};
  tt_trainset *h = tt_trainset_new(1, nm);
  float vals[] = {3, 1, NAN, 5, 2, 4};
  for (int i = 0; i < 6; i++) CHECK_OK(tt_trainset_add(h, "v", i, &vals[i], 0, TT_PART_TRAIN));
  tt_feature_profile p;
  CHECK_OK(tt_profile_feature(h, 0, TT_PART_TRAIN, &p));
  CHECK_EQ_INT(p.n, 6);
  CHECK_EQ_INT(p.missing, 1);
  CHECK_NEAR(p.missing_rate, 1.0 / 6, 1e-12);
  CHECK_NEAR(p.mean, 3, 1e-12);
  CHECK_NEAR(p.std, sqrt(2.0), 1e-12);
  CHECK_NEAR(p.q[0], 1, 0);
  CHECK_NEAR(p.q[3], 2, 1e-12); /* 0.25 → rank 1 */
  CHECK_NEAR(p.q[4], 3, 1e-12);
  CHECK_NEAR(p.q[1], 1.04, 1e-6); /* 0.01 → rank 0.04 */
  CHECK_NEAR(p.q[8], 5, 0);
  char *json = tt_profile_json(h);
  CHECK_STR_CONTAINS(json, "\"f\":{\"n\":6,\"missing\":1");
  free(json);
  tt_trainset_destroy(h);
  tt_trainset_destroy(a);
  tt_trainset_destroy(b);
}
