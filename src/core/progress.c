/* Terminal progress bars. See include/telltale/progress.h. */
#include "telltale/progress.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "telltale/log.h"
#include "telltale/time.h"

struct tt_progress {
  char label[32];
  char unit[16];
  uint64_t total;
  _Atomic uint64_t done;
  _Atomic int64_t next_draw_us; /* rate limit shared by all threads */
  double started;
};

tt_progress *tt_progress_new(const char *label, uint64_t total, const char *unit) {
  if (!isatty(STDERR_FILENO) || getenv("TELLTALE_NO_PROGRESS") ||
      tt_log_get_format() == TT_LOG_JSON || tt_log_get_level() > TT_LOG_INFO)
    return NULL;
  tt_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
  p->total = total;
  p->started = tt_monotonic();
  return p;
}

static void draw(tt_progress *p, int final) {
  uint64_t done = atomic_load(&p->done);
  double secs = tt_monotonic() - p->started;
  int bytes = !strcmp(p->unit, "B");
  double scale = bytes ? 1e6 : 1;
  const char *u = bytes ? "MB" : p->unit;
  double rate = secs > 0 ? done / secs / scale : 0;
  char line[256];
  int n;
  if (p->total) {
    double frac = (double)done / (double)p->total;
    if (frac > 1) frac = 1;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    n = snprintf(line, sizeof line, "\r%-10s [%s] %3.0f%% %.1f/%.1f %s %.1f %s/s", p->label, bar,
                 frac * 100, done / scale, p->total / scale, u, rate, u);
  } else {
    n = snprintf(line, sizeof line, "\r%-10s %.1f %s %.1f %s/s", p->label, done / scale, u, rate, u);
  }
  if (n > 0) {
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (final) w = write(STDERR_FILENO, "\n", 1);
    (void)w;
  }
}

static void maybe_draw(tt_progress *p) {
  int64_t now = (int64_t)(tt_monotonic() * 1e6);
  int64_t next = atomic_load(&p->next_draw_us);
  if (now < next) return;
  if (atomic_compare_exchange_strong(&p->next_draw_us, &next, now + 100000)) draw(p, 0);
}

void tt_progress_add(tt_progress *p, uint64_t delta) {
  if (!p) return;
  atomic_fetch_add(&p->done, delta);
  maybe_draw(p);
}

void tt_progress_set(tt_progress *p, uint64_t done) {
  if (!p) return;
  atomic_store(&p->done, done);
  maybe_draw(p);
}

void tt_progress_finish(tt_progress *p) {
  if (!p) return;
  draw(p, 1);
  free(p);
}
