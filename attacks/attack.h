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

#include "models/net.h"
#include "sim/ckpt.h"
#include "sim/config.h"
#include "sim/err.h"
#include "sim/param.h"
#include "sim/rng.h"

typedef struct afl_attack_ctx {
    const afl_config *cfg; /* its own keys live in [attack] */
    int n_clients, n_malicious, n_classes;
    int c, h, w; /* input shape */
    int is_image;
    size_t d;
    double lr;       /* server learning rate (train.lr) */
    double local_lr; /* train.local_lr */
    int batch;       /* train.batch */
    int tau_max;     /* delay.tau_max */
    uint64_t seed;
    afl_rng *rng;    /* the attack's own stream (trigger, coordinated noise); engine-owned */
    const afl_net *net; /* the model architecture (for attacks that train or evaluate) */
    /* Pixel value v in [0,1] (image scale) as it appears in the normalised input of
     * channel ch: triggers must go through this so they survive any data.normalize. */
    float (*pixel)(const void *env, int ch, float v);
    const void *pixel_env;
} afl_attack_ctx;

/* What a malicious client sees when it crafts its update (DESIGN.md section 5).
 * Knowledge (attack.knowledge): full = the genuine updates of the last
 * attack.window benign arrivals at the server; partial = only the malicious
 * clients' own genuine updates (the last attack.window of them). */
typedef struct afl_attack_view {
    int client;
    int64_t round, version, base_version;
    const float *w_base;  /* the model it trained on (d) */
    const float *w_cur;   /* the current global model (d) */
    const float *genuine; /* its own genuine (pre-attack) update (d) */
    int n_known;          /* number of known genuine updates, newest first */
    const float *const *known; /* (n_known) pointers to (d) vectors */
    int full_knowledge;   /* 1: known = benign updates; 0: known = malicious clients' own */
    int n_clients, n_malicious;
    /* Full knowledge of the defense: would the configured defense accept g from this
     * client now?  Returns 1/0, and its score in *score (NAN if none); NULL when the
     * defense has no side-effect-free acceptance test. */
    int (*accepts)(void *env, const float *g, double *score);
    void *accepts_env;
} afl_attack_view;

typedef struct afl_attack_ops {
    afl_component info;
    int (*create)(const afl_attack_ctx *ctx, void **state, afl_err *err);
    /* x: (B, dim), y: (B), a copy the attack may rewrite in place. */
    void (*poison_batch)(void *state, int client, float *x, int32_t *y, int B, afl_rng *rng);
    /* g: (d), the client's genuine update, rewritten in place. */
    void (*craft)(void *state, const afl_attack_view *view, float *g, afl_rng *rng);
    void (*destroy)(void *state);
    /* Backdoor attacks: the target label and the test-time trigger, applied in place to
     * one normalised example x (dim); ASR is measured with it.  NULL for untargeted. */
    int (*target)(void *state);
    void (*trigger)(void *state, float *x);
    int needs_knowledge; /* 1: the engine keeps the attack.window genuine updates */
    /* Checkpoints (sim/ckpt.h, `aflsim run --resume`): saves or loads, with one call
     * sequence, every piece of state that poison_batch or craft may change, into a state
     * that create made from the same ctx.  NULL only when the state never changes after
     * create.  The engine saves ctx->rng and the clients' streams itself.
     * tests/test_ckpt.c checks for every attack that a saved-and-loaded copy crafts
     * exactly like the original. */
    int (*ckpt)(void *state, afl_ckpt *ck);
} afl_attack_ops;

const afl_component *afl_attack_components(size_t *n);
const afl_attack_ops *afl_attack_find(const char *name);

#endif
