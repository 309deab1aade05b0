/* Core: errors, time, configuration, batches, CLI basics. */
#include <stdint.h>
#include <unistd.h>

#include "telltale/batch.h"
#include "telltale/config.h"
#include "telltale/error.h"
#include "telltale/time.h"
#include "tt_test.h"

TT_TEST(error_strings_and_context) {
  CHECK_EQ_STR(tt_strerror(TT_OK), "success");
  CHECK_EQ_STR(tt_err_name(TT_PARSE), "PARSE");
  tt_error e;
  tt_error_clear(&e);
  tt_error_set(&e, TT_PARSE, "bad value '%s'", "x");
  tt_error_at(&e, "data.csv", 12, "speed_kmh");
  char buf[256];
  CHECK_EQ_STR(tt_error_format(&e, buf, sizeof buf), "data.csv:12: field 'speed_kmh': bad value 'x'");
  CHECK_EQ_INT(tt_error_set(NULL, TT_IO, "ignored"), TT_IO);
}

static tt_time parse(const char *s) {
  tt_time t = INT64_MIN;
  if (tt_time_parse(s, strlen(s), &t) != 0) return INT64_MIN;
  return t;
}

TT_TEST(time_parse_iso_and_epoch) {
  CHECK_EQ_INT(parse("1970-01-01T00:00:00Z"), 0);
  CHECK_EQ_INT(parse("2026-11-24T10:00:00Z"), INT64_C(1795514400) * 1000000);
  CHECK_EQ_INT(parse("2026-11-24 10:00:00"), INT64_C(1795514400) * 1000000);
  CHECK_EQ_INT(parse("2026-11-24T11:00:00+01:00"), INT64_C(1795514400) * 1000000);
  CHECK_EQ_INT(parse("2026-11-24T10:00:00.5Z"), INT64_C(1795514400500000));
  CHECK_EQ_INT(parse("2026-11-24"), INT64_C(1795478400) * 1000000);
  CHECK_EQ_INT(parse("1795514400"), INT64_C(1795514400) * 1000000);       /* seconds */
  CHECK_EQ_INT(parse("1795514400000"), INT64_C(1795514400) * 1000000);    /* ms */
  CHECK_EQ_INT(parse("1795514400000000"), INT64_C(1795514400) * 1000000); /* us */
  CHECK_EQ_INT(parse("1795514400.25"), INT64_C(1795514400250000));
  CHECK_EQ_INT(parse("1960-01-01T00:00:00Z"), INT64_C(-315619200) * 1000000);
  CHECK_EQ_INT(parse("2026-02-30"), INT64_MIN);
  CHECK_EQ_INT(parse("2026-13-01"), INT64_MIN);
  CHECK_EQ_INT(parse("yesterday"), INT64_MIN);
  CHECK_EQ_INT(parse(""), INT64_MIN);
  CHECK_EQ_INT(parse("2026-11-24T25:00:00Z"), INT64_MIN);
}

TT_TEST(time_format_roundtrip) {
  char buf[40];
  CHECK_EQ_STR(tt_time_format(INT64_C(1795514400) * 1000000, buf, sizeof buf), "2026-11-24T10:00:00Z");
  CHECK_EQ_STR(tt_time_format(-1, buf, sizeof buf), "1969-12-31T23:59:59.999999Z");
  CHECK_EQ_STR(tt_time_format_date(-1, buf, sizeof buf), "1969-12-31");
  /* Every day from 1900 to 2100 round-trips through the civil conversion. */
  for (int64_t d = -25567; d < 47482; d++) {
    int64_t y;
    unsigned m, dd;
    tt_time_to_civil(d, &y, &m, &dd);
    CHECK_EQ_INT(tt_time_from_civil(y, m, dd), d * TT_USEC_PER_DAY);
  }
  int64_t us;
  CHECK(tt_duration_parse("90s", &us) == 0 && us == 90 * TT_USEC_PER_SEC);
  CHECK(tt_duration_parse("7d", &us) == 0 && us == 7 * TT_USEC_PER_DAY);
  CHECK(tt_duration_parse("1.5h", &us) == 0 && us == 90 * TT_USEC_PER_MIN);
  CHECK(tt_duration_parse("5 parsecs", &us) != 0);
  CHECK(tt_duration_parse("-1s", &us) != 0);
}

TT_TEST(config_precedence) {
  tt_test_write_file("p/telltale.yaml", "lake: mylake\nkafka:\n  brokers: k1:9092\nlog: {level: warn}\n");
  setenv("TELLTALE_KAFKA_BROKERS", "env:9092", 1);
  tt_config *cfg;
  tt_error e;
  CHECK_OK(tt_config_load(&cfg, "p", &e));
  CHECK_EQ_STR(tt_config_get(cfg, "lake"), "mylake");
  CHECK_EQ_INT(tt_config_get_source(cfg, "lake"), TT_CONFIG_FILE);
  CHECK_EQ_STR(tt_config_get(cfg, "kafka.brokers"), "env:9092");
  CHECK_EQ_INT(tt_config_get_source(cfg, "kafka.brokers"), TT_CONFIG_ENV);
  CHECK_EQ_STR(tt_config_get(cfg, "log.level"), "warn");
  CHECK_EQ_STR(tt_config_get(cfg, "registry"), "sqlite:telltale.db");
  char *lake = tt_config_get_path(cfg, "lake");
  CHECK_EQ_STR(lake, "p/mylake");
  free(lake);
  CHECK_OK(tt_config_set(cfg, "lake", "/abs", TT_CONFIG_FLAG, &e));
  lake = tt_config_get_path(cfg, "lake");
  CHECK_EQ_STR(lake, "/abs");
  free(lake);
  CHECK(tt_config_set(cfg, "ingest.threads", "many", TT_CONFIG_FLAG, &e) == TT_CONFIG);
  CHECK(tt_config_set(cfg, "log.format", "xml", TT_CONFIG_FLAG, &e) == TT_CONFIG);
  CHECK(tt_config_set(cfg, "no.such.key", "1", TT_CONFIG_FLAG, &e) == TT_CONFIG);
  CHECK_EQ_STR(e.field, "no.such.key");
  tt_config_destroy(cfg);
}

TT_TEST(config_errors_name_file_line_key) {
  tt_test_write_file("p/telltale.yaml", "lake: x\ningest:\n  threads: lots\n");
  unsetenv("TELLTALE_KAFKA_BROKERS");
  tt_config *cfg;
  tt_error e;
  tt_error_clear(&e);
  CHECK(tt_config_load(&cfg, "p", &e) == TT_CONFIG);
  CHECK_EQ_STR(e.file, "p/telltale.yaml");
  CHECK_EQ_INT(e.line, 3);
  CHECK_EQ_STR(e.field, "ingest.threads");
  tt_test_write_file("p/telltale.yaml", "lake: [unterminated\n");
  CHECK(tt_config_load(&cfg, "p", &e) == TT_CONFIG);
  CHECK_STR_CONTAINS(e.msg, "YAML");
}

TT_TEST(batch_rows_and_strings) {
  const char *names[] = {"vehicle_id", "ts", "v"};
  tt_type types[] = {TT_TYPE_STRING, TT_TYPE_TIMESTAMP, TT_TYPE_DOUBLE};
  tt_batch *b = tt_batch_new(3, names, types, 2);
  CHECK(b);
  size_t r = tt_batch_add_row(b);
  CHECK_EQ_INT(r, 0);
  CHECK_OK(tt_batch_set_string(b, 0, r, "V0001xyz", 5));
  tt_batch_set_int64(b, 1, r, 42);
  CHECK_EQ_STR(b->cols[0].v.str[0], "V0001");
  CHECK_EQ_INT(b->cols[2].valid[0], 0);
  CHECK_EQ_INT(tt_batch_add_row(b), 1);
  CHECK_EQ_INT(tt_batch_add_row(b), (size_t)-1);
  CHECK_EQ_INT(tt_batch_column(b, "v"), 2);
  tt_batch_reset(b);
  CHECK_EQ_INT(b->nrows, 0);
  tt_batch_destroy(b);
}

TT_TEST(cli_init_and_config_show) {
  CHECK_EQ_INT(tt_test_sh("%s init proj >/dev/null", tt_test_cli()), 0);
  CHECK(access("proj/telltale.yaml", F_OK) == 0);
  CHECK(access("proj/schemas/fleet.yaml", F_OK) == 0);
  int st;
  char *out = tt_test_sh_out(&st, "TELLTALE_LAKE=/data/lake %s -C proj --set log.level=debug config show", tt_test_cli());
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(out, "/data/lake");
  CHECK_STR_CONTAINS(out, "env");
  CHECK_STR_CONTAINS(out, "flag");
  free(out);
  out = tt_test_sh_out(&st, "%s -C proj config show --output json", tt_test_cli());
  CHECK_EQ_INT(st, 0);
  CHECK_STR_CONTAINS(out, "\"name\":\"registry\",\"value\":\"sqlite:telltale.db\",\"source\":\"file\"");
  free(out);
  CHECK_EQ_INT(tt_test_sh("%s nonsense 2>/dev/null", tt_test_cli()), 64);
  CHECK_EQ_INT(tt_test_sh("%s --set nokey=1 config show 2>/dev/null", tt_test_cli()), 78);
}

TT_TEST(config_doc_is_current) {
  /* docs/configuration.md is generated from the property table; a property
   * added without regenerating it fails here. */
  int st;
  char *out = tt_test_sh_out(&st, "%s config doc | diff - '%s/docs/configuration.md'",
                             tt_test_cli(), tt_test_source_dir());
  CHECK_MSG(st == 0, "docs/configuration.md is stale; run `telltale config doc > docs/configuration.md`:\n%s", out);
  free(out);
}

#include "telltale/hash.h"

TT_TEST(hash_sha256_and_shards) {
  char hex[65];
  tt_sha256_hex("abc", 3, hex);
  CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  tt_test_write_file("f.txt", "abc");
  tt_error e;
  CHECK_OK(tt_sha256_file("f.txt", hex, &e));
  CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(tt_sha256_file("missing.txt", hex, &e) == TT_IO);
  CHECK_EQ_STR(e.file, "missing.txt");
  /* FNV-1a 64 reference values. */
  CHECK(tt_hash64_str("") == UINT64_C(0xcbf29ce484222325));
  CHECK(tt_hash64_str("a") == UINT64_C(0xaf63dc4c8601ec8c));
  unsigned counts[4] = {0};
  char id[16];
  for (int v = 0; v < 4000; v++) {
    snprintf(id, sizeof id, "V%05d", v);
    counts[tt_shard_of(id, 4)]++;
  }
  for (int s = 0; s < 4; s++) CHECK_MSG(counts[s] > 800 && counts[s] < 1200, "shard %d has %u", s, counts[s]);
  unsigned i, n;
  CHECK(tt_shard_parse("2/4", &i, &n) == 0 && i == 2 && n == 4);
  CHECK(tt_shard_parse("4/4", &i, &n) != 0);
  CHECK(tt_shard_parse("1/0", &i, &n) != 0);
  CHECK(tt_shard_parse("x", &i, &n) != 0);
}

TT_TEST(every_command_is_in_the_man_page) {
  /* Each command of `telltale --help` has an entry (".B name") in docs/telltale.1. */
  int st;
  char *out = tt_test_sh_out(
      &st,
      "%s --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 {print $1}' | while read c; do "
      "grep -q \"^\\.B $c\" '%s/docs/telltale.1' || echo \"missing: $c\"; done",
      tt_test_cli(), tt_test_source_dir());
  CHECK_EQ_INT(st, 0);
  CHECK_MSG(out && out[0] == '\0', "commands without a man page entry:\n%s", out);
  free(out);
}
