/* The trainable Mamba span reader (models/mamba_train.h):
 * 1. the whole model's backward against central finite differences of its
 *    training loss, at a tiny size, for every parameter tensor (every
 *    element of small tensors, a fixed random sample of 50 of the bigger
 *    ones), over a packed batch of sequences of different lengths (one
 *    answerable, one with the null target), without and with dropout (the
 *    generator is reseeded before each forward, so every evaluation draws
 *    the same masks). The loss is the training loss plus a fixed random
 *    projection of every logit, so that every output carries gradient;
 *    gradients are pre-filled to check that backward adds into them. Once
 *    more for the next-token loss of pre-training (nn/lm_head.h, the tied
 *    embeddings as output layer) through qt_mamba_train_backward_fin.
 * 2. a model written by qt_mamba_train_save and loaded by the real engine
 *    (qt_model_load) gives the training forward's start/end logits, and
 *    answers; qt_mamba_train_load reads the same weights back.
 * 3. the arch (arch_mamba.c): its feature records hold exactly the engine's
 *    input ids (qt_mamba_span_input), cut to max_seq_len with the trailing
 *    separator kept, the answer's token span or the trailing separator as
 *    targets, an example whose answer was cut off unusable; a step on two
 *    workers gives the gradient of one worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "gradcheck.h"
#include "models/mamba.h"
#include "models/mamba_train.h"
#include "models/model.h"
#include "nn/lm_head.h"
#include "nn/blas_setup.h"
#include "tok/tokenizer.h"
#include "train/arch.h"
#include "util/file.h"

#define EPS 1e-2f
/* |analytic - numeric| <= ATOL + RTOL * scale (scale: the tensor's largest
 * |numeric| gradient): ATOL about twice the float32 noise of a difference
 * quotient at this size, RTOL the 4-point formula's error. */
#define ATOL 3e-5
#define RTOL 3e-3
#define SAMPLE 50

typedef struct grad_ctx {
    qt_mamba_train_config c;
    qt_mamba_train_weights w, g;
    float *w_flat, *g_flat;
    size_t np;
    qt_mamba_train_batch b;
    int32_t lens[3], starts[3], ends[3];
    int32_t *ids;
    float *dlogits, *proj;
    qt_arena arena;
    int lm; /* 1: the next-token loss at LM_ROWS rows instead of the span loss */
    float lm_x[2 * 6 * 8], lm_logits[6 * 30], dfin[16 * 8];
} grad_ctx;

/* rows of the packed batch (lengths 9, 5, 2) whose next token is predicted */
enum { LM_ROWS = 6 };
static const int32_t lm_rows[LM_ROWS] = {1, 4, 7, 9, 12, 14};
static const float lm_weights[LM_ROWS] = {0.1f, 0.1f, 0.1f, 0.15f, 0.15f, 0.3f};

static double run(grad_ctx *x, int backward)
{
    qt_arena_reset(&x->arena, 0);
    qt_rng rng;
    qt_rng_seed(&rng, 77);
    qt_err e = {{0}};
    qt_mamba_train_acts a;
    if (qt_mamba_train_forward(&x->c, &x->w, &x->b, 1, &rng, &x->arena, &a, &e) != 0)
        fail_msg("%s", e.msg);
    const int n = a.n_tokens;
    if (x->lm) {
        int32_t targets[LM_ROWS];
        for (int m = 0; m < LM_ROWS; m++)
            targets[m] = x->ids[lm_rows[m] + 1];
        memset(x->dfin, 0, sizeof x->dfin);
        double l = qt_tied_lm_loss(a.fin, x->w.embed, x->c.hidden_size, x->c.vocab_size, lm_rows, targets,
                                   lm_weights, LM_ROWS, x->lm_x, x->lm_logits, x->dfin, backward ? x->g.embed : NULL);
        if (backward && qt_mamba_train_backward_fin(&x->c, &x->w, &x->b, &a, x->dfin, &x->g, &x->arena, &e) != 0)
            fail_msg("%s", e.msg);
        return l;
    }
    memset(x->dlogits, 0, sizeof(float) * 2 * n);
    double loss = qt_mamba_train_loss(&x->b, &a, x->starts, x->ends, 1.0f, x->dlogits);
    for (int i = 0; i < 2 * n; i++) {
        loss += (double)a.logits[i] * x->proj[i];
        x->dlogits[i] += x->proj[i];
    }
    if (backward && qt_mamba_train_backward(&x->c, &x->w, &x->b, &a, x->dlogits, &x->g, &x->arena, &e) != 0)
        fail_msg("%s", e.msg);
    return loss;
}

static double worst_rel; /* max over tensors of max diff / scale */

static void check_config(const qt_mamba_train_config *cfg, const char *label, uint64_t seed, int lm)
{
    grad_ctx x;
    memset(&x, 0, sizeof x);
    x.c = *cfg;
    x.lm = lm;
    qt_rng rng;
    qt_rng_seed(&rng, seed);
    x.np = qt_mamba_train_param_floats(&x.c);
    x.w_flat = gc_zeros(x.np);
    x.g_flat = gc_grad(x.np);
    qt_mamba_train_bind(&x.c, &x.w, x.w_flat);
    qt_mamba_train_bind(&x.c, &x.g, x.g_flat);
    qt_mamba_train_init_weights(&x.c, &x.w, &rng);
    /* larger than HF's init, and the constant tensors stirred, so that
     * every part carries gradient */
    qt_mamba_train_param ps[QT_MAMBA_TRAIN_MAX_PARAMS];
    int np = qt_mamba_train_params(&x.c, ps);
    for (int k = 0; k < np; k++) {
        float *p = x.w_flat + ps[k].offset;
        if (strstr(ps[k].name, "embeddings") || strstr(ps[k].name, "in_proj") || strstr(ps[k].name, "x_proj") ||
            strstr(ps[k].name, "qa_outputs.weight"))
            for (size_t i = 0; i < ps[k].numel; i++)
                p[i] *= 15.0f;
        else if (strstr(ps[k].name, "dt_proj.bias")) /* steps of 0.2 .. 1: the scan's state matters */
            for (size_t i = 0; i < ps[k].numel; i++)
                p[i] = -1.5f + 1.5f * qt_rng_uniform(&rng);
        else
            for (size_t i = 0; i < ps[k].numel; i++)
                p[i] += 0.2f * (qt_rng_uniform(&rng) - 0.5f);
    }

    x.b.n_seq = 3;
    x.lens[0] = 9, x.lens[1] = 5, x.lens[2] = 2;
    int n = x.lens[0] + x.lens[1] + x.lens[2];
    x.ids = gc_keep(calloc((size_t)n, sizeof(int32_t)));
    for (int i = 0; i < n; i++)
        x.ids[i] = (int32_t)qt_rng_below(&rng, (uint32_t)x.c.vocab_size);
    x.b.ids = x.ids;
    x.b.lens = x.lens;
    x.starts[0] = 4, x.ends[0] = 6;   /* an answer */
    x.starts[1] = 4, x.ends[1] = 4;   /* no answer: the trailing separator */
    x.starts[2] = 0, x.ends[2] = 1;
    x.dlogits = gc_zeros(2 * (size_t)n);
    x.proj = gc_uniform(&rng, 2 * (size_t)n, -0.5f, 0.5f);
    qt_err e = {{0}};
    assert_int_equal(qt_arena_init(&x.arena, qt_mamba_train_arena_bytes(&x.c, n, 9), &e), 0);

    double base = run(&x, 1);
    printf("# %s: %zu parameter floats, loss %.6f\n", label, x.np, base);
    double worst = 0;
    int checked = 0;
    for (int k = 0; k < np; k++) {
        float *p = x.w_flat + ps[k].offset;
        const float *g = x.g_flat + ps[k].offset;
        size_t count = ps[k].numel <= 2 * SAMPLE ? ps[k].numel : SAMPLE;
        double scale = 0, max_diff = 0;
        size_t at = 0;
        double *num = gc_keep(calloc(count, sizeof(double)));
        size_t *idx = gc_keep(calloc(count, sizeof(size_t)));
        for (size_t j = 0; j < count; j++) {
            size_t i = count == ps[k].numel ? j : qt_rng_below(&rng, (uint32_t)ps[k].numel);
            idx[j] = i;
            const float saved = p[i], steps[4] = {saved - 2 * EPS, saved - EPS, saved + EPS, saved + 2 * EPS};
            double l[4];
            for (int s = 0; s < 4; s++) {
                p[i] = steps[s];
                l[s] = run(&x, 0);
            }
            p[i] = saved;
            double h1 = ((double)steps[2] - steps[1]) / 2, h2 = ((double)steps[3] - steps[0]) / 4;
            num[j] = (4 * (l[2] - l[1]) / (2 * h1) - (l[3] - l[0]) / (4 * h2)) / 3;
            scale = fmax(scale, fabs(num[j]));
        }
        for (size_t j = 0; j < count; j++) {
            size_t i = idx[j];
            double analytic = (double)g[i] - gc_prefill_value(ps[k].offset + i);
            double diff = fabs(analytic - num[j]);
            if (!(diff <= max_diff))
                max_diff = isnan(diff) ? INFINITY : diff, at = i;
        }
        double ratio = max_diff / (ATOL + RTOL * scale);
        double rel = max_diff / fmax(scale, 1e-6);
        printf("# %-40s n=%-4zu checked %-3zu scale %.2e  max diff %.2e (at %zu)  rel %.1e  %.2f of the bound\n",
               ps[k].name, ps[k].numel, count, scale, max_diff, at, rel, ratio);
        worst = fmax(worst, ratio);
        worst_rel = fmax(worst_rel, rel);
        checked += (int)count;
        /* every tensor must carry gradient here (but the span head, in the LM loss) */
        assert_true(scale > 1e-4 || (lm && strstr(ps[k].name, "qa_outputs")));
    }
    printf("# %s: %d elements checked; worst %.2f of the bound; worst relative error so far %.2e\n", label, checked,
           worst, worst_rel);
    assert_true(worst < 1.0);
    qt_arena_free(&x.arena);
    gc_free_all();
}

static void tiny_config(qt_mamba_train_config *c)
{
    qt_mamba_train_config_default(c);
    c->vocab_size = 30;
    c->hidden_size = 8;
    c->state_size = 4;
    c->num_layers = 2;
    c->expand = 2;
    c->conv_kernel = 4;
    c->dt_rank = 2;
    c->dropout = 0.0f;
}

static void grad_no_dropout(void **state)
{
    (void)state;
    qt_mamba_train_config c;
    tiny_config(&c);
    check_config(&c, "2 layers, no dropout", 5, 0);
}

static void grad_dropout(void **state)
{
    (void)state;
    qt_mamba_train_config c;
    tiny_config(&c);
    c.num_layers = 1, c.conv_kernel = 3, c.hidden_size = 6, c.expand = 3, c.dt_rank = 3, c.state_size = 3;
    c.dropout = 0.25f;
    c.rescale_prenorm_residual = 0;
    check_config(&c, "1 layer, dropout 0.25", 6, 0);
}

static void grad_lm(void **state)
{
    (void)state;
    qt_mamba_train_config c;
    tiny_config(&c);
    c.dropout = 0.25f;
    check_config(&c, "next-token loss, tied embeddings, dropout 0.25", 7, 1);
}

/* ---- the saved model in the real engine ---- */

/* A lower-cased WordPiece tokenizer.json with the three specials first. */
static char *tiny_tokenizer(int vocab)
{
    static const char *words[] = {"the", "cat", "sat", "on", "mat", "who", "what", "where", "is", "was",
                                  "a",   "dog", "ran", "in", "park", "##s", "at", "home", "red", "blue",
                                  "##ed", "big", ".", "?", "it", "[X]", "one", "two"};
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len,
                            "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
    const char *sp[] = {"<|endoftext|>", "<|padding|>", "[UNK]"};
    for (int i = 0; i < 3; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"id\":%d,\"content\":\"%s\",\"single_word\":false,\"lstrip\":false,"
                                "\"rstrip\":false,\"normalized\":false,\"special\":true}",
                                i ? "," : "", i, sp[i]);
    len += (size_t)snprintf(s + len, cap - len,
                            "],\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,"
                            "\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
                            "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},\"post_processor\":null,"
                            "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
                            "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\","
                            "\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,\"vocab\":{");
    for (int i = 0; i < vocab; i++) {
        const char *t = i < 3 ? sp[i] : words[(i - 3) % (int)(sizeof words / sizeof *words)];
        if (i >= 3 + (int)(sizeof words / sizeof *words))
            break;
        len += (size_t)snprintf(s + len, cap - len, "%s\"%s\":%d", i ? "," : "", t, i);
    }
    snprintf(s + len, cap - len, "}}}");
    return s;
}

static void engine_agrees(void **state)
{
    (void)state;
    qt_mamba_train_config c;
    tiny_config(&c);
    c.dropout = 0.1f; /* on in the config, off in an evaluation forward */
    qt_rng rng;
    qt_rng_seed(&rng, 9);
    size_t nf = qt_mamba_train_param_floats(&c);
    float *flat = qt_floats_alloc(nf);
    qt_mamba_train_weights w;
    qt_mamba_train_bind(&c, &w, flat);
    qt_mamba_train_init_weights(&c, &w, &rng);
    /* weights that move the logits well away from zero */
    qt_mamba_train_param ps[QT_MAMBA_TRAIN_MAX_PARAMS];
    int np = qt_mamba_train_params(&c, ps);
    for (int k = 0; k < np; k++)
        for (size_t i = 0; i < ps[k].numel; i++)
            flat[ps[k].offset + i] += 0.3f * (qt_rng_uniform(&rng) - 0.5f);

    char dir[] = "/tmp/qaterm-test-mamba-grad-XXXXXX";
    assert_non_null(mkdtemp(dir));
    qt_err e = {{0}};
    char *tok = tiny_tokenizer(c.vocab_size);
    assert_int_equal(qt_mamba_train_save(&c, flat, tok, "<|endoftext|>", "<|padding|>", "[UNK]", dir, &e), 0);
    free(tok);

    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    qt_mamba_dims d;
    assert_true(qt_mamba_get_dims(m, &d));
    assert_int_equal(d.span_mode, 1);
    assert_int_equal(d.sep_id, 0);
    assert_int_equal(d.d_inner, 16);
    assert_int_equal(d.dt_rank, 2);

    /* the engine's own input for a question and a context, as one batch
     * together with a second sequence */
    int32_t *ids = NULL;
    int n1 = 0;
    assert_int_equal(qt_mamba_span_input(m, "Who sat on the mat?", "The cat sat on the red mat at home.", &ids, &n1, &e), 0);
    assert_int_equal(ids[n1 - 1], 0);
    int32_t lens[2] = {n1, 12};
    int32_t *all = calloc((size_t)(n1 + 12), sizeof(int32_t));
    memcpy(all, ids, sizeof(int32_t) * n1);
    for (int i = 0; i < 12; i++)
        all[n1 + i] = (int32_t)qt_rng_below(&rng, (uint32_t)c.vocab_size);
    qt_mamba_train_batch b = {2, all, lens};
    qt_arena arena;
    assert_int_equal(qt_arena_init(&arena, qt_mamba_train_arena_bytes(&c, n1 + 12, n1), &e), 0);
    qt_mamba_train_acts a;
    assert_int_equal(qt_mamba_train_forward(&c, &w, &b, 0, &rng, &arena, &a, &e), 0);
    double worst = 0, mag = 0;
    int off = 0;
    for (int s = 0; s < 2; off += lens[s], s++) {
        float *st = calloc((size_t)lens[s], sizeof(float)), *en = calloc((size_t)lens[s], sizeof(float));
        qt_mamba_set_chunk(m, s == 0 ? 256 : 5); /* the engine's chunking must not matter */
        assert_int_equal(qt_mamba_forward(m, all + off, lens[s], NULL, st, en, &e), 0);
        for (int t = 0; t < lens[s]; t++) {
            worst = fmax(worst, fabs(st[t] - a.logits[2 * (off + t)]));
            worst = fmax(worst, fabs(en[t] - a.logits[2 * (off + t) + 1]));
            mag = fmax(mag, fabs(st[t]));
        }
        free(st);
        free(en);
    }
    printf("# engine vs training forward: max |diff| %.2e (logits up to %.2f)\n", worst, mag);
    assert_true(worst < 1e-4);
    assert_true(mag > 0.05);

    qt_qa_answer ans;
    memset(&ans, 0, sizeof ans);
    assert_int_equal(qt_model_answer(m, "Who sat on the mat?", "The cat sat on the red mat at home.", &ans, &e), 0);
    printf("# answer: '%s' (best '%s')\n", ans.text, ans.best_text);
    qt_qa_answer_free(&ans);
    qt_model_free(m);

    /* and back into training */
    qt_mamba_train_config c2;
    float *flat2 = NULL;
    assert_int_equal(qt_mamba_train_load(dir, &c2, &flat2, &e), 0);
    assert_int_equal(c2.vocab_size, c.vocab_size);
    assert_int_equal(c2.dt_rank, c.dt_rank);
    assert_true(c2.dropout == c.dropout && c2.eps == c.eps && c2.max_seq_len == c.max_seq_len);
    assert_memory_equal(flat2, flat, sizeof(float) * nf);

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    qt_floats_free(flat);
    qt_floats_free(flat2);
    qt_arena_free(&arena);
    free(all);
    free(ids);
}

/* ---- the arch glue (src/train/arch_mamba.c) ---- */

/* A feature record as int32s: n, start, end, kind, then ids[n]. */
static const int32_t *featurize(qt_train_arch *a, const qt_example *ex, qt_bytes *buf, int *usable)
{
    qt_err e = {{0}};
    int n_tokens;
    buf->n = 0;
    assert_int_equal(a->featurize(a, ex, buf, usable, &n_tokens, &e), 0);
    if (*usable)
        assert_int_equal(((const int32_t *)buf->p)[0], n_tokens);
    return (const int32_t *)buf->p;
}

static void arch_features_and_step(void **state)
{
    (void)state;
    static const char longctx[] = "One two three four five six seven eight nine ten eleven twelve thirteen "
                                  "fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one "
                                  "twenty-two twenty-three twenty-four twenty-five twenty-six twenty-seven "
                                  "twenty-eight twenty-nine thirty, and on and on it goes, one more time: "
                                  "one two three four five six seven eight nine ten eleven twelve thirteen "
                                  "fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one "
                                  "twenty-two twenty-three twenty-four twenty-five twenty-six twenty-seven "
                                  "twenty-eight twenty-nine thirty, and the last word is France.";
    qt_err e = {{0}};
    qt_example_set set;
    const char *ans2 = strstr(longctx, "France");
    assert_int_equal(gc_arch_examples(&set, &e), 0);
    assert_int_equal(qt_example_set_add(&set, "Which country is named last?", longctx, strlen(longctx), ans2 - longctx,
                                        ans2 - longctx + 6, 0, 0, &e), 0);
    assert_int_equal(qt_example_set_add(&set, "Is it long?", longctx, strlen(longctx), -1, -1, 1, 0, &e), 0);
    qt_train_arch a1, a2;
    char dir[] = "/tmp/qaterm-test-mamba-arch-XXXXXX";
    if (gc_arch_new(&a1, "mamba",
                    "{\"vocab_max\": 200, \"hidden_size\": 8, \"num_hidden_layers\": 2, "
                    "\"state_size\": 4, \"max_seq_len\": 80, \"dropout\": 0}",
                    &set, 3, dir, &e) != 0)
        fail_msg("%s", e.msg);

    /* the records are the engine's own input, and the answer's tokens */
    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    qt_tokenizer *tok;
    assert_int_equal(qt_tokenizer_load(dir, &tok, &e), 0);
    qt_bytes buf = {0};
    int usable;
    const uint8_t *recs[4];
    uint8_t *copies[4] = {0};
    int n_rec = 0;
    for (int i = 0; i < set.n; i++) {
        const qt_example *ex = &set.ex[i];
        const int32_t *r = featurize(&a1, ex, &buf, &usable);
        if (i == 2) { /* the answer lies past the 80-token cut */
            assert_int_equal(usable, 0);
            continue;
        }
        assert_int_equal(usable, 1);
        int32_t *ids;
        int n;
        assert_int_equal(qt_mamba_span_input(m, ex->question, ex->context, &ids, &n, &e), 0);
        if (i < 2) {
            assert_int_equal(r[0], n);
            assert_memory_equal(r + 4, ids, sizeof(int32_t) * n);
        } else { /* cut: the engine's prefix, then the separator */
            assert_int_equal(r[0], 80);
            assert_memory_equal(r + 4, ids, sizeof(int32_t) * 79);
            assert_int_equal(r[4 + 79], 0);
        }
        if (ex->ans_start >= 0) {
            assert_int_equal(r[1], r[2]);
            assert_string_equal(qt_tokenizer_id_to_token(tok, r[4 + r[1]]), "france");
        } else {
            assert_int_equal(r[1], r[0] - 1); /* the trailing separator */
            assert_int_equal(r[2], r[0] - 1);
        }
        free(ids);
        copies[n_rec] = malloc(buf.n);
        memcpy(copies[n_rec], buf.p, buf.n);
        recs[n_rec] = copies[n_rec];
        n_rec++;
    }
    qt_model_free(m);
    qt_tokenizer_free(tok);

    /* a step on two workers equals one on a single worker (no dropout) */
    assert_int_equal(qt_train_arch_init(&a2, "mamba", 1, 1, &e), 0);
    if (a2.load(&a2, dir, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(a1.feature_key(&a1), a2.feature_key(&a2));
    double l1, l2;
    long t1, t2;
    assert_int_equal(a1.step(&a1, QT_OBJECTIVE_QA, recs, n_rec, 5, &l1, &t1, &e), 0);
    assert_int_equal(a2.step(&a2, QT_OBJECTIVE_QA, recs, n_rec, 5, &l2, &t2, &e), 0);
    assert_int_equal(t1, t2);
    assert_true(fabs(l1 - l2) < 1e-9 && l1 > 0);
    qt_param *p1, *p2;
    const char *const *names;
    int np = a1.params(&a1, &p1, &names);
    assert_int_equal(a2.params(&a2, &p2, &names), np);
    double worst = 0, mag = 0;
    for (int k = 0; k < np; k++)
        for (size_t i = 0; i < p1[k].n; i++) {
            worst = fmax(worst, fabs(p1[k].g[i] - p2[k].g[i]));
            mag = fmax(mag, fabs(p1[k].g[i]));
        }
    printf("# step: loss %.6f on %d records, %ld tokens; 2 vs 1 worker gradients differ by %.1e (largest %.2e)\n", l1,
           n_rec, t1, worst, mag);
    assert_true(worst <= 1e-6 * mag + 1e-9);

    for (int i = 0; i < n_rec; i++)
        free(copies[i]);
    qt_bytes_free(&buf);
    a2.destroy(&a2);
    assert_int_equal(gc_arch_free(&a1, &set, dir), 0);
}

int main(void)
{
    qt_blas_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grad_no_dropout),
        cmocka_unit_test(grad_dropout),
        cmocka_unit_test(grad_lm),
        cmocka_unit_test(engine_agrees),
        cmocka_unit_test(arch_features_and_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
