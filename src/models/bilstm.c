/* The BiLSTM reader's config, parameter list, features and engine (loading,
 * answering). The network itself is in bilstm_forward.c and
 * bilstm_backward.c; the architecture is described in bilstm.h. */
#include "models/bilstm.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/checkpoint.h"
#include "qa/decode.h"
#include "tok/tok_internal.h"
#include "util/json.h"

/* ---- config ---- */

void qt_bilstm_config_default(qt_bilstm_config *c)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = 2;
    c->embedding_dim = 100;
    c->hidden_size = 128;
    c->num_layers = 2;
    c->num_model_layers = 1;
    c->use_exact_match = 1;
    c->lowercase = 1;
    c->char_vocab_size = 0;
    c->char_embedding_dim = 16;
    c->char_filters = 50;
    c->char_kernel_size = 5;
    c->max_word_chars = 16;
    c->max_context_words = 1000;
    c->max_question_words = 64;
    c->max_answer_words = 15;
    c->dropout = 0.0f;
    c->null_threshold = 0.0;
}

/* json[key] as an integer in [lo, hi]; def when absent and not required. */
static int get_int(const cJSON *json, const char *name, const char *key, int required, long lo,
                   long hi, int *out, qt_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!v) {
        if (required)
            return qt_fail(e, "%s: at $: missing field '%s'", name, key);
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return qt_fail(e, "%s: at $.%s: expected a number, got %s", name, key,
                       qt_json_type_name(v));
    double d = v->valuedouble;
    if (!(d == floor(d) && d >= (double)lo && d <= (double)hi))
        return qt_fail(e, "%s: at $.%s: expected an integer in %ld..%ld, got %g", name, key, lo,
                       hi, d);
    *out = (int)d;
    return 0;
}

/* A boolean, also accepted as 0 or 1. */
static int get_flag(const cJSON *json, const char *name, const char *key, int *out, qt_err *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!v)
        return 0;
    if (cJSON_IsBool(v)) {
        *out = cJSON_IsTrue(v);
        return 0;
    }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        *out = (int)v->valuedouble;
        return 0;
    }
    return qt_fail(e, "%s: at $.%s: expected true or false", name, key);
}

int qt_bilstm_config_from_json(const cJSON *json, const char *name, qt_bilstm_config *c, qt_err *e)
{
    qt_bilstm_config_default(c);
    if (!cJSON_IsObject(json))
        return qt_fail(e, "%s: expected a JSON object", name);
    if (get_int(json, name, "vocab_size", 1, 2, 1 << 24, &c->vocab_size, e) ||
        get_int(json, name, "embedding_dim", 1, 1, 4096, &c->embedding_dim, e) ||
        get_int(json, name, "hidden_size", 1, 1, 4096, &c->hidden_size, e) ||
        get_int(json, name, "num_layers", 1, 1, QT_BILSTM_MAX_LAYERS, &c->num_layers, e) ||
        get_int(json, name, "num_model_layers", 0, 1, QT_BILSTM_MAX_LAYERS, &c->num_model_layers,
                e) ||
        get_flag(json, name, "use_exact_match", &c->use_exact_match, e) ||
        get_flag(json, name, "lowercase", &c->lowercase, e) ||
        get_int(json, name, "char_vocab_size", 0, 0, 1 << 20, &c->char_vocab_size, e) ||
        get_int(json, name, "char_embedding_dim", 0, 1, 1024, &c->char_embedding_dim, e) ||
        get_int(json, name, "char_filters", 0, 1, 4096, &c->char_filters, e) ||
        get_int(json, name, "max_word_chars", 0, 1, 64, &c->max_word_chars, e) ||
        get_int(json, name, "char_kernel_size", 0, 1, c->max_word_chars, &c->char_kernel_size,
                e) ||
        get_int(json, name, "max_context_words", 0, 1, 100000, &c->max_context_words, e) ||
        get_int(json, name, "max_question_words", 0, 1, 10000, &c->max_question_words, e) ||
        get_int(json, name, "max_answer_words", 0, 1, 10000, &c->max_answer_words, e))
        return -1;
    if (c->char_vocab_size == 1)
        return qt_fail(e, "%s: at $.char_vocab_size: expected 0 (no character CNN) or >= 2", name);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(json, "dropout");
    if (d) {
        if (!cJSON_IsNumber(d) || !(d->valuedouble >= 0 && d->valuedouble < 1))
            return qt_fail(e, "%s: at $.dropout: expected a number in [0, 1)", name);
        c->dropout = (float)d->valuedouble;
    }
    return qt_qa_null_threshold_from_config(json, name, &c->null_threshold, e);
}

cJSON *qt_bilstm_config_to_json(const qt_bilstm_config *c)
{
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "model_type", "qaterm_bilstm");
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(j, "embedding_dim", c->embedding_dim);
    cJSON_AddNumberToObject(j, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(j, "num_layers", c->num_layers);
    cJSON_AddNumberToObject(j, "num_model_layers", c->num_model_layers);
    cJSON_AddBoolToObject(j, "use_exact_match", c->use_exact_match);
    cJSON_AddBoolToObject(j, "lowercase", c->lowercase);
    cJSON_AddNumberToObject(j, "char_vocab_size", c->char_vocab_size);
    if (c->char_vocab_size > 0) {
        cJSON_AddNumberToObject(j, "char_embedding_dim", c->char_embedding_dim);
        cJSON_AddNumberToObject(j, "char_filters", c->char_filters);
        cJSON_AddNumberToObject(j, "char_kernel_size", c->char_kernel_size);
        cJSON_AddNumberToObject(j, "max_word_chars", c->max_word_chars);
    }
    cJSON_AddNumberToObject(j, "max_context_words", c->max_context_words);
    cJSON_AddNumberToObject(j, "max_question_words", c->max_question_words);
    cJSON_AddNumberToObject(j, "max_answer_words", c->max_answer_words);
    cJSON_AddNumberToObject(j, "dropout", c->dropout);
    cJSON_AddNumberToObject(j, "qaterm_null_threshold", c->null_threshold);
    return j;
}

/* ---- parameters ---- */

typedef struct param_list {
    qt_bilstm_param *out;
    int n;
} param_list;

static void add_param(param_list *pl, float **slot, int decay, int ndim, size_t d0, size_t d1,
                      size_t d2, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void add_param(param_list *pl, float **slot, int decay, int ndim, size_t d0, size_t d1,
                      size_t d2, const char *fmt, ...)
{
    if (pl->out) {
        qt_bilstm_param *p = &pl->out[pl->n];
        memset(p, 0, sizeof *p);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->name, sizeof p->name, fmt, ap);
        va_end(ap);
        p->ndim = ndim;
        p->dims[0] = d0, p->dims[1] = d1, p->dims[2] = d2;
        p->numel = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
        p->decay = decay;
        p->slot = slot;
    }
    pl->n++;
}

#define SLOT(w, field) ((w) ? &(w)->field : NULL)

static void add_linear(param_list *pl, float **wslot, float **bslot, size_t out, size_t in,
                       const char *prefix)
{
    add_param(pl, wslot, 1, 2, out, in, 0, "%s.weight", prefix);
    add_param(pl, bslot, 0, 1, out, 0, 0, "%s.bias", prefix);
}

static void add_rnn(param_list *pl, qt_bilstm_rnn *r, int layers, int in0, int H,
                    const char *prefix)
{
    static const char *const suffix[2] = {"", "_reverse"};
    for (int l = 0; l < layers; l++)
        for (int d = 0; d < 2; d++) {
            qt_bilstm_lstm_dir *ld = r ? &r->layer[l][d] : NULL;
            size_t in = l == 0 ? (size_t)in0 : (size_t)2 * H, G = (size_t)4 * H;
            add_param(pl, SLOT(ld, w_ih), 1, 2, G, in, 0, "%s.layers.%d.weight_ih_l0%s", prefix,
                      l, suffix[d]);
            add_param(pl, SLOT(ld, w_hh), 1, 2, G, (size_t)H, 0, "%s.layers.%d.weight_hh_l0%s",
                      prefix, l, suffix[d]);
            add_param(pl, SLOT(ld, b_ih), 0, 1, G, 0, 0, "%s.layers.%d.bias_ih_l0%s", prefix, l,
                      suffix[d]);
            add_param(pl, SLOT(ld, b_hh), 0, 1, G, 0, 0, "%s.layers.%d.bias_hh_l0%s", prefix, l,
                      suffix[d]);
        }
}

int qt_bilstm_params(const qt_bilstm_config *c, qt_bilstm_weights *w, qt_bilstm_param *out)
{
    param_list pl = {out, 0};
    const size_t D = c->embedding_dim, H = c->hidden_size, H2 = 2 * H;
    add_param(&pl, SLOT(w, embeddings), 1, 2, (size_t)c->vocab_size, D, 0, "embeddings.weight");
    if (c->char_vocab_size > 0) {
        add_param(&pl, SLOT(w, char_embeddings), 1, 2, (size_t)c->char_vocab_size,
                  (size_t)c->char_embedding_dim, 0, "char_embeddings.weight");
        add_param(&pl, SLOT(w, char_conv_w), 1, 3, (size_t)c->char_filters,
                  (size_t)c->char_embedding_dim, (size_t)c->char_kernel_size, "char_conv.weight");
        add_param(&pl, SLOT(w, char_conv_b), 0, 1, (size_t)c->char_filters, 0, 0,
                  "char_conv.bias");
    }
    add_linear(&pl, SLOT(w, align_w), SLOT(w, align_b), D, D, "align.linear");
    add_rnn(&pl, SLOT(w, context_rnn), c->num_layers, qt_bilstm_context_in(c), (int)H,
            "context_rnn");
    add_rnn(&pl, SLOT(w, question_rnn), c->num_layers, qt_bilstm_question_in(c), (int)H,
            "question_rnn");
    add_linear(&pl, SLOT(w, coattn_w), SLOT(w, coattn_b), H2, H2, "coattn.linear");
    add_rnn(&pl, SLOT(w, model_rnn), c->num_model_layers, (int)(6 * H), (int)H, "model_rnn");
    add_linear(&pl, SLOT(w, q_attn_w), SLOT(w, q_attn_b), 1, H2, "q_self_attn");
    add_linear(&pl, SLOT(w, start_w), SLOT(w, start_b), H2, H2, "start_attn");
    add_linear(&pl, SLOT(w, end_w), SLOT(w, end_b), H2, H2, "end_attn");
    add_linear(&pl, SLOT(w, na_pool_w), SLOT(w, na_pool_b), 1, H2, "no_answer.pool");
    add_linear(&pl, SLOT(w, na_hidden_w), SLOT(w, na_hidden_b), H, 8 * H, "no_answer.hidden");
    add_linear(&pl, SLOT(w, na_out_w), SLOT(w, na_out_b), 2, H, "no_answer.out");
    return pl.n;
}

size_t qt_bilstm_param_floats(const qt_bilstm_config *c)
{
    qt_bilstm_param ps[QT_BILSTM_MAX_PARAMS];
    int n = qt_bilstm_params(c, NULL, ps);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += ps[i].numel;
    return total;
}

void qt_bilstm_weights_bind(const qt_bilstm_config *c, qt_bilstm_weights *w, float *flat)
{
    memset(w, 0, sizeof *w);
    qt_bilstm_param ps[QT_BILSTM_MAX_PARAMS];
    int n = qt_bilstm_params(c, w, ps);
    for (int i = 0; i < n; i++) {
        *ps[i].slot = flat;
        flat += ps[i].numel;
    }
}

void qt_bilstm_init_weights(const qt_bilstm_config *c, qt_bilstm_weights *w, qt_rng *rng)
{
    qt_bilstm_param ps[QT_BILSTM_MAX_PARAMS];
    int n = qt_bilstm_params(c, w, ps);
    for (int i = 0; i < n; i++) {
        float *p = *ps[i].slot;
        const char *name = ps[i].name;
        if (strstr(name, "embeddings.weight")) {
            qt_rng_fill_normal(rng, p, ps[i].numel, 0.0f, 1.0f);
            memset(p, 0, sizeof(float) * ps[i].dims[1]); /* the pad row */
            continue;
        }
        double fan_in;
        if (strstr(name, "_rnn."))
            fan_in = c->hidden_size; /* PyTorch: every LSTM tensor U(-1/sqrt(H), 1/sqrt(H)) */
        else if (ps[i].decay)
            fan_in = (double)ps[i].dims[1] * (ps[i].ndim > 2 ? (double)ps[i].dims[2] : 1.0);
        else /* a bias: the fan-in of its weight, the parameter before it */
            fan_in = (double)ps[i - 1].dims[1] * (ps[i - 1].ndim > 2 ? (double)ps[i - 1].dims[2] : 1.0);
        float bound = (float)(1.0 / sqrt(fan_in));
        qt_rng_fill_uniform(rng, p, ps[i].numel, -bound, bound);
    }
}

/* ---- features ---- */

void qt_bilstm_features_init(qt_bilstm_features *f)
{
    memset(f, 0, sizeof *f);
    qt_words_init(&f->q_words);
    qt_words_init(&f->c_words);
}

void qt_bilstm_features_free(qt_bilstm_features *f)
{
    qt_words_free(&f->q_words);
    qt_words_free(&f->c_words);
    free(f->q_ids);
    free(f->c_ids);
    free(f->q_chars);
    free(f->c_chars);
    free(f->q_em);
    free(f->c_em);
    free(f->lower);
    free(f->lower_off);
    memset(f, 0, sizeof *f);
}

size_t qt_bilstm_word_key(const qt_bilstm_config *c, const char *word, size_t len, char *out)
{
    if (c->lowercase)
        return qt_words_lower(word, len, out);
    memcpy(out, word, len);
    return len;
}

/* Grows the per-word arrays of one side to hold n words. */
static void reserve_side(const qt_bilstm_config *c, size_t n, size_t *cap, int32_t **ids,
                         int32_t **chars, float **em)
{
    if (n <= *cap)
        return;
    size_t nc = n < 64 ? 64 : n;
    *ids = qt_tok_xrealloc(*ids, nc * sizeof **ids);
    if (c->char_vocab_size > 0)
        *chars = qt_tok_xrealloc(*chars, nc * (size_t)c->max_word_chars * sizeof **chars);
    if (c->use_exact_match)
        *em = qt_tok_xrealloc(*em, nc * QT_BILSTM_EM_FEATURES * sizeof **em);
    *cap = nc;
}

static void word_chars(const qt_bilstm_config *c, const char *text, const qt_word *w, int32_t *out)
{
    int W = c->max_word_chars, k = 0;
    for (uint32_t i = w->byte_start; i < w->byte_end && k < W;) {
        uint32_t n;
        uint32_t cp = qt_tok_utf8_decode(text + i, &n);
        out[k++] = 1 + (int32_t)(cp % (uint32_t)(c->char_vocab_size - 1));
        i += n;
    }
    for (; k < W; k++)
        out[k] = 0;
}

/* For each word of one side: does its text (feature 0) / lower-case form
 * (feature 1) occur among the other side's words? */
static void exact_match(const qt_bilstm_features *f, const char *text, const qt_word *words, int n,
                        int lo_first, const char *other_text, const qt_word *other, int n_other,
                        int lo_other, float *em)
{
    for (int i = 0; i < n; i++) {
        const char *s = text + words[i].byte_start;
        size_t len = words[i].byte_end - words[i].byte_start;
        const char *ls = f->lower + f->lower_off[lo_first + i];
        size_t llen = f->lower_off[lo_first + i + 1] - f->lower_off[lo_first + i];
        int exact = 0, lower = 0;
        for (int j = 0; j < n_other && !(exact && lower); j++) {
            size_t olen = other[j].byte_end - other[j].byte_start;
            if (!exact && olen == len && memcmp(other_text + other[j].byte_start, s, len) == 0)
                exact = 1;
            size_t a = f->lower_off[lo_other + j], b = f->lower_off[lo_other + j + 1];
            if (!lower && b - a == llen && memcmp(f->lower + a, ls, llen) == 0)
                lower = 1;
        }
        em[2 * i] = (float)exact;
        em[2 * i + 1] = (float)lower;
    }
}

int qt_bilstm_featurize(const qt_bilstm_config *c, const qt_word_vocab *vocab, const char *question,
                        size_t question_len, const char *context, size_t context_len,
                        qt_bilstm_features *f, qt_err *e)
{
    if (qt_words_split(question, question_len, &f->q_words, e) != 0)
        return qt_fail_prefix(e, "question");
    if (qt_words_split(context, context_len, &f->c_words, e) != 0)
        return qt_fail_prefix(e, "context");
    int nq = (int)(f->q_words.n < (size_t)c->max_question_words ? f->q_words.n
                                                                 : (size_t)c->max_question_words);
    int nc = (int)(f->c_words.n < (size_t)c->max_context_words ? f->c_words.n
                                                                : (size_t)c->max_context_words);
    f->n_q = nq, f->n_c = nc;
    reserve_side(c, (size_t)nq, &f->cap_q, &f->q_ids, &f->q_chars, &f->q_em);
    reserve_side(c, (size_t)nc, &f->cap_c, &f->c_ids, &f->c_chars, &f->c_em);

    /* lower-case forms of every kept word: question words first */
    size_t need = qt_words_lower_cap(question_len) + qt_words_lower_cap(context_len);
    if (need > f->cap_lower) {
        f->lower = qt_tok_xrealloc(f->lower, need);
        f->cap_lower = need;
    }
    if ((size_t)(nq + nc + 1) > f->cap_lower_off) {
        f->cap_lower_off = (size_t)(nq + nc + 1) * 2;
        f->lower_off = qt_tok_xrealloc(f->lower_off, f->cap_lower_off * sizeof *f->lower_off);
    }
    size_t off = 0;
    for (int k = 0; k < nq + nc; k++) {
        const qt_word *w = k < nq ? &f->q_words.v[k] : &f->c_words.v[k - nq];
        const char *text = k < nq ? question : context;
        f->lower_off[k] = (uint32_t)off;
        off += qt_words_lower(text + w->byte_start, w->byte_end - w->byte_start, f->lower + off);
    }
    f->lower_off[nq + nc] = (uint32_t)off;

    for (int k = 0; k < nq + nc; k++) {
        int q = k < nq;
        const qt_word *w = q ? &f->q_words.v[k] : &f->c_words.v[k - nq];
        const char *text = q ? question : context;
        int32_t id;
        if (c->lowercase)
            id = qt_word_vocab_id(vocab, f->lower + f->lower_off[k],
                                  f->lower_off[k + 1] - f->lower_off[k]);
        else
            id = qt_word_vocab_id(vocab, text + w->byte_start, w->byte_end - w->byte_start);
        if (id >= c->vocab_size)
            id = QT_WORD_UNK_ID;
        if (q)
            f->q_ids[k] = id;
        else
            f->c_ids[k - nq] = id;
        if (c->char_vocab_size > 0)
            word_chars(c, text, w,
                       q ? f->q_chars + (size_t)k * c->max_word_chars
                         : f->c_chars + (size_t)(k - nq) * c->max_word_chars);
    }
    if (c->use_exact_match) {
        exact_match(f, question, f->q_words.v, nq, 0, context, f->c_words.v, nc, nq, f->q_em);
        exact_match(f, context, f->c_words.v, nc, nq, question, f->q_words.v, nq, 0, f->c_em);
    }
    return 0;
}

/* ---- the engine ---- */

typedef struct bilstm_impl {
    qt_bilstm_config cfg;
    qt_bilstm_weights w;
    qt_ckpt *ck;
    qt_word_vocab *vocab;
    qt_bilstm_features feat;
    qt_arena arena;
    qt_qa_offset *offsets;
    size_t cap_offsets;
} bilstm_impl;

static void bilstm_free(qt_model *m)
{
    bilstm_impl *im = m->impl;
    if (im) {
        qt_ckpt_close(im->ck);
        qt_word_vocab_free(im->vocab);
        qt_bilstm_features_free(&im->feat);
        qt_arena_free(&im->arena);
        free(im->offsets);
        free(im);
    }
    free(m);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* The two softmaxes of the training loss, for the confidence shown. */
static double joint_prob(const float *logits, int n, float null_logit, int pick)
{
    double mx = null_logit;
    for (int i = 0; i < n; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    double sum = exp(null_logit - mx);
    for (int i = 0; i < n; i++)
        sum += exp(logits[i] - mx);
    return exp((pick < 0 ? null_logit : logits[pick]) - mx) / sum;
}

static int fill_answer(bilstm_impl *im, const qt_bilstm_acts *a, const char *context,
                       size_t context_len, qt_qa_answer *out, qt_err *e)
{
    int n = im->feat.n_c;
    if ((size_t)n > im->cap_offsets) {
        free(im->offsets);
        im->offsets = malloc((size_t)n * sizeof *im->offsets);
        if (!im->offsets) {
            im->cap_offsets = 0;
            return qt_fail(e, "out of memory");
        }
        im->cap_offsets = (size_t)n;
    }
    for (int i = 0; i < n; i++)
        im->offsets[i] = (qt_qa_offset){im->feat.c_words.v[i].byte_start,
                                        im->feat.c_words.v[i].byte_end};
    qt_qa_decode_opts o;
    qt_qa_decode_opts_default(&o);
    o.max_answer_len = im->cfg.max_answer_words;
    o.null_threshold = im->cfg.null_threshold;
    qt_qa_result r;
    if (qt_qa_decode_plain(a->start, a->end, n, a->null, context, context_len, im->offsets, &o, &r,
                           e) != 0)
        return -1;
    out->has_answer = r.answered;
    out->no_answer_prob = r.no_answer_prob;
    out->margin = r.margin;
    out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
    out->best_char_start = out->best_char_end = -1;
    out->text = xstrdup(r.answered ? r.best.text : "");
    out->best_text = xstrdup(r.has_best ? r.best.text : "");
    if (r.has_best) {
        out->best_char_start = r.best.start_char;
        out->best_char_end = r.best.end_char;
    }
    if (r.answered) {
        out->char_start = r.best.start_char, out->char_end = r.best.end_char;
        out->byte_start = (long)r.best.start_byte, out->byte_end = (long)r.best.end_byte;
        out->score = r.best.score;
        out->confidence = joint_prob(a->start, n, a->null[0], r.best.tok_start) *
                          joint_prob(a->end, n, a->null[1], r.best.tok_end);
    } else {
        out->score = r.null_score;
        out->confidence = joint_prob(a->start, n, a->null[0], -1) *
                          joint_prob(a->end, n, a->null[1], -1);
    }
    qt_qa_result_free(&r);
    if (!out->text || !out->best_text)
        return qt_fail(e, "out of memory");
    return 0;
}

static int bilstm_answer(qt_model *m, const char *question, const char *context,
                         qt_qa_answer *out, qt_err *e)
{
    bilstm_impl *im = m->impl;
    const qt_bilstm_config *c = &im->cfg;
    size_t context_len = strlen(context);
    if (qt_bilstm_featurize(c, im->vocab, question, strlen(question), context, context_len,
                            &im->feat, e) != 0)
        return -1;
    qt_bilstm_features *f = &im->feat;
    if (f->n_c == 0) { /* nothing to point at */
        out->text = xstrdup(""), out->best_text = xstrdup("");
        out->char_start = out->char_end = out->byte_start = out->byte_end = -1;
        out->best_char_start = out->best_char_end = -1;
        out->no_answer_prob = 1.0, out->confidence = 1.0, out->margin = -INFINITY;
        return out->text && out->best_text ? 0 : qt_fail(e, "out of memory");
    }
    int32_t c_len = f->n_c, q_len = f->n_q;
    int32_t pad_id = QT_WORD_PAD_ID, pad_chars[64] = {0};
    float pad_em[QT_BILSTM_EM_FEATURES] = {0};
    qt_bilstm_batch b = {
        .batch = 1, .c_len = c_len, .q_len = q_len > 0 ? q_len : 1,
        .c_ids = f->c_ids, .q_ids = q_len > 0 ? f->q_ids : &pad_id,
        .c_chars = f->c_chars, .q_chars = c->char_vocab_size > 0 && q_len == 0 ? pad_chars : f->q_chars,
        .c_em = f->c_em, .q_em = c->use_exact_match && q_len == 0 ? pad_em : f->q_em,
        .c_lens = &c_len, .q_lens = &q_len,
    };
    size_t need = qt_bilstm_forward_bytes(c, 1, b.c_len, b.q_len, 0);
    if (need > im->arena.cap) {
        qt_arena_free(&im->arena);
        if (qt_arena_init(&im->arena, need + need / 4, e) != 0)
            return -1;
    }
    size_t mark = qt_arena_mark(&im->arena);
    qt_bilstm_acts a;
    int rc = qt_bilstm_forward(c, &im->w, &b, 0, NULL, &im->arena, m->cancel, &a, e);
    if (rc == 0)
        rc = fill_answer(im, &a, context, context_len, out, e);
    qt_arena_reset(&im->arena, mark);
    return rc;
}

static const qt_model_ops bilstm_ops = {.answer = bilstm_answer, .free = bilstm_free};

qt_model *qt_bilstm_load(const char *dir, const cJSON *config, qt_err *e)
{
    qt_model *m = calloc(1, sizeof *m);
    bilstm_impl *im = calloc(1, sizeof *im);
    if (!m || !im) {
        free(m);
        free(im);
        qt_fail(e, "out of memory");
        return NULL;
    }
    m->ops = &bilstm_ops;
    m->impl = im;
    qt_bilstm_features_init(&im->feat);
    char cfg_name[4200], vocab_path[4200];
    snprintf(cfg_name, sizeof cfg_name, "%s/config.json", dir);
    snprintf(vocab_path, sizeof vocab_path, "%s/vocab.txt", dir);
    if (qt_bilstm_config_from_json(config, cfg_name, &im->cfg, e) != 0)
        goto fail;
    if (qt_word_vocab_load(vocab_path, &im->vocab, e) != 0)
        goto fail;
    if (qt_word_vocab_size(im->vocab) != im->cfg.vocab_size) {
        qt_fail(e, "%s: %ld words, but config.json's vocab_size is %d", vocab_path,
                (long)qt_word_vocab_size(im->vocab), im->cfg.vocab_size);
        goto fail;
    }
    if (!(im->ck = qt_ckpt_open(dir, e)))
        goto fail;
    qt_bilstm_param ps[QT_BILSTM_MAX_PARAMS];
    int n = qt_bilstm_params(&im->cfg, &im->w, ps);
    for (int i = 0; i < n; i++) {
        *ps[i].slot = qt_ckpt_tensor(im->ck, ps[i].name, (size_t)ps[i].ndim, ps[i].dims, e);
        if (!*ps[i].slot)
            goto fail;
    }
    if (qt_ckpt_check_unused(im->ck, e) != 0)
        goto fail;
    qt_model_info_init(&m->info, dir, config, "bilstm");
    m->info.n_params = (long long)qt_ckpt_param_count(im->ck);
    return m;
fail:
    bilstm_free(m);
    return NULL;
}

const qt_bilstm_config *qt_bilstm_model_config(const qt_model *m)
{
    return &((const bilstm_impl *)m->impl)->cfg;
}

const qt_bilstm_weights *qt_bilstm_model_weights(const qt_model *m)
{
    return &((const bilstm_impl *)m->impl)->w;
}

const qt_word_vocab *qt_bilstm_model_vocab(const qt_model *m)
{
    return ((const bilstm_impl *)m->impl)->vocab;
}
