/* The BiLSTM reader against tests/fixtures/bilstm (made by
 * tests/ref/bilstm_ref.py, a PyTorch reference): the word tokenizer, the
 * features, start/end/no-answer logits within 1e-4 (one example at a time
 * and as a padded batch), the decoded answers, the training loss and its
 * gradients against autograd's, and the loader's refusals. The
 * finite-difference check of the whole model is in test_bilstm_grad.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/bilstm.h"
#include "nn/safetensors.h"
#include "tok/words.h"
#include "util/file.h"
#include "util/json.h"

#define TOL 1e-4

static char tmp_root[] = "/tmp/qaterm-test-bilstm.XXXXXX";

static const char *srcdir(void)
{
    const char *s = getenv("QATERM_SRCDIR");
    return s && *s ? s : QATERM_SRCDIR;
}

static void fixture_path(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/tests/fixtures/bilstm/%s", srcdir(), rel);
}

static cJSON *load_json(const char *rel)
{
    char path[4200];
    fixture_path(path, sizeof path, rel);
    qt_err e = {{0}};
    cJSON *j = qt_json_load_file(path, &e);
    if (!j)
        fail_msg("%s", e.msg);
    return j;
}

static qt_model *load_model(const char *dir)
{
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static qt_model *load_fixture(const char *name)
{
    char dir[4200];
    fixture_path(dir, sizeof dir, name);
    return load_model(dir);
}

static const cJSON *item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        fail_msg("expected.json: no '%s'", key);
    return v;
}

static double max_abs_diff(const float *got, const cJSON *want, int n)
{
    assert_int_equal(cJSON_GetArraySize(want), n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs(got[i] - cJSON_GetArrayItem(want, i)->valuedouble);
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

/* ---- word tokenizer ---- */

static void words_match_reference(void **state)
{
    (void)state;
    cJSON *cases = load_json("words.json");
    qt_words w;
    qt_words_init(&w);
    qt_err e = {{0}};
    const cJSON *c;
    int n_words = 0;
    cJSON_ArrayForEach(c, cases)
    {
        const char *text = item(c, "text")->valuestring;
        assert_int_equal(qt_words_split(text, strlen(text), &w, &e), 0);
        const cJSON *want = item(c, "words"), *lower = item(c, "lower");
        if ((int)w.n != cJSON_GetArraySize(want))
            fail_msg("'%s': %zu words, reference %d", text, w.n, cJSON_GetArraySize(want));
        for (size_t i = 0; i < w.n; i++) {
            const cJSON *ww = cJSON_GetArrayItem(want, (int)i);
            uint32_t got[4] = {w.v[i].byte_start, w.v[i].byte_end, w.v[i].char_start,
                               w.v[i].char_end};
            for (int k = 0; k < 4; k++)
                if (got[k] != (uint32_t)cJSON_GetArrayItem(ww, k)->valueint)
                    fail_msg("'%s': word %zu offsets differ", text, i);
            size_t len = w.v[i].byte_end - w.v[i].byte_start;
            char buf[256];
            size_t n = qt_words_lower(text + w.v[i].byte_start, len, buf);
            const char *wl = cJSON_GetArrayItem(lower, (int)i)->valuestring;
            if (n != strlen(wl) || memcmp(buf, wl, n) != 0)
                fail_msg("'%s': lower-case of word %zu is '%.*s', reference '%s'", text, i,
                         (int)n, buf, wl);
            n_words++;
        }
    }
    printf("# %d words of %d texts match the reference\n", n_words, cJSON_GetArraySize(cases));
    const char bad[] = "ok \xC3\x28 bad";
    assert_int_equal(qt_words_split(bad, sizeof bad - 1, &w, &e), -1);
    assert_non_null(strstr(e.msg, "invalid UTF-8 at byte 3"));
    qt_words_free(&w);
    cJSON_Delete(cases);
}

/* ---- logits and answers against the reference ---- */

static void check_features(const qt_bilstm_config *c, const qt_bilstm_features *f,
                           const cJSON *ex)
{
    const char *side[2] = {"q", "c"};
    for (int s = 0; s < 2; s++) {
        char key[16];
        int n = s ? f->n_c : f->n_q;
        const int32_t *ids = s ? f->c_ids : f->q_ids;
        snprintf(key, sizeof key, "%s_ids", side[s]);
        const cJSON *want = item(ex, key);
        assert_int_equal(n, cJSON_GetArraySize(want));
        for (int i = 0; i < n; i++)
            assert_int_equal(ids[i], cJSON_GetArrayItem(want, i)->valueint);
        const qt_words *w = s ? &f->c_words : &f->q_words;
        snprintf(key, sizeof key, "%s_words", side[s]);
        want = item(ex, key);
        for (int i = 0; i < n; i++) {
            const cJSON *ww = cJSON_GetArrayItem(want, i);
            assert_int_equal(w->v[i].byte_start, cJSON_GetArrayItem(ww, 0)->valueint);
            assert_int_equal(w->v[i].char_end, cJSON_GetArrayItem(ww, 3)->valueint);
        }
        if (c->use_exact_match) {
            const float *em = s ? f->c_em : f->q_em;
            snprintf(key, sizeof key, "%s_em", side[s]);
            want = item(ex, key);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < 2; k++)
                    assert_true(em[2 * i + k] ==
                                cJSON_GetArrayItem(cJSON_GetArrayItem(want, i), k)->valuedouble);
        }
        if (c->char_vocab_size > 0) {
            const int32_t *ch = s ? f->c_chars : f->q_chars;
            snprintf(key, sizeof key, "%s_chars", side[s]);
            want = item(ex, key);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < c->max_word_chars; k++)
                    assert_int_equal(ch[i * c->max_word_chars + k],
                                     cJSON_GetArrayItem(cJSON_GetArrayItem(want, i), k)->valueint);
        }
    }
}

/* Packs featurized examples into one padded batch (owned by the caller). */
typedef struct packed {
    qt_bilstm_batch b;
    int32_t *c_ids, *q_ids, *c_chars, *q_chars, *c_lens, *q_lens;
    float *c_em, *q_em;
} packed;

static void pack(const qt_bilstm_config *c, qt_bilstm_features *fs, int n, packed *p)
{
    memset(p, 0, sizeof *p);
    int Tc = 1, Tq = 1, W = c->max_word_chars;
    for (int i = 0; i < n; i++) {
        Tc = fs[i].n_c > Tc ? fs[i].n_c : Tc;
        Tq = fs[i].n_q > Tq ? fs[i].n_q : Tq;
    }
    p->c_ids = calloc((size_t)n * Tc, sizeof(int32_t));
    p->q_ids = calloc((size_t)n * Tq, sizeof(int32_t));
    p->c_chars = calloc((size_t)n * Tc * W, sizeof(int32_t));
    p->q_chars = calloc((size_t)n * Tq * W, sizeof(int32_t));
    p->c_em = calloc((size_t)n * Tc * 2, sizeof(float));
    p->q_em = calloc((size_t)n * Tq * 2, sizeof(float));
    p->c_lens = calloc((size_t)n, sizeof(int32_t));
    p->q_lens = calloc((size_t)n, sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        const qt_bilstm_features *f = &fs[i];
        p->c_lens[i] = f->n_c, p->q_lens[i] = f->n_q;
        memcpy(p->c_ids + (size_t)i * Tc, f->c_ids, sizeof(int32_t) * f->n_c);
        memcpy(p->q_ids + (size_t)i * Tq, f->q_ids, sizeof(int32_t) * f->n_q);
        if (c->char_vocab_size > 0) {
            memcpy(p->c_chars + (size_t)i * Tc * W, f->c_chars, sizeof(int32_t) * f->n_c * W);
            memcpy(p->q_chars + (size_t)i * Tq * W, f->q_chars, sizeof(int32_t) * f->n_q * W);
        }
        if (c->use_exact_match) {
            memcpy(p->c_em + (size_t)i * Tc * 2, f->c_em, sizeof(float) * f->n_c * 2);
            memcpy(p->q_em + (size_t)i * Tq * 2, f->q_em, sizeof(float) * f->n_q * 2);
        }
    }
    p->b = (qt_bilstm_batch){n, Tc, Tq, p->c_ids, p->q_ids,
                             c->char_vocab_size > 0 ? p->c_chars : NULL,
                             c->char_vocab_size > 0 ? p->q_chars : NULL,
                             c->use_exact_match ? p->c_em : NULL,
                             c->use_exact_match ? p->q_em : NULL, p->c_lens, p->q_lens};
}

static void unpack_free(packed *p)
{
    free(p->c_ids), free(p->q_ids), free(p->c_chars), free(p->q_chars);
    free(p->c_em), free(p->q_em), free(p->c_lens), free(p->q_lens);
}

static double sin_dot(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += g[i] * sin(0.37 * (double)i + 0.1);
    return s;
}

static double norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)g[i] * g[i];
    return sqrt(s);
}

static void check_fixture(const char *name)
{
    char dir[4200], exp_rel[64];
    fixture_path(dir, sizeof dir, name);
    snprintf(exp_rel, sizeof exp_rel, "%s/expected.json", name);
    cJSON *expected = load_json(exp_rel);
    qt_model *m = load_model(dir);
    const qt_bilstm_config *c = qt_bilstm_model_config(m);
    const qt_bilstm_weights *w = qt_bilstm_model_weights(m);
    assert_string_equal(m->info.arch, "bilstm");
    assert_int_equal(m->info.n_params, (long long)qt_bilstm_param_floats(c));
    const cJSON *exs = item(expected, "examples");
    int n_ex = cJSON_GetArraySize(exs);
    qt_bilstm_features fs[8];
    assert_true(n_ex <= 8);
    qt_err e = {{0}};
    qt_arena arena;
    assert_int_equal(qt_arena_init(&arena, 64 << 20, &e), 0);
    double worst = 0;
    for (int i = 0; i < n_ex; i++) {
        const cJSON *ex = cJSON_GetArrayItem(exs, i);
        const char *q = item(ex, "question")->valuestring, *ctx = item(ex, "context")->valuestring;
        qt_bilstm_features_init(&fs[i]);
        if (qt_bilstm_featurize(c, qt_bilstm_model_vocab(m), q, strlen(q), ctx, strlen(ctx),
                                &fs[i], &e) != 0)
            fail_msg("%s", e.msg);
        check_features(c, &fs[i], ex);
        /* alone */
        packed p;
        pack(c, &fs[i], 1, &p);
        size_t mark = qt_arena_mark(&arena);
        qt_bilstm_acts a;
        if (qt_bilstm_forward(c, w, &p.b, 0, NULL, &arena, NULL, &a, &e) != 0)
            fail_msg("%s", e.msg);
        assert_int_equal(arena.used - mark, qt_bilstm_forward_bytes(c, 1, p.b.c_len, p.b.q_len, 0));
        double d = max_abs_diff(a.start, item(ex, "start"), fs[i].n_c);
        d = fmax(d, max_abs_diff(a.end, item(ex, "end"), fs[i].n_c));
        d = fmax(d, max_abs_diff(a.null, item(ex, "null"), 2));
        worst = fmax(worst, d);
        qt_arena_reset(&arena, mark);
        unpack_free(&p);
        /* the whole answer path */
        qt_qa_answer ans;
        if (qt_model_answer(m, q, ctx, &ans, &e) != 0)
            fail_msg("%s", e.msg);
        const cJSON *wa = item(ex, "answer");
        assert_int_equal(ans.has_answer, cJSON_IsTrue(item(wa, "has_answer")));
        assert_string_equal(ans.text, item(wa, "text")->valuestring);
        assert_string_equal(ans.best_text, item(wa, "best_text")->valuestring);
        assert_int_equal(ans.best_char_start, item(wa, "best_char_start")->valueint);
        assert_int_equal(ans.best_char_end, item(wa, "best_char_end")->valueint);
        if (ans.has_answer) {
            assert_int_equal(ans.char_start, ans.best_char_start);
            assert_int_equal(ans.byte_end - ans.byte_start, (long)strlen(ans.text));
        } else {
            assert_int_equal(ans.char_start, -1);
        }
        assert_true(ans.confidence > 0 && ans.confidence <= 1);
        assert_true(ans.no_answer_prob > 0 && ans.no_answer_prob < 1);
        qt_qa_answer_free(&ans);
    }
    printf("# %s: %d examples one at a time, max |logit - reference| = %.2e\n", name, n_ex, worst);
    assert_true(worst < TOL);

    /* all examples as one padded batch, and the training loss and gradients */
    packed p;
    pack(c, fs, n_ex, &p);
    qt_bilstm_acts a;
    if (qt_bilstm_forward(c, w, &p.b, 1, NULL, &arena, NULL, &a, &e) != 0)
        fail_msg("%s", e.msg);
    worst = 0;
    for (int i = 0; i < n_ex; i++) {
        const cJSON *ex = cJSON_GetArrayItem(exs, i);
        worst = fmax(worst, max_abs_diff(a.start + (size_t)i * p.b.c_len, item(ex, "start"), fs[i].n_c));
        worst = fmax(worst, max_abs_diff(a.end + (size_t)i * p.b.c_len, item(ex, "end"), fs[i].n_c));
        worst = fmax(worst, max_abs_diff(a.null + 2 * i, item(ex, "null"), 2));
        for (int j = fs[i].n_c; j < p.b.c_len; j++)
            assert_true(isinf(a.start[(size_t)i * p.b.c_len + j]));
    }
    printf("# %s: as one batch of %d (padded to %d x %d words), max diff %.2e\n", name, n_ex,
           p.b.c_len, p.b.q_len, worst);
    assert_true(worst < TOL);

    const cJSON *tr = item(expected, "training");
    int32_t st[8], et[8];
    for (int i = 0; i < n_ex; i++) {
        st[i] = cJSON_GetArrayItem(item(tr, "start_targets"), i)->valueint;
        et[i] = cJSON_GetArrayItem(item(tr, "end_targets"), i)->valueint;
    }
    size_t nbc = (size_t)n_ex * p.b.c_len;
    float *dstart = calloc(nbc, sizeof(float)), *dend = calloc(nbc, sizeof(float));
    float dnull[16] = {0};
    double loss = qt_bilstm_loss(&a, p.c_lens, st, et, dstart, dend, dnull);
    double want_loss = item(tr, "loss")->valuedouble;
    printf("# %s: loss %.7g, reference %.7g\n", name, loss, want_loss);
    assert_true(fabs(loss - want_loss) < TOL);
    size_t np = qt_bilstm_param_floats(c);
    float *flat = calloc(np, sizeof(float));
    qt_bilstm_weights g;
    qt_bilstm_weights_bind(c, &g, flat);
    size_t bmark = qt_arena_mark(&arena);
    if (qt_bilstm_backward(c, w, &p.b, &a, dstart, dend, dnull, &g, &arena, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(arena.used - bmark, qt_bilstm_backward_bytes(c, n_ex, p.b.c_len, p.b.q_len));
    qt_bilstm_param ps[QT_BILSTM_MAX_PARAMS];
    int n = qt_bilstm_params(c, &g, ps);
    const cJSON *grads = item(tr, "grads");
    assert_int_equal(n, cJSON_GetArraySize(grads));
    double worst_rel = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *want = item(grads, ps[i].name);
        double dot = sin_dot(*ps[i].slot, ps[i].numel), nrm = norm(*ps[i].slot, ps[i].numel);
        double wd = item(want, "dot")->valuedouble, wn = item(want, "norm")->valuedouble;
        double rel = fmax(fabs(dot - wd), fabs(nrm - wn)) / fmax(wn, 1e-2);
        if (rel > 1e-3)
            fail_msg("%s: gradient of %s: dot %.7g norm %.7g, autograd %.7g %.7g", name,
                     ps[i].name, dot, nrm, wd, wn);
        worst_rel = fmax(worst_rel, rel);
    }
    printf("# %s: gradients of %d tensors match autograd (worst relative %.2e)\n", name, n,
           worst_rel);

    /* one example at a time (inference's batch-of-one LSTM path) gives the
     * same gradients: the batch's are the mean of the examples' */
    float *flat1 = calloc(np, sizeof(float));
    qt_bilstm_weights g1;
    qt_bilstm_weights_bind(c, &g1, flat1);
    for (int i = 0; i < n_ex; i++) {
        packed p1;
        pack(c, &fs[i], 1, &p1);
        qt_arena_reset(&arena, 0);
        qt_bilstm_acts a1;
        if (qt_bilstm_forward(c, w, &p1.b, 1, NULL, &arena, NULL, &a1, &e) != 0)
            fail_msg("%s", e.msg);
        float *ds1 = calloc((size_t)p1.b.c_len, sizeof(float));
        float *de1 = calloc((size_t)p1.b.c_len, sizeof(float)), dn1[2] = {0, 0};
        qt_bilstm_loss(&a1, p1.c_lens, &st[i], &et[i], ds1, de1, dn1);
        for (int k = 0; k < p1.b.c_len; k++)
            ds1[k] /= (float)n_ex, de1[k] /= (float)n_ex;
        dn1[0] /= (float)n_ex, dn1[1] /= (float)n_ex;
        if (qt_bilstm_backward(c, w, &p1.b, &a1, ds1, de1, dn1, &g1, &arena, &e) != 0)
            fail_msg("%s", e.msg);
        free(ds1), free(de1);
        unpack_free(&p1);
    }
    double gmax = 0, gdiff = 0;
    for (size_t i = 0; i < np; i++)
        gmax = fmax(gmax, fabs(flat[i])), gdiff = fmax(gdiff, fabs(flat[i] - flat1[i]));
    printf("# %s: one example at a time: max gradient difference %.2e (largest %.2e)\n", name,
           gdiff, gmax);
    assert_true(gdiff <= 1e-5 * fmax(gmax, 1.0));
    free(flat1);
    free(flat), free(dstart), free(dend);
    unpack_free(&p);
    for (int i = 0; i < n_ex; i++)
        qt_bilstm_features_free(&fs[i]);
    qt_arena_free(&arena);
    qt_model_free(m);
    cJSON_Delete(expected);
}

static void tiny_matches_reference(void **state)
{
    (void)state;
    check_fixture("tiny");
}

static void plain_matches_reference(void **state)
{
    (void)state;
    check_fixture("plain");
}

static void edge_inputs(void **state)
{
    (void)state;
    qt_model *m = load_fixture("tiny");
    qt_err e = {{0}};
    qt_qa_answer ans;
    /* no context words: no answer without running the network */
    assert_int_equal(qt_model_answer(m, "Who?", " \t ", &ans, &e), 0);
    assert_int_equal(ans.has_answer, 0);
    assert_string_equal(ans.text, "");
    assert_true(ans.no_answer_prob == 1.0);
    qt_qa_answer_free(&ans);
    /* no question words */
    assert_int_equal(qt_model_answer(m, "", "Some context here.", &ans, &e), 0);
    assert_non_null(ans.best_text);
    qt_qa_answer_free(&ans);
    /* a long context grows the arena */
    size_t n = 20000;
    char *big = malloc(n * 6 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(big + 6 * i, "word. ", 6);
    big[n * 6] = 0;
    assert_int_equal(qt_model_answer(m, "Which word?", big, &ans, &e), 0);
    qt_qa_answer_free(&ans);
    free(big);
    /* invalid UTF-8 */
    assert_int_equal(qt_model_answer(m, "Who?", "bad \xFF byte", &ans, &e), -1);
    assert_non_null(strstr(e.msg, "context"));
    /* cancellation */
    volatile int cancel = 1;
    m->cancel = &cancel;
    assert_int_equal(qt_model_answer(m, "Who?", "Some context here.", &ans, &e), -1);
    assert_string_equal(e.msg, "cancelled");
    qt_model_free(m);
}

/* ---- the loader's refusals ---- */

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    char *data;
    size_t len;
    qt_err e = {{0}};
    if (qt_read_file(a, 0, &data, &len, &e) != 0 || qt_write_file_atomic(b, data, len, &e) != 0)
        fail_msg("%s", e.msg);
    free(data);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    qt_err e = {{0}};
    if (qt_write_file_atomic(p, text, strlen(text), &e) != 0)
        fail_msg("%s", e.msg);
}

/* A copy of the tiny fixture in a fresh folder: config edited by
 * (key, JSON value) (value NULL removes it), weights rewritten with one
 * tensor dropped, reshaped or added. */
typedef enum { W_SAME, W_DROP, W_RESHAPE, W_EXTRA } weights_edit;

static void make_variant(char *dir, size_t cap, const char *tag, const char *key,
                         const char *value, weights_edit we, const char *tensor)
{
    char src[4200];
    fixture_path(src, sizeof src, "tiny");
    snprintf(dir, cap, "%s/%s", tmp_root, tag);
    qt_err e = {{0}};
    assert_int_equal(qt_mkdir_p(dir, &e), 0);
    copy_file(src, dir, "vocab.txt");
    char cfg_path[4300];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", src);
    cJSON *cfg = qt_json_load_file(cfg_path, &e);
    assert_non_null(cfg);
    if (key) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, key);
        if (value)
            cJSON_AddItemToObject(cfg, key, cJSON_Parse(value));
    }
    char *text = cJSON_Print(cfg);
    write_text(dir, "config.json", text);
    free(text);
    cJSON_Delete(cfg);
    if (we == W_SAME) {
        copy_file(src, dir, "model.safetensors");
        return;
    }
    char st_path[4300];
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", src);
    qt_safetensors *st;
    assert_int_equal(qt_safetensors_open(st_path, &st, &e), 0);
    size_t n = qt_safetensors_count(st);
    qt_st_out *outs = calloc(n + 1, sizeof *outs);
    size_t shapes[256][4], k = 0;
    float extra[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < n; i++) {
        const qt_st_tensor *t = qt_safetensors_at(st, i);
        if (we == W_DROP && strcmp(t->name, tensor) == 0)
            continue;
        for (size_t d = 0; d < t->ndim; d++)
            shapes[k][d] = (size_t)t->shape[d];
        outs[k] = (qt_st_out){t->name, QT_DT_F32, t->ndim, shapes[k], qt_safetensors_f32(st, t, &e)};
        if (we == W_RESHAPE && strcmp(t->name, tensor) == 0) {
            /* same numel, other shape: [a, b] -> [b, a], [a] -> [1, a] */
            if (t->ndim == 2) {
                shapes[k][0] = (size_t)t->shape[1], shapes[k][1] = (size_t)t->shape[0];
            } else {
                outs[k].ndim = 2, shapes[k][0] = 1, shapes[k][1] = (size_t)t->shape[0];
            }
        }
        k++;
    }
    static const size_t extra_shape[1] = {4};
    if (we == W_EXTRA)
        outs[k++] = (qt_st_out){tensor, QT_DT_F32, 1, extra_shape, extra};
    char out_path[4300];
    snprintf(out_path, sizeof out_path, "%s/model.safetensors", dir);
    if (qt_safetensors_write(out_path, outs, k, NULL, 0, &e) != 0)
        fail_msg("%s", e.msg);
    free(outs);
    qt_safetensors_close(st);
}

static void expect_refusal(const char *dir, const char *pattern)
{
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (m) {
        qt_model_free(m);
        fail_msg("%s: loaded, expected an error matching '%s'", dir, pattern);
    }
    if (!strstr(e.msg, pattern))
        fail_msg("%s: error '%s' does not contain '%s'", dir, e.msg, pattern);
    printf("# refused: %s\n", e.msg);
}

static void loader_refuses_bad_checkpoints(void **state)
{
    (void)state;
    char dir[4200];
    make_variant(dir, sizeof dir, "ok", NULL, NULL, W_SAME, NULL);
    qt_model_free(load_model(dir));

    make_variant(dir, sizeof dir, "missing", NULL, NULL, W_DROP, "model_rnn.layers.0.bias_hh_l0_reverse");
    expect_refusal(dir, "missing tensor 'model_rnn.layers.0.bias_hh_l0_reverse'");
    make_variant(dir, sizeof dir, "shape", NULL, NULL, W_RESHAPE, "context_rnn.layers.1.weight_hh_l0");
    expect_refusal(dir, "'context_rnn.layers.1.weight_hh_l0' has shape [16,64]");
    make_variant(dir, sizeof dir, "shape1", NULL, NULL, W_RESHAPE, "no_answer.out.bias");
    expect_refusal(dir, "'no_answer.out.bias' has shape [1,2]");
    make_variant(dir, sizeof dir, "extra", NULL, NULL, W_EXTRA, "model_rnn.layers.1.bias_ih_l0");
    expect_refusal(dir, "unexpected tensor 'model_rnn.layers.1.bias_ih_l0'");
    /* config values that do not fit the weights, or make no sense */
    make_variant(dir, sizeof dir, "layers", "num_layers", "1", W_SAME, NULL);
    expect_refusal(dir, "unexpected tensor 'context_rnn.layers.1.");
    make_variant(dir, sizeof dir, "hidden", "hidden_size", "12", W_SAME, NULL);
    expect_refusal(dir, "config implies");
    make_variant(dir, sizeof dir, "nochars", "char_vocab_size", "0", W_SAME, NULL);
    expect_refusal(dir, "config implies");
    make_variant(dir, sizeof dir, "noem", "use_exact_match", "false", W_SAME, NULL);
    expect_refusal(dir, "config implies");
    make_variant(dir, sizeof dir, "zero", "hidden_size", "0", W_SAME, NULL);
    expect_refusal(dir, "at $.hidden_size: expected an integer in 1..4096, got 0");
    make_variant(dir, sizeof dir, "deep", "num_layers", "9", W_SAME, NULL);
    expect_refusal(dir, "at $.num_layers: expected an integer in 1..8, got 9");
    make_variant(dir, sizeof dir, "frac", "embedding_dim", "16.5", W_SAME, NULL);
    expect_refusal(dir, "at $.embedding_dim: expected an integer");
    make_variant(dir, sizeof dir, "str", "hidden_size", "\"16\"", W_SAME, NULL);
    expect_refusal(dir, "at $.hidden_size: expected a number, got a string");
    make_variant(dir, sizeof dir, "nohidden", "hidden_size", NULL, W_SAME, NULL);
    expect_refusal(dir, "missing field 'hidden_size'");
    make_variant(dir, sizeof dir, "flag", "use_exact_match", "\"yes\"", W_SAME, NULL);
    expect_refusal(dir, "at $.use_exact_match: expected true or false");
    make_variant(dir, sizeof dir, "kernel", "char_kernel_size", "11", W_SAME, NULL);
    expect_refusal(dir, "at $.char_kernel_size: expected an integer in 1..10, got 11");
    make_variant(dir, sizeof dir, "cv1", "char_vocab_size", "1", W_SAME, NULL);
    expect_refusal(dir, "char_vocab_size: expected 0");
    make_variant(dir, sizeof dir, "dropout", "dropout", "1.5", W_SAME, NULL);
    expect_refusal(dir, "at $.dropout: expected a number in [0, 1)");
    make_variant(dir, sizeof dir, "thr", "qaterm_null_threshold", "\"high\"", W_SAME, NULL);
    expect_refusal(dir, "qaterm_null_threshold");
    make_variant(dir, sizeof dir, "vsize", "vocab_size", "34", W_SAME, NULL);
    expect_refusal(dir, "33 words, but config.json's vocab_size is 34");
    /* vocab.txt problems */
    make_variant(dir, sizeof dir, "vpad", NULL, NULL, W_SAME, NULL);
    write_text(dir, "vocab.txt", "[UNK]\n[PAD]\n");
    expect_refusal(dir, "vocab.txt: line 1: expected [PAD]");
    write_text(dir, "vocab.txt", "[PAD]\n[UNK]\nthe\nnormans\nthe\n");
    expect_refusal(dir, "vocab.txt: line 5: duplicate word 'the'");
    write_text(dir, "vocab.txt", "[PAD]\n[UNK]\nthe\n\nx\n");
    expect_refusal(dir, "vocab.txt: line 4: empty line");
    write_text(dir, "vocab.txt", "[PAD]\n[UNK]\ntwo words\n");
    expect_refusal(dir, "vocab.txt: line 3: whitespace");
    char vp[4300];
    snprintf(vp, sizeof vp, "%s/vocab.txt", dir);
    unlink(vp);
    expect_refusal(dir, "vocab.txt");
}

static void vocab_round_trip(void **state)
{
    (void)state;
    qt_word_vocab *v = qt_word_vocab_new();
    assert_int_equal(qt_word_vocab_add(v, "hello", 5), 2);
    assert_int_equal(qt_word_vocab_add(v, "w\xC3\xB6rld", 6), 3);
    assert_int_equal(qt_word_vocab_add(v, "hello", 5), 2);
    assert_int_equal(qt_word_vocab_id(v, "nope", 4), QT_WORD_UNK_ID);
    char path[4200];
    snprintf(path, sizeof path, "%s/vocab-rt.txt", tmp_root);
    qt_err e = {{0}};
    assert_int_equal(qt_word_vocab_save(v, path, &e), 0);
    qt_word_vocab *w;
    assert_int_equal(qt_word_vocab_load(path, &w, &e), 0);
    assert_int_equal(qt_word_vocab_size(w), 4);
    assert_int_equal(qt_word_vocab_id(w, "w\xC3\xB6rld", 6), 3);
    assert_string_equal(qt_word_vocab_word(w, 0), "[PAD]");
    assert_null(qt_word_vocab_word(w, 4));
    qt_word_vocab_free(v);
    qt_word_vocab_free(w);

    /* the config survives a round trip through JSON */
    qt_bilstm_config c, d;
    qt_bilstm_config_default(&c);
    c.vocab_size = 1000, c.char_vocab_size = 100, c.dropout = 0.25f, c.null_threshold = -1.5;
    cJSON *j = qt_bilstm_config_to_json(&c);
    assert_int_equal(qt_bilstm_config_from_json(j, "rt", &d, &e), 0);
    assert_memory_equal(&c, &d, sizeof c);
    cJSON_Delete(j);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_match_reference),
        cmocka_unit_test(tiny_matches_reference),
        cmocka_unit_test(plain_matches_reference),
        cmocka_unit_test(edge_inputs),
        cmocka_unit_test(loader_refuses_bad_checkpoints),
        cmocka_unit_test(vocab_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
