/* bench: register N versions of one feature set in a registry, each with
 * distinct content of about 2 KB (the size of a feature-set definition),
 * with content-hash dedup on, one transaction each — what `telltale
 * features register` / model publishing do. Prints "N SECONDS".
 *
 *   registry_put URL N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "telltale/registry.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: registry_put URL N\n");
    return 64;
  }
  int n = atoi(argv[2]);
  tt_registry *reg = NULL;
  tt_error err;
  tt_error_clear(&err);
  if (tt_registry_open(argv[1], ".", &reg, &err) != TT_OK) {
    fprintf(stderr, "open: %s\n", err.msg);
    return 1;
  }
  char *content = malloc(4096);
  if (!content) return 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    int k = snprintf(content, 4096, "{\"i\":%d,\"features\":[", i);
    for (int f = 0; f < 40; f++)
      k += snprintf(content + k, 4096 - (size_t)k, "%s{\"agg\":\"mean\",\"window\":\"7d\",\"x\":%d}",
                    f ? "," : "", f);
    snprintf(content + k, 4096 - (size_t)k, "]}");
    tt_object_spec spec = {.kind = "feature_set", .name = "bench", .content = content,
                           .description = "benchmark"};
    if (tt_registry_put(reg, &spec, TT_REGISTRY_DEDUP, NULL, NULL, NULL, NULL, &err) != TT_OK) {
      fprintf(stderr, "put %d: %s\n", i, err.msg);
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%d %.6f\n", n, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  free(content);
  tt_registry_close(reg);
  return 0;
}
