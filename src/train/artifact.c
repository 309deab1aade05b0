/* Model artefacts: one file per trained model, named by its sha256.
 *
 *   telltale-model 1\n
 *   {meta JSON on one line}\n
 *   {XGBoost model JSON, verbatim}
 *
 * The XGBoost JSON is kept byte for byte (not re-encoded), so the file's
 * sha256 — recorded in the registry — pins the exact model. Content
 * addressing means two runs that produce the same model share one file and
 * two concurrent runs never write the same name with different bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "train/artifact.h"
#include "telltale/hash.h"
#include "telltale/models.h"

#define MAGIC "telltale-model 1\n"
#define ARTIFACT_MAX_BYTES ((size_t)1 << 31) /* a cap on what we read back */


tt_err tt_artifact_write(const char *dir, const char *name, const char *meta, const char *model,
                         size_t model_len, char **relpath, char sha[65], tt_error *err) {
  tt_err rc = TT_OK;
  *relpath = NULL;
  if (strchr(meta, '\n')) return tt_error_set(err, TT_INTERNAL, "artefact metadata must be one line");
  size_t ml = strlen(MAGIC), mtl = strlen(meta), total = ml + mtl + 1 + model_len;
  char *buf = malloc(total), *tmp = NULL, *final = NULL, *sub = NULL;
  if (!buf) return tt_error_set(err, TT_NOMEM, "out of memory");
  memcpy(buf, MAGIC, ml);
  memcpy(buf + ml, meta, mtl);
  buf[ml + mtl] = '\n';
  memcpy(buf + ml + mtl + 1, model, model_len);
  tt_sha256_hex(buf, total, sha);
  if (asprintf(&sub, "%s/%s", dir, name) < 0 || asprintf(relpath, "%s/%s.model", name, sha) < 0 ||
      asprintf(&final, "%s/%s", dir, *relpath) < 0 ||
      asprintf(&tmp, "%s/.%s.model.%ld.tmp", sub, sha, (long)getpid()) < 0) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = tt_mkdirs(sub, err)) != TT_OK) goto out;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    rc = tt_error_set(err, TT_IO, "cannot create: %s", strerror(errno));
    tt_error_at(err, tmp, 0, NULL);
    goto out;
  }
  size_t off = 0;
  while (off < total) {
    ssize_t w = write(fd, buf + off, total - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  if (off != total || close(fd) != 0) {
    rc = tt_error_set(err, TT_IO, "cannot write: %s", strerror(errno));
    tt_error_at(err, tmp, 0, NULL);
    unlink(tmp);
    goto out;
  }
  if ((rc = tt_commit_file(tmp, final, err)) != TT_OK) unlink(tmp);
out:
  if (rc != TT_OK) {
    free(*relpath);
    *relpath = NULL;
  }
  free(buf), free(tmp), free(final), free(sub);
  return rc;
}

tt_err tt__artifact_parse(const char *buf, size_t len, char **meta, char **model, size_t *model_len,
                          tt_error *err) {
  *meta = *model = NULL;
  size_t ml = strlen(MAGIC);
  const char *nl = len > ml ? memchr(buf + ml, '\n', len - ml) : NULL;
  if (len < ml || memcmp(buf, MAGIC, ml) != 0 || !nl)
    return tt_error_set(err, TT_PARSE, "not a telltale model artefact (bad header)");
  *meta = strndup(buf + ml, (size_t)(nl - (buf + ml)));
  *model_len = len - (size_t)(nl + 1 - buf);
  *model = malloc(*model_len + 1);
  if (!*meta || !*model) {
    free(*meta);
    free(*model);
    *meta = *model = NULL;
    return tt_error_set(err, TT_NOMEM, "out of memory");
  }
  memcpy(*model, nl + 1, *model_len);
  (*model)[*model_len] = '\0';
  return TT_OK;
}

tt_err tt_artifact_read(const char *path, const char *expect, char **meta, char **model,
                        size_t *model_len, tt_error *err) {
  tt_err rc = TT_OK;
  *meta = *model = NULL;
  char *buf = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    tt_err code = errno == ENOENT ? TT_NOTFOUND : TT_IO;
    tt_error_set(err, code, "model artefact cannot be opened: %s", strerror(errno));
    tt_error_at(err, path, 0, NULL);
    return code;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > ARTIFACT_MAX_BYTES) {
    rc = tt_error_set(err, TT_LIMIT, "model artefact too large or unreadable");
    goto fail;
  }
  size_t len = (size_t)st.st_size;
  buf = malloc(len + 1);
  if (!buf) {
    rc = tt_error_set(err, TT_NOMEM, "out of memory");
    goto fail;
  }
  if (fread(buf, 1, len, f) != len) {
    rc = tt_error_set(err, TT_IO, "cannot read model artefact");
    goto fail;
  }
  buf[len] = '\0';
  if (expect) {
    char sha[65];
    tt_sha256_hex(buf, len, sha);
    if (strcmp(sha, expect) != 0) {
      rc = tt_error_set(err, TT_CHECKSUM,
                        "model artefact refused: its sha256 is %s but the registry recorded %s "
                        "(the file was modified or corrupted)",
                        sha, expect);
      goto fail;
    }
  }
  if ((rc = tt__artifact_parse(buf, len, meta, model, model_len, err)) != TT_OK) goto fail;
  free(buf);
  fclose(f);
  return TT_OK;
fail:
  free(buf);
  free(*meta);
  free(*model);
  *meta = *model = NULL;
  fclose(f);
  tt_error_at(err, path, 0, NULL);
  return rc;
}
