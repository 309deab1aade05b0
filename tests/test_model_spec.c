/* Model spec parsing: the shipped examples parse; bad specs fail with the
 * file, line and key. */
#include "telltale/project.h"
#include "telltale/train.h"
#include "tt_test.h"

static tt_err parse(const char *yaml, tt_error *e, tt_model_spec **s) {
  tt_error_clear(e);
  return tt_model_spec_parse_string(yaml, strlen(yaml), "m.yaml", s, e);
}

TT_TEST(example_specs_parse) {
  CHECK_OK(tt_project_init("proj", NULL));
  const char *names[] = {"battery_7d", "cooling_7d", "brakes_14d"};
  for (int i = 0; i < 3; i++) {
    char path[64];
    snprintf(path, sizeof path, "proj/models/%s.yaml", names[i]);
    tt_model_spec *s = NULL;
    tt_error e;
    tt_err rc = tt_model_spec_parse_file(path, &s, &e);
    char buf[1200];
    CHECK_MSG(rc == TT_OK, "%s", tt_error_format(&e, buf, sizeof buf));
    CHECK_EQ_STR(s->name, names[i]);
    CHECK_EQ_INT(s->label.kind, TT_LABEL_CLASSIFICATION);
    CHECK_EQ_INT(s->split.kind, i == 2 ? TT_SPLIT_VEHICLE : TT_SPLIT_TIME);
    if (i < 2) CHECK(s->split.gap >= s->label.horizon);
    CHECK_EQ_STR(s->label.repair_table, "maintenance");
    CHECK_EQ_INT(s->threshold.policy, TT_THRESHOLD_MIN_COST);
    char *json = tt_model_spec_to_json(s);
    CHECK_STR_CONTAINS(json, "\"component\":\"");
    free(json);
    tt_model_spec_destroy(s);
  }
}

static const char *BASE =
    "name: m\n"
    "features: [fs]\n"
    "label: {kind: classification, events: failures, component: battery, horizon: 7d}\n"
    "spine: {table: telemetry}\n"
    "split: {by: time, validation_from: 2026-03-01, test_from: 2026-04-01}\n";

TT_TEST(minimal_spec_defaults) {
  tt_model_spec *s;
  tt_error e;
  CHECK_OK(parse(BASE, &e, &s));
  CHECK_EQ_STR(s->label.component_column, "component");
  CHECK_EQ_INT(s->label.horizon, 7 * 86400 * INT64_C(1000000));
  CHECK_EQ_INT(s->split.gap, s->label.horizon); /* the gap defaults to the horizon */
  CHECK_EQ_INT(s->spine.every, 86400 * INT64_C(1000000));
  CHECK_EQ_INT(s->xgb.rounds, 200);
  CHECK_EQ_INT(s->threshold.policy, TT_THRESHOLD_MAX_F1);
  CHECK_EQ_INT(s->nmetrics, 7);
  tt_model_spec_destroy(s);
}

static void expect_error(const char *yaml, long line, const char *field, const char *msg_part) {
  tt_model_spec *s = NULL;
  tt_error e;
  tt_err rc = parse(yaml, &e, &s);
  char buf[1200];
  CHECK_MSG(rc != TT_OK, "accepted:\n%s", yaml);
  CHECK(s == NULL);
  tt_error_format(&e, buf, sizeof buf);
  CHECK_EQ_STR(e.file, "m.yaml");
  CHECK_MSG(e.line == line, "line %ld, want %ld: %s", e.line, line, buf);
  if (field) CHECK_EQ_STR(e.field, field);
  CHECK_STR_CONTAINS(buf, msg_part);
}

TT_TEST(bad_specs_name_line_and_key) {
  char y[2048];
  snprintf(y, sizeof y, "%shorizn: 3d\n", BASE);
  expect_error(y, 6, "horizn", "unknown key");
  expect_error("name: m\nfeatures: [fs]\nlabel: {kind: classification, events: failures, horizon: 7d}\n"
               "spine: {table: t}\nsplit: {by: time, validation_from: 2026-03-01, test_from: 2026-04-01, gap: 3d}\n",
               5, "split.gap", "at least the label's horizon");
  expect_error("name: m\nfeatures: [fs]\nlabel: {kind: regression, events: failures}\n"
               "spine: {table: t}\nsplit: {by: time, validation_from: 2026-03-01, test_from: 2026-04-01}\n",
               5, "label.cap", "uncapped");
  expect_error("name: m\nfeatures: [fs]\nlabel: {kind: classification, events: f, horizon: 7d}\n"
               "spine: {table: t}\nsplit: {by: row}\n", 5, "split.by", "expected one of");
  expect_error("name: m\nfeatures: [fs]\nlabel: {kind: classification, events: f, horizon: soon}\n"
               "spine: {table: t}\nsplit: {by: vehicle}\n", 3, "label.horizon", "duration");
  expect_error("name: m\nfeatures: [fs]\nlabel: {kind: classification, events: f, horizon: 7d}\n"
               "spine: {table: t}\nsplit: {by: vehicle, test_from: 2026-01-01}\n", 5, "split.test_from",
               "does not apply");
  expect_error("name: m\nfeatures: [fs]\nlabel: {kind: classification, events: f, horizon: 7d}\n"
               "spine: {table: t}\nsplit: {by: holdout}\n", 5, "split.test_vehicles", "test_vehicles");
  snprintf(y, sizeof y, "%sthreshold: {policy: min_cost, cost_false_alarm: 1}\n", BASE);
  expect_error(y, 6, "threshold", "cost_missed_failure");
  snprintf(y, sizeof y, "%smetrics: [roc_auc, rmse]\n", BASE);
  expect_error(y, 6, "metrics", "'rmse' is not a classification metric");
  snprintf(y, sizeof y, "%sxgboost: {rounds: 0}\n", BASE);
  expect_error(y, 6, "xgboost.rounds", "out of range");
  expect_error("name: m\nname: n\n", 2, "name", "duplicate");
  expect_error("name: m\nfeatures: [fs\n", 3, NULL, "YAML");
  expect_error("", 1, NULL, "empty");
  expect_error("- a\n", 1, "", "mapping");
}

TT_TEST(counter_axis_spec) {
  const char *y =
      "name: rul\naxis: counter\nfeatures: [{set: engine, version: 3f2a}]\n"
      "label: {kind: regression, events: failures, cap: 125}\n"
      "spine: {table: cycles, every: 1}\n"
      "split: {by: holdout, test_pattern: 'test_*', validation_fraction: 0.2}\n"
      "metrics: [rmse, mae]\n";
  tt_model_spec *s;
  tt_error e;
  CHECK_OK(parse(y, &e, &s));
  CHECK_EQ_INT(s->axis, TT_AXIS_KIND_COUNTER);
  CHECK_EQ_INT(s->label.cap, 125);
  CHECK_EQ_INT(s->label.unit, 1);
  CHECK_EQ_STR(s->features[0].version, "3f2a");
  CHECK_EQ_STR(s->split.test_pattern, "test_*");
  tt_model_spec_destroy(s);
}
