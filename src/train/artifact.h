/* Internal: the artefact format's parser, shared with its fuzz target. */
#ifndef TT_TRAIN_ARTIFACT_H
#define TT_TRAIN_ARTIFACT_H

#include <stddef.h>

#include "telltale/error.h"

/* Split an artefact's bytes (buf[0..len), which need not end in NUL) into
 * its metadata line and XGBoost model text (both malloc'd, NUL-terminated).
 * TT_PARSE for a bad header. */
tt_err tt__artifact_parse(const char *buf, size_t len, char **meta, char **model, size_t *model_len,
                          tt_error *err);

#endif
