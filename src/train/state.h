/* Trainer checkpoints: OUT/ckpt-NNNNNNNN/ holds a loadable model directory
 * (what the architecture saves), optimizer.safetensors (AdamW moments, as
 * "exp_avg.NAME" and "exp_avg_sq.NAME", F32) and trainer_state.json. The
 * directory is written under a temporary name and renamed; then the
 * OUT/checkpoint symlink is replaced by renaming a new link over it, so a
 * crash at any moment leaves the previous checkpoint intact. */
#ifndef QT_TRAIN_STATE_H
#define QT_TRAIN_STATE_H

#include <stdint.h>

#include "nn/optim.h"
#include "nn/rng.h"
#include "train/arch.h"
#include "util/err.h"

typedef struct qt_train_state {
    int step;           /* optimizer steps done */
    int epoch;          /* current epoch (from 0) */
    int batch_in_epoch; /* batches of that epoch done */
    int total_steps;
    qt_rng rng;         /* the trainer's RNG (dropout seeds) */
    long long tokens;   /* tokens read so far */
    double seconds;     /* training time so far (all sittings) */
    char feature_key[65];
} qt_train_state;

/* Saves a checkpoint for state->step and points OUT/checkpoint at it;
 * keeps the `keep` newest older checkpoints. On success the directory's
 * path is in dir_out (may be NULL). */
int qt_checkpoint_save(const char *out_dir, qt_train_arch *a, const qt_param *params, const char *const *names,
                       int n_params, const qt_train_state *st, int keep, char *dir_out, size_t dir_size,
                       qt_err *e);

/* Reads OUT/checkpoint's trainer_state.json and optimizer moments (params'
 * m and v must be allocated; the weights are the architecture's to load).
 * dir_out receives the resolved checkpoint directory. */
int qt_checkpoint_read_state(const char *out_dir, qt_train_state *st, char *dir_out, size_t dir_size, qt_err *e);
int qt_checkpoint_read_moments(const char *dir, qt_param *params, const char *const *names, int n_params,
                               qt_err *e);

/* 1 when OUT/checkpoint exists. */
int qt_checkpoint_exists(const char *out_dir);

#endif
