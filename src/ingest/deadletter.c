/* Dead-letter rows: the reason, where the record came from, and the record
 * itself, made storable (cut to a maximum, invalid UTF-8 replaced by '?'),
 * because the dead-letter table must accept every record the lake refused. */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"

tt_err tt_deadletter_add(tt_batch *dl, const tt_reject *rej, const char *source, int64_t line,
                         const char *raw, size_t rawlen, size_t max_raw, int64_t ingested_at) {
  size_t r = tt_batch_add_row(dl);
  if (r == (size_t)-1) return TT_LIMIT;
  size_t n = rawlen < max_raw ? rawlen : max_raw;
  char *copy = malloc(n + 1);
  if (!copy) {
    tt_batch_pop_row(dl);
    return TT_NOMEM;
  }
  memcpy(copy, raw, n);
  copy[n] = '\0';
  size_t off = 0, bad;
  while (off < n && !tt__utf8_valid(copy + off, n - off, &bad)) {
    /* A multi-byte character cut at the end, or an invalid byte: '?'. */
    copy[off + bad] = '?';
    off += bad + 1;
  }
  /* NUL bytes would end the C string early; make them visible too. */
  for (size_t i = 0; i < n; i++)
    if (copy[i] == '\0') copy[i] = '?';
  tt_err rc = tt_batch_set_string(dl, 0, r, tt_reject_name(rej->reason),
                                  strlen(tt_reject_name(rej->reason)));
  if (!rc) rc = tt_batch_set_string(dl, 1, r, rej->detail, strlen(rej->detail));
  if (!rc) rc = tt_batch_set_string(dl, 2, r, rej->field, strlen(rej->field));
  if (!rc) rc = tt_batch_set_string(dl, 3, r, source ? source : "", source ? strlen(source) : 0);
  tt_batch_set_int64(dl, 4, r, line);
  if (!rc) rc = tt_batch_set_string(dl, 5, r, copy, n);
  tt_batch_set_int64(dl, 6, r, ingested_at);
  free(copy);
  if (rc) {
    tt_batch_pop_row(dl);
    return TT_NOMEM;
  }
  return TT_OK;
}
