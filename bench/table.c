/* bench/table.c - see table.h. */
#include "bench/table.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct row {
    char name[96];
    double value;
    char unit[24];
    char target[24];
    double limit, ratio;
    char note[512];
} row;

static row *rows;
static size_t n_rows, cap_rows;
static int n_met, n_missed;

static void fmt_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3))
        snprintf(buf, len, "%.3g", v);
    else if (fabs(v) >= 100)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.3g", v);
}

/* "met", "MISSED" or "" for a target such as "<= 2.5" or ">= 5e6". */
static const char *verdict(const char *target, double v)
{
    double t;
    if (isnan(v) || !target[0])
        return "";
    if (sscanf(target, "<= %lf", &t) == 1)
        return v <= t ? "met" : "MISSED";
    if (sscanf(target, ">= %lf", &t) == 1)
        return v >= t ? "met" : "MISSED";
    return "";
}

void table_section(const char *title)
{
    printf("\n== %s ==\n", title);
    printf("%-46s %10s %-9s %-9s %10s %6s %-6s  %s\n", "figure", "value", "unit", "target", "limit",
           "ratio", "", "note");
    fflush(stdout);
}

void table_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("   ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

void table_row(const char *name, double value, const char *unit, const char *target, double limit,
               int better, const char *note_fmt, ...)
{
    if (n_rows == cap_rows) {
        size_t nc = cap_rows ? 2 * cap_rows : 64;
        row *nr = realloc(rows, nc * sizeof *nr);
        if (!nr)
            return; /* the row is lost; the benchmark goes on */
        rows = nr;
        cap_rows = nc;
    }
    row *r = &rows[n_rows++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    snprintf(r->target, sizeof r->target, "%s", target ? target : "");
    r->value = value;
    r->limit = limit;
    r->ratio = NAN;
    if (!isnan(limit) && !isnan(value) && value > 0 && limit > 0)
        r->ratio = better == HIGHER_BETTER ? value / limit : limit / value;
    if (note_fmt) {
        va_list ap;
        va_start(ap, note_fmt);
        vsnprintf(r->note, sizeof r->note, note_fmt, ap);
        va_end(ap);
    }
    const char *vd = verdict(r->target, value);
    n_met += strcmp(vd, "met") == 0;
    n_missed += strcmp(vd, "MISSED") == 0;
    char v[32], l[32], q[32];
    fmt_num(v, sizeof v, value);
    fmt_num(l, sizeof l, limit);
    if (isnan(r->ratio))
        snprintf(q, sizeof q, "-");
    else
        snprintf(q, sizeof q, "%.2f", r->ratio);
    printf("%-46s %10s %-9s %-9s %10s %6s %-6s  %s\n", r->name, v, r->unit,
           r->target[0] ? r->target : "-", l, q, vd, r->note);
    fflush(stdout);
}

void table_counts(int *met, int *missed)
{
    *met = n_met;
    *missed = n_missed;
}

/* One CSV field, quoted when it holds a comma, quote or newline (RFC 4180). */
static void field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void number(FILE *f, double v)
{
    if (!isnan(v))
        fprintf(f, "%.6g", v);
}

int table_write_csv(const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fputs("name,value,unit,target,limit,ratio,note\n", f);
    for (size_t i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        field(f, r->name);
        fputc(',', f);
        number(f, r->value);
        fputc(',', f);
        field(f, r->unit);
        fputc(',', f);
        field(f, r->target);
        fputc(',', f);
        number(f, r->limit);
        fputc(',', f);
        number(f, r->ratio);
        fputc(',', f);
        field(f, r->note);
        fputc('\n', f);
    }
    int bad = ferror(f);
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
