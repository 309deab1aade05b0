/* telltale — logging.
 *
 * Readable lines on a terminal ("12:00:01 info  ingest: read 10 files"), JSON
 * lines for daemons ({"ts":"…","level":"info","component":"ingest","msg":"…"}).
 * Logs go to stderr so that stdout stays data. Thread-safe: one write(2) per
 * line.
 */
#ifndef TELLTALE_LOG_H
#define TELLTALE_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tt_log_level {
  TT_LOG_DEBUG = 0,
  TT_LOG_INFO = 1,
  TT_LOG_WARN = 2,
  TT_LOG_ERROR = 3,
  TT_LOG_QUIET = 4 /* nothing is logged */
} tt_log_level;

typedef enum tt_log_format { TT_LOG_TEXT = 0, TT_LOG_JSON = 1 } tt_log_format;

void tt_log_configure(tt_log_format format, tt_log_level level);
/* Parse "text"/"json" and "debug"/"info"/"warn"/"error"/"quiet"; -1 if unknown. */
int tt_log_format_parse(const char *s);
int tt_log_level_parse(const char *s);
tt_log_level tt_log_get_level(void);
tt_log_format tt_log_get_format(void);

void tt_log(tt_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tt_debug(comp, ...) tt_log(TT_LOG_DEBUG, comp, __VA_ARGS__)
#define tt_info(comp, ...) tt_log(TT_LOG_INFO, comp, __VA_ARGS__)
#define tt_warn(comp, ...) tt_log(TT_LOG_WARN, comp, __VA_ARGS__)
#define tt_errorlog(comp, ...) tt_log(TT_LOG_ERROR, comp, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
