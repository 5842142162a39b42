/* T5ForConditionalGeneration as a trainable architecture (arch.h), on the
 * network of src/models/t5_train.h, trained to write the answer the way
 * the engine (src/models/t5_qa.c) reads it.
 *
 * Features: one record per example, the engine's first window exactly:
 * qaterm_prompt ("question: {question} context: {context}") tokenized
 * whole, cut by the tokens' byte offsets into before / context / after,
 * the context tokens cut so that before + context + after + </s> fits
 * qaterm_max_input_tokens. The target is the answer's text as it stands in
 * the context, tokenized alone, + </s>; for an unanswerable example the
 * no-answer string's tokens (qaterm_no_answer) + </s>. Unusable: an answer
 * that ends past the kept context tokens, a target longer than
 * qaterm_max_new_tokens (the engine could never finish it), a question
 * that leaves the context fewer than 8 tokens (the engine refuses it).
 *
 * "model" keys of the training config: the T5Config ones (d_model, d_kv,
 * d_ff, num_heads, num_layers, num_decoder_layers,
 * relative_attention_num_buckets, relative_attention_max_distance,
 * dropout_rate, layer_norm_epsilon; feed_forward_proj must be "relu" and
 * tie_word_embeddings true), vocab_max (16000: the Unigram tokenizer's
 * size at most), and qaterm_prompt, qaterm_no_answer ("unanswerable"),
 * qaterm_max_input_tokens (320), qaterm_doc_stride (128),
 * qaterm_max_new_tokens (32), written as they are into config.json.
 *
 * Loss: the token mean of the targets' cross-entropy over the whole batch
 * (every worker's gradient is scaled by 1 / the batch's target tokens). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/t5_train.h"
#include "nn/tensor.h"
#include "train/arch.h"
#include "train/pool.h"
#include "train/tokenizer_build.h"
#include "util/file.h"
#include "util/json.h"
#include "util/sha256.h"

#define DEFAULT_PROMPT "question: {question} context: {context}"
#define DEFAULT_NO_ANSWER "unanswerable"
#define MIN_CONTEXT_TOKENS 8 /* the engine refuses a window with less room */

static const char *const specials[] = {"<pad>", "</s>", "<unk>"};

/* One feature record: the header, the encoder ids (</s> included), the
 * target ids (</s> included). */
typedef struct rec_head {
    int32_t n_enc, n_tgt, kind;
    int32_t q_start, q_len;     /* the question's tokens in the encoder input */
    int32_t ctx_start, ctx_len; /* the context's (as kept) */
    int32_t pad;
} rec_head;

/* Pre-training ("look up and copy", QT_OBJECTIVE_PRETRAIN): the question's
 * tokens are replaced by PRE_CUE context tokens and the target is the 1 to
 * PRE_MAX_SPAN tokens that follow them in the context, + </s>: finding the
 * cue in the context and copying on is what an extractive answer needs,
 * and what a decoder trained from scratch is slowest to learn. */
#define PRE_CUE 3
#define PRE_MAX_SPAN 4
#define PRE_SEED_OFFSET 0x435059u

/* A pre-training sequence: target context[span_start, + span_len). */
typedef struct pre_pick {
    int32_t span_start, span_len;
} pre_pick;

/* A worker's own buffers (its arena, gradients and loss are in the pool;
 * its loss there is the sum over its target tokens). */
typedef struct worker {
    qt_t5t_weights grads; /* bound to the pool's buffer */
    int32_t *enc_ids, *enc_len, *dec_ids, *targets;
    size_t cap_e, cap_d, cap_b;
} worker;

typedef struct t5_impl {
    qt_t5t_config cfg;
    char *prompt, *no_answer;
    int max_input, doc_stride, max_new;
    char *tok_json;
    qt_tokenizer *tok;
    int32_t *na_ids; /* the no-answer string's tokens + </s> */
    int n_na;
    char key[QT_SHA256_HEX_LEN + 1];
    size_t n_floats;
    float *w_flat, *g_flat;
    qt_t5t_weights w;
    qt_t5t_param plist[QT_T5T_MAX_PARAMS];
    qt_param params[QT_T5T_MAX_PARAMS];
    const char *names[QT_T5T_MAX_PARAMS];
    int n_params;
    qt_pool pool;
    worker workers[QT_POOL_MAX_WORKERS];
    qt_encoding enc, ans; /* featurize's scratch */
    /* the batch being computed */
    const uint8_t *const *records;
    int batch_targets;
    uint64_t seed;
    pre_pick *picks; /* pre-training: one per record of the batch, else NULL */
    pre_pick *pick_buf;
    size_t cap_picks;
} t5_impl;

/* ---- the model's memory ---- */

static int bind_params(t5_impl *im, qt_err *e)
{
    im->n_floats = qt_t5t_param_floats(&im->cfg);
    im->w_flat = qt_floats_alloc(im->n_floats);
    im->g_flat = qt_floats_alloc(im->n_floats);
    if (!im->w_flat || !im->g_flat)
        return qt_fail(e, "out of memory for %zu parameters", im->n_floats);
    qt_t5t_bind(&im->cfg, &im->w, im->w_flat);
    im->n_params = qt_t5t_params(&im->cfg, im->plist);
    for (int i = 0; i < im->n_params; i++) {
        const qt_t5t_param *p = &im->plist[i];
        im->params[i] = (qt_param){im->w_flat + p->offset, im->g_flat + p->offset, NULL, NULL, p->numel, p->decay};
        im->names[i] = p->name;
    }
    if (qt_pool_bind(&im->pool, im->g_flat, im->n_floats, e) != 0)
        return -1;
    for (int t = 0; t < im->pool.threads; t++)
        qt_t5t_bind(&im->cfg, &im->workers[t].grads, im->pool.w[t].grads);
    return 0;
}

/* sha256 of the tokenizer and everything else that shapes a record. */
static void compute_key(t5_impl *im)
{
    qt_sha256_ctx ctx;
    qt_sha256_init(&ctx);
    char buf[160];
    int n = snprintf(buf, sizeof buf, "t5 v2|%d|%d|%d|%d|%d|", im->max_input, im->max_new, im->cfg.eos_id,
                     im->cfg.pad_id, im->cfg.start_id);
    qt_sha256_update(&ctx, buf, (size_t)n);
    qt_sha256_update(&ctx, im->prompt, strlen(im->prompt) + 1);
    qt_sha256_update(&ctx, im->no_answer, strlen(im->no_answer) + 1);
    qt_sha256_update(&ctx, im->tok_json, strlen(im->tok_json));
    uint8_t d[QT_SHA256_BYTES];
    qt_sha256_final(&ctx, d);
    for (int i = 0; i < QT_SHA256_BYTES; i++)
        snprintf(im->key + 2 * i, 3, "%02x", d[i]);
}

/* The specials where the config says, and the no-answer string's tokens. */
static int check_tokenizer(t5_impl *im, const char *name, qt_err *e)
{
    const int32_t want[2] = {im->cfg.pad_id, im->cfg.eos_id};
    for (int i = 0; i < 2; i++)
        if (qt_tokenizer_token_to_id(im->tok, specials[i]) != want[i])
            return qt_fail(e, "%s: token \"%s\" has id %d, the config says %d", name, specials[i],
                           qt_tokenizer_token_to_id(im->tok, specials[i]), want[i]);
    if (qt_tokenizer_vocab_size(im->tok) > im->cfg.vocab)
        return qt_fail(e, "%s: %d tokens, more than vocab_size %d", name, qt_tokenizer_vocab_size(im->tok),
                       im->cfg.vocab);
    if (qt_tokenizer_encode(im->tok, im->no_answer, strlen(im->no_answer), &im->ans, e) != 0)
        return qt_fail_prefix(e, "%s: qaterm_no_answer", name);
    im->n_na = (int)im->ans.n + 1;
    if (im->n_na > im->max_new)
        return qt_fail(e, "%s: qaterm_no_answer is %d tokens with </s>, more than qaterm_max_new_tokens %d", name,
                       im->n_na, im->max_new);
    if (!(im->na_ids = malloc((size_t)im->n_na * sizeof *im->na_ids)))
        return qt_fail(e, "out of memory");
    memcpy(im->na_ids, im->ans.ids, im->ans.n * sizeof *im->na_ids);
    im->na_ids[im->ans.n] = im->cfg.eos_id;
    return 0;
}

/* ---- create / load / save ---- */

static int set_str(char **dst, const char *s, qt_err *e)
{
    free(*dst);
    *dst = strdup(s);
    return *dst ? 0 : qt_fail(e, "out of memory");
}

/* The qaterm_* keys of obj (a training config's "model" or a config.json). */
static int read_qa_keys(t5_impl *im, const cJSON *obj, const char *name, const char *jpath, qt_err *e)
{
    struct {
        const char *key;
        int *out, lo, hi;
    } ints[] = {{"qaterm_max_input_tokens", &im->max_input, 16, 8192},
                {"qaterm_doc_stride", &im->doc_stride, 0, 8192},
                {"qaterm_max_new_tokens", &im->max_new, 1, 64}};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        e->msg[0] = 0;
        const cJSON *v = qt_json_opt(obj, ints[i].key, cJSON_Number, name, jpath, e);
        if (!v && e->msg[0])
            return -1;
        if (v && (v->valuedouble != floor(v->valuedouble) || v->valuedouble < ints[i].lo ||
                  v->valuedouble > ints[i].hi))
            return qt_fail(e, "%s: at %s.%s: expected an integer in %d..%d, got %g", name, jpath, ints[i].key,
                           ints[i].lo, ints[i].hi, v->valuedouble);
        if (v)
            *ints[i].out = (int)v->valuedouble;
    }
    const char *strs[] = {"qaterm_prompt", "qaterm_no_answer"};
    char **outs[] = {&im->prompt, &im->no_answer};
    for (int i = 0; i < 2; i++) {
        e->msg[0] = 0;
        const cJSON *v = qt_json_opt(obj, strs[i], cJSON_String, name, jpath, e);
        if (!v && e->msg[0])
            return -1;
        if (v && set_str(outs[i], v->valuestring, e) != 0)
            return -1;
    }
    const char *mark = strstr(im->prompt, "{context}");
    if (!mark || strstr(mark + 1, "{context}"))
        return qt_fail(e, "%s: at %s.qaterm_prompt: expected exactly one {context} in \"%.80s\"", name, jpath,
                       im->prompt);
    return 0;
}

static int t5_create(qt_train_arch *a, const cJSON *model_cfg, const qt_example_set *train, qt_err *e)
{
    t5_impl *im = a->impl;
    static const char *const known[] = {
        "vocab_max", "d_model", "d_kv", "d_ff", "num_heads", "num_layers", "num_decoder_layers",
        "relative_attention_num_buckets", "relative_attention_max_distance", "dropout_rate", "layer_norm_epsilon",
        "feed_forward_proj", "tie_word_embeddings", "qaterm_prompt", "qaterm_no_answer", "qaterm_max_input_tokens",
        "qaterm_doc_stride", "qaterm_max_new_tokens"};
    int vocab_max = 16000;
    cJSON *empty = model_cfg ? NULL : cJSON_CreateObject();
    if (!model_cfg && !(model_cfg = empty))
        return qt_fail(e, "out of memory");
    for (const cJSON *it = model_cfg ? model_cfg->child : NULL; it; it = it->next) {
        size_t k = 0;
        while (k < sizeof known / sizeof *known && strcmp(it->string, known[k]) != 0)
            k++;
        if (k == sizeof known / sizeof *known)
            return qt_fail(e, "config $.model.%s: unknown key for --arch t5 (expected vocab_max, the T5Config keys "
                              "d_model, d_kv, d_ff, num_heads, num_layers, num_decoder_layers, "
                              "relative_attention_num_buckets, relative_attention_max_distance, dropout_rate, "
                              "layer_norm_epsilon, or qaterm_prompt, qaterm_no_answer, qaterm_max_input_tokens, "
                              "qaterm_doc_stride, qaterm_max_new_tokens)", it->string);
        if (k == 0) {
            if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 64 ||
                it->valuedouble > (1 << 22))
                return qt_fail(e, "config $.model.vocab_max: expected an integer in 64..%d", 1 << 22);
            vocab_max = (int)it->valuedouble;
        }
    }
    int rc = qt_t5t_config_from_json(model_cfg, "config $.model", &im->cfg, e) ||
             read_qa_keys(im, model_cfg, "config", "$.model", e);
    cJSON_Delete(empty);
    if (rc)
        return -1;
    im->cfg.vocab = 4; /* checked again once the tokenizer is built */
    if (qt_t5t_config_check(&im->cfg, "config $.model", e) != 0)
        return -1;
    if (qt_train_build_tokenizer(train, QT_TOK_BUILD_UNIGRAM, vocab_max, specials, 3, specials[2], &im->tok_json,
                                 &im->tok, e) != 0)
        return -1;
    im->cfg.vocab = qt_tokenizer_vocab_size(im->tok);
    if (qt_t5t_config_check(&im->cfg, "the built tokenizer", e) != 0 ||
        check_tokenizer(im, "the built tokenizer", e) != 0)
        return -1;
    compute_key(im);
    return bind_params(im, e);
}

static int t5_load(qt_train_arch *a, const char *dir, qt_err *e)
{
    t5_impl *im = a->impl;
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", dir);
    cJSON *j = qt_json_load_file(path, e);
    if (!j)
        return -1;
    im->cfg.vocab = 0;
    int rc = qt_t5t_config_from_json(j, path, &im->cfg, e) || read_qa_keys(im, j, path, "$", e) ||
             qt_t5t_config_check(&im->cfg, path, e);
    cJSON_Delete(j);
    if (rc)
        return -1;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (qt_read_file(path, 0, &im->tok_json, &len, e) != 0 ||
        qt_tokenizer_from_json(path, im->tok_json, len, &im->tok, e) != 0 || check_tokenizer(im, path, e) != 0 ||
        bind_params(im, e) != 0 || qt_t5t_load_weights(&im->cfg, im->w_flat, dir, e) != 0)
        return -1;
    compute_key(im);
    return 0;
}

static int t5_save(qt_train_arch *a, const char *dir, qt_err *e)
{
    t5_impl *im = a->impl;
    char path[4200];
    cJSON *cfg = qt_t5t_config_to_json(&im->cfg);
    if (cfg) {
        cJSON_AddStringToObject(cfg, "qaterm_prompt", im->prompt);
        cJSON_AddStringToObject(cfg, "qaterm_no_answer", im->no_answer);
        cJSON_AddNumberToObject(cfg, "qaterm_max_input_tokens", im->max_input);
        cJSON_AddNumberToObject(cfg, "qaterm_doc_stride", im->doc_stride);
        cJSON_AddNumberToObject(cfg, "qaterm_max_new_tokens", im->max_new);
    }
    if (qt_json_save(dir, "config.json", cfg, e) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (qt_t5t_save_weights(&im->cfg, im->w_flat, path, e) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (qt_write_file_atomic(path, im->tok_json, strlen(im->tok_json), e) != 0)
        return -1;
    /* what transformers' T5TokenizerFast and generate() read beside it */
    cJSON *st = cJSON_CreateObject();
    if (st) {
        cJSON_AddStringToObject(st, "pad_token", specials[0]);
        cJSON_AddStringToObject(st, "eos_token", specials[1]);
        cJSON_AddStringToObject(st, "unk_token", specials[2]);
    }
    cJSON *tc = st ? cJSON_Duplicate(st, 1) : NULL;
    if (tc) {
        cJSON_AddStringToObject(tc, "tokenizer_class", "T5Tokenizer");
        cJSON_AddNumberToObject(tc, "extra_ids", 0);
        cJSON_AddNumberToObject(tc, "model_max_length", im->max_input);
    }
    cJSON *gc = cJSON_CreateObject();
    if (gc) {
        cJSON_AddNumberToObject(gc, "decoder_start_token_id", im->cfg.start_id);
        cJSON_AddNumberToObject(gc, "eos_token_id", im->cfg.eos_id);
        cJSON_AddNumberToObject(gc, "pad_token_id", im->cfg.pad_id);
    }
    int rc = qt_json_save(dir, "special_tokens_map.json", st, e);
    rc = rc ? (cJSON_Delete(tc), -1) : qt_json_save(dir, "tokenizer_config.json", tc, e);
    rc = rc ? (cJSON_Delete(gc), -1) : qt_json_save(dir, "generation_config.json", gc, e);
    return rc;
}

static const char *t5_feature_key(qt_train_arch *a)
{
    return ((t5_impl *)a->impl)->key;
}

static void t5_init_weights(qt_train_arch *a, qt_rng *rng)
{
    t5_impl *im = a->impl;
    qt_t5t_init_weights(&im->cfg, &im->w, rng);
}

static int t5_params(qt_train_arch *a, qt_param **params, const char *const **names)
{
    t5_impl *im = a->impl;
    *params = im->params;
    *names = im->names;
    return im->n_params;
}

/* ---- features ---- */

/* tmpl's len bytes with {question} replaced (as t5_qa.c fills the prompt). */
static char *fill(const char *tmpl, size_t len, const char *question)
{
    size_t qlen = strlen(question), n = 0;
    for (const char *p = tmpl; (p = memmem(p, len - (size_t)(p - tmpl), "{question}", 10)); p += 10)
        n++;
    char *out = malloc(len + n * qlen + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < len;) {
        if (len - i >= 10 && memcmp(tmpl + i, "{question}", 10) == 0) {
            memcpy(out + o, question, qlen);
            o += qlen;
            i += 10;
        } else {
            out[o++] = tmpl[i++];
        }
    }
    if (out)
        out[o] = 0;
    return out;
}

static int t5_featurize(qt_train_arch *a, const qt_example *ex, qt_bytes *out, int *usable, int *n_tokens,
                        qt_err *e)
{
    t5_impl *im = a->impl;
    *usable = 0;
    *n_tokens = 0;
    const char *mark = strstr(im->prompt, "{context}");
    char *before = fill(im->prompt, (size_t)(mark - im->prompt), ex->question);
    char *after = fill(mark + 9, strlen(mark + 9), ex->question);
    size_t lb = before ? strlen(before) : 0, lc = ex->context_len, la = after ? strlen(after) : 0;
    char *text = before && after ? malloc(lb + lc + la + 1) : NULL;
    int rc = -1;
    if (!text) {
        qt_fail(e, "out of memory");
        goto done;
    }
    memcpy(text, before, lb);
    memcpy(text + lb, ex->context, lc);
    memcpy(text + lb + lc, after, la + 1);
    qt_encoding *enc = &im->enc;
    if (qt_tokenizer_encode(im->tok, text, lb + lc + la, enc, e) != 0) {
        qt_fail_prefix(e, "T5 features");
        goto done;
    }
    /* tokens that end before the context / start after it (t5_qa.c) */
    int n = (int)enc->n, ca = 0, cb;
    while (ca < n && enc->bytes[ca].end <= (int32_t)lb)
        ca++;
    cb = ca;
    while (cb < n && enc->bytes[cb].start < (int32_t)(lb + lc))
        cb++;
    /* the question's tokens, when the prompt puts it before the context */
    int qa = 0, qb = 0;
    const char *qmark = strstr(im->prompt, "{question}");
    if (qmark && qmark < mark) {
        int32_t q0 = (int32_t)(qmark - im->prompt), q1 = q0 + (int32_t)strlen(ex->question);
        while (qa < ca && enc->bytes[qa].end <= q0)
            qa++;
        qb = qa;
        while (qb < ca && enc->bytes[qb].start < q1)
            qb++;
    }
    int nc = cb - ca, budget = im->max_input - (ca + (n - cb) + 1);
    rc = 0;
    if (budget < MIN_CONTEXT_TOKENS)
        goto done;
    int kept = nc < budget ? nc : budget;
    const int32_t *tgt = im->na_ids;
    int n_tgt = im->n_na;
    if (ex->ans_start >= 0) {
        if (ex->ans_end <= ex->ans_start ||
            (kept < nc && (long)enc->bytes[ca + kept - 1].end < (long)lb + ex->ans_end))
            goto done; /* the answer is past the cut */
        if (qt_tokenizer_encode(im->tok, ex->context + ex->ans_start, (size_t)(ex->ans_end - ex->ans_start), &im->ans,
                                e) != 0) {
            rc = qt_fail_prefix(e, "T5 features: the answer");
            goto done;
        }
        if (im->ans.n == 0 || (int)im->ans.n + 1 > im->max_new)
            goto done;
        tgt = im->ans.ids;
        n_tgt = (int)im->ans.n + 1;
    }
    rec_head h = {ca + kept + (n - cb) + 1, n_tgt, ex->kind, qa, qb - qa, ca, kept, 0};
    int32_t eos = im->cfg.eos_id;
    rc = qt_bytes_put(out, &h, sizeof h) || qt_bytes_put(out, enc->ids, (size_t)(ca + kept) * 4) ||
         qt_bytes_put(out, enc->ids + cb, (size_t)(n - cb) * 4) || qt_bytes_put(out, &eos, 4);
    if (ex->ans_start >= 0)
        rc = rc || qt_bytes_put(out, tgt, (size_t)(n_tgt - 1) * 4) || qt_bytes_put(out, &eos, 4);
    else
        rc = rc || qt_bytes_put(out, tgt, (size_t)n_tgt * 4);
    if (rc) {
        rc = qt_fail(e, "out of memory for features");
        goto done;
    }
    *usable = 1;
    /* bucketing by the encoder length alone: with the target's length
     * added, the cut windows of unanswerable examples (all max_input +
     * the no-answer string) would tie and fill whole batches */
    *n_tokens = h.n_enc;
done:
    free(before);
    free(after);
    free(text);
    return rc;
}

/* ---- one step ---- */

/* A record's encoder input length in this step: in pre-training the
 * PRE_CUE cue tokens stand in the question's place. */
static int step_enc_len(const t5_impl *im, const rec_head *h)
{
    return im->picks ? h->n_enc - h->q_len + PRE_CUE : h->n_enc;
}

/* The target length of record i of the batch: in pre-training its picked
 * span + </s>. */
static int step_tgt_len(const t5_impl *im, const rec_head *h, int i)
{
    return im->picks ? im->picks[i].span_len + 1 : h->n_tgt;
}

static int worker_step(void *ctx, int t, int first, int count, qt_err *e)
{
    t5_impl *im = ctx;
    qt_pool_worker *pw = qt_pool_worker_start(&im->pool, t);
    worker *wk = &im->workers[t];
    const qt_t5t_config *c = &im->cfg;
    int B = count;
    if (B == 0)
        return 0;
    int Te = 1, Td = 1;
    for (int b = 0; b < B; b++) {
        const rec_head *h = (const rec_head *)im->records[first + b];
        int ne = step_enc_len(im, h), nt = step_tgt_len(im, h, first + b);
        Te = ne > Te ? ne : Te;
        Td = nt > Td ? nt : Td;
    }
    size_t ne = (size_t)B * Te, nd = (size_t)B * Td;
    if ((ne > wk->cap_e && qt_pool_grow(&wk->enc_ids, ne * 4)) ||
        (nd > wk->cap_d && (qt_pool_grow(&wk->dec_ids, nd * 4) || qt_pool_grow(&wk->targets, nd * 4))) ||
        ((size_t)B > wk->cap_b && qt_pool_grow(&wk->enc_len, (size_t)B * 4)))
        return qt_fail(e, "out of memory for a batch");
    wk->cap_e = ne > wk->cap_e ? ne : wk->cap_e;
    wk->cap_d = nd > wk->cap_d ? nd : wk->cap_d;
    wk->cap_b = (size_t)B > wk->cap_b ? (size_t)B : wk->cap_b;
    for (int b = 0; b < B; b++) {
        const rec_head *h = (const rec_head *)im->records[first + b];
        const int32_t *enc = (const int32_t *)(h + 1), *tgt = enc + h->n_enc;
        int32_t *ei = wk->enc_ids + (size_t)b * Te, *di = wk->dec_ids + (size_t)b * Td,
                *ti = wk->targets + (size_t)b * Td;
        int n_enc = step_enc_len(im, h), n_tgt = step_tgt_len(im, h, first + b);
        int32_t span[PRE_MAX_SPAN + 1];
        if (im->picks) { /* look up and copy: the cue in the question's place */
            const pre_pick *pk = &im->picks[first + b];
            const int32_t *cue = enc + pk->span_start - PRE_CUE;
            int k = 0;
            for (int i = 0; i < h->q_start; i++)
                ei[k++] = enc[i];
            for (int i = 0; i < PRE_CUE; i++)
                ei[k++] = cue[i];
            for (int i = h->q_start + h->q_len; i < h->n_enc; i++)
                ei[k++] = enc[i];
            for (int i = 0; i < pk->span_len; i++)
                span[i] = enc[pk->span_start + i];
            span[pk->span_len] = c->eos_id;
            tgt = span;
        } else {
            for (int i = 0; i < h->n_enc; i++)
                ei[i] = enc[i];
        }
        for (int i = n_enc; i < Te; i++)
            ei[i] = c->pad_id;
        /* teacher forcing: the decoder reads the start token, then the target shifted right */
        for (int i = 0; i < Td; i++) {
            di[i] = i == 0 ? c->start_id : i < n_tgt ? tgt[i - 1] : c->pad_id;
            ti[i] = i < n_tgt ? tgt[i] : -1;
        }
        wk->enc_len[b] = n_enc;
        pw->tokens += n_enc + n_tgt;
    }
    qt_t5t_batch batch = {B, Te, Td, wk->enc_ids, wk->enc_len, wk->dec_ids, wk->targets};
    size_t need = qt_t5t_work_bytes(c, B, Te, Td, 1);
    if (need > pw->arena.cap) {
        /* with room to spare (fresh pages fault in on first use), up to
         * what the longest batch of this size can need */
        size_t most = qt_t5t_work_bytes(c, B, im->max_input, im->max_new, 1), size = need + need / 2;
        size = size < most ? size : most;
        size = size > need ? size : need;
        qt_arena_free(&pw->arena);
        if (qt_arena_init(&pw->arena, size, e) != 0)
            return -1;
    }
    qt_arena_reset(&pw->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, qt_pool_worker_seed(im->seed, t));
    qt_t5t_acts acts;
    if (qt_t5t_forward(c, &im->w, &batch, 1, &rng, &pw->arena, &acts, e) != 0)
        return -1;
    int counted;
    /* the batch's loss is a mean over all its target tokens, across workers */
    double sum = qt_t5t_loss(c, &batch, &acts, 1.0f / (float)im->batch_targets, &counted);
    if (!isfinite(sum))
        return qt_fail(e, "loss is not finite (%g)", sum);
    pw->loss = sum;
    return qt_t5t_backward(c, &im->w, &batch, &acts, &wk->grads, &pw->arena, e);
}

/* The step over the batch as im->picks says (NULL: the QA objective). */
static int run_step(t5_impl *im, const uint8_t *const *records, int n, uint64_t seed, double *loss, long *tokens,
                    qt_err *e)
{
    im->records = records;
    im->seed = seed;
    im->batch_targets = 0;
    for (int i = 0; i < n; i++)
        im->batch_targets += step_tgt_len(im, (const rec_head *)records[i], i);
    if (im->batch_targets < 1)
        return qt_fail(e, "T5: a batch without target tokens");
    double total;
    if (qt_pool_step(&im->pool, n, worker_step, im, &total, tokens, e) != 0)
        return -1;
    *loss = total / im->batch_targets;
    return 0;
}

/* Draws each record's span (from the step seed and its place in the batch,
 * whatever the threads): PRE_CUE cue tokens and 1 to PRE_MAX_SPAN tokens
 * after them, all inside the kept context (at least MIN_CONTEXT_TOKENS),
 * into im->pick_buf. */
static int draw_picks(t5_impl *im, const uint8_t *const *records, int n, uint64_t seed, qt_err *e)
{
    if ((size_t)n > im->cap_picks) {
        if (qt_pool_grow(&im->pick_buf, (size_t)n * sizeof *im->pick_buf))
            return qt_fail(e, "out of memory for a batch");
        im->cap_picks = (size_t)n;
    }
    for (int i = 0; i < n; i++) {
        const rec_head *h = (const rec_head *)records[i];
        qt_rng rng;
        qt_rng_seed(&rng, qt_pool_worker_seed(seed, (int)PRE_SEED_OFFSET + i));
        int room = h->ctx_len - PRE_CUE;
        if (room < 1) { /* a context of a few tokens: its last one, the cue reaching into the prompt */
            int at = h->ctx_start + h->ctx_len - 1;
            at = at < PRE_CUE ? PRE_CUE : at;
            im->pick_buf[i] = (pre_pick){at, at < h->n_enc - 1 ? 1 : 0};
            continue;
        }
        int len = 1 + (int)qt_rng_below(&rng, PRE_MAX_SPAN);
        len = len < room ? len : room;
        int at = PRE_CUE + (int)qt_rng_below(&rng, (uint32_t)(room - len + 1));
        im->pick_buf[i] = (pre_pick){h->ctx_start + at, len};
    }
    return 0;
}

static int t5_step(qt_train_arch *a, qt_train_objective objective, const uint8_t *const *records, int n,
                   uint64_t seed, double *loss, long *tokens, qt_err *e)
{
    t5_impl *im = a->impl;
    if (objective == QT_OBJECTIVE_PRETRAIN && draw_picks(im, records, n, seed, e) != 0)
        return -1;
    im->picks = objective == QT_OBJECTIVE_PRETRAIN ? im->pick_buf : NULL;
    return run_step(im, records, n, seed, loss, tokens, e);
}

static void t5_destroy(qt_train_arch *a)
{
    t5_impl *im = a->impl;
    if (!im)
        return;
    qt_pool_free(&im->pool);
    for (int t = 0; t < QT_POOL_MAX_WORKERS; t++) {
        worker *wk = &im->workers[t];
        free(wk->enc_ids), free(wk->enc_len), free(wk->dec_ids), free(wk->targets);
    }
    free(im->pick_buf);
    qt_floats_free(im->w_flat);
    qt_floats_free(im->g_flat);
    qt_tokenizer_free(im->tok);
    qt_encoding_free(&im->enc);
    qt_encoding_free(&im->ans);
    free(im->tok_json);
    free(im->na_ids);
    free(im->prompt);
    free(im->no_answer);
    free(im);
    a->impl = NULL;
}

int qt_train_arch_t5(qt_train_arch *a, int threads, qt_err *e)
{
    memset(a, 0, sizeof *a);
    t5_impl *im = calloc(1, sizeof *im);
    if (!im)
        return qt_fail(e, "out of memory");
    qt_pool_init(&im->pool, threads);
    qt_t5t_config_default(&im->cfg);
    im->max_input = 320;
    im->doc_stride = 128;
    im->max_new = 32;
    qt_encoding_init(&im->enc);
    qt_encoding_init(&im->ans);
    a->name = "t5";
    a->impl = im;
    a->create = t5_create;
    a->load = t5_load;
    a->feature_key = t5_feature_key;
    a->featurize = t5_featurize;
    a->init_weights = t5_init_weights;
    a->params = t5_params;
    a->step = t5_step;
    a->has_pretrain = 1;
    a->save = t5_save;
    a->destroy = t5_destroy;
    if (set_str(&im->prompt, DEFAULT_PROMPT, e) != 0 || set_str(&im->no_answer, DEFAULT_NO_ANSWER, e) != 0) {
        t5_destroy(a);
        return -1;
    }
    return 0;
}
