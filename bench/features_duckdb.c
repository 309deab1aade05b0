/* Feature benchmark helper (bench/features.sh), over the DuckDB C API:
 *
 *   features_duckdb gen LAKE ROWS VEHICLES
 *       a telemetry lake (LAKE/telemetry/date=…/…parquet, zstd) of ROWS rows,
 *       VEHICLES vehicles, evenly spaced over 60 days from 2026-01-01
 *   features_duckdb sql SET.json LAKE FROM_US TO_US EVERY_US OUT.parquet
 *       the feature set (canonical JSON from `telltale features show --output
 *       json`) computed the way a DuckDB user would: spine rows unioned into
 *       the events, window functions with RANGE frames; prints seconds
 *   features_duckdb compare SET.json A.parquet B.parquet
 *       row-by-row comparison of two outputs; prints "rows mismatches"
 *
 * Only the aggregations a SQL user can write directly are supported by
 * `sql` (count, sum, mean, min, max, std, first, last, delta, slope) and a
 * telemetry-only set with a boolean filter column. */
#include <duckdb.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static duckdb_database db;
static duckdb_connection con;

static void run(const char *sql) {
  duckdb_result r;
  if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
    fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&r));
    exit(1);
  }
  duckdb_destroy_result(&r);
}

static void open_db(void) {
  if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
    fprintf(stderr, "cannot open duckdb\n");
    exit(1);
  }
  run("SET TimeZone='UTC'");
}

static int gen(const char *lake, long long rows, long long vehicles) {
  char q[4096];
  long long per = rows / vehicles;
  long long step_us = 60LL * 86400 * 1000000 / per; /* 60 days */
  snprintf(q, sizeof q,
           "COPY (SELECT printf('V%%06d', v) AS vehicle_id, "
           "make_timestamp(1767225600000000 + i * %lld + (hash(v) %% 1000000)::BIGINT) AS ts, "
           "100000 + v * 10 + i * 0.01 AS odometer_km, "
           "(hash(v * 7 + i) %% 10) < 8 AS engine_running, "
           "1500 + (hash(i * 3 + v) %% 2000) AS engine_rpm, "
           "(hash(i * 5 + v) %% 12000) / 100.0 AS speed_kmh, "
           "70 + (hash(i * 11 + v) %% 3000) / 100.0 AS coolant_temp_c, "
           "250 + (hash(i * 13 + v) %% 1000) / 10.0 AS oil_pressure_kpa, "
           "CASE WHEN hash(i * 17 + v) %% 50 = 0 THEN NULL ELSE 12.0 + (hash(i * 19 + v) %% 2000) "
           "/ 1000.0 - i * 0.00001 END AS battery_voltage_v, "
           "9.5 + (hash(i * 23 + v) %% 1500) / 1000.0 AS cranking_voltage_v, "
           "12.0 - i * 0.0005 + (hash(i * 29 + v) %% 100) / 1000.0 AS brake_pad_mm, "
           "230 + (hash(i * 31 + v) %% 400) / 10.0 AS tyre_pressure_fl_kpa, "
           "230 + (hash(i * 37 + v) %% 400) / 10.0 AS tyre_pressure_fr_kpa, "
           "230 + (hash(i * 41 + v) %% 400) / 10.0 AS tyre_pressure_rl_kpa, "
           "230 + (hash(i * 43 + v) %% 400) / 10.0 AS tyre_pressure_rr_kpa, "
           "(hash(i * 47 + v) %% 400) / 10.0 - 10 AS ambient_temp_c, "
           "(hash(i * 53 + v) %% 1000) / 10.0 AS fuel_level_pct, "
           "strftime(make_timestamp(1767225600000000 + i * %lld + (hash(v) %% 1000000)::BIGINT), "
           "'%%Y-%%m-%%d') AS date "
           "FROM range(%lld) t(v), range(%lld) s(i)) "
           "TO '%s/telemetry' (FORMAT parquet, PARTITION_BY (date), COMPRESSION zstd, "
           "OVERWRITE_OR_IGNORE)",
           step_us, step_us, vehicles, per, lake);
  run(q);
  return 0;
}

static const char *agg_sql(const char *agg, const char *x, const char *run_col, char *buf,
                           size_t size) {
  /* Filtered value: NULL where the row does not pass or x is missing. */
  char v[512];
  snprintf(v, sizeof v, "CASE WHEN %s THEN %s END", run_col, *x ? x : "1");
  if (!strcmp(agg, "count"))
    snprintf(buf, size, "count(%s)", v);
  else if (!strcmp(agg, "sum"))
    snprintf(buf, size, "sum(%s)", v);
  else if (!strcmp(agg, "mean"))
    snprintf(buf, size, "avg(%s)", v);
  else if (!strcmp(agg, "min"))
    snprintf(buf, size, "min(%s)", v);
  else if (!strcmp(agg, "max"))
    snprintf(buf, size, "max(%s)", v);
  else if (!strcmp(agg, "std"))
    snprintf(buf, size, "stddev_pop(%s)", v);
  else if (!strcmp(agg, "first"))
    snprintf(buf, size, "arg_min(%s, CASE WHEN %s AND %s IS NOT NULL THEN ts END)", x, run_col, x);
  else if (!strcmp(agg, "last"))
    snprintf(buf, size, "arg_max(%s, CASE WHEN %s AND %s IS NOT NULL THEN ts END)", x, run_col, x);
  else if (!strcmp(agg, "slope"))
    snprintf(buf, size, "regr_slope(%s, (epoch_us(ts) - 1767225600000000)::DOUBLE)", v);
  else
    return NULL;
  return buf;
}

static json_t *load_set(const char *path) {
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!j) {
    fprintf(stderr, "%s: %s\n", path, je.text);
    exit(1);
  }
  json_t *def = json_object_get(j, "definition");
  return def ? def : j;
}

static int sql(const char *setpath, const char *lake, long long from, long long to, long long every,
               const char *out) {
  json_t *set = load_set(setpath);
  const char *filter = json_string_value(json_object_get(set, "filter"));
  char run_col[256] = "TRUE";
  if (filter) {
    /* "engine_running = true" */
    char col[128];
    if (sscanf(filter, "%127s = true", col) == 1) snprintf(run_col, sizeof run_col, "%s", col);
  }
  /* Columns read. */
  json_t *feats = json_object_get(set, "features");
  size_t i;
  json_t *f;
  char cols[4096] = "", nulls[4096] = "";
  json_array_foreach(feats, i, f) {
    const char *c = json_string_value(json_object_get(f, "column"));
    if (!*c || strstr(cols, c)) continue;
    strcat(cols, ", ");
    strcat(cols, c);
    strcat(nulls, ", NULL AS ");
    strcat(nulls, c);
  }
  size_t qcap = 1 << 20;
  char *q = malloc(qcap);
  size_t p = 0;
  p += snprintf(q + p, qcap - p,
                "COPY (WITH spine AS (SELECT DISTINCT vehicle_id FROM "
                "read_parquet('%s/telemetry/*/*.parquet')), "
                "ev AS (SELECT vehicle_id, ts%s, %s AS run_, 0 AS is_spine FROM "
                "read_parquet('%s/telemetry/*/*.parquet') "
                "WHERE ts > make_timestamp(%lld) AND ts <= make_timestamp(%lld) "
                "UNION ALL SELECT vehicle_id, make_timestamp(t)%s, NULL AS run_, 1 AS is_spine "
                "FROM spine, range(%lld, %lld, %lld) r(t)) "
                "SELECT vehicle_id, ts",
                lake, cols, filter ? run_col : "TRUE", lake, from - 31LL * 86400 * 1000000, to,
                nulls, from, to + 1, every);
  json_array_foreach(feats, i, f) {
    char e[2048];
    const char *agg = json_string_value(json_object_get(f, "agg"));
    const char *c = json_string_value(json_object_get(f, "column"));
    long long w = json_integer_value(json_object_get(f, "window"));
    long long per = json_integer_value(json_object_get(f, "per"));
    if (!strcmp(agg, "delta")) {
      char frame[256];
      snprintf(frame, sizeof frame,
               "OVER (PARTITION BY vehicle_id ORDER BY ts RANGE BETWEEN INTERVAL '%lld "
               "microseconds' PRECEDING AND CURRENT ROW)",
               w - 1);
      p += snprintf(q + p, qcap - p,
                    ", (arg_max(%s, CASE WHEN run_ AND %s IS NOT NULL THEN ts END) %s) - "
                    "(arg_min(%s, CASE WHEN run_ AND %s IS NOT NULL THEN ts END) %s) AS \"%s\"",
                    c, c, frame, c, c, frame, json_string_value(json_object_get(f, "name")));
      continue;
    }
    if (!agg_sql(agg, c, "run_", e, sizeof e)) {
      fprintf(stderr, "aggregation %s is not supported by the SQL baseline\n", agg);
      return 1;
    }
    /* The set's window as of a tile-aligned spine point is (t - W, t];
     * RANGE … PRECEDING is inclusive, hence W - 1 µs. */
    p += snprintf(q + p, qcap - p,
                  ", coalesce((%s OVER (PARTITION BY vehicle_id ORDER BY ts RANGE BETWEEN INTERVAL "
                  "'%lld microseconds' "
                  "PRECEDING AND CURRENT ROW)), %s) * %lld AS \"%s\"",
                  e, w - 1, !strcmp(agg, "sum") ? "0" : "NULL", !strcmp(agg, "slope") ? per : 1LL,
                  json_string_value(json_object_get(f, "name")));
  }
  p += snprintf(q + p, qcap - p,
                " FROM ev QUALIFY is_spine = 1 ORDER BY 1, 2) TO '%s' (FORMAT parquet)", out);
  double t0 = now();
  run(q);
  printf("%.3f\n", now() - t0);
  free(q);
  return 0;
}

static int compare(const char *setpath, const char *a, const char *b) {
  json_t *set = load_set(setpath);
  json_t *feats = json_object_get(set, "features");
  size_t nf = json_array_size(feats);
  char q[4096], sa[1024], sb[1024];
  const char *files[2] = {a, b};
  char *sides[2] = {sa, sb};
  for (int k = 0; k < 2; k++) {
    size_t n = strlen(files[k]);
    if (n > 4 && !strcmp(files[k] + n - 4, ".csv")) /* pandas: ts already in µs */
      snprintf(sides[k], 1024, "SELECT * FROM read_csv_auto('%s')", files[k]);
    else
      snprintf(
          sides[k], 1024,
          "SELECT * REPLACE (epoch_us(ts) AS ts) FROM read_parquet('%s', hive_partitioning=false)",
          files[k]);
  }
  snprintf(q, sizeof q, "SELECT * FROM (%s) a JOIN (%s) b USING (vehicle_id, ts)", sa, sb);
  duckdb_result r;
  if (duckdb_query(con, q, &r) != DuckDBSuccess) {
    fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&r));
    return 1;
  }
  idx_t rows = duckdb_row_count(&r);
  long long bad = 0;
  for (idx_t i = 0; i < rows; i++)
    for (size_t k = 0; k < nf; k++) {
      const char *agg = json_string_value(json_object_get(json_array_get(feats, k), "agg"));
      int na = duckdb_value_is_null(&r, 2 + k, i), nb = duckdb_value_is_null(&r, 2 + nf + k, i);
      double x = duckdb_value_double(&r, 2 + k, i), y = duckdb_value_double(&r, 2 + nf + k, i);
      if (na || nb) {
        /* count/sum of an empty window: 0 on one side, 0 or NULL on the other */
        if ((na && nb) || (na && y == 0) || (nb && x == 0)) continue;
        if (bad < 5)
          fprintf(stderr, "row %llu %s: %g vs %s\n", (unsigned long long)i,
                  json_string_value(json_object_get(json_array_get(feats, k), "name")), na ? y : x,
                  "NULL");
        bad++;
        continue;
      }
      double tol = 1e-6 * (1 + fabs(x));
      if (!strcmp(agg, "std") || !strcmp(agg, "slope")) tol = 1e-5 * (1 + fabs(x));
      if (fabs(x - y) > tol) {
        if (bad < 5)
          fprintf(stderr, "row %llu %s: %.17g vs %.17g\n", (unsigned long long)i,
                  json_string_value(json_object_get(json_array_get(feats, k), "name")), x, y);
        bad++;
      }
    }
  printf("%llu %lld\n", (unsigned long long)rows, bad);
  duckdb_destroy_result(&r);
  return 0;
}

int main(int argc, char **argv) {
  open_db();
  if (argc == 4 && !strcmp(argv[1], "csv")) { /* the events as CSV for pandas (not timed) */
    char q[2048];
    snprintf(q, sizeof q,
             "COPY (SELECT * EXCLUDE (date) FROM read_parquet('%s/telemetry/*/*.parquet', "
             "hive_partitioning=true)) TO '%s' (HEADER)",
             argv[2], argv[3]);
    run(q);
    return 0;
  }
  if (argc == 5 && !strcmp(argv[1], "gen")) return gen(argv[2], atoll(argv[3]), atoll(argv[4]));
  if (argc == 8 && !strcmp(argv[1], "sql"))
    return sql(argv[2], argv[3], atoll(argv[4]), atoll(argv[5]), atoll(argv[6]), argv[7]);
  if (argc == 5 && !strcmp(argv[1], "compare")) return compare(argv[2], argv[3], argv[4]);
  fprintf(stderr, "usage: features_duckdb gen LAKE ROWS VEHICLES | sql SET.json LAKE FROM TO EVERY "
                  "OUT | compare SET.json A B\n");
  return 64;
}
