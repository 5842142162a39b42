/* The tied language-model head of the pre-training objectives (BERT's masked
 * LM, Mamba's next-token LM): at M chosen rows of a hidden state x
 * [rows, hidden], logits = x[row] E^T over the vocabulary, the word
 * embeddings E [vocab, hidden] being the output layer (so pre-training adds
 * no tensor), and their cross-entropy against target ids. Forward and
 * backward in one call, as the head is the loss. */
#ifndef QT_NN_LM_HEAD_H
#define QT_NN_LM_HEAD_H

#include <stdint.h>

/* Returns sum over m of weights[m] * CE(softmax(x[rows[m]] E^T), targets[m])
 * (computed in double). Adds its gradient with respect to x into dx (only
 * rows[] change; NULL: skipped) and with respect to E into demb (NULL:
 * skipped). Scratch: x_m 2 * M * hidden floats, logits M * vocab floats. */
double qt_tied_lm_loss(const float *x, const float *emb, int hidden, int vocab, const int32_t *rows,
                       const int32_t *targets, const float *weights, int M, float *x_m, float *logits, float *dx,
                       float *demb);

#endif
