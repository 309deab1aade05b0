#include "core/json_escape.h"

#include <string.h>

size_t tt_json_escape(char *dst, size_t size, const char *s) {
  size_t n = 0;
  if (size == 0) return 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    char tmp[8];
    const char *rep = NULL;
    size_t len = 1;
    switch (*p) {
    case '"': rep = "\\\""; len = 2; break;
    case '\\': rep = "\\\\"; len = 2; break;
    case '\n': rep = "\\n"; len = 2; break;
    case '\r': rep = "\\r"; len = 2; break;
    case '\t': rep = "\\t"; len = 2; break;
    default:
      if (*p < 0x20) {
        snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        rep = tmp;
        len = 6;
      }
    }
    if (n + len >= size) break;
    if (rep) memcpy(dst + n, rep, len);
    else dst[n] = (char)*p;
    n += len;
  }
  dst[n] = '\0';
  return n;
}

void tt_json_write_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    case '\t': fputs("\\t", f); break;
    default:
      if (*p < 0x20) fprintf(f, "\\u%04x", *p);
      else fputc(*p, f);
    }
  }
  fputc('"', f);
}
