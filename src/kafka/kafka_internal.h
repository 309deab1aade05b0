/* Internal to src/kafka: part ids and the landed-offset markers that make
 * Kafka ingest exactly-once (see README.md). */
#ifndef TT_KAFKA_INTERNAL_H
#define TT_KAFKA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "telltale/error.h"

/* The lake part id of offsets [first, last] of topic/partition:
 * "kafka-TOPIC-pP-FIRST-LAST" (offsets zero-padded to 12 digits so that
 * names sort by offset). A topic too long for the 128-character id limit is
 * replaced by "h" and a 64-bit FNV-1a hash of it. buf >= 129 bytes. */
void tt__kafka_part_id(char *buf, size_t size, const char *topic, int32_t partition, int64_t first,
                       int64_t last);

/* Parse a part file name "part-<id>.parquet[.tmp]" produced by
 * tt__kafka_part_id for topic/partition. Returns 1 and sets *first and *last
 * when it is one of ours, else 0. *tmp is set when it ends in ".tmp". */
int tt__kafka_part_match(const char *filename, const char *topic, int32_t partition, int64_t *first,
                         int64_t *last, int *tmp);

/* The landed marker of (table, topic, partition): the last offset whose
 * batch fully landed in the lake, -1 when there is none. Kept in
 * LAKE/_kafka/TABLE/TOPIC/PARTITION, replaced atomically. */
tt_err tt__kafka_landed_read(const char *lake, const char *table, const char *topic,
                             int32_t partition, int64_t *last, tt_error *err) TT_WARN_UNUSED;
tt_err tt__kafka_landed_write(const char *lake, const char *table, const char *topic,
                              int32_t partition, int64_t last, tt_error *err) TT_WARN_UNUSED;

/* Remove every part file (and leftover temporary) of topic/partition in
 * table's directories and its dead-letter partition whose first offset is
 * after `landed` — batches that were written but never marked landed, so
 * they will be consumed and written again. *removed counts the files. */
tt_err tt__kafka_parts_cleanup(const char *lake, const char *table, const char *topic,
                               int32_t partition, int64_t landed, unsigned *removed,
                               tt_error *err) TT_WARN_UNUSED;

typedef void (*tt__kafka_rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t e,
                                       rd_kafka_topic_partition_list_t *parts, void *opaque);

/* A consumer-group member configured as every telltale consumer is (ingest,
 * features stream): cooperative-sticky assignor, manual offset commits
 * (auto commit and auto offset store off), auto.offset.reset earliest,
 * partition-EOF events, reconnect backoff, librdkafka's log via tt_log,
 * messages and rebalances on *q; subscribed to topic. On error *rk may be
 * set: the caller destroys *q (if set) and then *rk. */
tt_err tt__kafka_consumer_open(const char *brokers, const char *group, const char *topic,
                               int session_timeout_ms, tt__kafka_rebalance_cb cb, void *opaque,
                               rd_kafka_t **rk, rd_kafka_queue_t **q, tt_error *err) TT_WARN_UNUSED;

#endif
