/* telltale — progress bars for long work on a terminal.
 *
 * Drawn on stderr only when stderr is a terminal (and TELLTALE_NO_PROGRESS
 * is unset), at most ten times a second; otherwise every call is a cheap
 * no-op, so library code may report progress unconditionally. Thread-safe:
 * workers may call tt_progress_add concurrently.
 */
#ifndef TELLTALE_PROGRESS_H
#define TELLTALE_PROGRESS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_progress tt_progress;

/* label: "ingest"; total: expected units (0 if unknown); unit: "B" for bytes
 * (shown as MB), anything else shown as a count ("rows", "rounds"). Returns
 * NULL when no bar is drawn or out of memory; every function accepts NULL. */
tt_progress *tt_progress_new(const char *label, uint64_t total, const char *unit);
void tt_progress_add(tt_progress *p, uint64_t delta);
void tt_progress_set(tt_progress *p, uint64_t done);
/* Draw the final state, end the line, free. */
void tt_progress_finish(tt_progress *p);

#ifdef __cplusplus
}
#endif
#endif
