/* Writing predictions: CSV, JSON lines, and the lake's predictions table
 * (Parquet through DuckDB, written under a temporary name and renamed). */
#include <duckdb.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "telltale/predict.h"
#include "telltale/time.h"

static void fmt_time(const tt_predictions *p, int64_t t, char *buf, size_t n) {
  if (p->axis == TT_AXIS_KIND_COUNTER) snprintf(buf, n, "%lld", (long long)t);
  else tt_time_format(t, buf, n);
}

/* "feature=value (+0.42); …" */
static void reasons_text(const tt_prediction *r, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = '\0';
  for (int q = 0; q < r->nreasons && len < n; q++) {
    char v[32] = "missing";
    if (!isnan(r->value[q])) snprintf(v, sizeof v, "%.4g", (double)r->value[q]);
    len += (size_t)snprintf(buf + len, n - len, "%s%s=%s (%+.3f)", q ? "; " : "", r->reason[q], v,
                            (double)r->contribution[q]);
  }
}

tt_err tt_predictions_write_csv(const tt_predictions *p, FILE *f, tt_error *err) {
  fprintf(f, "vehicle_id,ts,model,version,score,alarm,reasons\n");
  for (size_t i = 0; i < p->n; i++) {
    const tt_prediction *r = &p->rows[i];
    char t[40], rs[1024];
    fmt_time(p, r->time, t, sizeof t);
    reasons_text(r, rs, sizeof rs);
    /* Vehicle ids and feature names could hold a quote: double it. */
    fputc('"', f);
    for (const char *c = r->vehicle; *c; c++) fputs(*c == '"' ? "\"\"" : (char[]){*c, 0}, f);
    fprintf(f, "\",%s,%s,%d,%.6g,%s,\"", t, p->model, p->version, (double)r->score,
            r->alarm < 0 ? "" : r->alarm ? "1" : "0");
    for (const char *c = rs; *c; c++) fputs(*c == '"' ? "\"\"" : (char[]){*c, 0}, f);
    fputs("\"\n", f);
  }
  if (ferror(f)) return tt_error_set(err, TT_IO, "cannot write predictions: %s", strerror(errno));
  return TT_OK;
}

tt_err tt_predictions_write_json(const tt_predictions *p, FILE *f, tt_error *err) {
  for (size_t i = 0; i < p->n; i++) {
    const tt_prediction *r = &p->rows[i];
    char t[40];
    fmt_time(p, r->time, t, sizeof t);
    json_t *reasons = json_array();
    for (int q = 0; q < r->nreasons; q++)
      json_array_append_new(reasons, json_pack("{s:s,s:o,s:f}", "feature", r->reason[q], "value",
                                               isfinite(r->value[q]) ? json_real(r->value[q]) : json_null(),
                                               "contribution", (double)r->contribution[q]));
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:f,s:o,s:o}", "vehicle_id", r->vehicle, "ts", t, "model",
                          p->model, "version", p->version, "score", (double)r->score, "alarm",
                          r->alarm < 0 ? json_null() : json_boolean(r->alarm), "reasons", reasons);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s) return tt_error_set(err, TT_NOMEM, "out of memory");
    fprintf(f, "%s\n", s);
    free(s);
  }
  if (ferror(f)) return tt_error_set(err, TT_IO, "cannot write predictions: %s", strerror(errno));
  return TT_OK;
}

tt_err tt_predictions_write_lake(const tt_predictions *p, const char *lake, unsigned shard,
                                 unsigned nshards, char **path_out, tt_error *err) {
  tt_err rc = TT_OK;
  duckdb_database db = NULL;
  duckdb_connection con = NULL;
  duckdb_appender app = NULL;
  duckdb_result res;
  char dir[4096], final[4600], tmp[4700], asof[40], sh[32] = "";
  if (path_out) *path_out = NULL;
  int64_t t = p->as_of;
  if (t == TT_AS_OF_LAST) { /* the newest observation scored */
    t = INT64_MIN;
    for (size_t i = 0; i < p->n; i++)
      if (p->rows[i].time > t) t = p->rows[i].time;
    snprintf(asof, sizeof asof, "last");
  } else {
    snprintf(asof, sizeof asof, "%lld", (long long)t);
  }
  if (p->axis == TT_AXIS_KIND_COUNTER || t == INT64_MIN) {
    snprintf(dir, sizeof dir, "%s/predictions", lake);
  } else {
    char d[16];
    tt_time_format_date(t, d, sizeof d);
    snprintf(dir, sizeof dir, "%s/predictions/date=%s", lake, d);
  }
  if (nshards > 1) snprintf(sh, sizeof sh, "-s%u-%u", shard, nshards);
  snprintf(final, sizeof final, "%s/part-%s-v%d-%s%s.parquet", dir, p->model, p->version, asof, sh);
  snprintf(tmp, sizeof tmp, "%s/.part-%s-v%d-%s%s.%ld.tmp", dir, p->model, p->version, asof, sh, (long)getpid());
  if ((rc = tt_mkdirs(dir, err)) != TT_OK) return rc;
  if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB");
    goto out;
  }
  const char *ts_type = p->axis == TT_AXIS_KIND_COUNTER ? "BIGINT" : "TIMESTAMP";
  char create[512];
  snprintf(create, sizeof create,
           "CREATE TABLE p (vehicle_id VARCHAR, ts %s, model VARCHAR, version INTEGER, score DOUBLE, "
           "alarm BOOLEAN, reasons VARCHAR, scored_at TIMESTAMP)",
           ts_type);
  if (duckdb_query(con, create, &res) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "DuckDB: %s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    goto out;
  }
  duckdb_destroy_result(&res);
  if (duckdb_appender_create(con, NULL, "p", &app) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "DuckDB appender: %s", duckdb_appender_error(app));
    goto out;
  }
  int64_t now = tt_time_now();
  for (size_t i = 0; i < p->n; i++) {
    const tt_prediction *r = &p->rows[i];
    char rs[1024];
    reasons_text(r, rs, sizeof rs);
    duckdb_append_varchar(app, r->vehicle);
    if (p->axis == TT_AXIS_KIND_COUNTER) duckdb_append_int64(app, r->time);
    else duckdb_append_timestamp(app, (duckdb_timestamp){r->time});
    duckdb_append_varchar(app, p->model);
    duckdb_append_int32(app, p->version);
    duckdb_append_double(app, r->score);
    if (r->alarm < 0) duckdb_append_null(app);
    else duckdb_append_bool(app, r->alarm != 0);
    duckdb_append_varchar(app, rs);
    duckdb_append_timestamp(app, (duckdb_timestamp){now});
    if (duckdb_appender_end_row(app) != DuckDBSuccess) {
      rc = tt_error_set(err, TT_DB, "DuckDB appender: %s", duckdb_appender_error(app));
      goto out;
    }
  }
  duckdb_appender_destroy(&app);
  app = NULL;
  char *copy = NULL;
  if (asprintf(&copy, "COPY p TO '%s' (FORMAT parquet, COMPRESSION zstd)", tmp) < 0) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if (strchr(tmp, '\'')) {
    free(copy);
    rc = tt_error_set(err, TT_INVALID, "lake path must not contain a quote");
    goto out;
  }
  int ok = duckdb_query(con, copy, &res) == DuckDBSuccess;
  free(copy);
  if (!ok) {
    rc = tt_error_set(err, TT_DB, "DuckDB: %s", duckdb_result_error(&res));
    duckdb_destroy_result(&res);
    goto out;
  }
  duckdb_destroy_result(&res);
  if ((rc = tt_commit_file(tmp, final, err)) != TT_OK) {
    unlink(tmp);
    goto out;
  }
  if (path_out && !(*path_out = strdup(final))) rc = tt_error_set(err, TT_NOMEM, "out of memory");
out:
  if (app) duckdb_appender_destroy(&app);
  if (con) duckdb_disconnect(&con);
  if (db) duckdb_close(&db);
  return rc;
}
