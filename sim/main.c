/* sim/main.c - the `aflsim` command.  The only place that prints errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/config.h"
#include "sim/describe.h"
#include "sim/run.h"

static const char *usage_main =
    "aflsim " AFL_VERSION " - asynchronous federated learning under poisoning attacks\n"
    "\n"
    "usage:\n"
    "  aflsim run SCENARIO [--set section.key=value]... [--out DIR] [--force] [--threads N]\n"
    "             [--progress|--no-progress]\n"
    "  aflsim check SCENARIO [--set section.key=value]... [--print]\n"
    "  aflsim list {models|datasets|delays|defenses|attacks|sections}\n"
    "  aflsim describe {model|dataset|delay|defense|attack|section} NAME\n"
    "  aflsim doc            print the scenario key reference (Markdown)\n"
    "  aflsim COMMAND --help\n"
    "\n"
    "A run writes config.ini, partition.csv, events.csv, eval.csv and summary.csv into its\n"
    "folder (default runs/<scenario name>). Exit status: 0 ok, 2 bad input or I/O error,\n"
    "3 the global model became non-finite, 1 internal error.\n";

static const char *usage_run =
    "usage: aflsim run SCENARIO [options]\n"
    "  --set section.key=value  override a key (repeatable; later wins)\n"
    "  --out DIR                run folder (default runs/<scenario name>)\n"
    "  --force                  overwrite a folder that already holds a run\n"
    "  --threads N              worker threads (results are identical for any N; default 1)\n"
    "  --progress / --no-progress  force the progress line on or off (default: on a terminal)\n";

static const char *usage_check =
    "usage: aflsim check SCENARIO [--set section.key=value]... [--print]\n"
    "  Validates the scenario and overrides; --print writes the resolved configuration.\n";

static const char *usage_list =
    "usage: aflsim list {models|datasets|delays|defenses|attacks|sections}\n";

static const char *usage_describe =
    "usage: aflsim describe {model|dataset|delay|defense|attack|section} NAME\n";

static int fail(const afl_err *err)
{
    fprintf(stderr, "aflsim: error: %s\n", err->msg);
    return afl_err_exit_status(err->code);
}

static int usage_error(const char *msg, const char *usage)
{
    fprintf(stderr, "aflsim: error: %s\n%s", msg, usage);
    return 2;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* Parses SCENARIO and the options shared by run and check. */
typedef struct {
    const char *scenario, *out;
    int force, threads, progress, print;
} cli_opts;

static int parse_opts(int argc, char **argv, afl_config *cfg, cli_opts *o, const char *usage,
                      afl_err *err, int allow_run_opts)
{
    o->progress = -1;
    /* first pass: the scenario file, so that overrides apply on top of it */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--threads") == 0) {
            i++;
            continue;
        }
        if (a[0] == '-')
            continue;
        if (o->scenario)
            return afl_err_set(err, AFL_EINPUT, "unexpected argument '%s' (one scenario file only)",
                               a);
        o->scenario = a;
    }
    if (!o->scenario)
        return afl_err_set(err, AFL_EINPUT, "no scenario file given\n%s", usage);
    int rc = afl_config_load_file(cfg, o->scenario, err);
    if (rc)
        return rc;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            continue;
        int has_val = i + 1 < argc;
        if (strcmp(a, "--set") == 0) {
            if (!has_val)
                return afl_err_set(err, AFL_EINPUT, "--set needs section.key=value");
            if ((rc = afl_config_override(cfg, argv[++i], err)))
                return rc;
        } else if (strncmp(a, "--set=", 6) == 0) {
            if ((rc = afl_config_override(cfg, a + 6, err)))
                return rc;
        } else if (allow_run_opts && strcmp(a, "--out") == 0) {
            if (!has_val)
                return afl_err_set(err, AFL_EINPUT, "--out needs a folder");
            o->out = argv[++i];
        } else if (allow_run_opts && strcmp(a, "--threads") == 0) {
            char *end;
            long t = has_val ? strtol(argv[i + 1], &end, 10) : 0;
            if (!has_val || *end || t < 1 || t > 1024)
                return afl_err_set(err, AFL_EINPUT, "--threads needs an integer in [1, 1024]");
            o->threads = (int)t;
            i++;
        } else if (allow_run_opts && strcmp(a, "--force") == 0) {
            o->force = 1;
        } else if (allow_run_opts && strcmp(a, "--progress") == 0) {
            o->progress = 1;
        } else if (allow_run_opts && strcmp(a, "--no-progress") == 0) {
            o->progress = 0;
        } else if (!allow_run_opts && strcmp(a, "--print") == 0) {
            o->print = 1;
        } else {
            return afl_err_set(err, AFL_EINPUT, "unknown option '%s'\n%s", a, usage);
        }
    }
    return afl_config_resolve(cfg, err);
}

static int cmd_run(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_run, stdout);
        return 0;
    }
    afl_err err = {0};
    afl_config *cfg = afl_config_new();
    cli_opts o = {0};
    int rc = cfg ? parse_opts(argc, argv, cfg, &o, usage_run, &err, 1)
                 : afl_err_set(&err, AFL_ENOMEM, "out of memory");
    if (rc) {
        afl_config_free(cfg);
        return fail(&err);
    }
    afl_run_opts ro = {o.out, o.force, o.threads, o.progress};
    afl_run_result res;
    memset(&res, 0, sizeof res);
    rc = afl_run(cfg, &ro, &res, &err);
    afl_config_free(cfg);
    if (rc && rc != AFL_ENUMERIC)
        return fail(&err);
    printf("run folder:       %s\n", res.out_dir);
    printf("rounds:           %lld (model versions %lld, simulated time %g)\n",
           (long long)res.rounds, (long long)res.versions, res.sim_time);
    if (res.final_test_error == res.final_test_error)
        printf("final test error: %.4f (test loss %.4f)\n", res.final_test_error,
               res.final_test_loss);
    else
        printf("final test error: n/a (nothing was evaluated)\n");
    printf("wall time:        %.1f s (%.0f rounds/s)\n", res.wall_seconds,
           res.wall_seconds > 0 ? (double)res.rounds / res.wall_seconds : 0.0);
    if (rc)
        return fail(&err);
    if (strcmp(res.status, "ok") != 0)
        printf("note:             %s\n", res.status);
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_check, stdout);
        return 0;
    }
    afl_err err = {0};
    afl_config *cfg = afl_config_new();
    cli_opts o = {0};
    int rc = cfg ? parse_opts(argc, argv, cfg, &o, usage_check, &err, 0)
                 : afl_err_set(&err, AFL_ENOMEM, "out of memory");
    if (!rc && o.print)
        rc = afl_config_write(cfg, "/dev/stdout", &err);
    afl_config_free(cfg);
    if (rc)
        return fail(&err);
    if (!o.print)
        printf("%s: ok\n", o.scenario);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    afl_err err = {0};
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("aflsim %s\n", AFL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "list") == 0) {
        if (wants_help(argc - 2, argv + 2)) {
            fputs(usage_list, stdout);
            return 0;
        }
        if (argc != 3)
            return usage_error("list takes one kind", usage_list);
        return afl_list(stdout, argv[2], &err) ? fail(&err) : 0;
    }
    if (strcmp(cmd, "describe") == 0) {
        if (wants_help(argc - 2, argv + 2)) {
            fputs(usage_describe, stdout);
            return 0;
        }
        if (argc != 4)
            return usage_error("describe takes a kind and a name", usage_describe);
        return afl_describe(stdout, argv[2], argv[3], &err) ? fail(&err) : 0;
    }
    if (strcmp(cmd, "doc") == 0) {
        afl_doc_markdown(stdout);
        return 0;
    }
    fprintf(stderr, "aflsim: error: unknown command '%s'\n%s", cmd, usage_main);
    return 2;
}
