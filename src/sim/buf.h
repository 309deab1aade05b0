/* Internal: a growable byte buffer for formatted output.
 *
 * Appends never fail loudly: an allocation failure or passing the cap sets
 * `failed` and later appends do nothing, so the hot loop needs no checks and
 * the caller looks at `failed` once per block (curl's dynbuf does the same
 * with its cap). */
#ifndef TT_SIM_BUF_H
#define TT_SIM_BUF_H
#include <stddef.h>
#include <string.h>

/* No single buffer grows beyond this; a day of one vehicle group is far less. */
#define TT__BUF_CAP ((size_t)1 << 31)

typedef struct tt__buf {
  char *p;
  size_t len, cap;
  int failed;
} tt__buf;

/* Make room for n more bytes; 0 on success. */
int tt__buf_reserve(tt__buf *b, size_t n);
void tt__buf_free(tt__buf *b);
static inline void tt__buf_reset(tt__buf *b) { b->len = 0; }

static inline void tt__buf_append(tt__buf *b, const char *s, size_t n) {
  if (b->len + n > b->cap && tt__buf_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}
static inline void tt__buf_puts(tt__buf *b, const char *s) { tt__buf_append(b, s, strlen(s)); }
static inline void tt__buf_putc(tt__buf *b, char c) {
  if (b->len + 1 > b->cap && tt__buf_reserve(b, 1)) return;
  b->p[b->len++] = c;
}
#endif
