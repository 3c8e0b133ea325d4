/* tests/fuzz/fuzz_tmp.h - the private temporary folder of one harness process.
 *
 * fuzz_tmp_path(out, n, name) gives out = "<folder>/<name>", creating the folder
 * ($TMPDIR or /tmp, aflfuzz-XXXXXX) on the first call; at exit every file named
 * this way is removed, then the folder.  Call it from LLVMFuzzerInitialize. */
#ifndef AFL_FUZZ_TMP_H
#define AFL_FUZZ_TMP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64], fuzz_files[4][160];
static int fuzz_nfiles;

static void fuzz_tmp_cleanup(void)
{
    for (int i = 0; i < fuzz_nfiles; i++)
        unlink(fuzz_files[i]);
    rmdir(fuzz_dir);
}

static void fuzz_tmp_path(char *out, size_t n, const char *name)
{
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%.40s/aflfuzz-XXXXXX",
                 t && *t && strlen(t) < 40 ? t : "/tmp");
        if (!mkdtemp(fuzz_dir))
            abort();
        atexit(fuzz_tmp_cleanup);
    }
    if (fuzz_nfiles == (int)(sizeof fuzz_files / sizeof fuzz_files[0]))
        abort();
    snprintf(fuzz_files[fuzz_nfiles], sizeof fuzz_files[0], "%s/%s", fuzz_dir, name);
    snprintf(out, n, "%s", fuzz_files[fuzz_nfiles++]);
}

#endif
