/* tests/test_sweep.c - sweeps: grid expansion, aggregation, resume after SIGKILL. */
#include <signal.h>
#include <time.h>

#include "testutil.h"

#define SWEEP_INI                                                                                  \
    "[sim]\nrounds = 6000\n"                                                                       \
    "[data]\ndataset = synthetic\nclasses = 4\ndim = 16\nn_train = 4000\nn_test = 1000\n"          \
    "separation = 2\npartition = iid\n"                                                            \
    "[model]\ntype = mlp\nhidden = 64\n[clients]\nn = 10\nmalicious = 0.2\n"                       \
    "[train]\nbatch = 16\nlr = 0.05\n[eval]\nevery = 500\n[output]\nprogress = off\n"              \
    "[sweep]\nseeds = 1-3\nattack.type = none, signflip, amplify\n"



Test(sweep, grid_times_seeds_gives_one_row_per_point_and_a_table, .timeout = 120)
{
    char *dir = tu_tmpdir(), ini[600], cmd[2048], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, SWEEP_INI);
    snprintf(cmd, sizeof cmd, "%s sweep %s --grid delay.tau_max=0,5 --jobs 2 --out %s/sw",
             TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
    char p[700];
    snprintf(p, sizeof p, "%s/sw/results.csv", dir);
    char *res = tu_read(p);
    cr_assert_eq(tu_count_lines(res), 1 + 2 * 3 * 3, "%s", res);
    cr_assert(strncmp(res, "delay.tau_max,attack.type,point,scenario,seed,", 46) == 0, "%s", res);
    snprintf(p, sizeof p, "%s/sw/table.csv", dir);
    char *tab = tu_read(p);
    cr_assert_eq(tu_count_lines(tab), 1 + 2 * 3, "%s", tab);
    cr_assert(strstr(tab, "\n5,amplify,3,"), "%s", tab);
    snprintf(p, sizeof p, "%s/sw/worst.csv", dir);
    char *worst = tu_read(p);
    cr_assert_not_null(worst);
    cr_assert_eq(tu_count_lines(worst), 1 + 2, "%s", worst);
    /* the paper-shaped pivot */
    char tcmd[1024];
    snprintf(tcmd, sizeof tcmd, "%s table %s/sw --rows delay.tau_max", TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(tcmd, &out), 0, "%s", out);
    free(out);
    snprintf(p, sizeof p, "%s/sw/table.md", dir);
    char *md = tu_read(p);
    cr_assert(strstr(md, "| delay.tau_max \\ attack.type | none | signflip | amplify |"), "%s", md);
    cr_assert(strstr(md, "\n| 5 | "), "%s", md);
    free(md);
    snprintf(tcmd, sizeof tcmd, "%s table %s/sw", TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(tcmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "no column 'defense.type'"), "%s", out);
    free(out);
    /* running again does nothing and changes nothing but is fine */
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "18 already done"), "%s", out);
    free(out), free(res), free(tab), free(worst), free(dir);
}

Test(sweep, sigkill_then_rerun_equals_an_uninterrupted_sweep, .timeout = 300)
{
    char *dir = tu_tmpdir(), ini[600], cmd[2048], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, SWEEP_INI);
    /* reference: uninterrupted */
    snprintf(cmd, sizeof cmd, "%s sweep %s --jobs 2 --out %s/ref", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
    /* killed: SIGKILL the sweep while points are running: once as soon as the first points
       have finished (others are mid-run then), once again shortly after the restart */
    char pk[700];
    snprintf(pk, sizeof pk, "%s/killed/results.csv", dir);
    for (int attempt = 0; attempt < 2; attempt++) {
        snprintf(cmd, sizeof cmd, "exec %s sweep %s --jobs 2 --out %s/killed >/dev/null 2>&1",
                 TU_AFLSIM, ini, dir);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        for (int w = 0; w < 3000; w++) { /* until 2 + 2*attempt points are done */
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
            char *t = tu_read(pk);
            int rows = t ? tu_count_lines(t) - 1 : 0;
            free(t);
            if (rows >= 2 + 2 * attempt)
                break;
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    char *partial = tu_read(pk);
    cr_assert(!partial || tu_count_lines(partial) < 1 + 9, "the kills came too late to test resume");
    free(partial);
    snprintf(cmd, sizeof cmd, "%s sweep %s --jobs 2 --out %s/killed", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "resume: %s", out);
    free(out);
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/ref/results.csv", dir);
    snprintf(pb, sizeof pb, "%s/killed/results.csv", dir);
    char *a = tu_read(pa), *b = tu_read(pb);
    char *sa = tu_strip_wall(a), *sb = tu_strip_wall(b);
    cr_assert_eq(tu_count_lines(sb), 1 + 9);
    cr_assert_str_eq(sa, sb, "resumed sweep differs from an uninterrupted one");
    free(a), free(b), free(sa), free(sb), free(dir);
}

Test(sweep, bad_axis_or_seeds_exit_2_naming_them)
{
    char *dir = tu_tmpdir(), ini[600], cmd[2048], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, SWEEP_INI);
    snprintf(cmd, sizeof cmd, "%s sweep %s --grid train.bacth=1,2 --out %s/x", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "did you mean 'batch'"), "%s", out);
    cr_assert(strstr(out, "sweep point"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s sweep %s --seeds 5-1 --out %s/x", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--seeds '5-1'"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s sweep %s --grid attack.type --out %s/x", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "section.key=v1,v2"), "%s", out);
    free(out), free(dir);
}

Test(sweep, shards_cover_the_sweep_and_collect_merges_them, .timeout = 120)
{
    char *dir = tu_tmpdir(), ini[600], cmd[2048], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, SWEEP_INI);
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s sweep %s --shard %d/3 --jobs 1 --out %s/sh", TU_AFLSIM, ini,
                 i, dir);
        cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
        cr_assert(strstr(out, "3 in this shard"), "%s", out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "%s sweep %s --collect --out %s/sh", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "9 of 9 points finished"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s sweep %s --jobs 2 --out %s/ref", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/ref/results.csv", dir);
    snprintf(pb, sizeof pb, "%s/sh/results.csv", dir);
    char *a = tu_read(pa), *b = tu_read(pb), *sa = tu_strip_wall(a), *sb = tu_strip_wall(b);
    cr_assert_str_eq(sa, sb);
    free(a), free(b), free(sa), free(sb), free(dir);
}
