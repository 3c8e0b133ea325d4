/* tests/test_defenses_buffered.c - the buffered and staleness-weighted defenses (buffered,
 * fedbuff, basgd, fedasync, fltrust) on scripted update sequences through their
 * afl_defense_ops.  Sources: FedBuff (Nguyen et al. AISTATS 2022), BASGD (Yang & Li ICML
 * 2021), FedAsync (Xie et al. 2019), FLTrust (Cao et al. NDSS 2021). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "defenses/defense.h"
#include "sim/config.h"
#include "sim/rng.h"

enum { D = 4 };

static afl_config *cfg;
static afl_rng *rng;
static const afl_defense_ops *ops;
static void *st;
static afl_err err;
static float step[D];
static afl_decision dec;
static float g0_fake[D] = {1, 0, 0, 0};
static float w_seen[D]; /* the model the fake trusted gradient was asked about */
static int grad_calls;

static float fake_grad(void *env, const float *w, int batch, float *grad)
{
    (void)env, (void)batch;
    memcpy(w_seen, w, sizeof w_seen);
    memcpy(grad, g0_fake, sizeof g0_fake);
    grad_calls++;
    return 0.5f;
}

static void teardown(void)
{
    if (ops && st)
        ops->destroy(st);
    st = NULL;
    ops = NULL;
    afl_config_free(cfg);
    cfg = NULL;
    afl_rng_free(rng);
    rng = NULL;
}

TestSuite(defenses_buffered, .fini = teardown);

/* Resolves a configuration from NULL-terminated "section.key=value" overrides and creates
 * the defense named by defense.type with n clients, lr 0.1.  Returns create's code. */
static int make(int n_clients, const char *const *sets)
{
    memset(&err, 0, sizeof err);
    cfg = afl_config_new();
    for (int i = 0; sets[i]; i++)
        cr_assert_eq(afl_config_override(cfg, sets[i], &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(cfg, &err), AFL_OK, "%s", err.msg);
    ops = afl_defense_find(afl_cfg_str(cfg, "defense", "type"));
    cr_assert_not_null(ops);
    rng = afl_rng_create(11, AFL_RNG_DEFENSE, 0);
    afl_defense_ctx ctx = {cfg, n_clients, 10, D, 0.1, 8, 11, rng, 0, NULL, NULL, NULL};
    if (ops->needs_trusted_data) {
        ctx.trusted_n = 100;
        ctx.trusted_grad = fake_grad;
    }
    grad_calls = 0;
    return ops->create(&ctx, &st, &err);
}

static const float zero[D] = {0, 0, 0, 0};

/* One arrival of g from client with staleness tau; models w_base and w_cur. */
static void arrive_at(int client, int64_t tau, const float *g, const float *w_base,
                      const float *w_cur)
{
    afl_update u = {client, 10 - tau, 10, tau, 1.0, g, w_base, w_cur};
    memset(step, 0x7f, sizeof step); /* garbage: a defense that does not apply must not matter */
    dec = (afl_decision){AFL_VERDICT_ACCEPTED, NAN, NAN, 0, NAN};
    cr_assert_eq(ops->on_update(st, &u, step, &dec, &err), AFL_OK, "%s", err.msg);
}

static void arrive(int client, int64_t tau, const float *g)
{
    arrive_at(client, tau, g, zero, zero);
}

static void assert_held(void)
{
    cr_assert_eq(dec.verdict, AFL_VERDICT_HELD, "verdict %s", afl_verdict_name(dec.verdict));
    cr_assert_eq(dec.apply, 0);
    cr_assert(isnan(dec.weight));
}

static void assert_step(float a, float b, float c, float d)
{
    cr_assert_eq(dec.apply, 1);
    float want[D] = {a, b, c, d};
    for (int j = 0; j < D; j++)
        cr_assert_float_eq(step[j], want[j], 1e-6, "step[%d] = %g, expected %g", j, step[j],
                           want[j]);
}

/* ---- buffered ---------------------------------------------------------------------------- */

Test(defenses_buffered, buffered_holds_k_minus_1_arrivals_then_applies_the_median_once)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=buffered", "defense.buffer=3", NULL}),
                 AFL_OK, "%s", err.msg);
    float g1[D] = {1, 10, -1, 0}, g2[D] = {2, 20, -2, 0}, g3[D] = {100, 0, -3, 0};
    arrive(0, 0, g1);
    assert_held();
    cr_assert_eq(dec.aux, 1.0);
    arrive(1, 5, g2);
    assert_held();
    arrive(2, 0, g3);
    cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert_eq(dec.aux, 3.0);
    assert_step(2, 10, -2, 0);
    arrive(3, 0, g3); /* the buffer starts again */
    assert_held();
    cr_assert_eq(dec.aux, 1.0);
}

Test(defenses_buffered, buffered_rejects_nonfinite_updates_without_buffering_them)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=buffered", "defense.buffer=2",
                                           "defense.rule=mean", NULL}),
                 AFL_OK, "%s", err.msg);
    float bad[D] = {1, NAN, 0, 0}, inf[D] = {INFINITY, 0, 0, 0}, g1[D] = {1, 2, 3, 4},
          g2[D] = {3, 4, 5, 6};
    arrive(0, 0, bad);
    cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED);
    cr_assert_eq(dec.apply, 0);
    cr_assert_eq(dec.weight, 0.0);
    arrive(1, 0, g1);
    assert_held();
    arrive(2, 0, inf);
    cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED);
    arrive(3, 0, g2);
    assert_step(2, 3, 4, 5);
}

Test(defenses_buffered, buffered_krum_applies_the_update_nearest_the_others)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=buffered", "defense.buffer=5",
                                           "defense.rule=krum", "defense.f=1", NULL}),
                 AFL_OK, "%s", err.msg);
    float g[5][D] = {{0, 0, 0, 0}, {1, 0, 0, 0}, {0.4f, 0.1f, 0, 0}, {0, 1, 0, 0},
                     {-50, 50, 9, 9}};
    for (int i = 0; i < 4; i++) {
        arrive(i, 0, g[i]);
        assert_held();
    }
    arrive(4, 0, g[4]);
    assert_step(0.4f, 0.1f, 0, 0);
}

Test(defenses_buffered, buffered_krum_with_too_small_a_buffer_is_a_configuration_error)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=buffered", "defense.buffer=4",
                                           "defense.rule=krum", "defense.f=1", NULL}),
                 AFL_EINPUT);
    cr_assert(strstr(err.msg, "defense.f = 1"), "%s", err.msg);
    cr_assert(strstr(err.msg, "buffer = 4"), "%s", err.msg);
}

Test(defenses_buffered, buffered_centered_clipping_starts_from_the_previous_step)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=buffered", "defense.buffer=2",
                                           "defense.rule=centered_clipping",
                                           "defense.cc_tau=1", NULL}),
                 AFL_OK, "%s", err.msg);
    float a[D] = {0.2f, 0, 0, 0}, b[D] = {0.4f, 0, 0, 0}, far[D] = {0.3f, 10, 0, 0};
    arrive(0, 0, a);
    arrive(1, 0, b);
    assert_step(0.3f, 0, 0, 0); /* inside the ball: the mean */
    arrive(2, 0, a);
    arrive(3, 0, far);
    /* centre (0.3,0): (-0.1,0) kept; (0,10) clipped to (0,1) -> centre + (-0.1, 1)/2 */
    assert_step(0.25f, 0.5f, 0, 0);
}

/* ---- fedbuff ------------------------------------------------------------------------------- */

Test(defenses_buffered, fedbuff_weights_by_inverse_sqrt_staleness_and_steps_with_the_mean)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=fedbuff", "defense.buffer=2",
                                           "defense.server_lr=2", NULL}),
                 AFL_OK, "%s", err.msg);
    float g1[D] = {1, 2, 0, 0}, g2[D] = {4, 0, 8, 0};
    arrive(0, 0, g1);
    assert_held();
    cr_assert_float_eq(dec.aux, 1.0, 1e-12);
    arrive(1, 3, g2);
    cr_assert_eq(dec.verdict, AFL_VERDICT_WEIGHTED);
    cr_assert_float_eq(dec.weight, 0.5, 1e-12);
    /* 2 * (1 * g1 + 0.5 * g2) / 2 */
    assert_step(3, 2, 4, 0);
}

Test(defenses_buffered, fedbuff_reduce_sum_does_not_divide_by_the_buffer)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=fedbuff", "defense.buffer=2",
                                           "defense.reduce=sum", NULL}),
                 AFL_OK, "%s", err.msg);
    float g1[D] = {1, 2, 0, 0}, g2[D] = {4, 0, 8, 0};
    arrive(0, 0, g1);
    arrive(1, 8, g2); /* weight 1/3 */
    assert_step(1 + 4.0f / 3, 2, 8.0f / 3, 0);
    float bad[D] = {NAN, 0, 0, 0};
    arrive(2, 0, bad);
    cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED);
    cr_assert_eq(dec.apply, 0);
}

/* ---- fedasync ------------------------------------------------------------------------------- */

static double fedasync_weight(const char *fn, int64_t tau)
{
    char set[64];
    snprintf(set, sizeof set, "defense.staleness_fn=%s", fn);
    cr_assert_eq(make(10, (const char *[]){"defense.type=fedasync", "defense.alpha=0.8", set,
                                           NULL}),
                 AFL_OK, "%s", err.msg);
    float g[D] = {1, -1, 0, 2};
    arrive(0, tau, g);
    cr_assert_eq(dec.verdict, AFL_VERDICT_WEIGHTED);
    cr_assert_eq(dec.apply, 1);
    double w = dec.weight;
    teardown();
    return w;
}

Test(defenses_buffered, fedasync_weight_is_alpha_times_the_staleness_function)
{
    cr_assert_float_eq(fedasync_weight("constant", 7), 0.8, 1e-12);
    cr_assert_float_eq(fedasync_weight("polynomial", 0), 0.8, 1e-12);
    cr_assert_float_eq(fedasync_weight("polynomial", 3), 0.8 / 2.0, 1e-12); /* (3+1)^-0.5 */
    cr_assert_float_eq(fedasync_weight("hinge", 4), 0.8, 1e-12);              /* tau <= b */
    cr_assert_float_eq(fedasync_weight("hinge", 6), 0.8 / 21.0, 1e-12); /* 1/(10*(6-4)+1) */
}

Test(defenses_buffered, fedasync_mixes_the_client_model_into_the_current_model)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=fedasync", "defense.alpha=0.5",
                                           "defense.staleness_fn=constant", NULL}),
                 AFL_OK, "%s", err.msg);
    float g[D] = {1, -1, 0, 2}, w_base[D] = {0, 0, 1, 1}, w_cur[D] = {0.5f, 0, 1, 0};
    /* x_new = w_base - 0.1 g; step = 0.5 ((w_cur - w_base)/0.1 + g) */
    arrive_at(0, 2, g, w_base, w_cur);
    assert_step(0.5f * (5 + 1), 0.5f * (0 - 1), 0, 0.5f * (-10 + 2));
    /* applied: w_cur - 0.1 step = (1 - 0.5) w_cur + 0.5 x_new */
    for (int j = 0; j < D; j++) {
        float x_new = w_base[j] - 0.1f * g[j];
        cr_assert_float_eq(w_cur[j] - 0.1f * step[j], 0.5f * w_cur[j] + 0.5f * x_new, 1e-6);
    }
    arrive_at(0, 0, g, w_cur, w_cur); /* fresh: AsyncSGD scaled by alpha */
    assert_step(0.5f, -0.5f, 0, 1);
}

/* ---- basgd ------------------------------------------------------------------------------- */

Test(defenses_buffered, basgd_mod_mapping_and_median_of_buffer_means)
{
    cr_assert_eq(make(6, (const char *[]){"defense.type=basgd", "defense.buffers=3", NULL}),
                 AFL_OK, "%s", err.msg);
    float g0[D] = {1, 0, 0, 0}, g3[D] = {3, 2, 0, 0}, g1[D] = {10, -4, 0, 0},
          g4[D] = {-5, 7, 1, 0};
    arrive(0, 0, g0); /* buffer 0 */
    assert_held();
    cr_assert_eq(dec.aux, 0.0);
    arrive(3, 0, g3); /* buffer 0 again: mean (2, 1) */
    assert_held();
    cr_assert_eq(dec.aux, 0.0);
    arrive(1, 0, g1); /* buffer 1 */
    assert_held();
    cr_assert_eq(dec.aux, 1.0);
    arrive(5, 0, g4); /* buffer 2: every buffer is non-empty */
    cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert_eq(dec.aux, 2.0);
    /* median of (2,1,0,0), (10,-4,0,0), (-5,7,1,0) */
    assert_step(2, 1, 0, 0);
    arrive(2, 0, g4); /* buffers were reset */
    assert_held();
}

Test(defenses_buffered, basgd_trimmed_mean_of_buffer_means)
{
    cr_assert_eq(make(5, (const char *[]){"defense.type=basgd", "defense.buffers=5",
                                          "defense.aggr=trimmed_mean", "defense.q=1", NULL}),
                 AFL_OK, "%s", err.msg);
    float v[5] = {100, 1, 2, 3, -100};
    for (int i = 0; i < 5; i++) {
        float g[D] = {v[i], 0, 0, 0};
        arrive(i, 0, g);
    }
    assert_step(2, 0, 0, 0);
}

Test(defenses_buffered, basgd_hash_mapping_is_a_fixed_balanced_permutation)
{
    cr_assert_eq(make(12, (const char *[]){"defense.type=basgd", "defense.buffers=4",
                                           "defense.mapping=hash", NULL}),
                 AFL_OK, "%s", err.msg);
    float g[D] = {1, 1, 1, 1};
    int per_buffer[4] = {0}, map1[12], differs = 0;
    for (int c = 0; c < 12; c++) {
        arrive(c, 0, g);
        map1[c] = (int)dec.aux;
        per_buffer[map1[c]]++;
        differs += map1[c] != c % 4;
    }
    for (int b = 0; b < 4; b++)
        cr_assert_eq(per_buffer[b], 3, "buffer %d has %d clients", b, per_buffer[b]);
    cr_assert_gt(differs, 0, "hash mapping equals mod mapping");
    for (int c = 0; c < 12; c++) { /* the same client always goes to the same buffer */
        arrive(c, 0, g);
        cr_assert_eq((int)dec.aux, map1[c]);
    }
}

Test(defenses_buffered, basgd_needs_no_more_buffers_than_clients)
{
    cr_assert_eq(make(3, (const char *[]){"defense.type=basgd", "defense.buffers=4", NULL}),
                 AFL_EINPUT);
    cr_assert(strstr(err.msg, "defense.buffers = 4"), "%s", err.msg);
}

/* ---- fltrust ------------------------------------------------------------------------------ */

Test(defenses_buffered, fltrust_buffers_then_applies_the_trust_weighted_aggregate)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=fltrust", "defense.buffer=3", NULL}),
                 AFL_OK, "%s", err.msg);
    float g1[D] = {2, 0, 0, 0}, g2[D] = {1, 1, 0, 0}, g3[D] = {-1, 0, 0, 0};
    float w_cur[D] = {0.5f, 0.25f, 0, 1};
    arrive(0, 0, g1);
    assert_held();
    arrive(1, 0, g2);
    assert_held();
    cr_assert_eq(grad_calls, 0);
    arrive_at(2, 0, g3, zero, w_cur);
    cr_assert_eq(grad_calls, 1);
    cr_assert_eq(memcmp(w_seen, w_cur, sizeof w_cur), 0, "g0 not computed at the current model");
    /* trust 1, 1/sqrt2, 0; rescaled to ||g0|| = 1: (1,0) and (h,h) */
    double h = sqrt(0.5);
    assert_step((float)((1 + h * h) / (1 + h)), (float)(h * h / (1 + h)), 0, 0);
    cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED); /* the flushing update had trust 0 */
    cr_assert_float_eq(dec.score, -1.0, 1e-12);
    cr_assert_eq(dec.weight, 0.0);
    cr_assert_eq(dec.aux, 1.0);
}

Test(defenses_buffered, fltrust_with_zero_total_trust_leaves_the_model_unchanged)
{
    cr_assert_eq(make(10, (const char *[]){"defense.type=fltrust", "defense.buffer=2", NULL}),
                 AFL_OK, "%s", err.msg);
    float g1[D] = {-2, 0, 0, 0}, g2[D] = {0, 3, 0, 0};
    arrive(0, 0, g1);
    arrive(1, 0, g2);
    cr_assert_eq(dec.apply, 0);
    cr_assert_eq(dec.aux, 2.0);
    float g3[D] = {1, 0, 0, 0}, g4[D] = {3, 0, 0, 0};
    arrive(0, 0, g3);
    assert_held(); /* the buffer was emptied */
    arrive(1, 0, g4);
    cr_assert_eq(dec.verdict, AFL_VERDICT_ACCEPTED);
    cr_assert_float_eq(dec.weight, 0.5, 1e-12);
    assert_step(1, 0, 0, 0);
}

/* ---- every defense of this file --------------------------------------------------------- */

Test(defenses_buffered, nonfinite_updates_are_rejected_by_every_buffered_defense)
{
    const char *names[] = {"buffered", "fedbuff", "basgd", "fedasync", "fltrust"};
    float bad[3][D] = {{NAN, 0, 0, 0}, {0, INFINITY, 0, 0}, {0, 0, -INFINITY, NAN}};
    float good[D] = {0.1f, 0.2f, 0.3f, 0.4f};
    for (int k = 0; k < 5; k++) {
        char set[64];
        snprintf(set, sizeof set, "defense.type=%s", names[k]);
        cr_assert_eq(make(10, (const char *[]){set, NULL}), AFL_OK, "%s: %s", names[k], err.msg);
        int applied = 0;
        for (int t = 0; t < 60; t++) {
            if (t % 3 == 0) {
                arrive(t % 10, t % 4, bad[t % 9 / 3]);
                cr_assert_eq(dec.verdict, AFL_VERDICT_REJECTED, "%s", names[k]);
                cr_assert_eq(dec.apply, 0, "%s", names[k]);
            } else {
                arrive(t % 10, t % 4, good);
                cr_assert_neq(dec.verdict, AFL_VERDICT_REJECTED, "%s", names[k]);
                if (dec.apply) {
                    applied++;
                    for (int j = 0; j < D; j++)
                        cr_assert(isfinite(step[j]), "%s step[%d] = %g", names[k], j, step[j]);
                }
            }
        }
        cr_assert_gt(applied, 0, "%s never applied a step", names[k]);
        teardown();
    }
}
