/* Internal: what the registry's files share. */
#ifndef TT_REGISTRY_INTERNAL_H
#define TT_REGISTRY_INTERNAL_H

#include "registry/backend.h"
#include "telltale/registry.h"

struct tt_registry {
  tt__regdb *db;
};

/* The columns every object query selects, in the order tt__object_from_row
 * reads them. */
#define TT__OBJECT_COLUMNS                                                                         \
  "kind, name, version, content, sha256, created_at, created_by, description, tags"

/* Fill *o from row r of rows (selected with TT__OBJECT_COLUMNS); -1 when
 * out of memory. */
int tt__object_from_row(const tt__rows *rows, size_t r, tt_object *o);

/* $USER, else the login name of the effective uid, else "unknown". */
const char *tt__registry_user(void);
/* 1 if s is a valid object name / alias / kind. */
int tt__registry_name_ok(const char *s);
int tt__registry_alias_ok(const char *s);
int tt__registry_kind_ok(const char *s);

#endif
