/* CSV dialect sniffing: which delimiter, and is there a header row?
 *
 * The delimiter is the candidate (',', ';', tab) that occurs outside quotes
 * the same, non-zero number of times on every sampled line, preferring the
 * most frequent; failing that, blanks separating a constant number of
 * tokens; failing that, the most frequent candidate. The header is the
 * first line when one of its fields is a column name of the table. */
#include <string.h>

#include "ingest/ingest_internal.h"

#define MAX_LINES 20

/* Occurrences of d outside double quotes in l[0..n). */
static size_t count_delim(const char *l, size_t n, char d) {
  size_t c = 0;
  int q = 0;
  for (size_t i = 0; i < n; i++) {
    if (l[i] == '"') q = !q;
    else if (!q && l[i] == d) c++;
  }
  return c;
}

static size_t count_tokens(const char *l, size_t n) {
  size_t c = 0;
  int in = 0;
  for (size_t i = 0; i < n; i++) {
    int blank = l[i] == ' ' || l[i] == '\t' || l[i] == '\r';
    if (!blank && !in) c++;
    in = !blank;
  }
  return c;
}

static int is_number(const char *s, size_t n) {
  size_t i = 0, digits = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  for (; i < n; i++) {
    if (s[i] >= '0' && s[i] <= '9') digits++;
    else if (s[i] != '.' && s[i] != 'e' && s[i] != 'E' && s[i] != '-' && s[i] != '+' &&
             s[i] != ':' && s[i] != 'T' && s[i] != 'Z')
      return 0;
  }
  return digits > 0;
}

void tt_csv_sniff(const char *buf, size_t len, const tt_table_def *t, tt_csv_dialect *out) {
  const char *lines[MAX_LINES] = {0};
  size_t lens[MAX_LINES] = {0}, nl = 0, i = 0;
  while (i < len && nl < MAX_LINES) {
    const char *e = memchr(buf + i, '\n', len - i);
    if (!e) break; /* only complete lines; an incomplete last one may be cut */
    size_t n = (size_t)(e - (buf + i));
    if (n && buf[i + n - 1] == '\r') n--;
    if (count_tokens(buf + i, n)) lines[nl] = buf + i, lens[nl++] = n;
    i = (size_t)(e - buf) + 1;
  }
  if (nl == 0 && len) lines[0] = buf, lens[0] = len, nl = 1;
  static const char cands[] = {',', ';', '\t'};
  char best = 0;
  size_t best_count = 0;
  for (size_t c = 0; c < sizeof cands; c++) {
    size_t first = nl ? count_delim(lines[0], lens[0], cands[c]) : 0;
    int consistent = first > 0;
    for (size_t k = 1; k < nl && consistent; k++)
      consistent = count_delim(lines[k], lens[k], cands[c]) == first;
    if (consistent && first > best_count) best = cands[c], best_count = first;
  }
  if (!best && nl) {
    size_t first = count_tokens(lines[0], lens[0]);
    int consistent = first > 1;
    for (size_t k = 1; k < nl && consistent; k++)
      consistent = count_tokens(lines[k], lens[k]) == first;
    if (consistent) best = ' ';
  }
  if (!best) {
    size_t most = 0;
    best = ',';
    for (size_t c = 0; c < sizeof cands; c++) {
      size_t tot = 0;
      for (size_t k = 0; k < nl; k++) tot += count_delim(lines[k], lens[k], cands[c]);
      if (tot > most) most = tot, best = cands[c];
    }
  }
  out->delim = best;
  out->header = 0;
  if (!nl) return;
  /* Split the first line naively (quotes stripped) and look at its fields. */
  const char *l = lines[0];
  size_t n = lens[0], start = 0;
  int any_name = 0, any_number = 0;
  for (size_t k = 0; k <= n; k++) {
    int sep = k == n || (best == ' ' ? (l[k] == ' ' || l[k] == '\t') : l[k] == best);
    if (!sep) continue;
    const char *f = l + start;
    size_t fl = k - start;
    start = k + 1;
    while (fl && (*f == ' ' || *f == '"')) f++, fl--;
    while (fl && (f[fl - 1] == ' ' || f[fl - 1] == '"')) fl--;
    if (!fl) continue;
    if (is_number(f, fl)) any_number = 1;
    for (size_t c = 0; t && c < t->ncolumns; c++)
      if (strlen(t->columns[c].name) == fl && !memcmp(t->columns[c].name, f, fl)) any_name = 1;
  }
  out->header = t ? any_name : !any_number;
}
