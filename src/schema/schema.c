/* Schemas: the in-memory form, accessors and the validator that both the
 * YAML and the JSON reader go through (so a schema read back from the
 * registry obeys exactly the rules of one read from a file). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema_internal.h"

tt_schema *tt__schema_new(const char *source) {
  tt_schema *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->arena = tt_arena_new(4096);
  if (!s->arena) {
    free(s);
    return NULL;
  }
  s->source = tt__schema_strdup(s, source ? source : "");
  s->name = s->description = "";
  if (!s->source) {
    tt_schema_destroy(s);
    return NULL;
  }
  return s;
}

void tt_schema_destroy(tt_schema *s) {
  if (!s) return;
  tt_arena_destroy(s->arena);
  free(s);
}

char *tt__schema_strdup(tt_schema *s, const char *str) {
  return tt_arena_strndup(s->arena, str, strlen(str));
}

int tt__schema_alloc_tables(tt_schema *s, size_t n) {
  if (n == 0) n = 1; /* keep pointers non-NULL */
  s->tables = tt_arena_alloc(s->arena, n * sizeof *s->tables);
  s->table_lines = tt_arena_alloc(s->arena, n * sizeof *s->table_lines);
  s->col_lines = tt_arena_alloc(s->arena, n * sizeof *s->col_lines);
  if (!s->tables || !s->table_lines || !s->col_lines) return -1;
  memset(s->tables, 0, n * sizeof *s->tables);
  memset(s->table_lines, 0, n * sizeof *s->table_lines);
  memset(s->col_lines, 0, n * sizeof *s->col_lines);
  return 0;
}

int tt__schema_alloc_columns(tt_schema *s, size_t t, size_t n) {
  size_t m = n ? n : 1;
  tt_column_def *cols = tt_arena_alloc(s->arena, m * sizeof *cols);
  tt__column_lines *lines = tt_arena_alloc(s->arena, m * sizeof *lines);
  if (!cols || !lines) return -1;
  memset(cols, 0, m * sizeof *cols);
  memset(lines, 0, m * sizeof *lines);
  for (size_t i = 0; i < m; i++)
    cols[i].name = cols[i].unit = cols[i].description = "";
  s->tables[t].columns = cols;
  s->tables[t].ncolumns = n;
  s->col_lines[t] = lines;
  return 0;
}

int tt__schema_ident_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > TT_SCHEMA_MAX_NAME) return 0;
  if (!(isalpha((unsigned char)name[0]) || name[0] == '_')) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)name[i]) || name[i] == '_')) return 0;
  return 1;
}

/* Registry names may not hold ':' or '@' (NAME:VERSION, NAME@ALIAS). */
int tt__schema_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > TT_SCHEMA_MAX_NAME || !isalpha((unsigned char)name[0])) return 0;
  for (size_t i = 1; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!(isalnum(c) || c == '_' || c == '-' || c == '.')) return 0;
  }
  return 1;
}

static tt_err fail(tt_error *err, const tt_schema *s, long line, const char *field,
                   const char *msg) {
  tt_error_set(err, TT_SCHEMA, "%s", msg);
  tt_error_at(err, s->source, line, field);
  return TT_SCHEMA;
}

tt_err tt__schema_validate(tt_schema *s, tt_error *err) {
  char field[160], msg[300];
  if (!s->name[0]) return fail(err, s, 0, "name", "missing: every schema has a name");
  if (!tt__schema_name_ok(s->name))
    return fail(err, s, s->name_line, "name",
                "invalid name: a letter, then letters, digits, '_', '-' or '.' (at most 63)");
  if (s->ntables == 0)
    return fail(err, s, s->tables_line, "tables", "a schema declares at least one table");
  for (size_t t = 0; t < s->ntables; t++) {
    tt_table_def *tb = &s->tables[t];
    tt__table_lines *tl = &s->table_lines[t];
    snprintf(field, sizeof field, "tables.%s", tb->name);
    if (!tt__schema_ident_ok(tb->name))
      return fail(err, s, tl->at, field,
                  "invalid table name: a letter or '_', then letters, digits or '_' (at most 63)");
    for (size_t u = 0; u < t; u++)
      if (!strcmp(s->tables[u].name, tb->name))
        return fail(err, s, tl->at, field, "duplicate table");
    if (!tb->entity_column || !tb->entity_column[0]) {
      snprintf(field, sizeof field, "tables.%s.entity", tb->name);
      return fail(err, s, tl->at, field, "missing: the entity column (e.g. vehicle_id)");
    }
    if (!tb->time_column || !tb->time_column[0]) {
      snprintf(field, sizeof field, "tables.%s.time.column", tb->name);
      return fail(err, s, tl->time ? tl->time : tl->at, field, "missing: the time column");
    }
    if (tb->ncolumns == 0) {
      snprintf(field, sizeof field, "tables.%s.columns", tb->name);
      return fail(err, s, tl->columns ? tl->columns : tl->at, field,
                  "a table lists at least its entity and time columns");
    }
    for (size_t c = 0; c < tb->ncolumns; c++) {
      tt_column_def *col = (tt_column_def *)&tb->columns[c];
      tt__column_lines *cl = &s->col_lines[t][c];
      snprintf(field, sizeof field, "tables.%s.columns.%s", tb->name, col->name);
      if (!tt__schema_ident_ok(col->name))
        return fail(
            err, s, cl->name ? cl->name : cl->at, field,
            "invalid column name: a letter or '_', then letters, digits or '_' (at most 63)");
      for (size_t d = 0; d < c; d++)
        if (!strcmp(tb->columns[d].name, col->name))
          return fail(err, s, cl->name ? cl->name : cl->at, field, "duplicate column");
      int numeric = col->type == TT_TYPE_DOUBLE || col->type == TT_TYPE_INT64 ||
                    col->type == TT_TYPE_TIMESTAMP;
      if ((col->has_min || col->has_max) && !numeric) {
        snprintf(msg, sizeof msg, "min/max apply to numeric columns, not to %s",
                 tt_type_name(col->type));
        return fail(err, s, col->has_min ? cl->min : cl->max, field, msg);
      }
      if (col->has_min && col->has_max && col->min > col->max) {
        snprintf(msg, sizeof msg, "min %.17g is greater than max %.17g", col->min, col->max);
        return fail(err, s, cl->max, field, msg);
      }
    }
    int ei = tt_table_column_index(tb, tb->entity_column);
    snprintf(field, sizeof field, "tables.%s.entity", tb->name);
    if (ei < 0) {
      snprintf(msg, sizeof msg, "entity column '%s' is not among the columns", tb->entity_column);
      return fail(err, s, tl->entity, field, msg);
    }
    if (tb->columns[ei].type != TT_TYPE_STRING) {
      snprintf(msg, sizeof msg, "entity column '%s' must be of type string, not %s",
               tb->entity_column, tt_type_name(tb->columns[ei].type));
      return fail(err, s, tl->entity, field, msg);
    }
    int ti = tt_table_column_index(tb, tb->time_column);
    snprintf(field, sizeof field, "tables.%s.time.column", tb->name);
    if (ti < 0) {
      snprintf(msg, sizeof msg, "time column '%s' is not among the columns", tb->time_column);
      return fail(err, s, tl->time_column, field, msg);
    }
    if (ti == ei)
      return fail(err, s, tl->time_column, field, "time column and entity column are the same");
    tt_type want = tb->axis == TT_AXIS_TIMESTAMP ? TT_TYPE_TIMESTAMP : TT_TYPE_INT64;
    if (tb->columns[ti].type != want) {
      snprintf(msg, sizeof msg, "a %s axis needs a %s time column; '%s' is %s",
               tb->axis == TT_AXIS_TIMESTAMP ? "timestamp" : "counter", tt_type_name(want),
               tb->time_column, tt_type_name(tb->columns[ti].type));
      return fail(err, s, tl->time_column, field, msg);
    }
    snprintf(field, sizeof field, "tables.%s.time.unit", tb->name);
    if (tb->axis == TT_AXIS_TIMESTAMP) {
      if (tb->axis_unit && tb->axis_unit[0] && strcmp(tb->axis_unit, "us"))
        return fail(err, s, tl->unit, field,
                    "a timestamp axis is in microseconds UTC: leave unit out (or 'us')");
      tb->axis_unit = "us";
    } else if (!tb->axis_unit || !tb->axis_unit[0]) {
      return fail(err, s, tl->axis ? tl->axis : tl->time, field,
                  "a counter axis needs a unit (cycles, hours, km …): windows are in it");
    }
    /* The entity and time of a record are never optional. */
    const size_t keys[2] = {(size_t)ei, (size_t)ti};
    for (int k = 0; k < 2; k++) {
      tt_column_def *col = (tt_column_def *)&tb->columns[keys[k]];
      tt__column_lines *cl = &s->col_lines[t][keys[k]];
      if (cl->required_given && !col->required) {
        snprintf(field, sizeof field, "tables.%s.columns.%s.required", tb->name, col->name);
        return fail(err, s, cl->required, field,
                    k == 0 ? "the entity column is always required"
                           : "the time column is always required");
      }
      col->required = 1;
    }
    tb->entity_index = (size_t)ei;
    tb->time_index = (size_t)ti;
  }
  return TT_OK;
}

const char *tt_schema_name(const tt_schema *s) { return s->name; }
const char *tt_schema_description(const tt_schema *s) { return s->description; }
int tt_schema_version(const tt_schema *s) { return s->version; }
void tt_schema_set_version(tt_schema *s, int version) { s->version = version; }
size_t tt_schema_table_count(const tt_schema *s) { return s->ntables; }

const tt_table_def *tt_schema_table_at(const tt_schema *s, size_t i) {
  return i < s->ntables ? &s->tables[i] : NULL;
}

const tt_table_def *tt_schema_table(const tt_schema *s, const char *name) {
  for (size_t i = 0; i < s->ntables; i++)
    if (!strcmp(s->tables[i].name, name)) return &s->tables[i];
  return NULL;
}

int tt_table_column_index(const tt_table_def *t, const char *name) {
  if (!name) return -1;
  for (size_t i = 0; i < t->ncolumns; i++)
    if (!strcmp(t->columns[i].name, name)) return (int)i;
  return -1;
}

const char *tt_table_kind_name(tt_table_kind k) {
  switch (k) {
  case TT_TABLE_TELEMETRY:
    return "telemetry";
  case TT_TABLE_EVENTS:
    return "events";
  case TT_TABLE_ENTITY:
    return "entity";
  }
  return "?";
}

int tt_table_kind_parse(const char *s) {
  if (!strcmp(s, "telemetry")) return TT_TABLE_TELEMETRY;
  if (!strcmp(s, "events")) return TT_TABLE_EVENTS;
  if (!strcmp(s, "entity")) return TT_TABLE_ENTITY;
  return -1;
}

const char *tt_time_axis_name(tt_time_axis a) {
  return a == TT_AXIS_COUNTER ? "counter" : "timestamp";
}

int tt_time_axis_parse(const char *s) {
  if (!strcmp(s, "timestamp")) return TT_AXIS_TIMESTAMP;
  if (!strcmp(s, "counter")) return TT_AXIS_COUNTER;
  return -1;
}
