/* tests/fuzz/fuzz_trace.c - libFuzzer harness: an availability trace (delay.trace).
 *
 * Input: one byte giving the number of clients (1 + byte), then the trace file's bytes, written
 * to a temp file and read with afl_trace_load.  A loaded trace is then queried with
 * afl_trace_online for every client at a few times; the answers must be consistent (online
 * until a time after now, or offline until a later start or forever).  Run through
 * tests/fuzz/run.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/trace.h"

#include "fuzz_tmp.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_path(path, sizeof path, "trace.csv");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int n = 1 + data[0];
    data++, size--;
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    afl_trace t;
    afl_err err = {0};
    int rc = afl_trace_load(path, n, &t, &err);
    if (rc) {
        if (err.code != rc || !err.msg[0] || strchr(err.msg, '\n')) {
            fprintf(stderr, "bad error: rc %d code %d msg '%s'\n", rc, err.code, err.msg);
            abort();
        }
        return 0;
    }
    static const double times[] = {0, 0.5, 1, 2, 10, 1e6, 1e300};
    for (int c = 0; c < n; c++)
        for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
            double next = NAN, until = NAN;
            if (afl_trace_online(&t, c, times[k], &next, &until)) {
                if (!(until > times[k]))
                    abort();
            } else if (!(next > times[k])) {
                abort();
            }
        }
    afl_trace_free(&t);
    return 0;
}
