/* The aggregation engine: compile a feature set into inputs, fold events
 * into per-vehicle tiles, evaluate windows as of a time. The same functions
 * serve the offline builder and the online store; see README.md for why
 * that makes their values bit-identical. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features/internal.h"
#include "features/tile.h"
#include "telltale/hash.h"

static int find_table(const tt_feature_set *fs, const char *name) {
  for (size_t i = 0; i < fs->ntables; i++)
    if (!strcmp(fs->tables[i], name)) return (int)i;
  return -1;
}

static const tt_feature_set *g_sort_fs; /* only during qsort in tt_fengine_new */
static int by_window(const void *a, const void *b) {
  int64_t wa = g_sort_fs->features[*(const int *)a].window;
  int64_t wb = g_sort_fs->features[*(const int *)b].window;
  if (wa != wb) return wa < wb ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

tt_err tt_fengine_new(const tt_feature_set *fs, tt_fengine **out, tt_error *err) {
  *out = NULL;
  tt_fengine *e = calloc(1, sizeof *e);
  if (!e || !(e->inputs = calloc(fs->nfeatures, sizeof *e->inputs))) {
    free(e);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  e->fs = fs;
  for (size_t i = 0; i < fs->nfeatures; i++) {
    const tt_feature_def *f = &fs->features[i];
    int tab = find_table(fs, f->table);
    size_t k = f->attribute ? e->ninputs : 0; /* an attribute is an input of its own */
    for (; k < e->ninputs; k++)
      if (!e->inputs[k].attr && e->inputs[k].table == tab &&
          !strcmp(e->inputs[k].column, f->column) && !strcmp(e->inputs[k].code, f->code) &&
          e->inputs[k].tile == f->tile)
        break;
    tt__input *in = &e->inputs[k];
    if (k == e->ninputs) {
      e->ninputs++;
      in->table = tab;
      in->column = f->column;
      in->code = f->code;
      in->tile = f->tile;
      in->attr = f->attribute;
      in->filtered = fs->filter.op != TT_FILTER_NONE && !strcmp(f->table, fs->source);
      in->feat = calloc(fs->nfeatures, sizeof *in->feat);
      if (!in->feat) {
        tt_fengine_destroy(e);
        return tt_error_set(err, TT_NOMEM, "out of memory");
      }
    }
    in->feat[in->nfeat++] = (int)i;
    if (f->agg == TT_AGG_SLOPE) in->slope = 1;
    if (f->window / in->tile > in->max_tiles) in->max_tiles = f->window / in->tile;
  }
  /* Windows ascending: evaluation walks tiles newest to oldest once per
   * input and emits each feature when its window is covered. */
  g_sort_fs = fs;
  for (size_t k = 0; k < e->ninputs; k++)
    qsort(e->inputs[k].feat, e->inputs[k].nfeat, sizeof(int), by_window);
  *out = e;
  return TT_OK;
}

void tt_fengine_destroy(tt_fengine *e) {
  if (!e) return;
  for (size_t k = 0; k < e->ninputs; k++)
    free(e->inputs[k].feat);
  free(e->inputs);
  free(e);
}

size_t tt_fengine_feature_count(const tt_fengine *e) { return e->fs->nfeatures; }

tt_fstate *tt_fstate_new(const tt_fengine *e) {
  tt_fstate *st = calloc(1, sizeof *st + e->ninputs * sizeof(tt__ring));
  if (!st) return NULL;
  st->ninputs = e->ninputs;
  st->latest = INT64_MIN;
  return st;
}

void tt_fstate_destroy(tt_fstate *st) {
  if (!st) return;
  for (size_t k = 0; k < st->ninputs; k++)
    free(st->rings[k].t);
  free(st);
}

void tt_fstate_reset(tt_fstate *st) {
  for (size_t k = 0; k < st->ninputs; k++)
    st->rings[k].n = 0;
  st->latest = INT64_MIN;
  st->folded = st->dropped = st->skipped = 0;
}

tt_time tt_fstate_latest(const tt_fstate *st) { return st->latest; }
uint64_t tt_fstate_folded(const tt_fstate *st) { return st->folded; }
uint64_t tt_fstate_dropped(const tt_fstate *st) { return st->dropped; }

size_t tt_fstate_bytes(const tt_fstate *st) {
  size_t b = sizeof *st + st->ninputs * sizeof(tt__ring);
  for (size_t k = 0; k < st->ninputs; k++)
    b += st->rings[k].cap * sizeof(tt__tile);
  return b;
}

/* Drop tiles no window as of any t >= latest can reach. Tiles are removed
 * from the front of a sorted array, so this moves memory: do it in steps of
 * at least 32 tiles (stale tiles in between are never merged — evaluation
 * stops at the window's first tile — and cost at most 32 tiles of memory). */
static void prune(const tt_fengine *e, tt_fstate *st) {
  for (size_t i = 0; i < st->ninputs; i++) {
    tt__ring *r = &st->rings[i];
    int64_t k = tt__tile_of(st->latest, e->inputs[i].tile);
    if (e->inputs[i].attr) continue; /* one slot: the latest row */
    int64_t lo = k - e->inputs[i].max_tiles + 1;
    size_t drop = 0;
    while (drop < r->n && r->t[drop].idx < lo)
      drop++;
    if (drop >= 32 || (drop && drop == r->n)) {
      memmove(r->t, r->t + drop, (r->n - drop) * sizeof *r->t);
      r->n -= drop;
    }
  }
}

void tt__fstate_touch(const tt_fengine *e, tt_fstate *st, int64_t t) {
  if (t > st->latest) {
    int64_t k = tt__tile_of(t, e->fs->tile);
    int moved = st->latest == INT64_MIN || k != st->latest_tile;
    st->latest = t;
    st->latest_tile = k;
    if (moved) prune(e, st);
  }
}

tt_err tt__fstate_fold_value(const tt_fengine *e, tt_fstate *st, size_t in, int64_t t, double x,
                             int valid) {
  const tt__input *inp = &e->inputs[in];
  if (inp->attr) {
    /* The row valid as of any t >= latest is the one with the greatest
     * valid_from <= t: keep the greatest (time, value), NaN (null) below
     * every number. An order-free fold, like `last`, over all history. */
    if (!valid) x = NAN;
    tt__tile *tl = tt__ring_get(&st->rings[in], 0);
    if (!tl) return TT_NOMEM;
    if (!tl->n || t > tl->lt || (t == tl->lt && !isnan(x) && (isnan(tl->lx) || x > tl->lx))) {
      tl->n = 1;
      tl->lt = tl->ft = t;
      tl->lx = tl->fx = x;
    }
    return TT_OK;
  }
  int64_t idx = tt__tile_of(t, inp->tile);
  /* Too late to matter: older than every window still answerable. */
  if (st->latest != INT64_MIN && idx < tt__tile_of(st->latest, inp->tile) - inp->max_tiles + 1) {
    st->dropped++;
    return TT_OK;
  }
  int rowcount = !*inp->column;
  if (!rowcount) {
    if (!valid || isnan(x)) return TT_OK; /* missing: skipped by value aggregations */
    if (!(fabs(x) < (double)(INT64_C(1) << TT_FX_LIMIT_BITS))) {
      st->skipped++;
      return TT_OK;
    }
  } else {
    x = 1.0;
  }
  tt__tile *tl = tt__ring_get(&st->rings[in], idx);
  if (!tl) return TT_NOMEM;
  tt__tile_add(tl, t - idx * inp->tile, t, x);
  return TT_OK;
}

static int col_of(const tt_batch *b, const char *name) { return tt_batch_column(b, name); }

static double num_at(const tt_vector *v, size_t r) {
  switch (v->type) {
  case TT_TYPE_DOUBLE:
    return v->v.f64[r];
  case TT_TYPE_INT64:
  case TT_TYPE_TIMESTAMP:
    return (double)v->v.i64[r];
  case TT_TYPE_BOOL:
    return v->v.b[r] ? 1.0 : 0.0;
  default:
    return NAN;
  }
}

static int filter_pass(const tt_feature_filter *f, const tt_vector *v, size_t r) {
  if (!v->valid[r]) return 0;
  if (f->is_string || v->type == TT_TYPE_STRING) {
    if (!f->is_string || v->type != TT_TYPE_STRING) return 0;
    int c = strcmp(v->v.str[r], f->str);
    return f->op == TT_FILTER_EQ ? c == 0 : c != 0;
  }
  double x = num_at(v, r);
  switch (f->op) {
  case TT_FILTER_EQ:
    return x == f->number;
  case TT_FILTER_NE:
    return x != f->number;
  case TT_FILTER_LT:
    return x < f->number;
  case TT_FILTER_LE:
    return x <= f->number;
  case TT_FILTER_GT:
    return x > f->number;
  case TT_FILTER_GE:
    return x >= f->number;
  default:
    return 1;
  }
}

tt__binding *tt__fengine_bind(const tt_fengine *e, const char *table, const tt_batch *b,
                              tt_error *err) {
  const tt_feature_set *fs = e->fs;
  int tab = -1;
  for (size_t i = 0; i < fs->ntables; i++)
    if (!strcmp(fs->tables[i], table)) tab = (int)i;
  tt__binding *bd = calloc(1, sizeof *bd + e->ninputs * sizeof(int));
  if (!bd) {
    tt_error_set(err, TT_NOMEM, "out of memory");
    return NULL;
  }
  bd->table = tab;
  bd->filter_col = -1;
  if (tab < 0) return bd; /* a table this set does not read: rows are ignored */
  const char *tcol = tt__table_time(fs, table);
  bd->time_col = col_of(b, tcol);
  if (bd->time_col < 0 || (b->cols[bd->time_col].type != TT_TYPE_TIMESTAMP &&
                           b->cols[bd->time_col].type != TT_TYPE_INT64)) {
    tt_error_set(err, TT_SCHEMA, "table '%s' has no int64/timestamp column '%s'", table, tcol);
    tt_error_at(err, NULL, 0, tcol);
    goto fail;
  }
  bd->code_col = col_of(b, fs->code_column);
  int uses_filter = 0;
  for (size_t k = 0; k < e->ninputs; k++) {
    const tt__input *in = &e->inputs[k];
    bd->vcol[k] = -1;
    if (in->table != tab) continue;
    uses_filter |= in->filtered;
    if (*in->code && (bd->code_col < 0 || b->cols[bd->code_col].type != TT_TYPE_STRING)) {
      tt_error_set(err, TT_SCHEMA, "table '%s' has no string column '%s' for event codes", table,
                   fs->code_column);
      tt_error_at(err, NULL, 0, fs->code_column);
      goto fail;
    }
    if (!*in->column) continue;
    bd->vcol[k] = col_of(b, in->column);
    if (in->attr == TT_ATTR_CATEGORY) {
      if (bd->vcol[k] < 0 || b->cols[bd->vcol[k]].type != TT_TYPE_STRING) {
        tt_error_set(err, TT_SCHEMA, "table '%s' has no string column '%s' (encode: category)",
                     table, in->column);
        tt_error_at(err, NULL, 0, in->column);
        goto fail;
      }
      continue;
    }
    if (bd->vcol[k] < 0 || b->cols[bd->vcol[k]].type == TT_TYPE_STRING) {
      tt_error_set(err, TT_SCHEMA, "table '%s' has no numeric column '%s'", table, in->column);
      tt_error_at(err, NULL, 0, in->column);
      goto fail;
    }
  }
  if (uses_filter) {
    bd->filter_col = col_of(b, fs->filter.column);
    if (bd->filter_col < 0) {
      tt_error_set(err, TT_SCHEMA, "table '%s' has no column '%s' (used by the filter)", table,
                   fs->filter.column);
      tt_error_at(err, NULL, 0, "filter");
      goto fail;
    }
  }
  return bd;
fail:
  free(bd);
  return NULL;
}

tt_err tt__fengine_fold_row(const tt_fengine *e, const tt__binding *bd, tt_fstate *st,
                            const tt_batch *b, size_t r, tt_error *err) {
  const tt_feature_set *fs = e->fs;
  if (bd->table < 0) return TT_OK;
  const tt_vector *tv = &b->cols[bd->time_col];
  if (!tv->valid[r]) {
    tt_error_set(err, TT_INVALID, "row %zu of table '%s' has no time", r + 1,
                 fs->tables[bd->table]);
    return tt_error_at(err, NULL, (long)r + 1, tt__table_time(fs, fs->tables[bd->table]));
  }
  int64_t t = tv->v.i64[r];
  int pass = bd->filter_col < 0 || filter_pass(&fs->filter, &b->cols[bd->filter_col], r);
  for (size_t k = 0; k < e->ninputs; k++) {
    const tt__input *in = &e->inputs[k];
    if (in->table != bd->table || (in->filtered && !pass)) continue;
    if (*in->code) {
      const tt_vector *cv = &b->cols[bd->code_col];
      if (!cv->valid[r] || strcmp(cv->v.str[r], in->code)) continue;
    }
    double x = 0;
    int valid = 1;
    if (bd->vcol[k] >= 0) {
      const tt_vector *v = &b->cols[bd->vcol[k]];
      valid = v->valid[r];
      if (in->attr == TT_ATTR_CATEGORY)
        x = valid ? tt_features_category_code(v->v.str[r], strlen(v->v.str[r])) : 0;
      else
        x = valid ? num_at(v, r) : 0;
    }
    if (tt__fstate_fold_value(e, st, k, t, x, valid) != TT_OK)
      return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  st->folded++;
  tt__fstate_touch(e, st, t);
  return TT_OK;
}

tt_err tt_fengine_fold(const tt_fengine *e, tt_fstate *st, const char *table, const tt_batch *b,
                       size_t begin, size_t end, tt_error *err) {
  if (end > b->nrows) end = b->nrows;
  tt__binding *bd = tt__fengine_bind(e, table, b, err);
  if (!bd) return err ? err->code : TT_SCHEMA;
  tt_err rc = TT_OK;
  for (size_t r = begin; r < end && rc == TT_OK; r++)
    rc = tt__fengine_fold_row(e, bd, st, b, r, err);
  free(bd);
  return rc;
}

/* ---------------------------------------------------------------------- */

/* Microseconds from 1970-01-01 to January 1 of year y (proleptic
 * Gregorian, UTC). */
static double year_start_us(double y) {
  int64_t yr = (int64_t)floor(y) - 1; /* days before Jan 1 of y, from Jan 1 of year 1 */
  int64_t days = yr * 365 + tt__floordiv(yr, 4) - tt__floordiv(yr, 100) + tt__floordiv(yr, 400);
  days -= 719162; /* 1970-01-01 */
  return (double)days * (double)TT_USEC_PER_DAY;
}

/* An attribute's value as of t from its slot (the row with the greatest
 * valid_from <= t, since the state holds no event after t). */
static double attr_value(tt_attr_encode enc, const tt__ring *r, int64_t t) {
  if (!r->n) return NAN; /* no row valid yet */
  double x = r->t[0].lx;
  if (enc != TT_ATTR_AGE || isnan(x)) return x;
  /* Julian years of 365.25 days from January 1 of the year. */
  if (!(fabs(x) < 1e6)) return NAN;
  return ((double)t - year_start_us(x)) / (365.25 * (double)TT_USEC_PER_DAY);
}

tt_err tt_fengine_eval(const tt_fengine *e, const tt_fstate *st, tt_time t, double *out,
                       tt_error *err) {
  const tt_feature_set *fs = e->fs;
  if (st->latest != INT64_MIN && t < st->latest) {
    char a[40], b[40];
    tt_time_format(t, a, sizeof a);
    tt_time_format(st->latest, b, sizeof b);
    return tt_error_set(err, TT_INVALID,
                        "cannot evaluate as of %s: the state holds an event at %s (look-ahead)", a,
                        b);
  }
  for (size_t i = 0; i < e->ninputs; i++) {
    const tt__input *in = &e->inputs[i];
    const tt__ring *r = &st->rings[i];
    if (in->attr) {
      out[in->feat[0]] = attr_value(in->attr, r, t);
      continue;
    }
    int64_t k = tt__tile_of(t, in->tile);
    tt__acc acc;
    tt__acc_init(&acc);
    size_t pos = r->n; /* tiles r->t[pos..] are merged */
    for (size_t j = 0; j < in->nfeat; j++) {
      const tt_feature_def *f = &fs->features[in->feat[j]];
      int64_t lo = k - f->window / in->tile + 1;
      /* Newest to oldest, a fixed order; the sums are exact integers, so
       * the order could not matter anyway. */
      while (pos > 0 && r->t[pos - 1].idx >= lo) {
        pos--;
        tt__acc_merge(&acc, &r->t[pos], (r->t[pos].idx - k) * in->tile, in->slope);
      }
      out[in->feat[j]] = tt__acc_value(&acc, f, t, k * in->tile);
    }
  }
  return TT_OK;
}

/* The one sharding rule of telltale (include/telltale/hash.h). */
uint32_t tt_features_shard_of(const char *id, size_t len, uint32_t n) {
  return n > 1 ? (uint32_t)(tt_hash64(id, len) % n) : 0;
}
