/* attacks/registry.c - every attack, by name. */
#include <stddef.h>
#include <string.h>

#include "attacks/attack.h"

extern const afl_attack_ops afl_attack_none;
extern const afl_attack_ops afl_attack_signflip;
extern const afl_attack_ops afl_attack_amplify;
extern const afl_attack_ops afl_attack_scaling;
extern const afl_attack_ops afl_attack_dba;
extern const afl_attack_ops afl_attack_pgd;
extern const afl_attack_ops afl_attack_neurotoxin;
extern const afl_attack_ops afl_attack_3dfed;
extern const afl_attack_ops afl_attack_labelflip;
extern const afl_attack_ops afl_attack_gaussian;
extern const afl_attack_ops afl_attack_ipm;
extern const afl_attack_ops afl_attack_lie;
extern const afl_attack_ops afl_attack_trim;
extern const afl_attack_ops afl_attack_krum;
extern const afl_attack_ops afl_attack_minmax;
extern const afl_attack_ops afl_attack_minsum;
extern const afl_attack_ops afl_attack_adaptive;
extern const afl_attack_ops afl_attack_adaptive_secureafl;

static const afl_attack_ops *const all[] = {
    &afl_attack_none,
    &afl_attack_signflip,
    &afl_attack_amplify,
    &afl_attack_scaling,
    &afl_attack_dba,
    &afl_attack_pgd,
    &afl_attack_neurotoxin,
    &afl_attack_3dfed,
    &afl_attack_labelflip,
    &afl_attack_gaussian,
    &afl_attack_ipm,
    &afl_attack_lie,
    &afl_attack_trim,
    &afl_attack_krum,
    &afl_attack_minmax,
    &afl_attack_minsum,
    &afl_attack_adaptive,
    &afl_attack_adaptive_secureafl,
};
#define N_ATTACKS (sizeof all / sizeof all[0])

static afl_component comps[N_ATTACKS];

const afl_component *afl_attack_components(size_t *n)
{
    for (size_t i = 0; i < N_ATTACKS; i++)
        comps[i] = all[i]->info;
    *n = N_ATTACKS;
    return comps;
}

const afl_attack_ops *afl_attack_find(const char *name)
{
    for (size_t i = 0; i < N_ATTACKS; i++)
        if (strcmp(all[i]->info.name, name) == 0)
            return all[i];
    return NULL;
}
