/* A model spec as canonical JSON: what the registry records as the label,
 * split, spine and parameter definitions of a model version. Keys in a
 * fixed order so that equal specs give equal text. */
#include <jansson.h>
#include <stdlib.h>

#include "telltale/train.h"

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *str_list(char **l, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(l[i]));
  return a;
}

char *tt_model_spec_to_json(const tt_model_spec *s) {
  json_t *root = json_object();
  if (!root) return NULL;
  json_object_set_new(root, "name", json_string(s->name));
  json_object_set_new(root, "axis", json_string(s->axis == TT_AXIS_KIND_COUNTER ? "counter" : "timestamp"));
  json_t *feats = json_array();
  for (size_t i = 0; i < s->nfeatures; i++)
    json_array_append_new(feats, json_pack("{s:s,s:o}", "set", s->features[i].set, "version",
                                           str_or_null(s->features[i].version)));
  json_object_set_new(root, "features", feats);
  const tt_label_def *l = &s->label;
  json_t *label = json_object();
  json_object_set_new(label, "kind", json_string(l->kind == TT_LABEL_CLASSIFICATION ? "classification" : "regression"));
  json_object_set_new(label, "events", json_string(l->events_table));
  json_object_set_new(label, "component_column", str_or_null(l->component_column));
  json_object_set_new(label, "component", str_or_null(l->component));
  json_object_set_new(label, "horizon", json_integer(l->horizon));
  json_object_set_new(label, "cap", json_integer(l->cap));
  json_object_set_new(label, "unit", json_integer(l->unit));
  json_object_set_new(label, "repair_table", str_or_null(l->repair_table));
  json_object_set_new(label, "repair_component_column", str_or_null(l->repair_component_column));
  json_object_set_new(label, "repair_action_column", str_or_null(l->repair_action_column));
  json_object_set_new(label, "repair_actions", str_list(l->repair_actions, l->nrepair_actions));
  json_object_set_new(label, "during_outage", json_string(l->outage == TT_OUTAGE_EXCLUDE ? "exclude" : "keep"));
  json_object_set_new(root, "label", label);
  json_object_set_new(root, "spine", json_pack("{s:s,s:I,s:f,s:I}", "table", s->spine.table, "every",
                                               (json_int_t)s->spine.every, "negative_rate",
                                               s->spine.negative_rate, "seed", (json_int_t)s->spine.seed));
  const tt_split_def *sp = &s->split;
  static const char *const kinds[] = {"time", "vehicle", "holdout"};
  json_t *split = json_object();
  json_object_set_new(split, "by", json_string(kinds[sp->kind]));
  if (sp->kind == TT_SPLIT_TIME) {
    json_object_set_new(split, "validation_from", json_integer(sp->validation_from));
    json_object_set_new(split, "test_from", json_integer(sp->test_from));
    json_object_set_new(split, "gap", json_integer(sp->gap));
  } else {
    json_object_set_new(split, "validation_fraction", json_real(sp->validation_fraction));
    json_object_set_new(split, "test_fraction", json_real(sp->test_fraction));
    json_object_set_new(split, "seed", json_integer((json_int_t)sp->seed));
    json_object_set_new(split, "test_vehicles", str_list(sp->test_vehicles, sp->ntest_vehicles));
    json_object_set_new(split, "test_pattern", str_or_null(sp->test_pattern));
  }
  json_object_set_new(root, "split", split);
  json_t *params = json_object();
  for (size_t i = 0; i < s->xgb.nparams; i++)
    json_object_set_new(params, s->xgb.param_keys[i], json_string(s->xgb.param_values[i]));
  json_object_set_new(root, "xgboost", json_pack("{s:i,s:i,s:o}", "rounds", s->xgb.rounds,
                                                 "early_stopping_rounds", s->xgb.early_stopping,
                                                 "params", params));
  json_object_set_new(root, "threshold",
                      json_pack("{s:s,s:f,s:f,s:f,s:f}", "policy",
                                tt_threshold_policy_name(s->threshold.policy), "target_recall",
                                s->threshold.target_recall, "cost_false_alarm",
                                s->threshold.cost_false_alarm, "cost_missed_failure",
                                s->threshold.cost_missed_failure, "value", s->threshold.fixed));
  json_object_set_new(root, "metrics", str_list(s->metrics, s->nmetrics));
  char *out = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
  json_decref(root);
  return out;
}
