/* Calendar arithmetic without the C library's time zone state: the civil
 * date conversions are Howard Hinnant's public-domain algorithms re-derived
 * (days_from_civil / civil_from_days), valid for the proleptic Gregorian
 * calendar. See include/telltale/time.h. */
#include "telltale/time.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

tt_time tt_time_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (era * 146097 + (int64_t)doe - 719468) * TT_USEC_PER_DAY;
}

void tt_time_to_civil(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t tt_time_day(tt_time t) {
  int64_t d = t / TT_USEC_PER_DAY;
  if (t % TT_USEC_PER_DAY < 0) d--;
  return d;
}

static int digits(const char *s, size_t len, size_t *i, int n, int *out) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    if (*i >= len || !isdigit((unsigned char)s[*i])) return -1;
    v = v * 10 + (s[(*i)++] - '0');
  }
  *out = v;
  return 0;
}

static int days_in_month(int64_t y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

int tt_time_parse_iso(const char *s, size_t len, tt_time *out) {
  size_t i = 0;
  int y, mo, d, h = 0, mi = 0, se = 0;
  int64_t frac = 0;
  if (digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-') return -1;
  if (digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-') return -1;
  if (digits(s, len, &i, 2, &d)) return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return -1;
  int64_t offset = 0;
  if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    i++;
    if (digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':') return -1;
    if (digits(s, len, &i, 2, &mi)) return -1;
    if (i < len && s[i] == ':') {
      i++;
      if (digits(s, len, &i, 2, &se)) return -1;
      if (i < len && (s[i] == '.' || s[i] == ',')) {
        i++;
        int nd = 0;
        if (i >= len || !isdigit((unsigned char)s[i])) return -1;
        while (i < len && isdigit((unsigned char)s[i])) {
          if (nd < 6) {
            frac = frac * 10 + (s[i] - '0');
            nd++;
          }
          i++;
        }
        while (nd++ < 6) frac *= 10;
      }
    }
    if (h > 23 || mi > 59 || se > 60) return -1;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
      i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
      if (digits(s, len, &i, 2, &oh)) return -1;
      if (i < len && s[i] == ':') i++;
      if (i < len && digits(s, len, &i, 2, &om)) return -1;
      if (oh > 23 || om > 59) return -1;
      offset = sign * ((int64_t)oh * 3600 + om * 60) * TT_USEC_PER_SEC;
    }
  }
  if (i != len) return -1;
  *out = tt_time_from_civil(y, (unsigned)mo, (unsigned)d) +
         ((int64_t)h * 3600 + mi * 60 + se) * TT_USEC_PER_SEC + frac - offset;
  return 0;
}

int tt_time_parse(const char *s, size_t len, tt_time *out) {
  if (len == 0) return -1;
  if (tt_time_parse_iso(s, len, out) == 0) return 0;
  /* Epoch number: the magnitude tells the unit. */
  char buf[64];
  if (len >= sizeof buf) return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  int is_int = 1;
  for (size_t k = 0; k < len; k++)
    if (!(isdigit((unsigned char)buf[k]) || (k == 0 && buf[k] == '-'))) is_int = 0;
  if (is_int) {
    long long v = strtoll(buf, &end, 10);
    if (*end || end == buf) return -1;
    long long a = v < 0 ? -v : v;
    if (a < 100000000000LL) *out = (tt_time)v * TT_USEC_PER_SEC;
    else if (a < 100000000000000LL) *out = (tt_time)v * 1000;
    else *out = (tt_time)v;
    return 0;
  }
  double v = strtod(buf, &end);
  if (*end || end == buf || !isfinite(v)) return -1;
  double a = fabs(v);
  if (a < 1e11) *out = (tt_time)llround(v * 1e6);
  else if (a < 1e14) *out = (tt_time)llround(v * 1e3);
  else if (a < 9e18) *out = (tt_time)llround(v);
  else return -1;
  return 0;
}

char *tt_time_format(tt_time t, char *buf, size_t size) {
  int64_t day = tt_time_day(t);
  int64_t rem = t - day * TT_USEC_PER_DAY;
  int64_t y;
  unsigned m, d;
  tt_time_to_civil(day, &y, &m, &d);
  int64_t secs = rem / TT_USEC_PER_SEC, us = rem % TT_USEC_PER_SEC;
  if (us)
    snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (long long)us);
  else
    snprintf(buf, size, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
  return buf;
}

char *tt_time_format_date(tt_time t, char *buf, size_t size) {
  int64_t y;
  unsigned m, d;
  tt_time_to_civil(tt_time_day(t), &y, &m, &d);
  snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
  return buf;
}

int tt_duration_parse(const char *s, int64_t *usec) {
  if (!s || !*s) return -1;
  char *end;
  double v = strtod(s, &end);
  if (end == s || !isfinite(v) || v < 0) return -1;
  double mult;
  if (!*end) mult = 1;
  else if (!strcmp(end, "us")) mult = 1;
  else if (!strcmp(end, "ms")) mult = 1e3;
  else if (!strcmp(end, "s")) mult = 1e6;
  else if (!strcmp(end, "m") || !strcmp(end, "min")) mult = 60e6;
  else if (!strcmp(end, "h")) mult = 3600e6;
  else if (!strcmp(end, "d")) mult = 86400e6;
  else if (!strcmp(end, "w")) mult = 7 * 86400e6;
  else return -1;
  double r = v * mult;
  if (r > 9e18) return -1;
  *usec = (int64_t)llround(r);
  return 0;
}

tt_time tt_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (tt_time)ts.tv_sec * TT_USEC_PER_SEC + ts.tv_nsec / 1000;
}

double tt_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
