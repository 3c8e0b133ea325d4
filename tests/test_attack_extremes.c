/* tests/test_attack_extremes.c - every registered attack (found through the registry, so new
 * ones are covered automatically) at the extremes of its numeric parameters: each INT/REAL
 * parameter set to its declared minimum and maximum in turn (and all of them at once), then a
 * few crafts on small vectors (full and partial knowledge, with and without the defense's
 * acceptance oracle), a poisoned batch and the backdoor trigger.  No crash, no error from
 * create (or a clear AFL_EINPUT refusal of a value this data cannot take), labels stay in range, and crafted updates stay finite unless the attack documents
 * otherwise (see `allowed_nonfinite`; the engine then stops with a diagnostic naming the
 * round, which tests/test_run.c covers). */
#include <math.h>

#include "attacks/attack.h"
#include "models/net.h"
#include "testutil.h"

enum { C = 1, H = 8, W = 8, K = 4, N = 10, M = 3, B = 8, KNOWN = 5, ROUNDS = 6 };

/* Attacks whose documented behaviour at a parameter extreme is a non-finite update
 * (none so far: every attack clamps to +-FLT_MAX). */
static const struct {
    const char *attack, *param;
} allowed_nonfinite[] = {{NULL, NULL}};

static int nonfinite_allowed(const char *attack, const char *param)
{
    for (int i = 0; allowed_nonfinite[i].attack; i++)
        if (strcmp(allowed_nonfinite[i].attack, attack) == 0 &&
            (!param || strcmp(allowed_nonfinite[i].param, param) == 0))
            return 1;
    return 0;
}

static float pixel(const void *env, int ch, float v)
{
    (void)env, (void)ch;
    return v;
}

/* The oracle of a defense: accepts finite updates no longer than 10 (a norm filter). */
static int oracle(void *env, const float *g, double *score)
{
    size_t d = *(const size_t *)env;
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += (double)g[i] * g[i];
    if (score)
        *score = sqrt(s);
    return isfinite(s) && sqrt(s) <= 10.0;
}

static void fmt_value(double v, const afl_param *p, char *buf, size_t n)
{
    if (p->type == AFL_P_INT)
        snprintf(buf, n, "%lld", (long long)v);
    else
        snprintf(buf, n, "%.17g", v);
}

/* Runs attack `name` with the overrides sets[0..ns) (attack.<key>=<value>); what names the
 * case in messages; param is the parameter being pushed (NULL: several). */
static void exercise(const char *name, const char **sets, int ns, const char *what,
                     const char *param)
{
    afl_config *cfg = afl_config_new();
    afl_err err = {0};
    char set[256];
    snprintf(set, sizeof set, "attack.type=%s", name);
    cr_assert_eq(afl_config_override(cfg, set, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_override(cfg, "clients.n=10", &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_override(cfg, "clients.malicious=0.3", &err), AFL_OK, "%s", err.msg);
    for (int i = 0; i < ns; i++)
        cr_assert_eq(afl_config_override(cfg, sets[i], &err), AFL_OK, "%s", err.msg);
    int rc = afl_config_resolve(cfg, &err);
    cr_assert_eq(rc, AFL_OK, "%s %s: %s", name, what, err.msg);

    const afl_attack_ops *ops = afl_attack_find(name);
    afl_net *net = afl_net_softmax(C, H, W, K, &err);
    cr_assert_not_null(net, "%s", err.msg);
    size_t d = afl_net_nparams(net);
    afl_rng *arng = afl_rng_create(11, AFL_RNG_ATTACK, 0), *r = afl_rng_create(11, AFL_RNG_TEST, 0);
    afl_attack_ctx ctx = {cfg, N,   M,     K,    C,    H,     W, 1,    d,     0.01,
                          0.01, B, 4, 11, arng, net, pixel, NULL};
    void *st = NULL;
    rc = ops->create(&ctx, &st, &err);
    if (rc != AFL_OK) {
        /* refusing a value that does not fit this data (a target label beyond the classes,
         * a trigger larger than the image) is fine, with a clear message */
        cr_assert(rc == AFL_EINPUT || rc == AFL_ENOMEM, "%s %s: create failed: %s", name, what,
                  err.msg);
        cr_assert(err.msg[0], "%s %s: refusal without a message", name, what);
        cr_log_info("%s %s: refused: %s", name, what, err.msg);
        afl_net_free(net);
        afl_rng_free(arng);
        afl_rng_free(r);
        afl_config_free(cfg);
        return;
    }

    float *known = malloc(KNOWN * d * sizeof *known), *g = malloc(d * sizeof *g);
    float *genuine = malloc(d * sizeof *g), *w = malloc(d * sizeof *w);
    const float *kp[KNOWN];
    for (size_t i = 0; i < KNOWN * d; i++)
        known[i] = 0.1f * (float)afl_rng_normal(r);
    for (size_t i = 0; i < d; i++)
        w[i] = 0.01f * (float)afl_rng_normal(r);
    for (int k = 0; k < KNOWN; k++)
        kp[k] = known + (size_t)k * d;
    for (int t = 0; t < ROUNDS; t++) {
        int client = t % M;
        for (size_t i = 0; i < d; i++)
            genuine[i] = g[i] = 0.1f * (float)afl_rng_normal(r);
        if (ops->poison_batch) {
            float x[B * C * H * W];
            int32_t y[B];
            for (int i = 0; i < B * C * H * W; i++)
                x[i] = (float)afl_rng_uniform(r);
            for (int i = 0; i < B; i++)
                y[i] = (int32_t)afl_rng_below(r, K);
            ops->poison_batch(st, client, x, y, B, r);
            for (int i = 0; i < B; i++)
                cr_assert(y[i] >= 0 && y[i] < K, "%s %s: poisoned label %d", name, what, y[i]);
            for (int i = 0; i < B * C * H * W; i++)
                cr_assert(isfinite(x[i]), "%s %s: poisoned input %d = %g", name, what, i, x[i]);
        }
        if (ops->craft) {
            afl_attack_view v = {client, t,         t,       t > 0 ? t - 1 : 0, w, w, genuine,
                                 KNOWN,  kp,        t % 2,   N,                 M, NULL, NULL};
            if (t % 3 != 2) { /* and once in three rounds, no oracle */
                v.accepts = oracle;
                v.accepts_env = &d;
            }
            ops->craft(st, &v, g, r);
            if (!nonfinite_allowed(name, param))
                for (size_t i = 0; i < d; i++)
                    cr_assert(isfinite(g[i]), "%s %s round %d: crafted g[%zu] = %g", name, what,
                              t, i, g[i]);
        }
    }
    if (ops->target) {
        int tgt = ops->target(st);
        cr_assert(tgt >= 0 && tgt < K, "%s %s: target label %d", name, what, tgt);
    }
    if (ops->trigger) {
        float x[C * H * W];
        for (int i = 0; i < C * H * W; i++)
            x[i] = 0.5f;
        ops->trigger(st, x);
        for (int i = 0; i < C * H * W; i++)
            cr_assert(isfinite(x[i]), "%s %s: triggered x[%d] = %g", name, what, i, x[i]);
    }
    ops->destroy(st);
    free(known);
    free(g);
    free(genuine);
    free(w);
    afl_net_free(net);
    afl_rng_free(arng);
    afl_rng_free(r);
    afl_config_free(cfg);
}

Test(attack_extremes, every_attack_survives_its_parameter_extremes)
{
    size_t n;
    const afl_component *all = afl_attack_components(&n);
    cr_assert_gt(n, 1);
    for (size_t a = 0; a < n; a++) {
        const char *name = all[a].name;
        exercise(name, NULL, 0, "(defaults)", NULL);
        const char *mins[64], *maxs[64];
        char minbuf[64][160], maxbuf[64][160];
        int np = 0;
        for (const afl_param *p = all[a].params; p && p->key && np < 64; p++) {
            if (p->type != AFL_P_INT && p->type != AFL_P_REAL)
                continue;
            for (int e = 0; e < 2; e++) {
                double v = e ? p->max : p->min;
                char val[64], what[160], *set = e ? maxbuf[np] : minbuf[np];
                fmt_value(v, p, val, sizeof val);
                snprintf(set, 160, "attack.%s=%s", p->key, val);
                snprintf(what, sizeof what, "with %s = %s", p->key, val);
                const char *one[1] = {set};
                exercise(name, one, 1, what, p->key);
            }
            mins[np] = minbuf[np];
            maxs[np] = maxbuf[np];
            np++;
        }
        if (np > 1) {
            exercise(name, mins, np, "with every parameter at its minimum", NULL);
            exercise(name, maxs, np, "with every parameter at its maximum", NULL);
        }
    }
}
