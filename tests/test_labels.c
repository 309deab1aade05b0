/* Spine, labels, splits and negative down-sampling on hand-made cases. */
#include <stdint.h>

#include "telltale/train.h"
#include "tt_test.h"

TT_TEST(spine_buckets_end_of_bucket) {
  int64_t times[] = {1, 2, 25, 26, 49}, out[5];
  size_t n = tt_spine_build(times, 5, 24, out);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_INT(out[0], 23);
  CHECK_EQ_INT(out[1], 47);
  CHECK_EQ_INT(out[2], 71);
  int64_t neg[] = {-30, -1, 0}, o2[3];
  CHECK_EQ_INT(tt_spine_build(neg, 3, 24, o2), 3);
  CHECK_EQ_INT(o2[0], -25);
  CHECK_EQ_INT(o2[1], -1);
  CHECK_EQ_INT(o2[2], 23);
  /* Counter axis, one cycle per bucket: every cycle is an observation. */
  int64_t cyc[] = {1, 2, 3}, o3[3];
  CHECK_EQ_INT(tt_spine_build(cyc, 3, 1, o3), 3);
  CHECK_EQ_INT(o3[2], 3);
}

static int64_t obs[21];
static void days(void) {
  for (int i = 0; i <= 20; i++) obs[i] = i;
}

TT_TEST(label_classification_horizon_edges) {
  days();
  tt_label_def d = {.kind = TT_LABEL_CLASSIFICATION, .horizon = 7};
  int64_t fail[] = {10};
  double y[21];
  uint8_t st[21];
  tt_label_compute(&d, obs, 21, fail, 1, NULL, 0, 20, y, st);
  for (int t = 0; t <= 20; t++) {
    int want_pos = t >= 3 && t <= 9; /* failure in (t, t+7]: 10-7 = 3 inclusive, t = 10 exclusive */
    int want_cens = t > 13;          /* (t, t+7] reaches past day 20 without a failure */
    CHECK_MSG(st[t] == (want_cens ? TT_ROW_CENSORED : TT_ROW_OK), "t=%d status %d", t, st[t]);
    if (!want_cens) CHECK_MSG(y[t] == want_pos, "t=%d y=%g", t, y[t]);
  }
}

TT_TEST(label_outage_until_repair) {
  days();
  tt_label_def d = {.kind = TT_LABEL_CLASSIFICATION, .horizon = 3, .repair_table = "maintenance"};
  int64_t fail[] = {5, 15};
  int64_t rep[] = {1, 8}; /* the repair at 1 precedes the failure: ignored */
  double y[21];
  uint8_t st[21];
  tt_label_compute(&d, obs, 21, fail, 2, rep, 2, 20, y, st);
  CHECK_EQ_INT(st[4], TT_ROW_OK);
  CHECK_EQ_INT(y[4], 1);
  for (int t = 5; t < 8; t++) CHECK_EQ_INT(st[t], TT_ROW_OUTAGE); /* broken from 5 until 8 */
  CHECK_EQ_INT(st[8], TT_ROW_OK);
  CHECK_EQ_INT(y[8], 0);
  CHECK_EQ_INT(y[12], 1);
  /* The second failure has no repair on record: out until the data ends. */
  for (int t = 15; t <= 20; t++) CHECK_EQ_INT(st[t], TT_ROW_OUTAGE);
  /* keep: the same rows are labelled by the next failure instead. */
  d.outage = TT_OUTAGE_KEEP;
  tt_label_compute(&d, obs, 21, fail, 2, rep, 2, 20, y, st);
  CHECK_EQ_INT(st[6], TT_ROW_OK);
  CHECK_EQ_INT(y[6], 0);
  CHECK_EQ_INT(y[12], 1);
  CHECK_EQ_INT(st[16], TT_ROW_OK);
  CHECK_EQ_INT(st[18], TT_ROW_CENSORED);
}

TT_TEST(label_vehicle_without_failures) {
  days();
  tt_label_def d = {.kind = TT_LABEL_CLASSIFICATION, .horizon = 7};
  double y[21];
  uint8_t st[21];
  tt_label_compute(&d, obs, 21, NULL, 0, NULL, 0, 20, y, st);
  for (int t = 0; t <= 20; t++) {
    CHECK_EQ_INT(y[t], 0);
    CHECK_EQ_INT(st[t], t <= 13 ? TT_ROW_OK : TT_ROW_CENSORED);
  }
}

TT_TEST(label_regression_capped) {
  days();
  tt_label_def d = {.kind = TT_LABEL_REGRESSION, .cap = 5, .unit = 1};
  int64_t fail[] = {10};
  double y[21];
  uint8_t st[21];
  tt_label_compute(&d, obs, 21, fail, 1, NULL, 0, 20, y, st);
  CHECK_NEAR(y[4], 5, 0);  /* 6 left, capped */
  CHECK_NEAR(y[7], 3, 0);
  CHECK_NEAR(y[9], 1, 0);
  CHECK_NEAR(y[10], 5, 0); /* repaired at once, no failure ahead, 10 units observed */
  CHECK_NEAR(y[15], 5, 0); /* exactly cap observed */
  CHECK_EQ_INT(st[16], TT_ROW_CENSORED);
  /* Uncapped, in units of 2: y = (f - t) / 2; no failure ahead is censored. */
  tt_label_def u = {.kind = TT_LABEL_REGRESSION, .unit = 2};
  tt_label_compute(&u, obs, 21, fail, 1, NULL, 0, 20, y, st);
  CHECK_NEAR(y[0], 5, 0);
  CHECK_NEAR(y[9], 0.5, 0);
  CHECK_EQ_INT(st[10], TT_ROW_CENSORED);
}

TT_TEST(split_time_leaves_the_gap) {
  tt_split_def s = {.kind = TT_SPLIT_TIME, .validation_from = 100, .test_from = 200, .gap = 10};
  CHECK_EQ_INT(tt_split_assign(&s, "v", 89), TT_PART_TRAIN);
  CHECK_EQ_INT(tt_split_assign(&s, "v", 90), TT_PART_DROPPED);
  CHECK_EQ_INT(tt_split_assign(&s, "v", 99), TT_PART_DROPPED);
  CHECK_EQ_INT(tt_split_assign(&s, "v", 100), TT_PART_VALIDATION);
  CHECK_EQ_INT(tt_split_assign(&s, "v", 189), TT_PART_VALIDATION);
  CHECK_EQ_INT(tt_split_assign(&s, "v", 190), TT_PART_DROPPED);
  CHECK_EQ_INT(tt_split_assign(&s, "v", 200), TT_PART_TEST);
  /* No training label window (t, t + horizon] reaches the validation
   * period, nor a validation window the test period. */
  int64_t horizon = 10;
  for (int64_t t = -50; t < 300; t++) {
    tt_split_part p = tt_split_assign(&s, "v", t);
    if (p == TT_PART_TRAIN) CHECK(t + horizon < s.validation_from);
    if (p == TT_PART_VALIDATION) CHECK(t + horizon < s.test_from);
  }
}

TT_TEST(split_by_vehicle_groups_and_fractions) {
  tt_split_def s = {.kind = TT_SPLIT_VEHICLE, .validation_fraction = 0.2, .test_fraction = 0.2, .seed = 7};
  int counts[4] = {0};
  char id[32];
  for (int v = 0; v < 2000; v++) {
    snprintf(id, sizeof id, "V%05d", v);
    tt_split_part p = tt_split_assign(&s, id, 0);
    for (int64_t t = 1; t < 50; t += 7) CHECK_EQ_INT(tt_split_assign(&s, id, t), p);
    counts[p]++;
  }
  CHECK_MSG(counts[TT_PART_TEST] > 320 && counts[TT_PART_TEST] < 480, "test %d", counts[TT_PART_TEST]);
  CHECK_MSG(counts[TT_PART_VALIDATION] > 320 && counts[TT_PART_VALIDATION] < 480, "valid %d",
            counts[TT_PART_VALIDATION]);
  CHECK_EQ_INT(counts[TT_PART_DROPPED], 0);
  /* Another seed, another assignment. */
  tt_split_def s2 = s;
  s2.seed = 8;
  int differ = 0;
  for (int v = 0; v < 200; v++) {
    snprintf(id, sizeof id, "V%05d", v);
    differ += tt_split_assign(&s, id, 0) != tt_split_assign(&s2, id, 0);
  }
  CHECK(differ > 20);
}

TT_TEST(split_holdout_list_and_pattern) {
  char *list[] = {"V00007"};
  tt_split_def s = {.kind = TT_SPLIT_HOLDOUT, .ntest_vehicles = 1, .test_vehicles = list,
                    .test_pattern = "T*", .validation_fraction = 0};
  CHECK_EQ_INT(tt_split_assign(&s, "V00007", 5), TT_PART_TEST);
  CHECK_EQ_INT(tt_split_assign(&s, "T12", 5), TT_PART_TEST);
  CHECK_EQ_INT(tt_split_assign(&s, "V00008", 5), TT_PART_TRAIN);
}

TT_TEST(negative_downsampling_is_deterministic) {
  tt_spine_def d = {.negative_rate = 0.25, .seed = 3};
  int kept = 0;
  for (int64_t t = 0; t < 4000; t++) {
    int k = tt_spine_keep_negative(&d, "V1", t);
    CHECK_EQ_INT(k, tt_spine_keep_negative(&d, "V1", t));
    kept += k;
  }
  CHECK_MSG(kept > 850 && kept < 1150, "kept %d", kept);
  d.negative_rate = 1;
  CHECK_EQ_INT(tt_spine_keep_negative(&d, "V1", 5), 1);
}
