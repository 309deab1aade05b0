/* The registry, with every case run against both backends: SQLite (a file
 * in the test's temp dir) and a real PostgreSQL server started for the test
 * by tests/services/postgres (and stopped at its end). */
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "telltale/project.h"
#include "telltale/registry.h"
#include "tt_test.h"

/* --- backends ------------------------------------------------------------ */

static char g_pg_state[PATH_MAX + 8];

static char *start_postgres(void) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) tt_test_fail(__FILE__, __LINE__, "getcwd");
  snprintf(g_pg_state, sizeof g_pg_state, "%s/pg", cwd);
  int st = 0;
  char *url = tt_test_sh_out(&st, "'%s/tests/services/postgres' start '%s' %d",
                             tt_test_source_dir(), g_pg_state, (int)getpid());
  CHECK_MSG(st == 0 && url && !strncmp(url, "postgresql://", 13), "postgres did not start: %s",
            url ? url : "");
  url[strcspn(url, "\n")] = '\0';
  return url;
}

static void stop_postgres(void) {
  CHECK_EQ_INT(
      tt_test_sh("'%s/tests/services/postgres' stop '%s'", tt_test_source_dir(), g_pg_state), 0);
}

static tt_registry *open_reg(const char *url) {
  tt_registry *reg = NULL;
  tt_error e;
  tt_error_clear(&e);
  if (tt_registry_open(url, ".", &reg, &e) != TT_OK) {
    char buf[1200];
    tt_test_fail(__FILE__, __LINE__, "open %s: %s", url, tt_error_format(&e, buf, sizeof buf));
  }
  return reg;
}

/* Each case is a function of the registry URL, registered twice. */
#define REGISTRY_TEST(name)                                                                        \
  static void case_##name(const char *url);                                                        \
  TT_TEST(name##_sqlite) { case_##name("sqlite:registry.db"); }                                    \
  TT_TEST(name##_postgres) {                                                                       \
    char *url = start_postgres();                                                                  \
    case_##name(url);                                                                              \
    stop_postgres();                                                                               \
    free(url);                                                                                     \
  }                                                                                                \
  static void case_##name(const char *url)

static tt_object *put(tt_registry *reg, const char *kind, const char *name, const char *content,
                      int flags, int *created) {
  tt_object_spec spec = {.kind = kind, .name = name, .content = content, .description = "d"};
  tt_object *o = NULL;
  tt_error e;
  tt_error_clear(&e);
  if (tt_registry_put(reg, &spec, flags, NULL, NULL, &o, created, &e) != TT_OK) {
    char buf[1200];
    tt_test_fail(__FILE__, __LINE__, "put: %s", tt_error_format(&e, buf, sizeof buf));
  }
  return o;
}

/* --- cases --------------------------------------------------------------- */

REGISTRY_TEST(objects_versions_and_dedup) {
  tt_registry *reg = open_reg(url);
  int created = -1;
  tt_object *o = put(reg, TT_KIND_FEATURE_SET, "battery", "{}", TT_REGISTRY_DEDUP, &created);
  CHECK_EQ_INT(o->version, 1);
  CHECK_EQ_INT(created, 1);
  CHECK_EQ_STR(o->sha256, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  CHECK_EQ_STR(o->kind, "feature_set");
  CHECK_EQ_STR(o->description, "d");
  const char *user = getenv("USER");
  if (user && *user) CHECK_EQ_STR(o->created_by, user);
  CHECK(o->created_at > 0);
  tt_object_free(o);
  /* Identical content: the existing version comes back. */
  o = put(reg, TT_KIND_FEATURE_SET, "battery", "{}", TT_REGISTRY_DEDUP, &created);
  CHECK_EQ_INT(o->version, 1);
  CHECK_EQ_INT(created, 0);
  tt_object_free(o);
  o = put(reg, TT_KIND_FEATURE_SET, "battery", "{\"w\":2}", TT_REGISTRY_DEDUP, &created);
  CHECK_EQ_INT(o->version, 2);
  CHECK_EQ_INT(created, 1);
  tt_object_free(o);
  /* Without DEDUP every put is a new version (models: each run is one). */
  o = put(reg, TT_KIND_FEATURE_SET, "battery", "{}", 0, &created);
  CHECK_EQ_INT(o->version, 3);
  tt_object_free(o);
  /* Versions count per (kind, name). */
  o = put(reg, TT_KIND_MODEL, "battery", "{}", 0, NULL);
  CHECK_EQ_INT(o->version, 1);
  tt_object_free(o);
  o = put(reg, TT_KIND_FEATURE_SET, "brakes", "{}", 0, NULL);
  CHECK_EQ_INT(o->version, 1);
  tt_object_free(o);

  tt_error e;
  CHECK_OK(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery", &o, &e));
  CHECK_EQ_INT(o->version, 3);
  tt_object_free(o);
  CHECK_OK(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery:2", &o, &e));
  CHECK_EQ_STR(o->content, "{\"w\":2}");
  tt_object_free(o);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery:9", &o, &e), TT_NOTFOUND);
  CHECK(o == NULL);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_FEATURE_SET, "nothing", &o, &e), TT_NOTFOUND);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery:x", &o, &e), TT_INVALID);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery:0", &o, &e), TT_INVALID);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_FEATURE_SET, "bad name", &o, &e), TT_INVALID);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery@none", &o, &e), TT_NOTFOUND);

  tt_object *list;
  size_t n;
  CHECK_OK(tt_registry_list(reg, TT_KIND_FEATURE_SET, NULL, &list, &n, &e));
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_STR(list[0].name, "battery");
  CHECK_EQ_INT(list[0].version, 3);
  CHECK_EQ_STR(list[1].name, "brakes");
  tt_objects_free(list, n);
  CHECK_OK(tt_registry_list(reg, TT_KIND_FEATURE_SET, "battery", &list, &n, &e));
  CHECK_EQ_INT(n, 3);
  for (size_t i = 0; i < n; i++)
    CHECK_EQ_INT(list[i].version, (int)i + 1);
  tt_objects_free(list, n);
  CHECK_OK(tt_registry_list(reg, "nothing_here", NULL, &list, &n, &e));
  CHECK_EQ_INT(n, 0);
  CHECK(list == NULL);

  /* Bad names and kinds are refused before touching the database. */
  tt_object_spec bad = {.kind = "model", .name = "a:b", .content = "{}"};
  CHECK_EQ_INT(tt_registry_put(reg, &bad, 0, NULL, NULL, NULL, NULL, &e), TT_INVALID);
  CHECK_EQ_STR(e.field, "name");
  bad.name = "ok";
  bad.kind = "Model";
  CHECK_EQ_INT(tt_registry_put(reg, &bad, 0, NULL, NULL, NULL, NULL, &e), TT_INVALID);
  tt_registry_close(reg);

  /* Everything is still there after reopening (and migration is a no-op). */
  reg = open_reg(url);
  CHECK_OK(tt_registry_get(reg, TT_KIND_FEATURE_SET, "battery", &o, &e));
  CHECK_EQ_INT(o->version, 3);
  tt_object_free(o);
  tt_registry_close(reg);
}

REGISTRY_TEST(search_and_tags) {
  tt_registry *reg = open_reg(url);
  const char *tags[] = {"Battery", "electrical"};
  tt_object_spec a = {.kind = "feature_set",
                      .name = "starter",
                      .content = "{\"signal\":\"cranking_voltage_v\"}",
                      .description = "Starter health",
                      .tags = tags,
                      .ntags = 2};
  tt_object_spec b = {.kind = "feature_set",
                      .name = "tyres",
                      .content = "{\"signal\":\"tyre_pressure\"}",
                      .description = "100% pressure"};
  tt_object_spec c = {.kind = "model", .name = "starter_risk", .content = "{}", .description = ""};
  tt_error e;
  tt_object *o = NULL;
  CHECK_OK(tt_registry_put(reg, &a, 0, NULL, NULL, &o, NULL, &e));
  CHECK_EQ_INT(o->ntags, 2);
  CHECK_EQ_STR(o->tags[0], "Battery");
  CHECK_EQ_STR(o->tags[1], "electrical");
  tt_object_free(o);
  CHECK_OK(tt_registry_put(reg, &b, 0, NULL, NULL, NULL, NULL, &e));
  CHECK_OK(tt_registry_put(reg, &c, 0, NULL, NULL, NULL, NULL, &e));
  static const struct {
    const char *kind, *text;
    size_t n;
    const char *first;
  } q[] = {
      {NULL, "starter", 2, "starter"},          /* name, two kinds */
      {"feature_set", "starter", 1, "starter"}, /* kind filter */
      {NULL, "STARTER HEALTH", 1, "starter"},   /* description, any case */
      {NULL, "battery", 1, "starter"},          /* tag */
      {NULL, "cranking_volt", 1, "starter"},    /* content */
      {NULL, "100%", 1, "tyres"},               /* % is literal */
      {NULL, "1_0", 0, NULL},                   /* _ is literal */
      {NULL, "nothing like it", 0, NULL},
  };
  for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
    tt_object *res;
    size_t n;
    CHECK_OK(tt_registry_search(reg, q[i].kind, q[i].text, &res, &n, &e));
    CHECK_MSG(n == q[i].n, "search %zu '%s': %zu results, want %zu", i, q[i].text, n, q[i].n);
    if (n) CHECK_EQ_STR(res[0].name, q[i].first);
    tt_objects_free(res, n);
  }
  tt_registry_close(reg);
}

REGISTRY_TEST(aliases_and_history) {
  tt_registry *reg = open_reg(url);
  tt_error e;
  for (int i = 0; i < 3; i++) {
    char content[32];
    snprintf(content, sizeof content, "{\"run\":%d}", i);
    tt_object_free(put(reg, TT_KIND_MODEL, "m", content, 0, NULL));
  }
  CHECK_OK(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "production", 1, &e));
  CHECK_OK(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "staging", 3, &e));
  tt_object *o;
  CHECK_OK(tt_registry_get(reg, TT_KIND_MODEL, "m@production", &o, &e));
  CHECK_EQ_INT(o->version, 1);
  tt_object_free(o);
  CHECK_OK(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "production", 2, &e)); /* move */
  CHECK_OK(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "production", 2, &e)); /* no-op */
  int v;
  char *name;
  CHECK_OK(tt_registry_resolve(reg, TT_KIND_MODEL, "m@production", &name, &v, &e));
  CHECK_EQ_INT(v, 2);
  CHECK_EQ_STR(name, "m");
  free(name);
  CHECK_EQ_INT(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "production", 7, &e), TT_NOTFOUND);
  CHECK_EQ_INT(tt_registry_alias_set(reg, TT_KIND_MODEL, "nope", "production", 1, &e), TT_NOTFOUND);
  CHECK_EQ_INT(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "9lives", 1, &e), TT_INVALID);
  CHECK_EQ_INT(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "a:b", 1, &e), TT_INVALID);
  CHECK_OK(tt_registry_alias_delete(reg, TT_KIND_MODEL, "m", "staging", &e));
  CHECK_EQ_INT(tt_registry_alias_delete(reg, TT_KIND_MODEL, "m", "staging", &e), TT_NOTFOUND);
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_MODEL, "m@staging", &o, &e), TT_NOTFOUND);

  tt_alias *al;
  size_t n;
  CHECK_OK(tt_registry_alias_list(reg, TT_KIND_MODEL, "m", &al, &n, &e));
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_STR(al[0].alias, "production");
  CHECK_EQ_INT(al[0].version, 2);
  CHECK(al[0].updated_at > 0 && al[0].updated_by[0]);
  tt_aliases_free(al, n);

  tt_alias_change *h;
  CHECK_OK(tt_registry_alias_history(reg, TT_KIND_MODEL, "m", NULL, &h, &n, &e));
  CHECK_EQ_INT(n, 4);
  static const struct {
    const char *alias;
    int old_v, new_v;
  } want[] = {{"production", 0, 1}, {"staging", 0, 3}, {"production", 1, 2}, {"staging", 3, 0}};
  for (size_t i = 0; i < n; i++) {
    CHECK_EQ_STR(h[i].alias, want[i].alias);
    CHECK_EQ_INT(h[i].old_version, want[i].old_v);
    CHECK_EQ_INT(h[i].new_version, want[i].new_v);
    CHECK_EQ_INT(h[i].seq, (int64_t)i + 1);
    CHECK(h[i].changed_at > 0 && h[i].changed_by[0]);
    if (i) CHECK(h[i].changed_at >= h[i - 1].changed_at);
  }
  tt_alias_changes_free(h, n);
  CHECK_OK(tt_registry_alias_history(reg, TT_KIND_MODEL, "m", "production", &h, &n, &e));
  CHECK_EQ_INT(n, 2);
  tt_alias_changes_free(h, n);
  tt_registry_close(reg);
}

static tt_schema *schema_of(const char *yaml) {
  tt_schema *s = NULL;
  tt_error e;
  tt_error_clear(&e);
  if (tt_schema_parse_string(yaml, strlen(yaml), "s.yaml", &s, &e) != TT_OK)
    tt_test_fail(__FILE__, __LINE__, "parse: %s", e.msg);
  return s;
}

#define S_HEAD                                                                                     \
  "name: fleet\ntables:\n  t:\n    kind: telemetry\n    entity: v\n    time: ts\n    columns:\n"   \
  "      - {name: v, type: string}\n      - {name: ts, type: timestamp}\n"

REGISTRY_TEST(schema_evolution) {
  tt_registry *reg = open_reg(url);
  tt_error e;
  int created;
  char *report;
  tt_schema *s1 = schema_of(S_HEAD "      - {name: x, type: double}\n");
  CHECK_OK(tt_registry_schema_register(reg, s1, 0, &created, &report, &e));
  CHECK_EQ_INT(tt_schema_version(s1), 1);
  CHECK_EQ_INT(created, 1);
  CHECK_EQ_STR(report, "");
  free(report);
  /* The same again: same version, nothing new. */
  tt_schema *s1b = schema_of(S_HEAD "      - {name: x, type: float}\n");
  CHECK_OK(tt_registry_schema_register(reg, s1b, 0, &created, &report, &e));
  CHECK_EQ_INT(tt_schema_version(s1b), 1);
  CHECK_EQ_INT(created, 0);
  free(report);
  /* A compatible change: a new version, with the diff. */
  tt_schema *s2 =
      schema_of(S_HEAD "      - {name: x, type: double}\n      - {name: y, type: int64}\n");
  CHECK_OK(tt_registry_schema_register(reg, s2, 0, &created, &report, &e));
  CHECK_EQ_INT(tt_schema_version(s2), 2);
  CHECK_EQ_STR(report, "+ table t column y (int64, optional)\n");
  free(report);
  /* Incompatible: refused with the diff, nothing stored. */
  tt_schema *s3 = schema_of(S_HEAD "      - {name: y, type: int64}\n");
  CHECK_EQ_INT(tt_registry_schema_register(reg, s3, 0, &created, &report, &e), TT_INCOMPATIBLE);
  CHECK_EQ_STR(report, "- table t column x (double)  [incompatible]\n");
  CHECK_STR_CONTAINS(e.msg, "incompatible change to schema fleet (latest version 2)");
  free(report);
  tt_schema *got;
  CHECK_OK(tt_registry_schema_get(reg, "fleet", &got, &e));
  CHECK_EQ_INT(tt_schema_version(got), 2);
  tt_schema_destroy(got);
  /* Forced: stored as version 3. */
  CHECK_OK(tt_registry_schema_register(reg, s3, 1, &created, &report, &e));
  CHECK_EQ_INT(tt_schema_version(s3), 3);
  CHECK_EQ_INT(created, 1);
  free(report);
  CHECK_OK(tt_registry_schema_get(reg, "fleet:1", &got, &e));
  CHECK_EQ_INT(tt_schema_version(got), 1);
  char *a = tt_schema_to_json(got), *b = tt_schema_to_json(s1);
  CHECK_EQ_STR(a, b);
  free(a);
  free(b);
  tt_schema_destroy(got);
  CHECK_OK(tt_registry_schema_get(reg, "fleet", &got, &e));
  CHECK_EQ_INT(tt_schema_version(got), 3);
  CHECK(tt_schema_table(got, "t") && tt_table_column_index(tt_schema_table(got, "t"), "x") < 0);
  tt_schema_destroy(got);
  CHECK_EQ_INT(tt_registry_schema_get(reg, "fleet:4", &got, &e), TT_NOTFOUND);
  /* The example schema registers, and is found by a table name. */
  tt_schema *ex = schema_of(tt_project_example_schema());
  tt_schema_destroy(s1);
  s1 = NULL;
  tt_object *res;
  size_t n;
  /* It drops table t of the schema above, hence force. */
  CHECK_EQ_INT(tt_registry_schema_register(reg, ex, 0, &created, NULL, &e), TT_INCOMPATIBLE);
  CHECK_OK(tt_registry_schema_register(reg, ex, 1, &created, NULL, &e));
  CHECK_EQ_INT(tt_schema_version(ex), 4);
  tt_schema_destroy(ex);
  CHECK_OK(tt_registry_search(reg, TT_KIND_SCHEMA, "maintenance", &res, &n, &e));
  CHECK_EQ_INT(n, 1);
  tt_objects_free(res, n);
  tt_schema_destroy(s1b);
  tt_schema_destroy(s2);
  tt_schema_destroy(s3);
  tt_registry_close(reg);
}

/* Several processes register versions of one name at the same time: every
 * registration gets its own version, none is lost, and identical content
 * registered concurrently ends up as one version. */
#define NPROC 4
#define PER_PROC 15
REGISTRY_TEST(concurrent_registration) {
  /* The registry does not exist yet: the children also race to create it. */
  int go[2];
  CHECK(pipe(go) == 0);
  pid_t pids[NPROC];
  for (int p = 0; p < NPROC; p++) {
    pids[p] = fork();
    CHECK(pids[p] >= 0);
    if (pids[p] == 0) {
      close(go[1]);
      char c;
      if (read(go[0], &c, 1) < 0) _exit(3); /* start together: EOF when the parent closes */
      tt_registry *reg = NULL;
      tt_error e;
      if (tt_registry_open(url, ".", &reg, &e) != TT_OK) {
        fprintf(stderr, "child open: %s\n", e.msg);
        _exit(1);
      }
      for (int i = 0; i < PER_PROC; i++) {
        char content[64];
        snprintf(content, sizeof content, "{\"proc\":%d,\"i\":%d}", p, i);
        tt_object_spec spec = {.kind = "feature_set", .name = "shared", .content = content};
        if (tt_registry_put(reg, &spec, TT_REGISTRY_DEDUP, NULL, NULL, NULL, NULL, &e) != TT_OK) {
          fprintf(stderr, "child put: %s\n", e.msg);
          _exit(1);
        }
        tt_object_spec same = {.kind = "feature_set", .name = "same", .content = "{\"same\":1}"};
        if (tt_registry_put(reg, &same, TT_REGISTRY_DEDUP, NULL, NULL, NULL, NULL, &e) != TT_OK) {
          fprintf(stderr, "child put same: %s\n", e.msg);
          _exit(1);
        }
        if (tt_registry_alias_set(reg, "feature_set", "same", "live", 1, &e) != TT_OK) {
          fprintf(stderr, "child alias: %s\n", e.msg);
          _exit(1);
        }
      }
      tt_registry_close(reg);
      _exit(0);
    }
  }
  close(go[0]);
  close(go[1]);
  for (int p = 0; p < NPROC; p++) {
    int st;
    CHECK(waitpid(pids[p], &st, 0) == pids[p]);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed", p);
  }
  tt_registry *reg = open_reg(url);
  tt_object *list;
  size_t n;
  tt_error e;
  CHECK_OK(tt_registry_list(reg, "feature_set", "shared", &list, &n, &e));
  CHECK_EQ_INT(n, NPROC * PER_PROC);
  int seen[NPROC][PER_PROC] = {{0}};
  for (size_t i = 0; i < n; i++) {
    CHECK_EQ_INT(list[i].version, (int)i + 1);
    int p, k;
    CHECK(sscanf(list[i].content, "{\"proc\":%d,\"i\":%d}", &p, &k) == 2);
    CHECK(p >= 0 && p < NPROC && k >= 0 && k < PER_PROC);
    seen[p][k]++;
  }
  for (int p = 0; p < NPROC; p++)
    for (int k = 0; k < PER_PROC; k++)
      CHECK_EQ_INT(seen[p][k], 1);
  tt_objects_free(list, n);
  CHECK_OK(tt_registry_list(reg, "feature_set", "same", &list, &n, &e));
  CHECK_EQ_INT(n, 1);
  tt_objects_free(list, n);
  tt_alias_change *h;
  CHECK_OK(tt_registry_alias_history(reg, "feature_set", "same", NULL, &h, &n, &e));
  CHECK_EQ_INT(n, 1); /* set once; the other NPROC*PER_PROC-1 sets were no-ops */
  tt_alias_changes_free(h, n);
  tt_registry_close(reg);
}

/* --- backend-specific ------------------------------------------------------ */

TT_TEST(open_urls) {
  tt_registry *reg = NULL;
  tt_error e;
  tt_error_clear(&e);
  CHECK_EQ_INT(tt_registry_open("mysql://x", ".", &reg, &e), TT_CONFIG);
  CHECK_EQ_STR(e.field, "registry");
  CHECK_EQ_INT(tt_registry_open("sqlite:", ".", &reg, &e), TT_CONFIG);
  CHECK_EQ_INT(tt_registry_open("sqlite:no/such/dir/r.db", ".", &reg, &e), TT_DB);
  CHECK_STR_CONTAINS(e.file, "no/such/dir/r.db");
  /* A port nobody listens on (1 is privileged and unused here). */
  CHECK_EQ_INT(tt_registry_open("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2", ".",
                                &reg, &e),
               TT_DB);
  CHECK_STR_CONTAINS(e.msg, "cannot connect");
  CHECK(reg == NULL);
  /* Relative sqlite paths are relative to the project directory. */
  CHECK(system("mkdir -p proj") == 0);
  CHECK_OK(tt_registry_open("sqlite:meta.db", "proj", &reg, &e));
  CHECK_EQ_STR(tt_registry_backend(reg), "sqlite");
  tt_registry_close(reg);
  CHECK(access("proj/meta.db", F_OK) == 0);
}

TT_TEST(migration_version_recorded) {
  tt_registry *reg = NULL;
  tt_error e;
  CHECK_OK(tt_registry_open("sqlite:r.db", ".", &reg, &e));
  tt_registry_close(reg);
  CHECK_OK(tt_registry_open("sqlite:r.db", ".", &reg, &e));
  tt_registry_close(reg);
  sqlite3 *db;
  CHECK(sqlite3_open("r.db", &db) == SQLITE_OK);
  sqlite3_stmt *st;
  CHECK(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(version) FROM schema_version", -1, &st,
                           NULL) == SQLITE_OK);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  CHECK_EQ_INT(sqlite3_column_int(st, 0), TT_REGISTRY_SCHEMA_VERSION); /* one row each */
  CHECK_EQ_INT(sqlite3_column_int(st, 1), TT_REGISTRY_SCHEMA_VERSION);
  sqlite3_finalize(st);
  /* A registry of layout 1 (before the dedup index) is upgraded on open,
   * keeping its data. */
  CHECK(sqlite3_exec(db,
                     "DROP INDEX objects_sha256_version;"
                     "CREATE INDEX objects_sha256 ON objects (kind, name, sha256);"
                     "DELETE FROM schema_version WHERE version > 1;"
                     "INSERT INTO names VALUES ('model', 'm', 1, 0);"
                     "INSERT INTO objects VALUES ('model', 'm', 1, '{}', 'x', 0, 'u', '', '[]');",
                     NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(db);
  CHECK_OK(tt_registry_open("sqlite:r.db", ".", &reg, &e));
  tt_object *o = NULL;
  CHECK_OK(tt_registry_get(reg, TT_KIND_MODEL, "m", &o, &e));
  CHECK_EQ_INT(o->version, 1);
  tt_object_free(o);
  tt_registry_close(reg);
  CHECK(sqlite3_open("r.db", &db) == SQLITE_OK);
  CHECK(sqlite3_prepare_v2(
            db,
            "SELECT (SELECT MAX(version) FROM schema_version),"
            " (SELECT COUNT(*) FROM sqlite_master WHERE name = 'objects_sha256_version')",
            -1, &st, NULL) == SQLITE_OK);
  CHECK(sqlite3_step(st) == SQLITE_ROW);
  CHECK_EQ_INT(sqlite3_column_int(st, 0), TT_REGISTRY_SCHEMA_VERSION);
  CHECK_EQ_INT(sqlite3_column_int(st, 1), 1);
  sqlite3_finalize(st);
  /* A registry written by a newer telltale is refused, not misread. */
  CHECK(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", NULL, NULL, NULL) ==
        SQLITE_OK);
  sqlite3_close(db);
  CHECK_EQ_INT(tt_registry_open("sqlite:r.db", ".", &reg, &e), TT_DB);
  CHECK_STR_CONTAINS(e.msg, "newer than this telltale");
}

TT_TEST(postgres_backend_name) {
  char *url = start_postgres();
  tt_registry *reg = open_reg(url);
  CHECK_EQ_STR(tt_registry_backend(reg), "postgresql");
  tt_registry_close(reg);
  stop_postgres();
  free(url);
}

/* The server going away mid-session is an error to report, not a crash;
 * nothing half-written is left (each registration is one transaction). */
TT_TEST(postgres_goes_away) {
  char *url = start_postgres();
  tt_registry *reg = open_reg(url);
  tt_object_free(put(reg, TT_KIND_MODEL, "m", "{}", 0, NULL));
  stop_postgres();
  tt_object_spec spec = {.kind = TT_KIND_MODEL, .name = "m", .content = "{\"a\":1}"};
  tt_error e;
  tt_error_clear(&e);
  CHECK_EQ_INT(tt_registry_put(reg, &spec, 0, NULL, NULL, NULL, NULL, &e), TT_DB);
  CHECK_STR_CONTAINS(e.msg, "postgresql:");
  tt_object *o = NULL;
  CHECK_EQ_INT(tt_registry_get(reg, TT_KIND_MODEL, "m", &o, &e), TT_DB);
  CHECK(o == NULL);
  CHECK_EQ_INT(tt_registry_alias_set(reg, TT_KIND_MODEL, "m", "production", 1, &e), TT_DB);
  tt_registry_close(reg);
  free(url);
}

/* A check callback that refuses leaves no version behind and gives the
 * number back. */
static tt_err refuse(const tt_object *latest, const char *content, void *ud, tt_error *err) {
  (void)content;
  *(int *)ud = latest ? latest->version : 0;
  return tt_error_set(err, TT_INCOMPATIBLE, "refused");
}

REGISTRY_TEST(check_callback_refusal) {
  tt_registry *reg = open_reg(url);
  tt_object_free(put(reg, TT_KIND_FEATURE_SET, "f", "{}", 0, NULL));
  tt_object_spec spec = {.kind = TT_KIND_FEATURE_SET, .name = "f", .content = "{\"x\":1}"};
  tt_error e;
  int seen = -1;
  CHECK_EQ_INT(tt_registry_put(reg, &spec, 0, refuse, &seen, NULL, NULL, &e), TT_INCOMPATIBLE);
  CHECK_EQ_INT(seen, 1); /* the callback saw the latest version */
  tt_object *o = put(reg, TT_KIND_FEATURE_SET, "f", "{\"y\":1}", 0, NULL);
  CHECK_EQ_INT(o->version, 2); /* not 3: the refused one left no gap */
  tt_object_free(o);
  tt_registry_close(reg);
}

TT_TEST(url_redact) {
  static const struct {
    const char *in, *out;
  } c[] = {
      {"sqlite:telltale.db", "sqlite:telltale.db"},
      {"postgresql://u@h:5432/db", "postgresql://u@h:5432/db"},
      {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
      {"postgresql://u:@h/db", "postgresql://u:***@h/db"},
      {"postgresql://h/db?password=x&sslmode=require",
       "postgresql://h/db?password=***&sslmode=require"},
      {"postgresql://u:p@h/db?sslmode=require&password=x",
       "postgresql://u:***@h/db?sslmode=require&password=***"},
      {"postgresql://h/db?user=a@b", "postgresql://h/db?user=a@b"},
  };
  for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
    char *r = tt_registry_url_redact(c[i].in);
    CHECK_EQ_STR(r, c[i].out);
    free(r);
  }
}

REGISTRY_TEST(stats_per_kind) {
  tt_registry *reg = open_reg(url);
  tt_object_free(put(reg, TT_KIND_MODEL, "a", "{}", 0, NULL));
  tt_object_free(put(reg, TT_KIND_MODEL, "a", "{}", 0, NULL));
  tt_object_free(put(reg, TT_KIND_MODEL, "b", "{}", 0, NULL));
  tt_object_free(put(reg, TT_KIND_SCHEMA, "a", "{}", 0, NULL));
  int layout;
  tt_registry_kind_stats *st;
  size_t n;
  tt_error e;
  CHECK_OK(tt_registry_stats(reg, &layout, &st, &n, &e));
  CHECK_EQ_INT(layout, TT_REGISTRY_SCHEMA_VERSION);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_STR(st[0].kind, "model");
  CHECK_EQ_INT(st[0].names, 2);
  CHECK_EQ_INT(st[0].versions, 3);
  CHECK_EQ_STR(st[1].kind, "schema");
  CHECK_EQ_INT(st[1].versions, 1);
  tt_registry_stats_free(st, n);
  tt_registry_close(reg);
}
