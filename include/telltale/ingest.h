/* telltale — ingest: records → validated batches → the lake.
 *
 * Two layers (see src/ingest/README.md):
 *
 * 1. Record parsing and validation, reusable by any source (files, Kafka):
 *    a tt_record_parser turns one record (a CSV line or a JSON object) into a
 *    row of a tt_batch laid out as the table's columns (tt_lake_batch_new),
 *    or rejects it with a reason code, the field and a detail. Rejected
 *    records go to the dead-letter table with tt_deadletter_add.
 *
 * 2. File ingest (tt_ingest_paths): files, directories and stdin are cut into
 *    chunks at line ends; each chunk becomes deterministic lake parts and a
 *    done-marker, so re-running after a crash or on the same file never
 *    duplicates a record.
 *
 * Invariant: records read = written + dead-lettered. Nothing is dropped.
 */
#ifndef TELLTALE_INGEST_H
#define TELLTALE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/batch.h"
#include "telltale/error.h"
#include "telltale/lake.h"
#include "telltale/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a record was rejected: X(ENUM, "name", "description"). The name is
 * what the dead-letter table's `reason` column holds. */
#define TT_REJECT_MAP(X)                                                                    \
  X(PARSE, "parse", "the record is not well-formed (CSV quoting, JSON syntax)")              \
  X(TOO_LONG, "too_long", "the record is longer than ingest.max_record_bytes")               \
  X(INVALID_UTF8, "invalid_utf8", "the record is not valid UTF-8")                           \
  X(FIELD_COUNT, "field_count", "a CSV record has more or fewer fields than columns")        \
  X(UNKNOWN_COLUMN, "unknown_column", "a field is not a column of the table")                \
  X(MISSING_REQUIRED, "missing_required", "a required field is missing or empty")            \
  X(WRONG_TYPE, "wrong_type", "a value does not have the column's type")                     \
  X(OUT_OF_RANGE, "out_of_range", "a numeric value is outside the column's min/max")        \
  X(UNKNOWN_SCHEMA, "unknown_schema", "an Avro message names a schema id the registry lacks")

typedef enum tt_reject_reason {
#define TT_REJECT_ENUM_(e, name, desc) TT_REJECT_##e,
  TT_REJECT_MAP(TT_REJECT_ENUM_)
#undef TT_REJECT_ENUM_
  TT_REJECT_COUNT
} tt_reject_reason;

/* "parse", "too_long" …; never NULL. */
const char *tt_reject_name(tt_reject_reason r);
const char *tt_reject_description(tt_reject_reason r);

typedef struct tt_reject {
  tt_reject_reason reason;
  char field[128];  /* offending column, or "" */
  char detail[256]; /* human-readable, e.g. "'abc' is not a number" */
} tt_reject;

typedef enum tt_record_format {
  TT_FORMAT_AUTO = 0, /* from the file name / first byte */
  TT_FORMAT_CSV = 1,
  TT_FORMAT_JSONL = 2,
} tt_record_format;

/* A CSV dialect. delim ' ' means "runs of blanks (spaces or tabs)". */
typedef struct tt_csv_dialect {
  char delim;  /* ',', ';', '\t' or ' ' */
  int header;  /* the first line names the columns */
} tt_csv_dialect;

/* Guess the dialect from the first lines of a file (buf need not end at a
 * line end). The header is recognised by its fields being column names of t
 * (or, without t, by none of them being numbers). */
void tt_csv_sniff(const char *buf, size_t len, const tt_table_def *t, tt_csv_dialect *out);

typedef struct tt_record_parser tt_record_parser;

/* A parser for records of table t (borrowed; must outlive the parser).
 * max_record_bytes: longer records are rejected as TOO_LONG. Caller
 * destroys. */
tt_err tt_record_parser_new(const tt_table_def *t, size_t max_record_bytes,
                            tt_record_parser **out, tt_error *err) TT_WARN_UNUSED;
void tt_record_parser_destroy(tt_record_parser *p);

/* CSV: set the dialect. Without a header the fields are the table's columns
 * in schema order. */
void tt_record_parser_set_dialect(tt_record_parser *p, const tt_csv_dialect *d);
/* CSV: map columns from a header line. Returns 0, or 1 with rej filled when
 * the header itself is unusable (then every record of the file is rejected
 * with that reason, see tt_record_parse_csv). */
int tt_record_parser_csv_header(tt_record_parser *p, const char *line, size_t len,
                                tt_reject *rej);

/* Parse one record (without its line end) and append it as a new row of
 * out (a batch from tt_lake_batch_new for the parser's table).
 * Returns 0: row appended; 1: rejected, rej filled, out unchanged;
 * -1: out is full or out of memory (nothing appended). */
int tt_record_parse_csv(tt_record_parser *p, const char *rec, size_t len, tt_batch *out,
                        tt_reject *rej);
int tt_record_parse_json(tt_record_parser *p, const char *rec, size_t len, tt_batch *out,
                         tt_reject *rej);

/* Append a dead-letter row to dl (a batch from
 * tt_lake_batch_new(tt_lake_deadletter_table())). raw is stored as it is,
 * cut to max_raw bytes (at a UTF-8 boundary, invalid bytes replaced) so a
 * huge or binary record stays storable. Returns TT_OK, TT_LIMIT when dl is
 * full, TT_NOMEM. */
tt_err tt_deadletter_add(tt_batch *dl, const tt_reject *rej, const char *source, int64_t line,
                         const char *raw, size_t rawlen, size_t max_raw,
                         int64_t ingested_at) TT_WARN_UNUSED;

/* ---- file ingest ------------------------------------------------------ */

/* The table a file name implies: "telemetry-2026-01-01.csv" → "telemetry",
 * "dtc.jsonl.gz" → "dtc", "/x/maintenance_2.csv" → "maintenance": the base
 * name up to the first '-', '_', '.' or digit. buf gets "" when nothing is
 * left. Returns buf. */
char *tt_ingest_table_from_filename(const char *path, char *buf, size_t size);

typedef struct tt_ingest_options {
  const char *table;         /* NULL: from each file's name */
  const tt_schema *schema;   /* the tables (required) */
  tt_record_format format;   /* AUTO: by extension (.csv/.tsv/.txt, .json/.jsonl/.ndjson) */
  size_t chunk_bytes;        /* 0: 32 MiB */
  int threads;               /* 0: one per core */
  size_t max_record_bytes;   /* 0: 1 MiB */
  /* Called now and then from the ingesting thread (never concurrently). */
  void (*progress)(void *ud, uint64_t bytes_done, uint64_t bytes_total);
  void *progress_ud;
} tt_ingest_options;

typedef struct tt_ingest_stats {
  uint64_t files;            /* input files (stdin counts as one) */
  uint64_t bytes;            /* input bytes */
  uint64_t chunks;           /* chunks processed now */
  uint64_t chunks_skipped;   /* chunks already in the lake (done-marker) */
  uint64_t read;             /* records read (incl. those of skipped chunks) */
  uint64_t written;          /* records in the lake */
  uint64_t deadlettered;     /* records in the dead-letter table */
  uint64_t skipped;          /* of read: records of skipped chunks */
  uint64_t by_reason[TT_REJECT_COUNT];
  uint64_t files_failed;     /* inputs that could not be read */
  uint64_t files_skipped;    /* files found in a directory whose name names no
                                table of the schema (logged, not read) */
} tt_ingest_stats;

/* Ingest every path ("-" = stdin, directories recursively, hidden files and
 * directories skipped; inside a directory, files whose name names no table
 * of the schema are skipped with a warning, unless opt->table is set) into
 * the lake. Stats are filled even on failure. An
 * input that cannot be read is reported in err (TT_IO/TT_NOTFOUND naming the
 * file) after the others were ingested. */
tt_err tt_ingest_paths(tt_lake *lake, const char *const *paths, size_t npaths,
                       const tt_ingest_options *opt, tt_ingest_stats *stats,
                       tt_error *err) TT_WARN_UNUSED;

/* The schema to validate against, from the registry at registry_url
 * (project_dir anchors sqlite paths): the latest registered version of the
 * schema that has table (table NULL: the only registered schema). The
 * schema is the caller's to destroy. TT_NOTFOUND when none fits. */
tt_err tt_ingest_schema_lookup(const char *registry_url, const char *project_dir,
                               const char *table, tt_schema **out, tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
