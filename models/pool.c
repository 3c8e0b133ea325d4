/* models/pool.c - 2x2 max-pooling, stride 2, floor mode (torch.nn.MaxPool2d(2)), optionally
 * followed by ReLU.
 * Source: LeCun et al., Proc. IEEE 1998 (subsampling layers); max-pooling as in the SecureAFL
 * paper's CNN (arXiv:2604.03862, Table 3).
 *
 * An odd last row or column is dropped. Within a window the first maximum in row-major order
 * wins (as in PyTorch); its position 0..3 (top-left, top-right, bottom-left, bottom-right) is
 * kept for backward. ReLU commutes with max (relu(max(a,b)) = max(relu(a),relu(b)), and the
 * gradient reaches the same input either way), so "conv, ReLU, pool" runs as "conv, pool+ReLU"
 * and the ReLU touches four times fewer numbers.
 * On (C,H,W,B) activations each window is four contiguous vectors of B floats; the loops below
 * are branch-free so that they vectorise (afl_keep).
 */
#include "models/layers.h"

#include <string.h>

/* One window position for all B examples: p0..p3 are its four inputs (B floats each). */
static void window_forward(float *restrict y, uint8_t *restrict a, const float *restrict p0,
                           const float *restrict p1, const float *restrict p2,
                           const float *restrict p3, int B, int relu)
{
    /* The better of each row's pair, then the bottom one only if strictly greater: the same
     * winner as a row-major scan. */
    for (int b = 0; b < B; b++) {
        float v0 = p0[b], v1 = p1[b], v2 = p2[b], v3 = p3[b];
        int32_t kt = v1 > v0, kb = v3 > v2;
        float top = v1 > v0 ? v1 : v0, bot = v3 > v2 ? v3 : v2;
        int32_t sel = bot > top;
        y[b] = bot > top ? bot : top;
        a[b] = (uint8_t)(kt + sel * (2 + kb - kt));
    }
    if (relu)
        for (int b = 0; b < B; b++)
            y[b] = afl_keep(y[b], y[b] > 0.0f);
}

static void window_backward(float *restrict p0, float *restrict p1, float *restrict p2,
                            float *restrict p3, const float *restrict g, const float *restrict y,
                            const uint8_t *restrict a, int B, int relu)
{
    if (relu)
        for (int b = 0; b < B; b++) {
            float v = afl_keep(g[b], y[b] > 0.0f);
            p0[b] = afl_keep(v, a[b] == 0);
            p1[b] = afl_keep(v, a[b] == 1);
            p2[b] = afl_keep(v, a[b] == 2);
            p3[b] = afl_keep(v, a[b] == 3);
        }
    else
        for (int b = 0; b < B; b++) {
            p0[b] = afl_keep(g[b], a[b] == 0);
            p1[b] = afl_keep(g[b], a[b] == 1);
            p2[b] = afl_keep(g[b], a[b] == 2);
            p3[b] = afl_keep(g[b], a[b] == 3);
        }
}

void afl_maxpool_forward(float *out, uint8_t *arg, const float *inp, int B, int C, int H, int W,
                         int relu)
{
    /* inp (C,H,W,B) -> out and arg (C,H/2,W/2,B) */
    const int OH = H / 2, OW = W / 2;
    for (int c = 0; c < C; c++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float *p0 = inp + (((size_t)c * H + 2 * oh) * W + 2 * ow) * B;
                const float *p2 = p0 + (size_t)W * B;
                const size_t o = (((size_t)c * OH + oh) * OW + ow) * B;
                window_forward(out + o, arg + o, p0, p0 + B, p2, p2 + B, B, relu);
            }
}

void afl_maxpool_backward(float *dinp, const float *dout, const float *out, const uint8_t *arg,
                          int B, int C, int H, int W, int relu)
{
    /* dout, out (the forward output) and arg (C,H/2,W/2,B) -> dinp (C,H,W,B), overwritten;
     * with relu the gradient passes only where out > 0 */
    const int OH = H / 2, OW = W / 2;
    for (int c = 0; c < C; c++) {
        for (int oh = 0; oh < OH; oh++) {
            for (int ow = 0; ow < OW; ow++) {
                float *p0 = dinp + (((size_t)c * H + 2 * oh) * W + 2 * ow) * B;
                float *p2 = p0 + (size_t)W * B;
                const size_t o = (((size_t)c * OH + oh) * OW + ow) * B;
                window_backward(p0, p0 + B, p2, p2 + B, dout + o, out + o, arg + o, B, relu);
            }
            if (W & 1) /* the dropped last column of both rows */
                for (int r = 0; r < 2; r++)
                    memset(dinp + (((size_t)c * H + 2 * oh + r) * W + W - 1) * B, 0,
                           (size_t)B * sizeof(float));
        }
        if (H & 1) /* the dropped last row */
            memset(dinp + ((size_t)c * H + H - 1) * W * B, 0, (size_t)W * B * sizeof(float));
    }
}
