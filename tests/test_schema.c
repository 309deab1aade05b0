/* Schemas: parsing, strict validation with file:line:field errors, the
 * canonical JSON round trip and the evolution (diff) rules. */
#include <stdlib.h>
#include <string.h>

#include "telltale/project.h"
#include "telltale/schema.h"
#include "tt_test.h"

static tt_schema *parse_ok(const char *yaml) {
  tt_schema *s = NULL;
  tt_error e;
  tt_error_clear(&e);
  if (tt_schema_parse_string(yaml, strlen(yaml), "t.yaml", &s, &e) != TT_OK) {
    char buf[1200];
    tt_test_fail(__FILE__, __LINE__, "parse failed: %s", tt_error_format(&e, buf, sizeof buf));
  }
  return s;
}

TT_TEST(example_schema_parses) {
  tt_schema *s = parse_ok(tt_project_example_schema());
  CHECK_EQ_STR(tt_schema_name(s), "fleet");
  CHECK_EQ_INT(tt_schema_version(s), 0);
  CHECK_EQ_INT(tt_schema_table_count(s), 5);
  const tt_table_def *t = tt_schema_table(s, "telemetry");
  CHECK(t != NULL);
  CHECK_EQ_INT(t->kind, TT_TABLE_TELEMETRY);
  CHECK_EQ_STR(t->entity_column, "vehicle_id");
  CHECK_EQ_STR(t->time_column, "ts");
  CHECK_EQ_INT(t->axis, TT_AXIS_TIMESTAMP);
  CHECK_EQ_STR(t->axis_unit, "us");
  CHECK_EQ_INT(t->ncolumns, 17);
  CHECK_EQ_INT(t->entity_index, 0);
  CHECK_EQ_INT(t->time_index, 1);
  int i = tt_table_column_index(t, "speed_kmh");
  CHECK(i > 1);
  CHECK_EQ_INT(t->columns[i].type, TT_TYPE_DOUBLE);
  CHECK_EQ_STR(t->columns[i].unit, "km/h");
  CHECK(t->columns[i].has_min && t->columns[i].has_max);
  CHECK_NEAR(t->columns[i].max, 250, 0);
  CHECK_EQ_INT(t->columns[i].required, 0);
  CHECK_EQ_INT(t->columns[0].required, 1);
  CHECK_EQ_INT(tt_table_column_index(t, "nope"), -1);
  CHECK(tt_schema_table(s, "nope") == NULL);
  CHECK_EQ_INT(tt_schema_table(s, "dtc")->kind, TT_TABLE_EVENTS);
  CHECK_EQ_INT(tt_schema_table(s, "vehicles")->kind, TT_TABLE_ENTITY);
  tt_schema_set_version(s, 3);
  CHECK_EQ_INT(tt_schema_version(s), 3);
  tt_schema_destroy(s);
}

TT_TEST(counter_axis) {
  tt_schema *s = parse_ok("name: cmapss\n"
                          "tables:\n"
                          "  engines:\n"
                          "    kind: telemetry\n"
                          "    entity: unit\n"
                          "    time: {column: cycle, axis: counter, unit: cycles}\n"
                          "    columns:\n"
                          "      - {name: unit, type: string}\n"
                          "      - {name: cycle, type: int}\n"
                          "      - {name: s2, type: float}\n");
  const tt_table_def *t = tt_schema_table_at(s, 0);
  CHECK_EQ_INT(t->axis, TT_AXIS_COUNTER);
  CHECK_EQ_STR(t->axis_unit, "cycles");
  CHECK_EQ_INT(t->columns[1].type, TT_TYPE_INT64);
  CHECK_EQ_INT(t->columns[1].required, 1); /* the time column is always required */
  CHECK_EQ_STR(t->description, "");
  tt_schema_destroy(s);
}

/* Every malformed schema fails with the file, the line and the field that
 * is wrong. */
typedef struct bad_case {
  const char *yaml;
  long line;
  const char *field;
  const char *msg;
} bad_case;

#define HEAD                                                                                       \
  "name: f\ntables:\n  t:\n    kind: telemetry\n    entity: v\n    time: {column: ts}\n    "       \
  "columns:\n"
/* lines 1-7 are HEAD; columns start on line 8 */
#define COLS "      - {name: v, type: string}\n      - {name: ts, type: timestamp}\n"

static const bad_case bad_cases[] = {
    {"name: f\ncolour: red\ntables: {}\n", 2, "colour", "unknown key"},
    {HEAD COLS "      - {name: x, type: double, colour: red}\n", 10, "tables.t.columns[3].colour",
     "unknown key"},
    {HEAD COLS "      - {name: x, type: complex}\n", 10, "tables.t.columns.x.type",
     "unknown type 'complex'"},
    {HEAD COLS "      - {name: v, type: double}\n", 10, "tables.t.columns.v", "duplicate column"},
    {HEAD "      - {name: x, type: string}\n      - {name: ts, type: timestamp}\n", 5,
     "tables.t.entity", "entity column 'v' is not among the columns"},
    {HEAD "      - {name: v, type: string}\n      - {name: t2, type: timestamp}\n", 6,
     "tables.t.time.column", "time column 'ts' is not among the columns"},
    {HEAD COLS "      - {name: x, type: double, min: 5,\n         max: 1}\n", 11,
     "tables.t.columns.x", "min 5 is greater than max 1"},
    {HEAD "      - {name: v, type: string}\n      - {name: ts, type: int64}\n", 6,
     "tables.t.time.column", "a timestamp axis needs a timestamp time column"},
    {"name: f\ntables:\n  t:\n    kind: telemetry\n    entity: v\n    time: {column: c, axis: "
     "counter, unit: km}\n"
     "    columns:\n      - {name: v, type: string}\n      - {name: c, type: timestamp}\n",
     6, "tables.t.time.column", "a counter axis needs a int64 time column"},
    {"name: f\ntables:\n  t:\n    kind: telemetry\n    entity: v\n    time: {column: c, axis: "
     "counter}\n"
     "    columns:\n      - {name: v, type: string}\n      - {name: c, type: int64}\n",
     6, "tables.t.time.unit", "a counter axis needs a unit"},
    {HEAD COLS "      - {name: x, type: double, max: lots}\n", 10, "tables.t.columns.x.max",
     "expected a finite number"},
    {HEAD COLS "      - {name: x, type: string, min: 1}\n", 10, "tables.t.columns.x", "numeric"},
    {HEAD COLS "      - {name: x, type: bool, required: maybe}\n", 10,
     "tables.t.columns.x.required", "true or false"},
    {HEAD COLS "      - {name: 9x, type: bool}\n", 10, "tables.t.columns.9x",
     "invalid column name"},
    {HEAD COLS "      - {type: bool}\n", 10, "tables.t.columns[3]", "missing: the column's name"},
    {HEAD COLS "      - {name: x}\n", 10, "tables.t.columns.x", "missing: the column's type"},
    {"name: f\ntables:\n  t:\n    kind: weather\n", 4, "tables.t.kind", "unknown kind 'weather'"},
    {"name: f\ntables:\n  t:\n    kind: events\n    entity: v\n    time: {column: ts, axis: "
     "sideways}\n",
     6, "tables.t.time.axis", "unknown axis"},
    {"name: f\ntables:\n  t:\n    kind: events\n    time: ts\n    columns: []\n", 3,
     "tables.t.entity", "missing"},
    {"name: f\ntables:\n  t: {kind: events, entity: v, time: ts, columns: []}\n  t: {kind: "
     "events}\n",
     4, "tables.t", "duplicate key"},
    {"tables: {}\n", 1, "name", "missing"},
    {"name: f\n", 1, "tables", "missing"},
    {"name: f\ntables: {}\n", 2, "tables", "at least one table"},
    {"name: 'a b'\ntables: {}\n", 1, "name", "invalid name"},
    {"name: f\ntables:\n  t:\n    kind: events\n    entity: v\n    time: ts\n    columns: {v: "
     "string}\n",
     7, "tables.t.columns", "expected a list"},
    {HEAD "      - {name: v, type: double}\n      - {name: ts, type: timestamp}\n", 5,
     "tables.t.entity", "must be of type string"},
    {HEAD "      - {name: v, type: string, required: false}\n      - {name: ts, type: timestamp}\n",
     8, "tables.t.columns.v.required", "always required"},
    {HEAD COLS "      - [x, double]\n", 10, "tables.t.columns[3]", "a column is a mapping"},
    {"name: f\ntables: [\n", 3, "", "YAML"},
    {"- just\n- a list\n", 1, "", "expected a mapping"},
    {"", 0, "", "empty schema file"},
};

TT_TEST(errors_name_file_line_field) {
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    const bad_case *c = &bad_cases[i];
    tt_schema *s = NULL;
    tt_error e;
    tt_error_clear(&e);
    tt_err rc = tt_schema_parse_string(c->yaml, strlen(c->yaml), "bad.yaml", &s, &e);
    char buf[1200];
    tt_error_format(&e, buf, sizeof buf);
    CHECK_MSG(rc != TT_OK && s == NULL, "case %zu parsed but should not:\n%s", i, c->yaml);
    CHECK_MSG(rc == TT_SCHEMA || rc == TT_PARSE, "case %zu: code %d", i, rc);
    CHECK_MSG(!strcmp(e.file, "bad.yaml"), "case %zu: file '%s'", i, e.file);
    CHECK_MSG(e.line == c->line, "case %zu: line %ld, want %ld (%s)", i, e.line, c->line, buf);
    CHECK_MSG(!strcmp(e.field, c->field), "case %zu: field '%s', want '%s' (%s)", i, e.field,
              c->field, buf);
    CHECK_MSG(strstr(e.msg, c->msg) != NULL, "case %zu: message '%s' lacks '%s'", i, e.msg, c->msg);
    /* Also without an error struct: still a failure, never a crash. */
    CHECK(tt_schema_parse_string(c->yaml, strlen(c->yaml), "bad.yaml", &s, NULL) != TT_OK);
  }
}

TT_TEST(parse_file_errors) {
  tt_schema *s = NULL;
  tt_error e;
  tt_error_clear(&e);
  CHECK_EQ_INT(tt_schema_parse_file("missing.yaml", &s, &e), TT_NOTFOUND);
  CHECK_EQ_STR(e.file, "missing.yaml");
  tt_test_write_file("schemas/x.yaml",
                     HEAD COLS "      - {name: x, type: double, unit: km, max: -1, min: 0}\n");
  tt_error_clear(&e);
  CHECK_EQ_INT(tt_schema_parse_file("schemas/x.yaml", &s, &e), TT_SCHEMA);
  char buf[1200];
  CHECK_EQ_STR(tt_error_format(&e, buf, sizeof buf),
               "schemas/x.yaml:10: field 'tables.t.columns.x': min 0 is greater than max -1");
  tt_test_write_file("schemas/ok.yaml", HEAD COLS);
  CHECK_OK(tt_schema_parse_file("schemas/ok.yaml", &s, &e));
  CHECK_EQ_INT(tt_schema_table_at(s, 0)->ncolumns, 2);
  tt_schema_destroy(s);
}

TT_TEST(json_round_trip_is_canonical) {
  tt_schema *s = parse_ok(tt_project_example_schema());
  char *j1 = tt_schema_to_json(s);
  CHECK(j1 != NULL);
  CHECK(strchr(j1, '\n') == NULL && strstr(j1, ": ") == NULL);
  CHECK(strstr(j1, "\"version\"") == NULL); /* the registry assigns versions */
  tt_schema *back = NULL;
  tt_error e;
  CHECK_OK(tt_schema_from_json(j1, &back, &e));
  char *j2 = tt_schema_to_json(back);
  CHECK_EQ_STR(j2, j1);
  int compatible = 0;
  char *report = NULL;
  CHECK_OK(tt_schema_diff(s, back, &compatible, &report, &e));
  CHECK_EQ_INT(compatible, 1);
  CHECK_EQ_STR(report, "");
  free(report);
  /* The same schema written differently gives the same bytes. */
  tt_schema *a = parse_ok(HEAD COLS "      - {name: x, type: float, min: 0.1, unit: km}\n");
  tt_schema *b =
      parse_ok("name: f\ntables:\n  t:\n    columns:\n      - name: v\n        type: str\n"
               "        required: yes\n      - {type: timestamp, name: ts}\n"
               "      - {unit: km, min: 1e-1, name: x, type: double}\n"
               "    time: {column: ts, axis: timestamp}\n    entity: v\n    kind: telemetry\n");
  char *ja = tt_schema_to_json(a), *jb = tt_schema_to_json(b);
  CHECK_EQ_STR(ja, jb);
  CHECK_STR_CONTAINS(ja, "\"min\":0.10000000000000001");
  free(ja);
  free(jb);
  tt_schema_destroy(a);
  tt_schema_destroy(b);
  free(j1);
  free(j2);
  tt_schema_destroy(back);
  tt_schema_destroy(s);
}

TT_TEST(json_errors) {
  static const struct {
    const char *json, *field, *msg;
  } cases[] = {
      {"{\"name\":\"f\",\"tables\":[],\"extra\":1}", "extra", "unknown key"},
      {"{\"name\":\"f\",\"tables\":[]}", "tables", "at least one table"},
      {"{\"name\":\"f\",\"tables\":[{\"name\":\"t\",\"kind\":\"telemetry\",\"entity\":\"v\","
       "\"time\":{\"column\":\"ts\"},\"columns\":[{\"name\":\"v\",\"type\":\"bits\"}]}]}",
       "tables.t.columns.v.type", "unknown type"},
      {"{\"name\":\"f\",\"tables\":[{\"name\":\"t\",\"kind\":\"telemetry\",\"entity\":\"v\","
       "\"time\":{\"column\":\"ts\"},\"columns\":[{\"name\":\"v\",\"type\":\"string\"},"
       "{\"name\":\"ts\",\"type\":\"timestamp\"},{\"name\":\"x\",\"type\":\"double\",\"min\":\"0\"}"
       "]}]}",
       "tables.t.columns.x.min", "finite number"},
      {"{\"name\":1}", "name", "expected a string"},
      {"[1]", "", "expected an object"},
      {"{\"name\":\"f\",\"name\":\"g\"}", "", "JSON"},
      {"{", "", "JSON"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tt_schema *s = NULL;
    tt_error e;
    tt_error_clear(&e);
    CHECK_MSG(tt_schema_from_json(cases[i].json, &s, &e) != TT_OK && !s, "case %zu accepted", i);
    CHECK_MSG(!strcmp(e.field, cases[i].field), "case %zu: field '%s' want '%s'", i, e.field,
              cases[i].field);
    CHECK_MSG(strstr(e.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg,
              cases[i].msg);
  }
}

/* diff(old, new): compatible?, and one expected line of the report. */
static void check_diff(const char *old_cols, const char *new_cols, int want_compatible,
                       const char *want_line) {
  char a[4096], b[4096];
  snprintf(a, sizeof a, "%s%s%s", HEAD, COLS, old_cols);
  snprintf(b, sizeof b, "%s%s%s", HEAD, COLS, new_cols);
  tt_schema *sa = parse_ok(a), *sb = parse_ok(b);
  int compatible = -1;
  char *report = NULL;
  tt_error e;
  CHECK_OK(tt_schema_diff(sa, sb, &compatible, &report, &e));
  CHECK_MSG(compatible == want_compatible, "compatible=%d, want %d; report:\n%s", compatible,
            want_compatible, report);
  CHECK_STR_CONTAINS(report, want_line);
  free(report);
  tt_schema_destroy(sa);
  tt_schema_destroy(sb);
}

TT_TEST(diff_rules) {
  const char *x = "      - {name: x, type: double, unit: km, min: 0, max: 10}\n";
  check_diff(x, x, 1, "");
  check_diff("", x, 1, "+ table t column x (double, optional)\n");
  check_diff("", "      - {name: x, type: double, required: true}\n", 0,
             "+ table t column x (double, required)  [incompatible]");
  check_diff(x, "", 0, "- table t column x (double)  [incompatible]");
  check_diff(x, "      - {name: x, type: int64, unit: km, min: 0, max: 10}\n", 0,
             "~ table t column x type double -> int64  [incompatible]");
  check_diff(x, "      - {name: x, type: double, unit: m, min: 0, max: 10}\n", 0,
             "~ table t column x unit 'km' -> 'm'  [incompatible]");
  check_diff(x, "      - {name: x, type: double, unit: km, min: 0, max: 10, required: true}\n", 0,
             "~ table t column x optional -> required  [incompatible]");
  check_diff("      - {name: x, type: double, unit: km, min: 0, max: 10, required: true}\n", x, 1,
             "~ table t column x required -> optional\n");
  check_diff(x, "      - {name: x, type: double, unit: km, min: -5}\n", 1,
             "~ table t column x range [0, 10] -> [-5, ]\n");
  check_diff(x, "      - {name: x, type: double, unit: km, min: 0, max: 10, description: d}\n", 1,
             "~ table t column x description\n");
  check_diff("      - {name: x, type: double}\n      - {name: y, type: double}\n",
             "      - {name: y, type: double}\n      - {name: x, type: double}\n", 1,
             "~ table t column order\n");

  /* Tables: adding is compatible, removing or changing the axis is not. */
  tt_schema *one = parse_ok(HEAD COLS);
  tt_schema *two = parse_ok(
      HEAD COLS "  u:\n    kind: events\n    entity: v\n    time: ts\n    columns:\n" COLS);
  tt_schema *moved =
      parse_ok("name: f\ntables:\n  t:\n    kind: events\n    entity: v\n"
               "    time: {column: c, axis: counter, unit: cycles}\n    columns:\n" COLS
               "      - {name: c, type: int64}\n");
  int compatible;
  char *report;
  tt_error e;
  CHECK_OK(tt_schema_diff(one, two, &compatible, &report, &e));
  CHECK_EQ_INT(compatible, 1);
  CHECK_EQ_STR(report, "+ table u (events, 2 columns)\n");
  free(report);
  CHECK_OK(tt_schema_diff(two, one, &compatible, &report, &e));
  CHECK_EQ_INT(compatible, 0);
  CHECK_EQ_STR(report, "- table u (events, 2 columns)  [incompatible]\n");
  free(report);
  CHECK_OK(tt_schema_diff(one, moved, &compatible, &report, &e));
  CHECK_EQ_INT(compatible, 0);
  CHECK_STR_CONTAINS(report, "~ table t kind telemetry -> events  [incompatible]\n");
  CHECK_STR_CONTAINS(report, "~ table t time column ts -> c  [incompatible]\n");
  CHECK_STR_CONTAINS(report,
                     "~ table t time axis timestamp (us) -> counter (cycles)  [incompatible]\n");
  CHECK_STR_CONTAINS(report, "+ table t column c (int64, required)  [incompatible]\n");
  free(report);
  tt_schema_destroy(one);
  tt_schema_destroy(two);
  tt_schema_destroy(moved);
}
