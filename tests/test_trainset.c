/* Building training and scoring sets from a lake: spine, labels with an
 * outage and censoring, holdout split, point-in-time features (no
 * look-ahead), recorded lake files and reproducing from them. The lake is
 * written here with DuckDB (COPY … TO parquet), in the lake's layout. */
#include <duckdb.h>
#include <stdint.h>

#include "telltale/models.h"
#include "telltale/time.h"
#include "telltale/train.h"
#include "tt_test.h"

#define DAY INT64_C(86400000000)
static const int64_t T0 = INT64_C(1767225600000000); /* 2026-01-01 */

static void sql(duckdb_connection c, const char *q) {
  duckdb_result r;
  if (duckdb_query(c, q, &r) != DuckDBSuccess) tt_test_fail(__FILE__, __LINE__, "%s: %s", q, duckdb_result_error(&r));
  duckdb_destroy_result(&r);
}

/* V1, V2: hourly telemetry for 20 days, volt = the day number.
 * V1's battery fails on day 10 at 12:00, repaired day 12 at 06:00. */
static void make_project(void) {
  tt_test_write_file("proj/schemas/fleet.yaml",
                     "name: fleet\ntables:\n"
                     "  telemetry:\n    kind: telemetry\n    entity: vehicle_id\n    time: {column: ts, axis: timestamp}\n"
                     "    columns:\n      - {name: vehicle_id, type: string, required: true}\n"
                     "      - {name: ts, type: timestamp, required: true}\n      - {name: volt, type: double}\n"
                     "  failures:\n    kind: events\n    entity: vehicle_id\n    time: {column: ts, axis: timestamp}\n"
                     "    columns:\n      - {name: vehicle_id, type: string, required: true}\n"
                     "      - {name: ts, type: timestamp, required: true}\n      - {name: component, type: string}\n"
                     "  maintenance:\n    kind: events\n    entity: vehicle_id\n    time: {column: ts, axis: timestamp}\n"
                     "    columns:\n      - {name: vehicle_id, type: string, required: true}\n"
                     "      - {name: ts, type: timestamp, required: true}\n      - {name: component, type: string}\n"
                     "      - {name: action, type: string}\n");
  tt_test_write_file("proj/features/fs.yaml",
                     "name: fs\nentity: vehicle_id\ntime: ts\nsource: telemetry\ntile: 1h\nfeatures:\n"
                     "  - {name: volt_last_1d, column: volt, agg: last, window: 1d}\n"
                     "  - {name: volt_max_2d, column: volt, agg: max, window: 2d}\n");
  tt_test_write_file("proj/models/m.yaml",
                     "name: m\nfeatures: [fs]\n"
                     "label: {kind: classification, events: failures, component: battery, horizon: 3d,\n"
                     "        repair: {table: maintenance, actions: [repair]}}\n"
                     "spine: {table: telemetry, every: 1d}\n"
                     "split: {by: holdout, test_vehicles: [V2], validation_fraction: 0}\n"
                     "xgboost: {rounds: 5, params: {nthread: 1}}\n");
  duckdb_database db;
  duckdb_connection c;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess && duckdb_connect(db, &c) == DuckDBSuccess);
  CHECK_EQ_INT(tt_test_sh("mkdir -p proj/lake/telemetry/date=2026-01-01 proj/lake/failures proj/lake/maintenance"), 0);
  sql(c, "COPY (SELECT 'V' || v AS vehicle_id, TIMESTAMP '2026-01-01' + INTERVAL (h) HOUR AS ts, "
         "CAST(h // 24 AS DOUBLE) AS volt FROM range(1, 3) a(v), range(0, 480) b(h)) "
         "TO 'proj/lake/telemetry/date=2026-01-01/part-a.parquet' (FORMAT parquet)");
  sql(c, "COPY (SELECT 'V1' AS vehicle_id, TIMESTAMP '2026-01-11 12:00:00' AS ts, 'battery' AS component "
         "UNION ALL SELECT 'V2', TIMESTAMP '2026-01-05 00:00:00', 'brakes') "
         "TO 'proj/lake/failures/part-a.parquet' (FORMAT parquet)");
  sql(c, "COPY (SELECT 'V1' AS vehicle_id, TIMESTAMP '2026-01-13 06:00:00' AS ts, 'battery' AS component, "
         "'repair' AS action UNION ALL SELECT 'V1', TIMESTAMP '2026-01-11 13:00:00', 'battery', 'inspect') "
         "TO 'proj/lake/maintenance/part-a.parquet' (FORMAT parquet)");
  duckdb_disconnect(&c);
  duckdb_close(&db);
}

static tt_model_spec *load_spec(void) {
  tt_model_spec *s;
  tt_error e;
  char buf[1200];
  tt_err rc = tt_model_spec_parse_file("proj/models/m.yaml", &s, &e);
  CHECK_MSG(rc == TT_OK, "%s", tt_error_format(&e, buf, sizeof buf));
  return s;
}

static tt_trainset *build(tt_model_spec *s, tt_build_opts *o, tt_build_info *info) {
  tt_trainset *ts = NULL;
  tt_error e;
  char buf[1200];
  tt_err rc = tt_trainset_build(s, o, &ts, info, &e);
  CHECK_MSG(rc == TT_OK, "%s", tt_error_format(&e, buf, sizeof buf));
  return ts;
}

TT_TEST(build_labels_split_and_point_in_time_features) {
  make_project();
  tt_model_spec *s = load_spec();
  tt_build_opts o = {.mode = TT_BUILD_TRAIN, .project_dir = "proj", .lake = "proj/lake", .threads = 1};
  tt_build_info info;
  tt_trainset *ts = build(s, &o, &info);
  /* Days 0..15 per vehicle (16.. censored: the 3-day window passes the data's
   * end, day 19 23:00), minus V1's outage on days 10 and 11. */
  CHECK_EQ_INT(info.vehicles, 2);
  CHECK_EQ_INT(info.spine_rows, 40);
  CHECK_EQ_INT(info.outage_rows, 2);
  CHECK_EQ_INT(info.censored_rows, 8);
  CHECK_EQ_INT(ts->nrows, 30);
  CHECK_EQ_INT(ts->nfeatures, 2);
  CHECK_EQ_STR(ts->feature_names[0], "volt_last_1d");
  CHECK_EQ_INT(info.nfiles, 3);
  CHECK_EQ_STR(info.files[0], "failures/part-a.parquet");
  CHECK_EQ_STR(info.files[2], "telemetry/date=2026-01-01/part-a.parquet");
  CHECK_EQ_INT(strlen(info.set_versions[0]), 64);
  for (size_t i = 0; i < ts->nrows; i++) {
    int64_t day = (ts->time[i] - T0) / DAY;
    CHECK_EQ_INT(ts->time[i], T0 + (day + 1) * DAY - 1); /* the day's last instant */
    int v1 = !strcmp(ts->vehicle[i], "V1");
    CHECK_EQ_INT(ts->part[i], v1 ? TT_PART_TRAIN : TT_PART_TEST);
    CHECK(!(v1 && (day == 10 || day == 11)));
    CHECK(day <= 15);
    /* Failure at day 10.5: (t, t + 3d] holds it for days 7, 8, 9. V2's
     * brake failure is another component. */
    CHECK_MSG(ts->y[i] == (v1 && day >= 7 && day <= 9), "%s day %lld y %g", ts->vehicle[i], (long long)day, ts->y[i]);
    /* As of the end of day d the newest value is d and never d + 1. */
    CHECK_NEAR(ts->x[i * 2], (double)day, 0);
    CHECK_NEAR(ts->x[i * 2 + 1], (double)day, 0);
  }
  char fp1[65];
  tt_trainset_fingerprint(ts, fp1);

  /* Reproduce: a new telemetry file arrives; reading the recorded files
   * gives the identical rows, reading the lake anew does not. */
  duckdb_database db;
  duckdb_connection c;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess && duckdb_connect(db, &c) == DuckDBSuccess);
  CHECK_EQ_INT(tt_test_sh("mkdir -p proj/lake/telemetry/date=2026-01-21"), 0);
  sql(c, "COPY (SELECT 'V3' AS vehicle_id, TIMESTAMP '2026-01-02' + INTERVAL (h) HOUR AS ts, 1.0 AS volt "
         "FROM range(0, 240) b(h)) TO 'proj/lake/telemetry/date=2026-01-21/part-b.parquet' (FORMAT parquet)");
  duckdb_disconnect(&c);
  duckdb_close(&db);
  tt_build_opts o2 = o;
  o2.files = (const char *const *)info.files;
  o2.nfiles = info.nfiles;
  tt_build_info info2, info3;
  tt_trainset *ts2 = build(s, &o2, &info2), *ts3 = build(s, &o, &info3);
  char fp2[65], fp3[65];
  tt_trainset_fingerprint(ts2, fp2);
  tt_trainset_fingerprint(ts3, fp3);
  CHECK_EQ_STR(fp1, fp2);
  CHECK(strcmp(fp1, fp3) != 0);
  CHECK_EQ_INT(info3.nfiles, 4);

  /* Scoring sets: one row per vehicle, as of a time or each one's last. */
  tt_build_opts p = {.mode = TT_BUILD_PREDICT, .project_dir = "proj", .lake = "proj/lake",
                     .as_of = T0 + 5 * DAY + 12 * 3600 * INT64_C(1000000)};
  tt_build_info pi;
  tt_trainset *ps = build(s, &p, &pi);
  CHECK_EQ_INT(ps->nrows, 3); /* V3 reported on day 1 */
  CHECK_NEAR(ps->x[0], 5, 0);
  CHECK(isnan(ps->y[0]));
  p.as_of = TT_AS_OF_LAST;
  const char *only[] = {"V1"};
  p.vehicles = only;
  p.nvehicles = 1;
  tt_build_info pi2;
  tt_trainset *ps2 = build(s, &p, &pi2);
  CHECK_EQ_INT(ps2->nrows, 1);
  CHECK_NEAR(ps2->x[0], 19, 0);
  CHECK_EQ_INT(ps2->time[0], T0 + 20 * DAY - 1);
  /* Shards split the fleet without overlap. */
  size_t total = 0;
  p.vehicles = NULL;
  for (unsigned k = 0; k < 2; k++) {
    p.shard = k;
    p.nshards = 2;
    tt_build_info si;
    tt_trainset *ss = build(s, &p, &si);
    total += ss->nrows;
    tt_trainset_destroy(ss);
    tt_build_info_free(&si);
  }
  CHECK_EQ_INT(total, 3);

  /* A spec naming another feature-set version is refused. */
  free(s->features[0].version);
  s->features[0].version = strdup("0000");
  tt_trainset *bad = NULL;
  tt_error e;
  CHECK_EQ_INT(tt_trainset_build(s, &o, &bad, NULL, &e), TT_INCOMPATIBLE);
  CHECK_STR_CONTAINS(e.msg, "feature set 'fs'");
  CHECK(bad == NULL);

  tt_trainset_destroy(ts), tt_trainset_destroy(ts2), tt_trainset_destroy(ts3);
  tt_trainset_destroy(ps), tt_trainset_destroy(ps2);
  tt_build_info_free(&info), tt_build_info_free(&info2), tt_build_info_free(&info3);
  tt_build_info_free(&pi), tt_build_info_free(&pi2);
  tt_model_spec_destroy(s);
}

TT_TEST(build_errors_name_the_problem) {
  make_project();
  tt_model_spec *s = load_spec();
  tt_build_opts o = {.mode = TT_BUILD_TRAIN, .project_dir = "proj", .lake = "nolake", .threads = 1};
  tt_trainset *ts = NULL;
  tt_error e;
  CHECK_EQ_INT(tt_trainset_build(s, &o, &ts, NULL, &e), TT_NOTFOUND);
  CHECK_STR_CONTAINS(e.msg, "lake table 'telemetry' has no Parquet files");
  CHECK_EQ_STR(e.file, "nolake/telemetry");
  o.lake = "proj/lake";
  free(s->label.component_column);
  s->label.component_column = strdup("part");
  CHECK_EQ_INT(tt_trainset_build(s, &o, &ts, NULL, &e), TT_SCHEMA);
  CHECK_EQ_STR(e.field, "label.component_column");
  CHECK_STR_CONTAINS(e.msg, "table 'failures' has no column 'part'");
  free(s->spine.table);
  s->spine.table = strdup("nosuch");
  o.lake = "proj/lake";
  CHECK_EQ_INT(tt_trainset_build(s, &o, &ts, NULL, &e), TT_SCHEMA);
  CHECK_STR_CONTAINS(e.msg, "nosuch");
  tt_model_spec_destroy(s);
}
