/* tests/fuzz/fuzz_sweep.c - libFuzzer harness: sweep specifications.
 *
 * Input: lines.  "grid SPEC" calls afl_sweep_add_axis (as --grid), "seeds SPEC" calls
 * afl_sweep_set_seeds (as --seeds); a line "[file]" ends the command part and the rest of the
 * input is written as the scenario file, whose [sweep] section afl_sweep_load_section reads.
 * Other lines are ignored.  When the grid has at most 256 points, afl_sweep_collect is run on
 * a folder that does not exist (it names every point, then fails to write results.csv).
 * Run through tests/fuzz/run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sweep.h"

#include "fuzz_tmp.h"

static char path[128], out[160];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_path(path, sizeof path, "sweep.ini");
    fuzz_tmp_path(out, sizeof out, "no-such-folder/sweep"); /* never created */
    return 0;
}

static void check_err(int rc, const afl_err *err)
{
    if (rc && (err->code != rc || !err->msg[0] || strchr(err->msg, '\n'))) {
        fprintf(stderr, "bad error: rc %d code %d msg '%s'\n", rc, err->code, err->msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    afl_sweep s;
    memset(&s, 0, sizeof s);
    s.scenario = path;
    s.out = out;
    afl_err err = {0};
    int rc = AFL_OK, have_file = 0;
    char *line = text;
    while (line && !rc) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (strncmp(line, "grid ", 5) == 0) {
            rc = afl_sweep_add_axis(&s, line + 5, "--grid", &err);
        } else if (strncmp(line, "seeds ", 6) == 0) {
            rc = afl_sweep_set_seeds(&s, line + 6, "--seeds", &err);
        } else if (strcmp(line, "[file]") == 0) {
            const char *rest = nl ? nl + 1 : text + size;
            size_t n = (size_t)(text + size - rest);
            FILE *f = fopen(path, "wb");
            if (!f || (n && fwrite(rest, 1, n, f) != n) || fclose(f) != 0)
                abort();
            have_file = 1;
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    check_err(rc, &err);
    if (!rc && have_file) {
        rc = afl_sweep_load_section(&s, &err);
        check_err(rc, &err);
    }
    if (!rc) {
        long np = s.nseeds ? s.nseeds : 1;
        for (int a = 0; a < s.naxes && np <= 256; a++) {
            if (s.axes[a].nvalues < 1)
                abort();
            np *= s.axes[a].nvalues;
        }
        if (np <= 256) {
            afl_sweep_result res;
            rc = afl_sweep_collect(&s, &res, &err);
            if (rc == AFL_OK || err.code != rc || !err.msg[0])
                abort(); /* the folder does not exist: writing must fail, with a message */
            if (res.done != 0)
                abort();
        }
    }
    afl_sweep_free(&s);
    free(text);
    return 0;
}
