/* Converting one value's text to its column's type, with the schema's
 * checks (type, range, required). Shared by the CSV and JSON parsers, so a
 * record means the same whichever format it came in. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/ingest_internal.h"
#include "telltale/time.h"

/* Printable excerpt of a value for a reject detail. */
static const char *excerpt(const char *s, size_t len, char *buf, size_t size) {
  size_t n = len < size - 4 ? len : size - 4;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) buf[k++] = ((unsigned char)s[i] < 0x20) ? '?' : s[i];
  if (n < len) buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
  buf[k] = '\0';
  return buf;
}

static int range_check(const tt_column_def *c, double v, const char *s, size_t len,
                       tt_reject *rej) {
  if ((c->has_min && v < c->min) || (c->has_max && v > c->max)) {
    char e[64];
    return tt__reject(rej, TT_REJECT_OUT_OF_RANGE, c->name, "%s is outside [%g, %g]",
                      excerpt(s, len, e, sizeof e), c->has_min ? c->min : -INFINITY,
                      c->has_max ? c->max : INFINITY);
  }
  return 0;
}

static int parse_bool(const char *s, size_t len, int *out) {
  static const char *const t[] = {"true", "t", "1", "yes", "y", "on"};
  static const char *const f[] = {"false", "f", "0", "no", "n", "off"};
  for (size_t i = 0; i < 6; i++) {
    if (strlen(t[i]) == len && !strncasecmp(s, t[i], len)) return *out = 1, 0;
    if (strlen(f[i]) == len && !strncasecmp(s, f[i], len)) return *out = 0, 0;
  }
  return -1;
}

/* Plain decimals ("-12.345") with at most 15 significant digits and 22
 * fraction digits convert exactly: m and 10^k are exact doubles and IEEE
 * division rounds correctly (Clinger's fast path), so the result equals
 * strtod's. It is most of telemetry and several times faster. Returns -1
 * when the text is not of that form (strtod decides then). */
static inline int fast_double(const char *s, size_t len, double *out) {
  static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  size_t i = 0;
  int neg = 0, dot = 0, ndigits = 0, frac = 0, sig = 0;
  uint64_t m = 0;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  for (; i < len; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      ndigits++;
      if (m || c != '0') sig++;
      if (sig > 15) return -1;
      m = m * 10 + (uint64_t)(c - '0');
      frac += dot;
    } else if (c == '.' && !dot) {
      dot = 1;
    } else {
      return -1;
    }
  }
  if (!ndigits || frac > 22) return -1;
  double v = (double)m;
  if (frac) v /= p10[frac];
  *out = neg ? -v : v;
  return 0;
}

int tt__value_set(tt_record_parser *p, size_t col, const char *s, size_t len, int kind,
                  tt_reject *rej) {
  const tt_column_def *c = &p->t->columns[col];
  tt_batch *b = p->out;
  char e[64];
  if (kind == TT__VAL_TEXT) {
    /* Blanks around unquoted CSV values are not data. */
    while (len && (s[0] == ' ' || s[0] == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
    if (len == 0) {
      tt_batch_set_null(b, col, p->row); /* required is checked per record */
      return 0;
    }
  }
  switch (c->type) {
  case TT_TYPE_STRING:
    if (kind == TT__VAL_JSON_NUMBER || kind == TT__VAL_JSON_BOOL)
      return tt__reject(rej, TT_REJECT_WRONG_TYPE, c->name, "%s is not a string",
                        excerpt(s, len, e, sizeof e));
    if (tt_batch_set_string(b, col, p->row, s, len) != TT_OK) {
      p->nomem = 1;
      return tt__reject(rej, TT_REJECT_PARSE, c->name, "out of memory");
    }
    return 0;
  case TT_TYPE_BOOL: {
    int v;
    if (kind == TT__VAL_JSON_STRING || kind == TT__VAL_JSON_NUMBER || parse_bool(s, len, &v))
      return tt__reject(rej, TT_REJECT_WRONG_TYPE, c->name, "%s is not a boolean",
                        excerpt(s, len, e, sizeof e));
    tt_batch_set_bool(b, col, p->row, v);
    return 0;
  }
  case TT_TYPE_TIMESTAMP: {
    tt_time t;
    if (kind == TT__VAL_JSON_BOOL || tt_time_parse(s, len, &t))
      return tt__reject(rej, TT_REJECT_WRONG_TYPE, c->name,
                        "%s is not a timestamp (ISO 8601 or epoch number)",
                        excerpt(s, len, e, sizeof e));
    tt_batch_set_int64(b, col, p->row, t);
    return 0;
  }
  case TT_TYPE_DOUBLE:
  case TT_TYPE_INT64: {
    char buf[64];
    if (kind == TT__VAL_JSON_STRING || kind == TT__VAL_JSON_BOOL || len >= sizeof buf)
      return tt__reject(rej, TT_REJECT_WRONG_TYPE, c->name, "%s is not a number",
                        excerpt(s, len, e, sizeof e));
    if (c->type == TT_TYPE_DOUBLE) {
      /* The hot path of telemetry: no copy, no call into libc. */
      double v;
      if (fast_double(s, len, &v) == 0) {
        if ((c->has_min && v < c->min) || (c->has_max && v > c->max))
          return range_check(c, v, s, len, rej);
        b->cols[col].v.f64[p->row] = v;
        b->cols[col].valid[p->row] = 1;
        return 0;
      }
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    if (c->type == TT_TYPE_INT64) {
      long long v = strtoll(buf, &end, 10);
      if (end == buf || *end)
        return tt__reject(rej, TT_REJECT_WRONG_TYPE, c->name, "%s is not an integer", buf);
      if (errno == ERANGE)
        return tt__reject(rej, TT_REJECT_OUT_OF_RANGE, c->name, "%s does not fit in 64 bits",
                          buf);
      if (range_check(c, (double)v, s, len, rej)) return 1;
      tt_batch_set_int64(b, col, p->row, v);
    } else {
      double v = strtod(buf, &end);
      /* strtod accepts "nan", "inf" and hex; a finite decimal is wanted. */
      if (end == buf || *end || !isfinite(v) || strpbrk(buf, "xXnN"))
        return tt__reject(rej, TT_REJECT_WRONG_TYPE, c->name, "%s is not a finite number",
                          buf);
      if (range_check(c, v, s, len, rej)) return 1;
      tt_batch_set_double(b, col, p->row, v);
    }
    return 0;
  }
  }
  return 0;
}
