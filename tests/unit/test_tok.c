/* The tokenizers against Hugging Face's own output (tests/fixtures/tok,
 * made by tests/ref/tokenizers_ref.js): hard cases for every fixture
 * tokenizer, every code point's classes, and the API around encode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tok/tok_internal.h"
#include "tok/tokenizer.h"
#include "util/json.h"
#include "util/paths.h"

static const char *srcdir(void)
{
    const char *s = getenv("QATERM_SRCDIR");
    return s ? s : QATERM_SRCDIR;
}

static qt_tokenizer *load_fixture(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/tok/%s", srcdir(), rel);
    qt_tokenizer *t = NULL;
    qt_err e = {{0}};
    if (qt_tokenizer_load(path, &t, &e) != 0)
        fail_msg("%s", e.msg);
    return t;
}

/* "id@start:end ..." as tokenizers_ref.js writes it. */
static char *format(const qt_encoding *enc, int bytes)
{
    size_t cap = enc->n * 40 + 1, len = 0;
    char *s = malloc(cap);
    s[0] = 0;
    for (size_t i = 0; i < enc->n; i++) {
        const qt_tok_span *sp = bytes ? &enc->bytes[i] : &enc->chars[i];
        len += (size_t)snprintf(s + len, cap - len, "%s%d@%d:%d", i ? " " : "", enc->ids[i], sp->start, sp->end);
    }
    return s;
}

static char *encode_fmt_len(qt_tokenizer *t, const char *text, size_t len, int bytes)
{
    qt_encoding enc;
    qt_encoding_init(&enc);
    qt_err e = {{0}};
    if (qt_tokenizer_encode(t, text, len, &enc, &e) != 0)
        fail_msg("%s", e.msg);
    char *s = format(&enc, bytes);
    qt_encoding_free(&enc);
    return s;
}

static char *encode_fmt(qt_tokenizer *t, const char *text, int bytes)
{
    return encode_fmt_len(t, text, strlen(text), bytes);
}

/* The bytes of a hex string (texts may hold NULs). */
static char *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (char)v;
    }
    out[n] = 0;
    *len = n;
    return out;
}

/* Every case of tricky.json, for every tokenizer named in it; the WordPiece
 * ones also from their vocab.txt. */
static void tricky_cases_match_hf(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/tok/tricky.json", srcdir());
    qt_err e = {{0}};
    cJSON *root = qt_json_load_file(path, &e);
    if (!root)
        fail_msg("%s", e.msg);
    const cJSON *first = cJSON_GetArrayItem(root, 0);
    int checked = 0, bad = 0;
    for (const cJSON *name = first->child; name; name = name->next) {
        if (strcmp(name->string, "text") == 0 || strcmp(name->string, "hex") == 0)
            continue;
        for (int variant = 0; variant < 2; variant++) {
            char rel[256];
            snprintf(rel, sizeof rel, variant ? "%s/vocab.txt" : "%s", name->string);
            snprintf(path, sizeof path, "%s/tests/fixtures/tok/%s", srcdir(), rel);
            if (variant && !qt_path_is_file(path))
                continue;
            qt_tokenizer *t = load_fixture(rel);
            const cJSON *c;
            cJSON_ArrayForEach(c, root)
            {
                size_t len;
                char *text = unhex(cJSON_GetObjectItem(c, "hex")->valuestring, &len);
                const char *want = cJSON_GetObjectItem(c, name->string)->valuestring;
                char *got = encode_fmt_len(t, text, len, 0);
                checked++;
                if (strcmp(got, want) != 0) {
                    bad++;
                    print_message("# %s: %.60s\n#   got  %.300s\n#   want %.300s\n", rel, text, got, want);
                }
                free(got);
                free(text);
            }
            qt_tokenizer_free(t);
        }
    }
    cJSON_Delete(root);
    print_message("# tricky cases: %d checked, %d differ\n", checked, bad);
    assert_true(checked > 200);
    assert_int_equal(bad, 0);
}

/* ---- every code point, as HF classifies it (unicode.txt.gz) ---- */

static void append_hex(char *f, size_t cap, const char *tag, const char *s, uint32_t len)
{
    size_t n = strlen(f);
    n += (size_t)snprintf(f + n, cap - n, " %s", tag);
    for (uint32_t i = 0; i < len;) {
        uint32_t k;
        uint32_t c = qt_tok_utf8_decode(s + i, &k);
        n += (size_t)snprintf(f + n, cap - n, "%s%x", i ? "," : "", c);
        i += k;
    }
}

static void mapping(const qt_normalizer *nz, uint32_t c, const char *tag, char *f, size_t cap)
{
    char buf[8];
    int w = qt_tok_utf8_encode(c, buf);
    qt_nstr ns;
    qt_nstr_init_text(&ns, buf, (uint32_t)w);
    qt_normalizer_apply(nz, &ns);
    if (ns.len != (uint32_t)w || memcmp(ns.s, buf, (size_t)w) != 0)
        append_hex(f, cap, tag, ns.s, ns.len);
    qt_nstr_free(&ns);
}

static void classes(uint32_t c, char *f, size_t cap)
{
    static qt_normalizer strip = {.kind = QT_NORM_BERT, .strip_accents = true};
    static qt_normalizer lower = {.kind = QT_NORM_LOWERCASE};
    static qt_normalizer nfd = {.kind = QT_NORM_NFD}, nfkc = {.kind = QT_NORM_NFKC}, nfc = {.kind = QT_NORM_NFC};
    f[0] = 0;
    if (qt_uc_is_bert_control(c))
        strcat(f, "R");
    else if (qt_uc_is_whitespace(c))
        strcat(f, "W");
    if (qt_uc_is_whitespace(c))
        strcat(f, "S");
    else if (qt_uc_is_bert_punct(c))
        strcat(f, "P");
    strcat(f, qt_uc_is_whitespace(c) ? "s" : qt_uc_is_letter(c) ? "l" : qt_uc_is_number(c) ? "n" : "o");
    mapping(&strip, c, "A", f, cap);
    mapping(&lower, c, "L", f, cap);
    mapping(&nfd, c, "D", f, cap);
    mapping(&nfkc, c, "K", f, cap);
    mapping(&nfc, c, "C", f, cap);
}

static void every_code_point_classified_as_hf(void **state)
{
    (void)state;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s/tests/fixtures/tok/unicode.txt.gz'", srcdir());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024], got[1024];
    long seen = 0, bad = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        *sp = 0;
        const char *want = sp + 1;
        unsigned long lo, hi;
        char *dash = strchr(line, '-');
        lo = strtoul(line, NULL, 16);
        hi = dash ? strtoul(dash + 1, NULL, 16) : lo;
        for (unsigned long c = lo; c <= hi; c++) {
            classes((uint32_t)c, got, sizeof got);
            seen++;
            if (strcmp(got, want) != 0 && bad++ < 20)
                print_message("# U+%04lX: got \"%s\", HF \"%s\"\n", c, got, want);
        }
    }
    assert_int_equal(pclose(p), 0);
    print_message("# code points: %ld checked, %ld differ\n", seen, bad);
    assert_int_equal(seen, 0x110000 - 0x800);
    assert_int_equal(bad, 0);
}

/* ---- the API ---- */

static void specials_sizes_and_lookups(void **state)
{
    (void)state;
    qt_tokenizer *wp = load_fixture("wp-uncased");
    const qt_tok_specials *s = qt_tokenizer_specials(wp);
    assert_int_equal(qt_tokenizer_model_type(wp), QT_TOK_WORDPIECE);
    assert_int_equal(s->pad, 0);
    assert_int_equal(s->unk, 1);
    assert_int_equal(s->cls, 2);
    assert_int_equal(s->sep, 3);
    assert_int_equal(s->mask, 4);
    assert_int_equal(s->bos, -1);
    assert_int_equal(qt_tokenizer_vocab_size(wp), 12000);
    assert_string_equal(qt_tokenizer_id_to_token(wp, 2), "[CLS]");
    int32_t id = qt_tokenizer_token_to_id(wp, "the");
    assert_true(id > 4);
    assert_string_equal(qt_tokenizer_id_to_token(wp, id), "the");
    assert_null(qt_tokenizer_id_to_token(wp, 12000));
    assert_int_equal(qt_tokenizer_token_to_id(wp, "no-such-token-here"), -1);
    qt_tokenizer_free(wp);

    qt_tokenizer *rb = load_fixture("bpe-roberta/tokenizer.json");
    s = qt_tokenizer_specials(rb);
    assert_int_equal(qt_tokenizer_model_type(rb), QT_TOK_BPE);
    assert_int_equal(s->cls, 0);
    assert_int_equal(s->bos, 0);
    assert_int_equal(s->pad, 1);
    assert_int_equal(s->sep, 2);
    assert_int_equal(s->eos, 2);
    assert_int_equal(s->unk, 3);
    assert_int_equal(s->mask, 11999);
    assert_int_equal(qt_tokenizer_vocab_size(rb), 12000);
    qt_tokenizer_free(rb);

    qt_tokenizer *nx = load_fixture("bpe-neox");
    s = qt_tokenizer_specials(nx);
    assert_int_equal(s->bos, 0);
    assert_int_equal(s->eos, 0);
    assert_int_equal(s->pad, 1);
    assert_int_equal(s->cls, -1);
    assert_int_equal(qt_tokenizer_vocab_size(nx), 10000 + 23); /* the runs of 2..24 spaces */
    assert_int_equal(qt_tokenizer_token_to_id(nx, "  "), 10022);
    qt_tokenizer_free(nx);
}

/* No [CLS]/[SEP] from encode; byte offsets agree with code point ones. */
static void encode_adds_nothing_and_offsets_agree(void **state)
{
    (void)state;
    const char *text = "Caf\xc3\xa9 \xf0\x9f\xa4\x97 na\xc3\xafve d\xc3\xa9j\xc3\xa0 vu";
    const char *names[] = {"wp-uncased", "wp-cased", "bpe-roberta", "bpe-neox"};
    for (size_t n = 0; n < 4; n++) {
        qt_tokenizer *t = load_fixture(names[n]);
        qt_encoding enc;
        qt_encoding_init(&enc);
        qt_err e = {{0}};
        assert_int_equal(qt_tokenizer_encode(t, text, strlen(text), &enc, &e), 0);
        assert_true(enc.n > 3);
        const qt_tok_specials *s = qt_tokenizer_specials(t);
        for (size_t i = 0; i < enc.n; i++) {
            assert_true(enc.ids[i] != s->cls || s->cls < 0);
            /* byte offset of code point k */
            int32_t b = 0, k = 0;
            while (k < enc.chars[i].start) {
                b += qt_tok_utf8_len(qt_tok_utf8_decode(text + b, &(uint32_t){0}));
                k++;
            }
            assert_int_equal(enc.bytes[i].start, b);
            while (k < enc.chars[i].end) {
                b += qt_tok_utf8_len(qt_tok_utf8_decode(text + b, &(uint32_t){0}));
                k++;
            }
            assert_int_equal(enc.bytes[i].end, b);
        }
        /* empty text: no tokens */
        assert_int_equal(qt_tokenizer_encode(t, "", 0, &enc, &e), 0);
        assert_int_equal(enc.n, 0);
        /* invalid UTF-8 is an error that says where */
        assert_int_equal(qt_tokenizer_encode(t, "ab\xff", 3, &enc, &e), -1);
        assert_non_null(strstr(e.msg, "byte offset 2"));
        qt_encoding_free(&enc);
        qt_tokenizer_free(t);
    }
}

/* A directory prefers tokenizer.json; a vocab.txt alone works too. */
static void loads_directories_and_vocab_txt(void **state)
{
    (void)state;
    char dir[] = "/tmp/qaterm-tok-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[256];
    snprintf(p, sizeof p, "%s/vocab.txt", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\nworld\n!\n", f);
    fclose(f);
    qt_tokenizer *t;
    qt_err e = {{0}};
    assert_int_equal(qt_tokenizer_load(dir, &t, &e), 0);
    /* no upper case in the vocabulary: lower-cased */
    char *got = encode_fmt(t, "Hellos WORLD! [SEP] unknown", 0);
    assert_string_equal(got, "5@0:5 6@5:6 7@7:12 8@12:13 3@14:19 1@20:27");
    free(got);
    assert_int_equal(qt_tokenizer_specials(t)->sep, 3);
    qt_tokenizer_free(t);

    /* an upper-case token makes it a cased vocabulary */
    f = fopen(p, "a");
    fputs("Hello\n", f);
    fclose(f);
    assert_int_equal(qt_tokenizer_load(p, &t, &e), 0);
    got = encode_fmt(t, "Hello hello", 0);
    assert_string_equal(got, "9@0:5 5@6:11");
    free(got);
    qt_tokenizer_free(t);
    remove(p);
    rmdir(dir);

    assert_int_equal(qt_tokenizer_load("/nonexistent/tokenizer.json", &t, &e), -1);
    assert_non_null(strstr(e.msg, "/nonexistent/tokenizer.json"));
}

static int from_json(const char *json, qt_tokenizer **t, qt_err *e)
{
    return qt_tokenizer_from_json("t.json", json, strlen(json), t, e);
}

static void merges_as_strings_or_pairs(void **state)
{
    (void)state;
#define MERGES_JSON(merges)                                                                                  \
    "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false},"                              \
    " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3,"                   \
    " \"abc\": 4, \"bc\": 5, \"\\u0120\": 6}, \"merges\": " merges "}}"
    const char *a = MERGES_JSON("[\"b c\", \"a b\", \"ab c\"]");
    const char *b = MERGES_JSON("[[\"b\", \"c\"], [\"a\", \"b\"], [\"ab\", \"c\"]]");
    qt_tokenizer *ta, *tb;
    qt_err e = {{0}};
    assert_int_equal(from_json(a, &ta, &e), 0);
    assert_int_equal(from_json(b, &tb, &e), 0);
    /* "bc" ranks first, so "abc" becomes a + bc, not ab + c */
    char *ga = encode_fmt(ta, "abc ab", 0), *gb = encode_fmt(tb, "abc ab", 0);
    assert_string_equal(ga, "0@0:1 5@1:3 6@3:4 3@4:6");
    assert_string_equal(ga, gb);
    free(ga);
    free(gb);
    qt_tokenizer_free(ta);
    qt_tokenizer_free(tb);
}

static void json_errors_name_the_place(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"model\": ", "t.json: byte offset"},
        {"[1, 2]", "expected a JSON object"},
        {"{\"normalizer\": null}", "missing field 'model'"},
        {"{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": []}}", "model.type: unsupported model \"NoSuchModel\""},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": \"x\"}}}", "model.vocab[\"a\"]: expected a token id"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "\"[UNK]\" is not in the vocabulary"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}", "merge 1"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a a a\"]}}", "model.merges[0]"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -3}, \"merges\": []}}", "out of range"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"normalizer\": {\"type\": \"NoSuchNormalizer\"}}",
         "normalizer.type: unsupported normalizer"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Sequence\","
         " \"pretokenizers\": [{\"type\": \"NoSuchPreTokenizer\"}]}}",
         "pre_tokenizer.pretokenizers[0].type: unsupported"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"added_tokens\": [{\"id\": 0}]}",
         "added_tokens[0]: missing field 'content'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        qt_tokenizer *t = NULL;
        qt_err e = {{0}};
        assert_int_equal(from_json(cases[i].json, &t, &e), -1);
        assert_null(t);
        if (!strstr(e.msg, cases[i].want) || strncmp(e.msg, "t.json", 6) != 0)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
    }
}

/* Added tokens get HF's ids: their own in the vocabulary, else the next
 * free one after it. */
static void added_token_ids(void **state)
{
    (void)state;
    const char *json = "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": 1, \"b\": 2},"
                       " \"max_input_chars_per_word\": 5},"
                       " \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"},"
                       " \"added_tokens\": [{\"id\": 7, \"content\": \"<x>\", \"special\": true, \"normalized\": false},"
                       " {\"id\": 1, \"content\": \"a\", \"normalized\": false},"
                       " {\"id\": 9, \"content\": \"<y>\", \"special\": true, \"normalized\": false}]}";
    qt_tokenizer *t;
    qt_err e = {{0}};
    assert_int_equal(from_json(json, &t, &e), 0);
    assert_int_equal(qt_tokenizer_token_to_id(t, "<x>"), 3);
    assert_int_equal(qt_tokenizer_token_to_id(t, "<y>"), 4);
    assert_int_equal(qt_tokenizer_vocab_size(t), 5);
    char *got = encode_fmt(t, "b<x>ab aaaaaa <y>", 0);
    assert_string_equal(got, "2@0:1 3@1:4 1@4:5 2@5:6 1@7:8 1@8:9 1@9:10 1@10:11 1@11:12 1@12:13 4@14:17");
    free(got);
    qt_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tricky_cases_match_hf),
        cmocka_unit_test(every_code_point_classified_as_hf),
        cmocka_unit_test(specials_sizes_and_lookups),
        cmocka_unit_test(encode_adds_nothing_and_offsets_agree),
        cmocka_unit_test(loads_directories_and_vocab_txt),
        cmocka_unit_test(merges_as_strings_or_pairs),
        cmocka_unit_test(json_errors_name_the_place),
        cmocka_unit_test(added_token_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
