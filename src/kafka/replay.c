/* `telltale replay`: telemetry files -> Kafka, one JSON message per record,
 * keyed by vehicle id so that a vehicle's records stay in order on one
 * partition (and so that the mock broker's partitions fill evenly). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csv.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "core/json_escape.h"
#include "telltale/kafka.h"
#include "telltale/log.h"
#include "telltale/time.h"

#define MAX_LINE (16u << 20) /* longest record we read: a cap, not a guess */

typedef struct out_buf {
  char *p;
  size_t len, cap;
} out_buf;

static int ob_put(out_buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    if (cap > MAX_LINE * 8) return -1;
    char *q = realloc(b->p, cap);
    if (!q) return -1;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

typedef struct replay {
  const tt_kafka_replay_opts *o;
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  tt_kafka_replay_stats *st;
  double t0;
  volatile int delivery_failed;
  char delivery_err[256];
  /* CSV state */
  char **header;
  size_t nheader, hcap;
  int in_header;
  size_t field;
  out_buf json;
  char key[256];
  size_t keylen;
  int have_key;
  long line;
  const char *file;
  tt_err rc;
  tt_error *err;
} replay;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  replay *r = opaque;
  if (m->err && !r->delivery_failed) {
    r->delivery_failed = 1;
    snprintf(r->delivery_err, sizeof r->delivery_err, "%s", rd_kafka_err2str(m->err));
  }
}

/* Pace to opts->rate by sleeping until record n is due. */
static void pace(replay *r) {
  if (r->o->rate <= 0) return;
  double due = r->t0 + (double)r->st->records / r->o->rate;
  double now = tt_monotonic();
  if (due > now) {
    struct timespec ts = {(time_t)(due - now), (long)((due - now - (time_t)(due - now)) * 1e9)};
    nanosleep(&ts, NULL);
  }
}

static tt_err produce(replay *r, const char *payload, size_t len, const char *key, size_t keylen) {
  pace(r);
  for (;;) {
    if (r->delivery_failed)
      return tt_error_set(r->err, TT_KAFKA, "delivery failed: %s", r->delivery_err);
    if (rd_kafka_produce(r->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)payload, len,
                         key, keylen, NULL) == 0)
      break;
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      return tt_error_set(r->err, TT_KAFKA, "produce: %s", rd_kafka_err2str(e));
    rd_kafka_poll(r->rk, 50); /* let deliveries drain the queue */
  }
  r->st->records++;
  r->st->bytes += len;
  if ((r->st->records & 1023) == 0) rd_kafka_poll(r->rk, 0);
  return TT_OK;
}

/* ---- JSON lines ------------------------------------------------------------ */

static tt_err replay_jsonl(replay *r, FILE *f) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  tt_err rc = TT_OK;
  const char *kf = r->o->key_field;
  while ((n = getline(&line, &cap, f)) >= 0) {
    r->line++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    size_t i = 0;
    while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t'))
      i++;
    if (i == (size_t)n) {
      r->st->skipped++;
      continue;
    }
    if ((size_t)n > MAX_LINE) {
      rc = tt_error_set(r->err, TT_LIMIT, "record longer than %u bytes", MAX_LINE);
      break;
    }
    json_error_t je;
    json_t *obj = json_loadb(line, (size_t)n, JSON_DECODE_ANY, &je);
    json_t *k = json_is_object(obj) ? json_object_get(obj, kf) : NULL;
    if (!json_is_object(obj)) {
      rc = tt_error_set(r->err, TT_PARSE, "not a JSON object: %s", obj ? "wrong type" : je.text);
    } else if (!json_is_string(k)) {
      rc = tt_error_set(r->err, TT_PARSE, "no string field '%s' for the message key", kf);
      tt_error_at(r->err, NULL, 0, kf);
    } else {
      rc = produce(r, line, (size_t)n, json_string_value(k), json_string_length(k));
    }
    json_decref(obj);
    if (rc) break;
  }
  if (!rc && ferror(f)) rc = tt_error_set(r->err, TT_IO, "read error: %s", strerror(errno));
  if (rc) tt_error_at(r->err, r->file, r->line, NULL);
  free(line);
  return rc;
}

/* ---- CSV ------------------------------------------------------------------- */

static int looks_number(const char *s, size_t n) {
  if (n == 0 || n > 64) return 0;
  char buf[80], *end;
  memcpy(buf, s, n);
  buf[n] = '\0';
  errno = 0;
  double v = strtod(buf, &end);
  (void)v;
  /* JSON has no inf/nan or hex: leave those as strings */
  if (*end || errno) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789+-.eE", buf[i])) return 0;
  return 1;
}

static void csv_field(void *s, size_t n, void *data) {
  replay *r = data;
  if (r->rc) return;
  if (r->in_header) {
    if (r->nheader == r->hcap) {
      size_t cap = r->hcap ? r->hcap * 2 : 32;
      char **h = realloc(r->header, cap * sizeof *h);
      if (!h) {
        r->rc = tt_error_set(r->err, TT_NOMEM, "out of memory");
        return;
      }
      r->header = h;
      r->hcap = cap;
    }
    r->header[r->nheader] = strndup(s ? s : "", n);
    if (!r->header[r->nheader]) {
      r->rc = tt_error_set(r->err, TT_NOMEM, "out of memory");
      return;
    }
    if (!strcmp(r->header[r->nheader], r->o->key_field)) r->have_key = 1;
    r->nheader++;
    return;
  }
  size_t f = r->field++;
  if (f >= r->nheader) {
    r->rc = tt_error_set(r->err, TT_PARSE, "more fields than the header's %zu", r->nheader);
    return;
  }
  if (!strcmp(r->header[f], r->o->key_field)) {
    if (n >= sizeof r->key) {
      r->rc = tt_error_set(r->err, TT_PARSE, "key field longer than %zu bytes", sizeof r->key - 1);
      return;
    }
    memcpy(r->key, s, n);
    r->keylen = n;
  }
  if (n == 0) return; /* empty cell: null, left out */
  char esc[512];
  int bad = 0;
  bad |= ob_put(&r->json, r->json.len > 1 ? ",\"" : "\"", r->json.len > 1 ? 2 : 1);
  size_t el = tt_json_escape(esc, sizeof esc, r->header[f]);
  bad |= ob_put(&r->json, esc, el);
  bad |= ob_put(&r->json, "\":", 2);
  if (looks_number(s, n) || (n == 4 && !memcmp(s, "true", 4)) ||
      (n == 5 && !memcmp(s, "false", 5))) {
    bad |= ob_put(&r->json, s, n);
  } else {
    /* escape the value; tt_json_escape wants a NUL-terminated string */
    char *v = strndup(s, n);
    size_t cap = n * 6 + 3;
    char *e = v ? malloc(cap) : NULL;
    if (!e)
      bad = 1;
    else {
      size_t l = tt_json_escape(e, cap, v);
      bad |= ob_put(&r->json, "\"", 1);
      bad |= ob_put(&r->json, e, l);
      bad |= ob_put(&r->json, "\"", 1);
    }
    free(v);
    free(e);
  }
  if (bad) r->rc = tt_error_set(r->err, TT_NOMEM, "out of memory");
}

static void csv_row(int c, void *data) {
  (void)c;
  replay *r = data;
  r->line++;
  if (r->rc) return;
  if (r->in_header) {
    r->in_header = 0;
    if (!r->have_key) {
      r->rc = tt_error_set(r->err, TT_PARSE, "no column '%s' for the message key", r->o->key_field);
      tt_error_at(r->err, r->file, r->line, r->o->key_field);
    }
    r->json.len = 0;
    ob_put(&r->json, "{", 1);
    return;
  }
  if (r->field == 1 && r->json.len == 1) { /* a blank line */
    r->st->skipped++;
  } else if (r->keylen == 0) {
    r->rc = tt_error_set(r->err, TT_PARSE, "empty message key");
    tt_error_at(r->err, r->file, r->line, r->o->key_field);
  } else if (ob_put(&r->json, "}", 1)) {
    r->rc = tt_error_set(r->err, TT_NOMEM, "out of memory");
  } else if ((r->rc = produce(r, r->json.p, r->json.len, r->key, r->keylen)) != TT_OK) {
    tt_error_at(r->err, r->file, r->line, NULL);
  }
  r->field = 0;
  r->keylen = 0;
  r->json.len = 0;
  ob_put(&r->json, "{", 1);
}

static tt_err replay_csv(replay *r, FILE *f) {
  struct csv_parser p;
  if (csv_init(&p, CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
    return tt_error_set(r->err, TT_NOMEM, "csv_init failed");
  r->in_header = 1;
  r->rc = TT_OK;
  r->field = 0;
  char buf[1 << 16];
  size_t n;
  while (!r->rc && (n = fread(buf, 1, sizeof buf, f)) > 0) {
    if (csv_parse(&p, buf, n, csv_field, csv_row, r) != n && !r->rc) {
      r->rc = tt_error_set(r->err, TT_PARSE, "CSV: %s", csv_strerror(csv_error(&p)));
      tt_error_at(r->err, r->file, r->line + 1, NULL);
    }
  }
  if (!r->rc) csv_fini(&p, csv_field, csv_row, r);
  csv_free(&p);
  for (size_t i = 0; i < r->nheader; i++)
    free(r->header[i]);
  r->nheader = 0;
  return r->rc;
}

static int is_csv(const char *path, FILE *f) {
  const char *dot = strrchr(path, '.');
  if (dot && !strcmp(dot, ".csv")) return 1;
  if (dot && (!strcmp(dot, ".json") || !strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson"))) return 0;
  int c;
  while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {
  }
  if (c != EOF) ungetc(c, f);
  return c != '{';
}

tt_err tt_kafka_replay(const tt_kafka_replay_opts *opts, const char *const *files, size_t nfiles,
                       tt_kafka_replay_stats *stats, tt_error *err) {
  char errstr[512];
  tt_err rc = TT_OK;
  tt_kafka_replay_stats local;
  tt_kafka_replay_opts o = *opts;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  if (!o.key_field) o.key_field = "vehicle_id";
  if (o.format != TT_KAFKA_JSON)
    return tt_error_set(err, TT_UNSUPPORTED, "replay --format avro is not implemented yet");
  if (!o.brokers || !*o.brokers)
    return tt_error_set(err, TT_CONFIG, "no Kafka brokers (URL or kafka.brokers)");
  replay r = {.o = &o, .st = stats, .err = err, .t0 = tt_monotonic()};
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  struct {
    const char *k, *v;
  } props[] = {
      {"bootstrap.servers", o.brokers},
      {"linger.ms", "20"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "500000"},
      /* lz4 keeps the mock broker's per-partition 5 MB budget for more records */
      {"compression.codec", "lz4"},
      {"enable.idempotence", "true"},
      {"log_level", "4"},
  };
  for (size_t i = 0; i < sizeof props / sizeof *props; i++)
    if (rd_kafka_conf_set(conf, props[i].k, props[i].v, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return tt_error_set(err, TT_KAFKA, "%s: %s", props[i].k, errstr);
    }
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_opaque(conf, &r);
  r.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!r.rk) {
    rd_kafka_conf_destroy(conf);
    return tt_error_set(err, TT_KAFKA, "rd_kafka_new: %s", errstr);
  }
  r.rkt = rd_kafka_topic_new(r.rk, o.topic, NULL);
  if (!r.rkt) {
    rc = tt_error_set(err, TT_KAFKA, "topic %s: %s", o.topic,
                      rd_kafka_err2str(rd_kafka_last_error()));
    goto out;
  }
  for (size_t i = 0; i < nfiles && !rc; i++) {
    if (o.stop && *o.stop) break;
    FILE *f = fopen(files[i], "r");
    if (!f) {
      rc = tt_error_set(err, TT_NOTFOUND, "cannot open: %s", strerror(errno));
      tt_error_at(err, files[i], 0, NULL);
      break;
    }
    r.file = files[i];
    r.line = 0;
    rc = is_csv(files[i], f) ? replay_csv(&r, f) : replay_jsonl(&r, f);
    fclose(f);
    stats->files++;
    tt_info("replay", "%s: %" PRIu64 " records so far", files[i], stats->records);
  }
  /* Wait for every acknowledgement: replay is done only when the broker has it. */
  while (rd_kafka_outq_len(r.rk) > 0) {
    rd_kafka_flush(r.rk, 1000);
    if (o.stop && *o.stop) break;
  }
  if (!rc && rd_kafka_outq_len(r.rk) > 0)
    rc = tt_error_set(err, TT_INTERRUPTED, "stopped with %d messages unacknowledged",
                      rd_kafka_outq_len(r.rk));
  if (!rc && r.delivery_failed)
    rc = tt_error_set(err, TT_KAFKA, "delivery failed: %s", r.delivery_err);
out:
  free(r.header);
  free(r.json.p);
  if (r.rkt) rd_kafka_topic_destroy(r.rkt);
  rd_kafka_destroy(r.rk);
  return rc;
}
