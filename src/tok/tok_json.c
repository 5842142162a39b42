/* Loads a Hugging Face tokenizer.json: the model (WordPiece or BPE, merges
 * as "a b" strings or [a, b] pairs), the normalizer, the pre-tokenizer,
 * the post-processor's offset trimming and special tokens, and the added
 * tokens (ids assigned as HF assigns them). Anything else that would change
 * the tokens is refused with the JSON path that names it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"
#include "tok/unigram.h"
#include "util/json.h"

#define JPATH_MAX 256

typedef struct jctx {
    const char *name;
    qt_err *e;
} jctx;

/* obj[key], or NULL when missing or null. */
static const cJSON *field(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return it && !cJSON_IsNull(it) ? it : NULL;
}

static int wrong_type(jctx *c, const char *jpath, const char *key, const char *want, const cJSON *got)
{
    return qt_fail(c->e, "%s: at %s%s%s: expected %s, got %s", c->name, jpath, key ? "." : "", key ? key : "",
                   want, qt_json_type_name(got));
}

static int get_bool(jctx *c, const cJSON *obj, const char *key, const char *jpath, bool dflt, bool *out)
{
    const cJSON *it = field(obj, key);
    *out = dflt;
    if (!it)
        return 0;
    if (!cJSON_IsBool(it))
        return wrong_type(c, jpath, key, "a boolean", it);
    *out = cJSON_IsTrue(it);
    return 0;
}

/* A string field; *out is NULL when missing or null. */
static int get_str(jctx *c, const cJSON *obj, const char *key, const char *jpath, const char **out)
{
    const cJSON *it = field(obj, key);
    *out = NULL;
    if (!it)
        return 0;
    if (!cJSON_IsString(it))
        return wrong_type(c, jpath, key, "a string", it);
    *out = it->valuestring;
    return 0;
}

static int get_id(jctx *c, const cJSON *it, const char *jpath, int32_t *out)
{
    if (!cJSON_IsNumber(it))
        return wrong_type(c, jpath, NULL, "a token id", it);
    double d = it->valuedouble;
    if (!(d >= 0 && d < (double)(1 << 24)) || d != (double)(int32_t)d)
        return qt_fail(c->e, "%s: at %s: token id %g out of range", c->name, jpath, d);
    *out = (int32_t)d;
    return 0;
}

static const char *type_of(jctx *c, const cJSON *obj, const char *jpath)
{
    const char *type;
    if (!cJSON_IsObject(obj)) {
        wrong_type(c, jpath, NULL, "an object", obj);
        return NULL;
    }
    if (get_str(c, obj, "type", jpath, &type) != 0)
        return NULL;
    if (!type)
        qt_fail(c->e, "%s: at %s: missing field 'type'", c->name, jpath);
    return type;
}

static int unsupported(jctx *c, const char *jpath, const char *what, const char *type)
{
    return qt_fail(c->e, "%s: at %s.type: unsupported %s \"%.60s\"", c->name, jpath, what, type);
}

/* ---- normalizers ---- */

static int parse_normalizer(jctx *c, const cJSON *j, const char *jpath, qt_normalizer *nz, int depth)
{
    memset(nz, 0, sizeof *nz);
    if (depth > 16)
        return qt_fail(c->e, "%s: at %s: normalizers nested too deeply", c->name, jpath);
    const char *type = type_of(c, j, jpath);
    if (!type)
        return -1;
    if (strcmp(type, "BertNormalizer") == 0) {
        nz->kind = QT_NORM_BERT;
        if (get_bool(c, j, "clean_text", jpath, true, &nz->clean_text) ||
            get_bool(c, j, "handle_chinese_chars", jpath, true, &nz->handle_cjk) ||
            get_bool(c, j, "lowercase", jpath, true, &nz->lowercase) ||
            get_bool(c, j, "strip_accents", jpath, nz->lowercase, &nz->strip_accents))
            return -1;
    } else if (strcmp(type, "NFC") == 0) {
        nz->kind = QT_NORM_NFC;
    } else if (strcmp(type, "NFD") == 0) {
        nz->kind = QT_NORM_NFD;
    } else if (strcmp(type, "NFKC") == 0) {
        nz->kind = QT_NORM_NFKC;
    } else if (strcmp(type, "NFKD") == 0) {
        nz->kind = QT_NORM_NFKD;
    } else if (strcmp(type, "Lowercase") == 0) {
        nz->kind = QT_NORM_LOWERCASE;
    } else if (strcmp(type, "StripAccents") == 0) {
        nz->kind = QT_NORM_STRIP_ACCENTS;
    } else if (strcmp(type, "Strip") == 0) {
        nz->kind = QT_NORM_STRIP;
        if (get_bool(c, j, "strip_left", jpath, true, &nz->left) ||
            get_bool(c, j, "strip_right", jpath, true, &nz->right))
            return -1;
    } else if (strcmp(type, "Prepend") == 0) {
        const char *p;
        nz->kind = QT_NORM_PREPEND;
        if (get_str(c, j, "prepend", jpath, &p) != 0)
            return -1;
        if (!p)
            return qt_fail(c->e, "%s: at %s: missing field 'prepend'", c->name, jpath);
        nz->text = qt_tok_xstrndup(p, strlen(p));
    } else if (strcmp(type, "Replace") == 0) {
        const char *with, *pat = NULL;
        nz->kind = QT_NORM_REPLACE;
        const cJSON *pattern = field(j, "pattern");
        if (get_str(c, j, "content", jpath, &with) != 0)
            return -1;
        if (pattern && cJSON_IsObject(pattern) && cJSON_IsString(field(pattern, "String")))
            pat = field(pattern, "String")->valuestring;
        if (!pat && with && cJSON_IsString(field(pattern, "Regex"))) {
            nz->kind = QT_NORM_REPLACE_RUNS;
            nz->runs = qt_tok_xcalloc(1, sizeof *nz->runs);
            nz->with = qt_tok_xstrndup(with, strlen(with));
            if (qt_tok_run_regex_parse(field(pattern, "Regex")->valuestring, nz->runs) != 0)
                return qt_fail(c->e, "%s: at %s.pattern.Regex: unsupported regex \"%.60s\" (only runs of one "
                               "character, such as \" {2,}\")", c->name, jpath, field(pattern, "Regex")->valuestring);
            return 0;
        }
        if (!pat || !with)
            return qt_fail(c->e, "%s: at %s: only Replace with a \"String\" pattern and a content is supported",
                           c->name, jpath);
        nz->text = qt_tok_xstrndup(pat, strlen(pat));
        nz->with = qt_tok_xstrndup(with, strlen(with));
    } else if (strcmp(type, "Precompiled") == 0) {
        const char *b64;
        nz->kind = QT_NORM_PRECOMPILED;
        if (get_str(c, j, "precompiled_charsmap", jpath, &b64) != 0)
            return -1;
        if (!b64)
            return qt_fail(c->e, "%s: at %s: missing field 'precompiled_charsmap'", c->name, jpath);
        if (qt_charsmap_from_base64(b64, &nz->charsmap, c->e) != 0)
            return qt_fail_prefix(c->e, "%s: at %s.precompiled_charsmap", c->name, jpath);
    } else if (strcmp(type, "Sequence") == 0) {
        nz->kind = QT_NORM_SEQUENCE;
        const cJSON *items = field(j, "normalizers");
        if (!cJSON_IsArray(items))
            return wrong_type(c, jpath, "normalizers", "an array", items);
        int n = cJSON_GetArraySize(items);
        nz->items = qt_tok_xcalloc((size_t)n, sizeof *nz->items);
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            char sub[JPATH_MAX];
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", jpath, nz->n_items);
            if (parse_normalizer(c, it, sub, &nz->items[nz->n_items++], depth + 1) != 0)
                return -1;
        }
    } else {
        return unsupported(c, jpath, "normalizer", type);
    }
    return 0;
}

/* ---- pre-tokenizers ---- */

static int parse_pretok(jctx *c, const cJSON *j, const char *jpath, qt_pretok *pt, int depth)
{
    memset(pt, 0, sizeof *pt);
    if (depth > 16)
        return qt_fail(c->e, "%s: at %s: pre-tokenizers nested too deeply", c->name, jpath);
    const char *type = type_of(c, j, jpath);
    if (!type)
        return -1;
    if (strcmp(type, "BertPreTokenizer") == 0) {
        pt->kind = QT_PRE_BERT;
    } else if (strcmp(type, "WhitespaceSplit") == 0) {
        pt->kind = QT_PRE_WHITESPACE_SPLIT;
    } else if (strcmp(type, "ByteLevel") == 0) {
        pt->kind = QT_PRE_BYTE_LEVEL;
        if (get_bool(c, j, "add_prefix_space", jpath, true, &pt->add_prefix_space) ||
            get_bool(c, j, "use_regex", jpath, true, &pt->use_regex))
            return -1;
    } else if (strcmp(type, "Metaspace") == 0) {
        pt->kind = QT_PRE_METASPACE;
        pt->metaspace = qt_tok_xcalloc(1, sizeof *pt->metaspace);
        if (qt_metaspace_from_json(j, c->name, jpath, pt->metaspace, c->e) != 0)
            return -1;
    } else if (strcmp(type, "Sequence") == 0) {
        pt->kind = QT_PRE_SEQUENCE;
        const cJSON *items = field(j, "pretokenizers");
        if (!cJSON_IsArray(items))
            return wrong_type(c, jpath, "pretokenizers", "an array", items);
        int n = cJSON_GetArraySize(items);
        pt->items = qt_tok_xcalloc((size_t)n, sizeof *pt->items);
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            char sub[JPATH_MAX];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", jpath, pt->n_items);
            if (parse_pretok(c, it, sub, &pt->items[pt->n_items++], depth + 1) != 0)
                return -1;
        }
    } else {
        return unsupported(c, jpath, "pre_tokenizer", type);
    }
    return 0;
}

/* ---- post-processors: offset trimming and the ids of [CLS]/[SEP] ---- */

static int parse_pair(jctx *c, const cJSON *j, const char *key, const char *jpath, int32_t *id)
{
    const cJSON *p = field(j, key);
    if (!p)
        return 0;
    if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2 || !cJSON_IsString(cJSON_GetArrayItem(p, 0)))
        return wrong_type(c, jpath, key, "a [token, id] pair", p);
    char sub[JPATH_MAX];
    snprintf(sub, sizeof sub, "%s.%s[1]", jpath, key);
    return get_id(c, cJSON_GetArrayItem(p, 1), sub, id);
}

/* The id of a TemplateProcessing special token named `name`. */
static int32_t template_special_id(const cJSON *j, const char *name)
{
    const cJSON *st = field(field(j, "special_tokens"), name);
    const cJSON *ids = field(st, "ids");
    if (cJSON_GetArraySize(ids) != 1 || !cJSON_IsNumber(cJSON_GetArrayItem(ids, 0)))
        return -1;
    double d = cJSON_GetArrayItem(ids, 0)->valuedouble;
    return d >= 0 && d < (double)(1 << 24) ? (int32_t)d : -1;
}

static int parse_post(jctx *c, const cJSON *j, const char *jpath, qt_tokenizer *t, int depth)
{
    if (depth > 16)
        return qt_fail(c->e, "%s: at %s: post-processors nested too deeply", c->name, jpath);
    const char *type = type_of(c, j, jpath);
    if (!type)
        return -1;
    bool trim, prefix;
    if (strcmp(type, "ByteLevel") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        if (get_bool(c, j, "trim_offsets", jpath, true, &trim) ||
            get_bool(c, j, "add_prefix_space", jpath, true, &prefix))
            return -1;
        if (trim) {
            t->trim_offsets = true;
            t->trim_add_prefix_space = prefix;
        }
        if (type[0] == 'R' && (parse_pair(c, j, "cls", jpath, &t->specials.cls) ||
                               parse_pair(c, j, "sep", jpath, &t->specials.sep)))
            return -1;
    } else if (strcmp(type, "BertProcessing") == 0) {
        if (parse_pair(c, j, "cls", jpath, &t->specials.cls) || parse_pair(c, j, "sep", jpath, &t->specials.sep))
            return -1;
    } else if (strcmp(type, "TemplateProcessing") == 0) {
        /* the special token before the sequence is the "cls", the one after the "sep" */
        const cJSON *single = field(j, "single");
        const cJSON *it;
        bool after = false;
        cJSON_ArrayForEach(it, single)
        {
            if (field(it, "Sequence")) {
                after = true;
                continue;
            }
            const cJSON *name = field(field(it, "SpecialToken"), "id");
            if (!cJSON_IsString(name))
                continue;
            int32_t id = template_special_id(j, name->valuestring);
            int32_t *slot = after ? &t->specials.sep : &t->specials.cls;
            if (*slot < 0)
                *slot = id;
        }
    } else if (strcmp(type, "Sequence") == 0) {
        const cJSON *items = field(j, "processors");
        if (!cJSON_IsArray(items))
            return wrong_type(c, jpath, "processors", "an array", items);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, items)
        {
            char sub[JPATH_MAX];
            snprintf(sub, sizeof sub, "%s.processors[%zu]", jpath, i++);
            if (parse_post(c, it, sub, t, depth + 1) != 0)
                return -1;
        }
    } else {
        return unsupported(c, jpath, "post_processor", type);
    }
    return 0;
}

/* ---- models ---- */

static int parse_vocab(jctx *c, const cJSON *model, qt_vocab *v)
{
    const cJSON *vj = field(model, "vocab");
    if (!cJSON_IsObject(vj))
        return vj ? wrong_type(c, "model", "vocab", "an object", vj)
                  : qt_fail(c->e, "%s: at model: missing field 'vocab'", c->name);
    const cJSON *it;
    cJSON_ArrayForEach(it, vj)
    {
        char jpath[JPATH_MAX];
        snprintf(jpath, sizeof jpath, "model.vocab[\"%.40s\"]", it->string);
        int32_t id;
        if (get_id(c, it, jpath, &id) != 0)
            return -1;
        if (qt_vocab_add(v, it->string, strlen(it->string), id, c->e) != 0)
            return qt_fail_prefix(c->e, "%s: at %s", c->name, jpath);
    }
    return 0;
}

static int load_wordpiece(jctx *c, const cJSON *j, qt_tokenizer *t)
{
    qt_wordpiece_opts o = {"[UNK]", "##", 100};
    const char *s;
    if (get_str(c, j, "unk_token", "model", &s) != 0)
        return -1;
    if (s)
        o.unk_token = s;
    if (get_str(c, j, "continuing_subword_prefix", "model", &s) != 0)
        return -1;
    if (s)
        o.prefix = s;
    const cJSON *mx = field(j, "max_input_chars_per_word");
    if (mx) {
        if (!cJSON_IsNumber(mx) || mx->valuedouble < 0)
            return wrong_type(c, "model", "max_input_chars_per_word", "a count", mx);
        o.max_chars = mx->valuedouble > 1e9 ? 1000000000u : (uint32_t)mx->valuedouble;
    }
    qt_vocab v;
    qt_vocab_init(&v);
    int rc = parse_vocab(c, j, &v);
    if (rc == 0 && qt_wordpiece_init(&t->model, &v, &o, c->e) != 0)
        rc = qt_fail_prefix(c->e, "%s: at model", c->name);
    qt_vocab_free(&v);
    return rc;
}

static int load_bpe(jctx *c, const cJSON *j, qt_tokenizer *t)
{
    qt_bpe_opts o = {0};
    if (get_str(c, j, "unk_token", "model", &o.unk_token) || get_str(c, j, "continuing_subword_prefix", "model", &o.prefix) ||
        get_str(c, j, "end_of_word_suffix", "model", &o.suffix) ||
        get_bool(c, j, "fuse_unk", "model", false, &o.fuse_unk) ||
        get_bool(c, j, "byte_fallback", "model", false, &o.byte_fallback) ||
        get_bool(c, j, "ignore_merges", "model", false, &o.ignore_merges))
        return -1;
    const cJSON *mj = field(j, "merges");
    if (mj && !cJSON_IsArray(mj))
        return wrong_type(c, "model", "merges", "an array", mj);
    size_t n = (size_t)cJSON_GetArraySize(mj);
    qt_bpe_merge *merges = qt_tok_xcalloc(n, sizeof *merges);
    size_t k = 0, i = 0;
    const cJSON *it;
    int rc = 0;
    cJSON_ArrayForEach(it, mj)
    {
        if (cJSON_IsString(it)) {
            const char *s = it->valuestring;
            if (strncmp(s, "#version", 8) == 0) {
                i++;
                continue;
            }
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                rc = qt_fail(c->e, "%s: at model.merges[%zu]: expected \"a b\" (two tokens, one space)", c->name, i);
                break;
            }
            merges[k++] = (qt_bpe_merge){s, sp + 1, (size_t)(sp - s), strlen(sp + 1)};
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            const char *a = cJSON_GetArrayItem(it, 0)->valuestring, *b = cJSON_GetArrayItem(it, 1)->valuestring;
            merges[k++] = (qt_bpe_merge){a, b, strlen(a), strlen(b)};
        } else {
            rc = qt_fail(c->e, "%s: at model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], got %s", c->name, i,
                         qt_json_type_name(it));
            break;
        }
        i++;
    }
    qt_vocab v;
    qt_vocab_init(&v);
    if (rc == 0)
        rc = parse_vocab(c, j, &v);
    if (rc == 0)
        rc = qt_bpe_init(&t->model, &v, merges, k, &o, c->name, c->e);
    qt_vocab_free(&v);
    free(merges);
    return rc;
}

static int load_model(jctx *c, const cJSON *root, qt_tokenizer *t)
{
    const cJSON *j = field(root, "model");
    if (!cJSON_IsObject(j))
        return j ? wrong_type(c, "$", "model", "an object", j)
                 : qt_fail(c->e, "%s: at $: missing field 'model'", c->name);
    const char *type;
    if (get_str(c, j, "type", "model", &type) != 0)
        return -1;
    if (!type) /* old files have no type: tell the models apart by their fields */
        type = field(j, "merges") ? "BPE" : field(j, "max_input_chars_per_word") ? "WordPiece" : "?";
    if (strcmp(type, "WordPiece") == 0)
        return load_wordpiece(c, j, t);
    if (strcmp(type, "BPE") == 0)
        return load_bpe(c, j, t);
    if (strcmp(type, "Unigram") == 0)
        return qt_unigram_from_json(j, c->name, &t->model, c->e);
    return unsupported(c, "model", "model", type);
}

/* ---- added tokens ---- */

static int load_added(jctx *c, const cJSON *root, qt_tokenizer *t)
{
    const cJSON *arr = field(root, "added_tokens");
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return wrong_type(c, "$", "added_tokens", "an array", arr);
    size_t n = (size_t)cJSON_GetArraySize(arr);
    t->added = qt_tok_xcalloc(n, sizeof *t->added);
    int32_t model_size = (int32_t)t->model.vocab.n_entries;
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        char jpath[JPATH_MAX];
        snprintf(jpath, sizeof jpath, "added_tokens[%zu]", i++);
        const char *content;
        qt_added_token a = {0};
        if (!cJSON_IsObject(it))
            return wrong_type(c, jpath, NULL, "an object", it);
        if (get_str(c, it, "content", jpath, &content) || get_bool(c, it, "special", jpath, false, &a.special) ||
            get_bool(c, it, "single_word", jpath, false, &a.single_word) ||
            get_bool(c, it, "lstrip", jpath, false, &a.lstrip) || get_bool(c, it, "rstrip", jpath, false, &a.rstrip) ||
            get_bool(c, it, "normalized", jpath, true, &a.normalized))
            return -1;
        if (!content)
            return qt_fail(c->e, "%s: at %s: missing field 'content'", c->name, jpath);
        if (!content[0])
            continue; /* HF ignores empty added tokens */
        size_t len = strlen(content);
        /* HF gives an added token the id it already has (as an added token
         * or in the model's vocabulary), else the next free one. */
        qt_added_token *same = NULL;
        for (size_t k = 0; k < t->n_added; k++)
            if (t->added[k].len == len && memcmp(t->added[k].content, content, len) == 0)
                same = &t->added[k];
        if (same) {
            int32_t id = same->id;
            char *keep = same->content;
            *same = a;
            same->content = keep;
            same->len = (uint32_t)len;
            same->id = id;
            continue;
        }
        a.id = qt_vocab_find(&t->model.vocab, content, len);
        if (a.id < 0) {
            int32_t max = -1;
            for (size_t k = 0; k < t->n_added; k++)
                if (t->added[k].id > max)
                    max = t->added[k].id;
            a.id = max < 0 ? model_size : (max >= model_size || model_size == 0) ? max + 1 : model_size;
        }
        a.content = qt_tok_xstrndup(content, len);
        a.len = (uint32_t)len;
        t->added[t->n_added++] = a;
    }
    return 0;
}

int qt_tokenizer_from_json(const char *name, const char *data, size_t len, qt_tokenizer **out, qt_err *e)
{
    *out = NULL;
    /* qt_json_parse quotes the text after an error as a C string: give it
     * one that ends */
    char *copy = qt_tok_xstrndup(data, len);
    cJSON *root = qt_json_parse(name, copy, len, e);
    free(copy);
    if (!root)
        return -1;
    jctx c = {name, e};
    qt_tokenizer *t = qt_tok_xcalloc(1, sizeof *t);
    t->specials = (qt_tok_specials){-1, -1, -1, -1, -1, -1, -1};
    int rc = 0;
    if (!cJSON_IsObject(root))
        rc = qt_fail(e, "%s: expected a JSON object (a tokenizer.json), got %s", name, qt_json_type_name(root));
    if (rc == 0)
        rc = load_model(&c, root, t);
    const cJSON *nj = field(root, "normalizer");
    if (rc == 0 && nj) {
        t->normalizer = qt_tok_xcalloc(1, sizeof *t->normalizer);
        rc = parse_normalizer(&c, nj, "normalizer", t->normalizer, 0);
    }
    const cJSON *pj = field(root, "pre_tokenizer");
    if (rc == 0 && pj) {
        t->pretok = qt_tok_xcalloc(1, sizeof *t->pretok);
        rc = parse_pretok(&c, pj, "pre_tokenizer", t->pretok, 0);
    }
    const cJSON *ppj = field(root, "post_processor");
    if (rc == 0 && ppj)
        rc = parse_post(&c, ppj, "post_processor", t, 0);
    if (rc == 0)
        rc = load_added(&c, root, t);
    const cJSON *dj = field(root, "decoder");
    if (rc == 0 && dj)
        rc = qt_tok_decoder_from_json(dj, name, "decoder", &t->decoder, e);
    cJSON_Delete(root);
    if (rc != 0) {
        qt_tokenizer_free(t);
        return -1;
    }
    qt_tokenizer_finish(t);
    *out = t;
    return 0;
}
