/* tests/test_resume.c - `aflsim run --resume` (issue 7): a run SIGKILLed at a random
 * moment and resumed from its last checkpoint writes the same events.csv and eval.csv, byte
 * for byte, and the same summary.csv apart from the wall-clock columns, as a run that was
 * never killed.  Round and time mode, stateful defenses and attacks, a million-event
 * timing-only queue; and the ways a resume can be wrong are refused with a clear error. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "testutil.h"

#define RESUME_INI                                                                                 \
    "[sim]\nseed = 7\nrounds = 6000\n"                                                             \
    "[data]\ndataset = synthetic\nclasses = 4\ndim = 64\nn_train = 4000\nn_test = 500\n"           \
    "separation = 2\npartition = bias\nbias = 0.5\n"                                               \
    "[model]\ntype = mlp\n"                                                                        \
    "[clients]\nn = 20\n"                                                                          \
    "[train]\nbatch = 16\nlr = 0.1\n"                                                              \
    "[eval]\nevery = 200\n"                                                                        \
    "[output]\nprogress = off\ncheckpoint_every = 40\ncheckpoint_interval = 0\n"

static int count_lines_of(const char *path)
{
    char *t = tu_read(path);
    int n = t ? tu_count_lines(t) : 0;
    free(t);
    return n;
}

static void exec_run(const char *scen, const char *out, const char *const *sets)
{
    const char *argv[64];
    int k = 0;
    argv[k++] = TU_AFLSIM;
    argv[k++] = "run";
    argv[k++] = scen;
    argv[k++] = "--out";
    argv[k++] = out;
    for (int i = 0; sets && sets[i] && k < 60; i++) {
        argv[k++] = "--set";
        argv[k++] = sets[i];
    }
    argv[k] = NULL;
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(TU_AFLSIM, (char *const *)argv);
    _exit(127);
}

/* Runs the scenario into out and SIGKILLs it once events.csv has at least kill_at lines
 * (plus up to 3 ms more, at random).  Returns 1 if it was killed, 0 if it finished first. */
static int run_and_kill(const char *scen, const char *out, const char *const *sets, int kill_at,
                        unsigned *seed)
{
    char ev[700];
    snprintf(ev, sizeof ev, "%s/events.csv", out);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        exec_run(scen, out, sets);
    int status = 0;
    for (int waited = 0; waited < 120000; waited++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return 0; /* finished before the kill */
        if (count_lines_of(ev) >= kill_at)
            break;
        usleep(1000);
    }
    usleep((useconds_t)(rand_r(seed) % 3000));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
}

static void assert_same_file(const char *a_dir, const char *b_dir, const char *name, int strip)
{
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/%s", a_dir, name);
    snprintf(pb, sizeof pb, "%s/%s", b_dir, name);
    char *a = tu_read(pa), *b = tu_read(pb);
    cr_assert_not_null(a, "%s missing", pa);
    cr_assert_not_null(b, "%s missing", pb);
    if (strip) {
        char *sa = tu_strip_wall(a), *sb = tu_strip_wall(b);
        free(a), free(b);
        a = sa, b = sb;
    }
    if (strcmp(a, b) != 0) {
        size_t i = 0;
        while (a[i] && a[i] == b[i])
            i++;
        int line = 1;
        for (size_t k = 0; k < i; k++)
            line += a[k] == '\n';
        cr_assert_fail("%s differs from the uninterrupted run's at line %d", pb, line);
    }
    free(a), free(b);
}

/* The uninterrupted run, then `trials` runs killed at random moments and resumed. */
static void kill_resume_case(const char *what, const char *extra, const char *const *sets,
                             int trials)
{
    char *dir = tu_tmpdir();
    char ini[4096], scen[600], ref[600], cmd[2400];
    snprintf(ini, sizeof ini, "%s%s", RESUME_INI, extra ? extra : "");
    snprintf(scen, sizeof scen, "%s/resume.ini", dir);
    tu_write(scen, ini);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    pid_t pid = fork();
    if (pid == 0)
        exec_run(scen, ref, sets);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the reference run failed", what);
    char rp[700];
    snprintf(rp, sizeof rp, "%s/events.csv", ref);
    int total = count_lines_of(rp);
    snprintf(rp, sizeof rp, "%s/checkpoint.ckpt", ref);
    cr_assert_neq(access(rp, F_OK), 0, "%s: a finished run left its checkpoint", what);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    cr_log_info("%s: kill points drawn with seed %u", what, seed);
    int killed = 0;
    for (int t = 0; t < trials; t++) {
        char out[600];
        snprintf(out, sizeof out, "%s/cut%d", dir, t);
        int kill_at = total / 5 + (int)(rand_r(&seed) % (unsigned)(total - total / 5));
        if (run_and_kill(scen, out, sets, kill_at, &seed)) {
            /* summary.csv is written atomically after every row: if it exists the kill
             * landed while the finished run was exiting, and the comparisons below check
             * that run as it is */
            snprintf(rp, sizeof rp, "%s/summary.csv", out);
            int finished = access(rp, F_OK) == 0;
            snprintf(rp, sizeof rp, "%s/checkpoint.ckpt", out);
            killed += !finished && access(rp, F_OK) == 0; /* killed after a checkpoint */
        }
        /* resume (a second kill during the resume is covered by the next trials) */
        snprintf(cmd, sizeof cmd, "%s run --resume %s --no-progress", TU_AFLSIM, out);
        char *o = NULL;
        int rc = tu_sh(cmd, &o);
        cr_assert_eq(rc, 0, "%s: resume failed: %s", what, o);
        free(o);
        assert_same_file(ref, out, "events.csv", 0);
        assert_same_file(ref, out, "eval.csv", 0);
        assert_same_file(ref, out, "summary.csv", 1);
        snprintf(rp, sizeof rp, "%s/checkpoint.ckpt", out);
        cr_assert_neq(access(rp, F_OK), 0, "%s: the resumed run left its checkpoint", what);
    }
    cr_assert_gt(killed, 0, "%s: no run was killed after a checkpoint (all finished first?)", what);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_sh(cmd, NULL);
    free(dir);
}

Test(resume, round_mode_asyncsgd, .timeout = 600)
{
    kill_resume_case("round mode, asyncsgd", NULL, NULL, 3);
}

Test(resume, round_mode_kardam_under_lie_with_partial_knowledge, .timeout = 600)
{
    const char *sets[] = {"defense.type=kardam",      "attack.type=lie", "clients.malicious=0.2",
                          "attack.knowledge=partial", "sim.rounds=3000", NULL};
    kill_resume_case("round mode, kardam + lie", NULL, sets, 2);
}

Test(resume, time_mode_secureafl_under_minmax_with_stragglers, .timeout = 600)
{
    const char *sets[] = {"sim.mode=time",          "delay.straggler_frac=0.2",
                          "delay.concurrency=8",    "eval.every_time=40",
                          "defense.type=secureafl", "attack.type=minmax",
                          "clients.malicious=0.2",  "sim.rounds=1200",
                          "train.local_steps=2",    NULL};
    kill_resume_case("time mode, secureafl + minmax", NULL, sets, 2);
}

Test(resume, time_mode_buffered_median_with_labelflip, .timeout = 600)
{
    const char *sets[] = {"sim.mode=time",         "defense.type=buffered",
                          "defense.rule=median",   "attack.type=labelflip",
                          "clients.malicious=0.3", "delay.selection=random",
                          "sim.rounds=4000",       NULL};
    kill_resume_case("time mode, buffered median + labelflip", NULL, sets, 2);
}

Test(resume, timing_only_with_many_clients_in_flight, .timeout = 600)
{
    const char *sets[] = {"sim.mode=time",
                          "model.type=none",
                          "model.dim=16",
                          "clients.n=20000",
                          "sim.rounds=60000",
                          "output.checkpoint_every=5000",
                          NULL};
    kill_resume_case("timing only, 20,000 clients", NULL, sets, 2);
}

Test(resume, refusals_are_clear)
{
    char *dir = tu_tmpdir();
    char scen[600], out[600], cmd[2400], *o = NULL;
    snprintf(scen, sizeof scen, "%s/r.ini", dir);
    tu_write(scen, RESUME_INI);
    snprintf(out, sizeof out, "%s/run", dir);
    /* a finished run: nothing to do, exit 0 */
    snprintf(cmd, sizeof cmd, "%s run %s --out %s --set sim.rounds=200", TU_AFLSIM, scen, out);
    cr_assert_eq(tu_sh(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s run --resume %s", TU_AFLSIM, out);
    cr_assert_eq(tu_sh(cmd, &o), 0, "%s", o);
    cr_assert(strstr(o, "already finished"), "%s", o);
    free(o);
    /* ... also when a kill between its summary and its checkpoint's removal left one behind:
     * the leftover is removed */
    char ck[700];
    snprintf(ck, sizeof ck, "%s/checkpoint.ckpt", out);
    tu_write(ck, "leftover");
    snprintf(cmd, sizeof cmd, "%s run --resume %s", TU_AFLSIM, out);
    cr_assert_eq(tu_sh(cmd, &o), 0, "%s", o);
    cr_assert(strstr(o, "already finished"), "%s", o);
    free(o);
    cr_assert_neq(access(ck, F_OK), 0, "the finished run kept its leftover checkpoint");
    /* a checkpoint taken with another configuration */
    snprintf(cmd, sizeof cmd,
             "rm %s/summary.csv && %s run %s --out %s/other --set sim.rounds=400 "
             "--set train.lr=0.05 --set output.checkpoint_every=100 && true",
             out, TU_AFLSIM, scen, dir);
    cr_assert_eq(tu_sh(cmd, NULL), 0);
    /* keep a checkpoint: rerun other with a kill right after the first checkpoint */
    snprintf(ck, sizeof ck, "%s/other2", dir);
    const char *sets[] = {"train.lr=0.05", NULL};
    unsigned seed = 1;
    run_and_kill(scen, ck, sets, 150, &seed);
    snprintf(cmd, sizeof cmd, "test -f %s/checkpoint.ckpt && cp %s/checkpoint.ckpt %s/", ck, ck,
             out);
    if (tu_sh(cmd, NULL) == 0) {
        snprintf(cmd, sizeof cmd, "%s run --resume %s", TU_AFLSIM, out);
        cr_assert_eq(tu_sh(cmd, &o), 2, "%s", o);
        cr_assert(strstr(o, "checkpoint.ckpt") && strstr(o, "different configuration"), "%s", o);
        free(o);
        /* a corrupt checkpoint */
        snprintf(cmd, sizeof cmd,
                 "printf 'garbage' | dd of=%s/checkpoint.ckpt bs=1 seek=40 "
                 "conv=notrunc 2>/dev/null; %s run --resume %s",
                 out, TU_AFLSIM, out);
        cr_assert_eq(tu_sh(cmd, &o), 2, "%s", o);
        cr_assert(strstr(o, "corrupt"), "%s", o);
        free(o);
    }
    /* not a run folder; --set with a run folder; --resume with --force */
    snprintf(cmd, sizeof cmd, "%s run --resume %s", TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(cmd, &o), 2, "%s", o);
    cr_assert(strstr(o, "no config.ini"), "%s", o);
    free(o);
    snprintf(cmd, sizeof cmd, "%s run --resume %s --set sim.rounds=5", TU_AFLSIM, out);
    cr_assert_eq(tu_sh(cmd, &o), 2, "%s", o);
    cr_assert(strstr(o, "--set"), "%s", o);
    free(o);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s --resume --force", TU_AFLSIM, scen, out);
    cr_assert_eq(tu_sh(cmd, &o), 2, "%s", o);
    free(o);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_sh(cmd, NULL);
    free(dir);
}

Test(resume, without_a_checkpoint_the_run_starts_over_in_its_folder)
{
    char *dir = tu_tmpdir();
    char scen[100], out[100], ref[100], cmd[2400], *o = NULL;
    snprintf(scen, sizeof scen, "%s/r.ini", dir);
    tu_write(scen, RESUME_INI);
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(ref, sizeof ref, "%s/ref", dir);
    snprintf(cmd, sizeof cmd,
             "%s run %s --out %s --set sim.rounds=300 && %s run %s --out %s --set sim.rounds=300 "
             "&& rm %s/summary.csv %s/checkpoint.ckpt 2>/dev/null; head -c 100 %s/events.csv > "
             "%s/e && mv %s/e %s/events.csv",
             TU_AFLSIM, scen, ref, TU_AFLSIM, scen, out, out, out, out, out, out, out);
    tu_sh(cmd, NULL);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s --set sim.rounds=300 --resume", TU_AFLSIM, scen,
             out);
    cr_assert_eq(tu_sh(cmd, &o), 0, "%s", o);
    free(o);
    assert_same_file(ref, out, "events.csv", 0);
    assert_same_file(ref, out, "eval.csv", 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_sh(cmd, NULL);
    free(dir);
}
