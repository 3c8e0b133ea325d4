/* sim/sweep_mpi.c - sweeps over the ranks of an MPI job (see sweep.h and docs/cluster.md).
 *
 * Rank 0 validates every point (afl_sweep_plan), then serves work requests: each rank,
 * rank 0 included, runs up to `jobs` points at a time, each in a child process forked
 * exactly as the local sweep forks it (same folder, run.log, summary.csv), and asks rank 0
 * for the next point whenever a slot is free.  Points are handed out one at a time in point
 * order, so ranks that drew cheap points simply come back sooner (dynamic load balancing).
 * Rank 0 rebuilds results.csv / table.csv / worst.csv with the local sweep's collect().
 *
 * Messages are three ints.  Worker -> 0, tag TAG_DONE: {point finished or -1, its exit
 * code, 1 if the worker wants another point}; tag TAG_ALIVE: a heartbeat sent every few
 * seconds while the worker's runs are going.  0 -> worker, tag TAG_WORK: {point or -1 = no
 * more work}.  Nobody ever blocks in MPI for long (Open MPI busy-polls inside blocking
 * calls, which would steal a core from the runs): waits are MPI_Iprobe + short sleeps.
 *
 * A rank that dies: Open MPI's mpirun aborts the whole job by default, and the runs of every
 * rank die with their rank (PR_SET_PDEATHSIG), so unfinished points have no summary.csv and
 * the next invocation runs them.  If the job survives (mpirun --enable-recovery, or a rank
 * that hangs), rank 0 declares a rank lost after `mpi_timeout` seconds without a message,
 * reports its points as missing and ends the job with MPI_Abort.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "sim/sweep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef AFL_HAVE_MPI

#include <mpi.h>
#include <limits.h>

#include "sim/fsutil.h"
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { TAG_DONE = 101, TAG_ALIVE = 102, TAG_WORK = 103 };

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int afl_sweep_mpi_built(void)
{
    return 1;
}

static int mpi_initialized_here;

/* Exit code of a finished child as the local sweep counts it. */
static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The local slots of a rank: up to `jobs` children. */
typedef struct {
    int jobs, running;
    pid_t *pid;
    int *pt;
} slots;

static int slots_init(slots *sl, int jobs)
{
    sl->jobs = jobs;
    sl->running = 0;
    sl->pid = calloc((size_t)jobs, sizeof *sl->pid);
    sl->pt = calloc((size_t)jobs, sizeof *sl->pt);
    return sl->pid && sl->pt ? 0 : -1;
}

static int slots_start(slots *sl, afl_sweep *s, int p, pid_t me, afl_err *err)
{
    for (int k = 0; k < sl->jobs; k++)
        if (!sl->pid[k]) {
            int rc = afl_sweep_spawn(s, p, me, &sl->pid[k], err);
            if (rc) {
                sl->pid[k] = 0;
                return rc;
            }
            sl->pt[k] = p;
            sl->running++;
            return AFL_OK;
        }
    return afl_err_set(err, AFL_EINTERNAL, "MPI sweep: no free slot for point %d", p);
}

/* A finished child, if any: 1 with *p and *code set, 0 if none has finished. */
static int slots_reap(slots *sl, int *p, int *code)
{
    for (int k = 0; k < sl->jobs; k++) {
        if (!sl->pid[k])
            continue;
        int st;
        pid_t r = waitpid(sl->pid[k], &st, WNOHANG);
        if (r == sl->pid[k] || (r < 0 && errno == ECHILD)) {
            *p = sl->pt[k];
            *code = r == sl->pid[k] ? exit_code(st) : 1;
            sl->pid[k] = 0;
            sl->running--;
            return 1;
        }
    }
    return 0;
}

/* On an error: never leave runs behind. */
static void slots_kill(slots *sl)
{
    for (int k = 0; sl->pid && k < sl->jobs; k++)
        if (sl->pid[k]) {
            kill(sl->pid[k], SIGKILL);
            waitpid(sl->pid[k], NULL, 0);
            sl->pid[k] = 0;
        }
    sl->running = 0;
}

static void slots_free(slots *sl)
{
    free(sl->pid);
    free(sl->pt);
}

static double timeout_of(const afl_sweep *s)
{
    return s->mpi_timeout > 0 ? s->mpi_timeout : 60.0;
}

/* Heartbeat period: a few per timeout, at most every 10 s. */
static double heartbeat_of(const afl_sweep *s)
{
    double h = timeout_of(s) / 6;
    return h < 0.2 ? 0.2 : h > 10 ? 10 : h;
}

/* ---- rank 0 ------------------------------------------------------------------------------ */

enum { P_TODO, P_RUNNING, P_DONE, P_FAILED };

static int coordinator(afl_sweep *s, afl_sweep_result *res, int size, afl_err *err)
{
    unsigned char *todo = NULL;
    int ntodo = 0;
    int rc = afl_sweep_plan(s, res, &todo, &ntodo, err);
    res->rank = 0;
    res->ranks = size;
    int np = res->points > 0 ? res->points : 0;
    int jobs = s->jobs > 0 ? s->jobs : 1;
    /* per point: state and owner rank; per rank: points in flight, stopped, lost, last seen */
    unsigned char *state = calloc((size_t)np + 1, 1);
    int *owner = calloc((size_t)np + 1, sizeof *owner);
    int *inflight = calloc((size_t)size, sizeof *inflight);
    int *ran = calloc((size_t)size, sizeof *ran);
    unsigned char *stopped = calloc((size_t)size, 1), *lost = calloc((size_t)size, 1);
    double *seen = calloc((size_t)size, sizeof *seen);
    slots sl = {0};
    if (!rc && (!state || !owner || !inflight || !ran || !stopped || !lost || !seen ||
                slots_init(&sl, jobs)))
        rc = afl_err_set(err, AFL_ENOMEM, "out of memory");
    /* a planning error still has to answer the workers (with "no more work") */
    int next = rc ? np : 0;
    double t0 = mono(), tmo = timeout_of(s), next_collect = 0, collect_cost = 0;
    for (int r = 0; r < size; r++)
        seen[r] = t0;
    int show = s->progress < 0 ? isatty(2) : s->progress, finished_now = 0, dirty = 0;
    pid_t me = getpid();
    for (;;) {
        int busy = 0;
        /* 1. the next todo point, or -1 */
        while (next < np && !todo[next])
            next++;
        /* 2. rank 0's own slots */
        while (!rc && sl.running < jobs && next < np) {
            int p = next++;
            if ((rc = slots_start(&sl, s, p, me, err)))
                break;
            state[p] = P_RUNNING;
            owner[p] = 0;
            ran[0]++;
            while (next < np && !todo[next])
                next++;
        }
        int p, code;
        while (slots_reap(&sl, &p, &code)) {
            int ok = afl_sweep_account(s, res, p, code);
            state[p] = ok ? P_DONE : P_FAILED;
            finished_now += ok;
            dirty = busy = 1;
        }
        /* 3. messages from the workers */
        for (;;) {
            int flag = 0;
            MPI_Status st;
            if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) !=
                    MPI_SUCCESS ||
                !flag)
                break;
            int msg[3] = {-1, 0, 0}, r = st.MPI_SOURCE;
            if (MPI_Recv(msg, 3, MPI_INT, r, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
                MPI_SUCCESS)
                break;
            busy = 1;
            seen[r] = mono();
            if (st.MPI_TAG != TAG_DONE || r <= 0 || r >= size)
                continue;
            int dp = msg[0];
            if (dp >= 0 && dp < np && state[dp] == P_RUNNING && owner[dp] == r) {
                int ok = afl_sweep_account(s, res, dp, msg[1]);
                state[dp] = ok ? P_DONE : P_FAILED;
                finished_now += ok;
                inflight[r]--;
                dirty = 1;
            }
            if (!msg[2])
                continue;
            int reply[3] = {-1, 0, 0};
            if (!rc && !lost[r] && next < np) {
                reply[0] = next++;
                state[reply[0]] = P_RUNNING;
                owner[reply[0]] = r;
                inflight[r]++;
                ran[r]++;
                while (next < np && !todo[next])
                    next++;
            } else {
                stopped[r] = 1;
            }
            if (MPI_Send(reply, 3, MPI_INT, r, TAG_WORK, MPI_COMM_WORLD) != MPI_SUCCESS &&
                reply[0] >= 0) {
                state[reply[0]] = P_TODO; /* reported missing below unless finished */
                lost[r] = 1;
                res->lost_ranks++;
            }
        }
        /* 4. silent ranks are lost: their points are missing */
        double now = mono();
        int open = 0;
        for (int r = 1; r < size; r++) {
            if (lost[r] || (stopped[r] && inflight[r] == 0))
                continue;
            if (now - seen[r] > tmo) {
                lost[r] = 1;
                res->lost_ranks++;
                continue;
            }
            open++;
        }
        /* 5. tables: after completed points, at most about once a second (collect reads every
           summary, so it is rate-limited to stay a small part of rank 0's time) */
        if (dirty && (now >= next_collect || (open == 0 && sl.running == 0))) {
            afl_err e2;
            double c0 = mono();
            afl_sweep_rebuild(s, res, &e2);
            collect_cost = mono() - c0;
            next_collect = mono() + (collect_cost * 5 > 1 ? collect_cost * 5 : 1);
            dirty = 0;
            if (show) {
                double el = now - t0, per = finished_now ? el / finished_now : 0;
                int left = ntodo - finished_now - res->failed, inflight_all = sl.running;
                for (int r = 1; r < size; r++)
                    inflight_all += lost[r] ? 0 : inflight[r];
                int slots_all = jobs * size;
                fprintf(stderr,
                        "\r  sweep (MPI, %d ranks): %d/%d points done, %d running, %d failed, "
                        "ETA %.0f s ",
                        size, res->skipped + finished_now, res->in_shard, inflight_all,
                        res->failed, per * left / (slots_all > 0 ? slots_all : 1));
            }
        }
        if (open == 0 && sl.running == 0 && (rc || next >= np))
            break;
        if (!busy)
            nap(5);
    }
    if (show)
        fprintf(stderr, "\n");
    slots_kill(&sl);
    /* points that went to a lost rank and did not finish */
    for (int p = 0; p < np; p++) {
        if (!todo || !todo[p] || state[p] == P_DONE || state[p] == P_FAILED)
            continue;
        if (state[p] == P_TODO && !res->lost_ranks)
            continue; /* never handed out: only after an error */
        char name[1024], path[PATH_MAX + 1100];
        afl_sweep_point_name(s, p, name, sizeof name);
        struct stat stt;
        if (snprintf(path, sizeof path, "%s/points/%s/summary.csv", s->out, name) <
                (int)sizeof path &&
            stat(path, &stt) == 0)
            continue; /* finished after all (a slow rank) */
        res->missing++;
        if (!res->first_missing[0] &&
            snprintf(res->first_missing, sizeof res->first_missing, "%.900s (rank %d)", name,
                     owner[p]) >= (int)sizeof res->first_missing)
            res->first_missing[sizeof res->first_missing - 1] = 0;
    }
    if (!rc)
        rc = afl_sweep_rebuild(s, res, err);
    /* how the points were spread */
    afl_buf sum = {0};
    afl_buf_printf(&sum, "%d rank%s x %d run%s at a time; points run per rank:", size,
                   size == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s");
    for (int r = 0; r < size && sum.len < sizeof res->mpi_summary; r++)
        afl_buf_printf(&sum, " %d%s", ran[r], lost[r] ? " (lost)" : "");
    if (sum.data) {
        size_t n = sum.len < sizeof res->mpi_summary ? sum.len : sizeof res->mpi_summary - 1;
        memcpy(res->mpi_summary, sum.data, n);
        res->mpi_summary[n] = 0;
    }
    afl_buf_free(&sum);
    slots_free(&sl);
    free(todo);
    free(state);
    free(owner);
    free(inflight);
    free(ran);
    free(stopped);
    free(lost);
    free(seen);
    return rc;
}

/* ---- ranks 1..N-1 ------------------------------------------------------------------------- */

typedef struct {
    int got_reply; /* rank 0 answered at least once (it has finished planning) */
    double last_send;
} worker_state;

/* Tells rank 0 that point `done` (or -1) ended with `code`; if `want`, waits for the next
 * point (-1 = no more work).  Returns -2 if rank 0 is gone. */
static int ask(afl_sweep *s, worker_state *ws, int done, int code, int want)
{
    int msg[3] = {done, code, want};
    if (MPI_Send(msg, 3, MPI_INT, 0, TAG_DONE, MPI_COMM_WORLD) != MPI_SUCCESS)
        return -2;
    ws->last_send = mono();
    if (!want)
        return -1;
    /* before the first answer rank 0 may still be validating a large sweep: no timeout */
    double t0 = mono(), tmo = timeout_of(s);
    for (;;) {
        int flag = 0;
        if (MPI_Iprobe(0, TAG_WORK, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -2;
        if (flag)
            break;
        if (ws->got_reply && mono() - t0 > tmo)
            return -2;
        nap(1);
    }
    int reply[3];
    if (MPI_Recv(reply, 3, MPI_INT, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
        MPI_SUCCESS)
        return -2;
    ws->got_reply = 1;
    return reply[0];
}

static int worker(afl_sweep *s, afl_sweep_result *res, int rank, int size, afl_err *err)
{
    memset(res, 0, sizeof *res);
    res->rank = rank;
    res->ranks = size;
    int jobs = s->jobs > 0 ? s->jobs : 1, rc = AFL_OK, more = 1;
    slots sl = {0};
    if (slots_init(&sl, jobs)) {
        slots_free(&sl);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    worker_state ws = {0, mono()};
    pid_t me = getpid();
    double hb = heartbeat_of(s);
    /* fill the slots, then one request per finished run */
    for (int k = 0; k < jobs && more; k++) {
        int p = ask(s, &ws, -1, 0, 1);
        if (p == -2) {
            res->lost_ranks = 1;
            more = 0;
        } else if (p < 0) {
            more = 0;
        } else if ((rc = slots_start(&sl, s, p, me, err))) {
            more = 0;
            ask(s, &ws, p, 1, 0); /* counted as failed on rank 0 */
        }
    }
    while (sl.running > 0) {
        int p, code;
        if (slots_reap(&sl, &p, &code)) {
            int q = ask(s, &ws, p, code, more && !rc && !res->lost_ranks);
            if (q == -2) {
                res->lost_ranks = 1;
                more = 0;
            } else if (q < 0) {
                more = 0;
            } else if ((rc = slots_start(&sl, s, q, me, err))) {
                more = 0;
                ask(s, &ws, q, 1, 0);
            }
            continue;
        }
        if (!res->lost_ranks && mono() - ws.last_send > hb) {
            int alive[3] = {-1, 0, 0};
            if (MPI_Send(alive, 3, MPI_INT, 0, TAG_ALIVE, MPI_COMM_WORLD) == MPI_SUCCESS)
                ws.last_send = mono();
        }
        nap(10);
    }
    slots_free(&sl);
    if (!rc && res->lost_ranks)
        rc = afl_err_set(err, AFL_EIO,
                         "MPI sweep: rank %d got no answer from rank 0 for %.0f s and stopped "
                         "(its finished points are kept; re-run the same command to resume)",
                         rank, timeout_of(s));
    return rc;
}

int afl_sweep_run_mpi(afl_sweep *s, afl_sweep_result *res, afl_err *err)
{
    memset(res, 0, sizeof *res);
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
            return afl_err_set(err, AFL_EIO, "MPI_Init failed");
        mpi_initialized_here = 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != 0)
        return worker(s, res, rank, size, err);
    /* runs inherit the rank's CPU binding (mpirun binds each rank to a core or socket by
       default): more runs than bound CPUs would share them */
    cpu_set_t set;
    int jobs = s->jobs > 0 ? s->jobs : 1, ncpu = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        ncpu = CPU_COUNT(&set);
    int rc = coordinator(s, res, size, err);
    if (ncpu > 0 && jobs > ncpu &&
        snprintf(res->mpi_warning, sizeof res->mpi_warning,
                 "rank 0 is bound to %d CPU%s but runs %d points at a time, so its runs share "
                 "them; start mpirun with --bind-to none (or --map-by ...:PE=%d)",
                 ncpu, ncpu == 1 ? "" : "s", jobs, jobs) >= (int)sizeof res->mpi_warning)
        res->mpi_warning[sizeof res->mpi_warning - 1] = 0;
    return rc;
}

void afl_sweep_mpi_end(const afl_sweep_result *res, int status)
{
    if (!mpi_initialized_here)
        return;
    fflush(NULL);
    if (res->lost_ranks)
        MPI_Abort(MPI_COMM_WORLD, status); /* MPI_Finalize would wait for the lost ranks */
    else
        MPI_Finalize();
    mpi_initialized_here = 0;
}

#else /* !AFL_HAVE_MPI */

int afl_sweep_mpi_built(void)
{
    return 0;
}

int afl_sweep_run_mpi(afl_sweep *s, afl_sweep_result *res, afl_err *err)
{
    (void)s;
    memset(res, 0, sizeof *res);
    return afl_err_set(err, AFL_EINPUT,
                       "this aflsim was built without MPI, so it cannot share a sweep among MPI "
                       "ranks; install Open MPI (apt-get install libopenmpi-dev openmpi-bin), "
                       "then reconfigure and rebuild (meson setup --reconfigure build -Dmpi=enabled "
                       "&& meson compile -C build); or run the sweep without mpirun (--no-mpi), or "
                       "split it with --shard I/N (docs/cluster.md)");
}

void afl_sweep_mpi_end(const afl_sweep_result *res, int status)
{
    (void)res;
    (void)status;
}

#endif

int afl_sweep_mpi_launched(int *rank)
{
    static const char *rank_vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
    static const char *any_vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE",
                                     "PMI_RANK"};
    int launched = 0;
    for (size_t i = 0; i < sizeof any_vars / sizeof any_vars[0]; i++)
        launched |= getenv(any_vars[i]) != NULL;
    if (rank) {
        *rank = 0;
        for (size_t i = 0; i < sizeof rank_vars / sizeof rank_vars[0]; i++) {
            const char *v = getenv(rank_vars[i]);
            if (v) {
                *rank = atoi(v);
                break;
            }
        }
    }
    return launched;
}
