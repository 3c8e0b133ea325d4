/* sim/components.c - model and dataset registries. */
#include "sim/components.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define END {NULL, 0, NULL, 0, 0, NULL, NULL}

static const afl_param softmax_params[] = {END};
static const afl_param mlp_params[] = {
    {"hidden", AFL_P_INTLIST, "200", 1, 1e6, NULL,
     "model=mlp: hidden layer sizes, e.g. 200,100 (each followed by ReLU)"},
    END};
static const afl_param cnn_params[] = {END};
static const afl_param none_params[] = {
    {"dim", AFL_P_INT, "10", 1, 1e9, NULL,
     "model=none: length of the synthetic N(0, I) update vectors"},
    END};

static const afl_component models[] = {
    {"cnn",
     "the SecureAFL paper's CNN: conv 3x3x30+ReLU, maxpool 2, conv 3x3x50+ReLU, maxpool 2, FC "
     "100+ReLU, FC classes (139,960 parameters on 28x28x1)",
     "Gao et al., SecureAFL, AsiaCCS 2026, Table 3 (no padding, floor pooling)", cnn_params},
    {"mlp", "multi-layer perceptron with ReLU hidden layers and a softmax output",
     "standard; layout as PyTorch nn.Sequential of nn.Linear", mlp_params},
    {"softmax", "multinomial logistic regression (one dense layer)", "standard", softmax_params},
    {"none",
     "timing only: no data and no training; clients send synthetic N(0, I) vectors of length dim "
     "(scheduling and delay studies at up to millions of clients)",
     "-", none_params},
};

const afl_component *afl_model_components(size_t *n)
{
    *n = sizeof models / sizeof models[0];
    return models;
}

afl_net *afl_model_build(const afl_config *cfg, int c, int h, int w, int n_classes, afl_err *err)
{
    const char *type = afl_cfg_str(cfg, "model", "type");
    if (strcmp(type, "cnn") == 0)
        return afl_net_cnn(c, h, w, n_classes, err);
    if (strcmp(type, "softmax") == 0)
        return afl_net_softmax(c, h, w, n_classes, err);
    if (strcmp(type, "mlp") == 0) {
        int hidden[64];
        int nh = afl_cfg_intlist(cfg, "model", "hidden", hidden, 64);
        return afl_net_mlp(c, h, w, hidden, nh, n_classes, err);
    }
    afl_err_set(err, AFL_EINTERNAL, "model '%s' has no constructor", type);
    return NULL;
}

/* ---- datasets ------------------------------------------------------------------------- */

static const afl_param fmnist_params[] = {
    {"dir", AFL_P_PATH, "/usr/share/datasets/fashion-mnist", 0, 0, NULL,
     "dataset=fashion-mnist: folder with the four IDX(.gz) files (Debian package "
     "dataset-fashion-mnist)"},
    END};
static const afl_param idx_params[] = {
    {"train_images", AFL_P_PATH, "", 0, 0, NULL, "dataset=idx: training images (IDX3, .gz ok)"},
    {"train_labels", AFL_P_PATH, "", 0, 0, NULL, "dataset=idx: training labels (IDX1, .gz ok)"},
    {"test_images", AFL_P_PATH, "", 0, 0, NULL, "dataset=idx: test images (IDX3, .gz ok)"},
    {"test_labels", AFL_P_PATH, "", 0, 0, NULL, "dataset=idx: test labels (IDX1, .gz ok)"},
    END};
static const afl_param csv_params[] = {
    {"train_csv", AFL_P_PATH, "", 0, 0, NULL, "dataset=csv: training set, CSV with a header row"},
    {"test_csv", AFL_P_PATH, "", 0, 0, NULL, "dataset=csv: test set, same columns"},
    {"label_column", AFL_P_STR, "label", 0, 0, NULL,
     "dataset=csv: name of the label column (integers 0..C-1); every other column is a feature"},
    END};
static const afl_param synth_params[] = {
    {"classes", AFL_P_INT, "10", 2, 100000, NULL, "dataset=synthetic: number of classes"},
    {"dim", AFL_P_INT, "20", 1, 1e7, NULL, "dataset=synthetic: number of features"},
    {"n_train", AFL_P_INT, "10000", 1, 1e9, NULL, "dataset=synthetic: training examples"},
    {"n_test", AFL_P_INT, "2000", 1, 1e9, NULL, "dataset=synthetic: test examples"},
    {"separation", AFL_P_REAL, "1", 0, 1e6, NULL,
     "dataset=synthetic: class means ~ N(0, I) * separation; examples = mean + N(0, I)"},
    END};

static const afl_component datasets[] = {
    {"fashion-mnist", "Fashion-MNIST, 60,000 train / 10,000 test 28x28 grey images, 10 classes",
     "Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747", fmnist_params},
    {"idx", "any IDX/IDX.gz image dataset in the MNIST file format (e.g. MNIST, KMNIST)",
     "LeCun et al., THE MNIST DATABASE file format", idx_params},
    {"csv", "tabular data from CSV files (read with libcsv)", "-", csv_params},
    {"synthetic", "Gaussian mixture with one component per class (generated from the seed)", "-",
     synth_params},
};

const afl_component *afl_dataset_components(size_t *n)
{
    *n = sizeof datasets / sizeof datasets[0];
    return datasets;
}

static int need_path(const afl_config *cfg, const char *key, afl_err *err)
{
    if (!afl_cfg_str(cfg, "data", key)[0])
        return afl_err_set(err, AFL_EINPUT, "data.%s is required by data.dataset = %s", key,
                           afl_cfg_str(cfg, "data", "dataset"));
    return AFL_OK;
}

/* Picks name or name.gz inside dir. */
static void idx_file(const char *dir, const char *name, char *out, size_t n)
{
    struct stat st;
    snprintf(out, n, "%s/%s.gz", dir, name);
    if (stat(out, &st) == 0)
        return;
    snprintf(out, n, "%s/%s", dir, name);
}

int afl_dataset_load(const afl_config *cfg, uint64_t seed, afl_dataset *train, afl_dataset *test,
                     afl_err *err)
{
    const char *ds = afl_cfg_str(cfg, "data", "dataset");
    int rc = AFL_OK;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (strcmp(ds, "fashion-mnist") == 0) {
        const char *dir = afl_cfg_str(cfg, "data", "dir");
        char a[4096], b[4096];
        struct stat st;
        if (stat(dir, &st) != 0)
            return afl_err_set(err, AFL_EINPUT,
                               "Fashion-MNIST folder %s not found (data.dir): install the Debian "
                               "package dataset-fashion-mnist (scripts/setup does) or set data.dir",
                               dir);
        idx_file(dir, "train-images-idx3-ubyte", a, sizeof a);
        idx_file(dir, "train-labels-idx1-ubyte", b, sizeof b);
        rc = afl_idx_load(a, b, train, err);
        if (!rc) {
            idx_file(dir, "t10k-images-idx3-ubyte", a, sizeof a);
            idx_file(dir, "t10k-labels-idx1-ubyte", b, sizeof b);
            rc = afl_idx_load(a, b, test, err);
        }
    } else if (strcmp(ds, "idx") == 0) {
        if ((rc = need_path(cfg, "train_images", err)) || (rc = need_path(cfg, "train_labels", err)) ||
            (rc = need_path(cfg, "test_images", err)) || (rc = need_path(cfg, "test_labels", err)))
            return rc;
        rc = afl_idx_load(afl_cfg_str(cfg, "data", "train_images"),
                          afl_cfg_str(cfg, "data", "train_labels"), train, err);
        if (!rc)
            rc = afl_idx_load(afl_cfg_str(cfg, "data", "test_images"),
                              afl_cfg_str(cfg, "data", "test_labels"), test, err);
    } else if (strcmp(ds, "csv") == 0) {
        if ((rc = need_path(cfg, "train_csv", err)) || (rc = need_path(cfg, "test_csv", err)))
            return rc;
        const char *label = afl_cfg_str(cfg, "data", "label_column");
        rc = afl_csv_dataset_load(afl_cfg_str(cfg, "data", "train_csv"), label, train, err);
        if (!rc)
            rc = afl_csv_dataset_load(afl_cfg_str(cfg, "data", "test_csv"), label, test, err);
    } else if (strcmp(ds, "synthetic") == 0) {
        afl_rng *r = afl_rng_create(seed, AFL_RNG_DATA, 0);
        if (!r)
            return afl_err_set(err, AFL_ENOMEM, "out of memory");
        rc = afl_synth_generate((int)afl_cfg_int(cfg, "data", "classes"),
                                (int)afl_cfg_int(cfg, "data", "dim"),
                                (int)afl_cfg_int(cfg, "data", "n_train"),
                                (int)afl_cfg_int(cfg, "data", "n_test"),
                                afl_cfg_real(cfg, "data", "separation"), r, train, test, err);
        afl_rng_free(r);
    } else {
        return afl_err_set(err, AFL_EINTERNAL, "dataset '%s' has no loader", ds);
    }
    if (!rc && strcmp(ds, "synthetic") != 0)
        rc = afl_dataset_check_pair(train, test, "training set", "test set", err);
    if (rc) {
        afl_dataset_free(train);
        afl_dataset_free(test);
    }
    return rc;
}
