/* tests/testutil.h - small helpers shared by the engine/config/CLI tests. */
#ifndef AFL_TESTUTIL_H
#define AFL_TESTUTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/fsutil.h"
#include "sim/run.h"

static inline char *tu_tmpdir(void)
{
    char *t = strdup("/tmp/aflsim-test-XXXXXX");
    cr_assert_not_null(mkdtemp(t));
    return t;
}

static inline void tu_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Whole file as a NUL-terminated string (caller frees); NULL if missing. */
static inline char *tu_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

/* Loads INI text (written to dir/name) plus overrides; resolves.  Returns the
 * error code; *out receives the config on success. */
static inline int tu_config(const char *dir, const char *name, const char *ini,
                            const char *const *sets, afl_config **out, afl_err *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tu_write(path, ini);
    afl_config *c = afl_config_new();
    int rc = afl_config_load_file(c, path, err);
    for (int i = 0; !rc && sets && sets[i]; i++)
        rc = afl_config_override(c, sets[i], err);
    if (!rc)
        rc = afl_config_resolve(c, err);
    if (rc) {
        afl_config_free(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

/* Runs a shell command; returns its exit status; output (stdout+stderr) in *out if non-NULL. */
static inline int tu_sh(const char *cmd, char **out)
{
    char full[8192];
    snprintf(full, sizeof full, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    cr_assert_not_null(p);
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    size_t got;
    while ((got = fread(b + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 4096) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    b[len] = 0;
    int st = pclose(p);
    if (out)
        *out = b;
    else
        free(b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* CSV text without the wall-clock columns (the last two) */
static inline char *tu_strip_wall(const char *t)
{
    char *out = malloc(strlen(t) + 1), *o = out;
    const char *line = t;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *cut = line + len;
        for (int k = 0; k < 2 && cut > line; k++) {
            cut--;
            while (cut > line && *cut != ',')
                cut--;
        }
        memcpy(o, line, (size_t)(cut - line));
        o += cut - line;
        *o++ = '\n';
        line = nl ? nl + 1 : line + len;
    }
    *o = 0;
    return out;
}

static inline int tu_count_lines(const char *t)
{
    int n = 0;
    for (; *t; t++)
        n += *t == '\n';
    return n;
}

#define TU_AFLSIM AFL_BUILD_ROOT "/aflsim"

/* Fails the test with the fix when the Debian package dataset-fashion-mnist is missing. */
static inline void tu_require_fmnist(void)
{
    cr_assert_eq(access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK), 0,
                 "Fashion-MNIST is missing: scripts/setup installs dataset-fashion-mnist");
}

/* The value of column `col` in the one data row of RUN_DIR/summary.csv, read as a user
 * would; NAN where the value is NA.  The column must exist. */
static inline double tu_summary_value(const char *run_dir, const char *col)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/summary.csv", run_dir);
    char *t = tu_read(path);
    cr_assert_not_null(t, "no %s", path);
    char *row = strchr(t, '\n');
    cr_assert_not_null(row, "%s has no data row", path);
    *row++ = 0;
    char *h[64], *v[64];
    int nh = afl_csv_split(t, h, 64), nv = afl_csv_split(row, v, 64);
    double out = NAN;
    int found = 0;
    for (int i = 0; i < nh && i < nv; i++)
        if (strcmp(h[i], col) == 0) {
            char *end;
            double x = strtod(v[i], &end);
            out = end == v[i] ? NAN : x;
            found = 1;
            break;
        }
    free(t);
    cr_assert(found, "%s: no column %s", path, col);
    return out;
}

/* A fast synthetic scenario for engine tests (softmax regression). */
#define TU_SYNTH_INI                                                                               \
    "[sim]\nseed = 7\nrounds = 400\n"                                                              \
    "[data]\ndataset = synthetic\nclasses = 4\ndim = 8\nn_train = 2000\nn_test = 500\n"            \
    "separation = 2\npartition = iid\n"                                                            \
    "[model]\ntype = softmax\n"                                                                    \
    "[clients]\nn = 10\n"                                                                          \
    "[train]\nbatch = 16\nlr = 0.1\n"                                                              \
    "[eval]\nevery = 100\n"                                                                        \
    "[output]\nprogress = off\n"

#endif
