/* BERT / RoBERTa engine against tests/fixtures/{bert,roberta} (made by
 * tests/ref/bert_ref.py from a PyTorch reference): logits within 1e-4, the
 * decoded answers of the whole ask path, and the loader's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/bert.h"
#include "nn/safetensors.h"
#include "tok/tokenizer.h"
#include "util/file.h"
#include "util/json.h"

static char tmp_root[] = "/tmp/qaterm-test-bert.XXXXXX";

static const char *srcdir(void)
{
    const char *s = getenv("QATERM_SRCDIR");
    return s && *s ? s : QATERM_SRCDIR;
}

static void fixture_dir(char *buf, size_t cap, const char *arch)
{
    snprintf(buf, cap, "%s/tests/fixtures/%s", srcdir(), arch);
}

static cJSON *load_expected(const char *arch)
{
    char dir[4096], path[4200];
    fixture_dir(dir, sizeof dir, arch);
    snprintf(path, sizeof path, "%s/expected.json", dir);
    qt_err e = {{0}};
    cJSON *j = qt_json_load_file(path, &e);
    if (!j)
        fail_msg("%s", e.msg);
    return j;
}

static qt_model *load_fixture(const char *arch)
{
    char dir[4096];
    fixture_dir(dir, sizeof dir, arch);
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static int32_t *int_matrix(const cJSON *rows, int batch, int seq_len)
{
    int32_t *out = calloc((size_t)batch * seq_len, sizeof *out);
    assert_non_null(out);
    for (int b = 0; b < batch; b++) {
        const cJSON *row = cJSON_GetArrayItem(rows, b);
        assert_int_equal(cJSON_GetArraySize(row), seq_len);
        for (int t = 0; t < seq_len; t++)
            out[b * seq_len + t] = (int32_t)cJSON_GetArrayItem(row, t)->valuedouble;
    }
    return out;
}

static double max_diff(const float *got, const cJSON *rows, int batch, int seq_len)
{
    double worst = 0;
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < seq_len; t++) {
            double want = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, b), t)->valuedouble;
            double d = fabs(got[b * seq_len + t] - want);
            worst = d > worst ? d : worst;
        }
    return worst;
}

static void check_logits(const char *arch)
{
    cJSON *exp = load_expected(arch);
    qt_model *m = load_fixture(arch);
    assert_true(qt_bert_is(m));
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(exp, "logits"))
    {
        int batch = cJSON_GetObjectItem(c, "batch")->valueint;
        int seq_len = cJSON_GetObjectItem(c, "seq_len")->valueint;
        int32_t *ids = int_matrix(cJSON_GetObjectItem(c, "input_ids"), batch, seq_len);
        int32_t *types = int_matrix(cJSON_GetObjectItem(c, "token_type_ids"), batch, seq_len);
        int32_t *mask32 = int_matrix(cJSON_GetObjectItem(c, "attention_mask"), batch, seq_len);
        uint8_t *mask = malloc((size_t)batch * seq_len);
        float *start = malloc(sizeof(float) * batch * seq_len);
        float *end = malloc(sizeof(float) * batch * seq_len);
        assert_non_null(mask);
        assert_non_null(start);
        assert_non_null(end);
        for (int i = 0; i < batch * seq_len; i++)
            mask[i] = (uint8_t)mask32[i];
        qt_err e = {{0}};
        if (qt_bert_forward(m, batch, seq_len, ids, types, mask, start, end, &e) != 0)
            fail_msg("%s: %s", arch, e.msg);
        /* padded positions too: transformers masks keys only, as qaterm does */
        double ds = max_diff(start, cJSON_GetObjectItem(c, "start_logits"), batch, seq_len);
        double de = max_diff(end, cJSON_GetObjectItem(c, "end_logits"), batch, seq_len);
        printf("# %s %s (%d x %d): max |diff| start %.2g end %.2g\n", arch,
               cJSON_GetObjectItem(c, "name")->valuestring, batch, seq_len, ds, de);
        assert_true(ds < 1e-4);
        assert_true(de < 1e-4);
        free(ids), free(types), free(mask32), free(mask), free(start), free(end);
        n_cases++;
    }
    assert_int_equal(n_cases, 3);
    qt_model_free(m);
    cJSON_Delete(exp);
}

static void test_logits_bert(void **state)
{
    (void)state;
    check_logits("bert");
}

static void test_logits_roberta(void **state)
{
    (void)state;
    check_logits("roberta");
}

static char *read_context(const char *arch, const char *name)
{
    char dir[4096], path[4300];
    fixture_dir(dir, sizeof dir, arch);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    qt_err e = {{0}};
    if (qt_read_file(path, 0, &data, &len, &e) != 0)
        fail_msg("%s", e.msg);
    return data;
}

/* The tokenizer the engine uses gives the reference's ids. */
static void check_tokens(const char *arch)
{
    cJSON *exp = load_expected(arch);
    char dir[4096];
    fixture_dir(dir, sizeof dir, arch);
    qt_tokenizer *tok = NULL;
    qt_err e = {{0}};
    if (qt_tokenizer_load(dir, &tok, &e) != 0)
        fail_msg("%s", e.msg);
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(exp, "tokens"))
    {
        char *ctx = read_context(arch, t->string);
        qt_encoding enc;
        qt_encoding_init(&enc);
        assert_int_equal(qt_tokenizer_encode(tok, ctx, strlen(ctx), &enc, &e), 0);
        assert_int_equal((int)enc.n, cJSON_GetArraySize(t));
        for (size_t i = 0; i < enc.n; i++)
            assert_int_equal(enc.ids[i], cJSON_GetArrayItem(t, (int)i)->valueint);
        qt_encoding_free(&enc);
        free(ctx);
    }
    qt_tokenizer_free(tok);
    cJSON_Delete(exp);
}

static void test_tokens_bert(void **state)
{
    (void)state;
    check_tokens("bert");
}

static void test_tokens_roberta(void **state)
{
    (void)state;
    check_tokens("roberta");
}

/* The whole ask path: windows, question cut, decoding, null rule. */
static void check_ask(const char *arch)
{
    cJSON *exp = load_expected(arch);
    qt_model *m = load_fixture(arch);
    const cJSON *c;
    int answered = 0, unanswered = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(exp, "ask"))
    {
        const char *q = cJSON_GetObjectItem(c, "question")->valuestring;
        char *ctx = read_context(arch, cJSON_GetObjectItem(c, "context")->valuestring);
        qt_qa_answer a;
        qt_err e = {{0}};
        if (qt_model_answer(m, q, ctx, &a, &e) != 0)
            fail_msg("%s: %s", arch, e.msg);
        int want_answered = cJSON_IsTrue(cJSON_GetObjectItem(c, "answered"));
        const char *want_text = cJSON_GetObjectItem(c, "text")->valuestring;
        const char *want_best = cJSON_GetObjectItem(c, "best_text")->valuestring;
        printf("# %s: %-40.40s -> %s '%s'\n", arch, q, a.has_answer ? "answer" : "no answer (best)",
               a.best_text);
        assert_int_equal(a.has_answer, want_answered);
        assert_string_equal(a.text, want_text);
        assert_string_equal(a.best_text, want_best);
        assert_int_equal(a.best_char_start, cJSON_GetObjectItem(c, "best_char_start")->valueint);
        assert_int_equal(a.best_char_end, cJSON_GetObjectItem(c, "best_char_end")->valueint);
        assert_true(fabs(a.no_answer_prob - cJSON_GetObjectItem(c, "no_answer_prob")->valuedouble) < 1e-4);
        assert_true(fabs(a.margin - cJSON_GetObjectItem(c, "margin")->valuedouble) < 1e-4);
        assert_int_equal(a.no_answer_prob < 0.5, a.has_answer); /* 0.5 at the decision boundary */
        if (a.has_answer) {
            assert_int_equal(a.char_start, a.best_char_start);
            assert_int_equal(a.char_end, a.best_char_end);
            assert_int_equal(a.byte_end - a.byte_start, (long)strlen(a.text));
            assert_memory_equal(ctx + a.byte_start, a.text, strlen(a.text));
            answered++;
        } else {
            assert_int_equal(a.char_start, -1);
            unanswered++;
        }
        /* the probability of what is shown: the span, or "no answer" */
        double p_shown = a.has_answer ? 1.0 - a.no_answer_prob : a.no_answer_prob;
        assert_true(fabs(a.confidence - p_shown) < 1e-12);
        qt_qa_answer_free(&a);
        free(ctx);
    }
    assert_true(answered > 0 && unanswered > 0);
    qt_model_free(m);
    cJSON_Delete(exp);
}

static void test_ask_bert(void **state)
{
    (void)state;
    check_ask("bert");
}

static void test_ask_roberta(void **state)
{
    (void)state;
    check_ask("roberta");
}

/* Multi-byte characters: spans are in code points and bytes, and the text is
 * the bytes of the span. */
static void test_utf8_context(void **state)
{
    (void)state;
    static const char *archs[] = {"bert", "roberta"};
    for (int i = 0; i < 2; i++) {
        qt_model *m = load_fixture(archs[i]);
        const char *ctx = "Caf\xc3\xa9 Zur\xc3\xbc\x63h \xe2\x80\x94 the bridge was built in 1821 by "
                          "Thomas Reed, na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac.";
        qt_qa_answer a;
        qt_err e = {{0}};
        assert_int_equal(qt_model_answer(m, "Who built the bridge?", ctx, &a, &e), 0);
        long bs = a.byte_start, be = a.byte_end;
        if (!a.has_answer) { /* the best span then */
            assert_int_equal(a.byte_start, -1);
            const char *p = strstr(ctx, a.best_text);
            assert_non_null(p);
            bs = p - ctx;
            be = bs + (long)strlen(a.best_text);
        } else {
            assert_memory_equal(ctx + bs, a.text, (size_t)(be - bs));
        }
        long chars = 0;
        for (long k = 0; k < bs; k++)
            chars += ((unsigned char)ctx[k] & 0xC0) != 0x80;
        assert_int_equal(a.best_char_start, chars);
        assert_true(a.latency_ms >= 0);
        qt_qa_answer_free(&a);
        qt_model_free(m);
    }
}

static void test_bad_inputs(void **state)
{
    (void)state;
    qt_model *m = load_fixture("bert");
    qt_qa_answer a;
    qt_err e = {{0}};
    assert_int_equal(qt_model_answer(m, "  \t ", "some context", &a, &e), -1);
    assert_non_null(strstr(e.msg, "empty"));
    /* an empty context: nothing to answer with */
    assert_int_equal(qt_model_answer(m, "Who?", "", &a, &e), 0);
    assert_int_equal(a.has_answer, 0);
    assert_string_equal(a.text, "");
    qt_qa_answer_free(&a);
    volatile int cancel = 1;
    m->cancel = &cancel;
    assert_int_equal(qt_model_answer(m, "Who?", "Thomas Reed built it.", &a, &e), -1);
    assert_string_equal(e.msg, "cancelled");
    m->cancel = NULL;
    int32_t ids[4] = {2, 9999, 5, 3};
    float s[4], en[4];
    assert_int_equal(qt_bert_forward(m, 1, 4, ids, NULL, NULL, s, en, &e), -1);
    assert_non_null(strstr(e.msg, "outside the vocabulary"));
    qt_model_free(m);
}

static void test_bench_hooks(void **state)
{
    (void)state;
    static const char *archs[] = {"bert", "roberta"};
    for (int i = 0; i < 2; i++) {
        qt_model *m = load_fixture(archs[i]);
        qt_err e = {{0}};
        assert_non_null(m->ops->forward_tokens);
        assert_int_equal(m->ops->max_tokens(m), 512);
        assert_int_equal(m->ops->forward_tokens(m, 384, &e), 0);
        assert_int_equal(m->ops->forward_tokens(m, 512, &e), 0);
        assert_int_equal(m->ops->forward_tokens(m, 513, &e), -1);
        assert_true(m->ops->flops(m, 384) > m->ops->flops(m, 128) * 3);
        assert_true(m->info.n_params > 100000);
        qt_model_free(m);
    }
}

/* ---- refusals: checkpoints rewritten from the fixture ---- */

typedef struct st_list {
    qt_safetensors *st;
    qt_st_out t[128];
    size_t shapes[128][2];
    size_t n;
} st_list;

static void read_fixture_tensors(st_list *l, const char *arch)
{
    char path[4200], dir[4096];
    fixture_dir(dir, sizeof dir, arch);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    qt_err e = {{0}};
    if (qt_safetensors_open(path, &l->st, &e) != 0)
        fail_msg("%s", e.msg);
    l->n = 0;
    for (size_t i = 0; i < qt_safetensors_count(l->st); i++) {
        const qt_st_tensor *t = qt_safetensors_at(l->st, i);
        if (t->dtype != QT_DT_F32) /* the position_ids buffer: optional */
            continue;
        qt_st_out *o = &l->t[l->n];
        o->name = t->name;
        o->dtype = QT_DT_F32;
        o->ndim = t->ndim;
        for (size_t d = 0; d < t->ndim; d++)
            l->shapes[l->n][d] = (size_t)t->shape[d];
        o->shape = l->shapes[l->n];
        o->data = qt_safetensors_f32(l->st, t, &e);
        assert_non_null(o->data);
        l->n++;
    }
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    char *data;
    size_t len;
    qt_err e = {{0}};
    assert_int_equal(qt_read_file(a, 0, &data, &len, &e), 0);
    assert_int_equal(qt_write_file_atomic(b, data, len, &e), 0);
    free(data);
}

/* A copy of the bert fixture in DIR with the given tensors and, when
 * config_edit is not NULL, "key": value replaced in config.json. */
static void make_variant(const char *dir, const st_list *l, const char *key, const char *value)
{
    char src[4096], path[4200];
    fixture_dir(src, sizeof src, "bert");
    qt_err e = {{0}};
    assert_int_equal(qt_mkdir_p(dir, &e), 0);
    copy_file(src, dir, "vocab.txt");
    copy_file(src, dir, "tokenizer_config.json");
    snprintf(path, sizeof path, "%s/config.json", src);
    cJSON *cfg = qt_json_load_file(path, &e);
    assert_non_null(cfg);
    if (key) {
        cJSON *v = cJSON_Parse(value);
        assert_non_null(v);
        cJSON_DeleteItemFromObject(cfg, key);
        cJSON_AddItemToObject(cfg, key, v);
    }
    char *text = cJSON_Print(cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(qt_write_file_atomic(path, text, strlen(text), &e), 0);
    free(text);
    cJSON_Delete(cfg);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (qt_safetensors_write(path, l->t, l->n, NULL, 0, &e) != 0)
        fail_msg("%s", e.msg);
}

static void expect_refusal(const char *dir, const char *needle)
{
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (m || !strstr(e.msg, needle))
        fail_msg("%s: want an error with '%s', got %s", dir, needle, m ? "a model" : e.msg);
    printf("# refused: %s\n", e.msg);
}

static size_t find_tensor(const st_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->t[i].name, name) == 0)
            return i;
    fail_msg("no tensor %s", name);
    return 0;
}

static void test_refusals(void **state)
{
    (void)state;
    st_list l;
    read_fixture_tensors(&l, "bert");
    char dir[512];

    /* the rewritten copy itself loads (position_ids dropped is fine) */
    snprintf(dir, sizeof dir, "%s/ok", tmp_root);
    make_variant(dir, &l, NULL, NULL);
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    qt_model_free(m);

    /* wrong shape */
    size_t qa = find_tensor(&l, "qa_outputs.weight");
    size_t saved = l.shapes[qa][0];
    l.shapes[qa][0] = 1;
    snprintf(dir, sizeof dir, "%s/shape", tmp_root);
    make_variant(dir, &l, NULL, NULL);
    expect_refusal(dir, "tensor 'qa_outputs.weight' has shape [1,64], config implies [2,64]");
    l.shapes[qa][0] = saved;

    /* missing tensor */
    size_t bias = find_tensor(&l, "bert.encoder.layer.1.output.dense.bias");
    qt_st_out kept = l.t[bias];
    l.t[bias] = l.t[l.n - 1];
    l.n--;
    snprintf(dir, sizeof dir, "%s/missing", tmp_root);
    make_variant(dir, &l, NULL, NULL);
    expect_refusal(dir, "missing tensor 'bert.encoder.layer.1.output.dense.bias'");
    l.t[l.n++] = l.t[bias];
    l.t[bias] = kept;

    /* extra tensor */
    l.t[l.n] = l.t[qa];
    l.t[l.n].name = "bert.encoder.layer.0.attention.self.rotary.weight";
    l.n++;
    snprintf(dir, sizeof dir, "%s/extra", tmp_root);
    make_variant(dir, &l, NULL, NULL);
    expect_refusal(dir, "unexpected tensor 'bert.encoder.layer.0.attention.self.rotary.weight'");
    l.n--;

    /* config and weights disagree; bad config values */
    snprintf(dir, sizeof dir, "%s/cfg1", tmp_root);
    make_variant(dir, &l, "intermediate_size", "256");
    expect_refusal(dir, "config implies [256,64]");
    snprintf(dir, sizeof dir, "%s/cfg2", tmp_root);
    make_variant(dir, &l, "num_attention_heads", "5");
    expect_refusal(dir, "not a multiple of num_attention_heads");
    snprintf(dir, sizeof dir, "%s/cfg3", tmp_root);
    make_variant(dir, &l, "hidden_act", "\"swish\"");
    expect_refusal(dir, "hidden_act: 'swish' is not supported");
    snprintf(dir, sizeof dir, "%s/cfg4", tmp_root);
    make_variant(dir, &l, "num_hidden_layers", "\"two\"");
    expect_refusal(dir, "num_hidden_layers");
    snprintf(dir, sizeof dir, "%s/cfg5", tmp_root);
    make_variant(dir, &l, "vocab_size", "100");
    expect_refusal(dir, "config implies [100,64]");
    snprintf(dir, sizeof dir, "%s/cfg6", tmp_root);
    make_variant(dir, &l, "position_embedding_type", "\"relative_key\"");
    expect_refusal(dir, "position_embedding_type");
    snprintf(dir, sizeof dir, "%s/cfg7", tmp_root);
    make_variant(dir, &l, "qaterm_null_threshold", "\"high\"");
    expect_refusal(dir, "qaterm_null_threshold");

    qt_safetensors_close(l.st);
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
        cmocka_unit_test(test_logits_bert),
        cmocka_unit_test(test_logits_roberta),
        cmocka_unit_test(test_tokens_bert),
        cmocka_unit_test(test_tokens_roberta),
        cmocka_unit_test(test_ask_bert),
        cmocka_unit_test(test_ask_roberta),
        cmocka_unit_test(test_utf8_context),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_bench_hooks),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
