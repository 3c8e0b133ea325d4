/* models/layers.h - private: the forward/backward kernels the models are built from.
 *
 * Every kernel works on flat float buffers and its first comment states the shapes.
 *
 * Layout: activations are batch-innermost, (features..., B): a dense activation is (F,B) and
 * a convolutional one (C,H,W,B), so column b is example b in PyTorch's order. Then
 *  - one GEMM covers the whole batch for dense and convolution layers,
 *  - im2col and col2im move runs of OW*B contiguous floats,
 *  - max-pooling and ReLU run over contiguous vectors of B floats,
 *  - flattening (C,H,W,B) into (C*H*W,B) is free and gives PyTorch's c*H*W + h*W + w order.
 * The network's input x (B,dim) is transposed once on the way in, the logits once on the way
 * out (afl_transpose).
 *
 * Backward kernels overwrite their outputs (they never accumulate), so the gradient vector never
 * needs clearing: every parameter belongs to exactly one layer.
 */
#ifndef AFL_MODELS_LAYERS_H
#define AFL_MODELS_LAYERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* g if c, else +0: a bit mask instead of a branch or a select, so that GCC vectorises it
 * without -ffast-math (a float select on a comparison blocks if-conversion under the default
 * -ftrapping-math). */
static inline float afl_keep(float g, int c)
{
    uint32_t u;
    memcpy(&u, &g, sizeof u);
    u &= -(uint32_t)(c != 0);
    memcpy(&g, &u, sizeof g);
    return g;
}

/* layout.c */
void afl_transpose(float *out, const float *inp, int rows, int cols);
void afl_row_sums(float *sums, const float *x, int rows, int cols);

/* dense.c - fully connected layer, out = W inp + b (torch.nn.Linear, weight (OUT,IN)). */
void afl_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                       int in, int out_dim);
void afl_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int B, int in, int out_dim);

/* conv.c - K x K convolution, stride 1, no padding (torch.nn.Conv2d), as im2col + GEMM. */
typedef struct afl_conv_dims {
    int B, IC, H, W; /* input (IC,H,W,B) */
    int OC, K;       /* OC kernels of IC x K x K */
    int OH, OW;      /* H-K+1, W-K+1 */
} afl_conv_dims;
void afl_im2col(float *cols, const float *inp, const afl_conv_dims *d);
void afl_col2im(float *dinp, const float *dcols, const afl_conv_dims *d);
void afl_conv_forward(float *out, float *cols, const float *inp, const float *weight,
                      const float *bias, const afl_conv_dims *d);
void afl_conv_backward(float *dinp, float *dcols, float *dweight, float *dbias, const float *dout,
                       const float *cols, const float *weight, const afl_conv_dims *d);

/* pool.c - 2x2 max-pooling, stride 2, floor (torch.nn.MaxPool2d(2)), optionally + ReLU.
 * arg holds each window's winner, 0..3 in row-major order within the window. */
void afl_maxpool_forward(float *out, uint8_t *arg, const float *inp, int B, int C, int H, int W,
                         int relu);
void afl_maxpool_backward(float *dinp, const float *dout, const float *out, const uint8_t *arg,
                          int B, int C, int H, int W, int relu);

/* act.c - ReLU. */
void afl_relu_forward(float *out, const float *inp, size_t n);
void afl_relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* loss.c - softmax cross-entropy (torch.nn.CrossEntropyLoss) on logits (NC,B). */
double afl_crossentropy_forward(float *losses, const float *logits, const int32_t *y, int B,
                                int NC);
void afl_crossentropy_backward(float *dlogits, const float *logits, const int32_t *y, int B,
                               int NC);

#endif
