/* Fuzz target: the Unigram (SentencePiece) side of the tokenizer loader.
 *
 * An input that starts with '{' is a tokenizer.json (the seeds are small
 * Unigram tokenizers with a precompiled charsmap, Metaspace and decoders):
 * loading must fail with a message or give a tokenizer that encodes any
 * text into known ids with offsets inside the text, the same way twice, and
 * whose decoder either turns those ids (with and without specials) into
 * valid UTF-8 or says it cannot.
 *
 * Any other input is a raw charsmap blob: parsing must fail with a message
 * or give a map whose lookups stay inside it, and normalizing text with it
 * must give valid UTF-8 whose alignments lie inside the text. */
#include "fuzz/fuzz.h"

#include <string.h>

#include "tok/tokenizer.h"
#include "tok/unigram.h"
#include "util/json.h"

static const char *const texts[] = {
    "",
    "  Hello,   world!  It's 3.14 o'clock in Z\xc3\xbcrich.   ",
    "\xef\xbd\xb6\xef\xbe\x9e \xef\xac\x81 e\xcc\x81 \xef\xbc\xa1\xcc\x81 \xe2\x80\x8b\xe2\x80\x8b \xe3\x80\x80x",
    "\xe2\x96\x81 \xe2\x96\x81\xe2\x96\x81" "a <unk> </s> <0x41> \xf0\x9f\xa4\x97 \xe4\xb8\xad\x01\x7f\t\n",
};

static void check_tokenizer(qt_tokenizer *t, const char *text, size_t len)
{
    qt_encoding a, b;
    qt_encoding_init(&a);
    qt_encoding_init(&b);
    qt_err e;
    e.msg[0] = '\0';
    if (qt_tokenizer_encode(t, text, len, &a, &e) != 0) {
        QT_FUZZ_CHECK(e.msg[0] != '\0'); /* only invalid UTF-8 is refused */
        qt_encoding_free(&a);
        return;
    }
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)text[i] & 0xC0) != 0x80;
    int32_t size = qt_tokenizer_vocab_size(t);
    for (size_t i = 0; i < a.n; i++) {
        QT_FUZZ_CHECK(a.ids[i] >= 0 && a.ids[i] < size);
        QT_FUZZ_CHECK(a.chars[i].start >= 0 && (size_t)a.chars[i].end <= chars);
        QT_FUZZ_CHECK(a.bytes[i].start >= 0 && (size_t)a.bytes[i].end <= len);
        QT_FUZZ_CHECK(a.chars[i].start <= a.chars[i].end && a.bytes[i].start <= a.bytes[i].end);
    }
    QT_FUZZ_CHECK(qt_tokenizer_encode(t, text, len, &b, &e) == 0 && b.n == a.n);
    if (a.n)
        QT_FUZZ_CHECK(memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0 &&
                      memcmp(a.chars, b.chars, a.n * sizeof *a.chars) == 0);
    for (int skip = 0; skip < 2; skip++) {
        char *out = NULL;
        e.msg[0] = '\0';
        if (qt_tokenizer_decode(t, a.ids, a.n, skip, &out, &e) == 0) {
            QT_FUZZ_CHECK(out != NULL);
            QT_FUZZ_CHECK(qt_utf8_invalid_offset(out, strlen(out)) < 0);
            free(out);
        } else {
            QT_FUZZ_CHECK(out == NULL && e.msg[0] != '\0');
        }
    }
    qt_encoding_free(&a);
    qt_encoding_free(&b);
}

static void check_charsmap(const qt_charsmap *cm, const char *text)
{
    size_t len = strlen(text), n;
    for (size_t i = 0; i < len; i++) {
        const char *r = qt_charsmap_lookup(cm, text + i, len - i, &n);
        if (r)
            QT_FUZZ_CHECK(qt_utf8_invalid_offset(r, n) < 0);
    }
    qt_nstr ns;
    qt_nstr_init_text(&ns, text, (uint32_t)len);
    qt_charsmap_normalize(cm, &ns);
    QT_FUZZ_CHECK(qt_utf8_invalid_offset(ns.s, ns.len) < 0);
    for (uint32_t i = 0; i < ns.len; i++)
        QT_FUZZ_CHECK(ns.al[i].start <= ns.al[i].end && ns.al[i].end <= len);
    qt_nstr_free(&ns);
}

QT_FUZZ_ENTRY(unigram_json)
{
    qt_err e;
    e.msg[0] = '\0';
    if (size > 0 && data[0] == '{') {
        qt_tokenizer *t;
        if (qt_tokenizer_from_json("fuzz.json", (const char *)data, size, &t, &e) != 0) {
            QT_FUZZ_CHECK(e.msg[0] != '\0'); /* every refusal explains itself */
            return 0;
        }
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
            check_tokenizer(t, texts[i], strlen(texts[i]));
        check_tokenizer(t, (const char *)data, size); /* the file's own text */
        qt_tokenizer_free(t);
        return 0;
    }
    qt_charsmap *cm;
    if (qt_charsmap_from_blob(data, size, &cm, &e) != 0) {
        QT_FUZZ_CHECK(e.msg[0] != '\0');
        return 0;
    }
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        check_charsmap(cm, texts[i]);
    qt_charsmap_free(cm);
    return 0;
}
