/* data/csvdata.c - tabular datasets from CSV files with a header row.
 *
 * Parsing: libcsv 3 (R. Gamble, https://sourceforge.net/projects/libcsv/), strict mode, which
 * follows RFC 4180 quoting ("a,""b""" etc.; quoted fields may contain commas and newlines).  The
 * file is fed to csv_parse one physical line at a time, so the callbacks always know the line
 * they are on and every message can say file:line.  For a record whose quoted fields span several
 * lines, the line reported is the one on which its first field ends.
 */
#include "data/dataset.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <csv.h>

typedef struct {
    const char *path;
    const char *label_name;
    afl_err *err;
    int rc;

    long line;     /* physical line being parsed (1-based) */
    long rec_line; /* line of the current record */
    int field;     /* fields seen so far in the current record */
    int in_header; /* the header row is not complete yet */
    int saw_any;   /* any record at all */

    char **names;
    int n_cols, cap_names;
    int label_col;
    int n_feat;

    float *row; /* (n_feat) current record's features */
    int32_t row_label;

    float *x;
    size_t x_cap; /* in values */
    int32_t *y;
    size_t y_cap;
    long n_rows;
    int32_t max_label;
} csv_state;

/* Strips leading and trailing white space in place; returns the start. */
static char *trim(char *s, size_t *len)
{
    size_t a = 0, b = *len;
    while (a < b && isspace((unsigned char)s[a]))
        a++;
    while (b > a && isspace((unsigned char)s[b - 1]))
        b--;
    s[b] = '\0';
    *len = b - a;
    return s + a;
}

/* The whole of s (after trimming) must be a finite number. */
static int parse_number(char *s, size_t len, double *out)
{
    s = trim(s, &len);
    if (len == 0 || strlen(s) != len)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s + len || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int looks_numeric(const char *s)
{
    size_t len = strlen(s);
    char *tmp = malloc(len + 1);
    if (!tmp)
        return 0;
    memcpy(tmp, s, len + 1);
    double v;
    int ok = parse_number(tmp, len, &v);
    free(tmp);
    return ok;
}

static int st_fail(csv_state *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int st_fail(csv_state *st, int code, const char *fmt, ...)
{
    if (st->rc)
        return st->rc;
    va_list ap;
    va_start(ap, fmt);
    char buf[sizeof st->err->msg];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    st->rc = afl_err_set(st->err, code, "%s", buf);
    afl_err_oneline(st->err); /* quoted fields and names may hold newlines */
    return st->rc;
}

static const char *col_name(const csv_state *st, int j)
{
    return j < st->n_cols ? st->names[j] : "?";
}

static void on_field(void *data, size_t len, void *vst)
{
    csv_state *st = vst;
    if (st->rc)
        return;
    char empty[1] = {0};
    char *s = data ? data : empty;
    if (!data)
        len = 0;
    if (st->field == 0)
        st->rec_line = st->line;
    int j = st->field++;
    if (st->in_header) {
        if (st->n_cols == st->cap_names) {
            int cap = st->cap_names ? 2 * st->cap_names : 16;
            char **nn = realloc(st->names, (size_t)cap * sizeof *nn);
            if (!nn) {
                st_fail(st, AFL_ENOMEM, "out of memory reading the header of %s", st->path);
                return;
            }
            st->names = nn;
            st->cap_names = cap;
        }
        size_t tl = len;
        char *t = trim(s, &tl);
        char *copy = malloc(tl + 1);
        if (!copy) {
            st_fail(st, AFL_ENOMEM, "out of memory reading the header of %s", st->path);
            return;
        }
        memcpy(copy, t, tl);
        copy[tl] = '\0';
        st->names[st->n_cols++] = copy;
        return;
    }
    if (j >= st->n_cols)
        return; /* ragged: reported at the end of the record */
    double v;
    if (j == st->label_col) {
        size_t tl = len;
        char *t = trim(s, &tl);
        const char *more = tl > 40 ? "..." : "";
        if (!parse_number(t, tl, &v) || v != floor(v)) {
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: label column '%s' is '%.40s%s'; expected a non-negative integer "
                    "class label",
                    st->path, st->rec_line, st->label_name, t, more);
            return;
        }
        if (v < 0) {
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: label column '%s' is %.40s%s, a negative number; expected a "
                    "non-negative integer class label",
                    st->path, st->rec_line, st->label_name, t, more);
            return;
        }
        if (v >= AFL_DATASET_MAX_CLASSES) {
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: label column '%s' is %.40s%s; expected a class label below %d",
                    st->path, st->rec_line, st->label_name, t, more, AFL_DATASET_MAX_CLASSES);
            return;
        }
        st->row_label = (int32_t)v;
        return;
    }
    if (!parse_number(s, len, &v)) {
        size_t tl = len;
        char *t = trim(s, &tl);
        if (strlen(t) != tl)
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: column '%.100s' contains a NUL byte; expected a number", st->path,
                    st->rec_line, col_name(st, j));
        else if (tl == 0)
            st_fail(st, AFL_EINPUT, "%s:%ld: column '%.100s' is empty; expected a number", st->path,
                    st->rec_line, col_name(st, j));
        else
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: column '%.100s' is '%.40s'%s; expected a finite number", st->path,
                    st->rec_line, col_name(st, j), t, tl > 40 ? "..." : "");
        return;
    }
    if (fabs(v) > 3.4028234663852886e38) {
        st_fail(st, AFL_EINPUT,
                "%s:%ld: column '%.100s' is %g, outside the range of a float; expected a finite "
                "number",
                st->path, st->rec_line, col_name(st, j), v);
        return;
    }
    int k = j < st->label_col ? j : j - 1;
    st->row[k] = (float)v;
}

static void finish_header(csv_state *st)
{
    st->in_header = 0;
    int found = -1;
    for (int j = 0; j < st->n_cols; j++) {
        if (strcmp(st->names[j], st->label_name) != 0)
            continue;
        if (found >= 0) {
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: the label column '%s' appears twice in the header (columns %d and "
                    "%d); expected exactly one",
                    st->path, st->rec_line, st->label_name, found + 1, j + 1);
            return;
        }
        found = j;
    }
    if (found < 0) {
        int numeric = 1;
        for (int j = 0; j < st->n_cols && numeric; j++)
            numeric = looks_numeric(st->names[j]);
        if (numeric) {
            st_fail(st, AFL_EINPUT,
                    "%s:%ld: missing header: the first row holds numbers, not column names; "
                    "expected a header row naming the columns, including the label column '%s'",
                    st->path, st->rec_line, st->label_name);
            return;
        }
        char list[700];
        size_t used = 0;
        list[0] = '\0';
        for (int j = 0; j < st->n_cols; j++) {
            int w =
                snprintf(list + used, sizeof list - used, "%s'%s'", j ? ", " : "", st->names[j]);
            if (w < 0 || (size_t)w >= sizeof list - used) {
                snprintf(list + (used < sizeof list - 5 ? used : sizeof list - 5),
                         sizeof list - (used < sizeof list - 5 ? used : sizeof list - 5), ", ...");
                break;
            }
            used += (size_t)w;
        }
        st_fail(st, AFL_EINPUT, "%s:%ld: no column named '%s' for the labels; the columns are %s",
                st->path, st->rec_line, st->label_name, list);
        return;
    }
    st->label_col = found;
    st->n_feat = st->n_cols - 1;
    if (st->n_feat < 1) {
        st_fail(st, AFL_EINPUT,
                "%s:%ld: the header has only the label column '%s'; expected at least one "
                "feature column",
                st->path, st->rec_line, st->label_name);
        return;
    }
    st->row = calloc((size_t)st->n_feat, sizeof(float));
    if (!st->row)
        st_fail(st, AFL_ENOMEM, "out of memory reading %s", st->path);
}

static void on_record(int term, void *vst)
{
    (void)term;
    csv_state *st = vst;
    if (st->rc)
        return;
    if (st->field == 0)
        return;
    st->saw_any = 1;
    int nf = st->field;
    st->field = 0;
    if (st->in_header) {
        finish_header(st);
        return;
    }
    if (nf != st->n_cols) {
        st_fail(st, AFL_EINPUT,
                "%s:%ld: row has %d field%s but the header has %d columns; expected %d fields in "
                "every row",
                st->path, st->rec_line, nf, nf == 1 ? "" : "s", st->n_cols, st->n_cols);
        return;
    }
    size_t nfeat = (size_t)st->n_feat;
    size_t need = (size_t)(st->n_rows + 1) * nfeat;
    if (st->n_rows + 1 > 0x7fffffffL || (long long)need > AFL_DATASET_MAX_BYTES) {
        st_fail(st, AFL_EINPUT,
                "%s:%ld: too much data: more than 2^31 values or rows; expected a smaller "
                "dataset",
                st->path, st->rec_line);
        return;
    }
    if (need > st->x_cap) {
        size_t cap = st->x_cap ? st->x_cap : 1024 * nfeat;
        while (cap < need)
            cap *= 2;
        float *nx = realloc(st->x, cap * sizeof(float));
        if (!nx) {
            st_fail(st, AFL_ENOMEM, "out of memory reading %s", st->path);
            return;
        }
        st->x = nx;
        st->x_cap = cap;
    }
    if ((size_t)st->n_rows + 1 > st->y_cap) {
        size_t cap = st->y_cap ? 2 * st->y_cap : 1024;
        int32_t *ny = realloc(st->y, cap * sizeof(int32_t));
        if (!ny) {
            st_fail(st, AFL_ENOMEM, "out of memory reading %s", st->path);
            return;
        }
        st->y = ny;
        st->y_cap = cap;
    }
    memcpy(st->x + (size_t)st->n_rows * nfeat, st->row, nfeat * sizeof(float));
    st->y[st->n_rows] = st->row_label;
    if (st->row_label > st->max_label)
        st->max_label = st->row_label;
    st->n_rows++;
}

int afl_csv_dataset_load(const char *path, const char *label_column, afl_dataset *out, afl_err *err)
{
    if (!out)
        return afl_err_set(err, AFL_EINTERNAL, "afl_csv_dataset_load: no output dataset");
    memset(out, 0, sizeof *out);
    if (!path)
        return afl_err_set(err, AFL_EINPUT, "CSV dataset: no file name given");
    if (!label_column || !*label_column)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: no label column name given; expected the "
                           "header name of the column that holds the labels",
                           path);
    afl_err local;
    csv_state st;
    memset(&st, 0, sizeof st);
    st.path = path;
    st.label_name = label_column;
    st.err = err ? err : &local;
    st.in_header = 1;
    st.label_col = -1;

    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return afl_err_set(err, AFL_EIO, "cannot open CSV file %s: %s", path, strerror(errno));
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        fclose(f);
        return afl_err_set(err, AFL_ENOMEM, "out of memory reading %s", path);
    }
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    while (!st.rc && (len = getline(&buf, &cap, f)) > 0) {
        st.line++;
        char *start = buf;
        if (st.line == 1 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
            start += 3; /* UTF-8 byte-order mark */
            len -= 3;
        }
        if (csv_parse(&p, start, (size_t)len, on_field, on_record, &st) != (size_t)len && !st.rc)
            st_fail(&st, AFL_EINPUT,
                    "%s:%ld: malformed CSV (libcsv: %s); expected RFC 4180 "
                    "quoting, e.g. a quote inside a quoted field doubled",
                    path, st.line, csv_strerror(csv_error(&p)));
    }
    if (!st.rc && ferror(f))
        st_fail(&st, AFL_EIO, "cannot read CSV file %s: %s", path, strerror(errno));
    if (!st.rc && csv_fini(&p, on_field, on_record, &st) != 0 && !st.rc)
        st_fail(&st, AFL_EINPUT,
                "%s:%ld: malformed CSV at the end of the file (libcsv: %s); expected every "
                "quoted field to be closed",
                path, st.line, csv_strerror(csv_error(&p)));
    csv_free(&p);
    free(buf);
    fclose(f);

    if (!st.rc && !st.saw_any)
        st_fail(&st, AFL_EINPUT,
                "%s: empty file; expected a header row naming the columns (including the label "
                "column '%s') and then one row per example",
                path, label_column);
    if (!st.rc && st.n_rows == 0)
        st_fail(&st, AFL_EINPUT,
                "%s: no data rows after the header; expected at least one "
                "example",
                path);
    if (!st.rc) {
        out->n = (int)st.n_rows;
        out->c = 1;
        out->h = 1;
        out->w = st.n_feat;
        out->dim = st.n_feat;
        out->n_classes = st.max_label + 1;
        out->is_image = 0;
        out->x = st.x;
        out->y = st.y;
        st.x = NULL;
        st.y = NULL;
    }
    for (int j = 0; j < st.n_cols; j++)
        free(st.names[j]);
    free(st.names);
    free(st.row);
    free(st.x);
    free(st.y);
    return st.rc;
}
