/* models/dense.c - fully connected layer as GEMMs (torch.nn.Linear semantics: weight (OUT,IN)
 * row-major, y = W x + b), on batch-innermost activations (see layers.h).
 * Kernel conventions after karpathy/llm.c (train_gpt2.c, matmul_forward/backward).
 */
#include "models/layers.h"

#include <cblas.h>

void afl_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                       int in, int out_dim)
{
    /* inp (IN,B), weight (OUT,IN), bias (OUT) -> out (OUT,B) */
    for (int o = 0; o < out_dim; o++)
        for (int b = 0; b < B; b++)
            out[(size_t)o * B + b] = bias[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out_dim, B, in, 1.0f, weight, in, inp, B,
                1.0f, out, B);
}

void afl_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int B, int in, int out_dim)
{
    /* dout (OUT,B), inp (IN,B), weight (OUT,IN) -> dweight (OUT,IN), dbias (OUT), and
     * dinp (IN,B) unless NULL (the first layer needs no input gradient) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out_dim, in, B, 1.0f, dout, B, inp, B,
                0.0f, dweight, in);
    afl_row_sums(dbias, dout, out_dim, B);
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, B, out_dim, 1.0f, weight, in, dout,
                    B, 0.0f, dinp, B);
}
