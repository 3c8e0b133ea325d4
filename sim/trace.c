/* sim/trace.c - availability traces read with libcsv (see trace.h). */
#include "sim/trace.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double start, end;
    int client;
} row;

typedef struct {
    const char *path;
    long line;     /* physical line being parsed (1-based) */
    long rec_line; /* line on which the current record started */
    int in_header; /* the header row is not complete yet */
    int field, n_clients;
    int col_index[3]; /* position of client,start,end in the header */
    double vals[3];
    int have[3];
    row *rows;
    size_t n, cap;
    afl_err *err;
    int failed;
    int ncols_header;
} parse_ctx;

static const char *names[3] = {"client", "start", "end"};

static void on_field(void *s, size_t len, void *data)
{
    parse_ctx *p = data;
    if (p->failed)
        return;
    if (p->field == 0)
        p->rec_line = p->line;
    char buf[128];
    size_t l = len < sizeof buf - 1 ? len : sizeof buf - 1;
    if (s && l) /* an empty field is NULL (CSV_EMPTY_IS_NULL) */
        memcpy(buf, s, l);
    buf[l] = 0;
    int f = p->field++;
    if (p->in_header) {
        for (int k = 0; k < 3; k++)
            if (len == strlen(names[k]) && strcmp(buf, names[k]) == 0) {
                if (p->col_index[k] >= 0) {
                    afl_err_set(p->err, AFL_EINPUT,
                                "%s:%ld: the header names column '%s' twice; expected the header "
                                "client,start,end",
                                p->path, p->rec_line, names[k]);
                    p->failed = 1;
                    return;
                }
                p->col_index[k] = f;
            }
        p->ncols_header = f + 1;
        return;
    }
    for (int k = 0; k < 3; k++) {
        if (p->col_index[k] != f)
            continue;
        char *end;
        errno = 0;
        double v = strtod(buf, &end);
        if (!buf[0] || *end || !isfinite(v) || len >= sizeof buf || strlen(buf) != l) {
            afl_err_set(p->err, AFL_EINPUT,
                        "%s:%ld: column '%s': '%s%s' is not a finite number", p->path,
                        p->rec_line, names[k], buf, len >= sizeof buf ? "..." : "");
            afl_err_oneline(p->err); /* a quoted field may hold a newline */
            p->failed = 1;
            return;
        }
        p->vals[k] = v;
        p->have[k] = 1;
    }
}

static void on_row(int c, void *data)
{
    (void)c;
    parse_ctx *p = data;
    if (p->failed)
        return;
    if (p->in_header) {
        for (int k = 0; k < 3; k++)
            if (p->col_index[k] < 0) {
                afl_err_set(p->err, AFL_EINPUT,
                            "%s:%ld: the header has no column '%s'; expected the header "
                            "client,start,end",
                            p->path, p->rec_line, names[k]);
                p->failed = 1;
                return;
            }
        p->in_header = 0;
    } else {
        if (p->field != p->ncols_header) {
            afl_err_set(p->err, AFL_EINPUT, "%s:%ld: expected %d fields like the header, got %d",
                        p->path, p->rec_line, p->ncols_header, p->field);
            p->failed = 1;
            return;
        }
        double cl = p->vals[0];
        if (cl != floor(cl) || cl < 0 || cl >= p->n_clients) {
            afl_err_set(p->err, AFL_EINPUT,
                        "%s:%ld: client %g is not a client id; expected an integer in [0, %d]",
                        p->path, p->rec_line, cl, p->n_clients - 1);
            p->failed = 1;
            return;
        }
        if (p->vals[1] < 0 || !(p->vals[2] > p->vals[1])) {
            afl_err_set(p->err, AFL_EINPUT,
                        "%s:%ld: interval [%g, %g) is invalid; expected 0 <= start < end", p->path,
                        p->rec_line, p->vals[1], p->vals[2]);
            p->failed = 1;
            return;
        }
        if (p->n == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 256;
            row *r = realloc(p->rows, cap * sizeof *r);
            if (!r) {
                afl_err_set(p->err, AFL_ENOMEM, "out of memory reading %s", p->path);
                p->failed = 1;
                return;
            }
            p->rows = r;
            p->cap = cap;
        }
        p->rows[p->n++] = (row){p->vals[1], p->vals[2], (int)cl};
    }
    p->field = 0;
}

static int cmp_row(const void *a, const void *b)
{
    const row *x = a, *y = b;
    if (x->client != y->client)
        return x->client < y->client ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

int afl_trace_load(const char *path, int n_clients, afl_trace *t, afl_err *err)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return afl_err_set(err, AFL_EIO, "cannot open trace file %s (delay.trace): %s", path,
                           strerror(errno));
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0) {
        fclose(f);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    parse_ctx p = {.path = path, .in_header = 1, .n_clients = n_clients, .err = err};
    for (int k = 0; k < 3; k++)
        p.col_index[k] = -1;
    /* fed one physical line at a time, so that every message names its line */
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = AFL_OK;
    while (!p.failed && (got = getline(&buf, &cap, f)) > 0) {
        p.line++;
        if (csv_parse(&cp, buf, (size_t)got, on_field, on_row, &p) != (size_t)got) {
            rc = afl_err_set(err, AFL_EINPUT, "%s:%ld: malformed CSV: %s", path, p.line,
                             csv_strerror(csv_error(&cp)));
            break;
        }
    }
    if (!rc && !p.failed && ferror(f))
        rc = afl_err_set(err, AFL_EIO, "cannot read trace file %s: %s", path, strerror(errno));
    if (!rc && !p.failed)
        csv_fini(&cp, on_field, on_row, &p);
    free(buf);
    csv_free(&cp);
    fclose(f);
    if (p.failed)
        rc = err ? err->code : AFL_EINPUT;
    if (!rc && p.in_header)
        rc = afl_err_set(err, AFL_EINPUT, "%s: empty file; expected the header client,start,end",
                         path);
    if (rc) {
        free(p.rows);
        return rc;
    }
    if (p.n)
        qsort(p.rows, p.n, sizeof *p.rows, cmp_row);
    t->n_clients = n_clients;
    t->offsets = calloc((size_t)n_clients + 1, sizeof *t->offsets);
    t->listed = calloc((size_t)n_clients, 1);
    t->start = malloc((p.n ? p.n : 1) * sizeof(double));
    t->end = malloc((p.n ? p.n : 1) * sizeof(double));
    if (!t->offsets || !t->listed || !t->start || !t->end) {
        free(p.rows);
        afl_trace_free(t);
        return afl_err_set(err, AFL_ENOMEM, "out of memory reading %s", path);
    }
    /* rows are sorted by (client, start): merge overlapping or touching intervals and count
       the intervals of each client into offsets[client + 1], then make offsets cumulative */
    size_t m = 0;
    for (size_t i = 0; i < p.n; i++) {
        row *r = &p.rows[i];
        t->listed[r->client] = 1;
        if (i > 0 && p.rows[i - 1].client == r->client && r->start <= t->end[m - 1]) {
            if (r->end > t->end[m - 1])
                t->end[m - 1] = r->end;
            continue;
        }
        t->start[m] = r->start;
        t->end[m] = r->end;
        t->offsets[r->client + 1]++;
        m++;
    }
    for (int c = 0; c < n_clients; c++)
        t->offsets[c + 1] += t->offsets[c];
    free(p.rows);
    return AFL_OK;
}

void afl_trace_free(afl_trace *t)
{
    free(t->offsets);
    free(t->start);
    free(t->end);
    free(t->listed);
    memset(t, 0, sizeof *t);
}

int afl_trace_online(const afl_trace *t, int client, double time, double *next, double *until)
{
    if (!t->listed[client]) {
        *until = INFINITY;
        return 1;
    }
    for (int k = t->offsets[client]; k < t->offsets[client + 1]; k++) {
        if (time < t->start[k]) {
            *next = t->start[k];
            return 0;
        }
        if (time < t->end[k]) {
            *until = t->end[k];
            return 1;
        }
    }
    *next = INFINITY;
    return 0;
}
