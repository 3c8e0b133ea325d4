/* sim/sweep.c - parameter sweeps (see sweep.h). */
#include "sim/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/fsutil.h"
#include "sim/run.h"

/* ---- building the grid ---------------------------------------------------------------- */

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *trimmed(const char *a, size_t n)
{
    while (n && (*a == ' ' || *a == '\t'))
        a++, n--;
    while (n && (a[n - 1] == ' ' || a[n - 1] == '\t'))
        n--;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, a, n);
        d[n] = 0;
    }
    return d;
}

static void free_values(char **v, int n)
{
    for (int k = 0; v && k < n; k++)
        free(v[k]);
    free(v);
}

/* Splits a comma list, keeping commas inside parentheses (distributions).  On failure
 * nothing is left allocated. */
static int split_values(const char *v, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    int depth = 0;
    const char *start = v;
    for (const char *p = v;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        if (*p == 0 || (*p == ',' && depth == 0)) {
            char **nv = realloc(*out, (size_t)(*n + 1) * sizeof *nv);
            if (!nv || !(nv[*n] = trimmed(start, (size_t)(p - start)))) {
                free_values(nv ? nv : *out, *n);
                *out = NULL;
                *n = 0;
                return -1;
            }
            *out = nv;
            (*n)++;
            if (*p == 0)
                break;
            start = p + 1;
        }
    }
    return 0;
}

/* At most this many axes (point coordinates are kept in fixed arrays of this size). */
#define AFL_SWEEP_MAX_AXES 64
/* At most this many seeds, and at most this many points in a sweep. */
#define AFL_SWEEP_MAX_SEEDS 100000
#define AFL_SWEEP_MAX_POINTS 10000000

int afl_sweep_add_axis(afl_sweep *s, const char *spec, const char *origin, afl_err *err)
{
    const char *eq = strchr(spec, '='), *dot = strchr(spec, '.');
    if (!eq || !dot || dot > eq || dot == spec || eq == dot + 1)
        return afl_err_set(err, AFL_EINPUT,
                           "%s '%s': expected section.key=v1,v2,... (e.g. "
                           "attack.type=none,signflip)",
                           origin, spec);
    char *sec = trimmed(spec, (size_t)(dot - spec)), *key = trimmed(dot + 1, (size_t)(eq - dot - 1));
    char **vals = NULL;
    int nv = 0, rc = AFL_OK;
    if (!sec || !key || split_values(eq + 1, &vals, &nv)) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nv; i++)
        if (!vals[i][0]) {
            rc = afl_err_set(err, AFL_EINPUT, "%s '%s': empty value in the list", origin, spec);
            goto fail;
        }
    if (strcmp(sec, "sim") == 0 && strcmp(key, "seed") == 0) {
        rc = afl_err_set(err, AFL_EINPUT, "%s: sweep seeds with --seeds (e.g. --seeds 1-5)",
                         origin);
        goto fail;
    }
    /* a later axis for the same key replaces the earlier one */
    for (int a = 0; a < s->naxes; a++)
        if (strcmp(s->axes[a].section, sec) == 0 && strcmp(s->axes[a].key, key) == 0) {
            free_values(s->axes[a].values, s->axes[a].nvalues);
            free(sec), free(key);
            s->axes[a].values = vals;
            s->axes[a].nvalues = nv;
            return AFL_OK;
        }
    if (s->naxes >= AFL_SWEEP_MAX_AXES) {
        rc = afl_err_set(err, AFL_EINPUT, "%s '%s': a sweep has at most %d axes", origin, spec,
                         AFL_SWEEP_MAX_AXES);
        goto fail;
    }
    afl_sweep_axis *na = realloc(s->axes, (size_t)(s->naxes + 1) * sizeof *na);
    if (!na) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
        goto fail;
    }
    s->axes = na;
    s->axes[s->naxes++] = (afl_sweep_axis){sec, key, vals, nv};
    return AFL_OK;
fail:
    free(sec), free(key);
    free_values(vals, nv);
    return rc;
}

int afl_sweep_set_seeds(afl_sweep *s, const char *spec, const char *origin, afl_err *err)
{
    free(s->seeds);
    s->seeds = NULL;
    s->nseeds = 0;
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long long a = strtoll(p, &end, 10), b = a;
        if (end == p || errno || a < 0)
            goto bad;
        p = end;
        if (*p == '-') {
            b = strtoll(p + 1, &end, 10);
            if (end == p + 1 || errno || b < a || b - a > AFL_SWEEP_MAX_SEEDS)
                goto bad;
            p = end;
        }
        if (b - a >= AFL_SWEEP_MAX_SEEDS - s->nseeds)
            return afl_err_set(err, AFL_EINPUT, "%s '%s': more than %d seeds", origin, spec,
                               AFL_SWEEP_MAX_SEEDS);
        int64_t *ns = realloc(s->seeds, (size_t)(s->nseeds + (b - a) + 1) * sizeof *ns);
        if (!ns)
            return afl_err_set(err, AFL_ENOMEM, "out of memory");
        s->seeds = ns;
        for (long long v = a; v <= b; v++)
            s->seeds[s->nseeds++] = v;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    if (s->nseeds == 0)
        goto bad;
    return AFL_OK;
bad:
    return afl_err_set(err, AFL_EINPUT,
                       "%s '%s': expected seeds like 1-5, 1,3,7 or 2-4,9 (non-negative integers)",
                       origin, spec);
}

typedef struct {
    afl_sweep *s;
    afl_err *err;
    int have_cli_axes;
    char **cli_keys;
} section_ctx;

static int on_sweep_key(void *user, const char *key, const char *value, const char *origin)
{
    section_ctx *x = user;
    afl_sweep *s = x->s;
    if (strcmp(key, "seeds") == 0)
        return s->nseeds ? AFL_OK : afl_sweep_set_seeds(s, value, origin, x->err);
    if (strcmp(key, "jobs") == 0) {
        char *end;
        errno = 0;
        long j = strtol(value, &end, 10);
        if (end == value || *end || errno || j < 0 || j > 4096)
            return afl_err_set(x->err, AFL_EINPUT, "%s: [sweep] jobs = %s: expected an integer in [0, 4096]",
                               origin, value);
        if (s->jobs == 0)
            s->jobs = (int)j;
        return AFL_OK;
    }
    if (!strchr(key, '.'))
        return afl_err_set(x->err, AFL_EINPUT,
                           "%s: unknown key '%s' in [sweep]; expected seeds, jobs, or an axis "
                           "written section.key = v1,v2,...",
                           origin, key);
    /* command-line axes win over the file's */
    for (int a = 0; a < s->naxes; a++) {
        char full[256];
        snprintf(full, sizeof full, "%s.%s", s->axes[a].section, s->axes[a].key);
        if (strcmp(full, key) == 0)
            return AFL_OK;
    }
    char spec[8192];
    if (snprintf(spec, sizeof spec, "%s=%s", key, value) >= (int)sizeof spec)
        return afl_err_set(x->err, AFL_EINPUT, "%s: [sweep] %s: the list of values is too long",
                           origin, key);
    return afl_sweep_add_axis(s, spec, origin, x->err);
}

int afl_sweep_load_section(afl_sweep *s, afl_err *err)
{
    afl_config *c = afl_config_new();
    if (!c)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    int rc = afl_config_load_file(c, s->scenario, err);
    section_ctx x = {s, err, 0, NULL};
    if (!rc)
        rc = afl_config_take_section(c, "sweep", on_sweep_key, &x);
    afl_config_free(c);
    return rc;
}

void afl_sweep_free(afl_sweep *s)
{
    for (int a = 0; a < s->naxes; a++) {
        for (int k = 0; k < s->axes[a].nvalues; k++)
            free(s->axes[a].values[k]);
        free(s->axes[a].values);
        free(s->axes[a].section);
        free(s->axes[a].key);
    }
    free(s->axes);
    free(s->seeds);
    s->axes = NULL;
    s->seeds = NULL;
    s->naxes = s->nseeds = 0;
}

/* ---- points ---------------------------------------------------------------------------- */

static int n_points(const afl_sweep *s)
{
    long long n = s->nseeds ? s->nseeds : 1;
    for (int a = 0; a < s->naxes; a++) {
        n *= s->axes[a].nvalues; /* both <= 10^7 here: no overflow */
        if (n > AFL_SWEEP_MAX_POINTS)
            return -1;
    }
    return n > AFL_SWEEP_MAX_POINTS ? -1 : (int)n;
}

/* Value index of axis a and the seed index of point p (last axis fastest, seeds innermost). */
static void point_coords(const afl_sweep *s, int p, int *vi, int *si)
{
    int ns = s->nseeds ? s->nseeds : 1;
    *si = p % ns;
    p /= ns;
    for (int a = s->naxes - 1; a >= 0; a--) {
        vi[a] = p % s->axes[a].nvalues;
        p /= s->axes[a].nvalues;
    }
}

static uint32_t fnv1a(const char *t)
{
    uint32_t h = 2166136261u;
    for (; *t; t++)
        h = (h ^ (unsigned char)*t) * 16777619u;
    return h;
}

/* Appends len bytes of t to buf (size n, *j used), truncating; buf stays NUL-terminated. */
static void name_put(char *buf, size_t n, size_t *j, const char *t, size_t len)
{
    if (*j + 1 >= n)
        return;
    if (len > n - 1 - *j)
        len = n - 1 - *j;
    memcpy(buf + *j, t, len);
    *j += len;
    buf[*j] = 0;
}

/* Longest folder name before the seed part (a path component has at most 255 bytes). */
#define POINT_NAME_MAX 190

/* Folder name of a point: section.key-value__...__seed-S, safe characters only
 * (a short hash is added when a value had to be changed, so names stay unique; a name
 * longer than POINT_NAME_MAX is cut and gets a hash of the whole name).  n >= 256. */
static void point_name(const afl_sweep *s, int p, char *buf, size_t n)
{
    int vi[AFL_SWEEP_MAX_AXES], si;
    point_coords(s, p, vi, &si);
    char full[8192];
    size_t j = 0;
    full[0] = 0;
    int changed = 0;
    uint32_t h = 2166136261u; /* fnv1a of "v1;v2;..." */
    for (int a = 0; a < s->naxes; a++) {
        const char *v = s->axes[a].values[vi[a]];
        if (a)
            name_put(full, sizeof full, &j, "__", 2);
        name_put(full, sizeof full, &j, s->axes[a].section, strlen(s->axes[a].section));
        name_put(full, sizeof full, &j, ".", 1);
        name_put(full, sizeof full, &j, s->axes[a].key, strlen(s->axes[a].key));
        name_put(full, sizeof full, &j, "-", 1);
        for (const char *c = v; *c; c++) {
            int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '+';
            name_put(full, sizeof full, &j, ok ? c : "_", 1);
            changed |= !ok;
            h = (h ^ (unsigned char)*c) * 16777619u;
        }
        h = (h ^ (unsigned char)';') * 16777619u;
    }
    char tag[32];
    if (changed) {
        snprintf(tag, sizeof tag, "~%08x", h);
        name_put(full, sizeof full, &j, tag, strlen(tag));
    }
    if (j > POINT_NAME_MAX) {
        snprintf(tag, sizeof tag, "~%08x", fnv1a(full));
        j = POINT_NAME_MAX;
        full[j] = 0;
        name_put(full, sizeof full, &j, tag, strlen(tag));
    }
    if (s->nseeds) {
        snprintf(tag, sizeof tag, "%sseed-%lld", s->naxes ? "__" : "", (long long)s->seeds[si]);
        name_put(full, sizeof full, &j, tag, strlen(tag));
    }
    snprintf(buf, n, "%s", j ? full : "run");
}

/* The resolved configuration of point p. */
static int point_config(const afl_sweep *s, int p, afl_config **out, afl_err *err)
{
    int vi[AFL_SWEEP_MAX_AXES], si;
    point_coords(s, p, vi, &si);
    afl_config *c = afl_config_new();
    if (!c)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    int rc = afl_config_load_file(c, s->scenario, err);
    if (!rc)
        afl_config_take_section(c, "sweep", NULL, NULL);
    for (int i = 0; !rc && i < s->nsets; i++)
        rc = afl_config_override(c, s->sets[i], err);
    char a[4200];
    for (int k = 0; !rc && k < s->naxes; k++) {
        if (snprintf(a, sizeof a, "%s.%s=%s", s->axes[k].section, s->axes[k].key,
                     s->axes[k].values[vi[k]]) >= (int)sizeof a)
            rc = afl_err_set(err, AFL_EINPUT, "sweep axis %.100s.%.100s: a value is longer than "
                             "%d characters", s->axes[k].section, s->axes[k].key,
                             (int)sizeof a - 200);
        else
            rc = afl_config_override(c, a, err);
    }
    if (!rc && s->nseeds) {
        snprintf(a, sizeof a, "sim.seed=%lld", (long long)s->seeds[si]);
        rc = afl_config_override(c, a, err);
    }
    if (!rc)
        rc = afl_config_resolve(c, err);
    if (rc) {
        char name[1024];
        point_name(s, p, name, sizeof name);
        afl_err_prefix(err, "sweep point %s", name);
        afl_config_free(c);
        return rc;
    }
    *out = c;
    return AFL_OK;
}

int afl_sweep_validate(afl_sweep *s, int *points, afl_err *err)
{
    int np = n_points(s);
    *points = np;
    if (np < 0)
        return afl_err_set(err, AFL_EINPUT, "the sweep has more than 10 million points");
    for (int p = 0; p < np; p++) {
        afl_config *c;
        int rc = point_config(s, p, &c, err);
        if (rc)
            return rc;
        afl_config_free(c);
    }
    return AFL_OK;
}

static int in_shard(const afl_sweep *s, int p)
{
    return s->shard_n <= 0 || p % s->shard_n == s->shard_i;
}

/* ---- CSV reading (summaries) ---------------------------------------------------------- */



static void csv_quote(afl_buf *b, const char *v)
{
    if (strpbrk(v, ",\"\n")) {
        afl_buf_printf(b, "\"");
        for (const char *c = v; *c; c++)
            afl_buf_printf(b, *c == '"' ? "\"\"" : "%c", *c);
        afl_buf_printf(b, "\"");
    } else {
        afl_buf_printf(b, "%s", v);
    }
}

/* ---- results, table, worst case ------------------------------------------------------- */

enum { MAXF = 64 };
static const char *aggregated[] = {"final_test_error", "final_test_loss", "final_asr", "tpr",
                                   "fpr", "precision", "wall_seconds"};
#define NAGG (sizeof aggregated / sizeof aggregated[0])

typedef struct {
    int ok;
    char *text;  /* summary row text (owned) */
    char *f[MAXF];
    int nf;
} summary_row;

static int collect(afl_sweep *s, afl_sweep_result *res, afl_err *err)
{
    int np = n_points(s);
    if (np <= 0)
        return afl_err_set(err, AFL_EINPUT, "the sweep has no points or too many");
    summary_row *rows = calloc((size_t)np, sizeof *rows);
    if (!rows)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    char *header = NULL, *hf[MAXF];
    int nhf = 0;
    res->done = 0;
    for (int p = 0; p < np; p++) {
        char name[1024], path[PATH_MAX];
        point_name(s, p, name, sizeof name);
        snprintf(path, sizeof path, "%s/points/%s/summary.csv", s->out, name);
        char *t = afl_read_file(path);
        if (!t)
            continue;
        char *nl = strchr(t, '\n');
        if (!nl) {
            free(t);
            continue;
        }
        *nl = 0;
        if (!header) {
            header = dupstr(t);
            nhf = afl_csv_split(header, hf, MAXF);
        }
        rows[p].text = t;
        rows[p].nf = afl_csv_split(nl + 1, rows[p].f, MAXF);
        rows[p].ok = rows[p].nf == nhf;
        res->done += rows[p].ok;
    }
    int rc = AFL_OK;
    afl_buf b = {0}, t = {0}, w = {0};
    /* results.csv: axes, seed, then the summary columns */
    for (int a = 0; a < s->naxes; a++)
        afl_buf_printf(&b, "%s%s.%s", a ? "," : "", s->axes[a].section, s->axes[a].key);
    afl_buf_printf(&b, "%spoint", s->naxes ? "," : "");
    for (int k = 0; k < nhf; k++)
        afl_buf_printf(&b, ",%s", hf[k]);
    afl_buf_printf(&b, "\n");
    int vi[AFL_SWEEP_MAX_AXES], si;
    for (int p = 0; p < np; p++) {
        if (!rows[p].ok)
            continue;
        point_coords(s, p, vi, &si);
        for (int a = 0; a < s->naxes; a++) {
            if (a)
                afl_buf_printf(&b, ",");
            csv_quote(&b, s->axes[a].values[vi[a]]);
        }
        char name[1024];
        point_name(s, p, name, sizeof name);
        afl_buf_printf(&b, "%s%s", s->naxes ? "," : "", name);
        for (int k = 0; k < rows[p].nf; k++) {
            afl_buf_printf(&b, ",");
            csv_quote(&b, rows[p].f[k]);
        }
        afl_buf_printf(&b, "\n");
    }
    /* table.csv: mean, std, n over seeds for each combination of axis values */
    int col[NAGG];
    for (size_t g = 0; g < NAGG; g++) {
        col[g] = -1;
        for (int k = 0; k < nhf; k++)
            if (strcmp(hf[k], aggregated[g]) == 0)
                col[g] = k;
    }
    for (int a = 0; a < s->naxes; a++)
        afl_buf_printf(&t, "%s.%s,", s->axes[a].section, s->axes[a].key);
    afl_buf_printf(&t, "n");
    for (size_t g = 0; g < NAGG; g++)
        afl_buf_printf(&t, ",%s_mean,%s_std", aggregated[g], aggregated[g]);
    afl_buf_printf(&t, "\n");
    int ns = s->nseeds ? s->nseeds : 1, ncombo = np / ns;
    double *means = calloc((size_t)ncombo * NAGG, sizeof *means);
    int *counts = calloc((size_t)ncombo, sizeof *counts);
    if (!means || !counts) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
        goto out;
    }
    for (int cmb = 0; cmb < ncombo; cmb++) {
        double sum[NAGG] = {0}, sq[NAGG] = {0};
        int cnt[NAGG] = {0}, n = 0;
        for (int k = 0; k < ns; k++) {
            summary_row *r = &rows[cmb * ns + k];
            if (!r->ok)
                continue;
            n++;
            for (size_t g = 0; g < NAGG; g++) {
                if (col[g] < 0)
                    continue;
                char *end;
                double v = strtod(r->f[col[g]], &end);
                if (end == r->f[col[g]] || *end || !isfinite(v))
                    continue;
                sum[g] += v;
                sq[g] += v * v;
                cnt[g]++;
            }
        }
        counts[cmb] = n;
        if (n == 0)
            continue;
        point_coords(s, cmb * ns, vi, &si);
        for (int a = 0; a < s->naxes; a++) {
            csv_quote(&t, s->axes[a].values[vi[a]]);
            afl_buf_printf(&t, ",");
        }
        afl_buf_printf(&t, "%d", n);
        for (size_t g = 0; g < NAGG; g++) {
            if (cnt[g] == 0) {
                means[(size_t)cmb * NAGG + g] = NAN;
                afl_buf_printf(&t, ",NA,NA");
                continue;
            }
            double m = sum[g] / cnt[g];
            means[(size_t)cmb * NAGG + g] = m;
            afl_buf_printf(&t, ",%.9g", m);
            if (cnt[g] > 1) {
                double var = (sq[g] - cnt[g] * m * m) / (cnt[g] - 1);
                afl_buf_printf(&t, ",%.9g", var > 0 ? sqrt(var) : 0.0);
            } else {
                afl_buf_printf(&t, ",NA");
            }
        }
        afl_buf_printf(&t, "\n");
    }
    /* worst.csv: for each setting of the other axes, the attack that hurts most */
    int atk = -1;
    for (int a = 0; a < s->naxes; a++)
        if (strcmp(s->axes[a].section, "attack") == 0 && strcmp(s->axes[a].key, "type") == 0)
            atk = a;
    if (atk >= 0) {
        for (int a = 0; a < s->naxes; a++)
            if (a != atk)
                afl_buf_printf(&w, "%s.%s,", s->axes[a].section, s->axes[a].key);
        afl_buf_printf(&w, "worst_attack,final_test_error_mean,final_asr_mean,attacks_done\n");
        for (int cmb = 0; cmb < ncombo; cmb++) {
            point_coords(s, cmb * ns, vi, &si);
            if (vi[atk] != 0)
                continue; /* one line per setting of the other axes */
            int best = -1, done = 0;
            double worst = -1;
            for (int v = 0; v < s->axes[atk].nvalues; v++) {
                /* combo index with attack value v: axes are mixed-radix, last fastest */
                int stride = 1;
                for (int a = s->naxes - 1; a > atk; a--)
                    stride *= s->axes[a].nvalues;
                int c2 = cmb + v * stride;
                if (!counts[c2])
                    continue;
                done++;
                double e = means[(size_t)c2 * NAGG + 0];
                if (isfinite(e) && e > worst) {
                    worst = e;
                    best = c2;
                }
            }
            if (best < 0)
                continue;
            int bvi[AFL_SWEEP_MAX_AXES], bsi;
            point_coords(s, best * ns, bvi, &bsi);
            for (int a = 0; a < s->naxes; a++)
                if (a != atk) {
                    csv_quote(&w, s->axes[a].values[vi[a]]);
                    afl_buf_printf(&w, ",");
                }
            csv_quote(&w, s->axes[atk].values[bvi[atk]]);
            double asr = means[(size_t)best * NAGG + 2];
            afl_buf_printf(&w, ",%.9g,", worst);
            afl_buf_printf(&w, isnan(asr) ? "NA" : "%.9g", asr);
            afl_buf_printf(&w, ",%d\n", done);
        }
    }
    if (b.oom || t.oom || w.oom) {
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
        goto out;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/results.csv", s->out);
    rc = afl_write_file_atomic(path, b.data, b.len, err);
    snprintf(path, sizeof path, "%s/table.csv", s->out);
    if (!rc)
        rc = afl_write_file_atomic(path, t.data, t.len, err);
    snprintf(path, sizeof path, "%s/worst.csv", s->out);
    if (!rc && atk >= 0)
        rc = afl_write_file_atomic(path, w.data, w.len, err);
out:
    for (int p = 0; p < np; p++)
        free(rows[p].text);
    free(rows);
    free(header);
    free(means);
    free(counts);
    afl_buf_free(&b);
    afl_buf_free(&t);
    afl_buf_free(&w);
    return rc;
}

int afl_sweep_collect(afl_sweep *s, afl_sweep_result *res, afl_err *err)
{
    memset(res, 0, sizeof *res);
    res->points = n_points(s);
    return collect(s, res, err);
}

/* ---- running -------------------------------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Child process: run point p into dir; never returns. */
static void run_child(afl_sweep *s, int p, const char *dir, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed sweep takes its runs with it */
    if (getppid() != parent)
        _exit(1);
    char logp[PATH_MAX];
    int fd = snprintf(logp, sizeof logp, "%s/run.log", dir) < (int)sizeof logp
                 ? open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644)
                 : -1;
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    afl_err err = {0};
    afl_config *c;
    int rc = point_config(s, p, &c, &err);
    if (!rc) {
        /* a point killed with the sweep continues from its checkpoint when the folder holds
         * the same configuration; otherwise it starts over */
        char cp[PATH_MAX], *want = NULL, *have = NULL;
        size_t wl = 0;
        int same = snprintf(cp, sizeof cp, "%s/config.ini", dir) < (int)sizeof cp &&
                   afl_config_format(c, &want, &wl, NULL) == AFL_OK &&
                   (have = afl_read_file(cp)) != NULL && strcmp(want, have) == 0;
        free(want);
        free(have);
        afl_run_opts o = {dir, !same, 1, 0, s->max_memory, same};
        afl_run_result r;
        rc = afl_run(c, &o, &r, &err);
        afl_config_free(c);
    }
    if (rc)
        fprintf(stderr, "aflsim: error: %s\n", err.msg);
    fflush(NULL);
    _exit(afl_err_exit_status(rc));
}

static int point_finished(const afl_sweep *s, int p, const char *expected_cfg, afl_err *err)
{
    char name[1024], path[PATH_MAX];
    point_name(s, p, name, sizeof name);
    snprintf(path, sizeof path, "%s/points/%s/summary.csv", s->out, name);
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    snprintf(path, sizeof path, "%s/points/%s/config.ini", s->out, name);
    char *have = afl_read_file(path);
    int same = have && strcmp(have, expected_cfg) == 0;
    free(have);
    if (!same) {
        afl_err_set(err, AFL_EINPUT,
                    "%s/points/%s holds a finished run of a different configuration; use another "
                    "--out for a changed sweep (or delete that folder)",
                    s->out, name);
        return -1;
    }
    return 1;
}

int afl_sweep_plan(afl_sweep *s, afl_sweep_result *res, unsigned char **todo_out, int *ntodo_out,
                   afl_err *err)
{
    memset(res, 0, sizeof *res);
    *todo_out = NULL;
    *ntodo_out = 0;
    int np = n_points(s);
    if (np < 0)
        return afl_err_set(err, AFL_EINPUT, "the sweep has more than 10 million points");
    res->points = np;
    /* validate every point and find the finished ones */
    unsigned char *todo = calloc((size_t)np, 1);
    if (!todo)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    int rc = afl_mkdir_p(s->out, err), ntodo = 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/points", s->out);
    if (!rc)
        rc = afl_mkdir_p(dir, err);
    for (int p = 0; p < np && !rc; p++) {
        if (!in_shard(s, p))
            continue;
        res->in_shard++;
        afl_config *c;
        if ((rc = point_config(s, p, &c, err)))
            break;
        size_t len;
        char *cfg = NULL;
        rc = afl_config_format(c, &cfg, &len, err);
        afl_config_free(c);
        if (rc)
            break;
        int f = point_finished(s, p, cfg, err);
        free(cfg);
        if (f < 0) {
            rc = AFL_EINPUT;
            break;
        }
        if (f)
            res->skipped++;
        else
            todo[p] = 1, ntodo++;
    }
    if (rc) {
        free(todo);
        return rc;
    }
    *todo_out = todo;
    *ntodo_out = ntodo;
    return AFL_OK;
}

int afl_sweep_spawn(afl_sweep *s, int p, pid_t parent, pid_t *pid, afl_err *err)
{
    char name[1024], dir[PATH_MAX];
    point_name(s, p, name, sizeof name);
    if (snprintf(dir, sizeof dir, "%s/points/%s", s->out, name) >= (int)sizeof dir)
        return afl_err_set(err, AFL_EINPUT, "sweep folder path too long: %s/points/%s", s->out,
                           name);
    int rc = afl_mkdir_p(dir, err);
    if (rc)
        return rc;
    fflush(NULL);
    *pid = fork();
    if (*pid < 0)
        return afl_err_set(err, AFL_EIO, "cannot start a run: %s", strerror(errno));
    if (*pid == 0)
        run_child(s, p, dir, parent);
    return AFL_OK;
}

int afl_sweep_account(afl_sweep *s, afl_sweep_result *res, int p, int code)
{
    if (code == 0 || code == 3)
        return 1;
    res->failed++;
    if (!res->first_failure[0]) {
        char name[1024];
        point_name(s, p, name, sizeof name);
        if (snprintf(res->first_failure, sizeof res->first_failure,
                     "%s (exit %d; see %s/points/%s/run.log)", name, code, s->out,
                     name) >= (int)sizeof res->first_failure)
            res->first_failure[sizeof res->first_failure - 1] = 0;
    }
    return 0;
}

void afl_sweep_point_name(const afl_sweep *s, int p, char *buf, size_t n)
{
    point_name(s, p, buf, n);
}

int afl_sweep_rebuild(afl_sweep *s, afl_sweep_result *res, afl_err *err)
{
    afl_sweep_result tmp = *res;
    int rc = collect(s, &tmp, err);
    res->done = tmp.done;
    return rc;
}

int afl_sweep_run(afl_sweep *s, afl_sweep_result *res, afl_err *err)
{
    unsigned char *todo;
    int ntodo;
    int rc = afl_sweep_plan(s, res, &todo, &ntodo, err);
    if (rc)
        return rc;
    int np = res->points;
    /* 2. run the unfinished ones, `jobs` at a time */
    int jobs = s->jobs > 0 ? s->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    pid_t *pids = calloc((size_t)jobs, sizeof *pids);
    int *pts = calloc((size_t)jobs, sizeof *pts);
    if (!rc && (!pids || !pts))
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
    int show = s->progress < 0 ? isatty(2) : s->progress;
    double t0 = mono();
    int next = 0, running = 0, finished_now = 0;
    pid_t me = getpid();
    while (!rc && (running > 0 || next < np)) {
        while (running < jobs && next < np) {
            int p = next++;
            if (!todo[p])
                continue;
            pid_t pid;
            if ((rc = afl_sweep_spawn(s, p, me, &pid, err)))
                break;
            for (int k = 0; k < jobs; k++)
                if (!pids[k]) {
                    pids[k] = pid;
                    pts[k] = p;
                    break;
                }
            running++;
        }
        if (running == 0)
            break;
        int st;
        pid_t pid = wait(&st);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int k = 0; k < jobs; k++) {
            if (pids[k] != pid)
                continue;
            pids[k] = 0;
            running--;
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            finished_now += afl_sweep_account(s, res, pts[k], code);
            afl_sweep_result tmp = *res;
            afl_err e2;
            if (collect(s, &tmp, &e2) == AFL_OK)
                res->done = tmp.done;
            if (show) {
                double el = mono() - t0, per = finished_now ? el / finished_now : 0;
                int left = ntodo - finished_now - res->failed;
                fprintf(stderr, "\r  sweep: %d/%d points done, %d running, %d failed, ETA %.0f s ",
                        res->skipped + finished_now, res->in_shard, running, res->failed,
                        per * left / jobs);
            }
        }
    }
    if (show)
        fprintf(stderr, "\n");
    /* never leave children behind on an error */
    for (int k = 0; pids && k < jobs; k++)
        if (pids[k]) {
            kill(pids[k], SIGKILL);
            waitpid(pids[k], NULL, 0);
        }
    if (!rc) {
        afl_sweep_result tmp = *res;
        rc = collect(s, &tmp, err);
        res->done = tmp.done;
    }
    free(todo);
    free(pids);
    free(pts);
    return rc;
}
