/* T5 for training (t5_train.h): the loss and the backward, the forward of
 * t5_train.c read from the top down. Every nn op adds into its gradient
 * buffers, so the residual stream's gradient lives in one buffer per stack
 * (dx): each sublayer's branch adds its part into it, which turns the
 * gradient at the sublayer's output into the gradient at its input. */
#include <math.h>
#include <string.h>

#include "models/t5_internal.h"
#include "models/t5_train.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/relpos.h"

/* ---- the loss ---- */

double qt_t5t_loss(const qt_t5t_config *c, const qt_t5t_batch *b, qt_t5t_acts *acts, float grad_scale, int *count)
{
    int rows = b->B * b->Td, V = c->vocab;
    float mean;
    int n = qt_cross_entropy_forward(&mean, acts->probs, acts->logits, b->targets, rows, V, -1);
    *count = n < 0 ? 0 : n;
    memset(acts->dlogits, 0, (size_t)rows * V * sizeof(float));
    if (n < 0)
        return NAN;
    double sum = 0.0; /* in double, for the gradient check's differences */
    for (int r = 0; r < rows; r++)
        if (b->targets[r] >= 0)
            sum -= qt_t5_logprob(acts->logits + (size_t)r * V, V, b->targets[r]);
    /* the op divides by its own count: give it count * grad_scale */
    qt_cross_entropy_backward(acts->dlogits, grad_scale * (float)n, acts->probs, b->targets, rows, V, -1);
    return sum;
}

/* ---- scratch ---- */

/* Arena blocks, or only their bytes when a is NULL. */
typedef struct bplan {
    qt_arena *a;
    size_t bytes;
    int full;
} bplan;

static float *bt(bplan *p, size_t n)
{
    size_t bytes = (n * sizeof(float) + QT_NN_ALIGN - 1) / QT_NN_ALIGN * QT_NN_ALIGN;
    p->bytes += bytes ? bytes : QT_NN_ALIGN;
    if (!p->a)
        return NULL;
    float *r = qt_arena_floats_zero(p->a, n);
    if (!r)
        p->full = 1;
    return r;
}

typedef struct attn_scratch {
    float *d_out, *d_ctx, *d_ctxh, *dqh, *dkh, *dvh, *dtok, *p_drop, *s1, *s2, *d_h;
} attn_scratch;

static void plan_attn(bplan *p, const qt_t5t_config *c, int B, int tq, int tk, int drop, attn_scratch *s)
{
    size_t D = (size_t)c->d_model, I = (size_t)c->heads * c->d_kv, Nq = (size_t)B * tq, Nk = (size_t)B * tk;
    size_t np = (size_t)B * c->heads * tq * tk;
    s->d_out = bt(p, Nq * D);
    s->d_ctx = bt(p, Nq * I);
    s->d_ctxh = bt(p, Nq * I);
    s->dqh = bt(p, Nq * I);
    s->dkh = bt(p, Nk * I);
    s->dvh = bt(p, Nk * I);
    s->dtok = bt(p, (Nq > Nk ? Nq : Nk) * I);
    s->p_drop = drop ? bt(p, np) : NULL;
    s->s1 = bt(p, np);
    s->s2 = bt(p, np);
    s->d_h = bt(p, Nq * D);
}

typedef struct ff_scratch {
    float *d_out, *d1, *d2, *d_h;
} ff_scratch;

static void plan_ff(bplan *p, const qt_t5t_config *c, size_t N, ff_scratch *s)
{
    s->d_out = bt(p, N * c->d_model);
    s->d1 = bt(p, N * c->d_ff);
    s->d2 = bt(p, N * c->d_ff);
    s->d_h = bt(p, N * c->d_model);
}

typedef struct bwd_global {
    float *d_hs, *d_hn, *dx_dec, *d_enc_out, *d_en, *dx_enc, *d_emb, *d_enc_bias, *d_dec_bias;
} bwd_global;

static void plan_global(bplan *p, const qt_t5t_config *c, int B, int Te, int Td, bwd_global *g)
{
    size_t D = (size_t)c->d_model, H = (size_t)c->heads, Ne = (size_t)B * Te, Nd = (size_t)B * Td;
    g->d_hs = bt(p, Nd * D);
    g->d_hn = bt(p, Nd * D);
    g->dx_dec = bt(p, Nd * D);
    g->d_enc_out = bt(p, Ne * D);
    g->d_en = bt(p, Ne * D);
    g->dx_enc = bt(p, Ne * D);
    g->d_emb = bt(p, (Ne > Nd ? Ne : Nd) * D);
    g->d_enc_bias = bt(p, H * Te * Te);
    g->d_dec_bias = bt(p, H * Td * Td);
}

size_t qt_t5t_work_bytes(const qt_t5t_config *c, int B, int Te, int Td, int training)
{
    int drop = training && c->dropout > 0;
    bplan g = {NULL, 0, 0}, s1 = {NULL, 0, 0}, s2 = {NULL, 0, 0}, s3 = {NULL, 0, 0}, s4 = {NULL, 0, 0};
    bwd_global gl;
    attn_scratch as;
    ff_scratch fs;
    plan_global(&g, c, B, Te, Td, &gl);
    plan_attn(&s1, c, B, Te, Te, drop, &as);
    plan_attn(&s2, c, B, Td, Td, drop, &as);
    plan_attn(&s3, c, B, Td, Te, drop, &as);
    size_t N = (size_t)B * (Te > Td ? Te : Td);
    plan_ff(&s4, c, N, &fs);
    size_t most = s1.bytes;
    most = s2.bytes > most ? s2.bytes : most;
    most = s3.bytes > most ? s3.bytes : most;
    most = s4.bytes > most ? s4.bytes : most;
    return qt_t5t_forward_bytes(c, B, Te, Td, training) + g.bytes + most;
}

/* ---- sublayers ---- */

typedef struct bwd {
    const qt_t5t_config *c;
    int B, drop;
    qt_arena *arena;
} bwd;

static int arena_full(const bwd *bw, qt_err *e)
{
    return qt_fail(e, "T5 training: the arena (%zu bytes) is too small for the backward", bw->arena->cap);
}

/* The attention sublayer of attn_forward (t5_train.c). On entry dx holds
 * the gradient at the sublayer's output; on return, at its input. The keys'
 * and values' input gradient goes to d_kv_src for cross-attention (kv_src
 * not NULL), into the sublayer's own norm otherwise. d_bias: [heads, tq, tk]
 * (summed over the batch) or NULL. */
static int attn_backward(const bwd *bw, const float *ln, const float *wq, const float *wk, const float *wv,
                         const float *wo, float *g_ln, float *g_q, float *g_k, float *g_v, float *g_o,
                         const qt_t5t_attn_acts *A, const float *kv_src, float *d_kv_src, int tq, int tk,
                         float *d_bias, float *dx, qt_err *e)
{
    const qt_t5t_config *c = bw->c;
    int B = bw->B, D = c->d_model, H = c->heads, dk = c->d_kv, I = H * dk;
    int Nq = B * tq, Nk = B * tk;
    size_t np = (size_t)B * H * tq * tk, mark = qt_arena_mark(bw->arena);
    bplan p = {bw->arena, 0, 0};
    attn_scratch s;
    plan_attn(&p, c, B, tq, tk, bw->drop, &s);
    if (p.full)
        return arena_full(bw, e);
    /* x_next = x + drop(ctx Wo^T) */
    qt_dropout_backward(s.d_out, dx, A->o_mask, (size_t)Nq * D, c->dropout, bw->drop);
    qt_linear_backward(s.d_ctx, g_o, NULL, s.d_out, A->ctx, wo, Nq, I, D);
    qt_t5t_split_heads(s.d_ctxh, s.d_ctx, B, tq, H, dk);
    /* ctx = drop(P) v: the dropped-out P is rebuilt from P and its mask */
    const float *pd = A->p;
    if (bw->drop) {
        qt_dropout_backward(s.p_drop, A->p, A->p_mask, np, c->dropout, 1);
        pd = s.p_drop;
    }
    qt_bmm_backward(s.s1, s.dvh, s.d_ctxh, pd, A->vh, B * H, tq, dk, tk, 0, 0);
    float *dP = s.s1, *dS = s.s2;
    if (bw->drop) {
        qt_dropout_backward(s.s2, s.s1, A->p_mask, np, c->dropout, 1);
        memset(s.s1, 0, np * sizeof(float));
        dP = s.s2, dS = s.s1;
    }
    /* P = softmax(q k^T + bias + mask) */
    qt_softmax_backward(dS, dP, A->p, B * H * tq, tk);
    if (d_bias)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                const float *src = dS + ((size_t)b * H + h) * tq * tk;
                float *dst = d_bias + (size_t)h * tq * tk;
                for (size_t i = 0; i < (size_t)tq * tk; i++)
                    dst[i] += src[i];
            }
    qt_bmm_backward(s.dqh, s.dkh, dS, A->qh, A->kh, B * H, tq, tk, dk, 0, 1);
    /* the projections */
    const float *src = kv_src ? kv_src : A->h;
    float *d_src = kv_src ? d_kv_src : s.d_h;
    qt_t5t_merge_heads(s.dtok, s.dqh, B, tq, H, dk);
    qt_linear_backward(s.d_h, g_q, NULL, s.dtok, A->h, wq, Nq, D, I);
    qt_t5t_merge_heads(s.dtok, s.dkh, B, tk, H, dk);
    qt_linear_backward(d_src, g_k, NULL, s.dtok, src, wk, Nk, D, I);
    qt_t5t_merge_heads(s.dtok, s.dvh, B, tk, H, dk);
    qt_linear_backward(d_src, g_v, NULL, s.dtok, src, wv, Nk, D, I);
    /* h = rms(x) */
    qt_rmsnorm_backward(dx, g_ln, s.d_h, A->x, ln, A->rstd, Nq, D);
    qt_arena_reset(bw->arena, mark);
    return 0;
}

/* The feed-forward sublayer of ff_forward; dx as in attn_backward. */
static int ff_backward(const bwd *bw, const qt_t5t_layer *L, const qt_t5t_layer *G, const qt_t5t_ff_acts *F, int N,
                       float *dx, qt_err *e)
{
    const qt_t5t_config *c = bw->c;
    int D = c->d_model, Fd = c->d_ff;
    size_t nf = (size_t)N * Fd, mark = qt_arena_mark(bw->arena);
    bplan p = {bw->arena, 0, 0};
    ff_scratch s;
    plan_ff(&p, c, (size_t)N, &s);
    if (p.full)
        return arena_full(bw, e);
    qt_dropout_backward(s.d_out, dx, F->o_mask, (size_t)N * D, c->dropout, bw->drop);
    qt_linear_backward(s.d1, G->wo, NULL, s.d_out, F->act, L->wo, N, Fd, D);
    /* act = drop(relu(pre)) */
    float *d_relu = s.d1, *d_pre = s.d2;
    if (bw->drop) {
        qt_dropout_backward(s.d2, s.d1, F->act_mask, nf, c->dropout, 1);
        memset(s.d1, 0, nf * sizeof(float));
        d_relu = s.d2, d_pre = s.d1;
    }
    qt_relu_backward(d_pre, d_relu, F->pre, nf);
    qt_linear_backward(s.d_h, G->wi, NULL, d_pre, F->h, L->wi, N, D, Fd);
    qt_rmsnorm_backward(dx, G->ff_ln, s.d_h, F->x, L->ff_ln, F->rstd, N, D);
    qt_arena_reset(bw->arena, mark);
    return 0;
}

/* ---- the whole network ---- */

int qt_t5t_backward(const qt_t5t_config *c, const qt_t5t_weights *w, const qt_t5t_batch *b, qt_t5t_acts *acts,
                    const qt_t5t_weights *g, qt_arena *arena, qt_err *e)
{
    int B = b->B, Te = b->Te, Td = b->Td, D = c->d_model, V = c->vocab, H = c->heads;
    size_t Ne = (size_t)B * Te, Nd = (size_t)B * Td;
    bwd bw = {c, B, acts->training, arena};
    size_t mark = qt_arena_mark(arena);
    bplan p = {arena, 0, 0};
    bwd_global gl;
    plan_global(&p, c, B, Te, Td, &gl);
    if (p.full)
        return arena_full(&bw, e);

    /* logits = dec_h shared^T, dec_h = drop(rms(dec_x)) * D^-0.5 */
    qt_linear_backward(gl.d_hs, g->shared, NULL, acts->dlogits, acts->dec_h, w->shared, (int)Nd, D, V);
    float scale = 1.0f / sqrtf((float)D);
    for (size_t i = 0; i < Nd * D; i++)
        gl.d_hs[i] *= scale;
    qt_dropout_backward(gl.d_hn, gl.d_hs, acts->dec_mask, Nd * D, c->dropout, bw.drop);
    qt_rmsnorm_backward(gl.dx_dec, g->dec_final, gl.d_hn, acts->dec_x, w->dec_final, acts->dec_rstd, (int)Nd, D);

    for (int l = c->n_dec - 1; l >= 0; l--) {
        const qt_t5t_layer *L = &w->dec[l], *G = &g->dec[l];
        const qt_t5t_block_acts *A = &acts->dec[l];
        if (ff_backward(&bw, L, G, &A->ff, (int)Nd, gl.dx_dec, e) != 0 ||
            attn_backward(&bw, L->ca_ln, L->ca_q, L->ca_k, L->ca_v, L->ca_o, G->ca_ln, G->ca_q, G->ca_k, G->ca_v,
                          G->ca_o, &A->ca, acts->enc_out, gl.d_enc_out, Td, Te, NULL, gl.dx_dec, e) != 0 ||
            attn_backward(&bw, L->sa_ln, L->sa_q, L->sa_k, L->sa_v, L->sa_o, G->sa_ln, G->sa_q, G->sa_k, G->sa_v,
                          G->sa_o, &A->sa, NULL, NULL, Td, Td, gl.d_dec_bias, gl.dx_dec, e) != 0)
            return -1;
    }
    /* y = drop(shared[dec_ids]) */
    qt_dropout_backward(gl.d_emb, gl.dx_dec, acts->dec_emb_mask, Nd * D, c->dropout, bw.drop);
    qt_embedding_backward(g->shared, gl.d_emb, b->dec_ids, (int)Nd, D, V);
    qt_t5_relpos_backward(g->dec_rel, gl.d_dec_bias, H, Td, Td, 0, 0, c->buckets, c->max_distance);

    /* enc_out = drop(rms(enc_x)) */
    qt_dropout_backward(gl.d_en, gl.d_enc_out, acts->enc_mask, Ne * D, c->dropout, bw.drop);
    qt_rmsnorm_backward(gl.dx_enc, g->enc_final, gl.d_en, acts->enc_x, w->enc_final, acts->enc_rstd, (int)Ne, D);
    for (int l = c->n_enc - 1; l >= 0; l--) {
        const qt_t5t_layer *L = &w->enc[l], *G = &g->enc[l];
        const qt_t5t_block_acts *A = &acts->enc[l];
        if (ff_backward(&bw, L, G, &A->ff, (int)Ne, gl.dx_enc, e) != 0 ||
            attn_backward(&bw, L->sa_ln, L->sa_q, L->sa_k, L->sa_v, L->sa_o, G->sa_ln, G->sa_q, G->sa_k, G->sa_v,
                          G->sa_o, &A->sa, NULL, NULL, Te, Te, gl.d_enc_bias, gl.dx_enc, e) != 0)
            return -1;
    }
    memset(gl.d_emb, 0, Ne * D * sizeof(float));
    qt_dropout_backward(gl.d_emb, gl.dx_enc, acts->enc_emb_mask, Ne * D, c->dropout, bw.drop);
    qt_embedding_backward(g->shared, gl.d_emb, b->enc_ids, (int)Ne, D, V);
    qt_t5_relpos_backward(g->enc_rel, gl.d_enc_bias, H, Te, Te, 0, 1, c->buckets, c->max_distance);
    qt_arena_reset(arena, mark);
    return 0;
}
