/* models/layout.c - moving between PyTorch's batch-major (B,features) and the batch-innermost
 * (features,B) layout of models/layers.h, and fixed-order row sums. */
#include "models/layers.h"

void afl_transpose(float *out, const float *inp, int rows, int cols)
{
    /* inp (rows,cols) -> out (cols,rows), in 32x32 tiles so both sides stay in cache */
    enum { T = 32 };
    for (int r0 = 0; r0 < rows; r0 += T)
        for (int c0 = 0; c0 < cols; c0 += T) {
            int r1 = r0 + T < rows ? r0 + T : rows, c1 = c0 + T < cols ? c0 + T : cols;
            for (int c = c0; c < c1; c++)
                for (int r = r0; r < r1; r++)
                    out[(size_t)c * rows + r] = inp[(size_t)r * cols + c];
        }
}

void afl_row_sums(float *sums, const float *x, int rows, int cols)
{
    /* x (rows,cols) -> sums (rows). Each row is added in a fixed order with 16 interleaved
     * accumulators, which vectorises without -ffast-math and stays bit-reproducible. */
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * cols;
        float acc[16] = {0};
        int i = 0;
        for (; i + 16 <= cols; i += 16)
            for (int j = 0; j < 16; j++)
                acc[j] += row[i + j];
        for (int j = 0; i < cols; i++, j++)
            acc[j] += row[i];
        for (int s = 8; s > 0; s /= 2)
            for (int j = 0; j < s; j++)
                acc[j] += acc[j + s];
        sums[r] = acc[0];
    }
}
