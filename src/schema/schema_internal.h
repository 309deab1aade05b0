/* Internal: the tt_schema layout shared by the YAML reader, the JSON
 * reader/writer and the validator.
 *
 * Both readers fill a tt_schema (strings in its arena) and record, next to
 * each table and column, the source line of every field they saw, so that
 * the one validator (tt__schema_validate) can name file:line:field for
 * either input. JSON input has no lines (0). */
#ifndef TT_SCHEMA_INTERNAL_H
#define TT_SCHEMA_INTERNAL_H

#include "core/arena.h"
#include "telltale/schema.h"

/* Limits: a schema is a hand-written declaration, these are far above any
 * real one and keep a hostile file from exhausting memory. */
#define TT_SCHEMA_MAX_TABLES 1024
#define TT_SCHEMA_MAX_COLUMNS 4096
#define TT_SCHEMA_MAX_NAME 63
#define TT_SCHEMA_MAX_TEXT 4096

typedef struct tt__column_lines {
  long at, name, type, unit, min, max, required;
  int required_given; /* "required" appeared explicitly */
} tt__column_lines;

typedef struct tt__table_lines {
  long at, kind, entity, time, time_column, axis, unit, columns;
} tt__table_lines;

struct tt_schema {
  tt_arena *arena;
  const char *source; /* file name for errors (arena) */
  const char *name;
  const char *description;
  int version;
  size_t ntables;
  tt_table_def *tables;         /* arena */
  tt__table_lines *table_lines; /* arena, parallel to tables */
  tt__column_lines **col_lines; /* arena, per table, parallel to columns */
  long name_line, tables_line;
};

tt_schema *tt__schema_new(const char *source);
/* Allocate n tables / n columns of table t (zeroed, in the arena). */
int tt__schema_alloc_tables(tt_schema *s, size_t n);
int tt__schema_alloc_columns(tt_schema *s, size_t t, size_t n);
char *tt__schema_strdup(tt_schema *s, const char *str);

/* Cross-field checks (names, entity/time columns, ranges, duplicates);
 * fills entity_index/time_index and forces the entity and time columns
 * required. */
tt_err tt__schema_validate(tt_schema *s, tt_error *err) TT_WARN_UNUSED;

/* 1 if name is a valid table/column identifier ([A-Za-z_][A-Za-z0-9_]*). */
int tt__schema_ident_ok(const char *name);
/* 1 if name is a valid schema (registry object) name ([A-Za-z][A-Za-z0-9_.-]*). */
int tt__schema_name_ok(const char *name);

#endif
