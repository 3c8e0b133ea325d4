/* tests/test_ckpt_modules.c - every registered defense and attack (found through the
 * registries, so new ones are covered automatically) survives a checkpoint: a copy made
 * by create + ckpt-load from a checkpoint taken in the middle of a run decides (defenses)
 * or crafts (attacks) exactly like the original for the rest of the run, bit for bit.
 * A defense or attack that forgets a piece of its state fails here. */
#include <math.h>

#include "attacks/attack.h"
#include "defenses/defense.h"
#include "models/net.h"
#include "sim/ckpt.h"
#include "testutil.h"

enum { D = 24, N = 10, T1 = 157, T2 = 120 };

#define FAKE_D D
#include "fake_server.h"

static afl_rng *clone_rng(const afl_rng *src)
{
    afl_rng *r = afl_rng_create(0, 0, 0);
    cr_assert_not_null(r);
    gsl_rng_memcpy(r, src);
    return r;
}

/* Saves `state` with ops' ckpt into path, then loads it into `into`. */
static void save_load(const char *what, int (*ckpt)(void *, afl_ckpt *), void *state, void *into,
                      const char *path)
{
    afl_ckpt *ck = NULL;
    afl_err err = {0};
    cr_assert_eq(afl_ckpt_create(path, &ck, &err), AFL_OK, "%s", err.msg);
    if (ckpt)
        ckpt(state, ck);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_OK, "%s save: %s", what, err.msg);
    cr_assert_eq(afl_ckpt_open(path, &ck, &err), AFL_OK, "%s: %s", what, err.msg);
    if (ckpt)
        ckpt(into, ck);
    cr_assert_eq(afl_ckpt_finish(ck, &err), AFL_OK, "%s load: %s", what, err.msg);
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* ---- defenses ------------------------------------------------------------------------ */

static void defense_case(const char *name, const char *const *sets, const char *dir)
{
    char what[256];
    snprintf(what, sizeof what, "%s%s%s", name, sets && sets[0] ? " with " : "",
             sets && sets[0] ? sets[0] : "");
    const afl_defense_ops *ops = afl_defense_find(name);
    cr_assert_not_null(ops);
    afl_config *cfg = afl_config_new();
    afl_err err = {0};
    char set[128];
    snprintf(set, sizeof set, "defense.type=%s", name);
    cr_assert_eq(afl_config_override(cfg, set, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_override(cfg, "clients.n=10", &err), AFL_OK, "%s", err.msg);
    for (int i = 0; sets && sets[i]; i++)
        cr_assert_eq(afl_config_override(cfg, sets[i], &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(cfg, &err), AFL_OK, "%s: %s", what, err.msg);
    afl_rng *rng_a = afl_rng_create(5, AFL_RNG_DEFENSE, 0), *r = afl_rng_create(7, AFL_RNG_TEST, 0);
    for (int i = 0; i < D; i++)
        fake_trusted_g[i] = (float)afl_rng_normal(r);
    afl_defense_ctx ctx = {
        cfg, N, 10, D, 0.05, 8, 5, rng_a, 100, fake_trusted_grad, fake_trusted_eval, NULL};
    void *a = NULL, *b = NULL;
    cr_assert_eq(ops->create(&ctx, &a, &err), AFL_OK, "%s: %s", what, err.msg);
    /* a ring of past models so that updates can be stale; 10% of the senders send
     * reversed, scaled updates so that filters have something to reject */
    float hist[16][D] = {{0}}, g[D], step_a[D], step_b[D];
    int64_t version = 0;
    for (int i = 0; i < D; i++)
        hist[0][i] = 0.01f * (float)afl_rng_normal(r);
    afl_rng *rng_b = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.ckpt", dir, name);
    for (int t = 0; t < T1 + T2; t++) {
        if (t == T1) {
            /* checkpoint, as the engine resumes: b = create from a stream seeded like the
             * original's, then the stream's state and the defense's state are restored */
            rng_b = afl_rng_create(5, AFL_RNG_DEFENSE, 0);
            afl_defense_ctx cb = ctx;
            cb.rng = rng_b;
            cr_assert_eq(ops->create(&cb, &b, &err), AFL_OK, "%s: %s", what, err.msg);
            gsl_rng_memcpy(rng_b, rng_a);
            save_load(what, ops->ckpt, a, b, path);
        }
        int client = (int)afl_rng_below(r, N);
        int64_t tau = (int64_t)afl_rng_below(r, (uint64_t)(version < 6 ? version : 6) + 1);
        int64_t base = version - tau;
        for (int i = 0; i < D; i++) {
            float honest = fake_trusted_g[i] * (1.0f - 0.02f * (float)(base % 5)) +
                           0.1f * (float)afl_rng_normal(r) + 0.05f * hist[base % 16][i];
            g[i] = client == 0 ? -20.0f * honest : honest;
        }
        afl_update u = {client,    base, version,         tau,
                        (double)t, g,    hist[base % 16], hist[version % 16]};
        afl_decision da = {AFL_VERDICT_ACCEPTED, NAN, NAN, 0, NAN}, db = da;
        memset(step_a, 0, sizeof step_a);
        memset(step_b, 0, sizeof step_b);
        cr_assert_eq(ops->on_update(a, &u, step_a, &da, &err), AFL_OK, "%s: %s", what, err.msg);
        if (b) {
            cr_assert_eq(ops->on_update(b, &u, step_b, &db, &err), AFL_OK, "%s: %s", what, err.msg);
            int same = da.verdict == db.verdict && da.apply == db.apply &&
                       same_double(da.score, db.score) && same_double(da.weight, db.weight) &&
                       same_double(da.aux, db.aux) &&
                       (!da.apply || memcmp(step_a, step_b, sizeof step_a) == 0);
            cr_expect(same,
                      "%s: after the checkpoint, arrival %d decided differently (or applied a "
                      "different step): verdict %d/%d apply %d/%d score %.17g/%.17g weight %g/%g "
                      "aux %.17g/%.17g",
                      what, t - T1, da.verdict, db.verdict, da.apply, db.apply, da.score, db.score,
                      da.weight, db.weight, da.aux, db.aux);
            if (!same)
                break; /* one report per defense; the test goes on with the others */
        }
        if (da.apply) {
            float *next = hist[(version + 1) % 16];
            for (int i = 0; i < D; i++)
                next[i] = hist[version % 16][i] - 0.05f * step_a[i];
            version++;
        }
    }
    cr_assert_gt(version, 0, "%s never applied an update", what);
    ops->destroy(a);
    ops->destroy(b);
    afl_rng_free(rng_a);
    afl_rng_free(rng_b);
    afl_rng_free(r);
    afl_config_free(cfg);
}

Test(ckpt_modules, every_defense_resumes_bit_identically)
{
    char *dir = tu_tmpdir();
    size_t n;
    const afl_component *all = afl_defense_components(&n);
    for (size_t i = 0; i < n; i++)
        defense_case(all[i].name, NULL, dir);
    /* the buffered rules and the SecureAFL readings with their own state */
    static const char *rules[] = {"mean",      "median", "trimmed_mean",     "krum",
                                  "multikrum", "bulyan", "centered_clipping"};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        char s[64];
        snprintf(s, sizeof s, "defense.rule=%s", rules[i]);
        const char *sets[] = {s, NULL};
        defense_case("buffered", sets, dir);
    }
    static const char *variants[] = {"I", "II", "III", "IV"};
    for (int v = 0; v < 4; v++) {
        char s[64];
        snprintf(s, sizeof s, "defense.variant=%s", variants[v]);
        const char *sets[] = {s, NULL};
        defense_case("secureafl", sets, dir);
    }
    /* other readings with state of their own */
    static const char *extra[][7] = {
        {"defense.coefficient=global", "defense.threshold=history", "defense.frequency_filter=true",
         NULL},
        {"defense.frequency_filter=true", "defense.dampening=inverse", NULL},
        {"defense.mapping=hash", "defense.buffers=4", NULL},
        {"defense.pairs=pooled", "defense.pool=3", "defense.q_window=20", NULL},
        {"defense.pairs=pooled", NULL},
        {"defense.pairs=global", "defense.q_window=7", "defense.percentile=lower", NULL},
        {"defense.pairs=client", "defense.store=accepted", "defense.eps=2", NULL},
        {"defense.pairs=pooled", "defense.warmup=5", "defense.detect_every=7",
         "defense.detect_until=always", NULL},
        {"defense.warmup=5", "defense.detect_every=5", "defense.remove=false", NULL},
        {"defense.reference=model", NULL},
        {"defense.gamma_period=3", "defense.round_size=4", "defense.eth_ref=none",
         "defense.eth=0.7", NULL},
        {"defense.refresh=3", NULL},
        {"defense.buffer=7", "defense.reduce=sum", NULL},
        /* FLDetector over a buffered rule: held updates, their clients, and the centre.  The
         * buffer sizes are chosen so that the buffers are not empty at the checkpoint (5 of
         * 6 and 2 of 5 held; client 0 is removed by then in the first) */
        {"defense.aggregate=buffered", "defense.buffer=6", "defense.warmup=2",
         "defense.detect_every=5", "defense.detect_until=always", NULL},
        {"defense.rule=centered_clipping", "defense.aggregate=buffered", "defense.buffer=5",
         "defense.warmup=3", "defense.cc_tau=0.5", NULL},
    };
    static const char *names[] = {"kardam",     "kardam",        "basgd",     "secureafl",
                                  "secureafl",  "secureafl",     "secureafl", "fldetector",
                                  "fldetector", "asyncdefender", "sageflow",  "zenopp",
                                  "fedbuff",    "fldetector",    "fldetector"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        defense_case(names[i], extra[i], dir);
    free(dir);
}

/* ---- attacks ------------------------------------------------------------------------- */

enum { AC = 1, AH = 8, AW = 8, AK = 4, AM = 3, AB = 8, KNOWN = 5, AT1 = 9, AT2 = 9 };

static float pixel(const void *env, int ch, float v)
{
    (void)env, (void)ch;
    return v;
}

static int oracle(void *env, const float *g, double *score)
{
    size_t d = *(const size_t *)env;
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += (double)g[i] * g[i];
    if (score)
        *score = sqrt(s);
    return isfinite(s) && sqrt(s) <= 3.0;
}

static void attack_case(const char *name, const char *dir)
{
    const afl_attack_ops *ops = afl_attack_find(name);
    afl_config *cfg = afl_config_new();
    afl_err err = {0};
    char set[128];
    snprintf(set, sizeof set, "attack.type=%s", name);
    cr_assert_eq(afl_config_override(cfg, set, &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_override(cfg, "clients.n=10", &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_override(cfg, "clients.malicious=0.3", &err), AFL_OK, "%s", err.msg);
    cr_assert_eq(afl_config_resolve(cfg, &err), AFL_OK, "%s: %s", name, err.msg);
    afl_net *net = afl_net_softmax(AC, AH, AW, AK, &err);
    cr_assert_not_null(net, "%s", err.msg);
    size_t d = afl_net_nparams(net);
    afl_rng *arng_a = afl_rng_create(11, AFL_RNG_ATTACK, 0),
            *r = afl_rng_create(13, AFL_RNG_TEST, 0);
    afl_rng *crng_a = afl_rng_create(11, AFL_RNG_BATCH, 0), *arng_b = NULL, *crng_b = NULL;
    afl_attack_ctx ctx = {cfg,  N,    AM, AK, AC, AH,     AW,  1,     d,
                          0.01, 0.01, AB, 4,  11, arng_a, net, pixel, NULL};
    void *a = NULL, *b = NULL;
    cr_assert_eq(ops->create(&ctx, &a, &err), AFL_OK, "%s: %s", name, err.msg);
    float *known = malloc(KNOWN * d * sizeof *known), *ga = malloc(d * sizeof *ga);
    float *gb = malloc(d * sizeof *gb), *genuine = malloc(d * sizeof *genuine);
    float *w = malloc(d * sizeof *w), *wb = malloc(d * sizeof *wb);
    const float *kp[KNOWN];
    for (size_t i = 0; i < d; i++)
        w[i] = 0.01f * (float)afl_rng_normal(r);
    char path[512];
    snprintf(path, sizeof path, "%s/atk-%s.ckpt", dir, name);
    for (int t = 0; t < AT1 + AT2; t++) {
        if (t == AT1) {
            /* as the engine resumes: create from a stream seeded like the original's
             * (backdoor triggers are drawn in create), then restore the streams and the
             * attack's state */
            arng_b = afl_rng_create(11, AFL_RNG_ATTACK, 0);
            crng_b = clone_rng(crng_a);
            afl_attack_ctx cb = ctx;
            cb.rng = arng_b;
            cr_assert_eq(ops->create(&cb, &b, &err), AFL_OK, "%s: %s", name, err.msg);
            gsl_rng_memcpy(arng_b, arng_a);
            save_load(name, ops->ckpt, a, b, path);
        }
        int client = t % AM;
        for (size_t i = 0; i < KNOWN * d; i++)
            known[i] = 0.1f * (float)afl_rng_normal(r) + 0.05f;
        for (int k = 0; k < KNOWN; k++)
            kp[k] = known + (size_t)k * d;
        for (size_t i = 0; i < d; i++)
            genuine[i] = ga[i] = gb[i] = 0.1f * (float)afl_rng_normal(r);
        for (size_t i = 0; i < d; i++)
            wb[i] = w[i] + 0.001f * (float)t;
        if (ops->poison_batch) {
            float xa[AB * AC * AH * AW], xb[AB * AC * AH * AW];
            int32_t ya[AB], yb[AB];
            for (int i = 0; i < AB * AC * AH * AW; i++)
                xa[i] = xb[i] = (float)afl_rng_uniform(r);
            for (int i = 0; i < AB; i++)
                ya[i] = yb[i] = (int32_t)afl_rng_below(r, AK);
            ops->poison_batch(a, client, xa, ya, AB, crng_a);
            if (b) {
                ops->poison_batch(b, client, xb, yb, AB, crng_b);
                int same = memcmp(xa, xb, sizeof xa) == 0 && memcmp(ya, yb, sizeof ya) == 0;
                cr_expect(same, "%s: after the checkpoint, batch %d was poisoned differently", name,
                          t - AT1);
                if (!same)
                    break;
            }
        }
        if (ops->craft) {
            afl_attack_view v = {
                client, t,    t,   t > 0 ? t - 1 : 0, wb, w, genuine, KNOWN, kp, t % 2, N,
                AM,     NULL, NULL};
            if (t % 3 != 2) {
                v.accepts = oracle;
                v.accepts_env = &d;
            }
            ops->craft(a, &v, ga, crng_a);
            if (b) {
                ops->craft(b, &v, gb, crng_b);
                int same = memcmp(ga, gb, d * sizeof *ga) == 0;
                cr_expect(same, "%s: after the checkpoint, craft %d gave a different update", name,
                          t - AT1);
                if (!same)
                    break;
            }
        }
        for (size_t i = 0; i < d; i++)
            w[i] -= 0.01f * (isfinite(ga[i]) ? ga[i] : 0.0f);
    }
    ops->destroy(a);
    ops->destroy(b);
    free(known), free(ga), free(gb), free(genuine), free(w), free(wb);
    afl_net_free(net);
    afl_rng_free(arng_a), afl_rng_free(arng_b), afl_rng_free(crng_a), afl_rng_free(crng_b);
    afl_rng_free(r);
    afl_config_free(cfg);
}

Test(ckpt_modules, every_attack_resumes_bit_identically)
{
    char *dir = tu_tmpdir();
    size_t n;
    const afl_component *all = afl_attack_components(&n);
    for (size_t i = 0; i < n; i++)
        attack_case(all[i].name, dir);
    free(dir);
}
