/* sim/run.h - one simulation run: a resolved configuration in, a run folder out.
 *
 * Run folder: config.ini (resolved), partition.csv, clients.csv, events.csv, eval.csv,
 * summary.csv, and model.npy + model_layout.csv when output.save_model is set; while the
 * run is going, checkpoint.ckpt every output.checkpoint_every versions (removed at the end).
 */
#ifndef AFL_RUN_H
#define AFL_RUN_H

#include <stdint.h>

#include "sim/config.h"
#include "sim/err.h"

typedef struct afl_run_opts {
    const char *out_dir; /* NULL: runs/<scenario name> */
    int force;           /* write into a folder that already holds a run */
    int threads;         /* worker threads (results do not depend on it); 0 = 1 */
    int progress;        /* -1 auto (terminal only), 0 off, 1 on; overrides output.progress if >= 0 */
    uint64_t max_memory; /* refuse when the memory estimate exceeds this many bytes (0: only
                            the available memory limits it; sim/memory.h) */
    int resume;          /* continue the run in out_dir from its checkpoint.ckpt (aflsim run
                            --resume); without a checkpoint the run starts over there */
} afl_run_opts;

typedef struct afl_run_result {
    int64_t rounds, versions;
    double sim_time;
    double final_test_error, final_test_loss;
    double wall_seconds;
    char out_dir[4096];
    char status[256]; /* "ok", or what stopped the run */
} afl_run_result;

/* Runs the scenario.  cfg must be resolved.  Returns AFL_OK, or an error code
 * with err filled (AFL_ENUMERIC when the global model became non-finite; the
 * run folder is complete up to that event and summary.csv says so). */
int afl_run(const afl_config *cfg, const afl_run_opts *opts, afl_run_result *res, afl_err *err);

#endif
