/* models/npy.h - NumPy .npy (format version 1.0) writer and reader for float32 arrays:
 * little-endian '<f4', C order. Format: numpy.lib.format (NEP 1,
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
 *
 * The writer writes path + ".tmp" and renames it over path, so a killed run never leaves a
 * half-written file. Errors are AFL_EIO with the path and strerror in err->msg (AFL_EINPUT for a
 * file that is not a float32 .npy, AFL_ENOMEM when the data do not fit in memory).
 */
#ifndef AFL_MODELS_NPY_H
#define AFL_MODELS_NPY_H

#include <stddef.h>

#include "sim/err.h"

#define AFL_NPY_MAX_NDIM 8

/* data: prod(shape) floats; 0 <= ndim <= AFL_NPY_MAX_NDIM. */
int afl_npy_write_f32(const char *path, const float *data, const size_t *shape, int ndim,
                      afl_err *err);
/* For tests and tools. Validates the header (magic, version 1.0 or 2.0, '<f4', C order, the
 * shape, the file length). On success *data is malloc'ed (free() it), shape[0..*ndim) is filled;
 * shape must have room for AFL_NPY_MAX_NDIM entries. */
int afl_npy_read_f32(const char *path, float **data, size_t *shape, int *ndim, afl_err *err);

#endif
