/* The BiLSTM reader's forward pass over a padded batch (bilstm.h). Every
 * activation the backward needs is carved from one arena; input
 * projections run as one sgemm over the whole batch and sequence, the
 * recurrences step by step (nn/lstm.c). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "models/bilstm_internal.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "nn/ops.h"
#include "nn/vecmath.h"

static void carve_rnn(bl_carver *cv, qt_bilstm_rnn_acts *r, int layers, int in0, const bl_dims *d,
                      int T, int training)
{
    memset(r, 0, sizeof *r);
    size_t BT = (size_t)d->B * T;
    for (int l = 0; l < layers; l++) {
        size_t in = l == 0 ? (size_t)in0 : (size_t)d->H2;
        if (training) {
            r->in[l] = bl_floats(cv, BT * in);
            r->mask[l] = bl_carve(cv, BT * in);
        }
        r->out[l] = bl_floats(cv, BT * d->H2);
        for (int dir = 0; dir < 2; dir++) {
            r->gates[l][dir] = bl_floats(cv, BT * d->G);
            r->cells[l][dir] = bl_floats(cv, BT * d->H);
        }
    }
}

static void carve_chars(bl_carver *cv, qt_bilstm_char_acts *ca, const bl_dims *d, size_t N)
{
    memset(ca, 0, sizeof *ca);
    if (!d->C)
        return;
    ca->cols = bl_floats(cv, N * d->P * d->CD * d->K);
    ca->conv = bl_floats(cv, N * d->P * d->C);
    ca->arg = bl_carve(cv, N * d->C * sizeof(int32_t));
    ca->out = bl_floats(cv, N * d->C);
}

/* Lays out every activation; with cv->a NULL only counts. */
static void carve_acts(bl_carver *cv, const bl_dims *d, int training, qt_bilstm_acts *a)
{
    memset(a, 0, sizeof *a);
    size_t B = d->B, BC = B * d->Tc, BQ = B * d->Tq, H2 = d->H2;
    a->batch = d->B, a->c_len = d->Tc, a->q_len = d->Tq, a->training = training;
    a->start = bl_floats(cv, BC);
    a->end = bl_floats(cv, BC);
    a->null = bl_floats(cv, B * 2);
    a->c_emb = bl_floats(cv, BC * d->D);
    a->q_emb = bl_floats(cv, BQ * d->D);
    if (training) {
        a->c_emb_mask = bl_carve(cv, BC * d->D);
        a->q_emb_mask = bl_carve(cv, BQ * d->D);
    }
    carve_chars(cv, &a->c_char, d, BC);
    carve_chars(cv, &a->q_char, d, BQ);
    a->align_xc = bl_floats(cv, BC * d->D);
    a->align_xq = bl_floats(cv, BQ * d->D);
    a->align_p = bl_floats(cv, BC * d->Tq);
    a->align_out = bl_floats(cv, BC * d->D);
    a->c_in = bl_floats(cv, BC * d->Cin);
    a->q_in = bl_floats(cv, BQ * d->Qin);
    carve_rnn(cv, &a->c_rnn, d->L, d->Cin, d, d->Tc, training);
    carve_rnn(cv, &a->q_rnn, d->L, d->Qin, d, d->Tq, training);
    a->co_yc = bl_floats(cv, BC * H2);
    a->co_yq = bl_floats(cv, BQ * H2);
    a->co_p = bl_floats(cv, BC * d->Tq);
    a->co_att = bl_floats(cv, BC * H2);
    a->m_in = bl_floats(cv, BC * 3 * H2);
    carve_rnn(cv, &a->m_rnn, d->Lm, 3 * d->H2, d, d->Tc, training);
    a->q_attn_p = bl_floats(cv, BQ);
    a->q_vec = bl_floats(cv, B * H2);
    a->start_vec = bl_floats(cv, B * H2);
    a->end_vec = bl_floats(cv, B * H2);
    a->na_pool_p = bl_floats(cv, BC);
    a->na_mp = bl_floats(cv, B * H2);
    a->na_ps = bl_floats(cv, BC);
    a->na_pe = bl_floats(cv, BC);
    a->na_sv = bl_floats(cv, B * H2);
    a->na_ev = bl_floats(cv, B * H2);
    a->na_z = bl_floats(cv, B * 4 * H2);
    a->na_h = bl_floats(cv, B * d->H);
    a->mask_cq = bl_carve(cv, BC * d->Tq);
    a->mask_q = bl_carve(cv, BQ);
    a->mask_c = bl_carve(cv, BC);
    a->lstm_scratch = bl_floats(cv, bl_lstm_scratch(d));
}

size_t qt_bilstm_forward_bytes(const qt_bilstm_config *c, int batch, int c_len, int q_len,
                               int training)
{
    bl_dims d;
    bl_dims_init(&d, c, batch, c_len, q_len);
    bl_carver cv = {NULL, 0, 0};
    qt_bilstm_acts a;
    carve_acts(&cv, &d, training, &a);
    return cv.bytes;
}

static int check_ids(const int32_t *ids, size_t n, int limit, const char *what, qt_err *e)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= limit)
            return qt_fail(e, "bilstm: %s %ld at position %zu is outside 0..%d", what,
                           (long)ids[i], i, limit - 1);
    return 0;
}

static int check_batch(const qt_bilstm_config *c, const bl_dims *d, const qt_bilstm_batch *b,
                       qt_err *e)
{
    if (d->B < 1 || d->Tc < 1 || d->Tq < 1)
        return qt_fail(e, "bilstm: empty batch (%d examples, %d x %d words)", d->B, d->Tc, d->Tq);
    if (!b->c_ids || !b->q_ids || !b->c_lens || !b->q_lens)
        return qt_fail(e, "bilstm: batch without ids or lengths");
    if (d->C && (!b->c_chars || !b->q_chars))
        return qt_fail(e, "bilstm: the model has a character CNN but the batch no characters");
    if (d->F && (!b->c_em || !b->q_em))
        return qt_fail(e, "bilstm: the model uses exact-match features but the batch has none");
    for (int i = 0; i < d->B; i++)
        if (b->c_lens[i] < 0 || b->c_lens[i] > d->Tc || b->q_lens[i] < 0 || b->q_lens[i] > d->Tq)
            return qt_fail(e, "bilstm: example %d: lengths %d, %d outside 0..%d, 0..%d", i,
                           b->c_lens[i], b->q_lens[i], d->Tc, d->Tq);
    size_t BC = (size_t)d->B * d->Tc, BQ = (size_t)d->B * d->Tq;
    if (check_ids(b->c_ids, BC, d->V, "context word id", e) ||
        check_ids(b->q_ids, BQ, d->V, "question word id", e))
        return -1;
    if (d->C && (check_ids(b->c_chars, BC * d->W, c->char_vocab_size, "context char id", e) ||
                 check_ids(b->q_chars, BQ * d->W, c->char_vocab_size, "question char id", e)))
        return -1;
    return 0;
}

/* mask[r, j] = j < lens[r / rows_per] for r < rows. */
static void length_mask(uint8_t *mask, const int32_t *lens, int rows, int rows_per, int cols)
{
    for (int r = 0; r < rows; r++) {
        int n = lens[r / rows_per];
        for (int j = 0; j < cols; j++)
            mask[(size_t)r * cols + j] = j < n;
    }
}

/* im2col, Conv1d as one sgemm, max over positions, ReLU. */
static void char_forward(const bl_dims *d, const qt_bilstm_weights *w, const int32_t *ids,
                         size_t N, qt_bilstm_char_acts *ca)
{
    const int CK = d->CD * d->K;
    for (size_t n = 0; n < N; n++)
        for (int p = 0; p < d->P; p++) {
            float *row = ca->cols + (n * d->P + p) * CK;
            for (int k = 0; k < d->K; k++) {
                const float *emb = w->char_embeddings + (size_t)ids[n * d->W + p + k] * d->CD;
                for (int ch = 0; ch < d->CD; ch++)
                    row[ch * d->K + k] = emb[ch];
            }
        }
    qt_linear_forward(ca->conv, ca->cols, w->char_conv_w, w->char_conv_b, (int)(N * d->P), CK,
                      d->C);
    for (size_t n = 0; n < N; n++)
        for (int f = 0; f < d->C; f++) {
            const float *col = ca->conv + n * d->P * d->C + f;
            float best = col[0];
            int arg = 0;
            for (int p = 1; p < d->P; p++)
                if (col[(size_t)p * d->C] > best)
                    best = col[(size_t)p * d->C], arg = p;
            ca->out[n * d->C + f] = best > 0.0f ? best : 0.0f;
            ca->arg[n * d->C + f] = arg;
        }
}

/* Copies the column blocks parts[k] ([rows, widths[k]]) side by side into
 * out [rows, sum of widths]. */
static void concat_cols(float *out, int rows, int n, const float *const *parts, const int *widths)
{
    int total = 0;
    for (int k = 0; k < n; k++)
        total += widths[k];
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * total;
        for (int k = 0; k < n; k++) {
            if (widths[k])
                memcpy(o, parts[k] + (size_t)r * widths[k], sizeof(float) * (size_t)widths[k]);
            o += widths[k];
        }
    }
}

/* qt_lstm_forward for a batch of one sequence of n valid steps, with the
 * same outputs (gates, cells, out; zeros past n), but the recurrent product
 * as one sgemv per step: sgemm with a single row repacks W_hh at every step,
 * which costs as much as the product itself. This is what inference runs. */
QT_VECTORIZE
static void lstm_forward_one(const qt_lstm_dims *d, int n, float *out, float *gates, float *cells,
                             const float *x, const float *w_ih, const float *w_hh,
                             const float *b_ih, const float *b_hh)
{
    const int T = d->len, H = d->hidden, G = 4 * H, os = d->out_stride > 0 ? d->out_stride : H;
    qt_linear_forward(gates, x, w_ih, b_ih, T, d->in, G);
    if (b_hh)
        qt_bias_add_forward(gates, b_hh, T, G);
    memset(cells, 0, sizeof(float) * (size_t)T * H);
    for (int t = 0; t < T; t++)
        memset(out + (size_t)t * os, 0, sizeof(float) * (size_t)H);
    const float *h_prev = NULL, *c_prev = NULL;
    for (int s = 0; s < n; s++) {
        int t = d->reverse ? n - 1 - s : s;
        float *restrict g = gates + (size_t)t * G;
        if (h_prev)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, G, H, 1.0f, w_hh, H, h_prev, 1, 1.0f, g, 1);
        float *restrict c = cells + (size_t)t * H, *restrict h = out + (size_t)t * os;
        /* simple loops, each with one kind of activation, vectorise */
        for (int j = 0; j < 2 * H; j++) /* i, f */
            g[j] = qt_sigmoid(g[j]);
        for (int j = 2 * H; j < 3 * H; j++) /* g */
            g[j] = qt_tanh(g[j]);
        for (int j = 3 * H; j < 4 * H; j++) /* o */
            g[j] = qt_sigmoid(g[j]);
        const float *restrict gi = g, *restrict gf = g + H, *restrict gc = g + 2 * H;
        const float *restrict go = g + 3 * H, *restrict cp = c_prev;
        if (cp)
            for (int j = 0; j < H; j++)
                c[j] = gi[j] * gc[j] + gf[j] * cp[j];
        else
            for (int j = 0; j < H; j++)
                c[j] = gi[j] * gc[j];
        for (int j = 0; j < H; j++)
            h[j] = go[j] * qt_tanh(c[j]);
        h_prev = h, c_prev = c;
    }
    for (int t = n; t < T; t++)
        memset(gates + (size_t)t * G, 0, sizeof(float) * (size_t)G);
}

static int rnn_forward(const qt_bilstm_rnn *rw, int layers, int in0, const bl_dims *d, int T,
                       const float *x, const int32_t *lens, qt_bilstm_rnn_acts *ra, float p,
                       int training, qt_rng *rng, float *scratch, volatile int *cancel, qt_err *e)
{
    for (int l = 0; l < layers; l++) {
        int in = l == 0 ? in0 : d->H2;
        if (training)
            qt_dropout_forward(ra->in[l], ra->mask[l], x, (size_t)d->B * T * in, p, 1, rng);
        else
            ra->in[l] = (float *)x;
        for (int dir = 0; dir < 2; dir++) {
            const qt_bilstm_lstm_dir *lw = &rw->layer[l][dir];
            qt_lstm_dims ld = {d->B, T, in, d->H, dir, d->H2};
            if (d->B == 1)
                lstm_forward_one(&ld, lens[0], ra->out[l] + dir * d->H, ra->gates[l][dir],
                                 ra->cells[l][dir], ra->in[l], lw->w_ih, lw->w_hh, lw->b_ih,
                                 lw->b_hh);
            else
                qt_lstm_forward(&ld, ra->out[l] + dir * d->H, ra->gates[l][dir],
                                ra->cells[l][dir], scratch, ra->in[l], lw->w_ih, lw->w_hh,
                                lw->b_ih, lw->b_hh, lens);
        }
        x = ra->out[l];
        if (cancel && *cancel)
            return qt_fail(e, "cancelled");
    }
    return 0;
}

/* ReLU(x W^T + b) */
static void linear_relu(float *out, const float *x, const float *w, const float *b, int n, int in,
                        int outf)
{
    qt_linear_forward(out, x, w, b, n, in, outf);
    qt_relu_forward(out, out, (size_t)n * outf);
}

int qt_bilstm_forward(const qt_bilstm_config *c, const qt_bilstm_weights *w,
                      const qt_bilstm_batch *b, int training, qt_rng *rng, qt_arena *arena,
                      volatile int *cancel, qt_bilstm_acts *a, qt_err *e)
{
    bl_dims d;
    bl_dims_init(&d, c, b->batch, b->c_len, b->q_len);
    if (check_batch(c, &d, b, e) != 0)
        return -1;
    if (training && c->dropout > 0.0f && !rng)
        return qt_fail(e, "bilstm: training with dropout needs a random generator");
    bl_carver cv = {arena, 0, 0};
    carve_acts(&cv, &d, training, a);
    if (cv.fail)
        return qt_fail(e, "bilstm: arena too small (%zu bytes free, %zu needed)",
                       arena->cap - arena->used, cv.bytes);
    const int B = d.B, Tc = d.Tc, Tq = d.Tq, D = d.D, H2 = d.H2, BC = B * Tc, BQ = B * Tq;
    const float p = c->dropout;
    length_mask(a->mask_cq, b->q_lens, BC, Tc, Tq);
    length_mask(a->mask_q, b->q_lens, B, 1, Tq);
    length_mask(a->mask_c, b->c_lens, B, 1, Tc);

    /* 1. embeddings (ids were checked) and characters */
    qt_embedding_forward(a->c_emb, b->c_ids, w->embeddings, BC, D, d.V);
    qt_embedding_forward(a->q_emb, b->q_ids, w->embeddings, BQ, D, d.V);
    qt_dropout_forward(a->c_emb, a->c_emb_mask, a->c_emb, (size_t)BC * D, p, training, rng);
    qt_dropout_forward(a->q_emb, a->q_emb_mask, a->q_emb, (size_t)BQ * D, p, training, rng);
    if (d.C) {
        char_forward(&d, w, b->c_chars, (size_t)BC, &a->c_char);
        char_forward(&d, w, b->q_chars, (size_t)BQ, &a->q_char);
    }

    /* 3. aligned question embedding */
    linear_relu(a->align_xc, a->c_emb, w->align_w, w->align_b, BC, D, D);
    linear_relu(a->align_xq, a->q_emb, w->align_w, w->align_b, BQ, D, D);
    qt_bmm_forward(a->align_p, a->align_xc, a->align_xq, B, Tc, Tq, D, 0, 1);
    qt_softmax_forward(a->align_p, a->align_p, a->mask_cq, BC, Tq);
    qt_bmm_forward(a->align_out, a->align_p, a->q_emb, B, Tc, D, Tq, 0, 0);

    /* 4. encoders */
    const float *c_parts[] = {a->c_emb, a->c_char.out, a->align_out, b->c_em};
    const int c_widths[] = {D, d.C, D, d.F};
    concat_cols(a->c_in, BC, 4, c_parts, c_widths);
    const float *q_parts[] = {a->q_emb, a->q_char.out, b->q_em};
    const int q_widths[] = {D, d.C, d.F};
    concat_cols(a->q_in, BQ, 3, q_parts, q_widths);
    if (rnn_forward(&w->context_rnn, d.L, d.Cin, &d, Tc, a->c_in, b->c_lens, &a->c_rnn, p,
                    training, rng, a->lstm_scratch, cancel, e) ||
        rnn_forward(&w->question_rnn, d.L, d.Qin, &d, Tq, a->q_in, b->q_lens, &a->q_rnn, p,
                    training, rng, a->lstm_scratch, cancel, e))
        return -1;
    const float *hc = a->c_rnn.out[d.L - 1], *hq = a->q_rnn.out[d.L - 1];

    /* 5. co-attention and the modelling layer's input [hc; att; hc * att] */
    linear_relu(a->co_yc, hc, w->coattn_w, w->coattn_b, BC, H2, H2);
    linear_relu(a->co_yq, hq, w->coattn_w, w->coattn_b, BQ, H2, H2);
    qt_bmm_forward(a->co_p, a->co_yc, a->co_yq, B, Tc, Tq, H2, 0, 1);
    qt_softmax_forward(a->co_p, a->co_p, a->mask_cq, BC, Tq);
    qt_bmm_forward(a->co_att, a->co_p, hq, B, Tc, H2, Tq, 0, 0);
    for (int r = 0; r < BC; r++) {
        float *o = a->m_in + (size_t)r * 3 * H2;
        const float *h = hc + (size_t)r * H2, *t = a->co_att + (size_t)r * H2;
        memcpy(o, h, sizeof(float) * H2);
        memcpy(o + H2, t, sizeof(float) * H2);
        for (int j = 0; j < H2; j++)
            o[2 * H2 + j] = h[j] * t[j];
    }

    /* 6. modelling */
    if (rnn_forward(&w->model_rnn, d.Lm, 3 * H2, &d, Tc, a->m_in, b->c_lens, &a->m_rnn, p,
                    training, rng, a->lstm_scratch, cancel, e))
        return -1;
    const float *m = a->m_rnn.out[d.Lm - 1];

    /* 7. question vector */
    qt_linear_forward(a->q_attn_p, hq, w->q_attn_w, w->q_attn_b, BQ, H2, 1);
    qt_softmax_forward(a->q_attn_p, a->q_attn_p, a->mask_q, B, Tq);
    qt_bmm_forward(a->q_vec, a->q_attn_p, hq, B, 1, H2, Tq, 0, 0);

    /* 8. pointers */
    qt_linear_forward(a->start_vec, a->q_vec, w->start_w, w->start_b, B, H2, H2);
    qt_linear_forward(a->end_vec, a->q_vec, w->end_w, w->end_b, B, H2, H2);
    qt_bmm_forward(a->start, m, a->start_vec, B, Tc, 1, H2, 0, 0);
    qt_bmm_forward(a->end, m, a->end_vec, B, Tc, 1, H2, 0, 0);
    for (int i = 0; i < BC; i++)
        if (!a->mask_c[i])
            a->start[i] = a->end[i] = -INFINITY;

    /* 9. no-answer head */
    qt_linear_forward(a->na_pool_p, m, w->na_pool_w, w->na_pool_b, BC, H2, 1);
    qt_softmax_forward(a->na_pool_p, a->na_pool_p, a->mask_c, B, Tc);
    qt_bmm_forward(a->na_mp, a->na_pool_p, m, B, 1, H2, Tc, 0, 0);
    qt_softmax_forward(a->na_ps, a->start, a->mask_c, B, Tc);
    qt_softmax_forward(a->na_pe, a->end, a->mask_c, B, Tc);
    qt_bmm_forward(a->na_sv, a->na_ps, m, B, 1, H2, Tc, 0, 0);
    qt_bmm_forward(a->na_ev, a->na_pe, m, B, 1, H2, Tc, 0, 0);
    const float *z_parts[] = {a->na_mp, a->q_vec, a->na_sv, a->na_ev};
    const int z_widths[] = {H2, H2, H2, H2};
    concat_cols(a->na_z, B, 4, z_parts, z_widths);
    linear_relu(a->na_h, a->na_z, w->na_hidden_w, w->na_hidden_b, B, 4 * H2, d.H);
    qt_linear_forward(a->null, a->na_h, w->na_out_w, w->na_out_b, B, d.H, 2);
    return 0;
}
