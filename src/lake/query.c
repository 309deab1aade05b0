/* SQL over the lake, printed as an aligned table, CSV or JSON.
 *
 * The result is materialised by duckdb_query (queries here are analysts'
 * ad-hoc SQL; huge exports belong in COPY … TO, which also works here). */
#include <stdlib.h>
#include <string.h>

#include "core/json_escape.h"
#include "lake/lake_internal.h"

/* Display width of a UTF-8 string (code points; good enough for aligning). */
static size_t utf8_width(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) n++;
  return n;
}

static void csv_field(FILE *out, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static int json_raw_type(duckdb_type t) {
  switch (t) {
  case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER:
  case DUCKDB_TYPE_BIGINT: case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT:
  case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT: case DUCKDB_TYPE_HUGEINT:
  case DUCKDB_TYPE_UHUGEINT: case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE:
  case DUCKDB_TYPE_DECIMAL: case DUCKDB_TYPE_BOOLEAN: return 1;
  default: return 0;
  }
}

static void print_table(duckdb_result *r, FILE *out) {
  idx_t nc = duckdb_column_count(r), nr = duckdb_row_count(r);
  size_t *w = calloc(nc ? nc : 1, sizeof *w);
  size_t ncells = (size_t)(nr * nc);
  char **cells = calloc(ncells ? ncells : 1, sizeof *cells);
  if (!w || !cells) {
    free(w);
    free(cells);
    return;
  }
  for (idx_t c = 0; c < nc; c++) w[c] = utf8_width(duckdb_column_name(r, c));
  for (idx_t i = 0; i < nr; i++)
    for (idx_t c = 0; c < nc; c++) {
      char *v = duckdb_value_is_null(r, c, i) ? NULL : duckdb_value_varchar(r, c, i);
      cells[i * nc + c] = v;
      size_t n = v ? utf8_width(v) : 4;
      if (n > w[c]) w[c] = n;
    }
  for (idx_t c = 0; c < nc; c++) {
    const char *name = duckdb_column_name(r, c);
    fprintf(out, "%s%s%*s", c ? "  " : "", name,
            c + 1 < nc ? (int)(w[c] - utf8_width(name)) : 0, "");
  }
  fputc('\n', out);
  for (idx_t c = 0; c < nc; c++) {
    fputs(c ? "  " : "", out);
    for (size_t k = 0; k < w[c]; k++) fputc('-', out);
  }
  fputc('\n', out);
  for (idx_t i = 0; i < nr; i++) {
    for (idx_t c = 0; c < nc; c++) {
      const char *v = cells[i * nc + c] ? cells[i * nc + c] : "NULL";
      int right = json_raw_type(duckdb_column_type(r, c));
      int pad = (int)(w[c] - utf8_width(v));
      fputs(c ? "  " : "", out);
      if (right) fprintf(out, "%*s%s", pad, "", v);
      else fprintf(out, "%s%*s", v, c + 1 < nc ? pad : 0, "");
      duckdb_free(cells[i * nc + c]);
    }
    fputc('\n', out);
  }
  free(cells);
  free(w);
}

static void print_csv(duckdb_result *r, FILE *out) {
  idx_t nc = duckdb_column_count(r), nr = duckdb_row_count(r);
  for (idx_t c = 0; c < nc; c++) {
    if (c) fputc(',', out);
    csv_field(out, duckdb_column_name(r, c));
  }
  fputc('\n', out);
  for (idx_t i = 0; i < nr; i++) {
    for (idx_t c = 0; c < nc; c++) {
      if (c) fputc(',', out);
      if (duckdb_value_is_null(r, c, i)) continue; /* empty field = NULL */
      char *v = duckdb_value_varchar(r, c, i);
      if (v) csv_field(out, v);
      duckdb_free(v);
    }
    fputc('\n', out);
  }
}

static void print_json(duckdb_result *r, FILE *out) {
  idx_t nc = duckdb_column_count(r), nr = duckdb_row_count(r);
  fputc('[', out);
  for (idx_t i = 0; i < nr; i++) {
    fputs(i ? ",\n{" : "\n{", out);
    for (idx_t c = 0; c < nc; c++) {
      if (c) fputc(',', out);
      tt_json_write_string(out, duckdb_column_name(r, c));
      fputc(':', out);
      if (duckdb_value_is_null(r, c, i)) {
        fputs("null", out);
        continue;
      }
      char *v = duckdb_value_varchar(r, c, i);
      duckdb_type t = duckdb_column_type(r, c);
      /* inf/nan are not JSON numbers: quote them. */
      if (v && json_raw_type(t) && strcspn(v, "ain") == strlen(v)) fputs(v, out);
      else if (v && t == DUCKDB_TYPE_BOOLEAN) fputs(v, out);
      else tt_json_write_string(out, v ? v : "");
      duckdb_free(v);
    }
    fputc('}', out);
  }
  fputs(nr ? "\n]\n" : "]\n", out);
}

tt_err tt_lake_query(tt_lake *lake, const char *sql, tt_lake_format fmt, FILE *out,
                     uint64_t *nrows, tt_error *err) {
  duckdb_result r;
  pthread_mutex_lock(&lake->mu);
  if (duckdb_query(lake->con, sql, &r) == DuckDBError) {
    tt__lake_set_db_error(err, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    pthread_mutex_unlock(&lake->mu);
    return TT_DB;
  }
  pthread_mutex_unlock(&lake->mu);
  if (nrows) *nrows = duckdb_row_count(&r);
  switch (fmt) {
  case TT_LAKE_CSV: print_csv(&r, out); break;
  case TT_LAKE_JSON: print_json(&r, out); break;
  default: print_table(&r, out); break;
  }
  duckdb_destroy_result(&r);
  if (fflush(out) != 0 || ferror(out)) return tt_error_set(err, TT_IO, "cannot write the result");
  return TT_OK;
}

tt_err tt_lake_query_int(tt_lake *lake, const char *sql, int64_t *out, tt_error *err) {
  duckdb_result r;
  pthread_mutex_lock(&lake->mu);
  duckdb_state st = duckdb_query(lake->con, sql, &r);
  pthread_mutex_unlock(&lake->mu);
  if (st == DuckDBError) {
    tt__lake_set_db_error(err, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return TT_DB;
  }
  if (duckdb_row_count(&r) < 1 || duckdb_column_count(&r) < 1) {
    duckdb_destroy_result(&r);
    return tt_error_set(err, TT_NOTFOUND, "query returned no rows");
  }
  *out = duckdb_value_is_null(&r, 0, 0) ? 0 : duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  return TT_OK;
}
