/* telltale — hashing: content fingerprints (sha256) and sharding.
 *
 * Sharding must agree everywhere (feature builds, batch prediction, any
 * scheduler spreading work): a vehicle belongs to shard
 * tt_shard_of(id, n) = FNV-1a-64(id) mod n, and nothing else decides it.
 */
#ifndef TELLTALE_HASH_H
#define TELLTALE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "telltale/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 64 lowercase hex digits and a NUL into out[65]. */
void tt_sha256_hex(const void *data, size_t len, char out[65]);
/* sha256 of a file's contents, streamed. */
tt_err tt_sha256_file(const char *path, char out[65], tt_error *err) TT_WARN_UNUSED;

/* FNV-1a 64-bit of a NUL-terminated string / of bytes. */
uint64_t tt_hash64(const void *data, size_t len);
uint64_t tt_hash64_str(const char *s);

/* Shard (0..n-1) of an entity id; n >= 1. */
unsigned tt_shard_of(const char *entity_id, unsigned n);
/* Parse "I/N" (0 <= I < N); returns 0 on success. */
int tt_shard_parse(const char *s, unsigned *index, unsigned *count);

#ifdef __cplusplus
}
#endif
#endif
