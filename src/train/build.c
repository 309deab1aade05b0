/* Building training (and scoring) sets from the lake.
 *
 *   1. spine    distinct (vehicle, bucket) of the spine table, via DuckDB
 *   2. labels   failure and repair times per vehicle → tt_label_compute
 *   3. split    tt_split_assign, negatives down-sampled in the train part
 *   4. features each feature set's engine folds the vehicle's rows in time
 *               order and is evaluated at each observation time, with only
 *               rows at or before it folded: no look-ahead by construction
 *               (the engine refuses to answer for a time before an event
 *               it has seen).
 *
 * Every lake file read is recorded (relative to the lake root) so that
 * `train --reproduce` can read exactly the same files again. */
#include <dirent.h>
#include <duckdb.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "telltale/features.h"
#include "telltale/hash.h"
#include "telltale/log.h"
#include "telltale/time.h"
#include "telltale/train.h"

/* ---- small helpers ------------------------------------------------------ */

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = (b->cap ? b->cap * 2 : 256) + (size_t)n;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
}

/* A SQL string literal: 'it''s'. */
static void sb_lit(sbuf *b, const char *s) {
  sb_printf(b, "'");
  for (const char *c = s; *c; c++) sb_printf(b, *c == '\'' ? "''" : "%c", *c);
  sb_printf(b, "'");
}

/* A SQL identifier: "col""x". */
static void sb_ident(sbuf *b, const char *s) {
  sb_printf(b, "\"");
  for (const char *c = s; *c; c++) sb_printf(b, *c == '"' ? "\"\"" : "%c", *c);
  sb_printf(b, "\"");
}

typedef struct vt { /* one (vehicle, time) */
  char *v;
  int64_t t;
} vt;

static int vt_cmp(const void *a, const void *b) {
  const vt *x = a, *y = b;
  int c = strcmp(x->v, y->v);
  return c ? c : (x->t > y->t) - (x->t < y->t);
}

typedef struct vtlist {
  vt *a;
  size_t n, cap;
} vtlist;

static void vtlist_free(vtlist *l) {
  for (size_t i = 0; i < l->n; i++) free(l->a[i].v);
  free(l->a);
  l->a = NULL;
  l->n = l->cap = 0;
}

/* [lo, hi) of vehicle v in a sorted list. */
static void vt_range(const vtlist *l, const char *v, size_t *lo, size_t *hi) {
  size_t a = 0, b = l->n;
  while (a < b) {
    size_t m = (a + b) / 2;
    if (strcmp(l->a[m].v, v) < 0) a = m + 1;
    else b = m;
  }
  *lo = a;
  while (a < l->n && !strcmp(l->a[a].v, v)) a++;
  *hi = a;
}

typedef struct builder {
  const tt_model_spec *spec;
  const tt_build_opts *o;
  tt_build_info *info;
  tt_error *err;
  duckdb_database db;
  duckdb_connection con;
  const tt_schema *schema;
  tt_schema *own_schema; /* loaded from the project when opts->schema is NULL */
} builder;

/* The project's schema that declares `table` (a YAML file in PROJECT/schemas). */
static tt_err load_schema(builder *b, const char *table) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/schemas", b->o->project_dir ? b->o->project_dir : ".");
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      size_t n = strlen(de->d_name);
      if (n < 6 || strcmp(de->d_name + n - 5, ".yaml")) continue;
      char path[8200];
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      tt_schema *s = NULL;
      tt_err rc = tt_schema_parse_file(path, &s, b->err);
      if (rc != TT_OK) {
        closedir(d);
        return rc;
      }
      if (tt_schema_table(s, table)) {
        b->own_schema = s;
        b->schema = s;
        break;
      }
      tt_schema_destroy(s);
    }
    closedir(d);
  }
  if (!b->schema) {
    tt_error_set(b->err, TT_SCHEMA, "no schema in %s declares table '%s'", dir, table);
    tt_error_at(b->err, b->spec->source, 0, "spine.table");
    return TT_SCHEMA;
  }
  return TT_OK;
}

static tt_err nomem(builder *b) { return tt_error_set(b->err, TT_NOMEM, "out of memory"); }

static tt_err query(builder *b, const char *sql, duckdb_result *res) {
  if (duckdb_query(b->con, sql, res) == DuckDBSuccess) return TT_OK;
  tt_error_set(b->err, TT_DB, "DuckDB: %s", duckdb_result_error(res));
  duckdb_destroy_result(res);
  return TT_DB;
}

/* A streaming query: chunks are produced as they are fetched instead of
 * being materialised first, which halves the memory of reading a large
 * sorted table. */
static tt_err query_stream(builder *b, const char *sql, duckdb_result *res) {
  duckdb_prepared_statement st = NULL;
  duckdb_pending_result pend = NULL;
  tt_err rc = TT_OK;
  if (duckdb_prepare(b->con, sql, &st) != DuckDBSuccess) {
    rc = tt_error_set(b->err, TT_DB, "DuckDB: %s", duckdb_prepare_error(st));
  } else if (duckdb_pending_prepared_streaming(st, &pend) != DuckDBSuccess) {
    rc = tt_error_set(b->err, TT_DB, "DuckDB: %s", duckdb_pending_error(pend));
  } else if (duckdb_execute_pending(pend, res) != DuckDBSuccess) {
    rc = tt_error_set(b->err, TT_DB, "DuckDB: %s", duckdb_result_error(res));
    duckdb_destroy_result(res);
  }
  duckdb_destroy_pending(&pend);
  duckdb_destroy_prepare(&st);
  return rc;
}

/* Fetch a (VARCHAR, BIGINT) result into l (appending). NULL rows skipped. */
static tt_err fetch_vt(builder *b, const char *sql, vtlist *l) {
  duckdb_result res;
  tt_err rc = query(b, sql, &res);
  if (rc != TT_OK) return rc;
  duckdb_data_chunk ch;
  while (rc == TT_OK && (ch = duckdb_fetch_chunk(res)) != NULL) {
    idx_t n = duckdb_data_chunk_get_size(ch);
    duckdb_vector v0 = duckdb_data_chunk_get_vector(ch, 0), v1 = duckdb_data_chunk_get_vector(ch, 1);
    duckdb_string_t *s = duckdb_vector_get_data(v0);
    int64_t *t = duckdb_vector_get_data(v1);
    uint64_t *m0 = duckdb_vector_get_validity(v0), *m1 = duckdb_vector_get_validity(v1);
    for (idx_t i = 0; i < n && rc == TT_OK; i++) {
      if ((m0 && !duckdb_validity_row_is_valid(m0, i)) || (m1 && !duckdb_validity_row_is_valid(m1, i)))
        continue;
      if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        vt *na = realloc(l->a, cap * sizeof *na);
        if (!na) {
          rc = nomem(b);
          break;
        }
        l->a = na;
        l->cap = cap;
      }
      char *str = strndup(duckdb_string_t_data(&s[i]), duckdb_string_t_length(s[i]));
      if (!str) {
        rc = nomem(b);
        break;
      }
      l->a[l->n++] = (vt){str, t[i]};
    }
    duckdb_destroy_data_chunk(&ch);
  }
  duckdb_destroy_result(&res);
  return rc;
}

static int has_str(char **l, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(l[i], s)) return 1;
  return 0;
}

static tt_err add_file(builder *b, const char *rel) {
  tt_build_info *in = b->info;
  if (has_str(in->files, in->nfiles, rel)) return TT_OK;
  char **nf = realloc(in->files, (in->nfiles + 1) * sizeof *nf);
  if (!nf) return nomem(b);
  in->files = nf;
  if (!(in->files[in->nfiles] = strdup(rel))) return nomem(b);
  in->nfiles++;
  return TT_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* "read_parquet([...], hive_partitioning = true, union_by_name = true)"
 * over the table's files: every file under LAKE/TABLE/, or the recorded
 * ones when reproducing. Missing data is an error naming the directory. */
static tt_err table_source(builder *b, const char *table, sbuf *out) {
  const char *lake = b->o->lake;
  char **files = NULL;
  size_t n = 0;
  tt_err rc = TT_OK;
  size_t tl = strlen(table);
  if (b->o->files) {
    for (size_t i = 0; i < b->o->nfiles; i++) {
      const char *f = b->o->files[i];
      if (strncmp(f, table, tl) || f[tl] != '/') continue;
      char **nf = realloc(files, (n + 1) * sizeof *nf);
      if (!nf || !(nf[n] = strdup(f))) {
        free(nf ? nf : files);
        files = NULL;
        rc = nomem(b);
        goto out;
      }
      files = nf;
      n++;
    }
  } else {
    sbuf q = {0};
    sb_printf(&q, "SELECT file FROM glob(");
    sbuf pat = {0};
    sb_printf(&pat, "%s/%s/**/*.parquet", lake, table);
    if (pat.oom || !pat.p) {
      free(pat.p);
      free(q.p);
      rc = nomem(b);
      goto out;
    }
    sb_lit(&q, pat.p);
    free(pat.p);
    sb_printf(&q, ") ORDER BY file");
    if (q.oom) {
      free(q.p);
      rc = nomem(b);
      goto out;
    }
    duckdb_result res;
    rc = query(b, q.p, &res);
    free(q.p);
    if (rc != TT_OK) goto out;
    size_t lake_len = strlen(lake);
    duckdb_data_chunk ch;
    while (rc == TT_OK && (ch = duckdb_fetch_chunk(res)) != NULL) {
      idx_t k = duckdb_data_chunk_get_size(ch);
      duckdb_string_t *s = duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0));
      for (idx_t i = 0; i < k; i++) {
        const char *p = duckdb_string_t_data(&s[i]);
        size_t len = duckdb_string_t_length(s[i]);
        /* Record paths relative to the lake root: the lake may move. */
        if (len > lake_len + 1 && !strncmp(p, lake, lake_len) && p[lake_len] == '/') {
          p += lake_len + 1;
          len -= lake_len + 1;
        }
        if (len >= 2 && p[0] == '.' && p[1] == '/') p += 2, len -= 2;
        /* Files being written are hidden (temporary names start with '.'). */
        if (strstr(p, "/.")) continue;
        char **nf = realloc(files, (n + 1) * sizeof *nf);
        if (!nf || !(nf[n] = strndup(p, len))) {
          if (nf) files = nf;
          rc = nomem(b);
          break;
        }
        files = nf;
        n++;
      }
      duckdb_destroy_data_chunk(&ch);
    }
    duckdb_destroy_result(&res);
    if (rc != TT_OK) goto out;
  }
  if (!n) {
    rc = tt_error_set(b->err, TT_NOTFOUND, "lake table '%s' has no Parquet files%s", table,
                      b->o->files ? " among the recorded files" : "");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", lake, table);
    tt_error_at(b->err, dir, 0, NULL);
    goto out;
  }
  qsort(files, n, sizeof *files, cmp_str);
  sb_printf(out, "read_parquet([");
  for (size_t i = 0; i < n; i++) {
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", lake, files[i]);
    if (i) sb_printf(out, ",");
    sb_lit(out, full);
    if ((rc = add_file(b, files[i])) != TT_OK) goto out;
  }
  sb_printf(out, "], hive_partitioning = true, union_by_name = true)");
  if (out->oom) rc = nomem(b);
out:
  for (size_t i = 0; i < n; i++) free(files[i]);
  free(files);
  return rc;
}

static const tt_table_def *table_def(builder *b, const char *name, const char *field) {
  const tt_table_def *t = b->schema ? tt_schema_table(b->schema, name) : NULL;
  if (!t) {
    tt_error_set(b->err, TT_SCHEMA, "table '%s' is not in the project's schema", name);
    tt_error_at(b->err, b->spec->source, 0, field);
  }
  return t;
}

/* The time column as int64 on the axis: epoch microseconds for TIMESTAMP
 * columns, the value itself for counters. */
static tt_err time_expr(builder *b, const char *src, const char *col, sbuf *out) {
  sbuf q = {0};
  sb_printf(&q, "SELECT typeof(");
  sb_ident(&q, col);
  sb_printf(&q, ") FROM %s LIMIT 1", src);
  if (q.oom) {
    free(q.p);
    return nomem(b);
  }
  duckdb_result res;
  tt_err rc = query(b, q.p, &res);
  free(q.p);
  if (rc != TT_OK) return rc;
  char *type = duckdb_value_varchar(&res, 0, 0);
  int ts = type && !strncmp(type, "TIMESTAMP", 9);
  duckdb_free(type);
  duckdb_destroy_result(&res);
  sb_printf(out, ts ? "epoch_us(" : "CAST(");
  sb_ident(out, col);
  sb_printf(out, ts ? ")" : " AS BIGINT)");
  return out->oom ? nomem(b) : TT_OK;
}

/* (vehicle, time) of the rows of `table` passing `where` (may be ""). */
static tt_err event_times(builder *b, const char *table, const char *field, const char *where,
                          vtlist *out) {
  const tt_table_def *t = table_def(b, table, field);
  if (!t) return TT_SCHEMA;
  sbuf src = {0}, te = {0}, q = {0};
  tt_err rc = table_source(b, table, &src);
  if (rc == TT_OK) rc = time_expr(b, src.p, t->time_column, &te);
  if (rc == TT_OK) {
    sb_printf(&q, "SELECT CAST(");
    sb_ident(&q, t->entity_column);
    sb_printf(&q, " AS VARCHAR), %s FROM %s %s", te.p, src.p, where);
    rc = q.oom ? nomem(b) : fetch_vt(b, q.p, out);
  }
  free(src.p), free(te.p), free(q.p);
  /* A DuckDB error here is almost always a column the spec names that the
   * table's files lack: point at the spec's key. */
  if (rc == TT_DB) tt_error_at(b->err, b->spec->source, 0, field);
  if (rc == TT_OK) qsort(out->a, out->n, sizeof *out->a, vt_cmp);
  return rc;
}

/* ---- loading a table into a batch ------------------------------------- */

/* Rows of table t, sorted by (entity, time), with times <= max_t, into a
 * new batch with the time column and the columns for which need(name) is
 * true (memory is what the features use); the entity goes into *ranges,
 * one [begin, end) per vehicle, sorted by id (the caller frees). */
typedef int (*need_fn)(const tt_feature_set *fs, const char *table, const char *column);

/* The rows [begin, end) of one vehicle in a loaded table. The entity is
 * kept once per vehicle here rather than once per row in the batch. */
typedef struct vrange {
  char *v;
  size_t begin, end;
} vrange;

static int vrange_cmp(const void *a, const void *b) {
  return strcmp(((const vrange *)a)->v, ((const vrange *)b)->v);
}

static void vranges_free(vrange *r, size_t n) {
  for (size_t i = 0; i < n; i++) free(r[i].v);
  free(r);
}

static tt_err load_table(builder *b, const tt_table_def *t, int64_t max_t, const tt_feature_set *fs,
                         need_fn need, tt_batch **out, vrange **ranges, size_t *nranges) {
  sbuf src = {0}, te = {0}, q = {0};
  tt_batch *bt = NULL;
  duckdb_result res;
  int have_res = 0;
  size_t *cols = NULL, ncols = 0;
  tt_err rc = table_source(b, t->name, &src);
  if (rc == TT_OK) rc = time_expr(b, src.p, t->time_column, &te);
  if (rc != TT_OK) goto out;
  cols = calloc(t->ncolumns, sizeof *cols);
  if (!cols) {
    rc = nomem(b);
    goto out;
  }
  for (size_t c = 0; c < t->ncolumns; c++)
    if (c == t->time_index || (c != t->entity_index && need(fs, t->name, t->columns[c].name))) cols[ncols++] = c;
  sb_printf(&q, "SELECT CAST(");
  sb_ident(&q, t->entity_column);
  sb_printf(&q, " AS VARCHAR)");
  for (size_t i = 0; i < ncols; i++) {
    size_t c = cols[i];
    const tt_column_def *cd = &t->columns[c];
    sb_printf(&q, ", ");
    if (c == t->time_index) {
      sb_printf(&q, "%s", te.p);
      continue;
    }
    const char *cast = "DOUBLE";
    switch (cd->type) {
    case TT_TYPE_DOUBLE: cast = "DOUBLE"; break;
    case TT_TYPE_INT64: cast = "BIGINT"; break;
    case TT_TYPE_STRING: cast = "VARCHAR"; break;
    case TT_TYPE_BOOL: cast = "BOOLEAN"; break;
    case TT_TYPE_TIMESTAMP: cast = NULL; break;
    }
    if (cast) {
      sb_printf(&q, "CAST(");
      sb_ident(&q, cd->name);
      sb_printf(&q, " AS %s)", cast);
    } else {
      sb_printf(&q, "epoch_us(");
      sb_ident(&q, cd->name);
      sb_printf(&q, ")");
    }
  }
  sb_printf(&q, " FROM %s WHERE %s <= %lld AND ", src.p, te.p, (long long)max_t);
  sb_ident(&q, t->entity_column);
  sb_printf(&q, " IS NOT NULL ORDER BY CAST(");
  sb_ident(&q, t->entity_column);
  sb_printf(&q, " AS VARCHAR), %s", te.p);
  if (q.oom) {
    rc = nomem(b);
    goto out;
  }
  /* The row count first (a scan of two columns), so the batch is
   * allocated once; then the rows, streamed. */
  sbuf cq = {0};
  sb_printf(&cq, "SELECT count(*) FROM %s WHERE %s <= %lld AND ", src.p, te.p, (long long)max_t);
  sb_ident(&cq, t->entity_column);
  sb_printf(&cq, " IS NOT NULL");
  if (cq.oom) {
    free(cq.p);
    rc = nomem(b);
    goto out;
  }
  rc = query(b, cq.p, &res);
  free(cq.p);
  if (rc != TT_OK) goto out;
  idx_t nrows = (idx_t)duckdb_value_int64(&res, 0, 0);
  duckdb_destroy_result(&res);
  if ((rc = query_stream(b, q.p, &res)) != TT_OK) goto out;
  have_res = 1;
  const char **names = calloc(ncols, sizeof *names);
  tt_type *types = calloc(ncols, sizeof *types);
  if (names && types) {
    for (size_t i = 0; i < ncols; i++) {
      size_t c = cols[i];
      names[i] = t->columns[c].name;
      types[i] = t->columns[c].type;
      if (c == t->time_index && types[i] != TT_TYPE_TIMESTAMP) types[i] = TT_TYPE_INT64;
    }
    bt = tt_batch_new(ncols, names, types, nrows ? (size_t)nrows : 1);
  }
  free(names);
  free(types);
  if (!bt) {
    rc = nomem(b);
    goto out;
  }
  duckdb_data_chunk ch;
  size_t rcap = 0;
  while (rc == TT_OK && (ch = duckdb_fetch_chunk(res)) != NULL) {
    idx_t n = duckdb_data_chunk_get_size(ch);
    size_t base = bt->nrows;
    for (idx_t i = 0; i < n; i++)
      if (tt_batch_add_row(bt) == (size_t)-1) {
        rc = tt_error_set(b->err, TT_INTERNAL, "table '%s' grew while it was read", t->name);
        break;
      }
    /* Rows arrive sorted by vehicle: a new id opens a new range. */
    duckdb_string_t *ids = duckdb_vector_get_data(duckdb_data_chunk_get_vector(ch, 0));
    for (idx_t i = 0; rc == TT_OK && i < n; i++) {
      const char *id = duckdb_string_t_data(&ids[i]);
      uint32_t len = duckdb_string_t_length(ids[i]);
      vrange *last = *nranges ? &(*ranges)[*nranges - 1] : NULL;
      if (last && strlen(last->v) == len && !memcmp(last->v, id, len)) {
        last->end = base + (size_t)i + 1;
        continue;
      }
      if (*nranges == rcap) {
        rcap = rcap ? rcap * 2 : 256;
        vrange *nr = realloc(*ranges, rcap * sizeof *nr);
        if (!nr) {
          rc = nomem(b);
          break;
        }
        *ranges = nr;
      }
      char *v = strndup(id, len);
      if (!v) {
        rc = nomem(b);
        break;
      }
      (*ranges)[(*nranges)++] = (vrange){v, base + (size_t)i, base + (size_t)i + 1};
    }
    for (size_t c = 0; rc == TT_OK && c < ncols; c++) {
      duckdb_vector v = duckdb_data_chunk_get_vector(ch, c + 1);
      void *data = duckdb_vector_get_data(v);
      uint64_t *mask = duckdb_vector_get_validity(v);
      tt_type ty = bt->cols[c].type;
      for (idx_t i = 0; i < n; i++) {
        size_t r = base + (size_t)i;
        if (mask && !duckdb_validity_row_is_valid(mask, i)) continue; /* rows start null */
        switch (ty) {
        case TT_TYPE_DOUBLE: tt_batch_set_double(bt, c, r, ((double *)data)[i]); break;
        case TT_TYPE_INT64:
        case TT_TYPE_TIMESTAMP: tt_batch_set_int64(bt, c, r, ((int64_t *)data)[i]); break;
        case TT_TYPE_BOOL: tt_batch_set_bool(bt, c, r, ((bool *)data)[i]); break;
        case TT_TYPE_STRING: {
          duckdb_string_t *s = &((duckdb_string_t *)data)[i];
          if (tt_batch_set_string(bt, c, r, duckdb_string_t_data(s), duckdb_string_t_length(*s)) != TT_OK)
            rc = nomem(b);
          break;
        }
        }
      }
    }
    duckdb_destroy_data_chunk(&ch);
  }
out:
  if (have_res) duckdb_destroy_result(&res);
  free(src.p), free(te.p), free(q.p), free(cols);
  if (rc != TT_OK) {
    tt_batch_destroy(bt);
    bt = NULL;
  } else {
    qsort(*ranges, *nranges, sizeof **ranges, vrange_cmp);
  }
  *out = bt;
  return rc;
}

/* ---- the build ------------------------------------------------------- */

typedef struct row {
  size_t veh; /* index into the vehicle list */
  int64_t t;
  float y;
  uint8_t part;
} row;

static int want_vehicle(const tt_build_opts *o, const char *v) {
  if (o->nshards > 0 && tt_shard_of(v, o->nshards) != o->shard) return 0;
  if (!o->vehicles) return 1;
  for (size_t i = 0; i < o->nvehicles; i++)
    if (!strcmp(o->vehicles[i], v)) return 1;
  return 0;
}

void tt_build_info_free(tt_build_info *in) {
  if (!in) return;
  for (size_t i = 0; i < in->nfiles; i++) free(in->files[i]);
  free(in->files);
  for (size_t i = 0; i < in->nsets; i++) free(in->set_versions[i]);
  free(in->set_versions);
  memset(in, 0, sizeof *in);
}

/* The columns a feature set reads from a table: feature values, the
 * filter (on the source table) and the event-code column. */
static int set_needs(const tt_feature_set *fs, const char *table, const char *column) {
  const tt_feature_filter *f = tt_feature_set_filter(fs);
  if (f && f->op != TT_FILTER_NONE && !strcmp(table, tt_feature_set_source(fs)) && !strcmp(f->column, column))
    return 1;
  if (tt_feature_set_code_column(fs) && !strcmp(tt_feature_set_code_column(fs), column)) return 1;
  for (size_t i = 0; i < tt_feature_set_count(fs); i++) {
    const tt_feature_def *d = tt_feature_set_at(fs, i);
    if (!strcmp(d->table, table) && !strcmp(d->column, column)) return 1;
  }
  return 0;
}

/* Feature values for the rows of one feature set, written to
 * x[row * stride + offset + j]. */
static tt_err compute_features(builder *b, const tt_feature_set *fs, char **veh, const row *rows,
                               size_t nrows, float *x, size_t stride, size_t offset) {
  tt_err rc = TT_OK;
  tt_fengine *eng = NULL;
  tt_fstate *st = NULL;
  size_t ntab = tt_feature_set_table_count(fs);
  tt_batch **bt = calloc(ntab ? ntab : 1, sizeof *bt);
  size_t *cur = calloc(ntab ? ntab : 1, sizeof *cur), *end = calloc(ntab ? ntab : 1, sizeof *end);
  int *tcol = calloc(ntab ? ntab : 1, sizeof *tcol);
  vrange **rng = calloc(ntab ? ntab : 1, sizeof *rng);
  size_t *nrng = calloc(ntab ? ntab : 1, sizeof *nrng);
  double *vals = NULL;
  if (!bt || !cur || !end || !tcol || !rng || !nrng) {
    rc = nomem(b);
    goto out;
  }
  if ((rc = tt_fengine_new(fs, &eng, b->err)) != TT_OK) goto out;
  size_t nf = tt_fengine_feature_count(eng);
  vals = calloc(nf ? nf : 1, sizeof *vals);
  st = tt_fstate_new(eng);
  if (!vals || !st) {
    rc = nomem(b);
    goto out;
  }
  int64_t max_t = INT64_MIN;
  for (size_t i = 0; i < nrows; i++)
    if (rows[i].t > max_t) max_t = rows[i].t;
  for (size_t k = 0; k < ntab; k++) {
    const tt_table_def *t = table_def(b, tt_feature_set_table_at(fs, k), "features");
    if (!t) {
      rc = TT_SCHEMA;
      goto out;
    }
    double tl = tt_monotonic();
    if ((rc = load_table(b, t, max_t, fs, set_needs, &bt[k], &rng[k], &nrng[k])) != TT_OK) goto out;
    tt_debug("train", "read %zu rows of %s for feature set %s in %.2f s", bt[k]->nrows, t->name,
             tt_feature_set_name(fs), tt_monotonic() - tl);
    tcol[k] = tt_batch_column(bt[k], t->time_column);
  }
  double tf = tt_monotonic();
  /* Rows come grouped by vehicle and ascending in time (see build). */
  for (size_t i = 0; i < nrows;) {
    size_t j = i;
    while (j < nrows && rows[j].veh == rows[i].veh) j++;
    const char *v = veh[rows[i].veh];
    tt_fstate_reset(st);
    /* Each table's rows of this vehicle. */
    for (size_t k = 0; k < ntab; k++) {
      vrange key = {(char *)v, 0, 0};
      const vrange *r = bsearch(&key, rng[k], nrng[k], sizeof *rng[k], vrange_cmp);
      cur[k] = r ? r->begin : 0;
      end[k] = r ? r->end : 0;
    }
    for (size_t r = i; r < j; r++) {
      for (size_t k = 0; k < ntab; k++) {
        const tt_vector *tv = &bt[k]->cols[tcol[k]];
        size_t upto = cur[k];
        while (upto < end[k] && tv->v.i64[upto] <= rows[r].t) upto++;
        if (upto > cur[k] &&
            (rc = tt_fengine_fold(eng, st, tt_feature_set_table_at(fs, k), bt[k], cur[k], upto, b->err)) != TT_OK)
          goto out;
        cur[k] = upto;
      }
      if ((rc = tt_fengine_eval(eng, st, rows[r].t, vals, b->err)) != TT_OK) goto out;
      for (size_t f = 0; f < nf; f++) x[r * stride + offset + f] = (float)vals[f];
    }
    i = j;
  }
  tt_debug("train", "folded and evaluated %s at %zu observations in %.2f s", tt_feature_set_name(fs), nrows,
           tt_monotonic() - tf);
out:
  for (size_t k = 0; bt && k < ntab; k++) tt_batch_destroy(bt[k]);
  for (size_t k = 0; rng && nrng && k < ntab; k++) vranges_free(rng[k], nrng[k]);
  free(bt), free(cur), free(end), free(tcol), free(rng), free(nrng), free(vals);
  tt_fstate_destroy(st);
  tt_fengine_destroy(eng);
  return rc;
}

tt_err tt_trainset_build(const tt_model_spec *spec, const tt_build_opts *o, tt_trainset **out,
                         tt_build_info *info_out, tt_error *err) {
  tt_err rc = TT_OK;
  double t0 = tt_monotonic();
  tt_build_info info = {0};
  builder B = {.spec = spec, .o = o, .info = &info, .err = err};
  builder *b = &B;
  vtlist spine = {0}, last = {0}, fails = {0}, reps = {0};
  char **veh = NULL;
  size_t nveh = 0;
  row *rows = NULL;
  size_t nrows = 0;
  tt_feature_set **sets = NULL;
  char **names = NULL;
  size_t nnames = 0;
  tt_trainset *ts = NULL;
  float *x = NULL;
  sbuf q = {0}, src = {0}, te = {0};
  *out = NULL;
  const tt_label_def *L = &spec->label;
  int labelled = o->mode != TT_BUILD_PREDICT;

  if (duckdb_open(NULL, &b->db) != DuckDBSuccess || duckdb_connect(b->db, &b->con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB");
    goto out;
  }
  if (o->threads > 0) {
    char set[64];
    snprintf(set, sizeof set, "SET threads = %d", o->threads);
    duckdb_result r;
    if ((rc = query(b, set, &r)) != TT_OK) goto out;
    duckdb_destroy_result(&r);
  }

  /* 1. The spine: buckets with data per vehicle, and each vehicle's last time. */
  b->schema = o->schema;
  if (!b->schema && (rc = load_schema(b, spec->spine.table)) != TT_OK) goto out;
  const tt_table_def *st = table_def(b, spec->spine.table, "spine.table");
  if (!st) {
    rc = TT_SCHEMA;
    goto out;
  }
  if ((rc = table_source(b, st->name, &src)) != TT_OK || (rc = time_expr(b, src.p, st->time_column, &te)) != TT_OK)
    goto out;
  int64_t E = spec->spine.every;
  sb_printf(&q, "SELECT v, (t - (((t %% %lld) + %lld) %% %lld)) + %lld - 1 FROM (SELECT CAST(",
            (long long)E, (long long)E, (long long)E, (long long)E);
  sb_ident(&q, st->entity_column);
  sb_printf(&q, " AS VARCHAR) AS v, %s AS t FROM %s) WHERE v IS NOT NULL AND t IS NOT NULL GROUP BY 1, 2", te.p, src.p);
  if (q.oom) {
    rc = nomem(b);
    goto out;
  }
  if ((rc = fetch_vt(b, q.p, &spine)) != TT_OK) goto out;
  q.len = 0;
  sb_printf(&q, "SELECT CAST(");
  sb_ident(&q, st->entity_column);
  sb_printf(&q, " AS VARCHAR), max(%s) FROM %s GROUP BY 1", te.p, src.p);
  if (q.oom) {
    rc = nomem(b);
    goto out;
  }
  if ((rc = fetch_vt(b, q.p, &last)) != TT_OK) goto out;
  qsort(spine.a, spine.n, sizeof *spine.a, vt_cmp);
  qsort(last.a, last.n, sizeof *last.a, vt_cmp);
  info.data_end = INT64_MIN;
  for (size_t i = 0; i < last.n; i++)
    if (last.a[i].t > info.data_end) info.data_end = last.a[i].t;

  tt_debug("train", "spine: %zu buckets of %zu vehicles in %.2f s", spine.n, last.n, tt_monotonic() - t0);
  /* 2. Failure and repair times. The columns the spec names must be in the
   * schema: say so in the spec's terms rather than in DuckDB's. */
  if (labelled) {
    const struct {
      const char *table, *column, *field;
    } cols[] = {{L->events_table, L->component_column, "label.component_column"},
                {L->repair_table, L->repair_component_column, "label.repair.component_column"},
                {L->repair_table, L->repair_action_column, "label.repair.action_column"}};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) {
      if (!cols[i].table || !cols[i].column) continue;
      const tt_table_def *t = table_def(b, cols[i].table, cols[i].field);
      if (!t) {
        rc = TT_SCHEMA;
        goto out;
      }
      if (tt_table_column_index(t, cols[i].column) < 0) {
        rc = tt_error_set(err, TT_SCHEMA, "table '%s' has no column '%s'", cols[i].table, cols[i].column);
        tt_error_at(err, spec->source, 0, cols[i].field);
        goto out;
      }
    }
  }
  if (labelled) {
    q.len = 0;
    if (L->component_column) {
      sb_printf(&q, "WHERE CAST(");
      sb_ident(&q, L->component_column);
      sb_printf(&q, " AS VARCHAR) = ");
      sb_lit(&q, L->component);
    } else {
      sb_printf(&q, " ");
    }
    if (q.oom || (rc = event_times(b, L->events_table, "label.events", q.p, &fails)) != TT_OK) {
      if (q.oom) rc = nomem(b);
      goto out;
    }
    if (L->repair_table) {
      q.len = 0;
      sb_printf(&q, "WHERE TRUE");
      if (L->repair_component_column && L->component) {
        sb_printf(&q, " AND CAST(");
        sb_ident(&q, L->repair_component_column);
        sb_printf(&q, " AS VARCHAR) = ");
        sb_lit(&q, L->component);
      }
      if (L->nrepair_actions) {
        sb_printf(&q, " AND CAST(");
        sb_ident(&q, L->repair_action_column);
        sb_printf(&q, " AS VARCHAR) IN (");
        for (size_t i = 0; i < L->nrepair_actions; i++) {
          if (i) sb_printf(&q, ", ");
          sb_lit(&q, L->repair_actions[i]);
        }
        sb_printf(&q, ")");
      }
      if (q.oom || (rc = event_times(b, L->repair_table, "label.repair.table", q.p, &reps)) != TT_OK) {
        if (q.oom) rc = nomem(b);
        goto out;
      }
    }
  }

  /* 3. Rows: per vehicle, observations → labels → split. */
  veh = calloc(last.n ? last.n : 1, sizeof *veh);
  int64_t *obs = malloc((spine.n ? spine.n : 1) * sizeof *obs), *ft = NULL, *rt = NULL;
  double *y = malloc((spine.n ? spine.n : 1) * sizeof *y);
  uint8_t *status = malloc(spine.n ? spine.n : 1);
  ft = malloc((fails.n ? fails.n : 1) * sizeof *ft);
  rt = malloc((reps.n ? reps.n : 1) * sizeof *rt);
  rows = malloc((spine.n ? spine.n : 1) * sizeof *rows);
  if (!veh || !obs || !y || !status || !ft || !rt || !rows) {
    free(obs), free(y), free(status), free(ft), free(rt);
    rc = nomem(b);
    goto out;
  }
  for (size_t i = 0; i < spine.n;) {
    size_t j = i;
    while (j < spine.n && !strcmp(spine.a[j].v, spine.a[i].v)) j++;
    const char *v = spine.a[i].v;
    if (!want_vehicle(o, v)) {
      i = j;
      continue;
    }
    size_t lo, hi;
    vt_range(&last, v, &lo, &hi);
    int64_t data_end = hi > lo ? last.a[lo].t : spine.a[j - 1].t;
    size_t k = 0;
    if (o->mode == TT_BUILD_TRAIN) {
      for (size_t r = i; r < j; r++) obs[k++] = spine.a[r].t;
    } else if (o->as_of == TT_AS_OF_LAST) {
      obs[k++] = spine.a[j - 1].t;
    } else if (spine.a[i].t - E + 1 <= o->as_of) { /* reported by then */
      obs[k++] = o->as_of;
    }
    if (!k) {
      i = j;
      continue;
    }
    veh[nveh] = strdup(v);
    if (!veh[nveh]) {
      free(obs), free(y), free(status), free(ft), free(rt);
      rc = nomem(b);
      goto out;
    }
    info.vehicles++;
    info.spine_rows += k;
    if (labelled) {
      size_t fl, fh, rl, rh;
      vt_range(&fails, v, &fl, &fh);
      vt_range(&reps, v, &rl, &rh);
      for (size_t m = fl; m < fh; m++) ft[m - fl] = fails.a[m].t;
      for (size_t m = rl; m < rh; m++) rt[m - rl] = reps.a[m].t;
      tt_label_compute(L, obs, k, ft, fh - fl, rt, rh - rl, data_end, y, status);
    }
    for (size_t r = 0; r < k; r++) {
      tt_split_part part = TT_PART_TEST;
      if (labelled && status[r] != TT_ROW_OK) {
        if (status[r] == TT_ROW_OUTAGE) info.outage_rows++;
        else info.censored_rows++;
        continue;
      }
      if (o->mode == TT_BUILD_TRAIN) {
        part = tt_split_assign(&spec->split, v, obs[r]);
        if (part == TT_PART_DROPPED) {
          info.gap_rows++;
          continue;
        }
        if (part == TT_PART_TRAIN && L->kind == TT_LABEL_CLASSIFICATION && y[r] < 0.5 &&
            !tt_spine_keep_negative(&spec->spine, v, obs[r])) {
          info.downsampled_rows++;
          continue;
        }
      }
      rows[nrows++] = (row){nveh, obs[r], labelled ? (float)y[r] : NAN, (uint8_t)part};
    }
    nveh++;
    i = j;
  }
  free(obs), free(y), free(status), free(ft), free(rt);

  /* 4. Features, one set after the other, side by side in x. */
  sets = calloc(spec->nfeatures, sizeof *sets);
  info.set_versions = calloc(spec->nfeatures, sizeof *info.set_versions);
  if (!sets || !info.set_versions) {
    rc = nomem(b);
    goto out;
  }
  info.nsets = spec->nfeatures;
  size_t total = 0;
  for (size_t s = 0; s < spec->nfeatures; s++) {
    const tt_feature_ref *fr = &spec->features[s];
    if ((rc = tt_feature_set_load(o->project_dir, fr->set, &sets[s], err)) != TT_OK) goto out;
    const char *ver = tt_feature_set_version(sets[s]);
    if (fr->version && strncmp(ver, fr->version, strlen(fr->version)) != 0) {
      rc = tt_error_set(err, TT_INCOMPATIBLE,
                        "feature set '%s' is at version %.12s but the model wants %s: its definition "
                        "changed since",
                        fr->set, ver, fr->version);
      tt_error_at(err, spec->source, 0, "features[].version");
      goto out;
    }
    if ((tt_feature_set_axis(sets[s]) == TT_AXIS_COUNTER) != (spec->axis == TT_AXIS_KIND_COUNTER)) {
      rc = tt_error_set(err, TT_INCOMPATIBLE, "feature set '%s' and the model spec disagree on the time axis", fr->set);
      tt_error_at(err, spec->source, 0, "axis");
      goto out;
    }
    if (!(info.set_versions[s] = strdup(ver))) {
      rc = nomem(b);
      goto out;
    }
    total += tt_feature_set_count(sets[s]);
  }
  names = calloc(total ? total : 1, sizeof *names);
  x = malloc((nrows ? nrows : 1) * (total ? total : 1) * sizeof *x);
  if (!names || !x) {
    rc = nomem(b);
    goto out;
  }
  for (size_t s = 0, off = 0; s < spec->nfeatures; s++) {
    size_t n = tt_feature_set_count(sets[s]);
    for (size_t f = 0; f < n; f++) {
      const char *nm = tt_feature_set_at(sets[s], f)->name;
      if (has_str(names, nnames, nm)) {
        rc = tt_error_set(err, TT_INVALID, "feature '%s' appears in two feature sets", nm);
        tt_error_at(err, spec->source, 0, "features");
        goto out;
      }
      names[nnames++] = (char *)nm;
    }
    if ((rc = compute_features(b, sets[s], veh, rows, nrows, x, total, off)) != TT_OK) goto out;
    off += n;
  }

  /* 5. The training set. */
  ts = tt_trainset_new(total, (const char *const *)names);
  if (!ts) {
    rc = nomem(b);
    goto out;
  }
  for (size_t r = 0; r < nrows; r++)
    if ((rc = tt_trainset_add(ts, veh[rows[r].veh], rows[r].t, x + r * total, rows[r].y,
                              (tt_split_part)rows[r].part)) != TT_OK) {
      tt_error_set(err, rc, "cannot add training row %zu", r);
      goto out;
    }
  qsort(info.files, info.nfiles, sizeof *info.files, cmp_str);
  info.seconds = tt_monotonic() - t0;
  *out = ts;
  ts = NULL;
out:
  tt_trainset_destroy(ts);
  free(names);
  free(x);
  for (size_t s = 0; sets && s < spec->nfeatures; s++) tt_feature_set_destroy(sets[s]);
  free(sets);
  for (size_t i = 0; i < nveh; i++) free(veh[i]);
  free(veh);
  free(rows);
  vtlist_free(&spine), vtlist_free(&last), vtlist_free(&fails), vtlist_free(&reps);
  free(q.p), free(src.p), free(te.p);
  if (b->con) duckdb_disconnect(&b->con);
  if (b->db) duckdb_close(&b->db);
  tt_schema_destroy(b->own_schema);
  if (rc == TT_OK && info_out) *info_out = info;
  else tt_build_info_free(&info);
  return rc;
}
