/* BertForQuestionAnswering as a trainable architecture (arch.h), on the
 * network of src/models/bert_train.h.
 *
 * Tokenizer: a lower-cased WordPiece built from the training examples
 * (specials [PAD] [UNK] [CLS] [SEP] [MASK] as ids 0-4). A feature record is
 * one window exactly as the engine (src/models/bert.c) lays out its first
 * window: [CLS] question [SEP] context [SEP], the question cut to its first
 * 64 tokens and the context to what is left of min(384,
 * max_position_embeddings) positions, planned by the same
 * qt_qa_plan_windows. The answer's byte span becomes context tokens through
 * the tokenizer's byte offsets; an answer that does not fit the window makes
 * the example unusable. A batch is split over workers (train/pool.h), each
 * with its own arena, gradient buffer and dropout generator.
 *
 * Pre-training (QT_OBJECTIVE_PRETRAIN): the same windows with 15% of their
 * words masked and the masked-LM loss of bert_train_mlm.c, a sequence's
 * masks drawn from (step seed, its place in the batch), whatever the
 * threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/bert_train.h"
#include "nn/lm_head.h"
#include "nn/tensor.h"
#include "qa/decode.h"
#include "tok/tokenizer.h"
#include "train/arch.h"
#include "train/pool.h"
#include "train/tokenizer_build.h"
#include "util/file.h"
#include "util/sha256.h"

/* One feature record: the header, then len token ids. */
typedef struct rec_head {
    int32_t len;   /* positions, specials included */
    int32_t n_q;   /* question tokens kept */
    int32_t start; /* answer positions in the sequence; -1 when unanswerable */
    int32_t end;
    int32_t kind;
} rec_head;

/* A worker's own buffers (its arena, gradients and loss are in the pool). */
typedef struct worker {
    qt_bert_train_weights grads; /* bound to the pool's buffer */
    int32_t *ids, *types, *lens, *starts, *ends;
    float *dstart, *dend;
    size_t cap_tok, cap_b;
    /* pre-training: masked rows, their targets and weights, scratch */
    int32_t *rows, *targets;
    float *mweights, *x_m, *logits, *dx_top;
    size_t cap_rows, cap_hid, cap_masked;
} worker;

typedef struct bert_impl {
    qt_bert_train_config cfg;
    qt_tokenizer *tok;
    char *tok_json; /* tokenizer.json as built or loaded, saved verbatim */
    int32_t cls_id, sep_id, mask_id;
    char key[QT_SHA256_HEX_LEN + 1];
    size_t n_floats;
    float *w_flat, *g_flat;
    qt_bert_train_weights w;
    qt_bert_train_param *plist;
    qt_param *params;
    const char **names;
    int n_params;
    qt_pool pool;
    worker workers[QT_POOL_MAX_WORKERS];
    qt_encoding qe, ce;
    /* the batch being computed */
    const uint8_t *const *records;
    int batch_n;
    uint64_t seed;
    int pretrain; /* 1: the masked-LM objective */
} bert_impl;

/* of the words masked for pre-training */
#define MLM_MASK_PROB 0.15f
/* a seed stream apart from the workers' dropout seeds */
#define MLM_SEED_OFFSET 0x4D4C4Du

static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

/* Positions per window: the engine's min(384, max_position_embeddings). */
static int window_len(const qt_bert_train_config *c)
{
    return c->max_position_embeddings < QT_QA_MAX_SEQ_LEN ? c->max_position_embeddings : QT_QA_MAX_SEQ_LEN;
}

/* ---- the model's memory ---- */

static int bind_params(bert_impl *im, qt_err *e)
{
    im->n_floats = qt_bert_train_param_floats(&im->cfg);
    im->n_params = qt_bert_train_param_count(&im->cfg);
    im->w_flat = qt_floats_alloc(im->n_floats);
    im->g_flat = qt_floats_alloc(im->n_floats);
    im->plist = calloc((size_t)im->n_params, sizeof *im->plist);
    im->params = calloc((size_t)im->n_params, sizeof *im->params);
    im->names = calloc((size_t)im->n_params, sizeof *im->names);
    if (!im->n_floats || !im->w_flat || !im->g_flat || !im->plist || !im->params || !im->names)
        return qt_fail(e, "out of memory for %zu parameters", im->n_floats);
    qt_bert_train_bind(&im->cfg, &im->w, im->w_flat);
    qt_bert_train_params(&im->cfg, im->plist);
    for (int i = 0; i < im->n_params; i++) {
        const qt_bert_train_param *p = &im->plist[i];
        im->params[i] = (qt_param){im->w_flat + p->offset, im->g_flat + p->offset, NULL, NULL, p->numel, p->decay};
        im->names[i] = p->name;
    }
    if (qt_pool_bind(&im->pool, im->g_flat, im->n_floats, e) != 0)
        return -1;
    for (int t = 0; t < im->pool.threads; t++)
        qt_bert_train_bind(&im->cfg, &im->workers[t].grads, im->pool.w[t].grads);
    return 0;
}

/* sha256 of the tokenizer and everything that shapes a window. */
static void compute_key(bert_impl *im)
{
    qt_sha256_ctx ctx;
    qt_sha256_init(&ctx);
    char buf[256];
    int n = snprintf(buf, sizeof buf, "bert v1 window %d question %d cls %d sep %d pad %d|",
                     window_len(&im->cfg), QT_QA_MAX_QUESTION_LEN, im->cls_id, im->sep_id, im->cfg.pad_token_id);
    qt_sha256_update(&ctx, buf, (size_t)n);
    qt_sha256_update(&ctx, im->tok_json, strlen(im->tok_json));
    uint8_t d[QT_SHA256_BYTES];
    qt_sha256_final(&ctx, d);
    for (int i = 0; i < QT_SHA256_BYTES; i++)
        snprintf(im->key + 2 * i, 3, "%02x", d[i]);
}

static int find_specials(bert_impl *im, const char *what, qt_err *e)
{
    im->cls_id = qt_tokenizer_token_to_id(im->tok, "[CLS]");
    im->sep_id = qt_tokenizer_token_to_id(im->tok, "[SEP]");
    im->mask_id = qt_tokenizer_token_to_id(im->tok, "[MASK]");
    int32_t pad = qt_tokenizer_token_to_id(im->tok, "[PAD]");
    if (im->cls_id < 0 || im->sep_id < 0 || pad < 0 || im->mask_id < 0)
        return qt_fail(e, "%s: the tokenizer lacks [CLS], [SEP], [PAD] or [MASK]", what);
    if (pad != im->cfg.pad_token_id)
        return qt_fail(e, "%s: [PAD] is id %d but pad_token_id is %d", what, pad, im->cfg.pad_token_id);
    if (qt_tokenizer_vocab_size(im->tok) > im->cfg.vocab_size)
        return qt_fail(e, "%s: the tokenizer has %d tokens but vocab_size is %d", what,
                       qt_tokenizer_vocab_size(im->tok), im->cfg.vocab_size);
    return 0;
}

/* ---- create / load / save ---- */

/* The "model" object: BertConfig sizes, max_seq_len (the window, which is
 * also max_position_embeddings), dropout (both kinds) or the two HF
 * dropout keys, vocab_max (the tokenizer's size limit). */
static int read_model_config(const cJSON *m, qt_bert_train_config *c, int *vocab_max, qt_err *e)
{
    static const char *const where = "config $.model";
    int dropout_set = 0;
    float dropout = 0;
    for (const cJSON *it = m ? m->child : NULL; it; it = it->next) {
        const char *k = it->string;
        if (!cJSON_IsNumber(it))
            return qt_fail(e, "%s.%s: expected a number", where, k);
        double v = it->valuedouble;
        int is_int = v == floor(v) && fabs(v) < 1e9;
        int *slot = strcmp(k, "vocab_max") == 0                 ? vocab_max
                    : strcmp(k, "hidden_size") == 0             ? &c->hidden_size
                    : strcmp(k, "num_hidden_layers") == 0       ? &c->num_layers
                    : strcmp(k, "num_attention_heads") == 0     ? &c->num_heads
                    : strcmp(k, "intermediate_size") == 0       ? &c->intermediate_size
                    : strcmp(k, "max_seq_len") == 0             ? &c->max_position_embeddings
                    : strcmp(k, "max_position_embeddings") == 0 ? &c->max_position_embeddings
                                                                : NULL;
        if (slot) {
            if (!is_int)
                return qt_fail(e, "%s.%s: expected an integer", where, k);
            *slot = (int)v;
        } else if (strcmp(k, "dropout") == 0) {
            dropout = (float)v, dropout_set = 1;
        } else if (strcmp(k, "hidden_dropout_prob") == 0) {
            c->hidden_dropout = (float)v;
        } else if (strcmp(k, "attention_probs_dropout_prob") == 0) {
            c->attention_dropout = (float)v;
        } else if (strcmp(k, "layer_norm_eps") == 0) {
            c->layer_norm_eps = (float)v;
        } else {
            return qt_fail(e, "%s.%s: unknown key (expected vocab_max, hidden_size, num_hidden_layers, "
                              "num_attention_heads, intermediate_size, max_seq_len, dropout, "
                              "hidden_dropout_prob, attention_probs_dropout_prob, layer_norm_eps)",
                           where, k);
        }
    }
    if (dropout_set) { /* "dropout" sets both unless they are given too */
        if (!cJSON_GetObjectItemCaseSensitive(m, "hidden_dropout_prob"))
            c->hidden_dropout = dropout;
        if (!cJSON_GetObjectItemCaseSensitive(m, "attention_probs_dropout_prob"))
            c->attention_dropout = dropout;
    }
    if (*vocab_max < 16 || *vocab_max > (1 << 22))
        return qt_fail(e, "%s.vocab_max: %d is outside [16, %d]", where, *vocab_max, 1 << 22);
    c->vocab_size = 5; /* checked for real once the tokenizer is built */
    if (qt_bert_train_config_check(c, "config $.model", e) != 0)
        return -1;
    /* the engine cuts a long context into windows overlapping by
     * min(128, window / 2) tokens; with a full-length question the context
     * part of a window must be larger than that overlap */
    int win = window_len(c), overlap = win / 2 < QT_QA_DOC_STRIDE ? win / 2 : QT_QA_DOC_STRIDE;
    if (win - 3 - QT_QA_MAX_QUESTION_LEN <= overlap)
        return qt_fail(e, "%s.max_seq_len: %d leaves no room for a %d-token question and a window overlap of %d "
                          "(at least 135 needed)",
                       where, win, QT_QA_MAX_QUESTION_LEN, overlap);
    return 0;
}

static int bert_create(qt_train_arch *a, const cJSON *model_cfg, const qt_example_set *train, qt_err *e)
{
    bert_impl *im = a->impl;
    qt_bert_train_config_default(&im->cfg);
    int vocab_max = 20000;
    if (read_model_config(model_cfg, &im->cfg, &vocab_max, e) != 0)
        return -1;
    if (qt_train_build_tokenizer(train, QT_TOK_BUILD_WORDPIECE, vocab_max, specials, 5, "[UNK]", &im->tok_json,
                                 &im->tok, e) != 0)
        return -1;
    im->cfg.vocab_size = qt_tokenizer_vocab_size(im->tok);
    im->cfg.pad_token_id = 0;
    if (qt_bert_train_config_check(&im->cfg, "config $.model", e) != 0 ||
        find_specials(im, "the built tokenizer", e) != 0)
        return -1;
    compute_key(im);
    return bind_params(im, e);
}

static int bert_load(qt_train_arch *a, const char *dir, qt_err *e)
{
    bert_impl *im = a->impl;
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (qt_bert_train_load_config(dir, &im->cfg, e) != 0 || qt_read_file(path, 0, &im->tok_json, &len, e) != 0 ||
        qt_tokenizer_from_json(path, im->tok_json, len, &im->tok, e) != 0 || find_specials(im, path, e) != 0 ||
        bind_params(im, e) != 0 || qt_bert_train_load_weights(&im->cfg, dir, im->w_flat, e) != 0)
        return -1;
    compute_key(im);
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text, qt_err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return qt_write_file_atomic(path, text, strlen(text), e);
}

/* vocab.txt, one token per id (BertTokenizer's slow format). */
static int write_vocab(const bert_impl *im, const char *dir, qt_err *e)
{
    qt_bytes b = {0};
    for (int32_t i = 0; i < im->cfg.vocab_size; i++) {
        const char *t = qt_tokenizer_id_to_token(im->tok, i);
        char unused[32];
        if (!t) { /* a hole in the ids: keep the line numbers = ids */
            snprintf(unused, sizeof unused, "[unused%d]", i);
            t = unused;
        }
        if (qt_bytes_put(&b, t, strlen(t)) || qt_bytes_put(&b, "\n", 1)) {
            qt_bytes_free(&b);
            return qt_fail(e, "out of memory");
        }
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    int rc = qt_write_file_atomic(path, b.p, b.n, e);
    qt_bytes_free(&b);
    return rc;
}

static int bert_save(qt_train_arch *a, const char *dir, qt_err *e)
{
    bert_impl *im = a->impl;
    char tok_cfg[512];
    snprintf(tok_cfg, sizeof tok_cfg,
             "{\n  \"tokenizer_class\": \"BertTokenizer\",\n  \"do_lower_case\": true,\n"
             "  \"tokenize_chinese_chars\": true,\n  \"strip_accents\": null,\n  \"model_max_length\": %d,\n"
             "  \"unk_token\": \"[UNK]\",\n  \"sep_token\": \"[SEP]\",\n  \"pad_token\": \"[PAD]\",\n"
             "  \"cls_token\": \"[CLS]\",\n  \"mask_token\": \"[MASK]\"\n}\n",
             im->cfg.max_position_embeddings);
    static const char special_map[] = "{\n  \"unk_token\": \"[UNK]\",\n  \"sep_token\": \"[SEP]\",\n"
                                      "  \"pad_token\": \"[PAD]\",\n  \"cls_token\": \"[CLS]\",\n"
                                      "  \"mask_token\": \"[MASK]\"\n}\n";
    if (qt_bert_train_save(&im->cfg, im->w_flat, dir, e) != 0 || write_text(dir, "tokenizer.json", im->tok_json, e) ||
        write_vocab(im, dir, e) != 0 || write_text(dir, "tokenizer_config.json", tok_cfg, e) != 0 ||
        write_text(dir, "special_tokens_map.json", special_map, e) != 0)
        return -1;
    return 0;
}

static const char *bert_feature_key(qt_train_arch *a)
{
    return ((bert_impl *)a->impl)->key;
}

static void bert_init_weights(qt_train_arch *a, qt_rng *rng)
{
    bert_impl *im = a->impl;
    qt_bert_train_init(&im->cfg, &im->w, rng);
}

static int bert_params(qt_train_arch *a, qt_param **params, const char *const **names)
{
    bert_impl *im = a->impl;
    *params = im->params;
    *names = im->names;
    return im->n_params;
}

/* ---- features ---- */

static int bert_featurize(qt_train_arch *a, const qt_example *ex, qt_bytes *out, int *usable, int *n_tokens,
                          qt_err *e)
{
    bert_impl *im = a->impl;
    *usable = 0;
    *n_tokens = 0;
    const char *q = ex->question;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '\f' || *q == '\v')
        q++; /* as the engine: question.lstrip() */
    if (qt_tokenizer_encode(im->tok, q, strlen(q), &im->qe, e) != 0 ||
        qt_tokenizer_encode(im->tok, ex->context, ex->context_len, &im->ce, e) != 0)
        return -1;
    if (im->qe.n == 0) /* the engine refuses such a question */
        return 0;
    qt_qa_window_opts wo;
    qt_qa_window_opts_default(&wo, &qt_qa_layout_bert);
    wo.max_seq_len = window_len(&im->cfg);
    if (wo.doc_stride > wo.max_seq_len / 2)
        wo.doc_stride = wo.max_seq_len / 2;
    qt_qa_plan plan = {0};
    qt_err ignored;
    if (qt_qa_plan_windows((int)im->qe.n, (int)im->ce.n, &wo, &plan, &ignored) != 0)
        return 0; /* the question leaves no room for context */
    const int n_q = plan.n_question, ctx_end = plan.windows[0].ctx_end;
    qt_qa_plan_free(&plan);
    rec_head h = {n_q + ctx_end + 3, n_q, -1, -1, ex->kind};
    if (ex->ans_start >= 0) {
        /* the tokens the answer's bytes touch; all must be in the window */
        int s = -1, en = -1, nc = (int)im->ce.n;
        for (int k = 0; k < nc && s < 0; k++)
            if (im->ce.bytes[k].end > ex->ans_start)
                s = k;
        for (int k = nc - 1; k >= 0 && en < 0; k--)
            if (im->ce.bytes[k].start < ex->ans_end)
                en = k;
        if (s < 0 || en < s || en >= ctx_end)
            return 0;
        h.start = n_q + 2 + s;
        h.end = n_q + 2 + en;
    }
    *n_tokens = h.len;
    int32_t *ids = malloc((size_t)h.len * sizeof *ids);
    if (!ids)
        return qt_fail(e, "out of memory");
    int n = 0;
    ids[n++] = im->cls_id;
    for (int i = 0; i < n_q; i++)
        ids[n++] = im->qe.ids[i];
    ids[n++] = im->sep_id;
    for (int i = 0; i < ctx_end; i++)
        ids[n++] = im->ce.ids[i];
    ids[n++] = im->sep_id;
    int rc = qt_bytes_put(out, &h, sizeof h) || qt_bytes_put(out, ids, (size_t)n * sizeof *ids);
    free(ids);
    if (rc)
        return qt_fail(e, "out of memory for features");
    *usable = 1;
    return 0;
}

/* ---- one step ---- */

static int worker_buffers(worker *wk, int B, int T)
{
    size_t nt = (size_t)B * T;
    if (nt > wk->cap_tok) {
        if (qt_pool_grow(&wk->ids, nt * 4) || qt_pool_grow(&wk->types, nt * 4) ||
            qt_pool_grow(&wk->dstart, nt * 4) || qt_pool_grow(&wk->dend, nt * 4))
            return -1;
        wk->cap_tok = nt;
    }
    if ((size_t)B > wk->cap_b) {
        if (qt_pool_grow(&wk->lens, (size_t)B * 4) || qt_pool_grow(&wk->starts, (size_t)B * 4) ||
            qt_pool_grow(&wk->ends, (size_t)B * 4))
            return -1;
        wk->cap_b = (size_t)B;
    }
    return 0;
}

/* Masks the batch's windows for pre-training: rows (b * T + position),
 * original ids and weights 1 / (batch * masked in the sequence), so that the
 * loss is the mean over sequences of each one's mean over its masks. */
static int mask_batch(bert_impl *im, worker *wk, int first, int B, int T, int *M)
{
    const qt_bert_train_config *c = &im->cfg;
    size_t most = (size_t)B * T, hid = (size_t)B * T * c->hidden_size;
    if (most > wk->cap_rows) {
        if (qt_pool_grow(&wk->rows, most * 4) || qt_pool_grow(&wk->targets, most * 4) ||
            qt_pool_grow(&wk->mweights, most * 4))
            return -1;
        wk->cap_rows = most;
    }
    if (hid > wk->cap_hid) {
        if (qt_pool_grow(&wk->dx_top, hid * 4))
            return -1;
        wk->cap_hid = hid;
    }
    const qt_bert_mlm_ids sp = {im->cls_id, im->sep_id, c->pad_token_id, im->mask_id,
                                (int32_t)(sizeof specials / sizeof specials[0]), c->vocab_size};
    int n = 0;
    for (int b = 0; b < B; b++) {
        qt_rng rng;
        qt_rng_seed(&rng, qt_pool_worker_seed(im->seed, (int)MLM_SEED_OFFSET + first + b));
        int32_t *row = wk->ids + (size_t)b * T;
        int k = qt_bert_mlm_mask(row, wk->lens[b], &sp, MLM_MASK_PROB, &rng, wk->rows + n, wk->targets + n);
        for (int m = n; m < n + k; m++) {
            wk->rows[m] += b * T;
            wk->mweights[m] = 1.0f / ((float)im->batch_n * (float)k);
        }
        n += k;
    }
    if ((size_t)n > wk->cap_masked) { /* about 15% of the tokens: sized to what is used */
        if (qt_pool_grow(&wk->x_m, 2 * (size_t)n * c->hidden_size * 4) ||
            qt_pool_grow(&wk->logits, (size_t)n * c->vocab_size * 4))
            return -1;
        wk->cap_masked = (size_t)n;
    }
    *M = n;
    return 0;
}

static int worker_step(void *ctx, int t, int first, int count, qt_err *e)
{
    bert_impl *im = ctx;
    qt_pool_worker *pw = qt_pool_worker_start(&im->pool, t);
    worker *wk = &im->workers[t];
    const qt_bert_train_config *c = &im->cfg;
    if (count == 0)
        return 0;
    int B = count, T = 1;
    for (int b = 0; b < B; b++) {
        const rec_head *h = (const rec_head *)im->records[first + b];
        T = h->len > T ? h->len : T;
    }
    if (T > c->max_position_embeddings)
        return qt_fail(e, "a feature record of %d tokens is longer than the %d positions", T,
                       c->max_position_embeddings);
    if (worker_buffers(wk, B, T) != 0)
        return qt_fail(e, "out of memory for a batch");
    for (int b = 0; b < B; b++) {
        const uint8_t *r = im->records[first + b];
        const rec_head *h = (const rec_head *)r;
        const int32_t *ids = (const int32_t *)(r + sizeof *h);
        int32_t *row = wk->ids + (size_t)b * T, *types = wk->types + (size_t)b * T;
        for (int i = 0; i < T; i++) {
            row[i] = i < h->len ? ids[i] : c->pad_token_id;
            types[i] = i < h->len && i >= h->n_q + 2; /* the context and its [SEP] */
        }
        wk->lens[b] = h->len;
        wk->starts[b] = h->start;
        wk->ends[b] = h->end;
        pw->tokens += h->len;
    }
    int M = 0;
    if (im->pretrain && mask_batch(im, wk, first, B, T, &M) != 0)
        return qt_fail(e, "out of memory for a batch");
    qt_bert_train_batch batch = {B, T, wk->ids, wk->types, wk->lens};
    size_t need = qt_bert_train_forward_bytes(c, B, T) + qt_bert_train_backward_bytes(c, B, T);
    if (need > pw->arena.cap) {
        /* sized for the longest window at once: regrowing as longer batches
         * come would fault in fresh pages again and again */
        int most = c->max_position_embeddings;
        need = qt_bert_train_forward_bytes(c, B + 1, most) + qt_bert_train_backward_bytes(c, B + 1, most);
        qt_arena_free(&pw->arena);
        if (qt_arena_init(&pw->arena, need, e) != 0)
            return -1;
    }
    qt_arena_reset(&pw->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, qt_pool_worker_seed(im->seed, t));
    qt_bert_train_acts acts;
    if (qt_bert_train_forward(c, &im->w, &batch, 1, &rng, &pw->arena, &acts, e) != 0)
        return -1;
    if (im->pretrain) {
        const float *x_top = qt_bert_train_top(c, &acts);
        memset(wk->dx_top, 0, (size_t)B * T * c->hidden_size * sizeof(float));
        double loss = qt_tied_lm_loss(x_top, im->w.word, c->hidden_size, c->vocab_size, wk->rows, wk->targets,
                                      wk->mweights, M, wk->x_m, wk->logits, wk->dx_top, wk->grads.word);
        if (!isfinite(loss))
            return qt_fail(e, "masked-LM loss is not finite (%g)", loss);
        pw->loss = loss * im->batch_n; /* the pool divides the sum by the batch */
        return qt_bert_train_backward_hidden(c, &im->w, &batch, &acts, wk->dx_top, &wk->grads, &pw->arena, e);
    }
    /* the loss is a mean over this worker's slice: weight it by its share */
    double loss = qt_bert_train_loss(&acts, wk->lens, wk->starts, wk->ends, (double)B / im->batch_n, wk->dstart,
                                     wk->dend);
    if (!isfinite(loss))
        return qt_fail(e, "loss is not finite (%g)", loss);
    pw->loss = loss * B;
    return qt_bert_train_backward(c, &im->w, &batch, &acts, wk->dstart, wk->dend, &wk->grads, &pw->arena, e);
}

static int bert_step(qt_train_arch *a, qt_train_objective objective, const uint8_t *const *records, int n,
                     uint64_t seed, double *loss, long *tokens, qt_err *e)
{
    bert_impl *im = a->impl;
    im->records = records;
    im->batch_n = n;
    im->seed = seed;
    im->pretrain = objective == QT_OBJECTIVE_PRETRAIN;
    double total;
    if (qt_pool_step(&im->pool, n, worker_step, im, &total, tokens, e) != 0)
        return -1;
    *loss = total / n;
    return 0;
}

static void bert_destroy(qt_train_arch *a)
{
    bert_impl *im = a->impl;
    if (!im)
        return;
    qt_pool_free(&im->pool);
    for (int t = 0; t < QT_POOL_MAX_WORKERS; t++) {
        worker *wk = &im->workers[t];
        free(wk->ids), free(wk->types), free(wk->lens), free(wk->starts), free(wk->ends);
        free(wk->dstart), free(wk->dend);
        free(wk->rows), free(wk->targets), free(wk->mweights), free(wk->x_m), free(wk->logits), free(wk->dx_top);
    }
    qt_floats_free(im->w_flat);
    qt_floats_free(im->g_flat);
    free(im->plist);
    free(im->params);
    free(im->names);
    qt_tokenizer_free(im->tok);
    free(im->tok_json);
    qt_encoding_free(&im->qe);
    qt_encoding_free(&im->ce);
    free(im);
    a->impl = NULL;
}

int qt_train_arch_bert(qt_train_arch *a, int threads, qt_err *e)
{
    memset(a, 0, sizeof *a);
    bert_impl *im = calloc(1, sizeof *im);
    if (!im)
        return qt_fail(e, "out of memory");
    qt_pool_init(&im->pool, threads);
    qt_encoding_init(&im->qe);
    qt_encoding_init(&im->ce);
    a->name = "bert";
    a->impl = im;
    a->create = bert_create;
    a->load = bert_load;
    a->feature_key = bert_feature_key;
    a->featurize = bert_featurize;
    a->init_weights = bert_init_weights;
    a->params = bert_params;
    a->step = bert_step;
    a->has_pretrain = 1;
    a->save = bert_save;
    a->destroy = bert_destroy;
    return 0;
}
