/* `features materialize`: the latest offline row of each vehicle into the
 * online store, in bulk (e.g. to warm a new Redis before streaming). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/cursor.h"
#include "features/internal.h"

tt_err tt_features_materialize(tt_online *on, const tt_feature_set *fs, const char *lake,
                               const char *file, uint64_t *vehicles, tt_error *err) {
  *vehicles = 0;
  char glob[4200];
  if (file)
    snprintf(glob, sizeof glob, "%s", file);
  else
    snprintf(glob, sizeof glob, "%s/features/%s/version=%s/part-*.parquet", lake, fs->name,
             fs->short_version);
  size_t nf = fs->nfeatures;
  size_t len = 1024 + nf * 300 + 2 * strlen(glob);
  char *sql = malloc(len), *g[1] = {glob}, *lit = tt__sql_path_list(g, 1);
  double *vals = malloc((nf + 1) * sizeof *vals);
  duckdb_database db = NULL;
  duckdb_connection con = NULL;
  duckdb_result r;
  int has_r = 0;
  tt_err rc = TT_OK;
  if (!sql || !lit || !vals) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  char e[300], t[300], id[300];
  tt__sql_ident(fs->entity, e, sizeof e);
  tt__sql_ident(fs->time_column, t, sizeof t);
  size_t p = (size_t)snprintf(sql, len, "SELECT CAST(%s AS VARCHAR), %s%s%s", e,
                              fs->axis == TT_AXIS_COUNTER ? "CAST(" : "epoch_us(", t,
                              fs->axis == TT_AXIS_COUNTER ? " AS BIGINT)" : ")");
  for (size_t i = 0; i < nf; i++)
    p += (size_t)snprintf(sql + p, len - p, ", %s",
                          tt__sql_ident(fs->features[i].name, id, sizeof id));
  snprintf(sql + p, len - p,
           " FROM read_parquet(%s, hive_partitioning=false, union_by_name=true) "
           "QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s DESC) = 1",
           lit, e, t);
  if (duckdb_open(NULL, &db) != DuckDBSuccess || duckdb_connect(db, &con) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "cannot open DuckDB");
    goto out;
  }
  has_r = 1;
  if (duckdb_query(con, sql, &r) != DuckDBSuccess) {
    rc = tt_error_set(err, TT_DB, "%s", duckdb_result_error(&r));
    tt_error_at(err, glob, 0, NULL);
    goto out;
  }
  idx_t rows = duckdb_row_count(&r);
  for (idx_t i = 0; i < rows && rc == TT_OK; i++) {
    char *veh = duckdb_value_varchar(&r, 0, i);
    if (!veh) continue;
    for (size_t k = 0; k < nf; k++)
      vals[k] = duckdb_value_is_null(&r, k + 2, i) ? NAN : duckdb_value_double(&r, k + 2, i);
    rc = tt_online_put(on, veh, vals, duckdb_value_int64(&r, 1, i), err);
    duckdb_free(veh);
    if (!rc) (*vehicles)++;
  }
out:
  if (has_r) duckdb_destroy_result(&r);
  if (con) duckdb_disconnect(&con);
  if (db) duckdb_close(&db);
  free(sql);
  free(lit);
  free(vals);
  return rc;
}
