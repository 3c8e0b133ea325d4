/* sim/sections.c - the core parameter tables of every scenario section.
 * This file is the single source of the scenario reference (docs/scenario-keys.md
 * is generated from it by `aflsim doc`).
 */
#include <string.h>

#include "attacks/attack.h"
#include "defenses/defense.h"
#include "sim/components.h"
#include "sim/config.h"

#define BIG 1e300

static const afl_param sim_params[] = {
    {"seed", AFL_P_INT, "1", 0, 9.2e18, NULL,
     "master seed; every random stream (partition, delays, batches, attack) is derived from it"},
    {"mode", AFL_P_ENUM, "round", 0, 0, "round|time",
     "round: the paper's delay model (one update per round, staleness ~ U{0..tau_max}); time: "
     "continuous virtual time with client speeds and delays"},
    {"rounds", AFL_P_INT, "2000", 1, 1e12, NULL,
     "number of arriving client updates to process (one round = one received update)"},
    {"max_time", AFL_P_REAL, "0", 0, BIG, NULL,
     "time mode: stop at this simulated time as well (0 = no limit)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param data_params[] = {
    {"normalize", AFL_P_ENUM, "standardize", 0, 0, "standardize|unit|none",
     "input scaling with the training set's statistics: standardize (images: /255 then per-channel "
     "mean/std), unit ([0,1]), none"},
    {"partition", AFL_P_ENUM, "bias", 0, 0, "iid|bias|dirichlet",
     "how training data is split among clients: iid, Fang et al. bias probability, Dirichlet(alpha)"},
    {"bias", AFL_P_REAL, "0.5", 0, 1, NULL,
     "partition=bias: probability q that an example goes to the group of its label (1/C = IID)"},
    {"alpha", AFL_P_REAL, "0.5", 1e-6, 1e6, NULL, "partition=dirichlet: concentration alpha"},
    {"min_size", AFL_P_INT, "10", 1, 1e9, NULL,
     "partition=dirichlet: resample until every client has at least this many examples"},
    {"train_subset", AFL_P_INT, "0", 0, 2e9, NULL,
     "use a random subset of this many training examples (0 = all)"},
    {"test_subset", AFL_P_INT, "0", 0, 2e9, NULL,
     "use a random fixed subset of this many test examples for evaluation (0 = all)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param model_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param clients_params[] = {
    {"n", AFL_P_INT, "50", 1, 1e7, NULL, "number of clients"},
    {"malicious", AFL_P_REAL, "0", 0, 1, NULL,
     "fraction of malicious clients (rounded to the nearest count; clients 0..m-1 after the "
     "random partition)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param delay_params[] = {
    {"tau_max", AFL_P_INT, "10", 0, 1e6, NULL,
     "round mode: staleness tau ~ U{0..min(tau_max, version)} (AFLGuard/Zeno++/SecureAFL)"},
    {"speed", AFL_P_DIST, "constant(1)", 0, 0, "constant|uniform|lognormal|pareto",
     "time mode: per-client speed factor drawn once per client (compute time is divided by it)"},
    {"compute", AFL_P_DIST, "exponential(1)", 0, 0, NULL,
     "time mode: compute time of one job at speed 1"},
    {"network", AFL_P_DIST, "constant(0)", 0, 0, NULL,
     "time mode: network delay added to every job"},
    {"straggler_frac", AFL_P_REAL, "0", 0, 1, NULL,
     "time mode: fraction of clients that are stragglers (chosen at random)"},
    {"straggler_slowdown", AFL_P_REAL, "10", 1, 1e9, NULL,
     "time mode: a straggler's compute time is multiplied by this"},
    {"concurrency", AFL_P_INT, "0", 0, 1e9, NULL,
     "time mode: at most this many clients train at once (0 = all clients)"},
    {"selection", AFL_P_ENUM, "fifo", 0, 0, "fifo|random",
     "time mode: which ready client starts next when a training slot frees up"},
    {"trace", AFL_P_PATH, "", 0, 0, NULL,
     "time mode: CSV availability trace with header client,start,end (clients not listed are "
     "always available)"},
    {"offline", AFL_P_ENUM, "finish", 0, 0, "finish|drop",
     "time mode with a trace: a job still running when its client goes offline finishes (finish) or "
     "is lost (drop)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param train_params[] = {
    {"batch", AFL_P_INT, "32", 1, 1e6, NULL, "minibatch size of a client's local step"},
    {"lr", AFL_P_REAL, "0.01", 0, 1e6, NULL,
     "server (global) learning rate eta: w <- w - eta * step"},
    {"local_steps", AFL_P_INT, "1", 1, 1e6, NULL,
     "local SGD steps per job; 1 sends the minibatch gradient, E > 1 sends "
     "(w_start - w_end) / local_lr (the paper scenarios use 2: docs/reproducing.md)"},
    {"local_lr", AFL_P_REAL, "0.01", 1e-12, 1e6, NULL, "learning rate of local SGD steps"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param attack_params[] = {
    {"start", AFL_P_INT, "0", 0, 1e12, NULL,
     "first round in which malicious clients attack (the paper: from the first round)"},
    {"period", AFL_P_INT, "0", 0, 1e12, NULL,
     "switch the attack on and off periodically: a cycle of this many rounds (0 = always on)"},
    {"duty", AFL_P_REAL, "0.5", 0, 1, NULL,
     "with period > 0: the attack is on during the first duty * period rounds of each cycle"},
    {"knowledge", AFL_P_ENUM, "full", 0, 0, "full|partial",
     "full: the attacker sees the genuine updates of the last `window` benign arrivals and the "
     "defense (the paper's setting); partial: only its own clients' genuine updates"},
    {"window", AFL_P_INT, "0", 0, 1e6, NULL,
     "how many recent genuine updates the attacker knows (0 = clients.n)"},
    {"rate", AFL_P_REAL, "1", 0, 1e6, NULL,
     "timing, round mode: a malicious client is chosen this many times as often as a benign one"},
    {"staleness", AFL_P_ENUM, "uniform", 0, 0, "uniform|fresh|max",
     "timing, round mode: malicious clients' staleness ~ U{0..tau_max} like everyone (uniform), "
     "always 0 (fresh) or always min(tau_max, version) (max, deliberately stale)"},
    {"speed", AFL_P_DIST, "", 0, 0, "constant|uniform|lognormal|pareto",
     "timing, time mode: malicious clients' speed distribution (empty = same as delay.speed)"},
    {"compute", AFL_P_DIST, "", 0, 0, NULL,
     "timing, time mode: malicious clients' compute time (empty = same as delay.compute)"},
    {"network", AFL_P_DIST, "", 0, 0, NULL,
     "timing, time mode: malicious clients' network delay (empty = same as delay.network)"},
    {"burst_period", AFL_P_REAL, "0", 0, 1e300, NULL,
     "timing, time mode: malicious clients start jobs only in bursts, the first burst_length of "
     "every burst_period time units (0 = off)"},
    {"burst_length", AFL_P_REAL, "1", 0, 1e300, NULL, "timing, time mode: length of a burst"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param defense_params[] = {
    {"trusted_size", AFL_P_INT, "100", 1, 1e9, NULL,
     "defenses that need trusted server data (Zeno++, AFLGuard, Sageflow, FLTrust): this many "
     "examples drawn uniformly from the union of the clients' training data (AFLGuard's setup)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param eval_params[] = {
    {"every", AFL_P_INT, "500", 0, 1e12, NULL,
     "evaluate the global model every this many versions (0 = only at start and end)"},
    {"every_rounds", AFL_P_INT, "0", 0, 1e12, NULL,
     "also evaluate every this many rounds (received updates), whatever the version: the same "
     "x points for defenses that hold or reject updates (0 = off)"},
    {"every_time", AFL_P_REAL, "0", 0, BIG, NULL,
     "time mode: also evaluate every this much simulated time (0 = off)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_param output_params[] = {
    {"events", AFL_P_BOOL, "true", 0, 0, NULL, "write events.csv (one row per arriving update)"},
    {"save_model", AFL_P_BOOL, "false", 0, 0, NULL,
     "write the final global model as model.npy (float32, PyTorch state_dict order; see "
     "docs/outputs.md)"},
    {"progress", AFL_P_ENUM, "auto", 0, 0, "auto|on|off",
     "progress line with rate and ETA on stderr (auto = only when stderr is a terminal)"},
    {"checkpoint_every", AFL_P_INT, "1000", 0, 1e15, NULL,
     "write checkpoint.ckpt every this many model versions (0 = never) so that `aflsim run "
     "--resume DIR` continues a killed run; removed when the run finishes"},
    {"checkpoint_interval", AFL_P_REAL, "60", 0, 1e9, NULL,
     "and at most once per this many wall-clock seconds (0 = at every checkpoint_every "
     "versions); where checkpoints fall never changes the results"},
    {NULL, 0, NULL, 0, 0, NULL, NULL}};

static const afl_section sections[] = {
    {"sim", "simulation clock, length and seed", sim_params, NULL, NULL, NULL, NULL},
    {"data", "dataset, preprocessing and the split among clients", data_params, "dataset",
     "fashion-mnist", "dataset", afl_dataset_components},
    {"model", "the trained model", model_params, "type", "cnn", "model",
     afl_model_components},
    {"clients", "client population", clients_params, NULL, NULL, NULL, NULL},
    {"delay", "staleness (round mode) and client timing (time mode)", delay_params, NULL, NULL,
     NULL, NULL},
    {"train", "local training and the server learning rate", train_params, NULL, NULL, NULL, NULL},
    {"attack", "what malicious clients do", attack_params, "type", "none", "attack",
     afl_attack_components},
    {"defense", "the server's aggregation / defense rule", defense_params, "type", "asyncsgd",
     "defense", afl_defense_components},
    {"eval", "evaluation of the global model on the test set", eval_params, NULL, NULL, NULL, NULL},
    {"output", "what is written to the run folder", output_params, NULL, NULL, NULL, NULL},
};

const afl_section *afl_sections(size_t *n)
{
    *n = sizeof sections / sizeof sections[0];
    return sections;
}

const afl_section *afl_section_find(const char *name)
{
    size_t n;
    const afl_section *s = afl_sections(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    return NULL;
}

const afl_component *afl_components(const char *kind, size_t *n)
{
    size_t ns;
    const afl_section *s = afl_sections(&ns);
    for (size_t i = 0; i < ns; i++)
        if (s[i].kind && strcmp(s[i].kind, kind) == 0)
            return s[i].components(n);
    *n = 0;
    return NULL;
}

const afl_component *afl_component_find(const char *kind, const char *name)
{
    size_t n;
    const afl_component *c = afl_components(kind, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return &c[i];
    return NULL;
}
