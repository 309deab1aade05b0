/* Canonical JSON of a schema (jansson): what the registry stores and
 * hashes, and what `schema show --output json` prints.
 *
 * Canonical means: keys sorted, no whitespace, tables and columns in
 * declaration order (column order is the batch order, so it is part of the
 * schema), every optional text field present ("" when absent), min/max only
 * when given, numbers as jansson prints doubles (17 significant digits, so
 * they read back bit for bit). Two schemas that mean the same thing give the
 * same bytes, hence the same sha256, whatever their YAML looked like. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema_internal.h"

static json_t *column_json(const tt_column_def *c) {
  json_t *o = json_object();
  if (!o) return NULL;
  int bad = 0;
  bad |= json_object_set_new(o, "name", json_string(c->name));
  bad |= json_object_set_new(o, "type", json_string(tt_type_name(c->type)));
  bad |= json_object_set_new(o, "unit", json_string(c->unit));
  bad |= json_object_set_new(o, "description", json_string(c->description));
  bad |= json_object_set_new(o, "required", json_boolean(c->required));
  if (c->has_min) bad |= json_object_set_new(o, "min", json_real(c->min));
  if (c->has_max) bad |= json_object_set_new(o, "max", json_real(c->max));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *table_json(const tt_table_def *t) {
  json_t *o = json_object(), *cols = json_array(), *time = json_object();
  int bad = !o || !cols || !time;
  for (size_t i = 0; !bad && i < t->ncolumns; i++)
    bad |= json_array_append_new(cols, column_json(&t->columns[i]));
  if (!bad) {
    bad |= json_object_set_new(time, "column", json_string(t->time_column));
    bad |= json_object_set_new(time, "axis", json_string(tt_time_axis_name(t->axis)));
    bad |= json_object_set_new(time, "unit", json_string(t->axis_unit));
    bad |= json_object_set_new(o, "name", json_string(t->name));
    bad |= json_object_set_new(o, "kind", json_string(tt_table_kind_name(t->kind)));
    bad |= json_object_set_new(o, "description", json_string(t->description));
    bad |= json_object_set_new(o, "entity", json_string(t->entity_column));
    bad |= json_object_set(o, "time", time);
    bad |= json_object_set(o, "columns", cols);
  }
  json_decref(time);
  json_decref(cols);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

char *tt_schema_to_json(const tt_schema *s) {
  json_t *root = json_object(), *tables = json_array();
  char *out = NULL;
  int bad = !root || !tables;
  for (size_t i = 0; !bad && i < s->ntables; i++)
    bad |= json_array_append_new(tables, table_json(&s->tables[i]));
  if (!bad) {
    bad |= json_object_set_new(root, "name", json_string(s->name));
    bad |= json_object_set_new(root, "description", json_string(s->description));
    bad |= json_object_set(root, "tables", tables);
  }
  if (!bad) out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  json_decref(tables);
  json_decref(root);
  return out;
}

/* --- reading ------------------------------------------------------------ */

typedef struct jreader {
  tt_schema *s;
  tt_error *err;
} jreader;

static tt_err jfail(jreader *r, const char *field, const char *msg) {
  tt_error_set(r->err, TT_SCHEMA, "%s", msg);
  tt_error_at(r->err, r->s->source, 0, field);
  return TT_SCHEMA;
}

static tt_err jkeys(jreader *r, json_t *o, const char *path, const char *const *known) {
  const char *key;
  json_t *v;
  json_object_foreach(o, key, v) {
    int ok = 0;
    for (const char *const *q = known; *q; q++)
      if (!strcmp(*q, key)) ok = 1;
    if (!ok) {
      char field[240], msg[300];
      snprintf(field, sizeof field, "%s%s%s", path, *path ? "." : "", key);
      snprintf(msg, sizeof msg, "unknown key '%s'", key);
      return jfail(r, field, msg);
    }
  }
  return TT_OK;
}

/* A string member; absent is "" unless required. */
static tt_err jstr(jreader *r, json_t *o, const char *key, const char *path, int required,
                   const char **out) {
  char field[240];
  snprintf(field, sizeof field, "%s%s%s", path, *path ? "." : "", key);
  json_t *v = json_object_get(o, key);
  if (!v) {
    if (required) return jfail(r, field, "missing");
    *out = "";
    return TT_OK;
  }
  if (!json_is_string(v)) return jfail(r, field, "expected a string");
  size_t n = json_string_length(v);
  if (n > TT_SCHEMA_MAX_TEXT || memchr(json_string_value(v), '\0', n))
    return jfail(r, field, "string too long or contains NUL");
  *out = tt_arena_strndup(r->s->arena, json_string_value(v), n);
  if (!*out) return tt_error_set(r->err, TT_NOMEM, "out of memory");
  if (required && !**out) return jfail(r, field, "empty value");
  return TT_OK;
}

#define JTRY(expr)                                                                                 \
  do {                                                                                             \
    tt_err rc_ = (expr);                                                                           \
    if (rc_ != TT_OK) return rc_;                                                                  \
  } while (0)

static tt_err jcolumn(jreader *r, json_t *o, size_t t, size_t c, const char *tpath) {
  tt_column_def *col = (tt_column_def *)&r->s->tables[t].columns[c];
  char path[240], field[280];
  snprintf(path, sizeof path, "%s.columns[%zu]", tpath, c + 1);
  if (!json_is_object(o)) return jfail(r, path, "expected an object");
  static const char *const keys[] = {"name",     "type", "unit", "description",
                                     "required", "min",  "max",  NULL};
  JTRY(jkeys(r, o, path, keys));
  JTRY(jstr(r, o, "name", path, 1, &col->name));
  snprintf(path, sizeof path, "%s.columns.%s", tpath, col->name);
  const char *type;
  JTRY(jstr(r, o, "type", path, 1, &type));
  int ty = tt_type_parse(type);
  snprintf(field, sizeof field, "%s.type", path);
  if (ty < 0) return jfail(r, field, "unknown type");
  col->type = (tt_type)ty;
  JTRY(jstr(r, o, "unit", path, 0, &col->unit));
  JTRY(jstr(r, o, "description", path, 0, &col->description));
  json_t *v = json_object_get(o, "required");
  snprintf(field, sizeof field, "%s.required", path);
  if (v && !json_is_boolean(v)) return jfail(r, field, "expected true or false");
  col->required = v && json_is_true(v);
  r->s->col_lines[t][c].required_given = v != NULL;
  static const char *const lim[] = {"min", "max"};
  for (int i = 0; i < 2; i++) {
    v = json_object_get(o, lim[i]);
    if (!v) continue;
    snprintf(field, sizeof field, "%s.%s", path, lim[i]);
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
      return jfail(r, field, "expected a finite number");
    if (i == 0)
      col->has_min = 1, col->min = json_number_value(v);
    else
      col->has_max = 1, col->max = json_number_value(v);
  }
  return TT_OK;
}

static tt_err jtable(jreader *r, json_t *o, size_t t) {
  tt_table_def *tb = &r->s->tables[t];
  char path[200], field[240];
  snprintf(path, sizeof path, "tables[%zu]", t + 1);
  if (!json_is_object(o)) return jfail(r, path, "expected an object");
  static const char *const keys[] = {"name", "kind",    "description", "entity",
                                     "time", "columns", NULL};
  JTRY(jkeys(r, o, path, keys));
  JTRY(jstr(r, o, "name", path, 1, &tb->name));
  snprintf(path, sizeof path, "tables.%s", tb->name);
  const char *kind;
  JTRY(jstr(r, o, "kind", path, 1, &kind));
  int kd = tt_table_kind_parse(kind);
  snprintf(field, sizeof field, "%s.kind", path);
  if (kd < 0) return jfail(r, field, "unknown kind");
  tb->kind = (tt_table_kind)kd;
  JTRY(jstr(r, o, "description", path, 0, &tb->description));
  JTRY(jstr(r, o, "entity", path, 1, &tb->entity_column));
  json_t *time = json_object_get(o, "time");
  snprintf(field, sizeof field, "%s.time", path);
  if (!json_is_object(time)) return jfail(r, field, "expected an object {column, axis, unit}");
  static const char *const tkeys[] = {"column", "axis", "unit", NULL};
  JTRY(jkeys(r, time, field, tkeys));
  JTRY(jstr(r, time, "column", field, 1, &tb->time_column));
  const char *axis;
  JTRY(jstr(r, time, "axis", field, 0, &axis));
  int a = *axis ? tt_time_axis_parse(axis) : TT_AXIS_TIMESTAMP;
  if (a < 0) return jfail(r, field, "unknown axis");
  tb->axis = (tt_time_axis)a;
  JTRY(jstr(r, time, "unit", field, 0, &tb->axis_unit));
  json_t *cols = json_object_get(o, "columns");
  snprintf(field, sizeof field, "%s.columns", path);
  if (!json_is_array(cols)) return jfail(r, field, "expected an array");
  size_t n = json_array_size(cols);
  if (n > TT_SCHEMA_MAX_COLUMNS) return jfail(r, field, "too many columns");
  if (tt__schema_alloc_columns(r->s, t, n) != 0)
    return tt_error_set(r->err, TT_NOMEM, "out of memory");
  for (size_t c = 0; c < n; c++)
    JTRY(jcolumn(r, json_array_get(cols, c), t, c, path));
  return TT_OK;
}

tt_err tt_schema_from_json(const char *json, tt_schema **out, tt_error *err) {
  *out = NULL;
  tt_schema *s = tt__schema_new("(json)");
  if (!s) return tt_error_set(err, TT_NOMEM, "out of memory");
  jreader rr = {.s = s, .err = err}, *r = &rr;
  json_error_t jerr;
  json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
  tt_err rc = TT_OK;
  if (!root) {
    rc = tt_error_set(err, TT_PARSE, "JSON: %s", jerr.text);
    tt_error_at(err, s->source, jerr.line > 0 ? jerr.line : 0, NULL);
    goto out;
  }
  if (!json_is_object(root)) {
    rc = jfail(r, "", "expected an object");
    goto out;
  }
  static const char *const keys[] = {"name", "description", "tables", NULL};
  if ((rc = jkeys(r, root, "", keys)) != TT_OK) goto out;
  if ((rc = jstr(r, root, "name", "", 1, &s->name)) != TT_OK) goto out;
  if ((rc = jstr(r, root, "description", "", 0, &s->description)) != TT_OK) goto out;
  json_t *tables = json_object_get(root, "tables");
  if (!json_is_array(tables)) {
    rc = jfail(r, "tables", "expected an array");
    goto out;
  }
  size_t n = json_array_size(tables);
  if (n > TT_SCHEMA_MAX_TABLES) {
    rc = jfail(r, "tables", "too many tables");
    goto out;
  }
  if (tt__schema_alloc_tables(s, n) != 0) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  s->ntables = n;
  for (size_t t = 0; t < n && rc == TT_OK; t++)
    rc = jtable(r, json_array_get(tables, t), t);
  if (rc == TT_OK) rc = tt__schema_validate(s, err);
out:
  json_decref(root);
  if (rc != TT_OK) {
    tt_schema_destroy(s);
    return rc;
  }
  *out = s;
  return TT_OK;
}
