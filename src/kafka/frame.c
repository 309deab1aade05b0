/* The Confluent wire format: magic byte 0, the schema id as a 4-byte
 * big-endian integer, then the Avro binary body. Everything here works on
 * untrusted bytes straight from the broker (fuzzed by fuzz/fuzz_kafka_frame). */
#include "telltale/kafka.h"

tt_err tt_kafka_frame_parse(const void *msg, size_t len, int32_t *schema_id, const void **body,
                            size_t *body_len, tt_error *err) {
  const unsigned char *p = msg;
  if (!p || len < 5)
    return tt_error_set(err, TT_PARSE, "truncated Confluent frame (%zu bytes, need at least 5)",
                        len);
  if (p[0] != 0)
    return tt_error_set(err, TT_PARSE, "not a Confluent frame (magic byte %u, want 0)", p[0]);
  uint32_t id = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
  *schema_id = (int32_t)id;
  *body = p + 5;
  *body_len = len - 5;
  return TT_OK;
}

void tt_kafka_frame_header(int32_t schema_id, unsigned char out[5]) {
  uint32_t id = (uint32_t)schema_id;
  out[0] = 0;
  out[1] = (unsigned char)(id >> 24);
  out[2] = (unsigned char)(id >> 16);
  out[3] = (unsigned char)(id >> 8);
  out[4] = (unsigned char)id;
}
