/* Internal: the registry's backend interface.
 *
 * The registry logic (registry.c, registry_alias.c, registry_schema.c) is
 * written once, in the SQL subset SQLite and PostgreSQL share ($1 … $n
 * parameters, ON CONFLICT DO NOTHING/UPDATE, RETURNING, BIGINT and TEXT
 * columns). A backend only has to run one statement with bound parameters
 * and hand back its rows as text, and to open and close transactions. */
#ifndef TT_REGISTRY_BACKEND_H
#define TT_REGISTRY_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"

typedef enum tt__param_type { TT__P_NULL = 0, TT__P_TEXT = 1, TT__P_INT = 2 } tt__param_type;

typedef struct tt__param {
  tt__param_type type;
  const char *s;
  int64_t i;
} tt__param;

#define TT__TEXT(x) ((tt__param){TT__P_TEXT, (x), 0})
#define TT__INT(x) ((tt__param){TT__P_INT, NULL, (int64_t)(x)})
#define TT__NULL ((tt__param){TT__P_NULL, NULL, 0})

/* A result: nrows x ncols cells of text, NULL for SQL NULL. */
typedef struct tt__rows {
  size_t nrows, ncols;
  char **cells;
} tt__rows;

const char *tt__rows_get(const tt__rows *r, size_t row, size_t col);
int64_t tt__rows_int(const tt__rows *r, size_t row, size_t col); /* 0 for NULL */
void tt__rows_free(tt__rows *r);
/* Build a result (backends): allocate, then set cells (copied). */
tt__rows *tt__rows_new(size_t ncols);
int tt__rows_add(tt__rows *r, const char *const *cells, const size_t *lens);

typedef struct tt__regdb tt__regdb;
struct tt__regdb {
  const char *backend; /* "sqlite" or "postgresql" */
  /* Run one statement; parameters are $1 … $nparams. rows may be NULL when
   * the caller wants none; otherwise *rows is set (caller frees with
   * tt__rows_free). A unique-constraint violation is TT_EXISTS; other
   * failures TT_DB with the database's message. */
  tt_err (*query)(tt__regdb *db, const char *sql, size_t nparams, const tt__param *params,
                  tt__rows **rows, tt_error *err);
  /* Begin a transaction that writes (SQLite takes the write lock at once, so
   * that two writers queue instead of failing at commit). */
  tt_err (*begin)(tt__regdb *db, tt_error *err);
  tt_err (*commit)(tt__regdb *db, tt_error *err);
  void (*rollback)(tt__regdb *db);
  void (*close)(tt__regdb *db);
  /* Run first in the migration transaction so that concurrent first opens
   * do not race on CREATE TABLE; NULL when begin() already serialises. */
  const char *migration_lock_sql;
};

tt_err tt__regdb_sqlite_open(const char *path, tt__regdb **out, tt_error *err) TT_WARN_UNUSED;
tt_err tt__regdb_pg_open(const char *conninfo, tt__regdb **out, tt_error *err) TT_WARN_UNUSED;

#endif
