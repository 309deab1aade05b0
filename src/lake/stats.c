/* lake stats: per table rows, files, bytes, partitions, time range and
 * vehicles. Files, bytes and partitions come from walking the directory;
 * rows, time range and vehicles from DuckDB over the table's view. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_internal.h"

/* Count *.parquet files, their bytes, and the directories holding them. */
static void walk(const char *dir, int depth, tt_lake_table_stats *s) {
  if (depth > 8) return;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  int here = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) != 0) continue;
    size_t n = strlen(e->d_name);
    if (S_ISDIR(st.st_mode)) {
      walk(p, depth + 1, s);
    } else if (n > 8 && !strcmp(e->d_name + n - 8, ".parquet")) {
      s->files++;
      s->bytes += (uint64_t)st.st_size;
      here = 1;
    }
  }
  closedir(d);
  s->partitions += here;
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const tt_lake_table_stats *)a)->name, ((const tt_lake_table_stats *)b)->name);
}

/* Type of column `col` of view `view` ("" when absent). */
static void column_type(tt_lake *lake, const char *view, const char *col, char *type, size_t size) {
  char sql[1024] = "SELECT data_type FROM information_schema.columns WHERE table_name = ";
  type[0] = '\0';
  if (tt__sql_quote_string(sql, sizeof sql, view)) return;
  strcat(sql, " AND column_name = ");
  if (tt__sql_quote_string(sql, sizeof sql, col)) return;
  duckdb_result r;
  if (duckdb_query(lake->con, sql, &r) == DuckDBSuccess && duckdb_row_count(&r) > 0) {
    char *v = duckdb_value_varchar(&r, 0, 0);
    if (v) snprintf(type, size, "%s", v);
    duckdb_free(v);
  }
  duckdb_destroy_result(&r);
}

static tt_err table_stats(tt_lake *lake, const tt_schema *schema, tt_lake_table_stats *s,
                          tt_error *err) {
  const tt_table_def *t = schema ? tt_schema_table(schema, s->name) : NULL;
  const char *ent = t ? t->entity_column : "vehicle_id";
  const char *tim = t ? t->time_column : "ts";
  /* Dead letters: when they were rejected; they have no vehicles. */
  if (!strcmp(s->name, TT_LAKE_DEADLETTER)) ent = "", tim = "ingested_at";
  char etype[64], ttype[64];
  pthread_mutex_lock(&lake->mu);
  if (*ent) column_type(lake, s->name, ent, etype, sizeof etype);
  else etype[0] = '\0';
  column_type(lake, s->name, tim, ttype, sizeof ttype);
  if (etype[0]) snprintf(s->entity_column, sizeof s->entity_column, "%s", ent);
  if (ttype[0]) {
    s->has_time = 1;
    snprintf(s->time_column, sizeof s->time_column, "%s", tim);
    s->time_is_timestamp = !strncmp(ttype, "TIMESTAMP", 9);
  }
  char sql[2048] = "SELECT count(*)";
  if (s->has_time) {
    strcat(sql, s->time_is_timestamp ? ", epoch_us(min(" : ", CAST(min(");
    tt__sql_quote_ident(sql, sizeof sql, tim);
    strcat(sql, s->time_is_timestamp ? ")), epoch_us(max(" : ") AS BIGINT), CAST(max(");
    tt__sql_quote_ident(sql, sizeof sql, tim);
    strcat(sql, s->time_is_timestamp ? "))" : ") AS BIGINT)");
  }
  if (etype[0]) {
    strcat(sql, ", count(DISTINCT ");
    tt__sql_quote_ident(sql, sizeof sql, ent);
    strcat(sql, ")");
  }
  strcat(sql, " FROM ");
  tt__sql_quote_ident(sql, sizeof sql, s->name);
  duckdb_result r;
  tt_err rc = TT_OK;
  if (duckdb_query(lake->con, sql, &r) == DuckDBError) {
    tt__lake_set_db_error(err, duckdb_result_error(&r));
    rc = TT_DB;
    tt_error_at(err, NULL, 0, s->name);
  } else {
    idx_t c = 0;
    s->rows = (uint64_t)duckdb_value_int64(&r, c++, 0);
    if (s->has_time) {
      if (duckdb_value_is_null(&r, c, 0)) s->has_time = 0;
      s->time_min = duckdb_value_int64(&r, c++, 0);
      s->time_max = duckdb_value_int64(&r, c++, 0);
    }
    if (etype[0]) s->vehicles = (uint64_t)duckdb_value_int64(&r, c++, 0);
  }
  duckdb_destroy_result(&r);
  pthread_mutex_unlock(&lake->mu);
  return rc;
}

tt_err tt_lake_stats(tt_lake *lake, const tt_schema *schema, tt_lake_table_stats **out, size_t *n,
                     tt_error *err) {
  *out = NULL;
  *n = 0;
  tt_err rc = tt_lake_refresh(lake, err);
  if (rc) return rc;
  DIR *d = opendir(lake->root);
  if (!d) return tt_error_set(err, TT_IO, "cannot read lake directory %s", lake->root);
  tt_lake_table_stats *v = NULL;
  size_t cnt = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "_ingest") || strlen(e->d_name) >= 128)
      continue;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", lake->root, e->d_name);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (cnt == cap) {
      cap = cap ? cap * 2 : 8;
      tt_lake_table_stats *nv = realloc(v, cap * sizeof *nv);
      if (!nv) {
        rc = tt_error_set(err, TT_NOMEM, "out of memory");
        break;
      }
      v = nv;
    }
    tt_lake_table_stats *s = &v[cnt];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", e->d_name);
    walk(dir, 0, s);
    if (s->files == 0) continue; /* not a table (yet) */
    cnt++;
    if ((rc = table_stats(lake, schema, s, err)) != TT_OK) break;
  }
  closedir(d);
  if (rc) {
    free(v);
    return rc;
  }
  if (cnt) qsort(v, cnt, sizeof *v, cmp_name);
  *out = v;
  *n = cnt;
  return TT_OK;
}
