/* sim/memory.c - a run's memory estimate (see memory.h).
 *
 * The estimate, in bytes (f = 4 bytes per float, d = model parameters, n = clients.n,
 * m = malicious clients, dim = c*h*w, B = train.batch, T = worker threads):
 *   base     64 MiB (code, libraries, OpenBLAS buffers, stacks)
 *   dataset  f * (dim + 1) * (n_train + n_test)         examples and labels
 *            + f * (dim + 1) * loaded_train             while a train_subset is drawn
 *            + f * (2 n_train + n + 1)                  partition + the clients' shuffled copies
 *            + f * (dim + 1) * n_test                   backdoor attacks: the triggered test set
 *            + f * B * dim                              the minibatch
 *   model    f * d * (4 + 2 [local_steps > 1])          w, update, step, genuine (+ local SGD)
 *   history  f * d * (V + 2), V = min(tau_max, rounds) (round mode) or
 *                             V = min(concurrency or n, rounds) (time mode: one base per job)
 *   work     a = the model's activation bytes for one example (afl_ws_create(net, 1));
 *            a * (B + T * 64)                           training + evaluation workspaces
 *   clients  n * (192 [data] + 64 [time mode])          state, RNG, queue and ready list
 *   attack   needs_knowledge and m > 0: f * d * W (W = attack.window or n), plus the
 *            pairwise distances 8 * 5 W^2 (krum: known + copies) or 8 W^2 (minmax, minsum,
 *            adaptive); adaptive_secureafl: f * d * 3 (m + 1) + 16 * attack.history;
 *            every attack: f * d * 8 + a * B               its own vectors, training
 *   defense  f * d * (fixed + per_client * n + per_slot * K) from the table below, K = the
 *            defense's buffer size key (buffer, buffers, round_size, window, eps); for
 *            buffered rules also 8 K^2 (distances); for defenses with trusted data
 *            f * (dim + 1) * trusted_size + a * 500.  A defense missing from the table is
 *            assumed to keep 8 + 2 n vectors.
 * With model.type = none there is no dataset or workspace and d = model.dim.  Overestimates
 * are deliberate: the check exists to refuse runs that cannot fit, early and with a reason.
 */
#include "sim/memory.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "attacks/attack.h"
#include "defenses/defense.h"
#include "models/net.h"
#include "sim/components.h"
#include "sim/evaluate.h"

#define MIB (1024.0 * 1024.0)

/* ---- sizes ------------------------------------------------------------------------------ */

int afl_mem_parse_size(const char *text, uint64_t *bytes)
{
    if (!text)
        return -1;
    while (isspace((unsigned char)*text))
        text++;
    if (!isdigit((unsigned char)*text) && *text != '.')
        return -1;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v) || v < 0)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    double mult = 1;
    switch (tolower((unsigned char)*end)) {
    case 'k': mult = 1024.0; break;
    case 'm': mult = MIB; break;
    case 'g': mult = MIB * 1024.0; break;
    case 't': mult = MIB * MIB; break;
    case 'b':
    case 0: break;
    default: return -1;
    }
    if (mult > 1) {
        end++;
        if (tolower((unsigned char)*end) == 'i')
            end++;
        if (tolower((unsigned char)*end) == 'b')
            end++;
    } else if (*end) {
        end++; /* "123B" */
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -1;
    double b = v * mult;
    if (b < 1 || b > 9.0e18)
        return -1;
    *bytes = (uint64_t)b;
    return 0;
}

uint64_t afl_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kb = 0;
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            found = 1;
            break;
        }
    fclose(f);
    return found ? (uint64_t)kb * 1024u : 0;
}

void afl_mem_format(double bytes, char *buf, size_t n)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 5) {
        bytes /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0f bytes", bytes);
    else
        snprintf(buf, n, bytes < 10 ? "%.2f %s" : bytes < 100 ? "%.1f %s" : "%.0f %s", bytes,
                 unit[u]);
}

/* ---- the data shape before loading -------------------------------------------------------- */

/* The dimensions of an IDX file (gzip or plain); 0 on success.  Errors are left to the
 * loader, which says precisely what is wrong: here a bad file only means "unknown". */
static int idx_dims(const char *path, int want, uint32_t *dims)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return -1;
    unsigned char b[16];
    int need = 4 + 4 * want;
    int got = gzread(g, b, (unsigned)need);
    gzclose(g);
    if (got != need || b[0] || b[1] || b[2] != 0x08 || b[3] != want)
        return -1;
    for (int i = 0; i < want; i++) {
        const unsigned char *p = b + 4 + 4 * i;
        dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return 0;
}

/* name.gz in dir if it exists, else name (as the Fashion-MNIST loader picks). */
static void fmnist_file(const char *dir, const char *name, char *out, size_t n)
{
    struct stat st;
    snprintf(out, n, "%s/%s.gz", dir, name);
    if (stat(out, &st) == 0)
        return;
    snprintf(out, n, "%s/%s", dir, name);
}

int afl_mem_probe(const afl_config *cfg, afl_mem_shape *s, afl_err *err)
{
    (void)err;
    memset(s, 0, sizeof *s);
    s->c = s->h = s->w = 1;
    s->n_classes = 2;
    if (strcmp(afl_cfg_str(cfg, "model", "type"), "none") == 0) {
        s->known = 1; /* no data at all */
        return AFL_OK;
    }
    const char *ds = afl_cfg_str(cfg, "data", "dataset");
    if (strcmp(ds, "synthetic") == 0) {
        s->n_train = s->loaded_train = afl_cfg_int(cfg, "data", "n_train");
        s->n_test = afl_cfg_int(cfg, "data", "n_test");
        s->w = (int)afl_cfg_int(cfg, "data", "dim");
        s->n_classes = (int)afl_cfg_int(cfg, "data", "classes");
        s->known = 1;
    } else if (strcmp(ds, "fashion-mnist") == 0 || strcmp(ds, "idx") == 0) {
        char p[2][4096];
        if (ds[0] == 'f') {
            const char *dir = afl_cfg_str(cfg, "data", "dir");
            fmnist_file(dir, "train-images-idx3-ubyte", p[0], sizeof p[0]);
            fmnist_file(dir, "t10k-images-idx3-ubyte", p[1], sizeof p[1]);
        } else {
            snprintf(p[0], sizeof p[0], "%s", afl_cfg_str(cfg, "data", "train_images"));
            snprintf(p[1], sizeof p[1], "%s", afl_cfg_str(cfg, "data", "test_images"));
        }
        uint32_t tr[3], te[3];
        if (idx_dims(p[0], 3, tr) == 0 && idx_dims(p[1], 3, te) == 0) {
            s->n_train = s->loaded_train = tr[0];
            s->n_test = te[0];
            s->h = (int)(tr[1] < 0x7fffffff ? tr[1] : 0x7fffffff);
            s->w = (int)(tr[2] < 0x7fffffff ? tr[2] : 0x7fffffff);
            s->n_classes = 10; /* exact once the labels are read */
            s->known = 1;
        }
    }
    /* csv (and unreadable files): unknown until loaded; the loaders bound what they read */
    if (s->known && s->n_train > 0) {
        int64_t sub = afl_cfg_int(cfg, "data", "train_subset");
        if (sub > 0 && sub < s->n_train)
            s->n_train = sub;
        int64_t subt = afl_cfg_int(cfg, "data", "test_subset");
        if (subt > 0 && subt < s->n_test)
            s->n_test = subt;
    }
    return AFL_OK;
}

/* ---- defenses ------------------------------------------------------------------------------ */

/* Model-sized vectors each defense keeps (read from its source; keep in step with
 * defenses/: tests/test_resources.c checks that every registered defense is listed). */
static const struct {
    const char *name;
    double fixed, per_client, per_slot;
    const char *slot_key; /* [defense] key giving the number of slots, or NULL */
} defense_table[] = {
    {"asyncsgd", 0, 0, 0, NULL},
    {"buffered", 2, 0, 1, "buffer"},       /* K buffered updates, centre */
    {"fltrust", 3, 0, 1, "buffer"},        /* K buffered updates, server update */
    {"fedasync", 1, 0, 0, NULL},
    {"fedbuff", 1, 0, 0, NULL},            /* running sum */
    {"basgd", 1, 0, 1, "buffers"},         /* B buffer means */
    {"kardam", 4, 2, 0, NULL},             /* per worker: previous update and model */
    {"zenopp", 2, 0, 0, NULL},
    {"aflguard", 4, 0, 0, NULL},
    {"sageflow", 2, 0, 2, "round_size"},   /* per staleness group: base model and sum */
    {"asyncdefender", 2, 0, 0, NULL},
    {"secureafl", 8, 2, 2, "eps"},         /* per client: last update and model; L-BFGS pairs */
    {"fldetector", 6, 2, 2, "window"},     /* per client: last update and model; L-BFGS */
};

int afl_mem_defense_vectors(const char *defense, double *fixed, double *per_client,
                            double *per_slot)
{
    for (size_t i = 0; i < sizeof defense_table / sizeof defense_table[0]; i++)
        if (strcmp(defense_table[i].name, defense) == 0) {
            *fixed = defense_table[i].fixed;
            *per_client = defense_table[i].per_client;
            *per_slot = defense_table[i].per_slot;
            return 0;
        }
    *fixed = 8;
    *per_client = 2;
    *per_slot = 0;
    return -1;
}

static const char *slot_key(const char *defense)
{
    for (size_t i = 0; i < sizeof defense_table / sizeof defense_table[0]; i++)
        if (strcmp(defense_table[i].name, defense) == 0)
            return defense_table[i].slot_key;
    return NULL;
}

/* An integer key of the selected component of a section, or def when it has no such key. */
static int64_t comp_int(const afl_config *cfg, const char *section, const char *kind,
                        const char *key, int64_t def)
{
    const afl_component *comp = afl_component_find(kind, afl_cfg_str(cfg, section, "type"));
    for (const afl_param *p = comp ? comp->params : NULL; p && p->key; p++)
        if (strcmp(p->key, key) == 0 && p->type == AFL_P_INT)
            return afl_cfg_int(cfg, section, key);
    return def;
}

/* ---- the estimate ---------------------------------------------------------------------------- */

int afl_mem_estimate_run(const afl_config *cfg, const afl_mem_shape *s, int threads,
                         afl_mem_estimate *e, afl_err *err)
{
    memset(e, 0, sizeof *e);
    const double f = 4;
    double n = (double)afl_cfg_int(cfg, "clients", "n");
    double m = floor(afl_cfg_real(cfg, "clients", "malicious") * n + 0.5);
    double B = (double)afl_cfg_int(cfg, "train", "batch");
    double rounds = (double)afl_cfg_int(cfg, "sim", "rounds");
    int time_mode = strcmp(afl_cfg_str(cfg, "sim", "mode"), "time") == 0;
    int timing_only = strcmp(afl_cfg_str(cfg, "model", "type"), "none") == 0;
    if (threads < 1)
        threads = 1;
    e->base = 64 * MIB;

    /* the model: d and the activation bytes of one example */
    double act = 0, dim = 0;
    if (timing_only) {
        e->d = (size_t)afl_cfg_int(cfg, "model", "dim");
    } else {
        dim = (double)s->c * s->h * s->w;
        afl_err e2;
        afl_net *net = afl_model_build(cfg, s->c, s->h, s->w, s->n_classes > 0 ? s->n_classes : 2,
                                       &e2);
        if (!net) {
            if (e2.code == AFL_ENOMEM)
                return afl_err_set(err, AFL_ENOMEM, "out of memory building the model");
            /* the shape is refused by the model: the run says so when it builds it */
            e->d = 0;
        } else {
            e->d = afl_net_nparams(net);
            afl_ws *ws = afl_ws_create(net, 1);
            act = ws ? (double)afl_ws_bytes(ws) : 0;
            afl_ws_free(ws);
            afl_net_free(net);
        }
    }
    double d = (double)e->d;
    int local = afl_cfg_int(cfg, "train", "local_steps") > 1;

    const afl_attack_ops *atk = afl_attack_find(afl_cfg_str(cfg, "attack", "type"));
    const afl_defense_ops *def = afl_defense_find(afl_cfg_str(cfg, "defense", "type"));

    if (!timing_only) {
        double ex = dim + 1;
        e->dataset = f * ex * ((double)s->n_train + (double)s->n_test) +
                     f * (2.0 * (double)s->n_train + n + 1) + f * B * dim;
        if (s->loaded_train > s->n_train)
            e->dataset += f * ex * (double)s->loaded_train;
        if (atk && atk->trigger)
            e->dataset += f * ex * (double)s->n_test;
        e->work = act * (B + threads * (double)AFL_EVAL_CHUNK);
    }
    e->model = f * d * (4 + 2 * local);
    double V;
    if (time_mode) {
        double conc = (double)afl_cfg_int(cfg, "delay", "concurrency");
        V = conc > 0 && conc < n ? conc : n;
    } else {
        V = (double)afl_cfg_int(cfg, "delay", "tau_max");
    }
    if (V > rounds)
        V = rounds;
    e->history = f * d * (V + 2);
    e->clients = n * ((timing_only ? 48 : 192) + (time_mode ? 64 : 0));

    if (atk) {
        const char *an = atk->info.name;
        if (atk->needs_knowledge && m > 0) {
            double window = (double)afl_cfg_int(cfg, "attack", "window");
            double W = window > 0 ? window : n;
            e->attack += f * d * W + 8 * W;
            /* pairwise distances among the known updates (and crafted copies) */
            if (strcmp(an, "krum") == 0)
                e->attack += 8 * 5 * W * W;
            else if (strcmp(an, "minmax") == 0 || strcmp(an, "minsum") == 0 ||
                     strcmp(an, "adaptive") == 0)
                e->attack += 8 * W * W;
        }
        if (strcmp(an, "adaptive_secureafl") == 0) /* 3 vectors per attacker, factor history */
            e->attack += f * d * 3 * (m + 1) +
                         16 * (double)comp_int(cfg, "attack", "attack", "history", 0);
        e->attack += f * d * 8 + act * B;
    }
    if (def) {
        double fixed, per_client, per_slot;
        afl_mem_defense_vectors(def->info.name, &fixed, &per_client, &per_slot);
        double K = 0;
        const char *sk = slot_key(def->info.name);
        if (sk) {
            K = (double)comp_int(cfg, "defense", "defense", sk, 0);
            if (K <= 0) /* 0 = the defense's default, a fraction of n at most n */
                K = n;
        }
        e->defense = f * d * (fixed + per_client * n + per_slot * K);
        if (strcmp(def->info.name, "buffered") == 0)
            e->defense += 8 * K * K;
        /* fldetector, aggregate = buffered: K held updates and a centre (rules.h) */
        if (strcmp(def->info.name, "fldetector") == 0 &&
            strcmp(afl_cfg_str(cfg, "defense", "aggregate"), "buffered") == 0) {
            double Kb = (double)afl_cfg_int(cfg, "defense", "buffer");
            e->defense += f * d * (Kb + 1) + 8 * Kb * Kb;
        }
        if (def->needs_trusted_data && !timing_only) {
            double ts = (double)afl_cfg_int(cfg, "defense", "trusted_size");
            e->defense += f * (dim + 1) * ts + act * 500;
        }
    }
    e->total = e->base + e->dataset + e->model + e->history + e->work + e->clients + e->attack +
               e->defense;
    return AFL_OK;
}

typedef struct {
    const char *name;
    double v;
} mem_part;

int afl_mem_check(const afl_mem_estimate *e, uint64_t max_bytes, double in_use, afl_err *err)
{
    uint64_t avail = afl_mem_available();
    double limit = 0;
    const char *what = NULL;
    if (max_bytes > 0 && e->total > (double)max_bytes) {
        limit = (double)max_bytes;
        what = "the --max-memory limit";
    } else if (avail > 0 && e->total > (double)avail + in_use) {
        limit = (double)avail + in_use;
        what = "the available memory (MemAvailable in /proc/meminfo)";
    }
    if (!what)
        return AFL_OK;
    /* the parts, largest first */
    mem_part part[] = {{"dataset", e->dataset},         {"model", e->model},
                {"model versions", e->history}, {"workspaces", e->work},
                {"clients", e->clients},        {"attack", e->attack},
                {"defense", e->defense},        {"base", e->base}};
    int np = (int)(sizeof part / sizeof part[0]);
    for (int i = 1; i < np; i++)
        for (int j = i; j > 0 && part[j].v > part[j - 1].v; j--) {
            mem_part t = part[j];
            part[j] = part[j - 1];
            part[j - 1] = t;
        }
    char tot[32], lim[32], parts[512];
    afl_mem_format(e->total, tot, sizeof tot);
    afl_mem_format(limit, lim, sizeof lim);
    size_t used = 0;
    parts[0] = 0;
    for (int i = 0; i < np && i < 4 && part[i].v > 0; i++) {
        char v[32];
        afl_mem_format(part[i].v, v, sizeof v);
        int w = snprintf(parts + used, sizeof parts - used, "%s%s %s", i ? ", " : "", part[i].name,
                         v);
        if (w < 0 || (size_t)w >= sizeof parts - used)
            break;
        used += (size_t)w;
    }
    return afl_err_set(err, AFL_ENOMEM,
                       "the run needs an estimated %s of memory (%s; %zu model parameters), more "
                       "than %s of %s; reduce clients.n, delay.tau_max, attack.window, the "
                       "dataset or the model, or raise --max-memory",
                       tot, parts, e->d, what, lim);
}
