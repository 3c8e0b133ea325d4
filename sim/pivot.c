/* sim/pivot.c - `aflsim table`: a sweep's table.csv pivoted into a
 * paper-shaped table (rows = one axis, columns = another, cells = the mean
 * test error, or "TER / ASR" for backdoor attacks), as Markdown and CSV. */
#include "sim/pivot.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fsutil.h"

enum { MAXC = 128, MAXV = 256 };

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    afl_buf b = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        afl_buf_printf(&b, "%.*s", (int)got, chunk);
    fclose(f);
    return b.oom ? (free(b.data), NULL) : b.data;
}

/* Splits a CSV line in place (quotes handled); returns the field count. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"')
                    p++;
                *w++ = *p++;
            }
            if (*p == '"')
                p++;
            *w = 0;
            while (*p && *p != ',')
                p++;
        } else {
            f[n++] = p;
            while (*p && *p != ',')
                p++;
        }
        if (*p != ',') {
            *p = 0;
            break;
        }
        *p++ = 0;
    }
    return n;
}

static int find(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

static int intern(const char **vals, int *n, const char *v)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(vals[i], v) == 0)
            return i;
    if (*n >= MAXV)
        return -1;
    vals[*n] = v;
    return (*n)++;
}

int afl_pivot(const char *dir, const char *rows_key, const char *cols_key, const char *metric,
              afl_err *err)
{
    if (!metric)
        metric = "final_test_error";
    char mname[128];
    snprintf(mname, sizeof mname, "%s_mean", metric);
    int is_ter = strcmp(metric, "final_test_error") == 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/table.csv", dir);
    char *text = slurp(path);
    if (!text)
        return afl_err_set(err, AFL_EINPUT, "cannot read %s: run the sweep first", path);
    char **lines = NULL;
    int nl = 0;
    for (char *p = text; *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = 0;
        char **nlines = realloc(lines, (size_t)(nl + 1) * sizeof *lines);
        if (!nlines) {
            free(lines);
            free(text);
            return afl_err_set(err, AFL_ENOMEM, "out of memory");
        }
        lines = nlines;
        lines[nl++] = p;
        if (!e)
            break;
        p = e + 1;
    }
    int rc = AFL_OK;
    char *hdr[MAXC];
    int nh = nl ? split(lines[0], hdr, MAXC) : 0;
    int rcol = find(hdr, nh, rows_key), ccol = find(hdr, nh, cols_key);
    int ecol = find(hdr, nh, mname), acol = is_ter ? find(hdr, nh, "final_asr_mean") : -1;
    int ncol = find(hdr, nh, "n");
    if (rcol < 0 || ccol < 0 || ecol < 0) {
        rc = afl_err_set(err, AFL_EINPUT,
                         "%s has no column '%s'; the table's rows and columns must be axes of the "
                         "sweep (see the first line of table.csv)",
                         path, rcol < 0 ? rows_key : ccol < 0 ? cols_key : mname);
        goto out;
    }
    /* other axes: the columns before "n" that are neither rows nor cols */
    const char *rv[MAXV], *cv[MAXV], *ov[MAXV];
    int nr = 0, nc = 0, no = 0;
    typedef struct {
        int r, c, o;
        double ter, asr;
        int n;
    } cell;
    cell *cells = calloc((size_t)nl, sizeof *cells);
    char **fields = calloc((size_t)nl * MAXC, sizeof *fields);
    if (!cells || !fields) {
        free(cells);
        free(fields);
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
        goto out;
    }
    int ncells = 0;
    for (int i = 1; i < nl; i++) {
        if (!lines[i][0])
            continue;
        char **f = fields + (size_t)i * MAXC;
        int nf = split(lines[i], f, MAXC);
        if (nf != nh)
            continue;
        char other[1024] = "";
        size_t oj = 0;
        for (int k = 0; k < ncol; k++)
            if (k != rcol && k != ccol)
                oj += (size_t)snprintf(other + oj, sizeof other - oj, "%s%s = %s", oj ? ", " : "",
                                       hdr[k], f[k]);
        char *okey = strdup(other);
        cell *c = &cells[ncells++];
        c->r = intern(rv, &nr, f[rcol]);
        c->c = intern(cv, &nc, f[ccol]);
        c->o = intern(ov, &no, okey);
        if (c->o >= 0 && ov[c->o] != okey)
            free(okey);
        c->ter = strcmp(f[ecol], "NA") == 0 ? NAN : strtod(f[ecol], NULL);
        c->asr = acol >= 0 && strcmp(f[acol], "NA") != 0 ? strtod(f[acol], NULL) : NAN;
        c->n = ncol >= 0 ? atoi(f[ncol]) : 1;
        if (c->r < 0 || c->c < 0 || c->o < 0) {
            rc = afl_err_set(err, AFL_EINPUT, "%s: more than %d distinct values", path, MAXV);
            break;
        }
    }
    afl_buf md = {0}, csv = {0};
    afl_buf_printf(&md, "<!-- generated by aflsim table from %s/table.csv -->\n", dir);
    int with_setting = no > 1 || (no == 1 && ov[0][0]);
    afl_buf_printf(&csv, "%s%s,%s,%s,asr,n\n", with_setting ? "setting," : "", rows_key, cols_key,
                   is_ter ? "test_error" : metric);
    for (int o = 0; o < no && !rc; o++) {
        if (with_setting)
            afl_buf_printf(&md, "\n### %s\n", ov[o]);
        afl_buf_printf(&md, "\n| %s \\ %s |", rows_key, cols_key);
        for (int c = 0; c < nc; c++)
            afl_buf_printf(&md, " %s |", cv[c]);
        afl_buf_printf(&md, "\n|---|");
        for (int c = 0; c < nc; c++)
            afl_buf_printf(&md, "---|");
        afl_buf_printf(&md, "\n");
        for (int r = 0; r < nr; r++) {
            afl_buf_printf(&md, "| %s |", rv[r]);
            for (int c = 0; c < nc; c++) {
                const cell *hit = NULL;
                for (int k = 0; k < ncells; k++)
                    if (cells[k].r == r && cells[k].c == c && cells[k].o == o)
                        hit = &cells[k];
                if (!hit) {
                    afl_buf_printf(&md, " – |");
                    continue;
                }
                if (isnan(hit->ter))
                    afl_buf_printf(&md, " NA |");
                else if (!is_ter)
                    afl_buf_printf(&md, " %.3g |", hit->ter);
                else if (isnan(hit->asr))
                    afl_buf_printf(&md, " %.2f |", hit->ter);
                else
                    afl_buf_printf(&md, " %.2f / %.2f |", hit->ter, hit->asr);
                if (with_setting)
                    afl_buf_printf(&csv, "\"%s\",", ov[o]);
                afl_buf_printf(&csv, "%s,%s,%.9g,", rv[r], cv[c], hit->ter);
                afl_buf_printf(&csv, isnan(hit->asr) ? "NA" : "%.9g", hit->asr);
                afl_buf_printf(&csv, ",%d\n", hit->n);
            }
            afl_buf_printf(&md, "\n");
        }
    }
    if (is_ter)
        afl_buf_printf(&md, "\nCells: mean test error (TER) over seeds; \"TER / ASR\" where the "
                            "attack is a backdoor. Lower is better.\n");
    else
        afl_buf_printf(&md, "\nCells: mean %s over seeds.\n", metric);
    if (!rc) {
        snprintf(path, sizeof path, "%s/table.md", dir);
        rc = md.oom ? afl_err_set(err, AFL_ENOMEM, "out of memory")
                    : afl_write_file_atomic(path, md.data, md.len, err);
    }
    if (!rc) {
        snprintf(path, sizeof path, "%s/paper_table.csv", dir);
        rc = csv.oom ? afl_err_set(err, AFL_ENOMEM, "out of memory")
                     : afl_write_file_atomic(path, csv.data, csv.len, err);
    }
    for (int o = 0; o < no; o++)
        free((char *)ov[o]);
    afl_buf_free(&md);
    afl_buf_free(&csv);
    free(cells);
    free(fields);
out:
    free(lines);
    free(text);
    return rc;
}
