/* models/net.h - the trainable models: softmax regression, MLP and the SecureAFL CNN.
 *
 * A model is an immutable architecture (afl_net) plus one flat float parameter vector w laid out
 * in PyTorch state_dict order; gradients are vectors of the same layout. All scratch memory lives
 * in a per-thread workspace (afl_ws), so loss_grad/forward/evaluate never allocate, and one
 * afl_net can be shared by any number of threads, each with its own afl_ws.
 *
 * Results are bit-reproducible run to run: every sum is taken in a fixed order, and GEMMs go to
 * OpenBLAS's cblas_sgemm, single-threaded. Multi-threaded OpenBLAS changes the bits, so the first
 * afl_ws_create() sets OpenBLAS to one thread (afl_blas_set_threads can override it, at the cost
 * of reproducibility). The bits also depend on the OpenBLAS kernel (core type) in use; see
 * afl_blas_info().
 */
#ifndef AFL_MODELS_NET_H
#define AFL_MODELS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "sim/err.h"
#include "sim/rng.h"

typedef struct afl_net afl_net; /* immutable architecture (layer list, shapes, parameter offsets) */
typedef struct afl_ws afl_ws; /* per-thread workspace: activations etc. for batches <= max_batch */

/* Softmax regression: one dense layer dim -> n_classes. */
afl_net *afl_net_softmax(int c, int h, int w, int n_classes, afl_err *err);
/* MLP: dense+ReLU for each hidden size, then dense -> n_classes. */
afl_net *afl_net_mlp(int c, int h, int w, const int *hidden, int n_hidden, int n_classes,
                     afl_err *err);
/* The SecureAFL paper's CNN (arXiv:2604.03862, Table 3): conv 3x3x30 + ReLU, maxpool 2x2,
 * conv 3x3x50 + ReLU, maxpool 2x2, FC 100 + ReLU, FC n_classes. No padding, stride 1, floor
 * pooling. For 28x28x1 input and 10 classes: 139,960 parameters. Needs h, w >= 10 (AFL_EINPUT). */
afl_net *afl_net_cnn(int c, int h, int w, int n_classes, afl_err *err);
void afl_net_free(afl_net *net);

/* "softmax", "mlp" or "cnn". */
const char *afl_net_name(const afl_net *net);
size_t afl_net_nparams(const afl_net *net);
int afl_net_input_dim(const afl_net *net);
int afl_net_n_classes(const afl_net *net);

/* PyTorch's default init: every Conv2d/Linear weight and bias ~ U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) (kaiming_uniform with a=sqrt(5) reduces to this), drawn in state_dict order,
 * one afl_rng_uniform per parameter. w: (P). */
void afl_net_init(const afl_net *net, float *w, afl_rng *rng);

/* NULL when out of memory (or when max_batch is too large for 32-bit GEMM sizes). The first
 * call sets OpenBLAS to one thread (see above). */
afl_ws *afl_ws_create(const afl_net *net, int max_batch);
void afl_ws_free(afl_ws *ws);
int afl_ws_max_batch(const afl_ws *ws);
/* Bytes the workspace holds (for describe/bench output). */
size_t afl_ws_bytes(const afl_ws *ws);

/* x: (B, dim) row-major, each example NCHW; y: (B) labels in [0, n_classes); w: (P);
 * grad: (P), overwritten with the gradient of the MEAN cross-entropy over the batch.
 * Returns the mean cross-entropy (NaN if a label is out of range). 1 <= B <= max_batch (else
 * NaN and grad untouched). */
float afl_net_loss_grad(const afl_net *net, afl_ws *ws, const float *w, const float *x,
                        const int32_t *y, int B, float *grad);
/* logits: (B, n_classes); all NaN if B > max_batch. */
void afl_net_forward(const afl_net *net, afl_ws *ws, const float *w, const float *x, int B,
                     float *logits);
/* Whole-set evaluation in chunks of max_batch: adds the number of correct argmax predictions to
 * *correct and the sum of per-example cross-entropies to *loss_sum. Ties in argmax go to the
 * lowest index. */
void afl_net_evaluate(const afl_net *net, afl_ws *ws, const float *w, const float *x,
                      const int32_t *y, int n, long *correct, double *loss_sum);

/* Parameter layout = PyTorch state_dict order of the equivalent module, e.g. CNN:
 * "conv1.weight" (30,1,3,3), "conv1.bias" (30), "conv2.weight" (50,30,3,3), "conv2.bias" (50),
 * "fc1.weight" (100,1250), "fc1.bias" (100), "fc2.weight" (10,100), "fc2.bias" (10).
 * Dense weights are (out,in) row-major; conv weights (OC,IC,KH,KW); the flatten before fc1 is
 * NCHW (c*H*W + h*W + w). MLP names: "fc1", "fc2", ...; softmax: "fc".
 * tensor_info: name (owned by net), shape[0..ndim), offset into w; i < n_tensors; any output
 * pointer may be NULL. */
size_t afl_net_n_tensors(const afl_net *net);
void afl_net_tensor_info(const afl_net *net, size_t i, const char **name, int shape[4], int *ndim,
                         size_t *offset);

/* Human-readable one-line-per-layer description (for `aflsim describe`), written into buf
 * (always NUL-terminated, truncated if len is too small). */
void afl_net_summary(const afl_net *net, char *buf, size_t len);

/* The BLAS behind cblas_sgemm: OpenBLAS's config string and core type, e.g.
 * "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (core Haswell)". */
const char *afl_blas_info(void);
/* Threads OpenBLAS may use. Anything but 1 breaks bit-reproducibility. */
void afl_blas_set_threads(int n);

#endif
