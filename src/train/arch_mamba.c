/* The Mamba span reader as a trainable architecture (arch.h), on the
 * network of src/models/mamba_train.h. Features are the engine's own input
 * (question <sep> context <sep>, mamba.h) with the context cut to fit
 * max_seq_len; a batch is split over the lead's worker pool (pool.h), each
 * worker with its own arena and gradient buffer and one BLAS thread.
 *
 * Pre-training (QT_OBJECTIVE_PRETRAIN): next-token prediction over the
 * same sequences through the tied LM head (nn/lm_head.h; MambaForCausalLM's
 * own lm_head, the word embeddings), at 15% of the positions drawn from
 * (step seed, the sequence's place in the batch) to spare the vocabulary
 * softmax: predicting a context word the question holds rewards looking it
 * up. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/mamba_train.h"
#include "nn/lm_head.h"
#include "nn/tensor.h"
#include "qa/decode.h"
#include "tok/tokenizer.h"
#include "train/arch.h"
#include "train/pool.h"
#include "train/tokenizer_build.h"
#include "util/file.h"
#include "util/sha256.h"

/* The tokenizer's specials, ids 0..2 in this order: <|endoftext|> is the
 * end of text and the separator (as in GPT-NeoX's vocabulary). */
static const char *const specials[] = {"<|endoftext|>", "<|padding|>", "[UNK]"};

/* One feature record: the header, then ids[n]. start/end are positions in
 * the sequence (the trailing separator for an unanswerable question). */
typedef struct rec_head {
    int32_t n, start, end, kind;
} rec_head;

/* A worker's own buffers (its arena, gradients and loss are in the pool). */
typedef struct worker {
    qt_mamba_train_weights grads; /* bound to the pool's buffer */
    int32_t *ids, *lens, *starts, *ends;
    float *dlogits;
    size_t cap_tokens, cap_seqs;
    /* pre-training: predicted rows, next ids, weights, scratch */
    int32_t *rows, *targets;
    float *lweights, *x_m, *logits, *dfin;
    size_t cap_rows, cap_picked;
} worker;

/* of the positions whose next token is predicted in pre-training */
#define LM_PICK_PROB 0.15f
/* a seed stream apart from the workers' dropout seeds */
#define LM_SEED_OFFSET 0x4C4D00u

typedef struct mamba_impl {
    qt_mamba_train_config cfg;
    qt_tokenizer *tok;
    char *tok_json;
    char key[QT_SHA256_HEX_LEN + 1];
    size_t n_floats;
    float *w_flat, *g_flat;
    qt_mamba_train_weights w;
    qt_mamba_train_param plist[QT_MAMBA_TRAIN_MAX_PARAMS];
    qt_param params[QT_MAMBA_TRAIN_MAX_PARAMS];
    const char *names[QT_MAMBA_TRAIN_MAX_PARAMS];
    int n_params;
    qt_pool pool;
    worker workers[QT_POOL_MAX_WORKERS];
    qt_encoding qe, ce; /* featurize's scratch */
    /* the batch being computed */
    const uint8_t *const *records;
    int batch_n;
    uint64_t seed;
    int pretrain; /* 1: the next-token objective */
} mamba_impl;

/* ---- the model's memory ---- */

/* Takes flat (the weights, or NULL for zeros) and makes the gradients. */
static int bind_params(mamba_impl *im, float *flat, qt_err *e)
{
    im->n_floats = qt_mamba_train_param_floats(&im->cfg);
    im->w_flat = flat ? flat : qt_floats_alloc(im->n_floats);
    im->g_flat = qt_floats_alloc(im->n_floats);
    if (!im->w_flat || !im->g_flat)
        return qt_fail(e, "out of memory for %zu parameters", im->n_floats);
    qt_mamba_train_bind(&im->cfg, &im->w, im->w_flat);
    im->n_params = qt_mamba_train_params(&im->cfg, im->plist);
    for (int i = 0; i < im->n_params; i++) {
        const qt_mamba_train_param *p = &im->plist[i];
        im->params[i] = (qt_param){im->w_flat + p->offset, im->g_flat + p->offset, NULL, NULL, p->numel, p->decay};
        im->names[i] = p->name;
    }
    if (qt_pool_bind(&im->pool, im->g_flat, im->n_floats, e) != 0)
        return -1;
    for (int t = 0; t < im->pool.threads; t++)
        qt_mamba_train_bind(&im->cfg, &im->workers[t].grads, im->pool.w[t].grads);
    return 0;
}

/* sha256 of the tokenizer and of everything else that shapes a record. */
static void compute_key(mamba_impl *im)
{
    qt_sha256_ctx ctx;
    qt_sha256_init(&ctx);
    char buf[160];
    int n = snprintf(buf, sizeof buf, "mamba v1 len %d question %d sep %d|", im->cfg.max_seq_len,
                     QT_QA_MAX_QUESTION_LEN, im->cfg.sep_id);
    qt_sha256_update(&ctx, buf, (size_t)n);
    qt_sha256_update(&ctx, im->tok_json, strlen(im->tok_json));
    uint8_t d[QT_SHA256_BYTES];
    qt_sha256_final(&ctx, d);
    for (int i = 0; i < QT_SHA256_BYTES; i++)
        snprintf(im->key + 2 * i, 3, "%02x", d[i]);
}

/* The specials must sit where config.json says they do. */
static int check_specials(mamba_impl *im, const char *where, qt_err *e)
{
    const int32_t want[] = {im->cfg.sep_id, im->cfg.pad_id, im->cfg.unk_id};
    for (int i = 0; i < 3; i++)
        if (qt_tokenizer_token_to_id(im->tok, specials[i]) != want[i])
            return qt_fail(e, "%s: the tokenizer has '%s' at id %d, expected %d", where, specials[i],
                           qt_tokenizer_token_to_id(im->tok, specials[i]), want[i]);
    if (qt_tokenizer_vocab_size(im->tok) > im->cfg.vocab_size)
        return qt_fail(e, "%s: the tokenizer has %d ids but vocab_size is %d", where,
                       qt_tokenizer_vocab_size(im->tok), im->cfg.vocab_size);
    return 0;
}

/* ---- create / load / save ---- */

static int model_int(const cJSON *it, long lo, long hi, int *out, qt_err *e)
{
    if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < lo ||
        it->valuedouble > hi)
        return qt_fail(e, "config $.model.%s: expected an integer in %ld..%ld", it->string, lo, hi);
    *out = (int)it->valuedouble;
    return 0;
}

static int model_num(const cJSON *it, double lo, double hi, float *out, qt_err *e)
{
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi))
        return qt_fail(e, "config $.model.%s: expected a number in %g..%g", it->string, lo, hi);
    *out = (float)it->valuedouble;
    return 0;
}

/* The "model" object of a training config. Keys (defaults in
 * qt_mamba_train_config_default): vocab_max (20000), hidden_size,
 * state_size, num_hidden_layers, expand, conv_kernel, time_step_rank
 * ("auto" or an integer), layer_norm_epsilon, dropout,
 * rescale_prenorm_residual, max_seq_len. */
static int read_model_config(const cJSON *m, qt_mamba_train_config *c, int *vocab_max, qt_err *e)
{
    int auto_rank = 1;
    for (const cJSON *it = m ? m->child : NULL; it; it = it->next) {
        const char *k = it->string;
        int rc;
        if (strcmp(k, "vocab_max") == 0)
            rc = model_int(it, 100, 1 << 22, vocab_max, e);
        else if (strcmp(k, "hidden_size") == 0)
            rc = model_int(it, 1, 1 << 14, &c->hidden_size, e);
        else if (strcmp(k, "state_size") == 0)
            rc = model_int(it, 1, 1024, &c->state_size, e);
        else if (strcmp(k, "num_hidden_layers") == 0)
            rc = model_int(it, 1, QT_MAMBA_TRAIN_MAX_LAYERS, &c->num_layers, e);
        else if (strcmp(k, "expand") == 0)
            rc = model_int(it, 1, 16, &c->expand, e);
        else if (strcmp(k, "conv_kernel") == 0)
            rc = model_int(it, 1, 64, &c->conv_kernel, e);
        else if (strcmp(k, "time_step_rank") == 0) {
            auto_rank = cJSON_IsString(it) && strcmp(it->valuestring, "auto") == 0;
            rc = auto_rank ? 0 : model_int(it, 1, 1 << 16, &c->dt_rank, e);
        } else if (strcmp(k, "layer_norm_epsilon") == 0)
            rc = model_num(it, 1e-12, 0.1, &c->eps, e);
        else if (strcmp(k, "dropout") == 0)
            rc = model_num(it, 0, 0.9, &c->dropout, e);
        else if (strcmp(k, "max_seq_len") == 0)
            rc = model_int(it, QT_QA_MAX_QUESTION_LEN + 8, 1 << 20, &c->max_seq_len, e);
        else if (strcmp(k, "rescale_prenorm_residual") == 0) {
            if (!cJSON_IsBool(it))
                return qt_fail(e, "config $.model.%s: expected true or false", k);
            c->rescale_prenorm_residual = cJSON_IsTrue(it);
            rc = 0;
        } else
            return qt_fail(e, "config $.model.%s: unknown key for --arch mamba (expected vocab_max, hidden_size, "
                              "state_size, num_hidden_layers, expand, conv_kernel, time_step_rank, "
                              "layer_norm_epsilon, dropout, rescale_prenorm_residual or max_seq_len)", k);
        if (rc)
            return -1;
    }
    if (auto_rank)
        c->dt_rank = (c->hidden_size + 15) / 16;
    return 0;
}

static int mamba_create(qt_train_arch *a, const cJSON *model_cfg, const qt_example_set *train, qt_err *e)
{
    mamba_impl *im = a->impl;
    qt_mamba_train_config_default(&im->cfg);
    int vocab_max = 20000;
    if (read_model_config(model_cfg, &im->cfg, &vocab_max, e) != 0 ||
        qt_train_build_tokenizer(train, QT_TOK_BUILD_WORDPIECE, vocab_max, specials, 3, specials[2], &im->tok_json,
                                 &im->tok, e) != 0)
        return -1;
    im->cfg.vocab_size = qt_tokenizer_vocab_size(im->tok);
    if (check_specials(im, "the built tokenizer", e) != 0 ||
        qt_mamba_train_config_check(&im->cfg, "config $.model", e) != 0)
        return -1;
    compute_key(im);
    return bind_params(im, NULL, e);
}

static int mamba_load(qt_train_arch *a, const char *dir, qt_err *e)
{
    mamba_impl *im = a->impl;
    float *flat = NULL;
    char path[4200];
    size_t len;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (qt_mamba_train_load(dir, &im->cfg, &flat, e) != 0)
        return -1;
    if (qt_read_file(path, 0, &im->tok_json, &len, e) != 0 ||
        qt_tokenizer_from_json(path, im->tok_json, len, &im->tok, e) != 0 || check_specials(im, path, e) != 0) {
        qt_floats_free(flat);
        return -1;
    }
    compute_key(im);
    return bind_params(im, flat, e);
}

static int mamba_save(qt_train_arch *a, const char *dir, qt_err *e)
{
    mamba_impl *im = a->impl;
    return qt_mamba_train_save(&im->cfg, im->w_flat, im->tok_json, specials[0], specials[1], specials[2], dir, e);
}

static const char *mamba_feature_key(qt_train_arch *a)
{
    return ((mamba_impl *)a->impl)->key;
}

static void mamba_init_weights(qt_train_arch *a, qt_rng *rng)
{
    mamba_impl *im = a->impl;
    qt_mamba_train_init_weights(&im->cfg, &im->w, rng);
}

static int mamba_params(qt_train_arch *a, qt_param **params, const char *const **names)
{
    mamba_impl *im = a->impl;
    *params = im->params;
    *names = im->names;
    return im->n_params;
}

/* ---- features ---- */

/* question <sep> context <sep> as the engine builds it (mamba_qa.c), the
 * context cut so that the whole fits max_seq_len. */
static int mamba_featurize(qt_train_arch *a, const qt_example *ex, qt_bytes *out, int *usable, int *n_tokens,
                           qt_err *e)
{
    mamba_impl *im = a->impl;
    if (qt_tokenizer_encode(im->tok, ex->question, strlen(ex->question), &im->qe, e) != 0 ||
        qt_tokenizer_encode(im->tok, ex->context, ex->context_len, &im->ce, e) != 0)
        return -1;
    int nq = im->qe.n < QT_QA_MAX_QUESTION_LEN ? (int)im->qe.n : QT_QA_MAX_QUESTION_LEN;
    int room = im->cfg.max_seq_len - nq - 2;
    int nc = (int)im->ce.n < room ? (int)im->ce.n : room;
    rec_head h = {nq + 1 + nc + 1, -1, -1, ex->kind};
    *n_tokens = h.n;
    *usable = nc > 0;
    if (ex->ans_start >= 0) {
        /* the tokens the answer's bytes touch; both must have been kept */
        int ks = -1, ke = -1;
        for (int k = 0; k < (int)im->ce.n && ks < 0; k++)
            if (im->ce.bytes[k].end > ex->ans_start)
                ks = k;
        for (int k = (int)im->ce.n - 1; k >= 0 && ke < 0; k--)
            if (im->ce.bytes[k].start < ex->ans_end)
                ke = k;
        if (ks < 0 || ke < ks || ke >= nc)
            *usable = 0;
        h.start = nq + 1 + ks;
        h.end = nq + 1 + ke;
    } else {
        h.start = h.end = h.n - 1; /* the trailing separator: the engine's null position */
    }
    if (!*usable)
        return 0;
    const int32_t sep = im->cfg.sep_id;
    if (qt_bytes_put(out, &h, sizeof h) || (nq && qt_bytes_put(out, im->qe.ids, sizeof(int32_t) * nq)) ||
        qt_bytes_put(out, &sep, sizeof sep) || qt_bytes_put(out, im->ce.ids, sizeof(int32_t) * nc) ||
        qt_bytes_put(out, &sep, sizeof sep))
        return qt_fail(e, "out of memory for features");
    return 0;
}

/* ---- one step ---- */

/* Picks the rows whose next token is predicted: about LM_PICK_PROB of each
 * sequence's positions but its last, at least one, weighted 1 / (batch *
 * picked in the sequence) so that the loss is the mean over sequences of
 * each one's mean. */
static int pick_rows(mamba_impl *im, worker *wk, int first, int count, size_t n, int *M)
{
    const qt_mamba_train_config *c = &im->cfg;
    if (n > wk->cap_rows) {
        if (qt_pool_grow(&wk->rows, n * 4) || qt_pool_grow(&wk->targets, n * 4) ||
            qt_pool_grow(&wk->lweights, n * 4) || qt_pool_grow(&wk->dfin, n * (size_t)c->hidden_size * 4))
            return -1;
        wk->cap_rows = n;
    }
    int m = 0;
    size_t o = 0;
    for (int s = 0; s < count; s++) {
        int len = wk->lens[s], k0 = m;
        qt_rng rng;
        qt_rng_seed(&rng, qt_pool_worker_seed(im->seed, (int)LM_SEED_OFFSET + first + s));
        for (int t = 0; t + 1 < len; t++)
            if (qt_rng_uniform(&rng) < LM_PICK_PROB)
                wk->rows[m++] = (int32_t)(o + (size_t)t);
        if (m == k0 && len >= 2)
            wk->rows[m++] = (int32_t)(o + qt_rng_below(&rng, (uint32_t)(len - 1)));
        for (int j = k0; j < m; j++) {
            wk->targets[j] = wk->ids[wk->rows[j] + 1];
            wk->lweights[j] = 1.0f / ((float)im->batch_n * (float)(m - k0));
        }
        o += (size_t)len;
    }
    if ((size_t)m > wk->cap_picked) {
        if (qt_pool_grow(&wk->x_m, 2 * (size_t)m * c->hidden_size * 4) ||
            qt_pool_grow(&wk->logits, (size_t)m * c->vocab_size * 4))
            return -1;
        wk->cap_picked = (size_t)m;
    }
    *M = m;
    return 0;
}

static int worker_step(void *ctx, int t, int first, int count, qt_err *e)
{
    mamba_impl *im = ctx;
    qt_pool_worker *pw = qt_pool_worker_start(&im->pool, t);
    worker *wk = &im->workers[t];
    const qt_mamba_train_config *c = &im->cfg;
    if (count == 0)
        return 0;
    size_t n = 0;
    int max_len = 1;
    for (int s = 0; s < count; s++) {
        const rec_head *h = (const rec_head *)im->records[first + s];
        n += (size_t)h->n;
        max_len = h->n > max_len ? h->n : max_len;
    }
    if ((n > wk->cap_tokens &&
         (qt_pool_grow(&wk->ids, n * sizeof(int32_t)) || qt_pool_grow(&wk->dlogits, 2 * n * sizeof(float)))) ||
        ((size_t)count > wk->cap_seqs &&
         (qt_pool_grow(&wk->lens, (size_t)count * 4) || qt_pool_grow(&wk->starts, (size_t)count * 4) ||
          qt_pool_grow(&wk->ends, (size_t)count * 4))))
        return qt_fail(e, "out of memory for a batch");
    wk->cap_tokens = n > wk->cap_tokens ? n : wk->cap_tokens;
    wk->cap_seqs = (size_t)count > wk->cap_seqs ? (size_t)count : wk->cap_seqs;
    size_t o = 0;
    for (int s = 0; s < count; s++) {
        const rec_head *h = (const rec_head *)im->records[first + s];
        memcpy(wk->ids + o, h + 1, sizeof(int32_t) * (size_t)h->n);
        o += (size_t)h->n;
        wk->lens[s] = h->n;
        wk->starts[s] = h->start;
        wk->ends[s] = h->end;
    }
    pw->tokens = (long)n;
    size_t need = qt_mamba_train_arena_bytes(c, (int)n, max_len);
    if (need > pw->arena.cap) {
        /* sized at once for the longest batch this slice can hold: growing
         * step by step would fault fresh pages in again each time */
        size_t most = (size_t)count * (size_t)c->max_seq_len;
        size_t bytes = qt_mamba_train_arena_bytes(c, (int)(most > n ? most : n),
                                                  max_len > c->max_seq_len ? max_len : c->max_seq_len);
        qt_arena_free(&pw->arena);
        if (qt_arena_init(&pw->arena, bytes > need ? bytes : need, e) != 0)
            return -1;
    }
    qt_arena_reset(&pw->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, qt_pool_worker_seed(im->seed, t));
    qt_mamba_train_batch b = {count, wk->ids, wk->lens};
    qt_mamba_train_acts acts;
    if (qt_mamba_train_forward(c, &im->w, &b, 1, &rng, &pw->arena, &acts, e) != 0)
        return -1;
    if (im->pretrain) {
        int M;
        if (pick_rows(im, wk, first, count, n, &M) != 0)
            return qt_fail(e, "out of memory for a batch");
        memset(wk->dfin, 0, n * c->hidden_size * sizeof(float));
        double loss = qt_tied_lm_loss(acts.fin, im->w.embed, c->hidden_size, c->vocab_size, wk->rows, wk->targets,
                                      wk->lweights, M, wk->x_m, wk->logits, wk->dfin, wk->grads.embed);
        if (!isfinite(loss))
            return qt_fail(e, "next-token loss is not finite (%g)", loss);
        pw->loss = loss * im->batch_n; /* the pool divides the sum by the batch */
        return qt_mamba_train_backward_fin(c, &im->w, &b, &acts, wk->dfin, &wk->grads, &pw->arena, e);
    }
    memset(wk->dlogits, 0, 2 * n * sizeof(float));
    /* the batch's loss is the mean over all workers: weight this slice by its share */
    double loss = qt_mamba_train_loss(&b, &acts, wk->starts, wk->ends, (float)count / (float)im->batch_n,
                                      wk->dlogits);
    if (!isfinite(loss))
        return qt_fail(e, "loss is not finite (%g)", loss);
    pw->loss = loss * count;
    return qt_mamba_train_backward(c, &im->w, &b, &acts, wk->dlogits, &wk->grads, &pw->arena, e);
}

static int mamba_step(qt_train_arch *a, qt_train_objective objective, const uint8_t *const *records, int n,
                      uint64_t seed, double *loss, long *tokens, qt_err *e)
{
    mamba_impl *im = a->impl;
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

static void mamba_destroy(qt_train_arch *a)
{
    mamba_impl *im = a->impl;
    if (!im)
        return;
    qt_pool_free(&im->pool);
    for (int t = 0; t < QT_POOL_MAX_WORKERS; t++) {
        worker *wk = &im->workers[t];
        free(wk->ids), free(wk->lens), free(wk->starts), free(wk->ends), free(wk->dlogits);
        free(wk->rows), free(wk->targets), free(wk->lweights), free(wk->x_m), free(wk->logits), free(wk->dfin);
    }
    qt_floats_free(im->w_flat);
    qt_floats_free(im->g_flat);
    qt_tokenizer_free(im->tok);
    free(im->tok_json);
    qt_encoding_free(&im->qe);
    qt_encoding_free(&im->ce);
    free(im);
    a->impl = NULL;
}

int qt_train_arch_mamba(qt_train_arch *a, int threads, qt_err *e)
{
    memset(a, 0, sizeof *a);
    mamba_impl *im = calloc(1, sizeof *im);
    if (!im)
        return qt_fail(e, "out of memory");
    qt_pool_init(&im->pool, threads);
    qt_encoding_init(&im->qe);
    qt_encoding_init(&im->ce);
    a->name = "mamba";
    a->impl = im;
    a->create = mamba_create;
    a->load = mamba_load;
    a->feature_key = mamba_feature_key;
    a->featurize = mamba_featurize;
    a->init_weights = mamba_init_weights;
    a->params = mamba_params;
    a->step = mamba_step;
    a->has_pretrain = 1;
    a->save = mamba_save;
    a->destroy = mamba_destroy;
    return 0;
}
