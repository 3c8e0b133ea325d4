/* models/loss.c - softmax cross-entropy on logits (torch.nn.CrossEntropyLoss, mean reduction).
 * Numerically stable: log sum_j exp(z_j) = m + log sum_j exp(z_j - m) with m = max_j z_j,
 * evaluated in double. A label outside [0, NC) gives a NaN loss and gradient instead of a read
 * out of bounds.
 */
#include "models/layers.h"

#include <math.h>

/* log sum_j exp(z_j) over column b of z (NC,B); NaN if any z_j is NaN. */
static double logsumexp(const float *z, int b, int B, int NC)
{
    double m = z[b];
    for (int j = 1; j < NC; j++)
        if (z[(size_t)j * B + b] > m || isnan(z[(size_t)j * B + b]))
            m = z[(size_t)j * B + b];
    double s = 0.0;
    for (int j = 0; j < NC; j++)
        s += exp(z[(size_t)j * B + b] - m);
    return m + log(s);
}

double afl_crossentropy_forward(float *losses, const float *logits, const int32_t *y, int B, int NC)
{
    /* logits (NC,B), y (B) -> losses (B) unless NULL; returns the sum of the losses */
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        double lse = logsumexp(logits, b, B, NC);
        double l = (y[b] >= 0 && y[b] < NC) ? lse - logits[(size_t)y[b] * B + b] : NAN;
        if (losses)
            losses[b] = (float)l;
        total += l;
    }
    return total;
}

void afl_crossentropy_backward(float *dlogits, const float *logits, const int32_t *y, int B, int NC)
{
    /* logits (NC,B), y (B) -> dlogits (NC,B) = (softmax(z) - onehot(y)) / B, the gradient of the
     * mean loss */
    for (int b = 0; b < B; b++) {
        double lse = logsumexp(logits, b, B, NC);
        int ok = y[b] >= 0 && y[b] < NC;
        for (int j = 0; j < NC; j++) {
            size_t i = (size_t)j * B + b;
            double p = exp(logits[i] - lse) - (j == y[b]);
            dlogits[i] = ok ? (float)(p / B) : NAN;
        }
    }
}
