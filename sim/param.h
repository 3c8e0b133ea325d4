/* sim/param.h - declared parameters.
 *
 * Every component (core section, model, dataset, attack, defense) declares its
 * keys in a NULL-terminated afl_param table: type, default, allowed range, one
 * doc line.  Validation, `aflsim describe`, the resolved config.ini and
 * docs/scenario-keys.md are all generated from these tables, so they cannot
 * drift apart.  This header is plain data: any module may include it.
 */
#ifndef AFL_PARAM_H
#define AFL_PARAM_H

typedef enum {
    AFL_P_INT,     /* integer in [min, max] */
    AFL_P_REAL,    /* finite real in [min, max] */
    AFL_P_BOOL,    /* true/false (also yes/no, on/off, 1/0) */
    AFL_P_STR,     /* free text */
    AFL_P_ENUM,    /* one of choices "a|b|c" */
    AFL_P_PATH,    /* a file path; resolved to an absolute path; "" = unset */
    AFL_P_DIST,    /* a distribution such as lognormal(0, 0.5); choices = allowed families or NULL */
    AFL_P_INTLIST  /* comma-separated integers, each in [min, max] */
} afl_ptype;

typedef struct afl_param {
    const char *key;
    afl_ptype type;
    const char *def;     /* default, as it would be written in a scenario file */
    double min, max;     /* range for INT, REAL, INTLIST elements (inclusive) */
    const char *choices; /* ENUM: "a|b|c"; DIST: allowed families "a|b" or NULL for all */
    const char *doc;     /* one line */
} afl_param;

/* A pluggable component's public face (models, datasets, attacks, defenses). */
typedef struct afl_component {
    const char *name;
    const char *doc;      /* one line */
    const char *source;   /* paper / code the implementation follows */
    const afl_param *params;
} afl_component;

const char *afl_ptype_name(afl_ptype t);

#endif
