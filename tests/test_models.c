/* Model versions: fit → publish → load round trip, artefact checksums
 * (tampering refused), aliases with history, concurrent publishes, on
 * SQLite and on a throw-away PostgreSQL. */
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "telltale/models.h"
#include "telltale/registry.h"
#include "tt_test.h"

static const char *NAMES[] = {"a", "b"};

static tt_trainset *small_set(void) {
  tt_trainset *ts = tt_trainset_new(2, NAMES);
  uint64_t r = 12345;
  for (int i = 0; i < 600; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    float x[2] = {(float)((r >> 33) % 1000) / 1000.0f, (float)(i % 7)};
    float y = x[0] > 0.6f;
    char id[8];
    snprintf(id, sizeof id, "V%d", i % 20);
    CHECK_OK(tt_trainset_add(ts, id, i, x, y, i % 5 < 3 ? TT_PART_TRAIN : i % 5 == 3 ? TT_PART_VALIDATION : TT_PART_TEST));
  }
  return ts;
}

static tt_model_spec *spec(void) {
  const char *y = "name: risk\nfeatures: [{set: fs, version: abc123}]\n"
                  "label: {kind: classification, events: failures, horizon: 7d}\n"
                  "spine: {table: t}\nsplit: {by: vehicle}\n"
                  "xgboost: {rounds: 20, params: {max_depth: 2, nthread: 1}}\n"
                  "threshold: {policy: min_cost, cost_false_alarm: 1, cost_missed_failure: 5}\n";
  tt_model_spec *s;
  tt_error e;
  CHECK_OK(tt_model_spec_parse_string(y, strlen(y), "risk.yaml", &s, &e));
  return s;
}

static int publish_one(tt_registry *reg, int *version) {
  tt_trainset *ts = small_set();
  tt_model_spec *s = spec();
  tt_fit *fit;
  tt_error e;
  const char *files[] = {"lake/failures/date=2026-01-01/part-1.parquet"};
  tt_fit_context ctx = {.lake_files = files, .nlake_files = 1, .telltale_version = "test"};
  CHECK_OK(tt_fit_run(s, ts, &ctx, NULL, NULL, &fit, &e));
  tt_err rc = tt_model_publish(reg, "artifacts", s, fit, version, &e);
  tt_fit_destroy(fit);
  tt_model_spec_destroy(s);
  tt_trainset_destroy(ts);
  return rc;
}

static void roundtrip(const char *url) {
  tt_registry *reg;
  tt_error e;
  char buf[1200];
  tt_err rc = tt_registry_open(url, ".", &reg, &e);
  CHECK_MSG(rc == TT_OK, "%s", tt_error_format(&e, buf, sizeof buf));
  int v1 = 0, v2 = 0;
  CHECK_OK(publish_one(reg, &v1));
  CHECK_OK(publish_one(reg, &v2));
  CHECK_EQ_INT(v1, 1);
  CHECK_EQ_INT(v2, 2);

  tt_model *m;
  rc = tt_model_load(reg, "artifacts", "risk:1", &m, &e);
  CHECK_MSG(rc == TT_OK, "%s", tt_error_format(&e, buf, sizeof buf));
  CHECK_EQ_STR(m->name, "risk");
  CHECK_EQ_INT(m->version, 1);
  CHECK_EQ_INT(m->nfeatures, 2);
  CHECK_EQ_STR(m->feature_names[1], "b");
  CHECK_EQ_STR(m->feature_sets[0].set, "fs");
  CHECK_EQ_STR(m->feature_sets[0].version, "abc123");
  CHECK(m->threshold > 0 && m->threshold < 1);
  json_error_t je;
  json_t *rec = json_loads(m->record_json, 0, &je);
  CHECK(rec != NULL);
  CHECK(json_is_number(json_object_get(json_object_get(json_object_get(rec, "metrics"), "test"), "roc_auc")));
  CHECK_EQ_STR(json_string_value(json_object_get(rec, "telltale_version")), "test");
  CHECK_EQ_INT(json_string_length(json_object_get(json_object_get(rec, "fingerprint"), "rows_sha256")), 64);
  CHECK(json_object_get(json_object_get(rec, "profile"), "a") != NULL);
  CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(rec, "threshold"), "chosen_on")), "validation");
  /* Deterministic training: both versions share one artefact file. */
  const char *path = json_string_value(json_object_get(json_object_get(rec, "artifact"), "path"));
  char full[512];
  snprintf(full, sizeof full, "artifacts/%s", path);
  float x[2] = {0.9f, 1}, p;
  CHECK_OK(tt_booster_predict(m->booster, x, 1, 2, &p, &e));
  CHECK(p > 0.5f);
  tt_model_destroy(m);

  /* Aliases: set, move, history; resolve through them. */
  CHECK_OK(tt_registry_alias_set(reg, TT_KIND_MODEL, "risk", "production", 1, &e));
  CHECK_OK(tt_registry_alias_set(reg, TT_KIND_MODEL, "risk", "production", 2, &e));
  CHECK_OK(tt_model_load(reg, "artifacts", "risk@production", &m, &e));
  CHECK_EQ_INT(m->version, 2);
  tt_model_destroy(m);
  tt_alias_change *h;
  size_t nh;
  CHECK_OK(tt_registry_alias_history(reg, TT_KIND_MODEL, "risk", "production", &h, &nh, &e));
  CHECK_EQ_INT(nh, 2);
  CHECK_EQ_INT(h[1].old_version, 1);
  CHECK_EQ_INT(h[1].new_version, 2);
  tt_alias_changes_free(h, nh);

  /* Tamper with the artefact: one byte. Refused with a clear error. */
  FILE *f = fopen(full, "r+b");
  CHECK(f != NULL);
  fseek(f, -3, SEEK_END);
  fputc('7', f);
  fclose(f);
  rc = tt_model_load(reg, "artifacts", "risk:1", &m, &e);
  CHECK_EQ_INT(rc, TT_CHECKSUM);
  tt_error_format(&e, buf, sizeof buf);
  CHECK_STR_CONTAINS(buf, path);
  CHECK_STR_CONTAINS(buf, "refused");
  /* Missing artefact: not found, naming the file. */
  unlink(full);
  CHECK_EQ_INT(tt_model_load(reg, "artifacts", "risk:2", &m, &e), TT_NOTFOUND);
  CHECK_STR_CONTAINS(e.file, path);
  CHECK_EQ_INT(tt_model_load(reg, "artifacts", "risk:9", &m, &e), TT_NOTFOUND);
  json_decref(rec);

  /* Two processes publishing at once get distinct versions. */
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      tt_registry *r2;
      if (tt_registry_open(url, ".", &r2, NULL) != TT_OK) _exit(2);
      int v = 0;
      int rc2 = publish_one(r2, &v);
      tt_registry_close(r2);
      _exit(rc2 == TT_OK ? 0 : 1);
    }
  }
  for (int k = 0; k < 2; k++) {
    int st;
    waitpid(kids[k], &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed", k);
  }
  tt_object *list;
  size_t n;
  CHECK_OK(tt_registry_list(reg, TT_KIND_MODEL, "risk", &list, &n, &e));
  CHECK_EQ_INT(n, 4);
  for (size_t i = 0; i < n; i++) CHECK_EQ_INT(list[i].version, (int)i + 1);
  tt_objects_free(list, n);
  tt_registry_close(reg);
}

TT_TEST(models_sqlite) { roundtrip("sqlite:reg.db"); }

TT_TEST_TIMEOUT(models_postgresql, 180) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s/tests/services/postgres start pgstate %d", tt_test_source_dir(), (int)getpid());
  int st;
  char *url = tt_test_sh_out(&st, "%s", cmd);
  CHECK_MSG(st == 0 && url, "postgres did not start");
  url[strcspn(url, "\n")] = '\0';
  roundtrip(url);
  free(url);
  tt_test_sh("%s/tests/services/postgres stop pgstate", tt_test_source_dir());
}
