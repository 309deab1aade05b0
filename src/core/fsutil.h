/* Internal: filesystem helpers for crash-safe writes. */
#ifndef TT_CORE_FSUTIL_H
#define TT_CORE_FSUTIL_H
#include "telltale/error.h"

/* mkdir -p. */
tt_err tt_mkdirs(const char *path, tt_error *err);
/* fsync a file by path (and nothing else). */
tt_err tt_fsync_path(const char *path, tt_error *err);
/* fsync the directory holding path, so a rename in it is durable. */
tt_err tt_fsync_parent(const char *path, tt_error *err);
/* rename(tmp, final) after fsyncing tmp, then fsync the directory: after
 * this returns TT_OK the file is durably there under its final name. */
tt_err tt_commit_file(const char *tmp, const char *final, tt_error *err);
/* 1 if path exists. */
int tt_path_exists(const char *path);
#endif
