/* Query results as text cells, shared by both backends. */
#include <stdlib.h>
#include <string.h>

#include "registry/backend.h"

tt__rows *tt__rows_new(size_t ncols) {
  tt__rows *r = calloc(1, sizeof *r);
  if (r) r->ncols = ncols;
  return r;
}

int tt__rows_add(tt__rows *r, const char *const *cells, const size_t *lens) {
  /* Grow by doubling; registry results are small (a list of versions). */
  size_t n = r->nrows * r->ncols;
  if ((r->nrows & (r->nrows - 1)) == 0) {
    size_t cap = r->nrows ? 2 * r->nrows : 1;
    char **nc = realloc(r->cells, cap * r->ncols * sizeof *nc + 1);
    if (!nc) return -1;
    r->cells = nc;
  }
  for (size_t c = 0; c < r->ncols; c++) {
    char *v = NULL;
    if (cells[c]) {
      v = malloc(lens[c] + 1);
      if (!v) {
        for (size_t d = n; d < n + c; d++)
          free(r->cells[d]);
        return -1;
      }
      memcpy(v, cells[c], lens[c]);
      v[lens[c]] = '\0';
    }
    r->cells[n + c] = v;
  }
  r->nrows++;
  return 0;
}

const char *tt__rows_get(const tt__rows *r, size_t row, size_t col) {
  if (!r || row >= r->nrows || col >= r->ncols) return NULL;
  return r->cells[row * r->ncols + col];
}

int64_t tt__rows_int(const tt__rows *r, size_t row, size_t col) {
  const char *s = tt__rows_get(r, row, col);
  return s ? strtoll(s, NULL, 10) : 0;
}

void tt__rows_free(tt__rows *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nrows * r->ncols; i++)
    free(r->cells[i]);
  free(r->cells);
  free(r);
}
