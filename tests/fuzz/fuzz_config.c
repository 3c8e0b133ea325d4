/* tests/fuzz/fuzz_config.c - libFuzzer harness: scenario text + --set overrides.
 *
 * Input: the scenario file's text, then (after the first NUL byte) the overrides, separated by
 * NUL bytes, each given to afl_config_override as `--set` would.  The text is written to a temp
 * file and loaded with afl_config_load_file; the [sweep] section is taken out as the sweep
 * does; then the config is resolved.  Properties checked besides "no crash, leak or UB":
 *   - every error has a code and a non-empty one-line message;
 *   - a resolved configuration can be formatted, read back and resolved again, giving the
 *     same text (config.ini replays the run: "replay with: aflsim run config.ini");
 *   - every typed getter works on every resolved key.
 * Run through tests/fuzz/run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/config.h"

#include "fuzz_tmp.h"

static char path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_tmp_path(path, sizeof path, "fuzz.ini");
    return 0;
}

static void put_file(const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
        abort();
}

/* An error must carry a code and a one-line, non-empty message. */
static void check_err(int rc, const afl_err *err)
{
    if (rc == AFL_OK)
        return;
    if (err->code != rc || !err->msg[0] || strchr(err->msg, '\n')) {
        fprintf(stderr, "bad error: rc %d code %d msg '%s'\n", rc, err->code, err->msg);
        abort();
    }
}

static int on_sweep(void *user, const char *key, const char *value, const char *origin)
{
    (void)user;
    if (!key || !value || !origin || !origin[0])
        abort();
    return 0;
}

/* Every getter on every resolved key (the getters abort on an undeclared key). */
static void touch_all(const afl_config *c)
{
    size_t ns;
    const afl_section *secs = afl_sections(&ns);
    for (size_t k = 0; k < ns; k++) {
        const afl_section *s = &secs[k];
        for (int pass = 0; pass < 2; pass++) {
            const afl_param *t = s->params;
            if (pass == 1) {
                if (!s->selector)
                    break;
                const afl_component *comp = afl_component_find(s->kind,
                                                               afl_cfg_str(c, s->name, s->selector));
                if (!comp)
                    abort();
                t = comp->params;
            }
            for (const afl_param *p = t; p && p->key; p++) {
                (void)afl_cfg_origin(c, s->name, p->key);
                switch (p->type) {
                case AFL_P_INT: (void)afl_cfg_int(c, s->name, p->key); break;
                case AFL_P_REAL: (void)afl_cfg_real(c, s->name, p->key); break;
                case AFL_P_BOOL: (void)afl_cfg_bool(c, s->name, p->key); break;
                case AFL_P_DIST:
                    if (afl_cfg_str(c, s->name, p->key)[0])
                        (void)afl_cfg_dist(c, s->name, p->key);
                    break;
                case AFL_P_INTLIST: {
                    int v[64];
                    if (afl_cfg_intlist(c, s->name, p->key, v, 64) < 1)
                        abort();
                    break;
                }
                default: (void)afl_cfg_str(c, s->name, p->key); break;
                }
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ini_len = nul ? (size_t)(nul - data) : size;
    put_file(data, ini_len);

    /* overrides: NUL-separated strings after the scenario text */
    char *ovr = NULL;
    size_t ovr_len = 0;
    if (nul) {
        ovr_len = size - ini_len - 1;
        ovr = malloc(ovr_len + 1);
        memcpy(ovr, nul + 1, ovr_len);
        ovr[ovr_len] = 0;
    }

    afl_err err = {0};
    afl_config *c = afl_config_new();
    int rc = afl_config_load_file(c, path, &err);
    check_err(rc, &err);
    if (!rc)
        afl_config_take_section(c, "sweep", on_sweep, NULL);
    for (size_t i = 0; !rc && ovr && i < ovr_len + 1;) {
        size_t l = strlen(ovr + i);
        rc = afl_config_override(c, ovr + i, &err);
        check_err(rc, &err);
        i += l + 1;
    }
    if (!rc) {
        rc = afl_config_resolve(c, &err);
        check_err(rc, &err);
    }
    if (!rc) {
        touch_all(c);
        char *text = NULL, *text2 = NULL;
        size_t len = 0, len2 = 0;
        if (afl_config_format(c, &text, &len, &err) != AFL_OK)
            abort();
        /* config.ini must replay: read it back, resolve, format: the same text */
        put_file(text, len);
        afl_config *c2 = afl_config_new();
        afl_err e2 = {0};
        int rc2 = afl_config_load_file(c2, path, &e2);
        if (!rc2)
            rc2 = afl_config_resolve(c2, &e2);
        if (rc2) {
            fprintf(stderr, "resolved config.ini does not load again: %s\n---\n%s---\n", e2.msg,
                    text);
            abort();
        }
        if (afl_config_format(c2, &text2, &len2, &e2) != AFL_OK)
            abort();
        if (len != len2 || memcmp(text, text2, len) != 0) {
            fprintf(stderr, "config.ini changes on replay:\n---\n%s---\n%s---\n", text, text2);
            abort();
        }
        free(text);
        free(text2);
        afl_config_free(c2);
    }
    afl_config_free(c);
    free(ovr);
    return 0;
}
