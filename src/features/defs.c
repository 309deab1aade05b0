/* Feature-set definitions: strict YAML parsing, canonical JSON, version hash.
 * See include/telltale/features.h and docs/features.md for the format.
 *
 * Parsing uses libyaml's document API because it keeps each node's line,
 * which every error message names. All strings of a set live in one arena
 * freed with the set. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/arena.h"
#include "core/json_escape.h"
#include "features/internal.h"
#include "telltale/features.h"
#include "telltale/hash.h"

static const char *const g_agg_names[] = {
#define TT_AGG_NAME_(name, str) str,
    TT_AGG_MAP(TT_AGG_NAME_)
#undef TT_AGG_NAME_
};

const char *tt_agg_name(tt_agg a) { return (unsigned)a < TT_AGG_MAX_ ? g_agg_names[a] : NULL; }

int tt_agg_parse(const char *name) {
  for (int i = 0; i < TT_AGG_MAX_; i++)
    if (!strcmp(g_agg_names[i], name)) return i;
  return -1;
}

/* ---------------------------------------------------------------------- */

typedef struct parser {
  yaml_document_t doc;
  const char *file;
  tt_feature_set *fs;
  tt_error *err;
} parser;

static long node_line(const yaml_node_t *n) { return n ? (long)n->start_mark.line + 1 : 0; }

static tt_err fail(parser *p, const yaml_node_t *n, const char *field, tt_err code, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static tt_err fail(parser *p, const yaml_node_t *n, const char *field, tt_err code, const char *fmt,
                   ...) {
  if (p->err) {
    va_list ap;
    va_start(ap, fmt);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tt_error_set(p->err, code, "%s", msg);
    tt_error_at(p->err, p->file, node_line(n), field);
  }
  return code;
}

static const char *scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *dup(parser *p, const char *s) { return tt_arena_strndup(p->fs->arena, s, strlen(s)); }

static int is_ident(const char *s) {
  if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return 0;
  return 1;
}

/* Parse a window / tile / per value in axis units. */
int tt_features_parse_span(tt_time_axis axis, const char *s, int64_t *out) {
  if (!s || !*s) return -1;
  if (axis == TT_AXIS_COUNTER) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s) return -1;
    *out = v;
    return 0;
  }
  /* Timestamps need a unit: a bare number would silently mean microseconds. */
  size_t n = strlen(s);
  if (isdigit((unsigned char)s[n - 1])) return -1;
  if (n > 2 && !strcmp(s + n - 2, "mo")) { /* months: 30 days, documented */
    char buf[64];
    if (n - 2 >= sizeof buf) return -1;
    memcpy(buf, s, n - 2);
    buf[n - 2] = 'd';
    buf[n - 1] = '\0';
    int64_t d;
    if (tt_duration_parse(buf, &d) != 0) return -1;
    if (d > INT64_MAX / 30) return -1;
    *out = d * 30;
    return 0;
  }
  return tt_duration_parse(s, out);
}

static void format_span(tt_time_axis axis, int64_t v, char *buf, size_t size) {
  if (axis == TT_AXIS_COUNTER) {
    snprintf(buf, size, "%lld", (long long)v);
    return;
  }
  static const struct {
    int64_t us;
    const char *unit;
  } units[] = {{TT_USEC_PER_DAY, "d"}, {TT_USEC_PER_HOUR, "h"},
               {TT_USEC_PER_MIN, "m"}, {TT_USEC_PER_SEC, "s"},
               {1000, "ms"},           {1, "us"}};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (v % units[i].us == 0) {
      snprintf(buf, size, "%lld%s", (long long)(v / units[i].us), units[i].unit);
      return;
    }
}

/* Filter: "column OP literal", OP one of = == != < <= > >=; literal true,
 * false, a number or a 'quoted' / "quoted" string. */
static tt_err parse_filter(parser *p, const yaml_node_t *n) {
  const char *s = scalar(n);
  tt_feature_filter *f = &p->fs->filter;
  if (!s)
    return fail(p, n, "filter", TT_PARSE,
                "filter must be a string such as 'engine_running = true'");
  const char *q = s;
  while (isspace((unsigned char)*q))
    q++;
  const char *c0 = q;
  while (isalnum((unsigned char)*q) || *q == '_')
    q++;
  size_t clen = (size_t)(q - c0);
  while (isspace((unsigned char)*q))
    q++;
  static const struct {
    const char *text;
    tt_filter_op op;
  } ops[] = {{"==", TT_FILTER_EQ}, {"!=", TT_FILTER_NE}, {"<=", TT_FILTER_LE}, {">=", TT_FILTER_GE},
             {"=", TT_FILTER_EQ},  {"<", TT_FILTER_LT},  {">", TT_FILTER_GT}};
  const char *optext = NULL;
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strncmp(q, ops[i].text, strlen(ops[i].text))) {
      f->op = ops[i].op;
      optext = ops[i].op == TT_FILTER_EQ ? "=" : ops[i].text;
      q += strlen(ops[i].text);
      break;
    }
  if (!clen || !optext)
    return fail(
        p, n, "filter", TT_PARSE,
        "cannot parse filter '%s': expected COLUMN OP VALUE with OP one of = != < <= > >=", s);
  f->column = tt_arena_strndup(p->fs->arena, c0, clen);
  while (isspace((unsigned char)*q))
    q++;
  size_t vlen = strlen(q);
  while (vlen && isspace((unsigned char)q[vlen - 1]))
    vlen--;
  char lit[256];
  if (vlen >= 2 && (q[0] == '\'' || q[0] == '"') && q[vlen - 1] == q[0]) {
    f->is_string = 1;
    f->str = tt_arena_strndup(p->fs->arena, q + 1, vlen - 2);
    if (f->op != TT_FILTER_EQ && f->op != TT_FILTER_NE)
      return fail(p, n, "filter", TT_PARSE, "strings compare only with = and !=");
    snprintf(lit, sizeof lit, "'%s'", f->str);
  } else if (vlen == 4 && !strncmp(q, "true", 4)) {
    f->number = 1;
    snprintf(lit, sizeof lit, "true");
  } else if (vlen == 5 && !strncmp(q, "false", 5)) {
    f->number = 0;
    snprintf(lit, sizeof lit, "false");
  } else {
    char buf[128];
    if (!vlen || vlen >= sizeof buf)
      return fail(p, n, "filter", TT_PARSE, "filter '%s' has no value to compare with", s);
    memcpy(buf, q, vlen);
    buf[vlen] = '\0';
    char *end;
    f->number = strtod(buf, &end);
    if (*end || !isfinite(f->number))
      return fail(p, n, "filter", TT_PARSE,
                  "filter value '%s' is not true, false, a number or a quoted string", buf);
    snprintf(lit, sizeof lit, "%.17g", f->number);
  }
  char text[512];
  snprintf(text, sizeof text, "%s %s %s", f->column, optext, lit);
  f->text = dup(p, text);
  return TT_OK;
}

static int type_is_numeric(tt_type t) {
  return t == TT_TYPE_DOUBLE || t == TT_TYPE_INT64 || t == TT_TYPE_BOOL;
}

/* Add a table name to the set's table list once. */
static tt_err add_table(parser *p, const char *name) {
  tt_feature_set *fs = p->fs;
  for (size_t i = 0; i < fs->ntables; i++)
    if (!strcmp(fs->tables[i], name)) return TT_OK;
  const char **t = realloc(fs->tables, (fs->ntables + 1) * sizeof *t);
  if (!t) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  fs->tables = t;
  fs->tables[fs->ntables++] = name;
  return TT_OK;
}

static tt_err check_column(parser *p, const yaml_node_t *n, const char *field,
                           const tt_schema *schema, const char *table, const char *column,
                           int numeric) {
  if (!schema) return TT_OK;
  const tt_table_def *t = tt_schema_table(schema, table);
  if (!t)
    return fail(p, n, "table", TT_SCHEMA, "unknown table '%s' in schema '%s'", table,
                tt_schema_name(schema));
  int ci = tt_table_column_index(t, column);
  if (ci < 0)
    return fail(p, n, field, TT_SCHEMA, "unknown column '%s' in table '%s'", column, table);
  if (numeric && !type_is_numeric(t->columns[ci].type))
    return fail(p, n, field, TT_SCHEMA, "column '%s' of table '%s' is %s, not numeric", column,
                table, tt_type_name(t->columns[ci].type));
  return TT_OK;
}

/* One entry of `attributes:`: {name, table, column, encode, time, description}. */
static tt_err parse_attribute(parser *p, yaml_node_t *n, const tt_schema *schema,
                              tt_feature_def *fd) {
  tt_feature_set *fs = p->fs;
  if (n->type != YAML_MAPPING_NODE)
    return fail(p, n, "attributes", TT_PARSE,
                "each attribute must be a mapping {name, table, column, encode}");
  fd->line = node_line(n);
  fd->column = NULL;
  fd->table = NULL;
  fd->code = "";
  fd->description = "";
  fd->agg = TT_AGG_LAST;
  fd->attribute = TT_ATTR_NUMBER;
  fd->time_column = "valid_from";
  fd->tile = fs->tile;
  const yaml_node_t *col_node = NULL, *table_node = NULL, *time_node = NULL;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
    const char *key = scalar(k), *val = scalar(v);
    if (!key) return fail(p, k, "attributes", TT_PARSE, "attribute keys must be strings");
    if (!val) return fail(p, v, key, TT_PARSE, "'%s' must be a single value", key);
    const char **dst = NULL;
    if (!strcmp(key, "name")) {
      if (!is_ident(val))
        return fail(p, v, "name", TT_PARSE,
                    "attribute name '%s' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", val);
      dst = &fd->name;
    } else if (!strcmp(key, "table")) {
      dst = &fd->table;
      table_node = v;
    } else if (!strcmp(key, "column")) {
      dst = &fd->column;
      col_node = v;
    } else if (!strcmp(key, "time")) {
      if (!is_ident(val))
        return fail(p, v, "time", TT_PARSE, "time column '%s' is not an identifier", val);
      dst = &fd->time_column;
      time_node = v;
    } else if (!strcmp(key, "description")) {
      dst = &fd->description;
    } else if (!strcmp(key, "encode")) {
      if (!strcmp(val, "number"))
        fd->attribute = TT_ATTR_NUMBER;
      else if (!strcmp(val, "category"))
        fd->attribute = TT_ATTR_CATEGORY;
      else if (!strcmp(val, "age"))
        fd->attribute = TT_ATTR_AGE;
      else
        return fail(p, v, "encode", TT_PARSE, "unknown encode '%s' (number, category, age)", val);
    } else {
      return fail(p, k, key, TT_PARSE,
                  "unknown key '%s' (name, table, column, encode, time, description)", key);
    }
    if (dst && !(*dst = dup(p, val))) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  }
  if (!fd->name) return fail(p, n, "name", TT_PARSE, "attribute has no name");
  char field[160];
  snprintf(field, sizeof field, "%s.table", fd->name);
  if (!fd->table)
    return fail(p, n, field, TT_PARSE, "attribute '%s' has no table (the entity table)", fd->name);
  snprintf(field, sizeof field, "%s.column", fd->name);
  if (!fd->column || !*fd->column)
    return fail(p, n, field, TT_PARSE, "attribute '%s' has no column", fd->name);
  snprintf(field, sizeof field, "%s.table", fd->name);
  /* An entity table is read by its validity time, the feature tables by
   * the set's time column: one table cannot be both. */
  for (size_t i = 0; i < fs->nfeatures; i++) {
    const tt_feature_def *o = &fs->features[i];
    if (!o->attribute && !strcmp(o->table, fd->table))
      return fail(p, table_node, field, TT_PARSE,
                  "table '%s' is read by feature '%s': attributes come from entity tables only",
                  fd->table, o->name);
    if (o->attribute && !strcmp(o->table, fd->table) && strcmp(o->time_column, fd->time_column))
      return fail(p, time_node ? time_node : n, field, TT_PARSE,
                  "attributes of table '%s' disagree on its time column ('%s', '%s')", fd->table,
                  o->time_column, fd->time_column);
  }
  if (!strcmp(fd->table, fs->source))
    return fail(p, table_node, field, TT_PARSE,
                "table '%s' is the source: attributes come from entity tables", fd->table);
  if (fd->attribute == TT_ATTR_AGE && fs->axis != TT_AXIS_TIMESTAMP) {
    snprintf(field, sizeof field, "%s.encode", fd->name);
    return fail(p, n, field, TT_PARSE, "encode: age needs a timestamp time axis");
  }
  if (schema) {
    tt_err rc = check_column(p, col_node, field, schema, fd->table, fd->column,
                             fd->attribute != TT_ATTR_CATEGORY);
    if (rc) return rc;
    const tt_table_def *t = tt_schema_table(schema, fd->table);
    int ci = tt_table_column_index(t, fd->column);
    snprintf(field, sizeof field, "%s.column", fd->name);
    if (fd->attribute == TT_ATTR_CATEGORY && t->columns[ci].type != TT_TYPE_STRING)
      return fail(p, col_node, field, TT_SCHEMA,
                  "column '%s' of table '%s' is %s: encode: category needs a string column",
                  fd->column, fd->table, tt_type_name(t->columns[ci].type));
    if (fd->attribute == TT_ATTR_AGE && t->columns[ci].type == TT_TYPE_BOOL)
      return fail(p, col_node, field, TT_SCHEMA,
                  "column '%s' of table '%s' is bool: encode: age needs a year", fd->column,
                  fd->table);
    if (strcmp(t->time_column, fd->time_column)) {
      snprintf(field, sizeof field, "%s.time", fd->name);
      return fail(p, time_node ? time_node : n, field, TT_SCHEMA,
                  "table '%s' has time column '%s', not '%s' (set time: %s)", fd->table,
                  t->time_column, fd->time_column, t->time_column);
    }
  }
  return add_table(p, fd->table);
}

static tt_err parse_feature(parser *p, yaml_node_t *n, const tt_schema *schema,
                            tt_feature_def *fd) {
  tt_feature_set *fs = p->fs;
  if (n->type != YAML_MAPPING_NODE)
    return fail(p, n, "features", TT_PARSE,
                "each feature must be a mapping {name, column, agg, window}");
  fd->line = node_line(n);
  fd->table = fs->source;
  fd->time_column = fs->time_column;
  fd->column = "";
  fd->code = "";
  fd->description = "";
  fd->agg = TT_AGG_MAX_;
  const yaml_node_t *window_node = NULL, *per_node = NULL, *agg_node = NULL, *col_node = NULL,
                    *tile_node = NULL;
  const char *window_s = NULL, *per_s = NULL, *tile_s = NULL;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
    const char *key = scalar(k), *val = scalar(v);
    if (!key) return fail(p, k, "features", TT_PARSE, "feature keys must be strings");
    if (!val) return fail(p, v, key, TT_PARSE, "'%s' must be a single value", key);
    if (!strcmp(key, "name")) {
      if (!is_ident(val))
        return fail(p, v, "name", TT_PARSE,
                    "feature name '%s' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", val);
      fd->name = dup(p, val);
    } else if (!strcmp(key, "table")) {
      fd->table = dup(p, val);
    } else if (!strcmp(key, "column")) {
      fd->column = dup(p, val);
      col_node = v;
    } else if (!strcmp(key, "code")) {
      fd->code = dup(p, val);
    } else if (!strcmp(key, "agg") || !strcmp(key, "aggregation")) {
      int a = tt_agg_parse(val);
      if (a < 0)
        return fail(p, v, key, TT_PARSE,
                    "unknown aggregation '%s' (count, sum, mean, min, max, std, first, last, "
                    "delta, slope, rate, time_since)",
                    val);
      fd->agg = (tt_agg)a;
      agg_node = v;
    } else if (!strcmp(key, "window")) {
      window_s = val;
      window_node = v;
    } else if (!strcmp(key, "per")) {
      per_s = val;
      per_node = v;
    } else if (!strcmp(key, "tile")) {
      tile_s = val;
      tile_node = v;
    } else if (!strcmp(key, "description")) {
      fd->description = dup(p, val);
    } else {
      return fail(
          p, k, key, TT_PARSE,
          "unknown key '%s' (name, table, column, code, agg, window, per, tile, description)", key);
    }
    if (!fd->table || !fd->column || !fd->code || !fd->description ||
        (!strcmp(key, "name") && !fd->name))
      return tt_error_set(p->err, TT_NOMEM, "out of memory");
  }
  if (!fd->name) return fail(p, n, "name", TT_PARSE, "feature has no name");
  char field[160];
  snprintf(field, sizeof field, "%s.agg", fd->name);
  if (fd->agg == TT_AGG_MAX_)
    return fail(p, n, field, TT_PARSE, "feature '%s' has no agg", fd->name);
  snprintf(field, sizeof field, "%s.window", fd->name);
  if (!window_s) return fail(p, n, field, TT_PARSE, "feature '%s' has no window", fd->name);
  if (tt_features_parse_span(fs->axis, window_s, &fd->window) != 0)
    return fail(p, window_node, field, TT_PARSE, "bad window '%s' (%s)", window_s,
                fs->axis == TT_AXIS_COUNTER ? "an integer in the counter's unit"
                                            : "a duration such as 15m, 1h, 7d, 2w, 3mo");
  if (fd->window <= 0)
    return fail(p, window_node, field, TT_PARSE, "window must be greater than zero");
  fd->tile = fs->tile;
  if (tile_s) {
    char tf[160];
    snprintf(tf, sizeof tf, "%s.tile", fd->name);
    if (tt_features_parse_span(fs->axis, tile_s, &fd->tile) != 0 || fd->tile <= 0)
      return fail(p, tile_node, tf, TT_PARSE, "bad tile '%s'", tile_s);
    if (fd->tile % fs->tile != 0) {
      char a[32];
      format_span(fs->axis, fs->tile, a, sizeof a);
      return fail(p, tile_node, tf, TT_PARSE, "tile '%s' is not a multiple of the set's tile (%s)",
                  tile_s, a);
    }
  }
  if (fd->tile > fd->window) {
    char a[32], b[32];
    format_span(fs->axis, fd->tile, a, sizeof a);
    format_span(fs->axis, fd->window, b, sizeof b);
    return fail(p, window_node, field, TT_PARSE, "tile (%s) is larger than the window (%s)", a, b);
  }
  if (fd->window % fd->tile != 0) {
    char a[32];
    format_span(fs->axis, fd->tile, a, sizeof a);
    return fail(p, window_node, field, TT_PARSE, "window '%s' is not a multiple of the tile (%s)",
                window_s, a);
  }
  if (fd->window / fd->tile > TT_FEATURES_MAX_TILES_PER_WINDOW)
    return fail(p, window_node, field, TT_LIMIT,
                "window '%s' spans more than %d tiles; use a larger tile", window_s,
                TT_FEATURES_MAX_TILES_PER_WINDOW);
  snprintf(field, sizeof field, "%s.per", fd->name);
  if (fs->axis == TT_AXIS_COUNTER)
    fd->per = 1;
  else
    fd->per = fd->agg == TT_AGG_TIME_SINCE ? TT_USEC_PER_SEC : TT_USEC_PER_HOUR;
  if (per_s) {
    if (fd->agg != TT_AGG_SLOPE && fd->agg != TT_AGG_RATE && fd->agg != TT_AGG_TIME_SINCE)
      return fail(p, per_node, field, TT_PARSE, "'per' applies only to slope, rate and time_since");
    if (tt_features_parse_span(fs->axis, per_s, &fd->per) != 0 || fd->per <= 0)
      return fail(p, per_node, field, TT_PARSE, "bad 'per' value '%s'", per_s);
  }
  snprintf(field, sizeof field, "%s.column", fd->name);
  int needs_column =
      !(fd->agg == TT_AGG_COUNT || fd->agg == TT_AGG_RATE || fd->agg == TT_AGG_TIME_SINCE);
  if (needs_column && !*fd->column)
    return fail(p, agg_node, field, TT_PARSE, "aggregation '%s' needs a column",
                tt_agg_name(fd->agg));
  if (*fd->column) {
    if (!is_ident(fd->column))
      return fail(p, col_node, field, TT_PARSE, "column '%s' is not an identifier", fd->column);
    tt_err rc = check_column(p, col_node, field, schema, fd->table, fd->column, 1);
    if (rc) return rc;
  } else if (schema && !tt_schema_table(schema, fd->table)) {
    return fail(p, n, "table", TT_SCHEMA, "unknown table '%s' in schema '%s'", fd->table,
                tt_schema_name(schema));
  }
  if (*fd->code) {
    snprintf(field, sizeof field, "%s.code", fd->name);
    tt_err rc = check_column(p, n, field, schema, fd->table, fs->code_column, 0);
    if (rc) return rc;
  }
  return add_table(p, fd->table);
}

static tt_err build_json(tt_feature_set *fs, tt_error *err);

static tt_err parse_root(parser *p, const tt_schema *schema) {
  tt_feature_set *fs = p->fs;
  yaml_node_t *root = yaml_document_get_root_node(&p->doc);
  if (!root) return fail(p, NULL, NULL, TT_PARSE, "empty feature-set file");
  if (root->type != YAML_MAPPING_NODE)
    return fail(p, root, NULL, TT_PARSE,
                "a feature set must be a mapping (name, source, tile, features …)");
  yaml_node_t *features = NULL, *filter = NULL, *tile = NULL, *axis = NULL, *tags = NULL,
              *attrs = NULL;
  fs->entity = "vehicle_id";
  fs->time_column = "ts";
  fs->code_column = "code";
  fs->description = "";
  /* First pass: scalars everything else depends on (source, axis, tile). */
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
    const char *key = scalar(k);
    if (!key) return fail(p, k, NULL, TT_PARSE, "keys must be strings");
    if (!strcmp(key, "features")) {
      features = v;
      continue;
    }
    if (!strcmp(key, "tags")) {
      tags = v;
      continue;
    }
    if (!strcmp(key, "attributes")) {
      attrs = v;
      continue;
    }
    const char *val = scalar(v);
    if (!val) return fail(p, v, key, TT_PARSE, "'%s' must be a single value", key);
    if (!strcmp(key, "filter"))
      filter = v;
    else if (!strcmp(key, "tile"))
      tile = v;
    else if (!strcmp(key, "axis"))
      axis = v;
    else if (!strcmp(key, "name")) {
      if (!is_ident(val))
        return fail(p, v, "name", TT_PARSE, "name '%s' is not an identifier", val);
      fs->name = dup(p, val);
    } else if (!strcmp(key, "description"))
      fs->description = dup(p, val);
    else if (!strcmp(key, "entity"))
      fs->entity = dup(p, val);
    else if (!strcmp(key, "time"))
      fs->time_column = dup(p, val);
    else if (!strcmp(key, "source"))
      fs->source = dup(p, val);
    else if (!strcmp(key, "code_column"))
      fs->code_column = dup(p, val);
    else
      return fail(p, k, key, TT_PARSE,
                  "unknown key '%s' (name, description, tags, entity, time, source, axis, filter, "
                  "tile, code_column, features, attributes)",
                  key);
  }
  if (!fs->name) return fail(p, root, "name", TT_PARSE, "feature set has no name");
  if (!fs->source) return fail(p, root, "source", TT_PARSE, "feature set has no source table");
  if (!is_ident(fs->entity) || !is_ident(fs->time_column) || !is_ident(fs->code_column))
    return fail(p, root, "entity", TT_PARSE, "entity, time and code_column must be identifiers");
  fs->axis = TT_AXIS_TIMESTAMP;
  if (schema) {
    const tt_table_def *t = tt_schema_table(schema, fs->source);
    if (!t)
      return fail(p, root, "source", TT_SCHEMA, "unknown table '%s' in schema '%s'", fs->source,
                  tt_schema_name(schema));
    fs->axis = t->axis;
  }
  if (axis) {
    const char *a = scalar(axis);
    tt_time_axis ax;
    if (!strcmp(a, "timestamp"))
      ax = TT_AXIS_TIMESTAMP;
    else if (!strcmp(a, "counter"))
      ax = TT_AXIS_COUNTER;
    else
      return fail(p, axis, "axis", TT_PARSE, "axis must be timestamp or counter, not '%s'", a);
    if (schema && ax != fs->axis)
      return fail(p, axis, "axis", TT_SCHEMA, "axis '%s' disagrees with table '%s' of the schema",
                  a, fs->source);
    fs->axis = ax;
  }
  if (!tile) return fail(p, root, "tile", TT_PARSE, "feature set has no tile size");
  if (tt_features_parse_span(fs->axis, scalar(tile), &fs->tile) != 0 || fs->tile <= 0)
    return fail(p, tile, "tile", TT_PARSE, "bad tile '%s' (a positive %s)", scalar(tile),
                fs->axis == TT_AXIS_COUNTER ? "integer" : "duration such as 1h");
  if (add_table(p, fs->source)) return TT_NOMEM;
  if (filter) {
    tt_err rc = parse_filter(p, filter);
    if (rc) return rc;
    rc = check_column(p, filter, "filter", schema, fs->source, fs->filter.column, 0);
    if (rc) return rc;
  }
  if (tags) {
    if (tags->type != YAML_SEQUENCE_NODE)
      return fail(p, tags, "tags", TT_PARSE, "tags must be a list of strings");
    size_t n = (size_t)(tags->data.sequence.items.top - tags->data.sequence.items.start);
    fs->tags = calloc(n ? n : 1, sizeof *fs->tags);
    if (!fs->tags) return tt_error_set(p->err, TT_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
      yaml_node_t *t = yaml_document_get_node(&p->doc, tags->data.sequence.items.start[i]);
      if (!scalar(t)) return fail(p, t, "tags", TT_PARSE, "tags must be strings");
      fs->tags[fs->ntags++] = dup(p, scalar(t));
    }
  }
  if (!features || features->type != YAML_SEQUENCE_NODE ||
      features->data.sequence.items.top == features->data.sequence.items.start)
    return fail(p, features ? features : root, "features", TT_PARSE,
                "feature set needs a non-empty list of features");
  size_t n = (size_t)(features->data.sequence.items.top - features->data.sequence.items.start);
  size_t na = 0;
  if (attrs) {
    if (attrs->type != YAML_SEQUENCE_NODE)
      return fail(p, attrs, "attributes", TT_PARSE,
                  "attributes must be a list of {name, table, column, encode}");
    na = (size_t)(attrs->data.sequence.items.top - attrs->data.sequence.items.start);
  }
  if (n + na > TT_FEATURES_MAX)
    return fail(p, features, "features", TT_LIMIT, "more than %d features", TT_FEATURES_MAX);
  fs->features = calloc(n + na, sizeof *fs->features);
  if (!fs->features) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *f = yaml_document_get_node(&p->doc, features->data.sequence.items.start[i]);
    tt_err rc = parse_feature(p, f, schema, &fs->features[i]);
    if (rc) return rc;
    fs->nfeatures++;
    const char *nm = fs->features[i].name;
    if (!strcmp(nm, fs->entity) || !strcmp(nm, fs->time_column))
      return fail(p, f, "name", TT_PARSE, "feature name '%s' clashes with the entity/time column",
                  nm);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(fs->features[j].name, nm))
        return fail(p, f, "name", TT_PARSE, "duplicate feature name '%s' (first on line %ld)", nm,
                    fs->features[j].line);
    if (fs->features[i].window > fs->max_window) fs->max_window = fs->features[i].window;
  }
  fs->nagg = fs->nfeatures;
  for (size_t i = 0; i < na; i++) {
    yaml_node_t *f = yaml_document_get_node(&p->doc, attrs->data.sequence.items.start[i]);
    tt_feature_def *fd = &fs->features[fs->nfeatures];
    tt_err rc = parse_attribute(p, f, schema, fd);
    if (rc) return rc;
    fs->nfeatures++;
    const char *nm = fd->name;
    if (!strcmp(nm, fs->entity) || !strcmp(nm, fs->time_column))
      return fail(p, f, "name", TT_PARSE, "attribute name '%s' clashes with the entity/time column",
                  nm);
    for (size_t j = 0; j + 1 < fs->nfeatures; j++)
      if (!strcmp(fs->features[j].name, nm))
        return fail(p, f, "name", TT_PARSE, "duplicate feature name '%s' (first on line %ld)", nm,
                    fs->features[j].line);
  }
  /* Every table the set reads must share the source's time axis. */
  if (schema)
    for (size_t i = 0; i < fs->ntables; i++) {
      const tt_table_def *t = tt_schema_table(schema, fs->tables[i]);
      if (t && t->axis != fs->axis)
        return fail(p, root, "table", TT_SCHEMA, "table '%s' has a different time axis from '%s'",
                    fs->tables[i], fs->source);
    }
  return build_json(fs, p->err);
}

tt_err tt_feature_set_parse_string(const char *yaml, size_t len, const char *source_name,
                                   const tt_schema *schema, tt_feature_set **out, tt_error *err) {
  *out = NULL;
  parser p = {.file = source_name ? source_name : "<string>", .err = err};
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp)) return tt_error_set(err, TT_NOMEM, "out of memory");
  yaml_parser_set_input_string(&yp, (const unsigned char *)yaml, len);
  if (!yaml_parser_load(&yp, &p.doc)) {
    tt_error_set(err, TT_PARSE, "%s", yp.problem ? yp.problem : "invalid YAML");
    tt_error_at(err, p.file, (long)yp.problem_mark.line + 1, NULL);
    yaml_parser_delete(&yp);
    return TT_PARSE;
  }
  yaml_parser_delete(&yp);
  tt_err rc = TT_NOMEM;
  p.fs = calloc(1, sizeof *p.fs);
  if (!p.fs || !(p.fs->arena = tt_arena_new(4096))) {
    tt_error_set(err, TT_NOMEM, "out of memory");
    goto done;
  }
  rc = parse_root(&p, schema);
done:
  yaml_document_delete(&p.doc);
  if (rc != TT_OK) {
    tt_feature_set_destroy(p.fs);
    return rc;
  }
  *out = p.fs;
  return TT_OK;
}

tt_err tt_feature_set_parse_file(const char *path, const tt_schema *schema, tt_feature_set **out,
                                 tt_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    tt_error_set(err, TT_NOTFOUND, "cannot open: %s", strerror(errno));
    return tt_error_at(err, path, 0, NULL);
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t r = fread(buf + len, 1, cap - len, f);
    len += r;
    if (len < cap) break;
    if (cap >= (size_t)TT_FEATURES_MAX_FILE_BYTES) {
      free(buf);
      fclose(f);
      tt_error_set(err, TT_LIMIT, "file larger than %d bytes", TT_FEATURES_MAX_FILE_BYTES);
      return tt_error_at(err, path, 0, NULL);
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
  int ioerr = ferror(f);
  fclose(f);
  if (!buf) return tt_error_set(err, TT_NOMEM, "out of memory");
  if (ioerr) {
    free(buf);
    tt_error_set(err, TT_IO, "read error");
    return tt_error_at(err, path, 0, NULL);
  }
  tt_err rc = tt_feature_set_parse_string(buf, len, path, schema, out, err);
  free(buf);
  return rc;
}

void tt_feature_set_destroy(tt_feature_set *fs) {
  if (!fs) return;
  free(fs->tags);
  free(fs->tables);
  free(fs->features);
  free(fs->json);
  tt_arena_destroy(fs->arena);
  free(fs);
}

/* ---------------------------------------------------------------------- */
/* Canonical JSON and version                                             */

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_json(sbuf *b, const char *s) {
  size_t need = strlen(s) * 6 + 3;
  char small[512], *tmp = need <= sizeof small ? small : malloc(need);
  if (!tmp) {
    b->oom = 1;
    return;
  }
  sb_str(b, "\"");
  tt_json_escape(tmp, need, s);
  sb_str(b, tmp);
  sb_str(b, "\"");
  if (tmp != small) free(tmp);
}
static void sb_kv(sbuf *b, const char *k, const char *v, int comma) {
  if (comma) sb_str(b, ",");
  sb_json(b, k);
  sb_str(b, ":");
  sb_json(b, v);
}
static void sb_ki(sbuf *b, const char *k, int64_t v) {
  char num[32];
  snprintf(num, sizeof num, ",\"%s\":%lld", k, (long long)v);
  sb_str(b, num);
}

static tt_err build_json(tt_feature_set *fs, tt_error *err) {
  sbuf b = {0};
  sb_str(&b, "{");
  sb_kv(&b, "name", fs->name, 0);
  sb_kv(&b, "description", fs->description, 1);
  sb_str(&b, ",\"tags\":[");
  for (size_t i = 0; i < fs->ntags; i++) {
    if (i) sb_str(&b, ",");
    sb_json(&b, fs->tags[i]);
  }
  sb_str(&b, "]");
  sb_kv(&b, "entity", fs->entity, 1);
  sb_kv(&b, "time", fs->time_column, 1);
  sb_kv(&b, "axis", fs->axis == TT_AXIS_COUNTER ? "counter" : "timestamp", 1);
  sb_kv(&b, "source", fs->source, 1);
  sb_kv(&b, "code_column", fs->code_column, 1);
  if (fs->filter.op)
    sb_kv(&b, "filter", fs->filter.text, 1);
  else
    sb_str(&b, ",\"filter\":null");
  sb_ki(&b, "tile", fs->tile);
  sb_str(&b, ",\"features\":[");
  for (size_t i = 0; i < fs->nagg; i++) {
    const tt_feature_def *f = &fs->features[i];
    sb_str(&b, i ? ",{" : "{");
    sb_kv(&b, "name", f->name, 0);
    sb_kv(&b, "table", f->table, 1);
    sb_kv(&b, "column", f->column, 1);
    sb_kv(&b, "code", f->code, 1);
    sb_kv(&b, "agg", tt_agg_name(f->agg), 1);
    sb_ki(&b, "window", f->window);
    sb_ki(&b, "per", f->per);
    sb_ki(&b, "tile", f->tile);
    sb_kv(&b, "description", f->description, 1);
    sb_str(&b, "}");
  }
  sb_str(&b, "]");
  /* Only sets with attributes carry the key: older versions keep their ids. */
  for (size_t i = fs->nagg; i < fs->nfeatures; i++) {
    static const char *const enc[] = {"", "number", "category", "age"};
    const tt_feature_def *f = &fs->features[i];
    sb_str(&b, i == fs->nagg ? ",\"attributes\":[{" : ",{");
    sb_kv(&b, "name", f->name, 0);
    sb_kv(&b, "table", f->table, 1);
    sb_kv(&b, "column", f->column, 1);
    sb_kv(&b, "time", f->time_column, 1);
    sb_kv(&b, "encode", enc[f->attribute], 1);
    sb_kv(&b, "description", f->description, 1);
    sb_str(&b, "}");
  }
  if (fs->nfeatures > fs->nagg) sb_str(&b, "]");
  sb_str(&b, "}");
  if (b.oom) {
    free(b.p);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  fs->json = b.p;
  tt_sha256_hex(b.p, b.len, fs->version);
  memcpy(fs->short_version, fs->version, 12);
  fs->short_version[12] = '\0';
  return TT_OK;
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                              */

const char *tt_feature_set_name(const tt_feature_set *fs) { return fs->name; }
const char *tt_feature_set_description(const tt_feature_set *fs) { return fs->description; }
size_t tt_feature_set_tag_count(const tt_feature_set *fs) { return fs->ntags; }
const char *tt_feature_set_tag_at(const tt_feature_set *fs, size_t i) {
  return i < fs->ntags ? fs->tags[i] : NULL;
}
const char *tt_feature_set_entity(const tt_feature_set *fs) { return fs->entity; }
const char *tt_feature_set_time_column(const tt_feature_set *fs) { return fs->time_column; }
const char *tt_feature_set_source(const tt_feature_set *fs) { return fs->source; }
const char *tt_feature_set_code_column(const tt_feature_set *fs) { return fs->code_column; }
tt_time_axis tt_feature_set_axis(const tt_feature_set *fs) { return fs->axis; }
int64_t tt_feature_set_tile(const tt_feature_set *fs) { return fs->tile; }
int64_t tt_feature_set_max_window(const tt_feature_set *fs) { return fs->max_window; }
const tt_feature_filter *tt_feature_set_filter(const tt_feature_set *fs) {
  return fs->filter.op ? &fs->filter : NULL;
}
size_t tt_feature_set_table_count(const tt_feature_set *fs) { return fs->ntables; }
const char *tt_feature_set_table_at(const tt_feature_set *fs, size_t i) {
  return i < fs->ntables ? fs->tables[i] : NULL;
}
size_t tt_feature_set_count(const tt_feature_set *fs) { return fs->nfeatures; }
const tt_feature_def *tt_feature_set_at(const tt_feature_set *fs, size_t i) {
  return i < fs->nfeatures ? &fs->features[i] : NULL;
}
int tt_feature_set_find(const tt_feature_set *fs, const char *name) {
  for (size_t i = 0; i < fs->nfeatures; i++)
    if (!strcmp(fs->features[i].name, name)) return (int)i;
  return -1;
}
const char *tt_feature_set_json(const tt_feature_set *fs) { return fs->json; }

double tt_features_category_code(const char *s, size_t len) {
  uint64_t h = tt_hash64(s, len);
  return (double)((h ^ h >> 24 ^ h >> 48) & UINT64_C(0xffffff));
}

const char *tt__table_time(const tt_feature_set *fs, const char *table) {
  for (size_t i = fs->nagg; i < fs->nfeatures; i++)
    if (!strcmp(fs->features[i].table, table)) return fs->features[i].time_column;
  return fs->time_column;
}

int tt__table_is_entity(const tt_feature_set *fs, const char *table) {
  for (size_t i = fs->nagg; i < fs->nfeatures; i++)
    if (!strcmp(fs->features[i].table, table)) return 1;
  return 0;
}
const char *tt_feature_set_version(const tt_feature_set *fs) { return fs->version; }
const char *tt_feature_set_short_version(const tt_feature_set *fs) { return fs->short_version; }

tt_err tt_feature_set_load(const char *project_dir, const char *name, tt_feature_set **out,
                           tt_error *err) {
  char path[4096];
  if (!is_ident(name)) {
    tt_error_set(err, TT_INVALID, "feature-set name '%s' is not an identifier", name);
    return tt_error_at(err, NULL, 0, "--set");
  }
  const char *dir = project_dir ? project_dir : ".";
  snprintf(path, sizeof path, "%s/features/%s.yaml", dir, name);
  /* First parse without a schema to learn the source table, then check
   * against the project's schema that declares it, when there is one. */
  tt_err rc = tt_feature_set_parse_file(path, NULL, out, err);
  if (rc != TT_OK) return rc;
  char sdir[4096];
  snprintf(sdir, sizeof sdir, "%s/schemas", dir);
  DIR *d = opendir(sdir);
  if (!d) return TT_OK;
  struct dirent *de;
  tt_schema *schema = NULL;
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".yaml")) continue;
    char sp[8200];
    snprintf(sp, sizeof sp, "%s/%s", sdir, de->d_name);
    tt_schema *s = NULL;
    if (tt_schema_parse_file(sp, &s, NULL) != TT_OK) continue; /* `schema check` reports it */
    if (tt_schema_table(s, (*out)->source)) {
      schema = s;
      break;
    }
    tt_schema_destroy(s);
  }
  closedir(d);
  if (!schema) return TT_OK;
  tt_feature_set_destroy(*out);
  *out = NULL;
  rc = tt_feature_set_parse_file(path, schema, out, err);
  tt_schema_destroy(schema);
  return rc;
}
