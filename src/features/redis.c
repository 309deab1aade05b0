/* The Redis online store (hiredis).
 *
 * Key layout, one hash per vehicle per feature-set version:
 *   tt:f:<set>:<version12>:<vehicle_id>
 *     t     as-of time of the values (int64, axis units: µs for timestamps)
 *     s     the engine state (tiles, tt_fstate_save format), so that a
 *           restarted or rebalanced process resumes exactly
 *     0..N-1  feature i's value as "%.17g" text (exact round trip), "" when
 *           missing; i is the feature's position in the definition
 *   optional TTL (EXPIRE) on each vehicle key
 *   tt:fo:<set>:<version12>   hash: source id -> offset after the last
 *                             applied batch (written in the same MULTI/EXEC
 *                             as the states, so both move together)
 * A new definition version gets new keys: old and new can be served side
 * by side during a roll-out. */
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/online.h"

typedef struct rds {
  redisContext *c;
  char host[256];
  int port, db;
  char prefix[300], okey[300];
} rds;

static tt_err conn_error(rds *r, tt_error *err, const char *what) {
  tt_err rc = tt_error_set(err, TT_REDIS, "redis %s:%d: %s: %s", r->host, r->port, what,
                           r->c && r->c->err ? r->c->errstr : "connection lost");
  if (r->c) {
    redisFree(r->c);
    r->c = NULL; /* reconnect on the next call */
  }
  return rc;
}

static tt_err ensure(rds *r, tt_error *err) {
  if (r->c && !r->c->err) return TT_OK;
  if (r->c) redisFree(r->c);
  struct timeval tv = {2, 0};
  r->c = redisConnectWithTimeout(r->host, r->port, tv);
  if (!r->c || r->c->err) return conn_error(r, err, "connect");
  redisSetTimeout(r->c, tv);
  if (r->db) {
    redisReply *rep = redisCommand(r->c, "SELECT %d", r->db);
    int bad = !rep || rep->type == REDIS_REPLY_ERROR;
    if (rep) freeReplyObject(rep);
    if (bad) return conn_error(r, err, "SELECT");
  }
  return TT_OK;
}

static void vkey(rds *r, const char *veh, char *buf, size_t size) {
  snprintf(buf, size, "%s%s", r->prefix, veh);
}

static tt_err r_load(tt_online *on, size_t n, const char *const *veh, tt_fstate **st, int *owned,
                     tt_error *err) {
  rds *r = on->impl;
  *owned = 0;
  for (size_t i = 0; i < n; i++)
    if (!(st[i] = tt_fstate_new(on->eng))) return tt_error_set(err, TT_NOMEM, "out of memory");
  if (ensure(r, err)) return TT_REDIS;
  char key[1400];
  for (size_t i = 0; i < n; i++) {
    vkey(r, veh[i], key, sizeof key);
    redisAppendCommand(r->c, "HGET %s s", key);
  }
  tt_err rc = TT_OK;
  for (size_t i = 0; i < n; i++) {
    redisReply *rep = NULL;
    if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) return conn_error(r, err, "HGET");
    if (rep->type == REDIS_REPLY_STRING && rc == TT_OK) {
      rc = tt_fstate_load(on->eng, st[i], (const unsigned char *)rep->str, rep->len, err);
      if (rc) tt_error_at(err, NULL, 0, veh[i]);
    } else if (rep->type == REDIS_REPLY_ERROR && rc == TT_OK) {
      rc = tt_error_set(err, TT_REDIS, "redis: %s", rep->str);
    }
    freeReplyObject(rep);
  }
  return rc;
}

/* HSET key t <as_of> [s <state>] 0 <v0> 1 <v1> … appended to the pipeline. */
static tt_err append_hset(tt_online *on, rds *r, const char *veh, const unsigned char *state,
                          size_t slen, const double *vals, tt_time as_of, tt_error *err) {
  size_t nf = on->fs->nfeatures, argc = 0;
  size_t cap = 6 + 2 * nf;
  const char **argv = malloc(cap * sizeof *argv);
  size_t *lens = malloc(cap * sizeof *lens);
  char *text = malloc((nf + 1) * 64 + 1400);
  if (!argv || !lens || !text) {
    free(argv);
    free(lens);
    free(text);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  char *p = text;
  argv[argc] = "HSET", lens[argc++] = 4;
  vkey(r, veh, p, 1400);
  argv[argc] = p, lens[argc++] = strlen(p);
  p += strlen(p) + 1;
  argv[argc] = "t", lens[argc++] = 1;
  int w = sprintf(p, "%lld", (long long)as_of);
  argv[argc] = p, lens[argc++] = (size_t)w;
  p += w + 1;
  if (state) {
    argv[argc] = "s", lens[argc++] = 1;
    argv[argc] = (const char *)state, lens[argc++] = slen;
  }
  for (size_t i = 0; i < nf; i++) {
    w = sprintf(p, "%zu", i);
    argv[argc] = p, lens[argc++] = (size_t)w;
    p += w + 1;
    w = isnan(vals[i]) ? (*p = '\0', 0) : sprintf(p, "%.17g", vals[i]);
    argv[argc] = p, lens[argc++] = (size_t)w;
    p += w + 1;
  }
  redisAppendCommandArgv(r->c, (int)argc, argv, lens);
  if (on->ttl > 0) redisAppendCommand(r->c, "EXPIRE %b %d", argv[1], lens[1], on->ttl);
  free(argv);
  free(lens);
  free(text);
  return TT_OK;
}

/* Read the replies of MULTI … EXEC (nqueued commands in between). */
static tt_err read_exec(rds *r, size_t nqueued, tt_error *err) {
  tt_err rc = TT_OK;
  for (size_t i = 0; i < nqueued + 2; i++) {
    redisReply *rep = NULL;
    if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) return conn_error(r, err, "EXEC");
    if (rep->type == REDIS_REPLY_ERROR && rc == TT_OK)
      rc = tt_error_set(err, TT_REDIS, "redis: %s", rep->str);
    if (i == nqueued + 1 && rep->type != REDIS_REPLY_ARRAY && rc == TT_OK)
      rc = tt_error_set(err, TT_REDIS, "redis: transaction aborted");
    if (i == nqueued + 1 && rep->type == REDIS_REPLY_ARRAY)
      for (size_t k = 0; k < rep->elements; k++)
        if (rep->element[k]->type == REDIS_REPLY_ERROR && rc == TT_OK)
          rc = tt_error_set(err, TT_REDIS, "redis: %s", rep->element[k]->str);
    freeReplyObject(rep);
  }
  return rc;
}

static tt_err r_commit(tt_online *on, size_t n, const char *const *veh, tt_fstate *const *st,
                       const double *vals, const tt_time *as_of, const char *source,
                       uint64_t offset, tt_error *err) {
  rds *r = on->impl;
  if (ensure(r, err)) return TT_REDIS;
  size_t nf = on->fs->nfeatures, queued = 0;
  redisAppendCommand(r->c, "MULTI");
  tt_err rc = TT_OK;
  for (size_t i = 0; i < n && rc == TT_OK; i++) {
    unsigned char *blob = NULL;
    size_t len = 0;
    if ((rc = tt_fstate_save(on->eng, st[i], &blob, &len, err))) break;
    rc = append_hset(on, r, veh[i], blob, len, vals + i * nf, as_of[i], err);
    free(blob);
    queued += on->ttl > 0 ? 2 : 1;
  }
  if (source) {
    redisAppendCommand(r->c, "HSET %s %s %llu", r->okey, source, (unsigned long long)offset);
    queued++;
  }
  if (rc) {
    /* The pipeline holds a half-built transaction: drop the connection so
     * that nothing of it is executed. */
    redisFree(r->c);
    r->c = NULL;
    return rc;
  }
  redisAppendCommand(r->c, "EXEC");
  return read_exec(r, queued, err);
}

static tt_err r_get(tt_online *on, const char *veh, double *out, tt_time *as_of, tt_error *err) {
  rds *r = on->impl;
  if (ensure(r, err)) return TT_REDIS;
  size_t nf = on->fs->nfeatures;
  const char **argv = malloc((nf + 3) * sizeof *argv);
  size_t *lens = malloc((nf + 3) * sizeof *lens);
  char *names = malloc(nf * 12 + 1400);
  if (!argv || !lens || !names) {
    free(argv), free(lens), free(names);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  char *p = names;
  argv[0] = "HMGET", lens[0] = 5;
  vkey(r, veh, p, 1400);
  argv[1] = p, lens[1] = strlen(p);
  p += lens[1] + 1;
  argv[2] = "t", lens[2] = 1;
  for (size_t i = 0; i < nf; i++) {
    int w = sprintf(p, "%zu", i);
    argv[3 + i] = p, lens[3 + i] = (size_t)w;
    p += w + 1;
  }
  redisReply *rep = redisCommandArgv(r->c, (int)nf + 3, argv, lens);
  free(argv), free(lens), free(names);
  if (!rep) return conn_error(r, err, "HMGET");
  tt_err rc = TT_OK;
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != nf + 1) {
    rc = tt_error_set(err, TT_REDIS, "redis: unexpected HMGET reply");
  } else if (rep->element[0]->type != REDIS_REPLY_STRING) {
    rc = tt_error_set(err, TT_NOTFOUND, "no online values for vehicle '%s'", veh);
  } else {
    *as_of = strtoll(rep->element[0]->str, NULL, 10);
    for (size_t i = 0; i < nf; i++) {
      redisReply *e = rep->element[i + 1];
      out[i] = e->type == REDIS_REPLY_STRING && e->len ? strtod(e->str, NULL) : NAN;
    }
  }
  freeReplyObject(rep);
  return rc;
}

static tt_err r_put(tt_online *on, const char *veh, const double *vals, tt_time as_of,
                    tt_error *err) {
  rds *r = on->impl;
  if (ensure(r, err)) return TT_REDIS;
  tt_err rc = append_hset(on, r, veh, NULL, 0, vals, as_of, err);
  if (rc) return rc;
  for (int i = 0; i < (on->ttl > 0 ? 2 : 1); i++) {
    redisReply *rep = NULL;
    if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || !rep) return conn_error(r, err, "HSET");
    if (rep->type == REDIS_REPLY_ERROR && rc == TT_OK)
      rc = tt_error_set(err, TT_REDIS, "redis: %s", rep->str);
    freeReplyObject(rep);
  }
  return rc;
}

static tt_err r_offset(tt_online *on, const char *source, uint64_t *offset, tt_error *err) {
  rds *r = on->impl;
  *offset = 0;
  if (ensure(r, err)) return TT_REDIS;
  redisReply *rep = redisCommand(r->c, "HGET %s %s", r->okey, source);
  if (!rep) return conn_error(r, err, "HGET");
  tt_err rc = TT_OK;
  if (rep->type == REDIS_REPLY_STRING)
    *offset = strtoull(rep->str, NULL, 10);
  else if (rep->type == REDIS_REPLY_ERROR)
    rc = tt_error_set(err, TT_REDIS, "redis: %s", rep->str);
  freeReplyObject(rep);
  return rc;
}

static tt_err r_stats(tt_online *on, uint64_t *vehicles, uint64_t *bytes, tt_error *err) {
  rds *r = on->impl;
  *vehicles = *bytes = 0;
  if (ensure(r, err)) return TT_REDIS;
  char cursor[64] = "0", pattern[400];
  snprintf(pattern, sizeof pattern, "%s*", r->prefix);
  do {
    redisReply *rep = redisCommand(r->c, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
    if (!rep) return conn_error(r, err, "SCAN");
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
      freeReplyObject(rep);
      return tt_error_set(err, TT_REDIS, "redis: unexpected SCAN reply");
    }
    snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
    redisReply *keys = rep->element[1];
    for (size_t i = 0; i < keys->elements; i++)
      redisAppendCommand(r->c, "MEMORY USAGE %b SAMPLES 0", keys->element[i]->str,
                         keys->element[i]->len);
    for (size_t i = 0; i < keys->elements; i++) {
      redisReply *m = NULL;
      if (redisGetReply(r->c, (void **)&m) != REDIS_OK || !m) {
        freeReplyObject(rep);
        return conn_error(r, err, "MEMORY USAGE");
      }
      if (m->type == REDIS_REPLY_INTEGER) *bytes += (uint64_t)m->integer;
      freeReplyObject(m);
      (*vehicles)++;
    }
    freeReplyObject(rep);
  } while (strcmp(cursor, "0"));
  return TT_OK;
}

static void r_close(tt_online *on) {
  rds *r = on->impl;
  if (!r) return;
  if (r->c) redisFree(r->c);
  free(r);
}

static const tt__online_backend redis_backend = {r_load,   r_commit, r_get,  r_put,
                                                 r_offset, r_stats,  r_close};

tt_err tt__online_redis_open(tt_online *on, const char *url, tt_error *err) {
  rds *r = calloc(1, sizeof *r);
  if (!r) return tt_error_set(err, TT_NOMEM, "out of memory");
  on->be = &redis_backend;
  on->impl = r;
  const char *h = url + strlen("redis://");
  const char *colon = strchr(h, ':'), *slash = strchr(h, '/');
  size_t hl = colon ? (size_t)(colon - h) : slash ? (size_t)(slash - h) : strlen(h);
  if (hl == 0 || hl >= sizeof r->host) {
    tt_error_set(err, TT_CONFIG, "bad Redis URL '%s' (redis://host:port[/db])", url);
    return tt_error_at(err, NULL, 0, "online_store");
  }
  memcpy(r->host, h, hl);
  r->port = colon ? atoi(colon + 1) : 6379;
  r->db = slash ? atoi(slash + 1) : 0;
  if (r->port <= 0 || r->port > 65535) {
    tt_error_set(err, TT_CONFIG, "bad port in Redis URL '%s'", url);
    return tt_error_at(err, NULL, 0, "online_store");
  }
  snprintf(r->prefix, sizeof r->prefix, "tt:%s:%s:%s:", on->ns, on->fs->name,
           on->fs->short_version);
  snprintf(r->okey, sizeof r->okey, "tt:%so:%s:%s", on->ns, on->fs->name, on->fs->short_version);
  return ensure(r, err);
}
