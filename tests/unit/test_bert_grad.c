/* The whole BertForQuestionAnswering training network (bert_train.h)
 * against central finite differences of its loss, at a tiny size, and the
 * training forward against the real inference engine (models/bert.c) on
 * what qt_bert_train_save writes.
 *
 * Gradients: every parameter tensor; tensors of up to 64 elements in full,
 * larger ones at 50 elements drawn by a fixed generator. The batch has two
 * sequences of different lengths (padding exercised), one answerable and one
 * not. The loss is the training loss plus a fixed random projection of the
 * logits at real positions (more gradient signal everywhere); it is
 * accumulated in double, the network runs in float32, so the numeric
 * gradient is the 4-point central difference. Once with dropout off, once
 * with hidden and attention dropout on (the generator is reseeded before each
 * forward, so every evaluation draws the same masks). Gradients are
 * pre-filled to check that backward adds into them. The network is smooth
 * (GELU, LayerNorm, softmax): no element is skipped. A third run checks the
 * masked-LM pre-training loss (bert_train_mlm.c: the word embeddings as the
 * output layer) through qt_bert_train_backward_hidden. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <unistd.h>

#include "gradcheck.h"
#include "models/bert.h"
#include "models/bert_train.h"
#include "models/model.h"
#include "nn/lm_head.h"
#include "nn/blas_setup.h"
#include "util/file.h"

#define EPS 2e-2f
/* An element passes when |analytic - numeric| <= ATOL + RTOL * scale, scale
 * being the largest |numeric| of the tensor's checked elements. */
#define ATOL 3e-5
#define RTOL 3e-3
#define SAMPLE 50
#define FULL_UP_TO 64

static char tmp_root[] = "/tmp/qaterm-test-bert-grad.XXXXXX";
static double worst_rel; /* over every tensor of every test */

enum { B = 2, T = 10 };

typedef struct grad_ctx {
    qt_bert_train_config c;
    qt_bert_train_weights w, g;
    float *w_flat, *g_flat;
    size_t np;
    int32_t ids[B * T], types[B * T], lens[B], st[B], en[B];
    qt_bert_train_batch b;
    float dstart[B * T], dend[B * T], r_start[B * T], r_end[B * T];
    qt_arena arena;
    int training;
    int mlm; /* 1: the masked-LM loss at MLM_ROWS rows instead of the span loss */
    float mlm_x[2 * 8 * 16], mlm_logits[8 * 30], dx_top[B * T * 8];
} grad_ctx;

/* masked rows (b * T + t, real positions), their targets and weights */
enum { MLM_ROWS = 5 };
static const int32_t mlm_rows[MLM_ROWS] = {1, 4, 8, 12, 15};
static const int32_t mlm_targets[MLM_ROWS] = {7, 29, 12, 5, 20};
static const float mlm_weights[MLM_ROWS] = {0.2f, 0.2f, 0.2f, 0.25f, 0.25f};

static double run(grad_ctx *x, int backward, qt_bert_train_acts *out)
{
    qt_arena_reset(&x->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, 77);
    qt_err e = {{0}};
    qt_bert_train_acts a;
    if (qt_bert_train_forward(&x->c, &x->w, &x->b, x->training, &rng, &x->arena, &a, &e) != 0)
        fail_msg("%s", e.msg);
    if (x->mlm) {
        const float *x_top = a.layers[x->c.num_layers - 1].x_out;
        memset(x->dx_top, 0, sizeof x->dx_top);
        double l = qt_tied_lm_loss(x_top, x->w.word, x->c.hidden_size, x->c.vocab_size, mlm_rows, mlm_targets,
                                   mlm_weights, MLM_ROWS, x->mlm_x, x->mlm_logits, x->dx_top,
                                   backward ? x->g.word : NULL);
        if (backward && qt_bert_train_backward_hidden(&x->c, &x->w, &x->b, &a, x->dx_top, &x->g, &x->arena, &e))
            fail_msg("%s", e.msg);
        return l;
    }
    double loss = qt_bert_train_loss(&a, x->lens, x->st, x->en, 1.0, x->dstart, x->dend);
    for (int s = 0; s < B; s++)
        for (int t = 0; t < x->lens[s]; t++) {
            int i = s * T + t;
            loss += (double)a.start[i] * x->r_start[i] + (double)a.end[i] * x->r_end[i];
            x->dstart[i] += x->r_start[i];
            x->dend[i] += x->r_end[i];
        }
    if (backward && qt_bert_train_backward(&x->c, &x->w, &x->b, &a, x->dstart, x->dend, &x->g, &x->arena, &e) != 0)
        fail_msg("%s", e.msg);
    if (out)
        *out = a;
    return loss;
}

static void setup_ctx(grad_ctx *x, float dropout, uint64_t seed)
{
    memset(x, 0, sizeof *x);
    qt_bert_train_config_default(&x->c);
    x->c.vocab_size = 30, x->c.hidden_size = 8, x->c.num_layers = 2, x->c.num_heads = 2;
    x->c.intermediate_size = 12, x->c.max_position_embeddings = 16;
    x->c.hidden_dropout = x->c.attention_dropout = dropout;
    x->training = dropout > 0;
    qt_err e = {{0}};
    if (qt_bert_train_config_check(&x->c, "test", &e) != 0)
        fail_msg("%s", e.msg);
    x->np = qt_bert_train_param_floats(&x->c);
    x->w_flat = gc_zeros(x->np);
    x->g_flat = gc_grad(x->np);
    qt_bert_train_bind(&x->c, &x->w, x->w_flat);
    qt_bert_train_bind(&x->c, &x->g, x->g_flat);
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qt_bert_train_init(&x->c, &x->w, &rng);
    /* larger than the 0.02 init, and LayerNorms off 1/0, so that every
     * part carries gradient */
    qt_bert_train_param ps[64];
    int n = qt_bert_train_params(&x->c, ps);
    for (int k = 0; k < n; k++) {
        float *p = x->w_flat + ps[k].offset;
        int ln_weight = strstr(ps[k].name, "LayerNorm.weight") != NULL;
        for (size_t i = 0; i < ps[k].numel; i++)
            p[i] = (ln_weight ? 1.0f : 0.0f) + qt_rng_uniform(&rng) - 0.5f;
    }
    memset(x->w.word + (size_t)x->c.pad_token_id * x->c.hidden_size, 0, sizeof(float) * x->c.hidden_size);
    /* [CLS] q q [SEP] c c c ... [SEP], padding after the shorter one */
    x->lens[0] = T, x->lens[1] = 7;
    const int n_q[B] = {3, 2};
    for (int s = 0; s < B; s++)
        for (int t = 0; t < T; t++) {
            int i = s * T + t, L = x->lens[s];
            x->ids[i] = t >= L ? 0 : t == 0 ? 2 : (t == n_q[s] + 1 || t == L - 1) ? 3
                                                 : 5 + (int32_t)qt_rng_below(&rng, 25);
            x->types[i] = t < L && t > n_q[s] + 1 ? 1 : 0;
        }
    x->st[0] = 6, x->en[0] = 8, x->st[1] = -1, x->en[1] = -1;
    x->b = (qt_bert_train_batch){B, T, x->ids, x->types, x->lens};
    qt_rng_fill_uniform(&rng, x->r_start, B * T, -0.5f, 0.5f);
    qt_rng_fill_uniform(&rng, x->r_end, B * T, -0.5f, 0.5f);
    size_t bytes = qt_bert_train_forward_bytes(&x->c, B, T) + qt_bert_train_backward_bytes(&x->c, B, T);
    assert_int_equal(qt_arena_init(&x->arena, bytes, &e), 0);
}

static void check_grads(float dropout, const char *label, uint64_t seed, int mlm)
{
    grad_ctx *x = gc_keep(calloc(1, sizeof *x));
    setup_ctx(x, dropout, seed);
    x->mlm = mlm;
    double base = run(x, 1, NULL);
    printf("# %s: %zu parameters, loss %.6f\n", label, x->np, base);
    qt_bert_train_param ps[64];
    int n = qt_bert_train_params(&x->c, ps);
    qt_rng pick;
    qt_rng_seed(&pick, seed + 1);
    double worst = 0;
    int checked = 0;
    for (int k = 0; k < n; k++) {
        float *p = x->w_flat + ps[k].offset;
        const float *g = x->g_flat + ps[k].offset;
        size_t count = ps[k].numel <= FULL_UP_TO ? ps[k].numel : SAMPLE;
        double scale = 0, max_diff = 0;
        size_t at = 0;
        for (size_t s = 0; s < count; s++) {
            size_t i = ps[k].numel <= FULL_UP_TO ? s : qt_rng_below(&pick, (uint32_t)ps[k].numel);
            const float saved = p[i];
            const float steps[4] = {saved - 2 * EPS, saved - EPS, saved + EPS, saved + 2 * EPS};
            double l[4];
            for (int j = 0; j < 4; j++) {
                p[i] = steps[j];
                l[j] = run(x, 0, NULL);
            }
            p[i] = saved;
            double h1 = ((double)steps[2] - steps[1]) / 2, h2 = ((double)steps[3] - steps[0]) / 4;
            double numeric = (4 * (l[2] - l[1]) / (2 * h1) - (l[3] - l[0]) / (4 * h2)) / 3;
            double analytic = (double)g[i] - gc_prefill_value(ps[k].offset + i);
            double diff = fabs(analytic - numeric);
            if (!(diff <= max_diff))
                max_diff = isnan(diff) ? INFINITY : diff, at = i;
            scale = fmax(scale, fabs(numeric));
            checked++;
        }
        double ratio = max_diff / (ATOL + RTOL * scale);
        /* relative to the tensor's gradient scale, with a floor: the key
         * biases' true gradient is 0 (softmax ignores a shift shared by a
         * row), so their numeric one is float32 noise */
        double rel = max_diff / fmax(scale, 1e-2);
        printf("# %-52s n=%-4zu scale %.2e  max diff %.2e (at %zu)  rel %.1e  %.2f of the bound\n", ps[k].name,
               count, scale, max_diff, at, rel, ratio);
        worst = fmax(worst, ratio);
        worst_rel = fmax(worst_rel, rel);
    }
    printf("# %s: %d elements checked; worst %.2f of the bound\n", label, checked, worst);
    assert_true(worst < 1.0);
    qt_arena_free(&x->arena);
    gc_free_all();
}

static void grad_no_dropout(void **state)
{
    (void)state;
    check_grads(0.0f, "2 layers, no dropout", 11, 0);
}

static void grad_mlm(void **state)
{
    (void)state;
    check_grads(0.25f, "masked-LM loss, tied output layer, dropout 0.25", 13, 1);
}

static void grad_dropout(void **state)
{
    (void)state;
    check_grads(0.25f, "2 layers, hidden and attention dropout 0.25", 12, 0);
}

/* What qt_bert_train_save writes loads in the engine and gives the training
 * forward's logits (dropout off). */
static void engine_agrees(void **state)
{
    (void)state;
    grad_ctx *x = gc_keep(calloc(1, sizeof *x));
    setup_ctx(x, 0.0f, 13);
    x->c.null_threshold = -1.25;
    qt_bert_train_acts a;
    run(x, 0, &a);
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/model", tmp_root);
    qt_err e = {{0}};
    assert_int_equal(qt_mkdir_p(dir, &e), 0);
    if (qt_bert_train_save(&x->c, x->w_flat, dir, &e) != 0)
        fail_msg("%s", e.msg);
    /* a vocab.txt of vocab_size tokens, specials first */
    char vocab[4096] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (int i = 5; i < x->c.vocab_size; i++)
        snprintf(vocab + strlen(vocab), sizeof vocab - strlen(vocab), "w%d\n", i);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    assert_int_equal(qt_write_file_atomic(path, vocab, strlen(vocab), &e), 0);

    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    uint8_t mask[B * T];
    for (int s = 0; s < B; s++)
        for (int t = 0; t < T; t++)
            mask[s * T + t] = t < x->lens[s];
    float start[B * T], end[B * T];
    if (qt_bert_forward(m, B, T, x->ids, x->types, mask, start, end, &e) != 0)
        fail_msg("%s", e.msg);
    double worst = 0;
    for (int i = 0; i < B * T; i++)
        if (i % T < x->lens[i / T])
            worst = fmax(worst, fmax(fabs(start[i] - a.start[i]), fabs(end[i] - a.end[i])));
    printf("# engine vs training forward: max |logit diff| %.2e (logits ~%.2f)\n", worst, fabs(a.start[0]));
    assert_true(worst < 1e-4);
    qt_model_free(m);

    /* the reverse: config and weights read back are the same */
    qt_bert_train_config c2;
    if (qt_bert_train_load_config(dir, &c2, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(c2.vocab_size, x->c.vocab_size);
    assert_int_equal(c2.num_layers, x->c.num_layers);
    assert_int_equal(c2.max_position_embeddings, x->c.max_position_embeddings);
    assert_true(fabs(c2.null_threshold - -1.25) < 1e-12);
    float *back = gc_zeros(x->np);
    if (qt_bert_train_load_weights(&c2, dir, back, &e) != 0)
        fail_msg("%s", e.msg);
    assert_memory_equal(back, x->w_flat, x->np * sizeof(float));
    qt_arena_free(&x->arena);
    gc_free_all();
}

static int make_tmp(void **state)
{
    (void)state;
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    printf("# worst relative gradient error: %.2e\n", worst_rel);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    qt_blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_no_dropout),
        cmocka_unit_test(grad_dropout),
        cmocka_unit_test(grad_mlm),
        cmocka_unit_test(engine_agrees),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
