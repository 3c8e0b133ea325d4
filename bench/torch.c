/* bench/torch.c - section 7: PyTorch side by side, in the same invocation.
 *
 * bench/torch_cnn.py builds the same CNN in PyTorch (Debian's python3-torch, run by
 * /usr/bin/python3, one thread) and measures the batch-32 training step and the 10k-image
 * evaluation; the rows give its figures and the ratio PyTorch / aflsim (how many times faster
 * aflsim is). Both run in the same environment (OPENBLAS_CORETYPE as set); PyTorch's
 * convolutions go through oneDNN, which picks its own instruction set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/child.h"
#include "bench/table.h"

#define PYTHON "/usr/bin/python3"

void bench_torch(bench_ctx *c, int report)
{
    if (!report)
        return;
    table_section("7. PyTorch side by side (same CNN, one thread)");
    char script[4200], log[4200], steps[16], evals[16];
    snprintf(script, sizeof script, "%s/bench/torch_cnn.py", c->src_dir);
    snprintf(log, sizeof log, "%s/torch.log", c->tmp);
    snprintf(steps, sizeof steps, "%d", c->quick ? 150 : 600);
    snprintf(evals, sizeof evals, "%d", c->quick ? 3 : 7);
    if (access(PYTHON, X_OK) != 0) {
        table_info("PyTorch not measured: %s not found. Install Debian's PyTorch with "
                   "`apt-get install python3-torch` and run again.",
                   PYTHON);
        return;
    }
    char *argv[] = {PYTHON, script, "--steps", steps, "--evals", evals, NULL};
    bench_progress(c, "torch: %s steps, %s evaluations", steps, evals);
    spawn_result r;
    if (spawn_measured(c->self, argv, log, &r) != 0 || r.exit_code != 0) {
        table_info("PyTorch run failed (see %s): skipped", log);
        return;
    }
    char version[64] = "", cap[64] = "?", line[512];
    double step_ms = NAN, eval_s = NAN;
    int threads = 0, batch = 0, missing = 0;
    long params = 0;
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "torch=missing") == 0)
            missing = 1;
        sscanf(line, "torch=%63s", version);
        sscanf(line, "cpu_capability=%63s", cap);
        sscanf(line, "threads=%d", &threads);
        sscanf(line, "params=%ld", &params);
        sscanf(line, "train_step_ms=%lf", &step_ms);
        sscanf(line, "eval_s=%lf", &eval_s);
        sscanf(line, "eval_batch=%d", &batch);
    }
    if (f)
        fclose(f);
    if (missing) {
        table_info("PyTorch not installed for %s: skipped. Install Debian's PyTorch with "
                   "`apt-get install python3-torch` and run again.",
                   PYTHON);
        return;
    }
    table_info("PyTorch %s, %d thread, CPU capability %s, %ld parameters", version, threads, cap,
               params);
    table_row("PyTorch step batch 32", step_ms, "ms", "", NAN, LOWER_BETTER,
              "median; forward + cross-entropy + backward, no optimizer step");
    table_row("PyTorch evaluate 10k images", eval_s, "s", "", NAN, LOWER_BETTER,
              "median; batches of %d, no_grad", batch);
    table_row("speedup step (PyTorch / aflsim)", step_ms / (1e3 * c->step_s), "x", ">= 3", NAN,
              HIGHER_BETTER, "aflsim %.3f ms vs PyTorch %.3f ms", 1e3 * c->step_s, step_ms);
    table_row("speedup evaluate 1 thread (PyTorch / aflsim)", eval_s / c->eval_s[0], "x", "", NAN,
              HIGHER_BETTER, "aflsim %.3f s vs PyTorch %.3f s", c->eval_s[0], eval_s);
}
