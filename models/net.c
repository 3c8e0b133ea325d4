/* models/net.c - model architectures as layer lists, the workspace, and the model-level
 * forward, loss/gradient and evaluation passes.
 * Sources: Y. LeCun et al., "Gradient-based learning applied to document recognition",
 * Proc. IEEE 1998 (CNNs trained by backpropagation); the CNN is the one of the SecureAFL paper,
 * arXiv:2604.03862, Table 3. Initialisation: PyTorch's torch.nn.Linear/Conv2d reset_parameters.
 * Structure after karpathy/llm.c (train_gpt2.c): one parameter vector, views by offset, plain
 * forward/backward kernels (models/layers.h).
 */
#include "models/net.h"
#include "models/layers.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* From OpenBLAS's cblas.h; declared here too so any cblas.h will do. */
char *openblas_get_config(void);
char *openblas_get_corename(void);
void openblas_set_num_threads(int num_threads);

enum { L_DENSE, L_CONV, L_POOL };

typedef struct layer {
    int kind;
    char name[16];  /* parameter prefix ("conv1", "fc2"); empty for layers without parameters */
    int c, h, w;    /* input shape per example (dense: c = in features, h = w = 1) */
    int oc, oh, ow; /* output shape per example, as computed (see prune) */
    int doc_h, doc_w, doc_oh, doc_ow; /* input and output size in the architecture */
    int k;                            /* convolution kernel size */
    int relu;                         /* ReLU applied to this layer's output when it runs */
    int relu_doc; /* the architecture has a ReLU after this layer (moved into a following pool
                     layer when one comes next; see pool.c) */
    size_t w_off, b_off;
} layer;

typedef struct tensor {
    char name[32];
    int shape[4], ndim;
    size_t offset;
} tensor;

#define MAX_LAYERS 64

struct afl_net {
    char kind[8];
    int c, h, w, n_classes;
    int n_layers;
    layer layers[MAX_LAYERS];
    size_t n_tensors;
    tensor tensors[MAX_LAYERS];
    size_t n_params;
};

struct afl_ws {
    int max_batch;
    size_t bytes;
    void *block;              /* everything below points into this one allocation */
    float *xt;                /* the input batch transposed to (dim,B) */
    float *act[MAX_LAYERS];   /* output of layer i, (out size, B) */
    float *cols[MAX_LAYERS];  /* im2col matrix of conv layer i, kept for backward */
    uint8_t *arg[MAX_LAYERS]; /* window argmax of pool layer i */
    float *g[2];              /* activation-gradient ping-pong buffers */
    float *dcols;             /* im2col-shaped gradient scratch */
    float *losses;            /* (max_batch) per-example losses for evaluate */
};

/* ---- building ---- */

/* Tracks the current per-example shape while layers are appended. */
typedef struct builder {
    afl_net *net;
    int c, h, w;
    afl_err *err;
} builder;

static size_t out_size(const layer *L)
{
    return (size_t)L->oc * L->oh * L->ow;
}

static size_t in_size(const layer *L)
{
    return (size_t)L->c * L->h * L->w;
}

static int too_big(long long v)
{
    return v < 1 || v > INT_MAX / 4;
}

static layer *push(builder *b, int kind, const char *name)
{
    afl_net *n = b->net;
    if (n->n_layers >= MAX_LAYERS) {
        afl_err_set(b->err, AFL_EINPUT, "a model may have at most %d layers", MAX_LAYERS);
        return NULL;
    }
    layer *L = &n->layers[n->n_layers++];
    memset(L, 0, sizeof *L);
    L->kind = kind;
    snprintf(L->name, sizeof L->name, "%s", name ? name : "");
    L->c = b->c, L->h = b->h, L->w = b->w;
    L->oc = b->c, L->oh = b->h, L->ow = b->w;
    return L;
}

static void add_tensor(afl_net *n, const char *layer_name, const char *what, const int *shape,
                       int ndim, size_t offset)
{
    tensor *t = &n->tensors[n->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s.%s", layer_name, what);
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int));
    t->ndim = ndim;
    t->offset = offset;
}

static int add_params(builder *b, layer *L, size_t n_w, const int *wshape, int wdim)
{
    afl_net *n = b->net;
    if (n_w > ((size_t)1 << 40) || n->n_params > ((size_t)1 << 40)) {
        return afl_err_set(b->err, AFL_EINPUT, "layer %s would have %zu weights, too many", L->name,
                           n_w);
    }
    L->w_off = n->n_params;
    L->b_off = n->n_params + n_w;
    n->n_params += n_w + (size_t)L->oc;
    add_tensor(n, L->name, "weight", wshape, wdim, L->w_off);
    add_tensor(n, L->name, "bias", &L->oc, 1, L->b_off);
    return 0;
}

static int add_dense(builder *b, int out, const char *name)
{
    int in = b->c * b->h * b->w;
    if (too_big(out))
        return afl_err_set(b->err, AFL_EINPUT, "layer %s: %d outputs is out of range", name, out);
    layer *L = push(b, L_DENSE, name);
    if (!L)
        return b->err ? b->err->code : AFL_EINPUT;
    L->c = in, L->h = 1, L->w = 1;
    L->oc = out, L->oh = 1, L->ow = 1;
    b->c = out, b->h = 1, b->w = 1;
    int shape[2] = {out, in};
    return add_params(b, L, (size_t)out * in, shape, 2);
}

static int add_conv(builder *b, int oc, int k, const char *name)
{
    layer *L = push(b, L_CONV, name);
    if (!L)
        return b->err ? b->err->code : AFL_EINPUT;
    L->k = k;
    L->oc = oc, L->oh = b->h - k + 1, L->ow = b->w - k + 1;
    if (too_big((long long)oc * L->oh * L->ow) || too_big((long long)b->c * k * k * L->oh * L->ow))
        return afl_err_set(b->err, AFL_EINPUT, "layer %s: output %dx%dx%d is out of range", name,
                           oc, L->oh, L->ow);
    b->c = oc, b->h = L->oh, b->w = L->ow;
    int shape[4] = {oc, L->c, k, k};
    return add_params(b, L, (size_t)oc * L->c * k * k, shape, 4);
}

static int add_relu(builder *b)
{
    layer *L = &b->net->layers[b->net->n_layers - 1];
    L->relu = L->relu_doc = 1;
    return 0;
}

static int add_pool(builder *b)
{
    layer *L = push(b, L_POOL, NULL);
    if (!L)
        return b->err ? b->err->code : AFL_EINPUT;
    if (L[-1].relu) { /* relu then pool == pool then relu, on 4x fewer numbers */
        L[-1].relu = 0;
        L->relu = 1;
    }
    L->oh = b->h / 2, L->ow = b->w / 2;
    b->h = L->oh, b->w = L->ow;
    return 0;
}

static afl_net *start(builder *b, const char *kind, int c, int h, int w, int n_classes,
                      afl_err *err)
{
    b->err = err;
    if (c < 1 || h < 1 || w < 1 || too_big((long long)c * h * w)) {
        afl_err_set(err, AFL_EINPUT, "%s model: input shape %dx%dx%d (CxHxW) is out of range", kind,
                    c, h, w);
        return NULL;
    }
    if (n_classes < 2 || too_big(n_classes)) {
        afl_err_set(err, AFL_EINPUT, "%s model: needs at least 2 classes, got %d", kind, n_classes);
        return NULL;
    }
    afl_net *n = calloc(1, sizeof *n);
    if (!n) {
        afl_err_set(err, AFL_ENOMEM, "out of memory allocating the %s model", kind);
        return NULL;
    }
    snprintf(n->kind, sizeof n->kind, "%s", kind);
    n->c = c, n->h = h, n->w = w, n->n_classes = n_classes;
    b->net = n;
    b->c = c, b->h = h, b->w = w;
    return n;
}

/* Shrinks each layer's computed output to the part that later layers read. Floor pooling
 * ignores an odd last row or column, and a convolution whose output is cut reads fewer input
 * rows and columns: for the 28x28 CNN conv2 computes 10x10 of its 11x11 outputs, pool1 12x12 of
 * 13x13 and conv1 24x24 of 26x26. That saves 15-17% of the convolution work and changes no
 * result, since the skipped values never reach the loss. Dense layers read everything. */
static void prune(afl_net *n)
{
    for (int i = 0; i < n->n_layers; i++) {
        layer *L = &n->layers[i];
        L->doc_h = L->h, L->doc_w = L->w, L->doc_oh = L->oh, L->doc_ow = L->ow;
    }
    int nh = INT_MAX, nw = INT_MAX; /* what the next layer reads of this layer's output */
    for (int i = n->n_layers - 1; i >= 0; i--) {
        layer *L = &n->layers[i];
        if (L->kind == L_DENSE) {
            nh = nw = INT_MAX;
            continue;
        }
        L->oh = L->oh < nh ? L->oh : nh;
        L->ow = L->ow < nw ? L->ow : nw;
        nh = L->kind == L_CONV ? L->oh + L->k - 1 : 2 * L->oh;
        nw = L->kind == L_CONV ? L->ow + L->k - 1 : 2 * L->ow;
    }
    for (int i = 1; i < n->n_layers; i++)
        if (n->layers[i].kind != L_DENSE)
            n->layers[i].h = n->layers[i - 1].oh, n->layers[i].w = n->layers[i - 1].ow;
}

static afl_net *finish(builder *b, int rc)
{
    if (rc) {
        free(b->net);
        return NULL;
    }
    prune(b->net);
    return b->net;
}

afl_net *afl_net_softmax(int c, int h, int w, int n_classes, afl_err *err)
{
    builder b;
    if (!start(&b, "softmax", c, h, w, n_classes, err))
        return NULL;
    return finish(&b, add_dense(&b, n_classes, "fc"));
}

afl_net *afl_net_mlp(int c, int h, int w, const int *hidden, int n_hidden, int n_classes,
                     afl_err *err)
{
    if (n_hidden < 0 || n_hidden > MAX_LAYERS / 2 - 1 || (n_hidden > 0 && !hidden)) {
        afl_err_set(err, AFL_EINPUT, "mlp model: %d hidden layers is out of range (0 to %d)",
                    n_hidden, MAX_LAYERS / 2 - 1);
        return NULL;
    }
    for (int i = 0; i < n_hidden; i++)
        if (hidden[i] < 1 || too_big(hidden[i])) {
            afl_err_set(err, AFL_EINPUT, "mlp model: hidden layer %d has size %d; expected >= 1",
                        i + 1, hidden[i]);
            return NULL;
        }
    builder b;
    if (!start(&b, "mlp", c, h, w, n_classes, err))
        return NULL;
    int rc = 0;
    char name[16];
    for (int i = 0; i < n_hidden && !rc; i++) {
        snprintf(name, sizeof name, "fc%d", i + 1);
        rc = add_dense(&b, hidden[i], name);
        if (!rc)
            rc = add_relu(&b);
    }
    snprintf(name, sizeof name, "fc%d", n_hidden + 1);
    if (!rc)
        rc = add_dense(&b, n_classes, name);
    return finish(&b, rc);
}

afl_net *afl_net_cnn(int c, int h, int w, int n_classes, afl_err *err)
{
    /* 3x3 conv, 2x2 pool, 3x3 conv, 2x2 pool: h -> h-2 -> (h-2)/2 -> (h-2)/2-2 -> ((h-2)/2-2)/2,
     * which is >= 1 exactly when h >= 10. */
    if (c >= 1 && (h < 10 || w < 10)) {
        afl_err_set(err, AFL_EINPUT,
                    "cnn model: input %dx%dx%d (CxHxW) is too small; two 3x3 convolutions and "
                    "two 2x2 max-poolings need images of at least 10x10 pixels",
                    c, h, w);
        return NULL;
    }
    builder b;
    if (!start(&b, "cnn", c, h, w, n_classes, err))
        return NULL;
    int rc = add_conv(&b, 30, 3, "conv1");
    if (!rc)
        rc = add_relu(&b);
    if (!rc)
        rc = add_pool(&b);
    if (!rc)
        rc = add_conv(&b, 50, 3, "conv2");
    if (!rc)
        rc = add_relu(&b);
    if (!rc)
        rc = add_pool(&b);
    if (!rc)
        rc = add_dense(&b, 100, "fc1");
    if (!rc)
        rc = add_relu(&b);
    if (!rc)
        rc = add_dense(&b, n_classes, "fc2");
    return finish(&b, rc);
}

void afl_net_free(afl_net *net)
{
    free(net);
}

const char *afl_net_name(const afl_net *net)
{
    return net->kind;
}

size_t afl_net_nparams(const afl_net *net)
{
    return net->n_params;
}

int afl_net_input_dim(const afl_net *net)
{
    return net->c * net->h * net->w;
}

int afl_net_n_classes(const afl_net *net)
{
    return net->n_classes;
}

size_t afl_net_n_tensors(const afl_net *net)
{
    return net->n_tensors;
}

void afl_net_tensor_info(const afl_net *net, size_t i, const char **name, int shape[4], int *ndim,
                         size_t *offset)
{
    const tensor *t = &net->tensors[i];
    if (name)
        *name = t->name;
    if (shape)
        memcpy(shape, t->shape, sizeof t->shape);
    if (ndim)
        *ndim = t->ndim;
    if (offset)
        *offset = t->offset;
}

void afl_net_init(const afl_net *net, float *w, afl_rng *rng)
{
    /* w (P). Tensors come in state_dict order and each layer's weight and bias share the bound
     * 1/sqrt(fan_in), fan_in = in features (dense) or IC*K*K (conv). */
    for (int i = 0; i < net->n_layers; i++) {
        const layer *L = &net->layers[i];
        if (L->kind != L_DENSE && L->kind != L_CONV)
            continue;
        size_t fan_in = L->kind == L_DENSE ? (size_t)L->c : (size_t)L->c * L->k * L->k;
        double bound = 1.0 / sqrt((double)fan_in);
        size_t n = L->b_off + (size_t)L->oc - L->w_off; /* weight then bias, contiguous */
        for (size_t j = 0; j < n; j++)
            w[L->w_off + j] = (float)(-bound + 2.0 * bound * afl_rng_uniform(rng));
    }
}

/* ---- workspace ---- */

/* Multi-threaded OpenBLAS sgemm gives different bits than single-threaded (measured with
 * 0.3.21), so the first workspace pins OpenBLAS to one thread; parallelism belongs to aflsim. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_one_thread(void)
{
    openblas_set_num_threads(1);
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

afl_ws *afl_ws_create(const afl_net *net, int max_batch)
{
    if (max_batch < 1)
        return NULL;
    pthread_once(&blas_once, blas_one_thread);
    const size_t B = (size_t)max_batch;
    /* Every GEMM size and pool index must fit an int. */
    for (int i = 0; i < net->n_layers; i++) {
        const layer *L = &net->layers[i];
        size_t big = B * out_size(L);
        if (L->kind == L_CONV)
            big = B * (size_t)L->c * L->k * L->k * L->oh * L->ow;
        if (B * in_size(L) > INT_MAX || big > INT_MAX)
            return NULL;
    }
    /* Two passes: the first sizes the block, the second hands out pointers. */
    afl_ws tmp, *ws = NULL;
    char *base = NULL;
    for (int pass = 0; pass < 2; pass++) {
        afl_ws *s = pass ? ws : &tmp;
        memset(s->act, 0, sizeof s->act);
        memset(s->cols, 0, sizeof s->cols);
        memset(s->arg, 0, sizeof s->arg);
        size_t off = 0, gmax = 0, dcmax = 0;
#define TAKE(ptr, type, count)                                                                     \
    do {                                                                                           \
        (ptr) = (type *)(base ? base + off : NULL);                                                \
        off += align64((count) * sizeof(type));                                                    \
    } while (0)
        for (int i = 0; i < net->n_layers; i++) {
            const layer *L = &net->layers[i];
            size_t n_out = B * out_size(L);
            if (n_out > gmax)
                gmax = n_out;
            TAKE(s->act[i], float, n_out);
            if (L->kind == L_CONV) {
                size_t nc = B * (size_t)L->c * L->k * L->k * L->oh * L->ow;
                TAKE(s->cols[i], float, nc);
                if (i > 0 && nc > dcmax)
                    dcmax = nc;
            }
            if (L->kind == L_POOL)
                TAKE(s->arg[i], uint8_t, n_out);
        }
        TAKE(s->xt, float, B *(size_t)afl_net_input_dim(net));
        TAKE(s->g[0], float, gmax);
        TAKE(s->g[1], float, gmax);
        TAKE(s->dcols, float, dcmax ? dcmax : 1);
        TAKE(s->losses, float, B);
#undef TAKE
        if (pass == 0) {
            ws = calloc(1, sizeof *ws);
            base = ws ? aligned_alloc(64, off) : NULL;
            if (!base) {
                free(ws);
                return NULL;
            }
            memset(base, 0, off);
            ws->block = base;
            ws->bytes = off;
            ws->max_batch = max_batch;
        }
    }
    return ws;
}

void afl_ws_free(afl_ws *ws)
{
    if (!ws)
        return;
    free(ws->block);
    free(ws);
}

int afl_ws_max_batch(const afl_ws *ws)
{
    return ws->max_batch;
}

size_t afl_ws_bytes(const afl_ws *ws)
{
    return ws->bytes;
}

/* ---- passes ---- */

static afl_conv_dims conv_dims(const layer *L, int B)
{
    afl_conv_dims d = {
        .B = B, .IC = L->c, .H = L->h, .W = L->w, .OC = L->oc, .K = L->k, .OH = L->oh, .OW = L->ow};
    return d;
}

/* Runs every layer on x (B,dim); returns the logits (n_classes,B) inside ws. */
static const float *run_forward(const afl_net *net, afl_ws *ws, const float *w, const float *x,
                                int B)
{
    afl_transpose(ws->xt, x, B, afl_net_input_dim(net));
    const float *in = ws->xt;
    for (int i = 0; i < net->n_layers; i++) {
        const layer *L = &net->layers[i];
        float *out = ws->act[i];
        switch (L->kind) {
        case L_DENSE: afl_dense_forward(out, in, w + L->w_off, w + L->b_off, B, L->c, L->oc); break;
        case L_CONV: {
            afl_conv_dims d = conv_dims(L, B);
            afl_conv_forward(out, ws->cols[i], in, w + L->w_off, w + L->b_off, &d);
            break;
        }
        case L_POOL: afl_maxpool_forward(out, ws->arg[i], in, B, L->c, L->h, L->w, L->relu); break;
        }
        if (L->relu && L->kind != L_POOL)
            afl_relu_forward(out, out, (size_t)B * out_size(L));
        in = out;
    }
    return in;
}

float afl_net_loss_grad(const afl_net *net, afl_ws *ws, const float *w, const float *x,
                        const int32_t *y, int B, float *grad)
{
    if (B < 1 || B > ws->max_batch)
        return NAN; /* a caller bug; grad is left alone */
    const float *logits = run_forward(net, ws, w, x, B);
    double loss = afl_crossentropy_forward(NULL, logits, y, B, net->n_classes) / B;
    float *dout = ws->g[0], *spare = ws->g[1];
    afl_crossentropy_backward(dout, logits, y, B, net->n_classes);
    for (int i = net->n_layers - 1; i >= 0; i--) {
        const layer *L = &net->layers[i];
        const float *in = i ? ws->act[i - 1] : ws->xt;
        float *dinp = i ? spare : NULL;
        if (L->relu && L->kind != L_POOL)
            afl_relu_backward(dout, dout, ws->act[i], (size_t)B * out_size(L));
        switch (L->kind) {
        case L_DENSE:
            afl_dense_backward(dinp, grad + L->w_off, grad + L->b_off, dout, in, w + L->w_off, B,
                               L->c, L->oc);
            break;
        case L_CONV: {
            afl_conv_dims d = conv_dims(L, B);
            afl_conv_backward(dinp, ws->dcols, grad + L->w_off, grad + L->b_off, dout, ws->cols[i],
                              w + L->w_off, &d);
            break;
        }
        case L_POOL:
            if (dinp)
                afl_maxpool_backward(dinp, dout, ws->act[i], ws->arg[i], B, L->c, L->h, L->w,
                                     L->relu);
            break;
        }
        spare = dout;
        dout = dinp;
    }
    return (float)loss;
}

void afl_net_forward(const afl_net *net, afl_ws *ws, const float *w, const float *x, int B,
                     float *logits)
{
    if (B > ws->max_batch) { /* a caller bug */
        for (size_t i = 0; i < (size_t)B * net->n_classes; i++)
            logits[i] = NAN;
        return;
    }
    if (B < 1)
        return;
    const float *z = run_forward(net, ws, w, x, B);
    afl_transpose(logits, z, net->n_classes, B);
}

void afl_net_evaluate(const afl_net *net, afl_ws *ws, const float *w, const float *x,
                      const int32_t *y, int n, long *correct, double *loss_sum)
{
    const int NC = net->n_classes, dim = afl_net_input_dim(net);
    long right = 0;
    double total = 0.0;
    for (int start = 0; start < n; start += ws->max_batch) {
        int B = n - start < ws->max_batch ? n - start : ws->max_batch;
        const float *z = run_forward(net, ws, w, x + (size_t)start * dim, B);
        afl_crossentropy_forward(ws->losses, z, y + start, B, NC);
        for (int b = 0; b < B; b++) {
            int best = 0;
            for (int j = 1; j < NC; j++)
                if (z[(size_t)j * B + b] > z[(size_t)best * B + b])
                    best = j;
            right += best == y[start + b];
            total += ws->losses[b]; /* one example at a time: independent of max_batch */
        }
    }
    *correct += right;
    *loss_sum += total;
}

/* ---- description ---- */

void afl_net_summary(const afl_net *net, char *buf, size_t len)
{
    if (!len)
        return;
    size_t used = 0;
    buf[0] = '\0';
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (used < len) {                                                                          \
            int r_ = snprintf(buf + used, len - used, __VA_ARGS__);                                \
            used += r_ > 0 ? (size_t)r_ : 0;                                                       \
        }                                                                                          \
    } while (0)
    OUT("%s: input %dx%dx%d (CxHxW), %d classes, %zu parameters\n", net->kind, net->c, net->h,
        net->w, net->n_classes, net->n_params);
    for (int i = 0; i < net->n_layers; i++) {
        const layer *L = &net->layers[i];
        size_t np = L->kind == L_DENSE || L->kind == L_CONV ? L->b_off + L->oc - L->w_off : 0;
        switch (L->kind) {
        case L_DENSE:
            OUT("  %-6s dense %d -> %d%s, %zu parameters\n", L->name, L->c, L->oc,
                L->relu_doc ? " + ReLU" : "", np);
            break;
        case L_CONV:
            OUT("  %-6s conv %dx%d, %d -> %d channels, %dx%d -> %dx%d%s, %zu parameters\n", L->name,
                L->k, L->k, L->c, L->oc, L->doc_h, L->doc_w, L->doc_oh, L->doc_ow,
                L->relu_doc ? " + ReLU" : "", np);
            break;
        case L_POOL:
            OUT("  %-6s maxpool 2x2, %dx%dx%d -> %dx%dx%d\n", "", L->c, L->doc_h, L->doc_w, L->oc,
                L->doc_oh, L->doc_ow);
            break;
        }
    }
#undef OUT
    /* drop the final newline */
    size_t end = strlen(buf);
    if (end && buf[end - 1] == '\n')
        buf[end - 1] = '\0';
}

const char *afl_blas_info(void)
{
    static char info[256];
    snprintf(info, sizeof info, "%s (core %s)", openblas_get_config(), openblas_get_corename());
    return info;
}

void afl_blas_set_threads(int n)
{
    openblas_set_num_threads(n);
}
