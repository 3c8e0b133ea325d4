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
#include <sys/types.h>

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
    uint64_t max_memory;  /* each run's --max-memory in bytes (0 = none; sim/memory.h) */
    double mpi_timeout;   /* MPI: seconds of silence after which a rank counts as lost (0 = 60) */
} afl_sweep;

typedef struct afl_sweep_result {
    int points, done, skipped, failed, in_shard;
    char first_failure[1024];
    /* MPI sweeps only (sim/sweep_mpi.c) */
    int rank, ranks;      /* this process's rank and the number of ranks */
    int missing;          /* points handed to a rank that was lost: neither finished nor failed */
    int lost_ranks;       /* ranks that stopped answering (or, on a worker: rank 0 did) */
    char first_missing[1024];
    char mpi_summary[512]; /* rank 0: how the points were spread over the ranks */
    char mpi_warning[512]; /* rank 0: a setup that works but is slow (CPU binding) */
} afl_sweep_result;

/* "section.key=v1,v2,..." (origin names where it came from, for messages). */
int afl_sweep_add_axis(afl_sweep *s, const char *spec, const char *origin, afl_err *err);
/* "1-5", "1,3,7" or "2-4,9". */
int afl_sweep_set_seeds(afl_sweep *s, const char *spec, const char *origin, afl_err *err);
/* Reads the [sweep] section of the scenario file (keys: seeds, jobs, and
 * section.key = v1,v2,... axes); command-line axes given before are kept and
 * an axis on the command line replaces the file's axis of the same key. */
int afl_sweep_load_section(afl_sweep *s, afl_err *err);
/* Resolves every point's configuration (nothing is written); *points = their number. */
int afl_sweep_validate(afl_sweep *s, int *points, afl_err *err);
/* Validates every point, then runs the unfinished ones. */
int afl_sweep_run(afl_sweep *s, afl_sweep_result *res, afl_err *err);
/* Rebuilds results.csv / table.csv / worst.csv from whatever points are finished. */
int afl_sweep_collect(afl_sweep *s, afl_sweep_result *res, afl_err *err);
void afl_sweep_free(afl_sweep *s);

/* ---- MPI sweeps (sim/sweep_mpi.c; docs/cluster.md) ------------------------------------- */

/* 1 if this aflsim was built with MPI (meson option mpi, AFL_HAVE_MPI). */
int afl_sweep_mpi_built(void);
/* 1 if the environment says an MPI launcher started this process (mpirun, mpiexec, srun
 * with PMI/PMIx); *rank receives the launcher's rank when it says (else 0). */
int afl_sweep_mpi_launched(int *rank);
/* Runs the sweep over the ranks of MPI_COMM_WORLD: rank 0 validates every point, hands the
 * unfinished ones out one at a time to idle ranks (itself included), and rebuilds
 * results.csv / table.csv / worst.csv; each rank runs up to s->jobs points at once.  Calls
 * MPI_Init; afl_sweep_mpi_end must follow.  Without MPI: an error saying how to enable it. */
int afl_sweep_run_mpi(afl_sweep *s, afl_sweep_result *res, afl_err *err);
/* MPI_Finalize, or MPI_Abort(status) when a rank was lost (MPI_Finalize would wait for it). */
void afl_sweep_mpi_end(const afl_sweep_result *res, int status);

/* ---- pieces of the local runner that the MPI runner shares (not for other callers) ------ */

/* Validates every point of the shard (resets res; fills points, in_shard, skipped) and
 * returns in *todo (np bytes, caller frees) the unfinished ones. */
int afl_sweep_plan(afl_sweep *s, afl_sweep_result *res, unsigned char **todo, int *ntodo,
                   afl_err *err);
/* Creates the point's folder and forks a child that runs point p there (run.log, dies with
 * `parent`), exactly as the local sweep does. */
int afl_sweep_spawn(afl_sweep *s, int p, pid_t parent, pid_t *pid, afl_err *err);
/* Counts a run's exit code (0 or 3 finished, else failed); 1 if it finished. */
int afl_sweep_account(afl_sweep *s, afl_sweep_result *res, int p, int code);
void afl_sweep_point_name(const afl_sweep *s, int p, char *buf, size_t n);
/* Rebuilds the tables (collect) and sets res->done. */
int afl_sweep_rebuild(afl_sweep *s, afl_sweep_result *res, afl_err *err);

#endif
