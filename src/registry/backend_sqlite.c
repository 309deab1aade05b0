/* Registry backend: SQLite (the embedded default, `sqlite:PATH`).
 *
 * WAL mode so that readers never block the writer; a busy timeout and
 * BEGIN IMMEDIATE so that concurrent writers (two `telltale` processes
 * registering at once) queue on the database lock rather than fail. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/backend.h"

#define BUSY_TIMEOUT_MS 60000

typedef struct sqlite_db {
  tt__regdb base;
  sqlite3 *db;
} sqlite_db;

static tt_err db_error(sqlite3 *db, int rc, tt_error *err) {
  int base = rc & 0xff;
  tt_err code = base == SQLITE_CONSTRAINT ? TT_EXISTS : TT_DB;
  return tt_error_set(err, code, "sqlite: %s", sqlite3_errmsg(db));
}

static tt_err sq_query(tt__regdb *d, const char *sql, size_t nparams, const tt__param *params,
                       tt__rows **rows, tt_error *err) {
  sqlite_db *s = (sqlite_db *)d;
  sqlite3_stmt *st = NULL;
  tt__rows *out = NULL;
  tt_err result = TT_OK;
  if (rows) *rows = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return db_error(s->db, rc, err);
  /* Parameters are written $1 … $n; SQLite numbers named parameters in
   * order of first appearance, so bind each by its name. */
  for (size_t i = 0; i < nparams; i++) {
    char name[24];
    snprintf(name, sizeof name, "$%zu", i + 1);
    int idx = sqlite3_bind_parameter_index(st, name);
    if (idx == 0) continue;
    switch (params[i].type) {
    case TT__P_NULL:
      rc = sqlite3_bind_null(st, idx);
      break;
    case TT__P_INT:
      rc = sqlite3_bind_int64(st, idx, params[i].i);
      break;
    case TT__P_TEXT:
      rc = sqlite3_bind_text(st, idx, params[i].s, -1, SQLITE_STATIC);
      break;
    }
    if (rc != SQLITE_OK) {
      result = db_error(s->db, rc, err);
      goto out;
    }
  }
  int ncols = sqlite3_column_count(st);
  if (rows) {
    out = tt__rows_new((size_t)ncols);
    if (!out) {
      result = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!out) continue;
    const char *cells[64];
    size_t lens[64];
    if (ncols > 64) {
      result = tt_error_set(err, TT_INTERNAL, "too many result columns");
      goto out;
    }
    for (int c = 0; c < ncols; c++) {
      cells[c] = (const char *)sqlite3_column_text(st, c);
      lens[c] = (size_t)sqlite3_column_bytes(st, c);
    }
    if (tt__rows_add(out, cells, lens) != 0) {
      result = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
  }
  if (rc != SQLITE_DONE) result = db_error(s->db, rc, err);
out:
  sqlite3_finalize(st);
  if (result == TT_OK && rows)
    *rows = out;
  else
    tt__rows_free(out);
  return result;
}

static tt_err sq_exec(sqlite_db *s, const char *sql, tt_error *err) {
  char *msg = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
  if (rc == SQLITE_OK) return TT_OK;
  tt_err code = (rc & 0xff) == SQLITE_CONSTRAINT ? TT_EXISTS : TT_DB;
  tt_error_set(err, code, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  return code;
}

static tt_err sq_begin(tt__regdb *d, tt_error *err) {
  return sq_exec((sqlite_db *)d, "BEGIN IMMEDIATE", err);
}
static tt_err sq_commit(tt__regdb *d, tt_error *err) {
  return sq_exec((sqlite_db *)d, "COMMIT", err);
}
static void sq_rollback(tt__regdb *d) {
  sqlite_db *s = (sqlite_db *)d;
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}
static void sq_close(tt__regdb *d) {
  sqlite_db *s = (sqlite_db *)d;
  if (!s) return;
  sqlite3_close(s->db);
  free(s);
}

tt_err tt__regdb_sqlite_open(const char *path, tt__regdb **out, tt_error *err) {
  *out = NULL;
  sqlite_db *s = calloc(1, sizeof *s);
  if (!s) return tt_error_set(err, TT_NOMEM, "out of memory");
  s->base = (tt__regdb){.backend = "sqlite",
                        .query = sq_query,
                        .begin = sq_begin,
                        .commit = sq_commit,
                        .rollback = sq_rollback,
                        .close = sq_close};
  int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK) {
    tt_error_set(err, TT_DB, "sqlite: cannot open: %s",
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    tt_error_at(err, path, 0, NULL);
    sq_close(&s->base);
    return TT_DB;
  }
  sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
  /* journal_mode=WAL persists in the file; synchronous=NORMAL is durable
   * with WAL except for the last commits on power loss. */
  /* Switching to WAL needs an exclusive lock and SQLite does not call the
   * busy handler for it, so several processes creating the registry at
   * once retry here (for up to the busy timeout). */
  tt_err r = TT_OK;
  for (int waited = 0;; waited += 10) {
    r = sq_exec(s, "PRAGMA journal_mode=WAL", err);
    if (r == TT_OK || (sqlite3_errcode(s->db) & 0xff) != SQLITE_BUSY || waited >= BUSY_TIMEOUT_MS)
      break;
    sqlite3_sleep(10);
  }
  if (r == TT_OK) r = sq_exec(s, "PRAGMA synchronous=NORMAL", err);
  if (r != TT_OK) {
    tt_error_at(err, path, 0, NULL);
    sq_close(&s->base);
    return r;
  }
  *out = &s->base;
  return TT_OK;
}
