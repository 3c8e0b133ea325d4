/* tests/test_detection.c - end-to-end detection on real Fashion-MNIST: the detectors of
 * issue 3 against a malicious behaviour whose ground truth is known (the malicious flag,
 * which the defenses never see).  TPR = rejected malicious arrivals / malicious arrivals,
 * FPR = rejected benign / benign arrivals, both read from summary.csv as a user would.
 *
 *  - x100 updates (attack.type = amplify) from 10% of the clients: SecureAFL, Kardam and
 *    AFLGuard reject them with TPR >= 0.9, and the two that also accept honest updates
 *    keep the model, while AsyncSGD under the same attack is destroyed.
 *  - reversed updates (attack.type = signflip) from 10% of the clients, in the paper's
 *    setting (scenarios/quickstart.ini: the CNN, 50 clients, bias 0.5, two local steps):
 *    AFLGuard and Zeno++ reject them with TPR >= 0.9 (docs/defenses-filters.md gives the
 *    FPRs and how the TPRs evolve over longer runs).  These runs train the CNN; they are
 *    skipped in the sanitizer build, where they would take many minutes, and run in the
 *    release build of the same suite.
 */
#include <math.h>

#include "testutil.h"

typedef struct {
    double tpr, fpr, err;
} detection;

/* Runs the scenario file `scenario_path`, or the scenario text `ini` when it is NULL,
 * with the overrides `sets` through the CLI. */
static detection run_detect(const char *scenario_path, const char *ini, const char *sets)
{
    tu_require_fmnist();
    char *dir = tu_tmpdir();
    char path[700], out[700], cmd[4096];
    if (!scenario_path) {
        snprintf(path, sizeof path, "%s/detect.ini", dir);
        tu_write(path, ini);
        scenario_path = path;
    }
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(cmd, sizeof cmd, "%s run %s %s --set output.progress=off --out %s", TU_AFLSIM,
             scenario_path, sets, out);
    char *log;
    int rc = tu_sh(cmd, &log);
    cr_assert_eq(rc, 0, "%s\n%s", cmd, log);
    free(log);
    detection d = {tu_summary_value(out, "tpr"), tu_summary_value(out, "fpr"),
                   tu_summary_value(out, "final_test_error")};
    cr_assert(!isnan(d.tpr) && !isnan(d.fpr), "%s: TPR or FPR is NA", out);
    free(dir);
    return d;
}

#define SUBSET_INI                                                                                 \
    "[sim]\nseed = 3\nrounds = 800\n"                                                              \
    "[data]\ntrain_subset = 10000\ntest_subset = 2000\n"                                           \
    "[model]\ntype = mlp\nhidden = 100\n[clients]\nn = 20\nmalicious = 0.1\n"                      \
    "[train]\nlr = 0.05\nlocal_steps = 2\n[attack]\ntype = amplify\n"                              \
    "[eval]\nevery = 200\n"

/* Measured (seed 3, 800 rounds, 93 malicious of 800 arrivals): secureafl TPR 0.978 /
 * FPR 0.136 / error 0.181; kardam 1.0 / 0.124 / 0.275; aflguard 1.0 / 0.348 / 0.256;
 * asyncsgd error 0.89 (untrained: 0.89). */
Test(detection, secureafl_kardam_aflguard_reject_100x_updates, .timeout = 900)
{
    detection none = run_detect(NULL, SUBSET_INI, "--set defense.type=asyncsgd");
    cr_assert_gt(none.err, 0.8, "the x100 attack must destroy AsyncSGD (error %g)", none.err);
    cr_assert_eq(none.tpr, 0, "AsyncSGD rejects nothing");

    const struct {
        const char *name;
        double max_fpr, max_err;
    } want[] = {{"secureafl", 0.3, 0.35}, {"kardam", 0.3, 0.35}, {"aflguard", 0.7, 0.45}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char sets[128];
        snprintf(sets, sizeof sets, "--set defense.type=%s", want[i].name);
        detection d = run_detect(NULL, SUBSET_INI, sets);
        cr_assert_geq(d.tpr, 0.9, "%s: TPR %g", want[i].name, d.tpr);
        cr_assert_lt(d.fpr, want[i].max_fpr, "%s: FPR %g", want[i].name, d.fpr);
        cr_assert_lt(d.err, want[i].max_err, "%s: test error %g", want[i].name, d.err);
    }
}

/* The paper's setting, 10% sign flippers (seed 1, release build).  Measured: zenopp 1000
 * rounds TPR 0.920 / FPR 0.41 / error 0.35; aflguard 500 rounds TPR 1.0 / FPR 0.98 (at
 * lambda = 1.5 AFLGuard rejects nearly every honest update on this non-IID split too:
 * docs/defenses-filters.md, so only its TPR is asserted). */
Test(detection, aflguard_and_zenopp_reject_reversed_updates_in_the_paper_setting, .timeout = 1200)
{
    const char *san = getenv("AFL_SANITIZER_BUILD");
    if (san && *san)
        cr_skip_test("trains the paper's CNN for 1,500 rounds: release build only");
    char qs[600];
    snprintf(qs, sizeof qs, "%s/scenarios/quickstart.ini", AFL_SOURCE_ROOT);
    const char *common = "--set attack.type=signflip --set clients.malicious=0.1 "
                         "--set eval.every=500";
    char sets[512];
    snprintf(sets, sizeof sets, "%s --set defense.type=zenopp --set sim.rounds=1000", common);
    detection z = run_detect(qs, NULL, sets);
    cr_assert_geq(z.tpr, 0.9, "zenopp: TPR %g", z.tpr);
    cr_assert_lt(z.fpr, 0.5, "zenopp: FPR %g", z.fpr);
    cr_assert_lt(z.err, 0.45, "zenopp: test error %g", z.err);

    snprintf(sets, sizeof sets, "%s --set defense.type=aflguard --set sim.rounds=500", common);
    detection a = run_detect(qs, NULL, sets);
    cr_assert_geq(a.tpr, 0.9, "aflguard: TPR %g", a.tpr);
}
