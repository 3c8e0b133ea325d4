/* tests/test_errors_doc.c - every error message in the code is in docs/errors.md.
 *
 * Scans the C sources under AFL_SOURCE_ROOT (not tests/ or build*) for the format strings of
 * afl_err_set(err, code, FORMAT, ...), st_fail(st, code, FORMAT, ...) and
 * afl_err_prefix(err, FORMAT, ...), afl_ckpt_fail(ck, code, FORMAT, ...) - adjacent string literals concatenated, comments
 * ignored - and checks that each, normalised (printf conversions such as %s %d %.9g %zu
 * %lld become one placeholder), equals the normalised text of an entry "- `MESSAGE`" of
 * docs/errors.md.  The same rules as scripts/gen-errors, which refreshes the catalogue. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

static void push(strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        cr_assert_not_null(l->v);
    }
    l->v[l->n++] = s;
}

static void free_list(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* printf conversions -> '\1'; "%%" -> '%'.  Returns a new string. */
static char *normalise(const char *f)
{
    size_t n = strlen(f);
    char *o = malloc(n + 1), *w = o;
    for (size_t i = 0; i < n;) {
        if (f[i] != '%') {
            *w++ = f[i++];
            continue;
        }
        size_t j = i + 1;
        if (f[j] == '%') {
            *w++ = '%';
            i = j + 1;
            continue;
        }
        while (f[j] && strchr("-+ #0'", f[j]))
            j++;
        if (f[j] == '*')
            j++;
        else
            while (isdigit((unsigned char)f[j]))
                j++;
        if (f[j] == '.') {
            j++;
            if (f[j] == '*')
                j++;
            else
                while (isdigit((unsigned char)f[j]))
                    j++;
        }
        while (f[j] && strchr("hlLqjzZt", f[j]))
            j++;
        if (f[j] && strchr("diouxXeEfFgGaAcspn", f[j])) {
            *w++ = '\1';
            i = j + 1;
        } else {
            *w++ = f[i++]; /* not a conversion: keep the '%' */
        }
    }
    *w = 0;
    return o;
}

/* Blanks out comments, keeping string and character literals and newlines. */
static void strip_comments(char *s)
{
    for (char *p = s; *p;) {
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q)
                p += (*p == '\\' && p[1]) ? 2 : 1;
            if (*p)
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            char *end = e ? e + 2 : p + strlen(p);
            for (; p < end; p++)
                if (*p != '\n')
                    *p = ' ';
        } else if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
        } else {
            p++;
        }
    }
}

/* Start of argument idx of the call whose '(' is at open, and its end; 0 if absent. */
static int call_arg(const char *open, int idx, const char **a, const char **b)
{
    int depth = 0, k = 0;
    const char *start = open + 1;
    for (const char *p = open + 1; *p; p++) {
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q)
                p += (*p == '\\' && p[1]) ? 2 : 1;
            if (!*p)
                return 0;
            continue;
        }
        if (strchr("([{", *p)) {
            depth++;
        } else if (strchr(")]}", *p) && depth > 0) {
            depth--;
        } else if ((*p == ',' || *p == ')') && depth == 0) {
            if (k == idx) {
                *a = start;
                *b = p;
                return 1;
            }
            if (*p == ')')
                return 0;
            k++;
            start = p + 1;
        }
    }
    return 0;
}

/* The runs of adjacent string literals in [a, b), \" and \\ unescaped; other escapes kept
 * as written (\n stays the two characters backslash, n). */
static void formats_in(const char *a, const char *b, strlist *out)
{
    char *cur = NULL;
    size_t len = 0;
    for (const char *p = a; p < b;) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (*p != '"') {
            if (cur) {
                push(out, cur);
                cur = NULL;
            }
            p++;
            continue;
        }
        p++;
        for (; p < b && *p != '"'; p++) {
            char ch = *p;
            if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                ch = *++p;
            else if (*p == '\\') {
                cur = realloc(cur, len + 3);
                cur[len++] = *p++;
                ch = *p;
            }
            cur = realloc(cur, len + 2);
            cur[len++] = ch;
            cur[len] = 0;
        }
        if (!cur) {
            cur = calloc(1, 1);
            len = 0;
        }
        p++;
    }
    if (cur)
        push(out, cur);
}

typedef struct {
    char *where; /* file:line */
    char *fmt;
} message;

typedef struct {
    message *v;
    size_t n, cap;
} msglist;

static void scan_file(const char *root, const char *rel, msglist *out)
{
    char path[8192];
    cr_assert_lt(snprintf(path, sizeof path, "%s/%s", root, rel), (int)sizeof path);
    char *src = tu_read(path);
    cr_assert_not_null(src, "cannot read %s", path);
    strip_comments(src);
    static const struct {
        const char *name;
        int idx;
    } calls[] = {{"afl_err_set", 2}, {"st_fail", 2}, {"afl_err_prefix", 1}, {"afl_ckpt_fail", 2}};
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        size_t nl = strlen(calls[c].name);
        for (const char *p = strstr(src, calls[c].name); p; p = strstr(p + 1, calls[c].name)) {
            if (p > src && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
                continue;
            const char *q = p + nl;
            while (isspace((unsigned char)*q))
                q++;
            if (*q != '(')
                continue;
            const char *a, *b;
            if (!call_arg(q, calls[c].idx, &a, &b))
                continue;
            strlist fmts = {0};
            formats_in(a, b, &fmts);
            int line = 1;
            for (const char *t = src; t < a; t++)
                line += *t == '\n';
            for (size_t i = 0; i < fmts.n; i++) {
                /* "%s" alone: the text comes from elsewhere */
                char *nf = normalise(fmts.v[i]);
                int constant = 0;
                for (char *t = nf; *t; t++)
                    constant |= *t != '\1' && !strchr(" :;,.", *t);
                free(nf);
                if (!constant) {
                    free(fmts.v[i]);
                    continue;
                }
                if (out->n == out->cap) {
                    out->cap = out->cap ? 2 * out->cap : 256;
                    out->v = realloc(out->v, out->cap * sizeof *out->v);
                }
                char *where = malloc(strlen(rel) + 16);
                sprintf(where, "%s:%d", rel, line);
                out->v[out->n++] = (message){where, fmts.v[i]};
            }
            free(fmts.v);
        }
    }
    free(src);
}

static void scan_dir(const char *root, const char *rel, msglist *out)
{
    char path[8192];
    cr_assert_lt(snprintf(path, sizeof path, "%s/%s", root, rel), (int)sizeof path);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "cannot open %s", path);
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        if (nm[0] == '.')
            continue;
        char sub[4096];
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", nm) >= (int)sizeof sub)
            continue;
        if (!rel[0] && (strncmp(nm, "build", 5) == 0 || strcmp(nm, "tests") == 0))
            continue;
        char full[8192 + 16];
        if (snprintf(full, sizeof full, "%s/%s", root, sub) >= (int)sizeof full)
            continue;
        struct stat st;
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            scan_dir(root, sub, out);
        else if (S_ISREG(st.st_mode) && strlen(nm) > 2 && strcmp(nm + strlen(nm) - 2, ".c") == 0)
            scan_file(root, sub, out);
    }
    closedir(d);
}

/* The normalised messages of docs/errors.md: lines "- `MESSAGE`". */
static void doc_entries(const char *path, strlist *out)
{
    char *doc = tu_read(path);
    cr_assert_not_null(doc, "cannot read %s", path);
    for (char *line = doc; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        size_t l = strlen(line);
        if (strncmp(line, "- `", 3) == 0) {
            while (l > 3 && isspace((unsigned char)line[l - 1]))
                line[--l] = 0;
            if (l > 4 && line[l - 1] == '`') {
                line[l - 1] = 0;
                push(out, normalise(line + 3));
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(doc);
}

Test(errors_doc, every_error_message_is_in_the_catalogue)
{
    msglist msgs = {0};
    scan_dir(AFL_SOURCE_ROOT, "", &msgs);
    cr_assert_gt(msgs.n, 100, "found only %zu messages: is the scanner broken?", msgs.n);
    strlist doc = {0};
    doc_entries(AFL_SOURCE_ROOT "/docs/errors.md", &doc);
    size_t missing = 0, cap = 1 << 16, used = 0;
    char *report = malloc(cap);
    report[0] = 0;
    for (size_t i = 0; i < msgs.n; i++) {
        char *nf = normalise(msgs.v[i].fmt);
        int found = 0;
        for (size_t k = 0; k < doc.n && !found; k++)
            found = strcmp(doc.v[k], nf) == 0;
        /* the same message at several places is reported once */
        for (size_t j = 0; j < i && !found; j++) {
            char *o = normalise(msgs.v[j].fmt);
            found = strcmp(o, nf) == 0 ? -1 : 0;
            free(o);
        }
        if (!found) {
            missing++;
            int w = snprintf(report + used, cap - used, "\n  %s: %s", msgs.v[i].where,
                             msgs.v[i].fmt);
            if (w > 0 && (size_t)w < cap - used)
                used += (size_t)w;
        }
        free(nf);
    }
    cr_expect_eq(missing, 0,
                 "%zu error message(s) are not in docs/errors.md (run scripts/gen-errors, then "
                 "explain the new entries):%s",
                 missing, report);
    free(report);
    for (size_t i = 0; i < msgs.n; i++) {
        free(msgs.v[i].where);
        free(msgs.v[i].fmt);
    }
    free(msgs.v);
    free_list(&doc);
}

Test(errors_doc, normalisation_treats_every_conversion_alike)
{
    char *a = normalise("%s:%d: %zu of %lld at %.9g (%5.2f%%) %-10s");
    char *b = normalise("%s:%s: %s of %s at %s (%s%%) %s");
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
}
