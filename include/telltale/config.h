/* telltale — configuration.
 *
 * Effective configuration = built-in defaults, overridden by the project's
 * telltale.yaml, overridden by TELLTALE_* environment variables, overridden
 * by command-line flags. One property table (src/core/config_props.h)
 * validates every option and documents it (`telltale config show`,
 * docs/configuration.md).
 *
 * Keys are dotted ("kafka.brokers"); in telltale.yaml they may be nested
 * mappings (kafka: {brokers: …}). The environment variable of a key is
 * TELLTALE_ + the key upper-cased with dots as underscores
 * (TELLTALE_KAFKA_BROKERS).
 */
#ifndef TELLTALE_CONFIG_H
#define TELLTALE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_config_source {
  TT_CONFIG_DEFAULT = 0,
  TT_CONFIG_FILE = 1,
  TT_CONFIG_ENV = 2,
  TT_CONFIG_FLAG = 3,
} tt_config_source;

typedef enum tt_config_kind {
  TT_CONFIG_STRING = 0,
  TT_CONFIG_PATH = 1, /* relative paths resolve against the project dir */
  TT_CONFIG_URL = 2,
  TT_CONFIG_INT = 3,
  TT_CONFIG_DURATION = 4, /* "30s", "5m" … */
  TT_CONFIG_ENUM = 5,     /* one of a '|'-separated list */
  TT_CONFIG_BOOL = 6,
} tt_config_kind;

typedef struct tt_config_property {
  const char *name;
  tt_config_kind kind;
  const char *default_value;
  int64_t min, max; /* INT only */
  const char *choices; /* ENUM only: "text|json" */
  const char *description;
} tt_config_property;

typedef struct tt_config tt_config;

/* Load defaults, PROJECT_DIR/telltale.yaml (if it exists) and the
 * environment. project_dir NULL means ".". The config is the caller's to
 * destroy. Errors name the file, line and key. */
tt_err tt_config_load(tt_config **out, const char *project_dir, tt_error *err) TT_WARN_UNUSED;
void tt_config_destroy(tt_config *cfg);

/* Set a value (validated against the property table). */
tt_err tt_config_set(tt_config *cfg, const char *key, const char *value, tt_config_source src,
                     tt_error *err) TT_WARN_UNUSED;

/* The value of a key (never NULL for a known key; NULL for an unknown one).
 * Owned by cfg. */
const char *tt_config_get(const tt_config *cfg, const char *key);
int64_t tt_config_get_int(const tt_config *cfg, const char *key);
int tt_config_get_bool(const tt_config *cfg, const char *key);
/* Durations in microseconds. */
int64_t tt_config_get_duration(const tt_config *cfg, const char *key);
/* A PATH value resolved against the project directory; malloc'd, caller frees. */
char *tt_config_get_path(const tt_config *cfg, const char *key);
tt_config_source tt_config_get_source(const tt_config *cfg, const char *key);
const char *tt_config_source_name(tt_config_source src);
const char *tt_config_project_dir(const tt_config *cfg);
/* Path of the YAML file that was read, or NULL when there was none. */
const char *tt_config_file(const tt_config *cfg);

/* The property table, for documentation and `config show`. */
size_t tt_config_property_count(void);
const tt_config_property *tt_config_property_at(size_t i);
const tt_config_property *tt_config_property_find(const char *key);

#ifdef __cplusplus
}
#endif
#endif
