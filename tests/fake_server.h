/* tests/fake_server.h - the server's trusted data, faked for defense tests on vectors of
 * FAKE_D floats (define FAKE_D before including): the trusted gradient at w is
 * fake_trusted_g + 0.1 w; the trusted loss grows with |w|^2 (infinite for a non-finite w) and
 * the prediction entropy is 0.5.  Fill fake_trusted_g before use. */
#ifndef AFL_TESTS_FAKE_SERVER_H
#define AFL_TESTS_FAKE_SERVER_H

#include <math.h>

static float fake_trusted_g[FAKE_D];

static float fake_trusted_grad(void *env, const float *w, int batch, float *grad)
{
    (void)env, (void)batch;
    for (int i = 0; i < FAKE_D; i++)
        grad[i] = fake_trusted_g[i] + 0.1f * w[i];
    return 1.0f;
}

static void fake_trusted_eval(void *env, const float *w, double *loss, double *entropy)
{
    (void)env;
    double s = 0;
    for (int i = 0; i < FAKE_D; i++)
        s += (double)w[i] * w[i];
    *loss = isfinite(s) ? 1.0 + 1e-3 * s : INFINITY;
    *entropy = 0.5;
}

#endif
