/* The lake handle: an in-memory DuckDB database whose views read the
 * Parquet files under the root. See src/lake/README.md. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "lake/lake_internal.h"

int tt__sql_quote_string(char *buf, size_t size, const char *s) {
  size_t n = strlen(buf);
  if (n + 1 >= size) return -1;
  buf[n++] = '\'';
  for (; *s; s++) {
    if (n + 3 >= size) return -1;
    if (*s == '\'') buf[n++] = '\'';
    buf[n++] = *s;
  }
  buf[n++] = '\'';
  buf[n] = '\0';
  return 0;
}

int tt__sql_quote_ident(char *buf, size_t size, const char *s) {
  size_t n = strlen(buf);
  if (n + 1 >= size) return -1;
  buf[n++] = '"';
  for (; *s; s++) {
    if (n + 3 >= size) return -1;
    if (*s == '"') buf[n++] = '"';
    buf[n++] = *s;
  }
  buf[n++] = '"';
  buf[n] = '\0';
  return 0;
}

void tt__lake_set_db_error(tt_error *err, const char *msg) {
  tt_error_set(err, TT_DB, "%s", msg ? msg : "DuckDB query failed");
  if (!err) return;
  /* DuckDB's messages span lines (a caret under the SQL); keep ours to one
   * line, as logs and CLI errors are. */
  char *o = err->msg;
  for (const char *i = err->msg; *i; i++) {
    if (*i == '\n' || *i == '\r') {
      if (o > err->msg && o[-1] != ' ') *o++ = ' ';
    } else {
      *o++ = *i;
    }
  }
  while (o > err->msg && o[-1] == ' ') o--;
  *o = '\0';
}

tt_err tt__lake_exec(duckdb_connection con, const char *sql, tt_error *err) {
  duckdb_result r;
  if (duckdb_query(con, sql, &r) == DuckDBError) {
    tt__lake_set_db_error(err, duckdb_result_error(&r));
    duckdb_destroy_result(&r);
    return TT_DB;
  }
  duckdb_destroy_result(&r);
  return TT_OK;
}

const char *tt__lake_sql_type(tt_type t) {
  switch (t) {
  case TT_TYPE_DOUBLE: return "DOUBLE";
  case TT_TYPE_INT64: return "BIGINT";
  case TT_TYPE_STRING: return "VARCHAR";
  case TT_TYPE_BOOL: return "BOOLEAN";
  case TT_TYPE_TIMESTAMP: return "TIMESTAMP";
  }
  return "VARCHAR";
}

tt_err tt_lake_open(const char *root, int threads, tt_lake **out, tt_error *err) {
  *out = NULL;
  tt_err rc = tt_mkdirs(root, err);
  if (rc) return rc;
  char abs[PATH_MAX];
  if (!realpath(root, abs)) {
    tt_error_set(err, TT_IO, "cannot resolve lake path: %s", strerror(errno));
    return tt_error_at(err, root, 0, NULL);
  }
  tt_lake *lake = calloc(1, sizeof *lake);
  if (!lake) return tt_error_set(err, TT_NOMEM, "out of memory");
  pthread_mutex_init(&lake->mu, NULL);
  lake->root = strdup(abs);
  duckdb_config cfg = NULL;
  char *open_err = NULL;
  if (!lake->root || duckdb_create_config(&cfg) == DuckDBError) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto fail;
  }
  if (threads > 0) {
    char t[16];
    snprintf(t, sizeof t, "%d", threads);
    duckdb_set_config(cfg, "threads", t);
  }
  if (duckdb_open_ext(NULL, &lake->db, cfg, &open_err) == DuckDBError) {
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB: %s", open_err ? open_err : "?");
    duckdb_free(open_err);
    goto fail;
  }
  if (duckdb_connect(lake->db, &lake->con) == DuckDBError) {
    rc = tt_error_set(err, TT_DB, "cannot connect to DuckDB");
    goto fail;
  }
  if ((rc = tt__lake_register_scan(lake, err)) != TT_OK) goto fail;
  if ((rc = tt_lake_refresh(lake, err)) != TT_OK) goto fail;
  duckdb_destroy_config(&cfg);
  *out = lake;
  return TT_OK;
fail:
  if (cfg) duckdb_destroy_config(&cfg);
  tt_lake_close(lake);
  return rc;
}

void tt_lake_close(tt_lake *lake) {
  if (!lake) return;
  if (lake->con) duckdb_disconnect(&lake->con);
  if (lake->db) duckdb_close(&lake->db);
  pthread_mutex_destroy(&lake->mu);
  free(lake->root);
  free(lake);
}

const char *tt_lake_root(const tt_lake *lake) { return lake->root; }

/* 1 if dir holds a *.parquet file at any depth (stops at the first). */
static int has_parquet(const char *dir, int depth) {
  if (depth > 8) return 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  struct dirent *e;
  int found = 0;
  while (!found && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    size_t n = strlen(e->d_name);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) found = has_parquet(p, depth + 1);
    else if (n > 8 && !strcmp(e->d_name + n - 8, ".parquet")) found = 1;
  }
  closedir(d);
  return found;
}

tt_err tt_lake_refresh(tt_lake *lake, tt_error *err) {
  DIR *d = opendir(lake->root);
  if (!d) {
    tt_error_set(err, TT_IO, "cannot read lake directory: %s", strerror(errno));
    return tt_error_at(err, lake->root, 0, NULL);
  }
  tt_err rc = TT_OK;
  struct dirent *e;
  pthread_mutex_lock(&lake->mu);
  while (rc == TT_OK && (e = readdir(d))) {
    /* '.'-names are ours (temporary files) or hidden; "_ingest" holds
     * markers. "_deadletter" is a table like the others. */
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "_ingest")) continue;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", lake->root, e->d_name);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !has_parquet(dir, 0)) continue;
    char sql[PATH_MAX * 2 + 512] = "CREATE OR REPLACE VIEW ";
    char glob[PATH_MAX + 32];
    snprintf(glob, sizeof glob, "%s/**/*.parquet", dir);
    if (tt__sql_quote_ident(sql, sizeof sql, e->d_name) ||
        strlen(sql) + 64 > sizeof sql) {
      rc = tt_error_set(err, TT_INVALID, "table name too long: %s", e->d_name);
      break;
    }
    strcat(sql, " AS SELECT * FROM read_parquet(");
    if (tt__sql_quote_string(sql, sizeof sql, glob)) {
      rc = tt_error_set(err, TT_INVALID, "path too long: %s", glob);
      break;
    }
    strncat(sql, ", hive_partitioning = true, union_by_name = true)", sizeof sql - strlen(sql) - 1);
    rc = tt__lake_exec(lake->con, sql, err);
    if (rc) tt_error_at(err, dir, 0, NULL);
  }
  /* The dead-letter table always exists, empty until something is
   * rejected, so that "how many records were rejected" is always a query. */
  char dl[PATH_MAX];
  snprintf(dl, sizeof dl, "%s/%s", lake->root, TT_LAKE_DEADLETTER);
  if (rc == TT_OK && !has_parquet(dl, 0)) {
    const tt_table_def *t = tt_lake_deadletter_table();
    char sql[2048] = "CREATE OR REPLACE VIEW \"" TT_LAKE_DEADLETTER "\" AS SELECT ";
    for (size_t i = 0; i < t->ncolumns; i++) {
      size_t n = strlen(sql);
      snprintf(sql + n, sizeof sql - n, "CAST(NULL AS %s) AS \"%s\", ",
               tt__lake_sql_type(t->columns[i].type), t->columns[i].name);
    }
    strncat(sql, "CAST(NULL AS VARCHAR) AS table_name WHERE false", sizeof sql - strlen(sql) - 1);
    rc = tt__lake_exec(lake->con, sql, err);
  }
  pthread_mutex_unlock(&lake->mu);
  closedir(d);
  return rc;
}
