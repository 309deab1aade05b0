/* What a user would do instead of `telltale ingest`: let DuckDB alone
 * convert the CSV to date-partitioned zstd Parquet.
 *   duckdb_convert CSV OUTDIR [THREADS]
 * Prints "rows SECONDS". Uses the DuckDB C API (there is no duckdb CLI). */
#include <duckdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: duckdb_convert CSV OUTDIR [THREADS]\n");
    return 64;
  }
  duckdb_database db;
  duckdb_connection con;
  duckdb_config cfg;
  duckdb_create_config(&cfg);
  if (argc > 3) duckdb_set_config(cfg, "threads", argv[3]);
  char *err = NULL;
  if (duckdb_open_ext(NULL, &db, cfg, &err) == DuckDBError || duckdb_connect(db, &con) == DuckDBError) {
    fprintf(stderr, "duckdb: %s\n", err ? err : "cannot open");
    return 1;
  }
  duckdb_destroy_config(&cfg);
  char sql[8192];
  /* The same conversion telltale does: typed columns, a date partition
   * derived from the timestamp, zstd. (Paths are trusted bench inputs.)
   * A .jsonl input is read with read_json, the same columns. */
  size_t inlen = strlen(argv[1]);
  int json = inlen > 6 && !strcmp(argv[1] + inlen - 6, ".jsonl");
  snprintf(sql, sizeof sql,
           "COPY (SELECT *, CAST(ts AS DATE) AS date FROM %s('%s', %s columns = {"
           "'vehicle_id': 'VARCHAR', 'ts': 'TIMESTAMP', 'odometer_km': 'DOUBLE', "
           "'engine_running': 'BOOLEAN', 'engine_rpm': 'DOUBLE', 'speed_kmh': 'DOUBLE', "
           "'coolant_temp_c': 'DOUBLE', 'oil_pressure_kpa': 'DOUBLE', "
           "'battery_voltage_v': 'DOUBLE', 'cranking_voltage_v': 'DOUBLE', "
           "'brake_pad_mm': 'DOUBLE', 'tyre_pressure_fl_kpa': 'DOUBLE', "
           "'tyre_pressure_fr_kpa': 'DOUBLE', 'tyre_pressure_rl_kpa': 'DOUBLE', "
           "'tyre_pressure_rr_kpa': 'DOUBLE', 'ambient_temp_c': 'DOUBLE', "
           "'fuel_level_pct': 'DOUBLE'})) TO '%s' "
           "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date), OVERWRITE_OR_IGNORE)",
           json ? "read_json" : "read_csv", argv[1],
           json ? "format = 'newline_delimited'," :
                  "header = true, timestampformat = '%Y-%m-%dT%H:%M:%SZ',",
           argv[2]);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  duckdb_result r;
  if (duckdb_query(con, sql, &r) == DuckDBError) {
    fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&r));
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  /* COPY returns the number of rows written. */
  long long rows = duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  printf("%lld %.3f\n", rows, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}
