/* Reading a schema from YAML (libyaml's document API).
 *
 * The reader is strict: every mapping key must be known, no key may repeat,
 * and every value has the shape it should. Each error names the file, the
 * 1-based line and the field path (tables.telemetry.columns.speed_kmh.max),
 * so the user can go straight to it. Cross-field rules (entity/time columns,
 * min <= max, duplicate names) are the shared validator's, in schema.c. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "schema/schema_internal.h"

#define MAX_FILE_BYTES (16u << 20)
#define MAX_TOTAL_COLUMNS 65536

typedef struct reader {
  tt_schema *s;
  yaml_document_t *doc;
  tt_error *err;
  size_t total_columns;
} reader;

static long line_of(const yaml_node_t *n) { return n ? (long)n->start_mark.line + 1 : 0; }

static tt_err fail(reader *r, const yaml_node_t *n, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static tt_err fail(reader *r, const yaml_node_t *n, const char *field, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tt_error_set(r->err, TT_SCHEMA, "%s", msg);
  tt_error_at(r->err, r->s->source, line_of(n), field);
  return TT_SCHEMA;
}

static const char *node_kind(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE:
    return "a scalar";
  case YAML_SEQUENCE_NODE:
    return "a list";
  case YAML_MAPPING_NODE:
    return "a mapping";
  default:
    return "nothing";
  }
}

/* The scalar text of n copied into the schema's arena. */
static tt_err scalar(reader *r, yaml_node_t *n, const char *field, const char **out) {
  if (n->type != YAML_SCALAR_NODE)
    return fail(r, n, field, "expected a scalar value, got %s", node_kind(n));
  if (n->data.scalar.length > TT_SCHEMA_MAX_TEXT)
    return fail(r, n, field, "value longer than %d bytes", TT_SCHEMA_MAX_TEXT);
  if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
    return fail(r, n, field, "value contains a NUL byte");
  *out = tt_arena_strndup(r->s->arena, (const char *)n->data.scalar.value, n->data.scalar.length);
  if (!*out) return tt_error_set(r->err, TT_NOMEM, "out of memory");
  return TT_OK;
}

static tt_err name_scalar(reader *r, yaml_node_t *n, const char *field, const char **out) {
  tt_err rc = scalar(r, n, field, out);
  if (rc != TT_OK) return rc;
  if (!**out) return fail(r, n, field, "empty value");
  return TT_OK;
}

static tt_err number(reader *r, yaml_node_t *n, const char *field, double *out) {
  const char *text;
  tt_err rc = scalar(r, n, field, &text);
  if (rc != TT_OK) return rc;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (!*text || *end || errno == ERANGE || !isfinite(v))
    return fail(r, n, field, "expected a finite number, got '%s'", text);
  *out = v;
  return TT_OK;
}

static tt_err boolean(reader *r, yaml_node_t *n, const char *field, int *out) {
  const char *text;
  tt_err rc = scalar(r, n, field, &text);
  if (rc != TT_OK) return rc;
  if (!strcasecmp(text, "true") || !strcasecmp(text, "yes"))
    *out = 1;
  else if (!strcasecmp(text, "false") || !strcasecmp(text, "no"))
    *out = 0;
  else
    return fail(r, n, field, "expected true or false, got '%s'", text);
  return TT_OK;
}

/* Check that mapping m has only keys from `known` (NULL-terminated) and no
 * key twice. */
static tt_err check_keys(reader *r, yaml_node_t *m, const char *path, const char *const *known) {
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
    char field[200];
    if (!k || k->type != YAML_SCALAR_NODE)
      return fail(r, k, path, "mapping keys must be plain names");
    const char *key = (const char *)k->data.scalar.value;
    snprintf(field, sizeof field, "%s%s%s", path, *path ? "." : "", key);
    int ok = 0;
    for (const char *const *q = known; *q; q++)
      if (!strcmp(*q, key)) ok = 1;
    if (!ok) {
      char list[200] = "";
      for (const char *const *q = known; *q; q++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", q == known ? "" : ", ",
                 *q);
      return fail(r, k, field, "unknown key '%s' (known: %s)", key, list);
    }
    for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
      yaml_node_t *k2 = yaml_document_get_node(r->doc, q->key);
      if (k2 && k2->type == YAML_SCALAR_NODE && !strcmp((const char *)k2->data.scalar.value, key))
        return fail(r, k, field, "duplicate key '%s'", key);
    }
  }
  return TT_OK;
}

#define FOR_PAIRS(r, m, k, v, key)                                                                 \
  for (yaml_node_pair_t *p_ = (m)->data.mapping.pairs.start; p_ < (m)->data.mapping.pairs.top;     \
       p_++)                                                                                       \
    for (yaml_node_t *k = yaml_document_get_node((r)->doc, p_->key),                               \
                     *v = yaml_document_get_node((r)->doc, p_->value);                             \
         k; k = NULL)                                                                              \
      for (const char *key = (const char *)k->data.scalar.value; key; key = NULL)

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    tt_err rc_ = (expr);                                                                           \
    if (rc_ != TT_OK) return rc_;                                                                  \
  } while (0)

static tt_err read_column(reader *r, yaml_node_t *m, size_t t, size_t c) {
  tt_table_def *tb = &r->s->tables[t];
  tt_column_def *col = (tt_column_def *)&tb->columns[c];
  tt__column_lines *cl = &r->s->col_lines[t][c];
  char path[200], field[240];
  snprintf(path, sizeof path, "tables.%s.columns[%zu]", tb->name, c + 1);
  if (m->type != YAML_MAPPING_NODE)
    return fail(r, m, path, "a column is a mapping {name, type, …}, got %s", node_kind(m));
  static const char *const keys[] = {"name", "type",     "unit",        "min",
                                     "max",  "required", "description", NULL};
  TRY(check_keys(r, m, path, keys));
  cl->at = line_of(m);
  /* The name first, so that the other fields' errors can use it. */
  yaml_node_t *type_node = NULL;
  FOR_PAIRS(r, m, k, v, key) {
    if (!strcmp(key, "name")) {
      snprintf(field, sizeof field, "%s.name", path);
      TRY(name_scalar(r, v, field, &col->name));
      cl->name = line_of(v);
    } else if (!strcmp(key, "type")) {
      type_node = v;
    }
  }
  if (!col->name[0]) return fail(r, m, path, "missing: the column's name");
  snprintf(path, sizeof path, "tables.%s.columns.%s", tb->name, col->name);
  if (!type_node)
    return fail(r, m, path, "missing: the column's type (string, double, int64, bool, timestamp)");
  snprintf(field, sizeof field, "%s.type", path);
  const char *type;
  TRY(name_scalar(r, type_node, field, &type));
  int ty = tt_type_parse(type);
  if (ty < 0)
    return fail(r, type_node, field, "unknown type '%s' (string, double, int64, bool, timestamp)",
                type);
  col->type = (tt_type)ty;
  cl->type = line_of(type_node);
  FOR_PAIRS(r, m, k, v, key) {
    snprintf(field, sizeof field, "%s.%s", path, key);
    if (!strcmp(key, "unit")) {
      TRY(scalar(r, v, field, &col->unit));
      cl->unit = line_of(v);
    } else if (!strcmp(key, "description")) {
      TRY(scalar(r, v, field, &col->description));
    } else if (!strcmp(key, "min")) {
      TRY(number(r, v, field, &col->min));
      col->has_min = 1;
      cl->min = line_of(v);
    } else if (!strcmp(key, "max")) {
      TRY(number(r, v, field, &col->max));
      col->has_max = 1;
      cl->max = line_of(v);
    } else if (!strcmp(key, "required")) {
      TRY(boolean(r, v, field, &col->required));
      cl->required = line_of(v);
      cl->required_given = 1;
    }
  }
  return TT_OK;
}

static tt_err read_time(reader *r, yaml_node_t *v, size_t t) {
  tt_table_def *tb = &r->s->tables[t];
  tt__table_lines *tl = &r->s->table_lines[t];
  char path[200], field[240];
  snprintf(path, sizeof path, "tables.%s.time", tb->name);
  tl->time = line_of(v);
  tb->axis = TT_AXIS_TIMESTAMP;
  if (v->type == YAML_SCALAR_NODE) { /* shorthand: time: ts */
    TRY(name_scalar(r, v, path, &tb->time_column));
    tl->time_column = line_of(v);
    return TT_OK;
  }
  if (v->type != YAML_MAPPING_NODE)
    return fail(r, v, path, "expected {column, axis, unit}, got %s", node_kind(v));
  static const char *const keys[] = {"column", "axis", "unit", NULL};
  TRY(check_keys(r, v, path, keys));
  FOR_PAIRS(r, v, k, val, key) {
    snprintf(field, sizeof field, "%s.%s", path, key);
    if (!strcmp(key, "column")) {
      TRY(name_scalar(r, val, field, &tb->time_column));
      tl->time_column = line_of(val);
    } else if (!strcmp(key, "axis")) {
      const char *axis;
      TRY(name_scalar(r, val, field, &axis));
      int a = tt_time_axis_parse(axis);
      if (a < 0) return fail(r, val, field, "unknown axis '%s' (timestamp or counter)", axis);
      tb->axis = (tt_time_axis)a;
      tl->axis = line_of(val);
    } else if (!strcmp(key, "unit")) {
      TRY(scalar(r, val, field, &tb->axis_unit));
      tl->unit = line_of(val);
    }
  }
  if (!tb->time_column) return fail(r, v, path, "missing: time.column");
  return TT_OK;
}

static tt_err read_table(reader *r, yaml_node_t *k, yaml_node_t *m, size_t t) {
  tt_table_def *tb = &r->s->tables[t];
  tt__table_lines *tl = &r->s->table_lines[t];
  char path[200], field[240];
  tl->at = line_of(k);
  TRY(name_scalar(r, k, "tables", &tb->name));
  tb->description = "";
  snprintf(path, sizeof path, "tables.%s", tb->name);
  if (m->type != YAML_MAPPING_NODE)
    return fail(r, m, path, "a table is a mapping {kind, entity, time, columns}, got %s",
                node_kind(m));
  static const char *const keys[] = {"kind", "description", "entity", "time", "columns", NULL};
  TRY(check_keys(r, m, path, keys));
  int have_kind = 0;
  yaml_node_t *columns = NULL;
  FOR_PAIRS(r, m, kk, v, key) {
    snprintf(field, sizeof field, "%s.%s", path, key);
    if (!strcmp(key, "kind")) {
      const char *kind;
      TRY(name_scalar(r, v, field, &kind));
      int kd = tt_table_kind_parse(kind);
      if (kd < 0) return fail(r, v, field, "unknown kind '%s' (telemetry, events, entity)", kind);
      tb->kind = (tt_table_kind)kd;
      tl->kind = line_of(v);
      have_kind = 1;
    } else if (!strcmp(key, "description")) {
      TRY(scalar(r, v, field, &tb->description));
    } else if (!strcmp(key, "entity")) {
      TRY(name_scalar(r, v, field, &tb->entity_column));
      tl->entity = line_of(v);
    } else if (!strcmp(key, "time")) {
      TRY(read_time(r, v, t));
    } else if (!strcmp(key, "columns")) {
      columns = v;
      tl->columns = line_of(v);
    }
  }
  if (!have_kind) {
    snprintf(field, sizeof field, "%s.kind", path);
    return fail(r, k, field, "missing: the table's kind (telemetry, events, entity)");
  }
  if (!tb->entity_column) {
    snprintf(field, sizeof field, "%s.entity", path);
    return fail(r, k, field, "missing: the entity column (e.g. vehicle_id)");
  }
  if (!tb->time_column) {
    snprintf(field, sizeof field, "%s.time", path);
    return fail(r, k, field, "missing: the time axis {column, axis}");
  }
  snprintf(field, sizeof field, "%s.columns", path);
  if (!columns) return fail(r, k, field, "missing: the list of columns");
  if (columns->type != YAML_SEQUENCE_NODE)
    return fail(r, columns, field, "expected a list of columns, got %s", node_kind(columns));
  size_t n = (size_t)(columns->data.sequence.items.top - columns->data.sequence.items.start);
  if (n > TT_SCHEMA_MAX_COLUMNS || r->total_columns + n > MAX_TOTAL_COLUMNS)
    return fail(r, columns, field, "too many columns (at most %d per table, %d in all)",
                TT_SCHEMA_MAX_COLUMNS, MAX_TOTAL_COLUMNS);
  r->total_columns += n;
  if (tt__schema_alloc_columns(r->s, t, n) != 0)
    return tt_error_set(r->err, TT_NOMEM, "out of memory");
  for (size_t c = 0; c < n; c++) {
    yaml_node_t *cn = yaml_document_get_node(r->doc, columns->data.sequence.items.start[c]);
    TRY(read_column(r, cn, t, c));
  }
  return TT_OK;
}

static tt_err read_root(reader *r, yaml_node_t *root) {
  tt_schema *s = r->s;
  if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
    tt_error_set(r->err, TT_SCHEMA, "empty schema file");
    tt_error_at(r->err, s->source, 0, NULL);
    return TT_SCHEMA;
  }
  if (root->type != YAML_MAPPING_NODE)
    return fail(r, root, "", "expected a mapping {name, description, tables}, got %s",
                node_kind(root));
  static const char *const keys[] = {"name", "description", "tables", NULL};
  TRY(check_keys(r, root, "", keys));
  yaml_node_t *tables = NULL;
  FOR_PAIRS(r, root, k, v, key) {
    if (!strcmp(key, "name")) {
      TRY(name_scalar(r, v, "name", &s->name));
      s->name_line = line_of(v);
    } else if (!strcmp(key, "description")) {
      TRY(scalar(r, v, "description", &s->description));
    } else if (!strcmp(key, "tables")) {
      tables = v;
      s->tables_line = line_of(v);
    }
  }
  if (!s->name[0]) return fail(r, root, "name", "missing: every schema has a name");
  if (!tables) return fail(r, root, "tables", "missing: the mapping of tables");
  if (tables->type != YAML_MAPPING_NODE)
    return fail(r, tables, "tables", "expected a mapping of table name to table, got %s",
                node_kind(tables));
  size_t n = (size_t)(tables->data.mapping.pairs.top - tables->data.mapping.pairs.start);
  if (n > TT_SCHEMA_MAX_TABLES)
    return fail(r, tables, "tables", "too many tables (at most %d)", TT_SCHEMA_MAX_TABLES);
  if (tt__schema_alloc_tables(s, n) != 0) return tt_error_set(r->err, TT_NOMEM, "out of memory");
  s->ntables = n;
  /* Table names are free keys, so check_keys does not apply; a repeated
   * one would silently shadow the first in many YAML readers. */
  for (size_t t = 0; t < n; t++) {
    yaml_node_t *k = yaml_document_get_node(r->doc, tables->data.mapping.pairs.start[t].key);
    if (!k || k->type != YAML_SCALAR_NODE)
      return fail(r, tables, "tables", "table names must be plain names");
    for (size_t u = 0; u < t; u++) {
      yaml_node_t *k2 = yaml_document_get_node(r->doc, tables->data.mapping.pairs.start[u].key);
      if (!strcmp((const char *)k->data.scalar.value, (const char *)k2->data.scalar.value)) {
        char field[200];
        snprintf(field, sizeof field, "tables.%s", (const char *)k->data.scalar.value);
        return fail(r, k, field, "duplicate key '%s'", (const char *)k->data.scalar.value);
      }
    }
  }
  for (size_t t = 0; t < n; t++) {
    yaml_node_pair_t *p = &tables->data.mapping.pairs.start[t];
    yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
    if (!k || !v) return fail(r, tables, "tables", "malformed table entry");
    TRY(read_table(r, k, v, t));
  }
  return TT_OK;
}

tt_err tt_schema_parse_string(const char *yaml, size_t len, const char *source_name,
                              tt_schema **out, tt_error *err) {
  *out = NULL;
  tt_schema *s = tt__schema_new(source_name ? source_name : "(string)");
  if (!s) return tt_error_set(err, TT_NOMEM, "out of memory");
  yaml_parser_t parser;
  yaml_document_t doc;
  tt_err rc;
  if (!yaml_parser_initialize(&parser)) {
    tt_schema_destroy(s);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
  if (!yaml_parser_load(&parser, &doc)) {
    rc = tt_error_set(err, TT_PARSE, "YAML: %s%s%s",
                      parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                      parser.context ? parser.context : "");
    tt_error_at(err, s->source, (long)parser.problem_mark.line + 1, NULL);
    yaml_parser_delete(&parser);
    tt_schema_destroy(s);
    return rc;
  }
  reader r = {.s = s, .doc = &doc, .err = err};
  rc = read_root(&r, yaml_document_get_root_node(&doc));
  if (rc == TT_OK) rc = tt__schema_validate(s, err);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  if (rc != TT_OK) {
    tt_schema_destroy(s);
    return rc;
  }
  *out = s;
  return TT_OK;
}

tt_err tt_schema_parse_file(const char *path, tt_schema **out, tt_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    tt_err code = errno == ENOENT ? TT_NOTFOUND : TT_IO;
    tt_error_set(err, code, "cannot open: %s", strerror(errno));
    tt_error_at(err, path, 0, NULL);
    return code;
  }
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  tt_err rc = TT_OK;
  while (buf) {
    if (len == cap) {
      if (cap >= MAX_FILE_BYTES) {
        rc = tt_error_set(err, TT_LIMIT, "schema file larger than %u bytes", MAX_FILE_BYTES);
        tt_error_at(err, path, 0, NULL);
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      if (ferror(f)) {
        rc = tt_error_set(err, TT_IO, "read error: %s", strerror(errno));
        tt_error_at(err, path, 0, NULL);
      }
      break;
    }
  }
  fclose(f);
  if (!buf) return tt_error_set(err, TT_NOMEM, "out of memory");
  if (rc == TT_OK) rc = tt_schema_parse_string(buf, len, path, out, err);
  free(buf);
  return rc;
}
