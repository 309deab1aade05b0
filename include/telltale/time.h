/* telltale — time.
 *
 * Internally every timestamp is int64 microseconds since 1970-01-01 UTC
 * (tt_time). A dataset may instead declare a counter time axis (operating
 * cycles, engine hours, odometer km): then values are plain int64 in that
 * unit and none of the calendar functions apply.
 */
#ifndef TELLTALE_TIME_H
#define TELLTALE_TIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t tt_time;

#define TT_USEC_PER_SEC INT64_C(1000000)
#define TT_USEC_PER_MIN (60 * TT_USEC_PER_SEC)
#define TT_USEC_PER_HOUR (3600 * TT_USEC_PER_SEC)
#define TT_USEC_PER_DAY (86400 * TT_USEC_PER_SEC)

/* Parse ISO 8601: "2026-11-24", "2026-11-24T10:00:00", with optional
 * fraction (up to microseconds), and "Z", "+hh:mm", "+hhmm" offsets (no
 * offset means UTC); a space may stand for the 'T'. Also accepts epoch numbers:
 * integer or decimal seconds (|x| < 1e11), milliseconds (< 1e14) or
 * microseconds. Returns 0 on success, -1 if s[0..len) is not a time. */
int tt_time_parse(const char *s, size_t len, tt_time *out);

/* Parse ISO 8601 only (no epoch numbers). */
int tt_time_parse_iso(const char *s, size_t len, tt_time *out);

/* "2026-11-24T10:00:00Z" or with ".123456" when there is a fraction.
 * buf needs at least 32 bytes. Returns buf. */
char *tt_time_format(tt_time t, char *buf, size_t size);

/* "2026-11-24" — the Hive partition value of t. buf >= 11 bytes. */
char *tt_time_format_date(tt_time t, char *buf, size_t size);

/* Days since 1970-01-01 of t (floor). */
int64_t tt_time_day(tt_time t);

/* Microseconds at 00:00 UTC of y-m-d (proleptic Gregorian). */
tt_time tt_time_from_civil(int64_t y, unsigned m, unsigned d);
void tt_time_to_civil(int64_t day, int64_t *y, unsigned *m, unsigned *d);

/* Parse a duration: "90s", "15m", "1h", "7d", "2w", "1500ms", "250us", or a
 * bare integer (microseconds). Returns 0 on success. */
int tt_duration_parse(const char *s, int64_t *usec);

/* Wall clock now, in tt_time; and a monotonic clock in seconds. */
tt_time tt_time_now(void);
double tt_monotonic(void);

#ifdef __cplusplus
}
#endif
#endif
