/* sim/dist.c - delay and speed distributions of time mode.
 *
 * Sources:
 * - Families and their uses: specs/algorithms.md section 2 (FedBuff/FLSim
 *   `training_duration_distribution.py` @ 7311f2d; BASGD ICLR'21 submission
 *   section 5; FLGo / FedScale lognormal latencies; THROTTLE stragglers) and
 *   DESIGN.md section 3.
 * - Draws of the classical families: GSL (gsl_ran_flat, gsl_ran_exponential,
 *   gsl_ran_lognormal, gsl_ran_pareto, gsl_ran_gamma, which is G. Marsaglia and
 *   W. W. Tsang, "A simple method for generating gamma variables", ACM TOMS
 *   26(3), 2000), called on the afl_rng stream, which is a gsl_rng.
 * - Truncated normal draws: C. P. Robert, "Simulation of truncated normal
 *   variables", Statistics and Computing 5, 1995: uniform proposals on short
 *   intervals, a translated exponential proposal with the optimal rate
 *   lambda = (a + sqrt(a^2 + 4)) / 2 in the tail, plain normal rejection
 *   otherwise.  Every branch accepts with probability >= 0.3 whatever the
 *   interval, so a far-tail interval such as truncnormal(0,1,8) costs a few
 *   uniforms and never spins (plain rejection would need 10^15 tries).
 * - Truncated normal moments: the textbook formulas (e.g. Johnson, Kotz,
 *   Balakrishnan, "Continuous Univariate Distributions" vol. 1, ch. 13)
 *   mean = mu + sigma (phi(a) - phi(b)) / Z,
 *   var  = sigma^2 [1 + (a phi(a) - b phi(b)) / Z - ((phi(a) - phi(b)) / Z)^2],
 *   Z = Phi(b) - Phi(a), are evaluated here as the same integrals by
 *   Gauss-Legendre quadrature of the density written relative to the end
 *   nearest its mode, because the formulas cancel catastrophically in the tail
 *   (Z underflows to 0 beyond a = 38, and 1 + a*lambda - lambda^2 loses every
 *   digit for large a) and on very short intervals.  tests/test_dist.c checks
 *   the two agree where the formulas are well conditioned.
 */
#include "sim/dist.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "sim/err.h"

/* ---- the family table ------------------------------------------------ */

static const afl_dist_family families[] = {
    [AFL_DIST_CONSTANT] = {"constant", 1, 1, "constant(c)",
                           "every draw is c >= 0: no heterogeneity, fixed spacing, or a straggler "
                           "slowdown factor such as THROTTLE's 100x",
                           "FLSim constant spacing; THROTTLE straggler (specs/algorithms.md 2)"},
    [AFL_DIST_UNIFORM] = {"uniform", 2, 2, "uniform(a, b)",
                          "uniform on [a, b), 0 <= a <= b; FedBuff/FLSim uniform training "
                          "durations U[min, 2*mean - min]",
                          "FLSim training_duration_distribution.py @ 7311f2d "
                          "(specs/algorithms.md 2)"},
    [AFL_DIST_EXPONENTIAL] = {"exponential", 1, 1, "exponential(mean)",
                              "exponential with the given mean > 0 (rate 1/mean); BASGD's "
                              "WikiText delay factor Exp(1), FLSim exponential durations, "
                              "Poisson wake-ups",
                              "BASGD ICLR'21 section 5; FLSim @ 7311f2d (specs/algorithms.md 2)"},
    [AFL_DIST_LOGNORMAL] = {"lognormal", 2, 2, "lognormal(mu, sigma)",
                            "exp(N(mu, sigma^2)), sigma >= 0; heavy-ish compute times as in "
                            "FLGo's LN latency and FedScale; T = base * lognormal(0, sigma)",
                            "FLGo, FedScale (specs/algorithms.md 2, heavy-tail options)"},
    [AFL_DIST_PARETO] = {"pareto", 2, 2, "pareto(xm, alpha)",
                         "Pareto on [xm, inf), P(X > x) = (xm / x)^alpha, xm > 0, alpha > 0; "
                         "heavy-tailed stragglers (mean infinite for alpha <= 1)",
                         "systems practice, specs/algorithms.md 2 (heavy-tail options, derived)"},
    [AFL_DIST_GAMMA] = {"gamma", 2, 2, "gamma(k, theta)",
                        "gamma with shape k > 0 and scale theta > 0 (mean k*theta); between "
                        "exponential (k = 1) and nearly constant (large k)",
                        "DESIGN.md 3; Marsaglia and Tsang 2000 sampler (GSL)"},
    [AFL_DIST_TRUNCNORMAL] = {"truncnormal", 2, 4, "truncnormal(mu, sigma[, lo[, hi]])",
                              "N(mu, sigma^2) conditioned on [lo, hi], sigma > 0, 0 <= lo < hi "
                              "(defaults lo = 0, hi = inf); BASGD's CIFAR-10 delay factor "
                              "truncnormal(0, 1), FLSim Gaussian durations bounded below",
                              "BASGD ICLR'21 section 5; FLSim @ 7311f2d; Robert 1995 sampler"},
};

enum { N_FAMILIES = sizeof families / sizeof families[0] };

/* Parameter names, for messages. */
static const char *const param_names[N_FAMILIES][4] = {
    [AFL_DIST_CONSTANT] = {"c"},
    [AFL_DIST_UNIFORM] = {"a", "b"},
    [AFL_DIST_EXPONENTIAL] = {"mean"},
    [AFL_DIST_LOGNORMAL] = {"mu", "sigma"},
    [AFL_DIST_PARETO] = {"xm", "alpha"},
    [AFL_DIST_GAMMA] = {"k", "theta"},
    [AFL_DIST_TRUNCNORMAL] = {"mu", "sigma", "lo", "hi"},
};

const afl_dist_family *afl_dist_families(size_t *n)
{
    if (n)
        *n = N_FAMILIES;
    return families;
}

static const afl_dist_family *find_n(const char *name, size_t len)
{
    for (size_t i = 0; i < N_FAMILIES; i++) {
        if (strlen(families[i].name) == len && memcmp(families[i].name, name, len) == 0)
            return &families[i];
    }
    return NULL;
}

const afl_dist_family *afl_dist_family_find(const char *name)
{
    return name ? find_n(name, strlen(name)) : NULL;
}

/* ---- parse, validate, format ------------------------------------------ */

#define SYNTAX_HINT "expected NAME(p1, ...) such as lognormal(0, 0.5)"

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return AFL_EINPUT;
}

/* The text between the parentheses of a signature: "mu, sigma[, lo[, hi]]". */
static void param_list(const afl_dist_family *f, char *buf, size_t len)
{
    const char *open = strchr(f->signature, '(');
    const char *close = strrchr(f->signature, ')');
    int n = (open && close && close > open) ? (int)(close - open - 1) : 0;
    snprintf(buf, len, "%.*s", n, open ? open + 1 : "");
}

int afl_dist_validate(const afl_dist *d, char *why, size_t why_len)
{
    if (!d || (unsigned)d->kind >= N_FAMILIES)
        return fail(why, why_len, "unknown distribution kind %d", d ? (int)d->kind : -1);
    const afl_dist_family *f = &families[d->kind];
    const char *nm = f->name;
    const char *const *pn = param_names[d->kind];
    if (d->np < f->min_params || d->np > f->max_params) {
        char pl[64];
        param_list(f, pl, sizeof pl);
        if (f->min_params == f->max_params)
            return fail(why, why_len, "%s takes %d parameter%s (%s), got %d", nm, f->min_params,
                        f->min_params == 1 ? "" : "s", pl, d->np);
        return fail(why, why_len, "%s takes %d to %d parameters (%s), got %d", nm, f->min_params,
                    f->max_params, pl, d->np);
    }
    for (int i = 0; i < d->np; i++) {
        if (!isfinite(d->p[i]))
            return fail(why, why_len, "%s: %s must be a finite number, got %g", nm, pn[i], d->p[i]);
        if (fabs(d->p[i]) > AFL_DIST_MAX)
            return fail(why, why_len, "%s: %s must be between %g and %g, got %g", nm, pn[i],
                        -AFL_DIST_MAX, AFL_DIST_MAX, d->p[i]);
    }
    const double *p = d->p;
    switch (d->kind) {
    case AFL_DIST_CONSTANT:
        if (!(p[0] >= 0))
            return fail(why, why_len, "constant: c must be >= 0, got %g", p[0]);
        break;
    case AFL_DIST_UNIFORM:
        if (!(p[0] >= 0))
            return fail(why, why_len, "uniform: a must be >= 0, got %g", p[0]);
        if (!(p[1] >= p[0]))
            return fail(why, why_len, "uniform: b must be >= a, got a = %g, b = %g", p[0], p[1]);
        break;
    case AFL_DIST_EXPONENTIAL:
        if (!(p[0] > 0))
            return fail(why, why_len, "exponential: mean must be > 0, got %g", p[0]);
        break;
    case AFL_DIST_LOGNORMAL:
        if (!(p[1] >= 0))
            return fail(why, why_len, "lognormal: sigma must be >= 0, got %g", p[1]);
        break;
    case AFL_DIST_PARETO:
        if (!(p[0] > 0))
            return fail(why, why_len, "pareto: xm must be > 0, got %g", p[0]);
        if (!(p[1] > 0))
            return fail(why, why_len, "pareto: alpha must be > 0, got %g", p[1]);
        break;
    case AFL_DIST_GAMMA:
        if (!(p[0] > 0))
            return fail(why, why_len, "gamma: k must be > 0, got %g", p[0]);
        if (!(p[1] > 0))
            return fail(why, why_len, "gamma: theta must be > 0, got %g", p[1]);
        break;
    case AFL_DIST_TRUNCNORMAL:
        if ((d->np < 3 && p[2] != 0) || (d->np < 4 && p[3] != INFINITY))
            return fail(why, why_len,
                        "truncnormal: lo and hi that were not given must hold their defaults "
                        "0 and inf");
        if (!(p[1] > 0))
            return fail(why, why_len, "truncnormal: sigma must be > 0, got %g", p[1]);
        if (!(p[2] >= 0))
            return fail(why, why_len, "truncnormal: lo must be >= 0, got %g", p[2]);
        if (!(p[2] < p[3]))
            return fail(why, why_len, "truncnormal: lo must be < hi, got lo = %g, hi = %g", p[2],
                        p[3]);
        break;
    }
    return 0;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        s++;
    return s;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of the parameter token at s (up to ',', ')' or the end), trailing
 * blanks removed: what the message shows as "got '...'". */
static int token_len(const char *s)
{
    size_t n = strcspn(s, ",)");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n > 40 ? 40 : (int)n;
}

int afl_dist_parse(const char *text, afl_dist *out, char *why, size_t why_len)
{
    if (!text)
        return fail(why, why_len, SYNTAX_HINT ", got nothing");
    const char *s = skip_ws(text);
    const char *name = s;
    while (is_name_char(*s))
        s++;
    size_t name_len = (size_t)(s - name);
    if (name_len == 0)
        return fail(why, why_len, SYNTAX_HINT ", got '%.60s'", text);
    const afl_dist_family *f = find_n(name, name_len);
    if (!f) {
        char list[160] = "", low[48];
        size_t ll = name_len < sizeof low - 1 ? name_len : sizeof low - 1;
        for (size_t i = 0; i < ll; i++)
            low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
        low[ll] = '\0';
        for (size_t i = 0; i < N_FAMILIES; i++) {
            strcat(list, i ? ", " : "");
            strcat(list, families[i].name);
        }
        return fail(why, why_len, "unknown distribution '%.*s'; expected one of %s%s",
                    (int)(name_len > 40 ? 40 : name_len), name, list,
                    ll == name_len && afl_dist_family_find(low) ? " (names are lower case)" : "");
    }
    afl_dist_kind kind = (afl_dist_kind)(f - families);
    const char *const *pn = param_names[kind];
    s = skip_ws(s);
    if (*s != '(')
        return fail(why, why_len, "missing '(' after '%s' in '%.60s'; " SYNTAX_HINT, f->name, text);
    s = skip_ws(s + 1);
    double v[4] = {0, 0, 0, 0};
    int np = 0;
    if (*s == ')') {
        s++;
    } else {
        for (;;) {
            char *end;
            double x = strtod(s, &end);
            np++;
            char label[48]; /* "parameter 2 (sigma)" */
            if (np <= f->max_params)
                snprintf(label, sizeof label, "parameter %d (%s)", np, pn[np - 1]);
            else
                snprintf(label, sizeof label, "parameter %d", np);
            if (end == s) {
                int tl = token_len(s);
                if (tl == 0)
                    return fail(why, why_len, "%s: %s is missing in '%.60s'", f->name, label, text);
                return fail(why, why_len, "%s: %s must be a number, got '%.*s'", f->name, label, tl,
                            s);
            }
            if (!isfinite(x))
                return fail(why, why_len, "%s: %s must be a finite number, got '%.*s'", f->name,
                            label, (int)(end - s > 40 ? 40 : end - s), s);
            if (np <= 4)
                v[np - 1] = x + 0.0; /* + 0.0 turns -0 into +0 */
            s = skip_ws(end);
            if (*s == ',') {
                s = skip_ws(s + 1);
                continue;
            }
            if (*s == ')') {
                s++;
                break;
            }
            if (*s == '\0')
                return fail(why, why_len, "missing ')' in '%.60s'; " SYNTAX_HINT, text);
            return fail(why, why_len,
                        "unexpected '%.*s' after parameter %d of %s in '%.60s'; expected ',' "
                        "or ')'",
                        token_len(s) ? token_len(s) : 1, s, np, f->name, text);
        }
    }
    s = skip_ws(s);
    if (*s != '\0')
        return fail(why, why_len, "unexpected text '%.20s' after ')' in '%.60s'; " SYNTAX_HINT, s,
                    text);

    afl_dist d = {.kind = kind, .np = np};
    for (int i = 0; i < np && i < 4; i++)
        d.p[i] = v[i];
    if (kind == AFL_DIST_TRUNCNORMAL) {
        if (np < 3)
            d.p[2] = 0.0;
        if (np < 4)
            d.p[3] = INFINITY;
    }
    int rc = afl_dist_validate(&d, why, why_len);
    if (rc)
        return rc;
    *out = d;
    return 0;
}

void afl_dist_format(const afl_dist *d, char *buf, size_t len)
{
    if (!buf || len == 0)
        return;
    if ((unsigned)d->kind >= N_FAMILIES) {
        snprintf(buf, len, "?");
        return;
    }
    size_t k = (size_t)snprintf(buf, len, "%s(", families[d->kind].name);
    for (int i = 0; i < d->np && i < 4; i++) {
        if (k < len)
            k += (size_t)snprintf(buf + k, len - k, "%s%.17g", i ? "," : "", d->p[i]);
    }
    if (k < len)
        snprintf(buf + k, len - k, ")");
}

int afl_dist_equal(const afl_dist *a, const afl_dist *b)
{
    if (a->kind != b->kind || a->np != b->np)
        return 0;
    /* Unused slots do not count, except truncnormal's filled-in lo and hi. */
    int n = a->kind == AFL_DIST_TRUNCNORMAL ? 4 : a->np;
    for (int i = 0; i < n && i < 4; i++) {
        if (a->p[i] != b->p[i])
            return 0;
    }
    return 1;
}

/* ---- truncated normal ------------------------------------------------- */

/* Rejection loops accept with probability >= 0.3 per try (Robert 1995, and
 * the bounds noted at each branch), so this many failures has probability
 * below 10^-15000: the fallback exists only so that no loop is unbounded. */
enum { TN_MAX_TRIES = 100000 };

/* Z ~ N(0,1) given a <= Z <= b, for 0 <= a < b <= inf, a finite. */
static double tn_right(afl_rng *r, double a, double b)
{
    if ((b - a) * (b + a) <= 2.0) {
        /* Short interval: uniform proposal, accepted with exp((a^2 - z^2)/2)
         * >= exp(-(b^2 - a^2)/2) >= e^-1. */
        for (int t = 0; t < TN_MAX_TRIES; t++) {
            double z = a + (b - a) * afl_rng_uniform(r);
            if (afl_rng_uniform(r) <= exp(0.5 * (a - z) * (a + z)))
                return z;
        }
        return a;
    }
    /* Tail: z = a + Exp(lambda) accepted with exp(-(z - lambda)^2 / 2), which
     * accepts >= 0.76 of proposals (Robert 1995); z > b is also rejected, at
     * most 1 - Q(b)/Q(a) >= 1 - e^-1 of them since b^2 - a^2 > 2.  lambda is
     * (a + sqrt(a^2 + 4)) / 2 written so that it does not cancel or overflow. */
    double lambda = a + 2.0 / (a + sqrt(a * a + 4.0));
    for (int t = 0; t < TN_MAX_TRIES; t++) {
        double e = gsl_ran_exponential(r, 1.0 / lambda);
        double z = a + e;
        if (z > b)
            continue;
        double dz = e - (lambda - a);
        if (afl_rng_uniform(r) <= exp(-0.5 * dz * dz))
            return z;
    }
    return a;
}

/* Z ~ N(0,1) given a <= Z <= b, for a < 0 < b (a may be -inf, b +inf). */
static double tn_mixed(afl_rng *r, double a, double b)
{
    if (b - a < 2.5066282746310002) { /* sqrt(2 pi) */
        /* Uniform proposal accepted with exp(-z^2/2): acceptance
         * Z sqrt(2 pi) / (b - a) >= Phi(sqrt(2 pi)) - 1/2 = 0.49. */
        for (int t = 0; t < TN_MAX_TRIES; t++) {
            double z = a + (b - a) * afl_rng_uniform(r);
            if (afl_rng_uniform(r) <= exp(-0.5 * z * z))
                return z;
        }
        return 0.0;
    }
    /* Wide interval containing 0: plain rejection accepts Z >= 0.49. */
    for (int t = 0; t < TN_MAX_TRIES; t++) {
        double z = afl_rng_normal(r);
        if (z >= a && z <= b)
            return z;
    }
    return 0.0;
}

static double truncnormal_sample(const double *p, afl_rng *r)
{
    double mu = p[0], sigma = p[1], lo = p[2], hi = p[3];
    double a = (lo - mu) / sigma, b = (hi - mu) / sigma;
    double z;
    if (a >= 0) {
        if (a == INFINITY) /* sigma so small that the mass sits on lo */
            return lo;
        z = tn_right(r, a, b);
    } else if (b <= 0) {
        if (b == -INFINITY)
            return hi;
        z = -tn_right(r, -b, -a);
    } else {
        z = tn_mixed(r, a, b);
    }
    double x = mu + sigma * z;
    return x < lo ? lo : x > hi ? hi : x; /* rounding of mu + sigma*z */
}

/* 8-point Gauss-Legendre nodes and weights on [-1, 1]. */
static const double gl_x[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                               0.9602898564975363};
static const double gl_w[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745,
                               0.1012285362903763};

/* Weight w(s) = exp(-c1 s - c2 s^2) on [s0, s1]; returns the mean and variance
 * of s under w, integrating over panels of width <= 0.5 (w is smooth and
 * varies on a scale >= 1 there, so 8 nodes per panel give ~1e-15). */
static void quad_moments(double c1, double c2, double s0, double s1, double *mean, double *var)
{
    int panels = (int)ceil((s1 - s0) / 0.5);
    if (panels < 1)
        panels = 1;
    double h = (s1 - s0) / panels;
    double m0 = 0, m1 = 0;
    for (int pass = 0; pass < 2; pass++) {
        double m = pass ? m1 / m0 : 0, acc = 0;
        for (int k = 0; k < panels; k++) {
            double mid = s0 + (k + 0.5) * h;
            for (int j = 0; j < 8; j++) {
                double s = mid + (j < 4 ? -1 : 1) * gl_x[j & 3] * 0.5 * h;
                double w = gl_w[j & 3] * exp(-c1 * s - c2 * s * s);
                if (pass == 0) {
                    m0 += w;
                    m1 += w * s;
                } else {
                    acc += w * (s - m) * (s - m);
                }
            }
        }
        if (pass == 0)
            *mean = m1 / m0;
        else
            *var = acc / m0;
    }
}

/* Mean and variance of Z ~ N(0,1) given a <= Z <= b, 0 <= a < b <= inf. */
static void tn_right_moments(double a, double b, double *mean, double *var)
{
    /* z = a + s/c: the density is proportional to exp(-(a/c) s - s^2/(2c^2)),
     * which with c = max(a, 1) decays like exp(-s) or faster, so [0, 60]
     * holds all but e^-60 of the mass whatever a is. */
    double c = a > 1 ? a : 1;
    double s1 = (b - a) * c;
    if (!(s1 < 60))
        s1 = 60;
    double m, v;
    quad_moments(a / c, 0.5 / (c * c), 0.0, s1, &m, &v);
    *mean = a + m / c;
    *var = v / (c * c);
}

static void tn_moments(const double *p, double *mean, double *var)
{
    double mu = p[0], sigma = p[1], lo = p[2], hi = p[3];
    double a = (lo - mu) / sigma, b = (hi - mu) / sigma, m, v;
    /* So far in a tail that the excess over the end is Exp(rate a / sigma) to
     * double precision (a may even have overflowed to infinity). */
    if (a > 1e150 || b < -1e150) {
        double scale = a > 0 ? sigma / a : sigma / -b; /* 0 when a or b is infinite */
        *mean = a > 0 ? lo + scale : hi - scale;
        *var = scale * scale;
        return;
    }
    if (a >= 0) {
        tn_right_moments(a, b, &m, &v);
    } else if (b <= 0) {
        tn_right_moments(-b, -a, &m, &v);
        m = -m;
    } else {
        /* 0 inside: weight exp(-z^2/2), negligible beyond |z| = 40. */
        quad_moments(0.0, 0.5, a > -40 ? a : -40, b < 40 ? b : 40, &m, &v);
    }
    double x = mu + sigma * m;
    *mean = x < lo ? lo : x > hi ? hi : x;
    *var = sigma * sigma * v;
}

/* ---- draws and moments ------------------------------------------------ */

double afl_dist_sample(const afl_dist *d, afl_rng *rng)
{
    const double *p = d->p;
    double x;
    switch (d->kind) {
    case AFL_DIST_CONSTANT: x = p[0]; break;
    case AFL_DIST_UNIFORM: x = gsl_ran_flat(rng, p[0], p[1]); break;
    case AFL_DIST_EXPONENTIAL: x = gsl_ran_exponential(rng, p[0]); break;
    case AFL_DIST_LOGNORMAL: x = gsl_ran_lognormal(rng, p[0], p[1]); break;
    case AFL_DIST_PARETO: x = gsl_ran_pareto(rng, p[1], p[0]); break;
    case AFL_DIST_GAMMA: x = gsl_ran_gamma(rng, p[0], p[1]); break;
    case AFL_DIST_TRUNCNORMAL: x = truncnormal_sample(p, rng); break;
    default:
        assert(!"invalid afl_dist kind");
        x = 0;
        break;
    }
    assert(!isnan(x));
    if (!(x <= AFL_DIST_MAX)) /* overflowed heavy tail (or NaN in a release build) */
        x = AFL_DIST_MAX;
    if (!(x > 0)) /* also maps -0 to +0 */
        x = 0;
    return x;
}

double afl_dist_mean(const afl_dist *d)
{
    const double *p = d->p;
    switch (d->kind) {
    case AFL_DIST_CONSTANT: return p[0];
    case AFL_DIST_UNIFORM: return 0.5 * (p[0] + p[1]);
    case AFL_DIST_EXPONENTIAL: return p[0];
    case AFL_DIST_LOGNORMAL: return exp(p[0] + 0.5 * p[1] * p[1]);
    case AFL_DIST_PARETO: return p[1] > 1 ? p[1] * p[0] / (p[1] - 1) : INFINITY;
    case AFL_DIST_GAMMA: return p[0] * p[1];
    case AFL_DIST_TRUNCNORMAL: {
        double m, v;
        tn_moments(p, &m, &v);
        return m;
    }
    }
    return NAN;
}

double afl_dist_variance(const afl_dist *d)
{
    const double *p = d->p;
    switch (d->kind) {
    case AFL_DIST_CONSTANT: return 0.0;
    case AFL_DIST_UNIFORM: return (p[1] - p[0]) * (p[1] - p[0]) / 12.0;
    case AFL_DIST_EXPONENTIAL: return p[0] * p[0];
    case AFL_DIST_LOGNORMAL:
        if (p[1] == 0)
            return 0.0;
        return expm1(p[1] * p[1]) * exp(2 * p[0] + p[1] * p[1]);
    case AFL_DIST_PARETO:
        if (!(p[1] > 2))
            return INFINITY;
        return p[0] * p[0] * p[1] / ((p[1] - 1) * (p[1] - 1) * (p[1] - 2));
    case AFL_DIST_GAMMA: return p[0] * p[1] * p[1];
    case AFL_DIST_TRUNCNORMAL: {
        double m, v;
        tn_moments(p, &m, &v);
        return v;
    }
    }
    return NAN;
}
