/* libFuzzer target: the feature-set YAML reader (tt_feature_set_parse_string).
 *
 * Besides "never crash", a set that parses must compile into an engine that
 * folds and evaluates, its canonical JSON must diff empty against itself,
 * and a saved state must load back. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tt_feature_set *fs = NULL;
  tt_error err;
  tt_error_clear(&err);
  if (tt_feature_set_parse_string((const char *)data, size, "fuzz.yaml", NULL, &fs, &err) !=
      TT_OK) {
    char buf[1200];
    tt_error_format(&err, buf, sizeof buf);
    return 0;
  }
  if (strlen(tt_feature_set_version(fs)) != 64) abort();
  char *report = NULL;
  if (tt_feature_set_diff(tt_feature_set_json(fs), tt_feature_set_json(fs), &report, &err) !=
          TT_OK ||
      report[0]) {
    fprintf(stderr, "self-diff not empty: %s\n", report ? report : err.msg);
    abort();
  }
  free(report);
  tt_fengine *eng = NULL;
  if (tt_fengine_new(fs, &eng, &err) != TT_OK) abort();
  tt_fstate *st = tt_fstate_new(eng);
  /* A few rows with every column the set might name: unknown ones make the
   * fold fail cleanly, which is fine; it must not crash. */
  size_t nf = tt_feature_set_count(fs);
  const char *names[4] = {tt_feature_set_entity(fs), tt_feature_set_time_column(fs),
                          tt_feature_set_code_column(fs), "v"};
  tt_type types[4] = {TT_TYPE_STRING, TT_TYPE_TIMESTAMP, TT_TYPE_STRING, TT_TYPE_DOUBLE};
  tt_batch *b = tt_batch_new(4, names, types, 4);
  if (b && st) {
    for (int i = 0; i < 3; i++) {
      size_t r = tt_batch_add_row(b);
      (void)tt_batch_set_string(b, 0, r, "v1", 2);
      tt_batch_set_int64(b, 1, r, (int64_t)i * 1000003 - 7);
      (void)tt_batch_set_string(b, 2, r, "P0562", 5);
      if (i) tt_batch_set_double(b, 3, r, i * 1.5);
    }
    for (size_t t = 0; t < tt_feature_set_table_count(fs); t++)
      (void)tt_fengine_fold(eng, st, tt_feature_set_table_at(fs, t), b, 0, b->nrows, &err);
    double *out = malloc((nf + 1) * sizeof *out);
    if (out &&
        tt_fengine_eval(eng, st, tt_fstate_latest(st) == INT64_MIN ? 0 : tt_fstate_latest(st), out,
                        &err) != TT_OK)
      abort();
    unsigned char *buf = NULL;
    size_t len = 0;
    if (tt_fstate_save(eng, st, &buf, &len, &err) != TT_OK) abort();
    tt_fstate *back = tt_fstate_new(eng);
    if (!back || tt_fstate_load(eng, back, buf, len, &err) != TT_OK) abort();
    tt_fstate_destroy(back);
    free(buf);
    free(out);
  }
  tt_batch_destroy(b);
  tt_fstate_destroy(st);
  tt_fengine_destroy(eng);
  tt_feature_set_destroy(fs);
  return 0;
}
