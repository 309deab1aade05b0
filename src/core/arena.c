#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

typedef struct block {
  struct block *next;
  size_t size, used;
  char data[];
} block;

struct tt_arena {
  block *head;    /* block being filled */
  block *spare;   /* blocks kept from before the last reset */
  size_t block_size, used;
};

tt_arena *tt_arena_new(size_t block_size) {
  tt_arena *a = calloc(1, sizeof *a);
  if (a) a->block_size = block_size ? block_size : 64 * 1024;
  return a;
}

static void free_list(block *b) {
  while (b) {
    block *n = b->next;
    free(b);
    b = n;
  }
}

void tt_arena_destroy(tt_arena *a) {
  if (!a) return;
  free_list(a->head);
  free_list(a->spare);
  free(a);
}

void tt_arena_reset(tt_arena *a) {
  /* Move every block to the spare list; oversized blocks are freed so one
   * huge string does not pin memory forever. */
  block *b = a->head;
  while (b) {
    block *n = b->next;
    if (b->size == a->block_size) {
      b->used = 0;
      b->next = a->spare;
      a->spare = b;
    } else {
      free(b);
    }
    b = n;
  }
  a->head = NULL;
  a->used = 0;
}

void *tt_arena_alloc(tt_arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (!a->head || a->head->size - a->head->used < n) {
    block *b;
    if (n <= a->block_size && a->spare) {
      b = a->spare;
      a->spare = b->next;
    } else {
      size_t size = n > a->block_size ? n : a->block_size;
      b = malloc(sizeof *b + size);
      if (!b) return NULL;
      b->size = size;
    }
    b->used = 0;
    b->next = a->head;
    a->head = b;
  }
  void *p = a->head->data + a->head->used;
  a->head->used += n;
  a->used += n;
  return p;
}

char *tt_arena_strndup(tt_arena *a, const char *s, size_t len) {
  char *p = tt_arena_alloc(a, len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

size_t tt_arena_used(const tt_arena *a) { return a->used; }
