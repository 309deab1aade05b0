/* The test runner behind tests/tt_test.h. */
#include "tt_test.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  const char *name;
  tt_test_fn fn;
  int timeout;
} test_entry;

static test_entry g_tests[512];
static int g_ntests;

void tt_test_register(const char *name, tt_test_fn fn, int timeout_s) {
  if (g_ntests < (int)(sizeof g_tests / sizeof *g_tests))
    g_tests[g_ntests++] = (test_entry){name, fn, timeout_s};
}

void tt_test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "    %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fflush(stderr);
  _exit(1);
}

static char *vsh_out(int *status, const char *fmt, va_list ap) {
  char cmd[16384];
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  FILE *p = popen(cmd, "r");
  if (!p) {
    if (status) *status = -1;
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += r;
    if (cap - n < 2) buf = realloc(buf, cap *= 2);
  }
  buf[n] = '\0';
  int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return buf;
}

char *tt_test_sh_out(int *status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *out = vsh_out(status, fmt, ap);
  va_end(ap);
  return out;
}

int tt_test_sh(const char *fmt, ...) {
  char cmd[16384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *tt_test_cli(void) {
  const char *b = getenv("TT_CLI");
  return b ? b : TT_TEST_CLI; /* the build's binary, so tests run standalone too */
}

const char *tt_test_source_dir(void) {
  const char *s = getenv("TT_SOURCE_DIR");
  return s ? s : TT_TEST_SOURCE_DIR;
}

void tt_test_write_file(const char *path, const char *text) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) tt_test_fail(__FILE__, __LINE__, "mkdir %s", dir);
  }
  FILE *f = fopen(path, "wb");
  if (!f) tt_test_fail(__FILE__, __LINE__, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static int run_one(const test_entry *t) {
  char tmpl[] = "/tmp/tt-test-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (chdir(tmpl) != 0) _exit(2);
    t->fn();
    fflush(NULL);
    _exit(0);
  }
  int status = 0, timed_out = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (t1.tv_sec - t0.tv_sec >= t->timeout) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      timed_out = 1;
      break;
    }
    usleep(2000);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  int ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (ok) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpl);
    printf("ok   %s (%.2fs)\n", t->name, secs);
  } else if (timed_out) {
    printf("FAIL %s: timed out after %ds (kept %s)\n", t->name, t->timeout, tmpl);
  } else if (WIFSIGNALED(status)) {
    printf("FAIL %s: killed by signal %d (kept %s)\n", t->name, WTERMSIG(status), tmpl);
  } else {
    printf("FAIL %s (kept %s)\n", t->name, tmpl);
  }
  fflush(stdout);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--list")) {
    for (int i = 0; i < g_ntests; i++) puts(g_tests[i].name);
    return 0;
  }
  /* Tests that shell out need absolute paths: the test runs in a temp dir. */
  int passed = 0, failed = 0;
  for (int i = 0; i < g_ntests; i++) {
    int selected = argc == 1;
    for (int a = 1; a < argc; a++)
      if (!strcmp(argv[a], g_tests[i].name)) selected = 1;
    if (!selected) continue;
    if (run_one(&g_tests[i])) failed++;
    else passed++;
  }
  if (passed + failed == 0 && argc > 1) {
    fprintf(stderr, "no test named %s\n", argv[1]);
    return 2;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
