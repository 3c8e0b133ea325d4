/* models/conv.c - 2-D convolution (stride 1, no padding) as im2col over the whole batch + GEMM.
 * Sources: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to
 * document recognition", Proc. IEEE 86(11), 1998 (convolutional layers and their gradients);
 * K. Chellapilla, S. Puri, P. Simard, "High performance convolutional neural networks for
 * document processing", IWFHR 2006 (unrolling a convolution into one matrix product, "im2col").
 * Semantics are torch.nn.Conv2d(IC, OC, K): cross-correlation, weight (OC,IC,K,K), bias (OC).
 *
 * Activations are (C,H,W,B) (layers.h). The columns matrix is (IC*K*K, OH*OW*B), row
 * (ic,kh,kw) and column (oh,ow,b), so out (OC, OH*OW*B) = W (OC, IC*K*K) x cols is one GEMM
 * whose result is already (OC,OH,OW,B). For fixed (ic,kh,kw,oh) the row segment over (ow,b) is
 * one contiguous run of OW*B input floats, so im2col is a sequence of long memcpys.
 */
#include "models/layers.h"

#include <cblas.h>

void afl_im2col(float *cols, const float *inp, const afl_conv_dims *d)
{
    /* inp (IC,H,W,B) -> cols (IC*K*K, OH*OW*B) */
    const size_t run = (size_t)d->OW * d->B;
    for (int ic = 0; ic < d->IC; ic++)
        for (int kh = 0; kh < d->K; kh++)
            for (int kw = 0; kw < d->K; kw++) {
                float *row = cols + ((size_t)(ic * d->K + kh) * d->K + kw) * d->OH * run;
                for (int oh = 0; oh < d->OH; oh++) {
                    const float *src = inp + (((size_t)ic * d->H + oh + kh) * d->W + kw) * d->B;
                    memcpy(row + oh * run, src, run * sizeof(float));
                }
            }
}

void afl_col2im(float *dinp, const float *dcols, const afl_conv_dims *d)
{
    /* dcols (IC*K*K, OH*OW*B) -> dinp (IC,H,W,B), overwritten */
    const size_t run = (size_t)d->OW * d->B;
    memset(dinp, 0, (size_t)d->IC * d->H * d->W * d->B * sizeof(float));
    for (int ic = 0; ic < d->IC; ic++)
        for (int kh = 0; kh < d->K; kh++)
            for (int kw = 0; kw < d->K; kw++) {
                const float *row = dcols + ((size_t)(ic * d->K + kh) * d->K + kw) * d->OH * run;
                for (int oh = 0; oh < d->OH; oh++) {
                    float *restrict dst = dinp + (((size_t)ic * d->H + oh + kh) * d->W + kw) * d->B;
                    const float *restrict src = row + oh * run;
                    for (size_t i = 0; i < run; i++)
                        dst[i] += src[i];
                }
            }
}

void afl_conv_forward(float *out, float *cols, const float *inp, const float *weight,
                      const float *bias, const afl_conv_dims *d)
{
    /* inp (IC,H,W,B), weight (OC,IC,K,K), bias (OC) -> out (OC,OH,OW,B);
     * cols (IC*K*K, OH*OW*B) is kept for backward */
    const int N = d->OH * d->OW * d->B, KK = d->IC * d->K * d->K;
    afl_im2col(cols, inp, d);
    for (int oc = 0; oc < d->OC; oc++) {
        float *o = out + (size_t)oc * N, v = bias[oc];
        for (int n = 0; n < N; n++)
            o[n] = v;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->OC, N, KK, 1.0f, weight, KK, cols, N,
                1.0f, out, N);
}

void afl_conv_backward(float *dinp, float *dcols, float *dweight, float *dbias, const float *dout,
                       const float *cols, const float *weight, const afl_conv_dims *d)
{
    /* dout (OC,OH,OW,B), cols (IC*K*K, OH*OW*B) from forward, weight (OC,IC,K,K)
     * -> dweight (OC,IC,K,K), dbias (OC), and unless dinp is NULL (first layer):
     *    dcols (IC*K*K, OH*OW*B) scratch and dinp (IC,H,W,B) */
    const int N = d->OH * d->OW * d->B, KK = d->IC * d->K * d->K;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->OC, KK, N, 1.0f, dout, N, cols, N, 0.0f,
                dweight, KK);
    afl_row_sums(dbias, dout, d->OC, N);
    if (!dinp)
        return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, KK, N, d->OC, 1.0f, weight, KK, dout, N,
                0.0f, dcols, N);
    afl_col2im(dinp, dcols, d);
}
