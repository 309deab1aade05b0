/* The offline store: point-in-time feature values for a spine of
 * (vehicle, time), computed by the engine from the lake's Parquet.
 *
 * Plan: list the lake files of every table the set reads whose date
 * partition can hold an event of some window (partition pruning, and the
 * exact file list for the manifest); find the vehicles of the shard; give
 * each worker thread every n-th vehicle; each worker streams its vehicles'
 * events from DuckDB sorted by (vehicle, time), one chunk per table at a
 * time, folds them into one vehicle state up to each spine point, evaluates
 * and appends a row. Memory: one chunk per table and one vehicle's tiles
 * per worker, whatever the lake's size (DuckDB's sort spills to disk). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/json_escape.h"
#include "features/cursor.h"
#include "features/internal.h"
#include "telltale/log.h"

typedef struct tabq {
  const char *name;
  char **files;
  size_t nfiles;
  char *list; /* SQL list literal of files */
  size_t ncols;
  const char *cols[TT__SELECT_MAX]; /* batch column names */
  tt_type types[TT__SELECT_MAX];
  char sql_cols[8192]; /* the SELECT list */
} tabq;

typedef struct build {
  const tt_feature_set *fs;
  const tt_fengine *eng;
  const tt_features_build_opts *o;
  duckdb_database db;
  tabq *tabs;
  size_t ntabs;
  int counter_axis;
  int64_t read_lo, read_hi; /* event times read */
  int64_t from, to;         /* spine range */
  int has_spine;
  int nthreads;
  char tmpdir[4096];
} build;

typedef struct worker {
  build *bd;
  int index;
  tt_error err;
  tt_err rc;
  uint64_t rows_read, vehicles, spine_rows;
} worker;

static tt_err db_exec(duckdb_connection con, const char *sql, tt_error *err) {
  duckdb_result r;
  tt_err rc = TT_OK;
  if (duckdb_query(con, sql, &r) != DuckDBSuccess)
    rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
  duckdb_destroy_result(&r);
  return rc;
}

/* SELECT list and batch layout of one table: entity, time, then the value,
 * code and filter columns its inputs need. Shared with the file source and
 * verify so that every path reads the same columns the same way. */
void tt__table_select(const tt_fengine *eng, const char *table, tt__select *sel) {
  const tt_feature_set *fs = eng->fs;
  int counter = fs->axis == TT_AXIS_COUNTER;
  char id[300], *p = sel->sql;
  size_t left = sizeof sel->sql;
  int w;
  sel->cols[0] = fs->entity;
  sel->types[0] = TT_TYPE_STRING;
  const char *tcol = tt__table_time(fs, table); /* valid_from for entity tables */
  sel->cols[1] = tcol;
  sel->types[1] = counter ? TT_TYPE_INT64 : TT_TYPE_TIMESTAMP;
  sel->ncols = 2;
  w = snprintf(p, left, "CAST(%s AS VARCHAR) AS %s", tt__sql_ident(fs->entity, id, sizeof id), id);
  p += w, left -= (size_t)w;
  if (counter)
    w = snprintf(p, left, ", CAST(%s AS BIGINT)", tt__sql_ident(tcol, id, sizeof id));
  else
    w = snprintf(p, left, ", epoch_us(CAST(%s AS TIMESTAMP))", tt__sql_ident(tcol, id, sizeof id));
  p += w, left -= (size_t)w;
  for (size_t k = 0; k < eng->ninputs; k++) {
    const tt__input *in = &eng->inputs[k];
    if (strcmp(fs->tables[in->table], table)) continue;
    const char *extra[3] = {in->column, *in->code ? fs->code_column : "",
                            in->filtered ? fs->filter.column : ""};
    tt_type et[3] = {in->attr == TT_ATTR_CATEGORY ? TT_TYPE_STRING : TT_TYPE_DOUBLE, TT_TYPE_STRING,
                     fs->filter.is_string ? TT_TYPE_STRING : TT_TYPE_DOUBLE};
    for (int j = 0; j < 3; j++) {
      if (!*extra[j]) continue;
      size_t c;
      for (c = 0; c < sel->ncols; c++)
        if (!strcmp(sel->cols[c], extra[j])) break;
      if (c < sel->ncols || sel->ncols == TT__SELECT_MAX) continue;
      sel->cols[sel->ncols] = extra[j];
      sel->types[sel->ncols] = et[j];
      sel->ncols++;
      w = snprintf(p, left, ", CAST(%s AS %s)", tt__sql_ident(extra[j], id, sizeof id),
                   et[j] == TT_TYPE_STRING ? "VARCHAR" : "DOUBLE");
      p += w, left -= (size_t)w;
    }
  }
}

static void plan_table(build *bd, tabq *tq) {
  tt__select sel;
  tt__table_select(bd->eng, tq->name, &sel);
  tq->ncols = sel.ncols;
  memcpy(tq->cols, sel.cols, sizeof sel.cols);
  memcpy(tq->types, sel.types, sizeof sel.types);
  memcpy(tq->sql_cols, sel.sql, sizeof sel.sql);
}

/* The rows of a table the build reads: events in [read_lo, read_hi]; an
 * entity table's rows all up to read_hi (an attribute has no window). */
static void time_pred(build *bd, const char *table, char *buf, size_t size) {
  char id[300];
  tt__sql_ident(tt__table_time(bd->fs, table), id, sizeof id);
  if (tt__table_is_entity(bd->fs, table)) {
    if (bd->counter_axis)
      snprintf(buf, size, "%s <= %lld", id, (long long)bd->read_hi);
    else
      snprintf(buf, size, "%s <= make_timestamp(%lld)", id, (long long)bd->read_hi);
    return;
  }
  if (bd->counter_axis)
    snprintf(buf, size, "%s >= %lld AND %s <= %lld", id, (long long)bd->read_lo, id,
             (long long)bd->read_hi);
  else
    snprintf(buf, size, "%s >= make_timestamp(%lld) AND %s <= make_timestamp(%lld)", id,
             (long long)bd->read_lo, id, (long long)bd->read_hi);
}

/* Append one output row. NaN (missing) becomes NULL. */
static tt_err append_row(build *bd, duckdb_appender app, const char *veh, int64_t t,
                         const double *vals, tt_error *err) {
  duckdb_append_varchar(app, veh);
  if (bd->counter_axis)
    duckdb_append_int64(app, t);
  else
    duckdb_append_timestamp(app, (duckdb_timestamp){t});
  size_t nf = bd->fs->nfeatures;
  for (size_t i = 0; i < nf; i++) {
    if (isnan(vals[i]))
      duckdb_append_null(app);
    else
      duckdb_append_double(app, vals[i]);
  }
  if (duckdb_appender_end_row(app) != DuckDBSuccess)
    return tt_error_set(err, TT_DB, "%s", duckdb_appender_error(app));
  return TT_OK;
}

static const char *cur_vehicle(tt__cursor *c) {
  return c->b->cols[0].valid[c->pos] ? c->b->cols[0].v.str[c->pos] : "";
}

static void *worker_run(void *arg) {
  worker *w = arg;
  build *bd = w->bd;
  const tt_feature_set *fs = bd->fs;
  tt_error *err = &w->err;
  duckdb_connection con = NULL;
  duckdb_appender app = NULL;
  tt__cursor *cur = calloc(bd->ntabs + 1, sizeof *cur);
  int *open = calloc(bd->ntabs + 1, sizeof *open);
  double *vals = malloc((fs->nfeatures + 1) * sizeof *vals);
  tt_fstate *st = tt_fstate_new(bd->eng);
  char *sql = NULL, last[1024] = "";
  size_t sqlcap = 0;
  int have_last = 0;
  tt_err rc = TT_OK;
  if (!cur || !open || !vals || !st) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if (duckdb_connect(bd->db, &con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot connect to DuckDB");
    goto out;
  }
  char tbl[64];
  snprintf(tbl, sizeof tbl, "out_%d", w->index);
  if (duckdb_appender_create(con, NULL, tbl, &app) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "%s", duckdb_appender_error(app));
    goto out;
  }
  char pred[1024], ent[300];
  tt__sql_ident(fs->entity, ent, sizeof ent);
  for (size_t i = 0; i < bd->ntabs; i++) {
    tabq *tq = &bd->tabs[i];
    if (!tq->nfiles) continue;
    time_pred(bd, tq->name, pred, sizeof pred);
    size_t need = strlen(tq->list) + strlen(tq->sql_cols) + 1024;
    if (need > sqlcap) {
      free(sql);
      sqlcap = need;
      if (!(sql = malloc(sqlcap))) {
        rc = tt_error_set(err, TT_NOMEM, "out of memory");
        goto out;
      }
    }
    snprintf(sql, sqlcap,
             "SELECT %s FROM read_parquet(%s, union_by_name=true, hive_partitioning=false) "
             "WHERE %s AND CAST(%s AS VARCHAR) IN (SELECT v FROM sel_%d) ORDER BY 1, 2",
             tq->sql_cols, tq->list, pred, ent, w->index);
    tt_debug("features", "worker %d: %s", w->index, sql);
    rc = tt__cursor_open(&cur[i], bd->db, sql, tq->ncols, tq->cols, tq->types, err);
    open[i] = 1;
    if (rc) {
      tt_error_at(err, tq->name, 0, NULL);
      goto out;
    }
  }
  size_t spine_ix = bd->ntabs;
  if (bd->has_spine) {
    static const char *sn[2] = {"v", "t"};
    static const tt_type stypes[2] = {TT_TYPE_STRING, TT_TYPE_INT64};
    char q[512];
    snprintf(q, sizeof q,
             "SELECT v, t FROM spine WHERE v IN (SELECT v FROM sel_%d) AND t >= %lld AND t <= %lld "
             "ORDER BY 1, 2",
             w->index, (long long)bd->from, (long long)bd->to);
    rc = tt__cursor_open(&cur[spine_ix], bd->db, q, 2, sn, stypes, err);
    open[spine_ix] = 1;
    if (rc) goto out;
  }
  for (;;) {
    /* The next vehicle: the smallest current id over the streams. */
    const char *veh = NULL;
    for (size_t i = 0; i <= bd->ntabs; i++) {
      if (!open[i]) continue;
      int r = tt__cursor_ready(&cur[i], err);
      if (r < 0) {
        rc = err->code;
        goto out;
      }
      if (r && (!veh || strcmp(cur_vehicle(&cur[i]), veh) < 0)) veh = cur_vehicle(&cur[i]);
    }
    if (!veh) break;
    char vid[1024];
    snprintf(vid, sizeof vid, "%s", veh);
    if (have_last && strcmp(vid, last) <= 0) {
      rc = tt_error_set(err, TT_INTERNAL, "lake query returned vehicle '%s' out of order", vid);
      goto out;
    }
    snprintf(last, sizeof last, "%s", vid);
    have_last = 1;
    tt_fstate_reset(st);
    w->vehicles++;
    int64_t t = 0;
    int more = 1;
    /* Spine points of this vehicle, in time order. */
    if (!bd->has_spine) t = bd->from;
    for (;;) {
      if (bd->has_spine) {
        tt__cursor *s = &cur[spine_ix];
        int r = tt__cursor_ready(s, err);
        if (r < 0) {
          rc = err->code;
          goto out;
        }
        if (!r || strcmp(cur_vehicle(s), vid)) break;
        if (!s->b->cols[1].valid[s->pos]) {
          s->pos++;
          continue;
        }
        t = s->b->cols[1].v.i64[s->pos++];
      } else if (!more || t > bd->to) {
        break;
      }
      /* Fold every event of the vehicle with time <= t, table by table:
       * the tiles do not care in which order. */
      for (size_t i = 0; i < bd->ntabs; i++) {
        if (!open[i]) continue;
        for (;;) {
          int r = tt__cursor_ready(&cur[i], err);
          if (r < 0) {
            rc = err->code;
            goto out;
          }
          if (!r) break;
          tt_batch *b = cur[i].b;
          size_t r0 = cur[i].pos, r1 = r0;
          while (r1 < b->nrows && b->cols[1].valid[r1] && b->cols[1].v.i64[r1] <= t &&
                 b->cols[0].valid[r1] && !strcmp(b->cols[0].v.str[r1], vid))
            r1++;
          if (r1 == r0) {
            /* A null time cannot be placed: refuse rather than drop it. */
            if (r0 < b->nrows && !b->cols[1].valid[r0] && b->cols[0].valid[r0] &&
                !strcmp(b->cols[0].v.str[r0], vid)) {
              rc = tt_error_set(err, TT_INVALID, "vehicle '%s' has a row without %s", vid,
                                fs->time_column);
              tt_error_at(err, bd->tabs[i].name, 0, fs->time_column);
              goto out;
            }
            break;
          }
          rc = tt_fengine_fold(bd->eng, st, bd->tabs[i].name, b, r0, r1, err);
          if (rc) goto out;
          w->rows_read += r1 - r0;
          cur[i].pos = r1;
        }
      }
      if (tt_fstate_latest(st) <= t) {
        rc = tt_fengine_eval(bd->eng, st, t, vals, err);
        if (!rc) rc = append_row(bd, app, vid, t, vals, err);
        if (rc) goto out;
        w->spine_rows++;
      }
      if (!bd->has_spine) {
        if (t > INT64_MAX - bd->o->every)
          more = 0;
        else
          t += bd->o->every;
      }
    }
    /* Events after the vehicle's last spine point are not needed. */
    for (size_t i = 0; i < bd->ntabs; i++) {
      if (!open[i]) continue;
      for (;;) {
        int r = tt__cursor_ready(&cur[i], err);
        if (r < 0) {
          rc = err->code;
          goto out;
        }
        if (!r || strcmp(cur_vehicle(&cur[i]), vid)) break;
        cur[i].pos++;
      }
    }
  }
  if (duckdb_appender_flush(app) != DuckDBSuccess)
    rc = tt_error_set(err, TT_DB, "%s", duckdb_appender_error(app));
out:
  for (size_t i = 0; cur && open && i <= bd->ntabs; i++)
    if (open[i]) tt__cursor_close(&cur[i]);
  if (app) duckdb_appender_destroy(&app);
  if (con) duckdb_disconnect(&con);
  tt_fstate_destroy(st);
  free(sql);
  free(vals);
  free(open);
  free(cur);
  w->rc = rc;
  return NULL;
}

char *tt_features_build_path(const tt_feature_set *fs, const char *lake, uint32_t shard,
                             uint32_t nshards, char *buf, size_t size) {
  snprintf(buf, size, "%s/features/%s/version=%s/part-%u-of-%u.parquet", lake, fs->name,
           fs->short_version, shard, nshards ? nshards : 1);
  return buf;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct vehicles of the shard (from the spine, or from every table's
 * files), sorted and deduplicated. */
static tt_err shard_vehicles(build *bd, duckdb_connection con, char ***out, size_t *nout,
                             tt_error *err) {
  char **v = NULL;
  size_t n = 0, cap = 0;
  tt_err rc = TT_OK;
  char ent[300], pred[512];
  tt__sql_ident(bd->fs->entity, ent, sizeof ent);
  for (size_t i = 0; i <= bd->ntabs && rc == TT_OK; i++) {
    char *sql;
    if (i == bd->ntabs) {
      if (!bd->has_spine) break;
      sql = strdup("SELECT DISTINCT v FROM spine WHERE v IS NOT NULL");
    } else {
      /* Vehicles with events; attributes alone do not make a vehicle. */
      if (bd->has_spine || !bd->tabs[i].nfiles || tt__table_is_entity(bd->fs, bd->tabs[i].name))
        continue;
      time_pred(bd, bd->tabs[i].name, pred, sizeof pred);
      size_t len = strlen(bd->tabs[i].list) + 1024;
      sql = malloc(len);
      if (sql)
        snprintf(sql, len,
                 "SELECT DISTINCT CAST(%s AS VARCHAR) FROM read_parquet(%s, union_by_name=true, "
                 "hive_partitioning=false) WHERE %s AND %s IS NOT NULL",
                 ent, bd->tabs[i].list, pred, ent);
    }
    if (!sql) return tt_error_set(err, TT_NOMEM, "out of memory");
    duckdb_result r;
    tt_debug("features", "vehicles: %s", sql);
    if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
      if (i < bd->ntabs) tt_error_at(err, bd->tabs[i].name, 0, bd->fs->entity);
    } else {
      idx_t rows = duckdb_row_count(&r);
      for (idx_t k = 0; k < rows && rc == TT_OK; k++) {
        char *s = duckdb_value_varchar(&r, 0, k);
        if (!s) continue;
        if (tt_features_shard_of(s, strlen(s), bd->o->nshards ? bd->o->nshards : 1) !=
            bd->o->shard) {
          duckdb_free(s);
          continue;
        }
        if (n == cap) {
          cap = cap ? cap * 2 : 256;
          char **nv = realloc(v, cap * sizeof *nv);
          if (!nv) {
            duckdb_free(s);
            rc = tt_error_set(err, TT_NOMEM, "out of memory");
            break;
          }
          v = nv;
        }
        v[n] = strdup(s);
        duckdb_free(s);
        if (!v[n])
          rc = tt_error_set(err, TT_NOMEM, "out of memory");
        else
          n++;
      }
    }
    duckdb_destroy_result(&r);
    free(sql);
  }
  if (n) qsort(v, n, sizeof *v, cmp_str);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && !strcmp(v[m - 1], v[i])) {
      free(v[i]);
      continue;
    }
    v[m++] = v[i];
  }
  *out = v;
  *nout = m;
  return rc;
}

static tt_err write_manifest(build *bd, const char *path, const char *parquet,
                             const tt_features_build_stats *s, tt_error *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    tt_error_set(err, TT_IO, "cannot create manifest");
    return tt_error_at(err, tmp, 0, NULL);
  }
  const tt_feature_set *fs = bd->fs;
  char a[40], b[40];
  fprintf(f, "{\"feature_set\":");
  tt_json_write_string(f, fs->name);
  fprintf(f, ",\"version\":\"%s\",\"definition\":%s,\"output\":", fs->version, fs->json);
  tt_json_write_string(f, parquet);
  if (bd->counter_axis)
    fprintf(f, ",\"from\":%lld,\"to\":%lld", (long long)bd->from, (long long)bd->to);
  else
    fprintf(f, ",\"from\":\"%s\",\"to\":\"%s\"", tt_time_format(bd->from, a, sizeof a),
            tt_time_format(bd->to, b, sizeof b));
  fprintf(f, ",\"every\":%lld,\"spine\":", (long long)bd->o->every);
  if (bd->o->spine_file)
    tt_json_write_string(f, bd->o->spine_file);
  else
    fputs("null", f);
  fprintf(f,
          ",\"shard\":%u,\"nshards\":%u,\"vehicles\":%llu,\"rows_read\":%llu,\"spine_rows\":%llu,"
          "\"files\":{",
          bd->o->shard, bd->o->nshards ? bd->o->nshards : 1, (unsigned long long)s->vehicles,
          (unsigned long long)s->rows_read, (unsigned long long)s->spine_rows);
  for (size_t i = 0; i < bd->ntabs; i++) {
    if (i) fputc(',', f);
    tt_json_write_string(f, bd->tabs[i].name);
    fputs(":[", f);
    for (size_t k = 0; k < bd->tabs[i].nfiles; k++) {
      if (k) fputc(',', f);
      tt_json_write_string(f, bd->tabs[i].files[k]);
    }
    fputc(']', f);
  }
  fputs("}}\n", f);
  if (fclose(f) != 0) {
    tt_error_set(err, TT_IO, "cannot write manifest");
    return tt_error_at(err, tmp, 0, NULL);
  }
  return tt_commit_file(tmp, path, err);
}

static tt_err data_range(build *bd, duckdb_connection con, tt_error *err) {
  /* Default spine range: the span of the source table's events. */
  tabq *src = &bd->tabs[0];
  if (!src->nfiles) return TT_OK;
  char id[300];
  tt__sql_ident(bd->fs->time_column, id, sizeof id);
  size_t len = strlen(src->list) + 600;
  char *sql = malloc(len);
  if (!sql) return tt_error_set(err, TT_NOMEM, "out of memory");
  if (bd->counter_axis)
    snprintf(sql, len,
             "SELECT min(CAST(%s AS BIGINT)), max(CAST(%s AS BIGINT)) FROM read_parquet(%s, "
             "union_by_name=true, hive_partitioning=false)",
             id, id, src->list);
  else
    snprintf(sql, len,
             "SELECT min(epoch_us(CAST(%s AS TIMESTAMP))), max(epoch_us(CAST(%s AS TIMESTAMP))) "
             "FROM read_parquet(%s, union_by_name=true, hive_partitioning=false)",
             id, id, src->list);
  duckdb_result r;
  tt_err rc = TT_OK;
  if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
    tt_error_at(err, src->name, 0, bd->fs->time_column);
  } else if (!duckdb_value_is_null(&r, 0, 0)) {
    if (bd->from == INT64_MIN) bd->from = duckdb_value_int64(&r, 0, 0);
    if (bd->to == INT64_MAX) bd->to = duckdb_value_int64(&r, 1, 0);
  }
  duckdb_destroy_result(&r);
  free(sql);
  return rc;
}

tt_err tt_features_build(const tt_feature_set *fs, const tt_features_build_opts *o,
                         tt_features_build_stats *stats, tt_error *err) {
  memset(stats, 0, sizeof *stats);
  build bd = {.fs = fs, .o = o, .from = o->from, .to = o->to};
  tt_err rc = TT_OK;
  duckdb_connection con = NULL;
  char **veh = NULL;
  size_t nveh = 0;
  worker *ws = NULL;
  pthread_t *th = NULL;
  char *copy_sql = NULL;
  uint32_t nsh = o->nshards ? o->nshards : 1;
  if (o->shard >= nsh)
    return tt_error_set(err, TT_INVALID, "shard %u is not below %u", o->shard, nsh);
  if (!o->spine_file && o->every <= 0)
    return tt_error_set(err, TT_INVALID, "give a spine file or a positive --every");
  bd.counter_axis = fs->axis == TT_AXIS_COUNTER;
  bd.has_spine = o->spine_file != NULL;
  if ((rc = tt_fengine_new(fs, (tt_fengine **)&bd.eng, err))) return rc;
  bd.ntabs = fs->ntables;
  bd.tabs = calloc(bd.ntabs, sizeof *bd.tabs);
  if (!bd.tabs) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  duckdb_config cfg;
  if (duckdb_create_config(&cfg) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot create DuckDB config");
    goto out;
  }
  if (duckdb_open_ext(NULL, &bd.db, cfg, NULL) != DuckDBSuccess) {
    duckdb_destroy_config(&cfg);
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB");
    goto out;
  }
  duckdb_destroy_config(&cfg);
  if (duckdb_connect(bd.db, &con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot connect to DuckDB");
    goto out;
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  bd.nthreads = o->threads > 0 ? o->threads : (int)(ncpu > 0 ? ncpu : 1);
  snprintf(bd.tmpdir, sizeof bd.tmpdir, "%s/features/.tmp", o->lake);
  if ((rc = tt_mkdirs(bd.tmpdir, err))) goto out;
  {
    char q[4400];
    snprintf(q, sizeof q,
             "SET threads=%d; SET TimeZone='UTC'; SET temp_directory='%s'; SET "
             "preserve_insertion_order=false",
             bd.nthreads, bd.tmpdir);
    if ((rc = db_exec(con, q, err))) goto out;
  }
  /* Spine file first: it can set the range. */
  if (bd.has_spine) {
    char ent[300], tid[300];
    tt__sql_ident(fs->entity, ent, sizeof ent);
    tt__sql_ident(fs->time_column, tid, sizeof tid);
    size_t len = strlen(o->spine_file) * 2 + 1024;
    const char *ext = strrchr(o->spine_file, '.');
    int parquet = ext && !strcmp(ext, ".parquet");
    char *qp = tt__sql_path_list((char *const *)&o->spine_file, 1);
    char *q2 = qp ? malloc(len) : NULL;
    if (q2)
      snprintf(q2, len,
               "CREATE TABLE spine AS SELECT CAST(%s AS VARCHAR) AS v, %s%s%s AS t FROM %s(%s)",
               ent, bd.counter_axis ? "CAST(" : "epoch_us(CAST(", tid,
               bd.counter_axis ? " AS BIGINT)" : " AS TIMESTAMP))",
               parquet ? "read_parquet" : "read_csv_auto", qp);
    free(qp);
    if (!q2) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    rc = db_exec(con, q2, err);
    free(q2);
    if (rc) {
      tt_error_at(err, o->spine_file, 0, NULL);
      goto out;
    }
    duckdb_result r;
    if (duckdb_query(con, "SELECT min(t), max(t) FROM spine", &r) == DuckDBSuccess &&
        !duckdb_value_is_null(&r, 0, 0)) {
      if (bd.from == INT64_MIN) bd.from = duckdb_value_int64(&r, 0, 0);
      if (bd.to == INT64_MAX) bd.to = duckdb_value_int64(&r, 1, 0);
    }
    duckdb_destroy_result(&r);
  }
  /* Files: all of them when the range is still open, then narrowed. */
  for (int pass = 0; pass < 2; pass++) {
    int64_t dlo = INT64_MIN, dhi = INT64_MAX;
    if (!bd.counter_axis && bd.from != INT64_MIN && bd.to != INT64_MAX) {
      /* The earliest window starts after (tile_of(from) - W/T) · T. */
      bd.read_lo = tt__read_lo(fs, bd.from);
      bd.read_hi = bd.to;
      dlo = tt_time_day(bd.read_lo);
      dhi = tt_time_day(bd.read_hi);
    } else {
      bd.read_lo = bd.from == INT64_MIN ? INT64_MIN : tt__read_lo(fs, bd.from);
      bd.read_hi = bd.to;
    }
    for (size_t i = 0; i < bd.ntabs; i++) {
      tabq *tq = &bd.tabs[i];
      tt__lake_files_free(tq->files, tq->nfiles);
      free(tq->list);
      tq->list = NULL;
      tq->name = fs->tables[i];
      if ((rc = tt__lake_files(o->lake, tq->name,
                               tt__table_is_entity(fs, tq->name) ? INT64_MIN : dlo, dhi, &tq->files,
                               &tq->nfiles, err)))
        goto out;
      if (!(tq->list = tt__sql_path_list(tq->files, tq->nfiles))) {
        rc = tt_error_set(err, TT_NOMEM, "out of memory");
        goto out;
      }
    }
    if (pass == 0 && bd.tabs[0].nfiles == 0) {
      rc =
          tt_error_set(err, TT_NOTFOUND, "no Parquet files for table '%s' in the lake", fs->source);
      tt_error_at(err, o->lake, 0, NULL);
      goto out;
    }
    if (pass == 0 && (bd.from == INT64_MIN || bd.to == INT64_MAX)) {
      if ((rc = data_range(&bd, con, err))) goto out;
      if (!bd.has_spine && bd.from != INT64_MIN)
        bd.from = tt__floordiv(bd.from, o->every) * o->every + (bd.from % o->every ? o->every : 0);
    } else if (pass == 0) {
      if (!bd.has_spine) bd.from = tt__floordiv(bd.from - 1, o->every) * o->every + o->every;
    }
    if (bd.from == INT64_MIN || bd.to == INT64_MAX) break; /* no data at all */
  }
  for (size_t i = 0; i < bd.ntabs; i++)
    plan_table(&bd, &bd.tabs[i]);
  for (size_t i = 0; i < bd.ntabs; i++)
    stats->files_read += bd.tabs[i].nfiles;
  if (bd.from != INT64_MIN && bd.to != INT64_MAX) {
    if ((rc = shard_vehicles(&bd, con, &veh, &nveh, err))) goto out;
  }
  /* Output tables and each worker's vehicles. */
  if ((size_t)bd.nthreads > nveh) bd.nthreads = nveh ? (int)nveh : 1;
  {
    size_t len = 256 + fs->nfeatures * 300;
    char *q = malloc(len);
    if (!q) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    for (int w = 0; w < bd.nthreads && !rc; w++) {
      char id[300];
      size_t p = (size_t)snprintf(q, len, "CREATE TABLE out_%d (%s VARCHAR, ", w,
                                  tt__sql_ident(fs->entity, id, sizeof id));
      p += (size_t)snprintf(q + p, len - p, "%s %s", tt__sql_ident(fs->time_column, id, sizeof id),
                            bd.counter_axis ? "BIGINT" : "TIMESTAMP");
      for (size_t i = 0; i < fs->nfeatures; i++)
        p += (size_t)snprintf(q + p, len - p, ", %s DOUBLE",
                              tt__sql_ident(fs->features[i].name, id, sizeof id));
      snprintf(q + p, len - p, "); CREATE TABLE sel_%d (v VARCHAR)", w);
      rc = db_exec(con, q, err);
      if (rc) break;
      duckdb_appender a;
      char tn[32];
      snprintf(tn, sizeof tn, "sel_%d", w);
      if (duckdb_appender_create(con, NULL, tn, &a) != DuckDBSuccess) {
        rc = tt_error_set(err, TT_DB, "%s", duckdb_appender_error(a));
        duckdb_appender_destroy(&a);
        break;
      }
      for (size_t i = (size_t)w; i < nveh; i += (size_t)bd.nthreads) {
        duckdb_append_varchar(a, veh[i]);
        duckdb_appender_end_row(a);
      }
      if (duckdb_appender_destroy(&a) != DuckDBSuccess)
        rc = tt_error_set(err, TT_DB, "appending the vehicle list failed");
    }
    free(q);
    if (rc) goto out;
  }
  ws = calloc((size_t)bd.nthreads, sizeof *ws);
  th = calloc((size_t)bd.nthreads, sizeof *th);
  if (!ws || !th) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if (nveh) {
    int started = 0;
    for (int w = 0; w < bd.nthreads; w++) {
      ws[w].bd = &bd;
      ws[w].index = w;
      tt_error_clear(&ws[w].err);
      if (pthread_create(&th[w], NULL, worker_run, &ws[w]) != 0) {
        ws[w].rc = tt_error_set(&ws[w].err, TT_INTERNAL, "cannot start a thread");
        break;
      }
      started++;
    }
    for (int w = 0; w < started; w++)
      pthread_join(th[w], NULL);
    for (int w = 0; w < bd.nthreads; w++) {
      if (ws[w].rc && !rc) {
        rc = ws[w].rc;
        if (err) *err = ws[w].err;
      }
      stats->rows_read += ws[w].rows_read;
      stats->vehicles += ws[w].vehicles;
      stats->spine_rows += ws[w].spine_rows;
    }
    if (rc) goto out;
  }
  /* One Parquet file, sorted, written under a temporary name. */
  if (o->out_path)
    snprintf(stats->out_path, sizeof stats->out_path, "%s", o->out_path);
  else
    tt_features_build_path(fs, o->lake, o->shard, nsh, stats->out_path, sizeof stats->out_path);
  {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", stats->out_path);
    char *sl = strrchr(dir, '/');
    if (sl) {
      *sl = '\0';
      if ((rc = tt_mkdirs(dir, err))) goto out;
    }
    char tmp[1100], *qt[1] = {tmp};
    snprintf(tmp, sizeof tmp, "%s.tmp", stats->out_path);
    char *lit = tt__sql_path_list(qt, 1);
    size_t len = (size_t)bd.nthreads * 64 + 2400;
    copy_sql = malloc(len);
    if (!lit || !copy_sql) {
      free(lit);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    size_t p = (size_t)snprintf(copy_sql, len, "COPY (SELECT * FROM (");
    for (int w = 0; w < bd.nthreads; w++)
      p += (size_t)snprintf(copy_sql + p, len - p, "%sSELECT * FROM out_%d", w ? " UNION ALL " : "",
                            w);
    /* a one-element list literal: strip the brackets for COPY TO */
    lit[strlen(lit) - 1] = '\0';
    snprintf(copy_sql + p, len - p, ") ORDER BY 1, 2) TO %s (FORMAT parquet, COMPRESSION zstd)",
             lit + 1);
    free(lit);
    if ((rc = db_exec(con, copy_sql, err))) goto out;
    if ((rc = tt_commit_file(tmp, stats->out_path, err))) goto out;
  }
  snprintf(stats->manifest_path, sizeof stats->manifest_path, "%.*s.json",
           (int)(strlen(stats->out_path) - strlen(".parquet")), stats->out_path);
  if ((rc = write_manifest(&bd, stats->manifest_path, stats->out_path, stats, err))) goto out;
  tt_info("features", "%s@%s: %llu vehicles, %llu rows read from %llu files, %llu spine rows -> %s",
          fs->name, fs->short_version, (unsigned long long)stats->vehicles,
          (unsigned long long)stats->rows_read, (unsigned long long)stats->files_read,
          (unsigned long long)stats->spine_rows, stats->out_path);
out:
  free(copy_sql);
  free(ws);
  free(th);
  for (size_t i = 0; i < nveh; i++)
    free(veh[i]);
  free(veh);
  if (con) duckdb_disconnect(&con);
  if (bd.db) duckdb_close(&bd.db);
  for (size_t i = 0; bd.tabs && i < bd.ntabs; i++) {
    tt__lake_files_free(bd.tabs[i].files, bd.tabs[i].nfiles);
    free(bd.tabs[i].list);
  }
  free(bd.tabs);
  tt_fengine_destroy((tt_fengine *)bd.eng);
  return rc;
}
