/* The tokenizer builder (src/tok/tok_build.h): what it writes loads, every
 * word of its training text can be encoded without the unknown token,
 * frequent words are single tokens, the Unigram kind decodes back to the
 * text, the specials come first, and the result depends only on the input.
 * (That Hugging Face's tokenizers reads the files the same way is what
 * tests/cli/tokenize*.sh prove for the loader on real files.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_build.h"
#include "tok/tokenizer.h"

static const char *texts[] = {
    "The Normans (Norman: Nourmands; French: Normands) were the people who in the 10th and 11th "
    "centuries gave their name to Normandy, a region in France.",
    "In what country is Normandy located?",
    "When were the Normans in Normandy? The Normans were in Normandy in the 10th and 11th centuries.",
    "Caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \"quoted\" (1,000) and 3.5% of the   spaced\ttext.",
};
#define N_TEXTS (sizeof texts / sizeof texts[0])

static qt_tokenizer *build(qt_tok_build_kind kind, int max_vocab, const char *const *specials, int n_specials,
                           const char *unk, char **json_out)
{
    size_t lens[N_TEXTS];
    for (size_t i = 0; i < N_TEXTS; i++)
        lens[i] = strlen(texts[i]);
    char *json = NULL;
    qt_err e = {{0}};
    if (qt_tok_build_json(kind, texts, lens, N_TEXTS, max_vocab, specials, n_specials, unk, &json, &e) != 0)
        fail_msg("%s", e.msg);
    qt_tokenizer *t = NULL;
    if (qt_tokenizer_from_json("built", json, strlen(json), &t, &e) != 0)
        fail_msg("%s", e.msg);
    if (json_out)
        *json_out = json;
    else
        free(json);
    return t;
}

static int count_id(const qt_encoding *enc, int32_t id)
{
    int n = 0;
    for (size_t i = 0; i < enc->n; i++)
        n += enc->ids[i] == id;
    return n;
}

static void test_wordpiece(void **state)
{
    (void)state;
    const char *sp[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    qt_tokenizer *t = build(QT_TOK_BUILD_WORDPIECE, 1000, sp, 5, "[UNK]", NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(qt_tokenizer_token_to_id(t, sp[i]), i);
    qt_err e = {{0}};
    qt_encoding enc;
    qt_encoding_init(&enc);
    for (size_t i = 0; i < N_TEXTS; i++) {
        assert_int_equal(qt_tokenizer_encode(t, texts[i], strlen(texts[i]), &enc, &e), 0);
        assert_int_equal(count_id(&enc, 1), 0);
    }
    /* a frequent word is one token, lower-cased */
    assert_int_equal(qt_tokenizer_encode(t, "NORMANDY", 8, &enc, &e), 0);
    assert_int_equal(enc.n, 1);
    assert_string_equal(qt_tokenizer_id_to_token(t, enc.ids[0]), "normandy");
    /* an unseen word is spelled with seen characters; an unseen character is [UNK] */
    assert_int_equal(qt_tokenizer_encode(t, "dorman", 6, &enc, &e), 0);
    assert_true(enc.n > 1);
    assert_int_equal(count_id(&enc, 1), 0);
    assert_int_equal(qt_tokenizer_encode(t, "\xe2\x82\xac", 3, &enc, &e), 0);
    assert_int_equal(count_id(&enc, 1), 1);
    /* a small max_vocab still keeps every character */
    qt_tokenizer *small = build(QT_TOK_BUILD_WORDPIECE, 10, sp, 5, "[UNK]", NULL);
    assert_int_equal(qt_tokenizer_encode(small, texts[0], strlen(texts[0]), &enc, &e), 0);
    assert_int_equal(count_id(&enc, 1), 0);
    assert_true(qt_tokenizer_vocab_size(small) < qt_tokenizer_vocab_size(t));
    qt_tokenizer_free(small);
    qt_encoding_free(&enc);
    qt_tokenizer_free(t);
}

static void test_unigram_round_trip(void **state)
{
    (void)state;
    const char *sp[] = {"<pad>", "</s>", "<unk>"};
    qt_tokenizer *t = build(QT_TOK_BUILD_UNIGRAM, 400, sp, 3, "<unk>", NULL);
    assert_int_equal(qt_tokenizer_token_to_id(t, "</s>"), 1);
    qt_err e = {{0}};
    qt_encoding enc;
    qt_encoding_init(&enc);
    const char *cases[] = {"The Normans were in Normandy.", "(1,000) and 3.5%", "Caf\xc3\xa9 na\xc3\xafve",
                           "Normandyx, Frenchy"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(qt_tokenizer_encode(t, cases[i], strlen(cases[i]), &enc, &e), 0);
        assert_int_equal(count_id(&enc, 2), 0);
        char *back = NULL;
        assert_int_equal(qt_tokenizer_decode(t, enc.ids, enc.n, 1, &back, &e), 0);
        assert_string_equal(back, cases[i]);
        free(back);
    }
    /* a frequent word with its space is one piece; punctuation is cut off it */
    assert_int_equal(qt_tokenizer_encode(t, "Normandy,", 9, &enc, &e), 0);
    assert_int_equal(enc.n, 2);
    assert_string_equal(qt_tokenizer_id_to_token(t, enc.ids[0]), "\xe2\x96\x81Normandy");
    assert_string_equal(qt_tokenizer_id_to_token(t, enc.ids[1]), ",");
    /* offsets: the piece "▁Normandy" stands for the space and the word */
    assert_int_equal(qt_tokenizer_encode(t, "in Normandy", 11, &enc, &e), 0);
    assert_int_equal(enc.n, 2);
    assert_int_equal(enc.bytes[1].start, 2);
    assert_int_equal(enc.bytes[1].end, 11);
    qt_encoding_free(&enc);
    qt_tokenizer_free(t);
}

static void test_deterministic_and_refusals(void **state)
{
    (void)state;
    const char *sp[] = {"<pad>", "</s>", "<unk>"};
    char *a = NULL, *b = NULL;
    qt_tokenizer_free(build(QT_TOK_BUILD_UNIGRAM, 300, sp, 3, "<unk>", &a));
    qt_tokenizer_free(build(QT_TOK_BUILD_UNIGRAM, 300, sp, 3, "<unk>", &b));
    assert_string_equal(a, b);
    free(a);
    free(b);
    size_t len = strlen(texts[0]);
    char *json = NULL;
    qt_err e = {{0}};
    assert_int_equal(qt_tok_build_json(QT_TOK_BUILD_UNIGRAM, texts, &len, 1, 100, sp, 3, "[UNK]", &json, &e), -1);
    assert_non_null(strstr(e.msg, "[UNK]"));
    assert_null(json);
    const char *bad = "ok \xff bad";
    size_t blen = strlen(bad);
    assert_int_equal(qt_tok_build_json(QT_TOK_BUILD_WORDPIECE, &bad, &blen, 1, 100, sp, 3, "<unk>", &json, &e), -1);
    assert_non_null(strstr(e.msg, "UTF-8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordpiece),
        cmocka_unit_test(test_unigram_round_trip),
        cmocka_unit_test(test_deterministic_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
