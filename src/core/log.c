/* Logging to stderr, text or JSON lines. See include/telltale/log.h. */
#include "telltale/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/json_escape.h"

static tt_log_format g_format = TT_LOG_TEXT;
static tt_log_level g_level = TT_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "quiet"};

void tt_log_configure(tt_log_format format, tt_log_level level) {
  g_format = format;
  g_level = level;
}

tt_log_level tt_log_get_level(void) { return g_level; }
tt_log_format tt_log_get_format(void) { return g_format; }

int tt_log_format_parse(const char *s) {
  if (!s) return -1;
  if (!strcmp(s, "text")) return TT_LOG_TEXT;
  if (!strcmp(s, "json")) return TT_LOG_JSON;
  return -1;
}

int tt_log_level_parse(const char *s) {
  if (!s) return -1;
  for (int i = 0; i <= TT_LOG_QUIET; i++)
    if (!strcmp(s, level_names[i])) return i;
  if (!strcmp(s, "warning")) return TT_LOG_WARN;
  return -1;
}

void tt_log(tt_log_level level, const char *component, const char *fmt, ...) {
  if (level < g_level || level >= TT_LOG_QUIET) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);

  char line[4096];
  int n;
  if (g_format == TT_LOG_JSON) {
    char esc[3 * sizeof msg];
    tt_json_escape(esc, sizeof esc, msg);
    n = snprintf(line, sizeof line,
                 "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"level\":\"%s\","
                 "\"component\":\"%s\",\"msg\":\"%s\"}\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (long)tv.tv_usec, level_names[level], component ? component : "",
                 esc);
  } else {
    n = snprintf(line, sizeof line, "%02d:%02d:%02d %-5s %s%s%s\n", tm.tm_hour, tm.tm_min,
                 tm.tm_sec, level_names[level], component ? component : "",
                 component ? ": " : "", msg);
  }
  if (n < 0) return;
  if ((size_t)n >= sizeof line) {
    n = sizeof line - 1;
    line[n - 1] = '\n';
  }
  ssize_t w = write(STDERR_FILENO, line, (size_t)n);
  (void)w;
}
