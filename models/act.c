/* models/act.c - ReLU activation (torch.nn.ReLU), branch-free (see afl_keep): a mispredicted
 * branch per element costs more than the whole vectorised pass. */
#include "models/layers.h"

void afl_relu_forward(float *out, const float *inp, size_t n)
{
    /* inp (n) -> out (n); out may equal inp. NaN maps to 0. */
    for (size_t i = 0; i < n; i++)
        out[i] = afl_keep(inp[i], inp[i] > 0.0f);
}

void afl_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    /* dout (n), out (n) the forward output -> dinp (n); dinp may equal dout */
    for (size_t i = 0; i < n; i++)
        dinp[i] = afl_keep(dout[i], out[i] > 0.0f);
}
