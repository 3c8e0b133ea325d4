/* bench/server.c - section 4: the server's time per arriving update for every registered
 * defense (the registry is iterated, so a new defense is measured without editing this file),
 * at n = 50, 100, 300 clients with d = 139,960 (the paper's CNN) and at n = 50 with d = 500k
 * and 1M (the paper's running-time grid).
 *
 * Updates come from bench/stream.h (synthetic, gradient-like, round mode, staleness up to 10).
 * Every client first reports `warm` times untimed, so history-based defenses (SecureAFL's
 * curvature pairs, Kardam's windows) are in steady state; then on_update alone is timed, the
 * mean over enough rounds to cover buffer flushes (time per round, amortised).
 *
 * Defenses that need trusted server data get a stand-in (ctx.trusted_grad returns what a
 * trusted client would send, O(d); ctx.trusted_eval returns constants). Its time is
 * subtracted: the figure is the defense's own vector work. How many trusted gradients and
 * evaluations a round asks for is counted and shown, with what that would add with the CNN
 * (from sections 2 and 3).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/clock.h"
#include "bench/stream.h"
#include "bench/table.h"
#include "bench/traffic.h"
#include "defenses/defense.h"
#include "sim/config.h"

#define CNN_D 139960

typedef struct fake_trusted {
    bench_stream *s;
    long grads, evals;
    int batch; /* the last batch asked for */
    double seconds;
} fake_trusted;

static float fake_grad(void *env, const float *w, int batch, float *grad)
{
    fake_trusted *f = env;
    double t0 = bench_now();
    (void)w;
    stream_trusted(f->s, grad);
    f->grads++;
    f->batch = batch;
    f->seconds += bench_now() - t0;
    return 1.0f;
}

static void fake_eval(void *env, const float *w, double *loss, double *entropy)
{
    fake_trusted *f = env;
    (void)w;
    *loss = 0.5 + 0.01 * (double)(f->evals % 7);
    *entropy = 0.5;
    f->evals++;
}

typedef struct measured {
    double s_per_round;
    long rounds;
    long verdicts[4];
    double grads, evals; /* trusted gradients and evaluations per round */
    int grad_batch, trusted_n;
    char warm_note[96]; /* set when the warm-up was cut short */
    char err[1100];
} measured;

static afl_config *config_for(const char *name, int n, size_t d, afl_err *err)
{
    char sets[6][96];
    snprintf(sets[0], sizeof sets[0], "defense.type=%s", name);
    snprintf(sets[1], sizeof sets[1], "clients.n=%d", n);
    snprintf(sets[2], sizeof sets[2], "model.type=none");
    snprintf(sets[3], sizeof sets[3], "model.dim=%zu", d);
    snprintf(sets[4], sizeof sets[4], "train.lr=0.01");
    snprintf(sets[5], sizeof sets[5], "train.batch=32");
    afl_config *cfg = afl_config_new();
    if (!cfg) {
        afl_err_set(err, AFL_ENOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        if (afl_config_override(cfg, sets[i], err)) {
            afl_config_free(cfg);
            return NULL;
        }
    if (afl_config_resolve(cfg, err)) {
        afl_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void measure(const bench_ctx *c, const afl_defense_ops *ops, const afl_config *cfg,
                    bench_stream *s, int warm, measured *m)
{
    const int n = s->n;
    const size_t d = s->d;
    memset(m, 0, sizeof *m);
    m->s_per_round = NAN;
    afl_err err = {0};
    float *step = malloc(d * sizeof *step);
    afl_rng *rng = afl_rng_create(1, AFL_RNG_DEFENSE, 0);
    if (!step || !rng) {
        snprintf(m->err, sizeof m->err, "out of memory");
        free(step);
        afl_rng_free(rng);
        return;
    }
    stream_reset(s, 12345);
    fake_trusted fake = {s, 0, 0, 0, 0};
    m->trusted_n = (int)afl_cfg_int(cfg, "defense", "trusted_size");
    afl_defense_ctx ctx = {cfg, n, 10, d, 0.01, 32, 1, rng, 0, NULL, NULL, NULL, c->threads};
    if (ops->needs_trusted_data) {
        ctx.trusted_n = m->trusted_n;
        ctx.trusted_grad = fake_grad;
        ctx.trusted_eval = fake_eval;
        ctx.env = &fake;
    }
    void *state = NULL;
    if (ops->create(&ctx, &state, &err)) {
        snprintf(m->err, sizeof m->err, "create: %s", err.msg);
        goto done;
    }
    const double t_min = c->quick ? 0.2 : 1.0;
    /* a warm-up that would take longer than this is cut short (and said so) */
    const double warm_budget = c->quick ? 20.0 : 120.0, t_start = bench_now();
    double timed = 0, started = 0;
    long grads0 = 0, evals0 = 0, warm_rounds = (long)warm * n;
    for (long r = 0;; r++) {
        if (r < warm_rounds && r > 0 && bench_now() - t_start > warm_budget) {
            snprintf(m->warm_note, sizeof m->warm_note,
                     " (warm-up cut at %ld rounds: %.1f reports per client)", r, (double)r / n);
            warm_rounds = r;
        }
        int timing = r >= warm_rounds;
        if (timing && !started) {
            started = bench_now();
            grads0 = fake.grads;
            evals0 = fake.evals;
        }
        afl_update u;
        afl_decision dec = {0};
        stream_next(s, &u);
        double f0 = fake.seconds, t0 = bench_now();
        int rc = ops->on_update(state, &u, step, &dec, &err);
        double t = bench_now() - t0 - (fake.seconds - f0);
        if (rc) {
            snprintf(m->err, sizeof m->err, "on_update: %s", err.msg);
            break;
        }
        if (dec.apply)
            stream_apply(s, step);
        if (!timing)
            continue;
        timed += t;
        m->rounds++;
        if ((unsigned)dec.verdict < 4)
            m->verdicts[dec.verdict]++;
        if (m->rounds >= 20 && (timed >= t_min || bench_now() - started >= 5 * t_min))
            break;
        if (m->rounds >= 3 && timed >= 10 * t_min) /* slow rules: a few rounds suffice */
            break;
        if (m->rounds >= 20000)
            break;
    }
    if (!m->err[0] && m->rounds > 0) {
        m->s_per_round = timed / (double)m->rounds;
        m->grads = (double)(fake.grads - grads0) / (double)m->rounds;
        m->evals = (double)(fake.evals - evals0) / (double)m->rounds;
        m->grad_batch = fake.batch;
    }
    ops->destroy(state);
done:
    free(step);
    afl_rng_free(rng);
}

/* name is in the comma-separated list (NULL: every name is). */
static int listed(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, len) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

void bench_server(bench_ctx *c, int report)
{
    static const struct {
        int n;
        size_t d;
    } grid[] = {{50, CNN_D}, {100, CNN_D}, {300, CNN_D}, {50, 500000}, {50, 1000000}};
    const int warm = c->quick ? 2 : 4;
    /* the machine's limit: the better of one and two reading threads */
    const double bw = c->bw[1] > c->bw[0] ? c->bw[1] : c->bw[0];
    size_t nd = 0;
    const afl_component *comps = afl_defense_components(&nd);
    if (report) {
        table_section("4. server time per arriving update, every registered defense");
        table_info("synthetic gradient-like updates, round mode, staleness U{0..10}; each client "
                   "reports %d times untimed first; limit = the defense's memory traffic "
                   "(traffic model in the note) at %.1f GB/s",
                   warm, bw / 1e9);
    }
    for (const char *p = c->defenses; report && p && *p;) {
        size_t len = strcspn(p, ",");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)(len < 63 ? len : 63), p);
        if (!afl_defense_find(one))
            table_info("'%s' is not a registered defense (aflsim list defenses)", one);
        p += len + (p[len] == ',');
    }
    for (size_t gi = 0; gi < sizeof grid / sizeof grid[0]; gi++) {
        int n = grid[gi].n;
        size_t d = grid[gi].d;
        bench_stream s;
        if (stream_init(&s, n, d, 0.01, 12345)) {
            fprintf(stderr, "aflsim-bench: out of memory (update stream n=%d d=%zu)\n", n, d);
            continue;
        }
        for (size_t k = 0; k < nd; k++) {
            const char *name = comps[k].name;
            if (!listed(c->defenses, name))
                continue;
            const afl_defense_ops *ops = afl_defense_find(name);
            char row[96], what[256];
            snprintf(row, sizeof row, "%s n=%d d=%zu", name, n, d);
            int paper = n == 50 && d == CNN_D;
            const char *target = !paper                           ? ""
                                 : strcmp(name, "asyncsgd") == 0  ? "<= 0.1"
                                 : strcmp(name, "secureafl") == 0 ? "<= 10"
                                                                  : "";
            afl_err err = {0};
            afl_config *cfg = ops ? config_for(name, n, d, &err) : NULL;
            if (!cfg) {
                if (report)
                    table_row(row, NAN, "ms", target, NAN, LOWER_BETTER, "not measured: %s",
                              ops ? err.msg : "not in the registry");
                continue;
            }
            bench_progress(c, "server: %s", row);
            measured m;
            measure(c, ops, cfg, &s, warm, &m);
            double bytes = traffic_bytes(name, cfg, n, d, what, sizeof what);
            afl_config_free(cfg);
            if (paper && strcmp(name, "asyncsgd") == 0)
                c->server_asyncsgd_s = m.s_per_round;
            if (paper && strcmp(name, "secureafl") == 0)
                c->server_secureafl_s = m.s_per_round;
            if (!report)
                continue;
            if (m.err[0]) {
                table_row(row, NAN, "ms", target, NAN, LOWER_BETTER, "failed: %s", m.err);
                continue;
            }
            char extra[320] = "";
            if (m.grads > 0 || m.evals > 0) {
                int b =
                    m.grad_batch <= 0 || m.grad_batch > m.trusted_n ? m.trusted_n : m.grad_batch;
                char g[64] = "", e[64] = "", cnn[64] = "";
                if (m.grads > 0)
                    snprintf(g, sizeof g, "%.2f gradients (batch %d)", m.grads, b);
                if (m.evals > 0)
                    snprintf(e, sizeof e, "%s%.2f evaluations (%d examples)", g[0] ? " + " : "",
                             m.evals, m.trusted_n);
                if (d == CNN_D && !isnan(c->step_s) && !isnan(c->eval_s[0]))
                    snprintf(cnn, sizeof cnn, ", about +%.2f ms with the CNN",
                             1e3 * (m.grads * c->step_s * b / 32.0 +
                                    m.evals * c->eval_s[0] * m.trusted_n / 10000.0));
                snprintf(extra, sizeof extra, "; trusted data not timed: %s%s per round%s", g, e,
                         cnn);
            }
            char traffic[320];
            if (isnan(bytes))
                snprintf(traffic, sizeof traffic, "no traffic model");
            else
                snprintf(traffic, sizeof traffic, "traffic %s = %.1f MB", what, bytes / 1e6);
            long tot = m.verdicts[0] + m.verdicts[1] + m.verdicts[2] + m.verdicts[3];
            double limit_ms = 1e3 * bytes / bw;
            table_row(row, 1e3 * m.s_per_round, "ms", target, limit_ms, LOWER_BETTER,
                      "%s; mean of %ld rounds%s; verdicts %.0f%% accepted %.0f%% rejected "
                      "%.0f%% held %.0f%% weighted%s",
                      traffic, m.rounds, m.warm_note, 100.0 * m.verdicts[0] / tot,
                      100.0 * m.verdicts[1] / tot, 100.0 * m.verdicts[2] / tot,
                      100.0 * m.verdicts[3] / tot, extra);
        }
        stream_free(&s);
    }
}
