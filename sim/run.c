/* sim/run.c - one simulation run: world setup, the event loop in both clock
 * modes, client updates, evaluation and logs (DESIGN.md sections 2, 3, 6).
 *
 * Round mode follows the delay model of AFLGuard / Zeno++ / SecureAFL
 * (SecureAFL paper section 6.1, specs/secureafl.md section 4.3): each round one
 * client chosen uniformly at random computes its update on the global model of
 * tau versions ago, tau ~ U{0..min(tau_max, version)}.  Time mode is a
 * continuous-time discrete-event simulation: staleness emerges from version
 * counters.
 */
#include "sim/run.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attacks/attack.h"
#include "data/dataset.h"
#include "data/partition.h"
#include "defenses/defense.h"
#include "models/net.h"
#include "models/npy.h"
#include "sim/ckpt.h"
#include "sim/components.h"
#include "sim/csvout.h"
#include "sim/evaluate.h"
#include "sim/fsutil.h"
#include "sim/memory.h"
#include "sim/progress.h"
#include "sim/queue.h"
#include "sim/rng.h"
#include "sim/trace.h"
#include "sim/trusted.h"
#include "sim/versions.h"

enum { EV_DONE = 1, EV_ONLINE = 2, EV_DROP = 3 };

typedef struct {
    afl_rng *rng; /* minibatch stream, created on first use */
    int *perm;    /* permutation of the client's local examples */
    int cursor;
    int busy;
    float speed; /* time mode */
    unsigned char straggler;
} client_state;

typedef struct run {
    const afl_config *cfg;
    int timing_only; /* model.type = none: synthetic updates, no data, no evaluation */
    afl_rng *synth_rng;
    uint64_t seed;
    int time_mode;
    int64_t rounds_target;
    double max_time;
    /* data */
    afl_dataset train, test;
    afl_partition part;
    int n, m; /* clients, malicious clients (ids 0..m-1) */
    client_state *cl;
    /* model */
    afl_net *net;
    size_t d;
    afl_ws *ws_train;
    afl_evaluator *evaluator;
    int threads;
    float *w, *g, *step, *wloc, *gtmp, *xb;
    int32_t *yb;
    int batch, local_steps;
    double lr, local_lr;
    afl_versions *vs;
    int64_t version, round;
    double now;
    /* components */
    const afl_defense_ops *def;
    void *def_state;
    afl_rng *def_rng;
    afl_trusted trusted;
    int have_trusted;
    /* detection counts: arrivals and rejections by malicious / benign senders */
    int64_t n_mal, n_ben, rej_mal, rej_ben;
    const afl_attack_ops *atk;
    void *atk_state;
    afl_rng *atk_rng;
    int64_t attack_start, attack_period;
    double attack_duty;
    /* attacker knowledge: rings of the last `window` genuine updates */
    int know_full, window;
    float *ring;         /* (window, d) */
    const float **known; /* (window) newest first, rebuilt per craft */
    int ring_len, ring_head;
    float *genuine; /* (d) copy of the crafting client's genuine update */
    /* timing attacks */
    double mal_rate;
    int mal_staleness; /* 0 uniform, 1 fresh, 2 max */
    afl_dist mal_speed, mal_compute, mal_network;
    int has_mal_speed, has_mal_compute, has_mal_network;
    double burst_period, burst_length;
    /* backdoor evaluation: triggered non-target test examples, labelled with the target */
    int backdoor;
    afl_dataset triggered;
    double last_asr;
    afl_norm_stats norm;
    /* time mode */
    afl_queue *q;
    afl_dist speed, compute, network;
    double slowdown;
    int concurrency, running, random_select;
    int *ready;
    int ready_head, ready_len;
    afl_trace trace;
    int have_trace, drop_offline;
    afl_rng *delay_rng, *sched_rng;
    int64_t jobs_dropped;
    /* outputs */
    char dir[PATH_MAX];
    afl_csv events, evalcsv;
    int write_events;
    int64_t eval_every;
    double eval_every_time, next_eval_time;
    int64_t last_eval_version, last_eval_round, eval_every_rounds;
    double last_err, last_loss;
    afl_progress prog;
    /* checkpoints (output.checkpoint_every / checkpoint_interval, aflsim run --resume) */
    int64_t ckpt_every;
    double ckpt_interval, ckpt_last_wall;
    int ckpt_due, resumed;
    int64_t events_len, eval_len; /* whole-row bytes of events.csv / eval.csv at the checkpoint */
    double wall_before;           /* wall seconds spent before the resumed segment */
    double t0;
    /* status */
    char status[256];
} run;

/* ---- helpers ------------------------------------------------------------------------- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int path_join(char *out, const char *dir, const char *name, afl_err *err)
{
    if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        return afl_err_set(err, AFL_EIO, "path too long: %s/%s", dir, name);
    return AFL_OK;
}

static int all_finite(const float *v, size_t n)
{
    /* (n) - a sum is finite iff every element is finite and no overflow happened;
       check elementwise so huge-but-finite values are not misreported */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static double l2norm(const float *v, size_t n)
{
    /* (n) -> scalar, in double, fixed order */
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * (double)v[i];
    return sqrt(s);
}

/* ---- attack schedule and knowledge ---------------------------------------------------- */

/* Is the attack on in this round?  attack.start, then attack.period / attack.duty cycles. */
static int attack_on(const run *R)
{
    if (R->m == 0 || R->round < R->attack_start)
        return 0;
    if (R->attack_period <= 0)
        return 1;
    int64_t phase = (R->round - R->attack_start) % R->attack_period;
    return (double)phase < R->attack_duty * (double)R->attack_period;
}

/* Records a genuine update in the knowledge ring (benign ones for full knowledge,
 * malicious ones for partial). */
static void remember(run *R, int client, const float *g)
{
    if (!R->ring || (client < R->m) == R->know_full)
        return;
    R->ring_head = (R->ring_head + 1) % R->window;
    memcpy(R->ring + (size_t)R->ring_head * R->d, g, R->d * sizeof(float));
    if (R->ring_len < R->window)
        R->ring_len++;
}

/* The defense's side-effect-free acceptance test, for adaptive attacks. */
typedef struct {
    run *R;
    const afl_attack_view *v;
} probe_env;

static int probe_accepts(void *env, const float *g, double *score)
{
    probe_env *pe = env;
    run *R = pe->R;
    const afl_attack_view *v = pe->v;
    afl_update u = {v->client, v->base_version, R->version, R->version - v->base_version, R->now,
                    g,         v->w_base,       R->w};
    double sc = NAN;
    int ok = R->def->probe(R->def_state, &u, &sc);
    if (score)
        *score = sc;
    return ok;
}

/* ---- clients ------------------------------------------------------------------------- */

static int client_prepare(run *R, int i, afl_err *err)
{
    client_state *c = &R->cl[i];
    if (c->rng)
        return AFL_OK;
    int cnt = R->part.offsets[i + 1] - R->part.offsets[i];
    c->rng = afl_rng_create(R->seed, AFL_RNG_BATCH, (uint64_t)i);
    c->perm = malloc((size_t)cnt * sizeof *c->perm);
    if (!c->rng || !c->perm)
        return afl_err_set(err, AFL_ENOMEM, "out of memory (client %d)", i);
    memcpy(c->perm, R->part.idx + R->part.offsets[i], (size_t)cnt * sizeof *c->perm);
    afl_rng_shuffle_int(c->rng, c->perm, (size_t)cnt);
    c->cursor = 0;
    return AFL_OK;
}

/* Gathers the client's next minibatch into xb (B, dim), yb (B): epochs over a
 * shuffled copy of its data; a partial last batch of an epoch is skipped. */
static int next_batch(run *R, int i)
{
    client_state *c = &R->cl[i];
    int cnt = R->part.offsets[i + 1] - R->part.offsets[i];
    int B = R->batch < cnt ? R->batch : cnt;
    if (c->cursor + B > cnt) {
        afl_rng_shuffle_int(c->rng, c->perm, (size_t)cnt);
        c->cursor = 0;
    }
    int dim = R->train.dim;
    for (int b = 0; b < B; b++) {
        int e = c->perm[c->cursor + b];
        float *row = R->xb + (size_t)b * (size_t)dim;
        const float *src = afl_dataset_row(&R->train, e, row);
        if (src != row)
            memcpy(row, src, (size_t)dim * sizeof(float));
        R->yb[b] = R->train.y[e];
    }
    c->cursor += B;
    return B;
}

static void client_train(run *R, int i, const float *w_base);
static int client_attack(run *R, int i, int64_t base_version, const float *w_base);

/* Client i's update on w_base into R->g (d): one minibatch gradient, or
 * (w_base - w_E) / local_lr after E local SGD steps (DESIGN.md section 4). */
static int client_update(run *R, int i, int64_t base_version, const float *w_base, afl_err *err)
{
    if (R->timing_only) {
        /* g (d) ~ N(0, I): a stand-in update for scheduling studies */
        for (size_t k = 0; k < R->d; k++)
            R->g[k] = (float)afl_rng_normal(R->synth_rng);
    } else {
        int rc = client_prepare(R, i, err);
        if (rc)
            return rc;
        client_train(R, i, w_base);
    }
    return client_attack(R, i, base_version, w_base);
}

/* The honest update of client i on w_base into R->g (data poisoning included). */
static void client_train(run *R, int i, const float *w_base)
{
    int attacking = i < R->m && attack_on(R);
    if (R->local_steps == 1) {
        int B = next_batch(R, i);
        if (attacking && R->atk->poison_batch)
            R->atk->poison_batch(R->atk_state, i, R->xb, R->yb, B, R->cl[i].rng);
        afl_net_loss_grad(R->net, R->ws_train, w_base, R->xb, R->yb, B, R->g);
    } else {
        memcpy(R->wloc, w_base, R->d * sizeof(float));
        for (int e = 0; e < R->local_steps; e++) {
            int B = next_batch(R, i);
            if (attacking && R->atk->poison_batch)
                R->atk->poison_batch(R->atk_state, i, R->xb, R->yb, B, R->cl[i].rng);
            afl_net_loss_grad(R->net, R->ws_train, R->wloc, R->xb, R->yb, B, R->gtmp);
            cblas_saxpy((int)R->d, (float)-R->local_lr, R->gtmp, 1, R->wloc, 1);
        }
        float inv = (float)(1.0 / R->local_lr);
        for (size_t k = 0; k < R->d; k++)
            R->g[k] = (w_base[k] - R->wloc[k]) * inv;
    }
}

/* Model poisoning: a malicious client rewrites R->g (knowledge and oracle in the view). */
static int client_attack(run *R, int i, int64_t base_version, const float *w_base)
{
    int attacking = i < R->m && attack_on(R);
    if (attacking && R->atk->craft) {
        memcpy(R->genuine, R->g, R->d * sizeof(float));
        for (int k = 0; k < R->ring_len; k++)
            R->known[k] = R->ring + (size_t)((R->ring_head - k + R->window) % R->window) * R->d;
        afl_attack_view v = {i,    R->round,   R->version,  base_version, w_base,
                             R->w, R->genuine, R->ring_len, R->known,     R->know_full,
                             R->n, R->m,       NULL,        NULL};
        probe_env pe = {R, &v};
        if (R->def->probe) {
            v.accepts = probe_accepts;
            v.accepts_env = &pe;
        }
        remember(R, i, R->g);
        R->atk->craft(R->atk_state, &v, R->g, R->cl[i].rng ? R->cl[i].rng : R->atk_rng);
    } else {
        remember(R, i, R->g);
    }
    return AFL_OK;
}

/* ---- evaluation ---------------------------------------------------------------------- */

/* a / b, or NAN (written NA) when b = 0 */
static double rate(int64_t a, int64_t b)
{
    return b > 0 ? (double)a / (double)b : NAN;
}

static int evaluate(run *R, double time, afl_err *err)
{
    long correct = 0;
    double loss = 0;
    if (R->timing_only) {
        R->last_eval_version = R->version;
        R->last_eval_round = R->round;
        return AFL_OK; /* nothing to evaluate: eval.csv keeps its header only */
    }
    if (afl_evaluator_run(R->evaluator, R->w, R->test.x, R->test.y, R->test.n, &correct, &loss))
        return afl_err_set(err, AFL_EINTERNAL, "evaluation set larger than planned");
    R->last_err = 1.0 - (double)correct / (double)R->test.n;
    R->last_loss = loss / (double)R->test.n;
    R->last_asr = NAN;
    if (R->backdoor && R->triggered.n > 0) {
        long hits = 0;
        double l2 = 0;
        if (afl_evaluator_run(R->evaluator, R->w, R->triggered.x, R->triggered.y, R->triggered.n,
                              &hits, &l2))
            return afl_err_set(err, AFL_EINTERNAL, "evaluation set larger than planned");
        R->last_asr = (double)hits / (double)R->triggered.n;
    }
    R->last_eval_version = R->version;
    R->last_eval_round = R->round;
    afl_csv *c = &R->evalcsv;
    afl_csv_real(c, time);
    afl_csv_int(c, R->round);
    afl_csv_int(c, R->version);
    afl_csv_realf(c, R->last_err, 9);
    afl_csv_realf(c, R->last_loss, 9);
    afl_csv_realf(c, R->last_asr, 9);
    afl_csv_realf(c, rate(R->rej_mal, R->n_mal), 9);
    afl_csv_realf(c, rate(R->rej_ben, R->n_ben), 9);
    afl_csv_realf(c, rate(R->rej_mal, R->rej_mal + R->rej_ben), 9);
    int rc = afl_csv_end_row(c, err);
    if (!rc)
        rc = afl_csv_flush(c, err);
    return rc;
}

/* ---- the server side of one arrival ------------------------------------------------- */

static int publish(run *R)
{
    R->version++;
    if (afl_versions_publish(R->vs, R->version, R->w) != 0)
        return -1;
    if (R->time_mode) {
        afl_versions_release(R->vs, R->version - 1); /* the server's hold moves on */
    } else {
        int64_t tau_max = afl_cfg_int(R->cfg, "delay", "tau_max");
        if (R->version - tau_max - 1 >= 0)
            afl_versions_release(R->vs, R->version - tau_max - 1);
    }
    return 0;
}

static int arrival(run *R, int client, int64_t base_version, double time, afl_err *err)
{
    const float *w_base = afl_versions_get(R->vs, base_version);
    if (!w_base)
        return afl_err_set(err, AFL_EINTERNAL, "model version %lld is not held",
                           (long long)base_version);
    int attacked = client < R->m && attack_on(R);
    int rc = client_update(R, client, base_version, w_base, err);
    if (rc)
        return rc;
    double norm = l2norm(R->g, R->d);
    afl_update u = {client, base_version, R->version, R->version - base_version,
                    time,   R->g,         w_base,     R->w};
    afl_decision dec = {AFL_VERDICT_ACCEPTED, NAN, NAN, 0, NAN};
    rc = R->def->on_update(R->def_state, &u, R->step, &dec, err);
    if (rc)
        return rc;
    int64_t version_at_arrival = R->version;
    int mal = client < R->m, rejected = dec.verdict == AFL_VERDICT_REJECTED;
    R->n_mal += mal;
    R->n_ben += !mal;
    R->rej_mal += mal && rejected;
    R->rej_ben += !mal && rejected;
    int nonfinite = 0;
    if (dec.apply) {
        cblas_saxpy((int)R->d, (float)-R->lr, R->step, 1, R->w, 1);
        nonfinite = !all_finite(R->w, R->d);
        if (publish(R) != 0)
            return afl_err_set(err, AFL_ENOMEM, "out of memory storing model version %lld",
                               (long long)R->version);
    }
    if (R->write_events) {
        afl_csv *c = &R->events;
        afl_csv_real(c, time);
        afl_csv_int(c, R->round);
        afl_csv_int(c, version_at_arrival);
        afl_csv_int(c, client);
        afl_csv_int(c, client < R->m);
        afl_csv_int(c, attacked);
        afl_csv_int(c, base_version);
        afl_csv_int(c, version_at_arrival - base_version);
        afl_csv_realf(c, norm, 9);
        afl_csv_realf(c, dec.score, 9);
        afl_csv_str(c, afl_verdict_name(dec.verdict));
        afl_csv_realf(c, dec.weight, 9);
        afl_csv_realf(c, dec.aux, 9);
        if ((rc = afl_csv_end_row(c, err)))
            return rc;
    }
    R->round++;
    if (nonfinite) {
        snprintf(R->status, sizeof R->status,
                 "non-finite global model after round %lld (client %d, %s, update norm %g, "
                 "defense %s)",
                 (long long)(R->round - 1), client, client < R->m ? "malicious" : "benign", norm,
                 R->def->info.name);
        return afl_err_set(err, AFL_ENUMERIC, "%s; the run stopped there", R->status);
    }
    if (dec.apply && R->eval_every > 0 && R->version % R->eval_every == 0)
        if ((rc = evaluate(R, time, err)))
            return rc;
    if (R->eval_every_rounds > 0 && R->round % R->eval_every_rounds == 0 &&
        R->last_eval_round != R->round)
        if ((rc = evaluate(R, time, err)))
            return rc;
    if (dec.apply && R->ckpt_every > 0 && R->version % R->ckpt_every == 0)
        R->ckpt_due = 1;
    return AFL_OK;
}

static int maybe_checkpoint(run *R, afl_err *err);

/* ---- round mode ---------------------------------------------------------------------- */

static int loop_round(run *R, afl_err *err)
{
    int64_t tau_max = afl_cfg_int(R->cfg, "delay", "tau_max");
    int plain = R->mal_rate == 1.0 || R->m == 0;
    double total = (double)(R->n - R->m) + R->mal_rate * R->m;
    while (R->round < R->rounds_target) {
        int client;
        if (plain) {
            client = (int)afl_rng_below(R->sched_rng, (uint64_t)R->n);
        } else {
            /* malicious clients weigh attack.rate, benign ones 1 */
            double u = afl_rng_uniform(R->sched_rng) * total, mw = R->mal_rate * R->m;
            if (u < mw)
                client = (int)(u / R->mal_rate) < R->m ? (int)(u / R->mal_rate) : R->m - 1;
            else
                client = R->m + (int)afl_rng_below(R->sched_rng, (uint64_t)(R->n - R->m));
        }
        int64_t hi = R->version < tau_max ? R->version : tau_max;
        int64_t tau = (int64_t)afl_rng_below(R->sched_rng, (uint64_t)hi + 1);
        if (client < R->m && attack_on(R) && R->mal_staleness)
            tau = R->mal_staleness == 1 ? 0 : hi; /* fresh / deliberately stale */
        R->now = (double)R->round;
        int rc = arrival(R, client, R->version - tau, R->now, err);
        if (!rc && R->ckpt_due)
            rc = maybe_checkpoint(R, err);
        if (rc)
            return rc;
        afl_progress_update(&R->prog, R->round, R->last_err);
    }
    R->now = (double)R->round;
    return AFL_OK;
}

/* ---- time mode ----------------------------------------------------------------------- */

static void make_ready(run *R, int c, double t)
{
    if (c < R->m && R->burst_period > 0) {
        double k = floor(t / R->burst_period), start = k * R->burst_period;
        if (t >= start + R->burst_length) {
            afl_queue_push(R->q, start + R->burst_period, EV_ONLINE, c, 0);
            return;
        }
    }
    if (R->have_trace) {
        double next = 0, until = 0;
        if (!afl_trace_online(&R->trace, c, t, &next, &until)) {
            if (isfinite(next))
                afl_queue_push(R->q, next, EV_ONLINE, c, 0);
            return;
        }
    }
    R->ready[(R->ready_head + R->ready_len) % R->n] = c;
    R->ready_len++;
}

static int start_job(run *R, int c, double t)
{
    client_state *cs = &R->cl[c];
    int mal = c < R->m;
    double compute =
        afl_dist_sample(mal && R->has_mal_compute ? &R->mal_compute : &R->compute, R->delay_rng);
    double speed = cs->speed > 0 ? cs->speed : 1e-300;
    double dur =
        compute / speed * (cs->straggler ? R->slowdown : 1.0) +
        afl_dist_sample(mal && R->has_mal_network ? &R->mal_network : &R->network, R->delay_rng);
    if (!isfinite(dur))
        dur = 1e300;
    afl_versions_acquire(R->vs, R->version);
    cs->busy = 1;
    R->running++;
    double end = t + dur;
    if (R->have_trace && R->drop_offline) {
        double next = 0, until = INFINITY;
        afl_trace_online(&R->trace, c, t, &next, &until);
        if (end > until)
            return afl_queue_push(R->q, until, EV_DROP, c, R->version);
    }
    return afl_queue_push(R->q, end, EV_DONE, c, R->version);
}

static int fill(run *R, double t)
{
    while (R->ready_len > 0 && (R->concurrency == 0 || R->running < R->concurrency)) {
        if (R->random_select && R->ready_len > 1) {
            int k = (int)afl_rng_below(R->sched_rng, (uint64_t)R->ready_len);
            int a = (R->ready_head + k) % R->n;
            int tmp = R->ready[a];
            R->ready[a] = R->ready[R->ready_head];
            R->ready[R->ready_head] = tmp;
        }
        int c = R->ready[R->ready_head];
        R->ready_head = (R->ready_head + 1) % R->n;
        R->ready_len--;
        if (start_job(R, c, t) != 0)
            return -1;
    }
    return 0;
}

static int loop_time(run *R, afl_err *err)
{
    if (!R->resumed) {
        for (int c = 0; c < R->n; c++)
            make_ready(R, c, 0.0);
        if (fill(R, 0.0))
            return afl_err_set(err, AFL_ENOMEM, "out of memory (event queue)");
    }
    afl_event ev;
    while (R->round < R->rounds_target) {
        if (afl_queue_pop(R->q, &ev) != 0) {
            snprintf(R->status, sizeof R->status,
                     "no client is available any more (trace ended) at time %g", R->now);
            break;
        }
        if (R->max_time > 0 && ev.time > R->max_time) {
            R->now = R->max_time;
            snprintf(R->status, sizeof R->status, "reached sim.max_time");
            break;
        }
        while (R->eval_every_time > 0 && ev.time >= R->next_eval_time) {
            int rc = evaluate(R, R->next_eval_time, err);
            if (rc)
                return rc;
            R->next_eval_time += R->eval_every_time;
        }
        R->now = ev.time;
        int c = ev.client;
        if (ev.type == EV_DONE || ev.type == EV_DROP) {
            R->running--;
            R->cl[c].busy = 0;
            if (ev.type == EV_DONE) {
                int rc = arrival(R, c, ev.data, ev.time, err);
                if (rc)
                    return rc;
            } else {
                R->jobs_dropped++;
            }
            afl_versions_release(R->vs, ev.data);
            make_ready(R, c, ev.time);
        } else if (ev.type == EV_ONLINE) {
            make_ready(R, c, ev.time);
        }
        if (fill(R, ev.time))
            return afl_err_set(err, AFL_ENOMEM, "out of memory (event queue)");
        if (R->ckpt_due) {
            int rc = maybe_checkpoint(R, err);
            if (rc)
                return rc;
        }
        afl_progress_update(&R->prog, R->round, R->last_err);
    }
    return AFL_OK;
}

/* ---- checkpoints --------------------------------------------------------------------- */

/* FNV-1a of the resolved configuration: a checkpoint only resumes the run it came from. */
static uint64_t config_digest(const afl_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    uint64_t h = 1469598103934665603ULL;
    if (afl_config_format(cfg, &text, &len, NULL) != AFL_OK)
        return 0;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
    free(text);
    return h;
}

/* The engine's whole mutable state, in one call sequence for saving and loading
 * (sim/ckpt.h).  What setup recomputes from the configuration (data, partition, model
 * architecture, client speeds and stragglers, trusted set, triggered test set) is not
 * stored. */
static int state_ckpt(run *R, afl_ckpt *ck)
{
    int loading = afl_ckpt_loading(ck);
    uint64_t digest = config_digest(R->cfg), saved = digest;
    size_t d = R->d;
    int n = R->n;
    afl_ckpt_u64(ck, "config.digest", &saved);
    afl_ckpt_size(ck, "model.d", &d);
    afl_ckpt_int(ck, "clients.n", &n);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    if (saved != digest || d != R->d || n != R->n)
        return afl_ckpt_fail(
            ck, AFL_EINPUT,
            "it was taken by a run with a different configuration than %s/config.ini "
            "(resume with the same scenario, overrides and aflsim version)",
            R->dir);
    /* outputs */
    if (!loading) {
        R->events_len = R->write_events ? R->events.written : 0;
        R->eval_len = R->evalcsv.written;
    }
    afl_ckpt_i64(ck, "csv.events", &R->events_len);
    afl_ckpt_i64(ck, "csv.eval", &R->eval_len);
    double wall = R->wall_before + (loading ? 0 : wall_now() - R->t0);
    afl_ckpt_f64(ck, "wall", &wall);
    if (loading)
        R->wall_before = wall;
    /* counters and clocks */
    afl_ckpt_i64(ck, "round", &R->round);
    afl_ckpt_i64(ck, "version", &R->version);
    afl_ckpt_f64(ck, "now", &R->now);
    afl_ckpt_i64(ck, "last_eval_version", &R->last_eval_version);
    afl_ckpt_i64(ck, "last_eval_round", &R->last_eval_round);
    afl_ckpt_f64(ck, "next_eval_time", &R->next_eval_time);
    afl_ckpt_f64(ck, "last_err", &R->last_err);
    afl_ckpt_f64(ck, "last_loss", &R->last_loss);
    afl_ckpt_f64(ck, "last_asr", &R->last_asr);
    int64_t det[5] = {R->n_mal, R->n_ben, R->rej_mal, R->rej_ben, R->jobs_dropped};
    afl_ckpt_i64s(ck, "detection", det, 5);
    R->n_mal = det[0], R->n_ben = det[1], R->rej_mal = det[2], R->rej_ben = det[3];
    R->jobs_dropped = det[4];
    afl_ckpt_floats(ck, "model.w", R->w, R->d);
    afl_versions_ckpt(R->vs, ck);
    /* random streams owned by the engine */
    afl_ckpt_rng(ck, "rng.sched", R->sched_rng);
    afl_ckpt_rng_opt(ck, "rng.delay", &R->delay_rng);
    afl_ckpt_rng_opt(ck, "rng.defense", &R->def_rng);
    afl_ckpt_rng_opt(ck, "rng.attack", &R->atk_rng);
    afl_ckpt_rng_opt(ck, "rng.synthetic", &R->synth_rng);
    if (R->have_trusted)
        afl_ckpt_rng(ck, "rng.trusted", R->trusted.rng);
    /* clients: packed arrays, then the minibatch stream and order of those that trained */
    unsigned char *flags = malloc((size_t)R->n);
    int *cursor = malloc((size_t)R->n * sizeof *cursor);
    if (!flags || !cursor) {
        free(flags), free(cursor);
        return afl_ckpt_fail(ck, AFL_ENOMEM, "out of memory");
    }
    for (int i = 0; !loading && i < R->n; i++) {
        flags[i] = (unsigned char)((R->cl[i].busy ? 1 : 0) | (R->cl[i].rng ? 2 : 0));
        cursor[i] = R->cl[i].cursor;
    }
    afl_ckpt_uchars(ck, "clients.flags", flags, (size_t)R->n);
    afl_ckpt_ints(ck, "clients.cursor", cursor, (size_t)R->n);
    for (int i = 0; loading && !afl_ckpt_status(ck) && i < R->n; i++) {
        if ((flags[i] & 2) && !R->cl[i].rng && client_prepare(R, i, NULL) != AFL_OK)
            afl_ckpt_fail(ck, AFL_ENOMEM, "out of memory (client %d)", i);
        R->cl[i].busy = flags[i] & 1;
        R->cl[i].cursor = cursor[i];
        if ((flags[i] & 2) && R->timing_only)
            afl_ckpt_fail(ck, AFL_EINPUT, "client %d has a minibatch stream in a run without data",
                          i);
    }
    for (int i = 0; !afl_ckpt_status(ck) && i < R->n; i++) {
        if (!(flags[i] & 2))
            continue;
        int cnt = R->part.offsets[i + 1] - R->part.offsets[i];
        if (cursor[i] < 0 || cursor[i] > cnt)
            afl_ckpt_fail(ck, AFL_EINPUT, "client %d: minibatch cursor %d out of range", i,
                          cursor[i]);
        afl_ckpt_rng(ck, "client.rng", R->cl[i].rng);
        afl_ckpt_ints(ck, "client.perm", R->cl[i].perm, (size_t)cnt);
    }
    free(flags), free(cursor);
    /* attacker knowledge */
    if (R->ring) {
        afl_ckpt_int(ck, "knowledge.len", &R->ring_len);
        afl_ckpt_int(ck, "knowledge.head", &R->ring_head);
        if (R->ring_len < 0 || R->ring_len > R->window || R->ring_head < 0 ||
            R->ring_head >= R->window)
            return afl_ckpt_fail(ck, AFL_EINPUT, "attacker knowledge ring out of range");
        afl_ckpt_floats(ck, "knowledge.ring", R->ring, (size_t)R->window * R->d);
    }
    /* time mode: the queue, the ready ring and the running jobs */
    if (R->time_mode) {
        size_t nq = afl_queue_size(R->q);
        uint64_t next_seq = afl_queue_next_seq(R->q);
        afl_ckpt_size(ck, "queue.n", &nq);
        afl_ckpt_u64(ck, "queue.next_seq", &next_seq);
        if (afl_ckpt_status(ck))
            return afl_ckpt_status(ck);
        afl_event *ev = malloc((nq ? nq : 1) * sizeof *ev);
        double *t = malloc((nq ? nq : 1) * sizeof *t);
        int64_t *seq = malloc((nq ? nq : 1) * sizeof *seq), *data = malloc((nq ? nq : 1) * 8);
        int *type = malloc((nq ? nq : 1) * sizeof *type), *cl = malloc((nq ? nq : 1) * sizeof *cl);
        if (!ev || !t || !seq || !data || !type || !cl) {
            free(ev), free(t), free(seq), free(data), free(type), free(cl);
            return afl_ckpt_fail(ck, AFL_ENOMEM, "out of memory (event queue)");
        }
        if (!loading) {
            afl_queue_dump(R->q, ev, nq);
            for (size_t k = 0; k < nq; k++) {
                t[k] = ev[k].time, seq[k] = (int64_t)ev[k].seq, data[k] = ev[k].data;
                type[k] = ev[k].type, cl[k] = ev[k].client;
            }
        }
        afl_ckpt_doubles(ck, "queue.time", t, nq);
        afl_ckpt_i64s(ck, "queue.seq", seq, nq);
        afl_ckpt_ints(ck, "queue.type", type, nq);
        afl_ckpt_ints(ck, "queue.client", cl, nq);
        afl_ckpt_i64s(ck, "queue.data", data, nq);
        if (loading && !afl_ckpt_status(ck)) {
            for (size_t k = 0; k < nq; k++) {
                memset(&ev[k], 0, sizeof ev[k]);
                ev[k].time = t[k], ev[k].seq = (uint64_t)seq[k], ev[k].data = data[k];
                ev[k].type = type[k], ev[k].client = cl[k];
                if (cl[k] < 0 || cl[k] >= R->n || type[k] < EV_DONE || type[k] > EV_DROP)
                    afl_ckpt_fail(ck, AFL_EINPUT, "event %zu of the queue is out of range", k);
            }
            int q = afl_ckpt_status(ck) ? 0 : afl_queue_restore(R->q, ev, nq, next_seq);
            if (q)
                afl_ckpt_fail(ck, q == -1 ? AFL_ENOMEM : AFL_EINPUT,
                              "the event queue cannot be restored");
        }
        free(ev), free(t), free(seq), free(data), free(type), free(cl);
        afl_ckpt_int(ck, "ready.head", &R->ready_head);
        afl_ckpt_int(ck, "ready.len", &R->ready_len);
        afl_ckpt_int(ck, "running", &R->running);
        if (R->ready_head < 0 || R->ready_head >= R->n || R->ready_len < 0 || R->ready_len > R->n)
            return afl_ckpt_fail(ck, AFL_EINPUT, "the ready list is out of range");
        afl_ckpt_ints(ck, "ready", R->ready, (size_t)R->n);
    }
    /* the defense and the attack */
    if (R->def->ckpt && !afl_ckpt_status(ck))
        R->def->ckpt(R->def_state, ck);
    if (R->atk->ckpt && !afl_ckpt_status(ck))
        R->atk->ckpt(R->atk_state, ck);
    return afl_ckpt_status(ck);
}

static int ckpt_path(run *R, char *path, afl_err *err)
{
    return path_join(path, R->dir, "checkpoint.ckpt", err);
}

/* Writes the checkpoint now (CSV rows flushed first, so that their lengths are known). */
static int save_checkpoint(run *R, afl_err *err)
{
    char path[PATH_MAX];
    int rc = ckpt_path(R, path, err);
    if (!rc && R->write_events)
        rc = afl_csv_flush(&R->events, err);
    if (!rc)
        rc = afl_csv_flush(&R->evalcsv, err);
    afl_ckpt *ck = NULL;
    if (!rc)
        rc = afl_ckpt_create(path, &ck, err);
    if (rc)
        return rc;
    state_ckpt(R, ck);
    return afl_ckpt_finish(ck, err);
}

static int maybe_checkpoint(run *R, afl_err *err)
{
    R->ckpt_due = 0;
    double now = wall_now();
    if (R->ckpt_interval > 0 && now - R->ckpt_last_wall < R->ckpt_interval)
        return AFL_OK;
    R->ckpt_last_wall = now;
    return save_checkpoint(R, err);
}

static int load_checkpoint(run *R, const char *path, afl_err *err)
{
    afl_ckpt *ck = NULL;
    int rc = afl_ckpt_open(path, &ck, err);
    if (rc)
        return rc;
    state_ckpt(R, ck);
    return afl_ckpt_finish(ck, err);
}

/* ---- setup --------------------------------------------------------------------------- */

static int setup_data(run *R, afl_err *err)
{
    const afl_config *cfg = R->cfg;
    int rc = afl_dataset_load(cfg, R->seed, &R->train, &R->test, err);
    if (rc)
        return rc;
    int64_t ntr = afl_cfg_int(cfg, "data", "train_subset");
    int64_t nte = afl_cfg_int(cfg, "data", "test_subset");
    if (ntr > 0 && ntr < R->train.n) {
        afl_dataset sub;
        afl_rng *r = afl_rng_create(R->seed, AFL_RNG_DATA, 1);
        rc = r ? afl_dataset_subset(&R->train, (int)ntr, r, &sub, err)
               : afl_err_set(err, AFL_ENOMEM, "out of memory");
        afl_rng_free(r);
        if (rc)
            return rc;
        afl_dataset_free(&R->train);
        R->train = sub;
    }
    if (nte > 0 && nte < R->test.n) {
        afl_dataset sub;
        afl_rng *r = afl_rng_create(R->seed, AFL_RNG_EVAL, 0);
        rc = r ? afl_dataset_subset(&R->test, (int)nte, r, &sub, err)
               : afl_err_set(err, AFL_ENOMEM, "out of memory");
        afl_rng_free(r);
        if (rc)
            return rc;
        afl_dataset_free(&R->test);
        R->test = sub;
    }
    const char *nm = afl_cfg_str(cfg, "data", "normalize");
    afl_norm mode = strcmp(nm, "standardize") == 0 ? AFL_NORM_STANDARDIZE
                    : strcmp(nm, "unit") == 0      ? AFL_NORM_UNIT
                                                   : AFL_NORM_NONE;
    if ((rc = afl_normalize(mode, &R->train, &R->test, &R->norm, err)))
        return rc;
    afl_rng *pr = afl_rng_create(R->seed, AFL_RNG_PARTITION, 0);
    if (!pr)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    const char *pt = afl_cfg_str(cfg, "data", "partition");
    if (strcmp(pt, "iid") == 0)
        rc = afl_partition_iid(&R->train, R->n, pr, &R->part, err);
    else if (strcmp(pt, "bias") == 0)
        rc = afl_partition_bias(&R->train, R->n, afl_cfg_real(cfg, "data", "bias"), pr, &R->part,
                                err);
    else
        rc = afl_partition_dirichlet(&R->train, R->n, afl_cfg_real(cfg, "data", "alpha"),
                                     (int)afl_cfg_int(cfg, "data", "min_size"), pr, &R->part, err);
    afl_rng_free(pr);
    /* one byte per pixel from here on (exact: data/dataset.h); the test set stays float for
     * the evaluator */
    if (!rc)
        afl_dataset_compact(&R->train);
    return rc;
}

static int write_partition(run *R, afl_err *err)
{
    char path[PATH_MAX];
    int rc = path_join(path, R->dir, "partition.csv", err);
    if (rc)
        return rc;
    int C = R->train.n_classes;
    long *counts = calloc((size_t)R->n * (size_t)C, sizeof *counts);
    if (!counts)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    afl_partition_label_counts(&R->part, &R->train, counts);
    afl_csv c;
    rc = afl_csv_open(&c, path, "client,malicious,label,count", err);
    for (int i = 0; i < R->n && !rc; i++)
        for (int l = 0; l < C && !rc; l++) {
            afl_csv_int(&c, i);
            afl_csv_int(&c, i < R->m);
            afl_csv_int(&c, l);
            afl_csv_int(&c, counts[(size_t)i * (size_t)C + (size_t)l]);
            rc = afl_csv_end_row(&c, err);
        }
    int rc2 = afl_csv_close(&c, rc ? NULL : err);
    free(counts);
    return rc ? rc : rc2;
}

/* clients.csv: one row per client (speed and straggler only in time mode). */
static int write_clients(run *R, afl_err *err)
{
    char path[PATH_MAX];
    int rc = path_join(path, R->dir, "clients.csv", err);
    if (rc)
        return rc;
    afl_csv c;
    rc = afl_csv_open(&c, path, "client,malicious,examples,speed,straggler", err);
    for (int i = 0; i < R->n && !rc; i++) {
        afl_csv_int(&c, i);
        afl_csv_int(&c, i < R->m);
        if (R->timing_only)
            afl_csv_na(&c);
        else
            afl_csv_int(&c, R->part.offsets[i + 1] - R->part.offsets[i]);
        if (R->time_mode) {
            afl_csv_realf(&c, R->cl[i].speed, 9);
            afl_csv_int(&c, R->cl[i].straggler);
        } else {
            afl_csv_na(&c);
            afl_csv_na(&c);
        }
        rc = afl_csv_end_row(&c, err);
    }
    int rc2 = afl_csv_close(&c, rc ? NULL : err);
    return rc ? rc : rc2;
}

static int setup_model(run *R, afl_err *err)
{
    R->net = afl_model_build(R->cfg, R->train.c, R->train.h, R->train.w, R->train.n_classes, err);
    if (!R->net)
        return err->code ? err->code : AFL_EINPUT;
    R->d = afl_net_nparams(R->net);
    R->batch = (int)afl_cfg_int(R->cfg, "train", "batch");
    R->ws_train = afl_ws_create(R->net, R->batch);
    R->evaluator = afl_evaluator_create(R->net, R->threads, R->test.n);
    size_t dsz = R->d * sizeof(float);
    R->w = malloc(dsz);
    R->g = malloc(dsz);
    R->step = malloc(dsz);
    R->xb = malloc((size_t)R->batch * (size_t)R->train.dim * sizeof(float));
    R->yb = malloc((size_t)R->batch * sizeof(int32_t));
    if (R->local_steps > 1) {
        R->wloc = malloc(dsz);
        R->gtmp = malloc(dsz);
    }
    R->vs = afl_versions_create(R->d);
    if (!R->ws_train || !R->evaluator || !R->w || !R->g || !R->step || !R->xb || !R->yb || !R->vs ||
        (R->local_steps > 1 && (!R->wloc || !R->gtmp)))
        return afl_err_set(err, AFL_ENOMEM, "out of memory allocating the model (%zu parameters)",
                           R->d);
    afl_rng *ir = afl_rng_create(R->seed, AFL_RNG_INIT, 0);
    if (!ir)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    afl_net_init(R->net, R->w, ir);
    afl_rng_free(ir);
    if (afl_versions_publish(R->vs, 0, R->w) != 0)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    return AFL_OK;
}

/* A pixel value v in [0,1] as it appears in the normalised input (attack triggers). */
static float pixel_value(const void *env, int ch, float v)
{
    const run *R = env;
    if (R->norm.n == 0) /* data.normalize = none: raw scale */
        return R->train.is_image ? 255.0f * v : v;
    int k = ch < R->norm.n ? ch : 0;
    return (float)(((double)v - R->norm.mean[k]) / R->norm.scale[k]);
}

/* model.type = none: d-dimensional synthetic updates, model w = 0, no data. */
static int setup_synthetic(run *R, afl_err *err)
{
    R->d = (size_t)afl_cfg_int(R->cfg, "model", "dim");
    R->batch = (int)afl_cfg_int(R->cfg, "train", "batch");
    size_t dsz = R->d * sizeof(float);
    R->w = calloc(R->d, sizeof(float));
    R->g = malloc(dsz);
    R->step = malloc(dsz);
    R->vs = afl_versions_create(R->d);
    R->synth_rng = afl_rng_create(R->seed, AFL_RNG_BATCH, UINT64_MAX);
    if (!R->w || !R->g || !R->step || !R->vs || !R->synth_rng)
        return afl_err_set(err, AFL_ENOMEM, "out of memory (synthetic updates of %zu floats)",
                           R->d);
    if (afl_versions_publish(R->vs, 0, R->w) != 0)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    return AFL_OK;
}

static int setup_components(run *R, afl_err *err)
{
    const afl_config *cfg = R->cfg;
    R->def = afl_defense_find(afl_cfg_str(cfg, "defense", "type"));
    R->atk = afl_attack_find(afl_cfg_str(cfg, "attack", "type"));
    if (!R->def || !R->atk)
        return afl_err_set(err, AFL_EINTERNAL, "component not registered");
    R->def_rng = afl_rng_create(R->seed, AFL_RNG_DEFENSE, 0);
    if (!R->def_rng)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    afl_defense_ctx dctx = {cfg,      R->n,    R->train.n_classes, R->d, R->lr,
                            R->batch, R->seed, R->def_rng,         0,    NULL,
                            NULL,     NULL,    R->threads};
    if (R->def->needs_trusted_data && R->timing_only)
        return afl_err_set(err, AFL_EINPUT,
                           "defense '%s' needs trusted server data, which model.type = none "
                           "(timing only, no dataset) does not have",
                           R->def->info.name);
    if (R->def->needs_trusted_data) {
        int rc =
            afl_trusted_init(&R->trusted, R->net, &R->train,
                             (int)afl_cfg_int(cfg, "defense", "trusted_size"), 500, R->seed, err);
        if (rc)
            return rc;
        R->have_trusted = 1;
        dctx.trusted_n = R->trusted.data.n;
        dctx.trusted_grad = afl_trusted_grad;
        dctx.trusted_eval = afl_trusted_eval;
        dctx.env = &R->trusted;
    }
    int rc = R->def->create(&dctx, &R->def_state, err);
    if (rc)
        return rc;
    R->atk_rng = afl_rng_create(R->seed, AFL_RNG_ATTACK, 0);
    if (!R->atk_rng)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    afl_attack_ctx actx = {cfg,
                           R->n,
                           R->m,
                           R->train.n_classes,
                           R->train.c,
                           R->train.h,
                           R->train.w,
                           R->train.is_image,
                           R->d,
                           R->lr,
                           R->local_lr,
                           R->batch,
                           (int)afl_cfg_int(cfg, "delay", "tau_max"),
                           R->seed,
                           R->atk_rng,
                           R->net,
                           pixel_value,
                           R};
    if ((rc = R->atk->create(&actx, &R->atk_state, err)))
        return rc;
    if (R->atk->needs_knowledge && R->m > 0) {
        R->window = (int)afl_cfg_int(cfg, "attack", "window");
        if (R->window == 0)
            R->window = R->n;
        R->ring = malloc((size_t)R->window * R->d * sizeof(float));
        R->known = malloc((size_t)R->window * sizeof *R->known);
        if (!R->ring || !R->known)
            return afl_err_set(
                err, AFL_ENOMEM,
                "out of memory for the attacker's knowledge window (%d x %zu floats)", R->window,
                R->d);
    }
    R->genuine = malloc(R->d * sizeof(float));
    if (!R->genuine)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    if (R->atk->target && R->atk->trigger && R->timing_only)
        return afl_err_set(err, AFL_EINPUT,
                           "attack '%s' is a backdoor and needs a dataset; model.type = none has "
                           "none",
                           R->atk->info.name);
    if (R->atk->target && R->atk->trigger) {
        /* ASR set: test examples whose label is not the target, triggered, labelled target */
        int target = R->atk->target(R->atk_state);
        int *idx = malloc((size_t)R->test.n * sizeof *idx), k = 0;
        if (!idx)
            return afl_err_set(err, AFL_ENOMEM, "out of memory");
        for (int i = 0; i < R->test.n; i++)
            if (R->test.y[i] != target)
                idx[k++] = i;
        rc = afl_dataset_gather(&R->test, idx, k, &R->triggered, err);
        free(idx);
        if (rc)
            return rc;
        for (int i = 0; i < R->triggered.n; i++) {
            R->atk->trigger(R->atk_state, R->triggered.x + (size_t)i * R->triggered.dim);
            R->triggered.y[i] = target;
        }
        R->backdoor = 1;
    }
    return AFL_OK;
}

static int setup_time(run *R, afl_err *err)
{
    const afl_config *cfg = R->cfg;
    R->speed = afl_cfg_dist(cfg, "delay", "speed");
    R->compute = afl_cfg_dist(cfg, "delay", "compute");
    R->network = afl_cfg_dist(cfg, "delay", "network");
    R->slowdown = afl_cfg_real(cfg, "delay", "straggler_slowdown");
    if ((R->has_mal_speed = afl_cfg_str(cfg, "attack", "speed")[0] != 0))
        R->mal_speed = afl_cfg_dist(cfg, "attack", "speed");
    if ((R->has_mal_compute = afl_cfg_str(cfg, "attack", "compute")[0] != 0))
        R->mal_compute = afl_cfg_dist(cfg, "attack", "compute");
    if ((R->has_mal_network = afl_cfg_str(cfg, "attack", "network")[0] != 0))
        R->mal_network = afl_cfg_dist(cfg, "attack", "network");
    R->burst_period = afl_cfg_real(cfg, "attack", "burst_period");
    R->burst_length = afl_cfg_real(cfg, "attack", "burst_length");
    R->concurrency = (int)afl_cfg_int(cfg, "delay", "concurrency");
    R->random_select = strcmp(afl_cfg_str(cfg, "delay", "selection"), "random") == 0;
    R->drop_offline = strcmp(afl_cfg_str(cfg, "delay", "offline"), "drop") == 0;
    R->q = afl_queue_create((size_t)R->n + 16);
    R->ready = malloc((size_t)R->n * sizeof *R->ready);
    R->delay_rng = afl_rng_create(R->seed, AFL_RNG_DELAY, 0);
    afl_rng *sp = afl_rng_create(R->seed, AFL_RNG_SPEED, 0);
    int *ids = malloc((size_t)R->n * sizeof *ids);
    if (!R->q || !R->ready || !R->delay_rng || !sp || !ids) {
        afl_rng_free(sp);
        free(ids);
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    }
    for (int i = 0; i < R->n; i++)
        R->cl[i].speed =
            (float)afl_dist_sample(i < R->m && R->has_mal_speed ? &R->mal_speed : &R->speed, sp);
    /* exactly round(frac * n) stragglers, chosen uniformly */
    int ns = (int)floor(afl_cfg_real(cfg, "delay", "straggler_frac") * R->n + 0.5);
    for (int i = 0; i < R->n; i++)
        ids[i] = i;
    afl_rng_shuffle_int(sp, ids, (size_t)R->n);
    for (int i = 0; i < ns; i++)
        R->cl[ids[i]].straggler = 1;
    free(ids);
    afl_rng_free(sp);
    const char *tr = afl_cfg_str(cfg, "delay", "trace");
    if (tr[0]) {
        int rc = afl_trace_load(tr, R->n, &R->trace, err);
        if (rc)
            return rc;
        R->have_trace = 1;
    }
    return AFL_OK;
}

/* Checks the run folder (create = 0: no side effects), then (create = 1) clears a
 * previous run's files (--force) and creates the folder. */
static int prepare_dir(run *R, const afl_run_opts *o, int create, afl_err *err)
{
    if (o && o->out_dir)
        snprintf(R->dir, sizeof R->dir, "%s", o->out_dir);
    else
        snprintf(R->dir, sizeof R->dir, "runs/%s", afl_config_name(R->cfg));
    static const char *ours[] = {"summary.csv", "events.csv",       "eval.csv",
                                 "config.ini",  "partition.csv",    "clients.csv",
                                 "model.npy",   "model_layout.csv", "checkpoint.ckpt"};
    struct stat st;
    int force = o && o->force;
    if (o && o->resume) {
        char p[PATH_MAX];
        if (path_join(p, R->dir, "summary.csv", err))
            return AFL_EIO;
        if (stat(p, &st) == 0)
            return afl_err_set(err, AFL_EINPUT,
                               "cannot resume %s: the run already finished (summary.csv exists)",
                               R->dir);
        if (path_join(p, R->dir, "checkpoint.ckpt", err))
            return AFL_EIO;
        R->resumed = stat(p, &st) == 0;
        if (R->resumed)
            return create ? afl_mkdir_p(R->dir, err) : AFL_OK;
        force = 1; /* killed before its first checkpoint: start over in the same folder */
    }
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        char p[PATH_MAX];
        if (path_join(p, R->dir, ours[i], err))
            return AFL_EIO;
        if (stat(p, &st) == 0) {
            if (!force)
                return afl_err_set(err, AFL_EINPUT,
                                   "output folder %s already holds a run (%s); choose another "
                                   "--out or pass --force to overwrite it",
                                   R->dir, ours[i]);
            if (create)
                unlink(p);
        }
    }
    return create ? afl_mkdir_p(R->dir, err) : AFL_OK;
}

/* Refuses a run whose memory estimate does not fit (sim/memory.h): first from the
 * configuration and the dataset headers (loaded = 0), then with the loaded data. */
static int check_memory(run *R, const afl_run_opts *o, int loaded, afl_err *err)
{
    afl_mem_shape sh;
    int rc = afl_mem_probe(R->cfg, &sh, err);
    if (rc)
        return rc;
    double in_use = 0;
    if (loaded && !R->timing_only) {
        sh.n_train = sh.loaded_train = R->train.n;
        sh.n_test = R->test.n;
        sh.c = R->train.c;
        sh.h = R->train.h;
        sh.w = R->train.w;
        sh.n_classes = R->train.n_classes;
        sh.known = 1;
        in_use = 4.0 * (R->train.dim + 1.0) * ((double)R->train.n + R->test.n);
    }
    afl_mem_estimate est;
    if ((rc = afl_mem_estimate_run(R->cfg, &sh, R->threads, &est, err)))
        return rc;
    return afl_mem_check(&est, o ? o->max_memory : 0, in_use, err);
}

static int write_summary(run *R, double wall, afl_err *err)
{
    afl_buf b = {0};
    afl_buf_printf(
        &b, "scenario,seed,mode,dataset,model,defense,attack,clients,malicious,rounds,"
            "versions,sim_time,final_test_error,final_test_loss,final_asr,malicious_arrivals,"
            "benign_arrivals,tpr,fpr,precision,jobs_dropped,status,blas,threads,"
            "wall_seconds,rounds_per_second\n");
    afl_buf_printf(&b, "%s,%llu,%s,%s,%s,%s,%s,%d,%d,%lld,%lld,%.17g,", afl_config_name(R->cfg),
                   (unsigned long long)R->seed, R->time_mode ? "time" : "round",
                   afl_cfg_str(R->cfg, "data", "dataset"), afl_cfg_str(R->cfg, "model", "type"),
                   R->def->info.name, R->atk->info.name, R->n, R->m, (long long)R->round,
                   (long long)R->version, R->now);
    double metrics[3] = {R->last_err, R->last_loss, R->last_asr};
    for (int k = 0; k < 3; k++)
        afl_buf_printf(&b, isnan(metrics[k]) ? "NA," : "%.9g,", metrics[k]);
    afl_buf_printf(&b, "%lld,%lld,", (long long)R->n_mal, (long long)R->n_ben);
    double rates[3] = {rate(R->rej_mal, R->n_mal), rate(R->rej_ben, R->n_ben),
                       rate(R->rej_mal, R->rej_mal + R->rej_ben)};
    for (int k = 0; k < 3; k++)
        afl_buf_printf(&b, isnan(rates[k]) ? "NA," : "%.9g,", rates[k]);
    afl_buf_printf(&b, "%lld,\"%s\",\"%s\",%d,%.3f,%.1f\n", (long long)R->jobs_dropped, R->status,
                   afl_blas_info(), R->threads, wall, wall > 0 ? (double)R->round / wall : 0.0);
    char path[PATH_MAX];
    int rc = b.oom ? afl_err_set(err, AFL_ENOMEM, "out of memory")
                   : path_join(path, R->dir, "summary.csv", err);
    if (!rc)
        rc = afl_write_file_atomic(path, b.data, b.len, err);
    afl_buf_free(&b);
    return rc;
}

static int save_model(run *R, afl_err *err)
{
    char path[PATH_MAX];
    int rc = path_join(path, R->dir, "model.npy", err);
    if (rc)
        return rc;
    size_t shape[1] = {R->d};
    if ((rc = afl_npy_write_f32(path, R->w, shape, 1, err)))
        return rc;
    afl_buf b = {0};
    afl_buf_printf(&b, "tensor,shape,offset,count\n");
    for (size_t i = 0; i < afl_net_n_tensors(R->net); i++) {
        const char *name;
        int sh[4], nd;
        size_t off;
        afl_net_tensor_info(R->net, i, &name, sh, &nd, &off);
        size_t cnt = 1;
        afl_buf_printf(&b, "%s,", name);
        for (int k = 0; k < nd; k++) {
            afl_buf_printf(&b, "%s%d", k ? "x" : "", sh[k]);
            cnt *= (size_t)sh[k];
        }
        afl_buf_printf(&b, ",%zu,%zu\n", off, cnt);
    }
    rc = b.oom ? afl_err_set(err, AFL_ENOMEM, "out of memory")
               : path_join(path, R->dir, "model_layout.csv", err);
    if (!rc)
        rc = afl_write_file_atomic(path, b.data, b.len, err);
    afl_buf_free(&b);
    return rc;
}

static void teardown(run *R)
{
    if (R->def && R->def_state)
        R->def->destroy(R->def_state);
    if (R->atk && R->atk_state)
        R->atk->destroy(R->atk_state);
    for (int i = 0; R->cl && i < R->n; i++) {
        afl_rng_free(R->cl[i].rng);
        free(R->cl[i].perm);
    }
    free(R->cl);
    afl_dataset_free(&R->train);
    afl_dataset_free(&R->test);
    afl_partition_free(&R->part);
    afl_ws_free(R->ws_train);
    afl_evaluator_free(R->evaluator);
    afl_net_free(R->net);
    free(R->w), free(R->g), free(R->step), free(R->wloc), free(R->gtmp), free(R->xb), free(R->yb);
    afl_versions_free(R->vs);
    afl_queue_free(R->q);
    free(R->ready);
    if (R->have_trace)
        afl_trace_free(&R->trace);
    afl_rng_free(R->delay_rng);
    afl_rng_free(R->sched_rng);
    afl_rng_free(R->def_rng);
    afl_rng_free(R->atk_rng);
    afl_rng_free(R->synth_rng);
    free(R->ring);
    free(R->known);
    free(R->genuine);
    afl_dataset_free(&R->triggered);
    afl_norm_stats_free(&R->norm);
    if (R->have_trusted)
        afl_trusted_free(&R->trusted);
}

int afl_run(const afl_config *cfg, const afl_run_opts *o, afl_run_result *res, afl_err *err)
{
    double t0 = wall_now();
    run *R = calloc(1, sizeof *R);
    if (!R)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    R->cfg = cfg;
    R->seed = (uint64_t)afl_cfg_int(cfg, "sim", "seed");
    R->time_mode = strcmp(afl_cfg_str(cfg, "sim", "mode"), "time") == 0;
    R->timing_only = strcmp(afl_cfg_str(cfg, "model", "type"), "none") == 0;
    R->rounds_target = afl_cfg_int(cfg, "sim", "rounds");
    R->max_time = afl_cfg_real(cfg, "sim", "max_time");
    R->n = (int)afl_cfg_int(cfg, "clients", "n");
    R->m = (int)floor(afl_cfg_real(cfg, "clients", "malicious") * R->n + 0.5);
    R->lr = afl_cfg_real(cfg, "train", "lr");
    R->local_lr = afl_cfg_real(cfg, "train", "local_lr");
    R->local_steps = (int)afl_cfg_int(cfg, "train", "local_steps");
    R->attack_start = afl_cfg_int(cfg, "attack", "start");
    R->attack_period = afl_cfg_int(cfg, "attack", "period");
    R->attack_duty = afl_cfg_real(cfg, "attack", "duty");
    R->know_full = strcmp(afl_cfg_str(cfg, "attack", "knowledge"), "full") == 0;
    R->mal_rate = afl_cfg_real(cfg, "attack", "rate");
    const char *ms = afl_cfg_str(cfg, "attack", "staleness");
    R->mal_staleness = strcmp(ms, "fresh") == 0 ? 1 : strcmp(ms, "max") == 0 ? 2 : 0;
    R->last_asr = NAN;
    R->last_err = R->last_loss = NAN;
    R->write_events = afl_cfg_bool(cfg, "output", "events");
    R->eval_every = afl_cfg_int(cfg, "eval", "every");
    R->eval_every_rounds = afl_cfg_int(cfg, "eval", "every_rounds");
    R->eval_every_time = R->time_mode ? afl_cfg_real(cfg, "eval", "every_time") : 0;
    R->next_eval_time = R->eval_every_time;
    R->ckpt_every = afl_cfg_int(cfg, "output", "checkpoint_every");
    R->ckpt_interval = afl_cfg_real(cfg, "output", "checkpoint_interval");
    R->t0 = R->ckpt_last_wall = t0;
    snprintf(R->status, sizeof R->status, "ok");
    R->threads = o && o->threads > 0 ? o->threads : 1;
    afl_blas_set_threads(1); /* our own threads do the parallel work; BLAS stays serial */

    /* nothing is written before the data loaded and the memory estimate fits */
    int rc = prepare_dir(R, o, 0, err);
    if (!rc)
        rc = check_memory(R, o, 0, err);
    if (!rc) {
        R->cl = calloc((size_t)R->n, sizeof *R->cl);
        R->sched_rng = afl_rng_create(R->seed, AFL_RNG_SCHED, 0);
        if (!R->cl || !R->sched_rng)
            rc = afl_err_set(err, AFL_ENOMEM, "out of memory (%d clients)", R->n);
    }
    if (!rc && !R->timing_only)
        rc = setup_data(R, err);
    if (!rc && !R->timing_only)
        rc = check_memory(R, o, 1, err);
    if (!rc)
        rc = prepare_dir(R, o, 1, err);
    char path[PATH_MAX];
    if (!rc && !R->resumed && !(rc = path_join(path, R->dir, "config.ini", err)))
        rc = afl_config_write(cfg, path, err);
    if (!rc && !R->timing_only && !R->resumed)
        rc = write_partition(R, err);
    if (!rc)
        rc = R->timing_only ? setup_synthetic(R, err) : setup_model(R, err);
    if (!rc)
        rc = setup_components(R, err);
    if (!rc && R->time_mode)
        rc = setup_time(R, err);
    if (!rc && !R->resumed)
        rc = write_clients(R, err);
    if (!rc && R->resumed && !(rc = path_join(path, R->dir, "checkpoint.ckpt", err)))
        rc = load_checkpoint(R, path, err);
    static const char *events_header =
        "time,round,version,client,malicious,attacked,base_version,staleness,update_norm,score,"
        "verdict,weight,aux";
    static const char *eval_header =
        "time,round,version,test_error,test_loss,asr,tpr,fpr,precision";
    if (!rc && R->write_events && !(rc = path_join(path, R->dir, "events.csv", err)))
        rc = R->resumed ? afl_csv_reopen(&R->events, path, events_header, R->events_len, err)
                        : afl_csv_open(&R->events, path, events_header, err);
    int events_open = !rc && R->write_events;
    if (!rc && !(rc = path_join(path, R->dir, "eval.csv", err)))
        rc = R->resumed ? afl_csv_reopen(&R->evalcsv, path, eval_header, R->eval_len, err)
                        : afl_csv_open(&R->evalcsv, path, eval_header, err);
    if (rc && events_open) {
        afl_err e0;
        afl_csv_close(&R->events, &e0);
    }
    int opened = !rc;
    if (!rc) {
        int prog = o ? o->progress : -1;
        if (prog < 0) {
            const char *p = afl_cfg_str(cfg, "output", "progress");
            prog = strcmp(p, "on") == 0 ? 1 : strcmp(p, "off") == 0 ? 0 : -1;
        }
        afl_progress_init(&R->prog, R->rounds_target, prog);
        if (!R->resumed)
            rc = evaluate(R, 0.0, err);
    }
    if (!rc)
        rc = R->time_mode ? loop_time(R, err) : loop_round(R, err);
    if (opened) {
        afl_progress_finish(&R->prog);
        if (rc == AFL_OK && R->last_eval_version != R->version)
            rc = evaluate(R, R->now, err);
        if (rc == AFL_OK && afl_cfg_bool(cfg, "output", "save_model"))
            rc = save_model(R, err);
        afl_err e2;
        int c1 = R->write_events ? afl_csv_close(&R->events, &e2) : 0;
        if (c1 && !rc) {
            rc = c1;
            *err = e2;
        }
        int c2 = afl_csv_close(&R->evalcsv, &e2);
        if (c2 && !rc) {
            rc = c2;
            *err = e2;
        }
        if (rc == AFL_OK || rc == AFL_ENUMERIC) {
            double wall = R->wall_before + (wall_now() - t0);
            int c3 = write_summary(R, wall, &e2);
            if (c3 && !rc) {
                rc = c3;
                *err = e2;
            }
            if (!c3 && !path_join(path, R->dir, "checkpoint.ckpt", &e2))
                unlink(path); /* finished: nothing left to resume */
            if (res) {
                res->wall_seconds = wall;
            }
        }
    }
    if (res) {
        res->rounds = R->round;
        res->versions = R->version;
        res->sim_time = R->now;
        res->final_test_error = R->last_err;
        res->final_test_loss = R->last_loss;
        snprintf(res->out_dir, sizeof res->out_dir, "%s", R->dir);
        snprintf(res->status, sizeof res->status, "%s", R->status);
    }
    teardown(R);
    free(R);
    return rc;
}
