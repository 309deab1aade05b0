/* Ingest: record parsing and validation (every reject reason), dialect
 * sniffing, file ingest end to end (bad inputs, dialects, chunking, line
 * numbers, idempotence, stdin) and a kill -9 crash test. */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "telltale/ingest.h"
#include "telltale/lake.h"
#include "telltale/project.h"
#include "telltale/registry.h"
#include "telltale/time.h"
#include "tt_test.h"

static tt_schema *fleet(void) {
  tt_schema *s = NULL;
  tt_error e;
  const char *y = tt_project_example_schema();
  if (tt_schema_parse_string(y, strlen(y), "example", &s, &e) != TT_OK)
    tt_test_fail(__FILE__, __LINE__, "example schema: %s", e.msg);
  return s;
}

/* ---- record parser --------------------------------------------------- */

typedef struct {
  tt_schema *s;
  const tt_table_def *t;
  tt_record_parser *p;
  tt_batch *b;
  tt_reject rej;
} fx;

static void fx_init(fx *f, const char *table, size_t max) {
  tt_error e;
  f->s = fleet();
  f->t = tt_schema_table(f->s, table);
  CHECK(f->t);
  CHECK_OK(tt_record_parser_new(f->t, max, &f->p, &e));
  f->b = tt_lake_batch_new(f->t, 16);
  CHECK(f->b);
}

static void fx_done(fx *f) {
  tt_batch_destroy(f->b);
  tt_record_parser_destroy(f->p);
  tt_schema_destroy(f->s);
}

static int csv(fx *f, const char *line) {
  memset(&f->rej, 0, sizeof f->rej);
  return tt_record_parse_csv(f->p, line, strlen(line), f->b, &f->rej);
}
static int json(fx *f, const char *line) {
  memset(&f->rej, 0, sizeof f->rej);
  return tt_record_parse_json(f->p, line, strlen(line), f->b, &f->rej);
}

#define REJECTS(call, why, fieldname)                                                    \
  do {                                                                                      \
    size_t before_ = f.b->nrows;                                                            \
    CHECK_EQ_INT(call, 1);                                                                  \
    CHECK_EQ_STR(tt_reject_name(f.rej.reason), tt_reject_name(why));                     \
    CHECK_EQ_STR(f.rej.field, fieldname);                                                   \
    CHECK_EQ_INT(f.b->nrows, before_);                                                      \
  } while (0)

TT_TEST(csv_records_valid_and_every_reject_reason) {
  fx f;
  fx_init(&f, "dtc", 1024);
  tt_csv_dialect d = {',', 1};
  tt_record_parser_set_dialect(f.p, &d);
  tt_reject hr;
  CHECK_EQ_INT(tt_record_parser_csv_header(f.p, "ts,vehicle_id,code,severity", 27, &hr), 0);
  CHECK_EQ_INT(csv(&f, "2026-01-01T10:00:00Z,V1,P0300,2"), 0);
  CHECK_EQ_INT(f.b->nrows, 1);
  CHECK_EQ_STR(f.b->cols[0].v.str[0], "V1");
  CHECK_EQ_INT(f.b->cols[1].v.i64[0], INT64_C(1767261600000000));
  CHECK_EQ_INT(f.b->cols[3].v.i64[0], 2);
  /* Quoted fields, epoch milliseconds, empty optional field = null. */
  CHECK_EQ_INT(csv(&f, "1767261600000,\"V,2\",\"P0\"\"1\","), 0);
  CHECK_EQ_STR(f.b->cols[0].v.str[1], "V,2");
  CHECK_EQ_STR(f.b->cols[2].v.str[1], "P0\"1");
  CHECK_EQ_INT(f.b->cols[3].valid[1], 0);
  REJECTS(csv(&f, "2026-01-01T10:00:00Z,\"V1,P0300,2"), TT_REJECT_PARSE, "");
  REJECTS(csv(&f, "2026-01-01T10:00:00Z,V\"1\",P0300,2"), TT_REJECT_PARSE, "");
  /* The parser recovers after a quoting error. */
  CHECK_EQ_INT(csv(&f, "2026-01-01T10:00:00Z,V3,P1,0"), 0);
  REJECTS(csv(&f, "yesterday,V1,P0300,2"), TT_REJECT_WRONG_TYPE, "ts");
  REJECTS(csv(&f, "2026-01-01,V1,P0300,two"), TT_REJECT_WRONG_TYPE, "severity");
  REJECTS(csv(&f, "2026-01-01,V1,P0300,2.5"), TT_REJECT_WRONG_TYPE, "severity");
  REJECTS(csv(&f, "2026-01-01,V1,P0300,9"), TT_REJECT_OUT_OF_RANGE, "severity");
  REJECTS(csv(&f, "2026-01-01,V1,P0300,99999999999999999999"), TT_REJECT_OUT_OF_RANGE, "severity");
  REJECTS(csv(&f, "2026-01-01,,P0300,1"), TT_REJECT_MISSING_REQUIRED, "vehicle_id");
  REJECTS(csv(&f, "2026-01-01,V1,  ,1"), TT_REJECT_MISSING_REQUIRED, "code");
  REJECTS(csv(&f, "2026-01-01,V1,P0300"), TT_REJECT_FIELD_COUNT, "");
  REJECTS(csv(&f, "2026-01-01,V1,P0300,1,extra"), TT_REJECT_FIELD_COUNT, "");
  REJECTS(csv(&f, "2026-01-01,V\xff,P0300,1"), TT_REJECT_INVALID_UTF8, "");
  REJECTS(csv(&f, "2026-01-01,V\xc0\xaf,P0300,1"), TT_REJECT_INVALID_UTF8, ""); /* overlong */
  REJECTS(csv(&f, "2026-01-01,V\xed\xa0\x80,P0300,1"), TT_REJECT_INVALID_UTF8, ""); /* surrogate */
  CHECK_EQ_INT(csv(&f, "2026-01-01,Vé€😀,P0300,1"), 0);
  char big[2000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  REJECTS(csv(&f, big), TT_REJECT_TOO_LONG, "");
  /* Unknown header column: every record of the file is rejected with it. */
  CHECK_EQ_INT(tt_record_parser_csv_header(f.p, "ts,vehicle_id,code,colour", 25, &hr), 1);
  CHECK_EQ_STR(tt_reject_name(hr.reason), "unknown_column");
  REJECTS(csv(&f, "2026-01-01,V1,P0300,red"), TT_REJECT_UNKNOWN_COLUMN, "colour");
  CHECK_EQ_INT(tt_record_parser_csv_header(f.p, "ts,vehicle_id,ts", 16, &hr), 1);
  CHECK_EQ_STR(tt_reject_name(hr.reason), "parse");
  fx_done(&f);
}

TT_TEST(csv_dialects_without_header_use_schema_order) {
  fx f;
  fx_init(&f, "dtc", 1024);
  tt_csv_dialect semi = {';', 0}, tab = {'\t', 0}, ws = {' ', 0};
  tt_record_parser_set_dialect(f.p, &semi);
  CHECK_EQ_INT(csv(&f, "V1;2026-01-01 10:00:00;P1;1"), 0);
  tt_record_parser_set_dialect(f.p, &tab);
  CHECK_EQ_INT(csv(&f, "V2\t1767261600\tP2\t"), 0);
  tt_record_parser_set_dialect(f.p, &ws);
  CHECK_EQ_INT(csv(&f, "  V3   2026-01-01T10:00:00+01:00 \t P3   3  "), 0);
  CHECK_EQ_INT(f.b->nrows, 3);
  CHECK_EQ_STR(f.b->cols[0].v.str[2], "V3");
  CHECK_EQ_INT(f.b->cols[1].v.i64[2], INT64_C(1767258000000000));
  CHECK_EQ_INT(f.b->cols[3].v.i64[2], 3);
  fx_done(&f);
}

TT_TEST(json_records_valid_and_every_reject_reason) {
  fx f;
  fx_init(&f, "telemetry", 4096);
  CHECK_EQ_INT(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1767261600,\"speed_kmh\":50.5,"
                        "\"engine_running\":true,\"fuel_level_pct\":null}"), 0);
  CHECK_EQ_INT(f.b->cols[1].v.i64[0], INT64_C(1767261600000000));
  int sp = tt_batch_column(f.b, "speed_kmh"), er = tt_batch_column(f.b, "engine_running");
  CHECK_NEAR(f.b->cols[sp].v.f64[0], 50.5, 0);
  CHECK_EQ_INT(f.b->cols[er].v.b[0], 1);
  CHECK_EQ_INT(json(&f, "  {\"ts\":\"2026-01-01T10:00:00.123Z\",\"vehicle_id\":\"V\\u00e9\"}  "), 0);
  CHECK_EQ_STR(f.b->cols[0].v.str[1], "V\xc3\xa9");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1767261600"), TT_REJECT_PARSE, "");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\" \"ts\":1}"), TT_REJECT_PARSE, "");
  REJECTS(json(&f, "[1,2]"), TT_REJECT_PARSE, "");
  REJECTS(json(&f, "\"str\""), TT_REJECT_PARSE, "");
  REJECTS(json(&f, ""), TT_REJECT_PARSE, "");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1} {}"), TT_REJECT_PARSE, "");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"vehicle_id\":\"V2\",\"ts\":1}"), TT_REJECT_PARSE, "vehicle_id");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"colour\":\"red\"}"), TT_REJECT_UNKNOWN_COLUMN, "colour");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":\"fast\"}"), TT_REJECT_WRONG_TYPE, "speed_kmh");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":\"50\"}"), TT_REJECT_WRONG_TYPE, "speed_kmh");
  REJECTS(json(&f, "{\"vehicle_id\":7,\"ts\":1}"), TT_REJECT_WRONG_TYPE, "vehicle_id");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":true}"), TT_REJECT_WRONG_TYPE, "ts");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"engine_running\":1}"), TT_REJECT_WRONG_TYPE, "engine_running");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":{\"v\":1}}"), TT_REJECT_WRONG_TYPE, "speed_kmh");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":[1]}"), TT_REJECT_WRONG_TYPE, "speed_kmh");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":251}"), TT_REJECT_OUT_OF_RANGE, "speed_kmh");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":-0.5}"), TT_REJECT_OUT_OF_RANGE, "speed_kmh");
  REJECTS(json(&f, "{\"vehicle_id\":\"V1\",\"ts\":1,\"speed_kmh\":1e400}"), TT_REJECT_WRONG_TYPE, "speed_kmh");
  REJECTS(json(&f, "{\"ts\":1}"), TT_REJECT_MISSING_REQUIRED, "vehicle_id");
  REJECTS(json(&f, "{\"vehicle_id\":null,\"ts\":1}"), TT_REJECT_MISSING_REQUIRED, "vehicle_id");
  REJECTS(json(&f, "{\"vehicle_id\":\"V\xff\",\"ts\":1}"), TT_REJECT_INVALID_UTF8, "");
  const char nul[] = "{\"vehicle_id\":\"V\0\",\"ts\":1}";
  memset(&f.rej, 0, sizeof f.rej);
  CHECK_EQ_INT(tt_record_parse_json(f.p, nul, sizeof nul - 1, f.b, &f.rej), 1);
  CHECK_EQ_STR(tt_reject_name(f.rej.reason), "invalid_utf8");
  CHECK_EQ_INT(f.b->nrows, 2);
  fx_done(&f);
}

TT_TEST(fast_decimal_path_equals_strtod) {
  fx f;
  fx_init(&f, "telemetry", 4096);
  tt_csv_dialect d = {',', 0};
  tt_record_parser_set_dialect(f.p, &d);
  int col = tt_batch_column(f.b, "odometer_km");
  static const char *vals[] = {"0", "0.1", "123456.789", "4999999.99999", "1.5e3",
                               "000012.5000", "3.14159265358979", ".5", "7.", "+8.25"};
  unsigned seed = 12345;
  for (int i = 0; i < 2000; i++) {
    char v[64], line[256];
    if (i < 10) {
      snprintf(v, sizeof v, "%s", vals[i]);
    } else {
      seed = seed * 1103515245 + 12345;
      snprintf(v, sizeof v, "%.*f", (int)(seed >> 28) % 9, (double)(seed % 5000000) + (seed % 997) / 997.0);
    }
    snprintf(line, sizeof line, "V1,2026-01-01,%s,,,,,,,,,,,,,,", v);
    tt_batch_reset(f.b);
    CHECK_EQ_INT(csv(&f, line), 0);
    double want = strtod(v, NULL);
    CHECK_MSG(f.b->cols[col].v.f64[0] == want, "%s: %.17g != %.17g", v, f.b->cols[col].v.f64[0], want);
  }
  fx_done(&f);
}

TT_TEST(sniff_dialects_and_headers) {
  tt_schema *s = fleet();
  const tt_table_def *t = tt_schema_table(s, "dtc");
  tt_csv_dialect d;
  const char *a = "vehicle_id,ts,code,severity\nV1,2026-01-01,P1,1\n";
  tt_csv_sniff(a, strlen(a), t, &d);
  CHECK(d.delim == ',' && d.header);
  const char *b = "V1;2026-01-01;\"P1;x\";1\nV2;2026-01-02;P2;\n";
  tt_csv_sniff(b, strlen(b), t, &d);
  CHECK(d.delim == ';' && !d.header);
  const char *c = "vehicle_id\tts\tcode\tseverity\r\nV1\t2026-01-01\tP1\t1\r\n";
  tt_csv_sniff(c, strlen(c), t, &d);
  CHECK(d.delim == '\t' && d.header);
  const char *w = "V1  2026-01-01  P1 1\nV2 2026-01-02   P2  2\n";
  tt_csv_sniff(w, strlen(w), t, &d);
  CHECK(d.delim == ' ' && !d.header);
  const char *n = "a,b\n1,2\n";
  tt_csv_sniff(n, strlen(n), NULL, &d);
  CHECK(d.delim == ',' && d.header);
  tt_csv_sniff("", 0, t, &d);
  CHECK(d.delim == ',' && !d.header);
  char name[64];
  CHECK_EQ_STR(tt_ingest_table_from_filename("/x/telemetry-2026-01-01.csv", name, sizeof name), "telemetry");
  CHECK_EQ_STR(tt_ingest_table_from_filename("dtc.csv", name, sizeof name), "dtc");
  CHECK_EQ_STR(tt_ingest_table_from_filename("maintenance_2.jsonl", name, sizeof name), "maintenance");
  tt_schema_destroy(s);
}

/* ---- file ingest ------------------------------------------------------ */

static tt_ingest_stats ingest(tt_schema *s, const char *table, size_t chunk, size_t max,
                              tt_err want, const char *p1, const char *p2) {
  tt_lake *lake;
  tt_error e;
  tt_error_clear(&e);
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  tt_ingest_options o = {.table = table, .schema = s, .chunk_bytes = chunk, .threads = 2,
                         .max_record_bytes = max};
  const char *paths[] = {p1, p2};
  tt_ingest_stats st;
  tt_err rc = tt_ingest_paths(lake, paths, p2 ? 2 : 1, &o, &st, &e);
  if (rc != want) tt_test_fail(__FILE__, __LINE__, "ingest: %d (%s), want %d", rc, e.msg, want);
  tt_lake_close(lake);
  CHECK_EQ_INT(st.read, st.written + st.deadlettered);
  uint64_t sum = 0;
  for (int i = 0; i < TT_REJECT_COUNT; i++) sum += st.by_reason[i];
  CHECK_EQ_INT(sum, st.deadlettered);
  return st;
}

static int64_t q(const char *sql) {
  tt_lake *lake;
  tt_error e;
  CHECK_OK(tt_lake_open("lake", 0, &lake, &e));
  int64_t v = -1;
  if (tt_lake_query_int(lake, sql, &v, &e) != TT_OK) tt_test_fail(__FILE__, __LINE__, "%s: %s", sql, e.msg);
  tt_lake_close(lake);
  return v;
}

TT_TEST(bad_inputs_are_dead_lettered_with_reason_and_line) {
  tt_schema *s = fleet();
  tt_test_write_file("in/dtc-bad.csv",
                     "vehicle_id,ts,code,severity\n"                   /* 1 header */
                     "V1,2026-01-01T00:00:00Z,P1,1\n"                  /* 2 ok */
                     "V1,\"2026-01-01T00:00:00Z,P1,1\n"                /* 3 quoting */
                     "V1,2026-01-01T00:00:00Z,P1,high\n"               /* 4 wrong type */
                     "V1,2026-01-01T00:00:00Z,P1,7\n"                  /* 5 out of range */
                     "V1,2026-01-01T00:00:00Z,,1\n"                    /* 6 missing */
                     "\n"                                              /* 7 blank: no record */
                     "V\xfe,2026-01-01T00:00:00Z,P1,1\n"               /* 8 utf-8 */
                     "V1,2026-01-01T00:00:00Z,P1\n"                    /* 9 field count */
                     "V2,2026-01-02T00:00:00Z,P2,0\r\n"                /* 10 ok, CRLF */
                     "V3,2026-01-03T00:00:00Z,P3,0");                  /* 11 ok, no final \n */
  tt_test_write_file("in/telemetry.jsonl",
                     "{\"vehicle_id\":\"V1\",\"ts\":\"2026-01-01T00:00:00Z\",\"speed_kmh\":3}\n"
                     "{\"vehicle_id\":\"V1\",\"ts\":\"2026-01-01T00:00:00Z\",\"speed_kmh\":3\n"
                     "{\"vehicle_id\":\"V1\",\"ts\":\"2026-01-01T00:01:00Z\",\"wheels\":4}\n");
  tt_test_write_file("in/empty/maintenance.csv", "");
  tt_test_write_file("in/simulation.json", "{\"not\":\"a table\"}\n"); /* a manifest */
  tt_ingest_stats st = ingest(s, NULL, 0, 0, TT_OK, "in", NULL);
  CHECK_EQ_INT(st.files, 3);
  CHECK_EQ_INT(st.files_skipped, 1);
  CHECK_EQ_INT(st.read, 9 + 3);
  CHECK_EQ_INT(st.written, 3 + 1);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_PARSE], 2);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_WRONG_TYPE], 1);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_OUT_OF_RANGE], 1);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_MISSING_REQUIRED], 1);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_INVALID_UTF8], 1);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_FIELD_COUNT], 1);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_UNKNOWN_COLUMN], 1);
  CHECK_EQ_INT(q("SELECT count(*) FROM dtc"), 3);
  CHECK_EQ_INT(q("SELECT count(*) FROM telemetry"), 1);
  CHECK_EQ_INT(q("SELECT count(*) FROM _deadletter"), 8);
  CHECK_EQ_INT(q("SELECT line FROM _deadletter WHERE reason = 'wrong_type'"), 4);
  CHECK_EQ_INT(q("SELECT line FROM _deadletter WHERE reason = 'invalid_utf8'"), 8);
  CHECK_EQ_INT(q("SELECT line FROM _deadletter WHERE reason = 'unknown_column' AND field = 'wheels' "
                 "AND table_name = 'telemetry' AND source = 'in/telemetry.jsonl'"), 3);
  CHECK_EQ_INT(q("SELECT count(*) FROM _deadletter WHERE raw = 'V1,2026-01-01T00:00:00Z,P1,high'"), 1);
  /* The invalid byte is made storable, the rest of the raw record kept. */
  CHECK_EQ_INT(q("SELECT count(*) FROM _deadletter WHERE raw = 'V?,2026-01-01T00:00:00Z,P1,1'"), 1);
  tt_schema_destroy(s);
}

TT_TEST(ten_megabyte_line_is_dead_lettered) {
  tt_schema *s = fleet();
  FILE *f = fopen("dtc.csv", "w");
  fputs("V1,2026-01-01T00:00:00Z,P1,1\nV1,2026-01-01T00:00:00Z,", f);
  for (int i = 0; i < 10 * 1024; i++) {
    char k[1024];
    memset(k, 'A' + i % 26, sizeof k);
    fwrite(k, 1, sizeof k, f);
  }
  fputs(",1\nV2,2026-01-01T00:00:00Z,P2,2\n", f);
  fclose(f);
  tt_ingest_stats st = ingest(s, NULL, 0, 0, TT_OK, "dtc.csv", NULL);
  CHECK_EQ_INT(st.read, 3);
  CHECK_EQ_INT(st.written, 2);
  CHECK_EQ_INT(st.by_reason[TT_REJECT_TOO_LONG], 1);
  CHECK_EQ_INT(q("SELECT line FROM _deadletter WHERE reason = 'too_long'"), 2);
  /* The stored raw record is cut at ingest.max_record_bytes (1 MiB). */
  CHECK_EQ_INT(q("SELECT length(raw) FROM _deadletter"), 1048576);
  tt_schema_destroy(s);
}

TT_TEST(dialect_files_and_jsonl_end_to_end) {
  tt_schema *s = fleet();
  tt_test_write_file("a/dtc-semicolon.csv", "V1;2026-01-01T00:00:00Z;P1;1\nV2;2026-01-02T00:00:00Z;P2;\n");
  tt_test_write_file("a/dtc-tab.tsv", "vehicle_id\tts\tcode\tseverity\nV3\t1767225600\tP3\t2\n");
  tt_test_write_file("a/dtc-ws.txt", "V4   1767225600000   P4  3\nV5 1767225600000000 P5 0\n");
  tt_test_write_file("a/dtc.jsonl", "{\"vehicle_id\":\"V6\",\"ts\":1767225600.5,\"code\":\"P6\"}\n");
  tt_ingest_stats st = ingest(s, NULL, 0, 0, TT_OK, "a", NULL);
  CHECK_EQ_INT(st.read, 6);
  CHECK_EQ_INT(st.written, 6);
  CHECK_EQ_INT(q("SELECT count(DISTINCT vehicle_id) FROM dtc"), 6);
  CHECK_EQ_INT(q("SELECT count(*) FROM dtc WHERE ts = TIMESTAMP '2026-01-01 00:00:00'"), 4);
  CHECK_EQ_INT(q("SELECT sum(severity) FROM dtc"), 6);
  tt_schema_destroy(s);
}

TT_TEST(chunks_line_numbers_and_idempotent_reingest) {
  tt_schema *s = fleet();
  FILE *f = fopen("telemetry-big.csv", "w");
  fputs("vehicle_id,ts,speed_kmh\n", f);
  int bad = 0;
  for (int i = 0; i < 20000; i++) {
    if (i % 997 == 0) {
      fprintf(f, "V%d,2026-01-01T00:00:00Z,oops%d\n", i, i); /* line i + 2 */
      bad++;
    } else {
      fprintf(f, "V%d,%lld,%d\n", i % 50, 1767225600LL + i * 30, i % 200);
    }
  }
  fclose(f);
  /* Tiny chunks: many parts, both threads, lines counted across chunks. */
  tt_ingest_stats st = ingest(s, NULL, 16384, 0, TT_OK, "telemetry-big.csv", NULL);
  CHECK(st.chunks > 20);
  CHECK_EQ_INT(st.read, 20000);
  CHECK_EQ_INT(st.deadlettered, bad);
  CHECK_EQ_INT(q("SELECT count(*) FROM telemetry"), 20000 - bad);
  CHECK_EQ_INT(q("SELECT count(*) FROM _deadletter WHERE line - 2 = CAST(substr(raw, 2, "
                 "strpos(raw, ',') - 2) AS BIGINT)"), bad);
  CHECK_EQ_INT(q("SELECT count(*) FROM (SELECT vehicle_id, ts FROM telemetry GROUP BY ALL HAVING count(*) > 1)"), 0);
  /* Again, even with another chunk size: nothing changes. */
  tt_ingest_stats again = ingest(s, NULL, 1 << 20, 0, TT_OK, "telemetry-big.csv", NULL);
  CHECK_EQ_INT(again.chunks, 0);
  CHECK_EQ_INT(again.chunks_skipped, st.chunks);
  CHECK_EQ_INT(again.read, 20000);
  CHECK_EQ_INT(again.skipped, 20000);
  CHECK_EQ_INT(q("SELECT count(*) FROM telemetry"), 20000 - bad);
  CHECK_EQ_INT(q("SELECT count(*) FROM _deadletter"), bad);
  /* A changed file is a new input. */
  f = fopen("telemetry-big.csv", "a");
  fputs("V1,2026-02-01T00:00:00Z,1\n", f);
  fclose(f);
  (void)ingest(s, NULL, 16384, 0, TT_OK, "telemetry-big.csv", NULL);
  CHECK_EQ_INT(q("SELECT count(*) FROM telemetry"), 2 * (20000 - bad) + 1);
  tt_schema_destroy(s);
}

TT_TEST(unreadable_and_unknown_inputs_fail_but_others_are_ingested) {
  tt_schema *s = fleet();
  tt_test_write_file("dtc.csv", "V1,2026-01-01T00:00:00Z,P1,1\n");
  tt_ingest_stats st = ingest(s, NULL, 0, 0, TT_NOTFOUND, "missing.csv", "dtc.csv");
  CHECK_EQ_INT(st.files_failed, 1);
  CHECK_EQ_INT(st.written, 1);
  tt_test_write_file("wheels.csv", "x\n");
  st = ingest(s, NULL, 0, 0, TT_SCHEMA, "wheels.csv", NULL);
  CHECK_EQ_INT(st.files_failed, 1);
  tt_schema_destroy(s);
}

/* ---- CLI ---------------------------------------------------------------- */

static void project(void) {
  CHECK_EQ_INT(tt_test_sh("%s init p >/dev/null 2>&1", tt_test_cli()), 0);
}

static char *cli(int *st, const char *args) {
  return tt_test_sh_out(st, "cd p && %s --log-level error ingest --no-progress --schema schemas/fleet.yaml %s", tt_test_cli(), args);
}

TT_TEST(cli_ingest_summary_stdin_and_exit_codes) {
  project();
  tt_test_write_file("p/dtc.csv", "V1,2026-01-01T00:00:00Z,P1,1\nV1,2026-01-01T00:00:00Z,P1,x\n");
  int st;
  char *out = cli(&st, "--output json dtc.csv");
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(out, "\"read\":2,\"written\":1,\"deadlettered\":1");
  CHECK_STR_CONTAINS(out, "\"wrong_type\":1");
  free(out);
  /* A spool file of a killed run (no such process) is cleaned up. */
  tt_test_write_file("p/lake/_ingest/spool/stdin-999999999.tmp", "partial");
  /* stdin twice: the content is the identity, so once in the lake. */
  for (int i = 0; i < 2; i++) {
    out = cli(&st, "--table dtc - < dtc.csv");
    CHECK_EQ_INT(st, 0);
    free(out);
  }
  out = tt_test_sh_out(&st, "cd p && %s lake query --output csv 'SELECT count(*) AS n FROM dtc'", tt_test_cli());
  CHECK_STR_CONTAINS(out, "n\n2\n");
  free(out);
  CHECK(tt_test_sh("test -e p/lake/_ingest/spool/stdin-999999999.tmp") != 0);
  CHECK_EQ_INT(tt_test_sh("ls p/lake/_ingest/spool | wc -l | grep -qx 0"), 0);
  out = cli(&st, "- < dtc.csv 2>&1");
  CHECK_EQ_INT(st, 64);
  CHECK_STR_CONTAINS(out, "needs --table");
  free(out);
  out = cli(&st, "nothere.csv 2>&1");
  CHECK_EQ_INT(st, 66);
  CHECK_STR_CONTAINS(out, "nothere.csv");
  free(out);
  CHECK_EQ_INT(tt_test_sh("%s ingest --help | grep -q 'max_record_bytes'", tt_test_cli()), 0);
}

/* kill -9 at random moments, then re-run to completion: every record in the
 * lake exactly once. */
TT_TEST_TIMEOUT(crash_kill9_then_rerun_exactly_once, 600) {
  project();
  FILE *f = fopen("p/telemetry.csv", "w");
  fputs("vehicle_id,ts,speed_kmh,odometer_km\n", f);
  const int n = 120000;
  int bad = 0;
  for (int i = 0; i < n; i++) {
    if (i % 1000 == 7) {
      fprintf(f, "V%d,2026-01-01T00:00:00Z,-5,0\n", i % 100);
      bad++;
    } else {
      fprintf(f, "V%03d,%lld,%d,%d\n", i % 100, 1767225600LL + (i / 100) * 600, i % 250, i);
    }
  }
  fclose(f);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  int kills = 0, partial = 0;
  /* Until 5 runs were killed, one of them after some chunks were done and
   * before all were (re-runs skip finished chunks, so later runs are
   * shorter and some finish before their kill). */
  for (int round = 0; round < 60 && (kills < 5 || !partial); round++) {
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir("p") != 0) _exit(127);
      int devnull = open("/dev/null", 1);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(tt_test_cli(), "telltale", "--set", "ingest.chunk_bytes=65536", "ingest",
            "--no-progress", "--schema", "schemas/fleet.yaml", "telemetry.csv", (char *)NULL);
      _exit(127);
    }
    /* Random moment: from right at start to well into the run; the window
     * grows while no kill has caught a run midway (sanitizer builds are
     * several times slower). */
    usleep((useconds_t)(rand() % (250000 * (1 + (partial ? 0 : round / 4)))));
    int status;
    int killed = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      kills++;
      killed = 1;
    }
    waitpid(pid, &status, 0);
    if (killed && !partial) {
      char *m = tt_test_sh_out(NULL, "find p/lake/_ingest/done -name '*.done' 2>/dev/null | wc -l");
      int done = atoi(m);
      free(m);
      /* 4.5 MB in 64 KiB chunks: about 70 chunks in all. */
      if (done > 0 && done < 60) partial = done;
    }
  }
  fprintf(stderr, "crash test: %d runs killed with SIGKILL, one with %d chunks done\n", kills,
          partial);
  CHECK(kills > 0 && partial > 0);
  int st;
  char *out = cli(&st, "--output json telemetry.csv");
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(out, "\"read\":120000");
  free(out);
  char *res = tt_test_sh_out(&st,
      "cd p && %s lake query --output csv \"SELECT (SELECT count(*) FROM telemetry) || ' ' || "
      "(SELECT count(*) FROM (SELECT DISTINCT vehicle_id, ts, odometer_km FROM telemetry)) || ' ' || "
      "(SELECT count(*) FROM _deadletter) AS r\"", tt_test_cli());
  char want[64];
  snprintf(want, sizeof want, "r\n%d %d %d\n", n - bad, n - bad, bad);
  CHECK_MSG(res && !strcmp(res, want), "after %d kills: got %s want %s", kills, res ? res : "?", want);
  free(res);
  /* No temporary file is visible to readers (they end in .tmp, not .parquet). */
  CHECK_EQ_INT(tt_test_sh("cd p && ! find lake -name '*.parquet' | grep -q tmp"), 0);
}

/* Without --schema, the latest registered schema that has the table. */
TT_TEST(cli_schema_from_registry) {
  project();
  tt_registry *reg;
  tt_error e;
  tt_error_clear(&e);
  CHECK_OK(tt_registry_open("sqlite:telltale.db", "p", &reg, &e));
  tt_schema *s = fleet();
  int created = 0;
  CHECK_OK(tt_registry_schema_register(reg, s, 0, &created, NULL, &e));
  CHECK_EQ_INT(created, 1);
  tt_registry_close(reg);
  tt_schema_destroy(s);
  tt_test_write_file("p/dtc.csv", "V1,2026-01-01T00:00:00Z,P1,1\n");
  int st;
  char *out = tt_test_sh_out(&st, "cd p && %s ingest --no-progress --output json dtc.csv", tt_test_cli());
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(out, "\"written\":1");
  free(out);
  /* A table no registered schema has. */
  tt_test_write_file("p/wheels.csv", "x\n");
  out = tt_test_sh_out(&st, "cd p && %s ingest --no-progress --table wheels wheels.csv 2>&1", tt_test_cli());
  CHECK(st != 0);
  CHECK_STR_CONTAINS(out, "no registered schema has table 'wheels'");
  free(out);
}
