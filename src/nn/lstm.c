#include "nn/lstm.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/linear.h"
#include "nn/ops.h"
#include "nn/vecmath.h"

static int out_stride(const qt_lstm_dims *d)
{
    return d->out_stride > 0 ? d->out_stride : d->hidden;
}

static int seq_len(const qt_lstm_dims *d, const int32_t *lengths, int b)
{
    if (!lengths)
        return d->len;
    int n = lengths[b];
    return n < 0 ? 0 : n > d->len ? d->len : n;
}

/* The time index that step s of sequence b works on (-1: already finished). */
static int step_time(const qt_lstm_dims *d, int n, int s)
{
    if (s >= n)
        return -1;
    return d->reverse ? n - 1 - s : s;
}

size_t qt_lstm_scratch_floats(const qt_lstm_dims *d)
{
    size_t bh = (size_t)d->batch * d->hidden;
    size_t fwd = bh * 5;                                      /* h_prev, gate rows */
    size_t bwd = bh * 8 + (size_t)d->batch * d->len * 4 * d->hidden; /* + all dgates */
    return fwd > bwd ? fwd : bwd;
}

QT_VECTORIZE
void qt_lstm_forward(const qt_lstm_dims *d, float *out, float *gates, float *cells,
                     float *scratch, const float *x, const float *w_ih, const float *w_hh,
                     const float *b_ih, const float *b_hh, const int32_t *lengths)
{
    const int B = d->batch, T = d->len, H = d->hidden, G = 4 * H, os = out_stride(d);
    float *h_prev = scratch;                  /* [B, H], gathered for one sgemm */
    float *g_rows = scratch + (size_t)B * H;  /* [B, 4H] */

    /* the input projection of every step at once: gates = x W_ih^T + b_ih + b_hh */
    qt_linear_forward(gates, x, w_ih, b_ih, B * T, d->in, G);
    if (b_hh)
        qt_bias_add_forward(gates, b_hh, B * T, G);
    memset(cells, 0, sizeof(float) * (size_t)B * T * H);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            memset(out + ((size_t)b * T + t) * os, 0, sizeof(float) * (size_t)H);

    for (int s = 0; s < T; s++) {
        for (int b = 0; b < B; b++) {
            int n = seq_len(d, lengths, b), t = step_time(d, n, s);
            int tp = step_time(d, n, s - 1);
            float *hp = h_prev + (size_t)b * H;
            if (t >= 0 && s > 0)
                memcpy(hp, out + ((size_t)b * T + tp) * os, sizeof(float) * (size_t)H);
            else
                memset(hp, 0, sizeof(float) * (size_t)H);
            if (t >= 0)
                memcpy(g_rows + (size_t)b * G, gates + ((size_t)b * T + t) * G,
                       sizeof(float) * (size_t)G);
            else
                memset(g_rows + (size_t)b * G, 0, sizeof(float) * (size_t)G);
        }
        /* the recurrent part for the whole batch: g_rows += h_prev W_hh^T */
        if (s > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H, 1.0f, h_prev, H, w_hh,
                        H, 1.0f, g_rows, G);
        for (int b = 0; b < B; b++) {
            int n = seq_len(d, lengths, b), t = step_time(d, n, s);
            if (t < 0)
                continue;
            int tp = step_time(d, n, s - 1);
            const float *c_prev = s > 0 ? cells + ((size_t)b * T + tp) * H : NULL;
            float *restrict gr = g_rows + (size_t)b * G;
            float *restrict c = cells + ((size_t)b * T + t) * H;
            float *restrict h = out + ((size_t)b * T + t) * os;
            /* Branch-free loops, one per activation, so they vectorise: the
             * first step has no previous cell, which `keep` (0 or 1) expresses. */
            for (int j = 0; j < 2 * H; j++)
                gr[j] = qt_sigmoid(gr[j]);
            for (int j = 2 * H; j < 3 * H; j++)
                gr[j] = qt_tanh(gr[j]);
            for (int j = 3 * H; j < G; j++)
                gr[j] = qt_sigmoid(gr[j]);
            const float keep = c_prev ? 1.0f : 0.0f;
            const float *restrict cp = c_prev ? c_prev : gr;
            for (int j = 0; j < H; j++) {
                c[j] = gr[j] * gr[2 * H + j] + keep * gr[H + j] * cp[j];
                h[j] = gr[3 * H + j] * qt_tanh(c[j]);
            }
            memcpy(gates + ((size_t)b * T + t) * G, gr, sizeof(float) * (size_t)G);
        }
    }
    /* steps past a sequence's end keep zero gates, so backward sees nothing there */
    if (lengths)
        for (int b = 0; b < B; b++)
            for (int t = seq_len(d, lengths, b); t < T; t++)
                memset(gates + ((size_t)b * T + t) * G, 0, sizeof(float) * (size_t)G);
}

QT_VECTORIZE
void qt_lstm_backward(const qt_lstm_dims *d, float *dx, float *dw_ih, float *dw_hh,
                      float *db_ih, float *db_hh, float *scratch, const float *dout,
                      const float *out, const float *gates, const float *cells, const float *x,
                      const float *w_ih, const float *w_hh, const int32_t *lengths)
{
    const int B = d->batch, T = d->len, H = d->hidden, G = 4 * H, os = out_stride(d);
    float *dh_next = scratch;                   /* [B, H]: from step s + 1 into h of step s */
    float *dc_next = dh_next + (size_t)B * H;   /* [B, H] */
    float *h_prev = dc_next + (size_t)B * H;    /* [B, H] */
    float *dg_rows = h_prev + (size_t)B * H;    /* [B, 4H] */
    float *dgates = dg_rows + (size_t)B * G;    /* [B, T, 4H], pre-activation */
    memset(dh_next, 0, sizeof(float) * (size_t)B * H * 2);
    memset(dgates, 0, sizeof(float) * (size_t)B * T * G);

    for (int s = T - 1; s >= 0; s--) {
        for (int b = 0; b < B; b++) {
            int n = seq_len(d, lengths, b), t = step_time(d, n, s);
            float *restrict dgr = dg_rows + (size_t)b * G;
            float *restrict hp = h_prev + (size_t)b * H;
            if (t < 0) {
                memset(dgr, 0, sizeof(float) * (size_t)G);
                memset(hp, 0, sizeof(float) * (size_t)H);
                continue;
            }
            int tp = s > 0 ? step_time(d, n, s - 1) : -1;
            const float *gr = gates + ((size_t)b * T + t) * G;
            const float *c = cells + ((size_t)b * T + t) * H;
            const float *c_prev = tp >= 0 ? cells + ((size_t)b * T + tp) * H : NULL;
            const float *g = dout + ((size_t)b * T + t) * os;
            float *restrict dh = dh_next + (size_t)b * H, *restrict dc = dc_next + (size_t)b * H;
            const float keep = c_prev ? 1.0f : 0.0f; /* branch-free, as in forward */
            const float *restrict cpv = c_prev ? c_prev : c;
            for (int j = 0; j < H; j++) {
                float ig = gr[j], fg = gr[H + j], gg = gr[2 * H + j], og = gr[3 * H + j];
                float tc = qt_tanh(c[j]);
                float dhj = g[j] + dh[j];
                float dcj = dc[j] + dhj * og * (1.0f - tc * tc);
                float cp = keep * cpv[j];
                dgr[j] = dcj * gg * ig * (1.0f - ig);
                dgr[H + j] = dcj * cp * fg * (1.0f - fg);
                dgr[2 * H + j] = dcj * ig * (1.0f - gg * gg);
                dgr[3 * H + j] = dhj * tc * og * (1.0f - og);
                dc[j] = dcj * fg;
            }
            memcpy(dgates + ((size_t)b * T + t) * G, dgr, sizeof(float) * (size_t)G);
            if (tp >= 0)
                memcpy(hp, out + ((size_t)b * T + tp) * os, sizeof(float) * (size_t)H);
            else
                memset(hp, 0, sizeof(float) * (size_t)H);
        }
        /* into the previous step's h: dh_next = dg_rows W_hh (zero for finished rows) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G, 1.0f, dg_rows, G, w_hh, H,
                    0.0f, dh_next, H);
        if (dw_hh && s > 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, B, 1.0f, dg_rows, G, h_prev,
                        H, 1.0f, dw_hh, H);
    }
    /* the input projection of every step at once */
    qt_linear_backward(dx, dw_ih, db_ih, dgates, x, w_ih, B * T, d->in, G);
    qt_bias_add_backward(db_hh, dgates, B * T, G);
}
