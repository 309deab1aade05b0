/* Internal: the online store's backend interface. online.c holds the
 * shared update logic and the in-process memory backend; redis.c the Redis
 * backend (key layout documented there and in README.md). */
#ifndef TT_FEATURES_ONLINE_H
#define TT_FEATURES_ONLINE_H

#include "features/internal.h"

typedef struct tt__online_backend {
  /* States of n vehicles for an update. owned = 1: the backend keeps them
   * (memory); 0: fresh states the caller destroys after commit (Redis). */
  tt_err (*load)(tt_online *on, size_t n, const char *const *veh, tt_fstate **st, int *owned,
                 tt_error *err);
  /* Write states and values (vals: n * nfeatures) and the source offset,
   * atomically. */
  tt_err (*commit)(tt_online *on, size_t n, const char *const *veh, tt_fstate *const *st,
                   const double *vals, const tt_time *as_of, const char *source, uint64_t offset,
                   tt_error *err);
  tt_err (*get)(tt_online *on, const char *veh, double *out, tt_time *as_of, tt_error *err);
  tt_err (*put)(tt_online *on, const char *veh, const double *vals, tt_time as_of, tt_error *err);
  tt_err (*offset)(tt_online *on, const char *source, uint64_t *offset, tt_error *err);
  tt_err (*stats)(tt_online *on, uint64_t *vehicles, uint64_t *bytes, tt_error *err);
  void (*close)(tt_online *on);
} tt__online_backend;

struct tt_online {
  const tt_fengine *eng;
  const tt_feature_set *fs;
  int ttl;
  const tt__online_backend *be;
  void *impl;
  char ns[32]; /* Redis key namespace: "f" (tt:f:…), "fv" for verify's replay */
};

/* tt_online_open with a key namespace other than the default "f". */
tt_err tt__online_open_ns(const char *url, const char *ns, const tt_fengine *eng,
                          const tt_feature_set *fs, int ttl_seconds, tt_online **out,
                          tt_error *err);

tt_err tt__online_redis_open(tt_online *on, const char *url, tt_error *err);

#endif
