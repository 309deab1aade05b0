/* Schemas in the registry: kind "schema", content = the schema's canonical
 * JSON, tags = its table names (so `search` finds a schema by table). The
 * evolution check runs inside the registration's transaction, against the
 * latest version as it is once the name is locked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/registry_internal.h"

typedef struct evolve {
  const tt_schema *next;
  int force;
  char *report;
} evolve;

static tt_err check_evolution(const tt_object *latest, const char *content, void *ud,
                              tt_error *err) {
  (void)content;
  evolve *ev = ud;
  free(ev->report);
  ev->report = NULL;
  if (!latest) {
    ev->report = strdup("");
    return ev->report ? TT_OK : tt_error_set(err, TT_NOMEM, "out of memory");
  }
  tt_schema *old = NULL;
  tt_err rc = tt_schema_from_json(latest->content, &old, err);
  if (rc != TT_OK) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err ? err->msg : "");
    tt_error_set(err, rc, "stored schema %s:%d does not read back: %s", latest->name,
                 latest->version, why);
    return rc;
  }
  int compatible = 0;
  rc = tt_schema_diff(old, ev->next, &compatible, &ev->report, err);
  tt_schema_destroy(old);
  if (rc != TT_OK) return rc;
  if (!compatible && !ev->force) {
    tt_error_clear(err);
    tt_error_set(err, TT_INCOMPATIBLE,
                 "incompatible change to schema %s (latest version %d); see the diff, or "
                 "register with force",
                 latest->name, latest->version);
    return TT_INCOMPATIBLE;
  }
  return TT_OK;
}

tt_err tt_registry_schema_register(tt_registry *reg, tt_schema *schema, int force, int *created,
                                   char **report, tt_error *err) {
  if (report) *report = NULL;
  if (created) *created = 0;
  char *json = tt_schema_to_json(schema);
  size_t nt = tt_schema_table_count(schema);
  const char **tags = calloc(nt ? nt : 1, sizeof *tags);
  if (!json || !tags) {
    free(json);
    free(tags);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < nt; i++)
    tags[i] = tt_schema_table_at(schema, i)->name;
  tt_object_spec spec = {.kind = TT_KIND_SCHEMA,
                         .name = tt_schema_name(schema),
                         .content = json,
                         .description = tt_schema_description(schema),
                         .tags = tags,
                         .ntags = nt};
  evolve ev = {.next = schema, .force = force};
  tt_object *obj = NULL;
  int made = 0;
  tt_err rc =
      tt_registry_put(reg, &spec, TT_REGISTRY_DEDUP, check_evolution, &ev, &obj, &made, err);
  if (rc == TT_OK) {
    tt_schema_set_version(schema, obj->version);
    if (!made) { /* identical to a stored version: no change to report */
      free(ev.report);
      ev.report = strdup("");
    }
  }
  if (created) *created = made;
  if (report && (rc == TT_OK || rc == TT_INCOMPATIBLE)) {
    *report = ev.report;
    ev.report = NULL;
  }
  free(ev.report);
  tt_object_free(obj);
  free(tags);
  free(json);
  return rc;
}

tt_err tt_registry_schema_get(tt_registry *reg, const char *ref, tt_schema **out, tt_error *err) {
  tt_object *obj = NULL;
  *out = NULL;
  tt_err rc = tt_registry_get(reg, TT_KIND_SCHEMA, ref, &obj, err);
  if (rc != TT_OK) return rc;
  rc = tt_schema_from_json(obj->content, out, err);
  if (rc == TT_OK) tt_schema_set_version(*out, obj->version);
  tt_object_free(obj);
  return rc;
}
