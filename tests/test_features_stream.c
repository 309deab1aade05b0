/* `features stream --source kafka://…`: telemetry replayed into a topic of
 * librdkafka's mock cluster (in this process), streamed by the CLI into a
 * real redis-server, compared bit for bit with `features build` over the
 * same records ingested into the lake; then kill -9 and restart of the
 * stream, and a Redis restart, in the middle of a follow-mode stream. */
#include <arpa/inet.h>
#include <duckdb.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "telltale/features.h"
#include "telltale/kafka.h"
#include "tt_test.h"

#define NVEH 9
#define T0 INT64_C(1795514400) /* 2026-11-24T10:00:00Z */
#define PARTS 6

static const char *SET = "name: s\nsource: telemetry\ntile: 1h\nfilter: engine_running = true\n"
                         "features:\n"
                         "  - {name: v_mean_1h, column: battery_voltage_v, agg: mean, window: 1h}\n"
                         "  - {name: v_std_1d, column: battery_voltage_v, agg: std, window: 1d}\n"
                         "  - {name: v_slope_1d, column: battery_voltage_v, agg: slope, window: "
                         "1d, per: 1h}\n"
                         "  - {name: v_min_6h, column: battery_voltage_v, agg: min, window: 6h}\n"
                         "  - {name: sp_max_6h, column: speed_kmh, agg: max, window: 6h}\n"
                         "  - {name: sp_last_1d, column: speed_kmh, agg: last, window: 1d}\n"
                         "  - {name: sp_delta_1d, column: speed_kmh, agg: delta, window: 1d}\n"
                         "  - {name: rows_1d, agg: count, window: 1d}\n"
                         "  - {name: since_1d, agg: time_since, window: 1d}\n";

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Records [from, to) of the test telemetry as JSON lines: several vehicles,
 * out-of-order and late timestamps, null voltages, engines off. */
static void write_jsonl(const char *path, int from, int to) {
  FILE *f = fopen(path, "w");
  CHECK(f);
  rng = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < to; i++) {
    uint64_t a = rnd(), b = rnd(), c = rnd();
    if (i < from) continue;
    int64_t ts = (T0 + (int64_t)i * 29 - (int64_t)(a % 7200)) * 1000000 + (int64_t)(b % 1000);
    fprintf(f, "{\"vehicle_id\":\"v%02d\",\"ts\":%" PRId64 ",\"engine_running\":%s", i % NVEH, ts,
            c % 10 ? "true" : "false");
    fprintf(f, ",\"speed_kmh\":%.17g", (double)(b % 120000) / 1000.0);
    if (a % 20) fprintf(f, ",\"battery_voltage_v\":%.17g", 11.0 + (double)(c % 3500) / 1000.0);
    fputs("}\n", f);
  }
  fclose(f);
}

static int free_port(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
  close(s);
  return ntohs(a.sin_port);
}

/* A redis-server that keeps its data across a restart (AOF, fsync always),
 * dying with the test process. */
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

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* `telltale -C p --set online_store=URL features stream --set s --source
 * kafka://BROKERS/tel ARGS` in the background, output appended to LOG(.out). */
static pid_t spawn_stream(const char *url, const char *brokers, const char *args, const char *log) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "exec '%s' -C p --set online_store=%s --set kafka.session_timeout=3s features stream "
           "--set s --source kafka://%s/tel %s >>%s.out 2>>%s",
           tt_test_cli(), url, brokers, args, log, log);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static int wait_exit(pid_t pid) {
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void replay(const char *brokers, const char *file) {
  CHECK_EQ_INT(tt_test_sh("'%s' replay --to kafka://%s/tel %s >/dev/null 2>>replay.log",
                          tt_test_cli(), brokers, file),
               0);
}

static void setup_project(void) {
  CHECK_EQ_INT(tt_test_sh("'%s' init p >/dev/null", tt_test_cli()), 0);
  tt_test_write_file("p/features/s.yaml", SET);
}

/* The positions stored with the online state, summed over partitions
 * (= messages folded, invalid ones included). */
static uint64_t stored_total(tt_online *on) {
  uint64_t sum = 0;
  for (int p = 0; p < PARTS; p++) {
    char key[64];
    uint64_t off = 0;
    tt_error e;
    snprintf(key, sizeof key, "kafka:tel/%d", p);
    if (tt_online_offset(on, key, &off, &e) != TT_OK) return UINT64_MAX;
    sum += off;
  }
  return sum;
}

/* Ingest all.jsonl into the lake, build the set offline as of each
 * vehicle's online as-of time, and compare every value bit for bit with
 * what the stream left in Redis. */
static void check_online_equals_offline(const char *url) {
  tt_feature_set *fs;
  tt_fengine *eng;
  tt_online *on;
  tt_error e;
  char buf[1400];
  CHECK_OK(tt_feature_set_load("p", "s", &fs, &e));
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  CHECK_MSG(tt_online_open(url, eng, fs, 0, &on, &e) == TT_OK, "%s",
            tt_error_format(&e, buf, sizeof buf));
  size_t nf = tt_feature_set_count(fs);
  double online[NVEH][16];
  tt_time as_of[NVEH];
  FILE *spine = fopen("spine.csv", "w");
  CHECK(spine);
  fputs("vehicle_id,ts\n", spine);
  for (int v = 0; v < NVEH; v++) {
    char veh[16], tb[40];
    snprintf(veh, sizeof veh, "v%02d", v);
    CHECK_OK(tt_online_get(on, veh, online[v], &as_of[v], &e));
    tt_time_format(as_of[v], tb, sizeof tb);
    fprintf(spine, "%s,%s\n", veh, tb);
  }
  fclose(spine);
  if (tt_test_sh("test -d p/lake/telemetry") != 0)
    CHECK_EQ_INT(tt_test_sh("'%s' -C p ingest --table telemetry --schema p/schemas/fleet.yaml "
                            "all.jsonl >/dev/null 2>ingest.log",
                            tt_test_cli()),
                 0);
  CHECK_EQ_INT(tt_test_sh("'%s' -C p features build --set s --spine spine.csv --out off.parquet "
                          ">/dev/null 2>build.log",
                          tt_test_cli()),
               0);
  duckdb_database db;
  duckdb_connection con;
  CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
  CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
  duckdb_result r;
  CHECK(duckdb_query(con,
                     "SELECT * REPLACE (epoch_us(ts) AS ts) FROM read_parquet('off.parquet') "
                     "ORDER BY 1",
                     &r) == DuckDBSuccess);
  CHECK_EQ_INT(duckdb_row_count(&r), NVEH);
  size_t compared = 0;
  for (int v = 0; v < NVEH; v++) {
    CHECK_EQ_INT(duckdb_value_int64(&r, 1, v), as_of[v]);
    for (size_t f = 0; f < nf; f++) {
      int null = duckdb_value_is_null(&r, f + 2, v);
      double off = duckdb_value_double(&r, f + 2, v), onv = online[v][f];
      if (isnan(onv))
        CHECK_MSG(null, "%s of v%02d: online null, offline %.17g", tt_feature_set_at(fs, f)->name,
                  v, off);
      else
        CHECK_MSG(!null && memcmp(&off, &onv, sizeof off) == 0,
                  "%s of v%02d: online %.17g, offline %.17g%s", tt_feature_set_at(fs, f)->name, v,
                  onv, off, null ? " (null)" : "");
      compared++;
    }
  }
  CHECK_EQ_INT(compared, NVEH * nf);
  duckdb_destroy_result(&r);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
}

static void produce_invalid(const char *brokers) {
  /* Not JSON, a record without ts, a value out of range: counted, logged,
   * never folded (and never a crash). */
  tt_test_write_file("bad.jsonl", "{\"vehicle_id\":\"v01\",\"ts\":\"yesterday\"}\n"
                                  "{\"vehicle_id\":\"v02\",\"speed_kmh\":3}\n"
                                  "{\"vehicle_id\":\"v03\",\"ts\":1795514400000000,"
                                  "\"speed_kmh\":9999}\n");
  replay(brokers, "bad.jsonl");
}

#define N 6000

TT_TEST_TIMEOUT(kafka_stream_equals_offline, 300) {
  if (tt_test_sh("command -v redis-server >/dev/null") != 0)
    tt_test_fail(__FILE__, __LINE__, "redis-server is not installed");
  setup_project();
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 1, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "tel", PARTS, &e));
  int port = free_port();
  pid_t rpid = redis_start(port);
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
  write_jsonl("all.jsonl", 0, N);
  replay(bs, "all.jsonl");
  produce_invalid(bs);

  int rc = wait_exit(spawn_stream(url, bs, "--output json", "s1.log"));
  char *out = tt_test_sh_out(NULL, "cat s1.log.out; tail -5 s1.log");
  CHECK_MSG(rc == 0, "stream exited %d: %s", rc, out);
  CHECK_STR_CONTAINS(out, "\"events\":6000,");
  CHECK_STR_CONTAINS(out, "\"invalid\":3,");
  free(out);
  check_online_equals_offline(url);

  /* Again with the same group: nothing new. With a fresh group (no
   * committed offsets): the stored positions, not the group's, say where
   * each partition starts — nothing is folded twice. */
  CHECK_EQ_INT(wait_exit(spawn_stream(url, bs, "--output json", "s2.log")), 0);
  CHECK_EQ_INT(wait_exit(spawn_stream(url, bs, "--group fresh --output json", "s3.log")), 0);
  out = tt_test_sh_out(NULL, "cat s2.log.out s3.log.out");
  CHECK_STR_CONTAINS(out, "{\"events\":0,");
  CHECK(!strstr(out, "{\"events\":6"));
  free(out);
  check_online_equals_offline(url);

  /* Another store (Redis database 1), same group: nothing is stored there,
   * so every partition starts at its beginning, whatever the group
   * committed, and the new store gets every event. */
  char url1[80];
  snprintf(url1, sizeof url1, "%s/1", url);
  CHECK_EQ_INT(wait_exit(spawn_stream(url1, bs, "--output json", "s4.log")), 0);
  out = tt_test_sh_out(NULL, "cat s4.log.out");
  CHECK_STR_CONTAINS(out, "{\"events\":6000,");
  free(out);
  check_online_equals_offline(url1);

  /* A file source and kafka-only flags do not mix. */
  CHECK_EQ_INT(tt_test_sh("'%s' -C p features stream --set s --source all.jsonl --follow "
                          ">/dev/null 2>&1",
                          tt_test_cli()),
               64);
  redis_stop(rpid);
  tt_kafka_dev_destroy(dev);
}

TT_TEST_TIMEOUT(kafka_stream_kill9_and_redis_restart, 300) {
  if (tt_test_sh("command -v redis-server >/dev/null") != 0)
    tt_test_fail(__FILE__, __LINE__, "redis-server is not installed");
  setup_project();
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 1, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "tel", PARTS, &e));
  int port = free_port();
  pid_t rpid = redis_start(port);
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
  write_jsonl("all.jsonl", 0, N);
  write_jsonl("a.jsonl", 0, N / 3);
  write_jsonl("b.jsonl", N / 3, 2 * N / 3);
  write_jsonl("c.jsonl", 2 * N / 3, N);

  tt_feature_set *fs;
  tt_fengine *eng;
  tt_online *on;
  CHECK_OK(tt_feature_set_load("p", "s", &fs, &e));
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  CHECK_OK(tt_online_open(url, eng, fs, 0, &on, &e));

  /* 1. A follow-mode stream, killed with -9 once it has stored something. */
  pid_t s = spawn_stream(url, bs, "--follow", "f1.log");
  replay(bs, "a.jsonl");
  int i;
  for (i = 0; i < 3000 && stored_total(on) == 0; i++)
    sleep_ms(10);
  CHECK_MSG(i < 3000, "the stream stored nothing");
  kill(s, SIGKILL);
  CHECK_EQ_INT(wait_exit(s), 128 + SIGKILL);

  /* 2. Restarted; more events arrive; Redis goes away for a while and
   * comes back with its data (AOF). */
  s = spawn_stream(url, bs, "--follow", "f2.log");
  replay(bs, "b.jsonl");
  for (i = 0; i < 3000 && stored_total(on) < (uint64_t)N / 3 + 1; i++)
    sleep_ms(10);
  redis_stop(rpid);
  replay(bs, "c.jsonl");
  sleep_ms(1500); /* the stream keeps failing and retrying meanwhile */
  rpid = redis_start(port);
  tt_online_close(on);
  CHECK_OK(tt_online_open(url, eng, fs, 0, &on, &e));
  for (i = 0; i < 6000 && stored_total(on) != (uint64_t)N; i++)
    sleep_ms(10);
  CHECK_MSG(i < 6000, "stored positions sum to %" PRIu64 ", want %d", stored_total(on), N);

  /* 3. SIGTERM: apply, commit, exit 0. */
  kill(s, SIGTERM);
  int rc = wait_exit(s);
  char *log = tt_test_sh_out(NULL, "tail -20 f2.log");
  CHECK_MSG(rc == 0, "stream exited %d: %s", rc, log);
  CHECK_STR_CONTAINS(log, "retry");
  free(log);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);

  /* Every event folded exactly once: the online values are the offline
   * ones over all N records. */
  check_online_equals_offline(url);

  /* 4. A follow-mode stream retries an absent Redis until it is stopped:
   * SIGTERM then ends it with exit 69, nothing applied or committed. */
  redis_stop(rpid);
  s = spawn_stream(url, bs, "--follow", "f3.log");
  sleep_ms(4000);
  kill(s, SIGTERM);
  rc = wait_exit(s);
  log = tt_test_sh_out(NULL, "tail -5 f3.log");
  CHECK_MSG(rc == 69, "stream exited %d: %s", rc, log);
  free(log);
  tt_kafka_dev_destroy(dev);
}

TT_TEST_TIMEOUT(kafka_stream_two_members_share_partitions, 300) {
  if (tt_test_sh("command -v redis-server >/dev/null") != 0)
    tt_test_fail(__FILE__, __LINE__, "redis-server is not installed");
  setup_project();
  tt_kafka_dev *dev;
  tt_error e;
  CHECK_OK(tt_kafka_dev_start(&dev, 1, 0, &e));
  const char *bs = tt_kafka_dev_bootstraps(dev);
  CHECK_OK(tt_kafka_dev_topic_create(dev, "tel", PARTS, &e));
  int port = free_port();
  pid_t rpid = redis_start(port);
  char url[64];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
  write_jsonl("all.jsonl", 0, N);
  write_jsonl("a.jsonl", 0, N / 2);
  write_jsonl("b.jsonl", N / 2, N);

  tt_feature_set *fs;
  tt_fengine *eng;
  tt_online *on;
  CHECK_OK(tt_feature_set_load("p", "s", &fs, &e));
  CHECK_OK(tt_fengine_new(fs, &eng, &e));
  CHECK_OK(tt_online_open(url, eng, fs, 0, &on, &e));

  /* One member takes every partition; a second one joins while events
   * flow and takes some of them over (cooperative rebalance): the moved
   * partitions continue from the stored positions. */
  pid_t m1 = spawn_stream(url, bs, "--follow", "m1.log");
  replay(bs, "a.jsonl");
  int i;
  for (i = 0; i < 3000 && stored_total(on) == 0; i++)
    sleep_ms(10);
  pid_t m2 = spawn_stream(url, bs, "--follow", "m2.log");
  for (i = 0; i < 3000 && tt_test_sh("grep -q assigned m2.log") != 0; i++)
    sleep_ms(10);
  CHECK_MSG(i < 3000, "the second member got no partition");
  replay(bs, "b.jsonl");
  for (i = 0; i < 6000 && stored_total(on) != (uint64_t)N; i++)
    sleep_ms(10);
  CHECK_MSG(i < 6000, "stored positions sum to %" PRIu64 ", want %d", stored_total(on), N);
  kill(m1, SIGTERM);
  kill(m2, SIGTERM);
  CHECK_EQ_INT(wait_exit(m1), 0);
  CHECK_EQ_INT(wait_exit(m2), 0);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
  check_online_equals_offline(url);
  redis_stop(rpid);
  tt_kafka_dev_destroy(dev);
}
