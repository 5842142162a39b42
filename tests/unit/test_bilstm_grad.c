/* The whole BiLSTM reader's backward against central finite differences of
 * its training loss (qt_bilstm_loss after qt_bilstm_forward), at a tiny size,
 * for every element of every parameter tensor: a padded batch of two
 * examples (one answerable, one not), dropout on (the generator is reseeded
 * before each forward, so every evaluation draws the same masks), and both a
 * configuration with the character CNN, exact-match features and two encoder
 * layers and one with neither and two modelling layers.
 *
 * ReLU and the max over character positions have kinks where a difference
 * quotient is meaningless, so each evaluation hashes the pattern of those
 * decisions (which units are active, which position wins) and an element
 * whose +-eps evaluations change the pattern is skipped (reported; at most
 * a few percent may be). The numeric gradient is the 4-point central
 * difference; the bound is below (ATOL, RTOL). The loss is the training loss
 * plus a fixed random projection of every logit, so that every output
 * carries gradient. Gradients are pre-filled to check that backward adds
 * into them. Tensors whose gradients are too small for float32 differences
 * to resolve (scale near ATOL) are still compared with PyTorch's autograd
 * in test_bilstm.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gradcheck.h"
#include "models/bilstm.h"
#include "nn/blas_setup.h"

#define EPS 1e-2f
/* An element passes when |analytic - numeric| <= ATOL + RTOL * scale, scale
 * being the tensor's largest |numeric| gradient. ATOL is about twice the
 * noise of a float32 forward's difference quotient at this size; RTOL
 * bounds the error of the 4-point formula. */
#define ATOL 3e-5
#define RTOL 3e-3

typedef struct grad_ctx {
    qt_bilstm_config c;
    qt_bilstm_weights w, g;
    float *w_flat, *g_flat;
    size_t np;
    qt_bilstm_batch b;
    int32_t c_lens[2], q_lens[2], st[2], et[2];
    float *dstart, *dend, dnull[4];
    float *r_start, *r_end, r_null[4];
    qt_arena arena;
    uint64_t pattern;
} grad_ctx;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t signs(uint64_t h, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char on = x[i] > 0.0f;
        h = fnv(h, &on, 1);
    }
    return h;
}

/* Forward + loss; the kink pattern into ctx->pattern; with backward, also
 * the analytic gradient into ctx->g (added). */
static double run(grad_ctx *x, int backward)
{
    qt_arena_reset(&x->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, 77);
    qt_err e = {{0}};
    qt_bilstm_acts a;
    if (qt_bilstm_forward(&x->c, &x->w, &x->b, 1, &rng, &x->arena, NULL, &a, &e) != 0)
        fail_msg("%s", e.msg);
    const int B = x->b.batch, BC = B * x->b.c_len, BQ = B * x->b.q_len;
    const int D = x->c.embedding_dim, H2 = 2 * x->c.hidden_size, C = qt_bilstm_char_dim(&x->c);
    uint64_t h = 1469598103934665603ull;
    h = signs(h, a.align_xc, (size_t)BC * D);
    h = signs(h, a.align_xq, (size_t)BQ * D);
    h = signs(h, a.co_yc, (size_t)BC * H2);
    h = signs(h, a.co_yq, (size_t)BQ * H2);
    h = signs(h, a.na_h, (size_t)B * x->c.hidden_size);
    if (C) {
        h = signs(h, a.c_char.out, (size_t)BC * C);
        h = signs(h, a.q_char.out, (size_t)BQ * C);
        h = fnv(h, a.c_char.arg, sizeof(int32_t) * BC * C);
        h = fnv(h, a.q_char.arg, sizeof(int32_t) * BQ * C);
    }
    x->pattern = h;
    memset(x->dstart, 0, sizeof(float) * BC);
    memset(x->dend, 0, sizeof(float) * BC);
    memset(x->dnull, 0, sizeof x->dnull);
    double loss = qt_bilstm_loss(&a, x->c_lens, x->st, x->et, x->dstart, x->dend, x->dnull);
    /* plus a fixed random projection of every logit, for more gradient signal */
    for (int i = 0; i < BC; i++)
        if (i % x->b.c_len < x->c_lens[i / x->b.c_len]) {
            loss += (double)a.start[i] * x->r_start[i] + (double)a.end[i] * x->r_end[i];
            x->dstart[i] += x->r_start[i];
            x->dend[i] += x->r_end[i];
        }
    for (int i = 0; i < 2 * B; i++) {
        loss += (double)a.null[i] * x->r_null[i];
        x->dnull[i] += x->r_null[i];
    }
    if (backward &&
        qt_bilstm_backward(&x->c, &x->w, &x->b, &a, x->dstart, x->dend, x->dnull, &x->g,
                           &x->arena, &e) != 0)
        fail_msg("%s", e.msg);
    return loss;
}

static void check_config(const qt_bilstm_config *cfg, const char *label, uint64_t seed)
{
    grad_ctx x;
    memset(&x, 0, sizeof x);
    x.c = *cfg;
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    x.np = qt_bilstm_param_floats(&x.c);
    x.w_flat = gc_zeros(x.np);
    x.g_flat = gc_grad(x.np);
    qt_bilstm_weights_bind(&x.c, &x.w, x.w_flat);
    qt_bilstm_weights_bind(&x.c, &x.g, x.g_flat);
    qt_bilstm_init_weights(&x.c, &x.w, &rng);
    /* larger than the default init so that every part carries gradient */
    for (size_t i = 0; i < x.np; i++)
        x.w_flat[i] *= 1.5f;

    const int B = 2, Tc = 5, Tq = 3, W = x.c.max_word_chars;
    int32_t *c_ids = gc_keep(calloc(B * Tc, sizeof(int32_t)));
    int32_t *q_ids = gc_keep(calloc(B * Tq, sizeof(int32_t)));
    int32_t *c_chars = gc_keep(calloc((size_t)B * Tc * W, sizeof(int32_t)));
    int32_t *q_chars = gc_keep(calloc((size_t)B * Tq * W, sizeof(int32_t)));
    float *c_em = gc_zeros((size_t)B * Tc * 2), *q_em = gc_zeros((size_t)B * Tq * 2);
    x.c_lens[0] = 5, x.c_lens[1] = 3, x.q_lens[0] = 3, x.q_lens[1] = 2;
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < x.c_lens[b]; i++)
            c_ids[b * Tc + i] = 1 + (int32_t)qt_rng_below(&rng, (uint32_t)x.c.vocab_size - 1);
        for (int i = 0; i < x.q_lens[b]; i++)
            q_ids[b * Tq + i] = 1 + (int32_t)qt_rng_below(&rng, (uint32_t)x.c.vocab_size - 1);
    }
    if (x.c.char_vocab_size > 0) {
        for (int i = 0; i < B * Tc * W; i++)
            c_chars[i] = (int32_t)qt_rng_below(&rng, (uint32_t)x.c.char_vocab_size);
        for (int i = 0; i < B * Tq * W; i++)
            q_chars[i] = (int32_t)qt_rng_below(&rng, (uint32_t)x.c.char_vocab_size);
    }
    for (int i = 0; i < B * Tc * 2; i++)
        c_em[i] = (float)qt_rng_below(&rng, 2);
    for (int i = 0; i < B * Tq * 2; i++)
        q_em[i] = (float)qt_rng_below(&rng, 2);
    int chars = x.c.char_vocab_size > 0, em = x.c.use_exact_match;
    x.b = (qt_bilstm_batch){B,        Tc,       Tq,       c_ids,    q_ids,   chars ? c_chars : NULL,
                            chars ? q_chars : NULL, em ? c_em : NULL, em ? q_em : NULL, x.c_lens,
                            x.q_lens};
    x.st[0] = 1, x.et[0] = 3, x.st[1] = -1, x.et[1] = -1;
    x.dstart = gc_zeros(B * Tc);
    x.dend = gc_zeros(B * Tc);
    x.r_start = gc_uniform(&rng, B * Tc, -1, 1);
    x.r_end = gc_uniform(&rng, B * Tc, -1, 1);
    qt_rng_fill_uniform(&rng, x.r_null, 4, -1, 1);
    qt_err e = {{0}};
    size_t bytes = qt_bilstm_forward_bytes(&x.c, B, Tc, Tq, 1) +
                   qt_bilstm_backward_bytes(&x.c, B, Tc, Tq);
    assert_int_equal(qt_arena_init(&x.arena, bytes, &e), 0);

    double base = run(&x, 1);
    uint64_t base_pattern = x.pattern;
    printf("# %s: %zu parameters, loss %.6f\n", label, x.np, base);

    qt_bilstm_param ps[QT_BILSTM_MAX_PARAMS];
    int n = qt_bilstm_params(&x.c, &x.w, ps);
    int skipped = 0, checked = 0;
    double worst = 0;
    size_t off = 0;
    double *numeric = gc_keep(calloc(x.np, sizeof(double)));
    uint8_t *kinked_all = gc_keep(calloc(x.np, 1));
    for (int k = 0; k < n; k++) {
        float *p = *ps[k].slot;
        double scale = 0;
        uint8_t *kinked = kinked_all + off;
        for (size_t i = 0; i < ps[k].numel; i++) {
            /* the 4-point central difference (error O(eps^4)) */
            const float saved = p[i], steps[4] = {saved - 2 * EPS, saved - EPS, saved + EPS,
                                                  saved + 2 * EPS};
            double l[4];
            for (int s = 0; s < 4; s++) {
                p[i] = steps[s];
                l[s] = run(&x, 0);
                kinked[i] |= x.pattern != base_pattern;
            }
            p[i] = saved;
            if (kinked[i]) {
                skipped++;
                continue;
            }
            checked++;
            double h1 = ((double)steps[2] - steps[1]) / 2, h2 = ((double)steps[3] - steps[0]) / 4;
            numeric[off + i] = (4 * (l[2] - l[1]) / (2 * h1) - (l[3] - l[0]) / (4 * h2)) / 3;
            scale = fmax(scale, fabs(numeric[off + i]));
        }
        double max_diff = 0, ratio = 0;
        size_t at = 0;
        for (size_t i = 0; i < ps[k].numel; i++) {
            if (kinked[i])
                continue;
            double analytic = (double)x.g_flat[off + i] - gc_prefill_value(off + i);
            double diff = fabs(analytic - numeric[off + i]);
            if (!(diff <= max_diff))
                max_diff = isnan(diff) ? INFINITY : diff, at = i;
        }
        ratio = max_diff / (ATOL + RTOL * scale);
        printf("# %-42s n=%-4zu scale %.2e  max diff %.2e (at %zu)  %.2f of the bound\n",
               ps[k].name, ps[k].numel, scale, max_diff, at, ratio);
        worst = fmax(worst, ratio);
        off += ps[k].numel;
    }
    printf("# %s: %d elements checked, %d skipped at a kink; worst %.2f of the bound\n", label,
           checked, skipped, worst);
    assert_true(worst < 1.0);
    assert_true(skipped <= (checked + skipped) / 20);
    qt_arena_free(&x.arena);
    gc_free_all();
}

static void grad_full_model(void **state)
{
    (void)state;
    qt_bilstm_config c;
    qt_bilstm_config_default(&c);
    c.vocab_size = 7, c.embedding_dim = 3, c.hidden_size = 2, c.num_layers = 2;
    c.num_model_layers = 1, c.use_exact_match = 1;
    c.char_vocab_size = 5, c.char_embedding_dim = 2, c.char_filters = 3;
    c.char_kernel_size = 2, c.max_word_chars = 3;
    c.dropout = 0.3f;
    check_config(&c, "chars + exact match, 2 encoder layers, dropout", 11);
}

static void grad_plain_model(void **state)
{
    (void)state;
    qt_bilstm_config c;
    qt_bilstm_config_default(&c);
    c.vocab_size = 6, c.embedding_dim = 2, c.hidden_size = 3, c.num_layers = 1;
    c.num_model_layers = 2, c.use_exact_match = 0, c.char_vocab_size = 0;
    c.dropout = 0.0f;
    check_config(&c, "plain, 2 modelling layers", 12);
}

int main(void)
{
    qt_blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_full_model),
        cmocka_unit_test(grad_plain_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
