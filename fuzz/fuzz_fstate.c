/* libFuzzer target: loading a saved engine state (tt_fstate_load), as the
 * Redis online store does with whatever bytes a key holds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/features.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *SET = "name: f\nsource: t\ntile: 1h\nfeatures:\n"
                         "  - {name: a, column: v, agg: mean, window: 2h}\n"
                         "  - {name: b, column: v, agg: slope, window: 1d}\n"
                         "  - {name: c, table: e, code: X, agg: count, window: 3h}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static tt_feature_set *fs;
  static tt_fengine *eng;
  tt_error err;
  if (!fs) {
    if (tt_feature_set_parse_string(SET, strlen(SET), "set", NULL, &fs, &err) != TT_OK) abort();
    if (tt_fengine_new(fs, &eng, &err) != TT_OK) abort();
  }
  /* The header carries the set's version: splice it in so the fuzzer
   * reaches the tile decoding. */
  unsigned char *buf = malloc(size + 68);
  if (!buf) return 0;
  memcpy(buf, "TTF1", 4);
  memcpy(buf + 4, tt_feature_set_version(fs), 64);
  memcpy(buf + 68, data, size);
  tt_fstate *st = tt_fstate_new(eng);
  if (st && tt_fstate_load(eng, st, buf, size + 68, &err) == TT_OK) {
    double out[3];
    tt_time t = tt_fstate_latest(st);
    (void)tt_fengine_eval(eng, st, t == INT64_MIN ? 0 : t, out, &err);
  }
  tt_fstate_destroy(st);
  free(buf);
  return 0;
}
