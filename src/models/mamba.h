/* Mamba (selective state space) language models, loaded from a Hugging Face
 * MambaForCausalLM directory: config.json (model_type "mamba"),
 * model.safetensors and a byte-level BPE tokenizer.json (GPT-NeoX style).
 *
 * Tensors (N = layer, D = d_inner = expand * hidden_size):
 *   backbone.embeddings.weight                [vocab, hidden]  (old name: backbone.embedding.weight)
 *   backbone.layers.N.norm.weight             [hidden]
 *   backbone.layers.N.mixer.in_proj.weight    [2D, hidden]   (+ .bias [2D] when use_bias)
 *   backbone.layers.N.mixer.conv1d.weight     [D, 1, conv_kernel] (+ .bias [D] when use_conv_bias)
 *   backbone.layers.N.mixer.x_proj.weight     [dt_rank + 2 state_size, D]
 *   backbone.layers.N.mixer.dt_proj.weight    [D, dt_rank], .bias [D]
 *   backbone.layers.N.mixer.A_log             [D, state_size]
 *   backbone.layers.N.mixer.D                 [D]
 *   backbone.layers.N.mixer.out_proj.weight   [hidden, D]    (+ .bias [hidden] when use_bias)
 *   backbone.norm_f.weight                    [hidden]
 *   lm_head.weight                            [vocab, hidden] (absent when tied to the embeddings)
 *   qa_outputs.weight [2, hidden], qa_outputs.bias [2]       (span mode only; qaterm's extension)
 *
 * Config keys are Hugging Face's MambaConfig (vocab_size, hidden_size,
 * state_size, num_hidden_layers, layer_norm_epsilon, expand, conv_kernel,
 * use_bias, use_conv_bias, time_step_rank ("auto" = ceil(hidden / 16)),
 * hidden_act "silu", tie_word_embeddings, eos_token_id) plus qaterm's:
 *
 *   qaterm_qa_mode         "span" or "generative"; default: "span" when the
 *                          checkpoint has qa_outputs.weight, else "generative"
 *   qaterm_sep_token_id    span mode: the separator id (default eos_token_id)
 *   qaterm_null_threshold  span mode: see qa/decode.h (default 0)
 *   qaterm_prompt          generative: the prompt, with {context} and
 *                          {question} (default "{context}\n\nQ: {question}\nA:")
 *   qaterm_no_answer       generative: the no-answer text (default "unanswerable")
 *   qaterm_max_new_tokens  generative: longest answer in tokens (default 32)
 *
 * Span mode. The input is  question <sep> context <sep>  (the question cut
 * to its first QT_QA_MAX_QUESTION_LEN tokens, no BOS) read in one causal
 * pass: cost linear in the length, no windows. qa_outputs on the final
 * hidden states (after norm_f) gives a start and an end logit per position;
 * the context positions go to the plain span decoder. The null score is
 * start + end at the TRAILING separator: the model is causal, so that is the
 * first position that has read the question and the whole context (the
 * first separator has not seen the context yet).
 *
 * Generative mode (plain language-model checkpoints): greedy decoding from
 * the prompt with the recurrent state (per layer, the last conv_kernel - 1
 * conv inputs and the [D, state_size] SSM state: O(1) per token), stopping
 * at eos, at a token that holds a newline (not kept), or after
 * qaterm_max_new_tokens. The answer is the generated text with surrounding
 * whitespace removed; it is "no answer" when, SQuAD-normalised, it is empty
 * or equals the normalised qaterm_no_answer. score is the mean log-prob of
 * the generated tokens (the stopping token included), confidence its exp,
 * no_answer_prob the probability of the no-answer text (with a space in
 * front when the prompt does not end in whitespace) teacher-forced after the
 * prompt. When the model answers "no answer", a second greedy run that may
 * not start with the same token, eos or a newline gives best_text. The span
 * is where the answer first occurs in the context (exact bytes, else ASCII
 * case-insensitively), -1 when it does not.
 *
 * The forward pass runs in chunks of time steps (256 by default): one sgemm
 * per projection per chunk, then the conv and the selective scan as tight
 * loops carrying their state from chunk to chunk, so memory does not grow
 * with the length and nothing is allocated per token. */
#ifndef QT_MAMBA_H
#define QT_MAMBA_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "models/model.h"
#include "util/err.h"

qt_model *qt_mamba_load(const char *dir, const cJSON *config, qt_err *e);

/* ---- for tests and benchmarks; m must come from qt_mamba_load ---- */

typedef struct qt_mamba_dims {
    int vocab, hidden, d_inner, d_state, dt_rank, d_conv, n_layers;
    int span_mode;  /* 1: span head, 0: generative */
    int32_t sep_id; /* span mode's separator */
    int32_t eos_id;
} qt_mamba_dims;

/* 1 when m is a Mamba model (and fills d when non-NULL). */
int qt_mamba_get_dims(const qt_model *m, qt_mamba_dims *d);

/* Time steps per chunk of the forward pass (>= 1); the result must not
 * depend on it. */
void qt_mamba_set_chunk(qt_model *m, int chunk);

/* Runs ids[0..n) from the zero state. hidden: NULL or [n, hidden], the final
 * hidden states after norm_f. start, end: NULL or [n], the span head's
 * logits (span mode only). */
int qt_mamba_forward(qt_model *m, const int32_t *ids, int n, float *hidden, float *start,
                     float *end, qt_err *e);

/* Greedy generation after prompt[0..n): the new ids (the stopping eos /
 * newline token included) into out (room for max_new), their count in
 * *n_out. Needs an lm_head (generative mode). */
int qt_mamba_generate(qt_model *m, const int32_t *prompt, int n, int max_new, int32_t *out,
                      int *n_out, qt_err *e);

/* The input ids of span mode for a question and a context (malloc'd into
 * *ids, count in *n): question <sep> context <sep>. */
int qt_mamba_span_input(qt_model *m, const char *question, const char *context, int32_t **ids,
                        int *n, qt_err *e);

#endif
