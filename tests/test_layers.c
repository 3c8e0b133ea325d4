/* tests/test_layers.c - the layer kernels of models/: hand-checkable forward passes on tiny
 * inputs, and every backward kernel against central finite differences.
 *
 * Gradient checks: the scalar L = sum_i out_i * r_i (r fixed and random) is evaluated in double,
 * so dL/dout = r is what backward receives. A sampled parameter or input p is moved to the
 * floats p+eps and p-eps, and (L+ - L-) / ((p+eps) - (p-eps)) (the step actually taken) must
 * match the analytic value within atol + rtol * |numeric|. The dense and conv layers are linear
 * in each single parameter, so the difference is exact up to float rounding of the outputs
 * (~1e-5 here); for ReLU and max-pooling the test inputs keep every value at least 2.5*eps away
 * from a kink, so no step crosses one.
 */
#define _GNU_SOURCE /* dladdr */
#include <criterion/criterion.h>

#include <cblas.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/layers.h"
#include "models/net.h"
#include "sim/rng.h"

#define ATOL 1e-3
#define RTOL 1e-2

typedef double (*loss_fn)(void *ctx);

/* Checks analytic[i] against central differences of f for about n_check indices of param. */
static void check_grad(const char *what, loss_fn f, void *ctx, float *param, size_t n,
                       const float *analytic, size_t n_check, float eps)
{
    size_t step = n > n_check ? n / n_check : 1;
    if (step > 1 && step % 2 == 0)
        step++; /* visit both parities of strided layouts */
    for (size_t i = 0; i < n; i += step) {
        float v = param[i];
        param[i] = v + eps;
        float vp = param[i];
        double lp = f(ctx);
        param[i] = v - eps;
        float vm = param[i];
        double lm = f(ctx);
        param[i] = v;
        double num = (lp - lm) / ((double)vp - (double)vm);
        double a = analytic[i];
        cr_assert(fabs(a - num) <= ATOL + RTOL * fabs(num),
                  "%s[%zu]: analytic %.7g, central difference %.7g", what, i, a, num);
    }
}

static void fill_uniform(float *x, size_t n, afl_rng *r, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * afl_rng_uniform(r));
}

static double dot_d(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* ---- dense ---- */

Test(dense, forward_matches_hand_computation)
{
    /* W = [[1,2,3],[4,5,6]], b = [0.5,-1]; examples x0 = [1,0,-1], x1 = [2,1,0] stored (IN,B) */
    const float W[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5f, -1};
    const float in[6] = {1, 2, 0, 1, -1, 0};
    float out[4];
    afl_dense_forward(out, in, W, b, 2, 3, 2);
    /* y0 = [1-3+0.5, 4-6-1] = [-1.5,-3]; y1 = [2+2+0.5, 8+5-1] = [4.5,12]; stored (OUT,B) */
    const float want[4] = {-1.5f, 4.5f, -3, 12};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(out[i], want[i], 1e-6, "out[%d] = %g, want %g", i, out[i], want[i]);
}

typedef struct {
    int B, in, out;
    float *x, *W, *b, *y, *r;
} dense_ctx;

static double dense_loss(void *p)
{
    dense_ctx *c = p;
    afl_dense_forward(c->y, c->x, c->W, c->b, c->B, c->in, c->out);
    return dot_d(c->y, c->r, (size_t)c->out * c->B);
}

Test(dense, backward_matches_finite_differences)
{
    afl_rng *r = afl_rng_create(1, AFL_RNG_TEST, 1);
    dense_ctx c = {.B = 5, .in = 7, .out = 4};
    float x[35], W[28], b[4], y[20], rr[20], dx[35], dW[28], db[4];
    c.x = x, c.W = W, c.b = b, c.y = y, c.r = rr;
    fill_uniform(x, 35, r, -1, 1);
    fill_uniform(W, 28, r, -1, 1);
    fill_uniform(b, 4, r, -1, 1);
    fill_uniform(rr, 20, r, -1, 1);
    afl_dense_backward(dx, dW, db, rr, x, W, c.B, c.in, c.out);
    check_grad("dense dW", dense_loss, &c, W, 28, dW, 28, 1e-2f);
    check_grad("dense db", dense_loss, &c, b, 4, db, 4, 1e-2f);
    check_grad("dense dx", dense_loss, &c, x, 35, dx, 35, 1e-2f);
    afl_rng_free(r);
}

Test(dense, backward_without_input_gradient_leaves_weights_gradient_equal)
{
    afl_rng *r = afl_rng_create(2, AFL_RNG_TEST, 1);
    float x[12], W[6], dy[8], dW1[6], dW2[6], db1[2], db2[2], dx[12];
    fill_uniform(x, 12, r, -1, 1);
    fill_uniform(W, 6, r, -1, 1);
    fill_uniform(dy, 8, r, -1, 1);
    afl_dense_backward(dx, dW1, db1, dy, x, W, 4, 3, 2);
    afl_dense_backward(NULL, dW2, db2, dy, x, W, 4, 3, 2);
    cr_assert(memcmp(dW1, dW2, sizeof dW1) == 0 && memcmp(db1, db2, sizeof db1) == 0);
    afl_rng_free(r);
}

/* ---- convolution ---- */

Test(conv, forward_3x3_on_4x4_matches_hand_computation)
{
    /* x[i][j] = 4i + j + 1 (1..16); kernel [[1,0,0],[0,0,0],[0,0,2]], bias 0.5:
     * out[i][j] = x[i][j] + 2 x[i+2][j+2] + 0.5 */
    float x[16], k[9] = {1, 0, 0, 0, 0, 0, 0, 0, 2}, bias = 0.5f, out[4], cols[9 * 4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    afl_conv_dims d = {.B = 1, .IC = 1, .H = 4, .W = 4, .OC = 1, .K = 3, .OH = 2, .OW = 2};
    afl_conv_forward(out, cols, x, k, &bias, &d);
    const float want[4] = {1 + 22 + 0.5f, 2 + 24 + 0.5f, 5 + 30 + 0.5f, 6 + 32 + 0.5f};
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(out[i], want[i], 1e-5, "out[%d] = %g, want %g", i, out[i], want[i]);
}

Test(conv, forward_is_cross_correlation_over_channels_and_batch)
{
    /* 2 input channels, 2 examples, 2 output channels, 2x2 kernels on 3x3 images: compare with
     * the definition out[oc,i,j,b] = bias[oc] + sum w[oc,ic,u,v] x[ic,i+u,j+v,b] */
    afl_rng *r = afl_rng_create(3, AFL_RNG_TEST, 1);
    enum { B = 2, IC = 2, H = 3, W = 3, OC = 2, K = 2, OH = 2, OW = 2 };
    float x[IC * H * W * B], w[OC * IC * K * K], bias[OC], out[OC * OH * OW * B];
    float cols[IC * K * K * OH * OW * B];
    fill_uniform(x, sizeof x / sizeof *x, r, -1, 1);
    fill_uniform(w, sizeof w / sizeof *w, r, -1, 1);
    fill_uniform(bias, OC, r, -1, 1);
    afl_conv_dims d = {.B = B, .IC = IC, .H = H, .W = W, .OC = OC, .K = K, .OH = OH, .OW = OW};
    afl_conv_forward(out, cols, x, w, bias, &d);
    for (int oc = 0; oc < OC; oc++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++)
                for (int b = 0; b < B; b++) {
                    double s = bias[oc];
                    for (int ic = 0; ic < IC; ic++)
                        for (int u = 0; u < K; u++)
                            for (int v = 0; v < K; v++)
                                s += (double)w[((oc * IC + ic) * K + u) * K + v] *
                                     x[((ic * H + i + u) * W + j + v) * B + b];
                    float got = out[((oc * OH + i) * OW + j) * B + b];
                    cr_assert_float_eq(got, s, 1e-5, "oc %d (%d,%d) b %d: %g vs %g", oc, i, j, b,
                                       got, s);
                }
    afl_rng_free(r);
}

typedef struct {
    afl_conv_dims d;
    float *x, *W, *b, *y, *r, *cols;
} conv_ctx;

static double conv_loss(void *p)
{
    conv_ctx *c = p;
    afl_conv_forward(c->y, c->cols, c->x, c->W, c->b, &c->d);
    return dot_d(c->y, c->r, (size_t)c->d.OC * c->d.OH * c->d.OW * c->d.B);
}

Test(conv, backward_matches_finite_differences)
{
    afl_rng *r = afl_rng_create(4, AFL_RNG_TEST, 1);
    enum { B = 2, IC = 2, H = 5, W = 6, OC = 3, K = 3, OH = 3, OW = 4 };
    enum {
        NX = IC * H * W * B,
        NW = OC * IC * K * K,
        NY = OC * OH * OW * B,
        NC = IC * K * K * OH * OW * B
    };
    float x[NX], w[NW], b[OC], y[NY], rr[NY], cols[NC], dcols[NC], dx[NX], dw[NW], db[OC];
    conv_ctx c = {{.B = B, .IC = IC, .H = H, .W = W, .OC = OC, .K = K, .OH = OH, .OW = OW},
                  x,
                  w,
                  b,
                  y,
                  rr,
                  cols};
    fill_uniform(x, NX, r, -1, 1);
    fill_uniform(w, NW, r, -1, 1);
    fill_uniform(b, OC, r, -1, 1);
    fill_uniform(rr, NY, r, -1, 1);
    conv_loss(&c); /* cols for backward */
    afl_conv_backward(dx, dcols, dw, db, rr, cols, w, &c.d);
    check_grad("conv dW", conv_loss, &c, w, NW, dw, NW, 1e-2f);
    check_grad("conv db", conv_loss, &c, b, OC, db, OC, 1e-2f);
    check_grad("conv dx", conv_loss, &c, x, NX, dx, NX, 1e-2f);
    afl_rng_free(r);
}

Test(conv, col2im_is_the_adjoint_of_im2col)
{
    /* <im2col(x), c> = <x, col2im(c)> for any x, c */
    afl_rng *r = afl_rng_create(5, AFL_RNG_TEST, 1);
    enum { B = 3, IC = 2, H = 4, W = 5, K = 2, OH = 3, OW = 4 };
    enum { NX = IC * H * W * B, NC = IC * K * K * OH * OW * B };
    float x[NX], c[NC], cx[NC], xc[NX];
    fill_uniform(x, NX, r, -1, 1);
    fill_uniform(c, NC, r, -1, 1);
    afl_conv_dims d = {.B = B, .IC = IC, .H = H, .W = W, .OC = 1, .K = K, .OH = OH, .OW = OW};
    afl_im2col(cx, x, &d);
    afl_col2im(xc, c, &d);
    double a = dot_d(cx, c, NC), b = dot_d(x, xc, NX);
    cr_assert(fabs(a - b) < 1e-4, "%g vs %g", a, b);
    afl_rng_free(r);
}

/* ---- max-pooling ---- */

Test(maxpool, forward_4x4_picks_first_maximum_in_row_major_order)
{
    /* windows: {1,3 / 3,0} -> 3 top-right (ties go to the first), {2,2 / 2,1} -> 2 top-left,
     * {-1,-2 / -3,-4} -> -1 top-left, {5,7 / 7,6} -> 7 top-right */
    const float x[16] = {1, 3, 2, 2, 3, 0, 2, 1, -1, -2, 5, 7, -3, -4, 7, 6};
    float out[4];
    uint8_t arg[4];
    afl_maxpool_forward(out, arg, x, 1, 1, 4, 4, 0);
    const float want[4] = {3, 2, -1, 7};
    const uint8_t want_arg[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(out[i], want[i], "out[%d] = %g, want %g", i, out[i], want[i]);
        cr_assert_eq(arg[i], want_arg[i], "arg[%d] = %d, want %d", i, arg[i], want_arg[i]);
    }
    afl_maxpool_forward(out, arg, x, 1, 1, 4, 4, 1); /* with ReLU: -1 -> 0 */
    cr_assert(out[0] == 3 && out[1] == 2 && out[2] == 0 && out[3] == 7);
}

Test(maxpool, backward_routes_gradient_to_the_winner_only)
{
    const float x[16] = {1, 3, 2, 2, 3, 0, 2, 1, -1, -2, 5, 7, -3, -4, 7, 6};
    const float g[4] = {10, 20, 30, 40};
    float out[4], dx[16];
    uint8_t arg[4];
    afl_maxpool_forward(out, arg, x, 1, 1, 4, 4, 0);
    afl_maxpool_backward(dx, g, out, arg, 1, 1, 4, 4, 0);
    const float want[16] = {0, 10, 20, 0, 0, 0, 0, 0, 30, 0, 0, 40, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        cr_assert_eq(dx[i], want[i], "dx[%d] = %g, want %g", i, dx[i], want[i]);
    afl_maxpool_forward(out, arg, x, 1, 1, 4, 4, 1);
    afl_maxpool_backward(dx, g, out, arg, 1, 1, 4, 4, 1); /* the ReLU blocks the -1 window */
    cr_assert_eq(dx[8], 0.0f);
    cr_assert_eq(dx[1], 10.0f);
}

Test(maxpool, odd_sizes_drop_the_last_row_and_column)
{
    /* 5x5 -> 2x2; row 4 and column 4 get no gradient, even when they hold the largest values */
    float x[25], out[4], dx[25], g[4] = {1, 1, 1, 1};
    uint8_t arg[4];
    for (int i = 0; i < 25; i++)
        x[i] = (float)i;
    for (int i = 0; i < 25; i++)
        dx[i] = 99; /* must be overwritten */
    afl_maxpool_forward(out, arg, x, 1, 1, 5, 5, 0);
    cr_assert(out[0] == 6 && out[1] == 8 && out[2] == 16 && out[3] == 18);
    afl_maxpool_backward(dx, g, out, arg, 1, 1, 5, 5, 0);
    for (int i = 0; i < 25; i++) {
        int want = (i == 6 || i == 8 || i == 16 || i == 18);
        cr_assert_eq(dx[i], (float)want, "dx[%d] = %g", i, dx[i]);
    }
}

typedef struct {
    int B, C, H, W, relu;
    float *x, *y, *r;
    uint8_t *arg;
} pool_ctx;

static double pool_loss(void *p)
{
    pool_ctx *c = p;
    afl_maxpool_forward(c->y, c->arg, c->x, c->B, c->C, c->H, c->W, c->relu);
    return dot_d(c->y, c->r, (size_t)c->B * c->C * (c->H / 2) * (c->W / 2));
}

static void pool_gradcheck(int relu)
{
    afl_rng *r = afl_rng_create(6, AFL_RNG_TEST, (uint64_t)relu);
    enum { B = 3, C = 2, H = 5, W = 7, NX = B * C * H * W, NY = B * C * (H / 2) * (W / 2) };
    float x[NX], y[NY], rr[NY], dx[NX];
    uint8_t arg[NY];
    /* distinct values 0.05 apart and 0.025 away from 0: steps of 1e-2 cross no kink */
    int perm[NX];
    for (int i = 0; i < NX; i++)
        perm[i] = i;
    afl_rng_shuffle_int(r, perm, NX);
    for (int i = 0; i < NX; i++)
        x[i] = (float)((perm[i] - NX / 2 + 0.5) * 0.05);
    fill_uniform(rr, NY, r, -1, 1);
    pool_ctx c = {B, C, H, W, relu, x, y, rr, arg};
    pool_loss(&c);
    afl_maxpool_backward(dx, rr, y, arg, B, C, H, W, relu);
    check_grad(relu ? "maxpool+relu dx" : "maxpool dx", pool_loss, &c, x, NX, dx, NX, 1e-2f);
    afl_rng_free(r);
}

Test(maxpool, backward_matches_finite_differences)
{
    pool_gradcheck(0);
}

Test(maxpool, fused_relu_backward_matches_finite_differences)
{
    pool_gradcheck(1);
}

/* ---- ReLU ---- */

Test(relu, forward_zeroes_negatives_and_keeps_positives)
{
    const float x[5] = {-2, -0.0f, 0, 0.5f, 3};
    float y[5];
    afl_relu_forward(y, x, 5);
    cr_assert(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 0.5f && y[4] == 3);
    cr_assert(!signbit(y[0]) && !signbit(y[1]));
}

typedef struct {
    size_t n;
    float *x, *y, *r;
} relu_ctx;

static double relu_loss(void *p)
{
    relu_ctx *c = p;
    afl_relu_forward(c->y, c->x, c->n);
    return dot_d(c->y, c->r, c->n);
}

Test(relu, backward_matches_finite_differences)
{
    afl_rng *r = afl_rng_create(7, AFL_RNG_TEST, 1);
    enum { N = 40 };
    float x[N], y[N], rr[N], dx[N];
    fill_uniform(x, N, r, 0.05, 1);
    for (int i = 0; i < N; i += 2)
        x[i] = -x[i];
    fill_uniform(rr, N, r, -1, 1);
    relu_ctx c = {N, x, y, rr};
    relu_loss(&c);
    afl_relu_backward(dx, rr, y, N);
    check_grad("relu dx", relu_loss, &c, x, N, dx, N, 1e-2f);
    afl_rng_free(r);
}

/* ---- softmax cross-entropy ---- */

Test(crossentropy, equal_logits_cost_log_of_class_count)
{
    const float z[8] = {0}; /* (NC=4, B=2) */
    const int32_t y[2] = {0, 3};
    float losses[2], dz[8];
    double total = afl_crossentropy_forward(losses, z, y, 2, 4);
    cr_assert_float_eq(total, 2 * log(4.0), 1e-6);
    cr_assert_float_eq(losses[1], log(4.0), 1e-6);
    afl_crossentropy_backward(dz, z, y, 2, 4);
    /* (1/4 - onehot)/B */
    cr_assert_float_eq(dz[0 * 2 + 0], (0.25 - 1) / 2, 1e-7);
    cr_assert_float_eq(dz[1 * 2 + 0], 0.25 / 2, 1e-7);
    cr_assert_float_eq(dz[3 * 2 + 1], (0.25 - 1) / 2, 1e-7);
}

Test(crossentropy, huge_logits_stay_finite)
{
    const float z[4] = {1000, 1000, 0, -1000}; /* (NC=2, B=2): columns (1000,0) and (1000,-1000) */
    const int32_t y[2] = {0, 1};
    float losses[2], dz[4];
    afl_crossentropy_forward(losses, z, y, 2, 2);
    cr_assert(isfinite(losses[0]) && isfinite(losses[1]));
    cr_assert_float_eq(losses[0], log1p(exp(-1000.0)), 1e-6);
    cr_assert_float_eq(losses[1], 2000.0, 1e-3);
    afl_crossentropy_backward(dz, z, y, 2, 2);
    for (int i = 0; i < 4; i++)
        cr_assert(isfinite(dz[i]));
}

Test(crossentropy, label_out_of_range_gives_nan_not_a_crash)
{
    const float z[3] = {1, 2, 3};
    const int32_t y[1] = {3};
    float dz[3];
    cr_assert(isnan(afl_crossentropy_forward(NULL, z, y, 1, 3)));
    afl_crossentropy_backward(dz, z, y, 1, 3);
    cr_assert(isnan(dz[0]));
}

typedef struct {
    int B, NC;
    float *z;
    const int32_t *y;
} ce_ctx;

static double ce_loss(void *p)
{
    ce_ctx *c = p;
    return afl_crossentropy_forward(NULL, c->z, c->y, c->B, c->NC) / c->B;
}

Test(crossentropy, backward_matches_finite_differences_of_the_mean_loss)
{
    afl_rng *r = afl_rng_create(8, AFL_RNG_TEST, 1);
    enum { B = 4, NC = 5 };
    float z[NC * B], dz[NC * B];
    const int32_t y[B] = {0, 4, 2, 2};
    fill_uniform(z, NC * B, r, -3, 3);
    ce_ctx c = {B, NC, z, y};
    afl_crossentropy_backward(dz, z, y, B, NC);
    check_grad("softmax-CE dz", ce_loss, &c, z, NC * B, dz, NC * B, 1e-3f);
    afl_rng_free(r);
}

/* ---- layout helpers ---- */

Test(layout, transpose_and_row_sums)
{
    const float a[6] = {1, 2, 3, 4, 5, 6}; /* (2,3) */
    float t[6], s[2];
    afl_transpose(t, a, 2, 3);
    const float want[6] = {1, 4, 2, 5, 3, 6};
    cr_assert(memcmp(t, want, sizeof t) == 0);
    afl_row_sums(s, a, 2, 3);
    cr_assert(s[0] == 6 && s[1] == 15);
    float big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (float)i;
    afl_row_sums(s, big, 1, 100);
    cr_assert_eq(s[0], 4950.0f);
}

/* ---- BLAS ---- */

Test(blas, cblas_sgemm_comes_from_openblas)
{
    /* GSL's reference CBLAS also defines cblas_sgemm and is ~30x slower (DESIGN.md, 11). */
    Dl_info info;
    void *fn = (void *)&cblas_sgemm;
    cr_assert(dladdr(fn, &info) != 0 && info.dli_fname, "dladdr(cblas_sgemm) failed");
    cr_assert(strstr(info.dli_fname, "openblas") != NULL, "cblas_sgemm comes from %s",
              info.dli_fname);
    cr_assert(strstr(afl_blas_info(), "OpenBLAS") != NULL, "%s", afl_blas_info());
}
