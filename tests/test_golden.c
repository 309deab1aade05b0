/* Data-driven CLI golden tests (after jq's tests/jq.test and curl's
 * tests/data): each tests/golden/NAME.t is a script of commands run in one
 * fresh directory, in order, with `telltale` on PATH. Format:
 *
 *   # a comment
 *   $ telltale init proj            a command (sh -c), stdout+stderr captured
 *   created project in proj         the exact expected output, line by line
 *   ? 64                            optional: expected exit status (default 0)
 *
 * A blank line ends the expected output of a command. Lines of expected
 * output may end in " (re)" to be matched as a POSIX extended regex. Every
 * file is one test, named golden_<NAME>; run one with
 * `build/tests/test_golden golden_NAME`. */
#include <dirent.h>
#include <libgen.h>
#include <regex.h>
#include <unistd.h>

#include "tt_test.h"

static int line_matches(const char *want, const char *got) {
  size_t n = strlen(want);
  if (n > 5 && !strcmp(want + n - 5, " (re)")) {
    char pat[4096];
    snprintf(pat, sizeof pat, "^%.*s$", (int)(n - 5), want);
    regex_t re;
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB)) return 0;
    int ok = regexec(&re, got, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
  }
  return !strcmp(want, got);
}

static void check_output(const char *file, int line, const char *cmd, const char *expected,
                         const char *got, int want_status, int status) {
  if (status != want_status)
    tt_test_fail(file, line, "`%s` exited %d, expected %d; output:\n%s", cmd, status, want_status,
                 got);
  const char *e = expected, *g = got;
  int n = 0;
  while (*e || *g) {
    n++;
    const char *ee = strchr(e, '\n'), *ge = strchr(g, '\n');
    size_t el = ee ? (size_t)(ee - e) : strlen(e), gl = ge ? (size_t)(ge - g) : strlen(g);
    char wl[4096], gline[4096];
    snprintf(wl, sizeof wl, "%.*s", (int)el, e);
    snprintf(gline, sizeof gline, "%.*s", (int)gl, g);
    if (!*e || !*g || !line_matches(wl, gline))
      tt_test_fail(file, line, "`%s` output line %d:\n  expected: %s\n  got:      %s\nfull output:\n%s",
                   cmd, n, *e ? wl : "(end)", *g ? gline : "(end)", got);
    e += el + (ee ? 1 : 0);
    g += gl + (ge ? 1 : 0);
  }
}

static void run_golden(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) tt_test_fail(__FILE__, __LINE__, "cannot open %s", path);
  char cli_dir[4096];
  snprintf(cli_dir, sizeof cli_dir, "%s", tt_test_cli());
  char *dir = dirname(cli_dir);
  char line[8192], cmd[8192] = "", expected[65536] = "";
  int have_cmd = 0, want_status = 0, cmd_line = 0, lineno = 0;
  for (;;) {
    char *got_line = fgets(line, sizeof line, f);
    if (got_line) {
      lineno++;
      line[strcspn(line, "\n")] = '\0';
    }
    int ends = !got_line || line[0] == '\0' || !strncmp(line, "$ ", 2);
    if (ends && have_cmd) {
      int status;
      char *out = tt_test_sh_out(&status, "PATH='%s':\"$PATH\" sh -c '%s' 2>&1", dir, cmd);
      check_output(path, cmd_line, cmd, expected, out ? out : "", want_status, status);
      free(out);
      have_cmd = 0;
    }
    if (!got_line) break;
    if (!strncmp(line, "$ ", 2)) {
      /* Single quotes in the command are escaped for the outer sh -c. */
      size_t n = 0;
      for (const char *p = line + 2; *p && n + 5 < sizeof cmd; p++) {
        if (*p == '\'') {
          memcpy(cmd + n, "'\\''", 4);
          n += 4;
        } else {
          cmd[n++] = *p;
        }
      }
      cmd[n] = '\0';
      expected[0] = '\0';
      want_status = 0;
      have_cmd = 1;
      cmd_line = lineno;
    } else if (have_cmd && !strncmp(line, "? ", 2)) {
      want_status = atoi(line + 2);
    } else if (have_cmd && line[0] != '\0') {
      size_t n = strlen(expected);
      snprintf(expected + n, sizeof expected - n, "%s\n", line);
    }
  }
  fclose(f);
}

static char g_files[64][4200];
static int g_nfiles;
static int g_index;

static void golden_case(void) { run_golden(g_files[g_index]); }

/* Register one test per .t file before main runs. */
__attribute__((constructor(200))) static void register_golden(void) {
  char dirpath[4096];
  snprintf(dirpath, sizeof dirpath, "%s/tests/golden", tt_test_source_dir());
  DIR *d = opendir(dirpath);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d)) && g_nfiles < 64) {
    size_t n = strlen(de->d_name);
    if (n < 3 || strcmp(de->d_name + n - 2, ".t")) continue;
    snprintf(g_files[g_nfiles], sizeof g_files[0], "%s/%s", dirpath, de->d_name);
    g_nfiles++;
  }
  closedir(d);
}

/* The runner registers function pointers; one trampoline per slot picks the
 * file by index. 16 slots are plenty for now. */
#define SLOT(i)                                                                \
  static void golden_slot_##i(void) {                                          \
    g_index = i;                                                               \
    golden_case();                                                             \
  }
SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)
#undef SLOT
static void (*const slots[16])(void) = {
    golden_slot_0,  golden_slot_1,  golden_slot_2,  golden_slot_3,  golden_slot_4,  golden_slot_5,
    golden_slot_6,  golden_slot_7,  golden_slot_8,  golden_slot_9,  golden_slot_10, golden_slot_11,
    golden_slot_12, golden_slot_13, golden_slot_14, golden_slot_15};

__attribute__((constructor(201))) static void register_golden_tests(void) {
  static char names[16][128];
  for (int i = 0; i < g_nfiles && i < 16; i++) {
    char *base = strrchr(g_files[i], '/') + 1;
    snprintf(names[i], sizeof names[i], "golden_%.*s", (int)(strlen(base) - 2), base);
    tt_test_register(names[i], slots[i], 300);
  }
}
