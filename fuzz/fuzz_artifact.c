/* libFuzzer target: the model artefact format (header, metadata line,
 * model text) must be split or refused, never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/artifact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *meta = NULL, *model = NULL;
  size_t len = 0;
  tt_error e;
  if (tt__artifact_parse((const char *)data, size, &meta, &model, &len, &e) == TT_OK) {
    /* The model text is the input's tail, NUL-terminated. */
    if (len > size || model[len] != '\0' || memcmp(model, data + size - len, len) != 0) abort();
    free(meta);
    free(model);
  }
  return 0;
}
