/* tests/test_models.c - the models of models/net.h: parameter counts and layout, agreement with a
 * direct PyTorch-convention implementation, gradients against finite differences,
 * initialisation, training, evaluation and reproducibility.
 *
 * Model gradient checks: the mean cross-entropy is recomputed in double from the float logits of
 * afl_net_forward, each sampled parameter moves by +-1e-3 (the float step actually taken is
 * used), and analytic and central-difference values must agree within 2e-3 + 2e-2 |numeric|.
 * Float rounding of the logits puts ~1e-4 of noise on a central difference at this step; a
 * ReLU or max-pool kink crossed inside the step would cost more, and with the fixed seeds below
 * none is.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/net.h"
#include "sim/rng.h"

int openblas_get_num_threads(void); /* OpenBLAS */

static float *random_floats(afl_rng *r, size_t n, double lo, double hi)
{
    float *x = malloc(n * sizeof *x);
    cr_assert(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (hi - lo) * afl_rng_uniform(r));
    return x;
}

static int32_t *random_labels(afl_rng *r, int n, int nc)
{
    int32_t *y = malloc((size_t)n * sizeof *y);
    cr_assert(y);
    for (int i = 0; i < n; i++)
        y[i] = (int32_t)afl_rng_below(r, (uint64_t)nc);
    return y;
}

static float *init_params(const afl_net *net, uint64_t seed)
{
    float *w = malloc(afl_net_nparams(net) * sizeof *w);
    cr_assert(w);
    afl_rng *r = afl_rng_create(seed, AFL_RNG_TEST, 0);
    afl_net_init(net, w, r);
    afl_rng_free(r);
    return w;
}

/* Mean cross-entropy of logits (B,NC), in double. */
static double mean_ce(const float *z, const int32_t *y, int B, int NC)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        const float *row = z + (size_t)b * NC;
        double m = row[0], s = 0;
        for (int j = 1; j < NC; j++)
            m = row[j] > m ? row[j] : m;
        for (int j = 0; j < NC; j++)
            s += exp(row[j] - m);
        total += m + log(s) - row[y[b]];
    }
    return total / B;
}

typedef struct {
    const afl_net *net;
    afl_ws *ws;
    const float *x;
    const int32_t *y;
    int B;
    float *logits;
} model_ctx;

static double model_loss(model_ctx *c, const float *w)
{
    afl_net_forward(c->net, c->ws, w, c->x, c->B, c->logits);
    return mean_ce(c->logits, c->y, c->B, afl_net_n_classes(c->net));
}

/* loss_grad against central differences on per_tensor parameters of every tensor. */
static void check_model_gradient(const afl_net *net, int B, uint64_t seed, int per_tensor)
{
    afl_rng *r = afl_rng_create(seed, AFL_RNG_TEST, 1);
    const int dim = afl_net_input_dim(net), NC = afl_net_n_classes(net);
    const size_t P = afl_net_nparams(net);
    float *w = init_params(net, seed), *g = malloc(P * sizeof *g);
    float *x = random_floats(r, (size_t)B * dim, -1, 1);
    int32_t *y = random_labels(r, B, NC);
    float *logits = malloc((size_t)B * NC * sizeof *logits);
    afl_ws *ws = afl_ws_create(net, B);
    cr_assert(ws && g && logits);
    model_ctx c = {net, ws, x, y, B, logits};

    float loss = afl_net_loss_grad(net, ws, w, x, y, B, g);
    double ref = model_loss(&c, w);
    cr_assert(fabs(loss - ref) <= 1e-5 * (1 + ref), "loss_grad says %.8g, forward %.8g", loss, ref);

    int n_big = 0;
    for (size_t t = 0; t < afl_net_n_tensors(net); t++) {
        const char *name;
        int shape[4], ndim;
        size_t off, n = 1;
        afl_net_tensor_info(net, t, &name, shape, &ndim, &off);
        for (int k = 0; k < ndim; k++)
            n *= (size_t)shape[k];
        for (int j = 0; j < per_tensor && (size_t)j < n; j++) {
            size_t i = off + (n <= (size_t)per_tensor ? (size_t)j
                                                      : (size_t)j * (n - 1) / (per_tensor - 1));
            float v = w[i];
            w[i] = v + 1e-3f;
            float vp = w[i];
            double lp = model_loss(&c, w);
            w[i] = v - 1e-3f;
            float vm = w[i];
            double lm = model_loss(&c, w);
            w[i] = v;
            double num = (lp - lm) / ((double)vp - (double)vm);
            cr_assert(fabs(g[i] - num) <= 2e-3 + 2e-2 * fabs(num),
                      "%s: %s[%zu]: analytic %.6g, central difference %.6g", afl_net_name(net),
                      name, i - off, g[i], num);
            n_big += fabs(num) > 1e-2;
        }
    }
    /* the check must not pass only because every gradient is tiny */
    cr_assert(n_big >= 4, "only %d sampled gradients exceed 1e-2", n_big);

    /* and one random direction through all parameters at once */
    float *v = random_floats(r, P, -1, 1), *wp = malloc(P * sizeof *wp);
    double gv = 0;
    for (size_t i = 0; i < P; i++)
        gv += (double)g[i] * v[i];
    const double h = 1e-3 / sqrt((double)P);
    for (size_t i = 0; i < P; i++)
        wp[i] = w[i] + (float)(h * v[i]);
    double lp = model_loss(&c, wp);
    for (size_t i = 0; i < P; i++)
        wp[i] = w[i] - (float)(h * v[i]);
    double lm = model_loss(&c, wp);
    double num = (lp - lm) / (2 * h);
    cr_assert(fabs(gv - num) <= 2e-3 + 2e-2 * fabs(num), "%s: directional derivative %.6g vs %.6g",
              afl_net_name(net), gv, num);

    free(v), free(wp), free(w), free(g), free(x), free(y), free(logits);
    afl_ws_free(ws);
    afl_rng_free(r);
}

/* ---- architecture ---- */

Test(cnn, has_139960_parameters)
{
    afl_err err;
    afl_net *net = afl_net_cnn(1, 28, 28, 10, &err);
    cr_assert(net, "%s", err.msg);
    cr_assert_eq(afl_net_nparams(net), 139960);
    cr_assert_eq(afl_net_input_dim(net), 784);
    cr_assert_eq(afl_net_n_classes(net), 10);
    afl_net_free(net);
}

Test(cnn, tensors_follow_pytorch_state_dict_order)
{
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    static const struct {
        const char *name;
        int ndim, shape[4];
        size_t offset;
    } want[] = {
        {"conv1.weight", 4, {30, 1, 3, 3}, 0},    {"conv1.bias", 1, {30}, 270},
        {"conv2.weight", 4, {50, 30, 3, 3}, 300}, {"conv2.bias", 1, {50}, 13800},
        {"fc1.weight", 2, {100, 1250}, 13850},    {"fc1.bias", 1, {100}, 138850},
        {"fc2.weight", 2, {10, 100}, 138950},     {"fc2.bias", 1, {10}, 139950},
    };
    cr_assert_eq(afl_net_n_tensors(net), 8);
    for (size_t t = 0; t < 8; t++) {
        const char *name;
        int shape[4], ndim;
        size_t off;
        afl_net_tensor_info(net, t, &name, shape, &ndim, &off);
        cr_assert_str_eq(name, want[t].name);
        cr_assert_eq(ndim, want[t].ndim, "%s", name);
        for (int k = 0; k < ndim; k++)
            cr_assert_eq(shape[k], want[t].shape[k], "%s dim %d", name, k);
        cr_assert_eq(off, want[t].offset, "%s offset %zu", name, off);
    }
    afl_net_free(net);
}

Test(cnn, rejects_images_smaller_than_10x10)
{
    afl_err err = {0};
    cr_assert_null(afl_net_cnn(1, 9, 28, 10, &err));
    cr_assert_eq(err.code, AFL_EINPUT);
    cr_assert(strstr(err.msg, "10x10") && strstr(err.msg, "1x9x28"), "%s", err.msg);
    afl_net *net = afl_net_cnn(1, 10, 10, 10, &err);
    cr_assert(net, "%s", err.msg);
    cr_assert_eq(afl_net_nparams(net), 300 + 13550 + (50 * 100 + 100) + 1010);
    afl_net_free(net);
}

Test(models, reject_bad_shapes_with_input_errors)
{
    afl_err err = {0};
    int zero = 0, h[2] = {16, 8};
    cr_assert_null(afl_net_softmax(1, 28, 28, 1, &err));
    cr_assert_eq(err.code, AFL_EINPUT);
    cr_assert_null(afl_net_softmax(0, 28, 28, 10, &err));
    cr_assert_eq(err.code, AFL_EINPUT);
    cr_assert_null(afl_net_mlp(1, 28, 28, &zero, 1, 10, &err));
    cr_assert_eq(err.code, AFL_EINPUT);
    cr_assert_null(afl_net_mlp(1, 28, 28, h, -1, 10, &err));
    cr_assert_eq(err.code, AFL_EINPUT);
}

Test(softmax, has_one_fc_layer_with_7850_parameters_for_mnist)
{
    afl_net *net = afl_net_softmax(1, 28, 28, 10, NULL);
    cr_assert_eq(afl_net_nparams(net), 7850);
    cr_assert_eq(afl_net_n_tensors(net), 2);
    const char *name;
    int shape[4], ndim;
    size_t off;
    afl_net_tensor_info(net, 0, &name, shape, &ndim, &off);
    cr_assert_str_eq(name, "fc.weight");
    cr_assert(ndim == 2 && shape[0] == 10 && shape[1] == 784 && off == 0);
    afl_net_tensor_info(net, 1, &name, shape, &ndim, &off);
    cr_assert_str_eq(name, "fc.bias");
    cr_assert(off == 7840);
    afl_net_free(net);
}

Test(mlp, names_layers_fc1_to_fcN_and_counts_parameters)
{
    int hidden[2] = {200, 50};
    afl_net *net = afl_net_mlp(1, 28, 28, hidden, 2, 10, NULL);
    cr_assert_eq(afl_net_nparams(net), 784 * 200 + 200 + 200 * 50 + 50 + 50 * 10 + 10);
    const char *want[6] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                           "fc2.bias",   "fc3.weight", "fc3.bias"};
    cr_assert_eq(afl_net_n_tensors(net), 6);
    for (size_t t = 0; t < 6; t++) {
        const char *name;
        afl_net_tensor_info(net, t, &name, NULL, NULL, NULL);
        cr_assert_str_eq(name, want[t]);
    }
    afl_net_free(net);
}

Test(summary, names_every_layer_and_the_parameter_count)
{
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    char buf[2048];
    afl_net_summary(net, buf, sizeof buf);
    const char *want[] = {"cnn", "139960",  "conv1", "conv2", "fc1",
                          "fc2", "maxpool", "ReLU",  "26x26", "1250 -> 100"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(buf, want[i]), "summary lacks '%s':\n%s", want[i], buf);
    char small[16];
    afl_net_summary(net, small, sizeof small); /* truncates safely */
    cr_assert(strlen(small) < sizeof small);
    afl_net_free(net);
}

/* ---- agreement with a direct implementation (PyTorch conventions, NCHW, double) ---- */

static const float *tensor(const afl_net *net, const float *w, size_t t)
{
    size_t off;
    afl_net_tensor_info(net, t, NULL, NULL, NULL, &off);
    return w + off;
}

/* in (C,H,W) -> out (OC,H-2,W-2), 3x3 cross-correlation + bias, then ReLU */
static void ref_conv_relu(double *out, const double *in, int C, int H, int W, const float *k,
                          const float *bias, int OC)
{
    int OH = H - 2, OW = W - 2;
    for (int o = 0; o < OC; o++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                double s = bias[o];
                for (int c = 0; c < C; c++)
                    for (int u = 0; u < 3; u++)
                        for (int v = 0; v < 3; v++)
                            s += k[((o * C + c) * 3 + u) * 3 + v] * in[(c * H + i + u) * W + j + v];
                out[(o * OH + i) * OW + j] = s > 0 ? s : 0;
            }
}

/* in (C,H,W) -> out (C,H/2,W/2) */
static void ref_pool(double *out, const double *in, int C, int H, int W)
{
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H / 2; i++)
            for (int j = 0; j < W / 2; j++) {
                const double *p = in + (c * H + 2 * i) * W + 2 * j;
                double m = fmax(fmax(p[0], p[1]), fmax(p[W], p[W + 1]));
                out[(c * (H / 2) + i) * (W / 2) + j] = m;
            }
}

/* out (n_out) = W (n_out,n_in) in (n_in) + b, optional ReLU */
static void ref_dense(double *out, const double *in, int n_in, const float *W, const float *b,
                      int n_out, int relu)
{
    for (int o = 0; o < n_out; o++) {
        double s = b[o];
        for (int i = 0; i < n_in; i++)
            s += W[(size_t)o * n_in + i] * in[i];
        out[o] = relu && s < 0 ? 0 : s;
    }
}

Test(cnn, forward_matches_direct_pytorch_convention_implementation)
{
    enum { C = 2, H = 11, W = 13, NC = 4, B = 3 };
    afl_err err;
    afl_net *net = afl_net_cnn(C, H, W, NC, &err);
    cr_assert(net, "%s", err.msg);
    afl_rng *r = afl_rng_create(11, AFL_RNG_TEST, 1);
    float *w = init_params(net, 11), *x = random_floats(r, (size_t)B * C * H * W, 0, 1);
    float logits[B * NC];
    afl_ws *ws = afl_ws_create(net, B);
    afl_net_forward(net, ws, w, x, B, logits);

    /* 11x13 -> 9x11 -> 4x5 -> 2x3 -> 1x1: fc1 sees 50 features */
    double in[C * H * W], a1[30 * 9 * 11], p1[30 * 4 * 5], a2[50 * 2 * 3], p2[50], h1[100], z[NC];
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < C * H * W; i++)
            in[i] = x[(size_t)b * C * H * W + i];
        ref_conv_relu(a1, in, C, H, W, tensor(net, w, 0), tensor(net, w, 1), 30);
        ref_pool(p1, a1, 30, 9, 11);
        ref_conv_relu(a2, p1, 30, 4, 5, tensor(net, w, 2), tensor(net, w, 3), 50);
        ref_pool(p2, a2, 50, 2, 3);
        ref_dense(h1, p2, 50, tensor(net, w, 4), tensor(net, w, 5), 100, 1);
        ref_dense(z, h1, 100, tensor(net, w, 6), tensor(net, w, 7), NC, 0);
        for (int j = 0; j < NC; j++)
            cr_assert(fabs(logits[b * NC + j] - z[j]) <= 1e-5 * (1 + fabs(z[j])),
                      "example %d class %d: %.8g vs reference %.8g", b, j, logits[b * NC + j],
                      z[j]);
    }
    free(w), free(x);
    afl_ws_free(ws);
    afl_rng_free(r);
    afl_net_free(net);
}

Test(cnn, flatten_before_fc1_is_nchw)
{
    /* 1x14x14 -> 12x12 -> 6x6 -> 4x4 -> 2x2: fc1 sees 50x2x2 = 200 features. Let fc1 read one
     * feature f = c*4 + h*2 + w (PyTorch's order) and check that logit 0 is that feature. */
    afl_net *net = afl_net_cnn(1, 14, 14, 2, NULL);
    float *w = init_params(net, 12);
    afl_rng *r = afl_rng_create(12, AFL_RNG_TEST, 1);
    float *x = random_floats(r, 196, 0, 1), logits[2];
    double in[196], a1[30 * 12 * 12], p1[30 * 6 * 6], a2[50 * 4 * 4], p2[50 * 2 * 2];
    for (int i = 0; i < 196; i++)
        in[i] = x[i];
    ref_conv_relu(a1, in, 1, 14, 14, tensor(net, w, 0), tensor(net, w, 1), 30);
    ref_pool(p1, a1, 30, 12, 12);
    ref_conv_relu(a2, p1, 30, 6, 6, tensor(net, w, 2), tensor(net, w, 3), 50);
    ref_pool(p2, a2, 50, 4, 4);
    /* a feature whose value differs from the one at the same index in (h,w,c) order */
    int f = -1;
    for (int c = 1; c < 50 && f < 0; c++)
        for (int hw = 1; hw < 4 && f < 0; hw++)
            if (p2[c * 4 + hw] > 0 &&
                p2[c * 4 + hw] != p2[(c * 4 + hw) % 50 * 4 + (c * 4 + hw) / 50])
                f = c * 4 + hw;
    cr_assert(f >= 0);

    size_t off_fc1, off_fc2, off_fc2b;
    int shape[4];
    afl_net_tensor_info(net, 4, NULL, shape, NULL, &off_fc1);
    cr_assert(shape[0] == 100 && shape[1] == 200);
    afl_net_tensor_info(net, 6, NULL, NULL, NULL, &off_fc2);
    afl_net_tensor_info(net, 7, NULL, NULL, NULL, &off_fc2b);
    memset(w + off_fc1, 0, (off_fc2b + 2 - off_fc1) * sizeof(float)); /* fc1.weight..fc2.bias */
    w[off_fc1 + f] = 1;                                               /* h1[0] = feature f */
    w[off_fc2] = 1;                                                   /* logit 0 = h1[0] */
    afl_ws *ws = afl_ws_create(net, 1);
    afl_net_forward(net, ws, w, x, 1, logits);
    cr_assert(fabs(logits[0] - p2[f]) <= 1e-5 * (1 + p2[f]), "logit %.8g, feature %d = %.8g",
              logits[0], f, p2[f]);
    cr_assert_eq(logits[1], 0.0f);
    free(w), free(x);
    afl_ws_free(ws);
    afl_rng_free(r);
    afl_net_free(net);
}

Test(mlp, forward_matches_direct_implementation)
{
    enum { C = 1, H = 5, W = 4, NC = 3, B = 4 };
    int hidden[2] = {7, 6};
    afl_net *net = afl_net_mlp(C, H, W, hidden, 2, NC, NULL);
    afl_rng *r = afl_rng_create(13, AFL_RNG_TEST, 1);
    float *w = init_params(net, 13), *x = random_floats(r, (size_t)B * 20, -1, 1), logits[B * NC];
    afl_ws *ws = afl_ws_create(net, B);
    afl_net_forward(net, ws, w, x, B, logits);
    for (int b = 0; b < B; b++) {
        double in[20], h1[7], h2[6], z[NC];
        for (int i = 0; i < 20; i++)
            in[i] = x[b * 20 + i];
        ref_dense(h1, in, 20, tensor(net, w, 0), tensor(net, w, 1), 7, 1);
        ref_dense(h2, h1, 7, tensor(net, w, 2), tensor(net, w, 3), 6, 1);
        ref_dense(z, h2, 6, tensor(net, w, 4), tensor(net, w, 5), NC, 0);
        for (int j = 0; j < NC; j++)
            cr_assert(fabs(logits[b * NC + j] - z[j]) <= 1e-5 * (1 + fabs(z[j])));
    }
    free(w), free(x);
    afl_ws_free(ws);
    afl_rng_free(r);
    afl_net_free(net);
}

/* ---- gradients ---- */

Test(softmax, gradient_matches_finite_differences)
{
    afl_net *net = afl_net_softmax(2, 3, 3, 4, NULL);
    check_model_gradient(net, 5, 21, 12);
    afl_net_free(net);
}

Test(mlp, gradient_matches_finite_differences)
{
    int hidden[2] = {7, 6};
    afl_net *net = afl_net_mlp(1, 4, 5, hidden, 2, 3, NULL);
    check_model_gradient(net, 4, 22, 10);
    afl_net_free(net);
}

Test(cnn, gradient_matches_finite_differences_on_1x12x12)
{
    afl_net *net = afl_net_cnn(1, 12, 12, 3, NULL);
    check_model_gradient(net, 3, 23, 10);
    afl_net_free(net);
}

Test(cnn, gradient_matches_finite_differences_on_odd_2x11x13)
{
    afl_net *net = afl_net_cnn(2, 11, 13, 4, NULL);
    check_model_gradient(net, 3, 24, 10);
    afl_net_free(net);
}

/* ---- initialisation ---- */

Test(init, draws_every_tensor_within_pytorch_default_bounds)
{
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    float *w = init_params(net, 31);
    /* fan_in: conv1 1*3*3, conv2 30*3*3, fc1 1250, fc2 100; weight and bias share the bound */
    const double fan_in[8] = {9, 9, 270, 270, 1250, 1250, 100, 100};
    for (size_t t = 0; t < 8; t++) {
        const char *name;
        int shape[4], ndim;
        size_t off, n = 1;
        afl_net_tensor_info(net, t, &name, shape, &ndim, &off);
        for (int k = 0; k < ndim; k++)
            n *= (size_t)shape[k];
        double bound = 1 / sqrt(fan_in[t]), maxabs = 0, mean = 0;
        for (size_t i = 0; i < n; i++) {
            cr_assert(fabs(w[off + i]) <= bound, "%s[%zu] = %g outside +-%g", name, i, w[off + i],
                      bound);
            maxabs = fmax(maxabs, fabs(w[off + i]));
            mean += w[off + i] / (double)n;
        }
        cr_assert(maxabs > 0.8 * bound, "%s only reaches %g of %g", name, maxabs, bound);
        if (n >= 1000)
            cr_assert(fabs(mean) < 0.1 * bound, "%s mean %g", name, mean);
    }
    free(w);
    afl_net_free(net);
}

Test(init, is_deterministic_for_a_seed_and_differs_across_seeds)
{
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    size_t P = afl_net_nparams(net);
    float *a = init_params(net, 5), *b = init_params(net, 5), *c = init_params(net, 6);
    cr_assert(memcmp(a, b, P * sizeof *a) == 0);
    cr_assert(memcmp(a, c, P * sizeof *a) != 0);
    free(a), free(b), free(c);
    afl_net_free(net);
}

Test(init, draws_in_state_dict_order)
{
    /* The first parameter of conv1.weight is the first draw, scaled to +-1/3. */
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    float *w = init_params(net, 7);
    afl_rng *r = afl_rng_create(7, AFL_RNG_TEST, 0);
    double u = afl_rng_uniform(r);
    cr_assert_eq(w[0], (float)(-1.0 / 3 + 2.0 / 3 * u));
    afl_rng_free(r);
    free(w);
    afl_net_free(net);
}

/* ---- training ---- */

/* Two classes on 1x10x10 images: class 0 is bright on the left half, class 1 on the right. */
static void separable_data(float *x, int32_t *y, int n, afl_rng *r)
{
    for (int i = 0; i < n; i++) {
        y[i] = i % 2;
        for (int p = 0; p < 100; p++) {
            int left = p % 10 < 5;
            double base = (left == (y[i] == 0)) ? 0.8 : 0.2;
            x[i * 100 + p] = (float)(base + 0.2 * (afl_rng_uniform(r) - 0.5));
        }
    }
}

static void sgd_reduces_loss(afl_net *net)
{
    enum { N = 32, STEPS = 40 };
    afl_rng *r = afl_rng_create(41, AFL_RNG_TEST, 1);
    float x[N * 100];
    int32_t y[N];
    separable_data(x, y, N, r);
    size_t P = afl_net_nparams(net);
    float *w = init_params(net, 41), *g = malloc(P * sizeof *g);
    afl_ws *ws = afl_ws_create(net, N);
    float first = afl_net_loss_grad(net, ws, w, x, y, N, g), last = first;
    for (int s = 0; s < STEPS; s++) {
        for (size_t i = 0; i < P; i++)
            w[i] -= 0.1f * g[i];
        last = afl_net_loss_grad(net, ws, w, x, y, N, g);
    }
    cr_assert(last < 0.5f * first, "%s: loss %g -> %g", afl_net_name(net), first, last);
    long correct = 0;
    double loss_sum = 0;
    afl_net_evaluate(net, ws, w, x, y, N, &correct, &loss_sum);
    cr_assert_eq(correct, N, "%s: %ld of %d right", afl_net_name(net), correct, N);
    free(w), free(g);
    afl_ws_free(ws);
    afl_rng_free(r);
}

Test(training, sgd_reduces_softmax_loss_on_a_separable_problem)
{
    afl_net *net = afl_net_softmax(1, 10, 10, 2, NULL);
    sgd_reduces_loss(net);
    afl_net_free(net);
}

Test(training, sgd_reduces_mlp_loss_on_a_separable_problem)
{
    int hidden[1] = {16};
    afl_net *net = afl_net_mlp(1, 10, 10, hidden, 1, 2, NULL);
    sgd_reduces_loss(net);
    afl_net_free(net);
}

Test(training, sgd_reduces_cnn_loss_on_a_separable_problem)
{
    afl_net *net = afl_net_cnn(1, 10, 10, 2, NULL);
    sgd_reduces_loss(net);
    afl_net_free(net);
}

/* ---- evaluation ---- */

Test(evaluate, ties_go_to_the_lowest_class)
{
    /* all-zero parameters: every logit is 0, every prediction is class 0, every loss is log 3 */
    afl_net *net = afl_net_cnn(1, 10, 10, 3, NULL);
    size_t P = afl_net_nparams(net);
    float *w = calloc(P, sizeof *w);
    afl_rng *r = afl_rng_create(51, AFL_RNG_TEST, 1);
    float *x = random_floats(r, 10 * 100, 0, 1);
    int32_t y[10] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 2};
    afl_ws *ws = afl_ws_create(net, 4);
    long correct = 5; /* evaluate adds to the running totals */
    double loss_sum = 1.0;
    afl_net_evaluate(net, ws, w, x, y, 10, &correct, &loss_sum);
    cr_assert_eq(correct, 5 + 3);
    cr_assert_float_eq(loss_sum, 1.0 + 10 * log(3.0), 1e-5);
    free(w), free(x);
    afl_ws_free(ws);
    afl_rng_free(r);
    afl_net_free(net);
}

Test(evaluate, agrees_with_forward_and_ignores_the_chunk_size)
{
    enum { N = 37, NC = 5 };
    afl_net *net = afl_net_cnn(1, 12, 12, NC, NULL);
    afl_rng *r = afl_rng_create(52, AFL_RNG_TEST, 1);
    float *w = init_params(net, 52), *x = random_floats(r, (size_t)N * 144, 0, 1);
    int32_t *y = random_labels(r, N, NC);
    float logits[N * NC];
    afl_ws *big = afl_ws_create(net, 64), *small = afl_ws_create(net, 5);
    afl_net_forward(net, big, w, x, N, logits);
    long want = 0;
    for (int b = 0; b < N; b++) {
        int best = 0;
        for (int j = 1; j < NC; j++)
            best = logits[b * NC + j] > logits[b * NC + best] ? j : best;
        want += best == y[b];
    }
    double want_loss = mean_ce(logits, y, N, NC) * N;
    long c1 = 0, c2 = 0;
    double l1 = 0, l2 = 0;
    afl_net_evaluate(net, big, w, x, y, N, &c1, &l1);
    afl_net_evaluate(net, small, w, x, y, N, &c2, &l2);
    cr_assert_eq(c1, want);
    cr_assert_eq(c2, want);
    cr_assert(fabs(l1 - want_loss) < 1e-4 && fabs(l2 - want_loss) < 1e-4, "%g %g %g", l1, l2,
              want_loss);
    free(w), free(x), free(y);
    afl_ws_free(big);
    afl_ws_free(small);
    afl_rng_free(r);
    afl_net_free(net);
}

/* ---- reproducibility and workspace ---- */

Test(loss_grad, is_bit_reproducible_across_calls_and_workspaces)
{
    enum { B = 8 };
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    size_t P = afl_net_nparams(net);
    afl_rng *r = afl_rng_create(61, AFL_RNG_TEST, 1);
    float *w = init_params(net, 61), *x = random_floats(r, (size_t)B * 784, 0, 1);
    int32_t *y = random_labels(r, B, 10);
    float *g1 = malloc(P * sizeof *g1), *g2 = malloc(P * sizeof *g2), *g3 = malloc(P * sizeof *g3);
    afl_ws *ws = afl_ws_create(net, B), *ws2 = afl_ws_create(net, 3 * B);
    float l1 = afl_net_loss_grad(net, ws, w, x, y, B, g1);
    float l2 = afl_net_loss_grad(net, ws, w, x, y, B, g2);
    float l3 = afl_net_loss_grad(net, ws2, w, x, y, B, g3);
    cr_assert(l1 == l2 && l1 == l3);
    cr_assert(memcmp(g1, g2, P * sizeof *g1) == 0);
    cr_assert(memcmp(g1, g3, P * sizeof *g1) == 0);
    free(w), free(x), free(y), free(g1), free(g2), free(g3);
    afl_ws_free(ws);
    afl_ws_free(ws2);
    afl_rng_free(r);
    afl_net_free(net);
}

Test(workspace, reports_its_batch_limit_and_refuses_zero)
{
    afl_net *net = afl_net_cnn(1, 28, 28, 10, NULL);
    afl_ws *ws = afl_ws_create(net, 32);
    cr_assert(ws);
    cr_assert_eq(afl_ws_max_batch(ws), 32);
    cr_assert(afl_ws_bytes(ws) > 32 * 784 * sizeof(float));
    cr_assert_null(afl_ws_create(net, 0));
    cr_assert_eq(openblas_get_num_threads(), 1, "multi-threaded sgemm is not bit-reproducible");
    afl_ws_free(ws);
    afl_ws_free(NULL);
    afl_net_free(net);
}

Test(workspace, batch_larger_than_the_workspace_gives_nan_and_leaves_grad_alone)
{
    afl_net *net = afl_net_softmax(1, 2, 2, 2, NULL);
    afl_ws *ws = afl_ws_create(net, 2);
    float w[10] = {0}, g[10], x[12] = {0}, logits[6];
    int32_t y[3] = {0, 1, 0};
    for (int i = 0; i < 10; i++)
        g[i] = 7;
    cr_assert(isnan(afl_net_loss_grad(net, ws, w, x, y, 3, g)));
    for (int i = 0; i < 10; i++)
        cr_assert_eq(g[i], 7.0f);
    afl_net_forward(net, ws, w, x, 3, logits);
    cr_assert(isnan(logits[0]) && isnan(logits[5]));
    afl_ws_free(ws);
    afl_net_free(net);
}
