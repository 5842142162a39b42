/* The BiLSTM reader as a trainable architecture (arch.h), on the network of
 * src/models/bilstm.h. A batch is split over `threads` workers, each with
 * its own arena and gradient buffer and one BLAS thread; the gradients are
 * summed in worker order, so a step's result does not depend on timing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/bilstm.h"
#include "models/checkpoint.h"
#include "nn/safetensors.h"
#include "nn/tensor.h"
#include "train/arch.h"
#include "train/pool.h"
#include "util/file.h"
#include "util/json.h"
#include "util/sha256.h"

/* One feature record: a header, then the ids, then the exact-match bits
 * (and the char ids when the character CNN is on). */
typedef struct rec_head {
    int32_t n_c, n_q, start, end, kind;
} rec_head;

/* A worker's own buffers (its arena, gradients and loss are in the pool). */
typedef struct worker {
    qt_bilstm_weights grads; /* bound to the pool's buffer */
    int first, count;  /* its slice of the batch */
    /* batch buffers */
    int32_t *c_ids, *q_ids, *c_chars, *q_chars, *c_lens, *q_lens, *starts, *ends;
    float *c_em, *q_em, *dstart, *dend, *dnull;
    size_t cap_c, cap_q, cap_b;
    qt_err err;
} worker;

typedef struct lstm_impl {
    qt_bilstm_config cfg;
    cJSON *cfg_json; /* what config.json gets (the model's fields, model_type) */
    qt_word_vocab *vocab;
    char key[QT_SHA256_HEX_LEN + 1];
    size_t n_floats;
    float *w_flat, *g_flat;
    qt_bilstm_weights w;
    qt_bilstm_param plist[QT_BILSTM_MAX_PARAMS];
    qt_param params[QT_BILSTM_MAX_PARAMS];
    const char *names[QT_BILSTM_MAX_PARAMS];
    int n_params;
    qt_bilstm_features feat;
    qt_pool pool;
    worker workers[QT_POOL_MAX_WORKERS];
    /* the batch being computed */
    const uint8_t *const *records;
    int batch_n;
    uint64_t seed;
} lstm_impl;

int qt_bytes_put(qt_bytes *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}

void qt_bytes_free(qt_bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- the model's memory ---- */

static int bind_params(lstm_impl *im, qt_err *e)
{
    im->n_floats = qt_bilstm_param_floats(&im->cfg);
    im->w_flat = qt_floats_alloc(im->n_floats);
    im->g_flat = qt_floats_alloc(im->n_floats);
    if (!im->w_flat || !im->g_flat)
        return qt_fail(e, "out of memory for %zu parameters", im->n_floats);
    qt_bilstm_weights_bind(&im->cfg, &im->w, im->w_flat);
    im->n_params = qt_bilstm_params(&im->cfg, &im->w, im->plist);
    for (int i = 0; i < im->n_params; i++) {
        size_t off = (size_t)(*im->plist[i].slot - im->w_flat);
        im->params[i] = (qt_param){im->w_flat + off, im->g_flat + off, NULL, NULL, im->plist[i].numel,
                                   im->plist[i].decay};
        im->names[i] = im->plist[i].name;
    }
    if (qt_pool_bind(&im->pool, im->g_flat, im->n_floats, e) != 0)
        return -1;
    for (int t = 0; t < im->pool.threads; t++)
        qt_bilstm_weights_bind(&im->cfg, &im->workers[t].grads, im->pool.w[t].grads);
    return 0;
}

/* sha256 of the vocabulary and the fields that shape the features. */
static void compute_key(lstm_impl *im)
{
    qt_sha256_ctx ctx;
    qt_sha256_init(&ctx);
    char buf[256];
    const qt_bilstm_config *c = &im->cfg;
    int n = snprintf(buf, sizeof buf, "lstm v1 %d %d %d %d %d %d %d", c->vocab_size, c->lowercase,
                     c->use_exact_match, c->char_vocab_size, c->max_word_chars, c->max_context_words,
                     c->max_question_words);
    qt_sha256_update(&ctx, buf, (size_t)n);
    for (int32_t i = 0; i < qt_word_vocab_size(im->vocab); i++) {
        const char *w = qt_word_vocab_word(im->vocab, i);
        qt_sha256_update(&ctx, w, strlen(w) + 1);
    }
    uint8_t d[QT_SHA256_BYTES];
    qt_sha256_final(&ctx, d);
    for (int i = 0; i < QT_SHA256_BYTES; i++)
        snprintf(im->key + 2 * i, 3, "%02x", d[i]);
}

/* ---- vocabulary from the training text ---- */

typedef struct wcount {
    char *word;
    long count;
} wcount;

typedef struct counter {
    wcount *slots;
    size_t cap, n;
} counter;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static int counter_add(counter *c, const char *w, size_t n)
{
    if (2 * (c->n + 1) > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1 << 16;
        wcount *s = calloc(cap, sizeof *s);
        if (!s)
            return -1;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slots[i].word)
                continue;
            size_t k = hash_bytes(c->slots[i].word, strlen(c->slots[i].word)) & (cap - 1);
            while (s[k].word)
                k = (k + 1) & (cap - 1);
            s[k] = c->slots[i];
        }
        free(c->slots);
        c->slots = s;
        c->cap = cap;
    }
    size_t k = hash_bytes(w, n) & (c->cap - 1);
    while (c->slots[k].word) {
        if (strlen(c->slots[k].word) == n && memcmp(c->slots[k].word, w, n) == 0) {
            c->slots[k].count++;
            return 0;
        }
        k = (k + 1) & (c->cap - 1);
    }
    if (!(c->slots[k].word = strndup(w, n)))
        return -1;
    c->slots[k].count = 1;
    c->n++;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const wcount *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

static int count_text(counter *cnt, const qt_bilstm_config *c, const char *text, size_t len, qt_words *words,
                      char **buf, size_t *cap, qt_err *e)
{
    if (qt_words_split(text, len, words, e) != 0)
        return -1;
    for (size_t i = 0; i < words->n; i++) {
        size_t n = words->v[i].byte_end - words->v[i].byte_start;
        if (qt_words_lower_cap(n) > *cap) {
            *cap = 2 * qt_words_lower_cap(n);
            free(*buf);
            if (!(*buf = malloc(*cap)))
                return qt_fail(e, "out of memory");
        }
        size_t k = qt_bilstm_word_key(c, text + words->v[i].byte_start, n, *buf);
        if (counter_add(cnt, *buf, k) < 0)
            return qt_fail(e, "out of memory while counting words");
    }
    return 0;
}

/* The most frequent words of the training questions and contexts (each
 * context counted once), ties broken by byte order: deterministic. */
static int build_vocab(lstm_impl *im, const qt_example_set *train, int max_words, int min_count, qt_err *e)
{
    counter cnt = {0};
    qt_words words;
    qt_words_init(&words);
    char *buf = NULL;
    size_t cap = 0;
    const char *last_ctx = NULL;
    int rc = 0;
    for (int i = 0; i < train->n && rc == 0; i++) {
        const qt_example *ex = &train->ex[i];
        rc = count_text(&cnt, &im->cfg, ex->question, strlen(ex->question), &words, &buf, &cap, e);
        if (rc == 0 && ex->context != last_ctx && ex->kind == QT_EX_ANSWERABLE) {
            rc = count_text(&cnt, &im->cfg, ex->context, ex->context_len, &words, &buf, &cap, e);
            last_ctx = ex->context;
        }
    }
    free(buf);
    qt_words_free(&words);
    wcount *list = NULL;
    if (rc == 0 && !(list = malloc((cnt.n + 1) * sizeof *list)))
        rc = qt_fail(e, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < cnt.cap && rc == 0; i++)
        if (cnt.slots[i].word)
            list[n++] = cnt.slots[i];
    if (rc == 0) {
        qsort(list, n, sizeof *list, by_count);
        if (!(im->vocab = qt_word_vocab_new()))
            rc = qt_fail(e, "out of memory");
        for (size_t i = 0; rc == 0 && i < n && qt_word_vocab_size(im->vocab) < max_words; i++)
            if (list[i].count >= min_count)
                qt_word_vocab_add(im->vocab, list[i].word, strlen(list[i].word));
    }
    free(list);
    for (size_t i = 0; i < cnt.cap; i++)
        free(cnt.slots[i].word);
    free(cnt.slots);
    return rc;
}

/* ---- create / load / save ---- */

static int lstm_create(qt_train_arch *a, const cJSON *model_cfg, const qt_example_set *train, qt_err *e)
{
    lstm_impl *im = a->impl;
    qt_bilstm_config def;
    qt_bilstm_config_default(&def);
    def.dropout = 0.2f;
    cJSON *j = qt_bilstm_config_to_json(&def);
    if (!j)
        return qt_fail(e, "out of memory");
    int max_words = 50000, min_count = 1;
    for (const cJSON *it = model_cfg ? model_cfg->child : NULL; it; it = it->next) {
        if (strcmp(it->string, "vocab_max") == 0 && cJSON_IsNumber(it)) {
            max_words = it->valueint;
            continue;
        }
        if (strcmp(it->string, "min_count") == 0 && cJSON_IsNumber(it)) {
            min_count = it->valueint;
            continue;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(j, it->string);
        cJSON_AddItemToObject(j, it->string, cJSON_Duplicate(it, 1));
    }
    im->cfg_json = j;
    if (qt_bilstm_config_from_json(j, "config $.model", &im->cfg, e) != 0)
        return -1;
    if (build_vocab(im, train, max_words, min_count, e) != 0)
        return -1;
    im->cfg.vocab_size = qt_word_vocab_size(im->vocab);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "vocab_size", cJSON_CreateNumber(im->cfg.vocab_size));
    compute_key(im);
    return bind_params(im, e);
}

static int lstm_load(qt_train_arch *a, const char *dir, qt_err *e)
{
    lstm_impl *im = a->impl;
    qt_ckpt *ck = qt_ckpt_open(dir, e);
    if (!ck)
        return -1;
    int rc = -1;
    char vocab_path[4200];
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", dir);
    im->cfg_json = cJSON_Duplicate(qt_ckpt_config(ck), 1);
    if (!im->cfg_json || qt_bilstm_config_from_json(im->cfg_json, "config.json", &im->cfg, e) != 0 ||
        qt_word_vocab_load(vocab_path, &im->vocab, e) != 0 || bind_params(im, e) != 0)
        goto done;
    for (int i = 0; i < im->n_params; i++) {
        const qt_bilstm_param *p = &im->plist[i];
        const float *src = qt_ckpt_tensor(ck, p->name, (size_t)p->ndim, p->dims, e);
        if (!src)
            goto done;
        memcpy(im->params[i].w, src, p->numel * sizeof(float));
    }
    if (qt_ckpt_check_unused(ck, e) != 0)
        goto done;
    compute_key(im);
    rc = 0;
done:
    qt_ckpt_close(ck);
    return rc;
}

static int lstm_save(qt_train_arch *a, const char *dir, qt_err *e)
{
    lstm_impl *im = a->impl;
    qt_st_out *outs = calloc((size_t)im->n_params, sizeof *outs);
    if (!outs)
        return qt_fail(e, "out of memory");
    for (int i = 0; i < im->n_params; i++)
        outs[i] = (qt_st_out){im->plist[i].name, QT_DT_F32, (size_t)im->plist[i].ndim, im->plist[i].dims,
                              im->params[i].w};
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    const char *meta[] = {"qaterm_arch", "qaterm_bilstm"};
    int rc = qt_safetensors_write(path, outs, (size_t)im->n_params, meta, 1, e);
    free(outs);
    if (rc != 0)
        return -1;
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    if (qt_word_vocab_save(im->vocab, path, e) != 0)
        return -1;
    return qt_json_save(dir, "config.json", cJSON_Duplicate(im->cfg_json, 1), e);
}

static const char *lstm_feature_key(qt_train_arch *a)
{
    return ((lstm_impl *)a->impl)->key;
}

static void lstm_init_weights(qt_train_arch *a, qt_rng *rng)
{
    lstm_impl *im = a->impl;
    qt_bilstm_init_weights(&im->cfg, &im->w, rng);
}

static int lstm_params(qt_train_arch *a, qt_param **params, const char *const **names)
{
    lstm_impl *im = a->impl;
    *params = im->params;
    *names = im->names;
    return im->n_params;
}

/* ---- features ---- */

static int lstm_featurize(qt_train_arch *a, const qt_example *ex, qt_bytes *out, int *usable, int *n_tokens,
                          qt_err *e)
{
    lstm_impl *im = a->impl;
    qt_bilstm_features *f = &im->feat;
    if (qt_bilstm_featurize(&im->cfg, im->vocab, ex->question, strlen(ex->question), ex->context, ex->context_len,
                            f, e) != 0)
        return -1;
    rec_head h = {f->n_c, f->n_q, -1, -1, ex->kind};
    *usable = f->n_c > 0 && f->n_q > 0;
    if (ex->ans_start >= 0) {
        /* the words the answer's bytes touch, among all words; the answer
         * must lie within the kept ones */
        int nw = (int)f->c_words.n;
        for (int k = 0; k < nw && h.start < 0; k++)
            if ((long)f->c_words.v[k].byte_end > ex->ans_start)
                h.start = k;
        for (int k = nw - 1; k >= 0 && h.end < 0; k--)
            if ((long)f->c_words.v[k].byte_start < ex->ans_end)
                h.end = k;
        if (h.start < 0 || h.end < h.start || h.end >= f->n_c)
            *usable = 0;
    }
    *n_tokens = f->n_c + f->n_q;
    if (!*usable)
        return 0;
    size_t nb = (size_t)(f->n_c + f->n_q);
    uint8_t *em = calloc(nb + 4, 1);
    if (!em)
        return qt_fail(e, "out of memory");
    if (im->cfg.use_exact_match) {
        for (int k = 0; k < f->n_c; k++)
            em[k] = (uint8_t)((f->c_em[2 * k] != 0) | (f->c_em[2 * k + 1] != 0) << 1);
        for (int k = 0; k < f->n_q; k++)
            em[f->n_c + k] = (uint8_t)((f->q_em[2 * k] != 0) | (f->q_em[2 * k + 1] != 0) << 1);
    }
    size_t em_bytes = (nb + 3) / 4 * 4;
    int rc = qt_bytes_put(out, &h, sizeof h) || qt_bytes_put(out, f->c_ids, (size_t)f->n_c * 4) ||
             qt_bytes_put(out, f->q_ids, (size_t)f->n_q * 4) || qt_bytes_put(out, em, em_bytes);
    if (!rc && im->cfg.char_vocab_size > 0)
        rc = qt_bytes_put(out, f->c_chars, (size_t)f->n_c * (size_t)im->cfg.max_word_chars * 4) ||
             qt_bytes_put(out, f->q_chars, (size_t)f->n_q * (size_t)im->cfg.max_word_chars * 4);
    free(em);
    return rc ? qt_fail(e, "out of memory for features") : 0;
}

/* ---- one step ---- */

static int worker_buffers(const qt_bilstm_config *c, worker *wk, int B, int Tc, int Tq)
{
    size_t W = c->char_vocab_size > 0 ? (size_t)c->max_word_chars : 0;
    size_t nc = (size_t)B * Tc, nq = (size_t)B * Tq, nb = (size_t)B;
    if (nc > wk->cap_c) {
        if (qt_pool_grow(&wk->c_ids, nc * 4) || qt_pool_grow(&wk->c_em, nc * 8) ||
            qt_pool_grow(&wk->dstart, nc * 4) || qt_pool_grow(&wk->dend, nc * 4) ||
            (W && qt_pool_grow(&wk->c_chars, nc * W * 4)))
            return -1;
        wk->cap_c = nc;
    }
    if (nq > wk->cap_q) {
        if (qt_pool_grow(&wk->q_ids, nq * 4) || qt_pool_grow(&wk->q_em, nq * 8) ||
            (W && qt_pool_grow(&wk->q_chars, nq * W * 4)))
            return -1;
        wk->cap_q = nq;
    }
    if (nb > wk->cap_b) {
        if (qt_pool_grow(&wk->c_lens, nb * 4) || qt_pool_grow(&wk->q_lens, nb * 4) ||
            qt_pool_grow(&wk->starts, nb * 4) || qt_pool_grow(&wk->ends, nb * 4) || qt_pool_grow(&wk->dnull, nb * 8))
            return -1;
        wk->cap_b = nb;
    }
    return 0;
}

static int worker_step(lstm_impl *im, int t)
{
    qt_pool_worker *pw = qt_pool_worker_start(&im->pool, t);
    worker *wk = &im->workers[t];
    const qt_bilstm_config *c = &im->cfg;
    qt_err *e = &wk->err;
    int B = wk->count;
    if (B == 0)
        return 0;
    int Tc = 1, Tq = 1;
    for (int b = 0; b < B; b++) {
        const rec_head *h = (const rec_head *)im->records[wk->first + b];
        Tc = h->n_c > Tc ? h->n_c : Tc;
        Tq = h->n_q > Tq ? h->n_q : Tq;
    }
    if (worker_buffers(c, wk, B, Tc, Tq) != 0)
        return qt_fail(e, "out of memory for a batch");
    size_t W = c->char_vocab_size > 0 ? (size_t)c->max_word_chars : 0;
    memset(wk->c_ids, 0, (size_t)B * Tc * 4);
    memset(wk->q_ids, 0, (size_t)B * Tq * 4);
    memset(wk->c_em, 0, (size_t)B * Tc * 8);
    memset(wk->q_em, 0, (size_t)B * Tq * 8);
    if (W) {
        memset(wk->c_chars, 0, (size_t)B * Tc * W * 4);
        memset(wk->q_chars, 0, (size_t)B * Tq * W * 4);
    }
    for (int b = 0; b < B; b++) {
        const uint8_t *r = im->records[wk->first + b];
        const rec_head *h = (const rec_head *)r;
        const int32_t *cid = (const int32_t *)(r + sizeof *h), *qid = cid + h->n_c;
        const uint8_t *em = (const uint8_t *)(qid + h->n_q);
        size_t em_bytes = ((size_t)(h->n_c + h->n_q) + 3) / 4 * 4;
        memcpy(wk->c_ids + (size_t)b * Tc, cid, (size_t)h->n_c * 4);
        memcpy(wk->q_ids + (size_t)b * Tq, qid, (size_t)h->n_q * 4);
        for (int k = 0; k < h->n_c; k++) {
            wk->c_em[((size_t)b * Tc + k) * 2] = (float)(em[k] & 1);
            wk->c_em[((size_t)b * Tc + k) * 2 + 1] = (float)(em[k] >> 1 & 1);
        }
        for (int k = 0; k < h->n_q; k++) {
            wk->q_em[((size_t)b * Tq + k) * 2] = (float)(em[h->n_c + k] & 1);
            wk->q_em[((size_t)b * Tq + k) * 2 + 1] = (float)(em[h->n_c + k] >> 1 & 1);
        }
        if (W) {
            const int32_t *cc = (const int32_t *)(em + em_bytes), *qc = cc + (size_t)h->n_c * W;
            memcpy(wk->c_chars + (size_t)b * Tc * W, cc, (size_t)h->n_c * W * 4);
            memcpy(wk->q_chars + (size_t)b * Tq * W, qc, (size_t)h->n_q * W * 4);
        }
        wk->c_lens[b] = h->n_c;
        wk->q_lens[b] = h->n_q;
        wk->starts[b] = h->start;
        wk->ends[b] = h->end;
        pw->tokens += h->n_c + h->n_q;
    }
    qt_bilstm_batch batch = {B, Tc, Tq, wk->c_ids, wk->q_ids, W ? wk->c_chars : NULL, W ? wk->q_chars : NULL,
                             c->use_exact_match ? wk->c_em : NULL, c->use_exact_match ? wk->q_em : NULL,
                             wk->c_lens, wk->q_lens};
    size_t need = qt_bilstm_forward_bytes(c, B, Tc, Tq, 1) + qt_bilstm_backward_bytes(c, B, Tc, Tq) + (1 << 20);
    if (need > pw->arena.cap) {
        qt_arena_free(&pw->arena);
        if (qt_arena_init(&pw->arena, need + need / 4, e) != 0)
            return -1;
    }
    qt_arena_reset(&pw->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, qt_pool_worker_seed(im->seed, t));
    qt_bilstm_acts acts;
    if (qt_bilstm_forward(c, &im->w, &batch, 1, &rng, &pw->arena, NULL, &acts, e) != 0)
        return -1;
    memset(wk->dstart, 0, (size_t)B * Tc * 4);
    memset(wk->dend, 0, (size_t)B * Tc * 4);
    memset(wk->dnull, 0, (size_t)B * 8);
    double loss = qt_bilstm_loss(&acts, wk->c_lens, wk->starts, wk->ends, wk->dstart, wk->dend, wk->dnull);
    if (!isfinite(loss))
        return qt_fail(e, "loss is not finite (%g)", loss);
    /* the loss is a mean over this worker's slice: weight it by its share */
    float share = (float)B / (float)im->batch_n;
    for (size_t i = 0; i < (size_t)B * Tc; i++) {
        wk->dstart[i] *= share;
        wk->dend[i] *= share;
    }
    for (int i = 0; i < 2 * B; i++)
        wk->dnull[i] *= share;
    pw->loss = loss * B;
    if (qt_bilstm_backward(c, &im->w, &batch, &acts, wk->dstart, wk->dend, wk->dnull, &wk->grads, &pw->arena, e) != 0)
        return -1;
    return 0;
}

static int pool_step(void *ctx, int t, int first, int count, qt_err *e)
{
    lstm_impl *im = ctx;
    im->workers[t].first = first;
    im->workers[t].count = count;
    int rc = worker_step(im, t);
    if (rc != 0)
        *e = im->workers[t].err;
    return rc;
}

static int lstm_step(qt_train_arch *a, qt_train_objective objective, const uint8_t *const *records, int n,
                     uint64_t seed, double *loss, long *tokens, qt_err *e)
{
    lstm_impl *im = a->impl;
    if (objective != QT_OBJECTIVE_QA)
        return qt_fail(e, "the BiLSTM (lstm) has no pre-training objective: it trains on the QA loss only");
    im->records = records;
    im->batch_n = n;
    im->seed = seed;
    double total;
    if (qt_pool_step(&im->pool, n, pool_step, im, &total, tokens, e) != 0)
        return -1;
    *loss = total / n;
    return 0;
}

static void lstm_destroy(qt_train_arch *a)
{
    lstm_impl *im = a->impl;
    if (!im)
        return;
    qt_pool_free(&im->pool);
    for (int t = 0; t < QT_POOL_MAX_WORKERS; t++) {
        worker *wk = &im->workers[t];
        free(wk->c_ids), free(wk->q_ids), free(wk->c_chars), free(wk->q_chars);
        free(wk->c_lens), free(wk->q_lens), free(wk->starts), free(wk->ends);
        free(wk->c_em), free(wk->q_em), free(wk->dstart), free(wk->dend), free(wk->dnull);
    }
    qt_floats_free(im->w_flat);
    qt_floats_free(im->g_flat);
    qt_word_vocab_free(im->vocab);
    cJSON_Delete(im->cfg_json);
    qt_bilstm_features_free(&im->feat);
    free(im);
    a->impl = NULL;
}

int qt_train_arch_lstm(qt_train_arch *a, int threads, qt_err *e)
{
    memset(a, 0, sizeof *a);
    lstm_impl *im = calloc(1, sizeof *im);
    if (!im)
        return qt_fail(e, "out of memory");
    qt_pool_init(&im->pool, threads);
    qt_bilstm_features_init(&im->feat);
    a->name = "lstm";
    a->impl = im;
    a->create = lstm_create;
    a->load = lstm_load;
    a->feature_key = lstm_feature_key;
    a->featurize = lstm_featurize;
    a->init_weights = lstm_init_weights;
    a->params = lstm_params;
    a->step = lstm_step;
    a->save = lstm_save;
    a->destroy = lstm_destroy;
    return 0;
}
