/* bench/bench.c - aflsim-bench: how close aflsim runs to this machine's limits.
 *
 * Measures the machine's own limits (sgemm peak at the CNN's shapes, memory bandwidth), then
 * the CNN training step, the evaluation, every registered defense's server step, the engine
 * alone, the paper setting end to end and PyTorch side by side, and prints one table with
 * each figure's target, its bound on this machine and the fraction of that bound achieved
 * (docs/performance.md explains every row). The table is also written to bench/results.csv.
 *
 * usage: aflsim-bench [--quick] [--only SECTION[,...]] [--threads N] [--csv PATH] [--defenses
 * NAME,...] A benchmark, not a test: it never fails on a missed target (exit status 0 unless it
 * could not run at all).
 */
#define _GNU_SOURCE /* nftw FTW_DEPTH | FTW_PHYS */
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/child.h"
#include "bench/table.h"
#include "models/net.h"
#include "sim/components.h"
#include "sim/config.h"

#ifndef AFL_SOURCE_ROOT
#define AFL_SOURCE_ROOT "."
#endif

static const struct {
    const char *name;
    unsigned bit;
} sections[] = {{"limits", SEC_LIMITS}, {"train", SEC_TRAIN},   {"eval", SEC_EVAL},
                {"server", SEC_SERVER}, {"engine", SEC_ENGINE}, {"e2e", SEC_E2E},
                {"torch", SEC_TORCH}};

static const char *usage =
    "usage: aflsim-bench [--quick] [--only SECTION[,SECTION...]] [--threads N] [--csv PATH]\n"
    "                    [--defenses NAME[,NAME...]]\n"
    "  --quick     shorter measurements; the end-to-end runs do 2,000 rounds and extrapolate\n"
    "  --only      sections: limits, train, eval, server, engine, e2e, torch\n"
    "  --threads   threads for the evaluation, the server step (SecureAFL) and the end-to-end\n"
    "              runs (default: online CPUs)\n"
    "  --csv       where to write the table (default: bench/results.csv in the source tree)\n"
    "  --defenses  time only these defenses in the server section (default: every registered "
    "one)\n";

void bench_progress(const bench_ctx *c, const char *fmt, ...)
{
    if (!c->tty)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("aflsim-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int bench_load_data(bench_ctx *c)
{
    if (c->have_data)
        return 1;
    afl_err err = {0};
    afl_config *cfg = afl_config_new();
    int rc = !cfg || afl_config_override(cfg, "data.dataset=fashion-mnist", &err) ||
             afl_config_resolve(cfg, &err);
    if (!rc)
        rc = afl_dataset_load(cfg, 1, &c->train, &c->test, &err);
    if (!rc)
        rc = afl_normalize(AFL_NORM_STANDARDIZE, &c->train, &c->test, NULL, &err);
    afl_config_free(cfg);
    if (rc || c->train.dim != 784 || c->test.n < 10000) {
        afl_dataset_free(&c->train);
        afl_dataset_free(&c->test);
        bench_progress(c, "Fashion-MNIST not loaded (%s): random images instead", err.msg);
        return 0;
    }
    return c->have_data = 1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static unsigned parse_only(const char *list)
{
    unsigned bits = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        unsigned b = 0;
        for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
            if (strcmp(tok, sections[i].name) == 0)
                b = sections[i].bit;
        if (!b) {
            fprintf(stderr, "aflsim-bench: unknown section '%s'\n%s", tok, usage);
            exit(2);
        }
        bits |= b;
    }
    return bits;
}

/* Which library the aflsim command binds cblas_sgemm to (LD_DEBUG=bindings), or "?". */
static void aflsim_binding(const bench_ctx *c, char *out, size_t len)
{
    snprintf(out, len, "?");
    if (access(c->aflsim, X_OK) != 0)
        return;
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "LD_DEBUG=bindings LD_BIND_NOW=1 '%s' list models 2>&1 >/dev/null",
             c->aflsim);
    FILE *p = popen(cmd, "r");
    char line[1024];
    while (p && fgets(line, sizeof line, p)) {
        const char *to = strstr(line, " to ");
        if (!strstr(line, "`cblas_sgemm'") || !to)
            continue;
        to += 4;
        size_t n = strcspn(to, " [");
        snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), to);
    }
    if (p)
        pclose(p);
}

static void header(const bench_ctx *c)
{
    char cpu[256] = "?", line[512], bind[1024];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "model name : %255[^\n]", cpu) == 1)
            break;
    if (f)
        fclose(f);
    struct utsname u;
    uname(&u);
    time_t now = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M", localtime(&now));
    aflsim_binding(c, bind, sizeof bind);
    const char *provider = gemm_provider();
    printf("aflsim-bench %s%s, %s\n", AFL_VERSION, c->quick ? " --quick" : "", date);
    printf("machine:      %s, %ld online CPUs, %s %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
           u.sysname, u.release);
    printf("BLAS:         %s\n", afl_blas_info());
    printf("cblas_sgemm:  %s (this benchmark); %s (the aflsim command)%s\n", provider, bind,
           strstr(provider, "gslcblas") || strstr(bind, "gslcblas")
               ? "  WARNING: GSL's reference CBLAS, not OpenBLAS (DESIGN.md section 11)"
               : "");
    const char *ct = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    printf("environment:  OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s; threads for evaluation, "
           "server step and end-to-end runs: %d\n",
           ct ? ct : "(unset)", l2 ? l2 : "(unset)", c->threads);
    printf("columns:      limit = this machine's bound for the figure (same unit); ratio = "
           "fraction of it achieved (1 = at the limit)\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--measure") == 0)
        return spawn_measure_main(argc - 2, argv + 2);

    static bench_ctx ctx;
    bench_ctx *c = &ctx;
    c->selected = SEC_ALL;
    c->threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    c->tty = isatty(2);
    c->src_dir = AFL_SOURCE_ROOT;
    const char *csv = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--quick") == 0) {
            c->quick = 1;
        } else if (strcmp(a, "--only") == 0 && more) {
            c->selected = parse_only(argv[++i]);
        } else if (strcmp(a, "--threads") == 0 && more) {
            c->threads = atoi(argv[++i]);
            if (c->threads < 1 || c->threads > 64) {
                fprintf(stderr, "aflsim-bench: --threads needs 1..64\n");
                return 2;
            }
        } else if (strcmp(a, "--defenses") == 0 && more) {
            c->defenses = argv[++i];
        } else if (strcmp(a, "--csv") == 0 && more) {
            csv = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "aflsim-bench: unknown argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (c->threads < 1)
        c->threads = 1;
    char csv_default[4200];
    snprintf(csv_default, sizeof csv_default, "%s/bench/results.csv", c->src_dir);
    if (!csv)
        csv = csv_default;

    ssize_t n = readlink("/proc/self/exe", c->self, sizeof c->self - 1);
    if (n <= 0) {
        fprintf(stderr, "aflsim-bench: cannot find its own executable\n");
        return 1;
    }
    c->self[n] = '\0';
    memcpy(c->aflsim, c->self, (size_t)n + 1);
    char *slash = strrchr(c->aflsim, '/');
    if (slash && (size_t)(slash + 1 - c->aflsim) + sizeof "aflsim" <= sizeof c->aflsim)
        memcpy(slash + 1, "aflsim", sizeof "aflsim");
    const char *tmpdir = getenv("TMPDIR");
    snprintf(c->tmp, sizeof c->tmp, "%s/aflsim-bench.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(c->tmp)) {
        fprintf(stderr, "aflsim-bench: cannot create a scratch folder in %s\n",
                tmpdir && *tmpdir ? tmpdir : "/tmp");
        return 1;
    }

    c->sgemm_1024[0] = c->sgemm_1024[1] = c->bw[0] = c->bw[1] = NAN;
    c->step_gemm_s[0] = c->step_gemm_s[1] = c->eval_gemm_s[0] = c->eval_gemm_s[1] = NAN;
    c->step_s = c->eval_s[0] = c->eval_s[1] = NAN;
    c->server_asyncsgd_s = c->server_secureafl_s = NAN;

    header(c);
    unsigned s = c->selected;
    /* what the selected sections need from the others (measured without rows) */
    int need_limits = s & (SEC_LIMITS | SEC_TRAIN | SEC_EVAL | SEC_SERVER);
    int need_train = s & (SEC_TRAIN | SEC_TORCH);
    int need_eval = s & (SEC_EVAL | SEC_TORCH);
    if (need_train || need_eval)
        bench_load_data(c);
    if (need_limits)
        bench_limits(c, !!(s & SEC_LIMITS));
    if (need_train)
        bench_train(c, !!(s & SEC_TRAIN));
    if (need_eval)
        bench_eval(c, !!(s & SEC_EVAL));
    if (s & SEC_SERVER)
        bench_server(c, 1);
    if (s & SEC_ENGINE)
        bench_engine(c, 1);
    if (s & SEC_E2E)
        bench_e2e(c, 1);
    if (s & SEC_TORCH)
        bench_torch(c, 1);

    int met, missed;
    table_counts(&met, &missed);
    printf("\ntargets: %d met, %d missed%s\n", met, missed,
           c->quick ? " (--quick: shorter, noisier measurements)" : "");
    if (table_write_csv(csv) != 0)
        fprintf(stderr, "aflsim-bench: cannot write %s\n", csv);
    else
        printf("table written to %s\n", csv);
    nftw(c->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    afl_dataset_free(&c->train);
    afl_dataset_free(&c->test);
    return 0;
}
