/* The Kafka source of `features stream`: a consumer-group member whose
 * messages (JSON telemetry records, as `telltale replay` publishes them)
 * are validated by the ingest module's record parser and handed to the
 * online store one partition's batch at a time.
 *
 * Exactly once into the online state:
 *   - every batch is stored with its partition's position (key
 *     "kafka:TOPIC/P", value = next offset) in the same transaction as the
 *     states and values (tt_online_update);
 *   - the offset is committed to the group only after that, when
 *     tt_features_stream asks for the next batch;
 *   - on assignment the stored position, not the committed offset, says
 *     where to start (the beginning when nothing is stored), and messages
 *     below it are skipped: a crash between the store write and the
 *     commit re-reads them without folding twice. The committed offsets
 *     serve lag monitoring and Kafka tooling.
 *
 * Everything runs on the thread that calls next(): rebalances are served
 * from rd_kafka_consume_batch_queue, and by then every batch handed out has
 * been applied and committed, so a revoked partition only drops messages
 * that were never applied (its next owner re-reads them). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafka/kafka_internal.h"
#include "telltale/features.h"
#include "telltale/ingest.h"
#include "telltale/kafka.h"
#include "telltale/lake.h"
#include "telltale/log.h"
#include "telltale/time.h"

#define POLL_MAX 512

typedef struct kpart {
  int assigned, eof;
  int has;           /* the open batch consumed messages (rows may be 0: all invalid) */
  int64_t next;      /* next offset to fold; offsets below are in the store */
  int64_t last;      /* last offset of the open batch */
  tt_batch *rows;    /* the open batch */
  int pending;       /* a commit failed: retry commit_at */
  int64_t commit_at; /* offset to commit */
} kpart;

typedef struct ksrc {
  tt_kafka_feature_source_opts o;
  char *brokers, *topic, *group;
  rd_kafka_t *rk;
  rd_kafka_queue_t *q;
  tt_record_parser *parser;
  tt_online *on;
  int max_retries;
  kpart *parts; /* [TT_KAFKA_MAX_PARTITIONS] */
  int returned; /* partition of the batch handed out last, -1 */
  int rebalanced;
  tt_err fatal; /* an error in the rebalance callback */
  tt_error cberr;
  uint64_t messages, invalid, skipped, commits;
  double next_log, stop_deadline;
  char key[300];
} ksrc;

static void backoff_sleep(int attempt) {
  long ms = 100L << (attempt < 5 ? attempt : 5);
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void part_key(const ksrc *s, int32_t p, char *buf, size_t size) {
  snprintf(buf, size, "kafka:%s/%" PRId32, s->topic, p);
}

/* The position stored with the online state for partition p (0: none),
 * retried with backoff while the store is unreachable. */
static tt_err stored_position(ksrc *s, int32_t p, uint64_t *pos, tt_error *err) {
  char key[300];
  part_key(s, p, key, sizeof key);
  for (int attempt = 0;; attempt++) {
    tt_err rc = tt_online_offset(s->on, key, pos, err);
    if (rc != TT_REDIS || attempt >= s->max_retries || (s->o.stop && *s->o.stop)) return rc;
    tt_warn("kafka", "reading the stored position of %s failed (%s); retry %d", key,
            err ? err->msg : "", attempt + 1);
    backoff_sleep(attempt);
  }
}

static tt_err commit(ksrc *s, int32_t p, int64_t offset, int loud) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, s->topic, p)->offset = offset;
  rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 0);
  if (!e && l->elems[0].err) e = l->elems[0].err;
  rd_kafka_topic_partition_list_destroy(l);
  kpart *kp = &s->parts[p];
  if (e) {
    /* The store already holds the batch with its position: a failed
     * commit only means a restart re-reads what it will skip. */
    kp->pending = 1;
    kp->commit_at = offset;
    if (loud)
      tt_warn("kafka", "partition %" PRId32 ": commit of offset %" PRId64 " failed: %s (retrying)",
              p, offset, rd_kafka_err2str(e));
    return TT_KAFKA;
  }
  kp->pending = 0;
  s->commits++;
  return TT_OK;
}

static void drop_open_batch(kpart *kp) {
  if (kp->rows) tt_batch_reset(kp->rows);
  kp->has = 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  ksrc *s = opaque;
  int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
  if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt && !s->fatal; i++) {
      rd_kafka_topic_partition_t *tp = &parts->elems[i];
      int32_t p = tp->partition;
      if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS) {
        s->fatal =
            tt_error_set(&s->cberr, TT_LIMIT, "partition %" PRId32 " beyond the supported %d", p,
                         TT_KAFKA_MAX_PARTITIONS);
        break;
      }
      kpart *kp = &s->parts[p];
      uint64_t pos = 0;
      tt_err rc = stored_position(s, p, &pos, &s->cberr);
      if (rc) {
        s->fatal = rc;
        break;
      }
      if (!kp->rows) kp->rows = tt_lake_batch_new(s->o.table, s->o.batch_rows + POLL_MAX);
      if (!kp->rows) {
        s->fatal = tt_error_set(&s->cberr, TT_NOMEM, "out of memory");
        break;
      }
      drop_open_batch(kp);
      kp->assigned = 1;
      kp->eof = 0;
      kp->pending = 0;
      /* The store is the truth: start at its position. Without one the
       * store has seen nothing of this partition (new store, memory store,
       * new definition), so its state needs every event: start at the
       * beginning, whatever the group committed. */
      kp->next = pos > 0 ? (int64_t)pos : -1;
      tp->offset = pos > 0 ? (int64_t)pos : RD_KAFKA_OFFSET_BEGINNING;
      tt_info("kafka", "partition %" PRId32 " assigned, starting at %s%" PRIu64, p,
              pos > 0 ? "the stored position " : "the beginning (nothing stored) ", pos);
    }
    if (s->fatal) return;
    rd_kafka_error_t *er = NULL;
    rd_kafka_resp_err_t ae = 0;
    if (coop)
      er = rd_kafka_incremental_assign(rk, parts);
    else
      ae = rd_kafka_assign(rk, parts);
    if (er) {
      s->fatal = tt_error_set(&s->cberr, TT_KAFKA, "assign: %s", rd_kafka_error_string(er));
      rd_kafka_error_destroy(er);
    } else if (ae) {
      s->fatal = tt_error_set(&s->cberr, TT_KAFKA, "assign: %s", rd_kafka_err2str(ae));
    }
    s->rebalanced = 1;
  } else if (e == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    int lost = rd_kafka_assignment_lost(rk);
    for (int i = 0; i < parts->cnt; i++) {
      int32_t p = parts->elems[i].partition;
      if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS || !s->parts[p].assigned) continue;
      kpart *kp = &s->parts[p];
      /* Buffered messages were never applied nor committed: the next
       * owner reads them again. */
      drop_open_batch(kp);
      if (!lost && kp->pending) (void)commit(s, p, kp->commit_at, 1);
      kp->assigned = 0;
    }
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

static void reject(ksrc *s, const rd_kafka_message_t *msg, const char *reason, const char *field,
                   const char *detail) {
  s->invalid++;
  /* The first ones in full, then every 1000th: a poisoned topic must not
   * flood the log. */
  if (s->invalid <= 10 || s->invalid % 1000 == 0)
    tt_warn("kafka",
            "partition %" PRId32 " offset %" PRId64 ": invalid message (%s%s%s%s%s); %" PRIu64
            " so far",
            msg->partition, msg->offset, reason, *field ? ", field " : "", field,
            *detail ? ": " : "", detail, s->invalid);
}

static tt_err handle(ksrc *s, const rd_kafka_message_t *msg, tt_error *err) {
  int32_t p = msg->partition;
  if (p < 0 || p >= TT_KAFKA_MAX_PARTITIONS || !s->parts[p].assigned) return TT_OK;
  kpart *kp = &s->parts[p];
  s->messages++;
  kp->eof = 0;
  if (kp->next >= 0 && msg->offset < kp->next) {
    s->skipped++; /* already folded into the store */
    return TT_OK;
  }
  if (kp->next >= 0 && msg->offset > kp->next)
    tt_warn("kafka",
            "partition %" PRId32 ": offsets %" PRId64 "-%" PRId64
            " are gone from the broker (retention)",
            p, kp->next, msg->offset - 1);
  tt_batch *b = kp->rows;
  tt_reject rej;
  memset(&rej, 0, sizeof rej);
  int r = tt_record_parse_json(s->parser, msg->payload ? msg->payload : "", msg->len, b, &rej);
  if (r < 0) return tt_error_set(err, TT_NOMEM, "cannot buffer a message of partition %" PRId32, p);
  if (r == 1) {
    reject(s, msg, tt_reject_name(rej.reason), rej.field, rej.detail);
  } else {
    /* The engine needs the entity and the time of every row. */
    size_t row = b->nrows - 1;
    const char *missing = !b->cols[s->o.table->entity_index].valid[row] ? s->o.table->entity_column
                          : !b->cols[s->o.table->time_index].valid[row] ? s->o.table->time_column
                                                                        : NULL;
    if (missing) {
      tt_batch_pop_row(b);
      reject(s, msg, "missing_required", missing, "");
    }
  }
  kp->has = 1;
  kp->last = msg->offset;
  kp->next = msg->offset + 1;
  return TT_OK;
}

static int drained(ksrc *s) {
  if (!s->rebalanced) return 0;
  for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
    if (s->parts[p].assigned && (!s->parts[p].eof || s->parts[p].has)) return 0;
  return 1;
}

static void log_progress(ksrc *s, const char *what) {
  tt_info("kafka",
          "%s: %" PRIu64 " messages, %" PRIu64 " invalid, %" PRIu64 " redelivered skipped, %" PRIu64
          " commits",
          what, s->messages, s->invalid, s->skipped, s->commits);
}

/* Poll once (up to 100 ms), then as long as messages keep coming and no
 * partition's batch is full. */
static tt_err poll_round(ksrc *s, tt_error *err) {
  int timeout = 100;
  for (;;) {
    rd_kafka_message_t *msgs[POLL_MAX];
    ssize_t got = rd_kafka_consume_batch_queue(s->q, timeout, msgs, POLL_MAX);
    if (got < 0) got = 0;
    tt_err rc = TT_OK;
    for (ssize_t i = 0; i < got; i++) {
      rd_kafka_message_t *m = msgs[i];
      if (!rc && !s->fatal) {
        if (!m->err) {
          rc = handle(s, m, err);
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          if (m->partition >= 0 && m->partition < TT_KAFKA_MAX_PARTITIONS)
            s->parts[m->partition].eof = 1;
        } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
          char es[256];
          rd_kafka_fatal_error(s->rk, es, sizeof es);
          rc = tt_error_set(err, TT_KAFKA, "fatal: %s", es);
        } else {
          /* librdkafka reconnects by itself; its log callback says why. */
          tt_debug("kafka", "%s (retrying)", rd_kafka_message_errstr(m));
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (s->fatal) {
      if (err) *err = s->cberr;
      return s->fatal;
    }
    if (rc) return rc;
    if (got == 0) return TT_OK;
    for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
      if (s->parts[p].assigned && s->parts[p].rows && s->parts[p].rows->nrows >= s->o.batch_rows)
        return TT_OK;
    timeout = 0;
  }
}

static int ksrc_next(void *ctx, const char **table, const tt_batch **b, uint64_t *after,
                     tt_error *err) {
  ksrc *s = ctx;
  /* Being asked for the next batch means the last one is in the store. */
  if (s->returned >= 0) {
    kpart *kp = &s->parts[s->returned];
    int64_t to = kp->last + 1;
    drop_open_batch(kp);
    (void)commit(s, s->returned, to, 1);
    s->returned = -1;
  }
  for (;;) {
    for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++) {
      kpart *kp = &s->parts[p];
      if (!kp->assigned || !kp->has) continue;
      part_key(s, p, s->key, sizeof s->key);
      s->returned = p;
      *table = s->o.table->name;
      *b = kp->rows;
      *after = (uint64_t)(kp->last + 1);
      return 1;
    }
    double now = tt_monotonic();
    if (now >= s->next_log) {
      log_progress(s, "progress");
      s->next_log = now + 10;
    }
    for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
      if (s->parts[p].assigned && s->parts[p].pending) (void)commit(s, p, s->parts[p].commit_at, 0);
    if (s->o.stop && *s->o.stop) {
      /* librdkafka < 2.3 aborts when a cooperative-sticky member that was
       * never assigned is closed (librdkafka#4312): wait, bounded, for the
       * assignment before leaving. */
      if (s->rebalanced) return 0;
      if (s->stop_deadline == 0)
        s->stop_deadline = now + 2.0 * s->o.session_timeout_ms / 1000.0 + 5;
      else if (now >= s->stop_deadline)
        return 0;
    }
    if (!s->o.follow && drained(s)) return 0;
    if (poll_round(s, err)) return -1;
  }
}

static const char *ksrc_key(void *ctx) { return ((ksrc *)ctx)->key; }

static tt_err ksrc_attach(void *ctx, tt_online *on, int max_retries, tt_error *err) {
  (void)err;
  ksrc *s = ctx;
  s->on = on;
  s->max_retries = max_retries;
  return TT_OK;
}

static tt_err ksrc_seek(void *ctx, uint64_t offset, tt_error *err) {
  (void)ctx;
  (void)offset;
  return tt_error_set(err, TT_INVALID, "a Kafka source keeps one position per partition");
}

static void ksrc_counters(void *ctx, uint64_t *invalid, uint64_t *skipped) {
  ksrc *s = ctx;
  *invalid = s->invalid;
  *skipped = s->skipped;
}

static void ksrc_close(void *ctx) {
  ksrc *s = ctx;
  if (!s) return;
  if (s->rk) {
    for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
      if (s->parts[p].assigned && s->parts[p].pending) (void)commit(s, p, s->parts[p].commit_at, 1);
    log_progress(s, "done");
    if (s->rebalanced) {
      rd_kafka_resp_err_t e = rd_kafka_consumer_close(s->rk); /* revokes: drops unapplied */
      if (e) tt_warn("kafka", "closing the consumer: %s", rd_kafka_err2str(e));
      if (s->q) rd_kafka_queue_destroy(s->q);
      rd_kafka_destroy(s->rk);
    } else {
      if (s->q) rd_kafka_queue_destroy(s->q);
      tt_warn("kafka", "leaving without closing the consumer: it never got an assignment and "
                       "librdkafka < 2.3 aborts when such a cooperative-sticky member is closed");
    }
  }
  if (s->parts)
    for (int p = 0; p < TT_KAFKA_MAX_PARTITIONS; p++)
      tt_batch_destroy(s->parts[p].rows);
  free(s->parts);
  tt_record_parser_destroy(s->parser);
  free(s->brokers);
  free(s->topic);
  free(s->group);
  free(s);
}

tt_err tt_kafka_feature_source(const tt_kafka_feature_source_opts *o, tt_feature_source *out,
                               tt_error *err) {
  memset(out, 0, sizeof *out);
  if (!o->brokers || !*o->brokers)
    return tt_error_set(err, TT_CONFIG, "no Kafka brokers (kafka://BROKERS/… or kafka.brokers)");
  if (!o->table) return tt_error_set(err, TT_INVALID, "no table for the Kafka source");
  ksrc *s = calloc(1, sizeof *s);
  if (!s) return tt_error_set(err, TT_NOMEM, "out of memory");
  s->o = *o;
  if (!s->o.batch_rows) s->o.batch_rows = 2048;
  if (s->o.session_timeout_ms <= 0) s->o.session_timeout_ms = 10000;
  if (s->o.max_message_bytes <= 0) s->o.max_message_bytes = 1 << 20;
  s->returned = -1;
  s->next_log = tt_monotonic() + 10;
  tt_err rc;
  s->brokers = strdup(o->brokers);
  s->topic = strdup(o->topic);
  s->group = strdup(o->group);
  s->parts = calloc(TT_KAFKA_MAX_PARTITIONS, sizeof *s->parts);
  if (!s->brokers || !s->topic || !s->group || !s->parts) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto fail;
  }
  if ((rc = tt_record_parser_new(o->table, (size_t)s->o.max_message_bytes, &s->parser, err)) ||
      (rc = tt__kafka_consumer_open(s->brokers, s->group, s->topic, s->o.session_timeout_ms,
                                    rebalance_cb, s, &s->rk, &s->q, err)))
    goto fail;
  tt_info("kafka", "consuming %s from %s as group %s into the online store%s", s->topic, s->brokers,
          s->group, s->o.follow ? " (until SIGTERM)" : "");
  out->ctx = s;
  out->id = s->topic;
  out->next = ksrc_next;
  out->seek = ksrc_seek;
  out->close = ksrc_close;
  out->attach = ksrc_attach;
  out->batch_key = ksrc_key;
  out->counters = ksrc_counters;
  out->stop = o->stop;
  return TT_OK;
fail:
  if (s->rk && !s->rebalanced) {
    /* never assigned: destroying is safe only before subscribing; the
     * subscribe failed or never happened here */
    if (s->q) rd_kafka_queue_destroy(s->q);
    rd_kafka_destroy(s->rk);
    s->rk = NULL;
    s->q = NULL;
  }
  ksrc_close(s);
  return rc;
}
