/* The Unigram (SentencePiece) tokenizer against Hugging Face's own output
 * (tests/fixtures/tok/unigram*, made by tests/ref/unigram_ref.py and .js):
 * hard cases for the T5, byte-fallback and legacy-T5 layouts with their
 * special tokens and decoding, the precompiled charsmap on every character
 * it changes, the model's Viterbi on a tiny vocabulary, and the loader's
 * refusals. (Every dev-set text: tests/cli/tokenize_unigram.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tokenizer.h"
#include "tok/unigram.h"
#include "util/file.h"
#include "util/json.h"

static const char *srcdir(void)
{
    const char *s = getenv("QATERM_SRCDIR");
    return s ? s : QATERM_SRCDIR;
}

static char *fixture_text(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/tok/%s", srcdir(), rel);
    char *data;
    qt_err e = {{0}};
    if (qt_read_file(path, 0, &data, len, &e) != 0)
        fail_msg("%s", e.msg);
    return data;
}

static cJSON *fixture_json(const char *rel)
{
    size_t len;
    char *data = fixture_text(rel, &len);
    qt_err e = {{0}};
    cJSON *j = qt_json_parse(rel, data, len, &e);
    free(data);
    if (!j)
        fail_msg("%s", e.msg);
    return j;
}

static qt_tokenizer *from_cjson(const char *name, const cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    qt_tokenizer *t = NULL;
    qt_err e = {{0}};
    if (qt_tokenizer_from_json(name, text, strlen(text), &t, &e) != 0)
        fail_msg("%s", e.msg);
    free(text);
    return t;
}

/* unigram/tokenizer.json as T5's tokenizer.json was laid out before
 * tokenizers 0.14 (the same rewrite as unigram_ref.js's legacyLayout). */
static cJSON *legacy_layout(const cJSON *uni)
{
    cJSON *l = cJSON_Duplicate(uni, 1);
    const cJSON *norms = cJSON_GetObjectItem(cJSON_GetObjectItem(uni, "normalizer"), "normalizers");
    cJSON *pre = cJSON_Duplicate(cJSON_GetArrayItem(norms, 0), 1);
    cJSON_ReplaceItemInObject(l, "normalizer", pre);
    cJSON *ms = cJSON_CreateObject();
    cJSON_AddStringToObject(ms, "type", "Metaspace");
    cJSON_AddStringToObject(ms, "replacement", "\xe2\x96\x81");
    cJSON_AddBoolToObject(ms, "add_prefix_space", 1);
    cJSON *seq = cJSON_CreateObject();
    cJSON_AddStringToObject(seq, "type", "Sequence");
    cJSON *items = cJSON_AddArrayToObject(seq, "pretokenizers");
    cJSON *ws = cJSON_CreateObject();
    cJSON_AddStringToObject(ws, "type", "WhitespaceSplit");
    cJSON_AddItemToArray(items, ws);
    cJSON_AddItemToArray(items, cJSON_Duplicate(ms, 1));
    cJSON_ReplaceItemInObject(l, "pre_tokenizer", seq);
    cJSON_ReplaceItemInObject(l, "decoder", ms);
    return l;
}

static char *format(const qt_encoding *enc)
{
    size_t cap = enc->n * 40 + 1, len = 0;
    char *s = malloc(cap);
    s[0] = 0;
    for (size_t i = 0; i < enc->n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%d@%d:%d", i ? " " : "", enc->ids[i], enc->chars[i].start,
                                enc->chars[i].end);
    return s;
}

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

/* ---- the hard cases: encode, specials, decode ---- */

static int check_case(qt_tokenizer *t, const char *name, const cJSON *c)
{
    char key[64];
    size_t len;
    int bad = 0;
    char *text = unhex(cJSON_GetObjectItem(c, "hex")->valuestring, &len);
    qt_encoding enc;
    qt_encoding_init(&enc);
    qt_err e = {{0}};
    if (qt_tokenizer_encode(t, text, len, &enc, &e) != 0)
        fail_msg("%s", e.msg);
    char *got = format(&enc);
    const char *want = cJSON_GetObjectItem(c, name)->valuestring;
    if (strcmp(got, want) != 0) {
        bad++;
        print_message("# %s: %.60s\n#   got  %.300s\n#   want %.300s\n", name, text, got, want);
    }
    /* the post-processor's template: T5 appends </s>, the Llama-like layout
     * puts <s> first */
    const qt_tok_specials *sp = qt_tokenizer_specials(t);
    int32_t *ids = malloc((enc.n + 1) * sizeof *ids);
    size_t n = 0;
    if (strcmp(name, "unigram-bf") == 0)
        ids[n++] = sp->bos;
    for (size_t i = 0; i < enc.n; i++)
        ids[n++] = enc.ids[i];
    if (strcmp(name, "unigram-bf") != 0)
        ids[n++] = sp->eos;
    char idbuf[65536];
    size_t off = 0;
    idbuf[0] = 0;
    for (size_t i = 0; i < n && off < sizeof idbuf - 16; i++)
        off += (size_t)snprintf(idbuf + off, sizeof idbuf - off, "%s%d", i ? " " : "", ids[i]);
    snprintf(key, sizeof key, "ids:%s", name);
    if (strcmp(idbuf, cJSON_GetObjectItem(c, key)->valuestring) != 0) {
        bad++;
        print_message("# %s with specials: %.60s\n#   got  %.200s\n#   want %.200s\n", name, text, idbuf,
                      cJSON_GetObjectItem(c, key)->valuestring);
    }
    for (int skip = 0; skip < 2; skip++) {
        char *dec;
        if (qt_tokenizer_decode(t, ids, n, skip, &dec, &e) != 0)
            fail_msg("%s", e.msg);
        snprintf(key, sizeof key, "%s:%s", skip ? "decs" : "dec", name);
        const char *want_dec = cJSON_GetObjectItem(c, key)->valuestring;
        if (strcmp(dec, want_dec) != 0) {
            bad++;
            print_message("# %s decode (skip %d): %.60s\n#   got  %.200s\n#   want %.200s\n", name, skip, text, dec,
                          want_dec);
        }
        free(dec);
    }
    free(ids);
    free(got);
    free(text);
    qt_encoding_free(&enc);
    return bad;
}

static void tricky_cases_match_hf(void **state)
{
    (void)state;
    cJSON *cases = fixture_json("unigram-tricky.json");
    cJSON *uni = fixture_json("unigram/tokenizer.json");
    cJSON *bf = fixture_json("unigram-bf/tokenizer.json");
    cJSON *legacy = legacy_layout(uni);
    struct {
        const char *name;
        cJSON *json;
    } toks[] = {{"unigram", uni}, {"unigram-bf", bf}, {"unigram-legacy", legacy}};
    int checked = 0, bad = 0;
    for (size_t k = 0; k < 3; k++) {
        qt_tokenizer *t = from_cjson(toks[k].name, toks[k].json);
        assert_int_equal(qt_tokenizer_model_type(t), QT_TOK_UNIGRAM);
        const cJSON *c;
        cJSON_ArrayForEach(c, cases)
        {
            bad += check_case(t, toks[k].name, c);
            checked++;
        }
        qt_tokenizer_free(t);
    }
    print_message("# unigram hard cases: %d checked (x4 checks), %d differences\n", checked, bad);
    assert_true(checked >= 150);
    assert_int_equal(bad, 0);
    cJSON_Delete(cases);
    cJSON_Delete(uni);
    cJSON_Delete(bf);
    cJSON_Delete(legacy);
}

/* T5's specials and sizes as the T5 engine reads them. */
static void t5_layout_specials(void **state)
{
    (void)state;
    cJSON *uni = fixture_json("unigram/tokenizer.json");
    qt_tokenizer *t = from_cjson("unigram", uni);
    const qt_tok_specials *sp = qt_tokenizer_specials(t);
    assert_int_equal(sp->pad, 0);
    assert_int_equal(sp->eos, 1);
    assert_int_equal(sp->unk, 2);
    assert_int_equal(qt_tokenizer_vocab_size(t), 8008);
    assert_string_equal(qt_tokenizer_id_to_token(t, 8000), "<extra_id_7>");
    assert_int_equal(qt_tokenizer_token_to_id(t, "<extra_id_0>"), 8007);
    qt_tokenizer_free(t);
    cJSON_Delete(uni);
}

/* ---- the charsmap alone, on every character it changes ---- */

static void charsmap_probe_matches_hf(void **state)
{
    (void)state;
    cJSON *uni = fixture_json("unigram/tokenizer.json");
    cJSON *probe = fixture_json("probe-nfc/tokenizer.json");
    const cJSON *pre = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(uni, "normalizer"), "normalizers"), 0);
    cJSON_ReplaceItemInObject(probe, "normalizer", cJSON_Duplicate(pre, 1));
    qt_tokenizer *t = from_cjson("probe-precompiled", probe);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s/tests/fixtures/tok/unigram-probe.gz'", srcdir());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int checked = 0, bad = 0;
    qt_encoding enc;
    qt_encoding_init(&enc);
    qt_err e = {{0}};
    while ((n = getline(&line, &cap, p)) > 0) {
        line[n - 1] = 0;
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        *sp = 0;
        size_t len;
        char *mid = unhex(line, &len);
        char text[64];
        snprintf(text, sizeof text, "a%sb", mid);
        if (qt_tokenizer_encode(t, text, len + 2, &enc, &e) != 0)
            fail_msg("%s", e.msg);
        char *got = format(&enc);
        checked++;
        if (strcmp(got, sp + 1) != 0 && bad++ < 10)
            print_message("# charsmap %s\n#   got  %s\n#   want %s\n", line, got, sp + 1);
        free(got);
        free(mid);
    }
    free(line);
    assert_int_equal(pclose(p), 0);
    qt_encoding_free(&enc);
    print_message("# charsmap probe: %d texts, %d differ\n", checked, bad);
    assert_true(checked > 10000);
    assert_int_equal(bad, 0);
    qt_tokenizer_free(t);
    cJSON_Delete(uni);
    cJSON_Delete(probe);
}

/* A hand-made trie: "a" -> "x", "ab" -> "yz", "c" -> "" (the keys a, ab, c). */
static void charsmap_lookup_shortest_key(void **state)
{
    (void)state;
    /* Darts-clone units for the keys, built by hand: root at 0 with offset
     * 1 (units 1^'a' = 96 ... ) would be tedious; take the real map instead
     * and check facts HF's own tests state. */
    cJSON *uni = fixture_json("unigram/tokenizer.json");
    const cJSON *pre = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(uni, "normalizer"), "normalizers"), 0);
    qt_charsmap *cm;
    qt_err e = {{0}};
    assert_int_equal(qt_charsmap_from_base64(cJSON_GetObjectItem(pre, "precompiled_charsmap")->valuestring, &cm, &e), 0);
    size_t n;
    const char *r = qt_charsmap_lookup(cm, "\xef\xac\x81", 3, &n); /* U+FB01 -> "fi" */
    assert_non_null(r);
    assert_int_equal(n, 2);
    assert_memory_equal(r, "fi", 2);
    r = qt_charsmap_lookup(cm, "\xf0\x9d\x94\xbe", 4, &n); /* U+1D53E double-struck G -> "G" */
    assert_non_null(r);
    assert_memory_equal(r, "G", n);
    assert_null(qt_charsmap_lookup(cm, " ", 1, &n));
    assert_null(qt_charsmap_lookup(cm, "a", 1, &n));
    /* only a prefix matters: "fi" + more text still finds the ligature */
    assert_non_null(qt_charsmap_lookup(cm, "\xef\xac\x81xyz", 6, &n));
    /* a NUL ends the key */
    assert_null(qt_charsmap_lookup(cm, "\0\xef\xac\x81", 4, &n));
    qt_charsmap_free(cm);
    cJSON_Delete(uni);
}

static void charsmap_refuses_bad_blobs(void **state)
{
    (void)state;
    qt_charsmap *cm;
    qt_err e = {{0}};
    assert_int_equal(qt_charsmap_from_base64("AAA", &cm, &e), -1);
    assert_non_null(strstr(e.msg, "too short"));
    assert_int_equal(qt_charsmap_from_base64("not base64!", &cm, &e), -1);
    assert_non_null(strstr(e.msg, "base64"));
    /* a trie of 0x100 bytes in a 12-byte blob */
    static const uint8_t big[12] = {0, 1, 0, 0};
    assert_int_equal(qt_charsmap_from_blob(big, sizeof big, &cm, &e), -1);
    assert_non_null(strstr(e.msg, "does not fit"));
    /* strings that are not UTF-8 */
    static const uint8_t bad_utf8[10] = {4, 0, 0, 0, 0, 0, 0, 0, 0xff, 0};
    assert_int_equal(qt_charsmap_from_blob(bad_utf8, sizeof bad_utf8, &cm, &e), -1);
    assert_non_null(strstr(e.msg, "UTF-8"));
    /* units that point anywhere: lookups stay inside the arrays */
    static const uint8_t wild[24] = {16, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x61, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                     0x80, 0x40, 0x00, 0x00, 0x00, 'x', 0, 'y', 0};
    assert_int_equal(qt_charsmap_from_blob(wild, sizeof wild, &cm, &e), 0);
    size_t n;
    for (int c = 1; c < 256; c++) {
        char s[3] = {(char)c, (char)c, 0};
        const char *r = qt_charsmap_lookup(cm, s, 2, &n);
        if (r)
            assert_true(r >= (const char *)0 && n < 4);
    }
    qt_charsmap_free(cm);
}

/* ---- the model on a tiny vocabulary ---- */

static qt_tokenizer *tiny(const char *model_json, const char *extra)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"model\": %s, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
             "\"prepend_scheme\": \"always\", \"split\": true}%s}",
             model_json, extra);
    qt_tokenizer *t = NULL;
    qt_err e = {{0}};
    if (qt_tokenizer_from_json("tiny.json", buf, strlen(buf), &t, &e) != 0)
        fail_msg("%s", e.msg);
    return t;
}

static char *enc_fmt(qt_tokenizer *t, const char *text)
{
    qt_encoding enc;
    qt_encoding_init(&enc);
    qt_err e = {{0}};
    if (qt_tokenizer_encode(t, text, strlen(text), &enc, &e) != 0)
        fail_msg("%s", e.msg);
    char *s = format(&enc);
    qt_encoding_free(&enc);
    return s;
}

static void viterbi_unknowns_and_bytes(void **state)
{
    (void)state;
    /* "ab" as one piece scores -1.5 < "a" + "b" = -2: the single piece wins */
    qt_tokenizer *t = tiny("{\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"\\u2581\", -1], "
                           "[\"a\", -1], [\"b\", -1], [\"ab\", -1.5], [\"\\u2581a\", -3]]}",
                           "");
    char *s = enc_fmt(t, "ab ab");
    assert_string_equal(s, "1@0:1 4@0:2 1@2:3 4@3:5");
    free(s);
    /* unknown characters in a row are one <unk> */
    s = enc_fmt(t, "xy\xc3\xa9" "a");
    assert_string_equal(s, "1@0:1 0@0:3 2@3:4");
    free(s);
    qt_tokenizer_free(t);
    /* byte fallback: the run's bytes, each with the whole run's offsets */
    t = tiny("{\"type\": \"Unigram\", \"unk_id\": 0, \"byte_fallback\": true, \"vocab\": [[\"<unk>\", 0], "
             "[\"\\u2581\", -1], [\"a\", -1], [\"<0xC3>\", -5], [\"<0xA9>\", -5], [\"<0x78>\", -5]]}",
             "");
    s = enc_fmt(t, "\xc3\xa9x" "a");
    assert_string_equal(s, "1@0:1 3@0:2 4@0:2 5@0:2 2@2:3");
    free(s);
    /* a byte without its piece: the run stays <unk> */
    s = enc_fmt(t, "ya");
    assert_string_equal(s, "1@0:1 0@0:1 2@1:2");
    free(s);
    qt_tokenizer_free(t);
}

static void decoders_as_hf(void **state)
{
    (void)state;
    qt_tokenizer *t = tiny("{\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"\\u2581a\", -1], "
                           "[\"<0xC3>\", -5], [\"<0xA9>\", -5], [\"<0xFF>\", -5], [\"\\u2581\\u2581\", -1], [\" x \", -1]]}",
                           ", \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": "
                           "{\"String\": \"\\u2581\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": "
                           "\"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 1}]}");
    int32_t ids[] = {1, 2, 3, 1, 4, 6, 99};
    char *out;
    qt_err e = {{0}};
    assert_int_equal(qt_tokenizer_decode(t, ids, 7, 0, &out, &e), 0);
    /* " a" "é" " a" "\ufffd" " x " (99 unknown: dropped) -> fused, one space off each end */
    assert_string_equal(out, "a\xc3\xa9 a\xef\xbf\xbd x");
    free(out);
    qt_tokenizer_free(t);
    /* Metaspace: in the first token every replacement character goes */
    t = tiny("{\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"\\u2581a\", -1], "
             "[\"\\u2581\\u2581\", -1]]}",
             ", \"decoder\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"always\"}");
    int32_t ids2[] = {2, 1, 2};
    assert_int_equal(qt_tokenizer_decode(t, ids2, 3, 0, &out, &e), 0);
    assert_string_equal(out, " a  ");
    free(out);
    qt_tokenizer_free(t);
    /* no decoder: tokens joined by spaces */
    t = tiny("{\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"a\", -1], [\"b\", -1]]}", "");
    int32_t ids3[] = {1, 2};
    assert_int_equal(qt_tokenizer_decode(t, ids3, 2, 0, &out, &e), 0);
    assert_string_equal(out, "a b");
    free(out);
    qt_tokenizer_free(t);
    /* a decoder we cannot run fails when used, not when loading */
    t = tiny("{\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"<unk>\", 0], [\"a\", -1]]}",
             ", \"decoder\": {\"type\": \"CTC\"}");
    assert_int_equal(qt_tokenizer_decode(t, ids3, 1, 0, &out, &e), -1);
    assert_non_null(strstr(e.msg, "CTC"));
    qt_tokenizer_free(t);
}

static void run_regex_replace(void **state)
{
    (void)state;
    qt_tok_run_regex re;
    assert_int_equal(qt_tok_run_regex_parse(" {2,}", &re), 0);
    assert_int_equal(re.cp, ' ');
    assert_int_equal(re.min, 2);
    assert_int_equal(re.max, 0);
    assert_int_equal(qt_tok_run_regex_parse("a{2,3}", &re), 0);
    assert_int_equal(re.max, 3);
    assert_int_equal(qt_tok_run_regex_parse("\\.+", &re), 0);
    assert_int_equal(re.cp, '.');
    assert_int_equal(qt_tok_run_regex_parse("\\s+", &re), -1);
    assert_int_equal(qt_tok_run_regex_parse(" {0,}", &re), -1);
    assert_int_equal(qt_tok_run_regex_parse(" *", &re), -1);
    assert_int_equal(qt_tok_run_regex_parse("ab+", &re), -1);
    assert_int_equal(qt_tok_run_regex_parse("a{3,2}", &re), -1);
    qt_nstr ns;
    qt_nstr_init_text(&ns, "a  b   c d", 10);
    assert_int_equal(qt_tok_run_regex_parse(" {2,}", &re), 0);
    qt_tok_replace_runs(&ns, &re, "_");
    assert_string_equal(ns.s, "a_b_c d");
    /* the replacement sits on the run's last character */
    assert_int_equal(ns.al[1].start, 2);
    assert_int_equal(ns.al[3].start, 6);
    qt_nstr_free(&ns);
    qt_nstr_init_text(&ns, "xxxxx", 5);
    assert_int_equal(qt_tok_run_regex_parse("x{2}", &re), 0);
    qt_tok_replace_runs(&ns, &re, "Y");
    assert_string_equal(ns.s, "YYx");
    qt_nstr_free(&ns);
}

/* ---- the loader's refusals ---- */

static void expect_refusal(const char *json, const char *want)
{
    qt_tokenizer *t = NULL;
    qt_err e = {{0}};
    int rc = qt_tokenizer_from_json("bad.json", json, strlen(json), &t, &e);
    if (rc == 0) {
        qt_tokenizer_free(t);
        fail_msg("accepted: %s", json);
    }
    if (!strstr(e.msg, want))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
}

static void loader_refusals(void **state)
{
    (void)state;
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "at model.vocab: the Unigram vocabulary is empty");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}}", "at model.vocab: expected an array");
    expect_refusal("{\"model\": {\"type\": \"Unigram\"}}", "at model: missing field 'vocab'");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", -1], [\"b\"]]}}", "at model.vocab[1]: expected [piece, score]");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"]]}}", "at model.vocab[0]: expected [piece, score]");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 1e999]]}}", "at model.vocab[0][1]: the score is not a finite number");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"unk_id\": 1, \"vocab\": [[\"a\", -1]]}}", "at model.unk_id: 1 is not an index");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"unk_id\": \"0\", \"vocab\": [[\"a\", -1]]}}", "at model.unk_id: expected a piece index");
    expect_refusal("{\"model\": {\"type\": \"Unigram\", \"byte_fallback\": 1, \"vocab\": [[\"a\", -1]]}}", "at model.byte_fallback: expected a boolean");
    const char *m = "\"model\": {\"type\": \"Unigram\", \"unk_id\": 0, \"vocab\": [[\"a\", -1]]}";
    char buf[1024];
    snprintf(buf, sizeof buf, "{%s, \"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AAA\"}}", m);
    expect_refusal(buf, "at normalizer.precompiled_charsmap: charsmap of 2 bytes is too short");
    snprintf(buf, sizeof buf, "{%s, \"normalizer\": {\"type\": \"Precompiled\"}}", m);
    expect_refusal(buf, "at normalizer: missing field 'precompiled_charsmap'");
    snprintf(buf, sizeof buf, "{%s, \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \"x\"}}", m);
    expect_refusal(buf, "at normalizer.pattern.Regex: unsupported regex");
    snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"ab\"}}", m);
    expect_refusal(buf, "at pre_tokenizer.replacement: expected exactly one character");
    snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": {\"type\": \"Metaspace\"}}", m);
    expect_refusal(buf, "at pre_tokenizer: missing field 'replacement'");
    snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"_\", \"prepend_scheme\": \"sometimes\"}}", m);
    expect_refusal(buf, "at pre_tokenizer.prepend_scheme: expected \"always\", \"first\" or \"never\"");
    snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"_\", \"add_prefix_space\": false, \"prepend_scheme\": \"always\"}}", m);
    expect_refusal(buf, "add_prefix_space does not match declared prepend_scheme");
    snprintf(buf, sizeof buf, "{%s, \"decoder\": {\"type\": \"Strip\", \"content\": \" \", \"start\": -1, \"stop\": 0}}", m);
    expect_refusal(buf, "at decoder.start: expected a count");
    snprintf(buf, sizeof buf, "{%s, \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Metaspace\"}]}}", m);
    expect_refusal(buf, "at decoder.decoders[0]: missing field 'replacement'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tricky_cases_match_hf),
        cmocka_unit_test(t5_layout_specials),
        cmocka_unit_test(charsmap_probe_matches_hf),
        cmocka_unit_test(charsmap_lookup_shortest_key),
        cmocka_unit_test(charsmap_refuses_bad_blobs),
        cmocka_unit_test(viterbi_unknowns_and_bytes),
        cmocka_unit_test(decoders_as_hf),
        cmocka_unit_test(run_regex_replace),
        cmocka_unit_test(loader_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
