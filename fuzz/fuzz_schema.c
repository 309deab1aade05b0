/* libFuzzer target: the schema YAML reader (tt_schema_parse_string).
 *
 * Besides "never crash", it checks the invariants the registry relies on:
 * a schema that parses turns into canonical JSON that reads back to the
 * same JSON, and diffs against itself as compatible with no changes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tt_schema *s = NULL;
  tt_error err;
  tt_error_clear(&err);
  if (tt_schema_parse_string((const char *)data, size, "fuzz.yaml", &s, &err) != TT_OK) {
    char buf[1200];
    tt_error_format(&err, buf, sizeof buf);
    return 0;
  }
  char *json = tt_schema_to_json(s);
  if (!json) abort();
  tt_schema *back = NULL;
  if (tt_schema_from_json(json, &back, &err) != TT_OK) {
    fprintf(stderr, "canonical JSON does not read back: %s\n%s\n", err.msg, json);
    abort();
  }
  char *again = tt_schema_to_json(back);
  if (!again || strcmp(json, again) != 0) {
    fprintf(stderr, "JSON round trip differs:\n%s\n%s\n", json, again ? again : "(null)");
    abort();
  }
  int compatible = 0;
  char *report = NULL;
  if (tt_schema_diff(s, back, &compatible, &report, &err) != TT_OK || !compatible || report[0]) {
    fprintf(stderr, "self-diff not empty: %s\n", report ? report : "(null)");
    abort();
  }
  free(report);
  free(again);
  free(json);
  tt_schema_destroy(back);
  tt_schema_destroy(s);
  return 0;
}
