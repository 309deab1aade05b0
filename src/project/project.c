/* telltale init: write an example project. See include/telltale/project.h. */
#include "telltale/project.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"

extern const char tt_example_schema_yaml[];
extern const char tt_example_telltale_yaml[];
extern const char tt_example_model_battery_yaml[];
extern const char tt_example_model_cooling_yaml[];
extern const char tt_example_model_brakes_yaml[];
extern const char tt_example_features_yaml[];

const char *tt_project_example_schema(void) { return tt_example_schema_yaml; }
const char *tt_project_example_features(void) { return tt_example_features_yaml; }

/* Write a file unless it exists already. */
static tt_err write_new(const char *dir, const char *name, const char *text, tt_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  if (tt_mkdirs(path, err) != TT_OK) return err ? err->code : TT_IO;
  *slash = '/';
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return TT_OK;
    tt_error_set(err, TT_IO, "cannot create: %s", strerror(errno));
    return tt_error_at(err, path, 0, NULL);
  }
  size_t len = strlen(text);
  ssize_t w = write(fd, text, len);
  if (w < 0 || (size_t)w != len || close(fd) != 0) {
    tt_error_set(err, TT_IO, "cannot write: %s", strerror(errno));
    return tt_error_at(err, path, 0, NULL);
  }
  return TT_OK;
}

tt_err tt_project_init(const char *dir, tt_error *err) {
  /* Later stages add their example files (features/, models/) here. */
  const struct {
    const char *name, *text;
  } files[] = {
      {"telltale.yaml", tt_example_telltale_yaml},
      {"schemas/fleet.yaml", tt_example_schema_yaml},
      {"models/battery_7d.yaml", tt_example_model_battery_yaml},
      {"models/cooling_7d.yaml", tt_example_model_cooling_yaml},
      {"models/brakes_14d.yaml", tt_example_model_brakes_yaml},
      {"features/vehicle_health.yaml", tt_example_features_yaml},
  };
  if (tt_mkdirs(dir, err) != TT_OK) return err ? err->code : TT_IO;
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    if (write_new(dir, files[i].name, files[i].text, err) != TT_OK) return err ? err->code : TT_IO;
  return TT_OK;
}
