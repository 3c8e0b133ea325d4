/* tests/test_run.c - the engine on small synthetic scenarios: determinism,
 * staleness in both clock modes, concurrency, traces, outputs, non-finite models. */
#include <math.h>
#include <sys/stat.h>

#include "sim/versions.h"
#include "testutil.h"

static afl_err err;

/* Runs TU_SYNTH_INI + extra + overrides into a fresh folder; returns the folder (caller frees). */
static char *run_synth(const char *extra, const char *const *sets, int threads, int expect_rc,
                       afl_run_result *res)
{
    char *dir = tu_tmpdir();
    char ini[4096];
    snprintf(ini, sizeof ini, "%s%s", TU_SYNTH_INI, extra ? extra : "");
    afl_config *cfg;
    cr_assert_eq(tu_config(dir, "synth.ini", ini, sets, &cfg, &err), AFL_OK, "%s", err.msg);
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    afl_run_opts o = {out, 0, threads, 0};
    afl_run_result r;
    int rc = afl_run(cfg, &o, &r, &err);
    cr_assert_eq(rc, expect_rc, "rc %d: %s", rc, err.msg);
    if (res)
        *res = r;
    afl_config_free(cfg);
    char *p = strdup(out);
    free(dir);
    return p;
}

static char *file_in(const char *dir, const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return tu_read(p);
}

/* events.csv rows as parsed numbers */
typedef struct {
    double time;
    long round, version, client, malicious, attacked, base, staleness;
    double norm;
} ev;

static int read_events(const char *dir, ev *out, int max)
{
    char *t = file_in(dir, "events.csv");
    cr_assert_not_null(t);
    char *line = strchr(t, '\n') + 1;
    int n = 0;
    while (*line && n < max) {
        ev *e = &out[n];
        int got = sscanf(line, "%lf,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%lf", &e->time, &e->round,
                         &e->version, &e->client, &e->malicious, &e->attacked, &e->base,
                         &e->staleness, &e->norm);
        cr_assert_eq(got, 9, "bad row: %.80s", line);
        n++;
        line = strchr(line, '\n');
        if (!line)
            break;
        line++;
    }
    free(t);
    return n;
}

Test(run, same_seed_same_events_and_eval)
{
    char *a = run_synth(NULL, NULL, 1, AFL_OK, NULL);
    char *b = run_synth(NULL, NULL, 1, AFL_OK, NULL);
    const char *files[] = {"events.csv", "eval.csv", "partition.csv"};
    for (int i = 0; i < 3; i++) {
        char *x = file_in(a, files[i]), *y = file_in(b, files[i]);
        cr_assert_not_null(x);
        cr_assert_str_eq(x, y, "%s differs", files[i]);
        free(x), free(y);
    }
    free(a), free(b);
}

Test(run, thread_count_does_not_change_results)
{
    const char *sets[] = {"sim.mode=time", NULL};
    char *a = run_synth("[model]\n", sets, 1, AFL_OK, NULL);
    char *b = run_synth("[model]\n", sets, 2, AFL_OK, NULL);
    char *x = file_in(a, "events.csv"), *y = file_in(b, "events.csv");
    cr_assert_str_eq(x, y);
    free(x), free(y);
    x = file_in(a, "eval.csv"), y = file_in(b, "eval.csv");
    cr_assert_str_eq(x, y);
    free(x), free(y), free(a), free(b);
}

Test(run, different_seed_different_events)
{
    const char *sets[] = {"sim.seed=8", NULL};
    char *a = run_synth(NULL, NULL, 1, AFL_OK, NULL);
    char *b = run_synth(NULL, sets, 1, AFL_OK, NULL);
    char *x = file_in(a, "events.csv"), *y = file_in(b, "events.csv");
    cr_assert(strcmp(x, y) != 0);
    free(x), free(y), free(a), free(b);
}

Test(run, round_mode_staleness_is_uniform_up_to_tau_max)
{
    const char *sets[] = {"sim.rounds=22000", "delay.tau_max=5", "eval.every=0",
                          "train.lr=0.01", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[22000];
    int n = read_events(dir, e, 22000);
    cr_assert_eq(n, 22000);
    long cnt[6] = {0}, total = 0;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(e[i].round, i);
        cr_assert_eq(e[i].version, i, "AsyncSGD applies every update");
        cr_assert_eq(e[i].staleness, e[i].version - e[i].base);
        cr_assert_geq(e[i].staleness, 0);
        cr_assert_leq(e[i].staleness, e[i].version < 5 ? e[i].version : 5);
        if (e[i].version >= 5) {
            cnt[e[i].staleness]++;
            total++;
        }
    }
    /* chi-square, 5 degrees of freedom: P(X > 25) < 2e-4 */
    double chi = 0, expct = (double)total / 6.0;
    for (int k = 0; k < 6; k++)
        chi += (cnt[k] - expct) * (cnt[k] - expct) / expct;
    cr_assert_lt(chi, 25.0, "chi-square %g", chi);
    free(dir);
}

Test(run, round_mode_clients_are_chosen_uniformly)
{
    const char *sets[] = {"sim.rounds=20000", "eval.every=0", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[20000];
    int n = read_events(dir, e, 20000);
    long cnt[10] = {0};
    for (int i = 0; i < n; i++)
        cnt[e[i].client]++;
    double chi = 0, expct = n / 10.0;
    for (int k = 0; k < 10; k++)
        chi += (cnt[k] - expct) * (cnt[k] - expct) / expct;
    cr_assert_lt(chi, 33.7, "chi-square %g (9 dof, p < 1e-4)", chi);
    free(dir);
}

/* Mean staleness of the events of straggler clients (which = 1) or of the others (which = 0),
 * or of all events (which = -1); stragglers are read from clients.csv. */
static double mean_staleness(const char *extra, const char *const *sets, int which)
{
    char *dir = run_synth(extra, sets, 1, AFL_OK, NULL);
    static ev e[4000];
    int n = read_events(dir, e, 4000);
    int strag[64] = {0};
    char *cl = file_in(dir, "clients.csv");
    cr_assert_not_null(cl);
    cr_assert(strncmp(cl, "client,malicious,examples,speed,straggler\n", 42) == 0, "%s", cl);
    for (char *line = strchr(cl, '\n') + 1; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        int c, m, ex, st;
        double sp;
        if (sscanf(line, "%d,%d,%d,%lf,%d", &c, &m, &ex, &sp, &st) == 5 && c < 64)
            strag[c] = st;
    }
    free(cl);
    double s = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++)
        if (which < 0 || strag[e[i].client] == which) {
            s += (double)e[i].staleness;
            cnt++;
        }
    free(dir);
    cr_assert_gt(cnt, 0);
    return s / cnt;
}

Test(run, time_mode_staleness_grows_with_straggler_slowdown)
{
    const char *s1[] = {"sim.mode=time", "sim.rounds=4000", "delay.straggler_frac=0.3",
                        "delay.straggler_slowdown=1", "eval.every=0", NULL};
    const char *s10[] = {"sim.mode=time", "sim.rounds=4000", "delay.straggler_frac=0.3",
                         "delay.straggler_slowdown=10", "eval.every=0", NULL};
    double a = mean_staleness(NULL, s1, 1), b = mean_staleness(NULL, s10, 1);
    double fast = mean_staleness(NULL, s10, 0);
    /* all 10 clients in flight with exponential(1) jobs: about n-1 = 9 updates land during a job */
    cr_assert(a > 6 && a < 12, "stragglers' mean staleness at slowdown 1: %g", a);
    /* a 10x slower job sees about 10x as many arrivals of the 7 fast clients */
    cr_assert_gt(b, 5 * a, "slowdown 10: %g vs %g", b, a);
    cr_assert_lt(fast, a, "fast clients' staleness %g drops (fewer arrivals from stragglers)", fast);
}

Test(run, concurrency_one_means_no_staleness)
{
    const char *sets[] = {"sim.mode=time", "delay.concurrency=1", NULL};
    cr_assert_float_eq(mean_staleness(NULL, sets, -1), 0.0, 0);
}

Test(run, time_mode_times_increase_and_rounds_count_arrivals)
{
    const char *sets[] = {"sim.mode=time", "delay.compute=lognormal(0,1)",
                          "delay.network=uniform(0,0.5)", "delay.speed=pareto(1,3)", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[400];
    int n = read_events(dir, e, 400);
    cr_assert_eq(n, 400);
    for (int i = 1; i < n; i++) {
        cr_assert_geq(e[i].time, e[i - 1].time);
        cr_assert_eq(e[i].round, i);
    }
    free(dir);
}

Test(run, max_time_stops_time_mode)
{
    const char *sets[] = {"sim.mode=time", "sim.max_time=5", "sim.rounds=100000",
                          "delay.compute=constant(1)", NULL};
    afl_run_result r;
    char *dir = run_synth(NULL, sets, 1, AFL_OK, &r);
    /* 10 clients, each job takes exactly 1: arrivals at t = 1..5, 10 each */
    cr_assert_eq(r.rounds, 50);
    cr_assert(strstr(r.status, "max_time"), "%s", r.status);
    free(dir);
}

Test(run, trace_limits_when_clients_work)
{
    char *tdir = tu_tmpdir();
    char trace[600], set[700];
    snprintf(trace, sizeof trace, "%s/trace.csv", tdir);
    /* client 0 online [0,3) and [10,12); client 1 online only from 5; others always */
    tu_write(trace, "client,start,end\n0,0,3\n1,5,1000\n0,10,12\n0,2,3\n");
    snprintf(set, sizeof set, "delay.trace=%s", trace);
    const char *sets[] = {"sim.mode=time", "delay.compute=constant(1)", "delay.offline=drop",
                          "sim.max_time=20", "sim.rounds=100000", set, NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[1000];
    int n = read_events(dir, e, 1000);
    int c0 = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].client == 0) {
            c0++;
            cr_assert((e[i].time <= 3) || (e[i].time >= 10 && e[i].time <= 12), "t=%g", e[i].time);
        }
        if (e[i].client == 1)
            cr_assert_geq(e[i].time, 6);
    }
    cr_assert_eq(c0, 3 + 2, "client 0 finishes jobs at t=1,2,3,11,12");
    free(dir), free(tdir);
}

Test(run, bad_trace_names_file_and_line)
{
    char *tdir = tu_tmpdir();
    char trace[600], set[700];
    snprintf(trace, sizeof trace, "%s/trace.csv", tdir);
    tu_write(trace, "client,start,end\n0,0,3\n1,5,abc\n");
    snprintf(set, sizeof set, "delay.trace=%s", trace);
    const char *sets[] = {"sim.mode=time", set, NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_EINPUT, NULL);
    cr_assert(strstr(err.msg, "trace.csv:3"), "%s", err.msg);
    cr_assert(strstr(err.msg, "'end'"), "%s", err.msg);
    tu_write(trace, "client,start,end\n12,0,3\n");
    free(dir);
    dir = run_synth(NULL, sets, 1, AFL_EINPUT, NULL);
    cr_assert(strstr(err.msg, "trace.csv:2"), "%s", err.msg);
    cr_assert(strstr(err.msg, "[0, 9]"), "%s", err.msg);
    free(dir), free(tdir);
}

Test(run, outputs_have_headers_and_summary)
{
    afl_run_result r;
    const char *sets[] = {"output.save_model=true", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, &r);
    char *ev = file_in(dir, "events.csv"), *evl = file_in(dir, "eval.csv"),
         *sum = file_in(dir, "summary.csv"), *cfg = file_in(dir, "config.ini"),
         *lay = file_in(dir, "model_layout.csv");
    const char *hdr = "time,round,version,client,malicious,attacked,base_version,staleness,update_norm,"
                      "score,verdict,weight,aux\n";
    cr_assert(strncmp(ev, hdr, strlen(hdr)) == 0, "%.200s", ev);
    cr_assert(strstr(ev, ",accepted,1,NA\n"));
    cr_assert(strncmp(evl, "time,round,version,test_error,test_loss,asr,tpr,fpr,precision\n", 61) == 0);
    /* eval rows at versions 0,100,200,300,400 */
    int rows = 0;
    for (char *p = evl; *p; p++)
        rows += *p == '\n';
    cr_assert_eq(rows, 1 + 5, "%s", evl);
    cr_assert(strstr(sum, "final_test_error"));
    cr_assert(strstr(sum, "\"ok\""), "%s", sum);
    cr_assert(strstr(cfg, "[defense]\ntype = asyncsgd\n"), "%s", cfg);
    cr_assert(strstr(lay, "fc.weight,4x8,0,32\n"), "%s", lay);
    cr_assert(strstr(lay, "fc.bias,4,32,4\n"), "%s", lay);
    struct stat st;
    char p[700];
    snprintf(p, sizeof p, "%s/model.npy", dir);
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_size, 128 + 36 * 4);
    cr_assert_lt(r.final_test_error, 0.2, "softmax on separable synthetic data: %g",
                 r.final_test_error);
    free(ev), free(evl), free(sum), free(cfg), free(lay), free(dir);
}

Test(run, refuses_to_overwrite_a_run_without_force)
{
    char *dir = tu_tmpdir();
    afl_config *cfg;
    cr_assert_eq(tu_config(dir, "s.ini", TU_SYNTH_INI, NULL, &cfg, &err), AFL_OK);
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    afl_run_opts o = {out, 0, 1, 0};
    cr_assert_eq(afl_run(cfg, &o, NULL, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_run(cfg, &o, NULL, &err), AFL_EINPUT);
    cr_assert(strstr(err.msg, "--force"), "%s", err.msg);
    o.force = 1;
    cr_assert_eq(afl_run(cfg, &o, NULL, &err), AFL_OK, "%s", err.msg);
    afl_config_free(cfg);
    free(dir);
}

Test(run, non_finite_model_stops_with_a_diagnostic)
{
    const char *sets[] = {"model.type=mlp", "model.hidden=64", "train.lr=1e6", NULL};
    afl_run_result r;
    char *dir = run_synth(NULL, sets, 1, AFL_ENUMERIC, &r);
    cr_assert(strstr(err.msg, "non-finite global model after round"), "%s", err.msg);
    char *sum = file_in(dir, "summary.csv");
    cr_assert(strstr(sum, "non-finite global model"), "%s", sum);
    char *ev = file_in(dir, "events.csv");
    size_t len = strlen(ev);
    cr_assert_eq(ev[len - 1], '\n', "every row is whole");
    free(sum), free(ev), free(dir);
}

Test(run, unwritable_output_folder_is_a_clear_error)
{
    afl_config *cfg;
    char *dir = tu_tmpdir();
    cr_assert_eq(tu_config(dir, "s.ini", TU_SYNTH_INI, NULL, &cfg, &err), AFL_OK);
    afl_run_opts o = {"/proc/aflsim-cannot-write/run", 0, 1, 0};
    cr_assert_eq(afl_run(cfg, &o, NULL, &err), AFL_EIO);
    cr_assert(strstr(err.msg, "/proc/aflsim-cannot-write"), "%s", err.msg);
    afl_config_free(cfg);
    free(dir);
}

Test(run, local_steps_send_the_scaled_model_difference)
{
    const char *sets[] = {"train.local_steps=3", "train.local_lr=0.05", NULL};
    afl_run_result r;
    char *dir = run_synth(NULL, sets, 1, AFL_OK, &r);
    cr_assert_lt(r.final_test_error, 0.2, "%g", r.final_test_error);
    free(dir);
}

Test(versions, keeps_exactly_the_versions_still_held)
{
    float w[3] = {1, 2, 3};
    afl_versions *vs = afl_versions_create(3);
    cr_assert_eq(afl_versions_publish(vs, 0, w), 0);
    afl_versions_acquire(vs, 0); /* a job */
    w[0] = 5;
    cr_assert_eq(afl_versions_publish(vs, 1, w), 0);
    afl_versions_release(vs, 0); /* the server moves on */
    cr_assert_eq(afl_versions_count(vs), 2);
    cr_assert_float_eq(afl_versions_get(vs, 0)[0], 1.0f, 0);
    afl_versions_release(vs, 0); /* the job ends */
    cr_assert_null(afl_versions_get(vs, 0));
    cr_assert_eq(afl_versions_count(vs), 1);
    cr_assert_float_eq(afl_versions_get(vs, 1)[0], 5.0f, 0);
    w[0] = 7;
    cr_assert_eq(afl_versions_publish(vs, 2, w), 0); /* reuses the free slot */
    cr_assert_eq(afl_versions_peak(vs), 2);
    afl_versions_free(vs);
}

/* ---- attack schedule and timing attacks ---------------------------------------------- */

Test(attack_engine, attack_switches_on_and_off_with_period_and_duty)
{
    const char *sets[] = {"attack.type=signflip", "clients.malicious=0.3", "attack.start=100",
                          "attack.period=50", "attack.duty=0.4", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[400];
    int n = read_events(dir, e, 400), on = 0;
    for (int i = 0; i < n; i++) {
        int expect = e[i].malicious && e[i].round >= 100 && (e[i].round - 100) % 50 < 20;
        cr_assert_eq(e[i].attacked, expect, "round %ld client %ld", e[i].round, e[i].client);
        cr_assert(e[i].malicious || !e[i].attacked);
        on += expect;
    }
    cr_assert_gt(on, 20);
    free(dir);
}

Test(attack_engine, round_mode_rate_and_staleness_of_malicious_clients)
{
    const char *sets[] = {"clients.malicious=0.2", "attack.rate=4", "attack.staleness=max",
                          "sim.rounds=6000", "eval.every=0", "delay.tau_max=6", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[6000];
    int n = read_events(dir, e, 6000), mal = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].malicious) {
            mal++;
            long hi = e[i].version < 6 ? e[i].version : 6;
            cr_assert_eq(e[i].staleness, hi, "deliberately stale: round %ld", e[i].round);
        }
    }
    /* 2 malicious of 10 with weight 4: share 8/16 = 0.5 */
    double share = (double)mal / n;
    cr_assert(share > 0.46 && share < 0.54, "malicious share %g", share);
    free(dir);
}

Test(attack_engine, fresh_malicious_updates_have_no_staleness)
{
    const char *sets[] = {"clients.malicious=0.3", "attack.staleness=fresh", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[400];
    int n = read_events(dir, e, 400);
    for (int i = 0; i < n; i++)
        if (e[i].malicious)
            cr_assert_eq(e[i].staleness, 0);
    free(dir);
}

Test(attack_engine, time_mode_fast_attackers_arrive_more_often)
{
    const char *sets[] = {"sim.mode=time", "clients.malicious=0.2", "attack.compute=constant(0.1)",
                          "delay.compute=constant(1)", "sim.rounds=1200", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[1200];
    int n = read_events(dir, e, 1200), mal = 0;
    for (int i = 0; i < n; i++)
        mal += (int)e[i].malicious;
    /* rates: 2 clients x 10/unit vs 8 clients x 1/unit -> share 20/28 */
    double share = (double)mal / n;
    cr_assert(share > 0.68 && share < 0.75, "malicious share %g", share);
    free(dir);
}

Test(attack_engine, time_mode_bursts_confine_malicious_arrivals)
{
    const char *sets[] = {"sim.mode=time", "clients.malicious=0.2", "attack.burst_period=10",
                          "attack.burst_length=2", "delay.compute=constant(0.5)",
                          "sim.rounds=2000", NULL};
    char *dir = run_synth(NULL, sets, 1, AFL_OK, NULL);
    static ev e[2000];
    int n = read_events(dir, e, 2000), mal = 0;
    for (int i = 0; i < n; i++)
        if (e[i].malicious) {
            mal++;
            /* jobs start in [10k, 10k+2) and take 0.5 */
            double ph = fmod(e[i].time, 10.0);
            cr_assert(ph <= 2.5 + 1e-9, "malicious arrival at %g", e[i].time);
        }
    cr_assert_gt(mal, 0);
    free(dir);
}

/* ---- timing-only mode ----------------------------------------------------------------- */

Test(timing_only, many_clients_without_data_or_training)
{
    char *dir = tu_tmpdir();
    afl_config *cfg;
    const char *ini = "[sim]\nmode = time\nrounds = 50000\n[model]\ntype = none\ndim = 4\n"
                      "[clients]\nn = 20000\nmalicious = 0.1\n[attack]\ntype = signflip\n"
                      "[delay]\ncompute = lognormal(0, 1)\nconcurrency = 5000\n"
                      "[output]\nprogress = off\n";
    cr_assert_eq(tu_config(dir, "t.ini", ini, NULL, &cfg, &err), AFL_OK, "%s", err.msg);
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    afl_run_opts o = {out, 0, 1, 0};
    afl_run_result r;
    cr_assert_eq(afl_run(cfg, &o, &r, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(r.rounds, 50000);
    cr_assert(isnan(r.final_test_error));
    char *evl = file_in(out, "eval.csv"), *sum = file_in(out, "summary.csv");
    cr_assert_str_eq(evl, "time,round,version,test_error,test_loss,asr,tpr,fpr,precision\n");
    cr_assert(strstr(sum, ",none,asyncsgd,signflip,20000,2000,50000,50000,"), "%s", sum);
    static ev e[50000];
    int n = read_events(out, e, 50000);
    cr_assert_eq(n, 50000);
    double smax = 0;
    for (int i = 0; i < n; i++)
        smax = e[i].staleness > smax ? e[i].staleness : smax;
    cr_assert_gt(smax, 4000, "5000 concurrent jobs: staleness reaches thousands (%g)", smax);
    free(evl), free(sum), free(dir);
    afl_config_free(cfg);
}

/* eval.every_rounds: evaluations at the same rounds whatever the defense does with the
 * updates (a buffered defense publishes one version per 5 arrivals). */
Test(run, eval_every_rounds_gives_the_same_x_points_for_every_defense)
{
    const char *sets[] = {"defense.type=buffered", "defense.buffer=5", "eval.every=0",
                          "eval.every_rounds=100", NULL};
    char *out = run_synth(NULL, sets, 1, AFL_OK, NULL);
    char *t = file_in(out, "eval.csv");
    cr_assert_not_null(t);
    /* header, round 0, then rounds 100, 200, 300, 400 (the end: no extra row) */
    cr_assert_eq(tu_count_lines(t), 6, "%s", t);
    const char *rounds[] = {"\n0,0,0,", "\n99,100,20,", "\n199,200,40,", "\n299,300,60,",
                            "\n399,400,80,"};
    for (int i = 0; i < 5; i++)
        cr_assert(strstr(t, rounds[i]), "no row %s in\n%s", rounds[i] + 1, t);
    free(t);
    free(out);
}
