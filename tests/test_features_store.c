/* Feature store: the offline builder (DuckDB over a test lake written
 * here with DuckDB SQL), shards, the online stores and verify. */
#include <duckdb.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "telltale/batch.h"
#include "telltale/features.h"
#include "tt_test.h"

#define H TT_USEC_PER_HOUR
#define D TT_USEC_PER_DAY
#define T0 (INT64_C(1795478400) * 1000000) /* 2026-11-24 */

static const char *SET =
    "name: health\nsource: telemetry\ntile: 1h\nfilter: engine_running = true\n"
    "features:\n"
    "  - {name: v_mean_1h, column: voltage, agg: mean, window: 1h}\n"
    "  - {name: v_min_1d, column: voltage, agg: min, window: 1d}\n"
    "  - {name: v_std_1d, column: voltage, agg: std, window: 1d}\n"
    "  - {name: v_slope_2d, column: voltage, agg: slope, window: 2d, per: 1d}\n"
    "  - {name: v_last_6h, column: voltage, agg: last, window: 6h}\n"
    "  - {name: t_max_6h, column: temp, agg: max, window: 6h}\n"
    "  - {name: t_delta_1d, column: temp, agg: delta, window: 1d}\n"
    "  - {name: rows_1d, agg: count, window: 1d}\n"
    "  - {name: dtc_1d, table: dtc, agg: count, window: 1d}\n"
    "  - {name: dtc_a_2d, table: dtc, code: A, agg: count, window: 2d}\n"
    "  - {name: dtc_since_2d, table: dtc, agg: time_since, window: 2d}\n"
    "  - {name: dtc_rate_2d, table: dtc, agg: rate, window: 2d, per: 1d}\n";

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

typedef struct tel {
  char veh[16];
  int64_t t;
  double voltage, temp;
  int v_null, run;
} tel;
typedef struct dtc {
  char veh[16];
  int64_t t;
  const char *code;
} dtc;

static tel *g_tel;
static size_t g_ntel;
static dtc *g_dtc;
static size_t g_ndtc;

static void sql(duckdb_connection con, const char *q) {
  duckdb_result r;
  if (duckdb_query(con, q, &r) != DuckDBSuccess)
    tt_test_fail(__FILE__, __LINE__, "%s: %s", q, duckdb_result_error(&r));
  duckdb_destroy_result(&r);
}

/* A lake with telemetry and dtc for nveh vehicles over `days` days,
 * partitioned by date; rows are written in a shuffled order with late
 * arrivals, as a stream would deliver them. */
static void make_lake(const char *lake, int nveh, int days) {
  g_ntel = g_ndtc = 0;
  size_t cap = (size_t)nveh * (size_t)days * 100 + 16;
  g_tel = calloc(cap, sizeof *g_tel);
  g_dtc = calloc(cap / 10 + 16, sizeof *g_dtc);
  static const char *codes[] = {"A", "B"};
  for (int v = 0; v < nveh; v++) {
    int64_t t = T0 + (int64_t)(rnd() % H);
    while (t < T0 + days * D) {
      tel *e = &g_tel[g_ntel++];
      snprintf(e->veh, sizeof e->veh, "veh-%03d", v);
      e->t = t;
      e->voltage = 12.0 + (double)(rnd() % 2000) / 1000.0 - (double)(t - T0) / D * 0.05;
      e->temp = 60 + (double)(rnd() % 400) / 10.0;
      e->v_null = rnd() % 12 == 0;
      if (rnd() % 30 == 0) e->voltage = NAN;
      e->run = rnd() % 5 != 0;
      if (rnd() % 8 == 0 && g_ntel < cap) { /* duplicate timestamp */
        g_tel[g_ntel] = *e;
        g_tel[g_ntel].voltage += 0.5;
        g_ntel++;
      }
      /* gaps: sometimes the vehicle is silent for hours */
      t += rnd() % 20 == 0 ? (int64_t)(rnd() % (10 * H)) : (int64_t)(5 + rnd() % 30) * 60 * 1000000;
      if (g_ntel + 4 >= cap) break;
      if (rnd() % 25 == 0) {
        dtc *d = &g_dtc[g_ndtc++];
        snprintf(d->veh, sizeof d->veh, "veh-%03d", v);
        d->t = t - (int64_t)(rnd() % H);
        d->code = codes[rnd() % 2];
      }
    }
  }
  /* Late arrivals: swap some rows a few places back (the lake keeps the
   * arrival order within a part file). */
  for (size_t i = 0; i + 40 < g_ntel; i++)
    if (rnd() % 7 == 0) {
      size_t j = i + rnd() % 40;
      tel x = g_tel[i];
      g_tel[i] = g_tel[j];
      g_tel[j] = x;
    }
  duckdb_database db;
  duckdb_connection con;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
  CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
  sql(con, "SET TimeZone='UTC'");
  mkdir(lake, 0755);
  sql(con, "CREATE TABLE tel (vehicle_id VARCHAR, ts TIMESTAMP, voltage DOUBLE, temp DOUBLE, "
           "engine_running BOOLEAN, seq BIGINT)");
  sql(con, "CREATE TABLE dtc (vehicle_id VARCHAR, ts TIMESTAMP, code VARCHAR, severity BIGINT, seq "
           "BIGINT)");
  duckdb_appender a;
  CHECK(duckdb_appender_create(con, NULL, "tel", &a) == DuckDBSuccess);
  for (size_t i = 0; i < g_ntel; i++) {
    duckdb_append_varchar(a, g_tel[i].veh);
    duckdb_append_timestamp(a, (duckdb_timestamp){g_tel[i].t});
    if (g_tel[i].v_null)
      duckdb_append_null(a);
    else
      duckdb_append_double(a, g_tel[i].voltage);
    duckdb_append_double(a, g_tel[i].temp);
    duckdb_append_bool(a, g_tel[i].run);
    duckdb_append_int64(a, (int64_t)i);
    duckdb_appender_end_row(a);
  }
  duckdb_appender_destroy(&a);
  CHECK(duckdb_appender_create(con, NULL, "dtc", &a) == DuckDBSuccess);
  for (size_t i = 0; i < g_ndtc; i++) {
    duckdb_append_varchar(a, g_dtc[i].veh);
    duckdb_append_timestamp(a, (duckdb_timestamp){g_dtc[i].t});
    duckdb_append_varchar(a, g_dtc[i].code);
    duckdb_append_int64(a, 1);
    duckdb_append_int64(a, (int64_t)i);
    duckdb_appender_end_row(a);
  }
  duckdb_appender_destroy(&a);
  char q[2048];
  snprintf(q, sizeof q,
           "COPY (SELECT vehicle_id, ts, voltage, temp, engine_running, strftime(ts, "
           "'%%Y-%%m-%%d') AS date "
           "FROM tel ORDER BY seq) TO '%s/telemetry' (FORMAT parquet, PARTITION_BY (date), "
           "COMPRESSION zstd, PER_THREAD_OUTPUT false)",
           lake);
  sql(con, "SET threads=1"); /* keep the arrival order in the files */
  sql(con, q);
  snprintf(
      q, sizeof q,
      "COPY (SELECT vehicle_id, ts, code, severity, strftime(ts, '%%Y-%%m-%%d') AS date "
      "FROM dtc ORDER BY seq) TO '%s/dtc' (FORMAT parquet, PARTITION_BY (date), COMPRESSION zstd)",
      lake);
  sql(con, q);
  duckdb_disconnect(&con);
  duckdb_close(&db);
}

static tt_feature_set *load_set(void) {
  tt_test_write_file("proj/features/health.yaml", SET);
  tt_feature_set *fs = NULL;
  tt_error e;
  CHECK_OK(tt_feature_set_load("proj", "health", &fs, &e));
  return fs;
}

static const char *tn[] = {"vehicle_id", "ts", "voltage", "temp", "engine_running"};
static const tt_type tt_[] = {TT_TYPE_STRING, TT_TYPE_TIMESTAMP, TT_TYPE_DOUBLE, TT_TYPE_DOUBLE,
                              TT_TYPE_BOOL};
static const char *dn[] = {"vehicle_id", "ts", "code"};
static const tt_type dt_[] = {TT_TYPE_STRING, TT_TYPE_TIMESTAMP, TT_TYPE_STRING};

/* Expected values of vehicle veh as of t, straight from the engine over the
 * in-memory events (no DuckDB, no threads). */
static void expected(const tt_fengine *eng, const char *veh, int64_t t, double *out) {
  tt_fstate *st = tt_fstate_new(eng);
  tt_batch *b = tt_batch_new(5, tn, tt_, 1);
  tt_batch *d = tt_batch_new(3, dn, dt_, 1);
  tt_error e;
  for (size_t i = 0; i < g_ntel; i++) {
    if (strcmp(g_tel[i].veh, veh) || g_tel[i].t > t) continue;
    tt_batch_reset(b);
    size_t r = tt_batch_add_row(b);
    CHECK_OK(tt_batch_set_string(b, 0, r, veh, strlen(veh)));
    tt_batch_set_int64(b, 1, r, g_tel[i].t);
    if (!g_tel[i].v_null) tt_batch_set_double(b, 2, r, g_tel[i].voltage);
    tt_batch_set_double(b, 3, r, g_tel[i].temp);
    tt_batch_set_bool(b, 4, r, g_tel[i].run);
    CHECK_OK(tt_fengine_fold(eng, st, "telemetry", b, 0, 1, &e));
  }
  for (size_t i = 0; i < g_ndtc; i++) {
    if (strcmp(g_dtc[i].veh, veh) || g_dtc[i].t > t) continue;
    tt_batch_reset(d);
    size_t r = tt_batch_add_row(d);
    CHECK_OK(tt_batch_set_string(d, 0, r, veh, strlen(veh)));
    tt_batch_set_int64(d, 1, r, g_dtc[i].t);
    CHECK_OK(tt_batch_set_string(d, 2, r, g_dtc[i].code, strlen(g_dtc[i].code)));
    CHECK_OK(tt_fengine_fold(eng, st, "dtc", d, 0, 1, &e));
  }
  CHECK_OK(tt_fengine_eval(eng, st, t, out, &e));
  tt_batch_destroy(b);
  tt_batch_destroy(d);
  tt_fstate_destroy(st);
}

/* Compare a built Parquet file, row by row and bit for bit, with the
 * engine over the in-memory events. Returns the row count. */
static size_t check_output(const tt_feature_set *fs, const char *path) {
  tt_fengine *eng;
  tt_error e;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  size_t nf = tt_feature_set_count(fs);
  duckdb_database db;
  duckdb_connection con;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
  CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
  char q[1024];
  snprintf(q, sizeof q,
           "SELECT * REPLACE (epoch_us(ts) AS ts) FROM read_parquet('%s', hive_partitioning=false) "
           "ORDER BY 1, 2",
           path);
  duckdb_result r;
  CHECK_MSG(duckdb_query(con, q, &r) == DuckDBSuccess, "%s", duckdb_result_error(&r));
  CHECK_EQ_INT(duckdb_column_count(&r), nf + 2);
  size_t rows = duckdb_row_count(&r);
  double *want = malloc(nf * sizeof *want);
  for (size_t i = 0; i < rows; i++) {
    char *veh = duckdb_value_varchar(&r, 0, i);
    int64_t t = duckdb_value_int64(&r, 1, i);
    expected(eng, veh, t, want);
    for (size_t f = 0; f < nf; f++) {
      int null = duckdb_value_is_null(&r, f + 2, i);
      double got = duckdb_value_double(&r, f + 2, i);
      if (isnan(want[f]))
        CHECK_MSG(null, "%s %s@%lld: want null, got %.17g", tt_feature_set_at(fs, f)->name, veh,
                  (long long)t, got);
      else
        CHECK_MSG(!null && memcmp(&got, &want[f], sizeof got) == 0,
                  "%s %s@%lld: want %.17g, got %.17g%s", tt_feature_set_at(fs, f)->name, veh,
                  (long long)t, want[f], got, null ? " (null)" : "");
    }
    duckdb_free(veh);
  }
  free(want);
  duckdb_destroy_result(&r);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  tt_fengine_destroy(eng);
  return rows;
}

static int64_t scalar(const char *q) {
  duckdb_database db;
  duckdb_connection con;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
  CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
  duckdb_result r;
  CHECK_MSG(duckdb_query(con, q, &r) == DuckDBSuccess, "%s: %s", q, duckdb_result_error(&r));
  int64_t v = duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return v;
}

TT_TEST_TIMEOUT(offline_build_matches_engine, 300) {
  make_lake("lake", 30, 5);
  tt_feature_set *fs = load_set();
  /* One worker: its stream spans many DuckDB chunks per table. */
  tt_features_build_opts o = {
      .lake = "lake", .every = 6 * H, .from = INT64_MIN, .to = INT64_MAX, .threads = 1};
  tt_features_build_stats st;
  tt_error e;
  char buf[1400];
  CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(st.vehicles, 30);
  int64_t last = INT64_MIN, first = INT64_MAX;
  for (size_t i = 0; i < g_ntel; i++) {
    if (g_tel[i].t > last) last = g_tel[i].t;
    if (g_tel[i].t < first) first = g_tel[i].t;
  }
  int64_t last_spine = last / (6 * H) * (6 * H);
  uint64_t want_rows = 0;
  for (size_t i = 0; i < g_ntel; i++)
    want_rows += g_tel[i].t <= last_spine;
  for (size_t i = 0; i < g_ndtc; i++)
    want_rows += g_dtc[i].t <= last_spine;
  CHECK(want_rows > 2 * 2048);
  CHECK_EQ_INT(st.rows_read, want_rows); /* every event up to the last spine point, once */
  CHECK_EQ_INT(st.files_read, 5 + 5);    /* every date partition of both tables */
  size_t rows = check_output(fs, st.out_path);
  CHECK_EQ_INT(rows, st.spine_rows);
  CHECK(rows >= 30 * 19);
  /* The manifest names the version and every file read. */
  char *man = tt_test_sh_out(NULL, "cat '%s'", st.manifest_path);
  CHECK_STR_CONTAINS(man, tt_feature_set_version(fs));
  CHECK_STR_CONTAINS(man, "lake/telemetry/date=2026-11-26/");
  CHECK_STR_CONTAINS(man, "lake/dtc/date=2026-11-24/");
  free(man);

  /* Two workers give the same file. */
  o.threads = 2;
  o.out_path = "two.parquet";
  CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(st.rows_read, want_rows);
  CHECK_EQ_INT(check_output(fs, "two.parquet"), rows);
  /* A narrow range reads only the partitions its windows need. */
  o.from = T0 + 4 * D;
  o.to = T0 + 4 * D + 12 * H;
  o.out_path = "narrow.parquet";
  CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(st.files_read, 3 + 3); /* days 2..4: the 2-day windows reach back into day 2 */
  rows = check_output(fs, "narrow.parquet");
  CHECK_EQ_INT(rows, 30 * 3);
  tt_feature_set_destroy(fs);
}

TT_TEST_TIMEOUT(offline_shards_union_is_unsharded, 300) {
  make_lake("lake", 15, 3);
  tt_feature_set *fs = load_set();
  tt_features_build_opts o = {
      .lake = "lake", .every = 4 * H, .from = INT64_MIN, .to = INT64_MAX, .threads = 2};
  tt_features_build_stats st;
  tt_error e;
  char buf[1400];
  CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  char whole[1100];
  snprintf(whole, sizeof whole, "%s", st.out_path);
  uint64_t vehicles = 0;
  for (uint32_t i = 0; i < 3; i++) {
    o.shard = i;
    o.nshards = 3;
    o.threads = 1 + (int)i % 2;
    CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
              tt_error_format(&e, buf, sizeof buf));
    vehicles += st.vehicles;
  }
  CHECK_EQ_INT(vehicles, 15);
  char dir[1100];
  snprintf(dir, sizeof dir, "%s", whole);
  *strrchr(dir, '/') = '\0';
  char q[8000];
  /* Same rows, same bits (IS DISTINCT FROM treats NULLs as equal). */
  snprintf(q, sizeof q,
           "SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet('%s') EXCEPT ALL SELECT * "
           "FROM read_parquet('%s/part-*-of-3.parquet')))"
           " + (SELECT count(*) FROM (SELECT * FROM read_parquet('%s/part-*-of-3.parquet') EXCEPT "
           "ALL SELECT * FROM read_parquet('%s')))",
           whole, dir, dir, whole);
  CHECK_EQ_INT(scalar(q), 0);
  snprintf(q, sizeof q, "SELECT count(*) FROM read_parquet('%s/part-*-of-3.parquet')", dir);
  int64_t n3 = scalar(q);
  snprintf(q, sizeof q, "SELECT count(*) FROM read_parquet('%s')", whole);
  CHECK_EQ_INT(n3, scalar(q));
  CHECK(n3 > 0);
  tt_feature_set_destroy(fs);
}

TT_TEST_TIMEOUT(offline_spine_file_and_cli, 300) {
  make_lake("lake", 4, 2);
  load_set();
  tt_test_write_file("proj/telltale.yaml", "lake: ../lake\n");
  tt_test_write_file("spine.csv",
                     "vehicle_id,ts\nveh-001,2026-11-25T06:30:00Z\nveh-001,2026-11-24T12:00:00Z\n"
                     "veh-003,2026-11-25T23:59:59Z\nnobody,2026-11-25T00:00:00Z\n");
  int status;
  char *out = tt_test_sh_out(
      &status,
      "%s -C proj features build --set health --spine spine.csv --out s.parquet --output json 2>&1",
      tt_test_cli());
  CHECK_MSG(status == 0, "%s", out);
  CHECK_STR_CONTAINS(out, "\"spine_rows\":4");
  free(out);
  tt_feature_set *fs = load_set();
  CHECK_EQ_INT(check_output(fs, "s.parquet"), 4);
  tt_feature_set_destroy(fs);
  /* Usage and data errors are reported, not crashed on. */
  out = tt_test_sh_out(&status, "%s -C proj features build --set health 2>&1", tt_test_cli());
  CHECK_EQ_INT(status, 64);
  CHECK_STR_CONTAINS(out, "exactly one of --spine");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features build --set nosuch --every 1d 2>&1",
                       tt_test_cli());
  CHECK_EQ_INT(status, 66);
  CHECK_STR_CONTAINS(out, "features/nosuch.yaml");
  free(out);
  tt_test_write_file("proj/features/bad.yaml",
                     "name: bad\nsource: telemetry\ntile: 1h\nfeatures:\n  - {name: x, column: "
                     "no_such_col, agg: mean, window: 1h}\n");
  out =
      tt_test_sh_out(&status, "%s -C proj features build --set bad --every 1d 2>&1", tt_test_cli());
  CHECK(status != 0);
  CHECK_STR_CONTAINS(out, "no_such_col");
  free(out);
}

/* ---------------------------------------------------------------------- */
/* Online store and verify                                                */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

TT_TEST_TIMEOUT(verify_memory_zero_mismatches, 300) {
  make_lake("lake", 10, 4);
  tt_feature_set *fs = load_set();
  tt_features_verify_report rep;
  tt_error e;
  char buf[1400];
  CHECK_MSG(tt_features_verify(fs, "lake", "memory:", INT64_MIN, INT64_MAX, &rep, &e) == TT_OK,
            "%s", tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(rep.vehicles, 10);
  CHECK_EQ_INT(rep.events, g_ntel + g_ndtc);
  printf("%llu checkpoints over %llu events\n", (unsigned long long)rep.checkpoints,
         (unsigned long long)rep.events);
  CHECK(rep.checkpoints >=
        10 * 4); /* dtc rows arrive after the day's telemetry: about one per day */
  CHECK_EQ_INT(rep.values_compared, rep.checkpoints * tt_feature_set_count(fs));
  CHECK_EQ_INT(rep.mismatches, 0);
  tt_features_verify_report_free(&rep);
  /* A sub-range. */
  CHECK_OK(tt_features_verify(fs, "lake", "memory:", T0 + 2 * D, T0 + 3 * D, &rep, &e));
  CHECK(rep.checkpoints > 0);
  CHECK_EQ_INT(rep.mismatches, 0);
  tt_features_verify_report_free(&rep);
  tt_feature_set_destroy(fs);
}

/* Write the test telemetry of the given rows as CSV (a stream source). */
static void write_csv(const char *path, size_t from, size_t to) {
  FILE *f = fopen(path, "w");
  CHECK(f);
  fputs("vehicle_id,ts,voltage,temp,engine_running\n", f);
  for (size_t i = from; i < to; i++) {
    char tb[40];
    tt_time_format(g_tel[i].t, tb, sizeof tb);
    fprintf(f, "%s,%s,", g_tel[i].veh, tb);
    if (!g_tel[i].v_null && !isnan(g_tel[i].voltage)) fprintf(f, "%.17g", g_tel[i].voltage);
    fprintf(f, ",%.17g,%s\n", g_tel[i].temp, g_tel[i].run ? "true" : "false");
  }
  fclose(f);
}

static tt_online *open_store(const char *url, tt_feature_set *fs, tt_fengine **eng) {
  tt_error e;
  CHECK_OK(tt_fengine_new(fs, eng, &e));
  tt_online *on = NULL;
  char buf[1400];
  CHECK_MSG(tt_online_open(url, *eng, fs, 0, &on, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  return on;
}

static uint64_t stream_file(tt_online *on, tt_feature_set *fs, const char *path,
                            uint64_t *resumed) {
  tt_feature_source src;
  tt_error e;
  char buf[1400];
  CHECK_MSG(tt_feature_source_file(fs, path, NULL, &src, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  tt_features_stream_stats st;
  CHECK_MSG(tt_features_stream(on, &src, 3, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  src.close(src.ctx);
  if (resumed) *resumed = st.resumed_at;
  return st.events;
}

TT_TEST_TIMEOUT(online_memory_stream_equals_offline, 300) {
  make_lake("lake", 6, 3);
  tt_feature_set *fs = load_set();
  write_csv("tel.csv", 0, g_ntel);
  tt_fengine *eng;
  tt_online *on = open_store("memory:", fs, &eng);
  CHECK_EQ_INT(stream_file(on, fs, "tel.csv", NULL), g_ntel);
  /* Every vehicle's online values equal the engine's as of its latest
   * telemetry event — the dtc table was not streamed, so compare against
   * an engine fed with telemetry only. */
  size_t nf = tt_feature_set_count(fs);
  double *got = malloc(nf * sizeof *got), *want = malloc(nf * sizeof *want);
  size_t ndtc = g_ndtc;
  g_ndtc = 0;
  for (int v = 0; v < 6; v++) {
    char veh[16];
    snprintf(veh, sizeof veh, "veh-%03d", v);
    tt_time as_of;
    tt_error e;
    CHECK_OK(tt_online_get(on, veh, got, &as_of, &e));
    int64_t latest = INT64_MIN;
    for (size_t i = 0; i < g_ntel; i++)
      if (!strcmp(g_tel[i].veh, veh) && g_tel[i].t > latest) latest = g_tel[i].t;
    CHECK_EQ_INT(as_of, latest);
    expected(eng, veh, as_of, want);
    for (size_t f = 0; f < nf; f++)
      CHECK_MSG((isnan(got[f]) && isnan(want[f])) || memcmp(&got[f], &want[f], sizeof got[f]) == 0,
                "%s of %s: online %.17g, engine %.17g", tt_feature_set_at(fs, f)->name, veh, got[f],
                want[f]);
  }
  g_ndtc = ndtc;
  tt_error e;
  double dummy[64];
  tt_time as_of;
  CHECK(tt_online_get(on, "nobody", dummy, &as_of, &e) == TT_NOTFOUND);

  /* materialize: each vehicle's latest offline row into a store. */
  tt_features_build_opts o = {.lake = "lake",
                              .every = 6 * H,
                              .from = INT64_MIN,
                              .to = INT64_MAX,
                              .out_path = "off.parquet"};
  tt_features_build_stats bst;
  CHECK_OK(tt_features_build(fs, &o, &bst, &e));
  tt_online *m2 = NULL;
  CHECK_OK(tt_online_open("memory:", eng, fs, 0, &m2, &e));
  uint64_t nmat = 0;
  CHECK_OK(tt_features_materialize(m2, fs, "lake", "off.parquet", &nmat, &e));
  CHECK_EQ_INT(nmat, 6);
  CHECK_OK(tt_online_get(m2, "veh-004", got, &as_of, &e));
  int64_t last_spine = INT64_MIN;
  for (size_t i = 0; i < g_ntel; i++)
    if (g_tel[i].t / (6 * H) * (6 * H) > last_spine) last_spine = g_tel[i].t / (6 * H) * (6 * H);
  CHECK_EQ_INT(as_of, last_spine);
  expected(eng, "veh-004", as_of, want);
  for (size_t f = 0; f < nf; f++)
    CHECK((isnan(got[f]) && isnan(want[f])) || memcmp(&got[f], &want[f], sizeof got[f]) == 0);
  tt_online_close(m2);
  uint64_t nv, bytes;
  CHECK_OK(tt_online_stats(on, &nv, &bytes, &e));
  CHECK_EQ_INT(nv, 6);
  CHECK(bytes > 0);
  free(got);
  free(want);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

/* A real redis-server on a free loopback port in the test's directory; it
 * dies with the test process (PR_SET_PDEATHSIG) even if the test fails. */
static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
  close(s);
  return ntohs(a.sin_port);
}

static pid_t redis_start(int port) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "yes", "--appendfsync", "always", "--dir", ".", "--logfile", "redis.log",
           (char *)NULL);
    _exit(127);
  }
  /* Ready when it answers PING. */
  for (int i = 0; i < 500; i++) {
    if (tt_test_sh("redis-cli -p %d ping >/dev/null 2>&1", port) == 0) return pid;
    usleep(20000);
  }
  tt_test_fail(__FILE__, __LINE__, "redis-server did not start (see redis.log)");
}

static void redis_stop(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

TT_TEST_TIMEOUT(online_redis_stream_resume_and_verify, 300) {
  if (tt_test_sh("command -v redis-server >/dev/null") != 0)
    tt_test_fail(__FILE__, __LINE__, "redis-server is not installed");
  make_lake("lake", 6, 3);
  tt_feature_set *fs = load_set();
  int port = free_port();
  pid_t rpid = redis_start(port);
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
  size_t half = g_ntel / 2;
  write_csv("all.csv", 0, g_ntel);
  write_csv("first.csv", 0, half);
  write_csv("second.csv", half, g_ntel);

  /* Memory store over the whole file: the reference. */
  tt_fengine *meng, *reng;
  tt_online *mem = open_store("memory:", fs, &meng);
  stream_file(mem, fs, "all.csv", NULL);

  /* Redis: first half, then Redis restarts (state survives on disk), then
   * a new process (new store handle) streams the second half. */
  tt_online *rds = open_store(url, fs, &reng);
  CHECK_EQ_INT(stream_file(rds, fs, "first.csv", NULL), half);
  uint64_t resumed;
  CHECK_EQ_INT(stream_file(rds, fs, "first.csv", &resumed),
               0); /* already applied: resumes at the end */
  CHECK_EQ_INT(resumed, half);
  redis_stop(rpid);
  tt_error e;
  double tmp[64];
  tt_time as_of;
  CHECK(tt_online_get(rds, "veh-001", tmp, &as_of, &e) == TT_REDIS);
  rpid = redis_start(port);
  tt_online_close(rds);
  tt_fengine_destroy(reng);
  rds = open_store(url, fs, &reng);
  CHECK_EQ_INT(stream_file(rds, fs, "second.csv", NULL), g_ntel - half);

  size_t nf = tt_feature_set_count(fs);
  double *a = malloc(nf * sizeof *a), *b = malloc(nf * sizeof *b);
  for (int v = 0; v < 6; v++) {
    char veh[16];
    snprintf(veh, sizeof veh, "veh-%03d", v);
    tt_time ta, tb;
    CHECK_OK(tt_online_get(mem, veh, a, &ta, &e));
    CHECK_OK(tt_online_get(rds, veh, b, &tb, &e));
    CHECK_EQ_INT(ta, tb);
    for (size_t f = 0; f < nf; f++)
      CHECK_MSG((isnan(a[f]) && isnan(b[f])) || memcmp(&a[f], &b[f], sizeof a[f]) == 0,
                "%s of %s: memory %.17g, redis %.17g", tt_feature_set_at(fs, f)->name, veh, a[f],
                b[f]);
  }
  uint64_t nv, bytes;
  CHECK_OK(tt_online_stats(rds, &nv, &bytes, &e));
  CHECK_EQ_INT(nv, 6);
  CHECK(bytes > 0);

  /* The CLI reads the same values. */
  tt_test_write_file("proj/telltale.yaml", "lake: ../lake\n");
  int status;
  char *out = tt_test_sh_out(
      &status,
      "%s -C proj --set online_store=%s features get --set health --vehicle veh-002 --output json",
      tt_test_cli(), url);
  CHECK_EQ_INT(status, 0);
  CHECK_STR_CONTAINS(out, "\"vehicle_id\":\"veh-002\"");
  CHECK_STR_CONTAINS(out, "\"dtc_1d\":0");
  free(out);

  /* verify through Redis: states saved and loaded on every batch. */
  tt_features_verify_report rep;
  char buf[1400];
  CHECK_MSG(tt_features_verify(fs, "lake", url, INT64_MIN, INT64_MAX, &rep, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  CHECK(rep.checkpoints > 0);
  CHECK_EQ_INT(rep.mismatches, 0);
  tt_features_verify_report_free(&rep);

  free(a);
  free(b);
  tt_online_close(rds);
  tt_online_close(mem);
  tt_fengine_destroy(reng);
  tt_fengine_destroy(meng);
  tt_feature_set_destroy(fs);
  redis_stop(rpid);
}

TT_TEST(registry_apply_list_search_show_diff) {
  load_set();
  tt_test_write_file("proj/telltale.yaml", "registry: sqlite:reg.db\n");
  const char *cli = tt_test_cli();
  int status;
  char *out = tt_test_sh_out(&status, "%s -C proj features apply", cli);
  CHECK_EQ_INT(status, 0);
  CHECK_STR_CONTAINS(out, "health                   version 1");
  CHECK_STR_CONTAINS(out, "registered");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features apply --output json", cli);
  CHECK_STR_CONTAINS(out, "\"version\":1");
  CHECK_STR_CONTAINS(out, "\"created\":false"); /* same definition, same version */
  free(out);
  /* A changed window is a new version, and diff names the change. */
  tt_test_write_file("proj/features/health.yaml", SET);
  CHECK_EQ_INT(tt_test_sh("sed -i 's/v_mean_1h, column: voltage, agg: mean, window: 1h/v_mean_1h, "
                          "column: voltage, agg: mean, window: 2h/' proj/features/health.yaml"),
               0);
  out = tt_test_sh_out(&status, "%s -C proj features diff health", cli);
  CHECK_EQ_INT(status, 1);
  CHECK_STR_CONTAINS(out, "~ feature v_mean_1h: window 3600000000 -> 7200000000");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features apply", cli);
  CHECK_STR_CONTAINS(out, "version 2");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features diff health:1 health:2", cli);
  CHECK_EQ_INT(status, 1);
  CHECK_STR_CONTAINS(out, "window 3600000000 -> 7200000000");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features list --output json", cli);
  CHECK_EQ_INT(status, 0);
  CHECK_STR_CONTAINS(out, "\"name\":\"health\",\"version\":2");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features search temp", cli); /* a source column */
  CHECK_STR_CONTAINS(out, "health");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features search no-such-thing", cli);
  CHECK(!strstr(out, "health"));
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features show health:1 --output json", cli);
  CHECK_EQ_INT(status, 0);
  CHECK_STR_CONTAINS(out, "\"version\":1");
  CHECK_STR_CONTAINS(out, "\"window\":3600000000");
  free(out);
  out = tt_test_sh_out(&status, "%s -C proj features show health:9 2>&1", cli);
  CHECK_EQ_INT(status, 66);
  free(out);
}

/* ---------------------------------------------------------------------- */
/* Attributes from an entity table: offline as-of, stream, verify         */

typedef struct vattr {
  char veh[16];
  int64_t t;
  const char *model; /* NULL = null */
  int64_t year;
} vattr;
static vattr g_va[16];
static size_t g_nva;

/* Several valid_from rows per vehicle: veh-000 has none; veh-001's only row
 * starts a day into the data; veh-002 has a row a month before the data,
 * one mid-range and one with a null model; the others one row before. */
static void make_vehicles(const char *lake, int nveh) {
  g_nva = 0;
  vattr rows[] = {{"veh-001", T0 + D + 3 * H, "truck", 2020},
                  {"veh-002", T0 - 30 * D, "van", 2015},
                  {"veh-002", T0 + 2 * D + 5 * H, "bus", 2016},
                  {"veh-002", T0 + 3 * D + 7 * H, NULL, 2017}};
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
    g_va[g_nva++] = rows[i];
  for (int v = 3; v < nveh && g_nva < 16; v++) {
    vattr *a = &g_va[g_nva++];
    snprintf(a->veh, sizeof a->veh, "veh-%03d", v);
    a->t = T0 - (int64_t)v * D;
    a->model = v % 2 ? "van" : "truck";
    a->year = 2010 + v;
  }
  duckdb_database db;
  duckdb_connection con;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
  CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
  sql(con, "SET TimeZone='UTC'; SET threads=1");
  sql(con, "CREATE TABLE veh (vehicle_id VARCHAR, valid_from TIMESTAMP, model VARCHAR, build_year "
           "BIGINT, seq BIGINT)");
  /* Stored newest first: the arrival order must not matter. */
  for (size_t i = g_nva; i-- > 0;) {
    char q[512];
    snprintf(q, sizeof q, "INSERT INTO veh VALUES ('%s', make_timestamp(%lld), %s%s%s, %lld, %zu)",
             g_va[i].veh, (long long)g_va[i].t, g_va[i].model ? "'" : "",
             g_va[i].model ? g_va[i].model : "NULL", g_va[i].model ? "'" : "",
             (long long)g_va[i].year, g_nva - i);
    sql(con, q);
  }
  char q[1024];
  snprintf(q, sizeof q,
           "COPY (SELECT vehicle_id, valid_from, model, build_year, strftime(valid_from, "
           "'%%Y-%%m-%%d') AS date FROM veh ORDER BY seq) TO '%s/vehicles' (FORMAT parquet, "
           "PARTITION_BY (date), COMPRESSION zstd)",
           lake);
  sql(con, q);
  duckdb_disconnect(&con);
  duckdb_close(&db);
}

static const char *ATTRS =
    "attributes:\n"
    "  - {name: model, table: vehicles, column: model, encode: category}\n"
    "  - {name: build_year, table: vehicles, column: build_year}\n"
    "  - {name: age_years, table: vehicles, column: build_year, encode: age}\n";

static tt_feature_set *load_attr_set(void) {
  char y[4096];
  snprintf(y, sizeof y, "%s%s", SET, ATTRS);
  tt_test_write_file("proj/features/health.yaml", y);
  tt_feature_set *fs = NULL;
  tt_error e;
  CHECK_OK(tt_feature_set_load("proj", "health", &fs, &e));
  return fs;
}

/* The attribute row of veh as of t by hand: the greatest valid_from <= t. */
static const vattr *attr_as_of(const char *veh, int64_t t) {
  const vattr *best = NULL;
  for (size_t i = 0; i < g_nva; i++)
    if (!strcmp(g_va[i].veh, veh) && g_va[i].t <= t && (!best || g_va[i].t > best->t))
      best = &g_va[i];
  return best;
}

/* Check the attribute columns of a build by hand, and the aggregations
 * against the engine; returns rows, counts rows before any attribute row. */
static size_t check_attr_output(const tt_feature_set *fs, const char *path, size_t *missing) {
  tt_fengine *eng;
  tt_error e;
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  size_t nf = tt_feature_set_count(fs);
  int im = tt_feature_set_find(fs, "model"), iy = tt_feature_set_find(fs, "build_year"),
      ia = tt_feature_set_find(fs, "age_years");
  duckdb_database db;
  duckdb_connection con;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
  CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
  char q[1024];
  snprintf(q, sizeof q,
           "SELECT * REPLACE (epoch_us(ts) AS ts) FROM read_parquet('%s', hive_partitioning=false) "
           "ORDER BY 1, 2",
           path);
  duckdb_result r;
  CHECK_MSG(duckdb_query(con, q, &r) == DuckDBSuccess, "%s", duckdb_result_error(&r));
  CHECK_EQ_INT(duckdb_column_count(&r), nf + 2);
  size_t rows = duckdb_row_count(&r);
  double *want = malloc(nf * sizeof *want);
  *missing = 0;
  for (size_t i = 0; i < rows; i++) {
    char *veh = duckdb_value_varchar(&r, 0, i);
    int64_t t = duckdb_value_int64(&r, 1, i);
    expected(eng, veh, t, want); /* aggregations (expected() folds no vehicles rows) */
    const vattr *a = attr_as_of(veh, t);
    if (!a) (*missing)++;
    want[im] = a && a->model ? tt_features_category_code(a->model, strlen(a->model)) : NAN;
    want[iy] = a ? (double)a->year : NAN;
    for (size_t f = 0; f < nf; f++) {
      int null = duckdb_value_is_null(&r, f + 2, i);
      double got = duckdb_value_double(&r, f + 2, i);
      if ((int)f == ia) {
        CHECK_MSG(a ? !null && got > (double)(2026 - a->year) && got < (double)(2027 - a->year)
                    : null,
                  "age %s@%lld: %g", veh, (long long)t, got);
        continue;
      }
      if (isnan(want[f]))
        CHECK_MSG(null, "%s %s@%lld: want null, got %.17g", tt_feature_set_at(fs, f)->name, veh,
                  (long long)t, got);
      else
        CHECK_MSG(!null && memcmp(&got, &want[f], sizeof got) == 0,
                  "%s %s@%lld: want %.17g, got %.17g%s", tt_feature_set_at(fs, f)->name, veh,
                  (long long)t, want[f], got, null ? " (null)" : "");
    }
    duckdb_free(veh);
  }
  free(want);
  duckdb_destroy_result(&r);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  tt_fengine_destroy(eng);
  return rows;
}

TT_TEST_TIMEOUT(attributes_offline_as_of_stream_and_verify, 300) {
  make_lake("lake", 8, 5);
  make_vehicles("lake", 8);
  tt_feature_set *fs = load_attr_set();
  tt_error e;
  char buf[1400];
  tt_features_build_opts o = {
      .lake = "lake", .every = 6 * H, .from = INT64_MIN, .to = INT64_MAX, .threads = 2};
  tt_features_build_stats st;
  CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(st.vehicles, 8); /* vehicles with events, not with attributes only */
  size_t missing;
  size_t rows = check_attr_output(fs, st.out_path, &missing);
  CHECK(rows >= 8 * 19);
  /* veh-000 always, veh-001 for its first day: missing, never a later row. */
  CHECK(missing > rows / 8 && missing < rows / 4);
  /* A narrow range still sees rows valid from long before it. */
  o.from = T0 + 4 * D;
  o.to = T0 + 4 * D + 12 * H;
  o.out_path = "narrow.parquet";
  CHECK_MSG(tt_features_build(fs, &o, &st, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(check_attr_output(fs, "narrow.parquet", &missing), 8 * 3);
  CHECK_EQ_INT(missing, 3); /* veh-000 only */
  char *man = tt_test_sh_out(NULL, "cat '%s'", st.manifest_path);
  CHECK_STR_CONTAINS(man, "lake/vehicles/date=2026-10-25/");
  free(man);

  /* Streaming a vehicles CSV into the online store. */
  tt_fengine *eng;
  tt_online *on = open_store("memory:", fs, &eng);
  FILE *f = fopen("vehicles.csv", "w");
  CHECK(f);
  fputs("vehicle_id,valid_from,model,build_year\n", f);
  for (size_t i = 0; i < g_nva; i++) {
    char tb[40];
    tt_time_format(g_va[i].t, tb, sizeof tb);
    fprintf(f, "%s,%s,%s,%lld\n", g_va[i].veh, tb, g_va[i].model ? g_va[i].model : "",
            (long long)g_va[i].year);
  }
  fclose(f);
  tt_feature_source src;
  CHECK_MSG(tt_feature_source_file(fs, "vehicles.csv", "vehicles", &src, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  tt_features_stream_stats sst;
  CHECK_MSG(tt_features_stream(on, &src, 3, &sst, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  src.close(src.ctx);
  CHECK_EQ_INT(sst.events, g_nva);
  double *v = malloc(tt_feature_set_count(fs) * sizeof *v);
  tt_time as_of;
  CHECK_OK(tt_online_get(on, "veh-002", v, &as_of, &e));
  CHECK_EQ_INT(as_of, T0 + 3 * D + 7 * H);
  CHECK(isnan(v[tt_feature_set_find(fs, "model")])); /* the latest row's model is null */
  CHECK(v[tt_feature_set_find(fs, "build_year")] == 2017);
  CHECK_OK(tt_online_get(on, "veh-003", v, &as_of, &e));
  CHECK(v[tt_feature_set_find(fs, "model")] == tt_features_category_code("van", 3));
  free(v);
  tt_online_close(on);
  tt_fengine_destroy(eng);

  /* Online == offline, bit for bit, with the vehicles rows in the replay. */
  tt_features_verify_report rep;
  CHECK_MSG(tt_features_verify(fs, "lake", "memory:", INT64_MIN, INT64_MAX, &rep, &e) == TT_OK,
            "%s", tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_INT(rep.events, g_ntel + g_ndtc + g_nva);
  CHECK(rep.checkpoints > 8 * 4);
  CHECK_EQ_INT(rep.mismatches, 0);
  tt_features_verify_report_free(&rep);
  CHECK_OK(tt_features_verify(fs, "lake", "memory:", T0 + 3 * D, T0 + 4 * D, &rep, &e));
  CHECK(rep.checkpoints > 0);
  CHECK_EQ_INT(rep.mismatches, 0);
  tt_features_verify_report_free(&rep);
  tt_feature_set_destroy(fs);
}
