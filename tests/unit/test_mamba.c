/* The Mamba engine against tests/ref/mamba_ref.py (a sequential float64
 * loop from the paper's equations): input ids, final hidden states, span
 * logits and answers of the span checkpoint, greedy ids and answers of the
 * generative one (with config variants), and the loader's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/mamba.h"
#include "models/model.h"
#include "nn/safetensors.h"
#include "tok/tokenizer.h"
#include "util/file.h"
#include "util/json.h"

#define TOL 1e-4

static const char *srcdir(void)
{
    const char *s = getenv("QATERM_SRCDIR");
    return s ? s : QATERM_SRCDIR;
}

static void fixture_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/tests/fixtures/mamba/%s", srcdir(), name);
}

static cJSON *expected(const char *key)
{
    static cJSON *root;
    if (!root) {
        char path[4096];
        qt_err e = {{0}};
        fixture_dir(path, sizeof path, "expected.json");
        root = qt_json_load_file(path, &e);
        if (!root)
            fail_msg("%s", e.msg);
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    assert_non_null(v);
    return v;
}

static qt_model *load(const char *dir)
{
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    return m;
}

static qt_model *load_fixture(const char *name)
{
    char dir[4096];
    fixture_dir(dir, sizeof dir, name);
    return load(dir);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static int flag(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsBool(v));
    return cJSON_IsTrue(v);
}

static int32_t *ids_of(const cJSON *o, const char *key, int *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsArray(a));
    *n = cJSON_GetArraySize(a);
    int32_t *ids = malloc(sizeof *ids * (size_t)(*n + 1));
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, a) ids[i++] = (int32_t)v->valueint;
    return ids;
}

static void assert_close(const float *got, const cJSON *want, size_t n, const char *what)
{
    assert_int_equal((size_t)cJSON_GetArraySize(want), n);
    double worst = 0;
    size_t i = 0, at = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, want)
    {
        double d = fabs(got[i] - v->valuedouble);
        if (!(d <= worst)) {
            worst = d;
            at = i;
        }
        i++;
    }
    if (!(worst <= TOL))
        fail_msg("%s: max abs difference %g at %zu (%g vs %g)", what, worst, at, got[at],
                 cJSON_GetArrayItem(want, (int)at)->valuedouble);
}

/* ---------------------------------------------------------------- span */

static void test_span_forward(void **state)
{
    (void)state;
    qt_model *m = load_fixture("span");
    qt_mamba_dims d;
    assert_true(qt_mamba_get_dims(m, &d));
    assert_int_equal(d.span_mode, 1);
    assert_int_equal(d.hidden, 48);
    assert_int_equal(d.d_inner, 96);
    assert_int_equal(d.dt_rank, 3); /* "auto": ceil(48 / 16) */
    assert_string_equal(m->info.arch, "mamba");
    assert_string_equal(m->info.name, "tiny-mamba-span");
    assert_true(m->info.n_params > 0);
    const cJSON *c;
    cJSON_ArrayForEach(c, expected("span"))
    {
        int n_want, n;
        int32_t *want = ids_of(c, "input_ids", &n_want), *ids = NULL;
        qt_err e = {{0}};
        assert_int_equal(qt_mamba_span_input(m, str(c, "question"), str(c, "context"), &ids, &n, &e), 0);
        assert_int_equal(n, n_want);
        assert_memory_equal(ids, want, sizeof *ids * (size_t)n);
        float *hidden = malloc(sizeof *hidden * (size_t)n * d.hidden);
        float *start = malloc(sizeof *start * (size_t)n), *end = malloc(sizeof *end * (size_t)n);
        /* the chunk size must not change anything: the state carries over */
        int chunks[] = {256, 1, 5};
        for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
            qt_mamba_set_chunk(m, chunks[k]);
            if (qt_mamba_forward(m, ids, n, hidden, start, end, &e))
                fail_msg("%s", e.msg);
            assert_close(hidden, cJSON_GetObjectItem(c, "hidden"), (size_t)n * d.hidden, "hidden");
            assert_close(start, cJSON_GetObjectItem(c, "start_logits"), (size_t)n, "start");
            assert_close(end, cJSON_GetObjectItem(c, "end_logits"), (size_t)n, "end");
        }
        qt_mamba_set_chunk(m, 256);
        free(hidden);
        free(start);
        free(end);
        free(ids);
        free(want);
    }
    qt_model_free(m);
}

static void test_span_answer(void **state)
{
    (void)state;
    qt_model *m = load_fixture("span");
    const cJSON *c;
    cJSON_ArrayForEach(c, expected("span"))
    {
        const cJSON *want = cJSON_GetObjectItem(c, "answer");
        qt_qa_answer a;
        qt_err e = {{0}};
        if (qt_model_answer(m, str(c, "question"), str(c, "context"), &a, &e))
            fail_msg("%s", e.msg);
        int answered = flag(want, "answered");
        assert_int_equal(a.has_answer, answered);
        assert_true(fabs(a.no_answer_prob - num(want, "no_answer_prob")) < TOL);
        if (flag(want, "has_best")) {
            assert_string_equal(a.best_text, str(want, "best_text"));
            assert_int_equal(a.best_char_start, (long)num(want, "best_start"));
            assert_int_equal(a.best_char_end, (long)num(want, "best_end"));
        } else {
            assert_string_equal(a.best_text, "");
            assert_int_equal(a.best_char_start, -1);
        }
        if (answered) {
            assert_string_equal(a.text, str(want, "best_text"));
            assert_int_equal(a.char_start, (long)num(want, "best_start"));
            assert_int_equal(a.byte_end, (long)num(want, "best_end")); /* ASCII */
            assert_true(fabs(a.score - num(want, "best_score")) < TOL);
        } else {
            assert_string_equal(a.text, "");
            assert_int_equal(a.char_start, -1);
            assert_true(fabs(a.score - num(want, "null_score")) < TOL);
        }
        assert_true(a.latency_ms >= 0);
        qt_qa_answer_free(&a);
    }
    qt_model_free(m);
}

static void test_bench_ops(void **state)
{
    (void)state;
    qt_model *m = load_fixture("span");
    qt_err e = {{0}};
    assert_non_null(m->ops->forward_tokens);
    assert_int_equal(m->ops->forward_tokens(m, 300, &e), 0);
    assert_true(m->ops->flops(m, 200) > 1.99 * m->ops->flops(m, 100));
    assert_int_equal(m->ops->max_tokens(m), 0);
    qt_model_free(m);
}

static void test_cancel(void **state)
{
    (void)state;
    qt_model *m = load_fixture("span");
    volatile int stop = 1;
    m->cancel = &stop;
    qt_qa_answer a;
    qt_err e = {{0}};
    assert_int_equal(qt_model_answer(m, "Who?", "Someone did it.", &a, &e), -1);
    assert_non_null(strstr(e.msg, "cancelled"));
    assert_null(a.text);
    qt_model_free(m);
}

/* ------------------------------------------------------------ generative */

static int32_t *prompt_ids(const char *dir, const cJSON *c, int *n)
{
    const char *q = str(c, "question"), *ctx = str(c, "context");
    char *prompt = malloc(strlen(q) + strlen(ctx) + 32);
    sprintf(prompt, "%s\n\nQ: %s\nA:", ctx, q);
    qt_tokenizer *t = NULL;
    qt_err e = {{0}};
    if (qt_tokenizer_load(dir, &t, &e))
        fail_msg("%s", e.msg);
    qt_encoding enc;
    qt_encoding_init(&enc);
    assert_int_equal(qt_tokenizer_encode(t, prompt, strlen(prompt), &enc, &e), 0);
    int32_t *ids = malloc(sizeof *ids * (enc.n + 1));
    memcpy(ids, enc.ids, sizeof *ids * enc.n);
    *n = (int)enc.n;
    qt_encoding_free(&enc);
    qt_tokenizer_free(t);
    free(prompt);
    return ids;
}

/* Greedy ids and the answer of a generative case. */
static void check_generative(qt_model *m, const char *dir, const cJSON *c)
{
    qt_mamba_dims d;
    assert_true(qt_mamba_get_dims(m, &d));
    int n, n_want, n_gen_want;
    int32_t *ids = prompt_ids(dir, c, &n), *want = ids_of(c, "prompt_ids", &n_want);
    assert_int_equal(n, n_want);
    assert_memory_equal(ids, want, sizeof *ids * (size_t)n);
    qt_err e = {{0}};
    const cJSON *hid = cJSON_GetObjectItem(c, "hidden");
    if (hid) {
        float *hidden = malloc(sizeof *hidden * (size_t)n * d.hidden);
        if (qt_mamba_forward(m, ids, n, hidden, NULL, NULL, &e))
            fail_msg("%s", e.msg);
        assert_close(hidden, hid, (size_t)n * d.hidden, "prompt hidden");
        free(hidden);
    }
    int32_t *gen_want = ids_of(c, "generated_ids", &n_gen_want), gen[64];
    int n_gen = 0;
    if (qt_mamba_generate(m, ids, n, 32, gen, &n_gen, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(n_gen, n_gen_want);
    assert_memory_equal(gen, gen_want, sizeof *gen * (size_t)n_gen);

    qt_qa_answer a;
    if (qt_model_answer(m, str(c, "question"), str(c, "context"), &a, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(a.has_answer, flag(c, "has_answer"));
    assert_string_equal(a.text, str(c, "text"));
    assert_string_equal(a.best_text, str(c, "best_text"));
    assert_int_equal(a.best_char_start, (long)num(c, "best_char_start"));
    assert_true(fabs(a.score - num(c, "score")) < TOL);
    /* exp of a sum of log-probs: compare the logs (it may be tiny) */
    assert_true(a.no_answer_prob > 0);
    assert_true(fabs(log(a.no_answer_prob) - log(num(c, "no_answer_prob"))) < 1e-3);
    assert_true(fabs(a.confidence - exp(num(c, "score"))) < TOL);
    if (!a.has_answer)
        assert_int_equal(a.char_start, -1);
    qt_qa_answer_free(&a);
    free(ids);
    free(want);
    free(gen_want);
}

static void test_generative(void **state)
{
    (void)state;
    char dir[4096];
    fixture_dir(dir, sizeof dir, "lm");
    qt_model *m = load(dir);
    qt_mamba_dims d;
    assert_true(qt_mamba_get_dims(m, &d));
    assert_int_equal(d.span_mode, 0);
    assert_int_equal(d.dt_rank, 5);
    assert_int_equal(d.d_conv, 3);
    const cJSON *c;
    cJSON_ArrayForEach(c, expected("generative")) check_generative(m, dir, c);
    /* no span head here */
    float x;
    int32_t id = 1;
    qt_err e = {{0}};
    assert_int_equal(qt_mamba_forward(m, &id, 1, NULL, &x, NULL, &e), -1);
    qt_model_free(m);
}

/* ------------------------------------------- modified copies of fixtures */

static char tmp_root[] = "/tmp/qaterm-test-mamba-XXXXXX";

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4400], b[4400], *data;
    size_t len;
    qt_err e = {{0}};
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    if (qt_read_file(a, 0, &data, &len, &e) || qt_write_file_atomic(b, data, len, &e))
        fail_msg("%s", e.msg);
    free(data);
}

/* A copy of fixture `name` in tmp_root/sub: config.json with the keys of
 * `patch` (a JSON object text) replaced, and the weights with `drop` left
 * out (NULL: none), `reshape` given one row less, `add` added (copy of the
 * norm_f weight under that name). Returns the directory (static). */
static const char *variant(const char *name, const char *sub, const char *patch, const char *drop,
                           const char *reshape, const char *add)
{
    static char out[4200];
    char src[4096], path[4400];
    qt_err e = {{0}};
    fixture_dir(src, sizeof src, name);
    snprintf(out, sizeof out, "%s/%s", tmp_root, sub);
    if (qt_mkdir_p(out, &e))
        fail_msg("%s", e.msg);
    copy_file(src, out, "tokenizer.json");

    snprintf(path, sizeof path, "%s/config.json", src);
    cJSON *cfg = qt_json_load_file(path, &e), *p = cJSON_Parse(patch ? patch : "{}");
    assert_non_null(cfg);
    assert_non_null(p);
    for (cJSON *it = p->child; it; it = it->next) {
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, it->string);
        cJSON_AddItemToObject(cfg, it->string, cJSON_Duplicate(it, 1));
    }
    char *text = cJSON_Print(cfg);
    snprintf(path, sizeof path, "%s/config.json", out);
    assert_int_equal(qt_write_file_atomic(path, text, strlen(text), &e), 0);
    free(text);
    cJSON_Delete(cfg);
    cJSON_Delete(p);

    qt_safetensors *st = NULL;
    snprintf(path, sizeof path, "%s/model.safetensors", src);
    if (qt_safetensors_open(path, &st, &e))
        fail_msg("%s", e.msg);
    size_t n = qt_safetensors_count(st), k = 0;
    qt_st_out *outs = calloc(n + 1, sizeof *outs);
    size_t (*shapes)[4] = calloc(n + 1, sizeof *shapes);
    for (size_t i = 0; i < n; i++) {
        const qt_st_tensor *t = qt_safetensors_at(st, i);
        if (drop && strcmp(t->name, drop) == 0)
            continue;
        for (size_t j = 0; j < t->ndim; j++)
            shapes[k][j] = t->shape[j];
        if (reshape && strcmp(t->name, reshape) == 0)
            shapes[k][0]--;
        outs[k] = (qt_st_out){t->name, QT_DT_F32, t->ndim, shapes[k], qt_safetensors_f32(st, t, &e)};
        if (add && strcmp(t->name, "backbone.norm_f.weight") == 0) {
            outs[k + 1] = outs[k];
            outs[k + 1].name = add;
            k++;
        }
        k++;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    if (qt_safetensors_write(path, outs, k, NULL, 0, &e))
        fail_msg("%s", e.msg);
    free(outs);
    free(shapes);
    qt_safetensors_close(st);
    return out;
}

static void expect_refusal(const char *dir, const char *needle)
{
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (m) {
        qt_model_free(m);
        fail_msg("%s loaded; expected an error with '%s'", dir, needle);
    }
    if (!strstr(e.msg, needle))
        fail_msg("error '%s' does not mention '%s'", e.msg, needle);
}

static void test_generative_variants(void **state)
{
    (void)state;
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, expected("generative_variants"))
    {
        char sub[32];
        snprintf(sub, sizeof sub, "variant%d", i++);
        char *patch = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "config"));
        const char *dir = variant("lm", sub, patch, NULL, NULL, NULL);
        qt_model *m = load(dir);
        check_generative(m, dir, c);
        qt_model_free(m);
        free(patch);
    }
}

static void test_untied_head(void **state)
{
    (void)state;
    /* lm_head.weight stored as a copy of the embeddings: the same output */
    char src[4096], path[4300];
    qt_err e = {{0}};
    fixture_dir(src, sizeof src, "lm");
    const char *dir = variant("lm", "untied", "{\"tie_word_embeddings\": false}", NULL, NULL, NULL);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    qt_safetensors *st = NULL;
    assert_int_equal(qt_safetensors_open(path, &st, &e), 0);
    size_t n = qt_safetensors_count(st);
    qt_st_out *outs = calloc(n + 1, sizeof *outs);
    size_t shapes[64][4];
    for (size_t i = 0; i < n; i++) {
        const qt_st_tensor *t = qt_safetensors_at(st, i);
        for (size_t j = 0; j < t->ndim; j++)
            shapes[i][j] = t->shape[j];
        outs[i] = (qt_st_out){t->name, QT_DT_F32, t->ndim, shapes[i], qt_safetensors_f32(st, t, &e)};
        if (strcmp(t->name, "backbone.embeddings.weight") == 0) {
            outs[n] = outs[i];
            outs[n].name = "lm_head.weight";
        }
    }
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    assert_int_equal(qt_safetensors_write(tmp, outs, n + 1, NULL, 0, &e), 0);
    qt_safetensors_close(st);
    free(outs);
    assert_int_equal(rename(tmp, path), 0);
    qt_model *m = load(dir);
    check_generative(m, dir, cJSON_GetArrayItem(expected("generative"), 0));
    qt_model_free(m);
    /* tied but lm_head missing is fine; untied without lm_head is not */
    expect_refusal(variant("lm", "nohead", "{\"tie_word_embeddings\": false}", NULL, NULL, NULL),
                   "lm_head.weight");
}

static void test_loader_refusals(void **state)
{
    (void)state;
    expect_refusal(variant("span", "cfg1", "{\"state_size\": 0}", NULL, NULL, NULL), "state_size");
    expect_refusal(variant("span", "cfg2", "{\"time_step_rank\": \"big\"}", NULL, NULL, NULL),
                   "time_step_rank");
    expect_refusal(variant("span", "cfg3", "{\"qaterm_qa_mode\": \"extractive\"}", NULL, NULL, NULL),
                   "qaterm_qa_mode");
    expect_refusal(variant("span", "cfg4", "{\"hidden_act\": \"gelu\"}", NULL, NULL, NULL), "hidden_act");
    expect_refusal(variant("span", "cfg5", "{\"intermediate_size\": 100}", NULL, NULL, NULL),
                   "intermediate_size");
    expect_refusal(variant("span", "cfg6", "{\"hidden_size\": 64, \"intermediate_size\": 128}", NULL, NULL, NULL),
                   "backbone.embeddings.weight");
    expect_refusal(variant("span", "cfg7", "{\"qaterm_sep_token_id\": 512}", NULL, NULL, NULL),
                   "qaterm_sep_token_id");
    expect_refusal(variant("span", "cfg8", "{\"vocab_size\": 400}", NULL, NULL, NULL),
                   "backbone.embeddings.weight");
    expect_refusal(variant("lm", "cfg9", "{\"qaterm_prompt\": \"{context} only\"}", NULL, NULL, NULL),
                   "qaterm_prompt");
    /* biases the config promises but the checkpoint lacks */
    expect_refusal(variant("span", "cfg10", "{\"use_bias\": true}", NULL, NULL, NULL),
                   "backbone.layers.0.mixer.in_proj.bias");
    /* biases the checkpoint has but the config rules out */
    expect_refusal(variant("lm", "cfg11", "{\"use_bias\": false}", NULL, NULL, NULL), "unexpected tensor");
    /* a span head asked for on a plain language model */
    expect_refusal(variant("lm", "cfg12", "{\"qaterm_qa_mode\": \"span\"}", NULL, NULL, NULL),
                   "qa_outputs.weight");
    /* a span head on a checkpoint said to be generative */
    expect_refusal(variant("span", "cfg13", "{\"qaterm_qa_mode\": \"generative\"}", NULL, NULL, NULL),
                   "qa_outputs");

    expect_refusal(variant("span", "w1", NULL, NULL, "backbone.layers.1.mixer.x_proj.weight", NULL),
                   "backbone.layers.1.mixer.x_proj.weight");
    expect_refusal(variant("span", "w2", NULL, "backbone.layers.0.mixer.D", NULL, NULL),
                   "backbone.layers.0.mixer.D");
    expect_refusal(variant("span", "w3", NULL, NULL, NULL, "backbone.layers.2.norm.weight"),
                   "backbone.layers.2.norm.weight");
    expect_refusal(variant("span", "w4", NULL, NULL, "backbone.layers.0.mixer.A_log", NULL), "A_log");
    expect_refusal(variant("span", "w5", NULL, NULL, "backbone.layers.0.mixer.conv1d.weight", NULL),
                   "conv1d.weight");
    /* the span checkpoint's unused lm_head is still shape-checked */
    expect_refusal(variant("span", "w6", NULL, NULL, "lm_head.weight", NULL), "lm_head.weight");
    /* a generative checkpoint whose tied embeddings are missing */
    expect_refusal(variant("lm", "w7", NULL, "backbone.embeddings.weight", NULL, NULL),
                   "backbone.embeddings.weight");
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_forward),
        cmocka_unit_test(test_span_answer),
        cmocka_unit_test(test_bench_ops),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_generative),
        cmocka_unit_test(test_generative_variants),
        cmocka_unit_test(test_untied_head),
        cmocka_unit_test(test_loader_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
