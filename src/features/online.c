/* The online store: latest feature values per vehicle, kept current by
 * folding streamed events into the same engine states the offline builder
 * uses. This file: the shared update path and the in-process memory
 * backend (the embedded default). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "features/online.h"
#include "telltale/hash.h"
#include "telltale/log.h"

/* ---------------------------------------------------------------------- */
/* Memory backend: an open-addressing hash map vehicle -> entry.           */

typedef struct mem_entry {
  char *veh;
  tt_fstate *st;
  double *vals;
  tt_time as_of;
} mem_entry;

typedef struct mem_offset {
  char *source;
  uint64_t offset;
  struct mem_offset *next;
} mem_offset;

typedef struct mem {
  mem_entry *e;
  size_t n, cap;
  mem_offset *offsets;
} mem;

static uint64_t hash_str(const char *s) { return tt_hash64_str(s); }

static mem_entry *mem_find(mem *m, const char *veh, int create) {
  if (create && (m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    mem_entry *ne = calloc(cap, sizeof *ne);
    if (!ne) return NULL;
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->e[i].veh) continue;
      size_t j = hash_str(m->e[i].veh) & (cap - 1);
      while (ne[j].veh)
        j = (j + 1) & (cap - 1);
      ne[j] = m->e[i];
    }
    free(m->e);
    m->e = ne;
    m->cap = cap;
  }
  if (!m->cap) return NULL;
  size_t j = hash_str(veh) & (m->cap - 1);
  while (m->e[j].veh) {
    if (!strcmp(m->e[j].veh, veh)) return &m->e[j];
    j = (j + 1) & (m->cap - 1);
  }
  if (!create) return NULL;
  if (!(m->e[j].veh = strdup(veh))) return NULL;
  m->e[j].as_of = INT64_MIN;
  m->n++;
  return &m->e[j];
}

static tt_err mem_load(tt_online *on, size_t n, const char *const *veh, tt_fstate **st, int *owned,
                       tt_error *err) {
  mem *m = on->impl;
  *owned = 1;
  for (size_t i = 0; i < n; i++) {
    mem_entry *e = mem_find(m, veh[i], 1);
    if (!e || (!e->st && !(e->st = tt_fstate_new(on->eng))))
      return tt_error_set(err, TT_NOMEM, "out of memory");
    st[i] = e->st;
  }
  return TT_OK;
}

static tt_err mem_put(tt_online *on, const char *veh, const double *vals, tt_time as_of,
                      tt_error *err) {
  mem_entry *e = mem_find(on->impl, veh, 1);
  size_t nf = on->fs->nfeatures;
  if (!e || (!e->vals && !(e->vals = malloc(nf * sizeof *e->vals))))
    return tt_error_set(err, TT_NOMEM, "out of memory");
  memcpy(e->vals, vals, nf * sizeof *vals);
  e->as_of = as_of;
  return TT_OK;
}

static tt_err mem_commit(tt_online *on, size_t n, const char *const *veh, tt_fstate *const *st,
                         const double *vals, const tt_time *as_of, const char *source,
                         uint64_t offset, tt_error *err) {
  (void)st; /* the states were updated in place */
  mem *m = on->impl;
  size_t nf = on->fs->nfeatures;
  for (size_t i = 0; i < n; i++)
    if (mem_put(on, veh[i], vals + i * nf, as_of[i], err)) return TT_NOMEM;
  if (source) {
    mem_offset *o;
    for (o = m->offsets; o && strcmp(o->source, source); o = o->next) {
    }
    if (!o) {
      if (!(o = calloc(1, sizeof *o)) || !(o->source = strdup(source))) {
        free(o);
        return tt_error_set(err, TT_NOMEM, "out of memory");
      }
      o->next = m->offsets;
      m->offsets = o;
    }
    o->offset = offset;
  }
  return TT_OK;
}

static tt_err mem_get(tt_online *on, const char *veh, double *out, tt_time *as_of, tt_error *err) {
  mem_entry *e = mem_find(on->impl, veh, 0);
  if (!e || !e->vals)
    return tt_error_set(err, TT_NOTFOUND, "no online values for vehicle '%s'", veh);
  memcpy(out, e->vals, on->fs->nfeatures * sizeof *out);
  *as_of = e->as_of;
  return TT_OK;
}

static tt_err mem_offset_get(tt_online *on, const char *source, uint64_t *offset, tt_error *err) {
  (void)err;
  mem *m = on->impl;
  *offset = 0;
  for (mem_offset *o = m->offsets; o; o = o->next)
    if (!strcmp(o->source, source)) *offset = o->offset;
  return TT_OK;
}

static tt_err mem_stats(tt_online *on, uint64_t *vehicles, uint64_t *bytes, tt_error *err) {
  (void)err;
  mem *m = on->impl;
  uint64_t nv = 0, b = m->cap * sizeof(mem_entry);
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->e[i].veh) continue;
    if (m->e[i].vals) nv++;
    b += strlen(m->e[i].veh) + 1 + (m->e[i].vals ? on->fs->nfeatures * sizeof(double) : 0);
    if (m->e[i].st) b += tt_fstate_bytes(m->e[i].st);
  }
  *vehicles = nv;
  *bytes = b;
  return TT_OK;
}

static void mem_close(tt_online *on) {
  mem *m = on->impl;
  if (!m) return;
  for (size_t i = 0; i < m->cap; i++) {
    free(m->e[i].veh);
    tt_fstate_destroy(m->e[i].st);
    free(m->e[i].vals);
  }
  free(m->e);
  while (m->offsets) {
    mem_offset *o = m->offsets;
    m->offsets = o->next;
    free(o->source);
    free(o);
  }
  free(m);
}

static const tt__online_backend mem_backend = {mem_load,       mem_commit, mem_get,  mem_put,
                                               mem_offset_get, mem_stats,  mem_close};

/* ---------------------------------------------------------------------- */

tt_err tt_online_open(const char *url, const tt_fengine *eng, const tt_feature_set *fs,
                      int ttl_seconds, tt_online **out, tt_error *err) {
  return tt__online_open_ns(url, "f", eng, fs, ttl_seconds, out, err);
}

tt_err tt__online_open_ns(const char *url, const char *ns, const tt_fengine *eng,
                          const tt_feature_set *fs, int ttl_seconds, tt_online **out,
                          tt_error *err) {
  *out = NULL;
  tt_online *on = calloc(1, sizeof *on);
  if (!on) return tt_error_set(err, TT_NOMEM, "out of memory");
  snprintf(on->ns, sizeof on->ns, "%s", ns);
  on->eng = eng;
  on->fs = fs;
  on->ttl = ttl_seconds;
  tt_err rc = TT_OK;
  if (!strncmp(url, "memory:", 7)) {
    on->be = &mem_backend;
    if (!(on->impl = calloc(1, sizeof(mem)))) rc = tt_error_set(err, TT_NOMEM, "out of memory");
  } else if (!strncmp(url, "redis://", 8)) {
    rc = tt__online_redis_open(on, url, err);
  } else {
    rc = tt_error_set(err, TT_CONFIG,
                      "unknown online store '%s' (memory: or redis://host:port[/db])", url);
    tt_error_at(err, NULL, 0, "online_store");
  }
  if (rc) {
    if (on->be) on->be->close(on);
    free(on);
    return rc;
  }
  *out = on;
  return TT_OK;
}

void tt_online_close(tt_online *on) {
  if (!on) return;
  on->be->close(on);
  free(on);
}

typedef struct row_ref {
  const char *veh;
  size_t row;
} row_ref;

static int cmp_row(const void *a, const void *b) {
  const row_ref *x = a, *y = b;
  int c = strcmp(x->veh, y->veh);
  if (c) return c;
  return x->row < y->row ? -1 : x->row > y->row;
}

tt_err tt_online_update(tt_online *on, const char *table, const tt_batch *b, const char *source,
                        uint64_t offset_after, tt_error *err) {
  const tt_feature_set *fs = on->fs;
  size_t nf = fs->nfeatures;
  int ecol = tt_batch_column(b, fs->entity);
  if (ecol < 0 || b->cols[ecol].type != TT_TYPE_STRING) {
    tt_error_set(err, TT_SCHEMA, "table '%s' has no string column '%s'", table, fs->entity);
    return tt_error_at(err, NULL, 0, fs->entity);
  }
  tt_err rc = TT_OK;
  row_ref *rows = malloc((b->nrows + 1) * sizeof *rows);
  const char **veh = malloc((b->nrows + 1) * sizeof *veh);
  size_t *start = malloc((b->nrows + 2) * sizeof *start);
  tt_fstate **st = calloc(b->nrows + 1, sizeof *st);
  double *vals = malloc((b->nrows + 1) * (nf ? nf : 1) * sizeof *vals);
  tt_time *as_of = malloc((b->nrows + 1) * sizeof *as_of);
  tt__binding *bd = tt__fengine_bind(on->eng, table, b, err);
  size_t ng = 0;
  int owned = 1;
  if (!bd) {
    rc = err ? err->code : TT_SCHEMA;
    goto out;
  }
  if (!rows || !veh || !start || !st || !vals || !as_of) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  /* Group rows by vehicle, keeping arrival order within a vehicle. */
  for (size_t r = 0; r < b->nrows; r++) {
    if (!b->cols[ecol].valid[r]) {
      rc = tt_error_set(err, TT_INVALID, "row %zu has no %s", r + 1, fs->entity);
      tt_error_at(err, NULL, (long)r + 1, fs->entity);
      goto out;
    }
    rows[r].veh = b->cols[ecol].v.str[r];
    rows[r].row = r;
  }
  qsort(rows, b->nrows, sizeof *rows, cmp_row);
  for (size_t r = 0; r < b->nrows; r++)
    if (!r || strcmp(rows[r].veh, rows[r - 1].veh)) {
      start[ng] = r;
      veh[ng++] = rows[r].veh;
    }
  start[ng] = b->nrows;
  if (bd->table >= 0 && ng) {
    if ((rc = on->be->load(on, ng, veh, st, &owned, err))) goto out;
    for (size_t g = 0; g < ng; g++) {
      for (size_t r = start[g]; r < start[g + 1]; r++)
        if ((rc = tt__fengine_fold_row(on->eng, bd, st[g], b, rows[r].row, err))) goto out;
      as_of[g] = tt_fstate_latest(st[g]);
      if ((rc = tt_fengine_eval(on->eng, st[g], as_of[g], vals + g * nf, err))) goto out;
    }
  } else {
    ng = 0; /* rows of a table the set does not read: only the offset moves */
  }
  rc = on->be->commit(on, ng, veh, st, vals, as_of, source, offset_after, err);
out:
  if (!owned)
    for (size_t g = 0; g < ng; g++)
      tt_fstate_destroy(st[g]);
  free(bd);
  free(rows);
  free(veh);
  free(start);
  free(st);
  free(vals);
  free(as_of);
  return rc;
}

tt_err tt_online_offset(tt_online *on, const char *source, uint64_t *offset, tt_error *err) {
  return on->be->offset(on, source, offset, err);
}

tt_err tt_online_get(tt_online *on, const char *vehicle_id, double *out, tt_time *as_of,
                     tt_error *err) {
  return on->be->get(on, vehicle_id, out, as_of, err);
}

tt_err tt_online_put(tt_online *on, const char *vehicle_id, const double *vals, tt_time as_of,
                     tt_error *err) {
  return on->be->put(on, vehicle_id, vals, as_of, err);
}

tt_err tt_online_stats(tt_online *on, uint64_t *vehicles, uint64_t *bytes, tt_error *err) {
  return on->be->stats(on, vehicles, bytes, err);
}

/* ---------------------------------------------------------------------- */

/* Sleep before retry `attempt` (0-based): 100 ms doubling up to 3.2 s. */
static void retry_sleep(int attempt) {
  long ms = 100L << (attempt < 5 ? attempt : 5);
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

tt_err tt_features_stream(tt_online *on, tt_feature_source *src, int max_retries,
                          tt_features_stream_stats *stats, tt_error *err) {
  memset(stats, 0, sizeof *stats);
  uint64_t off = 0;
  tt_err rc = TT_OK;
  if (src->attach) {
    /* Multi-position source: it reads each key's stored position itself. */
    if ((rc = src->attach(src->ctx, on, max_retries, err))) return rc;
  } else {
    for (int attempt = 0;; attempt++) {
      rc = tt_online_offset(on, src->id, &off, err);
      if (rc != TT_REDIS || attempt >= max_retries) break;
      retry_sleep(0);
    }
    if (rc) return rc;
    if (off && (rc = src->seek(src->ctx, off, err))) return rc;
  }
  stats->resumed_at = off;
  for (;;) {
    const char *table;
    const tt_batch *b;
    uint64_t after;
    int r = src->next(src->ctx, &table, &b, &after, err);
    if (r < 0) return err ? err->code : TT_IO;
    if (r == 0) break;
    const char *key = src->batch_key ? src->batch_key(src->ctx) : src->id;
    for (int attempt = 0;; attempt++) {
      rc = tt_online_update(on, table, b, key, after, err);
      if (rc == TT_OK) break;
      if (rc != TT_REDIS || attempt >= max_retries || (src->stop && *src->stop)) return rc;
      stats->retries++;
      tt_warn("features", "online store failed (%s); retry %d in %ld ms", err ? err->msg : "",
              attempt + 1, 100L << (attempt < 5 ? attempt : 5));
      retry_sleep(attempt);
      /* The reply of a successful MULTI/EXEC may have been lost: if the
       * stored offset moved past this batch, it was applied. */
      uint64_t now = 0;
      tt_error e2;
      if (tt_online_offset(on, key, &now, &e2) == TT_OK && now >= after) {
        rc = TT_OK;
        break;
      }
    }
    stats->events += b->nrows;
    stats->batches++;
  }
  if (src->counters) src->counters(src->ctx, &stats->invalid, &stats->skipped);
  return TT_OK;
}
