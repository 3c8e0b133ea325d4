/* sim/config.h - scenario configuration: INI file + --set overrides, validated
 * against the declared parameter tables, every default filled in.
 *
 * Sections: [sim] [data] [model] [clients] [delay] [train] [attack] [defense]
 * [eval] [output].  Four sections select a component with one key (data.dataset,
 * model.type, attack.type, defense.type); that component's own parameters are
 * then valid keys of the same section.
 */
#ifndef AFL_CONFIG_H
#define AFL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "sim/dist.h"
#include "sim/err.h"
#include "sim/param.h"

#define AFL_VERSION "0.1.0"

typedef struct afl_config afl_config;

/* A section of the scenario file. */
typedef struct afl_section {
    const char *name;
    const char *doc;
    const afl_param *params;    /* the section's own keys */
    const char *selector;       /* key that selects a component, or NULL */
    const char *selector_default;
    const char *kind;           /* component kind for messages: "model", "defense", ... */
    const afl_component *(*components)(size_t *n); /* registry, or NULL */
} afl_section;

const afl_section *afl_sections(size_t *n);
const afl_section *afl_section_find(const char *name);
/* A component of a kind ("model", "dataset", "attack", "defense"); NULL if none. */
const afl_component *afl_component_find(const char *kind, const char *name);
const afl_component *afl_components(const char *kind, size_t *n);

afl_config *afl_config_new(void);
void afl_config_free(afl_config *c);
/* Reads an INI scenario file.  Errors name file:line. */
int afl_config_load_file(afl_config *c, const char *path, afl_err *err);
/* "section.key=value" from the command line; later overrides win. */
int afl_config_override(afl_config *c, const char *assignment, afl_err *err);
/* Removes the raw entries of [section] (e.g. [sweep]) from c and calls fn for each, in file
 * order, with its key, value and origin; stops at the first nonzero return. */
int afl_config_take_section(afl_config *c, const char *section,
                            int (*fn)(void *user, const char *key, const char *value,
                                      const char *origin),
                            void *user);
/* Validates every key and value, fills defaults, resolves paths.  Errors name
 * the origin (file:line or --set) and the closest valid key or the allowed range. */
int afl_config_resolve(afl_config *c, afl_err *err);
/* The resolved configuration as text (every key, with its doc as a comment). */
int afl_config_format(const afl_config *c, char **text, size_t *len, afl_err *err);
/* Writes the resolved configuration (every key, with its doc as a comment). */
int afl_config_write(const afl_config *c, const char *path, afl_err *err);
/* The scenario's name (file name without directory and .ini), or "scenario". */
const char *afl_config_name(const afl_config *c);

/* Typed getters of resolved values.  A key that is not declared is a bug: abort(). */
const char *afl_cfg_str(const afl_config *c, const char *section, const char *key);
int64_t afl_cfg_int(const afl_config *c, const char *section, const char *key);
double afl_cfg_real(const afl_config *c, const char *section, const char *key);
int afl_cfg_bool(const afl_config *c, const char *section, const char *key);
afl_dist afl_cfg_dist(const afl_config *c, const char *section, const char *key);
/* Where a resolved value came from: "file:line", "--set ..." or "default". */
const char *afl_cfg_origin(const afl_config *c, const char *section, const char *key);
/* INTLIST: number of elements written to out (at most max). */
int afl_cfg_intlist(const afl_config *c, const char *section, const char *key, int *out, int max);

/* Parses one value of a declared parameter (used by resolve, describe and tests).
 * why receives what was expected. */
int afl_param_check(const afl_param *p, const char *value, char *why, size_t why_len);
/* Levenshtein distance (for "did you mean"). */
int afl_edit_distance(const char *a, const char *b);

#endif
