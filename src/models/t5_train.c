/* T5 for training (t5_train.h): config, parameter table, init, weights on
 * disk, and the batch forward that keeps its activations. The backward and
 * the loss are in t5_train_backward.c. */
#include "models/t5_train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/checkpoint.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/relpos.h"
#include "nn/safetensors.h"
#include "util/json.h"

/* ---- config ---- */

void qt_t5t_config_default(qt_t5t_config *c)
{
    *c = (qt_t5t_config){
        .vocab = 0, .d_model = 256, .d_kv = 32, .d_ff = 768, .heads = 4, .n_enc = 3, .n_dec = 3,
        .buckets = 32, .max_distance = 128, .eps = 1e-6f, .dropout = 0.1f,
        .pad_id = 0, .eos_id = 1, .start_id = 0,
    };
}

static int get_int(const cJSON *j, const char *key, const char *name, int *out, qt_err *e)
{
    e->msg[0] = 0;
    const cJSON *v = qt_json_opt(j, key, cJSON_Number, name, "$", e);
    if (!v)
        return e->msg[0] ? -1 : 0;
    if (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
        return qt_fail(e, "%s: at $.%s: expected an integer, got %g", name, key, v->valuedouble);
    *out = (int)v->valuedouble;
    return 0;
}

int qt_t5t_config_from_json(const cJSON *j, const char *name, qt_t5t_config *c, qt_err *e)
{
    int pad = c->pad_id, eos = c->eos_id, start = c->start_id;
    if (get_int(j, "vocab_size", name, &c->vocab, e) || get_int(j, "d_model", name, &c->d_model, e) ||
        get_int(j, "d_kv", name, &c->d_kv, e) || get_int(j, "d_ff", name, &c->d_ff, e) ||
        get_int(j, "num_heads", name, &c->heads, e) || get_int(j, "num_layers", name, &c->n_enc, e))
        return -1;
    c->n_dec = c->n_enc;
    if (get_int(j, "num_decoder_layers", name, &c->n_dec, e) ||
        get_int(j, "relative_attention_num_buckets", name, &c->buckets, e) ||
        get_int(j, "relative_attention_max_distance", name, &c->max_distance, e) ||
        qt_json_opt_float(j, "layer_norm_epsilon", name, "$", &c->eps, e) ||
        qt_json_opt_float(j, "dropout_rate", name, "$", &c->dropout, e) ||
        get_int(j, "pad_token_id", name, &pad, e) || get_int(j, "eos_token_id", name, &eos, e))
        return -1;
    start = pad;
    if (get_int(j, "decoder_start_token_id", name, &start, e))
        return -1;
    c->pad_id = pad, c->eos_id = eos, c->start_id = start;
    e->msg[0] = 0;
    const cJSON *proj = qt_json_opt(j, "feed_forward_proj", cJSON_String, name, "$", e);
    if (!proj && e->msg[0])
        return -1;
    if (proj && strcmp(proj->valuestring, "relu") != 0)
        return qt_fail(e, "%s: at $.feed_forward_proj: only \"relu\" can be trained, got \"%.40s\"", name,
                       proj->valuestring);
    const char *must_be_true[] = {"tie_word_embeddings", "is_encoder_decoder"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = qt_json_opt(j, must_be_true[i], cJSON_True | cJSON_False, name, "$", e);
        if (!v && e->msg[0])
            return -1;
        if (v && !cJSON_IsTrue(v))
            return qt_fail(e, "%s: at $.%s: only true can be trained", name, must_be_true[i]);
    }
    return 0;
}

int qt_t5t_config_check(const qt_t5t_config *c, const char *name, qt_err *e)
{
    struct {
        const char *key;
        long v, lo, hi;
    } r[] = {
        {"vocab_size", c->vocab, 4, 1 << 22},     {"d_model", c->d_model, 1, 8192},
        {"d_kv", c->d_kv, 1, 1024},               {"d_ff", c->d_ff, 1, 65536},
        {"num_heads", c->heads, 1, 128},          {"num_layers", c->n_enc, 1, QT_T5T_MAX_LAYERS},
        {"num_decoder_layers", c->n_dec, 1, QT_T5T_MAX_LAYERS},
        {"relative_attention_num_buckets", c->buckets, 4, 4096},
        {"relative_attention_max_distance", c->max_distance, 1, 1 << 20},
        {"pad_token_id", c->pad_id, 0, c->vocab - 1}, {"eos_token_id", c->eos_id, 0, c->vocab - 1},
        {"decoder_start_token_id", c->start_id, 0, c->vocab - 1},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++)
        if (r[i].v < r[i].lo || r[i].v > r[i].hi)
            return qt_fail(e, "%s: at $.%s: %ld is outside %ld..%ld", name, r[i].key, r[i].v, r[i].lo, r[i].hi);
    if (c->max_distance <= c->buckets / 2)
        return qt_fail(e, "%s: at $.relative_attention_max_distance: %d must be more than half of the %d buckets",
                       name, c->max_distance, c->buckets);
    if (!(c->eps > 0 && c->eps < 1))
        return qt_fail(e, "%s: at $.layer_norm_epsilon: expected a small positive number", name);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return qt_fail(e, "%s: at $.dropout_rate: expected 0 <= p < 1, got %g", name, c->dropout);
    return 0;
}

cJSON *qt_t5t_config_to_json(const qt_t5t_config *c)
{
    cJSON *j = qt_json_hf_config_new("T5ForConditionalGeneration", "t5");
    if (!j)
        return NULL;
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab);
    cJSON_AddNumberToObject(j, "d_model", c->d_model);
    cJSON_AddNumberToObject(j, "d_kv", c->d_kv);
    cJSON_AddNumberToObject(j, "d_ff", c->d_ff);
    cJSON_AddNumberToObject(j, "num_layers", c->n_enc);
    cJSON_AddNumberToObject(j, "num_decoder_layers", c->n_dec);
    cJSON_AddNumberToObject(j, "num_heads", c->heads);
    cJSON_AddNumberToObject(j, "relative_attention_num_buckets", c->buckets);
    cJSON_AddNumberToObject(j, "relative_attention_max_distance", c->max_distance);
    cJSON_AddNumberToObject(j, "dropout_rate", qt_json_short_float(c->dropout));
    cJSON_AddNumberToObject(j, "layer_norm_epsilon", qt_json_short_float(c->eps));
    /* "1.0", not 1: transformers' strict config classes refuse an int here */
    cJSON_AddRawToObject(j, "initializer_factor", "1.0");
    cJSON_AddStringToObject(j, "feed_forward_proj", "relu");
    cJSON_AddBoolToObject(j, "is_encoder_decoder", 1);
    cJSON_AddBoolToObject(j, "tie_word_embeddings", 1);
    cJSON_AddBoolToObject(j, "use_cache", 1);
    cJSON_AddNumberToObject(j, "pad_token_id", c->pad_id);
    cJSON_AddNumberToObject(j, "eos_token_id", c->eos_id);
    cJSON_AddNumberToObject(j, "decoder_start_token_id", c->start_id);
    return j;
}

/* ---- the parameter table ---- */

/* What a tensor is, for its init and its weight decay. */
enum { K_EMB, K_REL, K_LN, K_Q, K_KV, K_O, K_WI, K_WO };

typedef void (*visit_fn)(void *ctx, const char *name, size_t d0, size_t d1, int kind, float **slot);

typedef struct walker {
    visit_fn f;
    void *ctx;
} walker;

static void visit(walker *wk, size_t d0, size_t d1, int kind, float **slot, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void visit(walker *wk, size_t d0, size_t d1, int kind, float **slot, const char *fmt, ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    wk->f(wk->ctx, name, d0, d1, kind, slot);
}

static void visit_attention(walker *wk, const qt_t5t_config *c, const char *block, int sub, float **ln, float **q,
                            float **k, float **v, float **o)
{
    size_t D = (size_t)c->d_model, I = (size_t)c->heads * c->d_kv;
    const char *kind = sub == 0 ? "SelfAttention" : "EncDecAttention";
    visit(wk, D, 0, K_LN, ln, "%s.layer.%d.layer_norm.weight", block, sub);
    visit(wk, I, D, K_Q, q, "%s.layer.%d.%s.q.weight", block, sub, kind);
    visit(wk, I, D, K_KV, k, "%s.layer.%d.%s.k.weight", block, sub, kind);
    visit(wk, I, D, K_KV, v, "%s.layer.%d.%s.v.weight", block, sub, kind);
    visit(wk, D, I, K_O, o, "%s.layer.%d.%s.o.weight", block, sub, kind);
}

/* Every tensor in the flat buffer's order. */
static void walk(const qt_t5t_config *c, qt_t5t_weights *w, visit_fn f, void *ctx)
{
    walker wk = {f, ctx};
    size_t D = (size_t)c->d_model, F = (size_t)c->d_ff;
    visit(&wk, (size_t)c->vocab, D, K_EMB, &w->shared, "shared.weight");
    for (int s = 0; s < 2; s++) {
        const char *stack = s == 0 ? "encoder" : "decoder";
        int n = s == 0 ? c->n_enc : c->n_dec;
        qt_t5t_layer *L = s == 0 ? w->enc : w->dec;
        visit(&wk, (size_t)c->buckets, (size_t)c->heads, K_REL, s == 0 ? &w->enc_rel : &w->dec_rel,
              "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight", stack);
        for (int l = 0; l < n; l++) {
            char block[48];
            snprintf(block, sizeof block, "%s.block.%d", stack, l);
            visit_attention(&wk, c, block, 0, &L[l].sa_ln, &L[l].sa_q, &L[l].sa_k, &L[l].sa_v, &L[l].sa_o);
            if (s == 1)
                visit_attention(&wk, c, block, 1, &L[l].ca_ln, &L[l].ca_q, &L[l].ca_k, &L[l].ca_v, &L[l].ca_o);
            int ff = s == 0 ? 1 : 2;
            visit(&wk, D, 0, K_LN, &L[l].ff_ln, "%s.layer.%d.layer_norm.weight", block, ff);
            visit(&wk, F, D, K_WI, &L[l].wi, "%s.layer.%d.DenseReluDense.wi.weight", block, ff);
            visit(&wk, D, F, K_WO, &L[l].wo, "%s.layer.%d.DenseReluDense.wo.weight", block, ff);
        }
        visit(&wk, D, 0, K_LN, s == 0 ? &w->enc_final : &w->dec_final, "%s.final_layer_norm.weight", stack);
    }
}

typedef struct list_ctx {
    qt_t5t_param *out;
    int n;
    size_t off;
} list_ctx;

static void list_visit(void *ctx, const char *name, size_t d0, size_t d1, int kind, float **slot)
{
    (void)slot;
    list_ctx *lc = ctx;
    size_t numel = d0 * (d1 ? d1 : 1);
    if (lc->out) {
        qt_t5t_param *p = &lc->out[lc->n];
        snprintf(p->name, sizeof p->name, "%s", name);
        p->ndim = d1 ? 2 : 1;
        p->dims[0] = d0;
        p->dims[1] = d1;
        p->numel = numel;
        p->offset = lc->off;
        p->decay = kind != K_LN && kind != K_REL;
    }
    lc->n++;
    lc->off += numel;
}

int qt_t5t_params(const qt_t5t_config *c, qt_t5t_param *out)
{
    qt_t5t_weights dummy;
    list_ctx lc = {out, 0, 0};
    walk(c, &dummy, list_visit, &lc);
    return lc.n;
}

size_t qt_t5t_param_floats(const qt_t5t_config *c)
{
    qt_t5t_weights dummy;
    list_ctx lc = {NULL, 0, 0};
    walk(c, &dummy, list_visit, &lc);
    return lc.off;
}

typedef struct bind_ctx {
    float *flat;
    size_t off;
} bind_ctx;

static void bind_visit(void *ctx, const char *name, size_t d0, size_t d1, int kind, float **slot)
{
    (void)name, (void)kind;
    bind_ctx *bc = ctx;
    *slot = bc->flat + bc->off;
    bc->off += d0 * (d1 ? d1 : 1);
}

void qt_t5t_bind(const qt_t5t_config *c, qt_t5t_weights *w, float *flat)
{
    memset(w, 0, sizeof *w);
    bind_ctx bc = {flat, 0};
    walk(c, w, bind_visit, &bc);
}

typedef struct init_ctx {
    const qt_t5t_config *c;
    qt_rng *rng;
} init_ctx;

static void init_visit(void *ctx, const char *name, size_t d0, size_t d1, int kind, float **slot)
{
    (void)name;
    init_ctx *ic = ctx;
    double D = ic->c->d_model, dk = ic->c->d_kv, I = (double)ic->c->heads * dk, F = ic->c->d_ff;
    size_t n = d0 * (d1 ? d1 : 1);
    double std = 0;
    switch (kind) {
    case K_LN:
        for (size_t i = 0; i < n; i++)
            (*slot)[i] = 1.0f;
        return;
    case K_EMB: std = 1.0; break;
    case K_REL: std = 1 / sqrt(D); break;
    case K_Q: std = 1 / sqrt(D * dk); break;
    case K_KV: std = 1 / sqrt(D); break;
    case K_O: std = 1 / sqrt(I); break;
    case K_WI: std = 1 / sqrt(D); break;
    case K_WO: std = 1 / sqrt(F); break;
    }
    qt_rng_fill_normal(ic->rng, *slot, n, 0.0f, (float)std);
}

void qt_t5t_init_weights(const qt_t5t_config *c, const qt_t5t_weights *w, qt_rng *rng)
{
    qt_t5t_weights copy = *w; /* walk wants slots; the pointers stay as they are */
    init_ctx ic = {c, rng};
    walk(c, &copy, init_visit, &ic);
}

int qt_t5t_save_weights(const qt_t5t_config *c, const float *flat, const char *path, qt_err *e)
{
    qt_t5t_param *ps = malloc(QT_T5T_MAX_PARAMS * sizeof *ps);
    qt_st_out *outs = malloc(QT_T5T_MAX_PARAMS * sizeof *outs);
    int rc = -1;
    if (!ps || !outs) {
        qt_fail(e, "out of memory");
    } else {
        int n = qt_t5t_params(c, ps);
        for (int i = 0; i < n; i++)
            outs[i] = (qt_st_out){ps[i].name, QT_DT_F32, (size_t)ps[i].ndim, ps[i].dims, flat + ps[i].offset};
        rc = qt_safetensors_write(path, outs, (size_t)n, NULL, 0, e);
    }
    free(ps);
    free(outs);
    return rc;
}

int qt_t5t_load_weights(const qt_t5t_config *c, float *flat, const char *dir, qt_err *e)
{
    qt_ckpt *ck = qt_ckpt_open(dir, e);
    qt_t5t_param *ps = malloc(QT_T5T_MAX_PARAMS * sizeof *ps);
    int rc = -1;
    if (!ck || !ps) {
        if (ck)
            qt_fail(e, "out of memory");
        goto done;
    }
    int n = qt_t5t_params(c, ps);
    for (int i = 0; i < n; i++) {
        const float *src = qt_ckpt_tensor(ck, ps[i].name, (size_t)ps[i].ndim, ps[i].dims, e);
        if (!src)
            goto done;
        memcpy(flat + ps[i].offset, src, ps[i].numel * sizeof *flat);
    }
    /* the tied copies some writers keep */
    qt_ckpt_skip(ck, "encoder.embed_tokens.weight");
    qt_ckpt_skip(ck, "decoder.embed_tokens.weight");
    qt_ckpt_skip(ck, "lm_head.weight");
    rc = qt_ckpt_check_unused(ck, e);
done:
    free(ps);
    if (ck)
        qt_ckpt_close(ck);
    return rc;
}

/* ---- activations ---- */

/* Hands out arena blocks, or only counts their bytes (a == NULL). */
typedef struct planner {
    qt_arena *a;
    size_t bytes;
    int full;
} planner;

static void *take(planner *p, size_t bytes)
{
    size_t rounded = (bytes + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
    p->bytes += rounded ? rounded : QT_NN_ALIGN;
    if (!p->a)
        return NULL;
    void *r = qt_arena_floats(p->a, (bytes + sizeof(float) - 1) / sizeof(float));
    if (!r)
        p->full = 1;
    return r;
}

static float *take_f(planner *p, size_t n)
{
    return take(p, n * sizeof(float));
}

static uint8_t *take_mask(planner *p, size_t n, int drop)
{
    return drop ? take(p, n) : NULL;
}

static void plan_attn(planner *p, const qt_t5t_config *c, qt_t5t_attn_acts *A, int B, int tq, int tk, int drop)
{
    size_t D = (size_t)c->d_model, I = (size_t)c->heads * c->d_kv, Nq = (size_t)B * tq, Nk = (size_t)B * tk;
    size_t np = (size_t)B * c->heads * tq * tk;
    A->x = take_f(p, Nq * D);
    A->rstd = take_f(p, Nq);
    A->h = take_f(p, Nq * D);
    A->qh = take_f(p, Nq * I);
    A->kh = take_f(p, Nk * I);
    A->vh = take_f(p, Nk * I);
    A->p = take_f(p, np);
    A->p_mask = take_mask(p, np, drop);
    A->ctx = take_f(p, Nq * I);
    A->o_mask = take_mask(p, Nq * D, drop);
}

static void plan_ff(planner *p, const qt_t5t_config *c, qt_t5t_ff_acts *F, size_t N, int drop)
{
    size_t D = (size_t)c->d_model, Fd = (size_t)c->d_ff;
    F->x = take_f(p, N * D);
    F->rstd = take_f(p, N);
    F->h = take_f(p, N * D);
    F->pre = take_f(p, N * Fd);
    F->act = take_f(p, N * Fd);
    F->act_mask = take_mask(p, N * Fd, drop);
    F->o_mask = take_mask(p, N * D, drop);
}

/* The forward's scratch: token-major q/k/v, a sublayer's output, the
 * dropped-out probabilities, P v before the heads are merged. */
typedef struct fwd_scratch {
    float *q, *k, *v, *out, *p_drop, *ctxh;
} fwd_scratch;

static void plan_all(planner *p, const qt_t5t_config *c, int B, int Te, int Td, int drop, qt_t5t_acts *a,
                     fwd_scratch *s)
{
    size_t D = (size_t)c->d_model, H = (size_t)c->heads, I = H * c->d_kv, V = (size_t)c->vocab;
    size_t Ne = (size_t)B * Te, Nd = (size_t)B * Td, N = Ne > Nd ? Ne : Nd;
    a->enc_bias = take_f(p, H * Te * Te);
    a->dec_bias = take_f(p, H * Td * Td);
    a->enc_emb_mask = take_mask(p, Ne * D, drop);
    a->dec_emb_mask = take_mask(p, Nd * D, drop);
    for (int l = 0; l < c->n_enc; l++) {
        plan_attn(p, c, &a->enc[l].sa, B, Te, Te, drop);
        plan_ff(p, c, &a->enc[l].ff, Ne, drop);
    }
    a->enc_x = take_f(p, Ne * D);
    a->enc_rstd = take_f(p, Ne);
    a->enc_mask = take_mask(p, Ne * D, drop);
    a->enc_out = take_f(p, Ne * D);
    for (int l = 0; l < c->n_dec; l++) {
        plan_attn(p, c, &a->dec[l].sa, B, Td, Td, drop);
        plan_attn(p, c, &a->dec[l].ca, B, Td, Te, drop);
        plan_ff(p, c, &a->dec[l].ff, Nd, drop);
    }
    a->dec_x = take_f(p, Nd * D);
    a->dec_rstd = take_f(p, Nd);
    a->dec_mask = take_mask(p, Nd * D, drop);
    a->dec_h = take_f(p, Nd * D);
    a->logits = take_f(p, Nd * V);
    a->probs = take_f(p, Nd * V);
    a->dlogits = take_f(p, Nd * V);
    size_t tk = (size_t)Te > (size_t)Td ? (size_t)Te : (size_t)Td;
    s->q = take_f(p, N * I);
    s->k = take_f(p, N * I);
    s->v = take_f(p, N * I);
    s->out = take_f(p, N * D);
    s->p_drop = take_f(p, (size_t)B * H * tk * tk);
    s->ctxh = take_f(p, N * I);
}

size_t qt_t5t_forward_bytes(const qt_t5t_config *c, int B, int Te, int Td, int training)
{
    planner p = {NULL, 0, 0};
    qt_t5t_acts a;
    fwd_scratch s;
    plan_all(&p, c, B, Te, Td, training && c->dropout > 0, &a, &s);
    return p.bytes;
}

/* ---- forward ---- */

void qt_t5t_split_heads(float *dst, const float *src, int B, int T, int heads, int dk)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < heads; h++)
                memcpy(dst + (((size_t)b * heads + h) * T + t) * dk,
                       src + ((size_t)b * T + t) * heads * dk + (size_t)h * dk, (size_t)dk * sizeof *dst);
}

void qt_t5t_merge_heads(float *dst, const float *src, int B, int T, int heads, int dk)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < heads; h++)
                memcpy(dst + ((size_t)b * T + t) * heads * dk + (size_t)h * dk,
                       src + (((size_t)b * heads + h) * T + t) * dk, (size_t)dk * sizeof *dst);
}

typedef struct fwd {
    const qt_t5t_config *c;
    int B, drop;
    qt_rng *rng;
    fwd_scratch s;
} fwd;

/* x_next = A->x + drop(o(attention(rms(A->x)))). kv_src: the keys' and
 * values' input (the encoder output), NULL for self-attention. Scores get
 * bias[h] (NULL: none), -inf on keys at or past key_len[b] (NULL: none) and
 * on future keys when causal. */
static void attn_forward(fwd *f, const float *ln, const float *wq, const float *wk, const float *wv,
                         const float *wo, qt_t5t_attn_acts *A, const float *kv_src, int tq, int tk,
                         const float *bias, const int32_t *key_len, int causal, float *x_next)
{
    const qt_t5t_config *c = f->c;
    int B = f->B, D = c->d_model, H = c->heads, dk = c->d_kv, I = H * dk;
    int Nq = B * tq, Nk = B * tk;
    qt_rmsnorm_forward(A->h, A->rstd, A->x, ln, Nq, D, c->eps);
    const float *src = kv_src ? kv_src : A->h;
    qt_linear_forward(f->s.q, A->h, wq, NULL, Nq, D, I);
    qt_linear_forward(f->s.k, src, wk, NULL, Nk, D, I);
    qt_linear_forward(f->s.v, src, wv, NULL, Nk, D, I);
    qt_t5t_split_heads(A->qh, f->s.q, B, tq, H, dk);
    qt_t5t_split_heads(A->kh, f->s.k, B, tk, H, dk);
    qt_t5t_split_heads(A->vh, f->s.v, B, tk, H, dk);
    /* scores, unscaled (T5) */
    qt_bmm_forward(A->p, A->qh, A->kh, B * H, tq, tk, dk, 0, 1);
    for (int b = 0; b < B; b++) {
        int valid = key_len ? key_len[b] : tk;
        for (int h = 0; h < H; h++)
            for (int i = 0; i < tq; i++) {
                float *row = A->p + (((size_t)b * H + h) * tq + i) * tk;
                if (bias) {
                    const float *br = bias + ((size_t)h * tq + i) * tk;
                    for (int j = 0; j < tk; j++)
                        row[j] += br[j];
                }
                int end = causal && i + 1 < valid ? i + 1 : valid;
                for (int j = end; j < tk; j++)
                    row[j] = -INFINITY;
            }
    }
    size_t np = (size_t)B * H * tq * tk;
    qt_softmax_forward(A->p, A->p, NULL, B * H * tq, tk);
    const float *pd = A->p;
    if (f->drop) {
        qt_dropout_forward(f->s.p_drop, A->p_mask, A->p, np, c->dropout, 1, f->rng);
        pd = f->s.p_drop;
    }
    qt_bmm_forward(f->s.ctxh, pd, A->vh, B * H, tq, dk, tk, 0, 0);
    qt_t5t_merge_heads(A->ctx, f->s.ctxh, B, tq, H, dk);
    qt_linear_forward(f->s.out, A->ctx, wo, NULL, Nq, I, D);
    qt_dropout_forward(f->s.out, A->o_mask, f->s.out, (size_t)Nq * D, c->dropout, f->drop, f->rng);
    qt_add_forward(x_next, A->x, f->s.out, (size_t)Nq * D);
}

/* x_next = F->x + drop(wo drop(relu(wi rms(F->x)))). */
static void ff_forward(fwd *f, const qt_t5t_layer *L, qt_t5t_ff_acts *F, int N, float *x_next)
{
    const qt_t5t_config *c = f->c;
    int D = c->d_model, Fd = c->d_ff;
    qt_rmsnorm_forward(F->h, F->rstd, F->x, L->ff_ln, N, D, c->eps);
    qt_linear_forward(F->pre, F->h, L->wi, NULL, N, D, Fd);
    qt_relu_forward(F->act, F->pre, (size_t)N * Fd);
    qt_dropout_forward(F->act, F->act_mask, F->act, (size_t)N * Fd, c->dropout, f->drop, f->rng);
    qt_linear_forward(f->s.out, F->act, L->wo, NULL, N, Fd, D);
    qt_dropout_forward(f->s.out, F->o_mask, f->s.out, (size_t)N * D, c->dropout, f->drop, f->rng);
    qt_add_forward(x_next, F->x, f->s.out, (size_t)N * D);
}

int qt_t5t_forward(const qt_t5t_config *c, const qt_t5t_weights *w, const qt_t5t_batch *b, int training,
                   qt_rng *rng, qt_arena *arena, qt_t5t_acts *acts, qt_err *e)
{
    int B = b->B, Te = b->Te, Td = b->Td, D = c->d_model, V = c->vocab;
    int drop = training && c->dropout > 0;
    if (B < 1 || Te < 1 || Td < 1)
        return qt_fail(e, "T5 training: empty batch (%d x %d encoder, %d decoder tokens)", B, Te, Td);
    for (int i = 0; i < B; i++)
        if (b->enc_len[i] < 1 || b->enc_len[i] > Te)
            return qt_fail(e, "T5 training: sequence %d has %d encoder tokens (1..%d)", i, b->enc_len[i], Te);
    memset(acts, 0, sizeof *acts);
    acts->B = B, acts->Te = Te, acts->Td = Td, acts->training = drop;
    fwd f = {c, B, drop, rng, {0}};
    planner p = {arena, 0, 0};
    plan_all(&p, c, B, Te, Td, drop, acts, &f.s);
    if (p.full)
        return qt_fail(e, "T5 training: the arena (%zu bytes) is too small for a batch of %d x %d + %d tokens",
                       arena->cap, B, Te, Td);
    size_t Ne = (size_t)B * Te, Nd = (size_t)B * Td;

    /* encoder */
    float *x = c->n_enc ? acts->enc[0].sa.x : acts->enc_x;
    if (qt_embedding_forward(x, b->enc_ids, w->shared, (int)Ne, D, V) != 0)
        return qt_fail(e, "T5 training: an encoder token id is outside the %d-row embedding table", V);
    qt_dropout_forward(x, acts->enc_emb_mask, x, Ne * D, c->dropout, drop, rng);
    qt_t5_relpos_forward(acts->enc_bias, w->enc_rel, c->heads, Te, Te, 0, 1, c->buckets, c->max_distance);
    for (int l = 0; l < c->n_enc; l++) {
        const qt_t5t_layer *L = &w->enc[l];
        qt_t5t_block_acts *A = &acts->enc[l];
        attn_forward(&f, L->sa_ln, L->sa_q, L->sa_k, L->sa_v, L->sa_o, &A->sa, NULL, Te, Te, acts->enc_bias,
                     b->enc_len, 0, A->ff.x);
        ff_forward(&f, L, &A->ff, (int)Ne, l + 1 < c->n_enc ? acts->enc[l + 1].sa.x : acts->enc_x);
    }
    qt_rmsnorm_forward(acts->enc_out, acts->enc_rstd, acts->enc_x, w->enc_final, (int)Ne, D, c->eps);
    qt_dropout_forward(acts->enc_out, acts->enc_mask, acts->enc_out, Ne * D, c->dropout, drop, rng);

    /* decoder */
    float *y = acts->dec[0].sa.x;
    if (qt_embedding_forward(y, b->dec_ids, w->shared, (int)Nd, D, V) != 0)
        return qt_fail(e, "T5 training: a decoder token id is outside the %d-row embedding table", V);
    qt_dropout_forward(y, acts->dec_emb_mask, y, Nd * D, c->dropout, drop, rng);
    qt_t5_relpos_forward(acts->dec_bias, w->dec_rel, c->heads, Td, Td, 0, 0, c->buckets, c->max_distance);
    for (int l = 0; l < c->n_dec; l++) {
        const qt_t5t_layer *L = &w->dec[l];
        qt_t5t_block_acts *A = &acts->dec[l];
        attn_forward(&f, L->sa_ln, L->sa_q, L->sa_k, L->sa_v, L->sa_o, &A->sa, NULL, Td, Td, acts->dec_bias, NULL,
                     1, A->ca.x);
        attn_forward(&f, L->ca_ln, L->ca_q, L->ca_k, L->ca_v, L->ca_o, &A->ca, acts->enc_out, Td, Te, NULL,
                     b->enc_len, 0, A->ff.x);
        ff_forward(&f, L, &A->ff, (int)Nd, l + 1 < c->n_dec ? acts->dec[l + 1].sa.x : acts->dec_x);
    }
    qt_rmsnorm_forward(acts->dec_h, acts->dec_rstd, acts->dec_x, w->dec_final, (int)Nd, D, c->eps);
    qt_dropout_forward(acts->dec_h, acts->dec_mask, acts->dec_h, Nd * D, c->dropout, drop, rng);
    /* tied lm head: T5 rescales by d_model^-0.5 first */
    float scale = 1.0f / sqrtf((float)D);
    for (size_t i = 0; i < Nd * D; i++)
        acts->dec_h[i] *= scale;
    qt_linear_forward(acts->logits, acts->dec_h, w->shared, NULL, (int)Nd, D, V);
    return 0;
}
