/* The T5 engine against the PyTorch reference (tests/ref/t5_ref.py):
 * tokenized prompt, encoder states, teacher-forced decoder logits (in one
 * pass and token by token through the cache), greedy ids with and without
 * the cache, the no-answer score; then question answering end to end
 * (windows, no-answer rule, spans) and the loader's refusals. */
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

#include "models/t5_internal.h"
#include "qa/normalize.h"
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
    snprintf(buf, n, "%s/tests/fixtures/%s", srcdir(), name);
}

static cJSON *expected(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s/expected.json", srcdir(), name);
    qt_err e = {{0}};
    cJSON *j = qt_json_load_file(path, &e);
    if (!j)
        fail_msg("%s", e.msg);
    return j;
}

static qt_model *load(const char *name)
{
    char dir[4096];
    fixture_dir(dir, sizeof dir, name);
    qt_err e = {{0}};
    qt_model *m = qt_model_load(dir, &e);
    if (!m)
        fail_msg("%s", e.msg);
    assert_non_null(qt_t5_of(m));
    return m;
}

static int32_t *ids_of(const cJSON *arr, int *n)
{
    *n = cJSON_GetArraySize(arr);
    int32_t *ids = malloc((size_t)(*n ? *n : 1) * sizeof *ids);
    for (int i = 0; i < *n; i++)
        ids[i] = (int32_t)cJSON_GetArrayItem(arr, i)->valuedouble;
    return ids;
}

/* max |got - want| over the expected values */
static double max_diff(const float *got, const cJSON *want_obj, size_t *count)
{
    const cJSON *vals = cJSON_GetObjectItem(want_obj, "values");
    double worst = 0;
    size_t i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, vals)
    {
        double d = fabs((double)got[i] - v->valuedouble);
        worst = d > worst ? d : worst;
        i++;
    }
    *count = i;
    return worst;
}

static void check_reference(const char *name)
{
    qt_model *m = load(name);
    qt_t5 *t = qt_t5_of(m);
    cJSON *x = expected(name);
    qt_err e = {{0}};
    int n_in, n_na, n_dec, n_greedy;
    int32_t *in = ids_of(cJSON_GetObjectItem(x, "input_ids"), &n_in);
    int32_t *na = ids_of(cJSON_GetObjectItem(x, "no_answer_ids"), &n_na);
    int32_t *dec = ids_of(cJSON_GetObjectItem(x, "decoder_input_ids"), &n_dec);
    int32_t *greedy = ids_of(cJSON_GetObjectItem(x, "greedy_ids"), &n_greedy);

    /* the prompt as the npm tokenizers package tokenized it, </s> added */
    const char *prompt = cJSON_GetObjectItem(x, "prompt")->valuestring;
    qt_encoding enc;
    qt_encoding_init(&enc);
    assert_int_equal(qt_tokenizer_encode(t->tok, prompt, strlen(prompt), &enc, &e), 0);
    assert_int_equal((int)enc.n + 1, n_in);
    assert_memory_equal(enc.ids, in, enc.n * sizeof *in);
    assert_int_equal(in[n_in - 1], t->c.eos_id);
    qt_encoding_free(&enc);
    assert_int_equal(t->n_na, n_na);
    assert_memory_equal(t->na_ids, na, (size_t)n_na * sizeof *na);

    /* encoder */
    if (qt_t5_encode(t, in, n_in, &e) != 0)
        fail_msg("%s", e.msg);
    size_t count;
    double d = max_diff(t->enc_out, cJSON_GetObjectItem(x, "encoder_hidden"), &count);
    print_message("# %s: encoder states, %zu values, max |diff| %.2g\n", name, count, d);
    assert_int_equal(count, (size_t)n_in * t->c.d_model);
    assert_true(d < TOL);

    /* decoder, teacher-forced in one pass */
    qt_t5_decoder_reset(t);
    if (qt_t5_decoder_step(t, dec, n_dec, 1, 0, &e) != 0)
        fail_msg("%s", e.msg);
    d = max_diff(t->logits, cJSON_GetObjectItem(x, "decoder_logits"), &count);
    print_message("# %s: decoder logits (%d positions), %zu values, max |diff| %.2g\n", name, n_dec, count, d);
    assert_int_equal(count, (size_t)n_dec * t->c.vocab);
    assert_true(d < TOL);

    /* the same one token at a time through the cache */
    const cJSON *vals = cJSON_GetObjectItem(cJSON_GetObjectItem(x, "decoder_logits"), "values");
    qt_t5_decoder_reset(t);
    double worst = 0;
    for (int i = 0; i < n_dec; i++) {
        if (qt_t5_decoder_step(t, &dec[i], 1, 0, 0, &e) != 0)
            fail_msg("%s", e.msg);
        for (int k = 0; k < t->c.vocab; k++) {
            double dd = fabs(t->logits[k] - cJSON_GetArrayItem(vals, i * t->c.vocab + k)->valuedouble);
            worst = dd > worst ? dd : worst;
        }
    }
    print_message("# %s: cached step by step, max |diff| %.2g\n", name, worst);
    assert_true(worst < TOL);

    /* greedy, with and without the cache */
    for (int cache = 1; cache >= 0; cache--) {
        int32_t out[64];
        int n;
        double lp;
        t->use_cache = cache;
        if (qt_t5_greedy(t, 32, -1, -1, 1, out, &n, &lp, &e) != 0)
            fail_msg("%s", e.msg);
        assert_int_equal(n, n_greedy);
        assert_memory_equal(out, greedy, (size_t)n * sizeof *out);
        assert_true(fabs(lp - cJSON_GetObjectItem(x, "greedy_mean_logprob")->valuedouble) < TOL);
    }
    t->use_cache = 1;
    double na_lp;
    assert_int_equal(qt_t5_score(t, na, n_na, &na_lp, &e), 0);
    assert_true(fabs(na_lp - cJSON_GetObjectItem(x, "no_answer_mean_logprob")->valuedouble) < TOL);

    free(in);
    free(na);
    free(dec);
    free(greedy);
    cJSON_Delete(x);
    qt_model_free(m);
}

static void relu_tied_matches_reference(void **state)
{
    (void)state;
    check_reference("t5-relu");
}

static void gated_untied_matches_reference(void **state)
{
    (void)state;
    check_reference("t5-gated");
}

/* ---- question answering ---- */

static void answer_end_to_end(void **state)
{
    (void)state;
    qt_model *m = load("t5-gated");
    qt_t5 *t = qt_t5_of(m);
    cJSON *x = expected("t5-gated");
    const char *q = cJSON_GetObjectItem(x, "question")->valuestring;
    const char *ctx = cJSON_GetObjectItem(x, "context")->valuestring;
    int n_greedy;
    int32_t *greedy = ids_of(cJSON_GetObjectItem(x, "greedy_ids"), &n_greedy);
    char *want;
    qt_err e = {{0}};
    assert_int_equal(qt_tokenizer_decode(t->tok, greedy, (size_t)n_greedy, 1, &want, &e), 0);

    qt_qa_answer a;
    if (qt_model_answer(m, q, ctx, &a, &e) != 0)
        fail_msg("%s", e.msg);
    print_message("# one window: has_answer %d \"%s\" (generated \"%s\"), p(no answer) %.3f, %.1f ms\n", a.has_answer,
                  a.best_text, want, a.no_answer_prob, a.latency_ms);
    char *nw = qt_squad_normalize(want);
    assert_int_equal(a.has_answer, *nw != 0);
    free(nw);
    assert_true(a.no_answer_prob >= 0 && a.no_answer_prob <= 1 && a.confidence >= 0 && a.confidence <= 1);
    assert_true(fabs(a.score - cJSON_GetObjectItem(x, "greedy_mean_logprob")->valuedouble) < TOL);
    if (a.char_start >= 0) /* found in the context: the context's own text */
        assert_memory_equal(ctx + a.byte_start, a.text, strlen(a.text));
    qt_qa_answer_free(&a);

    /* the same context in windows of 64 tokens */
    t->max_enc = 64;
    t->doc_stride = 16;
    if (qt_model_answer(m, q, ctx, &a, &e) != 0)
        fail_msg("%s", e.msg);
    print_message("# windows of 64: has_answer %d \"%s\", p(no answer) %.3f\n", a.has_answer, a.best_text,
                  a.no_answer_prob);
    assert_non_null(a.text);
    assert_non_null(a.best_text);
    qt_qa_answer_free(&a);
    t->max_enc = 512;

    /* the generated text as the no-answer string: "no answer", yet a best guess */
    free(t->no_answer_norm);
    t->no_answer_norm = qt_squad_normalize(want);
    if (qt_model_answer(m, q, ctx, &a, &e) != 0)
        fail_msg("%s", e.msg);
    print_message("# generated = no-answer string: has_answer %d, best \"%s\", p(no answer) %.3f\n", a.has_answer,
                  a.best_text, a.no_answer_prob);
    assert_int_equal(a.has_answer, 0);
    assert_string_equal(a.text, "");
    assert_true(a.char_start == -1 && a.byte_start == -1);
    assert_true(a.no_answer_prob >= 0 && a.no_answer_prob <= 1);
    assert_float_equal(a.confidence, a.no_answer_prob, 1e-12);
    qt_qa_answer_free(&a);

    /* cancellation */
    volatile int cancel = 1;
    m->cancel = &cancel;
    assert_int_equal(qt_model_answer(m, q, ctx, &a, &e), -1);
    assert_string_equal(e.msg, "cancelled");
    qt_qa_answer_free(&a);
    free(want);
    free(greedy);
    cJSON_Delete(x);
    qt_model_free(m);
}

static void locate_answers(void **state)
{
    (void)state;
    long s, e;
    const char *ctx = "In 1998 the Committee  decided to move The Archive.";
    qt_t5_locate(ctx, "1998", &s, &e);
    assert_true(s == 3 && e == 7);
    qt_t5_locate(ctx, "committee decided", &s, &e); /* case, double space */
    assert_true(s == 12 && e == 30);
    assert_memory_equal(ctx + s, "Committee  decided", 18);
    qt_t5_locate(ctx, "the archive", &s, &e); /* case only */
    assert_memory_equal(ctx + s, "The Archive", 11);
    qt_t5_locate(ctx, "archive", &s, &e);
    assert_memory_equal(ctx + s, "Archive", 7);
    qt_t5_locate(ctx, "Archive!", &s, &e); /* punctuation: SQuAD-normalized words */
    assert_memory_equal(ctx + s, "Archive.", (size_t)(e - s));
    qt_t5_locate(ctx, "the library", &s, &e);
    assert_true(s == -1 && e == -1);
    qt_t5_locate(ctx, "   ", &s, &e);
    assert_true(s == -1);
    qt_t5_locate("Caf\xc3\x89 au lait", "caf\xc3\xa9", &s, &e); /* non-ASCII case */
    assert_true(s == 0 && e == 5);
}

/* ---- loader refusals ---- */

/* A copy of the fixture dir with config.json edited by `edit`. */
static void refuse(const char *fixture, const char *key, const char *json_value, const char *want)
{
    char src[4096], dir[] = "/tmp/qaterm-t5-XXXXXX", path[4200], from[4200];
    fixture_dir(src, sizeof src, fixture);
    assert_non_null(mkdtemp(dir));
    const char *files[] = {"model.safetensors", "tokenizer.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        snprintf(from, sizeof from, "%s/%s", src, files[i]);
        assert_int_equal(symlink(from, path), 0);
    }
    snprintf(from, sizeof from, "%s/config.json", src);
    qt_err e = {{0}};
    cJSON *cfg = qt_json_load_file(from, &e);
    assert_non_null(cfg);
    if (json_value)
        cJSON_ReplaceItemInObject(cfg, key, cJSON_Parse(json_value));
    else
        cJSON_DeleteItemFromObject(cfg, key);
    char *text = cJSON_Print(cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    free(text);
    cJSON_Delete(cfg);
    qt_model *m = qt_model_load(dir, &e);
    if (m) {
        qt_model_free(m);
        fail_msg("%s=%s accepted", key, json_value ? json_value : "(deleted)");
    }
    if (!strstr(e.msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
    const char *all[] = {"model.safetensors", "tokenizer.json", "config.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, all[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void loader_refusals(void **state)
{
    (void)state;
    refuse("t5-relu", "d_ff", "65", "tensor 'encoder.block.0.layer.1.DenseReluDense.wi.weight' has shape [64,32], config implies [65,32]");
    refuse("t5-relu", "num_layers", "3", "missing tensor 'encoder.block.2.layer.0.layer_norm.weight'");
    refuse("t5-relu", "num_decoder_layers", "1", "unexpected tensor 'decoder.block.1.");
    refuse("t5-relu", "tie_word_embeddings", "false", "missing tensor 'lm_head.weight'");
    refuse("t5-relu", "feed_forward_proj", "\"gated-relu\"", "missing tensor 'encoder.block.0.layer.1.DenseReluDense.wi_0.weight'");
    refuse("t5-relu", "feed_forward_proj", "\"tanh\"", "at $.feed_forward_proj: unsupported \"tanh\"");
    refuse("t5-relu", "d_model", NULL, "at $: missing field 'd_model'");
    refuse("t5-relu", "num_heads", "0", "at $.num_heads: 0 is outside");
    refuse("t5-relu", "d_kv", "7", "tensor 'encoder.block.0.layer.0.SelfAttention.q.weight' has shape [32,32], config implies [28,32]");
    refuse("t5-relu", "relative_attention_num_buckets", "16", "relative_attention_bias.weight' has shape [32,4], config implies [16,4]");
    refuse("t5-relu", "relative_attention_max_distance", "16", "at $.relative_attention_max_distance: 16 must be more than half");
    refuse("t5-relu", "vocab_size", "100", "tensor 'shared.weight' has shape [192,32], config implies [100,32]");
    refuse("t5-relu", "eos_token_id", "\"one\"", "at $.eos_token_id: expected a token id");
    refuse("t5-relu", "layer_norm_epsilon", "-1", "at $.layer_norm_epsilon: expected a small positive number");
    refuse("t5-relu", "qaterm_prompt", "\"question: {question}\"", "at $.qaterm_prompt: expected exactly one {context}");
    refuse("t5-relu", "use_cache", "1", "at $.use_cache: expected true or false");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relu_tied_matches_reference),
        cmocka_unit_test(gated_untied_matches_reference),
        cmocka_unit_test(answer_end_to_end),
        cmocka_unit_test(locate_answers),
        cmocka_unit_test(loader_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
