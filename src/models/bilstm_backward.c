/* The BiLSTM reader's training loss and backward pass: bilstm_forward.c
 * read from the bottom up, one src/nn backward per forward op. */
#include <math.h>
#include <string.h>

#include "models/bilstm_internal.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/ops.h"

double qt_bilstm_loss(const qt_bilstm_acts *a, const int32_t *c_lens, const int32_t *start_target,
                      const int32_t *end_target, float *dstart, float *dend, float *dnull)
{
    const int B = a->batch, Tc = a->c_len;
    const double scale = 0.5 / B;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        int n = c_lens[b];
        for (int side = 0; side < 2; side++) {
            const float *lg = (side ? a->end : a->start) + (size_t)b * Tc;
            float *dl = (side ? dend : dstart) + (size_t)b * Tc;
            double nul = a->null[2 * b + side];
            int t = side ? end_target[b] : start_target[b];
            if (t < -1 || t >= n || n > Tc)
                return NAN;
            double mx = nul;
            for (int i = 0; i < n; i++)
                mx = lg[i] > mx ? lg[i] : mx;
            double sum = exp(nul - mx);
            for (int i = 0; i < n; i++)
                sum += exp(lg[i] - mx);
            double lse = mx + log(sum);
            total += 0.5 * (lse - (t < 0 ? nul : lg[t]));
            dnull[2 * b + side] += (float)(scale * (exp(nul - lse) - (t < 0)));
            for (int i = 0; i < n; i++)
                dl[i] += (float)(scale * (exp(lg[i] - lse) - (i == t)));
        }
    }
    return total / B;
}

/* Gradient buffers of the activations, carved (and zeroed) per backward. */
typedef struct bl_grads {
    float *start, *end;             /* [B*Tc]: totals on the logits */
    float *na_h, *na_hpre, *na_z;   /* [B, H], [B, H], [B, 8H] */
    float *na_mp, *na_sv, *na_ev;   /* [B, 2H] */
    float *na_ps, *na_pe, *na_pool, *na_pool_pre; /* [B*Tc] */
    float *m;                       /* [B*Tc, 2H] */
    float *q_vec, *start_vec, *end_vec; /* [B, 2H] */
    float *q_attn, *q_attn_pre;     /* [B*Tq] */
    float *hc, *hq;                 /* [B*Tc, 2H], [B*Tq, 2H] */
    float *m_in, *att;              /* [B*Tc, 6H], [B*Tc, 2H] */
    float *co_p, *co_s;             /* [B*Tc, Tq] */
    float *co_yc, *co_yq, *co_yc_pre, *co_yq_pre;
    float *rnn_out[QT_BILSTM_MAX_LAYERS]; /* grads of the inner layers' outputs */
    float *rnn_in;                  /* grad of a layer's dropped input */
    float *c_in, *q_in;
    float *c_emb, *q_emb, *c_emb_pre, *q_emb_pre;
    float *c_char, *q_char;         /* [N, C] */
    float *char_conv, *char_cols;   /* for the larger side */
    float *align_out, *align_p, *align_s, *xc, *xq, *xc_pre, *xq_pre;
} bl_grads;

static void carve_grads(bl_carver *cv, const bl_dims *d, bl_grads *g)
{
    memset(g, 0, sizeof *g);
    size_t B = d->B, BC = B * d->Tc, BQ = B * d->Tq, H2 = d->H2, H = d->H;
    size_t T = d->Tc > d->Tq ? d->Tc : d->Tq, BT = B * T;
    g->start = bl_floats(cv, BC);
    g->end = bl_floats(cv, BC);
    g->na_h = bl_floats(cv, B * H);
    g->na_hpre = bl_floats(cv, B * H);
    g->na_z = bl_floats(cv, B * 4 * H2);
    g->na_mp = bl_floats(cv, B * H2);
    g->na_sv = bl_floats(cv, B * H2);
    g->na_ev = bl_floats(cv, B * H2);
    g->na_ps = bl_floats(cv, BC);
    g->na_pe = bl_floats(cv, BC);
    g->na_pool = bl_floats(cv, BC);
    g->na_pool_pre = bl_floats(cv, BC);
    g->m = bl_floats(cv, BC * H2);
    g->q_vec = bl_floats(cv, B * H2);
    g->start_vec = bl_floats(cv, B * H2);
    g->end_vec = bl_floats(cv, B * H2);
    g->q_attn = bl_floats(cv, BQ);
    g->q_attn_pre = bl_floats(cv, BQ);
    g->hc = bl_floats(cv, BC * H2);
    g->hq = bl_floats(cv, BQ * H2);
    g->m_in = bl_floats(cv, BC * 3 * H2);
    g->att = bl_floats(cv, BC * H2);
    g->co_p = bl_floats(cv, BC * d->Tq);
    g->co_s = bl_floats(cv, BC * d->Tq);
    g->co_yc = bl_floats(cv, BC * H2);
    g->co_yq = bl_floats(cv, BQ * H2);
    g->co_yc_pre = bl_floats(cv, BC * H2);
    g->co_yq_pre = bl_floats(cv, BQ * H2);
    int layers = d->L > d->Lm ? d->L : d->Lm;
    for (int l = 0; l + 1 < layers; l++)
        g->rnn_out[l] = bl_floats(cv, BT * H2);
    size_t max_in = (size_t)d->Cin;
    if ((size_t)3 * H2 > max_in)
        max_in = 3 * H2;
    g->rnn_in = bl_floats(cv, BT * max_in);
    g->c_in = bl_floats(cv, BC * d->Cin);
    g->q_in = bl_floats(cv, BQ * d->Qin);
    g->c_emb = bl_floats(cv, BC * d->D);
    g->q_emb = bl_floats(cv, BQ * d->D);
    g->c_emb_pre = bl_floats(cv, BC * d->D);
    g->q_emb_pre = bl_floats(cv, BQ * d->D);
    if (d->C) {
        size_t N = BC > BQ ? BC : BQ;
        g->c_char = bl_floats(cv, BC * d->C);
        g->q_char = bl_floats(cv, BQ * d->C);
        g->char_conv = bl_floats(cv, N * d->P * d->C);
        g->char_cols = bl_floats(cv, N * d->P * d->CD * d->K);
    }
    g->align_out = bl_floats(cv, BC * d->D);
    g->align_p = bl_floats(cv, BC * d->Tq);
    g->align_s = bl_floats(cv, BC * d->Tq);
    g->xc = bl_floats(cv, BC * d->D);
    g->xq = bl_floats(cv, BQ * d->D);
    g->xc_pre = bl_floats(cv, BC * d->D);
    g->xq_pre = bl_floats(cv, BQ * d->D);
}

size_t qt_bilstm_backward_bytes(const qt_bilstm_config *c, int batch, int c_len, int q_len)
{
    bl_dims d;
    bl_dims_init(&d, c, batch, c_len, q_len);
    bl_carver cv = {NULL, 0, 0};
    bl_grads g;
    carve_grads(&cv, &d, &g);
    return cv.bytes;
}

static void zero(float *p, size_t n)
{
    memset(p, 0, sizeof(float) * n);
}

/* d(ReLU(x W^T + b)) from the output y = ReLU(.): dy -> dy_pre (zeroed first) -> dx, dW, db. */
static void linear_relu_backward(float *dx, float *dw, float *db, float *dy_pre, const float *dy,
                                 const float *x, const float *y, const float *w, int n, int in,
                                 int outf)
{
    zero(dy_pre, (size_t)n * outf);
    qt_relu_backward(dy_pre, dy, y, (size_t)n * outf);
    qt_linear_backward(dx, dw, db, dy_pre, x, w, n, in, outf);
}

/* Through a stack of BiLSTM layers: dtop is the gradient of the top layer's
 * output; the gradient of the stack's input is ADDED to dx0. */
static void rnn_backward(const qt_bilstm_rnn *rw, qt_bilstm_rnn *rg, int layers, int in0,
                         const bl_dims *d, int T, const int32_t *lens,
                         const qt_bilstm_rnn_acts *ra, const float *dtop, float *dx0, float p,
                         int training, float *scratch, const bl_grads *g)
{
    const float *dout = dtop;
    for (int l = layers - 1; l >= 0; l--) {
        int in = l == 0 ? in0 : d->H2;
        size_t n = (size_t)d->B * T * in;
        float *dest = l == 0 ? dx0 : g->rnn_out[l - 1];
        if (l > 0)
            zero(dest, n);
        float *din = training ? g->rnn_in : dest;
        if (training)
            zero(din, n);
        for (int dir = 0; dir < 2; dir++) {
            const qt_bilstm_lstm_dir *lw = &rw->layer[l][dir];
            qt_bilstm_lstm_dir *lg = &rg->layer[l][dir];
            qt_lstm_dims ld = {d->B, T, in, d->H, dir, d->H2};
            qt_lstm_backward(&ld, din, lg->w_ih, lg->w_hh, lg->b_ih, lg->b_hh, scratch,
                             dout + dir * d->H, ra->out[l] + dir * d->H, ra->gates[l][dir],
                             ra->cells[l][dir], ra->in[l], lw->w_ih, lw->w_hh, lens);
        }
        if (training)
            qt_dropout_backward(dest, din, ra->mask[l], n, p, 1);
        dout = dest;
    }
}

static void char_backward(const bl_dims *d, const qt_bilstm_weights *w, qt_bilstm_weights *gw,
                          const int32_t *ids, size_t N, const qt_bilstm_char_acts *ca,
                          const float *dout, const bl_grads *g)
{
    const int CK = d->CD * d->K, C = d->C;
    zero(g->char_conv, N * d->P * C);
    zero(g->char_cols, N * d->P * CK);
    for (size_t n = 0; n < N; n++)
        for (int f = 0; f < C; f++)
            if (ca->out[n * C + f] > 0.0f)
                g->char_conv[(n * d->P + ca->arg[n * C + f]) * C + f] = dout[n * C + f];
    float *dcols = gw->char_embeddings ? g->char_cols : NULL;
    qt_linear_backward(dcols, gw->char_conv_w, gw->char_conv_b, g->char_conv, ca->cols,
                       w->char_conv_w, (int)(N * d->P), CK, C);
    if (!dcols)
        return;
    for (size_t n = 0; n < N; n++)
        for (int p = 0; p < d->P; p++) {
            const float *row = dcols + (n * d->P + p) * CK;
            for (int k = 0; k < d->K; k++) {
                int32_t id = ids[n * d->W + p + k];
                if (id == 0) /* padding_idx: the pad row stays as it is */
                    continue;
                float *de = gw->char_embeddings + (size_t)id * d->CD;
                for (int ch = 0; ch < d->CD; ch++)
                    de[ch] += row[ch * d->K + k];
            }
        }
}

/* Copies columns [from, from + width) of src [rows, stride] into dst [rows, width]. */
static void take_cols(float *dst, const float *src, int rows, int stride, int from, int width)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * width, src + (size_t)r * stride + from,
               sizeof(float) * (size_t)width);
}

static void add_cols(float *dst, const float *src, int rows, int stride, int from, int width)
{
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < width; j++)
            dst[(size_t)r * width + j] += src[(size_t)r * stride + from + j];
}

int qt_bilstm_backward(const qt_bilstm_config *c, const qt_bilstm_weights *w,
                       const qt_bilstm_batch *b, const qt_bilstm_acts *a, const float *dstart,
                       const float *dend, const float *dnull, qt_bilstm_weights *gw,
                       qt_arena *arena, qt_err *e)
{
    bl_dims d;
    bl_dims_init(&d, c, b->batch, b->c_len, b->q_len);
    if (a->batch != d.B || a->c_len != d.Tc || a->q_len != d.Tq)
        return qt_fail(e, "bilstm: backward on a batch that is not the forward's");
    bl_carver cv = {arena, 0, 0};
    bl_grads g;
    carve_grads(&cv, &d, &g);
    if (cv.fail)
        return qt_fail(e, "bilstm: arena too small for the backward (%zu bytes needed)", cv.bytes);
    const int B = d.B, Tc = d.Tc, Tq = d.Tq, D = d.D, H = d.H, H2 = d.H2;
    const int BC = B * Tc, BQ = B * Tq;
    const float p = c->dropout;
    const int training = a->training;
    const float *m = a->m_rnn.out[d.Lm - 1];
    const float *hc = a->c_rnn.out[d.L - 1], *hq = a->q_rnn.out[d.L - 1];

    /* the gradients that are accumulated into start at zero */
    zero(g.start, BC), zero(g.end, BC), zero(g.m, (size_t)BC * H2);
    zero(g.q_vec, (size_t)B * H2), zero(g.hq, (size_t)BQ * H2), zero(g.hc, (size_t)BC * H2);

    /* 9. no-answer head */
    if (dnull) {
        zero(g.na_h, (size_t)B * H);
        qt_linear_backward(g.na_h, gw->na_out_w, gw->na_out_b, dnull, a->na_h, w->na_out_w, B, H,
                           2);
        zero(g.na_z, (size_t)B * 4 * H2);
        linear_relu_backward(g.na_z, gw->na_hidden_w, gw->na_hidden_b, g.na_hpre, g.na_h, a->na_z,
                             a->na_h, w->na_hidden_w, B, 4 * H2, H);
        take_cols(g.na_mp, g.na_z, B, 4 * H2, 0, H2);
        add_cols(g.q_vec, g.na_z, B, 4 * H2, H2, H2);
        take_cols(g.na_sv, g.na_z, B, 4 * H2, 2 * H2, H2);
        take_cols(g.na_ev, g.na_z, B, 4 * H2, 3 * H2, H2);
        zero(g.na_ps, BC), zero(g.na_pe, BC), zero(g.na_pool, BC), zero(g.na_pool_pre, BC);
        qt_bmm_backward(g.na_ps, g.m, g.na_sv, a->na_ps, m, B, 1, H2, Tc, 0, 0);
        qt_bmm_backward(g.na_pe, g.m, g.na_ev, a->na_pe, m, B, 1, H2, Tc, 0, 0);
        qt_softmax_backward(g.start, g.na_ps, a->na_ps, B, Tc);
        qt_softmax_backward(g.end, g.na_pe, a->na_pe, B, Tc);
        qt_bmm_backward(g.na_pool, g.m, g.na_mp, a->na_pool_p, m, B, 1, H2, Tc, 0, 0);
        qt_softmax_backward(g.na_pool_pre, g.na_pool, a->na_pool_p, B, Tc);
        qt_linear_backward(g.m, gw->na_pool_w, gw->na_pool_b, g.na_pool_pre, m, w->na_pool_w, BC,
                           H2, 1);
    }

    /* 8. pointers: padding positions carry no gradient */
    for (int i = 0; i < BC; i++) {
        if (a->mask_c[i]) {
            g.start[i] += dstart ? dstart[i] : 0.0f;
            g.end[i] += dend ? dend[i] : 0.0f;
        } else {
            g.start[i] = g.end[i] = 0.0f;
        }
    }
    zero(g.start_vec, (size_t)B * H2), zero(g.end_vec, (size_t)B * H2);
    qt_bmm_backward(g.m, g.start_vec, g.start, m, a->start_vec, B, Tc, 1, H2, 0, 0);
    qt_bmm_backward(g.m, g.end_vec, g.end, m, a->end_vec, B, Tc, 1, H2, 0, 0);
    qt_linear_backward(g.q_vec, gw->start_w, gw->start_b, g.start_vec, a->q_vec, w->start_w, B, H2,
                       H2);
    qt_linear_backward(g.q_vec, gw->end_w, gw->end_b, g.end_vec, a->q_vec, w->end_w, B, H2, H2);

    /* 7. question vector */
    zero(g.q_attn, BQ), zero(g.q_attn_pre, BQ);
    qt_bmm_backward(g.q_attn, g.hq, g.q_vec, a->q_attn_p, hq, B, 1, H2, Tq, 0, 0);
    qt_softmax_backward(g.q_attn_pre, g.q_attn, a->q_attn_p, B, Tq);
    qt_linear_backward(g.hq, gw->q_attn_w, gw->q_attn_b, g.q_attn_pre, hq, w->q_attn_w, BQ, H2, 1);

    /* 6. modelling */
    zero(g.m_in, (size_t)BC * 3 * H2);
    rnn_backward(&w->model_rnn, &gw->model_rnn, d.Lm, 3 * H2, &d, Tc, b->c_lens, &a->m_rnn, g.m,
                 g.m_in, p, training, a->lstm_scratch, &g);

    /* 5. co-attention: m_in = [hc; att; hc * att] */
    for (int r = 0; r < BC; r++) {
        const float *dm = g.m_in + (size_t)r * 3 * H2;
        const float *h = hc + (size_t)r * H2, *t = a->co_att + (size_t)r * H2;
        float *dh = g.hc + (size_t)r * H2, *dt = g.att + (size_t)r * H2;
        for (int j = 0; j < H2; j++) {
            dh[j] += dm[j] + dm[2 * H2 + j] * t[j];
            dt[j] = dm[H2 + j] + dm[2 * H2 + j] * h[j];
        }
    }
    zero(g.co_p, (size_t)BC * Tq), zero(g.co_s, (size_t)BC * Tq);
    qt_bmm_backward(g.co_p, g.hq, g.att, a->co_p, hq, B, Tc, H2, Tq, 0, 0);
    qt_softmax_backward(g.co_s, g.co_p, a->co_p, BC, Tq);
    zero(g.co_yc, (size_t)BC * H2), zero(g.co_yq, (size_t)BQ * H2);
    qt_bmm_backward(g.co_yc, g.co_yq, g.co_s, a->co_yc, a->co_yq, B, Tc, Tq, H2, 0, 1);
    linear_relu_backward(g.hc, gw->coattn_w, gw->coattn_b, g.co_yc_pre, g.co_yc, hc, a->co_yc,
                         w->coattn_w, BC, H2, H2);
    linear_relu_backward(g.hq, gw->coattn_w, gw->coattn_b, g.co_yq_pre, g.co_yq, hq, a->co_yq,
                         w->coattn_w, BQ, H2, H2);

    /* 4. encoders */
    zero(g.c_in, (size_t)BC * d.Cin), zero(g.q_in, (size_t)BQ * d.Qin);
    rnn_backward(&w->context_rnn, &gw->context_rnn, d.L, d.Cin, &d, Tc, b->c_lens, &a->c_rnn,
                 g.hc, g.c_in, p, training, a->lstm_scratch, &g);
    rnn_backward(&w->question_rnn, &gw->question_rnn, d.L, d.Qin, &d, Tq, b->q_lens, &a->q_rnn,
                 g.hq, g.q_in, p, training, a->lstm_scratch, &g);
    take_cols(g.c_emb, g.c_in, BC, d.Cin, 0, D);
    take_cols(g.align_out, g.c_in, BC, d.Cin, D + d.C, D);
    take_cols(g.q_emb, g.q_in, BQ, d.Qin, 0, D);
    if (d.C) {
        take_cols(g.c_char, g.c_in, BC, d.Cin, D, d.C);
        take_cols(g.q_char, g.q_in, BQ, d.Qin, D, d.C);
    }

    /* 3. aligned question embedding */
    zero(g.align_p, (size_t)BC * Tq), zero(g.align_s, (size_t)BC * Tq);
    qt_bmm_backward(g.align_p, g.q_emb, g.align_out, a->align_p, a->q_emb, B, Tc, D, Tq, 0, 0);
    qt_softmax_backward(g.align_s, g.align_p, a->align_p, BC, Tq);
    zero(g.xc, (size_t)BC * D), zero(g.xq, (size_t)BQ * D);
    qt_bmm_backward(g.xc, g.xq, g.align_s, a->align_xc, a->align_xq, B, Tc, Tq, D, 0, 1);
    linear_relu_backward(g.c_emb, gw->align_w, gw->align_b, g.xc_pre, g.xc, a->c_emb, a->align_xc,
                         w->align_w, BC, D, D);
    linear_relu_backward(g.q_emb, gw->align_w, gw->align_b, g.xq_pre, g.xq, a->q_emb, a->align_xq,
                         w->align_w, BQ, D, D);

    /* 1. embeddings and characters */
    if (gw->embeddings) {
        zero(g.c_emb_pre, (size_t)BC * D), zero(g.q_emb_pre, (size_t)BQ * D);
        qt_dropout_backward(g.c_emb_pre, g.c_emb, a->c_emb_mask, (size_t)BC * D, p, training);
        qt_dropout_backward(g.q_emb_pre, g.q_emb, a->q_emb_mask, (size_t)BQ * D, p, training);
        qt_embedding_backward(gw->embeddings, g.c_emb_pre, b->c_ids, BC, D, d.V);
        qt_embedding_backward(gw->embeddings, g.q_emb_pre, b->q_ids, BQ, D, d.V);
    }
    if (d.C) {
        char_backward(&d, w, gw, b->c_chars, (size_t)BC, &a->c_char, g.c_char, &g);
        char_backward(&d, w, gw, b->q_chars, (size_t)BQ, &a->q_char, g.q_char, &g);
    }
    return 0;
}
