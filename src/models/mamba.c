/* Mamba engine: loading and validation, the chunked recurrent forward pass
 * and greedy generation (the QA modes are in mamba_qa.c). See mamba.h for
 * the tensors, the config keys and the QA rules. */
#include "models/mamba.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/checkpoint.h"
#include "models/mamba_internal.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/tensor.h"
#include "nn/vecmath.h"
#include "tok/tokenizer.h"
#include "util/json.h"
#include "qa/decode.h"

static const qt_model_ops mamba_ops;

/* ---------------------------------------------------------------- config */

static int cfg_number(const cJSON *cfg, const char *key, double def, double *out, const char *path,
                      qt_err *e)
{
    const cJSON *v = qt_json_opt(cfg, key, cJSON_Number, path, "$", e);
    if (!v && e->msg[0])
        return -1;
    *out = v ? v->valuedouble : def;
    return 0;
}

static int cfg_bool(const cJSON *cfg, const char *key, int def, int *out, const char *path, qt_err *e)
{
    const cJSON *v = qt_json_opt(cfg, key, cJSON_True | cJSON_False, path, "$", e);
    if (!v && e->msg[0])
        return -1;
    *out = v ? cJSON_IsTrue(v) : def;
    return 0;
}

static int cfg_string(const cJSON *cfg, const char *key, const char *def, char **out,
                      const char *path, qt_err *e)
{
    const cJSON *v = qt_json_opt(cfg, key, cJSON_String, path, "$", e);
    if (!v && e->msg[0])
        return -1;
    *out = strdup(v ? v->valuestring : def);
    return *out ? 0 : qt_fail(e, "out of memory");
}

/* An integer in [lo, hi]: required when def < lo, else def when absent. */
static int cfg_int(const cJSON *cfg, const char *key, long def, long lo, long hi, int *out,
                   const char *path, qt_err *e)
{
    const cJSON *v = def < lo ? qt_json_need(cfg, key, cJSON_Number, path, "$", e)
                              : qt_json_opt(cfg, key, cJSON_Number, path, "$", e);
    if (!v && e->msg[0])
        return -1;
    double x = v ? v->valuedouble : (double)def;
    if (x != floor(x) || x < lo || x > hi)
        return qt_fail(e, "%s: at $.%s: %g is not an integer in [%ld, %ld]", path, key, x, lo, hi);
    *out = (int)x;
    return 0;
}

static int read_config(qt_mamba *mb, const cJSON *cfg, const char *path, qt_err *e)
{
    if (cfg_int(cfg, "vocab_size", -1, 1, 1 << 24, &mb->vocab, path, e) ||
        cfg_int(cfg, "hidden_size", -1, 1, 1 << 16, &mb->hidden, path, e) ||
        cfg_int(cfg, "state_size", 16, 1, 1024, &mb->d_state, path, e) ||
        cfg_int(cfg, "num_hidden_layers", -1, 1, 1024, &mb->n_layers, path, e) ||
        cfg_int(cfg, "conv_kernel", 4, 1, 64, &mb->d_conv, path, e))
        return -1;
    double expand, eps;
    if (cfg_number(cfg, "expand", 2, &expand, path, e) ||
        cfg_number(cfg, "layer_norm_epsilon", 1e-5, &eps, path, e))
        return -1;
    double di = floor(expand * mb->hidden); /* HF: int(expand * hidden_size) */
    if (!(di >= 1 && di <= (1 << 18)))
        return qt_fail(e, "%s: at $.expand: %g gives an inner size of %g", path, expand, di);
    mb->d_inner = (int)di;
    const cJSON *isz = cJSON_GetObjectItemCaseSensitive(cfg, "intermediate_size");
    if (isz && (!cJSON_IsNumber(isz) || isz->valuedouble != di))
        return qt_fail(e, "%s: at $.intermediate_size: does not equal expand * hidden_size = %d", path,
                       mb->d_inner);
    if (!(eps > 0 && eps < 1))
        return qt_fail(e, "%s: at $.layer_norm_epsilon: %g is not in (0, 1)", path, eps);
    mb->eps = (float)eps;

    const cJSON *r = cJSON_GetObjectItemCaseSensitive(cfg, "time_step_rank");
    if (!r || (cJSON_IsString(r) && strcmp(r->valuestring, "auto") == 0))
        mb->dt_rank = (mb->hidden + 15) / 16;
    else if (!cJSON_IsNumber(r) || r->valuedouble != floor(r->valuedouble) || r->valuedouble < 1 ||
             r->valuedouble > mb->d_inner)
        return qt_fail(e, "%s: at $.time_step_rank: must be \"auto\" or an integer in [1, %d]", path,
                       mb->d_inner);
    else
        mb->dt_rank = (int)r->valuedouble;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(cfg, "hidden_act");
    if (act && !(cJSON_IsString(act) && strcmp(act->valuestring, "silu") == 0))
        return qt_fail(e, "%s: at $.hidden_act: only \"silu\" is supported", path);

    const cJSON *mode = qt_json_opt(cfg, "qaterm_qa_mode", cJSON_String, path, "$", e);
    if (!mode && e->msg[0])
        return -1;
    if (!mode)
        mb->span_mode = qt_ckpt_info(mb->ck, "qa_outputs.weight") != NULL;
    else if (strcmp(mode->valuestring, "span") == 0 || strcmp(mode->valuestring, "generative") == 0)
        mb->span_mode = mode->valuestring[0] == 's';
    else
        return qt_fail(e, "%s: at $.qaterm_qa_mode: \"%s\" is neither \"span\" nor \"generative\"",
                       path, mode->valuestring);

    /* HF's default eos is 0 (<|endoftext|> in the GPT-NeoX vocabulary); null means the default */
    int eos = 0, sep;
    const cJSON *eos_item = cJSON_GetObjectItemCaseSensitive(cfg, "eos_token_id");
    if ((eos_item && !cJSON_IsNull(eos_item) && cfg_int(cfg, "eos_token_id", 0, 0, mb->vocab - 1, &eos, path, e)) ||
        cfg_int(cfg, "qaterm_sep_token_id", eos, 0, mb->vocab - 1, &sep, path, e) ||
        cfg_int(cfg, "qaterm_max_new_tokens", QT_MAMBA_DEFAULT_MAX_NEW, 1, 4096, &mb->max_new, path, e))
        return -1;
    mb->eos_id = eos;
    mb->sep_id = sep;
    if (cfg_string(cfg, "qaterm_prompt", QT_MAMBA_DEFAULT_PROMPT, &mb->prompt, path, e) ||
        cfg_string(cfg, "qaterm_no_answer", QT_MAMBA_DEFAULT_NO_ANSWER, &mb->no_answer, path, e))
        return -1;
    if (!strstr(mb->prompt, "{context}") || !strstr(mb->prompt, "{question}"))
        return qt_fail(e, "%s: at $.qaterm_prompt: must contain {context} and {question}", path);
    mb->null_threshold = 0.0;
    return qt_qa_null_threshold_from_config(cfg, path, &mb->null_threshold, e);
}

/* --------------------------------------------------------------- weights */

static const float *need(qt_mamba *mb, const char *name, size_t ndim, size_t d0, size_t d1, size_t d2,
                         qt_err *e)
{
    size_t dims[3] = {d0, d1, d2};
    return qt_ckpt_tensor(mb->ck, name, ndim, dims, e);
}

/* The tensor when the config says it exists; when it says not, the
 * tensor's presence is left to qt_ckpt_check_unused to refuse. */
static int maybe(qt_mamba *mb, int present, const char *name, size_t d0, const float **out, qt_err *e)
{
    *out = NULL;
    if (!present)
        return 0;
    *out = need(mb, name, 1, d0, 0, 0, e);
    return *out ? 0 : -1;
}

static int load_layer(qt_mamba *mb, int l, int use_bias, int use_conv_bias, qt_err *e)
{
    qt_mamba_layer *L = &mb->layers[l];
    const size_t H = mb->hidden, D = mb->d_inner, N = mb->d_state, R = mb->dt_rank, K = mb->d_conv;
    char name[160];
#define NAME(s) (snprintf(name, sizeof name, "backbone.layers.%d.%s", l, s), name)
    const float *conv_w, *A_log;
    if (!(L->norm_w = need(mb, NAME("norm.weight"), 1, H, 0, 0, e)) ||
        !(L->in_w = need(mb, NAME("mixer.in_proj.weight"), 2, 2 * D, H, 0, e)) ||
        maybe(mb, use_bias, NAME("mixer.in_proj.bias"), 2 * D, &L->in_b, e) ||
        !(conv_w = need(mb, NAME("mixer.conv1d.weight"), 3, D, 1, K, e)) ||
        maybe(mb, use_conv_bias, NAME("mixer.conv1d.bias"), D, &L->conv_b, e) ||
        !(L->x_w = need(mb, NAME("mixer.x_proj.weight"), 2, R + 2 * N, D, 0, e)) ||
        !(L->dt_w = need(mb, NAME("mixer.dt_proj.weight"), 2, D, R, 0, e)) ||
        !(L->dt_b = need(mb, NAME("mixer.dt_proj.bias"), 1, D, 0, 0, e)) ||
        !(A_log = need(mb, NAME("mixer.A_log"), 2, D, N, 0, e)) ||
        !(L->D = need(mb, NAME("mixer.D"), 1, D, 0, 0, e)) ||
        !(L->out_w = need(mb, NAME("mixer.out_proj.weight"), 2, H, D, 0, e)) ||
        maybe(mb, use_bias, NAME("mixer.out_proj.bias"), H, &L->out_b, e))
        return -1;
#undef NAME
    L->conv_w = qt_floats_alloc(K * D);
    L->A = qt_floats_alloc(D * N);
    if (!L->conv_w || !L->A)
        return qt_fail(e, "out of memory");
    for (size_t c = 0; c < D; c++)
        for (size_t j = 0; j < K; j++)
            L->conv_w[j * D + c] = conv_w[c * K + j];
    for (size_t d = 0; d < D; d++)
        for (size_t k = 0; k < N; k++)
            L->A[k * D + d] = -expf(A_log[d * N + k]);
    return 0;
}

static int load_weights(qt_mamba *mb, const cJSON *cfg, const char *path, qt_err *e)
{
    int use_bias, use_conv_bias, tie;
    if (cfg_bool(cfg, "use_bias", 1, &use_bias, path, e) ||
        cfg_bool(cfg, "use_conv_bias", 1, &use_conv_bias, path, e) ||
        cfg_bool(cfg, "tie_word_embeddings", 1, &tie, path, e))
        return -1;
    const size_t V = mb->vocab, H = mb->hidden;
    const char *emb_name = "backbone.embeddings.weight";
    if (!qt_ckpt_info(mb->ck, emb_name) && qt_ckpt_info(mb->ck, "backbone.embedding.weight"))
        emb_name = "backbone.embedding.weight"; /* the original state-spaces checkpoints */
    if (!(mb->embed = need(mb, emb_name, 2, V, H, 0, e)))
        return -1;
    mb->layers = calloc(mb->n_layers, sizeof *mb->layers);
    if (!mb->layers)
        return qt_fail(e, "out of memory");
    for (int l = 0; l < mb->n_layers; l++)
        if (load_layer(mb, l, use_bias, use_conv_bias, e))
            return -1;
    if (!(mb->norm_f = need(mb, "backbone.norm_f.weight", 1, H, 0, 0, e)))
        return -1;

    int has_head = qt_ckpt_info(mb->ck, "lm_head.weight") != NULL;
    if (mb->span_mode) {
        if (!(mb->qa_w = need(mb, "qa_outputs.weight", 2, 2, H, 0, e)) ||
            maybe(mb, qt_ckpt_info(mb->ck, "qa_outputs.bias") != NULL, "qa_outputs.bias", 2, &mb->qa_b, e))
            return -1;
        /* a span checkpoint may keep its language-model head: shape-checked,
         * not loaded (no F16 conversion of a table it never reads) */
        const qt_st_tensor *t = qt_ckpt_info(mb->ck, "lm_head.weight");
        if (t && (t->ndim != 2 || t->shape[0] != V || t->shape[1] != H)) {
            char shape[64];
            qt_shape_format(shape, sizeof shape, t->ndim, t->shape);
            return qt_fail(e, "%s: tensor 'lm_head.weight' has shape %s, config implies [%zu,%zu]",
                           qt_ckpt_dir(mb->ck), shape, V, H);
        }
        qt_ckpt_skip(mb->ck, "lm_head.weight");
    } else if (has_head || !tie) {
        if (!(mb->lm_head = need(mb, "lm_head.weight", 2, V, H, 0, e)))
            return -1;
    } else {
        mb->lm_head = mb->embed;
    }
    return qt_ckpt_check_unused(mb->ck, e);
}

/* ----------------------------------------------------------- the forward */

static int alloc_scratch(qt_mamba *mb, int chunk, qt_err *e)
{
    float **bufs[] = {&mb->h, &mb->xn, &mb->xz, &mb->xc, &mb->xdbl, &mb->dt, &mb->y, &mb->fin, &mb->dx};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        qt_floats_free(*bufs[i]);
        *bufs[i] = NULL;
    }
    const size_t T = chunk, H = mb->hidden, D = mb->d_inner;
    mb->chunk = chunk;
    mb->h = qt_floats_alloc(T * H);
    mb->xn = qt_floats_alloc(T * H);
    mb->xz = qt_floats_alloc(T * 2 * D);
    mb->xc = qt_floats_alloc(T * D);
    mb->xdbl = qt_floats_alloc(T * (mb->dt_rank + 2 * mb->d_state));
    mb->dt = qt_floats_alloc(T * D);
    mb->y = qt_floats_alloc(T * D);
    mb->fin = qt_floats_alloc(T * H);
    mb->dx = qt_floats_alloc(D);
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        if (!*bufs[i])
            return qt_fail(e, "out of memory (Mamba scratch for %d steps)", chunk);
    return 0;
}

static size_t conv_state_floats(const qt_mamba *mb)
{
    return (size_t)mb->n_layers * (mb->d_conv - 1) * mb->d_inner;
}

static size_t ssm_state_floats(const qt_mamba *mb)
{
    return (size_t)mb->n_layers * mb->d_inner * mb->d_state;
}

static void reset_state(qt_mamba *mb)
{
    memset(mb->conv_state, 0, sizeof(float) * conv_state_floats(mb));
    memset(mb->ssm_state, 0, sizeof(float) * ssm_state_floats(mb));
}

/* Causal depthwise conv + SiLU over T steps of x (rows of xz, stride 2D),
 * the K - 1 steps before them coming from state, which then takes the last
 * K - 1 inputs. */
QT_VECTORIZE
static void conv_silu(float *restrict out, float *restrict state, const float *restrict xz,
                      const float *restrict w, const float *restrict bias, int T, int D, int K)
{
    const size_t stride = 2 * (size_t)D;
    for (int t = 0; t < T; t++) {
        float *restrict o = out + (size_t)t * D;
        for (int c = 0; c < D; c++)
            o[c] = bias ? bias[c] : 0.0f;
        for (int j = 0; j < K; j++) {
            int src = t - (K - 1) + j;
            const float *restrict xs = src >= 0 ? xz + (size_t)src * stride : state + (size_t)(K - 1 + src) * D;
            const float *restrict wj = w + (size_t)j * D;
            for (int c = 0; c < D; c++)
                o[c] += wj[c] * xs[c];
        }
        for (int c = 0; c < D; c++)
            o[c] = o[c] * qt_sigmoid(o[c]);
    }
    /* row i of the new state is input T - (K - 1) + i; rows still in the
     * old state move down, read before they are overwritten */
    for (int i = 0; i < K - 1; i++) {
        int src = T - (K - 1) + i;
        const float *from = src >= 0 ? xz + (size_t)src * stride : state + (size_t)(K - 1 + src) * D;
        memmove(state + (size_t)i * D, from, sizeof(float) * D);
    }
}

/* dt = softplus(dt + bias) over [T, D] (vecmath.h's, as in training) */
QT_VECTORIZE
static void dt_softplus(float *restrict dt, const float *restrict bias, int T, int D)
{
    for (int t = 0; t < T; t++) {
        float *restrict r = dt + (size_t)t * D;
        for (int d = 0; d < D; d++)
            r[d] = qt_softplus(r[d] + bias[d]);
    }
}

/* The selective scan over T steps from the state h, with the D skip and
 * the SiLU(z) gate: for every channel d and state n,
 *   h[n, d] = exp(dt[d] A[n, d]) h[n, d] + dt[d] x[d] B[n]
 *   y[d] = (sum_n C[n] h[n, d] + D[d] x[d]) * silu(z[d]).
 * h and A are [N, D] (state-major) so that the inner loops run over the
 * channels: long, contiguous and without horizontal sums. B and C sit in
 * the rows of xdbl (stride sd) after the dt_rank columns; dx is [D] scratch. */
QT_VECTORIZE
static void scan_gate(float *restrict y, float *restrict h, float *restrict dx,
                      const float *restrict x, const float *restrict dt, const float *restrict xdbl,
                      int sd, int R, const float *restrict xz, const float *restrict A,
                      const float *restrict Dskip, int T, int D, int N)
{
    for (int t = 0; t < T; t++) {
        const float *restrict Bt = xdbl + (size_t)t * sd + R, *restrict Ct = Bt + N;
        const float *restrict xt = x + (size_t)t * D, *restrict dtt = dt + (size_t)t * D;
        const float *restrict zt = xz + (size_t)t * 2 * D + D;
        float *restrict yt = y + (size_t)t * D;
        for (int d = 0; d < D; d++) {
            dx[d] = dtt[d] * xt[d];
            yt[d] = Dskip[d] * xt[d];
        }
        for (int n = 0; n < N; n++) {
            float *restrict hn = h + (size_t)n * D;
            const float *restrict An = A + (size_t)n * D;
            const float bn = Bt[n], cn = Ct[n];
            for (int d = 0; d < D; d++) {
                hn[d] = qt_exp(dtt[d] * An[d]) * hn[d] + dx[d] * bn;
                yt[d] += cn * hn[d];
            }
        }
        for (int d = 0; d < D; d++)
            yt[d] *= zt[d] * qt_sigmoid(zt[d]);
    }
}

int qt_mamba_cancelled(const qt_model *m, qt_err *e)
{
    return m->cancel && *m->cancel ? qt_fail(e, "cancelled") : 0;
}

/* T <= chunk steps of ids from the current state; mb->fin gets the final
 * hidden states (after norm_f). */
static int forward_chunk(qt_model *m, const int32_t *ids, int T, qt_err *e)
{
    qt_mamba *mb = m->impl;
    const int H = mb->hidden, D = mb->d_inner, N = mb->d_state, R = mb->dt_rank, K = mb->d_conv;
    const int sd = R + 2 * N;
    if (qt_embedding_forward(mb->h, ids, mb->embed, T, H, mb->vocab))
        return qt_fail(e, "token id outside the vocabulary of %d", mb->vocab);
    for (int l = 0; l < mb->n_layers; l++) {
        if (qt_mamba_cancelled(m, e))
            return -1;
        const qt_mamba_layer *L = &mb->layers[l];
        float *conv_state = mb->conv_state + (size_t)l * (K - 1) * D;
        float *ssm_state = mb->ssm_state + (size_t)l * D * N;
        qt_rmsnorm_forward(mb->xn, NULL, mb->h, L->norm_w, T, H, mb->eps);
        qt_linear_forward(mb->xz, mb->xn, L->in_w, L->in_b, T, H, 2 * D);
        conv_silu(mb->xc, conv_state, mb->xz, L->conv_w, L->conv_b, T, D, K);
        qt_linear_forward(mb->xdbl, mb->xc, L->x_w, NULL, T, D, sd);
        /* dt = softplus(dt_proj(first R columns of xdbl)) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, D, R, 1.0f, mb->xdbl, sd, L->dt_w, R,
                    0.0f, mb->dt, D);
        dt_softplus(mb->dt, L->dt_b, T, D);
        scan_gate(mb->y, ssm_state, mb->dx, mb->xc, mb->dt, mb->xdbl, sd, R, mb->xz, L->A, L->D, T, D, N);
        qt_linear_forward(mb->xn, mb->y, L->out_w, L->out_b, T, D, H);
        qt_add_forward(mb->h, mb->h, mb->xn, (size_t)T * H);
    }
    qt_rmsnorm_forward(mb->fin, NULL, mb->h, mb->norm_f, T, H, mb->eps);
    return 0;
}

int qt_mamba_get_dims(const qt_model *m, qt_mamba_dims *d)
{
    if (!m || m->ops != &mamba_ops)
        return 0;
    const qt_mamba *mb = m->impl;
    if (d)
        *d = (qt_mamba_dims){mb->vocab, mb->hidden, mb->d_inner, mb->d_state, mb->dt_rank,
                             mb->d_conv, mb->n_layers, mb->span_mode, mb->sep_id, mb->eos_id};
    return 1;
}

void qt_mamba_set_chunk(qt_model *m, int chunk)
{
    qt_mamba *mb = m->impl;
    qt_err e;
    if (chunk >= 1 && chunk != mb->chunk && alloc_scratch(mb, chunk, &e))
        alloc_scratch(mb, QT_MAMBA_DEFAULT_CHUNK, &e);
}

int qt_mamba_forward(qt_model *m, const int32_t *ids, int n, float *hidden, float *start, float *end,
                     qt_err *e)
{
    qt_mamba *mb = m->impl;
    if ((start || end) && !mb->span_mode)
        return qt_fail(e, "%s: no span head (generative Mamba)", m->info.path);
    reset_state(mb);
    for (int t0 = 0; t0 < n; t0 += mb->chunk) {
        int T = n - t0 < mb->chunk ? n - t0 : mb->chunk;
        if (forward_chunk(m, ids + t0, T, e))
            return -1;
        if (hidden)
            memcpy(hidden + (size_t)t0 * mb->hidden, mb->fin, sizeof(float) * T * mb->hidden);
        for (int t = 0; t < T && (start || end); t++) {
            const float *f = mb->fin + (size_t)t * mb->hidden;
            float s = qt_dot(mb->qa_w, f, mb->hidden), en = qt_dot(mb->qa_w + mb->hidden, f, mb->hidden);
            if (start)
                start[t0 + t] = s + (mb->qa_b ? mb->qa_b[0] : 0.0f);
            if (end)
                end[t0 + t] = en + (mb->qa_b ? mb->qa_b[1] : 0.0f);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ generation */

int qt_mamba_prefill(qt_model *m, const int32_t *ids, int n, qt_err *e)
{
    qt_mamba *mb = m->impl;
    if (n < 1)
        return qt_fail(e, "empty prompt");
    reset_state(mb);
    int T = 0;
    for (int t0 = 0; t0 < n; t0 += T) {
        T = n - t0 < mb->chunk ? n - t0 : mb->chunk;
        if (forward_chunk(m, ids + t0, T, e))
            return -1;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, mb->vocab, mb->hidden, 1.0f, mb->lm_head, mb->hidden,
                mb->fin + (size_t)(T - 1) * mb->hidden, 1, 0.0f, mb->logits, 1);
    return 0;
}

int qt_mamba_step(qt_model *m, int32_t id, qt_err *e)
{
    qt_mamba *mb = m->impl;
    if (forward_chunk(m, &id, 1, e))
        return -1;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, mb->vocab, mb->hidden, 1.0f, mb->lm_head, mb->hidden,
                mb->fin, 1, 0.0f, mb->logits, 1);
    return 0;
}

void qt_mamba_save_state(qt_mamba *mb, int restore)
{
    size_t nc = sizeof(float) * conv_state_floats(mb), ns = sizeof(float) * ssm_state_floats(mb);
    if (restore) {
        memcpy(mb->conv_state, mb->saved_conv, nc);
        memcpy(mb->ssm_state, mb->saved_ssm, ns);
    } else {
        memcpy(mb->saved_conv, mb->conv_state, nc);
        memcpy(mb->saved_ssm, mb->ssm_state, ns);
    }
}

double qt_mamba_log_softmax_at(const float *logits, int n, int i)
{
    float mx = logits[0];
    for (int j = 1; j < n; j++)
        mx = logits[j] > mx ? logits[j] : mx;
    double s = 0;
    for (int j = 0; j < n; j++)
        s += exp((double)logits[j] - mx);
    return (double)logits[i] - mx - log(s);
}

/* The greedy argmax; the first step may exclude one token, eos and newlines. */
static int32_t pick(const qt_mamba *mb, int restricted, int32_t banned)
{
    int32_t best = -1;
    for (int32_t j = 0; j < mb->vocab; j++) {
        if (restricted && (j == banned || j == mb->eos_id || mb->newline_tok[j]))
            continue;
        if (best < 0 || mb->logits[j] > mb->logits[best])
            best = j;
    }
    return best < 0 ? 0 : best;
}

int qt_mamba_greedy(qt_model *m, int max_new, int first_banned, int32_t *out, int *n_out, double *lp,
                    qt_err *e)
{
    qt_mamba *mb = m->impl;
    *n_out = 0;
    *lp = 0;
    for (int i = 0; i < max_new; i++) {
        if (qt_mamba_cancelled(m, e))
            return -1;
        int32_t id = pick(mb, i == 0 && first_banned >= 0, first_banned);
        *lp += qt_mamba_log_softmax_at(mb->logits, mb->vocab, id);
        out[(*n_out)++] = id;
        if (id == mb->eos_id || mb->newline_tok[id] || i + 1 == max_new)
            break;
        if (qt_mamba_step(m, id, e))
            return -1;
    }
    return 0;
}

int qt_mamba_generate(qt_model *m, const int32_t *prompt, int n, int max_new, int32_t *out, int *n_out,
                      qt_err *e)
{
    qt_mamba *mb = m->impl;
    double lp;
    *n_out = 0;
    if (!mb->lm_head)
        return qt_fail(e, "%s: no language-model head (span Mamba)", m->info.path);
    return qt_mamba_prefill(m, prompt, n, e) || qt_mamba_greedy(m, max_new, -1, out, n_out, &lp, e) ? -1 : 0;
}

/* ----------------------------------------------------------------- load */

static void mamba_free(qt_model *m)
{
    if (!m)
        return;
    qt_mamba *mb = m->impl;
    if (mb) {
        for (int l = 0; mb->layers && l < mb->n_layers; l++) {
            qt_floats_free(mb->layers[l].conv_w);
            qt_floats_free(mb->layers[l].A);
        }
        free(mb->layers);
        float *bufs[] = {mb->h, mb->xn, mb->xz, mb->xc, mb->xdbl, mb->dt, mb->y, mb->fin, mb->dx, mb->logits,
                         mb->conv_state, mb->ssm_state, mb->saved_conv, mb->saved_ssm};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
            qt_floats_free(bufs[i]);
        free(mb->newline_tok);
        free(mb->prompt);
        free(mb->no_answer);
        qt_tokenizer_free(mb->tok);
        qt_ckpt_close(mb->ck);
        free(mb);
    }
    free(m);
}

/* qaterm bench: the span head (or the backbone alone for a generative
 * model) over seq_len synthetic tokens. */
static int mamba_forward_tokens(qt_model *m, int seq_len, qt_err *e)
{
    qt_mamba *mb = m->impl;
    int32_t *ids = malloc(sizeof *ids * (size_t)(seq_len > 0 ? seq_len : 1));
    float *logits = mb->span_mode ? malloc(sizeof *logits * 2 * (size_t)(seq_len > 0 ? seq_len : 1)) : NULL;
    int rc = -1;
    if (!ids || (mb->span_mode && !logits)) {
        qt_fail(e, "out of memory");
    } else {
        for (int i = 0; i < seq_len; i++)
            ids[i] = (int32_t)((i * 7919L + 13) % mb->vocab);
        rc = qt_mamba_forward(m, ids, seq_len, NULL, logits, logits ? logits + seq_len : NULL, e);
    }
    free(ids);
    free(logits);
    return rc;
}

static double mamba_flops(qt_model *m, int seq_len)
{
    const qt_mamba *mb = m->impl;
    const double H = mb->hidden, D = mb->d_inner, N = mb->d_state, R = mb->dt_rank, K = mb->d_conv;
    double per_layer = 2 * H * 2 * D           /* in_proj */
                       + 2 * K * D             /* conv */
                       + 2 * D * (R + 2 * N)   /* x_proj */
                       + 2 * R * D             /* dt_proj */
                       + 6 * D * N             /* scan: decay, update, C . h */
                       + 2 * D * H;            /* out_proj */
    return seq_len * (mb->n_layers * per_layer + (mb->span_mode ? 4 * H : 0));
}

static int mamba_max_tokens(qt_model *m)
{
    (void)m;
    return 0; /* one pass over any length */
}

static const qt_model_ops mamba_ops = {
    .answer = qt_mamba_answer,
    .free = mamba_free,
    .forward_tokens = mamba_forward_tokens,
    .flops = mamba_flops,
    .max_tokens = mamba_max_tokens,
};

static int load_tokenizer(qt_mamba *mb, const char *dir, qt_err *e)
{
    if (qt_tokenizer_load(dir, &mb->tok, e))
        return -1;
    if (qt_tokenizer_vocab_size(mb->tok) > mb->vocab)
        return qt_fail(e, "%s: the tokenizer has %d ids but the model's vocab_size is %d", dir,
                       qt_tokenizer_vocab_size(mb->tok), mb->vocab);
    if (mb->span_mode)
        return 0;
    if (qt_tokenizer_model_type(mb->tok) != QT_TOK_BPE)
        return qt_fail(e, "%s: generative Mamba needs a byte-level BPE tokenizer", dir);
    mb->newline_tok = calloc(mb->vocab, 1);
    if (!mb->newline_tok)
        return qt_fail(e, "out of memory");
    qt_mamba_mark_newline_tokens(mb);
    return 0;
}

qt_model *qt_mamba_load(const char *dir, const cJSON *config, qt_err *e)
{
    qt_model *m = calloc(1, sizeof *m);
    qt_mamba *mb = calloc(1, sizeof *mb);
    char *path = NULL;
    if (!m || !mb) {
        free(m);
        free(mb);
        qt_fail(e, "out of memory");
        return NULL;
    }
    m->ops = &mamba_ops;
    m->impl = mb;
    e->msg[0] = 0;
    if (!(mb->ck = qt_ckpt_open(dir, e)))
        goto fail;
    if (!(path = qt_ckpt_file_path(mb->ck, "config.json"))) {
        qt_fail(e, "out of memory");
        goto fail;
    }
    if (read_config(mb, config, path, e) || load_weights(mb, config, path, e) ||
        load_tokenizer(mb, dir, e) || alloc_scratch(mb, QT_MAMBA_DEFAULT_CHUNK, e))
        goto fail;
    mb->conv_state = qt_floats_alloc(conv_state_floats(mb) + 1);
    mb->ssm_state = qt_floats_alloc(ssm_state_floats(mb));
    mb->saved_conv = qt_floats_alloc(conv_state_floats(mb) + 1);
    mb->saved_ssm = qt_floats_alloc(ssm_state_floats(mb));
    mb->logits = qt_floats_alloc(mb->vocab);
    if (!mb->conv_state || !mb->ssm_state || !mb->saved_conv || !mb->saved_ssm || !mb->logits) {
        qt_fail(e, "out of memory");
        goto fail;
    }
    qt_model_info_init(&m->info, dir, config, "mamba");
    m->info.n_params = (long long)qt_ckpt_param_count(mb->ck);
    free(path);
    return m;
fail:
    free(path);
    mamba_free(m);
    return NULL;
}
