/* `telltale schema …`: exit codes, what is printed, and two CLI processes
 * registering at once (SQLite and PostgreSQL). */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tt_test.h"

/* Run `telltale -C p ARGS` (stderr into stdout); returns output, sets *st. */
static char *run(int *st, const char *args) {
  return tt_test_sh_out(st, "'%s' -C p %s 2>&1", tt_test_cli(), args);
}

static void init_project(void) {
  CHECK_EQ_INT(tt_test_sh("'%s' init p >/dev/null", tt_test_cli()), 0);
}

static void expect(const char *args, int want_status, const char *want_text) {
  int st = -1;
  char *out = run(&st, args);
  CHECK_MSG(st == want_status, "`telltale %s`: exit %d, want %d; output:\n%s", args, st,
            want_status, out ? out : "");
  if (want_text) CHECK_STR_CONTAINS(out, want_text);
  free(out);
}

TT_TEST(help_and_usage) {
  init_project();
  expect("schema --help", 0, "register [--force] [FILE...]");
  expect("schema register --help", 0, "diff NAME[:VERSION]");
  expect("schema", 64, "usage: telltale schema");
  expect("schema frobnicate", 64, "unknown schema verb 'frobnicate'");
  expect("schema show", 64, "wants one NAME");
  expect("schema list --output xml", 64, "--output: table or json");
  expect("--help", 0, "schema");
}

TT_TEST(validate_names_file_line_field) {
  init_project();
  expect("schema validate", 0, NULL);
  tt_test_write_file("p/bad.yaml", "name: f\ntables:\n  t:\n    kind: telemetry\n    entity: v\n"
                                   "    time: {column: ts}\n    columns:\n"
                                   "      - {name: v, type: string}\n"
                                   "      - {name: ts, type: timestamp}\n"
                                   "      - {name: x, type: decimal}\n");
  expect("schema validate p/bad.yaml", 65,
         "telltale: p/bad.yaml:10: field 'tables.t.columns.x.type': unknown type 'decimal'");
  expect("schema validate p/none.yaml", 66, "p/none.yaml: cannot open");
  CHECK_EQ_INT(tt_test_sh("rm p/schemas/fleet.yaml"), 0);
  expect("schema validate", 66, "no schema files");
}

TT_TEST(register_show_list_diff) {
  init_project();
  expect("schema list", 0, "NAME");
  expect("schema register", 0, "schemas/fleet.yaml: fleet version 1 (registered)");
  expect("schema register", 0, "fleet version 1 (unchanged)");
  CHECK(access("p/telltale.db", F_OK) == 0); /* sqlite:telltale.db, relative to the project */
  expect("schema show fleet", 0,
         "table telemetry (telemetry): entity vehicle_id, time ts (timestamp, us)");
  expect("schema show fleet:1", 0, "cranking_voltage_v");
  expect("schema show fleet:2", 66, "schema fleet:2 not found");
  expect("schema show nosuch", 66, "no schema named 'nosuch'");

  /* A compatible change. */
  CHECK_EQ_INT(tt_test_sh("sed -i 's/      - {name: region, type: string}/&\\n      - {name: "
                          "depot, type: string}/' p/schemas/fleet.yaml"),
               0);
  expect("schema diff fleet", 0, "+ table vehicles column depot (string, optional)");
  expect("schema register", 0,
         "fleet version 2 (registered)\n  + table vehicles column depot (string, optional)");
  expect("schema diff fleet", 0, "no changes");

  /* An incompatible one: refused with the diff, then forced. */
  CHECK_EQ_INT(tt_test_sh("sed -i '/name: fuel_level_pct/d' p/schemas/fleet.yaml"), 0);
  expect("schema diff fleet", 65,
         "- table telemetry column fuel_level_pct (double)  [incompatible]");
  expect("schema register", 65, "incompatible change to schema fleet (latest version 2)");
  expect("schema show fleet", 0, "schema fleet version 2");
  expect("schema register --force", 0, "fleet version 3 (registered)");
  expect("schema diff fleet:1 fleet:3", 65, "+ table vehicles column depot");
  expect("schema diff fleet:2 fleet:1", 65, "- table vehicles column depot");

  /* JSON output parses and carries the schema. */
  int st;
  char *out = run(&st, "schema show fleet:1 --output json");
  CHECK_EQ_INT(st, 0);
  json_error_t jerr;
  json_t *j = json_loads(out, 0, &jerr);
  CHECK_MSG(j != NULL, "not JSON: %s\n%s", jerr.text, out);
  CHECK_EQ_INT(json_integer_value(json_object_get(j, "version")), 1);
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(j, "schema"), "name")), "fleet");
  CHECK_EQ_INT(strlen(json_string_value(json_object_get(j, "sha256"))), 64);
  json_decref(j);
  free(out);
  out = run(&st, "schema list --output json");
  CHECK_EQ_INT(st, 0);
  j = json_loads(out, 0, &jerr);
  CHECK(json_is_array(j) && json_array_size(j) == 1);
  CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 0), "version")), 3);
  CHECK_EQ_INT(json_array_size(json_object_get(json_array_get(j, 0), "tables")), 5);
  json_decref(j);
  free(out);

  /* A bad registry URL is a configuration error. */
  expect("--set registry=mysql://x schema list", 78, "unknown registry URL");
  /* An unreachable PostgreSQL is "service unavailable". */
  expect(
      "--set 'registry=postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2' schema list",
      69, "cannot connect");
}

/* Two `telltale schema register` processes at once, each with its own
 * version of one schema: both succeed with distinct versions. */
static void concurrent_cli(const char *set) {
  init_project();
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 2; i++) {
      char path[64], text[512];
      snprintf(path, sizeof path, "p/v%d.yaml", i);
      snprintf(
          text, sizeof text,
          "name: race\ntables:\n  t:\n    kind: events\n    entity: v\n    time: ts\n"
          "    columns:\n      - {name: v, type: string}\n      - {name: ts, type: timestamp}\n"
          "      - {name: c%d_%d, type: double}\n",
          round, i);
      tt_test_write_file(path, text);
    }
    int st =
        tt_test_sh("cd p && ('%s' %s schema register --force v0.yaml > r0.out 2>&1 & "
                   "'%s' %s schema register --force v1.yaml > r1.out 2>&1 & wait) && "
                   "grep -h 'race version' r0.out r1.out | sed 's/.*version \\([0-9]*\\).*/\\1/' "
                   "| sort -n | tr '\\n' ' ' > versions",
                   tt_test_cli(), set, tt_test_cli(), set);
    CHECK_EQ_INT(st, 0);
    int s2;
    char *v = tt_test_sh_out(&s2, "cat p/versions");
    char want[32];
    snprintf(want, sizeof want, "%d %d ", 2 * round + 1, 2 * round + 2);
    CHECK_MSG(!strcmp(v, want), "round %d: versions '%s', want '%s'", round, v, want);
    free(v);
  }
}

TT_TEST(concurrent_cli_sqlite) { concurrent_cli(""); }

TT_TEST(concurrent_cli_postgres) {
  char cwd[PATH_MAX], state[PATH_MAX + 8], set[PATH_MAX + 64];
  if (!getcwd(cwd, sizeof cwd)) tt_test_fail(__FILE__, __LINE__, "getcwd");
  snprintf(state, sizeof state, "%s/pg", cwd);
  int st;
  char *url = tt_test_sh_out(&st, "'%s/tests/services/postgres' start '%s' %d",
                             tt_test_source_dir(), state, (int)getpid());
  CHECK_MSG(st == 0 && url, "postgres did not start");
  url[strcspn(url, "\n")] = '\0';
  snprintf(set, sizeof set, "--set registry=%s", url);
  concurrent_cli(set);
  CHECK_EQ_INT(tt_test_sh("'%s/tests/services/postgres' stop '%s'", tt_test_source_dir(), state),
               0);
  free(url);
}
