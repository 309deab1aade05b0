/* The file source of `features stream`: a CSV or Parquet file of one
 * table, read through DuckDB in file order; positions are row numbers, so
 * a consumer that stored its position resumes exactly after a restart. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/cursor.h"
#include "features/internal.h"

typedef struct fsrc {
  duckdb_database db;
  duckdb_connection con;
  tt__cursor cur;
  int open;
  tt_fengine *eng;
  char *path, *table, *id;
  tt__select sel;
  uint64_t pos;
} fsrc;

static tt_err fsrc_query(fsrc *s, uint64_t offset, tt_error *err) {
  if (s->open) tt__cursor_close(&s->cur);
  s->open = 0;
  char *lit = tt__sql_path_list(&s->path, 1);
  size_t len = strlen(s->sel.sql) + (lit ? strlen(lit) : 0) + 256;
  char *sql = malloc(len);
  if (!lit || !sql) {
    free(lit);
    free(sql);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  const char *ext = strrchr(s->path, '.');
  int parquet = ext && !strcmp(ext, ".parquet");
  snprintf(sql, len, "SELECT %s FROM %s(%s) OFFSET %llu", s->sel.sql,
           parquet ? "read_parquet" : "read_csv_auto", lit, (unsigned long long)offset);
  tt_err rc = tt__cursor_open(&s->cur, s->db, sql, s->sel.ncols, s->sel.cols, s->sel.types, err);
  s->open = 1;
  free(lit);
  free(sql);
  if (rc) return tt_error_at(err, s->path, 0, NULL);
  s->pos = offset;
  return TT_OK;
}

static int fsrc_next(void *ctx, const char **table, const tt_batch **b, uint64_t *after,
                     tt_error *err) {
  fsrc *s = ctx;
  int r = tt__cursor_ready(&s->cur, err);
  if (r < 0) {
    tt_error_at(err, s->path, 0, NULL);
    return -1;
  }
  if (!r) return 0;
  *table = s->table;
  *b = s->cur.b;
  s->pos += s->cur.b->nrows;
  s->cur.pos = s->cur.b->nrows;
  *after = s->pos;
  return 1;
}

static tt_err fsrc_seek(void *ctx, uint64_t offset, tt_error *err) {
  return fsrc_query(ctx, offset, err);
}

static void fsrc_close(void *ctx) {
  fsrc *s = ctx;
  if (!s) return;
  if (s->open) tt__cursor_close(&s->cur);
  if (s->con) duckdb_disconnect(&s->con);
  if (s->db) duckdb_close(&s->db);
  tt_fengine_destroy(s->eng);
  free(s->path);
  free(s->table);
  free(s->id);
  free(s);
}

tt_err tt_feature_source_file(const tt_feature_set *fs, const char *path, const char *table,
                              tt_feature_source *out, tt_error *err) {
  memset(out, 0, sizeof *out);
  fsrc *s = calloc(1, sizeof *s);
  if (!s) return tt_error_set(err, TT_NOMEM, "out of memory");
  tt_err rc;
  if (!table) table = fs->source;
  char *abs = realpath(path, NULL);
  if (!abs) {
    free(s);
    tt_error_set(err, TT_NOTFOUND, "cannot open source file");
    return tt_error_at(err, path, 0, NULL);
  }
  size_t idlen = strlen(abs) + strlen(table) + 16;
  s->path = abs;
  s->table = strdup(table);
  s->id = malloc(idlen);
  if (!s->table || !s->id) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto fail;
  }
  snprintf(s->id, idlen, "file:%s#%s", abs, table);
  if ((rc = tt_fengine_new(fs, &s->eng, err))) goto fail;
  tt__table_select(s->eng, table, &s->sel);
  if (duckdb_open(NULL, &s->db) != DuckDBSuccess ||
      duckdb_connect(s->db, &s->con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB");
    goto fail;
  }
  duckdb_result r;
  /* One thread keeps the file's row order, which positions rely on. */
  if (duckdb_query(s->con, "SET threads=1; SET TimeZone='UTC'", &r) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    goto fail;
  }
  duckdb_destroy_result(&r);
  if ((rc = fsrc_query(s, 0, err))) goto fail;
  out->ctx = s;
  out->id = s->id;
  out->next = fsrc_next;
  out->seek = fsrc_seek;
  out->close = fsrc_close;
  return TT_OK;
fail:
  fsrc_close(s);
  return rc;
}
