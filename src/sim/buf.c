/* Growable output buffer; see buf.h. */
#include "sim/buf.h"

#include <stdlib.h>

int tt__buf_reserve(tt__buf *b, size_t n) {
  if (b->failed) return -1;
  if (b->len + n <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + n)
    cap *= 2;
  if (cap > TT__BUF_CAP) {
    b->failed = 1;
    return -1;
  }
  char *p = realloc(b->p, cap);
  if (!p) {
    b->failed = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void tt__buf_free(tt__buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}
