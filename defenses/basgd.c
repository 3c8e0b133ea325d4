/* defenses/basgd.c - BASGD: buffered asynchronous SGD with a robust aggregate of buffer means.
 *
 * Source: Y.-R. Yang, W.-J. Li, "BASGD: Buffered Asynchronous SGD for Byzantine Learning",
 * ICML 2021 (ICLR'21 submission text, section 3 and 5; JMLR 2023 version for the mapping
 * table) (specs/algorithms.md section 4.11).
 *
 *   B buffers h_1..h_B with counters N_b; on a gradient g from client s:
 *     b = map(s);  N_b += 1;  h_b <- ((N_b - 1)/N_b) h_b + (1/N_b) g      (running mean)
 *     if every buffer holds >= 1 gradient:
 *       G = aggr(h_1..h_B)  (coordinate-wise median, or q-trimmed mean)
 *       w <- w - lr G;  every h_b, N_b reset
 *
 * map: `mod` is b = s mod B (the ICLR text); `hash` is b = pi(s) mod B for a fixed random
 * permutation pi of the clients drawn once from the defense's random stream (the JMLR
 * "mapping table"; every buffer still gets ~n/B clients).  Buffers must be reachable:
 * buffers <= the number of clients.  The gradient is kept even if it is stale (BASGD has
 * no staleness rule).  An update with a NaN/Inf entry is rejected and not buffered (the
 * paper's Byzantine workers send finite vectors; a NaN would make a buffer mean NaN).
 *
 * Decision: held until the arrival that makes every buffer non-empty, which is accepted
 * and applies the step.  aux: the buffer (0..B-1) the update went to.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "defenses/defense.h"
#include "defenses/rules.h"

static const afl_param params[] = {
    {"buffers", AFL_P_INT, "10", 1, 1e6, NULL,
     "basgd: number B of buffers (at most clients.n; the paper uses 10 with 3 Byzantine, 15 with "
     "6)"},
    {"mapping", AFL_P_ENUM, "mod", 0, 0, "mod|hash",
     "basgd: client-to-buffer map: mod = client mod B; hash = a fixed random permutation of the "
     "clients, then mod B"},
    {"aggr", AFL_P_ENUM, "median", 0, 0, "median|trimmed_mean",
     "basgd: robust aggregate of the B buffer means (coordinate-wise)"},
    {"q", AFL_P_INT, "1", 0, 1e6, NULL,
     "basgd, aggr=trimmed_mean: buffer means dropped from each end per coordinate (needs 2q < B)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

typedef struct {
    size_t d;
    int B, n_clients, filled, trimmed, q;
    int *map;           /* (n_clients) buffer of each client */
    int *cnt;           /* (B) N_b */
    float *h;           /* (B, d) buffer means */
    const float **rows; /* (B) */
    afl_rules_ws *ws;
} state;

static void destroy(void *st)
{
    state *s = st;
    if (!s)
        return;
    free(s->map);
    free(s->cnt);
    free(s->h);
    free(s->rows);
    afl_rules_ws_free(s->ws);
    free(s);
}

static int create(const afl_defense_ctx *ctx, void **out, afl_err *err)
{
    const afl_config *c = ctx->cfg;
    int B = (int)afl_cfg_int(c, "defense", "buffers");
    int trimmed = strcmp(afl_cfg_str(c, "defense", "aggr"), "trimmed_mean") == 0;
    int q = (int)afl_cfg_int(c, "defense", "q");
    if (ctx->n_clients < 1 || B > ctx->n_clients)
        return afl_err_set(err, AFL_EINPUT,
                           "defense basgd: defense.buffers = %d but there are only %d clients; "
                           "some buffers would never fill (use buffers <= clients.n)",
                           B, ctx->n_clients);
    if (trimmed && 2 * q >= B)
        return afl_err_set(err, AFL_EINPUT,
                           "defense basgd: aggr = trimmed_mean drops defense.q = %d buffer means "
                           "from each end of %d; it needs 2 x q < defense.buffers",
                           q, B);
    state *s = calloc(1, sizeof *s);
    if (!s)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    s->d = ctx->d;
    s->B = B;
    s->n_clients = ctx->n_clients;
    s->trimmed = trimmed;
    s->q = q;
    s->map = malloc((size_t)s->n_clients * sizeof *s->map);
    s->cnt = calloc((size_t)B, sizeof *s->cnt);
    s->h = calloc((size_t)B * s->d, sizeof *s->h);
    s->rows = malloc((size_t)B * sizeof *s->rows);
    s->ws = afl_rules_ws_create(B);
    if (!s->map || !s->cnt || !s->h || !s->rows || !s->ws) {
        destroy(s);
        return afl_err_set(err, AFL_ENOMEM, "out of memory for %d buffers", B);
    }
    for (int b = 0; b < B; b++)
        s->rows[b] = s->h + (size_t)b * s->d;
    for (int i = 0; i < s->n_clients; i++)
        s->map[i] = i;
    if (strcmp(afl_cfg_str(c, "defense", "mapping"), "hash") == 0)
        afl_rng_shuffle_int(ctx->rng, s->map, (size_t)s->n_clients);
    for (int i = 0; i < s->n_clients; i++)
        s->map[i] %= B;
    *out = s;
    return AFL_OK;
}

static int on_update(void *st, const afl_update *u, float *step, afl_decision *dec, afl_err *err)
{
    state *s = st;
    dec->score = NAN;
    dec->aux = NAN;
    dec->apply = 0;
    if (!afl_rules_all_finite(u->g, s->d)) {
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    int b = u->client >= 0 && u->client < s->n_clients ? s->map[u->client]
                                                       : (int)((unsigned)u->client % (unsigned)s->B);
    float *h = s->h + (size_t)b * s->d;
    if (s->cnt[b]++ == 0) {
        memcpy(h, u->g, s->d * sizeof *h);
        s->filled++;
    } else {
        float inv = 1.0f / (float)s->cnt[b];
        for (size_t j = 0; j < s->d; j++)
            h[j] += (u->g[j] - h[j]) * inv;
    }
    dec->aux = b;
    if (s->filled < s->B) {
        dec->verdict = AFL_VERDICT_HELD;
        dec->weight = NAN;
        return AFL_OK;
    }
    int rc = s->trimmed ? afl_rule_trimmed_mean(s->ws, s->rows, s->B, s->d, s->q, step, err)
                        : afl_rule_median(s->ws, s->rows, s->B, s->d, step, err);
    memset(s->cnt, 0, (size_t)s->B * sizeof *s->cnt);
    s->filled = 0;
    if (rc == AFL_ENUMERIC) {
        /* finite buffer means whose aggregate overflows float: skip the step */
        dec->verdict = AFL_VERDICT_REJECTED;
        dec->weight = 0.0;
        return AFL_OK;
    }
    if (rc)
        return rc;
    dec->verdict = AFL_VERDICT_ACCEPTED;
    dec->weight = 1.0;
    dec->apply = 1;
    return AFL_OK;
}

/* The client -> buffer map (drawn from the defense's stream at create when mapping =
 * hash, so it is kept rather than redrawn), the counters N_b and the running means of
 * the non-empty buffers (an empty buffer's row is overwritten by its next gradient). */
static int basgd_ckpt(void *st, afl_ckpt *ck)
{
    state *s = st;
    afl_ckpt_ints(ck, "basgd.map", s->map, (size_t)s->n_clients);
    afl_ckpt_ints(ck, "basgd.count", s->cnt, (size_t)s->B);
    afl_ckpt_int(ck, "basgd.filled", &s->filled);
    if (afl_ckpt_status(ck))
        return afl_ckpt_status(ck);
    int filled = 0;
    for (int b = 0; b < s->B; b++) {
        if (s->cnt[b] < 0)
            return afl_ckpt_fail(ck, AFL_EINPUT, "basgd: buffer %d has a negative count %d", b,
                                 s->cnt[b]);
        filled += s->cnt[b] > 0;
    }
    if (filled != s->filled || filled == s->B)
        return afl_ckpt_fail(ck, AFL_EINPUT,
                             "basgd: %d of %d buffers are non-empty but the checkpoint says %d",
                             filled, s->B, s->filled);
    for (int i = 0; i < s->n_clients; i++)
        if (s->map[i] < 0 || s->map[i] >= s->B)
            return afl_ckpt_fail(ck, AFL_EINPUT,
                                 "basgd: client %d maps to buffer %d, outside 0..%d", i, s->map[i],
                                 s->B - 1);
    for (int b = 0; b < s->B; b++)
        if (s->cnt[b] > 0)
            afl_ckpt_floats(ck, "basgd.mean", s->h + (size_t)b * s->d, s->d);
    return afl_ckpt_status(ck);
}

const afl_defense_ops afl_defense_basgd = {
    {"basgd",
     "BASGD: running means in B buffers (client -> buffer map), a robust aggregate of the "
     "buffer means once every buffer is non-empty",
     "Yang & Li, ICML 2021 (BASGD), sections 3 and 5; JMLR 2023 mapping table", params},
    0,
    "buffer (0..buffers-1) the update was added to; empty if rejected",
    create,
    on_update,
    destroy,
    NULL,
    basgd_ckpt,
};
