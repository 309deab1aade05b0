/* telltale — the registry (metadata store).
 *
 * One store of versioned, immutable objects for every stage: schemas now,
 * feature sets and models later. An object is identified by (kind, name,
 * version); versions count 1, 2, … per (kind, name). Each carries a content
 * (JSON text), the sha256 of that content, who created it when, a
 * description and tags. Aliases (e.g. `production`) point at a version of a
 * (kind, name) and every move is kept in a history.
 *
 * Backends are chosen by URL: `sqlite:PATH` (embedded default, PATH relative
 * to the project directory) or `postgresql://user@host:port/db` (libpq). Both
 * hold the same tables (docs/registry.md) and run the same code.
 *
 * References: "NAME" (latest version), "NAME:VERSION", "NAME@ALIAS".
 *
 * A tt_registry is one database connection: use it from one thread at a
 * time (open one per thread or process). Concurrent writers in several
 * processes are safe: two registrations of the same name get distinct
 * versions.
 */
#ifndef TELLTALE_REGISTRY_H
#define TELLTALE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"
#include "telltale/schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds used by telltale's stages (any [a-z_]+ kind may be stored). */
#define TT_KIND_SCHEMA "schema"
#define TT_KIND_FEATURE_SET "feature_set"
#define TT_KIND_MODEL "model"

/* The registry's own table layout version (schema_version table). */
#define TT_REGISTRY_SCHEMA_VERSION 2

typedef struct tt_registry tt_registry;

/* Open (and create or migrate) the registry at url. project_dir (NULL: ".")
 * anchors relative sqlite paths. The registry is the caller's to close. */
tt_err tt_registry_open(const char *url, const char *project_dir, tt_registry **out,
                        tt_error *err) TT_WARN_UNUSED;
void tt_registry_close(tt_registry *reg);
/* "sqlite" or "postgresql". */
const char *tt_registry_backend(const tt_registry *reg);

/* One stored version. All strings are owned by the object. */
typedef struct tt_object {
  char *kind;
  char *name;
  int version;
  char *content;      /* JSON text as registered */
  char *sha256;       /* hex of content */
  int64_t created_at; /* microseconds UTC */
  char *created_by;   /* $USER of the registering process */
  char *description;  /* "" if none */
  size_t ntags;
  char **tags;
} tt_object;

void tt_object_free(tt_object *obj);             /* one from get/put */
void tt_objects_free(tt_object *objs, size_t n); /* an array from list/search */

/* What to store. */
typedef struct tt_object_spec {
  const char *kind;
  const char *name; /* a letter, then letters, digits, '_', '-', '.' (<= 63) */
  const char *content;
  const char *description; /* may be NULL */
  const char *const *tags; /* may be NULL */
  size_t ntags;
} tt_object_spec;

/* Called inside the registration's transaction, with the name's latest
 * version (NULL for the first) and the new content; a non-TT_OK return
 * refuses the registration (and is returned by tt_registry_put). */
typedef tt_err (*tt_registry_check_fn)(const tt_object *latest, const char *content, void *ud,
                                       tt_error *err);

enum {
  /* If a version of this name already has exactly this content (by sha256),
   * return it instead of adding a new one (*created = 0). */
  TT_REGISTRY_DEDUP = 1,
};

/* Store a new version of spec->kind/spec->name. flags: TT_REGISTRY_DEDUP.
 * check may be NULL. *out (may be NULL) receives the stored (or existing)
 * object, the caller's to free; *created (may be NULL) is 1 for a new
 * version. */
tt_err tt_registry_put(tt_registry *reg, const tt_object_spec *spec, int flags,
                       tt_registry_check_fn check, void *ud, tt_object **out, int *created,
                       tt_error *err) TT_WARN_UNUSED;

/* Split "NAME", "NAME:VERSION" or "NAME@ALIAS" and find the version it means.
 * TT_NOTFOUND when the name, version or alias does not exist. */
tt_err tt_registry_resolve(tt_registry *reg, const char *kind, const char *ref, char **name,
                           int *version, tt_error *err) TT_WARN_UNUSED;
/* The object a reference means; the caller's to free. */
tt_err tt_registry_get(tt_registry *reg, const char *kind, const char *ref, tt_object **out,
                       tt_error *err) TT_WARN_UNUSED;
/* name NULL: the latest version of every name of kind, by name. name given:
 * every version of it, oldest first. The array is the caller's
 * (tt_objects_free). */
tt_err tt_registry_list(tt_registry *reg, const char *kind, const char *name, tt_object **out,
                        size_t *n, tt_error *err) TT_WARN_UNUSED;
/* Versions of kind (NULL: every kind) whose name, description, tags or
 * content contain text (case-insensitive), by kind, name, version. */
tt_err tt_registry_search(tt_registry *reg, const char *kind, const char *text, tt_object **out,
                          size_t *n, tt_error *err) TT_WARN_UNUSED;

/* What the registry holds, per kind. */
typedef struct tt_registry_kind_stats {
  char *kind;
  size_t names;    /* distinct names */
  size_t versions; /* versions of all names */
} tt_registry_kind_stats;

/* The layout version (schema_version) and, per kind (by kind), how many
 * names and versions there are. The array is the caller's
 * (tt_registry_stats_free). */
tt_err tt_registry_stats(tt_registry *reg, int *layout_version, tt_registry_kind_stats **out,
                         size_t *n, tt_error *err) TT_WARN_UNUSED;
void tt_registry_stats_free(tt_registry_kind_stats *s, size_t n);

/* url with any password replaced by "***" (for printing); malloc'd, caller
 * frees. */
char *tt_registry_url_redact(const char *url);

/* --- aliases ------------------------------------------------------------ */

typedef struct tt_alias {
  char *alias;
  int version;
  int64_t updated_at;
  char *updated_by;
} tt_alias;

typedef struct tt_alias_change {
  char *alias;
  int64_t seq;     /* order of changes of this name, 1, 2, … */
  int old_version; /* 0: the alias did not exist */
  int new_version; /* 0: the alias was deleted */
  int64_t changed_at;
  char *changed_by;
} tt_alias_change;

/* Point alias (a letter, then letters, digits, '_', '-') of kind/name at
 * version, creating or moving it; the move is recorded. Setting it to the
 * version it already has changes nothing. */
tt_err tt_registry_alias_set(tt_registry *reg, const char *kind, const char *name,
                             const char *alias, int version, tt_error *err) TT_WARN_UNUSED;
/* Remove an alias (TT_NOTFOUND if there is none); recorded too. */
tt_err tt_registry_alias_delete(tt_registry *reg, const char *kind, const char *name,
                                const char *alias, tt_error *err) TT_WARN_UNUSED;
/* The aliases of kind/name, by alias. Caller frees with tt_aliases_free. */
tt_err tt_registry_alias_list(tt_registry *reg, const char *kind, const char *name, tt_alias **out,
                              size_t *n, tt_error *err) TT_WARN_UNUSED;
void tt_aliases_free(tt_alias *a, size_t n);
/* Every change of the aliases of kind/name (alias NULL) or of one alias,
 * oldest first. Caller frees with tt_alias_changes_free. */
tt_err tt_registry_alias_history(tt_registry *reg, const char *kind, const char *name,
                                 const char *alias, tt_alias_change **out, size_t *n,
                                 tt_error *err) TT_WARN_UNUSED;
void tt_alias_changes_free(tt_alias_change *c, size_t n);

/* --- schemas ------------------------------------------------------------ */

/* Register a schema under its name. Identical content returns the existing
 * version (*created = 0). Otherwise the change from the latest version must
 * be compatible (tt_schema_diff) unless force; an incompatible one fails
 * with TT_INCOMPATIBLE. *report (may be NULL) receives the diff against the
 * latest version ("" for the first), malloc'd, also on TT_INCOMPATIBLE.
 * On success the schema's version is set (tt_schema_set_version). */
tt_err tt_registry_schema_register(tt_registry *reg, tt_schema *schema, int force, int *created,
                                   char **report, tt_error *err) TT_WARN_UNUSED;
/* The schema a reference means, with its version set; caller destroys. */
tt_err tt_registry_schema_get(tt_registry *reg, const char *ref, tt_schema **out,
                              tt_error *err) TT_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
