/* sim/sweep.h - parameter sweeps: a scenario plus grid axes and seeds.
 *
 * Every point (the Cartesian product of the axes, seeds innermost) runs in its
 * own folder DIR/points/<name> in a child process (up to `jobs` at once).  A
 * point is finished when its summary.csv exists (written atomically at the end
 * of a run), so running the same command again skips finished points and
 * redoes the others: a killed sweep resumes and loses nothing.  results.csv
 * (one row per finished point, in point order) and table.csv (mean, std and n
 * over seeds) are rebuilt from the points' summaries and replaced atomically
 * after every completed point, so they never hold a partial or duplicate row.
 */
#ifndef AFL_SWEEP_H
#define AFL_SWEEP_H

#include <stdint.h>

#include "sim/err.h"

typedef struct afl_sweep_axis {
    char *section, *key;
    char **values;
    int nvalues;
} afl_sweep_axis;

typedef struct afl_sweep {
    const char *scenario;
    const char **sets; /* --set overrides applied to every point */
    int nsets;
    afl_sweep_axis *axes;
    int naxes;
    int64_t *seeds; /* empty: no seed axis (the scenario's sim.seed) */
    int nseeds;
    int jobs;       /* parallel runs (0 = number of cores) */
    const char *out;
    int progress;   /* -1 auto, 0 off, 1 on */
    int shard_i, shard_n; /* run only points p with p % shard_n == shard_i (shard_n 0 = all) */
} afl_sweep;

typedef struct afl_sweep_result {
    int points, done, skipped, failed, in_shard;
    char first_failure[1024];
} afl_sweep_result;

/* "section.key=v1,v2,..." (origin names where it came from, for messages). */
int afl_sweep_add_axis(afl_sweep *s, const char *spec, const char *origin, afl_err *err);
/* "1-5", "1,3,7" or "2-4,9". */
int afl_sweep_set_seeds(afl_sweep *s, const char *spec, const char *origin, afl_err *err);
/* Reads the [sweep] section of the scenario file (keys: seeds, jobs, and
 * section.key = v1,v2,... axes); command-line axes given before are kept and
 * an axis on the command line replaces the file's axis of the same key. */
int afl_sweep_load_section(afl_sweep *s, afl_err *err);
/* Validates every point, then runs the unfinished ones. */
int afl_sweep_run(afl_sweep *s, afl_sweep_result *res, afl_err *err);
/* Rebuilds results.csv / table.csv / worst.csv from whatever points are finished. */
int afl_sweep_collect(afl_sweep *s, afl_sweep_result *res, afl_err *err);
void afl_sweep_free(afl_sweep *s);

#endif
