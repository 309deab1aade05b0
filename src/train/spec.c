/* Model specs: strict YAML parsing into tt_model_spec.
 * See include/telltale/train.h and docs/training.md for the format.
 *
 * The parser walks libyaml's document tree; every key is looked up in a
 * list of the keys allowed at that level, so a typo is an error naming the
 * file, line and key instead of a setting silently ignored. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "telltale/time.h"
#include "telltale/train.h"

typedef struct parser {
  yaml_document_t *doc;
  const char *file;
  tt_model_spec *spec;
  tt_error *err;
} parser;

static long line_of(const yaml_node_t *n) { return (long)n->start_mark.line + 1; }

__attribute__((format(printf, 4, 5))) static tt_err fail(parser *p, const yaml_node_t *n,
                                                          const char *field, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tt_error_set(p->err, TT_PARSE, "%s", msg);
  tt_error_at(p->err, p->file, n ? line_of(n) : 0, field);
  return TT_PARSE;
}

static const char *scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(parser *p, int id) { return yaml_document_get_node(p->doc, id); }

/* Reject keys not in `allowed` (NULL-terminated). */
static tt_err check_keys(parser *p, yaml_node_t *map, const char *where, const char *const *allowed) {
  for (yaml_node_pair_t *kv = map->data.mapping.pairs.start; kv < map->data.mapping.pairs.top; kv++) {
    yaml_node_t *k = node(p, kv->key);
    const char *key = scalar(k);
    if (!key) return fail(p, k, where, "keys must be plain strings");
    int ok = 0;
    for (const char *const *a = allowed; *a; a++)
      if (!strcmp(*a, key)) ok = 1;
    if (!ok) {
      char field[128];
      snprintf(field, sizeof field, "%s%s%s", where, *where ? "." : "", key);
      char list[400] = "";
      for (const char *const *a = allowed; *a; a++) {
        strncat(list, *a, sizeof list - strlen(list) - 1);
        if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
      }
      return fail(p, k, field, "unknown key (expected one of: %s)", list);
    }
    /* Duplicate keys hide one another's values: refuse them. */
    for (yaml_node_pair_t *kv2 = map->data.mapping.pairs.start; kv2 < kv; kv2++)
      if (!strcmp(scalar(node(p, kv2->key)), key))
        return fail(p, k, key, "duplicate key");
  }
  return TT_OK;
}

static yaml_node_t *get(parser *p, yaml_node_t *map, const char *key) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *kv = map->data.mapping.pairs.start; kv < map->data.mapping.pairs.top; kv++) {
    const char *k = scalar(node(p, kv->key));
    if (k && !strcmp(k, key)) return node(p, kv->value);
  }
  return NULL;
}

static tt_err want_map(parser *p, yaml_node_t *n, const char *field) {
  if (!n || n->type != YAML_MAPPING_NODE) return fail(p, n, field, "expected a mapping");
  return TT_OK;
}

/* Required or optional string: *out is a malloc'd copy, or left as is when absent. */
static tt_err get_str(parser *p, yaml_node_t *map, const char *key, const char *field, int required,
                      char **out) {
  yaml_node_t *v = get(p, map, key);
  if (!v) return required ? fail(p, map, field, "required key missing") : TT_OK;
  const char *s = scalar(v);
  if (!s || !*s) return fail(p, v, field, "expected a non-empty string");
  free(*out);
  *out = strdup(s);
  return *out ? TT_OK : tt_error_set(p->err, TT_NOMEM, "out of memory");
}

static tt_err get_double(parser *p, yaml_node_t *map, const char *key, const char *field,
                         double lo, double hi, double *out) {
  yaml_node_t *v = get(p, map, key);
  if (!v) return TT_OK;
  const char *s = scalar(v);
  char *end;
  errno = 0;
  double x = s ? strtod(s, &end) : NAN;
  if (!s || !*s || errno || *end || !isfinite(x)) return fail(p, v, field, "expected a number");
  if (x < lo || x > hi) return fail(p, v, field, "%g is out of range [%g, %g]", x, lo, hi);
  *out = x;
  return TT_OK;
}

static tt_err parse_int(parser *p, yaml_node_t *v, const char *field, int64_t lo, int64_t hi,
                        int64_t *out) {
  const char *s = scalar(v);
  char *end;
  errno = 0;
  long long x = s ? strtoll(s, &end, 10) : 0;
  if (!s || !*s || errno || *end) return fail(p, v, field, "expected an integer");
  if (x < lo || x > hi) return fail(p, v, field, "%lld is out of range [%lld, %lld]", x, (long long)lo, (long long)hi);
  *out = x;
  return TT_OK;
}

static tt_err get_int(parser *p, yaml_node_t *map, const char *key, const char *field, int64_t lo,
                      int64_t hi, int64_t *out) {
  yaml_node_t *v = get(p, map, key);
  return v ? parse_int(p, v, field, lo, hi, out) : TT_OK;
}

/* A span on the dataset's axis: "7d" on a timestamp axis, an integer count
 * of the counter's unit on a counter axis. Must be > 0. */
static tt_err get_span(parser *p, yaml_node_t *map, const char *key, const char *field, int64_t *out) {
  yaml_node_t *v = get(p, map, key);
  if (!v) return TT_OK;
  if (p->spec->axis == TT_AXIS_KIND_COUNTER) return parse_int(p, v, field, 1, INT64_MAX / 4, out);
  const char *s = scalar(v);
  int64_t us;
  if (!s || tt_duration_parse(s, &us) != 0 || us <= 0)
    return fail(p, v, field, "expected a positive duration such as 7d, 12h, 30m");
  *out = us;
  return TT_OK;
}

/* A point on the axis: an ISO 8601 date/time, or a counter value. */
static tt_err get_point(parser *p, yaml_node_t *map, const char *key, const char *field, int required,
                        int64_t *out) {
  yaml_node_t *v = get(p, map, key);
  if (!v) return required ? fail(p, map, field, "required key missing") : TT_OK;
  if (p->spec->axis == TT_AXIS_KIND_COUNTER) return parse_int(p, v, field, INT64_MIN / 4, INT64_MAX / 4, out);
  const char *s = scalar(v);
  if (!s || tt_time_parse_iso(s, strlen(s), out) != 0)
    return fail(p, v, field, "expected an ISO 8601 date or time such as 2026-03-01");
  return TT_OK;
}

static tt_err get_str_list(parser *p, yaml_node_t *map, const char *key, const char *field,
                           size_t *n, char ***out) {
  yaml_node_t *v = get(p, map, key);
  if (!v) return TT_OK;
  if (v->type != YAML_SEQUENCE_NODE) return fail(p, v, field, "expected a list of strings");
  size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  char **list = calloc(cnt ? cnt : 1, sizeof *list);
  if (!list) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  for (size_t i = 0; i < cnt; i++) {
    yaml_node_t *it = node(p, v->data.sequence.items.start[i]);
    const char *s = scalar(it);
    if (!s || !*s || !(list[i] = strdup(s))) {
      for (size_t j = 0; j < i; j++) free(list[j]);
      free(list);
      return fail(p, it, field, "expected a non-empty string");
    }
  }
  *n = cnt;
  *out = list;
  return TT_OK;
}

static int choose(const char *s, const char *const *names) {
  for (int i = 0; s && names[i]; i++)
    if (!strcmp(s, names[i])) return i;
  return -1;
}

static tt_err get_enum(parser *p, yaml_node_t *map, const char *key, const char *field,
                       const char *const *names, int *out) {
  yaml_node_t *v = get(p, map, key);
  if (!v) return TT_OK;
  int i = choose(scalar(v), names);
  if (i < 0) {
    char list[200] = "";
    for (int j = 0; names[j]; j++) {
      strncat(list, names[j], sizeof list - strlen(list) - 1);
      if (names[j + 1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return fail(p, v, field, "expected one of: %s", list);
  }
  *out = i;
  return TT_OK;
}

#define TRY(x)                                                                                     \
  do {                                                                                             \
    tt_err rc_ = (x);                                                                              \
    if (rc_ != TT_OK) return rc_;                                                                  \
  } while (0)

static tt_err parse_features(parser *p, yaml_node_t *v) {
  tt_model_spec *s = p->spec;
  if (!v) return fail(p, node(p, 1), "features", "required key missing");
  if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
    return fail(p, v, "features", "expected a non-empty list of {set: NAME, version: N}");
  size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  s->features = calloc(n, sizeof *s->features);
  if (!s->features) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  s->nfeatures = n;
  static const char *const keys[] = {"set", "version", NULL};
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *it = node(p, v->data.sequence.items.start[i]);
    if (scalar(it)) { /* shorthand: "- vehicle_daily" */
      if (!(s->features[i].set = strdup(scalar(it)))) return tt_error_set(p->err, TT_NOMEM, "out of memory");
      continue;
    }
    TRY(want_map(p, it, "features"));
    TRY(check_keys(p, it, "features[]", keys));
    TRY(get_str(p, it, "set", "features[].set", 1, &s->features[i].set));
    TRY(get_str(p, it, "version", "features[].version", 0, &s->features[i].version));
  }
  return TT_OK;
}

static tt_err parse_label(parser *p, yaml_node_t *v) {
  tt_label_def *l = &p->spec->label;
  TRY(want_map(p, v, "label"));
  static const char *const keys[] = {"kind", "events", "component_column", "component", "horizon",
                                     "cap", "unit", "repair", "during_outage", NULL};
  TRY(check_keys(p, v, "label", keys));
  static const char *const kinds[] = {"classification", "regression", NULL};
  int kind = -1;
  TRY(get_enum(p, v, "kind", "label.kind", kinds, &kind));
  if (kind < 0) return fail(p, v, "label.kind", "required key missing (classification or regression)");
  l->kind = (tt_label_kind)kind;
  TRY(get_str(p, v, "events", "label.events", 1, &l->events_table));
  TRY(get_str(p, v, "component_column", "label.component_column", 0, &l->component_column));
  TRY(get_str(p, v, "component", "label.component", 0, &l->component));
  if (l->component && !l->component_column && !(l->component_column = strdup("component")))
    return tt_error_set(p->err, TT_NOMEM, "out of memory");
  if (l->component_column && !l->component)
    return fail(p, v, "label.component", "component_column is set but component is missing");
  TRY(get_span(p, v, "horizon", "label.horizon", &l->horizon));
  TRY(get_span(p, v, "cap", "label.cap", &l->cap));
  l->unit = p->spec->axis == TT_AXIS_KIND_COUNTER ? 1 : TT_USEC_PER_DAY;
  TRY(get_span(p, v, "unit", "label.unit", &l->unit));
  if (l->kind == TT_LABEL_CLASSIFICATION) {
    if (!l->horizon) return fail(p, v, "label.horizon", "a classification label needs a horizon");
    if (get(p, v, "cap")) return fail(p, get(p, v, "cap"), "label.cap", "cap applies to regression labels only");
  } else if (get(p, v, "horizon")) {
    return fail(p, get(p, v, "horizon"), "label.horizon",
                "horizon applies to classification labels only (regression: cap)");
  }
  static const char *const outages[] = {"exclude", "keep", NULL};
  int o = 0;
  TRY(get_enum(p, v, "during_outage", "label.during_outage", outages, &o));
  l->outage = (tt_outage_policy)o;
  yaml_node_t *r = get(p, v, "repair");
  if (r) {
    TRY(want_map(p, r, "label.repair"));
    static const char *const rkeys[] = {"table", "component_column", "action_column", "actions", NULL};
    TRY(check_keys(p, r, "label.repair", rkeys));
    TRY(get_str(p, r, "table", "label.repair.table", 1, &l->repair_table));
    TRY(get_str(p, r, "component_column", "label.repair.component_column", 0, &l->repair_component_column));
    if (!l->repair_component_column && l->component_column &&
        !(l->repair_component_column = strdup(l->component_column)))
      return tt_error_set(p->err, TT_NOMEM, "out of memory");
    TRY(get_str(p, r, "action_column", "label.repair.action_column", 0, &l->repair_action_column));
    TRY(get_str_list(p, r, "actions", "label.repair.actions", &l->nrepair_actions, &l->repair_actions));
    if (l->nrepair_actions && !l->repair_action_column && !(l->repair_action_column = strdup("action")))
      return tt_error_set(p->err, TT_NOMEM, "out of memory");
  }
  return TT_OK;
}

static tt_err parse_spine(parser *p, yaml_node_t *v) {
  tt_spine_def *sp = &p->spec->spine;
  sp->every = p->spec->axis == TT_AXIS_KIND_COUNTER ? 1 : TT_USEC_PER_DAY;
  sp->negative_rate = 1.0;
  if (!v) return fail(p, node(p, 1), "spine", "required key missing");
  TRY(want_map(p, v, "spine"));
  static const char *const keys[] = {"table", "every", "negative_rate", "seed", NULL};
  TRY(check_keys(p, v, "spine", keys));
  TRY(get_str(p, v, "table", "spine.table", 1, &sp->table));
  TRY(get_span(p, v, "every", "spine.every", &sp->every));
  TRY(get_double(p, v, "negative_rate", "spine.negative_rate", 1e-6, 1.0, &sp->negative_rate));
  int64_t seed = 0;
  TRY(get_int(p, v, "seed", "spine.seed", 0, INT64_MAX, &seed));
  sp->seed = (uint64_t)seed;
  return TT_OK;
}

static tt_err parse_split(parser *p, yaml_node_t *v) {
  tt_split_def *sp = &p->spec->split;
  tt_label_def *l = &p->spec->label;
  TRY(want_map(p, v, "split"));
  static const char *const keys[] = {"by", "validation_from", "test_from", "gap", "validation_fraction",
                                     "test_fraction", "seed", "test_vehicles", "test_pattern", NULL};
  TRY(check_keys(p, v, "split", keys));
  static const char *const kinds[] = {"time", "vehicle", "holdout", NULL};
  int kind = -1;
  TRY(get_enum(p, v, "by", "split.by", kinds, &kind));
  if (kind < 0) return fail(p, v, "split.by", "required key missing (time, vehicle or holdout); "
                                              "random row splits are not offered: they leak");
  sp->kind = (tt_split_kind)kind;
  int64_t seed = 0;
  TRY(get_int(p, v, "seed", "split.seed", 0, INT64_MAX, &seed));
  sp->seed = (uint64_t)seed;
  sp->validation_fraction = 0.2;
  sp->test_fraction = sp->kind == TT_SPLIT_VEHICLE ? 0.2 : 0;
  TRY(get_double(p, v, "validation_fraction", "split.validation_fraction", 0, 0.9, &sp->validation_fraction));
  TRY(get_double(p, v, "test_fraction", "split.test_fraction", 0, 0.9, &sp->test_fraction));
  static const char *const time_only[] = {"validation_from", "test_from", "gap", NULL};
  static const char *const vehicle_only[] = {"validation_fraction", "test_fraction", NULL};
  static const char *const holdout_only[] = {"test_vehicles", "test_pattern", NULL};
  const char *const *bad[3][2] = {{vehicle_only, holdout_only}, {time_only, holdout_only}, {time_only, NULL}};
  for (int b = 0; b < 2; b++)
    for (const char *const *k = bad[sp->kind][b]; k && *k; k++)
      if (get(p, v, *k)) {
        char field[64];
        snprintf(field, sizeof field, "split.%s", *k);
        return fail(p, get(p, v, *k), field, "does not apply to split by %s", kinds[sp->kind]);
      }
  if (sp->kind == TT_SPLIT_TIME) {
    /* The gap keeps training labels from looking into the validation and
     * test periods: a row at t looks up to t + horizon (or t + cap). */
    int64_t reach = l->kind == TT_LABEL_CLASSIFICATION ? l->horizon : l->cap;
    if (l->kind == TT_LABEL_REGRESSION && !l->cap)
      return fail(p, v, "label.cap", "a time split of an uncapped remaining-life label would leak "
                                     "future failures into training labels: set label.cap (the gap must reach it)");
    sp->gap = reach;
    TRY(get_point(p, v, "validation_from", "split.validation_from", 1, &sp->validation_from));
    TRY(get_point(p, v, "test_from", "split.test_from", 1, &sp->test_from));
    TRY(get_span(p, v, "gap", "split.gap", &sp->gap));
    if (sp->gap < reach)
      return fail(p, get(p, v, "gap"), "split.gap",
                  "the gap must be at least the label's %s, or training labels see the validation period",
                  l->kind == TT_LABEL_CLASSIFICATION ? "horizon" : "cap");
    if (sp->test_from - sp->gap < sp->validation_from)
      return fail(p, get(p, v, "test_from"), "split.test_from",
                  "test_from must come at least one gap after validation_from");
  } else if (sp->kind == TT_SPLIT_VEHICLE) {
    if (sp->validation_fraction + sp->test_fraction >= 1.0)
      return fail(p, v, "split", "validation_fraction + test_fraction must be below 1");
  } else {
    TRY(get_str_list(p, v, "test_vehicles", "split.test_vehicles", &sp->ntest_vehicles, &sp->test_vehicles));
    TRY(get_str(p, v, "test_pattern", "split.test_pattern", 0, &sp->test_pattern));
    if (!sp->ntest_vehicles && !sp->test_pattern)
      return fail(p, v, "split.test_vehicles", "a holdout split needs test_vehicles or test_pattern");
  }
  return TT_OK;
}

static tt_err parse_xgb(parser *p, yaml_node_t *v) {
  tt_xgb_def *x = &p->spec->xgb;
  x->rounds = 200;
  x->early_stopping = 20;
  if (!v) return TT_OK;
  TRY(want_map(p, v, "xgboost"));
  static const char *const keys[] = {"rounds", "early_stopping_rounds", "params", NULL};
  TRY(check_keys(p, v, "xgboost", keys));
  int64_t r = x->rounds, es = x->early_stopping;
  TRY(get_int(p, v, "rounds", "xgboost.rounds", 1, 100000, &r));
  TRY(get_int(p, v, "early_stopping_rounds", "xgboost.early_stopping_rounds", 0, 100000, &es));
  x->rounds = (int)r;
  x->early_stopping = (int)es;
  yaml_node_t *pm = get(p, v, "params");
  if (!pm) return TT_OK;
  TRY(want_map(p, pm, "xgboost.params"));
  size_t n = (size_t)(pm->data.mapping.pairs.top - pm->data.mapping.pairs.start);
  x->param_keys = calloc(n ? n : 1, sizeof *x->param_keys);
  x->param_values = calloc(n ? n : 1, sizeof *x->param_values);
  if (!x->param_keys || !x->param_values) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    yaml_node_pair_t *kv = &pm->data.mapping.pairs.start[i];
    yaml_node_t *k = node(p, kv->key), *val = node(p, kv->value);
    const char *ks = scalar(k), *vs = scalar(val);
    if (!ks || !vs) return fail(p, k, "xgboost.params", "parameters are KEY: scalar VALUE");
    /* The number of threads is ours to set (config); rounds have their own key. */
    if (!strcmp(ks, "num_boost_round") || !strcmp(ks, "n_estimators"))
      return fail(p, k, "xgboost.params", "use xgboost.rounds for the number of boosting rounds");
    for (size_t j = 0; j < i; j++)
      if (!strcmp(x->param_keys[j], ks)) return fail(p, k, ks, "duplicate parameter");
    x->param_keys[i] = strdup(ks);
    x->param_values[i] = strdup(vs);
    x->nparams = i + 1;
    if (!x->param_keys[i] || !x->param_values[i]) return tt_error_set(p->err, TT_NOMEM, "out of memory");
  }
  return TT_OK;
}

static tt_err parse_threshold(parser *p, yaml_node_t *v) {
  tt_threshold_def *t = &p->spec->threshold;
  t->policy = TT_THRESHOLD_MAX_F1;
  t->target_recall = 0.8;
  t->cost_false_alarm = 1;
  t->cost_missed_failure = 10;
  t->fixed = 0.5;
  if (!v) return TT_OK;
  if (p->spec->label.kind == TT_LABEL_REGRESSION)
    return fail(p, v, "threshold", "a regression model has no decision threshold");
  TRY(want_map(p, v, "threshold"));
  static const char *const keys[] = {"policy", "target_recall", "cost_false_alarm", "cost_missed_failure",
                                     "value", NULL};
  TRY(check_keys(p, v, "threshold", keys));
  static const char *const policies[] = {"max_f1", "target_recall", "min_cost", "fixed", NULL};
  int pol = 0;
  TRY(get_enum(p, v, "policy", "threshold.policy", policies, &pol));
  t->policy = (tt_threshold_policy)pol;
  TRY(get_double(p, v, "target_recall", "threshold.target_recall", 0.0, 1.0, &t->target_recall));
  TRY(get_double(p, v, "cost_false_alarm", "threshold.cost_false_alarm", 0, 1e12, &t->cost_false_alarm));
  TRY(get_double(p, v, "cost_missed_failure", "threshold.cost_missed_failure", 0, 1e12, &t->cost_missed_failure));
  TRY(get_double(p, v, "value", "threshold.value", 0, 1, &t->fixed));
  if (t->policy == TT_THRESHOLD_TARGET_RECALL && !get(p, v, "target_recall"))
    return fail(p, v, "threshold.target_recall", "policy target_recall needs target_recall");
  if (t->policy == TT_THRESHOLD_MIN_COST &&
      (!get(p, v, "cost_false_alarm") || !get(p, v, "cost_missed_failure")))
    return fail(p, v, "threshold", "policy min_cost needs cost_false_alarm and cost_missed_failure");
  if (t->policy == TT_THRESHOLD_FIXED && !get(p, v, "value"))
    return fail(p, v, "threshold.value", "policy fixed needs value");
  return TT_OK;
}

static tt_err parse_metrics(parser *p, yaml_node_t *root) {
  tt_model_spec *s = p->spec;
  static const char *const cls[] = {"roc_auc", "pr_auc", "precision", "recall", "f1", "cost", "logloss", NULL};
  static const char *const reg[] = {"rmse", "mae", NULL};
  const char *const *valid = s->label.kind == TT_LABEL_CLASSIFICATION ? cls : reg;
  yaml_node_t *v = get(p, root, "metrics");
  if (!v) {
    size_t n = 0;
    while (valid[n]) n++;
    s->metrics = calloc(n, sizeof *s->metrics);
    if (!s->metrics) return tt_error_set(p->err, TT_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
      if (!(s->metrics[i] = strdup(valid[i]))) return tt_error_set(p->err, TT_NOMEM, "out of memory");
    s->nmetrics = n;
    return TT_OK;
  }
  TRY(get_str_list(p, root, "metrics", "metrics", &s->nmetrics, &s->metrics));
  for (size_t i = 0; i < s->nmetrics; i++)
    if (choose(s->metrics[i], valid) < 0)
      return fail(p, node(p, v->data.sequence.items.start[i]), "metrics",
                  "'%s' is not a %s metric", s->metrics[i],
                  s->label.kind == TT_LABEL_CLASSIFICATION ? "classification" : "regression");
  return TT_OK;
}

static tt_err parse_root(parser *p, yaml_node_t *root) {
  tt_model_spec *s = p->spec;
  if (!root || root->type != YAML_MAPPING_NODE) return fail(p, root, "", "a model spec is a YAML mapping");
  static const char *const keys[] = {"name", "description", "axis", "features", "label", "spine",
                                     "split", "xgboost", "threshold", "metrics", NULL};
  TRY(check_keys(p, root, "", keys));
  TRY(get_str(p, root, "name", "name", 1, &s->name));
  for (const char *c = s->name; *c; c++)
    if (!(*c == '_' || *c == '-' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9')))
      return fail(p, get(p, root, "name"), "name", "model names use letters, digits, '_' and '-'");
  TRY(get_str(p, root, "description", "description", 0, &s->description));
  static const char *const axes[] = {"timestamp", "counter", NULL};
  int axis = 0;
  TRY(get_enum(p, root, "axis", "axis", axes, &axis));
  s->axis = (tt_axis_kind)axis;
  TRY(parse_features(p, get(p, root, "features")));
  yaml_node_t *label = get(p, root, "label");
  if (!label) return fail(p, root, "label", "required key missing");
  TRY(parse_label(p, label));
  TRY(parse_spine(p, get(p, root, "spine")));
  yaml_node_t *split = get(p, root, "split");
  if (!split) return fail(p, root, "split", "required key missing");
  TRY(parse_split(p, split));
  TRY(parse_xgb(p, get(p, root, "xgboost")));
  TRY(parse_threshold(p, get(p, root, "threshold")));
  TRY(parse_metrics(p, root));
  return TT_OK;
}

static tt_err parse_with(yaml_parser_t *yp, const char *source, tt_model_spec **out, tt_error *err) {
  yaml_document_t doc;
  *out = NULL;
  if (!yaml_parser_load(yp, &doc)) {
    tt_error_set(err, TT_PARSE, "YAML: %s", yp->problem ? yp->problem : "syntax error");
    tt_error_at(err, source, (long)yp->problem_mark.line + 1, NULL);
    return TT_PARSE;
  }
  tt_model_spec *s = calloc(1, sizeof *s);
  if (!s) {
    yaml_document_delete(&doc);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  parser p = {&doc, source, s, err};
  tt_err rc = TT_OK;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    tt_error_set(err, TT_PARSE, "empty model spec");
    tt_error_at(err, source, 1, NULL);
    rc = TT_PARSE;
  } else {
    rc = parse_root(&p, root);
  }
  if (rc == TT_OK && !(s->source = strdup(source))) rc = tt_error_set(err, TT_NOMEM, "out of memory");
  yaml_document_delete(&doc);
  if (rc != TT_OK) {
    tt_model_spec_destroy(s);
    return rc;
  }
  *out = s;
  return TT_OK;
}

tt_err tt_model_spec_parse_string(const char *yaml, size_t len, const char *source_name,
                                  tt_model_spec **out, tt_error *err) {
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp)) return tt_error_set(err, TT_NOMEM, "out of memory");
  yaml_parser_set_input_string(&yp, (const unsigned char *)yaml, len);
  tt_err rc = parse_with(&yp, source_name ? source_name : "<spec>", out, err);
  yaml_parser_delete(&yp);
  return rc;
}

tt_err tt_model_spec_parse_file(const char *path, tt_model_spec **out, tt_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    tt_err code = errno == ENOENT ? TT_NOTFOUND : TT_IO;
    tt_error_set(err, code, "cannot open: %s", strerror(errno));
    tt_error_at(err, path, 0, NULL);
    return code;
  }
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp)) {
    fclose(f);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  yaml_parser_set_input_file(&yp, f);
  tt_err rc = parse_with(&yp, path, out, err);
  yaml_parser_delete(&yp);
  fclose(f);
  return rc;
}

static void free_list(char **l, size_t n) {
  for (size_t i = 0; l && i < n; i++) free(l[i]);
  free(l);
}

void tt_model_spec_destroy(tt_model_spec *s) {
  if (!s) return;
  free(s->name);
  free(s->description);
  free(s->source);
  for (size_t i = 0; s->features && i < s->nfeatures; i++) {
    free(s->features[i].set);
    free(s->features[i].version);
  }
  free(s->features);
  tt_label_def *l = &s->label;
  free(l->events_table);
  free(l->component_column);
  free(l->component);
  free(l->repair_table);
  free(l->repair_component_column);
  free(l->repair_action_column);
  free_list(l->repair_actions, l->nrepair_actions);
  free(s->spine.table);
  free_list(s->split.test_vehicles, s->split.ntest_vehicles);
  free(s->split.test_pattern);
  free_list(s->xgb.param_keys, s->xgb.nparams);
  free_list(s->xgb.param_values, s->xgb.nparams);
  free_list(s->metrics, s->nmetrics);
  free(s);
}
