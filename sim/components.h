/* sim/components.h - the model and dataset registries (parameter tables and
 * constructors from a resolved configuration). */
#ifndef AFL_COMPONENTS_H
#define AFL_COMPONENTS_H

#include <stddef.h>

#include "data/dataset.h"
#include "models/net.h"
#include "sim/config.h"

const afl_component *afl_model_components(size_t *n);
const afl_component *afl_dataset_components(size_t *n);

/* Builds the model selected by model.type for inputs of shape (c,h,w). */
afl_net *afl_model_build(const afl_config *cfg, int c, int h, int w, int n_classes, afl_err *err);
/* Loads (or generates) the dataset selected by data.dataset, before normalisation. */
int afl_dataset_load(const afl_config *cfg, uint64_t seed, afl_dataset *train, afl_dataset *test,
                     afl_err *err);

#endif
