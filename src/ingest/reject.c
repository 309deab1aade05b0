/* Reject reasons: names and descriptions from TT_REJECT_MAP. */
#include <stdarg.h>
#include <stdio.h>

#include "ingest/ingest_internal.h"

static const char *const names[] = {
#define X(e, name, desc) name,
    TT_REJECT_MAP(X)
#undef X
};
static const char *const descs[] = {
#define X(e, name, desc) desc,
    TT_REJECT_MAP(X)
#undef X
};

const char *tt_reject_name(tt_reject_reason r) {
  return (unsigned)r < TT_REJECT_COUNT ? names[r] : "unknown";
}

const char *tt_reject_description(tt_reject_reason r) {
  return (unsigned)r < TT_REJECT_COUNT ? descs[r] : "unknown reason";
}

int tt__reject(tt_reject *rej, tt_reject_reason r, const char *field, const char *fmt, ...) {
  rej->reason = r;
  snprintf(rej->field, sizeof rej->field, "%s", field ? field : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rej->detail, sizeof rej->detail, fmt, ap);
  va_end(ap);
  return 1;
}
