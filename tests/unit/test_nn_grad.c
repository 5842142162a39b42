/* Every backward in src/nn (elementwise, norms, activations, softmax,
 * embedding, dropout, cross-entropy, linear, batched matmul, attention)
 * against central finite differences, on random small shapes from fixed
 * seeds. The sequence ops (conv1d, scan, LSTM, T5 relative bias) are in
 * test_nn_grad_seq.c; the method is described in gradcheck.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gradcheck.h"
#include "nn/attention.h"
#include "nn/blas_setup.h"
#include "nn/linear.h"
#include "nn/ops.h"

/* Tolerances (worst element relative to the gradient's scale, see
 * gradcheck.h). Observed errors are around 1e-4 or below; a wrong term,
 * sign, index or a missing accumulation gives 1e-2 and up. */
#define EPS 1e-2f
#define TOL 3e-3
#define FLOOR 1e-2

static int rnd_int(qt_rng *r, int lo, int hi)
{
    return lo + (int)qt_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* ---- elementwise and activations ---- */

typedef void (*unary_fwd)(float *, const float *, size_t);
typedef void (*unary_bwd)(float *, const float *, const float *, size_t);

typedef struct {
    unary_fwd fwd;
    float *x, *out, *r;
    size_t n;
} unary_ctx;

static double unary_loss(void *p)
{
    unary_ctx *c = p;
    c->fwd(c->out, c->x, c->n);
    return gc_dot(c->out, c->r, c->n);
}

static void check_unary(const char *name, unary_fwd fwd, unary_bwd bwd, float lo, float hi,
                        int away_from_zero)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed);
        size_t n = (size_t)rnd_int(&rng, 1, 40);
        unary_ctx c = {fwd, gc_uniform(&rng, n, lo, hi), gc_zeros(n), gc_uniform(&rng, n, -1, 1),
                       n};
        if (away_from_zero) /* keep the kink out of reach of the step */
            for (size_t i = 0; i < n; i++)
                if (fabsf(c.x[i]) < 4 * EPS)
                    c.x[i] = c.x[i] < 0 ? -0.5f : 0.5f;
        float *dx = gc_grad(n);
        unary_loss(&c);
        bwd(dx, c.r, c.x, n);
        gc_input in[] = {{"x", c.x, dx, n}};
        assert_true(gc_check(name, unary_loss, &c, in, 1, EPS, FLOOR) < TOL);
        gc_free_all();
    }
}

static void grad_activations(void **state)
{
    (void)state;
    check_unary("gelu (erf)", qt_gelu_forward, qt_gelu_backward, -4, 4, 0);
    check_unary("gelu (tanh)", qt_gelu_tanh_forward, qt_gelu_tanh_backward, -4, 4, 0);
    check_unary("relu", qt_relu_forward, qt_relu_backward, -3, 3, 1);
    check_unary("silu", qt_silu_forward, qt_silu_backward, -6, 6, 0);
    check_unary("softplus", qt_softplus_forward, qt_softplus_backward, -8, 8, 0);
    check_unary("softplus (large |x|)", qt_softplus_forward, qt_softplus_backward, -30, 30, 0);
}

typedef struct {
    float *a, *b, *out, *r;
    int rows, cols, op; /* op 0: add, 1: mul, 2: bias add (b is [cols]) */
} binary_ctx;

static double binary_loss(void *p)
{
    binary_ctx *c = p;
    size_t n = (size_t)c->rows * c->cols;
    if (c->op == 0)
        qt_add_forward(c->out, c->a, c->b, n);
    else if (c->op == 1)
        qt_mul_forward(c->out, c->a, c->b, n);
    else {
        memcpy(c->out, c->a, n * sizeof(float));
        qt_bias_add_forward(c->out, c->b, c->rows, c->cols);
    }
    return gc_dot(c->out, c->r, n);
}

static void grad_elementwise(void **state)
{
    (void)state;
    static const char *names[] = {"add", "mul", "bias add"};
    for (int op = 0; op < 3; op++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            qt_rng rng;
            qt_rng_seed(&rng, seed * 10 + op);
            int rows = rnd_int(&rng, 1, 5), cols = rnd_int(&rng, 1, 7);
            size_t n = (size_t)rows * cols, nb = op == 2 ? (size_t)cols : n;
            binary_ctx c = {gc_uniform(&rng, n, -2, 2), gc_uniform(&rng, nb, -2, 2), gc_zeros(n),
                            gc_uniform(&rng, n, -1, 1), rows, cols, op};
            float *da = gc_grad(n), *db = gc_grad(nb);
            binary_loss(&c);
            if (op == 0)
                qt_add_backward(da, db, c.r, n);
            else if (op == 1)
                qt_mul_backward(da, db, c.r, c.a, c.b, n);
            else {
                qt_add_backward(da, NULL, c.r, n); /* dx = dout */
                qt_bias_add_backward(db, c.r, rows, cols);
            }
            gc_input in[] = {{"a", c.a, da, n}, {"b", c.b, db, nb}};
            assert_true(gc_check(names[op], binary_loss, &c, in, 2, EPS, FLOOR) < TOL);
            gc_free_all();
        }
}

/* ---- norms ---- */

typedef struct {
    float *x, *w, *b, *out, *mean, *rstd, *r;
    int rows, cols, rms;
} norm_ctx;

static double norm_loss(void *p)
{
    norm_ctx *c = p;
    if (c->rms)
        qt_rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->rows, c->cols, 1e-6f);
    else
        qt_layernorm_forward(c->out, c->mean, c->rstd, c->x, c->w, c->b, c->rows, c->cols, 1e-5f);
    return gc_dot(c->out, c->r, (size_t)c->rows * c->cols);
}

static void grad_norms(void **state)
{
    (void)state;
    for (int rms = 0; rms <= 1; rms++)
        for (uint64_t seed = 1; seed <= 4; seed++) {
            qt_rng rng;
            qt_rng_seed(&rng, seed + 100 * rms);
            int rows = rnd_int(&rng, 1, 4), cols = seed == 1 ? 1 : rnd_int(&rng, 2, 12);
            size_t n = (size_t)rows * cols;
            norm_ctx c = {gc_uniform(&rng, n, -2, 2), gc_uniform(&rng, cols, 0.5f, 1.5f),
                          gc_uniform(&rng, cols, -0.5f, 0.5f), gc_zeros(n), gc_zeros(rows),
                          gc_zeros(rows), gc_uniform(&rng, n, -1, 1), rows, cols, rms};
            for (size_t i = 0; i < n; i++) /* an offset the mean must remove */
                c.x[i] += rms ? 0.0f : 3.0f;
            float *dx = gc_grad(n), *dw = gc_grad(cols), *db = gc_grad(cols);
            norm_loss(&c);
            if (rms)
                qt_rmsnorm_backward(dx, dw, c.r, c.x, c.w, c.rstd, rows, cols);
            else
                qt_layernorm_backward(dx, dw, db, c.r, c.x, c.w, c.mean, c.rstd, rows, cols);
            gc_input in[] = {{"x", c.x, dx, n}, {"w", c.w, dw, cols}, {"b", c.b, db, cols}};
            /* a smaller step: layer norm of a short row is strongly curved */
            double err = gc_check(rms ? "rmsnorm" : "layernorm", norm_loss, &c, in, rms ? 2 : 3,
                                  EPS / 4, FLOOR);
            assert_true(err < TOL);
            gc_free_all();
        }
}

/* ---- softmax ---- */

typedef struct {
    float *x, *out, *r;
    uint8_t *mask;
    int rows, cols;
} softmax_ctx;

static double softmax_loss(void *p)
{
    softmax_ctx *c = p;
    qt_softmax_forward(c->out, c->x, c->mask, c->rows, c->cols);
    return gc_dot(c->out, c->r, (size_t)c->rows * c->cols);
}

static void grad_softmax(void **state)
{
    (void)state;
    for (int masked = 0; masked <= 1; masked++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            qt_rng rng;
            qt_rng_seed(&rng, seed + 10 * masked);
            int rows = rnd_int(&rng, 1 + masked, 4), cols = rnd_int(&rng, 1, 9);
            size_t n = (size_t)rows * cols;
            softmax_ctx c = {gc_uniform(&rng, n, -3, 3), gc_zeros(n), gc_uniform(&rng, n, -1, 1),
                             NULL, rows, cols};
            if (masked) {
                c.mask = gc_keep(calloc(n, 1));
                for (size_t i = 0; i < n; i++)
                    c.mask[i] = qt_rng_uniform(&rng) < 0.6f;
                memset(c.mask, 0, (size_t)cols); /* row 0: nothing to attend to */
            }
            float *dx = gc_grad(n);
            softmax_loss(&c);
            qt_softmax_backward(dx, c.r, c.out, rows, cols);
            gc_input in[] = {{"x", c.x, dx, n}};
            assert_true(gc_check(masked ? "softmax (masked)" : "softmax", softmax_loss, &c, in,
                                 1, EPS, FLOOR) < TOL);
            gc_free_all();
        }
}

/* ---- embedding and dropout ---- */

typedef struct {
    float *table, *out, *r;
    int32_t *ids;
    int n, dim, vocab;
} embed_ctx;

static double embed_loss(void *p)
{
    embed_ctx *c = p;
    assert_int_equal(qt_embedding_forward(c->out, c->ids, c->table, c->n, c->dim, c->vocab), 0);
    return gc_dot(c->out, c->r, (size_t)c->n * c->dim);
}

static void grad_embedding(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed);
        int vocab = rnd_int(&rng, 1, 7), dim = rnd_int(&rng, 1, 6), n = rnd_int(&rng, 1, 10);
        embed_ctx c = {gc_uniform(&rng, (size_t)vocab * dim, -1, 1), gc_zeros((size_t)n * dim),
                       gc_uniform(&rng, (size_t)n * dim, -1, 1),
                       gc_keep(calloc((size_t)n, sizeof(int32_t))), n, dim, vocab};
        for (int i = 0; i < n; i++) /* repeats happen: their gradients must add up */
            c.ids[i] = (int32_t)qt_rng_below(&rng, (uint32_t)vocab);
        float *dt = gc_grad((size_t)vocab * dim);
        embed_loss(&c);
        qt_embedding_backward(dt, c.r, c.ids, n, dim, vocab);
        gc_input in[] = {{"table", c.table, dt, (size_t)vocab * dim}};
        assert_true(gc_check("embedding", embed_loss, &c, in, 1, EPS, FLOOR) < TOL);
        gc_free_all();
    }
}

typedef struct {
    float *x, *out, *r;
    uint8_t *mask;
    size_t n;
    float p;
    int training;
} dropout_ctx;

static double dropout_loss(void *p)
{
    dropout_ctx *c = p;
    qt_rng rng;
    qt_rng_seed(&rng, 99); /* the same mask every call */
    qt_dropout_forward(c->out, c->mask, c->x, c->n, c->p, c->training, &rng);
    return gc_dot(c->out, c->r, c->n);
}

static void grad_dropout(void **state)
{
    (void)state;
    for (int training = 0; training <= 1; training++)
        for (uint64_t seed = 1; seed <= 2; seed++) {
            qt_rng rng;
            qt_rng_seed(&rng, seed);
            size_t n = (size_t)rnd_int(&rng, 1, 40);
            dropout_ctx c = {gc_uniform(&rng, n, -2, 2), gc_zeros(n), gc_uniform(&rng, n, -1, 1),
                             gc_keep(calloc(n, 1)), n, 0.3f, training};
            float *dx = gc_grad(n);
            dropout_loss(&c);
            qt_dropout_backward(dx, c.r, c.mask, n, c.p, training);
            gc_input in[] = {{"x", c.x, dx, n}};
            assert_true(gc_check(training ? "dropout (training)" : "dropout (eval)", dropout_loss,
                                 &c, in, 1, EPS, FLOOR) < TOL);
            gc_free_all();
        }
}

/* ---- cross-entropy ---- */

typedef struct {
    float *logits, *probs;
    int32_t *targets;
    int rows, classes;
    float r;
} xent_ctx;

static double xent_loss(void *p)
{
    xent_ctx *c = p;
    float loss;
    int count = qt_cross_entropy_forward(&loss, c->probs, c->logits, c->targets, c->rows,
                                         c->classes, -100);
    assert_true(count >= 0);
    return (double)loss * c->r;
}

static void grad_cross_entropy(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed);
        int rows = rnd_int(&rng, 1, 6), classes = rnd_int(&rng, 1, 9);
        size_t n = (size_t)rows * classes;
        xent_ctx c = {gc_uniform(&rng, n, -3, 3), gc_zeros(n),
                      gc_keep(calloc((size_t)rows, sizeof(int32_t))), rows, classes, 0.7f};
        for (int i = 0; i < rows; i++)
            c.targets[i] = (int32_t)qt_rng_below(&rng, (uint32_t)classes);
        if (rows > 1)
            c.targets[rows - 1] = -100; /* ignored: no gradient, not in the mean */
        float *dz = gc_grad(n);
        xent_loss(&c);
        qt_cross_entropy_backward(dz, c.r, c.probs, c.targets, rows, classes, -100);
        gc_input in[] = {{"logits", c.logits, dz, n}};
        assert_true(gc_check("cross-entropy", xent_loss, &c, in, 1, EPS, FLOOR) < TOL);
        gc_free_all();
    }
}

/* ---- linear and batched matmul ---- */

typedef struct {
    float *x, *w, *b, *out, *r;
    int n, inf, outf;
} linear_ctx;

static double linear_loss(void *p)
{
    linear_ctx *c = p;
    qt_linear_forward(c->out, c->x, c->w, c->b, c->n, c->inf, c->outf);
    return gc_dot(c->out, c->r, (size_t)c->n * c->outf);
}

static void grad_linear(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        qt_rng rng;
        qt_rng_seed(&rng, seed);
        /* seed 1 and 2: one row (the sgemv path); seed 2 and 4: no bias */
        int n = seed <= 2 ? 1 : rnd_int(&rng, 2, 6);
        int inf = rnd_int(&rng, 1, 8), outf = rnd_int(&rng, 1, 7);
        int with_bias = seed % 2;
        linear_ctx c = {gc_uniform(&rng, (size_t)n * inf, -1, 1),
                        gc_uniform(&rng, (size_t)outf * inf, -1, 1),
                        with_bias ? gc_uniform(&rng, outf, -1, 1) : NULL,
                        gc_zeros((size_t)n * outf), gc_uniform(&rng, (size_t)n * outf, -1, 1), n,
                        inf, outf};
        float *dx = gc_grad((size_t)n * inf), *dw = gc_grad((size_t)outf * inf);
        float *db = gc_grad(outf);
        linear_loss(&c);
        qt_linear_backward(dx, dw, with_bias ? db : NULL, c.r, c.x, c.w, n, inf, outf);
        gc_input in[] = {{"x", c.x, dx, (size_t)n * inf},
                         {"W", c.w, dw, (size_t)outf * inf},
                         {"b", c.b, db, (size_t)outf}};
        assert_true(gc_check("linear", linear_loss, &c, in, with_bias ? 3 : 2, EPS, FLOOR) < TOL);
        gc_free_all();
    }
}

typedef struct {
    float *a, *b, *c, *r;
    int batch, m, n, k, ta, tb;
} bmm_ctx;

static double bmm_loss(void *p)
{
    bmm_ctx *c = p;
    qt_bmm_forward(c->c, c->a, c->b, c->batch, c->m, c->n, c->k, c->ta, c->tb);
    return gc_dot(c->c, c->r, (size_t)c->batch * c->m * c->n);
}

static void grad_bmm(void **state)
{
    (void)state;
    for (int trans = 0; trans < 4; trans++) {
        qt_rng rng;
        qt_rng_seed(&rng, 40 + trans);
        int batch = rnd_int(&rng, 1, 3), m = rnd_int(&rng, 1, 5), n = rnd_int(&rng, 1, 5);
        int k = rnd_int(&rng, 1, 5);
        size_t na = (size_t)batch * m * k, nb = (size_t)batch * k * n, nc = (size_t)batch * m * n;
        bmm_ctx c = {gc_uniform(&rng, na, -1, 1), gc_uniform(&rng, nb, -1, 1), gc_zeros(nc),
                     gc_uniform(&rng, nc, -1, 1), batch, m, n, k, trans & 1, trans >> 1};
        float *da = gc_grad(na), *db = gc_grad(nb);
        bmm_loss(&c);
        qt_bmm_backward(da, db, c.r, c.a, c.b, batch, m, n, k, c.ta, c.tb);
        static const char *names[] = {"bmm A B", "bmm A^T B", "bmm A B^T", "bmm A^T B^T"};
        gc_input in[] = {{"A", c.a, da, na}, {"B", c.b, db, nb}};
        assert_true(gc_check(names[trans], bmm_loss, &c, in, 2, EPS, FLOOR) < TOL);
        gc_free_all();
    }
}

/* ---- attention ---- */

typedef struct {
    qt_attn_dims d;
    float *q, *k, *v, *bias, *out, *att, *r;
    uint8_t *mask;
} attn_ctx;

static double attn_loss(void *p)
{
    attn_ctx *c = p;
    qt_attention_forward(&c->d, c->out, c->att, c->q, c->k, c->v, c->mask, c->bias);
    int os = c->d.out_stride ? c->d.out_stride : c->d.heads * c->d.head_dim;
    return gc_dot_strided(c->out, c->r, (size_t)c->d.batch * c->d.tq,
                          (size_t)c->d.heads * c->d.head_dim, (size_t)os);
}

enum {
    ATT_MASK = 1, ATT_CAUSAL = 2, ATT_BIAS = 4, ATT_CROSS = 8, ATT_FUSED = 16, ATT_CACHE = 32,
    ATT_ONE_QUERY = 64
};

static void check_attention(const char *name, int flags, uint64_t seed)
{
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    int batch = rnd_int(&rng, 1, 2), heads = rnd_int(&rng, 1, 3), hd = rnd_int(&rng, 1, 4);
    int tq = flags & ATT_ONE_QUERY ? 1 : rnd_int(&rng, 2, 6), tk = tq;
    if (flags & ATT_CROSS)
        tk = tq + rnd_int(&rng, 1, 3);
    if (flags & ATT_CACHE) /* a decoder continuing after tk - tq cached keys */
        tk = tq + rnd_int(&rng, 1, 3);
    int width = heads * hd;
    attn_ctx c = {.d = qt_attn_make(batch, heads, tq, tk, hd)};
    c.d.causal = (flags & ATT_CAUSAL) != 0;
    size_t nq, nk, nv;
    float *dq, *dk, *dv, *qkv = NULL, *dqkv = NULL;
    if (flags & ATT_FUSED) { /* one projection [tokens, 3 * width]: Q | K | V */
        c.d.q_stride = c.d.k_stride = c.d.v_stride = 3 * width;
        c.d.out_stride = width + 2; /* and an output with room between rows */
        size_t n = (size_t)batch * tq * 3 * width;
        qkv = gc_uniform(&rng, n, -1.5f, 1.5f);
        dqkv = gc_grad(n);
        c.q = qkv, c.k = qkv + width, c.v = qkv + 2 * width;
        dq = dqkv, dk = dqkv + width, dv = dqkv + 2 * width;
        nq = nk = nv = 0;
    } else {
        nq = (size_t)batch * tq * width, nk = nv = (size_t)batch * tk * width;
        c.q = gc_uniform(&rng, nq, -1.5f, 1.5f);
        c.k = gc_uniform(&rng, nk, -1.5f, 1.5f);
        c.v = gc_uniform(&rng, nv, -1.5f, 1.5f);
        dq = gc_grad(nq), dk = gc_grad(nk), dv = gc_grad(nv);
    }
    int os = c.d.out_stride ? c.d.out_stride : width;
    c.out = gc_zeros((size_t)batch * tq * os);
    c.r = gc_uniform(&rng, (size_t)batch * tq * os, -1, 1);
    c.att = gc_zeros((size_t)batch * heads * tq * tk);
    size_t nbias = (size_t)heads * tq * tk;
    float *dbias = gc_grad(nbias);
    if (flags & ATT_BIAS)
        c.bias = gc_uniform(&rng, nbias, -1, 1);
    if (flags & ATT_MASK) {
        c.mask = gc_keep(calloc((size_t)batch * tk, 1));
        for (int i = 0; i < batch * tk; i++)
            c.mask[i] = qt_rng_uniform(&rng) < 0.7f;
        c.mask[0] = 1;
        if (batch > 1) /* the last sequence is all padding: zero output, zero gradients */
            memset(c.mask + (size_t)(batch - 1) * tk, 0, (size_t)tk);
    }
    float *scratch = gc_zeros((size_t)tq * tk);
    attn_loss(&c);
    qt_attention_backward(&c.d, dq, dk, dv, c.bias ? dbias : NULL, scratch, c.r, c.att, c.q, c.k,
                          c.v);
    gc_input in[4];
    int count = 0;
    if (flags & ATT_FUSED) {
        in[count++] = (gc_input){"qkv", qkv, dqkv, (size_t)batch * tq * 3 * width};
    } else {
        in[count++] = (gc_input){"q", c.q, dq, nq};
        in[count++] = (gc_input){"k", c.k, dk, nk};
        in[count++] = (gc_input){"v", c.v, dv, nv};
    }
    if (c.bias)
        in[count++] = (gc_input){"bias", c.bias, dbias, nbias};
    assert_true(gc_check(name, attn_loss, &c, in, count, EPS, FLOOR) < TOL);
    gc_free_all();
}

static void grad_attention(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        check_attention("attention", 0, seed);
        check_attention("attention, padding mask", ATT_MASK, seed + 10);
        check_attention("attention, causal", ATT_CAUSAL, seed + 20);
        check_attention("attention, position bias", ATT_BIAS | ATT_MASK, seed + 30);
        check_attention("attention, cross (tq != tk)", ATT_CROSS | ATT_MASK | ATT_BIAS, seed + 40);
        check_attention("attention, fused qkv", ATT_FUSED | ATT_CAUSAL | ATT_MASK, seed + 50);
        check_attention("attention, causal with cache", ATT_CACHE | ATT_CAUSAL | ATT_BIAS,
                        seed + 60);
        check_attention("attention, one query, cache",
                        ATT_ONE_QUERY | ATT_CACHE | ATT_CAUSAL | ATT_MASK, seed + 70);
    }
}

int main(int argc, char **argv)
{
    qt_blas_setup(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_activations), cmocka_unit_test(grad_elementwise),
        cmocka_unit_test(grad_norms),       cmocka_unit_test(grad_softmax),
        cmocka_unit_test(grad_embedding),   cmocka_unit_test(grad_dropout),
        cmocka_unit_test(grad_cross_entropy), cmocka_unit_test(grad_linear),
        cmocka_unit_test(grad_bmm),         cmocka_unit_test(grad_attention),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    printf("# %d gradient checks over %d input elements, worst relative error %.2e\n", gc_checks,
           gc_elements, gc_worst);
    return failed;
}
