/* telltale — columnar record batches.
 *
 * Stages hand each other batches: one typed vector per column, a validity
 * byte per value. By convention column 0 is the entity (vehicle id, string)
 * and column 1 the time axis (int64: microseconds UTC, or a counter), then
 * one column per signal, in schema order. This is the shape DuckDB appends,
 * the feature engine folds and XGBoost scores.
 *
 * Strings are owned by the batch (copied into a per-batch arena) and live
 * until tt_batch_reset or tt_batch_destroy.
 */
#ifndef TELLTALE_BATCH_H
#define TELLTALE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_type {
  TT_TYPE_DOUBLE = 0,    /* double */
  TT_TYPE_INT64 = 1,     /* int64_t (integers, counters) */
  TT_TYPE_STRING = 2,    /* const char * (UTF-8, NUL-terminated) */
  TT_TYPE_BOOL = 3,      /* uint8_t 0/1 */
  TT_TYPE_TIMESTAMP = 4, /* int64_t microseconds UTC */
} tt_type;

/* "double", "int64", "string", "bool", "timestamp"; tt_type_parse returns -1
 * for an unknown name (also accepts "float", "int", "integer", "text"). */
const char *tt_type_name(tt_type t);
int tt_type_parse(const char *name);

typedef struct tt_vector {
  char *name;
  tt_type type;
  union {
    double *f64;
    int64_t *i64; /* INT64 and TIMESTAMP */
    const char **str;
    uint8_t *b;
  } v;
  uint8_t *valid; /* valid[i] == 0: value i is null */
} tt_vector;

typedef struct tt_batch {
  size_t nrows;
  size_t capacity;
  size_t ncols;
  tt_vector *cols;
  struct tt_arena *arena; /* string storage, reset with the batch */
} tt_batch;

/* A batch with room for `capacity` rows. names/types are copied. NULL on
 * out-of-memory. */
tt_batch *tt_batch_new(size_t ncols, const char *const *names, const tt_type *types,
                       size_t capacity);
void tt_batch_destroy(tt_batch *b);

/* Drop all rows and strings; keeps columns and capacity. */
void tt_batch_reset(tt_batch *b);

/* Appends one row whose values are all null; returns its index, or
 * (size_t)-1 when the batch is full. Fill it with the setters below. */
size_t tt_batch_add_row(tt_batch *b);

/* Remove the last row (e.g. after it failed validation). */
void tt_batch_pop_row(tt_batch *b);

void tt_batch_set_double(tt_batch *b, size_t col, size_t row, double v);
void tt_batch_set_int64(tt_batch *b, size_t col, size_t row, int64_t v);
void tt_batch_set_bool(tt_batch *b, size_t col, size_t row, int v);
/* Copies s[0..len) into the batch's arena. Returns TT_NOMEM on failure. */
tt_err tt_batch_set_string(tt_batch *b, size_t col, size_t row, const char *s, size_t len);
void tt_batch_set_null(tt_batch *b, size_t col, size_t row);

/* Column index by name, or -1. */
int tt_batch_column(const tt_batch *b, const char *name);

/* Copy row `src_row` of src into a new row of dst (same column layout).
 * Returns the new row index or (size_t)-1 if dst is full / out of memory. */
size_t tt_batch_copy_row(tt_batch *dst, const tt_batch *src, size_t src_row);

#ifdef __cplusplus
}
#endif
#endif
