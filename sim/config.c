/* sim/config.c - scenario files, overrides, validation and the resolved config.
 * INI parsing: libinih (ini_parse_stream with a line-counting reader, so every
 * key knows its file:line).  See config.h.
 */
#include "sim/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/fsutil.h"

typedef struct {
    char *section, *key, *value;
    char *origin; /* "file:line" or "--set section.key=value" */
} raw_entry;

typedef struct {
    const char *section;
    const afl_param *p;     /* NULL for a selector key */
    const char *key;
    char *value;            /* canonical text */
    char *origin;           /* where the value came from, or "default" */
} res_entry;

struct afl_config {
    raw_entry *raw;
    size_t nraw, capraw;
    res_entry *res;
    size_t nres, capres;
    char *name;
    char *base_dir; /* directory of the scenario file, for relative paths */
};

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

afl_config *afl_config_new(void)
{
    afl_config *c = calloc(1, sizeof *c);
    return c;
}

static void free_res(afl_config *c)
{
    for (size_t i = 0; i < c->nres; i++) {
        free(c->res[i].value);
        free(c->res[i].origin);
    }
    free(c->res);
    c->res = NULL;
    c->nres = c->capres = 0;
}

void afl_config_free(afl_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nraw; i++) {
        free(c->raw[i].section);
        free(c->raw[i].key);
        free(c->raw[i].value);
        free(c->raw[i].origin);
    }
    free(c->raw);
    free_res(c);
    free(c->name);
    free(c->base_dir);
    free(c);
}

const char *afl_config_name(const afl_config *c)
{
    return c->name ? c->name : "scenario";
}

static int add_raw(afl_config *c, const char *sec, const char *key, const char *val,
                   const char *origin)
{
    if (c->nraw == c->capraw) {
        size_t cap = c->capraw ? 2 * c->capraw : 32;
        raw_entry *r = realloc(c->raw, cap * sizeof *r);
        if (!r)
            return -1;
        c->raw = r;
        c->capraw = cap;
    }
    raw_entry *e = &c->raw[c->nraw];
    e->section = xstrdup(sec);
    e->key = xstrdup(key);
    e->value = xstrdup(val);
    e->origin = xstrdup(origin);
    if (!e->section || !e->key || !e->value || !e->origin) {
        free(e->section), free(e->key), free(e->value), free(e->origin);
        return -1;
    }
    c->nraw++;
    return 0;
}

/* ---- INI reading ---------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    int line;
    int too_long;     /* line number of an over-long line, or 0 */
    afl_config *c;
    const char *path;
    afl_err *err;
    int failed;
    size_t first_entry; /* index of this file's first raw entry */
} ini_ctx;

static char *ini_reader_fn(char *str, int num, void *stream)
{
    ini_ctx *x = stream;
    if (x->too_long)
        return NULL;
    if (!fgets(str, num, x->f))
        return NULL;
    x->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(x->f)) {
        x->too_long = x->line;
        return NULL;
    }
    return str;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value)
{
    ini_ctx *x = user;
    if (x->failed)
        return 0;
    if (!section || !*section) {
        afl_err_set(x->err, AFL_EINPUT,
                    "%s:%d: key '%s' comes before any [section]; put it under one of [sim] [data] "
                    "[model] [clients] [delay] [train] [attack] [defense] [eval] [output]",
                    x->path, x->line, name);
        x->failed = 1;
        return 0;
    }
    for (size_t i = x->first_entry; i < x->c->nraw; i++) {
        raw_entry *e = &x->c->raw[i];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, name) == 0) {
            afl_err_set(x->err, AFL_EINPUT, "%s:%d: duplicate key '%s' in [%s] (first set at %s)",
                        x->path, x->line, name, section, e->origin);
            x->failed = 1;
            return 0;
        }
    }
    char origin[PATH_MAX + 32];
    snprintf(origin, sizeof origin, "%s:%d", x->path, x->line);
    if (add_raw(x->c, section, name, value, origin) != 0) {
        afl_err_set(x->err, AFL_ENOMEM, "out of memory reading %s", x->path);
        x->failed = 1;
        return 0;
    }
    return 1;
}

/* Longest line of a scenario file, newline included.  libinih's compiled-in limit (200) is
 * too short for the config.ini aflsim itself writes (long doc comments, absolute paths), so
 * the line buffer is put on the heap with this size (Debian's libinih takes these settings
 * at run time). */
#define AFL_INI_MAX_LINE 16384

int afl_config_load_file(afl_config *c, const char *path, afl_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return afl_err_set(err, AFL_EIO, "cannot open scenario file %s: %s", path, strerror(errno));
    ini_use_stack = 0;
    ini_allow_realloc = 0;
    ini_initial_alloc = AFL_INI_MAX_LINE;
    ini_max_line = AFL_INI_MAX_LINE;
    ini_ctx x = {f, 0, 0, c, path, err, 0, c->nraw};
    int rc = ini_parse_stream(ini_reader_fn, &x, ini_handler_fn, &x);
    int ferr = ferror(f);
    fclose(f);
    if (x.failed)
        return err ? err->code : AFL_EINPUT;
    if (x.too_long)
        return afl_err_set(err, AFL_EINPUT, "%s:%d: line is longer than %d characters", path,
                           x.too_long, AFL_INI_MAX_LINE - 2);
    if (ferr)
        return afl_err_set(err, AFL_EIO, "error reading %s", path);
    if (rc > 0)
        return afl_err_set(err, AFL_EINPUT,
                           "%s:%d: cannot parse this line; expected '[section]', 'key = value' or "
                           "a comment starting with ';' or '#'",
                           path, rc);
    if (rc < 0)
        return afl_err_set(err, AFL_ENOMEM, "out of memory reading %s", path);
    free(c->name);
    free(c->base_dir);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    c->name = xstrdup(base);
    char *dot = c->name ? strrchr(c->name, '.') : NULL;
    if (dot && strcmp(dot, ".ini") == 0)
        *dot = 0;
    /* a run folder's config.ini keeps the name of the scenario it resolved, so that
     * replaying it (or resuming the run) reports the same scenario */
    FILE *g = fopen(path, "r");
    char first[512];
    if (g && fgets(first, sizeof first, g)) {
        const char *k = strstr(first, ": resolved configuration of scenario '");
        const char *q = k ? strrchr(first, '\'') : NULL;
        if (first[0] == ';' && k && q && q > k + 38) {
            char *nm = malloc((size_t)(q - (k + 38)) + 1);
            if (nm) {
                memcpy(nm, k + 38, (size_t)(q - (k + 38)));
                nm[q - (k + 38)] = 0;
                free(c->name);
                c->name = nm;
            }
        }
    }
    if (g)
        fclose(g);
    if (slash) {
        c->base_dir = malloc((size_t)(slash - path) + 2);
        if (c->base_dir) {
            memcpy(c->base_dir, path, (size_t)(slash - path) + 1);
            c->base_dir[slash - path + 1] = 0;
        }
    } else {
        c->base_dir = xstrdup("");
    }
    return AFL_OK;
}

int afl_config_take_section(afl_config *c, const char *section,
                            int (*fn)(void *user, const char *key, const char *value,
                                      const char *origin),
                            void *user)
{
    int rc = 0;
    size_t j = 0;
    for (size_t i = 0; i < c->nraw; i++) {
        raw_entry *e = &c->raw[i];
        if (strcmp(e->section, section) == 0) {
            if (!rc && fn)
                rc = fn(user, e->key, e->value, e->origin);
            free(e->section), free(e->key), free(e->value), free(e->origin);
        } else {
            c->raw[j++] = *e;
        }
    }
    c->nraw = j;
    return rc;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, n - i + 1);
}

int afl_config_override(afl_config *c, const char *assignment, afl_err *err)
{
    /* config.ini holds one key per line: a newline in a value would not replay */
    for (const char *p = assignment; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
            afl_err_set(err, AFL_EINPUT,
                        "--set '%s': contains the control character 0x%02X; expected "
                        "section.key=value on one line",
                        assignment, (unsigned)(unsigned char)*p);
            afl_err_oneline(err);
            return AFL_EINPUT;
        }
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq)
        return afl_err_set(err, AFL_EINPUT,
                           "--set '%s': expected section.key=value, e.g. --set train.lr=0.05",
                           assignment);
    char sec[128], key[128];
    size_t ls = (size_t)(dot - assignment), lk = (size_t)(eq - dot - 1);
    if (ls == 0 || lk == 0 || ls >= sizeof sec || lk >= sizeof key)
        return afl_err_set(err, AFL_EINPUT,
                           "--set '%s': expected section.key=value, e.g. --set train.lr=0.05",
                           assignment);
    memcpy(sec, assignment, ls);
    sec[ls] = 0;
    memcpy(key, dot + 1, lk);
    key[lk] = 0;
    trim(sec);
    trim(key);
    char *val = xstrdup(eq + 1);
    if (!val)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    trim(val);
    char origin[512];
    snprintf(origin, sizeof origin, "--set %s", assignment);
    /* an override replaces earlier values of the same key */
    for (size_t i = 0; i < c->nraw; i++) {
        raw_entry *e = &c->raw[i];
        if (strcmp(e->section, sec) == 0 && strcmp(e->key, key) == 0) {
            char *o = xstrdup(origin);
            if (!o) {
                free(val);
                return afl_err_set(err, AFL_ENOMEM, "out of memory");
            }
            free(e->value);
            free(e->origin);
            e->value = val;
            e->origin = o;
            return AFL_OK;
        }
    }
    int rc = add_raw(c, sec, key, val, origin);
    free(val);
    return rc ? afl_err_set(err, AFL_ENOMEM, "out of memory") : AFL_OK;
}

/* ---- values --------------------------------------------------------------------------- */

int afl_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *afl_ptype_name(afl_ptype t)
{
    switch (t) {
    case AFL_P_INT: return "integer";
    case AFL_P_REAL: return "real";
    case AFL_P_BOOL: return "bool";
    case AFL_P_STR: return "text";
    case AFL_P_ENUM: return "choice";
    case AFL_P_PATH: return "path";
    case AFL_P_DIST: return "distribution";
    case AFL_P_INTLIST: return "integer list";
    }
    return "?";
}

static void fmt_range(const afl_param *p, char *buf, size_t n)
{
    if (p->max >= 1e300 || (p->type != AFL_P_REAL && p->max >= 9e18))
        snprintf(buf, n, ">= %g", p->min);
    else
        snprintf(buf, n, "in [%g, %g]", p->min, p->max);
}

static int parse_int(const char *s, long long *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_real(const char *s, double *out)
{
    if (!*s)
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int in_choices(const char *choices, const char *v)
{
    size_t lv = strlen(v);
    const char *p = choices;
    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == lv && strncmp(p, v, l) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static void choices_list(const char *choices, char *buf, size_t n)
{
    size_t j = 0;
    for (const char *p = choices; *p && j + 3 < n; p++) {
        if (*p == '|') {
            buf[j++] = ',';
            buf[j++] = ' ';
        } else {
            buf[j++] = *p;
        }
    }
    buf[j] = 0;
}

int afl_param_check(const afl_param *p, const char *v, char *why, size_t wn)
{
    char range[128];
    fmt_range(p, range, sizeof range);
    switch (p->type) {
    case AFL_P_INT: {
        long long x;
        if (parse_int(v, &x) || (double)x < p->min || (double)x > p->max) {
            snprintf(why, wn, "expected an integer %s", range);
            return AFL_EINPUT;
        }
        return AFL_OK;
    }
    case AFL_P_REAL: {
        double x;
        if (parse_real(v, &x) || x < p->min || x > p->max) {
            snprintf(why, wn, "expected a finite number %s", range);
            return AFL_EINPUT;
        }
        return AFL_OK;
    }
    case AFL_P_BOOL: {
        int b;
        if (parse_bool(v, &b)) {
            snprintf(why, wn, "expected true or false");
            return AFL_EINPUT;
        }
        return AFL_OK;
    }
    case AFL_P_STR:
    case AFL_P_PATH:
        /* config.ini writes "key = value": there a ';' after a space starts a comment */
        for (const char *q = v; *q; q++)
            if (*q == ';' && (q == v || isspace((unsigned char)q[-1]))) {
                snprintf(why, wn,
                         "expected text without a ';' at its start or after a space (in a "
                         "scenario file that starts a comment)");
                return AFL_EINPUT;
            }
        return AFL_OK;
    case AFL_P_ENUM:
        if (!in_choices(p->choices, v)) {
            char list[512];
            choices_list(p->choices, list, sizeof list);
            snprintf(why, wn, "expected one of: %s", list);
            return AFL_EINPUT;
        }
        return AFL_OK;
    case AFL_P_DIST: {
        afl_dist d;
        char w2[256];
        if (!v[0] && !p->def[0])
            return AFL_OK; /* optional distribution left unset */
        if (afl_dist_parse(v, &d, w2, sizeof w2) != 0) {
            snprintf(why, wn, "%s", w2);
            return AFL_EINPUT;
        }
        if (p->choices) {
            const char *paren = strchr(v, '(');
            char fam[64];
            size_t l = paren ? (size_t)(paren - v) : strlen(v);
            if (l >= sizeof fam)
                l = sizeof fam - 1;
            memcpy(fam, v, l);
            fam[l] = 0;
            trim(fam);
            if (!in_choices(p->choices, fam)) {
                char list[256];
                choices_list(p->choices, list, sizeof list);
                snprintf(why, wn, "distribution '%s' is not allowed here; expected one of: %s", fam,
                         list);
                return AFL_EINPUT;
            }
        }
        return AFL_OK;
    }
    case AFL_P_INTLIST: {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", v);
        int count = 0;
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            trim(tok);
            long long x;
            if (parse_int(tok, &x) || (double)x < p->min || (double)x > p->max) {
                snprintf(why, wn, "expected comma-separated integers, each %s", range);
                return AFL_EINPUT;
            }
            count++;
        }
        if (count == 0 || count > 64) {
            snprintf(why, wn, "expected 1 to 64 comma-separated integers, each %s", range);
            return AFL_EINPUT;
        }
        return AFL_OK;
    }
    }
    snprintf(why, wn, "unknown parameter type");
    return AFL_EINTERNAL;
}

/* Canonical text of a valid value. */
static char *canonical(const afl_param *p, const char *v, const char *base_dir)
{
    char buf[PATH_MAX + 64];
    switch (p->type) {
    case AFL_P_INT: {
        long long x = 0;
        parse_int(v, &x);
        snprintf(buf, sizeof buf, "%lld", x);
        break;
    }
    case AFL_P_REAL: {
        double x = 0;
        parse_real(v, &x);
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, x);
            if (strtod(buf, NULL) == x)
                break;
        }
        break;
    }
    case AFL_P_BOOL: {
        int b = 0;
        parse_bool(v, &b);
        snprintf(buf, sizeof buf, "%s", b ? "true" : "false");
        break;
    }
    case AFL_P_DIST: {
        afl_dist d;
        char why[64];
        if (!v[0]) {
            buf[0] = 0;
            break;
        }
        afl_dist_parse(v, &d, why, sizeof why);
        afl_dist_format(&d, buf, sizeof buf);
        break;
    }
    case AFL_P_INTLIST: {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", v);
        size_t j = 0;
        buf[0] = 0;
        char *save = NULL;
        for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            long long x = 0;
            trim(tok);
            parse_int(tok, &x);
            j += (size_t)snprintf(buf + j, sizeof buf - j, "%s%lld", j ? "," : "", x);
        }
        break;
    }
    case AFL_P_PATH:
        if (v[0] && v[0] != '/') {
            char cwd[PATH_MAX];
            const char *bd = base_dir ? base_dir : "";
            if (bd[0] == '/')
                snprintf(buf, sizeof buf, "%s%s", bd, v);
            else if (getcwd(cwd, sizeof cwd))
                snprintf(buf, sizeof buf, "%s/%s%s", cwd, bd, v);
            else
                snprintf(buf, sizeof buf, "%s%s", bd, v);
        } else {
            snprintf(buf, sizeof buf, "%s", v);
        }
        break;
    default: snprintf(buf, sizeof buf, "%s", v); break;
    }
    return xstrdup(buf);
}

/* ---- resolution ----------------------------------------------------------------------- */

static const raw_entry *find_raw(const afl_config *c, const char *sec, const char *key)
{
    for (size_t i = c->nraw; i-- > 0;)
        if (strcmp(c->raw[i].section, sec) == 0 && strcmp(c->raw[i].key, key) == 0)
            return &c->raw[i];
    return NULL;
}

static const afl_param *find_param(const afl_param *t, const char *key)
{
    for (; t && t->key; t++)
        if (strcmp(t->key, key) == 0)
            return t;
    return NULL;
}

/* Suggest the closest candidate; writes "; did you mean 'x'?" or "" into buf. */
typedef struct {
    const char *best;
    int dist;
    const char *target;
} suggest;

static void suggest_try(suggest *s, const char *cand)
{
    int d = afl_edit_distance(s->target, cand);
    if (d < s->dist) {
        s->dist = d;
        s->best = cand;
    }
}

static void suggest_text(const suggest *s, char *buf, size_t n)
{
    size_t lt = strlen(s->target);
    int limit = lt <= 4 ? 2 : (int)(lt / 2);
    if (s->best && s->dist <= limit)
        snprintf(buf, n, "; did you mean '%s'?", s->best);
    else
        buf[0] = 0;
}

static int add_res(afl_config *c, const char *sec, const afl_param *p, const char *key,
                   char *value, const char *origin)
{
    if (c->nres == c->capres) {
        size_t cap = c->capres ? 2 * c->capres : 64;
        res_entry *r = realloc(c->res, cap * sizeof *r);
        if (!r)
            return -1;
        c->res = r;
        c->capres = cap;
    }
    res_entry *e = &c->res[c->nres++];
    e->section = sec;
    e->p = p;
    e->key = key;
    e->value = value;
    e->origin = xstrdup(origin);
    return e->origin && e->value ? 0 : -1;
}

static int resolve_param(afl_config *c, const afl_section *s, const afl_param *p, afl_err *err)
{
    const raw_entry *r = find_raw(c, s->name, p->key);
    const char *v = r ? r->value : p->def;
    char why[512];
    if (afl_param_check(p, v, why, sizeof why) != AFL_OK)
        return afl_err_set(err, AFL_EINPUT, "%s: [%s] %s = %s: %s", r ? r->origin : "default",
                           s->name, p->key, v, why);
    char *cv = canonical(p, v, r && strncmp(r->origin, "--set", 5) != 0 ? c->base_dir : "");
    if (add_res(c, s->name, p, p->key, cv, r ? r->origin : "default"))
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    return AFL_OK;
}

int afl_config_resolve(afl_config *c, afl_err *err)
{
    free_res(c);
    size_t ns;
    const afl_section *secs = afl_sections(&ns);
    /* 1. every section and key known */
    for (size_t i = 0; i < c->nraw; i++) {
        const raw_entry *r = &c->raw[i];
        const afl_section *s = afl_section_find(r->section);
        if (!s) {
            suggest sg = {NULL, 99, r->section};
            for (size_t k = 0; k < ns; k++)
                suggest_try(&sg, secs[k].name);
            char hint[128];
            suggest_text(&sg, hint, sizeof hint);
            return afl_err_set(err, AFL_EINPUT,
                               "%s: unknown section [%s]%s (sections: sim, data, model, clients, "
                               "delay, train, attack, defense, eval, output)",
                               r->origin, r->section, hint);
        }
        if (s->selector && strcmp(r->key, s->selector) == 0)
            continue;
        if (find_param(s->params, r->key))
            continue;
        const afl_component *comp = NULL;
        const char *cname = s->selector_default;
        if (s->selector) {
            const raw_entry *sel = find_raw(c, s->name, s->selector);
            if (sel)
                cname = sel->value;
            comp = afl_component_find(s->kind, cname);
            if (comp && find_param(comp->params, r->key))
                continue;
        }
        /* not valid: explain */
        suggest sg = {NULL, 99, r->key};
        for (const afl_param *p = s->params; p->key; p++)
            suggest_try(&sg, p->key);
        if (s->selector)
            suggest_try(&sg, s->selector);
        if (comp)
            for (const afl_param *p = comp->params; p && p->key; p++)
                suggest_try(&sg, p->key);
        if (s->selector) {
            size_t nc;
            const afl_component *all = s->components(&nc);
            for (size_t k = 0; k < nc; k++)
                if (find_param(all[k].params, r->key))
                    return afl_err_set(err, AFL_EINPUT,
                                       "%s: key '%s' in [%s] is a parameter of %s '%s', not of "
                                       "the selected %s '%s'; set %s.%s = %s or remove the key",
                                       r->origin, r->key, s->name, s->kind, all[k].name, s->kind,
                                       cname, s->name, s->selector, all[k].name);
        }
        char hint[128];
        suggest_text(&sg, hint, sizeof hint);
        return afl_err_set(err, AFL_EINPUT,
                           "%s: unknown key '%s' in [%s]%s (see: aflsim describe section %s)",
                           r->origin, r->key, s->name, hint, s->name);
    }
    /* 2. resolve in section order: selector, section keys, component keys */
    for (size_t k = 0; k < ns; k++) {
        const afl_section *s = &secs[k];
        if (s->selector) {
            const raw_entry *sel = find_raw(c, s->name, s->selector);
            const char *v = sel ? sel->value : s->selector_default;
            const afl_component *comp = afl_component_find(s->kind, v);
            if (!comp) {
                size_t nc;
                const afl_component *all = s->components(&nc);
                suggest sg = {NULL, 99, v};
                char list[1024] = "";
                size_t j = 0;
                for (size_t q = 0; q < nc; q++) {
                    suggest_try(&sg, all[q].name);
                    j += (size_t)snprintf(list + j, sizeof list - j, "%s%s", q ? ", " : "",
                                          all[q].name);
                    if (j >= sizeof list)
                        break;
                }
                char hint[128];
                suggest_text(&sg, hint, sizeof hint);
                return afl_err_set(err, AFL_EINPUT, "%s: unknown %s '%s'%s (available: %s)",
                                   sel ? sel->origin : "default", s->kind, v, hint, list);
            }
            if (add_res(c, s->name, NULL, s->selector, xstrdup(v), sel ? sel->origin : "default"))
                return afl_err_set(err, AFL_ENOMEM, "out of memory");
            for (const afl_param *p = s->params; p->key; p++) {
                int rc = resolve_param(c, s, p, err);
                if (rc)
                    return rc;
            }
            for (const afl_param *p = comp->params; p && p->key; p++) {
                int rc = resolve_param(c, s, p, err);
                if (rc)
                    return rc;
            }
        } else {
            for (const afl_param *p = s->params; p->key; p++) {
                int rc = resolve_param(c, s, p, err);
                if (rc)
                    return rc;
            }
        }
    }
    return AFL_OK;
}

static const res_entry *get(const afl_config *c, const char *sec, const char *key)
{
    for (size_t i = 0; i < c->nres; i++)
        if (strcmp(c->res[i].section, sec) == 0 && strcmp(c->res[i].key, key) == 0)
            return &c->res[i];
    fprintf(stderr, "aflsim: internal error: undeclared key %s.%s\n", sec, key);
    abort();
}

const char *afl_cfg_str(const afl_config *c, const char *section, const char *key)
{
    return get(c, section, key)->value;
}

int64_t afl_cfg_int(const afl_config *c, const char *section, const char *key)
{
    return strtoll(get(c, section, key)->value, NULL, 10);
}

double afl_cfg_real(const afl_config *c, const char *section, const char *key)
{
    return strtod(get(c, section, key)->value, NULL);
}

int afl_cfg_bool(const afl_config *c, const char *section, const char *key)
{
    return strcmp(get(c, section, key)->value, "true") == 0;
}

afl_dist afl_cfg_dist(const afl_config *c, const char *section, const char *key)
{
    afl_dist d;
    char why[128];
    afl_dist_parse(get(c, section, key)->value, &d, why, sizeof why);
    return d;
}

int afl_cfg_intlist(const afl_config *c, const char *section, const char *key, int *out, int max)
{
    const char *v = get(c, section, key)->value;
    int n = 0;
    while (*v && n < max) {
        out[n++] = (int)strtol(v, (char **)&v, 10);
        if (*v == ',')
            v++;
    }
    return n;
}

const char *afl_cfg_origin(const afl_config *c, const char *section, const char *key)
{
    return get(c, section, key)->origin;
}

int afl_config_format(const afl_config *c, char **text, size_t *len, afl_err *err)
{
    afl_buf b = {0};
    afl_buf_printf(&b,
                   "; aflsim %s: resolved configuration of scenario '%s'.\n"
                   "; Every key is written, defaults included; replay with: aflsim run config.ini\n",
                   AFL_VERSION, afl_config_name(c));
    const char *cur = NULL;
    for (size_t i = 0; i < c->nres; i++) {
        const res_entry *e = &c->res[i];
        if (!cur || strcmp(cur, e->section) != 0) {
            afl_buf_printf(&b, "\n[%s]\n", e->section);
            cur = e->section;
        }
        if (e->p)
            afl_buf_printf(&b, "; %s\n", e->p->doc);
        afl_buf_printf(&b, "%s = %s\n", e->key, e->value);
    }
    if (b.oom) {
        free(b.data);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    *text = b.data;
    *len = b.len;
    return AFL_OK;
}

int afl_config_write(const afl_config *c, const char *path, afl_err *err)
{
    char *text;
    size_t len;
    int rc = afl_config_format(c, &text, &len, err);
    if (rc)
        return rc;
    rc = afl_write_file_atomic(path, text, len, err);
    free(text);
    return rc;
}
