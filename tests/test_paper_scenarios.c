/* tests/test_paper_scenarios.c - every experiment of the SecureAFL paper in scenarios/paper/
 * is a valid sweep: its [sweep] section loads, and every point of its --quick form (one seed,
 * the quick round counts of scripts/reproduce) resolves to a valid configuration; the point
 * counts match docs/reproducing.md.  Running them is scripts/reproduce's job. */
#include <dirent.h>

#include "sim/sweep.h"
#include "testutil.h"

static const struct {
    const char *name;
    int quick_points;
    const char *rounds;
} experiments[] = {{"main", 77, "2000"},       {"alpha", 33, "2000"},
                   {"ablation", 55, "2000"},   {"estimation", 4, "2000"},
                   {"runtime", 21, "500"},     {"runtime_model", 14, "500"},
                   {"malicious", 385, "1000"}, {"taumax", 385, "1000"},
                   {"noniid", 385, "1000"},    {"clients", 308, "1000"}};

Test(paper_scenarios, every_experiment_resolves_at_every_quick_point, .timeout = 300)
{
    char *dir = tu_tmpdir();
    size_t ne = sizeof experiments / sizeof experiments[0];
    for (size_t e = 0; e < ne; e++) {
        char path[600], out[600], rounds[64];
        snprintf(path, sizeof path, "%s/scenarios/paper/%s.ini", AFL_SOURCE_ROOT,
                 experiments[e].name);
        snprintf(out, sizeof out, "%s/%s", dir, experiments[e].name);
        snprintf(rounds, sizeof rounds, "sim.rounds=%s", experiments[e].rounds);
        const char *sets[] = {rounds};
        afl_sweep s = {0};
        s.scenario = path;
        s.out = out;
        s.sets = sets;
        s.nsets = 1;
        afl_err err = {0};
        cr_assert_eq(afl_sweep_load_section(&s, &err), AFL_OK, "%s: %s", path, err.msg);
        cr_assert_eq(afl_sweep_set_seeds(&s, "1", "--seeds", &err), AFL_OK, "%s", err.msg);
        afl_sweep_result res;
        unsigned char *todo = NULL;
        int ntodo = 0;
        cr_assert_eq(afl_sweep_plan(&s, &res, &todo, &ntodo, &err), AFL_OK, "%s: %s", path,
                     err.msg);
        cr_assert_eq(res.points, experiments[e].quick_points, "%s: %d points, documented %d",
                     experiments[e].name, res.points, experiments[e].quick_points);
        cr_assert_eq(ntodo, res.points);
        free(todo);
        afl_sweep_free(&s);
    }
    /* and no experiment is missing from this list */
    char pdir[600];
    snprintf(pdir, sizeof pdir, "%s/scenarios/paper", AFL_SOURCE_ROOT);
    DIR *d = opendir(pdir);
    cr_assert_not_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".ini") != 0)
            continue;
        int found = 0;
        for (size_t e = 0; e < ne; e++)
            found |= strncmp(de->d_name, experiments[e].name, l - 4) == 0 &&
                     strlen(experiments[e].name) == l - 4;
        cr_assert(found, "scenarios/paper/%s is not checked here", de->d_name);
    }
    closedir(d);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_sh(cmd, NULL);
    free(dir);
}

/* The quickstart is the paper's setting shortened: it and every experiment share the client
 * work (train.*) and the data split, so a reading chosen for one (docs/reproducing.md,
 * "Choices where the paper is silent") holds for all. */
Test(paper_scenarios, every_experiment_and_the_quickstart_share_the_client_work)
{
    const char *keys[][2] = {{"train", "batch"}, {"train", "local_steps"}, {"data", "bias"},
                             {"train", "lr"},    {"train", "local_lr"},    {"clients", "n"}};
    size_t nk = sizeof keys / sizeof keys[0];
    double ref[8];
    char path[600];
    snprintf(path, sizeof path, "%s/scenarios/quickstart.ini", AFL_SOURCE_ROOT);
    afl_err err = {0};
    afl_config *q = afl_config_new();
    cr_assert_eq(afl_config_load_file(q, path, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(q, &err), AFL_OK, "%s", err.msg);
    for (size_t k = 0; k < nk; k++)
        ref[k] = afl_cfg_real(q, keys[k][0], keys[k][1]);
    afl_config_free(q);
    cr_assert_eq(ref[1], 2.0, "the quickstart's train.local_steps is %g", ref[1]);
    for (size_t e = 0; e < sizeof experiments / sizeof experiments[0]; e++) {
        snprintf(path, sizeof path, "%s/scenarios/paper/%s.ini", AFL_SOURCE_ROOT,
                 experiments[e].name);
        afl_config *c = afl_config_new();
        cr_assert_eq(afl_config_load_file(c, path, &err), AFL_OK, "%s", err.msg);
        afl_config_take_section(c, "sweep", NULL, NULL);
        cr_assert_eq(afl_config_resolve(c, &err), AFL_OK, "%s: %s", path, err.msg);
        for (size_t k = 0; k < nk; k++)
            cr_assert_eq(afl_cfg_real(c, keys[k][0], keys[k][1]), ref[k],
                         "%s: %s.%s = %g, the quickstart has %g", path, keys[k][0], keys[k][1],
                         afl_cfg_real(c, keys[k][0], keys[k][1]), ref[k]);
        afl_config_free(c);
    }
}

/* scripts/reproduce plans every experiment in each form (it once ended silently with status 1
 * whenever --rounds was not given): --dry-run prints the folder and the sweep command. */
Test(paper_scenarios, reproduce_plans_every_experiment_in_every_form)
{
    const char *forms[][2] = {{"--quick", "-quick"},
                              {"", ""},
                              {"--quick --rounds 30", "-quick-r30"},
                              {"--rounds 30 --seeds 1-2", "-r30"}};
    for (size_t e = 0; e < sizeof experiments / sizeof experiments[0]; e++)
        for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
            char cmd[1200], want[200], *out;
            snprintf(cmd, sizeof cmd, "%s/scripts/reproduce %s %s --dry-run", AFL_SOURCE_ROOT,
                     experiments[e].name, forms[f][0]);
            cr_assert_eq(tu_sh(cmd, &out), 0, "%s: %s", cmd, out);
            snprintf(want, sizeof want, "out: runs/paper/%s%s\n", experiments[e].name, forms[f][1]);
            cr_assert(strstr(out, want), "%s: %s", cmd, out);
            snprintf(want, sizeof want, "scenarios/paper/%s.ini --out runs/paper/%s%s/sweep",
                     experiments[e].name, experiments[e].name, forms[f][1]);
            cr_assert(strstr(out, want), "%s: %s", cmd, out);
            free(out);
        }
}
