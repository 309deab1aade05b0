/* Internal: a bump allocator for per-batch data. Blocks are kept on reset
 * so a steady stream of batches stops allocating after the first few. */
#ifndef TT_CORE_ARENA_H
#define TT_CORE_ARENA_H
#include <stddef.h>

typedef struct tt_arena tt_arena;

tt_arena *tt_arena_new(size_t block_size);
void tt_arena_destroy(tt_arena *a);
void tt_arena_reset(tt_arena *a);
/* 8-byte aligned; NULL when out of memory. */
void *tt_arena_alloc(tt_arena *a, size_t n);
/* Copy s[0..len) and a NUL. */
char *tt_arena_strndup(tt_arena *a, const char *s, size_t len);
/* Bytes handed out since the last reset. */
size_t tt_arena_used(const tt_arena *a);
#endif
