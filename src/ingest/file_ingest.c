/* File ingest: inputs → chunks → worker threads → lake parts + done-markers.
 *
 * The main thread plans: it reads each file once, sequentially, counting
 * lines and cutting it into chunks of about chunk_bytes at line ends, and
 * queues them. Workers parse and validate each chunk into its own data part
 * and dead-letter part (deterministic ids from the file's identity and the
 * byte range), commit both, then write the chunk's done-marker. A re-run
 * skips chunks that have a marker and rewrites (same names) those that do
 * not, so every record ends up in the lake exactly once. See README.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "ingest/ingest_internal.h"
#include "telltale/hash.h"
#include "telltale/log.h"
#include "telltale/time.h"

#define READ_BLOCK (1u << 20)
#define HEAD_BYTES (64u << 10)
#define BATCH_ROWS 32768
#define DL_ROWS 4096

typedef struct in_file {
  int refs; /* chunks queued or in work + 1 for the planner; under run->mu */
  int fd;
  char *source;  /* the path as given, "-" for stdin: what dead letters name */
  char *spool;   /* stdin spool file, removed when done; or NULL */
  const tt_table_def *t;
  tt_record_format fmt;
  tt_csv_dialect dialect;
  char *header; /* CSV header line, or NULL */
  size_t header_len;
  uint64_t header_line; /* its line number */
  char id[33];          /* file identity: hex of a hash */
} in_file;

typedef struct chunk {
  in_file *f;
  uint64_t start, end, first_line;
} chunk;

typedef struct run {
  tt_lake *lake;
  const tt_ingest_options *opt;
  size_t max_record;
  char markers[PATH_MAX]; /* ROOT/_ingest/done */
  pthread_mutex_t mu;
  pthread_cond_t cv_item, cv_space, cv_done;
  chunk *q;
  size_t qcap, qhead, qlen;
  int closed;   /* no more chunks will come */
  int busy;     /* chunks being worked on */
  int failed;
  tt_error err; /* the first worker failure */
  tt_ingest_stats *st;
  uint64_t bytes_done, bytes_total;
} run;

/* ---- helpers ------------------------------------------------------- */

static void file_release(run *r, in_file *f) {
  pthread_mutex_lock(&r->mu);
  int last = --f->refs == 0;
  pthread_mutex_unlock(&r->mu);
  if (!last) return;
  if (f->fd >= 0) close(f->fd);
  if (f->spool) unlink(f->spool);
  free(f->spool);
  free(f->source);
  free(f->header);
  free(f);
}

static void hex(const unsigned char *d, size_t n, char *out) {
  static const char x[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) out[2 * i] = x[d[i] >> 4], out[2 * i + 1] = x[d[i] & 15];
  out[2 * n] = '\0';
}

/* Write text to path durably: tmp, fsync, rename, dir fsync. */
static tt_err write_durable(const char *path, const char *text, tt_error *err) {
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld.%lu", path, (long)getpid(), (unsigned long)pthread_self());
  FILE *f = fopen(tmp, "w");
  if (!f) {
    tt_error_set(err, TT_IO, "cannot write: %s", strerror(errno));
    return tt_error_at(err, tmp, 0, NULL);
  }
  int bad = fputs(text, f) < 0;
  bad |= fclose(f) != 0;
  if (bad) {
    unlink(tmp);
    tt_error_set(err, TT_IO, "cannot write: %s", strerror(errno));
    return tt_error_at(err, tmp, 0, NULL);
  }
  return tt_commit_file(tmp, path, err);
}

char *tt_ingest_table_from_filename(const char *path, char *buf, size_t size) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = 0;
  while (b[n] && b[n] != '-' && b[n] != '_' && b[n] != '.' && !(b[n] >= '0' && b[n] <= '9'))
    n++;
  /* "vehicle_info.csv" for a table named vehicle_info: the caller checks the
   * schema for the longer name first (see table_for). */
  snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), b);
  return buf;
}

/* The table of a file: --table, else the longest schema table name the base
 * name starts with followed by a separator, else the name up to the first
 * separator. */
static const tt_table_def *table_for(const tt_ingest_options *opt, const char *path,
                                     char *name, size_t size) {
  if (opt->table) {
    snprintf(name, size, "%s", opt->table);
    return tt_schema_table(opt->schema, opt->table);
  }
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  const tt_table_def *best = NULL;
  size_t nt = tt_schema_table_count(opt->schema);
  for (size_t i = 0; i < nt; i++) {
    const tt_table_def *t = tt_schema_table_at(opt->schema, i);
    size_t l = strlen(t->name);
    if (strncmp(b, t->name, l)) continue; /* also stops at b's end */
    char c = b[l];
    if ((c == '\0' || c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9')) &&
        (!best || l > strlen(best->name)))
      best = t;
  }
  if (best) {
    snprintf(name, size, "%s", best->name);
    return best;
  }
  tt_ingest_table_from_filename(path, name, size);
  return NULL;
}

static tt_record_format format_for(const tt_ingest_options *opt, const char *path,
                                   const char *head, size_t n) {
  if (opt->format != TT_FORMAT_AUTO) return opt->format;
  const char *dot = strrchr(path, '.');
  if (dot && (!strcmp(dot, ".json") || !strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson")))
    return TT_FORMAT_JSONL;
  if (dot && (!strcmp(dot, ".csv") || !strcmp(dot, ".tsv") || !strcmp(dot, ".txt")))
    return TT_FORMAT_CSV;
  for (size_t i = 0; i < n; i++)
    if (head[i] != ' ' && head[i] != '\t' && head[i] != '\r' && head[i] != '\n')
      return head[i] == '{' ? TT_FORMAT_JSONL : TT_FORMAT_CSV;
  return TT_FORMAT_CSV;
}

/* ---- the worker: one chunk ----------------------------------------- */

typedef struct worker {
  run *r;
  tt_lake_writer *data, *dl;
  tt_batch *batch, *dlbatch;
  const tt_table_def *batch_table; /* layout of batch */
  char *carry;                     /* a line that spans read blocks */
  size_t carry_len, carry_cap;
  char *block;
  tt_ingest_stats st; /* this chunk's counts */
  tt_error err;
} worker;

typedef struct line_ctx {
  worker *w;
  chunk *c;
  tt_record_parser *p;
  int64_t now;
  char part_id[160];
} line_ctx;

static tt_err flush_data(worker *w, tt_error *err) {
  if (!w->batch->nrows) return TT_OK;
  tt_err rc = tt_lake_part_append(w->data, w->batch, err);
  tt_batch_reset(w->batch);
  return rc;
}

static tt_err flush_dl(worker *w, tt_error *err) {
  if (!w->dlbatch->nrows) return TT_OK;
  tt_err rc = tt_lake_part_append(w->dl, w->dlbatch, err);
  tt_batch_reset(w->dlbatch);
  return rc;
}

static tt_err deadletter(line_ctx *lc, const tt_reject *rej, uint64_t lineno, const char *raw,
                         size_t len) {
  worker *w = lc->w;
  w->st.deadlettered++;
  w->st.by_reason[rej->reason]++;
  tt_err rc = tt_deadletter_add(w->dlbatch, rej, lc->c->f->source, (int64_t)lineno, raw, len,
                                w->r->max_record, lc->now);
  if (rc == TT_LIMIT) {
    if ((rc = flush_dl(w, &w->err))) return rc;
    rc = tt_deadletter_add(w->dlbatch, rej, lc->c->f->source, (int64_t)lineno, raw, len,
                           w->r->max_record, lc->now);
  }
  if (rc) return tt_error_set(&w->err, rc, "cannot store a dead-letter record");
  return TT_OK;
}

/* One line (without '\n'); truncated_len > len when only the first len
 * bytes of a too-long line were kept. */
static tt_err do_line(line_ctx *lc, const char *l, size_t len, size_t full_len, uint64_t lineno) {
  worker *w = lc->w;
  in_file *f = lc->c->f;
  if (full_len == len && len && l[len - 1] == '\r') len--, full_len--;
  size_t i = 0;
  while (i < len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r')) i++;
  if (i == len && full_len == len) return TT_OK; /* blank lines hold no record */
  if (f->header && lineno == f->header_line) return TT_OK;
  w->st.read++;
  tt_reject rej;
  if (full_len > len) {
    tt__reject(&rej, TT_REJECT_TOO_LONG, "", "record of %zu bytes, the limit is %zu", full_len,
               w->r->max_record);
    return deadletter(lc, &rej, lineno, l, len);
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    int rc = f->fmt == TT_FORMAT_JSONL ? tt_record_parse_json(lc->p, l, len, w->batch, &rej)
                                       : tt_record_parse_csv(lc->p, l, len, w->batch, &rej);
    if (rc == 0) {
      w->st.written++;
      return TT_OK;
    }
    if (rc == 1) return deadletter(lc, &rej, lineno, l, len);
    if (w->batch->nrows == 0) break; /* not "full": out of memory */
    tt_err e = flush_data(w, &w->err);
    if (e) return e;
  }
  return tt_error_set(&w->err, TT_NOMEM, "out of memory parsing a record");
}

static tt_err read_marker(const char *path, tt_ingest_stats *st) {
  FILE *f = fopen(path, "r");
  if (!f) return TT_NOTFOUND;
  unsigned long long v[3 + TT_REJECT_COUNT];
  int ok = fscanf(f, "v1 %llu %llu %llu", &v[0], &v[1], &v[2]) == 3;
  for (int i = 0; ok && i < TT_REJECT_COUNT; i++) ok = fscanf(f, " %llu", &v[3 + i]) == 1;
  fclose(f);
  if (!ok) return TT_PARSE;
  st->read += v[0];
  st->written += v[1];
  st->deadlettered += v[2];
  st->skipped += v[0];
  for (int i = 0; i < TT_REJECT_COUNT; i++) st->by_reason[i] += v[3 + i];
  return TT_OK;
}

static tt_err process_chunk(worker *w, chunk *c) {
  run *r = w->r;
  in_file *f = c->f;
  tt_err rc = TT_OK;
  memset(&w->st, 0, sizeof w->st);
  tt_error_clear(&w->err);
  char marker[PATH_MAX + 96];
  snprintf(marker, sizeof marker, "%s/%s/%016" PRIx64 "-%016" PRIx64 ".done", r->markers, f->id,
           c->start, c->end);
  tt_err mrc = read_marker(marker, &w->st);
  if (mrc == TT_OK) {
    w->st.chunks_skipped = 1;
    return TT_OK;
  }
  if (mrc == TT_PARSE) tt_warn("ingest", "%s: unreadable done-marker, redoing the chunk", marker);

  line_ctx lc = {.w = w, .c = c, .now = tt_time_now()};
  snprintf(lc.part_id, sizeof lc.part_id, "%s-%016" PRIx64 "-%016" PRIx64, f->id, c->start,
           c->end);
  if (w->batch_table != f->t) {
    tt_batch_destroy(w->batch);
    w->batch = tt_lake_batch_new(f->t, BATCH_ROWS);
    w->batch_table = f->t;
    if (!w->batch) return tt_error_set(&w->err, TT_NOMEM, "out of memory");
  }
  tt_batch_reset(w->batch);
  tt_batch_reset(w->dlbatch);
  if ((rc = tt_record_parser_new(f->t, r->max_record, &lc.p, &w->err))) return rc;
  if (f->fmt == TT_FORMAT_CSV) {
    tt_record_parser_set_dialect(lc.p, &f->dialect);
    tt_reject hrej;
    if (f->header) (void)tt_record_parser_csv_header(lc.p, f->header, f->header_len, &hrej);
  }
  char partition[200];
  snprintf(partition, sizeof partition, "table_name=%s", f->t->name);
  if ((rc = tt_lake_part_begin(w->data, f->t, NULL, lc.part_id, &w->err)) ||
      (rc = tt_lake_part_begin(w->dl, tt_lake_deadletter_table(), partition, lc.part_id,
                               &w->err)))
    goto out;

  /* Stream the byte range; lines inside a block are parsed in place, a line
   * that spans blocks is assembled in carry (at most max_record + 1 bytes
   * kept; the rest only counted). */
  uint64_t pos = c->start, lineno = c->first_line;
  size_t full = 0; /* true length of the carried line */
  w->carry_len = 0;
  while (pos < c->end) {
    size_t want = c->end - pos < READ_BLOCK ? (size_t)(c->end - pos) : READ_BLOCK;
    ssize_t got = pread(f->fd, w->block, want, (off_t)pos);
    if (got <= 0) {
      rc = tt_error_set(&w->err, TT_IO, "read failed: %s",
                        got < 0 ? strerror(errno) : "file shrank during ingest");
      tt_error_at(&w->err, f->source, (long)lineno, NULL);
      goto out;
    }
    pos += (uint64_t)got;
    const char *b = w->block, *end = b + got;
    while (b < end) {
      const char *nl = memchr(b, '\n', (size_t)(end - b));
      const char *stop = nl ? nl : end;
      size_t n = (size_t)(stop - b);
      if (!nl || full) {
        /* Part of a line that spans blocks: keep up to max_record + 1. */
        size_t keep = r->max_record + 1 > w->carry_len ? r->max_record + 1 - w->carry_len : 0;
        if (keep > n) keep = n;
        if (w->carry_len + keep > w->carry_cap) {
          size_t nc = w->carry_cap ? w->carry_cap : 4096;
          while (nc < w->carry_len + keep) nc *= 2;
          char *cb = realloc(w->carry, nc);
          if (!cb) {
            rc = tt_error_set(&w->err, TT_NOMEM, "out of memory");
            goto out;
          }
          w->carry = cb;
          w->carry_cap = nc;
        }
        memcpy(w->carry + w->carry_len, b, keep);
        w->carry_len += keep;
        full += n;
        if (!nl) break;
        size_t kept = w->carry_len < full ? w->carry_len : full;
        if ((rc = do_line(&lc, w->carry, kept > r->max_record && full > r->max_record ? r->max_record : kept, full, lineno)))
          goto out;
        w->carry_len = 0;
        full = 0;
      } else if ((rc = do_line(&lc, b, n, n, lineno))) {
        goto out;
      }
      lineno++;
      b = nl + 1;
    }
  }
  if (full) { /* last line without '\n' (end of file) */
    size_t kept = w->carry_len < full ? w->carry_len : full;
    if ((rc = do_line(&lc, w->carry, kept > r->max_record && full > r->max_record ? r->max_record : kept, full, lineno)))
      goto out;
  }
  tt_lake_part_info di, li;
  if ((rc = flush_data(w, &w->err)) || (rc = flush_dl(w, &w->err)) ||
      (rc = tt_lake_part_commit(w->data, &di, &w->err)) ||
      (rc = tt_lake_part_commit(w->dl, &li, &w->err)))
    goto out;
  /* Only now, with both parts durable, mark the chunk done. */
  char text[64 + 24 * (3 + TT_REJECT_COUNT)];
  int n = snprintf(text, sizeof text, "v1 %" PRIu64 " %" PRIu64 " %" PRIu64, w->st.read,
                   w->st.written, w->st.deadlettered);
  for (int i = 0; i < TT_REJECT_COUNT; i++)
    n += snprintf(text + n, sizeof text - (size_t)n, " %" PRIu64, w->st.by_reason[i]);
  snprintf(text + n, sizeof text - (size_t)n, "\n");
  if ((rc = write_durable(marker, text, &w->err))) goto out;
  w->st.chunks = 1;
out:
  if (rc) {
    tt_lake_part_abort(w->data);
    tt_lake_part_abort(w->dl);
  }
  tt_record_parser_destroy(lc.p);
  return rc;
}

static void stats_add(tt_ingest_stats *a, const tt_ingest_stats *b) {
  a->chunks += b->chunks;
  a->chunks_skipped += b->chunks_skipped;
  a->read += b->read;
  a->written += b->written;
  a->deadlettered += b->deadlettered;
  a->skipped += b->skipped;
  for (int i = 0; i < TT_REJECT_COUNT; i++) a->by_reason[i] += b->by_reason[i];
}

static void *worker_main(void *arg) {
  worker *w = arg;
  run *r = w->r;
  for (;;) {
    pthread_mutex_lock(&r->mu);
    while (!r->qlen && !r->closed && !r->failed) pthread_cond_wait(&r->cv_item, &r->mu);
    if (r->failed || !r->qlen) {
      pthread_mutex_unlock(&r->mu);
      break;
    }
    chunk c = r->q[r->qhead];
    r->qhead = (r->qhead + 1) % r->qcap;
    r->qlen--;
    r->busy++;
    pthread_cond_signal(&r->cv_space);
    pthread_mutex_unlock(&r->mu);

    tt_err rc = process_chunk(w, &c);

    pthread_mutex_lock(&r->mu);
    r->busy--;
    if (rc) {
      if (!r->failed) {
        r->failed = 1;
        r->err = w->err;
        if (!r->err.file[0]) tt_error_at(&r->err, c.f->source, 0, NULL);
      }
    } else {
      stats_add(r->st, &w->st);
      r->bytes_done += c.end - c.start;
    }
    pthread_cond_broadcast(&r->cv_done);
    pthread_cond_broadcast(&r->cv_space);
    pthread_mutex_unlock(&r->mu);
    file_release(r, c.f);
  }
  return NULL;
}

/* ---- the planner ---------------------------------------------------- */

static void progress(run *r) {
  if (!r->opt->progress) return;
  pthread_mutex_lock(&r->mu);
  uint64_t d = r->bytes_done, t = r->bytes_total;
  pthread_mutex_unlock(&r->mu);
  r->opt->progress(r->opt->progress_ud, d, t);
}

/* Queue a chunk (blocks while the queue is full). 0, or -1 when the run
 * failed. */
static int enqueue(run *r, in_file *f, uint64_t start, uint64_t end, uint64_t first_line) {
  pthread_mutex_lock(&r->mu);
  while (r->qlen == r->qcap && !r->failed) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&r->cv_space, &r->mu, &ts);
    pthread_mutex_unlock(&r->mu);
    progress(r);
    pthread_mutex_lock(&r->mu);
  }
  if (r->failed) {
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  f->refs++;
  r->q[(r->qhead + r->qlen) % r->qcap] = (chunk){f, start, end, first_line};
  r->qlen++;
  pthread_cond_signal(&r->cv_item);
  pthread_mutex_unlock(&r->mu);
  return 0;
}

/* File identity: hash of realpath, size, mtime, inode, device; a changed
 * file is a new input, an unchanged one is recognised on re-runs. */
static void file_identity(const char *real, const struct stat *st, char out[33]) {
  char buf[PATH_MAX + 128];
  int n = snprintf(buf, sizeof buf, "%s%c%lld%c%lld.%09ld%c%llu%c%llu", real, 0,
                   (long long)st->st_size, 0, (long long)st->st_mtim.tv_sec,
                   st->st_mtim.tv_nsec, 0, (unsigned long long)st->st_ino, 0,
                   (unsigned long long)st->st_dev);
  char h[65];
  tt_sha256_hex(buf, (size_t)n, h);
  memcpy(out, h, 32);
  out[32] = '\0';
}

/* Plan one opened file: sniff, find the header, cut into chunks. Takes the
 * planner's reference on f. */
static tt_err plan_file(run *r, in_file *f, uint64_t size, tt_error *err) {
  tt_err rc = TT_OK;
  char *head = malloc(HEAD_BYTES), *buf = NULL;
  if (!head) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  ssize_t hn = pread(f->fd, head, HEAD_BYTES, 0);
  if (hn < 0) {
    tt_error_set(err, TT_IO, "cannot read: %s", strerror(errno));
    rc = tt_error_at(err, f->source, 0, NULL);
    goto out;
  }
  f->fmt = format_for(r->opt, f->source, head, (size_t)hn);
  if (f->fmt == TT_FORMAT_CSV) {
    tt_csv_sniff(head, (size_t)hn, f->t, &f->dialect);
    if (f->dialect.header) {
      /* The header is the first non-blank line. */
      size_t i = 0;
      uint64_t line = 1;
      while (i < (size_t)hn) {
        const char *e = memchr(head + i, '\n', (size_t)hn - i);
        size_t n = e ? (size_t)(e - head) - i : (size_t)hn - i;
        size_t k = 0;
        while (k < n && (head[i + k] == ' ' || head[i + k] == '\t' || head[i + k] == '\r')) k++;
        if (k < n) {
          if (n && head[i + n - 1] == '\r') n--;
          f->header = malloc(n + 1);
          if (!f->header) {
            rc = tt_error_set(err, TT_NOMEM, "out of memory");
            goto out;
          }
          memcpy(f->header, head + i, n);
          f->header[n] = '\0';
          f->header_len = n;
          f->header_line = line;
          break;
        }
        if (!e) break;
        i += n + 1;
        line++;
      }
    }
  }
  /* The chunk size of the first attempt is kept for this file's identity,
   * so a re-run with another ingest.chunk_bytes cuts the same chunks. */
  char dir[PATH_MAX + 48], plan[PATH_MAX + 64];
  snprintf(dir, sizeof dir, "%s/%s", r->markers, f->id);
  snprintf(plan, sizeof plan, "%s/plan", dir);
  uint64_t cb = r->opt->chunk_bytes ? r->opt->chunk_bytes : (32u << 20);
  FILE *pf = fopen(plan, "r");
  if (pf) {
    unsigned long long v;
    if (fscanf(pf, "chunk_bytes %llu", &v) == 1 && v > 0) cb = v;
    fclose(pf);
  } else {
    char text[64];
    snprintf(text, sizeof text, "chunk_bytes %" PRIu64 "\n", cb);
    if ((rc = tt_mkdirs(dir, err)) || (rc = tt_fsync_parent(dir, err)) ||
        (rc = write_durable(plan, text, err)))
      goto out;
  }

  buf = malloc(READ_BLOCK);
  if (!buf) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  uint64_t pos = 0, start = 0, lines = 0, start_line = 1;
  while (pos < size) {
    ssize_t got = pread(f->fd, buf, READ_BLOCK, (off_t)pos);
    if (got < 0) {
      tt_error_set(err, TT_IO, "cannot read: %s", strerror(errno));
      rc = tt_error_at(err, f->source, (long)lines + 1, NULL);
      goto out;
    }
    if (got == 0) break; /* shrank: plan what is there */
    const char *b = buf, *end = buf + got;
    while (b < end) {
      const char *nl = memchr(b, '\n', (size_t)(end - b));
      if (!nl) break;
      lines++;
      uint64_t at = pos + (uint64_t)(nl - buf) + 1; /* just after the '\n' */
      if (at - start >= cb) {
        if (enqueue(r, f, start, at, start_line)) goto out;
        start = at;
        start_line = lines + 1;
      }
      b = nl + 1;
    }
    pos += (uint64_t)got;
  }
  if (pos > start && enqueue(r, f, start, pos, start_line)) goto out;
out:
  free(head);
  free(buf);
  file_release(r, f);
  return rc;
}

/* Copy stdin to a spool file in the lake while hashing it: the content
 * hash is stdin's identity (the same data piped twice is the same input). */
static tt_err spool_stdin(run *r, char **path_out, char id[33], tt_error *err) {
  char dir[PATH_MAX], tmp[PATH_MAX + 64], final[PATH_MAX + 64];
  snprintf(dir, sizeof dir, "%s/_ingest/spool", tt_lake_root(r->lake));
  tt_err rc = tt_mkdirs(dir, err);
  if (rc) return rc;
  /* Spool files of killed runs: their process is gone. */
  DIR *sd = opendir(dir);
  struct dirent *de;
  while (sd && (de = readdir(sd))) {
    long pid;
    char tail[8];
    if (sscanf(de->d_name, "stdin-%ld.%7s", &pid, tail) == 2 && !strcmp(tail, "tmp") &&
        pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
      char old[PATH_MAX + 300];
      snprintf(old, sizeof old, "%s/%s", dir, de->d_name);
      unlink(old);
    }
  }
  if (sd) closedir(sd);
  snprintf(tmp, sizeof tmp, "%s/stdin-%ld.tmp", dir, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    tt_error_set(err, TT_IO, "cannot create spool file: %s", strerror(errno));
    return tt_error_at(err, tmp, 0, NULL);
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  char *buf = malloc(READ_BLOCK);
  if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  for (;;) {
    ssize_t n = read(0, buf, READ_BLOCK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = tt_error_set(err, TT_IO, "cannot read stdin: %s", strerror(errno));
      tt_error_at(err, "-", 0, NULL);
      goto out;
    }
    if (n == 0) break;
    EVP_DigestUpdate(md, buf, (size_t)n);
    for (ssize_t off = 0; off < n;) {
      ssize_t wn = write(fd, buf + off, (size_t)(n - off));
      if (wn < 0 && errno == EINTR) continue;
      if (wn < 0) {
        rc = tt_error_set(err, TT_IO, "cannot write spool file: %s", strerror(errno));
        tt_error_at(err, tmp, 0, NULL);
        goto out;
      }
      off += wn;
    }
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  EVP_DigestFinal_ex(md, d, &dl);
  hex(d, 16, id);
  snprintf(final, sizeof final, "%s/%s.stdin", dir, id);
  if (rename(tmp, final) != 0) {
    rc = tt_error_set(err, TT_IO, "cannot rename spool file: %s", strerror(errno));
    goto out;
  }
  *path_out = strdup(final);
  if (!*path_out) rc = tt_error_set(err, TT_NOMEM, "out of memory");
out:
  if (rc) unlink(tmp);
  close(fd);
  free(buf);
  EVP_MD_CTX_free(md);
  return rc;
}

/* Remember the first input failure; later inputs are still ingested. */
static void input_failed(run *r, tt_error *first, const tt_error *e) {
  char msg[1200];
  tt_errorlog("ingest", "%s", tt_error_format(e, msg, sizeof msg));
  r->st->files_failed++;
  if (first->code == TT_OK) *first = *e;
}

static void ingest_one(run *r, const char *path, tt_error *first, int in_dir) {
  tt_error e;
  tt_error_clear(&e);
  in_file *f = calloc(1, sizeof *f);
  if (!f) {
    tt_error_set(&e, TT_NOMEM, "out of memory");
    input_failed(r, first, &e);
    return;
  }
  f->refs = 1;
  f->fd = -1;
  int is_stdin = !strcmp(path, "-");
  char name[128];
  f->source = strdup(path);
  if (!f->source) {
    tt_error_set(&e, TT_NOMEM, "out of memory");
    goto fail;
  }
  /* Open first: a missing file is reported as missing, whatever its name. */
  if (is_stdin) {
    f->t = table_for(r->opt, "", name, sizeof name);
    if (f->t && spool_stdin(r, &f->spool, f->id, &e)) goto fail;
  }
  const char *open_path = is_stdin ? f->spool : path;
  struct stat st;
  if (open_path) {
    f->fd = open(open_path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0 || fstat(f->fd, &st) != 0) {
      tt_error_set(&e, errno == ENOENT ? TT_NOTFOUND : TT_IO, "cannot read: %s", strerror(errno));
      tt_error_at(&e, path, 0, NULL);
      goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
      tt_error_set(&e, TT_IO, "not a regular file");
      tt_error_at(&e, path, 0, NULL);
      goto fail;
    }
  }
  if (!is_stdin) f->t = table_for(r->opt, path, name, sizeof name);
  if (!f->t && in_dir && !r->opt->table) {
    /* A directory may hold other files (a manifest, a README): say so, but
     * it is not an error the way a named file without a table is. */
    tt_warn("ingest", "%s: skipped, no table '%s' in schema %s", path, name,
            tt_schema_name(r->opt->schema));
    r->st->files_skipped++;
    file_release(r, f);
    return;
  }
  if (!f->t) {
    if (name[0])
      tt_error_set(&e, TT_SCHEMA, "no table '%s' in schema %s (use --table)", name,
                   tt_schema_name(r->opt->schema));
    else
      tt_error_set(&e, TT_INVALID, "cannot tell the table from the name; use --table");
    tt_error_at(&e, path, 0, NULL);
    goto fail;
  }
  if (!is_stdin) {
    char real[PATH_MAX];
    if (!realpath(path, real)) snprintf(real, sizeof real, "%s", path);
    file_identity(real, &st, f->id);
  } else {
    pthread_mutex_lock(&r->mu);
    r->bytes_total += (uint64_t)st.st_size;
    pthread_mutex_unlock(&r->mu);
  }
  r->st->files++;
  r->st->bytes += (uint64_t)st.st_size;
  if (st.st_size == 0) tt_warn("ingest", "%s: empty file", path);
  if (plan_file(r, f, (uint64_t)st.st_size, &e)) input_failed(r, first, &e);
  return; /* plan_file released the planner's reference */
fail:
  input_failed(r, first, &e);
  file_release(r, f);
}

/* Expand directories (sorted, recursive, hidden entries skipped). */
static void ingest_path(run *r, const char *path, tt_error *first, int depth) {
  struct stat st;
  if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) {
      tt_error e;
      tt_error_clear(&e);
      tt_error_set(&e, TT_IO, "cannot read directory: %s", strerror(errno));
      tt_error_at(&e, path, 0, NULL);
      input_failed(r, first, &e);
      return;
    }
    for (int i = 0; i < n; i++) {
      if (ents[i]->d_name[0] != '.' && depth < 32 && !r->failed) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", path, ents[i]->d_name);
        ingest_path(r, p, first, depth + 1);
      }
      free(ents[i]);
    }
    free(ents);
    return;
  }
  ingest_one(r, path, first, depth > 0);
}

static void total_bytes(run *r, const char *path, int depth) {
  struct stat st;
  if (!strcmp(path, "-") || stat(path, &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    r->bytes_total += (uint64_t)st.st_size;
    return;
  }
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) && depth < 32) {
    if (e->d_name[0] == '.') continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", path, e->d_name);
    total_bytes(r, p, depth + 1);
  }
  closedir(d);
}

tt_err tt_ingest_paths(tt_lake *lake, const char *const *paths, size_t npaths,
                       const tt_ingest_options *opt, tt_ingest_stats *stats, tt_error *err) {
  memset(stats, 0, sizeof *stats);
  if (!opt->schema) return tt_error_set(err, TT_INVALID, "no schema given");
  run r = {.lake = lake, .opt = opt, .st = stats};
  r.max_record = opt->max_record_bytes ? opt->max_record_bytes : 1048576;
  snprintf(r.markers, sizeof r.markers, "%s/_ingest/done", tt_lake_root(lake));
  tt_err rc = tt_mkdirs(r.markers, err);
  if (rc) return rc;
  long nthreads = opt->threads > 0 ? opt->threads : sysconf(_SC_NPROCESSORS_ONLN);
  if (nthreads < 1) nthreads = 1;
  if (nthreads > 256) nthreads = 256;
  r.qcap = (size_t)nthreads * 2;
  r.q = calloc(r.qcap, sizeof *r.q);
  worker *ws = calloc((size_t)nthreads, sizeof *ws);
  pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
  if (!r.q || !ws || !tids) {
    free(r.q);
    free(ws);
    free(tids);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  pthread_mutex_init(&r.mu, NULL);
  pthread_cond_init(&r.cv_item, NULL);
  pthread_cond_init(&r.cv_space, NULL);
  pthread_cond_init(&r.cv_done, NULL);
  for (size_t i = 0; i < npaths; i++) total_bytes(&r, paths[i], 0);

  long started = 0;
  for (long i = 0; i < nthreads; i++) {
    worker *w = &ws[i];
    w->r = &r;
    w->block = malloc(READ_BLOCK);
    w->dlbatch = tt_lake_batch_new(tt_lake_deadletter_table(), DL_ROWS);
    if (!w->block || !w->dlbatch) {
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
      break;
    }
    if ((rc = tt_lake_writer_new(lake, &w->data, err)) ||
        (rc = tt_lake_writer_new(lake, &w->dl, err)))
      break;
    if (pthread_create(&tids[i], NULL, worker_main, w) != 0) {
      rc = tt_error_set(err, TT_INTERNAL, "cannot start a worker thread");
      break;
    }
    started++;
  }
  tt_error first;
  tt_error_clear(&first);
  if (rc == TT_OK)
    for (size_t i = 0; i < npaths && !r.failed; i++) ingest_path(&r, paths[i], &first, 0);

  pthread_mutex_lock(&r.mu);
  r.closed = 1;
  pthread_cond_broadcast(&r.cv_item);
  while ((r.qlen || r.busy) && !r.failed) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&r.cv_done, &r.mu, &ts);
    pthread_mutex_unlock(&r.mu);
    progress(&r);
    pthread_mutex_lock(&r.mu);
  }
  pthread_mutex_unlock(&r.mu);
  for (long i = 0; i < started; i++) pthread_join(tids[i], NULL);
  /* Chunks left in the queue after a failure release their files. */
  while (r.qlen) {
    chunk c = r.q[r.qhead];
    r.qhead = (r.qhead + 1) % r.qcap;
    r.qlen--;
    file_release(&r, c.f);
  }
  progress(&r);
  for (long i = 0; i < nthreads; i++) {
    tt_lake_writer_destroy(ws[i].data);
    tt_lake_writer_destroy(ws[i].dl);
    tt_batch_destroy(ws[i].batch);
    tt_batch_destroy(ws[i].dlbatch);
    free(ws[i].block);
    free(ws[i].carry);
  }
  free(ws);
  free(tids);
  free(r.q);
  pthread_cond_destroy(&r.cv_item);
  pthread_cond_destroy(&r.cv_space);
  pthread_cond_destroy(&r.cv_done);
  pthread_mutex_destroy(&r.mu);
  if (rc == TT_OK && r.failed) {
    if (err) *err = r.err;
    rc = r.err.code ? r.err.code : TT_INTERNAL;
  }
  if (rc == TT_OK && first.code != TT_OK) {
    if (err) *err = first;
    rc = first.code;
  }
  if (rc == TT_OK) {
    tt_error e2;
    if (tt_lake_refresh(lake, &e2) != TT_OK) tt_warn("ingest", "refreshing views: %s", e2.msg);
  }
  return rc;
}
