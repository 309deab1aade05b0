/* telltale — errors.
 *
 * One error enum, generated with its strings from TT_ERRNO_MAP (as libuv does
 * with UV_ERRNO_MAP), and a tt_error that carries the context a user needs to
 * fix the input: the file, line and field where it went wrong.
 *
 * Convention: functions that can fail return tt_err (TT_OK == 0) and take a
 * `tt_error *err` as their last argument, which may be NULL when the caller
 * does not want the details. Messages of dependencies (DuckDB, SQLite,
 * XGBoost, librdkafka, hiredis, libpq) are copied into the tt_error at the
 * wrapper boundary at once, because they belong to the dependency.
 */
#ifndef TELLTALE_ERROR_H
#define TELLTALE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TT_ERRNO_MAP(X)                                                        \
  X(OK, 0, "success")                                                          \
  X(NOMEM, 1, "out of memory")                                                 \
  X(IO, 2, "input/output error")                                               \
  X(NOTFOUND, 3, "not found")                                                  \
  X(EXISTS, 4, "already exists")                                               \
  X(INVALID, 5, "invalid argument")                                            \
  X(PARSE, 6, "parse error")                                                   \
  X(CONFIG, 7, "configuration error")                                          \
  X(SCHEMA, 8, "schema error")                                                 \
  X(INCOMPATIBLE, 9, "incompatible change")                                    \
  X(DB, 10, "database error")                                                  \
  X(KAFKA, 11, "kafka error")                                                  \
  X(REDIS, 12, "redis error")                                                  \
  X(MODEL, 13, "model error")                                                  \
  X(CHECKSUM, 14, "checksum mismatch")                                         \
  X(LIMIT, 15, "limit exceeded")                                               \
  X(INTERRUPTED, 16, "interrupted")                                            \
  X(UNSUPPORTED, 17, "unsupported")                                            \
  X(INTERNAL, 18, "internal error")

typedef enum tt_err {
#define TT_ERR_ENUM_(name, num, str) TT_##name = num,
  TT_ERRNO_MAP(TT_ERR_ENUM_)
#undef TT_ERR_ENUM_
  TT_ERR_MAX_
} tt_err;

/* Where and why. All strings are NUL-terminated and owned by the struct. */
typedef struct tt_error {
  tt_err code;
  char file[256];  /* input file, or "" */
  long line;       /* 1-based line (or record) number, or 0 */
  char field[128]; /* column / YAML key / option, or "" */
  char msg[512];   /* human-readable detail */
} tt_error;

/* Static string for an error code; never NULL. */
const char *tt_strerror(tt_err code);

/* Short machine name of an error code ("PARSE"); never NULL. */
const char *tt_err_name(tt_err code);

/* Clear an error (code TT_OK, empty context). err may be NULL. */
void tt_error_clear(tt_error *err);

/* Set code and message; keeps file/line/field already set. Returns code so
 * that `return tt_error_set(err, TT_IO, "...")` reads naturally. */
tt_err tt_error_set(tt_error *err, tt_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Attach where it happened. Any of file/field may be NULL to leave as is;
 * line 0 leaves the line as is. Returns err->code (TT_OK if err is NULL). */
tt_err tt_error_at(tt_error *err, const char *file, long line, const char *field);

/* Format "file:line: field 'x': message" into buf; returns buf. */
const char *tt_error_format(const tt_error *err, char *buf, size_t size);

#define TT_WARN_UNUSED __attribute__((warn_unused_result))

#ifdef __cplusplus
}
#endif
#endif
