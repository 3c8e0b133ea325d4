/* bench/e2e.c - section 6: the paper setting end to end, as a user runs it.
 *
 * scenarios/quickstart.ini (50 clients, the CNN, batch 32, tau_max 10, bias 0.5, an
 * evaluation of the 10k test images every 250 versions) with sim.rounds = 20000, by the
 * aflsim command as a child process (--threads = the benchmark's --threads), with AsyncSGD
 * and with SecureAFL when it is registered: wall seconds and peak RSS.  The client work is
 * pinned to one minibatch gradient per round (train.local_steps = 1), the setting the
 * targets were set for; the scenario's own reading (several local steps, docs/reproducing.md)
 * multiplies the training part by local_steps.
 *
 * --quick runs 2,000 rounds and extrapolates: T(20000) = T(1) + (T(R) - T(1)) (20000 - 1) /
 * (R - 1), with T(1) a one-round run (setup: loading and partitioning the data); the rows
 * say so.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/child.h"
#include "bench/table.h"
#include "defenses/defense.h"

#define PAPER_ROUNDS 20000

typedef struct {
    int ok;
    spawn_result r;
    double test_error;
} e2e_out;

static void run_paper(const bench_ctx *c, const char *defense, long rounds, e2e_out *o)
{
    char scen[4200], s_r[64], s_d[96], thr[16], out[4200], log[4200];
    memset(o, 0, sizeof *o);
    o->test_error = NAN;
    snprintf(scen, sizeof scen, "%s/scenarios/quickstart.ini", c->src_dir);
    snprintf(s_r, sizeof s_r, "sim.rounds=%ld", rounds);
    snprintf(s_d, sizeof s_d, "defense.type=%s", defense);
    snprintf(thr, sizeof thr, "%d", c->threads);
    snprintf(out, sizeof out, "%s/paper-%s-%ld", c->tmp, defense, rounds);
    snprintf(log, sizeof log, "%s/paper-%s-%ld.log", c->tmp, defense, rounds);
    char *argv[] = {(char *)c->aflsim,
                    "run",
                    scen,
                    "--set",
                    s_r,
                    "--set",
                    s_d,
                    "--set",
                    "train.local_steps=1",
                    "--threads",
                    thr,
                    "--out",
                    out,
                    "--force",
                    "--no-progress",
                    NULL};
    bench_progress(c, "e2e: %s, %ld rounds", defense, rounds);
    o->ok = spawn_measured(c->self, argv, log, &o->r) == 0 && o->r.exit_code == 0;
    if (!o->ok) {
        fprintf(stderr, "aflsim-bench: paper run (%s, %ld rounds) failed (see %s)\n", defense,
                rounds, log);
        return;
    }
    FILE *f = fopen(log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "final test error: %lf", &o->test_error) == 1)
            break;
    if (f)
        fclose(f);
}

void bench_e2e(bench_ctx *c, int report)
{
    if (!report)
        return;
    table_section(
        "6. end to end: the paper setting (quickstart.ini, 20,000 rounds, one gradient per round)");
    if (access(c->aflsim, X_OK) != 0) {
        table_info("%s not found: skipped", c->aflsim);
        return;
    }
    const long R = c->quick ? 2000 : PAPER_ROUNDS;
    e2e_out setup = {0};
    if (c->quick)
        run_paper(c, "asyncsgd", 1, &setup);
    const char *defs[] = {"asyncsgd", "secureafl"};
    const char *wall_target[] = {"<= 60", "<= 240"};
    const double *server_s[] = {&c->server_asyncsgd_s, &c->server_secureafl_s};
    for (int k = 0; k < 2; k++) {
        char name[96];
        snprintf(name, sizeof name, "paper %s wall", defs[k]);
        if (!afl_defense_find(defs[k])) {
            table_row(name, NAN, "s", wall_target[k], NAN, LOWER_BETTER,
                      "not measured: %s is not in the registry", defs[k]);
            continue;
        }
        e2e_out o;
        run_paper(c, defs[k], R, &o);
        if (!o.ok || (c->quick && !setup.ok)) {
            table_row(name, NAN, "s", wall_target[k], NAN, LOWER_BETTER, "the run failed");
            continue;
        }
        double wall = o.r.wall;
        char how[256];
        if (c->quick) {
            wall = setup.r.wall + (o.r.wall - setup.r.wall) * (PAPER_ROUNDS - 1) / (double)(R - 1);
            snprintf(how, sizeof how,
                     "EXTRAPOLATED from %ld rounds (%.1f s) and a 1-round run (%.1f s setup)", R,
                     o.r.wall, setup.r.wall);
        } else {
            snprintf(how, sizeof how, "measured");
        }
        /* what the measured parts add up to: training steps, server steps, evaluations */
        char parts[256] = "";
        double srv = *server_s[k];
        int T = c->threads;
        if (!isnan(c->step_s) && !isnan(c->eval_s[1]))
            snprintf(parts, sizeof parts,
                     "; parts: %d x (step %.2f ms%s%.3f ms) + %d evals x %.3f s = %.1f s",
                     PAPER_ROUNDS, 1e3 * c->step_s, isnan(srv) ? " + server ?" : " + server ",
                     isnan(srv) ? 0 : 1e3 * srv, PAPER_ROUNDS / 250 + 1, c->eval_s[1],
                     PAPER_ROUNDS * (c->step_s + (isnan(srv) ? 0 : srv)) +
                         (PAPER_ROUNDS / 250 + 1) * c->eval_s[1]);
        table_row(name, wall, "s", wall_target[k], NAN, LOWER_BETTER,
                  "%s; --threads %d; final test error %.4f%s", how, T, o.test_error, parts);
        snprintf(name, sizeof name, "paper %s peak RSS", defs[k]);
        table_row(name, o.r.maxrss_kb / 1024.0, "MB", "<= 400", NAN, LOWER_BETTER,
                  "of the %ld-round run", R);
    }
}
