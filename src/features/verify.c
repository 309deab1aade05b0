/* `features verify`: the proof that online == offline, bit for bit.
 *
 * 1. Read the lake's events of the set's tables in their stored (arrival)
 *    order: date partition by date partition, table by table, file by file,
 *    row by row — late and out-of-order arrivals included.
 * 2. Per vehicle, find checkpoints: points in its arrival sequence after
 *    which no event with an earlier-or-equal time arrives, so the stream has
 *    then seen exactly the events with time <= the latest time t (one per
 *    tile, and the last one).
 * 3. Streaming path: feed the arrival sequence through the online store
 *    (a separate key namespace, "tt:fv:…", for Redis) and read the online
 *    values at each checkpoint.
 * 4. Batch path: write the checkpoints as a spine and run the offline
 *    builder on it.
 * 5. Compare every value bit for bit (NULL in Parquet == NaN online).
 * The replayed range is held in memory: bound it with from/to. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "features/cursor.h"
#include "features/online.h"
#include "telltale/log.h"

typedef struct rec {
  const char *veh;
  int64_t t;
  uint64_t seq;
  tt_batch *b;
  uint32_t row, tab;
} rec;

typedef struct ckpt {
  const char *veh;
  int64_t t;
  double *vals; /* online values */
} ckpt;

typedef struct vfile {
  const char *path;
  char date[16];
  size_t tab;
} vfile;

static int cmp_vfile(const void *a, const void *b) {
  const vfile *x = a, *y = b;
  int c = strcmp(x->date, y->date);
  if (c) return c;
  if (x->tab != y->tab) return x->tab < y->tab ? -1 : 1;
  return strcmp(x->path, y->path);
}

static int cmp_rec(const void *a, const void *b) {
  const rec *x = a, *y = b;
  int c = strcmp(x->veh, y->veh);
  if (c) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_ckpt(const void *a, const void *b) {
  const ckpt *x = a, *y = b;
  int c = strcmp(x->veh, y->veh);
  if (c) return c;
  return x->t < y->t ? -1 : x->t > y->t;
}

typedef struct orow {
  char *veh;
  int64_t t;
  double *vals;
} orow;

static int cmp_orow(const void *a, const void *b) {
  const orow *x = a, *y = b;
  int c = strcmp(x->veh, y->veh);
  if (c) return c;
  return x->t < y->t ? -1 : x->t > y->t;
}

static int same_bits(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

void tt_features_verify_report_free(tt_features_verify_report *rep) {
  if (!rep) return;
  free(rep->mismatches_by_feature);
  rep->mismatches_by_feature = NULL;
}

tt_err tt_features_verify(const tt_feature_set *fs, const char *lake, const char *online_url,
                          tt_time from, tt_time to, tt_features_verify_report *rep, tt_error *err) {
  memset(rep, 0, sizeof *rep);
  tt_err rc = TT_OK;
  size_t nf = fs->nfeatures, ntab = fs->ntables;
  tt_fengine *eng = NULL;
  tt_online *on = NULL;
  duckdb_database db = NULL;
  duckdb_connection con = NULL;
  char ***files = calloc(ntab, sizeof *files);
  size_t *nfiles = calloc(ntab, sizeof *nfiles);
  tt__select *sel = calloc(ntab, sizeof *sel);
  tt_batch **pending = calloc(ntab, sizeof *pending);
  vfile *vf = NULL;
  size_t nvf = 0;
  rec *recs = NULL;
  size_t nrec = 0, capr = 0;
  tt_batch **kept = NULL;
  size_t nkept = 0, capk = 0;
  ckpt *cks = NULL;
  size_t nck = 0, capc = 0;
  orow *orows = NULL;
  size_t norow = 0;
  int64_t *sufmin = NULL;
  char tmpdir[4096] = "", spine[4200] = "", out[4200] = "";
  rep->nfeatures = nf;
  rep->mismatches_by_feature = calloc(nf ? nf : 1, sizeof *rep->mismatches_by_feature);
  if (!files || !nfiles || !sel || !pending || !rep->mismatches_by_feature) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = tt_fengine_new(fs, &eng, err))) goto out;
  {
    /* A namespace of its own per run: never the live keys, never a
     * previous replay's states. Redis expires them after an hour. */
    char ns[32];
    snprintf(ns, sizeof ns, "fv%ld", (long)getpid());
    if ((rc = tt__online_open_ns(online_url, ns, eng, fs, 3600, &on, err))) goto out;
  }
  if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB");
    goto out;
  }
  {
    duckdb_result r;
    /* One thread: rows come back in the files' order, the arrival order. */
    duckdb_state s = duckdb_query(con, "SET threads=1; SET TimeZone='UTC'", &r);
    duckdb_destroy_result(&r);
    if (s != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "cannot configure DuckDB");
      goto out;
    }
  }
  /* 1. Files and their arrival order. */
  int64_t dlo = INT64_MIN, dhi = INT64_MAX;
  if (fs->axis == TT_AXIS_TIMESTAMP) {
    if (from != INT64_MIN) dlo = tt_time_day(tt__read_lo(fs, from));
    if (to != INT64_MAX) dhi = tt_time_day(to);
  }
  for (size_t i = 0; i < ntab; i++) {
    /* Entity tables: all history up to `to` (an attribute has no window). */
    if ((rc = tt__lake_files(lake, fs->tables[i],
                             tt__table_is_entity(fs, fs->tables[i]) ? INT64_MIN : dlo, dhi,
                             &files[i], &nfiles[i], err)))
      goto out;
    tt__table_select(eng, fs->tables[i], &sel[i]);
    if (!(pending[i] = tt_batch_new(sel[i].ncols, sel[i].cols, sel[i].types, 4096))) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    nvf += nfiles[i];
  }
  if (!nfiles[0]) {
    rc = tt_error_set(err, TT_NOTFOUND, "no Parquet files for table '%s' in the lake", fs->source);
    tt_error_at(err, lake, 0, NULL);
    goto out;
  }
  vf = calloc(nvf, sizeof *vf);
  if (!vf) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  nvf = 0;
  for (size_t i = 0; i < ntab; i++)
    for (size_t k = 0; k < nfiles[i]; k++) {
      vf[nvf].path = files[i][k];
      vf[nvf].tab = i;
      const char *d = strstr(files[i][k], "/date=");
      if (d) snprintf(vf[nvf].date, sizeof vf[nvf].date, "%.10s", d + 6);
      nvf++;
    }
  qsort(vf, nvf, sizeof *vf, cmp_vfile);
  /* 2. Read every event, keeping the chunks. */
  uint64_t seq = 0;
  for (size_t f = 0; f < nvf; f++) {
    const tt__select *s = &sel[vf[f].tab];
    char *lit = tt__sql_path_list((char *const *)&vf[f].path, 1);
    size_t len = strlen(s->sql) + (lit ? strlen(lit) : 0) + 200;
    char *sql = malloc(len);
    if (!lit || !sql) {
      free(lit);
      free(sql);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    snprintf(sql, len,
             "SELECT %s FROM read_parquet(%s, union_by_name=true, hive_partitioning=false)", s->sql,
             lit);
    tt__cursor cur;
    rc = tt__cursor_open(&cur, db, sql, s->ncols, s->cols, s->types, err);
    free(lit);
    free(sql);
    while (rc == TT_OK) {
      int r = tt__cursor_ready(&cur, err);
      if (r < 0) rc = err ? err->code : TT_DB;
      if (r <= 0) break;
      tt_batch *b = cur.b;
      if (!(cur.b = tt_batch_new(s->ncols, s->cols, s->types, duckdb_vector_size()))) {
        cur.b = b;
        rc = tt_error_set(err, TT_NOMEM, "out of memory");
        break;
      }
      if (nkept == capk) {
        capk = capk ? capk * 2 : 64;
        tt_batch **nk = realloc(kept, capk * sizeof *nk);
        if (!nk) {
          tt_batch_destroy(b);
          rc = tt_error_set(err, TT_NOMEM, "out of memory");
          break;
        }
        kept = nk;
      }
      kept[nkept++] = b;
      for (size_t row = 0; row < b->nrows; row++) {
        if (!b->cols[0].valid[row] || !b->cols[1].valid[row]) {
          rc = tt_error_set(err, TT_INVALID, "row %zu has no %s or %s", row + 1, fs->entity,
                            fs->time_column);
          tt_error_at(err, vf[f].path, 0, NULL);
          break;
        }
        if (nrec == capr) {
          capr = capr ? capr * 2 : 4096;
          rec *nr = realloc(recs, capr * sizeof *nr);
          if (!nr) {
            rc = tt_error_set(err, TT_NOMEM, "out of memory");
            break;
          }
          recs = nr;
        }
        recs[nrec++] = (rec){b->cols[0].v.str[row], b->cols[1].v.i64[row], seq++, b,
                             (uint32_t)row,         (uint32_t)vf[f].tab};
      }
    }
    tt__cursor_close(&cur);
    if (rc) {
      tt_error_at(err, vf[f].path, 0, NULL);
      goto out;
    }
  }
  rep->events = nrec;
  if (!nrec) goto out;
  qsort(recs, nrec, sizeof *recs, cmp_rec);
  if (!(sufmin = malloc((nrec + 1) * sizeof *sufmin))) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  /* 3. Streaming path, vehicle by vehicle. */
  for (size_t v0 = 0; v0 < nrec;) {
    size_t v1 = v0;
    while (v1 < nrec && !strcmp(recs[v1].veh, recs[v0].veh))
      v1++;
    rep->vehicles++;
    sufmin[v1] = INT64_MAX;
    for (size_t i = v1; i > v0; i--)
      sufmin[i - 1] = recs[i - 1].t < sufmin[i] ? recs[i - 1].t : sufmin[i];
    int64_t maxp = INT64_MIN, last_tile = INT64_MIN;
    for (size_t i = v0; i < v1; i++) {
      const rec *r = &recs[i];
      tt_batch *p = pending[r->tab];
      if (tt_batch_copy_row(p, r->b, r->row) == (size_t)-1) {
        if ((rc = tt_online_update(on, fs->tables[r->tab], p, NULL, 0, err))) goto out;
        tt_batch_reset(p);
        if (tt_batch_copy_row(p, r->b, r->row) == (size_t)-1) {
          rc = tt_error_set(err, TT_NOMEM, "out of memory");
          goto out;
        }
      }
      if (r->t > maxp) maxp = r->t;
      int closed = i + 1 == v1 || maxp < sufmin[i + 1];
      if (!closed || maxp < from || maxp > to) continue;
      int64_t tile = tt__tile_of(maxp, fs->tile);
      if (tile == last_tile && i + 1 != v1) continue;
      last_tile = tile;
      for (size_t k = 0; k < ntab; k++) {
        if (!pending[k]->nrows) continue;
        if ((rc = tt_online_update(on, fs->tables[k], pending[k], NULL, 0, err))) goto out;
        tt_batch_reset(pending[k]);
      }
      if (nck == capc) {
        capc = capc ? capc * 2 : 1024;
        ckpt *nc = realloc(cks, capc * sizeof *nc);
        if (!nc) {
          rc = tt_error_set(err, TT_NOMEM, "out of memory");
          goto out;
        }
        cks = nc;
      }
      ckpt *c = &cks[nck];
      c->veh = r->veh;
      c->t = maxp;
      if (!(c->vals = malloc((nf ? nf : 1) * sizeof *c->vals))) {
        rc = tt_error_set(err, TT_NOMEM, "out of memory");
        goto out;
      }
      nck++;
      tt_time as_of;
      if ((rc = tt_online_get(on, r->veh, c->vals, &as_of, err))) goto out;
      if (as_of != maxp) {
        rc = tt_error_set(err, TT_INTERNAL, "online values of '%s' are as of %lld, expected %lld",
                          r->veh, (long long)as_of, (long long)maxp);
        goto out;
      }
    }
    for (size_t k = 0; k < ntab; k++)
      tt_batch_reset(pending[k]);
    v0 = v1;
  }
  rep->checkpoints = nck;
  if (!nck) goto out;
  /* 4. Batch path over the same (vehicle, time) points. */
  snprintf(tmpdir, sizeof tmpdir, "%s/features/.tmp/verify-%ld", lake, (long)getpid());
  if ((rc = tt_mkdirs(tmpdir, err))) goto out;
  snprintf(spine, sizeof spine, "%s/spine.parquet", tmpdir);
  snprintf(out, sizeof out, "%s/offline.parquet", tmpdir);
  {
    char q[5000], id1[300], id2[300];
    snprintf(q, sizeof q, "CREATE TABLE spine (%s VARCHAR, %s %s)",
             tt__sql_ident(fs->entity, id1, sizeof id1),
             tt__sql_ident(fs->time_column, id2, sizeof id2),
             fs->axis == TT_AXIS_COUNTER ? "BIGINT" : "TIMESTAMP");
    duckdb_result r;
    if (duckdb_query(con, q, &r) != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
      duckdb_destroy_result(&r);
      goto out;
    }
    duckdb_destroy_result(&r);
    duckdb_appender app;
    if (duckdb_appender_create(con, NULL, "spine", &app) != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "%s", duckdb_appender_error(app));
      duckdb_appender_destroy(&app);
      goto out;
    }
    for (size_t i = 0; i < nck; i++) {
      duckdb_append_varchar(app, cks[i].veh);
      if (fs->axis == TT_AXIS_COUNTER)
        duckdb_append_int64(app, cks[i].t);
      else
        duckdb_append_timestamp(app, (duckdb_timestamp){cks[i].t});
      duckdb_appender_end_row(app);
    }
    if (duckdb_appender_destroy(&app) != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "writing the spine failed");
      goto out;
    }
    char *qp[1] = {spine};
    char *lit = tt__sql_path_list(qp, 1);
    if (!lit) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    lit[strlen(lit) - 1] = '\0';
    snprintf(q, sizeof q, "COPY spine TO %s (FORMAT parquet)", lit + 1);
    free(lit);
    if (duckdb_query(con, q, &r) != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
      duckdb_destroy_result(&r);
      goto out;
    }
    duckdb_destroy_result(&r);
  }
  {
    tt_features_build_opts o = {
        .lake = lake, .spine_file = spine, .from = INT64_MIN, .to = INT64_MAX, .out_path = out};
    tt_features_build_stats bs;
    if ((rc = tt_features_build(fs, &o, &bs, err))) goto out;
    char *qp[1] = {out};
    char *lit = tt__sql_path_list(qp, 1);
    size_t len = (lit ? strlen(lit) : 0) + 400;
    char *q = malloc(len);
    if (!lit || !q) {
      free(lit);
      free(q);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
    char id[300];
    tt__sql_ident(fs->time_column, id, sizeof id);
    if (fs->axis == TT_AXIS_COUNTER)
      snprintf(q, len, "SELECT * FROM read_parquet(%s, hive_partitioning=false)", lit);
    else
      snprintf(
          q, len,
          "SELECT * REPLACE (epoch_us(%s) AS %s) FROM read_parquet(%s, hive_partitioning=false)",
          id, id, lit);
    free(lit);
    duckdb_result r;
    duckdb_state s = duckdb_query(con, q, &r);
    free(q);
    if (s != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
      duckdb_destroy_result(&r);
      goto out;
    }
    norow = duckdb_row_count(&r);
    orows = calloc(norow ? norow : 1, sizeof *orows);
    for (size_t i = 0; orows && i < norow; i++) {
      orows[i].veh = duckdb_value_varchar(&r, 0, i);
      orows[i].t = duckdb_value_int64(&r, 1, i);
      orows[i].vals = malloc((nf ? nf : 1) * sizeof(double));
      if (!orows[i].vals) break;
      for (size_t k = 0; k < nf; k++)
        orows[i].vals[k] =
            duckdb_value_is_null(&r, k + 2, i) ? NAN : duckdb_value_double(&r, k + 2, i);
    }
    duckdb_destroy_result(&r);
    if (!orows) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      goto out;
    }
  }
  /* 5. Compare. */
  qsort(cks, nck, sizeof *cks, cmp_ckpt);
  qsort(orows, norow, sizeof *orows, cmp_orow);
  if (norow != nck) {
    rc = tt_error_set(err, TT_INTERNAL, "offline build returned %zu rows for %zu checkpoints",
                      norow, nck);
    goto out;
  }
  for (size_t i = 0; i < nck; i++) {
    if (!orows[i].veh || !orows[i].vals || strcmp(orows[i].veh, cks[i].veh) ||
        orows[i].t != cks[i].t) {
      rc = tt_error_set(err, TT_INTERNAL, "offline rows do not line up with the checkpoints");
      goto out;
    }
    for (size_t k = 0; k < nf; k++) {
      rep->values_compared++;
      if (!same_bits(orows[i].vals[k], cks[i].vals[k])) {
        if (!rep->mismatches)
          tt_warn("features", "verify: %s of %s at %lld: online %.17g, offline %.17g",
                  fs->features[k].name, cks[i].veh, (long long)cks[i].t, cks[i].vals[k],
                  orows[i].vals[k]);
        rep->mismatches++;
        rep->mismatches_by_feature[k]++;
      }
    }
  }
out:
  if (*tmpdir) {
    unlink(spine);
    unlink(out);
    char man[4300];
    snprintf(man, sizeof man, "%s/offline.json", tmpdir);
    unlink(man);
    rmdir(tmpdir);
  }
  for (size_t i = 0; i < norow; i++) {
    duckdb_free(orows[i].veh);
    free(orows[i].vals);
  }
  free(orows);
  for (size_t i = 0; i < nck; i++)
    free(cks[i].vals);
  free(cks);
  free(sufmin);
  free(recs);
  for (size_t i = 0; i < nkept; i++)
    tt_batch_destroy(kept[i]);
  free(kept);
  free(vf);
  for (size_t i = 0; files && i < ntab; i++)
    tt__lake_files_free(files[i], nfiles[i]);
  for (size_t i = 0; pending && i < ntab; i++)
    tt_batch_destroy(pending[i]);
  free(pending);
  free(files);
  free(nfiles);
  free(sel);
  if (con) duckdb_disconnect(&con);
  if (db) duckdb_close(&db);
  tt_online_close(on);
  tt_fengine_destroy(eng);
  return rc;
}
