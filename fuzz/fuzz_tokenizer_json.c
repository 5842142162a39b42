/* Fuzz target: a tokenizer.json. Whatever the bytes, loading must either
 * fail with a message or give a tokenizer that encodes any text into known
 * ids whose offsets lie inside the text, the same way twice (the BPE cache
 * must not change results). */
#include "fuzz/fuzz.h"

#include <string.h>

#include "tok/tokenizer.h"

static void check_encoding(qt_tokenizer *t, const char *text, size_t len)
{
    qt_encoding a, b;
    qt_encoding_init(&a);
    qt_encoding_init(&b);
    qt_err e;
    e.msg[0] = '\0';
    if (qt_tokenizer_encode(t, text, len, &a, &e) != 0) {
        QT_FUZZ_CHECK(e.msg[0] != '\0'); /* only invalid UTF-8 is refused */
        qt_encoding_free(&a);
        qt_encoding_free(&b);
        return;
    }
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)text[i] & 0xC0) != 0x80;
    int32_t size = qt_tokenizer_vocab_size(t);
    for (size_t i = 0; i < a.n; i++) {
        QT_FUZZ_CHECK(a.ids[i] >= 0 && a.ids[i] < size);
        QT_FUZZ_CHECK(qt_tokenizer_id_to_token(t, a.ids[i]) != NULL);
        QT_FUZZ_CHECK(a.chars[i].start >= 0 && (size_t)a.chars[i].end <= chars);
        QT_FUZZ_CHECK(a.bytes[i].start >= 0 && (size_t)a.bytes[i].end <= len);
        QT_FUZZ_CHECK(a.chars[i].start <= a.chars[i].end && a.bytes[i].start <= a.bytes[i].end);
    }
    QT_FUZZ_CHECK(qt_tokenizer_encode(t, text, len, &b, &e) == 0 && b.n == a.n);
    if (a.n) {
        QT_FUZZ_CHECK(memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0);
        QT_FUZZ_CHECK(memcmp(a.chars, b.chars, a.n * sizeof *a.chars) == 0);
    }
    qt_encoding_free(&a);
    qt_encoding_free(&b);
}

QT_FUZZ_ENTRY(tokenizer_json)
{
    static const char *const texts[] = {
        "",
        "Hello, world! It's 3.14 o'clock   in Z\xc3\xbcrich.",
        "  \t\n e\xcc\x81 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\xa4\x97 [CLS] <s> <mask>  x  ",
        "\xc4\xb0stanbul \xef\xac\x81 \xe1\x84\x80\xe1\x85\xa1 a\xcc\x81\xcc\xa3 \x01\x7f",
    };
    qt_err e;
    e.msg[0] = '\0';
    qt_tokenizer *t;
    if (qt_tokenizer_from_json("fuzz.json", (const char *)data, size, &t, &e) != 0) {
        QT_FUZZ_CHECK(e.msg[0] != '\0'); /* every refusal explains itself */
        return 0;
    }
    const qt_tok_specials *s = qt_tokenizer_specials(t);
    int32_t ids[] = {s->cls, s->sep, s->pad, s->unk, s->bos, s->eos, s->mask};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        QT_FUZZ_CHECK(ids[i] == -1 || (ids[i] >= 0 && ids[i] < 1 << 24));
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        check_encoding(t, texts[i], strlen(texts[i]));
    check_encoding(t, (const char *)data, size); /* the file's own text */
    qt_tokenizer_free(t);
    return 0;
}
