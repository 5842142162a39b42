/* src/nn forward values against plain double-precision references and known
 * numbers (the gradients are test_nn_grad*.c's job), plus tensors, the arena,
 * the RNG and the optimiser (one AdamW step worked out from the formulas). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/attention.h"
#include "nn/blas_setup.h"
#include "nn/conv1d.h"
#include "nn/linear.h"
#include "nn/lm_head.h"
#include "nn/lstm.h"
#include "nn/ops.h"
#include "nn/optim.h"
#include "nn/relpos.h"
#include "nn/rng.h"
#include "nn/scan.h"
#include "nn/tensor.h"
#include "nn/vecmath.h"

static float *uniform(qt_rng *r, size_t n, float lo, float hi)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    qt_rng_fill_uniform(r, p, n, lo, hi);
    return p;
}

static void assert_close(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.9g, want %.9g (tolerance %g)", got, want, tol);
}

/* ---- tensors, arena, rng ---- */

static void tensor_alloc_view_reshape(void **state)
{
    (void)state;
    qt_err e;
    qt_tensor t;
    int shape[3] = {2, 3, 4};
    assert_int_equal(qt_tensor_alloc(&t, 3, shape, &e), 0);
    assert_int_equal(t.numel, 24);
    assert_true(t.owns);
    assert_true(((uintptr_t)t.data % QT_NN_ALIGN) == 0);
    for (size_t i = 0; i < t.numel; i++)
        assert_true(t.data[i] == 0.0f);
    qt_tensor rows = qt_tensor_rows(&t, 1, 1);
    assert_ptr_equal(rows.data, t.data + 12);
    assert_int_equal(rows.numel, 12);
    assert_false(rows.owns);
    int flat[2] = {6, 4};
    assert_int_equal(qt_tensor_reshape(&t, 2, flat, &e), 0);
    assert_int_equal(t.shape[0], 6);
    int wrong[2] = {5, 5};
    assert_int_equal(qt_tensor_reshape(&t, 2, wrong, &e), -1);
    assert_non_null(strstr(e.msg, "[6, 4]"));
    assert_non_null(strstr(e.msg, "[5, 5]"));
    qt_tensor v = qt_tensor_view2(t.data, 4, 6);
    assert_false(v.owns);
    assert_int_equal(v.numel, 24);
    qt_tensor_free(&v); /* a view: nothing freed */
    qt_tensor_free(&t);
    assert_null(t.data);
    int bad[2] = {3, 0};
    assert_int_equal(qt_tensor_alloc(&t, 2, bad, &e), -1);
    assert_non_null(strstr(e.msg, "invalid shape"));
    assert_int_equal(qt_tensor_alloc(&t, 5, shape, &e), -1);
}

static void arena_bumps_resets_and_fills(void **state)
{
    (void)state;
    qt_err e;
    qt_arena a;
    assert_int_equal(qt_arena_init(&a, 1024, &e), 0);
    size_t mark = qt_arena_mark(&a);
    float *p = qt_arena_floats(&a, 3), *q = qt_arena_floats_zero(&a, 5);
    assert_non_null(p);
    assert_non_null(q);
    assert_true((uintptr_t)p % QT_NN_ALIGN == 0 && (uintptr_t)q % QT_NN_ALIGN == 0);
    assert_int_equal((char *)q - (char *)p, 64);
    assert_null(qt_arena_floats(&a, 1024)); /* does not fit: nothing taken */
    assert_int_equal(a.used, 128);
    qt_tensor t;
    int shape[2] = {4, 4};
    assert_int_equal(qt_arena_tensor(&a, &t, 2, shape, &e), 0);
    assert_false(t.owns);
    int big[2] = {100, 100};
    assert_int_equal(qt_arena_tensor(&a, &t, 2, big, &e), -1);
    assert_non_null(strstr(e.msg, "arena: full"));
    qt_arena_reset(&a, mark);
    assert_int_equal(a.used, 0);
    assert_int_equal(a.peak, 192);
    assert_ptr_equal(qt_arena_floats(&a, 1), p); /* the same memory again */
    qt_arena_free(&a);
}

static void rng_is_seeded_and_distributed(void **state)
{
    (void)state;
    qt_rng a, b;
    qt_rng_seed(&a, 42);
    qt_rng_seed(&b, 42);
    for (int i = 0; i < 10; i++)
        assert_true(qt_rng_u64(&a) == qt_rng_u64(&b));
    qt_rng_seed(&b, 43);
    assert_true(qt_rng_u64(&a) != qt_rng_u64(&b));
    double sum = 0, sq = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        float u = qt_rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        assert_true(qt_rng_below(&a, 7) < 7);
        double z = qt_rng_normal(&a);
        sum += z, sq += z * z;
    }
    assert_close(sum / n, 0.0, 0.03);
    assert_close(sqrt(sq / n), 1.0, 0.03);
}

/* ---- vecmath approximations against libm (in double) ---- */

static void vecmath_is_float_accurate(void **state)
{
    (void)state;
    double exp_err = 0, tanh_err = 0, sig_err = 0, erf_err = 0, sp_err = 0;
    for (int i = 0; i <= 400000; i++) {
        float x = -87.0f + 175.7f * (float)i / 400000.0f; /* the whole finite range */
        double e = exp((double)x);
        exp_err = fmax(exp_err, fabs(qt_exp(x) - e) / e);
        float s = -12.0f + 24.0f * (float)i / 400000.0f;
        tanh_err = fmax(tanh_err, fabs(qt_tanh(s) - tanh((double)s)));
        sig_err = fmax(sig_err, fabs(qt_sigmoid(s) - 1 / (1 + exp(-(double)s))));
        erf_err = fmax(erf_err, fabs(qt_erf(s / 2) - erf((double)s / 2)));
        float v = -80.0f + 100.0f * (float)i / 400000.0f; /* up to torch's threshold 20 */
        double sp = log1p(exp((double)v));
        sp_err = fmax(sp_err, fabs(qt_softplus(v) - sp) / sp);
    }
    print_message("# max errors: exp %.2g (relative), tanh %.2g, sigmoid %.2g, erf %.2g, softplus %.2g (relative)\n",
                  exp_err, tanh_err, sig_err, erf_err, sp_err);
    assert_true(exp_err < 3e-7);
    assert_true(tanh_err < 3e-7);
    assert_true(sig_err < 2e-7);
    assert_true(erf_err < 4e-7);
    assert_true(sp_err < 3e-7);
    assert_true(qt_softplus(30.0f) == 30.0f && qt_softplus(-200.0f) == 0.0f);
    assert_true(qt_exp(-INFINITY) == 0.0f && qt_exp(-100.0f) == 0.0f);
    assert_true(qt_exp(INFINITY) == INFINITY && qt_exp(100.0f) == INFINITY);
    assert_true(qt_exp(0.0f) == 1.0f);
    assert_true(isnan(qt_exp(NAN)));
    assert_true(qt_tanh(50.0f) == 1.0f && qt_tanh(-50.0f) == -1.0f);
    assert_true(qt_sigmoid(-200.0f) == 0.0f && qt_sigmoid(200.0f) == 1.0f);
    float xs[37] = {0}, sum = 0;
    for (int i = 0; i < 37; i++)
        xs[i] = (float)i - 3.0f, sum += xs[i];
    assert_true(qt_sum(xs, 37) == sum); /* small integers: exact in any order */
    assert_true(qt_max(xs, 37) == 33.0f && qt_max(xs, 0) == -INFINITY);
    assert_true(qt_dot(xs, xs, 5) == 9 + 4 + 1 + 0 + 1);
}

/* ---- elementwise ops and losses ---- */

static void activations_known_values(void **state)
{
    (void)state;
    float x[4] = {1.0f, -1.0f, 0.0f, 30.0f}, y[4];
    qt_gelu_forward(y, x, 3);
    assert_close(y[0], 0.8413447, 1e-6); /* x * Phi(x) */
    assert_close(y[1], -0.1586553, 1e-6);
    qt_gelu_tanh_forward(y, x, 2);
    assert_close(y[0], 0.8411920, 1e-6);
    qt_silu_forward(y, x, 2);
    assert_close(y[0], 0.7310586, 1e-6);
    qt_softplus_forward(y, x, 4);
    assert_close(y[0], 1.3132617, 1e-6);
    assert_close(y[2], log(2.0), 1e-6);
    assert_true(y[3] == 30.0f);
    qt_relu_forward(y, x, 2);
    assert_true(y[0] == 1.0f && y[1] == 0.0f);
    qt_gelu_forward(x, x, 2); /* in place */
    assert_close(x[0], 0.8413447, 1e-6);
}

static void softmax_masked_and_safe(void **state)
{
    (void)state;
    float x[9] = {1000.0f, 1001.0f, 999.0f, 1.0f, 2.0f, 3.0f, -INFINITY, -INFINITY, -INFINITY};
    uint8_t mask[9] = {1, 1, 1, 1, 0, 1, 1, 1, 1};
    float p[9];
    qt_softmax_forward(p, x, mask, 3, 3);
    double e = exp(1.0), z = 1 + e + 1 / e;
    assert_close(p[0], 1 / z, 1e-6); /* no overflow at 1000 */
    assert_close(p[1], e / z, 1e-6);
    assert_true(p[4] == 0.0f); /* masked */
    assert_close(p[3] + p[5], 1.0, 1e-6);
    assert_close(p[5], 1 / (1 + exp(-2.0)), 1e-6);
    for (int i = 6; i < 9; i++) /* nothing left: zeros, not NaN */
        assert_true(p[i] == 0.0f);
}

static void cross_entropy_values(void **state)
{
    (void)state;
    float logits[6] = {0.0f, 0.0f, 2.0f, -INFINITY, 1.0f, 5.0f};
    int32_t targets[3] = {0, 0, -100};
    float probs[6], loss;
    assert_int_equal(qt_cross_entropy_forward(&loss, probs, logits, targets, 3, 2, -100), 2);
    /* row 0: ln 2; row 1: -inf is excluded, the target has all the mass: 0 */
    assert_close(loss, log(2.0) / 2, 1e-6);
    assert_true(probs[2] == 1.0f && probs[3] == 0.0f);
    targets[1] = 2;
    assert_int_equal(qt_cross_entropy_forward(&loss, probs, logits, targets, 3, 2, -100), -1);
    targets[0] = targets[1] = -100;
    assert_int_equal(qt_cross_entropy_forward(&loss, NULL, logits, targets, 3, 2, -100), 0);
    assert_true(loss == 0.0f);
}

static void embedding_and_dropout(void **state)
{
    (void)state;
    float table[6] = {1, 2, 3, 4, 5, 6}, out[6];
    int32_t ids[3] = {2, 0, 3};
    assert_int_equal(qt_embedding_forward(out, ids, table, 3, 2, 3), -1); /* 3 is outside */
    assert_true(out[0] == 5 && out[1] == 6 && out[2] == 1 && out[4] == 0 && out[5] == 0);

    qt_rng rng;
    qt_rng_seed(&rng, 7);
    enum { N = 10001 }; /* odd: the last mask bit comes from a draw of its own */
    float *x = calloc(N, sizeof(float)), *y = calloc(N, sizeof(float));
    uint8_t *mask = calloc(N, 1);
    for (int i = 0; i < N; i++)
        x[i] = 1.0f;
    qt_dropout_forward(y, mask, x, N, 0.25f, 1, &rng);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        kept += mask[i];
        assert_true(mask[i] ? fabsf(y[i] - 1.0f / 0.75f) < 1e-6f : y[i] == 0.0f);
    }
    assert_close(kept / (double)N, 0.75, 0.02);
    qt_dropout_forward(y, NULL, x, N, 0.25f, 0, &rng); /* eval: identity */
    assert_true(memcmp(x, y, N * sizeof(float)) == 0);
    free(x), free(y), free(mask);
}

/* The tied LM head (nn/lm_head.h) at a real vocabulary size: the loss and
 * its gradients against the same sums in double. */
static void tied_lm_head_matches_double(void **state)
{
    (void)state;
    enum { H = 24, V = 20000, ROWS = 5, M = 3 };
    qt_rng rng;
    qt_rng_seed(&rng, 9);
    float *x = calloc(ROWS * H, sizeof(float)), *emb = calloc((size_t)V * H, sizeof(float));
    float *xm = calloc(2 * M * H, sizeof(float)), *logits = calloc((size_t)M * V, sizeof(float));
    float *dx = calloc(ROWS * H, sizeof(float)), *demb = calloc((size_t)V * H, sizeof(float));
    double *p = calloc((size_t)M * V, sizeof(double)); /* weight * (softmax - onehot) per row */
    qt_rng_fill_uniform(&rng, x, ROWS * H, -1, 1);
    qt_rng_fill_uniform(&rng, emb, (size_t)V * H, -1, 1);
    const int32_t rows[M] = {4, 0, 2}, targets[M] = {7, 19999, 12345};
    const float w[M] = {0.5f, 0.25f, 0.25f};
    double got = qt_tied_lm_loss(x, emb, H, V, rows, targets, w, M, xm, logits, dx, demb);
    double want = 0, worst_dx = 0, worst_de = 0;
    for (int m = 0; m < M; m++) {
        const float *xr = x + (size_t)rows[m] * H;
        double *pm = p + (size_t)m * V, mx = -INFINITY, sum = 0;
        for (int v = 0; v < V; v++) {
            double z = 0;
            for (int k = 0; k < H; k++)
                z += (double)xr[k] * emb[(size_t)v * H + k];
            pm[v] = z, mx = fmax(mx, z);
        }
        for (int v = 0; v < V; v++)
            sum += exp(pm[v] - mx);
        want += w[m] * (mx + log(sum) - pm[targets[m]]);
        for (int v = 0; v < V; v++)
            pm[v] = w[m] * (exp(pm[v] - mx) / sum - (v == targets[m]));
        for (int k = 0; k < H; k++) { /* dx[row] = sum_v p_v E_v (the rows are distinct) */
            double d = 0;
            for (int v = 0; v < V; v++)
                d += pm[v] * emb[(size_t)v * H + k];
            worst_dx = fmax(worst_dx, fabs(d - dx[(size_t)rows[m] * H + k]));
        }
    }
    /* dE[v] = sum_m p_m[v] x[rows[m]], at the targets and a few other words */
    const int32_t check[6] = {7, 19999, 12345, 0, 555, 10000};
    for (int c = 0; c < 6; c++)
        for (int k = 0; k < H; k++) {
            double d = 0;
            for (int m = 0; m < M; m++)
                d += p[(size_t)m * V + check[c]] * x[(size_t)rows[m] * H + k];
            worst_de = fmax(worst_de, fabs(d - demb[(size_t)check[c] * H + k]));
        }
    print_message("# tied LM head, vocabulary %d: loss %.8f vs %.8f in double; worst dx %.2g, dE %.2g\n", V, got,
                  want, worst_dx, worst_de);
    assert_true(fabs(got - want) < 1e-5 * fabs(want));
    assert_true(worst_dx < 1e-5 && worst_de < 1e-6);
    free(x), free(emb), free(xm), free(logits), free(dx), free(demb), free(p);
}

static void norms_match_double(void **state)
{
    (void)state;
    qt_rng rng;
    qt_rng_seed(&rng, 3);
    int rows = 3, cols = 768;
    float *x = uniform(&rng, (size_t)rows * cols, -2, 2), *w = uniform(&rng, cols, 0.5f, 1.5f);
    float *b = uniform(&rng, cols, -1, 1), *y = uniform(&rng, (size_t)rows * cols, 0, 0);
    for (int i = 0; i < rows * cols; i++)
        x[i] += 10.0f; /* a large mean, as residual streams have */
    qt_layernorm_forward(y, NULL, NULL, x, w, b, rows, cols, 1e-5f);
    for (int r = 0; r < rows; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < cols; c++)
            m += x[r * cols + c];
        m /= cols;
        for (int c = 0; c < cols; c++)
            v += (x[r * cols + c] - m) * (x[r * cols + c] - m);
        double s = 1 / sqrt(v / cols + 1e-5);
        for (int c = 0; c < cols; c++)
            assert_close(y[r * cols + c], (x[r * cols + c] - m) * s * w[c] + b[c], 2e-5);
    }
    qt_rmsnorm_forward(y, NULL, x, w, rows, cols, 1e-6f);
    for (int r = 0; r < rows; r++) {
        double sq = 0;
        for (int c = 0; c < cols; c++)
            sq += (double)x[r * cols + c] * x[r * cols + c];
        double s = 1 / sqrt(sq / cols + 1e-6);
        for (int c = 0; c < cols; c++)
            assert_close(y[r * cols + c], x[r * cols + c] * s * w[c], 2e-5);
    }
    free(x), free(w), free(b), free(y);
}

static void linear_uses_pytorch_layout(void **state)
{
    (void)state;
    /* W is [out, in] as nn.Linear: y = x W^T + b */
    float x[4] = {1, 2, 3, -1};
    float w[6] = {1, 0, 0, 1, 1, 1};
    float b[3] = {0.5f, 0, -1};
    float y[6];
    qt_linear_forward(y, x, w, b, 2, 2, 3);
    float want[6] = {1.5f, 2, 2, 3.5f, -1, 1};
    for (int i = 0; i < 6; i++)
        assert_close(y[i], want[i], 1e-6);
    qt_linear_forward(y, x, w, NULL, 1, 2, 3); /* one row: the sgemv path */
    assert_close(y[0], 1, 1e-6);
    assert_close(y[2], 3, 1e-6);
}

/* ---- attention ---- */

static void attention_reference(const qt_attn_dims *d, double *out, const float *q,
                                const float *k, const float *v, const uint8_t *mask,
                                const float *bias)
{
    int w = d->heads * d->head_dim;
    double *s = calloc((size_t)d->tk, sizeof(double));
    for (int b = 0; b < d->batch; b++)
        for (int h = 0; h < d->heads; h++)
            for (int i = 0; i < d->tq; i++) {
                double maxv = -INFINITY;
                for (int j = 0; j < d->tk; j++) {
                    int visible = (!mask || mask[b * d->tk + j]) &&
                                  (!d->causal || j <= i + d->tk - d->tq);
                    double acc = 0;
                    for (int e = 0; e < d->head_dim; e++)
                        acc += (double)q[(b * d->tq + i) * w + h * d->head_dim + e] *
                               k[(b * d->tk + j) * w + h * d->head_dim + e];
                    acc = acc * d->scale + (bias ? bias[(h * d->tq + i) * d->tk + j] : 0);
                    s[j] = visible ? acc : -INFINITY;
                    if (s[j] > maxv)
                        maxv = s[j];
                }
                double z = 0;
                for (int j = 0; j < d->tk; j++) {
                    s[j] = maxv == -INFINITY ? 0 : exp(s[j] - maxv);
                    z += s[j];
                }
                for (int e = 0; e < d->head_dim; e++) {
                    double acc = 0;
                    for (int j = 0; j < d->tk; j++)
                        acc += s[j] * v[(b * d->tk + j) * w + h * d->head_dim + e];
                    out[(b * d->tq + i) * w + h * d->head_dim + e] = z > 0 ? acc / z : 0;
                }
            }
    free(s);
}

static void attention_matches_reference(void **state)
{
    (void)state;
    /* tq != tk with causal: the queries are the last tq positions */
    static const int cases[][5] = {
        /* tq, tk, causal, mask, bias */
        {7, 7, 0, 0, 0}, {7, 7, 1, 0, 0}, {6, 6, 0, 1, 1}, {3, 9, 0, 1, 0},
        {2, 8, 1, 0, 1}, {1, 5, 1, 1, 0}, {5, 5, 1, 1, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        qt_rng rng;
        qt_rng_seed(&rng, 100 + c);
        int batch = 2, heads = 3, hd = 4, tq = cases[c][0], tk = cases[c][1];
        qt_attn_dims d = qt_attn_make(batch, heads, tq, tk, hd);
        d.causal = cases[c][2];
        int w = heads * hd;
        float *q = uniform(&rng, (size_t)batch * tq * w, -1, 1);
        float *k = uniform(&rng, (size_t)batch * tk * w, -1, 1);
        float *v = uniform(&rng, (size_t)batch * tk * w, -1, 1);
        float *bias = cases[c][4] ? uniform(&rng, (size_t)heads * tq * tk, -2, 2) : NULL;
        uint8_t *mask = NULL;
        if (cases[c][3]) {
            mask = calloc((size_t)batch * tk, 1);
            for (int j = 0; j < tk; j++) /* padding at the end; batch 1 all padding */
                mask[j] = j < tk - 2;
        }
        float *out = calloc((size_t)batch * tq * w, sizeof(float));
        float *att = calloc((size_t)batch * heads * tq * tk, sizeof(float));
        double *ref = calloc((size_t)batch * tq * w, sizeof(double));
        qt_attention_forward(&d, out, att, q, k, v, mask, bias);
        attention_reference(&d, ref, q, k, v, mask, bias);
        for (int i = 0; i < batch * tq * w; i++)
            assert_close(out[i], ref[i], 1e-5);
        free(q), free(k), free(v), free(bias), free(mask), free(out), free(att), free(ref);
    }
}

/* ---- sequence ops ---- */

static void conv1d_matches_reference_and_step(void **state)
{
    (void)state;
    qt_rng rng;
    qt_rng_seed(&rng, 5);
    int batch = 2, len = 6, ch = 5, ks = 4;
    float *x = uniform(&rng, (size_t)batch * len * ch, -1, 1);
    float *w = uniform(&rng, (size_t)ch * ks, -1, 1), *bias = uniform(&rng, ch, -1, 1);
    float *y = calloc((size_t)batch * len * ch, sizeof(float));
    qt_conv1d_causal_forward(y, x, w, bias, batch, len, ch, ks);
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < len; t++)
            for (int c = 0; c < ch; c++) {
                double acc = bias[c];
                for (int j = 0; j < ks; j++) {
                    int src = t - (ks - 1) + j;
                    if (src >= 0)
                        acc += (double)w[c * ks + j] * x[(b * len + src) * ch + c];
                }
                assert_close(y[(b * len + t) * ch + c], acc, 1e-6);
            }
    float *st = calloc((size_t)(ks - 1) * ch, sizeof(float)), out[5];
    for (int t = 0; t < len; t++) { /* decoding one token at a time, batch 1 */
        qt_conv1d_causal_step(out, st, x + (size_t)(len + t) * ch, w, bias, ch, ks);
        for (int c = 0; c < ch; c++)
            assert_close(out[c], y[(len + t) * ch + c], 1e-6);
    }
    free(x), free(w), free(bias), free(y), free(st);
}

static void scan_matches_reference(void **state)
{
    (void)state;
    qt_rng rng;
    qt_rng_seed(&rng, 9);
    int batch = 2, len = 5, dim = 3, ns = 4;
    size_t nx = (size_t)batch * len * dim, nbc = (size_t)batch * len * ns;
    float *x = uniform(&rng, nx, -1, 1), *dt = uniform(&rng, nx, 0.05f, 1.5f);
    float *A = uniform(&rng, (size_t)dim * ns, -3, -0.1f), *B = uniform(&rng, nbc, -1, 1);
    float *C = uniform(&rng, nbc, -1, 1), *D = uniform(&rng, dim, -1, 1);
    float *y = calloc(nx, sizeof(float)), *y2 = calloc(nx, sizeof(float));
    float *hs = calloc(nx * ns, sizeof(float));
    float *h_last = calloc((size_t)batch * dim * ns, sizeof(float));
    float *h_last2 = calloc((size_t)batch * dim * ns, sizeof(float));
    qt_selective_scan_forward(y, hs, h_last, x, dt, A, B, C, D, batch, len, dim, ns);
    qt_selective_scan_forward(y2, NULL, h_last2, x, dt, A, B, C, D, batch, len, dim, ns);
    assert_true(memcmp(y, y2, nx * sizeof(float)) == 0); /* saving states changes nothing */
    assert_true(memcmp(h_last, h_last2, (size_t)batch * dim * ns * sizeof(float)) == 0);
    for (int b = 0; b < batch; b++)
        for (int d = 0; d < dim; d++) {
            double h[4] = {0, 0, 0, 0};
            for (int t = 0; t < len; t++) {
                size_t row = (size_t)b * len + t;
                double acc = (double)D[d] * x[row * dim + d];
                for (int n = 0; n < ns; n++) {
                    h[n] = exp((double)dt[row * dim + d] * A[d * ns + n]) * h[n] +
                           (double)dt[row * dim + d] * B[row * ns + n] * x[row * dim + d];
                    acc += C[row * ns + n] * h[n];
                }
                assert_close(y[row * dim + d], acc, 1e-5);
            }
            for (int n = 0; n < ns; n++)
                assert_close(h_last[(b * dim + d) * ns + n], h[n], 1e-5);
        }
    free(x), free(dt), free(A), free(B), free(C), free(D), free(y), free(y2), free(hs);
    free(h_last), free(h_last2);
}

static double sigm(double v)
{
    return 1 / (1 + exp(-v));
}

static void lstm_matches_reference(void **state)
{
    (void)state;
    qt_rng rng;
    qt_rng_seed(&rng, 11);
    enum { BATCH = 2, LEN = 5, IN = 3, H = 4 };
    float *x = uniform(&rng, BATCH * LEN * IN, -1, 1);
    float *wih = uniform(&rng, 4 * H * IN, -0.7f, 0.7f);
    float *whh = uniform(&rng, 4 * H * H, -0.7f, 0.7f);
    float *bih = uniform(&rng, 4 * H, -0.5f, 0.5f), *bhh = uniform(&rng, 4 * H, -0.5f, 0.5f);
    int32_t lengths[BATCH] = {LEN, 3};
    float *out = calloc(BATCH * LEN * 2 * H, sizeof(float));
    float *gates = calloc(BATCH * LEN * 4 * H, sizeof(float));
    float *cells = calloc(BATCH * LEN * H, sizeof(float));
    for (int reverse = 0; reverse <= 1; reverse++) { /* the two halves of a BiLSTM */
        qt_lstm_dims d = {BATCH, LEN, IN, H, reverse, 2 * H};
        float *scratch = calloc(qt_lstm_scratch_floats(&d), sizeof(float));
        qt_lstm_forward(&d, out + reverse * H, gates, cells, scratch, x, wih, whh, bih, bhh,
                        lengths);
        free(scratch);
        for (int b = 0; b < BATCH; b++) {
            double h[H] = {0}, c[H] = {0}, g[4 * H];
            for (int s = 0; s < lengths[b]; s++) {
                int t = reverse ? lengths[b] - 1 - s : s;
                for (int r = 0; r < 4 * H; r++) {
                    double acc = (double)bih[r] + bhh[r];
                    for (int i = 0; i < IN; i++)
                        acc += (double)wih[r * IN + i] * x[(b * LEN + t) * IN + i];
                    for (int j = 0; j < H; j++)
                        acc += (double)whh[r * H + j] * h[j];
                    g[r] = acc;
                }
                for (int j = 0; j < H; j++) {
                    c[j] = sigm(g[H + j]) * c[j] + sigm(g[j]) * tanh(g[2 * H + j]);
                    h[j] = sigm(g[3 * H + j]) * tanh(c[j]);
                    assert_close(out[(b * LEN + t) * 2 * H + reverse * H + j], h[j], 1e-5);
                }
            }
            for (int t = lengths[b]; t < LEN; t++) /* past the end: zeros */
                for (int j = 0; j < H; j++)
                    assert_true(out[(b * LEN + t) * 2 * H + reverse * H + j] == 0.0f);
        }
    }
    free(x), free(wih), free(whh), free(bih), free(bhh), free(out), free(gates), free(cells);
}

static void t5_buckets_match_reference(void **state)
{
    (void)state;
    /* Hugging Face's _relative_position_bucket with 32 buckets, max distance 128 */
    static const int rel[] = {-200, -128, -127, -64, -33, -32, -31, -16, -15, -9, -8, -7, -1, 0,
                              1, 2, 7, 8, 9, 15, 16, 31, 32, 64, 100, 127, 128, 129, 500};
    static const int bi[] = {15, 15, 15, 14, 12, 12, 11, 10, 9, 8, 8, 7, 1, 0, 17,
                             18, 23, 24, 24, 25, 26, 27, 28, 30, 31, 31, 31, 31, 31};
    static const int uni[] = {31, 31, 31, 26, 21, 21, 21, 16, 15, 9, 8, 7, 1, 0, 0,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        assert_int_equal(qt_t5_relpos_bucket(rel[i], 1, 32, 128), bi[i]);
        assert_int_equal(qt_t5_relpos_bucket(rel[i], 0, 32, 128), uni[i]);
    }
    /* the bias lays the table out as [heads, tq, tk], with the query offset */
    float table[32 * 2], bias[2 * 1 * 3];
    for (int i = 0; i < 64; i++)
        table[i] = (float)i;
    qt_t5_relpos_forward(bias, table, 2, 1, 3, 2, 0, 32, 128); /* query at position 2 */
    assert_true(bias[0] == table[2 * 2 + 0] && bias[1] == table[1 * 2] && bias[2] == table[0]);
    assert_true(bias[3] == table[2 * 2 + 1] && bias[5] == table[1]);
}

/* ---- optimiser ---- */

static void adamw_two_steps_by_hand(void **state)
{
    (void)state;
    /* lr 0.1, wd 0.01, betas 0.9 / 0.999, eps 1e-8; p[0] decays, p[1] does not.
     * step 1, p0: p *= 1 - 0.001; m = 0.05, v = 2.5e-4; m^ = 0.5, v^ = 0.25;
     *             p -= 0.1 * 0.5 / (0.5 + 1e-8)   -> 0.899000002
     * step 2 (g = -0.25): m = 0.02, v = 3.1225e-4; m^ = 0.02 / 0.19, v^ = v / 0.001999
     *                                               -> 0.8714672987 */
    qt_adamw opt = qt_adamw_defaults();
    opt.weight_decay = 0.01f;
    float p[2] = {1.0f, -2.0f}, m[2] = {0, 0}, v[2] = {0, 0};
    float g1[2] = {0.5f, 0.1f}, g2[2] = {-0.25f, 0.3f};
    qt_param params[2] = {{&p[0], &g1[0], &m[0], &v[0], 1, 1}, {&p[1], &g1[1], &m[1], &v[1], 1, 0}};
    qt_adamw_step(&opt, params, 2, 0.1f, 1);
    assert_close(p[0], 0.899000002, 1e-6);
    assert_close(p[1], -2.09999999, 1e-6);
    assert_close(m[0], 0.05, 1e-7);
    assert_close(v[0], 2.5e-4, 1e-9);
    params[0].g = &g2[0], params[1].g = &g2[1];
    qt_adamw_step(&opt, params, 2, 0.1f, 2);
    assert_close(p[0], 0.8714672987, 1e-6);
    assert_close(p[1], -2.1917780978, 1e-6);
}

static void clipping_and_schedule(void **state)
{
    (void)state;
    float g[3] = {3.0f, 0.0f, 4.0f};
    qt_param prm = {NULL, g, NULL, NULL, 3, 1};
    assert_close(qt_grad_global_norm(&prm, 1), 5.0, 1e-9);
    assert_close(qt_grad_clip(&prm, 1, 10.0), 5.0, 1e-9);
    assert_true(g[0] == 3.0f); /* under the limit: untouched */
    assert_close(qt_grad_clip(&prm, 1, 1.0), 5.0, 1e-9);
    assert_close(g[0], 0.6, 1e-6);
    assert_close(g[2], 0.8, 1e-6);
    assert_close(qt_grad_global_norm(&prm, 1), 1.0, 1e-6);

    float peak = 1e-3f;
    assert_true(qt_lr_linear_warmup_decay(0, 10, 110, peak) == 0.0f);
    assert_close(qt_lr_linear_warmup_decay(5, 10, 110, peak), 5e-4, 1e-9);
    assert_close(qt_lr_linear_warmup_decay(10, 10, 110, peak), 1e-3, 1e-9);
    assert_close(qt_lr_linear_warmup_decay(60, 10, 110, peak), 5e-4, 1e-9);
    assert_true(qt_lr_linear_warmup_decay(110, 10, 110, peak) == 0.0f);
    assert_true(qt_lr_linear_warmup_decay(500, 10, 110, peak) == 0.0f);
    assert_close(qt_lr_linear_warmup_decay(3, 0, 10, peak), 7e-4, 1e-9); /* no warm-up */
}

int main(int argc, char **argv)
{
    qt_blas_setup(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tensor_alloc_view_reshape),
        cmocka_unit_test(arena_bumps_resets_and_fills),
        cmocka_unit_test(rng_is_seeded_and_distributed),
        cmocka_unit_test(vecmath_is_float_accurate),
        cmocka_unit_test(activations_known_values),
        cmocka_unit_test(softmax_masked_and_safe),
        cmocka_unit_test(cross_entropy_values),
        cmocka_unit_test(embedding_and_dropout),
        cmocka_unit_test(tied_lm_head_matches_double),
        cmocka_unit_test(norms_match_double),
        cmocka_unit_test(linear_uses_pytorch_layout),
        cmocka_unit_test(attention_matches_reference),
        cmocka_unit_test(conv1d_matches_reference_and_step),
        cmocka_unit_test(scan_matches_reference),
        cmocka_unit_test(lstm_matches_reference),
        cmocka_unit_test(t5_buckets_match_reference),
        cmocka_unit_test(adamw_two_steps_by_hand),
        cmocka_unit_test(clipping_and_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
