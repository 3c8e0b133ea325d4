/* tests/test_config.c - scenario validation: every bad key or value is an error
 * that names file:line (or the override) and what was expected. */
#include "testutil.h"

static afl_err err;
static afl_config *cfg;

static int load(const char *ini, const char *const *sets)
{
    static char *dir;
    if (!dir)
        dir = tu_tmpdir();
    memset(&err, 0, sizeof err);
    return tu_config(dir, "s.ini", ini, sets, &cfg, &err);
}

static void done(void)
{
    afl_config_free(cfg);
    cfg = NULL;
}

TestSuite(config, .fini = done);

Test(config, empty_file_gives_every_default)
{
    cr_assert_eq(load("", NULL), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_cfg_int(cfg, "train", "batch"), 32);
    cr_assert_float_eq(afl_cfg_real(cfg, "train", "lr"), 0.01, 1e-15);
    cr_assert_str_eq(afl_cfg_str(cfg, "sim", "mode"), "round");
    cr_assert_eq(afl_cfg_int(cfg, "clients", "n"), 50);
    cr_assert_eq(afl_cfg_int(cfg, "delay", "tau_max"), 10);
    cr_assert_str_eq(afl_cfg_str(cfg, "data", "dataset"), "fashion-mnist");
    cr_assert_str_eq(afl_cfg_str(cfg, "data", "partition"), "bias");
    cr_assert_float_eq(afl_cfg_real(cfg, "data", "bias"), 0.5, 1e-15);
    cr_assert_str_eq(afl_cfg_str(cfg, "model", "type"), "cnn");
    cr_assert_str_eq(afl_cfg_str(cfg, "attack", "type"), "none");
    cr_assert_str_eq(afl_cfg_str(cfg, "defense", "type"), "asyncsgd");
    cr_assert_eq(afl_cfg_int(cfg, "eval", "every"), 500);
    cr_assert_float_eq(afl_cfg_real(cfg, "clients", "malicious"), 0.0, 0);
    cr_assert_eq(afl_cfg_int(cfg, "sim", "seed"), 1);
    cr_assert_eq(afl_cfg_int(cfg, "sim", "rounds"), 2000);
}

Test(config, misspelt_key_names_file_line_and_closest_key)
{
    cr_assert_eq(load("[sim]\nseed = 3\n\n[train]\nbacth = 64\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:5"), "%s", err.msg);
    cr_assert(strstr(err.msg, "'bacth'"), "%s", err.msg);
    cr_assert(strstr(err.msg, "did you mean 'batch'"), "%s", err.msg);
}

Test(config, unknown_section_suggests_closest)
{
    cr_assert_eq(load("[defence]\ntype = asyncsgd\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:2"), "%s", err.msg);
    cr_assert(strstr(err.msg, "did you mean 'defense'"), "%s", err.msg);
}

Test(config, out_of_range_value_names_the_range)
{
    cr_assert_eq(load("[clients]\nn = 0\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:2"), "%s", err.msg);
    cr_assert(strstr(err.msg, "[1, 1e+07]"), "%s", err.msg);
    cr_assert_eq(load("[data]\nbias = 1.5\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "in [0, 1]"), "%s", err.msg);
    cr_assert_eq(load("[train]\nlr = nan\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "finite number"), "%s", err.msg);
    cr_assert_eq(load("[train]\nbatch = 3.5\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "expected an integer"), "%s", err.msg);
}

Test(config, bad_choice_lists_the_choices)
{
    cr_assert_eq(load("[sim]\nmode = async\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "expected one of: round, time"), "%s", err.msg);
    cr_assert_eq(load("[defense]\ntype = secureaf\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "unknown defense 'secureaf'"), "%s", err.msg);
    cr_assert(strstr(err.msg, "asyncsgd"), "%s", err.msg);
}

Test(config, key_of_another_component_says_which)
{
    cr_assert_eq(load("[model]\ntype = cnn\nhidden = 100\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:3"), "%s", err.msg);
    cr_assert(strstr(err.msg, "model 'mlp'"), "%s", err.msg);
    cr_assert_eq(load("[model]\ntype = mlp\nhidden = 100,50\n", NULL), AFL_OK, "%s", err.msg);
    int h[8];
    cr_assert_eq(afl_cfg_intlist(cfg, "model", "hidden", h, 8), 2);
    cr_assert_eq(h[0], 100);
    cr_assert_eq(h[1], 50);
}

Test(config, override_wins_and_bad_override_is_named)
{
    const char *sets[] = {"train.batch=64", "sim.seed = 9", NULL};
    cr_assert_eq(load("[train]\nbatch = 16\n", sets), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_cfg_int(cfg, "train", "batch"), 64);
    cr_assert_eq(afl_cfg_int(cfg, "sim", "seed"), 9);
    cr_assert_str_eq(afl_cfg_origin(cfg, "train", "batch"), "--set train.batch=64");
    done();
    const char *bad[] = {"trainbatch=64", NULL};
    cr_assert_eq(load("", bad), AFL_EINPUT);
    cr_assert(strstr(err.msg, "expected section.key=value"), "%s", err.msg);
    const char *bad2[] = {"train.bath=64", NULL};
    cr_assert_eq(load("", bad2), AFL_EINPUT);
    cr_assert(strstr(err.msg, "--set train.bath=64"), "%s", err.msg);
    cr_assert(strstr(err.msg, "did you mean 'batch'"), "%s", err.msg);
}

Test(config, duplicate_key_names_both_lines)
{
    cr_assert_eq(load("[train]\nbatch = 16\nlr = 0.1\nbatch = 8\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:4"), "%s", err.msg);
    cr_assert(strstr(err.msg, "s.ini:2"), "%s", err.msg);
}

Test(config, malformed_line_is_named)
{
    cr_assert_eq(load("[train]\nbatch 16\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:2"), "%s", err.msg);
    cr_assert_eq(load("seed = 1\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "before any [section]"), "%s", err.msg);
}

Test(config, missing_file_is_an_io_error_naming_it)
{
    afl_config *c = afl_config_new();
    cr_assert_eq(afl_config_load_file(c, "/nonexistent/x.ini", &err), AFL_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/x.ini"), "%s", err.msg);
    afl_config_free(c);
}

Test(config, distributions_are_validated_and_canonical)
{
    cr_assert_eq(load("[delay]\ncompute = lognormal( 0 , 0.5 )\n", NULL), AFL_OK, "%s", err.msg);
    afl_dist d = afl_cfg_dist(cfg, "delay", "compute");
    cr_assert_eq(d.kind, AFL_DIST_LOGNORMAL);
    cr_assert_float_eq(d.p[1], 0.5, 0);
    done();
    cr_assert_eq(load("[delay]\nspeed = gamma(2, 1)\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "not allowed here"), "%s", err.msg);
    cr_assert_eq(load("[delay]\ncompute = lognorm(0,1)\n", NULL), AFL_EINPUT);
    cr_assert(strstr(err.msg, "s.ini:2"), "%s", err.msg);
}

Test(config, relative_paths_resolve_against_the_scenario_folder)
{
    cr_assert_eq(load("[delay]\ntrace = traces/a.csv\n", NULL), AFL_OK, "%s", err.msg);
    const char *p = afl_cfg_str(cfg, "delay", "trace");
    cr_assert_eq(p[0], '/', "%s", p);
    cr_assert(strstr(p, "/aflsim-test-"), "%s", p);
    cr_assert(strstr(p, "/traces/a.csv"), "%s", p);
}

Test(config, resolved_config_replays_to_the_same_config)
{
    char *dir = tu_tmpdir();
    cr_assert_eq(load("[train]\nlr = 0.05\n[delay]\ncompute = exponential(2)\n", NULL), AFL_OK);
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/config.ini", dir);
    snprintf(p2, sizeof p2, "%s/config2.ini", dir);
    cr_assert_eq(afl_config_write(cfg, p1, &err), AFL_OK, "%s", err.msg);
    afl_config *c2 = afl_config_new();
    cr_assert_eq(afl_config_load_file(c2, p1, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(c2, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_write(c2, p2, &err), AFL_OK, "%s", err.msg);
    afl_config_free(c2);
    char *a = tu_read(p1), *b = tu_read(p2);
    /* identical but for the scenario name in the first comment line */
    cr_assert_str_eq(strchr(a, '\n'), strchr(b, '\n'));
    cr_assert(strstr(a, "lr = 0.05\n"));
    cr_assert(strstr(a, "compute = exponential(2)\n"));
    free(a), free(b), free(dir);
}

Test(config, edit_distance_counts_edits)
{
    cr_assert_eq(afl_edit_distance("batch", "bacth"), 2);
    cr_assert_eq(afl_edit_distance("", "abc"), 3);
    cr_assert_eq(afl_edit_distance("seed", "seed"), 0);
}
