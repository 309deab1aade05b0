/* Feature sets in the registry: each distinct canonical definition is an
 * immutable version of kind "feature_set" (content = canonical JSON, so the
 * registry's sha256 is the set's version id), and diffs between versions. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/internal.h"
#include "telltale/registry.h"

tt_err tt_feature_set_register(tt_registry *reg, const tt_feature_set *fs, int *version,
                               int *created, tt_error *err) {
  tt_object_spec spec = {.kind = TT_KIND_FEATURE_SET,
                         .name = fs->name,
                         .content = fs->json,
                         .description = fs->description,
                         .tags = fs->tags,
                         .ntags = fs->ntags};
  tt_object *obj = NULL;
  tt_err rc = tt_registry_put(reg, &spec, TT_REGISTRY_DEDUP, NULL, NULL, &obj, created, err);
  if (rc == TT_OK && version) *version = obj->version;
  tt_object_free(obj);
  return rc;
}

/* Growing report text. */
typedef struct rbuf {
  char *p;
  size_t len, cap;
  int oom;
} rbuf;

static void rb_printf(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rb_printf(rbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  char tmp[1024];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t add = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + add + 1)
      cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->len, tmp, add);
  b->len += add;
  b->p[b->len] = '\0';
}

static char *dump(json_t *v) {
  return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : strdup("null");
}

static void describe(rbuf *b, char sign, json_t *f) {
  const char *col = json_string_value(json_object_get(f, "column"));
  const char *code = json_string_value(json_object_get(f, "code"));
  const char *enc = json_string_value(json_object_get(f, "encode"));
  if (enc) { /* an attribute */
    rb_printf(b, "%c attribute %s: %s of %s.%s as of %s\n", sign,
              json_string_value(json_object_get(f, "name")), enc,
              json_string_value(json_object_get(f, "table")), col ? col : "?",
              json_string_value(json_object_get(f, "time")));
    return;
  }
  rb_printf(b, "%c feature %s: %s of %s.%s%s%s over %lld\n", sign,
            json_string_value(json_object_get(f, "name")),
            json_string_value(json_object_get(f, "agg")),
            json_string_value(json_object_get(f, "table")), col && *col ? col : "*",
            code && *code ? " code " : "", code && *code ? code : "",
            (long long)json_integer_value(json_object_get(f, "window")));
}

/* Added, removed and changed entries of one list ("features", "attributes"). */
static void diff_list(rbuf *r, json_t *a, json_t *b, const char *list, const char *what) {
  json_t *fa = json_object_get(a, list), *fb = json_object_get(b, list);
  size_t i, j;
  json_t *f, *g;
  json_array_foreach(fa, i, f) {
    const char *name = json_string_value(json_object_get(f, "name"));
    int found = 0;
    json_array_foreach(fb, j, g) {
      if (strcmp(name, json_string_value(json_object_get(g, "name")))) continue;
      found = 1;
      const char *k;
      json_t *v;
      json_object_foreach(f, k, v) {
        char *x = dump(v), *y = dump(json_object_get(g, k));
        if (x && y && strcmp(x, y)) rb_printf(r, "~ %s %s: %s %s -> %s\n", what, name, k, x, y);
        free(x);
        free(y);
      }
    }
    if (!found) describe(r, '-', f);
  }
  json_array_foreach(fb, j, g) {
    const char *name = json_string_value(json_object_get(g, "name"));
    int found = 0;
    json_array_foreach(fa, i, f) found |=
        !strcmp(name, json_string_value(json_object_get(f, "name")));
    if (!found) describe(r, '+', g);
  }
}

tt_err tt_feature_set_diff(const char *old_json, const char *new_json, char **report,
                           tt_error *err) {
  *report = NULL;
  json_error_t je;
  json_t *a = json_loads(old_json, 0, &je), *b = NULL;
  if (!a) return tt_error_set(err, TT_PARSE, "old definition: %s", je.text);
  if (!(b = json_loads(new_json, 0, &je))) {
    json_decref(a);
    return tt_error_set(err, TT_PARSE, "new definition: %s", je.text);
  }
  rbuf r = {0};
  rb_printf(&r, "%s", "");
  static const char *keys[] = {"name", "description", "tags",        "entity", "time",
                               "axis", "source",      "code_column", "filter", "tile"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    char *x = dump(json_object_get(a, keys[i])), *y = dump(json_object_get(b, keys[i]));
    if (x && y && strcmp(x, y)) rb_printf(&r, "~ %s: %s -> %s\n", keys[i], x, y);
    free(x);
    free(y);
  }
  diff_list(&r, a, b, "features", "feature");
  diff_list(&r, a, b, "attributes", "attribute");
  json_decref(a);
  json_decref(b);
  if (r.oom) {
    free(r.p);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  *report = r.p;
  return TT_OK;
}
