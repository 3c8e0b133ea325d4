/* defenses/defense.h - the defense interface (DESIGN.md section 5).
 *
 * A defense sees one arriving update at a time and decides what the server
 * does with it.  Sign convention (DESIGN.md section 4): updates are
 * gradient-like and the server applies w <- w - lr * step.  A defense never
 * learns which clients are malicious.
 *
 * Adding a defense = one new file defining a `const afl_defense_ops` plus one
 * line in defenses/registry.c.
 */
#ifndef AFL_DEFENSE_H
#define AFL_DEFENSE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/ckpt.h"
#include "sim/config.h"
#include "sim/err.h"
#include "sim/param.h"
#include "sim/rng.h"

typedef enum {
    AFL_VERDICT_ACCEPTED = 0, /* applied as is (possibly inside an aggregate) */
    AFL_VERDICT_REJECTED = 1, /* discarded */
    AFL_VERDICT_HELD = 2,     /* buffered for a later aggregate */
    AFL_VERDICT_WEIGHTED = 3  /* applied with a weight (decision.weight) */
} afl_verdict;

const char *afl_verdict_name(afl_verdict v);

/* One arriving update.  All vectors have length d. */
typedef struct afl_update {
    int client;
    int64_t base_version; /* version of the model the client trained on */
    int64_t version;      /* current server version */
    int64_t staleness;    /* version - base_version */
    double time;          /* simulated arrival time */
    const float *g;       /* the update (may hold NaN/Inf/huge values from an attacker) */
    const float *w_base;  /* the model the client trained on */
    const float *w_cur;   /* the current global model */
} afl_update;

typedef struct afl_decision {
    afl_verdict verdict;
    double score;  /* the defense's score of this update (NAN if it has none) */
    double weight; /* weight given to the update (1 accepted, 0 rejected, NAN if held) */
    int apply;     /* 1: step_out was written and the server applies w -= lr * step_out */
    double aux;    /* one defense-specific number for events.csv's `aux` column (NAN if none);
                      each defense documents it in aux_doc */
} afl_decision;

/* What a defense may use. */
typedef struct afl_defense_ctx {
    const afl_config *cfg; /* its own keys live in [defense] */
    int n_clients;
    int n_classes;
    size_t d;
    double lr;             /* train.lr, the server learning rate */
    int batch;             /* train.batch, the clients' minibatch size */
    uint64_t seed;
    afl_rng *rng;          /* the defense's own random stream (owned by the engine) */
    /* Trusted server data, only for defenses with needs_trusted_data
     * (defense.trusted_size examples drawn uniformly from the union of the
     * clients' training data, as in AFLGuard); NULL otherwise.
     * trusted_grad: mean cross-entropy gradient at w into grad (d) over a
     *   minibatch of `batch` trusted examples drawn with the trusted stream
     *   (batch <= 0 or >= trusted_n: the whole trusted set); returns the loss.
     * trusted_eval: mean loss and mean prediction entropy of w on the whole
     *   trusted set (Sageflow). */
    int trusted_n;
    float (*trusted_grad)(void *env, const float *w, int batch, float *grad);
    void (*trusted_eval)(void *env, const float *w, double *loss, double *entropy);
    void *env;
    /* worker threads the defense may use (results must not depend on it); 0 or 1 = none */
    int threads;
} afl_defense_ctx;

typedef struct afl_defense_ops {
    afl_component info;
    int needs_trusted_data;
    const char *aux_doc; /* what the events.csv `aux` column holds for this defense, or NULL */
    int (*create)(const afl_defense_ctx *ctx, void **state, afl_err *err);
    /* Decides on u; writes step_out (d) and sets dec->apply when the model changes. */
    int (*on_update)(void *state, const afl_update *u, float *step_out, afl_decision *dec,
                     afl_err *err);
    void (*destroy)(void *state);
    /* Optional, for adaptive attacks with full knowledge: would on_update accept u now?
     * Must not change the state (or any randomness).  Returns 1 accept, 0 reject, and
     * the score on_update would log in *score. */
    int (*probe)(void *state, const afl_update *u, double *score);
    /* Checkpoints (sim/ckpt.h, `aflsim run --resume`): saves or loads, with one call
     * sequence, every piece of state that on_update may change, into a state that create
     * made from the same ctx.  NULL only when on_update never changes the state.  The
     * engine saves ctx->rng and the trusted data's stream itself.  tests/test_ckpt.c
     * checks for every defense that a saved-and-loaded copy decides exactly like the
     * original. */
    int (*ckpt)(void *state, afl_ckpt *ck);
} afl_defense_ops;

const afl_component *afl_defense_components(size_t *n);
const afl_defense_ops *afl_defense_find(const char *name);

#endif
