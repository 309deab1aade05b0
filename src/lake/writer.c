/* The part writer: batches → staged in a DuckDB temp table (bulk, whole
 * vectors per data chunk) → one zstd Parquet file per date partition, each
 * written under a temporary name, fsynced, renamed, directory fsynced.
 * See src/lake/README.md for the protocol. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "lake/lake_internal.h"
#include "telltale/time.h"

struct tt_lake_writer {
  tt_lake *lake;
  duckdb_connection con;
  /* The part being written. */
  const tt_table_def *table;
  char part_id[129];
  char partition[256];
  int staging;        /* a part is begun */
  uint64_t rows;      /* staged */
  duckdb_appender app;
  duckdb_data_chunk chunk;
  int64_t *days;      /* distinct days staged (timestamp axis) */
  size_t ndays, cap_days;
};

static const tt_column_def deadletter_cols[] = {
    {"reason", TT_TYPE_STRING, "", "reject reason code (parse, wrong_type, …)", 1, 0, 0, 0, 0},
    {"detail", TT_TYPE_STRING, "", "what was wrong", 0, 0, 0, 0, 0},
    {"field", TT_TYPE_STRING, "", "offending column, or empty", 0, 0, 0, 0, 0},
    {"source", TT_TYPE_STRING, "", "input file, '-' for stdin, or topic/partition", 1, 0, 0, 0, 0},
    {"line", TT_TYPE_INT64, "", "1-based line number (or offset) in the source", 1, 0, 0, 0, 0},
    {"raw", TT_TYPE_STRING, "", "the record as read (cut when huge)", 0, 0, 0, 0, 0},
    {"ingested_at", TT_TYPE_TIMESTAMP, "", "when the record was rejected", 0, 0, 0, 0, 0},
};
static const tt_table_def deadletter_def = {
    .name = TT_LAKE_DEADLETTER,
    .kind = TT_TABLE_EVENTS,
    .description = "Records rejected by ingest, with the reason",
    .entity_column = "source",
    .time_column = "line",
    .axis = TT_AXIS_COUNTER,
    .axis_unit = "lines",
    .ncolumns = sizeof deadletter_cols / sizeof *deadletter_cols,
    .columns = deadletter_cols,
    .entity_index = 3,
    .time_index = 4,
};

const tt_table_def *tt_lake_deadletter_table(void) { return &deadletter_def; }

tt_batch *tt_lake_batch_new(const tt_table_def *t, size_t capacity) {
  const char **names = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *names);
  tt_type *types = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *types);
  tt_batch *b = NULL;
  if (names && types) {
    for (size_t i = 0; i < t->ncolumns; i++) {
      names[i] = t->columns[i].name;
      types[i] = t->columns[i].type;
    }
    b = tt_batch_new(t->ncolumns, names, types, capacity);
  }
  free(names);
  free(types);
  return b;
}

tt_err tt_lake_writer_new(tt_lake *lake, tt_lake_writer **out, tt_error *err) {
  tt_lake_writer *w = calloc(1, sizeof *w);
  if (!w) return tt_error_set(err, TT_NOMEM, "out of memory");
  w->lake = lake;
  if (duckdb_connect(lake->db, &w->con) == DuckDBError) {
    free(w);
    return tt_error_set(err, TT_DB, "cannot connect to DuckDB");
  }
  *out = w;
  return TT_OK;
}

void tt_lake_part_abort(tt_lake_writer *w) {
  if (w->app) duckdb_appender_destroy(&w->app);
  if (w->chunk) duckdb_destroy_data_chunk(&w->chunk);
  w->app = NULL;
  w->chunk = NULL;
  w->staging = 0;
  w->rows = 0;
  w->ndays = 0;
}

void tt_lake_writer_destroy(tt_lake_writer *w) {
  if (!w) return;
  tt_lake_part_abort(w);
  duckdb_disconnect(&w->con);
  free(w->days);
  free(w);
}

static int valid_part_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 128) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return id[0] != '.';
}

/* Table and column names become directory and SQL names: keep them plain. */
static int valid_name(const char *s) {
  if (!s || !*s || strlen(s) > 120 || s[0] == '.') return 0;
  for (; *s; s++)
    if (*s == '/' || *s == '\\' || (unsigned char)*s < 0x20) return 0;
  return 1;
}

tt_err tt_lake_part_begin(tt_lake_writer *w, const tt_table_def *t, const char *partition,
                          const char *part_id, tt_error *err) {
  tt_lake_part_abort(w);
  if (!valid_part_id(part_id))
    return tt_error_set(err, TT_INVALID, "invalid part id '%s' (want [A-Za-z0-9._-], <= 128)",
                        part_id);
  if (!valid_name(t->name)) return tt_error_set(err, TT_INVALID, "invalid table name");
  if (partition && (strlen(partition) >= sizeof w->partition || !strchr(partition, '=') ||
                    !valid_name(partition)))
    return tt_error_set(err, TT_INVALID, "invalid partition '%s' (want key=value)", partition);
  w->table = t;
  snprintf(w->part_id, sizeof w->part_id, "%s", part_id);
  snprintf(w->partition, sizeof w->partition, "%s", partition ? partition : "");

  /* A temp table per connection: staging is private to this writer. */
  size_t cap = 256 + t->ncolumns * 300;
  char *sql = malloc(cap);
  if (!sql) return tt_error_set(err, TT_NOMEM, "out of memory");
  snprintf(sql, cap, "CREATE OR REPLACE TEMP TABLE tt_stage (");
  for (size_t i = 0; i < t->ncolumns; i++) {
    if (i) strcat(sql, ", ");
    if (!valid_name(t->columns[i].name) || tt__sql_quote_ident(sql, cap, t->columns[i].name)) {
      free(sql);
      tt_error_set(err, TT_INVALID, "invalid column name");
      return tt_error_at(err, NULL, 0, t->columns[i].name);
    }
    strcat(sql, " ");
    strcat(sql, tt__lake_sql_type(t->columns[i].type));
  }
  strcat(sql, ")");
  tt_err rc = tt__lake_exec(w->con, sql, err);
  free(sql);
  if (rc) return rc;
  if (duckdb_appender_create(w->con, NULL, "tt_stage", &w->app) == DuckDBError) {
    tt_error_set(err, TT_DB, "cannot create appender: %s",
                 w->app ? duckdb_appender_error(w->app) : "?");
    tt_lake_part_abort(w);
    return TT_DB;
  }
  duckdb_logical_type *types = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *types);
  if (!types) return tt_error_set(err, TT_NOMEM, "out of memory");
  for (size_t i = 0; i < t->ncolumns; i++) {
    duckdb_type dt = DUCKDB_TYPE_VARCHAR;
    switch (t->columns[i].type) {
    case TT_TYPE_DOUBLE: dt = DUCKDB_TYPE_DOUBLE; break;
    case TT_TYPE_INT64: dt = DUCKDB_TYPE_BIGINT; break;
    case TT_TYPE_STRING: dt = DUCKDB_TYPE_VARCHAR; break;
    case TT_TYPE_BOOL: dt = DUCKDB_TYPE_BOOLEAN; break;
    case TT_TYPE_TIMESTAMP: dt = DUCKDB_TYPE_TIMESTAMP; break;
    }
    types[i] = duckdb_create_logical_type(dt);
  }
  w->chunk = duckdb_create_data_chunk(types, t->ncolumns);
  for (size_t i = 0; i < t->ncolumns; i++) duckdb_destroy_logical_type(&types[i]);
  free(types);
  if (!w->chunk) {
    tt_lake_part_abort(w);
    return tt_error_set(err, TT_NOMEM, "cannot create data chunk");
  }
  w->staging = 1;
  return TT_OK;
}

static tt_err note_day(tt_lake_writer *w, int64_t day, tt_error *err) {
  for (size_t i = w->ndays; i-- > 0;)
    if (w->days[i] == day) return TT_OK;
  if (w->ndays == w->cap_days) {
    size_t nc = w->cap_days ? w->cap_days * 2 : 16;
    int64_t *d = realloc(w->days, nc * sizeof *d);
    if (!d) return tt_error_set(err, TT_NOMEM, "out of memory");
    w->days = d;
    w->cap_days = nc;
  }
  w->days[w->ndays++] = day;
  return TT_OK;
}

tt_err tt_lake_part_append(tt_lake_writer *w, const tt_batch *b, tt_error *err) {
  if (!w->staging) return tt_error_set(err, TT_INVALID, "no part begun");
  const tt_table_def *t = w->table;
  if (b->ncols != t->ncolumns) return tt_error_set(err, TT_INVALID, "batch has %zu columns, table %s has %zu", b->ncols, t->name, t->ncolumns);
  for (size_t c = 0; c < b->ncols; c++)
    if (b->cols[c].type != t->columns[c].type) {
      tt_error_set(err, TT_INVALID, "batch column type %s, table wants %s",
                   tt_type_name(b->cols[c].type), tt_type_name(t->columns[c].type));
      return tt_error_at(err, NULL, 0, t->columns[c].name);
    }
  if (t->axis == TT_AXIS_TIMESTAMP) {
    const tt_vector *tv = &b->cols[t->time_index];
    int64_t last = INT64_MIN;
    for (size_t i = 0; i < b->nrows; i++) {
      if (!tv->valid[i]) {
        tt_error_set(err, TT_INVALID, "null time value in row %zu", i);
        return tt_error_at(err, NULL, 0, t->time_column);
      }
      int64_t d = tt_time_day(tv->v.i64[i]);
      if (d != last && note_day(w, d, err)) return TT_NOMEM;
      last = d;
    }
  }
  const idx_t vs = duckdb_vector_size();
  for (size_t off = 0; off < b->nrows; off += vs) {
    size_t n = b->nrows - off < vs ? b->nrows - off : vs;
    duckdb_data_chunk_reset(w->chunk);
    for (size_t c = 0; c < b->ncols; c++) {
      const tt_vector *src = &b->cols[c];
      duckdb_vector vec = duckdb_data_chunk_get_vector(w->chunk, c);
      void *data = duckdb_vector_get_data(vec);
      size_t nnull = 0;
      for (size_t i = 0; i < n; i++) nnull += !src->valid[off + i];
      switch (src->type) {
      case TT_TYPE_DOUBLE: memcpy(data, src->v.f64 + off, n * sizeof(double)); break;
      case TT_TYPE_INT64:
      case TT_TYPE_TIMESTAMP: memcpy(data, src->v.i64 + off, n * sizeof(int64_t)); break;
      case TT_TYPE_BOOL: {
        /* DuckDB's bool is one byte holding 0 or 1, like ours. */
        memcpy(data, src->v.b + off, n);
        break;
      }
      case TT_TYPE_STRING:
        for (size_t i = 0; i < n; i++)
          if (src->valid[off + i]) {
            const char *s = src->v.str[off + i];
            duckdb_vector_assign_string_element_len(vec, i, s, strlen(s));
          }
        break;
      }
      if (nnull) {
        duckdb_vector_ensure_validity_writable(vec);
        uint64_t *mask = duckdb_vector_get_validity(vec);
        for (size_t i = 0; i < n; i++)
          if (!src->valid[off + i]) duckdb_validity_set_row_invalid(mask, i);
      }
    }
    duckdb_data_chunk_set_size(w->chunk, n);
    if (duckdb_append_data_chunk(w->app, w->chunk) == DuckDBError) {
      tt_error_set(err, TT_DB, "append failed: %s", duckdb_appender_error(w->app));
      tt_lake_part_abort(w);
      return TT_DB;
    }
  }
  w->rows += b->nrows;
  return TT_OK;
}

/* mkdir -p dir, fsyncing each parent whose entry is new, so that a
 * committed file's directories survive a crash too. */
static tt_err make_dirs_durable(const char *root, const char *dir, tt_error *err) {
  char p[PATH_MAX];
  size_t rl = strlen(root);
  snprintf(p, sizeof p, "%s", dir);
  for (size_t i = rl + 1; ; i++) {
    if (p[i] == '/' || p[i] == '\0') {
      char saved = p[i];
      p[i] = '\0';
      if (mkdir(p, 0755) == 0) {
        if (tt_fsync_parent(p, err)) return TT_IO;
      } else if (errno != EEXIST) {
        tt_error_set(err, TT_IO, "cannot create directory: %s", strerror(errno));
        return tt_error_at(err, p, 0, NULL);
      }
      p[i] = saved;
      if (!saved) break;
    }
  }
  return TT_OK;
}

/* COPY (SELECT * FROM tt_stage [WHERE day]) TO tmp; commit to final. */
static tt_err write_file(tt_lake_writer *w, const char *dir, int has_day, int64_t day,
                         tt_lake_part_info *info, tt_error *err) {
  char final[PATH_MAX], tmp[PATH_MAX + 16];
  if (snprintf(final, sizeof final, "%s/part-%s.parquet", dir, w->part_id) >= (int)sizeof final)
    return tt_error_set(err, TT_INVALID, "path too long: %s", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", final);
  tt_err rc = make_dirs_durable(w->lake->root, dir, err);
  if (rc) return rc;
  char sql[PATH_MAX + 512] = "COPY (SELECT * FROM tt_stage";
  if (has_day && w->ndays > 1) {
    size_t n = strlen(sql);
    snprintf(sql + n, sizeof sql - n, " WHERE epoch_us(");
    tt__sql_quote_ident(sql, sizeof sql, w->table->time_column);
    n = strlen(sql);
    snprintf(sql + n, sizeof sql - n, ") BETWEEN %lld AND %lld",
             (long long)(day * TT_USEC_PER_DAY), (long long)((day + 1) * TT_USEC_PER_DAY - 1));
  }
  strcat(sql, ") TO ");
  if (tt__sql_quote_string(sql, sizeof sql, tmp) || strlen(sql) + 64 > sizeof sql)
    return tt_error_set(err, TT_INVALID, "path too long: %s", tmp);
  strcat(sql, " (FORMAT parquet, COMPRESSION zstd)");
  if ((rc = tt__lake_exec(w->con, sql, err)) != TT_OK) {
    unlink(tmp);
    return tt_error_at(err, final, 0, NULL);
  }
  if ((rc = tt_commit_file(tmp, final, err)) != TT_OK) {
    unlink(tmp);
    return rc;
  }
  struct stat st;
  if (info) {
    info->files++;
    if (stat(final, &st) == 0) info->bytes += (uint64_t)st.st_size;
  }
  return TT_OK;
}

tt_err tt_lake_part_commit(tt_lake_writer *w, tt_lake_part_info *info, tt_error *err) {
  if (info) memset(info, 0, sizeof *info);
  if (!w->staging) return tt_error_set(err, TT_INVALID, "no part begun");
  tt_err rc = TT_OK;
  if (duckdb_appender_close(w->app) == DuckDBError) {
    rc = tt_error_set(err, TT_DB, "appender close failed: %s", duckdb_appender_error(w->app));
    goto out;
  }
  if (w->rows == 0) goto out;
  char base[PATH_MAX];
  snprintf(base, sizeof base, "%s/%s%s%s", w->lake->root, w->table->name, w->partition[0] ? "/" : "",
           w->partition);
  if (w->table->axis == TT_AXIS_TIMESTAMP) {
    for (size_t i = 0; i < w->ndays && rc == TT_OK; i++) {
      char dir[PATH_MAX + 32], date[16];
      tt_time_format_date(w->days[i] * TT_USEC_PER_DAY, date, sizeof date);
      snprintf(dir, sizeof dir, "%s/date=%s", base, date);
      rc = write_file(w, dir, 1, w->days[i], info, err);
    }
  } else {
    rc = write_file(w, base, 0, 0, info, err);
  }
  if (rc == TT_OK && info) info->rows = w->rows;
out:
  tt_lake_part_abort(w);
  /* Keep the staging memory low between parts. */
  (void)tt__lake_exec(w->con, "DROP TABLE IF EXISTS tt_stage", NULL);
  return rc;
}

tt_err tt_lake_write_batch(tt_lake_writer *w, const tt_table_def *t, const char *partition,
                           const char *part_id, const tt_batch *b, tt_lake_part_info *info,
                           tt_error *err) {
  tt_err rc = tt_lake_part_begin(w, t, partition, part_id, err);
  if (!rc) rc = tt_lake_part_append(w, b, err);
  if (!rc) return tt_lake_part_commit(w, info, err);
  tt_lake_part_abort(w);
  return rc;
}
