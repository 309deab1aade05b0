/* The part writer: batches → staged in memory as column copies → DuckDB
 * reads them through a table function (tt__stage_scan, whole vectors per
 * data chunk, no per-value appender and no table insert) in
 * COPY (SELECT * FROM tt__stage_scan(…)) TO … (FORMAT parquet) → one zstd
 * Parquet file per date partition, each written under a temporary name,
 * fsynced, renamed, directory fsynced. See src/lake/README.md. */
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
  int slot;          /* in lake->writers: how the scan function finds us */
  int64_t token;     /* must match, so SQL cannot name another writer */
  /* The part being written. */
  const tt_table_def *table;
  char part_id[129];
  char partition[256];
  int staging;       /* a part is begun */
  uint64_t rows;     /* staged */
  tt_batch **segs;   /* staged copies of the appended batches */
  size_t nsegs, cap_segs;
  int64_t *days;     /* distinct days staged (timestamp axis) */
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
  w->slot = -1;
  pthread_mutex_lock(&lake->mu);
  for (int i = 0; i < TT__LAKE_MAX_WRITERS; i++)
    if (!lake->writers[i]) {
      lake->writers[i] = w;
      w->slot = i;
      w->token = (int64_t)(++lake->token_seq * 2654435761u) ^ (int64_t)(uintptr_t)w;
      break;
    }
  pthread_mutex_unlock(&lake->mu);
  if (w->slot < 0) {
    free(w);
    return tt_error_set(err, TT_LIMIT, "more than %d lake writers", TT__LAKE_MAX_WRITERS);
  }
  if (duckdb_connect(lake->db, &w->con) == DuckDBError) {
    tt_lake_writer_destroy(w);
    return tt_error_set(err, TT_DB, "cannot connect to DuckDB");
  }
  *out = w;
  return TT_OK;
}

void tt_lake_part_abort(tt_lake_writer *w) {
  for (size_t i = 0; i < w->nsegs; i++) tt_batch_destroy(w->segs[i]);
  w->nsegs = 0;
  w->staging = 0;
  w->rows = 0;
  w->ndays = 0;
}

void tt_lake_writer_destroy(tt_lake_writer *w) {
  if (!w) return;
  tt_lake_part_abort(w);
  if (w->con) duckdb_disconnect(&w->con);
  if (w->slot >= 0) {
    pthread_mutex_lock(&w->lake->mu);
    w->lake->writers[w->slot] = NULL;
    pthread_mutex_unlock(&w->lake->mu);
  }
  free(w->segs);
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

  for (size_t i = 0; i < t->ncolumns; i++)
    if (!valid_name(t->columns[i].name)) {
      tt_error_set(err, TT_INVALID, "invalid column name");
      return tt_error_at(err, NULL, 0, t->columns[i].name);
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
  if (b->nrows == 0) return TT_OK;
  /* Copy: the caller may reset b at once. Fixed-width columns are one
   * memcpy each; strings go into the copy's arena. */
  tt_batch *c = tt_lake_batch_new(t, b->nrows);
  if (!c) return tt_error_set(err, TT_NOMEM, "out of memory");
  for (size_t col = 0; col < b->ncols; col++) {
    const tt_vector *src = &b->cols[col];
    tt_vector *dst = &c->cols[col];
    memcpy(dst->valid, src->valid, b->nrows);
    switch (src->type) {
    case TT_TYPE_DOUBLE: memcpy(dst->v.f64, src->v.f64, b->nrows * sizeof(double)); break;
    case TT_TYPE_INT64:
    case TT_TYPE_TIMESTAMP: memcpy(dst->v.i64, src->v.i64, b->nrows * sizeof(int64_t)); break;
    case TT_TYPE_BOOL: memcpy(dst->v.b, src->v.b, b->nrows); break;
    case TT_TYPE_STRING: break;
    }
  }
  c->nrows = b->nrows;
  for (size_t col = 0; col < b->ncols; col++) {
    if (b->cols[col].type != TT_TYPE_STRING) continue;
    for (size_t i = 0; i < b->nrows; i++)
      if (b->cols[col].valid[i]) {
        const char *str = b->cols[col].v.str[i];
        if (tt_batch_set_string(c, col, i, str, strlen(str)) != TT_OK) {
          tt_batch_destroy(c);
          return tt_error_set(err, TT_NOMEM, "out of memory");
        }
      }
  }
  if (w->nsegs == w->cap_segs) {
    size_t nc = w->cap_segs ? w->cap_segs * 2 : 16;
    tt_batch **ns = realloc(w->segs, nc * sizeof *ns);
    if (!ns) {
      tt_batch_destroy(c);
      return tt_error_set(err, TT_NOMEM, "out of memory");
    }
    w->segs = ns;
    w->cap_segs = nc;
  }
  w->segs[w->nsegs++] = c;
  w->rows += b->nrows;
  return TT_OK;
}

/* ---- the scan function: DuckDB reads the staged segments ------------- */

typedef struct scan_bind {
  tt_lake_writer *w;
  int has_day;
  int64_t day;
} scan_bind;

typedef struct scan_state {
  size_t seg, row;
} scan_state;

static duckdb_type duck_type(tt_type t) {
  switch (t) {
  case TT_TYPE_DOUBLE: return DUCKDB_TYPE_DOUBLE;
  case TT_TYPE_INT64: return DUCKDB_TYPE_BIGINT;
  case TT_TYPE_STRING: return DUCKDB_TYPE_VARCHAR;
  case TT_TYPE_BOOL: return DUCKDB_TYPE_BOOLEAN;
  case TT_TYPE_TIMESTAMP: return DUCKDB_TYPE_TIMESTAMP;
  }
  return DUCKDB_TYPE_VARCHAR;
}

static void scan_bind_fn(duckdb_bind_info info) {
  tt_lake *lake = duckdb_bind_get_extra_info(info);
  int64_t p[4];
  for (idx_t i = 0; i < 4; i++) {
    duckdb_value v = duckdb_bind_get_parameter(info, i);
    p[i] = duckdb_get_int64(v);
    duckdb_destroy_value(&v);
  }
  tt_lake_writer *w = NULL;
  pthread_mutex_lock(&lake->mu);
  if (p[0] >= 0 && p[0] < TT__LAKE_MAX_WRITERS && lake->writers[p[0]] &&
      lake->writers[p[0]]->token == p[1])
    w = lake->writers[p[0]];
  pthread_mutex_unlock(&lake->mu);
  if (!w || !w->staging) {
    duckdb_bind_set_error(info, "tt__stage_scan: no such staged part (internal to telltale)");
    return;
  }
  scan_bind *sb = malloc(sizeof *sb);
  if (!sb) {
    duckdb_bind_set_error(info, "out of memory");
    return;
  }
  sb->w = w;
  sb->has_day = p[2] != 0;
  sb->day = p[3];
  for (size_t i = 0; i < w->table->ncolumns; i++) {
    duckdb_logical_type lt = duckdb_create_logical_type(duck_type(w->table->columns[i].type));
    duckdb_bind_add_result_column(info, w->table->columns[i].name, lt);
    duckdb_destroy_logical_type(&lt);
  }
  duckdb_bind_set_bind_data(info, sb, free);
}

static void scan_init_fn(duckdb_init_info info) {
  scan_state *st = calloc(1, sizeof *st);
  if (!st) {
    duckdb_init_set_error(info, "out of memory");
    return;
  }
  duckdb_init_set_init_data(info, st, free);
}

/* Fill one output chunk from the current segment: the rows of the day
 * (or all), whole vectors at a time when nothing is filtered. */
static void scan_fn(duckdb_function_info info, duckdb_data_chunk out) {
  scan_bind *sb = duckdb_function_get_bind_data(info);
  scan_state *st = duckdb_function_get_init_data(info);
  tt_lake_writer *w = sb->w;
  const idx_t vs = duckdb_vector_size();
  uint32_t idx[4096];
  size_t n = 0;
  const tt_batch *b = NULL;
  while (st->seg < w->nsegs) {
    b = w->segs[st->seg];
    if (sb->has_day) {
      const int64_t *ts = b->cols[w->table->time_index].v.i64;
      while (st->row < b->nrows && n < vs && n < 4096) {
        if (tt_time_day(ts[st->row]) == sb->day) idx[n++] = (uint32_t)st->row;
        st->row++;
      }
    } else {
      while (st->row < b->nrows && n < vs && n < 4096) idx[n++] = (uint32_t)st->row++;
    }
    if (n) break;
    st->seg++;
    st->row = 0;
  }
  if (n == 0) {
    duckdb_data_chunk_set_size(out, 0);
    return;
  }
  if (st->row >= b->nrows) st->seg++, st->row = 0;
  int contiguous = idx[n - 1] - idx[0] == n - 1;
  for (size_t c = 0; c < b->ncols; c++) {
    const tt_vector *src = &b->cols[c];
    duckdb_vector vec = duckdb_data_chunk_get_vector(out, c);
    void *data = duckdb_vector_get_data(vec);
    size_t first = idx[0];
    switch (src->type) {
    case TT_TYPE_DOUBLE:
      if (contiguous) memcpy(data, src->v.f64 + first, n * sizeof(double));
      else for (size_t i = 0; i < n; i++) ((double *)data)[i] = src->v.f64[idx[i]];
      break;
    case TT_TYPE_INT64:
    case TT_TYPE_TIMESTAMP:
      if (contiguous) memcpy(data, src->v.i64 + first, n * sizeof(int64_t));
      else for (size_t i = 0; i < n; i++) ((int64_t *)data)[i] = src->v.i64[idx[i]];
      break;
    case TT_TYPE_BOOL: /* DuckDB's bool is one byte holding 0 or 1, like ours */
      if (contiguous) memcpy(data, src->v.b + first, n);
      else for (size_t i = 0; i < n; i++) ((uint8_t *)data)[i] = src->v.b[idx[i]];
      break;
    case TT_TYPE_STRING:
      for (size_t i = 0; i < n; i++)
        if (src->valid[idx[i]]) {
          const char *s = src->v.str[idx[i]];
          duckdb_vector_assign_string_element_len(vec, i, s, strlen(s));
        }
      break;
    }
    uint64_t *mask = NULL;
    for (size_t i = 0; i < n; i++)
      if (!src->valid[idx[i]]) {
        if (!mask) {
          duckdb_vector_ensure_validity_writable(vec);
          mask = duckdb_vector_get_validity(vec);
        }
        duckdb_validity_set_row_invalid(mask, i);
      }
  }
  duckdb_data_chunk_set_size(out, n);
}

tt_err tt__lake_register_scan(tt_lake *lake, tt_error *err) {
  duckdb_table_function tf = duckdb_create_table_function();
  duckdb_table_function_set_name(tf, "tt__stage_scan");
  duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  for (int i = 0; i < 4; i++) duckdb_table_function_add_parameter(tf, bigint);
  duckdb_destroy_logical_type(&bigint);
  duckdb_table_function_set_extra_info(tf, lake, NULL);
  duckdb_table_function_set_bind(tf, scan_bind_fn);
  duckdb_table_function_set_init(tf, scan_init_fn);
  duckdb_table_function_set_function(tf, scan_fn);
  duckdb_state st = duckdb_register_table_function(lake->con, tf);
  duckdb_destroy_table_function(&tf);
  if (st == DuckDBError) return tt_error_set(err, TT_DB, "cannot register the stage scan function");
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

/* COPY (the staged rows [of one day]) TO tmp; commit tmp to final. */
static tt_err write_file(tt_lake_writer *w, const char *dir, int has_day, int64_t day,
                         tt_lake_part_info *info, tt_error *err) {
  char final[PATH_MAX], tmp[PATH_MAX + 16];
  if (snprintf(final, sizeof final, "%s/part-%s.parquet", dir, w->part_id) >= (int)sizeof final)
    return tt_error_set(err, TT_INVALID, "path too long: %s", dir);
  /* The pid in the temporary name lets two runs over the same input work
   * side by side: each renames an identical file into place. */
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", final, (long)getpid());
  unlink(tmp); /* left by a killed run with the same pid */
  tt_err rc = make_dirs_durable(w->lake->root, dir, err);
  if (rc) return rc;
  char sql[PATH_MAX + 512];
  snprintf(sql, sizeof sql, "COPY (SELECT * FROM tt__stage_scan(%d, %lld, %d, %lld)",
           w->slot, (long long)w->token, has_day && w->ndays > 1, (long long)day);
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
