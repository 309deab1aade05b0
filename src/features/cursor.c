/* Streaming DuckDB cursors and lake file listing; see cursor.h. */
#include "features/cursor.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tt_err tt__cursor_open(tt__cursor *c, duckdb_database db, const char *sql, size_t ncols,
                       const char *const *names, const tt_type *types, tt_error *err) {
  memset(c, 0, sizeof *c);
  c->b = tt_batch_new(ncols, names, types, duckdb_vector_size());
  if (!c->b) return tt_error_set(err, TT_NOMEM, "out of memory");
  if (duckdb_connect(db, &c->con) != DuckDBSuccess) {
    c->con = NULL;
    return tt_error_set(err, TT_DB, "cannot connect to DuckDB");
  }
  duckdb_result tz;
  duckdb_state s = duckdb_query(c->con, "SET TimeZone='UTC'", &tz);
  duckdb_destroy_result(&tz);
  if (s != DuckDBSuccess) return tt_error_set(err, TT_DB, "cannot set the time zone");
  if (duckdb_prepare(c->con, sql, &c->ps) != DuckDBSuccess) {
    c->has_ps = 1;
    return tt_error_set(err, TT_DB, "%s", duckdb_prepare_error(c->ps));
  }
  c->has_ps = 1;
  if (duckdb_pending_prepared_streaming(c->ps, &c->pending) != DuckDBSuccess) {
    c->has_pending = 1;
    return tt_error_set(err, TT_DB, "%s", duckdb_pending_error(c->pending));
  }
  c->has_pending = 1;
  if (duckdb_execute_pending(c->pending, &c->res) != DuckDBSuccess) {
    c->has_res = 1;
    return tt_error_set(err, TT_DB, "%s", duckdb_result_error(&c->res));
  }
  c->has_res = 1;
  if (duckdb_column_count(&c->res) != ncols)
    return tt_error_set(err, TT_INTERNAL, "query returned %llu columns, expected %zu",
                        (unsigned long long)duckdb_column_count(&c->res), ncols);
  c->pos = 0;
  return tt__cursor_ready(c, err) < 0 ? (err ? err->code : TT_DB) : TT_OK;
}

static tt_err load_chunk(tt__cursor *c, duckdb_data_chunk ch, tt_error *err) {
  tt_batch *b = c->b;
  tt_batch_reset(b);
  idx_t n = duckdb_data_chunk_get_size(ch);
  for (idx_t r = 0; r < n; r++)
    tt_batch_add_row(b);
  for (size_t k = 0; k < b->ncols; k++) {
    duckdb_vector v = duckdb_data_chunk_get_vector(ch, k);
    uint64_t *valid = duckdb_vector_get_validity(v);
    void *data = duckdb_vector_get_data(v);
    tt_vector *col = &b->cols[k];
    for (idx_t r = 0; r < n; r++) {
      if (valid && !duckdb_validity_row_is_valid(valid, r)) continue; /* rows start null */
      switch (col->type) {
      case TT_TYPE_STRING: {
        duckdb_string_t *s = &((duckdb_string_t *)data)[r];
        if (tt_batch_set_string(b, k, r, duckdb_string_t_data(s), duckdb_string_t_length(*s)))
          return tt_error_set(err, TT_NOMEM, "out of memory");
        break;
      }
      case TT_TYPE_INT64:
      case TT_TYPE_TIMESTAMP:
        tt_batch_set_int64(b, k, r, ((int64_t *)data)[r]);
        break;
      case TT_TYPE_DOUBLE:
        tt_batch_set_double(b, k, r, ((double *)data)[r]);
        break;
      case TT_TYPE_BOOL:
        tt_batch_set_bool(b, k, r, ((bool *)data)[r]);
        break;
      }
    }
  }
  return TT_OK;
}

int tt__cursor_ready(tt__cursor *c, tt_error *err) {
  while (!c->done && c->pos >= c->b->nrows) {
    duckdb_data_chunk ch = duckdb_fetch_chunk(c->res);
    if (!ch) {
      const char *e = duckdb_result_error(&c->res);
      if (e && *e) {
        tt_error_set(err, TT_DB, "%s", e);
        return -1;
      }
      c->done = 1;
      tt_batch_reset(c->b);
      break;
    }
    tt_err rc = load_chunk(c, ch, err);
    duckdb_destroy_data_chunk(&ch);
    if (rc) return -1;
    c->pos = 0;
  }
  return c->done ? 0 : 1;
}

void tt__cursor_close(tt__cursor *c) {
  if (c->has_res) duckdb_destroy_result(&c->res);
  if (c->has_pending) duckdb_destroy_pending(&c->pending);
  if (c->has_ps) duckdb_destroy_prepare(&c->ps);
  if (c->con) duckdb_disconnect(&c->con);
  tt_batch_destroy(c->b);
  memset(c, 0, sizeof *c);
}

/* ---------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static tt_err push(char ***files, size_t *n, size_t *cap, const char *path, tt_error *err) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    char **nf = realloc(*files, nc * sizeof *nf);
    if (!nf) return tt_error_set(err, TT_NOMEM, "out of memory");
    *files = nf;
    *cap = nc;
  }
  if (!((*files)[*n] = strdup(path))) return tt_error_set(err, TT_NOMEM, "out of memory");
  (*n)++;
  return TT_OK;
}

static int is_parquet(const char *name) {
  size_t n = strlen(name);
  return n > 8 && !strcmp(name + n - 8, ".parquet") && name[0] != '.';
}

tt_err tt__lake_files(const char *lake, const char *table, int64_t day_lo, int64_t day_hi,
                      char ***files, size_t *nfiles, tt_error *err) {
  *files = NULL;
  *nfiles = 0;
  size_t cap = 0;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", lake, table);
  DIR *d = opendir(dir);
  if (!d) return TT_OK; /* no data for the table: callers decide */
  struct dirent *de;
  tt_err rc = TT_OK;
  while (rc == TT_OK && (de = readdir(d))) {
    char path[8300];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (is_parquet(de->d_name)) {
      rc = push(files, nfiles, &cap, path, err);
      continue;
    }
    if (strncmp(de->d_name, "date=", 5)) continue;
    tt_time t;
    if (tt_time_parse_iso(de->d_name + 5, strlen(de->d_name + 5), &t) != 0) continue;
    int64_t day = tt_time_day(t);
    if (day < day_lo || day > day_hi) continue; /* partition pruning */
    DIR *pd = opendir(path);
    if (!pd) continue;
    struct dirent *pe;
    while (rc == TT_OK && (pe = readdir(pd))) {
      if (!is_parquet(pe->d_name)) continue;
      char fp[8600];
      snprintf(fp, sizeof fp, "%s/%s", path, pe->d_name);
      rc = push(files, nfiles, &cap, fp, err);
    }
    closedir(pd);
  }
  closedir(d);
  if (rc != TT_OK) {
    tt__lake_files_free(*files, *nfiles);
    *files = NULL;
    *nfiles = 0;
    return rc;
  }
  if (*nfiles) qsort(*files, *nfiles, sizeof **files, cmp_str);
  return TT_OK;
}

void tt__lake_files_free(char **files, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(files[i]);
  free(files);
}

char *tt__sql_path_list(char *const *files, size_t n) {
  size_t len = 3;
  for (size_t i = 0; i < n; i++)
    len += 2 * strlen(files[i]) + 4;
  char *s = malloc(len), *p = s;
  if (!s) return NULL;
  *p++ = '[';
  for (size_t i = 0; i < n; i++) {
    if (i) *p++ = ',';
    *p++ = '\'';
    for (const char *q = files[i]; *q; q++) {
      if (*q == '\'') *p++ = '\'';
      *p++ = *q;
    }
    *p++ = '\'';
  }
  *p++ = ']';
  *p = '\0';
  return s;
}

const char *tt__sql_ident(const char *name, char *buf, size_t size) {
  size_t j = 0;
  if (size < 3) return "\"\"";
  buf[j++] = '"';
  for (const char *q = name; *q && j + 3 < size; q++) {
    if (*q == '"') buf[j++] = '"';
    buf[j++] = *q;
  }
  buf[j++] = '"';
  buf[j] = '\0';
  return buf;
}
