/* telltale — dataset schemas.
 *
 * A schema file (YAML, see docs/schema.md and `telltale init`) declares a
 * dataset's tables. Each table has a kind (telemetry: wide, one column per
 * signal; events: DTCs, maintenance, failures; entity: vehicle attributes
 * that change rarely), names its entity column (the vehicle id) and its time
 * axis (a timestamp, or a counter such as operating cycles or odometer km),
 * and lists its columns with type, unit, valid range and whether required.
 *
 * Schemas are immutable once parsed; tables and columns are plain read-only
 * structs owned by the tt_schema.
 */
#ifndef TELLTALE_SCHEMA_H
#define TELLTALE_SCHEMA_H

#include <stddef.h>

#include "telltale/batch.h"
#include "telltale/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_table_kind {
  TT_TABLE_TELEMETRY = 0,
  TT_TABLE_EVENTS = 1,
  TT_TABLE_ENTITY = 2,
} tt_table_kind;

typedef enum tt_time_axis {
  TT_AXIS_TIMESTAMP = 0, /* int64 microseconds UTC; lake partitions by date */
  TT_AXIS_COUNTER = 1,   /* int64 in axis_unit (cycles, hours, km) */
} tt_time_axis;

typedef struct tt_column_def {
  const char *name;
  tt_type type;
  const char *unit;        /* "" if none */
  const char *description; /* "" if none */
  int required;            /* a null / missing value is invalid */
  int has_min, has_max;    /* numeric range checks, inclusive */
  double min, max;
} tt_column_def;

typedef struct tt_table_def {
  const char *name;
  tt_table_kind kind;
  const char *description;
  const char *entity_column; /* always present among columns */
  const char *time_column;   /* always present among columns */
  tt_time_axis axis;
  const char *axis_unit;     /* "us" for timestamps; e.g. "cycles" for counters */
  size_t ncolumns;
  const tt_column_def *columns;
  size_t entity_index, time_index; /* positions of the two in columns[] */
} tt_table_def;

typedef struct tt_schema tt_schema;

/* "telemetry", "events", "entity"; parse returns -1 for an unknown name. */
const char *tt_table_kind_name(tt_table_kind k);
int tt_table_kind_parse(const char *name);
/* "timestamp", "counter"; parse returns -1 for an unknown name. */
const char *tt_time_axis_name(tt_time_axis a);
int tt_time_axis_parse(const char *name);

/* Parse a schema from YAML. Errors name the file, line and field. The
 * schema is the caller's to destroy. */
tt_err tt_schema_parse_file(const char *path, tt_schema **out, tt_error *err) TT_WARN_UNUSED;
tt_err tt_schema_parse_string(const char *yaml, size_t len, const char *source_name,
                              tt_schema **out, tt_error *err) TT_WARN_UNUSED;
void tt_schema_destroy(tt_schema *s);

const char *tt_schema_name(const tt_schema *s);
const char *tt_schema_description(const tt_schema *s);
/* Registry version (1, 2, …), or 0 for a schema not (yet) registered. */
int tt_schema_version(const tt_schema *s);
void tt_schema_set_version(tt_schema *s, int version);

size_t tt_schema_table_count(const tt_schema *s);
const tt_table_def *tt_schema_table_at(const tt_schema *s, size_t i);
/* NULL if there is no such table. */
const tt_table_def *tt_schema_table(const tt_schema *s, const char *name);
/* Index into table->columns, or -1. */
int tt_table_column_index(const tt_table_def *t, const char *name);

/* Canonical JSON text of the schema (stable key order, no whitespace): what
 * the registry stores and hashes. malloc'd, caller frees. */
char *tt_schema_to_json(const tt_schema *s);
/* Read canonical (or any equivalent) JSON back, with the same validation as
 * the YAML reader; errors name the field path. The schema is the caller's
 * to destroy. */
tt_err tt_schema_from_json(const char *json, tt_schema **out, tt_error *err) TT_WARN_UNUSED;

/* Evolution from old to new. Each change is one line of the report
 * ("+ table telemetry column fuel_level_pct (double, optional)"). Adding an
 * optional column or a table is compatible; removing or retyping a column,
 * making a column required, or changing a table's entity/time axis is not.
 * *compatible is set to 0 or 1. *report is malloc'd (caller frees), "" when
 * there is no change. Incompatible lines end in "  [incompatible]". A unit
 * change is incompatible (same numbers, other meaning); a range (min/max),
 * description or column-order change is reported and compatible. The table
 * names are what is compared; the schema names may differ. */
tt_err tt_schema_diff(const tt_schema *old_s, const tt_schema *new_s, int *compatible,
                      char **report, tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
