/* attacks/trigger.c - the backdoor trigger, batch poisoning and update-vector helpers shared by
 * the backdoor attacks (see trigger.h for the trigger's definition and the DBA split).
 */
#include <float.h>
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

/* ---- update-vector helpers ------------------------------------------------------------ */

double afl_vec_norm(const float *v, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < d; i++)
        s += (double)v[i] * (double)v[i];
    return isfinite(s) ? sqrt(s) : INFINITY;
}

void afl_vec_scale(float *v, size_t d, double s)
{
    if (isnan(s))
        return;
    if (s == 0) {
        memset(v, 0, d * sizeof *v); /* also clears inf and NaN entries */
        return;
    }
    for (size_t i = 0; i < d; i++) {
        if (v[i] == 0.0f)
            continue; /* 0 * inf stays 0 */
        double x = s * (double)v[i];
        if (x > FLT_MAX)
            x = FLT_MAX;
        else if (x < -FLT_MAX)
            x = -FLT_MAX;
        v[i] = (float)x;
    }
}

int afl_vec_known_mean(const afl_attack_view *v, size_t d, float *out)
{
    if (!v || v->n_known <= 0)
        return 0;
    double inv = 1.0 / (double)v->n_known;
    for (size_t i = 0; i < d; i++) {
        double s = 0;
        for (int k = 0; k < v->n_known; k++)
            s += (double)v->known[k][i];
        out[i] = (float)(s * inv);
    }
    return 1;
}

double afl_vec_known_norm(const afl_attack_view *v, size_t d)
{
    if (!v || v->n_known <= 0)
        return NAN;
    double s = 0;
    for (int k = 0; k < v->n_known; k++)
        s += afl_vec_norm(v->known[k], d);
    return s / (double)v->n_known;
}

void afl_vec_select(const float *score, size_t d, size_t k, int smallest, uint32_t *keys,
                    unsigned char *mask)
{
    memset(mask, 0, d);
    if (k > d)
        k = d;
    if (k == 0)
        return;
    /* the bit pattern of a non-negative float orders like its value (inf and NaN on top) */
    for (size_t i = 0; i < d; i++) {
        float a = fabsf(score[i]);
        uint32_t u;
        memcpy(&u, &a, sizeof u);
        keys[i] = smallest ? ~u : u;
    }
    /* radix select, most significant byte first: the k-th largest key T and how many of the
     * keys equal to T still have to be taken (need) */
    uint32_t prefix = 0, pmask = 0;
    size_t need = k;
    for (int shift = 24; shift >= 0; shift -= 8) {
        size_t hist[256] = {0};
        for (size_t i = 0; i < d; i++)
            if ((keys[i] & pmask) == prefix)
                hist[(keys[i] >> shift) & 255u]++;
        int b = 255;
        for (; b > 0; b--) {
            if (hist[b] >= need)
                break;
            need -= hist[b];
        }
        prefix |= (uint32_t)b << shift;
        pmask |= 255u << shift;
    }
    for (size_t i = 0; i < d; i++) {
        if (keys[i] > prefix)
            mask[i] = 1;
        else if (keys[i] == prefix && need > 0) {
            mask[i] = 1;
            need--;
        }
    }
}
