/* telltale — the data lake.
 *
 * The lake is a directory of Hive-partitioned, zstd-compressed Parquet files,
 * one directory per table (see src/lake/README.md for the layout, part naming
 * and crash-safety protocol):
 *
 *   ROOT/TABLE/date=YYYY-MM-DD/part-ID.parquet   timestamp time axis
 *   ROOT/TABLE/part-ID.parquet                   counter time axis
 *   ROOT/_deadletter/table_name=TABLE/part-ID.parquet   rejected records
 *
 * A part is identified by a caller-chosen, deterministic id (a file's
 * identity and byte range, a Kafka partition and offset range …). Writing the
 * same part id again replaces the earlier files of that id, so a retried
 * write after a crash never duplicates rows. Files are written under a
 * temporary name, fsynced, renamed and the directory fsynced: readers only
 * ever see complete files.
 *
 * Reading goes through DuckDB: every table directory is a view
 * (read_parquet of every Parquet file under ROOT/TABLE, hive_partitioning, union_by_name)).
 *
 * Threads: one tt_lake may be shared; each thread writes through its own
 * tt_lake_writer (a DuckDB connection), and queries are serialised per lake.
 */
#ifndef TELLTALE_LAKE_H
#define TELLTALE_LAKE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "telltale/batch.h"
#include "telltale/error.h"
#include "telltale/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_lake tt_lake;
typedef struct tt_lake_writer tt_lake_writer;

/* Name of the dead-letter table (directory under the root, and view). */
#define TT_LAKE_DEADLETTER "_deadletter"

/* Open (creating the directory if needed) the lake at root with an
 * in-memory DuckDB database whose views read the Parquet files. threads = 0
 * lets DuckDB use every core. The lake is the caller's to close. */
tt_err tt_lake_open(const char *root, int threads, tt_lake **out, tt_error *err) TT_WARN_UNUSED;
void tt_lake_close(tt_lake *lake);
const char *tt_lake_root(const tt_lake *lake);

/* (Re)create one view per table directory that holds at least one Parquet
 * file. Called by tt_lake_open and after writes; cheap. */
tt_err tt_lake_refresh(tt_lake *lake, tt_error *err) TT_WARN_UNUSED;

/* ---- writing parts ---------------------------------------------------- */

/* A writer owns one DuckDB connection; use one per thread. Caller destroys. */
tt_err tt_lake_writer_new(tt_lake *lake, tt_lake_writer **out, tt_error *err) TT_WARN_UNUSED;
void tt_lake_writer_destroy(tt_lake_writer *w);

/* What a committed part wrote. */
typedef struct tt_lake_part_info {
  uint64_t rows;    /* rows written */
  unsigned files;   /* Parquet files written (one per date partition) */
  uint64_t bytes;   /* their total size */
} tt_lake_part_info;

/* Start a part of table t (the batch layout is t's columns in order, see
 * tt_lake_batch_new). partition: an extra "key=value" directory level under
 * the table directory (NULL for none; used by the dead-letter table).
 * part_id: [A-Za-z0-9._-]+, at most 128 chars, deterministic for the input.
 * Rows are staged in the writer's memory until commit. */
tt_err tt_lake_part_begin(tt_lake_writer *w, const tt_table_def *t, const char *partition,
                          const char *part_id, tt_error *err) TT_WARN_UNUSED;
/* Stage every row of b (copied: one memcpy per fixed-width column). b may
 * be reset by the caller afterwards. */
tt_err tt_lake_part_append(tt_lake_writer *w, const tt_batch *b, tt_error *err) TT_WARN_UNUSED;
/* Write the staged rows: one file per date partition (timestamp axis) or one
 * file (counter axis), each tmp → fsync → rename → dir fsync. A part with no
 * rows writes nothing. info may be NULL. */
tt_err tt_lake_part_commit(tt_lake_writer *w, tt_lake_part_info *info,
                           tt_error *err) TT_WARN_UNUSED;
/* Drop the staged rows without writing. Safe to call at any time. */
void tt_lake_part_abort(tt_lake_writer *w);

/* begin + append + commit of one batch. */
tt_err tt_lake_write_batch(tt_lake_writer *w, const tt_table_def *t, const char *partition,
                           const char *part_id, const tt_batch *b, tt_lake_part_info *info,
                           tt_error *err) TT_WARN_UNUSED;

/* A batch with t's columns (names and types in order) and room for capacity
 * rows. Caller destroys. NULL on out-of-memory. */
tt_batch *tt_lake_batch_new(const tt_table_def *t, size_t capacity);

/* The dead-letter table: columns reason, detail, field, source, line, raw,
 * ingested_at (counter axis: not partitioned by date; partitioned by
 * table_name=TABLE instead). Static, never freed. */
const tt_table_def *tt_lake_deadletter_table(void);

/* ---- reading ---------------------------------------------------------- */

typedef enum tt_lake_format {
  TT_LAKE_TABLE = 0, /* aligned text columns */
  TT_LAKE_CSV = 1,   /* RFC 4180, header row */
  TT_LAKE_JSON = 2,  /* a JSON array of objects */
} tt_lake_format;

/* Run sql against the lake's views and print the result to out. *nrows (may
 * be NULL) gets the number of result rows. DuckDB's error is copied into err. */
tt_err tt_lake_query(tt_lake *lake, const char *sql, tt_lake_format fmt, FILE *out,
                     uint64_t *nrows, tt_error *err) TT_WARN_UNUSED;

/* Count rows of a query's first column as int64 (e.g. "SELECT count(*) …"). */
tt_err tt_lake_query_int(tt_lake *lake, const char *sql, int64_t *out,
                         tt_error *err) TT_WARN_UNUSED;

/* Per-table statistics. */
typedef struct tt_lake_table_stats {
  char name[128];
  uint64_t rows, files, bytes, partitions;
  int has_time;              /* 0 when the table has no time column found */
  char time_column[128];
  int64_t time_min, time_max; /* raw values: microseconds UTC or counter */
  int time_is_timestamp;
  uint64_t vehicles;          /* distinct values of the entity column */
  char entity_column[128];    /* "" when not found */
} tt_lake_table_stats;

/* Statistics of every table in the lake. *out is malloc'd (caller frees),
 * sorted by name. The time and entity columns are taken from schema when it
 * has the table, else guessed ("vehicle_id", "ts"). schema may be NULL. */
tt_err tt_lake_stats(tt_lake *lake, const tt_schema *schema, tt_lake_table_stats **out,
                     size_t *n, tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
