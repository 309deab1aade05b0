#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

tt_err tt_mkdirs(const char *path, tt_error *err) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0) return TT_OK;
  if (n >= sizeof buf) return tt_error_set(err, TT_INVALID, "path too long: %s", path);
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char saved = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        tt_error_set(err, TT_IO, "cannot create directory: %s", strerror(errno));
        return tt_error_at(err, buf, 0, NULL);
      }
      buf[i] = saved;
    }
  }
  return TT_OK;
}

static tt_err fsync_open(const char *path, int flags, tt_error *err) {
  int fd = open(path, flags);
  if (fd < 0) {
    tt_error_set(err, TT_IO, "cannot open for fsync: %s", strerror(errno));
    return tt_error_at(err, path, 0, NULL);
  }
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    tt_error_set(err, TT_IO, "fsync failed: %s", strerror(saved));
    return tt_error_at(err, path, 0, NULL);
  }
  return TT_OK;
}

tt_err tt_fsync_path(const char *path, tt_error *err) { return fsync_open(path, O_RDONLY, err); }

tt_err tt_fsync_parent(const char *path, tt_error *err) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  return fsync_open(dir, O_RDONLY | O_DIRECTORY, err);
}

tt_err tt_commit_file(const char *tmp, const char *final, tt_error *err) {
  if (tt_fsync_path(tmp, err) != TT_OK) return err ? err->code : TT_IO;
  if (rename(tmp, final) != 0) {
    tt_error_set(err, TT_IO, "cannot rename %s: %s", tmp, strerror(errno));
    return tt_error_at(err, final, 0, NULL);
  }
  return tt_fsync_parent(final, err);
}

int tt_path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}
