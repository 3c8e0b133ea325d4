/* tests/test_resources.c - memory estimates and limits, unwritable and full output
 * locations (issue 7, item 3). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "defenses/defense.h"
#include "sim/memory.h"
#include "testutil.h"

static int exists(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* Number of entries of dir whose name contains part (e.g. ".tmp"). */
static int count_named(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, part) != NULL;
    closedir(d);
    return n;
}

/* Every line of the CSV is complete: ends with a newline and has the header's field count. */
static void assert_whole_rows(const char *path)
{
    char *t = tu_read(path);
    cr_assert_not_null(t, "%s missing", path);
    size_t len = strlen(t);
    cr_assert(len > 0 && t[len - 1] == '\n', "%s ends inside a row", path);
    int cols = -1;
    for (char *line = t; *line;) {
        char *nl = strchr(line, '\n');
        int c = 1;
        for (char *p = line; p < nl; p++)
            c += *p == ',';
        if (cols < 0)
            cols = c;
        cr_assert_eq(c, cols, "%s: a row with %d fields, header has %d", path, c, cols);
        line = nl + 1;
    }
    free(t);
}

Test(memory, sizes_parse_with_binary_suffixes)
{
    uint64_t b;
    cr_assert_eq(afl_mem_parse_size("2G", &b), 0);
    cr_assert_eq(b, 2ull << 30);
    cr_assert_eq(afl_mem_parse_size("500M", &b), 0);
    cr_assert_eq(b, 500ull << 20);
    cr_assert_eq(afl_mem_parse_size("1.5g", &b), 0);
    cr_assert_eq(b, 3ull << 29);
    cr_assert_eq(afl_mem_parse_size("64KiB", &b), 0);
    cr_assert_eq(b, 64ull << 10);
    cr_assert_eq(afl_mem_parse_size("123456", &b), 0);
    cr_assert_eq(b, 123456u);
    const char *bad[] = {"", "G", "-1G", "2X", "2 G B x", "nan", "inf", "1e400", "0", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_neq(afl_mem_parse_size(bad[i], &b), 0, "'%s' accepted", bad[i]);
}

Test(memory, available_memory_is_read_from_proc)
{
    cr_assert_gt(afl_mem_available(), 1u << 20);
}

Test(memory, every_registered_defense_has_a_memory_entry)
{
    size_t n;
    const afl_component *all = afl_defense_components(&n);
    for (size_t i = 0; i < n; i++) {
        double f, c, s;
        cr_expect_eq(afl_mem_defense_vectors(all[i].name, &f, &c, &s), 0,
                     "defense '%s' is missing from the table in sim/memory.c", all[i].name);
    }
}

Test(memory, estimate_grows_with_clients_for_per_client_defenses)
{
    char *dir = tu_tmpdir();
    afl_config *c1, *c2;
    afl_err err = {0};
    const char *s1[] = {"defense.type=kardam", "clients.n=10", NULL};
    const char *s2[] = {"defense.type=kardam", "clients.n=1000", NULL};
    cr_assert_eq(tu_config(dir, "a.ini", TU_SYNTH_INI, s1, &c1, &err), 0, "%s", err.msg);
    cr_assert_eq(tu_config(dir, "b.ini", TU_SYNTH_INI, s2, &c2, &err), 0, "%s", err.msg);
    afl_mem_shape sh;
    afl_mem_estimate e1, e2;
    cr_assert_eq(afl_mem_probe(c1, &sh, &err), 0);
    cr_assert_eq(sh.n_train, 2000);
    cr_assert_eq(sh.w, 8);
    cr_assert_eq(afl_mem_estimate_run(c1, &sh, 1, &e1, &err), 0);
    cr_assert_eq(afl_mem_estimate_run(c2, &sh, 1, &e2, &err), 0);
    cr_assert_eq(e1.d, 36u); /* softmax 8 features x 4 classes + 4 */
    /* kardam keeps two vectors per worker */
    cr_assert_float_eq(e2.defense - e1.defense, 4.0 * 36 * 2 * 990, 1e-6);
    cr_assert_gt(e2.total, e1.total);
    afl_config_free(c1);
    afl_config_free(c2);
    free(dir);
}

Test(memory, run_over_the_limit_is_refused_before_anything_is_written)
{
    char *dir = tu_tmpdir();
    afl_config *c;
    afl_err err = {0};
    cr_assert_eq(tu_config(dir, "s.ini", TU_SYNTH_INI, NULL, &c, &err), 0, "%s", err.msg);
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    afl_run_opts o = {out, 0, 1, 0, 1 << 20};
    afl_run_result r;
    int rc = afl_run(c, &o, &r, &err);
    cr_assert_eq(rc, AFL_ENOMEM, "%s", err.msg);
    cr_assert_eq(afl_err_exit_status(rc), 2);
    cr_assert(strstr(err.msg, "estimated"), "%s", err.msg);
    cr_assert(strstr(err.msg, "--max-memory limit of 1.00 MiB"), "%s", err.msg);
    cr_assert(!exists(dir, "run"), "a refused run created its folder");
    afl_config_free(c);
    free(dir);
}

Test(memory, huge_history_is_refused_against_available_memory)
{
    /* timing-only: 1e9 floats per model and 1000 stale versions cannot fit anywhere */
    char *dir = tu_tmpdir();
    afl_config *c;
    afl_err err = {0};
    const char *sets[] = {"model.type=none", "model.dim=1000000000", "delay.tau_max=1000", NULL};
    cr_assert_eq(tu_config(dir, "s.ini", TU_SYNTH_INI, sets, &c, &err), 0, "%s", err.msg);
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    afl_run_opts o = {out, 0, 1, 0, 0};
    afl_run_result r;
    cr_assert_eq(afl_run(c, &o, &r, &err), AFL_ENOMEM, "%s", err.msg);
    cr_assert(strstr(err.msg, "MemAvailable"), "%s", err.msg);
    cr_assert(strstr(err.msg, "model versions"), "%s", err.msg);
    afl_config_free(c);
    free(dir);
}

Test(memory, cli_run_and_sweep_take_max_memory)
{
    char *dir = tu_tmpdir(), path[600], cmd[2048], *out;
    snprintf(path, sizeof path, "%s/s.ini", dir);
    tu_write(path, TU_SYNTH_INI);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/run --max-memory 1M", TU_AFLSIM, path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "aflsim: error: the run needs an estimated"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/run --max-memory lots", TU_AFLSIM, path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--max-memory needs a size"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/run --max-memory 1G", TU_AFLSIM, path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s sweep %s --seeds 1-2 --jobs 1 --no-progress --max-memory 1M --out %s/sw",
             TU_AFLSIM, path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "2 point(s) failed"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/sw/points/seed-1/run.log", dir);
    char *log = tu_read(cmd);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "--max-memory limit"), "%s", log);
    free(log);
    free(dir);
}

/* ---- output locations ---------------------------------------------------------------- */

Test(output, dev_full_as_run_folder_is_a_clear_error)
{
    char *dir = tu_tmpdir(), path[600], cmd[2048], *out;
    snprintf(path, sizeof path, "%s/s.ini", dir);
    tu_write(path, TU_SYNTH_INI);
    snprintf(cmd, sizeof cmd, "%s run %s --out /dev/full", TU_AFLSIM, path);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "/dev/full exists and is not a directory"), "%s", out);
    free(out);
    free(dir);
}

Test(output, stdout_on_dev_full_is_an_error)
{
    char *dir = tu_tmpdir(), path[600], cmd[2048], *out;
    snprintf(path, sizeof path, "%s/s.ini", dir);
    tu_write(path, TU_SYNTH_INI);
    snprintf(cmd, sizeof cmd, "%s check %s --print >/dev/full", TU_AFLSIM, path);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "No space left on device"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s list defenses >/dev/full", TU_AFLSIM);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "cannot write to standard output"), "%s", out);
    free(out);
    /* --print goes to standard output, not through a file named /dev/stdout */
    snprintf(cmd, sizeof cmd, "%s check %s --print | grep -c '^seed = 7$'", TU_AFLSIM, path);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
    free(dir);
}

Test(output, read_only_folder_is_a_clear_error_and_leaves_nothing)
{
    char *dir = tu_tmpdir(), path[600], ro[600], cmd[2048], *out;
    snprintf(path, sizeof path, "%s/s.ini", dir);
    tu_write(path, TU_SYNTH_INI);
    snprintf(ro, sizeof ro, "%s/ro", dir);
    mkdir(ro, 0755);
    /* tests run as root, which ignores permissions: make the folder immutable */
    snprintf(cmd, sizeof cmd, "chattr +i %s", ro);
    if (tu_sh(cmd, NULL) != 0) {
        free(dir);
        cr_skip_test("chattr +i is not available here");
    }
    snprintf(cmd, sizeof cmd, "%s run %s --out %s", TU_AFLSIM, path, ro);
    int st = tu_sh(cmd, &out);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/sub/run", TU_AFLSIM, path, ro);
    char *out2;
    int st2 = tu_sh(cmd, &out2);
    int files = count_named(ro, "");
    snprintf(cmd, sizeof cmd, "chattr -i %s", ro);
    tu_sh(cmd, NULL);
    cr_assert_eq(st, 2, "%s", out);
    cr_assert(strstr(out, "aflsim: error: cannot write"), "%s", out);
    cr_assert(strstr(out, "config.ini") && strstr(out, "Operation not permitted"), "%s", out);
    cr_assert_eq(st2, 2, "%s", out2);
    cr_assert(strstr(out2, "cannot create directory"), "%s", out2);
    cr_assert_eq(files, 2, "the read-only folder got files"); /* . and .. */
    free(out);
    free(out2);
    free(dir);
}

Test(output, full_disk_stops_the_run_with_whole_rows_and_no_temp_files)
{
    char *dir = tu_tmpdir(), path[600], mnt[600], run[700], cmd[2048], *out;
    snprintf(path, sizeof path, "%s/s.ini", dir);
    tu_write(path, TU_SYNTH_INI);
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    mkdir(mnt, 0755);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=48k tmpfs %s", mnt);
    if (tu_sh(cmd, NULL) != 0) {
        free(dir);
        cr_skip_test("cannot mount a small tmpfs here");
    }
    snprintf(run, sizeof run, "%s/run", mnt);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s --set sim.rounds=3000 --set eval.every=10",
             TU_AFLSIM, path, run);
    int st = tu_sh(cmd, &out);
    char events[800], evalp[800];
    snprintf(events, sizeof events, "%s/events.csv", run);
    snprintf(evalp, sizeof evalp, "%s/eval.csv", run);
    int summary = exists(run, "summary.csv"), tmps = count_named(run, ".tmp");
    char *ev = tu_read(events), *evl = tu_read(evalp);
    snprintf(cmd, sizeof cmd, "umount %s", mnt);
    tu_sh(cmd, NULL);
    cr_assert_eq(st, 2, "%s", out);
    cr_assert(strstr(out, "No space left on device"), "%s", out);
    cr_assert(!summary, "a failed run wrote summary.csv");
    cr_assert_eq(tmps, 0, "temporary files left behind");
    /* the files were read before unmounting: check copies */
    char cp[800];
    snprintf(cp, sizeof cp, "%s/events.csv", dir);
    tu_write(cp, ev ? ev : "");
    assert_whole_rows(cp);
    snprintf(cp, sizeof cp, "%s/eval.csv", dir);
    tu_write(cp, evl ? evl : "");
    assert_whole_rows(cp);
    free(ev);
    free(evl);
    free(out);
    free(dir);
}
