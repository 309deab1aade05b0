/* libFuzzer target: timestamp and duration parsing (tt_time_parse,
 * tt_duration_parse). Every value a record carries goes through these. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tt_time t;
  if (tt_time_parse((const char *)data, size, &t) == 0) {
    char buf[64];
    tt_time_format(t, buf, sizeof buf);
    tt_time_format_date(t, buf, sizeof buf);
  }
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  int64_t us;
  (void)tt_duration_parse(s, &us);
  free(s);
  return 0;
}
