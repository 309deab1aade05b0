/* Which schema validates an ingest: the latest registered version of the
 * schema that declares the table. */
#include <stdlib.h>
#include <string.h>

#include "telltale/ingest.h"
#include "telltale/registry.h"

tt_err tt_ingest_schema_lookup(const char *registry_url, const char *project_dir,
                               const char *table, tt_schema **out, tt_error *err) {
  *out = NULL;
  tt_registry *reg = NULL;
  tt_object *objs = NULL;
  size_t n = 0, matches = 0;
  tt_err rc = tt_registry_open(registry_url, project_dir, &reg, err);
  if (rc) return rc;
  if ((rc = tt_registry_list(reg, "schema", NULL, &objs, &n, err))) goto out;
  for (size_t i = 0; i < n; i++) {
    tt_schema *s = NULL;
    if (tt_schema_from_json(objs[i].content, &s, NULL) != TT_OK) continue;
    tt_schema_set_version(s, objs[i].version);
    if (table && !tt_schema_table(s, table)) {
      tt_schema_destroy(s);
      continue;
    }
    matches++;
    if (!*out) *out = s; /* by name: the first that fits */
    else tt_schema_destroy(s);
  }
  if (!*out) {
    rc = table ? tt_error_set(err, TT_NOTFOUND,
                              "no registered schema has table '%s' (register one with `telltale "
                              "schema register FILE`, or pass --schema FILE)",
                              table)
               : tt_error_set(err, TT_NOTFOUND,
                              "no schema registered (register one with `telltale schema register "
                              "FILE`, or pass --schema FILE)");
  } else if (!table && matches > 1) {
    tt_schema_destroy(*out);
    *out = NULL;
    rc = tt_error_set(err, TT_INVALID,
                      "%zu schemas are registered: name the table (--table) or the schema "
                      "(--schema)",
                      matches);
  }
out:
  tt_objects_free(objs, n);
  tt_registry_close(reg);
  return rc;
}
