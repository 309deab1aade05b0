/* Internal: a streaming DuckDB query read chunk by chunk into tt_batches,
 * so that the builder and verify hold one chunk per table at a time
 * whatever the lake's size. Also the lake file listing they share. */
#ifndef TT_FEATURES_CURSOR_H
#define TT_FEATURES_CURSOR_H

#include <duckdb.h>

#include "telltale/batch.h"
#include "telltale/error.h"
#include "telltale/time.h"

typedef struct tt__cursor {
  duckdb_connection con; /* its own: a connection streams one result at a time */
  duckdb_prepared_statement ps;
  duckdb_pending_result pending;
  duckdb_result res;
  int has_ps, has_pending, has_res;
  tt_batch *b; /* the current chunk */
  size_t pos;  /* next unread row of b */
  int done;    /* no more rows */
} tt__cursor;

/* Run sql on a new connection to db, streaming (its session time zone is
 * UTC). Its result columns must be, in order, the
 * given names with types: TT_TYPE_STRING (VARCHAR), TT_TYPE_INT64 or
 * TT_TYPE_TIMESTAMP (BIGINT), TT_TYPE_DOUBLE (DOUBLE), TT_TYPE_BOOL
 * (BOOLEAN). Loads the first chunk. DuckDB errors are copied into err. */
tt_err tt__cursor_open(tt__cursor *c, duckdb_database db, const char *sql, size_t ncols,
                       const char *const *names, const tt_type *types, tt_error *err);
/* 1 if a row is available at c->pos (fetching the next chunk if needed),
 * 0 at the end, -1 on error. */
int tt__cursor_ready(tt__cursor *c, tt_error *err);
void tt__cursor_close(tt__cursor *c);

/* Lake files of a table whose date partition is within [day_lo, day_hi]
 * (days since 1970; INT64_MIN/INT64_MAX for unbounded): the files
 * LAKE/TABLE/date=YYYY-MM-DD/NAME.parquet, sorted. *files is a malloc'd array of malloc'd paths. A
 * table without partitions: LAKE/TABLE/NAME.parquet. */
tt_err tt__lake_files(const char *lake, const char *table, int64_t day_lo, int64_t day_hi,
                      char ***files, size_t *nfiles, tt_error *err);
void tt__lake_files_free(char **files, size_t n);

/* "['a','b']" — a DuckDB list literal of paths (quotes doubled). malloc'd. */
char *tt__sql_path_list(char *const *files, size_t n);
/* Quote an identifier for SQL ("name"). Writes into buf. */
const char *tt__sql_ident(const char *name, char *buf, size_t size);

#endif
