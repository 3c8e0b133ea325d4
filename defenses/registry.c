/* defenses/registry.c - every defense, by name. */
#include <stddef.h>
#include <string.h>

#include "defenses/defense.h"

extern const afl_defense_ops afl_defense_asyncsgd;
extern const afl_defense_ops afl_defense_buffered;
extern const afl_defense_ops afl_defense_fltrust;
extern const afl_defense_ops afl_defense_fedasync;
extern const afl_defense_ops afl_defense_fedbuff;
extern const afl_defense_ops afl_defense_basgd;
extern const afl_defense_ops afl_defense_kardam;
extern const afl_defense_ops afl_defense_zenopp;
extern const afl_defense_ops afl_defense_aflguard;
extern const afl_defense_ops afl_defense_sageflow;
extern const afl_defense_ops afl_defense_asyncdefender;
extern const afl_defense_ops afl_defense_secureafl;
extern const afl_defense_ops afl_defense_fldetector;

static const afl_defense_ops *const all[] = {
    &afl_defense_asyncsgd,
    &afl_defense_buffered,
    &afl_defense_fltrust,
    &afl_defense_fedasync,
    &afl_defense_fedbuff,
    &afl_defense_basgd,
    &afl_defense_kardam,
    &afl_defense_zenopp,
    &afl_defense_aflguard,
    &afl_defense_sageflow,
    &afl_defense_asyncdefender,
    &afl_defense_secureafl,
    &afl_defense_fldetector,
};
#define N_DEFENSES (sizeof all / sizeof all[0])

static afl_component comps[N_DEFENSES];

const afl_component *afl_defense_components(size_t *n)
{
    for (size_t i = 0; i < N_DEFENSES; i++)
        comps[i] = all[i]->info;
    *n = N_DEFENSES;
    return comps;
}

const afl_defense_ops *afl_defense_find(const char *name)
{
    for (size_t i = 0; i < N_DEFENSES; i++)
        if (strcmp(all[i]->info.name, name) == 0)
            return all[i];
    return NULL;
}

const char *afl_verdict_name(afl_verdict v)
{
    switch (v) {
    case AFL_VERDICT_ACCEPTED: return "accepted";
    case AFL_VERDICT_REJECTED: return "rejected";
    case AFL_VERDICT_HELD: return "held";
    case AFL_VERDICT_WEIGHTED: return "weighted";
    }
    return "?";
}
