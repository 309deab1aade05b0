/* Aliases: named pointers (production, staging, …) at a version of a
 * (kind, name), and the history of every move.
 *
 * A move locks the name's row in `names` (bumping its alias_seq), so moves
 * of one name are serialised on both backends and their history numbers
 * (seq) are gapless and in commit order. */
#include <stdlib.h>
#include <string.h>

#include "registry/registry_internal.h"
#include "telltale/time.h"

/* Shared by set (new_version > 0) and delete (new_version == 0). */
static tt_err alias_change(tt_registry *reg, const char *kind, const char *name, const char *alias,
                           int new_version, tt_error *err) {
  tt__regdb *db = reg->db;
  tt__rows *rows = NULL;
  tt_err rc;
  if (!tt__registry_alias_ok(alias)) {
    tt_error_set(err, TT_INVALID, "invalid alias '%s': a letter, then letters, digits, '_' or '-'",
                 alias);
    tt_error_at(err, NULL, 0, "alias");
    return TT_INVALID;
  }
  if ((rc = db->begin(db, err)) != TT_OK) return rc;
  tt__param key[2] = {TT__TEXT(kind), TT__TEXT(name)};
  rc = db->query(db,
                 "UPDATE names SET alias_seq = alias_seq + 1 WHERE kind = $1 AND name = $2"
                 " RETURNING alias_seq",
                 2, key, &rows, err);
  if (rc != TT_OK) goto fail;
  if (rows->nrows == 0) {
    rc = tt_error_set(err, TT_NOTFOUND, "no %s named '%s'", kind, name);
    goto fail;
  }
  int64_t seq = tt__rows_int(rows, 0, 0);
  tt__rows_free(rows);
  rows = NULL;
  if (new_version > 0) {
    tt__param p[3] = {TT__TEXT(kind), TT__TEXT(name), TT__INT(new_version)};
    rc = db->query(db, "SELECT 1 FROM objects WHERE kind = $1 AND name = $2 AND version = $3", 3, p,
                   &rows, err);
    if (rc != TT_OK) goto fail;
    if (rows->nrows == 0) {
      rc = tt_error_set(err, TT_NOTFOUND, "%s %s has no version %d", kind, name, new_version);
      goto fail;
    }
    tt__rows_free(rows);
    rows = NULL;
  }
  tt__param ka[3] = {TT__TEXT(kind), TT__TEXT(name), TT__TEXT(alias)};
  rc = db->query(db, "SELECT version FROM aliases WHERE kind = $1 AND name = $2 AND alias = $3", 3,
                 ka, &rows, err);
  if (rc != TT_OK) goto fail;
  int64_t old_version = rows->nrows ? tt__rows_int(rows, 0, 0) : 0;
  tt__rows_free(rows);
  rows = NULL;
  if (new_version == 0 && old_version == 0) {
    rc = tt_error_set(err, TT_NOTFOUND, "%s '%s' has no alias '%s'", kind, name, alias);
    goto fail;
  }
  if (old_version == new_version) { /* already there: nothing to record */
    db->rollback(db);
    return TT_OK;
  }
  const char *user = tt__registry_user();
  int64_t now = tt_time_now();
  if (new_version > 0) {
    tt__param p[6] = {TT__TEXT(kind),       TT__TEXT(name), TT__TEXT(alias),
                      TT__INT(new_version), TT__INT(now),   TT__TEXT(user)};
    rc = db->query(db,
                   "INSERT INTO aliases (kind, name, alias, version, updated_at, updated_by)"
                   " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, name, alias) DO UPDATE"
                   " SET version = excluded.version, updated_at = excluded.updated_at,"
                   " updated_by = excluded.updated_by",
                   6, p, NULL, err);
  } else {
    rc = db->query(db, "DELETE FROM aliases WHERE kind = $1 AND name = $2 AND alias = $3", 3, ka,
                   NULL, err);
  }
  if (rc != TT_OK) goto fail;
  tt__param h[8] = {TT__TEXT(kind),
                    TT__TEXT(name),
                    TT__INT(seq),
                    TT__TEXT(alias),
                    old_version ? TT__INT(old_version) : TT__NULL,
                    new_version ? TT__INT(new_version) : TT__NULL,
                    TT__INT(now),
                    TT__TEXT(user)};
  rc = db->query(db,
                 "INSERT INTO alias_history (kind, name, seq, alias, old_version, new_version,"
                 " changed_at, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                 8, h, NULL, err);
  if (rc != TT_OK) goto fail;
  return db->commit(db, err);
fail:
  tt__rows_free(rows);
  db->rollback(db);
  return rc;
}

tt_err tt_registry_alias_set(tt_registry *reg, const char *kind, const char *name,
                             const char *alias, int version, tt_error *err) {
  if (version <= 0) return tt_error_set(err, TT_INVALID, "version must be 1 or more");
  return alias_change(reg, kind, name, alias, version, err);
}

tt_err tt_registry_alias_delete(tt_registry *reg, const char *kind, const char *name,
                                const char *alias, tt_error *err) {
  return alias_change(reg, kind, name, alias, 0, err);
}

void tt_aliases_free(tt_alias *a, size_t n) {
  if (!a) return;
  for (size_t i = 0; i < n; i++) {
    free(a[i].alias);
    free(a[i].updated_by);
  }
  free(a);
}

void tt_alias_changes_free(tt_alias_change *c, size_t n) {
  if (!c) return;
  for (size_t i = 0; i < n; i++) {
    free(c[i].alias);
    free(c[i].changed_by);
  }
  free(c);
}

tt_err tt_registry_alias_list(tt_registry *reg, const char *kind, const char *name, tt_alias **out,
                              size_t *n, tt_error *err) {
  tt__rows *rows = NULL;
  *out = NULL;
  *n = 0;
  tt__param p[2] = {TT__TEXT(kind), TT__TEXT(name)};
  tt_err rc = reg->db->query(reg->db,
                             "SELECT alias, version, updated_at, updated_by FROM aliases"
                             " WHERE kind = $1 AND name = $2 ORDER BY alias",
                             2, p, &rows, err);
  if (rc != TT_OK) return rc;
  if (rows->nrows) {
    tt_alias *a = calloc(rows->nrows, sizeof *a);
    int bad = !a;
    for (size_t i = 0; a && i < rows->nrows; i++) {
      a[i].alias = strdup(tt__rows_get(rows, i, 0));
      a[i].version = (int)tt__rows_int(rows, i, 1);
      a[i].updated_at = tt__rows_int(rows, i, 2);
      a[i].updated_by = strdup(tt__rows_get(rows, i, 3));
      bad |= !a[i].alias || !a[i].updated_by;
    }
    if (bad) {
      tt_aliases_free(a, a ? rows->nrows : 0);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
    } else {
      *out = a;
      *n = rows->nrows;
    }
  }
  tt__rows_free(rows);
  return rc;
}

tt_err tt_registry_alias_history(tt_registry *reg, const char *kind, const char *name,
                                 const char *alias, tt_alias_change **out, size_t *n,
                                 tt_error *err) {
  tt__rows *rows = NULL;
  *out = NULL;
  *n = 0;
  tt__param p[3] = {TT__TEXT(kind), TT__TEXT(name), alias ? TT__TEXT(alias) : TT__NULL};
  tt_err rc = reg->db->query(
      reg->db,
      "SELECT alias, seq, old_version, new_version, changed_at, changed_by FROM alias_history"
      " WHERE kind = $1 AND name = $2 AND (CAST($3 AS TEXT) IS NULL OR alias = $3) ORDER BY seq",
      3, p, &rows, err);
  if (rc != TT_OK) return rc;
  if (rows->nrows) {
    tt_alias_change *c = calloc(rows->nrows, sizeof *c);
    int bad = !c;
    for (size_t i = 0; c && i < rows->nrows; i++) {
      c[i].alias = strdup(tt__rows_get(rows, i, 0));
      c[i].seq = tt__rows_int(rows, i, 1);
      c[i].old_version = (int)tt__rows_int(rows, i, 2);
      c[i].new_version = (int)tt__rows_int(rows, i, 3);
      c[i].changed_at = tt__rows_int(rows, i, 4);
      c[i].changed_by = strdup(tt__rows_get(rows, i, 5));
      bad |= !c[i].alias || !c[i].changed_by;
    }
    if (bad) {
      tt_alias_changes_free(c, c ? rows->nrows : 0);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
    } else {
      *out = c;
      *n = rows->nrows;
    }
  }
  tt__rows_free(rows);
  return rc;
}
