/* attacks/trigger.c - the backdoor trigger, batch poisoning, hooks and the scaling rule shared
 * by the backdoor attacks (see trigger.h for the trigger's definition and the DBA split).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attacks/trigger.h"

/* Largest divisor of p that is <= sqrt(p). */
static int grid_rows(int p)
{
    int r = 1;
    for (int i = 1; (long)i * i <= p; i++)
        if (p % i == 0)
            r = i;
    return r;
}

int afl_trigger_create(afl_trigger *t, const afl_attack_ctx *ctx, int size, int margin, int parts,
                       afl_err *err)
{
    memset(t, 0, sizeof *t);
    t->parts = parts;
    int dim = ctx->c * ctx->h * ctx->w;
    if (dim <= 0)
        return AFL_OK; /* no dataset (model.type = none): nothing to trigger */
    t->dim = dim;
    int image = ctx->is_image && ctx->h > 0 && ctx->w > 0;
    int k = size, pixels, cells;
    if (margin < 0)
        margin = 0;
    if (image) {
        int side = ctx->h < ctx->w ? ctx->h : ctx->w;
        if (margin > side - 1)
            margin = side - 1;
        if (k > side - margin)
            k = side - margin;
        pixels = k * k;
        cells = ctx->c * pixels;
    } else {
        if (margin > dim - 1)
            margin = dim - 1;
        if (k > dim - margin)
            k = dim - margin;
        pixels = cells = k;
    }
    if (parts < 1 || parts > pixels)
        return afl_err_set(err, AFL_EINPUT,
                           "attack.dba_parts = %d: the %s trigger has %d %s, so it can be split "
                           "into 1 to %d local patterns",
                           parts, image ? "square" : "tabular", pixels,
                           image ? "pixels" : "features", pixels);
    t->idx = malloc((size_t)cells * sizeof *t->idx);
    t->val = malloc((size_t)cells * sizeof *t->val);
    t->part = malloc((size_t)cells * sizeof *t->part);
    if (!t->idx || !t->val || !t->part) {
        afl_trigger_free(t);
        return afl_err_set(err, AFL_ENOMEM, "out of memory (trigger)");
    }
    t->n = cells;
    if (image) {
        int pr = grid_rows(parts), pc = parts / pr;
        int grid = pr <= k && pc <= k;
        int n = 0;
        /* draw order: channel, row, column (fixed: the trigger depends on the seed only) */
        for (int ch = 0; ch < ctx->c; ch++)
            for (int r = 0; r < k; r++)
                for (int col = 0; col < k; col++, n++) {
                    float v = (float)afl_rng_uniform(ctx->rng);
                    t->idx[n] = ch * ctx->h * ctx->w + (ctx->h - margin - k + r) * ctx->w +
                                (ctx->w - margin - k + col);
                    t->val[n] = ctx->pixel ? ctx->pixel(ctx->pixel_env, ch, v) : v;
                    t->part[n] =
                        grid ? (r * pr / k) * pc + col * pc / k : (r * k + col) * parts / pixels;
                }
    } else {
        for (int j = 0; j < k; j++) {
            float v = (float)afl_rng_uniform(ctx->rng);
            int f = dim - margin - k + j;
            t->idx[j] = f;
            t->val[j] = ctx->pixel ? ctx->pixel(ctx->pixel_env, f, v) : v;
            t->part[j] = j * parts / k;
        }
    }
    return AFL_OK;
}

void afl_trigger_free(afl_trigger *t)
{
    if (!t)
        return;
    free(t->idx);
    free(t->val);
    free(t->part);
    memset(t, 0, sizeof *t);
}

void afl_trigger_apply(const afl_trigger *t, float *x, int part)
{
    for (int i = 0; i < t->n; i++)
        if (part < 0 || t->part[i] == part)
            x[t->idx[i]] = t->val[i];
}

int afl_trigger_part_of(const afl_trigger *t, int client)
{
    int p = t->parts > 0 ? t->parts : 1;
    return ((client % p) + p) % p;
}

int afl_poison_count(double fraction, int B)
{
    if (!(fraction > 0) || B <= 0)
        return 0;
    double k = floor(fraction * (double)B + 0.5);
    return k >= (double)B ? B : (int)k;
}

int afl_backdoor_init(afl_backdoor *b, const afl_attack_ctx *ctx, int parts, afl_err *err)
{
    memset(b, 0, sizeof *b);
    b->d = ctx->d;
    b->target = (int)afl_cfg_int(ctx->cfg, "attack", "target");
    b->fraction = afl_cfg_real(ctx->cfg, "attack", "poison_fraction");
    if (ctx->n_classes > 0 && b->target >= ctx->n_classes)
        return afl_err_set(err, AFL_EINPUT,
                           "attack.target = %d is not a label of this dataset, which has %d "
                           "classes (0..%d)",
                           b->target, ctx->n_classes, ctx->n_classes - 1);
    return afl_trigger_create(&b->trig, ctx, (int)afl_cfg_int(ctx->cfg, "attack", "trigger_size"),
                              (int)afl_cfg_int(ctx->cfg, "attack", "trigger_margin"), parts, err);
}

void afl_backdoor_free(afl_backdoor *b)
{
    afl_trigger_free(&b->trig);
}

void afl_backdoor_poison(const afl_backdoor *b, int part, float *x, int32_t *y, int B)
{
    /* x (B, dim): the first round(fraction * B) examples get the trigger and the target label */
    int np = afl_poison_count(b->fraction, B);
    for (int i = 0; i < np; i++) {
        afl_trigger_apply(&b->trig, x + (size_t)i * (size_t)b->trig.dim, part);
        y[i] = b->target;
    }
}

/* ---- the backdoor attacks' hooks ---------------------------------------------------------- */

int afl_backdoor_alloc(const afl_attack_ctx *ctx, size_t size, int parts,
                       void (*destroy)(void *state), void **out, afl_err *err)
{
    afl_backdoor *b = calloc(1, size);
    if (!b)
        return afl_err_set(err, AFL_ENOMEM, "out of memory");
    int rc = afl_backdoor_init(b, ctx, parts, err);
    if (rc) {
        destroy(b);
        return rc;
    }
    *out = b;
    return AFL_OK;
}

void afl_backdoor_destroy(void *state)
{
    afl_backdoor *b = state;
    if (!b)
        return;
    afl_backdoor_free(b);
    free(b);
}

void afl_backdoor_poison_all(void *state, int client, float *x, int32_t *y, int B, afl_rng *rng)
{
    (void)client, (void)rng;
    afl_backdoor_poison(state, -1, x, y, B);
}

int afl_backdoor_target(void *state)
{
    return ((const afl_backdoor *)state)->target;
}

void afl_backdoor_trigger(void *state, float *x)
{
    afl_trigger_apply(&((const afl_backdoor *)state)->trig, x, -1);
}

/* ---- scaling.c / dba.c: g <- lambda g -------------------------------------------------------- */

int afl_scaled_backdoor_create(const afl_attack_ctx *ctx, int parts, void **out, afl_err *err)
{
    void *vs;
    int rc =
        afl_backdoor_alloc(ctx, sizeof(afl_scaled_backdoor), parts, afl_backdoor_destroy, &vs, err);
    if (rc)
        return rc;
    afl_scaled_backdoor *st = vs;
    double s = afl_cfg_real(ctx->cfg, "attack", "scale");
    st->lambda = s > 0 ? s : (double)ctx->n_clients;
    *out = st;
    return AFL_OK;
}

void afl_scaled_backdoor_craft(void *state, const afl_attack_view *view, float *g, afl_rng *rng)
{
    (void)view, (void)rng;
    afl_scaled_backdoor *st = state;
    afl_vec_scale(g, st->b.d, st->lambda); /* g (d) <- lambda g */
}
