/* The record parser: one CSV line or JSON object → one validated row.
 *
 * CSV goes through libcsv in strict mode, one record per line: a record
 * never spans lines, so file chunks can be cut at any line end and a broken
 * quote costs one record, not the rest of the file. */
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_internal.h"

tt_err tt_record_parser_new(const tt_table_def *t, size_t max_record_bytes,
                            tt_record_parser **out, tt_error *err) {
  tt_record_parser *p = calloc(1, sizeof *p);
  if (!p) return tt_error_set(err, TT_NOMEM, "out of memory");
  p->t = t;
  p->max_record_bytes = max_record_bytes ? max_record_bytes : 1048576;
  p->map = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *p->map);
  p->seen = calloc(t->ncolumns ? t->ncolumns : 1, 1);
  p->name_len = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *p->name_len);
  if (!p->map || !p->seen || !p->name_len ||
      csv_init(&p->csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    free(p->map);
    free(p->seen);
    free(p->name_len);
    free(p);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < t->ncolumns; i++) {
    p->map[i] = (int)i;
    p->name_len[i] = strlen(t->columns[i].name);
  }
  p->nmap = t->ncolumns;
  p->dialect.delim = ',';
  *out = p;
  return TT_OK;
}

void tt_record_parser_destroy(tt_record_parser *p) {
  if (!p) return;
  csv_free(&p->csv);
  free(p->map);
  free(p->seen);
  free(p->name_len);
  free(p->scratch);
  free(p);
}

void tt_record_parser_set_dialect(tt_record_parser *p, const tt_csv_dialect *d) {
  p->dialect = *d;
  csv_set_delim(&p->csv, (unsigned char)d->delim);
}

/* ---- CSV ------------------------------------------------------------- */

/* The line to hand libcsv: in the whitespace dialect tabs become spaces
 * (libcsv has one delimiter). NULL on out-of-memory. */
static const char *csv_line(tt_record_parser *p, const char *rec, size_t len) {
  if (p->dialect.delim != ' ') return rec;
  if (p->scratch_cap < len + 1) {
    char *s = realloc(p->scratch, len + 1);
    if (!s) return NULL;
    p->scratch = s;
    p->scratch_cap = len + 1;
  }
  for (size_t i = 0; i < len; i++) p->scratch[i] = rec[i] == '\t' ? ' ' : rec[i];
  return p->scratch;
}

/* After a strict-mode error libcsv keeps its error state: start afresh. */
static void csv_reset(tt_record_parser *p) {
  csv_free(&p->csv);
  if (csv_init(&p->csv, CSV_STRICT | CSV_STRICT_FINI) == 0)
    csv_set_delim(&p->csv, (unsigned char)p->dialect.delim);
  else
    p->nomem = 1; /* csv_init fails only when out of memory */
}

/* Header parsing collects field names. */
typedef struct {
  tt_record_parser *p;
  int *map;
  size_t n, cap;
  tt_reject *rej;
  int bad;
} header_ctx;

static void header_field(void *s, size_t len, void *data) {
  header_ctx *h = data;
  tt_record_parser *p = h->p;
  if (p->dialect.delim == ' ' && len == 0) return; /* runs of blanks */
  const char *name = s;
  while (len && (name[0] == ' ' || name[0] == '\t')) name++, len--;
  while (len && (name[len - 1] == ' ' || name[len - 1] == '\t' || name[len - 1] == '\r')) len--;
  int col = -1;
  for (size_t i = 0; i < p->t->ncolumns; i++)
    if (strlen(p->t->columns[i].name) == len && !memcmp(p->t->columns[i].name, name, len))
      col = (int)i;
  if (h->n == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 16;
    int *m = realloc(h->map, nc * sizeof *m);
    if (!m) {
      h->bad = tt__reject(h->rej, TT_REJECT_PARSE, "", "out of memory");
      return;
    }
    h->map = m;
    h->cap = nc;
  }
  if (!h->bad && col < 0) {
    char f[128];
    snprintf(f, sizeof f, "%.*s", (int)(len < 100 ? len : 100), name);
    h->bad = tt__reject(h->rej, TT_REJECT_UNKNOWN_COLUMN, f,
                        "header column '%s' is not a column of table %s", f, p->t->name);
  }
  for (size_t i = 0; !h->bad && col >= 0 && i < h->n; i++)
    if (h->map[i] == col)
      h->bad = tt__reject(h->rej, TT_REJECT_PARSE, p->t->columns[col].name,
                          "column '%s' appears twice in the header", p->t->columns[col].name);
  h->map[h->n++] = col;
}

static void header_end(int c, void *data) { (void)c, (void)data; }

int tt_record_parser_csv_header(tt_record_parser *p, const char *line, size_t len,
                                tt_reject *rej) {
  header_ctx h = {.p = p, .rej = rej};
  const char *l = csv_line(p, line, len);
  p->header_bad = 0;
  if (!l) {
    h.bad = tt__reject(rej, TT_REJECT_PARSE, "", "out of memory");
  } else if (!tt__utf8_valid(line, len, NULL)) {
    h.bad = tt__reject(rej, TT_REJECT_INVALID_UTF8, "", "the header line is not valid UTF-8");
  } else if (csv_parse(&p->csv, l, len, header_field, header_end, &h) != len ||
             csv_fini(&p->csv, header_field, header_end, &h) != 0) {
    if (!h.bad)
      h.bad = tt__reject(rej, TT_REJECT_PARSE, "", "malformed header line: %s",
                         csv_strerror(csv_error(&p->csv)));
    csv_reset(p);
  }
  if (h.bad) {
    p->header_bad = 1;
    p->header_rej = *rej;
    free(h.map);
    return 1;
  }
  free(p->map);
  p->map = h.map;
  p->nmap = h.n;
  return 0;
}

int tt__record_begin(tt_record_parser *p, tt_batch *out, tt_reject *rej) {
  size_t r = tt_batch_add_row(out);
  if (r == (size_t)-1) return -1;
  p->out = out;
  p->row = r;
  p->field = 0;
  p->rejected = 0;
  p->rej = rej;
  p->nomem = 0;
  return 0;
}

int tt__record_check_required(tt_record_parser *p, tt_reject *rej) {
  const tt_table_def *t = p->t;
  for (size_t i = 0; i < t->ncolumns; i++) {
    int required = t->columns[i].required || i == t->entity_index || i == t->time_index;
    if (required && !p->out->cols[i].valid[p->row])
      return tt__reject(rej, TT_REJECT_MISSING_REQUIRED, t->columns[i].name,
                        "required field '%s' is missing or empty", t->columns[i].name);
  }
  return 0;
}

static void csv_field(void *s, size_t len, void *data) {
  tt_record_parser *p = data;
  if (p->dialect.delim == ' ' && len == 0) return; /* runs of blanks */
  size_t k = p->field++;
  if (p->rejected || k >= p->nmap) return; /* too many fields: reported at the end */
  int col = p->map[k];
  if (col < 0) return; /* unknown header column: the header was rejected */
  p->rejected = tt__value_set(p, (size_t)col, s, len, TT__VAL_TEXT, p->rej);
}

static void csv_end(int c, void *data) { (void)c, (void)data; }

/* Finish a rejected or accepted record: pop the row when rejected. */
static int record_end(tt_record_parser *p, int rejected) {
  if (p->nomem) {
    tt_batch_pop_row(p->out);
    return -1;
  }
  if (rejected) {
    tt_batch_pop_row(p->out);
    return 1;
  }
  return 0;
}

/* Checks that need only the raw bytes; 1 when rejected. */
static int precheck(tt_record_parser *p, const char *rec, size_t len, tt_reject *rej) {
  if (len > p->max_record_bytes)
    return tt__reject(rej, TT_REJECT_TOO_LONG, "", "record of %zu bytes, the limit is %zu",
                      len, p->max_record_bytes);
  size_t bad;
  if (!tt__utf8_valid(rec, len, &bad))
    return tt__reject(rej, TT_REJECT_INVALID_UTF8, "", "invalid UTF-8 at byte %zu", bad + 1);
  const char *nul = memchr(rec, '\0', len);
  if (nul) /* text columns cannot hold NUL; it is never meant as data */
    return tt__reject(rej, TT_REJECT_INVALID_UTF8, "", "NUL byte at byte %zu",
                      (size_t)(nul - rec) + 1);
  return 0;
}

int tt_record_parse_csv(tt_record_parser *p, const char *rec, size_t len, tt_batch *out,
                        tt_reject *rej) {
  if (p->header_bad) {
    *rej = p->header_rej;
    return 1;
  }
  if (precheck(p, rec, len, rej)) return 1;
  if (tt__record_begin(p, out, rej)) return -1;
  const char *l = csv_line(p, rec, len);
  if (!l) {
    tt_batch_pop_row(out);
    return -1;
  }
  int parse_failed = csv_parse(&p->csv, l, len, csv_field, csv_end, p) != len;
  if (parse_failed || csv_fini(&p->csv, csv_field, csv_end, p) != 0) {
    int e = csv_error(&p->csv);
    csv_reset(p);
    if (e == CSV_ENOMEM || e == CSV_ETOOBIG) p->nomem = 1;
    tt__reject(rej, TT_REJECT_PARSE, "", "malformed CSV (%s): check the quoting",
               csv_strerror(e));
    return record_end(p, 1);
  }
  if (p->rejected) return record_end(p, 1);
  if (p->field != p->nmap) {
    tt__reject(rej, TT_REJECT_FIELD_COUNT, "", "%zu fields, expected %zu", p->field, p->nmap);
    return record_end(p, 1);
  }
  return record_end(p, tt__record_check_required(p, rej));
}

/* ---- JSON (yajl callbacks) ------------------------------------------- */
#include <yajl/yajl_parse.h>

static int j_value(tt_record_parser *p, const char *s, size_t len, int kind) {
  if (p->json_depth != 1) {
    if (!p->rejected)
      p->rejected = tt__reject(p->rej, TT_REJECT_WRONG_TYPE,
                               p->json_col >= 0 ? p->t->columns[p->json_col].name : "",
                               "nested objects and arrays are not allowed");
    return 1;
  }
  if (p->rejected || p->json_col < 0) return 1;
  p->rejected = tt__value_set(p, (size_t)p->json_col, s, len, kind, p->rej);
  return 1;
}
static int j_null(void *ctx) {
  tt_record_parser *p = ctx;
  if (p->json_depth == 1 && p->json_col >= 0) tt_batch_set_null(p->out, (size_t)p->json_col, p->row);
  return 1;
}
static int j_bool(void *ctx, int b) {
  return j_value(ctx, b ? "true" : "false", b ? 4 : 5, TT__VAL_JSON_BOOL);
}
static int j_number(void *ctx, const char *s, size_t len) {
  return j_value(ctx, s, len, TT__VAL_JSON_NUMBER);
}
static int j_string(void *ctx, const unsigned char *s, size_t len) {
  return j_value(ctx, (const char *)s, len, TT__VAL_JSON_STRING);
}
static int j_start_map(void *ctx) {
  tt_record_parser *p = ctx;
  if (++p->json_depth > 1 && !p->rejected)
    p->rejected = tt__reject(p->rej, TT_REJECT_WRONG_TYPE,
                             p->json_col >= 0 ? p->t->columns[p->json_col].name : "",
                             "nested objects are not allowed");
  return 1;
}
static int j_map_key(void *ctx, const unsigned char *k, size_t len) {
  tt_record_parser *p = ctx;
  if (p->json_depth != 1) return 1;
  const tt_table_def *t = p->t;
  p->json_col = -1;
  /* Producers usually write the keys in schema order: try the next column
   * first. */
  size_t guess = p->field < t->ncolumns ? p->field : 0;
  for (size_t n = 0; n < t->ncolumns; n++) {
    size_t i = (guess + n) % t->ncolumns;
    if (p->name_len[i] == len && !memcmp(t->columns[i].name, k, len)) {
      p->json_col = (int)i;
      p->field = i + 1;
      break;
    }
  }
  if (p->json_col < 0) {
    if (!p->rejected) {
      char f[128];
      snprintf(f, sizeof f, "%.*s", (int)(len < 100 ? len : 100), (const char *)k);
      p->rejected = tt__reject(p->rej, TT_REJECT_UNKNOWN_COLUMN, f,
                               "'%s' is not a column of table %s", f, t->name);
    }
  } else if (p->seen[p->json_col]++) {
    if (!p->rejected)
      p->rejected = tt__reject(p->rej, TT_REJECT_PARSE, t->columns[p->json_col].name,
                               "key '%s' appears twice", t->columns[p->json_col].name);
  }
  return 1;
}
static int j_end_map(void *ctx) {
  ((tt_record_parser *)ctx)->json_depth--;
  return 1;
}
static int j_start_array(void *ctx) {
  tt_record_parser *p = ctx;
  if (p->json_depth == 0) return 0; /* the record must be an object */
  p->json_depth++;
  if (!p->rejected)
    p->rejected = tt__reject(p->rej, TT_REJECT_WRONG_TYPE,
                             p->json_col >= 0 ? p->t->columns[p->json_col].name : "",
                             "arrays are not allowed");
  return 1;
}
static int j_end_array(void *ctx) {
  ((tt_record_parser *)ctx)->json_depth--;
  return 1;
}

static const yajl_callbacks jcb = {j_null,      j_bool,    NULL,      NULL,
                                   j_number,    j_string,  j_start_map, j_map_key,
                                   j_end_map,   j_start_array, j_end_array};

int tt_record_parse_json(tt_record_parser *p, const char *rec, size_t len, tt_batch *out,
                         tt_reject *rej) {
  if (precheck(p, rec, len, rej)) return 1;
  if (tt__record_begin(p, out, rej)) return -1;
  memset(p->seen, 0, p->t->ncolumns);
  p->json_depth = 0;
  p->json_col = -1;
  /* The record must be an object; say so rather than report a type error
   * from the callbacks. */
  size_t i = 0;
  while (i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r')) i++;
  if (i == len || rec[i] != '{') {
    tt__reject(rej, TT_REJECT_PARSE, "", "a JSON record must be an object ({...})");
    return record_end(p, 1);
  }
  yajl_handle h = yajl_alloc(&jcb, NULL, p);
  if (!h) {
    tt_batch_pop_row(out);
    return -1;
  }
  yajl_status st = yajl_parse(h, (const unsigned char *)rec, len);
  if (st == yajl_status_ok) st = yajl_complete_parse(h);
  if (st != yajl_status_ok) {
    unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)rec, len);
    char m[200];
    snprintf(m, sizeof m, "%s", msg ? (const char *)msg : "invalid JSON");
    for (char *c = m; *c; c++)
      if (*c == '\n') *c = ' ';
    if (msg) yajl_free_error(h, msg);
    yajl_free(h);
    tt__reject(rej, TT_REJECT_PARSE, "", "broken JSON: %s", m);
    return record_end(p, 1);
  }
  yajl_free(h);
  if (p->rejected) return record_end(p, 1);
  return record_end(p, tt__record_check_required(p, rej));
}
