/* sim/describe.h - `aflsim list`, `aflsim describe` and `aflsim doc`: text
 * generated from the parameter tables (so docs cannot drift from the code). */
#ifndef AFL_DESCRIBE_H
#define AFL_DESCRIBE_H

#include <stdio.h>

#include "sim/err.h"

/* kind: models, datasets, delays, defenses, attacks, sections */
int afl_list(FILE *out, const char *kind, afl_err *err);
/* kind: model, dataset, delay, defense, attack, section */
int afl_describe(FILE *out, const char *kind, const char *name, afl_err *err);
/* Markdown reference of every section, key and component (docs/scenario-keys.md). */
void afl_doc_markdown(FILE *out);

#endif
