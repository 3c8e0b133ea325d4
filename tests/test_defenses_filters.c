/* tests/test_defenses_filters.c - the per-update filter defenses (Kardam, Zeno++,
 * AFLGuard, Sageflow, AsyncDefender) driven through their afl_defense_ops with a
 * hand-built context: hand-checkable scores and thresholds, the behaviours the issue
 * names (Kardam rejects a 100x update, Zeno++ rejects a reversed update, AFLGuard accepts
 * the server update itself, Sageflow filters a high-entropy model), hostile vectors, and
 * side-effect-free probes. */
#include <math.h>

#include "defenses/defense.h"
#include "testutil.h"

enum { MAXD = 16 };

/* ---- fake trusted data ---------------------------------------------------------------- */

typedef struct {
    float v[MAXD];       /* trusted_grad returns this vector (plus 0 * w) */
    int calls;           /* trusted_grad calls */
    int last_batch;      /* batch of the last trusted_grad call */
    const float *last_w; /* model of the last trusted_grad call */
    int evals;           /* trusted_eval calls */
} fake_env;

static size_t fake_d;

static float fake_grad(void *env, const float *w, int batch, float *grad)
{
    fake_env *e = env;
    e->calls++;
    e->last_batch = batch;
    e->last_w = w;
    for (size_t i = 0; i < fake_d; i++)
        grad[i] = e->v[i];
    return 1.0f;
}

/* entropy = w[0], loss = w[1] (both read off the model, so tests can place them) */
static void fake_eval(void *env, const float *w, double *loss, double *entropy)
{
    fake_env *e = env;
    e->evals++;
    *entropy = w[0];
    *loss = w[1];
}

/* ---- harness --------------------------------------------------------------------------- */

typedef struct {
    const afl_defense_ops *ops;
    afl_config *cfg;
    afl_rng *rng;
    fake_env env;
    afl_defense_ctx ctx;
    void *st;
} harness;

/* Creates defense `name` with n clients, dimension d, server lr, and extra "key=value"
 * overrides of [defense] (NULL-terminated). */
static void h_open(harness *h, const char *name, int n, size_t d, double lr,
                   const char *const *sets)
{
    memset(h, 0, sizeof *h);
    afl_err err = {0};
    char buf[160];
    fake_d = d;
    h->ops = afl_defense_find(name);
    cr_assert_not_null(h->ops, "%s is not registered", name);
    h->cfg = afl_config_new();
    snprintf(buf, sizeof buf, "defense.type=%s", name);
    cr_assert_eq(afl_config_override(h->cfg, buf, &err), AFL_OK, "%s", err.msg);
    snprintf(buf, sizeof buf, "clients.n=%d", n);
    cr_assert_eq(afl_config_override(h->cfg, buf, &err), AFL_OK, "%s", err.msg);
    for (int i = 0; sets && sets[i]; i++) {
        snprintf(buf, sizeof buf, "defense.%s", sets[i]);
        cr_assert_eq(afl_config_override(h->cfg, buf, &err), AFL_OK, "%s", err.msg);
    }
    cr_assert_eq(afl_config_resolve(h->cfg, &err), AFL_OK, "%s", err.msg);
    h->rng = afl_rng_create(3, AFL_RNG_DEFENSE, 0);
    afl_defense_ctx c = {h->cfg, n, 10, d, lr, 8, 3, h->rng, 100, fake_grad, fake_eval, &h->env};
    h->ctx = c;
    cr_assert_eq(h->ops->create(&h->ctx, &h->st, &err), AFL_OK, "%s", err.msg);
}

static void h_close(harness *h)
{
    h->ops->destroy(h->st);
    afl_rng_free(h->rng);
    afl_config_free(h->cfg);
}

/* One arrival: client c, update g, trained on w_base (version base), current model w_cur
 * (version ver).  Returns the decision; step receives the step. */
static afl_decision h_send(harness *h, int c, const float *g, const float *w_base, int64_t base,
                           const float *w_cur, int64_t ver, float *step)
{
    afl_update u = {c, base, ver, ver - base, (double)ver, g, w_base, w_cur};
    afl_decision dec = {AFL_VERDICT_ACCEPTED, NAN, NAN, 0, NAN};
    afl_err err = {0};
    cr_assert_eq(h->ops->on_update(h->st, &u, step, &dec, &err), AFL_OK, "%s", err.msg);
    return dec;
}

/* ---- Kardam ---------------------------------------------------------------------------- */

static const char *const kardam_worker[] = {"coefficient=worker", NULL};

Test(kardam, coefficient_is_gradient_change_over_model_change)
{
    harness h;
    h_open(&h, "kardam", 4, 4, 0.1, kardam_worker);
    float x1[4] = {0, 0, 0, 0}, x2[4] = {0, 0, 0, 2};
    float g1[4] = {1, 0, 0, 0}, g2[4] = {1, 3, 4, 0}, step[4];
    afl_decision d = h_send(&h, 0, g1, x1, 0, x1, 0, step);
    cr_assert(isnan(d.score), "a worker's first request has no coefficient");
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED);
    d = h_send(&h, 0, g2, x2, 1, x2, 1, step);
    /* ||g2 - g1|| / ||x2 - x1|| = 5 / 2 */
    cr_assert_float_eq(d.score, 2.5, 1e-12);
    cr_assert_float_eq(d.aux, 2.5, 1e-12, "one worker: the threshold is its own maximum");
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert(d.apply);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(step[i], g2[i], 0);
    h_close(&h);
}

/* Worker w sends 0 at the zero model, then k e_1 at e_0: coefficient k. */
static afl_decision send_coef(harness *h, int w, float k, int64_t *ver)
{
    float zero[MAXD] = {0}, x[MAXD] = {0}, g[MAXD] = {0}, step[MAXD];
    x[0] = 1;
    g[1] = k;
    (void)zero;
    afl_decision d = h_send(h, w, g, x, *ver, x, *ver, step);
    return d;
}

Test(kardam, threshold_is_the_two_thirds_quantile_of_per_worker_maxima)
{
    harness h;
    h_open(&h, "kardam", 4, 4, 0.1, kardam_worker);
    float zero[4] = {0}, step[4];
    int64_t ver = 0;
    for (int w = 0; w < 4; w++)
        cr_assert_eq(h_send(&h, w, zero, zero, 0, zero, 0, step).verdict, AFL_VERDICT_ACCEPTED);
    /* coefficients 1, 2, 3, 4 in turn; q = 1 - f_frac = 2/3, linear interpolation */
    afl_decision d = send_coef(&h, 0, 1, &ver);
    cr_assert_float_eq(d.aux, 1.0, 1e-9);
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED);
    d = send_coef(&h, 1, 2, &ver); /* maxima {1,2}: 1 + 2/3 */
    cr_assert_float_eq(d.aux, 1.0 + 2.0 / 3.0, 1e-6);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    d = send_coef(&h, 2, 3, &ver); /* maxima {1,2,3}: position 4/3 -> 2 + 1/3 */
    cr_assert_float_eq(d.aux, 2.0 + 1.0 / 3.0, 1e-6);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    d = send_coef(&h, 3, 4, &ver); /* maxima {1,2,3,4}: position 2 -> 3 */
    cr_assert_float_eq(d.score, 4.0, 1e-9);
    cr_assert_float_eq(d.aux, 3.0, 1e-9);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    cr_assert(!d.apply);
    h_close(&h);
}

Test(kardam, anti_stall_accepts_after_n_consecutive_rejections)
{
    harness h;
    h_open(&h, "kardam", 4, 4, 0.1, kardam_worker);
    float zero[4] = {0}, step[4];
    int64_t ver = 0;
    for (int w = 0; w < 4; w++)
        h_send(&h, w, zero, zero, 0, zero, 0, step);
    send_coef(&h, 0, 1, &ver);
    send_coef(&h, 1, 1, &ver);
    send_coef(&h, 2, 1, &ver);
    /* worker 3 alternates huge coefficients: 4 (= n) rejections, then one acceptance */
    for (int i = 0; i < 4; i++) {
        float x[4] = {(float)(i % 2), 0, 0, 0}, g[4] = {0, (float)(1000 * (i % 2)), 0, 0};
        afl_decision d = h_send(&h, 3, g, x, 0, x, 0, step);
        if (i > 0)
            cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED, "request %d", i);
    }
    /* three rejections so far (the first request had no coefficient) */
    float x[4] = {0, 0, 0, 0}, g[4] = {0, 0, 0, 0};
    cr_assert_eq(h_send(&h, 3, g, x, 0, x, 0, step).verdict, AFL_VERDICT_REJECTED);
    float x5[4] = {1, 0, 0, 0}, g5[4] = {0, 1000, 0, 0};
    afl_decision d = h_send(&h, 3, g5, x5, 0, x5, 0, step);
    cr_assert_gt(d.score, d.aux, "the coefficient is still above the threshold");
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED, "the 5th after 4 rejections is accepted");
    h_close(&h);
}

Test(kardam, inverse_dampening_weights_by_one_over_one_plus_staleness)
{
    harness h;
    const char *sets[] = {"coefficient=worker", "dampening=inverse", NULL};
    h_open(&h, "kardam", 4, 4, 0.1, sets);
    float w[4] = {0}, g[4] = {4, 8, -4, 0}, step[4];
    afl_decision d = h_send(&h, 1, g, w, 7, w, 10, step); /* tau = 3 */
    cr_assert_eq(d.verdict, AFL_VERDICT_WEIGHTED);
    cr_assert_float_eq(d.weight, 0.25, 1e-12);
    cr_assert_float_eq(step[0], 1.0f, 0);
    cr_assert_float_eq(step[1], 2.0f, 0);
    cr_assert_float_eq(step[2], -1.0f, 0);
    h_close(&h);
}

Test(kardam, frequency_filter_stops_a_worker_from_dominating)
{
    harness h;
    const char *sets[] = {"coefficient=worker", "frequency_filter=true", "f_frac=0.25",
                          NULL}; /* n = 8: f = 2 */
    h_open(&h, "kardam", 8, 4, 0.1, sets);
    float step[4];
    for (int i = 0; i < 3; i++) {
        float x[4] = {(float)i, 0, 0, 0}, g[4] = {0, 1, 0, 0};
        afl_decision d = h_send(&h, 5, g, x, i, x, i, step);
        cr_assert_eq(d.verdict, i < 2 ? AFL_VERDICT_ACCEPTED : AFL_VERDICT_REJECTED, "request %d",
                     i);
    }
    float x[4] = {0}, g[4] = {0, 1, 0, 0};
    cr_assert_eq(h_send(&h, 6, g, x, 0, x, 0, step).verdict, AFL_VERDICT_ACCEPTED,
                 "another worker still gets in");
    h_close(&h);
}

/* A small quadratic problem: honest gradient of 0.5 ||x - x*||^2 with a little noise. */
static void honest(const float *x, float *g, afl_rng *r, size_t d)
{
    for (size_t i = 0; i < d; i++)
        g[i] = (x[i] - (float)(i % 3)) + 0.01f * (float)afl_rng_normal(r);
}

/* Client 0 turns to 100x updates at arrival 100 (its first request may fall before or
 * after); first_attack_is_first_request: it sends 100x from its very first request. */
static void kardam_100x(const char *const *sets, int from_first)
{
    enum { D = 8, N = 10, HIST = 12 };
    harness h;
    h_open(&h, "kardam", N, D, 0.1, sets);
    afl_rng *r = afl_rng_create(11, AFL_RNG_TEST, 0);
    float models[HIST][D] = {{0}}, g[D], step[D];
    for (int i = 0; i < D; i++)
        models[0][i] = 5.0f * (float)afl_rng_normal(r);
    int64_t ver = 0;
    int attacker_seen = 0, attacker_rejected = 0, honest_rejected = 0, honest_n = 0;
    for (int t = 0; t < 600; t++) {
        int c = (int)afl_rng_below(r, N);
        int64_t tau = (int64_t)afl_rng_below(r, (uint64_t)(ver < 5 ? ver : 5) + 1);
        const float *xb = models[(ver - tau) % HIST];
        honest(xb, g, r, D);
        int attack = c == 0 && (from_first || t >= 100);
        if (attack)
            for (int i = 0; i < D; i++)
                g[i] *= 100.0f;
        afl_decision d = h_send(&h, c, g, xb, ver - tau, models[ver % HIST], ver, step);
        if (attack && (from_first || !isnan(d.score))) {
            attacker_seen++;
            attacker_rejected += d.verdict == AFL_VERDICT_REJECTED;
        } else if (!attack && t >= 100) {
            honest_n++;
            honest_rejected += d.verdict == AFL_VERDICT_REJECTED;
        }
        if (d.apply) {
            for (int i = 0; i < D; i++)
                models[(ver + 1) % HIST][i] = models[ver % HIST][i] - 0.1f * step[i];
            ver++;
        }
    }
    cr_assert_gt(attacker_seen, 20);
    cr_assert_eq(attacker_rejected, attacker_seen, "100x updates accepted: %d of %d",
                 attacker_seen - attacker_rejected, attacker_seen);
    cr_assert_lt(honest_rejected, honest_n / 2, "honest rejected %d of %d", honest_rejected,
                 honest_n);
    afl_rng_free(r);
    h_close(&h);
}

Test(kardam, rejects_a_100x_update)
{
    kardam_100x(NULL, 0); /* coefficient = global (default) */
    kardam_100x(kardam_worker, 0);
}

/* The default compares every request with the last accepted update, so an attacker's very
 * first request is tested too; the template's per-worker coefficient has nothing to compare
 * a worker's first request with and accepts it (docs/defenses-filters.md). */
Test(kardam, default_tests_a_workers_first_request)
{
    kardam_100x(NULL, 1);
    harness h;
    h_open(&h, "kardam", 4, 4, 0.1, kardam_worker);
    float x[4] = {0}, g[4] = {100, 0, 0, 0}, step[4];
    afl_decision d = h_send(&h, 1, g, x, 0, x, 0, step);
    cr_assert(isnan(d.score) && d.verdict == AFL_VERDICT_ACCEPTED);
    h_close(&h);
}

/* ---- Zeno++ ---------------------------------------------------------------------------- */

Test(zenopp, score_is_gamma_inner_minus_rho_norm_with_the_rescaled_update)
{
    harness h;
    h_open(&h, "zenopp", 4, 4, 0.1, NULL);
    h.env.v[0] = 3, h.env.v[1] = 4; /* ||v|| = 5 */
    float w[4] = {0}, g[4] = {0, 2, 0, 0}, step[4];
    afl_decision d = h_send(&h, 0, g, w, 0, w, 0, step);
    /* c = 5/2, g~ = (0,5,0,0), <v,g~> = 20; paper Q = ||g~||^2 = 25:
     * score = 0.1 * 20 - 0.001 * 25 = 1.975 */
    cr_assert_float_eq(d.score, 1.975, 1e-9);
    cr_assert_float_eq(d.aux, 0.8, 1e-9, "cos(v, g) = 8 / 10");
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert(d.apply);
    cr_assert_float_eq(step[1], 5.0f, 1e-6, "the rescaled update is applied");
    cr_assert_float_eq(step[0], 0.0f, 0);
    h_close(&h);

    const char *code[] = {"q=code", NULL};
    h_open(&h, "zenopp", 4, 4, 0.1, code);
    h.env.v[0] = 3, h.env.v[1] = 4;
    d = h_send(&h, 0, g, w, 0, w, 0, step);
    /* code Q = ||g||^2 = 4: score = 2 - 0.004 */
    cr_assert_float_eq(d.score, 1.996, 1e-9);
    h_close(&h);
}

Test(zenopp, rejects_a_reversed_update)
{
    harness h;
    h_open(&h, "zenopp", 4, 4, 0.1, NULL);
    h.env.v[0] = 1, h.env.v[1] = -2, h.env.v[2] = 0.5f;
    float w[4] = {0}, g[4], step[4];
    for (int i = 0; i < 4; i++)
        g[i] = 0.9f * h.env.v[i];
    cr_assert_eq(h_send(&h, 0, g, w, 0, w, 0, step).verdict, AFL_VERDICT_ACCEPTED);
    for (int i = 0; i < 4; i++)
        g[i] = -g[i];
    afl_decision d = h_send(&h, 1, g, w, 0, w, 0, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    cr_assert(!d.apply);
    cr_assert_lt(d.score, 0);
    cr_assert_float_eq(d.aux, -1.0, 1e-6);
    h_close(&h);
}

Test(zenopp, trusted_gradient_is_refreshed_every_k_r_arrivals_at_the_current_model)
{
    harness h;
    const char *sets[] = {"refresh=3", NULL};
    h_open(&h, "zenopp", 4, 4, 0.1, sets);
    h.env.v[0] = 1;
    float wb[4] = {0}, wc[4] = {1, 1, 1, 1}, g[4] = {1, 0, 0, 0}, step[4];
    for (int t = 0; t < 7; t++)
        h_send(&h, t % 4, g, wb, 0, wc, 2, step);
    cr_assert_eq(h.env.calls, 3, "arrivals 0, 3, 6");
    cr_assert_eq(h.env.last_w, wc, "v is computed at the current model");
    cr_assert_eq(h.env.last_batch, 0, "n_r = min(128, trusted_n = 100): the whole set");
    h_close(&h);
}

/* ---- AFLGuard -------------------------------------------------------------------------- */

Test(aflguard, accepts_the_server_update_itself)
{
    harness h;
    h_open(&h, "aflguard", 4, 4, 0.1, NULL);
    h.env.v[0] = 1, h.env.v[1] = -3, h.env.v[3] = 2;
    float wb[4] = {0}, wc[4] = {1, 1, 1, 1}, step[4];
    afl_decision d = h_send(&h, 0, h.env.v, wb, 0, wc, 3, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert(d.apply);
    cr_assert_float_eq(d.score, 0.0, 1e-12);
    cr_assert_float_eq(d.aux, 1.0, 1e-9);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(step[i], h.env.v[i], 0, "accepted updates are applied as is");
    cr_assert_eq(h.env.last_w, wb, "default ref_model = client_version: s at w_base");
    cr_assert_eq(h.env.last_batch, 8, "s from one minibatch of train.batch like a client");
    h_close(&h);
}

Test(aflguard, rejects_a_reversed_update_and_scores_the_relative_distance)
{
    harness h;
    h_open(&h, "aflguard", 4, 4, 0.1, NULL);
    h.env.v[0] = 1, h.env.v[1] = -3, h.env.v[3] = 2;
    float w[4] = {0}, g[4], step[4];
    for (int i = 0; i < 4; i++)
        g[i] = -h.env.v[i];
    afl_decision d = h_send(&h, 0, g, w, 0, w, 0, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    cr_assert(!d.apply);
    cr_assert_float_eq(d.score, 2.0, 1e-9, "||-s - s|| / ||s|| = 2 > lambda = 1.5");
    /* the edge of the ball: g = s + 1.5 ||s|| e with e orthogonal to s is accepted */
    double sn = sqrt(1.0 + 9.0 + 4.0);
    float edge[4] = {h.env.v[0], h.env.v[1], (float)(1.499 * sn), h.env.v[3]};
    cr_assert_eq(h_send(&h, 0, edge, w, 0, w, 0, step).verdict, AFL_VERDICT_ACCEPTED);
    edge[2] = (float)(1.501 * sn);
    cr_assert_eq(h_send(&h, 0, edge, w, 0, w, 0, step).verdict, AFL_VERDICT_REJECTED);
    h_close(&h);
}

Test(aflguard, current_reference_and_full_set_are_options)
{
    harness h;
    const char *sets[] = {"ref_model=current", "server_update=full", NULL};
    h_open(&h, "aflguard", 4, 4, 0.1, sets);
    h.env.v[0] = 1;
    float wb[4] = {0}, wc[4] = {1, 0, 0, 0}, g[4] = {1, 0, 0, 0}, step[4];
    h_send(&h, 0, g, wb, 0, wc, 1, step);
    cr_assert_eq(h.env.last_w, wc);
    cr_assert_eq(h.env.last_batch, 0);
    h_close(&h);
}

/* ---- Sageflow -------------------------------------------------------------------------- */

/* fake_eval reads entropy = x[0] and loss = x[1] off x = w_base - lr g. */

Test(sageflow, filters_a_high_entropy_model)
{
    harness h;
    h_open(&h, "sageflow", 10, 4, 0.1, NULL); /* round of 2 arrivals */
    float wb[4] = {0.5f, 1, 0, 0}, step[4];   /* base: entropy 0.5 < E_th = 1, loss 1 */
    float g[4] = {-15, 0, 0, 0};              /* x[0] = 0.5 + 1.5 = 2 nats */
    afl_decision d = h_send(&h, 0, g, wb, 0, wb, 0, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    cr_assert_float_eq(d.score, 2.0, 1e-6);
    cr_assert(!d.apply);
    float ok[4] = {1, 0, 0, 0}; /* x[0] = 0.4 */
    d = h_send(&h, 1, ok, wb, 0, wb, 0, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED, "end of the round: the survivor is applied");
    cr_assert(d.apply);
    cr_assert_float_eq(step[0], 1.0f, 1e-6, "only the unfiltered update is averaged");
    h_close(&h);
}

Test(sageflow, does_not_filter_while_the_base_model_is_uncertain_unless_eth_ref_none)
{
    harness h;
    h_open(&h, "sageflow", 10, 4, 0.1, NULL);
    float wb[4] = {2.3f, 1, 0, 0}, g[4] = {-1, 0, 0, 0}, step[4]; /* x[0] = 2.4 */
    cr_assert_eq(h_send(&h, 0, g, wb, 0, wb, 0, step).verdict, AFL_VERDICT_HELD);
    h_close(&h);
    const char *none[] = {"eth_ref=none", NULL};
    h_open(&h, "sageflow", 10, 4, 0.1, none);
    cr_assert_eq(h_send(&h, 0, g, wb, 0, wb, 0, step).verdict, AFL_VERDICT_REJECTED);
    h_close(&h);
}

Test(sageflow, loss_weighted_average_within_a_round)
{
    harness h;
    h_open(&h, "sageflow", 10, 4, 0.1, NULL);
    float wb[4] = {0.5f, 0, 0, 0}, step[4];
    float g1[4] = {0, -10, 0, 0}; /* x[1] = loss 1: alpha = 1 */
    float g2[4] = {0, -20, 0, 0}; /* loss 2: alpha = 1/2 */
    afl_decision d = h_send(&h, 0, g1, wb, 0, wb, 0, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_HELD);
    cr_assert(!d.apply);
    cr_assert_float_eq(d.aux, 1.0, 1e-6);
    d = h_send(&h, 1, g2, wb, 0, wb, 0, step);
    cr_assert(d.apply);
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert_float_eq(step[1], (1.0f * -10 + 0.5f * -20) / 1.5f, 1e-5);
    cr_assert_float_eq(d.weight, 0.5 / 1.5, 1e-9, "its share of the aggregate");
    h_close(&h);
}

Test(sageflow, stale_groups_weigh_m_times_tau_plus_one_to_the_minus_lambda)
{
    harness h;
    h_open(&h, "sageflow", 10, 4, 0.1, NULL); /* lambda = 0.5 */
    float wcur[4] = {0.5f, 0, 0, 2}, wold[4] = {0.5f, 0, 0, 1}, step[4];
    float g0[4] = {0, -10, 3, 0}, g3[4] = {0, -10, 6, 0};       /* both loss 1 */
    h_send(&h, 0, g0, wcur, 5, wcur, 5, step);                  /* tau 0 */
    afl_decision d = h_send(&h, 1, g3, wold, 2, wcur, 5, step); /* tau 3: (3+1)^-0.5 = 1/2 */
    cr_assert(d.apply);
    /* omega = (2/3, 1/3); step = 2/3 g0 + 1/3 (g3 + (w_cur - w_old) / lr) */
    cr_assert_float_eq(step[2], 2.0f / 3 * 3 + 1.0f / 3 * 6, 1e-5);
    cr_assert_float_eq(step[3], 1.0f / 3 * (1.0f / 0.1f), 1e-4,
                       "the stale model pulls the global model back (Sageflow averages models)");
    h_close(&h);
}

/* ---- AsyncDefender --------------------------------------------------------------------- */

Test(asyncdefender, weights_by_the_positive_part_of_the_cosine_with_the_reference)
{
    harness h;
    h_open(&h, "asyncdefender", 4, 4, 0.1, NULL);
    float w[4] = {0}, step[4];
    float g1[4] = {2, 0, 0, 0}, g2[4] = {1, 1, 0, 0}, g3[4] = {-1, 0, 0, 0};
    afl_decision d = h_send(&h, 0, g1, w, 0, w, 0, step);
    cr_assert_eq(d.verdict, AFL_VERDICT_ACCEPTED, "no reference yet: weight 1");
    cr_assert_float_eq(step[0], 2.0f, 0);
    d = h_send(&h, 1, g2, w, 0, w, 1, step); /* r = (1,0,0,0) */
    cr_assert_eq(d.verdict, AFL_VERDICT_WEIGHTED);
    cr_assert_float_eq(d.score, M_SQRT1_2, 1e-6);
    cr_assert_float_eq(d.weight, M_SQRT1_2, 1e-6);
    cr_assert_float_eq(step[1], (float)M_SQRT1_2, 1e-6);
    d = h_send(&h, 2, g3, w, 0, w, 2, step);
    cr_assert_lt(d.score, 0);
    cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED);
    cr_assert(!d.apply);
    h_close(&h);
}

/* ---- every filter defense -------------------------------------------------------------- */

static const char *const filters[] = {"kardam", "zenopp", "aflguard", "sageflow", "asyncdefender"};

Test(filter_defenses, survive_nan_inf_huge_and_zero_updates_and_reject_non_finite_ones)
{
    enum { D = 6 };
    for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) {
        harness h;
        h_open(&h, filters[k], 4, D, 0.01, NULL);
        for (int i = 0; i < D; i++)
            h.env.v[i] = (float)(i + 1) * 0.1f;
        float w[D] = {0.5f, 0.5f, 0, 0, 0, 0}, step[D];
        afl_rng *r = afl_rng_create(2, AFL_RNG_TEST, 0);
        for (int t = 0; t < 60; t++) {
            float g[D];
            for (int i = 0; i < D; i++)
                g[i] = h.env.v[i] + 0.01f * (float)afl_rng_normal(r);
            int kind = t >= 20 ? t % 5 : -1;
            switch (kind) {
            case 0: g[2] = NAN; break;
            case 1: g[4] = -INFINITY; break;
            case 2:
                for (int i = 0; i < D; i++)
                    g[i] = 1e30f;
                break;
            case 3:
                for (int i = 0; i < D; i++)
                    g[i] = 0;
                break;
            default: break;
            }
            for (int i = 0; i < D; i++)
                step[i] = NAN;
            afl_decision d = h_send(&h, t % 4, g, w, t, w, t, step);
            cr_assert(d.verdict <= AFL_VERDICT_WEIGHTED, "%s", filters[k]);
            if (kind == 0 || kind == 1)
                cr_assert_eq(d.verdict, AFL_VERDICT_REJECTED, "%s accepted a non-finite update",
                             filters[k]);
            if (d.apply)
                for (int i = 0; i < D; i++)
                    cr_assert(isfinite(step[i]), "%s round %d kind %d: step[%d] = %g", filters[k],
                              t, kind, i, step[i]);
        }
        afl_rng_free(r);
        h_close(&h);
    }
}

Test(filter_defenses, probes_change_neither_state_nor_decisions)
{
    enum { D = 6, T = 80 };
    for (size_t k = 0; k < sizeof filters / sizeof *filters; k++) {
        const afl_defense_ops *ops = afl_defense_find(filters[k]);
        cr_assert_not_null(ops->probe, "%s has a probe", filters[k]);
        afl_verdict v[2][T];
        double sc[2][T];
        for (int pass = 0; pass < 2; pass++) {
            harness h;
            h_open(&h, filters[k], 4, D, 0.01, NULL);
            for (int i = 0; i < D; i++)
                h.env.v[i] = (float)(i + 1) * 0.1f;
            afl_rng *r = afl_rng_create(9, AFL_RNG_TEST, 0);
            float w[D] = {0.5f, 0.5f, 0, 0, 0, 0}, step[D];
            for (int t = 0; t < T; t++) {
                float g[D];
                for (int i = 0; i < D; i++)
                    g[i] = h.env.v[i] * (t % 7 == 3 ? -50.0f : 1.0f) +
                           0.05f * (float)afl_rng_normal(r);
                w[2] = 0.01f * (float)t;
                afl_update u = {t % 4, t, t, 0, (double)t, g, w, w};
                if (pass == 1) {
                    double s;
                    ops->probe(h.st, &u, &s);
                    ops->probe(h.st, &u, &s);
                }
                afl_decision d = h_send(&h, t % 4, g, w, t, w, t, step);
                v[pass][t] = d.verdict;
                sc[pass][t] = d.score;
            }
            afl_rng_free(r);
            h_close(&h);
        }
        for (int t = 0; t < T; t++) {
            cr_assert_eq(v[0][t], v[1][t], "%s arrival %d", filters[k], t);
            cr_assert((isnan(sc[0][t]) && isnan(sc[1][t])) || sc[0][t] == sc[1][t],
                      "%s arrival %d: %g vs %g", filters[k], t, sc[0][t], sc[1][t]);
        }
    }
}
