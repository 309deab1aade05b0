/* telltale — project directories.
 *
 * A project is a directory with telltale.yaml and the dataset's declarations:
 *   telltale.yaml         lake path, registry URL, online store, Kafka brokers
 *   schemas/NAME.yaml       table schemas (see docs/schema.md)
 *   features/NAME.yaml      feature sets (features stage)
 *   models/NAME.yaml        model specs (training stage)
 */
#ifndef TELLTALE_PROJECT_H
#define TELLTALE_PROJECT_H

#include "telltale/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create DIR (and parents) with an example project for the simulated fleet.
 * Existing files are left as they are. */
tt_err tt_project_init(const char *dir, tt_error *err) TT_WARN_UNUSED;

/* The example fleet schema written by tt_project_init (YAML text), the one
 * `telltale simulate` produces data for. */
const char *tt_project_example_schema(void);

/* The example feature set (features/vehicle_health.yaml, YAML text). */
const char *tt_project_example_features(void);

#ifdef __cplusplus
}
#endif
#endif
