/* Confluent-framed Avro → flat JSON → the ingest module's JSON parser.
 * Converting to JSON costs a little speed but means Avro records are
 * validated by exactly the code that validates JSON and CSV records. All
 * input is untrusted (fuzz/fuzz_kafka_frame.c). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "core/json_escape.h"
#include "kafka/avro_decode.h"
#include "telltale/kafka.h"

#define MAX_SCHEMAS 1024
#define MAX_SCHEMA_BYTES (1u << 20)
#define MAX_JSON (64u << 20)

typedef struct cached {
  int32_t id;
  int ok; /* 0: known to be missing/invalid (so we do not retry per message) */
  avro_schema_t schema;
  avro_value_iface_t *iface;
  avro_value_t value;
} cached;

struct tt_kafka_avro {
  char *dir; /* NULL: no registry */
  cached *c;
  size_t n;
  avro_reader_t reader;
  char *json;
  size_t cap;
};

tt_err tt__kafka_avro_new(tt_kafka_avro **out, const char *registry, tt_error *err) {
  tt_kafka_avro *a = calloc(1, sizeof *a);
  *out = NULL;
  if (!a) return tt_error_set(err, TT_NOMEM, "out of memory");
  a->c = calloc(MAX_SCHEMAS, sizeof *a->c);
  a->reader = avro_reader_memory("", 0);
  if (!a->c || !a->reader) {
    tt__kafka_avro_destroy(a);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  if (registry && *registry) {
    if (!strncmp(registry, "http://", 7) || !strncmp(registry, "https://", 8)) {
      tt__kafka_avro_destroy(a);
      tt_error_set(err, TT_UNSUPPORTED,
                   "Confluent schema registry over HTTP is not implemented yet; use dir:PATH "
                   "with ID.avsc files");
      return tt_error_at(err, NULL, 0, "kafka.schema_registry");
    }
    a->dir = strdup(!strncmp(registry, "dir:", 4) ? registry + 4 : registry);
    if (!a->dir) {
      tt__kafka_avro_destroy(a);
      return tt_error_set(err, TT_NOMEM, "out of memory");
    }
  }
  *out = a;
  return TT_OK;
}

static void cached_free(cached *c) {
  if (!c->ok) return;
  avro_value_decref(&c->value);
  avro_value_iface_decref(c->iface);
  avro_schema_decref(c->schema);
  c->ok = 0;
}

void tt__kafka_avro_destroy(tt_kafka_avro *a) {
  if (!a) return;
  for (size_t i = 0; a->c && i < a->n; i++)
    cached_free(&a->c[i]);
  if (a->reader) avro_reader_free(a->reader);
  free(a->c);
  free(a->dir);
  free(a->json);
  free(a);
}

static cached *slot(tt_kafka_avro *a, int32_t id) {
  for (size_t i = 0; i < a->n; i++)
    if (a->c[i].id == id) return &a->c[i];
  if (a->n == MAX_SCHEMAS) return NULL;
  cached *c = &a->c[a->n++];
  memset(c, 0, sizeof *c);
  c->id = id;
  return c;
}

static tt_err load(cached *c, const char *json, size_t len, tt_error *err) {
  cached_free(c);
  if (avro_schema_from_json_length(json, len, &c->schema))
    return tt_error_set(err, TT_SCHEMA, "schema id %" PRId32 ": %s", c->id, avro_strerror());
  if (!is_avro_record(c->schema)) {
    avro_schema_decref(c->schema);
    return tt_error_set(err, TT_SCHEMA, "schema id %" PRId32 " is not an Avro record", c->id);
  }
  c->iface = avro_generic_class_from_schema(c->schema);
  if (!c->iface || avro_generic_value_new(c->iface, &c->value)) {
    if (c->iface) avro_value_iface_decref(c->iface);
    avro_schema_decref(c->schema);
    return tt_error_set(err, TT_SCHEMA, "schema id %" PRId32 ": %s", c->id, avro_strerror());
  }
  c->ok = 1;
  return TT_OK;
}

tt_err tt__kafka_avro_add_schema(tt_kafka_avro *a, int32_t id, const char *json, tt_error *err) {
  cached *c = slot(a, id);
  if (!c) return tt_error_set(err, TT_LIMIT, "more than %d Avro schemas", MAX_SCHEMAS);
  return load(c, json, strlen(json), err);
}

/* The writer schema of id, loading it from the directory on first use. */
static cached *lookup(tt_kafka_avro *a, int32_t id, tt_reject *rej) {
  for (size_t i = 0; i < a->n; i++)
    if (a->c[i].id == id) return a->c[i].ok ? &a->c[i] : NULL;
  cached *c = slot(a, id);
  if (!c || !a->dir || id < 0) return NULL;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%" PRId32 ".avsc", a->dir, id);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(MAX_SCHEMA_BYTES);
  size_t n = buf ? fread(buf, 1, MAX_SCHEMA_BYTES, f) : 0;
  fclose(f);
  tt_error e;
  tt_error_clear(&e);
  if (buf && n < MAX_SCHEMA_BYTES && load(c, buf, n, &e) == TT_OK) {
    free(buf);
    return c;
  }
  free(buf);
  snprintf(rej->detail, sizeof rej->detail, "schema %.100s unusable: %.120s", path,
           e.msg[0] ? e.msg : "too large");
  return NULL;
}

typedef struct jbuf {
  char **p;
  size_t *cap, len;
  int bad;
} jbuf;

static void put(jbuf *b, const char *s, size_t n) {
  if (b->bad) return;
  if (b->len + n + 1 > *b->cap) {
    size_t c = *b->cap ? *b->cap : 1024;
    while (c < b->len + n + 1)
      c *= 2;
    char *q = c > MAX_JSON ? NULL : realloc(*b->p, c);
    if (!q) {
      b->bad = 1;
      return;
    }
    *b->p = q;
    *b->cap = c;
  }
  memcpy(*b->p + b->len, s, n);
  b->len += n;
  (*b->p)[b->len] = '\0';
}

static void put_str(jbuf *b, const char *s, size_t n) {
  /* Escape byte by byte: s may hold NULs. */
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    char e[8];
    if (ch == '"' || ch == '\\') {
      e[0] = '\\';
      e[1] = (char)ch;
      put(b, e, 2);
    } else if (ch < 0x20) {
      snprintf(e, sizeof e, "\\u%04x", ch);
      put(b, e, 6);
    } else {
      put(b, (const char *)&s[i], 1);
    }
  }
  put(b, "\"", 1);
}

/* Append one field value; returns 0, or 1 with rej filled. */
static int put_value(jbuf *b, avro_value_t *v, const char *name, tt_reject *rej) {
  char num[64];
  switch (avro_value_get_type(v)) {
  case AVRO_NULL:
    put(b, "null", 4);
    return 0;
  case AVRO_BOOLEAN: {
    int x = 0;
    avro_value_get_boolean(v, &x);
    put(b, x ? "true" : "false", x ? 4 : 5);
    return 0;
  }
  case AVRO_INT32: {
    int32_t x = 0;
    avro_value_get_int(v, &x);
    put(b, num, (size_t)snprintf(num, sizeof num, "%" PRId32, x));
    return 0;
  }
  case AVRO_INT64: {
    int64_t x = 0;
    avro_value_get_long(v, &x);
    put(b, num, (size_t)snprintf(num, sizeof num, "%" PRId64, x));
    return 0;
  }
  case AVRO_FLOAT:
  case AVRO_DOUBLE: {
    double x = 0;
    if (avro_value_get_type(v) == AVRO_FLOAT) {
      float f = 0;
      avro_value_get_float(v, &f);
      x = f;
    } else {
      avro_value_get_double(v, &x);
    }
    if (!isfinite(x)) {
      /* JSON has no NaN/Inf: let the column's type check reject the text */
      put_str(b, isnan(x) ? "NaN" : "Infinity", isnan(x) ? 3 : 8);
      return 0;
    }
    put(b, num, (size_t)snprintf(num, sizeof num, "%.17g", x));
    return 0;
  }
  case AVRO_STRING: {
    const char *s = NULL;
    size_t n = 0;
    avro_value_get_string(v, &s, &n);
    put_str(b, s ? s : "", n > 0 ? n - 1 : 0); /* size counts the NUL */
    return 0;
  }
  case AVRO_ENUM: {
    int idx = 0;
    avro_value_get_enum(v, &idx);
    /* libavro reads the index without checking it against the symbols */
    avro_schema_t es = avro_value_get_schema(v);
    if (idx < 0 || idx >= avro_schema_enum_number_of_symbols(es)) {
      rej->reason = TT_REJECT_PARSE;
      snprintf(rej->field, sizeof rej->field, "%s", name);
      snprintf(rej->detail, sizeof rej->detail, "Avro enum index %d out of range", idx);
      return 1;
    }
    const char *sym = avro_schema_enum_get(es, idx);
    put_str(b, sym ? sym : "", sym ? strlen(sym) : 0);
    return 0;
  }
  case AVRO_UNION: {
    avro_value_t br;
    if (avro_value_get_current_branch(v, &br)) {
      put(b, "null", 4);
      return 0;
    }
    return put_value(b, &br, name, rej);
  }
  default:
    rej->reason = TT_REJECT_WRONG_TYPE;
    snprintf(rej->field, sizeof rej->field, "%s", name);
    snprintf(rej->detail, sizeof rej->detail,
             "Avro field of a type with no column equivalent (bytes, fixed, array, map, record)");
    return 1;
  }
}

/* ---- bounds pre-check --------------------------------------------------
 * libavro trusts the lengths and counts in the data: a string claiming 2^60
 * bytes makes it allocate that much before it finds the buffer short (an
 * abort under ASan, memory exhaustion in production), and enum indexes are
 * not checked. So before libavro reads a body we walk it along the writer
 * schema and check that every length, count and index fits in what is left.
 * This is only a guard; libavro still does the decoding. */

typedef struct cursor {
  const unsigned char *p, *end;
} cursor;

static int read_varint(cursor *c, int64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (c->p >= c->end) return -1;
    unsigned char b = *c->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
      return 0;
    }
  }
  return -1;
}

static int skip(cursor *c, int64_t n) {
  if (n < 0 || n > c->end - c->p) return -1;
  c->p += n;
  return 0;
}

static int check_value(avro_schema_t s, cursor *c, int depth) {
  int64_t n;
  if (depth > 64) return -1;
  if (is_avro_link(s)) s = avro_schema_link_target(s);
  switch (avro_typeof(s)) {
  case AVRO_NULL:
    return 0;
  case AVRO_BOOLEAN:
    return skip(c, 1);
  case AVRO_INT32:
  case AVRO_INT64:
    return read_varint(c, &n);
  case AVRO_FLOAT:
    return skip(c, 4);
  case AVRO_DOUBLE:
    return skip(c, 8);
  case AVRO_STRING:
  case AVRO_BYTES:
    return read_varint(c, &n) ? -1 : skip(c, n);
  case AVRO_FIXED:
    return skip(c, avro_schema_fixed_size(s));
  case AVRO_ENUM:
    return read_varint(c, &n) || n < 0 || n >= avro_schema_enum_number_of_symbols(s) ? -1 : 0;
  case AVRO_UNION:
    if (read_varint(c, &n) || n < 0 || (size_t)n >= avro_schema_union_size(s)) return -1;
    return check_value(avro_schema_union_branch(s, (int)n), c, depth + 1);
  case AVRO_RECORD:
    for (size_t i = 0; i < avro_schema_record_size(s); i++)
      if (check_value(avro_schema_record_field_get_by_index(s, (int)i), c, depth + 1)) return -1;
    return 0;
  case AVRO_ARRAY:
  case AVRO_MAP:
    for (;;) {
      if (read_varint(c, &n)) return -1;
      if (n == 0) return 0;
      if (n < 0) { /* a block with its byte size */
        int64_t bytes;
        if (n == INT64_MIN || read_varint(c, &bytes)) return -1;
        n = -n;
      }
      /* every item takes a byte at least in any body we accept */
      if (n > c->end - c->p) return -1;
      for (int64_t i = 0; i < n; i++) {
        int64_t klen;
        if (avro_typeof(s) == AVRO_MAP && (read_varint(c, &klen) || skip(c, klen))) return -1;
        avro_schema_t item =
            avro_typeof(s) == AVRO_MAP ? avro_schema_map_values(s) : avro_schema_array_items(s);
        if (check_value(item, c, depth + 1)) return -1;
      }
    }
  default:
    return -1;
  }
}

int tt__kafka_avro_to_json(tt_kafka_avro *a, const void *msg, size_t n, char **json, size_t *cap,
                           size_t *len, tt_reject *rej) {
  int32_t id;
  const void *body;
  size_t blen;
  tt_error e;
  tt_error_clear(&e);
  memset(rej, 0, sizeof *rej);
  if (tt_kafka_frame_parse(msg, n, &id, &body, &blen, &e) != TT_OK) {
    rej->reason = TT_REJECT_PARSE;
    snprintf(rej->detail, sizeof rej->detail, "%.250s", e.msg);
    return 1;
  }
  cached *c = lookup(a, id, rej);
  if (!c) {
    rej->reason = TT_REJECT_UNKNOWN_SCHEMA;
    if (!rej->detail[0])
      snprintf(rej->detail, sizeof rej->detail, "Avro schema id %" PRId32 " is not in the registry",
               id);
    return 1;
  }
  cursor cur = {(const unsigned char *)body, (const unsigned char *)body + blen};
  if (check_value(c->schema, &cur, 0)) {
    rej->reason = TT_REJECT_PARSE;
    snprintf(rej->detail, sizeof rej->detail,
             "Avro body (schema %" PRId32
             ") is truncated or has a length, count or index out of range",
             id);
    return 1;
  }
  if (cur.p != cur.end) {
    rej->reason = TT_REJECT_PARSE;
    snprintf(rej->detail, sizeof rej->detail,
             "trailing bytes after the Avro record (schema %" PRId32 ")", id);
    return 1;
  }
  avro_value_reset(&c->value);
  avro_reader_memory_set_source(a->reader, (const char *)body, (int64_t)blen);
  char extra;
  if (avro_value_read(a->reader, &c->value)) {
    rej->reason = TT_REJECT_PARSE;
    snprintf(rej->detail, sizeof rej->detail, "Avro body (schema %" PRId32 ") does not decode: %s",
             id, avro_strerror());
    return 1;
  }
  if (avro_read(a->reader, &extra, 1) == 0) {
    rej->reason = TT_REJECT_PARSE;
    snprintf(rej->detail, sizeof rej->detail,
             "trailing bytes after the Avro record (schema %" PRId32 ")", id);
    return 1;
  }
  jbuf b = {json, cap, 0, 0};
  size_t nf = 0;
  avro_value_get_size(&c->value, &nf);
  put(&b, "{", 1);
  for (size_t i = 0; i < nf; i++) {
    avro_value_t f;
    const char *name = NULL;
    if (avro_value_get_by_index(&c->value, i, &f, &name)) continue;
    if (i) put(&b, ",", 1);
    put_str(&b, name ? name : "", name ? strlen(name) : 0);
    put(&b, ":", 1);
    if (put_value(&b, &f, name ? name : "", rej)) return 1;
  }
  put(&b, "}", 1);
  if (b.bad) {
    rej->reason = TT_REJECT_TOO_LONG;
    snprintf(rej->detail, sizeof rej->detail, "decoded Avro record too large");
    return 1;
  }
  *len = b.len;
  return 0;
}

int tt__kafka_avro_decode(tt_kafka_avro *a, tt_record_parser *p, const void *msg, size_t n,
                          tt_batch *out, tt_reject *rej) {
  size_t len = 0;
  if (tt__kafka_avro_to_json(a, msg, n, &a->json, &a->cap, &len, rej)) return 1;
  return tt_record_parse_json(p, a->json, len, out, rej);
}
