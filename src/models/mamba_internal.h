/* What mamba.c (loading, forward, generation) and mamba_qa.c (answering)
 * share. Not for use outside src/models/mamba*.c. */
#ifndef QT_MAMBA_INTERNAL_H
#define QT_MAMBA_INTERNAL_H

#include <stdint.h>

#include "models/checkpoint.h"
#include "models/model.h"
#include "tok/tokenizer.h"
#include "util/err.h"

#define QT_MAMBA_DEFAULT_CHUNK 256
#define QT_MAMBA_DEFAULT_PROMPT "{context}\n\nQ: {question}\nA:"
#define QT_MAMBA_DEFAULT_NO_ANSWER "unanswerable"
#define QT_MAMBA_DEFAULT_MAX_NEW 32

typedef struct qt_mamba_layer {
    const float *norm_w;
    const float *in_w, *in_b;   /* [2D, H], [2D] or NULL */
    const float *conv_b;        /* [D] or NULL */
    const float *x_w;           /* [R + 2N, D] */
    const float *dt_w, *dt_b;   /* [D, R], [D] */
    const float *D;             /* [D] */
    const float *out_w, *out_b; /* [H, D], [H] or NULL */
    float *conv_w;              /* [K, D]: transposed from [D, 1, K] so the conv runs along channels */
    float *A;                   /* [N, D]: -exp(A_log), transposed for the scan */
} qt_mamba_layer;

typedef struct qt_mamba {
    qt_ckpt *ck;
    qt_tokenizer *tok;
    int vocab, hidden, d_inner, d_state, dt_rank, d_conv, n_layers;
    float eps;
    const float *embed, *norm_f, *lm_head, *qa_w, *qa_b;
    qt_mamba_layer *layers;
    int span_mode;
    int32_t sep_id, eos_id;
    double null_threshold;
    char *prompt, *no_answer;
    int max_new;
    uint8_t *newline_tok; /* [vocab]: the token's text holds a newline (generative) */

    /* the recurrent state of the sequence being read, per layer */
    float *conv_state; /* [L, K - 1, D]: the last K - 1 conv inputs, oldest first */
    float *ssm_state;  /* [L, N, D] (state-major, as the scan runs) */
    float *saved_conv, *saved_ssm; /* the state after a prompt (generative) */

    /* per-chunk scratch, sized for `chunk` time steps */
    int chunk;
    float *h, *xn, *xz, *xc, *xdbl, *dt, *y;
    float *dx;     /* [D]: dt * x of one step */
    float *fin;    /* [chunk, H]: final hidden states (after norm_f) */
    float *logits; /* [vocab] */
} qt_mamba;

/* -1 with "cancelled" when *m->cancel is set. */
int qt_mamba_cancelled(const qt_model *m, qt_err *e);

/* Reads ids from the zero state; mb->logits gets the next-token logits. */
int qt_mamba_prefill(qt_model *m, const int32_t *ids, int n, qt_err *e);
/* One more token from the current state; mb->logits gets the next logits. */
int qt_mamba_step(qt_model *m, int32_t id, qt_err *e);
/* restore 0: copies the state aside; 1: puts the copy back. */
void qt_mamba_save_state(qt_mamba *mb, int restore);
double qt_mamba_log_softmax_at(const float *logits, int n, int i);
/* Greedy decoding from the current logits: stops after eos or a newline
 * token (kept in out) or max_new tokens. first_banned >= 0: the first token
 * may be neither it, eos nor a newline token. *lp: sum of the log-probs. */
int qt_mamba_greedy(qt_model *m, int max_new, int first_banned, int32_t *out, int *n_out,
                    double *lp, qt_err *e);

/* mamba_qa.c */
int qt_mamba_answer(qt_model *m, const char *question, const char *context, qt_qa_answer *out,
                    qt_err *e);
/* Fills mb->newline_tok from the tokenizer. */
void qt_mamba_mark_newline_tokens(qt_mamba *mb);

#endif
