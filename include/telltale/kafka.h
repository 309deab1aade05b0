/* telltale — Kafka: the development broker, the replay producer, the
 * Confluent wire-format frame, and streaming ingest into the lake.
 *
 * Kafka locations are written as URLs: kafka://HOST:PORT[,HOST:PORT…]/TOPIC.
 * An empty broker list (kafka:///TOPIC) means "kafka.brokers from the
 * configuration".
 *
 * Exactly once into the lake (see src/kafka/README.md): records are written
 * in micro-batches per partition; each batch becomes part files whose names
 * carry topic, partition and offset range, written under a temporary name,
 * fsynced and renamed; only then is the offset committed. On (re)assignment
 * the consumer trusts the lake over the committed offset: it removes
 * incomplete batches and resumes after the last batch that fully landed.
 */
#ifndef TELLTALE_KAFKA_H
#define TELLTALE_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/config.h"
#include "telltale/error.h"
#include "telltale/features.h"
#include "telltale/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- URLs ---------------------------------------------------------------- */

typedef struct tt_kafka_url {
  char brokers[512]; /* "" when the URL named none */
  char topic[250];
} tt_kafka_url;

/* Parse kafka://BROKERS/TOPIC. The topic must be a legal Kafka topic name
 * ([A-Za-z0-9._-], 1..249 chars). */
tt_err tt_kafka_url_parse(const char *url, tt_kafka_url *out, tt_error *err) TT_WARN_UNUSED;

/* ---- Development broker (librdkafka's mock cluster) ----------------------- */

typedef struct tt_kafka_dev tt_kafka_dev;

/* Start an in-process mock cluster of `brokers` brokers (1..16) that
 * listens on 127.0.0.1. When port > 0, a forwarder also listens on
 * 127.0.0.1:port and relays to broker 1, so that clients can bootstrap from
 * a fixed address (brokers are then found through metadata as usual). The
 * handle is the caller's to destroy. */
tt_err tt_kafka_dev_start(tt_kafka_dev **out, int brokers, int port, tt_error *err) TT_WARN_UNUSED;
/* Bootstrap servers of the cluster ("127.0.0.1:P1,127.0.0.1:P2…"), or the
 * forwarder's address first when a port was given. Owned by dev. */
const char *tt_kafka_dev_bootstraps(const tt_kafka_dev *dev);
/* Create a topic. The mock keeps only about 5 MB and 100,000 message sets
 * per partition and drops the oldest beyond that: use enough partitions. */
tt_err tt_kafka_dev_topic_create(tt_kafka_dev *dev, const char *topic, int partitions,
                                 tt_error *err) TT_WARN_UNUSED;
/* Take broker `id` (1-based) down or up again (fault injection). */
tt_err tt_kafka_dev_broker_set_down(tt_kafka_dev *dev, int id, int down,
                                    tt_error *err) TT_WARN_UNUSED;
void tt_kafka_dev_destroy(tt_kafka_dev *dev);

/* ---- Replay: telemetry files -> Kafka ------------------------------------ */

typedef enum tt_kafka_format { TT_KAFKA_JSON = 0, TT_KAFKA_AVRO = 1 } tt_kafka_format;

typedef struct tt_kafka_replay_opts {
  const char *brokers; /* bootstrap servers */
  const char *topic;
  const char *key_field; /* record field used as message key; "vehicle_id" if NULL */
  double rate;           /* messages per second; <= 0: as fast as possible */
  tt_kafka_format format;
  volatile int *stop; /* optional: set to non-zero to stop early */
} tt_kafka_replay_opts;

typedef struct tt_kafka_replay_stats {
  uint64_t files, records, bytes, skipped; /* skipped: blank lines */
} tt_kafka_replay_stats;

/* Publish each record of each file (CSV with a header line, or JSON lines;
 * chosen by extension .csv / .json / .jsonl / .ndjson, or by the first
 * byte) as one JSON message keyed by opts->key_field. CSV values that parse
 * as numbers become JSON numbers, "true"/"false" booleans, empty cells are
 * left out (null). Waits until every message is acknowledged. A record
 * without the key field, an unreadable file or a delivery failure is an
 * error naming the file and line. */
tt_err tt_kafka_replay(const tt_kafka_replay_opts *opts, const char *const *files, size_t nfiles,
                       tt_kafka_replay_stats *stats, tt_error *err) TT_WARN_UNUSED;

/* ---- Confluent wire format ------------------------------------------------ */

/* Split a Confluent frame: magic byte 0, 4-byte big-endian schema id, body.
 * TT_PARSE (with a reason in err) for a short frame or a wrong magic byte. */
tt_err tt_kafka_frame_parse(const void *msg, size_t len, int32_t *schema_id, const void **body,
                            size_t *body_len, tt_error *err) TT_WARN_UNUSED;
/* Write the 5-byte header for schema_id into out[0..5). */
void tt_kafka_frame_header(int32_t schema_id, unsigned char out[5]);

/* ---- Metrics --------------------------------------------------------------- */

/* Every counter of a consumer in one place, so that logs now and the
 * Prometheus endpoint later read the same numbers. Updated by the consumer
 * thread only; read with tt_kafka_ingest_metrics(). */
#define TT_KAFKA_MAX_PARTITIONS 1024
typedef struct tt_kafka_metrics {
  uint64_t messages;     /* messages consumed (good + dead-lettered) */
  uint64_t bytes;        /* payload bytes consumed */
  uint64_t rows;         /* records landed in the lake */
  uint64_t dead_letters; /* records landed in the dead-letter table */
  uint64_t skipped;      /* redelivered messages already in the lake */
  uint64_t batches;      /* batches landed (part files renamed, offsets committed) */
  uint64_t commits;      /* successful offset commits */
  uint64_t rebalances;
  uint64_t broker_errors;               /* transport / broker-down errors seen */
  double started;                       /* tt_monotonic() at start */
  double landing_seconds;               /* writer thread: writing parts and markers */
  double landing_wait_seconds;          /* consumer thread: waiting for the writer */
  int npartitions;                      /* size of the lag array actually used */
  int64_t lag[TT_KAFKA_MAX_PARTITIONS]; /* high watermark - next offset, -1 unknown */
} tt_kafka_metrics;

/* ---- Streaming ingest: Kafka -> lake -------------------------------------- */

typedef struct tt_kafka_ingest_opts {
  const char *brokers;
  const char *topic;
  const char *group;             /* consumer group */
  const char *lake;              /* lake root directory */
  const char *table;             /* lake table the messages belong to ("telemetry") */
  const tt_schema *schema;       /* declares `table` (borrowed); NULL: parse schema_path */
  const char *schema_path;       /* schema file (YAML/JSON) used when schema is NULL */
  const char *dead_letter_topic; /* optional: also publish dead letters here */
  const char *avro_registry;     /* Avro writer schemas by id: dir:PATH of ID.avsc, or NULL */
  int follow;                    /* run until *stop; else drain to the end and return */
  int64_t batch_rows;            /* flush a partition's batch at this many records */
  int64_t batch_bytes;           /* … or this many payload bytes */
  int64_t batch_interval_us;     /* … or when its oldest record is this old */
  int64_t
      buffer_rows; /* over all partitions: land the fullest batch beyond this (0: 8 × batch_rows) */
  int64_t max_message_bytes; /* longer messages are dead-lettered */
  int session_timeout_ms;    /* consumer group session timeout */
  volatile int *stop;        /* set non-zero (e.g. from a signal handler) to stop */
  char *owned_[3];           /* strings allocated by _from_config (internal) */
} tt_kafka_ingest_opts;

/* Fill opts from the configuration (kafka.*, ingest.*, lake); paths (lake,
 * kafka.schema, a relative dir: registry) are resolved against the project
 * directory. Strings point into cfg or into storage that
 * tt_kafka_ingest_opts_release frees (call it even on failure). */
tt_err tt_kafka_ingest_opts_from_config(tt_kafka_ingest_opts *opts, const tt_config *cfg,
                                        tt_error *err) TT_WARN_UNUSED;
void tt_kafka_ingest_opts_release(tt_kafka_ingest_opts *opts);

/* Run a consumer-group member until the assigned partitions are drained
 * (or, with follow, until *stop), landing every record exactly once. On
 * return everything consumed is in the lake and committed. metrics may be
 * NULL. */
tt_err tt_kafka_ingest(const tt_kafka_ingest_opts *opts, tt_kafka_metrics *metrics,
                       tt_error *err) TT_WARN_UNUSED;

/* ---- Streaming features: Kafka -> online store ----------------------------- */

typedef struct tt_kafka_feature_source_opts {
  const char *brokers, *topic, *group; /* copied */
  const tt_table_def *table;           /* the messages' table (borrowed, must outlive the source) */
  int follow;                /* run until *stop; else end when the partitions are drained */
  int session_timeout_ms;    /* 0: 10 s */
  int64_t max_message_bytes; /* longer messages are invalid; 0: 1 MiB */
  size_t batch_rows;         /* rows per batch handed to the store; 0: 2048 */
  volatile int *stop;        /* set non-zero (from a signal handler) to stop */
} tt_kafka_feature_source_opts;

/* A tt_feature_source over a topic of JSON records (one per message, as
 * `telltale replay` publishes them), as a member of consumer group
 * o->group with manual commits. Each record is validated by the ingest
 * module's parser against o->table; invalid messages (and records without
 * entity or time) are counted and logged, never folded. Batches hold one
 * partition's messages; each is stored with position key
 * "kafka:TOPIC/PARTITION" (next offset) and committed to the group only
 * once the store holds it; on assignment the stored position (none: the
 * beginning) is where the partition starts and older redeliveries are skipped, so the online state
 * sees every message exactly once across crashes and restarts. Close with
 * out->close(out->ctx). */
tt_err tt_kafka_feature_source(const tt_kafka_feature_source_opts *o, tt_feature_source *out,
                               tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
