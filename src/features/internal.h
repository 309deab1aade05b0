/* Internal to the features module: the feature-set struct, the compiled
 * engine's plan and the tile layout. See README.md in this directory. */
#ifndef TT_FEATURES_INTERNAL_H
#define TT_FEATURES_INTERNAL_H

#include <stdint.h>

#include "telltale/features.h"

#define TT_FEATURES_MAX 4096
#define TT_FEATURES_MAX_FILE_BYTES (1 << 24)
#define TT_FEATURES_MAX_TILES_PER_WINDOW 100000

/* Values enter sums as round(x * 2^TT_FX_BITS) in int64; |x| must be below
 * 2^TT_FX_LIMIT_BITS. Squares and time products are exact in __int128. */
#define TT_FX_BITS 24
#define TT_FX_LIMIT_BITS 24

typedef __int128 tt_i128;

struct tt_feature_set {
  struct tt_arena *arena; /* every string of the set */
  const char *name, *description, *entity, *time_column, *source, *code_column;
  const char **tags;
  size_t ntags;
  const char **tables;
  size_t ntables;
  tt_time_axis axis;
  int64_t tile, max_window;
  tt_feature_filter filter;
  tt_feature_def *features; /* aggregations [0, nagg), then attributes */
  size_t nfeatures, nagg;
  char *json;
  char version[65], short_version[13];
};

/* Partial aggregate of one input over one tile. Every field is a
 * commutative, associative fold of the tile's events, so arrival order
 * cannot change it: integer sums, min/max, and first/last ordered by
 * (time, value). */
typedef struct tt__tile {
  int64_t idx;          /* tt__tile_of(time): the tile (idx·T − T, idx·T] */
  int64_t n;            /* valid values (rows, for row-count inputs) */
  tt_i128 sum;          /* Σ xq, xq = round(x * 2^TT_FX_BITS) */
  tt_i128 sq;           /* Σ xq² */
  tt_i128 st, stt, stx; /* Σ dt, Σ dt², Σ dt·xq; dt = time - idx * tile (<= 0) */
  double min, max;
  int64_t ft, lt; /* first / last time */
  double fx, lx;  /* values at ft / lt */
} tt__tile;

typedef struct tt__ring {
  tt__tile *t; /* sorted by idx, ascending; only non-empty tiles */
  size_t n, cap;
} tt__ring;

/* One distinct (table, column, code) that features read. */
typedef struct tt__input {
  int table;           /* index into fs->tables */
  const char *column;  /* "" = row count */
  const char *code;    /* "" = any row */
  int filtered;        /* the set's filter applies (table is the source) */
  int64_t tile;        /* tile size of its features (a multiple of the set's) */
  int64_t max_tiles;   /* longest window of its features, in tiles */
  int slope;           /* a slope feature reads it: merge the slope sums */
  tt_attr_encode attr; /* != NONE: an attribute (one slot: the latest row, never pruned) */
  size_t nfeat;
  int *feat; /* feature indices, sorted by window ascending */
} tt__input;

struct tt_fengine {
  const tt_feature_set *fs;
  size_t ninputs;
  tt__input *inputs;
};

struct tt_fstate {
  tt_time latest;
  int64_t latest_tile; /* tt__tile_of(latest), cached: used on every fold */
  uint64_t folded, dropped, skipped;
  size_t ninputs;
  tt__ring rings[];
};

/* Fold one event of input `in`: time t, value x (ignored for row counts),
 * valid 0 when the value is null. Used by tt_fengine_fold and the offline
 * builder, which reads columns straight from DuckDB. */
tt_err tt__fstate_fold_value(const tt_fengine *eng, tt_fstate *st, size_t in, int64_t t, double x,
                             int valid);
/* Mark the state as having seen time t (an event of any input). */
void tt__fstate_touch(const tt_fengine *eng, tt_fstate *st, int64_t t);

/* Column positions of one table's batch layout, resolved once per batch
 * (tt__fengine_bind, malloc'd, caller frees) and used for every row. */
typedef struct tt__binding {
  int table; /* -1: the set does not read this table */
  int time_col, filter_col, code_col;
  int vcol[]; /* per input: value column, -1 for row counts / other tables */
} tt__binding;

tt__binding *tt__fengine_bind(const tt_fengine *eng, const char *table, const tt_batch *b,
                              tt_error *err);
tt_err tt__fengine_fold_row(const tt_fengine *eng, const tt__binding *bd, tt_fstate *st,
                            const tt_batch *b, size_t row, tt_error *err);

/* The columns the set reads from one table, as a DuckDB SELECT list and
 * the matching tt_batch layout (see tt__cursor_open). */
#define TT__SELECT_MAX 64
typedef struct tt__select {
  size_t ncols;
  const char *cols[TT__SELECT_MAX];
  tt_type types[TT__SELECT_MAX];
  char sql[8192];
} tt__select;
void tt__table_select(const tt_fengine *eng, const char *table, tt__select *sel);

/* The tile of time t: tiles are (k·T − T, k·T], so k = ceil(t / T). A
 * window as of a tile boundary t then covers exactly (t − W, t]. */
static inline int64_t tt__tile_of(int64_t t, int64_t tile) {
  int64_t q = t / tile;
  return (t % tile != 0 && t > 0) ? q + 1 : q;
}

/* The earliest event time (exclusive) any window as of `from` can use:
 * min over features of (tile_of(from, tile) - window / tile) * tile. */
static inline int64_t tt__read_lo(const tt_feature_set *fs, int64_t from) {
  int64_t lo = INT64_MAX;
  for (size_t i = 0; i < fs->nagg; i++) {
    const tt_feature_def *f = &fs->features[i];
    int64_t k = (tt__tile_of(from, f->tile) - f->window / f->tile) * f->tile;
    if (k < lo) lo = k;
  }
  return lo;
}

/* The time column of a table as the set reads it: an entity table's
 * validity column (attributes), else the set's time column. */
const char *tt__table_time(const tt_feature_set *fs, const char *table);
/* 1 if the set reads the table for attributes (read all of its history up
 * to t, never pruned by windows). */
int tt__table_is_entity(const tt_feature_set *fs, const char *table);

/* floor(a / b) for b > 0. */
static inline int64_t tt__floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

#endif
