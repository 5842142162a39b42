/* qaterm's trainer: SQuAD data (with made-up unanswerable questions) ->
 * cached features -> length-bucketed batches -> AdamW steps, with
 * checkpoints that resume exactly, periodic evaluation through the real
 * inference path, and a final no-answer threshold.
 *
 * Output directory layout:
 *   checkpoint -> ckpt-NNNNNNNN   symlink to the latest checkpoint, swapped
 *                                 atomically (rename of a new link)
 *   ckpt-NNNNNNNN/                a loadable model directory (config.json,
 *                                 model.safetensors, tokenizer/vocab files)
 *                                 plus optimizer.safetensors (AdamW moments)
 *                                 and trainer_state.json (step, data position,
 *                                 RNG state)
 *   loss.csv                      step, epoch, loss (%.17g), lr, grad_norm
 *   eval.csv                      periodic dev metrics
 *   features-HASH.bin             the tokenised training set (cache)
 *   train_config.json             the config the run started with */
#ifndef QT_TRAIN_H
#define QT_TRAIN_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "train/negatives.h"
#include "util/err.h"

typedef struct qt_train_config {
    char arch[16];             /* "lstm", "bert", "t5", "mamba" */
    uint64_t seed;
    /* data */
    char train_path[4096];     /* SQuAD 1.1-style training file */
    char dev_path[4096];       /* SQuAD 2.0 file for evaluation ("" : none) */
    char dev_split[16];         /* "a2", "a1" or "all": what eval reports on */
    char train_dev_split[16];   /* "" or "a1": also learn from that split's unanswerable questions */
    int train_dev_repeat;      /* copies of those questions (they are few) */
    int max_train_questions;   /* 0: all; else the first N questions (tests) */
    int eval_questions;        /* questions of the dev split per periodic evaluation (0: all) */
    qt_neg_opts negatives;
    /* optimisation */
    int batch_size;
    int epochs;
    int max_steps;             /* 0: epochs * batches; else stop there (schedule uses it) */
    float lr;
    int warmup_steps;
    double weight_decay, beta1, beta2, eps;
    double clip_norm;          /* 0: no clipping */
    int bucket_size;           /* examples sorted by length within windows of this many batches */
    /* self-supervised pre-training before the QA steps ("pretrain": BERT's masked LM) */
    int pretrain_steps;        /* 0: none */
    float pretrain_lr;         /* its own warm-up and linear decay to 0 over pretrain_steps */
    int pretrain_warmup_steps;
    /* bookkeeping */
    int eval_every;            /* steps; 0: only at the end */
    double checkpoint_minutes; /* 0: only at the end and on signals */
    int checkpoint_every;      /* steps; 0: by time only */
    int threads;               /* worker threads computing the batch */
    int blas_threads;          /* OpenBLAS threads per worker */
    int keep_checkpoints;      /* older checkpoints kept besides the latest */
    int tune_threshold;        /* 1: tune qaterm_null_threshold on tune_split at the end */
    char tune_split[16];
    int stop_at_step;          /* testing: raise SIGTERM after this step (0: never) */
    cJSON *model;              /* the "model" object (arch-specific), owned */
    cJSON *json;               /* the whole file, owned */
} qt_train_config;

/* Reads a config file; relative data paths are tried against the current
 * directory, then the SQuAD folder (qt_squad_dir). */
int qt_train_config_load(const char *path, qt_train_config *c, qt_err *e);
void qt_train_config_free(qt_train_config *c);

/* Runs (or, with resume, continues) training into out_dir. Returns 0 when
 * training finished or stopped cleanly on a signal (*stopped set), -1 on error. */
int qt_train_run(const qt_train_config *c, const char *out_dir, int resume, int *stopped, qt_err *e);

#endif
