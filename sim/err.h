/* sim/err.h - error values returned up to the CLI, which alone prints them.
 *
 * Every fallible library function takes an `afl_err *` and returns 0 on
 * success or one of the AFL_E* codes below; on failure it fills `err->msg`
 * with one complete sentence that names the file, line, key or field and what
 * was expected (no trailing newline, no "error:" prefix).
 */
#ifndef AFL_ERR_H
#define AFL_ERR_H

enum {
    AFL_OK = 0,
    AFL_EINTERNAL = 1, /* a bug: exit status 1 */
    AFL_EINPUT = 2,    /* bad scenario, override, dataset, trace: exit status 2 */
    AFL_EIO = 3,       /* cannot read or write a file: exit status 2 */
    AFL_ENOMEM = 4,    /* allocation failed: exit status 2 */
    AFL_ENUMERIC = 5   /* the model became non-finite: exit status 3 */
};

typedef struct afl_err {
    int code;
    char msg[1024];
} afl_err;

/* Fills err (if not NULL) and returns code. printf-style. */
int afl_err_set(afl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (e.g. the file name). */
void afl_err_prefix(afl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes newlines, carriage returns and tabs in err->msg as \n, \r, \t and other control
 * characters as '?', so that a message quoting user data (a quoted CSV field may hold a
 * newline) stays one line. */
void afl_err_oneline(afl_err *err);

/* Exit status the CLI uses for an error code. */
int afl_err_exit_status(int code);

#endif
