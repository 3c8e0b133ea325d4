/* sim/err.c - error values (see err.h). */
#include "sim/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int afl_err_set(afl_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void afl_err_prefix(afl_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t lp = strnlen(pre, sizeof err->msg - 3);
    memcpy(err->msg, pre, lp);
    memcpy(err->msg + lp, ": ", 2);
    size_t room = sizeof err->msg - lp - 3;
    size_t lo = strnlen(old, room);
    memcpy(err->msg + lp + 2, old, lo);
    err->msg[lp + 2 + lo] = 0;
}

void afl_err_oneline(afl_err *err)
{
    if (!err)
        return;
    char out[sizeof err->msg];
    size_t j = 0;
    for (const char *p = err->msg; *p && j + 2 < sizeof out; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '\n' || ch == '\r' || ch == '\t') {
            out[j++] = '\\';
            out[j++] = ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
        } else {
            out[j++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
    }
    out[j] = 0;
    memcpy(err->msg, out, j + 1);
}

int afl_err_exit_status(int code)
{
    switch (code) {
    case AFL_OK: return 0;
    case AFL_EINPUT:
    case AFL_EIO:
    case AFL_ENOMEM: return 2;
    case AFL_ENUMERIC: return 3;
    default: return 1;
    }
}
