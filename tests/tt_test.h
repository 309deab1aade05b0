/* A small test runner (after libuv's test/runner.c): each test file is one
 * executable; each TT_TEST in it registers itself and runs in its own forked
 * process with a timeout, so a crash or hang fails that test alone.
 *
 *   ./test_core            run every test in the file
 *   ./test_core NAME...    run the named tests
 *   ./test_core --list     list them
 *
 * The last line is "N passed, N failed". Tests get a fresh temporary
 * directory as their working directory (removed when they pass), and
 * TT_SOURCE_DIR / TT_BUILD_DIR in the environment. */
#ifndef TT_TEST_H
#define TT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tt_test_fn)(void);
void tt_test_register(const char *name, tt_test_fn fn, int timeout_s);
void tt_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* Run a shell command; returns its exit status (or -1). */
int tt_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run a shell command and capture stdout (malloc'd, caller frees). */
char *tt_test_sh_out(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Path of the telltale binary under test. */
const char *tt_test_cli(void);
const char *tt_test_source_dir(void);
/* Write text to a file (creating parent dirs). */
void tt_test_write_file(const char *path, const char *text);

#define TT_TEST_TIMEOUT(name, secs)                                            \
  static void test_##name(void);                                               \
  __attribute__((constructor)) static void register_##name(void) {             \
    tt_test_register(#name, test_##name, secs);                                \
  }                                                                            \
  static void test_##name(void)
#define TT_TEST(name) TT_TEST_TIMEOUT(name, 120)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) tt_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);         \
  } while (0)
#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    if (!(cond)) tt_test_fail(__FILE__, __LINE__, __VA_ARGS__);                \
  } while (0)
#define CHECK_EQ_INT(a, b)                                                     \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_)                                                              \
      tt_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
  } while (0)
#define CHECK_EQ_STR(a, b)                                                     \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (!a_ || !b_ || strcmp(a_, b_))                                          \
      tt_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,   \
                   a_ ? a_ : "(null)", b_ ? b_ : "(null)");                    \
  } while (0)
#define CHECK_NEAR(a, b, eps)                                                  \
  do {                                                                         \
    double a_ = (a), b_ = (b);                                                 \
    if (!(fabs(a_ - b_) <= (eps)))                                             \
      tt_test_fail(__FILE__, __LINE__, "%s ~ %s: %.17g != %.17g", #a, #b, a_, b_); \
  } while (0)
#define CHECK_OK(expr)                                                         \
  do {                                                                         \
    tt_error e_;                                                               \
    tt_error_clear(&e_);                                                       \
    (void)e_;                                                                  \
    int rc_ = (int)(expr);                                                     \
    if (rc_ != 0) tt_test_fail(__FILE__, __LINE__, "%s failed: %d", #expr, rc_); \
  } while (0)
#define CHECK_STR_CONTAINS(hay, needle)                                        \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    if (!h_ || !strstr(h_, n_))                                                \
      tt_test_fail(__FILE__, __LINE__, "expected \"%s\" in:\n%s", n_, h_ ? h_ : "(null)"); \
  } while (0)

#endif
