/* tests/services/postgres and tests/services/redis: the throw-away servers
 * other tests start. They must come up on a free port, answer, stop, clean
 * up after themselves, and stop on their own when their owner dies. */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tt_test.h"

static char *start(const char *service, const char *state, int owner) {
  int st = -1;
  char *url = tt_test_sh_out(&st, "'%s/tests/services/%s' start '%s' %d", tt_test_source_dir(),
                             service, state, owner);
  CHECK_MSG(st == 0 && url && *url, "%s did not start", service);
  url[strcspn(url, "\n")] = '\0';
  return url;
}

static void stop(const char *service, const char *state) {
  CHECK_EQ_INT(tt_test_sh("'%s/tests/services/%s' stop '%s'", tt_test_source_dir(), service, state),
               0);
}

TT_TEST(postgres_start_query_stop) {
  char *a = start("postgres", "pa", (int)getpid());
  char *b = start("postgres", "pb", (int)getpid());
  CHECK(!strncmp(a, "postgresql://postgres@127.0.0.1:", 32));
  CHECK(strcmp(a, b) != 0); /* two servers, two ports */
  CHECK_EQ_INT(
      tt_test_sh("psql -qAt '%s' -c 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)'", a), 0);
  int st;
  char *out = tt_test_sh_out(
      &st, "psql -qAt '%s' -c 'SELECT count(*) FROM pg_tables WHERE tablename = $$t$$'", b);
  CHECK_EQ_STR(out, "0\n"); /* fresh clusters, nothing shared */
  free(out);
  char *datadir = tt_test_sh_out(&st, "cat pa/postgres.datadir");
  datadir[strcspn(datadir, "\n")] = '\0';
  stop("postgres", "pa");
  stop("postgres", "pb");
  CHECK(access(datadir, F_OK) != 0); /* the cluster's files are gone */
  CHECK(tt_test_sh("psql -qAt '%s' -c 'SELECT 1' >/dev/null 2>&1", a) != 0);
  stop("postgres", "pa"); /* stopping twice is fine */
  free(datadir);
  free(a);
  free(b);
}

TT_TEST(redis_start_ping_stop) {
  char *url = start("redis", "r", (int)getpid());
  CHECK(!strncmp(url, "redis://127.0.0.1:", 18));
  int st;
  char *out = tt_test_sh_out(&st, "redis-cli -u '%s' ping", url);
  CHECK_EQ_STR(out, "PONG\n");
  free(out);
  stop("redis", "r");
  CHECK(tt_test_sh("redis-cli -u '%s' ping >/dev/null 2>&1", url) != 0);
  free(url);
}

/* A test killed by its timeout never reaches its stop(): the watcher
 * started with OWNER_PID stops the server once the owner is gone. */
TT_TEST(servers_stop_when_owner_dies) {
  pid_t owner = fork();
  CHECK(owner >= 0);
  if (owner == 0) {
    pause();
    _exit(0);
  }
  char *r = start("redis", "r", (int)owner);
  char *p = start("postgres", "p", (int)owner);
  CHECK_EQ_INT(tt_test_sh("redis-cli -u '%s' ping >/dev/null", r), 0);
  kill(owner, SIGKILL);
  waitpid(owner, NULL, 0);
  /* Bounded wait for the watchers (they poll every second). */
  int redis_gone = 0, pg_gone = 0;
  for (int i = 0; i < 300 && !(redis_gone && pg_gone); i++) {
    redis_gone = tt_test_sh("redis-cli -u '%s' ping >/dev/null 2>&1", r) != 0;
    pg_gone = tt_test_sh("psql -qAt '%s' -c 'SELECT 1' >/dev/null 2>&1", p) != 0;
    usleep(100000);
  }
  CHECK(redis_gone);
  CHECK(pg_gone);
  free(r);
  free(p);
}
