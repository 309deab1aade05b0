/* `telltale ingest kafka://…`: a consumer-group member that lands a topic in
 * the lake exactly once. See README.md for the protocol; in short, per
 * assigned partition:
 *
 *   poll → parse + validate into the partition's batch (or dead-letter batch)
 *   flush (by rows, bytes, age, revoke, end of topic, shutdown):
 *       write parts kafka-TOPIC-pP-A-B (tmp → fsync → rename)
 *       write the landed marker B           (tmp → fsync → rename)
 *       commit offset B+1                   (synchronous; best effort)
 *   assign: remove parts after the marker, start at marker+1
 *
 * Partition state lives on the thread that calls tt_kafka_ingest (librdkafka
 * calls the rebalance callback from rd_kafka_consumer_poll). Landing (parts
 * and marker) is done by writer threads (partition p always by the same one,
 * in FIFO order), while this thread
 * parses the next messages: a full batch is handed over as a land_job and
 * the partition gets an empty batch. The consumer thread commits offsets of
 * jobs the writer reports done (in order), drains the queue before any
 * rebalance takes effect and at shutdown, and cancels the queued jobs of a
 * lost partition. After one failed job the writers write nothing more. */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafka/avro_decode.h"
#include "kafka/kafka_internal.h"
#include "telltale/ingest.h"
#include "telltale/kafka.h"
#include "telltale/lake.h"
#include "telltale/log.h"
#include "telltale/schema.h"
#include "telltale/time.h"

#define DEADLETTER_MAX_RAW 4096 /* bytes of a rejected message kept in the table */

typedef struct part_state {
  int assigned;
  int eof;            /* reached the end and nothing arrived since */
  int64_t next;       /* next offset we expect; -1 until the first message */
  int64_t first;      /* first offset of the open batch, -1 when empty */
  int64_t last;       /* last offset of the open batch */
  uint64_t bytes;     /* payload bytes in the open batch */
  uint64_t nmsg;      /* messages in the open batch */
  double opened;      /* tt_monotonic() of the batch's first message */
  tt_batch *rows;     /* good records */
  tt_batch *dl;       /* dead letters */
  int pending_commit; /* offsets landed but not yet committed (broker trouble) */
  int64_t commit_at;  /* the offset to commit */
} part_state;

/* A batch handed to the writer thread. */
typedef struct land_job {
  struct land_job *next;
  int32_t p;
  int64_t first, last;
  tt_batch *rows, *dl;
  const char *why;
  int cancelled; /* partition lost before the job started: not written */
  tt_err rc;     /* the writer's verdict */
  unsigned files;
} land_job;

/* Writer threads; partition p always goes to writer p % LAND_THREADS, so
 * each partition's batches land in order. */
#define LAND_THREADS 2
/* Batches queued or being written at most: the consumer blocks beyond that
 * (back-pressure). */
#define LAND_QUEUE_MAX (4 * LAND_THREADS)

typedef struct lander_thread {
  pthread_t th;
  int started;
  struct consumer *c;
  int k;
  tt_lake_writer *writer; /* its own DuckDB connection */
  land_job *head, *tail;  /* queued, FIFO */
} lander_thread;

typedef struct lander {
  lander_thread t[LAND_THREADS];
  int inited;
  pthread_mutex_t mu;
  pthread_cond_t work, done; /* work: a queue non-empty or stop; done: a job finished */
  land_job *done_head, *done_tail; /* finished, for the consumer to commit */
  land_job *spare;           /* recycled jobs with empty batches */
  int inflight;              /* queued + busy */
  int stop;
  tt_err failed; /* first failure; the writer skips every later job */
  tt_error err;  /* its message */
  double seconds;      /* writer time landing (not yet added to the metrics) */
} lander;

typedef struct consumer {
  const tt_kafka_ingest_opts *o;
  tt_kafka_metrics *m;
  rd_kafka_t *rk;
  rd_kafka_t *dlq;     /* dead-letter topic producer, or NULL */
  rd_kafka_queue_t *q; /* the consumer queue: messages and rebalances */
  tt_schema *schema;
  const tt_table_def *table;
  tt_record_parser *parser;
  tt_lake *lake;
  tt_kafka_avro *avro; /* Confluent-framed Avro decoder */
  lander L;            /* the writer thread and its queue */
  part_state parts[TT_KAFKA_MAX_PARTITIONS];
  int rebalanced;    /* at least one assignment happened */
  uint64_t buffered; /* rows + dead letters buffered over all partitions */
  tt_err fatal;      /* an error inside a callback, reported by the loop */
  tt_error *err;
  char dl_partition[160];
  double next_stats;
  uint64_t last_messages;
  double last_stats_t;
} consumer;

static tt_err kerr(tt_error *err, const char *what, rd_kafka_resp_err_t e) {
  return tt_error_set(err, TT_KAFKA, "%s: %s", what, rd_kafka_err2str(e));
}

/* ---- flushing ---------------------------------------------------------- */

static tt_err commit_offset(consumer *c, int32_t p, int64_t offset, int must) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, c->o->topic, p)->offset = offset;
  rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 0);
  if (!e && l->elems[0].err) e = l->elems[0].err;
  rd_kafka_topic_partition_list_destroy(l);
  part_state *ps = &c->parts[p];
  if (e) {
    /* The lake and its marker already hold the batch: a failed commit only
     * means a restart re-reads offsets the marker tells it to skip. Keep
     * it pending and retry. */
    ps->pending_commit = 1;
    ps->commit_at = offset;
    c->m->broker_errors++;
    if (must)
      tt_warn("kafka", "partition %" PRId32 ": commit of offset %" PRId64 " failed: %s", p, offset,
              rd_kafka_err2str(e));
    return TT_KAFKA;
  }
  ps->pending_commit = 0;
  c->m->commits++;
  return TT_OK;
}

/* ---- the writer thread ------------------------------------------------- */

/* Write job j's parts, deliver its dead-letter copies, then its marker
 * (steps 1 and 2 of the protocol; the consumer thread commits). Runs on the
 * writer thread: touches only j, the lake writer and read-only options. */
static tt_err land_job_write(consumer *c, tt_lake_writer *w, land_job *j, tt_error *err) {
  char id[160];
  tt_err rc;
  tt__kafka_part_id(id, sizeof id, c->o->topic, j->p, j->first, j->last);
  tt_lake_part_info info = {0}, dinfo = {0};
  if (j->rows->nrows &&
      (rc = tt_lake_write_batch(w, c->table, NULL, id, j->rows, &info, err)))
    return rc;
  if (j->dl->nrows && (rc = tt_lake_write_batch(w, tt_lake_deadletter_table(),
                                                c->dl_partition, id, j->dl, &dinfo, err)))
    return rc;
  if (c->dlq) {
    /* Dead-letter topic copies are delivered before the batch counts as
     * landed, so a crash re-sends rather than loses them. */
    while (rd_kafka_outq_len(c->dlq) > 0)
      rd_kafka_flush(c->dlq, 1000);
  }
  if ((rc = tt__kafka_landed_write(c->o->lake, c->table->name, c->o->topic, j->p, j->last, err)))
    return rc;
  j->files = info.files + dinfo.files;
  return TT_OK;
}

static void *lander_main(void *arg) {
  lander_thread *T = arg;
  consumer *c = T->c;
  lander *L = &c->L;
  pthread_setname_np(pthread_self(), "tt-lander");
  pthread_mutex_lock(&L->mu);
  for (;;) {
    if (!T->head) {
      if (L->stop) break;
      pthread_cond_wait(&L->work, &L->mu);
      continue;
    }
    land_job *j = T->head;
    T->head = j->next;
    if (!T->head) T->tail = NULL;
    j->next = NULL;
    if (L->failed || j->cancelled) {
      /* After a failure nothing later may land: its marker would skip the
       * failed batch's offsets. */
      j->rc = L->failed ? L->failed : TT_OK;
    } else {
      pthread_mutex_unlock(&L->mu);
      tt_error e;
      tt_error_clear(&e);
      double t0 = tt_monotonic();
      tt_err rc = land_job_write(c, T->writer, j, &e);
      double dt = tt_monotonic() - t0;
      pthread_mutex_lock(&L->mu);
      L->seconds += dt;
      j->rc = rc;
      if (rc && !L->failed) {
        L->failed = rc;
        L->err = e;
      }
    }
    if (L->done_tail)
      L->done_tail->next = j;
    else
      L->done_head = j;
    L->done_tail = j;
    L->inflight--;
    pthread_cond_broadcast(&L->done);
  }
  pthread_mutex_unlock(&L->mu);
  return NULL;
}

static tt_err lander_start(consumer *c) {
  lander *L = &c->L;
  pthread_mutex_init(&L->mu, NULL);
  pthread_cond_init(&L->work, NULL);
  pthread_cond_init(&L->done, NULL);
  L->inited = 1;
  for (int k = 0; k < LAND_THREADS; k++) {
    lander_thread *T = &L->t[k];
    T->c = c;
    T->k = k;
    tt_err rc = tt_lake_writer_new(c->lake, &T->writer, c->err);
    if (rc) return rc;
    if (pthread_create(&T->th, NULL, lander_main, T) != 0)
      return tt_error_set(c->err, TT_NOMEM, "cannot start a writer thread");
    T->started = 1;
  }
  return TT_OK;
}

static void job_free(land_job *j) {
  tt_batch_destroy(j->rows);
  tt_batch_destroy(j->dl);
  free(j);
}

/* Stop the writer once its queue is empty (jobs still queued are landed
 * unless a job failed). */
static void lander_stop(consumer *c) {
  lander *L = &c->L;
  if (L->inited) {
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_cond_broadcast(&L->work);
    pthread_mutex_unlock(&L->mu);
  }
  for (int k = 0; k < LAND_THREADS; k++) {
    lander_thread *T = &L->t[k];
    if (T->started) pthread_join(T->th, NULL);
    T->started = 0;
    tt_lake_writer_destroy(T->writer);
    T->writer = NULL;
  }
  land_job *lists[] = {L->done_head, L->spare};
  for (int i = 0; i < 2; i++)
    for (land_job *j = lists[i], *n; j; j = n) {
      n = j->next;
      job_free(j);
    }
  L->done_head = L->done_tail = L->spare = NULL;
  if (L->inited) {
    pthread_cond_destroy(&L->work);
    pthread_cond_destroy(&L->done);
    pthread_mutex_destroy(&L->mu);
    L->inited = 0;
  }
}

/* Commit `offset` for each partition in one request; a failure of a
 * partition keeps it pending (see commit_offset). */
static void commit_many(consumer *c, const int64_t *to, int n) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
    if (to[p] >= 0) rd_kafka_topic_partition_list_add(l, c->o->topic, p)->offset = to[p];
  if (l->cnt == 0) {
    rd_kafka_topic_partition_list_destroy(l);
    return;
  }
  rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 0);
  for (int i = 0; i < l->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &l->elems[i];
    part_state *ps = &c->parts[tp->partition];
    rd_kafka_resp_err_t pe = e ? e : tp->err;
    if (pe) {
      ps->pending_commit = 1;
      ps->commit_at = tp->offset;
      c->m->broker_errors++;
      tt_warn("kafka", "partition %" PRId32 ": commit of offset %" PRId64 " failed: %s",
              tp->partition, tp->offset, rd_kafka_err2str(pe));
    } else {
      ps->pending_commit = 0;
      c->m->commits++;
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* Take the jobs the writer finished: count them, commit their offsets
 * (step 3: only after parts and marker are durable; the latest per
 * partition, all in one request), recycle their batches. A failed job is
 * reported as the consumer's error. */
static tt_err lander_reap(consumer *c) {
  lander *L = &c->L;
  pthread_mutex_lock(&L->mu);
  land_job *done = L->done_head;
  L->done_head = L->done_tail = NULL;
  c->m->landing_seconds += L->seconds;
  L->seconds = 0;
  tt_err failed = L->failed;
  if (failed && c->err) *c->err = L->err;
  pthread_mutex_unlock(&L->mu);
  if (!done) return failed;
  int64_t to[TT_KAFKA_MAX_PARTITIONS];
  int n = 0;
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
    to[p] = -1;
  land_job *spare = NULL;
  for (land_job *j = done, *next; j; j = next) {
    next = j->next;
    if (!j->rc && !j->cancelled) {
      c->m->rows += j->rows->nrows;
      c->m->dead_letters += j->dl->nrows;
      c->m->batches++;
      tt_debug("kafka",
               "partition %" PRId32 ": landed offsets %" PRId64 "-%" PRId64
               " (%zu rows, %zu dead letters, %u files) on %s",
               j->p, j->first, j->last, j->rows->nrows, j->dl->nrows, j->files, j->why);
      /* A partition revoked meanwhile was drained before it went; one lost
       * is not ours to commit (its marker is in the lake either way). */
      if (c->parts[j->p].assigned) {
        if (to[j->p] < 0) n++;
        to[j->p] = j->last + 1;
      }
    }
    tt_batch_reset(j->rows);
    tt_batch_reset(j->dl);
    j->next = spare;
    spare = j;
  }
  commit_many(c, to, n); /* successful jobs only, which never follow a failed one */
  pthread_mutex_lock(&L->mu);
  for (land_job *j = spare, *next; j; j = next) {
    next = j->next;
    j->next = L->spare;
    L->spare = j;
  }
  pthread_mutex_unlock(&L->mu);
  return failed;
}

/* Wait until the writer has finished every queued job, then reap. */
static tt_err lander_drain(consumer *c) {
  lander *L = &c->L;
  double t0 = tt_monotonic();
  pthread_mutex_lock(&L->mu);
  while (L->inflight > 0)
    pthread_cond_wait(&L->done, &L->mu);
  pthread_mutex_unlock(&L->mu);
  c->m->landing_wait_seconds += tt_monotonic() - t0;
  return lander_reap(c);
}

/* Partition p is lost: its queued jobs must not be written (another member
 * may own it now); wait for the one being written, if any. */
static void lander_cancel(consumer *c, int32_t p) {
  lander *L = &c->L;
  pthread_mutex_lock(&L->mu);
  for (land_job *j = L->t[p % LAND_THREADS].head; j; j = j->next)
    if (j->p == p) j->cancelled = 1;
  pthread_mutex_unlock(&L->mu);
}

/* Land partition p's open batch: hand it to the writer thread and give the
 * partition empty batches. Blocks while LAND_QUEUE_MAX jobs are waiting. */
static tt_err flush_partition(consumer *c, int32_t p, const char *why) {
  part_state *ps = &c->parts[p];
  lander *L = &c->L;
  if (ps->first < 0) return TT_OK;
  land_job *j;
  double t0 = tt_monotonic();
  pthread_mutex_lock(&L->mu);
  while (L->inflight >= LAND_QUEUE_MAX && !L->failed)
    pthread_cond_wait(&L->done, &L->mu);
  tt_err failed = L->failed;
  j = L->spare;
  if (j) L->spare = j->next;
  pthread_mutex_unlock(&L->mu);
  c->m->landing_wait_seconds += tt_monotonic() - t0;
  if (failed) {
    if (j) job_free(j);
    return lander_reap(c);
  }
  if (!j) {
    j = calloc(1, sizeof *j);
    if (j) {
      j->rows = tt_lake_batch_new(c->table, (size_t)c->o->batch_rows);
      j->dl = tt_lake_batch_new(tt_lake_deadletter_table(), (size_t)c->o->batch_rows);
    }
    if (!j || !j->rows || !j->dl) {
      if (j) job_free(j);
      return tt_error_set(c->err, TT_NOMEM, "out of memory");
    }
  }
  /* swap: the job takes the full batches, the partition the empty ones */
  tt_batch *r = j->rows, *d = j->dl;
  j->rows = ps->rows;
  j->dl = ps->dl;
  ps->rows = r;
  ps->dl = d;
  j->p = p;
  j->first = ps->first;
  j->last = ps->last;
  j->why = why;
  j->cancelled = 0;
  j->rc = TT_OK;
  j->files = 0;
  j->next = NULL;
  c->buffered -= j->rows->nrows + j->dl->nrows;
  ps->first = -1;
  ps->bytes = ps->nmsg = 0;
  pthread_mutex_lock(&L->mu);
  lander_thread *T = &L->t[p % LAND_THREADS];
  if (T->tail)
    T->tail->next = j;
  else
    T->head = j;
  T->tail = j;
  L->inflight++;
  pthread_cond_broadcast(&L->work);
  pthread_mutex_unlock(&L->mu);
  return TT_OK;
}

/* Land every open batch and wait until all of them (and everything queued
 * before) are landed and committed. */
static tt_err flush_all(consumer *c, const char *why) {
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
    if (c->parts[p].assigned) {
      tt_err rc = flush_partition(c, p, why);
      if (rc) return rc;
    }
  return lander_drain(c);
}

/* Flush the partition holding the most buffered rows (the global cap). */
static tt_err flush_largest(consumer *c) {
  int best = -1;
  size_t most = 0;
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++) {
    part_state *ps = &c->parts[p];
    if (ps->assigned && ps->first >= 0 && ps->rows->nrows + ps->dl->nrows >= most) {
      most = ps->rows->nrows + ps->dl->nrows;
      best = p;
    }
  }
  return best < 0 ? TT_OK : flush_partition(c, best, "buffer cap");
}

/* ---- rebalancing ------------------------------------------------------- */

static tt_err assign_one(consumer *c, rd_kafka_topic_partition_t *tp) {
  int32_t p = tp->partition;
  if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS)
    return tt_error_set(c->err, TT_LIMIT, "partition %" PRId32 " beyond the supported %d", p,
                        TT_KAFKA_MAX_PARTITIONS);
  part_state *ps = &c->parts[p];
  int64_t landed;
  unsigned removed;
  tt_err rc = tt__kafka_landed_read(c->o->lake, c->table->name, c->o->topic, p, &landed, c->err);
  if (!rc)
    rc = tt__kafka_parts_cleanup(c->o->lake, c->table->name, c->o->topic, p, landed, &removed,
                                 c->err);
  if (rc) return rc;
  if (removed)
    tt_info("kafka", "partition %" PRId32 ": removed %u part file(s) of batches that never landed",
            p, removed);
  if (!ps->rows) ps->rows = tt_lake_batch_new(c->table, (size_t)c->o->batch_rows);
  if (!ps->dl) ps->dl = tt_lake_batch_new(tt_lake_deadletter_table(), (size_t)c->o->batch_rows);
  if (!ps->rows || !ps->dl) return tt_error_set(c->err, TT_NOMEM, "out of memory");
  ps->assigned = 1;
  ps->eof = 0;
  ps->first = -1;
  ps->bytes = ps->nmsg = 0;
  ps->pending_commit = 0;
  /* The marker is the truth; without one the committed offset (or the
   * beginning) is where to start. */
  ps->next = landed >= 0 ? landed + 1 : -1;
  tp->offset = landed >= 0 ? landed + 1 : RD_KAFKA_OFFSET_INVALID;
  if (p + 1 > c->m->npartitions) c->m->npartitions = p + 1;
  tt_info("kafka", "partition %" PRId32 " assigned, starting at %s%" PRId64, p,
          landed >= 0 ? "landed offset + 1 = " : "the committed offset (none landed) ",
          landed >= 0 ? landed + 1 : (int64_t)0);
  return TT_OK;
}

/* First half of a revoke: a lost partition drops its open batch and its
 * queued jobs, a revoked one hands its open batch to the writer. The caller
 * then drains the writer (revoke_finish). */
static void revoke_one(consumer *c, int32_t p, int lost) {
  if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS) return;
  part_state *ps = &c->parts[p];
  if (!ps->assigned) return;
  if (lost) {
    /* Another member may own it already: writing now could duplicate.
     * Drop the open batch and the queued ones; its owner re-reads them
     * from the marker. */
    if (ps->first >= 0)
      tt_warn("kafka",
              "partition %" PRId32 " lost: dropping unlanded offsets %" PRId64 "-%" PRId64
              " (they will be re-read)",
              p, ps->first, ps->last);
    c->buffered -= ps->rows->nrows + ps->dl->nrows;
    tt_batch_reset(ps->rows);
    tt_batch_reset(ps->dl);
    ps->first = -1;
    lander_cancel(c, p);
    ps->assigned = 0; /* so that a job finishing now is not committed */
    c->m->lag[p] = -1;
  } else {
    tt_err rc = flush_partition(c, p, "revoke");
    if (rc && !c->fatal) c->fatal = rc;
  }
}

/* Second half: once the writer is drained (everything of the revoked
 * partitions landed and committed), retry pending commits and let go. */
static void revoke_finish(consumer *c, int32_t p, int drained_ok) {
  if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS) return;
  part_state *ps = &c->parts[p];
  if (!ps->assigned) return;
  if (drained_ok && ps->pending_commit) (void)commit_offset(c, p, ps->commit_at, 1);
  ps->assigned = 0;
  c->m->lag[p] = -1;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  consumer *c = opaque;
  int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
  c->m->rebalances++;
  if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    /* Nothing may be in flight while markers are read and parts cleaned. */
    tt_err drc = lander_drain(c);
    if (drc && !c->fatal) c->fatal = drc;
    for (int i = 0; i < parts->cnt && !c->fatal; i++) {
      tt_err rc = assign_one(c, &parts->elems[i]);
      if (rc) c->fatal = rc;
    }
    if (c->fatal) return; /* the loop stops; nothing was consumed */
    rd_kafka_error_t *er = NULL;
    rd_kafka_resp_err_t ae = 0;
    if (coop)
      er = rd_kafka_incremental_assign(rk, parts);
    else
      ae = rd_kafka_assign(rk, parts);
    if (er) {
      tt_error_set(c->err, TT_KAFKA, "assign: %s", rd_kafka_error_string(er));
      rd_kafka_error_destroy(er);
      c->fatal = TT_KAFKA;
    } else if (ae) {
      c->fatal = kerr(c->err, "assign", ae);
    }
    c->rebalanced = 1;
  } else if (e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    int lost = rd_kafka_assignment_lost(rk);
    for (int i = 0; i < parts->cnt; i++)
      revoke_one(c, parts->elems[i].partition, lost);
    /* Revoked: landed and committed before they are given up. Lost: wait
     * for the job being written, so nothing of ours writes after this. */
    tt_err drc = lander_drain(c);
    if (drc && !c->fatal) c->fatal = drc;
    for (int i = 0; i < parts->cnt; i++)
      revoke_finish(c, parts->elems[i].partition, !drc);
    tt_info("kafka", "%d partition(s) %s", parts->cnt, lost ? "lost" : "revoked");
    if (coop) {
      rd_kafka_error_t *er = rd_kafka_incremental_unassign(rk, parts);
      if (er) rd_kafka_error_destroy(er);
    } else {
      rd_kafka_assign(rk, NULL);
    }
  } else {
    tt_warn("kafka", "rebalance error: %s", rd_kafka_err2str(e));
    rd_kafka_assign(rk, NULL);
  }
}

/* ---- messages ---------------------------------------------------------- */

static tt_err add_deadletter(consumer *c, int32_t p, const rd_kafka_message_t *msg,
                             const tt_reject *rej) {
  part_state *ps = &c->parts[p];
  char source[300];
  snprintf(source, sizeof source, "kafka:%s/%" PRId32, c->o->topic, p);
  tt_err rc = tt_deadletter_add(ps->dl, rej, source, msg->offset, msg->payload ? msg->payload : "",
                                msg->len, DEADLETTER_MAX_RAW, tt_time_now());
  if (rc) return rc;
  if (c->dlq) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(3);
    char off[32];
    snprintf(off, sizeof off, "%" PRId64, msg->offset);
    rd_kafka_header_add(h, "tt-reason", -1, tt_reject_name(rej->reason), -1);
    rd_kafka_header_add(h, "tt-source", -1, source, -1);
    rd_kafka_header_add(h, "tt-offset", -1, off, -1);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        c->dlq, RD_KAFKA_V_TOPIC(c->o->dead_letter_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(msg->payload, msg->len), RD_KAFKA_V_KEY(msg->key, msg->key_len),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (e) {
      rd_kafka_headers_destroy(h);
      return kerr(c->err, "dead-letter topic", e);
    }
  }
  return TT_OK;
}

/* 0 appended, 1 rejected (rej filled), -1 batch full. */
static int decode(consumer *c, const rd_kafka_message_t *msg, part_state *ps, tt_reject *rej) {
  const char *s = msg->payload ? msg->payload : "";
  size_t n = msg->len;
  memset(rej, 0, sizeof *rej);
  if ((int64_t)n > c->o->max_message_bytes) {
    rej->reason = TT_REJECT_TOO_LONG;
    snprintf(rej->detail, sizeof rej->detail,
             "message of %zu bytes, ingest.max_record_bytes is %" PRId64, n,
             c->o->max_message_bytes);
    return 1;
  }
  if (n > 0 && s[0] == 0) return tt__kafka_avro_decode(c->avro, c->parser, s, n, ps->rows, rej);
  return tt_record_parse_json(c->parser, s, n, ps->rows, rej);
}

static tt_err handle_message(consumer *c, const rd_kafka_message_t *msg) {
  int32_t p = msg->partition;
  if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS || !c->parts[p].assigned) return TT_OK;
  part_state *ps = &c->parts[p];
  c->m->messages++;
  c->m->bytes += msg->len;
  ps->eof = 0;
  if (ps->next >= 0 && msg->offset < ps->next) {
    c->m->skipped++; /* already in the lake */
    return TT_OK;
  }
  if (ps->next >= 0 && msg->offset > ps->next)
    tt_warn("kafka",
            "partition %" PRId32 ": offsets %" PRId64 "-%" PRId64
            " are gone from the broker (retention); they cannot be ingested",
            p, ps->next, msg->offset - 1);
  for (int attempt = 0;; attempt++) {
    tt_reject rej;
    size_t before = ps->rows->nrows;
    int r = decode(c, msg, ps, &rej);
    if (r == 0) break;
    if (r == 1) {
      if (ps->dl->nrows >= ps->dl->capacity) {
        tt_err rc = flush_partition(c, p, "dead-letter batch full");
        if (rc) return rc;
      }
      tt_err rc = add_deadletter(c, p, msg, &rej);
      if (rc) return rc;
      break;
    }
    if (r == 2) {
      c->m->broker_errors++;
      return tt_error_set(c->err, TT_KAFKA,
                          "%s (partition %" PRId32 " offset %" PRId64
                          " not consumed; restart to retry)",
                          rej.detail, p, msg->offset);
    }
    /* -1: the batch is full (or out of memory) */
    if (attempt > 0 || before == 0)
      return tt_error_set(c->err, TT_NOMEM, "cannot buffer a record of partition %" PRId32, p);
    tt_err rc = flush_partition(c, p, "batch full");
    if (rc) return rc;
  }
  if (ps->first < 0) {
    ps->first = msg->offset;
    ps->opened = tt_monotonic();
  }
  ps->last = msg->offset;
  ps->next = msg->offset + 1;
  ps->bytes += msg->len;
  ps->nmsg++;
  c->buffered++;
  if ((int64_t)(ps->rows->nrows) >= c->o->batch_rows || (int64_t)ps->bytes >= c->o->batch_bytes)
    return flush_partition(c, p, "size");
  /* Beyond the memory cap land the fullest batch; parts then hold about
   * buffer_rows / partitions records, so a high cap keeps them big. */
  uint64_t cap =
      c->o->buffer_rows > 0 ? (uint64_t)c->o->buffer_rows : (uint64_t)c->o->batch_rows * 8;
  if (c->buffered >= cap) return flush_largest(c);
  return TT_OK;
}

/* ---- the loop ---------------------------------------------------------- */

static void update_lag(consumer *c) {
  for (int p = 0; p < c->m->npartitions; p++) {
    part_state *ps = &c->parts[p];
    int64_t lo, hi;
    if (!ps->assigned ||
        rd_kafka_get_watermark_offsets(c->rk, c->o->topic, p, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0 || ps->next < 0) {
      c->m->lag[p] = -1;
      continue;
    }
    c->m->lag[p] = hi > ps->next ? hi - ps->next : 0;
  }
}

static void log_stats(consumer *c, int final) {
  double now = tt_monotonic();
  if (!final && now < c->next_stats) return;
  update_lag(c);
  double dt = now - c->last_stats_t;
  double rate = dt > 0 ? (double)(c->m->messages - c->last_messages) / dt : 0;
  int64_t lag = 0;
  int known = 0;
  for (int p = 0; p < c->m->npartitions; p++)
    if (c->m->lag[p] >= 0) {
      lag += c->m->lag[p];
      known = 1;
    }
  tt_info("kafka",
          "%s: %" PRIu64 " messages (%.0f/s), %" PRIu64 " rows, %" PRIu64 " dead letters, %" PRIu64
          " batches (%.1f s landing, %.1f s waiting for it), %" PRIu64
          " redelivered skipped, lag %s%" PRId64,
          final ? "done" : "progress", c->m->messages,
          final ? (c->m->messages / (now - c->m->started + 1e-9)) : rate, c->m->rows,
          c->m->dead_letters, c->m->batches, c->m->landing_seconds, c->m->landing_wait_seconds,
          c->m->skipped,
          known ? "" : "unknown ", known ? lag : 0);
  c->last_messages = c->m->messages;
  c->last_stats_t = now;
  c->next_stats = now + 10;
}

static int all_drained(consumer *c) {
  if (!c->rebalanced) return 0;
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
    if (c->parts[p].assigned && !c->parts[p].eof) return 0;
  return 1;
}

static tt_err flush_aged(consumer *c) {
  double now = tt_monotonic();
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++) {
    part_state *ps = &c->parts[p];
    /* Age is the latency bound of --follow; a drain lands every batch at
     * the end of its partition anyway, so it only cuts batches smaller. */
    if (c->o->follow && ps->assigned && ps->first >= 0 &&
        (now - ps->opened) * 1e6 >= (double)c->o->batch_interval_us) {
      tt_err rc = flush_partition(c, p, "age");
      if (rc) return rc;
    }
    if (ps->assigned && ps->pending_commit) (void)commit_offset(c, p, ps->commit_at, 0);
  }
  return TT_OK;
}

static tt_err run(consumer *c) {
  tt_err rc = TT_OK;
  double backoff = 0.1, last_err_log = 0, last_housekeeping = 0;
  int eof_seen = 0;
  while (!c->fatal) {
    if (c->o->stop && *c->o->stop) break;
    /* Messages come in batches: one queue hand-over per batch rather than
     * per message (the rebalance callback is still served from here). */
    rd_kafka_message_t *msgs[512];
    ssize_t got = rd_kafka_consume_batch_queue(c->q, 100, msgs, 512);
    if (got < 0) got = 0;
    for (ssize_t i = 0; i < got; i++) {
      rd_kafka_message_t *msg = msgs[i];
      if (rc || c->fatal) {
        rd_kafka_message_destroy(msg);
        continue;
      }
      if (!msg->err) {
        rc = handle_message(c, msg);
        backoff = 0.1;
      } else if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        eof_seen = 1;
        if (msg->partition >= 0 && msg->partition < TT_KAFKA_MAX_PARTITIONS &&
            c->parts[msg->partition].assigned) {
          c->parts[msg->partition].eof = 1;
          if (!c->o->follow) rc = flush_partition(c, msg->partition, "end of partition");
        }
      } else {
        /* Brokers down, coordinator moving…: librdkafka reconnects with its
         * own backoff; we log (rate-limited) and keep polling. */
        c->m->broker_errors++;
        double now = tt_monotonic();
        if (now - last_err_log > backoff) {
          tt_warn("kafka", "%s (retrying)", rd_kafka_message_errstr(msg));
          last_err_log = now;
          backoff = backoff * 2 > 30 ? 30 : backoff * 2;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
          char es[256];
          rd_kafka_fatal_error(c->rk, es, sizeof es);
          rc = tt_error_set(c->err, TT_KAFKA, "fatal: %s", es);
        }
      }
      rd_kafka_message_destroy(msg);
    }
    if (rc || c->fatal) break;
    int idle = got == 0;
    /* Housekeeping walks every partition: do it when idle, after an end of
     * partition, or every 20 ms — not per message. */
    double now = tt_monotonic();
    if (idle || eof_seen || now - last_housekeeping >= 0.02) {
      last_housekeeping = now;
      eof_seen = 0;
      if ((rc = lander_reap(c))) break; /* commits of landed batches */
      if ((rc = flush_aged(c))) break;
      if (c->dlq) rd_kafka_poll(c->dlq, 0);
      log_stats(c, 0);
      if (!c->o->follow && all_drained(c)) break;
    }
  }
  if (c->fatal && !rc) rc = c->fatal;
  return rc;
}

/* librdkafka before 2.3 asserts in rd_kafka_sticky_assignor_state_destroy
 * when a cooperative-sticky member is destroyed before its first assignment
 * (librdkafka#4312, fixed by #4381; Debian 12 ships 2.0.2). A member told
 * to stop while it is still joining therefore waits, for a bounded time,
 * until the group has assigned it; messages that arrive meanwhile are
 * handled and landed as usual. */
static tt_err await_first_assignment(consumer *c) {
  double deadline = tt_monotonic() + 2.0 * c->o->session_timeout_ms / 1000.0 + 5;
  tt_err rc = TT_OK;
  if (!c->rebalanced)
    tt_info("kafka", "waiting for the group to assign this member before leaving");
  while (!rc && !c->rebalanced && !c->fatal && tt_monotonic() < deadline) {
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 100);
    if (!msg) continue;
    if (!msg->err) rc = handle_message(c, msg);
    rd_kafka_message_destroy(msg);
  }
  return rc ? rc : c->fatal;
}

/* ---- set-up ------------------------------------------------------------ */

/* librdkafka's own log lines go through tt_log, so daemons log JSON lines
 * only. Its connection errors are expected while a broker is away. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  tt_log(level <= 3   ? TT_LOG_WARN
         : level <= 5 ? TT_LOG_INFO
                      : TT_LOG_DEBUG,
         "rdkafka", "%s: %s", fac, buf);
}

static tt_err conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, tt_error *err) {
  char es[512];
  if (rd_kafka_conf_set(conf, k, v, es, sizeof es) != RD_KAFKA_CONF_OK)
    return tt_error_set(err, TT_KAFKA, "%s=%s: %s", k, v, es);
  return TT_OK;
}

/* The consumer-group member every Kafka consumer of telltale uses (ingest,
 * features stream): cooperative-sticky, manual offset commits, partition
 * EOF events, reconnect backoff, librdkafka's log through tt_log;
 * subscribed to topic. *rk and *q are the caller's (queue first). */
tt_err tt__kafka_consumer_open(const char *brokers, const char *group, const char *topic,
                               int session_timeout_ms, tt__kafka_rebalance_cb cb, void *opaque,
                               rd_kafka_t **rk, rd_kafka_queue_t **q, tt_error *err) {
  char es[512], stimeout[32], hb[32];
  tt_err rc;
  *rk = NULL;
  *q = NULL;
  snprintf(stimeout, sizeof stimeout, "%d", session_timeout_ms);
  snprintf(hb, sizeof hb, "%d", session_timeout_ms / 3 > 0 ? session_timeout_ms / 3 : 1);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *props[][2] = {
      {"bootstrap.servers", brokers},
      {"group.id", group},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
      {"session.timeout.ms", stimeout},
      {"heartbeat.interval.ms", hb},
      {"reconnect.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "5000"},
      {"fetch.wait.max.ms", "100"},
      {"queued.max.messages.kbytes", "131072"},
      {"log_level", "3"},
      /* errors reach us as events; the log callback carries the details */
      {"log.queue", "false"},
  };
  for (size_t i = 0; i < sizeof props / sizeof *props; i++)
    if ((rc = conf_set(conf, props[i][0], props[i][1], err))) {
      rd_kafka_conf_destroy(conf);
      return rc;
    }
  rd_kafka_conf_set_rebalance_cb(conf, cb);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_opaque(conf, opaque);
  *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, es, sizeof es);
  if (!*rk) {
    rd_kafka_conf_destroy(conf);
    return tt_error_set(err, TT_KAFKA, "consumer: %s", es);
  }
  rd_kafka_poll_set_consumer(*rk);
  *q = rd_kafka_queue_get_consumer(*rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(*rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) return kerr(err, "subscribe", e);
  return TT_OK;
}

static tt_err open_consumer(consumer *c) {
  const tt_kafka_ingest_opts *o = c->o;
  char es[512];
  tt_err rc = tt__kafka_consumer_open(o->brokers, o->group, o->topic, o->session_timeout_ms,
                                      rebalance_cb, c, &c->rk, &c->q, c->err);
  if (rc) return rc;
  if (o->dead_letter_topic && *o->dead_letter_topic) {
    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    if ((rc = conf_set(pc, "bootstrap.servers", o->brokers, c->err)) ||
        (rc = conf_set(pc, "enable.idempotence", "true", c->err))) {
      rd_kafka_conf_destroy(pc);
      return rc;
    }
    c->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, pc, es, sizeof es);
    if (!c->dlq) {
      rd_kafka_conf_destroy(pc);
      return tt_error_set(c->err, TT_KAFKA, "dead-letter producer: %s", es);
    }
  }
  return TT_OK;
}

tt_err tt_kafka_ingest(const tt_kafka_ingest_opts *opts, tt_kafka_metrics *metrics, tt_error *err) {
  tt_kafka_metrics local;
  tt_err rc = TT_OK;
  if (!metrics) metrics = &local;
  memset(metrics, 0, sizeof *metrics);
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
    metrics->lag[p] = -1;
  metrics->started = tt_monotonic();
  if (!opts->brokers || !*opts->brokers)
    return tt_error_set(err, TT_CONFIG, "no Kafka brokers (kafka://BROKERS/… or kafka.brokers)");
  if (opts->batch_rows < 1 || opts->batch_bytes < 1 || opts->session_timeout_ms < 1)
    return tt_error_set(err, TT_INVALID, "batch sizes and session timeout must be positive");
  consumer *c = calloc(1, sizeof *c);
  if (!c) return tt_error_set(err, TT_NOMEM, "out of memory");
  c->o = opts;
  c->m = metrics;
  c->err = err;
  c->last_stats_t = metrics->started;
  c->next_stats = metrics->started + 10;
  const tt_schema *schema = opts->schema;
  if (!schema) {
    if ((rc = tt_schema_parse_file(opts->schema_path, &c->schema, err))) goto out;
    schema = c->schema;
  }
  c->table = tt_schema_table(schema, opts->table);
  if (!c->table) {
    rc = tt_error_set(err, TT_SCHEMA, "schema has no table '%s'", opts->table);
    tt_error_at(err, opts->schema ? NULL : opts->schema_path, 0, "table");
    goto out;
  }
  snprintf(c->dl_partition, sizeof c->dl_partition, "table_name=%s", c->table->name);
  if ((rc = tt_record_parser_new(c->table, (size_t)opts->max_message_bytes, &c->parser, err)) ||
      (rc = tt__kafka_avro_new(&c->avro, opts->avro_registry, err)) ||
      (rc = tt_lake_open(opts->lake, 1, &c->lake, err)) ||
      (rc = lander_start(c)) ||
      (rc = open_consumer(c)))
    goto out;
  tt_info("kafka", "consuming %s from %s as group %s into %s/%s%s", opts->topic, opts->brokers,
          opts->group, opts->lake, c->table->name, opts->follow ? " (until SIGTERM)" : "");
  rc = run(c);
  if (!rc) rc = await_first_assignment(c);
  /* Shut down: land what is buffered (unless we already failed: then the
   * marker keeps those offsets for the next run), commit, leave the group. */
  if (!rc) rc = flush_all(c, "shutdown");
  if (!rc)
    for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
      if (c->parts[p].assigned && c->parts[p].pending_commit)
        (void)commit_offset(c, p, c->parts[p].commit_at, 1);
  if (c->rk && !c->rebalanced) {
    /* See await_first_assignment: closing now would abort the process. */
    tt_warn("kafka", "leaving without closing the consumer: it never got an assignment and "
                     "librdkafka < 2.3 aborts when such a cooperative-sticky member is closed");
    c->rk = NULL;
  }
  if (c->rk) {
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk); /* revokes: flush + commit */
    if (e && !rc) tt_warn("kafka", "closing the consumer: %s", rd_kafka_err2str(e));
    if (c->fatal && !rc) rc = c->fatal;
  }
  if (!rc) log_stats(c, 1);
out:
  lander_stop(c); /* the queue is empty unless we failed before closing */
  if (c->q) rd_kafka_queue_destroy(c->q);
  if (c->rk) rd_kafka_destroy(c->rk);
  if (c->dlq) {
    rd_kafka_flush(c->dlq, 5000);
    rd_kafka_destroy(c->dlq);
  }
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++) {
    tt_batch_destroy(c->parts[p].rows);
    tt_batch_destroy(c->parts[p].dl);
  }
  tt_lake_close(c->lake);
  tt__kafka_avro_destroy(c->avro);
  tt_record_parser_destroy(c->parser);
  tt_schema_destroy(c->schema);
  free(c);
  return rc;
}

tt_err tt_kafka_ingest_opts_from_config(tt_kafka_ingest_opts *o, const tt_config *cfg,
                                        tt_error *err) {
  memset(o, 0, sizeof *o);
  o->owned_[0] = tt_config_get_path(cfg, "lake");
  o->owned_[1] = tt_config_get_path(cfg, "kafka.schema");
  if (!o->owned_[0] || !o->owned_[1]) return tt_error_set(err, TT_NOMEM, "out of memory");
  o->lake = o->owned_[0];
  o->schema_path = o->owned_[1];
  o->avro_registry = tt_config_get(cfg, "kafka.schema_registry");
  if (!strncmp(o->avro_registry, "dir:", 4) && o->avro_registry[4] != '/') {
    const char *pd = tt_config_project_dir(cfg);
    size_t n = strlen(pd) + strlen(o->avro_registry) + 8;
    if (!(o->owned_[2] = malloc(n))) return tt_error_set(err, TT_NOMEM, "out of memory");
    snprintf(o->owned_[2], n, "dir:%s/%s", pd, o->avro_registry + 4);
    o->avro_registry = o->owned_[2];
  }
  o->brokers = tt_config_get(cfg, "kafka.brokers");
  o->group = tt_config_get(cfg, "kafka.group");
  o->table = tt_config_get(cfg, "kafka.table");
  o->dead_letter_topic = tt_config_get(cfg, "kafka.dead_letter_topic");
  o->batch_rows = tt_config_get_int(cfg, "kafka.batch_rows");
  o->batch_bytes = tt_config_get_int(cfg, "kafka.batch_bytes");
  o->batch_interval_us = tt_config_get_duration(cfg, "kafka.batch_interval");
  o->buffer_rows = tt_config_get_int(cfg, "kafka.buffer_rows");
  o->max_message_bytes = tt_config_get_int(cfg, "ingest.max_record_bytes");
  o->session_timeout_ms = (int)(tt_config_get_duration(cfg, "kafka.session_timeout") / 1000);
  return TT_OK;
}

void tt_kafka_ingest_opts_release(tt_kafka_ingest_opts *o) {
  for (size_t i = 0; i < sizeof o->owned_ / sizeof *o->owned_; i++) {
    free(o->owned_[i]);
    o->owned_[i] = NULL;
  }
}
