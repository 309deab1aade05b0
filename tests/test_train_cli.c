/* The training CLI end to end on a small simulated fleet: train, register,
 * alias, history, compare, reproduce, predict (CSV, lake, shards),
 * evaluate, and a tampered artefact refused. */
#include "tt_test.h"

static char *run(int *st, const char *cmd) {
  return tt_test_sh_out(st, "cd p && %s --log-level error %s 2>&1", tt_test_cli(), cmd);
}

static void expect(const char *cmd, int status, const char *needle) {
  int st;
  char *out = run(&st, cmd);
  CHECK_MSG(st == status, "`%s` exited %d, want %d:\n%s", cmd, st, status, out ? out : "");
  if (needle) CHECK_STR_CONTAINS(out, needle);
  free(out);
}

TT_TEST_TIMEOUT(train_predict_evaluate_cli, 600) {
  const char *tt = tt_test_cli();
  CHECK_EQ_INT(tt_test_sh("%s init p >/dev/null", tt), 0);
  CHECK_EQ_INT(tt_test_sh("cd p && %s simulate --vehicles 80 --days 60 --seed 7 --interval 1800s --threads 1 "
                          "--out sim >/dev/null 2>&1", tt), 0);
  CHECK_EQ_INT(tt_test_sh("cd p && %s --log-level error ingest --no-progress --threads 1 --schema schemas/fleet.yaml "
                          "sim/telemetry sim/dtc.csv sim/maintenance.csv sim/failures.csv sim/vehicles.csv >/dev/null", tt), 0);
  /* 60 days: validation from day 25, test from day 42. */
  CHECK_EQ_INT(tt_test_sh("cd p && sed -i 's/validation_from: .*/validation_from: 2026-01-26/; "
                          "s/test_from: .*/test_from: 2026-02-12/; s/rounds: 300/rounds: 40/' models/battery_7d.yaml"), 0);
  expect("--set train.threads=1 train --threads 1 models/battery_7d.yaml", 0, "model battery_7d version 1 registered");
  expect("--set train.threads=1 train --threads 1 models/battery_7d.yaml", 0, "version 2 registered");
  expect("models list", 0, "battery_7d");
  expect("models alias battery_7d production 1", 0, "battery_7d@production -> version 1");
  expect("models alias battery_7d production 2", 0, NULL);
  expect("models alias battery_7d production 9", 66, NULL);
  expect("models history battery_7d", 0, "production         1     2");
  expect("models show battery_7d@production --output json", 0, "\"version\": 2");
  expect("models show battery_7d:1", 0, "fit: ");
  expect("models compare battery_7d:1 battery_7d:2", 0, "identical");
  expect("--set train.threads=1 train --reproduce battery_7d:1", 0, "training rows identical");
  expect("--set train.threads=1 train --reproduce battery_7d:1", 0, "model identical");

  /* Predict: one row per reporting vehicle, riskiest first, with reasons. */
  int st;
  char *out = run(&st, "predict batch --model battery_7d@production --output preds.csv");
  CHECK_MSG(st == 0, "%s", out);
  free(out);
  out = tt_test_sh_out(&st, "wc -l < p/preds.csv");
  int lines = atoi(out);
  free(out);
  CHECK_MSG(lines > 70 && lines <= 81, "%d lines", lines);
  out = tt_test_sh_out(&st, "head -2 p/preds.csv");
  CHECK_STR_CONTAINS(out, "vehicle_id,ts,model,version,score,alarm,reasons");
  CHECK_STR_CONTAINS(out, ",battery_7d,2,");
  free(out);
  /* Shards partition the fleet. */
  out = tt_test_sh_out(&st, "cd p && for s in 0/3 1/3 2/3; do %s predict batch --model battery_7d:2 --shard $s "
                            "--format csv | tail -n +2; done | cut -d, -f1 | sort | uniq | wc -l", tt);
  CHECK_EQ_INT(atoi(out), lines - 1);
  free(out);
  expect("predict batch --model battery_7d:2 --as-of 2026-02-20 --vehicles V00001,V00002 --format json", 0,
         "\"ts\":\"2026-02-20T00:00:00Z\"");
  expect("predict batch --model battery_7d:2 --output lake", 0, "lake/predictions/date=");
  /* The same scoring again replaces its file: no duplicated rows. */
  expect("predict batch --model battery_7d:2 --output lake", 0, "lake/predictions/date=");
  out = run(&st, "lake query --output csv 'SELECT count(*) AS n, count(DISTINCT vehicle_id) AS v FROM predictions'");
  CHECK_MSG(st == 0, "%s", out);
  char want[64];
  snprintf(want, sizeof want, "%d,%d", lines - 1, lines - 1);
  CHECK_STR_CONTAINS(out, want);
  free(out);
  expect("evaluate --model battery_7d:2 --as-of 2026-02-20", 0, "\"roc_auc\"");
  expect("predict batch --model nosuch", 66, "no model named");
  expect("predict batch --model battery_7d:2 --as-of yesterday", 64, "--as-of");

  /* Tamper with the artefact of version 2: refused. */
  CHECK_EQ_INT(tt_test_sh("cd p && f=$(ls artifacts/battery_7d/*.model | head -1) && printf x >> $f"), 0);
  expect("predict batch --model battery_7d:2", 1, "refused");
}

TT_TEST(train_cli_usage_errors) {
  const char *tt = tt_test_cli();
  CHECK_EQ_INT(tt_test_sh("%s init p >/dev/null", tt), 0);
  expect("train", 64, "usage: telltale train");
  expect("train --help", 0, "--reproduce");
  expect("train models/nosuch.yaml", 66, "nosuch.yaml");
  CHECK_EQ_INT(tt_test_sh("cd p && printf 'name: m\\nfeatures: [x]\\nlabel: {kind: classification}\\n' > models/bad.yaml"), 0);
  expect("train models/bad.yaml", 65, "models/bad.yaml:3: field 'label.events'");
  expect("models", 64, "usage: telltale models");
  expect("models frob", 64, "unknown models command");
  expect("models show nosuch", 66, NULL);
  expect("predict --help", 0, "--as-of");
  expect("evaluate --help", 0, "--model");
  expect("evaluate", 64, "--model REF is required");
}

/* examples/run-to-failure from YAML alone: a counter time axis, test units
 * cut off before failure, remaining cycles predicted at each test unit's
 * last observation. The generator's seed is fixed, so the figures are too;
 * a constant prediction scores an RMSE of about 35 cycles on these units. */
TT_TEST_TIMEOUT(run_to_failure_example, 600) {
  int st;
  char *out = tt_test_sh_out(&st, "UNITS=60 TEST_UNITS=30 TT=%s %s/examples/run-to-failure/run.sh work 2>&1",
                             tt_test_cli(), tt_test_source_dir());
  CHECK_MSG(st == 0, "%s", out);
  CHECK_STR_CONTAINS(out, "model engine_rul version 1 registered");
  CHECK_STR_CONTAINS(out, "\"vehicles\": 30");
  CHECK_STR_CONTAINS(out, "\"censored\": 0");
  const char *r = strstr(out, "\"rmse\": ");
  CHECK(r != NULL);
  double rmse = atof(r + 8);
  CHECK_MSG(rmse > 0 && rmse < 20, "test RMSE %g", rmse);
  CHECK_STR_CONTAINS(out, "test_");
  free(out);
}
