/* libFuzzer: CSV record parsing and validation. The first byte picks the
 * dialect and whether the second line is a header; then each line of the
 * input is one record of the example fleet's telemetry table. Every record
 * must either become a row or be rejected with a known reason. */
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
  if (size < 1) return 0;
  static const char delims[] = {',', ';', '\t', ' '};
  tt_csv_dialect d = {delims[data[0] & 3], (data[0] >> 2) & 1};
  const tt_table_def *t = tt_schema_table(schema, (data[0] & 8) ? "dtc" : "telemetry");
  tt_record_parser *p;
  if (tt_record_parser_new(t, 4096, &p, NULL) != TT_OK) abort();
  tt_record_parser_set_dialect(p, &d);
  tt_batch *b = tt_lake_batch_new(t, 8);
  const char *s = (const char *)data + 1, *end = (const char *)data + size;
  int first = 1;
  tt_csv_dialect sniffed;
  tt_csv_sniff(s, (size_t)(end - s), t, &sniffed);
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
    tt_reject rej;
    if (first && d.header) {
      (void)tt_record_parser_csv_header(p, s, n, &rej);
    } else {
      if (b->nrows == b->capacity) tt_batch_reset(b);
      size_t before = b->nrows;
      int rc = tt_record_parse_csv(p, s, n, b, &rej);
      if (rc == 0 && b->nrows != before + 1) abort();
      if (rc == 1 && (b->nrows != before || (unsigned)rej.reason >= TT_REJECT_COUNT)) abort();
    }
    first = 0;
    s += n + 1;
  }
  tt_batch_destroy(b);
  tt_record_parser_destroy(p);
  return 0;
}
