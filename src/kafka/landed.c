/* Landed-offset markers and the clean-up of batches that never landed.
 *
 * A batch of partition P covering offsets [A, B] is written as lake parts
 * with id kafka-TOPIC-pP-A-B (one file per date, plus one in the dead-letter
 * table), then the marker LAKE/_kafka/TABLE/TOPIC/P is replaced with B, then
 * the offset B+1 is committed to Kafka. A crash between the first file and
 * the marker leaves parts whose A is after the marker: they are removed when
 * the partition is next assigned, and those offsets are consumed again. The
 * marker, not the committed offset, says where to resume: it is written
 * atomically and always after the data. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "kafka/kafka_internal.h"
#include "telltale/lake.h"

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* The topic as it appears in ids and paths. */
static void topic_token(char *buf, size_t size, const char *topic) {
  if (strlen(topic) <= 64)
    snprintf(buf, size, "%s", topic);
  else
    snprintf(buf, size, "h%016" PRIx64, fnv1a(topic));
}

void tt__kafka_part_id(char *buf, size_t size, const char *topic, int32_t partition, int64_t first,
                       int64_t last) {
  char t[80];
  topic_token(t, sizeof t, topic);
  snprintf(buf, size, "kafka-%s-p%" PRId32 "-%012" PRId64 "-%012" PRId64, t, partition, first,
           last);
}

static int parse_i64(const char *s, size_t n, int64_t *out) {
  if (n == 0 || n > 19) return 0;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

int tt__kafka_part_match(const char *name, const char *topic, int32_t partition, int64_t *first,
                         int64_t *last, int *tmp) {
  char t[80], prefix[128];
  topic_token(t, sizeof t, topic);
  /* Parse from the end: a topic may itself contain "-p3-". */
  size_t n = strlen(name);
  *tmp = 0;
  if (n > 4 && !strcmp(name + n - 4, ".tmp")) {
    *tmp = 1;
    n -= 4;
  }
  if (n < 8 || strncmp(name + n - 8, ".parquet", 8)) return 0;
  n -= 8;
  const char *dash_b = NULL, *dash_a = NULL;
  for (size_t i = n; i-- > 0;)
    if (name[i] == '-') {
      if (!dash_b)
        dash_b = name + i;
      else {
        dash_a = name + i;
        break;
      }
    }
  if (!dash_a) return 0;
  if (!parse_i64(dash_b + 1, (size_t)(name + n - dash_b - 1), last) ||
      !parse_i64(dash_a + 1, (size_t)(dash_b - dash_a - 1), first))
    return 0;
  int pl = snprintf(prefix, sizeof prefix, "part-kafka-%s-p%" PRId32, t, partition);
  return pl > 0 && (size_t)pl == (size_t)(dash_a - name) && !strncmp(name, prefix, (size_t)pl);
}

static int marker_path(char *buf, size_t size, const char *lake, const char *table,
                       const char *topic, int32_t partition) {
  char t[80];
  topic_token(t, sizeof t, topic);
  return snprintf(buf, size, "%s/_kafka/%s/%s/%" PRId32, lake, table, t, partition) >= (int)size;
}

tt_err tt__kafka_landed_read(const char *lake, const char *table, const char *topic,
                             int32_t partition, int64_t *last, tt_error *err) {
  char path[PATH_MAX], buf[64];
  *last = -1;
  if (marker_path(path, sizeof path, lake, table, topic, partition))
    return tt_error_set(err, TT_INVALID, "lake path too long");
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return TT_OK;
    tt_error_set(err, TT_IO, "cannot read: %s", strerror(errno));
    return tt_error_at(err, path, 0, NULL);
  }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  if (!parse_i64(buf, n, last)) {
    tt_error_set(err, TT_PARSE, "landed-offset marker is not an offset: '%s'", buf);
    return tt_error_at(err, path, 1, NULL);
  }
  return TT_OK;
}

tt_err tt__kafka_landed_write(const char *lake, const char *table, const char *topic,
                              int32_t partition, int64_t last, tt_error *err) {
  char path[PATH_MAX], tmp[PATH_MAX + 8], dir[PATH_MAX];
  if (marker_path(path, sizeof path, lake, table, topic, partition))
    return tt_error_set(err, TT_INVALID, "lake path too long");
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = '\0';
  tt_err rc = tt_mkdirs(dir, err);
  if (rc) return rc;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%" PRId64 "\n", last) < 0 || fclose(f) != 0) {
    tt_error_set(err, TT_IO, "cannot write: %s", strerror(errno));
    return tt_error_at(err, tmp, 0, NULL);
  }
  return tt_commit_file(tmp, path, err);
}

static tt_err cleanup_dir(const char *dir, const char *topic, int32_t partition, int64_t landed,
                          unsigned *removed, tt_error *err) {
  DIR *d = opendir(dir);
  if (!d) return TT_OK; /* no such table / partition yet */
  struct dirent *e;
  int any = 0;
  tt_err rc = TT_OK;
  while ((e = readdir(d))) {
    int64_t a, b;
    int tmp;
    if (!tt__kafka_part_match(e->d_name, topic, partition, &a, &b, &tmp)) continue;
    if (!tmp && a <= landed) continue;
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path) != 0 && errno != ENOENT) {
      rc = tt_error_set(err, TT_IO, "cannot remove unlanded part: %s", strerror(errno));
      tt_error_at(err, path, 0, NULL);
      break;
    }
    any = 1;
    (*removed)++;
  }
  closedir(d);
  if (!rc && any) {
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/x", dir);
    rc = tt_fsync_parent(probe, err);
  }
  return rc;
}

tt_err tt__kafka_parts_cleanup(const char *lake, const char *table, const char *topic,
                               int32_t partition, int64_t landed, unsigned *removed,
                               tt_error *err) {
  char dir[PATH_MAX];
  tt_err rc;
  *removed = 0;
  /* The table directory (counter axis) and each of its date=… directories. */
  snprintf(dir, sizeof dir, "%s/%s", lake, table);
  if ((rc = cleanup_dir(dir, topic, partition, landed, removed, err))) return rc;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
      if (e->d_name[0] == '.' || !strchr(e->d_name, '=')) continue;
      char sub[PATH_MAX + 256];
      snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
      rc = cleanup_dir(sub, topic, partition, landed, removed, err);
    }
    closedir(d);
  }
  if (rc) return rc;
  snprintf(dir, sizeof dir, "%s/%s/table_name=%s", lake, TT_LAKE_DEADLETTER, table);
  return cleanup_dir(dir, topic, partition, landed, removed, err);
}
