/* Kafka: URLs, frames, part ids, the dev broker with kcat, replay, and
 * exactly-once ingest against librdkafka's mock cluster (run in this test
 * process, so brokers can be taken down), with `telltale ingest` as child
 * processes that are killed and restarted. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka/avro_decode.h"
#include "kafka/kafka_internal.h"
#include "telltale/kafka.h"
#include "telltale/lake.h"
#include "tt_test.h"

/* ---- helpers ------------------------------------------------------------- */

/* The process-heavy tests work in a directory of their own under /var/tmp
 * (kept when they fail, with the consumers' logs), so that a sweep of
 * /tmp/tt-test-* by a concurrent run on a shared machine cannot pull the
 * lake out from under a running consumer. */
static char g_dir[64];
static void private_dir(void) {
  snprintf(g_dir, sizeof g_dir, "/var/tmp/tt-kafka-XXXXXX");
  CHECK(mkdtemp(g_dir) != NULL);
  CHECK(chdir(g_dir) == 0);
}
static void private_dir_done(void) {
  CHECK(chdir("/") == 0);
  tt_test_sh("rm -rf '%s'", g_dir);
}

static rd_kafka_t *producer(const char *brokers) {
  char es[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  CHECK(rd_kafka_conf_set(c, "bootstrap.servers", brokers, es, sizeof es) == RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(c, "linger.ms", "5", NULL, 0);
  rd_kafka_conf_set(c, "message.max.bytes", "2000000", NULL, 0);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, es, sizeof es);
  CHECK_MSG(rk, "producer: %s", es);
  return rk;
}

static void produce(rd_kafka_t *rk, const char *topic, const char *key, const void *val,
                    size_t len) {
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_END);
    if (!e) return;
    CHECK_MSG(e == RD_KAFKA_RESP_ERR__QUEUE_FULL, "produce: %s", rd_kafka_err2str(e));
    rd_kafka_poll(rk, 50);
  }
}

static void flush_producer(rd_kafka_t *rk) {
  CHECK_EQ_INT(rd_kafka_flush(rk, 30000), 0);
  CHECK_EQ_INT(rd_kafka_outq_len(rk), 0);
}

#define T0 INT64_C(1795514400) /* 2026-11-24T10:00:00Z */

/* Message i of a run: vehicle v(i % 40), a unique timestamp. */
static void produce_telemetry(rd_kafka_t *rk, const char *topic, int from, int to) {
  char key[32], msg[512];
  for (int i = from; i < to; i++) {
    snprintf(key, sizeof key, "v%03d", i % 40);
    /* two days, so that batches span date partitions */
    int n = snprintf(msg, sizeof msg,
                     "{\"vehicle_id\":\"%s\",\"ts\":%" PRId64 ",\"speed_kmh\":%d.5,"
                     "\"engine_running\":true,\"battery_voltage_v\":12.6}",
                     key, (T0 + (int64_t)i * 7) * 1000000, i % 200);
    produce(rk, topic, key, msg, (size_t)n);
  }
}

static int64_t lake_int(const char *sql) {
  tt_lake *lake;
  tt_error e;
  tt_error_clear(&e);
  CHECK_OK(tt_lake_open("p/lake", 1, &lake, &e));
  int64_t v = -1;
  tt_err rc = tt_lake_query_int(lake, sql, &v, &e);
  tt_lake_close(lake);
  CHECK_MSG(rc == TT_OK, "%s: %s", sql, e.msg);
  return v;
}

/* Rows of telemetry so far; 0 while the table does not exist yet. */
static int64_t lake_rows_so_far(void) {
  tt_lake *lake;
  tt_error e;
  int64_t v = 0;
  if (tt_lake_open("p/lake", 1, &lake, &e) != TT_OK) return 0;
  if (tt_lake_query_int(lake, "SELECT count(*) FROM telemetry", &v, &e) != TT_OK) v = 0;
  tt_lake_close(lake);
  return v;
}

/* Print the dead-letter table (shown when a test fails). */
static void dump_deadletters(void) {
  tt_lake *lake;
  tt_error e;
  if (tt_lake_open("p/lake", 1, &lake, &e) != TT_OK) return;
  if (tt_lake_query(
          lake, "SELECT reason, field, source, line, detail FROM _deadletter ORDER BY source, line",
          TT_LAKE_TABLE, stdout, NULL, &e) != TT_OK)
    printf("dead letters: %s\n", e.msg);
  tt_lake_close(lake);
}

static void make_project(void) {
  CHECK_EQ_INT(tt_test_sh("'%s' init p >/dev/null", tt_test_cli()), 0);
}

/* Start `telltale -C p [sets] ingest kafka://… [args]` in the background;
 * stdout to logfile.out, stderr to logfile. */
static pid_t spawn_ingest2(const char *brokers, const char *topic, const char *sets,
                           const char *args, const char *logfile) {
  char cmd[2048];
  snprintf(
      cmd, sizeof cmd,
      "exec '%s' -C p --set kafka.session_timeout=3s %s ingest kafka://%s/%s %s >>%s.out 2>>%s",
      tt_test_cli(), sets, brokers, topic, args, logfile, logfile);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static pid_t spawn_ingest(const char *brokers, const char *topic, const char *sets,
                          const char *logfile) {
  return spawn_ingest2(brokers, topic, sets, "", logfile);
}

static int wait_exit(pid_t pid) {
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int file_has(const char *path, const char *needle) {
  char *s = tt_test_sh_out(NULL, "cat %s 2>/dev/null", path);
  int r = s && strstr(s, needle);
  free(s);
  return r;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* Drain the topic with a single consumer and check the lake holds exactly
 * n unique telemetry records. */
static void drain_and_check(const char *brokers, const char *topic, const char *group, int n) {
  char extra[256];
  snprintf(extra, sizeof extra, "--set kafka.group=%s", group);
  pid_t p = spawn_ingest(brokers, topic, extra, "drain.log");
  int rc = wait_exit(p);
  if (rc != 0) {
    char *log = tt_test_sh_out(NULL, "tail -30 drain.log");
    tt_test_fail(__FILE__, __LINE__, "drain exited %d:\n%s", rc, log);
  }
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM telemetry"), n);
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM (SELECT DISTINCT vehicle_id, ts FROM telemetry)"), n);
}

/* ---- units --------------------------------------------------------------- */

TT_TEST(url_parse) {
  tt_kafka_url u;
  tt_error e;
  CHECK_OK(tt_kafka_url_parse("kafka://h1:9092,h2:9093/tele.metry-1", &u, &e));
  CHECK_EQ_STR(u.brokers, "h1:9092,h2:9093");
  CHECK_EQ_STR(u.topic, "tele.metry-1");
  CHECK_OK(tt_kafka_url_parse("kafka:///t", &u, &e));
  CHECK_EQ_STR(u.brokers, "");
  CHECK(tt_kafka_url_parse("http://h/t", &u, &e) == TT_INVALID);
  CHECK(tt_kafka_url_parse("kafka://h:1", &u, &e) == TT_INVALID);
  CHECK(tt_kafka_url_parse("kafka://h:1/", &u, &e) == TT_INVALID);
  CHECK(tt_kafka_url_parse("kafka://h:1/a b", &u, &e) == TT_INVALID);
  CHECK_STR_CONTAINS(e.msg, "topic may only");
}

TT_TEST(frame_parse) {
  unsigned char m[8];
  tt_kafka_frame_header(0x01020304, m);
  m[5] = 'x';
  int32_t id;
  const void *body;
  size_t blen;
  tt_error e;
  CHECK_OK(tt_kafka_frame_parse(m, 6, &id, &body, &blen, &e));
  CHECK_EQ_INT(id, 0x01020304);
  CHECK_EQ_INT(blen, 1);
  CHECK(body == m + 5);
  CHECK(tt_kafka_frame_parse(m, 4, &id, &body, &blen, &e) == TT_PARSE);
  CHECK_STR_CONTAINS(e.msg, "truncated");
  m[0] = 1;
  CHECK(tt_kafka_frame_parse(m, 6, &id, &body, &blen, &e) == TT_PARSE);
  CHECK_STR_CONTAINS(e.msg, "magic");
}

TT_TEST(part_id_roundtrip) {
  char id[160], name[200];
  int64_t a, b;
  int tmp;
  tt__kafka_part_id(id, sizeof id, "tele-p3-x", 3, 17, 12345678901234);
  CHECK_EQ_STR(id, "kafka-tele-p3-x-p3-000000000017-12345678901234");
  snprintf(name, sizeof name, "part-%s.parquet", id);
  CHECK(tt__kafka_part_match(name, "tele-p3-x", 3, &a, &b, &tmp));
  CHECK_EQ_INT(a, 17);
  CHECK_EQ_INT(b, 12345678901234);
  CHECK_EQ_INT(tmp, 0);
  snprintf(name, sizeof name, "part-%s.parquet.tmp", id);
  CHECK(tt__kafka_part_match(name, "tele-p3-x", 3, &a, &b, &tmp) && tmp == 1);
  /* neither another partition nor a topic that merely shares a prefix */
  CHECK(!tt__kafka_part_match(name, "tele-p3-x", 4, &a, &b, &tmp));
  CHECK(!tt__kafka_part_match(name, "tele", 3, &a, &b, &tmp));
  CHECK(!tt__kafka_part_match("part-abc.parquet", "tele", 3, &a, &b, &tmp));
  /* long topics are hashed but still within the 128-char id limit */
  char longt[250];
  memset(longt, 'x', 249);
  longt[249] = 0;
  tt__kafka_part_id(id, sizeof id, longt, 1023, INT64_MAX, INT64_MAX);
  CHECK(strlen(id) <= 128);
  snprintf(name, sizeof name, "part-%s.parquet", id);
  CHECK(tt__kafka_part_match(name, longt, 1023, &a, &b, &tmp) && a == INT64_MAX);
}

TT_TEST(landed_marker_and_cleanup) {
  tt_error e;
  int64_t last;
  CHECK_OK(tt__kafka_landed_read("lk", "telemetry", "t", 2, &last, &e));
  CHECK_EQ_INT(last, -1);
  CHECK_OK(tt__kafka_landed_write("lk", "telemetry", "t", 2, 99, &e));
  CHECK_OK(tt__kafka_landed_read("lk", "telemetry", "t", 2, &last, &e));
  CHECK_EQ_INT(last, 99);
  char id[160], path[300];
  const int64_t ranges[][2] = {{0, 49}, {50, 99}, {100, 149}};
  for (int i = 0; i < 3; i++) {
    tt__kafka_part_id(id, sizeof id, "t", 2, ranges[i][0], ranges[i][1]);
    snprintf(path, sizeof path, "lk/telemetry/date=2026-11-24/part-%s.parquet", id);
    tt_test_write_file(path, "x");
    snprintf(path, sizeof path, "lk/_deadletter/table_name=telemetry/part-%s.parquet", id);
    tt_test_write_file(path, "x");
  }
  tt__kafka_part_id(id, sizeof id, "t", 3, 100, 149); /* another partition: kept */
  snprintf(path, sizeof path, "lk/telemetry/date=2026-11-24/part-%s.parquet", id);
  tt_test_write_file(path, "x");
  tt__kafka_part_id(id, sizeof id, "t", 2, 0, 49); /* a leftover temporary: removed */
  snprintf(path, sizeof path, "lk/telemetry/date=2026-11-25/part-%s.parquet.tmp", id);
  tt_test_write_file(path, "x");
  unsigned removed;
  CHECK_OK(tt__kafka_parts_cleanup("lk", "telemetry", "t", 2, 99, &removed, &e));
  CHECK_EQ_INT(removed, 3);
  char *ls = tt_test_sh_out(NULL, "cd lk && find . -name 'part-*' | sort");
  CHECK_STR_CONTAINS(ls, "p2-000000000050-000000000099");
  CHECK(!strstr(ls, "p2-000000000100"));
  CHECK(!strstr(ls, ".tmp"));
  CHECK_STR_CONTAINS(ls, "p3-000000000100");
  free(ls);
  tt_test_write_file("lk/_kafka/telemetry/t/5", "garbage\n");
  CHECK(tt__kafka_landed_read("lk", "telemetry", "t", 5, &last, &e) == TT_PARSE);
  CHECK_STR_CONTAINS(e.file, "_kafka/telemetry/t/5");
}

/* ---- the dev broker ------------------------------------------------------ */

TT_TEST(dev_kafka_with_kcat) {
  CHECK_EQ_INT(tt_test_sh("('%s' dev kafka --brokers 2 --topic t --partitions 4 --address-file addr"
                          " >dev.out 2>dev.err & echo $! > dev.pid)",
                          tt_test_cli()),
               0);
  for (int i = 0; i < 500 && access("addr", F_OK) != 0; i++)
    sleep_ms(20);
  CHECK_MSG(access("addr", F_OK) == 0, "dev kafka wrote no address");
  CHECK_EQ_INT(tt_test_sh("printf 'k1 one\\nk2 two\\nk3 three\\n' > in && "
                          "kcat -P -b $(cat addr) -t t -K ' ' -l in"),
               0);
  char *out =
      tt_test_sh_out(NULL, "kcat -C -b $(cat addr) -t t -e -o beginning -q -f '%%k=%%s\\n' | sort");
  CHECK_EQ_STR(out, "k1=one\nk2=two\nk3=three\n");
  free(out);
  /* 4 partitions as asked */
  out = tt_test_sh_out(NULL, "kcat -L -b $(cat addr) -t t");
  CHECK_STR_CONTAINS(out, "with 4 partitions");
  free(out);
  /* stdout is the address; SIGTERM ends it cleanly */
  CHECK_EQ_INT(tt_test_sh("cmp -s dev.out addr"), 0);
  CHECK_EQ_INT(tt_test_sh("kill -TERM $(cat dev.pid); for i in $(seq 100); do kill -0 $(cat "
                          "dev.pid) 2>/dev/null || exit 0; sleep 0.1; done; exit 1"),
               0);
}

TT_TEST(dev_kafka_fixed_port) {
  /* find a free port by letting the kernel choose, then reuse it */
  int port = 20000 + (int)(getpid() % 20000);
  CHECK_EQ_INT(
      tt_test_sh("('%s' dev kafka --brokers 1 --port %d --address-file addr >/dev/null 2>dev.err"
                 " & echo $! > dev.pid)",
                 tt_test_cli(), port),
      0);
  for (int i = 0; i < 500 && access("addr", F_OK) != 0; i++)
    sleep_ms(20);
  CHECK_MSG(access("addr", F_OK) == 0, "dev kafka did not start: %s",
            tt_test_sh_out(NULL, "cat dev.err"));
  CHECK_EQ_INT(tt_test_sh("echo hello | kcat -P -b 127.0.0.1:%d -t fixed", port), 0);
  char *out = tt_test_sh_out(NULL, "kcat -C -b 127.0.0.1:%d -t fixed -e -o beginning -q", port);
  CHECK_EQ_STR(out, "hello\n");
  free(out);
  CHECK_EQ_INT(tt_test_sh("kill -TERM $(cat dev.pid)"), 0);
}

/* ---- replay + ingest ------------------------------------------------------ */

TT_TEST(replay_then_ingest_is_idempotent) {
  private_dir();
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 1, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "tele", 4, &e));
  make_project();
  /* CSV and JSON lines, as `telltale simulate` writes them */
  FILE *f = fopen("a.csv", "w");
  fprintf(f, "vehicle_id,ts,speed_kmh,engine_running\n");
  for (int i = 0; i < 600; i++)
    fprintf(f, "v%02d,2026-11-24T10:%02d:%02dZ,%d.25,%s\n", i % 7, i / 60, i % 60, i % 100,
            i % 2 ? "true" : "false");
  fclose(f);
  f = fopen("b.jsonl", "w");
  for (int i = 0; i < 400; i++)
    fprintf(f,
            "{\"vehicle_id\":\"w%02d\",\"ts\":\"2026-11-25T10:%02d:%02dZ\",\"speed_kmh\":%d}\n\n",
            i % 5, i / 60, i % 60, i % 100);
  fclose(f);
  char *out = tt_test_sh_out(NULL, "'%s' replay --to kafka://%s/tele a.csv b.jsonl 2>/dev/null",
                             tt_test_cli(), bs);
  CHECK_STR_CONTAINS(out, "1000 records");
  free(out);
  /* a record without the key is an error naming file and line */
  tt_test_write_file("bad.jsonl",
                     "{\"vehicle_id\":\"a\",\"ts\":\"2026-11-24T00:00:00Z\"}\n{\"speed_kmh\":1}\n");
  out = tt_test_sh_out(NULL, "'%s' replay --to kafka://%s/tele bad.jsonl 2>&1; echo rc=$?",
                       tt_test_cli(), bs);
  CHECK_STR_CONTAINS(out, "bad.jsonl:2");
  CHECK_STR_CONTAINS(out, "rc=65");
  free(out);
  /* the one good record of bad.jsonl went out before the error */
  drain_and_check(bs, "tele", "g1", 1001);
  CHECK_EQ_INT(
      lake_int("SELECT count(*) FROM telemetry WHERE vehicle_id LIKE 'v%' AND speed_kmh = 3.25"),
      6);
  CHECK_EQ_INT(lake_int("SELECT count(DISTINCT CAST(date AS VARCHAR)) FROM telemetry"), 2);
  /* a second run of the same group reads nothing new; a new group re-reads
   * everything but finds it landed (markers) and writes nothing twice */
  drain_and_check(bs, "tele", "g1", 1001);
  CHECK(file_has("drain.log.out", "ingested 0 messages"));
  drain_and_check(bs, "tele", "other-group", 1001);
  tt_kafka_dev_destroy(dev);
  private_dir_done();
}

/* ---- dead letters -------------------------------------------------------- */

static const char avro_schema[] = "{\"type\":\"record\",\"name\":\"telemetry\",\"fields\":["
                                  "{\"name\":\"vehicle_id\",\"type\":\"string\"},"
                                  "{\"name\":\"ts\",\"type\":\"long\"},"
                                  "{\"name\":\"speed_kmh\",\"type\":[\"null\",\"double\"]}]}";

/* Avro binary of one record of avro_schema. */
static size_t avro_record(unsigned char *out, int32_t schema_id, const char *vid, int64_t ts,
                          double speed) {
  size_t n = 0;
  tt_kafka_frame_header(schema_id, out);
  n = 5;
  size_t l = strlen(vid);
  out[n++] = (unsigned char)(l * 2); /* zigzag varint, l < 64 */
  memcpy(out + n, vid, l);
  n += l;
  uint64_t z = ((uint64_t)ts << 1) ^ (uint64_t)(ts >> 63);
  do {
    unsigned char b = z & 0x7f;
    z >>= 7;
    out[n++] = b | (z ? 0x80 : 0);
  } while (z);
  out[n++] = 2; /* union branch 1: double */
  memcpy(out + n, &speed, 8);
  n += 8;
  return n;
}

TT_TEST(dead_letters_with_reasons) {
  private_dir();
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 1, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "mixed", 3, &e));
  make_project();
  tt_test_write_file("p/avro/7.avsc", avro_schema);
  rd_kafka_t *rk = producer(bs);
  produce_telemetry(rk, "mixed", 0, 10); /* 10 good JSON */
  const char *bad_json = "{\"vehicle_id\":\"v1\",\"ts\":";
  produce(rk, "mixed", "v1", bad_json, strlen(bad_json));
  const char *range = "{\"vehicle_id\":\"v1\",\"ts\":1795514400000000,\"speed_kmh\":900}";
  produce(rk, "mixed", "v1", range, strlen(range));
  const char *missing = "{\"ts\":1795514400000000,\"speed_kmh\":9}";
  produce(rk, "mixed", "v1", missing, strlen(missing));
  char *big = malloc(20000);
  memset(big, ' ', 20000);
  memcpy(big, "{\"vehicle_id\":\"v1\"", 18);
  big[19999] = '}';
  produce(rk, "mixed", "v1", big, 20000);
  free(big);
  unsigned char av[128];
  size_t an = avro_record(av, 7, "v5", (T0 + 1) * 1000000, 42.5);
  produce(rk, "mixed", "v5", av, an);     /* good Avro */
  produce(rk, "mixed", "v5", av, an - 4); /* truncated Avro */
  unsigned char unk[128];
  size_t un = avro_record(unk, 99, "v5", (T0 + 2) * 1000000, 1.0);
  produce(rk, "mixed", "v5", unk, un);   /* unknown schema id */
  produce(rk, "mixed", "v5", "\0\0", 2); /* a frame too short for its header */
  flush_producer(rk);
  rd_kafka_destroy(rk);
  char *dl_topic_out;
  pid_t p = spawn_ingest(bs, "mixed",
                         "--set ingest.max_record_bytes=4096 --set kafka.schema_registry=dir:avro"
                         " --set kafka.dead_letter_topic=mixed.dlq",
                         "ingest.log");
  CHECK_EQ_INT(wait_exit(p), 0);
  dump_deadletters();
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM telemetry"), 11);
  CHECK_EQ_INT(
      lake_int("SELECT count(*) FROM telemetry WHERE vehicle_id = 'v5' AND speed_kmh = 42.5"), 1);
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM _deadletter"), 7);
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM _deadletter WHERE reason = 'parse'"), 3);
  CHECK_EQ_INT(
      lake_int(
          "SELECT count(*) FROM _deadletter WHERE reason = 'out_of_range' AND field = 'speed_kmh'"),
      1);
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM _deadletter WHERE reason = 'missing_required' AND "
                        "field = 'vehicle_id'"),
               1);
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM _deadletter WHERE reason = 'too_long'"), 1);
  CHECK_EQ_INT(lake_int("SELECT count(*) FROM _deadletter WHERE reason = 'unknown_schema'"), 1);
  CHECK_EQ_INT(
      lake_int("SELECT count(*) FROM _deadletter WHERE source LIKE 'kafka:mixed/%' AND line >= 0"),
      7);
  /* and the dead-letter topic got a copy of each, with the reason header */
  dl_topic_out = tt_test_sh_out(
      NULL, "kcat -C -b %s -t mixed.dlq -e -o beginning -q -f '%%h\\n' | sort | uniq -c", bs);
  CHECK_STR_CONTAINS(dl_topic_out, "tt-reason=unknown_schema");
  CHECK_STR_CONTAINS(dl_topic_out, "tt-reason=too_long");
  free(dl_topic_out);
  int64_t dlq = -1;
  char *cnt =
      tt_test_sh_out(NULL, "kcat -C -b %s -t mixed.dlq -e -o beginning -q -f 'x\\n' | wc -l", bs);
  dlq = atoll(cnt);
  free(cnt);
  CHECK_EQ_INT(dlq, 7);
  tt_kafka_dev_destroy(dev);
  private_dir_done();
}

TT_TEST(avro_decoder_units) {
  tt_kafka_avro *a;
  tt_error e;
  CHECK_OK(tt__kafka_avro_new(&a, NULL, &e));
  CHECK_OK(tt__kafka_avro_add_schema(a, 3, avro_schema, &e));
  CHECK(tt__kafka_avro_add_schema(a, 4, "{\"type\":", &e) == TT_SCHEMA);
  unsigned char m[128];
  size_t n = avro_record(m, 3, "v\"1", 5, 2.5);
  char *json = NULL;
  size_t cap = 0, len = 0;
  tt_reject rej;
  CHECK_EQ_INT(tt__kafka_avro_to_json(a, m, n, &json, &cap, &len, &rej), 0);
  CHECK_EQ_STR(json, "{\"vehicle_id\":\"v\\\"1\",\"ts\":5,\"speed_kmh\":2.5}");
  for (size_t cut = 0; cut < n; cut++) {
    CHECK_EQ_INT(tt__kafka_avro_to_json(a, m, cut, &json, &cap, &len, &rej), 1);
    CHECK(rej.reason == TT_REJECT_PARSE);
  }
  m[n] = 0;
  CHECK_EQ_INT(tt__kafka_avro_to_json(a, m, n + 1, &json, &cap, &len, &rej), 1);
  CHECK_STR_CONTAINS(rej.detail, "trailing");
  n = avro_record(m, 4, "v", 5, 2.5);
  CHECK_EQ_INT(tt__kafka_avro_to_json(a, m, n, &json, &cap, &len, &rej), 1);
  CHECK(rej.reason == TT_REJECT_UNKNOWN_SCHEMA);
  free(json);
  tt__kafka_avro_destroy(a);
}

/* ---- exactly once under failure ------------------------------------------ */

TT_TEST_TIMEOUT(kill9_restart_exactly_once, 600) {
  private_dir();
  const int N = 20000;
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 3, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "kt", 8, &e));
  make_project();
  rd_kafka_t *rk = producer(bs);
  produce_telemetry(rk, "kt", 0, N / 2);
  flush_producer(rk);
  const char *small =
      "--set kafka.group=kg --set kafka.batch_rows=300 --set kafka.batch_interval=200ms";
  pid_t c[2] = {spawn_ingest2(bs, "kt", small, "--follow", "c0.log"),
                spawn_ingest2(bs, "kt", small, "--follow", "c1.log")};
  srand((unsigned)getpid());
  for (int round = 0; round < 14; round++) {
    if (round == 5) { /* more input while members come and go */
      produce_telemetry(rk, "kt", N / 2, N);
      flush_producer(rk);
    }
    sleep_ms(150 + rand() % 1200);
    int victim = rand() % 2;
    kill(c[victim], SIGKILL);
    waitpid(c[victim], NULL, 0);
    c[victim] = spawn_ingest2(bs, "kt", small, "--follow", victim ? "c1.log" : "c0.log");
  }
  sleep_ms(500);
  for (int i = 0; i < 2; i++) {
    kill(c[i], SIGTERM);
    int rc = wait_exit(c[i]);
    CHECK_MSG(rc == 0, "member %d exited %d after SIGTERM", i, rc);
  }
  rd_kafka_destroy(rk);
  drain_and_check(bs, "kt", "kg", N);
  tt_kafka_dev_destroy(dev);
  private_dir_done();
}

TT_TEST_TIMEOUT(broker_down_no_loss, 300) {
  private_dir();
  const int N = 6000;
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 3, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "bd", 6, &e));
  make_project();
  rd_kafka_t *rk = producer(bs);
  produce_telemetry(rk, "bd", 0, N / 2);
  flush_producer(rk);
  pid_t p = spawn_ingest2(
      bs, "bd", "--set kafka.group=bg --set kafka.batch_rows=200 --set kafka.batch_interval=100ms",
      "--follow", "f.log");
  sleep_ms(1500);
  rd_kafka_destroy(rk);
  for (int b = 1; b <= 3; b++)
    CHECK_OK(tt_kafka_dev_broker_set_down(dev, b, 1, &e));
  sleep_ms(5000);
  for (int b = 1; b <= 3; b++)
    CHECK_OK(tt_kafka_dev_broker_set_down(dev, b, 0, &e));
  rk = producer(bs);
  produce_telemetry(rk, "bd", N / 2, N);
  flush_producer(rk);
  /* give it time to come back, then stop it cleanly */
  for (int i = 0; i < 300 && lake_rows_so_far() < N; i++)
    sleep_ms(100);
  kill(p, SIGTERM);
  CHECK_EQ_INT(wait_exit(p), 0);
  CHECK(file_has("f.log", "retrying") || file_has("f.log", "fail"));
  rd_kafka_destroy(rk);
  drain_and_check(bs, "bd", "bg", N);
  tt_kafka_dev_destroy(dev);
  private_dir_done();
}

TT_TEST_TIMEOUT(sigterm_mid_batch_lands_and_commits, 180) {
  private_dir();
  const int N = 3000;
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 1, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "st", 4, &e));
  make_project();
  rd_kafka_t *rk = producer(bs);
  produce_telemetry(rk, "st", 0, N);
  flush_producer(rk);
  rd_kafka_destroy(rk);
  /* batches never close by size or age: only the shutdown lands them */
  pid_t p = spawn_ingest2(bs, "st", "--set kafka.group=sg --set kafka.batch_interval=1h",
                          "--follow", "st.log");
  for (int i = 0; i < 600 && !file_has("st.log", "assigned"); i++)
    sleep_ms(50);
  sleep_ms(2000);
  kill(p, SIGTERM);
  CHECK_EQ_INT(wait_exit(p), 0);
  int64_t landed = lake_int("SELECT count(*) FROM telemetry");
  CHECK_MSG(landed > 0, "nothing landed at shutdown");
  /* what landed was committed: a new run of the group starts after it */
  drain_and_check(bs, "st", "sg", N);
  char *out = tt_test_sh_out(NULL, "tail -1 drain.log.out");
  char want[64];
  snprintf(want, sizeof want, "ingested %" PRId64 " messages", (int64_t)N - landed);
  CHECK_STR_CONTAINS(out, want);
  free(out);
  tt_kafka_dev_destroy(dev);
  private_dir_done();
}
