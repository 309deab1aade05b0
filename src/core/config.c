/* Configuration: defaults < telltale.yaml < TELLTALE_* < flags.
 * See include/telltale/config.h and src/core/config_props.h. */
#include "telltale/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "telltale/time.h"
#include "core/config_props.h"

static const tt_config_property g_props[] = {
#define TT_PROP_(name, kind, def, min, max, choices, desc) {name, kind, def, min, max, choices, desc},
    TT_CONFIG_PROPERTIES(TT_PROP_)
#undef TT_PROP_
};
#define NPROPS (sizeof g_props / sizeof *g_props)

struct tt_config {
  char *project_dir;
  char *file;
  char *values[NPROPS];
  tt_config_source sources[NPROPS];
};

size_t tt_config_property_count(void) { return NPROPS; }
const tt_config_property *tt_config_property_at(size_t i) { return i < NPROPS ? &g_props[i] : NULL; }

static int prop_index(const char *key) {
  for (size_t i = 0; i < NPROPS; i++)
    if (!strcmp(g_props[i].name, key)) return (int)i;
  return -1;
}

const tt_config_property *tt_config_property_find(const char *key) {
  int i = prop_index(key);
  return i < 0 ? NULL : &g_props[i];
}

const char *tt_config_source_name(tt_config_source src) {
  switch (src) {
  case TT_CONFIG_DEFAULT: return "default";
  case TT_CONFIG_FILE: return "file";
  case TT_CONFIG_ENV: return "env";
  case TT_CONFIG_FLAG: return "flag";
  }
  return "?";
}

static int enum_has(const char *choices, const char *v) {
  size_t n = strlen(v);
  for (const char *p = choices; p && *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, v, n)) return 1;
    p = bar ? bar + 1 : NULL;
  }
  return 0;
}

static int parse_bool(const char *v) {
  if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1")) return 1;
  if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0")) return 0;
  return -1;
}

static tt_err validate(const tt_config_property *p, const char *v, tt_error *err) {
  switch (p->kind) {
  case TT_CONFIG_INT: {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
      return tt_error_set(err, TT_CONFIG, "'%s' is not an integer", v);
    if (x < p->min || x > p->max)
      return tt_error_set(err, TT_CONFIG, "%lld is out of range [%lld, %lld]", x,
                          (long long)p->min, (long long)p->max);
    break;
  }
  case TT_CONFIG_DURATION: {
    int64_t us;
    if (tt_duration_parse(v, &us))
      return tt_error_set(err, TT_CONFIG, "'%s' is not a duration (e.g. 500ms, 30s, 5m)", v);
    break;
  }
  case TT_CONFIG_ENUM:
    if (!enum_has(p->choices, v))
      return tt_error_set(err, TT_CONFIG, "'%s' is not one of %s", v, p->choices);
    break;
  case TT_CONFIG_BOOL:
    if (parse_bool(v) < 0) return tt_error_set(err, TT_CONFIG, "'%s' is not true or false", v);
    break;
  case TT_CONFIG_URL:
    if (!strchr(v, ':')) return tt_error_set(err, TT_CONFIG, "'%s' is not a URL (scheme:…)", v);
    break;
  default:
    break;
  }
  return TT_OK;
}

tt_err tt_config_set(tt_config *cfg, const char *key, const char *value, tt_config_source src,
                     tt_error *err) {
  int i = prop_index(key);
  if (i < 0) {
    tt_error_set(err, TT_CONFIG, "unknown configuration key (see `telltale config show`)");
    return tt_error_at(err, NULL, 0, key);
  }
  if (validate(&g_props[i], value, err) != TT_OK) return tt_error_at(err, NULL, 0, key);
  char *copy = strdup(value);
  if (!copy) return tt_error_set(err, TT_NOMEM, "out of memory");
  free(cfg->values[i]);
  cfg->values[i] = copy;
  cfg->sources[i] = src;
  return TT_OK;
}

/* Walk a YAML mapping, flattening nested keys with dots. */
static tt_err load_mapping(tt_config *cfg, yaml_document_t *doc, yaml_node_t *map,
                           const char *prefix, tt_error *err) {
  for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
       pair++) {
    yaml_node_t *k = yaml_document_get_node(doc, pair->key);
    yaml_node_t *v = yaml_document_get_node(doc, pair->value);
    if (!k || k->type != YAML_SCALAR_NODE) continue;
    char key[256];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", (char *)k->data.scalar.value);
    long line = (long)k->start_mark.line + 1;
    if (v->type == YAML_MAPPING_NODE) {
      if (load_mapping(cfg, doc, v, key, err) != TT_OK) return err ? err->code : TT_CONFIG;
    } else if (v->type == YAML_SCALAR_NODE) {
      if (tt_config_set(cfg, key, (char *)v->data.scalar.value, TT_CONFIG_FILE, err) != TT_OK)
        return tt_error_at(err, cfg->file, line, key);
    } else {
      tt_error_set(err, TT_CONFIG, "expected a scalar value");
      return tt_error_at(err, cfg->file, line, key);
    }
  }
  return TT_OK;
}

static tt_err load_file(tt_config *cfg, tt_error *err) {
  FILE *f = fopen(cfg->file, "rb");
  if (!f) {
    if (errno == ENOENT) {
      free(cfg->file);
      cfg->file = NULL;
      return TT_OK;
    }
    tt_error_set(err, TT_IO, "cannot open: %s", strerror(errno));
    return tt_error_at(err, cfg->file, 0, NULL);
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  tt_err rc = TT_OK;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &doc)) {
    tt_error_set(err, TT_CONFIG, "YAML: %s", parser.problem ? parser.problem : "syntax error");
    rc = tt_error_at(err, cfg->file, (long)parser.problem_mark.line + 1, NULL);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root && root->type == YAML_MAPPING_NODE) {
    rc = load_mapping(cfg, &doc, root, "", err);
  } else if (root && !(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
    tt_error_set(err, TT_CONFIG, "expected a mapping of settings at the top level");
    rc = tt_error_at(err, cfg->file, (long)root->start_mark.line + 1, NULL);
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  fclose(f);
  return rc;
}

static tt_err load_env(tt_config *cfg, tt_error *err) {
  for (size_t i = 0; i < NPROPS; i++) {
    char name[128] = "TELLTALE_";
    size_t n = strlen(name);
    for (const char *p = g_props[i].name; *p && n + 1 < sizeof name; p++)
      name[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
    name[n] = '\0';
    const char *v = getenv(name);
    if (v && tt_config_set(cfg, g_props[i].name, v, TT_CONFIG_ENV, err) != TT_OK)
      return tt_error_at(err, NULL, 0, name);
  }
  return TT_OK;
}

tt_err tt_config_load(tt_config **out, const char *project_dir, tt_error *err) {
  *out = NULL;
  tt_config *cfg = calloc(1, sizeof *cfg);
  if (!cfg) return tt_error_set(err, TT_NOMEM, "out of memory");
  cfg->project_dir = strdup(project_dir ? project_dir : ".");
  size_t flen = strlen(cfg->project_dir) + sizeof "/telltale.yaml";
  cfg->file = malloc(flen);
  if (!cfg->project_dir || !cfg->file) {
    tt_config_destroy(cfg);
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  snprintf(cfg->file, flen, "%s/telltale.yaml", cfg->project_dir);
  for (size_t i = 0; i < NPROPS; i++) {
    cfg->values[i] = strdup(g_props[i].default_value);
    cfg->sources[i] = TT_CONFIG_DEFAULT;
    if (!cfg->values[i]) {
      tt_config_destroy(cfg);
      return tt_error_set(err, TT_NOMEM, "out of memory");
    }
  }
  tt_err rc = load_file(cfg, err);
  if (rc == TT_OK) rc = load_env(cfg, err);
  if (rc != TT_OK) {
    tt_config_destroy(cfg);
    return rc;
  }
  *out = cfg;
  return TT_OK;
}

void tt_config_destroy(tt_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < NPROPS; i++) free(cfg->values[i]);
  free(cfg->project_dir);
  free(cfg->file);
  free(cfg);
}

const char *tt_config_get(const tt_config *cfg, const char *key) {
  int i = prop_index(key);
  return i < 0 ? NULL : cfg->values[i];
}

int64_t tt_config_get_int(const tt_config *cfg, const char *key) {
  const char *v = tt_config_get(cfg, key);
  return v ? strtoll(v, NULL, 10) : 0;
}

int tt_config_get_bool(const tt_config *cfg, const char *key) {
  const char *v = tt_config_get(cfg, key);
  return v ? parse_bool(v) == 1 : 0;
}

int64_t tt_config_get_duration(const tt_config *cfg, const char *key) {
  const char *v = tt_config_get(cfg, key);
  int64_t us = 0;
  if (v) (void)tt_duration_parse(v, &us);
  return us;
}

char *tt_config_get_path(const tt_config *cfg, const char *key) {
  const char *v = tt_config_get(cfg, key);
  if (!v) return NULL;
  if (v[0] == '/' || !strcmp(cfg->project_dir, ".")) return strdup(v);
  size_t n = strlen(cfg->project_dir) + strlen(v) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", cfg->project_dir, v);
  return p;
}

tt_config_source tt_config_get_source(const tt_config *cfg, const char *key) {
  int i = prop_index(key);
  return i < 0 ? TT_CONFIG_DEFAULT : cfg->sources[i];
}

const char *tt_config_project_dir(const tt_config *cfg) { return cfg->project_dir; }
const char *tt_config_file(const tt_config *cfg) { return cfg->file; }
