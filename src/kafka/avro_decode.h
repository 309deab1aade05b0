/* Internal to src/kafka: Avro in the Confluent wire format → one JSON
 * object per record, which then goes through the same parser and
 * validation as every JSON record (so Avro and JSON messages are checked
 * identically, field by field, by the ingest module's rules). */
#ifndef TT_KAFKA_AVRO_DECODE_H
#define TT_KAFKA_AVRO_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/batch.h"
#include "telltale/error.h"
#include "telltale/ingest.h"

typedef struct tt_kafka_avro tt_kafka_avro;

/* A decoder whose writer schemas come from `registry`:
 *   NULL or ""      none (every Avro message is dead-lettered: unknown id)
 *   dir:PATH, PATH  a directory of ID.avsc files (Avro schema JSON)
 * Schemas are loaded once per id and cached. Caller destroys. */
tt_err tt__kafka_avro_new(tt_kafka_avro **out, const char *registry, tt_error *err) TT_WARN_UNUSED;
void tt__kafka_avro_destroy(tt_kafka_avro *a);

/* Register a writer schema for id from its JSON text (tests, fuzzing). */
tt_err tt__kafka_avro_add_schema(tt_kafka_avro *a, int32_t id, const char *json,
                                 tt_error *err) TT_WARN_UNUSED;

/* Decode a Confluent frame into a flat JSON object in *json (malloc'd and
 * grown as needed; *cap its size). Returns 0 and sets *len, or 1 with rej
 * filled: parse (bad frame, truncated or trailing bytes), unknown_schema
 * (id not in the registry), wrong_type (a field of a type with no column
 * equivalent: bytes, array, map, nested record). */
int tt__kafka_avro_to_json(tt_kafka_avro *a, const void *msg, size_t n, char **json, size_t *cap,
                           size_t *len, tt_reject *rej);

/* to_json, then tt_record_parse_json into out. Returns like
 * tt_record_parse_json: 0 appended, 1 rejected, -1 out full. */
int tt__kafka_avro_decode(tt_kafka_avro *a, tt_record_parser *p, const void *msg, size_t n,
                          tt_batch *out, tt_reject *rej);

#endif
