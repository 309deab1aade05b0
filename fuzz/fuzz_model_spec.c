/* libFuzzer target: the model spec parser must reject any input with an
 * error, never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "telltale/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tt_model_spec *s = NULL;
  tt_error e;
  if (tt_model_spec_parse_string((const char *)data, size, "fuzz.yaml", &s, &e) == TT_OK) {
    char *json = tt_model_spec_to_json(s);
    free(json);
    tt_model_spec_destroy(s);
  }
  return 0;
}
