/* Internal to src/ingest. */
#ifndef TT_INGEST_INTERNAL_H
#define TT_INGEST_INTERNAL_H

#include <csv.h>
#include <stdint.h>

#include "telltale/ingest.h"

struct tt_record_parser {
  const tt_table_def *t;
  size_t max_record_bytes;
  tt_csv_dialect dialect;
  int *map;      /* CSV field index → column index */
  size_t nmap;   /* fields per record */
  int header_bad; /* the header was rejected: every record gets header_rej */
  tt_reject header_rej;
  struct csv_parser csv;
  char *scratch; /* whitespace dialect: a copy of the line with tabs as spaces */
  size_t scratch_cap;
  uint8_t *seen; /* per column: set in this record (JSON duplicate keys) */
  size_t *name_len; /* per column: strlen of its name (JSON key lookup) */
  /* State of the record being parsed. */
  tt_batch *out;
  size_t row;
  size_t field;   /* next CSV field index */
  int rejected;   /* first problem found, later ones ignored */
  tt_reject *rej;
  int json_depth;
  int json_col;   /* column of the current key, -1 unknown */
  int nomem;
};

/* Value kinds: how the text of a value was written. */
enum { TT__VAL_TEXT = 0, TT__VAL_JSON_NUMBER, TT__VAL_JSON_STRING, TT__VAL_JSON_BOOL };

/* Convert s[0..len) for column col of p's table and store it in row of
 * p->out. Empty TEXT is null. Returns 0, or 1 after filling *rej. */
int tt__value_set(tt_record_parser *p, size_t col, const char *s, size_t len, int kind,
                  tt_reject *rej);

/* Fill rej; returns 1. */
int tt__reject(tt_reject *rej, tt_reject_reason r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
 * *bad gets the offset of the first invalid byte. */
int tt__utf8_valid(const char *s, size_t len, size_t *bad);

/* After a record's fields are set: check required columns. 0 or 1. */
int tt__record_check_required(tt_record_parser *p, tt_reject *rej);

/* Begin a record: add a row to out. -1 when out is full. */
int tt__record_begin(tt_record_parser *p, tt_batch *out, tt_reject *rej);

#endif
