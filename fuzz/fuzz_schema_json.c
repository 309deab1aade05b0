/* libFuzzer target: reading a schema back from JSON (tt_schema_from_json),
 * as the registry does with whatever a database hands it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  tt_schema *s = NULL;
  tt_error err;
  if (tt_schema_from_json(text, &s, &err) == TT_OK) {
    char *json = tt_schema_to_json(s);
    if (!json) abort();
    free(json);
    tt_schema_destroy(s);
  }
  free(text);
  return 0;
}
