/* A BERT vocab.txt: one WordPiece token per line, the line number is the
 * id. The rest of the tokenizer is BERT's: clean text, split CJK, lower-case
 * (with accent stripping) or not, split whitespace and punctuation. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok/tok_internal.h"
#include "util/file.h"
#include "util/json.h"
#include "util/paths.h"

/* Whether some token other than a bracketed special one has an upper-case
 * letter: then the vocabulary is a cased one. */
static bool has_upper_case(const qt_vocab *v)
{
    for (uint32_t i = 0; i < v->n_entries; i++) {
        const char *s = v->entries[i].text;
        uint32_t len = v->entries[i].len;
        if (len >= 2 && ((s[0] == '[' && s[len - 1] == ']') || (s[0] == '<' && s[len - 1] == '>')))
            continue;
        for (uint32_t k = 0; k < len;) {
            uint32_t n;
            uint32_t c = qt_tok_utf8_decode(s + k, &n);
            k += n;
            utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
            if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT)
                return true;
        }
    }
    return false;
}

typedef struct bert_config {
    int lowercase;     /* -1 unknown */
    int strip_accents; /* -1: follow lowercase */
    int chinese;       /* -1 unknown */
} bert_config;

/* Reads do_lower_case, strip_accents and tokenize_chinese_chars from a
 * tokenizer_config.json beside the vocabulary, if there is one. */
static int read_config(const char *vocab_path, bert_config *cfg, qt_err *e)
{
    char *copy = qt_tok_xstrndup(vocab_path, strlen(vocab_path));
    char p[4096];
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dirname(copy));
    free(copy);
    if (!qt_path_is_file(p))
        return 0;
    cJSON *root = qt_json_load_file(p, e);
    if (!root)
        return -1;
    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(root, "do_lower_case");
    if (cJSON_IsBool(lc))
        cfg->lowercase = cJSON_IsTrue(lc);
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(root, "strip_accents");
    if (cJSON_IsBool(sa))
        cfg->strip_accents = cJSON_IsTrue(sa);
    const cJSON *zh = cJSON_GetObjectItemCaseSensitive(root, "tokenize_chinese_chars");
    if (cJSON_IsBool(zh))
        cfg->chinese = cJSON_IsTrue(zh);
    cJSON_Delete(root);
    return 0;
}

/* Lines as Rust's BufRead::lines gives them, trimmed at the end as HF does. */
static int parse_lines(const char *path, const char *data, size_t len, qt_vocab *v, qt_err *e)
{
    int32_t id = 0;
    for (size_t i = 0; i < len; id++) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t k = end;
        /* trim trailing whitespace (Unicode White_Space) */
        while (k > i) {
            size_t j = k - 1;
            while (j > i && ((unsigned char)data[j] & 0xC0) == 0x80)
                j--;
            uint32_t n;
            if (!qt_uc_is_whitespace(qt_tok_utf8_decode(data + j, &n)))
                break;
            k = j;
        }
        if (qt_vocab_add(v, data + i, k - i, id, e) != 0)
            return qt_fail_prefix(e, "%s: line %ld", path, (long)id + 1);
        i = nl ? end + 1 : len;
    }
    if (id == 0)
        return qt_fail(e, "%s: empty vocabulary", path);
    return 0;
}

int qt_tokenizer_load_vocab_txt(const char *path, int lowercase, qt_tokenizer **out, qt_err *e)
{
    *out = NULL;
    char *data;
    size_t len;
    if (qt_read_file(path, 0, &data, &len, e) != 0)
        return -1;
    const char *nul = memchr(data, 0, len);
    long bad = qt_utf8_invalid_offset(data, len);
    if (nul || bad >= 0) {
        qt_fail(e, "%s: byte offset %ld: %s, not a vocab.txt", path, nul ? (long)(nul - data) : bad,
                nul ? "NUL byte" : "invalid UTF-8");
        free(data);
        return -1;
    }
    qt_vocab v;
    qt_vocab_init(&v);
    int rc = parse_lines(path, data, len, &v, e);
    free(data);
    bert_config cfg = {lowercase, -1, -1};
    if (rc == 0 && lowercase < 0)
        rc = read_config(path, &cfg, e);
    if (rc != 0) {
        qt_vocab_free(&v);
        return -1;
    }
    if (cfg.lowercase < 0)
        cfg.lowercase = !has_upper_case(&v);

    qt_tokenizer *t = qt_tok_xcalloc(1, sizeof *t);
    t->specials = (qt_tok_specials){-1, -1, -1, -1, -1, -1, -1};
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    t->added = qt_tok_xcalloc(5, sizeof *t->added);
    for (size_t i = 0; i < 5; i++) {
        int32_t id = qt_vocab_find(&v, specials[i], strlen(specials[i]));
        if (id < 0)
            continue;
        qt_added_token *a = &t->added[t->n_added++];
        a->content = qt_tok_xstrndup(specials[i], strlen(specials[i]));
        a->len = (uint32_t)strlen(specials[i]);
        a->id = id;
        a->special = true;
    }
    qt_wordpiece_opts wo = {"[UNK]", "##", 100};
    if (qt_wordpiece_init(&t->model, &v, &wo, e) != 0) {
        qt_fail_prefix(e, "%s", path);
        qt_vocab_free(&v);
        qt_tokenizer_free(t);
        return -1;
    }
    t->normalizer = qt_tok_xcalloc(1, sizeof *t->normalizer);
    t->normalizer->kind = QT_NORM_BERT;
    t->normalizer->clean_text = true;
    t->normalizer->handle_cjk = cfg.chinese != 0;
    t->normalizer->lowercase = cfg.lowercase != 0;
    t->normalizer->strip_accents = cfg.strip_accents < 0 ? cfg.lowercase != 0 : cfg.strip_accents != 0;
    t->pretok = qt_tok_xcalloc(1, sizeof *t->pretok);
    t->pretok->kind = QT_PRE_BERT;
    qt_tokenizer_finish(t);
    *out = t;
    return 0;
}
