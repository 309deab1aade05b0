/* The registry: opening (URL → backend), migrations, and versioned objects.
 * Table layout and the reasons for it: src/registry/README.md. */
#include <ctype.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/registry_internal.h"
#include "telltale/hash.h"
#include "telltale/time.h"

/* --- migrations ----------------------------------------------------------
 * Each migration is a list of statements in the SQL both backends speak.
 * Never edit one that has shipped: add the next. */

static const char *const migration_1[] = {
    "CREATE TABLE names ("
    " kind TEXT NOT NULL, name TEXT NOT NULL,"
    " latest BIGINT NOT NULL,"    /* highest version handed out */
    " alias_seq BIGINT NOT NULL," /* last alias_history seq of this name */
    " PRIMARY KEY (kind, name))",
    "CREATE TABLE objects ("
    " kind TEXT NOT NULL, name TEXT NOT NULL, version BIGINT NOT NULL,"
    " content TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, created_by TEXT NOT NULL,"
    " description TEXT NOT NULL, tags TEXT NOT NULL,"
    " PRIMARY KEY (kind, name, version))",
    "CREATE INDEX objects_sha256 ON objects (kind, name, sha256)",
    "CREATE TABLE aliases ("
    " kind TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL,"
    " version BIGINT NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL,"
    " PRIMARY KEY (kind, name, alias))",
    "CREATE TABLE alias_history ("
    " kind TEXT NOT NULL, name TEXT NOT NULL, seq BIGINT NOT NULL, alias TEXT NOT NULL,"
    " old_version BIGINT, new_version BIGINT,"
    " changed_at BIGINT NOT NULL, changed_by TEXT NOT NULL,"
    " PRIMARY KEY (kind, name, seq))",
    NULL,
};

/* The dedup lookup (kind, name, sha256 … ORDER BY version DESC LIMIT 1)
 * was planned on the primary key by SQLite, to save the sort, and so
 * scanned every version of the name: registering grew quadratic. An index
 * that ends in version serves both the lookup and the order. */
static const char *const migration_2[] = {
    "DROP INDEX objects_sha256",
    "CREATE INDEX objects_sha256_version ON objects (kind, name, sha256, version)",
    NULL,
};

static const char *const *const migrations[] = {migration_1, migration_2};
#define NMIGRATIONS (sizeof migrations / sizeof *migrations)
_Static_assert(NMIGRATIONS == TT_REGISTRY_SCHEMA_VERSION, "one migration per layout version");

static tt_err migrate(tt__regdb *db, tt_error *err) {
  tt__rows *rows = NULL;
  tt_err rc = db->begin(db, err);
  if (rc != TT_OK) return rc;
  if (db->migration_lock_sql && (rc = db->query(db, db->migration_lock_sql, 0, NULL, NULL, err)))
    goto fail;
  rc = db->query(db,
                 "CREATE TABLE IF NOT EXISTS schema_version ("
                 " version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)",
                 0, NULL, NULL, err);
  if (rc != TT_OK) goto fail;
  rc = db->query(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", 0, NULL, &rows, err);
  if (rc != TT_OK) goto fail;
  int64_t have = tt__rows_int(rows, 0, 0);
  tt__rows_free(rows);
  rows = NULL;
  if (have > (int64_t)NMIGRATIONS) {
    rc = tt_error_set(err, TT_DB,
                      "registry layout version %lld is newer than this telltale knows (%d): "
                      "upgrade telltale",
                      (long long)have, TT_REGISTRY_SCHEMA_VERSION);
    goto fail;
  }
  for (int64_t v = have + 1; v <= (int64_t)NMIGRATIONS; v++) {
    for (const char *const *stmt = migrations[v - 1]; *stmt; stmt++)
      if ((rc = db->query(db, *stmt, 0, NULL, NULL, err)) != TT_OK) goto fail;
    tt__param p[2] = {TT__INT(v), TT__INT(tt_time_now())};
    rc = db->query(db, "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)", 2, p,
                   NULL, err);
    if (rc != TT_OK) goto fail;
  }
  return db->commit(db, err);
fail:
  db->rollback(db);
  return rc;
}

tt_err tt_registry_open(const char *url, const char *project_dir, tt_registry **out,
                        tt_error *err) {
  *out = NULL;
  tt__regdb *db = NULL;
  tt_err rc;
  if (!url || !*url) return tt_error_set(err, TT_CONFIG, "empty registry URL");
  if (!strncmp(url, "sqlite:", 7)) {
    const char *path = url + 7;
    if (!*path) {
      tt_error_set(err, TT_CONFIG, "sqlite: URL without a path (sqlite:telltale.db)");
      tt_error_at(err, NULL, 0, "registry");
      return TT_CONFIG;
    }
    char full[4096];
    if (path[0] == '/' || !strcmp(path, ":memory:") || !project_dir || !strcmp(project_dir, "."))
      snprintf(full, sizeof full, "%s", path);
    else
      snprintf(full, sizeof full, "%s/%s", project_dir, path);
    rc = tt__regdb_sqlite_open(full, &db, err);
  } else if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11)) {
    rc = tt__regdb_pg_open(url, &db, err);
  } else {
    tt_error_set(err, TT_CONFIG, "unknown registry URL '%s' (sqlite:PATH or postgresql://…)", url);
    tt_error_at(err, NULL, 0, "registry");
    return TT_CONFIG;
  }
  if (rc != TT_OK) return rc;
  if ((rc = migrate(db, err)) != TT_OK) {
    db->close(db);
    return rc;
  }
  tt_registry *reg = calloc(1, sizeof *reg);
  if (!reg) {
    db->close(db);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  reg->db = db;
  *out = reg;
  return TT_OK;
}

void tt_registry_close(tt_registry *reg) {
  if (!reg) return;
  reg->db->close(reg->db);
  free(reg);
}

const char *tt_registry_backend(const tt_registry *reg) { return reg->db->backend; }

/* --- helpers ------------------------------------------------------------ */

const char *tt__registry_user(void) {
  const char *u = getenv("USER");
  if (u && *u) return u;
  struct passwd *pw = getpwuid(geteuid());
  return pw && pw->pw_name ? pw->pw_name : "unknown";
}

int tt__registry_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63 || !isalpha((unsigned char)s[0])) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) return 0;
  return 1;
}

int tt__registry_alias_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63 || !isalpha((unsigned char)s[0])) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-')) return 0;
  return 1;
}

int tt__registry_kind_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 32) return 0;
  for (size_t i = 0; i < n; i++)
    if (!(islower((unsigned char)s[i]) || s[i] == '_')) return 0;
  return 1;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

void tt_object_free(tt_object *o) {
  if (!o) return;
  tt_objects_free(o, 1);
}

static void object_clear(tt_object *o) {
  free(o->kind);
  free(o->name);
  free(o->content);
  free(o->sha256);
  free(o->created_by);
  free(o->description);
  for (size_t i = 0; i < o->ntags; i++)
    free(o->tags[i]);
  free(o->tags);
}

void tt_objects_free(tt_object *objs, size_t n) {
  if (!objs) return;
  for (size_t i = 0; i < n; i++)
    object_clear(&objs[i]);
  free(objs);
}

int tt__object_from_row(const tt__rows *rows, size_t r, tt_object *o) {
  memset(o, 0, sizeof *o);
  o->kind = dup_or_empty(tt__rows_get(rows, r, 0));
  o->name = dup_or_empty(tt__rows_get(rows, r, 1));
  o->version = (int)tt__rows_int(rows, r, 2);
  o->content = dup_or_empty(tt__rows_get(rows, r, 3));
  o->sha256 = dup_or_empty(tt__rows_get(rows, r, 4));
  o->created_at = tt__rows_int(rows, r, 5);
  o->created_by = dup_or_empty(tt__rows_get(rows, r, 6));
  o->description = dup_or_empty(tt__rows_get(rows, r, 7));
  int bad = !o->kind || !o->name || !o->content || !o->sha256 || !o->created_by || !o->description;
  json_t *tags = json_loads(tt__rows_get(rows, r, 8) ? tt__rows_get(rows, r, 8) : "[]", 0, NULL);
  size_t n = json_is_array(tags) ? json_array_size(tags) : 0;
  if (n) {
    o->tags = calloc(n, sizeof *o->tags);
    bad |= !o->tags;
    for (size_t i = 0; o->tags && i < n; i++) {
      const char *t = json_string_value(json_array_get(tags, i));
      o->tags[o->ntags] = strdup(t ? t : "");
      if (!o->tags[o->ntags])
        bad = 1;
      else
        o->ntags++;
    }
  }
  json_decref(tags);
  if (bad) {
    object_clear(o);
    memset(o, 0, sizeof *o);
    return -1;
  }
  return 0;
}

/* Objects of every row; *out is NULL (and *n 0) for no rows. */
static tt_err objects_from_rows(const tt__rows *rows, tt_object **out, size_t *n, tt_error *err) {
  *out = NULL;
  *n = 0;
  if (rows->nrows == 0) return TT_OK;
  tt_object *objs = calloc(rows->nrows, sizeof *objs);
  if (!objs) return tt_error_set(err, TT_NOMEM, "out of memory");
  for (size_t i = 0; i < rows->nrows; i++) {
    if (tt__object_from_row(rows, i, &objs[i]) != 0) {
      tt_objects_free(objs, i);
      return tt_error_set(err, TT_NOMEM, "out of memory");
    }
  }
  *out = objs;
  *n = rows->nrows;
  return TT_OK;
}

static tt_err fetch_version(tt__regdb *db, const char *kind, const char *name, int64_t version,
                            tt_object **out, tt_error *err) {
  tt__rows *rows = NULL;
  tt__param p[3] = {TT__TEXT(kind), TT__TEXT(name), TT__INT(version)};
  *out = NULL;
  tt_err rc = db->query(db,
                        "SELECT " TT__OBJECT_COLUMNS
                        " FROM objects WHERE kind = $1 AND name = $2 AND version = $3",
                        3, p, &rows, err);
  if (rc != TT_OK) return rc;
  if (rows->nrows == 0) {
    tt__rows_free(rows);
    return tt_error_set(err, TT_NOTFOUND, "%s %s:%lld not found", kind, name, (long long)version);
  }
  size_t n;
  rc = objects_from_rows(rows, out, &n, err);
  tt__rows_free(rows);
  return rc;
}

/* --- put ---------------------------------------------------------------- */

/* Registration takes the name's row in `names` first (an upsert): on
 * PostgreSQL that row lock queues concurrent registrations of the same
 * name (and, at READ COMMITTED, each later statement sees what the one
 * before it committed); on SQLite BEGIN IMMEDIATE already serialises all
 * writers. So "next version = latest + 1", the content-hash lookup and the
 * compatibility check all see the same, settled history. */
tt_err tt_registry_put(tt_registry *reg, const tt_object_spec *spec, int flags,
                       tt_registry_check_fn check, void *ud, tt_object **out, int *created,
                       tt_error *err) {
  tt__regdb *db = reg->db;
  tt__rows *rows = NULL;
  tt_object *latest = NULL;
  char *tags = NULL;
  tt_err rc;
  if (out) *out = NULL;
  if (created) *created = 0;
  if (!spec->kind || !tt__registry_kind_ok(spec->kind))
    return tt_error_set(err, TT_INVALID, "invalid kind '%s'", spec->kind ? spec->kind : "");
  if (!spec->name || !tt__registry_name_ok(spec->name)) {
    tt_error_set(err, TT_INVALID,
                 "invalid name '%s': a letter, then letters, digits, '_', '-' or '.' (at most 63)",
                 spec->name ? spec->name : "");
    tt_error_at(err, NULL, 0, "name");
    return TT_INVALID;
  }
  if (!spec->content) return tt_error_set(err, TT_INVALID, "no content");
  json_t *jt = json_array();
  int bad_tags = !jt;
  for (size_t i = 0; jt && i < spec->ntags; i++)
    bad_tags |= !spec->tags[i] || json_array_append_new(jt, json_string(spec->tags[i])) != 0;
  tags = jt && !bad_tags ? json_dumps(jt, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(jt);
  if (!tags) return tt_error_set(err, TT_INVALID, "a tag is not valid UTF-8 (or out of memory)");
  char sha[65];
  tt_sha256_hex(spec->content, strlen(spec->content), sha);

  if ((rc = db->begin(db, err)) != TT_OK) goto done;
  tt__param key[2] = {TT__TEXT(spec->kind), TT__TEXT(spec->name)};
  /* One upsert both creates the name's row and locks it (a second
   * registration of the name waits here until this one commits). */
  rc = db->query(db,
                 "INSERT INTO names (kind, name, latest, alias_seq) VALUES ($1, $2, 1, 0)"
                 " ON CONFLICT (kind, name) DO UPDATE SET latest = names.latest + 1"
                 " RETURNING latest",
                 2, key, &rows, err);
  if (rc != TT_OK) goto fail;
  int64_t version = tt__rows_int(rows, 0, 0);
  tt__rows_free(rows);
  rows = NULL;
  if (version <= 0 || version > 2000000000) {
    rc = tt_error_set(err, TT_INTERNAL, "bad version counter %lld", (long long)version);
    goto fail;
  }
  if (flags & TT_REGISTRY_DEDUP) {
    tt__param p[3] = {TT__TEXT(spec->kind), TT__TEXT(spec->name), TT__TEXT(sha)};
    rc = db->query(db,
                   "SELECT version FROM objects WHERE kind = $1 AND name = $2 AND sha256 = $3"
                   " ORDER BY version DESC LIMIT 1",
                   3, p, &rows, err);
    if (rc != TT_OK) goto fail;
    if (rows->nrows > 0) {
      int64_t existing = tt__rows_int(rows, 0, 0);
      db->rollback(db); /* gives the version number back */
      rc = out ? fetch_version(db, spec->kind, spec->name, existing, out, err) : TT_OK;
      goto done;
    }
    tt__rows_free(rows);
    rows = NULL;
  }
  if (check) {
    /* The latest stored version (not version - 1: the counter only
     * promises to be above it). */
    tt__rows *mx = NULL;
    rc = db->query(db, "SELECT MAX(version) FROM objects WHERE kind = $1 AND name = $2", 2, key,
                   &mx, err);
    int64_t prev = rc == TT_OK ? tt__rows_int(mx, 0, 0) : 0;
    tt__rows_free(mx);
    if (rc != TT_OK) goto fail;
    if (prev > 0 && (rc = fetch_version(db, spec->kind, spec->name, prev, &latest, err))) goto fail;
    if ((rc = check(latest, spec->content, ud, err)) != TT_OK) goto fail;
  }
  tt__param p[9] = {TT__TEXT(spec->kind),
                    TT__TEXT(spec->name),
                    TT__INT(version),
                    TT__TEXT(spec->content),
                    TT__TEXT(sha),
                    TT__INT(tt_time_now()),
                    TT__TEXT(tt__registry_user()),
                    TT__TEXT(spec->description ? spec->description : ""),
                    TT__TEXT(tags)};
  rc = db->query(db,
                 "INSERT INTO objects (" TT__OBJECT_COLUMNS ")"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                 9, p, NULL, err);
  if (rc != TT_OK) goto fail;
  if ((rc = db->commit(db, err)) != TT_OK) goto fail;
  if (created) *created = 1;
  if (out) rc = fetch_version(db, spec->kind, spec->name, version, out, err);
  goto done;
fail:
  db->rollback(db);
done:
  tt__rows_free(rows);
  tt_object_free(latest);
  free(tags);
  return rc;
}

/* --- get, list, search --------------------------------------------------- */

static tt_err latest_version(tt__regdb *db, const char *kind, const char *name, int64_t *v,
                             tt_error *err) {
  tt__rows *rows = NULL;
  tt__param p[2] = {TT__TEXT(kind), TT__TEXT(name)};
  tt_err rc = db->query(db, "SELECT MAX(version) FROM objects WHERE kind = $1 AND name = $2", 2, p,
                        &rows, err);
  if (rc != TT_OK) return rc;
  *v = tt__rows_int(rows, 0, 0);
  tt__rows_free(rows);
  if (*v <= 0) return tt_error_set(err, TT_NOTFOUND, "no %s named '%s'", kind, name);
  return TT_OK;
}

tt_err tt_registry_resolve(tt_registry *reg, const char *kind, const char *ref, char **name_out,
                           int *version, tt_error *err) {
  tt__regdb *db = reg->db;
  *version = 0;
  if (name_out) *name_out = NULL;
  size_t n = strcspn(ref, ":@");
  char *name = strndup(ref, n);
  if (!name) return tt_error_set(err, TT_NOMEM, "out of memory");
  tt_err rc = TT_OK;
  int64_t v = 0;
  if (!tt__registry_name_ok(name)) {
    rc = tt_error_set(err, TT_INVALID, "invalid reference '%s' (NAME, NAME:VERSION or NAME@ALIAS)",
                      ref);
  } else if (ref[n] == ':') {
    char *end;
    long long x = strtoll(ref + n + 1, &end, 10);
    if (!ref[n + 1] || *end || x <= 0 || x > 2000000000) {
      rc = tt_error_set(err, TT_INVALID, "invalid version in '%s' (a number from 1)", ref);
    } else {
      tt_object *o = NULL;
      rc = fetch_version(db, kind, name, x, &o, err);
      tt_object_free(o);
      v = x;
    }
  } else if (ref[n] == '@') {
    tt__rows *rows = NULL;
    tt__param p[3] = {TT__TEXT(kind), TT__TEXT(name), TT__TEXT(ref + n + 1)};
    rc = db->query(db, "SELECT version FROM aliases WHERE kind = $1 AND name = $2 AND alias = $3",
                   3, p, &rows, err);
    if (rc == TT_OK && rows->nrows == 0)
      rc = tt_error_set(err, TT_NOTFOUND, "%s '%s' has no alias '%s'", kind, name, ref + n + 1);
    if (rc == TT_OK) v = tt__rows_int(rows, 0, 0);
    tt__rows_free(rows);
  } else {
    rc = latest_version(db, kind, name, &v, err);
  }
  if (rc == TT_OK) {
    *version = (int)v;
    if (name_out) {
      *name_out = name;
      name = NULL;
    }
  }
  free(name);
  return rc;
}

tt_err tt_registry_get(tt_registry *reg, const char *kind, const char *ref, tt_object **out,
                       tt_error *err) {
  char *name = NULL;
  int v;
  *out = NULL;
  tt_err rc = tt_registry_resolve(reg, kind, ref, &name, &v, err);
  if (rc == TT_OK) rc = fetch_version(reg->db, kind, name, v, out, err);
  free(name);
  return rc;
}

tt_err tt_registry_list(tt_registry *reg, const char *kind, const char *name, tt_object **out,
                        size_t *n, tt_error *err) {
  tt__rows *rows = NULL;
  tt_err rc;
  *out = NULL;
  *n = 0;
  if (name) {
    tt__param p[2] = {TT__TEXT(kind), TT__TEXT(name)};
    rc = reg->db->query(reg->db,
                        "SELECT " TT__OBJECT_COLUMNS
                        " FROM objects WHERE kind = $1 AND name = $2 ORDER BY version",
                        2, p, &rows, err);
  } else {
    tt__param p[1] = {TT__TEXT(kind)};
    rc = reg->db->query(reg->db,
                        "SELECT " TT__OBJECT_COLUMNS " FROM objects o WHERE kind = $1 AND version ="
                        " (SELECT MAX(version) FROM objects i WHERE i.kind = o.kind"
                        " AND i.name = o.name) ORDER BY name",
                        1, p, &rows, err);
  }
  if (rc != TT_OK) return rc;
  rc = objects_from_rows(rows, out, n, err);
  tt__rows_free(rows);
  return rc;
}

tt_err tt_registry_search(tt_registry *reg, const char *kind, const char *text, tt_object **out,
                          size_t *n, tt_error *err) {
  *out = NULL;
  *n = 0;
  /* LIKE pattern %text% with the pattern characters escaped, lower-cased
   * on both sides (PostgreSQL's LIKE is case-sensitive, SQLite's is not). */
  size_t len = strlen(text);
  char *pat = malloc(2 * len + 3);
  if (!pat) return tt_error_set(err, TT_NOMEM, "out of memory");
  size_t k = 0;
  pat[k++] = '%';
  for (size_t i = 0; i < len; i++) {
    char c = (char)tolower((unsigned char)text[i]);
    if (c == '%' || c == '_' || c == '\\') pat[k++] = '\\';
    pat[k++] = c;
  }
  pat[k++] = '%';
  pat[k] = '\0';
  tt__param p[2] = {TT__TEXT(pat), kind ? TT__TEXT(kind) : TT__NULL};
  tt__rows *rows = NULL;
  tt_err rc =
      reg->db->query(reg->db,
                     "SELECT " TT__OBJECT_COLUMNS
                     " FROM objects WHERE (CAST($2 AS TEXT) IS NULL OR kind = $2) AND ("
                     " lower(name) LIKE $1 ESCAPE '\\' OR lower(description) LIKE $1 ESCAPE '\\'"
                     " OR lower(tags) LIKE $1 ESCAPE '\\' OR lower(content) LIKE $1 ESCAPE '\\')"
                     " ORDER BY kind, name, version",
                     2, p, &rows, err);
  free(pat);
  if (rc != TT_OK) return rc;
  rc = objects_from_rows(rows, out, n, err);
  tt__rows_free(rows);
  return rc;
}

/* --- stats ---------------------------------------------------------------- */

void tt_registry_stats_free(tt_registry_kind_stats *s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++)
    free(s[i].kind);
  free(s);
}

tt_err tt_registry_stats(tt_registry *reg, int *layout_version, tt_registry_kind_stats **out,
                         size_t *n, tt_error *err) {
  tt__rows *rows = NULL;
  *out = NULL;
  *n = 0;
  *layout_version = 0;
  tt_err rc = reg->db->query(reg->db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", 0,
                             NULL, &rows, err);
  if (rc != TT_OK) return rc;
  *layout_version = (int)tt__rows_int(rows, 0, 0);
  tt__rows_free(rows);
  rows = NULL;
  rc = reg->db->query(reg->db,
                      "SELECT kind, COUNT(DISTINCT name), COUNT(*) FROM objects"
                      " GROUP BY kind ORDER BY kind",
                      0, NULL, &rows, err);
  if (rc != TT_OK) return rc;
  if (rows->nrows) {
    tt_registry_kind_stats *s = calloc(rows->nrows, sizeof *s);
    int bad = !s;
    for (size_t i = 0; s && i < rows->nrows; i++) {
      s[i].kind = strdup(tt__rows_get(rows, i, 0));
      s[i].names = (size_t)tt__rows_int(rows, i, 1);
      s[i].versions = (size_t)tt__rows_int(rows, i, 2);
      bad |= !s[i].kind;
    }
    if (bad) {
      tt_registry_stats_free(s, s ? rows->nrows : 0);
      rc = tt_error_set(err, TT_NOMEM, "out of memory");
    } else {
      *out = s;
      *n = rows->nrows;
    }
  }
  tt__rows_free(rows);
  return rc;
}

/* postgresql://user:secret@host/db?password=x → postgresql://user:***@host/db?password=*** */
char *tt_registry_url_redact(const char *url) {
  size_t len = strlen(url);
  /* each mask grows the text by at most 3 bytes: 1 + 16 of them */
  char *out = malloc(len + 17 * 3 + 1);
  if (!out) return NULL;
  size_t k = 0;
  const char *p = url;
  const char *scheme = strstr(url, "://");
  const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
  const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
  if (at && (!slash || at < slash)) {
    const char *colon = memchr(scheme + 3, ':', (size_t)(at - (scheme + 3)));
    if (colon) {
      memcpy(out, url, (size_t)(colon + 1 - url));
      k = (size_t)(colon + 1 - url);
      memcpy(out + k, "***", 3);
      k += 3;
      p = at;
    }
  }
  int masked = 0;
  while (*p) {
    /* password=VALUE in the query string */
    if (p > url && (p[-1] == '?' || p[-1] == '&') && !strncmp(p, "password=", 9) && masked < 16) {
      memcpy(out + k, "password=***", 12);
      k += 12;
      p += 9;
      while (*p && *p != '&')
        p++;
      masked++;
      continue;
    }
    out[k++] = *p++;
  }
  out[k] = '\0';
  return out;
}
