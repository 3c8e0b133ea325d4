/* sim/dist.h - delay and speed distributions of time mode.
 *
 * A distribution is written NAME(p1, ...) in scenario files, e.g.
 * "lognormal(0, 0.5)" (DESIGN.md section 3; the families and where each is used
 * are in specs/algorithms.md section 2).  Every draw is a time or a speed
 * factor: finite and >= 0, drawn only from the stream passed in, so one seed
 * gives the same numbers on every run.
 */
#ifndef AFL_DIST_H
#define AFL_DIST_H

#include <stddef.h>

#include "sim/rng.h"

typedef enum {
    AFL_DIST_CONSTANT,    /* constant(c) */
    AFL_DIST_UNIFORM,     /* uniform(a, b) */
    AFL_DIST_EXPONENTIAL, /* exponential(mean) */
    AFL_DIST_LOGNORMAL,   /* lognormal(mu, sigma) */
    AFL_DIST_PARETO,      /* pareto(xm, alpha) */
    AFL_DIST_GAMMA,       /* gamma(k, theta) */
    AFL_DIST_TRUNCNORMAL  /* truncnormal(mu, sigma[, lo[, hi]]) */
} afl_dist_kind;

/* p[0..np) are the parameters as written.  truncnormal always has p[2] = lo
 * and p[3] = hi filled in (defaults 0 and +INFINITY) while np records how many
 * were written, so that format gives back the text's form. */
typedef struct {
    afl_dist_kind kind;
    double p[4];
    int np;
} afl_dist;

typedef struct {
    const char *name; /* "lognormal" */
    int min_params, max_params;
    const char *signature; /* "lognormal(mu, sigma)" */
    const char *doc;       /* one line: what it is, parameter ranges, where it is used */
    const char *source;    /* where the model comes from */
} afl_dist_family;

/* Largest value a parameter may have in magnitude, and the cap on draws:
 * heavy tails (pareto with small alpha, lognormal with large sigma) can
 * exceed any double, and a draw must stay finite.  1e15 seconds is 30 million
 * years, so the cap changes nothing a scenario can observe. */
#define AFL_DIST_MAX 1e15

/* Parses "lognormal(0, 0.5)", "constant(1)", "truncnormal(1,1,0)", ...
 * Whitespace is allowed around names, numbers and punctuation; names are
 * lower case.  Returns 0 and fills *out, or returns AFL_EINPUT, leaves *out
 * untouched and writes into why (if not NULL) one sentence saying what was
 * expected.  Trailing text, non-finite numbers and out-of-range parameters
 * are errors. */
int afl_dist_parse(const char *text, afl_dist *out, char *why, size_t why_len);

/* Checks the parameters of a distribution built without afl_dist_parse.
 * 0 if valid, else AFL_EINPUT with a sentence in why (same as parse). */
int afl_dist_validate(const afl_dist *d, char *why, size_t why_len);

/* Canonical text "name(p1,p2)" with %.17g numbers: parse(format(d)) gives d
 * back bit for bit.  Truncates like snprintf when len is too small. */
void afl_dist_format(const afl_dist *d, char *buf, size_t len);

/* 1 when a and b are the same distribution written the same way. */
int afl_dist_equal(const afl_dist *a, const afl_dist *b);

/* One draw from d (valid parameters): finite, >= 0, at most AFL_DIST_MAX. */
double afl_dist_sample(const afl_dist *d, afl_rng *rng);

/* Mean and variance of d (ignoring the AFL_DIST_MAX cap); INFINITY when
 * undefined (pareto alpha <= 1 or <= 2) or beyond the range of a double. */
double afl_dist_mean(const afl_dist *d);
double afl_dist_variance(const afl_dist *d);

/* The table of families, for `aflsim list delays` and `aflsim describe delay NAME`. */
const afl_dist_family *afl_dist_families(size_t *n);
/* The family called name, or NULL. */
const afl_dist_family *afl_dist_family_find(const char *name);

#endif
