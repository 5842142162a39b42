/* BertForQuestionAnswering training: the batch forward with saved
 * activations, the span loss and the backward (bert_train.h). The backward
 * is the forward read bottom to top, one src/nn op's backward per forward
 * op (as llm.c does).
 *
 * Attention runs head-major ([B, H, T, head_dim] copies of Q, K, V) so that
 * each product is one batched matmul of nn/linear.h and dropout can sit on
 * the probabilities between the softmax and the product with V, where
 * transformers puts it; nn/attention.h has no place for that dropout. */
#include <math.h>
#include <string.h>

#include "models/bert_train.h"
#include "nn/linear.h"
#include "nn/ops.h"

/* Bytes of one arena block: arena blocks are QT_NN_ALIGN-aligned. */
static size_t blk(size_t bytes)
{
    return (bytes + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
}

size_t qt_bert_train_forward_bytes(const qt_bert_train_config *c, int batch, int seq_len)
{
    const size_t n = (size_t)batch * seq_len, h = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t att = (size_t)batch * c->num_heads * seq_len * seq_len;
    const size_t F = sizeof(float);
    size_t s = blk(n) + blk(n * 4) + 2 * blk(n * h * F) + 2 * blk(n * F) + blk(n * h); /* embeddings */
    size_t layer = 3 * blk(n * h * F) + blk(att * F) + blk(att) + blk(n * h * F) + blk(n * h) +
                   2 * blk(n * h * F) + 2 * blk(n * F) + blk(n * I * F) + blk(n * h) + 2 * blk(n * h * F) +
                   2 * blk(n * F);
    s += (size_t)c->num_layers * layer;
    s += 2 * blk(n * F); /* logits */
    /* scratch: one projection, the head-major context, GELU output, dropped
     * probabilities, the [n, 2] logits */
    s += 2 * blk(n * h * F) + blk(n * I * F) + blk(att * F) + blk(2 * n * F);
    return s + 4 * QT_NN_ALIGN;
}

size_t qt_bert_train_backward_bytes(const qt_bert_train_config *c, int batch, int seq_len)
{
    const size_t n = (size_t)batch * seq_len, h = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t att = (size_t)batch * c->num_heads * seq_len * seq_len;
    const size_t F = sizeof(float);
    return 14 * blk(n * h * F) + 2 * blk(n * I * F) + 3 * blk(att * F) + blk(2 * n * F) + blk(n * 4) +
           4 * QT_NN_ALIGN;
}

typedef struct carver {
    qt_arena *a;
    int ok;
} carver;

static float *fl(carver *cv, size_t n)
{
    float *p = qt_arena_floats(cv->a, n ? n : 1);
    if (!p)
        cv->ok = 0;
    return p;
}

static uint8_t *by(carver *cv, size_t n)
{
    /* bytes through the float allocator: a quarter as many floats, rounded up */
    return (uint8_t *)fl(cv, (n + 3) / 4);
}

/* tokens x (H * hd)  <->  [B, H, T, hd], times s */
static void to_heads(float *dst, const float *src, int B, int T, int H, int hd, float s)
{
    const int h = H * hd;
    for (int b = 0; b < B; b++)
        for (int hh = 0; hh < H; hh++)
            for (int t = 0; t < T; t++) {
                const float *in = src + ((size_t)b * T + t) * h + (size_t)hh * hd;
                float *out = dst + (((size_t)b * H + hh) * T + t) * hd;
                for (int d = 0; d < hd; d++)
                    out[d] = in[d] * s;
            }
}

static void from_heads(float *dst, const float *src, int B, int T, int H, int hd, float s)
{
    const int h = H * hd;
    for (int b = 0; b < B; b++)
        for (int hh = 0; hh < H; hh++)
            for (int t = 0; t < T; t++) {
                const float *in = src + (((size_t)b * H + hh) * T + t) * hd;
                float *out = dst + ((size_t)b * T + t) * h + (size_t)hh * hd;
                for (int d = 0; d < hd; d++)
                    out[d] = in[d] * s;
            }
}

static void zero(float *p, size_t n)
{
    memset(p, 0, n * sizeof(float));
}

static int check_batch(const qt_bert_train_config *c, const qt_bert_train_batch *b, qt_err *e)
{
    if (b->batch < 1 || b->seq_len < 1)
        return qt_fail(e, "empty batch (%d sequences of %d tokens)", b->batch, b->seq_len);
    if (b->seq_len > c->max_position_embeddings)
        return qt_fail(e, "%d tokens are more than the %d positions", b->seq_len, c->max_position_embeddings);
    for (int s = 0; s < b->batch; s++) {
        if (b->lens[s] < 1 || b->lens[s] > b->seq_len)
            return qt_fail(e, "sequence %d: length %d is outside [1, %d]", s, b->lens[s], b->seq_len);
        for (int t = 0; t < b->seq_len; t++) {
            int i = s * b->seq_len + t;
            if (b->ids[i] < 0 || b->ids[i] >= c->vocab_size)
                return qt_fail(e, "sequence %d: id %d at position %d is outside the vocabulary of %d", s,
                               b->ids[i], t, c->vocab_size);
            if (b->types[i] < 0 || b->types[i] >= c->type_vocab_size)
                return qt_fail(e, "sequence %d: token type %d at position %d is outside [0, %d)", s,
                               b->types[i], t, c->type_vocab_size);
        }
    }
    return 0;
}

int qt_bert_train_forward(const qt_bert_train_config *c, const qt_bert_train_weights *w,
                          const qt_bert_train_batch *b, int training, qt_rng *rng, qt_arena *arena,
                          qt_bert_train_acts *acts, qt_err *e)
{
    if (check_batch(c, b, e) < 0)
        return -1;
    const int B = b->batch, T = b->seq_len, h = c->hidden_size, H = c->num_heads, hd = h / H;
    const int I = c->intermediate_size;
    const size_t n = (size_t)B * T, att = (size_t)B * H * T * T;
    const int hid_on = training && c->hidden_dropout > 0.0f, att_on = training && c->attention_dropout > 0.0f;
    const float hp = c->hidden_dropout, ap = c->attention_dropout;
    memset(acts, 0, sizeof *acts);
    acts->batch = B, acts->seq_len = T, acts->training = training;
    acts->hidden_p = hid_on ? hp : 0.0f, acts->attn_p = att_on ? ap : 0.0f;
    carver cv = {arena, 1};
    /* scratch first, then what backward reads */
    float *s_proj = fl(&cv, n * h), *s_ctxh = fl(&cv, n * h), *s_gelu = fl(&cv, n * I);
    float *s_drop = att_on ? fl(&cv, att) : NULL, *s_logits = fl(&cv, 2 * n);
    acts->key_mask = by(&cv, n);
    acts->pos_ids = (int32_t *)fl(&cv, n);
    acts->emb = fl(&cv, n * h), acts->x0 = fl(&cv, n * h);
    acts->emb_mean = fl(&cv, n), acts->emb_rstd = fl(&cv, n);
    acts->emb_mask = hid_on ? by(&cv, n * h) : NULL;
    if (!cv.ok)
        return qt_fail(e, "internal error: arena too small for a forward of %d x %d tokens", B, T);
    for (int s = 0; s < B; s++)
        for (int t = 0; t < T; t++) {
            acts->key_mask[s * T + t] = t < b->lens[s];
            acts->pos_ids[s * T + t] = t;
        }

    /* embeddings: word + position + token type, LayerNorm, dropout */
    qt_embedding_forward(acts->emb, b->ids, w->word, (int)n, h, c->vocab_size);
    qt_embedding_forward(s_proj, acts->pos_ids, w->pos, (int)n, h, c->max_position_embeddings);
    qt_add_forward(acts->emb, acts->emb, s_proj, n * h);
    qt_embedding_forward(s_proj, b->types, w->type, (int)n, h, c->type_vocab_size);
    qt_add_forward(acts->emb, acts->emb, s_proj, n * h);
    qt_layernorm_forward(acts->x0, acts->emb_mean, acts->emb_rstd, acts->emb, w->emb_ln_w, w->emb_ln_b, (int)n,
                         h, c->layer_norm_eps);
    qt_dropout_forward(acts->x0, acts->emb_mask, acts->x0, n * h, hp, hid_on, rng);

    const float scale = 1.0f / sqrtf((float)hd);
    float *x = acts->x0;
    for (int l = 0; l < c->num_layers; l++) {
        const qt_bert_train_layer *L = &w->layers[l];
        qt_bert_train_layer_acts *A = &acts->layers[l];
        A->x_in = x;
        A->qh = fl(&cv, n * h), A->kh = fl(&cv, n * h), A->vh = fl(&cv, n * h);
        A->probs = fl(&cv, att);
        A->probs_mask = att_on ? by(&cv, att) : NULL;
        A->ctx = fl(&cv, n * h);
        A->attn_mask = hid_on ? by(&cv, n * h) : NULL;
        A->t1 = fl(&cv, n * h), A->mean1 = fl(&cv, n), A->rstd1 = fl(&cv, n), A->x1 = fl(&cv, n * h);
        A->f = fl(&cv, n * I);
        A->ffn_mask = hid_on ? by(&cv, n * h) : NULL;
        A->t2 = fl(&cv, n * h), A->mean2 = fl(&cv, n), A->rstd2 = fl(&cv, n), A->x_out = fl(&cv, n * h);
        if (!cv.ok)
            return qt_fail(e, "internal error: arena too small for a forward of %d x %d tokens", B, T);

        /* self-attention; the 1/sqrt(hd) scale is folded into Q */
        qt_linear_forward(s_proj, x, L->wq, L->bq, (int)n, h, h);
        to_heads(A->qh, s_proj, B, T, H, hd, scale);
        qt_linear_forward(s_proj, x, L->wk, L->bk, (int)n, h, h);
        to_heads(A->kh, s_proj, B, T, H, hd, 1.0f);
        qt_linear_forward(s_proj, x, L->wv, L->bv, (int)n, h, h);
        to_heads(A->vh, s_proj, B, T, H, hd, 1.0f);
        qt_bmm_forward(A->probs, A->qh, A->kh, B * H, T, T, hd, 0, 1);
        for (int s = 0; s < B; s++) /* padded keys get probability 0 */
            for (size_t r = (size_t)s * H * T; r < (size_t)(s + 1) * H * T; r++)
                for (int j = b->lens[s]; j < T; j++)
                    A->probs[r * T + j] = -INFINITY;
        qt_softmax_forward(A->probs, A->probs, NULL, B * H * T, T);
        const float *p_used = A->probs;
        if (att_on) {
            qt_dropout_forward(s_drop, A->probs_mask, A->probs, att, ap, 1, rng);
            p_used = s_drop;
        }
        qt_bmm_forward(s_ctxh, p_used, A->vh, B * H, T, hd, T, 0, 0);
        from_heads(A->ctx, s_ctxh, B, T, H, hd, 1.0f);

        /* x1 = LN1(x + dropout(ctx Wo^T + bo)) */
        qt_linear_forward(A->t1, A->ctx, L->wo, L->bo, (int)n, h, h);
        qt_dropout_forward(A->t1, A->attn_mask, A->t1, n * h, hp, hid_on, rng);
        qt_add_forward(A->t1, A->t1, x, n * h);
        qt_layernorm_forward(A->x1, A->mean1, A->rstd1, A->t1, L->ln1_w, L->ln1_b, (int)n, h, c->layer_norm_eps);

        /* x_out = LN2(x1 + dropout(gelu(x1 Wi^T + bi) Wf^T + bf)) */
        qt_linear_forward(A->f, A->x1, L->wi, L->bi, (int)n, h, I);
        qt_gelu_forward(s_gelu, A->f, n * I);
        qt_linear_forward(A->t2, s_gelu, L->wf, L->bf, (int)n, I, h);
        qt_dropout_forward(A->t2, A->ffn_mask, A->t2, n * h, hp, hid_on, rng);
        qt_add_forward(A->t2, A->t2, A->x1, n * h);
        qt_layernorm_forward(A->x_out, A->mean2, A->rstd2, A->t2, L->ln2_w, L->ln2_b, (int)n, h,
                             c->layer_norm_eps);
        x = A->x_out;
    }

    acts->start = fl(&cv, n), acts->end = fl(&cv, n);
    if (!cv.ok)
        return qt_fail(e, "internal error: arena too small for a forward of %d x %d tokens", B, T);
    qt_linear_forward(s_logits, x, w->qa_w, w->qa_b, (int)n, h, 2);
    for (size_t i = 0; i < n; i++) {
        acts->start[i] = s_logits[2 * i];
        acts->end[i] = s_logits[2 * i + 1];
    }
    return 0;
}

/* Cross-entropy of one sequence's logits [0, len) against target, in
 * double; d = weight * (softmax - onehot) (d is zero beyond len). */
static double ce_one(const float *logits, int len, int target, double weight, float *d)
{
    double mx = logits[0];
    for (int t = 1; t < len; t++)
        mx = logits[t] > mx ? logits[t] : mx;
    double sum = 0.0;
    for (int t = 0; t < len; t++)
        sum += exp((double)logits[t] - mx);
    double lse = mx + log(sum);
    for (int t = 0; t < len; t++)
        d[t] = (float)(weight * (exp((double)logits[t] - lse) - (t == target)));
    return lse - logits[target];
}

double qt_bert_train_loss(const qt_bert_train_acts *acts, const int32_t *lens, const int32_t *starts,
                          const int32_t *ends, double weight, float *dstart, float *dend)
{
    const int B = acts->batch, T = acts->seq_len;
    zero(dstart, (size_t)B * T);
    zero(dend, (size_t)B * T);
    double total = 0.0;
    /* each CE counts half, and the loss is the mean over sequences */
    const double w = weight / (2.0 * B);
    for (int s = 0; s < B; s++) {
        int st = starts[s] < 0 ? 0 : starts[s], en = ends[s] < 0 ? 0 : ends[s];
        if (st >= lens[s] || en >= lens[s])
            return NAN;
        size_t o = (size_t)s * T;
        total += 0.5 * ce_one(acts->start + o, lens[s], st, w, dstart + o);
        total += 0.5 * ce_one(acts->end + o, lens[s], en, w, dend + o);
    }
    return total / B;
}

int qt_bert_train_backward(const qt_bert_train_config *c, const qt_bert_train_weights *w,
                           const qt_bert_train_batch *b, const qt_bert_train_acts *acts,
                           const float *dstart, const float *dend, qt_bert_train_weights *g,
                           qt_arena *arena, qt_err *e)
{
    const size_t n = (size_t)acts->batch * acts->seq_len, nh = n * c->hidden_size;
    size_t mark = qt_arena_mark(arena);
    carver cv = {arena, 1};
    float *dx = fl(&cv, nh), *dlog = fl(&cv, 2 * n);
    if (!cv.ok) {
        qt_arena_reset(arena, mark);
        return qt_fail(e, "internal error: arena too small for a backward of %d x %d tokens", acts->batch,
                       acts->seq_len);
    }
    /* the QA head */
    for (size_t i = 0; i < n; i++) {
        dlog[2 * i] = dstart[i];
        dlog[2 * i + 1] = dend[i];
    }
    const float *x_top = qt_bert_train_top(c, acts);
    zero(dx, nh);
    qt_linear_backward(dx, g->qa_w, g->qa_b, dlog, x_top, w->qa_w, (int)n, c->hidden_size, 2);
    int rc = qt_bert_train_backward_hidden(c, w, b, acts, dx, g, arena, e);
    qt_arena_reset(arena, mark);
    return rc;
}

int qt_bert_train_backward_hidden(const qt_bert_train_config *c, const qt_bert_train_weights *w,
                                  const qt_bert_train_batch *b, const qt_bert_train_acts *acts,
                                  const float *dx_top, qt_bert_train_weights *g, qt_arena *arena, qt_err *e)
{
    const int B = acts->batch, T = acts->seq_len, h = c->hidden_size, H = c->num_heads, hd = h / H;
    const int I = c->intermediate_size;
    const size_t n = (size_t)B * T, nh = n * h, att = (size_t)B * H * T * T;
    const int hid_on = acts->hidden_p > 0.0f, att_on = acts->attn_p > 0.0f;
    const float hp = acts->hidden_p, ap = acts->attn_p;
    size_t mark = qt_arena_mark(arena);
    carver cv = {arena, 1};
    float *dx = fl(&cv, nh), *dx_next = fl(&cv, nh), *dt = fl(&cv, nh), *dx1 = fl(&cv, nh);
    float *dtmp = fl(&cv, nh), *dctx = fl(&cv, nh), *dq = fl(&cv, nh), *dk = fl(&cv, nh), *dv = fl(&cv, nh);
    float *dqh = fl(&cv, nh), *dkh = fl(&cv, nh), *dvh = fl(&cv, nh), *dctxh = fl(&cv, nh);
    float *dI = fl(&cv, n * I), *sI = fl(&cv, n * I);
    float *sa = fl(&cv, att), *sb = fl(&cv, att), *sc = att_on ? fl(&cv, att) : NULL;
    int32_t *word_ids = (int32_t *)fl(&cv, n);
    if (!cv.ok) {
        qt_arena_reset(arena, mark);
        return qt_fail(e, "internal error: arena too small for a backward of %d x %d tokens", B, T);
    }
    memcpy(dx, dx_top, nh * sizeof(float));

    const float scale = 1.0f / sqrtf((float)hd);
    for (int l = c->num_layers - 1; l >= 0; l--) {
        const qt_bert_train_layer *L = &w->layers[l];
        qt_bert_train_layer *G = &g->layers[l];
        const qt_bert_train_layer_acts *A = &acts->layers[l];

        /* x_out = LN2(t2), t2 = x1 + dropout(o), o = gelu(f) Wf^T + bf */
        zero(dt, nh);
        qt_layernorm_backward(dt, G->ln2_w, G->ln2_b, dx, A->t2, L->ln2_w, A->mean2, A->rstd2, (int)n, h);
        memcpy(dx1, dt, nh * sizeof(float));
        zero(dtmp, nh);
        qt_dropout_backward(dtmp, dt, A->ffn_mask, nh, hp, hid_on);
        qt_gelu_forward(sI, A->f, n * I); /* recomputed rather than kept */
        zero(dI, n * I);
        qt_linear_backward(dI, G->wf, G->bf, dtmp, sI, L->wf, (int)n, I, h);
        zero(sI, n * I);
        qt_gelu_backward(sI, dI, A->f, n * I);
        qt_linear_backward(dx1, G->wi, G->bi, sI, A->x1, L->wi, (int)n, h, I);

        /* x1 = LN1(t1), t1 = x_in + dropout(ctx Wo^T + bo) */
        zero(dt, nh);
        qt_layernorm_backward(dt, G->ln1_w, G->ln1_b, dx1, A->t1, L->ln1_w, A->mean1, A->rstd1, (int)n, h);
        memcpy(dx_next, dt, nh * sizeof(float));
        zero(dtmp, nh);
        qt_dropout_backward(dtmp, dt, A->attn_mask, nh, hp, hid_on);
        zero(dctx, nh);
        qt_linear_backward(dctx, G->wo, G->bo, dtmp, A->ctx, L->wo, (int)n, h, h);

        /* ctx = dropout(P) V, P = softmax(Q K^T (scaled) + key mask) */
        to_heads(dctxh, dctx, B, T, H, hd, 1.0f);
        const float *p_used = A->probs;
        if (att_on) { /* the dropped probabilities, rebuilt from the mask */
            const float keep = 1.0f / (1.0f - ap);
            for (size_t i = 0; i < att; i++)
                sc[i] = A->probs_mask[i] ? A->probs[i] * keep : 0.0f;
            p_used = sc;
        }
        zero(sb, att);
        zero(dvh, nh);
        qt_bmm_backward(sb, dvh, dctxh, p_used, A->vh, B * H, T, hd, T, 0, 0);
        float *dp = sb, *ds = sa;
        if (att_on) {
            zero(sa, att);
            qt_dropout_backward(sa, sb, A->probs_mask, att, ap, 1);
            dp = sa;
            ds = sc; /* the rebuilt probabilities are no longer needed */
        }
        zero(ds, att);
        qt_softmax_backward(ds, dp, A->probs, B * H * T, T);
        zero(dqh, nh);
        zero(dkh, nh);
        qt_bmm_backward(dqh, dkh, ds, A->qh, A->kh, B * H, T, T, hd, 0, 1);
        from_heads(dq, dqh, B, T, H, hd, scale);
        from_heads(dk, dkh, B, T, H, hd, 1.0f);
        from_heads(dv, dvh, B, T, H, hd, 1.0f);
        qt_linear_backward(dx_next, G->wq, G->bq, dq, A->x_in, L->wq, (int)n, h, h);
        qt_linear_backward(dx_next, G->wk, G->bk, dk, A->x_in, L->wk, (int)n, h, h);
        qt_linear_backward(dx_next, G->wv, G->bv, dv, A->x_in, L->wv, (int)n, h, h);
        float *swap = dx;
        dx = dx_next;
        dx_next = swap;
    }

    /* x0 = dropout(LN(word + pos + type)) */
    zero(dt, nh);
    qt_dropout_backward(dt, dx, acts->emb_mask, nh, hp, hid_on);
    zero(dtmp, nh);
    qt_layernorm_backward(dtmp, g->emb_ln_w, g->emb_ln_b, dt, acts->emb, w->emb_ln_w, acts->emb_mean,
                          acts->emb_rstd, (int)n, h);
    /* the [PAD] row gets no gradient (nn.Embedding's padding_idx): its id
     * becomes -1, which the embedding backward skips */
    for (size_t i = 0; i < n; i++)
        word_ids[i] = b->ids[i] == c->pad_token_id ? -1 : b->ids[i];
    qt_embedding_backward(g->word, dtmp, word_ids, (int)n, h, c->vocab_size);
    qt_embedding_backward(g->pos, dtmp, acts->pos_ids, (int)n, h, c->max_position_embeddings);
    qt_embedding_backward(g->type, dtmp, b->types, (int)n, h, c->type_vocab_size);
    qt_arena_reset(arena, mark);
    return 0;
}
