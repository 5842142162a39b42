/* The whole trainable T5 (src/models/t5_train.h) against central finite
 * differences of its loss, and its forward against the inference engine.
 *
 * Gradients: a tiny model (2 + 2 layers, d_model 16, 2 heads, 8 buckets with
 * max distance 10, so exact and logarithmic buckets both occur), a padded
 * batch of two sequences of different encoder and target lengths, the
 * training loss (token mean of the cross-entropy, in double). Checked: every
 * element of tensors up to 64 elements (norms, both relative position bias
 * tables), a fixed random sample of 50 elements of the others, 120 of the
 * tied embedding (encoder input, decoder input and lm head at once). Once
 * with dropout 0.2 (the generator is reseeded before every forward, so
 * each evaluation draws the same masks), once without.
 *
 * ReLU has a kink where a difference quotient means nothing. Weights and
 * batch are drawn again until no ReLU input (on rows that reach the loss)
 * lies within 1e-3 of 0; each evaluation hashes which units are active, and
 * an element is differenced with the first step of 1e-2, 3e-3, 1e-3 whose
 * +-2 step evaluations keep that pattern (skipped if none does; at most 5%
 * may be). The numeric gradient is the 4-point central difference; an
 * element passes when |analytic - numeric| <= ATOL * (1e-2 / step) + RTOL *
 * scale (scale: the tensor's largest |numeric|; float32 noise grows as
 * 1 / step). Gradient buffers are pre-filled to check that backward adds
 * into them.
 *
 * Engine: a model saved by qt_t5t_save_weights + qt_t5t_config_to_json and
 * loaded by qt_model_load gives, per sequence, the same teacher-forced
 * logits (and qt_t5_score the same mean log-probability) as the training
 * forward of the padded batch with dropout off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "gradcheck.h"
#include "models/model.h"
#include "models/t5_internal.h"
#include "models/t5_train.h"
#include "nn/blas_setup.h"
#include "tok/tokenizer.h"
#include "train/arch.h"
#include "util/file.h"

#define MIN_MARGIN 1e-3f
#define ATOL 3e-5
#define RTOL 3e-3
#define SAMPLE 50
#define SAMPLE_SHARED 120

enum { B = 2, TE = 9, TD = 5 };

typedef struct grad_ctx {
    qt_t5t_config c;
    qt_t5t_weights w, g;
    float *w_flat, *g_flat;
    size_t np;
    int32_t enc_ids[B * TE], enc_len[B], dec_ids[B * TD], targets[B * TD];
    qt_t5t_batch b;
    qt_arena arena;
    qt_t5t_acts acts;
    int tgt_len[B];
    uint64_t pattern;
    float margin;
    int count;
} grad_ctx;

static const char *srcdir(void)
{
    const char *s = getenv("QATERM_SRCDIR");
    return s ? s : QATERM_SRCDIR;
}

static uint64_t signs(uint64_t h, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint64_t)(x[i] > 0.0f);
        h *= 1099511628211ull;
    }
    return h;
}

/* A batch: encoder lengths 9 and 6, targets of 5 and 3 tokens ending in
 * </s>; ids drawn from 3..vocab-1. */
static void make_batch(grad_ctx *x, qt_rng *rng)
{
    const int elen[B] = {TE, 6}, tlen[B] = {TD, 3};
    for (int b = 0; b < B; b++) {
        x->enc_len[b] = elen[b];
        for (int i = 0; i < TE; i++)
            x->enc_ids[b * TE + i] =
                i < elen[b] - 1 ? 3 + (int32_t)qt_rng_below(rng, (uint32_t)x->c.vocab - 3)
                                : i == elen[b] - 1 ? x->c.eos_id : x->c.pad_id;
        int32_t tgt[TD];
        x->tgt_len[b] = tlen[b];
        for (int i = 0; i < tlen[b]; i++)
            tgt[i] = i < tlen[b] - 1 ? 3 + (int32_t)qt_rng_below(rng, (uint32_t)x->c.vocab - 3) : x->c.eos_id;
        for (int i = 0; i < TD; i++) {
            x->dec_ids[b * TD + i] = i == 0 ? x->c.start_id : i < tlen[b] ? tgt[i - 1] : x->c.pad_id;
            x->targets[b * TD + i] = i < tlen[b] ? tgt[i] : -1;
        }
    }
    x->b = (qt_t5t_batch){B, TE, TD, x->enc_ids, x->enc_len, x->dec_ids, x->targets};
}

static void setup_model(grad_ctx *x, uint64_t seed)
{
    qt_err e = {{0}};
    assert_int_equal(qt_t5t_config_check(&x->c, "test", &e), 0);
    x->np = qt_t5t_param_floats(&x->c);
    x->w_flat = gc_zeros(x->np);
    x->g_flat = gc_grad(x->np);
    qt_t5t_bind(&x->c, &x->w, x->w_flat);
    qt_t5t_bind(&x->c, &x->g, x->g_flat);
    size_t bytes = qt_t5t_work_bytes(&x->c, B, TE, TD, 1);
    assert_int_equal(qt_arena_init(&x->arena, bytes, &e), 0);
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    qt_t5t_init_weights(&x->c, &x->w, &rng);
    make_batch(x, &rng);
}

/* Forward + loss (token mean); with backward, the gradient into x->g. The
 * pattern of active ReLU units (rows that reach the loss) into x->pattern,
 * the smallest |input| of any of them into x->margin. */
static double run(grad_ctx *x, int backward)
{
    qt_arena_reset(&x->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, 77);
    qt_err e = {{0}};
    if (qt_t5t_forward(&x->c, &x->w, &x->b, 1, &rng, &x->arena, &x->acts, &e) != 0)
        fail_msg("%s", e.msg);
    uint64_t h = 1469598103934665603ull;
    size_t F = (size_t)x->c.d_ff;
    float margin = INFINITY;
    for (int b = 0; b < B; b++)
        for (int s = 0; s < 2; s++) {
            int rows = s == 0 ? x->enc_len[b] : x->tgt_len[b], T = s == 0 ? TE : TD;
            for (int l = 0; l < (s == 0 ? x->c.n_enc : x->c.n_dec); l++) {
                const float *pre = (s == 0 ? x->acts.enc[l].ff.pre : x->acts.dec[l].ff.pre) + (size_t)b * T * F;
                h = signs(h, pre, (size_t)rows * F);
                for (size_t i = 0; i < (size_t)rows * F; i++)
                    margin = fminf(margin, fabsf(pre[i]));
            }
        }
    x->pattern = h;
    x->margin = margin;
    int n;
    double sum = qt_t5t_loss(&x->c, &x->b, &x->acts, 1.0f / (float)x->count, &n);
    assert_int_equal(n, x->count);
    if (backward && qt_t5t_backward(&x->c, &x->w, &x->b, &x->acts, &x->g, &x->arena, &e) != 0)
        fail_msg("%s", e.msg);
    return sum / n;
}

/* Steps tried in turn until the +-2 step evaluations keep every ReLU unit
 * on its side; the float32 noise of a difference quotient grows as 1/step,
 * so the absolute tolerance does too. */
static const float STEPS[] = {1e-2f, 3e-3f, 1e-3f};
#define N_STEPS 3

static void check_config(const qt_t5t_config *cfg, const char *label, uint64_t seed)
{
    grad_ctx *x = gc_keep(calloc(1, sizeof *x));
    x->c = *cfg;
    x->count = TD + 3;
    setup_model(x, seed);
    /* weights (and batch) are drawn again while some ReLU input sits on
     * the kink, where no step small enough for float32 would do */
    int draws = 1;
    run(x, 0);
    while (x->margin < MIN_MARGIN && draws < 50) {
        qt_rng rng;
        qt_rng_seed(&rng, seed + 1000u * (uint64_t)draws++);
        qt_t5t_init_weights(&x->c, &x->w, &rng);
        make_batch(x, &rng);
        run(x, 0);
    }
    assert_true(x->margin >= MIN_MARGIN);
    double base = run(x, 1);
    uint64_t base_pattern = x->pattern;
    printf("# %s: %zu parameters, loss %.6f (draw %d: smallest |ReLU input| %.2e)\n", label, x->np, base, draws,
           (double)x->margin);

    qt_t5t_param *ps = gc_keep(calloc(QT_T5T_MAX_PARAMS, sizeof *ps));
    int n = qt_t5t_params(&x->c, ps);
    qt_rng pick;
    qt_rng_seed(&pick, seed + 1);
    int skipped = 0, checked = 0, by_step[N_STEPS] = {0};
    double worst = 0, worst_rel = 0;
    double *numeric = gc_keep(calloc(SAMPLE_SHARED + 64, sizeof *numeric));
    size_t *idx = gc_keep(calloc(SAMPLE_SHARED + 64, sizeof *idx));
    int *step_of = gc_keep(calloc(SAMPLE_SHARED + 64, sizeof *step_of));
    for (int k = 0; k < n; k++) {
        const qt_t5t_param *p = &ps[k];
        float *w = x->w_flat + p->offset;
        const float *g = x->g_flat + p->offset;
        size_t want = strcmp(p->name, "shared.weight") == 0 ? SAMPLE_SHARED : SAMPLE;
        size_t m = p->numel <= 64 ? p->numel : want;
        double scale = 0, max_ratio = 0, max_diff = 0;
        size_t at = 0;
        for (size_t s = 0; s < m; s++) {
            size_t i = m == p->numel ? s : qt_rng_below(&pick, (uint32_t)p->numel);
            idx[s] = i;
            step_of[s] = -1;
            const float saved = w[i];
            for (int st = 0; st < N_STEPS && step_of[s] < 0; st++) {
                const float eps = STEPS[st];
                const float steps[4] = {saved - 2 * eps, saved - eps, saved + eps, saved + 2 * eps};
                double l[4];
                int kinked = 0;
                for (int t = 0; t < 4 && !kinked; t++) {
                    w[i] = steps[t];
                    l[t] = run(x, 0);
                    kinked = x->pattern != base_pattern;
                }
                w[i] = saved;
                if (kinked)
                    continue;
                /* the 4-point central difference (error O(eps^4)) */
                double h1 = ((double)steps[2] - steps[1]) / 2, h2 = ((double)steps[3] - steps[0]) / 4;
                numeric[s] = (4 * (l[2] - l[1]) / (2 * h1) - (l[3] - l[0]) / (4 * h2)) / 3;
                step_of[s] = st;
            }
            if (step_of[s] < 0) {
                skipped++;
                continue;
            }
            checked++;
            by_step[step_of[s]]++;
            scale = fmax(scale, fabs(numeric[s]));
        }
        for (size_t s = 0; s < m; s++) {
            if (step_of[s] < 0)
                continue;
            double analytic = (double)g[idx[s]] - gc_prefill_value(p->offset + idx[s]);
            double diff = fabs(analytic - numeric[s]);
            double bound = ATOL * (STEPS[0] / STEPS[step_of[s]]) + RTOL * scale;
            double ratio = diff / bound;
            if (!(ratio <= max_ratio))
                max_ratio = isnan(ratio) ? INFINITY : ratio, at = idx[s];
            max_diff = fmax(max_diff, diff);
        }
        double rel = scale > 0 ? max_diff / scale : 0;
        printf("# %-68s %3zu/%-4zu scale %.2e  max diff %.2e (rel %.1e)  %.2f of the bound (at %zu)\n", p->name, m,
               p->numel, scale, max_diff, rel, max_ratio, at);
        worst = fmax(worst, max_ratio);
        if (scale > 100 * ATOL)
            worst_rel = fmax(worst_rel, rel);
    }
    printf("# %s: %d elements checked (steps 1e-2 / 3e-3 / 1e-3: %d / %d / %d), %d skipped at a ReLU kink; "
           "worst %.2f of the bound; worst max diff / scale %.2e (tensors with scale above %.0e)\n",
           label, checked, by_step[0], by_step[1], by_step[2], skipped, worst, worst_rel, 100 * ATOL);
    assert_true(worst < 1.0);
    assert_true(skipped <= (checked + skipped) / 20);
    qt_arena_free(&x->arena);
    gc_free_all();
}

static qt_t5t_config tiny(float dropout)
{
    qt_t5t_config c;
    qt_t5t_config_default(&c);
    c.vocab = 40, c.d_model = 16, c.d_kv = 4, c.heads = 2, c.d_ff = 24, c.n_enc = 2, c.n_dec = 2;
    c.buckets = 8, c.max_distance = 10, c.dropout = dropout;
    return c;
}

static void grad_dropout(void **state)
{
    (void)state;
    qt_t5t_config c = tiny(0.2f);
    check_config(&c, "dropout 0.2", 1);
}

static void grad_plain(void **state)
{
    (void)state;
    qt_t5t_config c = tiny(0.0f);
    check_config(&c, "no dropout", 2);
}

/* ---- the saved model in the real engine ---- */

static void engine_matches(void **state)
{
    (void)state;
    grad_ctx *x = gc_keep(calloc(1, sizeof *x));
    x->c = tiny(0.1f);
    x->c.vocab = 192; /* the fixture tokenizer has 182 tokens */
    x->count = TD + 3;
    setup_model(x, 9);
    qt_err e = {{0}};
    qt_arena_reset(&x->arena, 0);
    if (qt_t5t_forward(&x->c, &x->w, &x->b, 0, NULL, &x->arena, &x->acts, &e) != 0)
        fail_msg("%s", e.msg);
    int n;
    qt_t5t_loss(&x->c, &x->b, &x->acts, 1.0f, &n);

    char dir[] = "/tmp/qaterm-t5-grad-XXXXXX", path[4200];
    assert_non_null(mkdtemp(dir));
    cJSON *cfg = qt_t5t_config_to_json(&x->c);
    cJSON_AddNumberToObject(cfg, "qaterm_max_input_tokens", 64);
    char *text = cJSON_Print(cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(qt_write_file_atomic(path, text, strlen(text), &e), 0);
    free(text);
    cJSON_Delete(cfg);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (qt_t5t_save_weights(&x->c, x->w_flat, path, &e) != 0)
        fail_msg("%s", e.msg);
    char *tok;
    size_t len;
    snprintf(path, sizeof path, "%s/tests/fixtures/t5-relu/tokenizer.json", srcdir());
    assert_int_equal(qt_read_file(path, 0, &tok, &len, &e), 0);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(qt_write_file_atomic(path, tok, len, &e), 0);
    free(tok);

    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    qt_t5 *t = qt_t5_of(m);
    assert_non_null(t);
    double worst = 0, worst_lp = 0;
    int V = x->c.vocab;
    for (int b = 0; b < B; b++) {
        int nt = 0;
        while (nt < TD && x->targets[b * TD + nt] >= 0)
            nt++;
        if (qt_t5_encode(t, x->enc_ids + b * TE, x->enc_len[b], &e) != 0)
            fail_msg("%s", e.msg);
        qt_t5_decoder_reset(t);
        if (qt_t5_decoder_step(t, x->dec_ids + b * TD, nt, 1, 0, &e) != 0)
            fail_msg("%s", e.msg);
        double ce = 0;
        for (int i = 0; i < nt; i++) {
            const float *mine = x->acts.logits + ((size_t)b * TD + i) * V;
            for (int v = 0; v < V; v++)
                worst = fmax(worst, fabs((double)mine[v] - t->logits[(size_t)i * V + v]));
            ce -= qt_t5_logprob(mine, V, x->targets[b * TD + i]);
        }
        double lp;
        if (qt_t5_score(t, x->targets + b * TD, nt, &lp, &e) != 0)
            fail_msg("%s", e.msg);
        worst_lp = fmax(worst_lp, fabs(lp + ce / nt));
    }
    printf("# engine vs training forward: logits max |diff| %.2e, teacher-forced mean log-prob max |diff| %.2e\n",
           worst, worst_lp);
    assert_true(worst < 1e-4);
    assert_true(worst_lp < 1e-5);
    qt_model_free(m);
    const char *files[] = {"config.json", "model.safetensors", "tokenizer.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    qt_arena_free(&x->arena);
    gc_free_all();
}

/* The arch's feature records locate the question and the context in the
 * encoder input (what look-up-and-copy pre-training replaces and copies
 * from), and a pre-training step and a QA step run with finite losses. */
static void arch_records_and_pretraining_step(void **state)
{
    (void)state;
    qt_err e = {{0}};
    qt_example_set set;
    assert_int_equal(gc_arch_examples(&set, &e), 0);
    qt_train_arch a;
    char dir[] = "/tmp/qaterm-test-t5-arch-XXXXXX";
    if (gc_arch_new(&a, "t5",
                    "{\"vocab_max\": 120, \"d_model\": 8, \"d_kv\": 4, \"num_heads\": 2, \"d_ff\": 12, "
                    "\"num_layers\": 1, \"num_decoder_layers\": 1, \"dropout_rate\": 0}",
                    &set, 5, dir, &e) != 0)
        fail_msg("%s", e.msg);
    qt_tokenizer *tok;
    assert_int_equal(qt_tokenizer_load(dir, &tok, &e), 0);
    uint8_t *recs[2];
    for (int i = 0; i < 2; i++) {
        qt_bytes buf = {0};
        int usable, n_tokens;
        assert_int_equal(a.featurize(&a, &set.ex[i], &buf, &usable, &n_tokens, &e), 0);
        assert_int_equal(usable, 1);
        const int32_t *r = (const int32_t *)buf.p, *ids = r + 8;
        /* n_enc, n_tgt, kind, q_start, q_len, ctx_start, ctx_len */
        char text[512] = "";
        for (int k = r[3]; k < r[3] + r[4]; k++)
            strcat(text, qt_tokenizer_id_to_token(tok, ids[k]));
        char want[128] = "\xe2\x96\x81"; /* Metaspace: "▁" + the words joined by "▁" */
        strcat(want, set.ex[i].question);
        for (char *p; (p = strchr(want, ' '));) {
            memmove(p + 3, p + 1, strlen(p + 1) + 1);
            memcpy(p, "\xe2\x96\x81", 3);
        }
        assert_string_equal(text, want);
        const char *first = qt_tokenizer_id_to_token(tok, ids[r[5]]);
        assert_true(strncmp(first, "\xe2\x96\x81The", strlen(first)) == 0 || strcmp(first, "\xe2\x96\x81") == 0);
        assert_true(r[5] + r[6] < r[0] && r[6] >= 8);
        recs[i] = buf.p;
    }
    double loss;
    long tokens;
    assert_int_equal(a.step(&a, QT_OBJECTIVE_PRETRAIN, (const uint8_t *const *)recs, 2, 99, &loss, &tokens, &e), 0);
    print_message("# look-up-and-copy step: loss %.4f over %ld tokens\n", loss, tokens);
    assert_true(isfinite(loss) && loss > 0);
    assert_int_equal(a.step(&a, QT_OBJECTIVE_QA, (const uint8_t *const *)recs, 2, 99, &loss, &tokens, &e), 0);
    assert_true(isfinite(loss) && loss > 0);
    free(recs[0]), free(recs[1]);
    qt_tokenizer_free(tok);
    assert_int_equal(gc_arch_free(&a, &set, dir), 0);
}

int main(void)
{
    qt_blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_dropout),
        cmocka_unit_test(grad_plain),
        cmocka_unit_test(engine_matches),
        cmocka_unit_test(arch_records_and_pretraining_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
