/* bench/traffic.c - see traffic.h. Each model is read off the defense's own header comment
 * (defenses/NAME.c); d = parameters, n = clients, K = the defense's buffer size. */
#include "bench/traffic.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The defense's integer key, or def when it declares no such key (keys change while the
 * defenses are being written; an undeclared key would abort in afl_cfg_int). */
static double key(const afl_config *cfg, const char *name, const char *k, double def)
{
    const afl_component *comp = afl_component_find("defense", name);
    for (const afl_param *p = comp ? comp->params : NULL; p && p->key; p++)
        if (strcmp(p->key, k) == 0)
            return (double)afl_cfg_int(cfg, "defense", k);
    return def;
}

double traffic_bytes(const char *name, const afl_config *cfg, int n, size_t d, char *what,
                     size_t len)
{
    double D = (double)d, f = NAN; /* floats per arrival */
    if (strcmp(name, "asyncsgd") == 0) {
        f = 2 * D;
        snprintf(what, len, "2d: read g, write step");
    } else if (strcmp(name, "fedasync") == 0) {
        f = 4 * D;
        snprintf(what, len, "4d: read g, w_base, w_cur; write step");
    } else if (strcmp(name, "asyncdefender") == 0) {
        f = 4 * D;
        snprintf(what, len, "4d: read g and the reference; write step and the reference");
    } else if (strcmp(name, "kardam") == 0) {
        f = 7 * D;
        snprintf(what, len,
                 "7d: read g, w_base, the client's last g and w; store both; write step");
    } else if (strcmp(name, "zenopp") == 0) {
        double k = key(cfg, name, "refresh", 10);
        f = 3 * D + D / k;
        snprintf(what, len, "(3 + 1/%g)d: read g twice, write step; trusted v every %g", k, k);
    } else if (strcmp(name, "aflguard") == 0) {
        f = 4 * D;
        snprintf(what, len, "4d: write s, read g and s, write step");
    } else if (strcmp(name, "fltrust") == 0) {
        double K = key(cfg, name, "buffer", 10);
        f = 4 * D + D / K;
        snprintf(what, len, "(4 + 1/%g)d: copy g into the buffer; at the flush read it twice", K);
    } else if (strcmp(name, "fedbuff") == 0) {
        double K = key(cfg, name, "buffer", 10);
        f = 3 * D + 2 * D / K;
        snprintf(what, len, "(3 + 2/%g)d: sum += w g; the flush writes step", K);
    } else if (strcmp(name, "buffered") == 0) {
        double K = key(cfg, name, "buffer", 10);
        f = 3 * D + D / K;
        snprintf(what, len, "(3 + 1/%g)d: copy g into the buffer; the rule reads it once", K);
    } else if (strcmp(name, "basgd") == 0) {
        f = 3 * D;
        snprintf(what, len, "3d: running mean h_b += (g - h_b)/N_b; the aggregate is amortised");
    } else if (strcmp(name, "sageflow") == 0) {
        f = 4 * D;
        snprintf(what, len, "4d: form x_k from w_base and g, keep g; the round's mix is amortised");
    } else if (strcmp(name, "secureafl") == 0) {
        double eps = key(cfg, name, "eps", 3);
        f = (2 + 2 * eps) * n * D;
        snprintf(what, len,
                 "(2 + 2 eps) n d, eps = %g: every client's last g and w and its eps curvature "
                 "pairs, read once per arrival (estimates fused with the median)",
                 eps);
    } else {
        snprintf(what, len, "no traffic model for this defense");
    }
    return 4 * f;
}
