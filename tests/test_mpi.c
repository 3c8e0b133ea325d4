/* tests/test_mpi.c - MPI sweeps (sim/sweep_mpi.c): `mpirun -n 2 aflsim sweep` gives the
 * same results.csv and per-run CSVs as a local sweep, a rank killed mid-sweep leaves whole
 * rows and the next invocation resumes, a lost rank's points are reported as missing, and a
 * build without MPI says how to enable it.  Skipped when the build has no MPI or mpirun is
 * missing (scripts/setup installs libopenmpi-dev and openmpi-bin). */
#include <dirent.h>
#include <signal.h>
#include <time.h>

#include "testutil.h"

/* 9 points; ROUNDS sets their cost (the kill tests need points that are still running) */
#define MPI_INI_ROUNDS(ROUNDS)                                                                     \
    "[sim]\nrounds = " #ROUNDS "\n"                                                                \
    "[data]\ndataset = synthetic\nclasses = 4\ndim = 16\nn_train = 4000\nn_test = 1000\n"          \
    "separation = 2\npartition = iid\n"                                                            \
    "[model]\ntype = mlp\nhidden = 64\n[clients]\nn = 10\nmalicious = 0.2\n"                       \
    "[train]\nbatch = 16\nlr = 0.05\n[eval]\nevery = 500\n[output]\nprogress = off\n"              \
    "[sweep]\nseeds = 1-3\nattack.type = none, signflip, amplify\n"
#define MPI_INI MPI_INI_ROUNDS(4000)
#define MPI_INI_SLOW MPI_INI_ROUNDS(80000)

/* mpirun as root (containers, CI), more ranks than cores allowed.  In the sanitizer build
 * the ranks run without LeakSanitizer: Open MPI keeps allocations of components it has
 * dlclose()d at exit, which no suppression can name (ASan and UBSan stay on). */
static void mpirun_cmd(char *buf, size_t n, const char *extra)
{
    const char *san = getenv("AFL_SANITIZER_BUILD");
    snprintf(buf, n,
             "mpirun --allow-run-as-root --oversubscribe %s%s -n 2 " TU_AFLSIM, extra,
             san && *san ? " -x ASAN_OPTIONS=detect_leaks=0:abort_on_error=1" : "");
}

static void need_mpi(void)
{
#ifndef AFL_HAVE_MPI
    cr_skip_test("this build has no MPI (install libopenmpi-dev, then meson setup --reconfigure)");
#else
    if (tu_sh("command -v mpirun >/dev/null", NULL) != 0)
        cr_skip_test("mpirun not found (install openmpi-bin)");
#endif
}



/* Removes a test's folder (after it passed: a failing test leaves it to look at). */
static void rm_dir(char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    tu_sh(cmd, NULL);
    free(dir);
}

static char *read_at(const char *dir, const char *rel)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return tu_read(p);
}

/* A local sweep of MPI_INI into dir/ref (the reference). */
static void local_reference(const char *dir, const char *ini)
{
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "%s sweep %s --jobs 2 --out %s/ref --no-progress", TU_AFLSIM, ini,
             dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
}

/* results.csv of dir/a and dir/b agree apart from the wall-clock columns, with one row per
 * point (9) and every point once. */
static void assert_same_results(const char *dir, const char *a, const char *b)
{
    char ra[700], rb[700];
    snprintf(ra, sizeof ra, "%s/results.csv", a);
    snprintf(rb, sizeof rb, "%s/results.csv", b);
    char *ta = read_at(dir, ra), *tb = read_at(dir, rb);
    cr_assert_not_null(ta);
    cr_assert_not_null(tb, "no %s/%s", dir, rb);
    char *sa = tu_strip_wall(ta), *sb = tu_strip_wall(tb);
    cr_assert_eq(tu_count_lines(sb), 1 + 9, "%s", tb);
    cr_assert_str_eq(sa, sb, "results.csv of %s differs from %s's", b, a);
    const char *atk[] = {"none", "signflip", "amplify"};
    for (int i = 0; i < 3; i++)
        for (int s = 1; s <= 3; s++) {
            char name[100];
            snprintf(name, sizeof name, ",attack.type-%s__seed-%d,", atk[i], s);
            char *hit = strstr(tb, name);
            cr_assert_not_null(hit, "no row for %s", name);
            cr_assert_null(strstr(hit + 1, name), "two rows for %s", name);
        }
    free(ta), free(tb), free(sa), free(sb);
}

Test(mpi, two_ranks_give_the_results_of_a_local_sweep, .timeout = 300)
{
    need_mpi();
    char *dir = tu_tmpdir(), ini[600], cmd[4096], run[1024], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI);
    local_reference(dir, ini);
    mpirun_cmd(run, sizeof run, "");
    snprintf(cmd, sizeof cmd, "%s sweep %s --out %s/mpi --no-progress", run, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "MPI:          2 ranks x 1 run at a time"), "%s", out);
    cr_assert(strstr(out, "9 finished in all"), "%s", out);
    char *first = strstr(out, "sweep folder: ");
    cr_assert_not_null(first, "%s", out);
    cr_assert_null(strstr(first + 1, "sweep folder: "), "printed twice: %s", out);
    free(out);
    assert_same_results(dir, "ref", "mpi");
    /* the per-run files are identical too (they carry no wall-clock column) */
    const char *atk[] = {"none", "signflip", "amplify"};
    const char *files[] = {"config.ini", "events.csv", "eval.csv", "partition.csv", "run.log"};
    for (int i = 0; i < 3; i++)
        for (int s = 1; s <= 3; s++)
            for (int f = 0; f < 5; f++) {
                char rel[300];
                snprintf(rel, sizeof rel, "ref/points/attack.type-%s__seed-%d/%s", atk[i], s,
                         files[f]);
                char *a = read_at(dir, rel);
                snprintf(rel, sizeof rel, "mpi/points/attack.type-%s__seed-%d/%s", atk[i], s,
                         files[f]);
                char *b = read_at(dir, rel);
                cr_assert_not_null(a, "%s", rel);
                cr_assert_not_null(b, "%s", rel);
                cr_assert_str_eq(a, b, "%s differs from the local sweep's", rel);
                free(a), free(b);
            }
    /* tables are the local sweep's apart from the wall-clock aggregate (last two columns) */
    char *ta = read_at(dir, "ref/worst.csv"), *tb = read_at(dir, "mpi/worst.csv");
    cr_assert_not_null(tb);
    cr_assert_str_eq(ta, tb);
    free(ta), free(tb);
    /* running again under MPI: everything is done, nothing changes */
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "9 already done"), "%s", out);
    free(out);
    assert_same_results(dir, "ref", "mpi");
    rm_dir(dir);
}

/* SIGKILLs every process of rank 1 of the job tagged `tag` (the rank and its runs: a node
 * that dies).  Returns how many processes were killed. */
static int kill_rank1(const char *tag)
{
    char want[700];
    snprintf(want, sizeof want, "AFL_MPI_TEST_TAG=%s", tag);
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[300], buf[1 << 16];
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = 0;
        int tagged = 0, rank1 = 0;
        for (size_t i = 0; i < got; i += strlen(buf + i) + 1) {
            tagged |= strcmp(buf + i, want) == 0;
            rank1 |= strcmp(buf + i, "OMPI_COMM_WORLD_RANK=1") == 0;
        }
        if (tagged && rank1 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Starts `cmd` in the background (its own process group); returns the shell's pid. */
static pid_t start_bg(const char *cmd)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits for pid up to `secs` seconds; its exit status, or -1 if it did not end. */
static int wait_for(pid_t pid, double secs)
{
    for (int w = 0; w < (int)(secs * 100); w++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Waits until dir/rel has at least `rows` data rows (or ~30 s). */
static void wait_rows(const char *dir, const char *rel, int rows)
{
    for (int w = 0; w < 6000; w++) {
        char *t = read_at(dir, rel);
        int n = t ? tu_count_lines(t) - 1 : 0;
        free(t);
        if (n >= rows)
            return;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

Test(mpi, a_killed_rank_ends_the_job_and_the_rerun_resumes, .timeout = 300)
{
    need_mpi();
    char *dir = tu_tmpdir(), ini[600], cmd[4096], run[1024], extra[800], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI_SLOW);
    local_reference(dir, ini);
    /* mpirun's default: a rank that dies takes the whole job down (runs included) */
    snprintf(extra, sizeof extra, "-x AFL_MPI_TEST_TAG=%s", dir);
    mpirun_cmd(run, sizeof run, extra);
    snprintf(cmd, sizeof cmd, "exec %s sweep %s --out %s/k --no-progress >%s/k.log 2>&1", run,
             ini, dir, dir);
    pid_t pid = start_bg(cmd);
    wait_rows(dir, "k/results.csv", 2);
    int killed = kill_rank1(dir);
    int st = wait_for(pid, 60);
    if (st < 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    cr_assert_neq(st, -1, "mpirun did not end within 60 s of rank 1's death");
    char *log = read_at(dir, "k.log");
    if (killed == 0) /* rank 1 had already finished: nothing to test here */
        cr_log_warn("rank 1 was gone before the kill: %s", log);
    else
        cr_assert_neq(st, 0, "mpirun exit status 0 after a rank died: %s", log);
    free(log);
    char *partial = read_at(dir, "k/results.csv");
    cr_assert(!partial || tu_count_lines(partial) <= 1 + 9);
    free(partial);
    /* the re-run runs the missing points and ends with one row per point */
    snprintf(cmd, sizeof cmd, "%s sweep %s --out %s/k --no-progress", run, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "resume: %s", out);
    cr_assert(strstr(out, "9 finished in all"), "%s", out);
    free(out);
    assert_same_results(dir, "ref", "k");
    rm_dir(dir);
}

Test(mpi, a_lost_rank_is_reported_and_its_points_are_missing, .timeout = 300)
{
    need_mpi();
    char *dir = tu_tmpdir(), ini[600], cmd[4096], run[1024], extra[800], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI_SLOW);
    /* with --enable-recovery Open MPI keeps the job going: rank 0 goes on alone, declares
       rank 1 lost after --mpi-timeout seconds of silence and reports its point as missing */
    snprintf(extra, sizeof extra, "--enable-recovery -x AFL_MPI_TEST_TAG=%s", dir);
    mpirun_cmd(run, sizeof run, extra);
    snprintf(cmd, sizeof cmd,
             "exec %s sweep %s --out %s/r --mpi-timeout 2 --no-progress >%s/r.log 2>&1", run,
             ini, dir, dir);
    pid_t pid = start_bg(cmd);
    wait_rows(dir, "r/results.csv", 1);
    int killed = kill_rank1(dir);
    int st = wait_for(pid, 120);
    if (st < 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    cr_assert_neq(st, -1, "mpirun did not end within 120 s of rank 1's death");
    char *log = read_at(dir, "r.log");
    if (killed == 0) {
        cr_log_warn("rank 1 was gone before the kill: %s", log);
    } else {
        cr_assert(strstr(log, "(lost)"), "%s", log);
        cr_assert(strstr(log, "point(s) missing") || strstr(log, "finished all the same"), "%s",
                  log);
    }
    free(log);
    snprintf(cmd, sizeof cmd, "%s sweep %s --out %s/r --no-progress --no-mpi", TU_AFLSIM, ini,
             dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "resume: %s", out);
    cr_assert(strstr(out, "9 finished in all"), "%s", out);
    free(out);
    rm_dir(dir);
}

Test(mpi, bad_input_under_mpirun_is_reported_once_with_status_2, .timeout = 120)
{
    need_mpi();
    char *dir = tu_tmpdir(), ini[600], cmd[4096], run[1024], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI);
    mpirun_cmd(run, sizeof run, "");
    snprintf(cmd, sizeof cmd, "%s sweep %s --grid train.bacth=1,2 --out %s/x", run, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    char *hit = strstr(out, "did you mean 'batch'");
    cr_assert_not_null(hit, "%s", out);
    cr_assert_null(strstr(hit + 1, "did you mean 'batch'"), "reported twice: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s sweep %s --mpi-timeout soon --out %s/x", run, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--mpi-timeout 'soon'"), "%s", out);
    free(out);
    rm_dir(dir);
}

Test(mpi, build_without_mpi_says_how_to_enable_it)
{
#ifdef AFL_HAVE_MPI
    cr_skip_test("this build has MPI (the message is for builds without it)");
#else
    char *dir = tu_tmpdir(), ini[600], cmd[2048], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI);
    snprintf(cmd, sizeof cmd, "%s sweep %s --mpi --out %s/x", TU_AFLSIM, ini, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "built without MPI"), "%s", out);
    cr_assert(strstr(out, "libopenmpi-dev"), "%s", out);
    cr_assert(strstr(out, "--reconfigure"), "%s", out);
    free(out);
    rm_dir(dir);
#endif
}

/* ---- scripts/slurm-sweep: the job array, run here with Slurm's variables set by hand ---- */

#define SLURM_SWEEP AFL_SOURCE_ROOT "/scripts/slurm-sweep"

Test(slurm, the_array_covers_the_sweep_and_the_collect_job_merges_it, .timeout = 300)
{
    char *dir = tu_tmpdir(), ini[600], cmd[4096], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI);
    local_reference(dir, ini);
    snprintf(cmd, sizeof cmd, "%s %s --array 4 --cpus 2 --time 00:10:00 --aflsim %s --out %s/sl",
             SLURM_SWEEP, ini, TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "4 array tasks x 2 CPU(s), 9 points"), "%s", out);
    cr_assert(strstr(out, "bash "), "%s", out);
    free(out);
    char *sb = read_at(dir, "sl/slurm/sweep.sbatch");
    cr_assert_not_null(sb);
    cr_assert(strstr(sb, "#SBATCH --array=0-3\n"), "%s", sb);
    cr_assert(strstr(sb, "#SBATCH --cpus-per-task=2\n"), "%s", sb);
    cr_assert(strstr(sb, "#SBATCH --time=00:10:00\n"), "%s", sb);
    cr_assert(strstr(sb, "--shard \"$SLURM_ARRAY_TASK_ID/"), "%s", sb);
    free(sb);
    /* the collect job before the array has run: it says what is missing and fails */
    snprintf(cmd, sizeof cmd, "bash %s/sl/slurm/collect.sbatch", dir);
    cr_assert_eq(tu_sh(cmd, &out), 1, "%s", out);
    cr_assert(strstr(out, "9 point(s) not finished"), "%s", out);
    free(out);
    /* the four tasks, as Slurm would start them, then the collect job */
    for (int t = 0; t < 4; t++) {
        snprintf(cmd, sizeof cmd,
                 "SLURM_ARRAY_TASK_ID=%d SLURM_ARRAY_TASK_COUNT=4 SLURM_CPUS_PER_TASK=2 "
                 "bash %s/sl/slurm/sweep.sbatch",
                 t, dir);
        cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
        cr_assert(strstr(out, t == 0 ? "(3 in this shard" : "(2 in this shard"), "%s", out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "bash %s/sl/slurm/collect.sbatch", dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "9 of 9 points finished"), "%s", out);
    free(out);
    assert_same_results(dir, "ref", "sl");
    /* submit.sh: the array first, then the collect job after it (a stand-in sbatch) */
    char bin[700];
    snprintf(bin, sizeof bin, "%s/bin/sbatch", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/bin", dir);
    cr_assert_eq(tu_sh(cmd, NULL), 0);
    tu_write(bin, "#!/bin/sh\necho \"$*\" >>\"$(dirname \"$0\")/calls\"\necho 4242\n");
    snprintf(cmd, sizeof cmd, "chmod +x %s && PATH=%s/bin:$PATH bash %s/sl/slurm/submit.sh", bin,
             dir, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "submitted array job 4242"), "%s", out);
    free(out);
    char *calls = read_at(dir, "bin/calls");
    cr_assert_not_null(calls);
    char *c1 = strstr(calls, "sweep.sbatch"), *c2 = strstr(calls, "--dependency=afterany:4242");
    cr_assert(c1 && c2 && c1 < c2 && strstr(c2, "collect.sbatch"), "%s", calls);
    free(calls);
    rm_dir(dir);
}

Test(slurm, bad_arguments_exit_2_naming_them)
{
    char *dir = tu_tmpdir(), ini[600], cmd[4096], *out;
    snprintf(ini, sizeof ini, "%s/s.ini", dir);
    tu_write(ini, MPI_INI);
    snprintf(cmd, sizeof cmd, "%s %s --aflsim %s --out %s/x", SLURM_SWEEP, ini, TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--array N is required"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s --array 0 --aflsim %s --out %s/x", SLURM_SWEEP, ini,
             TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--array '0'"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s --array 2 --shard 0/2 --aflsim %s --out %s/x", SLURM_SWEEP,
             ini, TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "sets --shard itself"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s --array 2 --grid attack.type --aflsim %s --out %s/x",
             SLURM_SWEEP, ini, TU_AFLSIM, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "section.key=v1,v2"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s %s/nope.ini --array 2 --aflsim %s", SLURM_SWEEP, dir,
             TU_AFLSIM);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "no scenario file"), "%s", out);
    free(out);
    rm_dir(dir);
}
