/* Building WordPiece and Unigram tokenizer.json files from text (tok_build.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "tok/tok_build.h"
#include "tok/tok_internal.h"
#include "tok/tokenizer.h"

#define METASPACE "\xe2\x96\x81" /* U+2581 */

/* ---- counting strings ---- */

typedef struct entry {
    char *s;
    size_t n;
    long count;
} entry;

typedef struct counter {
    entry *v;
    size_t cap, used;
    int oom;
} counter;

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int grow(counter *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1 << 16;
    entry *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->v[i].s)
            continue;
        size_t k = hash_str(c->v[i].s, c->v[i].n) & (cap - 1);
        while (v[k].s)
            k = (k + 1) & (cap - 1);
        v[k] = c->v[i];
    }
    free(c->v);
    c->v = v;
    c->cap = cap;
    return 0;
}

static void count_add(counter *c, const char *s, size_t n, long by)
{
    if (c->oom || n == 0)
        return;
    if ((c->used + 1) * 2 > c->cap && grow(c) != 0) {
        c->oom = 1;
        return;
    }
    size_t k = hash_str(s, n) & (c->cap - 1);
    while (c->v[k].s) {
        if (c->v[k].n == n && memcmp(c->v[k].s, s, n) == 0) {
            c->v[k].count += by;
            return;
        }
        k = (k + 1) & (c->cap - 1);
    }
    char *copy = malloc(n + 1);
    if (!copy) {
        c->oom = 1;
        return;
    }
    memcpy(copy, s, n);
    copy[n] = 0;
    c->v[k] = (entry){copy, n, by};
    c->used++;
}

static void counter_free(counter *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->v[i].s);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Most frequent first; ties by bytes, so the order is a function of the counts. */
static int by_count_then_text(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The counter's entries, sorted; *n their number. */
static entry *sorted(counter *c, size_t *n)
{
    entry *v = malloc((c->used ? c->used : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < c->cap; i++)
        if (c->v[i].s)
            v[k++] = c->v[i];
    qsort(v, k, sizeof *v, by_count_then_text);
    *n = k;
    return v;
}

/* ---- words ---- */

typedef struct build {
    qt_tok_build_kind kind;
    counter words;  /* WordPiece: words; Unigram: runs */
    counter chars;  /* every character (UTF-8) */
} build;

static size_t char_len(const char *s, size_t n, size_t i)
{
    size_t k = 1;
    while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
        k++;
    return k;
}

static int is_word_char(const char *s, size_t n, size_t i)
{
    uint32_t len = (uint32_t)(n - i);
    uint32_t cp = qt_tok_utf8_decode(s + i, &len);
    return qt_uc_is_word(cp);
}

static void on_word(void *ctx, const char *s, size_t n)
{
    build *b = ctx;
    for (size_t i = 0; i < n; i += char_len(s, n, i))
        count_add(&b->chars, s + i, char_len(s, n, i), 1);
    if (b->kind == QT_TOK_BUILD_WORDPIECE) {
        count_add(&b->words, s, n, 1);
        return;
    }
    /* Unigram: runs of word characters and single other characters; the
     * leading "▁" stays on the first run */
    size_t i = 0, lead = 0;
    if (n >= 3 && memcmp(s, METASPACE, 3) == 0)
        lead = 3, i = 3;
    size_t start = 0;
    while (i < n) {
        size_t j = i;
        if (is_word_char(s, n, j)) {
            while (j < n && is_word_char(s, n, j))
                j += char_len(s, n, j);
        } else {
            j += char_len(s, n, j);
        }
        count_add(&b->words, s + start, j - start, 1);
        start = j;
        i = j;
    }
    if (lead && n == lead)
        count_add(&b->words, s, n, 1);
}

/* ---- the tokenizer.json ---- */

static cJSON *added_tokens(const char *const *specials, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", i);
        cJSON_AddStringToObject(t, "content", specials[i]);
        cJSON_AddBoolToObject(t, "single_word", 0);
        cJSON_AddBoolToObject(t, "lstrip", 0);
        cJSON_AddBoolToObject(t, "rstrip", 0);
        cJSON_AddBoolToObject(t, "normalized", 0);
        cJSON_AddBoolToObject(t, "special", 1);
        cJSON_AddItemToArray(arr, t);
    }
    return arr;
}

static cJSON *metaspace(const char *type)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", type);
    cJSON_AddStringToObject(m, "replacement", METASPACE);
    cJSON_AddStringToObject(m, "prepend_scheme", "always");
    cJSON_AddBoolToObject(m, "split", 1);
    return m;
}

/* The tokenizer.json around a model object, with the pipeline of kind. */
static cJSON *skeleton(qt_tok_build_kind kind, const char *const *specials, int n_specials)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON_AddItemToObject(root, "added_tokens", added_tokens(specials, n_specials));
    if (kind == QT_TOK_BUILD_WORDPIECE) {
        cJSON *nz = cJSON_AddObjectToObject(root, "normalizer");
        cJSON_AddStringToObject(nz, "type", "BertNormalizer");
        cJSON_AddBoolToObject(nz, "clean_text", 1);
        cJSON_AddBoolToObject(nz, "handle_chinese_chars", 1);
        cJSON_AddNullToObject(nz, "strip_accents");
        cJSON_AddBoolToObject(nz, "lowercase", 1);
        cJSON *pt = cJSON_AddObjectToObject(root, "pre_tokenizer");
        cJSON_AddStringToObject(pt, "type", "BertPreTokenizer");
        cJSON_AddNullToObject(root, "post_processor");
        cJSON *dec = cJSON_AddObjectToObject(root, "decoder");
        cJSON_AddStringToObject(dec, "type", "WordPiece");
        cJSON_AddStringToObject(dec, "prefix", "##");
        cJSON_AddBoolToObject(dec, "cleanup", 1);
    } else {
        cJSON_AddNullToObject(root, "normalizer");
        cJSON_AddItemToObject(root, "pre_tokenizer", metaspace("Metaspace"));
        cJSON_AddNullToObject(root, "post_processor");
        cJSON_AddItemToObject(root, "decoder", metaspace("Metaspace"));
    }
    return root;
}

static cJSON *wordpiece_model(const char *unk)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "WordPiece");
    cJSON_AddStringToObject(m, "unk_token", unk);
    cJSON_AddStringToObject(m, "continuing_subword_prefix", "##");
    cJSON_AddNumberToObject(m, "max_input_chars_per_word", 100);
    cJSON_AddItemToObject(m, "vocab", cJSON_CreateObject());
    return m;
}

static cJSON *unigram_model(int unk_id)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", "Unigram");
    cJSON_AddNumberToObject(m, "unk_id", unk_id);
    cJSON_AddItemToObject(m, "vocab", cJSON_CreateArray());
    cJSON_AddBoolToObject(m, "byte_fallback", 0);
    return m;
}

/* Adds a token to the model's vocabulary unless it is there already. */
static int vocab_put(cJSON *model, qt_tok_build_kind kind, counter *seen, const char *tok, size_t n, double score)
{
    char buf[512];
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, tok, n);
    buf[n] = 0;
    size_t before = seen->used;
    count_add(seen, buf, n, 1);
    if (seen->oom)
        return -1;
    if (seen->used == before)
        return 0;
    cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    int id = (int)before;
    if (kind == QT_TOK_BUILD_WORDPIECE) {
        cJSON_AddItemToObject(vocab, buf, cJSON_CreateNumber(id));
    } else {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(buf));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(score));
        cJSON_AddItemToArray(vocab, pair);
    }
    return 0;
}

int qt_tok_build_json(qt_tok_build_kind kind, const char *const *texts, const size_t *lens, size_t n_texts,
                      int max_vocab, const char *const *specials, int n_specials, const char *unk, char **json,
                      qt_err *e)
{
    *json = NULL;
    int unk_id = -1;
    for (int i = 0; i < n_specials; i++)
        if (strcmp(specials[i], unk) == 0)
            unk_id = i;
    if (unk_id < 0)
        return qt_fail(e, "tokenizer builder: the unknown token \"%s\" is not among the specials", unk);

    /* a tokenizer with only the specials: its pipeline splits the words */
    cJSON *root = skeleton(kind, specials, n_specials);
    cJSON *model = kind == QT_TOK_BUILD_WORDPIECE ? wordpiece_model(unk) : unigram_model(unk_id);
    cJSON_AddItemToObject(root, "model", model);
    counter seen = {0};
    build b = {kind, {0}, {0}};
    qt_tokenizer *tok = NULL;
    entry *words = NULL, *chars = NULL;
    int rc = -1;
    for (int i = 0; i < n_specials; i++)
        if (vocab_put(model, kind, &seen, specials[i], strlen(specials[i]), 0.0) != 0)
            goto oom;
    char *text = cJSON_PrintUnformatted(root);
    if (!text)
        goto oom;
    rc = qt_tokenizer_from_json("tokenizer builder", text, strlen(text), &tok, e);
    free(text);
    if (rc != 0)
        goto done;
    rc = -1;
    for (size_t i = 0; i < n_texts; i++)
        if (qt_tokenizer_pretokenize(tok, texts[i], lens[i], on_word, &b, e) != 0)
            goto done;
    if (b.words.oom || b.chars.oom)
        goto oom;

    size_t n_words = 0, n_chars = 0;
    words = sorted(&b.words, &n_words);
    chars = sorted(&b.chars, &n_chars);
    if (!words || !chars)
        goto oom;
    double total = 0;
    for (size_t i = 0; i < n_words; i++)
        total += (double)words[i].count;
    double floor_score = n_words ? log((double)words[n_words - 1].count / total) - 10.0 : -20.0;
    /* every character, so every seen word can be spelled */
    char buf[16];
    for (size_t i = 0; i < n_chars; i++) {
        if (kind == QT_TOK_BUILD_WORDPIECE) {
            snprintf(buf, sizeof buf, "##%s", chars[i].s);
            if (vocab_put(model, kind, &seen, chars[i].s, chars[i].n, 0) != 0 ||
                vocab_put(model, kind, &seen, buf, strlen(buf), 0) != 0)
                goto oom;
        } else {
            snprintf(buf, sizeof buf, METASPACE "%s", chars[i].s);
            /* distinct scores: equal ones would leave Viterbi ties that
             * implementations break differently */
            double sc = floor_score - 1e-3 * (double)i;
            if (vocab_put(model, kind, &seen, chars[i].s, chars[i].n, sc) != 0 ||
                vocab_put(model, kind, &seen, buf, strlen(buf), sc - 5e-4) != 0)
                goto oom;
        }
    }
    if (kind == QT_TOK_BUILD_UNIGRAM && vocab_put(model, kind, &seen, METASPACE, 3, floor_score + 1e-3) != 0)
        goto oom;
    /* log relative frequency, made strictly decreasing along the sorted
     * order (the same reason) */
    for (size_t i = 0; i < n_words && (long)seen.used < max_vocab; i++)
        if (vocab_put(model, kind, &seen, words[i].s, words[i].n,
                      log((double)words[i].count / total) - 1e-6 * (double)i) != 0)
            goto oom;
    *json = cJSON_Print(root);
    if (!*json)
        goto oom;
    rc = 0;
    goto done;
oom:
    rc = qt_fail(e, "tokenizer builder: out of memory");
done:
    free(words);
    free(chars);
    counter_free(&b.words);
    counter_free(&b.chars);
    counter_free(&seen);
    qt_tokenizer_free(tok);
    cJSON_Delete(root);
    return rc;
}
