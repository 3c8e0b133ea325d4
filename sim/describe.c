/* sim/describe.c - see describe.h */
#include "sim/describe.h"

#include <string.h>

#include "defenses/defense.h"
#include "sim/config.h"
#include "sim/dist.h"

static const char *kinds_plural[] = {"models", "datasets", "delays", "defenses", "attacks",
                                     "sections"};

/* "models" -> "model" */
static const char *singular(const char *k, char *buf, size_t n)
{
    snprintf(buf, n, "%s", k);
    size_t l = strlen(buf);
    if (l > 1 && buf[l - 1] == 's')
        buf[l - 1] = 0;
    return buf;
}

static void param_line(FILE *out, const afl_param *p)
{
    char range[160] = "";
    if (p->type == AFL_P_INT || p->type == AFL_P_REAL || p->type == AFL_P_INTLIST) {
        if (p->max >= 1e300 || (p->type != AFL_P_REAL && p->max >= 9e18))
            snprintf(range, sizeof range, ">= %g", p->min);
        else
            snprintf(range, sizeof range, "[%g, %g]", p->min, p->max);
    } else if (p->type == AFL_P_ENUM || p->type == AFL_P_DIST) {
        snprintf(range, sizeof range, "%s", p->choices ? p->choices : "any family");
    }
    fprintf(out, "  %-20s %-12s default %-22s %s\n      %s\n", p->key, afl_ptype_name(p->type),
            p->def[0] ? p->def : "\"\"", range, p->doc);
}

int afl_list(FILE *out, const char *kind, afl_err *err)
{
    char one[32];
    if (strcmp(kind, "delays") == 0 || strcmp(kind, "delay") == 0) {
        size_t n;
        const afl_dist_family *f = afl_dist_families(&n);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%-12s %-28s %s\n", f[i].name, f[i].signature, f[i].doc);
        return AFL_OK;
    }
    if (strcmp(kind, "sections") == 0 || strcmp(kind, "section") == 0) {
        size_t n;
        const afl_section *s = afl_sections(&n);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%-10s %s\n", s[i].name, s[i].doc);
        return AFL_OK;
    }
    size_t n;
    const afl_component *c = afl_components(singular(kind, one, sizeof one), &n);
    if (!c)
        return afl_err_set(err, AFL_EINPUT,
                           "unknown kind '%s'; expected one of: models, datasets, delays, "
                           "defenses, attacks, sections",
                           kind);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%-14s %s\n", c[i].name, c[i].doc);
    return AFL_OK;
}

int afl_describe(FILE *out, const char *kind, const char *name, afl_err *err)
{
    char one[32];
    singular(kind, one, sizeof one);
    if (strcmp(one, "delay") == 0) {
        const afl_dist_family *f = afl_dist_family_find(name);
        if (!f)
            return afl_err_set(err, AFL_EINPUT,
                               "unknown delay distribution '%s' (see: aflsim list delays)", name);
        fprintf(out, "%s\n  %s\n  parameters: %s\n  source: %s\n", f->name, f->doc, f->signature,
                f->source);
        fprintf(out, "  used by: delay.compute, delay.network (any family); delay.speed "
                     "(constant, uniform, lognormal, pareto)\n");
        return AFL_OK;
    }
    if (strcmp(one, "section") == 0) {
        const afl_section *s = afl_section_find(name);
        if (!s)
            return afl_err_set(err, AFL_EINPUT, "unknown section '%s' (see: aflsim list sections)",
                               name);
        fprintf(out, "[%s] %s\n", s->name, s->doc);
        if (s->selector)
            fprintf(out, "  %-20s %-12s default %-22s (see: aflsim list %ss)\n      selects the %s\n",
                    s->selector, "choice", s->selector_default, s->kind, s->kind);
        for (const afl_param *p = s->params; p->key; p++)
            param_line(out, p);
        if (s->selector)
            fprintf(out, "  ...plus the parameters of the selected %s (aflsim describe %s NAME)\n",
                    s->kind, s->kind);
        return AFL_OK;
    }
    size_t n;
    if (!afl_components(one, &n))
        return afl_err_set(err, AFL_EINPUT,
                           "unknown kind '%s'; expected one of: model, dataset, delay, defense, "
                           "attack, section",
                           kind);
    const afl_component *c = afl_component_find(one, name);
    if (!c)
        return afl_err_set(err, AFL_EINPUT, "unknown %s '%s' (see: aflsim list %ss)", one, name,
                           one);
    size_t ns;
    const afl_section *secs = afl_sections(&ns);
    const char *sec = one;
    for (size_t i = 0; i < ns; i++)
        if (secs[i].kind && strcmp(secs[i].kind, one) == 0)
            sec = secs[i].name;
    fprintf(out, "%s %s\n  %s\n  source: %s\n  select with: %s.%s = %s\n", one, c->name, c->doc,
            c->source, sec, strcmp(one, "dataset") == 0 ? "dataset" : "type", c->name);
    if (strcmp(one, "defense") == 0) {
        const afl_defense_ops *d = afl_defense_find(c->name);
        fprintf(out, "  trusted server data: %s\n", d->needs_trusted_data ? "yes (defense.trusted_size)" : "no");
        fprintf(out, "  events.csv aux column: %s\n", d->aux_doc ? d->aux_doc : "NA (not used)");
        fprintf(out, "  acceptance probe for adaptive attacks: %s\n", d->probe ? "yes" : "no");
    }
    if (!c->params || !c->params[0].key)
        fprintf(out, "  parameters: none\n");
    else
        fprintf(out, "  parameters (keys of [%s]):\n", sec);
    for (const afl_param *p = c->params; p && p->key; p++)
        param_line(out, p);
    return AFL_OK;
}

static void md_param(FILE *out, const char *sec, const afl_param *p)
{
    char range[200] = "";
    if (p->type == AFL_P_INT || p->type == AFL_P_REAL || p->type == AFL_P_INTLIST) {
        if (p->max >= 1e300 || (p->type != AFL_P_REAL && p->max >= 9e18))
            snprintf(range, sizeof range, "≥ %g", p->min);
        else
            snprintf(range, sizeof range, "%g … %g", p->min, p->max);
    } else if (p->choices) {
        snprintf(range, sizeof range, "%s", p->choices);
        for (char *q = range; *q; q++)
            if (*q == '|')
                *q = '/';
    }
    fprintf(out, "| `%s.%s` | %s | `%s` | %s | %s |\n", sec, p->key, afl_ptype_name(p->type),
            p->def, range, p->doc);
}

void afl_doc_markdown(FILE *out)
{
    fprintf(out, "# Scenario keys\n\n"
                 "<!-- Generated by `aflsim doc` from the parameter tables; do not edit by hand "
                 "(scripts/gen-docs regenerates it, and a test checks it is current). -->\n\n"
                 "A scenario is an INI file with the sections below. Every key is optional; the "
                 "default is used when it is absent, and the run folder's `config.ini` lists "
                 "every value used. Override any key from the command line with "
                 "`--set section.key=value`. Relative paths in a scenario file are relative to "
                 "that file's folder; on the command line, to the current folder.\n\n");
    size_t ns;
    const afl_section *secs = afl_sections(&ns);
    for (size_t i = 0; i < ns; i++) {
        const afl_section *s = &secs[i];
        fprintf(out, "## [%s]\n\n%s.\n\n| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n",
                s->name, s->doc);
        if (s->selector) {
            size_t nc;
            const afl_component *c = s->components(&nc);
            fprintf(out, "| `%s.%s` | choice | `%s` | ", s->name, s->selector, s->selector_default);
            for (size_t k = 0; k < nc; k++)
                fprintf(out, "%s%s", k ? "/" : "", c[k].name);
            fprintf(out, " | which %s to use |\n", s->kind);
        }
        for (const afl_param *p = s->params; p->key; p++)
            md_param(out, s->name, p);
        fprintf(out, "\n");
        if (s->selector) {
            size_t nc;
            const afl_component *c = s->components(&nc);
            for (size_t k = 0; k < nc; k++) {
                fprintf(out, "### %s `%s`\n\n%s.\n\nSource: %s.\n\n", s->kind, c[k].name, c[k].doc,
                        c[k].source);
                if (c[k].params && c[k].params[0].key) {
                    fprintf(out, "| key | type | default | allowed | meaning |\n|---|---|---|---|---|\n");
                    for (const afl_param *p = c[k].params; p->key; p++)
                        md_param(out, s->name, p);
                    fprintf(out, "\n");
                }
            }
        }
    }
    fprintf(out, "## Delay distributions\n\nUsed by `delay.speed`, `delay.compute` and "
                 "`delay.network`, written like `lognormal(0, 0.5)`.\n\n"
                 "| family | parameters | meaning | source |\n|---|---|---|---|\n");
    size_t nf;
    const afl_dist_family *f = afl_dist_families(&nf);
    for (size_t i = 0; i < nf; i++)
        fprintf(out, "| `%s` | `%s` | %s | %s |\n", f[i].name, f[i].signature, f[i].doc,
                f[i].source);
    (void)kinds_plural;
}
