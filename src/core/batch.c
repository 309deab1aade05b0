/* Columnar record batches. See include/telltale/batch.h. */
#include "telltale/batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static const char *const type_names[] = {"double", "int64", "string", "bool", "timestamp"};

const char *tt_type_name(tt_type t) {
  return (unsigned)t < sizeof type_names / sizeof *type_names ? type_names[t] : "?";
}

int tt_type_parse(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < (int)(sizeof type_names / sizeof *type_names); i++)
    if (!strcmp(name, type_names[i])) return i;
  if (!strcmp(name, "float") || !strcmp(name, "float64") || !strcmp(name, "real")) return TT_TYPE_DOUBLE;
  if (!strcmp(name, "int") || !strcmp(name, "integer") || !strcmp(name, "counter")) return TT_TYPE_INT64;
  if (!strcmp(name, "text") || !strcmp(name, "str")) return TT_TYPE_STRING;
  if (!strcmp(name, "boolean")) return TT_TYPE_BOOL;
  return -1;
}

static size_t type_size(tt_type t) {
  switch (t) {
  case TT_TYPE_DOUBLE: return sizeof(double);
  case TT_TYPE_INT64:
  case TT_TYPE_TIMESTAMP: return sizeof(int64_t);
  case TT_TYPE_STRING: return sizeof(const char *);
  case TT_TYPE_BOOL: return 1;
  }
  return 8;
}

tt_batch *tt_batch_new(size_t ncols, const char *const *names, const tt_type *types,
                       size_t capacity) {
  tt_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->capacity = capacity ? capacity : 1;
  b->ncols = ncols;
  b->cols = calloc(ncols ? ncols : 1, sizeof *b->cols);
  b->arena = tt_arena_new(256 * 1024);
  if (!b->cols || !b->arena) goto fail;
  for (size_t c = 0; c < ncols; c++) {
    tt_vector *v = &b->cols[c];
    v->name = strdup(names[c]);
    v->type = types[c];
    v->v.f64 = calloc(b->capacity, type_size(types[c]));
    v->valid = calloc(b->capacity, 1);
    if (!v->name || !v->v.f64 || !v->valid) goto fail;
  }
  return b;
fail:
  tt_batch_destroy(b);
  return NULL;
}

void tt_batch_destroy(tt_batch *b) {
  if (!b) return;
  if (b->cols) {
    for (size_t c = 0; c < b->ncols; c++) {
      free(b->cols[c].name);
      free(b->cols[c].v.f64);
      free(b->cols[c].valid);
    }
    free(b->cols);
  }
  if (b->arena) tt_arena_destroy(b->arena);
  free(b);
}

void tt_batch_reset(tt_batch *b) {
  b->nrows = 0;
  tt_arena_reset(b->arena);
}

size_t tt_batch_add_row(tt_batch *b) {
  if (b->nrows >= b->capacity) return (size_t)-1;
  size_t r = b->nrows++;
  for (size_t c = 0; c < b->ncols; c++) b->cols[c].valid[r] = 0;
  return r;
}

void tt_batch_pop_row(tt_batch *b) {
  if (b->nrows) b->nrows--;
}

void tt_batch_set_double(tt_batch *b, size_t col, size_t row, double v) {
  b->cols[col].v.f64[row] = v;
  b->cols[col].valid[row] = 1;
}

void tt_batch_set_int64(tt_batch *b, size_t col, size_t row, int64_t v) {
  b->cols[col].v.i64[row] = v;
  b->cols[col].valid[row] = 1;
}

void tt_batch_set_bool(tt_batch *b, size_t col, size_t row, int v) {
  b->cols[col].v.b[row] = v ? 1 : 0;
  b->cols[col].valid[row] = 1;
}

tt_err tt_batch_set_string(tt_batch *b, size_t col, size_t row, const char *s, size_t len) {
  char *p = tt_arena_strndup(b->arena, s, len);
  if (!p) return TT_NOMEM;
  b->cols[col].v.str[row] = p;
  b->cols[col].valid[row] = 1;
  return TT_OK;
}

void tt_batch_set_null(tt_batch *b, size_t col, size_t row) { b->cols[col].valid[row] = 0; }

int tt_batch_column(const tt_batch *b, const char *name) {
  for (size_t c = 0; c < b->ncols; c++)
    if (!strcmp(b->cols[c].name, name)) return (int)c;
  return -1;
}

size_t tt_batch_copy_row(tt_batch *dst, const tt_batch *src, size_t sr) {
  size_t r = tt_batch_add_row(dst);
  if (r == (size_t)-1) return r;
  for (size_t c = 0; c < src->ncols && c < dst->ncols; c++) {
    const tt_vector *s = &src->cols[c];
    if (!s->valid[sr]) continue;
    switch (s->type) {
    case TT_TYPE_DOUBLE: tt_batch_set_double(dst, c, r, s->v.f64[sr]); break;
    case TT_TYPE_INT64:
    case TT_TYPE_TIMESTAMP: tt_batch_set_int64(dst, c, r, s->v.i64[sr]); break;
    case TT_TYPE_BOOL: tt_batch_set_bool(dst, c, r, s->v.b[sr]); break;
    case TT_TYPE_STRING:
      if (tt_batch_set_string(dst, c, r, s->v.str[sr], strlen(s->v.str[sr])) != TT_OK) {
        tt_batch_pop_row(dst);
        return (size_t)-1;
      }
      break;
    }
  }
  return r;
}
