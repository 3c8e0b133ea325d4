/* attacks/attack.h - the attack interface (DESIGN.md section 5).
 *
 * Data poisoning rewrites a malicious client's minibatch before training
 * (poison_batch); model poisoning rewrites its update after training (craft).
 * Either hook may be NULL.  Updates are gradient-like (w <- w - lr * g).
 *
 * Adding an attack = one new file defining a `const afl_attack_ops` plus one
 * line in attacks/registry.c.
 */
#ifndef AFL_ATTACK_H
#define AFL_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "sim/config.h"
#include "sim/err.h"
#include "sim/param.h"
#include "sim/rng.h"

typedef struct afl_attack_ctx {
    const afl_config *cfg; /* its own keys live in [attack] */
    int n_clients, n_malicious, n_classes;
    int c, h, w; /* input shape */
    size_t d;
    double lr;
    uint64_t seed;
} afl_attack_ctx;

/* What a malicious client sees when it crafts its update. */
typedef struct afl_attack_view {
    int client;
    int64_t round, version, base_version;
    const float *w_base; /* the model it trained on (d) */
    const float *w_cur;  /* the current global model (d) */
} afl_attack_view;

typedef struct afl_attack_ops {
    afl_component info;
    int (*create)(const afl_attack_ctx *ctx, void **state, afl_err *err);
    /* x: (B, dim), y: (B), a copy the attack may rewrite in place. */
    void (*poison_batch)(void *state, int client, float *x, int32_t *y, int B, afl_rng *rng);
    /* g: (d), the client's genuine update, rewritten in place. */
    void (*craft)(void *state, const afl_attack_view *view, float *g, afl_rng *rng);
    void (*destroy)(void *state);
} afl_attack_ops;

const afl_component *afl_attack_components(size_t *n);
const afl_attack_ops *afl_attack_find(const char *name);

#endif
