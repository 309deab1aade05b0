/* The lake: part writer layout and crash-safety naming, views, query
 * formats, stats. Tables are built by hand (no schema file needed). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "telltale/lake.h"
#include "telltale/time.h"
#include "tt_test.h"

static const tt_column_def cols[] = {
    {"vehicle_id", TT_TYPE_STRING, "", "", 1, 0, 0, 0, 0},
    {"ts", TT_TYPE_TIMESTAMP, "", "", 1, 0, 0, 0, 0},
    {"speed", TT_TYPE_DOUBLE, "km/h", "", 0, 1, 1, 0, 250},
    {"gear", TT_TYPE_INT64, "", "", 0, 0, 0, 0, 0},
    {"running", TT_TYPE_BOOL, "", "", 0, 0, 0, 0, 0},
};
static const tt_table_def tel = {"tel", TT_TABLE_TELEMETRY, "", "vehicle_id", "ts",
                                 TT_AXIS_TIMESTAMP, "us", 5, cols, 0, 1};
static const tt_column_def ccols[] = {
    {"unit", TT_TYPE_STRING, "", "", 1, 0, 0, 0, 0},
    {"cycle", TT_TYPE_INT64, "", "", 1, 0, 0, 0, 0},
    {"s1", TT_TYPE_DOUBLE, "", "", 0, 0, 0, 0, 0},
};
static const tt_table_def cyc = {"engines", TT_TABLE_TELEMETRY, "", "unit", "cycle",
                                 TT_AXIS_COUNTER, "cycles", 3, ccols, 0, 1};

#define DAY1 INT64_C(1767225600000000) /* 2026-01-01 */

static tt_batch *sample(size_t n) {
  tt_batch *b = tt_lake_batch_new(&tel, n);
  CHECK(b);
  for (size_t i = 0; i < n; i++) {
    size_t r = tt_batch_add_row(b);
    char v[16];
    snprintf(v, sizeof v, "V%zu", i % 3);
    CHECK_OK(tt_batch_set_string(b, 0, r, v, strlen(v)));
    /* Rows spread over two days, out of order. */
    tt_batch_set_int64(b, 1, r, DAY1 + (int64_t)((i * 7919) % n) * (TT_USEC_PER_DAY * 2 / (int64_t)n));
    if (i % 5) tt_batch_set_double(b, 2, r, (double)i / 10);
    tt_batch_set_int64(b, 3, r, (int64_t)i % 6);
    tt_batch_set_bool(b, 4, r, i % 2);
  }
  return b;
}

static int64_t qint(tt_lake *lake, const char *sql) {
  int64_t v = -1;
  tt_error e;
  tt_error_clear(&e);
  if (tt_lake_query_int(lake, sql, &v, &e) != TT_OK) tt_test_fail(__FILE__, __LINE__, "%s: %s", sql, e.msg);
  return v;
}

static int count_files(const char *dir, const char *suffix) {
  char *out = tt_test_sh_out(NULL, "find %s -type f -name '*%s*' | wc -l", dir, suffix);
  int n = atoi(out);
  free(out);
  return n;
}

TT_TEST(part_writer_date_partitions_and_rewrite) {
  tt_lake *lake;
  tt_lake_writer *w;
  tt_error e;
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  CHECK_OK(tt_lake_writer_new(lake, &w, &e));
  tt_batch *b = sample(5000);
  tt_lake_part_info info;
  CHECK_OK(tt_lake_write_batch(w, &tel, NULL, "p1", b, &info, &e));
  CHECK_EQ_INT(info.rows, 5000);
  CHECK_EQ_INT(info.files, 2);
  CHECK(info.bytes > 0);
  CHECK(tt_test_sh("test -f lake/tel/date=2026-01-01/part-p1.parquet") == 0);
  CHECK(tt_test_sh("test -f lake/tel/date=2026-01-02/part-p1.parquet") == 0);
  CHECK_EQ_INT(count_files("lake", ".tmp"), 0);
  CHECK_OK(tt_lake_refresh(lake, &e));
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM tel"), 5000);
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM tel WHERE speed IS NULL"), 1000);
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM tel WHERE running"), 2500);
  CHECK_EQ_INT(qint(lake, "SELECT sum(gear) FROM tel"), 15 * (5000 / 6) + (0 + 1));
  /* Every row sits in the partition of its own day. */
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM tel WHERE CAST(ts AS DATE) <> date"), 0);
  /* Writing the same part id again replaces it: a retried write after a
   * crash never duplicates rows. */
  CHECK_OK(tt_lake_write_batch(w, &tel, NULL, "p1", b, NULL, &e));
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM tel"), 5000);
  /* Another id adds. */
  CHECK_OK(tt_lake_write_batch(w, &tel, NULL, "p2", b, NULL, &e));
  CHECK_OK(tt_lake_refresh(lake, &e));
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM tel"), 10000);
  /* An empty part writes nothing. */
  tt_batch_reset(b);
  CHECK_OK(tt_lake_write_batch(w, &tel, NULL, "p3", b, &info, &e));
  CHECK_EQ_INT(info.files, 0);
  CHECK_EQ_INT(count_files("lake", "p3.parquet"), 0);
  tt_batch_destroy(b);
  tt_lake_writer_destroy(w);
  tt_lake_close(lake);
}

TT_TEST(part_writer_refuses_bad_ids_and_null_time) {
  tt_lake *lake;
  tt_lake_writer *w;
  tt_error e;
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  CHECK_OK(tt_lake_writer_new(lake, &w, &e));
  tt_batch *b = sample(10);
  CHECK(tt_lake_write_batch(w, &tel, NULL, "../x", b, NULL, &e) == TT_INVALID);
  CHECK(tt_lake_write_batch(w, &tel, NULL, "", b, NULL, &e) == TT_INVALID);
  CHECK(tt_lake_write_batch(w, &tel, "nokey", "ok", b, NULL, &e) == TT_INVALID);
  tt_batch_set_null(b, 1, 3);
  CHECK(tt_lake_write_batch(w, &tel, NULL, "ok", b, NULL, &e) == TT_INVALID);
  CHECK_EQ_STR(e.field, "ts");
  CHECK_EQ_INT(count_files("lake", ".parquet"), 0);
  /* The writer is usable after a refused part. */
  tt_batch_set_int64(b, 1, 3, DAY1);
  CHECK_OK(tt_lake_write_batch(w, &tel, NULL, "ok", b, NULL, &e));
  tt_batch_destroy(b);
  tt_lake_writer_destroy(w);
  tt_lake_close(lake);
}

TT_TEST(counter_axis_has_no_date_partition) {
  tt_lake *lake;
  tt_lake_writer *w;
  tt_error e;
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  CHECK_OK(tt_lake_writer_new(lake, &w, &e));
  tt_batch *b = tt_lake_batch_new(&cyc, 100);
  for (int i = 0; i < 100; i++) {
    size_t r = tt_batch_add_row(b);
    CHECK_OK(tt_batch_set_string(b, 0, r, i < 50 ? "u1" : "u2", 2));
    tt_batch_set_int64(b, 1, r, i % 50 + 1);
    tt_batch_set_double(b, 2, r, i * 0.5);
  }
  CHECK_OK(tt_lake_write_batch(w, &cyc, NULL, "c1", b, NULL, &e));
  CHECK(tt_test_sh("test -f lake/engines/part-c1.parquet") == 0);
  CHECK_OK(tt_lake_refresh(lake, &e));
  CHECK_EQ_INT(qint(lake, "SELECT max(cycle) FROM engines"), 50);
  tt_lake_table_stats *s;
  size_t n;
  CHECK_OK(tt_lake_stats(lake, NULL, &s, &n, &e));
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_STR(s[0].name, "engines");
  CHECK_EQ_INT(s[0].rows, 100);
  CHECK_EQ_INT(s[0].partitions, 1);
  /* Without a schema the time column "ts" is guessed and absent here. */
  CHECK_EQ_INT(s[0].has_time, 0);
  free(s);
  tt_batch_destroy(b);
  tt_lake_writer_destroy(w);
  tt_lake_close(lake);
}

TT_TEST(stats_and_deadletter_table) {
  tt_lake *lake;
  tt_lake_writer *w;
  tt_error e;
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  CHECK_OK(tt_lake_writer_new(lake, &w, &e));
  tt_batch *b = sample(600);
  CHECK_OK(tt_lake_write_batch(w, &tel, NULL, "a", b, NULL, &e));
  tt_batch *dl = tt_lake_batch_new(tt_lake_deadletter_table(), 4);
  size_t r = tt_batch_add_row(dl);
  CHECK_OK(tt_batch_set_string(dl, 0, r, "parse", 5));
  CHECK_OK(tt_batch_set_string(dl, 3, r, "f.csv", 5));
  tt_batch_set_int64(dl, 4, r, 7);
  CHECK_OK(tt_lake_write_batch(w, tt_lake_deadletter_table(), "table_name=tel", "a", dl, NULL, &e));
  tt_lake_table_stats *s;
  size_t n;
  CHECK_OK(tt_lake_stats(lake, NULL, &s, &n, &e));
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_STR(s[0].name, "_deadletter");
  CHECK_EQ_INT(s[0].rows, 1);
  CHECK_EQ_STR(s[1].name, "tel");
  CHECK_EQ_INT(s[1].rows, 600);
  CHECK_EQ_INT(s[1].files, 2);
  CHECK_EQ_INT(s[1].partitions, 2);
  CHECK_EQ_INT(s[1].vehicles, 3);
  CHECK(s[1].has_time && s[1].time_is_timestamp);
  CHECK(s[1].time_min >= DAY1 && s[1].time_max < DAY1 + 2 * TT_USEC_PER_DAY);
  free(s);
  CHECK_EQ_INT(qint(lake, "SELECT count(*) FROM _deadletter WHERE table_name = 'tel' AND line = 7"), 1);
  tt_batch_destroy(dl);
  tt_batch_destroy(b);
  tt_lake_writer_destroy(w);
  tt_lake_close(lake);
}

TT_TEST(query_formats) {
  tt_lake *lake;
  tt_error e;
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  FILE *f = fopen("out.txt", "w+");
  uint64_t n;
  CHECK_OK(tt_lake_query(lake, "SELECT 1 AS a, 'x,\"y' AS b, NULL AS c, true AS d, 1.5 AS e",
                         TT_LAKE_CSV, f, &n, &e));
  CHECK_EQ_INT(n, 1);
  CHECK_OK(tt_lake_query(lake, "SELECT 1 AS a, 'x,\"y' AS b, NULL AS c, true AS d, 1.5 AS e",
                         TT_LAKE_JSON, f, NULL, &e));
  CHECK_OK(tt_lake_query(lake, "SELECT 42 AS answer, 'é' AS s", TT_LAKE_TABLE, f, NULL, &e));
  fclose(f);
  char *out = tt_test_sh_out(NULL, "cat out.txt");
  CHECK_STR_CONTAINS(out, "a,b,c,d,e\n1,\"x,\"\"y\",,true,1.5\n");
  CHECK_STR_CONTAINS(out, "[\n{\"a\":1,\"b\":\"x,\\\"y\",\"c\":null,\"d\":true,\"e\":1.5}\n]\n");
  CHECK_STR_CONTAINS(out, "answer  s\n------  -\n    42  é\n");
  free(out);
  /* DuckDB's message is passed on. */
  CHECK(tt_lake_query(lake, "SELECT * FROM no_such_table", TT_LAKE_TABLE, stdout, NULL, &e) == TT_DB);
  CHECK_STR_CONTAINS(e.msg, "no_such_table");
  tt_lake_close(lake);
}

TT_TEST(cli_lake_query_and_stats) {
  char *out = tt_test_sh_out(NULL, "%s --set lake=lk lake stats", tt_test_cli());
  CHECK_STR_CONTAINS(out, "(the lake is empty)");
  free(out);
  int st;
  out = tt_test_sh_out(&st, "%s --set lake=lk lake query --output json \"SELECT 2+2 AS four\"", tt_test_cli());
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(out, "{\"four\":4}");
  free(out);
  out = tt_test_sh_out(&st, "%s --set lake=lk lake query 'SELEC nonsense' 2>&1", tt_test_cli());
  CHECK(st != 0);
  CHECK_STR_CONTAINS(out, "syntax error");
  free(out);
  CHECK(tt_test_sh("%s lake --help | grep -q 'lake stats'", tt_test_cli()) == 0);
  CHECK_EQ_INT(tt_test_sh("%s lake frobnicate 2>/dev/null", tt_test_cli()), 64);
}
