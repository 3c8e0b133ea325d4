/* sim/main.c - the `aflsim` command.  The only place that prints errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/config.h"
#include "sim/describe.h"
#include "sim/memory.h"
#include "sim/run.h"
#include "sim/pivot.h"
#include "sim/sweep.h"

static const char *usage_main =
    "aflsim " AFL_VERSION " - asynchronous federated learning under poisoning attacks\n"
    "\n"
    "usage:\n"
    "  aflsim run SCENARIO [--set section.key=value]... [--out DIR] [--force] [--threads N]\n"
    "             [--max-memory SIZE] [--progress|--no-progress]\n"
    "  aflsim check SCENARIO [--set section.key=value]... [--print]\n"
    "  aflsim sweep SCENARIO --grid section.key=v1,v2,... [--grid ...] [--seeds 1-5]\n"
    "               [--jobs N] [--set section.key=value]... [--out DIR]\n"
    "  aflsim table SWEEP_DIR [--rows defense.type] [--cols attack.type] [--metric M]\n"
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
    "       aflsim run --resume RUN_FOLDER [--threads N] [--progress]\n"
    "  --set section.key=value  override a key (repeatable; later wins)\n"
    "  --out DIR                run folder (default runs/<scenario name>)\n"
    "  --force                  overwrite a folder that already holds a run\n"
    "  --threads N              worker threads (results are identical for any N; default 1)\n"
    "  --max-memory SIZE        refuse to start when the run's memory estimate exceeds SIZE\n"
    "                           (e.g. 2G, 500M; it is always checked against MemAvailable)\n"
    "  --progress / --no-progress  force the progress line on or off (default: on a terminal)\n"
    "  --resume                 continue a killed run from its checkpoint.ckpt (written every\n"
    "                           output.checkpoint_every versions); the CSVs come out identical\n"
    "                           to an uninterrupted run's.  Give the run folder (its\n"
    "                           config.ini is the scenario) or the original command + --resume\n";

static const char *usage_check =
    "usage: aflsim check SCENARIO [--set section.key=value]... [--print]\n"
    "  Validates the scenario and overrides; --print writes the resolved configuration.\n";

static const char *usage_sweep =
    "usage: aflsim sweep SCENARIO [options]\n"
    "  --grid section.key=v1,v2,...  an axis (repeatable); the sweep is the Cartesian product\n"
    "  --seeds 1-5 | 1,3,7         seeds, innermost axis (default: the scenario's sim.seed)\n"
    "  --jobs N                    runs in parallel (default: number of cores)\n"
    "  --set section.key=value     override for every point (repeatable)\n"
    "  --out DIR                   sweep folder (default runs/<scenario name>-sweep)\n"
    "  --shard I/N                 run only points p with p mod N = I (job arrays)\n"
    "  --max-memory SIZE           refuse a run whose memory estimate exceeds SIZE (e.g. 2G)\n"
    "  --collect                   only rebuild results.csv / table.csv from finished points\n"
    "  --progress / --no-progress  progress line on stderr (default: on a terminal)\n"
    "  --mpi / --no-mpi            share the points among MPI ranks (default: when started by\n"
    "                              mpirun/srun); --jobs is then per rank (default 1)\n"
    "  --mpi-timeout S             MPI: a rank silent for S seconds is lost (default 60)\n"
    "A [sweep] section in the scenario may hold seeds = 1-5, jobs = N and axes written\n"
    "section.key = v1,v2,...; command-line axes replace the file's for the same key.\n"
    "Running the same command again resumes: finished points are skipped.\n"
    "Writes DIR/points/<point>/ (one run folder each), DIR/results.csv (one row per run),\n"
    "DIR/table.csv (mean/std/n over seeds) and, with an attack.type axis, DIR/worst.csv.\n"
    "On a cluster: mpirun -n N aflsim sweep ..., or a Slurm array (scripts/slurm-sweep);\n"
    "see docs/cluster.md.\n";

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
    int force, threads, progress, print, resume;
    char scenario_buf[4096];
    uint64_t max_memory;
    int sweep_keys;          /* keys of the scenario's [sweep] section (taken out of cfg) */
    char sweep_origin[1100]; /* file:line of its first key */
} cli_opts;

static int note_sweep_key(void *user, const char *key, const char *value, const char *origin)
{
    (void)key, (void)value;
    cli_opts *o = user;
    if (o->sweep_keys++ == 0)
        snprintf(o->sweep_origin, sizeof o->sweep_origin, "%s", origin);
    return 0;
}

static int parse_opts(int argc, char **argv, afl_config *cfg, cli_opts *o, const char *usage,
                      afl_err *err, int allow_run_opts)
{
    o->progress = -1;
    /* first pass: the scenario file, so that overrides apply on top of it */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--set") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--threads") == 0 ||
            strcmp(a, "--max-memory") == 0) {
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
    struct stat st;
    int is_dir = stat(o->scenario, &st) == 0 && S_ISDIR(st.st_mode);
    for (int i = 0; allow_run_opts && i < argc; i++)
        if (strcmp(argv[i], "--resume") == 0)
            o->resume = 1;
    if (is_dir && o->resume) {
        /* a run folder: its resolved config.ini is the scenario, the folder the output */
        const char *dir = o->scenario;
        if (snprintf(o->scenario_buf, sizeof o->scenario_buf, "%s/config.ini", dir) >=
            (int)sizeof o->scenario_buf)
            return afl_err_set(err, AFL_EINPUT, "path too long: %s", dir);
        if (stat(o->scenario_buf, &st) != 0)
            return afl_err_set(err, AFL_EINPUT,
                               "cannot resume %s: it holds no config.ini (not a run folder)", dir);
        o->scenario = o->scenario_buf;
        o->out = dir;
        for (int i = 0; i < argc; i++)
            if (strcmp(argv[i], "--set") == 0 || strncmp(argv[i], "--set=", 6) == 0 ||
                strcmp(argv[i], "--out") == 0)
                return afl_err_set(err, AFL_EINPUT,
                                   "--resume RUN_FOLDER takes the run's own config.ini; %s cannot "
                                   "change it (resume with the original command + --resume "
                                   "instead)",
                                   argv[i]);
    } else if (is_dir) {
        return afl_err_set(err, AFL_EINPUT,
                           "%s is a folder; give a scenario file (or --resume to continue the run "
                           "in that folder)",
                           o->scenario);
    }
    int rc = afl_config_load_file(cfg, o->scenario, err);
    if (rc)
        return rc;
    /* a sweep scenario (scenarios/paper/): check validates its points; run refers to sweep */
    afl_config_take_section(cfg, "sweep", note_sweep_key, o);
    if (o->sweep_keys && allow_run_opts)
        return afl_err_set(err, AFL_EINPUT,
                           "%s: [sweep]: %s describes a sweep; run it with `aflsim sweep %s` (or "
                           "remove its [sweep] section to run its base point alone)",
                           o->sweep_origin, o->scenario, o->scenario);
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
        } else if (allow_run_opts && strcmp(a, "--max-memory") == 0) {
            if (!has_val || afl_mem_parse_size(argv[i + 1], &o->max_memory) != 0)
                return afl_err_set(err, AFL_EINPUT,
                                   "--max-memory needs a size such as 2G, 500M or 1.5G");
            i++;
        } else if (allow_run_opts && strcmp(a, "--force") == 0) {
            o->force = 1;
        } else if (allow_run_opts && strcmp(a, "--resume") == 0) {
            o->resume = 1;
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
    if (o.resume && o.force) {
        afl_config_free(cfg);
        afl_err_set(&err, AFL_EINPUT, "--resume and --force exclude each other");
        return fail(&err);
    }
    if (o.resume) {
        /* resuming a run that already finished is not an error: there is nothing left */
        char sp[4200];
        struct stat st;
        if (o.out)
            snprintf(sp, sizeof sp, "%s/summary.csv", o.out);
        else
            snprintf(sp, sizeof sp, "runs/%s/summary.csv", afl_config_name(cfg));
        if (stat(sp, &st) == 0) {
            afl_config_free(cfg);
            *strrchr(sp, '/') = 0;
            /* a kill between writing summary.csv and removing the checkpoint leaves one
             * behind in a finished run: it has nothing left to resume */
            char cp[4300];
            snprintf(cp, sizeof cp, "%s/checkpoint.ckpt", sp);
            unlink(cp);
            printf("run folder:       %s\nnothing to resume: the run already finished\n", sp);
            return 0;
        }
    }
    afl_run_opts ro = {o.out, o.force, o.threads, o.progress, o.max_memory, o.resume};
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
    if (!rc && o.print) {
        /* not afl_config_write: its atomic rename would replace /dev/stdout itself */
        char *text = NULL;
        size_t len = 0;
        rc = afl_config_format(cfg, &text, &len, &err);
        if (!rc && (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0))
            rc = afl_err_set(&err, AFL_EIO, "cannot write the configuration to standard output: %s",
                             strerror(errno));
        free(text);
    }
    afl_config_free(cfg);
    int points = 0;
    if (!rc && o.sweep_keys) {
        /* every point of the sweep, with the same --set overrides */
        afl_sweep s = {0};
        const char **sets = calloc((size_t)argc + 1, sizeof *sets);
        rc = sets ? AFL_OK : afl_err_set(&err, AFL_ENOMEM, "out of memory");
        for (int i = 0; !rc && i < argc; i++) {
            if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
                sets[s.nsets++] = argv[++i];
            else if (strncmp(argv[i], "--set=", 6) == 0)
                sets[s.nsets++] = argv[i] + 6;
        }
        s.scenario = o.scenario;
        s.sets = sets;
        if (!rc)
            rc = afl_sweep_load_section(&s, &err);
        if (!rc)
            rc = afl_sweep_validate(&s, &points, &err);
        afl_sweep_free(&s);
        free(sets);
    }
    if (rc)
        return fail(&err);
    if (!o.print && o.sweep_keys)
        printf("%s: ok (a sweep of %d points: run it with aflsim sweep)\n", o.scenario, points);
    else if (!o.print)
        printf("%s: ok\n", o.scenario);
    return 0;
}

static int cmd_sweep(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(usage_sweep, stdout);
        return 0;
    }
    afl_err err = {0};
    afl_sweep s = {0};
    s.progress = -1;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    static char outbuf[4096];
    int collect_only = 0, want_mpi = -1, jobs_cli = 0;
    int rc = sets ? AFL_OK : afl_err_set(&err, AFL_ENOMEM, "out of memory");
    for (int i = 0; i < argc && !rc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--grid") == 0 && has)
            rc = afl_sweep_add_axis(&s, argv[++i], "--grid", &err);
        else if (strcmp(a, "--seeds") == 0 && has)
            rc = afl_sweep_set_seeds(&s, argv[++i], "--seeds", &err);
        else if (strcmp(a, "--set") == 0 && has)
            sets[s.nsets++] = argv[++i];
        else if (strcmp(a, "--out") == 0 && has)
            s.out = argv[++i];
        else if (strcmp(a, "--jobs") == 0 && has) {
            char *end;
            long j = strtol(argv[++i], &end, 10);
            if (*end || j < 1 || j > 4096)
                rc = afl_err_set(&err, AFL_EINPUT, "--jobs needs an integer in [1, 4096]");
            s.jobs = (int)j;
            jobs_cli = 1;
        } else if (strcmp(a, "--shard") == 0 && has) {
            int si, sn;
            char extra;
            if (sscanf(argv[++i], "%d/%d%c", &si, &sn, &extra) != 2 || sn < 1 || si < 0 ||
                si >= sn)
                rc = afl_err_set(&err, AFL_EINPUT,
                                 "--shard '%s': expected I/N with 0 <= I < N (e.g. 3/10)", argv[i]);
            s.shard_i = si;
            s.shard_n = sn;
        } else if (strcmp(a, "--max-memory") == 0 && has) {
            if (afl_mem_parse_size(argv[++i], &s.max_memory) != 0)
                rc = afl_err_set(&err, AFL_EINPUT,
                                 "--max-memory needs a size such as 2G, 500M or 1.5G");
        } else if (strcmp(a, "--collect") == 0)
            collect_only = 1;
        else if (strcmp(a, "--progress") == 0)
            s.progress = 1;
        else if (strcmp(a, "--no-progress") == 0)
            s.progress = 0;
        else if (strcmp(a, "--mpi") == 0)
            want_mpi = 1;
        else if (strcmp(a, "--no-mpi") == 0)
            want_mpi = 0;
        else if (strcmp(a, "--mpi-timeout") == 0 && has) {
            char *end;
            double t = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(t >= 1 && t <= 1e6))
                rc = afl_err_set(&err, AFL_EINPUT,
                                 "--mpi-timeout '%s': expected seconds in [1, 1000000]", argv[i]);
            s.mpi_timeout = t;
        } else if (a[0] == '-')
            rc = afl_err_set(&err, AFL_EINPUT, "unknown or incomplete option '%s'\n%s", a,
                             usage_sweep);
        else if (s.scenario)
            rc = afl_err_set(&err, AFL_EINPUT, "unexpected argument '%s' (one scenario file only)", a);
        else
            s.scenario = a;
    }
    if (!rc && !s.scenario)
        rc = afl_err_set(&err, AFL_EINPUT, "no scenario file given\n%s", usage_sweep);
    s.sets = sets;
    if (!rc)
        rc = afl_sweep_load_section(&s, &err);
    if (!rc && !s.out) {
        const char *base = strrchr(s.scenario, '/');
        base = base ? base + 1 : s.scenario;
        snprintf(outbuf, sizeof outbuf, "runs/%.*s-sweep",
                 (int)(strstr(base, ".ini") ? (size_t)(strstr(base, ".ini") - base) : strlen(base)),
                 base);
        s.out = outbuf;
    }
    /* MPI: explicit --mpi / --no-mpi, else whenever an MPI launcher started us */
    int env_rank = 0, launched = afl_sweep_mpi_launched(&env_rank);
    int use_mpi = !collect_only && (want_mpi == 1 || (want_mpi < 0 && launched));
    if (launched && env_rank > 0 && (rc || collect_only)) {
        /* every rank parsed the same command: only rank 0 reports (or collects) */
        afl_sweep_free(&s);
        free(sets);
        return rc ? afl_err_exit_status(rc) : 0;
    }
    if (use_mpi && !jobs_cli)
        s.jobs = 1; /* ranks are the parallelism; --jobs K runs K points per rank */
    afl_sweep_result res;
    memset(&res, 0, sizeof res);
    if (!rc) {
        if (collect_only)
            rc = afl_sweep_collect(&s, &res, &err);
        else if (use_mpi)
            rc = afl_sweep_run_mpi(&s, &res, &err);
        else
            rc = afl_sweep_run(&s, &res, &err);
    }
    afl_sweep_free(&s);
    free(sets);
    int status = 0;
    if (rc) {
        status = fail(&err);
    } else if (collect_only) {
        printf("sweep folder: %s\n%d of %d points finished; results.csv and table.csv rebuilt\n",
               s.out, res.done, res.points);
    } else if (res.rank == 0) {
        printf("sweep folder: %s\n", s.out);
        printf("points:       %d (%d in this shard: %d already done, %d failed; %d finished in all)\n",
               res.points, res.in_shard, res.skipped, res.failed, res.done);
        if (use_mpi)
            printf("MPI:          %s\n", res.mpi_summary);
        if (res.mpi_warning[0])
            fprintf(stderr, "aflsim: warning: %s\n", res.mpi_warning);
        printf("results:      %s/results.csv, %s/table.csv\n", s.out, s.out);
        if (res.failed) {
            fprintf(stderr, "aflsim: error: %d point(s) failed, first: %s\n", res.failed,
                    res.first_failure);
            status = 2;
        }
        if (res.missing) {
            fprintf(stderr,
                    "aflsim: error: %d point(s) missing: %d rank(s) stopped answering while "
                    "running them (first: %s); re-run the same command to run them\n",
                    res.missing, res.lost_ranks, res.first_missing);
            status = 2;
        } else if (res.lost_ranks) {
            fprintf(stderr,
                    "aflsim: warning: %d rank(s) stopped answering (their points finished all "
                    "the same); ending the MPI job with MPI_Abort\n",
                    res.lost_ranks);
        }
    }
    if (use_mpi) {
        fflush(NULL);
        afl_sweep_mpi_end(&res, status);
    }
    return status;
}

static int dispatch(int argc, char **argv);

/* Output that could not be written (stdout on a full disk, /dev/full) is an error. */
int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "aflsim: error: cannot write to standard output: %s\n",
                strerror(errno ? errno : EIO));
        rc = 2;
    }
    return rc;
}

static int dispatch(int argc, char **argv)
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
    if (strcmp(cmd, "sweep") == 0)
        return cmd_sweep(argc - 2, argv + 2);
    if (strcmp(cmd, "table") == 0) {
        static const char *usage_table =
            "usage: aflsim table SWEEP_DIR [--rows KEY] [--cols KEY] [--metric NAME]\n"
            "  Pivots SWEEP_DIR/table.csv into SWEEP_DIR/table.md and paper_table.csv: rows KEY\n"
            "  (default defense.type) x columns KEY (default attack.type), cells = mean test\n"
            "  error, or TER / ASR for backdoor attacks; other axes give one table each.\n"
            "  --metric: another column of table.csv without _mean (e.g. wall_seconds, tpr).\n";
        if (wants_help(argc - 2, argv + 2)) {
            fputs(usage_table, stdout);
            return 0;
        }
        const char *dir = NULL, *rows = "defense.type", *cols = "attack.type", *metric = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
                rows = argv[++i];
            else if (strcmp(argv[i], "--cols") == 0 && i + 1 < argc)
                cols = argv[++i];
            else if (strcmp(argv[i], "--metric") == 0 && i + 1 < argc)
                metric = argv[++i];
            else if (argv[i][0] != '-' && !dir)
                dir = argv[i];
            else
                return usage_error("bad arguments", usage_table);
        }
        if (!dir)
            return usage_error("no sweep folder given", usage_table);
        if (afl_pivot(dir, rows, cols, metric, &err))
            return fail(&err);
        printf("wrote %s/table.md and %s/paper_table.csv\n", dir, dir);
        return 0;
    }
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
