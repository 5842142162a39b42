/* T5 (T5ForConditionalGeneration) from a Hugging Face checkpoint directory:
 * config.json, model.safetensors (or shards) with Hugging Face's tensor
 * names, and tokenizer.json (normally a Unigram/SentencePiece one).
 *
 * config.json keys read: d_model, d_kv, d_ff, num_heads, num_layers,
 * num_decoder_layers (default num_layers), vocab_size,
 * relative_attention_num_buckets (32), relative_attention_max_distance
 * (128), layer_norm_epsilon (1e-6), feed_forward_proj ("relu"; "gated-ACT"
 * for wi_0/wi_1, "gated-gelu" meaning gelu_new), tie_word_embeddings (true),
 * pad_token_id (0), eos_token_id (1), decoder_start_token_id (pad),
 * use_cache (true); and qaterm's own: qaterm_prompt ("question: {question}
 * context: {context}"), qaterm_no_answer ("unanswerable"),
 * qaterm_max_input_tokens (512), qaterm_doc_stride (128),
 * qaterm_max_new_tokens (32), qaterm_null_threshold (absent: the greedy
 * output decides; see t5_qa.c).
 *
 * Environment: QATERM_T5_CACHE=0 decodes without the key/value cache (every
 * step recomputes the decoder over all tokens so far, cross-attention keys
 * included, as use_cache=False does); QATERM_T5_STATS=1 prints each
 * window's encoder time and decoding cost per generated token to stderr. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models/engines.h"
#include "models/t5_internal.h"
#include "qa/decode.h"
#include "qa/normalize.h"
#include "util/json.h"

#define DEFAULT_PROMPT "question: {question} context: {context}"
#define DEFAULT_NO_ANSWER "unanswerable"

/* ---- config ---- */

static int cfg_int(qt_ckpt *ck, const char *key, int required, long def, long lo, long hi, int *out, qt_err *e)
{
    long v;
    if ((required ? qt_ckpt_config_int(ck, key, &v, e) : qt_ckpt_config_int_opt(ck, key, def, &v, e)) != 0)
        return -1;
    if (v < lo || v > hi)
        return qt_fail(e, "%s/config.json: at $.%s: %ld is outside %ld..%ld", qt_ckpt_dir(ck), key, v, lo, hi);
    *out = (int)v;
    return 0;
}

/* eos_token_id may be a list: its first id. */
static int cfg_token(qt_ckpt *ck, const char *key, long def, int32_t *out, qt_err *e)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(qt_ckpt_config(ck), key);
    if (cJSON_IsArray(it) && cJSON_GetArraySize(it) > 0)
        it = cJSON_GetArrayItem(it, 0);
    if (!it || cJSON_IsNull(it)) {
        *out = (int32_t)def;
        return 0;
    }
    if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= (1 << 24) ||
        it->valuedouble != (double)(int32_t)it->valuedouble)
        return qt_fail(e, "%s/config.json: at $.%s: expected a token id", qt_ckpt_dir(ck), key);
    *out = (int32_t)it->valuedouble;
    return 0;
}

static int cfg_bool(qt_ckpt *ck, const char *key, int def, int *out, qt_err *e)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(qt_ckpt_config(ck), key);
    *out = def;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsBool(it))
        return qt_fail(e, "%s/config.json: at $.%s: expected true or false, got %s", qt_ckpt_dir(ck), key,
                       qt_json_type_name(it));
    *out = cJSON_IsTrue(it);
    return 0;
}

static int cfg_str(qt_ckpt *ck, const char *key, const char *def, char **out, qt_err *e)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(qt_ckpt_config(ck), key);
    const char *s = def;
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsString(it))
            return qt_fail(e, "%s/config.json: at $.%s: expected a string, got %s", qt_ckpt_dir(ck), key,
                           qt_json_type_name(it));
        s = it->valuestring;
    }
    *out = strdup(s);
    return *out ? 0 : qt_fail(e, "out of memory");
}

static int parse_act(qt_ckpt *ck, const char *proj, qt_t5_config *c, qt_err *e)
{
    const char *act = proj;
    c->gated = strncmp(proj, "gated-", 6) == 0;
    if (c->gated)
        act = proj + 6;
    if (strcmp(proj, "gated-gelu") == 0) /* Hugging Face's compatibility rule */
        act = "gelu_new";
    if (strcmp(act, "relu") == 0)
        c->act = QT_T5_RELU;
    else if (strcmp(act, "gelu") == 0)
        c->act = QT_T5_GELU;
    else if (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0 || strcmp(act, "gelu_fast") == 0)
        c->act = QT_T5_GELU_TANH;
    else if (strcmp(act, "silu") == 0 || strcmp(act, "swish") == 0)
        c->act = QT_T5_SILU;
    else
        return qt_fail(e, "%s/config.json: at $.feed_forward_proj: unsupported \"%.40s\" (expected relu, gelu, gelu_new, "
                       "silu, or gated-ACT)", qt_ckpt_dir(ck), proj);
    return 0;
}

static int read_config(qt_t5 *t, qt_err *e)
{
    qt_ckpt *ck = t->ck;
    qt_t5_config *c = &t->c;
    char *proj = NULL;
    if (cfg_int(ck, "d_model", 1, 0, 1, 65536, &c->d_model, e) || cfg_int(ck, "d_kv", 1, 0, 1, 4096, &c->d_kv, e) ||
        cfg_int(ck, "d_ff", 1, 0, 1, 1 << 20, &c->d_ff, e) || cfg_int(ck, "num_heads", 1, 0, 1, 256, &c->heads, e) ||
        cfg_int(ck, "num_layers", 1, 0, 1, 256, &c->n_enc, e) ||
        cfg_int(ck, "num_decoder_layers", 0, c->n_enc, 1, 256, &c->n_dec, e) ||
        cfg_int(ck, "vocab_size", 1, 0, 2, 1 << 24, &c->vocab, e) ||
        cfg_int(ck, "relative_attention_num_buckets", 0, 32, 4, 4096, &c->buckets, e) ||
        cfg_int(ck, "relative_attention_max_distance", 0, 128, 1, 1 << 20, &c->max_distance, e) ||
        cfg_token(ck, "pad_token_id", 0, &c->pad_id, e) || cfg_token(ck, "eos_token_id", 1, &c->eos_id, e) ||
        cfg_token(ck, "decoder_start_token_id", c->pad_id, &c->start_id, e) ||
        cfg_bool(ck, "tie_word_embeddings", 1, &c->tied, e) || cfg_bool(ck, "use_cache", 1, &t->use_cache, e) ||
        cfg_str(ck, "feed_forward_proj", "relu", &proj, e))
        goto fail;
    if (parse_act(ck, proj, c, e) != 0)
        goto fail;
    free(proj);
    proj = NULL;
    if (c->max_distance <= c->buckets / 2) {
        qt_fail(e, "%s/config.json: at $.relative_attention_max_distance: %d must be more than half of "
                "relative_attention_num_buckets (%d)", qt_ckpt_dir(ck), c->max_distance, c->buckets);
        goto fail;
    }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(qt_ckpt_config(ck), "layer_norm_epsilon");
    c->eps = 1e-6f;
    if (eps && !cJSON_IsNull(eps)) {
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble < 1)) {
            qt_fail(e, "%s/config.json: at $.layer_norm_epsilon: expected a small positive number", qt_ckpt_dir(ck));
            goto fail;
        }
        c->eps = (float)eps->valuedouble;
    }
    if (c->eos_id >= c->vocab || c->start_id >= c->vocab || c->pad_id >= c->vocab) {
        qt_fail(e, "%s/config.json: a special token id (pad %d, eos %d, decoder start %d) is outside vocab_size %d",
                qt_ckpt_dir(ck), c->pad_id, c->eos_id, c->start_id, c->vocab);
        goto fail;
    }
    if (cfg_str(ck, "qaterm_prompt", DEFAULT_PROMPT, &t->prompt, e) ||
        cfg_str(ck, "qaterm_no_answer", DEFAULT_NO_ANSWER, &t->no_answer, e) ||
        cfg_int(ck, "qaterm_max_input_tokens", 0, 512, 16, 8192, &t->max_enc, e) ||
        cfg_int(ck, "qaterm_doc_stride", 0, 128, 0, 8192, &t->doc_stride, e) ||
        cfg_int(ck, "qaterm_max_new_tokens", 0, 32, 1, 64, &t->max_new, e))
        goto fail;
    t->null_threshold = NAN;
    if (qt_qa_null_threshold_from_config(qt_ckpt_config(ck), qt_ckpt_dir(ck), &t->null_threshold, e) != 0)
        goto fail;
    t->has_null_threshold = !isnan(t->null_threshold);
    const char *mark = strstr(t->prompt, "{context}");
    if (!mark || strstr(mark + 1, "{context}")) {
        qt_fail(e, "%s/config.json: at $.qaterm_prompt: expected exactly one {context} in \"%.80s\"", qt_ckpt_dir(ck),
                t->prompt);
        goto fail;
    }
    t->inner = c->heads * c->d_kv;
    return 0;
fail:
    free(proj);
    return -1;
}

/* ---- tensors ---- */

static const float *tensor(qt_t5 *t, qt_err *e, size_t d0, size_t d1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static const float *tensor(qt_t5 *t, qt_err *e, size_t d0, size_t d1, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    size_t dims[2] = {d0, d1};
    return qt_ckpt_tensor(t->ck, name, d1 ? 2 : 1, dims, e);
}

static int load_attention(qt_t5 *t, const char *p, const float **ln, const float **q, const float **k,
                          const float **v, const float **o, int ln_index, qt_err *e)
{
    size_t D = (size_t)t->c.d_model, I = (size_t)t->inner;
    const char *kind = ln_index == 0 ? "SelfAttention" : "EncDecAttention";
    return (*ln = tensor(t, e, D, 0, "%s.layer.%d.layer_norm.weight", p, ln_index)) &&
                   (*q = tensor(t, e, I, D, "%s.layer.%d.%s.q.weight", p, ln_index, kind)) &&
                   (*k = tensor(t, e, I, D, "%s.layer.%d.%s.k.weight", p, ln_index, kind)) &&
                   (*v = tensor(t, e, I, D, "%s.layer.%d.%s.v.weight", p, ln_index, kind)) &&
                   (*o = tensor(t, e, D, I, "%s.layer.%d.%s.o.weight", p, ln_index, kind))
               ? 0
               : -1;
}

static int load_ff(qt_t5 *t, const char *p, int index, qt_t5_layer *L, qt_err *e)
{
    size_t D = (size_t)t->c.d_model, F = (size_t)t->c.d_ff;
    if (!(L->ff_ln = tensor(t, e, D, 0, "%s.layer.%d.layer_norm.weight", p, index)))
        return -1;
    if (t->c.gated) {
        if (!(L->wi = tensor(t, e, F, D, "%s.layer.%d.DenseReluDense.wi_0.weight", p, index)) ||
            !(L->wi1 = tensor(t, e, F, D, "%s.layer.%d.DenseReluDense.wi_1.weight", p, index)))
            return -1;
    } else if (!(L->wi = tensor(t, e, F, D, "%s.layer.%d.DenseReluDense.wi.weight", p, index))) {
        return -1;
    }
    return (L->wo = tensor(t, e, D, F, "%s.layer.%d.DenseReluDense.wo.weight", p, index)) ? 0 : -1;
}

static int load_weights(qt_t5 *t, qt_err *e)
{
    size_t D = (size_t)t->c.d_model, V = (size_t)t->c.vocab, B = (size_t)t->c.buckets, H = (size_t)t->c.heads;
    t->enc = calloc((size_t)t->c.n_enc, sizeof *t->enc);
    t->dec = calloc((size_t)t->c.n_dec, sizeof *t->dec);
    if (!t->enc || !t->dec)
        return qt_fail(e, "out of memory");
    if (!(t->shared = tensor(t, e, V, D, "shared.weight")))
        return -1;
    /* copies of the shared table some checkpoints keep: checked, not used */
    const char *copies[] = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight"};
    for (int i = 0; i < 2; i++)
        if (qt_ckpt_info(t->ck, copies[i]) && !tensor(t, e, V, D, "%s", copies[i]))
            return -1;
    if (t->c.tied) {
        t->lm_head = t->shared;
        if (qt_ckpt_info(t->ck, "lm_head.weight") && !tensor(t, e, V, D, "lm_head.weight"))
            return -1;
    } else if (!(t->lm_head = tensor(t, e, V, D, "lm_head.weight"))) {
        return -1;
    }
    char p[96];
    for (int l = 0; l < t->c.n_enc; l++) {
        qt_t5_layer *L = &t->enc[l];
        snprintf(p, sizeof p, "encoder.block.%d", l);
        if (load_attention(t, p, &L->sa_ln, &L->sa_q, &L->sa_k, &L->sa_v, &L->sa_o, 0, e) || load_ff(t, p, 1, L, e))
            return -1;
    }
    for (int l = 0; l < t->c.n_dec; l++) {
        qt_t5_layer *L = &t->dec[l];
        snprintf(p, sizeof p, "decoder.block.%d", l);
        if (load_attention(t, p, &L->sa_ln, &L->sa_q, &L->sa_k, &L->sa_v, &L->sa_o, 0, e) ||
            load_attention(t, p, &L->ca_ln, &L->ca_q, &L->ca_k, &L->ca_v, &L->ca_o, 1, e) || load_ff(t, p, 2, L, e))
            return -1;
    }
    if (!(t->enc_rel = tensor(t, e, B, H, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")) ||
        !(t->dec_rel = tensor(t, e, B, H, "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")) ||
        !(t->enc_final = tensor(t, e, D, 0, "encoder.final_layer_norm.weight")) ||
        !(t->dec_final = tensor(t, e, D, 0, "decoder.final_layer_norm.weight")))
        return -1;
    /* old checkpoints carry an unused bias table in the first cross-attention */
    const char *unused = "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight";
    if (qt_ckpt_info(t->ck, unused) && !tensor(t, e, B, H, "%s", unused))
        return -1;
    return qt_ckpt_check_unused(t->ck, e);
}

/* ---- work memory ---- */

static int plan_arena(qt_t5 *t, qt_err *e)
{
    size_t D = (size_t)t->c.d_model, I = (size_t)t->inner, F = (size_t)t->c.d_ff, H = (size_t)t->c.heads;
    size_t Te = (size_t)t->max_enc, Td = (size_t)t->max_dec, R = Te > Td ? Te : Td;
    size_t nd = (size_t)t->c.n_dec, V = (size_t)t->c.vocab;
    double floats = 2.0 * R * D + 4.0 * R * I + 2.0 * H * R * R + 2.0 * R * F + (double)Te * D + 2.0 * nd * Te * I +
                    2.0 * nd * Td * I + (double)Td * V + Td + 3.0 * R + 32.0 * 16;
    if (floats * 4 > 64.0 * (1ull << 30))
        return qt_fail(e, "%s: T5 would need %.1f GiB of work memory (lower qaterm_max_input_tokens)",
                       qt_ckpt_dir(t->ck), floats * 4 / (1ull << 30));
    if (qt_arena_init(&t->arena, (size_t)(floats * 4) + 64 * 32, e) != 0)
        return -1;
    qt_arena *a = &t->arena;
    t->x = qt_arena_floats(a, R * D);
    t->h = qt_arena_floats(a, R * D);
    t->q = qt_arena_floats(a, R * I);
    t->k = qt_arena_floats(a, R * I);
    t->v = qt_arena_floats(a, R * I);
    t->a = qt_arena_floats(a, R * I);
    t->att = qt_arena_floats(a, H * R * R);
    t->bias = qt_arena_floats(a, H * R * R);
    t->ff0 = qt_arena_floats(a, R * F);
    t->ff1 = qt_arena_floats(a, R * F);
    t->enc_out = qt_arena_floats(a, Te * D);
    t->cross_k = qt_arena_floats(a, nd * Te * I);
    t->cross_v = qt_arena_floats(a, nd * Te * I);
    t->self_k = qt_arena_floats(a, nd * Td * I);
    t->self_v = qt_arena_floats(a, nd * Td * I);
    t->logits = qt_arena_floats(a, Td * V);
    t->dec_ids = (int32_t *)qt_arena_floats(a, Td);
    t->bk = (int32_t *)qt_arena_floats(a, 3 * R);
    if (!t->bk)
        return qt_fail(e, "internal error: T5 work memory planned too small");
    return 0;
}

/* ---- the model interface ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static void t5_free(qt_model *m)
{
    qt_t5 *t = m->impl;
    if (t) {
        qt_arena_free(&t->arena);
        qt_tokenizer_free(t->tok);
        if (t->ck)
            qt_ckpt_close(t->ck);
        free(t->enc);
        free(t->dec);
        free(t->prompt);
        free(t->no_answer);
        free(t->no_answer_norm);
        free(t->na_ids);
        free(t);
    }
    free(m);
}

/* bench: an encoder pass over seq_len tokens, then 32 greedy steps. */
static int t5_forward_tokens(qt_model *m, int seq_len, qt_err *e)
{
    qt_t5 *t = m->impl;
    t->cancel = m->cancel;
    int32_t *ids = malloc((size_t)seq_len * sizeof *ids);
    if (!ids)
        return qt_fail(e, "out of memory");
    int V = t->c.vocab;
    for (int i = 0; i < seq_len; i++)
        ids[i] = (int32_t)(3 + (i * 131L) % (V > 4 ? V - 3 : 1));
    ids[seq_len - 1] = t->c.eos_id;
    double t0 = now_ms();
    int rc = qt_t5_encode(t, ids, seq_len, e);
    free(ids);
    if (rc != 0)
        return -1;
    double t1 = now_ms();
    int32_t gen[64];
    int n;
    double lp;
    if (qt_t5_greedy(t, t->max_new, -1, -1, 0, gen, &n, &lp, e) != 0)
        return -1;
    if (t->stats)
        fprintf(stderr, "t5: %d encoder tokens in %.2f ms; %d tokens generated, %.3f ms/token (cache %s)\n", seq_len,
                t1 - t0, n, (now_ms() - t1) / n, t->use_cache ? "on" : "off");
    return 0;
}

static double t5_flops(qt_model *m, int seq_len)
{
    const qt_t5 *t = m->impl;
    double f = qt_t5_encoder_flops(t, seq_len);
    for (int p = 0; p < t->max_new; p++)
        f += qt_t5_decoder_step_flops(t, seq_len, p);
    return f;
}

static int t5_max_tokens(qt_model *m)
{
    return ((const qt_t5 *)m->impl)->max_enc;
}

static const qt_model_ops t5_ops = {
    .answer = qt_t5_answer,
    .free = t5_free,
    .forward_tokens = t5_forward_tokens,
    .flops = t5_flops,
    .max_tokens = t5_max_tokens,
};

qt_t5 *qt_t5_of(qt_model *m)
{
    return m && m->ops == &t5_ops ? m->impl : NULL;
}

static int load_tokenizer(qt_t5 *t, const char *dir, qt_err *e)
{
    if (qt_tokenizer_load(dir, &t->tok, e) != 0)
        return -1;
    int32_t n = qt_tokenizer_vocab_size(t->tok);
    if (n > t->c.vocab)
        return qt_fail(e, "%s: the tokenizer has %d tokens, more than the model's vocab_size %d", dir, n, t->c.vocab);
    qt_encoding enc;
    qt_encoding_init(&enc);
    if (qt_tokenizer_encode(t->tok, t->no_answer, strlen(t->no_answer), &enc, e) != 0) {
        qt_encoding_free(&enc);
        return qt_fail_prefix(e, "%s: qaterm_no_answer", dir);
    }
    t->n_na = (int)enc.n + 1;
    t->na_ids = malloc((size_t)t->n_na * sizeof *t->na_ids);
    if (t->na_ids) {
        memcpy(t->na_ids, enc.ids, enc.n * sizeof *enc.ids);
        t->na_ids[enc.n] = t->c.eos_id;
    }
    qt_encoding_free(&enc);
    t->no_answer_norm = qt_squad_normalize(t->no_answer);
    if (!t->na_ids || !t->no_answer_norm)
        return qt_fail(e, "out of memory");
    if (t->n_na > 62)
        return qt_fail(e, "%s: qaterm_no_answer is %d tokens long (62 at most)", dir, t->n_na);
    return 0;
}

qt_model *qt_t5_load(const char *dir, const cJSON *config, qt_err *e)
{
    qt_model *m = calloc(1, sizeof *m);
    qt_t5 *t = calloc(1, sizeof *t);
    if (!m || !t) {
        free(m);
        free(t);
        qt_fail(e, "out of memory");
        return NULL;
    }
    m->ops = &t5_ops;
    m->impl = t;
    const char *env = getenv("QATERM_T5_STATS");
    t->stats = env && *env && strcmp(env, "0") != 0;
    if (!(t->ck = qt_ckpt_open(dir, e)) || read_config(t, e) != 0 || load_weights(t, e) != 0 ||
        load_tokenizer(t, dir, e) != 0)
        goto fail;
    env = getenv("QATERM_T5_CACHE");
    if (env && *env)
        t->use_cache = strcmp(env, "0") != 0;
    t->max_dec = (t->max_new > t->n_na ? t->max_new : t->n_na) + 2;
    if (plan_arena(t, e) != 0)
        goto fail;
    qt_model_info_init(&m->info, dir, config, "t5");
    m->info.n_params = (long long)qt_ckpt_param_count(t->ck);
    return m;
fail:
    t5_free(m);
    return NULL;
}
