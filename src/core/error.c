/* Error strings and context. See include/telltale/error.h. */
#include "telltale/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tt_strerror(tt_err code) {
  switch (code) {
#define TT_ERR_STR_(name, num, str)                                            \
  case TT_##name:                                                              \
    return str;
    TT_ERRNO_MAP(TT_ERR_STR_)
#undef TT_ERR_STR_
  default:
    return "unknown error";
  }
}

const char *tt_err_name(tt_err code) {
  switch (code) {
#define TT_ERR_NAME_(name, num, str)                                           \
  case TT_##name:                                                              \
    return #name;
    TT_ERRNO_MAP(TT_ERR_NAME_)
#undef TT_ERR_NAME_
  default:
    return "UNKNOWN";
  }
}

void tt_error_clear(tt_error *err) {
  if (!err) return;
  err->code = TT_OK;
  err->file[0] = err->field[0] = err->msg[0] = '\0';
  err->line = 0;
}

tt_err tt_error_set(tt_error *err, tt_err code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

tt_err tt_error_at(tt_error *err, const char *file, long line, const char *field) {
  if (!err) return TT_OK;
  if (file) snprintf(err->file, sizeof err->file, "%s", file);
  if (line > 0) err->line = line;
  if (field) snprintf(err->field, sizeof err->field, "%s", field);
  return err->code;
}

const char *tt_error_format(const tt_error *err, char *buf, size_t size) {
  size_t n = 0;
  if (!buf || size == 0) return buf;
  buf[0] = '\0';
  if (!err) return buf;
#define APPEND_(...)                                                           \
  do {                                                                         \
    if (n < size) {                                                            \
      int w_ = snprintf(buf + n, size - n, __VA_ARGS__);                       \
      if (w_ > 0) n += (size_t)w_;                                             \
    }                                                                          \
  } while (0)
  if (err->file[0]) {
    APPEND_("%s", err->file);
    if (err->line > 0) APPEND_(":%ld", err->line);
    APPEND_(": ");
  } else if (err->line > 0) {
    APPEND_("line %ld: ", err->line);
  }
  if (err->field[0]) APPEND_("field '%s': ", err->field);
  APPEND_("%s", err->msg[0] ? err->msg : tt_strerror(err->code));
#undef APPEND_
  return buf;
}
