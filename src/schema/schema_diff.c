/* Schema evolution: what changed from one version to the next, and whether
 * data written under the old schema still reads under the new one.
 *
 * The rule of thumb: a change is compatible when every record valid under
 * the old schema is still valid, and means the same, under the new one, and
 * every reader of the old tables still finds its columns. So adding a table
 * or an optional column, relaxing required, widening nothing else, and
 * editing descriptions or ranges are fine; removing or retyping a column,
 * changing a unit (same numbers, other meaning), making a column required,
 * or changing a table's kind, entity or time axis is not. Range (min/max)
 * changes are reported but compatible: they decide what ingest accepts from
 * now on, not how stored data reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/schema_internal.h"

#define MAX_REPORT (1u << 20)

typedef struct report {
  char *buf;
  size_t len, cap;
  int compatible;
  int oom;
} report;

static void add(report *r, int incompatible, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(report *r, int incompatible, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  if (incompatible) r->compatible = 0;
  const char *tag = incompatible ? "  [incompatible]\n" : "\n";
  size_t need = r->len + (size_t)n + strlen(tag) + 1;
  if (need > MAX_REPORT) return; /* the verdict stays right; the text is capped */
  if (need > r->cap) {
    size_t cap = r->cap ? r->cap : 256;
    while (cap < need)
      cap *= 2;
    char *nb = realloc(r->buf, cap);
    if (!nb) {
      r->oom = 1;
      return;
    }
    r->buf = nb;
    r->cap = cap;
  }
  memcpy(r->buf + r->len, line, (size_t)n);
  r->len += (size_t)n;
  memcpy(r->buf + r->len, tag, strlen(tag) + 1);
  r->len += strlen(tag);
}

static void fmt_range(char *buf, size_t size, const tt_column_def *c) {
  char lo[40] = "", hi[40] = "";
  if (c->has_min) snprintf(lo, sizeof lo, "%.17g", c->min);
  if (c->has_max) snprintf(hi, sizeof hi, "%.17g", c->max);
  snprintf(buf, size, "[%s, %s]", lo, hi);
}

static void diff_table(report *r, const tt_table_def *a, const tt_table_def *b) {
  const char *t = a->name;
  if (a->kind != b->kind)
    add(r, 1, "~ table %s kind %s -> %s", t, tt_table_kind_name(a->kind),
        tt_table_kind_name(b->kind));
  if (strcmp(a->entity_column, b->entity_column))
    add(r, 1, "~ table %s entity %s -> %s", t, a->entity_column, b->entity_column);
  if (strcmp(a->time_column, b->time_column))
    add(r, 1, "~ table %s time column %s -> %s", t, a->time_column, b->time_column);
  if (a->axis != b->axis || strcmp(a->axis_unit, b->axis_unit))
    add(r, 1, "~ table %s time axis %s (%s) -> %s (%s)", t, tt_time_axis_name(a->axis),
        a->axis_unit, tt_time_axis_name(b->axis), b->axis_unit);
  if (strcmp(a->description, b->description)) add(r, 0, "~ table %s description", t);
  for (size_t i = 0; i < a->ncolumns; i++) {
    const tt_column_def *ca = &a->columns[i];
    int j = tt_table_column_index(b, ca->name);
    if (j < 0) {
      add(r, 1, "- table %s column %s (%s)", t, ca->name, tt_type_name(ca->type));
      continue;
    }
    const tt_column_def *cb = &b->columns[j];
    if (ca->type != cb->type)
      add(r, 1, "~ table %s column %s type %s -> %s", t, ca->name, tt_type_name(ca->type),
          tt_type_name(cb->type));
    if (strcmp(ca->unit, cb->unit))
      add(r, 1, "~ table %s column %s unit '%s' -> '%s'", t, ca->name, ca->unit, cb->unit);
    if (ca->required != cb->required)
      add(r, cb->required, "~ table %s column %s %s", t, ca->name,
          cb->required ? "optional -> required" : "required -> optional");
    if (ca->has_min != cb->has_min || ca->has_max != cb->has_max ||
        (ca->has_min && ca->min != cb->min) || (ca->has_max && ca->max != cb->max)) {
      char ra[100], rb[100];
      fmt_range(ra, sizeof ra, ca);
      fmt_range(rb, sizeof rb, cb);
      add(r, 0, "~ table %s column %s range %s -> %s", t, ca->name, ra, rb);
    }
    if (strcmp(ca->description, cb->description))
      add(r, 0, "~ table %s column %s description", t, ca->name);
  }
  for (size_t j = 0; j < b->ncolumns; j++) {
    const tt_column_def *cb = &b->columns[j];
    if (tt_table_column_index(a, cb->name) >= 0) continue;
    add(r, cb->required, "+ table %s column %s (%s, %s)", t, cb->name, tt_type_name(cb->type),
        cb->required ? "required" : "optional");
  }
  /* Same columns in another order: readers go by name, so this is only
   * reported. */
  size_t k = 0, moved = 0;
  for (size_t j = 0; j < b->ncolumns; j++) {
    int i = tt_table_column_index(a, b->columns[j].name);
    if (i < 0) continue;
    if ((size_t)i < k) moved = 1;
    k = (size_t)i;
  }
  if (moved) add(r, 0, "~ table %s column order", t);
}

tt_err tt_schema_diff(const tt_schema *old_s, const tt_schema *new_s, int *compatible, char **out,
                      tt_error *err) {
  report r = {.compatible = 1};
  *out = NULL;
  *compatible = 0;
  if (strcmp(old_s->name, new_s->name)) add(&r, 0, "~ name %s -> %s", old_s->name, new_s->name);
  if (strcmp(old_s->description, new_s->description)) add(&r, 0, "~ description");
  for (size_t i = 0; i < old_s->ntables; i++) {
    const tt_table_def *a = &old_s->tables[i], *b = tt_schema_table(new_s, a->name);
    if (!b)
      add(&r, 1, "- table %s (%s, %zu columns)", a->name, tt_table_kind_name(a->kind), a->ncolumns);
    else
      diff_table(&r, a, b);
  }
  for (size_t j = 0; j < new_s->ntables; j++) {
    const tt_table_def *b = &new_s->tables[j];
    if (!tt_schema_table(old_s, b->name))
      add(&r, 0, "+ table %s (%s, %zu columns)", b->name, tt_table_kind_name(b->kind), b->ncolumns);
  }
  if (r.oom) {
    free(r.buf);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  if (!r.buf) {
    r.buf = strdup("");
    if (!r.buf) return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  *out = r.buf;
  *compatible = r.compatible;
  return TT_OK;
}
