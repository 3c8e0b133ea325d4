/* bench/engine.c - section 5: the event engine alone, with a million clients.
 *
 * The timing-only scenario (model.type = none, model.dim = 1: no data, no training, an
 * N(0,1) number per update), time mode, AsyncSGD, output.events = false, run by the aflsim
 * command as a child process:
 *   A: 10^3 clients, R events      (the baseline: program, libraries, buffers)
 *   B: 10^6 clients, R events
 *   C: 10^6 clients, 2R events
 *   D: 10^6 clients, R events, at most 1,000 training at once (the rest idle in the queue)
 * events/s = R / (wall C - wall B), which leaves out setup and writing clients.csv;
 * bytes per client = (peak RSS B - peak RSS A) / (10^6 - 10^3), every client with a job in
 * flight; bytes per idle client the same from D.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/child.h"
#include "bench/table.h"

typedef struct {
    int ok;
    spawn_result r;
} run_out;

static void run_engine(const bench_ctx *c, const char *ini, int clients, long rounds, int conc,
                       const char *tag, run_out *o)
{
    char s_n[64], s_r[64], s_c[64], out[4200], log[4200];
    memset(o, 0, sizeof *o);
    snprintf(s_n, sizeof s_n, "clients.n=%d", clients);
    snprintf(s_r, sizeof s_r, "sim.rounds=%ld", rounds);
    snprintf(s_c, sizeof s_c, "delay.concurrency=%d", conc);
    snprintf(out, sizeof out, "%s/engine-%s", c->tmp, tag);
    snprintf(log, sizeof log, "%s/engine-%s.log", c->tmp, tag);
    char *argv[] = {
        (char *)c->aflsim, "run", (char *)ini, "--set", s_n,       "--set",         s_r,
        "--set",           s_c,   "--out",     out,     "--force", "--no-progress", NULL};
    bench_progress(c, "engine: %d clients, %ld events%s", clients, rounds,
                   conc ? ", 1000 at once" : "");
    o->ok = spawn_measured(c->self, argv, log, &o->r) == 0 && o->r.exit_code == 0;
    if (!o->ok)
        fprintf(stderr, "aflsim-bench: engine run %s failed (see %s)\n", tag, log);
}

void bench_engine(bench_ctx *c, int report)
{
    if (!report)
        return;
    table_section("5. the engine alone: timing-only scenario, 10^6 clients");
    char ini[4200];
    snprintf(ini, sizeof ini, "%s/engine.ini", c->tmp);
    FILE *f = fopen(ini, "w");
    if (!f) {
        table_info("cannot write %s: skipped", ini);
        return;
    }
    fputs("; aflsim-bench: the engine alone\n"
          "[sim]\nseed = 1\nmode = time\n"
          "[model]\ntype = none\ndim = 1\n"
          "[defense]\ntype = asyncsgd\n"
          "[attack]\ntype = none\n"
          "[output]\nevents = false\nprogress = off\n",
          f);
    fclose(f);
    const int big = 1000000, small = 1000;
    const long R = c->quick ? 1000000 : 3000000;
    run_out A, B, C, D;
    run_engine(c, ini, small, R, 0, "A", &A);
    run_engine(c, ini, big, R, 0, "B", &B);
    run_engine(c, ini, big, 2 * R, 0, "C", &C);
    run_engine(c, ini, big, R, 1000, "D", &D);
    double eps = B.ok && C.ok && C.r.wall > B.r.wall ? (double)R / (C.r.wall - B.r.wall) : NAN;
    double per =
        A.ok && B.ok ? 1024.0 * (double)(B.r.maxrss_kb - A.r.maxrss_kb) / (big - small) : NAN;
    double idle =
        A.ok && D.ok ? 1024.0 * (double)(D.r.maxrss_kb - A.r.maxrss_kb) / (big - small) : NAN;
    double growth =
        B.ok && C.ok ? 1024.0 * (double)(C.r.maxrss_kb - B.r.maxrss_kb) / (double)R : NAN;
    table_row("engine events per second", eps, "events/s", ">= 5e6", NAN, HIGHER_BETTER,
              "%ld extra events took %.2f s (runs of %ld and %ld events: %.2f s and %.2f s "
              "including setup)",
              R, C.r.wall - B.r.wall, R, 2 * R, B.r.wall, C.r.wall);
    table_row("engine bytes per client (all in flight)", per, "B", "", NAN, LOWER_BETTER,
              "peak RSS %.1f MB with 10^6 clients minus %.1f MB with 10^3, per client; every "
              "client has a job (and a model version reference) in flight",
              B.r.maxrss_kb / 1024.0, A.r.maxrss_kb / 1024.0);
    table_row("engine bytes per idle client", idle, "B", "<= 100", NAN, LOWER_BETTER,
              "delay.concurrency = 1000: peak RSS %.1f MB; the other clients wait in the queue",
              D.r.maxrss_kb / 1024.0);
    table_row("engine RSS growth per event", growth, "B", "", NAN, LOWER_BETTER,
              "peak RSS after %ld events minus after %ld, per event (0 = steady state)", 2 * R, R);
}
