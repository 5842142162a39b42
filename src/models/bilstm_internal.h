/* What bilstm_forward.c and bilstm_backward.c share: the sizes of one batch
 * and the arena carver. Not for use outside src/models/bilstm*.c. */
#ifndef QT_MODELS_BILSTM_INTERNAL_H
#define QT_MODELS_BILSTM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "models/bilstm.h"
#include "nn/lstm.h"
#include "nn/tensor.h"

typedef struct bl_dims {
    int B, Tc, Tq;       /* batch, padded context and question words */
    int V, D, H, H2, G;  /* vocabulary, embedding, hidden, 2H, 4H */
    int F, C;            /* exact-match features, char CNN filters (0: off) */
    int CV, CD, K, W, P; /* char vocabulary, char embedding, kernel, word chars, positions */
    int Cin, Qin;        /* encoder layer-0 inputs */
    int L, Lm;           /* encoder and modelling layers */
} bl_dims;

static inline void bl_dims_init(bl_dims *d, const qt_bilstm_config *c, int B, int Tc, int Tq)
{
    d->B = B, d->Tc = Tc, d->Tq = Tq;
    d->V = c->vocab_size, d->D = c->embedding_dim, d->H = c->hidden_size;
    d->H2 = 2 * d->H, d->G = 4 * d->H;
    d->F = qt_bilstm_em_dim(c), d->C = qt_bilstm_char_dim(c);
    d->CV = c->char_vocab_size, d->CD = c->char_embedding_dim, d->K = c->char_kernel_size;
    d->W = c->max_word_chars, d->P = d->W - d->K + 1;
    d->Cin = qt_bilstm_context_in(c), d->Qin = qt_bilstm_question_in(c);
    d->L = c->num_layers, d->Lm = c->num_model_layers;
}

/* Carves blocks out of an arena exactly as qt_arena_floats does (64-byte
 * blocks), or only counts the bytes when a is NULL. */
typedef struct bl_carver {
    qt_arena *a;
    size_t bytes;
    int fail;
} bl_carver;

static inline void *bl_carve(bl_carver *cv, size_t bytes)
{
    size_t r = (bytes + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
    if (r == 0)
        r = QT_NN_ALIGN;
    cv->bytes += r;
    if (!cv->a)
        return NULL;
    void *p = qt_arena_floats(cv->a, r / sizeof(float));
    if (!p)
        cv->fail = 1;
    return p;
}

static inline float *bl_floats(bl_carver *cv, size_t n)
{
    return (float *)bl_carve(cv, n * sizeof(float));
}

/* Scratch of the LSTM calls: enough for forward and backward of the
 * longest sequence. */
static inline size_t bl_lstm_scratch(const bl_dims *d)
{
    qt_lstm_dims ld = {d->B, d->Tc > d->Tq ? d->Tc : d->Tq, d->H2, d->H, 0, 0};
    return qt_lstm_scratch_floats(&ld);
}

#endif
