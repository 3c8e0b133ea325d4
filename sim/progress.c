/* sim/progress.c - see progress.h */
#include "sim/progress.h"

#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void afl_progress_init(afl_progress *p, int64_t total, int mode)
{
    p->on = mode < 0 ? isatty(2) : mode;
    p->total = total;
    p->start = p->last = now_s();
}

static void fmt_dur(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "--:--");
    else if (s >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

void afl_progress_update(afl_progress *p, int64_t done, double test_error)
{
    if (!p->on)
        return;
    double t = now_s();
    if (t - p->last < 0.25 && done < p->total)
        return;
    p->last = t;
    double el = t - p->start;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32], ela[32];
    fmt_dur(rate > 0 ? (double)(p->total - done) / rate : NAN, eta, sizeof eta);
    fmt_dur(el, ela, sizeof ela);
    fprintf(stderr, "\r  round %lld/%lld (%4.1f%%)  %.0f rounds/s  elapsed %s  ETA %s  test error %.4f ",
            (long long)done, (long long)p->total, 100.0 * (double)done / (double)p->total, rate,
            ela, eta, test_error);
    fflush(stderr);
}

void afl_progress_finish(afl_progress *p)
{
    if (p->on) {
        fprintf(stderr, "\n");
        fflush(stderr);
    }
}
