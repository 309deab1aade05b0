/* libFuzzer: Kafka message decoding — the Confluent frame (magic, schema
 * id) and the Avro body, decoded with libavro against writer schemas of
 * every shape we handle (scalars, unions, enums; and bytes, arrays, maps,
 * nested records, which must be rejected, not crash), then validated as a
 * telemetry record. Every input must end as a row or a known reject. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/avro_decode.h"
#include "telltale/ingest.h"
#include "telltale/lake.h"
#include "telltale/project.h"

static tt_schema *schema;
static tt_kafka_avro *avro;
static tt_record_parser *parser;
static tt_batch *batch;

static const char *const writer_schemas[] = {
    /* id 0: the telemetry record as a vehicle gateway would send it */
    "{\"type\":\"record\",\"name\":\"t\",\"fields\":["
    "{\"name\":\"vehicle_id\",\"type\":\"string\"},{\"name\":\"ts\",\"type\":\"long\"},"
    "{\"name\":\"speed_kmh\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"engine_running\",\"type\":\"boolean\"},"
    "{\"name\":\"fuel_level_pct\",\"type\":\"float\"},{\"name\":\"n\",\"type\":\"int\"}]}",
    /* id 1: enum and a union of several branches */
    "{\"type\":\"record\",\"name\":\"e\",\"fields\":["
    "{\"name\":\"vehicle_id\",\"type\":{\"type\":\"enum\",\"name\":\"V\",\"symbols\":[\"a\",\"b\"]}"
    "},"
    "{\"name\":\"ts\",\"type\":[\"null\",\"long\",\"string\"]}]}",
    /* id 2: types with no column equivalent */
    "{\"type\":\"record\",\"name\":\"x\",\"fields\":["
    "{\"name\":\"b\",\"type\":\"bytes\"},{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":"
    "\"long\"}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
    "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"in\",\"fields\":[{\"name\":\"z\","
    "\"type\":\"int\"}]}},"
    "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}}]}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!schema) {
    const char *y = tt_project_example_schema();
    if (tt_schema_parse_string(y, strlen(y), "example", &schema, NULL) != TT_OK) abort();
    if (tt__kafka_avro_new(&avro, NULL, NULL) != TT_OK) abort();
    for (int i = 0; i < 3; i++)
      if (tt__kafka_avro_add_schema(avro, i, writer_schemas[i], NULL) != TT_OK) abort();
    const tt_table_def *t = tt_schema_table(schema, "telemetry");
    if (tt_record_parser_new(t, 1 << 16, &parser, NULL) != TT_OK) abort();
    batch = tt_lake_batch_new(t, 4);
  }
  if (batch->nrows == batch->capacity) tt_batch_reset(batch);
  tt_reject rej;
  size_t before = batch->nrows;
  int rc = tt__kafka_avro_decode(avro, parser, data, size, batch, &rej);
  if (rc == 0 && batch->nrows != before + 1) abort();
  if (rc == 1 && (batch->nrows != before || (unsigned)rej.reason >= TT_REJECT_COUNT)) abort();
  if (rc != 0 && rc != 1) abort();
  return 0;
}
