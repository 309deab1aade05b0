/* libFuzzer: JSON-lines record parsing and validation against the example
 * fleet's telemetry table; each line is one record, and each must become a
 * row or be rejected with a known reason. Rejected records also go through
 * tt_deadletter_add, which must store any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/ingest.h"
#include "telltale/lake.h"
#include "telltale/project.h"

static tt_schema *schema;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!schema) {
    const char *y = tt_project_example_schema();
    if (tt_schema_parse_string(y, strlen(y), "example", &schema, NULL) != TT_OK) abort();
  }
  const tt_table_def *t = tt_schema_table(schema, "telemetry");
  tt_record_parser *p;
  if (tt_record_parser_new(t, 4096, &p, NULL) != TT_OK) abort();
  tt_batch *b = tt_lake_batch_new(t, 8);
  tt_batch *dl = tt_lake_batch_new(tt_lake_deadletter_table(), 8);
  const char *s = (const char *)data, *end = s + size;
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
    tt_reject rej;
    if (b->nrows == b->capacity) tt_batch_reset(b);
    if (dl->nrows == dl->capacity) tt_batch_reset(dl);
    size_t before = b->nrows;
    int rc = tt_record_parse_json(p, s, n, b, &rej);
    if (rc == 0 && b->nrows != before + 1) abort();
    if (rc == 1) {
      if (b->nrows != before || (unsigned)rej.reason >= TT_REJECT_COUNT) abort();
      if (tt_deadletter_add(dl, &rej, "fuzz", 1, s, n, 64, 0) != TT_OK) abort();
    }
    s += n + 1;
  }
  tt_batch_destroy(dl);
  tt_batch_destroy(b);
  tt_record_parser_destroy(p);
  return 0;
}
