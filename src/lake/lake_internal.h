/* Internal to src/lake: the lake handle and SQL quoting helpers. */
#ifndef TT_LAKE_INTERNAL_H
#define TT_LAKE_INTERNAL_H

#include <duckdb.h>
#include <pthread.h>

#include "telltale/lake.h"

#define TT__LAKE_MAX_WRITERS 512

struct tt_lake_writer;

struct tt_lake {
  char *root;            /* absolute path, no trailing '/' */
  struct tt_lake_writer *writers[TT__LAKE_MAX_WRITERS]; /* under mu */
  int64_t token_seq;
  duckdb_database db;    /* in-memory; views read the Parquet files */
  duckdb_connection con; /* queries, serialised by mu */
  pthread_mutex_t mu;
};

/* Append s to buf as a SQL string literal ('…' with quotes doubled) or an
 * identifier ("…"). Return 0, or -1 when buf is too small. */
int tt__sql_quote_string(char *buf, size_t size, const char *s);
int tt__sql_quote_ident(char *buf, size_t size, const char *s);

/* Run sql on con; on failure copy DuckDB's message into err (TT_DB). */
tt_err tt__lake_exec(duckdb_connection con, const char *sql, tt_error *err);

/* TT_DB with DuckDB's message made one line. */
void tt__lake_set_db_error(tt_error *err, const char *msg);

/* Register tt__stage_scan, the table function COPY reads staged parts
 * through (writer.c). */
tt_err tt__lake_register_scan(tt_lake *lake, tt_error *err);

/* DuckDB SQL type of a telltale type. */
const char *tt__lake_sql_type(tt_type t);

#endif
