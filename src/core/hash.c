/* sha256 via OpenSSL's EVP interface; FNV-1a for sharding. See
 * include/telltale/hash.h. */
#include "telltale/hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const unsigned char *md, unsigned n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; i++) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  out[2 * n] = '\0';
}

void tt_sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
  to_hex(md, n, out);
}

tt_err tt_sha256_file(const char *path, char out[65], tt_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    tt_error_set(err, TT_IO, "cannot open: %s", strerror(errno));
    return tt_error_at(err, path, 0, NULL);
  }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  tt_err rc = TT_OK;
  if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
    rc = tt_error_set(err, TT_NOMEM, "cannot create a sha256 context");
    goto out;
  }
  unsigned char buf[1 << 16];
  size_t r;
  while ((r = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, r);
  if (ferror(f)) {
    tt_error_set(err, TT_IO, "read error: %s", strerror(errno));
    rc = tt_error_at(err, path, 0, NULL);
    goto out;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  to_hex(md, n, out);
out:
  EVP_MD_CTX_free(ctx);
  fclose(f);
  return rc;
}

uint64_t tt_hash64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}

uint64_t tt_hash64_str(const char *s) { return tt_hash64(s, strlen(s)); }

unsigned tt_shard_of(const char *entity_id, unsigned n) {
  return n <= 1 ? 0 : (unsigned)(tt_hash64_str(entity_id) % n);
}

int tt_shard_parse(const char *s, unsigned *index, unsigned *count) {
  char *end;
  unsigned long i = strtoul(s, &end, 10);
  if (end == s || *end != '/') return -1;
  const char *q = end + 1;
  unsigned long n = strtoul(q, &end, 10);
  if (end == q || *end || n == 0 || i >= n || n > 1000000) return -1;
  *index = (unsigned)i;
  *count = (unsigned)n;
  return 0;
}
