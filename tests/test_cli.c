/* tests/test_cli.c - the aflsim command as a user meets it: exit statuses,
 * messages, list/describe, and the generated docs being current. */
#include <sys/stat.h>

#include "testutil.h"

Test(cli, misspelt_key_exits_2_naming_the_line)
{
    char *dir = tu_tmpdir(), cmd[1024], *out;
    char path[600];
    snprintf(path, sizeof path, "%s/bad.ini", dir);
    tu_write(path, "[sim]\nrounds = 10\n[train]\nbacth = 32\n");
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/run", TU_AFLSIM, path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "bad.ini:4"), "%s", out);
    cr_assert(strstr(out, "did you mean 'batch'"), "%s", out);
    cr_assert(strncmp(out, "aflsim: error: ", 15) == 0, "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s check %s --set train.bacth=1", TU_AFLSIM, path);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    free(out), free(dir);
}

Test(cli, bad_override_and_option_exit_2)
{
    char *out;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s check %s/scenarios/quickstart.ini --set clients.n=-1", TU_AFLSIM,
             AFL_SOURCE_ROOT);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "--set clients.n=-1"), "%s", out);
    cr_assert(strstr(out, "[1, 1e+07]"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s run %s/scenarios/quickstart.ini --frobnicate", TU_AFLSIM,
             AFL_SOURCE_ROOT);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "unknown option '--frobnicate'"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " run /nonexistent.ini", &out), 2, "%s", out);
    cr_assert(strstr(out, "/nonexistent.ini"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " frob", &out), 2);
    free(out);
}

Test(cli, shipped_scenarios_check_ok)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s check %s/scenarios/quickstart.ini", TU_AFLSIM, AFL_SOURCE_ROOT);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    free(out);
    /* a paper experiment is a sweep: check resolves every point */
    snprintf(cmd, sizeof cmd, "%s check %s/scenarios/paper/taumax.ini", TU_AFLSIM,
             AFL_SOURCE_ROOT);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "ok (a sweep of "), "%s", out);
    free(out);
}

Test(cli, sweep_scenario_is_checked_point_by_point_and_not_run_alone)
{
    char *dir = tu_tmpdir(), cmd[2048], path[600], *out;
    snprintf(path, sizeof path, "%s/sw.ini", dir);
    tu_write(path, "[sim]\nrounds = 10\n[model]\ntype = none\n[data]\ndataset = synthetic\n"
                   "[sweep]\nseeds = 1-2\nclients.n = 5, 10\ndefense.type = asyncsgd, kardam\n");
    snprintf(cmd, sizeof cmd, "%s check %s", TU_AFLSIM, path);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "ok (a sweep of 8 points"), "%s", out);
    free(out);
    /* one bad point: exit 2 naming the point and the key */
    tu_write(path, "[sim]\nrounds = 10\n[model]\ntype = none\n[data]\ndataset = synthetic\n"
                   "[sweep]\nclients.n = 5, -1\n");
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "sweep point") && strstr(out, "clients.n"), "%s", out);
    free(out);
    /* run refers to sweep and writes nothing */
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/run", TU_AFLSIM, path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "sw.ini:8: [sweep]") && strstr(out, "aflsim sweep"), "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/run", dir);
    struct stat st;
    cr_assert(stat(path, &st) != 0, "run created %s", path);
    free(dir);
}

Test(cli, list_and_describe_show_the_registries)
{
    char *out;
    cr_assert_eq(tu_sh(TU_AFLSIM " list defenses", &out), 0);
    cr_assert(strstr(out, "asyncsgd"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " list models", &out), 0);
    cr_assert(strstr(out, "cnn") && strstr(out, "mlp") && strstr(out, "softmax"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " list delays", &out), 0);
    cr_assert(strstr(out, "lognormal") && strstr(out, "truncnormal") && strstr(out, "pareto"),
              "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " list datasets", &out), 0);
    cr_assert(strstr(out, "fashion-mnist") && strstr(out, "csv"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " describe model mlp", &out), 0);
    cr_assert(strstr(out, "hidden"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " describe section train", &out), 0);
    cr_assert(strstr(out, "local_steps"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " describe defense nosuch", &out), 2);
    cr_assert(strstr(out, "unknown defense 'nosuch'"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " list nosuch", &out), 2);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " --help", &out), 0);
    cr_assert(strstr(out, "aflsim run SCENARIO"), "%s", out);
    free(out);
    cr_assert_eq(tu_sh(TU_AFLSIM " run --help", &out), 0);
    cr_assert(strstr(out, "--set"), "%s", out);
    free(out);
}

Test(cli, docs_scenario_keys_are_generated_from_the_tables)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s doc", TU_AFLSIM);
    cr_assert_eq(tu_sh(cmd, &out), 0);
    char *doc = tu_read(AFL_SOURCE_ROOT "/docs/scenario-keys.md");
    cr_assert_not_null(doc, "docs/scenario-keys.md missing: run scripts/gen-docs");
    cr_assert_str_eq(out, doc, "docs/scenario-keys.md is stale: run scripts/gen-docs");
    free(out), free(doc);
}

Test(cli, run_prints_the_final_error_and_writes_the_folder)
{
    char *dir = tu_tmpdir(), path[600], cmd[2048], *out;
    snprintf(path, sizeof path, "%s/s.ini", dir);
    tu_write(path, TU_SYNTH_INI);
    snprintf(cmd, sizeof cmd, "%s run %s --out %s/run --set sim.rounds=50 </dev/null", TU_AFLSIM,
             path, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "%s", out);
    cr_assert(strstr(out, "final test error:"), "%s", out);
    cr_assert_null(strstr(out, "\r"), "no progress line when stderr is not a terminal");
    free(out);
    cr_assert_eq(tu_sh(cmd, &out), 2, "second run into the same folder: %s", out);
    cr_assert(strstr(out, "--force"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s run %s/run/config.ini --out %s/replay --set sim.rounds=50",
             TU_AFLSIM, dir, dir);
    cr_assert_eq(tu_sh(cmd, &out), 0, "replaying from config.ini: %s", out);
    free(out);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/run/events.csv", dir);
    snprintf(b, sizeof b, "%s/replay/events.csv", dir);
    char *x = tu_read(a), *y = tu_read(b);
    cr_assert_str_eq(x, y, "a run replayed from its config.ini gives the same events");
    free(x), free(y), free(dir);
}
