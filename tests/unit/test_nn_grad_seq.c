/* Backward of src/nn's sequence ops (causal depthwise conv1d, selective scan,
 * LSTM, T5 relative position bias) against central finite differences; see
 * gradcheck.h for the method and test_nn_grad.c for the other ops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gradcheck.h"
#include "nn/attention.h"
#include "nn/blas_setup.h"
#include "nn/conv1d.h"
#include "nn/lstm.h"
#include "nn/relpos.h"
#include "nn/scan.h"

#define EPS 1e-2f
#define TOL 3e-3
#define FLOOR 1e-2

static int rnd_int(qt_rng *r, int lo, int hi)
{
    return lo + (int)qt_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* ---- conv1d ---- */

typedef struct {
    float *x, *w, *bias, *out, *r;
    int batch, len, channels, ksize;
} conv_ctx;

static double conv_loss(void *p)
{
    conv_ctx *c = p;
    qt_conv1d_causal_forward(c->out, c->x, c->w, c->bias, c->batch, c->len, c->channels,
                             c->ksize);
    return gc_dot(c->out, c->r, (size_t)c->batch * c->len * c->channels);
}

static void grad_conv1d(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed);
        int batch = rnd_int(&rng, 1, 2), len = rnd_int(&rng, 1, 6);
        int channels = rnd_int(&rng, 1, 4), ksize = rnd_int(&rng, 1, 4);
        size_t n = (size_t)batch * len * channels, nw = (size_t)channels * ksize;
        conv_ctx c = {gc_uniform(&rng, n, -1, 1), gc_uniform(&rng, nw, -1, 1),
                      gc_uniform(&rng, channels, -1, 1), gc_zeros(n), gc_uniform(&rng, n, -1, 1),
                      batch, len, channels, ksize};
        float *dx = gc_grad(n), *dw = gc_grad(nw), *db = gc_grad(channels);
        conv_loss(&c);
        qt_conv1d_causal_backward(dx, dw, db, c.r, c.x, c.w, batch, len, channels, ksize);
        gc_input in[] = {{"x", c.x, dx, n}, {"w", c.w, dw, nw}, {"bias", c.bias, db, channels}};
        assert_true(gc_check("conv1d (causal, depthwise)", conv_loss, &c, in, 3, EPS, FLOOR) <
                    TOL);
        gc_free_all();
    }
}

/* ---- selective scan ---- */

typedef struct {
    float *x, *delta, *A, *B, *C, *D, *y, *hs, *r;
    int batch, len, dim, nstate;
} scan_ctx;

static double scan_loss(void *p)
{
    scan_ctx *c = p;
    qt_selective_scan_forward(c->y, c->hs, NULL, c->x, c->delta, c->A, c->B, c->C, c->D,
                              c->batch, c->len, c->dim, c->nstate);
    return gc_dot(c->y, c->r, (size_t)c->batch * c->len * c->dim);
}

static void grad_selective_scan(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed);
        int batch = rnd_int(&rng, 1, 2), len = rnd_int(&rng, 2, 6);
        int dim = rnd_int(&rng, 1, 3), nstate = rnd_int(&rng, 1, 4);
        size_t nx = (size_t)batch * len * dim, nbc = (size_t)batch * len * nstate;
        size_t na = (size_t)dim * nstate;
        scan_ctx c = {gc_uniform(&rng, nx, -1, 1), gc_uniform(&rng, nx, 0.05f, 1.0f),
                      gc_uniform(&rng, na, -2.0f, -0.2f), gc_uniform(&rng, nbc, -1, 1),
                      gc_uniform(&rng, nbc, -1, 1), gc_uniform(&rng, dim, -1, 1), gc_zeros(nx),
                      gc_zeros(nx * nstate), gc_uniform(&rng, nx, -1, 1),
                      batch, len, dim, nstate};
        float *dx = gc_grad(nx), *ddelta = gc_grad(nx), *dA = gc_grad(na);
        float *dB = gc_grad(nbc), *dC = gc_grad(nbc), *dD = gc_grad(dim);
        float *scratch = gc_zeros(qt_selective_scan_scratch_floats(dim, nstate));
        scan_loss(&c);
        qt_selective_scan_backward(dx, ddelta, dA, dB, dC, dD, scratch, c.r, c.hs, c.x, c.delta,
                                   c.A, c.B, c.C, c.D, batch, len, dim, nstate);
        gc_input in[] = {{"x", c.x, dx, nx},     {"delta", c.delta, ddelta, nx},
                         {"A", c.A, dA, na},     {"B", c.B, dB, nbc},
                         {"C", c.C, dC, nbc},    {"D", c.D, dD, (size_t)dim}};
        assert_true(gc_check("selective scan", scan_loss, &c, in, 6, EPS, FLOOR) < TOL);
        gc_free_all();
    }
}

/* The backward that recomputes its states: shapes that span several blocks
 * of channels and chunks of steps, with partial ones at the ends. */
static void grad_selective_scan_recompute(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed + 200);
        int batch = rnd_int(&rng, 1, 2), len = rnd_int(&rng, 1, 40);
        int dim = rnd_int(&rng, 1, 20), nstate = rnd_int(&rng, 1, 3);
        size_t nx = (size_t)batch * len * dim, nbc = (size_t)batch * len * nstate;
        size_t na = (size_t)dim * nstate;
        scan_ctx c = {gc_uniform(&rng, nx, -1, 1), gc_uniform(&rng, nx, 0.02f, 0.3f),
                      gc_uniform(&rng, na, -2.0f, -0.2f), gc_uniform(&rng, nbc, -1, 1),
                      gc_uniform(&rng, nbc, -1, 1), gc_uniform(&rng, dim, -1, 1), gc_zeros(nx),
                      NULL, gc_uniform(&rng, nx, -1, 1), batch, len, dim, nstate};
        float *dx = gc_grad(nx), *ddelta = gc_grad(nx), *dA = gc_grad(na);
        float *dB = gc_grad(nbc), *dC = gc_grad(nbc), *dD = gc_grad(dim);
        float *scratch = gc_zeros(qt_selective_scan_recompute_scratch_floats(len, dim, nstate));
        float *ckpt = NULL; /* every other seed from the forward's checkpoints */
        if (seed % 2 == 0) {
            ckpt = gc_zeros(batch * qt_selective_scan_checkpoint_floats(len, dim, nstate) + 1);
            qt_selective_scan_forward_checkpoint(c.y, ckpt, NULL, c.x, c.delta, c.A, c.B, c.C, c.D,
                                                 batch, len, dim, nstate);
        }
        qt_selective_scan_backward_recompute(dx, ddelta, dA, dB, dC, dD, scratch, ckpt, c.r, c.x,
                                             c.delta, c.A, c.B, c.C, c.D, batch, len, dim, nstate);
        gc_input in[] = {{"x", c.x, dx, nx},     {"delta", c.delta, ddelta, nx},
                         {"A", c.A, dA, na},     {"B", c.B, dB, nbc},
                         {"C", c.C, dC, nbc},    {"D", c.D, dD, (size_t)dim}};
        assert_true(gc_check("selective scan (recomputing)", scan_loss, &c, in, 6, EPS, FLOOR) <
                    TOL);
        gc_free_all();
    }
}

/* Both backwards agree at larger shapes, nstate beyond the forward's group
 * of 64 states included, and without D. */
static void scan_backwards_agree(void **state)
{
    (void)state;
    /* batch, len, dim, nstate, from the forward's checkpoints */
    const int shapes[][5] = {{2, 70, 37, 17, 1}, {1, 40, 5, 70, 1}, {2, 33, 20, 16, 0}};
    for (int s = 0; s < 3; s++) {
        qt_rng rng;
        qt_rng_seed(&rng, 7 + s);
        const int batch = shapes[s][0], len = shapes[s][1], dim = shapes[s][2], ns = shapes[s][3];
        size_t nx = (size_t)batch * len * dim, nbc = (size_t)batch * len * ns, na = (size_t)dim * ns;
        float *x = gc_uniform(&rng, nx, -1, 1), *dt = gc_uniform(&rng, nx, 0.01f, 0.5f);
        float *A = gc_uniform(&rng, na, -8.0f, -0.1f), *B = gc_uniform(&rng, nbc, -1, 1);
        float *C = gc_uniform(&rng, nbc, -1, 1), *dy = gc_uniform(&rng, nx, -1, 1);
        float *y = gc_zeros(nx), *hs = gc_zeros(nx * ns);
        float *g1[5] = {gc_zeros(nx), gc_zeros(nx), gc_zeros(na), gc_zeros(nbc), gc_zeros(nbc)};
        float *g2[5] = {gc_zeros(nx), gc_zeros(nx), gc_zeros(na), gc_zeros(nbc), gc_zeros(nbc)};
        size_t sizes[5] = {nx, nx, na, nbc, nbc};
        float *ckpt = gc_zeros(batch * qt_selective_scan_checkpoint_floats(len, dim, ns) + 1);
        qt_selective_scan_forward(y, hs, NULL, x, dt, A, B, C, NULL, batch, len, dim, ns);
        if (shapes[s][4])
            qt_selective_scan_forward_checkpoint(y, ckpt, NULL, x, dt, A, B, C, NULL, batch, len,
                                                 dim, ns);
        qt_selective_scan_backward(g1[0], g1[1], g1[2], g1[3], g1[4], NULL,
                                   gc_zeros(qt_selective_scan_scratch_floats(dim, ns)), dy, hs, x,
                                   dt, A, B, C, NULL, batch, len, dim, ns);
        qt_selective_scan_backward_recompute(
            g2[0], g2[1], g2[2], g2[3], g2[4], NULL,
            gc_zeros(qt_selective_scan_recompute_scratch_floats(len, dim, ns)), shapes[s][4] ? ckpt : NULL,
            dy, x, dt, A, B, C, NULL, batch, len, dim, ns);
        for (int k = 0; k < 5; k++) {
            double scale = 1e-3;
            for (size_t i = 0; i < sizes[k]; i++)
                scale = fabs(g1[k][i]) > scale ? fabs(g1[k][i]) : scale;
            for (size_t i = 0; i < sizes[k]; i++)
                assert_true(fabs(g1[k][i] - g2[k][i]) <= 1e-5 * scale);
        }
        gc_free_all();
    }
}

/* ---- LSTM ---- */

typedef struct {
    qt_lstm_dims d;
    float *x, *w_ih, *w_hh, *b_ih, *b_hh, *out, *gates, *cells, *scratch, *r;
    int32_t *lengths;
} lstm_ctx;

static double lstm_loss(void *p)
{
    lstm_ctx *c = p;
    qt_lstm_forward(&c->d, c->out, c->gates, c->cells, c->scratch, c->x, c->w_ih, c->w_hh,
                    c->b_ih, c->b_hh, c->lengths);
    int os = c->d.out_stride ? c->d.out_stride : c->d.hidden;
    return gc_dot_strided(c->out, c->r, (size_t)c->d.batch * c->d.len, (size_t)c->d.hidden,
                          (size_t)os);
}

static void check_lstm(const char *name, uint64_t seed, int reverse, int with_lengths,
                       int bi_stride)
{
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    lstm_ctx c = {.d = {.batch = rnd_int(&rng, 1, 3), .len = rnd_int(&rng, 2, 5),
                        .in = rnd_int(&rng, 1, 3), .hidden = rnd_int(&rng, 1, 4),
                        .reverse = reverse}};
    const int B = c.d.batch, T = c.d.len, H = c.d.hidden, I = c.d.in;
    if (bi_stride) /* writes one half of a BiLSTM output */
        c.d.out_stride = 2 * H;
    int os = c.d.out_stride ? c.d.out_stride : H;
    size_t nx = (size_t)B * T * I, nih = (size_t)4 * H * I, nhh = (size_t)4 * H * H;
    c.x = gc_uniform(&rng, nx, -1, 1);
    c.w_ih = gc_uniform(&rng, nih, -0.8f, 0.8f);
    c.w_hh = gc_uniform(&rng, nhh, -0.8f, 0.8f);
    c.b_ih = gc_uniform(&rng, 4 * H, -0.5f, 0.5f);
    c.b_hh = gc_uniform(&rng, 4 * H, -0.5f, 0.5f);
    c.out = gc_zeros((size_t)B * T * os);
    c.r = gc_uniform(&rng, (size_t)B * T * os, -1, 1);
    c.gates = gc_zeros((size_t)B * T * 4 * H);
    c.cells = gc_zeros((size_t)B * T * H);
    c.scratch = gc_zeros(qt_lstm_scratch_floats(&c.d));
    if (with_lengths) {
        c.lengths = gc_keep(calloc((size_t)B, sizeof(int32_t)));
        for (int b = 0; b < B; b++)
            c.lengths[b] = (int32_t)rnd_int(&rng, 0, T);
        c.lengths[0] = T;
    }
    float *dx = gc_grad(nx), *dih = gc_grad(nih), *dhh = gc_grad(nhh);
    float *dbih = gc_grad(4 * H), *dbhh = gc_grad(4 * H);
    lstm_loss(&c);
    qt_lstm_backward(&c.d, dx, dih, dhh, dbih, dbhh, c.scratch, c.r, c.out, c.gates, c.cells, c.x,
                     c.w_ih, c.w_hh, c.lengths);
    gc_input in[] = {{"x", c.x, dx, nx},
                     {"W_ih", c.w_ih, dih, nih},
                     {"W_hh", c.w_hh, dhh, nhh},
                     {"b_ih", c.b_ih, dbih, (size_t)4 * H},
                     {"b_hh", c.b_hh, dbhh, (size_t)4 * H}};
    assert_true(gc_check(name, lstm_loss, &c, in, 5, EPS, FLOOR) < TOL);
    gc_free_all();
}

static void grad_lstm(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2; seed++) {
        check_lstm("lstm", seed, 0, 0, 0);
        check_lstm("lstm, reverse", seed + 10, 1, 0, 0);
        check_lstm("lstm, lengths", seed + 20, 0, 1, 0);
        check_lstm("lstm, reverse with lengths", seed + 30, 1, 1, 1);
        check_lstm("lstm, BiLSTM half", seed + 40, 1, 0, 1);
    }
}

/* ---- T5 relative position bias ---- */

typedef struct {
    float *table, *bias, *r;
    int heads, tq, tk, q_offset, bidirectional, buckets, max_distance;
    /* when through_attention: the bias feeds an attention layer */
    int through_attention;
    qt_attn_dims d;
    float *q, *k, *v, *out, *att;
} relpos_ctx;

static double relpos_loss(void *p)
{
    relpos_ctx *c = p;
    qt_t5_relpos_forward(c->bias, c->table, c->heads, c->tq, c->tk, c->q_offset,
                         c->bidirectional, c->buckets, c->max_distance);
    if (!c->through_attention)
        return gc_dot(c->bias, c->r, (size_t)c->heads * c->tq * c->tk);
    qt_attention_forward(&c->d, c->out, c->att, c->q, c->k, c->v, NULL, c->bias);
    return gc_dot(c->out, c->r, (size_t)c->tq * c->heads * c->d.head_dim);
}

static void check_relpos(const char *name, uint64_t seed, int bidirectional,
                         int through_attention)
{
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    relpos_ctx c = {.heads = rnd_int(&rng, 1, 3), .tq = rnd_int(&rng, 2, 6),
                    .bidirectional = bidirectional, .buckets = 8, .max_distance = 10,
                    .through_attention = through_attention};
    c.tk = through_attention ? c.tq + rnd_int(&rng, 0, 3) : rnd_int(&rng, 1, 20);
    c.q_offset = through_attention ? c.tk - c.tq : rnd_int(&rng, 0, 3);
    size_t nt = (size_t)c.buckets * c.heads, nb = (size_t)c.heads * c.tq * c.tk;
    c.table = gc_uniform(&rng, nt, -1, 1);
    c.bias = gc_zeros(nb);
    float *dtable = gc_grad(nt), *dbias = gc_zeros(nb);
    if (!through_attention) {
        c.r = gc_uniform(&rng, nb, -1, 1);
        relpos_loss(&c);
        memcpy(dbias, c.r, nb * sizeof(float));
    } else {
        int hd = rnd_int(&rng, 1, 3), width = c.heads * hd;
        c.d = qt_attn_make(1, c.heads, c.tq, c.tk, hd);
        c.d.scale = 1.0f; /* as T5 */
        c.d.causal = !bidirectional;
        c.q = gc_uniform(&rng, (size_t)c.tq * width, -1, 1);
        c.k = gc_uniform(&rng, (size_t)c.tk * width, -1, 1);
        c.v = gc_uniform(&rng, (size_t)c.tk * width, -1, 1);
        c.out = gc_zeros((size_t)c.tq * width);
        c.att = gc_zeros(nb);
        c.r = gc_uniform(&rng, (size_t)c.tq * width, -1, 1);
        relpos_loss(&c);
        qt_attention_backward(&c.d, NULL, NULL, NULL, dbias, gc_zeros(nb), c.r, c.att, c.q, c.k,
                              c.v);
    }
    qt_t5_relpos_backward(dtable, dbias, c.heads, c.tq, c.tk, c.q_offset, bidirectional,
                          c.buckets, c.max_distance);
    gc_input in[] = {{"table", c.table, dtable, nt}};
    assert_true(gc_check(name, relpos_loss, &c, in, 1, EPS, FLOOR) < TOL);
    gc_free_all();
}

static void grad_relpos(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        check_relpos("t5 relpos, bidirectional", seed, 1, 0);
        check_relpos("t5 relpos, causal", seed + 10, 0, 0);
        check_relpos("t5 relpos -> attention (encoder)", seed + 20, 1, 1);
        check_relpos("t5 relpos -> attention (decoder)", seed + 30, 0, 1);
    }
}

int main(int argc, char **argv)
{
    qt_blas_setup(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_conv1d),
        cmocka_unit_test(grad_selective_scan),
        cmocka_unit_test(grad_selective_scan_recompute),
        cmocka_unit_test(scan_backwards_agree),
        cmocka_unit_test(grad_lstm),
        cmocka_unit_test(grad_relpos),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("# %d gradient checks over %d input elements, worst relative error %.2e\n", gc_checks,
           gc_elements, gc_worst);
    return failed;
}
