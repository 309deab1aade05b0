/* telltale — the feature store.
 *
 * A feature set (YAML, features/NAME.yaml, docs/features.md) declares
 * windowed aggregations of signals and events per vehicle. ONE engine
 * computes them for the offline store (batch, as of any time) and the online
 * store (streaming, latest): per vehicle, events are folded into tiles of
 * exactly mergeable partial aggregates, and a window's value as of t merges
 * the tiles covering it. Tiles are commutative monoids (integer fixed-point
 * sums, order-free min/max/first/last), so the arrival order of events —
 * sorted in batch, late and out of order in a stream — cannot change a
 * single bit of the result. src/features/README.md explains the design.
 *
 * Window boundaries (exact): tiles are the intervals (kT - T, kT] of the
 * tile size T. With a window W (a multiple of T), the value as of t covers
 * the events e with
 *     (ceil(t / T) - W / T) * T  <  e.time  <=  t
 * i.e. the W/T most recent tiles, the newest one only up to t. As of a tile
 * boundary (e.g. a daily spine at midnight with 1h tiles) that is exactly
 * (t - W, t].
 *
 * Missing values: a null or NaN value (or |x| >= 2^26, outside the engine's
 * exact fixed-point range) is skipped by every value aggregation; the value
 * of an aggregation over no values is NaN (null in Parquet, null in JSON),
 * except count, sum and rate, which are 0.
 */
#ifndef TELLTALE_FEATURES_H
#define TELLTALE_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/batch.h"
#include "telltale/config.h"
#include "telltale/error.h"
#include "telltale/schema.h"
#include "telltale/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Definitions                                                            */

#define TT_AGG_MAP(X)                                                                              \
  X(COUNT, "count") /* values (or rows, without a column) in the window */                         \
  X(SUM, "sum")                                                                                    \
  X(MEAN, "mean")                                                                                  \
  X(MIN, "min")                                                                                    \
  X(MAX, "max")                                                                                    \
  X(STD, "std")               /* population standard deviation (ddof 0) */                         \
  X(FIRST, "first")           /* value at the earliest time (ties: smallest value) */              \
  X(LAST, "last")             /* value at the latest time (ties: largest value) */                 \
  X(DELTA, "delta")           /* last - first */                                                   \
  X(SLOPE, "slope")           /* least-squares trend, value per `per` of the time axis */          \
  X(RATE, "rate")             /* count per `per` of the window length */                           \
  X(TIME_SINCE, "time_since") /* t - time of the latest event in the window, in `per` units */

typedef enum tt_agg {
#define TT_AGG_ENUM_(name, str) TT_AGG_##name,
  TT_AGG_MAP(TT_AGG_ENUM_)
#undef TT_AGG_ENUM_
      TT_AGG_MAX_
} tt_agg;

/* "mean" …; NULL for an out-of-range value. tt_agg_parse: -1 if unknown. */
const char *tt_agg_name(tt_agg a);
int tt_agg_parse(const char *name);

typedef enum tt_filter_op {
  TT_FILTER_NONE = 0,
  TT_FILTER_EQ,
  TT_FILTER_NE,
  TT_FILTER_LT,
  TT_FILTER_LE,
  TT_FILTER_GT,
  TT_FILTER_GE,
} tt_filter_op;

/* A row filter "column OP literal" on the set's source table. Rows whose
 * filter column is null do not pass. */
typedef struct tt_feature_filter {
  tt_filter_op op;
  const char *column;
  int is_string;    /* literal is a quoted string: compared with strcmp */
  double number;    /* numbers and booleans (true = 1) */
  const char *str;  /* string literal */
  const char *text; /* the filter as written, normalised ("engine_running = true") */
} tt_feature_filter;

/* How an attribute feature (a column of an entity table, as of t) becomes
 * a number. docs/features.md, "Attributes". */
typedef enum tt_attr_encode {
  TT_ATTR_NONE = 0, /* not an attribute: a windowed aggregation */
  TT_ATTR_NUMBER,   /* a numeric column, as it is */
  TT_ATTR_CATEGORY, /* a string column: tt_features_category_code of its bytes */
  TT_ATTR_AGE,      /* a year column (build_year): years from Jan 1 of it to t */
} tt_attr_encode;

/* The stable code of a categorical value: h = FNV-1a 64 of its bytes,
 * xor-folded to 24 bits, code = (h ^ h >> 24 ^ h >> 48) & 0xffffff, so every
 * code is an integer in [0, 2^24) that float32 (XGBoost) and double hold
 * exactly ("A" -> 16695561). The same string gives the same code in every build and path,
 * without a dictionary. */
double tt_features_category_code(const char *s, size_t len);

/* One feature; read-only, owned by its tt_feature_set. Attributes (entries
 * of `attributes:` in the file) follow the aggregations, with attribute !=
 * TT_ATTR_NONE, window/per 0 and agg TT_AGG_LAST. */
typedef struct tt_feature_def {
  const char *name;
  const char *table;  /* source table of this feature */
  const char *column; /* value column; "" = count rows (count, rate, time_since only) */
  const char *code;   /* "" or: only rows whose code column equals this */
  const char *description;
  tt_agg agg;
  int64_t window;           /* axis units: microseconds for timestamp axes */
  int64_t per;              /* unit of slope, rate and time_since, in axis units */
  long line;                /* line in the definition file */
  int64_t tile;             /* this feature's tile size: the set's, or a multiple of it */
  tt_attr_encode attribute; /* TT_ATTR_NONE for aggregations */
  const char *time_column;  /* attributes: the entity table's validity column (valid_from) */
} tt_feature_def;

typedef struct tt_feature_set tt_feature_set;

/* Parse a feature set. `schema` may be NULL; when given, tables and columns
 * are checked against it and the time axis comes from it. Errors name the
 * file, line and field. The set is the caller's to destroy. */
tt_err tt_feature_set_parse_file(const char *path, const tt_schema *schema, tt_feature_set **out,
                                 tt_error *err) TT_WARN_UNUSED;
tt_err tt_feature_set_parse_string(const char *yaml, size_t len, const char *source_name,
                                   const tt_schema *schema, tt_feature_set **out,
                                   tt_error *err) TT_WARN_UNUSED;
void tt_feature_set_destroy(tt_feature_set *fs);

const char *tt_feature_set_name(const tt_feature_set *fs);
const char *tt_feature_set_description(const tt_feature_set *fs);
size_t tt_feature_set_tag_count(const tt_feature_set *fs);
const char *tt_feature_set_tag_at(const tt_feature_set *fs, size_t i);
const char *tt_feature_set_entity(const tt_feature_set *fs);      /* entity column, "vehicle_id" */
const char *tt_feature_set_time_column(const tt_feature_set *fs); /* "ts" */
const char *tt_feature_set_source(const tt_feature_set *fs);      /* main (filtered) table */
const char *tt_feature_set_code_column(const tt_feature_set *fs); /* "code" */
tt_time_axis tt_feature_set_axis(const tt_feature_set *fs);
int64_t tt_feature_set_tile(const tt_feature_set *fs);
int64_t tt_feature_set_max_window(const tt_feature_set *fs);
const tt_feature_filter *tt_feature_set_filter(const tt_feature_set *fs); /* NULL if none */
size_t tt_feature_set_table_count(const tt_feature_set *fs);
const char *tt_feature_set_table_at(const tt_feature_set *fs, size_t i);
size_t tt_feature_set_count(const tt_feature_set *fs);
const tt_feature_def *tt_feature_set_at(const tt_feature_set *fs, size_t i);
/* Index of the feature called name, or -1. */
int tt_feature_set_find(const tt_feature_set *fs, const char *name);

/* Canonical JSON (fixed key order, no whitespace, windows in axis units):
 * what is hashed and registered. Owned by fs. */
const char *tt_feature_set_json(const tt_feature_set *fs);
/* Version id: lowercase hex sha256 of the canonical JSON (64 chars).
 * Owned by fs. tt_feature_set_short_version: its first 12 characters. */
const char *tt_feature_set_version(const tt_feature_set *fs);
const char *tt_feature_set_short_version(const tt_feature_set *fs);

/* Parse a span in an axis's units: a duration with a unit ("15m", "1h",
 * "7d", "2w", "3mo" = 90 days) for timestamp axes, an integer for counter
 * axes. Returns 0 on success, -1 if s is not one. */
int tt_features_parse_span(tt_time_axis axis, const char *s, int64_t *out);

/* Load PROJECT/features/NAME.yaml, checked against the project's schema
 * (PROJECT/schemas/NAME.yaml) when a schema parser is linked in (else NULL). */
tt_err tt_feature_set_load(const char *project_dir, const char *name, tt_feature_set **out,
                           tt_error *err) TT_WARN_UNUSED;

/* Register fs in the registry (kind "feature_set", content its canonical
 * JSON, so the registry's sha256 is the version id). An identical
 * definition returns the existing version (*created 0). */
struct tt_registry;
tt_err tt_feature_set_register(struct tt_registry *reg, const tt_feature_set *fs, int *version,
                               int *created, tt_error *err) TT_WARN_UNUSED;

/* The differences between two canonical definitions, one line each:
 * "~ tile: 3600000000 -> 86400000000", "+ feature x: mean of t.c over …",
 * "- feature y: …", "~ feature z: window 3600000000 -> 7200000000".
 * *report is malloc'd ("" when equal). */
tt_err tt_feature_set_diff(const char *old_json, const char *new_json, char **report,
                           tt_error *err) TT_WARN_UNUSED;

/* ---------------------------------------------------------------------- */
/* The engine                                                             */

typedef struct tt_fengine tt_fengine;
typedef struct tt_fstate tt_fstate; /* one vehicle's tiles */

/* Compile a feature set into an engine. The engine keeps a pointer to fs,
 * which must outlive it. Thread-safe for concurrent use with distinct
 * states. */
tt_err tt_fengine_new(const tt_feature_set *fs, tt_fengine **out, tt_error *err) TT_WARN_UNUSED;
void tt_fengine_destroy(tt_fengine *eng);
size_t tt_fengine_feature_count(const tt_fengine *eng);

/* A fresh state (no events). NULL on out-of-memory. */
tt_fstate *tt_fstate_new(const tt_fengine *eng);
void tt_fstate_destroy(tt_fstate *st);
void tt_fstate_reset(tt_fstate *st);
/* Latest event time folded in, INT64_MIN if none. */
tt_time tt_fstate_latest(const tt_fstate *st);
/* Events folded / dropped because they were older than every window that
 * can still be asked for (older than latest - max window). */
uint64_t tt_fstate_folded(const tt_fstate *st);
uint64_t tt_fstate_dropped(const tt_fstate *st);
/* Bytes the state occupies in memory (tiles and bookkeeping). */
size_t tt_fstate_bytes(const tt_fstate *st);

/* Fold rows [begin, end) of a batch of table `table` into st. The batch
 * has the table's columns by name (entity, time, signals); every row must
 * belong to st's vehicle. Rows with a null time are an error (TT_INVALID,
 * naming the row). Any arrival order gives the same state. */
tt_err tt_fengine_fold(const tt_fengine *eng, tt_fstate *st, const char *table, const tt_batch *b,
                       size_t begin, size_t end, tt_error *err) TT_WARN_UNUSED;

/* Values of every feature as of t, into out[tt_fengine_feature_count]; NaN
 * marks a missing value. t must be >= tt_fstate_latest(st) (TT_INVALID
 * otherwise): a state never answers for a time before events it has seen,
 * which is what makes look-ahead impossible. */
tt_err tt_fengine_eval(const tt_fengine *eng, const tt_fstate *st, tt_time t, double *out,
                       tt_error *err) TT_WARN_UNUSED;

/* Serialise a state (compact, little-endian, versioned) so that a restarted
 * process resumes exactly. *buf is malloc'd, caller frees. */
tt_err tt_fstate_save(const tt_fengine *eng, const tt_fstate *st, unsigned char **buf, size_t *len,
                      tt_error *err) TT_WARN_UNUSED;
/* Restore into st (replacing its contents). Data from another feature-set
 * version is refused (TT_INCOMPATIBLE). */
tt_err tt_fstate_load(const tt_fengine *eng, tt_fstate *st, const unsigned char *buf, size_t len,
                      tt_error *err) TT_WARN_UNUSED;

/* Stable shard of a vehicle id: FNV-1a 64 of its bytes, mod n. */
uint32_t tt_features_shard_of(const char *vehicle_id, size_t len, uint32_t n);

/* ---------------------------------------------------------------------- */
/* Offline store                                                          */

typedef struct tt_features_build_opts {
  const char *lake;        /* lake root directory */
  const char *spine_file;  /* CSV or Parquet with vehicle_id, ts; or NULL */
  int64_t every;           /* > 0: spine at every multiple of `every` in [from, to] */
  tt_time from, to;        /* inclusive; INT64_MIN/INT64_MAX = all data */
  uint32_t shard, nshards; /* build vehicles with shard_of(id) == shard; nshards 0 = 1 */
  int threads;             /* 0 = one per core */
  const char *out_path;    /* output Parquet, NULL = the default under LAKE/features */
} tt_features_build_opts;

typedef struct tt_features_build_stats {
  uint64_t rows_read, vehicles, spine_rows, files_read;
  char out_path[1024];      /* the Parquet file written */
  char manifest_path[1024]; /* its manifest (JSON: version, lake files, options) */
} tt_features_build_stats;

/* Build point-in-time feature values for a spine and write them as Parquet
 * (columns: vehicle_id, ts, one DOUBLE per feature) with a manifest that
 * records the definition version and the exact lake files read. */
tt_err tt_features_build(const tt_feature_set *fs, const tt_features_build_opts *opts,
                         tt_features_build_stats *stats, tt_error *err) TT_WARN_UNUSED;

/* Default output location: LAKE/features/NAME/version=SHORTVERSION/part-I-of-N.parquet.
 * Writes into buf; returns buf. */
char *tt_features_build_path(const tt_feature_set *fs, const char *lake, uint32_t shard,
                             uint32_t nshards, char *buf, size_t size);

/* ---------------------------------------------------------------------- */
/* Online store                                                           */

typedef struct tt_online tt_online;

/* Open the online store at url ("memory:" or "redis://host:port[/db]") for
 * a feature set. ttl_seconds > 0 sets a TTL on each vehicle's key. The
 * engine is borrowed and must outlive the store. */
tt_err tt_online_open(const char *url, const tt_fengine *eng, const tt_feature_set *fs,
                      int ttl_seconds, tt_online **out, tt_error *err) TT_WARN_UNUSED;
void tt_online_close(tt_online *on);

/* Fold a batch of table `table` (rows of any vehicles, any order) into the
 * vehicles' states, recompute their features as of each vehicle's latest
 * event and write states, values and — when source is not NULL — the
 * source's position `offset_after` back. Redis: one pipelined MULTI/EXEC
 * per batch, so a batch is applied entirely or not at all, and a consumer
 * that restarts from tt_online_offset neither loses nor refolds events.
 * On error (TT_REDIS) nothing of the batch is applied; retry it. */
tt_err tt_online_update(tt_online *on, const char *table, const tt_batch *b, const char *source,
                        uint64_t offset_after, tt_error *err) TT_WARN_UNUSED;

/* The position stored for source by the last update (0 if none). */
tt_err tt_online_offset(tt_online *on, const char *source, uint64_t *offset,
                        tt_error *err) TT_WARN_UNUSED;

/* The stored values of a vehicle: out[feature_count], *as_of the time they
 * were computed for. TT_NOTFOUND if the vehicle has none. */
tt_err tt_online_get(tt_online *on, const char *vehicle_id, double *out, tt_time *as_of,
                     tt_error *err) TT_WARN_UNUSED;

/* Write values directly (bulk load from the offline store). No tiles are
 * stored: a later tt_online_update of that vehicle starts from its saved
 * state, or from scratch. */
tt_err tt_online_put(tt_online *on, const char *vehicle_id, const double *vals, tt_time as_of,
                     tt_error *err) TT_WARN_UNUSED;

/* Bulk-load each vehicle's latest row of an offline build into the online
 * store: `file` (a Parquet file or glob), or NULL for every part of the
 * set's current version under LAKE/features/NAME/. *vehicles: how many. */
tt_err tt_features_materialize(tt_online *on, const tt_feature_set *fs, const char *lake,
                               const char *file, uint64_t *vehicles, tt_error *err) TT_WARN_UNUSED;

/* Vehicles with values, and bytes used (memory: states + values; Redis:
 * MEMORY USAGE summed over the set's keys). */
tt_err tt_online_stats(tt_online *on, uint64_t *vehicles, uint64_t *bytes,
                       tt_error *err) TT_WARN_UNUSED;

/* ---------------------------------------------------------------------- */
/* Sources of events for streaming                                        */

/* A source yields batches of one table's rows in arrival order, each with
 * the position after it, and can restart at a position. Files (CSV,
 * Parquet) are built in; Kafka is tt_kafka_feature_source (kafka.h).
 *
 * A call of next() also tells the source that the batch it returned before
 * is durably applied to the online store (with its position): a Kafka
 * source commits that batch's offsets then, never earlier.
 *
 * Sources with one position (files) set id and seek. Sources with several
 * positions (Kafka: one per partition) set attach and batch_key instead:
 * tt_features_stream calls attach(ctx, store) once, and the source reads
 * the stored position of each key itself (tt_online_offset) when it starts
 * a key, e.g. on a partition assignment; each batch is stored under
 * batch_key(ctx), the key of the batch next() returned last. */
typedef struct tt_feature_source {
  void *ctx;
  const char *id; /* stable name, the key of its stored offset */
  /* 1: *b holds rows of *table (owned by the source, valid until the next
   * call); 0: end; < 0: error in err. */
  int (*next)(void *ctx, const char **table, const tt_batch **b, uint64_t *offset_after,
              tt_error *err);
  tt_err (*seek)(void *ctx, uint64_t offset, tt_error *err);
  void (*close)(void *ctx);
  /* Optional (NULL for single-position sources), see above. max_retries:
   * how often a failed store read is retried, with backoff. */
  tt_err (*attach)(void *ctx, tt_online *on, int max_retries, tt_error *err);
  const char *(*batch_key)(void *ctx);
  /* Optional: messages the source rejected (invalid) and redelivered
   * events it skipped because the store already held them. */
  void (*counters)(void *ctx, uint64_t *invalid, uint64_t *skipped);
  /* Optional: once *stop is non-zero (a signal), a failing store write is
   * not retried any more: tt_features_stream returns its error and the
   * batch stays unapplied (and, for Kafka, uncommitted). */
  volatile int *stop;
} tt_feature_source;

/* A CSV or Parquet file of one table's rows (the columns the set reads),
 * read in file order; positions are row numbers. */
tt_err tt_feature_source_file(const tt_feature_set *fs, const char *path, const char *table,
                              tt_feature_source *out, tt_error *err) TT_WARN_UNUSED;

typedef struct tt_features_stream_stats {
  uint64_t events, batches, retries, resumed_at;
  uint64_t invalid, skipped; /* from src->counters, when the source has them */
} tt_features_stream_stats;

/* Consume src into the online store from the offset stored for it (or,
 * for multi-position sources, for each of its keys) until the source ends.
 * A store failure is retried (max_retries, with backoff)
 * from the last applied batch, so no event is lost or folded twice. */
tt_err tt_features_stream(tt_online *on, tt_feature_source *src, int max_retries,
                          tt_features_stream_stats *stats, tt_error *err) TT_WARN_UNUSED;

/* ---------------------------------------------------------------------- */
/* Proof of consistency                                                   */

typedef struct tt_features_verify_report {
  uint64_t vehicles, events, checkpoints, values_compared, mismatches;
  size_t nfeatures;
  uint64_t *mismatches_by_feature; /* [nfeatures], malloc'd: tt_features_verify_report_free */
} tt_features_verify_report;

/* Replay the lake's events of the set's tables (in the lake's stored order,
 * which holds late and out-of-order arrivals) through the online store at
 * url, and at checkpoints compare every online value bit for bit with the
 * offline value at the same time. A checkpoint is a point in a vehicle's
 * arrival sequence after which no event with an earlier-or-equal time
 * arrives (so the online state has seen every event <= that time). */
tt_err tt_features_verify(const tt_feature_set *fs, const char *lake, const char *online_url,
                          tt_time from, tt_time to, tt_features_verify_report *rep,
                          tt_error *err) TT_WARN_UNUSED;
void tt_features_verify_report_free(tt_features_verify_report *rep);

#ifdef __cplusplus
}
#endif
#endif
