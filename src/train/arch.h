/* What the trainer needs from an architecture: a tokenizer/vocabulary, one
 * feature record per example, the parameters as named float blocks, one
 * forward + backward over a batch, and saving as a loadable model dir.
 * The trainer itself (trainer.c) knows nothing about the network. */
#ifndef QT_TRAIN_ARCH_H
#define QT_TRAIN_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "nn/optim.h"
#include "nn/rng.h"
#include "train/negatives.h"
#include "util/err.h"

/* A growable byte buffer (feature records). */
typedef struct qt_bytes {
    uint8_t *p;
    size_t n, cap;
} qt_bytes;

int qt_bytes_put(qt_bytes *b, const void *data, size_t n);
void qt_bytes_free(qt_bytes *b);

typedef struct qt_train_arch qt_train_arch;

/* What a step trains: the QA task, or the architecture's self-supervised
 * pre-training objective. */
typedef enum qt_train_objective { QT_OBJECTIVE_QA = 0, QT_OBJECTIVE_PRETRAIN } qt_train_objective;

struct qt_train_arch {
    const char *name;
    void *impl;

    /* A new model from the config's "model" object; builds its vocabulary
     * from the training examples when it needs one. */
    int (*create)(qt_train_arch *a, const cJSON *model_cfg, const qt_example_set *train, qt_err *e);
    /* The model of a checkpoint directory (config, vocabulary, weights). */
    int (*load)(qt_train_arch *a, const char *dir, qt_err *e);
    /* Hex digest of everything that decides the features (vocabulary,
     * word limits), for the feature cache's key. */
    const char *(*feature_key)(qt_train_arch *a);
    /* Appends one example's feature record to out; *usable 0 when the
     * example cannot be trained on (e.g. its answer lies past the cut);
     * *n_tokens is its length for bucketing. */
    int (*featurize)(qt_train_arch *a, const qt_example *ex, qt_bytes *out, int *usable, int *n_tokens,
                     qt_err *e);
    /* Random initial weights. */
    void (*init_weights)(qt_train_arch *a, qt_rng *rng);
    /* The parameter blocks (weights, gradients; the trainer owns moments) and
     * their names; valid while the model lives. */
    int (*params)(qt_train_arch *a, qt_param **params, const char *const **names);
    /* Zeroes gradients, runs forward and backward over n records with
     * `threads` workers (dropout seeds derived from seed), leaves the
     * gradient of the batch's mean loss in the params' g. Returns the mean
     * loss in *loss and the words/tokens read in *tokens. objective: the QA
     * loss, or the self-supervised pre-training one (only where has_pretrain;
     * the same records, and a later QA step is unaffected). */
    int (*step)(qt_train_arch *a, qt_train_objective objective, const uint8_t *const *records, int n, uint64_t seed,
                double *loss, long *tokens, qt_err *e);
    /* 1: step takes QT_OBJECTIVE_PRETRAIN. BERT: masked LM; Mamba:
     * next-token prediction; T5: look up and copy. 0: none (the BiLSTM). */
    int has_pretrain;
    /* Writes config.json, model.safetensors (F32) and the tokenizer files. */
    int (*save)(qt_train_arch *a, const char *dir, qt_err *e);
    void (*destroy)(qt_train_arch *a);
};

/* Fills a for an architecture name (lstm, bert, t5, mamba); -1 for any other.
 * threads: workers for step; blas_threads: per worker. */
int qt_train_arch_init(qt_train_arch *a, const char *name, int threads, int blas_threads, qt_err *e);

/* The BiLSTM reader (arch_lstm.c). */
int qt_train_arch_lstm(qt_train_arch *a, int threads, qt_err *e);
/* BertForQuestionAnswering (arch_bert.c). */
int qt_train_arch_bert(qt_train_arch *a, int threads, qt_err *e);
/* MambaForCausalLM with qaterm's span head (arch_mamba.c). */
int qt_train_arch_mamba(qt_train_arch *a, int threads, qt_err *e);
/* T5ForConditionalGeneration, generative (arch_t5.c). */
int qt_train_arch_t5(qt_train_arch *a, int threads, qt_err *e);

#endif
